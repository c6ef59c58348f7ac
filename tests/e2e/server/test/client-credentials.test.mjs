// client_credentials through openid-client; the access token is an RFC 9068 JWT verified with
// jose against the server's jwks_uri; policy and client configuration narrow the scopes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as client from 'openid-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DIR, ISSUER, ORDERS, REPORTS, basicWorker, postWorker, oauthError, scopes, nowSeconds,
} from '../lib.mjs';

const jwks = createRemoteJWKSet(new URL(`${ISSUER}/jwks`));

test('client_credentials (client_secret_basic): a signed at+jwt with every claim', async () => {
  const config = await basicWorker();
  const before = nowSeconds();
  const tokens = await client.clientCredentialsGrant(config, {
    scope: 'orders:read orders:write',
    resource: ORDERS,
  });
  assert.equal(tokens.token_type, 'bearer');
  assert.equal(tokens.expires_in, 300);
  assert.deepEqual(scopes(tokens.scope), ['orders:read', 'orders:write']);
  assert.equal(tokens.refresh_token, undefined, 'client_credentials never gets a refresh token');

  const { payload, protectedHeader } = await jwtVerify(tokens.access_token, jwks, {
    issuer: ISSUER,
    audience: ORDERS,
    typ: 'at+jwt',
    algorithms: ['ES256'],
  });
  assert.equal(protectedHeader.typ, 'at+jwt');
  assert.equal(protectedHeader.alg, 'ES256');
  assert.equal(typeof protectedHeader.kid, 'string');
  assert.equal(payload.iss, ISSUER);
  assert.equal(payload.sub, 'basic-worker');
  assert.equal(payload.aud, ORDERS);
  assert.equal(payload.client_id, 'basic-worker');
  assert.deepEqual(scopes(payload.scope), ['orders:read', 'orders:write']);
  assert.ok(payload.iat >= before - 5 && payload.iat <= nowSeconds() + 5, `iat ${payload.iat}`);
  assert.equal(payload.exp, payload.iat + 300);
  assert.equal(typeof payload.jti, 'string');
  assert.ok(payload.jti.length >= 16);
  assert.equal(payload.act, undefined);

  const again = await client.clientCredentialsGrant(config, { scope: 'orders:read', resource: ORDERS });
  const second = await jwtVerify(again.access_token, jwks, { issuer: ISSUER, audience: ORDERS });
  assert.notEqual(second.payload.jti, payload.jti, 'every token has its own jti');
  assert.equal(second.payload.scope, 'orders:read');
});

test('client_credentials: policy narrows what is asked for', async () => {
  const config = await basicWorker();
  // The policy gives orders:read and orders:write; orders:admin is defined but not allowed.
  const narrowed = await client.clientCredentialsGrant(config, {
    scope: 'orders:admin orders:read orders:write',
    resource: ORDERS,
  });
  assert.deepEqual(scopes(narrowed.scope), ['orders:read', 'orders:write']);
  const { payload } = await jwtVerify(narrowed.access_token, jwks, { issuer: ISSUER, audience: ORDERS });
  assert.deepEqual(scopes(payload.scope), ['orders:read', 'orders:write']);

  // No `scope`: everything the policy allows.
  const all = await client.clientCredentialsGrant(config, { resource: ORDERS });
  assert.deepEqual(scopes(all.scope), ['orders:read', 'orders:write']);

  // Only a scope no policy gives: refused.
  const refused = await oauthError(() =>
    client.clientCredentialsGrant(config, { scope: 'orders:admin', resource: ORDERS }),
  );
  assert.ok(refused instanceof client.ResponseBodyError, String(refused));
  assert.equal(refused.status, 400);
  assert.equal(refused.error, 'invalid_scope');

  // A resource the policy does not name for this client: refused.
  const other = await oauthError(() =>
    client.clientCredentialsGrant(config, { scope: 'reports:read', resource: REPORTS }),
  );
  assert.equal(other.status, 400);
  assert.equal(other.error, 'invalid_scope');
});

test('client_credentials (client_secret_post): the client configuration narrows further', async () => {
  const config = await postWorker();
  // The policy allows read and write; post-worker's allowedScopes only orders:read.
  const tokens = await client.clientCredentialsGrant(config, {
    scope: 'orders:read orders:write',
    resource: ORDERS,
  });
  assert.equal(tokens.scope, 'orders:read');
  const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer: ISSUER, audience: ORDERS });
  assert.equal(payload.sub, 'post-worker');
  assert.equal(payload.client_id, 'post-worker');
  assert.equal(payload.scope, 'orders:read');

  // Configured for exactly one resource, so `resource` may be left out.
  const implicit = await client.clientCredentialsGrant(config, { scope: 'orders:read' });
  assert.equal(claimsAud(implicit.access_token), ORDERS);
});

test('client_credentials: issued tokens and decisions reach the audit log', async () => {
  const config = await basicWorker();
  const tokens = await client.clientCredentialsGrant(config, { scope: 'orders:read', resource: ORDERS });
  const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer: ISSUER, audience: ORDERS });
  // The audit writer is asynchronous: wait for the line.
  let issued;
  for (let i = 0; i < 50 && !issued; i++) {
    const lines = readFileSync(join(DIR, 'audit.jsonl'), 'utf8').split('\n').filter(Boolean);
    issued = lines.map((l) => JSON.parse(l)).find((l) => l.audit.jti === payload.jti);
    if (!issued) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(issued, 'a token_issued line for the jti');
  assert.equal(issued.audit.event, 'token_issued');
  assert.equal(issued.audit.client_id, 'basic-worker');
  assert.equal(issued.audit.audience, ORDERS);
  assert.equal(issued.audit.scope, 'orders:read');
  const text = readFileSync(join(DIR, 'audit.jsonl'), 'utf8');
  assert.ok(!text.includes(tokens.access_token), 'the audit log never holds a token');
});

function claimsAud(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8')).aud;
}

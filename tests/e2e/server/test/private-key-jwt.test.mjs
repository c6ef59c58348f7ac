// private_key_jwt (RFC 7523 §2.2) with openid-client's PrivateKeyJwt, and a replayed client
// assertion crafted by hand with jose.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import * as client from 'openid-client';
import { SignJWT, createRemoteJWKSet, jwtVerify, generateKeyPair } from 'jose';
import {
  ISSUER, ORDERS, CLIENT_ASSERTION_TYPE, jwtWorker, privateKey, postForm, nowSeconds, scopes,
} from '../lib.mjs';

const jwks = createRemoteJWKSet(new URL(`${ISSUER}/jwks`));
const clientKey = await privateKey('client');

function clientAssertion(overrides = {}, key = clientKey) {
  const now = nowSeconds();
  return new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: key.kid })
    .setIssuer(overrides.iss ?? 'jwt-worker')
    .setSubject(overrides.sub ?? 'jwt-worker')
    .setAudience(overrides.aud ?? `${ISSUER}/token`)
    .setIssuedAt(now)
    .setExpirationTime(now + 60)
    .setJti(overrides.jti ?? randomUUID())
    .sign(key.key);
}

function tokenRequest(assertion, extra = '') {
  const body = new URLSearchParams({
    grant_type: 'client_credentials',
    resource: ORDERS,
    client_assertion_type: CLIENT_ASSERTION_TYPE,
    client_assertion: assertion,
  });
  return postForm('/token', body.toString() + extra);
}

test('private_key_jwt: openid-client authenticates with the client key', async () => {
  const config = await jwtWorker();
  const tokens = await client.clientCredentialsGrant(config, {
    scope: 'orders:read orders:write orders:admin',
    resource: ORDERS,
  });
  assert.deepEqual(scopes(tokens.scope), ['orders:read', 'orders:write']);
  const { payload } = await jwtVerify(tokens.access_token, jwks, {
    issuer: ISSUER,
    audience: ORDERS,
    typ: 'at+jwt',
  });
  assert.equal(payload.sub, 'jwt-worker');
  assert.equal(payload.client_id, 'jwt-worker');
  // Each request signs a fresh assertion, so a second grant works too.
  const again = await client.clientCredentialsGrant(config, { scope: 'orders:read', resource: ORDERS });
  assert.equal(again.scope, 'orders:read');
});

test('private_key_jwt: a replayed assertion jti is refused', async () => {
  const assertion = await clientAssertion();
  const first = await tokenRequest(assertion);
  assert.equal(first.status, 200, first.text);
  assert.equal(claimsOfAccess(first.json.access_token).client_id, 'jwt-worker');

  const replay = await tokenRequest(assertion);
  assert.equal(replay.status, 401);
  assert.equal(replay.json.error, 'invalid_client');
  assert.match(replay.json.error_description, /already used/);
  assert.equal(replay.headers.get('cache-control'), 'no-store');

  // A new assertion reusing the jti (fresh signature, same jti) is refused too.
  const reused = await tokenRequest(await clientAssertion({ jti: claimsOfAccess(assertion).jti }));
  assert.equal(reused.status, 401);
  assert.equal(reused.json.error, 'invalid_client');
});

test('private_key_jwt: a foreign key, a wrong audience or a mismatched sub are refused', async () => {
  const stranger = await generateKeyPair('ES256');
  const forged = await tokenRequest(await clientAssertion({}, { key: stranger.privateKey, kid: clientKey.kid }));
  assert.equal(forged.status, 401);
  assert.equal(forged.json.error, 'invalid_client');

  const wrongAud = await tokenRequest(await clientAssertion({ aud: 'https://other-as.example/token' }));
  assert.equal(wrongAud.status, 401);
  assert.equal(wrongAud.json.error, 'invalid_client');

  const wrongSub = await tokenRequest(await clientAssertion({ sub: 'basic-worker' }));
  assert.equal(wrongSub.status, 401);
  assert.equal(wrongSub.json.error, 'invalid_client');
});

function claimsOfAccess(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
}

// RFC 7662 introspection and RFC 7009 revocation through openid-client.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as client from 'openid-client';
import {
  ISSUER, ORDERS, TOKEN_EXCHANGE, ACCESS_TOKEN_TYPE,
  basicWorker, postWorker, exchanger, jwtWorker, claimsOf, oauthError, postForm,
} from '../lib.mjs';

test('introspection: an issued token is active, with its claims', async () => {
  const config = await basicWorker();
  const tokens = await client.clientCredentialsGrant(config, {
    scope: 'orders:read orders:write',
    resource: ORDERS,
  });
  const claims = claimsOf(tokens.access_token);
  const info = await client.tokenIntrospection(config, tokens.access_token);
  assert.equal(info.active, true);
  assert.equal(info.token_type, 'Bearer');
  assert.equal(info.iss, ISSUER);
  assert.equal(info.sub, 'basic-worker');
  assert.equal(info.aud, ORDERS);
  assert.equal(info.client_id, 'basic-worker');
  assert.equal(info.scope, 'orders:read orders:write');
  assert.equal(info.jti, claims.jti);
  assert.equal(info.iat, claims.iat);
  assert.equal(info.exp, claims.exp);

  // A client that serves the token's audience may introspect it too (a resource server would),
  // here one that authenticates with private_key_jwt.
  const byJwt = await client.tokenIntrospection(await jwtWorker(), tokens.access_token);
  assert.equal(byJwt.active, true);
  assert.equal(byJwt.jti, claims.jti);
  assert.equal(byJwt.scope, 'orders:read orders:write');
  // Any other client learns nothing (RFC 7662 §4).
  const byOther = await client.tokenIntrospection(await postWorker(), tokens.access_token);
  assert.deepEqual(byOther, { active: false });
});

test('introspection: garbage is inactive, and the caller must authenticate', async () => {
  const config = await basicWorker();
  const info = await client.tokenIntrospection(config, 'not-a-token');
  assert.deepEqual(info, { active: false });

  const anonymous = await postForm('/introspect', 'token=whatever');
  assert.equal(anonymous.status, 401);
  assert.equal(anonymous.json.error, 'invalid_client');
});

test('revocation: a revoked token is inactive and no longer exchangeable', async () => {
  const config = await basicWorker();
  const tokens = await client.clientCredentialsGrant(config, { scope: 'orders:read', resource: ORDERS });
  assert.equal((await client.tokenIntrospection(config, tokens.access_token)).active, true);

  await client.tokenRevocation(config, tokens.access_token, { token_type_hint: 'access_token' });
  const after = await client.tokenIntrospection(config, tokens.access_token);
  assert.deepEqual(after, { active: false });

  // Revoking again, or revoking garbage, is still 200 (RFC 7009 §2.2).
  await client.tokenRevocation(config, tokens.access_token);
  await client.tokenRevocation(config, 'never-issued');

  const error = await oauthError(async () =>
    client.genericGrantRequest(await exchanger(), TOKEN_EXCHANGE, {
      subject_token: tokens.access_token,
      subject_token_type: ACCESS_TOKEN_TYPE,
      resource: ORDERS,
    }),
  );
  assert.equal(error.status, 400);
  assert.equal(error.error, 'invalid_grant');
  assert.match(error.error_description, /revoked/);
});

test('revocation: another client cannot revoke a token it was not issued', async () => {
  const owner = await basicWorker();
  const tokens = await client.clientCredentialsGrant(owner, { scope: 'orders:read', resource: ORDERS });
  // RFC 7009: the server answers 200 but does not revoke a token of another client.
  await client.tokenRevocation(await postWorker(), tokens.access_token);
  assert.equal((await client.tokenIntrospection(owner, tokens.access_token)).active, true);
});

test('revocation: an unknown token_type_hint is ignored (RFC 7009 §2.1)', async () => {
  const config = await basicWorker();
  const tokens = await client.clientCredentialsGrant(config, { scope: 'orders:read', resource: ORDERS });
  await client.tokenRevocation(config, tokens.access_token, { token_type_hint: 'id_token' });
  assert.deepEqual(await client.tokenIntrospection(config, tokens.access_token), { active: false });
});

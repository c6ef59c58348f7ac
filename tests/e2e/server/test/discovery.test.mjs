// RFC 8414 metadata, discovered by openid-client (algorithm: 'oauth2', http allowed on loopback).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ISSUER, TOKEN_EXCHANGE, JWT_BEARER, basicWorker } from '../lib.mjs';

test('discovery: openid-client reads the RFC 8414 metadata', async () => {
  const config = await basicWorker();
  const meta = config.serverMetadata();
  assert.equal(meta.issuer, ISSUER);
  assert.equal(meta.token_endpoint, `${ISSUER}/token`);
  assert.equal(meta.jwks_uri, `${ISSUER}/jwks`);
  assert.equal(meta.introspection_endpoint, `${ISSUER}/introspect`);
  assert.equal(meta.revocation_endpoint, `${ISSUER}/revoke`);
  for (const grant of ['client_credentials', 'refresh_token', TOKEN_EXCHANGE, JWT_BEARER]) {
    assert.ok(meta.grant_types_supported.includes(grant), `grant_types_supported has ${grant}`);
  }
  for (const method of ['client_secret_basic', 'client_secret_post', 'private_key_jwt']) {
    assert.ok(
      meta.token_endpoint_auth_methods_supported.includes(method),
      `token_endpoint_auth_methods_supported has ${method}`,
    );
  }
  assert.ok(meta.token_endpoint_auth_signing_alg_values_supported.includes('ES256'));
  // RFC 8414 §2: private_key_jwt at introspection and revocation needs the signing algorithms.
  for (const endpoint of ['introspection', 'revocation']) {
    assert.ok(meta[`${endpoint}_endpoint_auth_methods_supported`].includes('private_key_jwt'));
    assert.ok(meta[`${endpoint}_endpoint_auth_signing_alg_values_supported`].includes('ES256'));
  }
  assert.equal(config.clientMetadata().client_id, 'basic-worker');
});

test('discovery: the metadata and JWKS are plain JSON over GET', async () => {
  const response = await fetch(`${ISSUER}/.well-known/oauth-authorization-server`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type'), /^application\/json/);
  const jwks = await (await fetch(`${ISSUER}/jwks`)).json();
  assert.ok(jwks.keys.length >= 1);
  for (const key of jwks.keys) {
    assert.equal(key.kty, 'EC');
    assert.equal(key.crv, 'P-256');
    assert.equal(key.alg, 'ES256');
    assert.equal(key.use, 'sig');
    assert.equal(typeof key.kid, 'string');
    assert.equal(key.d, undefined, 'no private part is published');
  }
});

// RFC 7523 §2.1 JWT bearer grant through genericGrantRequest: the assertion is signed by the
// trusted issuer's key, which only this test holds. A replayed jti is refused.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import * as client from 'openid-client';
import { SignJWT, createRemoteJWKSet, jwtVerify, generateKeyPair } from 'jose';
import {
  ISSUER, REPORTS, TRUSTED_ISSUER, JWT_BEARER, bearerApp, privateKey, oauthError, nowSeconds,
} from '../lib.mjs';

const jwks = createRemoteJWKSet(new URL(`${ISSUER}/jwks`));
const issuerKey = await privateKey('issuer');

function assertion(sub, overrides = {}, key = issuerKey) {
  const now = nowSeconds();
  return new SignJWT({ roles_hint: 'from-idp', ...overrides })
    .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'JWT' })
    .setIssuer(TRUSTED_ISSUER)
    .setSubject(sub)
    .setAudience(ISSUER)
    .setIssuedAt(now)
    .setExpirationTime(now + 120)
    .setJti(randomUUID())
    .sign(key.key);
}

test('jwt bearer: an assertion from the trusted issuer gets a token for its subject', async () => {
  const config = await bearerApp();
  const jwt = await assertion('u-analyst');
  const tokens = await client.genericGrantRequest(config, JWT_BEARER, {
    assertion: jwt,
    resource: REPORTS,
    scope: 'reports:read reports:write',
  });
  assert.equal(tokens.token_type, 'bearer');
  assert.equal(tokens.scope, 'reports:read', 'policy gives analysts reports:read only');
  const { payload } = await jwtVerify(tokens.access_token, jwks, {
    issuer: ISSUER,
    audience: REPORTS,
    typ: 'at+jwt',
  });
  assert.equal(payload.sub, 'u-analyst');
  assert.equal(payload.client_id, 'bearer-app');
  assert.equal(payload.scope, 'reports:read');
  assert.equal(payload.roles_hint, 'from-idp', 'custom assertion claims are carried');

  // The same assertion again: its jti was used.
  const replay = await oauthError(() =>
    client.genericGrantRequest(config, JWT_BEARER, { assertion: jwt, resource: REPORTS }),
  );
  assert.ok(replay instanceof client.ResponseBodyError, String(replay));
  assert.equal(replay.status, 400);
  assert.equal(replay.error, 'invalid_grant');
  assert.match(replay.error_description, /already used/);
});

test('jwt bearer: a subject without the role gets nothing', async () => {
  const config = await bearerApp();
  const error = await oauthError(async () =>
    client.genericGrantRequest(config, JWT_BEARER, {
      assertion: await assertion('u-guest'),
      resource: REPORTS,
      scope: 'reports:read',
    }),
  );
  assert.equal(error.status, 400);
  assert.equal(error.error, 'invalid_scope');
});

test('jwt bearer: assertions not signed by the trusted key, or for another audience, are refused', async () => {
  const config = await bearerApp();
  const stranger = await generateKeyPair('ES256');
  const forged = await oauthError(async () =>
    client.genericGrantRequest(config, JWT_BEARER, {
      assertion: await assertion('u-analyst', {}, { key: stranger.privateKey, kid: issuerKey.kid }),
      resource: REPORTS,
    }),
  );
  assert.equal(forged.status, 400);
  assert.equal(forged.error, 'invalid_grant');

  const now = nowSeconds();
  const elsewhere = await new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: issuerKey.kid })
    .setIssuer(TRUSTED_ISSUER)
    .setSubject('u-analyst')
    .setAudience('https://some-other-as.example')
    .setIssuedAt(now)
    .setExpirationTime(now + 120)
    .setJti(randomUUID())
    .sign(issuerKey.key);
  const wrongAud = await oauthError(() =>
    client.genericGrantRequest(config, JWT_BEARER, { assertion: elsewhere, resource: REPORTS }),
  );
  assert.equal(wrongAud.status, 400);
  assert.equal(wrongAud.error, 'invalid_grant');
});

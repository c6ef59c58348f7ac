// RFC 8693 token exchange through openid-client's genericGrantRequest. The subject token comes
// from client_credentials; the exchanged token never holds more than the subject did on the same
// resource, carries `act`, and a client no policy names is refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as client from 'openid-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import {
  ISSUER, ORDERS, REPORTS, TOKEN_EXCHANGE, ACCESS_TOKEN_TYPE,
  basicWorker, postWorker, exchanger, rogueExchanger, oauthError, scopes,
} from '../lib.mjs';

const jwks = createRemoteJWKSet(new URL(`${ISSUER}/jwks`));
const exchangerConfig = await exchanger();

async function subjectToken(config, scope) {
  const tokens = await client.clientCredentialsGrant(config, { scope, resource: ORDERS });
  return tokens.access_token;
}

test('token exchange: same resource, never wider than the subject token, with act', async () => {
  const subject = await subjectToken(await basicWorker(), 'orders:read');
  const config = await exchanger();
  // The exchanger's policy allows every orders scope; the subject holds orders:read only.
  const tokens = await client.genericGrantRequest(config, TOKEN_EXCHANGE, {
    subject_token: subject,
    subject_token_type: ACCESS_TOKEN_TYPE,
    resource: ORDERS,
    scope: 'orders:read orders:write orders:admin',
  });
  assert.equal(tokens.issued_token_type, ACCESS_TOKEN_TYPE);
  assert.equal(tokens.token_type, 'bearer');
  assert.deepEqual(scopes(tokens.scope), ['orders:read']);

  const { payload, protectedHeader } = await jwtVerify(tokens.access_token, jwks, {
    issuer: ISSUER,
    audience: ORDERS,
    typ: 'at+jwt',
  });
  assert.equal(protectedHeader.typ, 'at+jwt');
  assert.equal(payload.sub, 'basic-worker', 'the subject stays the subject token\'s');
  assert.equal(payload.client_id, 'exchanger');
  assert.equal(payload.scope, 'orders:read');
  assert.deepEqual(payload.act, { sub: 'exchanger', client_id: 'exchanger' });
  assert.equal(typeof payload.jti, 'string');
  assert.equal(payload.exp, payload.iat + 300);

  // Without `scope`, the exchange on the same resource carries the subject's scopes.
  const wide = await subjectToken(await basicWorker(), 'orders:read orders:write');
  const same = await client.genericGrantRequest(config, TOKEN_EXCHANGE, {
    subject_token: wide,
    subject_token_type: ACCESS_TOKEN_TYPE,
    resource: ORDERS,
  });
  assert.deepEqual(scopes(same.scope), ['orders:read', 'orders:write']);
});

test('token exchange: asking only for what the subject lacks is refused', async () => {
  const subject = await subjectToken(await postWorker(), 'orders:read');
  const error = await oauthError(() =>
    client.genericGrantRequest(exchangerConfig, TOKEN_EXCHANGE, {
      subject_token: subject,
      subject_token_type: ACCESS_TOKEN_TYPE,
      resource: ORDERS,
      scope: 'orders:write',
    }),
  );
  assert.ok(error instanceof client.ResponseBodyError, String(error));
  assert.equal(error.status, 400);
  assert.equal(error.error, 'invalid_scope');
});

test('token exchange: another resource gets what policy gives there', async () => {
  const subject = await subjectToken(await basicWorker(), 'orders:read');
  const tokens = await client.genericGrantRequest(exchangerConfig, TOKEN_EXCHANGE, {
    subject_token: subject,
    subject_token_type: ACCESS_TOKEN_TYPE,
    audience: REPORTS,
    scope: 'reports:read reports:write',
  });
  assert.equal(tokens.scope, 'reports:read');
  const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer: ISSUER, audience: REPORTS });
  assert.equal(payload.aud, REPORTS);
  assert.equal(payload.act.client_id, 'exchanger');
});

test('token exchange: refused for a client without a matching policy', async () => {
  const subject = await subjectToken(await basicWorker(), 'orders:read');
  const config = await rogueExchanger();
  const error = await oauthError(() =>
    client.genericGrantRequest(config, TOKEN_EXCHANGE, {
      subject_token: subject,
      subject_token_type: ACCESS_TOKEN_TYPE,
      resource: ORDERS,
      scope: 'orders:read',
    }),
  );
  assert.ok(error instanceof client.ResponseBodyError, String(error));
  assert.equal(error.status, 400);
  assert.equal(error.error, 'invalid_scope');
});

test('token exchange: refused for a client not allowed the grant, and for a bad subject token', async () => {
  const subject = await subjectToken(await basicWorker(), 'orders:read');
  const notAllowed = await oauthError(async () =>
    client.genericGrantRequest(await basicWorker(), TOKEN_EXCHANGE, {
      subject_token: subject,
      subject_token_type: ACCESS_TOKEN_TYPE,
      resource: ORDERS,
    }),
  );
  assert.equal(notAllowed.status, 400);
  assert.equal(notAllowed.error, 'unauthorized_client');

  const [h, p] = subject.split('.');
  const forged = `${h}.${p}.${Buffer.from('not a signature').toString('base64url')}`;
  const bad = await oauthError(() =>
    client.genericGrantRequest(exchangerConfig, TOKEN_EXCHANGE, {
      subject_token: forged,
      subject_token_type: ACCESS_TOKEN_TYPE,
      resource: ORDERS,
    }),
  );
  assert.equal(bad.status, 400);
  assert.equal(bad.error, 'invalid_grant');
});


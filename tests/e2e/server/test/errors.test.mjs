// Error responses of the token endpoint (RFC 6749 §5.2, RFC 8707): status, `error` code, and
// Cache-Control: no-store on every one. Requests are made by hand so that the headers and the
// malformed bodies are exactly what the test says.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as client from 'openid-client';
import { ORDERS, SECRETS, basicAuth, configFor, postForm } from '../lib.mjs';

const good = basicAuth('basic-worker', SECRETS['basic-worker']);

function assertError(response, status, error) {
  assert.equal(response.status, status, response.text);
  assert.equal(response.json?.error, error, response.text);
  assert.equal(typeof response.json.error_description, 'string');
  assert.equal(response.headers.get('cache-control'), 'no-store');
  assert.match(response.headers.get('content-type'), /^application\/json/);
}

test('errors: a bad client_secret_basic secret is 401 invalid_client with a Basic challenge', async () => {
  const response = await postForm(
    '/token',
    `grant_type=client_credentials&resource=${encodeURIComponent(ORDERS)}`,
    { authorization: basicAuth('basic-worker', 'wrong') },
  );
  assertError(response, 401, 'invalid_client');
  assert.match(response.headers.get('www-authenticate'), /^Basic /);

  // openid-client surfaces the same refusal (as the challenge it carries).
  const config = await configFor('basic-worker', client.ClientSecretBasic('wrong'));
  let thrown;
  try {
    await client.clientCredentialsGrant(config, { resource: ORDERS });
  } catch (e) {
    thrown = e;
  }
  assert.ok(thrown, 'the grant must fail');
  assert.equal(thrown.status, 401);
  assert.equal(thrown.response?.status ?? thrown.status, 401);
});

test('errors: a bad client_secret_post secret, or an unknown client, is 401 invalid_client', async () => {
  const wrong = await postForm(
    '/token',
    'grant_type=client_credentials&client_id=post-worker&client_secret=wrong',
  );
  assertError(wrong, 401, 'invalid_client');
  const unknown = await postForm(
    '/token',
    'grant_type=client_credentials&client_id=nobody&client_secret=x',
  );
  assertError(unknown, 401, 'invalid_client');
  // A basic client's secret sent by post is not its registered method.
  const method = await postForm(
    '/token',
    `grant_type=client_credentials&client_id=basic-worker&client_secret=${encodeURIComponent(SECRETS['basic-worker'])}`,
  );
  assertError(method, 401, 'invalid_client');
});

test('errors: an unknown grant_type is unsupported_grant_type', async () => {
  const response = await postForm('/token', 'grant_type=urn:example:made-up', {
    authorization: good,
  });
  assertError(response, 400, 'unsupported_grant_type');
});

test('errors: a duplicated parameter is invalid_request', async () => {
  const response = await postForm(
    '/token',
    'grant_type=client_credentials&scope=orders:read&scope=orders:write',
    { authorization: good },
  );
  assertError(response, 400, 'invalid_request');
  const twice = await postForm('/token', 'grant_type=client_credentials&grant_type=client_credentials', {
    authorization: good,
  });
  assertError(twice, 400, 'invalid_request');
});

test('errors: an unknown resource is invalid_target', async () => {
  const response = await postForm(
    '/token',
    `grant_type=client_credentials&resource=${encodeURIComponent('https://unknown.e2e.example')}`,
    { authorization: good },
  );
  assertError(response, 400, 'invalid_target');
  // Two different resources in one request are refused the same way.
  const two = await postForm(
    '/token',
    `grant_type=client_credentials&resource=${encodeURIComponent(ORDERS)}&resource=${encodeURIComponent('https://reports.e2e.example')}`,
    { authorization: good },
  );
  assertError(two, 400, 'invalid_target');
});

test('errors: missing grant_type and a non-form body are invalid_request', async () => {
  assertError(await postForm('/token', 'scope=orders:read', { authorization: good }), 400, 'invalid_request');
  const json = await fetch(new URL('/token', process.env.TOLLGATE_ISSUER), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: good },
    body: JSON.stringify({ grant_type: 'client_credentials' }),
  });
  assert.equal(json.status, 400);
  assert.equal((await json.json()).error, 'invalid_request');
  assert.equal(json.headers.get('cache-control'), 'no-store');
});

// Shared set-up for the tests in test/: where the server is, the keys the test holds, and small
// helpers around openid-client and hand-made requests. tests/e2e/server.sh starts the server and
// sets TOLLGATE_ISSUER and TOLLGATE_E2E_DIR; the configuration it writes names the clients below.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as client from 'openid-client';
import { importJWK } from 'jose';

export const ISSUER = process.env.TOLLGATE_ISSUER;
export const DIR = process.env.TOLLGATE_E2E_DIR;
if (!ISSUER || !DIR) {
  throw new Error('run through tests/e2e/server.sh (TOLLGATE_ISSUER and TOLLGATE_E2E_DIR are unset)');
}

export const ORDERS = 'https://orders.e2e.example';
export const REPORTS = 'https://reports.e2e.example';
export const TRUSTED_ISSUER = 'https://idp.e2e.example';
export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** Client ids and secrets as tests/e2e/server.sh configures them. */
export const SECRETS = {
  'basic-worker': 'basic worker secret/with+reserved:chars',
  'post-worker': 'post-worker-secret',
  exchanger: 'exchanger-secret',
  'rogue-exchanger': 'rogue-secret',
  'bearer-app': 'bearer-app-secret',
};

const privateJwks = JSON.parse(readFileSync(join(DIR, 'keys.json'), 'utf8'));

/** The private key of the private_key_jwt client (`jwt-worker`) or of the trusted issuer. */
export async function privateKey(which) {
  const jwk = privateJwks[which];
  return { key: await importJWK(jwk, 'ES256'), kid: jwk.kid };
}

/** RFC 8414 discovery with openid-client, for one client and its authentication method. */
export async function configFor(clientId, auth) {
  return client.discovery(new URL(ISSUER), clientId, undefined, auth, {
    algorithm: 'oauth2',
    execute: [client.allowInsecureRequests],
  });
}

export const basicWorker = () =>
  configFor('basic-worker', client.ClientSecretBasic(SECRETS['basic-worker']));
export const postWorker = () =>
  configFor('post-worker', client.ClientSecretPost(SECRETS['post-worker']));
export const exchanger = () => configFor('exchanger', client.ClientSecretBasic(SECRETS.exchanger));
export const rogueExchanger = () =>
  configFor('rogue-exchanger', client.ClientSecretBasic(SECRETS['rogue-exchanger']));
export const bearerApp = () =>
  configFor('bearer-app', client.ClientSecretPost(SECRETS['bearer-app']));
export async function jwtWorker() {
  return configFor('jwt-worker', client.PrivateKeyJwt(await privateKey('client')));
}

/** `Authorization: Basic` per RFC 6749 §2.3.1 (both parts form-urlencoded first). */
export function basicAuth(id, secret) {
  const enc = (s) => encodeURIComponent(s).replace(/%20/g, '+');
  return 'Basic ' + Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64');
}

/** A hand-made POST of a form body (a string, so parameters can be repeated on purpose). */
export async function postForm(path, body, headers = {}) {
  const response = await fetch(new URL(path, ISSUER + '/'), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body,
  });
  const text = await response.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, json, text };
}

/** Runs `fn`, which must reject with an OAuth error response; returns openid-client's error. */
export async function oauthError(fn) {
  try {
    await fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected the server to refuse the request');
}

/** The payload of a JWT, without verifying it (assertions on what a token says). */
export function claimsOf(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
}

/** Scope string to a sorted array. */
export const scopes = (s) => (s ? s.split(' ').filter(Boolean).sort() : []);

export const nowSeconds = () => Math.floor(Date.now() / 1000);

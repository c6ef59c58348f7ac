// Tollgate connections against a real OAuth provider: panva oidc-provider 9.13 (in this process,
// on 127.0.0.1) plays the calendar provider; `tollgate serve` (the binary, started here and stopped
// by PID) keeps users' provider refresh tokens in its vault.
//
//   - the connect flow: a user's Tollgate token starts it, the user's browser signs in at Tollgate
//     (which binds the flow to that browser session) and confirms the account, the provider's own
//     login and consent pages are submitted as a browser would, the callback seals the provider's
//     refresh token; a callback completed in another browser, or a start link opened by another
//     Tollgate user, links nothing (account-linking CSRF);
//   - token exchange for the connection: policy narrows the scopes, Tollgate refreshes at the
//     provider with the narrowed `scope`, and the provider's introspection confirms what the token
//     carries; rotated provider refresh tokens are kept;
//   - refusals (no policy, scopes policy does not allow, a user who never connected);
//   - the provider's refresh tokens and Tollgate's client secret there never appear in Tollgate's
//     database, audit log or server log.
//
// Environment: TOLLGATE_BIN (the binary), TOLLGATE_E2E_DIR (a temporary directory).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

const BIN = process.env.TOLLGATE_BIN;
const DIR = process.env.TOLLGATE_E2E_DIR;
assert.ok(BIN && DIR, 'run through tests/e2e/vault.sh');

const PROVIDER_SECRET = 'tollgate-at-provider-e2e-secret';
const ASSISTANT_SECRET = 'assistant-e2e-secret';
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
const IDP = 'https://idp.vault-e2e.example';
const PASSWORD = 'user-e2e-password';
const USERNAMES = { 'u-viewer': 'vera', 'u-scheduler': 'sam', 'u-late': 'lee' };

/** A free port on 127.0.0.1. */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

let provider;
let providerServer;
let providerUrl;
let tollgate;
let tollgateUrl;
let idpKey;
/** Every refresh token the provider issued (they must never appear in Tollgate's files). */
const issuedRefreshTokens = new Set();

before(async () => {
  const providerPort = await freePort();
  const tollgatePort = await freePort();
  providerUrl = `http://127.0.0.1:${providerPort}`;
  tollgateUrl = `http://127.0.0.1:${tollgatePort}`;

  // The calendar provider: Tollgate is a confidential client with the code and refresh grants;
  // refresh tokens rotate on every use and a refresh may narrow the scope.
  provider = new Provider(providerUrl, {
    scopes: ['openid', 'offline_access', 'calendar.readonly', 'calendar'],
    clients: [{
      client_id: 'tollgate',
      client_secret: PROVIDER_SECRET,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [`${tollgateUrl}/connections/callback`],
    }],
    pkce: { required: () => true },
    rotateRefreshToken: () => true,
    features: {
      devInteractions: { enabled: true },
      introspection: { enabled: true },
    },
  });
  provider.on('refresh_token.saved', (token) => issuedRefreshTokens.add(token.jti));
  provider.on('server_error', (ctx, err) => console.error('oidc-provider: server_error', err));
  providerServer = createServer(provider.callback());
  await new Promise((resolve) => providerServer.listen(providerPort, '127.0.0.1', resolve));

  // The identity provider users sign in with; the assistant turns their assertions into
  // Tollgate tokens (JWT bearer), then exchanges those for their calendar.
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  idpKey = privateKey;
  const idpJwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'idp', alg: 'ES256', use: 'sig' }] };

  writeFileSync(join(DIR, 'tollgate.yaml'), `# Written by tests/e2e/vault/test/vault.test.mjs for one run.
issuer: "${tollgateUrl}"
listen: "127.0.0.1:${tollgatePort}"
store: "sqlite://${DIR}/tollgate.db"
auditLog: "${DIR}/audit.jsonl"
vault: { keyFile: "${DIR}/vault.key" }
trustedIssuers:
  - { issuer: "${IDP}", jwks: ${JSON.stringify(idpJwks)} }
clients:
  - clientId: assistant
    secret: ${ASSISTANT_SECRET}
    grantTypes: [jwt_bearer, token_exchange]
    tags: [agent]
  - clientId: stranger
    secret: stranger-e2e-secret
    grantTypes: [token_exchange]
users:
  - { sub: u-viewer, username: vera, password: ${PASSWORD}, roles: [viewer], tenantIds: [corp] }
  - { sub: u-scheduler, username: sam, password: ${PASSWORD}, roles: [scheduler], tenantIds: [corp] }
  - { sub: u-late, username: lee, password: ${PASSWORD}, roles: [scheduler], tenantIds: [corp] }
resources:
  - { id: assistant-api, audience: "https://assistant.vault-e2e.example", kind: api, scopes: [chat] }
connections:
  - id: calendar
    kind: oauth
    scopes: ["calendar.readonly", "calendar"]
    provider:
      issuer: "${providerUrl}"
      tokenEndpoint: "${providerUrl}/token"
      authorizationEndpoint: "${providerUrl}/auth"
      clientId: tollgate
      clientSecret: ${PROVIDER_SECRET}
      authorizationScopes: [openid, offline_access]
      authorizationParams: { prompt: consent }
policies:
  - id: users-sign-in
    subject: { clients: [assistant] }
    grantTypes: [jwt_bearer]
    targets: [ { resource: assistant-api, scopes: [chat] } ]
  - id: calendar-viewers
    subject:
      clients: [assistant]
      conditions: [ { key: user.roles, op: contains, value: viewer } ]
    grantTypes: [token_exchange]
    targets: [ { connection: calendar, scopes: ["calendar.readonly"] } ]
  - id: calendar-schedulers
    subject:
      clients: [assistant]
      conditions: [ { key: user.roles, op: contains, value: scheduler } ]
    grantTypes: [token_exchange]
    targets: [ { connection: calendar, scopes: ["calendar.readonly", "calendar"] } ]
`);
  tollgate = spawn(BIN, ['serve', '--config', join(DIR, 'tollgate.yaml'), '--engine', 'component'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TOLLGATE_LOG: 'debug' },
  });
  writeFileSync(join(DIR, 'tollgate.pid'), String(tollgate.pid));
  const log = [];
  const ready = new Promise((resolve, reject) => {
    const onData = (chunk) => {
      log.push(chunk);
      writeFileSync(join(DIR, 'server.log'), Buffer.concat(log));
      if (Buffer.concat(log).toString().includes('tollgate: serving')) resolve();
    };
    tollgate.stdout.on('data', onData);
    tollgate.stderr.on('data', onData);
    tollgate.once('exit', (code) => reject(new Error(`tollgate exited (${code}): ${Buffer.concat(log)}`)));
  });
  await Promise.race([
    ready,
    new Promise((_, reject) => setTimeout(() => reject(new Error('tollgate did not start in 30 s')), 30_000)),
  ]);
});

after(async () => {
  if (tollgate && tollgate.exitCode === null) {
    const exited = new Promise((resolve) => tollgate.once('exit', resolve));
    process.kill(tollgate.pid, 'SIGTERM');
    await exited;
  }
  await new Promise((resolve) => (providerServer ? providerServer.close(resolve) : resolve()));
});

async function form(url, params, auth) {
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  if (auth) headers.authorization = `Basic ${Buffer.from(`${auth[0]}:${auth[1]}`).toString('base64')}`;
  const response = await fetch(url, { method: 'POST', headers, body: new URLSearchParams(params) });
  return { status: response.status, body: await response.json() };
}

/** A user's Tollgate access token, through the JWT bearer grant. */
async function userToken(sub) {
  const now = Math.floor(Date.now() / 1000);
  const assertion = await new SignJWT({ sub })
    .setProtectedHeader({ alg: 'ES256', kid: 'idp' })
    .setIssuer(IDP)
    .setAudience(tollgateUrl)
    .setIssuedAt(now)
    .setExpirationTime(now + 120)
    .setJti(`${sub}-${now}-${Math.random()}`)
    .sign(idpKey);
  const { status, body } = await form(`${tollgateUrl}/token`, {
    grant_type: JWT_BEARER, assertion, resource: 'https://assistant.vault-e2e.example',
  }, ['assistant', ASSISTANT_SECRET]);
  assert.equal(status, 200, JSON.stringify(body));
  return body.access_token;
}

async function exchange(subjectToken, scope, client = ['assistant', ASSISTANT_SECRET]) {
  const params = {
    grant_type: TOKEN_EXCHANGE,
    subject_token: subjectToken,
    subject_token_type: ACCESS_TOKEN,
    resource: 'calendar',
  };
  if (scope) params.scope = scope;
  return form(`${tollgateUrl}/token`, params, client);
}

/** A minimal cookie jar per origin: what a browser would send back to Tollgate and the provider. */
class Browser {
  jars = new Map();
  visited = [];

  async go(url, init = {}) {
    this.visited.push(url);
    const headers = { ...(init.headers ?? {}) };
    const { origin } = new URL(url);
    const jar = this.jars.get(origin) ?? new Map();
    this.jars.set(origin, jar);
    if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair.indexOf('=');
      jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    return response;
  }

  /** Follows redirects until a page that is not one; returns it. */
  async follow(url, init) {
    let response = await this.go(url, init);
    for (let i = 0; i < 10 && response.status >= 300 && response.status < 400; i += 1) {
      url = new URL(response.headers.get('location'), url).href;
      response = await this.go(url);
    }
    return { url, response, text: await response.text() };
  }

  /** Submits the page's form with its hidden fields plus `fields`. */
  async submit(page, fields) {
    const action = page.text.match(/<form[^>]*action="([^"]+)"/)?.[1];
    assert.ok(action, `a form on ${page.url}: ${page.text.slice(0, 400)}`);
    const params = new URLSearchParams();
    for (const m of page.text.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) {
      params.set(m[1], m[2]);
    }
    for (const [k, v] of Object.entries(fields)) params.set(k, v);
    return this.follow(new URL(action.replaceAll('&amp;', '&'), page.url).href, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: params,
    });
  }
}

/** Starts a connect flow with `sub`'s token; returns the Tollgate start link and the token. */
async function startConnect(sub) {
  const token = await userToken(sub);
  const started = await fetch(`${tollgateUrl}/connections/calendar/connect`, {
    method: 'POST', headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(started.status, 200);
  const { authorization_url: link } = await started.json();
  assert.ok(link.startsWith(`${tollgateUrl}/connections/start?flow=`), link);
  return { link, token };
}

/** Opens a start link in `browser`, signs in at Tollgate as `sub` and confirms; returns the
 * provider's sign-in page. */
async function confirmAtTollgate(browser, link, sub) {
  const signIn = await browser.follow(link);
  assert.equal(signIn.response.status, 200, signIn.text);
  assert.match(signIn.text, /Sign in to connect calendar/);
  const confirm = await browser.submit(signIn, { username: USERNAMES[sub], password: PASSWORD });
  assert.equal(confirm.response.status, 200, confirm.text);
  assert.match(confirm.text, new RegExp(`signed in to Tollgate as <strong>${USERNAMES[sub]}</strong>`));
  const login = await browser.submit(confirm, {});
  const url = new URL(browser.visited.find((u) => u.startsWith(providerUrl)));
  assert.equal(url.origin, providerUrl);
  assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
  assert.equal(url.searchParams.get('redirect_uri'), `${tollgateUrl}/connections/callback`);
  assert.match(login.text, /name="login"/, 'the provider asks the user to sign in');
  return login;
}

/** Signs in and consents at the provider as `sub`; returns the page the callback answers with. */
async function atProvider(browser, login, sub) {
  const consent = await browser.submit(login, { login: sub, password: 'any' });
  assert.match(consent.text, /name="prompt" value="consent"/, 'then to consent');
  const done = await browser.submit(consent, {});
  assert.ok(done.url.startsWith(`${tollgateUrl}/connections/callback`), done.url);
  return done;
}

/** The connect flow for `sub`, as the user's browser would go through it. */
async function connect(sub) {
  const { link, token } = await startConnect(sub);
  const browser = new Browser();
  const login = await confirmAtTollgate(browser, link, sub);
  const done = await atProvider(browser, login, sub);
  assert.equal(done.response.status, 200, done.text);
  assert.match(done.text, /Account connected/);
  return token;
}

async function introspectAtProvider(accessToken) {
  const { status, body } = await form(`${providerUrl}/token/introspection`, { token: accessToken },
    ['tollgate', PROVIDER_SECRET]);
  assert.equal(status, 200);
  return body;
}

test('a user who never connected gets no calendar token', async () => {
  const token = await userToken('u-late');
  const { status, body } = await exchange(token);
  assert.equal(status, 400);
  assert.equal(body.error, 'invalid_target');
  assert.match(body.error_description, /no credential for `user:u-late`/);
});

test('the scheduler connects, then gets exactly the scopes asked for, refreshed at the provider', async () => {
  const token = await connect('u-scheduler');
  const both = await exchange(token);
  assert.equal(both.status, 200, JSON.stringify(both.body));
  assert.equal(both.body.issued_token_type, ACCESS_TOKEN);
  assert.equal(both.body.token_type, 'Bearer');
  assert.deepEqual(both.body.scope.split(' ').sort(), ['calendar', 'calendar.readonly']);
  assert.equal(both.body.refresh_token, undefined, 'the provider refresh token stays in the vault');
  const atProvider = await introspectAtProvider(both.body.access_token);
  assert.equal(atProvider.active, true);
  assert.equal(atProvider.sub, 'u-scheduler');
  assert.deepEqual(atProvider.scope.split(' ').sort(), ['calendar', 'calendar.readonly']);

  // Narrowed on request; the provider rotated the refresh token last time, and the new one works.
  const narrow = await exchange(token, 'calendar.readonly');
  assert.equal(narrow.status, 200, JSON.stringify(narrow.body));
  assert.equal(narrow.body.scope, 'calendar.readonly');
  assert.equal((await introspectAtProvider(narrow.body.access_token)).scope, 'calendar.readonly');
  assert.ok(issuedRefreshTokens.size >= 3, 'the code grant and each refresh issued a refresh token');
});

test('the viewer consented to everything at the provider, but policy narrows to read-only', async () => {
  const token = await connect('u-viewer');
  const asIs = await exchange(token);
  assert.equal(asIs.status, 200, JSON.stringify(asIs.body));
  assert.equal(asIs.body.scope, 'calendar.readonly');
  assert.equal((await introspectAtProvider(asIs.body.access_token)).scope, 'calendar.readonly');

  const write = await exchange(token, 'calendar');
  assert.equal(write.status, 400);
  assert.equal(write.body.error, 'invalid_target');
  assert.equal(write.body.access_token, undefined);
});

test('a client that neither received the token nor serves its audience gets nothing', async () => {
  const token = await userToken('u-scheduler');
  const { status, body } = await exchange(token, undefined, ['stranger', 'stranger-e2e-secret']);
  assert.equal(status, 400);
  assert.equal(body.error, 'invalid_grant');
  assert.equal(body.access_token, undefined);
});

test('a connect flow finished in another browser links nothing (account-linking CSRF)', async () => {
  // Mallory (u-late) starts a flow and confirms it in her own browser, then lures the victim's
  // browser through the provider's pages with it: the callback arrives without her session.
  const { link, token } = await startConnect('u-late');
  const mallory = new Browser();
  const login = await confirmAtTollgate(mallory, link, 'u-late');
  assert.ok(login);
  const authorizationUrl = mallory.visited.find((u) => u.startsWith(providerUrl));
  const victim = new Browser();
  const done = await atProvider(victim, await victim.follow(authorizationUrl), 'u-victim');
  assert.equal(done.response.status, 403, done.text);
  assert.match(done.text, /another browser or for another Tollgate account/);
  const { status, body } = await exchange(token);
  assert.equal(status, 400, JSON.stringify(body));
  assert.match(body.error_description, /no credential for `user:u-late`/);
});

test('a start link opened by another Tollgate user links nothing', async () => {
  const { link } = await startConnect('u-late');
  const browser = new Browser();
  const signIn = await browser.follow(link);
  const refused = await browser.submit(signIn, { username: 'sam', password: PASSWORD });
  assert.equal(refused.response.status, 403, refused.text);
  assert.match(refused.text, /started for another Tollgate account/);
});

test('a replayed connect callback is refused', async () => {
  const response = await fetch(`${tollgateUrl}/connections/callback?state=forged&code=x`);
  assert.equal(response.status, 400);
  assert.match(await response.text(), /unknown, already finished or expired/);
});

test('no provider secret or refresh token is in the database, the audit log or the server log', async () => {
  // Let the audit writer catch up, then read every file the server wrote.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const secrets = [PROVIDER_SECRET, ...issuedRefreshTokens];
  assert.ok(secrets.length >= 5);
  const files = readdirSync(DIR)
    .map((name) => join(DIR, name))
    .filter((path) => statSync(path).isFile() && !/\.(yaml|pid|tap)$|vault\.key$/.test(path));
  assert.ok(files.some((f) => f.endsWith('tollgate.db')) && files.some((f) => f.endsWith('audit.jsonl')));
  const audit = readFileSync(join(DIR, 'audit.jsonl'), 'utf8');
  assert.match(audit, /"credential_linked"/);
  assert.match(audit, /"credential_access"/);
  for (const file of files) {
    const bytes = readFileSync(file);
    for (const secret of secrets) {
      assert.equal(bytes.indexOf(secret), -1, `a secret in clear in ${file}`);
    }
  }
});

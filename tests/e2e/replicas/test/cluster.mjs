// The pieces of a replicated deployment, started by the tests on 127.0.0.1 and stopped by PID:
// a throwaway PostgreSQL cluster (initdb and pg_ctl, as the `postgres` user when the tests run as
// root), `tollgate serve` replicas sharing it, and nginx balancing between them. Plus small HTTP
// helpers and a headless Chromium (apt, driven by playwright-core).
//
// Environment: TOLLGATE_BIN (the binary), TOLLGATE_E2E_DIR (a temporary directory), NGINX
// (default /usr/sbin/nginx), CHROMIUM (default /usr/bin/chromium), TOLLGATE_PG_BIN (PostgreSQL's
// server programs; default Debian's newest under /usr/lib/postgresql).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { launchChromium } from '../../lib/chromium.mjs';

export const BIN = process.env.TOLLGATE_BIN;
export const DIR = process.env.TOLLGATE_E2E_DIR;
assert.ok(BIN && DIR, 'run through tests/e2e/replicas.sh (TOLLGATE_BIN and TOLLGATE_E2E_DIR are unset)');

export const ADMIN_TOKEN = `replicas-admin-${randomBytes(8).toString('hex')}`;
export const ORDERS = 'https://orders.replicas.example';
export const REPORTS = 'https://reports.replicas.example';
export const ADA = { username: 'ada', password: 'ada-replicas-password', sub: 'u-ada' };
export const SECRETS = { worker: 'worker-replicas-secret', web: 'web-replicas-secret', exchanger: 'exchanger-replicas-secret' };
export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const isRoot = () => process.getuid?.() === 0;

function pgBin() {
  if (process.env.TOLLGATE_PG_BIN) return process.env.TOLLGATE_PG_BIN;
  const versions = readdirSync('/usr/lib/postgresql')
    .map((v) => join('/usr/lib/postgresql', v, 'bin'))
    .filter((bin) => existsSync(join(bin, 'initdb')))
    .sort();
  assert.ok(versions.length, 'PostgreSQL is installed (scripts/setup.sh installs Debian\'s `postgresql`)');
  return versions.at(-1);
}

/** Runs a PostgreSQL program, as `postgres` when we are root (PostgreSQL refuses root). */
function pgRun(program, args) {
  const path = join(pgBin(), program);
  const [command, argv] = isRoot() ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, args];
  return execFileSync(command, argv, { stdio: 'pipe', env: { ...process.env, LC_ALL: 'C' } }).toString();
}

/** A throwaway cluster with database `tollgate`, its superuser `tollgate` trusted on 127.0.0.1. */
export async function startPostgres(name) {
  const dir = join(DIR, name);
  mkdirSync(dir, { recursive: true });
  if (isRoot()) {
    const { uid, gid } = userIds('postgres');
    chownSync(dir, uid, gid);
  }
  pgRun('initdb', ['-D', join(dir, 'data'), '-U', 'tollgate', '-A', 'trust', '-E', 'UTF8', '--no-sync']);
  const port = await freePort();
  const pg = {
    port,
    url: `postgres://tollgate@127.0.0.1:${port}/tollgate`,
    start() {
      pgRun('pg_ctl', ['-D', join(dir, 'data'), '-l', join(dir, 'log'), '-w', '-t', '60', '-o',
        `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c max_connections=200`, 'start']);
    },
    pid() {
      try {
        return Number(readFileSync(join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
      } catch {
        return undefined;
      }
    },
    /** Fast shutdown by PID (sessions are disconnected); waits until the postmaster is gone. */
    async stop() {
      const pid = pg.pid();
      if (!pid) return;
      try {
        process.kill(pid, 'SIGINT');
      } catch {
        return;
      }
      for (let i = 0; i < 600 && existsSync(`/proc/${pid}`); i += 1) await sleep(50);
    },
  };
  pg.start();
  execFileSync(join(pgBin(), 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'tollgate', 'tollgate']);
  writeFileSync(join(DIR, `${name}.pid`), String(pg.pid()));
  return pg;
}

function userIds(name) {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${name}:`));
  assert.ok(line, `no user ${name}`);
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** The configuration every replica shares (only `listen` and the audit log differ). */
export function replicaConfig({ issuer, port, store, name, callback }) {
  return `# Written by tests/e2e/replicas for one run.
issuer: "${issuer}"
listen: "127.0.0.1:${port}"
store: "${store}"
auditLog: "${join(DIR, `audit-${name}.jsonl`)}"
clients:
  - clientId: worker
    secret: ${SECRETS.worker}
    grantTypes: [client_credentials]
  - clientId: web
    secret: ${SECRETS.web}
    grantTypes: [authorization_code, refresh_token]
    redirectUris: ["${callback}"]
  - clientId: exchanger
    secret: ${SECRETS.exchanger}
    grantTypes: [token_exchange]
    serves: [orders-api]
users:
  - { sub: ${ADA.sub}, username: ${ADA.username}, password: ${ADA.password}, roles: [analyst], tenantIds: [t-1] }
resources:
  - { id: orders-api, audience: "${ORDERS}", kind: api, scopes: ["orders:read", "orders:write"] }
  - { id: reports-api, audience: "${REPORTS}", kind: api, scopes: ["reports:read"] }
policies:
  - id: workers-read
    subject: { clients: [worker] }
    grantTypes: [client_credentials]
    targets: [ { resource: orders-api, scopes: ["orders:read"] } ]
  - id: web-orders
    subject: { clients: [web] }
    grantTypes: [authorization_code]
    targets: [ { resource: orders-api, scopes: ["orders:read"] } ]
  - id: exchanger-reports
    subject: { clients: [exchanger] }
    grantTypes: [token_exchange]
    targets: [ { resource: reports-api, scopes: ["reports:read"] } ]
`;
}

/**
 * Starts `tollgate serve` on `config` (written to `<name>.yaml`); resolves once `/healthz` answers
 * 200 at `http://127.0.0.1:<port>`. `kill(signal)` stops it by PID.
 */
export async function startReplica(name, config, port) {
  const file = join(DIR, `${name}.yaml`);
  writeFileSync(file, config);
  const log = openSync(join(DIR, `${name}.log`), 'a');
  const child = spawn(BIN, ['serve', '--config', file, '--engine', 'component'], {
    stdio: ['ignore', log, log],
    env: { ...process.env, TOLLGATE_ADMIN_TOKEN: ADMIN_TOKEN, TOLLGATE_LOG: process.env.TOLLGATE_LOG ?? 'info' },
  });
  writeFileSync(join(DIR, `${name}.pid`), String(child.pid));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    assert.equal(child.exitCode, null, `${name} exited: ${readFileSync(join(DIR, `${name}.log`), 'utf8')}`);
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.status === 200) break;
    } catch { /* not listening yet */ }
    assert.ok(Date.now() < deadline, `${name} did not start in 60 s`);
    await sleep(100);
  }
  return {
    name,
    url,
    pid: child.pid,
    exited,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      process.kill(child.pid, signal);
      await exited;
    },
  };
}

/** nginx balancing round-robin over `upstreams` (replica URLs) on 127.0.0.1:<port>. */
export async function startNginx(port, upstreams) {
  const nginx = process.env.NGINX ?? '/usr/sbin/nginx';
  const dir = join(DIR, 'nginx');
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, `# Written by tests/e2e/replicas for one run.
daemon off;
master_process on;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'logs', 'error.log')} warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path ${join(dir, 'body')};
    proxy_temp_path ${join(dir, 'proxy')};
    fastcgi_temp_path ${join(dir, 'fastcgi')};
    uwsgi_temp_path ${join(dir, 'uwsgi')};
    scgi_temp_path ${join(dir, 'scgi')};
    upstream tollgate {
${upstreams.map((u) => `        server ${new URL(u).host} max_fails=1 fail_timeout=5s;`).join('\n')}
        keepalive 32;
    }
    server {
        listen 127.0.0.1:${port};
        location / {
            proxy_pass http://tollgate;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
            # A replica that refuses connections or drops one before answering: the next one
            # (token requests are POSTs; nginx retries them only when nothing was sent yet).
            proxy_next_upstream error timeout;
            proxy_connect_timeout 1s;
            add_header X-Upstream $upstream_addr always;
        }
    }
}
`);
  const log = openSync(join(dir, 'logs', 'stderr.log'), 'a');
  const child = spawn(nginx, ['-c', conf, '-p', dir], { stdio: ['ignore', log, log] });
  writeFileSync(join(DIR, 'nginx.pid'), String(child.pid));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i += 1) {
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.status === 200) break;
    } catch { /* not yet */ }
    if (i >= 300 || child.exitCode !== null) {
      if (child.exitCode === null) process.kill(child.pid, 'SIGQUIT');
      const logs = ['error.log', 'stderr.log'].map((f) => join(dir, 'logs', f)).filter(existsSync);
      assert.fail(`nginx did not start: ${logs.map((f) => readFileSync(f, 'utf8')).join('\n')}`);
    }
    await sleep(100);
  }
  return {
    url,
    async stop() {
      if (child.exitCode !== null) return;
      process.kill(child.pid, 'SIGQUIT');
      await exited;
    },
  };
}

/** POSTs a form (with HTTP Basic client authentication when `auth` is [id, secret]). */
export async function form(url, params, auth) {
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  if (auth) headers.authorization = `Basic ${Buffer.from(`${auth[0]}:${auth[1]}`).toString('base64')}`;
  const response = await fetch(url, { method: 'POST', headers, body: new URLSearchParams(params) });
  const text = await response.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: response.status, body, headers: response.headers };
}

/** A client_credentials token request for `scope` on the orders API. */
export const workerToken = (base, scope = 'orders:read') =>
  form(`${base}/token`, { grant_type: 'client_credentials', resource: ORDERS, scope }, ['worker', SECRETS.worker]);

/** Calls the admin API; resolves to `{ status, body }`. */
export async function admin(base, method, path, body) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/** A PKCE pair and an authorization request URL for the `web` client at `issuer`. */
export function authorizationRequest(issuer, callback) {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const url = new URL(`${issuer}/authorize`);
  for (const [k, v] of Object.entries({
    response_type: 'code', client_id: 'web', redirect_uri: callback, scope: 'orders:read',
    state: randomBytes(8).toString('hex'), code_challenge: challenge, code_challenge_method: 'S256',
    resource: ORDERS,
  })) url.searchParams.set(k, v);
  return { url: url.href, verifier };
}

/** Headless Chromium (apt); `close()` also kills it by PID. */
export const launchBrowser = () => launchChromium(chromium);

/**
 * A page in a fresh browser context whose requests to `issuer` are served by `replica` (the
 * browser believes it talks to the load-balanced issuer; the test decides which replica answers),
 * and whose navigation to `callback` is captured instead of sent. `redirected` resolves to the
 * callback URL.
 */
export async function pageAt(browser, { issuer, callback, replica }) {
  const context = await browser.newContext();
  const target = { replica };
  let redirected;
  const arrived = new Promise((resolve) => {
    redirected = resolve;
  });
  await context.route((url) => url.href.startsWith(callback), async (route) => {
    redirected(route.request().url());
    await route.fulfill({ status: 200, contentType: 'text/plain', body: 'captured by the test' });
  });
  await context.route((url) => url.href.startsWith(`${issuer}/`), async (route) => {
    const request = route.request();
    const url = new URL(request.url());
    const response = await route.fetch({ url: `${target.replica}${url.pathname}${url.search}`, maxRedirects: 0 });
    await route.fulfill({ response });
  });
  const page = await context.newPage();
  return { page, context, arrived, target };
}

/** Signs in on the login page in `page` and waits for the consent page. */
export async function signIn(page) {
  await page.waitForSelector('#username');
  await page.fill('#username', ADA.username);
  await page.fill('#password', ADA.password);
  await Promise.all([page.waitForSelector('button[name="decision"][value="allow"]'), page.click('button[type="submit"]')]);
}

/** Allows on the consent page in `page`; resolves to the authorization code. */
export async function allow(page, arrived) {
  await page.click('button[name="decision"][value="allow"]');
  const url = new URL(await arrived);
  const code = url.searchParams.get('code');
  assert.ok(code, `no code in ${url}`);
  return code;
}

/** Redeems an authorization code at `base`. */
export const redeem = (base, code, verifier, callback) =>
  form(`${base}/token`, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: callback },
    ['web', SECRETS.web]);

/** Percentile `p` (0–100) of numbers. */
export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

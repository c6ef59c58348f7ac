// Shared set-up of the MCP suite: free loopback ports, the Tollgate configuration, `tollgate serve`
// and the example MCP server (examples/mcp-server) as child processes stopped by PID, and a real
// browser (apt Chromium driven by npm playwright-core) that signs in and consents as a person would.
//
// Environment: TOLLGATE_BIN (the binary), TOLLGATE_E2E_DIR (a temporary directory for the
// configuration, the store and the logs). tests/e2e/mcp.sh sets both.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { launchChromium } from '../../lib/chromium.mjs';

export const BIN = process.env.TOLLGATE_BIN;
export const DIR = process.env.TOLLGATE_E2E_DIR;
assert.ok(BIN && DIR, 'run through tests/e2e/mcp.sh (TOLLGATE_BIN and TOLLGATE_E2E_DIR are unset)');

/** The repository's root (this file is tests/e2e/mcp/test/lib.mjs). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
export const MCP_SERVER_DIR = join(ROOT, 'examples/mcp-server');

/** The user of the configuration below, and the scopes of the MCP server. */
export const ADA = { username: 'ada', password: 'ada-dev-password', sub: 'u-ada' };
export const READ = 'mcp:calendar.read';
export const WRITE = 'mcp:calendar.write';
export const INVOICE = 'mcp:invoice.create';
export const CONFORMANCE_CLIENT = 'conformance-client';

/** A free port on 127.0.0.1 (bind port 0, read what the kernel chose, release it). */
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolvePort(port));
    });
  });
}

/**
 * Ports, URLs and the directory of one test file's run: Tollgate, the MCP server, the conformance
 * callback server. `name` is the subdirectory of TOLLGATE_E2E_DIR for its files (configuration,
 * store, logs, PID files), so that test files running in parallel do not share them.
 */
export async function allocate(name) {
  const dir = join(DIR, name);
  mkdirSync(dir, { recursive: true });
  const tollgatePort = await freePort();
  const mcpPort = await freePort();
  const callbackPort = await freePort();
  return {
    dir,
    tollgatePort,
    mcpPort,
    callbackPort,
    issuer: `http://127.0.0.1:${tollgatePort}`,
    mcpUrl: `http://127.0.0.1:${mcpPort}/mcp`,
    callbackUrl: `http://127.0.0.1:${callbackPort}/callback`,
  };
}

/** The Tollgate configuration of the suite, for the ports of `allocate()`. */
export function tollgateConfig({ dir, issuer, tollgatePort, mcpUrl, callbackUrl }) {
  return `# Written by tests/e2e/mcp/test/lib.mjs for one run.
issuer: "${issuer}"
listen: "127.0.0.1:${tollgatePort}"
store: "sqlite://${dir}/tollgate.db"
registration:
  dynamic: true
  metadataDocuments: true
  allowLocalMetadataDocuments: true
clients:
  - clientId: ${CONFORMANCE_CLIENT}
    name: Conformance client
    tokenEndpointAuthMethod: none
    grantTypes: [authorization_code, refresh_token]
    redirectUris: ["${callbackUrl}"]
users:
  - { sub: ${ADA.sub}, username: ${ADA.username}, password: ${ADA.password}, roles: [Scheduler], tenantIds: [tenant-a] }
resources:
  - { id: calendar-mcp, audience: "${mcpUrl}", kind: mcp,
      scopes: ["${READ}", "${WRITE}", "${INVOICE}"] }
policies:
  - id: scheduler-calendar
    subject:
      conditions:
        - { key: user.roles, op: contains, value: Scheduler }
        - { key: user.tenantIds, op: in, values: [tenant-a, tenant-b] }
    grantTypes: [authorization_code]
    targets: [ { resource: calendar-mcp, scopes: ["${READ}", "${WRITE}"] } ]
`;
}

/**
 * Starts a child process, appends its output to `log`, writes its PID to `pidFile` (so the shell
 * script can stop it should node itself die), and resolves once `ready()` says so.
 */
async function startProcess({ name, command, args, cwd, env, log, pidFile, ready, timeoutMs = 30_000 }) {
  writeFileSync(log, '');
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  if (pidFile) writeFileSync(pidFile, String(child.pid));
  let output = '';
  const onData = (chunk) => {
    output += chunk;
    appendFileSync(log, chunk);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise((resolveExit) => child.once('exit', resolveExit));
  let timer;
  let settled = false;
  try {
    await Promise.race([
      ready(() => output, () => settled),
      exited.then((code) => {
        // Also settles when the process is stopped long after it was ready: no error then.
        if (!settled) throw new Error(`${name} exited (${code}) before it was ready:\n${output}`);
      }),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${name} not ready in ${timeoutMs / 1000} s:\n${output}`)), timeoutMs);
      }),
    ]);
  } catch (error) {
    await stopProcess(child, pidFile);
    throw error;
  } finally {
    settled = true;
    clearTimeout(timer);
  }
  return {
    pid: child.pid,
    output: () => output,
    stop: () => stopProcess(child, pidFile),
  };
}

/**
 * SIGTERM by PID, SIGKILL after 5 s; resolves once the process is gone, and removes its PID file
 * (so that the shell script never signals a PID that was reused since).
 */
export async function stopProcess(child, pidFile) {
  const gone = () => {
    if (pidFile) rmSync(pidFile, { force: true });
  };
  if (child.exitCode !== null || child.signalCode !== null) return gone();
  const exited = new Promise((resolveExit) => child.once('exit', resolveExit));
  try {
    process.kill(child.pid, 'SIGTERM');
  } catch {
    return gone();
  }
  const timer = setTimeout(() => {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch { /* gone */ }
  }, 5_000);
  await exited;
  clearTimeout(timer);
  return gone();
}

/** Polls `url` until it answers 200, or until `given()` says to stop waiting. */
async function until200(url, given) {
  while (!given()) {
    try {
      const response = await fetch(url);
      await response.body?.cancel();
      if (response.status === 200) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Writes the configuration (by default `tollgateConfig(run)`) to `<run.dir>/tollgate.yaml` and
 * starts `$TOLLGATE_BIN serve` on it; resolves once `GET /healthz` answers 200. `stop()` ends it
 * by PID.
 */
export async function startTollgate(run, { config = tollgateConfig(run) } = {}) {
  const { dir } = run;
  const file = join(dir, 'tollgate.yaml');
  writeFileSync(file, config);
  const server = await startProcess({
    name: 'tollgate',
    command: BIN,
    args: ['serve', '--config', file],
    env: { ...process.env, TOLLGATE_LOG: process.env.TOLLGATE_LOG ?? 'info' },
    log: join(dir, 'server.log'),
    pidFile: join(dir, 'tollgate.pid'),
    ready: (_, given) => until200(`${run.issuer}/healthz`, given),
  });
  return { ...server, url: run.issuer };
}

/**
 * Starts the example MCP server (examples/mcp-server/server.mjs) with this Node; resolves once it
 * prints `mcp-server: listening on <MCP_URL>`.
 */
export async function startMcpServer(run) {
  const { dir } = run;
  assert.ok(existsSync(join(MCP_SERVER_DIR, 'server.mjs')), `no ${MCP_SERVER_DIR}/server.mjs`);
  assert.ok(existsSync(join(MCP_SERVER_DIR, 'node_modules')),
    `no ${MCP_SERVER_DIR}/node_modules (npm ci there; tests/e2e/mcp.sh does)`);
  const server = await startProcess({
    name: 'mcp-server',
    command: process.execPath,
    args: ['server.mjs'],
    cwd: MCP_SERVER_DIR,
    env: {
      ...process.env,
      MCP_HOST: '127.0.0.1',
      MCP_PORT: String(run.mcpPort),
      MCP_URL: run.mcpUrl,
      TOLLGATE_ISSUER: run.issuer,
    },
    log: join(dir, 'mcp-server.log'),
    pidFile: join(dir, 'mcp-server.pid'),
    ready: async (output, given) => {
      while (!given() && !output().includes(`mcp-server: listening on ${run.mcpUrl}`)) {
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  });
  return { ...server, url: run.mcpUrl };
}

/** Headless Chromium (apt); `close()` also kills it by PID. */
export const launchBrowser = () => launchChromium(chromium);

/**
 * Goes through an authorization request as a person in a browser would: opens
 * `authorizationUrl`, signs in on the login page (`#username`, `#password`, the form's submit
 * button), and on the consent page leaves checked exactly the scopes in `approve` (every offered
 * scope when `approve` is absent) and presses Allow, or Deny when `deny` is true. Each login gets
 * a fresh browser context (no cookies), unless `context` is given (a session that signed in
 * before).
 *
 * The browser is stopped at the client's redirect URI (`redirectUri`, by default the request's
 * `redirect_uri`): the navigation there is answered by the browser itself, unless `deliver` is
 * true, when it goes on to the real server there (the conformance suite's callback server).
 *
 * Resolves to `{ url, code, state, iss, error, errorDescription, params, offered, pages }`: the
 * redirect's URL and query parameters (`params` is its URLSearchParams, for counting repeats),
 * the scopes the consent page offered (undefined when there was no consent page) and the URLs
 * of the pages the browser showed on the way. Rejects, with the page's text, on a page that is
 * neither login nor consent (an error page) or when nothing happens within `timeoutMs`.
 */
export async function browserLogin(authorizationUrl, {
  username = ADA.username,
  password = ADA.password,
  approve,
  deny = false,
  redirectUri = new URL(authorizationUrl).searchParams.get('redirect_uri'),
  deliver = false,
  browser,
  context,
  timeoutMs = 20_000,
} = {}) {
  assert.ok(redirectUri, `no redirect_uri in ${authorizationUrl} and none given`);
  let launched;
  if (!browser && !context) {
    launched = await launchBrowser();
    browser = launched.browser;
  }
  const ownContext = !context;
  if (!context) context = await browser.newContext();
  const atRedirect = (url) => url.startsWith(redirectUri);
  let redirected;
  const arrived = new Promise((resolveArrived) => {
    redirected = resolveArrived;
  });
  // Seen as a request whether it comes straight or as a redirect's next hop.
  const onRequest = (request) => {
    if (request.isNavigationRequest() && atRedirect(request.url())) redirected(request.url());
  };
  context.on('request', onRequest);
  const route = async (r) => {
    if (deliver) await r.continue();
    else await r.fulfill({ status: 200, contentType: 'text/plain', body: 'redirect captured by the test' });
  };
  const matcher = (url) => atRedirect(url.href);
  await context.route(matcher, route);
  const page = await context.newPage();
  const pages = [];
  let offered;
  let logins = 0;
  let done;
  const deadline = Date.now() + timeoutMs;
  const left = () => Math.max(1, deadline - Date.now());
  arrived.then((url) => {
    done = url;
  });
  /** Runs `action` and waits for the next page, or for the redirect. */
  const step = async (action) => {
    const loaded = page.waitForEvent('domcontentloaded', { timeout: left() }).catch(() => {});
    await action();
    await Promise.race([arrived, loaded]);
    // A redirect's request may trail the page event by a moment.
    await Promise.race([arrived, new Promise((r) => setTimeout(r, 50))]);
  };
  try {
    await step(() => page.goto(authorizationUrl, { waitUntil: 'commit', timeout: left() }).catch((e) => {
      if (!done) throw e;
    }));
    for (let hops = 0; !done; hops += 1) {
      if (hops > 10 || Date.now() >= deadline) {
        throw new Error(`no redirect to ${redirectUri} after ${hops} pages (${pages.join(' -> ')})`);
      }
      await page.waitForLoadState('domcontentloaded', { timeout: left() }).catch(() => {});
      if (done) break;
      pages.push(page.url());
      const login = page.locator('form:has(#username):has(#password)');
      const consent = page.locator('form:has(button[name="decision"])');
      if (await login.count()) {
        logins += 1;
        if (logins > 1) {
          const text = (await page.textContent('body').catch(() => '')) ?? '';
          throw new Error(`the login page came back at ${page.url()}: ${text.trim().slice(0, 600)}`);
        }
        await page.fill('#username', username);
        await page.fill('#password', password);
        await step(() => login.locator('button[type="submit"]').first().click({ timeout: left() }));
      } else if (await consent.count()) {
        const boxes = consent.locator('input[type="checkbox"][name="scope"]');
        offered = [];
        for (let i = 0; i < await boxes.count(); i += 1) {
          const box = boxes.nth(i);
          const scope = await box.getAttribute('value');
          offered.push(scope);
          if (!approve || approve.includes(scope)) await box.check();
          else await box.uncheck();
        }
        const decision = deny ? 'deny' : 'allow';
        await step(() => consent.locator(`button[name="decision"][value="${decision}"]`).click({ timeout: left() }));
      } else {
        const text = (await page.textContent('body').catch(() => '')) ?? '';
        throw new Error(`neither login nor consent at ${page.url()}: ${text.trim().slice(0, 600)}`);
      }
    }
    const url = done;
    const params = new URL(url).searchParams;
    return {
      url,
      params,
      code: params.get('code') ?? undefined,
      state: params.get('state') ?? undefined,
      iss: params.get('iss') ?? undefined,
      error: params.get('error') ?? undefined,
      errorDescription: params.get('error_description') ?? undefined,
      offered,
      pages,
    };
  } finally {
    context.off('request', onRequest);
    if (ownContext) await context.close().catch(() => {});
    else {
      await page.close().catch(() => {});
      await context.unroute(matcher, route).catch(() => {});
    }
    await launched?.close();
  }
}

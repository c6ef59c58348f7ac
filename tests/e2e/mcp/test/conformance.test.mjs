// The MCP conformance suite's authorization-server checks (@modelcontextprotocol/conformance
// `authorization`) against `tollgate serve`:
//
//   - authorization-server-metadata-endpoint: RFC 8414 metadata at the well-known URL, 200,
//     application/json, issuer equal to --url, authorization and token endpoints, `code` among
//     response_types_supported, S256 among code_challenge_methods_supported; and
//     client_id_metadata_document_supported=true (a warning, not a failure, when absent);
//   - authorization-code-grant: with the pre-registered public client `conformance-client`, an
//     authorization request (PKCE S256, state, the MCP server as `resource`, no `scope`) that the
//     browser completes (login, consent); the redirect to the CLI's callback server must carry one
//     code and the same state, `iss` (if present) equal to the metadata's issuer, and no error;
//     the token response must be 200, application/json, Cache-Control: no-store, with
//     access_token and token_type.
//
// The CLI prints the authorization URL and waits (up to 5 minutes) for the redirect on
// http://127.0.0.1:<--port>/callback; the browser goes there for real (`deliver`). Its exit code is
// 1 when any check failed; the checks are also written as JSON under --output-dir.
// Environment: TOLLGATE_BIN (the binary), TOLLGATE_E2E_DIR (a temporary directory).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CONFORMANCE_CLIENT, allocate, browserLogin, launchBrowser, startMcpServer, startTollgate, stopProcess,
} from './lib.mjs';

const SUITE = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(SUITE, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');

let run;
let tollgate;
let mcp;
let chromium;

before(async () => {
  run = await allocate('conformance');
  tollgate = await startTollgate(run);
  // Not needed by the checks themselves (the MCP server is only named as `resource`), but the
  // resource's audience is its URL, and a running server makes the configuration realistic.
  mcp = await startMcpServer(run);
  chromium = await launchBrowser();
});

after(async () => {
  await chromium?.close();
  await mcp?.stop();
  await tollgate?.stop();
});

/**
 * Runs `conformance authorization` (all its scenarios, in order: the grant check needs the
 * metadata the first one read) and completes each authorization URL it prints in the browser.
 */
async function conformance(outputDir) {
  const args = [
    CLI, 'authorization',
    '--url', run.issuer,
    '--client-id', CONFORMANCE_CLIENT,
    '--resource', run.mcpUrl,
    '--port', String(run.callbackPort),
    '--output-dir', outputDir,
  ];
  // process.execPath: Node 22 from tests/e2e/mcp.sh (the CLI needs fs.globSync, Node 22+).
  const child = spawn(process.execPath, args, { cwd: SUITE, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  const pidFile = join(run.dir, 'conformance.pid');
  writeFileSync(pidFile, String(child.pid));
  let stdout = '';
  let stderr = '';
  const logins = [];
  let pending = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop();
    for (const line of lines) {
      // The authorization URL, printed alone on its line after "Access the following URL…".
      if (line.startsWith(`${run.issuer}/`) && line.includes('client_id=')) {
        logins.push(browserLogin(line.trim(), { browser: chromium.browser, deliver: true })
          .catch((error) => ({ failed: error })));
      }
    }
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise((resolve) => child.once('exit', (c, signal) => resolve(c ?? signal)));
  // It waits 5 minutes for a callback that may never come: 2 are plenty.
  const timer = setTimeout(() => stopProcess(child, pidFile), 120_000);
  const code = await exited;
  clearTimeout(timer);
  await stopProcess(child, pidFile);
  writeFileSync(join(run.dir, 'conformance.log'), `${stdout}\n--- stderr ---\n${stderr}`);
  return { code, stdout, stderr, logins: await Promise.all(logins) };
}

/** The checks the CLI wrote: <dir>/authorization-server-<scenario>-<time>/checks.json. */
function readChecks(outputDir) {
  const checks = [];
  for (const entry of readdirSync(outputDir)) {
    const file = join(outputDir, entry, 'checks.json');
    if (existsSync(file)) checks.push(...JSON.parse(readFileSync(file, 'utf8')));
  }
  return checks;
}

test('every authorization-server check of the MCP conformance suite passes', { timeout: 180_000 }, async () => {
  const outputDir = join(run.dir, 'results');
  mkdirSync(outputDir, { recursive: true });
  const { code, stdout, stderr, logins } = await conformance(outputDir);
  const transcript = `exit ${code}\n${stdout}\n${stderr}`;

  assert.equal(logins.length, 1, `the CLI printed one authorization URL\n${transcript}`);
  const [login] = logins;
  assert.equal(login.failed, undefined, `the browser completed the login: ${login.failed?.message}`);
  assert.equal(login.error, undefined, `authorization error: ${login.error} ${login.errorDescription ?? ''}`);
  assert.equal(login.iss, run.issuer, 'RFC 9207 iss');

  const checks = readChecks(outputDir);
  const byId = Object.fromEntries(checks.map((c) => [c.id, c]));
  for (const id of ['authorization-server-metadata', 'authorization-server-metadata-cimd', 'authorization-code-grant']) {
    assert.ok(byId[id], `check ${id} ran (${checks.map((c) => c.id)})\n${transcript}`);
  }
  const notPassed = checks.filter((c) => c.status !== 'SUCCESS');
  assert.deepEqual(notPassed.map((c) => `${c.id}: ${c.status} ${c.errorMessage ?? ''}`), [], transcript);
  assert.match(stdout, /Total: 3 passed, 0 failed/);
  assert.equal(code, 0, transcript);
});

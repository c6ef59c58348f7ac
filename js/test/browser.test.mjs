// A page in headless Chromium (apt chromium, driven by npm playwright-core) loads the package's
// web build from a loopback server and decides a corpus case.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { after, test } from 'node:test';
import { chromium } from 'playwright-core';
import { loadCorpus } from './corpus.mjs';
import { js } from './procs.mjs';

const profile = mkdtempSync(join(tmpdir(), 'tollgate-chromium-'));
after(() => rmSync(profile, { recursive: true, force: true }));

const TYPES = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html', '.json': 'application/json' };

test('the web build decides a corpus case in headless Chromium', async () => {
  // The case: the first decision case of the corpus that gives its request as a mapping and is
  // permitted.
  const permitted = (c) => c.request !== undefined && c.expect?.permitted === true;
  const file = loadCorpus().find((f) => f.cases.some(permitted));
  const kase = file.cases.find(permitted);
  const page = `<!doctype html><meta charset="utf-8"><title>tollgate</title>
<script type="module">
  import { PolicySet } from '/dist/web.js';
  const set = PolicySet.load(${JSON.stringify(JSON.stringify(file.document))});
  window.decision = set.decide(${JSON.stringify(kase.request)});
  set.free();
  document.title = 'done';
</script>`;
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(page);
      return;
    }
    const file = normalize(join(js, path));
    if (!path.startsWith('/dist/') || !file.startsWith(join(js, 'dist'))) {
      res.writeHead(404).end();
      return;
    }
    try {
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const browserPid = context.browser()?.process?.()?.pid;
  try {
    const tab = await context.newPage();
    const errors = [];
    tab.on('pageerror', (e) => errors.push(String(e)));
    await tab.goto(`http://127.0.0.1:${port}/`);
    await tab.waitForFunction(() => document.title === 'done' || window.decision, null, { timeout: 15000 });
    assert.deepEqual(errors, []);
    const decision = await tab.evaluate(() => window.decision);
    for (const [key, want] of Object.entries(kase.expect)) assert.deepEqual(decision[key], want, `${file.file} :: ${kase.name}: ${key}`);
    console.log(`browser: ${file.file} :: ${kase.name}: permitted ${decision.permitted}, granted ${JSON.stringify(decision.granted)}`);
  } finally {
    await context.close();
    if (browserPid) try { process.kill(browserPid, 'SIGKILL'); } catch { /* already gone */ }
    await new Promise((resolve) => server.close(resolve));
  }
});

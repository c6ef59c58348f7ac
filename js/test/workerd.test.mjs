// The whole corpus inside workerd (npm `workerd`), on 127.0.0.1, through the package's
// `workerd` export condition.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { loadCorpus, caseCount } from './corpus.mjs';
import { bin, freePort, js, start, waitForHttp } from './procs.mjs';

const dir = mkdtempSync(join(tmpdir(), 'tollgate-workerd-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The file the `workerd` condition of package.json resolves `@tollgate/engine` to. */
function workerdEntry() {
  return execFileSync(process.execPath, ['--conditions=workerd', '--input-type=module', '-e',
    "console.log(import.meta.resolve('@tollgate/engine'))"], { cwd: js }).toString().trim();
}

test('the decision corpus inside workerd', async () => {
  const entry = new URL(workerdEntry()).pathname;
  assert.match(entry, /dist\/workerd\.js$/);
  const dist = dirname(entry);
  for (const f of ['workerd.js', 'tollgate_js.js', 'tollgate_js_bg.wasm']) copyFileSync(join(dist, f), join(dir, f));
  copyFileSync(new URL('./corpus-runner.mjs', import.meta.url), join(dir, 'corpus-runner.mjs'));
  const files = loadCorpus();
  writeFileSync(join(dir, 'corpus.json'), JSON.stringify(files));
  writeFileSync(join(dir, 'worker.js'), `
import { PolicySet } from '@tollgate/engine';
import { runCorpus } from './corpus-runner.mjs';
import corpus from './corpus.json';
export default {
  async fetch() {
    return Response.json(runCorpus(PolicySet, corpus));
  },
};
`);
  // Module names are paths without a leading slash; an absolute import names one from the root.
  const pkg = 'node_modules/@tollgate/engine/dist';
  writeFileSync(join(dir, 'config.capnp'), `
using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .worker) ],
  sockets = [ (name = "http", address = "127.0.0.1:0", http = (), service = "main") ],
);
const worker :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "corpus-runner.mjs", esModule = embed "corpus-runner.mjs"),
    (name = "corpus.json", json = embed "corpus.json"),
    (name = "@tollgate/engine", esModule = "export * from '/${pkg}/workerd.js';"),
    (name = "${pkg}/workerd.js", esModule = embed "workerd.js"),
    (name = "${pkg}/tollgate_js.js", esModule = embed "tollgate_js.js"),
    (name = "${pkg}/tollgate_js_bg.wasm", wasm = embed "tollgate_js_bg.wasm"),
  ],
  compatibilityDate = "2026-11-01",
);
`);
  const port = await freePort();
  const server = start(bin('workerd'), ['serve', join(dir, 'config.capnp'), '--socket-addr', `http=127.0.0.1:${port}`]);
  try {
    await waitForHttp(`http://127.0.0.1:${port}/health`, server);
    const report = await (await fetch(`http://127.0.0.1:${port}/`)).json();
    for (const f of report.failures) console.log(`FAIL ${f.file} :: ${f.case}: ${f.problem}`);
    console.log(`corpus (workerd): ${report.passed} passed, ${report.failed} failed`);
    assert.equal(report.passed + report.failed, caseCount(files));
    assert.equal(report.failed, 0);
  } finally {
    await server.stop();
  }
});

// The whole corpus inside Deno (npm @deno/linux-x64-glibc). Deno resolves `@tollgate/engine`
// from a node_modules folder that links to this package, applying the `deno` export condition.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { caseCount, loadCorpus } from './corpus.mjs';
import { js, start } from './procs.mjs';

const deno = join(dirname(createRequire(import.meta.url).resolve('@deno/linux-x64-glibc/package.json')), 'deno');
const dir = mkdtempSync(join(tmpdir(), 'tollgate-deno-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('the decision corpus inside Deno', async () => {
  mkdirSync(join(dir, 'node_modules', '@tollgate'), { recursive: true });
  symlinkSync(js, join(dir, 'node_modules', '@tollgate', 'engine'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module', dependencies: { '@tollgate/engine': '*' } }));
  copyFileSync(new URL('./corpus-runner.mjs', import.meta.url), join(dir, 'corpus-runner.mjs'));
  const files = loadCorpus();
  writeFileSync(join(dir, 'corpus.json'), JSON.stringify(files));
  writeFileSync(join(dir, 'main.mjs'), `
import { PolicySet } from '@tollgate/engine';
import { runCorpus } from './corpus-runner.mjs';
const corpus = JSON.parse(await Deno.readTextFile(new URL('./corpus.json', import.meta.url)));
console.log(JSON.stringify({ resolved: import.meta.resolve('@tollgate/engine'), report: runCorpus(PolicySet, corpus) }));
`);
  const proc = start(deno, ['run', '--quiet', '--no-prompt', '--no-remote', '--node-modules-dir=manual', `--allow-read=${dir},${js}`, 'main.mjs'], {
    cwd: dir,
    env: { ...process.env, DENO_DIR: join(dir, '.deno'), DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
  });
  const code = await proc.exited;
  const output = proc.output();
  assert.equal(code, 0, output);
  const { resolved, report } = JSON.parse(output.trim().split('\n').pop());
  assert.match(resolved, /dist\/web\.js$/, 'Deno took the `deno` export condition');
  for (const f of report.failures) console.log(`FAIL ${f.file} :: ${f.case}: ${f.problem}`);
  console.log(`corpus (deno): ${report.passed} passed, ${report.failed} failed`);
  assert.equal(report.passed + report.failed, caseCount(files));
  assert.equal(report.failed, 0);
});

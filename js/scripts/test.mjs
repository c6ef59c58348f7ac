// `npm test`: every test of the package with node:test, in Node 20+. Needs `npm run build` first
// (dist/) and, for the browser test, /usr/bin/chromium (scripts/setup.sh installs it).
//   test/*.test.mjs                       API, corpus (Node, workerd, Deno), browser, types
//   ../examples/edge-worker/*.test.mjs    the edge-worker example in workerd
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const js = dirname(dirname(fileURLToPath(import.meta.url)));
if (!existsSync(join(js, 'dist', 'tollgate_js_bg.wasm'))) {
  console.error('test: dist/ is missing: run `npm run build` first');
  process.exit(1);
}
const dirs = [join(js, 'test'), join(js, '..', 'examples', 'edge-worker')];
const files = dirs.flatMap((d) => (existsSync(d) ? readdirSync(d).filter((f) => f.endsWith('.test.mjs')).map((f) => join(d, f)) : []));
const result = spawnSync(process.execPath, ['--expose-gc', '--test', '--test-reporter=spec', ...files], { cwd: js, stdio: 'inherit' });
process.exit(result.status ?? 1);

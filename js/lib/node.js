// Node entry point: the module is read from beside this file and compiled synchronously, so
// `import { PolicySet } from '@tollgate/engine'` is ready to use with no await.
import { readFileSync } from 'node:fs';
import { initSync, PolicySet } from './tollgate_js.js';

initSync({ module: readFileSync(new URL('./tollgate_js_bg.wasm', import.meta.url)) });

export { PolicySet };

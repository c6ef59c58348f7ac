// Browser and Deno entry point: the module is fetched from beside this file (top-level await),
// compiled with WebAssembly.instantiateStreaming where the server sends application/wasm.
import init, { PolicySet } from './tollgate_js.js';

await init({ module_or_path: new URL('./tollgate_js_bg.wasm', import.meta.url) });

export { PolicySet };

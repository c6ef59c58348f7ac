// Edge-worker entry point (workerd / Cloudflare Workers): workers cannot fetch their own files, so
// the module is imported as a compiled WebAssembly.Module (a `wasm` module in workerd's config;
// wrangler does this for `.wasm` imports) and instantiated synchronously at startup.
import wasm from './tollgate_js_bg.wasm';
import { initSync, PolicySet } from './tollgate_js.js';

initSync({ module: wasm });

export { PolicySet };

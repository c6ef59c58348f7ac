// The wasm instance's memory, for the FinalizationRegistry test: initSync returns the existing
// instance's exports once the package's entry point has initialised it.
import { initSync } from '../dist/tollgate_js.js';

export const memory = () => initSync({ module: new Uint8Array() }).memory;

#!/usr/bin/env bash
# End-to-end suite of the npm package @tollgate/engine (js/): builds it (cargo, wasm-bindgen,
# wasm-opt) and runs its tests: the decision corpus in Node, workerd and Deno, the web build in
# headless Chromium, the API, the TypeScript declarations and the edge-worker example.
# scripts/setup.sh has installed js/node_modules (npm ci) and chromium.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

[[ -d js/node_modules ]] || { echo 'js.sh: js/node_modules is missing: run scripts/setup.sh' >&2; exit 1; }
npm --prefix js run build
npm --prefix js test

# workerd configuration of the edge-worker example. Run from the repository root, after
# `npm --prefix js run build` and `node examples/edge-worker/token.mjs init`:
#   js/node_modules/.bin/workerd serve examples/edge-worker/config.capnp
# The engine's modules are named as the package's files, and `@tollgate/engine` resolves to its
# `workerd` entry point (what a bundler does with the package's `workerd` export condition).
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [ (name = "edge", worker = .edgeWorker) ],
  sockets = [ (name = "http", address = "127.0.0.1:8787", http = (), service = "edge") ],
);

const edgeWorker :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "@tollgate/engine", esModule = "export * from '/node_modules/@tollgate/engine/dist/workerd.js';"),
    (name = "node_modules/@tollgate/engine/dist/workerd.js", esModule = embed "../../js/dist/workerd.js"),
    (name = "node_modules/@tollgate/engine/dist/tollgate_js.js", esModule = embed "../../js/dist/tollgate_js.js"),
    (name = "node_modules/@tollgate/engine/dist/tollgate_js_bg.wasm", wasm = embed "../../js/dist/tollgate_js_bg.wasm"),
  ],
  bindings = [
    (name = "POLICIES", text = embed "policies.yaml"),
    (name = "JWT_PUBLIC_KEY", json = embed "keys/public-jwk.json"),
    (name = "ISSUER", text = "https://tollgate.example.com"),
    (name = "AUDIENCE", text = "https://incidents.example.com"),
  ],
  compatibilityDate = "2026-11-01",
);

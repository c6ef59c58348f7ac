// Builds the npm package into dist/: the one place the package layout is decided.
//
//   1. cargo build -p tollgate-js for wasm32-unknown-unknown with the profile `wasm-js`: the
//      root `wasm` profile (LTO, panic=abort) at opt-level "z", keeping the target_features
//      section wasm-bindgen reads. Defined here with --config so it gets its own target
//      directory and never invalidates scripts/build-wasm.sh's `wasm` builds.
//   2. wasm-bindgen --target web (the CLI must equal the crate pin, 0.2.130) into dist/.
//   3. wasm-opt from npm binaryen (Debian's binaryen breaks wasm-bindgen output) with the
//      passes that shrink the gzipped module; -Oz makes it smaller raw but larger gzipped.
//   4. the entry points (node, web/deno, workerd) and the TypeScript declarations from lib/.
//
// Usage: npm run build            (from js/, or npm --prefix js run build)
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const js = dirname(dirname(fileURLToPath(import.meta.url)));
const root = dirname(js);
const dist = join(js, 'dist');
const PROFILE = 'wasm-js';
const TARGET = 'wasm32-unknown-unknown';
const WASM_OPT_PASSES = [
  '--dce', '--vacuum', '--duplicate-function-elimination', '--remove-unused-module-elements',
];
// The features rustc 1.95 enables by default for wasm32-unknown-unknown.
const WASM_FEATURES = [
  '--enable-bulk-memory', '--enable-nontrapping-float-to-int', '--enable-sign-ext',
  '--enable-mutable-globals', '--enable-reference-types', '--enable-multivalue',
];

function run(cmd, args, options = {}) {
  console.log(`build: ${cmd} ${args.join(' ')}`);
  execFileSync(cmd, args, { stdio: 'inherit', cwd: root, ...options });
}

function size(path) {
  return `${statSync(path).size} bytes, ${gzipSync(readFileSync(path), { level: 9 }).length} gzipped`;
}

const started = Date.now();
// scripts/wasm-env.sh decides between rustup's toolchain and the Debian rustc-web fallback;
// ask it for the extra cargo arguments and environment so this build takes the same path.
const envDump = execFileSync('bash', ['-c',
  'source scripts/wasm-env.sh >/dev/null && printf "%s\\0" "${WASM_CARGO_ARGS[@]}" && printf "\\1" && env -0'],
{ cwd: root }).toString();
const [argsPart, envPart] = envDump.split('\u0001');
const cargoArgs = argsPart.split('\0').filter(Boolean);
const env = Object.fromEntries(envPart.split('\0').filter(Boolean).map((kv) => {
  const i = kv.indexOf('=');
  return [kv.slice(0, i), kv.slice(i + 1)];
}));

run('cargo', [
  'build', '-p', 'tollgate-js', '--target', TARGET, '--profile', PROFILE,
  '--config', `profile.${PROFILE}.inherits="wasm"`,
  '--config', `profile.${PROFILE}.opt-level="z"`,
  '--config', `profile.${PROFILE}.strip="debuginfo"`,
  ...cargoArgs,
], { env });

const targetDir = JSON.parse(execFileSync('cargo', ['metadata', '--no-deps', '--format-version', '1'],
  { cwd: root, env }).toString()).target_directory;
const module = join(targetDir, TARGET, PROFILE, 'tollgate_js.wasm');

const want = /^wasm-bindgen = "=([0-9.]+)"/m.exec(readFileSync(join(root, 'Cargo.toml'), 'utf8'))?.[1];
let have = '';
try {
  have = execFileSync('wasm-bindgen', ['--version']).toString().trim();
} catch { /* reported below */ }
if (have !== `wasm-bindgen ${want}`) {
  throw new Error(`need wasm-bindgen ${want} (the crate pin), found '${have || 'none'}': run scripts/setup.sh`);
}

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
run('wasm-bindgen', ['--target', 'web', '--out-dir', dist, module]);
const wasm = join(dist, 'tollgate_js_bg.wasm');
console.log(`build: wasm-bindgen output ${size(wasm)}`);
run(join(js, 'node_modules', '.bin', 'wasm-opt'), [
  ...WASM_OPT_PASSES, ...WASM_FEATURES,
  '--strip-debug', '--strip-producers', '--strip-target-features', wasm, '-o', wasm,
]);
console.log(`build: after wasm-opt ${size(wasm)}`);

// wasm-bindgen's own declarations type requests and decisions as `any`; lib/index.d.ts types
// them, so the generated ones are not shipped.
rmSync(join(dist, 'tollgate_js.d.ts'));
rmSync(join(dist, 'tollgate_js_bg.wasm.d.ts'));
for (const file of ['node.js', 'web.js', 'workerd.js', 'index.d.ts']) {
  copyFileSync(join(js, 'lib', file), join(dist, file));
}
writeFileSync(join(dist, 'tollgate_js.d.ts'), "export * from './index.js';\n");
console.log(`build: dist/ ready in ${((Date.now() - started) / 1000).toFixed(1)}s`);

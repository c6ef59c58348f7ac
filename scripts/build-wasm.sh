#!/usr/bin/env bash
# Builds the three WebAssembly shims of the engine with the `wasm` profile of the root Cargo.toml
# (the component with `component`, the same at opt-level 3):
#
#   component  tollgate-component (wit-bindgen guest), core wasm; made into a component by the
#              componentize hook below once it exists
#   js         tollgate-js (wasm-bindgen), then the JS glue from wasm-bindgen-cli into js/pkg
#   envoy      tollgate-envoy (proxy-wasm filter)
#
# Usage: scripts/build-wasm.sh [component|js|envoy]...   (no argument: all three)
# Run scripts/setup.sh first; it installs the wasm target (or the Debian fallback) and
# wasm-bindgen-cli. Fails on the first build that fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/wasm-env.sh
source scripts/wasm-env.sh

TARGET=wasm32-unknown-unknown
# wasm-bindgen outputs, "target out-dir", one per line. Add e.g. "nodejs js/pkg/node" when needed.
BINDGEN_OUTPUTS=() # none: `npm --prefix js run build` lays out the npm package (js/dist/)

say() { printf 'build-wasm: %s\n' "$*"; }
die() { printf 'build-wasm: error: %s\n' "$*" >&2; exit 1; }

target_dir="$(cargo metadata --no-deps --format-version 1 |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
[[ -n "$target_dir" ]] || die "cannot read the target directory from cargo metadata"

# cargo_build PACKAGE PROFILE: the artifacts land in $target_dir/$TARGET/PROFILE.
cargo_build() {
    local package="$1" profile="$2" started=$SECONDS
    say "cargo build -p $package --target $TARGET --profile $profile ($TOLLGATE_WASM_TOOLCHAIN)"
    cargo build -p "$package" --target "$TARGET" --profile "$profile" "${WASM_CARGO_ARGS[@]}"
    say "$package built in $((SECONDS - started))s"
}

# Prints the size of a wasm file, raw and gzipped.
report_size() {
    [[ -f "$1" ]] || die "expected artifact $1 was not produced"
    say "$1: $(stat -c %s "$1") bytes, $(gzip -9 -c "$1" | wc -c) gzipped"
}

build_component() {
    cargo_build tollgate-component component
    local core="$target_dir/$TARGET/component/tollgate_component.wasm" hook
    report_size "$core"
    # HOOK: turning the core module into a component. When a script scripts/componentize (or
    # scripts/componentize.sh) exists and is executable, it runs with the core module's path as
    # its argument. Until then the host's build produces the component itself.
    for hook in scripts/componentize scripts/componentize.sh; do
        if [[ -x "$hook" ]]; then
            say "$hook $core"
            "$hook" "$core"
            break
        fi
    done
}

build_js() {
    cargo_build tollgate-js wasm
    local module="$target_dir/$TARGET/wasm/tollgate_js.wasm"
    local want have entry bindgen_target dir module_out
    report_size "$module"
    want="$(sed -n 's/^wasm-bindgen = "=\([0-9][0-9.]*\)".*/\1/p' Cargo.toml)"
    have="$(wasm-bindgen --version 2>/dev/null || true)"
    [[ "$have" == "wasm-bindgen $want" ]] ||
        die "need wasm-bindgen $want (the crate pin), found '${have:-none}': run scripts/setup.sh"
    for entry in "${BINDGEN_OUTPUTS[@]}"; do
        read -r bindgen_target dir <<<"$entry"
        say "wasm-bindgen --target $bindgen_target --out-dir $dir"
        wasm-bindgen --target "$bindgen_target" --out-dir "$dir" "$module"
        for module_out in "$dir"/*_bg.wasm; do
            report_size "$module_out"
        done
    done
}

build_envoy() {
    cargo_build tollgate-envoy wasm
    report_size "$target_dir/$TARGET/wasm/tollgate_envoy.wasm"
}

shims=("$@")
[[ ${#shims[@]} -gt 0 ]] || shims=(component js envoy)
started=$SECONDS
for shim in "${shims[@]}"; do
    case "$shim" in
        component) build_component ;;
        js) build_js ;;
        envoy) build_envoy ;;
        *) die "unknown shim '$shim' (expected component, js or envoy)" ;;
    esac
done
say "built ${shims[*]} in $((SECONDS - started))s"

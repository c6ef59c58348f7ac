#!/usr/bin/env bash
# Runs every check Tollgate has, in order, and stops at the first that fails:
#
#   1. scripts/setup.sh        installs what is missing (fast when everything is present)
#   2. shellcheck              the scripts themselves
#   3. cargo fmt --check, and no module that imports, directly or through others, one that
#      imports it back (scripts/check-cycles.py)
#   4. cargo clippy            every crate and target, warnings are errors; then the component, JS
#                              and Envoy shims again for wasm32 (code only the wasm build has)
#   5. cargo test              the native tests (the bench crate is linted above, built by `cargo bench`)
#   6. scripts/build-wasm.sh   the component, JS and Envoy shims for wasm32
#   7. tests/e2e/*.sh          every executable end-to-end suite, each on its own
#
# This is the command CI runs (.ci/run). A cold run (fresh clone, empty target dir) must finish
# well inside 45 minutes on the project's 2-core machine; each phase prints its time.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# In CI every build is cold: incremental compilation only costs time there.
if [[ "${CI:-}" == true ]]; then
    export CARGO_INCREMENTAL=0
fi

started=$SECONDS

phase() {
    local name="$1" phase_started=$SECONDS
    shift
    printf '\n==> %s\n' "$name"
    "$@"
    printf '==> %s: ok in %ss\n' "$name" "$((SECONDS - phase_started))"
}

elapsed() {
    local s=$((SECONDS - started))
    printf '%dm%02ds' $((s / 60)) $((s % 60))
}

# Reports where the run stopped, so a red CI log says which phase failed without scrolling.
on_exit() {
    local status=$?
    if [[ $status -ne 0 ]]; then
        printf '\ntest.sh: FAILED (exit %s) after %s\n' "$status" "$(elapsed)" >&2
    fi
}
trap on_exit EXIT

lint_scripts() {
    shopt -s nullglob
    local scripts=(scripts/*.sh .ci/run tests/e2e/*.sh fuzz/*.sh bench/*.sh examples/*/*.sh)
    shopt -u nullglob
    shellcheck -x "${scripts[@]}"
}

# Clippy for wasm32-unknown-unknown over the shims, so that code only the wasm build compiles
# (`cfg(target_arch = "wasm32")`, such as Envoy's `mod entry`) is linted too. A subshell: the
# exports of wasm-env.sh stay in it. Needs the rustup wasm32 target: the Debian fallback compiles
# with Debian's rustc and builds std from source (-Zbuild-std), and rustup's clippy-driver is a
# different compiler that cannot take its place there.
clippy_wasm() (
    # shellcheck source=scripts/wasm-env.sh
    source scripts/wasm-env.sh
    if [[ "$TOLLGATE_WASM_TOOLCHAIN" != rustup ]]; then
        printf 'clippy wasm32: SKIPPED: wasm builds use the %s fallback, which clippy cannot %s\n' \
            "$TOLLGATE_WASM_TOOLCHAIN" 'use; add the rustup wasm32-unknown-unknown target to lint'
        return 0
    fi
    cargo clippy -p tollgate-component -p tollgate-js -p tollgate-envoy \
        --target wasm32-unknown-unknown -- -D warnings
)

e2e_suites() {
    local suite failed=() ran=0
    shopt -s nullglob
    for suite in tests/e2e/*.sh; do
        if [[ ! -x "$suite" ]]; then
            printf 'e2e: skipping %s: not executable (chmod +x it if it is a suite)\n' "$suite"
            continue
        fi
        printf '\n--- e2e: %s\n' "$suite"
        ran=$((ran + 1))
        if ! "$suite" </dev/null; then
            failed+=("$suite")
            printf -- '--- e2e: %s FAILED\n' "$suite" >&2
        fi
    done
    shopt -u nullglob
    printf 'e2e: %d suite(s) run, %d failed\n' "$ran" "${#failed[@]}"
    if [[ ${#failed[@]} -gt 0 ]]; then
        printf 'e2e: failed: %s\n' "${failed[*]}" >&2
        return 1
    fi
}

phase "setup" bash scripts/setup.sh
phase "shellcheck" lint_scripts
phase "cargo fmt --check" cargo fmt --all --check
phase "module cycles" python3 scripts/check-cycles.py engine/src host/src envoy/src
phase "cargo clippy" cargo clippy --workspace --all-targets -- -D warnings
phase "cargo clippy wasm32" clippy_wasm
phase "cargo test" cargo test --workspace --exclude tollgate-bench
phase "wasm builds" bash scripts/build-wasm.sh
phase "end-to-end suites" e2e_suites

printf '\ntest.sh: every check passed in %s\n' "$(elapsed)"

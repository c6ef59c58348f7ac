# shellcheck shell=bash
# Sourced (not run) by the scripts that build for wasm32-unknown-unknown. Picks the toolchain:
#
#   rustup            the rustup toolchain has the wasm32-unknown-unknown target (the normal case).
#   debian-rustc-web  the fallback that scripts/setup.sh installs when rustup cannot download the
#                     target: Debian's rustc-web 1.96 with rust-web-src, building std for wasm32
#                     with -Zbuild-std and linking with wasm-ld-22 (../shared/TOOLCHAIN.md).
#
# Sets TOLLGATE_WASM_TOOLCHAIN and the array WASM_CARGO_ARGS (extra `cargo build` arguments), and
# in the fallback exports RUSTC, RUSTC_BOOTSTRAP and the wasm32 linker. Source it in a script or a
# subshell: the exports would otherwise change the host builds of the calling shell too.
#
# TOLLGATE_WASM_FALLBACK=1 forces the fallback.

# shellcheck disable=SC2034 # read by the script that sources this file
WASM_CARGO_ARGS=()

if [[ "${TOLLGATE_WASM_FALLBACK:-0}" != 1 ]] &&
    command -v rustup >/dev/null &&
    rustup target list --installed 2>/dev/null | grep -qxF wasm32-unknown-unknown; then
    TOLLGATE_WASM_TOOLCHAIN=rustup
elif [[ "$(dpkg-query -W -f='${db:Status-Status}' rustc-web 2>/dev/null)" == installed &&
    -d /usr/lib/rustlib/src/rust/library ]] &&
    command -v wasm-ld-22 >/dev/null; then
    TOLLGATE_WASM_TOOLCHAIN=debian-rustc-web
    # rustup's cargo drives Debian's rustc; RUSTC_BOOTSTRAP lets both accept -Z flags.
    export RUSTC=/usr/bin/rustc
    export RUSTC_BOOTSTRAP=1
    export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-22
    WASM_CARGO_ARGS=("-Zbuild-std=std,panic_abort")
else
    printf 'wasm-env: no wasm32-unknown-unknown toolchain: neither the rustup target nor the %s\n' \
        'Debian rustc-web fallback is installed; run scripts/setup.sh' >&2
    return 1
fi
export TOLLGATE_WASM_TOOLCHAIN

#!/usr/bin/env bash
# Installs everything Tollgate's build and tests need, on a Debian 12 machine with rustup.
#
# Idempotent: every step checks first and installs only what is missing, so a second run takes
# seconds and installs nothing. Both README commands (scripts/quickstart.sh, scripts/test.sh) call
# it. To add a dependency, add one line to the lists below.
#
# Environment:
#   TOLLGATE_WASM_FALLBACK=1   take the Debian rustc-web path even if rustup could add the targets
#                              (to exercise the fallback; see scripts/wasm-env.sh)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# ---------------------------------------------------------------------------------------------
# What to install. One entry per line.

# Debian packages.
APT_PACKAGES=(
    build-essential
    chromium
    # tests/e2e/replicas.sh and examples/replicas: the load balancer in front of the replicas
    # (started by the test on 127.0.0.1 with its own configuration, never as the system service).
    nginx
    pkg-config
    # The PostgreSQL store's tests start throwaway clusters with its initdb and pg_ctl.
    postgresql
    shellcheck
)

# rustup targets and components of the active toolchain.
RUST_TARGETS=(
    wasm32-unknown-unknown
    wasm32-wasip2
)
RUST_COMPONENTS=(
    clippy
    rustfmt
)

# Cargo-installed tools: "crate version binary". wasm-bindgen-cli must equal the wasm-bindgen
# crate version exactly, so its version is read from the pin in the root Cargo.toml.
WASM_BINDGEN_VERSION="$(sed -n 's/^wasm-bindgen = "=\([0-9][0-9.]*\)".*/\1/p' Cargo.toml)"
CARGO_TOOLS=(
    "wasm-bindgen-cli ${WASM_BINDGEN_VERSION} wasm-bindgen"
)

# PyPI packages, as name==version.
PIP_PACKAGES=(
    # tests/e2e/admin-openapi.sh: the admin API against its OpenAPI document.
    "schemathesis==4.32.5"
)

# Folders with a package.json and a committed package-lock.json: `npm ci` runs there when
# node_modules is missing or older than the lock file.
NPM_DIRS=(
    examples/mcp-server
    js
    tests/e2e/console
    tests/e2e/mcp
    tests/e2e/replicas
    tests/e2e/server
    tests/e2e/vault
)

# The fallback when rustup cannot download the wasm targets: Debian's rustc 1.96 with its std
# sources, building std for wasm32 with -Zbuild-std (see ../shared/TOOLCHAIN.md and wasm-env.sh).
FALLBACK_APT_PACKAGES=(
    lld-22
    rust-web-src
    rustc-web
)

# ---------------------------------------------------------------------------------------------

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# Runs one step and reports how long it took.
step() {
    local name="$1" started=$SECONDS
    shift
    "$@"
    say "$name: done in $((SECONDS - started))s"
}

[[ -n "$WASM_BINDGEN_VERSION" ]] ||
    die 'cannot read the wasm-bindgen pin (wasm-bindgen = "=X.Y.Z") from Cargo.toml'

SUDO=()
if [[ $EUID -ne 0 ]]; then
    if command -v sudo >/dev/null; then
        # -n: CI has no stdin, so never wait for a password prompt.
        SUDO=(sudo -n)
    fi
fi

APT_UPDATED=0
apt_is_installed() {
    [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == installed ]]
}

# Installs the given Debian packages that are not installed yet; runs `apt-get update` at most
# once per run, and only when something is missing.
apt_install() {
    local missing=() pkg
    for pkg in "$@"; do
        apt_is_installed "$pkg" || missing+=("$pkg")
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        say "apt: already installed: $*"
        return 0
    fi
    command -v apt-get >/dev/null || die "apt-get not found; install by hand: ${missing[*]}"
    if [[ $EUID -ne 0 && ${#SUDO[@]} -eq 0 ]]; then
        die "not root and no sudo; install by hand: ${missing[*]}"
    fi
    if [[ $APT_UPDATED -eq 0 ]]; then
        say "apt: apt-get update"
        "${SUDO[@]}" apt-get update -qq
        APT_UPDATED=1
    fi
    say "apt: installing ${missing[*]}"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
}

apt_packages() {
    apt_install "${APT_PACKAGES[@]}"
}

rust_components() {
    command -v rustup >/dev/null || { say "rustup: not found, skipping components"; return 0; }
    local installed missing=() c
    installed="$(rustup component list --installed)"
    for c in "${RUST_COMPONENTS[@]}"; do
        grep -q "^${c}-" <<<"$installed" || missing+=("$c")
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        say "rustup: components already installed: ${RUST_COMPONENTS[*]}"
        return 0
    fi
    rustup component add "${missing[@]}"
}

# rustup targets, or the Debian rustc-web fallback when rustup cannot download them.
rust_targets() {
    local missing=() t installed=""
    if command -v rustup >/dev/null; then
        installed="$(rustup target list --installed)"
    fi
    for t in "${RUST_TARGETS[@]}"; do
        grep -qxF "$t" <<<"$installed" || missing+=("$t")
    done

    if [[ "${TOLLGATE_WASM_FALLBACK:-0}" == 1 ]]; then
        say "rustup: TOLLGATE_WASM_FALLBACK=1, using the Debian rustc-web fallback"
        apt_install "${FALLBACK_APT_PACKAGES[@]}"
        return 0
    fi
    if [[ ${#missing[@]} -eq 0 ]]; then
        say "rustup: targets already installed: ${RUST_TARGETS[*]}"
        return 0
    fi
    if command -v rustup >/dev/null && timeout 600 rustup target add "${missing[@]}"; then
        return 0
    fi
    say "rustup could not add ${missing[*]}; falling back to Debian rustc-web with -Zbuild-std"
    apt_install "${FALLBACK_APT_PACKAGES[@]}"
}

cargo_tools() {
    local entry crate version bin
    for entry in "${CARGO_TOOLS[@]}"; do
        read -r crate version bin <<<"$entry"
        # `wasm-bindgen --version` prints "wasm-bindgen 0.2.130"; most tools print "NAME VERSION".
        if command -v "$bin" >/dev/null &&
            "$bin" --version 2>/dev/null | grep -qwF -- "$version"; then
            say "cargo: $crate $version already installed"
            continue
        fi
        say "cargo: installing $crate $version"
        # No --locked: for wasm-bindgen-cli 0.2.130 the lock file pins a webpki-roots version
        # that is missing from the index (../shared/TOOLCHAIN.md); the unlocked install works.
        cargo install --quiet "$crate" --version "$version"
    done
}

pip_packages() {
    if [[ ${#PIP_PACKAGES[@]} -eq 0 ]]; then
        say "pip: nothing listed"
        return 0
    fi
    local spec name version missing=()
    for spec in "${PIP_PACKAGES[@]}"; do
        name="${spec%%==*}"
        version="${spec#*==}"
        # grep without -q reads all of pip's output, so pip never dies of SIGPIPE (pipefail).
        python3 -m pip show "$name" 2>/dev/null | grep -xF "Version: $version" >/dev/null ||
            missing+=("$spec")
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        say "pip: already installed: ${PIP_PACKAGES[*]}"
        return 0
    fi
    python3 -m pip install --quiet --disable-pip-version-check "${missing[@]}"
}

npm_packages() {
    local dir
    for dir in "${NPM_DIRS[@]}"; do
        [[ -f "$dir/package.json" ]] || continue
        if [[ ! -f "$dir/package-lock.json" ]]; then
            die "$dir/package.json has no package-lock.json: run npm install there and commit the lock"
        fi
        # npm ci writes node_modules/.package-lock.json; a newer lock file means it is stale.
        if [[ -f "$dir/node_modules/.package-lock.json" &&
            ! "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]]; then
            say "npm: $dir/node_modules up to date"
            continue
        fi
        say "npm: npm ci in $dir"
        # `npm ci` refuses a lock that lacks optional packages for other platforms (workerd's
        # darwin and windows builds are not in every registry mirror). `npm install` installs
        # the same pinned versions from the lock and skips what this platform does not need.
        if ! (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error </dev/null); then
            say "npm: npm ci refused the lock in $dir; installing from it with npm install"
            (cd "$dir" && npm install --no-audit --no-fund --loglevel=error </dev/null)
            git checkout -- "$dir/package-lock.json" 2>/dev/null || true
        fi
    done
}

started=$SECONDS
step "apt packages" apt_packages
step "rust components" rust_components
step "rust targets" rust_targets
step "cargo tools" cargo_tools
step "pip packages" pip_packages
step "npm packages" npm_packages
say "all set in $((SECONDS - started))s"

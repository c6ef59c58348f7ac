#!/usr/bin/env bash
# End-to-end suite of the admin API against its own OpenAPI document: schemathesis (PyPI) reads
# GET /admin/openapi.json from a live `tollgate serve` and sends generated requests, valid and
# invalid, to every operation with the admin bearer token.
#
#   1. installs schemathesis from PyPI when it is missing (the pin is in scripts/setup.sh, which
#      installs it too);
#   2. builds the `tollgate` binary (debug);
#   3. writes a temporary configuration (a client, users, resources, connections of each kind and
#      policies, all declared by the file, so 409 is reachable; a vault key file, so credentials
#      are) and starts `tollgate serve` on 127.0.0.1:<free port> with a temporary SQLite store;
#   4. runs `schemathesis run` with the checks below and a bounded number of examples per
#      operation (about a minute on the project's 2-core machine);
#   5. fails on any schemathesis failure, and on any 5xx answer or panic in the server's log;
#   6. stops the server by PID (trap) and prints "N passed, M failed".
#
# Set TOLLGATE_E2E_KEEP=1 to keep the temporary directory (config, server log, JUnit report).
# Set TOLLGATE_E2E_EXAMPLES=N to change the number of examples per operation (default 40).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

SCHEMATHESIS_VERSION="$(sed -n 's/^ *"schemathesis==\([0-9.]*\)".*/\1/p' scripts/setup.sh)"
EXAMPLES="${TOLLGATE_E2E_EXAMPLES:-40}"
CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance
TOKEN="e2e-admin-token-$$"

say() { printf 'e2e/admin-openapi: %s\n' "$*"; }
die() { printf 'e2e/admin-openapi: error: %s\n' "$*" >&2; exit 1; }
# shellcheck source=tests/e2e/lib/server.sh
source tests/e2e/lib/server.sh

[[ -n "$SCHEMATHESIS_VERSION" ]] || die 'cannot read the schemathesis pin from scripts/setup.sh'

# (grep reads all of pip's output: with -q it could stop early and fail the pipeline with SIGPIPE.)
if ! python3 -m pip show schemathesis 2>/dev/null | grep -xF "Version: $SCHEMATHESIS_VERSION" >/dev/null; then
    say "installing schemathesis==$SCHEMATHESIS_VERSION"
    python3 -m pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
schemathesis=(python3 -m schemathesis.cli)
"${schemathesis[@]}" --version >/dev/null 2>&1 || schemathesis=(schemathesis)
say "$("${schemathesis[@]}" --version)"

build_tollgate
temp_dir_until_exit admin "config, server.log, junit.xml"

# A free loopback port: bind port 0, read what the kernel chose, release it.
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:${port}"

cat >"$tmp/tollgate.yaml" <<EOF
# Written by tests/e2e/admin-openapi.sh for one run.
issuer: "${base}"
listen: "127.0.0.1:${port}"
store: "sqlite://${tmp}/tollgate.db"
vault: { keyFile: "${tmp}/vault.key" }

clients:
  - clientId: worker
    secret: worker-secret
    grantTypes: [client_credentials]

users:
  - { sub: u-1, username: ann, password: ann-password, roles: [analyst], tenantIds: [t-1] }

resources:
  - { id: orders-api, audience: "https://orders.e2e.example", kind: api, scopes: ["orders:read"] }

connections:
  - { id: slack, kind: api_key }
  - { id: calendar, kind: oauth, scopes: ["calendar.read"],
      provider: { tokenEndpoint: "https://provider.e2e.example/token", clientId: tollgate } }

policies:
  - id: workers-read
    subject: { clients: [worker] }
    grantTypes: [client_credentials]
    targets: [ { resource: orders-api, scopes: ["orders:read"] } ]
EOF

say "starting $tollgate serve on $base"
TOLLGATE_ADMIN_TOKEN="$TOKEN" TOLLGATE_LOG="info,tollgate::admin=debug" \
    "$tollgate" serve --config "$tmp/tollgate.yaml" --engine component >"$tmp/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 200); do
    grep -q '^tollgate: serving ' "$tmp/server.log" && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$tmp/server.log" >&2; die "the server exited"; }
    sleep 0.1
done
grep -q '^tollgate: serving ' "$tmp/server.log" || { cat "$tmp/server.log" >&2; die "the server did not start in 20 s"; }

say "schemathesis: $EXAMPLES examples per operation; checks $CHECKS"
status=0
# From the temporary directory: schemathesis keeps a cache (.schemathesis/) where it runs.
(cd "$tmp" && "${schemathesis[@]}" run "$base/admin/openapi.json" \
    --header "Authorization: Bearer $TOKEN" \
    --checks "$CHECKS" \
    --max-examples "$EXAMPLES" \
    --seed 21 \
    --workers 2 \
    --request-timeout 30 \
    --suppress-health-check too_slow,filter_too_much \
    --report junit --report-junit-path "$tmp/junit.xml" \
    --output-truncate false) || status=$?

# The server's own word: no 5xx answer and no panic, whatever schemathesis made of them. (Escape
# sequences are stripped in case the log was written in colour.)
sed 's/\x1b\[[0-9;]*m//g' "$tmp/server.log" >"$tmp/server.txt"
answers="$(grep -c 'admin answer' "$tmp/server.txt" || true)"
say "the server answered $answers admin request(s)"
if [[ "$answers" -eq 0 ]]; then
    say "the server log has no admin answers: the 5xx check below would see nothing"
    status=1
fi
server_errors="$(grep -cE 'status=5[0-9]{2}|panicked' "$tmp/server.txt" || true)"
if [[ "$server_errors" -gt 0 ]]; then
    say "the server log has $server_errors server error(s) or panic(s):"
    grep -E 'status=5[0-9]{2}|panicked' "$tmp/server.txt" | head -n 20 | sed 's/^/    /' >&2
    status=1
fi

junit="$tmp/junit.xml"
passed=0
failed=1
if [[ -f "$junit" ]]; then
    read -r tests failures errors < <(python3 - "$junit" <<'PY'
import sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
total = sum(int(s.get("tests", 0)) for s in suites)
failures = sum(int(s.get("failures", 0)) for s in suites)
errors = sum(int(s.get("errors", 0)) for s in suites)
print(total, failures, errors)
PY
    )
    failed=$((failures + errors))
    passed=$((tests - failed))
fi
if [[ $status -ne 0 && $failed -eq 0 ]]; then
    failed=1
fi
printf '%s passed, %s failed\n' "$passed" "$failed"
[[ $status -eq 0 ]]

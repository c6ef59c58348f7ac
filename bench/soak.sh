#!/usr/bin/env bash
# Soak run of two replicas on PostgreSQL (BENCHMARKS.md section 8): two `tollgate serve` on one
# throwaway PostgreSQL cluster (Debian's) behind nginx (Debian's), all on 127.0.0.1.
#
#   1. measures the maximum client_credentials rate through nginx (wrk -t1 -c32, 10 s);
#   2. runs MINUTES (default 10) of client_credentials at FRACTION (default 0.8) of it, paced by
#      wrk's per-connection delay, while a policy is created or deleted every CHANGE_EVERY seconds
#      (default 3) through each replica's admin API in turn;
#   3. checks: no failed token request and no failed change; each replica's resident memory
#      (sampled every 10 s) stays within 10 % after the first WARMUP_MINUTES (default 2); every
#      token issued in the run has its `token_issued` event in the database's audit trail.
#
# Run by hand (not part of scripts/test.sh): bench/soak.sh, or MINUTES=1 bench/soak.sh for a short
# look. TOLLGATE_BIN names a release binary to use instead of building this checkout.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

MINUTES="${MINUTES:-10}"
FRACTION="${FRACTION:-0.8}"
CHANGE_EVERY="${CHANGE_EVERY:-3}"
WARMUP_MINUTES="${WARMUP_MINUTES:-2}"
ADMIN_TOKEN="soak-admin-$$"

say() { printf 'soak: %s\n' "$*" >&2; }
die() { printf 'soak: error: %s\n' "$*" >&2; exit 1; }

command -v wrk >/dev/null || die "wrk is not installed (bench/token-endpoint.sh installs it)"
[[ -x /usr/sbin/nginx ]] || die "no nginx (scripts/setup.sh installs it)"
if [[ -n "${TOLLGATE_BIN:-}" ]]; then
    tollgate="$TOLLGATE_BIN"
else
    say "cargo build --release -p tollgate --bin tollgate"
    cargo build --quiet --release -p tollgate --bin tollgate
    target_dir="$(cargo metadata --no-deps --format-version 1 |
        sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
    tollgate="${target_dir:-target}/release/tollgate"
fi
[[ -x "$tollgate" ]] || die "no binary at $tollgate"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/tollgate-soak.XXXXXX")"
pids=()
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
    stop_all
    if [[ "${TOLLGATE_SOAK_KEEP:-0}" == 1 ]]; then say "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=bench/lib.sh
source bench/lib.sh

start_postgres
url="$(new_database soak)"
lb_port="$(free_port)"
replica_ports=()
replica_pids=()
for n in 1 2; do
    port="$(free_port)"
    replica_ports+=("$port")
    cat >"$tmp/tollgate-$n.yaml" <<EOF
issuer: "http://127.0.0.1:${lb_port}"
listen: "127.0.0.1:${port}"
store: "${url}"
tokens: { accessTokenTtl: 600, signingAlgorithm: ES256 }
clients:
  - clientId: soak-worker
    secret: soak-worker-secret
    grantTypes: [client_credentials]
    tags: [internal]
resources:
  - { id: orders-api, audience: "https://orders.soak.example", kind: api,
      scopes: ["orders:read", "orders:write"] }
policies:
  - id: worker-orders
    subject:
      clients: [soak-worker]
      conditions: [ { key: client.tags, op: contains, value: internal } ]
    grantTypes: [client_credentials]
    targets: [ { resource: orders-api, scopes: ["orders:read"] } ]
EOF
    TOLLGATE_ADMIN_TOKEN="$ADMIN_TOKEN" TOLLGATE_LOG=warn \
        "$tollgate" serve --config "$tmp/tollgate-$n.yaml" >"$tmp/tollgate-$n.log" 2>&1 &
    replica_pids+=("$!")
    pids+=("$!")
    wait_ready "$!" "$tmp/tollgate-$n.log" '^tollgate: serving'
done
start_nginx "$lb_port" "${replica_ports[@]}"
pids+=("$nginx_pid")
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$lb_port/healthz" >/dev/null && break; sleep 0.1; done
token_url="http://127.0.0.1:$lb_port/token"
lua_post "$tmp/cc.lua" "grant_type=client_credentials&scope=orders%3Aread&resource=https%3A%2F%2Forders.soak.example" \
    "$(basic soak-worker soak-worker-secret)"
say "two replicas (pids ${replica_pids[*]}) on PostgreSQL behind nginx at $token_url"

audit_count() {
    psql -h 127.0.0.1 -p "$pg_port" -U tollgate -d bench_soak -tAc \
        "SELECT count(*) FROM audit WHERE event = 'token_issued'"
}

say "measuring the maximum rate (10 s)"
wrk -t1 -c32 -d3s -s "$tmp/cc.lua" "$token_url" >/dev/null
max_rps="$(wrk -t1 -c32 -d10s -s "$tmp/cc.lua" "$token_url" | awk '/^Requests\/sec:/ { printf "%d", $2 }')"
target="$(awk -v m="$max_rps" -v f="$FRACTION" 'BEGIN { printf "%d", m * f }')"
# Each connection waits `delay` ms before its next request: connections * 1000 / delay ≈ target,
# with at least 4 ms of delay so that the pacing is not lost in rounding.
connections="$(awk -v t="$target" 'BEGIN { c = int(t * 4 / 1000) + 1; print (c < 8 ? 8 : c) }')"
delay="$(awk -v t="$target" -v c="$connections" 'BEGIN { printf "%d", c * 1000 / t }')"
cat "$tmp/cc.lua" >"$tmp/paced.lua"
printf 'function delay() return %s end\n' "$delay" >>"$tmp/paced.lua"
# Each request's own latency adds to the delay: measure the paced rate for 10 s and scale the
# connections to the target, twice.
for _ in 1 2; do
    paced="$(wrk -t1 -c"$connections" -d10s -s "$tmp/paced.lua" "$token_url" | awk '/^Requests\/sec:/ { printf "%d", $2 }')"
    say "$connections connections, ${delay} ms apart: $paced req/s"
    connections="$(awk -v c="$connections" -v t="$target" -v p="$paced" 'BEGIN { printf "%d", c * t / p + 0.5 }')"
done
say "maximum $max_rps req/s; soak at about $target req/s: $connections connections, ${delay} ms apart"

# Resident memory of each replica every 10 s.
(
    while true; do
        line="$(date +%s)"
        for pid in "${replica_pids[@]}"; do
            line+=" $(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)"
        done
        printf '%s\n' "$line" >>"$tmp/rss.txt"
        sleep 10
    done
) &
pids+=("$!")

# A policy change every CHANGE_EVERY seconds, through each replica in turn.
(
    i=0
    while true; do
        port="${replica_ports[$((i % 2))]}"
        if ((i % 2 == 0)); then
            status="$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $ADMIN_TOKEN" \
                -H 'Content-Type: application/json' "http://127.0.0.1:$port/admin/policies" \
                --data '{"id":"soak-toggle","subject":{"clients":["soak-worker"]},"grantTypes":["client_credentials"],"targets":[{"resource":"orders-api","scopes":["orders:write"]}]}')"
            expected=201
        else
            status="$(curl -s -o /dev/null -w '%{http_code}' -X DELETE -H "Authorization: Bearer $ADMIN_TOKEN" \
                "http://127.0.0.1:$port/admin/policies/soak-toggle")"
            expected=204
        fi
        printf '%s %s %s\n' "$i" "$status" "$expected" >>"$tmp/changes.txt"
        i=$((i + 1))
        sleep "$CHANGE_EVERY"
    done
) &
pids+=("$!")

# The calibration's own events first: wait until the count stops moving.
before="$(audit_count)"
for _ in $(seq 1 30); do
    sleep 1
    now_count="$(audit_count)"
    [[ "$now_count" == "$before" ]] && break
    before="$now_count"
done
say "running ${MINUTES} min of paced load"
report="$(wrk -t1 -c"$connections" -d"$((MINUTES * 60))s" --latency -s "$tmp/paced.lua" "$token_url")"
printf '%s\n' "$report" >&2
requests="$(awk '/requests in/ { print $1 }' <<<"$report")"
rps="$(awk '/^Requests\/sec:/ { printf "%d", $2 }' <<<"$report")"
non2xx="$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$report")"
socket="$(sed -n 's/.*Socket errors: connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\).*/\1 \2 \3 \4/p' <<<"$report" |
    awk '{ print $1 + $2 + $3 + $4 }')"
errors=$((${non2xx:-0} + ${socket:-0}))

# The audit writers are asynchronous: give them until the counts match, at most 60 s.
issued=0
for _ in $(seq 1 60); do
    issued=$(($(audit_count) - before))
    ((issued >= requests)) && break
    sleep 1
done
changes="$(wc -l <"$tmp/changes.txt")"
failed_changes="$(awk '$2 != $3' "$tmp/changes.txt" | wc -l)"
# Resident memory after warm-up: for each replica, (max - min) / min of the samples.
rss_spread="$(awk -v warm="$((WARMUP_MINUTES * 60))" '
    NR == 1 { start = $1 }
    $1 - start >= warm {
        for (i = 2; i <= NF; i++) {
            if (!(i in min) || $i < min[i]) min[i] = $i
            if ($i > max[i]) max[i] = $i
        }
    }
    END {
        out = ""
        for (i in min) out = out sprintf("%s%d-%d KiB (%.1f %%)", out == "" ? "" : ", ", min[i], max[i], 100 * (max[i] - min[i]) / min[i])
        print out
    }' "$tmp/rss.txt")"
flat="$(awk -v warm="$((WARMUP_MINUTES * 60))" '
    NR == 1 { start = $1 }
    $1 - start >= warm { for (i = 2; i <= NF; i++) { if (!(i in min) || $i < min[i]) min[i] = $i; if ($i > max[i]) max[i] = $i } }
    END { ok = 1; for (i in min) if (max[i] > min[i] * 1.10) ok = 0; print ok }' "$tmp/rss.txt")"

printf '\n| soak | value |\n| --- | --- |\n'
printf '| maximum rate (wrk -t1 -c32, 10 s) | %s req/s |\n' "$max_rps"
printf '| soak rate, %s min | %s req/s (%s requests) |\n' "$MINUTES" "$rps" "$requests"
printf '| latency p50 / p99 | %s / %s |\n' "$(awk '$1 == "50%" { print $2 }' <<<"$report")" "$(awk '$1 == "99%" { print $2 }' <<<"$report")"
printf '| failed token requests | %s |\n' "$errors"
printf '| policy changes (failed) | %s (%s) |\n' "$changes" "$failed_changes"
printf '| token_issued events in the store for the run | %s |\n' "$issued"
printf '| resident memory after %s min, per replica (spread) | %s |\n' "$WARMUP_MINUTES" "$rss_spread"

status=0
((errors == 0)) || { say "FAIL: $errors token requests failed"; status=1; }
((failed_changes == 0)) || { say "FAIL: $failed_changes policy changes failed"; status=1; }
# wrk counts the requests answered before its time was up; those still in flight then (one per
# connection at most) were answered, and audited, after it stopped counting.
((issued >= requests && issued <= requests + connections)) ||
    { say "FAIL: $issued token_issued events for $requests tokens"; status=1; }
[[ "$flat" == 1 ]] || { say "FAIL: resident memory grew more than 10 % after warm-up"; status=1; }
exit "$status"

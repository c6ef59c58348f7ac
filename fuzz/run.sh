#!/usr/bin/env bash
# Builds the fuzz targets of fuzz/ and runs them, all at once, each for the same time.
#
# Usage: fuzz/run.sh [MINUTES] [TARGET]...   (default: 30 minutes, every target)
#
# Installs what it needs (the nightly toolchain and cargo-fuzz) when missing. The targets link
# the server crate, whose build embeds the engine component; a nightly build cannot make the
# component (nightly has no wasm32 target here), so the component is built first with the
# workspace's stable toolchain (scripts/build-wasm.sh, then xtask componentize) and handed to the
# fuzz build through TOLLGATE_COMPONENT (host/build.rs).
#
# The fuzzers run at nice 19, so that a build started meanwhile takes precedence; libFuzzer's
# final statistics (executions, coverage) go to fuzz/logs/TARGET.log, new corpus entries to
# fuzz/corpus/TARGET and any crash input to fuzz/artifacts/TARGET/. Exits non-zero when a target
# found a crash.
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=${1:-30}
shift || true
all=(token_form client_auth cimd_document envoy_jwt envoy_jwks envoy_headers)
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${all[@]}")

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz > /dev/null || cargo install cargo-fuzz --version 0.13.2 --locked

bash scripts/build-wasm.sh component
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
component="$target_dir/fuzz-component.wasm"
cargo run --quiet -p xtask -- componentize \
    "$target_dir/wasm32-unknown-unknown/component/tollgate_component.wasm" "$component"

for target in "${targets[@]}"; do
    TOLLGATE_COMPONENT="$component" cargo +nightly fuzz build --fuzz-dir fuzz -O "$target"
done

mkdir -p fuzz/logs
pids=()
for target in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$target" "fuzz/artifacts/$target"
    nice -n 19 "fuzz/target/x86_64-unknown-linux-gnu/release/$target" "fuzz/corpus/$target" \
        -artifact_prefix="fuzz/artifacts/$target/" -max_total_time=$((minutes * 60)) \
        -print_final_stats=1 -rss_limit_mb=2048 -timeout=10 > "fuzz/logs/$target.log" 2>&1 &
    pids+=($!)
done
failed=0
for i in "${!targets[@]}"; do
    if ! wait "${pids[$i]}"; then
        printf '%s: found a crash, see fuzz/logs/%s.log and fuzz/artifacts/%s/\n' \
            "${targets[$i]}" "${targets[$i]}" "${targets[$i]}"
        failed=1
    fi
done
printf '%-14s %14s %8s %8s\n' target executions seconds coverage
for target in "${targets[@]}"; do
    log="fuzz/logs/$target.log"
    printf '%-14s %14s %8s %8s\n' "$target" \
        "$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")" \
        "$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log")" \
        "$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)"
done
exit "$failed"

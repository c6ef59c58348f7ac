# shellcheck shell=bash
# Shared by the end-to-end suites that start `tollgate serve` (sourced, not run: scripts/test.sh
# runs only the executable tests/e2e/*.sh). The suite defines `say` and `die` first.

# build_tollgate: builds the debug server binary and sets `tollgate` to its path.
build_tollgate() {
    local target_dir
    say "cargo build -p tollgate --bin tollgate"
    cargo build --quiet -p tollgate --bin tollgate
    target_dir="$(cargo metadata --no-deps --format-version 1 |
        sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
    tollgate="${target_dir:-target}/debug/tollgate"
    [[ -x "$tollgate" ]] || die "no binary at $tollgate"
}

# temp_dir_until_exit NAME WHAT: sets `tmp` to a new temporary directory and `server_pid` to
# empty; on exit the server whose PID the suite put in `server_pid` is stopped, and the directory
# removed, or kept (saying that WHAT is in it) when the suite failed or TOLLGATE_E2E_KEEP=1.
temp_dir_until_exit() {
    tmp="$(mktemp -d "${TMPDIR:-/tmp}/tollgate-e2e-$1.XXXXXX")"
    server_pid=""
    kept_files="$2"
    trap stop_and_clean EXIT
    trap 'exit 130' INT TERM
}

stop_and_clean() {
    local status=$?
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [[ "${TOLLGATE_E2E_KEEP:-0}" == 1 || $status -ne 0 ]]; then
        say "kept $tmp ($kept_files)"
    else
        rm -rf "$tmp"
    fi
}

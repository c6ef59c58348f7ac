#!/usr/bin/env bash
# Starts three `tollgate serve` replicas on one PostgreSQL behind nginx, everything on 127.0.0.1
# (examples/replicas/README.md), and stops everything it started, by PID, on Ctrl-C.
#
#   1. installs what is missing (scripts/setup.sh) and builds the `tollgate` binary, as
#      scripts/quickstart.sh does; with TOLLGATE_BIN set it does neither and uses that binary;
#   2. makes a throwaway PostgreSQL cluster (initdb, pg_ctl; as the `postgres` user when run as
#      root) with a database `tollgate`;
#   3. writes one configuration per replica (examples/replicas/tollgate.yaml after issuer, listen,
#      store and auditLog) and starts replica a, then b and c;
#   4. starts nginx in front of them and writes `env` (the URLs and the admin token) to source in
#      another shell.
#
# Extra arguments are passed to every `tollgate serve` (e.g. `--engine native`).
#
# Environment (all optional):
#   TOLLGATE_BIN                 the tollgate binary (then no setup and no build)
#   TOLLGATE_REPLICAS_DIR        the state directory (configurations, logs, PID files, the database
#                                cluster); must not exist or be empty. Default: a new directory
#                                under ${TMPDIR:-/tmp}, removed when the script stops
#   TOLLGATE_REPLICAS_KEEP=1     keep the state directory after stopping
#   TOLLGATE_REPLICAS_PORT       nginx's port, the issuer's (default: a free port)
#   TOLLGATE_REPLICAS_PG_PORT    PostgreSQL's port (default: a free port)
#   TOLLGATE_REPLICAS_A_PORT, TOLLGATE_REPLICAS_B_PORT, TOLLGATE_REPLICAS_C_PORT
#                                the replicas' ports (default: free ports)
#   TOLLGATE_ADMIN_TOKEN         the admin API's bearer token (default: a random one)
#   TOLLGATE_VAULT_KEY           the vault key all replicas share (default: a random one)
#   TOLLGATE_PG_BIN              PostgreSQL's server programs (default: the newest under
#                                /usr/lib/postgresql)
#   NGINX                        nginx (default: /usr/sbin/nginx)
set -euo pipefail
# Relative paths in TOLLGATE_BIN and TOLLGATE_REPLICAS_DIR are relative to where we were started.
invoked_from="$PWD"
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

SHARED_CONFIG=examples/replicas/tollgate.yaml
REPLICAS=(a b c)
# How long one replica, nginx or PostgreSQL may take to answer after being started, in seconds.
START_TIMEOUT=120

say() { printf 'replicas: %s\n' "$*"; }
die() {
    printf 'replicas: error: %s\n' "$*" >&2
    exit 1
}

# ---------------------------------------------------------------------------------------------
# Prerequisites and the binary.

absolute() {
    if [[ "$1" == /* ]]; then
        printf '%s' "$1"
    else
        printf '%s/%s' "$invoked_from" "$1"
    fi
}

tollgate=""
pg_bin=""
nginx="${NGINX:-/usr/sbin/nginx}"

find_binary() {
    if [[ -n "${TOLLGATE_BIN:-}" ]]; then
        if [[ "$TOLLGATE_BIN" == */* ]]; then
            tollgate="$(absolute "$TOLLGATE_BIN")"
        else
            tollgate="$(command -v "$TOLLGATE_BIN")" || die "TOLLGATE_BIN=$TOLLGATE_BIN is not on PATH"
        fi
    else
        bash scripts/setup.sh
        say "cargo build -p tollgate --bin tollgate"
        cargo build -p tollgate --bin tollgate
        local target_dir
        target_dir="$(cargo metadata --no-deps --format-version 1 |
            sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
        tollgate="${target_dir:-target}/debug/tollgate"
    fi
    [[ -x "$tollgate" ]] || die "no tollgate binary at $tollgate"
    tollgate="$(cd "$(dirname "$tollgate")" && pwd)/$(basename "$tollgate")"
}

check_prerequisites() {
    if [[ -n "${TOLLGATE_PG_BIN:-}" ]]; then
        pg_bin="$TOLLGATE_PG_BIN"
    else
        pg_bin="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin 2>/dev/null |
            sort -V | tail -n 1)" || true
    fi
    [[ -n "$pg_bin" && -x "$pg_bin/initdb" ]] ||
        die "no PostgreSQL server programs under /usr/lib/postgresql (scripts/setup.sh installs Debian's postgresql)"
    [[ -x "$nginx" ]] || die "no nginx at $nginx (scripts/setup.sh installs Debian's nginx)"
    command -v curl >/dev/null || die "curl is needed to see when everything answers"
    if [[ $EUID -eq 0 ]]; then
        command -v runuser >/dev/null || die "runuser is needed to run PostgreSQL as \`postgres\`"
        id postgres >/dev/null 2>&1 || die "no \`postgres\` user to run PostgreSQL as (PostgreSQL refuses root)"
    fi
}

# ---------------------------------------------------------------------------------------------
# The state directory, ports and secrets.

dir=""
made_dir=0

make_state_dir() {
    if [[ -n "${TOLLGATE_REPLICAS_DIR:-}" ]]; then
        local wanted
        wanted="$(absolute "$TOLLGATE_REPLICAS_DIR")"
        # Checked before `dir` is set: cleanup must never act on another run's PID files.
        if [[ -e "$wanted" ]] && [[ -n "$(ls -A "$wanted")" ]]; then
            die "$wanted is not empty (a previous run? remove it or choose another TOLLGATE_REPLICAS_DIR)"
        fi
        # The path goes unquoted into pg_ctl's options and nginx's configuration.
        [[ "$wanted" != *[[:space:]]* ]] || die "TOLLGATE_REPLICAS_DIR may not contain spaces"
        mkdir -p "$wanted"
        dir="$(cd "$wanted" && pwd)"
    else
        dir="$(mktemp -d "${TMPDIR:-/tmp}/tollgate-replicas.XXXXXX")"
        made_dir=1
    fi
    # PostgreSQL runs as `postgres` when we are root: it must be able to reach its directory.
    chmod 755 "$dir"
    say "state in $dir"
}

taken=" "

# True when something accepts connections on 127.0.0.1:$1.
port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# pick_port VAR ENV: sets VAR to the port the variable named ENV holds (refused if in use), or
# to a free port when ENV is unset.
pick_port() {
    local var="$1" env="$2" wanted="${!2:-}" candidate _
    if [[ -n "$wanted" ]]; then
        if ! [[ "$wanted" =~ ^[0-9]{1,5}$ ]] || ((10#$wanted == 0 || 10#$wanted > 65535)); then
            die "$env=$wanted is not a port"
        fi
        port_in_use "$wanted" && die "$env=$wanted: the port is in use"
        taken+="$wanted "
        printf -v "$var" '%s' "$wanted"
        return 0
    fi
    # Below Linux's ephemeral range (32768-60999), so no outgoing connection holds it.
    for _ in $(seq 200); do
        candidate=$((20000 + RANDOM % 12000))
        [[ "$taken" == *" $candidate "* ]] && continue
        port_in_use "$candidate" && continue
        taken+="$candidate "
        printf -v "$var" '%s' "$candidate"
        return 0
    done
    die "found no free port (for $env)"
}

lb_port=""
pg_port=""
declare -A replica_port=()

pick_ports() {
    local name port
    pick_port lb_port TOLLGATE_REPLICAS_PORT
    pick_port pg_port TOLLGATE_REPLICAS_PG_PORT
    for name in "${REPLICAS[@]}"; do
        pick_port port "TOLLGATE_REPLICAS_${name^^}_PORT"
        replica_port[$name]="$port"
    done
}

random_hex() {
    head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'
}

admin_token="${TOLLGATE_ADMIN_TOKEN:-}"
vault_key="${TOLLGATE_VAULT_KEY:-}"

make_secrets() {
    [[ -n "$admin_token" ]] || admin_token="replicas-admin-$(random_hex 12)"
    # One vault key for every replica: it seals the signing keys in the database, so a replica
    # with another key could not open them and would refuse to start.
    [[ -n "$vault_key" ]] || vault_key="$(head -c 32 /dev/urandom | base64 -w0)"
}

# ---------------------------------------------------------------------------------------------
# Stopping: every process by the PID it wrote, and only if that PID still runs our command line.

# True when process $1 exists and has not exited (an exited one whose parent has not collected
# it yet is a zombie: `kill -0` still finds it).
alive() {
    local stat
    [[ -n "$1" ]] && kill -0 "$1" 2>/dev/null || return 1
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"
    [[ "${stat%% *}" != Z ]]
}

# True when process $1 is alive and its command line mentions the state directory.
ours() {
    local pid="$1" cmdline
    alive "$pid" || return 1
    cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
    [[ "$cmdline" == *"$dir"* ]]
}

pid_of() {
    [[ -f "$dir/$1.pid" ]] && cat "$dir/$1.pid"
}

# stop NAME SIGNAL: sends SIGNAL to NAME's process if it still runs.
stop() {
    local pid
    pid="$(pid_of "$1")" || return 0
    if ours "$pid"; then
        say "stopping $1 (pid $pid, SIG$2)"
        kill -"$2" "$pid" 2>/dev/null || true
    fi
}

# wait_gone NAME SECONDS: true once NAME's process has exited.
wait_gone() {
    local pid i
    pid="$(pid_of "$1")" || return 0
    for ((i = 0; i < $2 * 10; i++)); do
        alive "$pid" || return 0
        sleep 0.1
    done
    ! alive "$pid"
}

# 1 once everything answers; a stop before that is a failed start, unless it was asked for.
running=0
interrupted=0

cleanup() {
    local status=$? name
    trap - EXIT INT TERM
    [[ -n "$dir" ]] || exit "$status"
    # pg_ctl may have started the postmaster and still failed (a timeout).
    if [[ ! -f "$dir/postgres.pid" && -f "$dir/postgres/data/postmaster.pid" ]]; then
        head -n 1 "$dir/postgres/data/postmaster.pid" >"$dir/postgres.pid"
    fi
    # nginx first (graceful: QUIT), then the replicas (TERM), then PostgreSQL (INT: fast shutdown).
    stop nginx QUIT
    for name in "${REPLICAS[@]}"; do stop "$name" TERM; done
    wait_gone nginx 10 || stop nginx KILL
    for name in "${REPLICAS[@]}"; do wait_gone "$name" 20 || stop "$name" KILL; done
    stop postgres INT
    # Immediate shutdown if the fast one takes too long.
    wait_gone postgres 30 || { stop postgres QUIT && wait_gone postgres 10; } || true
    local failed=1
    if [[ $running -eq 1 || $interrupted -eq 1 ]]; then
        failed=0
    fi
    if [[ $failed -eq 1 ]]; then
        show_logs
    fi
    if [[ $made_dir -eq 1 && $failed -eq 0 && "${TOLLGATE_REPLICAS_KEEP:-0}" != 1 ]]; then
        rm -rf "$dir"
        say "stopped; removed $dir"
    else
        say "stopped; kept $dir (configurations, logs, database cluster)"
    fi
    if [[ $failed -eq 0 ]]; then
        exit 0
    fi
    exit "$status"
}

show_logs() {
    local log
    for log in "$dir"/*.log "$dir"/postgres/log "$dir"/nginx/logs/error.log; do
        [[ -s "$log" ]] || continue
        say "${log#"$dir"/} (last lines):" >&2
        tail -n 15 "$log" | sed 's/^/    /' >&2
    done
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL.

pg_dir=""

# Runs one of PostgreSQL's server programs, as `postgres` when we are root (it refuses root), in
# its directory (which `postgres` can enter; the current one it may not).
pg() {
    local program="$pg_bin/$1"
    shift
    if [[ $EUID -eq 0 ]]; then
        (cd "$pg_dir" && runuser -u postgres -- env LC_ALL=C "$program" "$@")
    else
        (cd "$pg_dir" && env LC_ALL=C "$program" "$@")
    fi
}

start_postgres() {
    pg_dir="$dir/postgres"
    mkdir -p "$pg_dir"
    if [[ $EUID -eq 0 ]]; then
        chown postgres: "$pg_dir"
        runuser -u postgres -- test -w "$pg_dir" ||
            die "the postgres user cannot write $pg_dir (is a parent directory closed to it?); set TOLLGATE_REPLICAS_DIR to a directory under /tmp"
    fi
    say "PostgreSQL: initdb (superuser tollgate, trust on 127.0.0.1)"
    pg initdb -D "$pg_dir/data" -U tollgate -A trust -E UTF8 --no-sync >"$pg_dir/initdb.log" 2>&1 ||
        die "initdb failed: $(tail -n 5 "$pg_dir/initdb.log")"
    pg pg_ctl -D "$pg_dir/data" -l "$pg_dir/log" -w -t "$START_TIMEOUT" \
        -o "-p $pg_port -c listen_addresses=127.0.0.1 -k $pg_dir" start >/dev/null ||
        die "PostgreSQL did not start: $(tail -n 5 "$pg_dir/log")"
    head -n 1 "$pg_dir/data/postmaster.pid" >"$dir/postgres.pid"
    "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U tollgate tollgate
    say "PostgreSQL on 127.0.0.1:$pg_port (pid $(pid_of postgres)), database tollgate"
}

database_url() {
    printf 'postgres://tollgate@127.0.0.1:%s/tollgate' "$pg_port"
}

# ---------------------------------------------------------------------------------------------
# The replicas.

write_replica_config() {
    local name="$1"
    {
        printf '# Written by examples/replicas/start.sh: these four lines, then %s.\n' \
            "$SHARED_CONFIG"
        printf 'issuer: "http://127.0.0.1:%s"\n' "$lb_port"
        printf 'listen: "127.0.0.1:%s"\n' "${replica_port[$name]}"
        printf 'store: "%s"\n' "$(database_url)"
        printf 'auditLog: "%s/audit-%s.jsonl"\n\n' "$dir" "$name"
        cat "$SHARED_CONFIG"
    } >"$dir/$name.yaml"
}

# start_replica NAME ARGS...: starts it in the background and records its PID.
start_replica() {
    local name="$1"
    shift
    write_replica_config "$name"
    TOLLGATE_ADMIN_TOKEN="$admin_token" TOLLGATE_VAULT_KEY="$vault_key" \
        "$tollgate" serve --config "$dir/$name.yaml" "$@" >"$dir/$name.log" 2>&1 &
    printf '%s\n' "$!" >"$dir/$name.pid"
}

# wait_healthy NAME URL: until URL/healthz answers 200; fails if NAME's process exits first.
wait_healthy() {
    local name="$1" url="$2" pid i
    pid="$(pid_of "$name")"
    for ((i = 0; i < START_TIMEOUT * 5; i++)); do
        if curl -fsS -o /dev/null --max-time 2 "$url/healthz" 2>/dev/null; then
            return 0
        fi
        alive "$pid" || die "$name exited before answering (see $dir/$name.log)"
        sleep 0.2
    done
    die "$name did not answer at $url/healthz within ${START_TIMEOUT}s"
}

start_replicas() {
    local name
    # a first: it creates the schema, which b and c then find.
    start_replica a "$@"
    wait_healthy a "http://127.0.0.1:${replica_port[a]}"
    say "a on http://127.0.0.1:${replica_port[a]} (pid $(pid_of a))"
    for name in b c; do start_replica "$name" "$@"; done
    for name in b c; do
        wait_healthy "$name" "http://127.0.0.1:${replica_port[$name]}"
        say "$name on http://127.0.0.1:${replica_port[$name]} (pid $(pid_of "$name"))"
    done
}

# ---------------------------------------------------------------------------------------------
# nginx.

write_nginx_config() {
    local n="$dir/nginx" name
    mkdir -p "$n/logs"
    {
        cat <<EOF
# nginx in front of the replicas, written by examples/replicas/start.sh.
daemon off;
master_process on;
worker_processes 1;
pid $n/nginx.pid;
error_log $n/logs/error.log warn;
events { worker_connections 1024; }
http {
    # The path without its query (no codes or states in the log) and the replica that answered.
    log_format replicas '\$time_iso8601 \$request_method \$uri \$status upstream=\$upstream_addr';
    access_log $n/logs/access.log replicas;
    client_body_temp_path $n/body;
    proxy_temp_path $n/proxy;
    fastcgi_temp_path $n/fastcgi;
    uwsgi_temp_path $n/uwsgi;
    scgi_temp_path $n/scgi;

    upstream tollgate {
        # Round robin. A replica that fails once is skipped for 5 s, then tried again.
EOF
        for name in "${REPLICAS[@]}"; do
            printf '        server 127.0.0.1:%s max_fails=1 fail_timeout=5s;  # %s\n' \
                "${replica_port[$name]}" "$name"
        done
        cat <<EOF
        keepalive 32;
    }

    server {
        listen 127.0.0.1:$lb_port;
        location / {
            proxy_pass http://tollgate;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$http_host;
            # A replica that refuses the connection or does not answer in time: try the next one.
            # nginx resends a POST (token requests) only if nothing of it was sent yet.
            proxy_next_upstream error timeout;
            proxy_connect_timeout 1s;
            # Which replica answered (two addresses when the first one failed).
            add_header X-Upstream \$upstream_addr always;
        }
    }
}
EOF
    } >"$n/nginx.conf"
}

start_nginx() {
    local n="$dir/nginx"
    write_nginx_config
    "$nginx" -c "$n/nginx.conf" -p "$n" -e "$n/logs/error.log" >"$n/logs/stderr.log" 2>&1 &
    printf '%s\n' "$!" >"$dir/nginx.pid"
    wait_healthy nginx "http://127.0.0.1:$lb_port"
    say "nginx on http://127.0.0.1:$lb_port (pid $(pid_of nginx)), balancing a, b and c"
}

# ---------------------------------------------------------------------------------------------

write_env() {
    local name
    {
        printf '# Written by examples/replicas/start.sh for this run: source it in another shell.\n'
        printf 'RUN=%q\n' "$dir"
        printf 'LB=http://127.0.0.1:%s\n' "$lb_port"
        for name in "${REPLICAS[@]}"; do
            printf '%s=http://127.0.0.1:%s\n' "${name^^}" "${replica_port[$name]}"
        done
        printf 'ADMIN_TOKEN=%q\n' "$admin_token"
        printf 'DATABASE_URL=%q\n' "$(database_url)"
    } >"$dir/env"
    chmod 600 "$dir/env"
}

# Reports a replica that exited while running (nginx then sends its share to the others); ends
# the script when nginx or PostgreSQL exits.
watch() {
    local name pid
    declare -A reported=()
    while :; do
        for name in "${REPLICAS[@]}"; do
            pid="$(pid_of "$name")"
            if [[ -z "${reported[$name]:-}" ]] && ! alive "$pid"; then
                say "$name (pid $pid) exited; nginx sends its requests to the others (log: $dir/$name.log)"
                reported[$name]=1
            fi
        done
        for name in nginx postgres; do
            if ! alive "$(pid_of "$name")"; then
                running=0
                die "$name exited; stopping everything"
            fi
        done
        sleep 1
    done
}

main() {
    find_binary
    check_prerequisites
    trap cleanup EXIT
    trap 'interrupted=1; exit 130' INT
    trap 'interrupted=1; exit 143' TERM
    pick_ports
    make_secrets
    make_state_dir
    start_postgres
    start_replicas "$@"
    start_nginx
    write_env
    running=1
    say "ready. In another shell:"
    cat <<EOF
  source $dir/env
  curl -si -u worker:worker-dev-secret -d grant_type=client_credentials \\
       -d resource=https://orders.example.com "\$LB/token"
replicas: examples/replicas/README.md has more to try. Ctrl-C stops everything.
EOF
    watch
}

main "$@"

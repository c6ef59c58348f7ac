# shellcheck shell=bash
# Shared by the benchmark scripts (sourced, not run): free ports, waiting for a server, a throwaway
# PostgreSQL cluster, nginx in front of replicas, wrk request scripts. The caller defines `say`,
# `die` and `tmp` (its temporary directory) first; `pg_pid` and `nginx_pid` are for its cleanup.
# shellcheck disable=SC2154,SC2034 # those variables are the caller's

# PostgreSQL runs as `postgres` when we are root (it refuses root).
as_postgres() {
    if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Starts one throwaway cluster for the run in `$tmp/pg` (call it with the run's top-level `tmp`);
# sets pg_port, pg_pid and pg_bin.
pg_port=""
start_postgres() {
    [[ -n "$pg_port" ]] && return
    local bin
    bin="$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d | sort | tail -n 1)"
    [[ -x "$bin/initdb" ]] || die "no PostgreSQL under /usr/lib/postgresql (scripts/setup.sh installs it)"
    mkdir -p "$tmp/pg"
    chmod 755 "$tmp"
    if [[ $EUID -eq 0 ]]; then chown postgres:postgres "$tmp/pg"; fi
    as_postgres "$bin/initdb" -D "$tmp/pg/data" -U tollgate -A trust -E UTF8 --no-sync >/dev/null
    pg_port="$(free_port)"
    as_postgres "$bin/pg_ctl" -D "$tmp/pg/data" -l "$tmp/pg/log" -w -o \
        "-p $pg_port -c listen_addresses=127.0.0.1 -k $tmp/pg -c max_connections=200" start >/dev/null
    pg_pid="$(head -n 1 "$tmp/pg/data/postmaster.pid")"
    pg_bin="$bin"
    say "PostgreSQL $("$bin/postgres" --version | awk '{ print $3 }') on port $pg_port"
}

# A fresh database on the cluster; prints its URL.
new_database() {
    local name="bench_$1"
    "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U tollgate "$name"
    printf 'postgres://tollgate@127.0.0.1:%s/%s' "$pg_port" "$name"
}

# nginx on 127.0.0.1:$1 in front of the upstream ports given after it; sets nginx_pid.
start_nginx() {
    local port="$1" dir="$tmp/nginx-$1" upstreams="" p
    shift
    for p in "$@"; do upstreams+="        server 127.0.0.1:$p;"$'\n'; done
    mkdir -p "$dir/logs"
    cat >"$dir/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    upstream tollgate {
$upstreams        keepalive 64;
    }
    server {
        listen 127.0.0.1:$port;
        location / {
            proxy_pass http://tollgate;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$http_host;
        }
    }
}
EOF
    /usr/sbin/nginx -c "$dir/nginx.conf" -p "$dir" >"$dir/logs/stderr.log" 2>&1 &
    nginx_pid=$!
}

free_port() {
    node -e '
const s = require("node:net").createServer();
s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

# Waits until the log of a server started in the background shows its ready line.
wait_ready() {
    local pid="$1" log="$2" pattern="$3"
    for _ in $(seq 1 300); do
        grep -q "$pattern" "$log" && return 0
        kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; die "the server exited"; }
        sleep 0.1
    done
    cat "$log" >&2
    die "the server did not start in 30 s"
}

stop() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

basic() { printf 'Basic %s' "$(printf '%s:%s' "$1" "$2" | base64 -w0)"; }

# A wrk script that POSTs one form body with one Authorization header.
lua_post() {
    local file="$1" body="$2" authorization="$3"
    cat >"$file" <<EOF
wrk.method = "POST"
wrk.body = "$body"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "$authorization"
EOF
}

# Stops every process in `pids` and the PostgreSQL cluster, by PID (the scripts' EXIT trap).
stop_all() {
    local pid
    for pid in "${pids[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    if [[ -n "${pg_pid:-}" ]] && kill -0 "$pg_pid" 2>/dev/null; then
        # Fast shutdown; wait until the postmaster is gone.
        kill -INT "$pg_pid" 2>/dev/null || true
        for _ in $(seq 1 200); do kill -0 "$pg_pid" 2>/dev/null || break; sleep 0.1; done
    fi
}

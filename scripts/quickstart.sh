#!/usr/bin/env bash
# Starts the Tollgate server on the quick-start example (examples/quickstart/tollgate.yaml).
#
# Installs what is missing (scripts/setup.sh), builds the `tollgate` binary, then runs
# `tollgate serve --config examples/quickstart/tollgate.yaml`. While the binary has no `serve`
# subcommand or the example does not exist yet, it prints `tollgate --help` instead.
# Extra arguments are passed to `tollgate serve`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

CONFIG=examples/quickstart/tollgate.yaml

say() { printf 'quickstart: %s\n' "$*"; }

bash scripts/setup.sh

say "cargo build -p tollgate --bin tollgate"
cargo build -p tollgate --bin tollgate
target_dir="$(cargo metadata --no-deps --format-version 1 |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
tollgate="${target_dir:-target}/debug/tollgate"

help="$("$tollgate" --help)"
if grep -qE '^[[:space:]]+serve([[:space:]]|$)' <<<"$help" && [[ -f "$CONFIG" ]]; then
    say "$tollgate serve --config $CONFIG $*"
    cat <<'EOF_CURL'
quickstart: in another terminal, get a token for the nightly ledger worker (ledger:admin is refused by policy):
  curl -s -u reconcile-worker:reconcile-dev-secret -d grant_type=client_credentials \
       -d resource=https://billing.example.com -d 'scope=ledger:read ledger:write ledger:admin' \
       http://127.0.0.1:8080/token
quickstart: examples/quickstart/README.md has the other scenarios. Ctrl-C stops the server.
EOF_CURL
    exec "$tollgate" serve --config "$CONFIG" "$@"
fi

printf '%s\n' "$help"
say "no \`serve\` subcommand or no $CONFIG yet: printed \`tollgate --help\` instead of starting the server"

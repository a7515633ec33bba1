#!/usr/bin/env bash
# Issue 10's benchmark: apply of 1,000 landform_data resources (chains of 10)
# and a no-op plan, with the state in PostgreSQL on loopback (Debian's
# package, started here in a temporary directory) and, for comparison, sled;
# then both again with state encryption on.
# Run from anywhere: bench/postgres.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/release/landform"
work=$(mktemp -d)
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
as_pg=()
[ "$(id -u)" -eq 0 ] && as_pg=(runuser -u postgres --)
chmod 755 "$work"
[ "$(id -u)" -eq 0 ] && chown postgres "$work"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"${as_pg[@]}" "$pgbin/initdb" -A trust -U landform -D "$work/data" > /dev/null
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$work/data" -l "$work/log" -o "-p $port -k $work -c listen_addresses=127.0.0.1" -w start > /dev/null
trap '"${as_pg[@]}" "$pgbin/pg_ctl" -D "$work/data" -m immediate stop > /dev/null 2>&1; rm -rf "$work"' EXIT
psql -h 127.0.0.1 -p "$port" -U landform -d postgres -qc "CREATE DATABASE landform"
url="postgres://landform@127.0.0.1:$port/landform"
runs=${RUNS:-5}

# Best of $runs wall seconds.
best() {
  local best=""
  for _ in $(seq "$runs"); do
    [ -n "${SETUP:-}" ] && eval "$SETUP"
    local s e
    s=$(date +%s.%N)
    "$@" > /dev/null 2>&1
    e=$(date +%s.%N)
    local t
    t=$(awk "BEGIN{print $e - $s}")
    if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; fi
  done
  printf '%.3f' "$best"
}

printf '%-52s %10s\n' "case" "seconds"
SETUP="rm -rf $work/c && python3 $root/bench/gen-chains.py 1000 $work/c && psql -h 127.0.0.1 -p $port -U landform -d landform -qc 'DROP SCHEMA IF EXISTS landform CASCADE' 2>/dev/null"
printf '%-52s %10s\n' "apply from empty, N=1000, PostgreSQL" "$(best env LANDFORM_BACKEND_URL="$url" "$bin" -C "$work/c" apply --auto-approve --no-progress)"
SETUP=""
rows=$(psql -h 127.0.0.1 -p "$port" -U landform -d landform -Atc "SELECT count(*) FROM landform.records WHERE kind = 'r'")
[ "$rows" = 1000 ] || { echo "the PostgreSQL state holds $rows resources, not 1000: the apply failed" >&2; exit 1; }
printf '%-52s %10s\n' "plan with no changes, N=1000, PostgreSQL" "$(best env LANDFORM_BACKEND_URL="$url" "$bin" -C "$work/c" plan)"
SETUP="rm -rf $work/s && python3 $root/bench/gen-chains.py 1000 $work/s"
printf '%-52s %10s\n' "apply from empty, N=1000, sled" "$(best "$bin" -C "$work/s" apply --auto-approve --no-progress)"
SETUP=""
printf '%-52s %10s\n' "plan with no changes, N=1000, sled" "$(best "$bin" -C "$work/s" plan)"

# The same with state encryption on (AES-256-GCM of every record).
key=$(python3 -c 'import os; print(os.urandom(32).hex())')
SETUP="rm -rf $work/c && python3 $root/bench/gen-chains.py 1000 $work/c && psql -h 127.0.0.1 -p $port -U landform -d landform -qc 'DROP SCHEMA IF EXISTS landform CASCADE' 2>/dev/null"
printf '%-52s %10s\n' "apply from empty, N=1000, PostgreSQL, encrypted" "$(best env LANDFORM_STATE_KEY="$key" LANDFORM_BACKEND_URL="$url" "$bin" -C "$work/c" apply --auto-approve --no-progress)"
SETUP=""
sealed=$(psql -h 127.0.0.1 -p "$port" -U landform -d landform -Atc "SELECT count(*) FROM landform.records WHERE kind = 'r' AND value LIKE 'lfenc1:%'")
[ "$sealed" = 1000 ] || { echo "$sealed of 1000 PostgreSQL records are encrypted: the apply failed" >&2; exit 1; }
printf '%-52s %10s\n' "plan with no changes, N=1000, PostgreSQL, encrypted" "$(best env LANDFORM_STATE_KEY="$key" LANDFORM_BACKEND_URL="$url" "$bin" -C "$work/c" plan)"
SETUP="rm -rf $work/s && python3 $root/bench/gen-chains.py 1000 $work/s"
printf '%-52s %10s\n' "apply from empty, N=1000, sled, encrypted" "$(best env LANDFORM_STATE_KEY="$key" "$bin" -C "$work/s" apply --auto-approve --no-progress)"
SETUP=""
printf '%-52s %10s\n' "plan with no changes, N=1000, sled, encrypted" "$(best env LANDFORM_STATE_KEY="$key" "$bin" -C "$work/s" plan)"

#!/usr/bin/env bash
# The plan/apply benchmark of issue 3 and the drift benchmark of issue 6: wall time and peak memory of the release
# binary on generated configurations. Run from anywhere: bench/run.sh
#
# The rows at scale (issue 30) are chosen by argument, so that the default run stays short:
#   bench/run.sh             the default rows
#   bench/run.sh 100k        100,000 resources (10,000 chains of 10): apply from empty, no-op plan, 1,000 changed
#   bench/run.sh 1m          the same rows for 1,000,000 resources (100,000 chains of 10); takes minutes and ~1 GB of disk
#   bench/run.sh default 1m  both
# BIN=path/to/landform measures that binary instead of building this tree; RUNS sets the runs of each row (best of).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet --manifest-path "$root/Cargo.toml"
  bin="${CARGO_TARGET_DIR:-$root/target}/release/landform"
else
  bin=$BIN
fi
work=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/landform-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
runs=${RUNS:-5}
groups=("$@")
[ ${#groups[@]} -eq 0 ] && groups=(default)

# Best of $runs: prints "seconds peak_kb".
measure() {
  local best="" mem=""
  for _ in $(seq "$runs"); do
    [ -n "${SETUP:-}" ] && eval "$SETUP"
    local out
    /usr/bin/time -o "$work/time" -f "%e %M" "$@" > /dev/null 2>&1
    out=$(tail -1 "$work/time")
    local t=${out% *} m=${out#* }
    if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; mem=$m; fi
  done
  echo "$best $mem"
}

# At scale: apply from empty (once: it is minutes at 1,000,000), the state's size on disk, a plan
# with no changes, and a plan with 1,000 resources changed (an attribute added to their input).
at_scale() {
  local n=$1 label=$2 dir="$work/big$1"
  SETUP=""
  rm -rf "$dir"
  python3 "$root/bench/gen-chains.py" "$n" "$dir"
  read -r t m <<< "$(runs=1 measure "$bin" -C "$dir" apply --auto-approve --no-progress)"
  row "apply from empty, N=$label (chains of 10)" "$t" "$m"
  printf '%-44s %10s %12s\n' "state on disk, N=$label" "" "$(du -sm "$dir/.landform/state" | cut -f1)"
  read -r t m <<< "$(measure "$bin" -C "$dir" plan)"
  row "plan with no changes, N=$label" "$t" "$m"
  python3 "$root/bench/gen-chains.py" "$n" "$dir" 1000
  read -r t m <<< "$(measure "$bin" -C "$dir" plan)"
  row "plan with 1,000 changed, N=$label" "$t" "$m"
  rm -rf "$dir"
}

default_rows() {
  for n in 1000 10000; do
    SETUP="rm -rf $work/c$n && python3 $root/bench/gen-chains.py $n $work/c$n"
    read -r t m <<< "$(measure "$bin" -C "$work/c$n" apply --auto-approve --no-progress)"
    row "apply from empty, N=$n (chains of 10)" "$t" "$m"
    eval "t_$n=$t"
  done
  SETUP=""
  read -r t m <<< "$(measure "$bin" -C "$work/c10000" plan)"
  row "plan with no changes, N=10000" "$t" "$m"
  read -r t m <<< "$(measure "$bin" -C "$work/c10000" plan --json)"
  row "plan --json (Terraform's format), same" "$t" "$m"
  read -r t m <<< "$(measure "$bin" -C "$work/c10000" show --json)"
  row "show --json (state), same" "$t" "$m"
  read -r t m <<< "$(measure "$bin" -C "$work/c10000" plan --format markdown)"
  row "plan --format markdown, same" "$t" "$m"
  printf '%-44s %10s\n' "apply 10000 / apply 1000" "$(awk "BEGIN{printf \"%.1fx\", $t_10000/$t_1000}")"
  SETUP="rm -rf $work/s && python3 $root/bench/gen-sleeps.py 200 $work/s"
  read -r t m <<< "$(measure "$bin" -C "$work/s" apply --auto-approve --no-progress --parallelism 200)"
  row "200 local_exec x sleep 0.2, --parallelism 200" "$t" "$m"
  SETUP=""
  mkdir -p "$work/locals"
  python3 -c "
print('locals {')
for i in range(200000):
    print(f'  l{i} = {i}')
print('}')" > "$work/locals/main.lf"
  read -r t m <<< "$(measure "$bin" -C "$work/locals" plan)"
  row "plan 200,000 locals" "$t" "$m"

  # Drift (issue 6): 10,000 local_file resources, every file read and hashed;
  # one in a hundred edited by hand, so the report has 100 entries (exit 2).
  python3 "$root/bench/gen-files.py" 10000 "$work/files"
  "$bin" -C "$work/files" apply --auto-approve --no-progress > /dev/null
  for i in $(seq 0 100 9999); do printf 'edited\n' > "$work/files/out/$(printf 'f%05d' "$i").txt"; done
  read -r t m <<< "$(measure "$bin" -C "$work/files" drift --no-progress)"
  row "drift, 10000 local_file (100 drifted)" "$t" "$m"
  read -r t m <<< "$(measure "$bin" -C "$work/files" drift --json)"
  row "drift --json, same" "$t" "$m"
}

printf '%-44s %10s %12s\n' "case" "seconds" "peak MB"
row() { printf '%-44s %10s %12.1f\n' "$1" "$2" "$(awk "BEGIN{print $3/1024}")"; }
for g in "${groups[@]}"; do
  case $g in
    default) default_rows ;;
    100k) at_scale 100000 100,000 ;;
    1m) at_scale 1000000 1,000,000 ;;
    *) echo "bench/run.sh: unknown rows \"$g\" (default, 100k, 1m)" >&2; exit 2 ;;
  esac
done

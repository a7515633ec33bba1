#!/usr/bin/env bash
# The AWS benchmark of issue 7: apply and destroy of 50 target groups and 50
# listener rules (one load balancer, one listener) against moto's server on
# loopback, with --parallelism 1 and 10. Run from anywhere: bench/aws.sh
# moto comes from the test virtualenv (target/test-venv, made as scripts/test does).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/release/landform"
venv="$root/target/test-venv"
if ! "$venv/bin/python" -c "import moto" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==5.2.5"
fi
work=$(mktemp -d)
port=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
"$venv/bin/python" -m moto.server -H 127.0.0.1 -p "$port" > "$work/moto.log" 2>&1 &
moto=$!
trap 'kill $moto 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
# moto answers in a few milliseconds, from one Python process (one core, the
# GIL), so on its own it shows what Landform costs, not what waiting on AWS
# costs. Real ELBv2 calls take tens of milliseconds of network and service
# time; a second row per case goes through a proxy that holds each request
# for $LATENCY_MS ms (default 50) before passing it on.
lat_port=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
python3 "$root/bench/slow-proxy.py" "$lat_port" "$port" "${LATENCY_MS:-50}" > "$work/proxy.log" 2>&1 &
proxy=$!
trap 'kill $moto $proxy 2>/dev/null; rm -rf "$work"' EXIT
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
read -r vpc subnets < <("$venv/bin/python" - "http://127.0.0.1:$port" <<'PY'
import boto3, json, sys
ec2 = boto3.client("ec2", endpoint_url=sys.argv[1], region_name="us-east-1")
vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
a = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
b = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.2.0/24", AvailabilityZone="us-east-1b")["Subnet"]["SubnetId"]
print(vpc, json.dumps([a, b]).replace(" ", ""))
PY
)
n=${N:-50}
mkdir -p "$work/cfg"
cat > "$work/cfg/main.lf" <<LF
variable "endpoint" {}

provider "aws" {
  region   = "us-east-1"
  endpoint = var.endpoint
}

resource "aws_lb" "web" {
  name    = "bench"
  subnets = $subnets
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
  name     = "svc-\${count.index}"
  port     = 8000 + count.index
  protocol = "HTTP"
  vpc_id   = "$vpc"
  health_check {
    path = "/health"
  }
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
LF

timed() {
  local s e
  s=$(date +%s.%N)
  "$bin" -C "$work/cfg" "$@" > "$work/run.log" 2>&1 || { cat "$work/run.log"; exit 1; }
  e=$(date +%s.%N)
  echo "$e - $s" | bc
}
printf '%-58s %10s\n' "case ($n target groups + $n listener rules)" "seconds"
for via in "moto:$port" "moto + ${LATENCY_MS:-50} ms per request:$lat_port"; do
  export LANDFORM_VAR_endpoint="http://127.0.0.1:${via##*:}"
  for p in 1 10; do
    rm -rf "$work/cfg/.landform"
    printf '%-58s %10.2f\n' "apply,   --parallelism $p, ${via%:*}" "$(timed apply --auto-approve --no-progress --parallelism "$p")"
    printf '%-58s %10.2f\n' "destroy, --parallelism $p, ${via%:*}" "$(timed destroy --auto-approve --no-progress --parallelism "$p")"
  done
done

#!/usr/bin/env bash
# Start a demo for the canary rollout: HAProxy (Debian's `haproxy` package)
# on 127.0.0.1:8080 with its runtime API on 127.0.0.1:9999, in front of two
# small HTTP servers, v1 ("blue", 127.0.0.1:8081) and v2 ("green",
# 127.0.0.1:8082). Stop it all with Ctrl-C.
#
#   ./start-demo.sh                  # v2 healthy: the rollout completes
#   GREEN_ERRORS=30 ./start-demo.sh  # v2 fails 30% of requests: the rollout rolls back
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT

serve() { # name port error-percent
  python3 - "$1" "$2" "$3" <<'PY' &
import http.server, itertools, sys
name, port, errors = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
count = itertools.count()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        status = 500 if next(count) % 100 < errors else 200
        body = f"{name}\n".encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
}
serve blue 8081 0
serve green 8082 "${GREEN_ERRORS:-0}"
cat > "$work/haproxy.cfg" <<CFG
global
    stats socket ipv4@127.0.0.1:9999 level admin
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend web
    bind 127.0.0.1:8080
    default_backend app
backend app
    balance roundrobin
    server blue 127.0.0.1:8081 weight 100
    server green 127.0.0.1:8082 weight 0
CFG
echo "HAProxy on http://127.0.0.1:8080, runtime API on 127.0.0.1:9999; in another shell:"
echo "  landform -C $here apply --auto-approve"
haproxy -db -f "$work/haproxy.cfg"

#!/bin/bash
# The MQTT figure alone, for A/B runs between checkouts: a fresh local runtime from TREE (default: this
# repository) on a fresh data dir, one benchmark stream, bench/mqtt-load.ts, one JSON line; then the runtime
# is killed. A script, not a test.   bench/mqtt-alone.sh [TREE] [HTTP_PORT]
set -euo pipefail
TREE=$(cd "${1:-$(dirname "$0")/..}" && pwd); P=${2:-3931}; M=$((P + 1000)); D=$(mktemp -d)
ADMIN=trb_bench-admin-token-0123456789abcdef
cd "$TREE"
PORT=$P MQTT_PORT=$M TRIBUTARY_DATA_DIR=$D TRIBUTARY_ADMIN_TOKEN=$ADMIN setsid node --max-semi-space-size=32 --import tsx infra/local/main.ts > "$D/log" 2>&1 &
RT=$!
trap 'kill -9 -- -$RT 2>/dev/null || true; rm -rf "$D"' EXIT
for _ in $(seq 1 60); do curl -sf "127.0.0.1:$P/healthz" > /dev/null && break; sleep 0.5; done
DEF=$(node --import tsx -e "import('$TREE/bench/dataset.ts').then((m) => console.log(JSON.stringify(m.benchStream('bm'))))")
TOKEN=$(curl -s -X POST "127.0.0.1:$P/v1/streams" -H "authorization: Bearer $ADMIN" -H 'content-type: application/json' -d "$DEF" | node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>console.log(JSON.parse(s).ingestToken))')
node --import tsx bench/mqtt-load.ts "mqtt://127.0.0.1:$M" bm "$TOKEN" | tail -1

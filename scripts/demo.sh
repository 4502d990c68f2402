#!/usr/bin/env bash
# Brings up the local cluster of cluster.config.json (3 masters on
# 127.0.0.11-13) and walks through the basics: status, writes, a watch, the
# leader killed with -9, a new leader, no acknowledged write lost.
# Usage: scripts/demo.sh            (Ctrl-C or the end of the demo stops the cluster)
set -euo pipefail
cd "$(dirname "$0")/.."

[ -d node_modules ] || npm install --no-audit --no-fund
npm run build --silent

CONFIG="${PINSETTER_CONFIG:-cluster.config.json}"
pinctl() { node dist/src/cli/pinctl.js --config "$CONFIG" "$@"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

node dist/src/cli/pinsetter.js --config "$CONFIG" up --no-live > /tmp/pinsetter-demo-up.log 2>&1 &
UP=$!
cleanup() { kill -INT "$UP" 2>/dev/null || true; wait "$UP" 2>/dev/null || true; }
trap cleanup EXIT

say "waiting for the masters to elect a leader"
for _ in $(seq 1 100); do
  if pinctl cluster status -o json 2>/dev/null | grep -q '"leader": "m'; then break; fi
  sleep 0.2
done
pinctl cluster status

say "writing and reading through the replicated store"
pinctl kv put /demo/greeting "hello from pinsetter"
pinctl kv get /demo/greeting
for i in 1 2 3; do pinctl kv put "/demo/counter/$i" "value-$i" > /dev/null; done
pinctl kv get /demo/counter/ --prefix

say "a watch replays history from revision 1 (Ctrl-C not needed: it stops after 2 s)"
timeout 2 node dist/src/cli/pinctl.js --config "$CONFIG" kv watch /demo/ --prefix --rev 1 || true

LEADER=$(pinctl cluster status -o json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).leader))')
say "killing the leader ($LEADER) with SIGKILL"
LEADER_URL=$(node -e 'const c=require(process.argv[1]);const m=c.masters.find(x=>x.name===process.argv[2]);console.log(`http://${m.host}:${m.clientPort}`)' "$(realpath "$CONFIG")" "$LEADER")
TOKEN=$(node -e 'console.log(require(process.argv[1]).token)' "$(realpath "$CONFIG")")
PID=$(curl -s -H "Authorization: Bearer $TOKEN" "$LEADER_URL/status" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).pid))')
kill -9 "$PID"
sleep 2.5
pinctl cluster status || true

say "the remaining masters still serve every acknowledged write"
pinctl kv get /demo/greeting
pinctl kv put /demo/after-failover "still writable"
pinctl kv get /demo/ --prefix

say "done; stopping the cluster (data stays in .pinsetter/, a second run recovers it)"

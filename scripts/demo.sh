#!/usr/bin/env bash
# The first command of the README: on a fresh Debian machine, brings up the
# local cluster of cluster.config.json (3 masters, 2 docker nodes), runs the
# demo web app (examples/web.yaml: 3 busybox httpd pods behind a NodePort
# Service) and prints the address to open. The cluster keeps running until
# Ctrl-C, which stops every master and node and removes the pods' containers
# (a stopped kubelet leaves them running, as Kubernetes' does); the cluster's
# data stays in the config's dataDir, and the next run starts the pods again.
# Usage: scripts/demo.sh            PINSETTER_CONFIG=other.json scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "Docker engine and the local demo image"
scripts/docker-engine.sh
scripts/demo-image.sh

say "building"
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build --silent

CONFIG="${PINSETTER_CONFIG:-cluster.config.json}"
pinctl() { node dist/src/cli/pinctl.js --config "$CONFIG" "$@"; }
# curl may be missing on a fresh machine; Node 20 has fetch.
http_get() { node -e 'fetch(process.argv[1],{signal:AbortSignal.timeout(2000)}).then(async r=>{if(!r.ok)process.exit(1);process.stdout.write(await r.text())},()=>process.exit(1))' "$1"; }
cfg() { node -e 'const c=require(process.argv[1]);console.log(eval(process.argv[2]))' "$(realpath "$CONFIG")" "$1"; }
NODE_HOSTS=$(cfg 'c.nodes.map(n=>n.host).join(" ")')
NODE_NAMES=$(cfg 'c.nodes.map(n=>n.name).join(" ")')
NODE_COUNT=$(cfg 'c.nodes.length')
NODE_PORT=30080
LOG=/tmp/pinsetter-demo-up.log

say "starting the cluster of $CONFIG (log: $LOG)"
node dist/src/cli/pinsetter.js --config "$CONFIG" up --no-live > "$LOG" 2>&1 &
UP=$!
cleanup() {
  trap - EXIT INT TERM
  printf '\nstopping the cluster...\n'
  kill -INT "$UP" 2>/dev/null || true
  wait "$UP" 2>/dev/null || true
  for n in $NODE_NAMES; do
    ids=$(docker ps -aq --filter "label=io.pinsetter.node=$n" 2>/dev/null || true)
    [ -z "$ids" ] || docker rm -f $ids >/dev/null 2>&1 || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local secs=$1 what=$2; shift 2
  for _ in $(seq 1 $((secs * 2))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    kill -0 "$UP" 2>/dev/null || { echo "pinsetter up exited; see $LOG" >&2; tail -n 20 "$LOG" >&2; exit 1; }
    sleep 0.5
  done
  echo "gave up waiting for $what after ${secs}s; see $LOG and the logs under the config's dataDir" >&2
  exit 1
}

wait_for 60 "a leader" sh -c "node dist/src/cli/pinctl.js --config '$CONFIG' cluster status -o json | grep -q '\"leader\": \"m'"
pinctl cluster status
ready_nodes() { [ "$(node dist/src/cli/pinctl.js --config "$CONFIG" get nodes 2>/dev/null | grep -cw Ready)" -ge "$NODE_COUNT" ]; }
wait_for 60 "all $NODE_COUNT nodes to be Ready" ready_nodes
pinctl get nodes || true

say "deploying examples/web.yaml"
pinctl apply -f examples/web.yaml
any_node_answers() {
  for h in $NODE_HOSTS; do
    if http_get "http://$h:$NODE_PORT/" >/dev/null 2>&1; then FIRST=$h; return 0; fi
  done
  return 1
}
FIRST=""
wait_for 120 "the web app to answer on port $NODE_PORT of a node" any_node_answers
pinctl get pods -o wide || pinctl get pods

say "the web app answers (each request may reach another pod)"
for _ in 1 2 3 4 5 6; do http_get "http://$FIRST:$NODE_PORT/" || true; done

say "open one of these (every node answers):"
for h in $NODE_HOSTS; do echo "    http://$h:$NODE_PORT/"; done
echo
echo "try: node dist/src/cli/pinctl.js --config $CONFIG get pods -o wide"
echo "     node dist/src/cli/pinctl.js --config $CONFIG scale deployment/web --replicas 5"
echo "Ctrl-C stops the cluster."
wait "$UP"

#!/usr/bin/env bash
# Makes sure a Docker engine answers on this machine.
# - installs Debian's docker.io when dockerd is missing (needs root + apt);
# - starts dockerd in the background when nothing answers (no systemd here),
#   logging to ${PINSETTER_DOCKERD_LOG:-/tmp/pinsetter-dockerd.log};
# - waits up to 60 s for `docker info` to succeed.
# Exits non-zero with a clear message when an engine cannot be had.
# Idempotent: does nothing when an engine already answers.
set -euo pipefail

LOG="${PINSETTER_DOCKERD_LOG:-/tmp/pinsetter-dockerd.log}"
say() { echo "docker-engine: $*" >&2; }
die() { say "$*"; exit 1; }

answers() { docker info >/dev/null 2>&1; }

if command -v docker >/dev/null 2>&1 && answers; then
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    die "Docker is not installed and cannot be installed here (needs root and apt-get); install docker.io or Docker Engine"
  fi
  say "installing docker.io"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq docker.io >/dev/null || die "apt-get install docker.io failed"
fi

if answers; then exit 0; fi

# The socket may exist while its daemon is gone (a killed dockerd); only start
# a new engine when no dockerd process is alive, otherwise just wait for it.
if ! pgrep -x dockerd >/dev/null 2>&1; then
  [ "$(id -u)" -eq 0 ] || die "no Docker engine answers and starting dockerd needs root"
  say "starting dockerd in the background (log: $LOG)"
  # A stale pid file from a killed daemon makes dockerd refuse to start.
  if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
    rm -f /var/run/docker.pid
  fi
  nohup dockerd >>"$LOG" 2>&1 </dev/null &
  disown || true
fi

for _ in $(seq 1 120); do
  if answers; then
    say "engine up ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
    exit 0
  fi
  sleep 0.5
done
say "dockerd did not answer within 60 s; last lines of $LOG:"
tail -n 20 "$LOG" >&2 2>/dev/null || true
exit 1

#!/usr/bin/env bash
# Builds the local demo images pinsetter/busybox:1 and pinsetter/busybox:2
# with `docker import` of a busybox-static root filesystem (no registry is
# reachable here). Both serve HTTP on 8080 with busybox httpd; the page names
# the pod (its hostname) and the image version, so a rollout from :1 to :2 is
# visible in the answers:  "hello from web-abc12 v1"
# Every busybox applet is linked (sh, sleep, wget, nc, ...) so probes and
# crash tests can run commands inside. Idempotent: existing tags are kept
# unless --force is given.
# Usage: scripts/demo-image.sh [--force]
set -euo pipefail

FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1
REPO="pinsetter/busybox"
say() { echo "demo-image: $*" >&2; }

BUSYBOX=""
for c in /bin/busybox /usr/bin/busybox; do
  if [ -x "$c" ] && file -L "$c" 2>/dev/null | grep -q 'statically linked'; then BUSYBOX="$c"; break; fi
done
if [ -z "$BUSYBOX" ]; then
  # `file` may be missing; trust the busybox-static package's binary then.
  for c in /bin/busybox /usr/bin/busybox; do [ -x "$c" ] && BUSYBOX="$c" && break; done
fi
if [ -z "$BUSYBOX" ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  say "installing busybox-static"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null
  BUSYBOX=/bin/busybox
fi
[ -n "$BUSYBOX" ] || { say "busybox-static is needed (apt-get install busybox-static)"; exit 1; }

docker info >/dev/null 2>&1 || { say "no Docker engine answers; run scripts/docker-engine.sh first"; exit 1; }

need=()
for v in 1 2; do
  if [ "$FORCE" -eq 1 ] || ! docker image inspect "$REPO:$v" >/dev/null 2>&1; then need+=("$v"); fi
done
[ "${#need[@]}" -eq 0 ] && exit 0

ROOT=$(mktemp -d)
trap 'rm -rf "$ROOT"' EXIT
mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/sbin,etc,www,tmp,proc,sys,dev,root}
chmod 1777 "$ROOT/tmp"
cp "$BUSYBOX" "$ROOT/bin/busybox"
# Link every applet into /bin (one place on PATH is enough).
for applet in $("$ROOT/bin/busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$ROOT/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' > "$ROOT/etc/passwd"
echo 'root:x:0:' > "$ROOT/etc/group"
echo 'nobody:x:65534:65534:nobody:/:/bin/false' >> "$ROOT/etc/passwd"
echo 'nogroup:x:65534:' >> "$ROOT/etc/group"
TAR="$ROOT.tar"
tar -C "$ROOT" -cf "$TAR" .
trap 'rm -rf "$ROOT" "$TAR"' EXIT

for v in "${need[@]}"; do
  say "importing $REPO:$v"
  docker import \
    -c "ENV PATH=/bin:/sbin:/usr/bin:/usr/sbin" \
    -c "ENV VERSION=$v" \
    -c "EXPOSE 8080" \
    -c 'CMD ["/bin/sh","-c","echo \"hello from $(hostname) v${VERSION}${GREETING:+ $GREETING}\" > /www/index.html; exec httpd -f -p 8080 -h /www"]' \
    "$TAR" "$REPO:$v" >/dev/null
done
say "ready: ${need[*]/#/$REPO:}"

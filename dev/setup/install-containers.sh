#!/bin/sh
# Installs the daemonless container tools the image tests use (dev/deploy/images.int.test.ts): podman (build
# and run), Debian's runc (podman's default crun refuses this machine's hybrid cgroup layout) and buildah
# (`npm run deploy` accepts it as the builder). Debian packages; quick when already present.
# Set CONTAINER_TOOLS_SKIP=1 to skip (the image tests then fail, saying podman is missing).
set -eu
[ "${CONTAINER_TOOLS_SKIP:-0}" = "1" ] && exit 0
missing=""
command -v podman >/dev/null 2>&1 || missing="$missing podman"
[ -x /usr/sbin/runc ] || missing="$missing runc"
command -v buildah >/dev/null 2>&1 || missing="$missing buildah"
[ -z "$missing" ] && exit 0
echo "[container-tools] apt-get install$missing"
if [ "$(id -u)" -ne 0 ]; then
  echo "[container-tools] not root: install$missing yourself (sudo apt-get install$missing)" >&2
  exit 1
fi
t=$(date +%s)
apt-get -o DPkg::Lock::Timeout=300 update -qq
DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends $missing >/dev/null
echo "[container-tools] debian packages: $(( $(date +%s) - t ))s"

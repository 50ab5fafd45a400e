#!/bin/sh
# Assembles, without any registry, the two base images the Dockerfile needs, from this machine's own Node:
#   localhost/market-node-runtime  /nodejs/bin/node + its shared libraries + passwd/group (uid 65532), like
#                                  distroless nodejs (same node path, no shell)
#   localhost/market-node-build    the runtime plus npm and busybox-static (sh, test, rm, mv) for the RUN steps
# so `buildah bud --build-arg BUILD_IMAGE=localhost/market-node-build --build-arg RUNTIME_IMAGE=localhost/market-node-runtime`
# builds the real Dockerfile offline. Needs buildah (and busybox-static) from Debian; uses the vfs driver and
# chroot isolation, which work without a daemon or user namespaces.
set -eu
export STORAGE_DRIVER="${STORAGE_DRIVER:-vfs}" BUILDAH_ISOLATION="${BUILDAH_ISOLATION:-chroot}"
node=$(readlink -f "$(command -v node)")
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
busybox=$(command -v busybox)
tag=$("$node" -p process.version)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

root="$work/runtime"
mkdir -p "$root/nodejs/bin" "$root/etc" "$root/tmp" "$root/home/nonroot"
cp "$node" "$root/nodejs/bin/node"
for lib in $(ldd "$node" | grep -o '/[^ ]*'); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$root/etc/group"
cp /etc/resolv.conf /etc/hosts "$root/etc/" 2>/dev/null || true
mkdir -p "$root/etc/ssl/certs" && cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/" 2>/dev/null || true
chmod 1777 "$root/tmp"
chown 65532:65532 "$root/home/nonroot"

c=$(buildah from scratch)
buildah copy "$c" "$root" / >/dev/null
buildah config --user 65532:65532 --workingdir /home/nonroot --env PATH=/nodejs/bin:/usr/bin:/bin \
  --entrypoint '["/nodejs/bin/node"]' "$c"
buildah commit -q --rm "$c" "localhost/market-node-runtime:$tag" >/dev/null
buildah tag "localhost/market-node-runtime:$tag" localhost/market-node-runtime:latest

build="$work/build"
mkdir -p "$build/usr/lib/node_modules" "$build/bin" "$build/usr/bin" "$build/root"
cp -a "$npm_dir" "$build/usr/lib/node_modules/npm"
cp "$busybox" "$build/bin/busybox"
for tool in sh test rm mv cp mkdir ls cat env; do ln -s busybox "$build/bin/$tool"; done
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$build/usr/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$build/usr/bin/npx"
ln -s /nodejs/bin/node "$build/usr/bin/node"
ln -s /bin/busybox "$build/usr/bin/env"
c=$(buildah from "localhost/market-node-runtime:$tag")
buildah copy "$c" "$build" / >/dev/null
buildah config --user 0:0 --workingdir / --entrypoint '[]' --cmd '["/bin/sh"]' "$c"
buildah commit -q --rm "$c" "localhost/market-node-build:$tag" >/dev/null
buildah tag "localhost/market-node-build:$tag" localhost/market-node-build:latest
echo "localhost/market-node-runtime:$tag localhost/market-node-build:$tag"

#!/bin/sh
# Assembles, without any registry, the runtime base the Dockerfile's RUNTIME_IMAGE argument selects in tests:
#   localhost/market-node-runtime:<node version>-<content hash>
# a minimal root filesystem like distroless nodejs (node at /nodejs/bin/node, no shell, no package manager):
# this machine's Node binary, the shared libraries it links, passwd/group with nonroot (uid 65532) and the CA
# bundle, imported with `podman import`. The cluster build keeps the Dockerfile's public distroless base;
# this one only stands in for it where no image registry is reachable (Node is the host's, not 22).
# The tag holds a hash of the content, so an unchanged base is reused (seconds) and a changed one rebuilt.
# Prints the image name. Needs podman (Debian: podman runc).
set -eu
node=$(readlink -f "$(command -v node)")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/root"
mkdir -p "$root/nodejs/bin" "$root/etc/ssl/certs" "$root/tmp" "$root/home/nonroot"
cp "$node" "$root/nodejs/bin/node"
for lib in $(ldd "$node" | grep -o '/[^ ]*'); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$root/etc/group"
cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
chmod 1777 "$root/tmp"
chown 65532:65532 "$root/home/nonroot"
# A reproducible tar (fixed order, owners and times): the same host gives the same hash, hence the same tag.
tar --sort=name --mtime=@0 --numeric-owner --owner=0 --group=0 -C "$root" -cf "$work/rootfs.tar" \
  --exclude=./home/nonroot . && tar --mtime=@0 --numeric-owner --owner=65532 --group=65532 -C "$root" \
  -rf "$work/rootfs.tar" ./home/nonroot
hash=$(sha256sum "$work/rootfs.tar" | cut -c1-12)
image="localhost/market-node-runtime:$("$node" -p 'process.version.slice(1)')-$hash"
if ! podman image exists "$image"; then
  podman import --quiet \
    --change 'USER=65532:65532' --change 'WORKDIR=/home/nonroot' \
    --change 'ENV=PATH=/nodejs/bin:/usr/bin:/bin' --change 'ENTRYPOINT=["/nodejs/bin/node"]' \
    "$work/rootfs.tar" "$image" >/dev/null
fi
echo "$image"

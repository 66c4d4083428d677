#!/usr/bin/env bash
# Builds the relsync container image without a container daemon, with umoci and skopeo
# (Debian packages): a static relsync, Debian's CA bundle and a static busybox as /bin/sh
# with its applets. No compiler, no package manager, no libc.
#
#   dist/image/oci/         OCI image layout, tag <version>
#   dist/image/relsync.tar  docker-archive: `docker load -i dist/image/relsync.tar`
#
# Usage: scripts/build-image.sh [RELSYNC_BINARY]
#   default binary: ${CARGO_TARGET_DIR:-target}/x86_64-unknown-linux-musl/release/relsync
#   IMAGE_NAME (default relsync/relsync), IMAGE_DIR (default dist/image),
#   BUSYBOX (default /bin/busybox from busybox-static), CA_BUNDLE (default
#   /etc/ssl/certs/ca-certificates.crt), ARCH (default amd64), RELSYNC_SETUP=0 skips installing tools.
# The Dockerfile at the repository root gives the same file system for docker, kaniko or buildah.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-${CARGO_TARGET_DIR:-target}/x86_64-unknown-linux-musl/release/relsync}
name=${IMAGE_NAME:-relsync/relsync}
out=${IMAGE_DIR:-dist/image}
busybox=${BUSYBOX:-/bin/busybox}
ca=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
arch=${ARCH:-amd64}
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
created=$(git log -1 --format=%cI 2>/dev/null || date -u +%Y-%m-%dT%H:%M:%SZ)

if [ "${RELSYNC_SETUP:-1}" = 1 ] && { ! command -v umoci >/dev/null || ! command -v skopeo >/dev/null || [ ! -x "$busybox" ] || [ ! -f "$ca" ]; }; then
  apt-get update -qq && apt-get install -y -qq umoci skopeo busybox-static ca-certificates >/dev/null
fi
for need in "$bin" "$busybox" "$ca"; do
  [ -f "$need" ] || { echo "error: $need not found" >&2; exit 2; }
done
if readelf -lW "$bin" 2>/dev/null | grep -q 'Requesting program interpreter'; then
  echo "error: $bin is not static (build it with scripts/build-dist.sh)" >&2; exit 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rm -rf "$out" && mkdir -p "$out"
layout="$out/oci"
rootless=(); [ "$(id -u)" = 0 ] || rootless=(--rootless)

umoci init --layout "$layout"
umoci new --image "$layout:$version"
umoci unpack "${rootless[@]}" --image "$layout:$version" "$work/bundle"
root="$work/bundle/rootfs"
scripts/image-rootfs.sh "$root" "$bin" "$busybox" "$ca"
# The same modification time on every file, so that the layer depends only on the inputs.
find "$root" -exec touch -h -d "$created" {} +

umoci repack --image "$layout:$version" --history.created "$created" \
  --history.created_by "scripts/build-image.sh" "$work/bundle"
umoci config --image "$layout:$version" --created "$created" --os linux --architecture "$arch" \
  --config.env PATH=/usr/local/bin:/usr/bin:/bin --config.workingdir / \
  --config.cmd relsync --config.cmd --help \
  --config.label org.opencontainers.image.title=relsync \
  --config.label "org.opencontainers.image.version=$version" \
  --config.label "org.opencontainers.image.revision=$revision" \
  --config.label org.opencontainers.image.source=https://github.com/relsync/relsync \
  --config.label "org.opencontainers.image.licenses=MIT OR Apache-2.0" \
  --history.created "$created" --history.created_by "scripts/build-image.sh (config)"
umoci gc --layout "$layout"
skopeo copy --quiet "oci:$layout:$version" "docker-archive:$out/relsync.tar:$name:$version"

compressed=$(skopeo inspect --raw "oci:$layout:$version" | python3 -c 'import json,sys; m=json.load(sys.stdin); print(sum(l["size"] for l in m["layers"]) + m["config"]["size"])')
echo "image $name:$version ($arch): $compressed bytes compressed; $out/oci and $out/relsync.tar"

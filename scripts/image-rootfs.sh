#!/bin/sh
# Lays out the relsync image's root file system in ROOT: the static relsync, a static busybox
# as /bin/sh with its applets (no package managers), the CA bundle, /etc/passwd and /etc/group,
# /root, /builds and a world-writable /tmp. Shared by scripts/build-image.sh (daemonless) and
# the Dockerfile, so that both give the same image.
#
# Usage: scripts/image-rootfs.sh ROOT RELSYNC_BINARY BUSYBOX CA_BUNDLE
set -eu
[ $# -eq 4 ] || { echo "usage: $0 ROOT RELSYNC_BINARY BUSYBOX CA_BUNDLE" >&2; exit 2; }
root=$1 bin=$2 busybox=$3 ca=$4
install -d -m 0755 "$root/bin" "$root/usr/local/bin" "$root/etc/ssl/certs" "$root/root" "$root/builds"
install -d -m 1777 "$root/tmp"
install -m 0755 "$busybox" "$root/bin/busybox"
# Every applet as a link, so that the runner's job script finds sh, mkdir, cat, rm, env...;
# except busybox's package managers.
for applet in $("$busybox" --list); do
  case "$applet" in dpkg|dpkg-deb|rpm|rpm2cpio) continue ;; esac
  [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
install -m 0755 "$bin" "$root/usr/local/bin/relsync"
install -m 0644 "$ca" "$root/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"

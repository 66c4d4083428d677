#!/usr/bin/env bash
# Checks the image that scripts/build-image.sh made, the way a CI job meets it:
#   - skopeo reads the OCI layout and the docker-archive; config, platform and labels;
#   - the file system holds relsync, the CA bundle and /bin/sh, and no compiler or package manager;
#   - the docker-archive unpacks (skopeo, then umoci) and, chrooted into that root file system,
#     `relsync --version` runs and `sh -c 'relsync plan --offline'` plans a tagged repository;
#   - the compressed size is at most IMAGE_MAX_BYTES (default 12 MB).
# Prints the figures (sizes, time from the archive to a first `relsync --version`).
# Usage: scripts/check-image.sh   (IMAGE_DIR, default dist/image; needs root for chroot)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${IMAGE_DIR:-dist/image}
max=${IMAGE_MAX_BYTES:-12000000}
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
fail() { echo "image check failed: $*" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

config=$(skopeo inspect --config "oci:$out/oci:$version")
python3 - "$config" <<'PY' || fail "config"
import json, sys
c = json.loads(sys.argv[1])
assert c["os"] == "linux", c["os"]
cfg = c["config"]
assert cfg["Cmd"] == ["relsync", "--help"], cfg.get("Cmd")
assert not cfg.get("Entrypoint"), "an entrypoint breaks GitLab's script: jobs"
assert any(e.startswith("PATH=") and "/usr/local/bin" in e for e in cfg["Env"]), cfg["Env"]
assert cfg["Labels"]["org.opencontainers.image.version"], cfg["Labels"]
PY
skopeo inspect "docker-archive:$out/relsync.tar" >/dev/null || fail "docker-archive unreadable"
compressed=$(skopeo inspect --raw "oci:$out/oci:$version" | python3 -c 'import json,sys; m=json.load(sys.stdin); print(sum(l["size"] for l in m["layers"]) + m["config"]["size"])')
[ "$compressed" -le "$max" ] || fail "$compressed bytes compressed, more than $max"

# A cold job: the runner has only the archive; it unpacks it and starts relsync.
start=$(date +%s%N)
skopeo copy --quiet "docker-archive:$out/relsync.tar" "oci:$work/pulled:relsync"
umoci unpack --image "$work/pulled:relsync" "$work/bundle" >/dev/null
root="$work/bundle/rootfs"
first=$(chroot "$root" /usr/local/bin/relsync --version)
cold_ms=$(( ($(date +%s%N) - start) / 1000000 ))
case "$first" in "relsync $version (commit "*) ;; *) fail "relsync --version printed: $first" ;; esac

[ -x "$root/bin/sh" ] || fail "no /bin/sh"
[ -s "$root/etc/ssl/certs/ca-certificates.crt" ] || fail "no CA bundle"
for tool in cc gcc ld rustc cargo apt apt-get dpkg dpkg-deb rpm apk pip python3 perl; do
  for dir in bin usr/bin usr/local/bin sbin usr/sbin; do
    [ ! -e "$root/$dir/$tool" ] || fail "$dir/$tool is in the image"
  done
done
[ ! -e "$root/lib/ld-musl-x86_64.so.1" ] && [ ! -d "$root/usr/lib/x86_64-linux-gnu" ] || fail "a libc is in the image"

# A job's script: a tagged repository, planned offline through the image's shell.
repo="$root/builds/app"
mkdir -p "$repo"
git -C "$repo" init -q -b main
git -C "$repo" -c user.name=CI -c user.email=ci@example.com commit -q --allow-empty -m "feat: first"
git -C "$repo" tag v0.1.0
git -C "$repo" -c user.name=CI -c user.email=ci@example.com commit -q --allow-empty -m "fix: second"
git -C "$repo" tag v0.2.0
plan=$(chroot "$root" /bin/sh -c 'cd /builds/app && relsync plan --offline' 2>&1) || fail "relsync plan --offline: $plan"
case "$plan" in *v0.2.0*) ;; *) fail "the plan does not name the tag: $plan" ;; esac
notes=$(chroot "$root" /bin/sh -c 'cd /builds/app && relsync notes | grep -c second') || fail "relsync notes"
[ "$notes" -ge 1 ] || fail "the notes miss the commit"

rootfs_bytes=$(du -sb "$root" --exclude=builds | cut -f1)
echo "image ok: $compressed bytes compressed, $rootfs_bytes bytes unpacked, ${cold_ms} ms from archive to a first relsync --version"
echo "$compressed $rootfs_bytes $cold_ms" > "$out/figures"

#!/usr/bin/env bash
# Builds fully static relsync binaries (musl; libgit2 and zlib compiled in) and packs them:
#
#   dist/relsync-<target>.tar.gz          relsync, README.md, LICENSE-MIT, LICENSE-APACHE
#   dist/relsync-<target>.tar.gz.sha256   "<sha256>  relsync-<target>.tar.gz" (sha256sum -c)
#   dist/SHA256SUMS                       every archive in dist/
#
# Usage: scripts/build-dist.sh [TARGET...]
#   default targets: x86_64-unknown-linux-musl aarch64-unknown-linux-musl
#   x86_64 musl builds with musl-gcc (Debian's musl-tools) on an x86_64 host; every other
#   target cross-links with cargo-zigbuild and Zig (PyPI's cargo-zigbuild and ziglang).
#   DIST_DIR (default dist) is where the archives go; RELSYNC_SETUP=0 skips installing tools.
#   macOS targets (on a macOS host) build with plain cargo.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(x86_64-unknown-linux-musl aarch64-unknown-linux-musl)
dist=${DIST_DIR:-dist}
target_dir=${CARGO_TARGET_DIR:-target}
host=$(rustc -vV | sed -n 's/^host: //p')
setup=${RELSYNC_SETUP:-1}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

need_zig() {
  if ! command -v cargo-zigbuild >/dev/null || ! python3 -m ziglang version >/dev/null 2>&1; then
    [ "$setup" = 1 ] || { echo "error: cargo-zigbuild and ziglang are needed: pip install cargo-zigbuild ziglang" >&2; exit 2; }
    python3 -m pip install --quiet --disable-pip-version-check ziglang cargo-zigbuild
    hash -r
  fi
}

build() {
  local target=$1
  if [ "$setup" = 1 ]; then rustup target list --installed | grep -qx "$target" || rustup target add "$target"; fi
  case "$target" in
    "$host")
      cargo build --locked --release --target "$target" ;;
    x86_64-unknown-linux-musl)
      if [ "$host" = x86_64-unknown-linux-gnu ]; then
        if ! command -v musl-gcc >/dev/null; then
          [ "$setup" = 1 ] || { echo "error: musl-gcc is needed: apt-get install musl-tools" >&2; exit 2; }
          as_root apt-get update -qq && as_root apt-get install -y -qq musl-tools >/dev/null
        fi
        CC_x86_64_unknown_linux_musl=musl-gcc cargo build --locked --release --target "$target"
      else
        need_zig && cargo zigbuild --locked --release --target "$target"
      fi ;;
    *-apple-darwin)
      cargo build --locked --release --target "$target" ;;
    *)
      need_zig && cargo zigbuild --locked --release --target "$target" ;;
  esac
}

sha256() { if command -v sha256sum >/dev/null; then sha256sum "$@"; else shasum -a 256 "$@"; fi; }

mkdir -p "$dist"
for target in "${targets[@]}"; do
  start=$SECONDS
  build "$target"
  bin="$target_dir/$target/release/relsync"
  case "$target" in
    *-linux-*)
      # A static binary has no program interpreter and no needed libraries.
      if command -v readelf >/dev/null && readelf -lW "$bin" | grep -q 'Requesting program interpreter'; then
        echo "error: $bin is dynamically linked" >&2; exit 1
      fi ;;
  esac
  stage=$(mktemp -d)
  cp "$bin" README.md LICENSE-MIT LICENSE-APACHE "$stage/"
  archive="relsync-$target.tar.gz"
  files=(relsync README.md LICENSE-MIT LICENSE-APACHE)
  if tar --version 2>/dev/null | grep -q 'GNU tar'; then
    # Reproducible archive: fixed order, owner and mtime (the commit's time).
    mtime=$(git log -1 --format=%ct 2>/dev/null || echo 0)
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$mtime" \
      -C "$stage" -cf - "${files[@]}" | gzip -n -9 > "$dist/$archive"
  else
    tar -C "$stage" -cf - "${files[@]}" | gzip -n -9 > "$dist/$archive"
  fi
  rm -rf "$stage"
  (cd "$dist" && sha256 "$archive" > "$archive.sha256")
  printf '%s: %s bytes binary, %s bytes archive, built in %ss\n' "$target" \
    "$(wc -c < "$bin" | tr -d ' ')" "$(wc -c < "$dist/$archive" | tr -d ' ')" "$((SECONDS - start))"
done
(cd "$dist" && cat relsync-*.tar.gz.sha256 | LC_ALL=C sort -k2 > SHA256SUMS && sha256 -c SHA256SUMS >/dev/null)
echo "wrote $dist/SHA256SUMS"

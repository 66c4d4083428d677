#!/usr/bin/env bash
# Measures the figures the README's Install section states, from what scripts/build-dist.sh
# and scripts/build-image.sh made: each binary's and archive's size, the image's compressed and
# unpacked size, and the time from a cold job (only the image archive on disk) to a first
# `relsync --version` (median of FIGURE_RUNS runs of scripts/check-image.sh, default 5), and
# the requests of a first release as the test emulators count them (FIGURE_REQUESTS=0 skips).
# Prints markdown table rows.
# Usage: scripts/figures.sh   (DIST_DIR, default dist; IMAGE_DIR, default $DIST_DIR/image)
set -euo pipefail
cd "$(dirname "$0")/.."
dist=${DIST_DIR:-dist}
image=${IMAGE_DIR:-$dist/image}
runs=${FIGURE_RUNS:-5}
mb() { python3 -c "import sys; print(f'{int(sys.argv[1]) / 1e6:.1f} MB')" "$1"; }
for archive in "$dist"/relsync-*.tar.gz; do
  [ -f "$archive" ] || continue
  target=$(basename "$archive" .tar.gz); target=${target#relsync-}
  binary=$(tar -xOzf "$archive" relsync | wc -c | tr -d ' ')
  echo "| \`relsync\` for \`$target\` | $(mb "$binary") (archive $(mb "$(wc -c < "$archive" | tr -d ' ')")) |"
done
if [ -d "$image/oci" ]; then
  colds=()
  for _ in $(seq "$runs"); do
    IMAGE_DIR="$image" scripts/check-image.sh >/dev/null
    read -r compressed unpacked cold < "$image/figures"
    colds+=("$cold")
  done
  median=$(printf '%s\n' "${colds[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
  echo "| image, compressed (unpacked) | $(mb "$compressed") ($(mb "$unpacked")) |"
  echo "| cold job to a first \`relsync --version\` (median of $runs) | $median ms |"
fi
if [ "${FIGURE_REQUESTS:-1}" = 1 ]; then
  cargo test --quiet --test all first_run_looks_up -- --nocapture --test-threads=1 2>/dev/null |
    sed -n 's/.*figure: \(.*\): \(.*\)$/| \1 | \2 |/p'
fi

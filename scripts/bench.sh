#!/usr/bin/env bash
# Benchmark the changelog engine against plain git on a repository shaped like a busy real
# one (27,000 linear commits, 12,000 release tags, two package directories).
#
#   scripts/bench.sh            # build the repo once (cached), build, measure, print a table
#   BENCH_RUNS=20 scripts/bench.sh
#   BENCH_REBUILD=1 scripts/bench.sh   # regenerate target/bench-repo
#
# The repository is generated with `git fast-import` from scripts/gen_bench_repo.py (fixed
# dates, deterministic), then cloned with `git clone --no-local` so it looks like a CI clone
# (one pack, packed refs with peeled tags, no commit-graph). It lives in target/bench-repo.
#
# relsync is measured through `examples/changelog_bench.rs`, which calls
# `relsync::changelog::collect` (tag resolution, previous-tag search, range walk, message
# parsing, grouping): the engine behind `relsync notes`, without template rendering.
# Uses hyperfine when installed (`apt-get install -y hyperfine`), else a timing loop.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
COMMITS=${BENCH_COMMITS:-27000}
TAGS=${BENCH_TAGS:-12000}
RUNS=${BENCH_RUNS:-10}
dir=$root/target/bench-repo
repo=$dir/work
meta=$dir/meta.env

# Isolate git from the user's and the system's configuration.
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null GIT_TERMINAL_PROMPT=0
unset GIT_DIR GIT_WORK_TREE

stamp="$COMMITS-$TAGS-$(sha256sum scripts/gen_bench_repo.py | cut -c1-16)"
if [[ -n ${BENCH_REBUILD:-} || ! -f $dir/stamp || $(cat "$dir/stamp") != "$stamp" ]]; then
    echo "building $dir ($COMMITS commits, $TAGS tags)..." >&2
    rm -rf "$dir"
    mkdir -p "$dir"
    git init -q --bare -b main "$dir/src.git"
    python3 scripts/gen_bench_repo.py "$COMMITS" "$TAGS" "$meta" |
        git -C "$dir/src.git" fast-import --quiet
    git clone -q --no-local "$dir/src.git" "$repo"
    echo "$stamp" >"$dir/stamp"
fi
# shellcheck disable=SC1090
source "$meta"

echo "building the benchmark binary (cargo build --release --example changelog_bench)..." >&2
cargo build -q --release --example changelog_bench
bench=$root/target/release/examples/changelog_bench

# median_ms CMD...: median wall time in milliseconds over $RUNS runs (output discarded).
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
median_ms() {
    if command -v hyperfine >/dev/null; then
        hyperfine -N --style none --warmup 2 --runs "$RUNS" --export-json "$tmp/h.json" \
            -- "$(printf '%q ' "$@")" >/dev/null 2>&1
        python3 -c 'import json,sys; print("%.1f" % (json.load(open(sys.argv[1]))["results"][0]["median"]*1000))' "$tmp/h.json"
    else
        "$@" >/dev/null 2>&1 # warm-up
        local times=() i start end
        for ((i = 0; i < RUNS; i++)); do
            start=$(date +%s%N)
            "$@" >/dev/null 2>&1
            end=$(date +%s%N)
            times+=($(((end - start) / 1000)))
        done
        printf '%s\n' "${times[@]}" | sort -n |
            awk '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; printf "%.1f\n", m/1000}'
    fi
}

count() { "$bench" "$@" | awk '{print $1}'; }
row() { # name, git revision args (word-split), relsync args...
    local name=$1 spec=$2
    shift 2
    local r g n gn
    n=$(count "$repo" "$@")
    # shellcheck disable=SC2086
    gn=$(git -C "$repo" rev-list --count $spec)
    r=$(median_ms "$bench" "$repo" "$@")
    # shellcheck disable=SC2086
    g=$(median_ms git -C "$repo" log --format=%H%n%B $spec)
    printf '| %-46s | %7s | %7s | %10s ms | %10s ms |\n' "$name" "$n" "$gn" "$r" "$g"
}

echo
echo "repo: $COMMITS commits, $TAGS tags ($(git -C "$repo" count-objects -vH | awk '/size-pack/ {print $2 $3}') pack); runs: $RUNS; timer: $(command -v hyperfine >/dev/null && hyperfine --version || echo 'date +%s%N loop, median')"
echo "machine: $(nproc) cores, $(git --version), $(rustc --version)"
echo
printf '| %-46s | %7s | %7s | %13s | %13s |\n' case relsync git "relsync" "git log"
printf '|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..48})" "$(printf -- '-%.0s' {1..9})" "$(printf -- '-%.0s' {1..9})" "$(printf -- '-%.0s' {1..15})" "$(printf -- '-%.0s' {1..15})"
row "(a) latest release, tag at HEAD" "$PREVIOUS..$LATEST" \
    --tag "$LATEST"
row "(b) $RANGE_FROM..$LATEST" "$RANGE_FROM..$LATEST" \
    --tag "$LATEST" --since "$RANGE_FROM"
row "(c) same range, paths packages/api/**" "$RANGE_FROM..$LATEST -- packages/api" \
    --tag "$LATEST" --since "$RANGE_FROM" --paths 'packages/api/**'
row "(d) full history, first release" "$LATEST" \
    --tag "$LATEST" --ignore-tags '*'
echo
echo "columns: commits found by relsync and by \`git rev-list --count\`; median wall time of"
echo "examples/changelog_bench (changelog::collect: tag listing, previous-tag search, range walk,"
echo "message parsing, grouping) and of \`git log --format=%H%n%B <range> [-- path]\`."

#!/usr/bin/env bash
# Benchmark `relsync notes` against plain git on a repository shaped like a busy real one:
# 27,000 linear commits, 12,000 release tags in packed-refs, a tree of ~3,700 files in ~320
# directories, messages with bodies and trailers of real lengths, 900 authors.
#
#   scripts/bench.sh                   # build the repo once (cached), build, measure, print a table
#   BENCH_RUNS=40 scripts/bench.sh     # more runs per median (default 20)
#   BENCH_REBUILD=1 scripts/bench.sh   # regenerate target/bench-repo
#   BENCH_PROFILE=fast scripts/bench.sh  # thin LTO, 16 codegen units: quicker to build
#
# The repository is generated with `git fast-import` from scripts/gen_bench_repo.py (fixed
# dates, deterministic), then cloned with `git clone --no-local` so it looks like a CI clone
# (one pack, packed refs with peeled tags, no commit-graph). It lives in target/bench-repo.
#
# relsync is measured as users run it: the release binary, `relsync notes -C <repo> -f
# <manifest> --tag <tag>` (manifest reading, tag resolution, previous-tag search, range walk,
# message parsing, grouping, contributors, template rendering, writing the notes). The
# figures use the release profile of Cargo.toml (fat LTO, one codegen unit) unless
# BENCH_PROFILE=fast, which the table's header then says.
# Uses hyperfine when installed (`apt-get install -y hyperfine`), else a timing loop.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
COMMITS=${BENCH_COMMITS:-27000}
TAGS=${BENCH_TAGS:-12000}
RUNS=${BENCH_RUNS:-20}
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
# The same history with one more release on top, by someone who never committed before: a
# release with a first-time contributor, the usual case in an open project. Knowing that
# they are new means reading every commit before the release.
NEWCOMER=v99.0.0
newcomer=$dir/newcomer
if [[ ! -d $newcomer ]]; then
    git clone -q --no-local "$repo" "$newcomer"
    GIT_AUTHOR_DATE="2030-01-01T00:00:00Z" GIT_COMMITTER_DATE="2030-01-01T00:00:00Z" \
        git -C "$newcomer" -c user.name="New Contributor" -c user.email=new@example.org \
        commit -q --allow-empty -m "fix(api): handle an empty page (#99999)"
    git -C "$newcomer" tag "$NEWCOMER"
fi

profile="release (fat LTO, codegen-units 1)"
if [[ ${BENCH_PROFILE:-} == fast ]]; then
    export CARGO_PROFILE_RELEASE_LTO=thin CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
    profile="release with thin LTO, codegen-units 16 (BENCH_PROFILE=fast)"
fi
echo "building relsync (cargo build --release, $profile)..." >&2
cargo build -q --release --bin relsync
bench=${CARGO_TARGET_DIR:-$root/target}/release/relsync

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# One manifest per case, outside the repository: what a project's release.yml would say.
manifest() {
    local name=$1
    shift
    printf '%s\n' "changelog:" '  tag_pattern: "v*"' "$@" >"$tmp/$name.yml"
    echo "$tmp/$name.yml"
}
m_latest=$(manifest latest)
m_range=$(manifest range "  since: $RANGE_FROM")
m_paths=$(manifest paths "  since: $RANGE_FROM" '  paths: ["packages/api/**"]')
# The whole history's notes with the built-in template are over the 1 MiB notes limit
# (27,000 entries), which relsync refuses: (d) renders every group, every commit's short
# id and every contributor (with first_time) instead, about 230 KB.
cat >"$tmp/short.md.j2" <<'J2'
{% for g in groups %}## {{ g.title }}
{% for c in g.commits %}{{ c.short_id }} {% endfor %}
{% endfor %}{% for p in contributors %}{{ p.name }}{% if p.first_time %} (new){% endif %}, {% endfor %}
J2
# (b) without first_time: the built-in template with its `(first contribution)` mark removed,
# so nothing reads the history before the previous release.
sed 's/{% if previous_tag and p.first_time %} (first contribution){% endif %}//' \
    templates/release.md.j2 >"$tmp/no-first-time.md.j2"
grep -q first_time "$tmp/no-first-time.md.j2" && { echo "the built-in template changed: update bench.sh" >&2; exit 1; }
m_range_plain=$(manifest range-plain "  since: $RANGE_FROM")
printf '%s\n' release: '  notes:' "    template: $tmp/no-first-time.md.j2" >>"$m_range_plain"
m_full=$(manifest full '  ignore_tags: "*"')
printf '%s\n' release: '  notes:' "    template: $tmp/short.md.j2" >>"$m_full"
# times_ms FILE N CMD...: run CMD N times (output discarded) after one warm-up run and
# append each wall time, in milliseconds, to FILE, one a line.
times_ms() {
    local file=$1 runs=$2
    shift 2
    if command -v hyperfine >/dev/null; then
        hyperfine -N --style none --warmup 1 --runs "$runs" --export-json "$tmp/h.json" \
            -- "$(printf '%q ' "$@")" >/dev/null 2>&1
        python3 -c 'import json,sys; [print("%.3f" % (t * 1000)) for t in json.load(open(sys.argv[1]))["results"][0]["times"]]' \
            "$tmp/h.json" >>"$file"
    else
        "$@" >/dev/null 2>&1 # warm-up
        local i start end
        for ((i = 0; i < runs; i++)); do
            start=$(date +%s%N)
            "$@" >/dev/null 2>&1
            end=$(date +%s%N)
            awk -v us=$(((end - start) / 1000)) 'BEGIN {printf "%.3f\n", us / 1000}' >>"$file"
        done
    fi
}
# median FILE: the median of the numbers in FILE, one decimal.
median() {
    sort -n "$1" | awk '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; printf "%.1f\n", m}'
}
# median_ms CMD...: median wall time in milliseconds over $RUNS runs.
median_ms() {
    : >"$tmp/m"
    times_ms "$tmp/m" "$RUNS" "$@"
    median "$tmp/m"
}
# The machine is shared and its load comes in bursts: relsync and git are timed in
# alternating chunks of runs, so that both see the same conditions, and each median is
# taken over all of its runs.
CHUNK=5
RUNS=$(((RUNS + CHUNK - 1) / CHUNK * CHUNK))

# count MANIFEST: how many commits the notes list (from `notes --output json`).
count() {
    "$bench" notes -C "$repo" -f "$1" --tag "$LATEST" --output json |
        python3 -c 'import json,sys; print(len(json.load(sys.stdin)["commits"]))'
}
# row NAME SPEC TARGET MANIFEST: TARGET is `N` (relsync at most N times git) or `Nms`
# (relsync at most N ms; the git column is then for reference, no ratio).
row() {
    local name=$1 spec=$2 target=$3 manifest=$4
    local r g n gn ratio goal met
    n=$(count "$manifest")
    # shellcheck disable=SC2086
    gn=$(git -C "$repo" rev-list --count $spec)
    local -a relsync=("$bench" notes -C "$repo" -f "$manifest" --tag "$LATEST")
    # shellcheck disable=SC2206
    local -a git_log=(git -C "$repo" log --format=%H%n%B $spec)
    : >"$tmp/relsync"
    : >"$tmp/git"
    local done_runs
    for ((done_runs = 0; done_runs < RUNS; done_runs += CHUNK)); do
        times_ms "$tmp/relsync" "$CHUNK" "${relsync[@]}"
        times_ms "$tmp/git" "$CHUNK" "${git_log[@]}"
    done
    r=$(median "$tmp/relsync")
    g=$(median "$tmp/git")
    if [[ $target == *ms ]]; then
        ratio="n/a"
        goal="<= ${target%ms} ms"
        met=$(awk -v r="$r" -v t="${target%ms}" 'BEGIN {print (r <= t) ? "yes" : "NO"}')
    else
        ratio=$(awk -v r="$r" -v g="$g" 'BEGIN {printf "%.2fx", r / g}')
        goal="<= ${target}x git"
        met=$(awk -v r="$r" -v g="$g" -v t="$target" 'BEGIN {print (r <= t * g) ? "yes" : "NO"}')
    fi
    printf '| %-40s | %7s | %7s | %10s ms | %10s ms | %6s | %-12s | %-3s |\n' \
        "$name" "$n" "$gn" "$r" "$g" "$ratio" "$goal" "$met"
}
dashes() { printf -- '-%.0s' $(seq 1 "$1"); }

echo
echo "repo: $COMMITS commits, $TAGS tags ($(git -C "$repo" count-objects -vH | awk '/size-pack/ {print $2 $3}') pack); runs: $RUNS per median (relsync and git alternating, $CHUNK at a time, each chunk after a warm-up run); timer: $(command -v hyperfine >/dev/null && hyperfine --version || echo 'date +%s%N loop, median')"
echo "machine: $(nproc) cores, $(git --version), $(rustc --version); relsync profile: $profile"
echo
printf '| %-40s | %7s | %7s | %13s | %13s | %6s | %-12s | %-3s |\n' \
    case relsync git "relsync" "git log" ratio target met
printf '|%s|%s|%s|%s|%s|%s|%s|%s|\n' "$(dashes 42)" "$(dashes 9)" "$(dashes 9)" "$(dashes 15)" \
    "$(dashes 15)" "$(dashes 8)" "$(dashes 14)" "$(dashes 5)"
row "(a) latest release, tag at HEAD" "$PREVIOUS..$LATEST" 100ms "$m_latest"
row "(b) $RANGE_FROM..$LATEST" "$RANGE_FROM..$LATEST" 2 "$m_range"
row "(b) same, template without first_time" "$RANGE_FROM..$LATEST" 2 "$m_range_plain"
row "(c) same range, paths packages/api/**" "$RANGE_FROM..$LATEST -- packages/api" 3 "$m_paths"
row "(d) full history, first release (short template)" "$LATEST" 3 "$m_full"
# The same with a first-time contributor in the release: the history before it is read whole.
main_repo=$repo main_latest=$LATEST
repo=$newcomer LATEST=$NEWCOMER
row "(a') latest release, by a newcomer" "$main_latest..$LATEST" 100ms "$m_latest"
row "(b') $RANGE_FROM..$LATEST, with a newcomer" "$RANGE_FROM..$LATEST" 2 "$m_range"
repo=$main_repo LATEST=$main_latest
# What a shell pipeline needs for (a): find the tag at HEAD and the previous tag, then log.
a_git="git -C $repo tag --points-at $LATEST --list 'v*' >/dev/null && prev=\$(git -C $repo describe --tags --abbrev=0 --match 'v*' $LATEST^) && git -C $repo log --format=%H%n%B \$prev..$LATEST"
echo
echo "for (a), git's own way (tag --points-at + describe + log, $(bash -c "$a_git" | grep -cE '^[0-9a-f]{40}$') commits): $(median_ms bash -c "$a_git") ms"
# What git needs for (b')'s notes: the range's log, and the authors of every commit before
# it, to tell who is new (mailmap applied, as relsync does).
b_git="git -C $newcomer log --format=%H%n%B $RANGE_FROM..$NEWCOMER >/dev/null && git -C $newcomer log --format='%aN <%aE>' $RANGE_FROM | sort -u >/dev/null"
echo "for (b'), git's own way (the range's log, then the authors of the $(git -C "$newcomer" rev-list --count "$RANGE_FROM") commits before it): $(median_ms bash -c "$b_git") ms"
echo
echo "columns: commits in the notes and in \`git rev-list --count\`; median wall time of"
echo "\`relsync notes -C <repo> -f <manifest> --tag $LATEST\` (the release binary, whole command:"
echo "tags, previous release, range walk, parsing, grouping, contributors, template rendering) and of"
echo "\`git log --format=%H%n%B <range> [-- path]\`; relsync/git; the target and whether this run"
echo "meets it. For (a) the target is absolute and the git column is only \`git log\` over the same"
echo "two commits."

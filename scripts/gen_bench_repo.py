#!/usr/bin/env python3
"""Write a `git fast-import` stream for the changelog benchmark repository.

Shaped like a busy real project rather than a toy one, because what makes real histories
expensive is their size per commit, not only the number of commits:

- COMMITS linear commits on `main` and TAGS release tags (`v1.<minor>.<patch>`, a tag every
  2-3 commits, every 10th annotated, HEAD tagged and the tag before it two commits back);
- a tree of about 4,000 files in about 300 directories (12 packages under `packages/`, each
  with `src/<module>/` directories, tests and docs; `docs/` and `.github/` at the root), so
  every commit rewrites trees hundreds of entries wide, as in a real monorepo;
- each commit changes one to four files, mostly within one package (`packages/api` takes
  about a third of the changes);
- messages of real lengths: a conventional subject, a body of 0-14 wrapped lines (about 45%
  of commits have none), trailers (`Signed-off-by`, `Reviewed-by`, `Co-authored-by`,
  `Refs: #N`, `Change-Id`), merge-request style `(#N)` suffixes and the odd breaking change;
- 900 authors with a long tail (a few do most of the work), as in an open project.

Everything is deterministic (fixed dates, fixed pseudo-random sequence), so the repository
is identical on every run.

usage: gen_bench_repo.py COMMITS TAGS META_FILE > stream
META_FILE receives shell assignments naming the tags the benchmark uses.
"""

import sys

EPOCH = 1_600_000_000  # 2020-09-13T12:26:40Z
STEP = 1800            # half an hour between commits

PACKAGES = [
    ("api", 33), ("web", 15), ("core", 10), ("cli", 6), ("db", 6), ("auth", 5),
    ("search", 4), ("billing", 4), ("mail", 3), ("jobs", 3), ("ui-kit", 6), ("sdk", 5),
]
MODULES = 22          # src/m00 .. src/m21 in each package
FILES_PER_MODULE = 13
TYPES = [
    ("feat", 25), ("fix", 30), ("chore", 15), ("docs", 8), ("refactor", 8),
    ("perf", 4), ("test", 6), ("ci", 4),
]
WORDS = (
    "the a request response handler cache index query token session parser buffer retry "
    "timeout config option default error path file module client server worker queue "
    "batch stream header body field value limit page cursor schema migration column table "
    "user account role permission check validate update remove add keep avoid when after "
    "before instead of so that because this which it now still never always only each "
    "every other new old empty large small slow fast first last missing invalid"
).split()
FIRST = ("Alex Sam Kim Robin Jo Chris Pat Lee Dana Max Noa Ira Eli Yuki Ana Luca Mia Omar "
         "Sara Tom Zoe Ben Lina Ravi Ines Hugo Emma Ivan Nora Jan").split()
LAST = ("Smith Müller García Rossi Dubois Kowalski Novak Tanaka Kim Silva Jensen Berg "
        "Moreau Costa Nguyen Fischer Olsen Horvat Ivanova Schmidt").split()
# 900 people: names from a small set of parts, emails unique.
PEOPLE = [
    (f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]}",
     f"dev{i:03d}@example.com")
    for i in range(900)
]


class Lcg:
    """A tiny deterministic pseudo-random sequence (no dependence on Python's random)."""

    def __init__(self, seed):
        self.state = seed

    def next(self):
        self.state = (self.state * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        return self.state >> 33

    def below(self, n):
        return self.next() % n

    def weighted(self, items):
        total = sum(w for _, w in items)
        roll = self.next() % total
        for item, weight in items:
            if roll < weight:
                return item
            roll -= weight
        return items[-1][0]

    def person(self):
        # A long tail: half the commits come from the first 40 people.
        if self.below(2) == 0:
            return PEOPLE[self.below(40)]
        return PEOPLE[self.below(len(PEOPLE))]

    def sentence(self, lo, hi):
        n = lo + self.below(hi - lo + 1)
        return " ".join(WORDS[self.below(len(WORDS))] for _ in range(n))


def package_files(pkg):
    files = []
    for m in range(MODULES):
        for f in range(FILES_PER_MODULE):
            files.append(f"packages/{pkg}/src/m{m:02d}/file_{f:02d}.rs")
    files += [f"packages/{pkg}/tests/t{t:02d}.rs" for t in range(12)]
    files += [f"packages/{pkg}/docs/page{d}.md" for d in range(4)]
    files += [f"packages/{pkg}/Cargo.toml", f"packages/{pkg}/README.md"]
    return files


ROOT_FILES = (
    [f"docs/guide/ch{c:02d}.md" for c in range(30)]
    + [f".github/workflows/w{w}.yml" for w in range(6)]
    + ["README.md", "CHANGELOG.md", "Cargo.toml", "Cargo.lock", "LICENSE"]
)
FILES = {pkg: package_files(pkg) for pkg, _ in PACKAGES}


def data(out, payload):
    out.write(b"data %d\n" % len(payload))
    out.write(payload)
    out.write(b"\n")


def content(path, rev, rng):
    """A source-like file of about 1-3 KB; `rev` changes a few of its lines."""
    lines = [f"// {path}"]
    for k in range(20 + rng.below(50)):
        lines.append(f"fn item_{k}() {{ /* {WORDS[(k * 7 + len(path)) % len(WORDS)]} */ }}")
    lines.append(f"// revision {rev}")
    return ("\n".join(lines) + "\n").encode()


def message(i, kind, scope, rng):
    subject = f"{kind}({scope}): " if scope else f"{kind}: "
    subject += rng.sentence(3, 9) + f" ({i})"
    if rng.below(4) == 0:
        subject += f" (#{1000 + i // 2})"
    msg = subject + "\n"
    if rng.below(100) >= 45:
        paragraphs = 1 + rng.below(3)
        for _ in range(paragraphs):
            msg += "\n"
            for _ in range(1 + rng.below(5)):
                msg += rng.sentence(8, 12) + "\n"
    if rng.below(50) == 0:
        msg += f"\nBREAKING CHANGE: {rng.sentence(5, 10)}\n"
    trailers = []
    if rng.below(3) == 0:
        trailers.append(f"Refs: #{rng.below(9000) + 1}")
    if rng.below(6) == 0:
        p = rng.person()
        trailers.append(f"Co-authored-by: {p[0]} <{p[1]}>")
    if rng.below(2) == 0:
        p = rng.person()
        trailers.append(f"Reviewed-by: {p[0]} <{p[1]}>")
    if rng.below(3) == 0:
        trailers.append(f"Change-Id: I{rng.next():010x}{rng.next():010x}{rng.next():010x}")
    return msg, trailers


def main():
    commits, tags, meta_path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    out = sys.stdout.buffer
    rng = Lcg(42)

    # Tag k sits on commit round((k + 1) * commits / tags) - 1: the last tag on HEAD.
    tag_at = {}
    for k in range(tags):
        pos = round((k + 1) * commits / tags) - 1
        tag_at.setdefault(pos, []).append(k)

    def tag_name(k):
        return f"v1.{k // 100}.{k % 100}"

    positions = {}
    for i in range(commits):
        kind = rng.weighted(TYPES)
        in_root = rng.below(10) == 0
        pkg = None if in_root else rng.weighted(PACKAGES)
        pool = ROOT_FILES if in_root else FILES[pkg]
        if i == 0:
            # The first commit adds the whole tree.
            changed = ROOT_FILES + [f for files in FILES.values() for f in files]
        else:
            changed = sorted({pool[rng.below(len(pool))] for _ in range(1 + rng.below(4))})
        scope = pkg if pkg and rng.below(5) else None
        who = rng.person()
        msg, trailers = message(i, kind, scope, rng)
        trailers.append(f"Signed-off-by: {who[0]} <{who[1]}>")
        msg += "\n" + "\n".join(trailers) + "\n"
        when = EPOCH + i * STEP
        out.write(b"commit refs/heads/main\n")
        out.write(b"mark :%d\n" % (i + 1))
        sig = f"{who[0]} <{who[1]}> {when} +0000".encode()
        out.write(b"author " + sig + b"\n")
        out.write(b"committer " + sig + b"\n")
        data(out, msg.encode())
        if i > 0:
            out.write(b"from :%d\n" % i)
        for path in changed:
            out.write(f"M 100644 inline {path}\n".encode())
            data(out, content(path, i, rng))
        out.write(b"\n")
        for k in tag_at.get(i, []):
            name = tag_name(k)
            positions[name] = i
            if k % 10 == 9:
                out.write(f"tag {name}\nfrom :{i + 1}\n".encode())
                out.write(f"tagger {who[0]} <{who[1]}> {when + 60} +0000\n".encode())
                data(out, f"Release {name}\n".encode())
            else:
                out.write(f"reset refs/tags/{name}\nfrom :{i + 1}\n\n".encode())

    names = sorted(positions, key=lambda n: positions[n])
    latest = names[-1]
    head = positions[latest]

    def tag_near(distance):
        return min(names, key=lambda n: (abs(head - positions[n] - distance), positions[n]))

    range_from = tag_near(2500)
    with open(meta_path, "w", encoding="utf-8") as meta:
        meta.write(f"LATEST={latest}\n")
        meta.write(f"PREVIOUS={names[-2]}\n")
        meta.write(f"LATEST_RANGE={head - positions[names[-2]]}\n")
        meta.write(f"RANGE_FROM={range_from}\n")
        meta.write(f"RANGE_COMMITS={head - positions[range_from]}\n")
        meta.write(f"COMMITS={commits}\n")
        meta.write(f"TAGS={len(names)}\n")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Write a `git fast-import` stream for the changelog benchmark repository.

Shaped like a busy real project: COMMITS linear commits on `main`, TAGS release tags
(`v1.<minor>.<patch>`, a tag every 2-3 commits, every 10th annotated, HEAD tagged and the
tag before it two commits back), a few files in two package directories
(`packages/api`, `packages/web`) and at the root, conventional commit messages with
bodies, co-author trailers and the odd breaking change. Everything is deterministic
(fixed dates, fixed pseudo-random sequence), so the repository is identical on every run.

usage: gen_bench_repo.py COMMITS TAGS META_FILE > stream
META_FILE receives shell assignments naming the tags the benchmark uses.
"""

import sys

EPOCH = 1_600_000_000  # 2020-09-13T12:26:40Z
STEP = 1800            # half an hour between commits

FILES = [
    ("packages/api/src/lib.rs", 30),
    ("packages/api/Cargo.toml", 5),
    ("packages/web/src/app.js", 30),
    ("packages/web/package.json", 5),
    ("README.md", 10),
    ("docs/guide.md", 20),
]
TYPES = [
    ("feat", 25), ("fix", 30), ("chore", 15), ("docs", 8), ("refactor", 8),
    ("perf", 4), ("test", 6), ("ci", 4),
]
PEOPLE = [(f"Dev {i:02d}", f"dev{i:02d}@example.com") for i in range(60)]


class Lcg:
    """A tiny deterministic pseudo-random sequence (no dependence on Python's random)."""

    def __init__(self, seed):
        self.state = seed

    def next(self):
        self.state = (self.state * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        return self.state >> 33

    def weighted(self, items):
        total = sum(w for _, w in items)
        roll = self.next() % total
        for item, weight in items:
            if roll < weight:
                return item
            roll -= weight
        return items[-1][0]


def data(out, payload):
    out.write(b"data %d\n" % len(payload))
    out.write(payload)
    out.write(b"\n")


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
        path = rng.weighted(FILES)
        scope = path.split("/")[1] if path.startswith("packages/") else None
        who = PEOPLE[rng.next() % len(PEOPLE)]
        subject = f"{kind}({scope}): change {i}" if scope else f"{kind}: change {i}"
        msg = subject + "\n"
        if rng.next() % 3 == 0:
            msg += f"\nWhy change {i} was needed, in a sentence or two of body text.\n"
        if rng.next() % 50 == 0:
            msg += f"\nBREAKING CHANGE: behaviour {i} changed\n"
        if rng.next() % 20 == 0:
            pair = PEOPLE[rng.next() % len(PEOPLE)]
            msg += f"\nCo-authored-by: {pair[0]} <{pair[1]}>\n"
        when = EPOCH + i * STEP
        out.write(b"commit refs/heads/main\n")
        out.write(b"mark :%d\n" % (i + 1))
        sig = f"{who[0]} <{who[1]}> {when} +0000".encode()
        out.write(b"author " + sig + b"\n")
        out.write(b"committer " + sig + b"\n")
        data(out, msg.encode())
        if i > 0:
            out.write(b"from :%d\n" % i)
        content = f"// {path}, revision {i}\n{'x' * (i % 64)}\nsome stable text\n"
        out.write(f"M 100644 inline {path}\n".encode())
        data(out, content.encode())
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

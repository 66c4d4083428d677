//! Reading the commits of the range: what the changelog needs of each (id, tree, parents,
//! author, message), from a libgit2 commit object or straight from the object database.
//!
//! The range walk reads thousands of commits. Through `find_commit`, libgit2 parses each
//! into a commit object (copies of the header, the message and both signatures); only a
//! few fields are needed here. So the [`Reader`] reads the raw object (which libgit2
//! caches like a parsed one: the previous-release search and the range walk still inflate
//! each commit once) and splits it in place when it has the layout git writes (`tree`,
//! `parent`s, one `author`, `committer`, other headers, blank line, message). Anything
//! else (a NUL byte, an unusual signature, extra `author` lines, a shallow clone or a
//! repository with grafts) goes through `find_commit`, so the result is always what
//! libgit2 would give.
//!
//! A commit stored whole in a pack is read from the pack by [`Packs::object`] (found by
//! the guess of the next entry, inflated with libdeflate), not through the object
//! database; anything else, as before.

use std::cell::RefCell;
use std::ops::Range;

use git2::{ObjectType, Odb, OdbObject, Oid, Repository};

use super::model::Person;
use super::pack::Packs;

/// One commit of the range.
pub(crate) enum RangeCommit<'r> {
    /// Read and parsed by libgit2.
    Git(git2::Commit<'r>),
    /// Read from the object database and split here.
    Raw(RawCommit<'r>),
}

/// A commit object in git's canonical layout, split in place.
pub(crate) struct RawCommit<'r> {
    id: Oid,
    object: Object<'r>,
    tree: Oid,
    /// The number of `parent` lines, which start at [`PARENTS_AT`].
    parents: usize,
    name: Range<usize>,
    email: Range<usize>,
    time: i64,
    committer_time: i64,
    message: Range<usize>,
}

/// A commit object's bytes: from the object database, or read from a pack here.
enum Object<'r> {
    Odb(OdbObject<'r>),
    Packed(Vec<u8>),
}

impl Object<'_> {
    fn data(&self) -> &[u8] {
        match self {
            Self::Odb(object) => object.data(),
            Self::Packed(data) => data,
        }
    }
}

/// Where the `parent` lines start: after `tree <40 hex>\n`.
pub(super) const PARENTS_AT: usize = TREE.len() + 41;
pub(super) const TREE: &[u8] = b"tree ";
pub(super) const PARENT: &[u8] = b"parent ";
/// The length of a `parent <40 hex>\n` line.
pub(super) const PARENT_LINE: usize = PARENT.len() + 41;

impl RangeCommit<'_> {
    pub(crate) fn id(&self) -> Oid {
        match self {
            Self::Git(c) => c.id(),
            Self::Raw(c) => c.id,
        }
    }

    pub(crate) fn tree_id(&self) -> Oid {
        match self {
            Self::Git(c) => c.tree_id(),
            Self::Raw(c) => c.tree,
        }
    }

    pub(crate) fn parent_count(&self) -> usize {
        match self {
            Self::Git(c) => c.parent_count(),
            Self::Raw(c) => c.parents,
        }
    }

    pub(crate) fn first_parent(&self) -> Option<Oid> {
        self.parent_ids().next()
    }

    pub(crate) fn parent_ids(&self) -> impl Iterator<Item = Oid> + '_ {
        let (git, raw) = match self {
            Self::Git(c) => (Some(c.parent_ids()), None),
            Self::Raw(c) => (None, Some(c)),
        };
        let raw = raw.into_iter().flat_map(|c| {
            let data = c.object.data();
            (0..c.parents).filter_map(move |i| {
                let at = PARENTS_AT + i * PARENT_LINE + PARENT.len();
                hex_oid(&data[at..at + 40])
            })
        });
        git.into_iter().flatten().chain(raw)
    }

    /// The committer time, in seconds: what orders the previous-release search.
    pub(crate) fn time(&self) -> i64 {
        match self {
            Self::Git(c) => c.time().seconds(),
            Self::Raw(c) => c.committer_time,
        }
    }

    /// The message as `git2::Commit::message_bytes` gives it (leading newlines skipped).
    pub(crate) fn message_bytes(&self) -> &[u8] {
        match self {
            Self::Git(c) => c.message_bytes(),
            Self::Raw(c) => {
                let message = &c.object.data()[c.message.clone()];
                let start = message
                    .iter()
                    .position(|&b| b != b'\n')
                    .unwrap_or(message.len());
                &message[start..]
            }
        }
    }

    /// The author's name and email as stored, without copying them; `None` for a commit
    /// libgit2 parsed (use [`Self::author`]).
    pub(crate) fn author_bytes(&self) -> Option<(&[u8], &[u8])> {
        match self {
            Self::Git(_) => None,
            Self::Raw(c) => {
                let data = c.object.data();
                Some((&data[c.name.clone()], &data[c.email.clone()]))
            }
        }
    }

    /// The author (lossy UTF-8) and the author time in seconds.
    pub(crate) fn author(&self) -> (Person, i64) {
        let lossy = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        match self {
            Self::Git(c) => {
                let author = c.author();
                let person = Person {
                    name: lossy(author.name_bytes()),
                    email: lossy(author.email_bytes()),
                };
                (person, author.when().seconds())
            }
            Self::Raw(c) => {
                let data = c.object.data();
                let person = Person {
                    name: lossy(&data[c.name.clone()]),
                    email: lossy(&data[c.email.clone()]),
                };
                (person, c.time)
            }
        }
    }
}

/// Reads commits for the previous-release search and the range walk: raw when it can,
/// else through libgit2.
pub(crate) struct Reader<'r> {
    repo: &'r Repository,
    odb: Option<Odb<'r>>,
    /// The packs, when commits are read raw.
    packs: Option<RefCell<Packs>>,
}

impl<'r> Reader<'r> {
    /// The repository read.
    pub(crate) fn repo(&self) -> &'r Repository {
        self.repo
    }

    /// In a shallow clone or a repository with grafts every commit goes through libgit2,
    /// which rewrites their parents.
    pub(crate) fn new(repo: &'r Repository) -> Self {
        let grafts = repo.commondir().join("info").join("grafts").exists();
        let odb = if !grafts && !repo.is_shallow() {
            repo.odb().ok()
        } else {
            None
        };
        let packs = odb.is_some().then(|| RefCell::new(Packs::open(repo)));
        Self { repo, odb, packs }
    }

    /// The packs commits are read from, when they are read raw and not already in use.
    pub(crate) fn packs(&self) -> Option<std::cell::RefMut<'_, Packs>> {
        self.packs.as_ref()?.try_borrow_mut().ok()
    }

    /// The commit `id`; libgit2's error when it cannot be read as a commit.
    pub(crate) fn read(&self, id: Oid) -> Result<RangeCommit<'_>, git2::Error> {
        // The packs are in use when the first-time walk reads through this reader.
        if let Some(packs) = &self.packs
            && let Ok(mut packs) = packs.try_borrow_mut()
            && let Some(data) = packs.object(id)
            && let Some(raw) = split(id, Object::Packed(data))
        {
            return Ok(RangeCommit::Raw(raw));
        }
        if let Some(odb) = &self.odb
            && let Ok(object) = odb.read(id)
            && object.kind() == ObjectType::Commit
            && let Some(raw) = split(id, Object::Odb(object))
        {
            return Ok(RangeCommit::Raw(raw));
        }
        self.repo.find_commit(id).map(RangeCommit::Git)
    }
}

/// Split a commit object in git's canonical layout; `None` for anything else.
fn split(id: Oid, object: Object<'_>) -> Option<RawCommit<'_>> {
    let data = object.data();
    // libgit2 keeps the message up to a NUL byte; leave such objects to it.
    if data.contains(&0) {
        return None;
    }
    let tree = oid_line(data, 0, TREE)?;
    let mut parents = 0;
    while is_oid_line(data, PARENTS_AT + parents * PARENT_LINE, PARENT) {
        parents += 1;
    }
    let pos = PARENTS_AT + parents * PARENT_LINE;
    let (author, author_end) = signature(data, pos, b"author ")?;
    let (committer, committer_end) = signature(data, author_end, b"committer ")?;
    // The header ends at the first empty line after the committer; no empty line, no
    // message.
    let rest = &data[committer_end..];
    let message_start = if rest.first() == Some(&b'\n') {
        Some(committer_end + 1)
    } else {
        rest.windows(2)
            .position(|w| w == b"\n\n")
            .map(|i| committer_end + i + 2)
    };
    let message = message_start.map_or(data.len()..data.len(), |start| start..data.len());
    Some(RawCommit {
        id,
        tree,
        parents,
        name: author.name,
        email: author.email,
        time: author.time,
        committer_time: committer.time,
        message,
        object,
    })
}

/// `<header><40 hex>\n` at `pos`: the id.
pub(super) fn oid_line(data: &[u8], pos: usize, header: &[u8]) -> Option<Oid> {
    let line = data.get(pos..)?.strip_prefix(header)?;
    if line.get(HEX) != Some(&b'\n') {
        return None;
    }
    hex_oid(&line[..HEX])
}

/// The length of a hexadecimal SHA-1 object id.
const HEX: usize = 40;

/// An object id from its first 40 hexadecimal digits (either case), ignoring what follows.
pub(super) fn hex_oid(hex: &[u8]) -> Option<Oid> {
    let hex = hex.get(..HEX)?;
    let mut raw = [0_u8; HEX / 2];
    // One table lookup per digit, the validity checked once per id: ids are most of a
    // commit header's bytes, and of `packed-refs`.
    let mut invalid = 0_u8;
    for (byte, pair) in raw.iter_mut().zip(hex.chunks_exact(2)) {
        let (high, low) = (NIBBLE[usize::from(pair[0])], NIBBLE[usize::from(pair[1])]);
        invalid |= high | low;
        *byte = (high << 4) | (low & 0x0f);
    }
    if invalid & 0xf0 != 0 {
        return None;
    }
    Oid::from_bytes(&raw).ok()
}

/// Whether `<header><40 hex>\n` is at `pos`, without decoding the id.
pub(super) fn is_oid_line(data: &[u8], pos: usize, header: &[u8]) -> bool {
    data.get(pos..)
        .and_then(|rest| rest.strip_prefix(header))
        .and_then(|line| line.get(..=HEX))
        .is_some_and(|line| {
            line[HEX] == b'\n' && line[..HEX].iter().all(|&b| NIBBLE[usize::from(b)] != 0xff)
        })
}

/// The value of each hexadecimal digit (`0-9`, `a-f`, `A-F`); 0xff for other bytes.
static NIBBLE: [u8; 256] = {
    let mut table = [0xff_u8; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// A signature's parts, as byte ranges of the object.
pub(super) struct Signature {
    pub(super) name: Range<usize>,
    pub(super) email: Range<usize>,
    pub(super) time: i64,
}

/// `<header>Name <email> <seconds> <+|-><hhmm>\n` at `pos`, with exactly one `<` and one
/// `>`: the parts trimmed the way libgit2 trims them, and the position after the line.
pub(super) fn signature(data: &[u8], pos: usize, header: &[u8]) -> Option<(Signature, usize)> {
    let start = pos + header.len();
    if !data.get(pos..)?.starts_with(header) {
        return None;
    }
    let len = data[start..].iter().position(|&b| b == b'\n')?;
    let line = &data[start..start + len];
    let open = line.iter().position(|&b| b == b'<')?;
    let close = line.iter().position(|&b| b == b'>')?;
    if close < open || line[open + 1..].contains(&b'<') || line[close + 1..].contains(&b'>') {
        return None;
    }
    // ` <seconds> <+|-><hhmm>` and nothing else.
    let tail = line[close + 1..].strip_prefix(b" ")?;
    let space = tail.iter().position(|&b| b == b' ')?;
    let (seconds, zone) = (&tail[..space], &tail[space + 1..]);
    if seconds.is_empty()
        || !seconds.iter().all(u8::is_ascii_digit)
        || zone.len() != 5
        || !matches!(zone[0], b'+' | b'-')
        || !zone[1..].iter().all(u8::is_ascii_digit)
    {
        return None;
    }
    let time = std::str::from_utf8(seconds).ok()?.parse::<i64>().ok()?;
    let name = trimmed(line, 0..open);
    let email = trimmed(line, open + 1..close);
    let shift = |r: Range<usize>| start + r.start..start + r.end;
    Some((
        Signature {
            name: shift(name),
            email: shift(email),
            time,
        },
        start + len + 1,
    ))
}

/// `range` of `line` without the leading and trailing bytes libgit2's signature parser
/// drops: control characters, space, and `,:;<>"\'`.
fn trimmed(line: &[u8], mut range: Range<usize>) -> Range<usize> {
    let crud =
        |b: u8| b <= 32 || matches!(b, b',' | b':' | b';' | b'<' | b'>' | b'"' | b'\\' | b'\'');
    while range.start < range.end && crud(line[range.start]) {
        range.start += 1;
    }
    while range.end > range.start && crud(line[range.end - 1]) {
        range.end -= 1;
    }
    range
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every commit written with `raw`, read both ways, must agree with libgit2.
    fn agree(raw: &[u8]) -> bool {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init_bare(dir.path()).unwrap();
        let odb = repo.odb().unwrap();
        let id = odb.write(ObjectType::Commit, raw).unwrap();
        let object = odb.read(id).unwrap();
        let Some(split) = split(id, Object::Odb(object)) else {
            return false;
        };
        let ours = RangeCommit::Raw(split);
        let theirs = RangeCommit::Git(repo.find_commit(id).unwrap());
        assert_eq!(ours.id(), theirs.id());
        assert_eq!(ours.tree_id(), theirs.tree_id());
        assert_eq!(ours.parent_count(), theirs.parent_count());
        assert_eq!(ours.first_parent(), theirs.first_parent());
        assert!(ours.parent_ids().eq(theirs.parent_ids()));
        assert_eq!(ours.time(), theirs.time());
        assert_eq!(
            ours.message_bytes(),
            theirs.message_bytes(),
            "{:?}",
            String::from_utf8_lossy(raw)
        );
        assert_eq!(ours.author(), theirs.author());
        true
    }

    const TREE: &str = "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n";
    const P1: &str = "parent 0123456789abcdef0123456789abcdef01234567\n";
    const P2: &str = "parent 89abcdef0123456789abcdef0123456789abcdef\n";
    const COMMITTER: &str = "committer C O <c@o.org> 1600000123 +0000\n";

    #[test]
    fn canonical_commits_split_like_libgit2() {
        let authors = [
            "author Grace Hopper <grace@example.com> 1600000000 +0200\n",
            "author  \"Grace\" ; <  grace@example.com > 1 -0130\n",
            "author <> 0 +0000\n",
            "author Zoë <zoë@example.com> 1600000000 +0000\n",
            "author Bad \u{1}UTF\u{7f} <x\u{2}@y> 99999999999 +1400\n",
        ];
        let rests = [
            "\nfeat: x\n",
            "\n\n\nleading blank lines\n\nbody\n",
            "encoding ISO-8859-1\n\nmsg\n",
            "gpgsig -----BEGIN PGP SIGNATURE-----\n \n abc\n -----END PGP SIGNATURE-----\n\nsigned\n",
            "",
            "\n",
            "\n\n",
            "x-header y",
            "x-header y\n",
            "\nno newline at end",
        ];
        for parents in ["", P1, &format!("{P1}{P2}")] {
            for author in authors {
                for rest in rests {
                    let raw = format!("{TREE}{parents}{author}{COMMITTER}{rest}");
                    assert!(agree(raw.as_bytes()), "{raw:?}");
                }
            }
        }
        let mut latin1 =
            format!("{TREE}{P1}author Jos\u{e9} <j@x> 1 +0000\n{COMMITTER}\n").into_bytes();
        latin1.extend_from_slice(b"caf\xe9\n");
        assert!(agree(&latin1));
    }

    #[test]
    fn unusual_commits_are_left_to_libgit2() {
        let odd = [
            // Two `<`, or a `>` before the `<`: libgit2 takes the last of each.
            format!("{TREE}author A <b> <c@d> 1 +0000\n{COMMITTER}\nm"),
            format!("{TREE}author A >x <c@d> 1 +0000\n{COMMITTER}\nm"),
            // No time, or no zone.
            format!("{TREE}author A <c@d>\n{COMMITTER}\nm"),
            format!("{TREE}author A <c@d> 1\n{COMMITTER}\nm"),
            // A second author line.
            format!("{TREE}author A <c@d> 1 +0000\nauthor B <e@f> 2 +0000\n{COMMITTER}\nm"),
            // A NUL in the message.
            format!("{TREE}author A <c@d> 1 +0000\n{COMMITTER}\nbefore\0after"),
            // An abbreviated parent.
            format!("{TREE}parent 0123456\nauthor A <c@d> 1 +0000\n{COMMITTER}\nm"),
        ];
        for raw in odd {
            assert!(!agree(raw.as_bytes()), "{raw:?}");
        }
    }
}

//! The tag references, read from the files git writes, once per collect.
//!
//! libgit2 reloads `packed-refs` into a sorted cache and copies it for every reference
//! listing (`references_glob`), which on a clone with 10,000 tags costs more than the rest
//! of a run. The tag index, the tag-pattern notice and the lookups by name all read the tags,
//! so [`TagRefs`] reads the files once and answers all of them:
//!
//! - `packed-refs` in the common directory: an optional header `# pack-refs with: <traits>`,
//!   lines `<hex> <refname>`, each optionally followed by `^<hex>`, the object a tag
//!   object peels to. With the `fully-peeled` trait, a line without `^` is not a tag object.
//! - loose references under `refs/tags/` in the common directory (nested: `release/1.0`),
//!   one file each, holding `<hex>` or `ref: <target>` (symbolic). A loose reference
//!   overrides the packed one of the same name.
//!
//! The results are those of libgit2's files backend: names in its order (loose ones sorted,
//! then the packed ones no readable loose file overrides), the same peeled commits, the same
//! lookup errors. Lines it would reject are skipped here instead of failing the whole file,
//! and a last line without its newline (a truncated file) is ignored. A repository whose
//! references are not stored in files (reftable) is read through libgit2's reference
//! database.
//!
//! A lookup by name before anything is listed (the release tag and `since`, which start a
//! run) does not parse the whole file: in a file with the `sorted` trait, which git writes,
//! it searches the lines in place, as git does ([`find_sorted`]). Whatever that search
//! cannot decide (no `sorted` trait, a line it cannot read on its way, a repeated name) is
//! left to the whole parse.

use std::cell::OnceCell;
use std::collections::HashMap;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::rc::Rc;

use anyhow::{Context as _, Result, anyhow};
use git2::{ObjectType, Oid, Reference, ReferenceFormat, Repository};

use super::read::hex_oid as parse_oid;

const TAGS: &str = "refs/tags/";
/// The hexadecimal length of a SHA-1 object id.
const HEX: usize = 40;
/// How many tag objects a tag chain may hold before it counts as unpeelable.
const MAX_TAG_DEPTH: usize = 16;

/// The repository's tag references, read on first use and shared by every reader of a
/// collect.
pub(crate) struct TagRefs<'r> {
    repo: &'r Repository,
    /// The common directory when references are stored in files; `None` reads through
    /// libgit2's reference database.
    files: Option<PathBuf>,
    /// `packed-refs`' bytes, empty when there is no such file.
    packed_file: OnceCell<Rc<Vec<u8>>>,
    packed: OnceCell<Packed>,
    loose: OnceCell<Vec<Loose>>,
    known: OnceCell<HashMap<Oid, Option<Oid>>>,
    odb: OnceCell<git2::Odb<'r>>,
}

/// One tag reference as listed: what its name points at.
pub(crate) enum Found<'a> {
    /// A `packed-refs` entry: its object, and the `^` line's object when there is one.
    Packed { target: Oid, peel: Option<Oid> },
    /// A loose file holding an object id.
    Loose(Oid),
    /// A loose file holding `ref: <target>`, resolved through libgit2.
    Symbolic,
    /// Listed by libgit2's reference database.
    Reference(&'a Reference<'a>),
}

/// `packed-refs`, read once: its bytes and its tag entries sorted by name.
#[derive(Default)]
struct Packed {
    bytes: Rc<Vec<u8>>,
    fully_peeled: bool,
    tags: Vec<PackedTag>,
}

/// A `refs/tags/` line of `packed-refs`; the name (without `refs/tags/`) is a range of the
/// file's bytes.
#[derive(Clone, Copy)]
struct PackedTag {
    name: (usize, usize),
    target: Oid,
    peel: Option<Oid>,
}

/// A readable loose tag reference.
struct Loose {
    /// Without `refs/tags/`.
    name: String,
    /// `None` for a symbolic reference.
    target: Option<Oid>,
}

/// What a loose reference file holds.
enum LooseFile {
    Direct(Oid),
    Symbolic,
    /// Neither: libgit2 reports a corrupted loose reference file.
    Corrupt,
}

impl<'r> TagRefs<'r> {
    /// Nothing is read until a question is asked.
    pub(crate) fn new(repo: &'r Repository) -> Self {
        let common = repo.commondir().to_path_buf();
        let files =
            (common.join("refs").is_dir() && !common.join("reftable").exists()).then_some(common);
        Self {
            repo,
            files,
            packed_file: OnceCell::new(),
            packed: OnceCell::new(),
            loose: OnceCell::new(),
            known: OnceCell::new(),
            odb: OnceCell::new(),
        }
    }

    /// Whether some tag reference whose name (without `refs/tags/`) is UTF-8 satisfies
    /// `is_match`: what [`Self::visit`] would find, read from the lines of `packed-refs` in
    /// file order and stopping at the first (most tags match the tag pattern, and the first
    /// line then answers). Without reference files, libgit2's listing.
    pub(crate) fn any_name(&self, mut is_match: impl FnMut(&str) -> bool) -> Result<bool> {
        if self.files.is_none() || self.packed.get().is_some() {
            let mut found = false;
            self.visit(|name, _| {
                found = is_match(name);
                if found {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })?;
            return Ok(found);
        }
        let bytes = self.packed_file()?;
        let packed = lines(&bytes).any(|(start, end)| {
            parse_ref_line(&bytes[start..end])
                .and_then(|(_, name)| name.strip_prefix(TAGS.as_bytes()))
                .filter(|short| !short.is_empty())
                .and_then(|short| std::str::from_utf8(short).ok())
                .is_some_and(&mut is_match)
        });
        Ok(packed || self.loose()?.iter().any(|l| is_match(&l.name)))
    }

    /// Call `visit` with each tag reference whose name (without `refs/tags/`) is UTF-8, in
    /// libgit2's order, until it breaks.
    pub(crate) fn visit(
        &self,
        mut visit: impl FnMut(&str, Found<'_>) -> ControlFlow<()>,
    ) -> Result<()> {
        if self.files.is_none() {
            let refs = self
                .repo
                .references_glob("refs/tags/*")
                .context("listing the tags")?;
            for reference in refs {
                let reference = reference.context("reading a tag reference")?;
                let Some(name) = reference
                    .name_bytes()
                    .strip_prefix(TAGS.as_bytes())
                    .and_then(|n| std::str::from_utf8(n).ok())
                else {
                    continue;
                };
                if visit(name, Found::Reference(&reference)).is_break() {
                    break;
                }
            }
            return Ok(());
        }
        let loose = self.loose()?;
        for entry in loose {
            let found = match entry.target {
                Some(oid) => Found::Loose(oid),
                None => Found::Symbolic,
            };
            if visit(&entry.name, found).is_break() {
                return Ok(());
            }
        }
        let packed = self.packed()?;
        for tag in &packed.tags {
            let Ok(name) = std::str::from_utf8(packed.name(tag)) else {
                continue;
            };
            if !loose.is_empty()
                && loose
                    .binary_search_by(|l| l.name.as_str().cmp(name))
                    .is_ok()
            {
                continue;
            }
            let found = Found::Packed {
                target: tag.target,
                peel: tag.peel,
            };
            if visit(name, found).is_break() {
                break;
            }
        }
        Ok(())
    }

    /// About how many tags [`Self::visit`] lists (reading the files when that is not known
    /// yet; 0 when they cannot be read, which `visit` then reports).
    pub(crate) fn size_hint(&self) -> usize {
        if self.files.is_none() {
            return 0;
        }
        self.packed().map_or(0, |p| p.tags.len()) + self.loose().map_or(0, <[_]>::len)
    }

    /// The commit a listed tag peels to: the `^` line's object, else the object itself when
    /// `packed-refs` says it is not a tag object, else the tag chain read from the object
    /// database, which gives `None` for a tag of a tree, a blob or a missing object. What
    /// `packed-refs` says is taken as it is: there, a tag of a tree gives the tree's id,
    /// which no walk over commits meets.
    pub(crate) fn peeled(&self, name: &str, found: &Found<'_>) -> Option<Oid> {
        match *found {
            Found::Packed {
                peel: Some(peel), ..
            } => Some(peel),
            Found::Packed { target, peel: None } => {
                if self.packed().is_ok_and(|p| p.fully_peeled) {
                    Some(target)
                } else {
                    self.peel_object(target)
                }
            }
            Found::Loose(target) => self.peel_object(target),
            Found::Symbolic => self
                .repo
                .find_reference(&format!("{TAGS}{name}"))
                .ok()?
                .resolve()
                .ok()?
                .target()
                .and_then(|oid| self.peel_object(oid)),
            Found::Reference(reference) => match reference.target_peel() {
                Some(oid) => Some(oid),
                None => match reference.target() {
                    Some(oid) => self.peel_object(oid),
                    None => reference
                        .resolve()
                        .ok()
                        .and_then(|r| r.target())
                        .and_then(|oid| self.peel_object(oid)),
                },
            },
        }
    }

    /// The commit a tag name peels to, and the tag object when it is annotated; `None` when
    /// there is no such tag (or the name is not a valid reference name). A tag of a tree or
    /// a blob is an error, as is an unreadable reference.
    pub(crate) fn lookup(&self, name: &str) -> Result<Option<(Oid, Option<Oid>)>> {
        let context = || format!("reading tag `{name}`");
        let full = match Reference::normalize_name(
            &format!("{TAGS}{name}"),
            ReferenceFormat::ALLOW_ONELEVEL,
        ) {
            Ok(full) => full,
            Err(e) if e.code() == git2::ErrorCode::InvalidSpec => return Ok(None),
            Err(e) => return Err(e).with_context(context),
        };
        let Some(common) = &self.files else {
            return self.lookup_refdb(name, &full);
        };
        let target = match std::fs::read(common.join(&full)) {
            Ok(bytes) => match parse_loose(&bytes) {
                LooseFile::Direct(oid) => oid,
                LooseFile::Symbolic => return self.lookup_refdb(name, &full),
                LooseFile::Corrupt => {
                    return Err(anyhow!("corrupted loose reference file: {full}"))
                        .with_context(context);
                }
            },
            Err(e) if absent(&e) => {
                let short = full.strip_prefix(TAGS).unwrap_or(&full);
                let searched = match self.packed.get() {
                    Some(_) => None,
                    None => Some(find_sorted(
                        &self.packed_file().with_context(context)?,
                        &full,
                    )),
                };
                let found = match searched {
                    Some(Search::Found(target)) => Some(target),
                    Some(Search::Absent) => None,
                    Some(Search::Undecided) | None => {
                        self.packed().with_context(context)?.find(short.as_bytes())
                    }
                };
                match found {
                    Some(target) => target,
                    None => return Ok(None),
                }
            }
            Err(e) => {
                return Err(anyhow::Error::new(e)
                    .context(format!("reading {}", common.join(&full).display())))
                .with_context(context);
            }
        };
        let object = self.repo.find_object(target, None).with_context(context)?;
        let annotated = object.kind() == Some(ObjectType::Tag);
        let peeled = if annotated {
            object.peel(ObjectType::Any).with_context(context)?
        } else {
            object
        };
        let commit = peeled
            .peel_to_commit()
            .with_context(|| format!("tag `{name}` does not point at a commit"))?;
        Ok(Some((commit.id(), annotated.then_some(target))))
    }

    /// [`Self::lookup`] through libgit2's reference database.
    fn lookup_refdb(&self, name: &str, full: &str) -> Result<Option<(Oid, Option<Oid>)>> {
        let reference = match self.repo.find_reference(full) {
            Ok(r) => r,
            Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(None),
            Err(e) if e.code() == git2::ErrorCode::InvalidSpec => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("reading tag `{name}`")),
        };
        let object = reference
            .peel(ObjectType::Any)
            .with_context(|| format!("reading tag `{name}`"))?;
        let target = reference
            .target()
            .or_else(|| reference.resolve().ok().and_then(|r| r.target()));
        let annotated = match target {
            Some(oid) if self.repo.find_tag(oid).is_ok() => Some(oid),
            _ => None,
        };
        let commit = object
            .peel_to_commit()
            .with_context(|| format!("tag `{name}` does not point at a commit"))?;
        Ok(Some((commit.id(), annotated)))
    }

    /// Follow an object to its commit: what `packed-refs` knows of it (a `^` line, or not a
    /// tag object in a `fully-peeled` file), else the object headers of the tag chain.
    fn peel_object(&self, oid: Oid) -> Option<Oid> {
        match self.known().get(&oid) {
            Some(Some(peeled)) => return Some(*peeled),
            Some(None) => return Some(oid),
            None => {}
        }
        let odb = if let Some(odb) = self.odb.get() {
            odb
        } else {
            let odb = self.repo.odb().ok()?;
            self.odb.get_or_init(|| odb)
        };
        let mut oid = oid;
        for _ in 0..MAX_TAG_DEPTH {
            let (_, kind) = odb.read_header(oid).ok()?;
            match kind {
                ObjectType::Commit => return Some(oid),
                ObjectType::Tag => oid = self.repo.find_tag(oid).ok()?.target_id(),
                _ => return None,
            }
        }
        None
    }

    /// What `packed-refs` says about the objects its lines (of any reference) point at: a
    /// tag object's peeled object, or `None` for an object known not to be a tag object.
    fn known(&self) -> &HashMap<Oid, Option<Oid>> {
        self.known.get_or_init(|| {
            let mut known = HashMap::new();
            let Ok(packed) = self.packed() else {
                return known;
            };
            let mut last: Option<Oid> = None;
            for line in lines(&packed.bytes) {
                let line = &packed.bytes[line.0..line.1];
                if let Some(peel) = line.strip_prefix(b"^") {
                    if let (Some(target), Some(peel)) = (last, parse_oid(peel)) {
                        known.insert(target, Some(peel));
                    }
                    last = None;
                } else {
                    last = parse_ref_line(line).map(|(oid, _)| oid);
                    if let (Some(target), true) = (last, packed.fully_peeled) {
                        known.entry(target).or_insert(None);
                    }
                }
            }
            known
        })
    }

    /// `packed-refs`' bytes, read once; empty when the file does not exist.
    fn packed_file(&self) -> Result<Rc<Vec<u8>>> {
        if let Some(bytes) = self.packed_file.get() {
            return Ok(Rc::clone(bytes));
        }
        let bytes = match &self.files {
            Some(common) => {
                let path = common.join("packed-refs");
                match std::fs::read(&path) {
                    Ok(bytes) => bytes,
                    Err(e) if absent(&e) => Vec::new(),
                    Err(e) => {
                        return Err(e).with_context(|| format!("reading {}", path.display()));
                    }
                }
            }
            None => std::fs::read(self.repo.commondir().join("packed-refs")).unwrap_or_default(),
        };
        Ok(Rc::clone(self.packed_file.get_or_init(|| Rc::new(bytes))))
    }

    /// `packed-refs`, read and parsed once; empty when the file does not exist.
    fn packed(&self) -> Result<&Packed> {
        if let Some(packed) = self.packed.get() {
            return Ok(packed);
        }
        let packed = Packed::parse(self.packed_file()?);
        Ok(self.packed.get_or_init(|| packed))
    }

    /// The readable loose tag references, sorted by name.
    fn loose(&self) -> Result<&[Loose]> {
        if let Some(loose) = self.loose.get() {
            return Ok(loose);
        }
        let mut found = Vec::new();
        if let Some(common) = &self.files {
            let root = common.join(TAGS);
            list_loose(&root, "", &mut found, 0)
                .with_context(|| format!("listing {}", root.display()))?;
        }
        found.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let loose = found
            .into_iter()
            .filter_map(|(name, path)| {
                let target = match parse_loose(&std::fs::read(path).ok()?) {
                    LooseFile::Direct(oid) => Some(oid),
                    LooseFile::Symbolic => None,
                    LooseFile::Corrupt => return None,
                };
                Some(Loose { name, target })
            })
            .collect();
        Ok(self.loose.get_or_init(|| loose))
    }
}

impl Packed {
    /// The target of the tag named `short` (without `refs/tags/`).
    fn find(&self, short: &[u8]) -> Option<Oid> {
        self.tags
            .binary_search_by(|t| self.name(t).cmp(short))
            .ok()
            .map(|i| self.tags[i].target)
    }

    fn parse(bytes: Rc<Vec<u8>>) -> Self {
        let mut fully_peeled = false;
        let mut tags: Vec<PackedTag> = Vec::new();
        // Whether the previous line was a `refs/tags/` line, which a `^` line peels.
        let mut after_tag = false;
        for (n, (start, end)) in lines(&bytes).enumerate() {
            let line = &bytes[start..end];
            if n == 0
                && let Some(traits) = line.strip_prefix(b"# pack-refs with:")
            {
                fully_peeled = traits
                    .split(|&b| b == b' ')
                    .any(|t| t.trim_ascii_end() == b"fully-peeled");
                continue;
            }
            if let Some(peel) = line.strip_prefix(b"^") {
                if after_tag && let (Some(peel), Some(last)) = (parse_oid(peel), tags.last_mut()) {
                    last.peel = Some(peel);
                }
                after_tag = false;
                continue;
            }
            after_tag = false;
            let Some((target, name)) = parse_ref_line(line) else {
                continue;
            };
            let name_at = start + HEX + 1;
            if name.len() > TAGS.len() && name.starts_with(TAGS.as_bytes()) {
                tags.push(PackedTag {
                    name: (name_at + TAGS.len(), name_at + name.len()),
                    target,
                    peel: None,
                });
                after_tag = true;
            }
        }
        let mut packed = Self {
            // A file cut short may have lost the `^` line of its last tag.
            fully_peeled: fully_peeled && bytes.ends_with(b"\n"),
            bytes,
            tags: Vec::new(),
        };
        let by_name = |a: &PackedTag, b: &PackedTag| packed.name(a).cmp(packed.name(b));
        if !tags.is_sorted_by(|a, b| by_name(a, b).is_lt()) {
            // Out of order or repeated: sort, and keep the last line of a repeated name.
            tags.sort_by(by_name);
            tags.dedup_by(|later, kept| {
                let same = by_name(later, kept).is_eq();
                if same {
                    *kept = *later;
                }
                same
            });
        }
        packed.tags = tags;
        packed
    }

    fn name(&self, tag: &PackedTag) -> &[u8] {
        &self.bytes[tag.name.0..tag.name.1]
    }
}

/// What a search of `packed-refs` in place found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Search {
    /// The reference's target.
    Found(Oid),
    /// No such reference.
    Absent,
    /// The search cannot decide: the whole file is to be parsed.
    Undecided,
}

/// The target of reference `full` in a `packed-refs` file with the `sorted` trait, searched
/// in place; undecided without the `sorted` trait, at a line that is not `<hex> <refname>`
/// or `^<hex>` where it looks, or for a name on two lines. In a file whose lines are in the order the trait promises,
/// [`Packed::parse`] gives the same answer whenever this one decides; in one that breaks
/// the promise, the answer is git's, which searches such a file the same way.
fn find_sorted(bytes: &[u8], full: &str) -> Search {
    search_sorted(bytes, full.as_bytes()).unwrap_or(Search::Undecided)
}

/// [`find_sorted`]; `None` when undecided.
fn search_sorted(bytes: &[u8], full: &[u8]) -> Option<Search> {
    let header = bytes.strip_prefix(b"# pack-refs with:")?;
    let header_len = header.iter().position(|&b| b == b'\n')?;
    let sorted = header[..header_len]
        .split(|&b| b == b' ')
        .any(|t| t.trim_ascii_end() == b"sorted");
    if !sorted {
        return None;
    }
    // Complete lines only: a last line without its newline is not read.
    let limit = bytes.iter().rposition(|&b| b == b'\n')? + 1;
    let (mut low, mut high) = (bytes.len() - header.len() + header_len + 1, limit);
    // The line starting at `at`, without its newline and a carriage return before it, and
    // where the next line starts.
    let line = |at: usize| {
        let len = bytes.get(at..limit)?.iter().position(|&b| b == b'\n')?;
        let end = at + len;
        let text = &bytes[at..end];
        Some((text.strip_suffix(b"\r").unwrap_or(text), end + 1))
    };
    // The reference line starting at `at` (its id and name), and where the line after its
    // `^` line (if any) starts.
    let record = |at: usize| {
        let (text, next) = line(at)?;
        let (oid, name) = parse_ref_line(text)?;
        let after = match line(next) {
            Some((peel, after)) if peel.starts_with(b"^") => after,
            _ => next,
        };
        Some((oid, name, after))
    };
    while low < high {
        let mid = low + (high - low) / 2;
        // The start of the line holding `mid`; a `^` line belongs to the line above it.
        let mut at = bytes[low..mid]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(low, |i| low + i + 1);
        if bytes[at] == b'^' {
            if at == low {
                return None;
            }
            at = bytes[low..at - 1]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(low, |i| low + i + 1);
        }
        let (oid, name, after) = record(at)?;
        match name.cmp(full) {
            std::cmp::Ordering::Less => low = after,
            std::cmp::Ordering::Greater => high = at,
            std::cmp::Ordering::Equal => {
                // A repeated name is the whole parse's to settle (it keeps the last).
                if after < limit && record(after).is_none_or(|(_, next, _)| next == full) {
                    return None;
                }
                return Some(Search::Found(oid));
            }
        }
    }
    Some(Search::Absent)
}

/// The lines of `bytes` ending with a newline, as `(start, end)` without the newline and a
/// carriage return before it. A last line without a newline (a truncated file) is left out.
fn lines(bytes: &[u8]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut at = 0;
    std::iter::from_fn(move || {
        let len = bytes[at..].iter().position(|&b| b == b'\n')?;
        let start = at;
        at += len + 1;
        let end = if len > 0 && bytes[start + len - 1] == b'\r' {
            start + len - 1
        } else {
            start + len
        };
        Some((start, end))
    })
}

/// `<hex> <refname>`: the object id and the reference name.
fn parse_ref_line(line: &[u8]) -> Option<(Oid, &[u8])> {
    if line.len() < HEX + 2 || line[HEX] != b' ' {
        return None;
    }
    Some((parse_oid(&line[..HEX])?, &line[HEX + 1..]))
}

/// A loose reference file as libgit2 reads it: `ref: ` starts a symbolic reference (with a
/// non-empty target); else 40 hexadecimal digits, then the end, a NUL or a space.
fn parse_loose(bytes: &[u8]) -> LooseFile {
    if let Some(target) = bytes.strip_prefix(b"ref: ") {
        return if target.trim_ascii().is_empty() {
            LooseFile::Corrupt
        } else {
            LooseFile::Symbolic
        };
    }
    match (parse_oid(bytes), bytes.get(HEX)) {
        (Some(oid), None | Some(b'\0' | b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')) => {
            LooseFile::Direct(oid)
        }
        _ => LooseFile::Corrupt,
    }
}

/// Whether a read failed because there is no file at the path: nothing there, a directory,
/// or a file where a directory of the path should be.
fn absent(error: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    matches!(
        error.kind(),
        ErrorKind::NotFound | ErrorKind::IsADirectory | ErrorKind::NotADirectory
    )
}

/// The files below `dir` (names relative to the tags directory, `prefix` included) with
/// UTF-8 names that do not end in `.lock`. Links are not followed into directories.
fn list_loose(
    dir: &std::path::Path,
    prefix: &str,
    out: &mut Vec<(String, PathBuf)>,
    depth: usize,
) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if absent(&e) && depth == 0 => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let name = format!("{prefix}{name}");
        if entry.file_type()?.is_dir() {
            // Reference names are bounded by the path length; the depth bound guards
            // against what a file system may still present.
            if depth < 256 {
                list_loose(&entry.path(), &format!("{name}/"), out, depth + 1)?;
            }
        } else if !has_lock_suffix(&name) {
            out.push((name, entry.path()));
        }
    }
    Ok(())
}

/// Whether a name ends in `.lock`, the suffix of git's lock files, which are not
/// references (compared as bytes, as git does).
fn has_lock_suffix(name: &str) -> bool {
    name.as_bytes().ends_with(b".lock")
}

#[cfg(test)]
mod tests;

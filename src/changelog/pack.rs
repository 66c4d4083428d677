//! Commit headers read straight from the pack files, for the walk that finds first-time
//! contributors.
//!
//! That walk reads every commit reachable from the previous release but needs only each
//! commit's `parent` lines and its `author`: the first two hundred bytes of the object.
//! Through libgit2 every commit is inflated whole, copied and cached. [`Packs`] looks the
//! commit up in the packs' indexes (`objects/pack/pack-*.idx`, version 2, mapped into
//! memory rather than read) and inflates its entry only until the `author` line is
//! complete and the next line has begun, in buffers reused from one commit to the next.
//! The format is git's: <https://git-scm.com/docs/gitformat-pack>.
//!
//! Finding an object in an index is a binary search over its names, a dozen cache misses
//! in a large repository. A walk mostly does not need it: git writes a pack's commits in
//! the order a walk from its tips meets them, so the parent just read is most often the
//! entry that follows in the pack. With the pack's reverse index (`pack-*.rev`, written by
//! default since git 2.41), which lists the index positions in pack order, that guess is
//! checked with one comparison of names; without it, or when the guess is wrong, the
//! index is searched. git pulls the commits that tags point at forward in the pack, so a
//! walk through a history with many tags alternates between two runs of commits: a few
//! guesses are kept, one per run being read, the most recently right first.
//!
//! Whatever it does not handle is left to the caller's usual path, one object at a time:
//! an object in no pack (loose, in an alternate, or only in a multi-pack index), a delta,
//! an object that is not a commit, an index of another version, a header not in git's
//! canonical layout (the checks of `read.rs`), a repository whose objects are not named by
//! SHA-1, a read error. A corrupt or hostile pack or index gives no header, never a panic:
//! every offset is checked against the file it points into. Objects are not hashed (that
//! would mean inflating them whole): an index that is well formed but points at the wrong
//! entries is not detected here, and a `committer` line is not checked beyond its start.
//!
//! The index and the reverse index are mapped, as git and libgit2 map them: git writes
//! them once, under a temporary name, and renames them into place; a repack unlinks them,
//! which leaves a mapping valid.

use std::fs::{self, File};
use std::io;
use std::ops::Range;
use std::path::Path;

use flate2::{Decompress, FlushDecompress, Status};
use git2::{Oid, Repository};
use memmap2::Mmap;

use super::read::{PARENT, PARENT_LINE, PARENTS_AT, TREE, hex_oid, is_oid_line, signature};

/// The first four bytes of a version 2 index.
const IDX_MAGIC: [u8; 4] = [0xff, b't', b'O', b'c'];
/// Where the fanout table (256 counts) starts, after the magic and the version.
const FANOUT_AT: usize = 8;
/// Where the sorted object names start, after the fanout table.
const NAMES_AT: usize = FANOUT_AT + 256 * 4;
/// The length of an object name (SHA-1).
const NAME_LEN: usize = 20;
/// The two checksums that end an index (the pack's, then the index's own).
const IDX_TRAILER: usize = 2 * NAME_LEN;
/// A pack's header: `PACK`, the version, the object count.
const PACK_HEADER: u64 = 12;
/// A pack entry's type for a commit.
const COMMIT: u8 = 1;
/// How much of the pack one read brings in. A pack written by git keeps commits together,
/// so the next commit of the walk is most often in a part already read.
const WINDOW: usize = 32 * 1024;
/// How many parts of a pack are kept: a walk may go back and forth between regions of the
/// pack (a history whose commits were packed in two runs alternates between them).
const PARTS: usize = 4;
/// How much compressed input the inflater is handed at least (unless the pack ends).
const INPUT_MIN: usize = 512;
/// How much is inflated first: a usual header up to the start of the `committer` line (a
/// tree, one parent, an author) takes about 170 bytes.
const FIRST: usize = 192;
/// How much more is inflated at a time after that.
const STEP: usize = 96;
/// How much of the line after `author` is needed to know it is the `committer` line.
const COMMITTER: &[u8] = b"committer ";
/// How many guesses of the next object are kept.
pub(super) const GUESSES: usize = 4;
/// The first bytes of a reverse index, then its version and its hash (SHA-1).
const RIDX_MAGIC: [u8; 4] = *b"RIDX";
/// Where a reverse index's positions start.
const RIDX_AT: usize = 12;
/// A header longer than this (thousands of parents) is left to libgit2.
const MAX_HEADER: usize = 64 * 1024;
/// A commit up to this size is inflated whole for its header; a larger one only until the
/// end of its header.
const WHOLE_UP_TO: u64 = 4096;
/// How much of a small commit is inflated first, for its header: a tree, two parents and
/// an author of 100 bytes fit. At most libdeflate's `FASTLOOP_MAX_BYTES_WRITTEN` on 32-bit
/// targets (279; see [`inflate_prefix`]).
const PREFIX: usize = 256;
/// A commit larger than this (a message of megabytes) is read whole through libgit2.
const MAX_OBJECT: u64 = 4 * 1024 * 1024;

/// A commit's header, read from a pack: its parents and its author as stored.
pub(super) struct Header<'a> {
    /// The header, from `tree` to the end of the `author` line.
    data: &'a [u8],
    /// The number of `parent` lines, which start at [`PARENTS_AT`].
    parents: usize,
    name: Range<usize>,
    email: Range<usize>,
}

impl<'a> Header<'a> {
    /// The parents, in the order they are written.
    pub(super) fn parent_ids(&self) -> impl Iterator<Item = Oid> + '_ {
        (0..self.parents).filter_map(|i| {
            let at = PARENTS_AT + i * PARENT_LINE + PARENT.len();
            self.data.get(at..at + 40).and_then(hex_oid)
        })
    }

    /// The author's name and email, trimmed as libgit2 trims them.
    pub(super) fn author(&self) -> (&'a [u8], &'a [u8]) {
        let data = self.data;
        (
            data.get(self.name.clone()).unwrap_or_default(),
            data.get(self.email.clone()).unwrap_or_default(),
        )
    }
}

#[cfg(test)]
impl Entry {
    /// An entry at `position` of pack `pack` (its offset unknown).
    pub(super) fn at(pack: usize, position: usize) -> Self {
        Self {
            pack,
            position: Some(position),
            offset: 0,
        }
    }
}

/// A [`Header`] holding its own bytes, to be handed from one thread to another.
pub(super) struct OwnedHeader {
    data: Vec<u8>,
    parents: usize,
    name: Range<usize>,
    email: Range<usize>,
}

impl Header<'_> {
    /// This header with a copy of its bytes.
    pub(super) fn owned(&self) -> OwnedHeader {
        OwnedHeader {
            data: self.data.to_vec(),
            parents: self.parents,
            name: self.name.clone(),
            email: self.email.clone(),
        }
    }
}

impl OwnedHeader {
    /// The header.
    pub(super) fn header(&self) -> Header<'_> {
        Header {
            data: &self.data,
            parents: self.parents,
            name: self.name.clone(),
            email: self.email.clone(),
        }
    }
}

/// The packs of a repository, opened once for a walk: their indexes read, the pack files
/// open, one inflater and one output buffer for every object.
pub(super) struct Packs {
    all: Vec<Pack>,
    /// The pack the last object was found in, searched first.
    last: usize,
    /// Guesses for the next object: the pack and the pack position (in its reverse index)
    /// of the entry after each of the last objects found, most recent first.
    next: Vec<(usize, usize)>,
    /// How many lookups searched an index (the guess was not the object).
    #[cfg(test)]
    searches: usize,
    inflate: Decompress,
    out: Vec<u8>,
    /// The inflater of whole commits, made on first use.
    whole: Option<Box<libdeflater::Decompressor>>,
    /// The directory the packs were found in, to open them again.
    dir: Option<std::path::PathBuf>,
}

/// Where an object is: its pack (an index into [`Packs`]), its position in the pack's
/// order when the pack has a reverse index, and the offset of its entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Entry {
    pub(super) pack: usize,
    pub(super) position: Option<usize>,
    offset: u64,
}

impl Packs {
    /// The packs of `repo` that can be read; none when its objects are not named by
    /// SHA-1 (`extensions.objectFormat`).
    pub(super) fn open(repo: &Repository) -> Self {
        let sha1 = repo
            .config()
            .and_then(|config| config.get_string("extensions.objectformat"))
            .map_or(true, |format| format.eq_ignore_ascii_case("sha1"));
        let dir = repo.commondir().join("objects").join("pack");
        if sha1 {
            Self::new(Self::in_dir(&dir), Some(dir))
        } else {
            Self::new(Vec::new(), None)
        }
    }

    fn new(all: Vec<Pack>, dir: Option<std::path::PathBuf>) -> Self {
        Self {
            all,
            last: 0,
            next: Vec::with_capacity(GUESSES),
            #[cfg(test)]
            searches: 0,
            inflate: Decompress::new(true),
            out: Vec::new(),
            whole: None,
            dir,
        }
    }

    /// The readable packs in `dir`: each `pack-*.idx` of version 2 with its `.pack`.
    fn in_dir(dir: &Path) -> Vec<Pack> {
        let Ok(entries) = fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut paths: Vec<_> = entries
            .filter_map(|entry| {
                let path = entry.ok()?.path();
                let name = path.file_name()?.to_str()?;
                let idx = path.extension().is_some_and(|e| e == "idx");
                (idx && name.starts_with("pack-")).then_some(path)
            })
            .collect();
        paths.sort();
        paths.iter().filter_map(|path| Pack::open(path)).collect()
    }

    /// How many packs are read.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.all.len()
    }

    /// The header of commit `id`, when it is a whole (not deltified) commit in one of the
    /// packs and its header has git's canonical layout; `None` for anything else.
    #[cfg(test)]
    pub(super) fn header(&mut self, id: Oid) -> Option<Header<'_>> {
        let entry = self.locate(id)?;
        self.header_of(entry)
    }

    /// The header of the commit at `entry` (see [`Self::header`]).
    pub(super) fn header_of(&mut self, entry: Entry) -> Option<Header<'_>> {
        let (i, pos, size) = self.commit_at(entry.pack, entry.offset)?;
        if size <= WHOLE_UP_TO {
            // Small: inflated by libdeflate, which takes less time than zlib; its first
            // [`PREFIX`] bytes when that holds the header, else whole.
            let size = usize::try_from(size).ok()?;
            self.out.resize(size.max(self.out.len()).max(PREFIX), 0);
            if size > PREFIX
                && let Some(end) = inflate_prefix(
                    &mut self.whole,
                    &mut self.all[i].window,
                    pos,
                    size,
                    &mut self.out[..PREFIX],
                )
            {
                return parse(self.out.get(..end)?);
            }
            if !inflate_whole(
                &mut self.whole,
                &mut self.all[i].window,
                pos,
                &mut self.out[..size],
            ) {
                return None;
            }
            let mut line = 0;
            let end = author_end(&self.out[..size], &mut line)? + COMMITTER.len();
            return parse(self.out.get(..end)?);
        }
        let end = inflate_header(
            &mut self.inflate,
            &mut self.out,
            &mut self.all[i].window,
            pos,
            size,
        )?;
        parse(self.out.get(..end)?)
    }

    /// Where commit `id` is: its pack, its position in pack order (when the pack has a
    /// reverse index) and its offset.
    pub(super) fn locate(&mut self, id: Oid) -> Option<Entry> {
        let name = id.as_bytes();
        if name.len() != NAME_LEN || self.all.is_empty() {
            return None;
        }
        self.find(name)
    }

    /// The entry at `position` in pack order of pack `pack`, when it has a reverse index.
    pub(super) fn entry_at(&self, pack: usize, position: usize) -> Option<Entry> {
        let found = self.all.get(pack)?;
        let at = found.rev.as_ref()?.get(position)?;
        Some(Entry {
            pack,
            position: Some(position),
            offset: found.idx.offset_at(at)?,
        })
    }

    /// Where the next objects are guessed to be, the likeliest first: the pack and the
    /// position in pack order of the entry after each of the last objects found.
    pub(super) fn guesses(&self) -> &[(usize, usize)] {
        &self.next
    }

    /// The same packs opened again, for another thread: `None` when there are none, when
    /// one has no reverse index (nothing to read ahead by), or when they are no longer
    /// the same files (a repack in between).
    pub(super) fn reopen(&self) -> Option<Self> {
        if self.all.is_empty() || self.all.iter().any(|pack| pack.rev.is_none()) {
            return None;
        }
        let dir = self.dir.as_deref()?;
        let again = Self::new(Self::in_dir(dir), Some(dir.to_path_buf()));
        let same =
            again.all.len() == self.all.len()
                && again.all.iter().zip(&self.all).all(|(a, b)| {
                    a.rev.is_some() && a.idx.pack_checksum() == b.idx.pack_checksum()
                });
        same.then_some(again)
    }

    /// Commit `id` inflated whole, when it is a whole (not deltified) commit in one of the
    /// packs; `None` for anything else, a commit larger than [`MAX_OBJECT`], or a stream
    /// that does not inflate to the size its entry gives.
    pub(super) fn object(&mut self, id: Oid) -> Option<Vec<u8>> {
        let (i, pos, size) = self.commit_entry(id)?;
        if size > MAX_OBJECT {
            return None;
        }
        let mut data = vec![0; usize::try_from(size).ok()?];
        inflate_whole(&mut self.whole, &mut self.all[i].window, pos, &mut data).then_some(data)
    }

    /// The pack, the position of the zlib stream and the inflated size of commit `id`,
    /// when it is stored whole in one of the packs.
    fn commit_entry(&mut self, id: Oid) -> Option<(usize, u64, u64)> {
        let entry = self.locate(id)?;
        self.commit_at(entry.pack, entry.offset)
    }

    /// The pack, the position of the zlib stream and the inflated size of the commit whose
    /// entry starts at `offset` of pack `i`, when it is stored whole.
    fn commit_at(&mut self, i: usize, offset: u64) -> Option<(usize, u64, u64)> {
        let pack = self.all.get_mut(i)?;
        if offset < PACK_HEADER || offset >= pack.window.len.saturating_sub(NAME_LEN as u64) {
            return None;
        }
        let (kind, size, used) = entry_header(pack.window.at(offset, 16))?;
        (kind == COMMIT).then_some((i, offset + used as u64, size))
    }

    /// The pack holding the object named `name` and where it starts in it: the guessed
    /// entry when it is that object, else a search of the indexes. Sets the next guess.
    fn find(&mut self, name: &[u8]) -> Option<Entry> {
        let guessed = self
            .next
            .iter()
            .enumerate()
            .find_map(|(g, &(i, position))| {
                let pack = self.all.get(i)?;
                let at = pack.rev.as_ref()?.get(position)?;
                (pack.idx.name(at) == Some(name)).then_some((g, i, position, at))
            });
        if let Some((g, i, position, at)) = guessed {
            self.next.remove(g);
            self.next.insert(0, (i, position + 1));
            return Some(Entry {
                pack: i,
                position: Some(position),
                offset: self.all[i].idx.offset_at(at)?,
            });
        }
        #[cfg(test)]
        {
            self.searches += 1;
        }
        let count = self.all.len();
        let (i, at, offset) = (0..count).map(|k| (self.last + k) % count).find_map(|i| {
            let (at, offset) = self.all[i].idx.find(name)?;
            Some((i, at, offset))
        })?;
        self.last = i;
        let pack = &self.all[i];
        let position = pack
            .rev
            .as_ref()
            .and_then(|rev| rev.position(&pack.idx, at, offset));
        if let Some(position) = position {
            self.next.truncate(GUESSES - 1);
            self.next.insert(0, (i, position + 1));
        }
        Some(Entry {
            pack: i,
            position,
            offset,
        })
    }
}

/// The canonical header in `data` (which ends with the `author` line, the start of the
/// `committer` line after it): the checks of `read.rs`, so that a header read here is the
/// one the object database gives.
fn parse(data: &[u8]) -> Option<Header<'_>> {
    if data.contains(&0) {
        return None;
    }
    if !is_oid_line(data, 0, TREE) {
        return None;
    }
    let mut parents = 0;
    while is_oid_line(data, PARENTS_AT + parents * PARENT_LINE, PARENT) {
        parents += 1;
    }
    let (author, author_end) = signature(data, PARENTS_AT + parents * PARENT_LINE, b"author ")?;
    (data.get(author_end..)? == COMMITTER).then_some(Header {
        data: &data[..author_end],
        parents,
        name: author.name,
        email: author.email,
    })
}

/// The type, the inflated size and the length of the entry header at the start of
/// `bytes`: the type in bits 4–6 of the first byte, the size in its low 4 bits and then 7
/// bits of each following byte while the high bit is set.
fn entry_header(bytes: &[u8]) -> Option<(u8, u64, usize)> {
    let mut byte = *bytes.first()?;
    let kind = (byte >> 4) & 7;
    let mut size = u64::from(byte & 0x0f);
    let mut shift = 4;
    let mut used = 1;
    while byte & 0x80 != 0 {
        byte = *bytes.get(used)?;
        used += 1;
        if shift > 57 {
            return None;
        }
        size |= u64::from(byte & 0x7f) << shift;
        shift += 7;
    }
    Some((kind, size, used))
}

/// Inflates the zlib stream at `pos` of the pack into `out`, whose length is the stream's
/// inflated size; whether it inflated to exactly that. `whole` is the inflater, made on
/// first use.
fn inflate_whole(
    whole: &mut Option<Box<libdeflater::Decompressor>>,
    window: &mut Window,
    pos: u64,
    out: &mut [u8],
) -> bool {
    let size = out.len();
    let input = window.at(pos, most_compressed(size));
    // libdeflate stops at the end of the stream: the bytes after it are not read.
    whole
        .get_or_insert_with(Box::default)
        .zlib_decompress(input, out)
        .is_ok_and(|made| made == size)
}

/// Inflates the first [`PREFIX`] bytes of the zlib stream at `pos` of the pack, whose
/// inflated size is `size`, into `out` (of that length); the length of the header in it
/// (the `author` line and [`COMMITTER`]'s length more) when it is all there.
///
/// libdeflate has no way to stop early: given less room than the stream inflates to, it
/// fails with "insufficient space" without saying how much it wrote. With at most
/// [`PREFIX`] bytes of room it never enters its fast loop (which writes ahead of what it
/// has decoded) and writes each byte once, in order, only when it fits
/// (`decompress_template.h`, libdeflate 1.26): `out` is then the stream's first bytes
/// followed by the zeros it was filled with. A header holds no NUL (`parse` checks), so
/// a header found before the first zero is the commit's.
fn inflate_prefix(
    whole: &mut Option<Box<libdeflater::Decompressor>>,
    window: &mut Window,
    pos: u64,
    size: usize,
    out: &mut [u8],
) -> Option<usize> {
    out.fill(0);
    let input = window.at(pos, most_compressed(size));
    match whole
        .get_or_insert_with(Box::default)
        .zlib_decompress(input, out)
    {
        Err(libdeflater::DecompressionError::InsufficientSpace) => {}
        // Whole in less than its size, or corrupt.
        Ok(_) | Err(libdeflater::DecompressionError::BadData) => return None,
    }
    let mut line = 0;
    let end = author_end(out, &mut line)? + COMMITTER.len();
    (end <= out.len()).then_some(end)
}

/// The most a zlib stream of `size` bytes takes: its header and checksum, and 5 bytes for
/// each stored block of at most 65,535 bytes.
fn most_compressed(size: usize) -> usize {
    size + 5 * (size / 65_535 + 1) + 6
}

/// Inflates the zlib stream at `pos` of the pack into `out` until it holds the first
/// `author` line whole and the start of the line after it; the length of the header up to
/// there (the `author` line and [`COMMITTER`]'s length more). `None` when the stream is
/// corrupt, ends first, or runs past `size` or [`MAX_HEADER`].
fn inflate_header(
    inflate: &mut Decompress,
    out: &mut Vec<u8>,
    window: &mut Window,
    mut pos: u64,
    size: u64,
) -> Option<usize> {
    inflate.reset(true);
    let mut filled = 0;
    // Lines before this one are complete and are not the `author` line.
    let mut line = 0;
    loop {
        if filled == out.len() {
            if out.len() >= MAX_HEADER {
                return None;
            }
            out.resize((out.len() * 2).clamp(FIRST, MAX_HEADER), 0);
        }
        let room = (filled + if filled == 0 { FIRST } else { STEP }).min(out.len());
        let input = window.at(pos, INPUT_MIN);
        let (in_before, out_before) = (inflate.total_in(), inflate.total_out());
        let status = inflate
            .decompress(input, &mut out[filled..room], FlushDecompress::None)
            .ok()?;
        let read = inflate.total_in() - in_before;
        let made = (inflate.total_out() - out_before) as usize;
        pos += read;
        filled += made;
        if let Some(end) = author_end(&out[..filled], &mut line) {
            let end = end + COMMITTER.len();
            if end <= filled {
                return Some(end);
            }
        }
        if status == Status::StreamEnd || (read == 0 && made == 0) || filled as u64 > size {
            return None;
        }
    }
}

/// The end (past its newline) of the first line of `data` that starts with `author `,
/// once that line is complete. `line` is where the first undecided line starts; it moves
/// on over the complete lines looked at, and stays at the `author` line once found.
fn author_end(data: &[u8], line: &mut usize) -> Option<usize> {
    loop {
        let rest = data.get(*line..)?;
        let newline = rest.iter().position(|&b| b == b'\n')?;
        let end = *line + newline + 1;
        if rest.starts_with(b"author ") {
            return Some(end);
        }
        *line = end;
    }
}

/// One pack: its index, its reverse index when there is one, and a window on its file.
struct Pack {
    idx: Idx,
    rev: Option<Rev>,
    window: Window,
}

impl Pack {
    /// The pack of the index at `path`, when the index is of version 2 and consistent and
    /// the pack is the one it indexes (same object count, same checksum).
    fn open(path: &Path) -> Option<Self> {
        let idx = Idx::parse(map(path)?)?;
        let file = File::open(path.with_extension("pack")).ok()?;
        let len = file.metadata().ok()?.len();
        let mut window = Window::new(file, len);
        let head = window.at(0, PACK_HEADER as usize);
        if head.get(..4)? != b"PACK"
            || !matches!(be32(head, 4)?, 2 | 3)
            || be32(head, 8)? as usize != idx.count
        {
            return None;
        }
        let checksum = window.at(len.checked_sub(NAME_LEN as u64)?, NAME_LEN);
        if checksum.get(..NAME_LEN)? != idx.pack_checksum() {
            return None;
        }
        let rev = map(&path.with_extension("rev")).and_then(|data| Rev::parse(data, &idx));
        Some(Self { idx, rev, window })
    }
}

/// The file at `path` mapped into memory; `None` when it cannot be opened or mapped (an
/// empty file cannot be).
fn map(path: &Path) -> Option<Mmap> {
    let file = File::open(path).ok()?;
    // SAFETY: the mapping is read only, and what is mapped are a pack's index and
    // reverse index, which git never changes in place (see the module's documentation).
    // Every read of it is bounds-checked, so bytes that are not what they should be give
    // no header rather than undefined behaviour.
    unsafe { Mmap::map(&file) }.ok()
}

/// A version 2 pack index, checked for consistency: a monotonic fanout table and a length
/// that holds its tables.
struct Idx {
    data: Mmap,
    /// The number of objects.
    count: usize,
}

impl Idx {
    fn parse(data: Mmap) -> Option<Self> {
        if data.get(..4)? != IDX_MAGIC || be32(&data, 4)? != 2 {
            return None;
        }
        let mut count = 0;
        for i in 0..256 {
            let n = be32(&data, FANOUT_AT + 4 * i)?;
            if n < count {
                return None;
            }
            count = n;
        }
        let count = count as usize;
        // Names, CRC-32s and 4-byte offsets, then the 8-byte offsets and the checksums.
        let tables = count.checked_mul(NAME_LEN + 4 + 4)?;
        if data.len() < NAMES_AT.checked_add(tables)?.checked_add(IDX_TRAILER)? {
            return None;
        }
        Some(Self { data, count })
    }

    /// The checksum of the pack this index is for.
    fn pack_checksum(&self) -> &[u8] {
        let at = self.data.len() - IDX_TRAILER;
        &self.data[at..at + NAME_LEN]
    }

    /// The number of objects whose name's first byte is at most `byte`.
    fn fanout(&self, byte: usize) -> usize {
        be32(&self.data, FANOUT_AT + 4 * byte).map_or(0, |n| n as usize)
    }

    /// The name of the object at position `at` of the index.
    fn name(&self, at: usize) -> Option<&[u8]> {
        if at >= self.count {
            return None;
        }
        let from = NAMES_AT + at * NAME_LEN;
        self.data.get(from..from + NAME_LEN)
    }

    /// The position in the index of the object named `name`, and where it starts in the
    /// pack.
    fn find(&self, name: &[u8]) -> Option<(usize, u64)> {
        let first = usize::from(*name.first()?);
        let low = if first == 0 {
            0
        } else {
            self.fanout(first - 1)
        };
        let high = self.fanout(first).min(self.count);
        let names = self
            .data
            .get(NAMES_AT + low * NAME_LEN..NAMES_AT + high * NAME_LEN)?;
        let (names, _) = names.as_chunks::<NAME_LEN>();
        // Names are compared by their first 8 bytes, then whole when those are equal.
        let prefix = |n: &[u8]| n.first_chunk::<8>().map(|b| u64::from_be_bytes(*b));
        let key = prefix(name)?;
        let at = low
            + names
                .binary_search_by(|n| {
                    prefix(n)
                        .cmp(&Some(key))
                        .then_with(|| n.as_slice().cmp(name))
                })
                .ok()?;
        Some((at, self.offset_at(at)?))
    }

    /// Where the object at position `at` of the index starts in the pack.
    fn offset_at(&self, at: usize) -> Option<u64> {
        if at >= self.count {
            return None;
        }
        let offsets = NAMES_AT + self.count * (NAME_LEN + 4);
        let small = be32(&self.data, offsets + 4 * at)?;
        if small & 0x8000_0000 == 0 {
            return Some(u64::from(small));
        }
        // An index into the table of 8-byte offsets, which ends at the checksums.
        let large = (small & 0x7fff_ffff) as usize;
        let large = offsets
            .checked_add(self.count * 4)?
            .checked_add(large.checked_mul(8)?)?;
        if large.checked_add(8)? > self.data.len() - IDX_TRAILER {
            return None;
        }
        let bytes = self.data.get(large..large + 8)?;
        Some(u64::from_be_bytes(bytes.try_into().ok()?))
    }
}

/// A pack's reverse index: for each entry in pack order, its position in the index.
/// Checked for its header, its length and the pack's checksum; each position read is
/// checked against the index.
struct Rev {
    data: Mmap,
    count: usize,
}

impl Rev {
    /// The reverse index in `data` for the pack of `idx`: version 1, SHA-1, one position
    /// per object, then the pack's checksum and its own.
    fn parse(data: Mmap, idx: &Idx) -> Option<Self> {
        if data.get(..4)? != RIDX_MAGIC || be32(&data, 4)? != 1 || be32(&data, 8)? != 1 {
            return None;
        }
        let positions = idx.count.checked_mul(4)?;
        let trailer = RIDX_AT.checked_add(positions)?;
        if data.len() != trailer.checked_add(IDX_TRAILER)?
            || data.get(trailer..trailer + NAME_LEN)? != idx.pack_checksum()
        {
            return None;
        }
        Some(Self {
            data,
            count: idx.count,
        })
    }

    /// The index position of the entry at `position` in pack order.
    fn get(&self, position: usize) -> Option<usize> {
        if position >= self.count {
            return None;
        }
        be32(&self.data, RIDX_AT + 4 * position).map(|at| at as usize)
    }

    /// The pack-order position of the entry at index position `at`, which starts at
    /// `offset`: a binary search over the entries' offsets, which grow in pack order.
    fn position(&self, idx: &Idx, at: usize, offset: u64) -> Option<usize> {
        let (mut low, mut high) = (0, self.count);
        while low < high {
            let mid = low + (high - low) / 2;
            let here = idx.offset_at(self.get(mid)?)?;
            match here.cmp(&offset) {
                std::cmp::Ordering::Less => low = mid + 1,
                std::cmp::Ordering::Greater => high = mid,
                std::cmp::Ordering::Equal => return (self.get(mid)? == at).then_some(mid),
            }
        }
        None
    }
}

/// The big-endian `u32` at `at`.
fn be32(data: &[u8], at: usize) -> Option<u32> {
    let bytes = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes(bytes.try_into().ok()?))
}

/// A pack file, read at offsets (never copied whole) into a few parts kept in memory and
/// reused from one object to the next.
struct Window {
    file: File,
    /// The file's length.
    len: u64,
    /// The parts read, the most recently used first; at most [`PARTS`].
    parts: Vec<Part>,
}

/// One part of a pack file in memory.
#[derive(Default)]
struct Part {
    buf: Vec<u8>,
    /// Where `buf` starts in the file, and how much of it holds the file's bytes.
    start: u64,
    filled: usize,
}

impl Window {
    fn new(file: File, len: u64) -> Self {
        Self {
            file,
            len,
            parts: Vec::new(),
        }
    }

    /// The bytes from `pos` on: at least `min` of them unless the file ends first. Empty
    /// past the end or when the file cannot be read.
    fn at(&mut self, pos: u64, min: usize) -> &[u8] {
        let len = self.len;
        let held = self.parts.iter().position(|part| {
            let end = part.start + part.filled as u64;
            pos >= part.start && pos <= end && (end - pos >= min as u64 || end == len)
        });
        let i = held.unwrap_or_else(|| {
            // A new part, or the least recently used one read again.
            if self.parts.len() < PARTS {
                self.parts.push(Part::default());
            }
            let last = self.parts.len() - 1;
            self.parts[last].load(&self.file, len, pos, min);
            last
        });
        self.parts[..=i].rotate_right(1);
        let part = &self.parts[0];
        let from = (pos - part.start) as usize;
        part.buf.get(from..part.filled).unwrap_or_default()
    }
}

impl Part {
    /// Reads `file` (of length `len`) from `pos`: a [`WINDOW`], or `min` bytes if more, or
    /// up to the end.
    fn load(&mut self, file: &File, len: u64, pos: u64, min: usize) {
        let want = WINDOW.max(min).min(len.saturating_sub(pos) as usize);
        if self.buf.len() < want {
            self.buf.resize(want, 0);
        }
        self.start = pos;
        self.filled = 0;
        while self.filled < want {
            match read_at(
                file,
                &mut self.buf[self.filled..want],
                pos + self.filled as u64,
            ) {
                Ok(0) => break,
                Ok(n) => self.filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.filled = 0;
                    break;
                }
            }
        }
    }
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], pos: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, pos)
}

#[cfg(not(unix))]
fn read_at(mut file: &File, buf: &mut [u8], pos: u64) -> io::Result<usize> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    file.seek(SeekFrom::Start(pos))?;
    file.read(buf)
}

#[cfg(test)]
pub(in crate::changelog) mod tests {
    use std::path::PathBuf;

    use git2::{ObjectType, Signature, Time};
    use proptest::prelude::*;

    use crate::changelog::{ChangelogSettings, Target, collect};

    use super::*;

    /// Writes every object reachable from `tips` into one pack in `objects/pack` with
    /// libgit2's pack builder, then deletes their loose copies.
    pub(in crate::changelog) fn pack(repo: &Repository, tips: &[Oid]) {
        let mut walk = repo.revwalk().unwrap();
        for tip in tips {
            walk.push(*tip).unwrap();
        }
        let mut builder = repo.packbuilder().unwrap();
        builder.insert_walk(&mut walk).unwrap();
        let objects = repo.path().join("objects");
        builder.write(&objects.join("pack"), 0o644).unwrap();
        for entry in fs::read_dir(&objects).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            if name.len() == 2 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
                fs::remove_dir_all(&path).unwrap();
            }
        }
    }

    /// The paths of the (only) pack's index and pack file.
    pub(in crate::changelog) fn pack_files(repo: &Repository) -> (PathBuf, PathBuf) {
        let dir = repo.path().join("objects").join("pack");
        let idx = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "idx"))
            .unwrap();
        let pack = idx.with_extension("pack");
        (idx, pack)
    }

    /// The type of the pack entry of `id`.
    fn kind(packs: &mut Packs, id: Oid) -> Option<u8> {
        let pack = packs.all.first_mut()?;
        let (_, offset) = pack.idx.find(id.as_bytes())?;
        entry_header(pack.window.at(offset, 16)).map(|(kind, _, _)| kind)
    }

    /// A commit of `tree` by `who` at `time`, with the given parents and message, written
    /// as git writes it; the id.
    pub(in crate::changelog) fn commit(
        repo: &Repository,
        who: (&str, &str),
        time: i64,
        parents: &[Oid],
        message: &str,
    ) -> Oid {
        let sig = Signature::new(who.0, who.1, &Time::new(time, 120)).unwrap();
        let blob = repo.blob(message.as_bytes()).unwrap();
        let mut tb = repo.treebuilder(None).unwrap();
        tb.insert("file", blob, 0o100_644).unwrap();
        let tree = repo.find_tree(tb.write().unwrap()).unwrap();
        let parents: Vec<git2::Commit<'_>> = parents
            .iter()
            .map(|p| repo.find_commit(*p).unwrap())
            .collect();
        let parents: Vec<&git2::Commit<'_>> = parents.iter().collect();
        repo.commit(None, &sig, &sig, message, &tree, &parents)
            .unwrap()
    }

    /// A commit object written byte for byte.
    fn raw_commit(repo: &Repository, parent: Oid, middle: &[u8], rest: &[u8]) -> Oid {
        let tree = repo.find_commit(parent).unwrap().tree_id();
        let mut raw = format!("tree {tree}\nparent {parent}\n").into_bytes();
        raw.extend_from_slice(middle);
        raw.extend_from_slice(rest);
        repo.odb().unwrap().write(ObjectType::Commit, &raw).unwrap()
    }

    /// A history with merges (one of twelve parents), unicode and very long names, long
    /// messages, signed commits, an `encoding` header and headers libgit2 reads its own
    /// way; every commit, newest last.
    fn history(repo: &Repository) -> Vec<Oid> {
        let people = [
            ("Ada Lovelace", "ada@example.com"),
            ("Zoë Ünïcödé", "zoe@exämple.org"),
            ("李雷", "li@例子.cn"),
            (" \"Quoted\" ; ", "  spaced@example.com "),
        ];
        let long_name = "N".repeat(700);
        let mut all = Vec::new();
        let mut time = 1_600_000_000;
        let mut tip = commit(repo, people[0], time, &[], "feat: start");
        all.push(tip);
        for i in 0..40 {
            time += 60;
            let who = people[i % people.len()];
            let message = if i % 7 == 3 {
                // Longer than anything inflated for the header.
                format!("feat: long {i}\n\n{}", "lorem ipsum dolor ".repeat(600))
            } else if i % 7 == 5 {
                // Longer than the prefix inflated first, shorter than a large commit.
                format!("fix: medium {i}\n\n{}", "sit amet ".repeat(20 + 40 * i))
            } else {
                format!("fix: change {i}")
            };
            tip = commit(repo, who, time, &[tip], &message);
            all.push(tip);
        }
        let long = commit(
            repo,
            (&long_name, "long@example.com"),
            time + 1,
            &[tip],
            "x",
        );
        all.push(long);
        // Twelve branches off one commit, merged at once.
        let mut heads = vec![long];
        for b in 0..11 {
            let head = commit(
                repo,
                people[b % 4],
                time + 2 + b as i64,
                &[tip],
                &format!("b{b}"),
            );
            all.push(head);
            heads.push(head);
        }
        tip = commit(repo, people[1], time + 20, &heads, "Merge twelve branches");
        all.push(tip);
        let side = commit(repo, people[2], time + 21, &[tip], "side");
        all.push(side);
        tip = commit(repo, people[0], time + 22, &[tip, side], "Merge side");
        all.push(tip);
        // Signed: a `gpgsig` header after the committer.
        let sig = Signature::new("Signer", "s@example.com", &Time::new(time + 23, 0)).unwrap();
        let head = repo.find_commit(tip).unwrap();
        let buffer = repo
            .commit_create_buffer(&sig, &sig, "signed", &head.tree().unwrap(), &[&head])
            .unwrap();
        let signature = "-----BEGIN PGP SIGNATURE-----\n\nabc\n-----END PGP SIGNATURE-----";
        tip = repo
            .commit_signed(buffer.as_str().unwrap(), signature, None)
            .unwrap();
        all.push(tip);
        let committer = b"committer C <c@example.com> 1600000999 +0000\n";
        // Latin-1 under an `encoding` header.
        let mut middle = b"author Jos\xe9 <jose@example.com> 1600000999 +0100\n".to_vec();
        middle.extend_from_slice(committer);
        tip = raw_commit(repo, tip, &middle, b"encoding ISO-8859-1\n\ncaf\xe9\n");
        all.push(tip);
        // A NUL in the message, after the header.
        let mut middle = b"author Nul <nul@example.com> 1600001000 +0000\n".to_vec();
        middle.extend_from_slice(committer);
        tip = raw_commit(repo, tip, &middle, b"\nbefore\0after\n");
        all.push(tip);
        // Not canonical: libgit2 takes the last `<`; a second author line.
        for odd in [
            &b"author A <b> <c@d> 1600001001 +0000\n"[..],
            b"author A <a@d> 1600001002 +0000\nauthor B <b@d> 1600001002 +0000\n",
        ] {
            let mut middle = odd.to_vec();
            middle.extend_from_slice(committer);
            tip = raw_commit(repo, tip, &middle, b"\nodd\n");
            all.push(tip);
        }
        all
    }

    /// libgit2's parents and author (name, email bytes) of `id`.
    fn libgit2(repo: &Repository, id: Oid) -> (Vec<Oid>, Vec<u8>, Vec<u8>) {
        let c = repo.find_commit(id).unwrap();
        let author = c.author();
        (
            c.parent_ids().collect(),
            author.name_bytes().to_vec(),
            author.email_bytes().to_vec(),
        )
    }

    fn ours(packs: &mut Packs, id: Oid) -> Option<(Vec<Oid>, Vec<u8>, Vec<u8>)> {
        let header = packs.header(id)?;
        let (name, email) = header.author();
        Some((header.parent_ids().collect(), name.to_vec(), email.to_vec()))
    }

    #[test]
    fn headers_read_from_a_pack_are_libgit2s() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init_bare(dir.path()).unwrap();
        let all = history(&repo);
        pack(&repo, &[*all.last().unwrap()]);
        let repo = Repository::open_bare(dir.path()).unwrap();
        let mut packs = Packs::open(&repo);
        assert_eq!(packs.len(), 1);
        let odd = &all[all.len() - 2..];
        let mut read = 0;
        for &id in &all {
            let whole = kind(&mut packs, id) == Some(COMMIT);
            match ours(&mut packs, id) {
                Some(header) => {
                    assert_eq!(header, libgit2(&repo, id), "{id}");
                    read += 1;
                }
                None => assert!(!whole || odd.contains(&id), "{id} not read"),
            }
        }
        for &id in odd {
            assert!(packs.header(id).is_none(), "{id}");
        }
        // Most commits are stored whole; each of those was read.
        assert!(read > all.len() / 2, "{read} of {}", all.len());
        // Neither a tree nor a blob, nor an object in no pack.
        let tree = repo.find_commit(all[0]).unwrap().tree_id();
        assert!(packs.header(tree).is_none());
        assert!(packs.header(Oid::from_bytes(&[7; 20]).unwrap()).is_none());
    }

    /// What [`inflate_prefix`] relies on: given at most [`PREFIX`] bytes of room,
    /// libdeflate writes nothing it has not decoded. Whatever the data and the compression
    /// level, the room holds the data's first bytes, then what it held before, untouched.
    #[test]
    fn libdeflate_writes_only_what_it_has_decoded_in_a_short_room() {
        use std::io::Write as _;
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(256));
        let data = (
            proptest::collection::vec(
                prop_oneof![
                    proptest::collection::vec(any::<u8>(), 1..40),
                    proptest::collection::vec(b'a'..b'e', 1..300),
                    Just(b"author Ada <ada@example.com> 1600000000 +0000\n".to_vec()),
                ],
                1..30,
            ),
            0u32..10,
        );
        runner
            .run(&data, |(parts, level)| {
                let data = parts.concat();
                let mut z =
                    flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(level));
                z.write_all(&data).unwrap();
                let stream = z.finish().unwrap();
                let mut room = [0xa5_u8; PREFIX];
                let result = libdeflater::Decompressor::new().zlib_decompress(&stream, &mut room);
                let made = room.iter().zip(&data).take_while(|(a, b)| a == b).count();
                prop_assert!(
                    room[made..].iter().all(|&b| b == 0xa5),
                    "written past {made}"
                );
                match result {
                    Ok(n) => prop_assert_eq!(n, data.len()),
                    Err(libdeflater::DecompressionError::InsufficientSpace) => {
                        prop_assert!(data.len() > PREFIX);
                    }
                    Err(e) => prop_assert!(false, "{e:?}"),
                }
                Ok(())
            })
            .unwrap();
    }

    /// Whole commits read from a pack are the object database's bytes, and the range
    /// reader gives what libgit2 gives for each commit, packed or not.
    #[test]
    fn whole_commits_read_from_a_pack_are_libgit2s() {
        let f = fixture();
        let repo = Repository::open_bare(&f.repo).unwrap();
        let odb = repo.odb().unwrap();
        let mut packs = Packs::open(&repo);
        let mut whole = 0;
        for &id in &f.commits {
            match packs.object(id) {
                Some(data) => {
                    assert_eq!(data, odb.read(id).unwrap().data(), "{id}");
                    whole += 1;
                }
                None => assert_ne!(kind(&mut packs, id), Some(COMMIT), "{id}"),
            }
        }
        assert!(
            whole > f.commits.len() / 2,
            "{whole} of {}",
            f.commits.len()
        );
        let tree = repo.find_commit(f.commits[0]).unwrap().tree_id();
        assert!(packs.object(tree).is_none());

        let reader = super::super::read::Reader::new(&repo);
        for &id in &f.commits {
            let ours = reader.read(id).unwrap();
            let theirs = repo.find_commit(id).unwrap();
            assert!(ours.parent_ids().eq(theirs.parent_ids()), "{id}");
            assert_eq!(ours.message_bytes(), theirs.message_bytes(), "{id}");
            assert_eq!(
                ours.author().0.email,
                theirs.author().email().unwrap_or_default()
            );
            assert_eq!(ours.time(), theirs.time().seconds());
        }
    }

    /// The history of [`history`] packed: the index's and the pack's bytes, every commit.
    struct Fixture {
        _dir: tempfile::TempDir,
        repo: PathBuf,
        idx: Vec<u8>,
        pack: Vec<u8>,
        commits: Vec<Oid>,
    }

    fn fixture() -> &'static Fixture {
        static FIXTURE: std::sync::OnceLock<Fixture> = std::sync::OnceLock::new();
        FIXTURE.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let repo = Repository::init_bare(dir.path()).unwrap();
            let commits = history(&repo);
            pack(&repo, &[*commits.last().unwrap()]);
            let (idx, pack) = pack_files(&repo);
            Fixture {
                repo: dir.path().to_owned(),
                idx: fs::read(idx).unwrap(),
                pack: fs::read(pack).unwrap(),
                commits,
                _dir: dir,
            }
        })
    }

    /// The packs of a directory holding `idx` and `pack` as `pack-x.idx` / `pack-x.pack`.
    fn packs_from(dir: &Path, idx: &[u8], pack: &[u8]) -> Packs {
        fs::write(dir.join("pack-x.idx"), idx).unwrap();
        fs::write(dir.join("pack-x.pack"), pack).unwrap();
        Packs::new(Packs::in_dir(dir), Some(dir.to_path_buf()))
    }

    /// The reverse index of the pack indexed by `idx` (a small one: 4-byte offsets), with
    /// a zero checksum of its own.
    pub(in crate::changelog) fn rev_for(idx: &[u8]) -> Vec<u8> {
        let count = be32(idx, NAMES_AT - 4).unwrap() as usize;
        let offsets = NAMES_AT + count * (NAME_LEN + 4);
        let mut order: Vec<usize> = (0..count).collect();
        order.sort_by_key(|&at| be32(idx, offsets + 4 * at).unwrap());
        let mut rev = RIDX_MAGIC.to_vec();
        rev.extend_from_slice(&1u32.to_be_bytes());
        rev.extend_from_slice(&1u32.to_be_bytes());
        for at in order {
            rev.extend_from_slice(&(at as u32).to_be_bytes());
        }
        rev.extend_from_slice(&idx[idx.len() - IDX_TRAILER..idx.len() - NAME_LEN]);
        rev.extend_from_slice(&[0; NAME_LEN]);
        rev
    }

    /// [`packs_from`] with `rev` as the reverse index.
    fn packs_with_rev(dir: &Path, idx: &[u8], pack: &[u8], rev: &[u8]) -> Packs {
        fs::write(dir.join("pack-x.rev"), rev).unwrap();
        packs_from(dir, idx, pack)
    }

    /// Every commit of the fixture read from `packs`: a header, when there is one, is
    /// libgit2's; how many there were.
    fn read_all(packs: &mut Packs) -> usize {
        let f = fixture();
        let repo = Repository::open_bare(&f.repo).unwrap();
        let mut read = 0;
        for &id in &f.commits {
            if let Some(header) = ours(packs, id) {
                assert_eq!(header, libgit2(&repo, id), "{id}");
                read += 1;
            }
        }
        read
    }

    fn put_be32(data: &mut [u8], at: usize, value: u32) {
        data[at..at + 4].copy_from_slice(&value.to_be_bytes());
    }

    #[test]
    fn a_hostile_index_or_pack_gives_no_header() {
        let f = fixture();
        let dir = tempfile::tempdir().unwrap();
        let count = be32(&f.idx, NAMES_AT - 4).unwrap() as usize;
        assert!(read_all(&mut packs_from(dir.path(), &f.idx, &f.pack)) > 0);

        // Truncated anywhere: not opened, or the objects past the end are not read.
        for len in [
            0,
            3,
            4,
            8,
            100,
            NAMES_AT,
            NAMES_AT + 20 * count,
            f.idx.len() - 1,
        ] {
            let mut packs = packs_from(dir.path(), &f.idx[..len], &f.pack);
            assert_eq!(packs.len(), 0, "idx cut at {len}");
            assert_eq!(read_all(&mut packs), 0);
        }
        for len in [0, 11, 12, 100, f.pack.len() / 2, f.pack.len() - 1] {
            let packs = packs_from(dir.path(), &f.idx, &f.pack[..len]);
            assert_eq!(packs.len(), 0, "pack cut at {len}");
        }
        // Cut in the middle of a commit's entry, its trailer kept: the commits before the
        // cut are read, that one is not.
        let mut whole = Packs::new(Packs::in_dir(&f.repo.join("objects").join("pack")), None);
        let mut last = None;
        for &id in &f.commits {
            let (_, offset) = whole.all[0].idx.find(id.as_bytes()).unwrap();
            if whole.header(id).is_some() && last.is_none_or(|(_, at)| at < offset) {
                last = Some((id, offset));
            }
        }
        let (before, at) = last.unwrap();
        let mut cut = f.pack[..at as usize + 8].to_vec();
        cut.extend_from_slice(&f.pack[f.pack.len() - NAME_LEN..]);
        let mut packs = packs_from(dir.path(), &f.idx, &cut);
        assert_eq!(packs.len(), 1);
        assert!(packs.header(before).is_none());
        assert_eq!(read_all(&mut packs) + 1, read_all(&mut whole));

        // Another version, or not an index at all.
        let mut v1 = f.idx.clone();
        put_be32(&mut v1, 4, 1);
        assert_eq!(packs_from(dir.path(), &v1, &f.pack).len(), 0);
        let mut v3 = f.idx.clone();
        put_be32(&mut v3, 4, 3);
        assert_eq!(packs_from(dir.path(), &v3, &f.pack).len(), 0);
        assert_eq!(packs_from(dir.path(), &f.pack, &f.pack).len(), 0);

        // A fanout that goes down, or that counts more objects than the index holds.
        let mut fanout = f.idx.clone();
        put_be32(&mut fanout, FANOUT_AT + 4 * 100, u32::MAX);
        assert_eq!(packs_from(dir.path(), &fanout, &f.pack).len(), 0);
        let mut fanout = f.idx.clone();
        put_be32(&mut fanout, FANOUT_AT + 4 * 255, u32::MAX);
        assert_eq!(packs_from(dir.path(), &fanout, &f.pack).len(), 0);

        // Offsets past the end of the pack, into the header, or into a table of 8-byte
        // offsets that is not there.
        let offsets = NAMES_AT + count * (NAME_LEN + 4);
        for bad in [
            0x7fff_ffff,
            0,
            5,
            f.pack.len() as u32 - 1,
            0x8000_0000,
            0xffff_ffff,
        ] {
            let mut idx = f.idx.clone();
            for i in 0..count {
                put_be32(&mut idx, offsets + 4 * i, bad);
            }
            let mut packs = packs_from(dir.path(), &idx, &f.pack);
            assert_eq!(packs.len(), 1);
            assert_eq!(read_all(&mut packs), 0, "offsets {bad:#x}");
        }
    }

    /// An index naming one object at offset 12 of `pack`, with `pack`'s trailer as the
    /// pack's checksum.
    fn one_object_idx(name: [u8; 20], pack: &[u8]) -> Vec<u8> {
        let mut idx = IDX_MAGIC.to_vec();
        idx.extend_from_slice(&2u32.to_be_bytes());
        for byte in 0..256 {
            let n = u32::from(byte >= usize::from(name[0]));
            idx.extend_from_slice(&n.to_be_bytes());
        }
        idx.extend_from_slice(&name);
        idx.extend_from_slice(&[0; 4]);
        idx.extend_from_slice(&12u32.to_be_bytes());
        idx.extend_from_slice(&pack[pack.len().saturating_sub(20)..]);
        idx.extend_from_slice(&[0; 20]);
        idx
    }

    /// Whether a header read has the canonical layout: it parses again, followed by the
    /// start of the `committer` line it was read with.
    fn canonical(header: &Header<'_>) -> bool {
        let mut data = header.data.to_vec();
        data.extend_from_slice(COMMITTER);
        parse(&data).is_some_and(|again| again.data == header.data)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        /// Random bytes as the index and the pack.
        #[test]
        fn random_files_never_panic(
            idx in proptest::collection::vec(any::<u8>(), 0..1500),
            pack in proptest::collection::vec(any::<u8>(), 0..1500),
            name in any::<[u8; 20]>(),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let mut packs = packs_from(dir.path(), &idx, &pack);
            let _ = packs.header(Oid::from_bytes(&name).unwrap());
        }

        /// A commit entry whose inflated text is made of random header-like lines.
        #[test]
        fn random_headers_never_panic(
            lines in proptest::collection::vec(prop_oneof![
                Just("parent 0123456789abcdef0123456789abcdef01234567\n".to_owned()),
                Just("author A <a@b> 1 +0000\n".to_owned()),
                Just("committer C <c@d> 2 +0000\n".to_owned()),
                "[a-z<> \n\x00]{0,40}",
            ], 0..12),
            size in 0u64..2000,
            name in any::<[u8; 20]>(),
        ) {
            use std::io::Write as _;
            let mut text = format!("tree {}\n", "4b825dc642cb6eb9a060e54bf8d69288fbee4904");
            text.extend(lines);
            let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            z.write_all(text.as_bytes()).unwrap();
            let mut pack = b"PACK\0\0\0\x02\0\0\0\x01".to_vec();
            // A commit of `size` bytes, as written in an entry header.
            let mut size_left = size >> 4;
            pack.push((COMMIT << 4) | (size & 0x0f) as u8 | if size_left > 0 { 0x80 } else { 0 });
            while size_left > 0 {
                let byte = (size_left & 0x7f) as u8;
                size_left >>= 7;
                pack.push(byte | if size_left > 0 { 0x80 } else { 0 });
            }
            pack.extend_from_slice(&z.finish().unwrap());
            pack.extend_from_slice(&[9; 20]);
            let dir = tempfile::tempdir().unwrap();
            let mut packs = packs_from(dir.path(), &one_object_idx(name, &pack), &pack);
            if let Some(header) = packs.header(Oid::from_bytes(&name).unwrap()) {
                prop_assert!(text.as_bytes().starts_with(header.data));
                prop_assert!(canonical(&header));
            }
            if let Some(whole) = packs.object(Oid::from_bytes(&name).unwrap()) {
                prop_assert_eq!(whole, text.as_bytes());
            }
        }

        /// An index that points at random bytes after a valid pack header: the entry
        /// header and the zlib stream are random.
        #[test]
        fn random_entries_never_panic(
            body in proptest::collection::vec(any::<u8>(), 0..3000),
            name in any::<[u8; 20]>(),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let mut pack = b"PACK\0\0\0\x02\0\0\0\x01".to_vec();
            pack.extend_from_slice(&body);
            pack.extend_from_slice(&[9; 20]);
            let mut packs = packs_from(dir.path(), &one_object_idx(name, &pack), &pack);
            prop_assert_eq!(packs.len(), 1);
            let id = Oid::from_bytes(&name).unwrap();
            if let Some(header) = packs.header(id) {
                // Whatever is read has the canonical layout.
                prop_assert!(canonical(&header));
            }
            let _ = packs.object(id);
        }

        /// Reads at any offsets, in any order, give the file's bytes.
        #[test]
        fn a_window_gives_the_files_bytes(
            reads in proptest::collection::vec((0u64..140_000, 0usize..40_000), 1..40),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("f");
            let bytes: Vec<u8> = (0..130_000u32).map(|i| (i % 251) as u8).collect();
            fs::write(&path, &bytes).unwrap();
            let mut window = Window::new(File::open(&path).unwrap(), bytes.len() as u64);
            for (pos, min) in reads {
                let got = window.at(pos, min);
                let want = bytes.get(pos as usize..).unwrap_or_default();
                prop_assert!(got.len() >= min.min(want.len()));
                prop_assert_eq!(got, &want[..got.len()]);
                prop_assert!(window.parts.len() <= PARTS);
            }
        }

        /// The fixture's reverse index with random bytes changed: each header read is
        /// still libgit2's.
        #[test]
        fn a_corrupted_reverse_index_reads_the_same(
            edits in proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>()), 1..16),
        ) {
            let f = fixture();
            let mut rev = rev_for(&f.idx);
            for (at, byte) in edits {
                let at = RIDX_AT + at.index(rev.len() - RIDX_AT - IDX_TRAILER);
                rev[at] = byte;
            }
            let dir = tempfile::tempdir().unwrap();
            let mut packs = packs_with_rev(dir.path(), &f.idx, &f.pack, &rev);
            prop_assert!(packs.all[0].rev.is_some());
            read_all(&mut packs);
        }

        /// The fixture's pack and index with random bytes changed.
        #[test]
        fn corrupted_packs_never_panic(
            idx_edits in proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>()), 0..8),
            pack_edits in proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>()), 0..32),
        ) {
            let f = fixture();
            let (mut idx, mut pack) = (f.idx.clone(), f.pack.clone());
            for (at, byte) in idx_edits {
                let at = at.index(idx.len());
                idx[at] = byte;
            }
            for (at, byte) in pack_edits {
                let at = at.index(pack.len());
                pack[at] = byte;
            }
            let dir = tempfile::tempdir().unwrap();
            let mut packs = packs_from(dir.path(), &idx, &pack);
            for &id in &f.commits {
                let _ = ours(&mut packs, id);
                let _ = packs.object(id);
            }
        }
    }

    /// With a reverse index, lookups in pack order find each entry after the first by
    /// the guess, and read what a search reads.
    #[test]
    fn a_reverse_index_guesses_the_next_entry() {
        let f = fixture();
        let dir = tempfile::tempdir().unwrap();
        let mut packs = packs_with_rev(dir.path(), &f.idx, &f.pack, &rev_for(&f.idx));
        assert!(packs.all[0].rev.is_some());
        // Every object (commits, trees, blobs), in pack order.
        let idx = &packs.all[0].idx;
        let mut in_pack: Vec<(u64, Oid)> = (0..idx.count)
            .map(|at| {
                let id = Oid::from_bytes(idx.name(at).unwrap()).unwrap();
                (idx.offset_at(at).unwrap(), id)
            })
            .collect();
        in_pack.sort_unstable();
        let repo = Repository::open_bare(&f.repo).unwrap();
        let mut read = 0;
        for &(_, id) in &in_pack {
            if let Some(header) = ours(&mut packs, id) {
                assert_eq!(header, libgit2(&repo, id), "{id}");
                read += 1;
            }
        }
        assert!(read > f.commits.len() / 2, "{read} of {}", f.commits.len());
        assert_eq!(packs.searches, 1);

        // Two runs read in turns, as a walk through commits that tags pulled forward
        // does: one search for the start of each run.
        let mut packs = packs_with_rev(dir.path(), &f.idx, &f.pack, &rev_for(&f.idx));
        let (a, b) = in_pack.split_at(in_pack.len() / 2);
        for (x, y) in a.iter().zip(b) {
            let _ = ours(&mut packs, x.1);
            let _ = ours(&mut packs, y.1);
        }
        assert_eq!(packs.searches, 2);

        // Last entry first: every guess is wrong, and every lookup searches.
        let mut packs = packs_with_rev(dir.path(), &f.idx, &f.pack, &rev_for(&f.idx));
        for &(_, id) in in_pack.iter().rev() {
            let _ = ours(&mut packs, id);
        }
        assert_eq!(packs.searches, in_pack.len());
    }

    /// A reverse index that is not the pack's, or not well formed, is not used; one that
    /// is well formed but wrong only makes guesses miss: what is read is unchanged.
    #[test]
    fn a_wrong_reverse_index_changes_nothing() {
        let f = fixture();
        let dir = tempfile::tempdir().unwrap();
        let good = rev_for(&f.idx);
        let mut refused = vec![
            Vec::new(),
            good[..good.len() - 1].to_vec(),
            [good.as_slice(), &[0]].concat(),
        ];
        for at in [0, 4, 7, 11, good.len() - 2 * NAME_LEN] {
            let mut bad = good.clone();
            bad[at] ^= 1;
            refused.push(bad);
        }
        for bad in refused {
            let packs = packs_with_rev(dir.path(), &f.idx, &f.pack, &bad);
            assert!(packs.all[0].rev.is_none());
        }
        let want = read_all(&mut packs_from(dir.path(), &f.idx, &f.pack));
        let mut reversed = good.clone();
        reversed[RIDX_AT..good.len() - IDX_TRAILER].reverse();
        let mut huge = good.clone();
        huge[RIDX_AT..RIDX_AT + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        for wrong in [reversed, huge] {
            let mut packs = packs_with_rev(dir.path(), &f.idx, &f.pack, &wrong);
            assert!(packs.all[0].rev.is_some());
            assert_eq!(read_all(&mut packs), want);
        }
    }

    /// A history whose older commits are packed (some of them as deltas) and whose newer
    /// ones are loose: the repository, the previous release (`v1.0.0`) and the release.
    fn packed_and_loose() -> (tempfile::TempDir, Repository, Oid, Oid) {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let person = |n: &str| (n.to_owned(), format!("{}@example.com", n.to_lowercase()));
        let mut time = 1_600_000_000;
        let mut next = || {
            time += 60;
            time
        };
        let bob = person("Bob");
        let mut tip = commit(&repo, (&bob.0, &bob.1), next(), &[], "feat: start");
        // Commits much alike: the pack builder stores most of them as deltas.
        let lorem = "lorem ipsum dolor sit amet ".repeat(200);
        for i in 0..12 {
            let who = person(&format!("Long{}", i % 6));
            let message = format!("fix: {i}\n\n{lorem}");
            tip = commit(&repo, (&who.0, &who.1), next(), &[tip], &message);
        }
        for i in 0..30 {
            let who = person(if i % 2 == 0 { "Ada" } else { "Ana" });
            tip = commit(
                &repo,
                (&who.0, &who.1),
                next(),
                &[tip],
                &format!("fix: {i}"),
            );
        }
        let packed = tip;
        pack(&repo, &[packed]);
        let repo = Repository::open(dir.path()).unwrap();
        // Loose from here on: a side branch by Eve merged by Dee.
        let eve = person("Eve");
        let side = commit(&repo, (&eve.0, &eve.1), next(), &[tip], "feat: side");
        let ada = person("Ada");
        tip = commit(&repo, (&ada.0, &ada.1), next(), &[tip], "fix: main");
        let dee = person("Dee");
        tip = commit(&repo, (&dee.0, &dee.1), next(), &[tip, side], "Merge side");
        let previous = tip;
        repo.tag_lightweight("v1.0.0", &repo.find_object(previous, None).unwrap(), false)
            .unwrap();
        for name in [
            "Ada", "Bob", "Cy", "Dee", "Eve", "Long0", "Long3", "Long5", "Ana", "Fay",
        ] {
            let who = person(name);
            tip = commit(
                &repo,
                (&who.0, &who.1),
                next(),
                &[tip],
                &format!("feat: by {name}"),
            );
        }
        (dir, repo, previous, tip)
    }

    /// The first-time walk over a history that mixes packed, deltified and loose commits
    /// finds who is new as a full walk does.
    #[test]
    fn first_time_is_unchanged_on_packed_and_loose_history() {
        let (dir, repo, previous, tip) = packed_and_loose();
        // The history before the release mixes the three kinds of commit.
        let mut packs = Packs::open(&repo);
        let mut walk = repo.revwalk().unwrap();
        walk.push(previous).unwrap();
        let mut seen = std::collections::HashSet::new();
        let (mut whole, mut deltas, mut loose) = (0, 0, 0);
        for id in walk {
            let id = id.unwrap();
            seen.insert(
                repo.find_commit(id)
                    .unwrap()
                    .author()
                    .email()
                    .unwrap()
                    .to_owned(),
            );
            match kind(&mut packs, id) {
                Some(COMMIT) => {
                    assert!(packs.header(id).is_some(), "{id}");
                    whole += 1;
                }
                Some(6 | 7) => {
                    assert!(packs.header(id).is_none(), "{id}");
                    deltas += 1;
                }
                other => {
                    assert_eq!(other, None);
                    assert!(packs.header(id).is_none(), "{id}");
                    loose += 1;
                }
            }
        }
        assert!(
            whole > 0 && deltas > 0 && loose > 0,
            "{whole} {deltas} {loose}"
        );

        let target = Target {
            tag: Some("v1.1.0".into()),
            commit: Some(tip.to_string()),
        };
        let changelog = collect(dir.path(), &ChangelogSettings::default(), &target).unwrap();
        let got: Vec<(&str, bool)> = changelog
            .contributors
            .iter()
            .map(|c| (c.name.as_str(), c.first_time))
            .collect();
        let want: Vec<(&str, bool)> = changelog
            .contributors
            .iter()
            .map(|c| (c.name.as_str(), !seen.contains(&c.email)))
            .collect();
        assert_eq!(got, want);
        assert_eq!(got.len(), 10);
        assert_eq!(got.iter().filter(|(_, new)| *new).count(), 2, "Cy and Fay");
    }
}

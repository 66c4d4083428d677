//! A second reader of commit headers for the walk that finds first-time contributors.
//!
//! When one of a release's people is new, that walk reads every commit before the release:
//! 24,500 commits for a release 2,500 commits after the start of a 27,000-commit history,
//! the whole history for the latest release. Each commit is an inflate of a few
//! microseconds, and the walk cannot be split by the graph: which commit comes next is
//! written in the one before. Which *entry of the pack* comes next is, most often, known
//! in advance: git writes a pack's commits in the order a walk meets them, so the next
//! commit is the entry after one just read, in one of a few runs ([`Packs::guesses`]). A
//! helper thread reads the entries ahead of those guesses while the walk reads others.
//!
//! The work is split by position in pack order: the helper takes odd positions, within
//! [`LEAD`] entries of a guess; the walk reads even ones itself. An odd entry the helper
//! has read is handed over; one it has not reached, or is still reading, the walk reads
//! itself and marks as taken, and the helper skips it. Whoever reads it, each commit's
//! header is the same bytes, and the walk's order is its own: the helper changes what the
//! walk finds in no way, it only saves it inflates.
//!
//! The helper runs at the lowest scheduling priority (on Linux): it takes a core that
//! would be idle (the range's notes are done and the process waits on the walk) and gives
//! way to the range walk and the rendering when they need both cores. It keeps at most
//! [`MAX_READY`] headers not yet handed over, and gives up when most of what it reads is
//! not used (a pack whose order is not the walk's).

use std::collections::HashMap;
use std::collections::hash_map::Entry as MapEntry;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use super::pack::{Entry, GUESSES, OwnedHeader, Packs};

/// How far past a guess (in pack order) the helper reads.
const LEAD: usize = 64;
/// The helper reads all but one entry in `SHARE` (half of them): the walk reads the rest
/// and does its own bookkeeping, which takes about as long.
const SHARE: usize = 2;
/// How many headers read by the helper may wait to be handed over.
const MAX_READY: usize = 256;
/// How many entries are kept track of before those behind the walk are forgotten.
const MAX_SLOTS: usize = 4096;
/// How long the helper waits when it is far enough ahead.
const IDLE: Duration = Duration::from_micros(100);

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// The helper's part of an entry.
enum Slot {
    /// The helper is reading it.
    Claimed,
    /// The walk read it itself: the helper leaves it.
    Taken,
    /// Read by the helper, to be handed over; `None` when it is not a commit header the
    /// packs can read (the walk then reads it its usual way).
    Ready(Option<OwnedHeader>),
}

/// The entries the helper has claimed, read or been told to leave, by [`key`].
#[derive(Default)]
struct Slots {
    map: FastMap<u64, Slot>,
    /// How many are [`Slot::Ready`].
    ready: usize,
    /// How many headers were handed over, and how many read for nothing.
    handed: usize,
    wasted: usize,
}

/// What the walk and the helper share.
struct Shared {
    /// The walk's guesses, the likeliest first: [`key`] + 1 of each, 0 for none.
    heads: [AtomicU64; GUESSES],
    slots: Mutex<Slots>,
    stop: AtomicBool,
}

/// What the helper does next.
enum Claim {
    /// Read this entry: its pack and position.
    Read(usize, usize),
    /// Nothing to read yet: far enough ahead of every guess, or enough read and not
    /// handed over.
    Wait,
    /// Stop: most of what was read was not used.
    GiveUp,
}

impl Shared {
    /// The walk's guesses, as [`Ahead::follow`] last set them.
    fn heads(&self) -> Vec<(usize, usize)> {
        self.heads
            .iter()
            .filter_map(|head| {
                let value = head.load(Ordering::Relaxed).checked_sub(1)?;
                Some(((value >> 32) as usize, (value & 0xffff_ffff) as usize))
            })
            .collect()
    }
}

impl Slots {
    /// Forgets the entries no guess in `heads` is near any more (the walk went past them
    /// or elsewhere), but those being read.
    fn prune(&mut self, heads: &[(usize, usize)]) {
        let near = |k: u64| {
            heads
                .iter()
                .any(|&(pack, head)| (key(pack, head)..key(pack, head + LEAD)).contains(&k))
        };
        let mut dropped = 0;
        self.map.retain(|&k, slot| {
            let keep = near(k) || matches!(slot, Slot::Claimed);
            if !keep && matches!(slot, Slot::Ready(_)) {
                dropped += 1;
            }
            keep
        });
        self.ready -= dropped;
        self.wasted += dropped;
    }
}

/// The helper of one walk, stopped when dropped.
pub(super) struct Ahead {
    shared: Arc<Shared>,
    helper: Option<JoinHandle<()>>,
    /// Run by [`Ahead::follow`] in tests, to play the helper's part at chosen points.
    #[cfg(test)]
    tick: std::cell::RefCell<Option<Box<dyn FnMut()>>>,
}

/// The helper's side: its own packs and what it shares with the walk.
struct Helper {
    shared: Arc<Shared>,
    packs: Packs,
}

/// An entry's key: its pack and its position in pack order (below 2^32: a pack's object
/// count is 32 bits).
fn key(pack: usize, position: usize) -> u64 {
    ((pack as u64) << 32) | (position as u64 & 0xffff_ffff)
}

/// Whether the helper reads the entry at `position`.
fn helpers(position: usize) -> bool {
    !position.is_multiple_of(SHARE)
}

fn lock(slots: &Mutex<Slots>) -> MutexGuard<'_, Slots> {
    slots.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Ahead {
    /// Starts a helper reading from `packs` (opened again for its thread); `None` when
    /// they cannot be (no reverse index, no thread).
    pub(super) fn start(packs: &Packs) -> Option<Self> {
        let (mut ahead, mut helper) = Self::new(packs)?;
        let thread = std::thread::Builder::new()
            .name("first-time-ahead".into())
            .spawn(move || {
                lower_priority();
                while !helper.shared.stop.load(Ordering::Relaxed) {
                    match helper.step() {
                        Claim::Read(..) => {}
                        Claim::Wait => std::thread::park_timeout(IDLE),
                        Claim::GiveUp => break,
                    }
                }
            })
            .ok()?;
        ahead.helper = Some(thread);
        Some(ahead)
    }

    /// The walk's side without a thread, and the helper's side.
    fn new(packs: &Packs) -> Option<(Self, Helper)> {
        let packs = packs.reopen()?;
        let shared = Arc::new(Shared {
            heads: Default::default(),
            slots: Mutex::default(),
            stop: AtomicBool::new(false),
        });
        let helper = Helper {
            shared: Arc::clone(&shared),
            packs,
        };
        let ahead = Self {
            shared,
            helper: None,
            #[cfg(test)]
            tick: std::cell::RefCell::new(None),
        };
        Some((ahead, helper))
    }

    /// Tells the helper where the walk expects to read next (the packs' guesses).
    pub(super) fn follow(&self, guesses: &[(usize, usize)]) {
        for (i, head) in self.shared.heads.iter().enumerate() {
            let value = guesses
                .get(i)
                .map_or(0, |&(pack, position)| key(pack, position) + 1);
            head.store(value, Ordering::Relaxed);
        }
        #[cfg(test)]
        if let Some(tick) = self.tick.borrow_mut().as_mut() {
            tick();
        }
    }

    /// The header at `entry` when the helper has read it; else `None`, and the helper
    /// will not read it.
    pub(super) fn take(&self, entry: Entry) -> Option<OwnedHeader> {
        let position = entry.position?;
        if !helpers(position) {
            return None;
        }
        let key = key(entry.pack, position);
        let mut slots = lock(&self.shared.slots);
        if slots.map.len() >= MAX_SLOTS {
            // The entries the walk took itself, while the helper did not run.
            slots.prune(&self.shared.heads());
        }
        match slots.map.insert(key, Slot::Taken) {
            Some(Slot::Ready(header)) => {
                slots.map.remove(&key);
                slots.ready -= 1;
                slots.handed += usize::from(header.is_some());
                header
            }
            _ => None,
        }
    }

    /// How many headers the helper handed over.
    #[cfg(test)]
    fn handed(&self) -> usize {
        lock(&self.shared.slots).handed
    }
}

impl Drop for Ahead {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.helper.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

impl Helper {
    /// Reads the next entry the walk will want and nobody has, if there is one: the entry
    /// read, or what to do instead.
    fn step(&mut self) -> Claim {
        let (pack, position) = match self.claim() {
            Claim::Read(pack, position) => (pack, position),
            other => return other,
        };
        let header = self
            .packs
            .entry_at(pack, position)
            .and_then(|entry| self.packs.header_of(entry))
            .map(|header| header.owned());
        let key = key(pack, position);
        let mut slots = lock(&self.shared.slots);
        if let MapEntry::Occupied(mut slot) = slots.map.entry(key) {
            if matches!(slot.get(), Slot::Claimed) {
                slot.insert(Slot::Ready(header));
                slots.ready += 1;
            } else {
                slot.remove();
            }
        }
        Claim::Read(pack, position)
    }

    /// Claims the first entry of the helper's within [`LEAD`] of a guess, the likeliest
    /// guess first, that nobody has claimed or taken.
    fn claim(&self) -> Claim {
        let heads = self.shared.heads();
        let mut slots = lock(&self.shared.slots);
        if slots.ready >= MAX_READY {
            slots.prune(&heads);
            if slots.wasted > 4 * (slots.handed + MAX_READY) {
                return Claim::GiveUp;
            }
            if slots.ready >= MAX_READY {
                return Claim::Wait;
            }
        }
        for (pack, head) in heads {
            for position in (head..head + LEAD).filter(|&p| helpers(p)) {
                if let MapEntry::Vacant(slot) = slots.map.entry(key(pack, position)) {
                    slot.insert(Slot::Claimed);
                    return Claim::Read(pack, position);
                }
            }
        }
        Claim::Wait
    }
}

/// Gives the calling thread the lowest scheduling priority.
#[cfg(target_os = "linux")]
fn lower_priority() {
    // SAFETY: `gettid` takes no argument and cannot fail; `setpriority` on this thread's
    // id changes only this thread's nice value, and a failure leaves it as it was.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid);
        if let Ok(tid) = libc::id_t::try_from(tid) {
            libc::setpriority(libc::PRIO_PROCESS, tid, 19);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use git2::{Oid, Repository};
    use proptest::prelude::*;

    use super::*;
    use crate::changelog::model::Person;
    use crate::changelog::pack::Entry;
    use crate::changelog::pack::tests::{commit, pack};
    use crate::changelog::people;
    use crate::changelog::read::Reader;

    /// A packed history with a reverse index: 240 commits, each by an identity of its own
    /// (so that the walk hands over every commit's author, in the walk's order), newest
    /// last, with a branch merged every 40 commits and some messages long enough to be read
    /// in parts; the tip.
    fn packed_history() -> &'static (tempfile::TempDir, Oid) {
        static HISTORY: std::sync::OnceLock<(tempfile::TempDir, Oid)> = std::sync::OnceLock::new();
        HISTORY.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let repo = Repository::init_bare(dir.path()).unwrap();
            let who = |i: usize| (format!("Person {}", i % 24), format!("p{i}@example.com"));
            let mut time = 1_600_000_000;
            let mut tagged = Vec::new();
            let first = who(0);
            let mut tip = commit(&repo, (&first.0, &first.1), time, &[], "feat: start");
            for i in 1..240 {
                time += 60;
                // Words of their own, so that the pack builder stores each commit whole
                // rather than as a delta of another.
                let words: String = (0..24)
                    .map(|w: u64| {
                        let x = (i as u64 * 7919 + w * 104_729) % 1_000_003;
                        format!("{:x} ", x * x % 1_000_003 * x % 1_000_003)
                    })
                    .collect();
                let message = if i % 30 == 0 {
                    format!("feat: {i}\n\n{}", words.repeat(60))
                } else {
                    format!("fix: {i} {words}")
                };
                let author = who(i);
                let author = (author.0.as_str(), author.1.as_str());
                tip = if i % 40 == 0 {
                    let other = who(1000 + i);
                    let side = commit(&repo, (&other.0, &other.1), time, &[tip], "side");
                    commit(&repo, author, time + 1, &[tip, side], &message)
                } else {
                    commit(&repo, author, time, &[tip], &message)
                };
                if i % 10 == 0 {
                    tagged.push(tip);
                }
            }
            // Packed by git, as a clone is: commits first, in the order a walk meets them,
            // the tagged ones pulled forward, and a reverse index.
            repo.reference("refs/heads/main", tip, true, "").unwrap();
            for (i, id) in tagged.iter().enumerate() {
                let object = repo.find_object(*id, None).unwrap();
                repo.tag_lightweight(&format!("v0.{i}.0"), &object, false)
                    .unwrap();
            }
            git(
                dir.path(),
                &[
                    "-c",
                    "pack.writeReverseIndex=true",
                    "repack",
                    "-a",
                    "-d",
                    "-q",
                ],
            );
            // Nearly every commit is read from the pack, not through libgit2.
            let mut packs = Packs::open(&repo);
            let mut walk = repo.revwalk().unwrap();
            walk.push(tip).unwrap();
            let (read, all) = walk.fold((0, 0), |(read, all), id| {
                let whole = packs.header(id.unwrap()).is_some();
                (read + usize::from(whole), all + 1)
            });
            assert!(read * 10 >= all * 9, "{read} of {all} read from the pack");
            (dir, tip)
        })
    }

    /// Runs git in `dir`, without the user's or the system's configuration.
    fn git(dir: &std::path::Path, args: &[&str]) {
        let status = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env(
                "GIT_CONFIG_GLOBAL",
                if cfg!(windows) { "NUL" } else { "/dev/null" },
            )
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    }

    /// The authors a walk from `tip` hands over, with `ahead` or without.
    fn walk(repo: &Repository, tip: Oid, ahead: Option<&Ahead>) -> Vec<Person> {
        let reader = Reader::new(repo);
        let mut met = Vec::new();
        people::prior_authors_with(&reader, tip, None, ahead, |person| {
            met.extend(person);
            false
        })
        .unwrap();
        met
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Whenever the helper runs (a schedule of how many entries it reads, at most,
        /// before each commit the walk reads, from none to more than its lead), the walk hands over
        /// the same authors in the same order as a walk alone, and every header the helper
        /// read and handed over saved the walk reading it.
        #[test]
        fn a_walk_with_a_helper_finds_what_a_walk_alone_finds(
            schedule in proptest::collection::vec(0usize..(LEAD + 8), 1..8),
        ) {
            let (dir, tip) = packed_history();
            let repo = Repository::open_bare(dir.path()).unwrap();
            let alone = walk(&repo, *tip, None);
            prop_assert_eq!(alone.len(), 245);

            let (ahead, helper) = Ahead::new(&Reader::new(&repo).packs().unwrap()).unwrap();
            let helper = Rc::new(RefCell::new(helper));
            let steps = Rc::new(RefCell::new(0usize));
            let (h, s) = (Rc::clone(&helper), Rc::clone(&steps));
            let turn = RefCell::new(0usize);
            *ahead.tick.borrow_mut() = Some(Box::new(move || {
                let mut t = turn.borrow_mut();
                for _ in 0..schedule[*t % schedule.len()] {
                    if !matches!(h.borrow_mut().step(), Claim::Read(..)) {
                        break;
                    }
                    *s.borrow_mut() += 1;
                }
                *t += 1;
            }));
            prop_assert_eq!(walk(&repo, *tip, Some(&ahead)), alone);
            let handed = ahead.handed();
            let slots = lock(&ahead.shared.slots);
            prop_assert!(slots.ready <= MAX_READY);
            if *steps.borrow() > 0 {
                prop_assert!(handed > 0, "{} steps, nothing handed", steps.borrow());
            }
        }
    }

    /// With a helper on its own thread, as `prior_authors` starts it, the walk finds the
    /// same authors in the same order.
    #[test]
    fn a_walk_with_a_helper_thread_finds_what_a_walk_alone_finds() {
        let (dir, tip) = packed_history();
        let repo = Repository::open_bare(dir.path()).unwrap();
        let alone = walk(&repo, *tip, None);
        for _ in 0..8 {
            let ahead = Ahead::start(&Reader::new(&repo).packs().unwrap()).unwrap();
            assert_eq!(walk(&repo, *tip, Some(&ahead)), alone);
        }
        let reader = Reader::new(&repo);
        let mut met = Vec::new();
        people::prior_authors(&reader, *tip, None, |person| {
            met.push(person);
            false
        })
        .unwrap();
        assert_eq!(met, alone);
    }

    /// A helper whose reads are never taken (the walk goes elsewhere than its guesses)
    /// keeps at most [`MAX_READY`] of them, and gives up.
    #[test]
    fn a_helper_whose_reads_are_not_used_gives_up() {
        let (dir, _) = packed_history();
        let repo = Repository::open_bare(dir.path()).unwrap();
        let (ahead, mut helper) = Ahead::new(&Reader::new(&repo).packs().unwrap()).unwrap();
        let mut gave_up = false;
        for jump in 0..10_000 {
            // A guess somewhere new each time, never read from.
            ahead.follow(&[(0, (jump * 7919) % 100_000)]);
            for _ in 0..LEAD {
                if matches!(helper.step(), Claim::GiveUp) {
                    gave_up = true;
                }
            }
            assert!(lock(&ahead.shared.slots).ready <= MAX_READY);
            if gave_up {
                break;
            }
        }
        assert!(gave_up);
        assert_eq!(ahead.handed(), 0);
    }

    /// A walk whose helper never runs (no core to spare) reads everything itself and
    /// keeps track of at most [`MAX_SLOTS`] entries, however long the history.
    #[test]
    fn a_walk_without_its_helper_keeps_track_of_a_bounded_number_of_entries() {
        let (dir, _) = packed_history();
        let repo = Repository::open_bare(dir.path()).unwrap();
        let (ahead, _helper) = Ahead::new(&Reader::new(&repo).packs().unwrap()).unwrap();
        for position in 0..10 * MAX_SLOTS {
            ahead.follow(&[(0, position + 1)]);
            assert!(ahead.take(Entry::at(0, position)).is_none());
            assert!(lock(&ahead.shared.slots).map.len() <= MAX_SLOTS);
        }
    }

    /// Packs without a reverse index have no positions to split: no helper.
    #[test]
    fn no_helper_without_a_reverse_index() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init_bare(dir.path()).unwrap();
        let tip = commit(&repo, ("A", "a@example.com"), 1_600_000_000, &[], "x");
        pack(&repo, &[tip]);
        assert!(Ahead::start(&Reader::new(&repo).packs().unwrap()).is_none());
    }
}

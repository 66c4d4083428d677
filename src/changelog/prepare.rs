//! Parsing the messages of a long range on every core.
//!
//! Reading a range's commits is a walk from parent to parent, one at a time; parsing their
//! messages (header, footers, references) needs nothing but the text, so a long range's
//! messages are parsed in blocks on scoped threads while the rest of the changelog waits,
//! and each commit then picks up its result in walk order.

use std::borrow::Cow;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::ChangelogSettings;
use super::model::Ref;
use super::parse::{self, Parsed};
use super::read::RangeCommit;
use super::refs;

/// Ranges shorter than this are parsed on the calling thread: a thread costs more than
/// the parsing it would take over.
pub(super) const PARALLEL_FROM: usize = 512;
/// At most this many threads parse.
const MAX_THREADS: usize = 4;
/// How many messages a thread takes at a time.
const BLOCK: usize = 64;

/// A message parsed in advance: `None` when the commit is left out before parsing (a merge
/// without `include_merges`, an autosquash commit).
pub(super) type Prepared = Option<(Parsed, Vec<Ref>)>;

/// What a commit's message gives when the commit is kept: the parsed message and the
/// references of its subject and body.
pub(super) fn parse(
    message: &str,
    conventional: bool,
    extra_types: &[String],
) -> (Parsed, Vec<Ref>) {
    let parsed = parse::parse_message_with(message, conventional, extra_types);
    let refs = refs::parse_refs(&parsed.subject, &parsed.body);
    (parsed, refs)
}

/// The messages of `chain` (a range read commit by commit) parsed in advance when it is
/// long enough to gain from threads; else nothing, and each is parsed when walked.
pub(super) fn chain(
    chain: &[RangeCommit<'_>],
    settings: &ChangelogSettings,
    extra_types: &[String],
) -> Vec<Prepared> {
    if chain.len() < PARALLEL_FROM {
        return Vec::new();
    }
    let messages: Vec<_> = chain
        .iter()
        .map(|c| {
            let message = String::from_utf8_lossy(c.message_bytes());
            let skip = !super::kept_before_parsing(c, &message, settings);
            (message, skip)
        })
        .collect();
    parse_all(&messages, settings.conventional, extra_types)
}

/// Each message parsed as [`parse`] does, unless `skip` says the commit is left out; in
/// the order given, on up to [`MAX_THREADS`] threads.
pub(super) fn parse_all(
    messages: &[(Cow<'_, str>, bool)],
    conventional: bool,
    extra_types: &[String],
) -> Vec<Prepared> {
    let one = |(message, skip): &(Cow<'_, str>, bool)| -> Prepared {
        (!skip).then(|| parse(message, conventional, extra_types))
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, NonZeroUsize::get)
        .min(MAX_THREADS)
        .min(messages.len().div_ceil(PARALLEL_FROM / 2).max(1));
    if threads < 2 {
        return messages.iter().map(one).collect();
    }
    // The threads take blocks of messages in turn rather than a fixed share each: the
    // first-time walk runs beside them, and a thread the scheduler holds back would keep
    // the rest waiting for its share.
    let next = AtomicUsize::new(0);
    let blocks = messages.len().div_ceil(BLOCK);
    let take_blocks = || {
        let mut done = Vec::new();
        loop {
            let block = next.fetch_add(1, Ordering::Relaxed);
            if block >= blocks {
                return done;
            }
            let part = &messages[block * BLOCK..messages.len().min((block + 1) * BLOCK)];
            done.push((block, part.iter().map(one).collect::<Vec<_>>()));
        }
    };
    std::thread::scope(|scope| {
        let workers: Vec<_> = (1..threads).map(|_| scope.spawn(take_blocks)).collect();
        let mut done = take_blocks();
        for worker in workers {
            match worker.join() {
                Ok(part) => done.extend(part),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        done.sort_unstable_by_key(|(block, _)| *block);
        let mut all: Vec<Prepared> = Vec::with_capacity(messages.len());
        all.extend(done.into_iter().flat_map(|(_, part)| part));
        all
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A long linear range goes through the threads; each listed commit carries its own
    /// message's parse, and autosquash commits are left out, as in a short range.
    #[test]
    fn a_long_range_lists_each_commit_with_its_own_message() {
        use git2::{Repository, Signature, Time};

        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let tree = {
            let mut tb = repo.treebuilder(None).unwrap();
            let blob = repo.blob(b"x").unwrap();
            tb.insert("file", blob, 0o100_644).unwrap();
            repo.find_tree(tb.write().unwrap()).unwrap()
        };
        let mut parent: Option<git2::Oid> = None;
        let count = PARALLEL_FROM + 100;
        for i in 0..count {
            let sig = Signature::new(
                "Ada",
                "ada@example.com",
                &Time::new(1_600_000_000 + i64::try_from(i).unwrap(), 0),
            )
            .unwrap();
            let message = match i % 5 {
                0 => format!("feat(area{i}): change {i} (#{i})"),
                1 => format!("fixup! change {}", i - 1),
                2 => format!("fix: repair {i}\n\nCloses #{}", i + 10_000),
                _ => format!("Change number {i}"),
            };
            let parents: Vec<git2::Commit<'_>> = parent
                .iter()
                .map(|p| repo.find_commit(*p).unwrap())
                .collect();
            let parents: Vec<&git2::Commit<'_>> = parents.iter().collect();
            parent = Some(
                repo.commit(Some("HEAD"), &sig, &sig, &message, &tree, &parents)
                    .unwrap(),
            );
        }
        let log = crate::changelog::collect(
            dir.path(),
            &crate::changelog::ChangelogSettings::default(),
            &crate::changelog::Target::default(),
        )
        .unwrap();
        assert_eq!(log.commits.len(), (0..count).filter(|i| i % 5 != 1).count());
        for c in &log.commits {
            let stored = repo
                .find_commit(git2::Oid::from_str(&c.id).unwrap())
                .unwrap();
            let message = stored.message().unwrap();
            assert!(!message.starts_with("fixup!"), "{message}");
            assert_eq!(c.subject, message.lines().next().unwrap(), "{}", c.id);
            let i: usize = message
                .split(|ch: char| !ch.is_ascii_digit())
                .find(|s| !s.is_empty())
                .unwrap()
                .parse()
                .unwrap();
            match i % 5 {
                0 => assert_eq!(c.refs[0].text, format!("#{i}")),
                2 => assert_eq!(c.refs[0].text, format!("#{}", i + 10_000)),
                _ => assert!(c.refs.is_empty(), "{message}"),
            }
        }
    }

    /// On threads or not, each message gets what parsing it alone gives, in order.
    #[test]
    fn parsing_on_threads_gives_what_parsing_one_by_one_gives() {
        let messages: Vec<(Cow<'_, str>, bool)> = (0..3000)
            .map(|i| {
                let text = match i % 4 {
                    0 => format!("feat(api): add {i} (#{i})\n\nCloses #{}", i + 1),
                    1 => format!("fix!: break {i}\n\nBREAKING CHANGE: gone {i}"),
                    2 => format!("Merge branch 'x{i}' into 'main'\n\nSee merge request g/a!{i}"),
                    _ => format!("chore: bump {i}\n\nSigned-off-by: A <a@example.com>"),
                };
                (Cow::Owned(text), i % 7 == 0)
            })
            .collect();
        let extra = vec!["feature".to_owned()];
        for n in [0, 1, 10, PARALLEL_FROM, 3000] {
            let part = &messages[..n];
            let alone: Vec<Prepared> = part
                .iter()
                .map(|(m, skip)| (!skip).then(|| parse(m, true, &extra)))
                .collect();
            assert_eq!(parse_all(part, true, &extra), alone, "{n} messages");
        }
    }
}

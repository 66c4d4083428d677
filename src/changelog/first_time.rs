//! `first_time`: which contributors authored no commit before the release, computed when
//! first asked for.
//!
//! Knowing that someone is new means reading every commit reachable from the previous
//! release (24,500 commits for a release 2,500 commits after the start of a 27,000-commit
//! history), many times the work of the rest of the changelog. Templates that never read
//! `first_time` should not pay for it, so the changelog carries a [`FirstTime`] handle: the
//! first read opens the repository again, walks the history once (stopping as soon as every
//! contributor has been seen) and keeps the answer for every later read. A caller that
//! knows it will read it (the notes template names `first_time`) starts the walk on a
//! thread of its own as soon as the previous release is known ([`EarlyWalk`]), so that it
//! runs while the range is read and the notes rendered.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use anyhow::{Context as _, Result, anyhow};
use git2::Oid;

use super::OnShallow;
use super::model::Person;
use super::people::{self, People};
use super::read::Reader;
use crate::error::InputError;

/// Which contributors are new, in the order of `Changelog::contributors`; shared by every
/// clone, computed at most once.
#[derive(Clone)]
pub struct FirstTime(Arc<Inner>);

struct Inner {
    /// What the computation needs, taken by the first read.
    job: Mutex<Option<Job>>,
    /// The answer, or the error (kept as a copy: it is handed to every reader).
    done: OnceLock<Result<Vec<bool>, Failed>>,
}

/// Why the answer could not be given: bad input (a shallow clone that cuts the history,
/// with `on_shallow: error`) keeps its exit code and remedy; anything else is text.
#[derive(Debug)]
enum Failed {
    Input(InputError),
    Other(String),
}

impl Failed {
    fn of(e: &anyhow::Error) -> Self {
        match e.downcast_ref::<InputError>() {
            Some(input) => Self::Input(input.clone()),
            None => Self::Other(format!("{e:#}")),
        }
    }

    fn error(&self) -> anyhow::Error {
        match self {
            Self::Input(input) => input.clone().into(),
            Self::Other(message) => anyhow!("{message}"),
        }
    }
}

/// The history to read and the people to look for in it.
struct Job {
    source: Source,
    people: People,
    /// What a shallow clone whose history ends before everyone was seen does.
    on_shallow: OnShallow,
}

/// What the early walk hands over.
enum Handed {
    /// Earlier authors, each once, in the order the walk met them.
    Authors(Vec<Person>),
    /// The walk read all the history it has, which ends at this commit, whose parents were
    /// not fetched (a shallow clone).
    Cut(Oid),
    /// The walk failed.
    Failed(String),
}

/// Where the earlier authors come from.
enum Source {
    /// A walk to run: the repository (opened again, as `collect` opened it) and the
    /// previous release.
    Walk { repo: PathBuf, before: Oid },
    /// A walk started before the people were known ([`EarlyWalk`]).
    Early(EarlyWalk),
}

/// How many earlier authors the early walk hands over at a time.
const BATCH: usize = 128;

/// A walk of the history before the release, started on a thread of its own as soon as the
/// previous release is known, while the range is still being read: it hands over each
/// earlier author (`.mailmap` applied) once, in the order the walk meets them, in batches
/// (each handing-over wakes a reader waiting for it, a system call each time), and stops
/// when its reader has seen enough (or is gone), or, once it is told the release's people
/// ([`EarlyWalk::look_for`]), as soon as it has met every one of them itself: it does not
/// read on while the notes are still being rendered.
pub(crate) struct EarlyWalk {
    authors: Receiver<Handed>,
    stop: Arc<AtomicBool>,
    people: Arc<OnceLock<People>>,
}

impl EarlyWalk {
    /// Starts walking the commits reachable from `before` in the repository at (or above)
    /// `repo`. `None` when no thread can be started: the walk then runs on first read.
    pub(crate) fn start(repo: PathBuf, before: Oid) -> Option<Self> {
        Self::start_looking_for(repo, before, None)
    }

    /// [`Self::start`], told whom to look for from the start when `people` is given.
    fn start_looking_for(repo: PathBuf, before: Oid, people: Option<People>) -> Option<Self> {
        let (tx, authors) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let people = Arc::new(people.map_or_else(OnceLock::new, OnceLock::from));
        let wanted = Arc::clone(&people);
        std::thread::Builder::new()
            .name("first-time".into())
            .spawn(move || {
                let mut met = Met::default();
                let mut batch = Vec::new();
                let walked = open_and(&repo, |reader, mailmap| {
                    people::prior_authors_polled(reader, before, mailmap, |person| {
                        if stopped.load(Ordering::Relaxed) {
                            return true;
                        }
                        let Some(person) = person else {
                            // Everyone may have been met before the walk was told whom
                            // it looks for: no need to wait for an author not yet met.
                            return met.all(wanted.get());
                        };
                        let all = met.all_of(wanted.get(), &person);
                        batch.push(person);
                        if all || batch.len() >= BATCH {
                            let authors = Handed::Authors(std::mem::take(&mut batch));
                            return tx.send(authors).is_err() || all;
                        }
                        false
                    })
                });
                if !batch.is_empty() {
                    let _ = tx.send(Handed::Authors(batch));
                }
                let _ = match walked {
                    Ok(Some(cut)) => tx.send(Handed::Cut(cut)),
                    Ok(None) => Ok(()),
                    Err(e) => tx.send(Handed::Failed(format!("{e:#}"))),
                };
            })
            .ok()?;
        Some(Self {
            authors,
            stop,
            people,
        })
    }

    /// Tells the walk whom it is looking for, so that it stops once it has met them all.
    pub(crate) fn look_for(&self, people: &People) {
        let _ = self.people.set(people.clone());
    }
}

/// Who of the release's people the walk has met, for it to stop by itself: the authors met
/// before it knew the people, then [`people::Seen`] once it does.
#[derive(Default)]
struct Met<'p> {
    before_known: Vec<Person>,
    seen: Option<people::Seen<'p>>,
}

impl<'p> Met<'p> {
    /// Records `person` as met; whether every one of `people` (when known) has been met.
    fn all_of(&mut self, people: Option<&'p People>, person: &Person) -> bool {
        if let Some(seen) = self.seen(people) {
            seen.saw(person)
        } else {
            self.before_known.push(person.clone());
            false
        }
    }

    /// Whether every one of `people` (when known) has been met.
    fn all(&mut self, people: Option<&'p People>) -> bool {
        self.seen(people).is_some_and(|seen| seen.done())
    }

    /// Who of `people` has been met, once they are known.
    fn seen(&mut self, people: Option<&'p People>) -> Option<&mut people::Seen<'p>> {
        let people = people?;
        let seen = self.seen.get_or_insert_with(|| people::Seen::new(people));
        for earlier in self.before_known.drain(..) {
            seen.saw(&earlier);
        }
        Some(seen)
    }
}

impl Drop for EarlyWalk {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Opens the repository at `repo` and runs `f` with a reader and its mailmap.
fn open_and<T>(
    repo: &Path,
    f: impl FnOnce(&Reader<'_>, Option<&git2::Mailmap>) -> Result<T>,
) -> Result<T> {
    let git = super::open(repo).with_context(|| {
        format!(
            "opening the repository at {} to find first-time contributors",
            repo.display()
        )
    })?;
    let reader = Reader::new(&git);
    let mailmap = people::mailmap(&git);
    f(&reader, mailmap.as_ref())
}

impl FirstTime {
    /// Already known: `values[i]` for the i-th contributor.
    pub(crate) fn known(values: Vec<bool>) -> Self {
        let done = OnceLock::new();
        let _ = done.set(Ok(values));
        Self(Arc::new(Inner {
            job: Mutex::new(None),
            done,
        }))
    }

    /// Computed on first read: who of `people` authored no commit reachable from `before`
    /// in the repository at (or above) `repo`. Without a previous release everyone is new.
    /// `early`, when given, is the walk of that history already started. `on_shallow` says
    /// what a shallow clone does whose history ends before everyone was seen.
    pub(crate) fn deferred(
        repo: PathBuf,
        before: Option<Oid>,
        early: Option<EarlyWalk>,
        people: People,
        on_shallow: OnShallow,
    ) -> Self {
        match before {
            Some(before) if !people.people.is_empty() => Self(Arc::new(Inner {
                job: Mutex::new(Some(Job {
                    source: match early {
                        Some(walk) => {
                            walk.look_for(&people);
                            Source::Early(walk)
                        }
                        None => Source::Walk { repo, before },
                    },
                    people,
                    on_shallow,
                })),
                done: OnceLock::new(),
            })),
            _ => Self::known(vec![true; people.people.len()]),
        }
    }

    /// Whether the i-th contributor is new, for each; the history is read on the first call.
    ///
    /// # Errors
    /// The repository or a commit before the release cannot be read; the clone is shallow,
    /// its history ends before everyone was seen and `on_shallow` is `error` (exit 2).
    pub fn get(&self) -> Result<&[bool]> {
        let done = self.0.done.get_or_init(|| {
            let job = self
                .0
                .job
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            match job {
                Some(job) => job.run().map_err(|e| Failed::of(&e)),
                None => Err(Failed::Other(
                    "the search for first-time contributors was interrupted".to_owned(),
                )),
            }
        });
        match done {
            Ok(values) => Ok(values),
            Err(failed) => Err(failed.error()),
        }
    }

    /// Whether the history has been read (or nothing needed reading).
    #[must_use]
    pub fn is_known(&self) -> bool {
        self.0.done.get().is_some()
    }
}

impl Job {
    fn run(self) -> Result<Vec<bool>> {
        let (unseen, cut) = match self.source {
            Source::Walk { repo, before } => open_and(&repo, |reader, mailmap| {
                people::first_time(reader, &self.people, Some(before), mailmap)
            })?,
            Source::Early(walk) => {
                // The same authors in the same order as a walk of its own would meet them.
                let mut seen = people::Seen::new(&self.people);
                let mut cut = None;
                'walk: for handed in &walk.authors {
                    match handed {
                        Handed::Authors(authors) => {
                            for author in authors {
                                if seen.saw(&author) {
                                    break 'walk;
                                }
                            }
                        }
                        Handed::Cut(at) => cut = Some(at),
                        Handed::Failed(e) => return Err(anyhow!("{e}")),
                    }
                }
                (seen.unseen, cut)
            }
        };
        // A boundary read after everyone was seen cut nothing off.
        match cut.filter(|_| unseen.contains(&true)) {
            Some(cut) => settle_cut(&self.people, unseen, cut, self.on_shallow),
            None => Ok(unseen),
        }
    }
}

/// The answer when the history of a shallow clone ended (at `cut`) before everyone was
/// seen: whether those not seen contributed before cannot be known. With `on_shallow:
/// error`, an input error naming them and the fix; with `warn`, a warning, and they are
/// not called new.
fn settle_cut(
    people: &People,
    mut unseen: Vec<bool>,
    cut: Oid,
    on_shallow: OnShallow,
) -> Result<Vec<bool>> {
    // Names come from commits: control characters (a terminal escape) are shown escaped.
    let names: Vec<String> = people
        .people
        .iter()
        .zip(&unseen)
        .filter(|(_, unseen)| **unseen)
        .map(|(person, _)| {
            if person.name.chars().any(char::is_control) {
                person.name.escape_debug().to_string()
            } else {
                person.name.clone()
            }
        })
        .collect();
    let who = match names.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [first @ .., last] if names.len() <= 4 => format!("{} or {last}", first.join(", ")),
        all => format!("{} or {} more", all[..3].join(", "), all.len() - 3),
    };
    let message = format!(
        "the git history is shallow: it ends at commit {}, whose parents were not fetched, before an earlier commit by {who} was found, so whether they are new cannot be known",
        &cut.to_string()[..7]
    );
    match on_shallow {
        OnShallow::Error => Err(crate::error::input_with(
            message,
            format!(
                "{}; or set `changelog.on_shallow: warn` to release without marking anyone new",
                super::SHALLOW_REMEDY
            ),
        )),
        OnShallow::Warn => {
            tracing::warn!(
                "finding first-time contributors: {message}; they are not marked new. To fix it, {}",
                super::SHALLOW_REMEDY
            );
            unseen.fill(false);
            Ok(unseen)
        }
    }
}

impl fmt::Debug for FirstTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.done.get() {
            Some(Ok(values)) => f.debug_tuple("FirstTime").field(values).finish(),
            Some(Err(e)) => f.debug_tuple("FirstTime").field(e).finish(),
            None => f.write_str("FirstTime(not read yet)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashSet};

    use git2::{Repository, Signature, Time};

    use super::*;
    use crate::changelog::{ChangelogSettings, Target, collect, collect_deferred};
    use crate::render::{CiTemplateContext, Context, ProjectContext, Renderer};

    /// A linear history written with git2, one minute apart: Bob's only commit is the
    /// first, then 300 commits by Ada, `v1.0.0`, then the release by Ada, Bob (back after
    /// the long gap) and Cy (new).
    fn history() -> (tempfile::TempDir, Oid) {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let mut parent: Option<Oid> = None;
        let mut time = 1_600_000_000;
        let mut commit = |who: (&str, &str), subject: &str| {
            time += 60;
            let sig = Signature::new(who.0, who.1, &Time::new(time, 0)).unwrap();
            let mut tb = repo.treebuilder(None).unwrap();
            let blob = repo.blob(subject.as_bytes()).unwrap();
            tb.insert("file", blob, 0o100_644).unwrap();
            let tree = repo.find_tree(tb.write().unwrap()).unwrap();
            let parents: Vec<git2::Commit<'_>> = parent
                .iter()
                .map(|p| repo.find_commit(*p).unwrap())
                .collect();
            let parents: Vec<&git2::Commit<'_>> = parents.iter().collect();
            let id = repo
                .commit(Some("HEAD"), &sig, &sig, subject, &tree, &parents)
                .unwrap();
            parent = Some(id);
            id
        };
        let (ada, bob, cy) = (
            ("Ada", "ada@example.com"),
            ("Bob", "bob@example.com"),
            ("Cy", "cy@example.com"),
        );
        let mut previous = commit(bob, "feat: start");
        for i in 0..300 {
            previous = commit(ada, &format!("fix: change {i}"));
        }
        commit(ada, "feat: a");
        commit(bob, "feat: b");
        commit(cy, "feat: c");
        let previous_commit = repo.find_commit(previous).unwrap();
        repo.tag_lightweight("v1.0.0", previous_commit.as_object(), false)
            .unwrap();
        (dir, previous)
    }

    fn people_of(names: &[(&str, &str)]) -> People {
        let commits: Vec<crate::changelog::Commit> = names
            .iter()
            .map(|(name, email)| crate::changelog::Commit {
                id: String::new(),
                short_id: String::new(),
                subject: String::new(),
                description: String::new(),
                body: String::new(),
                r#type: None,
                scope: None,
                breaking: false,
                breaking_description: None,
                footers: Vec::new(),
                author: crate::changelog::Person {
                    name: (*name).into(),
                    email: (*email).into(),
                },
                co_authors: Vec::new(),
                date: chrono::DateTime::UNIX_EPOCH,
                group: String::new(),
                merge: false,
                revert: None,
                reverts: Vec::new(),
                url: None,
                refs: Vec::new(),
                mr: None,
            })
            .collect();
        people::gather(&commits, &crate::changelog::ContributorSettings::default()).unwrap()
    }

    /// Who authored any commit reachable from `before`, by a full walk.
    fn all_authors(repo: &Repository, before: Oid) -> HashSet<String> {
        let mut walk = repo.revwalk().unwrap();
        walk.push(before).unwrap();
        walk.map(|oid| {
            let c = repo.find_commit(oid.unwrap()).unwrap();
            c.author().email().unwrap().to_owned()
        })
        .collect()
    }

    #[test]
    fn the_early_stop_finds_what_a_full_walk_finds() {
        let (dir, previous) = history();
        let repo = Repository::open(dir.path()).unwrap();
        let reader = Reader::new(&repo);
        let seen = all_authors(&repo, previous);
        for names in [
            vec![("Ada", "ada@example.com"), ("Bob", "bob@example.com")],
            vec![
                ("Ada", "ada@example.com"),
                ("Bob", "bob@example.com"),
                ("Cy", "cy@example.com"),
            ],
            vec![("Bob", "bob@example.com")],
            vec![("Cy", "cy@example.com")],
        ] {
            let people = people_of(&names);
            let fast = people::first_time(&reader, &people, Some(previous), None)
                .unwrap()
                .0;
            let full: Vec<bool> = names.iter().map(|(_, e)| !seen.contains(*e)).collect();
            assert_eq!(fast, full, "{names:?}");
        }
        let people = people_of(&[("Bob", "bob@example.com"), ("Cy", "cy@example.com")]);
        assert_eq!(
            people::first_time(&reader, &people, Some(previous), None)
                .unwrap()
                .0,
            vec![false, true],
            "Bob is back after 300 commits, Cy is new"
        );
    }

    fn render(dir: &std::path::Path, template: &str, deferred: bool) -> (String, Context) {
        let settings = ChangelogSettings::default();
        let target = Target {
            tag: Some("v1.1.0".into()),
            commit: None,
        };
        let cl = if deferred {
            collect_deferred(dir, &settings, &target).unwrap()
        } else {
            collect(dir, &settings, &target).unwrap()
        };
        let ctx = Context::new(
            &std::sync::Arc::new(cl),
            ProjectContext::default(),
            CiTemplateContext::default(),
            BTreeMap::new(),
        );
        let file = dir.join("t.j2");
        std::fs::write(&file, template).unwrap();
        let renderer = Renderer::new(Some(&file)).unwrap();
        (renderer.notes(&ctx).unwrap(), ctx)
    }

    /// A walk started before the people are known, on its own thread, finds what a walk
    /// of its own finds, with its early stop; its errors reach the reader. A template that
    /// names `first_time` is one that reads it.
    #[test]
    fn an_early_walk_stops_once_it_has_met_everyone_it_looks_for() {
        let (dir, previous) = history();
        let met = |people: Option<People>| -> Vec<String> {
            let walk =
                EarlyWalk::start_looking_for(dir.path().to_path_buf(), previous, people).unwrap();
            // The walk's thread ends (and the channel closes) when the walk stops.
            walk.authors
                .iter()
                .flat_map(|handed| match handed {
                    Handed::Authors(authors) => authors,
                    _ => panic!("the walk handed no authors"),
                })
                .map(|p| p.name)
                .collect()
        };
        // Ada's 300 commits come first, then Bob's.
        assert_eq!(met(None), ["Ada", "Bob"]);
        assert_eq!(met(Some(people_of(&[("Ada", "ada@example.com")]))), ["Ada"]);
        let both = people_of(&[("Bob", "bob@example.com"), ("Ada", "ada@example.com")]);
        assert_eq!(met(Some(both)), ["Ada", "Bob"]);
        // Someone never met: the walk reads to the end.
        let cy = people_of(&[("Ada", "ada@example.com"), ("Cy", "cy@example.com")]);
        assert_eq!(met(Some(cy)), ["Ada", "Bob"]);

        // Met before the people were known, then told: it stops at the next author.
        let mut early = Met::default();
        let ada = Person {
            name: "Ada".into(),
            email: "ada@example.com".into(),
        };
        assert!(!early.all_of(None, &ada));
        let people = people_of(&[("Ada", "ada@example.com"), ("Bob", "bob@example.com")]);
        let bob = Person {
            name: "Bob".into(),
            email: "bob@example.com".into(),
        };
        assert!(early.all_of(Some(&people), &bob));

        // Met everyone before being told: it stops when it next asks, whoever comes next.
        let mut told = Met::default();
        assert!(!told.all_of(None, &ada));
        assert!(!told.all(None));
        assert!(!told.all(Some(&people)));
        let mut told = Met::default();
        assert!(!told.all_of(None, &ada));
        assert!(told.all(Some(&people_of(&[("Ada", "ada@example.com")]))));
    }

    /// The walk asks whether to go on every `POLL` commits, though it meets no one new:
    /// a walk told whom it looks for after it met them all stops there, not at the next
    /// author (who may be thousands of commits away, or nowhere).
    #[test]
    fn a_walk_asks_whether_to_go_on_while_it_meets_no_one_new() {
        let (dir, previous) = history();
        let loose = Repository::open(dir.path()).unwrap();
        // The same history packed: its headers are read from the pack.
        let packed_dir = tempfile::tempdir().unwrap();
        let packed = Repository::clone(dir.path().to_str().unwrap(), packed_dir.path()).unwrap();
        crate::changelog::pack::tests::pack(&packed, &[previous]);
        for repo in [&loose, &packed] {
            let reader = Reader::new(repo);
            let run = |stop_when_asked: bool| {
                let (mut handed, mut asked) = (Vec::new(), 0);
                people::prior_authors_polled(&reader, previous, None, |person| {
                    if let Some(person) = person {
                        handed.push(person.name);
                        false
                    } else {
                        asked += 1;
                        stop_when_asked
                    }
                })
                .unwrap();
                (handed, asked)
            };
            // 301 commits: Ada's 300, then Bob's.
            const { assert!(people::POLL < 300) };
            assert_eq!(run(true), (vec!["Ada".to_owned()], 1));
            let all = vec!["Ada".to_owned(), "Bob".to_owned()];
            assert_eq!(run(false), (all, 301 / people::POLL));
        }
    }

    #[test]
    fn an_early_walk_finds_what_a_walk_of_its_own_finds() {
        let (dir, previous) = history();
        let repo = Repository::open(dir.path()).unwrap();
        let reader = Reader::new(&repo);
        for names in [
            vec![("Ada", "ada@example.com"), ("Bob", "bob@example.com")],
            vec![("Cy", "cy@example.com"), ("Bob", "bob@example.com")],
            vec![("Ada", "ada@example.com")],
        ] {
            let people = people_of(&names);
            let own = people::first_time(&reader, &people, Some(previous), None)
                .unwrap()
                .0;
            let early = EarlyWalk::start(dir.path().to_path_buf(), previous).unwrap();
            let ft = FirstTime::deferred(
                dir.path().to_path_buf(),
                Some(previous),
                Some(early),
                people,
                OnShallow::Error,
            );
            assert_eq!(ft.get().unwrap(), own.as_slice(), "{names:?}");
        }
        let missing = Oid::from_str(&"e".repeat(40)).unwrap();
        let early = EarlyWalk::start(dir.path().to_path_buf(), missing).unwrap();
        let ft = FirstTime::deferred(
            dir.path().to_path_buf(),
            Some(missing),
            Some(early),
            people_of(&[("Cy", "cy@example.com")]),
            OnShallow::Error,
        );
        let err = ft.get().unwrap_err().to_string();
        assert!(err.contains(&"e".repeat(40)), "{err}");

        let target = Target {
            tag: Some("v1.1.0".into()),
            commit: None,
        };
        let settings = ChangelogSettings::default();
        let eager = collect(dir.path(), &settings, &target).unwrap();
        let want: Vec<bool> = eager.contributors.iter().map(|c| c.first_time).collect();
        assert!(want.contains(&true) && want.contains(&false), "{want:?}");
        let cl =
            crate::changelog::collect_reading_first_time(dir.path(), &settings, &target).unwrap();
        assert_eq!(cl.first_time.get().unwrap(), want.as_slice());

        let file = dir.path().join("reads.j2");
        std::fs::write(
            &file,
            "{% for p in contributors %}{{ p.first_time }}{% endfor %}",
        )
        .unwrap();
        assert!(Renderer::new(Some(&file)).unwrap().reads_first_time());
        std::fs::write(&file, "{{ contributors | length }}").unwrap();
        assert!(!Renderer::new(Some(&file)).unwrap().reads_first_time());
        assert!(Renderer::new(None).unwrap().reads_first_time());
    }

    #[test]
    fn first_time_read_lazily_is_what_collect_computes() {
        let (dir, _) = history();
        let eager = collect(
            dir.path(),
            &ChangelogSettings::default(),
            &Target {
                tag: Some("v1.1.0".into()),
                commit: None,
            },
        )
        .unwrap();
        let flags: Vec<(&str, bool)> = eager
            .contributors
            .iter()
            .map(|c| (c.name.as_str(), c.first_time))
            .collect();
        assert_eq!(flags, vec![("Cy", true), ("Bob", false), ("Ada", false)]);

        let each = "{% for p in contributors %}{{ p.name }}={{ p.first_time }} {% endfor %}";
        let (lazy, ctx) = render(dir.path(), each, true);
        assert_eq!(lazy.trim(), "Cy=True Bob=False Ada=False");
        assert!(ctx.contributors.first_time_known());
        assert_eq!(render(dir.path(), each, false).0, lazy);
        // Read by a filter, or printed whole: the same values.
        let (json, _) = render(dir.path(), "{{ contributors | tojson }}", true);
        assert_eq!(
            json,
            render(dir.path(), "{{ contributors | tojson }}", false).0
        );
        assert!(json.contains(r#""first_time":true"#), "{json}");

        // Not read: not computed; the JSON output still has the true values.
        let (names, ctx) = render(
            dir.path(),
            "{{ contributors | map(attribute='name') | join(',') }}",
            true,
        );
        assert_eq!(names.trim(), "Cy,Bob,Ada");
        assert!(!ctx.contributors.first_time_known());
        let json = serde_json::to_value(&ctx).unwrap();
        let firsts: Vec<bool> = json["contributors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["first_time"].as_bool().unwrap())
            .collect();
        assert_eq!(firsts, vec![true, false, false]);
    }

    /// A history cut before everyone was met names who is unknown (control characters
    /// escaped, at most three and a count) and the fix, or, with `warn`, calls no one new.
    #[test]
    fn a_cut_history_names_who_is_unknown_or_calls_no_one_new() {
        let cut = Oid::from_str(&"ab".repeat(20)).unwrap();
        let message = |names: &[(&str, &str)], unseen: Vec<bool>| {
            let err = settle_cut(&people_of(names), unseen, cut, OnShallow::Error).unwrap_err();
            let input = err.downcast_ref::<InputError>().expect("an input error");
            assert!(input.message.contains("ends at commit abababa"), "{input}");
            let remedy = input.remedy.as_deref().unwrap_or_default();
            assert!(remedy.contains("GIT_DEPTH: 0"), "{input}");
            assert!(remedy.contains("on_shallow: warn"), "{input}");
            input.message.clone()
        };
        let one = message(
            &[("Ada", "ada@x.org"), ("Bob", "bob@x.org")],
            vec![false, true],
        );
        assert!(one.contains("earlier commit by Bob was found"), "{one}");
        let escaped = message(&[("Mal\u{1b}[2Jory", "mal@x.org")], vec![true]);
        assert!(escaped.contains("by Mal\\u{1b}[2Jory was"), "{escaped}");
        assert!(!escaped.contains('\u{1b}'), "{escaped}");
        let five: Vec<(String, String)> = ["A", "B", "C", "D", "E"]
            .iter()
            .map(|n| ((*n).to_owned(), format!("{n}@x.org")))
            .collect();
        let five: Vec<(&str, &str)> = five.iter().map(|(n, e)| (n.as_str(), e.as_str())).collect();
        let many = message(&five, vec![true; 5]);
        assert!(many.contains("by A, B, C or 2 more was found"), "{many}");
        let four = message(&five[..4], vec![true; 4]);
        assert!(four.contains("by A, B, C or D was found"), "{four}");

        let people = people_of(&[("Ada", "ada@x.org"), ("Bob", "bob@x.org")]);
        let warned = settle_cut(&people, vec![true, true], cut, OnShallow::Warn).unwrap();
        assert_eq!(warned, [false, false]);
    }
}

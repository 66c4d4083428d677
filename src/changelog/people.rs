//! Who contributed to a release: `.mailmap` resolution, one entry per person (identities
//! sharing a name or an email are one person), bots left out, and first-time contributors
//! found in the history before the release.

use std::collections::{HashMap, HashSet};

use anyhow::{Context as _, Result};
use git2::{Mailmap, Oid, Repository, Signature, Time};
use globset::{GlobSet, GlobSetBuilder};

use super::ContributorSettings;
use super::ahead::Ahead;
use super::model::{Commit, Contributor, Person};
use super::read::Reader;
use crate::error::input;

/// The repository's mailmap, when it has one: a `.mailmap` in the working tree, or
/// `mailmap.file` / `mailmap.blob` configured. Without one, names are not looked up.
pub(crate) fn mailmap(git: &Repository) -> Option<Mailmap> {
    let in_tree = git
        .workdir()
        .is_some_and(|dir| dir.join(".mailmap").exists());
    let configured = git.config().ok().is_some_and(|config| {
        ["mailmap.file", "mailmap.blob"]
            .iter()
            .any(|key| config.get_string(key).is_ok())
    });
    if in_tree || configured {
        git.mailmap().ok()
    } else {
        None
    }
}

/// `person` as `.mailmap` maps it (git's `Repository::mailmap`: the `.mailmap` of the
/// working tree, `mailmap.file` and `mailmap.blob`).
pub(crate) fn resolve(mailmap: Option<&Mailmap>, person: Person) -> Person {
    let Some(mailmap) = mailmap else {
        return person;
    };
    let Ok(sig) = Signature::new(&person.name, &person.email, &Time::new(0, 0)) else {
        return person;
    };
    match mailmap.resolve_signature(&sig) {
        Ok(real) => Person {
            name: String::from_utf8_lossy(real.name_bytes()).into_owned(),
            email: String::from_utf8_lossy(real.email_bytes()).into_owned(),
        },
        Err(_) => person,
    }
}

/// Whether `person` is a bot: a `[bot]` name or address (GitHub Apps), Renovate or
/// Dependabot, or a GitLab project or group access token's user
/// (`project_12_bot_…@noreply.host`).
#[must_use]
pub fn is_bot(person: &Person) -> bool {
    let name = person.name.to_ascii_lowercase();
    let email = person.email.to_ascii_lowercase();
    let (local, domain) = email.split_once('@').unwrap_or((&email, ""));
    let gitlab_token_user = domain.starts_with("noreply.")
        && ["project_", "group_"].iter().any(|p| {
            local.strip_prefix(p).is_some_and(|rest| {
                let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
                digits > 0 && rest[digits..].starts_with("_bot")
            })
        });
    name.ends_with("[bot]")
        || local.ends_with("[bot]")
        || ["renovate", "dependabot"]
            .iter()
            .any(|b| name.contains(b) || local.contains(b))
        || gitlab_token_user
}

fn exclude_set(globs: &[String]) -> Result<GlobSet> {
    let mut builder = GlobSetBuilder::new();
    for glob in globs {
        builder.add(crate::matchers::people_glob(glob).map_err(|e| {
            input(format!(
                "changelog.contributors.exclude: `{glob}` is not a valid glob: {e}"
            ))
        })?);
    }
    builder
        .build()
        .map_err(|e| input(format!("changelog.contributors.exclude: {e}")))
}

/// Identities grouped into people: two identities with the same name or the same email
/// (any case) are one person, shown as first seen.
#[derive(Debug, Clone)]
pub(crate) struct People {
    /// The people, in first-appearance order.
    pub(crate) people: Vec<Contributor>,
    by_key: HashMap<String, usize>,
}

fn keys(p: &Person) -> impl Iterator<Item = String> {
    let name = p.name.trim().to_lowercase();
    let email = p.email.trim().to_lowercase();
    [
        (!name.is_empty()).then(|| format!("n:{name}")),
        (!email.is_empty()).then(|| format!("e:{email}")),
    ]
    .into_iter()
    .flatten()
}

impl People {
    pub(crate) fn find(&self, p: &Person) -> Option<usize> {
        keys(p).find_map(|k| self.by_key.get(&k).copied())
    }

    fn add(&mut self, p: &Person) {
        let i = if let Some(i) = self.find(p) {
            i
        } else {
            self.people.push(Contributor {
                name: p.name.clone(),
                email: p.email.clone(),
                first_time: false,
            });
            self.people.len() - 1
        };
        for k in keys(p) {
            self.by_key.entry(k).or_insert(i);
        }
    }
}

/// The people of `commits` (authors and co-authors, in first-appearance order), bots and
/// `contributors.exclude` left out; `first_time` not set.
pub(crate) fn gather<'c>(
    commits: impl IntoIterator<Item = &'c Commit>,
    settings: &ContributorSettings,
) -> Result<People> {
    let exclude = exclude_set(&settings.exclude)?;
    let mut people = People {
        people: Vec::new(),
        by_key: HashMap::new(),
    };
    // An identity is kept or left out, and joins the same person, each time it comes.
    let mut looked_at: HashSet<(&str, &str)> = HashSet::new();
    for commit in commits {
        for p in std::iter::once(&commit.author).chain(&commit.co_authors) {
            if !looked_at.insert((&p.name, &p.email)) {
                continue;
            }
            let excluded = (settings.exclude_bots && is_bot(p))
                || exclude.is_match(&p.name)
                || exclude.is_match(&p.email);
            if !excluded {
                people.add(p);
            }
        }
    }
    Ok(people)
}

/// A set hashed with foldhash (randomly seeded, as the standard library's SipHash is, and
/// quicker for the ten thousand ids and identities of a first-time walk).
type FastSet<T> = HashSet<T, foldhash::fast::RandomState>;

/// Pushes onto `stack` each of `ids` not seen before.
fn push_new(ids: impl Iterator<Item = Oid>, seen: &mut FastSet<Oid>, stack: &mut Vec<Oid>) {
    for id in ids {
        if seen.insert(id) {
            stack.push(id);
        }
    }
}

/// For each of `people`, whether they authored no commit reachable from `before`. The walk
/// stops as soon as every one of them has been seen; someone new is only known to be new
/// once the whole history before the release has been read.
///
/// In a shallow clone the walk may read a commit whose parents were not fetched: that
/// commit is returned with the answer. If someone was not seen, the walk ended there, and
/// their `true` only means "not seen in the history fetched".
pub(crate) fn first_time(
    reader: &Reader<'_>,
    people: &People,
    before: Option<Oid>,
    mailmap: Option<&Mailmap>,
) -> Result<(Vec<bool>, Option<Oid>)> {
    let mut seen = Seen::new(people);
    let mut cut = None;
    if let Some(before) = before
        && !seen.done()
    {
        cut = prior_authors(reader, before, mailmap, |person| seen.saw(&person))?;
    }
    Ok((seen.unseen, cut))
}

/// Who of a release's people has been seen among earlier authors.
pub(crate) struct Seen<'p> {
    people: &'p People,
    /// `unseen[i]`: the i-th person has not been seen.
    pub(crate) unseen: Vec<bool>,
    left: usize,
}

impl<'p> Seen<'p> {
    pub(crate) fn new(people: &'p People) -> Self {
        Self {
            people,
            unseen: vec![true; people.people.len()],
            left: people.people.len(),
        }
    }

    /// Marks the person behind an earlier author (mailmap applied) as seen; true once
    /// everyone is.
    pub(crate) fn saw(&mut self, person: &Person) -> bool {
        if let Some(i) = self.people.find(person)
            && self.unseen[i]
        {
            self.unseen[i] = false;
            self.left -= 1;
        }
        self.done()
    }

    pub(crate) fn done(&self) -> bool {
        self.left == 0
    }
}

/// Hands `each` the authors of the commits reachable from `before` (`.mailmap` applied),
/// each identity once, until it returns true. Every ancestor is read once, in any order.
/// Commits in packs are read with a helper thread reading ahead ([`Ahead`]).
///
/// Returns the first commit read whose parents were not fetched (the boundary of a shallow
/// clone), if any: the history beyond it could not be read.
pub(crate) fn prior_authors(
    reader: &Reader<'_>,
    before: Oid,
    mailmap: Option<&Mailmap>,
    mut each: impl FnMut(Person) -> bool,
) -> Result<Option<Oid>> {
    prior_authors_polled(reader, before, mailmap, |met| met.is_some_and(&mut each))
}

/// How many commits the walk reads between two calls that hand over no author.
pub(crate) const POLL: usize = 256;

/// [`prior_authors`], where `each` is also called with `None` after every [`POLL`]
/// commits: a caller that learns what it is looking for while the walk runs can stop it
/// although no new author comes (most authors of a long history are met early on).
pub(crate) fn prior_authors_polled(
    reader: &Reader<'_>,
    before: Oid,
    mailmap: Option<&Mailmap>,
    each: impl FnMut(Option<Person>) -> bool,
) -> Result<Option<Oid>> {
    let ahead = reader.packs().and_then(|packs| Ahead::start(&packs));
    prior_authors_with(reader, before, mailmap, ahead.as_ref(), each)
}

/// [`prior_authors_polled`], with `ahead` reading ahead when given.
pub(super) fn prior_authors_with(
    reader: &Reader<'_>,
    before: Oid,
    mailmap: Option<&Mailmap>,
    ahead: Option<&Ahead>,
    mut each: impl FnMut(Option<Person>) -> bool,
) -> Result<Option<Oid>> {
    let mut read = 0_usize;
    let mut cut = None;
    let mut poll = || {
        read += 1;
        read.is_multiple_of(POLL)
    };
    if let Some(mut packs) = reader.packs() {
        // An identity already looked at is skipped without copying it. A commit's parents
        // and author come from its header in a pack when it is there (read by the helper
        // or here), else from the object database as the range walk reads it.
        let mut seen_ids = FastSet::default();
        let mut identities: FastSet<Vec<u8>> = FastSet::default();
        let mut key = Vec::new();
        let mut stack = vec![before];
        seen_ids.insert(before);
        while let Some(oid) = stack.pop() {
            if poll() && each(None) {
                break;
            }
            let entry = packs.locate(oid);
            if let Some(ahead) = ahead {
                ahead.follow(packs.guesses());
            }
            let handed = entry.and_then(|entry| ahead?.take(entry));
            let header = match (&handed, entry) {
                (Some(header), _) => Some(header.header()),
                (None, Some(entry)) => packs.header_of(entry),
                (None, None) => None,
            };
            // The author as stored (name, email), or as libgit2 parsed it.
            let commit;
            let author = if let Some(header) = header {
                push_new(header.parent_ids(), &mut seen_ids, &mut stack);
                Ok(header.author())
            } else {
                commit = reader
                    .read(oid)
                    .with_context(|| format!("reading commit {oid}"))?;
                push_new(commit.parent_ids(), &mut seen_ids, &mut stack);
                commit.author_bytes().ok_or_else(|| commit.author().0)
            };
            let person = match author {
                Ok((name, email)) => {
                    key.clear();
                    key.extend_from_slice(name);
                    key.push(0);
                    key.extend_from_slice(email);
                    if identities.contains(key.as_slice()) {
                        continue;
                    }
                    identities.insert(key.clone());
                    Person {
                        name: String::from_utf8_lossy(name).into_owned(),
                        email: String::from_utf8_lossy(email).into_owned(),
                    }
                }
                Err(parsed) => parsed,
            };
            if each(Some(resolve(mailmap, person))) {
                break;
            }
        }
    } else {
        // A shallow clone's commits are read through libgit2, which ends the walk at the
        // commits whose parents were not fetched.
        let boundary = super::walk::shallow_boundary(reader.repo());
        let mut walk = reader.repo().revwalk().context("starting a revwalk")?;
        walk.push(before)
            .context("walking the history before the release")?;
        for oid in walk {
            if poll() && each(None) {
                break;
            }
            let oid = oid.context("walking the history before the release")?;
            if cut.is_none() && boundary.contains(&oid) {
                cut = Some(oid);
            }
            let commit = reader
                .read(oid)
                .with_context(|| format!("reading commit {oid}"))?;
            if each(Some(resolve(mailmap, commit.author().0))) {
                break;
            }
        }
    }
    Ok(cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str, email: &str) -> Person {
        Person {
            name: name.into(),
            email: email.into(),
        }
    }

    #[test]
    fn bots() {
        for bot in [
            p(
                "dependabot[bot]",
                "49699333+dependabot[bot]@users.noreply.github.com",
            ),
            p(
                "renovate[bot]",
                "29139614+renovate[bot]@users.noreply.github.com",
            ),
            p("Renovate Bot", "bot@renovateapp.com"),
            p("x", "x[bot]@users.noreply.github.com"),
            p("app_bot", "project_42_bot_3f2a@noreply.gitlab.example.com"),
            p("g", "group_7_bot@noreply.gitlab.com"),
        ] {
            assert!(is_bot(&bot), "{bot:?}");
        }
        for human in [
            p("Ada Lovelace", "ada@example.com"),
            p("Bob", "12345+bob@users.noreply.github.com"),
            p("Robot Framework fan", "rf@example.com"),
            p("p", "project_x_bot@noreply.example.com"),
        ] {
            assert!(!is_bot(&human), "{human:?}");
        }
    }
}

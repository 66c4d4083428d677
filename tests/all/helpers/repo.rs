//! `TestRepo`: a real git repository in a temporary directory, built with git2.
//!
//! Deterministic: a fixed author (`Ada Lovelace <ada@example.com>`) unless one is given,
//! and a clock that starts at 2024-01-01T00:00:00Z and moves one minute per object
//! (commit or annotated tag), so ids and dates are the same on every run. Nothing depends on
//! the global git config; nothing is signed.
//!
//! ```ignore
//! let repo = TestRepo::new();
//! repo.commit("feat: first");
//! repo.tag("v1.0.0");
//! repo.commit_files("fix(api): x", &[("services/api/main.rs", "fn main() {}")]);
//! repo.branch("topic");
//! repo.checkout("topic");
//! repo.commit("feat: on topic");
//! repo.checkout("main");
//! repo.merge("topic", "Merge branch 'topic'");
//! ```
#![allow(dead_code)]

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::process::Command;

use git2::build::CheckoutBuilder;
use git2::{ObjectType, Oid, Repository, RepositoryInitOptions, Signature, Time};

/// The default author.
pub const AUTHOR: (&str, &str) = ("Ada Lovelace", "ada@example.com");
/// 2024-01-01T00:00:00Z, the time of the first object.
pub const EPOCH: i64 = 1_704_067_200;
/// Seconds between two consecutive objects.
pub const STEP: i64 = 60;

/// A git repository in a temporary directory, with a branch `main`.
pub struct TestRepo {
    dir: tempfile::TempDir,
    repo: Repository,
    clock: Cell<i64>,
}

impl Default for TestRepo {
    fn default() -> Self {
        Self::new()
    }
}

impl TestRepo {
    /// An empty repository (no commits) whose HEAD is `refs/heads/main`.
    #[must_use]
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut opts = RepositoryInitOptions::new();
        opts.initial_head("main");
        let repo = Repository::init_opts(dir.path(), &opts).expect("git init");
        Self {
            dir,
            repo,
            clock: Cell::new(EPOCH),
        }
    }

    /// The working directory (the repository root).
    #[must_use]
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The underlying git2 repository.
    #[must_use]
    pub fn repo(&self) -> &Repository {
        &self.repo
    }

    /// The commit HEAD points at.
    #[must_use]
    pub fn head(&self) -> Oid {
        self.repo
            .head()
            .expect("HEAD")
            .peel_to_commit()
            .expect("HEAD commit")
            .id()
    }

    /// The time the next object will get, then advance the clock.
    fn tick(&self) -> i64 {
        let now = self.clock.get();
        self.clock.set(now + STEP);
        now
    }

    /// The time the last object got (the clock before its next tick).
    #[must_use]
    pub fn last_time(&self) -> i64 {
        self.clock.get() - STEP
    }

    /// A commit by the default author that changes no file (`git commit --allow-empty`).
    pub fn commit(&self, msg: &str) -> Oid {
        self.commit_full(AUTHOR, msg, &[])
    }

    /// A commit by the default author that writes `files` (path relative to the root,
    /// content); directories are created.
    pub fn commit_files(&self, msg: &str, files: &[(&str, &str)]) -> Oid {
        self.commit_full(AUTHOR, msg, files)
    }

    /// A commit by another author (`(name, email)`).
    pub fn commit_as(&self, author: (&str, &str), msg: &str) -> Oid {
        self.commit_full(author, msg, &[])
    }

    /// A commit by `author` writing `files`, with HEAD as its parent (none for the first).
    pub fn commit_full(&self, author: (&str, &str), msg: &str, files: &[(&str, &str)]) -> Oid {
        let mut index = self.repo.index().expect("index");
        for (path, content) in files {
            let full = self.path().join(path);
            if let Some(parent) = full.parent() {
                std::fs::create_dir_all(parent).expect("create dirs");
            }
            std::fs::write(&full, content).expect("write file");
            index.add_path(Path::new(path)).expect("git add");
        }
        index.write().expect("write index");
        let tree_id = index.write_tree().expect("write tree");
        let tree = self.repo.find_tree(tree_id).expect("tree");
        let sig = self.signature(author);
        let parents = self.head_commit().into_iter().collect::<Vec<_>>();
        let parent_refs = parents.iter().collect::<Vec<_>>();
        self.repo
            .commit(Some("HEAD"), &sig, &sig, msg, &tree, &parent_refs)
            .expect("commit")
    }

    /// A commit whose message is raw bytes (for non-UTF-8 messages), declared as
    /// `encoding ISO-8859-1`, on top of HEAD, with HEAD's tree.
    pub fn commit_raw(&self, msg: &[u8]) -> Oid {
        let parent = self.head_commit();
        let tree = match &parent {
            Some(p) => p.tree_id(),
            None => self
                .repo
                .index()
                .expect("index")
                .write_tree()
                .expect("tree"),
        };
        let time = self.tick();
        let mut buf = Vec::new();
        buf.extend_from_slice(format!("tree {tree}\n").as_bytes());
        if let Some(p) = &parent {
            buf.extend_from_slice(format!("parent {}\n", p.id()).as_bytes());
        }
        let who = format!("{} <{}> {time} +0000", AUTHOR.0, AUTHOR.1);
        buf.extend_from_slice(format!("author {who}\ncommitter {who}\n").as_bytes());
        buf.extend_from_slice(b"encoding ISO-8859-1\n\n");
        buf.extend_from_slice(msg);
        let oid = self
            .repo
            .odb()
            .expect("odb")
            .write(ObjectType::Commit, &buf)
            .expect("write commit");
        self.move_head(oid);
        oid
    }

    /// A lightweight tag at HEAD.
    pub fn tag(&self, name: &str) -> Oid {
        let head = self.head();
        self.tag_at(name, head);
        head
    }

    /// A lightweight tag at `commit`.
    pub fn tag_at(&self, name: &str, commit: Oid) {
        let object = self.repo.find_object(commit, None).expect("object");
        self.repo
            .tag_lightweight(name, &object, false)
            .expect("lightweight tag");
    }

    /// An annotated tag at HEAD by the default author (tagger time = the next clock tick).
    /// Returns the tag object's id.
    pub fn annotated_tag(&self, name: &str, msg: &str) -> Oid {
        let head = self.repo.find_object(self.head(), None).expect("HEAD");
        let sig = self.signature(AUTHOR);
        self.repo
            .tag(name, &head, &sig, msg, false)
            .expect("annotated tag")
    }

    /// A branch at HEAD (HEAD stays where it is).
    pub fn branch(&self, name: &str) {
        let head = self.head_commit().expect("a commit to branch from");
        self.repo.branch(name, &head, false).expect("branch");
    }

    /// Switch HEAD (and the working tree) to a branch.
    pub fn checkout(&self, name: &str) {
        self.repo
            .set_head(&format!("refs/heads/{name}"))
            .expect("set HEAD");
        self.repo
            .checkout_head(Some(CheckoutBuilder::new().force().remove_untracked(true)))
            .expect("checkout");
    }

    /// Merge `branch` into the current branch with a merge commit (never fast-forward);
    /// panics on conflicts.
    pub fn merge(&self, branch: &str, msg: &str) -> Oid {
        let ours = self.head_commit().expect("HEAD commit");
        let theirs = self
            .repo
            .find_branch(branch, git2::BranchType::Local)
            .expect("branch")
            .get()
            .peel_to_commit()
            .expect("branch commit");
        let mut index = self
            .repo
            .merge_commits(&ours, &theirs, None)
            .expect("merge");
        assert!(!index.has_conflicts(), "merge of {branch} conflicts");
        let tree_id = index.write_tree_to(&self.repo).expect("merged tree");
        let tree = self.repo.find_tree(tree_id).expect("tree");
        let sig = self.signature(AUTHOR);
        let oid = self
            .repo
            .commit(Some("HEAD"), &sig, &sig, msg, &tree, &[&ours, &theirs])
            .expect("merge commit");
        self.repo
            .checkout_head(Some(CheckoutBuilder::new().force()))
            .expect("checkout merge");
        oid
    }

    /// Clone this repository with `git clone --depth <depth>` (git CLI, isolated from the
    /// user's and system's git config) into a new temporary directory.
    #[must_use]
    pub fn shallow_clone(&self, depth: u32) -> tempfile::TempDir {
        self.clone_with(&["--depth", &depth.to_string()])
    }

    /// Clone this repository with `git clone --filter=<filter> --no-checkout` (a partial
    /// clone: what the filter leaves out is not fetched) into a new temporary directory.
    #[must_use]
    pub fn partial_clone(&self, filter: &str) -> tempfile::TempDir {
        self.clone_with(&[
            "--no-checkout",
            "--upload-pack",
            "git -c uploadpack.allowFilter=true upload-pack",
            &format!("--filter={filter}"),
        ])
    }

    /// `git clone --quiet <options>` of this repository (as a `file://` URL, so that the
    /// options apply) into a new temporary directory.
    fn clone_with(&self, options: &[&str]) -> tempfile::TempDir {
        let dest = tempfile::tempdir().expect("temp dir");
        let url = format!("file://{}", self.path().display());
        let dest_path = dest.path().display().to_string();
        let mut args = vec!["clone", "--quiet"];
        args.extend_from_slice(options);
        args.extend([url.as_str(), dest_path.as_str()]);
        git_cli(None, &args);
        dest
    }

    fn head_commit(&self) -> Option<git2::Commit<'_>> {
        self.repo.head().ok().and_then(|h| h.peel_to_commit().ok())
    }

    fn move_head(&self, oid: Oid) {
        let head = self.repo.find_reference("HEAD").expect("HEAD");
        let target = head
            .symbolic_target()
            .ok()
            .flatten()
            .unwrap_or("refs/heads/main")
            .to_string();
        self.repo
            .reference(&target, oid, true, "commit_raw")
            .expect("move branch");
    }

    fn signature(&self, (name, email): (&str, &str)) -> Signature<'static> {
        Signature::new(name, email, &Time::new(self.tick(), 0)).expect("signature")
    }
}

/// Run the git CLI with no system or global config; panics unless it succeeds.
pub fn git_cli(dir: Option<&Path>, args: &[&str]) -> String {
    let mut cmd = Command::new("git");
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    let out = cmd
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", null_device())
        .env("GIT_TERMINAL_PROMPT", "0")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn null_device() -> PathBuf {
    PathBuf::from(if cfg!(windows) { "NUL" } else { "/dev/null" })
}

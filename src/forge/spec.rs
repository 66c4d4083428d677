//! The plain data the forge seam reads of the release relsync wants: its tag, its declared
//! links and files and the GitLab package that holds the files. `desired` builds these
//! values; the forge clients only read them, so `forge` needs nothing of how they are made.
//!
//! Also the seam through which an upload reports how it advances: the caller (`apply`)
//! gives a [`Progress`], and the forge tells it each chunk it sends, never printing itself.

use std::path::PathBuf;

use serde::Serialize;

use crate::manifest::raw::LinkType;

/// A declared URL link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DesiredLink {
    /// Name.
    pub name: String,
    /// URL.
    pub url: String,
    /// Type.
    pub link_type: LinkType,
    /// GitLab direct asset path.
    pub direct_asset_path: Option<String>,
}

/// A file to upload.
#[derive(Debug, Clone, Serialize)]
pub struct DesiredFile {
    /// Asset name.
    pub name: String,
    /// Where its bytes are.
    #[serde(skip)]
    pub source: FileSource,
    /// Path relative to the repository, or `generated`.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// sha256.
    pub sha256: String,
    /// Link type.
    pub link_type: LinkType,
    /// GitLab direct asset path.
    pub direct_asset_path: Option<String>,
}

/// Where a file's bytes come from.
#[derive(Debug, Clone)]
pub enum FileSource {
    /// A file on disk, streamed when uploaded.
    Disk(PathBuf),
    /// Generated content (the checksums file).
    Memory(Vec<u8>),
}

/// GitLab generic package coordinates.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Package {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
}

/// What the forge reads of the desired release to observe it and to upload its files.
#[derive(Debug, Clone, Copy)]
pub struct ReleaseSpec<'a> {
    /// The tag; empty for an unreleased preview.
    pub tag: &'a str,
    /// The declared URL links.
    pub links: &'a [DesiredLink],
    /// The files to upload.
    pub files: &'a [DesiredFile],
    /// Where GitLab stores the files.
    pub package: &'a Package,
}

/// Told how uploads advance, so that the caller can show it.
pub trait Progress: std::fmt::Debug + Send + Sync {
    /// An upload of `name` (`size` bytes) starts: the sink returned is given the length of
    /// each chunk as it is sent.
    fn start(&self, name: &str, size: u64) -> Box<dyn FnMut(u64) + Send>;
}

/// Shows nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _name: &str, _size: u64) -> Box<dyn FnMut(u64) + Send> {
        Box::new(|_| {})
    }
}

//! The local side of assets: globs expanded in the repository (see [`crate::matchers`]), files hashed (streaming, in
//! parallel), the checksums file, and the validation rules forges apply to names and links.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use sha2::{Digest, Sha256};

use crate::matchers::FileGlob;

/// A file on disk with its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hashed {
    /// Size in bytes.
    pub size: u64,
    /// Lower-case hex sha256.
    pub sha256: String,
}

/// Why a matched path cannot be an asset: bad input, with the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// What is wrong, naming the path.
    pub message: String,
    /// How to fix it.
    pub remedy: String,
}

impl Refusal {
    fn new(message: impl Into<String>, remedy: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            remedy: remedy.into(),
        }
    }
}

/// One file a glob matched: where it is named (`path`, inside the repository) and where its
/// bytes are read from (`source`: the same path, or a symlink's resolved target).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    /// The matched path (as the glob found it).
    pub path: PathBuf,
    /// The regular file whose bytes are uploaded.
    pub source: PathBuf,
}

/// The regular files a glob (relative to `repo`) matches, sorted; directories are skipped.
///
/// The search starts at the glob's literal base directory (`dist/linux` for
/// `dist/linux/*.tar.gz`) and goes only as deep as the glob can match (any depth from a `**`
/// on). Symbolic links to directories are searched when their target is inside the
/// repository; one whose target is outside is refused when the glob reaches into it (a base
/// directory that is itself such a link is searched, so that what it holds is refused by name
/// below).
///
/// A file is an asset only if it is a regular file inside the repository once symlinks are
/// resolved. A path that goes through a symlink is refused unless `follow_symlinks`, and even
/// then its target must be inside the repository. FIFOs, devices and sockets are refused, and
/// so are file names that are not valid UTF-8.
///
/// # Errors
/// The first refused path (in sorted order), or a directory that cannot be read.
pub fn expand(
    repo: &Path,
    glob: &FileGlob,
    follow_symlinks: bool,
) -> Result<Vec<Matched>, Refusal> {
    let repo_real = std::fs::canonicalize(repo).map_err(|e| {
        Refusal::new(
            format!("cannot read the repository {}: {e}", repo.display()),
            "pass the repository with `-C/--repo`",
        )
    })?;
    let base_rel = glob.base();
    let base = if base_rel.is_empty() {
        repo.to_path_buf()
    } else {
        repo.join(&base_rel)
    };
    let mut walk = Walk {
        repo,
        repo_real: &repo_real,
        glob,
        follow_symlinks,
        found: Vec::new(),
        stack: Vec::new(),
    };
    if glob.is_literal() {
        // A dangling link is named as such rather than reported as missing.
        if std::fs::symlink_metadata(&base).is_ok()
            && let Some(m) = admit(repo, &repo_real, &base, follow_symlinks)?
        {
            walk.found.push(m);
        }
    } else if let Ok(real) = std::fs::canonicalize(&base)
        && real.is_dir()
    {
        walk.stack.push(real);
        walk.dir(&base, 0)?;
    }
    let mut out = walk.found;
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// A depth-first search below a glob's base, children in name order.
struct Walk<'a> {
    repo: &'a Path,
    repo_real: &'a Path,
    glob: &'a FileGlob,
    follow_symlinks: bool,
    found: Vec<Matched>,
    /// The resolved directories being searched, outermost first: a link back to one of them
    /// is not searched again.
    stack: Vec<PathBuf>,
}

impl Walk<'_> {
    /// Searches `dir`, whose entries are `depth` components below the base.
    fn dir(&mut self, dir: &Path, depth: usize) -> Result<(), Refusal> {
        let unreadable = |e: std::io::Error| {
            Refusal::new(
                format!(
                    "cannot read {}: {e}",
                    shown(self.repo, dir).trim_end_matches('/')
                ),
                "make the directory readable, or narrow the glob",
            )
        };
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(unreadable)? {
            let entry = entry.map_err(unreadable)?;
            let kind = entry.file_type().map_err(unreadable)?;
            entries.push((entry.file_name(), kind));
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, kind) in entries {
            let path = dir.join(&name);
            if self
                .glob
                .is_match(&crate::matchers::relative(self.repo, &path))
                && let Some(m) = admit(self.repo, self.repo_real, &path, self.follow_symlinks)?
            {
                self.found.push(m);
            }
            let is_dir = kind.is_dir()
                || (kind.is_symlink() && std::fs::metadata(&path).is_ok_and(|m| m.is_dir()));
            if !is_dir || !self.glob.may_descend(depth, &name.to_string_lossy()) {
                continue;
            }
            let real = if kind.is_symlink() {
                let Ok(real) = std::fs::canonicalize(&path) else {
                    continue;
                };
                if !real.starts_with(self.repo_real) {
                    return Err(Refusal::new(
                        format!(
                            "{} is a symbolic link to {}, a directory outside the repository, and the glob reaches into it; relsync does not search there",
                            shown(self.repo, &path),
                            real.display()
                        ),
                        "only files inside the repository can be uploaded: narrow the glob so it does not reach the link, or copy the files into the repository",
                    ));
                }
                if self.stack.iter().any(|s| s.starts_with(&real)) {
                    // A link to a directory being searched: a cycle.
                    continue;
                }
                real
            } else {
                self.stack
                    .last()
                    .map_or_else(|| path.clone(), |parent| parent.join(&name))
            };
            self.stack.push(real);
            let searched = self.dir(&path, depth + 1);
            self.stack.pop();
            searched?;
        }
        Ok(())
    }
}

/// `path` relative to `repo`, for messages.
fn shown(repo: &Path, path: &Path) -> String {
    path.strip_prefix(repo)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Decides whether one matched path is an asset (`Some`), a directory to skip (`None`), or
/// refused.
fn admit(
    repo: &Path,
    repo_real: &Path,
    path: &Path,
    follow_symlinks: bool,
) -> Result<Option<Matched>, Refusal> {
    let shown = path
        .strip_prefix(repo)
        .unwrap_or(path)
        .display()
        .to_string();
    if path.file_name().is_some_and(|n| n.to_str().is_none()) {
        return Err(not_utf8(&shown));
    }
    let real = std::fs::canonicalize(path).map_err(|e| {
        Refusal::new(
            format!("{shown}: cannot resolve it ({e}); a broken symbolic link?"),
            "build the file before this step, or remove the dangling link",
        )
    })?;
    let lexical: PathBuf = repo_real.join(
        path.strip_prefix(repo)
            .unwrap_or(path)
            .components()
            .filter(|c| !matches!(c, std::path::Component::CurDir))
            .collect::<PathBuf>(),
    );
    if real != lexical {
        if !follow_symlinks {
            return Err(Refusal::new(
                format!(
                    "{shown} is reached through a symbolic link (to {}); relsync does not follow links by default",
                    real.display()
                ),
                "copy the file into the repository, or set `assets.follow_symlinks: true` when the link points inside the repository",
            ));
        }
        if !real.starts_with(repo_real) {
            return Err(Refusal::new(
                format!(
                    "{shown} is a symbolic link to {}, outside the repository",
                    real.display()
                ),
                "only files inside the repository can be uploaded: copy the file into it",
            ));
        }
    }
    let meta = std::fs::metadata(&real).map_err(|e| {
        Refusal::new(
            format!("cannot read {shown}: {e}"),
            "make the file readable",
        )
    })?;
    let ft = meta.file_type();
    if ft.is_dir() {
        return Ok(None);
    }
    if !ft.is_file() {
        return Err(Refusal::new(
            format!("{shown} is not a regular file ({})", kind_of(ft)),
            "upload regular files only: narrow the glob, e.g. `dist/*.tar.gz`",
        ));
    }
    Ok(Some(Matched {
        path: path.to_path_buf(),
        source: real,
    }))
}

fn kind_of(ft: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a FIFO";
        }
        if ft.is_socket() {
            return "a socket";
        }
        if ft.is_block_device() || ft.is_char_device() {
            return "a device";
        }
    }
    let _ = ft;
    "not a file"
}

fn not_utf8(shown: &str) -> Refusal {
    Refusal::new(
        format!("{shown}: the file name is not valid UTF-8"),
        "rename the file to a UTF-8 name (asset names are UTF-8 on every forge)",
    )
}

/// The rules every forge applies to an uploaded file's name, checked before any request:
/// not empty, not `.` or `..`, no `/` or `\`, no control characters, at most 255 bytes.
///
/// # Errors
/// What is wrong with it.
pub fn check_asset_name(name: &str) -> Result<(), String> {
    let shown = name.escape_debug();
    if name.is_empty() {
        return Err("the asset name is empty".into());
    }
    if name == "." || name == ".." {
        return Err(format!("`{name}` is not a file name"));
    }
    if name.contains(['/', '\\']) {
        return Err(format!(
            "`{shown}` is not a file name: it contains `/` or `\\`"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(format!(
            "`{shown}` contains a control character (NUL, CR, LF, tab, …)"
        ));
    }
    if name.len() > 255 {
        return Err(format!(
            "`{}…` is {} bytes long; forges take at most 255",
            name.chars().take(40).collect::<String>(),
            name.len()
        ));
    }
    Ok(())
}

/// A link's name: not empty and free of control characters.
///
/// # Errors
/// What is wrong with it.
pub fn check_link_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("renders to an empty name".into());
    }
    if name.chars().any(char::is_control) {
        return Err(format!(
            "`{}` contains a control character (NUL, CR, LF, tab, …)",
            name.escape_debug()
        ));
    }
    Ok(())
}

/// Hashes one file streaming, in constant memory.
///
/// # Errors
/// The file cannot be read.
pub fn hash_file(path: &Path) -> std::io::Result<Hashed> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok(Hashed {
        size,
        sha256: hex::encode(hasher.finalize()),
    })
}

/// A file whose bytes changed between planning and upload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{name} changed while it was uploaded: planned {planned_size} bytes with sha256 {planned_sha}, read {read_size} bytes{read_sha}; the upload was aborted so the forge does not keep bytes that match neither the plan nor the checksums file (make sure nothing writes the file while relsync runs, then run again)"
)]
pub struct ChangedDuringUpload {
    /// Asset name.
    pub name: String,
    /// Planned size.
    pub planned_size: u64,
    /// Planned sha256.
    pub planned_sha: String,
    /// Bytes read.
    pub read_size: u64,
    /// `" with sha256 …"` when the whole file was read.
    pub read_sha: String,
}

/// Passes `inner`'s chunks through while hashing them, and fails instead of ending when the
/// bytes read are not the `planned` ones. The last chunk is held back until the end is
/// verified, so a receiver never gets the complete body of a changed file: the request is
/// aborted instead.
pub fn verified_stream<S>(
    inner: S,
    planned: Hashed,
    name: String,
) -> impl futures_util::Stream<Item = std::io::Result<bytes::Bytes>> + Send + 'static
where
    S: futures_util::Stream<Item = std::io::Result<bytes::Bytes>> + Send + 'static,
{
    use futures_util::StreamExt;
    struct State<S> {
        inner: std::pin::Pin<Box<S>>,
        hasher: Sha256,
        size: u64,
        held: Option<bytes::Bytes>,
        done: bool,
        planned: Hashed,
        name: String,
    }
    let changed = |st: &State<S>, read_sha: String| {
        std::io::Error::other(ChangedDuringUpload {
            name: st.name.clone(),
            planned_size: st.planned.size,
            planned_sha: st.planned.sha256.clone(),
            read_size: st.size,
            read_sha,
        })
    };
    let state = State {
        inner: Box::pin(inner),
        hasher: Sha256::new(),
        size: 0,
        held: None,
        done: false,
        planned,
        name,
    };
    futures_util::stream::unfold(state, move |mut st| async move {
        if st.done {
            return None;
        }
        loop {
            match st.inner.next().await {
                Some(Ok(chunk)) => {
                    if chunk.is_empty() {
                        continue;
                    }
                    st.size += chunk.len() as u64;
                    st.hasher.update(&chunk);
                    if st.size > st.planned.size {
                        st.done = true;
                        let e = changed(&st, " (more than planned)".into());
                        return Some((Err(e), st));
                    }
                    if let Some(prev) = st.held.replace(chunk) {
                        return Some((Ok(prev), st));
                    }
                }
                Some(Err(e)) => {
                    st.done = true;
                    return Some((Err(e), st));
                }
                None => {
                    st.done = true;
                    let sha = hex::encode(st.hasher.finalize_reset());
                    if st.size != st.planned.size || sha != st.planned.sha256 {
                        let e = changed(&st, format!(" with sha256 {sha}"));
                        return Some((Err(e), st));
                    }
                    return st.held.take().map(|c| (Ok(c), st));
                }
            }
        }
    })
}

/// sha256 of bytes in memory.
#[must_use]
pub fn hash_bytes(bytes: &[u8]) -> Hashed {
    Hashed {
        size: bytes.len() as u64,
        sha256: hex::encode(Sha256::digest(bytes)),
    }
}

/// Hashes `paths` in parallel (one worker per core), results in input order.
///
/// # Errors
/// The first file that cannot be read.
pub fn hash_files(paths: &[PathBuf]) -> anyhow::Result<Vec<Hashed>> {
    let workers = std::thread::available_parallelism()
        .map_or(2, std::num::NonZero::get)
        .min(paths.len().max(1));
    let next = AtomicUsize::new(0);
    let mut results: Vec<Option<std::io::Result<Hashed>>> =
        (0..paths.len()).map(|_| None).collect();
    let chunks: Vec<Vec<(usize, std::io::Result<Hashed>)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(p) = paths.get(i) else { break };
                        done.push((i, hash_file(p)));
                    }
                    done
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    for (i, r) in chunks.into_iter().flatten() {
        results[i] = Some(r);
    }
    results
        .into_iter()
        .zip(paths)
        .map(|(r, p)| match r {
            Some(Ok(h)) => Ok(h),
            Some(Err(e)) => Err(anyhow::anyhow!("cannot read {}: {e}", p.display())),
            None => Err(anyhow::anyhow!("cannot hash {}", p.display())),
        })
        .collect()
}

/// The checksums file, in the format `sha256sum -c` reads: `<hex>  <name>`, sorted by name.
#[must_use]
pub fn checksums_file<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut lines: Vec<(&str, &str)> = entries.into_iter().collect();
    lines.sort_by(|a, b| a.0.cmp(b.0));
    lines
        .iter()
        .map(|(name, sha)| format!("{sha}  {name}\n"))
        .collect()
}

/// GitLab's rule for `direct_asset_path`: at most 128 characters matching
/// `\A/[^/](?!.*//.*)[-.\w/]+[\da-zA-Z]+\z`.
///
/// # Errors
/// What is wrong with it.
pub fn check_direct_asset_path(p: &str) -> Result<(), String> {
    let bytes = p.as_bytes();
    if p.chars().count() > 128 {
        return Err(format!("`{p}` is longer than 128 characters"));
    }
    if !p.starts_with('/') {
        return Err(format!("`{p}` must start with `/`"));
    }
    if p.contains("//") {
        return Err(format!("`{p}` must not contain `//`"));
    }
    let rest = p.get(2..).unwrap_or("");
    let valid_rest = rest.len() >= 2
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '/'))
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric);
    if bytes.len() < 2 || !valid_rest {
        return Err(format!(
            "`{p}` may contain only letters, digits, `-`, `.`, `_` and `/`, and must end with a letter or digit"
        ));
    }
    Ok(())
}

/// The link URL schemes GitLab accepts.
///
/// # Errors
/// The URL has another scheme or no host.
pub fn check_link_url(url: &str) -> Result<(), String> {
    if url.chars().any(|c| c.is_control() || c == ' ') {
        return Err(format!(
            "`{}` contains a space or a control character",
            url.escape_debug()
        ));
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(format!("`{url}` is not an absolute URL"));
    };
    if !matches!(
        scheme.to_ascii_lowercase().as_str(),
        "http" | "https" | "ftp"
    ) {
        return Err(format!(
            "`{url}` has the scheme `{scheme}`; only http, https and ftp are allowed"
        ));
    }
    if rest.is_empty() || rest.starts_with('/') {
        return Err(format!("`{url}` has no host"));
    }
    Ok(())
}

/// GitLab's generic package name rule: `\A[A-Za-z0-9\.\_\-\+]+\z`; file names follow it too.
///
/// # Errors
/// What is wrong.
pub fn check_package_name(name: &str) -> Result<(), String> {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'))
        && name != "."
        && name != ".."
    {
        Ok(())
    } else {
        Err(format!(
            "`{name}` may contain only letters, digits, `.`, `_`, `-` and `+`"
        ))
    }
}

/// GitLab's generic package version rule: `\A(?!.*\.\.)[\w+.-]+\z`.
///
/// # Errors
/// What is wrong.
pub fn check_package_version(v: &str) -> Result<(), String> {
    if !v.is_empty()
        && !v.contains("..")
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '.' | '-'))
    {
        Ok(())
    } else {
        Err(format!(
            "`{v}` may contain only letters, digits, `_`, `+`, `.` and `-`, and no `..`"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn dap(p: &str, ok: bool) {
        assert_eq!(check_direct_asset_path(p).is_ok(), ok, "{p}");
    }

    #[test]
    fn direct_asset_path_follows_gitlab() {
        dap("/bin/app", true);
        dap("/binaries/linux-amd64.tar.gz1", true);
        dap("/a/b_c-d.e/f9", true);
        dap("bin/app", false);
        dap("//bin/app", false);
        dap("/bin//app", false);
        dap("/bin/app.", false);
        dap("/bin/app ", false);
        dap("/bin/äpp", false);
        dap("/ab", false);
        dap(&format!("/{}", "a".repeat(128)), false);
        dap(&format!("/{}", "a".repeat(127)), true);
    }

    #[test]
    fn link_url_schemes() {
        assert!(check_link_url("https://x.example/a").is_ok());
        assert!(check_link_url("ftp://x.example/a").is_ok());
        assert!(check_link_url("javascript://alert").is_err());
        assert!(check_link_url("file:///etc/passwd").is_err());
        assert!(check_link_url("example.com").is_err());
    }

    #[test]
    fn package_rules() {
        assert!(check_package_name("my-app_1.0+x").is_ok());
        assert!(check_package_name("my app").is_err());
        assert!(check_package_version("1.2.3-rc.1").is_ok());
        assert!(check_package_version("1..2").is_err());
        assert!(check_package_version("1/2").is_err());
    }

    #[test]
    fn checksums_are_sorted_and_sha256sum_shaped() {
        let s = checksums_file([("b.tar", "bb"), ("a.zip", "aa")]);
        assert_eq!(s, "aa  a.zip\nbb  b.tar\n");
    }

    fn collect(path: &Path, planned: Hashed) -> (Vec<u8>, Option<std::io::Error>) {
        use futures_util::StreamExt;
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let f = tokio::fs::File::open(path).await.unwrap();
            let inner = tokio_util::io::ReaderStream::with_capacity(f, 4096);
            let mut s = Box::pin(verified_stream(inner, planned, "app.tar.gz".into()));
            let mut got = Vec::new();
            while let Some(item) = s.next().await {
                match item {
                    Ok(c) => got.extend_from_slice(&c),
                    Err(e) => return (got, Some(e)),
                }
            }
            (got, None)
        })
    }

    #[test]
    fn upload_stream_passes_an_unchanged_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("app.tar.gz");
        let content: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&p, &content).unwrap();
        let (got, err) = collect(&p, hash_file(&p).unwrap());
        assert!(err.is_none());
        assert_eq!(got, content);
    }

    #[test]
    fn upload_stream_fails_when_the_file_was_rewritten_after_hashing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("app.tar.gz");
        std::fs::write(&p, vec![b'a'; 10_000]).unwrap();
        let planned = hash_file(&p).unwrap();
        // Same size, other bytes: only the hash can tell.
        std::fs::write(&p, vec![b'b'; 10_000]).unwrap();
        let (got, err) = collect(&p, planned.clone());
        let err = err.expect("a changed file must fail the upload");
        let changed = err
            .get_ref()
            .and_then(|e| e.downcast_ref::<ChangedDuringUpload>())
            .expect("typed error");
        assert_eq!(changed.planned_sha, planned.sha256);
        assert!(err.to_string().contains("changed while it was uploaded"));
        // The last chunk is withheld: the receiver never gets a complete body.
        assert!(got.len() < 10_000, "{}", got.len());
        // Grown and shrunk files fail too.
        std::fs::write(&p, vec![b'a'; 10_001]).unwrap();
        assert!(collect(&p, planned.clone()).1.is_some());
        std::fs::write(&p, vec![b'a'; 9_999]).unwrap();
        let (got, err) = collect(&p, planned);
        assert!(err.is_some());
        assert!(got.len() < 9_999);
    }

    #[test]
    fn parallel_hash_matches_single() {
        let dir = tempfile::tempdir().unwrap();
        let paths: Vec<PathBuf> = (0..7)
            .map(|i| {
                let p = dir.path().join(format!("f{i}"));
                std::fs::write(&p, vec![i as u8; 1000 * i]).unwrap();
                p
            })
            .collect();
        let all = hash_files(&paths).unwrap();
        for (p, h) in paths.iter().zip(&all) {
            assert_eq!(&hash_file(p).unwrap(), h);
        }
        assert_eq!(
            all[0].sha256,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}

//! The local side of assets: globs expanded in the repository, files hashed (streaming, in
//! parallel), the checksums file, and the validation rules forges apply to names and links.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use sha2::{Digest, Sha256};

/// A file on disk with its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hashed {
    /// Size in bytes.
    pub size: u64,
    /// Lower-case hex sha256.
    pub sha256: String,
}

/// The files a glob (relative to `repo`) matches, sorted; directories are skipped.
///
/// # Errors
/// An unreadable directory entry.
pub fn expand(repo: &Path, pattern: &str) -> anyhow::Result<Vec<PathBuf>> {
    let base = glob::Pattern::escape(&repo.to_string_lossy());
    let full = format!("{}/{}", base.trim_end_matches('/'), pattern);
    let opts = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: false,
    };
    let mut out = Vec::new();
    for entry in glob::glob_with(&full, opts)? {
        let path = entry?;
        if path.is_file() {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
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

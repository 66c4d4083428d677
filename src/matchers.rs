//! The one glob dialect of `release.yml`: globset's syntax for `changelog.tag_pattern`,
//! `changelog.ignore_tags`, `changelog.paths`, `changelog.contributors.exclude` and
//! `assets.files` (and `--asset`).
//!
//! Everywhere: `*` and `?` any characters, `[abc]`, `[a-z]`, `[!a]` or `[^a]`, `{a,b}`
//! alternatives, `\` escapes, case-sensitive (names and emails of people excepted), and a
//! leading dot is not special (`*` matches `.hidden`). What differs is the separator:
//!
//! - in file paths (`paths`, `assets.files`) `*`, `?` and classes never match `/`, and `**`
//!   as a whole component crosses directories (`dist/**/*.zip`, `**/*.zip`);
//! - in tag names (`tag_pattern`, `ignore_tags`) and people (`contributors.exclude`), `/` is an
//!   ordinary character: a tag is a name, and `*` matches `team/v1`.

use std::path::Path;

use globset::{Glob, GlobBuilder, GlobMatcher};

/// The dialect's options shared by every key.
fn builder(pattern: &str) -> GlobBuilder<'_> {
    GlobBuilder::new(pattern)
}

/// A path glob (`changelog.paths`, `assets.files`): `*` stays within a directory, `**`
/// crosses directories.
///
/// # Errors
/// The pattern does not parse.
pub fn path_glob(pattern: &str) -> Result<Glob, globset::Error> {
    builder(pattern).literal_separator(true).build()
}

/// A tag-name glob (`tag_pattern`, `ignore_tags`): `/` is an ordinary character.
///
/// # Errors
/// The pattern does not parse.
pub fn tag_glob(pattern: &str) -> Result<Glob, globset::Error> {
    builder(pattern).literal_separator(false).build()
}

/// A name or email glob (`contributors.exclude`): any case, `/` ordinary.
///
/// # Errors
/// The pattern does not parse.
pub fn people_glob(pattern: &str) -> Result<Glob, globset::Error> {
    builder(pattern)
        .case_insensitive(true)
        .literal_separator(false)
        .build()
}

/// The characters that make a path component a pattern rather than a literal name.
const META: [char; 5] = ['*', '?', '[', '{', '\\'];

/// A compiled `assets.files` glob: the matcher of whole paths (relative to the repository,
/// `/`-separated), the literal directory a search starts from, and what limits the descent.
#[derive(Debug, Clone)]
pub struct FileGlob {
    /// The pattern as matched (a leading `./` and doubled `/` removed).
    pattern: String,
    matcher: GlobMatcher,
    /// The components before the first one holding a metacharacter.
    base: Vec<String>,
    /// One matcher per component after `base`, while they can be told apart component by
    /// component; `None` from a `**` on (or when an alternative or class holds a `/`): any
    /// depth below.
    steps: Vec<GlobMatcher>,
    /// Whether the search may go deeper than `base` + `steps`.
    unbounded: bool,
}

impl FileGlob {
    /// Compiles `pattern` (relative to the repository).
    ///
    /// # Errors
    /// The pattern does not parse.
    pub fn new(pattern: &str) -> Result<Self, globset::Error> {
        let normal = normalize(pattern);
        let matcher = path_glob(&normal)?.compile_matcher();
        let parts: Vec<&str> = normal.split('/').collect();
        let literal = parts.iter().take_while(|p| !p.contains(META)).count();
        let base: Vec<String> = parts[..literal].iter().map(|s| (*s).to_owned()).collect();
        let mut steps = Vec::new();
        // A `/` inside `{…}` or `[…]` makes the components meaningless one by one.
        let mut unbounded = slash_in_group(&normal);
        if !unbounded {
            for part in &parts[literal..] {
                if part.contains("**") {
                    unbounded = true;
                    break;
                }
                steps.push(path_glob(part)?.compile_matcher());
            }
        }
        Ok(Self {
            pattern: normal,
            matcher,
            base,
            steps,
            unbounded,
        })
    }

    /// The pattern as it is matched.
    #[must_use]
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Whether the repository-relative, `/`-separated `path` matches.
    #[must_use]
    pub fn is_match(&self, path: &str) -> bool {
        self.matcher.is_match(path)
    }

    /// The literal directory the search starts from (the whole path when the pattern holds
    /// no metacharacter), relative to the repository.
    #[must_use]
    pub fn base(&self) -> String {
        self.base.join("/")
    }

    /// Whether the pattern is a plain path, without metacharacters.
    #[must_use]
    pub fn is_literal(&self) -> bool {
        self.steps.is_empty() && !self.unbounded
    }

    /// Whether a directory named `name`, `depth` components below the base (0: a child of
    /// the base), can hold a match.
    #[must_use]
    pub fn may_descend(&self, depth: usize, name: &str) -> bool {
        match self.steps.get(depth) {
            Some(step) => step.is_match(name) && (depth + 1 < self.steps.len() || self.unbounded),
            None => self.unbounded,
        }
    }
}

impl std::fmt::Display for FileGlob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.pattern)
    }
}

/// `./dist//a` -> `dist/a`.
fn normalize(pattern: &str) -> String {
    let mut parts: Vec<&str> = pattern.split('/').filter(|p| !p.is_empty()).collect();
    while parts.len() > 1 && parts[0] == "." {
        parts.remove(0);
    }
    let mut out = parts.join("/");
    if pattern.starts_with('/') {
        out.insert(0, '/');
    }
    out
}

/// Whether a `/` sits inside `{…}` or `[…]`.
fn slash_in_group(pattern: &str) -> bool {
    let mut depth = 0usize;
    let mut class = false;
    let mut escaped = false;
    for c in pattern.chars() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '[' if !class => class = true,
            ']' if class => class = false,
            '{' if !class => depth += 1,
            '}' if !class => depth = depth.saturating_sub(1),
            '/' if class || depth > 0 => return true,
            _ => {}
        }
    }
    false
}

/// The repository-relative, `/`-separated form of `path` (lossy for names that are not
/// UTF-8), for matching.
#[must_use]
pub fn relative(repo: &Path, path: &Path) -> String {
    path.strip_prefix(repo)
        .unwrap_or(path)
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        FileGlob::new(p).unwrap().is_match(s)
    }

    #[test]
    fn paths_keep_star_within_a_directory() {
        assert!(m("dist/*.zip", "dist/a.zip"));
        assert!(!m("dist/*.zip", "dist/sub/a.zip"));
        assert!(!m("*", "dist/a"));
        assert!(m("dist/**/*.zip", "dist/a.zip"));
        assert!(m("dist/**/*.zip", "dist/x/y/a.zip"));
        assert!(m("**/*.zip", "a.zip"));
        assert!(m("dist/{a,b}.zip", "dist/b.zip"));
        assert!(m("dist/[ab].zip", "dist/a.zip"));
        assert!(m("dist/[!a].zip", "dist/b.zip"));
        assert!(m("dist/[^a].zip", "dist/b.zip"));
        assert!(!m("dist/[!a].zip", "dist/a.zip"));
        assert!(m("dist/?.zip", "dist/a.zip"));
        assert!(!m("?", "/"));
        assert!(m("dist/*", "dist/.hidden"));
        assert!(!m("dist/*.ZIP", "dist/a.zip"));
        assert!(m("./dist//a.zip", "dist/a.zip"));
    }

    #[test]
    fn tags_take_slash_as_a_character() {
        let t = |p: &str, s: &str| tag_glob(p).unwrap().compile_matcher().is_match(s);
        assert!(t("*", "team/v1"));
        assert!(t("v{1,2}.*", "v2.0"));
        assert!(!t("v*", "release/1.0"));
        let p = |p: &str, s: &str| people_glob(p).unwrap().compile_matcher().is_match(s);
        assert!(p("*@BOTS.example.com", "ci@bots.example.com"));
    }

    #[test]
    fn base_and_descent() {
        let g = FileGlob::new("dist/linux/*.tar.gz").unwrap();
        assert_eq!(g.base(), "dist/linux");
        assert!(!g.may_descend(0, "sub"), "`*.tar.gz` is the last component");
        let g = FileGlob::new("dist/{a,b}/*.zip").unwrap();
        assert_eq!(g.base(), "dist");
        assert!(g.may_descend(0, "a"));
        assert!(!g.may_descend(0, "c"));
        assert!(!g.may_descend(1, "x"));
        let g = FileGlob::new("dist/*/**/*.zip").unwrap();
        assert!(g.may_descend(0, "x"));
        assert!(g.may_descend(5, "y"));
        let g = FileGlob::new("dist/a*/**").unwrap();
        assert!(g.may_descend(0, "ab"));
        assert!(!g.may_descend(0, "b"), "components before `**` still prune");
        assert!(g.may_descend(1, "anything"));
        let g = FileGlob::new("dist/{a,b/c}/*.zip").unwrap();
        assert!(
            g.may_descend(3, "anything"),
            "a `/` in an alternative: no pruning"
        );
        let g = FileGlob::new("dist/app.tar.gz").unwrap();
        assert!(g.is_literal());
        assert_eq!(g.base(), "dist/app.tar.gz");
    }

    #[test]
    fn bad_patterns_are_errors() {
        assert!(FileGlob::new("dist/[a").is_err());
        assert!(FileGlob::new("dist/{a").is_err());
        assert!(tag_glob("v[").is_err());
        assert!(path_glob("a/{b").is_err());
    }
}

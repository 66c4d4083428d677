//! Renders the release description and the manifest's template strings with minijinja.
//!
//! The built-in template is embedded; undefined variables are errors; every error names the
//! template (file or manifest key) and its line and exits 2.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use minijinja::{Environment, UndefinedBehavior, Value};
use serde::Serialize;

use crate::changelog::Changelog;
use crate::error::{InputError, input_with};

mod commits;
mod contributors;
pub mod filters;
pub mod limit;

pub use commits::{Commits, GroupContext};
pub use contributors::Contributors;

/// Instructions one rendering may run (minijinja fuel): far above what a changelog of
/// 100 000 commits needs, far below a runaway loop.
pub const FUEL: u64 = 50_000_000;
/// The largest rendered release notes, in bytes: room for the notes of a long history, which
/// are then cut to the forge's description limit (`desired::limits`) and attached in full.
pub const MAX_NOTES: usize = 16 * 1024 * 1024;
/// The largest rendered manifest string (name, URL, …), in bytes.
pub const MAX_STRING: usize = 64 * 1024;
/// The memory one rendering may hold beyond its context.
pub const MEMORY_BUDGET: usize = 256 * 1024 * 1024;
/// The largest template file read.
pub const MAX_TEMPLATE_BYTES: u64 = 1024 * 1024;

/// Name of the built-in template.
pub const BUILTIN_NAME: &str = "release.md.j2";
/// Source of the built-in template.
pub const BUILTIN: &str = include_str!("../../templates/release.md.j2");

/// Everything a template can read (PRODUCT.md "Template context").
#[derive(Debug, Clone, Default, Serialize)]
pub struct Context {
    /// The version: the tag without its pattern's prefix.
    pub version: String,
    /// The release tag (empty for an unreleased preview).
    pub tag: String,
    /// The previous release's tag.
    pub previous_tag: Option<String>,
    /// The release date, UTC, `YYYY-MM-DD`.
    pub date: String,
    /// The project.
    pub project: ProjectContext,
    /// The CI job.
    pub ci: CiTemplateContext,
    /// Commits of the release, newest first.
    pub commits: Commits,
    /// Non-empty groups in manifest order.
    pub groups: Vec<GroupContext>,
    /// Commits with breaking changes.
    pub breaking_changes: Commits,
    /// Authors and co-authors, one per person, without bots; `first_time` marks new ones
    /// (read from the history when first read).
    pub contributors: Contributors,
    /// The release's assets.
    pub assets: Vec<AssetContext>,
    /// Link comparing the previous release with this one, when the forge is known.
    pub compare_url: Option<String>,
    /// Variables listed under `template.env`.
    pub env: BTreeMap<String, String>,
}

/// `project`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProjectContext {
    /// Last path segment, or the repository directory's name.
    pub name: String,
    /// Full path (`group/app`), when known.
    pub path: Option<String>,
    /// Web URL, when known.
    pub url: Option<String>,
}

/// `ci`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CiTemplateContext {
    /// The CI tag.
    pub tag: Option<String>,
    /// The release commit.
    pub sha: String,
    /// Pipeline URL.
    pub pipeline_url: Option<String>,
    /// Job URL.
    pub job_url: Option<String>,
    /// Forge web root.
    pub server_url: Option<String>,
    /// `gitlab_ci`, `github_actions`, `gitea_actions` or `local`.
    pub provider: String,
}

/// One asset in `assets`.
#[derive(Debug, Clone, Serialize)]
pub struct AssetContext {
    /// Asset name.
    pub name: String,
    /// Where it is downloaded.
    pub url: String,
    /// Size in bytes, for files.
    pub size: Option<u64>,
    /// sha256, for files.
    pub sha256: Option<String>,
    /// Link type.
    #[serde(rename = "type")]
    pub link_type: String,
}

impl Context {
    /// Builds the context from the changelog (whose commits it reads where they are) and
    /// the surrounding facts.
    #[must_use]
    pub fn new(
        cl: &Arc<Changelog>,
        project: ProjectContext,
        ci: CiTemplateContext,
        env: BTreeMap<String, String>,
    ) -> Self {
        let shared = commits::Shared::new(cl);
        Self {
            version: cl.version.clone(),
            tag: cl.tag.clone().unwrap_or_default(),
            previous_tag: cl.previous_tag.clone(),
            date: cl.date.format("%Y-%m-%d").to_string(),
            project,
            ci,
            commits: shared.commits,
            groups: shared.groups,
            breaking_changes: shared.breaking_changes,
            contributors: Contributors::new(cl.contributors.clone(), Some(cl.first_time.clone())),
            assets: Vec::new(),
            compare_url: None,
            env,
        }
    }
}

impl Context {
    /// The context as templates see it: `contributors` read `first_time` from the history
    /// only when a template reads it.
    #[must_use]
    pub fn value(&self) -> Value {
        Value::from_serialize(self)
    }
}

/// Checks a template's syntax without rendering it.
///
/// # Errors
/// The parse error.
pub fn check_syntax(source: &str) -> Result<(), minijinja::Error> {
    let env = environment();
    env.template_from_str(source).map(|_| ())
}

/// The environment every template renders in: undefined variables are errors, and a
/// rendering runs at most [`FUEL`] instructions.
#[must_use]
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    env.set_trim_blocks(false);
    env.set_fuel(Some(FUEL));
    env.add_filter("regex_replace", filters::regex_replace);
    env.add_filter("link", filters::link);
    env
}

/// Why a bounded rendering failed.
#[derive(Debug)]
pub enum Failure {
    /// The template's own error (syntax, undefined variable, out of fuel).
    Template(minijinja::Error),
    /// The output passed `limit` bytes.
    TooLarge {
        /// The limit.
        limit: usize,
    },
}

impl Failure {
    /// A one-line description.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::Template(e) if e.kind() == minijinja::ErrorKind::OutOfFuel => {
                format!("the template ran more than {FUEL} steps (a runaway or nested loop?)")
            }
            Self::Template(e) => describe(e),
            Self::TooLarge { limit } => format!(
                "the template renders more than {}",
                crate::output::human_size(*limit as u64)
            ),
        }
    }
}

/// Renders `source` (named `name` in errors) with `ctx`, within the limits: [`FUEL`]
/// instructions, `limit` bytes of output and [`MEMORY_BUDGET`] bytes of memory (past which
/// the process exits 2 naming `name`).
///
/// # Errors
/// The template's error, or its output passed `limit`.
pub fn render_bounded(
    env: &Environment<'_>,
    name: &str,
    source: Option<&str>,
    ctx: &Value,
    limit: usize,
) -> Result<String, Failure> {
    let tmpl = match source {
        Some(src) => env.template_from_named_str(name, src),
        None => env.get_template(name),
    }
    .map_err(Failure::Template)?;
    let mut out = limit::Capped::new(limit);
    let result = {
        let _budget = limit::Budget::start(
            MEMORY_BUDGET,
            format!(
                "error: {name}: the template used more than {} of memory while rendering (a value that grows in a loop?); nothing was sent to the forge\n  help: simplify the template: build the text in the output instead of in variables",
                crate::output::human_size(MEMORY_BUDGET as u64)
            ),
        );
        tmpl.render_captured_to(ctx, &mut out).map(|_| ())
    };
    if out.overflowed {
        return Err(Failure::TooLarge { limit });
    }
    result.map_err(Failure::Template)?;
    String::from_utf8(out.buf).map_err(|_| {
        Failure::Template(minijinja::Error::new(
            minijinja::ErrorKind::WriteFailure,
            "the output is not UTF-8",
        ))
    })
}

/// The notes renderer: the built-in or a user template.
pub struct Renderer {
    /// Manifest strings and a user's notes template: bounded by [`FUEL`].
    env: Environment<'static>,
    /// The built-in notes template, which loops only over the changelog and needs no fuel
    /// (counting it was a twentieth of rendering); the output and memory bounds still hold.
    builtin: Option<Environment<'static>>,
    notes_name: String,
}

impl Renderer {
    /// A renderer for the built-in template, or for the user template at `path`.
    ///
    /// # Errors
    /// The template cannot be read or does not parse.
    pub fn new(path: Option<&Path>) -> anyhow::Result<Self> {
        let mut env = environment();
        let mut builtin = None;
        let notes_name = match path {
            None => {
                let mut unfuelled = environment();
                unfuelled.set_fuel(None);
                unfuelled
                    .add_template(BUILTIN_NAME, BUILTIN)
                    .map_err(|e| template_error(&e))?;
                builtin = Some(unfuelled);
                BUILTIN_NAME.to_owned()
            }
            Some(p) => {
                if let Ok(meta) = std::fs::metadata(p)
                    && meta.len() > MAX_TEMPLATE_BYTES
                {
                    return Err(input_with(
                        format!(
                            "{}: the template is {} bytes; at most {MAX_TEMPLATE_BYTES} are read",
                            p.display(),
                            meta.len()
                        ),
                        "check `release.notes.template`",
                    ));
                }
                let source = std::fs::read_to_string(p).map_err(|e| {
                    input_with(
                        format!("cannot read template {}: {e}", p.display()),
                        "check `release.notes.template`",
                    )
                })?;
                let name = p.display().to_string();
                env.add_template_owned(name.clone(), normalise_newlines(&source))
                    .map_err(|e| template_error(&e))?;
                name
            }
        };
        Ok(Self {
            env,
            builtin,
            notes_name,
        })
    }

    /// The environment the notes template is in.
    fn notes_env(&self) -> &Environment<'static> {
        self.builtin.as_ref().unwrap_or(&self.env)
    }

    /// The name of the notes template (its file, or the built-in's name).
    #[must_use]
    pub fn notes_name(&self) -> &str {
        &self.notes_name
    }

    /// Whether the notes template names `first_time`: then reading who is new can start
    /// early ([`crate::changelog::collect_reading_first_time`]). A template that reads it under
    /// another spelling still gets it, when it reads it.
    #[must_use]
    pub fn reads_first_time(&self) -> bool {
        self.notes_env()
            .get_template(&self.notes_name)
            .is_ok_and(|t| t.source().contains("first_time"))
    }

    /// Renders the release notes.
    ///
    /// # Errors
    /// A template error (undefined variable, bad filter), naming the template and line.
    pub fn notes(&self, ctx: &Context) -> anyhow::Result<String> {
        let value = ctx.value();
        let out = render_bounded(self.notes_env(), &self.notes_name, None, &value, MAX_NOTES);
        // A history that could not be read is not the template's fault.
        if let Some(e) = ctx.contributors.failure() {
            return Err(e.context("finding first-time contributors"));
        }
        let out = out.map_err(|f| match f {
                Failure::Template(e) if e.kind() != minijinja::ErrorKind::OutOfFuel => {
                    template_error(&e)
                }
                other => input_with(
                    format!("{}: {}", self.notes_name, other.describe()),
                    format!(
                        "release notes are limited to {} and {FUEL} template steps: bound the loops in the template",
                        crate::output::human_size(MAX_NOTES as u64)
                    ),
                ),
            })?;
        Ok(tidy(&out))
    }

    /// Renders a template string from the manifest (`release.name`) located at `location`;
    /// `file` is set while naming files.
    ///
    /// # Errors
    /// A template error, as an [`InputError`] naming `key` and its location.
    pub fn string(
        &self,
        key: &str,
        location: &str,
        source: &str,
        ctx: &Context,
        file: Option<Value>,
    ) -> Result<String, InputError> {
        let base = ctx.value();
        let value = match file {
            Some(file) => minijinja::context! { file => file, ..base },
            None => base,
        };
        render_bounded(&self.env, key, Some(source), &value, MAX_STRING)
            .map(|s| s.trim().to_owned())
            .map_err(|f| {
                InputError::new(format!(
                    "{location}: `{key}`: template error: {}",
                    f.describe()
                ))
                .with_remedy(
                    "the template context is listed under \"Template context\" in the README",
                )
            })
    }
}

fn describe(e: &minijinja::Error) -> String {
    let mut msg = e.kind().to_string();
    if let Some(detail) = e.detail() {
        msg.push_str(": ");
        msg.push_str(detail);
    }
    msg
}

fn template_error(e: &minijinja::Error) -> anyhow::Error {
    let name = e.name().unwrap_or("template");
    let at = match e.line() {
        Some(line) => format!("{name}:{line}"),
        None => name.to_owned(),
    };
    input_with(
        format!("{at}: template error: {}", describe(e)),
        "the template context is listed under \"Template context\" in the README; undefined variables are errors",
    )
}

fn normalise_newlines(s: &str) -> String {
    s.replace("\r\n", "\n")
}

/// Collapses runs of blank lines and trims, so templates can be written loosely.
fn tidy(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = 0;
    for line in s.trim().lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The built-in notes render without counting fuel; a user's template and every
    /// manifest string stay bounded by it.
    #[test]
    fn only_the_builtin_notes_run_without_fuel() {
        let builtin = Renderer::new(None).unwrap();
        assert_eq!(builtin.notes_env().fuel(), None);
        assert_eq!(builtin.env.fuel(), Some(FUEL));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.md.j2");
        std::fs::write(&path, "{% for c in commits %}{{ c.subject }}{% endfor %}").unwrap();
        let user = Renderer::new(Some(&path)).unwrap();
        assert_eq!(user.notes_env().fuel(), Some(FUEL));
        assert_eq!(user.env.fuel(), Some(FUEL));
    }
}

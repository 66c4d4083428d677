//! The desired release: what the manifest, the CI context and git history say the release
//! should be, with every template rendered and every local file hashed. Built without the
//! forge; `plan` compares it with what the forge holds.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use serde::Serialize;

use crate::assets;
use crate::changelog::{self, Changelog, Target};
use crate::error::InputError;
use crate::forge::layout::Layout;
pub use crate::forge::spec::{DesiredFile, DesiredLink, FileSource, Package, ReleaseSpec};
use crate::manifest::raw::{LinkType, NotesMode, Prune};
use crate::render::{AssetContext, CiTemplateContext, Context, ProjectContext, Renderer};
use crate::settings::Settings;

pub mod limits;

/// The release as it should be on the forge.
#[derive(Debug, Clone, Serialize)]
pub struct Desired {
    /// The tag; empty for an unreleased preview.
    pub tag: String,
    /// No tag: a preview of the unreleased changes (`apply` refuses it).
    pub unreleased: bool,
    /// The version.
    pub version: String,
    /// The title.
    pub name: String,
    /// The previous release.
    pub previous_tag: Option<String>,
    /// The release commit.
    pub commit: String,
    /// The ref the forge creates the tag at when it is missing.
    pub git_ref: String,
    /// The message of a created tag.
    pub tag_message: Option<String>,
    /// The rendered notes (the managed part of the description).
    pub notes: String,
    /// Who owns the description.
    pub notes_mode: NotesMode,
    /// GitLab milestones.
    pub milestones: Vec<String>,
    /// GitLab release date.
    pub released_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Tencent Git labels.
    pub labels: Vec<String>,
    /// GitHub/Gitea draft.
    pub draft: bool,
    /// GitHub/Gitea prerelease.
    pub prerelease: bool,
    /// URL links.
    pub links: Vec<DesiredLink>,
    /// Files to upload.
    pub files: Vec<DesiredFile>,
    /// GitLab generic package.
    pub package: Package,
    /// Pruning policy.
    pub prune: Prune,
    /// Matrix builds: the part of the release's assets this job owns; `None`: all of them.
    pub scope: Option<String>,
    /// Number of commits in the changelog.
    pub commit_count: usize,
    /// Set when a shallow clone cut the range and `on_shallow: warn`.
    pub shallow_warning: Option<String>,
    /// The forge's limits, and how the notes were cut to fit them.
    pub limits: limits::Limits,
    /// Everything the notes template could read (`notes --output json`).
    pub context: crate::render::Context,
}

impl Desired {
    /// What the forge reads of this release to observe it and to upload its files.
    #[must_use]
    pub fn spec(&self) -> ReleaseSpec<'_> {
        ReleaseSpec {
            tag: &self.tag,
            links: &self.links,
            files: &self.files,
            package: &self.package,
        }
    }
}

/// Builds the desired release. `asset_url` gives the download URL of an uploaded file by
/// name (forge-specific), when the forge is known.
///
/// # Errors
/// Bad input (exit 2) or an unreadable repository (exit 1).
#[allow(
    clippy::too_many_lines,
    reason = "the desired release, field by field, in the order templates may read each other"
)]
pub fn build(
    settings: &Settings,
    asset_url: &dyn Fn(&str, &Package, &str) -> Option<String>,
) -> anyhow::Result<Desired> {
    let m = &settings.manifest;
    let secrets = Secrets::of(settings);
    let pre_ctx = PreContext::new(settings, &secrets)?;
    let tag = match (&settings.tag, &m.release.tag) {
        (Some(t), _) => {
            let from = if settings.env.get(crate::env_vars::RELSYNC_TAG) == Some(t.as_str()) {
                "`RELSYNC_TAG`"
            } else if settings.ci.tag.as_deref() == Some(t.as_str()) {
                "the CI tag variable (`CI_COMMIT_TAG`, `GITHUB_REF_NAME`)"
            } else {
                "`--tag`"
            };
            check_tag(t).map_err(|e| {
                InputError::new(format!("the tag from {from}: {e}")).with_remedy(TAG_REMEDY)
            })?;
            Some(t.clone())
        }
        (None, Some(tmpl)) => {
            let t = pre_ctx
                .render("release.tag", &m.locate("release.tag"), tmpl)?
                .filter(|t| !t.is_empty());
            if let Some(t) = &t {
                check_tag(t).map_err(|e| m.error("release.tag", e, TAG_REMEDY))?;
            }
            t
        }
        (None, None) => None,
    };
    let target = Target {
        tag,
        commit: settings.commit.clone(),
    };
    let scope = resolve_scope(settings, &pre_ctx)?;
    if let Some(s) = &scope {
        tracing::info!(
            "matrix job: syncing the assets of scope `{s}`; other scopes' assets are kept"
        );
    }
    let renderer = Renderer::new(m.release.notes_template.as_deref())?;
    let mut cl = if renderer.reads_first_time() {
        changelog::collect_reading_first_time(&settings.repo, &m.changelog, &target)?
    } else {
        changelog::collect_deferred(&settings.repo, &m.changelog, &target)?
    };
    for w in &cl.warnings {
        if settings.strict {
            return Err(crate::error::input_with(
                w.message.clone(),
                w.remedy.clone(),
            ));
        }
        tracing::warn!("{} ({})", w.message, w.remedy);
    }
    let layout = layout(settings, &pre_ctx.project);
    changelog::link(&mut cl, layout.as_ref());
    let cl = std::sync::Arc::new(cl);
    let mut ctx = Context::new(
        &cl,
        pre_ctx.project.clone(),
        pre_ctx.ci_ctx(&cl),
        pre_ctx.env.clone(),
    );
    if let Some(layout) = &layout {
        ctx.compare_url = cl
            .previous_tag
            .as_deref()
            .zip(cl.tag.as_deref())
            .map(|(prev, tag)| layout.compare(prev, tag));
    }

    let package = Package {
        name: renderer.string(
            "assets.package.name",
            &m.locate("assets.package.name"),
            &m.assets.package.name,
            &ctx,
            None,
        )?,
        version: renderer.string(
            "assets.package.version",
            &m.locate("assets.package.version"),
            &m.assets.package.version,
            &ctx,
            None,
        )?,
    };
    let links = render_links(settings, &renderer, &ctx)?;
    let files = collect_files(settings, &renderer, &ctx, scope.as_deref())?;
    if !files.is_empty() {
        assets::check_package_name(&package.name).map_err(|e| {
            m.error(
                "assets.package.name",
                e,
                "set `assets.package.name` to a valid GitLab package name",
            )
        })?;
        assets::check_package_version(&package.version)
            .map_err(|e| m.error("assets.package.version", e, "set `assets.package.version`"))?;
    }
    check_unique(settings, &links, &files)?;

    ctx.assets = links
        .iter()
        .map(|l| AssetContext {
            name: l.name.clone(),
            url: l.url.clone(),
            size: None,
            sha256: None,
            link_type: l.link_type.as_str().into(),
        })
        .chain(files.iter().map(|f| {
            AssetContext {
                name: f.name.clone(),
                url: asset_url(cl.tag.as_deref().unwrap_or_default(), &package, &f.name)
                    .or_else(|| {
                        // Offline (`notes`, `plan --offline`): where GitHub and Gitea will
                        // serve the file.
                        let tag = cl.tag.as_deref()?;
                        layout.as_ref()?.file_download(tag, &f.name)
                    })
                    .unwrap_or_default(),
                size: Some(f.size),
                sha256: Some(f.sha256.clone()),
                link_type: f.link_type.as_str().into(),
            }
        }))
        .collect();
    let notes = renderer.notes(&ctx)?;
    let r = &m.release;
    let mut name = renderer.string(
        "release.name",
        &m.locate("release.name"),
        &r.name,
        &ctx,
        None,
    )?;
    if name.is_empty() && cl.tag.is_none() {
        name = "Unreleased changes".to_owned();
    }
    let git_ref = match &r.git_ref {
        Some(t) => renderer.string("release.ref", &m.locate("release.ref"), t, &ctx, None)?,
        None => cl.commit.clone(),
    };
    let tag_message = match &r.tag_message {
        Some(t) => Some(renderer.string(
            "release.tag_message",
            &m.locate("release.tag_message"),
            t,
            &ctx,
            None,
        )?),
        None => None,
    };
    let mut milestones = Vec::new();
    for (i, ms) in r.milestones.iter().enumerate() {
        let key = format!("release.milestones[{i}]");
        milestones.push(renderer.string(&key, &m.locate(&key), ms, &ctx, None)?);
    }
    let prerelease = r
        .prerelease
        .unwrap_or_else(|| is_semver_prerelease(&cl.version));
    let d = Desired {
        unreleased: cl.tag.is_none(),
        tag: cl.tag.clone().unwrap_or_default(),
        version: cl.version.clone(),
        name,
        previous_tag: cl.previous_tag.clone(),
        commit: cl.commit.clone(),
        git_ref,
        tag_message,
        notes,
        notes_mode: r.notes_mode,
        milestones,
        released_at: r.released_at,
        labels: r.labels.clone(),
        draft: r.draft,
        prerelease,
        links,
        files,
        package,
        prune: m.assets.prune,
        scope,
        commit_count: cl.commits.len(),
        shallow_warning: cl.shallow_warning.clone(),
        limits: limits::Limits::default(),
        context: ctx,
    };
    secrets.check_rendered(settings, &renderer, &d)?;
    let mut d = d;
    let tag = d.tag.clone();
    let package = d.package.clone();
    let file_url = |name: &str| asset_url(&tag, &package, name);
    let changes = changes_link(settings, &cl, &d.context);
    limits::fit(settings, &mut d, &file_url, changes)?;
    Ok(d)
}

const TAG_REMEDY: &str = "use a tag git accepts as `refs/tags/<tag>`: no spaces, `~`, `^`, `:`, `?`, `*`, `[`, `\\`, control characters, `..`, `@{`, leading `-` or `/`, trailing `.`, `/` or `.lock`";

/// Whether git accepts `tag` as a tag name (`refs/tags/<tag>`).
///
/// # Errors
/// Why it does not.
pub fn check_tag(tag: &str) -> Result<(), String> {
    if tag.is_empty() {
        return Err("the tag is empty".into());
    }
    if tag == "@" || tag == "HEAD" {
        return Err(format!(
            "`{tag}` is not a valid git tag name: it is reserved (git and the forges refuse it)"
        ));
    }
    if tag.starts_with('-') {
        return Err(format!(
            "`{}` is not a valid git tag name: it starts with `-`",
            tag.escape_debug()
        ));
    }
    if git2::Reference::is_valid_name(&format!("refs/tags/{tag}")) {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a valid git tag name",
            tag.escape_debug()
        ))
    }
}

/// The shortest value looked for in rendered text.
const MIN_SECRET_LEN: usize = 8;

/// The credential values of this run: the token in use and every credential variable that is
/// set. Rendered text must never contain one of them.
struct Secrets {
    values: Vec<(String, String)>,
}

impl Secrets {
    fn of(settings: &Settings) -> Self {
        use secrecy::ExposeSecret;
        let mut values: Vec<(String, String)> = Vec::new();
        if let Some(t) = &settings.token {
            values.push((t.var.clone(), t.secret.expose_secret().to_owned()));
        }
        let named = settings.manifest.forge.token_env.iter().map(String::as_str);
        for var in crate::manifest::CREDENTIAL_VARS
            .iter()
            .copied()
            .filter(|v| *v != "CI_REPOSITORY_URL")
            .chain(named)
        {
            if let Some(v) = settings.env.get(var) {
                values.push((var.to_owned(), v.to_owned()));
            }
        }
        // No forge issues tokens this short; shorter values cannot be told from ordinary text
        // (a token `t` would be "found" in every word with a t).
        values.retain(|(_, v)| v.trim().len() >= MIN_SECRET_LEN);
        Self { values }
    }

    /// The variable whose secret value `text` contains.
    fn found_in(&self, text: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(_, v)| text.contains(v.as_str()))
            .map(|(k, _)| k.as_str())
    }

    /// Refuses a release whose rendered text would publish a credential. The error names
    /// the field and the variable, never the value.
    fn check_rendered(
        &self,
        settings: &Settings,
        renderer: &Renderer,
        d: &Desired,
    ) -> Result<(), InputError> {
        let m = &settings.manifest;
        let mut fields: Vec<(String, String, &str)> = vec![
            (m.locate("release.name"), "`release.name`".into(), &d.name),
            (m.locate("release.ref"), "`release.ref`".into(), &d.git_ref),
            (
                m.locate("assets.package"),
                "`assets.package`".into(),
                &d.package.name,
            ),
            (
                m.locate("assets.package"),
                "`assets.package`".into(),
                &d.package.version,
            ),
        ];
        if let Some(t) = &d.tag_message {
            fields.push((
                m.locate("release.tag_message"),
                "`release.tag_message`".into(),
                t,
            ));
        }
        for (i, ms) in d.milestones.iter().enumerate() {
            let key = format!("release.milestones[{i}]");
            fields.push((m.locate(&key), format!("`{key}`"), ms));
        }
        for (l, spec) in d.links.iter().zip(&m.assets.links) {
            fields.push((m.locate(&spec.key), format!("`{}`", spec.key), &l.name));
            fields.push((m.locate(&spec.key), format!("`{}`", spec.key), &l.url));
            if let Some(p) = &l.direct_asset_path {
                fields.push((m.locate(&spec.key), format!("`{}`", spec.key), p));
            }
        }
        for f in &d.files {
            fields.push((m.locate("assets.files"), "`assets.files`".into(), &f.name));
            if let Some(p) = &f.direct_asset_path {
                fields.push((m.locate("assets.files"), "`assets.files`".into(), p));
            }
        }
        fields.push((m.locate("release.tag"), "the tag".into(), &d.tag));
        // Last: the notes show most of the above, which is better named by its own key.
        fields.push((
            renderer.notes_name().to_owned(),
            "the notes".into(),
            &d.notes,
        ));
        for (at, what, text) in fields {
            if let Some(var) = self.found_in(text) {
                return Err(InputError::new(format!(
                    "{at}: {what} would contain the value of `{var}`, a credential; nothing was sent"
                ))
                .with_remedy(
                    "remove the variable or value that carries the token from the template and from `template.env`",
                ));
            }
        }
        Ok(())
    }
}

/// What templates can read before the changelog is known.
struct PreContext {
    project: ProjectContext,
    ci: crate::ci::CiContext,
    env: BTreeMap<String, String>,
}

impl PreContext {
    fn new(settings: &Settings, secrets: &Secrets) -> Result<Self, InputError> {
        let path = settings
            .ci
            .project_path
            .clone()
            .or_else(|| settings.project.clone().filter(|p| p.contains('/')));
        let name = path
            .as_deref()
            .and_then(|p| p.rsplit('/').next())
            .map(str::to_owned)
            .or_else(|| {
                std::fs::canonicalize(&settings.repo)
                    .ok()
                    .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            })
            .unwrap_or_else(|| "project".into());
        let url = settings.ci.project_url.clone().or_else(|| {
            let server = settings.server.as_deref()?;
            let web = crate::forge::layout::web_root(server);
            path.as_deref().map(|p| format!("{web}/{p}"))
        });
        let m = &settings.manifest;
        let mut env = BTreeMap::new();
        for (i, k) in m.template_env.iter().enumerate() {
            let key = format!("template.env[{i}]");
            if let Some(why) = crate::manifest::credential_var(k, m.forge.token_env.as_deref()) {
                return Err(m.error(
                    &key,
                    format!("`{k}` {why}; templates may not read credentials"),
                    "remove it from `template.env`",
                ));
            }
            let Some(v) = settings.env.get(k) else {
                continue;
            };
            if let Some(var) = secrets.found_in(v) {
                return Err(m.error(
                    &key,
                    format!("the value of `{k}` contains the value of `{var}`, a credential"),
                    "remove it from `template.env`; templates may not read credentials",
                ));
            }
            env.insert(k.clone(), v.to_owned());
        }
        Ok(Self {
            project: ProjectContext { name, path, url },
            ci: settings.ci.clone(),
            env,
        })
    }

    fn ci_ctx(&self, cl: &Changelog) -> CiTemplateContext {
        CiTemplateContext {
            tag: self.ci.tag.clone(),
            sha: self.ci.sha.clone().unwrap_or_else(|| cl.commit.clone()),
            pipeline_url: self.ci.pipeline_url.clone(),
            job_url: self.ci.job_url.clone(),
            server_url: self.ci.server_url.clone(),
            provider: self.ci.provider.as_str().into(),
        }
    }

    /// Renders `release.tag`, which can read `ci`, `project` and `env` only.
    fn render(
        &self,
        key: &str,
        location: &str,
        source: &str,
    ) -> Result<Option<String>, InputError> {
        let env = crate::render::environment();
        let ci = minijinja::context! {
            tag => self.ci.tag, sha => self.ci.sha, pipeline_url => self.ci.pipeline_url,
            job_url => self.ci.job_url, server_url => self.ci.server_url, provider => self.ci.provider.as_str(),
        };
        let ctx = minijinja::context! { ci => ci, project => self.project, env => self.env };
        crate::render::render_bounded(&env, key, Some(source), &ctx, crate::render::MAX_STRING)
            .map(|s| Some(s.trim().to_owned()))
            .map_err(|f| {
                InputError::new(format!(
                    "{location}: `{key}`: template error: {}",
                    f.describe()
                ))
                .with_remedy(format!("`{key}` can read `ci`, `project` and `env` only"))
            })
    }
}

/// The job's scope (matrix builds): `RELSYNC_SCOPE`, else `assets.scope` rendered (empty:
/// none), else the matrix values of a GitLab `parallel:` job.
fn resolve_scope(settings: &Settings, pre: &PreContext) -> Result<Option<String>, InputError> {
    use crate::plan::scope;
    const REMEDY: &str =
        "name the scope with letters, digits, `-`, `_` and `.`, e.g. `linux-x86_64`";
    let m = &settings.manifest;
    if let Some(v) = settings.env.get(scope::SCOPE_VAR) {
        let v = v.trim();
        scope::check(v).map_err(|e| {
            InputError::new(format!("`{}`: {e}", scope::SCOPE_VAR)).with_remedy(REMEDY)
        })?;
        return Ok(Some(v.to_owned()));
    }
    if let Some(t) = &m.assets.scope {
        let v = pre
            .render("assets.scope", &m.locate("assets.scope"), t)?
            .filter(|v| !v.is_empty());
        if let Some(v) = &v {
            scope::check(v).map_err(|e| m.error("assets.scope", e, REMEDY))?;
        }
        return Ok(v);
    }
    Ok(scope::gitlab_default(&settings.env))
}

/// The project's web layout, when the forge and project are known.
fn layout(settings: &Settings, project: &ProjectContext) -> Option<Layout> {
    let url = project.url.as_deref()?;
    Some(Layout::at(settings.forge, url, project.path.as_deref()))
}

/// The link the end of cut notes gives to all changes: the compare view, or the tag's
/// history on a first release.
fn changes_link(settings: &Settings, cl: &Changelog, ctx: &Context) -> Option<(String, String)> {
    if let (Some(url), Some(prev), Some(tag)) = (&ctx.compare_url, &cl.previous_tag, &cl.tag) {
        return Some((format!("{prev}...{tag}"), url.clone()));
    }
    let (tag, url) = (cl.tag.as_deref()?, ctx.project.url.as_deref()?);
    let enc = crate::forge::layout::web_segment(tag);
    let sep = match settings.forge {
        Some(crate::manifest::raw::ForgeKind::Gitlab) | None => "/-/commits/",
        Some(_) => "/commits/",
    };
    Some((format!("the history of {tag}"), format!("{url}{sep}{enc}")))
}

fn render_links(
    settings: &Settings,
    r: &Renderer,
    ctx: &Context,
) -> anyhow::Result<Vec<DesiredLink>> {
    let m = &settings.manifest;
    let mut out = Vec::new();
    for spec in &m.assets.links {
        let at = |k: &str| format!("{}.{k}", spec.key);
        let name = r.string(&at("name"), &m.locate(&at("name")), &spec.name, ctx, None)?;
        let url = r.string(&at("url"), &m.locate(&at("url")), &spec.url, ctx, None)?;
        assets::check_link_url(&url)
            .map_err(|e| m.error(&at("url"), e, "use an http, https or ftp URL"))?;
        assets::check_link_name(&name).map_err(|e| {
            m.error(
                &at("name"),
                e,
                "give the link a name on one line, without control characters",
            )
        })?;
        let direct_asset_path = match &spec.direct_asset_path {
            Some(t) => {
                let p = r.string(
                    &at("direct_asset_path"),
                    &m.locate(&at("direct_asset_path")),
                    t,
                    ctx,
                    None,
                )?;
                assets::check_direct_asset_path(&p).map_err(|e| {
                    m.error(&at("direct_asset_path"), e, "GitLab takes a path like `/bin/app-linux-amd64`: leading `/`, letters, digits, `-._/`, at most 128 characters")
                })?;
                Some(p)
            }
            None => None,
        };
        out.push(DesiredLink {
            name,
            url,
            link_type: spec.link_type,
            direct_asset_path,
        });
    }
    Ok(out)
}

#[allow(
    clippy::too_many_lines,
    reason = "each glob's files with the checks a file must pass, in the order they are reported"
)]
fn collect_files(
    settings: &Settings,
    r: &Renderer,
    ctx: &Context,
    scope: Option<&str>,
) -> anyhow::Result<Vec<DesiredFile>> {
    let m = &settings.manifest;
    let mut matched: Vec<(usize, assets::Matched)> = Vec::new();
    for (i, spec) in m.assets.files.iter().enumerate() {
        let paths = assets::expand(&settings.repo, &spec.glob, m.assets.follow_symlinks)
            .map_err(|r| m.error(&format!("{}.path", spec.key), r.message, r.remedy))?;
        if paths.is_empty() && settings.offline {
            // `plan --offline`, `check` and `notes` preview a release before the build: name
            // what is not built yet.
            tracing::warn!(
                "`{}` ({}) matches no file yet: not built yet, left out of this preview; `check --strict` and `apply` require it",
                spec.path,
                spec.key
            );
            continue;
        }
        if paths.is_empty()
            && let Some(scope) = scope
        {
            // A matrix job builds part of the files: the others are other jobs'.
            tracing::info!(
                "`{}` ({}) matches no file in this job (scope `{scope}`): left out; another job may upload it",
                spec.path,
                spec.key
            );
            continue;
        }
        if paths.is_empty() {
            return Err(m
                .error(&format!("{}.path", spec.key), format!("`{}` matches no file in {}", spec.path, settings.repo.display()), "build the files before this step, or fix the glob (it is relative to the repository)")
                .into());
        }
        matched.extend(paths.into_iter().map(|p| (i, p)));
    }
    if let Some(scope) = scope
        && matched.is_empty()
        && !m.assets.files.is_empty()
        && !settings.offline
    {
        return Err(m
            .error(
                "assets.files",
                format!("no declared file is built in this job (scope `{scope}`)"),
                "build this job's files before this step, or fix the globs (they are relative to the repository)",
            )
            .into());
    }
    let paths: Vec<PathBuf> = matched.iter().map(|(_, p)| p.source.clone()).collect();
    let hashes = assets::hash_files(&paths)?;
    let mut files = Vec::new();
    for ((i, found), h) in matched.into_iter().zip(hashes) {
        let path = found.path;
        let spec = &m.assets.files[i];
        if let Some((limit, forge)) = settings.forge.and_then(crate::forge::layout::max_file_size)
            && h.size > limit
        {
            return Err(m
                .error(
                    &format!("{}.path", spec.key),
                    format!(
                        "{} is {}; {forge} takes files of at most {}",
                        path.display(),
                        crate::output::human_size(h.size),
                        crate::output::human_size(limit)
                    ),
                    "split the file, or publish it elsewhere and declare it under `assets.links`",
                )
                .into());
        }
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let rel = path
            .strip_prefix(&settings.repo)
            .unwrap_or(&path)
            .to_string_lossy()
            .into_owned();
        let file_value = minijinja::context! { name => file_name, path => rel.clone(), size => h.size, sha256 => h.sha256.clone() };
        let at = |k: &str| format!("{}.{k}", spec.key);
        let name = r.string(
            &at("name"),
            &m.locate(&at("name")),
            &spec.name,
            ctx,
            Some(file_value.clone()),
        )?;
        assets::check_asset_name(&name).map_err(|e| {
            m.error(
                &at("name"),
                format!("{e} (the name of {rel})"),
                "give the file a plain name: no `/`, `\\`, control characters, `.` or `..`, at most 255 bytes",
            )
        })?;
        let direct_asset_path = match &spec.direct_asset_path {
            Some(t) => {
                let p = r.string(
                    &at("direct_asset_path"),
                    &m.locate(&at("direct_asset_path")),
                    t,
                    ctx,
                    Some(file_value),
                )?;
                assets::check_direct_asset_path(&p).map_err(|e| {
                    m.error(
                        &at("direct_asset_path"),
                        e,
                        "GitLab takes a path like `/bin/app-linux-amd64`",
                    )
                })?;
                Some(p)
            }
            None => None,
        };
        files.push(DesiredFile {
            name,
            source: FileSource::Disk(found.source),
            path: rel,
            size: h.size,
            sha256: h.sha256,
            link_type: spec.link_type,
            direct_asset_path,
        });
    }
    if let Some(sums_name) = &m.assets.checksums
        && !files.is_empty()
    {
        {
            let content =
                assets::checksums_file(files.iter().map(|f| (f.name.as_str(), f.sha256.as_str())));
            let h = assets::hash_bytes(content.as_bytes());
            files.push(DesiredFile {
                // Each job of a matrix writes its own, over its own files.
                name: scope.map_or_else(
                    || sums_name.clone(),
                    |s| crate::plan::scope::checksums_name(sums_name, s),
                ),
                source: FileSource::Memory(content.into_bytes()),
                path: "generated".into(),
                size: h.size,
                sha256: h.sha256,
                link_type: LinkType::Other,
                direct_asset_path: None,
            });
        }
    }
    Ok(files)
}

/// Two assets with one name, one URL or one direct asset path would be refused by the forge
/// half-way through: refuse them now.
fn check_unique(
    settings: &Settings,
    links: &[DesiredLink],
    files: &[DesiredFile],
) -> Result<(), InputError> {
    let m = &settings.manifest;
    let mut names = HashSet::new();
    let mut urls = HashSet::new();
    let mut paths = HashSet::new();
    let keyed = links
        .iter()
        .zip(m.assets.links.iter().map(|s| s.key.clone()))
        .map(|(l, k)| {
            (
                l.name.as_str(),
                Some(l.url.as_str()),
                l.direct_asset_path.as_deref(),
                k,
            )
        })
        .chain(files.iter().map(|f| {
            (
                f.name.as_str(),
                None,
                f.direct_asset_path.as_deref(),
                "assets.files".to_owned(),
            )
        }));
    for (name, url, dap, key) in keyed {
        if !names.insert(name) {
            return Err(m.error(
                &key,
                format!("two assets are named `{name}`"),
                "give every link and file a distinct name (use `name:` with `{{ file.name }}`)",
            ));
        }
        if let Some(url) = url
            && !urls.insert(url)
        {
            return Err(m.error(
                &key,
                format!("two links have the URL `{url}`"),
                "GitLab keeps URLs unique per release: remove the duplicate",
            ));
        }
        if let Some(p) = dap
            && !paths.insert(p)
        {
            return Err(m.error(
                &key,
                format!("two assets have the direct_asset_path `{p}`"),
                "give each asset its own path",
            ));
        }
    }
    if settings.forge == Some(crate::manifest::raw::ForgeKind::Gitlab)
        && let Some((a, b, stored)) =
            crate::forge::gitlab::stored_name_clash(files.iter().map(|f| f.name.as_str()))
    {
        return Err(m.error(
            "assets.files",
            format!("`{a}` and `{b}` would both be stored as `{stored}`: GitLab's generic package registry takes only letters, digits, `.`, `_`, `-` and `+` in file names, and relsync stores every other character as `_`"),
            "rename one of the files (use `name:` with a template)",
        ));
    }
    Ok(())
}

/// Whether a version has a semver pre-release part (`1.2.0-rc.1`).
#[must_use]
pub fn is_semver_prerelease(version: &str) -> bool {
    let core = version.split('+').next().unwrap_or(version);
    match core.split_once('-') {
        Some((nums, pre)) => {
            !pre.is_empty()
                && nums
                    .split('.')
                    .all(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_follow_git_ref_rules() {
        for ok in ["v1.0.0", "release/2026-01", "v1.0.0-rc.1+build.5", "é1"] {
            assert!(check_tag(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "v1..0", "v1 0", "-v1", "v1.lock", "v1~1", "v1^", "v1:0", "v1?", "v1*", "v1[",
            "v1\\0", "v1/", "/v1", "v1.", "v1@{0}", "@", "HEAD", "v1\n0", "a//b", ".v1",
        ] {
            assert!(check_tag(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn prerelease_detection() {
        assert!(is_semver_prerelease("1.2.0-rc.1"));
        assert!(is_semver_prerelease("2.0.0-beta"));
        assert!(!is_semver_prerelease("1.2.0"));
        assert!(!is_semver_prerelease("1.2.0+build-5"));
        assert!(!is_semver_prerelease("unreleased"));
    }
}

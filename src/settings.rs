//! Flags + environment + manifest → one settings value. Precedence, written once per
//! setting: flag > environment > manifest > default.

use std::path::PathBuf;

use secrecy::SecretString;

use crate::ci::{CiContext, Provider};
use crate::cli::{GlobalArgs, OutputFormat};
use crate::env_vars::{self as ev, Env};
use crate::manifest::{self, Manifest, raw::ForgeKind};

/// How a token is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// GitLab / Tencent Git `PRIVATE-TOKEN`, GitHub `Bearer`, Gitea `token`.
    Private,
    /// GitLab `JOB-TOKEN` (`CI_JOB_TOKEN`).
    Job,
}

/// A token and where it came from. Its value never reaches output.
#[derive(Debug, Clone)]
pub struct Token {
    /// The variable it was read from, for error messages.
    pub var: String,
    /// How it is sent.
    pub kind: TokenKind,
    /// The secret.
    pub secret: SecretString,
}

/// Everything a command needs, resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The repository.
    pub repo: PathBuf,
    /// The validated manifest.
    pub manifest: Manifest,
    /// The CI context.
    pub ci: CiContext,
    /// The release tag, when one is given (flag, CI, manifest).
    pub tag: Option<String>,
    /// The release commit, when given (CI).
    pub commit: Option<String>,
    /// The forge kind, when known.
    pub forge: Option<ForgeKind>,
    /// The server, when known.
    pub server: Option<String>,
    /// The project, when known.
    pub project: Option<String>,
    /// The token, when one is set.
    pub token: Option<Token>,
    /// CA bundle: a file path or inline PEM.
    pub ca: Option<CaSource>,
    /// Output format.
    pub output: OutputFormat,
    /// `--dotenv`.
    pub dotenv: Option<PathBuf>,
    /// `--offline`.
    pub offline: bool,
    /// The environment snapshot (for `template.env` and GitHub outputs).
    pub env: Env,
}

/// Where extra CA certificates come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaSource {
    /// A PEM file.
    File(PathBuf),
    /// PEM text (GitLab's `ADDITIONAL_CA_CERT_BUNDLE` may hold it inline).
    Inline(String),
}

impl Settings {
    /// Resolves settings from the flags and the environment snapshot, loading the manifest.
    ///
    /// # Errors
    /// An invalid manifest (exit 2).
    pub fn resolve(args: &GlobalArgs, env: Env) -> anyhow::Result<Self> {
        let repo = args.repo.clone();
        let manifest = manifest::load(args.file.as_deref(), &repo)?;
        let ci = CiContext::detect(&env);
        let forge = args.forge.or(manifest.forge.kind).or(match ci.provider {
            Provider::GitlabCi => Some(ForgeKind::Gitlab),
            Provider::GithubActions => Some(ForgeKind::Github),
            Provider::GiteaActions => Some(ForgeKind::Gitea),
            Provider::Local => None,
        });
        let server = args
            .server
            .clone()
            .or_else(|| ci_server(&ci, forge))
            .or_else(|| manifest.forge.server.clone());
        let project = args
            .project
            .clone()
            .or_else(|| ci.project.clone())
            .or_else(|| manifest.forge.project.clone());
        let token =
            forge.and_then(|kind| token_for(kind, manifest.forge.token_env.as_deref(), &env));
        let ca = manifest
            .forge
            .ca_file
            .clone()
            .map(CaSource::File)
            .or_else(|| {
                env.get(ev::RELSYNC_CA_FILE)
                    .map(|p| CaSource::File(p.into()))
            })
            .or_else(|| {
                env.get(ev::CI_SERVER_TLS_CA_FILE)
                    .map(|p| CaSource::File(p.into()))
            })
            .or_else(|| {
                env.get(ev::ADDITIONAL_CA_CERT_BUNDLE).map(|v| {
                    if v.contains("-----BEGIN") {
                        CaSource::Inline(v.to_owned())
                    } else {
                        CaSource::File(v.into())
                    }
                })
            })
            .or_else(|| env.get(ev::SSL_CERT_FILE).map(|p| CaSource::File(p.into())));
        Ok(Self {
            tag: args.tag.clone().or_else(|| ci.tag.clone()),
            commit: ci.sha.clone(),
            repo,
            manifest,
            forge,
            server,
            project,
            token,
            ca,
            output: args.output,
            dotenv: args.dotenv.clone(),
            offline: args.offline,
            ci,
            env,
        })
    }
}

/// The server the CI context gives for `kind`.
fn ci_server(ci: &CiContext, kind: Option<ForgeKind>) -> Option<String> {
    match (kind, ci.provider) {
        (Some(ForgeKind::Github), Provider::GithubActions) => ci.api_url.clone(),
        (Some(ForgeKind::Gitlab), Provider::GitlabCi) => {
            ci.api_url.clone().or_else(|| ci.server_url.clone())
        }
        (Some(ForgeKind::Gitea), Provider::GiteaActions) => ci.server_url.clone(),
        // RELSYNC_SERVER applies to any forge.
        _ if ci.provider == Provider::Local => ci.server_url.clone(),
        _ => None,
    }
}

/// The token for `kind`: `RELSYNC_TOKEN`, then `forge.token_env`, then the forge's own variables.
fn token_for(kind: ForgeKind, token_env: Option<&str>, env: &Env) -> Option<Token> {
    let private = |var: &str| {
        env.get(var).map(|v| Token {
            var: var.to_owned(),
            kind: TokenKind::Private,
            secret: SecretString::from(v.to_owned()),
        })
    };
    if let Some(t) = private(ev::RELSYNC_TOKEN) {
        return Some(t);
    }
    if let Some(t) = token_env.and_then(private) {
        return Some(t);
    }
    match kind {
        ForgeKind::Gitlab => private(ev::GITLAB_TOKEN).or_else(|| {
            env.get(ev::CI_JOB_TOKEN).map(|v| Token {
                var: ev::CI_JOB_TOKEN.to_owned(),
                kind: TokenKind::Job,
                secret: SecretString::from(v.to_owned()),
            })
        }),
        ForgeKind::Tgit => private(ev::TGIT_TOKEN),
        ForgeKind::Github => private(ev::GITHUB_TOKEN),
        ForgeKind::Gitea => private(ev::GITEA_TOKEN).or_else(|| private(ev::GITHUB_TOKEN)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn gitlab_token_order() {
        let t = token_for(
            ForgeKind::Gitlab,
            None,
            &env(&[("CI_JOB_TOKEN", "j"), ("GITLAB_TOKEN", "g")]),
        )
        .unwrap();
        assert_eq!(
            (t.var.as_str(), t.kind),
            ("GITLAB_TOKEN", TokenKind::Private)
        );
        let t = token_for(ForgeKind::Gitlab, None, &env(&[("CI_JOB_TOKEN", "j")])).unwrap();
        assert_eq!((t.var.as_str(), t.kind), ("CI_JOB_TOKEN", TokenKind::Job));
        let t = token_for(
            ForgeKind::Gitlab,
            Some("MY_TOK"),
            &env(&[("MY_TOK", "m"), ("GITLAB_TOKEN", "g")]),
        )
        .unwrap();
        assert_eq!(t.var, "MY_TOK");
        let t = token_for(
            ForgeKind::Tgit,
            None,
            &env(&[("RELSYNC_TOKEN", "r"), ("TGIT_TOKEN", "t")]),
        )
        .unwrap();
        assert_eq!(t.var, "RELSYNC_TOKEN");
        assert!(token_for(ForgeKind::Github, None, &env(&[("GITLAB_TOKEN", "g")])).is_none());
    }

    #[test]
    fn flag_beats_env_beats_manifest() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("release.yml"),
            "forge:\n  kind: tgit\n  project: from/manifest\n",
        )
        .unwrap();
        let mut args = GlobalArgs {
            repo: dir.path().to_path_buf(),
            ..GlobalArgs::default()
        };
        let e = env(&[("GITLAB_CI", "true"), ("CI_PROJECT_ID", "7")]);
        let s = Settings::resolve(&args, e.clone()).unwrap();
        assert_eq!(s.forge, Some(ForgeKind::Tgit));
        assert_eq!(s.project.as_deref(), Some("7"));
        args.project = Some("flag/p".into());
        args.forge = Some(ForgeKind::Gitlab);
        let s = Settings::resolve(&args, e).unwrap();
        assert_eq!(s.project.as_deref(), Some("flag/p"));
        assert_eq!(s.forge, Some(ForgeKind::Gitlab));
    }
}

//! Flags + environment + manifest → one settings value. Precedence, written once per
//! setting: flag > environment > manifest > default.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

use crate::ci::{CiContext, Provider};
use crate::cli::{GlobalArgs, OutputFormat};
use crate::env_vars::{self as ev, Env};
use crate::error::InputError;
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
    /// `-q`: only errors and the final line.
    pub quiet: bool,
    /// `--strict`: a configuration that selects nothing is an error (exit 2).
    pub strict: bool,
    /// Writes of one phase in flight at once (`--concurrency`, `forge.concurrency`).
    pub concurrency: usize,
    /// How long one request to the forge may take, retries included
    /// (`RELSYNC_RETRY_BUDGET`).
    pub retry_budget: Duration,
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
        let mut manifest = manifest::load(args.file.as_deref(), &repo)?;
        manifest.add_asset_globs(&args.assets)?;
        let concurrency = args
            .concurrency
            .or(manifest.forge.concurrency)
            .map_or(crate::apply::DEFAULT_CONCURRENCY, usize::from);
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
        if let Some(s) = &server {
            check_server(s, args.server.is_some(), &env)?;
        }
        let retry_budget = retry_budget(&env)?;
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
            quiet: args.quiet,
            strict: args.strict,
            concurrency,
            ci,
            retry_budget,
            env,
        })
    }
}

/// A server must be an http(s) URL with a host: `gitlab.example.com` alone would be read as
/// a URL of the scheme `gitlab.example.com`. The error names where the value came from.
fn check_server(server: &str, from_flag: bool, env: &Env) -> Result<(), InputError> {
    let ok = reqwest::Url::parse(server)
        .ok()
        .is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
    if ok {
        return Ok(());
    }
    let source = if from_flag {
        "`--server`".to_owned()
    } else {
        [
            ev::RELSYNC_SERVER,
            ev::CI_API_V4_URL,
            ev::CI_SERVER_URL,
            ev::GITHUB_API_URL,
            ev::GITHUB_SERVER_URL,
        ]
        .iter()
        .find(|v| env.get(v) == Some(server))
        .map_or_else(|| "`forge.server`".to_owned(), |v| format!("`{v}`"))
    };
    let bare = server.trim_start_matches('/');
    Err(InputError::new(format!(
        "the server `{server}` (from {source}) is not an http(s) URL with a host"
    ))
    .with_remedy(format!(
        "give it with its scheme, e.g. `https://{bare}` (or `http://` for a server without TLS)"
    )))
}

/// `RELSYNC_RETRY_BUDGET`: whole seconds, 1 to 3600; 120 when unset.
fn retry_budget(env: &Env) -> Result<Duration, InputError> {
    let Some(v) = env.get(ev::RELSYNC_RETRY_BUDGET) else {
        return Ok(crate::forge::http::DEFAULT_BUDGET);
    };
    match v.trim().parse::<u64>() {
        Ok(secs @ 1..=3600) => Ok(Duration::from_secs(secs)),
        _ => Err(InputError::new(format!(
            "`RELSYNC_RETRY_BUDGET` is `{v}`, not a number of seconds from 1 to 3600"
        ))
        .with_remedy(
            "set it to whole seconds, e.g. `RELSYNC_RETRY_BUDGET=300`, or unset it for 120",
        )),
    }
}

/// Where to set the token for `kind` (any forge when `None`), for errors and warnings.
#[must_use]
pub fn token_hint(kind: Option<ForgeKind>) -> String {
    let Some(kind) = kind else {
        return "set `RELSYNC_TOKEN` (or the variable `forge.token_env` names)".to_owned();
    };
    let vars = crate::forge::layout::token_variables(kind);
    let others: Vec<String> = vars[1..]
        .iter()
        .filter(|&&v| v != ev::CI_JOB_TOKEN)
        .map(|v| format!("`{v}`"))
        .collect();
    let own = if others.is_empty() {
        format!("`{}`", vars[0])
    } else {
        format!("`{}` (or {})", vars[0], others.join(", "))
    };
    let ci = match kind {
        ForgeKind::Gitlab => "; in GitLab CI, `CI_JOB_TOKEN` is used when nothing else is set",
        ForgeKind::Github => {
            "; in GitHub Actions, pass it to the step with `env: GITHUB_TOKEN: ${{ github.token }}`"
        }
        ForgeKind::Gitea | ForgeKind::Tgit => "",
    };
    format!("set {own} (or `RELSYNC_TOKEN`, or the variable `forge.token_env` names){ci}")
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
    crate::forge::layout::token_variables(kind)
        .iter()
        .find_map(|&var| {
            let mut token = private(var)?;
            if var == ev::CI_JOB_TOKEN {
                token.kind = TokenKind::Job;
            }
            Some(token)
        })
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
    fn servers_need_a_scheme_and_name_their_source() {
        let e = env(&[("RELSYNC_SERVER", "gitlab.example.com")]);
        assert!(check_server("https://gitlab.example.com", true, &e).is_ok());
        assert!(check_server("http://127.0.0.1:8080/api/v4", true, &e).is_ok());
        let err = check_server("gitlab.example.com", true, &e).unwrap_err();
        assert!(err.message.contains("`--server`"), "{err}");
        assert!(
            err.remedy.unwrap().contains("https://gitlab.example.com"),
            "names the fix"
        );
        let err = check_server("gitlab.example.com", false, &e).unwrap_err();
        assert!(err.message.contains("`RELSYNC_SERVER`"), "{err}");
        assert!(check_server("localhost:8080", false, &env(&[])).is_err());
        assert!(check_server("ftp://h", false, &env(&[])).is_err());
    }

    #[test]
    fn retry_budget_from_the_environment() {
        assert_eq!(
            retry_budget(&env(&[])).unwrap(),
            crate::forge::http::DEFAULT_BUDGET
        );
        assert_eq!(
            retry_budget(&env(&[("RELSYNC_RETRY_BUDGET", "5")])).unwrap(),
            Duration::from_secs(5)
        );
        for bad in ["0", "-1", "2m", "9999"] {
            let e = retry_budget(&env(&[("RELSYNC_RETRY_BUDGET", bad)])).unwrap_err();
            assert!(e.message.contains("RELSYNC_RETRY_BUDGET"), "{e}");
        }
    }

    #[test]
    fn token_hints_name_each_forge_variable() {
        assert!(token_hint(Some(ForgeKind::Gitlab)).contains("`CI_JOB_TOKEN`"));
        assert!(token_hint(Some(ForgeKind::Github)).contains("`GITHUB_TOKEN`"));
        assert!(token_hint(Some(ForgeKind::Gitea)).contains("`GITEA_TOKEN`"));
        assert!(token_hint(Some(ForgeKind::Tgit)).contains("`TGIT_TOKEN`"));
        assert!(!token_hint(Some(ForgeKind::Github)).contains("GITLAB"));
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

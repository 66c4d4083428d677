//! Detects the CI system from an environment snapshot and reads the job's context out of it.

use serde::Serialize;

use crate::env_vars::{self as ev, Env};

/// The CI system relsync runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    /// GitLab CI (also `JiHu` GitLab).
    GitlabCi,
    /// GitHub Actions.
    GithubActions,
    /// Gitea or Forgejo Actions.
    GiteaActions,
    /// No CI: a local run.
    Local,
}

impl Provider {
    /// The provider's name as templates and output show it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GitlabCi => "gitlab_ci",
            Self::GithubActions => "github_actions",
            Self::GiteaActions => "gitea_actions",
            Self::Local => "local",
        }
    }
}

/// What the CI job tells about the release to make. Everything is optional: a local run
/// knows none of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CiContext {
    /// The detected CI system.
    pub provider: Provider,
    /// The release tag of a tag pipeline.
    pub tag: Option<String>,
    /// The commit the job runs for.
    pub sha: Option<String>,
    /// The forge's web root (`https://gitlab.example.com`).
    pub server_url: Option<String>,
    /// The forge's API root when the CI gives it (`CI_API_V4_URL`, `GITHUB_API_URL`).
    pub api_url: Option<String>,
    /// The project: numeric id or full path.
    pub project: Option<String>,
    /// The project's full path, when known apart from the id.
    pub project_path: Option<String>,
    /// The project's web URL.
    pub project_url: Option<String>,
    /// The pipeline's (workflow run's) web URL.
    pub pipeline_url: Option<String>,
    /// The job's web URL.
    pub job_url: Option<String>,
}

impl CiContext {
    /// Reads the CI context from `env`. `RELSYNC_*` variables override what the CI says.
    #[must_use]
    #[allow(
        clippy::too_many_lines,
        reason = "one table of CI systems and the variables each sets"
    )]
    pub fn detect(env: &Env) -> Self {
        let owned = |name: &str| env.get(name).map(str::to_owned);
        let mut ctx = if Self::is_gitlab_ci(env) {
            Self {
                provider: Provider::GitlabCi,
                tag: owned(ev::CI_COMMIT_TAG),
                sha: owned(ev::CI_COMMIT_SHA),
                server_url: owned(ev::CI_SERVER_URL),
                api_url: owned(ev::CI_API_V4_URL),
                project: owned(ev::CI_PROJECT_ID).or_else(|| owned(ev::CI_PROJECT_PATH)),
                project_path: owned(ev::CI_PROJECT_PATH),
                project_url: owned(ev::CI_PROJECT_URL),
                pipeline_url: owned(ev::CI_PIPELINE_URL),
                job_url: owned(ev::CI_JOB_URL),
            }
        } else if env.is_true(ev::GITHUB_ACTIONS)
            || env.is_true(ev::GITEA_ACTIONS)
            || env.is_true(ev::FORGEJO_ACTIONS)
        {
            let gitea = env.is_true(ev::GITEA_ACTIONS) || env.is_true(ev::FORGEJO_ACTIONS);
            let server = owned(ev::GITHUB_SERVER_URL).map(|s| s.trim_end_matches('/').to_owned());
            let repo = owned(ev::GITHUB_REPOSITORY);
            let project_url = server
                .as_ref()
                .zip(repo.as_ref())
                .map(|(s, r)| format!("{s}/{r}"));
            let pipeline_url = project_url
                .as_ref()
                .zip(env.get(ev::GITHUB_RUN_ID))
                .map(|(p, id)| format!("{p}/actions/runs/{id}"));
            Self {
                provider: if gitea {
                    Provider::GiteaActions
                } else {
                    Provider::GithubActions
                },
                tag: (env.get(ev::GITHUB_REF_TYPE) == Some("tag"))
                    .then(|| owned(ev::GITHUB_REF_NAME))
                    .flatten(),
                sha: owned(ev::GITHUB_SHA),
                server_url: server,
                api_url: if gitea {
                    None
                } else {
                    owned(ev::GITHUB_API_URL)
                },
                project: repo.clone(),
                project_path: repo,
                project_url,
                job_url: pipeline_url.clone(),
                pipeline_url,
            }
        } else {
            Self {
                provider: Provider::Local,
                tag: None,
                sha: None,
                server_url: None,
                api_url: None,
                project: None,
                project_path: None,
                project_url: None,
                pipeline_url: None,
                job_url: None,
            }
        };
        if let Some(tag) = owned(ev::RELSYNC_TAG) {
            ctx.tag = Some(tag);
        }
        if let Some(sha) = owned(ev::RELSYNC_REF) {
            ctx.sha = Some(sha);
        }
        if let Some(server) = owned(ev::RELSYNC_SERVER) {
            ctx.server_url = Some(server);
            ctx.api_url = None;
        }
        if let Some(project) = owned(ev::RELSYNC_PROJECT) {
            ctx.project_path =
                (!project.chars().all(|c| c.is_ascii_digit())).then(|| project.clone());
            ctx.project = Some(project);
        }
        ctx
    }

    /// GitLab CI sets `GITLAB_CI=true`; runners that emulate it locally (gitlab-ci-local sets
    /// `GITLAB_CI=false`) and other CI systems that run GitLab jobs still set the server's
    /// `CI_API_V4_URL` or `CI_SERVER_URL`. GitHub, Gitea and Forgejo Actions win when they say
    /// so, since a job there may carry variables with GitLab's names.
    fn is_gitlab_ci(env: &Env) -> bool {
        if env.is_true(ev::GITLAB_CI) {
            return true;
        }
        let actions = env.is_true(ev::GITHUB_ACTIONS)
            || env.is_true(ev::GITEA_ACTIONS)
            || env.is_true(ev::FORGEJO_ACTIONS);
        !actions && (env.get(ev::CI_API_V4_URL).is_some() || env.get(ev::CI_SERVER_URL).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn detect(pairs: &[(&str, &str)]) -> CiContext {
        CiContext::detect(&Env::from_pairs(pairs.iter().copied()))
    }

    #[test]
    fn local_when_no_ci_variables() {
        let ctx = detect(&[("HOME", "/root")]);
        assert_eq!(ctx.provider, Provider::Local);
        assert_eq!(ctx.tag, None);
    }

    #[test]
    fn gitlab_tag_pipeline() {
        let ctx = detect(&[
            ("GITLAB_CI", "true"),
            ("CI_COMMIT_TAG", "v1.2.0"),
            ("CI_COMMIT_SHA", "abc"),
            ("CI_SERVER_URL", "https://gitlab.example.com"),
            ("CI_API_V4_URL", "https://gitlab.example.com/api/v4"),
            ("CI_PROJECT_ID", "42"),
            ("CI_PROJECT_PATH", "group/app"),
            (
                "CI_PIPELINE_URL",
                "https://gitlab.example.com/group/app/-/pipelines/7",
            ),
        ]);
        assert_eq!(ctx.provider, Provider::GitlabCi);
        assert_eq!(ctx.tag.as_deref(), Some("v1.2.0"));
        assert_eq!(ctx.project.as_deref(), Some("42"));
        assert_eq!(ctx.project_path.as_deref(), Some("group/app"));
        assert_eq!(
            ctx.api_url.as_deref(),
            Some("https://gitlab.example.com/api/v4")
        );
    }

    #[test]
    fn gitlab_detected_from_api_url_when_gitlab_ci_is_false() {
        // gitlab-ci-local runs jobs with GITLAB_CI=false and the server's variables set.
        let ctx = detect(&[
            ("GITLAB_CI", "false"),
            ("CI_COMMIT_TAG", "v1.3.0"),
            ("CI_API_V4_URL", "http://127.0.0.1:8080/api/v4"),
            ("CI_PROJECT_ID", "7"),
        ]);
        assert_eq!(ctx.provider, Provider::GitlabCi);
        assert_eq!(ctx.tag.as_deref(), Some("v1.3.0"));
        assert_eq!(ctx.project.as_deref(), Some("7"));
        assert_eq!(ctx.api_url.as_deref(), Some("http://127.0.0.1:8080/api/v4"));
    }

    #[test]
    fn gitlab_detected_from_server_url_alone() {
        let ctx = detect(&[
            ("CI_SERVER_URL", "https://gitlab.example.com"),
            ("CI_COMMIT_TAG", "v2.0.0"),
            ("CI_PROJECT_PATH", "group/app"),
        ]);
        assert_eq!(ctx.provider, Provider::GitlabCi);
        assert_eq!(ctx.tag.as_deref(), Some("v2.0.0"));
        assert_eq!(ctx.project.as_deref(), Some("group/app"));
        assert_eq!(
            ctx.server_url.as_deref(),
            Some("https://gitlab.example.com")
        );
    }

    #[test]
    fn actions_win_over_stray_gitlab_server_variables() {
        let ctx = detect(&[
            ("GITHUB_ACTIONS", "true"),
            ("CI_SERVER_URL", "https://gitlab.example.com"),
            ("GITHUB_REPOSITORY", "o/r"),
        ]);
        assert_eq!(ctx.provider, Provider::GithubActions);
        assert_eq!(ctx.project.as_deref(), Some("o/r"));
    }

    #[test]
    fn empty_gitlab_server_variables_are_not_gitlab() {
        let ctx = detect(&[("CI_SERVER_URL", ""), ("CI_API_V4_URL", "")]);
        assert_eq!(ctx.provider, Provider::Local);
    }

    #[test]
    fn github_branch_push_has_no_tag() {
        let ctx = detect(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_REF_TYPE", "branch"),
            ("GITHUB_REF_NAME", "main"),
            ("GITHUB_REPOSITORY", "o/r"),
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_RUN_ID", "9"),
        ]);
        assert_eq!(ctx.provider, Provider::GithubActions);
        assert_eq!(ctx.tag, None);
        assert_eq!(
            ctx.pipeline_url.as_deref(),
            Some("https://github.com/o/r/actions/runs/9")
        );
    }

    #[test]
    fn gitea_actions_detected_before_github() {
        let ctx = detect(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITEA_ACTIONS", "true"),
            ("GITHUB_REF_TYPE", "tag"),
            ("GITHUB_REF_NAME", "v2.0.0"),
            ("GITHUB_SERVER_URL", "https://gitea.example.com/"),
        ]);
        assert_eq!(ctx.provider, Provider::GiteaActions);
        assert_eq!(ctx.tag.as_deref(), Some("v2.0.0"));
        assert_eq!(ctx.server_url.as_deref(), Some("https://gitea.example.com"));
        assert_eq!(ctx.api_url, None);
    }

    #[test]
    fn relsync_variables_override() {
        let ctx = detect(&[
            ("GITLAB_CI", "true"),
            ("CI_COMMIT_TAG", "v1"),
            ("RELSYNC_TAG", "v2"),
            ("RELSYNC_PROJECT", "a/b"),
        ]);
        assert_eq!(ctx.tag.as_deref(), Some("v2"));
        assert_eq!(ctx.project_path.as_deref(), Some("a/b"));
    }
}

//! Every environment variable relsync reads, in one place, and the snapshot type that
//! carries them. Nothing else in the crate reads the process environment: tests build an
//! [`Env`] from a map.

use std::collections::BTreeMap;

/// Declares the catalogue: one const per variable, with its doc line.
macro_rules! catalog {
    ($($(#[doc = $doc:literal])+ $name:ident;)+) => {
        $(
            $(#[doc = $doc])+
            pub const $name: &str = stringify!($name);
        )+
    };
}

catalog! {
    /// Set to `true` by GitLab CI.
    GITLAB_CI;
    /// GitLab: the tag of a tag pipeline.
    CI_COMMIT_TAG;
    /// GitLab: the commit the pipeline runs for.
    CI_COMMIT_SHA;
    /// GitLab: the instance's web root.
    CI_SERVER_URL;
    /// GitLab: the instance's API v4 root.
    CI_API_V4_URL;
    /// GitLab: the numeric project id.
    CI_PROJECT_ID;
    /// GitLab: the project's full path (`group/sub/app`).
    CI_PROJECT_PATH;
    /// GitLab: the project's name.
    CI_PROJECT_NAME;
    /// GitLab: the project's web URL.
    CI_PROJECT_URL;
    /// GitLab: the pipeline's web URL.
    CI_PIPELINE_URL;
    /// GitLab: the job's web URL.
    CI_JOB_URL;
    /// GitLab: the job token (sent as `JOB-TOKEN`).
    CI_JOB_TOKEN;
    /// GitLab: a CA bundle file for the instance.
    CI_SERVER_TLS_CA_FILE;
    /// GitLab runners: extra CA certificates, as a path or inline PEM.
    ADDITIONAL_CA_CERT_BUNDLE;
    /// A GitLab personal, project or group access token (sent as `PRIVATE-TOKEN`).
    GITLAB_TOKEN;
    /// Set to `true` by GitHub Actions (and by Gitea/Forgejo Actions).
    GITHUB_ACTIONS;
    /// Set to `true` by Gitea Actions.
    GITEA_ACTIONS;
    /// Set to `true` by Forgejo Actions.
    FORGEJO_ACTIONS;
    /// GitHub/Gitea Actions: `tag` or `branch`.
    GITHUB_REF_TYPE;
    /// GitHub/Gitea Actions: the short ref name (the tag on tag pushes).
    GITHUB_REF_NAME;
    /// GitHub/Gitea Actions: the commit.
    GITHUB_SHA;
    /// GitHub/Gitea Actions: `owner/repo`.
    GITHUB_REPOSITORY;
    /// GitHub Actions: the API root.
    GITHUB_API_URL;
    /// GitHub/Gitea Actions: the web root.
    GITHUB_SERVER_URL;
    /// GitHub/Gitea Actions: the workflow run id.
    GITHUB_RUN_ID;
    /// GitHub/Gitea Actions: the token.
    GITHUB_TOKEN;
    /// GitHub Actions: file the step's outputs are appended to.
    GITHUB_OUTPUT;
    /// GitHub Actions: file the step summary (markdown) is appended to.
    GITHUB_STEP_SUMMARY;
    /// Gitea/Forgejo: an access token.
    GITEA_TOKEN;
    /// Tencent Git (工蜂): an access token (sent as `PRIVATE-TOKEN`).
    TGIT_TOKEN;
    /// Any forge: the token, preferred over the forge-specific variables.
    RELSYNC_TOKEN;
    /// Any forge: the server (web root, or API root for GitHub).
    RELSYNC_SERVER;
    /// Any forge: the project id or full path.
    RELSYNC_PROJECT;
    /// Any CI: the release tag.
    RELSYNC_TAG;
    /// Any CI: the release commit.
    RELSYNC_REF;
    /// Matrix builds: the job's scope, the part of the release's assets it owns.
    RELSYNC_SCOPE;
    /// GitLab `parallel:`: how many jobs the job set has (1 without `parallel:`).
    CI_NODE_TOTAL;
    /// GitLab `parallel:`: the job's index in its set, from 1.
    CI_NODE_INDEX;
    /// GitLab: the job's name (`build: [linux, amd64]` for a `parallel:matrix` job).
    CI_JOB_NAME;
    /// Any CI: a CA bundle file.
    RELSYNC_CA_FILE;
    /// Seconds one request to the forge may take, retries included (default 120).
    RELSYNC_RETRY_BUDGET;
    /// A CA bundle file, as OpenSSL reads it.
    SSL_CERT_FILE;
    /// Log filter, as `tracing_subscriber::EnvFilter` reads it (`relsync=debug`).
    RELSYNC_LOG;
    /// Disables colour when set to anything.
    NO_COLOR;
    /// Forces colour when set to anything but `0`.
    FORCE_COLOR;
    /// Set by most CI systems.
    CI;
}

/// A snapshot of the environment, passed around as a value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

impl Env {
    /// Snapshot of the process environment (non-UTF-8 values are skipped).
    #[must_use]
    #[allow(clippy::disallowed_methods)]
    pub fn from_process() -> Self {
        Self {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    /// A snapshot from pairs, for tests.
    #[cfg(test)]
    pub(crate) fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The variable's value, `None` when unset or empty.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Whether the variable is set to `true` (case-insensitive) or `1`.
    #[must_use]
    pub(crate) fn is_true(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
    }
}

//! What to do when a forge refuses a request: one table keyed by forge, status class and
//! operation, naming that forge's token variables, roles and scopes.
//!
//! Sources for the roles and scopes:
//! - GitLab: <https://docs.gitlab.com/user/permissions/> (releases need Developer; deleting a
//!   package file needs Maintainer: `app/policies/project_policy.rb` enables
//!   `destroy_package` under `maintainer_access`), <https://docs.gitlab.com/ci/jobs/ci_job_token/>
//!   (what `CI_JOB_TOKEN` reaches), `lib/api/releases.rb` (`403 … tag as it is protected`),
//!   `app/services/packages/generic/create_package_file_service.rb` (duplicates).
//! - GitHub: <https://docs.github.com/rest/releases/releases> (`contents: write`; the
//!   `workflow` scope for commits touching `.github/workflows/`; the 125,000-character body),
//!   <https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api>.
//! - Gitea and Forgejo: <https://docs.gitea.com/development/oauth2-provider#scopes> (the
//!   `write:repository` scope), `routers/api/v1/repo/release.go` (409 and 422 on create),
//!   `routers/api/v1/repo/release_attachment.go` (404 when attachments are disabled, 413).
//! - Tencent Git (工蜂): its REST v3 error table (404 also means "no permission", 423 is a
//!   locked account or the rate limit) and `PRIVATE-TOKEN` from Profile → Account.

use std::time::Duration;

use reqwest::StatusCode;

use super::http::HttpError;
use crate::manifest::raw::ForgeKind;
use crate::settings::{Token, TokenKind};

/// Every forge, for the completeness test.
#[cfg(test)]
pub const FORGES: [ForgeKind; 4] = [
    ForgeKind::Gitlab,
    ForgeKind::Tgit,
    ForgeKind::Github,
    ForgeKind::Gitea,
];

/// What relsync was doing when a request failed. A name, where there is one, is the asset's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation<'a> {
    /// Read the release by its tag.
    ReadRelease,
    /// List the releases.
    ListReleases,
    /// List a release's assets (GitHub).
    ListAssets,
    /// List a release's links (GitLab).
    ListLinks,
    /// List the project's generic packages (GitLab).
    ListPackages,
    /// List a package's files (GitLab).
    ListPackageFiles,
    /// List the project's milestones (GitLab).
    ListMilestones,
    /// Read a tag (Gitea).
    ReadTag,
    /// Create an annotated tag (Gitea).
    CreateTag,
    /// Create the release.
    CreateRelease,
    /// Turn an existing tag into a release (Tencent Git).
    ConvertTag,
    /// Update the release's fields.
    UpdateRelease,
    /// Publish a draft release.
    PublishRelease,
    /// Delete a duplicate draft release (GitHub).
    DeleteRelease,
    /// Create a link.
    CreateLink(&'a str),
    /// Update a link.
    UpdateLink(&'a str),
    /// Delete a link.
    DeleteLink,
    /// Upload a file.
    UploadFile(&'a str),
    /// Delete a stored file.
    DeleteFile(&'a str),
}

impl Operation<'_> {
    /// Every operation (named `x` where it takes a name), for the completeness test.
    #[cfg(test)]
    pub const ALL: [Operation<'static>; 19] = [
        Operation::ReadRelease,
        Operation::ListReleases,
        Operation::ListAssets,
        Operation::ListLinks,
        Operation::ListPackages,
        Operation::ListPackageFiles,
        Operation::ListMilestones,
        Operation::ReadTag,
        Operation::CreateTag,
        Operation::CreateRelease,
        Operation::ConvertTag,
        Operation::UpdateRelease,
        Operation::PublishRelease,
        Operation::DeleteRelease,
        Operation::CreateLink("x"),
        Operation::UpdateLink("x"),
        Operation::DeleteLink,
        Operation::UploadFile("x"),
        Operation::DeleteFile("x"),
    ];

    /// The operation as it follows "cannot", in the words of `forge`.
    #[must_use]
    pub fn what(self, forge: ForgeKind) -> String {
        let file = match forge {
            ForgeKind::Gitlab => "package file",
            ForgeKind::Github => "asset",
            ForgeKind::Gitea | ForgeKind::Tgit => "attachment",
        };
        match self {
            Self::ReadRelease => "read the release".to_owned(),
            Self::ListReleases => "list the releases".to_owned(),
            Self::ListAssets => "list the release's assets".to_owned(),
            Self::ListLinks => "list the release's links".to_owned(),
            Self::ListPackages => "list the project's packages".to_owned(),
            Self::ListPackageFiles => "list the package's files".to_owned(),
            Self::ListMilestones => "list the project's milestones".to_owned(),
            Self::ReadTag => "read the tag".to_owned(),
            Self::CreateTag => "create the annotated tag".to_owned(),
            Self::CreateRelease => "create the release".to_owned(),
            Self::ConvertTag => "turn the tag into a release".to_owned(),
            Self::UpdateRelease => "update the release".to_owned(),
            Self::PublishRelease => "publish the release".to_owned(),
            Self::DeleteRelease => "delete a duplicate draft release".to_owned(),
            Self::CreateLink(name) => format!("create the link `{name}`"),
            Self::UpdateLink(name) => format!("update the link `{name}`"),
            Self::DeleteLink => "delete a link".to_owned(),
            Self::UploadFile(name) if forge == ForgeKind::Gitlab => {
                format!("upload `{name}` to the generic package registry")
            }
            Self::UploadFile(name) => format!("upload the {file} `{name}`"),
            Self::DeleteFile(name) => format!("delete the {file} `{name}`"),
        }
    }

    /// Whether the operation only reads.
    #[must_use]
    pub fn reads(self) -> bool {
        matches!(
            self,
            Self::ReadRelease
                | Self::ListReleases
                | Self::ListAssets
                | Self::ListLinks
                | Self::ListPackages
                | Self::ListPackageFiles
                | Self::ListMilestones
                | Self::ReadTag
        )
    }
}

/// The kind of refusal, from the status and, where a forge says more in its body, the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusClass {
    /// 401: the token is not valid.
    Unauthorized,
    /// 403: the token is valid but lacks a role or scope.
    Forbidden,
    /// 404 (a missing project, or one the token cannot see).
    NotFound,
    /// 409, or 422 (and GitLab's 400) about something that is already there.
    Conflict,
    /// 413: the body is larger than the server takes.
    TooLarge,
    /// 429, Tencent Git's 423, GitHub's 403 with a rate-limit message.
    RateLimited,
    /// 5xx, after the retries the budget allowed.
    ServerError,
    /// GitLab 400 `Milestone(s) not found`.
    MilestoneMissing,
    /// GitLab 403 `… not allowed to create this tag as it is protected`; Gitea 422 on a
    /// protected tag.
    ProtectedTag,
    /// GitLab 403 `Package protected` / `… deletion protected`.
    ProtectedPackage,
    /// GitLab 400 `Duplicate package is not allowed`.
    DuplicatePackage,
    /// GitHub 422 `body is too long (maximum is 125000 characters)`.
    NotesTooLong,
}

impl StatusClass {
    /// The class of an answer from `forge`; `None` for a status no hint is about.
    #[must_use]
    pub fn of(forge: ForgeKind, status: StatusCode, message: &str) -> Option<Self> {
        let lower = message.to_ascii_lowercase();
        Some(match (forge, status.as_u16()) {
            (ForgeKind::Gitlab, 400) if message.contains("Milestone(s) not found") => {
                Self::MilestoneMissing
            }
            (ForgeKind::Gitlab, 400) if lower.contains("duplicate package is not allowed") => {
                Self::DuplicatePackage
            }
            (ForgeKind::Gitlab, 403) if lower.contains("tag as it is protected") => {
                Self::ProtectedTag
            }
            (ForgeKind::Gitlab, 403)
                if lower.contains("package protected") || lower.contains("deletion protected") =>
            {
                Self::ProtectedPackage
            }
            (ForgeKind::Gitea, 422) if lower.contains("protected") => Self::ProtectedTag,
            (ForgeKind::Github, 422) if lower.contains("body is too long") => Self::NotesTooLong,
            (ForgeKind::Github, 403 | 429) if lower.contains("rate limit") => Self::RateLimited,
            (ForgeKind::Tgit, 423) | (_, 429) => Self::RateLimited,
            (_, 401) => Self::Unauthorized,
            (_, 403) => Self::Forbidden,
            (_, 404) => Self::NotFound,
            (_, 409 | 422) => Self::Conflict,
            (ForgeKind::Gitlab, 400)
                if lower.contains("already been taken") || lower.contains("already exists") =>
            {
                Self::Conflict
            }
            (_, 413) => Self::TooLarge,
            (_, s) if (500..600).contains(&s) => Self::ServerError,
            _ => return None,
        })
    }
}

/// What the hint may name about the run: the token's variable and kind, and the budget.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The variable the token was read from; `None` without a token.
    pub token_var: Option<&'a str>,
    /// The token is GitLab's `CI_JOB_TOKEN`.
    pub job_token: bool,
    /// How long a request may take, retries included (`RELSYNC_RETRY_BUDGET`).
    pub budget: Duration,
    /// The status, for the hints that repeat it.
    pub status: u16,
}

/// How to fix a refused `op` on `forge`: the table. `None` where the status says it all.
#[must_use]
#[allow(
    clippy::too_many_lines,
    reason = "one table, read forge by forge; splitting it would scatter the hints again"
)]
pub fn hint(
    forge: ForgeKind,
    class: StatusClass,
    op: Operation<'_>,
    cx: &Context<'_>,
) -> Option<String> {
    use ForgeKind::{Gitea, Github, Gitlab, Tgit};
    use StatusClass::{
        Conflict, DuplicatePackage, Forbidden, MilestoneMissing, NotFound, NotesTooLong,
        ProtectedPackage, ProtectedTag, RateLimited, ServerError, TooLarge, Unauthorized,
    };
    let var = cx.token_var.unwrap_or("(no token)");
    let own = crate::forge::layout::own_token_variable(forge);
    let what = op.what(forge);
    let reads = op.reads();
    // A read is retried within the budget; a write by reading the forge again, within it too.
    let spent = if reads {
        format!("the retry budget of {}s", cx.budget.as_secs())
    } else {
        "the retry budget".to_owned()
    };
    let status = cx.status;
    let job = if cx.job_token {
        "; `CI_JOB_TOKEN` reaches only the releases, release links and packages APIs: set `GITLAB_TOKEN` for more"
    } else {
        ""
    };
    Some(match (forge, class) {
        // ---- 401: the token itself.
        (Gitlab, Unauthorized) => format!(
            "the token in `{var}` was refused: it is missing, expired or revoked (a `CI_JOB_TOKEN` is valid only while its job runs); set `GITLAB_TOKEN` to a token with the `api` scope"
        ),
        (Github, Unauthorized) => format!(
            "the token in `{var}` was refused (bad credentials): it is expired or revoked (the Actions token is valid only while its job runs); pass `${{{{ github.token }}}}` as `GITHUB_TOKEN`, or a fine-grained token with `Contents: read and write` on the repository"
        ),
        (Gitea, Unauthorized) => format!(
            "the token in `{var}` was refused: set `GITEA_TOKEN` to a token with the `write:repository` scope"
        ),
        (Tgit, Unauthorized) => format!(
            "the token in `{var}` was refused: set `TGIT_TOKEN` to a valid private token (Profile → Account)"
        ),

        // ---- 403: a valid token without the role or scope.
        (Gitlab, Forbidden) => match op {
            _ if reads => format!(
                "the token in `{var}` may not {what}: reading releases and packages of a private project needs at least the Reporter role and a token with the `read_api` or `api` scope{job}"
            ),
            Operation::DeleteFile(_) => format!(
                "the token in `{var}` may not {what}: deleting package files needs the Maintainer role (a `CI_JOB_TOKEN` has the role of whoever started the pipeline); delete it under Deploy > Package registry, or set `GITLAB_TOKEN` to a Maintainer's token with the `api` scope"
            ),
            Operation::UploadFile(_) => format!(
                "the token in `{var}` may not {what}: publishing to the generic package registry needs at least the Developer role and a token with the `api` scope{job}"
            ),
            Operation::CreateTag => format!(
                "the token in `{var}` may not {what}: creating a tag needs at least the Developer role (a protected tag needs permission to create it), and `CI_JOB_TOKEN` cannot create tags: set `GITLAB_TOKEN` to a token with the `api` scope"
            ),
            Operation::CreateRelease | Operation::ConvertTag => format!(
                "the token in `{var}` may not {what}: releases need at least the Developer role and a token with the `api` scope; a protected tag also needs permission to create that tag{job}"
            ),
            _ => format!(
                "the token in `{var}` may not {what}: releases need at least the Developer role and a token with the `api` scope{job}"
            ),
        },
        (Github, Forbidden) => match op {
            _ if reads => format!(
                "the token in `{var}` may not {what}: it needs read access to the repository (`permissions: contents: read`); drafts are listed only to tokens with push access (`contents: write`)"
            ),
            Operation::CreateRelease | Operation::PublishRelease => format!(
                "the token in `{var}` may not {what}: the workflow needs `permissions: contents: write`; a release whose commit changes `.github/workflows/` also needs a token with the `workflow` scope"
            ),
            _ => format!(
                "the token in `{var}` may not {what}: the workflow needs `permissions: contents: write` (a fine-grained token: `Contents: read and write`)"
            ),
        },
        (Gitea, Forbidden) if reads => format!(
            "the token in `{var}` may not {what}: it needs read access to the repository and the `read:repository` scope"
        ),
        (Gitea, Forbidden) => format!(
            "the token in `{var}` may not {what}: it needs write access to the repository (a user with write access, a token with the `write:repository` scope)"
        ),
        (Tgit, Forbidden) if reads => format!(
            "the token in `{var}` may not {what}: a private project is readable from the Reporter role up"
        ),
        (Tgit, Forbidden) => format!(
            "the token in `{var}` may not {what}: releases need at least the Developer role (deleting needs admin)"
        ),

        // ---- 404: most forges hide what a token may not see.
        (Gitlab, NotFound) => format!(
            "GitLab answers 404 for a missing project and for one the token in `{var}` cannot see (a private project needs at least the Reporter role): check `--project` (in CI: `CI_PROJECT_ID`){}",
            if matches!(op, Operation::ListPackages | Operation::ListPackageFiles) && cx.job_token {
                "; before GitLab 16.0, `CI_JOB_TOKEN` cannot list packages: set `GITLAB_TOKEN`"
            } else {
                ""
            }
        ),
        (Github, NotFound) if reads => format!(
            "GitHub answers 404 for a missing repository and for a private one the token in `{var}` cannot see: check `--project` (`owner/name`; in Actions: `GITHUB_REPOSITORY`) and that the token has `contents: read`"
        ),
        (Github, NotFound) => format!(
            "the token in `{var}` may not {what}: the workflow needs `permissions: contents: write`; a release whose commit changes `.github/workflows/` also needs a token with the `workflow` scope"
        ),
        (Gitea, NotFound) => format!(
            "Gitea answers 404 for a missing repository and for a private one the token in `{var}` cannot see: check `--project` (`owner/name`){}",
            if matches!(op, Operation::UploadFile(_)) {
                "; uploads also answer 404 when the server disables attachments (`[attachment] ENABLED` in app.ini)"
            } else {
                ""
            }
        ),
        (Tgit, NotFound) => format!(
            "Tencent Git answers 404 for a missing project and for one the token in `{var}` cannot see: check `--project`"
        ),

        // ---- Conflicts: something is already there, or another job wrote meanwhile.
        (Gitlab, ProtectedTag) => format!(
            "the tag is protected: the user behind `{var}` needs permission to create it, even though it exists (Settings > Repository > Protected tags), or set `{own}` to a token of a user who has it"
        ),
        (Gitea, ProtectedTag) => format!(
            "the tag is protected: the user behind `{var}` needs permission to create it (repository Settings > Tags), or set `{own}` to a token of a user who has it"
        ),
        (Github, Conflict) => format!(
            "GitHub refused the request as invalid (HTTP {status}), see its message: another job may have changed the release meanwhile (run again: relsync reads the forge first), or a tag used by an immutable release cannot be reused"
        ),
        (_, Conflict) => format!(
            "the forge refused the request as conflicting (HTTP {status}): another job may have changed the release meanwhile; run again: relsync reads the forge first and converges"
        ),

        // ---- Sizes.
        (Gitlab, TooLarge) => format!(
            "GitLab, or a proxy in front of it, refused the size of the request: an instance administrator sets the largest generic package file (Admin > Settings > CI/CD > Package registry, 5 GiB by default) and the proxy's body limit; {}",
            if matches!(op, Operation::UploadFile(_)) { "make the file smaller" } else { "make the notes shorter" }
        ),
        (Github, TooLarge) => "GitHub refused the size of the request: release assets must be under 2 GiB each, and release notes under 125,000 characters".to_owned(),
        (Gitea, TooLarge) => "the server, or a proxy in front of it, refused the size of the request: uploads are limited by `[attachment] MAX_SIZE` in app.ini and by the proxy's body limit".to_owned(),
        (Tgit, TooLarge) => "Tencent Git refused the size of the request: attachments must not exceed 200 MB".to_owned(),
        (Github, NotesTooLong) => "GitHub keeps at most 125,000 characters of release notes: shorten the template, or the range of commits the notes cover".to_owned(),

        // ---- The server is busy or failing: retried within the budget, then this.
        (_, RateLimited) => format!(
            "the forge kept limiting the rate (HTTP {status}) until {spent} ran out: run again later, or raise `RELSYNC_RETRY_BUDGET` (seconds){}",
            match forge {
                Github => "; the Actions token gets 1,000 requests an hour per repository, a personal token 5,000",
                Tgit => "; Tencent Git also answers 423 for a locked account",
                Gitlab | Gitea => "",
            }
        ),
        (_, ServerError) => format!(
            "the forge kept failing (HTTP {status}) until {spent} ran out: it is down or overloaded; run again later (a run converges from what is there), or raise `RELSYNC_RETRY_BUDGET` (seconds)"
        ),

        // ---- GitLab's own bodies.
        (Gitlab, MilestoneMissing) => format!(
            "a milestone in `{}` does not exist in the project (relsync could not check before writing: the token in `{var}` may not read milestones): create it under Plan > Milestones, or remove it from `{}`",
            crate::plan::milestones::KEY,
            crate::plan::milestones::KEY
        ),
        (Gitlab, ProtectedPackage) => format!(
            "a package protection rule covers this package (Settings > Packages and registries > Protected packages): the user behind `{var}` needs the role the rule names"
        ),
        (Gitlab, DuplicatePackage) => "the group forbids duplicate generic packages (Group > Settings > Packages and registries > Duplicate packages): allow duplicates for generic packages, or give each release its own package version".to_owned(),

        // Bodies only one forge sends; never classified for the others.
        (Github | Gitea | Tgit, MilestoneMissing | ProtectedPackage | DuplicatePackage)
        | (Github | Tgit, ProtectedTag)
        | (Gitlab | Gitea | Tgit, NotesTooLong) => return None,
    })
}

/// A request error as the user reads it: `cannot <op>`, the server's answer, and the fix from
/// the table (or which variable to set when no token was sent).
#[must_use]
pub fn explain(
    forge: ForgeKind,
    token: Option<&Token>,
    budget: Duration,
    e: HttpError,
    op: Operation<'_>,
) -> anyhow::Error {
    let hint = match &e {
        HttpError::Status {
            status,
            message,
            retry_after,
            ..
        } => (if forge == ForgeKind::Github
            && *status == StatusCode::FORBIDDEN
            && retry_after.is_some()
        {
            // GitHub's secondary rate limit: 403 with `retry-after`, whatever the message.
            Some(StatusClass::RateLimited)
        } else {
            StatusClass::of(forge, *status, message)
        })
        .and_then(|class| {
            let cx = Context {
                token_var: token.map(|t| t.var.as_str()),
                job_token: token.is_some_and(|t| t.kind == TokenKind::Job),
                budget,
                status: status.as_u16(),
            };
            hint(forge, class, op, &cx)
        }),
        _ => None,
    };
    let hint = super::http::no_token_hint(token, e.status(), forge).or(hint);
    super::http::with_hint(e, &op.what(forge), hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx(var: &'static str, job: bool) -> Context<'static> {
        Context {
            token_var: Some(var),
            job_token: job,
            budget: Duration::from_secs(7),
            status: 403,
        }
    }

    /// A new forge or a new operation cannot go without a hint for a refused token: every
    /// forge × operation × 401/403 has one, naming the variable the token came from and, for
    /// 401, the forge's own variable.
    #[test]
    fn every_forge_and_operation_has_a_hint_for_401_and_403() {
        for forge in FORGES {
            for op in Operation::ALL {
                for class in [StatusClass::Unauthorized, StatusClass::Forbidden] {
                    let h = hint(forge, class, op, &cx("MY_TOKEN_VAR", false))
                        .unwrap_or_else(|| panic!("no hint for {forge:?} {class:?} {op:?}"));
                    assert!(
                        h.contains("`MY_TOKEN_VAR`"),
                        "{forge:?} {class:?} {op:?}: {h}"
                    );
                    if class == StatusClass::Unauthorized {
                        assert!(
                            h.contains(crate::forge::layout::own_token_variable(forge)),
                            "{forge:?} {op:?}: {h}"
                        );
                    } else {
                        assert!(h.contains(&op.what(forge)), "{forge:?} {op:?}: {h}");
                    }
                }
            }
        }
    }

    /// Statuses every forge can send have a hint for every operation.
    #[test]
    fn every_forge_and_operation_has_a_hint_for_the_common_statuses() {
        for forge in FORGES {
            for op in Operation::ALL {
                for class in [
                    StatusClass::NotFound,
                    StatusClass::Conflict,
                    StatusClass::TooLarge,
                    StatusClass::RateLimited,
                    StatusClass::ServerError,
                ] {
                    assert!(
                        hint(forge, class, op, &cx("V", false)).is_some(),
                        "{forge:?} {class:?} {op:?}"
                    );
                }
            }
        }
    }

    /// A class the table answers only for some forges is one `StatusClass::of` gives only for
    /// those forges.
    #[test]
    fn forge_specific_bodies_are_classified_only_for_their_forge() {
        let bodies = [
            (
                400,
                "{\"message\":{\"base\":[\"Milestone(s) not found: v9\"]}}",
            ),
            (400, "Duplicate package is not allowed"),
            (
                403,
                "403 Forbidden - You are not allowed to create this tag as it is protected.",
            ),
            (403, "Package protected."),
            (422, "body is too long (maximum is 125000 characters)"),
            (422, "protected tag"),
        ];
        for forge in FORGES {
            for (status, body) in bodies {
                let status = StatusCode::from_u16(status).unwrap();
                let Some(class) = StatusClass::of(forge, status, body) else {
                    continue;
                };
                for op in Operation::ALL {
                    assert!(
                        hint(forge, class, op, &cx("V", false)).is_some(),
                        "{forge:?} {class:?} {op:?} ({body})"
                    );
                }
            }
        }
    }

    #[test]
    fn classes_follow_status_and_body() {
        let of = |f, s: u16, m: &str| StatusClass::of(f, StatusCode::from_u16(s).unwrap(), m);
        assert_eq!(
            of(ForgeKind::Gitlab, 400, "Milestone(s) not found: x"),
            Some(StatusClass::MilestoneMissing)
        );
        assert_eq!(
            of(ForgeKind::Github, 400, "Milestone(s) not found: x"),
            None
        );
        assert_eq!(
            of(ForgeKind::Github, 403, "API rate limit exceeded"),
            Some(StatusClass::RateLimited)
        );
        assert_eq!(
            of(ForgeKind::Gitlab, 403, "API rate limit exceeded"),
            Some(StatusClass::Forbidden)
        );
        assert_eq!(
            of(ForgeKind::Tgit, 423, "Locked"),
            Some(StatusClass::RateLimited)
        );
        assert_eq!(of(ForgeKind::Gitlab, 423, "Locked"), None);
        assert_eq!(
            of(ForgeKind::Gitea, 409, "release already exists"),
            Some(StatusClass::Conflict)
        );
        assert_eq!(
            of(ForgeKind::Gitea, 422, "tag is protected"),
            Some(StatusClass::ProtectedTag)
        );
        assert_eq!(
            of(ForgeKind::Gitlab, 502, "Bad Gateway"),
            Some(StatusClass::ServerError)
        );
        assert_eq!(of(ForgeKind::Gitlab, 400, "name is missing"), None);
    }

    /// Each forge's 403 names that forge's roles or scopes, and GitLab's names the role the
    /// operation needs: Maintainer to delete a package file, Developer to write a release.
    #[test]
    fn forbidden_names_the_forge_role_or_scope_for_the_operation() {
        let h = |f, op| hint(f, StatusClass::Forbidden, op, &cx("V", false)).unwrap();
        assert!(h(ForgeKind::Gitlab, Operation::DeleteFile("a")).contains("Maintainer"));
        assert!(h(ForgeKind::Gitlab, Operation::CreateRelease).contains("Developer"));
        assert!(h(ForgeKind::Gitlab, Operation::ListPackages).contains("Reporter"));
        assert!(h(ForgeKind::Github, Operation::UploadFile("a")).contains("contents: write"));
        assert!(h(ForgeKind::Github, Operation::CreateRelease).contains("`workflow` scope"));
        assert!(h(ForgeKind::Gitea, Operation::CreateRelease).contains("write:repository"));
        assert!(h(ForgeKind::Tgit, Operation::UpdateRelease).contains("Developer"));
        let job = hint(
            ForgeKind::Gitlab,
            StatusClass::Forbidden,
            Operation::CreateRelease,
            &cx("CI_JOB_TOKEN", true),
        )
        .unwrap();
        assert!(job.contains("set `GITLAB_TOKEN` for more"), "{job}");
    }

    /// Retried statuses say the budget that ran out and how to change it.
    #[test]
    fn retried_statuses_name_the_budget() {
        for class in [StatusClass::RateLimited, StatusClass::ServerError] {
            for forge in FORGES {
                let h = hint(forge, class, Operation::ReadRelease, &cx("V", false)).unwrap();
                assert!(
                    h.contains("retry budget of 7s") && h.contains("`RELSYNC_RETRY_BUDGET`"),
                    "{h}"
                );
                let h = hint(forge, class, Operation::CreateRelease, &cx("V", false)).unwrap();
                assert!(h.contains("`RELSYNC_RETRY_BUDGET`"), "{h}");
            }
        }
    }

    fn refused(status: u16, message: &str, retry_after: Option<Duration>) -> HttpError {
        HttpError::Status {
            method: reqwest::Method::POST,
            path: "/repos/o/r/releases".to_owned(),
            status: StatusCode::from_u16(status).unwrap(),
            message: message.to_owned(),
            retry_after,
        }
    }

    fn token(var: &str, kind: TokenKind) -> Token {
        Token {
            var: var.to_owned(),
            kind,
            secret: secrecy::SecretString::from("s3cr3t-value".to_owned()),
        }
    }

    /// The shared `explain`: what failed, then the table's hint for that forge; a GitHub 403
    /// with `retry-after` is a rate limit, not a missing permission; no token means the hint
    /// says which variable to set; the token itself never shows.
    #[test]
    fn explain_renders_the_operation_and_the_table_hint() {
        let render = |forge, token: Option<&Token>, e, op| {
            crate::error::render(&explain(forge, token, Duration::from_secs(9), e, op), "n")
        };
        let t = token("GITHUB_TOKEN", TokenKind::Private);
        let out = render(
            ForgeKind::Github,
            Some(&t),
            refused(403, "Forbidden", Some(Duration::from_secs(60))),
            Operation::UploadFile("a.zip"),
        );
        assert!(
            out.starts_with("error: cannot upload the asset `a.zip`: POST"),
            "{out}"
        );
        assert!(out.contains("kept limiting the rate (HTTP 403)"), "{out}");
        assert!(!out.contains("contents: write"), "{out}");
        let out = render(
            ForgeKind::Github,
            Some(&t),
            refused(403, "Resource not accessible by integration", None),
            Operation::UploadFile("a.zip"),
        );
        assert!(out.contains("`permissions: contents: write`"), "{out}");
        let job = token("CI_JOB_TOKEN", TokenKind::Job);
        let out = render(
            ForgeKind::Gitlab,
            Some(&job),
            refused(403, "403 Forbidden", None),
            Operation::DeleteFile("a.zip"),
        );
        assert!(
            out.contains("the token in `CI_JOB_TOKEN` may not delete the package file `a.zip`")
                && out.contains("Maintainer"),
            "{out}"
        );
        let out = render(
            ForgeKind::Gitea,
            None,
            refused(404, "Not Found", None),
            Operation::ReadRelease,
        );
        assert!(
            out.contains("no token is set") && out.contains("`GITEA_TOKEN`"),
            "{out}"
        );
        assert!(!out.contains("s3cr3t-value"));
        let out = render(
            ForgeKind::Tgit,
            Some(&t),
            refused(400, "bad params", None),
            Operation::CreateRelease,
        );
        assert!(
            !out.contains("help:"),
            "no hint for a status the table is not about: {out}"
        );
    }

    #[test]
    fn operations_read_as_each_forge_names_them() {
        assert_eq!(
            Operation::UploadFile("a.zip").what(ForgeKind::Gitlab),
            "upload `a.zip` to the generic package registry"
        );
        assert_eq!(
            Operation::DeleteFile("a.zip").what(ForgeKind::Github),
            "delete the asset `a.zip`"
        );
        assert_eq!(
            Operation::UploadFile("a.zip").what(ForgeKind::Tgit),
            "upload the attachment `a.zip`"
        );
        assert!(Operation::ListPackages.reads());
        assert!(!Operation::DeleteLink.reads());
    }
}

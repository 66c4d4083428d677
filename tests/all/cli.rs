//! The command line end to end: bad input exits 2 with a located message, the default
//! template and the offline plan (snapshots), the schema, and the README's first command.

use crate::helpers::cli::Cli;
use crate::helpers::repo::TestRepo;

/// A small repository with two releases' worth of history and a `dist/` directory.
fn repo() -> TestRepo {
    let r = TestRepo::new();
    r.commit("feat: first feature");
    r.tag("v1.0.0");
    r.commit_files(
        "feat(api): add the list endpoint",
        &[("services/api/list.rs", "fn list() {}")],
    );
    r.commit("fix(ui): align the header\n\nCo-authored-by: Grace Hopper <grace@example.com>");
    r.commit("feat!: drop the v1 API\n\nBREAKING CHANGE: the `/v1` routes are gone; use `/v2`.");
    r.commit("docs: explain the config");
    r.commit_files(
        "chore: build",
        &[
            ("dist/app-linux.tar.gz", "linux binary"),
            ("dist/app-macos.tar.gz", "macos binary"),
        ],
    );
    r
}

struct Case {
    name: &'static str,
    manifest: Option<&'static str>,
    files: &'static [(&'static str, &'static str)],
    args: &'static [&'static str],
    expect: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        name: "malformed yaml",
        manifest: Some("release:\n  name: [unclosed\n"),
        files: &[],
        args: &["check"],
        expect: &["release.yml:", "malformed YAML"],
    },
    Case {
        name: "unknown top-level key",
        manifest: Some("# comment\nasets:\n  links: []\n"),
        files: &[],
        args: &["check"],
        expect: &[
            "release.yml:2",
            "unknown key `asets`",
            "did you mean `assets`",
        ],
    },
    Case {
        name: "unknown nested key",
        manifest: Some("release:\n  nmae: x\n"),
        files: &[],
        args: &["check"],
        expect: &["release.yml:2", "unknown key `nmae`", "did you mean `name`"],
    },
    Case {
        name: "wrong type",
        manifest: Some("changelog:\n  conventional: maybe\n"),
        files: &[],
        args: &["check"],
        expect: &["release.yml:2", "changelog.conventional"],
    },
    Case {
        name: "bad enum value",
        manifest: Some("release:\n  notes:\n    mode: owned\n"),
        files: &[],
        args: &["check"],
        expect: &["release.yml:3", "release.notes.mode", "owned"],
    },
    Case {
        name: "bad forge kind",
        manifest: Some("forge:\n  kind: bitbucket\n"),
        files: &[],
        args: &["check"],
        expect: &["forge.kind", "bitbucket"],
    },
    Case {
        name: "token instead of variable name",
        manifest: Some("forge:\n  token_env: glpat-abc.def\n"),
        files: &[],
        args: &["check"],
        expect: &["release.yml:2", "forge.token_env", "NAME"],
    },
    Case {
        name: "glob matches nothing",
        manifest: Some("assets:\n  files:\n    - path: \"out/*.zip\"\n"),
        files: &[],
        args: &["check", "--strict"],
        expect: &["release.yml:3", "assets.files[0].path", "matches no file"],
    },
    Case {
        name: "invalid glob",
        manifest: Some("assets:\n  files:\n    - path: \"dist/[.tar\"\n"),
        files: &[],
        args: &["check"],
        expect: &["assets.files[0].path", "invalid glob"],
    },
    Case {
        name: "path outside the repo",
        manifest: Some("assets:\n  files:\n    - path: \"../x/*\"\n"),
        files: &[],
        args: &["check"],
        expect: &["assets.files[0].path", "inside the repository"],
    },
    Case {
        name: "bad url scheme",
        manifest: Some("assets:\n  links:\n    - { name: x, url: \"javascript://alert\" }\n"),
        files: &[],
        args: &["check"],
        expect: &[
            "release.yml:3",
            "assets.links[0].url",
            "http, https and ftp",
        ],
    },
    Case {
        name: "relative url",
        manifest: Some("assets:\n  links:\n    - { name: x, url: \"docs.example.com\" }\n"),
        files: &[],
        args: &["check"],
        expect: &["assets.links[0].url", "not an absolute URL"],
    },
    Case {
        name: "direct_asset_path without slash",
        manifest: Some(
            "assets:\n  links:\n    - name: x\n      url: https://e.com/x\n      direct_asset_path: bin/app\n",
        ),
        files: &[],
        args: &["check"],
        expect: &[
            "release.yml:5",
            "assets.links[0].direct_asset_path",
            "start with `/`",
        ],
    },
    Case {
        name: "direct_asset_path with //",
        manifest: Some(
            "assets:\n  files:\n    - path: \"dist/*linux*\"\n      direct_asset_path: \"/bin//{{ file.name }}\"\n",
        ),
        files: &[],
        args: &["check"],
        expect: &["assets.files[0].direct_asset_path", "//"],
    },
    Case {
        name: "two links with one name",
        manifest: Some(
            "assets:\n  links:\n    - { name: Docs, url: \"https://e.com/a\" }\n    - { name: Docs, url: \"https://e.com/b\" }\n",
        ),
        files: &[],
        args: &["check"],
        expect: &["assets.links[1]", "two assets are named `Docs`"],
    },
    Case {
        name: "two links with one url",
        manifest: Some(
            "assets:\n  links:\n    - { name: A, url: \"https://e.com/a\" }\n    - { name: B, url: \"https://e.com/a\" }\n",
        ),
        files: &[],
        args: &["check"],
        expect: &["assets.links[1]", "two links have the URL"],
    },
    Case {
        name: "file and link with one name",
        manifest: Some(
            "assets:\n  links:\n    - { name: app-linux.tar.gz, url: \"https://e.com/a\" }\n  files:\n    - path: \"dist/*linux*\"\n",
        ),
        files: &[],
        args: &["check"],
        expect: &["two assets are named `app-linux.tar.gz`"],
    },
    Case {
        name: "template syntax error",
        manifest: Some("release:\n  name: \"{{ version \"\n"),
        files: &[],
        args: &["check"],
        expect: &["release.yml:2", "release.name", "syntax error"],
    },
    Case {
        name: "undefined template variable",
        manifest: Some("release:\n  name: \"{{ nope }}\"\n"),
        files: &[],
        args: &["check"],
        expect: &["release.yml:2", "release.name", "undefined"],
    },
    Case {
        name: "missing user template",
        manifest: Some("release:\n  notes:\n    template: notes.md.j2\n"),
        files: &[],
        args: &["check"],
        expect: &["release.yml:3", "release.notes.template", "not found"],
    },
    Case {
        name: "user template with undefined variable",
        manifest: Some("release:\n  notes:\n    template: notes.md.j2\n"),
        files: &[("notes.md.j2", "# {{ version }}\n{{ missing.thing }}\n")],
        args: &["notes"],
        expect: &["notes.md.j2:2", "undefined"],
    },
    Case {
        name: "user template syntax error",
        manifest: Some("release:\n  notes:\n    template: notes.md.j2\n"),
        files: &[("notes.md.j2", "ok\n{% for x in %}\n")],
        args: &["check"],
        expect: &["notes.md.j2:2", "syntax error"],
    },
    Case {
        name: "bad exclude regex",
        manifest: Some("changelog:\n  exclude: [\"(\"]\n"),
        files: &[],
        args: &["check"],
        expect: &["changelog.exclude[0]", "invalid regex"],
    },
    Case {
        name: "eleven labels",
        manifest: Some("release:\n  labels: [a, b, c, d, e, f, g, h, i, j, k]\n"),
        files: &[],
        args: &["check"],
        expect: &["release.labels", "at most 10"],
    },
    Case {
        name: "empty label",
        manifest: Some("release:\n  labels: [stable, \"\"]\n"),
        files: &[],
        args: &["check"],
        expect: &["release.labels[1]", "non-empty"],
    },
    Case {
        name: "bad released_at",
        manifest: Some("release:\n  released_at: next tuesday\n"),
        files: &[],
        args: &["check"],
        expect: &["release.released_at", "RFC 3339"],
    },
    Case {
        name: "two default groups",
        manifest: Some(
            "changelog:\n  groups:\n    - { title: A, default: true }\n    - { title: B, default: true }\n",
        ),
        files: &[],
        args: &["check"],
        expect: &["changelog.groups", "more than one"],
    },
    Case {
        name: "bad package name",
        manifest: Some(
            "assets:\n  files:\n    - path: \"dist/*\"\n  package: { name: \"my app\" }\n",
        ),
        files: &[],
        args: &["check"],
        expect: &["assets.package.name", "my app"],
    },
    Case {
        name: "secret in template.env",
        manifest: Some("template:\n  env: [CI_JOB_TOKEN]\n"),
        files: &[],
        args: &["check"],
        expect: &["template.env[0]", "secret"],
    },
    Case {
        name: "checksums with a path",
        manifest: Some("assets:\n  checksums: sums/SHA256SUMS\n"),
        files: &[],
        args: &["check"],
        expect: &["assets.checksums", "not a file name"],
    },
    Case {
        name: "since names no tag",
        manifest: Some("changelog:\n  since: v0.0.9\n"),
        files: &[],
        args: &["notes"],
        expect: &["v0.0.9"],
    },
    Case {
        name: "unknown flag value",
        manifest: None,
        files: &[],
        args: &["plan", "--forge", "bitbucket"],
        expect: &["bitbucket"],
    },
    Case {
        name: "apply without a tag",
        manifest: None,
        files: &[],
        args: &[
            "apply",
            "--forge",
            "gitlab",
            "--server",
            "http://127.0.0.1:9",
            "--project",
            "1",
        ],
        expect: &["no release tag", "--tag"],
    },
    Case {
        name: "apply without a token",
        manifest: None,
        files: &[],
        args: &[
            "apply",
            "--forge",
            "gitlab",
            "--server",
            "http://127.0.0.1:9",
            "--project",
            "1",
            "--tag",
            "v1.0.0",
        ],
        expect: &["no token", "GITLAB_TOKEN"],
    },
    Case {
        name: "apply without a forge",
        manifest: None,
        files: &[],
        args: &["apply", "--tag", "v1.0.0"],
        expect: &["no forge", "--forge"],
    },
    Case {
        name: "missing manifest given with -f",
        manifest: None,
        files: &[],
        args: &["check", "-f", "nope.yml"],
        expect: &["nope.yml"],
    },
];

#[test]
fn bad_input_exits_2_with_a_located_message() {
    let mut failures = Vec::new();
    let mut table = String::new();
    for case in CASES {
        let r = repo();
        if let Some(m) = case.manifest {
            std::fs::write(r.path().join("release.yml"), m).unwrap();
        }
        for (path, content) in case.files {
            std::fs::write(r.path().join(path), content).unwrap();
        }
        let run = Cli::new(r.path(), case.args).env("GITLAB_TOKEN", "").run();
        let tmp = r.path().display().to_string();
        table.push_str(&format!(
            "## {}\n{}\n",
            case.name,
            run.stderr.trim_end().replace(&tmp, "[repo]")
        ));
        if !run.stderr.contains("\n  help: ")
            || !run
                .stderr
                .contains("\n  note: nothing was sent to the forge")
        {
            failures.push(format!(
                "{}: not error/help/note:\n{}",
                case.name, run.stderr
            ));
        }
        let missing: Vec<_> = case
            .expect
            .iter()
            .filter(|e| !run.stderr.contains(*e))
            .collect();
        if run.code != 2 || !missing.is_empty() || run.stderr.contains("panicked") {
            failures.push(format!(
                "{}: exit {} missing {missing:?}\n{}",
                case.name, run.code, run.stderr
            ));
        }
    }
    assert!(CASES.len() >= 20);
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
    insta::assert_snapshot!("bad_input_table", table);
}

#[test]
fn notes_default_template_snapshot() {
    let r = repo();
    r.tag("v1.1.0");
    let run = Cli::new(r.path(), &["notes"]).run().success();
    insta::assert_snapshot!(run.stdout);
}

/// `relsync notes | head -1`: the reader is gone before relsync writes; it stops quietly
/// with success, as git does. `apply` still reports it.
#[test]
fn notes_into_a_closed_pipe_end_quietly() {
    let r = repo();
    r.tag("v1.1.0");
    let closed = || {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        std::process::Stdio::from(writer)
    };
    let run = Cli::new(r.path(), &["notes"]).run_into(closed());
    assert_eq!((run.code, run.stderr.as_str()), (0, ""));
    // Any other write error is still one.
    #[cfg(target_os = "linux")]
    {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let run = Cli::new(r.path(), &["notes"]).run_into(full.into());
        assert_ne!(run.code, 0);
        assert!(run.stderr.contains("No space left"), "{}", run.stderr);
    }
}

#[test]
fn notes_with_compare_link_in_gitlab_ci() {
    let r = repo();
    r.tag("v1.1.0");
    let run = Cli::new(r.path(), &["notes"])
        .env("GITLAB_CI", "true")
        .env("CI_COMMIT_TAG", "v1.1.0")
        .env("CI_PROJECT_URL", "https://gitlab.example.com/group/app")
        .env("CI_PROJECT_PATH", "group/app")
        .run()
        .success();
    assert!(
        run.stdout.contains(
            "[v1.0.0...v1.1.0](https://gitlab.example.com/group/app/-/compare/v1.0.0...v1.1.0)"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn plan_offline_json_snapshot() {
    let r = repo();
    r.tag("v1.1.0");
    std::fs::write(
        r.path().join("release.yml"),
        "release:\n  name: \"App {{ version }}\"\nassets:\n  links:\n    - { name: Docs, url: \"https://docs.example.com/{{ version }}\", type: runbook }\n  files:\n    - path: \"dist/*.tar.gz\"\n  checksums: SHA256SUMS\n",
    )
    .unwrap();
    let run = Cli::new(r.path(), &["plan", "--offline", "--output", "json"])
        .run()
        .success();
    let json = run.json();
    assert_eq!(json["tag"], "v1.1.0");
    assert_eq!(json["version"], "1.1.0");
    assert_eq!(json["previous_tag"], "v1.0.0");
    let files = json["files"].as_array().unwrap();
    assert_eq!(files.len(), 3, "two files and the checksums file");
    insta::assert_json_snapshot!(json);
}

#[test]
fn plan_offline_text_and_detailed_exitcode() {
    let r = repo();
    let run = Cli::new(r.path(), &["plan", "--offline", "--detailed-exitcode"])
        .run()
        .code(4);
    assert!(run.stdout.contains("(unreleased)"), "{}", run.stdout);
    assert!(run.stdout.contains("previous v1.0.0"), "{}", run.stdout);
    assert!(
        run.stdout.trim_end().ends_with("unchanged."),
        "{}",
        run.stdout
    );
}

#[test]
fn checksums_file_is_accepted_by_sha256sum() {
    let r = repo();
    r.tag("v1.1.0");
    std::fs::write(
        r.path().join("release.yml"),
        "assets:\n  files:\n    - path: \"dist/*.tar.gz\"\n  checksums: SHA256SUMS\n",
    )
    .unwrap();
    let run = Cli::new(r.path(), &["plan", "--offline", "--output", "json"])
        .run()
        .success();
    let json = run.json();
    let files = json["files"].as_array().unwrap();
    let mut sums = String::new();
    for f in files.iter().filter(|f| f["name"] != "SHA256SUMS") {
        sums.push_str(&format!(
            "{}  {}\n",
            f["sha256"].as_str().unwrap(),
            f["name"].as_str().unwrap()
        ));
    }
    std::fs::write(r.path().join("dist/SHA256SUMS"), &sums).unwrap();
    let status = std::process::Command::new("sha256sum")
        .arg("-c")
        .arg("SHA256SUMS")
        .current_dir(r.path().join("dist"))
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stdout)
    );
    let expected = relsync::assets::checksums_file(
        files
            .iter()
            .filter(|f| f["name"] != "SHA256SUMS")
            .map(|f| (f["name"].as_str().unwrap(), f["sha256"].as_str().unwrap())),
    );
    assert_eq!(
        expected,
        sums.lines()
            .rev()
            .map(|l| format!("{l}\n"))
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<String>()
    );
    let sums_entry = files.iter().find(|f| f["name"] == "SHA256SUMS").unwrap();
    assert_eq!(
        sums_entry["sha256"],
        relsync::assets::hash_bytes(expected.as_bytes()).sha256
    );
}

#[test]
fn schema_is_up_to_date() {
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schema/release.schema.json"
    ))
    .unwrap_or_default();
    let current = relsync::manifest::schema_json();
    assert!(
        committed == current,
        "schema/release.schema.json is stale: run `cargo run -- schema > schema/release.schema.json`"
    );
}

#[test]
fn readme_first_command_works_without_manifest_server_or_token() {
    let r = repo();
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let first = readme.lines().find(|l| l.starts_with("cargo run")).unwrap();
    assert!(first.contains("-- plan --offline"), "{first}");
    Cli::new(r.path(), &["plan", "--offline"]).run().success();
    // Also with a GitLab CI environment but no token: plan --offline reads nothing.
    Cli::new(r.path(), &["plan", "--offline"])
        .env("GITLAB_CI", "true")
        .env("CI_COMMIT_TAG", "v1.0.0")
        .run()
        .success();
}

#[test]
fn a_bad_ca_bundle_is_bad_input_before_any_request() {
    let r = repo();
    r.tag("v1.1.0");
    let args = [
        "plan",
        "--forge",
        "gitlab",
        "--server",
        "https://127.0.0.1:9",
        "--project",
        "1",
    ];
    let run = Cli::new(r.path(), &args)
        .env(
            "ADDITIONAL_CA_CERT_BUNDLE",
            "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
        )
        .run()
        .code(2);
    assert!(run.stderr.contains("CA bundle"), "{}", run.stderr);
    let run = Cli::new(r.path(), &args)
        .env("CI_SERVER_TLS_CA_FILE", "/nonexistent/ca.pem")
        .run()
        .code(2);
    assert!(run.stderr.contains("/nonexistent/ca.pem"), "{}", run.stderr);
}

#[test]
fn github_actions_failures_become_error_annotations() {
    let r = repo();
    std::fs::write(r.path().join("release.yml"), "asets: {}\n").unwrap();
    let run = Cli::new(r.path(), &["check"])
        .env("GITHUB_ACTIONS", "true")
        .run()
        .code(2);
    assert!(
        run.stdout.starts_with("::error title=relsync::"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("unknown key `asets`%0A") && run.stdout.lines().count() == 1,
        "newlines are escaped: {}",
        run.stdout
    );
}

#[test]
fn plan_offline_previews_a_release_before_its_files_are_built() {
    // The project's own manifest, in a repository where nothing is built yet (as in a fresh
    // clone, where the README's first command runs).
    let r = repo();
    let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/release.yml"))
        .expect("the repository's release.yml");
    std::fs::write(r.path().join("release.yml"), manifest).unwrap();
    let run = Cli::new(r.path(), &["plan", "--offline"]).run().success();
    assert!(
        run.stderr
            .contains("`dist/SHA256SUMS` (assets.files[2]) matches no file yet"),
        "{}",
        run.stderr
    );
    assert!(!run.stdout.contains("SHA256SUMS"), "{}", run.stdout);
    // `check --strict` still requires the files.
    let check = Cli::new(r.path(), &["check", "--strict"]).run().code(2);
    assert!(check.stderr.contains("matches no file"), "{}", check.stderr);
}

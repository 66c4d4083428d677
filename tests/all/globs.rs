//! One glob dialect for `release.yml`: `assets.files` takes what `tag_pattern`, `ignore_tags`
//! and `paths` take (`{a,b}`, `[abc]`, `[!a]`, `?`, `**`), `paths` and `assets.files` select
//! the same paths, `*` stays within a directory in paths, and a pattern that does not parse
//! is refused naming its key, file and line before any request.

use std::collections::BTreeSet;

use crate::helpers::cli::Cli;
use crate::helpers::gitlab::GitlabEmulator;
use crate::helpers::repo::TestRepo;

/// Files at several depths, each added by its own commit whose subject holds its word.
const FILES: &[(&str, &str)] = &[
    ("a.zip", "alpha"),
    ("dist/x.zip", "bravo"),
    ("dist/x.txt", "charlie"),
    ("dist/.hidden.zip", "delta"),
    ("dist/a/1.zip", "echo"),
    ("dist/b/2.zip", "foxtrot"),
    ("dist/c/3.zip", "golf"),
    ("dist/a/deep/4.zip", "hotel"),
    ("dist/ab/5.zip", "india"),
];

/// `v1.0.0` on a commit touching only `README.md`, then one commit per file of [`FILES`],
/// the last tagged `v1.1.0`.
fn layered() -> TestRepo {
    let r = TestRepo::new();
    r.commit_files("chore: start", &[("README.md", "readme")]);
    r.tag("v1.0.0");
    for (path, word) in FILES {
        r.commit_files(&format!("fix: {word} change"), &[(path, word)]);
    }
    r.tag("v1.1.0");
    r
}

fn manifest(r: &TestRepo, yaml: &str) {
    std::fs::write(r.path().join("release.yml"), yaml).unwrap();
}

/// The repository paths `plan --offline` would upload.
fn planned_files(r: &TestRepo) -> BTreeSet<String> {
    let run = Cli::new(r.path(), &["plan", "--offline", "--output", "json"])
        .run()
        .success();
    run.json()["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f["path"].as_str().expect("path").to_owned())
        .collect()
}

/// The paths of [`FILES`] whose commits `notes` lists.
fn noted_files(r: &TestRepo) -> BTreeSet<String> {
    let run = Cli::new(r.path(), &["notes"]).run().success();
    FILES
        .iter()
        .filter(|(_, word)| run.stdout.contains(&format!("{word} change")))
        .map(|(path, _)| (*path).to_owned())
        .collect()
}

fn set(paths: &[&str]) -> BTreeSet<String> {
    paths.iter().map(|p| (*p).to_owned()).collect()
}

/// Each pattern with the paths it selects, as `changelog.paths` and as `assets.files`.
const CASES: &[(&str, &[&str])] = &[
    // `*` and `?` stay within a directory; a leading dot is not special.
    ("dist/*.zip", &["dist/.hidden.zip", "dist/x.zip"]),
    ("*.zip", &["a.zip"]),
    (
        "dist/?/*.zip",
        &["dist/a/1.zip", "dist/b/2.zip", "dist/c/3.zip"],
    ),
    // `**` crosses directories, and matches none as well.
    (
        "dist/**/*.zip",
        &[
            "dist/.hidden.zip",
            "dist/x.zip",
            "dist/a/1.zip",
            "dist/b/2.zip",
            "dist/c/3.zip",
            "dist/a/deep/4.zip",
            "dist/ab/5.zip",
        ],
    ),
    (
        "**/*.zip",
        &[
            "a.zip",
            "dist/.hidden.zip",
            "dist/x.zip",
            "dist/a/1.zip",
            "dist/b/2.zip",
            "dist/c/3.zip",
            "dist/a/deep/4.zip",
            "dist/ab/5.zip",
        ],
    ),
    ("dist/a/**", &["dist/a/1.zip", "dist/a/deep/4.zip"]),
    // Alternatives and classes.
    ("dist/{a,b}/*.zip", &["dist/a/1.zip", "dist/b/2.zip"]),
    ("dist/{a,ab}/*.zip", &["dist/a/1.zip", "dist/ab/5.zip"]),
    ("dist/x.{zip,txt}", &["dist/x.txt", "dist/x.zip"]),
    ("dist/[ac]/*.zip", &["dist/a/1.zip", "dist/c/3.zip"]),
    ("dist/[!a]/*.zip", &["dist/b/2.zip", "dist/c/3.zip"]),
    ("dist/[^a]/*.zip", &["dist/b/2.zip", "dist/c/3.zip"]),
    // An alternative that holds a `/`.
    (
        "dist/{a/deep,c}/*.zip",
        &["dist/a/deep/4.zip", "dist/c/3.zip"],
    ),
];

#[test]
fn braces_in_assets_files_select_each_alternative() {
    let r = layered();
    manifest(&r, "assets:\n  files:\n    - path: \"dist/{a,b}/*.zip\"\n");
    assert_eq!(
        planned_files(&r),
        set(&["dist/a/1.zip", "dist/b/2.zip"]),
        "`{{a,b}}` selects both directories and nothing else"
    );
    manifest(&r, "assets:\n  files:\n    - path: \"dist/x.{zip,txt}\"\n");
    assert_eq!(planned_files(&r), set(&["dist/x.txt", "dist/x.zip"]));
    // `check` accepts it too, with every file built.
    Cli::new(r.path(), &["check", "--strict"]).run().success();
}

#[test]
fn paths_and_assets_files_select_the_same_paths() {
    let r = layered();
    for (pattern, expected) in CASES {
        manifest(
            &r,
            &format!(
                "changelog:\n  paths: [\"{pattern}\"]\nassets:\n  files:\n    - path: \"{pattern}\"\n"
            ),
        );
        let files = planned_files(&r);
        assert_eq!(files, set(expected), "assets.files `{pattern}`");
        assert_eq!(noted_files(&r), files, "changelog.paths `{pattern}`");
    }
}

#[test]
fn star_stays_within_a_directory_in_paths_and_files_and_double_star_crosses() {
    let r = layered();
    manifest(
        &r,
        "changelog:\n  paths: [\"dist/*\"]\nassets:\n  files:\n    - path: \"dist/*\"\n",
    );
    // `dist/*` matches the directories `dist/a`, `dist/b`… too: `assets.files` skips them;
    // `paths` reads a matched directory as everything below it, as it always has.
    assert_eq!(
        planned_files(&r),
        set(&["dist/.hidden.zip", "dist/x.txt", "dist/x.zip"])
    );
    manifest(
        &r,
        "changelog:\n  paths: [\"dist/*.zip\"]\nassets:\n  files:\n    - path: \"dist/*.zip\"\n",
    );
    let shallow = set(&["dist/.hidden.zip", "dist/x.zip"]);
    assert_eq!(planned_files(&r), shallow);
    assert_eq!(noted_files(&r), shallow);
    manifest(
        &r,
        "changelog:\n  paths: [\"dist/**/4.zip\"]\nassets:\n  files:\n    - path: \"dist/**/4.zip\"\n",
    );
    let deep = set(&["dist/a/deep/4.zip"]);
    assert_eq!(planned_files(&r), deep);
    assert_eq!(noted_files(&r), deep);
}

/// `release/1.0` on the first commit, then `-rc1` and `-beta1` candidates, then `release/2.0`.
fn release_tags() -> TestRepo {
    let r = TestRepo::new();
    r.commit("feat: add walrus");
    r.tag("release/1.0");
    r.commit("feat: add otter");
    r.tag("release/2.0-rc1");
    r.commit("feat: add heron");
    r.tag("release/2.0-beta1");
    r.commit("feat: add lynx");
    r.tag("release/2.0");
    r
}

/// The animals `notes` lists for `release/2.0`.
fn subjects(r: &TestRepo) -> Vec<&'static str> {
    let run = Cli::new(r.path(), &["notes"]).run().success();
    ["walrus", "otter", "heron", "lynx"]
        .into_iter()
        .filter(|w| run.stdout.contains(w))
        .collect()
}

#[test]
fn tag_globs_take_alternatives_and_read_slash_as_a_character() {
    let r = release_tags();
    manifest(&r, "changelog:\n  tag_pattern: \"release/*\"\n");
    assert_eq!(subjects(&r), ["lynx"], "the beta is the previous release");
    // `{rc,beta}` in `ignore_tags`; `*` there matches the `release/` of the tag too.
    manifest(
        &r,
        "changelog:\n  tag_pattern: \"release/*\"\n  ignore_tags: \"*-{rc,beta}*\"\n",
    );
    assert_eq!(subjects(&r), ["otter", "heron", "lynx"]);
    // `[0-9]` and `{…}` in `tag_pattern`: the candidates no longer match it.
    manifest(&r, "changelog:\n  tag_pattern: \"release/{1,2}.[0-9]\"\n");
    assert_eq!(subjects(&r), ["otter", "heron", "lynx"]);
}

/// The key, the line it is on, and a manifest whose value there does not parse.
const BAD: &[(&str, &str, &str)] = &[
    (
        "changelog.tag_pattern",
        "release.yml:4",
        "release:\n  name: x\nchangelog:\n  tag_pattern: \"v[\"\n",
    ),
    (
        "changelog.ignore_tags[1]",
        "release.yml:4",
        "changelog:\n  ignore_tags:\n    - \"*-rc*\"\n    - \"*-{rc\"\n",
    ),
    (
        "changelog.paths[0]",
        "release.yml:3",
        "changelog:\n  conventional: true\n  paths: [\"services/{api,web/**\"]\n",
    ),
    (
        "assets.files[1].path",
        "release.yml:5",
        "assets:\n  files:\n    - path: dist/a.zip\n    - name: b\n      path: \"dist/[ab.zip\"\n",
    ),
];

#[test]
fn a_bad_pattern_in_any_glob_key_is_refused_naming_key_file_and_line() {
    const TOKEN: &str = "glpat-globs-secret-0123456789";
    let emu = GitlabEmulator::start();
    emu.add_project(7, "group/app");
    emu.add_private_token(TOKEN);
    for (key, at, yaml) in BAD {
        let r = TestRepo::new();
        r.commit_files("feat: first", &[("dist/a.zip", "a"), ("dist/b.zip", "b")]);
        r.tag("v1.0.0");
        manifest(&r, yaml);
        for args in [
            &["check"][..],
            &["notes"],
            &["plan", "--offline"],
            &["plan", "--offline", "--output", "json"],
        ] {
            let run = Cli::new(r.path(), args).run().code(2);
            for needle in [format!("{at}: `{key}`"), "invalid glob".to_owned()] {
                assert!(
                    run.stderr.contains(&needle),
                    "{args:?} {key}: stderr lacks {needle:?}:\n{}",
                    run.stderr
                );
            }
            assert!(
                run.stderr.contains("close every `[` and `{`"),
                "{args:?} {key}: no remedy:\n{}",
                run.stderr
            );
        }
        // Through `apply` in a CI job: nothing reaches the forge.
        emu.reset_requests();
        let run = Cli::new(r.path(), &["apply"])
            .env("GITLAB_CI", "true")
            .env("CI_COMMIT_TAG", "v1.0.0")
            .env("CI_COMMIT_SHA", &r.head().to_string())
            .env("CI_SERVER_URL", &emu.url())
            .env("CI_API_V4_URL", &emu.api_url())
            .env("CI_PROJECT_ID", "7")
            .env("CI_PROJECT_PATH", "group/app")
            .env("CI_PROJECT_URL", &format!("{}/group/app", emu.url()))
            .env("GITLAB_TOKEN", TOKEN)
            .run()
            .code(2);
        assert!(run.stderr.contains(*key), "{}", run.stderr);
        assert!(!run.stderr.contains(TOKEN) && !run.stdout.contains(TOKEN));
        assert!(
            emu.requests().is_empty(),
            "{key}: requests were sent: {:?}",
            emu.requests()
                .iter()
                .map(|q| format!("{} {}", q.method, q.path))
                .collect::<Vec<_>>()
        );
        assert!(emu.releases(7).is_empty());
    }
}

#[test]
fn a_bad_asset_flag_glob_is_refused_naming_the_flag() {
    let r = TestRepo::new();
    r.commit("feat: first");
    r.tag("v1.0.0");
    let run = Cli::new(r.path(), &["plan", "--offline", "--asset", "dist/{a,b"])
        .run()
        .code(2);
    assert!(
        run.stderr.contains("`--asset dist/{a,b`") && run.stderr.contains("invalid glob"),
        "{}",
        run.stderr
    );
    // A good one is expanded in the same dialect.
    std::fs::create_dir_all(r.path().join("dist")).unwrap();
    std::fs::write(r.path().join("dist/a.zip"), "a").unwrap();
    std::fs::write(r.path().join("dist/c.zip"), "c").unwrap();
    let run = Cli::new(
        r.path(),
        &[
            "plan",
            "--offline",
            "--output",
            "json",
            "--asset",
            "dist/{a,b}.zip",
        ],
    )
    .run()
    .success();
    let files = run.json()["files"].clone();
    let names: Vec<&str> = files
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a.zip"]);
}

#[cfg(unix)]
#[test]
fn double_star_search_skips_a_link_cycle_and_refuses_a_link_out_of_the_repository() {
    let r = layered();
    std::os::unix::fs::symlink("..", r.path().join("dist/a/up")).unwrap();
    std::os::unix::fs::symlink("../b", r.path().join("dist/a/sib")).unwrap();
    manifest(
        &r,
        "assets:\n  follow_symlinks: true\n  files:\n    - path: \"dist/a/**/*.zip\"\n",
    );
    // `dist/a/up` leads back to `dist`, which holds it: a cycle, not searched. `dist/a/sib`
    // leads to `dist/b`, inside the repository: searched, its file named through the link.
    assert_eq!(
        planned_files(&r),
        set(&["dist/a/1.zip", "dist/a/deep/4.zip", "dist/a/sib/2.zip"])
    );
    // Without `follow_symlinks`, a file reached through the link is refused.
    manifest(&r, "assets:\n  files:\n    - path: \"dist/a/**/*.zip\"\n");
    let run = Cli::new(r.path(), &["check"]).run().code(2);
    assert!(
        run.stderr.contains("dist/a/sib/2.zip") && run.stderr.contains("follow_symlinks"),
        "{}",
        run.stderr
    );

    std::fs::remove_file(r.path().join("dist/a/up")).unwrap();
    std::fs::remove_file(r.path().join("dist/a/sib")).unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.zip"), "secret").unwrap();
    std::os::unix::fs::symlink(outside.path(), r.path().join("dist/b/ext")).unwrap();
    manifest(&r, "assets:\n  files:\n    - path: \"dist/**/*.zip\"\n");
    let run = Cli::new(r.path(), &["check"]).run().code(2);
    assert!(
        run.stderr.contains("`assets.files[0].path`")
            && run.stderr.contains("dist/b/ext")
            && run.stderr.contains("outside the repository"),
        "{}",
        run.stderr
    );
    // A glob that does not reach into the link is unaffected by it.
    manifest(&r, "assets:\n  files:\n    - path: \"dist/b/*.zip\"\n");
    assert_eq!(planned_files(&r), set(&["dist/b/2.zip"]));
}

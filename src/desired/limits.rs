//! The forges' limits on a release description, and cutting the notes to fit them.
//!
//! Each forge refuses a description over its limit, and a first release renders the whole
//! history, so a mature repository reaches it. Before any request, relsync keeps the notes'
//! first whole entries (bullets, paragraphs; headings stay with their entries), ends them with
//! a line saying how many entries were left out and where the full notes are, and attaches the
//! full notes as `CHANGELOG-<version>.md` unless `release.notes.attach_full` is `false`.
//!
//! The limits, and their sources, are the forges' facts in [`crate::forge::layout`].

use serde::Serialize;

pub use crate::forge::layout::DescriptionLimit;
use crate::manifest::raw::ForgeKind;

/// What the forge and its limits mean for this release.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Limits {
    /// The forge's name, when known (for messages).
    pub forge: Option<&'static str>,
    /// Its description limit, when the forge is known.
    pub description: Option<DescriptionLimit>,
    /// How the notes were cut to fit, if they were.
    pub cut: Option<Cut>,
}

/// Notes cut to fit the limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cut {
    /// Entries kept.
    pub kept: usize,
    /// Entries left out.
    pub left_out: usize,
    /// The length of the full notes, in the limit's unit.
    pub full_length: usize,
    /// The limit.
    pub limit: DescriptionLimit,
    /// The asset holding the full notes, when attached.
    pub full_notes_asset: Option<String>,
}

/// The name of the asset holding the full notes: `CHANGELOG-<version>.md`, with any character
/// a forge refuses in a file name (GitLab takes `A-Za-z0-9._+-`) written as `-`.
#[must_use]
pub fn full_notes_name(version: &str) -> String {
    let v: String = version
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let v = v.trim_matches('.');
    if v.is_empty() {
        "CHANGELOG.md".to_owned()
    } else {
        format!("CHANGELOG-{v}.md")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Blank,
    Heading,
    Entry,
}

/// A run of whole lines of the notes: a heading, an entry (a list item with its continuation
/// lines, or a paragraph) or blank lines.
#[derive(Debug, Clone, Copy)]
struct Block {
    kind: Kind,
    /// Byte range in the notes.
    start: usize,
    end: usize,
}

fn is_item(line: &str) -> bool {
    if line.starts_with("- ") || line.starts_with("* ") || line.starts_with("+ ") {
        return true;
    }
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && (line[digits..].starts_with(". ") || line[digits..].starts_with(") "))
}

/// Splits notes into blocks. A list item takes the indented lines after it and lines that
/// continue it without a blank line; so does a paragraph.
fn blocks(notes: &str) -> Vec<Block> {
    let mut out: Vec<Block> = Vec::new();
    let mut at = 0;
    for line in notes.split_inclusive('\n') {
        let text = line.trim_end_matches(['\n', '\r']);
        let (start, end) = (at, at + line.len());
        at = end;
        let kind = if text.trim().is_empty() {
            Kind::Blank
        } else if text.starts_with('#') {
            Kind::Heading
        } else if is_item(text) {
            out.push(Block {
                kind: Kind::Entry,
                start,
                end,
            });
            continue;
        } else {
            // Indented text, or text right after an entry's line: that entry goes on.
            if let Some(last) = out.last_mut()
                && last.kind == Kind::Entry
            {
                last.end = end;
                continue;
            }
            Kind::Entry
        };
        match out.last_mut() {
            Some(last) if last.kind == Kind::Blank && kind == Kind::Blank => last.end = end,
            _ => out.push(Block { kind, start, end }),
        }
    }
    out
}

/// The notes' entries (list items and paragraphs).
#[must_use]
pub fn count_entries(notes: &str) -> usize {
    blocks(notes)
        .iter()
        .filter(|b| b.kind == Kind::Entry)
        .count()
}

/// The longest prefix of whole blocks of `notes` that measures at most `budget`, without
/// trailing blank lines or headings left without entries; and the number of entries it holds.
#[must_use]
pub fn prefix(notes: &str, budget: usize, limit: &DescriptionLimit) -> (String, usize) {
    let all = blocks(notes);
    let mut used = 0;
    let mut upto = 0;
    for (i, b) in all.iter().enumerate() {
        let len = limit.measure(&notes[b.start..b.end]);
        if used + len > budget {
            break;
        }
        used += len;
        upto = i + 1;
    }
    let mut kept = &all[..upto];
    while let Some(last) = kept.last()
        && last.kind != Kind::Entry
    {
        kept = &kept[..kept.len() - 1];
    }
    let text = kept.last().map_or("", |b| &notes[..b.end]);
    let entries = kept.iter().filter(|b| b.kind == Kind::Entry).count();
    (text.trim_end().to_owned(), entries)
}

/// Where the line that ends cut notes points.
#[derive(Debug, Clone, Default)]
pub struct Pointers {
    /// The full notes: the asset's name and download URL (empty when unknown).
    pub asset: Option<(String, String)>,
    /// The compare view (`v1.0...v1.1`) and its URL.
    pub compare: Option<(String, String)>,
}

/// The line that ends cut notes.
#[must_use]
pub fn trailer(left_out: usize, limit: &DescriptionLimit, to: &Pointers) -> String {
    let entries = if left_out == 1 { "entry" } else { "entries" };
    let mut s = format!(
        "**{left_out} {entries} left out** to fit {}",
        limit.describe()
    );
    let mut see = Vec::new();
    if let Some((name, url)) = &to.asset {
        see.push(if url.is_empty() {
            format!("the full notes are attached as `{name}`")
        } else {
            format!("the full notes are attached as [{name}]({url})")
        });
    }
    if let Some((label, url)) = &to.compare {
        see.push(format!("all changes: [{label}]({url})"));
    }
    if !see.is_empty() {
        s.push_str("; ");
        s.push_str(&see.join("; "));
    }
    s.push('.');
    s
}

/// Cuts `notes` so that they measure at most `budget` with the trailer that ends them.
/// `None` when they fit as they are.
#[must_use]
pub fn cut_to(
    notes: &str,
    budget: usize,
    limit: &DescriptionLimit,
    to: &Pointers,
) -> Option<(String, usize, usize)> {
    if limit.measure(notes) <= budget {
        return None;
    }
    let total = count_entries(notes);
    // The trailer is measured with the most entries it can name, so it fits whatever is kept.
    let room = budget.saturating_sub(limit.measure(&trailer(total, limit, to)) + 2);
    let (kept, entries) = prefix(notes, room, limit);
    let left_out = total - entries;
    let end = trailer(left_out, limit, to);
    let text = if kept.is_empty() {
        format!("{end}\n")
    } else {
        format!("{kept}\n\n{end}\n")
    };
    Some((text, entries, left_out))
}

/// The room the managed block takes around the notes, at most: its markers, and a state line
/// naming every link, file (with its sha256 and a stored name) and label, with every
/// character escaped; and the links written into the notes where the forge has no links API.
fn block_reserve(d: &super::Desired, links_in_notes: bool) -> usize {
    let names = |n: &str| 12 * n.len() + 120;
    let files: usize = d.files.iter().map(|f| names(&f.name)).sum();
    let links: usize = d.links.iter().map(|l| 6 * l.name.len() + 8).sum();
    let labels: usize = d.labels.iter().map(|l| 6 * l.len() + 4).sum();
    let in_notes: usize = if links_in_notes {
        20 + d
            .links
            .iter()
            .map(|l| l.name.len() + l.url.len() + 8)
            .sum::<usize>()
    } else {
        0
    };
    // Markers, the state line's frame, the fields the guard records.
    4096 + files + links + labels + in_notes + names("CHANGELOG-.md") + 2 * d.version.len()
}

/// Cuts the notes of `d` to fit the forge's description limit, attaching the full notes as a
/// file unless `release.notes.attach_full` is `false`. `asset_url` gives a file's download
/// URL; `compare` is the compare view's label and URL, or a history link.
///
/// # Errors
/// The full notes' asset name is taken by a declared asset.
pub(crate) fn fit(
    settings: &crate::settings::Settings,
    d: &mut super::Desired,
    asset_url: &dyn Fn(&str) -> Option<String>,
    compare: Option<(String, String)>,
) -> Result<(), crate::error::InputError> {
    let Some(kind) = settings.forge else {
        return Ok(());
    };
    let limit = DescriptionLimit::of(kind);
    d.limits = Limits {
        forge: Some(limit.forge),
        description: Some(limit),
        cut: None,
    };
    let links_in_notes = !crate::forge::Capabilities::of(kind).links_api;
    let budget = limit.max.saturating_sub(block_reserve(d, links_in_notes));
    let notes = crate::block::escape(&d.notes).into_owned();
    if limit.measure(&notes) <= budget {
        return Ok(());
    }
    let m = &settings.manifest;
    let attach = m.release.notes_attach_full;
    let name = full_notes_name(&d.version);
    if attach && (d.files.iter().any(|f| f.name == name) || d.links.iter().any(|l| l.name == name))
    {
        return Err(m.error(
            "release.notes.attach_full",
            format!(
                "the notes are cut to fit {} and the full notes would be attached as `{name}`, a name a declared asset already has",
                limit.describe()
            ),
            "rename that asset, or set `release.notes.attach_full: false`",
        ));
    }
    let url = asset_url(&name).unwrap_or_default();
    let to = Pointers {
        asset: attach.then(|| (name.clone(), url)),
        compare,
    };
    let Some((text, kept, left_out)) = cut_to(&notes, budget, &limit, &to) else {
        return Ok(());
    };
    if attach {
        if kind == ForgeKind::Gitlab && d.files.is_empty() {
            crate::assets::check_package_name(&d.package.name).map_err(|e| {
                m.error(
                    "assets.package.name",
                    e,
                    "set `assets.package.name` to a valid GitLab package name (the full notes are uploaded to it)",
                )
            })?;
            crate::assets::check_package_version(&d.package.version).map_err(|e| {
                m.error("assets.package.version", e, "set `assets.package.version`")
            })?;
        }
        let bytes = d.notes.clone().into_bytes();
        let h = crate::assets::hash_bytes(&bytes);
        d.files.push(super::DesiredFile {
            name: name.clone(),
            source: super::FileSource::Memory(bytes),
            path: "generated".into(),
            size: h.size,
            sha256: h.sha256,
            link_type: crate::manifest::raw::LinkType::Other,
            direct_asset_path: None,
        });
    }
    d.limits.cut = Some(Cut {
        kept,
        left_out,
        full_length: limit.measure(&d.notes),
        limit,
        full_notes_asset: attach.then_some(name),
    });
    d.notes = text;
    Ok(())
}

/// Why `description` cannot be written: it passes the forge's limit (text written by hand
/// outside relsync's block can make it, the notes alone never do).
#[must_use]
pub fn over_limit(d: &super::Desired, description: &str) -> Option<String> {
    let limit = d.limits.description?;
    let len = limit.measure(description);
    (len > limit.max).then(|| {
        format!(
            "the release description would be {len} {}, over {}; relsync's notes are cut to fit, so the text written by hand outside its block takes the rest: shorten that text on the release page, or set `release.notes.mode: replace`",
            limit.unit.as_str(),
            limit.describe()
        )
    })
}

/// The plan's line about cut notes.
#[must_use]
pub fn describe_cut(cut: &Cut) -> String {
    let total = cut.kept + cut.left_out;
    let full = match &cut.full_notes_asset {
        Some(name) => format!("attached as {name}"),
        None => "not attached (`release.notes.attach_full: false`)".to_owned(),
    };
    format!(
        "cut to {} of {total} entries to fit {}; the full notes ({} {}) are {full}",
        cut.kept,
        cut.limit.describe(),
        cut.full_length,
        cut.limit.unit.as_str()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const GH: DescriptionLimit = DescriptionLimit {
        forge: "GitHub",
        max: 125_000,
        unit: crate::forge::layout::Unit::Characters,
    };

    const NOTES: &str = "### Features\n\n- add a (aaaaaaa)\n- add b (bbbbbbb)\n  with a second line\n\n### Fixes\n\n- fix c (ccccccc)\n- fix d (ddddddd)\n\n**Full changelog:** [v1...v2](https://x/compare)\n";

    #[test]
    fn entries_are_items_and_paragraphs_with_their_continuations() {
        assert_eq!(count_entries(NOTES), 5);
        assert_eq!(count_entries("- a\nlazy continuation\n\npara\nmore\n"), 2);
        assert_eq!(count_entries("1. one\n2) two\n10. ten\n"), 3);
    }

    #[test]
    fn a_prefix_ends_at_an_entry_and_never_inside_one() {
        // Room for the first section and half of the second entry: the entry is left whole.
        let upto = NOTES.find("  with").unwrap();
        let (kept, n) = prefix(NOTES, upto, &GH);
        assert_eq!(kept, "### Features\n\n- add a (aaaaaaa)");
        assert_eq!(n, 1);
        // A heading whose entries do not fit is not kept alone.
        let upto = NOTES.find("- fix c").unwrap() + 3;
        let (kept, n) = prefix(NOTES, upto, &GH);
        assert_eq!(
            kept,
            "### Features\n\n- add a (aaaaaaa)\n- add b (bbbbbbb)\n  with a second line"
        );
        assert_eq!(n, 2);
        // Everything fits.
        assert_eq!(prefix(NOTES, 10_000, &GH), (NOTES.trim_end().to_owned(), 5));
        // Nothing fits.
        assert_eq!(prefix(NOTES, 3, &GH), (String::new(), 0));
    }

    #[test]
    fn bytes_and_characters_are_counted_as_the_forge_counts() {
        let gitea = DescriptionLimit::of(ForgeKind::Gitea);
        assert_eq!(gitea.measure("工蜂"), 6);
        assert_eq!(GH.measure("工蜂"), 2);
        // A prefix in bytes stops before a multi-byte entry that does not fit.
        let notes = "- 工\n- 蜂蜂\n";
        assert_eq!(prefix(notes, 9, &gitea), ("- 工".to_owned(), 1));
        assert_eq!(prefix(notes, 9, &GH), (notes.trim_end().to_owned(), 2));
    }

    #[test]
    fn cut_notes_fit_with_their_trailer_and_name_what_was_left_out() {
        let notes: String = std::iter::once("### Features\n\n".to_owned())
            .chain((0..20).map(|i| format!("- add feature number {i:02} (abcdef{i:01})\n")))
            .collect();
        let limit = DescriptionLimit { max: 400, ..GH };
        let to = Pointers {
            asset: Some(("CHANGELOG-2.md".into(), "https://x/CHANGELOG-2.md".into())),
            compare: Some(("v1...v2".into(), "https://x/compare/v1...v2".into())),
        };
        assert!(cut_to(&notes, 10_000, &limit, &to).is_none());
        let (text, kept, left) = cut_to(&notes, 400, &limit, &to).unwrap();
        assert!(limit.measure(&text) <= 400, "{text}");
        assert_eq!(kept + left, 20);
        assert!(kept >= 3, "{text}");
        assert_eq!(
            text.lines().filter(|l| l.starts_with("- ")).count(),
            kept,
            "{text}"
        );
        assert!(
            text.ends_with(&format!(
                "\n\n**{left} entries left out** to fit GitHub's limit of 400 characters; the full notes are attached as [CHANGELOG-2.md](https://x/CHANGELOG-2.md); all changes: [v1...v2](https://x/compare/v1...v2).\n"
            )),
            "{text}"
        );
        // Every kept line is a whole line of the notes, in order.
        let (kept_text, _) = text.rsplit_once("\n\n").unwrap();
        assert!(notes.starts_with(kept_text), "{text}");
        // One entry left out reads in the singular; no pointers, no list.
        assert_eq!(
            trailer(1, &limit, &Pointers::default()),
            "**1 entry left out** to fit GitHub's limit of 400 characters."
        );
    }

    #[test]
    fn asset_names_are_plain_file_names() {
        assert_eq!(full_notes_name("1.2.0-rc.1"), "CHANGELOG-1.2.0-rc.1.md");
        assert_eq!(
            full_notes_name("release/2026 01"),
            "CHANGELOG-release-2026-01.md"
        );
        assert_eq!(full_notes_name(""), "CHANGELOG.md");
    }
}

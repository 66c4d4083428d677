//! The block of the release description that relsync owns, and the state recorded in it.
//! Pure: parsing, composition, escaping and repair; no I/O.
//!
//! ```text
//! text written by hand (kept as it is)
//! <!-- relsync:begin -->
//! the rendered notes
//! <!-- relsync:state {"links":["Docs"],"files":{"app.tgz":{"sha256":"…"}}} -->
//! <!-- relsync:end -->
//! text written by hand (kept as it is)
//! ```
//!
//! The state line records what relsync manages (link names, uploaded files' sha256 and stored
//! names, labels), so that `prune: managed` deletes only what relsync created and forges that
//! report no digest stay idempotent.
//!
//! # Only relsync writes markers
//!
//! Every marker starts with `<!-- relsync:`. When the notes (commit text, templates, template
//! variables, links) contain that sequence, [`managed_block`] writes it as `<!-- relsync\:`,
//! which is still an HTML comment, so the rendered description reads the same, but is no
//! marker. The state JSON writes `<` and `>` as `\u003c` and `\u003e`, so no name can close the
//! comment or form a marker. Hence the block relsync composes holds exactly one begin marker,
//! one state line and one end marker.
//!
//! # Reading the state
//!
//! [`State::parse`] trusts a state only from a well-formed block: exactly one begin marker and
//! one end marker in the whole description, in that order, and a state line directly before
//! the end marker (only whitespace between them) whose JSON reads. A state line anywhere else,
//! outside the block or in its notes, is ignored. When the description has relsync markers but
//! no such block, or the state line is missing or unreadable, the state is empty and
//! [`Parsed::problem`] says why; the plan then warns and `prune: managed` deletes nothing.
//!
//! # Repair rules
//!
//! A description stored with CRLF line endings only is read as LF and written back with CRLF
//! only; any other description is read and written as it is. Then [`compose`] finds the parts
//! relsync wrote (its *regions*), by these rules, in this order:
//!
//! 1. A well-formed block (as above, whatever its state) is one region.
//! 2. Otherwise, scanning the markers from the start:
//!    - a begin marker whose next marker is an end marker forms a region with it;
//!    - an end marker left over with a state line directly before it is the tail of a block
//!      whose begin marker was deleted: the region runs from that state line to the marker
//!      (and also takes the notes before the state line when they are exactly the notes being
//!      written; other text there cannot be told from hand text, so it is kept);
//!    - an end marker left over that is followed by a begin marker left over with a state line
//!      directly before it is a block with swapped markers: the region runs from the end
//!      marker to the begin marker;
//!    - a begin marker left over with a state line after it (before the next marker) is a
//!      block whose end marker was deleted: the region runs from the marker to the end of
//!      that state line;
//!    - any other marker is a stray one, part of the hand text.
//!
//! The new block replaces the first region; the other regions are removed (they hold only
//! relsync's own text, e.g. a block pasted twice), and the blank lines around a removed region
//! are collapsed to one. With no region the block is appended after the hand text, separated
//! by a blank line. All text outside the regions is kept; where it contains `<!-- relsync:`
//! (stray markers, state lines) it is made inert the same way as the notes, so it reads the
//! same and is never taken for a marker again.
//!
//! The result is always a well-formed block, so composing again with the same block changes
//! nothing: the description never grows from run to run.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::manifest::raw::NotesMode;

/// Marks the start of the part of the description relsync owns.
pub const BEGIN: &str = "<!-- relsync:begin -->";
/// Marks its end.
pub const END: &str = "<!-- relsync:end -->";
/// Starts the state line, which ends with ` -->`.
pub const STATE_PREFIX: &str = "<!-- relsync:state ";
/// What every marker starts with.
const STEM: &str = "<!-- relsync:";
/// What [`STEM`] becomes where relsync did not write a marker.
const INERT_STEM: &str = "<!-- relsync\\:";

/// What relsync manages, recorded inside its block so that `prune: managed` only deletes
/// what relsync created.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Names of the links relsync manages.
    #[serde(default)]
    pub links: BTreeSet<String>,
    /// Files relsync uploaded, by asset name.
    #[serde(default)]
    pub files: BTreeMap<String, StateFile>,
    /// Labels relsync set (Tencent Git does not report them back).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// Fields the forge ignored when relsync wrote them, with the value tried: left as they are
    /// while the manifest asks for that same value (see `plan::guard`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ignored: BTreeMap<String, String>,
    /// Matrix builds: the names of the links and files each scope's jobs declared; an asset
    /// in no scope is the job's without a scope (see `plan::scope`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub scopes: BTreeMap<String, BTreeSet<String>>,
    /// Ids of superseded stored files whose deletion the forge refused (a GitLab token below
    /// Maintainer): never tried again, so the refusal is reported once.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub kept: BTreeSet<u64>,
}

/// One uploaded file in the state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateFile {
    /// sha256 of what was uploaded.
    pub sha256: String,
    /// The name the forge stored it under, when it differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored: Option<String>,
}

/// The state read from a description, and whether it can be relied on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    /// The state; empty unless `trusted`.
    pub state: State,
    /// Read from a well-formed block that relsync wrote.
    pub trusted: bool,
    /// Why relsync's markers are there but no state could be read; `None` when the state was
    /// read, or when the description has no relsync marker at all (relsync never wrote it).
    pub problem: Option<String>,
}

impl State {
    /// Reads the state out of a description (see the module documentation for when it is
    /// trusted).
    #[must_use]
    pub fn parse(description: &str) -> Parsed {
        let (text, _) = normalise(description);
        layout(&text, None).parsed
    }

    /// The state line: an HTML comment whose JSON holds no `<` or `>`.
    fn line(&self) -> String {
        // Serialising string-keyed maps and sets cannot fail; `{}` would read as empty.
        let json = serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned());
        let json = json.replace('<', "\\u003c").replace('>', "\\u003e");
        format!("{STATE_PREFIX}{json} -->")
    }
}

/// Makes text inert: every `<!-- relsync:` becomes `<!-- relsync\:`, which renders the same
/// (both open an HTML comment) but is no marker. Idempotent.
#[must_use]
pub fn escape(text: &str) -> Cow<'_, str> {
    if text.contains(STEM) {
        Cow::Owned(text.replace(STEM, INERT_STEM))
    } else {
        Cow::Borrowed(text)
    }
}

/// The block relsync writes into the description: the notes (made inert, LF line endings)
/// and the state.
#[must_use]
pub fn managed_block(notes: &str, state: &State) -> String {
    let notes = notes.replace("\r\n", "\n").replace('\r', "\n");
    let notes = escape(notes.trim_end());
    format!("{BEGIN}\n{notes}\n{}\n{END}", state.line())
}

/// The description to write, given the current one (if any) and the block from
/// [`managed_block`].
#[must_use]
pub fn compose_description(mode: NotesMode, current: Option<&str>, block: &str) -> String {
    match (mode, current) {
        (_, None) | (NotesMode::Replace, _) => block.to_owned(),
        (NotesMode::Keep, Some(current)) => current.to_owned(),
        (NotesMode::Managed, Some(current)) => compose(current, block),
    }
}

/// `notes: managed`: puts `block` into `current` by the repair rules of the module
/// documentation, keeping all text outside relsync's regions.
#[must_use]
pub fn compose(current: &str, block: &str) -> String {
    let (text, crlf) = normalise(current);
    let regions = layout(&text, notes_of(block)).regions;
    let out = match regions.split_first() {
        None => {
            let hand = escape(text.trim_end());
            if hand.trim().is_empty() {
                block.to_owned()
            } else {
                format!("{hand}\n\n{block}")
            }
        }
        Some((first, rest)) => {
            let mut after = String::new();
            let mut from = first.end;
            for r in rest {
                join(&mut after, &text[from..r.start], from != first.end);
                from = r.end;
            }
            join(&mut after, &text[from..], from != first.end);
            format!("{}{block}{}", escape(&text[..first.start]), escape(&after))
        }
    };
    if crlf { out.replace('\n', "\r\n") } else { out }
}

/// A description whose every line ends with CRLF is read as LF (and written back as CRLF).
fn normalise(description: &str) -> (Cow<'_, str>, bool) {
    let bytes = description.as_bytes();
    let crlf = description.contains('\n')
        && description
            .match_indices('\n')
            .all(|(i, _)| i > 0 && bytes[i - 1] == b'\r');
    if crlf {
        (Cow::Owned(description.replace("\r\n", "\n")), true)
    } else {
        (Cow::Borrowed(description), false)
    }
}

/// Appends `next` where a region was removed (`collapse`): at most one blank line remains
/// between the text before and after it.
fn join(acc: &mut String, next: &str, collapse: bool) {
    let trailing = acc.len() - acc.trim_end_matches('\n').len();
    let leading = next.len() - next.trim_start_matches('\n').len();
    let drop = if collapse {
        leading.min((trailing + leading).saturating_sub(2))
    } else {
        0
    };
    acc.push_str(&next[drop..]);
}

/// The notes inside a block made by [`managed_block`].
fn notes_of(block: &str) -> Option<&str> {
    let inner = block.strip_prefix(BEGIN)?.strip_prefix('\n')?;
    let cut = inner.rfind(&format!("\n{STATE_PREFIX}"))?;
    Some(&inner[..cut]).filter(|n| !n.trim().is_empty())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Begin,
    End,
}

#[derive(Debug, Clone, Copy)]
struct Marker {
    at: usize,
    kind: Kind,
}

impl Marker {
    fn end(self) -> usize {
        self.at
            + match self.kind {
                Kind::Begin => BEGIN.len(),
                Kind::End => END.len(),
            }
    }
}

/// Where relsync's text is, and the state it holds.
struct Layout {
    /// Relsync's regions, in order, not overlapping.
    regions: Vec<Range<usize>>,
    parsed: Parsed,
}

fn untrusted(problem: String) -> Parsed {
    Parsed {
        state: State::default(),
        trusted: false,
        problem: Some(problem),
    }
}

/// Applies the rules of the module documentation. `notes`: the notes being written, which a
/// block that lost its begin marker may still hold.
#[allow(
    clippy::too_many_lines,
    reason = "one scan of the description that classifies every marker; its cases read together"
)]
fn layout(text: &str, notes: Option<&str>) -> Layout {
    let mut marks: Vec<Marker> = text
        .match_indices(BEGIN)
        .map(|(at, _)| Marker {
            at,
            kind: Kind::Begin,
        })
        .chain(text.match_indices(END).map(|(at, _)| Marker {
            at,
            kind: Kind::End,
        }))
        .collect();
    marks.sort_by_key(|m| m.at);
    let begins = marks.iter().filter(|m| m.kind == Kind::Begin).count();
    let ends = marks.len() - begins;

    if let [b, e] = marks[..]
        && b.kind == Kind::Begin
        && e.kind == Kind::End
    {
        let parsed = match state_before(text, b.end(), e.at) {
            Some((_, line)) => match read_state(line) {
                Ok(state) => Parsed {
                    state,
                    trusted: true,
                    problem: None,
                },
                Err(problem) => untrusted(problem),
            },
            None => untrusted(format!(
                "no state line (`{}…-->`) directly before `{END}`",
                STATE_PREFIX.trim_end()
            )),
        };
        return Layout {
            regions: std::iter::once(b.at..e.end()).collect(),
            parsed,
        };
    }
    if marks.is_empty() {
        return Layout {
            regions: Vec::new(),
            parsed: Parsed::default(),
        };
    }
    let problem = if begins == 0 {
        format!("`{BEGIN}` is missing")
    } else if ends == 0 {
        format!("`{END}` is missing")
    } else if begins > 1 || ends > 1 {
        format!("{begins} begin and {ends} end markers (`{BEGIN}`, `{END}`), not one of each")
    } else {
        format!("`{END}` comes before `{BEGIN}`")
    };

    let mut used = vec![false; marks.len()];
    let mut regions = Vec::new();
    for k in 1..marks.len() {
        if marks[k - 1].kind == Kind::Begin && marks[k].kind == Kind::End {
            used[k - 1] = true;
            used[k] = true;
            regions.push(marks[k - 1].at..marks[k].end());
        }
    }
    for k in 0..marks.len() {
        if used[k] {
            continue;
        }
        let m = marks[k];
        let lo = if k == 0 { 0 } else { marks[k - 1].end() };
        let next = marks.get(k + 1).copied();
        match m.kind {
            Kind::End => {
                if let Some((start, _)) = state_before(text, lo, m.at) {
                    regions.push(absorb_notes(text, lo, start, notes)..m.end());
                    used[k] = true;
                } else if let Some(n) = next
                    && n.kind == Kind::Begin
                    && !used[k + 1]
                    && state_before(text, m.end(), n.at).is_some()
                {
                    regions.push(m.at..n.end());
                    used[k] = true;
                    used[k + 1] = true;
                }
            }
            Kind::Begin => {
                let hi = next.map_or(text.len(), |n| n.at);
                if let Some(end) = state_after(text, m.end(), hi) {
                    regions.push(m.at..end);
                    used[k] = true;
                }
            }
        }
    }
    regions.sort_by_key(|r| r.start);
    Layout {
        regions,
        parsed: untrusted(problem),
    }
}

/// The state line that ends `text[lo..at]` (only whitespace after it): its start and text.
fn state_before(text: &str, lo: usize, at: usize) -> Option<(usize, &str)> {
    let t = text[lo..at].trim_end();
    let line_start = t.rfind('\n').map_or(0, |i| i + 1);
    let line = t[line_start..].trim_start();
    line.starts_with(STATE_PREFIX)
        .then(|| (lo + t.len() - line.len(), line))
}

/// The end of the first state line in `text[from..hi]`.
fn state_after(text: &str, from: usize, hi: usize) -> Option<usize> {
    let mut offset = from;
    for line in text[from..hi].split_inclusive('\n') {
        let content = line.trim_end();
        if content.trim_start().starts_with(STATE_PREFIX) {
            return Some(offset + content.len());
        }
        offset += line.len();
    }
    None
}

/// Moves a region's start back over the notes being written, when they are exactly what
/// precedes its state line.
fn absorb_notes(text: &str, lo: usize, start: usize, notes: Option<&str>) -> usize {
    match notes {
        Some(n) if text[lo..start].ends_with(&format!("{n}\n")) => start - n.len() - 1,
        _ => start,
    }
}

/// The JSON of a state line.
fn read_state(line: &str) -> Result<State, String> {
    let body = line.trim_end().strip_prefix(STATE_PREFIX).unwrap_or(line);
    let json = body
        .strip_suffix("-->")
        .ok_or_else(|| "the state line does not end with `-->`".to_owned())?;
    serde_json::from_str(json.trim()).map_err(|e| format!("the state line is not valid JSON ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> State {
        let mut s = State::default();
        s.links.insert("Docs".into());
        s.files.insert(
            "app.tgz".into(),
            StateFile {
                sha256: "ab12".into(),
                stored: Some("app_1.tgz".into()),
            },
        );
        s.labels = vec!["stable".into()];
        s
    }

    fn old_state() -> State {
        let mut s = State::default();
        s.links.insert("Old".into());
        s
    }

    const NOTES: &str = "### Features\n\n- add the list endpoint (abc1234)";

    /// Composes `current` with the test block, and checks what every composition must give:
    /// a second composition changes nothing, and the result holds one trusted block.
    #[track_caller]
    fn repaired(current: &str) -> String {
        let block = managed_block(NOTES, &state());
        let once = compose(current, &block);
        let twice = compose(&once, &block);
        assert_eq!(twice, once, "composing again changed the description");
        let parsed = State::parse(&once);
        assert_eq!(
            parsed,
            Parsed {
                state: state(),
                trusted: true,
                problem: None
            },
            "{once}"
        );
        assert_eq!(once.matches(BEGIN).count(), 1, "{once}");
        assert_eq!(once.matches(END).count(), 1, "{once}");
        once
    }

    fn new_block() -> String {
        managed_block(NOTES, &state())
    }

    fn old_block() -> String {
        managed_block("- old notes", &old_state())
    }

    #[test]
    fn a_well_formed_block_is_replaced_in_place() {
        let current = format!("Intro\n\n{}\n\nOutro", old_block());
        let parsed = State::parse(&current);
        assert!(parsed.trusted);
        assert_eq!(parsed.state, old_state());
        assert_eq!(
            repaired(&current),
            format!("Intro\n\n{}\n\nOutro", new_block())
        );
    }

    #[test]
    fn no_block_appends_one_after_the_hand_text() {
        assert_eq!(
            repaired("Written by hand.\n\n"),
            format!("Written by hand.\n\n{}", new_block())
        );
        assert_eq!(repaired(" \n"), new_block());
        assert_eq!(State::parse("Written by hand."), Parsed::default());
    }

    #[test]
    fn hand_edit_end_marker_in_the_intro() {
        let current = format!("Intro {END} more\n\n{}\n\nOutro", old_block());
        let parsed = State::parse(&current);
        assert!(!parsed.trusted);
        assert!(
            parsed
                .problem
                .as_deref()
                .unwrap()
                .contains("1 begin and 2 end markers"),
            "{parsed:?}"
        );
        assert_eq!(
            repaired(&current),
            format!(
                "Intro <!-- relsync\\:end --> more\n\n{}\n\nOutro",
                new_block()
            )
        );
    }

    #[test]
    fn hand_edit_deleted_begin() {
        // The notes before the state line are the ones being written: they are taken back.
        let same = managed_block(NOTES, &old_state());
        let current = format!(
            "Intro\n\n{}\n\nOutro",
            same.replace(&format!("{BEGIN}\n"), "")
        );
        let parsed = State::parse(&current);
        assert_eq!(parsed.problem.unwrap(), format!("`{BEGIN}` is missing"));
        assert_eq!(
            repaired(&current),
            format!("Intro\n\n{}\n\nOutro", new_block())
        );
        // Other text before the state line cannot be told from hand text: it is kept.
        let current = format!(
            "Intro\n\n{}\n\nOutro",
            old_block().replace(&format!("{BEGIN}\n"), "")
        );
        assert_eq!(
            repaired(&current),
            format!("Intro\n\n- old notes\n{}\n\nOutro", new_block())
        );
    }

    #[test]
    fn hand_edit_deleted_end() {
        let current = format!(
            "Intro\n\n{}\n\nOutro, a footer",
            old_block().replace(&format!("\n{END}"), "")
        );
        assert_eq!(
            State::parse(&current).problem.unwrap(),
            format!("`{END}` is missing")
        );
        assert_eq!(
            repaired(&current),
            format!("Intro\n\n{}\n\nOutro, a footer", new_block())
        );
    }

    #[test]
    fn hand_edit_swapped_markers() {
        let swapped = old_block()
            .replace(BEGIN, "@@")
            .replace(END, BEGIN)
            .replace("@@", END);
        let current = format!("Intro\n\n{swapped}\n\nOutro");
        assert_eq!(
            State::parse(&current).problem.unwrap(),
            format!("`{END}` comes before `{BEGIN}`")
        );
        assert_eq!(
            repaired(&current),
            format!("Intro\n\n{}\n\nOutro", new_block())
        );
    }

    #[test]
    fn hand_edit_block_pasted_twice() {
        let current = format!(
            "Intro\n\n{}\n\nMiddle\n\n{}\n\nOutro",
            old_block(),
            old_block()
        );
        assert!(
            State::parse(&current)
                .problem
                .unwrap()
                .contains("2 begin and 2 end markers")
        );
        assert_eq!(
            repaired(&current),
            format!("Intro\n\n{}\n\nMiddle\n\nOutro", new_block())
        );
    }

    #[test]
    fn hand_edit_corrupted_state_json() {
        let corrupt = old_block().replace("{\"links\"", "{links");
        let current = format!("Intro\n\n{corrupt}\n\nOutro");
        let parsed = State::parse(&current);
        assert_eq!(parsed.state, State::default());
        assert!(!parsed.trusted);
        assert!(
            parsed
                .problem
                .as_deref()
                .unwrap()
                .contains("not valid JSON"),
            "{parsed:?}"
        );
        assert_eq!(
            repaired(&current),
            format!("Intro\n\n{}\n\nOutro", new_block())
        );
        let unclosed = old_block().replace(" -->\n<!-- relsync:end", "\n<!-- relsync:end");
        assert!(
            State::parse(&unclosed)
                .problem
                .unwrap()
                .contains("does not end with `-->`")
        );
        let no_state = format!("{BEGIN}\nnotes\n{END}");
        assert!(
            State::parse(&no_state)
                .problem
                .unwrap()
                .contains("no state line")
        );
        assert_eq!(repaired(&no_state), new_block());
    }

    #[test]
    fn hand_edit_crlf_line_endings_round_trip() {
        let lf = format!("Intro\n\n{}\n\nOutro", old_block());
        let crlf = lf.replace('\n', "\r\n");
        let parsed = State::parse(&crlf);
        assert!(parsed.trusted);
        assert_eq!(parsed.state, old_state());
        let out = repaired(&crlf);
        assert_eq!(
            out,
            format!("Intro\n\n{}\n\nOutro", new_block()).replace('\n', "\r\n")
        );
        assert!(
            !out.replace("\r\n", "").contains('\n'),
            "line endings are not mixed"
        );
        // A description with mixed endings keeps its hand text as it is.
        let mixed = format!("Intro\r\n\n{}\nOutro\r\n", old_block());
        assert_eq!(
            repaired(&mixed),
            format!("Intro\r\n\n{}\nOutro\r\n", new_block())
        );
    }

    #[test]
    fn hand_edit_state_line_in_hand_text_is_ignored() {
        let forged = "<!-- relsync:state {\"links\":[\"hand\"]} -->";
        let current = format!("Intro\n{forged}\n\n{}\n\nOutro", old_block());
        let parsed = State::parse(&current);
        assert!(parsed.trusted);
        assert_eq!(parsed.state, old_state(), "the forged line is ignored");
        let out = repaired(&current);
        assert_eq!(
            out,
            format!(
                "Intro\n{}\n\n{}\n\nOutro",
                forged.replace("relsync:", "relsync\\:"),
                new_block()
            )
        );
        // Alone, without relsync's block, it is ignored too.
        assert_eq!(State::parse(forged), Parsed::default());
    }

    #[test]
    fn a_state_line_inside_the_notes_is_not_the_state() {
        let forged = format!(
            "{BEGIN}\nnotes\n<!-- relsync:state {{\"links\":[\"hand\"]}} -->\nmore\n{}\n{END}",
            old_state().line()
        );
        let parsed = State::parse(&forged);
        assert!(parsed.trusted);
        assert_eq!(parsed.state, old_state());
    }

    #[test]
    fn markers_in_the_notes_are_made_inert() {
        let notes = format!(
            "- fix: {END} and {BEGIN}\n  BREAKING CHANGE: <!-- relsync:state {{\"links\":[\"hand\"]}} -->"
        );
        let block = managed_block(&notes, &state());
        assert_eq!(block.matches(STEM).count(), 3, "{block}");
        assert!(block.contains("- fix: <!-- relsync\\:end --> and <!-- relsync\\:begin -->"));
        let parsed = State::parse(&block);
        assert!(parsed.trusted);
        assert_eq!(parsed.state, state());
        assert_eq!(compose(&block, &block), block);
    }

    #[test]
    fn names_cannot_close_the_state_comment() {
        let mut s = State::default();
        s.links.insert(format!("a --> b {END} \n c"));
        let block = managed_block("notes", &s);
        assert_eq!(block.matches("-->").count(), 3, "{block}");
        assert_eq!(block.lines().count(), 4);
        assert_eq!(State::parse(&block).state, s);
    }

    #[test]
    fn notes_with_carriage_returns_keep_one_line_ending() {
        let block = managed_block("a\r\nb\rc\r\n", &state());
        assert!(!block.contains('\r'));
        assert!(block.contains("\na\nb\nc\n"));
    }

    #[test]
    fn keep_and_replace_modes() {
        let block = new_block();
        assert_eq!(
            compose_description(NotesMode::Keep, Some("mine"), &block),
            "mine"
        );
        assert_eq!(
            compose_description(NotesMode::Replace, Some("mine"), &block),
            block
        );
        assert_eq!(compose_description(NotesMode::Managed, None, &block), block);
    }

    mod properties {
        use proptest::prelude::*;

        use super::super::*;

        /// Text built from pieces that matter here: marker fragments, whole markers, state
        /// lines, line endings and plain words.
        fn text() -> impl Strategy<Value = String> {
            let piece = prop_oneof![
                Just(BEGIN.to_owned()),
                Just(END.to_owned()),
                Just(STATE_PREFIX.to_owned()),
                Just("<!-- relsync:state {\"links\":[\"hand\"]} -->".to_owned()),
                Just("<!-- relsync:state {bad -->".to_owned()),
                Just("<!-- relsync".to_owned()),
                Just("relsync:end -->".to_owned()),
                Just(":begin -->".to_owned()),
                Just("<!--".to_owned()),
                Just("-->".to_owned()),
                Just("\\".to_owned()),
                Just("\n".to_owned()),
                Just("\r\n".to_owned()),
                Just("\r".to_owned()),
                Just(" ".to_owned()),
                "[a-z<>!:-]{1,6}",
                any::<String>(),
            ];
            prop::collection::vec(piece, 0..12).prop_map(|v| v.concat())
        }

        /// Hand text that holds no marker, though it may hold fragments of one.
        fn hand() -> impl Strategy<Value = String> {
            text().prop_map(|t| t.replace(STEM, "<!-- x:"))
        }

        fn a_state() -> impl Strategy<Value = State> {
            (
                prop::collection::btree_set(any::<String>(), 0..3),
                any::<String>(),
            )
                .prop_map(|(links, sha)| {
                    let mut s = State {
                        links,
                        ..State::default()
                    };
                    s.files.insert(
                        "f".into(),
                        StateFile {
                            sha256: sha,
                            stored: None,
                        },
                    );
                    s
                })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            #[test]
            fn composing_is_idempotent_and_yields_one_trusted_block(
                current in text(),
                notes in text(),
                s in a_state(),
            ) {
                let block = managed_block(&notes, &s);
                let once = compose(&current, &block);
                prop_assert_eq!(&compose(&once, &block), &once);
                let parsed = State::parse(&once);
                prop_assert!(parsed.trusted, "{:?}", parsed.problem);
                prop_assert_eq!(parsed.state, s);
                prop_assert_eq!(once.matches(BEGIN).count(), 1);
                prop_assert_eq!(once.matches(END).count(), 1);
            }

            #[test]
            fn hand_text_around_the_block_survives(
                before in hand(),
                after in hand(),
                old_notes in text(),
                notes in text(),
                s in a_state(),
            ) {
                let old = managed_block(&old_notes, &State::default());
                let block = managed_block(&notes, &s);
                let current = format!("{before}{old}{after}");
                prop_assert_eq!(compose(&current, &block), format!("{before}{block}{after}"));
            }

            #[test]
            fn hand_text_without_a_block_survives(before in hand(), notes in text()) {
                let block = managed_block(&notes, &State::default());
                let out = compose(&before, &block);
                prop_assert!(out.starts_with(before.trim_end()));
                prop_assert!(out.ends_with(&block) || out.ends_with(&block.replace('\n', "\r\n")));
            }
        }
    }
}

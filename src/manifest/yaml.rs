//! All YAML parsing lives here: serde (`serde_norway`) for the data, and a position index
//! (yaml-rust2 events) so that errors found after parsing can name the file's line.

use std::collections::HashMap;
use std::path::Path;

use serde::de::DeserializeOwned;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

use crate::error::InputError;

/// Line numbers (1-based) of every key path in a YAML document: `assets.files[1].path`.
#[derive(Debug, Clone, Default)]
pub struct LineIndex {
    lines: HashMap<String, usize>,
}

impl LineIndex {
    /// The line of `path`, or of its nearest ancestor that has one.
    #[must_use]
    pub fn line_of(&self, path: &str) -> Option<usize> {
        let mut p = path;
        loop {
            if let Some(line) = self.lines.get(p) {
                return Some(*line);
            }
            let cut = p.rfind(['.', '['])?;
            p = &p[..cut];
        }
    }
}

/// Parses `text` (read from `file`) into `T`, with the index of its key lines.
///
/// # Errors
/// Malformed YAML, unknown keys and wrong types, as an [`InputError`] naming the key path,
/// the file and the line, with a remedy.
pub fn parse<T: DeserializeOwned>(text: &str, file: &Path) -> Result<(T, LineIndex), InputError> {
    if text.len() > MAX_BYTES {
        return Err(too_large(file, text.len() as u64));
    }
    let index = index(text).map_err(|e| match e {
        IndexError::Scan(e) => InputError::new(format!(
            "{}:{}:{}: malformed YAML: {}",
            file.display(),
            e.marker().line(),
            // The scanner counts columns from 0; editors count from 1.
            e.marker().col() + 1,
            e.info()
        ))
        .with_remedy("fix the YAML syntax; `relsync check` validates the manifest"),
        IndexError::Limit { line, message } => {
            InputError::new(format!("{}:{line}: {message}", file.display())).with_remedy(
                "write the values out: a manifest needs only a few anchors and aliases",
            )
        }
    })?;
    // An empty document (or one holding only comments) means "all defaults".
    let text = if text
        .trim()
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        "{}"
    } else {
        text
    };
    let de = serde_norway::Deserializer::from_str(text);
    match serde_path_to_error::deserialize::<_, T>(de) {
        Ok(value) => Ok((value, index)),
        Err(err) => Err(describe(&err, file, &index)),
    }
}

fn describe(
    err: &serde_path_to_error::Error<serde_norway::Error>,
    file: &Path,
    index: &LineIndex,
) -> InputError {
    let path = err.path().to_string();
    let inner = err.inner();
    let line = inner
        .location()
        .map(|l| l.line())
        .or_else(|| index.line_of(&path));
    let at = match line {
        Some(line) => format!("{}:{line}", file.display()),
        None => file.display().to_string(),
    };
    let message = inner.to_string();
    // serde_norway appends " at line L column C"; we print the location ourselves.
    let message = message
        .split(" at line ")
        .next()
        .unwrap_or(&message)
        .to_owned();
    // ... and starts with the key path, which the message names already.
    let message = message
        .strip_prefix(&format!("{path}: "))
        .map_or(message.clone(), str::to_owned);
    let key = if path == "." {
        "the document".to_owned()
    } else {
        format!("`{path}`")
    };
    if let Some((unknown, expected)) = unknown_field(&message) {
        let mut remedy = match crate::suggest::did_you_mean(&unknown, &expected) {
            Some(s) => format!("did you mean `{s}`? "),
            None => String::new(),
        };
        remedy.push_str(&format!(
            "known keys here: {}; `relsync schema` prints every key",
            expected
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        let parent = path
            .rfind('.')
            .map(|i| format!(" in `{}`", &path[..i]))
            .unwrap_or_default();
        return InputError::new(format!("{at}: unknown key `{unknown}`{parent}"))
            .with_remedy(remedy);
    }
    InputError::new(format!("{at}: {key}: {message}"))
        .with_remedy("see `relsync schema` for the expected type of each key")
}

/// Picks apart serde's "unknown field `x`, expected one of `a`, `b`" message.
fn unknown_field(message: &str) -> Option<(String, Vec<String>)> {
    let start = message.find("unknown field `")?;
    let rest = &message[start + "unknown field `".len()..];
    let (name, rest) = rest.split_once('`')?;
    let expected = rest
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    Some((name.to_owned(), expected))
}

/// The largest manifest read, in bytes.
pub const MAX_BYTES: usize = 1024 * 1024;
/// The most nodes a manifest may hold once its aliases are expanded.
pub const MAX_NODES: u64 = 100_000;
/// The most aliases (`*name`) a manifest may use.
pub const MAX_ALIASES: usize = 1_000;
/// The deepest nesting of mappings and sequences.
pub const MAX_DEPTH: usize = 64;

/// The error for a manifest larger than [`MAX_BYTES`].
#[must_use]
pub fn too_large(file: &Path, size: u64) -> InputError {
    InputError::new(format!(
        "{}: the manifest is {size} bytes; at most {MAX_BYTES} are read",
        file.display()
    ))
    .with_remedy("a release.yml is a few kilobytes: check that `-f/--file` names the manifest")
}

#[derive(Debug)]
enum IndexError {
    Scan(yaml_rust2::ScanError),
    Limit { line: usize, message: String },
}

/// Builds the line index from the parser's events, counting what the document expands to:
/// anchors and aliases are measured here, before serde expands anything.
fn index(text: &str) -> Result<LineIndex, IndexError> {
    let mut builder = IndexBuilder::default();
    Parser::new_from_str(text)
        .load(&mut builder, false)
        .map_err(IndexError::Scan)?;
    if let Some((line, message)) = builder.expansion.refused {
        return Err(IndexError::Limit { line, message });
    }
    Ok(LineIndex {
        lines: builder.lines,
    })
}

/// The size of the document with its aliases expanded, tracked event by event.
#[derive(Default)]
struct Expansion {
    /// Nodes so far, each alias counted as the size of what it names.
    nodes: u64,
    aliases: usize,
    /// One entry per open mapping or sequence: its anchor and the node count at its start.
    open: Vec<Option<(usize, u64)>>,
    /// Expanded size of each complete anchored node.
    sizes: HashMap<usize, u64>,
    refused: Option<(usize, String)>,
}

impl Expansion {
    fn on_event(&mut self, ev: &Event, line: usize) {
        if self.refused.is_some() {
            return;
        }
        match ev {
            Event::Scalar(_, _, anchor, _) => {
                self.nodes += 1;
                if *anchor > 0 {
                    self.sizes.insert(*anchor, 1);
                }
            }
            Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) => {
                self.nodes += 1;
                self.open
                    .push((*anchor > 0).then_some((*anchor, self.nodes - 1)));
                if self.open.len() > MAX_DEPTH {
                    self.refused = Some((
                        line,
                        format!("the YAML nests deeper than {MAX_DEPTH} levels"),
                    ));
                }
            }
            Event::MappingEnd | Event::SequenceEnd => {
                if let Some(Some((anchor, start))) = self.open.pop() {
                    self.sizes.insert(anchor, self.nodes - start);
                }
            }
            Event::Alias(id) => {
                self.aliases += 1;
                let Some(size) = self.sizes.get(id) else {
                    self.refused = Some((
                        line,
                        "an alias refers to the node that contains it (a recursive alias)".into(),
                    ));
                    return;
                };
                self.nodes = self.nodes.saturating_add(*size);
                if self.aliases > MAX_ALIASES {
                    self.refused = Some((
                        line,
                        format!("the YAML uses more than {MAX_ALIASES} aliases"),
                    ));
                }
            }
            _ => {}
        }
        if self.refused.is_none() && self.nodes > MAX_NODES {
            self.refused = Some((
                line,
                format!(
                    "the YAML's aliases expand to more than {MAX_NODES} nodes (an alias bomb?)"
                ),
            ));
        }
    }
}

enum Frame {
    Map { prefix: String, key: Option<String> },
    Seq { prefix: String, next: usize },
}

#[derive(Default)]
struct IndexBuilder {
    stack: Vec<Frame>,
    lines: HashMap<String, usize>,
    expansion: Expansion,
}

impl IndexBuilder {
    /// The path of the node starting now, or `None` when it is a mapping key.
    fn value_path(&mut self, line: usize) -> Option<String> {
        match self.stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Map { key: None, .. }) => None,
            Some(Frame::Map {
                prefix,
                key: Some(k),
            }) => Some(join(prefix, k)),
            Some(Frame::Seq { prefix, next }) => {
                let p = format!("{prefix}[{next}]");
                self.lines.entry(p.clone()).or_insert(line);
                Some(p)
            }
        }
    }

    /// A value is complete: the parent moves on.
    fn finish_value(&mut self) {
        match self.stack.last_mut() {
            Some(Frame::Map { key, .. }) => *key = None,
            Some(Frame::Seq { next, .. }) => *next += 1,
            None => {}
        }
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

impl MarkedEventReceiver for IndexBuilder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let line = mark.line();
        self.expansion.on_event(&ev, line);
        if self.expansion.refused.is_some() {
            return;
        }
        match ev {
            Event::Scalar(value, ..) => match self.value_path(line) {
                None => {
                    if let Some(Frame::Map { prefix, key }) = self.stack.last_mut() {
                        self.lines.entry(join(prefix, &value)).or_insert(line);
                        *key = Some(value);
                    }
                }
                Some(_) => self.finish_value(),
            },
            Event::Alias(_) if self.value_path(line).is_some() => self.finish_value(),
            Event::MappingStart(..) => {
                let prefix = self.value_path(line).unwrap_or_default();
                self.stack.push(Frame::Map { prefix, key: None });
            }
            Event::SequenceStart(..) => {
                let prefix = self.value_path(line).unwrap_or_default();
                self.stack.push(Frame::Seq { prefix, next: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
                self.finish_value();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_nested_keys_and_items() {
        let text = "forge:\n  kind: gitlab\nassets:\n  files:\n    - path: a\n    - path: b\n      name: x\n  links: [{name: d, url: u}]\n";
        let idx = index(text).unwrap();
        assert_eq!(idx.line_of("forge.kind"), Some(2));
        assert_eq!(idx.line_of("assets.files[1].path"), Some(6));
        assert_eq!(idx.line_of("assets.files[1].name"), Some(7));
        assert_eq!(idx.line_of("assets.links[0].url"), Some(8));
        assert_eq!(idx.line_of("assets.files[1].direct_asset_path"), Some(6));
    }

    fn bomb(levels: usize) -> String {
        let mut s = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..levels {
            let p = i - 1;
            s.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        s
    }

    #[test]
    fn alias_bomb_is_refused_quickly_naming_the_line() {
        let text = format!("template:\n  env: []\n{}", bomb(9));
        let start = std::time::Instant::now();
        let err = parse::<serde_json::Value>(&text, Path::new("release.yml")).unwrap_err();
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
        let msg = err.to_string();
        assert!(msg.contains("release.yml:"), "{msg}");
        assert!(msg.contains("alias bomb"), "{msg}");
        // The alias that crossed the limit is on the fifth anchored line (10^5 nodes).
        assert!(msg.starts_with("release.yml:7:"), "{msg}");
    }

    #[test]
    fn a_few_aliases_are_fine() {
        let text = "base: &b {name: x, url: y}\nlinks: [*b, *b, *b]\n";
        let (v, _) = parse::<serde_json::Value>(text, Path::new("release.yml")).unwrap();
        assert_eq!(v["links"][2]["url"], "y");
        let ok = bomb(4);
        assert!(parse::<serde_json::Value>(&ok, Path::new("r.yml")).is_ok());
    }

    #[test]
    fn too_many_aliases_deep_nesting_and_size_are_refused() {
        let many = format!("a: &a x\nl: [{}]\n", vec!["*a"; MAX_ALIASES + 1].join(", "));
        let msg = parse::<serde_json::Value>(&many, Path::new("r.yml"))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("more than 1000 aliases"), "{msg}");
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        let msg = parse::<serde_json::Value>(&deep, Path::new("r.yml"))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("nests deeper"), "{msg}");
        let big = format!("# {}\n", "x".repeat(MAX_BYTES));
        let msg = parse::<serde_json::Value>(&big, Path::new("r.yml"))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("at most 1048576"), "{msg}");
    }

    #[test]
    fn unknown_key_is_named_with_suggestion_and_line() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct T {
            assets: Option<u32>,
        }
        let err = parse::<T>("\nasets: 1\n", Path::new("release.yml")).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("release.yml:2"), "{text}");
        assert!(text.contains("unknown key `asets`"), "{text}");
        assert!(text.contains("did you mean `assets`"), "{text}");
    }
}

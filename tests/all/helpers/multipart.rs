//! The `multipart/form-data` parser (RFC 7578) of the emulators: splitting a body into parts at
//! the boundary, and reading `Content-Type` / `Content-Disposition` parameters (quoted strings
//! with `\` escapes). What a part means (which field is the file, how its name is cleaned, which
//! malformed input is refused) is each forge's own: see `tgit/multipart.rs` and
//! `gitea/multipart.rs`.

#![allow(dead_code)]

/// One part: its header block (lines separated by CRLF, empty when it has none) and its data.
#[derive(Debug, Clone)]
pub struct RawPart {
    pub head: String,
    pub data: Vec<u8>,
}

/// Where the first delimiter may stand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preamble {
    /// Anywhere: the first `--boundary` in the body.
    Anywhere,
    /// At the very start, or after a CRLF (Go's `mime/multipart`).
    LineStart,
}

/// Why a body is not well-formed multipart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Malformed {
    /// It ends too early: no first delimiter, no end of a part's headers, or no delimiter after
    /// a part's data.
    Eof,
    /// A delimiter is followed by something other than padding and CRLF (or `--`).
    BadDelimiter,
}

/// The position of `needle` in `hay` at or after `from`.
pub fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if from > hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// Splits the body into its parts, up to the closing delimiter (`--boundary--`).
pub fn split(body: &[u8], boundary: &str, preamble: Preamble) -> Result<Vec<RawPart>, Malformed> {
    let delim = format!("--{boundary}").into_bytes();
    let next_delim = format!("\r\n--{boundary}").into_bytes();
    let mut at = match preamble {
        Preamble::Anywhere => find(body, &delim, 0).ok_or(Malformed::Eof)? + delim.len(),
        Preamble::LineStart if body.starts_with(&delim) => delim.len(),
        Preamble::LineStart => find(body, &next_delim, 0).ok_or(Malformed::Eof)? + next_delim.len(),
    };
    let mut parts = Vec::new();
    loop {
        if body[at..].starts_with(b"--") {
            return Ok(parts);
        }
        // Transport padding, then CRLF.
        while at < body.len() && (body[at] == b' ' || body[at] == b'\t') {
            at += 1;
        }
        if !body[at..].starts_with(b"\r\n") {
            return Err(Malformed::BadDelimiter);
        }
        at += 2;
        let (head, data_start) = if body[at..].starts_with(b"\r\n") {
            // A part without headers.
            (String::new(), at + 2)
        } else {
            let head_end = find(body, b"\r\n\r\n", at).ok_or(Malformed::Eof)?;
            (
                String::from_utf8_lossy(&body[at..head_end]).into_owned(),
                head_end + 4,
            )
        };
        let data_end = find(body, &next_delim, data_start).ok_or(Malformed::Eof)?;
        parts.push(RawPart {
            head,
            data: body[data_start..data_end].to_vec(),
        });
        at = data_end + next_delim.len();
    }
}

/// What follows a quoted value before the next `;` (`name="a"junk; ...`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterQuote {
    /// Skipped.
    Skip,
    /// Read as the next parameter.
    Keep,
}

/// `; key=value; key="quoted \" value"` into pairs, in order: keys trimmed as written, values
/// unquoted (unquoted values trimmed); a key without `=` has an empty value.
pub fn header_params(s: &str, after_quote: AfterQuote) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while matches!(chars.peek(), Some(c) if *c == ';' || c.is_whitespace()) {
            chars.next();
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == ';' {
                break;
            }
            key.push(c);
            chars.next();
        }
        if key.is_empty() && chars.peek().is_none() {
            return out;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'=') {
            chars.next();
            if chars.peek() == Some(&'"') {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some(n) = chars.next() {
                                value.push(n);
                            }
                        }
                        '"' => break,
                        c => value.push(c),
                    }
                }
                if after_quote == AfterQuote::Skip {
                    while matches!(chars.peek(), Some(c) if *c != ';') {
                        chars.next();
                    }
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c == ';' {
                        break;
                    }
                    value.push(c);
                    chars.next();
                }
                value = value.trim().to_string();
            }
        }
        out.push((key.trim().to_string(), value));
    }
}

/// The non-empty `boundary` parameter of a `multipart/form-data` content type, its parameters
/// read with `params`.
pub fn boundary(
    content_type: &str,
    params: impl FnOnce(&str) -> Vec<(String, String)>,
) -> Option<String> {
    let (mime, rest) = content_type.split_once(';')?;
    if !mime.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params(rest)
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v)
        .filter(|b| !b.is_empty())
}

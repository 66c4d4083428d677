//! A small `multipart/form-data` parser (RFC 7578), enough for the attachment upload: the
//! boundary comes from `Content-Type`, each part's `Content-Disposition` gives `name` and
//! `filename` (quoted, with `\"` and `\\` escapes as reqwest and browsers send them, or RFC 5987
//! `filename*=UTF-8''...`), and its `Content-Type` is kept.

use percent_encoding::percent_decode_str;

#[derive(Debug, Clone)]
pub(super) struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

/// The `boundary` parameter of a `multipart/form-data` content type.
pub(super) fn boundary(content_type: &str) -> Option<String> {
    let (mime, params) = content_type.split_once(';')?;
    if !mime.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    header_params(params)
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v)
        .filter(|b| !b.is_empty())
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if from > hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// Splits the body into parts; `None` when it is not well-formed multipart.
pub(super) fn parse(content_type: &str, body: &[u8]) -> Option<Vec<Part>> {
    let b = boundary(content_type)?;
    let delim = format!("--{b}").into_bytes();
    let next_delim = format!("\r\n--{b}").into_bytes();
    let mut at = find(body, &delim, 0)? + delim.len();
    let mut parts = Vec::new();
    loop {
        if body[at..].starts_with(b"--") {
            return Some(parts);
        }
        // Transport padding, then CRLF.
        while at < body.len() && (body[at] == b' ' || body[at] == b'\t') {
            at += 1;
        }
        if !body[at..].starts_with(b"\r\n") {
            return None;
        }
        at += 2;
        let (head, data_start) = if body[at..].starts_with(b"\r\n") {
            // A part without headers (it has no name, so `part` rejects it).
            (String::new(), at + 2)
        } else {
            let head_end = find(body, b"\r\n\r\n", at)?;
            (
                String::from_utf8_lossy(&body[at..head_end]).into_owned(),
                head_end + 4,
            )
        };
        let data_end = find(body, &next_delim, data_start)?;
        parts.push(part(&head, body[data_start..data_end].to_vec())?);
        at = data_end + next_delim.len();
    }
}

fn part(head: &str, data: Vec<u8>) -> Option<Part> {
    let mut name = None;
    let mut filename = None;
    let mut filename_star = None;
    let mut content_type = None;
    for line in head.split("\r\n").filter(|l| !l.is_empty()) {
        let (k, v) = line.split_once(':')?;
        if k.trim().eq_ignore_ascii_case("content-type") {
            content_type = Some(v.trim().to_string());
        } else if k.trim().eq_ignore_ascii_case("content-disposition") {
            let (kind, params) = v.split_once(';').unwrap_or((v, ""));
            if !kind.trim().eq_ignore_ascii_case("form-data") {
                return None;
            }
            for (pk, pv) in header_params(params) {
                match pk.to_ascii_lowercase().as_str() {
                    "name" => name = Some(pv),
                    "filename" => filename = Some(pv),
                    "filename*" => filename_star = ext_value(&pv),
                    _ => {}
                }
            }
        }
    }
    Some(Part {
        name: name?,
        filename: filename_star.or(filename),
        content_type,
        data,
    })
}

/// RFC 5987 `charset'lang'pct-encoded`.
fn ext_value(v: &str) -> Option<String> {
    let mut it = v.splitn(3, '\'');
    let (_charset, _lang, value) = (it.next()?, it.next()?, it.next()?);
    percent_decode_str(value)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

/// `; key=value; key="quoted \" value"` into pairs (keys as written, values unquoted).
fn header_params(s: &str) -> Vec<(String, String)> {
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
                // Skip anything up to the next `;`.
                while matches!(chars.peek(), Some(c) if *c != ';') {
                    chars.next();
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

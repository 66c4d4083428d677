//! A small `multipart/form-data` parser with the semantics of Go's `mime/multipart` as Gitea uses
//! it: a part is a file only when its `Content-Disposition` has a non-empty `filename` (whose base
//! name is kept); `name*=` / `filename*=` (RFC 2231) are decoded; quoted strings take `\` escapes.

use percent_encoding::percent_decode_str;

#[derive(Debug, Clone)]
pub(super) struct Part {
    pub name: String,
    /// `Some` for file parts.
    pub filename: Option<String>,
    pub data: Vec<u8>,
}

/// The `boundary` parameter of a `multipart/form-data` content type.
pub(super) fn boundary(content_type: &str) -> Option<String> {
    let (mime, params) = content_type.split_once(';')?;
    if !mime.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params_of(params)
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v)
        .filter(|b| !b.is_empty())
}

/// `; a=b; c="d \" e"` → `[(a, b), (c, d " e)]`; `k*=utf-8''%xx` is decoded into `k`.
fn params_of(s: &str) -> Vec<(String, String)> {
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
            break;
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
        let key = key.trim().to_ascii_lowercase();
        if let Some(base) = key.strip_suffix('*') {
            // RFC 2231 / 5987: charset'lang'percent-encoded
            let encoded = value.splitn(3, '\'').nth(2).unwrap_or(&value).to_string();
            let decoded = percent_decode_str(&encoded)
                .decode_utf8_lossy()
                .into_owned();
            out.retain(|(k, _): &(String, String)| k != base);
            out.push((base.to_string(), decoded));
        } else if !out.iter().any(|(k, _)| *k == key) {
            out.push((key, value));
        }
        if chars.peek().is_none() {
            break;
        }
    }
    out
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if from > hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Go's `filepath.Base` on Unix.
fn base_name(s: &str) -> String {
    let t = s.trim_end_matches('/');
    if t.is_empty() {
        return if s.is_empty() { ".".into() } else { "/".into() };
    }
    t.rsplit('/').next().unwrap_or(t).to_string()
}

/// Parses the body; `Err` with Go's kind of message when it is malformed.
pub(super) fn parse(body: &[u8], boundary: &str) -> Result<Vec<Part>, String> {
    let delim = format!("--{boundary}").into_bytes();
    let mut close = b"\r\n".to_vec();
    close.extend_from_slice(&delim);
    // The first delimiter: at the very start or after a preamble line.
    let mut pos = if body.starts_with(&delim) {
        delim.len()
    } else {
        find(body, &close, 0).ok_or("multipart: NextPart: EOF")? + close.len()
    };
    let mut parts = Vec::new();
    loop {
        if body[pos..].starts_with(b"--") {
            return Ok(parts);
        }
        // Transport padding, then CRLF.
        while pos < body.len() && (body[pos] == b' ' || body[pos] == b'\t') {
            pos += 1;
        }
        if !body[pos..].starts_with(b"\r\n") {
            return Err("multipart: NextPart: bad delimiter line".into());
        }
        pos += 2;
        let (head, data_start) = if body[pos..].starts_with(b"\r\n") {
            (String::new(), pos + 2)
        } else {
            let end = find(body, b"\r\n\r\n", pos).ok_or("multipart: NextPart: EOF")?;
            (
                String::from_utf8_lossy(&body[pos..end]).into_owned(),
                end + 4,
            )
        };
        let data_end = find(body, &close, data_start).ok_or("multipart: NextPart: EOF")?;
        let mut name = String::new();
        let mut filename = None;
        for line in head.split("\r\n") {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            if !k.trim().eq_ignore_ascii_case("content-disposition") {
                continue;
            }
            let v = v.trim();
            let params = v.split_once(';').map(|(_, p)| p).unwrap_or("");
            for (pk, pv) in params_of(params) {
                match pk.as_str() {
                    "name" => name = pv,
                    "filename" if !pv.is_empty() => filename = Some(base_name(&pv)),
                    _ => {}
                }
            }
        }
        parts.push(Part {
            name,
            filename,
            data: body[data_start..data_end].to_vec(),
        });
        pos = data_end + close.len();
    }
}

//! What a `multipart/form-data` part means to the Gitea emulator, with the semantics of Go's
//! `mime/multipart` as Gitea uses it: the first boundary stands at the start or after a CRLF; a
//! part is a file only when its `Content-Disposition` has a non-empty `filename` (whose base name
//! is kept); parameter names are case-insensitive, the first of a name wins, and `name*=` /
//! `filename*=` (RFC 2231) are decoded. Splitting and parameter reading are the shared
//! `helpers/multipart.rs`.

use percent_encoding::percent_decode_str;

use super::super::multipart::{self, AfterQuote, Malformed, Preamble};

#[derive(Debug, Clone)]
pub(super) struct Part {
    pub name: String,
    /// `Some` for file parts.
    pub filename: Option<String>,
    pub data: Vec<u8>,
}

/// The `boundary` parameter of a `multipart/form-data` content type.
pub(super) fn boundary(content_type: &str) -> Option<String> {
    multipart::boundary(content_type, params_of)
}

/// `; a=b; c="d \" e"` → `[(a, b), (c, d " e)]`; `k*=utf-8''%xx` is decoded into `k`.
fn params_of(s: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (key, value) in multipart::header_params(s, AfterQuote::Keep) {
        let key = key.to_ascii_lowercase();
        if let Some(base) = key.strip_suffix('*') {
            // RFC 2231 / 5987: charset'lang'percent-encoded
            let encoded = value.splitn(3, '\'').nth(2).unwrap_or(&value).to_string();
            let decoded = percent_decode_str(&encoded)
                .decode_utf8_lossy()
                .into_owned();
            out.retain(|(k, _)| k != base);
            out.push((base.to_string(), decoded));
        } else if !out.iter().any(|(k, _)| *k == key) {
            out.push((key, value));
        }
    }
    out
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
    let raw = multipart::split(body, boundary, Preamble::LineStart).map_err(|e| {
        match e {
            Malformed::Eof => "multipart: NextPart: EOF",
            Malformed::BadDelimiter => "multipart: NextPart: bad delimiter line",
        }
        .to_string()
    })?;
    Ok(raw
        .into_iter()
        .map(|p| {
            let mut name = String::new();
            let mut filename = None;
            for line in p.head.split("\r\n") {
                let Some((k, v)) = line.split_once(':') else {
                    continue;
                };
                if !k.trim().eq_ignore_ascii_case("content-disposition") {
                    continue;
                }
                let v = v.trim();
                let params = v.split_once(';').map_or("", |(_, p)| p);
                for (pk, pv) in params_of(params) {
                    match pk.as_str() {
                        "name" => name = pv,
                        "filename" if !pv.is_empty() => filename = Some(base_name(&pv)),
                        _ => {}
                    }
                }
            }
            Part {
                name,
                filename,
                data: p.data,
            }
        })
        .collect())
}

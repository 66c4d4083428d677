//! What a `multipart/form-data` part means to the Tencent Git emulator (the attachment upload):
//! each part's `Content-Disposition` must be `form-data` with a `name`; its `filename` (quoted, or
//! RFC 5987 `filename*=UTF-8''...`, which wins) and its `Content-Type` are kept. The boundary
//! may follow a preamble anywhere; text after a closing quote is skipped. Splitting and
//! parameter reading are the shared `helpers/multipart.rs`.

use percent_encoding::percent_decode_str;

use super::super::multipart::{self, AfterQuote, Preamble};

#[derive(Debug, Clone)]
pub(super) struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

/// `; key=value; key="quoted \" value"` into pairs (keys as written, values unquoted).
fn header_params(s: &str) -> Vec<(String, String)> {
    multipart::header_params(s, AfterQuote::Skip)
}

/// The `boundary` parameter of a `multipart/form-data` content type.
pub(super) fn boundary(content_type: &str) -> Option<String> {
    multipart::boundary(content_type, header_params)
}

/// Splits the body into parts; `None` when it is not well-formed multipart or a part lacks a
/// `form-data` disposition with a name.
pub(super) fn parse(content_type: &str, body: &[u8]) -> Option<Vec<Part>> {
    let b = boundary(content_type)?;
    multipart::split(body, &b, Preamble::Anywhere)
        .ok()?
        .into_iter()
        .map(|p| part(&p.head, p.data))
        .collect()
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
        .map(std::borrow::Cow::into_owned)
}

//! HTTP plumbing for the GitLab emulator: GitLab's error body shapes, Rails' path encoding,
//! Grape-like parameter parsing (query + JSON or form bodies, Rack nested keys) and offset
//! pagination. Responses and the shared URL helpers come from `emu_common`.

use percent_encoding::{AsciiSet, utf8_percent_encode};
use serde_json::{Map, Value, json};

use super::super::emu_common::{Page, SEGMENT, link, page_header};
pub(super) use super::super::emu_common::{Resp, dec, echo_token, enc, form_pairs};

/// What Rails' route helpers keep in a path segment (`Journey::Router::Utils.escape_segment`):
/// unreserved characters, sub-delims, `:` and `@`.
const RAILS_SEGMENT: &AsciiSet = &SEGMENT
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b':')
    .remove(b'@');

/// Encodes a path segment as GitLab's Rails URL helpers do (`tag_path`, `direct_asset_url`,
/// `_links`): `/` becomes `%2F`, `.` and `+` stay.
pub(super) fn rails_enc(s: &str) -> String {
    utf8_percent_encode(s, RAILS_SEGMENT).to_string()
}

/// GitLab's error bodies (and a redirect), beside `emu_common`'s `Resp::json` and
/// `Resp::message`.
impl Resp {
    /// `{"message": ["...", ...]}` (`link.errors.full_messages`).
    pub(super) fn messages(status: u16, msgs: Vec<String>) -> Resp {
        Resp::json(status, &json!({ "message": msgs }))
    }
    /// `{"error": "..."}` (Grape validation errors, unknown routes).
    pub(super) fn error(status: u16, msg: &str) -> Resp {
        Resp::json(status, &json!({ "error": msg }))
    }
    pub(super) fn no_content() -> Resp {
        Resp::empty(204)
    }
    pub(super) fn redirect(location: String) -> Resp {
        Resp::raw(
            302,
            "text/html",
            "<html><body>You are being redirected.</body></html>",
        )
        .header("Location", location)
    }
    pub(super) fn not_found(what: &str) -> Resp {
        Resp::message(404, &format!("404 {what} Not Found"))
    }
    pub(super) fn forbidden() -> Resp {
        Resp::message(403, "403 Forbidden")
    }
    pub(super) fn unauthorized() -> Resp {
        Resp::message(401, "401 Unauthorized")
    }
}

// ---------------------------------------------------------------------------------------------
// Parameters

/// Builds a Rack-style nested params hash: `a[b]=1`, `a[]=1`, `assets[links][][name]=x`.
pub(super) fn rack_params(pairs: &[(String, String)]) -> Map<String, Value> {
    let mut root = Map::new();
    for (k, v) in pairs {
        normalize(&mut root, k, Value::String(v.clone()));
    }
    root
}

fn normalize(params: &mut Map<String, Value>, name: &str, v: Value) {
    let (head, rest) = match name.find('[') {
        Some(0) | None => (name, ""),
        Some(i) => (&name[..i], &name[i..]),
    };
    if head.is_empty() {
        return;
    }
    if rest.is_empty() {
        params.insert(head.to_string(), v);
        return;
    }
    if rest == "[]" {
        let e = params
            .entry(head.to_string())
            .or_insert_with(|| Value::Array(vec![]));
        if !e.is_array() {
            *e = Value::Array(vec![]);
        }
        e.as_array_mut().expect("array").push(v);
        return;
    }
    if let Some(child) = rest.strip_prefix("[]") {
        // Array of hashes: `[][name]` — start a new element when the last one already has the key.
        let child = child.strip_prefix('[').unwrap_or(child);
        let child_key = child.replacen(']', "", 1);
        let e = params
            .entry(head.to_string())
            .or_insert_with(|| Value::Array(vec![]));
        if !e.is_array() {
            *e = Value::Array(vec![]);
        }
        let arr = e.as_array_mut().expect("array");
        let first = child_key.split('[').next().unwrap_or("").to_string();
        let reuse = matches!(arr.last(), Some(Value::Object(o)) if !o.contains_key(&first));
        if !reuse {
            arr.push(Value::Object(Map::new()));
        }
        if let Some(Value::Object(o)) = arr.last_mut() {
            normalize(o, &child_key, v);
        }
        return;
    }
    // `[sub]rest`
    let inner = &rest[1..];
    let Some(close) = inner.find(']') else {
        params.insert(name.to_string(), v);
        return;
    };
    let sub = format!("{}{}", &inner[..close], &inner[close + 1..]);
    let e = params
        .entry(head.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !e.is_object() {
        *e = Value::Object(Map::new());
    }
    normalize(e.as_object_mut().expect("object"), &sub, v);
}

/// Parses a request body the way Grape does: JSON when the content type says so, form otherwise.
pub(super) fn body_params(content_type: &str, body: &[u8]) -> Result<Map<String, Value>, Resp> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let ct = content_type.to_ascii_lowercase();
    if ct.contains("json") {
        return match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Ok(Map::new()),
            Err(_) => Err(Resp::message(
                400,
                "400 Bad request - The request body is not valid JSON",
            )),
        };
    }
    if ct.is_empty() || ct.contains("x-www-form-urlencoded") {
        let s = String::from_utf8_lossy(body);
        return Ok(rack_params(&form_pairs(&s)));
    }
    Ok(Map::new())
}

/// A parameter as a string: strings as is, numbers and booleans printed; `null` and absent are `None`.
pub(super) fn p_str(params: &Map<String, Value>, key: &str) -> Option<String> {
    match params.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `Array[String]` with `coerce_with: CommaSeparatedToArray`.
pub(super) fn p_list(params: &Map<String, Value>, key: &str) -> Option<Vec<String>> {
    match params.get(key)? {
        Value::Array(a) => Some(
            a.iter()
                .filter_map(|v| match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .filter(|s| !s.is_empty())
                .collect(),
        ),
        Value::String(s) => Some(
            s.split(',')
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect(),
        ),
        Value::Null => Some(Vec::new()),
        _ => None,
    }
}

pub(super) fn p_bool(params: &Map<String, Value>, key: &str) -> bool {
    match params.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => matches!(s.as_str(), "true" | "1" | "yes" | "t"),
        _ => false,
    }
}

/// Grape's `requires`: 400 `{"error": "a is missing, b is missing"}` for the absent ones.
pub(super) fn p_required(params: &Map<String, Value>, keys: &[&str]) -> Result<(), Resp> {
    let missing: Vec<String> = keys
        .iter()
        .filter(|k| p_str(params, k).is_none())
        .map(|k| format!("{k} is missing"))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Resp::error(400, &missing.join(", ")))
    }
}

/// Checks a `values:` constrained optional parameter; Grape's 400 when it is not one of them.
pub(super) fn p_enum(
    params: &Map<String, Value>,
    key: &str,
    allowed: &[&str],
    default: &str,
) -> Result<String, Resp> {
    match p_str(params, key) {
        None => Ok(default.to_string()),
        Some(v) if allowed.contains(&v.as_str()) => Ok(v),
        Some(_) => Err(Resp::error(
            400,
            &format!("{key} does not have a valid value"),
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Pagination

/// Offset pagination as `Gitlab::Pagination::OffsetPagination` does it: `page` (default 1),
/// `per_page` (default 20, at most 100), headers `X-*` and `Link` with full URLs.
pub(super) fn paginate(
    params: &Map<String, Value>,
    request_url: &str,
    query_pairs: &[(String, String)],
    items: Vec<Value>,
) -> Resp {
    let int = |key: &str, default: i64| -> Result<i64, Resp> {
        match params.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Number(n)) => n
                .as_i64()
                .ok_or_else(|| Resp::error(400, &format!("{key} is invalid"))),
            Some(Value::String(s)) if s.is_empty() => Ok(default),
            Some(Value::String(s)) => s
                .trim()
                .parse::<i64>()
                .map_err(|_| Resp::error(400, &format!("{key} is invalid"))),
            Some(_) => Err(Resp::error(400, &format!("{key} is invalid"))),
        }
    };
    let page = match int("page", 1) {
        Ok(p) if p > 0 => p as usize,
        Ok(_) => return Resp::error(400, "page does not have a valid value"),
        Err(e) => return e,
    };
    let per_page = match int("per_page", 20) {
        Ok(p) if p > 0 => (p as usize).min(100),
        Ok(_) => return Resp::error(400, "per_page does not have a valid value"),
        Err(e) => return e,
    };
    let p = Page::of(items, page, per_page);
    let other: Vec<(String, String)> = query_pairs
        .iter()
        .filter(|(k, _)| k != "page" && k != "per_page")
        .cloned()
        .collect();
    let link_to = |n: usize, rel: &str| {
        let mut q = other.clone();
        q.push(("page".into(), n.to_string()));
        q.push(("per_page".into(), per_page.to_string()));
        link(request_url, &q, rel)
    };
    let mut links = Vec::new();
    if let Some(n) = p.prev() {
        links.push(link_to(n, "prev"));
    }
    if let Some(n) = p.next() {
        links.push(link_to(n, "next"));
    }
    links.push(link_to(1, "first"));
    links.push(link_to(p.total_pages, "last"));

    p.json()
        .header("X-Page", page.to_string())
        .header("X-Per-Page", per_page.to_string())
        .header("X-Next-Page", page_header(p.next()))
        .header("X-Prev-Page", page_header(p.prev()))
        .header("X-Total", p.total.to_string())
        .header("X-Total-Pages", p.total_pages.to_string())
        .header("Link", links.join(", "))
}

// ---------------------------------------------------------------------------------------------
// Misc

/// Standard base64 decoding (for `Authorization: Basic`), lenient about padding.
pub(super) fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = 0u32;
    let mut bits = 0u32;
    for c in s.trim().bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => return None,
        };
        buf = (buf << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
            buf &= (1 << bits) - 1;
        }
    }
    Some(out)
}

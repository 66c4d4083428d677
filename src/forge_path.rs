//! Percent-encoding of path segments: project paths, tags and file names go into URLs as one
//! segment each (`group/app` → `group%2Fapp`).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};

/// Everything but unreserved characters is encoded, `/` and `.` included (as go-gitlab does),
/// so that no segment can be split or read as `..` by a router.
pub const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'~');

/// Everything but RFC 3986 unreserved characters is encoded; `.` stays literal. This is what
/// Python's `urllib.parse.quote(s, safe="")` leaves alone, and so what the only known Tencent
/// Git client sends (PyTgit, generated from the 工蜂 help pages): its gateway is known to route
/// `tencent%2Fcode` and `v1.0`, not `v1%2E0`.
pub const SEGMENT_DOTS: &AsciiSet = &SEGMENT.remove(b'.');

/// Encodes `s` as one path segment.
#[must_use]
pub fn segment(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, SEGMENT).to_string()
}

/// Encodes `s` as one path segment, dots literal (Tencent Git). A segment made only of dots
/// (`.`, `..`) would be read as a relative step, so its dots are encoded.
#[must_use]
pub fn segment_dots(s: &str) -> String {
    if !s.is_empty() && s.bytes().all(|b| b == b'.') {
        return segment(s);
    }
    percent_encoding::utf8_percent_encode(s, SEGMENT_DOTS).to_string()
}

#[cfg(test)]
mod tests {
    use super::{segment, segment_dots};

    #[test]
    fn encodes_slashes_dots_and_unicode() {
        assert_eq!(segment("group/sub/app"), "group%2Fsub%2Fapp");
        assert_eq!(segment("release/1.0"), "release%2F1%2E0");
        assert_eq!(segment("v1.0+β"), "v1%2E0%2B%CE%B2");
        assert_eq!(segment("a-b_c~d"), "a-b_c~d");
    }

    #[test]
    fn keeps_dots_literal_like_python_quote() {
        assert_eq!(segment_dots("tencent/code.web"), "tencent%2Fcode.web");
        assert_eq!(segment_dots("release/1.0"), "release%2F1.0");
        assert_eq!(segment_dots("my app.tar.gz"), "my%20app.tar.gz");
        assert_eq!(segment_dots("v1.0+β"), "v1.0%2B%CE%B2");
        assert_eq!(segment_dots(".."), "%2E%2E");
        assert_eq!(segment_dots("."), "%2E");
    }
}

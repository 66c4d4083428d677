//! Percent-encoding of path segments: project paths, tags and file names go into URLs as one
//! segment each (`group/app` → `group%2Fapp`).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};

/// Everything but unreserved characters is encoded, `/` and `.` included (as go-gitlab does),
/// so that no segment can be split or read as `..` by a router.
pub const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'~');

/// Encodes `s` as one path segment.
#[must_use]
pub fn segment(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::segment;

    #[test]
    fn encodes_slashes_dots_and_unicode() {
        assert_eq!(segment("group/sub/app"), "group%2Fsub%2Fapp");
        assert_eq!(segment("release/1.0"), "release%2F1%2E0");
        assert_eq!(segment("v1.0+β"), "v1%2E0%2B%CE%B2");
        assert_eq!(segment("a-b_c~d"), "a-b_c~d");
    }
}

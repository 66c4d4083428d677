//! "Did you mean" suggestions for misspelt names.

/// The candidate closest to `input`, if one is close enough to be a likely typo.
#[must_use]
pub fn did_you_mean<'a, S: AsRef<str>>(input: &str, candidates: &'a [S]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(input, c.as_ref()), c.as_ref()))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

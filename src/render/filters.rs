//! Filters the templates can use besides minijinja's built-in ones.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use minijinja::{Error, ErrorKind, Value};
use regex::Regex;

/// The longest pattern `regex_replace` compiles.
const MAX_PATTERN: usize = 4096;
/// How many compiled patterns are kept.
const CACHE: usize = 64;

static COMPILED: LazyLock<Mutex<HashMap<String, Regex>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn compile(pattern: &str) -> Result<Regex, Error> {
    if pattern.len() > MAX_PATTERN {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("regex_replace: the pattern is longer than {MAX_PATTERN} bytes"),
        ));
    }
    let mut cache = COMPILED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(re) = cache.get(pattern) {
        return Ok(re.clone());
    }
    let re = regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| {
            Error::new(
                ErrorKind::InvalidOperation,
                format!("regex_replace: invalid regex `{pattern}`: {e}"),
            )
        })?;
    if cache.len() >= CACHE {
        cache.clear();
    }
    cache.insert(pattern.to_string(), re.clone());
    Ok(re)
}

/// `{{ text | regex_replace(pattern, replacement) }}`: every match of the regex `pattern`
/// (Rust `regex` syntax) replaced by `replacement`, where `$1`, `${name}` name groups.
///
/// # Errors
/// An invalid or oversized pattern.
pub fn regex_replace(value: &str, pattern: &str, replacement: &str) -> Result<String, Error> {
    let re = compile(pattern)?;
    Ok(re.replace_all(value, replacement).into_owned())
}

/// `{{ text | link(url) }}`: the Markdown link `[text](url)`, or `text` alone when `url`
/// is empty or none (a commit or reference of a forge relsync does not know). The same as
/// a template macro, without the cost of a macro call for each commit.
///
/// # Errors
/// `text` or `url` is undefined (a misspelt field), as anywhere in a template.
pub fn link(text: &Value, url: &Value) -> Result<String, Error> {
    if text.is_undefined() || url.is_undefined() {
        return Err(Error::new(
            ErrorKind::UndefinedError,
            "link: the text or the url is undefined",
        ));
    }
    Ok(if url.is_true() {
        format!("[{text}]({url})")
    } else {
        text.to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_when_there_is_a_url() {
        let env = crate::render::environment();
        let render = |url: Value| {
            env.render_str(
                r"{{ text | link(url) }}",
                minijinja::context! { text => "#12", url },
            )
            .unwrap()
        };
        assert_eq!(render(Value::from("https://x/12")), "[#12](https://x/12)");
        assert_eq!(render(Value::from("")), "#12");
        assert_eq!(render(Value::from(())), "#12");
        // An undefined url is an error, as everywhere (strict undefined).
        assert!(env.render_str(r"{{ 'a' | link(nothing) }}", ()).is_err());
        assert!(env.render_str(r"{{ nothing | link('u') }}", ()).is_err());
    }

    #[test]
    fn replaces_with_groups() {
        assert_eq!(
            regex_replace(
                "see JIRA-12 and JIRA-7",
                r"JIRA-(\d+)",
                "[JIRA-$1](https://jira/$1)"
            )
            .unwrap(),
            "see [JIRA-12](https://jira/12) and [JIRA-7](https://jira/7)"
        );
        assert_eq!(regex_replace("a.b", r"\.", "").unwrap(), "ab");
    }

    #[test]
    fn invalid_pattern_is_an_error() {
        let e = regex_replace("x", "(", "").unwrap_err();
        assert!(e.to_string().contains("invalid regex"), "{e}");
        assert!(regex_replace("x", &"a".repeat(MAX_PATTERN + 1), "").is_err());
    }

    #[test]
    fn works_in_a_template() {
        let env = crate::render::environment();
        let out = env
            .render_str(
                r##"{{ "fix #12" | regex_replace("#([0-9]+)", "issue $1") }}"##,
                (),
            )
            .unwrap();
        assert_eq!(out, "fix issue 12");
    }
}

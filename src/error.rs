//! Exit statuses and the error kinds whose exit code or hint depends on their type.

use std::fmt;

/// The process exit status, as documented in PRODUCT.md's exit-code table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Converged, or nothing to do.
    Success,
    /// Run-time failure: forge, network, git.
    Failure,
    /// Bad input: flags, manifest, templates, globs, missing tag or token; nothing was sent.
    BadInput,
    /// `plan --detailed-exitcode` only: changes are pending.
    ChangesPending,
    /// `apply` stopped by SIGINT (130) or SIGTERM (143); no new write was started.
    Interrupted(u8),
}

impl ExitStatus {
    /// The numeric process exit code.
    #[must_use]
    pub fn code(self) -> u8 {
        match self {
            Self::Success => 0,
            Self::Failure => 1,
            Self::BadInput => 2,
            Self::ChangesPending => 4,
            Self::Interrupted(code) => code,
        }
    }

    /// The exit status an error maps to: bad input anywhere in the chain means 2.
    #[must_use]
    pub fn of_error(err: &anyhow::Error) -> Self {
        if let Some(i) = err
            .chain()
            .find_map(|e| e.downcast_ref::<crate::apply::Interrupted>())
        {
            Self::Interrupted(i.exit_code())
        } else if err.chain().any(|e| e.is::<InputError>()) {
            Self::BadInput
        } else {
            Self::Failure
        }
    }
}

/// Bad input found before any request was sent: exit code 2.
///
/// The message names what is wrong (key path, file and line where there is one); the
/// remedy, when present, tells the user how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub remedy: Option<String>,
}

impl InputError {
    /// An input error with no remedy.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            remedy: None,
        }
    }

    /// Attach a remedy.
    #[must_use]
    pub fn with_remedy(mut self, remedy: impl Into<String>) -> Self {
        self.remedy = Some(remedy.into());
        self
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(remedy) = &self.remedy {
            write!(f, "\n  help: {remedy}")?;
        }
        Ok(())
    }
}

impl std::error::Error for InputError {}

/// Shorthand: an `anyhow::Error` that exits with code 2.
pub fn input(message: impl Into<String>) -> anyhow::Error {
    InputError::new(message).into()
}

/// Shorthand: an `anyhow::Error` that exits with code 2 and carries a remedy.
pub fn input_with(message: impl Into<String>, remedy: impl Into<String>) -> anyhow::Error {
    InputError::new(message).with_remedy(remedy).into()
}

/// A failure with how to fix it; rendered as `help:` after the failure itself.
#[derive(Debug)]
pub struct Hint {
    text: String,
    source: anyhow::Error,
}

/// A failure with what was and was not changed on the forge before it; rendered as `note:`
/// last.
#[derive(Debug)]
pub struct Note {
    text: String,
    source: anyhow::Error,
}

/// Adds how to fix `err` (`help:`).
pub fn hint(err: anyhow::Error, text: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Hint {
        text: text.into(),
        source: err,
    })
}

/// Adds what was and was not changed on the forge before `err` (`note:`).
pub fn note(err: anyhow::Error, text: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Note {
        text: text.into(),
        source: err,
    })
}

macro_rules! wrapper {
    ($t:ty) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.text)
            }
        }
        impl std::error::Error for $t {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(self.source.as_ref())
            }
        }
    };
}
wrapper!(Hint);
wrapper!(Note);

/// An error as people read it, in one voice:
///
/// ```text
/// error: <what failed, outermost operation first>
///   help: <the fix>            (one line per hint, when there is one)
///   note: <what was and was not changed on the forge>
/// ```
///
/// `default_note` is used when the error carries no [`Note`] (the command knows whether it
/// could have written anything); bad input always notes that nothing was sent.
#[must_use]
pub fn render(err: &anyhow::Error, default_note: &str) -> String {
    let mut what = Vec::new();
    let mut helps = Vec::new();
    let mut note = None;
    for cause in err.chain() {
        if let Some(h) = cause.downcast_ref::<Hint>() {
            helps.push(h.text.clone());
            continue;
        }
        if let Some(n) = cause.downcast_ref::<Note>() {
            note.get_or_insert_with(|| n.text.clone());
            continue;
        }
        let text = cause.to_string();
        let mut parts = text.split("\n  help: ");
        let head = parts.next().unwrap_or_default().trim_end();
        helps.extend(parts.map(|h| h.trim().to_owned()));
        // anyhow repeats a source's text in some wrappers; say each part once.
        if !head.is_empty()
            && what
                .last()
                .is_none_or(|last: &String| !last.ends_with(head))
        {
            what.push(head.to_owned());
        }
    }
    if err.chain().any(|c| c.is::<InputError>()) {
        note = Some("nothing was sent to the forge".to_owned());
    }
    let mut out = format!("error: {}", what.join(": "));
    for h in helps {
        out.push_str("\n  help: ");
        out.push_str(&h);
    }
    out.push_str("\n  note: ");
    out.push_str(note.as_deref().unwrap_or(default_note));
    out
}

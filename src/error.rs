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

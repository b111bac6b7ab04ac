//! The kit's one error type.

use std::time::Duration;

/// What the kit's functions return.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while starting or driving a test service.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A program the kit needs is not installed on this machine; the test
    /// should be skipped (see [`crate::or_skip`]). `tool` is a name a
    /// person knows: `PostgreSQL`, `chromium`.
    #[error("skipped: {tool} is not installed")]
    NotInstalled {
        /// The missing tool.
        tool: &'static str,
    },
    /// An argument the kit cannot use as given.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// Which argument.
        what: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// A file, directory or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The underlying failure.
        #[source]
        source: std::io::Error,
    },
    /// A program ran and exited with a failure.
    #[error("{what} failed ({status}):\n{output}")]
    Command {
        /// The program and what it was asked to do.
        what: String,
        /// How it exited.
        status: String,
        /// The end of what it printed (or of the server log).
        output: String,
    },
    /// Something did not happen within its time limit.
    #[error("timed out after {waited:?} waiting for {what}")]
    Timeout {
        /// What was awaited, with the last state seen.
        what: String,
        /// How long the kit waited.
        waited: Duration,
    },
    /// The PostgreSQL client failed (connecting or running SQL).
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] postgres::Error),
    /// chromedriver could not be reached over HTTP.
    #[error("WebDriver {command}: {source}")]
    Http {
        /// The WebDriver command, as `METHOD /path`.
        command: String,
        /// The HTTP failure.
        #[source]
        source: Box<ureq::Error>,
    },
    /// chromedriver answered a WebDriver command with an error.
    #[error("WebDriver {command}: {error}: {message}")]
    WebDriver {
        /// The WebDriver command, as `METHOD /path`.
        command: String,
        /// The W3C error code, such as `no such element`.
        error: String,
        /// chromedriver's explanation.
        message: String,
    },
    /// A program or protocol answered something it should never answer.
    #[error("unexpected {what}: {detail}")]
    Unexpected {
        /// What was being read.
        what: String,
        /// What was found instead.
        detail: String,
    },
}

impl Error {
    /// Whether this error means "skip the test": a tool is not installed.
    pub fn is_not_installed(&self) -> bool {
        matches!(self, Error::NotInstalled { .. })
    }

    /// An [`Error::Io`] saying what was being done.
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            what: what.into(),
            source,
        }
    }

    /// An [`Error::Unexpected`].
    pub(crate) fn unexpected(what: impl Into<String>, detail: impl Into<String>) -> Error {
        Error::Unexpected {
            what: what.into(),
            detail: detail.into(),
        }
    }
}

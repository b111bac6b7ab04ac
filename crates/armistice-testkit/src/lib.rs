//! Test-only helpers for the Armistice workspace: throwaway PostgreSQL
//! clusters ([`pg`]) and a headless Chromium driven over WebDriver
//! ([`browser`]).
//!
//! Other crates take this crate as a dev-dependency
//! (`armistice-testkit.workspace = true` under `[dev-dependencies]`). It is
//! never published and never linked into a binary.
//!
//! Each helper needs programs from Debian packages (`postgresql`,
//! `chromium`, `chromium-driver`). When one is missing the helper returns
//! [`Error::NotInstalled`], and [`or_skip`] turns that into a printed
//! `skipped: … is not installed` on a developer's machine, but into a
//! failure under CI, which installs them (`.ci/run`) and so must never skip.
//!
//! ```no_run
//! use armistice_testkit::{or_skip, pg::Cluster};
//!
//! let Some(primary) = or_skip(Cluster::primary()) else { return };
//! let mut client = primary.connect().unwrap();
//! client.batch_execute("CREATE TABLE t (x int)").unwrap();
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod browser;
mod error;
pub mod pg;
mod process;

use std::io::Write as _;

pub use error::{Error, Result};

/// Unwraps what the kit started, or tells the test to skip itself.
///
/// - `Ok(value)` gives `Some(value)`.
/// - [`Error::NotInstalled`] prints `skipped: TOOL is not installed` to
///   standard error and gives `None`, so the test can `return` — unless the
///   `CI` environment variable is set (to anything but `""`, `0` or
///   `false`): CI installs every tool the kit needs, so a skip there would
///   hide a broken install step, and this panics instead.
/// - Any other error panics with its message.
#[track_caller]
pub fn or_skip<T>(result: Result<T>) -> Option<T> {
    skip_unless_ci(result, running_in_ci())
}

#[track_caller]
fn skip_unless_ci<T>(result: Result<T>, in_ci: bool) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(error @ Error::NotInstalled { .. }) => {
            if in_ci {
                panic!("{error}, but CI must not skip: .ci/run installs it");
            }
            // Straight to standard error, in one write: the test harness
            // captures `eprintln!` of a passing test, and a skip should be
            // seen.
            let _ = std::io::stderr().write_all(format!("{error}\n").as_bytes());
            None
        }
        Err(error) => panic!("{error}"),
    }
}

/// Whether the `CI` environment variable says this is a CI run.
fn running_in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !matches!(value.as_str(), "" | "0" | "false"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MISSING: Error = Error::NotInstalled { tool: "PostgreSQL" };

    #[test]
    fn a_missing_tool_skips_with_a_message_a_person_reads() {
        assert_eq!(MISSING.to_string(), "skipped: PostgreSQL is not installed");
        assert!(MISSING.is_not_installed());
        assert_eq!(skip_unless_ci(Err::<(), _>(MISSING), false), None);
        assert_eq!(skip_unless_ci(Ok(7), true), Some(7));
    }

    #[test]
    #[should_panic(expected = "CI must not skip")]
    fn a_missing_tool_fails_under_ci() {
        skip_unless_ci(Err::<(), _>(MISSING), true);
    }

    #[test]
    #[should_panic(expected = "timed out")]
    fn any_other_error_fails() {
        let error = Error::Timeout {
            what: "nothing".into(),
            waited: std::time::Duration::ZERO,
        };
        skip_unless_ci(Err::<(), _>(error), false);
    }
}

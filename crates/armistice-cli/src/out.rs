//! Standard output that never panics: every write returns an error, and
//! `main` ends quietly when the reader has gone (a closed pipe, as in
//! `armistice export | head`) and with a clear message when the write fails
//! otherwise (a full disk, `> /dev/full`).

use std::io::Write;

/// Writes formatted text to standard output, returning any error.
#[macro_export]
macro_rules! outln {
    () => { $crate::out::write_str("\n") };
    ($($arg:tt)*) => { $crate::out::write_str(&format!("{}\n", format_args!($($arg)*))) };
}

/// Writes formatted text (no newline added) to standard output.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => { $crate::out::write_str(&format!($($arg)*)) };
}

/// Writes `text` to standard output.
pub fn write_str(text: &str) -> std::io::Result<()> {
    write_bytes(text.as_bytes())
}

/// Writes `bytes` to standard output.
pub fn write_bytes(bytes: &[u8]) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(bytes)?;
    stdout.flush()
}

/// Whether an error (anywhere in its chain) is a write to a closed pipe.
pub fn is_closed_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

//! Processes and ports: running helper programs, finding free loopback
//! ports, and finding, killing and awaiting processes through `/proc`
//! (Linux only, like the packages the kit uses).

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::{Error, Result};

/// How often a wait loop looks again.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// How much of a failed program's output an error shows (its end).
const OUTPUT_SHOWN_BYTES_MAX: usize = 4_000;

/// A TCP port on 127.0.0.1 that was free a moment ago.
///
/// The port is released before the caller binds it, so another process may
/// take it in between; callers that start a server retry with a new port.
pub(crate) fn free_loopback_port() -> Result<u16> {
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .map_err(|e| Error::io("bind 127.0.0.1:0 to find a free port", e))?;
    let address = listener
        .local_addr()
        .map_err(|e| Error::io("read the address of a bound port", e))?;
    Ok(address.port())
}

/// Runs `command` to completion with no standard input; its standard output
/// if it succeeded, else an [`Error::Command`] with the end of its output.
pub(crate) fn run(command: &mut Command, what: &str) -> Result<String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::io(format!("start {what}"), e))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() {
        return Ok(stdout);
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    Err(Error::Command {
        what: what.to_owned(),
        status: output.status.to_string(),
        output: tail(&format!("{stdout}{stderr}")),
    })
}

/// The end of `text`, at most [`OUTPUT_SHOWN_BYTES_MAX`] bytes of it.
pub(crate) fn tail(text: &str) -> String {
    let mut start = text.len().saturating_sub(OUTPUT_SHOWN_BYTES_MAX);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    text[start..].trim_end().to_owned()
}

/// Whether this process runs as root (asked once, of `id -u`).
pub(crate) fn is_root() -> bool {
    static ROOT: OnceLock<bool> = OnceLock::new();
    *ROOT.get_or_init(|| {
        run(Command::new("id").arg("-u"), "id -u").is_ok_and(|uid| uid.trim() == "0")
    })
}

/// What `/proc/PID/stat` says of a process.
struct Stat {
    /// The program name, at most 15 bytes (`postgres`, `chrome`).
    comm: String,
    /// `R`, `S`, `D`, … ; `Z` and `X` are dead.
    state: char,
    /// The process group.
    pgrp: u32,
}

fn stat(pid: u32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "PID (COMM) STATE PPID PGRP …"; COMM may hold spaces and parentheses,
    // so it runs to the last ')'.
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text.get(open + 1..close)?.to_owned();
    let mut rest = text.get(close + 1..)?.split_whitespace();
    let state = rest.next()?.chars().next()?;
    let _ppid = rest.next()?;
    let pgrp = rest.next()?.parse().ok()?;
    Some(Stat { comm, state, pgrp })
}

/// Whether `pid` is a live process (a zombie counts as dead: it has exited).
pub(crate) fn is_alive(pid: u32) -> bool {
    stat(pid).is_some_and(|s| !matches!(s.state, 'Z' | 'X'))
}

/// Every live process id under `/proc`.
fn all_pids() -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
        .filter(|&pid| is_alive(pid))
        .collect()
}

/// Live processes of process group `pgrp` whose program name is `comm`.
pub(crate) fn group_members(pgrp: u32, comm: &str) -> Vec<u32> {
    all_pids()
        .into_iter()
        .filter(|&pid| stat(pid).is_some_and(|s| s.pgrp == pgrp && s.comm == comm))
        .collect()
}

/// Live processes with an argument that contains `needle`.
pub(crate) fn with_argument(needle: &str) -> Vec<u32> {
    all_pids()
        .into_iter()
        .filter(|&pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| {
                cmdline
                    .split(|&byte| byte == 0)
                    .any(|arg| String::from_utf8_lossy(arg).contains(needle))
            })
        })
        .collect()
}

/// Sends SIGKILL to `pid` (through `kill`, which needs no `unsafe`).
pub(crate) fn kill(pid: u32) -> Result<()> {
    run(
        Command::new("kill").args(["-s", "KILL", &pid.to_string()]),
        &format!("kill -s KILL {pid}"),
    )
    .map(drop)
}

/// SIGKILLs each of `pids` and waits until all are gone.
pub(crate) fn kill_all(pids: &[u32], timeout: Duration) -> Result<()> {
    for &pid in pids {
        // It may have exited on its own meanwhile; the wait below judges.
        let _ = kill(pid);
    }
    wait_gone(pids, timeout)
}

/// Waits until none of `pids` is alive.
pub(crate) fn wait_gone(pids: &[u32], timeout: Duration) -> Result<()> {
    poll_until(
        || format!("processes {pids:?} to exit"),
        timeout,
        || Ok(pids.iter().all(|&pid| !is_alive(pid)).then_some(())),
    )
}

/// Calls `check` every [`POLL_INTERVAL`] until it gives `Some`, an error, or
/// `timeout` passes ([`Error::Timeout`], described by `what`).
pub(crate) fn poll_until<T>(
    what: impl FnOnce() -> String,
    timeout: Duration,
    mut check: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    let start = Instant::now();
    loop {
        if let Some(value) = check()? {
            return Ok(value);
        }
        if start.elapsed() >= timeout {
            return Err(Error::Timeout {
                what: what(),
                waited: start.elapsed(),
            });
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

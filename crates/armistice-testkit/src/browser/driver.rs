//! The chromedriver process and the HTTP it speaks: W3C WebDriver commands
//! as JSON over loopback.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::process::{free_loopback_port, kill_all, poll_until, tail, with_argument};
use crate::{Error, Result};

/// Debian's `chromium-driver`.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long chromedriver may take to say it is ready.
const DRIVER_START_TIMEOUT: Duration = Duration::from_secs(20);
/// Starts tried with a fresh port when the chosen one was taken meanwhile.
const START_ATTEMPTS_MAX: u32 = 3;
/// The longest any one WebDriver command may take; above the page-load
/// and script timeouts of a session, so that those report first.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(90);
/// The largest answer read from chromedriver (a screenshot, a long log).
const RESPONSE_BYTES_MAX: u64 = 256 * 1024 * 1024;
/// How long Chromium's processes may take to exit once killed.
const EXIT_TIMEOUT: Duration = Duration::from_secs(10);

/// A running chromedriver on a loopback port, killed on drop together with
/// every browser process that uses `profile_dir`.
#[derive(Debug)]
pub(crate) struct Driver {
    child: Child,
    base_url: String,
    agent: ureq::Agent,
    log_path: PathBuf,
    profile_dir: PathBuf,
}

/// An HTTP method of a WebDriver command.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Method {
    Get,
    Post,
    Delete,
}

impl Driver {
    /// Starts chromedriver, logging to `log_path`; `profile_dir` is the
    /// `--user-data-dir` of the browsers it will start, so that the drop
    /// can find any left behind.
    pub(crate) fn start(log_path: &Path, profile_dir: &Path) -> Result<Driver> {
        let agent = ureq::config::Config::builder()
            .http_status_as_error(false)
            .timeout_global(Some(COMMAND_TIMEOUT))
            // chromedriver is on loopback: a proxy from the environment
            // must not come between.
            .proxy(None)
            .build()
            .new_agent();
        let mut attempt = 1;
        loop {
            let port = free_loopback_port()?;
            let child = Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .arg(format!("--log-path={}", log_path.display()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| Error::io(format!("start {CHROMEDRIVER}"), e))?;
            let mut driver = Driver {
                child,
                base_url: format!("http://127.0.0.1:{port}"),
                agent: agent.clone(),
                log_path: log_path.to_owned(),
                profile_dir: profile_dir.to_owned(),
            };
            match driver.wait_ready() {
                Ok(()) => return Ok(driver),
                // Dropping `driver` kills it.
                Err(_) if attempt < START_ATTEMPTS_MAX && driver.port_was_taken() => attempt += 1,
                Err(error) => return Err(error),
            }
        }
    }

    /// Waits until `GET /status` says ready, or chromedriver exits.
    fn wait_ready(&mut self) -> Result<()> {
        poll_until(
            || "chromedriver to be ready".to_owned(),
            DRIVER_START_TIMEOUT,
            || {
                if let Some(status) = self
                    .child
                    .try_wait()
                    .map_err(|e| Error::io("wait for chromedriver", e))?
                {
                    return Err(Error::Command {
                        what: CHROMEDRIVER.to_owned(),
                        status: status.to_string(),
                        output: format!("chromedriver log:\n{}", tail(&self.log())),
                    });
                }
                // Not listening yet is an error of the HTTP layer: look again.
                let ready = self
                    .send(Method::Get, "/status", None)
                    .is_ok_and(|value| value["ready"] == Value::Bool(true));
                Ok(ready.then_some(()))
            },
        )
    }

    fn port_was_taken(&self) -> bool {
        let log = self.log();
        log.contains("bind() failed") || log.contains("Address already in use")
    }

    /// What chromedriver has logged so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read(&self.log_path)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    }

    /// Sends one WebDriver command; its `value`, or the error it names.
    pub(crate) fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value> {
        let url = format!("{}{path}", self.base_url);
        let command = format!("{method:?} {path}").to_uppercase();
        let http_error = |source| Error::Http {
            command: command.clone(),
            source: Box::new(source),
        };
        let sent = match method {
            Method::Get => self.agent.get(&url).call(),
            Method::Delete => self.agent.delete(&url).call(),
            Method::Post => self
                .agent
                .post(&url)
                .send_json(body.unwrap_or(&Value::Object(Default::default()))),
        };
        let mut response = sent.map_err(http_error)?;
        let status = response.status();
        let bytes = response
            .body_mut()
            .with_config()
            .limit(RESPONSE_BYTES_MAX)
            .read_to_vec()
            .map_err(http_error)?;
        let mut answer: Value = serde_json::from_slice(&bytes).map_err(|e| {
            Error::unexpected(
                format!("answer to {command}"),
                format!("{e}: {}", tail(&String::from_utf8_lossy(&bytes))),
            )
        })?;
        let value = answer["value"].take();
        if status.is_success() {
            return Ok(value);
        }
        Err(Error::WebDriver {
            command,
            error: value["error"]
                .as_str()
                .unwrap_or("unknown error")
                .to_owned(),
            message: value["message"].as_str().unwrap_or_default().to_owned(),
        })
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Chromium's processes outlive a killed chromedriver; they all carry
        // the profile directory in an argument.
        let needle = self.profile_dir.to_string_lossy().into_owned();
        if let Err(error) = kill_all(&with_argument(&needle), EXIT_TIMEOUT) {
            eprintln!("armistice-testkit: stopping Chromium: {error}");
        }
    }
}

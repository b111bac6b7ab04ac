//! Headless Chromium for web-view tests, driven through chromedriver.
//!
//! A [`Browser`] is Debian's `chromium`, started by Debian's
//! `chromium-driver` on a free loopback port, with a fresh profile in a
//! temporary directory; dropping it ends the WebDriver session and kills
//! chromedriver and every Chromium process of that profile.
//!
//! **Loopback only.** Serve the page under test on `127.0.0.1` or
//! `localhost`. Every other request goes to a proxy on a closed loopback
//! port ([`BLACKHOLE_PROXY`]) and fails at once, and every other host name
//! resolves to nothing: no packet leaves the machine, yet the page's
//! attempt still shows in [`Browser::requested_hosts`], which is how a test
//! proves that a page loads nothing from elsewhere.
//!
//! **Why plain HTTP.** The kit speaks the W3C WebDriver protocol itself,
//! as JSON through the small blocking client `ureq`, rather than through
//! `fantoccini`: the tests are synchronous (no async runtime to start in
//! each), chromedriver is plain HTTP on loopback (no TLS), and the logs
//! this module reads (`/se/log`, `goog:loggingPrefs`) are chromedriver
//! extensions that a typed client does not model anyway. The protocol
//! used is a dozen endpoints.
//!
//! ```no_run
//! use std::time::Duration;
//! use armistice_testkit::{browser::Browser, or_skip};
//!
//! let Some(browser) = or_skip(Browser::start()) else { return };
//! browser.goto("http://127.0.0.1:8080/").unwrap();
//! browser.set_value("#search", "sudzha").unwrap();
//! browser.click("button[type=submit]").unwrap();
//! browser.wait_for("document.querySelectorAll('.claim').length > 0", Duration::from_secs(5)).unwrap();
//! assert_eq!(browser.eval("return document.title").unwrap(), "Claims");
//! assert!(browser.console_errors().unwrap().is_empty());
//! browser.screenshot_png("target/claims.png").unwrap();
//! ```

mod driver;
mod logs;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};

use crate::process::poll_until;
use crate::{Error, Result};
pub use driver::CHROMEDRIVER;
use driver::{Driver, Method};
pub use logs::ConsoleEntry;

/// Debian's `chromium` (a script that starts the real binary).
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// The proxy every non-loopback request is sent to: the `discard` port of
/// 127.0.0.1, which nothing listens on (binding it needs root), so the
/// connection is refused at once. Chromium never proxies loopback.
pub const BLACKHOLE_PROXY: &str = "http://127.0.0.1:9";
/// Host names other than the loopback ones resolve to nothing, so that not
/// even a DNS query leaves the machine.
const HOST_RESOLVER_RULES: &str = "MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1";
/// The flags every browser gets, besides its profile, window and the two
/// network rules above.
const CHROMIUM_FLAGS: [&str; 9] = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
];
/// The tool name in [`Error::NotInstalled`].
const TOOL: &str = "chromium";
/// The session's page-load timeout.
const PAGE_LOAD_TIMEOUT_MS: u64 = 30_000;
/// The session's timeout for an asynchronous script to call `done`.
const SCRIPT_TIMEOUT_MS: u64 = 30_000;
/// The key of a W3C element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// The first bytes of every PNG file.
const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];

/// The size of the browser window, or of the emulated phone screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Width in CSS pixels.
    pub width: u32,
    /// Height in CSS pixels.
    pub height: u32,
    /// Emulate a phone (Chrome's `mobileEmulation`: a viewport of exactly
    /// this size, touch events, `<meta name=viewport>` honoured) rather
    /// than size a desktop window. Chromium's windows are at least 500
    /// pixels wide, so a phone-sized page needs this.
    pub mobile: bool,
}

impl Window {
    /// A desktop window of 1280×900 (the page's viewport is that less
    /// the height Chromium keeps for its own interface).
    pub const DESKTOP: Window = Window {
        width: 1280,
        height: 900,
        mobile: false,
    };
    /// A phone of 390×844 CSS pixels at a device pixel ratio of 1.
    pub const PHONE: Window = Window {
        width: 390,
        height: 844,
        mobile: true,
    };
}

/// A headless Chromium in one WebDriver session.
#[derive(Debug)]
pub struct Browser {
    /// `/session/ID`, the prefix of every command of this session.
    session: String,
    logs: Mutex<Logs>,
    /// Dropped before `dir` (fields drop in order), so the profile is
    /// removed only once nothing uses it.
    driver: Driver,
    /// Holds the profile and chromedriver's log.
    dir: tempfile::TempDir,
}

/// What the browser logged so far: reading a log from chromedriver empties
/// it, so each read is added here.
#[derive(Debug, Default)]
struct Logs {
    console: Vec<ConsoleEntry>,
    hosts: BTreeSet<String>,
}

impl Browser {
    /// A desktop browser ([`Window::DESKTOP`]).
    ///
    /// [`Error::NotInstalled`] when `chromium` or `chromium-driver` is not
    /// installed.
    pub fn start() -> Result<Browser> {
        Browser::start_with(Window::DESKTOP)
    }

    /// A browser with the given window, such as [`Window::PHONE`].
    pub fn start_with(window: Window) -> Result<Browser> {
        if ![CHROMIUM, CHROMEDRIVER]
            .iter()
            .all(|p| Path::new(p).is_file())
        {
            return Err(Error::NotInstalled { tool: TOOL });
        }
        let dir = tempfile::Builder::new()
            .prefix("armistice-chromium-")
            .tempdir()
            .map_err(|e| Error::io("make a temporary directory", e))?;
        let profile = dir.path().join("profile");
        let driver = Driver::start(&dir.path().join("chromedriver.log"), &profile)?;
        let answer = driver.send(
            Method::Post,
            "/session",
            Some(&capabilities(window, &profile)),
        )?;
        let id = answer["sessionId"]
            .as_str()
            .ok_or_else(|| Error::unexpected("new session", answer.to_string()))?;
        Ok(Browser {
            session: format!("/session/{id}"),
            logs: Mutex::new(Logs::default()),
            driver,
            dir,
        })
    }

    /// Opens `url` and waits until it has loaded (its `load` event).
    pub fn goto(&self, url: &str) -> Result<()> {
        self.post("/url", json!({ "url": url })).map(drop)
    }

    /// Runs `script` in the page and gives what it returns. `script` is the
    /// body of a function, as in WebDriver: `return document.title`.
    pub fn eval(&self, script: &str) -> Result<Value> {
        self.post("/execute/sync", json!({ "script": script, "args": [] }))
    }

    /// Runs `script` in the page and gives the value it passes to `done`,
    /// a function in its scope: `fetch('/x').then(r => done(r.status))`.
    /// Fails if `done` is not called within 30 seconds.
    pub fn eval_async(&self, script: &str) -> Result<Value> {
        let script = format!("const done = arguments[arguments.length - 1];\n{script}");
        self.post("/execute/async", json!({ "script": script, "args": [] }))
    }

    /// Waits until the JavaScript expression `condition` is true in the
    /// page; [`Error::Timeout`] (with the last exception it threw, if any)
    /// after `timeout`.
    pub fn wait_for(&self, condition: &str, timeout: Duration) -> Result<()> {
        let script = format!(
            "try {{ return {{ ok: !!(\n{condition}\n), error: null }}; }}\n\
             catch (e) {{ return {{ ok: false, error: String(e) }}; }}"
        );
        let mut last_error = Value::Null;
        let waited = poll_until(String::new, timeout, || {
            let answer = self.eval(&script)?;
            last_error = answer["error"].clone();
            Ok((answer["ok"] == Value::Bool(true)).then_some(()))
        });
        waited.map_err(|error| match error {
            Error::Timeout { waited, .. } => Error::Timeout {
                what: format!("`{condition}` to hold (last exception: {last_error})"),
                waited,
            },
            other => other,
        })
    }

    /// Clicks the first element that matches the CSS selector `css`.
    pub fn click(&self, css: &str) -> Result<()> {
        let element = self.find(css)?;
        self.post(&format!("/element/{element}/click"), json!({}))
            .map(drop)
    }

    /// Clears the form field that matches `css` and types `text` into it
    /// (so the page sees the key and input events a person makes).
    pub fn set_value(&self, css: &str, text: &str) -> Result<()> {
        let element = self.find(css)?;
        self.post(&format!("/element/{element}/clear"), json!({}))?;
        self.post(
            &format!("/element/{element}/value"),
            json!({ "text": text }),
        )
        .map(drop)
    }

    /// The rendered text of the first element that matches `css`.
    pub fn text(&self, css: &str) -> Result<String> {
        let element = self.find(css)?;
        let value = self.get(&format!("/element/{element}/text"))?;
        value
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| Error::unexpected("element text", value.to_string()))
    }

    /// Saves a PNG of the viewport at `path`.
    pub fn screenshot_png(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let value = self.get("/screenshot")?;
        let png = value
            .as_str()
            .and_then(|text| base64::engine::general_purpose::STANDARD.decode(text).ok())
            .filter(|bytes| bytes.starts_with(&PNG_SIGNATURE))
            .ok_or_else(|| Error::unexpected("screenshot", "not a base64 PNG"))?;
        std::fs::write(path, png).map_err(|e| Error::io(format!("write {}", path.display()), e))
    }

    /// The messages of the console's errors since the browser started:
    /// `console.error` calls, uncaught exceptions, failed loads (including
    /// a missing `/favicon.ico`).
    pub fn console_errors(&self) -> Result<Vec<String>> {
        Ok(self
            .read_logs()?
            .console
            .iter()
            .filter(|entry| entry.is_error())
            .map(|entry| entry.message.clone())
            .collect())
    }

    /// Every console entry since the browser started, of any level.
    pub fn console_entries(&self) -> Result<Vec<ConsoleEntry>> {
        Ok(self.read_logs()?.console.clone())
    }

    /// The hosts (`127.0.0.1`, `example.org`, `[::1]`; no port) that pages
    /// have sent requests to since the browser started, whether or not the
    /// request succeeded: from the DevTools network events of Chromium's
    /// performance log, so failed and blocked requests count too.
    pub fn requested_hosts(&self) -> Result<BTreeSet<String>> {
        Ok(self.read_logs()?.hosts.clone())
    }

    /// chromedriver's own log, for a failing test to print.
    pub fn driver_log(&self) -> String {
        self.driver.log()
    }

    /// The temporary directory holding the profile and chromedriver's log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Adds what chromedriver logged since the last read to `self.logs`.
    fn read_logs(&self) -> Result<MutexGuard<'_, Logs>> {
        let console = self.post("/se/log", json!({ "type": "browser" }))?;
        let performance = self.post("/se/log", json!({ "type": "performance" }))?;
        let mut logs = self.logs.lock().unwrap_or_else(PoisonError::into_inner);
        logs.console.extend(logs::console_entries(&console)?);
        logs.hosts.extend(logs::requested_hosts(&performance)?);
        Ok(logs)
    }

    /// The id of the first element that matches `css`.
    fn find(&self, css: &str) -> Result<String> {
        let value = self.post("/element", json!({ "using": "css selector", "value": css }))?;
        value[ELEMENT_KEY]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| Error::unexpected(format!("element {css:?}"), value.to_string()))
    }

    fn get(&self, path: &str) -> Result<Value> {
        self.driver
            .send(Method::Get, &format!("{}{path}", self.session), None)
    }

    fn post(&self, path: &str, body: Value) -> Result<Value> {
        self.driver.send(
            Method::Post,
            &format!("{}{path}", self.session),
            Some(&body),
        )
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Quits Chromium; the driver's drop then kills what is left.
        let _ = self.driver.send(Method::Delete, &self.session, None);
    }
}

/// The new-session request: Chromium's flags, window and logs.
fn capabilities(window: Window, profile: &Path) -> Value {
    let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|&flag| flag.to_owned()).collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    args.push(format!("--proxy-server={BLACKHOLE_PROXY}"));
    args.push(format!("--host-resolver-rules={HOST_RESOLVER_RULES}"));
    let size = if window.mobile {
        Window::DESKTOP
    } else {
        window
    };
    args.push(format!("--window-size={},{}", size.width, size.height));
    let mut chrome = json!({ "binary": CHROMIUM, "args": args });
    if window.mobile {
        chrome["mobileEmulation"] = json!({
            "deviceMetrics": {
                "width": window.width,
                "height": window.height,
                "pixelRatio": 1.0,
                "touch": true,
                "mobile": true,
            }
        });
    }
    json!({ "capabilities": { "alwaysMatch": {
        "browserName": "chrome",
        "goog:chromeOptions": chrome,
        "goog:loggingPrefs": { "browser": "ALL", "performance": "ALL" },
        "timeouts": {
            "pageLoad": PAGE_LOAD_TIMEOUT_MS,
            "script": SCRIPT_TIMEOUT_MS,
            "implicit": 0,
        },
    } } })
}

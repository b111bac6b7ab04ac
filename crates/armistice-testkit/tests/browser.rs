//! The browser kit against the real Chromium: a page served here on
//! 127.0.0.1 is driven (script, typing, clicks), its console errors and
//! uncaught exceptions are caught, its request to another host is seen
//! (and never leaves the machine), screenshots are PNGs of the window's
//! size, and nothing of the browser outlives it.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use armistice_testkit::browser::{Browser, Window};
use armistice_testkit::{or_skip, Error};

const WAIT: Duration = Duration::from_secs(10);

/// The page under test. The image is on TEST-NET-1 (RFC 5737), which no
/// machine answers; the kit's browser refuses it before any packet leaves.
const PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>Armistice kit</title>
<link rel="icon" href="data:,">
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body { font-family: sans-serif; margin: 2em; } h1 { color: #234; }</style>
</head><body>
<h1>Ceasefire ledger</h1>
<img src="http://192.0.2.1/x.png" alt="">
<input id="name" value="old"> <button id="go">Record</button>
<p id="out"></p>
<script>
  document.getElementById('go').addEventListener('click', () => {
    document.getElementById('out').textContent = 'Recorded ' + document.getElementById('name').value;
  });
  console.error('boom-from-console');
  setTimeout(() => { window.thrown = true; throw new Error('kaboom-uncaught'); }, 0);
</script>
</body></html>"#;

/// A one-page HTTP server on 127.0.0.1:0, stopped on drop.
struct Server {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind");
        let port = listener.local_addr().expect("address").port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                // A thread each: Chromium opens connections it may never
                // send a request on.
                if let Ok(stream) = stream {
                    std::thread::spawn(move || answer(stream));
                }
            }
        });
        Server {
            port,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn answer(stream: TcpStream) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut line = String::new();
    while reader.read_line(&mut line)? > 2 {
        line.clear();
    }
    let (status, body) = match request_line.split_whitespace().nth(1) {
        Some("/") => ("200 OK", PAGE),
        _ => ("404 Not Found", "not found"),
    };
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(path: &std::path::Path) -> (u32, u32) {
    let bytes = std::fs::read(path).expect("read screenshot");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let number = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (number(16), number(20))
}

#[test]
fn a_page_is_driven_and_everything_it_does_is_seen() {
    let Some(browser) = or_skip(Browser::start()) else {
        return;
    };
    let server = Server::start();
    browser.goto(&server.url()).expect("goto");

    assert_eq!(
        browser.eval("return document.title").unwrap(),
        "Armistice kit"
    );
    assert_eq!(browser.eval("return innerWidth").unwrap(), 1280);
    assert_eq!(
        browser
            .eval_async("setTimeout(() => done(6 * 7), 10)")
            .unwrap(),
        42
    );

    browser.set_value("#name", "claim C1").expect("type");
    browser.click("#go").expect("click");
    browser
        .wait_for("document.getElementById('out').textContent !== ''", WAIT)
        .expect("the click shows");
    assert_eq!(browser.text("#out").unwrap(), "Recorded claim C1");

    browser
        .wait_for("window.thrown", WAIT)
        .expect("the throw ran");
    let errors = browser.console_errors().expect("console errors");
    let caught = |needle: &str| errors.iter().any(|e| e.contains(needle));
    assert!(
        caught("boom-from-console"),
        "console.error missed: {errors:#?}"
    );
    assert!(
        caught("Uncaught Error: kaboom-uncaught"),
        "exception missed: {errors:#?}"
    );

    let hosts = browser.requested_hosts().expect("hosts");
    let hosts: Vec<&str> = hosts.iter().map(String::as_str).collect();
    assert_eq!(hosts, ["127.0.0.1", "192.0.2.1"]);

    let shot = browser.dir().join("page.png");
    browser.screenshot_png(&shot).expect("screenshot");
    assert_eq!(png_size(&shot).0, 1280);

    let error = browser.click("#missing").expect_err("no such element");
    assert!(
        matches!(&error, Error::WebDriver { error, .. } if error == "no such element"),
        "{error}"
    );
}

#[test]
fn a_phone_window_is_390_by_844() {
    let Some(browser) = or_skip(Browser::start_with(Window::PHONE)) else {
        return;
    };
    let server = Server::start();
    browser.goto(&server.url()).expect("goto");
    let size = browser.eval("return [innerWidth, innerHeight]").unwrap();
    assert_eq!(size, serde_json::json!([390, 844]));
    let shot = browser.dir().join("phone.png");
    browser.screenshot_png(&shot).expect("screenshot");
    assert_eq!(png_size(&shot), (390, 844));
}

#[test]
fn a_condition_that_never_holds_times_out_with_its_last_exception() {
    let Some(browser) = or_skip(Browser::start()) else {
        return;
    };
    let error = browser
        .wait_for(
            "document.querySelector('#nothing').textContent",
            Duration::from_millis(300),
        )
        .expect_err("never holds");
    let text = error.to_string();
    assert!(text.contains("timed out"), "{text}");
    assert!(text.contains("TypeError"), "{text}");
}

#[test]
fn nothing_of_the_browser_outlives_it() {
    let Some(browser) = or_skip(Browser::start()) else {
        return;
    };
    let profile = browser.dir().join("profile");
    let needle = profile.to_string_lossy().into_owned();
    let users = || -> Vec<u32> {
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| {
                let alive = std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
                    !matches!(
                        s.rsplit(')').next().and_then(|s| s.trim().chars().next()),
                        Some('Z' | 'X')
                    )
                });
                alive
                    && std::fs::read(format!("/proc/{pid}/cmdline"))
                        .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&needle))
            })
            .collect()
    };
    assert!(
        !users().is_empty(),
        "Chromium should be running on {needle}"
    );
    let dir = browser.dir().to_path_buf();
    drop(browser);
    assert_eq!(users(), Vec::<u32>::new(), "Chromium outlived its Browser");
    assert!(!dir.exists());
}

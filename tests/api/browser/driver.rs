//! The chromedriver process and the Chromium session it starts: capabilities,
//! a free port, readiness, and ending the session without async (for `Drop`).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::json;

use super::PATIENCE;

/// What a browser session needs beyond the defaults.
pub(super) struct Setup<'a> {
    /// The fresh Chromium profile.
    pub profile: &'a Path,
    /// Where downloads land (no prompt).
    pub downloads: &'a Path,
    /// A host name Chromium resolves to 127.0.0.1, so the server can be reached
    /// under a name that is not loopback to the page.
    pub alias: Option<&'a str>,
}

/// The session capabilities for Debian's Chromium: headless, no network chatter, fresh profile.
pub(super) fn capabilities(setup: &Setup<'_>) -> fantoccini::wd::Capabilities {
    let binary = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    let mut args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,800",
    ]
    .iter()
    .map(|arg| (*arg).to_owned())
    .chain([format!("--user-data-dir={}", setup.profile.display())])
    .collect::<Vec<_>>();
    if let Some(alias) = setup.alias {
        args.push(format!("--host-resolver-rules=MAP {alias} 127.0.0.1"));
        // Plain http is the point of an alias: no automatic upgrade to https.
        args.push("--disable-features=HttpsUpgrades".to_owned());
    }
    let capabilities = json!({
        "browserName": "chrome",
        // Leave alert() dialogs open so a test can detect one instead of having it dismissed.
        "unhandledPromptBehavior": "ignore",
        "goog:chromeOptions": {
            "binary": binary,
            "args": args,
            // chromedriver also tells headless Chromium to allow downloads into this folder.
            "prefs": {
                "download.default_directory": setup.downloads.display().to_string(),
                "download.prompt_for_download": false,
            },
        },
    });
    capabilities
        .as_object()
        .expect("capabilities are a JSON object")
        .clone()
}

/// A loopback port that was free a moment ago.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local address").port()
}

/// Sends `DELETE /session/<id>` to chromedriver with plain blocking I/O (usable in `Drop`).
pub(super) fn delete_session(driver_url: &str, session: &str) {
    let address = driver_url.trim_start_matches("http://");
    let Ok(mut stream) = TcpStream::connect(address) else {
        return;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let request = format!(
        "DELETE /session/{session} HTTP/1.1\r\nHost: {address}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_ok() {
        // chromedriver answers once Chromium has quit; the first bytes are enough
        // (it may keep the connection open, so reading to the end would wait for the timeout).
        let mut first = [0_u8; 64];
        let _ = stream.read(&mut first);
    }
}

/// Waits for chromedriver's own readiness line on its output (`ChromeDriver
/// was started successfully`), copying every line to `log`. `false` when it
/// exits first (e.g. another process took the port); fails after `PATIENCE`.
async fn wait_until_ready(driver: &mut Child, log_file: &std::fs::File) -> bool {
    let output = driver
        .stdout
        .take()
        .expect("chromedriver's output is piped");
    let mut log = log_file.try_clone().expect("log file handle");
    let (ready_tx, ready_rx) = rocket::tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut ready_tx = Some(ready_tx);
        for line in std::io::BufRead::lines(std::io::BufReader::new(output)).map_while(Result::ok) {
            let _ = writeln!(log, "{line}");
            if line.contains("started successfully") {
                if let Some(tx) = ready_tx.take() {
                    let _ = tx.send(());
                }
            }
        }
        // Output closed without the line: chromedriver exited; dropping ready_tx says so.
    });
    let said = rocket::tokio::time::timeout(PATIENCE, ready_rx)
        .await
        .unwrap_or_else(|_| panic!("chromedriver did not say it was ready within {PATIENCE:?}"));
    said.is_ok() && driver.try_wait().is_ok_and(|status| status.is_none())
}

/// Starts chromedriver on a free port and waits until it is ready; tries another
/// port when the chosen one was taken between choosing and binding.
pub(super) async fn start_driver(log_file: &std::fs::File, log: &Path) -> (Child, String) {
    let chromedriver =
        std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".to_owned());
    for _attempt in 0..3 {
        let port = free_port();
        let mut driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file.try_clone().expect("log file handle"))
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {chromedriver} ({e}); install it: apt-get install -y chromium chromium-driver")
            });
        let driver_url = format!("http://127.0.0.1:{port}");
        if wait_until_ready(&mut driver, log_file).await {
            return (driver, driver_url);
        }
        let _ = driver.kill();
        let _ = driver.wait();
    }
    let output = std::fs::read_to_string(log).unwrap_or_default();
    panic!("chromedriver did not start (three ports tried): {output}");
}

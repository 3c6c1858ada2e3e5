//! How clinicdesk behaves by who started it: `--open-browser` (the desktop
//! launcher) opens the browser at the right page; a service prints no setup
//! link; `service install --print` shows the systemd unit. No real browser
//! is ever opened: `$BROWSER` points at a script that reports the address.

use std::path::Path;
use std::sync::mpsc;
use std::thread;

use serde_json::json;

use crate::harness::{
    clinicdesk, parse_local_url, parse_setup_link, serve_args, Running, EMAIL, PASSWORD, PATIENCE,
};

/// A stand-in browser: `$BROWSER` runs it with the URL, and it writes the
/// URL into a FIFO that a thread reads; `next_url` waits for it.
struct FakeBrowser {
    script: std::path::PathBuf,
    urls: mpsc::Receiver<String>,
}

impl FakeBrowser {
    fn new(dir: &Path) -> Self {
        let fifo = dir.join("opened");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.is_ok_and(|s| s.success()), "mkfifo");
        let script = dir.join("browser.sh");
        std::fs::write(
            &script,
            format!("#!/bin/sh\nprintf '%s\\n' \"$1\" > '{}'\n", fifo.display()),
        )
        .expect("script");
        let chmod = std::process::Command::new("chmod")
            .arg("+x")
            .arg(&script)
            .status();
        assert!(chmod.is_ok_and(|s| s.success()), "chmod");
        let (sender, urls) = mpsc::channel();
        // Opening the FIFO blocks until the script opens its end.
        thread::spawn(move || {
            while let Ok(text) = std::fs::read_to_string(&fifo) {
                if sender.send(text.trim().to_owned()).is_err() {
                    break;
                }
            }
        });
        Self { script, urls }
    }

    fn next_url(&self) -> String {
        self.urls
            .recv_timeout(PATIENCE)
            .expect("the browser was opened in time")
    }
}

#[rocket::async_test]
async fn the_desktop_launcher_opens_the_setup_link_then_the_sign_in_page() {
    // Arrange
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let browser = FakeBrowser::new(dir.path());
    let start = || {
        let mut command = clinicdesk(serve_args(&data));
        command
            .arg("--open-browser")
            .env("BROWSER", &browser.script);
        Running::start(command, None)
    };

    // Act: a first start, before any admin exists
    let mut first = start();
    let (port, token) = parse_setup_link(&first.wait_for("setup link", |l| l.contains("/setup#")));

    // Assert: the browser got exactly the printed setup link
    assert_eq!(
        browser.next_url(),
        format!("http://127.0.0.1:{port}/setup#{token}")
    );
    let setup = json!({ "token": token, "email": EMAIL, "password": PASSWORD });
    let created = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/api/setup/"))
        .json(&setup)
        .send()
        .await
        .expect("setup");
    assert_eq!(created.status(), 201);
    first.stop();

    // Act: the next start, with an admin
    let mut second = start();
    let line = second.wait_for("address", |l| l.contains("is running at"));
    let (port, _) = parse_local_url(&line).expect("a local URL");

    // Assert: now the sign-in page
    assert_eq!(browser.next_url(), format!("http://127.0.0.1:{port}/login"));
    second.stop();
}

#[test]
fn a_service_prints_how_to_make_the_first_admin_instead_of_the_setup_link() {
    // Arrange
    let dir = tempfile::tempdir().expect("temp dir");
    let mut command = clinicdesk(["--data-dir"]);
    command
        .arg(dir.path())
        .args(["--port", "0", "service", "run"]);

    // Act
    let mut server = Running::start(command, None);
    let advice = server.wait_for("admin advice", |l| l.contains("admin create"));
    let output = server.stop();

    // Assert
    assert!(
        advice.contains(&dir.path().display().to_string()),
        "{advice}"
    );
    assert!(
        !output.iter().any(|l| l.contains("/setup#")),
        "a service's output goes to a log: no setup token in it: {output:?}"
    );
}

#[test]
fn service_install_print_shows_the_unit_and_changes_nothing() {
    // Act
    let mut command = clinicdesk(["--port", "8443", "service", "install", "--print"]);
    command.env("HOME", "/nonexistent");
    let finished = Running::start(command, None).finish();

    // Assert
    assert!(finished.status.success(), "{}", finished.stderr);
    let exe = env!("CARGO_BIN_EXE_clinicdesk");
    let exec = format!("ExecStart={exe} --data-dir /var/lib/clinicdesk --port 8443 service run");
    assert!(
        finished.stdout.lines().any(|l| l == exec),
        "{exec} in:\n{}",
        finished.stdout
    );
    assert!(
        finished.stdout.contains("User=clinicdesk"),
        "{}",
        finished.stdout
    );
    assert!(
        !Path::new("/etc/systemd/system/clinicdesk.service").exists()
            || std::fs::read_to_string("/etc/systemd/system/clinicdesk.service")
                .is_ok_and(|t| !t.contains(exe)),
        "--print installs nothing"
    );
}

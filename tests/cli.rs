//! Black-box tests of the `clinicdesk` binary: first-run setup link, `admin
//! create`, data-dir checks, `--version` and `--help`. Every child process is
//! owned by a `Running` guard that kills it on drop; output is read through
//! threads and a channel with timeouts, never by sleeping.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery 9";
const EMAIL: &str = "boss@clinic.test";
/// Generous: a debug build on a busy two-core machine.
const PATIENCE: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stream {
    Out,
    Err,
}

/// A running `clinicdesk`; killed (and reaped) when dropped.
struct Running {
    child: Child,
    lines: Receiver<(Stream, String)>,
    seen: Vec<(Stream, String)>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a finished process left behind.
struct Finished {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// `clinicdesk` with `args`, isolated from any `CLINICDESK_*` of the caller.
fn clinicdesk<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut command = Command::new(env!("CARGO_BIN_EXE_clinicdesk"));
    command.args(args);
    for var in [
        "CLINICDESK_DATA_DIR",
        "CLINICDESK_PORT",
        "CLINICDESK_ADDRESS",
        "CLINICDESK_REGISTRATION",
    ] {
        command.env_remove(var);
    }
    command
}

fn serve_args(data_dir: &Path) -> Vec<std::ffi::OsString> {
    vec![
        "--data-dir".into(),
        data_dir.into(),
        "--port".into(),
        "0".into(),
        "serve".into(),
    ]
}

fn forward(stream: Stream, reader: impl Read + Send + 'static, lines: Sender<(Stream, String)>) {
    thread::spawn(move || {
        for line in BufReader::new(reader).lines().map_while(Result::ok) {
            if lines.send((stream, line)).is_err() {
                break;
            }
        }
    });
}

impl Running {
    /// Starts `command` with piped output, writing `stdin` (then closing it) when given.
    fn start(mut command: Command, stdin: Option<&str>) -> Self {
        command
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("clinicdesk starts");
        let (sender, lines) = mpsc::channel();
        forward(
            Stream::Out,
            child.stdout.take().expect("stdout"),
            sender.clone(),
        );
        forward(Stream::Err, child.stderr.take().expect("stderr"), sender);
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().expect("stdin");
            pipe.write_all(input.as_bytes()).expect("stdin written");
        }
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for the first line (on either stream) that `wanted` accepts.
    fn wait_for(&mut self, what: &str, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((stream, line)) => {
                    self.seen.push((stream, line.clone()));
                    if wanted(&line) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => panic!("no {what} in time; saw {:?}", self.seen),
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("exited before printing {what}; saw {:?}", self.seen)
                }
            }
        }
    }

    /// Waits for the process to close its output and exit.
    fn finish(&mut self) -> Finished {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(RecvTimeoutError::Timeout) => panic!("still running; saw {:?}", self.seen),
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        let status = self.child.wait().expect("exit status");
        let text = |wanted: Stream| {
            let lines = self.seen.iter().filter(|(stream, _)| *stream == wanted);
            lines.fold(String::new(), |text, (_, line)| text + line + "\n")
        };
        Finished {
            status,
            stdout: text(Stream::Out),
            stderr: text(Stream::Err),
        }
    }

    /// Kills the server and returns every line it printed.
    fn stop(mut self) -> Vec<String> {
        let _ = self.child.kill();
        let finished = self.finish();
        format!("{}{}", finished.stdout, finished.stderr)
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

/// `(port, token)` from a line holding `http://127.0.0.1:<port>/setup#<token>`.
fn parse_setup_link(line: &str) -> (u16, String) {
    let (port, rest) = parse_local_url(line).expect("a local URL");
    let token = rest.strip_prefix("/setup#").expect("a /setup# link");
    let token: String = token.chars().take_while(|c| !c.is_whitespace()).collect();
    assert!(!token.is_empty(), "a token in {line}");
    (port, token)
}

/// The port of the first `http://127.0.0.1:<port>` in `line`, and what follows it.
fn parse_local_url(line: &str) -> Option<(u16, &str)> {
    let start = line.find("http://127.0.0.1:")? + "http://127.0.0.1:".len();
    let rest = &line[start..];
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    Some((rest[..digits].parse().ok()?, &rest[digits..]))
}

fn admin_create(data_dir: &Path, email: &str, password: &str) -> Finished {
    let mut command = clinicdesk(["--data-dir"]);
    command
        .arg(data_dir)
        .args(["admin", "create", "--email", email, "--name", "Bo Boss"]);
    Running::start(command, Some(&format!("{password}\n"))).finish()
}

async fn login(port: u16, email: &str, password: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/api/auth/login/"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .expect("login sent")
}

#[rocket::async_test]
async fn first_start_prints_a_working_setup_link_with_the_real_port() {
    // Arrange
    let dir = tempfile::tempdir().expect("temp dir");
    let mut server = Running::start(clinicdesk(serve_args(dir.path())), None);

    // Act
    let line = server.wait_for("setup link", |l| l.contains("/setup#"));

    // Assert
    let (port, token) = parse_setup_link(&line);
    assert_ne!(port, 0, "the real bound port: {line}");
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let health: Value = http
        .get(format!("{base}/api/health"))
        .send()
        .await
        .expect("health")
        .json()
        .await
        .expect("health JSON");
    assert_eq!(health["status"], "ok");
    let setup = json!({ "token": token, "email": EMAIL, "password": PASSWORD, "name": "Bo" });
    let created = http
        .post(format!("{base}/api/setup/"))
        .json(&setup)
        .send()
        .await
        .expect("setup");
    assert_eq!(
        created.status(),
        201,
        "the printed token creates the first admin"
    );
    assert_eq!(login(port, EMAIL, PASSWORD).await.status(), 200);
}

#[rocket::async_test]
async fn each_start_prints_a_new_setup_token_and_the_old_one_stops_working() {
    // Arrange
    let dir = tempfile::tempdir().expect("temp dir");
    let mut first = Running::start(clinicdesk(serve_args(dir.path())), None);
    let (_, old_token) = parse_setup_link(&first.wait_for("setup link", |l| l.contains("/setup#")));
    first.stop();

    // Act
    let mut second = Running::start(clinicdesk(serve_args(dir.path())), None);
    let line = second.wait_for("setup link", |l| l.contains("/setup#"));

    // Assert
    let (port, new_token) = parse_setup_link(&line);
    assert_ne!(old_token, new_token);
    let setup = json!({ "token": old_token, "email": EMAIL, "password": PASSWORD });
    let stale = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/api/setup/"))
        .json(&setup)
        .send()
        .await
        .expect("setup sent");
    assert_eq!(stale.status(), 401, "the previous start's token is dead");
    let body: Value = stale.json().await.expect("error JSON");
    assert_eq!(body["code"], "not_authenticated");
}

#[rocket::async_test]
async fn admin_create_reads_stdin_and_then_no_setup_link_is_printed() {
    // Arrange
    let dir = tempfile::tempdir().expect("temp dir");

    // Act
    let made = admin_create(dir.path(), EMAIL, PASSWORD);
    let mut server = Running::start(clinicdesk(serve_args(dir.path())), None);
    let line = server.wait_for("the server URL", |l| parse_local_url(l).is_some());

    // Assert
    assert!(
        made.status.success(),
        "admin create: {}{}",
        made.stdout,
        made.stderr
    );
    assert!(
        !line.contains("/setup"),
        "no setup link once an admin exists: {line}"
    );
    let (port, _) = parse_local_url(&line).expect("URL");
    let response = login(port, EMAIL, PASSWORD).await;
    let body: Value = response.json().await.expect("login body");
    assert_eq!(body["user"]["role"], "admin");
    let output = server.stop();
    assert!(!output.iter().any(|l| l.contains("/setup")), "{output:?}");
    assert!(
        !output.iter().any(|l| l.contains(PASSWORD)),
        "the password is never echoed"
    );
}

#[test]
fn admin_create_refuses_a_weak_password_and_a_duplicate_email() {
    // Arrange
    let dir = tempfile::tempdir().expect("temp dir");

    // Act
    let weak = admin_create(dir.path(), EMAIL, "password123");
    let first = admin_create(dir.path(), EMAIL, PASSWORD);
    let duplicate = admin_create(dir.path(), "BOSS@clinic.test", PASSWORD);

    // Assert
    assert!(
        !weak.status.success(),
        "weak password accepted: {}",
        weak.stdout
    );
    assert!(
        weak.stderr.to_lowercase().contains("password"),
        "stderr: {}",
        weak.stderr
    );
    assert!(first.status.success(), "{}", first.stderr);
    assert!(
        !duplicate.status.success(),
        "duplicate accepted: {}",
        duplicate.stdout
    );
    assert!(!duplicate.stderr.trim().is_empty());
}

#[test]
fn a_data_dir_that_is_a_file_or_under_a_file_is_refused_by_name() {
    // Arrange
    let file = tempfile::NamedTempFile::new().expect("temp file");
    let under = file.path().join("data");

    for dir in [file.path(), under.as_path()] {
        // Act
        let finished = Running::start(clinicdesk(serve_args(dir)), None).finish();

        // Assert
        assert!(
            !finished.status.success(),
            "{}: started anyway",
            dir.display()
        );
        let named = file.path().to_string_lossy();
        assert!(
            finished.stderr.contains(named.as_ref()),
            "stderr names {named}: {}",
            finished.stderr
        );
        assert!(!finished.stdout.contains("/setup#"), "{}", finished.stdout);
    }
}

#[rocket::async_test]
async fn the_environment_chooses_the_data_dir_and_the_port() {
    // Arrange
    let dir = tempfile::tempdir().expect("temp dir");
    let mut command = clinicdesk(["serve"]);
    command
        .env("CLINICDESK_DATA_DIR", dir.path())
        .env("CLINICDESK_PORT", "0");
    let mut server = Running::start(command, None);

    // Act
    let line = server.wait_for("setup link", |l| l.contains("/setup#"));

    // Assert
    let (port, _) = parse_setup_link(&line);
    let health = reqwest::get(format!("http://127.0.0.1:{port}/api/health"))
        .await
        .expect("health");
    assert_eq!(health.status(), 200);
    assert!(
        dir.path().join("jwt.key").is_file(),
        "the secret lives in the data dir"
    );
    assert!(
        dir.path().join("clinicdesk.sqlite3").is_file(),
        "so does the database"
    );
}

#[rocket::async_test]
async fn registration_can_be_opened_from_the_environment() {
    // Arrange
    let dir = tempfile::tempdir().expect("temp dir");
    let mut command = clinicdesk(serve_args(dir.path()));
    command.env("CLINICDESK_REGISTRATION", "open");
    let mut server = Running::start(command, None);
    let line = server.wait_for("the server URL", |l| parse_local_url(l).is_some());
    let (port, _) = parse_local_url(&line).expect("URL");

    // Act
    let response = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/api/auth/register/"))
        .json(&json!({ "email": "walk-in@clinic.test", "password": PASSWORD }))
        .send()
        .await
        .expect("register sent");

    // Assert
    assert_eq!(response.status(), 201);
    let user: Value = response.json().await.expect("user JSON");
    assert_eq!(user["role"], "user");
}

#[test]
fn version_prints_the_name_and_version() {
    // Act
    let finished = Running::start(clinicdesk(["--version"]), None).finish();

    // Assert
    assert!(finished.status.success());
    assert_eq!(finished.stdout.trim(), "clinicdesk 0.1.0");
}

#[test]
fn help_mentions_serve_and_admin() {
    // Act
    let finished = Running::start(clinicdesk(["--help"]), None).finish();

    // Assert
    assert!(finished.status.success());
    assert!(finished.stdout.contains("serve"), "{}", finished.stdout);
    assert!(finished.stdout.contains("admin"), "{}", finished.stdout);
}

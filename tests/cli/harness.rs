//! Running the real binary: every child process is owned by a `Running`
//! guard that kills it on drop; output is read through threads and a
//! channel with timeouts, never by sleeping.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::json;

pub const PASSWORD: &str = "correct horse battery 9";
pub const EMAIL: &str = "boss@clinic.test";
/// Generous: a debug build on a busy two-core machine.
pub const PATIENCE: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Out,
    Err,
}

/// A running `clinicdesk`; killed (and reaped) when dropped.
pub struct Running {
    pub child: Child,
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
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// `clinicdesk` with `args`, isolated from any `CLINICDESK_*` of the caller.
pub fn clinicdesk<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut command = Command::new(env!("CARGO_BIN_EXE_clinicdesk"));
    command.args(args);
    // Settings come from CLINICDESK_* variables (the list grows with the
    // config), so none of the caller's may leak in.
    for (var, _) in std::env::vars_os() {
        if var.to_string_lossy().starts_with("CLINICDESK_") {
            command.env_remove(var);
        }
    }
    command
}

pub fn serve_args(data_dir: &Path) -> Vec<std::ffi::OsString> {
    vec![
        "--data-dir".into(),
        data_dir.into(),
        "--port".into(),
        "0".into(),
        "serve".into(),
    ]
}

pub fn forward(
    stream: Stream,
    reader: impl Read + Send + 'static,
    lines: Sender<(Stream, String)>,
) {
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
    pub fn start(mut command: Command, stdin: Option<&str>) -> Self {
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
    pub fn wait_for(&mut self, what: &str, wanted: impl Fn(&str) -> bool) -> String {
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

    /// Every line printed so far, without waiting (for a failure's message).
    pub fn printed(&mut self) -> Vec<String> {
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
        self.seen.iter().map(|(_, line)| line.clone()).collect()
    }

    /// Waits for the process to close its output and exit.
    pub fn finish(&mut self) -> Finished {
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
    pub fn stop(mut self) -> Vec<String> {
        let _ = self.child.kill();
        let finished = self.finish();
        format!("{}{}", finished.stdout, finished.stderr)
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

/// `(port, token)` from a line holding `http://127.0.0.1:<port>/setup#<token>`.
pub fn parse_setup_link(line: &str) -> (u16, String) {
    let (port, rest) = parse_local_url(line).expect("a local URL");
    let token = rest.strip_prefix("/setup#").expect("a /setup# link");
    let token: String = token.chars().take_while(|c| !c.is_whitespace()).collect();
    assert!(!token.is_empty(), "a token in {line}");
    (port, token)
}

/// The port of the first `http://127.0.0.1:<port>` in `line`, and what follows it.
pub fn parse_local_url(line: &str) -> Option<(u16, &str)> {
    let start = line.find("http://127.0.0.1:")? + "http://127.0.0.1:".len();
    let rest = &line[start..];
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    Some((rest[..digits].parse().ok()?, &rest[digits..]))
}

/// Runs `clinicdesk --data-dir <data_dir> <args>` to its end.
pub fn run(data_dir: &Path, args: &[&str]) -> Finished {
    let mut command = clinicdesk(["--data-dir"]);
    command.arg(data_dir).args(args);
    Running::start(command, None).finish()
}

/// Starts the server on `dir` and answers it with its real port.
pub fn start_server(dir: &Path) -> (Running, u16) {
    let mut server = Running::start(clinicdesk(serve_args(dir)), None);
    let line = server.wait_for("the address", |l| l.contains("is running at"));
    (server, parse_local_url(&line).expect("address").0)
}

pub fn admin_create(data_dir: &Path, email: &str, password: &str) -> Finished {
    let mut command = clinicdesk(["--data-dir"]);
    command
        .arg(data_dir)
        .args(["admin", "create", "--email", email, "--name", "Bo Boss"]);
    Running::start(command, Some(&format!("{password}\n"))).finish()
}

pub async fn login(port: u16, email: &str, password: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/api/auth/login/"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .expect("login sent")
}

/// Patients created by `writers` concurrent clients until `stop` is set or
/// each has made `limit` requests. The ids the server acknowledged go into
/// `acknowledged`; returns how many answers were not `201` (a refused
/// connection ends a client and is not counted: that is the server gone).
pub async fn write_until_stopped(
    port: u16,
    token: &str,
    writers: usize,
    limit: usize,
    stop: &std::sync::atomic::AtomicBool,
    acknowledged: &std::sync::Mutex<Vec<i64>>,
) -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let failures = AtomicUsize::new(0);
    let failures = &failures;
    let http = reqwest::Client::new();
    let clients = (0..writers).map(|writer| {
        let http = http.clone();
        async move {
            for i in 0..limit {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let body = serde_json::json!({ "first_name": format!("W{writer}"), "last_name": format!("N{i}") });
                let sent = http
                    .post(format!("http://127.0.0.1:{port}/api/patients/"))
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await;
                let Ok(response) = sent else { break };
                if response.status() != 201 {
                    failures.fetch_add(1, Ordering::SeqCst);
                    continue;
                }
                let created: serde_json::Value = response.json().await.unwrap_or_default();
                if let Some(id) = created["id"].as_i64() {
                    acknowledged.lock().expect("not poisoned").push(id);
                }
            }
        }
    });
    rocket::futures::future::join_all(clients).await;
    failures.load(Ordering::SeqCst)
}

/// An access token for `boss@clinic.test` (made by `admin_create`).
pub async fn access_token(port: u16) -> String {
    let response = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/api/auth/login/"))
        .json(&serde_json::json!({ "email": "boss@clinic.test", "password": PASSWORD }))
        .send()
        .await
        .expect("login sent");
    let body: serde_json::Value = response.json().await.expect("login body");
    body["access"].as_str().expect("access token").to_owned()
}

/// Asserts every patient in `ids` reads back (`200`) from the server on `port`.
pub async fn assert_patients_readable(port: u16, token: &str, ids: &[i64], context: &str) {
    let http = reqwest::Client::new();
    for id in ids {
        let status = http
            .get(format!("http://127.0.0.1:{port}/api/patients/{id}/"))
            .bearer_auth(token)
            .send()
            .await
            .expect("read sent")
            .status();
        assert_eq!(status, 200, "{context}: patient {id} is missing");
    }
}

//! The Windows build, run for real: the cross-built `clinicdesk.exe` under
//! Debian's Wine, driven over HTTP on loopback as `tests/cli` drives the
//! Linux binary, by hand and as a Windows service (Wine has a service
//! control manager). It needs `dist/clinicdesk.exe` (`bash .ci/dist windows`),
//! Wine and MinGW, all of which `.ci/run` provides first, and it fails with
//! a message, never skips, when one is missing:
//!
//! ```text
//! cargo test --features wine-smoke --test windows
//! ```

#[allow(dead_code)]
#[path = "../cli/harness.rs"]
mod harness;
mod wine;

use serde_json::{json, Value};

use harness::{parse_local_url, parse_setup_link, Running, EMAIL, PASSWORD};
use wine::{windows_path, Wine};

#[rocket::async_test]
async fn the_windows_service_installs_serves_stops_and_uninstalls_under_wine() {
    // Arrange: a port for the service (the SCM starts it, so it cannot say
    // which port it got; this one was free a moment ago).
    let wine = Wine::prepare();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let port_arg = port.to_string();
    let run = |args: &[&str]| Running::start(wine.clinicdesk(args), None).finish();
    let health = || async {
        reqwest::Client::new()
            .get(format!("http://127.0.0.1:{port}/api/health"))
            .send()
            .await
    };

    // Act: install and start (`service start` returns once it is running)
    let installed = run(&["--port", &port_arg, "service", "install"]);
    assert!(
        installed.status.success(),
        "install: {}{}",
        installed.stdout,
        installed.stderr
    );
    assert!(
        installed.stdout.contains(r"ProgramData\clinicdesk"),
        "{}",
        installed.stdout
    );
    let started = run(&["service", "start"]);
    assert!(
        started.status.success(),
        "start: {}{}",
        started.stdout,
        started.stderr
    );

    // Assert: it serves, in ProgramData, and logs there
    let answer = health().await.expect("the service answers");
    assert_eq!(answer.status(), 200);
    let data = wine.prefix().join("drive_c/ProgramData/clinicdesk");
    assert!(
        data.join("clinicdesk.sqlite3").is_file(),
        "database in {}",
        data.display()
    );

    // Act: stop (returns once stopped), then uninstall
    let stopped = run(&["service", "stop"]);
    assert!(
        stopped.status.success(),
        "stop: {}{}",
        stopped.stdout,
        stopped.stderr
    );
    assert!(health().await.is_err(), "a stopped service answers nothing");
    let log = std::fs::read_to_string(data.join("clinicdesk.log")).expect("the service log");
    assert!(log.contains("clinicdesk is serving"), "{log}");
    assert!(log.contains("stopped cleanly"), "a clean stop: {log}");
    assert!(!log.contains("/setup#"), "no setup token in a log: {log}");
    let removed = run(&["service", "uninstall"]);
    assert!(
        removed.status.success(),
        "uninstall: {}{}",
        removed.stdout,
        removed.stderr
    );

    // Assert: gone, data kept
    let again = run(&["service", "start"]);
    assert!(!again.status.success(), "no service to start any more");
    assert!(
        again.stderr.contains("cannot open the clinicdesk service"),
        "{}",
        again.stderr
    );
    assert!(
        data.join("clinicdesk.sqlite3").is_file(),
        "the data is kept"
    );
}

#[rocket::async_test]
async fn the_windows_build_serves_under_wine_and_keeps_a_patient_across_a_restart() {
    // Arrange: a fresh prefix and an empty data directory, seen as Z:\...
    let wine = Wine::prepare();
    let data = tempfile::tempdir().expect("temp data dir");
    let data_dir = windows_path(data.path());
    let args = [
        "--data-dir",
        data_dir.as_str(),
        "--address",
        "127.0.0.1",
        "--port",
        "0",
        "serve",
    ];
    let http = reqwest::Client::new();

    // Act 1: first start, the setup link, an admin, a patient.
    let mut server = Running::start(wine.clinicdesk(args), None);
    let shown = server.wait_for("data directory", |l| l.starts_with("Data directory:"));
    assert_eq!(shown, format!("Data directory: {data_dir}"));
    let (port, token) = parse_setup_link(&server.wait_for("setup link", |l| l.contains("/setup#")));
    let base = format!("http://127.0.0.1:{port}");

    let health = http
        .get(format!("{base}/api/health"))
        .send()
        .await
        .expect("health");
    assert_eq!(health.status(), 200);
    let health: Value = health.json().await.expect("health JSON");
    assert_eq!(health["status"], "ok");

    let setup =
        json!({ "token": token, "email": EMAIL, "password": PASSWORD, "name": "Win Admin" });
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

    let access = login(&http, &base).await;
    let patient = json!({ "first_name": "Wilhelmina", "last_name": "Wine", "city": "Redmond" });
    let created = http
        .post(format!("{base}/api/patients/"))
        .bearer_auth(&access)
        .json(&patient)
        .send()
        .await
        .expect("create patient");
    assert_eq!(created.status(), 201);
    let id = created.json::<Value>().await.expect("patient JSON")["id"]
        .as_i64()
        .expect("patient id");
    assert_eq!(
        read_patient(&http, &base, &access, id).await["first_name"],
        "Wilhelmina"
    );
    server.stop();

    // Act 2: start again on the same data directory.
    let mut again = Running::start(wine.clinicdesk(args), None);
    let line = again.wait_for("address", |l| l.contains("is running at"));
    let (port, _) = parse_local_url(&line).expect("a local URL");
    let base = format!("http://127.0.0.1:{port}");

    // Assert: the admin signs in again and the patient is still there.
    let access = login(&http, &base).await;
    let read = read_patient(&http, &base, &access, id).await;
    assert_eq!(read["first_name"], "Wilhelmina");
    assert_eq!(read["last_name"], "Wine");
    let output = again.stop();
    assert!(
        !output.iter().any(|l| l.contains("/setup#")),
        "an admin exists, so no setup link: {output:?}"
    );
}

async fn login(http: &reqwest::Client, base: &str) -> String {
    let response = http
        .post(format!("{base}/api/auth/login/"))
        .json(&json!({ "email": EMAIL, "password": PASSWORD }))
        .send()
        .await
        .expect("login sent");
    assert_eq!(response.status(), 200, "login");
    let body: Value = response.json().await.expect("login JSON");
    body["access"].as_str().expect("access token").to_owned()
}

async fn read_patient(http: &reqwest::Client, base: &str, access: &str, id: i64) -> Value {
    let response = http
        .get(format!("{base}/api/patients/{id}/"))
        .bearer_auth(access)
        .send()
        .await
        .expect("read patient");
    assert_eq!(response.status(), 200, "patient {id}");
    response.json().await.expect("patient JSON")
}

//! The Windows build, run for real: the cross-built `clinicdesk.exe` under
//! Debian's Wine, driven over HTTP on loopback as `tests/cli` drives the
//! Linux binary. It needs `dist/clinicdesk.exe` (`bash .ci/dist windows`),
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

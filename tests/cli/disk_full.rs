//! A full disk: the server runs in its own mount namespace on a small
//! tmpfs (`unshare`, no root needed), the test fills that disk and frees it
//! on cue through two FIFOs. Writes must fail with a clear JSON `507`,
//! reads keep working, nothing acknowledged is lost, and writes resume by
//! themselves once there is room.

use std::process::Command;

use serde_json::{json, Value};

use crate::harness::{parse_setup_link, Running};

/// Mounts the tmpfs, arms the filler, then becomes the server.
const SCRIPT: &str = r#"
mount -t tmpfs -o size=8m tmpfs "$1" || exit 97
{ read _ < "$2"; dd if=/dev/zero of="$1/filler" bs=64k 2>/dev/null; read _ < "$3"; rm -f "$1/filler"; } &
exec "$4" --data-dir "$1" --port 0 serve
"#;

async fn create(http: &reqwest::Client, base: &str, token: &str, i: usize) -> reqwest::Response {
    let body = json!({ "first_name": format!("P{i}"), "medical_history": "x".repeat(8000) });
    http.post(format!("{base}/api/patients/"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("request sent")
}

/// A list read on a full disk: `None` when it was refused (a clear 507),
/// else the id of the request that was answered.
async fn read_on_a_full_disk(http: &reqwest::Client, base: &str, token: &str) -> Option<String> {
    let listed = http
        .get(format!("{base}/api/patients/"))
        .bearer_auth(token)
        .send()
        .await
        .expect("list");
    match listed.status().as_u16() {
        507 => {
            let body: Value = listed.json().await.expect("JSON error");
            assert_eq!(body["code"], "storage_full");
            None
        }
        200 => Some(
            listed.headers()["x-request-id"]
                .to_str()
                .expect("request id")
                .to_owned(),
        ),
        other => panic!("a read on a full disk answered {other}"),
    }
}

/// Whether the audit trail holds a list read made by request `request`.
async fn is_recorded(http: &reqwest::Client, base: &str, token: &str, request: &str) -> bool {
    let trail: Value = http
        .get(format!("{base}/api/audit/?action=search&page_size=500"))
        .bearer_auth(token)
        .send()
        .await
        .expect("audit")
        .json()
        .await
        .expect("audit body");
    trail
        .as_array()
        .expect("a list")
        .iter()
        .any(|entry| entry["request_id"] == request)
}

#[rocket::async_test]
async fn a_full_disk_refuses_writes_clearly_and_they_resume_once_space_is_freed() {
    // Arrange: the server on an 8 MiB disk of its own, with an admin.
    let dir = tempfile::tempdir().expect("temp dir");
    let control = tempfile::tempdir().expect("temp dir");
    let (fill, free) = (control.path().join("fill"), control.path().join("free"));
    for fifo in [&fill, &free] {
        assert!(Command::new("mkfifo")
            .arg(fifo)
            .status()
            .expect("mkfifo")
            .success());
    }
    let mut command = Command::new("unshare");
    command
        .args(["-Urm", "sh", "-c", SCRIPT, "sh"])
        .arg(dir.path())
        .arg(&fill)
        .arg(&free)
        .arg(env!("CARGO_BIN_EXE_clinicdesk"));
    let mut server = Running::start(command, None);
    let line = server.wait_for("setup link", |l| l.contains("/setup#"));
    let (port, setup) = parse_setup_link(&line);
    let (http, base) = (reqwest::Client::new(), format!("http://127.0.0.1:{port}"));
    let admin = json!({ "token": setup, "email": "boss@clinic.test", "password": crate::harness::PASSWORD });
    assert_eq!(
        http.post(format!("{base}/api/setup/"))
            .json(&admin)
            .send()
            .await
            .expect("setup")
            .status(),
        201
    );
    let login: Value = http
        .post(format!("{base}/api/auth/login/"))
        .json(&admin)
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("login body");
    let token = login["access"].as_str().expect("access").to_owned();
    let mut saved = 0;
    assert_eq!(create(&http, &base, &token, 0).await.status(), 201);
    saved += 1;

    // Act 1: fill the disk; write until the server says it is full.
    std::fs::write(&fill, "go\n").expect("fill signalled");
    let mut refused = None;
    for i in 1..500 {
        let response = create(&http, &base, &token, i).await;
        if response.status() == 201 {
            saved += 1;
        } else {
            refused = Some(response);
            break;
        }
    }

    // Assert 1: a clear 507.
    let refused = refused.expect("a full disk refuses a write");
    assert_eq!(refused.status(), 507);
    let body: Value = refused.json().await.expect("JSON error");
    assert_eq!(body["code"], "storage_full");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("disk is full"),
        "{body}"
    );
    // A read of patient data is audited, and an access that cannot be
    // recorded is not given: a read is refused just as clearly, unless its
    // small record still fitted (the write-ahead log reuses the room it
    // already has); then that record must be in the trail (checked below).
    let read_while_full = read_on_a_full_disk(&http, &base, &token).await;

    // Act 2: free the space; writes resume without a restart.
    std::fs::write(&free, "go\n").expect("free signalled");
    let mut resumed = false;
    for i in 500..1000 {
        if create(&http, &base, &token, i).await.status() == 201 {
            resumed = true;
            saved += 1;
            break;
        }
    }

    // Assert 2
    assert!(resumed, "writes resume once there is room");
    let listed = http
        .get(format!("{base}/api/patients/"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("list");
    assert_eq!(listed.status(), 200);
    assert_eq!(
        listed.headers()["x-total-count"],
        saved.to_string().as_str(),
        "nothing acknowledged is lost"
    );
    if let Some(request) = read_while_full {
        assert!(
            is_recorded(&http, &base, &token, &request).await,
            "the read answered on a full disk has its record"
        );
    }
    drop(server);
}

//! Transport security and what the server writes about itself: HTTPS with
//! the certificate whose fingerprint it printed, no clear text on the LAN
//! without asking, and logs free of passwords, tokens and patient data.

use std::process::Command;

use serde_json::{json, Value};

use crate::harness::{clinicdesk, parse_setup_link, serve_args, Running};

const ADMIN_PASSWORD: &str = "violet kestrel harbour 7";
const WRONG_PASSWORD: &str = "amber falcon meadow 3";
const NEW_PASSWORD: &str = "silver otter lantern 5";

#[test]
fn a_lan_address_without_tls_or_insecure_http_is_refused_before_listening() {
    // Arrange
    let dir = tempfile::tempdir().expect("temp dir");
    let mut args = serve_args(dir.path());
    args.extend([
        "--address".into(),
        "0.0.0.0".into(),
        "--tls".into(),
        "off".into(),
    ]);

    // Act
    let refused = Running::start(clinicdesk(args), None).finish();

    // Assert
    assert!(!refused.status.success());
    assert!(refused.stderr.contains("clear text"), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("--insecure-http"),
        "{}",
        refused.stderr
    );
}

/// The SHA-256 fingerprint `openssl` sees on a TLS handshake with `port`.
fn handshake_fingerprint(port: u16) -> String {
    let handshake = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("openssl s_client runs");
    let mut fingerprint = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("openssl x509 runs");
    std::io::Write::write_all(
        fingerprint.stdin.as_mut().expect("stdin"),
        &handshake.stdout,
    )
    .expect("certificate piped");
    let out = fingerprint.wait_with_output().expect("fingerprint");
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .rsplit('=')
        .next()
        .expect("a fingerprint")
        .to_owned()
}

#[test]
fn with_tls_on_the_server_speaks_https_with_the_certificate_whose_fingerprint_it_printed() {
    // Arrange
    let dir = tempfile::tempdir().expect("temp dir");
    let mut args = serve_args(dir.path());
    args.extend(["--tls".into(), "on".into()]);
    let mut server = Running::start(clinicdesk(args), None);
    let line = server.wait_for("the address", |l| l.contains("is running at"));
    let printed = server.wait_for("the fingerprint", |l| l.contains("SHA-256 fingerprint"));
    let start = line.find("https://127.0.0.1:").expect("an https URL") + "https://127.0.0.1:".len();
    let port: u16 = line[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .expect("port");
    let printed = printed.rsplit(' ').next().expect("fingerprint").to_owned();

    // Act
    let seen = handshake_fingerprint(port);
    let cert = dir.path().join("tls").join("cert.pem");
    let health = Command::new("curl")
        .args(["-sS", "--fail", "-D", "-", "--cacert"])
        .arg(&cert)
        .arg(format!("https://127.0.0.1:{port}/api/health"))
        .output()
        .expect("curl runs");

    // Assert: the certificate verifies for 127.0.0.1, and is the one printed.
    assert_eq!(seen, printed);
    let answer = String::from_utf8_lossy(&health.stdout).to_lowercase();
    assert!(
        health.status.success(),
        "{answer} {}",
        String::from_utf8_lossy(&health.stderr)
    );
    assert!(
        answer.contains("strict-transport-security: max-age="),
        "{answer}"
    );
    drop(server.stop());
}

/// Every way a secret could reach the log, in one session against the binary.
async fn exercise(port: u16, setup_token: &str) -> Vec<String> {
    let http = reqwest::Client::new();
    let url = |path: &str| format!("http://127.0.0.1:{port}{path}");
    let send = |request: reqwest::RequestBuilder| async move {
        let response = request.send().await.expect("sent");
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        (status, body)
    };
    let setup =
        json!({ "token": setup_token, "email": "boss@clinic.test", "password": ADMIN_PASSWORD });
    assert_eq!(
        send(http.post(url("/api/setup/")).json(&setup)).await.0,
        201
    );
    let wrong = json!({ "email": "boss@clinic.test", "password": WRONG_PASSWORD });
    assert_eq!(
        send(http.post(url("/api/auth/login/")).json(&wrong))
            .await
            .0,
        401
    );
    let right = json!({ "email": "boss@clinic.test", "password": ADMIN_PASSWORD });
    let (status, login) = send(http.post(url("/api/auth/login/")).json(&right)).await;
    assert_eq!(status, 200);
    let access = login["access"].as_str().expect("access").to_owned();
    let refresh = login["refresh"].as_str().expect("refresh").to_owned();
    let patient =
        json!({ "first_name": "Quintessa", "last_name": "Marlowe", "phone": "+44 7700 900461" });
    let (status, created) = send(
        http.post(url("/api/patients/"))
            .bearer_auth(&access)
            .json(&patient),
    )
    .await;
    assert_eq!(status, 201);
    let path = format!("/api/patients/{}/", created["id"]);
    assert_eq!(send(http.get(url(&path)).bearer_auth(&access)).await.0, 200);
    let search = url("/api/patients/?search=Quintessa");
    assert_eq!(send(http.get(search).bearer_auth(&access)).await.0, 200);
    let (status, renewed) = send(
        http.post(url("/api/auth/refresh/"))
            .json(&json!({ "refresh": refresh })),
    )
    .await;
    assert_eq!(status, 200);
    let garbage = http
        .post(url("/api/patients/"))
        .bearer_auth(&access)
        .header("Content-Type", "application/json")
        .body("{\"first_name\": \"Quintessa\", oops");
    assert_eq!(send(garbage).await.0, 400);
    // Last with this token: the password change ends it.
    let change = json!({ "current_password": ADMIN_PASSWORD, "new_password": NEW_PASSWORD });
    assert_eq!(
        send(
            http.post(url("/api/auth/password/"))
                .bearer_auth(&access)
                .json(&change)
        )
        .await
        .0,
        204
    );
    let mut secrets = vec![
        ADMIN_PASSWORD.to_owned(),
        WRONG_PASSWORD.to_owned(),
        NEW_PASSWORD.to_owned(),
        access,
        refresh,
        "Quintessa".to_owned(),
        "Marlowe".to_owned(),
        "7700 900461".to_owned(),
    ];
    secrets.extend(renewed["access"].as_str().map(str::to_owned));
    secrets.extend(renewed["refresh"].as_str().map(str::to_owned));
    secrets
}

#[rocket::async_test]
async fn the_servers_own_output_holds_no_password_token_or_patient_data_even_at_debug_level() {
    // Arrange
    let dir = tempfile::tempdir().expect("temp dir");
    let mut command = clinicdesk(serve_args(dir.path()));
    command.env("CLINICDESK_LOG", "debug");
    let mut server = Running::start(command, None);
    let link = server.wait_for("the setup link", |l| l.contains("/setup#"));
    let (port, setup_token) = parse_setup_link(&link);

    // Act
    let secrets = exercise(port, &setup_token).await;
    let output = server.stop();

    // Assert
    assert!(
        output.iter().any(|l| l.contains("request")),
        "the log was on"
    );
    for secret in &secrets {
        let leaks: Vec<&String> = output
            .iter()
            .filter(|l| l.contains(secret.as_str()))
            .collect();
        assert!(
            leaks.is_empty(),
            "{secret:?} appears in the output: {leaks:?}"
        );
    }
    // The setup token is printed once, in the setup link on the console, by design.
    let mentions = output.iter().filter(|l| l.contains(&setup_token)).count();
    assert_eq!(mentions, 1, "the setup token only in its link");
}

//! The commands: first-run setup link, `admin create`, data-dir checks,
//! the environment, `--version` and `--help`.

use serde_json::{json, Value};

use crate::harness::{
    admin_create, clinicdesk, login, parse_local_url, parse_setup_link, serve_args, Running, EMAIL,
    PASSWORD,
};

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

#[rocket::async_test]
async fn admin_unlock_clears_the_sign_in_delay_of_an_account_in_the_running_server() {
    // Arrange: a running server, and five wrong passwords from this machine,
    // so the right one from here must now wait.
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(admin_create(dir.path(), EMAIL, PASSWORD).status.success());
    let mut server = Running::start(clinicdesk(serve_args(dir.path())), None);
    let line = server.wait_for("the server URL", |l| parse_local_url(l).is_some());
    let (port, _) = parse_local_url(&line).expect("URL");
    for _ in 0..5 {
        assert_eq!(
            login(port, EMAIL, "correct horse battery 8").await.status(),
            401
        );
    }
    let delayed = login(port, EMAIL, PASSWORD).await;
    assert_eq!(delayed.status(), 429);
    assert!(delayed.headers().contains_key("retry-after"));

    // Act
    let mut unknown = clinicdesk(["--data-dir"]);
    unknown
        .arg(dir.path())
        .args(["admin", "unlock", "nobody@clinic.test"]);
    let unknown = Running::start(unknown, None).finish();
    let mut unlock = clinicdesk(["--data-dir"]);
    unlock.arg(dir.path()).args(["admin", "unlock", EMAIL]);
    let unlocked = Running::start(unlock, None).finish();

    // Assert
    assert!(!unknown.status.success());
    assert!(unknown.stderr.contains("no account"), "{}", unknown.stderr);
    assert!(
        unlocked.status.success(),
        "{}{}",
        unlocked.stdout,
        unlocked.stderr
    );
    assert!(unlocked.stdout.contains("Cleared"), "{}", unlocked.stdout);
    assert_eq!(login(port, EMAIL, PASSWORD).await.status(), 200);
    drop(server);
}

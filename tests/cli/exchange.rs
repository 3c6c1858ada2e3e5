//! `clinicdesk export` and `clinicdesk import` (also `--django`): the
//! whole clinic into a file and into a new data directory, and a Django
//! "healthcare backend" dump brought in with its ids, owners and aliases.

use std::path::Path;

use serde_json::{json, Value};

use crate::harness::{admin_create, login, run, start_server, EMAIL, PASSWORD};

const DUMP: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/django-dumpdata.json"
);

async fn token(port: u16) -> String {
    let body: Value = login(port, EMAIL, PASSWORD)
        .await
        .json()
        .await
        .expect("login body");
    body["access"].as_str().expect("access").to_owned()
}

async fn get(port: u16, token: &str, path: &str) -> Value {
    let response = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.expect("JSON")
}

fn new_clinic() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(admin_create(dir.path(), EMAIL, PASSWORD).status.success());
    dir
}

fn by_id(list: &Value, id: i64) -> &Value {
    list.as_array()
        .and_then(|all| all.iter().find(|item| item["id"] == id))
        .unwrap_or_else(|| panic!("no {id} in {list}"))
}

#[rocket::async_test]
async fn a_django_dump_comes_in_with_its_ids_owners_and_aliases_and_the_rest_is_reported() {
    let clinic = new_clinic();
    let imported = run(clinic.path(), &["import", "--django", DUMP]);
    assert!(
        imported.status.success(),
        "{}{}",
        imported.stdout,
        imported.stderr
    );
    let said = &imported.stdout;
    assert!(
        said.contains("Imported 3 patients, 2 doctors, 2 mappings"),
        "{said}"
    );
    for skipped in [
        "auth.permission 21",
        "sessions.session \"k3j2h4\"",
        "auth.user 3",
    ] {
        assert!(
            said.contains(&format!("Skipped {skipped}")),
            "{skipped}: {said}"
        );
    }

    let (_server, port) = start_server(clinic.path());
    let token = token(port).await;
    let patients = get(port, &token, "/api/patients/?ordering=id").await;
    let maria = by_id(&patients, 7);
    assert_eq!(maria["first_name"], "María");
    assert_eq!(
        maria["last_name"], "José García",
        "split at the first space, as the API does"
    );
    assert_eq!(
        (maria["gender"].clone(), maria["age"].clone()),
        (json!("F"), json!(42))
    );
    assert_eq!(maria["phone"], "+34 612 345 678");
    assert_eq!(maria["created_at"], "2024-05-02T10:30:00Z");
    assert_eq!(
        by_id(&patients, 12)["phone"],
        Value::Null,
        "a blank is no value"
    );
    let users = get(port, &token, "/api/users/?ordering=id").await;
    let raj = users
        .as_array()
        .and_then(|all| all.iter().find(|u| u["email"] == "raj@oldclinic.example"))
        .expect("Raj came in");
    assert_eq!(
        maria["created_by"], raj["id"],
        "the owner follows the account"
    );
    assert_eq!(raj["must_change_password"], true);
    assert_eq!(raj["role"], "user");
    let me = users
        .as_array()
        .and_then(|all| all.iter().find(|u| u["email"] == EMAIL));
    let me = me.expect("the admin").clone();
    assert_eq!(
        by_id(&patients, 8)["created_by"],
        me["id"],
        "the intern had no email"
    );
    let doctors = get(port, &token, "/api/doctors/").await;
    assert_eq!(by_id(&doctors, 4)["specialization"], "General Surgery");
    assert_eq!(by_id(&doctors, 3)["years_of_experience"], 20);
    let mappings = get(port, &token, "/api/mappings/7/").await;
    assert_eq!(mappings[0]["doctor"], 3);
    assert_eq!(mappings[0]["notes"], "Referred for tests");
    let admin_login = login(port, "anna.smith@oldclinic.example", PASSWORD).await;
    assert_eq!(
        admin_login.status(),
        401,
        "Django's password hashes stay behind"
    );
}

#[rocket::async_test]
async fn a_whole_clinic_goes_into_a_file_and_into_a_new_data_directory_only_once() {
    let old = new_clinic();
    let (server, port) = start_server(old.path());
    let token = token(port).await;
    let created = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/api/patients/"))
        .bearer_auth(&token)
        .json(&json!({ "name": "Ada Lovelace", "allergies": "latex" }))
        .send()
        .await
        .expect("sent");
    assert_eq!(created.status(), 201);
    drop(server);
    let file = old.path().join("clinic.json");
    let out = file.to_str().expect("utf-8");
    let exported = run(old.path(), &["export", "--out", out]);
    assert!(exported.status.success(), "{}", exported.stderr);
    assert_private(&file);

    let new = new_clinic();
    let (running, _) = start_server(new.path());
    let beside = run(new.path(), &["import", out]);
    assert!(!beside.status.success(), "refused while the server runs");
    drop(running);
    let imported = run(new.path(), &["import", out]);
    assert!(
        imported.status.success(),
        "{}{}",
        imported.stdout,
        imported.stderr
    );
    let again = run(new.path(), &["import", out]);
    assert!(!again.status.success());
    assert!(again.stderr.contains("already holds"), "{}", again.stderr);

    let (_server, port) = start_server(new.path());
    let token = self::token(port).await;
    let patients = get(port, &token, "/api/patients/").await;
    assert_eq!(patients[0]["name"], "Ada Lovelace");
    assert_eq!(patients[0]["allergies"], "latex");
}

#[cfg(unix)]
fn assert_private(file: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(file)
        .expect("the export")
        .permissions()
        .mode();
    assert_eq!(
        mode & 0o077,
        0,
        "patient records readable by the owner only"
    );
}

#[cfg(not(unix))]
fn assert_private(file: &Path) {
    assert!(file.exists());
}

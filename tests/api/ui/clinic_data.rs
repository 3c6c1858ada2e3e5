//! The whole clinic from the Settings screen: an admin downloads it as one
//! file and loads that file into a new clinicdesk, which then serves it; a
//! second load is refused and stores nothing.

use super::*;

#[rocket::async_test]
async fn an_admin_downloads_the_whole_clinic_and_loads_it_into_a_new_clinicdesk() {
    // Arrange: a clinic with a patient, and a new clinicdesk beside it
    let (old, admin, staff) = spawn_clinic().await;
    let ada = json!({ "first_name": "Ada", "last_name": "Lovelace", "allergies": "latex" });
    add_patient(&old, &staff.access, &ada).await;
    let browser = Browser::start(&old).await;
    browser.sign_in(&admin.email, PASSWORD).await;
    browser.nav("settings").await;

    // Act: download it
    browser.act("export-clinic").await;
    browser.wait_for_alert("is downloading").await;
    let (name, text) = browser.wait_for_download().await;
    assert!(name.starts_with("clinicdesk-export-"), "{name}");
    assert!(text.contains("Lovelace"), "{text}");
    let folder = tempfile::tempdir().expect("temp dir");
    let file = folder.path().join(&name);
    std::fs::write(&file, &text).expect("the file saved");

    // Act: load it into the new one
    let new = spawn_app().await;
    let new_admin = new.admin().await;
    let other = Browser::start(&new).await;
    other.sign_in(ADMIN_EMAIL, PASSWORD).await;
    other.nav("settings").await;
    let chooser = other.wait_for(r#"input[data-field="clinic-import"]"#).await;
    let path = file.to_str().expect("utf-8 path");
    if let Err(e) = chooser.send_keys(path).await {
        other.fail(&format!("choose the file: {e}")).await;
    }
    other.act("import-clinic").await;

    // Assert: the report, and the records served
    other
        .wait_for_in(r#"[data-role="import-report"]"#, "Imported 1 patients")
        .await;
    let patients = ok(new.get("/api/patients/", &new_admin.access).await).await;
    assert_eq!(patients[0]["name"], "Ada Lovelace", "{patients}");
    assert_eq!(patients[0]["allergies"], "latex");

    // A second load is refused, and says why
    other.act("import-clinic").await;
    other.wait_for_alert("already holds").await;
    let patients = ok(new.get("/api/patients/", &new_admin.access).await).await;
    assert_eq!(
        patients.as_array().map(Vec::len),
        Some(1),
        "nothing stored twice"
    );
}

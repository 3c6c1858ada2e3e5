//! The Import screen (issue 12): choose a CSV file, read the dry run's
//! report (the refused rows, the possible duplicates), import, and find the
//! new patients on the list.

use super::*;

const IMPORT_FORM: &str = r#"form[data-form="import"]"#;
const REPORT: &str = r#"[data-role="import-report"]:not([hidden])"#;

/// Writes `text` to a file beside the test's data and chooses it in the form.
async fn choose_file(browser: &Browser, app: &crate::helpers::TestApp, name: &str, text: &str) {
    let path = app.data_dir.path().join(name);
    std::fs::write(&path, text).expect("write the CSV file");
    let input = browser
        .wait_for(&format!(r#"{IMPORT_FORM} input[name="file"]"#))
        .await;
    input
        .send_keys(path.to_str().expect("a UTF-8 path"))
        .await
        .expect("choose the file");
}

#[rocket::async_test]
async fn a_file_is_checked_then_imported_and_the_patients_are_on_the_list() {
    // Arrange: Ada is on file already
    let (app, _admin, staff) = spawn_clinic().await;
    let ada = add_patient(
        &app,
        &staff.access,
        &json!({ "first_name": "Ada", "last_name": "Lovelace", "date_of_birth": "1955-12-10" }),
    )
    .await;
    let browser = Browser::start(&app).await;
    browser.sign_in(&staff.email, PASSWORD).await;
    browser.nav("import").await;

    // Act: a file with a bad date is checked
    choose_file(
        &browser,
        &app,
        "bad.csv",
        "First name;Surname;DOB\nBob;Brown;30.02.1990\n",
    )
    .await;
    browser.submit(IMPORT_FORM).await;

    // Assert: the row, field and message are shown, and there is nothing to import
    browser
        .wait_for_in(r#"table[data-list="import-errors"]"#, "date of birth")
        .await;
    browser
        .wait_for_in(
            r#"[data-role="import-summary"]"#,
            "0 can be imported, 1 cannot",
        )
        .await;
    browser
        .assert_absent(
            r#"[data-action="import"]"#,
            "a file with a bad row is not imported",
        )
        .await;

    // Act: a good file is checked
    let good = "First name;Surname;DOB;Mobile\n\
                Ada;Lovelace;1955-12-10;\n\
                Grace;Hopper;1956-12-09;+1 555 0100 200\n";
    choose_file(&browser, &app, "good.csv", good).await;
    browser.submit(IMPORT_FORM).await;

    // Assert: the possible duplicate links to Ada's record
    browser
        .wait_for_in(r#"[data-role="import-summary"]"#, "2 can be imported")
        .await;
    let link = format!(r#"{REPORT} [data-list="import-duplicates"] a[href="/patients/{ada}"]"#);
    browser.wait_for_in(&link, "Ada Lovelace").await;
    browser.screenshot("import-report").await;
    browser
        .assert_page_lacks(
            "null",
            "a part of the report left out is not written as text",
        )
        .await;

    // Act: import them
    browser
        .wait_for_in(r#"[data-action="import"]"#, "Import 2 patients")
        .await;
    browser.act("import").await;

    // Assert: done, and the list shows all three
    browser
        .wait_for_in(r#"[data-role="import-done"]"#, "Imported 2 patients")
        .await;
    browser
        .click(r#"[data-role="import-done"] a[href="/patients"]"#)
        .await;
    browser.wait_for_list("patients").await;
    assert_eq!(browser.row_ids("patients").await.len(), 3);
    let violations = browser.csp_violations().await;
    assert!(violations.is_empty(), "blocked by the CSP: {violations:?}");
}

#[rocket::async_test]
async fn a_user_has_no_import_screen() {
    // Arrange
    let (app, admin, _staff) = spawn_clinic().await;
    let user = app.account(&admin, "user", "user@clinic.test").await;
    let browser = Browser::start(&app).await;

    // Act
    browser.sign_in(&user.email, PASSWORD).await;

    // Assert: no navigation item, and the address itself is refused
    assert!(
        !browser.visible(r#"a[data-nav="import"]"#).await,
        "a user does not see Import"
    );
    browser.open("/import").await;
    browser.wait_for_in("h1", "Not allowed").await;
    browser
        .assert_absent(IMPORT_FORM, "no import form for a user")
        .await;
}

//! Duplicate patients in the browser (issue 13): the new-patient form's
//! warning about someone alike on file (and that a name stays text), a merge
//! from the Duplicates screen, and who sees that screen.

use serde_json::Value;

use super::*;
use crate::helpers::TestApp;

const WARNING: &str = r#"[data-role="duplicate-warning"]"#;
const SHOWN_WARNING: &str = r#"[data-role="duplicate-warning"]:not([hidden])"#;
const DUPLICATES_READY: &str = r#"[data-list="duplicates"][data-state="ready"]"#;

/// Signs in as `email` and opens the new-patient form.
async fn open_new_patient_form(browser: &Browser, email: &str) {
    browser.sign_in(email, PASSWORD).await;
    browser.act("new-patient").await;
    browser.wait_for(PATIENT_FORM).await;
}

/// Types a name into the new-patient form and sets the date of birth (which fires the check).
async fn type_patient(browser: &Browser, first: &str, last: &str, born: &str) {
    browser.fill_in(PATIENT_FORM, "first_name", first).await;
    browser.fill_in(PATIENT_FORM, "last_name", last).await;
    browser
        .set_value(&format!(r#"{PATIENT_FORM} [name="date_of_birth"]"#), born)
        .await;
}

/// The archived patient `id` as an admin's `?archived=true` list has it.
async fn archived_patient(app: &TestApp, token: &str, id: i64) -> Value {
    let list = ok(app.get("/api/patients/?archived=true", token).await).await;
    let list = list.as_array().expect("a list of archived patients");
    list.iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("patient #{id} among the archived ones: {list:?}"))
        .clone()
}

#[rocket::async_test]
async fn the_new_patient_form_names_a_sound_alike_patient_and_continue_dismisses_the_warning() {
    // Arrange: Katharina Schmidt is on file
    let (app, _admin, staff) = spawn_clinic().await;
    let body = json!({
        "first_name": "Katharina", "last_name": "Schmidt", "date_of_birth": "1984-07-12",
        "phone": "555-0100",
    });
    let katharina = add_patient(&app, &staff.access, &body).await;
    let browser = Browser::start(&app).await;
    open_new_patient_form(&browser, &staff.email).await;
    assert!(
        !browser.visible(WARNING).await,
        "no warning on an empty form"
    );

    // Act: a sound-alike name and the same date of birth
    type_patient(&browser, "Katarina", "Schmitt", "1984-07-12").await;

    // Assert: the warning names her and links to her record
    let candidate = format!(r#"{SHOWN_WARNING} [data-candidate="{katharina}"]"#);
    browser.wait_for_in(&candidate, "Katharina Schmidt").await;
    let open = format!(r#"{candidate} a[href="/patients/{katharina}"]"#);
    assert!(browser.exists(&open).await, "an Open link to her record");
    browser.screenshot("duplicate-warning").await;

    // Act: Continue
    browser
        .click(&format!(
            r#"{SHOWN_WARNING} [data-action="dismiss-duplicates"]"#
        ))
        .await;

    // Assert: the warning is gone, and saving still works
    browser.wait_gone(SHOWN_WARNING).await;
    browser.submit(PATIENT_FORM).await;
    browser.wait_for_alert("Katarina Schmitt is added.").await;
    browser.wait_for_in("h1", "Katarina Schmitt").await;
    let violations = browser.csp_violations().await;
    assert!(violations.is_empty(), "blocked by the CSP: {violations:?}");
}

#[rocket::async_test]
async fn a_look_alikes_name_in_the_warning_is_text_not_markup() {
    // Arrange: a patient whose name is markup
    let (app, _admin, staff) = spawn_clinic().await;
    let body = json!({
        "first_name": XSS, "last_name": "Schmidt", "date_of_birth": "1984-07-12",
        "phone": "555-0100",
    });
    let id = add_patient(&app, &staff.access, &body).await;
    let browser = Browser::start(&app).await;
    open_new_patient_form(&browser, &staff.email).await;

    // Act: the very same person typed again
    browser.fill_in(PATIENT_FORM, "phone", "555-0100").await;
    type_patient(&browser, XSS, "Schmidt", "1984-07-12").await;

    // Assert: the name shows as typed, and nothing became an element
    let candidate = format!(r#"{SHOWN_WARNING} [data-candidate="{id}"]"#);
    browser.wait_for_in(&candidate, XSS).await;
    browser
        .assert_absent(&format!("{WARNING} img"), "the name is not markup")
        .await;
    assert_eq!(browser.open_dialog().await, None, "no script ran");
}

#[rocket::async_test]
async fn an_admin_merges_a_pair_into_the_left_record_from_the_duplicates_screen() {
    // Arrange: two records of one person, the second with a doctor assigned
    let (app, admin, staff) = spawn_clinic().await;
    let left = json!({
        "first_name": "Katharina", "last_name": "Schmidt", "date_of_birth": "1984-07-12",
        "phone": "555-0100",
    });
    let left = add_patient(&app, &staff.access, &left).await;
    let right = json!({
        "first_name": "Katarina", "last_name": "Schmitt", "date_of_birth": "1984-07-12",
        "email": "k.schmitt@example.test",
    });
    let right = add_patient(&app, &staff.access, &right).await;
    let doctor = add_doctor(&app, &staff.access, &doctor("Meredith")).await;
    let mapping = add_mapping(&app, &staff.access, right, doctor).await;
    let browser = Browser::start(&app).await;
    browser.sign_in(ADMIN_EMAIL, PASSWORD).await;

    // Act: Duplicates from the navigation
    browser.nav("duplicates").await;

    // Assert: the pair is listed side by side, the names marked as different
    let pair = format!(r#"[data-pair="{left}-{right}"]"#);
    browser
        .wait_for(&format!("{DUPLICATES_READY} {pair}"))
        .await;
    browser
        .wait_for_in(
            &format!(r#"{pair} td[data-side="left"]"#),
            "Katharina Schmidt",
        )
        .await;
    browser
        .wait_for_in(
            &format!(r#"{pair} td[data-side="right"]"#),
            "Katarina Schmitt",
        )
        .await;
    browser
        .wait_for_in(&format!(r#"{pair} tr[data-differs="true"] th"#), "Name")
        .await;
    browser.screenshot("duplicates").await;

    // Act: Merge into left, and confirm
    browser
        .click(&format!(r#"{pair} [data-action="merge-left"]"#))
        .await;
    browser
        .wait_for_in("dialog[open]", "Katarina Schmitt")
        .await;
    browser
        .click(r#"dialog[open] button[data-action="confirm"]"#)
        .await;

    // Assert: the screen reports it, with the names both had, and the pair is gone
    let conflict = r#"[data-role="merge-result"]:not([hidden]) [data-role="merge-conflicts"]"#;
    browser
        .wait_for_in(
            &format!(r#"{conflict} [data-field="first_name"]"#),
            "kept “Katharina”, the other record had “Katarina”",
        )
        .await;
    browser.screenshot("duplicates-merged").await;
    browser.wait_gone(&pair).await;
    browser
        .wait_for(r#"[data-list="duplicates"]:not([data-state="loading"])"#)
        .await;

    // Assert: the right record is archived and points to the left; the mapping moved
    let archived = archived_patient(&app, &admin.access, right).await;
    assert_eq!(archived["merged_into"], left, "{archived}");
    let kept = ok(app
        .get(&format!("/api/patients/{left}/"), &admin.access)
        .await)
    .await;
    assert_eq!(kept["merged_into"], Value::Null, "{kept}");
    assert_eq!(kept["email"], "k.schmitt@example.test", "filled in: {kept}");
    let moved = ok(app
        .get(&format!("/api/mappings/detail/{mapping}"), &admin.access)
        .await)
    .await;
    assert_eq!(moved["patient"], left, "{moved}");

    // Assert: the archived list says where the record went
    browser.nav("patients").await;
    browser.act("show-archived").await;
    browser.wait_for_list("patients").await;
    let merged_into = format!(
        r#"{} [data-role="merged-into"] a[href="/patients/{left}"]"#,
        row("patients", &right.to_string())
    );
    browser.wait_for(&merged_into).await;
}

#[rocket::async_test]
async fn a_patients_page_names_a_look_alike_and_leads_to_the_duplicates_screen() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let body =
        json!({ "first_name": "Katharina", "last_name": "Schmidt", "date_of_birth": "1984-07-12" });
    let shown = add_patient(&app, &staff.access, &body).await;
    let body =
        json!({ "first_name": "Katarina", "last_name": "Schmitt", "date_of_birth": "1984-07-12" });
    let look_alike = add_patient(&app, &staff.access, &body).await;
    let browser = Browser::start(&app).await;
    browser.sign_in(&staff.email, PASSWORD).await;

    // Act
    browser
        .click(&format!(r#"a[href="/patients/{shown}"]"#))
        .await;

    // Assert: the box links to the other record
    let section = r#"[data-role="possible-duplicates"]:not([hidden])"#;
    browser
        .wait_for_in(
            &format!(
                r#"{section} [data-candidate="{look_alike}"] a[href="/patients/{look_alike}"]"#
            ),
            "Katarina Schmitt",
        )
        .await;

    // Act: on to the Duplicates screen
    browser
        .click(&format!(r#"{section} [data-action="open-duplicates"]"#))
        .await;

    // Assert
    browser
        .wait_for(&format!(
            r#"{DUPLICATES_READY} [data-pair="{shown}-{look_alike}"]"#
        ))
        .await;
}

#[rocket::async_test]
async fn a_user_has_no_duplicates_screen() {
    // Arrange
    let (app, admin, _staff) = spawn_clinic().await;
    let user = app.account(&admin, "user", "user@clinic.test").await;
    let browser = Browser::start(&app).await;

    // Act
    browser.sign_in(&user.email, PASSWORD).await;

    // Assert: no navigation item, and the address itself is refused
    assert!(
        !browser.visible(r#"a[data-nav="duplicates"]"#).await,
        "a user does not see Duplicates"
    );
    browser.open("/duplicates").await;
    browser.wait_for_in("h1", "Not allowed").await;
    browser
        .assert_absent(r#"[data-list="duplicates"]"#, "no pairs for a user")
        .await;
}

#[rocket::async_test]
async fn staff_see_the_duplicates_item() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let browser = Browser::start(&app).await;

    // Act
    browser.sign_in(&staff.email, PASSWORD).await;

    // Assert
    assert!(
        browser.visible(r#"a[data-nav="duplicates"]"#).await,
        "staff see Duplicates"
    );
}

#[rocket::async_test]
async fn not_the_same_person_takes_the_pair_off_the_list_for_good() {
    // Arrange: twins, one pair on the Duplicates screen
    let (app, _admin, staff) = spawn_clinic().await;
    let body =
        json!({ "first_name": "Katharina", "last_name": "Schmidt", "date_of_birth": "1984-07-12" });
    let one = add_patient(&app, &staff.access, &body).await;
    let body =
        json!({ "first_name": "Katarina", "last_name": "Schmitt", "date_of_birth": "1984-07-12" });
    let other = add_patient(&app, &staff.access, &body).await;
    let browser = Browser::start(&app).await;
    browser.sign_in(&staff.email, PASSWORD).await;
    browser.nav("duplicates").await;
    let pair = format!(r#"[data-pair="{one}-{other}"]"#);
    browser
        .wait_for(&format!("{DUPLICATES_READY} {pair}"))
        .await;

    // Act
    browser
        .click(&format!(r#"{pair} [data-action="not-duplicate"]"#))
        .await;

    // Assert: the screen is empty, and the API suggests the pair no more
    browser
        .wait_for_in(
            r#"[data-list="duplicates"][data-state="empty"]"#,
            "No likely duplicates.",
        )
        .await;
    let left = ok(app
        .get(&format!("/api/patients/{one}/duplicates/"), &staff.access)
        .await)
    .await;
    assert_eq!(left, json!([]), "no candidates left");
}

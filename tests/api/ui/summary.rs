//! A patient's page (issue 16, item 3): allergies and medications first and
//! marked when recorded, the clinic's name in the header, and a printable
//! summary that paper shows without the screen's navigation and buttons.

use super::*;

const MEDICAL: &str = r#"[data-role="medical-first"]"#;
const PRINT_HEAD: &str = r#"[data-role="print-head"]"#;

/// Whether `selector` is laid out (not `display: none` anywhere up its tree) now.
async fn shown(browser: &Browser, selector: &str) -> bool {
    let script = format!(
        "const el = document.querySelector({});
         return !!el && el.getClientRects().length > 0;",
        crate::browser::js_string(selector)
    );
    browser.js(&script).await == true
}

/// A clinic with a name, and a patient with an allergy and no medication; its id.
async fn named_clinic_with_allergic_patient(
) -> (crate::helpers::TestApp, crate::helpers::Account, String) {
    let (app, admin, staff) = spawn_clinic().await;
    let name = json!({ "clinic_name": "Praxis am See" });
    ok(app.patch("/api/settings/", &admin.access, &name).await).await;
    let body = json!({
        "first_name": "Ines", "last_name": "Kraft", "date_of_birth": "1984-07-12",
        "phone": "+49 30 1234567", "allergies": "Penicillin (rash)",
        "emergency_contact_name": "Jonas Kraft", "emergency_contact_phone": "+49 30 7654321",
    });
    let id = add_patient(&app, &staff.access, &body).await.to_string();
    (app, staff, id)
}

#[rocket::async_test]
async fn allergies_and_medications_come_first_on_the_patient_page_and_an_allergy_is_marked() {
    // Arrange
    let (app, staff, id) = named_clinic_with_allergic_patient().await;
    let browser = Browser::start(&app).await;
    browser.sign_in(&staff.email, PASSWORD).await;

    // Act
    browser.open(&format!("/patients/{id}")).await;

    // Assert: the box comes before the details, the allergy marked, no medication said so
    browser.wait_for_in(MEDICAL, "Penicillin (rash)").await;
    let order = format!(
        "const medical = document.querySelector({MEDICAL});
         const details = document.querySelector('#details-h').closest('section');
         return !!(medical.compareDocumentPosition(details) & Node.DOCUMENT_POSITION_FOLLOWING);",
        MEDICAL = crate::browser::js_string(MEDICAL)
    );
    assert_eq!(
        browser.js(&order).await,
        true,
        "allergies before the details"
    );
    let allergy = format!(r#"{MEDICAL} [data-field="allergies"]"#);
    browser
        .wait_for(&format!(r#"{allergy}[data-present="true"].present"#))
        .await;
    let medication = format!(r#"{MEDICAL} [data-field="current_medications"]"#);
    browser
        .wait_for(&format!(r#"{medication}[data-present="false"]"#))
        .await;
    assert!(browser
        .text(&medication)
        .await
        .contains("No medications recorded"));
    let marked = format!(
        "const box = document.querySelector({});
         return getComputedStyle(box).borderTopColor !== getComputedStyle(document.querySelector({})).borderTopColor;",
        crate::browser::js_string(&allergy),
        crate::browser::js_string(&medication)
    );
    assert_eq!(
        browser.js(&marked).await,
        true,
        "the allergy looks different"
    );
    // The clinic's name is in the header of every screen.
    let header_name = r#"header.topbar [data-role="clinic-name"]"#;
    browser.wait_for_in(header_name, "Praxis am See").await;
    assert!(browser.visible(header_name).await, "the name is shown");
    assert!(
        !shown(&browser, PRINT_HEAD).await,
        "the print heading is for paper"
    );
    browser.screenshot("patient-allergies-first").await;
}

#[rocket::async_test]
async fn the_printed_summary_has_the_clinic_name_and_the_patient_without_navigation_or_buttons() {
    // Arrange
    let (app, staff, id) = named_clinic_with_allergic_patient().await;
    let browser = Browser::start(&app).await;
    browser.sign_in(&staff.email, PASSWORD).await;
    browser.open(&format!("/patients/{id}")).await;
    browser.wait_for_in(MEDICAL, "Penicillin").await;

    // Act: the button asks the browser to print (recorded instead of a dialog)
    browser
        .js("window.print = () => { window.__printed = (window.__printed || 0) + 1; };")
        .await;
    browser.act("print-summary").await;

    // Assert
    browser
        .wait_until("return window.__printed === 1;", "a print request")
        .await;

    // Act: lay the page out as paper
    browser.emulate_print().await;

    // Assert: the clinic's name, number, name and birth date head the page
    assert!(shown(&browser, PRINT_HEAD).await, "the print heading shows");
    let head = browser.text(PRINT_HEAD).await;
    for words in [
        "Praxis am See",
        &format!("Patient #{id}"),
        "Ines Kraft",
        "born",
    ] {
        assert!(head.contains(words), "{words:?} in the heading: {head}");
    }
    // Allergies first, then the contacts; no navigation, buttons or side panels.
    for present in [
        MEDICAL,
        r#"[data-field="phone"]"#,
        r#"[data-field="emergency_contact_phone"]"#,
    ] {
        assert!(shown(&browser, present).await, "{present} is printed");
    }
    let first = format!(
        "const medical = document.querySelector({}).getBoundingClientRect().top;
         const phone = document.querySelector('[data-field=\"phone\"]').getBoundingClientRect().top;
         return medical < phone;",
        crate::browser::js_string(MEDICAL)
    );
    assert_eq!(
        browser.js(&first).await,
        true,
        "allergies above the contacts"
    );
    for hidden in [
        "header.topbar",
        r#"[data-action="print-summary"]"#,
        r#"[data-action="edit"]"#,
        r#"[data-action="archive"]"#,
        r#"section[aria-labelledby="appts-h"]"#,
        r#"section[aria-labelledby="assign-h"]"#,
    ] {
        assert!(!shown(&browser, hidden).await, "{hidden} is not printed");
    }
    browser.screenshot("patient-print-summary").await;
}

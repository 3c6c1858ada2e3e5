//! Phone and tablet widths (issue 16, item 4): at 390 px the lists are
//! stacked cards with every column's value on screen, the filters wait
//! behind "Filters" and the menu behind "Menu"; at 768 px nothing runs off
//! the side either.

use serde_json::Value;

use super::*;

const FILTERS: &str = r#"form[data-form="patients-filters"]"#;

/// Nothing is wider than the window: no sideways scrolling.
async fn assert_no_sideways_scroll(browser: &Browser, width: u32) {
    let fits = "return document.documentElement.scrollWidth <= window.innerWidth;";
    let widths = browser
        .js("return [document.documentElement.scrollWidth, window.innerWidth];")
        .await;
    assert_eq!(browser.js(fits).await, true, "at {width} px: {widths}");
}

/// The columns of `row` whose value is not fully inside the window (empty when all are).
async fn cells_off_screen(browser: &Browser, row: &str) -> Value {
    let script = format!(
        "const cells = [...document.querySelector({}).cells];
         return cells.filter((td) => {{
           const r = td.getBoundingClientRect();
           return !(td.getClientRects().length > 0 && r.width > 0 && r.left >= 0 && r.right <= window.innerWidth);
         }}).map((td) => td.dataset.label || td.textContent);",
        crate::browser::js_string(row)
    );
    browser.js(&script).await
}

/// Whether `selector` is laid out (not `display: none` anywhere up its tree) now.
async fn shown(browser: &Browser, selector: &str) -> bool {
    let script = format!(
        "const el = document.querySelector({});
         return !!el && el.getClientRects().length > 0;",
        crate::browser::js_string(selector)
    );
    browser.js(&script).await == true
}

/// A patient with a value in every column of the list (a doctor assigned too); its id.
async fn a_full_row(app: &crate::helpers::TestApp, token: &str) -> String {
    let body = json!({
        "first_name": "Maximiliane", "last_name": "Oberhollenzer-Castellanos",
        "date_of_birth": "1961-04-09", "gender": "F", "phone": "+49 30 1234567",
        "city": "Garmisch-Partenkirchen", "email": "maximiliane.oberhollenzer@example.com",
    });
    let patient = add_patient(app, token, &body).await;
    let doctor_id = add_doctor(app, token, &doctor("Gregory")).await;
    add_mapping(app, token, patient, doctor_id).await;
    patient.to_string()
}

#[rocket::async_test]
async fn at_390_px_the_patients_are_cards_with_every_value_visible_and_filters_and_menu_fold_away()
{
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let id = a_full_row(&app, &staff.access).await;
    let browser = Browser::start(&app).await;
    browser.sign_in(&staff.email, PASSWORD).await;
    let line = row("patients", &id);
    browser.wait_for_in(&line, "Maximiliane").await;

    // Act
    browser.emulate_width(390).await;

    // Assert: no sideways scrolling, every column of the row on screen, each labelled
    assert_no_sideways_scroll(&browser, 390).await;
    browser
        .wait_for_in(&format!(r#"{line} [data-col="doctors"]"#), "Gregory")
        .await;
    assert_eq!(cells_off_screen(&browser, &line).await, json!([]));
    let labels = format!(
        "return [...document.querySelector({}).cells].map((td) => td.dataset.label);",
        crate::browser::js_string(&line)
    );
    assert_eq!(
        browser.js(&labels).await,
        json!(["Name", "Age", "Gender", "Phone", "City", "Assigned doctors"])
    );
    // The search box stays; the other filters wait behind "Filters".
    assert!(shown(&browser, SEARCH_BOX).await, "search is at hand");
    let gender = format!(r#"{FILTERS} [name="gender"]"#);
    assert!(!shown(&browser, &gender).await, "filters are folded");
    browser.screenshot("patients-390").await;

    // Act
    browser.act("toggle-filters").await;

    // Assert
    assert!(shown(&browser, &gender).await, "filters open on request");
    let expanded = r#"[data-action="toggle-filters"][aria-expanded="true"]"#;
    browser.wait_for(expanded).await;
    assert_no_sideways_scroll(&browser, 390).await;

    // Assert: the menu is one button until pressed
    let doctors_link = r#"a[data-nav="doctors"]"#;
    assert!(!shown(&browser, doctors_link).await, "the menu is folded");
    assert!(
        shown(&browser, r#"[data-action="menu"]"#).await,
        "a menu button"
    );

    // Act
    browser.act("menu").await;

    // Assert: the menu opens, leads on, and folds again on the next screen
    assert!(shown(&browser, doctors_link).await, "the menu opened");
    browser.screenshot("menu-390").await;
    browser.nav("doctors").await;
    browser.wait_for_list("doctors").await;
    assert_eq!(browser.path().await, "/doctors");
    assert!(!shown(&browser, doctors_link).await, "folded again");
    assert_no_sideways_scroll(&browser, 390).await;
}

#[rocket::async_test]
async fn at_768_px_the_patient_list_and_a_patient_page_fit_the_window() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let id = a_full_row(&app, &staff.access).await;
    let browser = Browser::start(&app).await;
    browser.sign_in(&staff.email, PASSWORD).await;
    let line = row("patients", &id);
    browser.wait_for_in(&line, "Maximiliane").await;

    // Act
    browser.emulate_width(768).await;

    // Assert: the list fits, each value on screen, filters and menu in plain view
    browser
        .wait_for_in(&format!(r#"{line} [data-col="doctors"]"#), "Gregory")
        .await;
    assert_no_sideways_scroll(&browser, 768).await;
    assert_eq!(cells_off_screen(&browser, &line).await, json!([]));
    assert!(shown(&browser, &format!(r#"{FILTERS} [name="gender"]"#)).await);
    assert!(
        shown(&browser, r#"a[data-nav="doctors"]"#).await,
        "the menu is open"
    );
    assert!(
        !shown(&browser, r#"[data-action="menu"]"#).await,
        "no menu button"
    );
    browser.screenshot("patients-768").await;

    // Act: the patient's page
    browser
        .click(&format!(r#"{line} a[href="/patients/{id}"]"#))
        .await;

    // Assert
    browser.wait_for(r#"[data-role="medical-first"]"#).await;
    assert_no_sideways_scroll(&browser, 768).await;
}

//! The audit trail screen (admin only): following a patient's trail, filters
//! that live in the address, the CSV export, and who may not see it.

use super::*;

const AUDIT_TABLE: &str = r#"table[data-list="audit"]"#;
const AUDIT_FILTER: &str = r#"form[data-form="audit-filter"]"#;

/// Every row of the audit table now, as `[action, who, record]` texts (action as its API name).
async fn audit_rows(browser: &Browser) -> Vec<[String; 3]> {
    let rows = browser
        .js(&format!(
            "return [...document.querySelectorAll('{AUDIT_TABLE} tbody tr[data-id]')].map((r) => [
               r.querySelector('[data-col=action]').dataset.value,
               r.querySelector('[data-col=actor]').firstChild.textContent,
               r.querySelector('[data-col=record]').firstChild.textContent,
             ]);"
        ))
        .await;
    serde_json::from_value(rows).expect("rows of three texts")
}

/// Waits until the audit table is loaded, non-empty, and each row's action is `action`.
async fn wait_for_only_action(browser: &Browser, action: &str) {
    let predicate = format!(
        "const t = document.querySelector('{AUDIT_TABLE}');
         const rows = [...t.querySelectorAll('tbody tr[data-id]')];
         return t.dataset.state === 'ready' && rows.length > 0
           && rows.every((r) => r.querySelector('[data-col=action]').dataset.value === '{action}');"
    );
    browser
        .wait_until(&predicate, &format!("only `{action}` entries"))
        .await;
}

#[rocket::async_test]
async fn an_admin_follows_a_patients_trail_filters_it_and_exports_the_views_as_csv() {
    // Arrange: staff (named "Test Person") adds a patient; the admin opens it.
    let (app, admin, staff) = spawn_clinic().await;
    let id = add_patient(&app, &staff.access, &patient("Grace")).await;
    let browser = Browser::start(&app).await;
    browser.sign_in(ADMIN_EMAIL, PASSWORD).await;
    browser.click(&format!(r#"a[href="/patients/{id}"]"#)).await;
    browser.wait_for_in("h1", "Grace Lovelace").await;

    // Act: the patient's "Audit trail" link
    browser.act("audit-trail").await;

    // Assert: only this patient's entries; the admin's view and staff's create, by name
    browser.wait_for_list("audit").await;
    assert_eq!(browser.path().await, "/audit");
    let search = browser.js("return location.search;").await;
    assert_eq!(search, format!("?entity=patient&entity_id={id}"));
    let rows = audit_rows(&browser).await;
    let record = format!("Patient #{id}");
    assert!(rows.iter().all(|r| r[2] == record), "{rows:?}");
    let has = |action: &str, who: &str| rows.iter().any(|r| r[0] == action && r[1] == who);
    assert!(has("view", "Ada Admin"), "the admin's view: {rows:?}");
    assert!(has("create", "Test Person"), "staff's create: {rows:?}");
    let link = format!(r#"{AUDIT_TABLE} td[data-col="record"] a[href="/patients/{id}"]"#);
    assert!(
        browser.exists(&link).await,
        "the record links to the patient"
    );
    browser.screenshot("audit-trail").await;

    // Act: only what staff did
    let who = format!(r#"{AUDIT_FILTER} [name="user_id"]"#);
    browser.select(&who, &staff.id.to_string()).await;

    // Assert
    wait_for_only_action(&browser, "create").await;
    let rows = audit_rows(&browser).await;
    assert!(rows.iter().all(|r| r[1] == "Test Person"), "{rows:?}");

    // Act: anyone, but from a day that has not come yet (sent as YYYY-MM-DD)
    browser.select(&who, "").await;
    let from = format!(r#"{AUDIT_FILTER} [name="from"]"#);
    browser.set_value(&from, "2999-01-01").await;

    // Assert
    let empty = format!(
        "return document.querySelector('{AUDIT_TABLE}').dataset.state === 'empty'
           && location.search.includes('from=2999-01-01');"
    );
    browser.wait_until(&empty, "an empty trail").await;
    browser.set_value(&from, "").await;

    // Act: narrow to views
    browser
        .select(&format!(r#"{AUDIT_FILTER} [name="action"]"#), "view")
        .await;

    // Assert: only views, and the address says so (a reload keeps the filter)
    wait_for_only_action(&browser, "view").await;
    let search = browser.js("return location.search;").await;
    assert_eq!(
        search,
        format!("?entity=patient&entity_id={id}&action=view")
    );
    browser.reload().await;
    wait_for_only_action(&browser, "view").await;
    let chosen = format!(r#"{AUDIT_FILTER} [name="action"]"#);
    let chosen = browser
        .js(&format!("return document.querySelector('{chosen}').value;"))
        .await;
    assert_eq!(chosen, "view");

    // Act: export what is shown
    browser.act("export-audit").await;

    // Assert: a real download, with the same filters applied
    browser.wait_for_alert("is downloading").await;
    let (name, csv) = browser.wait_for_download().await;
    assert!(
        name.starts_with("clinicdesk-audit-") && name.to_ascii_lowercase().ends_with(".csv"),
        "{name}"
    );
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            "id,at,actor_id,actor_role,action,entity,entity_id,outcome,client_ip,request_id,fields,related_id"
        )
    );
    let rows: Vec<&str> = lines.collect();
    let view = format!(",view,patient,{id},success,");
    assert!(!rows.is_empty(), "{csv}");
    assert!(rows.iter().all(|row| row.contains(&view)), "{csv}");
    let admin_view = format!(",{},admin,view,", admin.id);
    assert!(rows.iter().any(|row| row.contains(&admin_view)), "{csv}");
    assert!(!csv.contains("Grace"), "field names only, never values");
    let violations = browser.csp_violations().await;
    assert!(violations.is_empty(), "CSP violations: {violations:?}");
}

#[rocket::async_test]
async fn staff_see_no_audit_link_and_the_audit_screen_is_not_allowed() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let id = add_patient(&app, &staff.access, &patient("Hedy")).await;
    let browser = Browser::start(&app).await;

    // Act
    browser.sign_in(&staff.email, PASSWORD).await;

    // Assert: no Audit in the navigation, none on the patient's page
    assert!(
        !browser.visible(r#"a[data-nav="audit"]"#).await,
        "no Audit link for staff"
    );
    browser.click(&format!(r#"a[href="/patients/{id}"]"#)).await;
    browser.wait_for_in("h1", "Hedy Lovelace").await;
    let trail = r#"[data-action="audit-trail"]"#;
    browser
        .assert_absent(trail, "no audit link on the patient page")
        .await;

    // Act: the address typed in
    browser
        .open(&format!("/audit?entity=patient&entity_id={id}"))
        .await;

    // Assert: the same treatment as the other admin screens
    browser.wait_for_in("h1", "Not allowed").await;
    browser
        .wait_for_alert("Your account does not have access to this page.")
        .await;
    browser
        .assert_absent(AUDIT_TABLE, "no trail for staff")
        .await;
}

#[rocket::async_test]
async fn the_trail_names_its_records_for_an_admin_and_hides_searches_until_asked() {
    // Arrange: staff adds a patient; the admin searches the patients twice.
    let (app, admin, staff) = spawn_clinic().await;
    let id = add_patient(&app, &staff.access, &patient("Grace")).await;
    for term in ["gr", "grace"] {
        let search = format!("/api/patients/?search={term}");
        ok(app.get(&search, &admin.access).await).await;
    }
    let browser = Browser::start(&app).await;
    browser.sign_in(ADMIN_EMAIL, PASSWORD).await;

    // Act
    browser.nav("audit").await;

    // Assert: no searches by default; the patient's row carries the name
    assert_eq!(browser.wait_for_list("audit").await, "ready");
    let rows = audit_rows(&browser).await;
    assert!(rows.iter().all(|r| r[0] != "search"), "{rows:?}");
    let hidden = r#"input[name="hide_searches"]"#;
    let checked = browser
        .js(&format!(
            "return document.querySelector('{hidden}').checked;"
        ))
        .await;
    assert_eq!(checked, true, "Hide searches is on by default");
    let named = format!(
        r#"{AUDIT_TABLE} tr[data-id] td[data-col="record"]:has(a[href="/patients/{id}"]) [data-role="record-name"]"#
    );
    browser.wait_for_in(&named, "Grace Lovelace").await;
    browser.screenshot("audit-names").await;

    // Act: show the searches
    browser.click(hidden).await;

    // Assert: they are back, and the address says so
    let searches = format!(
        "return [...document.querySelectorAll('{AUDIT_TABLE} tbody tr[data-id] [data-col=action]')]
           .some((c) => c.dataset.value === 'search');"
    );
    browser.wait_until(&searches, "search entries").await;
    let search = browser.js("return location.search;").await;
    assert_eq!(search, "?searches=shown");
    browser.reload().await;
    browser
        .wait_until(&searches, "search entries after a reload")
        .await;
}

#[rocket::async_test]
async fn the_trail_shows_its_times_on_the_clinics_clock_not_the_computers() {
    // Arrange: a clinic 5:30 ahead of UTC; the browser here runs on its
    // machine's zone, which is not Kolkata's.
    let (app, admin, staff) = spawn_clinic().await;
    let zone = json!({ "time_zone": "Asia/Kolkata" });
    ok(app.patch("/api/settings/", &admin.access, &zone).await).await;
    add_patient(&app, &staff.access, &patient("Grace")).await;
    let browser = Browser::start(&app).await;
    browser.sign_in(ADMIN_EMAIL, PASSWORD).await;
    let own_zone = browser
        .js("return Intl.DateTimeFormat().resolvedOptions().timeZone;")
        .await;
    assert_ne!(own_zone, "Asia/Kolkata", "the test needs another zone");

    // Act
    browser.nav("audit").await;

    // Assert: each row's time reads as Kolkata's clock shows its moment,
    // and not as this computer's clock would
    assert_eq!(browser.wait_for_list("audit").await, "ready");
    let times = browser
        .js(&format!(
            "const opts = {{ year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' }};
             return [...document.querySelectorAll('{AUDIT_TABLE} tbody tr[data-id] [data-col=time] time')].map((t) => [
               t.textContent,
               new Date(t.dateTime).toLocaleString(undefined, {{ ...opts, timeZone: 'Asia/Kolkata' }}),
               new Date(t.dateTime).toLocaleString(undefined, opts),
             ]);"
        ))
        .await;
    let times: Vec<[String; 3]> = serde_json::from_value(times).expect("texts");
    assert!(!times.is_empty(), "the trail has rows");
    for [shown, kolkata, computer] in &times {
        assert_eq!(shown, kolkata, "on the clinic's clock");
        assert_ne!(shown, computer, "not on the computer's");
    }
}

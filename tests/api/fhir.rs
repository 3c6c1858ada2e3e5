//! FHIR R4 read access (`/fhir`), against the real server: every answer
//! validated against the official R4 JSON schema, the fields mapped, the
//! searches paged, and the `/api`'s tokens, visibility and audit kept.

use serde_json::{json, Value};

use crate::helpers::{add_patient, header, ok, patient, spawn_clinic, Account, TestApp};

use self::schema::assert_valid;

mod schedule;
mod schema;

/// `GET` a FHIR path (or an absolute URL a Bundle linked to); asserts the
/// status and FHIR's content type, and returns the body.
pub(super) async fn fhir(app: &TestApp, path: &str, token: &str, status: u16) -> Value {
    let url = if path.starts_with("http") {
        path.to_owned()
    } else {
        app.url(path)
    };
    let mut request = app.http.get(url);
    if !token.is_empty() {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("request sent");
    assert_eq!(response.status(), status, "GET {path}");
    let content_type = header(&response, "content-type");
    assert!(
        content_type.starts_with("application/fhir+json"),
        "GET {path}: content type {content_type}"
    );
    // Patient data must not linger in a browser cache, as on /api.
    assert_eq!(header(&response, "cache-control"), "no-store", "GET {path}");
    response.json().await.expect("a JSON body")
}

/// Asserts an `OperationOutcome` (valid, an error) and returns it.
pub(super) fn assert_outcome(body: &Value, issue_code: &str) {
    assert_valid(body, "OperationOutcome");
    assert_eq!(body["issue"][0]["severity"], "error", "{body}");
    assert_eq!(body["issue"][0]["code"], issue_code, "{body}");
}

/// A searchset Bundle's checks: valid, `total`, `match` entries with
/// unique absolute `fullUrl`s; returns the ids of its entries.
pub(super) fn searchset(bundle: &Value, total: i64) -> Vec<i64> {
    assert_valid(bundle, "Bundle");
    assert_eq!(bundle["type"], "searchset");
    assert_eq!(bundle["total"], total, "{bundle:#}");
    let entries = bundle["entry"].as_array().cloned().unwrap_or_default();
    let mut urls: Vec<&str> = entries
        .iter()
        .map(|e| e["fullUrl"].as_str().expect("fullUrl"))
        .collect();
    for (entry, url) in entries.iter().zip(&urls) {
        assert_eq!(entry["search"]["mode"], "match");
        let kind = entry["resource"]["resourceType"].as_str().expect("type");
        let rid = entry["resource"]["id"].as_str().expect("id");
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        assert!(url.ends_with(&format!("/fhir/{kind}/{rid}")), "{url}");
    }
    urls.sort_unstable();
    urls.dedup();
    assert_eq!(urls.len(), entries.len(), "fullUrls are unique");
    entries
        .iter()
        .map(|e| {
            e["resource"]["id"]
                .as_str()
                .expect("id")
                .parse()
                .expect("numeric id")
        })
        .collect()
}

/// The `url` of the Bundle's link `relation`, if there is one.
fn link(bundle: &Value, relation: &str) -> Option<String> {
    bundle["link"]
        .as_array()?
        .iter()
        .find(|l| l["relation"] == relation)
        .and_then(|l| l["url"].as_str())
        .map(str::to_owned)
}

/// A patient with every field the FHIR Patient carries.
fn full_patient() -> Value {
    json!({
        "first_name": "Grace", "last_name": "Hopper", "date_of_birth": "1986-12-09",
        "gender": "F", "phone": "+1 555 0100", "email": "grace@navy.test",
        "address": "1 Harbour Road", "city": "Arlington", "state": "VA",
        "postal_code": "22201", "country": "USA", "blood_group": "O+",
        "emergency_contact_name": "Vincent Hopper", "emergency_contact_phone": "+1 555 0199",
        "emergency_contact_relation": "Husband", "is_active": true,
    })
}

#[rocket::async_test]
async fn metadata_needs_no_token_and_states_exactly_what_is_served() {
    // Arrange
    let (app, _admin, _staff) = spawn_clinic().await;

    // Act
    let statement = fhir(&app, "/fhir/metadata", "", 200).await;

    // Assert
    assert_valid(&statement, "CapabilityStatement");
    assert_eq!(statement["fhirVersion"], "4.0.1");
    assert_eq!(statement["kind"], "instance");
    assert_eq!(statement["format"], json!(["json"]));
    let resources = statement["rest"][0]["resource"]
        .as_array()
        .expect("resources");
    let served: Vec<(&str, Vec<&str>, Vec<&str>)> = resources
        .iter()
        .map(|r| {
            let names = |key: &str, field: &str| -> Vec<&str> {
                r[key]
                    .as_array()
                    .expect(key)
                    .iter()
                    .map(|x| x[field].as_str().expect(field))
                    .collect()
            };
            (
                r["type"].as_str().expect("type"),
                names("interaction", "code"),
                names("searchParam", "name"),
            )
        })
        .collect();
    assert_eq!(
        served,
        [
            (
                "Patient",
                vec!["read", "search-type"],
                vec!["name", "family", "given", "birthdate", "phone", "_count"]
            ),
            (
                "Practitioner",
                vec!["read", "search-type"],
                vec!["name", "_count"]
            ),
            (
                "Appointment",
                vec!["read", "search-type"],
                vec!["patient", "practitioner", "date", "_count"]
            ),
        ]
    );
}

#[rocket::async_test]
async fn a_patient_read_validates_and_maps_every_field() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let full = add_patient(&app, &staff.access, &full_patient()).await;
    let sparse = add_patient(&app, &staff.access, &json!({ "first_name": "Solo" })).await;

    // Act
    let grace = fhir(&app, &format!("/fhir/Patient/{full}"), &staff.access, 200).await;
    let solo = fhir(&app, &format!("/fhir/Patient/{sparse}"), &staff.access, 200).await;

    // Assert
    assert_valid(&grace, "Patient");
    assert_eq!(grace["id"], full.to_string());
    assert_eq!(
        grace["identifier"],
        json!([{ "system": "urn:clinicdesk:patient-id", "value": full.to_string() }])
    );
    assert_eq!(grace["active"], true);
    assert_eq!(
        grace["name"],
        json!([{ "use": "official", "text": "Grace Hopper", "family": "Hopper", "given": ["Grace"] }])
    );
    assert_eq!(
        grace["telecom"],
        json!([{ "system": "phone", "value": "+1 555 0100" }, { "system": "email", "value": "grace@navy.test" }])
    );
    assert_eq!(grace["gender"], "female");
    assert_eq!(grace["birthDate"], "1986-12-09");
    assert_eq!(
        grace["address"],
        json!([{ "line": ["1 Harbour Road"], "city": "Arlington", "state": "VA", "postalCode": "22201", "country": "USA" }])
    );
    assert_eq!(
        grace["contact"],
        json!([{
            "relationship": [{ "text": "Husband" }],
            "name": { "text": "Vincent Hopper" },
            "telecom": [{ "system": "phone", "value": "+1 555 0199" }],
        }])
    );
    assert!(grace["meta"]["lastUpdated"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));
    // Nothing clinicdesk does not hold is sent, not even empty.
    assert_valid(&solo, "Patient");
    for absent in ["telecom", "gender", "birthDate", "address", "contact"] {
        assert!(solo.get(absent).is_none(), "{absent} in {solo}");
    }
    assert_eq!(
        solo["name"],
        json!([{ "use": "official", "text": "Solo", "given": ["Solo"] }])
    );
}

#[rocket::async_test]
async fn every_gender_letter_maps_to_its_fhir_code_and_an_inactive_patient_is_not_active() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let mut made = Vec::new();
    for (letter, code) in [
        ("M", "male"),
        ("F", "female"),
        ("O", "other"),
        ("U", "unknown"),
    ] {
        let body =
            json!({ "first_name": format!("G{letter}"), "gender": letter, "is_active": false });
        made.push((add_patient(&app, &staff.access, &body).await, code));
    }

    for (pid, code) in made {
        // Act
        let body = fhir(&app, &format!("/fhir/Patient/{pid}"), &staff.access, 200).await;

        // Assert
        assert_valid(&body, "Patient");
        assert_eq!(body["gender"], code);
        assert_eq!(body["active"], false);
    }
}

#[rocket::async_test]
async fn patient_search_is_a_searchset_with_its_total_and_next_and_previous_links() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let mut smiths = Vec::new();
    for (n, born) in [
        "1970-01-01",
        "1980-05-05",
        "1990-10-10",
        "2000-02-02",
        "2010-07-07",
    ]
    .into_iter()
    .enumerate()
    {
        let body = json!({
            "first_name": format!("Ann{n}"), "last_name": "Smithson", "date_of_birth": born,
            "phone": format!("+44 20 7946 00{n:02}"),
        });
        smiths.push(add_patient(&app, &staff.access, &body).await);
    }
    let other = add_patient(
        &app,
        &staff.access,
        &json!({ "first_name": "Bob", "last_name": "Jones" }),
    )
    .await;
    let t = &staff.access;

    // Act: page through the Smithsons two at a time, following the links.
    let first = fhir(&app, "/fhir/Patient?family=smith&_count=2", t, 200).await;
    let second_url = link(&first, "next").expect("a next link");
    let second = fhir(&app, &second_url, t, 200).await;
    let third = fhir(&app, &link(&second, "next").expect("next"), t, 200).await;

    // Assert
    assert_eq!(searchset(&first, 5), smiths[0..2]);
    assert_eq!(searchset(&second, 5), smiths[2..4]);
    assert_eq!(searchset(&third, 5), smiths[4..5]);
    assert!(link(&third, "next").is_none(), "the last page has no next");
    assert!(link(&first, "previous").is_none());
    assert_eq!(
        link(&second, "previous").map(|u| u.contains("page=1")),
        Some(true)
    );
    assert!(link(&first, "self").is_some_and(|u| u.contains("family=smith")));
    // Each criterion, and no criterion at all.
    for (query, expected) in [
        ("name=ann3", vec![smiths[3]]),
        ("name=JONES", vec![other]),
        ("given=bo", vec![other]),
        ("birthdate=1990-10-10", vec![smiths[2]]),
        (
            "birthdate=ge1980-05-05&birthdate=lt2000-02-02",
            vec![smiths[1], smiths[2]],
        ),
        ("phone=%2B44%2020%207946%200004", vec![smiths[4]]),
        ("phone=20-7946-0001", vec![smiths[1]]),
        ("family=smith&given=ann0", vec![smiths[0]]),
        ("name=nobody", vec![]),
        ("", [smiths.clone(), vec![other]].concat()),
    ] {
        let bundle = fhir(&app, &format!("/fhir/Patient?{query}"), t, 200).await;
        let total = i64::try_from(expected.len()).expect("small");
        assert_eq!(searchset(&bundle, total), expected, "{query}");
    }
}

#[rocket::async_test]
async fn a_user_gets_404_for_someone_elses_patient_and_finds_none_of_them() {
    // Arrange
    let (app, admin, _staff) = spawn_clinic().await;
    let alice = app.account(&admin, "user", "alice@clinic.test").await;
    let bob = app.account(&admin, "user", "bob@clinic.test").await;
    let hers = add_patient(
        &app,
        &alice.access,
        &json!({ "first_name": "Hidden", "last_name": "Person" }),
    )
    .await;
    let his = add_patient(
        &app,
        &bob.access,
        &json!({ "first_name": "Visible", "last_name": "Person" }),
    )
    .await;

    // Act
    let read = fhir(&app, &format!("/fhir/Patient/{hers}"), &bob.access, 404).await;
    let found = fhir(&app, "/fhir/Patient?family=person", &bob.access, 200).await;
    let everyone = fhir(&app, "/fhir/Patient", &bob.access, 200).await;

    // Assert
    assert_outcome(&read, "not-found");
    assert!(!read.to_string().contains("Hidden"));
    assert_eq!(searchset(&found, 1), [his]);
    assert_eq!(searchset(&everyone, 1), [his]);
    assert!(!everyone.to_string().contains("Hidden"));
    let own = fhir(&app, &format!("/fhir/Patient/{hers}"), &alice.access, 200).await;
    assert_valid(&own, "Patient");
    // The attempt is on record, as the same one on /api is.
    let denied = trail(&app, &admin, "action=denied").await;
    assert_eq!(denied.len(), 1, "{denied:?}");
    assert_eq!(denied[0]["actor_id"], bob.id);
    assert_eq!(denied[0]["entity"], "patient");
    assert_eq!(denied[0]["entity_id"], hers);
}

#[rocket::async_test]
async fn an_archived_patient_is_404_and_left_out_of_search() {
    // Arrange
    let (app, admin, staff) = spawn_clinic().await;
    let gone = add_patient(&app, &staff.access, &patient("Archie")).await;
    assert_eq!(
        app.delete(&format!("/api/patients/{gone}/"), &staff.access)
            .await
            .status(),
        204
    );

    // Act
    let read = fhir(&app, &format!("/fhir/Patient/{gone}"), &admin.access, 404).await;
    let search = fhir(&app, "/fhir/Patient?name=archie", &admin.access, 200).await;

    // Assert
    assert_outcome(&read, "not-found");
    assert_eq!(searchset(&search, 0), Vec::<i64>::new());
    assert!(search.get("entry").is_none(), "no empty entry array");
}

#[rocket::async_test]
async fn errors_are_valid_operation_outcomes_with_the_apis_statuses() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let t = &staff.access;

    // Act / Assert: no token, a bad token
    for token in ["", "not-a-jwt"] {
        let response = app
            .http
            .get(app.url("/fhir/Patient"))
            .header("Authorization", format!("Bearer {token}"))
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), 401);
        assert!(header(&response, "www-authenticate").starts_with("Bearer"));
        let body: Value = response.json().await.expect("json");
        assert_outcome(&body, "login");
    }
    assert_outcome(&fhir(&app, "/fhir/Patient/999", t, 404).await, "not-found");
    assert_outcome(&fhir(&app, "/fhir/Patient/abc", t, 404).await, "not-found");
    assert_outcome(&fhir(&app, "/fhir/Observation", t, 404).await, "not-found");
    for query in [
        "nmae=x",
        "_count=0",
        "_count=501",
        "page=x",
        "birthdate=1990",
        "phone=abc",
        "name=a&name=b",
        "_format=xml",
    ] {
        let body = fhir(&app, &format!("/fhir/Patient?{query}"), t, 400).await;
        assert_outcome(&body, "invalid");
        assert!(body["issue"][0]["expression"].is_array(), "{query}: {body}");
    }
    assert_outcome(
        &fhir(&app, "/fhir/Appointment?date=tomorrow", t, 400).await,
        "invalid",
    );
    assert_outcome(
        &fhir(&app, "/fhir/Appointment?patient=Practitioner/1", t, 400).await,
        "invalid",
    );
    for (accept, status) in [
        ("application/fhir+xml", 406),
        ("text/html", 406),
        ("application/json", 200),
    ] {
        let response = app
            .http
            .get(app.url("/fhir/Patient"))
            .bearer_auth(t)
            .header("Accept", accept)
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), status, "Accept: {accept}");
        assert!(header(&response, "content-type").starts_with("application/fhir+json"));
        if status == 406 {
            assert_outcome(&response.json().await.expect("json"), "not-supported");
        }
    }
    let post = app
        .post("/fhir/Patient", t, &json!({ "resourceType": "Patient" }))
        .await;
    assert_eq!(post.status(), 405);
    assert_eq!(header(&post, "allow"), "GET");
    assert!(header(&post, "content-type").starts_with("application/fhir+json"));
    assert_outcome(&post.json().await.expect("json"), "not-supported");
}

#[rocket::async_test]
async fn fhir_reads_and_searches_are_audited_like_their_api_equivalents() {
    // Arrange
    let (app, admin, staff) = spawn_clinic().await;
    let pid = add_patient(&app, &staff.access, &patient("Zelda")).await;

    // Act
    fhir(&app, &format!("/fhir/Patient/{pid}"), &staff.access, 200).await;
    fhir(&app, "/fhir/Patient?name=zel", &staff.access, 200).await;

    // Assert
    let rows = trail(&app, &admin, &format!("entity=patient&entity_id={pid}")).await;
    let actions: Vec<&str> = rows.iter().filter_map(|r| r["action"].as_str()).collect();
    assert_eq!(actions, ["view", "create"]);
    assert_eq!(rows[0]["actor_id"], staff.id);
    let searches = trail(&app, &admin, "entity=patient&action=search").await;
    assert_eq!(searches.len(), 1);
    assert!(searches[0]["entity_id"].is_null());
    assert!(!serde_json::to_string(&searches)
        .expect("json")
        .contains("zel"));
}

/// The audit rows an admin sees for `query`, newest first.
async fn trail(app: &TestApp, admin: &Account, query: &str) -> Vec<Value> {
    let page = ok(app
        .get(&format!("/api/audit/?{query}"), &admin.access)
        .await)
    .await;
    page.as_array().expect("an array").clone()
}

#[rocket::async_test]
async fn the_settings_screen_tells_the_admin_the_fhir_base_address() {
    // Arrange
    let (app, _admin, _staff) = spawn_clinic().await;
    let browser = crate::browser::Browser::start(&app).await;
    browser
        .sign_in(crate::helpers::ADMIN_EMAIL, crate::helpers::PASSWORD)
        .await;

    // Act
    browser.nav("settings").await;

    // Assert: the address a FHIR client is given, which answers there.
    browser.wait_for_in("[data-fhir-base]", "/fhir").await;
    let base = browser.text("[data-fhir-base]").await;
    assert_eq!(base, app.url("/fhir"));
    let statement = fhir(&app, &format!("{base}/metadata"), "", 200).await;
    assert_valid(&statement, "CapabilityStatement");
}

//! Doctors (`/api/doctors`): everyone reads, staff and admin write; field
//! rules and aliases, uniqueness, archive (which ends active mappings) and
//! restore, filters, ordering and pagination.

use serde_json::{json, Value};

use crate::helpers::{
    add_doctor, add_mapping, add_patient, assert_error, assert_exact_field_errors, assert_fields,
    assert_location, assert_no_content, assert_not_found, assert_ordered, assert_timestamp,
    created, doctor, encode, header, id, ids, links, list_ids, merged, ok, patient, query_param,
    spawn_clinic,
};

const LIST: &str = "/api/doctors/";
const NONE: [i64; 0] = [];

#[rocket::async_test]
async fn creating_a_doctor_answers_201_with_its_location_and_every_field() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let extra = json!({
        "years_of_experience": 12, "consultation_fee": 150.5, "contact_number": "555-0100",
        "email": "house@ppth.test", "license_number": "NJ-1", "qualification": "MD", "city": "Princeton",
    });
    let body = merged(doctor("Greg"), &extra);

    // Act
    let response = app.post("/api/doctors", &staff.access, &body).await;

    // Assert
    let location = header(&response, "location");
    let body = created(response).await;
    let path = format!("/api/doctors/{}", body["id"]);
    assert_location(&location, &path);
    let expected = json!({
        "first_name": "Greg", "last_name": "House", "name": "Greg House", "specialization": "Cardiology",
        "years_of_experience": 12, "experience_years": 12, "phone": "555-0100", "contact_number": "555-0100",
        "email": "house@ppth.test", "license_number": "NJ-1", "qualification": "MD", "city": "Princeton",
        "is_available": true, "bio": null, "available_days": null, "languages_spoken": null,
    });
    assert_fields(&body, &expected);
    let fee = body["consultation_fee"].as_f64();
    assert_eq!(fee, Some(150.5), "a JSON number: {body}");
    assert_timestamp(&body["created_at"]);
    assert_timestamp(&body["updated_at"]);
    let fetched = app.get(&format!("{path}/"), &staff.access).await;
    assert_eq!(ok(fetched).await, body);
}

#[rocket::async_test]
async fn a_user_may_read_doctors_but_every_doctor_write_is_forbidden() {
    // Arrange
    let (app, admin, staff) = spawn_clinic().await;
    let user = app.account(&admin, "user", "user@clinic.test").await;
    let greg = add_doctor(&app, &staff.access, &doctor("Greg")).await;
    let path = format!("/api/doctors/{greg}/");
    let (user, city) = (user.access.as_str(), json!({ "city": "Nowhere" }));

    // Act
    let forbidden = [
        app.post(LIST, user, &doctor("Mallory")).await,
        app.put(&path, user, &doctor("Mallory")).await,
        app.patch(&path, user, &city).await,
        app.delete(&path, user).await,
        app.post(&format!("{path}restore/"), user, &json!({})).await,
        app.patch("/api/doctors/99999/", user, &city).await,
        app.delete("/api/doctors/99999/", user).await,
    ];

    // Assert
    for response in forbidden {
        assert_error(response, 403, "permission_denied").await;
    }
    assert_eq!(list_ids(&app, "/api/doctors", user).await, [greg]);
    let read = ok(app.get(&path, user).await).await;
    assert_fields(&read, &json!({ "first_name": "Greg", "city": null }));
    assert_not_found(app.get("/api/doctors/99999", user).await).await;
    let body = json!({ "city": "Boston" });
    let by_admin = app.patch(&path, &admin.access, &body).await;
    assert_eq!(ok(by_admin).await["city"], "Boston", "admin writes doctors");
}

#[rocket::async_test]
async fn put_needs_the_required_fields_and_patch_changes_only_the_given_ones() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let staff = staff.access.as_str();
    let extra = json!({ "city": "Princeton", "bio": "Diagnostician", "years_of_experience": 20 });
    let greg = add_doctor(&app, staff, &merged(doctor("Greg"), &extra)).await;
    let path = format!("/api/doctors/{greg}");

    // Act
    let missing = app.put(&path, staff, &json!({ "city": "Boston" })).await;
    let body = json!({ "first_name": "Gregory", "specialization": "Nephrology" });
    let put = app.put(&path, staff, &body).await;
    let body = json!({ "bio": "", "is_available": false });
    let patched = app.patch(&path, staff, &body).await;

    // Assert
    assert_exact_field_errors(missing, &["first_name", "specialization"]).await;
    let expected = json!({
        "first_name": "Gregory", "specialization": "Nephrology", "last_name": "House",
        "city": "Princeton", "bio": "Diagnostician", "years_of_experience": 20,
    });
    assert_fields(&ok(put).await, &expected);
    let expected =
        json!({ "bio": null, "is_available": false, "first_name": "Gregory", "city": "Princeton" });
    assert_fields(&ok(patched).await, &expected);
}

#[rocket::async_test]
async fn every_invalid_doctor_field_is_reported_at_once() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let body = json!({
        "first_name": " ", "specialization": "", "years_of_experience": 71, "consultation_fee": -1,
        "phone": "12", "email": "plainaddress",
    });

    // Act
    let response = app.post(LIST, &staff.access, &body).await;

    // Assert
    let fields: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_exact_field_errors(response, &fields).await;
    assert_eq!(list_ids(&app, LIST, &staff.access).await, NONE);
}

#[rocket::async_test]
async fn each_doctor_field_rule_accepts_good_values_and_rejects_bad_ones() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let cases: Vec<(&str, Value, bool)> = vec![
        ("first_name", json!("x".repeat(100)), true),
        ("first_name", json!("x".repeat(101)), false),
        ("specialization", json!("x".repeat(100)), true),
        ("specialization", json!("x".repeat(101)), false),
        ("specialization", json!("  "), false),
        ("specialization", Value::Null, false),
        ("years_of_experience", json!(0), true),
        ("years_of_experience", json!(70), true),
        ("years_of_experience", json!(-1), false),
        ("years_of_experience", json!(71), false),
        ("consultation_fee", json!(0), true),
        ("consultation_fee", json!(99.99), true),
        ("consultation_fee", json!(-0.01), false),
        ("phone", json!("+1 (609) 555-0100"), true),
        ("phone", json!("555-010a"), false),
        ("email", json!("house@ppth.test"), true),
        ("email", json!("house@"), false),
    ];

    for (field, value, valid) in cases {
        // Act
        let body = merged(doctor("Case"), &json!({ field: value }));
        let response = app.post(LIST, &staff.access, &body).await;

        // Assert
        if valid {
            let stored = created(response).await;
            let same = stored[field] == value || stored[field].as_f64() == value.as_f64();
            assert!(same, "{field} = {value} is stored as given: {stored}");
        } else {
            assert_exact_field_errors(response, &[field]).await;
        }
    }
}

#[rocket::async_test]
async fn experience_years_contact_number_and_name_are_accepted_as_aliases() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let staff = staff.access.as_str();
    let body = json!({ "name": "Meredith Jane Grey", "specialization": "Surgery",
        "experience_years": 7, "contact_number": "555-0101" });

    // Act
    let grey = app.create_doctor(staff, &body).await;
    let path = format!("/api/doctors/{}/", grey["id"]);
    let body = json!({ "experience_years": 8, "contact_number": "555-0102" });
    let patched = app.patch(&path, staff, &body).await;
    let body = merged(doctor("Bad"), &json!({ "experience_years": 71 }));
    let bad = app.post(LIST, staff, &body).await;

    // Assert
    let expected = json!({
        "first_name": "Meredith", "last_name": "Jane Grey", "name": "Meredith Jane Grey",
        "years_of_experience": 7, "experience_years": 7, "phone": "555-0101", "contact_number": "555-0101",
    });
    assert_fields(&grey, &expected);
    let expected = json!({
        "years_of_experience": 8, "experience_years": 8, "phone": "555-0102", "contact_number": "555-0102",
    });
    assert_fields(&ok(patched).await, &expected);
    let error = assert_error(bad, 400, "validation_error").await;
    let errors = error["errors"].as_object().unwrap();
    let named =
        errors.contains_key("years_of_experience") || errors.contains_key("experience_years");
    assert!(errors.len() == 1 && named, "{error}");
}

#[rocket::async_test]
async fn blank_optional_doctor_fields_are_null_and_strings_are_trimmed() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let body = json!({ "first_name": " Greg ", "last_name": " ", "specialization": " Cardiology ",
        "email": "", "license_number": "  ", "bio": "", "city": " Princeton " });

    // Act
    let response = app.post(LIST, &staff.access, &body).await;

    // Assert
    let expected = json!({
        "first_name": "Greg", "last_name": null, "specialization": "Cardiology", "email": null,
        "license_number": null, "bio": null, "city": "Princeton", "consultation_fee": null, "is_available": true,
    });
    assert_fields(&created(response).await, &expected);
}

#[rocket::async_test]
async fn doctor_email_and_license_number_must_be_unique_when_given() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let staff = staff.access.as_str();
    let unique = json!({ "email": "house@ppth.test", "license_number": "NJ-1" });
    add_doctor(&app, staff, &merged(doctor("Greg"), &unique)).await;
    let other = add_doctor(&app, staff, &doctor("Lisa")).await;
    let same =
        |name: &str, field: &str, value: &str| merged(doctor(name), &json!({ field: value }));
    let blanks = json!({ "email": "", "license_number": "" });

    // Act
    let same_email = app
        .post(LIST, staff, &same("A", "email", "house@ppth.test"))
        .await;
    let same_license = app
        .post(LIST, staff, &same("B", "license_number", "NJ-1"))
        .await;
    let path = format!("/api/doctors/{other}");
    let patched = app
        .patch(&path, staff, &json!({ "license_number": "NJ-1" }))
        .await;
    let without = app.post(LIST, staff, &merged(doctor("C"), &blanks)).await;
    let without_too = app.post(LIST, staff, &merged(doctor("D"), &blanks)).await;

    // Assert
    assert_error(same_email, 409, "duplicate").await;
    assert_error(same_license, 409, "duplicate").await;
    assert_error(patched, 409, "duplicate").await;
    created(without).await;
    created(without_too).await;
    assert_eq!(list_ids(&app, LIST, staff).await.len(), 4);
}

#[rocket::async_test]
async fn server_owned_and_unknown_doctor_fields_are_ignored() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let old = "2000-01-01T00:00:00Z";
    let forged =
        json!({ "id": 4242, "created_at": old, "updated_at": old, "deleted_at": old, "salary": 1 });

    // Act
    let body = merged(doctor("Greg"), &forged);
    let body = app.create_doctor(&staff.access, &body).await;
    let path = format!("/api/doctors/{}/", body["id"]);
    let again = json!({ "id": 4343, "created_at": old });
    let patched = app.patch(&path, &staff.access, &again).await;

    // Assert
    assert_ne!(body["id"], 4242);
    assert!(
        body["created_at"] != old && body["updated_at"] != old,
        "{body}"
    );
    assert!(body.get("salary").is_none());
    let kept = json!({ "id": body["id"], "created_at": body["created_at"] });
    assert_fields(&ok(patched).await, &kept);
    let listed = list_ids(&app, "/api/doctors", &staff.access).await;
    assert_eq!(listed, [id(&body)], "not archived");
}

#[rocket::async_test]
async fn archiving_a_doctor_hides_it_ends_its_active_mappings_and_an_admin_restores_it() {
    // Arrange
    let (app, admin, staff) = spawn_clinic().await;
    let (admin, staff) = (admin.access.as_str(), staff.access.as_str());
    let ada = add_patient(&app, staff, &patient("Ada")).await;
    let gone = add_doctor(&app, staff, &doctor("Gone")).await;
    let kept = add_doctor(&app, staff, &doctor("Kept")).await;
    let active = add_mapping(&app, staff, ada, gone).await;
    let completed = json!({ "patient": ada, "doctor": gone, "status": "COMPLETED" });
    let completed = id(&app.create_mapping(staff, &completed).await);
    let elsewhere = add_mapping(&app, staff, ada, kept).await;
    let path = format!("/api/doctors/{gone}/");

    // Act
    let deleted = app.delete(&path, staff).await;

    // Assert
    assert_no_content(&deleted);
    assert_not_found(app.get(&path, staff).await).await;
    assert_not_found(app.patch(&path, staff, &json!({ "city": "X" })).await).await;
    assert_eq!(list_ids(&app, LIST, staff).await, [kept]);
    let archived = list_ids(&app, "/api/doctors/?archived=true", admin).await;
    assert_eq!(archived, [gone], "only archived ones");
    let by_staff = app.get("/api/doctors/?archived=true", staff).await;
    assert_error(by_staff, 403, "permission_denied").await;
    let by_staff = app
        .post(&format!("{path}restore/"), staff, &json!({}))
        .await;
    assert_error(by_staff, 403, "permission_denied").await;
    let restore = format!("/api/doctors/{gone}/restore");
    assert_eq!(
        ok(app.post(&restore, admin, &json!({})).await).await["id"],
        gone
    );
    assert_eq!(list_ids(&app, "/api/doctors", staff).await, [gone, kept]);
    let unknown = app
        .post("/api/doctors/99999/restore/", admin, &json!({}))
        .await;
    assert_not_found(unknown).await;
    let list = ok(app
        .get(&format!("/api/mappings/?patient_id={ada}"), staff)
        .await)
    .await;
    let list = list.as_array().unwrap();
    let status_of = |m: i64| list.iter().find(|item| id(item) == m).unwrap()["status"].clone();
    assert_eq!(
        status_of(active),
        "INACTIVE",
        "the archived doctor's ACTIVE mapping ends"
    );
    assert_eq!(status_of(completed), "COMPLETED");
    assert_eq!(
        status_of(elsewhere),
        "ACTIVE",
        "other doctors' mappings are untouched"
    );
}

#[rocket::async_test]
async fn doctors_can_be_searched_and_filtered() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let mut d = Vec::new();
    for body in [
        json!({ "name": "Meredith Grey", "specialization": "Cardiology", "city": "Paris",
            "years_of_experience": 5, "consultation_fee": 100 }),
        json!({ "name": "Greg House", "specialization": "Cardiology", "city": "Lyon", "is_available": false,
            "years_of_experience": 15, "consultation_fee": 250.5 }),
        json!({ "name": "Derek Shepherd", "specialization": "Neurology", "city": "Paris",
            "years_of_experience": 25, "consultation_fee": 80 }),
    ] {
        d.push(add_doctor(&app, &staff.access, &body).await);
    }
    let cases: [(&str, &[i64]); 12] = [
        ("specialization=Cardiology", &[d[0], d[1]]),
        ("city=Paris", &[d[0], d[2]]),
        ("is_available=false", &[d[1]]),
        ("is_available=true", &[d[0], d[2]]),
        ("min_experience=15", &[d[1], d[2]]),
        ("max_fee=100", &[d[0], d[2]]),
        ("max_fee=99.99", &[d[2]]),
        ("specialization=Cardiology&city=Paris", &[d[0]]),
        ("search=GREY", &[d[0]]),
        ("search=neuro", &[d[2]]),
        ("search=lyon", &[d[1]]),
        ("search=derek%20shep", &[d[2]]),
    ];

    for (query, expected) in cases {
        // Act
        let found = list_ids(&app, &format!("{LIST}?{query}"), &staff.access).await;

        // Assert
        assert_eq!(found, expected, "{query}");
    }
    for param in ["min_experience=x", "max_fee=abc", "is_available=maybe"] {
        let response = app
            .get(&format!("/api/doctors?{param}"), &staff.access)
            .await;
        let name = param.split('=').next().unwrap();
        assert_exact_field_errors(response, &[name]).await;
    }
}

#[rocket::async_test]
async fn doctors_can_be_ordered_by_each_documented_field_and_nothing_else() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let staff = staff.access.as_str();
    let mut d = Vec::new();
    for (name, specialization, years, fee) in [
        ("Cleo Adams", "Neurology", 5, 80.5),
        ("Abe Cole", "Cardiology", 25, 200.0),
        ("Bea Baker", "Surgery", 15, 120.0),
    ] {
        let body = json!({ "name": name, "specialization": specialization,
            "years_of_experience": years, "consultation_fee": fee });
        d.push(add_doctor(&app, staff, &body).await);
    }
    assert_eq!(
        list_ids(&app, LIST, staff).await,
        d,
        "default: id ascending"
    );
    let by_fee = list_ids(&app, "/api/doctors/?ordering=-consultation_fee", staff).await;
    assert_eq!(by_fee, [d[1], d[2], d[0]]);
    let fields = [
        "id",
        "first_name",
        "last_name",
        "specialization",
        "years_of_experience",
        "consultation_fee",
        "created_at",
    ];

    for field in fields {
        for (sign, descending) in [("", false), ("-", true)] {
            // Act
            let path = format!("/api/doctors/?ordering={sign}{field}");
            let list = ok(app.get(&path, staff).await).await;

            // Assert
            assert_eq!(list.as_array().unwrap().len(), 3);
            assert_ordered(&list, field, descending);
        }
    }
    for bad in ["bogus", "-email", "license_number"] {
        let path = format!("/api/doctors/?ordering={}", encode(bad));
        assert_exact_field_errors(app.get(&path, staff).await, &["ordering"]).await;
    }
}

#[rocket::async_test]
async fn doctor_lists_are_paginated_with_a_total_count_and_link_header() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let staff = staff.access.as_str();
    let mut d = Vec::new();
    for n in 1..=3 {
        d.push(add_doctor(&app, staff, &doctor(&format!("Doc{n}"))).await);
    }

    // Act
    let response = app.get("/api/doctors?page=1&page_size=2", staff).await;
    let bad = app.get("/api/doctors/?page_size=501", staff).await;

    // Assert
    assert_eq!(header(&response, "x-total-count"), "3");
    let rels = links(&response);
    assert!(!rels.contains_key("prev"), "{rels:?}");
    for (rel, page) in [("first", "1"), ("next", "2"), ("last", "2")] {
        let url = rels
            .get(rel)
            .unwrap_or_else(|| panic!("rel={rel} in {rels:?}"));
        assert!(url.contains("/api/doctors"), "{url}");
        let page_param = query_param(url, "page");
        assert_eq!(page_param.as_deref(), Some(page), "rel={rel}: {url}");
    }
    assert_eq!(ids(&ok(response).await), d[..2]);
    assert_exact_field_errors(bad, &["page_size"]).await;
}

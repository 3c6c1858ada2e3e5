//! Doctors (`/api/doctors`): everyone reads, staff and admin write; field
//! rules and aliases, uniqueness, archive (which ends active mappings) and
//! restore, filters, ordering and pagination.

use serde_json::{json, Value};

use crate::helpers::{
    assert_error, assert_exact_field_errors, assert_fields, assert_location, assert_ordered,
    assert_timestamp, created, doctor, encode, header, id, ids, json_with, links, list_ids, merged,
    patient, query_param, spawn_clinic,
};

#[rocket::async_test]
async fn creating_a_doctor_answers_201_with_its_location_and_every_field() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let body = merged(
        doctor("Greg"),
        &json!({
            "years_of_experience": 12, "consultation_fee": 150.5, "contact_number": "555-0100",
            "email": "house@ppth.test", "license_number": "NJ-1", "qualification": "MD", "city": "Princeton",
        }),
    );

    // Act
    let response = app.post("/api/doctors", &staff.access, &body).await;

    // Assert
    let location = header(&response, "location");
    let body = created(response).await;
    assert_location(&location, &format!("/api/doctors/{}", id(&body)));
    assert_fields(
        &body,
        &json!({
            "first_name": "Greg", "last_name": "House", "name": "Greg House", "specialization": "Cardiology",
            "years_of_experience": 12, "experience_years": 12, "phone": "555-0100", "contact_number": "555-0100",
            "email": "house@ppth.test", "license_number": "NJ-1", "qualification": "MD", "city": "Princeton",
            "is_available": true, "bio": null, "available_days": null, "languages_spoken": null,
        }),
    );
    assert_eq!(
        body["consultation_fee"].as_f64(),
        Some(150.5),
        "a JSON number"
    );
    assert_timestamp(&body["created_at"]);
    assert_timestamp(&body["updated_at"]);
    let fetched = app
        .get(&format!("/api/doctors/{}/", id(&body)), &staff.access)
        .await;
    assert_eq!(json_with(fetched, 200).await, body);
}

#[rocket::async_test]
async fn a_user_may_read_doctors_but_every_doctor_write_is_forbidden() {
    // Arrange
    let (app, admin, staff) = spawn_clinic().await;
    let user = app.account(&admin, "user", "user@clinic.test").await;
    let greg = app.create_doctor(&staff.access, &doctor("Greg")).await;
    let path = format!("/api/doctors/{}/", id(&greg));
    let user = user.access.as_str();

    // Act
    let forbidden = [
        app.post("/api/doctors/", user, &doctor("Mallory")).await,
        app.put(&path, user, &doctor("Mallory")).await,
        app.patch(&path, user, &json!({ "city": "Nowhere" })).await,
        app.delete(&path, user).await,
        app.post(&format!("{path}restore/"), user, &json!({})).await,
        app.patch("/api/doctors/99999/", user, &json!({ "city": "Nowhere" }))
            .await,
        app.delete("/api/doctors/99999/", user).await,
    ];

    // Assert
    for response in forbidden {
        assert_error(response, 403, "permission_denied").await;
    }
    assert_eq!(list_ids(&app, "/api/doctors", user).await, [id(&greg)]);
    let read = json_with(app.get(&path, user).await, 200).await;
    assert_fields(&read, &json!({ "first_name": "Greg", "city": null }));
    assert_error(app.get("/api/doctors/99999", user).await, 404, "not_found").await;
    let admin_edit = app
        .patch(&path, &admin.access, &json!({ "city": "Boston" }))
        .await;
    assert_eq!(json_with(admin_edit, 200).await["city"], "Boston");
}

#[rocket::async_test]
async fn put_needs_the_required_fields_and_patch_changes_only_the_given_ones() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let extra = json!({ "city": "Princeton", "bio": "Diagnostician", "years_of_experience": 20 });
    let greg = app
        .create_doctor(&staff.access, &merged(doctor("Greg"), &extra))
        .await;
    let (path, staff) = (format!("/api/doctors/{}", id(&greg)), staff.access.as_str());

    // Act
    let missing = app.put(&path, staff, &json!({ "city": "Boston" })).await;
    let put = app
        .put(
            &path,
            staff,
            &json!({ "first_name": "Gregory", "specialization": "Nephrology" }),
        )
        .await;
    let patched = app
        .patch(&path, staff, &json!({ "bio": "", "is_available": false }))
        .await;

    // Assert
    assert_exact_field_errors(missing, &["first_name", "specialization"]).await;
    assert_fields(
        &json_with(put, 200).await,
        &json!({
            "first_name": "Gregory", "specialization": "Nephrology", "last_name": "House",
            "city": "Princeton", "bio": "Diagnostician", "years_of_experience": 20,
        }),
    );
    assert_fields(
        &json_with(patched, 200).await,
        &json!({
            "bio": null, "is_available": false, "first_name": "Gregory", "city": "Princeton",
        }),
    );
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
    let response = app.post("/api/doctors/", &staff.access, &body).await;

    // Assert
    let fields: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_exact_field_errors(response, &fields).await;
    assert_eq!(
        list_ids(&app, "/api/doctors/", &staff.access).await,
        Vec::<i64>::new()
    );
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
        let response = app.post("/api/doctors/", &staff.access, &body).await;

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
    let path = format!("/api/doctors/{}/", id(&grey));
    let patched = app
        .patch(
            &path,
            staff,
            &json!({ "experience_years": 8, "contact_number": "555-0102" }),
        )
        .await;
    let bad = app
        .post(
            "/api/doctors/",
            staff,
            &merged(doctor("Bad"), &json!({ "experience_years": 71 })),
        )
        .await;

    // Assert
    assert_fields(
        &grey,
        &json!({
            "first_name": "Meredith", "last_name": "Jane Grey", "name": "Meredith Jane Grey",
            "years_of_experience": 7, "experience_years": 7, "phone": "555-0101", "contact_number": "555-0101",
        }),
    );
    assert_fields(
        &json_with(patched, 200).await,
        &json!({
            "years_of_experience": 8, "experience_years": 8, "phone": "555-0102", "contact_number": "555-0102",
        }),
    );
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
    let response = app.post("/api/doctors/", &staff.access, &body).await;

    // Assert
    assert_fields(
        &created(response).await,
        &json!({
            "first_name": "Greg", "last_name": null, "specialization": "Cardiology", "email": null,
            "license_number": null, "bio": null, "city": "Princeton", "consultation_fee": null, "is_available": true,
        }),
    );
}

#[rocket::async_test]
async fn doctor_email_and_license_number_must_be_unique_when_given() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let staff = staff.access.as_str();
    let unique = json!({ "email": "house@ppth.test", "license_number": "NJ-1" });
    app.create_doctor(staff, &merged(doctor("Greg"), &unique))
        .await;
    let other = app.create_doctor(staff, &doctor("Lisa")).await;
    let blanks = json!({ "email": "", "license_number": "" });

    // Act
    let same_email = app
        .post(
            "/api/doctors/",
            staff,
            &merged(doctor("A"), &json!({ "email": "house@ppth.test" })),
        )
        .await;
    let same_license = app
        .post(
            "/api/doctors/",
            staff,
            &merged(doctor("B"), &json!({ "license_number": "NJ-1" })),
        )
        .await;
    let patched = app
        .patch(
            &format!("/api/doctors/{}", id(&other)),
            staff,
            &json!({ "license_number": "NJ-1" }),
        )
        .await;
    let without = app
        .post("/api/doctors/", staff, &merged(doctor("C"), &blanks))
        .await;
    let without_too = app
        .post("/api/doctors/", staff, &merged(doctor("D"), &blanks))
        .await;

    // Assert
    assert_error(same_email, 409, "duplicate").await;
    assert_error(same_license, 409, "duplicate").await;
    assert_error(patched, 409, "duplicate").await;
    created(without).await;
    created(without_too).await;
    assert_eq!(list_ids(&app, "/api/doctors/", staff).await.len(), 4);
}

#[rocket::async_test]
async fn server_owned_and_unknown_doctor_fields_are_ignored() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let old = "2000-01-01T00:00:00Z";
    let forged =
        json!({ "id": 4242, "created_at": old, "updated_at": old, "deleted_at": old, "salary": 1 });

    // Act
    let body = app
        .create_doctor(&staff.access, &merged(doctor("Greg"), &forged))
        .await;
    let path = format!("/api/doctors/{}/", id(&body));
    let patched = app
        .patch(
            &path,
            &staff.access,
            &json!({ "id": 4343, "created_at": old }),
        )
        .await;

    // Assert
    assert_ne!(body["id"], 4242);
    assert!(
        body["created_at"] != old && body["updated_at"] != old,
        "{body}"
    );
    assert!(body.get("salary").is_none());
    let kept = json!({ "id": body["id"], "created_at": body["created_at"] });
    assert_fields(&json_with(patched, 200).await, &kept);
    assert_eq!(
        list_ids(&app, "/api/doctors", &staff.access).await,
        [id(&body)],
        "not archived"
    );
}

#[rocket::async_test]
async fn archiving_a_doctor_hides_it_ends_its_active_mappings_and_an_admin_restores_it() {
    // Arrange
    let (app, admin, staff) = spawn_clinic().await;
    let (admin, staff) = (admin.access.as_str(), staff.access.as_str());
    let pid = id(&app.create_patient(staff, &patient("Ada")).await);
    let gone = id(&app.create_doctor(staff, &doctor("Gone")).await);
    let kept = id(&app.create_doctor(staff, &doctor("Kept")).await);
    let mapping =
        |doctor: i64, status: &str| json!({ "patient": pid, "doctor": doctor, "status": status });
    let active = id(&app.create_mapping(staff, &mapping(gone, "ACTIVE")).await);
    let completed = id(&app.create_mapping(staff, &mapping(gone, "COMPLETED")).await);
    let elsewhere = id(&app.create_mapping(staff, &mapping(kept, "ACTIVE")).await);
    let path = format!("/api/doctors/{gone}/");

    // Act
    let deleted = app.delete(&path, staff).await;

    // Assert
    assert_eq!(deleted.status(), 204);
    assert_error(app.get(&path, staff).await, 404, "not_found").await;
    assert_error(
        app.patch(&path, staff, &json!({ "city": "X" })).await,
        404,
        "not_found",
    )
    .await;
    assert_eq!(list_ids(&app, "/api/doctors/", staff).await, [kept]);
    assert_eq!(
        list_ids(&app, "/api/doctors/?archived=true", admin).await,
        [gone],
        "only archived ones"
    );
    assert_error(
        app.get("/api/doctors/?archived=true", staff).await,
        403,
        "permission_denied",
    )
    .await;
    let by_staff = app
        .post(&format!("{path}restore/"), staff, &json!({}))
        .await;
    assert_error(by_staff, 403, "permission_denied").await;
    let restored = app
        .post(&format!("/api/doctors/{gone}/restore"), admin, &json!({}))
        .await;
    assert_eq!(json_with(restored, 200).await["id"], gone);
    assert_eq!(list_ids(&app, "/api/doctors", staff).await, [gone, kept]);
    let unknown = app
        .post("/api/doctors/99999/restore/", admin, &json!({}))
        .await;
    assert_error(unknown, 404, "not_found").await;
    let list = json_with(
        app.get(&format!("/api/mappings/?patient_id={pid}"), staff)
            .await,
        200,
    )
    .await;
    let status_of = |mapping: i64| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|m| id(m) == mapping)
            .unwrap()["status"]
            .clone()
    };
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
        json!({ "name": "Meredith Grey", "specialization": "Cardiology", "city": "Paris", "years_of_experience": 5, "consultation_fee": 100 }),
        json!({ "name": "Greg House", "specialization": "Cardiology", "city": "Lyon", "is_available": false, "years_of_experience": 15, "consultation_fee": 250.5 }),
        json!({ "name": "Derek Shepherd", "specialization": "Neurology", "city": "Paris", "years_of_experience": 25, "consultation_fee": 80 }),
    ] {
        d.push(id(&app.create_doctor(&staff.access, &body).await));
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
        let found = list_ids(&app, &format!("/api/doctors/?{query}"), &staff.access).await;

        // Assert
        assert_eq!(found, expected, "{query}");
    }
    for (query, param) in [
        ("min_experience=x", "min_experience"),
        ("max_fee=abc", "max_fee"),
        ("is_available=maybe", "is_available"),
    ] {
        let response = app
            .get(&format!("/api/doctors?{query}"), &staff.access)
            .await;
        assert_exact_field_errors(response, &[param]).await;
    }
}

#[rocket::async_test]
async fn doctors_can_be_ordered_by_each_documented_field_and_nothing_else() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let mut d = Vec::new();
    for (name, specialization, years, fee) in [
        ("Cleo Adams", "Neurology", 5, 80.5),
        ("Abe Cole", "Cardiology", 25, 200.0),
        ("Bea Baker", "Surgery", 15, 120.0),
    ] {
        let body = json!({ "name": name, "specialization": specialization, "years_of_experience": years, "consultation_fee": fee });
        d.push(id(&app.create_doctor(&staff.access, &body).await));
    }
    assert_eq!(
        list_ids(&app, "/api/doctors/", &staff.access).await,
        d,
        "default: id ascending"
    );
    let by_fee = list_ids(
        &app,
        "/api/doctors/?ordering=-consultation_fee",
        &staff.access,
    )
    .await;
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
        for descending in [false, true] {
            // Act
            let sign = if descending { "-" } else { "" };
            let response = app
                .get(
                    &format!("/api/doctors/?ordering={sign}{field}"),
                    &staff.access,
                )
                .await;

            // Assert
            let list = json_with(response, 200).await;
            assert_eq!(list.as_array().unwrap().len(), 3);
            assert_ordered(&list, field, descending);
        }
    }
    for bad in ["bogus", "-email", "license_number"] {
        let response = app
            .get(
                &format!("/api/doctors/?ordering={}", encode(bad)),
                &staff.access,
            )
            .await;
        assert_exact_field_errors(response, &["ordering"]).await;
    }
}

#[rocket::async_test]
async fn doctor_lists_are_paginated_with_a_total_count_and_link_header() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let mut d = Vec::new();
    for n in 1..=3 {
        d.push(id(&app
            .create_doctor(&staff.access, &doctor(&format!("Doc{n}")))
            .await));
    }

    // Act
    let response = app
        .get("/api/doctors?page=1&page_size=2", &staff.access)
        .await;
    let bad = app.get("/api/doctors/?page_size=501", &staff.access).await;

    // Assert
    assert_eq!(header(&response, "x-total-count"), "3");
    let rels = links(&response);
    assert!(!rels.contains_key("prev"), "{rels:?}");
    for (rel, page) in [("first", "1"), ("next", "2"), ("last", "2")] {
        let url = rels
            .get(rel)
            .unwrap_or_else(|| panic!("rel={rel} in {rels:?}"));
        assert!(url.contains("/api/doctors"), "{url}");
        assert_eq!(
            query_param(url, "page").as_deref(),
            Some(page),
            "rel={rel}: {url}"
        );
    }
    assert_eq!(ids(&json_with(response, 200).await), d[..2]);
    assert_exact_field_errors(bad, &["page_size"]).await;
}

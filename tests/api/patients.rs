//! Patients (`/api/patients`): create, visibility by role, read, PUT, PATCH,
//! archive and restore, every field rule and alias, filters, search, ordering
//! and pagination.

use serde_json::{json, Value};

use crate::helpers::{
    assert_error, assert_exact_field_errors, assert_fields, assert_location, assert_ordered,
    assert_timestamp, created, encode, header, id, ids, json_with, links, list_ids, merged,
    patient, query_param, spawn_clinic,
};

/// Today's date (UTC) as `(year, "YYYY-MM-DD")`.
fn today() -> (i32, String) {
    let date = time::OffsetDateTime::now_utc().date();
    let (year, month, day) = (date.year(), u8::from(date.month()), date.day());
    (year, format!("{year:04}-{month:02}-{day:02}"))
}

#[rocket::async_test]
async fn creating_a_patient_answers_201_with_its_location_and_the_caller_as_creator() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;

    // Act
    let response = app
        .post("/api/patients", &staff.access, &patient("Ada"))
        .await;

    // Assert
    let location = header(&response, "location");
    let body = created(response).await;
    assert_location(&location, &format!("/api/patients/{}", id(&body)));
    assert_fields(
        &body,
        &json!({
            "created_by": staff.id, "first_name": "Ada", "last_name": "Lovelace", "name": "Ada Lovelace",
            "gender": "F", "phone": "+44 20 7946 0000", "contact_number": "+44 20 7946 0000", "is_active": true,
            "email": null, "date_of_birth": null, "age": null, "blood_group": null, "city": null, "allergies": null,
        }),
    );
    assert_timestamp(&body["created_at"]);
    assert_timestamp(&body["updated_at"]);
    let fetched = app
        .get(&format!("/api/patients/{}", id(&body)), &staff.access)
        .await;
    assert_eq!(json_with(fetched, 200).await, body);
}

#[rocket::async_test]
async fn a_user_lists_only_the_patients_they_created() {
    // Arrange
    let (app, admin, staff) = spawn_clinic().await;
    let alice = app.account(&admin, "user", "alice@clinic.test").await;
    let bob = app.account(&admin, "user", "bob@clinic.test").await;
    let mut everyone = Vec::new();
    for (who, name) in [
        (&alice, "Alicepatient"),
        (&bob, "Bobpatient"),
        (&staff, "Staffpatient"),
    ] {
        everyone.push(id(&app.create_patient(&who.access, &patient(name)).await));
    }

    // Act
    let response = app.get("/api/patients/", &bob.access).await;

    // Assert
    assert_eq!(
        header(&response, "x-total-count"),
        "1",
        "the count leaks nothing"
    );
    let list = json_with(response, 200).await;
    assert_eq!(ids(&list), [everyone[1]]);
    let text = list.to_string();
    assert!(
        !text.contains("Alicepatient") && !text.contains("Staffpatient"),
        "{text}"
    );
    assert_eq!(
        list_ids(&app, "/api/patients", &staff.access).await,
        everyone
    );
    assert_eq!(
        list_ids(&app, "/api/patients", &admin.access).await,
        everyone
    );
}

#[rocket::async_test]
async fn a_user_gets_404_for_a_patient_created_by_someone_else() {
    // Arrange
    let (app, admin, _staff) = spawn_clinic().await;
    let alice = app.account(&admin, "user", "alice@clinic.test").await;
    let bob = app.account(&admin, "user", "bob@clinic.test").await;
    let alices = app
        .create_patient(&alice.access, &patient("Alicepatient"))
        .await;
    let path = format!("/api/patients/{}/", id(&alices));
    let bob = bob.access.as_str();

    // Act
    let responses = [
        app.get(&path, bob).await,
        app.put(&path, bob, &patient("Hijacked")).await,
        app.patch(&path, bob, &json!({ "city": "Nowhere" })).await,
        app.delete(&path, bob).await,
        app.get("/api/patients/99999/", bob).await,
        app.get("/api/patients/abc/", bob).await,
    ];

    // Assert: indistinguishable from a patient that does not exist
    for response in responses {
        let body = assert_error(response, 404, "not_found").await;
        assert!(
            !body.to_string().contains("Alicepatient"),
            "404 leaks: {body}"
        );
    }
    let untouched = json_with(app.get(&path, &alice.access).await, 200).await;
    assert_fields(
        &untouched,
        &json!({ "first_name": "Alicepatient", "city": null }),
    );
}

#[rocket::async_test]
async fn a_user_may_read_change_and_archive_their_own_patient() {
    // Arrange
    let (app, admin, _staff) = spawn_clinic().await;
    let user = app.account(&admin, "user", "user@clinic.test").await;
    let own = app
        .create_patient(&user.access, &patient("Ownpatient"))
        .await;
    let (path, user) = (format!("/api/patients/{}", id(&own)), user.access.as_str());

    // Act
    let read = app.get(&path, user).await;
    let patched = app.patch(&path, user, &json!({ "city": "Leeds" })).await;
    let put = app
        .put(&path, user, &json!({ "first_name": "Renamed" }))
        .await;
    let deleted = app.delete(&path, user).await;

    // Assert
    assert_eq!(json_with(read, 200).await["first_name"], "Ownpatient");
    assert_eq!(json_with(patched, 200).await["city"], "Leeds");
    assert_eq!(json_with(put, 200).await["first_name"], "Renamed");
    assert_eq!(deleted.status(), 204);
    assert_error(app.get(&path, user).await, 404, "not_found").await;
}

#[rocket::async_test]
async fn put_requires_first_name_and_keeps_omitted_optional_fields() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let extra =
        json!({ "email": "ada@example.test", "city": "London", "medical_history": "Asthma" });
    let ada = app
        .create_patient(&staff.access, &merged(patient("Ada"), &extra))
        .await;
    let (path, staff) = (
        format!("/api/patients/{}/", id(&ada)),
        staff.access.as_str(),
    );

    // Act
    let missing = app.put(&path, staff, &json!({ "city": "Paris" })).await;
    let after_missing = json_with(app.get(&path, staff).await, 200).await;
    let replaced = app
        .put(
            &path,
            staff,
            &json!({ "first_name": "Augusta", "city": "Paris" }),
        )
        .await;

    // Assert
    assert_exact_field_errors(missing, &["first_name"]).await;
    assert_eq!(
        after_missing["city"], "London",
        "a rejected PUT changes nothing"
    );
    assert_fields(
        &json_with(replaced, 200).await,
        &json!({
            "first_name": "Augusta", "city": "Paris", "last_name": "Lovelace", "email": "ada@example.test",
            "medical_history": "Asthma", "phone": "+44 20 7946 0000", "gender": "F",
        }),
    );
}

#[rocket::async_test]
async fn patch_changes_only_the_given_fields_and_a_blank_clears_one() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let extra = json!({ "email": "ada@example.test", "city": "London" });
    let ada = app
        .create_patient(&staff.access, &merged(patient("Ada"), &extra))
        .await;
    let (path, staff) = (format!("/api/patients/{}", id(&ada)), staff.access.as_str());

    // Act
    let patched = app
        .patch(&path, staff, &json!({ "city": "Paris", "email": "  " }))
        .await;
    let blank_required = app.patch(&path, staff, &json!({ "first_name": " " })).await;

    // Assert
    assert_fields(
        &json_with(patched, 200).await,
        &json!({
            "city": "Paris", "email": null, "first_name": "Ada", "last_name": "Lovelace", "phone": "+44 20 7946 0000",
        }),
    );
    assert_exact_field_errors(blank_required, &["first_name"]).await;
    assert_eq!(
        json_with(app.get(&path, staff).await, 200).await["first_name"],
        "Ada"
    );
}

#[rocket::async_test]
async fn an_archived_patient_is_hidden_everywhere_until_an_admin_restores_it() {
    // Arrange
    let (app, admin, staff) = spawn_clinic().await;
    let kept = id(&app
        .create_patient(&staff.access, &patient("Keptpatient"))
        .await);
    let gone = id(&app
        .create_patient(&staff.access, &patient("Gonepatient"))
        .await);
    let (path, staff, admin) = (
        format!("/api/patients/{gone}/"),
        staff.access.as_str(),
        admin.access.as_str(),
    );

    // Act
    let deleted = app.delete(&path, staff).await;

    // Assert
    assert_eq!(deleted.status(), 204);
    assert_error(app.get(&path, staff).await, 404, "not_found").await;
    assert_error(app.put(&path, staff, &patient("X")).await, 404, "not_found").await;
    assert_error(
        app.patch(&path, admin, &json!({ "city": "X" })).await,
        404,
        "not_found",
    )
    .await;
    assert_error(app.delete(&path, admin).await, 404, "not_found").await;
    assert_eq!(list_ids(&app, "/api/patients/", staff).await, [kept]);
    assert_eq!(list_ids(&app, "/api/patients/", admin).await, [kept]);
    assert_eq!(
        list_ids(&app, "/api/patients/?archived=true", admin).await,
        [gone],
        "only archived ones"
    );
    let restored = json_with(
        app.post(&format!("{path}restore/"), admin, &json!({}))
            .await,
        200,
    )
    .await;
    assert_fields(
        &restored,
        &json!({ "id": gone, "first_name": "Gonepatient" }),
    );
    assert_eq!(
        json_with(app.get(&path, staff).await, 200).await["id"],
        gone
    );
    assert_eq!(list_ids(&app, "/api/patients", staff).await, [kept, gone]);
    assert_eq!(
        list_ids(&app, "/api/patients/?archived=true", admin).await,
        Vec::<i64>::new()
    );
    let again = app
        .post(&format!("/api/patients/{gone}/restore"), admin, &json!({}))
        .await;
    assert_eq!(
        json_with(again, 200).await["id"],
        gone,
        "restoring a live patient is a no-op"
    );
}

#[rocket::async_test]
async fn only_an_admin_may_list_archived_patients_or_restore_one() {
    // Arrange
    let (app, admin, staff) = spawn_clinic().await;
    let user = app.account(&admin, "user", "user@clinic.test").await;
    let own = id(&app
        .create_patient(&user.access, &patient("Ownpatient"))
        .await);
    assert_eq!(
        app.delete(&format!("/api/patients/{own}/"), &user.access)
            .await
            .status(),
        204
    );
    let restore = format!("/api/patients/{own}/restore/");

    // Act
    let forbidden = [
        app.get("/api/patients/?archived=true", &staff.access).await,
        app.get("/api/patients/?archived=true", &user.access).await,
        app.post(&restore, &staff.access, &json!({})).await,
        app.post(&restore, &user.access, &json!({})).await,
    ];
    let unknown = app
        .post("/api/patients/99999/restore/", &admin.access, &json!({}))
        .await;

    // Assert
    for response in forbidden {
        assert_error(response, 403, "permission_denied").await;
    }
    assert_error(unknown, 404, "not_found").await;
    let archived = list_ids(&app, "/api/patients/?archived=true", &admin.access).await;
    assert_eq!(archived, [own], "still archived");
}

#[rocket::async_test]
async fn every_invalid_patient_field_is_reported_at_once() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let next_year = format!("{}-01-01", today().0 + 1);
    let body = json!({
        "first_name": "", "last_name": "x".repeat(101), "date_of_birth": next_year, "gender": "X",
        "phone": "12ab", "email": "plainaddress", "blood_group": "C+", "city": "x".repeat(201),
        "medical_history": "x".repeat(10_001), "emergency_contact_phone": "123",
    });

    // Act
    let response = app.post("/api/patients/", &staff.access, &body).await;

    // Assert
    let fields: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_exact_field_errors(response, &fields).await;
    let list = app.get("/api/patients/", &staff.access).await;
    assert_eq!(header(&list, "x-total-count"), "0", "nothing was stored");
}

#[rocket::async_test]
async fn each_patient_field_rule_accepts_good_values_and_rejects_bad_ones() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let (year, today) = today();
    let long = |n: usize| json!("x".repeat(n));
    let mut cases: Vec<(&str, Value, bool)> = vec![
        ("first_name", long(100), true),
        ("first_name", json!("é".repeat(100)), true),
        ("first_name", long(101), false),
        ("first_name", json!("   "), false),
        ("last_name", long(100), true),
        ("last_name", long(101), false),
        ("date_of_birth", json!(today), true),
        ("date_of_birth", json!(format!("{}-01-01", year + 1)), false),
        (
            "date_of_birth",
            json!(format!("{}-12-31", year - 129)),
            true,
        ),
        (
            "date_of_birth",
            json!(format!("{}-01-01", year - 131)),
            false,
        ),
        ("date_of_birth", json!("2020-13-01"), false),
        ("date_of_birth", json!("2021-02-30"), false),
        ("date_of_birth", json!("01/02/2020"), false),
        ("age", json!(0), true),
        ("age", json!(130), true),
        ("age", json!(-1), false),
        ("age", json!(131), false),
        ("gender", json!("X"), false),
        ("gender", json!("mail"), false),
        ("phone", json!("+1 (555) 010-0000"), true),
        ("phone", json!("5550100"), true),
        ("phone", json!("1".repeat(20)), true),
        ("phone", json!("1".repeat(21)), false),
        ("phone", json!("555010"), false),
        ("phone", json!("12-34-56-"), false),
        ("phone", json!("555-010a"), false),
        ("phone", json!("1+5550100"), false),
        ("email", json!("ada@example.test"), true),
        ("email", json!("plainaddress"), false),
        ("email", json!("ada@"), false),
        ("blood_group", json!("C+"), false),
        ("blood_group", json!("AB"), false),
        ("address", long(200), true),
        ("medical_history", long(10_000), true),
        ("emergency_contact_phone", json!("555-0100"), true),
        ("emergency_contact_phone", json!("123"), false),
    ];
    for group in ["A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-"] {
        cases.push(("blood_group", json!(group), true));
    }
    for field in ["address", "city", "state", "postal_code", "country"] {
        cases.push((field, long(201), false));
    }
    for field in ["medical_history", "allergies", "current_medications"] {
        cases.push((field, long(10_001), false));
    }

    for (field, value, valid) in cases {
        // Act
        let body = merged(patient("Case"), &json!({ field: value }));
        let response = app.post("/api/patients/", &staff.access, &body).await;

        // Assert
        if valid {
            let stored = created(response).await;
            assert_eq!(stored[field], value, "{field} = {value} is stored as given");
        } else {
            assert_exact_field_errors(response, &[field]).await;
        }
    }
}

#[rocket::async_test]
async fn blank_optional_fields_are_stored_as_null_and_strings_are_trimmed() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let body = json!({
        "first_name": "  Ada  ", "last_name": "   ", "email": "", "city": "  London ", "phone": " 555-0100 ",
        "gender": "", "blood_group": "", "date_of_birth": "", "medical_history": "  ",
    });

    // Act
    let response = app.post("/api/patients/", &staff.access, &body).await;

    // Assert
    assert_fields(
        &created(response).await,
        &json!({
            "first_name": "Ada", "name": "Ada", "city": "London", "phone": "555-0100", "contact_number": "555-0100",
            "last_name": null, "email": null, "gender": null, "blood_group": null, "date_of_birth": null,
            "medical_history": null, "age": null,
        }),
    );
}

#[rocket::async_test]
async fn name_is_accepted_for_writes_and_split_at_the_first_space() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;

    // Act
    let three = app
        .create_patient(&staff.access, &json!({ "name": "Mary Ann Smith" }))
        .await;
    let one = app
        .create_patient(&staff.access, &json!({ "name": "Cher" }))
        .await;
    let path = format!("/api/patients/{}/", id(&one));
    let patched = app
        .patch(&path, &staff.access, &json!({ "name": "Jo Bloggs" }))
        .await;

    // Assert
    assert_fields(
        &three,
        &json!({ "first_name": "Mary", "last_name": "Ann Smith", "name": "Mary Ann Smith" }),
    );
    assert_fields(
        &one,
        &json!({ "first_name": "Cher", "last_name": null, "name": "Cher" }),
    );
    let patched = json_with(patched, 200).await;
    assert_fields(
        &patched,
        &json!({ "first_name": "Jo", "last_name": "Bloggs", "name": "Jo Bloggs" }),
    );
}

#[rocket::async_test]
async fn contact_number_is_accepted_as_phone_and_answered_as_both() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let staff = staff.access.as_str();

    // Act
    let ada = app
        .create_patient(
            staff,
            &json!({ "first_name": "Ada", "contact_number": "555-0100" }),
        )
        .await;
    let path = format!("/api/patients/{}", id(&ada));
    let patched = app
        .patch(&path, staff, &json!({ "contact_number": "555-0199" }))
        .await;
    let bad = app
        .post(
            "/api/patients/",
            staff,
            &json!({ "first_name": "Bo", "contact_number": "12" }),
        )
        .await;

    // Assert
    assert_fields(
        &ada,
        &json!({ "phone": "555-0100", "contact_number": "555-0100" }),
    );
    let patched = json_with(patched, 200).await;
    assert_fields(
        &patched,
        &json!({ "phone": "555-0199", "contact_number": "555-0199" }),
    );
    let error = assert_error(bad, 400, "validation_error").await;
    let errors = error["errors"].as_object().unwrap();
    assert!(
        errors.len() == 1
            && (errors.contains_key("phone") || errors.contains_key("contact_number")),
        "{error}"
    );
}

#[rocket::async_test]
async fn gender_words_in_any_case_are_stored_as_the_letter() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;

    for (given, stored) in [
        ("male", "M"),
        ("Female", "F"),
        ("OTHER", "O"),
        ("unknown", "U"),
        ("F", "F"),
    ] {
        // Act
        let body = app
            .create_patient(
                &staff.access,
                &json!({ "first_name": "G", "gender": given }),
            )
            .await;

        // Assert
        assert_eq!(body["gender"], stored, "{given}");
        let fetched = app
            .get(&format!("/api/patients/{}", id(&body)), &staff.access)
            .await;
        assert_eq!(
            json_with(fetched, 200).await["gender"],
            stored,
            "{given} is stored as the letter"
        );
    }
}

#[rocket::async_test]
async fn age_is_computed_from_date_of_birth_which_wins_over_a_given_age() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let (year, today) = today();
    let (jan, dec) = (
        format!("{}-01-01", year - 30),
        format!("{}-12-31", year - 30),
    );
    let staff = staff.access.as_str();

    // Act
    let january = app
        .create_patient(staff, &json!({ "first_name": "J", "date_of_birth": jan }))
        .await;
    let december = app
        .create_patient(staff, &json!({ "first_name": "D", "date_of_birth": dec }))
        .await;
    let only_age = app
        .create_patient(staff, &json!({ "first_name": "A", "age": 42 }))
        .await;
    let both = app
        .create_patient(
            staff,
            &json!({ "first_name": "B", "age": 5, "date_of_birth": jan }),
        )
        .await;

    // Assert
    assert_eq!(january["age"], 30);
    let birthday_today = today.ends_with("-12-31");
    assert_eq!(
        december["age"],
        if birthday_today { 30 } else { 29 },
        "birthday not reached yet"
    );
    assert_fields(&only_age, &json!({ "age": 42, "date_of_birth": null }));
    assert_eq!(both["age"], 30, "the date of birth wins over age");
}

#[rocket::async_test]
async fn server_owned_and_unknown_fields_in_a_patient_body_are_ignored() {
    // Arrange
    let (app, admin, _staff) = spawn_clinic().await;
    let user = app.account(&admin, "user", "user@clinic.test").await;
    let old = "2000-01-01T00:00:00Z";
    let forged = json!({ "id": 4242, "created_by": admin.id, "created_at": old, "updated_at": old,
        "deleted_at": old, "favourite_colour": "teal" });

    // Act
    let body = app
        .create_patient(&user.access, &merged(patient("Ada"), &forged))
        .await;
    let path = format!("/api/patients/{}/", id(&body));
    let again = json!({ "id": 4343, "created_by": admin.id, "created_at": old });
    let patched = app.patch(&path, &user.access, &again).await;

    // Assert
    assert_ne!(body["id"], 4242);
    assert_eq!(body["created_by"], user.id);
    assert!(
        body["created_at"] != old && body["updated_at"] != old,
        "{body}"
    );
    assert!(body.get("favourite_colour").is_none());
    let patched = json_with(patched, 200).await;
    let kept = json!({ "id": body["id"], "created_by": user.id, "created_at": body["created_at"] });
    assert_fields(&patched, &kept);
    assert_eq!(
        json_with(app.get(&path, &user.access).await, 200).await["id"],
        body["id"],
        "not archived"
    );
    assert_error(
        app.get("/api/patients/4343/", &admin.access).await,
        404,
        "not_found",
    )
    .await;
}

#[rocket::async_test]
async fn search_matches_name_phone_and_email_case_insensitively_and_literally() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let mut p = Vec::new();
    for body in [
        json!({ "first_name": "José", "last_name": "Álvarez" }),
        json!({ "first_name": "Ada", "last_name": "Lovelace", "phone": "555-0100" }),
        json!({ "first_name": "Grace", "email": "grace@navy.test" }),
        json!({ "first_name": "Hundred%", "last_name": "Pure" }),
        json!({ "first_name": "Under_score" }),
        json!({ "first_name": "Seán", "last_name": "O'Brien" }),
    ] {
        p.push(id(&app.create_patient(&staff.access, &body).await));
    }
    let cases: [(&str, &[i64]); 11] = [
        ("JOSÉ", &[p[0]]),
        ("álvarez", &[p[0]]),
        ("lovelace", &[p[1]]),
        ("ada lovelace", &[p[1]]),
        ("5550100", &[p[1]]),
        ("555-0100", &[p[1]]),
        ("NAVY.test", &[p[2]]),
        ("%", &[p[3]]),
        ("_", &[p[4]]),
        ("'", &[p[5]]),
        ("nobody", &[]),
    ];

    for (term, expected) in cases {
        // Act
        let found = list_ids(
            &app,
            &format!("/api/patients/?search={}", encode(term)),
            &staff.access,
        )
        .await;

        // Assert
        assert_eq!(found, expected, "search {term:?}");
    }
}

#[rocket::async_test]
async fn patients_can_be_filtered_by_gender_city_blood_group_and_is_active() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let mut p = Vec::new();
    for body in [
        json!({ "first_name": "Ann", "gender": "female", "city": "Paris", "blood_group": "AB+" }),
        json!({ "first_name": "Ben", "gender": "M", "city": "Paris", "blood_group": "O-", "is_active": false }),
        json!({ "first_name": "Cat", "gender": "F", "city": "Lyon", "blood_group": "AB+", "is_active": true }),
    ] {
        p.push(id(&app.create_patient(&staff.access, &body).await));
    }
    let cases: [(&str, &[i64]); 9] = [
        ("", &[p[0], p[1], p[2]]),
        ("gender=F", &[p[0], p[2]]),
        ("gender=M", &[p[1]]),
        ("city=Paris", &[p[0], p[1]]),
        ("blood_group=AB%2B", &[p[0], p[2]]),
        ("blood_group=O-", &[p[1]]),
        ("is_active=false", &[p[1]]),
        ("is_active=true", &[p[0], p[2]]),
        ("gender=F&city=Paris", &[p[0]]),
    ];

    for (query, expected) in cases {
        // Act
        let found = list_ids(&app, &format!("/api/patients/?{query}"), &staff.access).await;

        // Assert
        assert_eq!(found, expected, "filter {query:?}");
    }
    let bad = app
        .get("/api/patients/?is_active=maybe", &staff.access)
        .await;
    assert_exact_field_errors(bad, &["is_active"]).await;
}

#[rocket::async_test]
async fn patients_can_be_ordered_by_each_documented_field_and_nothing_else() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let mut p = Vec::new();
    for (first, last, born) in [
        ("Cleo", "Adams", "1990-05-01"),
        ("Abe", "Cole", "1970-01-01"),
        ("Bea", "Baker", "1980-03-03"),
    ] {
        let body = json!({ "first_name": first, "last_name": last, "date_of_birth": born });
        p.push(id(&app.create_patient(&staff.access, &body).await));
    }
    assert_eq!(
        list_ids(&app, "/api/patients/", &staff.access).await,
        p,
        "default: id ascending"
    );
    let by_name = list_ids(&app, "/api/patients/?ordering=first_name", &staff.access).await;
    assert_eq!(by_name, [p[1], p[2], p[0]]);

    for field in [
        "id",
        "first_name",
        "last_name",
        "date_of_birth",
        "created_at",
        "updated_at",
    ] {
        for descending in [false, true] {
            // Act
            let sign = if descending { "-" } else { "" };
            let response = app
                .get(
                    &format!("/api/patients/?ordering={sign}{field}"),
                    &staff.access,
                )
                .await;

            // Assert
            let list = json_with(response, 200).await;
            assert_eq!(list.as_array().unwrap().len(), 3);
            assert_ordered(&list, field, descending);
        }
    }
    for bad in ["bogus", "-bogus", "email", "phone", "first_name;drop"] {
        let response = app
            .get(
                &format!("/api/patients/?ordering={}", encode(bad)),
                &staff.access,
            )
            .await;
        assert_exact_field_errors(response, &["ordering"]).await;
    }
}

#[rocket::async_test]
async fn patient_lists_are_paginated_with_a_total_count_and_link_header() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let mut p = Vec::new();
    for n in 1..=5 {
        p.push(id(&app
            .create_patient(&staff.access, &patient(&format!("Page{n}")))
            .await));
    }
    let staff = staff.access.as_str();

    // Act
    let middle = app
        .get("/api/patients/?search=page&page=2&page_size=2", staff)
        .await;
    let first = app.get("/api/patients?page_size=2", staff).await;
    let last = app.get("/api/patients/?page=3&page_size=2", staff).await;
    let beyond = app.get("/api/patients/?page=9&page_size=2", staff).await;
    let whole = app.get("/api/patients/", staff).await;

    // Assert
    let rels = links(&middle);
    assert_eq!(header(&middle, "x-total-count"), "5");
    for (rel, page) in [("first", "1"), ("prev", "1"), ("next", "3"), ("last", "3")] {
        let url = rels
            .get(rel)
            .unwrap_or_else(|| panic!("rel={rel} in {rels:?}"));
        assert!(url.contains("/api/patients"), "{url}");
        assert_eq!(
            query_param(url, "page").as_deref(),
            Some(page),
            "rel={rel}: {url}"
        );
        assert_eq!(query_param(url, "page_size").as_deref(), Some("2"), "{url}");
        assert_eq!(
            query_param(url, "search").as_deref(),
            Some("page"),
            "filters kept: {url}"
        );
    }
    assert_eq!(ids(&json_with(middle, 200).await), p[2..4]);
    let rels = links(&first);
    assert!(
        rels.contains_key("next") && !rels.contains_key("prev"),
        "{rels:?}"
    );
    assert_eq!(ids(&json_with(first, 200).await), p[0..2]);
    let rels = links(&last);
    assert!(
        rels.contains_key("prev") && !rels.contains_key("next"),
        "{rels:?}"
    );
    assert_eq!(ids(&json_with(last, 200).await), p[4..]);
    assert_eq!(header(&beyond, "x-total-count"), "5");
    assert_eq!(json_with(beyond, 200).await, json!([]));
    let rels = links(&whole);
    assert!(
        rels.contains_key("first") && rels.contains_key("last"),
        "{rels:?}"
    );
    assert!(
        !rels.contains_key("prev") && !rels.contains_key("next"),
        "{rels:?}"
    );
    assert_eq!(ids(&json_with(whole, 200).await), p);
}

#[rocket::async_test]
async fn bad_page_or_page_size_values_are_rejected() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let cases = [
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=abc", "page"),
        ("page_size=0", "page_size"),
        ("page_size=501", "page_size"),
        ("page_size=ten", "page_size"),
    ];

    for (query, param) in cases {
        // Act
        let response = app
            .get(&format!("/api/patients/?{query}"), &staff.access)
            .await;

        // Assert
        assert_exact_field_errors(response, &[param]).await;
    }
    assert_eq!(
        app.get("/api/patients/?page_size=500", &staff.access)
            .await
            .status(),
        200
    );
}

//! Patients (`/api/patients`): create, visibility by role, read, PUT, PATCH,
//! archive and restore, every field rule and alias. Lists: `patient_lists.rs`.

use clinicdesk::clinic_time::{today_in, zone};
use serde_json::{json, Value};

use crate::helpers::{
    add_patient, assert_error, assert_exact_field_errors, assert_fields, assert_location,
    assert_no_content, assert_not_found, assert_timestamp, created, header, ids, list_ids, merged,
    ok, patient, spawn_clinic,
};

const LIST: &str = "/api/patients/";
const ARCHIVED: &str = "/api/patients/?archived=true";
const NONE: [i64; 0] = [];

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
    let body = patient("Ada");

    // Act
    let response = app.post("/api/patients", &staff.access, &body).await;

    // Assert
    let location = header(&response, "location");
    let body = created(response).await;
    let path = format!("/api/patients/{}", body["id"]);
    assert_location(&location, &path);
    let expected = json!({
        "created_by": staff.id, "first_name": "Ada", "last_name": "Lovelace", "name": "Ada Lovelace",
        "gender": "F", "phone": "+44 20 7946 0000", "contact_number": "+44 20 7946 0000", "is_active": true,
        "email": null, "date_of_birth": null, "age": null, "blood_group": null, "city": null, "allergies": null,
    });
    assert_fields(&body, &expected);
    assert_timestamp(&body["created_at"]);
    assert_timestamp(&body["updated_at"]);
    assert_eq!(ok(app.get(&path, &staff.access).await).await, body);
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
        everyone.push(add_patient(&app, &who.access, &patient(name)).await);
    }

    // Act
    let response = app.get(LIST, &bob.access).await;

    // Assert
    let total = header(&response, "x-total-count");
    assert_eq!(total, "1", "the count leaks nothing");
    let list = ok(response).await;
    assert_eq!(ids(&list), [everyone[1]]);
    let text = list.to_string();
    let leaked = text.contains("Alicepatient") || text.contains("Staffpatient");
    assert!(!leaked, "{text}");
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
async fn staff_and_admin_may_read_and_change_any_patient() {
    // Arrange
    let (app, admin, staff) = spawn_clinic().await;
    let user = app.account(&admin, "user", "user@clinic.test").await;
    let theirs = add_patient(&app, &user.access, &patient("Userpatient")).await;
    let path = format!("/api/patients/{theirs}/");

    // Act
    let by_staff = app
        .patch(&path, &staff.access, &json!({ "city": "Leeds" }))
        .await;
    let by_admin = app.get(&path, &admin.access).await;

    // Assert
    assert_eq!(ok(by_staff).await["city"], "Leeds");
    let expected = json!({ "city": "Leeds", "created_by": user.id });
    assert_fields(&ok(by_admin).await, &expected);
    assert_no_content(&app.delete(&path, &staff.access).await);
}

#[rocket::async_test]
async fn a_user_gets_404_for_a_patient_created_by_someone_else() {
    // Arrange
    let (app, admin, _staff) = spawn_clinic().await;
    let alice = app.account(&admin, "user", "alice@clinic.test").await;
    let bob = app.account(&admin, "user", "bob@clinic.test").await;
    let alices = add_patient(&app, &alice.access, &patient("Alicepatient")).await;
    let path = format!("/api/patients/{alices}/");
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
        let body = assert_not_found(response).await.to_string();
        assert!(!body.contains("Alicepatient"), "404 leaks: {body}");
    }
    let untouched = ok(app.get(&path, &alice.access).await).await;
    let expected = json!({ "first_name": "Alicepatient", "city": null });
    assert_fields(&untouched, &expected);
}

#[rocket::async_test]
async fn a_user_may_read_change_and_archive_their_own_patient() {
    // Arrange
    let (app, admin, _staff) = spawn_clinic().await;
    let user = app.account(&admin, "user", "user@clinic.test").await;
    let own = add_patient(&app, &user.access, &patient("Ownpatient")).await;
    let (path, user) = (format!("/api/patients/{own}"), user.access.as_str());

    // Act
    let read = app.get(&path, user).await;
    let patched = app.patch(&path, user, &json!({ "city": "Leeds" })).await;
    let renamed = json!({ "first_name": "Renamed" });
    let put = app.put(&path, user, &renamed).await;
    let deleted = app.delete(&path, user).await;

    // Assert
    assert_eq!(ok(read).await["first_name"], "Ownpatient");
    assert_eq!(ok(patched).await["city"], "Leeds");
    assert_eq!(ok(put).await["first_name"], "Renamed");
    assert_no_content(&deleted);
    assert_not_found(app.get(&path, user).await).await;
}

#[rocket::async_test]
async fn put_requires_first_name_and_keeps_omitted_optional_fields() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let staff = staff.access.as_str();
    let extra =
        json!({ "email": "ada@example.test", "city": "London", "medical_history": "Asthma" });
    let ada = add_patient(&app, staff, &merged(patient("Ada"), &extra)).await;
    let path = format!("/api/patients/{ada}/");

    // Act
    let missing = app.put(&path, staff, &json!({ "city": "Paris" })).await;
    let after_missing = ok(app.get(&path, staff).await).await;
    let body = json!({ "first_name": "Augusta", "city": "Paris" });
    let replaced = app.put(&path, staff, &body).await;

    // Assert
    assert_exact_field_errors(missing, &["first_name"]).await;
    let city = &after_missing["city"];
    assert_eq!(city, "London", "a rejected PUT changes nothing");
    let expected = json!({
        "first_name": "Augusta", "city": "Paris", "last_name": "Lovelace", "email": "ada@example.test",
        "medical_history": "Asthma", "phone": "+44 20 7946 0000", "gender": "F",
    });
    assert_fields(&ok(replaced).await, &expected);
}

#[rocket::async_test]
async fn patch_changes_only_the_given_fields_and_a_blank_clears_one() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let staff = staff.access.as_str();
    let extra = json!({ "email": "ada@example.test", "city": "London" });
    let ada = add_patient(&app, staff, &merged(patient("Ada"), &extra)).await;
    let path = format!("/api/patients/{ada}");

    // Act
    let body = json!({ "city": "Paris", "email": "  " });
    let patched = app.patch(&path, staff, &body).await;
    let blank_required = app.patch(&path, staff, &json!({ "first_name": " " })).await;

    // Assert
    let expected = json!({
        "city": "Paris", "email": null, "first_name": "Ada", "last_name": "Lovelace", "phone": "+44 20 7946 0000",
    });
    assert_fields(&ok(patched).await, &expected);
    assert_exact_field_errors(blank_required, &["first_name"]).await;
    assert_eq!(ok(app.get(&path, staff).await).await["first_name"], "Ada");
}

#[rocket::async_test]
async fn an_archived_patient_is_hidden_everywhere_until_an_admin_restores_it() {
    // Arrange
    let (app, admin, staff) = spawn_clinic().await;
    let (admin, staff) = (admin.access.as_str(), staff.access.as_str());
    let kept = add_patient(&app, staff, &patient("Keptpatient")).await;
    let gone = add_patient(&app, staff, &patient("Gonepatient")).await;
    let path = format!("/api/patients/{gone}/");

    // Act
    let deleted = app.delete(&path, staff).await;

    // Assert
    assert_no_content(&deleted);
    assert_not_found(app.get(&path, staff).await).await;
    assert_not_found(app.put(&path, staff, &patient("X")).await).await;
    assert_not_found(app.patch(&path, admin, &json!({ "city": "X" })).await).await;
    assert_not_found(app.delete(&path, admin).await).await;
    assert_eq!(list_ids(&app, LIST, staff).await, [kept]);
    assert_eq!(list_ids(&app, LIST, admin).await, [kept]);
    let archived = list_ids(&app, ARCHIVED, admin).await;
    assert_eq!(archived, [gone], "only archived ones");
    let restore = format!("{path}restore/");
    let restored = ok(app.post(&restore, admin, &json!({})).await).await;
    assert_fields(
        &restored,
        &json!({ "id": gone, "first_name": "Gonepatient" }),
    );
    assert_eq!(ok(app.get(&path, staff).await).await["id"], gone);
    assert_eq!(list_ids(&app, "/api/patients", staff).await, [kept, gone]);
    assert_eq!(list_ids(&app, ARCHIVED, admin).await, NONE);
    let restore = format!("/api/patients/{gone}/restore");
    let again = ok(app.post(&restore, admin, &json!({})).await).await;
    assert_eq!(again["id"], gone, "restoring a live patient is a no-op");
}

#[rocket::async_test]
async fn only_an_admin_may_list_archived_patients_or_restore_one() {
    // Arrange
    let (app, admin, staff) = spawn_clinic().await;
    let user = app.account(&admin, "user", "user@clinic.test").await;
    let own = add_patient(&app, &user.access, &patient("Ownpatient")).await;
    assert_no_content(&app.delete(&format!("{LIST}{own}/"), &user.access).await);
    let restore = format!("/api/patients/{own}/restore/");

    // Act
    let forbidden = [
        app.get(ARCHIVED, &staff.access).await,
        app.get(ARCHIVED, &user.access).await,
        app.post(&restore, &staff.access, &json!({})).await,
        app.post(&restore, &user.access, &json!({})).await,
    ];
    let unknown = "/api/patients/99999/restore/";
    let unknown = app.post(unknown, &admin.access, &json!({})).await;

    // Assert
    for response in forbidden {
        assert_error(response, 403, "permission_denied").await;
    }
    assert_not_found(unknown).await;
    let archived = list_ids(&app, ARCHIVED, &admin.access).await;
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
    let response = app.post(LIST, &staff.access, &body).await;

    // Assert
    let fields: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_exact_field_errors(response, &fields).await;
    let list = app.get(LIST, &staff.access).await;
    assert_eq!(header(&list, "x-total-count"), "0", "nothing was stored");
}

/// `(field, value, accepted?)` cases for one-field-at-a-time validation.
fn field_cases() -> Vec<(&'static str, Value, bool)> {
    let (year, today) = today();
    let long = |n: usize| json!("x".repeat(n));
    let future = format!("{}-01-01", year + 1);
    let (old_enough, too_old) = (
        format!("{}-12-31", year - 129),
        format!("{}-01-01", year - 131),
    );
    let mut cases = vec![
        ("first_name", long(100), true),
        ("first_name", json!("é".repeat(100)), true),
        ("first_name", long(101), false),
        ("first_name", json!("   "), false),
        ("last_name", long(100), true),
        ("last_name", long(101), false),
        ("date_of_birth", json!(today), true),
        ("date_of_birth", json!(future), false),
        ("date_of_birth", json!(old_enough), true),
        ("date_of_birth", json!(too_old), false),
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
    cases
}

#[rocket::async_test]
async fn each_patient_field_rule_accepts_good_values_and_rejects_bad_ones() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;

    for (field, value, valid) in field_cases() {
        // Act
        let body = merged(patient("Case"), &json!({ field: value }));
        let response = app.post(LIST, &staff.access, &body).await;

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
    let response = app.post(LIST, &staff.access, &body).await;

    // Assert
    let expected = json!({
        "first_name": "Ada", "name": "Ada", "city": "London", "phone": "555-0100", "contact_number": "555-0100",
        "last_name": null, "email": null, "gender": null, "blood_group": null, "date_of_birth": null,
        "medical_history": null, "age": null,
    });
    assert_fields(&created(response).await, &expected);
}

#[rocket::async_test]
async fn name_is_accepted_for_writes_and_split_at_the_first_space() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let staff = staff.access.as_str();

    // Act
    let three = json!({ "name": "Mary Ann Smith" });
    let three = app.create_patient(staff, &three).await;
    let one = app.create_patient(staff, &json!({ "name": "Cher" })).await;
    let path = format!("/api/patients/{}/", one["id"]);
    let body = json!({ "name": "Jo Bloggs" });
    let patched = app.patch(&path, staff, &body).await;

    // Assert
    let expected =
        json!({ "first_name": "Mary", "last_name": "Ann Smith", "name": "Mary Ann Smith" });
    assert_fields(&three, &expected);
    let expected = json!({ "first_name": "Cher", "last_name": null, "name": "Cher" });
    assert_fields(&one, &expected);
    let expected = json!({ "first_name": "Jo", "last_name": "Bloggs", "name": "Jo Bloggs" });
    assert_fields(&ok(patched).await, &expected);
}

#[rocket::async_test]
async fn contact_number_is_accepted_as_phone_and_answered_as_both() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let staff = staff.access.as_str();

    // Act
    let body = json!({ "first_name": "Ada", "contact_number": "555-0100" });
    let ada = app.create_patient(staff, &body).await;
    let path = format!("/api/patients/{}", ada["id"]);
    let body = json!({ "contact_number": "555-0199" });
    let patched = app.patch(&path, staff, &body).await;
    let body = json!({ "first_name": "Bo", "contact_number": "12" });
    let bad = app.post(LIST, staff, &body).await;

    // Assert
    let expected = json!({ "phone": "555-0100", "contact_number": "555-0100" });
    assert_fields(&ada, &expected);
    let expected = json!({ "phone": "555-0199", "contact_number": "555-0199" });
    assert_fields(&ok(patched).await, &expected);
    let error = assert_error(bad, 400, "validation_error").await;
    let errors = error["errors"].as_object().unwrap();
    let named = errors.contains_key("phone") || errors.contains_key("contact_number");
    assert!(errors.len() == 1 && named, "{error}");
}

#[rocket::async_test]
async fn gender_words_in_any_case_are_stored_as_the_letter() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let cases = [
        ("male", "M"),
        ("Female", "F"),
        ("OTHER", "O"),
        ("unknown", "U"),
        ("F", "F"),
    ];

    for (given, stored) in cases {
        // Act
        let body = json!({ "first_name": "G", "gender": given });
        let body = app.create_patient(&staff.access, &body).await;

        // Assert
        assert_eq!(body["gender"], stored, "{given}");
        let path = format!("/api/patients/{}", body["id"]);
        let fetched = ok(app.get(&path, &staff.access).await).await;
        assert_eq!(fetched["gender"], stored, "{given} is stored as the letter");
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
    let january = json!({ "first_name": "J", "date_of_birth": jan });
    let january = app.create_patient(staff, &january).await;
    let december = json!({ "first_name": "D", "date_of_birth": dec });
    let december = app.create_patient(staff, &december).await;
    let only_age = json!({ "first_name": "A", "age": 42 });
    let only_age = app.create_patient(staff, &only_age).await;
    let both = json!({ "first_name": "B", "age": 5, "date_of_birth": jan });
    let both = app.create_patient(staff, &both).await;

    // Assert
    assert_eq!(january["age"], 30);
    let birthday_today = today.ends_with("-12-31");
    let expected = if birthday_today { 30 } else { 29 };
    assert_eq!(december["age"], expected, "birthday not reached yet");
    assert_fields(&only_age, &json!({ "age": 42, "date_of_birth": null }));
    assert_eq!(both["age"], 30, "the date of birth wins over age");
}

#[rocket::async_test]
async fn age_is_counted_on_the_clinics_date_not_the_servers() {
    // Arrange: a clinic whose date is not UTC's right now: a day ahead
    // (UTC+14) from noon UTC, a day behind (UTC-12) before it
    let (app, admin, staff) = spawn_clinic().await;
    let now = time::OffsetDateTime::now_utc();
    let ahead = now.hour() >= 12;
    let name = if ahead { "Etc/GMT-14" } else { "Etc/GMT+12" };
    let moved = app
        .patch(
            "/api/settings/",
            &admin.access,
            &json!({ "time_zone": name }),
        )
        .await;
    assert_eq!(moved.status(), 200);
    let clinic_today = today_in(&zone(name).expect("zone"));
    assert_ne!(clinic_today, now.date(), "the clinic is on another day");
    // Born some years before the later of the two dates: on that day the
    // patient turns that old, the day before they are a year younger. (28
    // years from a 29 February: that year had one too.)
    let later = clinic_today.max(now.date());
    let leap_day = (later.month(), later.day()) == (time::Month::February, 29);
    let years = if leap_day { 28 } else { 30 };
    let born = later
        .replace_year(later.year() - years)
        .expect("a birth date");
    let expected = if ahead { years } else { years - 1 };

    // Act
    let body = json!({ "first_name": "Bo", "date_of_birth": born.to_string() });
    let answered = app.create_patient(&staff.access, &body).await;
    let id = answered["id"].as_i64().expect("id");
    let read = ok(app.get(&format!("{LIST}{id}/"), &staff.access).await).await;
    let listed = ok(app.get(LIST, &staff.access).await).await;

    // Assert: every answer counts on the clinic's date
    assert_eq!(answered["age"], expected, "created: {answered}");
    assert_eq!(read["age"], expected, "read: {read}");
    assert_eq!(listed[0]["age"], expected, "listed: {listed}");
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
    let body = merged(patient("Ada"), &forged);
    let body = app.create_patient(&user.access, &body).await;
    let path = format!("/api/patients/{}/", body["id"]);
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
    let kept = json!({ "id": body["id"], "created_by": user.id, "created_at": body["created_at"] });
    assert_fields(&ok(patched).await, &kept);
    let fetched = ok(app.get(&path, &user.access).await).await;
    assert_eq!(fetched["id"], body["id"], "not archived");
    assert_not_found(app.get("/api/patients/4343/", &admin.access).await).await;
}

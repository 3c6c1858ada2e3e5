//! Patient–doctor mappings (`/api/mappings`): create with either field name,
//! rejected patients and doctors, one ACTIVE mapping per pair, the per-patient
//! list with doctor details, updates and deletes by mapping id (and the
//! compatibility paths), and a user touching only their own patients' mappings.

use serde_json::{json, Value};

use crate::helpers::{
    add_doctor, add_mapping, add_patient, assert_error, assert_exact_field_errors, assert_fields,
    assert_no_content, assert_not_found, assert_timestamp, created, doctor, header, id, ids,
    list_ids, ok, patient, spawn_clinic, Account, TestApp,
};

const LIST: &str = "/api/mappings/";
const NONE: [i64; 0] = [];

/// A clinic whose patient "Ada Lovelace" and doctor "Greg House" come after
/// two decoy patients, so patient ids and mapping ids differ.
struct Clinic {
    app: TestApp,
    admin: Account,
    staff: Account,
    ada: i64,
    greg: i64,
}

async fn clinic() -> Clinic {
    let (app, admin, staff) = spawn_clinic().await;
    for decoy in ["Decoyone", "Decoytwo"] {
        add_patient(&app, &staff.access, &patient(decoy)).await;
    }
    let ada = add_patient(&app, &staff.access, &patient("Ada")).await;
    let greg = add_doctor(&app, &staff.access, &doctor("Greg")).await;
    Clinic {
        app,
        admin,
        staff,
        ada,
        greg,
    }
}

/// The status of mapping `mapping`, read through the compatibility detail route.
async fn status_of(app: &TestApp, token: &str, mapping: i64) -> Value {
    let response = app
        .get(&format!("/api/mappings/detail/{mapping}/"), token)
        .await;
    ok(response).await["status"].clone()
}

#[rocket::async_test]
async fn creating_a_mapping_answers_201_with_its_location_and_both_detail_objects() {
    // Arrange
    let Clinic {
        app,
        staff,
        ada,
        greg,
        ..
    } = clinic().await;
    let body = json!({ "patient": ada, "doctor": greg, "reason": "Chest pain" });

    // Act
    let response = app.post(LIST, &staff.access, &body).await;

    // Assert
    let location = header(&response, "location");
    let body = created(response).await;
    let expected = json!({
        "patient": ada, "doctor": greg, "reason": "Chest pain", "notes": null, "status": "ACTIVE",
        "created_by": staff.id, "patient_details": { "id": ada, "name": "Ada Lovelace" },
    });
    assert_fields(&body, &expected);
    let details = &body["doctor_details"];
    let expected = json!({ "id": greg, "name": "Greg House", "specialization": "Cardiology" });
    assert_fields(details, &expected);
    assert!(
        details.get("experience_years").is_some(),
        "the whole doctor: {details}"
    );
    assert_timestamp(&body["created_at"]);
    assert_timestamp(&body["updated_at"]);
    let path = location.trim_start_matches(&app.base).to_owned();
    assert!(path.starts_with("/api/mappings/"), "Location {location:?}");
    let fetched = ok(app.get(&path, &staff.access).await).await;
    assert_eq!(fetched, body, "Location {location} names the new mapping");
}

#[rocket::async_test]
async fn patient_id_and_doctor_id_are_accepted_and_server_owned_fields_ignored() {
    // Arrange
    let Clinic {
        app, admin, greg, ..
    } = clinic().await;
    let user = app.account(&admin, "user", "user@clinic.test").await;
    let own = add_patient(&app, &user.access, &patient("Own")).await;
    let old = "2000-01-01T00:00:00Z";
    let body = json!({ "patient_id": own, "doctor_id": greg, "id": 4242,
        "created_by": admin.id, "created_at": old });

    // Act
    let mapping = app.create_mapping(&user.access, &body).await;

    // Assert
    let expected = json!({ "patient": own, "doctor": greg, "created_by": user.id });
    assert_fields(&mapping, &expected);
    assert_ne!(mapping["id"], 4242);
    assert_ne!(mapping["created_at"], old);
}

#[rocket::async_test]
async fn a_mapping_with_an_unusable_patient_doctor_or_status_is_rejected_per_field() {
    // Arrange
    let Clinic {
        app,
        admin,
        staff,
        ada,
        greg,
    } = clinic().await;
    let user = app.account(&admin, "user", "user@clinic.test").await;
    let own = add_patient(&app, &user.access, &patient("Own")).await;
    let gone_patient = add_patient(&app, &user.access, &patient("Gone")).await;
    let path = format!("/api/patients/{gone_patient}");
    assert_no_content(&app.delete(&path, &user.access).await);
    let gone_doctor = add_doctor(&app, &staff.access, &doctor("Gone")).await;
    let path = format!("/api/doctors/{gone_doctor}");
    assert_no_content(&app.delete(&path, &staff.access).await);
    let cases: [(Value, &[&str]); 8] = [
        (json!({ "patient": 99999, "doctor": greg }), &["patient"]),
        (
            json!({ "patient": gone_patient, "doctor": greg }),
            &["patient"],
        ),
        (json!({ "patient": ada, "doctor": greg }), &["patient"]),
        (json!({ "doctor": greg }), &["patient"]),
        (json!({ "patient": own, "doctor": 99999 }), &["doctor"]),
        (
            json!({ "patient_id": own, "doctor_id": gone_doctor }),
            &["doctor"],
        ),
        (
            json!({ "patient": 99999, "doctor": 99999 }),
            &["patient", "doctor"],
        ),
        (
            json!({ "patient": own, "doctor": greg, "status": "DONE" }),
            &["status"],
        ),
    ];

    for (body, fields) in cases {
        // Act: as a user, for whom the staff's patient Ada is invisible
        let response = app.post(LIST, &user.access, &body).await;

        // Assert
        let error = assert_exact_field_errors(response, fields).await;
        assert!(!error.to_string().contains("Ada Lovelace"), "leak: {error}");
    }
    assert_eq!(list_ids(&app, LIST, &staff.access).await, NONE);
}

#[rocket::async_test]
async fn a_pair_may_have_only_one_active_mapping_at_a_time() {
    // Arrange
    let Clinic {
        app,
        staff,
        ada,
        greg,
        ..
    } = clinic().await;
    let staff = staff.access.as_str();
    let pair = |status: &str| json!({ "patient": ada, "doctor": greg, "status": status });
    let first = add_mapping(&app, staff, ada, greg).await;

    // Act
    let second = json!({ "patient_id": ada, "doctor_id": greg });
    let second = app.post(LIST, staff, &second).await;
    let inactive = id(&app.create_mapping(staff, &pair("INACTIVE")).await);
    let completed = app.post(LIST, staff, &pair("COMPLETED")).await;
    let path = format!("/api/mappings/{inactive}/");
    let reactivated = app
        .patch(&path, staff, &json!({ "status": "ACTIVE" }))
        .await;

    // Assert
    assert_error(second, 409, "duplicate").await;
    created(completed).await;
    assert_error(reactivated, 409, "duplicate").await;
    assert_eq!(status_of(&app, staff, inactive).await, "INACTIVE");
    let path = format!("/api/mappings/{first}");
    let done = app
        .patch(&path, staff, &json!({ "status": "COMPLETED" }))
        .await;
    assert_eq!(ok(done).await["status"], "COMPLETED");
    let fresh = app.create_mapping(staff, &pair("ACTIVE")).await;
    assert_eq!(
        fresh["status"], "ACTIVE",
        "a new ACTIVE one once the old one ended"
    );
}

#[rocket::async_test]
async fn mapping_lists_show_only_what_the_caller_may_see_and_filter() {
    // Arrange
    let Clinic {
        app,
        admin,
        staff,
        ada,
        greg,
    } = clinic().await;
    let user = app.account(&admin, "user", "user@clinic.test").await;
    let own = add_patient(&app, &user.access, &patient("Ownpatient")).await;
    let wilson = add_doctor(&app, &staff.access, &doctor("Wilson")).await;
    let m1 = add_mapping(&app, &staff.access, ada, greg).await;
    let m2 = add_mapping(&app, &user.access, own, greg).await;
    let body = json!({ "patient": own, "doctor": wilson, "status": "COMPLETED" });
    let m3 = id(&app.create_mapping(&user.access, &body).await);
    let cases: [(String, &[i64]); 6] = [
        (String::new(), &[m1, m2, m3]),
        (format!("patient_id={own}"), &[m2, m3]),
        (format!("doctor_id={greg}"), &[m1, m2]),
        ("status=COMPLETED".to_owned(), &[m3]),
        (format!("patient_id={own}&status=ACTIVE"), &[m2]),
        (format!("patient_id={ada}&doctor_id={wilson}"), &[]),
    ];

    // Act
    let response = app.get("/api/mappings", &user.access).await;

    // Assert
    let list = ok(response).await;
    assert_eq!(
        ids(&list),
        [m2, m3],
        "a user sees their own patients' mappings"
    );
    assert!(!list.to_string().contains("Ada Lovelace"), "leak: {list}");
    for (query, expected) in cases {
        let found = list_ids(&app, &format!("{LIST}?{query}"), &staff.access).await;
        assert_eq!(found, expected, "{query}");
    }
}

#[rocket::async_test]
async fn the_mappings_of_one_patient_come_with_doctor_details() {
    // Arrange
    let Clinic {
        app,
        staff,
        ada,
        greg,
        ..
    } = clinic().await;
    let staff = staff.access.as_str();
    let wilson = add_doctor(&app, staff, &doctor("Wilson")).await;
    let first = add_mapping(&app, staff, ada, greg).await;
    let second = add_mapping(&app, staff, ada, wilson).await;
    let other = add_patient(&app, staff, &patient("Other")).await;
    add_mapping(&app, staff, other, greg).await;

    // Act
    let response = app.get(&format!("/api/mappings/{ada}"), staff).await;

    // Assert
    let list = ok(response).await;
    assert_eq!(ids(&list), [first, second], "only this patient's mappings");
    for (mapping, doctor, name) in [(&list[0], greg, "Greg"), (&list[1], wilson, "Wilson")] {
        assert_eq!(mapping["patient"], ada);
        let expected = json!({ "id": doctor, "first_name": name, "specialization": "Cardiology" });
        assert_fields(&mapping["doctor_details"], &expected);
    }
    let slash = ok(app.get(&format!("/api/mappings/{ada}/"), staff).await).await;
    assert_eq!(slash, list);
}

#[rocket::async_test]
async fn the_mappings_of_an_invisible_or_archived_patient_are_not_found() {
    // Arrange
    let Clinic {
        app,
        admin,
        staff,
        ada,
        greg,
    } = clinic().await;
    let user = app.account(&admin, "user", "user@clinic.test").await;
    let staff = staff.access.as_str();
    let mapping = add_mapping(&app, staff, ada, greg).await;
    let gone = add_patient(&app, staff, &patient("Gonepatient")).await;
    add_mapping(&app, staff, gone, greg).await;
    assert_no_content(&app.delete(&format!("/api/patients/{gone}/"), staff).await);

    // Act
    let others = app
        .get(&format!("/api/mappings/{ada}/"), &user.access)
        .await;
    let archived = app.get(&format!("/api/mappings/{gone}/"), staff).await;
    let unknown = app.get("/api/mappings/99999/", staff).await;

    // Assert
    let body = assert_not_found(others).await;
    assert!(!body.to_string().contains("Ada Lovelace"), "{body}");
    assert_not_found(archived).await;
    assert_not_found(unknown).await;
    let listed = list_ids(&app, LIST, staff).await;
    assert_eq!(
        listed,
        [mapping],
        "the archived patient's mapping is hidden"
    );
}

#[rocket::async_test]
async fn a_mapping_is_updated_by_its_own_id_with_patch_and_put() {
    // Arrange
    let Clinic {
        app,
        admin,
        staff,
        ada,
        greg,
    } = clinic().await;
    let body = json!({ "patient": ada, "doctor": greg, "reason": "Chest pain", "notes": "Urgent" });
    let mapping = app.create_mapping(&staff.access, &body).await;
    let (m, staff) = (id(&mapping), staff.access.as_str());
    let path = format!("/api/mappings/{m}/");

    // Act
    let body = json!({ "status": "COMPLETED", "notes": "  Discharged ", "reason": " " });
    let patched = app.patch(&path, staff, &body).await;
    let body = json!({ "status": "INACTIVE", "reason": "Follow-up" });
    let put = app.put(&format!("/api/mappings/{m}"), staff, &body).await;
    let forged = json!({ "id": 4242, "created_by": admin.id });
    let forged = app.patch(&path, staff, &forged).await;
    let bad = app.patch(&path, staff, &json!({ "status": "DONE" })).await;
    let unknown = app
        .patch("/api/mappings/99999/", staff, &json!({ "notes": "x" }))
        .await;

    // Assert
    let patched = ok(patched).await;
    let expected = json!({ "id": m, "patient": ada, "status": "COMPLETED", "notes": "Discharged", "reason": null });
    assert_fields(&patched, &expected);
    assert_eq!(patched["doctor_details"]["id"], greg);
    let expected = json!({ "id": m, "status": "INACTIVE", "reason": "Follow-up" });
    assert_fields(&ok(put).await, &expected);
    let expected = json!({ "id": m, "created_by": mapping["created_by"] });
    assert_fields(&ok(forged).await, &expected);
    assert_exact_field_errors(bad, &["status"]).await;
    assert_not_found(unknown).await;
    assert_eq!(status_of(&app, staff, m).await, "INACTIVE");
}

#[rocket::async_test]
async fn deleting_a_mapping_by_its_id_removes_only_that_mapping() {
    // Arrange
    let Clinic {
        app,
        staff,
        ada,
        greg,
        ..
    } = clinic().await;
    let staff = staff.access.as_str();
    let mapping = add_mapping(&app, staff, ada, greg).await;

    // Act
    let deleted = app
        .delete(&format!("/api/mappings/{mapping}/"), staff)
        .await;

    // Assert
    assert_no_content(&deleted);
    let detail = format!("/api/mappings/detail/{mapping}/");
    assert_not_found(app.get(&detail, staff).await).await;
    let again = app.delete(&format!("/api/mappings/{mapping}"), staff).await;
    assert_not_found(again).await;
    let remaining = list_ids(&app, &format!("/api/mappings/{ada}/"), staff).await;
    assert_eq!(remaining, NONE);
    let patients = list_ids(&app, "/api/patients/", staff).await;
    assert_eq!(patients.len(), 3, "the patients stay");
    assert_eq!(
        list_ids(&app, "/api/doctors/", staff).await,
        [greg],
        "the doctor stays"
    );
}

#[rocket::async_test]
async fn a_deleted_mappings_id_is_never_given_to_a_new_one() {
    // Arrange: the newest mapping, deleted.
    let Clinic {
        app,
        staff,
        ada,
        greg,
        ..
    } = clinic().await;
    let staff = staff.access.as_str();
    let first = add_mapping(&app, staff, ada, greg).await;
    assert_no_content(&app.delete(&format!("/api/mappings/{first}/"), staff).await);

    // Act
    let second = add_mapping(&app, staff, ada, greg).await;

    // Assert
    assert_ne!(
        second, first,
        "a stale client's id must not reach the new mapping"
    );
    let stale = app
        .get(&format!("/api/mappings/detail/{first}/"), staff)
        .await;
    assert_not_found(stale).await;
}

#[rocket::async_test]
async fn the_compatibility_detail_and_delete_paths_act_on_the_mapping_id() {
    // Arrange
    let Clinic {
        app,
        staff,
        ada,
        greg,
        ..
    } = clinic().await;
    let staff = staff.access.as_str();
    let wilson = add_doctor(&app, staff, &doctor("Wilson")).await;
    let first = add_mapping(&app, staff, ada, greg).await;
    let second = add_mapping(&app, staff, ada, wilson).await;
    let detail = format!("/api/mappings/detail/{first}/");

    // Act
    let read = app.get(&detail, staff).await;
    let patched = app.patch(&detail, staff, &json!({ "notes": "Seen" })).await;
    let body = json!({ "status": "COMPLETED" });
    let put = app
        .put(&format!("/api/mappings/detail/{first}"), staff, &body)
        .await;
    let deleted = app.delete(&detail, staff).await;
    let compat = format!("/api/mappings/delete/{second}");
    let deleted_compat = app.delete(&compat, staff).await;

    // Assert
    let read = ok(read).await;
    let expected = json!({ "id": first, "patient": ada, "doctor": greg, "status": "ACTIVE" });
    assert_fields(&read, &expected);
    assert_eq!(read["doctor_details"]["id"], greg);
    assert_eq!(read["patient_details"]["id"], ada);
    let expected = json!({ "id": first, "notes": "Seen" });
    assert_fields(&ok(patched).await, &expected);
    let expected = json!({ "id": first, "status": "COMPLETED" });
    assert_fields(&ok(put).await, &expected);
    assert_no_content(&deleted);
    assert_no_content(&deleted_compat);
    for gone in [first, second] {
        let detail = format!("/api/mappings/detail/{gone}");
        assert_not_found(app.get(&detail, staff).await).await;
    }
    let again = app.delete(&format!("{compat}/"), staff).await;
    assert_not_found(again).await;
}

#[rocket::async_test]
async fn a_user_touches_only_the_mappings_of_their_own_patients() {
    // Arrange
    let Clinic {
        app,
        admin,
        staff,
        ada,
        greg,
    } = clinic().await;
    let user = app.account(&admin, "user", "user@clinic.test").await;
    let theirs = add_mapping(&app, &staff.access, ada, greg).await;
    let own_patient = add_patient(&app, &user.access, &patient("Own")).await;
    let own = add_mapping(&app, &user.access, own_patient, greg).await;
    let user = user.access.as_str();
    let by_id = format!("/api/mappings/{theirs}/");
    let detail = format!("/api/mappings/detail/{theirs}/");
    let change = json!({ "status": "COMPLETED" });

    // Act
    let responses = [
        app.get(&detail, user).await,
        app.patch(&by_id, user, &change).await,
        app.put(&by_id, user, &change).await,
        app.patch(&detail, user, &change).await,
        app.put(&detail, user, &change).await,
        app.delete(&by_id, user).await,
        app.delete(&detail, user).await,
        app.delete(&format!("/api/mappings/delete/{theirs}/"), user)
            .await,
    ];

    // Assert
    for response in responses {
        let body = assert_not_found(response).await;
        assert!(
            !body.to_string().contains("Ada Lovelace"),
            "404 leaks: {body}"
        );
    }
    let status = status_of(&app, &staff.access, theirs).await;
    assert_eq!(status, "ACTIVE", "untouched and not deleted");
    let own_path = format!("/api/mappings/{own}/");
    let patched = app.patch(&own_path, user, &change).await;
    assert_eq!(ok(patched).await["status"], "COMPLETED");
    let notes = json!({ "notes": "Checked" });
    let by_staff = app.patch(&own_path, &staff.access, &notes).await;
    assert_eq!(
        ok(by_staff).await["notes"],
        "Checked",
        "staff is clinic-wide"
    );
    assert_no_content(&app.delete(&own_path, user).await);
}

#[rocket::async_test]
async fn the_active_mappings_of_a_page_of_patients_come_in_one_request() {
    // Arrange: three patients, two of them with a doctor.
    let (app, _admin, staff) = spawn_clinic().await;
    let staff = &staff.access;
    let (a, b, c) = (
        app.create_patient(staff, &patient("Ada")).await,
        app.create_patient(staff, &patient("Bea")).await,
        app.create_patient(staff, &patient("Cy")).await,
    );
    let d = app.create_doctor(staff, &doctor("Greg")).await;
    for p in [&a, &b] {
        app.create_mapping(staff, &json!({ "patient": p["id"], "doctor": d["id"] }))
            .await;
    }

    // Act
    let path = format!(
        "/api/mappings/?status=ACTIVE&patient_id={},{},{}",
        a["id"], b["id"], c["id"]
    );
    let listed = ok(app.get(&path, staff).await).await;
    let bad = app.get("/api/mappings/?patient_id=1,x", staff).await;

    // Assert
    let mut patients: Vec<i64> = listed
        .as_array()
        .expect("array")
        .iter()
        .map(|m| m["patient"].as_i64().expect("id"))
        .collect();
    patients.sort_unstable();
    assert_eq!(
        patients,
        vec![a["id"].as_i64().expect("id"), b["id"].as_i64().expect("id")]
    );
    assert_error(bad, 400, "validation_error").await;
}

#[rocket::async_test]
async fn mapping_lists_are_ordered_by_a_documented_field_and_refuse_any_other() {
    // Arrange: two mappings.
    let Clinic {
        app,
        staff,
        ada,
        greg,
        ..
    } = clinic().await;
    let staff = staff.access.as_str();
    let bo = add_patient(&app, staff, &patient("Bo")).await;
    let first = add_mapping(&app, staff, ada, greg).await;
    let second = add_mapping(&app, staff, bo, greg).await;

    // Act
    let newest_first = list_ids(&app, "/api/mappings/?ordering=-id", staff).await;
    let by_patient = list_ids(&app, "/api/mappings/?ordering=-patient", staff).await;
    let by_status = app.get("/api/mappings/?ordering=status", staff).await;
    let bogus = app.get("/api/mappings/?ordering=reason", staff).await;

    // Assert
    assert_eq!(newest_first, [second, first]);
    assert_eq!(by_patient, [second, first], "Bo was created after Ada");
    assert_eq!(by_status.status(), 200);
    let body = assert_error(bogus, 400, "validation_error").await;
    assert!(body["errors"]["ordering"].is_array(), "{body}");
}

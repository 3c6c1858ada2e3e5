//! Patient–doctor mappings (`/api/mappings`): create with either field name,
//! rejected patients and doctors, one ACTIVE mapping per pair, the per-patient
//! list with doctor details, updates and deletes by mapping id (and the
//! compatibility paths), and a user touching only their own patients' mappings.

use serde_json::{json, Value};

use crate::helpers::{
    assert_error, assert_exact_field_errors, assert_fields, assert_timestamp, created,
    doctor as doctor_body, header, id, ids, json_with, list_ids, patient as patient_body,
    spawn_clinic, Account, TestApp,
};

/// A clinic with two decoy patients first, so patient ids and mapping ids differ.
struct Clinic {
    app: TestApp,
    admin: Account,
    staff: Account,
    patient: i64,
    doctor: i64,
}

async fn clinic() -> Clinic {
    let (app, admin, staff) = spawn_clinic().await;
    for decoy in ["Decoyone", "Decoytwo"] {
        app.create_patient(&staff.access, &patient_body(decoy))
            .await;
    }
    let patient = id(&app
        .create_patient(&staff.access, &patient_body("Ada"))
        .await);
    let doctor = id(&app.create_doctor(&staff.access, &doctor_body("Greg")).await);
    Clinic {
        app,
        admin,
        staff,
        patient,
        doctor,
    }
}

/// The status of the mapping `mapping_id`, read through the compatibility detail route.
async fn status_of(app: &TestApp, token: &str, mapping_id: i64) -> Value {
    let response = app
        .get(&format!("/api/mappings/detail/{mapping_id}/"), token)
        .await;
    json_with(response, 200).await["status"].clone()
}

#[rocket::async_test]
async fn creating_a_mapping_answers_201_with_its_location_and_both_detail_objects() {
    // Arrange
    let Clinic {
        app,
        staff,
        patient,
        doctor,
        ..
    } = clinic().await;
    let body = json!({ "patient": patient, "doctor": doctor, "reason": "Chest pain" });

    // Act
    let response = app.post("/api/mappings/", &staff.access, &body).await;

    // Assert
    let location = header(&response, "location");
    let body = created(response).await;
    assert_fields(
        &body,
        &json!({
            "patient": patient, "doctor": doctor, "reason": "Chest pain", "notes": null, "status": "ACTIVE",
            "created_by": staff.id, "patient_details": { "id": patient, "name": "Ada Lovelace" },
        }),
    );
    assert_fields(
        &body["doctor_details"],
        &json!({
            "id": doctor, "first_name": "Greg", "name": "Greg House", "specialization": "Cardiology",
        }),
    );
    assert!(
        body["doctor_details"].get("experience_years").is_some(),
        "the full doctor object"
    );
    assert_timestamp(&body["created_at"]);
    assert_timestamp(&body["updated_at"]);
    let path = location.trim_start_matches(&app.base).to_owned();
    assert!(path.starts_with("/api/mappings/"), "Location {location:?}");
    let fetched = json_with(app.get(&path, &staff.access).await, 200).await;
    assert_eq!(fetched, body, "Location {location} names the new mapping");
}

#[rocket::async_test]
async fn patient_id_and_doctor_id_are_accepted_and_server_owned_fields_ignored() {
    // Arrange
    let Clinic {
        app, admin, doctor, ..
    } = clinic().await;
    let user = app.account(&admin, "user", "user@clinic.test").await;
    let own = id(&app.create_patient(&user.access, &patient_body("Own")).await);
    let body = json!({ "patient_id": own, "doctor_id": doctor, "id": 4242,
        "created_by": admin.id, "created_at": "2000-01-01T00:00:00Z" });

    // Act
    let mapping = app.create_mapping(&user.access, &body).await;

    // Assert
    assert_fields(
        &mapping,
        &json!({ "patient": own, "doctor": doctor, "created_by": user.id }),
    );
    assert_ne!(mapping["id"], 4242);
    assert_ne!(mapping["created_at"], "2000-01-01T00:00:00Z");
}

#[rocket::async_test]
async fn a_mapping_with_an_unusable_patient_doctor_or_status_is_rejected_per_field() {
    // Arrange
    let Clinic {
        app,
        admin,
        staff,
        patient,
        doctor,
    } = clinic().await;
    let user = app.account(&admin, "user", "user@clinic.test").await;
    let own = id(&app.create_patient(&user.access, &patient_body("Own")).await);
    let archived_patient = id(&app
        .create_patient(&user.access, &patient_body("Gone"))
        .await);
    assert_eq!(
        app.delete(&format!("/api/patients/{archived_patient}"), &user.access)
            .await
            .status(),
        204
    );
    let archived_doctor = id(&app.create_doctor(&staff.access, &doctor_body("Gone")).await);
    assert_eq!(
        app.delete(&format!("/api/doctors/{archived_doctor}"), &staff.access)
            .await
            .status(),
        204
    );
    let cases: [(Value, &[&str]); 8] = [
        (json!({ "patient": 99999, "doctor": doctor }), &["patient"]),
        (
            json!({ "patient": archived_patient, "doctor": doctor }),
            &["patient"],
        ),
        (
            json!({ "patient": patient, "doctor": doctor }),
            &["patient"],
        ),
        (json!({ "doctor": doctor }), &["patient"]),
        (json!({ "patient": own, "doctor": 99999 }), &["doctor"]),
        (
            json!({ "patient_id": own, "doctor_id": archived_doctor }),
            &["doctor"],
        ),
        (
            json!({ "patient": 99999, "doctor": 99999 }),
            &["patient", "doctor"],
        ),
        (
            json!({ "patient": own, "doctor": doctor, "status": "DONE" }),
            &["status"],
        ),
    ];

    for (body, fields) in cases {
        // Act: as a user, for whom the staff's patient is invisible
        let response = app.post("/api/mappings/", &user.access, &body).await;

        // Assert
        let error = assert_exact_field_errors(response, fields).await;
        assert!(
            !error.to_string().contains("Ada Lovelace"),
            "no leak: {error}"
        );
    }
    assert_eq!(
        list_ids(&app, "/api/mappings/", &staff.access).await,
        Vec::<i64>::new()
    );
}

#[rocket::async_test]
async fn a_pair_may_have_only_one_active_mapping_at_a_time() {
    // Arrange
    let Clinic {
        app,
        staff,
        patient,
        doctor,
        ..
    } = clinic().await;
    let staff = staff.access.as_str();
    let pair = |status: &str| json!({ "patient": patient, "doctor": doctor, "status": status });
    let first = id(&app.create_mapping(staff, &pair("ACTIVE")).await);

    // Act
    let second = app
        .post(
            "/api/mappings/",
            staff,
            &json!({ "patient_id": patient, "doctor_id": doctor }),
        )
        .await;
    let inactive = id(&app.create_mapping(staff, &pair("INACTIVE")).await);
    let completed = app.post("/api/mappings/", staff, &pair("COMPLETED")).await;
    let reactivated = app
        .patch(
            &format!("/api/mappings/{inactive}/"),
            staff,
            &json!({ "status": "ACTIVE" }),
        )
        .await;

    // Assert
    assert_error(second, 409, "duplicate").await;
    created(completed).await;
    assert_error(reactivated, 409, "duplicate").await;
    assert_eq!(status_of(&app, staff, inactive).await, "INACTIVE");
    let done = app
        .patch(
            &format!("/api/mappings/{first}"),
            staff,
            &json!({ "status": "COMPLETED" }),
        )
        .await;
    assert_eq!(json_with(done, 200).await["status"], "COMPLETED");
    let fresh = app.create_mapping(staff, &pair("ACTIVE")).await;
    assert_eq!(
        fresh["status"], "ACTIVE",
        "a new ACTIVE mapping once the old one ended"
    );
}

#[rocket::async_test]
async fn mapping_lists_show_only_what_the_caller_may_see_and_filter() {
    // Arrange
    let Clinic {
        app,
        admin,
        staff,
        patient,
        doctor,
    } = clinic().await;
    let user = app.account(&admin, "user", "user@clinic.test").await;
    let own = id(&app
        .create_patient(&user.access, &patient_body("Ownpatient"))
        .await);
    let other_doctor = id(&app.create_doctor(&staff.access, &doctor_body("Lisa")).await);
    let m1 = id(&app
        .create_mapping(
            &staff.access,
            &json!({ "patient": patient, "doctor": doctor }),
        )
        .await);
    let m2 = id(&app
        .create_mapping(&user.access, &json!({ "patient": own, "doctor": doctor }))
        .await);
    let body = json!({ "patient": own, "doctor": other_doctor, "status": "COMPLETED" });
    let m3 = id(&app.create_mapping(&user.access, &body).await);
    let cases: [(String, &[i64]); 6] = [
        (String::new(), &[m1, m2, m3]),
        (format!("patient_id={own}"), &[m2, m3]),
        (format!("doctor_id={doctor}"), &[m1, m2]),
        ("status=COMPLETED".to_owned(), &[m3]),
        (format!("patient_id={own}&status=ACTIVE"), &[m2]),
        (
            format!("patient_id={patient}&doctor_id={other_doctor}"),
            &[],
        ),
    ];

    // Act
    let response = app.get("/api/mappings", &user.access).await;

    // Assert
    let list = json_with(response, 200).await;
    assert_eq!(
        ids(&list),
        [m2, m3],
        "a user sees their own patients' mappings only"
    );
    assert!(
        !list.to_string().contains("Ada Lovelace"),
        "no staff patient in: {list}"
    );
    for (query, expected) in cases {
        let found = list_ids(&app, &format!("/api/mappings/?{query}"), &staff.access).await;
        assert_eq!(found, expected, "{query}");
    }
}

#[rocket::async_test]
async fn the_mappings_of_one_patient_come_with_doctor_details() {
    // Arrange
    let Clinic {
        app,
        staff,
        patient,
        doctor,
        ..
    } = clinic().await;
    let staff = staff.access.as_str();
    let wilson = id(&app.create_doctor(staff, &doctor_body("Lisa")).await);
    let first = id(&app
        .create_mapping(staff, &json!({ "patient": patient, "doctor": doctor }))
        .await);
    let second = id(&app
        .create_mapping(staff, &json!({ "patient": patient, "doctor": wilson }))
        .await);
    let other = id(&app.create_patient(staff, &patient_body("Other")).await);
    app.create_mapping(staff, &json!({ "patient": other, "doctor": doctor }))
        .await;

    // Act
    let response = app.get(&format!("/api/mappings/{patient}"), staff).await;

    // Assert
    let list = json_with(response, 200).await;
    assert_eq!(ids(&list), [first, second], "only this patient's mappings");
    for (mapping, doctor_id, name) in [(&list[0], doctor, "Greg"), (&list[1], wilson, "Lisa")] {
        assert_eq!(mapping["patient"], patient);
        assert_fields(
            &mapping["doctor_details"],
            &json!({ "id": doctor_id, "first_name": name, "specialization": "Cardiology" }),
        );
    }
    let slash = json_with(
        app.get(&format!("/api/mappings/{patient}/"), staff).await,
        200,
    )
    .await;
    assert_eq!(slash, list);
}

#[rocket::async_test]
async fn the_mappings_of_an_invisible_or_archived_patient_are_not_found() {
    // Arrange
    let Clinic {
        app,
        admin,
        staff,
        patient,
        doctor,
    } = clinic().await;
    let user = app.account(&admin, "user", "user@clinic.test").await;
    let mapping = id(&app
        .create_mapping(
            &staff.access,
            &json!({ "patient": patient, "doctor": doctor }),
        )
        .await);
    let gone = id(&app
        .create_patient(&staff.access, &patient_body("Gonepatient"))
        .await);
    app.create_mapping(&staff.access, &json!({ "patient": gone, "doctor": doctor }))
        .await;
    assert_eq!(
        app.delete(&format!("/api/patients/{gone}/"), &staff.access)
            .await
            .status(),
        204
    );

    // Act
    let others = app
        .get(&format!("/api/mappings/{patient}/"), &user.access)
        .await;
    let archived = app
        .get(&format!("/api/mappings/{gone}/"), &staff.access)
        .await;
    let unknown = app.get("/api/mappings/99999/", &staff.access).await;

    // Assert
    let body = assert_error(others, 404, "not_found").await;
    assert!(!body.to_string().contains("Ada Lovelace"), "{body}");
    assert_error(archived, 404, "not_found").await;
    assert_error(unknown, 404, "not_found").await;
    assert_eq!(
        list_ids(&app, "/api/mappings/", &staff.access).await,
        [mapping],
        "archived patient's mapping hidden"
    );
}

#[rocket::async_test]
async fn a_mapping_is_updated_by_its_own_id_with_patch_and_put() {
    // Arrange
    let Clinic {
        app,
        admin,
        staff,
        patient,
        doctor,
    } = clinic().await;
    let body =
        json!({ "patient": patient, "doctor": doctor, "reason": "Chest pain", "notes": "Urgent" });
    let mapping = app.create_mapping(&staff.access, &body).await;
    let (path, staff) = (
        format!("/api/mappings/{}/", id(&mapping)),
        staff.access.as_str(),
    );

    // Act
    let patched = app
        .patch(
            &path,
            staff,
            &json!({ "status": "COMPLETED", "notes": "  Discharged ", "reason": " " }),
        )
        .await;
    let put = app
        .put(
            path.trim_end_matches('/'),
            staff,
            &json!({ "status": "INACTIVE", "reason": "Follow-up" }),
        )
        .await;
    let forged = app
        .patch(&path, staff, &json!({ "id": 4242, "created_by": admin.id }))
        .await;
    let bad = app.patch(&path, staff, &json!({ "status": "DONE" })).await;
    let unknown = app
        .patch(
            "/api/mappings/99999/",
            staff,
            &json!({ "status": "COMPLETED" }),
        )
        .await;

    // Assert
    let patched = json_with(patched, 200).await;
    assert_fields(
        &patched,
        &json!({ "id": id(&mapping), "patient": patient, "status": "COMPLETED", "notes": "Discharged", "reason": null }),
    );
    assert_eq!(patched["doctor_details"]["id"], doctor);
    let put = json_with(put, 200).await;
    assert_fields(
        &put,
        &json!({ "id": id(&mapping), "status": "INACTIVE", "reason": "Follow-up" }),
    );
    let forged = json_with(forged, 200).await;
    assert_fields(
        &forged,
        &json!({ "id": id(&mapping), "created_by": mapping["created_by"] }),
    );
    assert_exact_field_errors(bad, &["status"]).await;
    assert_error(unknown, 404, "not_found").await;
    assert_eq!(status_of(&app, staff, id(&mapping)).await, "INACTIVE");
}

#[rocket::async_test]
async fn deleting_a_mapping_by_its_id_removes_only_that_mapping() {
    // Arrange
    let Clinic {
        app,
        staff,
        patient,
        doctor,
        ..
    } = clinic().await;
    let staff = staff.access.as_str();
    let mapping = id(&app
        .create_mapping(staff, &json!({ "patient": patient, "doctor": doctor }))
        .await);

    // Act
    let deleted = app
        .delete(&format!("/api/mappings/{mapping}/"), staff)
        .await;

    // Assert
    assert_eq!(deleted.status(), 204);
    assert_error(
        app.get(&format!("/api/mappings/detail/{mapping}/"), staff)
            .await,
        404,
        "not_found",
    )
    .await;
    assert_error(
        app.delete(&format!("/api/mappings/{mapping}"), staff).await,
        404,
        "not_found",
    )
    .await;
    assert_eq!(
        list_ids(&app, &format!("/api/mappings/{patient}/"), staff).await,
        Vec::<i64>::new()
    );
    assert_eq!(
        list_ids(&app, "/api/patients/", staff).await.len(),
        3,
        "the patient stays"
    );
    assert_eq!(
        list_ids(&app, "/api/doctors/", staff).await,
        [doctor],
        "the doctor stays"
    );
}

#[rocket::async_test]
async fn the_compatibility_detail_and_delete_paths_act_on_the_mapping_id() {
    // Arrange
    let Clinic {
        app,
        staff,
        patient,
        doctor,
        ..
    } = clinic().await;
    let staff = staff.access.as_str();
    let wilson = id(&app.create_doctor(staff, &doctor_body("Lisa")).await);
    let first = id(&app
        .create_mapping(staff, &json!({ "patient": patient, "doctor": doctor }))
        .await);
    let second = id(&app
        .create_mapping(staff, &json!({ "patient": patient, "doctor": wilson }))
        .await);
    let detail = format!("/api/mappings/detail/{first}/");

    // Act
    let read = app.get(&detail, staff).await;
    let patched = app.patch(&detail, staff, &json!({ "notes": "Seen" })).await;
    let put = app
        .put(
            detail.trim_end_matches('/'),
            staff,
            &json!({ "status": "COMPLETED" }),
        )
        .await;
    let deleted = app.delete(&detail, staff).await;
    let deleted_compat = app
        .delete(&format!("/api/mappings/delete/{second}"), staff)
        .await;

    // Assert
    let read = json_with(read, 200).await;
    assert_fields(
        &read,
        &json!({ "id": first, "patient": patient, "doctor": doctor, "status": "ACTIVE" }),
    );
    assert_eq!(read["doctor_details"]["id"], doctor);
    assert_eq!(read["patient_details"]["id"], patient);
    assert_fields(
        &json_with(patched, 200).await,
        &json!({ "id": first, "notes": "Seen" }),
    );
    assert_fields(
        &json_with(put, 200).await,
        &json!({ "id": first, "status": "COMPLETED" }),
    );
    assert_eq!(deleted.status(), 204);
    assert_eq!(deleted_compat.status(), 204);
    for gone in [first, second] {
        assert_error(
            app.get(&format!("/api/mappings/detail/{gone}"), staff)
                .await,
            404,
            "not_found",
        )
        .await;
    }
    let again = app
        .delete(&format!("/api/mappings/delete/{second}/"), staff)
        .await;
    assert_error(again, 404, "not_found").await;
}

#[rocket::async_test]
async fn a_user_touches_only_the_mappings_of_their_own_patients() {
    // Arrange
    let Clinic {
        app,
        admin,
        staff,
        patient,
        doctor,
    } = clinic().await;
    let user = app.account(&admin, "user", "user@clinic.test").await;
    let theirs = id(&app
        .create_mapping(
            &staff.access,
            &json!({ "patient": patient, "doctor": doctor }),
        )
        .await);
    let own_patient = id(&app.create_patient(&user.access, &patient_body("Own")).await);
    let own = id(&app
        .create_mapping(
            &user.access,
            &json!({ "patient": own_patient, "doctor": doctor }),
        )
        .await);
    let user = user.access.as_str();
    let (by_id, detail) = (
        format!("/api/mappings/{theirs}/"),
        format!("/api/mappings/detail/{theirs}/"),
    );
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
        let body = assert_error(response, 404, "not_found").await;
        assert!(
            !body.to_string().contains("Ada Lovelace"),
            "404 leaks: {body}"
        );
    }
    assert_eq!(
        status_of(&app, &staff.access, theirs).await,
        "ACTIVE",
        "untouched and not deleted"
    );
    let patched = app
        .patch(&format!("/api/mappings/{own}/"), user, &change)
        .await;
    assert_eq!(json_with(patched, 200).await["status"], "COMPLETED");
    assert_eq!(
        app.delete(&format!("/api/mappings/{own}/"), user)
            .await
            .status(),
        204
    );
}

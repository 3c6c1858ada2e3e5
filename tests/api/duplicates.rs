//! Duplicate patients (contract part 2): the check before saving, a saved
//! patient's candidates, the clinic-wide pairs, merge and "not the same
//! person", against the real server. The scoring's table of same and
//! different people is in `src/patients/matching.rs`.

use rocket::futures::future::join_all;
use serde_json::{json, Value};

use crate::helpers::{
    add_mapping, assert_error, assert_field_errors, assert_not_found, doctor, encode, id, ids,
    json_with, ok, spawn_clinic, Account, TestApp,
};

fn person(first: &str, last: &str, birth: &str) -> Value {
    json!({ "first_name": first, "last_name": last, "date_of_birth": birth })
}

async fn check(app: &TestApp, token: &str, query: &[(&str, &str)]) -> Value {
    let query: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    let path = format!("/api/patients/duplicate-check/?{}", query.join("&"));
    ok(app.get(&path, token).await).await
}

fn candidate_ids(answer: &Value) -> Vec<i64> {
    answer
        .as_array()
        .expect("a list")
        .iter()
        .map(|c| id(&c["patient"]))
        .collect()
}

fn reasons(candidate: &Value) -> Vec<&str> {
    candidate["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .map(|r| r.as_str().expect("words"))
        .collect()
}

async fn pairs(app: &TestApp, token: &str) -> Vec<(i64, i64)> {
    let list = ok(app.get("/api/patients/duplicates/", token).await).await;
    list.as_array()
        .expect("a list")
        .iter()
        .map(|p| (id(&p["a"]), id(&p["b"])))
        .collect()
}

#[rocket::async_test]
async fn a_sound_alike_name_with_the_same_birth_date_is_found_before_saving_and_unrelated_people_are_not(
) {
    let (app, _admin, staff) = spawn_clinic().await;
    let katharina = id(&app
        .create_patient(&staff.access, &person("Katharina", "Schmidt", "1984-07-12"))
        .await);
    let unrelated = id(&app
        .create_patient(&staff.access, &person("John", "Doe", "1984-07-12"))
        .await);
    app.create_patient(&staff.access, &person("Katharina", "Schmidt", "1950-01-30"))
        .await;

    let found = check(
        &app,
        &staff.access,
        &[
            ("first_name", "Katarina"),
            ("last_name", "Schmitt"),
            ("date_of_birth", "1984-07-12"),
        ],
    )
    .await;

    assert_eq!(candidate_ids(&found), [katharina], "{found}");
    let best = &found[0];
    assert!(best["score"].as_i64().expect("score") >= 60);
    assert!(reasons(best).contains(&"same date of birth"), "{best}");
    assert!(reasons(best).contains(&"last name sounds alike"), "{best}");
    assert!(!candidate_ids(&found).contains(&unrelated));

    // A day and month swapped at the desk is found too.
    let swapped = check(
        &app,
        &staff.access,
        &[
            ("first_name", "Katharina"),
            ("last_name", "Schmidt"),
            ("date_of_birth", "1984-12-07"),
        ],
    )
    .await;
    assert_eq!(candidate_ids(&swapped), [katharina], "{swapped}");

    // Too little to match on is an empty answer; a malformed date is a 400.
    assert_eq!(check(&app, &staff.access, &[]).await, json!([]));
    let bad = app
        .get(
            "/api/patients/duplicate-check/?first_name=Ann&date_of_birth=12.07.1984",
            &staff.access,
        )
        .await;
    assert_field_errors(bad, &["date_of_birth"]).await;
}

#[rocket::async_test]
async fn a_created_duplicate_names_its_possible_duplicates_and_both_see_each_other() {
    let (app, _admin, staff) = spawn_clinic().await;
    let first = id(&app
        .create_patient(
            &staff.access,
            &json!({ "name": "Jon Smith", "phone": "+1 555 123 4567" }),
        )
        .await);
    let alone = app
        .create_patient(&staff.access, &person("Ada", "Lovelace", "1985-12-10"))
        .await;
    assert!(alone.get("possible_duplicates").is_none(), "{alone}");

    let second = app
        .create_patient(
            &staff.access,
            &json!({ "name": "John Smith", "phone": "(555) 123-4567" }),
        )
        .await;

    let possible = second["possible_duplicates"]
        .as_array()
        .expect("possible_duplicates");
    assert_eq!(possible.len(), 1, "{second}");
    assert_eq!(possible[0]["id"], first);
    let path = format!("/api/patients/{first}/duplicates/");
    let of_first = ok(app.get(&path, &staff.access).await).await;
    assert_eq!(candidate_ids(&of_first), [id(&second)]);
    assert!(reasons(&of_first[0]).contains(&"same phone number without its area or country code"));
    assert_eq!(
        pairs(&app, &staff.access).await,
        [(first, id(&second))],
        "the clinic-wide list has the pair"
    );
}

#[rocket::async_test]
async fn the_clinic_wide_list_holds_every_pair_of_records_written_at_once_and_follows_a_change() {
    let (app, _admin, staff) = spawn_clinic().await;
    // Eight records of one person, sent together: the writer takes them in
    // one or a few batches, and their pairs are scored after the writes.
    let sent = (0..8).map(|_| {
        let (app, token) = (&app, &staff.access);
        async move {
            id(&app
                .create_patient(token, &person("Katharina", "Schmidt", "1984-07-12"))
                .await)
        }
    });
    let mut created = join_all(sent).await;
    created.sort_unstable();
    let mut every_pair = Vec::new();
    for (i, low) in created.iter().enumerate() {
        for high in &created[i + 1..] {
            every_pair.push((*low, *high));
        }
    }

    let mut listed = pairs(&app, &staff.access).await;
    listed.sort_unstable();
    assert_eq!(
        listed, every_pair,
        "all 28 pairs, read straight after the writes"
    );

    // One of them is corrected to someone else: its pairs leave the list.
    let changed = created[3];
    let path = format!("/api/patients/{changed}/");
    let body = person("Mehmet", "Yilmaz", "1950-03-01");
    ok(app.patch(&path, &staff.access, &body).await).await;
    let listed = pairs(&app, &staff.access).await;
    assert_eq!(listed.len(), 21, "{listed:?}");
    assert!(
        listed.iter().all(|(a, b)| *a != changed && *b != changed),
        "{listed:?}"
    );
}

#[rocket::async_test]
async fn a_users_duplicate_answers_hold_only_their_own_patients() {
    let (app, admin, staff) = spawn_clinic().await;
    let user = app.account(&admin, "user", "user@clinic.test").await;
    let other = app.account(&admin, "user", "other@clinic.test").await;
    let staffs = id(&app
        .create_patient(&staff.access, &person("Katharina", "Schmidt", "1984-07-12"))
        .await);
    let others = id(&app
        .create_patient(&other.access, &person("Katharina", "Schmitt", "1984-07-12"))
        .await);

    let mine = app
        .create_patient(&user.access, &person("Katarina", "Schmidt", "1984-07-12"))
        .await;

    assert!(
        mine.get("possible_duplicates").is_none(),
        "nobody else's patient is named: {mine}"
    );
    let query = [
        ("first_name", "Katharina"),
        ("last_name", "Schmidt"),
        ("date_of_birth", "1984-07-12"),
    ];
    assert_eq!(
        candidate_ids(&check(&app, &user.access, &query).await),
        [id(&mine)]
    );
    let path = format!("/api/patients/{}/duplicates/", id(&mine));
    assert_eq!(ok(app.get(&path, &user.access).await).await, json!([]));
    // Someone else's patient is not found, through every duplicate route.
    let theirs = format!("/api/patients/{others}/duplicates/");
    assert_not_found(app.get(&theirs, &user.access).await).await;
    let body = json!({ "other": staffs });
    let path = format!("/api/patients/{}/not-duplicate/", id(&mine));
    assert_not_found(app.post(&path, &user.access, &body).await).await;
    // The clinic-wide list and merging are for staff and admins.
    let list = app.get("/api/patients/duplicates/", &user.access).await;
    assert_error(list, 403, "permission_denied").await;
    let merge = format!("/api/patients/{}/merge/", id(&mine));
    let refused = app
        .post(&merge, &user.access, &json!({ "duplicate": id(&mine) + 1 }))
        .await;
    assert_error(refused, 403, "permission_denied").await;
    // Staff see all three.
    let staff_view = check(&app, &staff.access, &query).await;
    let mut seen = candidate_ids(&staff_view);
    seen.sort_unstable();
    assert_eq!(seen, [staffs, others, id(&mine)]);
}

/// A doctor who works every day, all day.
async fn always_open(app: &TestApp, staff: &Account, name: &str) -> i64 {
    let d = id(&app.create_doctor(&staff.access, &doctor(name)).await);
    let week: Vec<Value> = (1..=7)
        .map(|weekday| json!({ "weekday": weekday, "start": "00:00", "end": "23:59" }))
        .collect();
    let path = format!("/api/doctors/{d}/hours/");
    ok(app.put(&path, &staff.access, &Value::Array(week)).await).await;
    d
}

/// Katharina (phone) and Katarina (email, a mapping, an appointment).
async fn two_records(app: &TestApp, staff: &Account) -> (i64, i64, i64, i64) {
    let keep = id(&app
        .create_patient(
            &staff.access,
            &json!({ "first_name": "Katharina", "last_name": "Schmidt",
                     "date_of_birth": "1984-07-12", "phone": "030 1234567", "city": "Berlin" }),
        )
        .await);
    let other = id(&app
        .create_patient(
            &staff.access,
            &json!({ "first_name": "Katarina", "last_name": "Schmitt",
                     "date_of_birth": "1984-07-12", "email": "k.schmitt@example.org",
                     "city": "Potsdam", "allergies": "penicillin" }),
        )
        .await);
    let greg = always_open(app, staff, "Greg").await;
    let mapping = add_mapping(app, &staff.access, other, greg).await;
    let body = json!({ "patient": other, "doctor": greg, "start": "2038-06-07T09:00",
                       "end": "2038-06-07T09:30" });
    let booked = json_with(
        app.post("/api/appointments/", &staff.access, &body).await,
        201,
    )
    .await;
    (keep, other, mapping, id(&booked))
}

#[rocket::async_test]
async fn a_merge_moves_every_mapping_and_appointment_fills_empty_fields_archives_the_other_and_is_audited(
) {
    let (app, admin, staff) = spawn_clinic().await;
    let (keep, other, mapping, appointment) = two_records(&app, &staff).await;

    let path = format!("/api/patients/{keep}/merge/");
    let merged = ok(app
        .post(&path, &staff.access, &json!({ "duplicate": other }))
        .await)
    .await;

    assert_eq!(merged["id"], keep);
    assert_eq!(
        merged["first_name"], "Katharina",
        "the survivor's name is kept"
    );
    assert_eq!(
        merged["email"], "k.schmitt@example.org",
        "empty fields filled"
    );
    assert_eq!(merged["allergies"], "penicillin");
    assert_eq!(merged["phone"], "030 1234567");
    let conflicts = merged["merge_conflicts"].as_array().expect("conflicts");
    let fields: Vec<&str> = conflicts
        .iter()
        .map(|c| c["field"].as_str().expect("field"))
        .collect();
    assert_eq!(fields, ["first_name", "last_name", "city"], "{merged}");
    assert_eq!(conflicts[2]["kept"], "Berlin");
    assert_eq!(conflicts[2]["other"], "Potsdam");
    // The other record is archived, pointing at the survivor.
    assert_not_found(
        app.get(&format!("/api/patients/{other}/"), &staff.access)
            .await,
    )
    .await;
    let archived = ok(app.get("/api/patients/?archived=true", &admin.access).await).await;
    let gone = archived
        .as_array()
        .expect("list")
        .iter()
        .find(|p| p["id"] == other)
        .expect("the merged record is in the archive");
    assert_eq!(gone["merged_into"], keep);
    // Its mapping and appointment belong to the survivor now.
    let survivors = ok(app
        .get(&format!("/api/mappings/{keep}/"), &staff.access)
        .await)
    .await;
    assert_eq!(ids(&survivors), [mapping], "{survivors}");
    let visit = ok(app
        .get(&format!("/api/appointments/{appointment}/"), &staff.access)
        .await)
    .await;
    assert_eq!(visit["patient"], keep, "{visit}");
    // One audit event names both, and each record's history shows it.
    for record in [keep, other] {
        let trail = ok(app
            .get(
                &format!("/api/audit/?entity=patient&entity_id={record}&action=merge"),
                &admin.access,
            )
            .await)
        .await;
        let events = trail.as_array().expect("events");
        assert_eq!(events.len(), 1, "{trail}");
        assert_eq!(events[0]["entity_id"], keep);
        assert_eq!(events[0]["related_id"], other);
        assert_eq!(events[0]["actor_id"], staff.id);
    }
    assert!(pairs(&app, &staff.access).await.is_empty());
    // Restored, the merged record is a patient of its own again.
    let restored = ok(app
        .post(
            &format!("/api/patients/{other}/restore/"),
            &admin.access,
            &json!({}),
        )
        .await)
    .await;
    assert!(restored["merged_into"].is_null(), "{restored}");
}

#[rocket::async_test]
async fn merging_a_record_with_itself_or_with_an_archived_one_is_a_409_and_changes_nothing() {
    let (app, admin, staff) = spawn_clinic().await;
    let (keep, other, _, _) = two_records(&app, &staff).await;
    let path = format!("/api/patients/{keep}/merge/");

    let itself = app
        .post(&path, &staff.access, &json!({ "duplicate": keep }))
        .await;
    assert_error(itself, 409, "cannot_merge").await;
    let missing = app
        .post(&path, &staff.access, &json!({ "duplicate": 99_999 }))
        .await;
    assert_not_found(missing).await;
    let bad = app
        .post(&path, &staff.access, &json!({ "duplicate": "x" }))
        .await;
    assert_field_errors(bad, &["duplicate"]).await;
    let archived = id(&app
        .create_patient(&staff.access, &person("Katharina", "Schmidt", "1984-07-12"))
        .await);
    let archive = app
        .delete(&format!("/api/patients/{archived}/"), &staff.access)
        .await;
    assert_eq!(archive.status(), 204);
    let with_archived = app
        .post(&path, &staff.access, &json!({ "duplicate": archived }))
        .await;
    assert_error(with_archived, 409, "cannot_merge").await;
    let into_archived = app
        .post(
            &format!("/api/patients/{archived}/merge/"),
            &admin.access,
            &json!({ "duplicate": keep }),
        )
        .await;
    assert_error(into_archived, 409, "cannot_merge").await;

    let still = ok(app
        .get(&format!("/api/patients/{other}/"), &staff.access)
        .await)
    .await;
    assert!(still["merged_into"].is_null());
    assert_eq!(still["email"], "k.schmitt@example.org");
    let kept = ok(app
        .get(&format!("/api/patients/{keep}/"), &staff.access)
        .await)
    .await;
    assert!(kept["email"].is_null(), "nothing was filled: {kept}");
}

#[rocket::async_test]
async fn a_merge_whose_appointments_would_overlap_is_refused_whole() {
    let (app, _admin, staff) = spawn_clinic().await;
    let (keep, other, mapping, _) = two_records(&app, &staff).await;
    let gail = always_open(&app, &staff, "Gail").await;
    let body = json!({ "patient": keep, "doctor": gail, "start": "2038-06-07T09:15",
                       "end": "2038-06-07T09:45", "override": true });
    json_with(
        app.post("/api/appointments/", &staff.access, &body).await,
        201,
    )
    .await;

    let path = format!("/api/patients/{keep}/merge/");
    let refused = app
        .post(&path, &staff.access, &json!({ "duplicate": other }))
        .await;

    assert_error(refused, 409, "slot_taken").await;
    let others = ok(app
        .get(&format!("/api/mappings/{other}/"), &staff.access)
        .await)
    .await;
    assert_eq!(ids(&others), [mapping], "nothing moved");
    ok(app
        .get(&format!("/api/patients/{other}/"), &staff.access)
        .await)
    .await;
}

#[rocket::async_test]
async fn of_two_merges_of_one_pair_at_once_in_both_directions_exactly_one_happens() {
    let (app, _admin, staff) = spawn_clinic().await;
    let (a, b, _, _) = two_records(&app, &staff).await;

    let attempts = [(a, b), (b, a), (a, b), (b, a)].map(|(into, from)| {
        let (app, token) = (&app, &staff.access);
        async move {
            let path = format!("/api/patients/{into}/merge/");
            let body = json!({ "duplicate": from });
            app.post(&path, token, &body).await.status().as_u16()
        }
    });
    let statuses = join_all(attempts).await;

    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [200, 409].contains(s)),
        "{statuses:?}"
    );
    let live = ids(&ok(app.get("/api/patients/", &staff.access).await).await);
    assert_eq!(
        live.iter().filter(|p| [a, b].contains(p)).count(),
        1,
        "one record is left: {live:?}"
    );
}

#[rocket::async_test]
async fn not_the_same_person_is_never_suggested_again() {
    let (app, admin, staff) = spawn_clinic().await;
    let a = id(&app
        .create_patient(&staff.access, &person("Katharina", "Schmidt", "1984-07-12"))
        .await);
    let b = id(&app
        .create_patient(&staff.access, &person("Katarina", "Schmitt", "1984-07-12"))
        .await);
    assert_eq!(pairs(&app, &staff.access).await, [(a, b)]);

    let path = format!("/api/patients/{b}/not-duplicate/");
    let marked = app.post(&path, &staff.access, &json!({ "other": a })).await;
    assert_eq!(marked.status(), 204);

    assert!(pairs(&app, &staff.access).await.is_empty());
    let of_a = format!("/api/patients/{a}/duplicates/");
    assert_eq!(ok(app.get(&of_a, &staff.access).await).await, json!([]));
    // An edit re-scores the pair, and it stays apart.
    let edit = json!({ "phone": "030 1234567" });
    ok(app
        .patch(&format!("/api/patients/{a}/"), &staff.access, &edit)
        .await)
    .await;
    assert!(pairs(&app, &staff.access).await.is_empty());
    let trail = ok(app
        .get("/api/audit/?action=not_duplicate", &admin.access)
        .await)
    .await;
    assert_eq!(trail[0]["entity_id"], b);
    assert_eq!(trail[0]["related_id"], a);
    // Itself, or no other, is a 400.
    let itself = app.post(&path, &staff.access, &json!({ "other": b })).await;
    assert_field_errors(itself, &["other"]).await;
    let none = app.post(&path, &staff.access, &json!({})).await;
    assert_field_errors(none, &["other"]).await;
}

#[rocket::async_test]
async fn the_threshold_is_a_setting_that_changes_what_is_suggested() {
    let (app, admin, staff) = spawn_clinic().await;
    let a = id(&app
        .create_patient(&staff.access, &person("Katharina", "Schmidt", "1984-07-12"))
        .await);
    let b = id(&app
        .create_patient(&staff.access, &person("Katarina", "Schmitt", "1984-07-12"))
        .await);
    let settings = ok(app.get("/api/settings/", &admin.access).await).await;
    assert_eq!(settings["duplicate_threshold"], 60);

    let strict = json!({ "duplicate_threshold": 95 });
    ok(app.patch("/api/settings/", &admin.access, &strict).await).await;
    assert!(pairs(&app, &staff.access).await.is_empty());
    let loose = json!({ "duplicate_threshold": 40 });
    ok(app.patch("/api/settings/", &admin.access, &loose).await).await;
    assert_eq!(pairs(&app, &staff.access).await, [(a, b)]);
    let out_of_range = json!({ "duplicate_threshold": 10 });
    let refused = app
        .patch("/api/settings/", &admin.access, &out_of_range)
        .await;
    assert_field_errors(refused, &["duplicate_threshold"]).await;
}

//! Doctors' weekly hours, time off and free slots (contract part 2), against
//! the real server, in the clinic zone `Europe/Berlin`: the week as a whole,
//! slots never in the past, and wall-clock hours across a DST change.

use serde_json::json;

use crate::appointments::{book, clinic, doctor_with};
use crate::helpers::{assert_field_errors, created, id, ok};

#[rocket::async_test]
async fn hours_time_off_and_slots() {
    let (app, _admin, staff, _d, p) = clinic().await;
    // Mondays 09:00–10:00 and 11:00–12:00 (a break between), 20-minute visits.
    let hours = json!([
        { "weekday": 1, "start": "09:00", "end": "10:00" },
        { "weekday": 1, "start": "11:00", "end": "12:00" },
    ]);
    let d = doctor_with(&app, &staff.access, "Mon", &hours).await;
    let path = format!("/api/doctors/{d}/");
    ok(app
        .patch(&path, &staff.access, &json!({ "appointment_minutes": 20 }))
        .await)
    .await;
    let week = ok(app
        .get(&format!("/api/doctors/{d}/hours/"), &staff.access)
        .await)
    .await;
    assert_eq!(week, hours);

    // Outside the hours, across the break, on a Tuesday: 400 on start.
    for start in ["2038-06-07T08:40", "2038-06-07T09:50", "2038-06-08T09:00"] {
        let body = json!({ "patient": p, "doctor": d, "start": start });
        assert_field_errors(book(&app, &staff.access, &body).await, &["start"]).await;
    }
    // A booking and a time off take slots away.
    let body = json!({ "patient": p, "doctor": d, "start": "2038-06-07T09:20" });
    created(book(&app, &staff.access, &body).await).await;
    let off = json!({ "start": "2038-06-07T11:20", "end": "2038-06-07T12:00", "reason": "Course" });
    let off = created(
        app.post(&format!("/api/doctors/{d}/time-off/"), &staff.access, &off)
            .await,
    )
    .await;
    assert_eq!(off["start"], "2038-06-07T11:20:00+02:00");
    let inside = json!({ "patient": p, "doctor": d, "start": "2038-06-07T11:20" });
    let refused = assert_field_errors(book(&app, &staff.access, &inside).await, &["start"]).await;
    assert!(
        refused["errors"]["start"][0]
            .as_str()
            .is_some_and(|m| m.contains("time off")),
        "{refused}"
    );

    let slots = ok(app
        .get(
            &format!("/api/doctors/{d}/slots/?date=2038-06-07"),
            &staff.access,
        )
        .await)
    .await;
    let starts: Vec<&str> = slots
        .as_array()
        .expect("list")
        .iter()
        .map(|s| s["start"].as_str().expect("start"))
        .collect();
    assert_eq!(
        starts,
        [
            "2038-06-07T09:00:00+02:00",
            "2038-06-07T09:40:00+02:00",
            "2038-06-07T11:00:00+02:00"
        ]
    );
    // A week of slots: only Mondays have any.
    let week = ok(app
        .get(
            &format!("/api/doctors/{d}/slots/?date=2038-06-07&days=7&duration=30"),
            &staff.access,
        )
        .await)
    .await;
    assert!(
        week.as_array().expect("list").iter().all(|s| s["start"]
            .as_str()
            .is_some_and(|t| t.starts_with("2038-06-07"))),
        "{week}"
    );

    // Removing the time off gives its slots back.
    let removed = app
        .delete(
            &format!("/api/doctors/{d}/time-off/{}/", id(&off)),
            &staff.access,
        )
        .await;
    assert_eq!(removed.status(), 204);
    let slots = ok(app
        .get(
            &format!("/api/doctors/{d}/slots/?date=2038-06-07"),
            &staff.access,
        )
        .await)
    .await;
    assert_eq!(slots.as_array().expect("list").len(), 5);
}

#[rocket::async_test]
async fn a_week_with_overlapping_or_inverted_blocks_is_refused_naming_the_block() {
    let (app, _admin, staff, _d, _p) = clinic().await;
    let hours = json!([{ "weekday": 1, "start": "09:00", "end": "10:00" }]);
    let d = doctor_with(&app, &staff.access, "Mon", &hours).await;

    let bad = json!([
        { "weekday": 2, "start": "09:00", "end": "12:00" },
        { "weekday": 2, "start": "11:00", "end": "13:00" },
        { "weekday": 3, "start": "14:00", "end": "13:00" },
        { "weekday": 9, "start": "25:00", "end": "13:00" },
    ]);
    let body = assert_field_errors(
        app.put(&format!("/api/doctors/{d}/hours/"), &staff.access, &bad)
            .await,
        &["hours[1]", "hours[2]", "hours[3].weekday", "hours[3].start"],
    )
    .await;
    assert!(
        body["errors"]["hours[1]"][0]
            .as_str()
            .is_some_and(|m| m.contains("overlaps hours[0]")),
        "{body}"
    );
    let week = ok(app
        .get(&format!("/api/doctors/{d}/hours/"), &staff.access)
        .await)
    .await;
    assert_eq!(week, hours, "a refused week changes nothing");
}

#[rocket::async_test]
async fn slots_of_today_are_never_in_the_past() {
    let (app, _admin, staff, d, _p) = clinic().await;
    let slots = ok(app
        .get(
            &format!("/api/doctors/{d}/slots/?date=today&days=2&duration=60"),
            &staff.access,
        )
        .await)
    .await;
    let now = rocket::time::OffsetDateTime::now_utc();
    // Today and tomorrow, so the list is never empty (not even just before
    // midnight) and the check below always has slots to judge.
    let slots = slots.as_array().expect("list");
    assert!(
        slots.len() >= 23,
        "tomorrow alone has 23 hours free: {slots:?}"
    );
    for slot in slots {
        let start = rocket::time::OffsetDateTime::parse(
            slot["start"].as_str().expect("start"),
            &rocket::time::format_description::well_known::Rfc3339,
        )
        .expect("RFC 3339");
        assert!(
            start >= now - rocket::time::Duration::minutes(1),
            "{slot} is past"
        );
    }
}

#[rocket::async_test]
async fn a_weekly_nine_oclock_keeps_its_wall_clock_across_the_spring_change_and_the_skipped_hour_is_refused(
) {
    let (app, _admin, staff, _d, p) = clinic().await;
    let mondays = json!([{ "weekday": 1, "start": "09:00", "end": "10:00" }, { "weekday": 7, "start": "01:00", "end": "05:00" }]);
    let d = doctor_with(&app, &staff.access, "Dst", &mondays).await;

    let before = ok(app
        .get(
            &format!("/api/doctors/{d}/slots/?date=2038-03-22&duration=60"),
            &staff.access,
        )
        .await)
    .await;
    let after = ok(app
        .get(
            &format!("/api/doctors/{d}/slots/?date=2038-03-29&duration=60"),
            &staff.access,
        )
        .await)
    .await;
    assert_eq!(before[0]["start"], "2038-03-22T09:00:00+01:00");
    assert_eq!(after[0]["start"], "2038-03-29T09:00:00+02:00");

    let before = created(
        book(
            &app,
            &staff.access,
            &json!({ "patient": p, "doctor": d, "start": "2038-03-22T09:00" }),
        )
        .await,
    )
    .await;
    assert_eq!(before["start"], "2038-03-22T09:00:00+01:00");
    let after = created(
        book(
            &app,
            &staff.access,
            &json!({ "patient": p, "doctor": d, "start": "2038-03-29T09:00" }),
        )
        .await,
    )
    .await;
    assert_eq!(after["start"], "2038-03-29T09:00:00+02:00");

    // 02:30 on 28 March 2038 does not exist in Berlin.
    let skipped = json!({ "patient": p, "doctor": d, "start": "2038-03-28T02:30" });
    let body = assert_field_errors(book(&app, &staff.access, &skipped).await, &["start"]).await;
    assert!(
        body["errors"]["start"][0]
            .as_str()
            .is_some_and(|m| m.contains("does not exist")),
        "{body}"
    );
}

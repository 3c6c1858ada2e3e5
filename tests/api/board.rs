//! The Today board's list of appointments: its filters, and its total
//! whatever the page holds (contract part 2).

use serde_json::json;

use crate::appointments::{always, at, book, clinic, doctor_with};
use crate::helpers::{created, id, ids, json_with, ok, patient};

#[rocket::async_test]
async fn the_board_filters_by_day_doctor_status_and_kind() {
    let (app, _admin, staff, d, p) = clinic().await;
    let other = id(&app.create_patient(&staff.access, &patient("Bea")).await);
    let d2 = doctor_with(&app, &staff.access, "Second", &always()).await;
    let nine = created(
        book(
            &app,
            &staff.access,
            &at(p, d, "2038-06-07T09:00", "2038-06-07T09:30"),
        )
        .await,
    )
    .await;
    let eight = created(
        book(
            &app,
            &staff.access,
            &at(other, d2, "2038-06-07T08:00", "2038-06-07T08:30"),
        )
        .await,
    )
    .await;
    let next_day = created(
        book(
            &app,
            &staff.access,
            &at(p, d, "2038-06-08T00:30", "2038-06-08T01:00"),
        )
        .await,
    )
    .await;
    ok(app
        .post(
            &format!("/api/appointments/{}/status/", id(&eight)),
            &staff.access,
            &json!({ "status": "arrived" }),
        )
        .await)
    .await;

    let list = |query: &str| {
        let path = format!("/api/appointments/?{query}");
        let (app, token) = (&app, staff.access.clone());
        async move { ids(&json_with(app.get(&path, &token).await, 200).await) }
    };
    assert_eq!(
        list("date=2038-06-07").await,
        [id(&eight), id(&nine)],
        "in time order"
    );
    assert_eq!(
        list("date=2038-06-07&ordering=-start").await,
        [id(&nine), id(&eight)]
    );
    assert_eq!(
        list("date=2038-06-08").await,
        [id(&next_day)],
        "00:30 Berlin is still the 8th"
    );
    assert_eq!(
        list(&format!("doctor_id={d}")).await,
        [id(&nine), id(&next_day)]
    );
    assert_eq!(list("status=arrived").await, [id(&eight)]);
    assert_eq!(
        list("status=booked,arrived&date=2038-06-07").await,
        [id(&eight), id(&nine)]
    );
    assert_eq!(
        list("from=2038-06-07T08:30&to=2038-06-08").await,
        [id(&nine), id(&next_day)]
    );
    assert!(list("kind=walk_in").await.is_empty());
    let mine = json_with(
        app.get(&format!("/api/patients/{p}/appointments/"), &staff.access)
            .await,
        200,
    )
    .await;
    assert_eq!(ids(&mine), [id(&nine), id(&next_day)]);
}

#[rocket::async_test]
async fn the_total_is_right_whether_the_page_holds_the_whole_list_or_part_of_it() {
    let (app, admin, staff, d, p) = clinic().await;
    let user = app.account(&admin, "user", "user@clinic.test").await;
    let mine = id(&app.create_patient(&user.access, &patient("Mine")).await);
    for (patient, start, end) in [
        (p, "2038-06-07T09:00", "2038-06-07T09:30"),
        (p, "2038-06-07T10:00", "2038-06-07T10:30"),
        (mine, "2038-06-07T11:00", "2038-06-07T11:30"),
    ] {
        created(book(&app, &staff.access, &at(patient, d, start, end)).await).await;
    }
    for (token, query, expected) in [
        (&staff.access, "page_size=500", "3"),
        (&staff.access, "page_size=1", "3"),
        (&staff.access, "page_size=2&page=2", "3"),
        (&staff.access, "page_size=1&page=9", "3"),
        (&user.access, "page_size=500", "1"),
        (&user.access, "page_size=1&page=2", "1"),
    ] {
        let response = app
            .get(
                &format!("/api/appointments/?date=2038-06-07&{query}"),
                token,
            )
            .await;
        assert_eq!(
            crate::helpers::header(&response, "x-total-count"),
            expected,
            "{query}"
        );
    }
}

//! Patient lists (`GET /api/patients`): search, filters, ordering and
//! pagination.

use serde_json::json;

use crate::helpers::{
    add_patient, assert_exact_field_errors, assert_ordered, encode, header, ids, links, list_ids,
    ok, patient, query_param, spawn_clinic, TestApp,
};

const LIST: &str = "/api/patients/";

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
        p.push(add_patient(&app, &staff.access, &body).await);
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
        let path = format!("/api/patients/?search={}", encode(term));
        let found = list_ids(&app, &path, &staff.access).await;

        // Assert
        assert_eq!(found, expected, "search {term:?}");
    }
}

#[rocket::async_test]
async fn search_forgives_accents_other_scripts_and_how_a_phone_was_punctuated() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let mut p = Vec::new();
    for body in [
        json!({ "first_name": "María", "last_name": "Hernández" }),
        json!({ "first_name": "Dmitrii", "last_name": "Иванов" }),
        json!({ "first_name": "Jürgen", "phone": "5550177" }),
        json!({ "first_name": "Ana", "phone": "+49 (30) 123-4567" }),
    ] {
        p.push(add_patient(&app, &staff.access, &body).await);
    }
    let cases: [(&str, &[i64]); 8] = [
        ("hernan", &[p[0]]),
        ("HERNANDEZ", &[p[0]]),
        ("maria", &[p[0]]),
        ("ivanov", &[p[1]]),
        ("Иван", &[p[1]]),
        ("jurgen", &[p[2]]),
        ("555-0177", &[p[2]]),
        ("30 1234567", &[p[3]]),
    ];

    for (term, expected) in cases {
        // Act
        let path = format!("/api/patients/?search={}", encode(term));
        let found = list_ids(&app, &path, &staff.access).await;

        // Assert
        assert_eq!(found, expected, "search {term:?}");
    }
}

#[rocket::async_test]
async fn search_follows_every_edit_archive_and_restore_of_a_patient() {
    // Arrange
    let (app, admin, staff) = spawn_clinic().await;
    let id = add_patient(&app, &staff.access, &json!({ "name": "Miriam Okafor" })).await;
    add_patient(&app, &staff.access, &json!({ "name": "Okafor Senior" })).await;
    let found = |term: &'static str| {
        let path = format!("{LIST}?search={term}");
        let app = &app;
        let token = staff.access.clone();
        async move { list_ids(app, &path, &token).await }
    };
    assert!(found("miriam").await.contains(&id));

    // Act: rename her
    let renamed = app
        .patch(
            &format!("{LIST}{id}/"),
            &staff.access,
            &json!({ "first_name": "Mira", "phone": "+44 20 7946 0958" }),
        )
        .await;
    ok(renamed).await;

    // Assert: the old name is gone from search, the new name and phone are in
    assert!(found("miriam").await.is_empty());
    assert_eq!(found("mira%20oka").await, [id]);
    assert_eq!(found("2079460958").await, [id]);

    // Act + Assert: archived patients are not found; restored ones are again
    let archived = app.delete(&format!("{LIST}{id}/"), &staff.access).await;
    assert_eq!(archived.status(), 204);
    assert!(found("mira").await.is_empty());
    let archive = format!("{LIST}?archived=true&search=mira%20oka");
    assert_eq!(list_ids(&app, &archive, &admin.access).await, [id]);
    let restored = app
        .post(&format!("{LIST}{id}/restore/"), &admin.access, &json!({}))
        .await;
    ok(restored).await;
    assert_eq!(found("mira").await, [id]);
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
        p.push(add_patient(&app, &staff.access, &body).await);
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
        let found = list_ids(&app, &format!("{LIST}?{query}"), &staff.access).await;

        // Assert
        assert_eq!(found, expected, "filter {query:?}");
    }
    let bad = "/api/patients/?is_active=maybe";
    let bad = app.get(bad, &staff.access).await;
    assert_exact_field_errors(bad, &["is_active"]).await;
}

#[rocket::async_test]
async fn patients_can_be_ordered_by_each_documented_field_and_nothing_else() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let staff = staff.access.as_str();
    let mut p = Vec::new();
    for (first, last, born) in [
        ("Cleo", "Adams", "1990-05-01"),
        ("Abe", "Cole", "1970-01-01"),
        ("Bea", "Baker", "1980-03-03"),
    ] {
        let body = json!({ "first_name": first, "last_name": last, "date_of_birth": born });
        p.push(add_patient(&app, staff, &body).await);
    }
    assert_eq!(
        list_ids(&app, LIST, staff).await,
        p,
        "default: id ascending"
    );
    let by_name = list_ids(&app, "/api/patients/?ordering=first_name", staff).await;
    assert_eq!(by_name, [p[1], p[2], p[0]]);
    let fields = [
        "id",
        "first_name",
        "last_name",
        "date_of_birth",
        "created_at",
        "updated_at",
    ];

    for field in fields {
        for (sign, descending) in [("", false), ("-", true)] {
            // Act
            let path = format!("/api/patients/?ordering={sign}{field}");
            let list = ok(app.get(&path, staff).await).await;

            // Assert
            assert_eq!(list.as_array().unwrap().len(), 3);
            assert_ordered(&list, field, descending);
        }
    }
    for bad in ["bogus", "-bogus", "email", "phone", "first_name;drop"] {
        let path = format!("/api/patients/?ordering={}", encode(bad));
        assert_exact_field_errors(app.get(&path, staff).await, &["ordering"]).await;
    }
}

#[rocket::async_test]
async fn patient_lists_are_paginated_with_a_total_count_and_link_header() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let staff = staff.access.as_str();
    let mut p = Vec::new();
    for n in 1..=5 {
        p.push(add_patient(&app, staff, &patient(&format!("Page{n}"))).await);
    }

    // Act
    let middle = "/api/patients/?search=page&page=2&page_size=2";
    let middle = app.get(middle, staff).await;
    let first = app.get("/api/patients?page_size=2", staff).await;
    let last = app.get("/api/patients/?page=3&page_size=2", staff).await;
    let beyond = app.get("/api/patients/?page=9&page_size=2", staff).await;
    let whole = app.get(LIST, staff).await;

    // Assert
    let rels = links(&middle);
    assert_eq!(header(&middle, "x-total-count"), "5");
    for (rel, page) in [("first", "1"), ("prev", "1"), ("next", "3"), ("last", "3")] {
        let url = rels
            .get(rel)
            .unwrap_or_else(|| panic!("rel={rel} in {rels:?}"));
        assert!(url.contains("/api/patients"), "{url}");
        let param = |name| query_param(url, name);
        assert_eq!(param("page").as_deref(), Some(page), "rel={rel}: {url}");
        assert_eq!(param("page_size").as_deref(), Some("2"), "{url}");
        assert_eq!(
            param("search").as_deref(),
            Some("page"),
            "filters kept: {url}"
        );
    }
    assert_eq!(ids(&ok(middle).await), p[2..4]);
    let rels = links(&first);
    assert!(
        rels.contains_key("next") && !rels.contains_key("prev"),
        "{rels:?}"
    );
    assert_eq!(ids(&ok(first).await), p[0..2]);
    let rels = links(&last);
    assert!(
        rels.contains_key("prev") && !rels.contains_key("next"),
        "{rels:?}"
    );
    assert_eq!(ids(&ok(last).await), p[4..]);
    assert_eq!(header(&beyond, "x-total-count"), "5");
    assert_eq!(ok(beyond).await, json!([]));
    let rels = links(&whole);
    assert!(
        rels.contains_key("first") && rels.contains_key("last"),
        "{rels:?}"
    );
    assert!(
        !rels.contains_key("prev") && !rels.contains_key("next"),
        "{rels:?}"
    );
    assert_eq!(ids(&ok(whole).await), p);
}

#[rocket::async_test]
async fn each_page_of_an_ordered_list_is_its_slice_of_the_whole_list_and_skips_the_archive() {
    // Arrange: shared last names, so the id breaks ties; one archived
    let (app, _admin, staff) = spawn_clinic().await;
    let staff = staff.access.as_str();
    let mut p = Vec::new();
    for (first, last) in [
        ("Ann", "Cole"),
        ("Ben", "Adams"),
        ("Cal", "Cole"),
        ("Dee", "Baker"),
        ("Eve", "Adams"),
        ("Fay", "Cole"),
    ] {
        let body = json!({ "first_name": first, "last_name": last });
        p.push(add_patient(&app, staff, &body).await);
    }
    let archived = app.delete(&format!("/api/patients/{}/", p[2]), staff).await;
    assert_eq!(archived.status(), 204);

    for (ordering, whole) in [
        ("-last_name", vec![p[5], p[0], p[3], p[4], p[1]]),
        ("last_name", vec![p[1], p[4], p[3], p[0], p[5]]),
        ("-id", vec![p[5], p[4], p[3], p[1], p[0]]),
    ] {
        // Act
        let pages: Vec<Vec<i64>> = pages_of(&app, staff, ordering).await;

        // Assert
        assert_eq!(pages.concat(), whole, "ordering={ordering}");
    }
}

/// Pages 1 to 3 of two patients each, in `ordering`.
async fn pages_of(app: &TestApp, token: &str, ordering: &str) -> Vec<Vec<i64>> {
    let mut pages = Vec::new();
    for page in 1..=3 {
        let path = format!("/api/patients/?ordering={ordering}&page={page}&page_size=2");
        pages.push(list_ids(app, &path, token).await);
    }
    pages
}

#[rocket::async_test]
async fn the_total_of_an_unfiltered_list_follows_creates_archives_and_restores_per_account() {
    // Arrange: three patients of staff's, two of a user's
    let (app, admin, staff) = spawn_clinic().await;
    let user = app.account(&admin, "user", "nurse@clinic.test").await;
    let mut own = Vec::new();
    for n in 1..=3 {
        own.push(add_patient(&app, &staff.access, &patient(&format!("Staff{n}"))).await);
    }
    for n in 1..=2 {
        own.push(add_patient(&app, &user.access, &patient(&format!("User{n}"))).await);
    }
    let totals = || async {
        let staff_total = header(&app.get(LIST, &staff.access).await, "x-total-count");
        let user_total = header(&app.get(LIST, &user.access).await, "x-total-count");
        (staff_total, user_total)
    };
    assert_eq!(totals().await, ("5".into(), "2".into()));

    // Act: archive one of each, twice over for one of them, and bring one back
    for id in [own[0], own[3], own[3]] {
        app.delete(&format!("{LIST}{id}/"), &admin.access).await;
    }
    assert_eq!(totals().await, ("3".into(), "1".into()));
    let restore = format!("{LIST}{}/restore/", own[3]);
    ok(app.post(&restore, &admin.access, &json!({})).await).await;

    // Assert: every total equals the rows each account can list
    assert_eq!(totals().await, ("4".into(), "2".into()));
    let archived = app
        .get(&format!("{LIST}?archived=true"), &admin.access)
        .await;
    assert_eq!(header(&archived, "x-total-count"), "1");
    let all_rows = list_ids(&app, &format!("{LIST}?page_size=500"), &staff.access).await;
    assert_eq!(all_rows.len(), 4);
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
        let response = app.get(&format!("{LIST}?{query}"), &staff.access).await;

        // Assert
        assert_exact_field_errors(response, &[param]).await;
    }
    let most = app.get("/api/patients/?page_size=500", &staff.access).await;
    assert_eq!(most.status(), 200);
}

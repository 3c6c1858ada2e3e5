//! User administration and settings: admin only.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{
    assert_error, assert_field_errors, assert_unauthenticated, created, header, json_with,
    spawn_app, Account, TestApp, PASSWORD,
};

const NEW_PASSWORD: &str = "violet lantern orchard 42";

fn user_path(account: &Account) -> String {
    format!("/api/users/{}/", account.id)
}

/// Sends `method path` with `token` and, for writes, a JSON `body`.
async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: &Value,
) -> reqwest::Response {
    let mut request = app.request(method.clone(), path, token);
    if method != Method::GET && method != Method::DELETE {
        request = request.json(body);
    }
    request.send().await.expect("request sent")
}

#[rocket::async_test]
async fn staff_and_users_are_denied_every_admin_route_and_strangers_are_401() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let staff = app.account(&admin, "staff", "staff@clinic.test").await;
    let user = app.account(&admin, "user", "user@clinic.test").await;
    let admin_path = format!("/api/users/{}/", admin.id);
    let new_user = json!({ "email": "x@clinic.test", "password": PASSWORD, "role": "admin" });
    let routes = [
        (Method::GET, "/api/users/", json!({})),
        (Method::POST, "/api/users/", new_user),
        (Method::GET, admin_path.as_str(), json!({})),
        (
            Method::PATCH,
            admin_path.as_str(),
            json!({ "role": "user" }),
        ),
        (Method::DELETE, admin_path.as_str(), json!({})),
        (Method::GET, "/api/settings/", json!({})),
        (
            Method::PATCH,
            "/api/settings/",
            json!({ "registration": "open" }),
        ),
    ];

    for (method, path, body) in &routes {
        for caller in [&staff, &user] {
            // Act
            let response = call(&app, method.clone(), path, &caller.access, body).await;

            // Assert
            println!("{method} {path} as {}", caller.email);
            let denied = assert_error(response, 403, "permission_denied").await;
            assert!(!denied.to_string().contains("admin@clinic.test"));
        }
        let anonymous = call(&app, method.clone(), path, "", body).await;
        assert_unauthenticated(anonymous).await;
    }
    let still_admin = json_with(app.get(&admin_path, &admin.access).await, 200).await;
    assert_eq!(still_admin["role"], "admin");
    let settings = json_with(app.get("/api/settings/", &admin.access).await, 200).await;
    assert_eq!(settings["registration"], "closed");
}

#[rocket::async_test]
async fn an_admin_creates_accounts_of_every_role_that_can_log_in() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;

    for role in ["admin", "staff", "user"] {
        // Act
        let email = format!("{role}-person@clinic.test");
        let body = json!({ "email": email, "password": PASSWORD, "name": "New Person", "username": role, "role": role });
        let response = app.post("/api/users/", &admin.access, &body).await;

        // Assert
        let location = header(&response, "location");
        let user = created(response).await;
        assert_eq!(user["role"], role);
        assert_eq!(user["is_active"], true);
        assert_eq!(user["username"], role);
        assert!(
            location.contains(&format!("/api/users/{}", user["id"])),
            "{location}"
        );
        assert!(!user.to_string().contains("argon2") && user.get("password").is_none());
        let me = app.logged_in(&email, PASSWORD).await;
        let own = json_with(app.get("/api/auth/me/", &me.access).await, 200).await;
        assert_eq!(own["role"], role);
    }
}

#[rocket::async_test]
async fn creating_a_user_validates_role_password_and_uniqueness() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.account(&admin, "user", "taken@clinic.test").await;

    // Act
    let bad_role = json!({ "email": "a@clinic.test", "password": PASSWORD, "role": "superuser" });
    let bad_role = app.post("/api/users/", &admin.access, &bad_role).await;
    let weak = json!({ "email": "b@clinic.test", "password": "12345678", "role": "user" });
    let weak = app.post("/api/users/", &admin.access, &weak).await;
    let taken = json!({ "email": "Taken@Clinic.test", "password": PASSWORD, "role": "user" });
    let taken = app.post("/api/users/", &admin.access, &taken).await;

    // Assert
    assert_field_errors(bad_role, &["role"]).await;
    assert_field_errors(weak, &["password"]).await;
    assert_error(taken, 409, "duplicate").await;
}

#[rocket::async_test]
async fn the_user_list_is_paginated_oldest_first_without_password_hashes() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    for n in 1..=3 {
        app.account(&admin, "user", &format!("u{n}@clinic.test"))
            .await;
    }

    // Act
    let response = app
        .get("/api/users/?page=2&page_size=2", &admin.access)
        .await;

    // Assert
    assert_eq!(header(&response, "x-total-count"), "4");
    let link = header(&response, "link");
    for rel in ["first", "prev", "last"] {
        assert!(link.contains(&format!("rel=\"{rel}\"")), "{rel} in {link}");
    }
    assert!(
        !link.contains("rel=\"next\""),
        "no next on the last page: {link}"
    );
    let page = json_with(response, 200).await;
    let emails: Vec<&str> = page
        .as_array()
        .expect("a JSON array")
        .iter()
        .filter_map(|u| u["email"].as_str())
        .collect();
    assert_eq!(emails, ["u2@clinic.test", "u3@clinic.test"]);
    let leaks = |u: &Value| {
        u.get("password").is_some()
            || u.get("password_hash").is_some()
            || u.to_string().contains("argon2")
    };
    assert!(!page.as_array().expect("array").iter().any(leaks), "{page}");
}

#[rocket::async_test]
async fn a_role_change_takes_effect_at_the_users_next_request() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let second_admin = app.account(&admin, "admin", "second@clinic.test").await;
    let user = app.account(&admin, "user", "rising@clinic.test").await;
    assert_eq!(
        app.get("/api/users/", &second_admin.access).await.status(),
        200
    );

    // Act
    let demote = json!({ "role": "staff" });
    let demoted = app
        .patch(&user_path(&second_admin), &admin.access, &demote)
        .await;
    let promote = json!({ "role": "admin" });
    let promoted = app.patch(&user_path(&user), &admin.access, &promote).await;

    // Assert: the same, unchanged tokens now carry the new roles.
    assert_eq!(json_with(demoted, 200).await["role"], "staff");
    assert_eq!(json_with(promoted, 200).await["role"], "admin");
    let denied = app.get("/api/users/", &second_admin.access).await;
    assert_error(denied, 403, "permission_denied").await;
    assert_eq!(app.get("/api/users/", &user.access).await.status(), 200);
}

#[rocket::async_test]
async fn an_admin_resets_a_password() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let user = app.account(&admin, "user", "forgetful@clinic.test").await;

    // Act
    let weak = app
        .patch(
            &user_path(&user),
            &admin.access,
            &json!({ "password": "password123" }),
        )
        .await;
    let reset = app
        .patch(
            &user_path(&user),
            &admin.access,
            &json!({ "password": NEW_PASSWORD }),
        )
        .await;

    // Assert
    assert_field_errors(weak, &["password"]).await;
    assert!(!json_with(reset, 200).await.to_string().contains("argon2"));
    let old_password = app.login(&user.email, &user.password).await;
    assert_error(old_password, 401, "invalid_credentials").await;
    assert_eq!(app.login(&user.email, NEW_PASSWORD).await.status(), 200);
}

#[rocket::async_test]
async fn deactivating_with_patch_locks_the_user_out_at_their_next_request() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let user = app.account(&admin, "staff", "paused@clinic.test").await;
    assert_eq!(app.get("/api/auth/me/", &user.access).await.status(), 200);

    // Act
    let body = json!({ "is_active": false });
    let patched = app.patch(&user_path(&user), &admin.access, &body).await;

    // Assert
    assert_eq!(json_with(patched, 200).await["is_active"], false);
    assert_unauthenticated(app.get("/api/auth/me/", &user.access).await).await;
    assert_unauthenticated(app.refresh(&user.refresh).await).await;
    let reactivated = app
        .patch(
            &user_path(&user),
            &admin.access,
            &json!({ "is_active": true }),
        )
        .await;
    assert_eq!(json_with(reactivated, 200).await["is_active"], true);
    assert_eq!(app.login(&user.email, PASSWORD).await.status(), 200);
}

#[rocket::async_test]
async fn delete_deactivates_the_user_who_stays_listed() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let user = app.account(&admin, "user", "gone@clinic.test").await;

    // Act
    let deleted = app.delete(&user_path(&user), &admin.access).await;

    // Assert
    assert_eq!(deleted.status(), 204);
    assert_unauthenticated(app.get("/api/auth/me/", &user.access).await).await;
    let kept = json_with(app.get(&user_path(&user), &admin.access).await, 200).await;
    assert_eq!(kept["is_active"], false);
    let list = json_with(app.get("/api/users/", &admin.access).await, 200).await;
    let listed = list
        .as_array()
        .expect("array")
        .iter()
        .find(|u| u["id"] == user.id);
    assert_eq!(listed.map(|u| u["is_active"].clone()), Some(json!(false)));
}

#[rocket::async_test]
async fn the_last_active_admin_can_be_neither_demoted_nor_deactivated() {
    // Arrange: a second admin exists but is deactivated, so it does not count.
    let app = spawn_app().await;
    let admin = app.admin().await;
    let other = app
        .account(&admin, "admin", "other-admin@clinic.test")
        .await;
    assert_eq!(
        app.delete(&user_path(&other), &admin.access).await.status(),
        204
    );
    let own = format!("/api/users/{}/", admin.id);
    let attempts = [
        (Method::PATCH, json!({ "role": "staff" })),
        (Method::PATCH, json!({ "role": "user" })),
        (Method::PATCH, json!({ "is_active": false })),
        (Method::DELETE, json!({})),
    ];

    for (method, body) in attempts {
        // Act
        let response = call(&app, method.clone(), &own, &admin.access, &body).await;

        // Assert
        println!("{method} {body}");
        assert_error(response, 409, "last_admin").await;
    }
    let me = json_with(app.get("/api/auth/me/", &admin.access).await, 200).await;
    assert_eq!(
        (me["role"].clone(), me["is_active"].clone()),
        (json!("admin"), json!(true))
    );
}

#[rocket::async_test]
async fn with_two_active_admins_one_may_be_demoted() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let other = app
        .account(&admin, "admin", "other-admin@clinic.test")
        .await;

    // Act
    let demoted = app
        .patch(
            &user_path(&other),
            &admin.access,
            &json!({ "role": "staff" }),
        )
        .await;
    let last = app
        .patch(
            &format!("/api/users/{}/", admin.id),
            &admin.access,
            &json!({ "role": "staff" }),
        )
        .await;

    // Assert
    assert_eq!(json_with(demoted, 200).await["role"], "staff");
    assert_error(last, 409, "last_admin").await;
}

#[rocket::async_test]
async fn patching_a_user_checks_existence_role_username_and_paging() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let user = app.account(&admin, "user", "plain@clinic.test").await;
    let named = json!({ "username": "taken", "name": "Taken Name" });
    let other = app.account(&admin, "staff", "other@clinic.test").await;
    json_with(
        app.patch(&user_path(&other), &admin.access, &named).await,
        200,
    )
    .await;

    // Act
    let missing = app.get("/api/users/9999/", &admin.access).await;
    let bad_role = json!({ "role": "root" });
    let bad_role = app.patch(&user_path(&user), &admin.access, &bad_role).await;
    let clash = json!({ "username": "taken" });
    let clash = app.patch(&user_path(&user), &admin.access, &clash).await;
    let page_zero = app.get("/api/users/?page=0", &admin.access).await;

    // Assert
    assert_error(missing, 404, "not_found").await;
    assert_field_errors(bad_role, &["role"]).await;
    assert_error(clash, 409, "duplicate").await;
    assert_field_errors(page_zero, &["page"]).await;
    let unchanged = json_with(app.get(&user_path(&user), &admin.access).await, 200).await;
    assert_eq!(
        (unchanged["role"].clone(), unchanged["username"].clone()),
        (json!("user"), Value::Null)
    );
}

#[rocket::async_test]
async fn settings_start_closed_and_a_patch_takes_effect_at_once() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let initial = json_with(app.get("/api/settings/", &admin.access).await, 200).await;
    assert_eq!(initial["registration"], "closed");
    assert!(initial
        .as_object()
        .expect("object")
        .contains_key("clinic_name"));
    let newcomer = json!({ "email": "new@clinic.test", "password": PASSWORD });

    // Act
    let body = json!({ "registration": "open", "clinic_name": "Riverside Clinic" });
    let opened = app.patch("/api/settings/", &admin.access, &body).await;

    // Assert
    let opened = json_with(opened, 200).await;
    assert_eq!(opened["registration"], "open");
    assert_eq!(opened["clinic_name"], "Riverside Clinic");
    let read_back = json_with(app.get("/api/settings/", &admin.access).await, 200).await;
    assert_eq!(read_back, opened);
    created(app.register(&newcomer).await).await;
    let closed = app
        .patch(
            "/api/settings/",
            &admin.access,
            &json!({ "registration": "closed" }),
        )
        .await;
    assert_eq!(
        json_with(closed, 200).await["clinic_name"],
        "Riverside Clinic"
    );
    let late = json!({ "email": "late@clinic.test", "password": PASSWORD });
    assert_error(app.register(&late).await, 403, "registration_closed").await;
}

#[rocket::async_test]
async fn settings_reject_a_bad_registration_value_and_store_a_blank_name_as_null() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let named = json!({ "clinic_name": "Riverside Clinic" });
    json_with(
        app.patch("/api/settings/", &admin.access, &named).await,
        200,
    )
    .await;

    // Act
    let bad = json!({ "registration": "sometimes", "clinic_name": "Elsewhere" });
    let rejected = app.patch("/api/settings/", &admin.access, &bad).await;

    // Assert
    assert_field_errors(rejected, &["registration"]).await;
    let settings = json_with(app.get("/api/settings/", &admin.access).await, 200).await;
    assert_eq!(
        settings["registration"], "closed",
        "a rejected PATCH changes nothing"
    );
    assert_eq!(settings["clinic_name"], "Riverside Clinic");
    let blank = json!({ "clinic_name": "   " });
    let blanked = app.patch("/api/settings/", &admin.access, &blank).await;
    assert_eq!(json_with(blanked, 200).await["clinic_name"], Value::Null);
}

#[rocket::async_test]
async fn an_admin_cannot_give_their_own_account_a_temporary_password() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let staff = app.account(&admin, "staff", "nurse@clinic.test").await;
    let own = format!("/api/users/{}/", admin.id);

    // Act
    let refused = app
        .patch(
            &own,
            &admin.access,
            &json!({ "must_change_password": true }),
        )
        .await;
    let someone_else = app
        .patch(
            &format!("/api/users/{}/", staff.id),
            &admin.access,
            &json!({ "must_change_password": true }),
        )
        .await;
    // Last: a new password ends the admin's own tokens.
    let reset_own = app
        .patch(
            &own,
            &admin.access,
            &json!({ "password": "violet lantern orchard 42" }),
        )
        .await;

    // Assert
    assert_field_errors(refused, &["must_change_password"]).await;
    let reset_own = json_with(reset_own, 200).await;
    assert_eq!(
        reset_own["must_change_password"], false,
        "not temporary on one's own account"
    );
    assert_eq!(
        json_with(someone_else, 200).await["must_change_password"],
        true
    );
}

#[rocket::async_test]
async fn the_clinic_time_zone_is_an_iana_name_and_decides_what_today_is_for_a_birth_date() {
    use clinicdesk::clinic_time::{today_in, zone};

    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let initial = json_with(app.get("/api/settings/", &admin.access).await, 200).await;
    let initial = initial["time_zone"]
        .as_str()
        .expect("a zone name")
        .to_owned();
    assert!(zone(&initial).is_some(), "{initial}");

    // Act + Assert: a bad name changes nothing.
    for bad in ["Mars/Olympus", "", "../../etc/passwd", "+02:00"] {
        let response = app
            .patch(
                "/api/settings/",
                &admin.access,
                &json!({ "time_zone": bad }),
            )
            .await;
        assert_field_errors(response, &["time_zone"]).await;
    }
    let kept = json_with(app.get("/api/settings/", &admin.access).await, 200).await;
    assert_eq!(kept["time_zone"], initial);

    // Act + Assert: a day behind UTC (Niue, UTC-11) and a day ahead
    // (Kiritimati, UTC+14): each clinic's tomorrow is refused, its today taken.
    for name in ["Pacific/Niue", "Pacific/Kiritimati"] {
        let changed = app
            .patch(
                "/api/settings/",
                &admin.access,
                &json!({ "time_zone": name }),
            )
            .await;
        assert_eq!(json_with(changed, 200).await["time_zone"], name);
        let today = today_in(&zone(name).expect("zone"));
        let tomorrow = today.next_day().expect("a date");
        let born_tomorrow = json!({ "first_name": "Ada", "date_of_birth": tomorrow.to_string() });
        let refused = app
            .post("/api/patients/", &admin.access, &born_tomorrow)
            .await;
        assert_field_errors(refused, &["date_of_birth"]).await;
        let born_today = json!({ "first_name": "Bo", "date_of_birth": today.to_string() });
        let taken = app.post("/api/patients/", &admin.access, &born_today).await;
        assert_eq!(taken.status(), 201, "{name}: born {today}");
    }
}

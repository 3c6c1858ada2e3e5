//! Setup, registration, login, me and password change (tokens: `tokens.rs`).

use serde_json::{json, Value};

use crate::helpers::{
    assert_error, assert_field_errors, assert_unauthenticated, created, header, json_with,
    spawn_app, spawn_app_with, spawn_open_app, ADMIN_EMAIL, PASSWORD,
};

const NEW_PASSWORD: &str = "violet lantern orchard 42";
/// In the bad-password table: "send no `password_confirm`".
const PASSWORD_CONFIRM_OK: &str = "";

#[rocket::async_test]
async fn setup_creates_the_first_admin_once_and_then_answers_404() {
    // Arrange
    let app = spawn_app().await;
    let token = app
        .setup_token
        .clone()
        .expect("a setup token while no admin exists");
    let body = json!({ "token": token, "email": ADMIN_EMAIL, "password": PASSWORD, "name": "Ada" });

    // Act
    let first = app.post("/api/setup/", "", &body).await;
    let second = app.post("/api/setup/", "", &body).await;

    // Assert
    let admin = created(first).await;
    assert_eq!(admin["role"], "admin");
    assert_eq!(admin["email"], ADMIN_EMAIL);
    assert!(admin.get("password").is_none() && !admin.to_string().contains("argon2"));
    assert_error(second, 404, "not_found").await;
}

#[rocket::async_test]
async fn setup_with_a_wrong_token_is_401_and_a_weak_password_is_400() {
    // Arrange
    let app = spawn_app().await;
    let token = app.setup_token.clone().expect("setup token");

    // Act
    let wrong = json!({ "token": "not-the-token", "email": ADMIN_EMAIL, "password": PASSWORD });
    let wrong_token = app.post("/api/setup/", "", &wrong).await;
    let weak = json!({ "token": token, "email": ADMIN_EMAIL, "password": "password123" });
    let weak_password = app.post("/api/setup/", "", &weak).await;

    // Assert
    assert_error(wrong_token, 401, "not_authenticated").await;
    assert_field_errors(weak_password, &["password"]).await;
}

#[rocket::async_test]
async fn registration_is_closed_by_default_and_says_who_can_open_it() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let newcomer = json!({ "email": "new@clinic.test", "password": PASSWORD });
    let response = app.register(&newcomer).await;

    // Assert
    let body = assert_error(response, 403, "registration_closed").await;
    let detail = body["detail"].as_str().unwrap_or_default().to_lowercase();
    assert!(
        detail.contains("admin"),
        "detail names who can open it: {body}"
    );
}

#[rocket::async_test]
async fn registration_opened_in_settings_takes_effect_at_once() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let opened = app
        .patch(
            "/api/settings/",
            &admin.access,
            &json!({ "registration": "open" }),
        )
        .await;
    assert_eq!(json_with(opened, 200).await["registration"], "open");

    // Act
    let newcomer = json!({ "email": "new@clinic.test", "password": PASSWORD });
    let response = app.register(&newcomer).await;

    // Assert
    assert_eq!(created(response).await["role"], "user");
}

#[rocket::async_test]
async fn register_creates_a_plain_user_and_ignores_role_and_is_active() {
    // Arrange
    let app = spawn_open_app().await;
    let body = json!({
        "email": "Mallory@Clinic.test", "password": PASSWORD, "name": "Mallory",
        "username": "mallory", "role": "admin", "is_active": false, "id": 77,
    });

    // Act
    let response = app.register(&body).await;

    // Assert
    let user = created(response).await;
    assert_eq!(user["role"], "user");
    assert_eq!(user["is_active"], true);
    assert_eq!(user["email"], "mallory@clinic.test", "stored lowercase");
    assert_eq!(user["username"], "mallory");
    assert_ne!(user["id"], 77);
    assert!(user["created_at"].is_string());
    assert_eq!(user["must_change_password"], false, "chosen by its owner");
    let text = user.to_string();
    assert!(
        user.get("password").is_none()
            && user.get("password_hash").is_none()
            && !text.contains("argon2"),
        "{text}"
    );
    let mallory = app.logged_in("mallory@clinic.test", PASSWORD).await;
    let users = app.get("/api/users/", &mallory.access).await;
    assert_error(users, 403, "permission_denied").await;
}

#[rocket::async_test]
async fn register_rejects_a_duplicate_email_in_any_case_and_a_duplicate_username() {
    // Arrange
    let app = spawn_open_app().await;
    let first = json!({ "email": "ann@clinic.test", "username": "ann", "password": PASSWORD });
    created(app.register(&first).await).await;

    // Act
    let same_email = json!({ "email": "ANN@Clinic.Test", "password": PASSWORD });
    let same_email = app.register(&same_email).await;
    let same_username =
        json!({ "email": "other@clinic.test", "username": "ann", "password": PASSWORD });
    let same_username = app.register(&same_username).await;

    // Assert
    assert_error(same_email, 409, "duplicate").await;
    assert_error(same_username, 409, "duplicate").await;
}

#[rocket::async_test]
async fn register_rejects_bad_passwords_with_the_field_that_is_wrong() {
    // Arrange
    let app = spawn_open_app().await;
    let many_bytes = "ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝÞßàáâãäåæçèéêëìíîïðñòóôõöøùúûüýþÿ".repeat(3);
    assert!(many_bytes.chars().count() < 256 && many_bytes.len() > 256);
    let cases = [
        ("common", "password123", PASSWORD_CONFIRM_OK, "password"),
        (
            "keyboard row",
            "qwertyuiop",
            PASSWORD_CONFIRM_OK,
            "password",
        ),
        ("digits", "12345678", PASSWORD_CONFIRM_OK, "password"),
        ("too short", "Zq9#mK2", PASSWORD_CONFIRM_OK, "password"),
        (
            "over 256 bytes",
            many_bytes.as_str(),
            PASSWORD_CONFIRM_OK,
            "password",
        ),
        (
            "equal to the email",
            "ROSALIND.FRANKLIN@CLINIC.TEST",
            PASSWORD_CONFIRM_OK,
            "password",
        ),
        (
            "equal to the name",
            "rosalind elsie franklin",
            PASSWORD_CONFIRM_OK,
            "password",
        ),
        (
            "confirm differs",
            PASSWORD,
            "correct horse battery 8",
            "password_confirm",
        ),
    ];

    for (case, password, confirm, field) in cases {
        // Act
        println!("case: {case}");
        let mut body = json!({
            "email": "rosalind.franklin@clinic.test", "name": "Rosalind Elsie Franklin",
            "password": password,
        });
        if confirm != PASSWORD_CONFIRM_OK {
            body["password_confirm"] = json!(confirm);
        }
        let response = app.register(&body).await;

        // Assert
        assert_field_errors(response, &[field]).await;
    }
    let missing = app.register(&json!({ "name": "Nobody" })).await;
    assert_field_errors(missing, &["email", "password"]).await;
    let not_an_email = json!({ "email": "not-an-email", "password": PASSWORD });
    assert_field_errors(app.register(&not_an_email).await, &["email"]).await;
}

#[rocket::async_test]
async fn login_works_by_email_in_any_case_by_username_and_through_the_token_alias() {
    // Arrange
    let app = spawn_app_with(|c| {
        c.registration = clinicdesk::config::Registration::Open;
        c.access_token_minutes = 15;
    })
    .await;
    let body = json!({ "email": "kim@clinic.test", "username": "kim", "password": PASSWORD });
    created(app.register(&body).await).await;
    let attempts = [
        ("/api/auth/login/", "email", "KIM@clinic.test"),
        ("/api/auth/login/", "username", "kim"),
        ("/api/auth/login/", "username", "kim@clinic.test"),
        ("/api/token/", "email", "kim@clinic.test"),
    ];

    for (path, field, value) in attempts {
        // Act
        let credentials = json!({ field: value, "password": PASSWORD });
        let response = app.post(path, "", &credentials).await;

        // Assert
        let login = json_with(response, 200).await;
        assert_eq!(login["token_type"], "Bearer", "{credentials}");
        assert_eq!(login["expires_in"], 900, "{credentials}");
        assert_eq!(login["user"]["email"], "kim@clinic.test");
        assert!(login["refresh"].is_string());
        assert!(!login.to_string().contains("argon2"), "no hash in {login}");
        let access = login["access"].as_str().expect("access token");
        let me = json_with(app.get("/api/auth/me/", access).await, 200).await;
        assert_eq!(me["email"], "kim@clinic.test");
    }
}

#[rocket::async_test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_401() {
    // Arrange
    let app = spawn_app().await;
    app.admin().await;

    // Act
    let wrong_password = app.login(ADMIN_EMAIL, "correct horse battery 8").await;
    let unknown_email = app.login("nobody@clinic.test", PASSWORD).await;

    // Assert
    let a = assert_error(wrong_password, 401, "invalid_credentials").await;
    let b = assert_error(unknown_email, 401, "invalid_credentials").await;
    assert_eq!(a, b, "the two failures must be indistinguishable");
}

#[rocket::async_test]
async fn repeated_failed_logins_are_throttled_with_429_and_retry_after() {
    // Arrange: the contract fixes no threshold; 30 failures in a row is beyond any sane one.
    let app = spawn_app().await;
    app.admin().await;
    let mut throttled = None;

    // Act
    for _ in 0..30 {
        let response = app.login(ADMIN_EMAIL, "correct horse battery 8").await;
        if response.status() == 429 {
            throttled = Some(response);
            break;
        }
        assert_error(response, 401, "invalid_credentials").await;
    }

    // Assert
    let response = throttled.expect("a 429 within 30 failed logins (contract: login)");
    let retry_after = header(&response, "retry-after");
    assert!(
        retry_after.parse::<u64>().is_ok_and(|s| s > 0),
        "Retry-After {retry_after:?}"
    );
    assert_error(response, 429, "throttled").await;
}

#[rocket::async_test]
async fn a_deactivated_account_cannot_log_in() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let user = app.account(&admin, "user", "leaver@clinic.test").await;
    let deleted = app
        .delete(&format!("/api/users/{}/", user.id), &admin.access)
        .await;
    assert_eq!(deleted.status(), 204);

    // Act
    let right_password = app.login(&user.email, PASSWORD).await;
    let wrong_password = app.login(&user.email, "correct horse battery 8").await;

    // Assert
    assert_error(right_password, 401, "account_inactive").await;
    assert_error(wrong_password, 401, "invalid_credentials").await;
}

#[rocket::async_test]
async fn me_shows_the_caller_and_patch_changes_name_and_username_but_not_role() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let user = app.account(&admin, "user", "pat@clinic.test").await;
    let changes =
        json!({ "name": "Pat Doe", "username": "pat", "role": "admin", "is_active": false });

    // Act
    let patched = app.patch("/api/auth/me/", &user.access, &changes).await;
    let me = app.get("/api/auth/me/", &user.access).await;

    // Assert
    let patched = json_with(patched, 200).await;
    assert_eq!(patched["name"], "Pat Doe");
    assert_eq!(patched["username"], "pat");
    assert_eq!(patched["role"], "user");
    let me = json_with(me, 200).await;
    assert_eq!(
        (me["role"].clone(), me["is_active"].clone()),
        (json!("user"), json!(true))
    );
    assert!(!me.to_string().contains("argon2"));
    let users = app.get("/api/users/", &user.access).await;
    assert_error(users, 403, "permission_denied").await;
}

#[rocket::async_test]
async fn me_patch_stores_a_blank_name_as_null_and_refuses_a_taken_username() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let user = app.account(&admin, "user", "sam@clinic.test").await;
    let taken = json!({ "username": "boss" });
    json_with(app.patch("/api/auth/me/", &admin.access, &taken).await, 200).await;

    // Act
    let blank = app
        .patch("/api/auth/me/", &user.access, &json!({ "name": "   " }))
        .await;
    let clash = app
        .patch(
            "/api/auth/me/",
            &user.access,
            &json!({ "username": "boss" }),
        )
        .await;

    // Assert
    assert_eq!(json_with(blank, 200).await["name"], Value::Null);
    assert_error(clash, 409, "duplicate").await;
}

#[rocket::async_test]
async fn password_change_needs_the_current_password_and_a_strong_new_one() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;

    // Act
    let wrong_current =
        json!({ "current_password": "correct horse battery 8", "new_password": NEW_PASSWORD });
    let wrong = app
        .post("/api/auth/password/", &admin.access, &wrong_current)
        .await;
    let weak_new = json!({ "current_password": PASSWORD, "new_password": "password123" });
    let weak = app
        .post("/api/auth/password/", &admin.access, &weak_new)
        .await;

    // Assert
    assert_field_errors(wrong, &["current_password"]).await;
    assert_field_errors(weak, &["new_password"]).await;
    assert_eq!(
        app.login(ADMIN_EMAIL, PASSWORD).await.status(),
        200,
        "unchanged"
    );
}

#[rocket::async_test]
async fn password_change_swaps_the_password_and_revokes_every_refresh_token() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let second_login = app.logged_in(ADMIN_EMAIL, PASSWORD).await;
    let body = json!({ "current_password": PASSWORD, "new_password": NEW_PASSWORD });

    // Act
    let changed = app.post("/api/auth/password/", &admin.access, &body).await;

    // Assert
    assert_eq!(changed.status(), 204);
    assert_unauthenticated(app.refresh(&admin.refresh).await).await;
    assert_unauthenticated(app.refresh(&second_login.refresh).await).await;
    assert_error(
        app.login(ADMIN_EMAIL, PASSWORD).await,
        401,
        "invalid_credentials",
    )
    .await;
    assert_eq!(app.login(ADMIN_EMAIL, NEW_PASSWORD).await.status(), 200);
}

#[rocket::async_test]
async fn a_spoofed_client_address_header_does_not_escape_the_login_throttle() {
    // Arrange: use up this address's failures, each on another name (so no
    // per-account delay is involved: only the per-address one).
    let app = spawn_app().await;
    app.admin().await;
    let wrong =
        json!({ "email": "nobody-else@clinic.test", "password": "correct horse battery 8" });
    let mut throttled = false;
    for i in 0..30 {
        if app
            .login(
                &format!("nobody-{i}@clinic.test"),
                "correct horse battery 8",
            )
            .await
            .status()
            == 429
        {
            throttled = true;
            break;
        }
    }
    assert!(throttled, "the address is throttled first");

    // Act: claim to be someone else, as a proxy would say.
    let response = app
        .request(reqwest::Method::POST, "/api/auth/login/", "")
        .header("X-Real-IP", "10.9.8.7")
        .header("X-Forwarded-For", "10.9.8.7")
        .json(&wrong)
        .send()
        .await
        .expect("sent");

    // Assert
    assert_error(response, 429, "throttled").await;
}

/// A client whose requests come from another loopback address (127.0.0.2),
/// as a colleague's PC would.
fn from_another_address() -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .expect("http client")
}

#[rocket::async_test]
async fn failed_sign_ins_delay_only_the_failing_address_and_never_lock_the_account() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let nurse = app.account(&admin, "staff", "nurse@clinic.test").await;

    // Act: an attacker on this address hammers the nurse's account.
    let mut delayed = None;
    for _ in 0..30 {
        let response = app.login(&nurse.email, "correct horse battery 8").await;
        if response.status() == 429 {
            delayed = Some(response);
            break;
        }
        assert_error(response, 401, "invalid_credentials").await;
    }
    let from_here = app.login(&nurse.email, PASSWORD).await;
    let colleague = from_another_address()
        .post(app.url("/api/auth/login/"))
        .json(&json!({ "email": nurse.email, "password": PASSWORD }))
        .send()
        .await
        .expect("sent");

    // Assert: the attacker's address waits, right password or not, with a
    // growing delay of at most 15 minutes...
    let delayed = delayed.expect("a 429 within 30 failed sign-ins");
    let retry_after: u64 = header(&delayed, "retry-after").parse().expect("seconds");
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    assert_error(delayed, 429, "throttled").await;
    assert_error(from_here, 429, "throttled").await;
    // ...but the nurse, at her own PC, signs in.
    assert_eq!(colleague.status(), 200);
    let shown = json_with(
        app.get(&format!("/api/users/{}/", nurse.id), &admin.access)
            .await,
        200,
    )
    .await;
    assert!(shown["locked_until"].is_string(), "{shown}");
}

#[rocket::async_test]
async fn an_admin_clears_an_accounts_sign_in_delay() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let nurse = app.account(&admin, "staff", "nurse@clinic.test").await;
    for _ in 0..5 {
        assert_eq!(
            app.login(&nurse.email, "correct horse battery 8")
                .await
                .status(),
            401
        );
    }
    assert_eq!(app.login(&nurse.email, PASSWORD).await.status(), 429);

    // Act
    let path = format!("/api/users/{}/", nurse.id);
    let refused = app
        .patch(&path, &admin.access, &json!({ "locked": true }))
        .await;
    let unlocked = json_with(
        app.patch(&path, &admin.access, &json!({ "locked": false }))
            .await,
        200,
    )
    .await;

    // Assert
    assert_field_errors(refused, &["locked"]).await;
    assert!(unlocked["locked_until"].is_null(), "{unlocked}");
    let after = app.login(&nurse.email, PASSWORD).await;
    assert_eq!(after.status(), 200, "{:?}", after.text().await);
}

#[rocket::async_test]
async fn a_successful_sign_in_starts_the_failure_count_again() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let nurse = app.account(&admin, "staff", "nurse@clinic.test").await;

    // Act: four failures, a success, four more failures.
    for round in 0..2 {
        for _ in 0..4 {
            assert_eq!(
                app.login(&nurse.email, "correct horse battery 8")
                    .await
                    .status(),
                401
            );
        }
        if round == 0 {
            assert_eq!(app.login(&nurse.email, PASSWORD).await.status(), 200);
        }
    }

    // Assert: eight failures, never five in a row: not delayed.
    assert_eq!(app.login(&nurse.email, PASSWORD).await.status(), 200);
}

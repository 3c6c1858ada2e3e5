//! The test harness: a real clinicdesk server per test, on 127.0.0.1 with an
//! OS-chosen port and its own temporary data directory, spoken to over HTTP.

use std::sync::LazyLock;

use clinicdesk::config::Config;
use clinicdesk::front::PublicAddress;
use clinicdesk::server;
use clinicdesk::setup::SetupToken;
use reqwest::{Method, RequestBuilder, Response};
use rocket::fairing::AdHoc;
use rocket::tokio::sync::oneshot;
use rocket::Shutdown;
use serde_json::{json, Value};

static TRACING: LazyLock<()> = LazyLock::new(|| {
    if std::env::var_os("TEST_LOG").is_some() {
        clinicdesk::telemetry::init("clinicdesk=debug,rocket=warn");
    }
});

/// A password every test account uses: long, not common, unlike any email.
pub const PASSWORD: &str = "correct horse battery 9";

/// The first admin that `TestApp::admin` creates through the setup link.
pub const ADMIN_EMAIL: &str = "admin@clinic.test";

/// A running clinicdesk with its own empty data directory. Dropping it stops the server.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`
    pub base: String,
    pub http: reqwest::Client,
    /// The one-time setup token the server would print in its setup link.
    pub setup_token: Option<String>,
    pub data_dir: tempfile::TempDir,
    shutdown: Shutdown,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.clone().notify();
    }
}

/// An account created by a test, with a fresh login.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: i64,
    pub email: String,
    pub password: String,
    pub access: String,
    pub refresh: String,
}

/// Starts the real server with the test configuration (registration closed).
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the real server after `adjust` has changed the test configuration.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    LazyLock::force(&TRACING);
    let data_dir = tempfile::tempdir().expect("temp data dir");
    let mut config = Config::for_tests(data_dir.path());
    adjust(&mut config);

    let (ready_tx, ready_rx) = oneshot::channel();
    let rocket = server::build(config)
        .expect("server builds")
        .attach(AdHoc::on_liftoff("report bound port", move |rocket| {
            Box::pin(async move {
                // The public port (the front door's), not Rocket's private one.
                let token = rocket.state::<SetupToken>().and_then(SetupToken::current);
                let port = rocket
                    .state::<PublicAddress>()
                    .expect("public address")
                    .0
                    .port();
                let _ = ready_tx.send((port, rocket.shutdown(), token));
            })
        }));
    rocket::tokio::spawn(rocket.launch());

    let (port, shutdown, setup_token) = ready_rx.await.expect("server failed to launch");
    TestApp {
        base: format!("http://127.0.0.1:{port}"),
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client"),
        setup_token,
        data_dir,
        shutdown,
    }
}

impl TestApp {
    /// The absolute URL of `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request with a bearer token, unless `token` is empty.
    pub fn request(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        let builder = self.http.request(method, self.url(path));
        if token.is_empty() {
            builder
        } else {
            builder.bearer_auth(token)
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        send(self.request(Method::GET, path, token)).await
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Response {
        send(self.request(Method::POST, path, token).json(body)).await
    }

    pub async fn put(&self, path: &str, token: &str, body: &Value) -> Response {
        send(self.request(Method::PUT, path, token).json(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: &Value) -> Response {
        send(self.request(Method::PATCH, path, token).json(body)).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Response {
        send(self.request(Method::DELETE, path, token)).await
    }

    /// `POST /api/auth/login/` with an email and password.
    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post(
            "/api/auth/login/",
            "",
            &json!({ "email": email, "password": password }),
        )
        .await
    }

    /// Creates the first admin through the setup token, logs in, and returns it.
    pub async fn admin(&self) -> Account {
        let token = self
            .setup_token
            .clone()
            .expect("no admin yet, so a setup token");
        let body = json!({
            "token": token, "email": ADMIN_EMAIL, "password": PASSWORD, "name": "Ada Admin"
        });
        let created = self.post("/api/setup/", "", &body).await;
        assert_eq!(created.status(), 201, "setup creates the first admin");
        self.logged_in(ADMIN_EMAIL, PASSWORD).await
    }

    /// An admin creates an account with `role` (`admin`, `staff` or `user`); it logs in.
    pub async fn account(&self, admin: &Account, role: &str, email: &str) -> Account {
        // Ready to use, as an admin sets up a lab system's account: the
        // temporary-password rule has its own tests (tests/api/passwords.rs).
        let body = json!({
            "email": email, "password": PASSWORD, "name": "Test Person", "role": role,
            "must_change_password": false,
        });
        let created = self.post("/api/users/", &admin.access, &body).await;
        assert_eq!(created.status(), 201, "admin creates a {role}");
        self.logged_in(email, PASSWORD).await
    }

    /// Logs in an existing account and returns its tokens.
    pub async fn logged_in(&self, email: &str, password: &str) -> Account {
        let response = self.login(email, password).await;
        assert_eq!(response.status(), 200, "login of {email}");
        let body: Value = response.json().await.expect("login body");
        Account {
            id: body["user"]["id"].as_i64().expect("user id"),
            email: email.to_owned(),
            password: password.to_owned(),
            access: body["access"].as_str().expect("access token").to_owned(),
            refresh: body["refresh"].as_str().expect("refresh token").to_owned(),
        }
    }

    /// Creates a patient (asserting 201) and returns its JSON.
    pub async fn create_patient(&self, token: &str, body: &Value) -> Value {
        created(self.post("/api/patients/", token, body).await).await
    }

    /// Creates a doctor (asserting 201) and returns its JSON.
    pub async fn create_doctor(&self, token: &str, body: &Value) -> Value {
        created(self.post("/api/doctors/", token, body).await).await
    }

    /// Creates a mapping (asserting 201) and returns its JSON.
    pub async fn create_mapping(&self, token: &str, body: &Value) -> Value {
        created(self.post("/api/mappings/", token, body).await).await
    }
}

async fn send(builder: RequestBuilder) -> Response {
    builder.send().await.expect("request sent")
}

/// Asserts a `201 Created` and returns its body.
pub async fn created(response: Response) -> Value {
    let status = response.status();
    let body = response.text().await.expect("body");
    assert_eq!(status, 201, "expected 201, body: {body}");
    serde_json::from_str(&body).expect("JSON body")
}

/// Asserts a status and returns the JSON body.
pub async fn json_with(response: Response, status: u16) -> Value {
    let actual = response.status();
    let body = response.text().await.expect("body");
    assert_eq!(actual, status, "unexpected status, body: {body}");
    serde_json::from_str(&body).expect("JSON body")
}

/// Asserts the API's error shape with this status and `code`, and returns the body.
pub async fn assert_error(response: Response, status: u16, code: &str) -> Value {
    let body = json_with(response, status).await;
    assert_eq!(body["code"], code, "error code, body: {body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "detail, body: {body}"
    );
    body
}

/// A minimal valid patient body.
pub fn patient(first_name: &str) -> Value {
    json!({ "first_name": first_name, "last_name": "Lovelace", "gender": "F", "phone": "+44 20 7946 0000" })
}

/// A minimal valid doctor body.
pub fn doctor(first_name: &str) -> Value {
    json!({ "first_name": first_name, "last_name": "House", "specialization": "Cardiology" })
}

/// Starts the real server with registration open (as `CLINICDESK_REGISTRATION=open` would).
pub async fn spawn_open_app() -> TestApp {
    spawn_app_with(|c| c.registration = clinicdesk::config::Registration::Open).await
}

impl TestApp {
    /// `POST /api/auth/register/` with `body`, no token.
    pub async fn register(&self, body: &Value) -> Response {
        self.post("/api/auth/register/", "", body).await
    }

    /// `POST /api/auth/refresh/` with a refresh token.
    pub async fn refresh(&self, refresh: &str) -> Response {
        self.post("/api/auth/refresh/", "", &json!({ "refresh": refresh }))
            .await
    }

    /// `GET path` with a raw `Authorization` header value.
    pub async fn get_with_authorization(&self, path: &str, authorization: &str) -> Response {
        send(
            self.request(Method::GET, path, "")
                .header("Authorization", authorization),
        )
        .await
    }
}

/// The value of a response header, or "" when it is absent.
pub fn header(response: &Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// Asserts `401 not_authenticated` with a `WWW-Authenticate: Bearer…` challenge.
pub async fn assert_unauthenticated(response: Response) -> Value {
    let challenge = header(&response, "www-authenticate");
    let body = assert_error(response, 401, "not_authenticated").await;
    assert!(
        challenge.starts_with("Bearer"),
        "WWW-Authenticate {challenge:?}, body: {body}"
    );
    body
}

/// Asserts a `400 validation_error` whose `errors` has an entry for every one of `fields`.
pub async fn assert_field_errors(response: Response, fields: &[&str]) -> Value {
    let body = assert_error(response, 400, "validation_error").await;
    for field in fields {
        let messages = body["errors"][*field].as_array();
        assert!(
            messages.is_some_and(|m| !m.is_empty()),
            "errors.{field} expected, body: {body}"
        );
    }
    body
}

/// `base` with every key of `extra` set on it (both are JSON objects).
pub fn merged(mut base: Value, extra: &Value) -> Value {
    let target = base.as_object_mut().expect("base is a JSON object");
    for (key, value) in extra.as_object().expect("extra is a JSON object") {
        target.insert(key.clone(), value.clone());
    }
    base
}

/// Percent-encodes `text` for use as one query-string value.
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                char::from(byte).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

/// Asserts that a `Location` value names `path` (absolute or not, with or without a trailing slash).
pub fn assert_location(location: &str, path: &str) {
    let trimmed = location.trim_end_matches('/');
    assert!(
        trimmed.ends_with(path),
        "Location {location:?} should name {path}"
    );
}

/// The `id` of a JSON object.
pub fn id(object: &Value) -> i64 {
    object["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("integer id in {object}"))
}

/// The `id` of every element of a JSON array, in order.
pub fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .expect("a JSON array")
        .iter()
        .map(id)
        .collect()
}

/// `GET path` as `token`, asserting `200`, and the ids of the listed records in order.
pub async fn list_ids(app: &TestApp, path: &str, token: &str) -> Vec<i64> {
    ids(&json_with(app.get(path, token).await, 200).await)
}

/// Asserts every key of `expected` (a JSON object) has that value in `body`.
pub fn assert_fields(body: &Value, expected: &Value) {
    for (key, value) in expected.as_object().expect("expected is a JSON object") {
        assert_eq!(&body[key], value, "field {key} of {body}");
    }
}

/// Asserts a `400 validation_error` whose `errors` names exactly `fields`, each with messages.
pub async fn assert_exact_field_errors(response: Response, fields: &[&str]) -> Value {
    let body = assert_field_errors(response, fields).await;
    let mut keys: Vec<&str> = body["errors"]
        .as_object()
        .expect("an errors map")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    let mut expected = fields.to_vec();
    expected.sort_unstable();
    assert_eq!(keys, expected, "exactly these fields are bad, body: {body}");
    body
}

/// The `Link` header of a list response as rel -> URL.
pub fn links(response: &Response) -> std::collections::BTreeMap<String, String> {
    let link = header(response, "link");
    link.split(',')
        .filter(|part| !part.trim().is_empty())
        .map(|part| {
            let (url, params) = part.split_once(';').expect("<url>; rel=...");
            let url = url.trim().trim_start_matches('<').trim_end_matches('>');
            let rel = params
                .split(';')
                .find_map(|param| param.trim().strip_prefix("rel="))
                .expect("a rel parameter")
                .trim_matches('"');
            (rel.to_owned(), url.to_owned())
        })
        .collect()
}

/// The value of query parameter `name` in `url`, if present.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let (_, query) = url.split_once('?')?;
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

/// Asserts `field` never decreases (or, with `descending`, never increases) along `list`.
pub fn assert_ordered(list: &Value, field: &str, descending: bool) {
    let items = list.as_array().expect("a JSON array");
    for pair in items.windows(2) {
        let (a, b) = (&pair[0][field], &pair[1][field]);
        let order = match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) => x.partial_cmp(&y).expect("comparable numbers"),
            _ => a.as_str().expect("text").cmp(b.as_str().expect("text")),
        };
        let wrong = if descending {
            std::cmp::Ordering::Less
        } else {
            std::cmp::Ordering::Greater
        };
        assert_ne!(
            order, wrong,
            "ordering by {field} (descending: {descending}): {a} then {b}"
        );
    }
}

/// Asserts an RFC 3339 UTC timestamp of the form `YYYY-MM-DDTHH:MM:SSZ`.
pub fn assert_timestamp(value: &Value) {
    let text = value.as_str().unwrap_or_default();
    let shape_ok = text.len() == 20
        && text.ends_with('Z')
        && text.as_bytes()[10] == b'T'
        && text[..4].bytes().all(|b| b.is_ascii_digit());
    assert!(shape_ok, "timestamp YYYY-MM-DDTHH:MM:SSZ, got {value}");
}

/// Starts the server and sets up the first admin and a staff account, both logged in.
pub async fn spawn_clinic() -> (TestApp, Account, Account) {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let staff = app.account(&admin, "staff", "staff@clinic.test").await;
    (app, admin, staff)
}

/// Moves the clinic to a zone where it is about midday now. Weekly hours
/// end at 23:59 at the latest, so a test that books "now" against
/// round-the-clock hours would be refused in the last minutes of a UTC day;
/// in this zone the test never meets midnight, whenever it runs.
pub async fn at_midday(app: &TestApp, admin: &Account) {
    let hour = i64::try_from(unix_now() / 3600 % 24).expect("an hour of the day");
    // Hours east of UTC that make it 12 o'clock: from -11 to +12, all of
    // which the `Etc/GMT` zones cover (their sign is POSIX's: `Etc/GMT-5` is
    // five hours east).
    let east = 12 - hour;
    let zone = match east {
        0 => "Etc/GMT".to_owned(),
        east if east > 0 => format!("Etc/GMT-{east}"),
        east => format!("Etc/GMT+{}", -east),
    };
    let body = json!({ "time_zone": zone });
    let saved = app.patch("/api/settings/", &admin.access, &body).await;
    assert_eq!(saved.status(), 200, "the clinic moves to {zone}");
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// Claims shaped exactly like the server's tokens, valid for ten minutes.
pub fn token_claims(user_id: i64, typ: &str) -> Value {
    let now = unix_now();
    json!({
        "sub": user_id.to_string(), "role": "admin", "iat": now, "exp": now + 600,
        "jti": format!("forged-{user_id}-{typ}-{now}"), "iss": "clinicdesk", "aud": "clinicdesk",
        "typ": typ,
    })
}

/// The server's signing secret: `jwt.key` in its data dir, the hex of 32 bytes.
pub fn jwt_secret(app: &TestApp) -> Vec<u8> {
    let text = std::fs::read_to_string(app.data_dir.path().join("jwt.key")).expect("jwt.key");
    let hex = text.trim();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("jwt.key is hex"))
        .collect()
}

/// A JWT over `claims`, signed with `secret` using `algorithm`.
pub fn sign_token(secret: &[u8], algorithm: jsonwebtoken::Algorithm, claims: &Value) -> String {
    let key = jsonwebtoken::EncodingKey::from_secret(secret);
    jsonwebtoken::encode(&jsonwebtoken::Header::new(algorithm), claims, &key)
        .expect("token encodes")
}

/// Unpadded base64url, as JWT segments use.
pub fn b64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0_u32, |acc, (i, b)| acc | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// Asserts `200 OK` and returns the JSON body.
pub async fn ok(response: Response) -> Value {
    json_with(response, 200).await
}

/// Asserts `404 not_found` and returns the body.
pub async fn assert_not_found(response: Response) -> Value {
    assert_error(response, 404, "not_found").await
}

/// Asserts `204 No Content`.
pub fn assert_no_content(response: &Response) {
    assert_eq!(response.status(), 204, "expected 204 No Content");
}

/// Creates a patient as `token` (asserting 201) and returns its id.
pub async fn add_patient(app: &TestApp, token: &str, body: &Value) -> i64 {
    id(&app.create_patient(token, body).await)
}

/// Creates a doctor as `token` (asserting 201) and returns its id.
pub async fn add_doctor(app: &TestApp, token: &str, body: &Value) -> i64 {
    id(&app.create_doctor(token, body).await)
}

/// Maps `patient` to `doctor` as `token` (asserting 201) and returns the mapping id.
pub async fn add_mapping(app: &TestApp, token: &str, patient: i64, doctor: i64) -> i64 {
    let body = json!({ "patient": patient, "doctor": doctor });
    id(&app.create_mapping(token, &body).await)
}

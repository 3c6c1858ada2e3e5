//! The audit trail: one row per thing a person did with a record, written
//! by `record` on the caller's own connection, so a change and its row
//! commit (or roll back) together. The table refuses UPDATE and DELETE
//! (see `migrations/0006_audit_log.sql`).
//!
//! What is recorded: who (account and role), from where (client address and
//! the request id also sent as `X-Request-Id`), what (action, entity, id,
//! outcome) and the *names* of the fields involved. Never a value: no name,
//! phone number, password or token ever reaches this table.
//!
//! Reads are audited too: opening one patient is a `view`, a list or search
//! is one `search`. Attempts that ended in 403, or in 404 for a record that
//! exists but is not the caller's, are `denied` (see `denied.rs`).

use rusqlite::{params, Connection};
use serde::Serialize;

use crate::auth::{Caller, Role};
use crate::db;
use crate::error::ApiError;
use crate::origin::Origin;

pub mod denied;
pub mod routes;
mod sql;

/// What happened. Stored as the snake-case name (the schema lists them all).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    Archive,
    Restore,
    Delete,
    View,
    Search,
    Export,
    Login,
    LoginFailed,
    /// Before 0.x's throttling: an account lockout (kept to read old rows).
    Lockout,
    /// Failed sign-ins started a sign-in delay (per address, or per account and address).
    Throttle,
    Unlock,
    Logout,
    PasswordChange,
    RoleChange,
    UserDeactivate,
    TokenReuse,
    Setup,
    SettingChange,
    Denied,
    Backup,
    /// An appointment moved along its status flow (arrived, started, …).
    StatusChange,
    /// Staff booked over a clash, or outside a doctor's hours, on purpose.
    Override,
    /// Two patient records became one (`entity_id` survives, `related_id` was archived into it).
    Merge,
    /// Two patient records were marked as two people.
    NotDuplicate,
    /// Records were brought in from a file (a whole-clinic document, a
    /// spreadsheet, a Django dump): one event for the whole import (a
    /// spreadsheet's holds `count:N` in `fields`).
    Import,
}

impl Action {
    pub const ALL: [Self; 27] = [
        Self::Create,
        Self::Update,
        Self::Archive,
        Self::Restore,
        Self::Delete,
        Self::View,
        Self::Search,
        Self::Export,
        Self::Login,
        Self::LoginFailed,
        Self::Lockout,
        Self::Throttle,
        Self::Unlock,
        Self::Logout,
        Self::PasswordChange,
        Self::RoleChange,
        Self::UserDeactivate,
        Self::TokenReuse,
        Self::Setup,
        Self::SettingChange,
        Self::Denied,
        Self::Backup,
        Self::StatusChange,
        Self::Override,
        Self::Merge,
        Self::NotDuplicate,
        Self::Import,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Archive => "archive",
            Self::Restore => "restore",
            Self::Delete => "delete",
            Self::View => "view",
            Self::Search => "search",
            Self::Export => "export",
            Self::Login => "login",
            Self::LoginFailed => "login_failed",
            Self::Lockout => "lockout",
            Self::Throttle => "throttle",
            Self::Unlock => "unlock",
            Self::Logout => "logout",
            Self::PasswordChange => "password_change",
            Self::RoleChange => "role_change",
            Self::UserDeactivate => "user_deactivate",
            Self::TokenReuse => "token_reuse",
            Self::Setup => "setup",
            Self::SettingChange => "setting_change",
            Self::Denied => "denied",
            Self::Backup => "backup",
            Self::StatusChange => "status_change",
            Self::Override => "override",
            Self::Merge => "merge",
            Self::NotDuplicate => "not_duplicate",
            Self::Import => "import",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == text)
    }
}

/// The kind of record an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Entity {
    Patient,
    Doctor,
    Mapping,
    User,
    Setting,
    Backup,
    Audit,
    Appointment,
    TimeOff,
}

impl Entity {
    pub const ALL: [Self; 9] = [
        Self::Patient,
        Self::Doctor,
        Self::Mapping,
        Self::User,
        Self::Setting,
        Self::Backup,
        Self::Audit,
        Self::Appointment,
        Self::TimeOff,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Patient => "patient",
            Self::Doctor => "doctor",
            Self::Mapping => "mapping",
            Self::User => "user",
            Self::Setting => "setting",
            Self::Backup => "backup",
            Self::Audit => "audit",
            Self::Appointment => "appointment",
            Self::TimeOff => "time_off",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == text)
    }
}

/// Who did it: an account, or nobody signed in (`None`), and from where
/// (`None` for the server's own jobs and the command line).
#[derive(Debug, Clone, Copy)]
pub struct Actor {
    pub account: Option<(i64, Role)>,
    pub origin: Option<Origin>,
}

impl Actor {
    /// Someone at the API who is not signed in (a failed login, setup).
    pub fn anonymous(origin: Origin) -> Self {
        Self {
            account: None,
            origin: Some(origin),
        }
    }

    /// An account acting before it holds a token (login, registration).
    pub fn account(id: i64, role: Role, origin: Origin) -> Self {
        Self {
            account: Some((id, role)),
            origin: Some(origin),
        }
    }

    /// The server itself (the daily backup) or the command line.
    pub fn system() -> Self {
        Self {
            account: None,
            origin: None,
        }
    }
}

impl From<&Caller> for Actor {
    fn from(caller: &Caller) -> Self {
        Self::account(caller.id, caller.role, caller.origin)
    }
}

/// One thing that happened, built up with the methods below.
#[derive(Debug, Clone)]
pub struct Event {
    action: Action,
    entity: Option<Entity>,
    entity_id: Option<i64>,
    related_id: Option<i64>,
    failed: bool,
    fields: Vec<String>,
}

impl Event {
    pub fn new(action: Action) -> Self {
        Self {
            action,
            entity: None,
            entity_id: None,
            related_id: None,
            failed: false,
            fields: Vec::new(),
        }
    }

    /// About one record.
    #[must_use]
    pub fn on(mut self, entity: Entity, id: i64) -> Self {
        self.entity = Some(entity);
        self.entity_id = Some(id);
        self
    }

    /// A second record of the same kind the event names (a merge's
    /// archived record; the other patient of "not the same person").
    #[must_use]
    pub fn related(mut self, id: i64) -> Self {
        self.related_id = Some(id);
        self
    }

    /// About a kind of record (a search, an export).
    #[must_use]
    pub fn about(mut self, entity: Entity) -> Self {
        self.entity = Some(entity);
        self
    }

    /// About a record that may not be known (a login for an unknown email).
    #[must_use]
    pub fn on_maybe(mut self, entity: Entity, id: Option<i64>) -> Self {
        self.entity = Some(entity);
        self.entity_id = id;
        self
    }

    /// The names of the fields involved (never their values).
    #[must_use]
    pub fn fields<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.fields = names.into_iter().map(Into::into).collect();
        self
    }

    /// The attempt failed (a wrong password, a backup that could not be made).
    #[must_use]
    pub fn failed(mut self) -> Self {
        self.failed = true;
        self
    }
}

/// Appends `event` on `conn`: inside the caller's transaction when there is
/// one, so the row exists exactly when the change it records does.
pub fn record(conn: &Connection, actor: impl Into<Actor>, event: Event) -> Result<(), ApiError> {
    let actor = actor.into();
    let fields = if event.fields.is_empty() {
        None
    } else {
        Some(serde_json::to_string(&event.fields).map_err(anyhow::Error::from)?)
    };
    conn.prepare_cached(
        "INSERT INTO audit_log (at, actor_id, actor_role, action, entity, entity_id, outcome,
                                client_ip, request_id, fields, related_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        db::now(),
        actor.account.map(|(id, _)| id),
        actor.account.map(|(_, role)| role),
        event.action.as_str(),
        event.entity.map(Entity::as_str),
        event.entity_id,
        if event.failed { "failure" } else { "success" },
        actor.origin.map(|o| o.ip.to_string()),
        actor.origin.map(|o| o.request_id.to_string()),
        fields,
        event.related_id,
    ])?;
    Ok(())
}

/// Records `event` by the command line in the database file at `database`
/// (for `clinicdesk backup` and `restore`, which run outside the server). A
/// database from before the audit trail existed has no table yet: nothing
/// is recorded there, and the caller is told.
pub fn record_offline(database: &std::path::Path, event: Event) -> anyhow::Result<bool> {
    let conn = Connection::open(database)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let has_table: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'audit_log')",
        [],
        |row| row.get(0),
    )?;
    if has_table {
        record(&conn, Actor::system(), event).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    }
    Ok(has_table)
}

/// The names of the fields whose values differ between two versions of a
/// record (compared as JSON, so any `Serialize` record works).
pub fn changed_fields(before: &impl Serialize, after: &impl Serialize) -> Vec<String> {
    let (Ok(serde_json::Value::Object(before)), Ok(serde_json::Value::Object(after))) =
        (serde_json::to_value(before), serde_json::to_value(after))
    else {
        return Vec::new();
    };
    after
        .iter()
        .filter(|(name, value)| before.get(*name) != Some(value))
        .map(|(name, _)| name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_and_entity_reads_back_from_its_stored_name() {
        for action in Action::ALL {
            assert_eq!(Action::parse(action.as_str()), Some(action));
        }
        for entity in Entity::ALL {
            assert_eq!(Entity::parse(entity.as_str()), Some(entity));
        }
        assert_eq!(Action::parse("drop"), None);
    }

    #[test]
    fn changed_fields_names_only_what_differs() {
        let before = serde_json::json!({ "a": 1, "b": "x", "c": null });
        let after = serde_json::json!({ "a": 1, "b": "y", "c": "z" });
        assert_eq!(changed_fields(&before, &after), ["b", "c"]);
    }
}

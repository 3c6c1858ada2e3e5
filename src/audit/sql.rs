//! Reading the audit trail. The `WHERE` clause is assembled from the filters
//! actually given (fixed fragments, values bound), so each query is a range
//! scan on one of the table's indexes rather than a pass over every row.

use rusqlite::Connection;
use serde::Serialize;

use super::{Action, Entity};
use crate::auth::Role;
use crate::db::{self, NamedValues};
use crate::error::ApiError;
use crate::http::Paging;

/// One row of the trail as the API answers it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Entry {
    pub id: i64,
    /// UTC, RFC 3339.
    pub at: String,
    pub actor_id: Option<i64>,
    pub actor_role: Option<Role>,
    pub action: String,
    pub entity: Option<String>,
    pub entity_id: Option<i64>,
    /// A second record the event names (a merge: the record archived into
    /// `entity_id`).
    pub related_id: Option<i64>,
    /// `success` or `failure`.
    pub outcome: String,
    pub client_ip: Option<String>,
    pub request_id: Option<String>,
    /// Names of the fields involved; never values.
    pub fields: Vec<String>,
}

impl Entry {
    fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        let fields: Option<String> = row.get("fields")?;
        Ok(Self {
            id: row.get("id")?,
            at: row.get("at")?,
            actor_id: row.get("actor_id")?,
            actor_role: row.get("actor_role")?,
            action: row.get("action")?,
            entity: row.get("entity")?,
            entity_id: row.get("entity_id")?,
            related_id: row.get("related_id")?,
            outcome: row.get("outcome")?,
            client_ip: row.get("client_ip")?,
            request_id: row.get("request_id")?,
            fields: fields
                .and_then(|f| serde_json::from_str(&f).ok())
                .unwrap_or_default(),
        })
    }
}

/// Validated filters; every one optional.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub user_id: Option<i64>,
    pub entity: Option<Entity>,
    pub entity_id: Option<i64>,
    pub action: Option<Action>,
    /// An action left out (`search`, so the rest of the trail can be read).
    pub exclude_action: Option<Action>,
    /// Inclusive lower bound, in the stored format.
    pub from: Option<String>,
    /// Exclusive upper bound, in the stored format.
    pub until: Option<String>,
}

impl AuditFilter {
    fn where_clause(&self) -> (String, NamedValues<'static>) {
        let mut conditions = Vec::new();
        let mut values: NamedValues<'static> = Vec::new();
        if let Some(user_id) = self.user_id {
            conditions.push("actor_id = :user_id");
            values.push((":user_id", Box::new(user_id)));
        }
        if let Some(entity) = self.entity {
            conditions.push("entity = :entity");
            values.push((":entity", Box::new(entity.as_str())));
        }
        if let Some(entity_id) = self.entity_id {
            // A record's history includes the events that name it second.
            conditions.push("(entity_id = :entity_id OR related_id = :entity_id)");
            values.push((":entity_id", Box::new(entity_id)));
        }
        if let Some(action) = self.action {
            conditions.push("action = :action");
            values.push((":action", Box::new(action.as_str())));
        }
        if let Some(excluded) = self.exclude_action {
            conditions.push("action <> :exclude_action");
            values.push((":exclude_action", Box::new(excluded.as_str())));
        }
        if let Some(from) = &self.from {
            conditions.push("at >= :from");
            values.push((":from", Box::new(from.clone())));
        }
        if let Some(until) = &self.until {
            conditions.push("at < :until");
            values.push((":until", Box::new(until.clone())));
        }
        if conditions.is_empty() {
            (String::new(), values)
        } else {
            (format!("WHERE {}", conditions.join(" AND ")), values)
        }
    }
}

/// How many rows match.
pub fn count(conn: &Connection, filter: &AuditFilter) -> Result<i64, ApiError> {
    let (where_clause, values) = filter.where_clause();
    Ok(conn
        .prepare_cached(&format!("SELECT count(*) FROM audit_log {where_clause}"))?
        .query_row(db::bind(&values).as_slice(), |row| row.get(0))?)
}

/// Matching rows, newest first; `paging` `None` means all of them.
pub fn select(
    conn: &Connection,
    filter: &AuditFilter,
    paging: Option<Paging>,
) -> Result<Vec<Entry>, ApiError> {
    let (where_clause, mut values) = filter.where_clause();
    let (limit, offset) = paging.map_or((-1, 0), |p| (p.limit(), p.offset()));
    values.push((":limit", Box::new(limit)));
    values.push((":offset", Box::new(offset)));
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id, at, actor_id, actor_role, action, entity, entity_id, related_id, outcome,
                client_ip, request_id, fields
           FROM audit_log {where_clause}
          ORDER BY id DESC {}",
        db::PAGE
    ))?;
    let rows = stmt
        .query_map(db::bind(&values).as_slice(), Entry::from_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

-- The audit trail: who did what to which record, when, from where.
-- Rows are written in the same transaction as the change they record and
-- are never changed or removed (the triggers below refuse it, even to SQL
-- typed by hand). Values never appear here, only the names of fields.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          TEXT    NOT NULL,              -- UTC, RFC 3339, to the second
    actor_id    INTEGER,                       -- NULL: nobody signed in (a failed login, setup)
    actor_role  TEXT    CHECK (actor_role IN ('admin', 'staff', 'user')),
    action      TEXT    NOT NULL CHECK (action IN (
                    'create', 'update', 'archive', 'restore', 'delete', 'view', 'search',
                    'export', 'login', 'login_failed', 'lockout', 'unlock', 'logout',
                    'password_change', 'role_change', 'user_deactivate', 'token_reuse',
                    'setup', 'setting_change', 'denied', 'backup')),
    entity      TEXT    CHECK (entity IN (
                    'patient', 'doctor', 'mapping', 'user', 'setting', 'backup', 'audit')),
    entity_id   INTEGER,
    outcome     TEXT    NOT NULL CHECK (outcome IN ('success', 'failure')),
    client_ip   TEXT,
    request_id  TEXT,
    fields      TEXT                           -- JSON array of field names, or NULL
);

-- One record's trail, one person's actions, one kind of action: each a
-- range scan, newest first, however long the log grows.
CREATE INDEX audit_log_by_entity ON audit_log (entity, entity_id, id);
CREATE INDEX audit_log_by_actor  ON audit_log (actor_id, id);
CREATE INDEX audit_log_by_action ON audit_log (action, id);
CREATE INDEX audit_log_by_time   ON audit_log (at, id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

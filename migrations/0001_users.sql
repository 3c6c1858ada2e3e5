-- Accounts, their refresh tokens, and the clinic-wide settings.
--
-- Timestamps are RFC 3339 UTC text (`2026-11-23T10:30:00Z`): they sort as
-- strings and read the same in the API, in logs and in the sqlite3 shell.

-- Accounts are never erased (only deactivated) so every record they touched
-- stays attributable. Email and username are unique case-insensitively:
-- `Ada@Clinic.test` and `ada@clinic.test` are one person.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    username      TEXT    UNIQUE COLLATE NOCASE,
    name          TEXT,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'staff', 'user')),
    is_active     INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL
);

-- One row per refresh token ever issued. `family` groups the tokens of one
-- login: rotation marks the old row used and adds a new one to the family;
-- presenting a used token again means it was stolen, and the whole family is
-- revoked.
CREATE TABLE refresh_tokens (
    jti        TEXT    PRIMARY KEY,
    family     TEXT    NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    expires_at INTEGER NOT NULL, -- unix seconds, as in the token's `exp`
    used_at    TEXT,
    revoked_at TEXT,
    created_at TEXT    NOT NULL
);
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_by_user ON refresh_tokens (user_id);

-- Exactly one row (id = 1). Typed columns rather than key/value pairs so the
-- schema itself rejects a bad value.
CREATE TABLE settings (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    registration TEXT    NOT NULL CHECK (registration IN ('open', 'closed')),
    clinic_name  TEXT,
    updated_at   TEXT    NOT NULL
);

-- A password an admin sets (a new account, a reset) is temporary: its
-- owner must choose their own before doing anything else.
ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0
    CHECK (must_change_password IN (0, 1));

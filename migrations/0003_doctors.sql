-- Doctors. Archived like patients. Email and licence number identify a
-- person, so they stay unique even across archived doctors (restoring one
-- must not create a duplicate); several doctors may leave them empty.
CREATE TABLE doctors (
    id                   INTEGER PRIMARY KEY,
    first_name           TEXT    NOT NULL CHECK (length(first_name) BETWEEN 1 AND 100),
    last_name            TEXT    CHECK (length(last_name) <= 100),
    specialization       TEXT    NOT NULL CHECK (length(specialization) BETWEEN 1 AND 100),
    years_of_experience  INTEGER CHECK (years_of_experience BETWEEN 0 AND 70),
    phone                TEXT,
    email                TEXT    UNIQUE COLLATE NOCASE,
    qualification        TEXT,
    license_number       TEXT    UNIQUE COLLATE NOCASE,
    -- Money as whole cents: no binary fractions in a fee.
    consultation_fee_cents INTEGER CHECK (consultation_fee_cents >= 0),
    available_days       TEXT,
    available_time       TEXT,
    bio                  TEXT,
    languages_spoken     TEXT,
    city                 TEXT,
    is_available         INTEGER NOT NULL DEFAULT 1 CHECK (is_available IN (0, 1)),
    search_text          TEXT    NOT NULL DEFAULT '',
    created_by           INTEGER NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    created_at           TEXT    NOT NULL,
    updated_at           TEXT    NOT NULL,
    deleted_at           TEXT
);

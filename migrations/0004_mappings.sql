-- Which doctor looks after which patient. A pair may have many past
-- (INACTIVE, COMPLETED) mappings but only one ACTIVE one at a time; the
-- partial unique index enforces that even against a racing second request.
CREATE TABLE mappings (
    id         INTEGER PRIMARY KEY,
    patient_id INTEGER NOT NULL REFERENCES patients (id) ON DELETE RESTRICT,
    doctor_id  INTEGER NOT NULL REFERENCES doctors (id) ON DELETE RESTRICT,
    reason     TEXT,
    notes      TEXT,
    status     TEXT    NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'INACTIVE', 'COMPLETED')),
    created_by INTEGER NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    created_at TEXT    NOT NULL,
    updated_at TEXT    NOT NULL
);
CREATE UNIQUE INDEX mappings_one_active_pair ON mappings (patient_id, doctor_id) WHERE status = 'ACTIVE';
CREATE INDEX mappings_by_doctor ON mappings (doctor_id);

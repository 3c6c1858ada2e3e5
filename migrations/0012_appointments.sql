-- The clinic's day: doctors' weekly hours and time off, appointments, and
-- accounts that belong to a doctor.
--
-- Appointment times are UTC RFC 3339 text to the second
-- (`2027-03-29T07:00:00Z`), like every other timestamp here: fixed width,
-- so they compare and sort as strings. Weekly hours are local wall-clock
-- times (`09:00`) in the clinic's zone, so a 09:00 block stays 09:00 across
-- a DST change.

-- The length of a doctor's usual appointment, in minutes.
ALTER TABLE doctors ADD COLUMN appointment_minutes INTEGER NOT NULL DEFAULT 15
    CHECK (appointment_minutes BETWEEN 5 AND 240);

-- The doctor record an account belongs to (a doctor who signs in), one
-- account per doctor. ADD COLUMN cannot carry UNIQUE: the index does it.
ALTER TABLE users ADD COLUMN doctor_id INTEGER REFERENCES doctors (id) ON DELETE RESTRICT;
CREATE UNIQUE INDEX users_one_per_doctor ON users (doctor_id) WHERE doctor_id IS NOT NULL;

-- Weekly hours: several blocks a day; weekday is ISO (Monday = 1).
CREATE TABLE doctor_hours (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    doctor_id   INTEGER NOT NULL REFERENCES doctors (id) ON DELETE RESTRICT,
    weekday     INTEGER NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    start_time  TEXT    NOT NULL CHECK (start_time GLOB '[0-2][0-9]:[0-5][0-9]'),
    end_time    TEXT    NOT NULL CHECK (end_time GLOB '[0-2][0-9]:[0-5][0-9]'),
    CHECK (start_time < end_time)
);
CREATE INDEX doctor_hours_by_doctor ON doctor_hours (doctor_id, weekday, start_time);

-- Absences: a holiday, a course, a sick day.
CREATE TABLE doctor_time_off (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    doctor_id   INTEGER NOT NULL REFERENCES doctors (id) ON DELETE RESTRICT,
    start_at    TEXT    NOT NULL,
    end_at      TEXT    NOT NULL,
    reason      TEXT    CHECK (length(reason) <= 200),
    created_by  INTEGER NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    created_at  TEXT    NOT NULL,
    CHECK (start_at < end_at)
);
CREATE INDEX doctor_time_off_by_doctor ON doctor_time_off (doctor_id, end_at);

-- Appointments are never erased: a cancel is a status. `overbooked` marks
-- one booked on purpose over another (staff's override, audited); it is
-- exempt from the overlap rule, and later bookings still see it.
CREATE TABLE appointments (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    patient_id         INTEGER NOT NULL REFERENCES patients (id) ON DELETE RESTRICT,
    doctor_id          INTEGER NOT NULL REFERENCES doctors (id) ON DELETE RESTRICT,
    start_at           TEXT    NOT NULL,
    end_at             TEXT    NOT NULL,
    kind               TEXT    NOT NULL DEFAULT 'scheduled' CHECK (kind IN ('scheduled', 'walk_in')),
    status             TEXT    NOT NULL DEFAULT 'booked' CHECK (status IN (
                           'booked', 'arrived', 'in_progress', 'completed', 'cancelled', 'no_show')),
    overbooked         INTEGER NOT NULL DEFAULT 0 CHECK (overbooked IN (0, 1)),
    reason             TEXT    CHECK (length(reason) <= 200),
    notes              TEXT    CHECK (length(notes) <= 2000),
    cancel_reason      TEXT    CHECK (length(cancel_reason) <= 200),
    created_by         INTEGER NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    created_at         TEXT    NOT NULL,
    updated_at         TEXT    NOT NULL,
    arrived_at         TEXT,
    started_at         TEXT,
    completed_at       TEXT,
    cancelled_at       TEXT,
    no_show_at         TEXT,
    status_changed_at  TEXT,
    status_changed_by  INTEGER REFERENCES users (id) ON DELETE RESTRICT,
    -- 5 minutes to 8 hours; the overlap triggers rely on the upper bound.
    CHECK (unixepoch(end_at) - unixepoch(start_at) BETWEEN 300 AND 28800)
);
-- A doctor's day and a patient's list are range scans; so is the overlap
-- check, bounded below by the longest possible appointment (8 hours).
CREATE INDEX appointments_by_doctor  ON appointments (doctor_id, start_at);
CREATE INDEX appointments_by_patient ON appointments (patient_id, start_at);
-- The whole clinic's day (the Today board).
CREATE INDEX appointments_by_start   ON appointments (start_at);

-- No double booking, as a database guarantee: an active appointment
-- (booked, arrived, in progress) may not overlap another active one of the
-- same doctor or of the same patient. Touching (one ends as the next
-- starts) is not an overlap. The application checks first to name the
-- clashes; these triggers hold the rule for every write, whatever its path.
CREATE TRIGGER appointments_no_overlap_insert
BEFORE INSERT ON appointments
WHEN NEW.status IN ('booked', 'arrived', 'in_progress') AND NEW.overbooked = 0
BEGIN
    SELECT RAISE(ABORT, 'slot_taken')
     WHERE EXISTS (SELECT 1 FROM appointments a
                    WHERE a.doctor_id = NEW.doctor_id
                      AND a.start_at > strftime('%Y-%m-%dT%H:%M:%SZ', NEW.start_at, '-480 minutes')
                      AND a.start_at < NEW.end_at AND a.end_at > NEW.start_at
                      AND a.status IN ('booked', 'arrived', 'in_progress'))
        OR EXISTS (SELECT 1 FROM appointments a
                    WHERE a.patient_id = NEW.patient_id
                      AND a.start_at > strftime('%Y-%m-%dT%H:%M:%SZ', NEW.start_at, '-480 minutes')
                      AND a.start_at < NEW.end_at AND a.end_at > NEW.start_at
                      AND a.status IN ('booked', 'arrived', 'in_progress'));
END;

-- On a change, only when the appointment takes up new time: it moves, or
-- becomes active, or loses its override. A status step along the flow
-- (booked → arrived → in progress) takes nothing new, so it never clashes
-- with one booked over it on purpose.
CREATE TRIGGER appointments_no_overlap_update
BEFORE UPDATE OF patient_id, doctor_id, start_at, end_at, status, overbooked ON appointments
WHEN NEW.status IN ('booked', 'arrived', 'in_progress') AND NEW.overbooked = 0
 AND (OLD.status NOT IN ('booked', 'arrived', 'in_progress') OR OLD.overbooked = 1
      OR NEW.patient_id IS NOT OLD.patient_id OR NEW.doctor_id IS NOT OLD.doctor_id
      OR NEW.start_at IS NOT OLD.start_at OR NEW.end_at IS NOT OLD.end_at)
BEGIN
    SELECT RAISE(ABORT, 'slot_taken')
     WHERE EXISTS (SELECT 1 FROM appointments a
                    WHERE a.doctor_id = NEW.doctor_id AND a.id <> NEW.id
                      AND a.start_at > strftime('%Y-%m-%dT%H:%M:%SZ', NEW.start_at, '-480 minutes')
                      AND a.start_at < NEW.end_at AND a.end_at > NEW.start_at
                      AND a.status IN ('booked', 'arrived', 'in_progress'))
        OR EXISTS (SELECT 1 FROM appointments a
                    WHERE a.patient_id = NEW.patient_id AND a.id <> NEW.id
                      AND a.start_at > strftime('%Y-%m-%dT%H:%M:%SZ', NEW.start_at, '-480 minutes')
                      AND a.start_at < NEW.end_at AND a.end_at > NEW.start_at
                      AND a.status IN ('booked', 'arrived', 'in_progress'));
END;

-- The audit trail learns the new records and actions. Its CHECK lists are
-- part of the table, so it is rebuilt as 0010 did (same columns, same rows,
-- same indexes and append-only triggers). New entities: appointment,
-- time_off. New actions: status_change (an appointment's status flow),
-- override (a booking over a clash or outside hours), and merge, import,
-- not_duplicate for the duplicate and data-in features that follow.
CREATE TABLE new_audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT    NOT NULL,
    actor_id    INTEGER,
    actor_role  TEXT    CHECK (actor_role IN ('admin', 'staff', 'user')),
    action      TEXT    NOT NULL CHECK (action IN (
                    'create', 'update', 'archive', 'restore', 'delete', 'view', 'search',
                    'export', 'login', 'login_failed', 'lockout', 'throttle', 'unlock', 'logout',
                    'password_change', 'role_change', 'user_deactivate', 'token_reuse',
                    'setup', 'setting_change', 'denied', 'backup',
                    'status_change', 'override', 'merge', 'import', 'not_duplicate')),
    entity      TEXT    CHECK (entity IN (
                    'patient', 'doctor', 'mapping', 'user', 'setting', 'backup', 'audit',
                    'appointment', 'time_off')),
    entity_id   INTEGER,
    outcome     TEXT    NOT NULL CHECK (outcome IN ('success', 'failure')),
    client_ip   TEXT,
    request_id  TEXT,
    fields      TEXT
);
INSERT INTO new_audit_log (id, at, actor_id, actor_role, action, entity, entity_id, outcome,
                           client_ip, request_id, fields)
    SELECT id, at, actor_id, actor_role, action, entity, entity_id, outcome,
           client_ip, request_id, fields
      FROM audit_log;
DROP TABLE audit_log;
ALTER TABLE new_audit_log RENAME TO audit_log;
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

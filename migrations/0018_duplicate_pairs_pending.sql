-- Patients whose duplicate pairs must be scored again. A write of a patient
-- (create, change, restore, merge, import) adds its id in the same
-- transaction; the server scores the pairs in the background, when no
-- request is waiting to write, and before it answers the clinic-wide list
-- (so the list is never behind what was written). A crash leaves the ids
-- here, and the next start scores them.
CREATE TABLE duplicate_pairs_pending (
    patient_id INTEGER PRIMARY KEY REFERENCES patients (id)
);

-- A doctor who is archived no longer looks after anyone: their ACTIVE
-- mappings become INACTIVE in the same statement. This rule belongs to the
-- mappings table, so it lives here, beside it, rather than in the doctors
-- code (which then writes only the doctors table). The behaviour is the one
-- the doctors code had before; the trigger also holds for any later path
-- that archives a doctor.
CREATE TRIGGER mappings_end_with_their_doctor
AFTER UPDATE OF deleted_at ON doctors
WHEN OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL
BEGIN
    UPDATE mappings SET status = 'INACTIVE', updated_at = NEW.deleted_at
     WHERE doctor_id = NEW.id AND status = 'ACTIVE';
END;

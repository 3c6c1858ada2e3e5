-- Per-account lockout: ten failed sign-ins in a row lock an account for a
-- quarter of an hour (a guessing attack on one account from many addresses
-- is not slowed by the per-address limit alone). A success resets the count;
-- an admin can unlock at once.
ALTER TABLE users ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0 CHECK (failed_logins >= 0);
ALTER TABLE users ADD COLUMN locked_until TEXT;

-- The daily backup's schedule becomes a clinic setting, so an admin can
-- change it on the Backups screen and the scheduler picks it up without a
-- restart. NULL only until the server's first start with this schema fills
-- in the config file's (or environment's) `backup_time` and `backup_keep`;
-- from then on the database wins, as for `registration`.
-- `backup_time` is a local wall-clock time in the clinic's time zone.
ALTER TABLE settings ADD COLUMN backup_time TEXT
    CHECK (backup_time IS NULL OR backup_time = 'off'
           OR (length(backup_time) = 5 AND backup_time GLOB '[0-2][0-9]:[0-5][0-9]'
               AND substr(backup_time, 1, 2) < '24'));
ALTER TABLE settings ADD COLUMN backup_keep INTEGER
    CHECK (backup_keep IS NULL OR backup_keep BETWEEN 1 AND 365);

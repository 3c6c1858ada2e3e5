-- The clinic's time zone (an IANA name such as `Europe/Berlin`), by which
-- "today" is judged (a date of birth may not be after it) and, later,
-- appointment times are read. NULL only until the server's first start
-- with this schema fills in its machine's zone (else `UTC`); the API
-- always answers a name.
ALTER TABLE settings ADD COLUMN time_zone TEXT;

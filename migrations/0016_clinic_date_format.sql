-- How the browser UI types and shows calendar dates (a date of birth):
-- `browser` (the order the signed-in computer's language uses) or one of
-- the fixed patterns `YYYY-MM-DD`, `DD.MM.YYYY`, `DD/MM/YYYY`, `MM/DD/YYYY`.
-- The API itself always speaks `YYYY-MM-DD`.
ALTER TABLE settings ADD COLUMN date_format TEXT NOT NULL DEFAULT 'browser';

-- Migration 13: the company's own databases that the data map names (design §10).
--
-- One row per `[[database]]` of the company file, in its order: the name the map's tables use
-- (`database = "shop"`) and the file's path as the file gives it (a relative path is relative to
-- the store's directory). `Store::open` attaches each under its name. dsr's own records never
-- go into these files.
CREATE TABLE map_database (
    name  TEXT PRIMARY KEY,
    sort  INTEGER NOT NULL,
    path  TEXT NOT NULL CHECK (path <> '')
) STRICT;

-- Migration 12: a token that changes with every change of the data map.
--
-- Every right reads the data map, often once per table of a person. Parsing it is cached, and
-- the cache is kept while this token stays the same: one row read instead of the whole map. The
-- triggers give the token a new random value on any insert, update or delete of `map_table`,
-- by dsr or by any other program, so a map changed by another process is never used stale; a
-- random value (not a counter) also tells two stores apart.
CREATE TABLE map_version (
    one   INTEGER PRIMARY KEY CHECK (one = 1),
    token BLOB NOT NULL
) STRICT;
INSERT INTO map_version (one, token) VALUES (1, randomblob(16));
CREATE TRIGGER map_table_inserted AFTER INSERT ON map_table
    BEGIN UPDATE map_version SET token = randomblob(16); END;
CREATE TRIGGER map_table_updated AFTER UPDATE ON map_table
    BEGIN UPDATE map_version SET token = randomblob(16); END;
CREATE TRIGGER map_table_deleted AFTER DELETE ON map_table
    BEGIN UPDATE map_version SET token = randomblob(16); END;

-- The data map (docs/register-file.md): one row per table that holds personal data, in the
-- order of the company file, with its entry as JSON (src/map/table.rs). category_table stays
-- the index of which category a table belongs to, filled from the same entries.
CREATE TABLE map_table (
    name    TEXT PRIMARY KEY REFERENCES category_table(table_name),
    sort    INTEGER NOT NULL,
    spec    TEXT NOT NULL CHECK (json_valid(spec))
) STRICT;

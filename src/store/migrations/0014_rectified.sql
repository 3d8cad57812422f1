-- Migration 14: the values a rectification set (Art. 16), by table, row and column, so that
-- `dsr import` does not silently put back an older value from the source system (design §10).
-- No value is kept here, only where it is; the rows go with the person's erasure and with the
-- request when retention removes it.
CREATE TABLE rectified (
    table_name   TEXT NOT NULL,
    row_key      TEXT NOT NULL,
    column_name  TEXT NOT NULL,
    request_id   TEXT NOT NULL REFERENCES request(id),
    rectified_at TEXT NOT NULL,
    PRIMARY KEY (table_name, row_key, column_name)
) STRICT, WITHOUT ROWID;
CREATE INDEX rectified_request ON rectified (request_id);

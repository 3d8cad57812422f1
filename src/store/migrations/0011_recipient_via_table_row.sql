-- Migration 11: a recipient reached through a row of the data map (issue 14).
--
-- recipient.received_via gains 'table-row': the person's data went to the recipient when one of
-- their rows in a table of the data map names it in a recipient column (`[[table.recipient]]
-- column`), e.g. the carrier of a webshop's shipment. As in migration 4, SQLite cannot alter a
-- CHECK, so the table is rebuilt under its own name with the foreign keys that point at it
-- deferred; every row goes back with its code and rowid, so the register keeps its order.
PRAGMA defer_foreign_keys = ON;

CREATE TEMP TABLE recipient_0011 AS SELECT rowid AS rid, * FROM recipient;
DROP TABLE recipient;
CREATE TABLE recipient (
    code          TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('processor', 'controller', 'authority', 'registry', 'group-company')),
    country       TEXT NOT NULL,                -- ISO 3166-1 alpha-2
    outside_eea   INTEGER NOT NULL CHECK (outside_eea IN (0, 1)),
    safeguards_en TEXT NOT NULL,                -- Art. 46 / Art. 45 basis for a transfer, or 'within the EU'
    safeguards_nl TEXT NOT NULL,
    received_via  TEXT NOT NULL CHECK (received_via IN ('payment-method', 'domain', 'disclosure', 'consent', 'purpose', 'dunning-step', 'table-row')),
    purpose       TEXT REFERENCES purpose(code),
    description_en TEXT NOT NULL,
    description_nl TEXT NOT NULL,
    CHECK ((received_via IN ('consent', 'purpose')) = (purpose IS NOT NULL))
) STRICT;
INSERT INTO recipient (rowid, code, name, kind, country, outside_eea, safeguards_en, safeguards_nl, received_via, purpose, description_en, description_nl)
    SELECT rid, code, name, kind, country, outside_eea, safeguards_en, safeguards_nl, received_via, purpose, description_en, description_nl
    FROM temp.recipient_0011 ORDER BY rid;
DROP TABLE temp.recipient_0011;

PRAGMA defer_foreign_keys = OFF;

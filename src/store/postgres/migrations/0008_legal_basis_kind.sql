-- Version 8 (SQLite migration 23): a legal basis says which basis of Art. 6(1) GDPR it is when
-- its code is not that basis's name. NULL: the code names it.
ALTER TABLE {schema}."legal_basis"
    ADD COLUMN "kind" text COLLATE "C" CHECK (kind IN ('consent', 'contract', 'legal-obligation', 'vital-interests', 'public-task', 'legitimate-interest'));

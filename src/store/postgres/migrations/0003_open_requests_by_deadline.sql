-- Version 3: the open requests by their deadline in force (`dsr status`), as SQLite's migration
-- 17: only the open ones, ordered by the deadline (the extended one when there is one), then by
-- number.
CREATE INDEX request_open_deadline ON {schema}."request" ((coalesce(extended_due_on, due_on)), year, seq)
    WHERE state IN ('awaiting-verification', 'verified');

-- Migration 17: the open requests by their deadline in force (`dsr status`, issue 17).
--
-- Only the open requests (awaiting verification or verified), ordered by the deadline in force
-- (the extended one when there is one), then by number: the screen's first rows are the first
-- entries of this index, and the overdue and due-this-week counts are ranges of it, however many
-- requests a year has closed. Small: a request leaves it when it is closed.
CREATE INDEX request_open_deadline ON request (coalesce(extended_due_on, due_on), year, seq)
    WHERE state IN ('awaiting-verification', 'verified');

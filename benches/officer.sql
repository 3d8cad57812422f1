-- A year of data-subject requests for benches/officer.sh: :N requests received in 2025, filled
-- by set-based SQL into a `dsr init --fixture virtio` store (run by the sqlite3 shell with
-- `.parameter set :n N`, on the store at its latest version). Deterministic: every choice is a multiplicative hash of the row
-- number. The mix (per 1,000 requests):
--   right:   access 400, erase 250, object 150, export 80, rectify 80, restrict 40
--   channel: email 600, portal 250, letter 80, phone 50, in-person 20
--   outcome: expired 40, refused 50 (the four grounds in turn), extended and answered 30,
--            open and verified 20, open awaiting verification 15, answered 845 (of which
--            about 1 in 30 after the month; the others within it, most in the
--            first two weeks)
-- An answered erasure carries the outcome of a real Virtio erasure (what was kept and why);
-- answered rectifications, restrictions and erasures list three Art. 19 recipients (1 in 10
-- still to notify). The audit trail gets what the report reads besides the requests: a
-- `code-tried` entry per code checked (wrong codes for 1 in 20, a lock for 1 in 1,000) and a
-- monthly retention run per rule, plus four other entries per request so that the trail has
-- a realistic size (about 6 entries per request).
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TEMP TABLE gen AS
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < :n)
SELECT n,
       date('2025-01-01', '+' || ((n * 7919) % 365) || ' days') AS received,
       (n * 2654435761) % 1000 AS hk,
       (n * 40503) % 1000 AS hc,
       (n * 69069 + 12345) % 1000 AS hs,
       CASE WHEN (n * 48271) % 30 = 0 THEN 32 + (n % 14) ELSE ((((n * 2654435761) >> 11) % 29) * (((n * 2819859509) >> 9) % 29)) / 28 END AS days
FROM seq;

INSERT INTO request (id, year, seq, kind, subject_kind, subject_given, person_id, subject_pseudonym, channel,
                     received_on, due_on, extended_due_on, extension_reason, extension_told_on, state,
                     verified_at, verification_method, rejection_reason, rejection_note, params, outcome,
                     created_at, closed_at, answered_at, delivered_at, delivery_channel)
SELECT printf('DSR-2025-%07d', n), 2025, n,
       CASE WHEN hk < 400 THEN 'access' WHEN hk < 650 THEN 'erase' WHEN hk < 800 THEN 'object'
            WHEN hk < 880 THEN 'export' WHEN hk < 960 THEN 'rectify' ELSE 'restrict' END,
       'email', NULL, NULL, printf('%032x', n), 
       CASE WHEN hc < 600 THEN 'email' WHEN hc < 850 THEN 'portal' WHEN hc < 930 THEN 'letter'
            WHEN hc < 980 THEN 'phone' ELSE 'in-person' END,
       received, date(received, '+1 month'),
       CASE WHEN hs BETWEEN 90 AND 119 THEN date(received, '+3 months') END,
       CASE WHEN hs BETWEEN 90 AND 119 THEN 'many requests at once' END,
       CASE WHEN hs BETWEEN 90 AND 119 THEN date(received, '+20 days') END,
       CASE WHEN hs < 40 THEN 'expired' WHEN hs < 90 THEN 'rejected' WHEN hs BETWEEN 120 AND 139 THEN 'verified'
            WHEN hs BETWEEN 140 AND 154 THEN 'awaiting-verification' ELSE 'completed' END,
       CASE WHEN hs >= 40 AND hs NOT BETWEEN 140 AND 154 THEN received || 'T09:00:00Z' END,
       CASE WHEN hs >= 40 AND hs NOT BETWEEN 140 AND 154 THEN 'email-code' END,
       CASE WHEN hs BETWEEN 40 AND 89 THEN
            CASE hs % 4 WHEN 0 THEN 'unfounded' WHEN 1 THEN 'excessive' WHEN 2 THEN 'identity-not-confirmed' ELSE 'other' END END,
       CASE WHEN hs BETWEEN 40 AND 89 THEN 'see the letter' END,
       '{}',
       CASE WHEN hs >= 155 AND hk BETWEEN 400 AND 649 THEN
'{"deleted":22,"kept":8,"steps":[{"table":"server_log","action":"delete","rows":1,"fields":[],"ground":null,"until":null,"why":"anonymous log lines that carry the person''s IP addresses"},{"table":"consent","action":"delete","rows":2,"fields":[],"ground":null,"until":null,"why":"no ground to keep"},{"table":"cookie","action":"delete","rows":1,"fields":[],"ground":null,"until":null,"why":"no ground to keep"},{"table":"service","action":"delete","rows":1,"fields":[],"ground":null,"until":null,"why":"no ground to keep"},{"table":"payment","action":"detach","rows":3,"fields":["payment_method_id"],"ground":"Art. 17(3)(b) GDPR: legal obligation to keep the administration 7 years (Dutch AWR art. 52)","until":"2033-12-31","why":"payment records the invoices need; the erased payment method is unlinked"},{"table":"invoice","action":"detach","rows":1,"fields":["customer_id"],"ground":"Art. 17(3)(e) GDPR: needed for a legal claim (unpaid invoice); and Art. 17(3)(b): the administration is kept 7 years (Dutch AWR art. 52), whichever ends later","until":"until settled, not before 2033-12-31","why":"unpaid invoices of fiscal year 2026: kept for the claim, unlinked from the profile"},{"table":"invoice","action":"detach","rows":1,"fields":["customer_id"],"ground":"Art. 17(3)(b) GDPR: legal obligation to keep the administration 7 years (Dutch AWR art. 52)","until":"2032-12-31","why":"invoices of fiscal year 2025, unlinked from the profile"},{"table":"invoice","action":"detach","rows":2,"fields":["customer_id"],"ground":"Art. 17(3)(b) GDPR: legal obligation to keep the administration 7 years (Dutch AWR art. 52)","until":"2033-12-31","why":"invoices of fiscal year 2026, unlinked from the profile"},{"table":"quote","action":"detach","rows":1,"fields":["customer_id"],"ground":"Art. 17(3)(b) GDPR: legal obligation to keep the administration 7 years (Dutch AWR art. 52)","until":"2033-12-31","why":"quotes that kept invoices refer to"},{"table":"payment_method","action":"delete","rows":1,"fields":[],"ground":null,"until":null,"why":"no ground to keep"},{"table":"server_log","action":"delete","rows":6,"fields":[],"ground":null,"until":null,"why":"log lines of the person''s own sessions"},{"table":"web_session","action":"delete","rows":2,"fields":[],"ground":null,"until":null,"why":"no ground to keep"},{"table":"ip_event","action":"delete","rows":3,"fields":[],"ground":null,"until":null,"why":"no ground to keep"},{"table":"login_account","action":"delete","rows":1,"fields":[],"ground":null,"until":null,"why":"no ground to keep"},{"table":"phone_number","action":"delete","rows":1,"fields":[],"ground":null,"until":null,"why":"no ground to keep"},{"table":"email_address","action":"delete","rows":1,"fields":[],"ground":null,"until":null,"why":"no ground to keep"},{"table":"customer","action":"delete","rows":1,"fields":[],"ground":null,"until":null,"why":"no ground to keep"},{"table":"request","action":"detach","rows":1,"fields":["subject_given","params","outcome","extension_reason","rejection_note","verification_ref","delivery_ref","person_id"],"ground":"Art. 5(2) GDPR: accountability, without personal data","until":null,"why":"the person''s requests keep only their keyed pseudonym"},{"table":"person","action":"delete","rows":1,"fields":[],"ground":null,"until":null,"why":"no ground to keep"}]}'
       END,
       received || 'T08:00:00Z',
       CASE WHEN hs < 40 THEN date(received, '+2 months') || 'T03:00:00Z'
            WHEN hs < 90 THEN date(received, '+' || days || ' days') || 'T15:00:00Z'
            WHEN hs < 120 THEN date(received, '+' || (40 + days) || ' days') || 'T15:00:00Z'
            WHEN hs >= 155 THEN date(received, '+' || days || ' days') || 'T15:00:00Z' END,
       CASE WHEN hs BETWEEN 90 AND 119 THEN date(received, '+' || (40 + days) || ' days') || 'T14:00:00Z'
            WHEN hs >= 155 THEN date(received, '+' || days || ' days') || 'T14:00:00Z' END,
       CASE WHEN hs BETWEEN 90 AND 119 THEN date(received, '+' || (40 + days) || ' days') || 'T15:00:00Z'
            WHEN hs >= 155 THEN date(received, '+' || days || ' days') || 'T15:00:00Z' END,
       CASE WHEN hs BETWEEN 90 AND 119 OR hs >= 155 THEN 'email' END
FROM gen;

INSERT INTO notification (request_id, recipient, what, state, listed_at, notified_at, notified_by)
SELECT printf('DSR-2025-%07d', n), r.code, 'Erasure (Art. 17): erase the data of this person you received from us.',
       CASE WHEN n % 10 = 0 THEN 'to-notify' ELSE 'notified' END, received || 'T15:00:00Z',
       CASE WHEN n % 10 = 0 THEN NULL ELSE date(received, '+' || (days + 2) || ' days') || 'T10:00:00Z' END,
       CASE WHEN n % 10 = 0 THEN NULL ELSE 'officer' END
FROM gen, (SELECT 'ideal' AS code UNION ALL SELECT 'google-analytics' UNION ALL SELECT 'group-companies') r
WHERE hs >= 155 AND (hk BETWEEN 400 AND 649 OR hk >= 880);

-- The trail: code checks (a wrong code for 1 in 20 before the right one, a lock for 1 in
-- 1,000), then filler entries (opened, code sent, mail sent, completed) for a realistic size.
INSERT INTO audit_log (at, clock_injected, actor, request_id, subject_pseudonym, action, details, prev_hash, hash)
SELECT received || 'T08:30:00Z', 0, 'officer', printf('DSR-2025-%07d', n), printf('%032x', n), 'code-tried',
       CASE WHEN n % 1000 = 7 THEN '{"result":"wrong","tries_on_code":3,"code_burned":true,"consecutive_failures":5,"person_locked":true}'
            ELSE '{"result":"wrong","tries_on_code":1,"code_burned":false,"consecutive_failures":1,"person_locked":false}' END,
       '', ''
FROM gen WHERE n % 20 = 7;
INSERT INTO audit_log (at, clock_injected, actor, request_id, subject_pseudonym, action, details, prev_hash, hash)
SELECT received || 'T09:00:00Z', 0, 'officer', printf('DSR-2025-%07d', n), printf('%032x', n), 'code-tried', '{"result":"correct"}', '', ''
FROM gen WHERE hs >= 40 AND hs NOT BETWEEN 140 AND 154;
INSERT INTO audit_log (at, clock_injected, actor, request_id, subject_pseudonym, action, details, prev_hash, hash)
SELECT received || 'T08:00:00Z', 0, 'officer', printf('DSR-2025-%07d', n), printf('%032x', n), a.action, a.details, '', ''
FROM gen, (SELECT 'request-opened' AS action, '{"right":"access","channel":"email","resolved":true}' AS details
           UNION ALL SELECT 'code-sent', '{"to":"address on file","voided_older":false}'
           UNION ALL SELECT 'mail-sent', '{"letter":"verification-code","transport":"outbox","queued":1}'
           UNION ALL SELECT 'request-completed', '{"delivered":"email"}') a;
-- The erasure tally, as migration 18 fills it from stored outcomes.
INSERT INTO erasure_tally (received_on, ground, table_name, action, row_count, erasures)
SELECT r.received_on, coalesce(json_extract(s.value, '$.ground'), ''), json_extract(s.value, '$.table'),
       json_extract(s.value, '$.action'), sum(json_extract(s.value, '$.rows')), count(DISTINCT r.id)
FROM request r, json_each(r.outcome, '$.steps') s
WHERE r.kind = 'erase' AND r.outcome IS NOT NULL
GROUP BY 1, 2, 3, 4;
WITH RECURSIVE month(m) AS (SELECT 0 UNION ALL SELECT m + 1 FROM month WHERE m < 11)
INSERT INTO audit_log (at, clock_injected, actor, request_id, subject_pseudonym, action, details, prev_hash, hash)
SELECT date('2025-01-01', '+' || m || ' months', '+14 days') || 'T02:00:00Z', 0, 'cron', NULL, NULL, 'retention',
       json_object('rule', r.code, 'table', r.table_name, 'removed', 100 + (m * 37 + length(r.code) * 101) % 5000), '', ''
FROM month, retention_rule r;
INSERT INTO verification_lock (subject_pseudonym, consecutive_failures, locked_at)
SELECT printf('%032x', n), 5, received || 'T08:30:00Z' FROM gen WHERE n % 1000 = 7;
COMMIT;
ANALYZE;

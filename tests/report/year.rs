//! The year of requests the report tests run on: the report's JSON as typed structs, the rows
//! that cover each figure (written straight into a store, SQLite or PostgreSQL), and every
//! figure they give, exactly.

use super::json::*;

pub const NOW: &str = "2026-01-15T10:00:00Z";

/// A request as written: id, kind, channel, received, due, extended, state, refusal ground,
/// delivered, closed.
type Row<'a> = (
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    Option<&'a str>,
    &'a str,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
);

/// The fiscal hold's ground as plans stored before the map gave its years worded it: counted as
/// the ground is worded now ([`TAX_NOW`]).
pub const TAX: &str = "Art. 17(3)(b) GDPR: legal obligation to keep the administration 7 years (Dutch AWR art. 52)";
pub const TAX_NOW: &str = "Art. 17(3)(b) GDPR: legal obligation to keep the administration (Dutch AWR art. 52)";
/// A rule code as an attacker might have typed it into a company file: markup and a terminal escape.
pub const EVIL_RULE: &str = "<script>alert(1)</script>\u{1b}[31m";

/// The requests, tally, notifications and audit entries of 2025 (and a few just outside it),
/// written straight into a store: each covers one figure (see the expectations below).
pub fn year_of_requests(db: &dyn Fn(&str)) {
    let requests: [Row; 12] = [
        // In time; 10 days.
        (
            "DSR-2025-0001",
            "access",
            "email",
            "2025-03-01",
            "2025-04-01",
            None,
            "completed",
            None,
            Some("2025-03-11T09:00:00Z"),
            Some("2025-03-11T09:00:00Z"),
        ),
        // Late: delivered after the month; 36 days.
        (
            "DSR-2025-0002",
            "access",
            "portal",
            "2025-03-15",
            "2025-04-15",
            None,
            "completed",
            None,
            Some("2025-04-20T09:00:00Z"),
            Some("2025-04-20T09:00:00Z"),
        ),
        // Extended to three months and answered within them; 62 days.
        (
            "DSR-2025-0003",
            "erase",
            "email",
            "2025-05-31",
            "2025-06-30",
            Some("2025-08-31"),
            "completed",
            None,
            Some("2025-08-01T09:00:00Z"),
            Some("2025-08-01T09:00:00Z"),
        ),
        // Refused as excessive after 4 days.
        (
            "DSR-2025-0004",
            "export",
            "letter",
            "2025-06-01",
            "2025-07-01",
            None,
            "rejected",
            Some("excessive"),
            None,
            Some("2025-06-05T12:00:00Z"),
        ),
        // Refused: identity not confirmed, after 1 day.
        (
            "DSR-2025-0005",
            "rectify",
            "phone",
            "2025-07-01",
            "2025-08-01",
            None,
            "rejected",
            Some("identity-not-confirmed"),
            None,
            Some("2025-07-02T12:00:00Z"),
        ),
        // Verified, not answered, due after the day of the report: open.
        ("DSR-2025-0006", "object", "email", "2025-12-20", "2026-01-20", None, "verified", None, None, None),
        // Never verified, past its deadline, not yet expired: overdue.
        (
            "DSR-2025-0007",
            "restrict",
            "in-person",
            "2025-11-01",
            "2025-12-01",
            None,
            "awaiting-verification",
            None,
            None,
            None,
        ),
        // Expired.
        (
            "DSR-2025-0008",
            "access",
            "email",
            "2025-09-01",
            "2025-10-01",
            None,
            "expired",
            None,
            None,
            Some("2025-11-01T03:00:00Z"),
        ),
        // Delivered, waiting for the systems' tasks: answered (10 days).
        (
            "DSR-2025-0009",
            "erase",
            "email",
            "2025-10-10",
            "2025-11-10",
            None,
            "verified",
            None,
            Some("2025-10-20T09:00:00Z"),
            None,
        ),
        // Outside the period on either side.
        (
            "DSR-2024-0001",
            "access",
            "email",
            "2024-12-31",
            "2025-01-31",
            None,
            "completed",
            None,
            Some("2025-01-02T09:00:00Z"),
            Some("2025-01-02T09:00:00Z"),
        ),
        (
            "DSR-2026-0001",
            "access",
            "email",
            "2026-01-01",
            "2026-02-01",
            None,
            "completed",
            None,
            Some("2026-01-02T09:00:00Z"),
            Some("2026-01-02T09:00:00Z"),
        ),
        // Completed without a recorded delivery (a replayed erasure, an old store): answered
        // when closed, on the last day of the month, in time; 28 days.
        (
            "DSR-2025-0010",
            "access",
            "letter",
            "2025-02-01",
            "2025-03-01",
            None,
            "completed",
            None,
            None,
            Some("2025-03-01T23:00:00Z"),
        ),
    ];
    let q = |s: Option<&str>| s.map_or("NULL".to_owned(), |s| format!("'{s}'"));
    for (id, kind, channel, received, due, extended, state, ground, delivered, closed) in requests {
        let (year, seq) = (&id[4..8], &id[9..]);
        db(&format!(
            "INSERT INTO request (id, year, seq, kind, subject_kind, subject_pseudonym, channel, received_on, due_on,
                                  extended_due_on, extension_reason, state, rejection_reason, rejection_note,
                                  created_at, closed_at, delivered_at)
             VALUES ('{id}', {year}, {seq}, '{kind}', 'email', 'p-{id}', '{channel}', '{received}', '{due}', {}, {}, '{state}',
                     {}, {}, '{received}T08:00:00Z', {}, {})",
            q(extended),
            q(extended.map(|_| "many requests")),
            q(ground),
            q(ground.map(|_| "see the letter")),
            q(closed),
            q(delivered),
        ));
    }
    db(&format!(
        "INSERT INTO erasure_tally (received_on, ground, table_name, action, row_count, erasures) VALUES
           ('2025-05-31', '{TAX}', 'invoice', 'detach', 3, 1), ('2025-05-31', '', 'customer', 'delete', 5, 1),
           ('2025-10-10', '{TAX_NOW}', 'invoice', 'detach', 2, 1), ('2024-12-31', '{TAX}', 'invoice', 'detach', 100, 1)"
    ));
    db("INSERT INTO notification (request_id, recipient, what, state, listed_at, notified_at, reason) VALUES
          ('DSR-2025-0003', 'ideal', 'erase', 'notified', '2025-08-01T09:00:00Z', '2025-08-02T09:00:00Z', NULL),
          ('DSR-2025-0003', 'google-analytics', 'erase', 'to-notify', '2025-08-01T09:00:00Z', NULL, NULL),
          ('DSR-2025-0009', 'ideal', 'erase', 'impossible', '2025-10-20T09:00:00Z', '2025-10-21T09:00:00Z', 'no contact'),
          ('DSR-2024-0001', 'ideal', 'erase', 'notified', '2024-06-01T09:00:00Z', '2024-06-02T09:00:00Z', NULL)");
    let wrong =
        r#"{"result":"wrong","tries_on_code":1,"code_burned":false,"consecutive_failures":1,"person_locked":false}"#;
    let burned =
        r#"{"result":"wrong","tries_on_code":3,"code_burned":true,"consecutive_failures":5,"person_locked":true}"#;
    let malformed = r#"{"result":"malformed","tries_on_code":1,"code_burned":false,"consecutive_failures":2,"person_locked":false}"#;
    let entries: Vec<(&str, &str, String)> = vec![
        ("2025-02-01T02:00:00Z", "retention", r#"{"rule":"server-logs","table":"server_log","removed":100}"#.into()),
        ("2025-02-01T02:00:00Z", "retention", r#"{"rule":"cookies","table":"cookie","removed":5}"#.into()),
        ("2025-03-01T02:00:00Z", "retention", r#"{"rule":"server-logs","table":"server_log","removed":50}"#.into()),
        ("2025-04-01T02:00:00Z", "retention-interrupted", r#"{"removed":{"server-logs":7}}"#.into()),
        // A run killed after it had finished the IP history: the next run (03-01) wrote its entry
        // at its own time; two runs, and the rule's table from the register.
        ("2025-03-01T02:00:00Z", "retention-interrupted", r#"{"removed":{"ip-history":4}}"#.into()),
        // A run killed after it had finished the cookies rule: its entry and the next run's entry
        // for it, which names its time, are one run.
        ("2025-06-01T02:00:00Z", "retention", r#"{"rule":"cookies","table":"cookie","removed":2}"#.into()),
        (
            "2025-07-01T02:00:00Z",
            "retention-interrupted",
            r#"{"removed":{"server-logs":3},"run_at":"2025-06-01T02:00:00Z"}"#.into(),
        ),
        (
            "2025-05-01T02:00:00Z",
            "retention",
            serde_json::json!({"rule": EVIL_RULE, "table": "ticket", "removed": 1}).to_string(),
        ),
        ("2026-01-02T02:00:00Z", "retention", r#"{"rule":"server-logs","table":"server_log","removed":999}"#.into()),
        ("2025-03-01T08:00:00Z", "code-tried", r#"{"result":"correct"}"#.into()),
        ("2025-03-01T08:01:00Z", "code-tried", wrong.into()),
        ("2025-03-02T08:01:00Z", "code-tried", wrong.into()),
        ("2025-03-03T08:01:00Z", "code-tried", wrong.into()),
        ("2025-03-04T08:01:00Z", "code-tried", burned.into()),
        ("2025-03-04T08:02:00Z", "code-tried", r#"{"result":"locked"}"#.into()),
        ("2025-03-05T08:01:00Z", "code-tried", malformed.into()),
        ("2025-12-31T23:59:59Z", "code-tried", r#"{"result":"expired"}"#.into()),
        ("2024-12-31T23:59:59Z", "code-tried", wrong.into()),
        ("2026-01-01T00:00:00Z", "code-tried", wrong.into()),
    ];
    for (at, action, details) in entries {
        db(&format!(
            "INSERT INTO audit_log (at, clock_injected, actor, action, details, prev_hash, hash)
             VALUES ('{at}', 1, 'test', '{action}', '{}', '', '')",
            details.replace('\'', "''")
        ));
    }
    db("INSERT INTO verification_lock (subject_pseudonym, consecutive_failures, locked_at)
        VALUES ('p-locked', 5, '2025-03-04T08:01:00Z'), ('p-unlocked', 0, NULL)");
}

fn line(right: &str, nums: [u64; 9], percent: Option<f64>, median: Option<i64>, p95: Option<i64>) -> Line {
    let [received, answered, in_time, late, overdue, open, expired, extended, refused] = nums;
    Line {
        right: right.into(),
        received,
        answered,
        in_time,
        late,
        overdue,
        open,
        expired,
        extended,
        refused,
        in_time_percent: percent,
        median_days: median,
        p95_days: p95,
    }
}

/// Every figure of the year, exactly.
pub fn check_year(r: &Report) {
    assert_eq!(r.format_version, 1);
    assert_eq!(r.period, Period { from: "2025-01-01".into(), to: "2025-12-31".into() });
    assert_eq!(r.as_of, "2026-01-15");
    let q = &r.requests;
    assert_eq!(q.total, 10);
    //                        received answered in_time late overdue open expired extended refused
    let expected = [
        line("access", [4, 3, 2, 1, 0, 0, 1, 0, 0], Some(66.7), Some(28), Some(36)),
        line("export", [1, 1, 1, 0, 0, 0, 0, 0, 1], Some(100.0), Some(4), Some(4)),
        line("rectify", [1, 1, 1, 0, 0, 0, 0, 0, 1], Some(100.0), Some(1), Some(1)),
        line("erase", [2, 2, 2, 0, 0, 0, 0, 1, 0], Some(100.0), Some(10), Some(62)),
        line("restrict", [1, 0, 0, 0, 1, 0, 0, 0, 0], None, None, None),
        line("object", [1, 0, 0, 0, 0, 1, 0, 0, 0], None, None, None),
    ];
    assert_eq!(q.by_right, expected);
    // Nearest rank over 1, 4, 10, 10, 28, 36, 62: the 4th and the 7th.
    assert_eq!(q.all, line("all", [10, 7, 6, 1, 1, 1, 1, 1, 2], Some(85.7), Some(10), Some(62)));
    let channels: Vec<(&str, u64)> = q.by_channel.iter().map(|c| (c.key.as_str(), c.count)).collect();
    assert_eq!(channels, [("email", 5), ("letter", 2), ("portal", 1), ("phone", 1), ("in-person", 1)]);
    assert!(q.by_right_and_channel.contains(&RightChannel {
        right: "access".into(),
        channel: "letter".into(),
        count: 1
    }));
    assert_eq!(q.by_right_and_channel.iter().map(|c| c.count).sum::<u64>(), 10);
    let months: Vec<(&str, &str, u64)> =
        q.by_month.iter().map(|m| (m.month.as_str(), m.right.as_str(), m.count)).collect();
    assert_eq!(
        months,
        [
            ("2025-02", "access", 1),
            ("2025-03", "access", 2),
            ("2025-05", "erase", 1),
            ("2025-06", "export", 1),
            ("2025-07", "rectify", 1),
            ("2025-09", "access", 1),
            ("2025-10", "erase", 1),
            ("2025-11", "restrict", 1),
            ("2025-12", "object", 1),
        ]
    );
    let days: Vec<(i64, u64)> = q.days_to_answer.iter().map(|d| (d.days, d.count)).collect();
    assert_eq!(days, [(1, 1), (4, 1), (10, 2), (28, 1), (36, 1), (62, 1)]);

    let f = &r.refusals;
    let grounds: Vec<(&str, u64)> = f.by_ground.iter().map(|c| (c.key.as_str(), c.count)).collect();
    assert_eq!(grounds, [("unfounded", 0), ("excessive", 1), ("identity-not-confirmed", 1), ("other", 0)]);
    assert_eq!((f.total, f.expired, f.unverifiable), (2, 1, 2));

    let e = &r.erasures;
    assert_eq!((e.carried_out, e.rows_deleted, e.rows_kept), (2, 5, 5));
    assert_eq!(
        e.kept,
        [Kept { ground: TAX_NOW.into(), table: "invoice".into(), action: "detach".into(), rows: 5, erasures: 2 }]
    );

    let n = &r.notifications;
    assert_eq!((n.listed, n.done, n.open, n.impossible), (3, 1, 1, 1));
    assert_eq!(
        n.by_recipient,
        [
            Recipient { recipient: "google-analytics".into(), done: 0, open: 1, impossible: 0 },
            Recipient { recipient: "ideal".into(), done: 1, open: 0, impossible: 1 },
        ]
    );

    let t = &r.retention;
    assert_eq!((t.runs, t.rows_removed), (6, 172));
    let rules: Vec<(&str, &str, u64, u64)> =
        t.by_rule.iter().map(|x| (x.rule.as_str(), x.table.as_str(), x.runs, x.removed)).collect();
    assert_eq!(
        rules,
        [
            (EVIL_RULE, "ticket", 1, 1),
            ("cookies", "cookie", 2, 7),
            ("ip-history", "ip_event", 1, 4),
            ("server-logs", "server_log", 4, 160)
        ]
    );

    let v = &r.verification;
    let results: Vec<(&str, u64)> = v.by_result.iter().map(|c| (c.key.as_str(), c.count)).collect();
    assert_eq!(results, [("expired", 1), ("locked", 1), ("malformed", 1), ("wrong", 4)]);
    assert_eq!((v.failed_tries, v.codes_burned, v.locks, v.locked_now), (7, 1, 1, 1));
}

//! dsr's own housekeeping after the register's rules: verification codes used or expired a day
//! ago (the last of a request still waiting for its code stays until the request closes),
//! requests closed more than three years ago (unless a restriction, objection, review,
//! suppression, letter still to send, or a record of the person's data still names them), and
//! people left with nothing but the rows that describe them, no pending request and no consent.

use super::cutoff;
use crate::clock::{stamp, Clock};
use crate::store::personal::DataMap;

/// One of dsr's own rules: the rows of `table` matching `cond` (with ?1 = `cut`) go, after the
/// rows of `children` (table and filter, `{ids}` standing for the keys of the batch's rows).
pub(super) struct Rule {
    pub code: &'static str,
    pub table: String,
    pub cond: String,
    pub children: Vec<(String, String)>,
    pub cut: String,
}

pub(super) fn rules(map: &DataMap, conn: &dyn crate::store::db::Db, clock: &Clock) -> anyhow::Result<Vec<Rule>> {
    let now = clock.now();
    let day = stamp(now - chrono::Duration::days(1));
    let three_years = cutoff(now, 36);
    // Requests a record of the person's data still names (a supplementary statement) stay with it.
    let named_by_data: String = map
        .references_to(conn, "request")?
        .iter()
        .map(|(t, c)| format!(" AND id NOT IN (SELECT {c} FROM {t} WHERE {c} IS NOT NULL)"))
        .collect();
    let closed = format!(
        "state IN ('completed', 'rejected', 'expired') AND closed_at < ?1 AND id NOT IN (SELECT request_id FROM restriction)
         AND id NOT IN (SELECT erasure_id FROM restriction WHERE erasure_id IS NOT NULL)
         AND id NOT IN (SELECT request_id FROM objection) AND id NOT IN (SELECT request_id FROM decision_review){named_by_data}
         AND id NOT IN (SELECT request_id FROM suppression WHERE request_id IS NOT NULL)
         AND id NOT IN (SELECT request_id FROM queued WHERE done_at IS NULL AND request_id IS NOT NULL)"
    );
    let of_request = ["challenge", "notification", "erasure_plan", "queued", "rectified"]
        .map(|t| (t.to_owned(), "request_id IN {ids}".to_owned()))
        .to_vec();
    let mut out = vec![
        Rule {
            code: "verification-codes",
            table: "challenge".into(),
            // The last code of a request still waiting for it stays (expired or burned, it can
            // never be used): it is what tells `dsr status` that a code went out and expired,
            // rather than that none was ever sent.
            cond: "((state <> 'active' AND created_at < ?1) OR expires_at < ?1)
                   AND (state = 'superseded' OR request_id NOT IN (SELECT id FROM request WHERE state = 'awaiting-verification'))"
                .into(),
            children: Vec::new(),
            cut: day,
        },
        Rule { code: "closed-requests", table: "request".into(), cond: closed, children: of_request, cut: three_years },
    ];
    if let (Some(root), Some(none)) = (map.root(), map.without_relation()) {
        // (A person whose restriction keeps data is left by the sweep's own hold, as every rule.)
        let cond = format!("{none} AND {} NOT IN ({})", root.key, super::expiry::open_request_people(clock));
        let children = map
            .contact_tables()
            .iter()
            .filter_map(|t| Some((t.name.clone(), format!("{} IN {{ids}}", t.link.as_ref()?.column))))
            .collect();
        out.push(Rule {
            code: "people-without-relation",
            table: root.name.clone(),
            cond,
            children,
            cut: String::new(),
        });
    }
    Ok(out)
}

//! What a plan keeps beyond the law's own holds: what a consent in force still needs when
//! retention erases an ended contract, and what a legal-claims restriction of some categories
//! covers (Art. 17(3)(e) with 18(1)(c)).

use rusqlite::Connection;

use super::{keep, step, Step, C, GROUND_RESTRICTED, IDENTITY_FIELDS, UNTIL_LIFTED};
use crate::subject::Subject;

pub const GROUND_CONSENT: &str =
    "Art. 6(1)(a) and 7(1) GDPR: a consent in force, and the proof of consent and withdrawal for the register's period";

/// Retention of an ended contract leaves what a consent still needs: the consent records (the
/// proof, unlinked from the erased cookie), the address a newsletter consent in force covers, the
/// person they belong to (without name and postal address), and any restriction or objection.
pub(super) fn keep_consent(out: &mut Vec<Step>) {
    let covered = format!("person_id = ?1 AND {}", crate::check::NEWSLETTER_IN_FORCE);
    for st in out.iter_mut() {
        match (st.table.as_str(), st.action.as_str()) {
            ("consent", "delete") => {
                *st = keep(
                    step(
                        "consent",
                        "detach",
                        "person_id = ?1 AND cookie_id IS NOT NULL".into(),
                        "consent records stay; the erased cookie is unlinked",
                    ),
                    &["cookie_id"],
                    GROUND_CONSENT,
                    None,
                )
            }
            ("email_address", "delete") => st.filter = format!("person_id = ?1 AND NOT ({covered})"),
            // A restriction or objection still governs what may be done with what stays.
            ("restriction" | "objection", "delete") => {
                *st = keep(
                    step(
                        &st.table.clone(),
                        "keep",
                        "person_id = ?1".into(),
                        "still applies to the consent and address that stay",
                    ),
                    &[],
                    "Art. 18 and 21 GDPR: the person's restriction or objection",
                    None,
                )
            }
            ("person", "delete") => {
                *st = keep(
                    step(
                        "person",
                        "detach",
                        "id = ?1".into(),
                        "the person stays for the consent; name and postal address go",
                    ),
                    &["given_name", "family_name", "street", "house_number", "postal_code", "city", "country"],
                    GROUND_CONSENT,
                    None,
                )
            }
            _ => {}
        }
    }
    let at = out.iter().position(|st| st.table == "email_address").unwrap_or(out.len());
    out.insert(
        at,
        keep(
            step("email_address", "keep", covered, "the address the newsletter consent covers"),
            &[],
            GROUND_CONSENT,
            None,
        ),
    );
}

/// An active legal-claims restriction (Art. 18(1)(c)).
pub(super) const HOLD: &str = "(ground = 'legal-claims' AND lifted_at IS NULL)";

/// The tables under an active legal-claims restriction of one category, with that category.
/// (A restriction on all the person's data blocks the erasure before a plan is made.)
pub(super) fn held_categories(conn: &Connection, s: &Subject) -> rusqlite::Result<Vec<(String, String)>> {
    conn.prepare_cached(&format!(
        "SELECT DISTINCT t.table_name, t.category FROM restriction r JOIN category_table t ON t.category = r.category
         WHERE r.person_id = ?1 AND {HOLD} ORDER BY 1"
    ))?
    .query_map([s.person_id], |r| Ok((r.get(0)?, r.get(1)?)))?
    .collect()
}

/// Art. 17(3)(e) with 18(1)(c): what a legal-claims restriction covers is kept as it is, linked to
/// the person, until the restriction is lifted; everything else is erased. Rows the plan keeps
/// anyway (invoices, claims) keep their own ground and term. The rows the held data hang from stay
/// too: the sessions of held log lines, the customer record, and the person record without name
/// and address (unless those are held themselves).
pub(super) fn hold(out: &mut [Step], held: &[(String, String)]) {
    let category = |table: &str| held.iter().find(|(t, _)| t == table).map(|(_, c)| c.clone());
    let mut parents: Vec<(&str, &str)> = Vec::new();
    for st in out.iter_mut().filter(|st| st.action == "delete") {
        if let Some(c) = category(&st.table) {
            st.action = "keep".into();
            st.ground = Some(GROUND_RESTRICTED.into());
            st.until = Some(UNTIL_LIFTED.into());
            st.why = format!("restricted for a legal claim (category {c}): {}", st.why);
            if st.table == "server_log" {
                parents.push(("web_session", "sessions the held log lines belong to"));
            }
            if st.filter.contains(C) {
                parents.push(("customer", "the customer record the held data belong to"));
            }
        }
    }
    parents.push(("person", "the person record the held data belong to, without name and address"));
    for (table, why) in parents {
        for st in out.iter_mut().filter(|st| st.table == table && st.action == "delete") {
            st.action = if table == "person" { "detach".into() } else { "keep".into() };
            if table == "person" {
                st.fields = IDENTITY_FIELDS.iter().map(|f| f.to_string()).collect();
            }
            st.ground = Some(GROUND_RESTRICTED.into());
            st.until = Some(UNTIL_LIFTED.into());
            st.why = why.into();
        }
    }
}

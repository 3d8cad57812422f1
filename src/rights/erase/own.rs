//! dsr's own records of a person in an erasure plan: what goes, and what stays without
//! personal data for accountability (Art. 5(2)).

use super::keeps::{HOLD, HOLD_FROM_RETENTION};
use super::steps::NO_GROUND;
use super::{keep, step, Step, GROUND_RESTRICTED, UNTIL_LIFTED};
use crate::keys::Keys;
use crate::store::db::Db;
use crate::store::personal::DataMap;
use crate::subject::Subject;

/// The person's requests, as a filter on `request` (?1 their id): those linked to them, and the
/// closed ones made under one of their identifiers before it was on file, so linked to no one
/// (an erasure request for an address a rectification later gave them, rejected then): their
/// pseudonym is the keyed hash of that identifier, and they hold it as the requester wrote it.
/// An open one stays as it is: it still needs its address to be answered.
pub(super) fn requests_of(conn: &dyn Db, map: &DataMap, s: &Subject) -> anyhow::Result<String> {
    let keys = Keys::load(conn)?;
    let pseudonyms: Vec<String> = map
        .remembered_identifiers(conn, s.person_id)?
        .iter()
        .map(|(kind, value)| format!("'{}'", keys.identifier(kind, value)))
        .collect();
    // The requests of a restriction that kept data from an earlier erasure were unlinked by it;
    // the restriction still names them, and the officer's texts of its lift are the person's.
    let own = "(person_id = ?1 OR id IN (SELECT request_id FROM restriction WHERE person_id = ?1 AND erasure_id IS NOT NULL))";
    Ok(match pseudonyms.is_empty() {
        true => own.to_owned(),
        false => format!(
            "({own} OR (person_id IS NULL AND state IN ('completed', 'rejected', 'expired') \
             AND subject_pseudonym IN ({})))",
            pseudonyms.join(", ")
        ),
    })
}

/// dsr's own records of the person: restrictions, objections, reviews, and the requests (those
/// of [`requests_of`]), which keep only their keyed pseudonym.
pub(super) fn records(requests: &str, retention: bool) -> Vec<Step> {
    let (hold, ground) = match retention {
        true => (HOLD_FROM_RETENTION, super::keeps::GROUND_OWN_RECORD),
        false => (HOLD, GROUND_RESTRICTED),
    };
    // The restrictions go after the requests: `requests` names those a restriction of the
    // person names (an earlier erasure unlinked them), found through the restriction rows.
    vec![
        step(
            "objection",
            "delete",
            "person_id = ?1".into(),
            "no ground to keep (an objection to direct marketing stays on the suppression list)",
        ),
        step("decision_review", "delete", "person_id = ?1".into(), NO_GROUND),
        // Messages of the person's requests that wait for the officer (`dsr intake`) keep the
        // sender, subject and text until resolved; erased with the person, the record stays.
        keep(
            step(
                "intake_message",
                "detach",
                format!("request_id IN (SELECT id FROM request WHERE {requests}) AND (sender IS NOT NULL OR subject IS NOT NULL OR excerpt IS NOT NULL OR message_id IS NOT NULL)"),
                "the messages of the person's requests keep only their hashes and outcome",
            ),
            &["sender", "subject", "excerpt", "message_id"],
            "Art. 5(2) GDPR: accountability, without personal data",
            None,
        ),
        keep(
            step("request", "detach", requests.to_owned(), "the person's requests keep only their keyed pseudonym"),
            &[
                "subject_given",
                "params",
                "outcome",
                "extension_reason",
                "rejection_note",
                "verification_ref",
                "delivery_ref",
                "person_id",
            ],
            "Art. 5(2) GDPR: accountability, without personal data",
            None,
        ),
        step("restriction", "delete", format!("person_id = ?1 AND NOT {hold}"), NO_GROUND),
        keep(
            step("restriction", "keep", format!("person_id = ?1 AND {hold}"), "the restriction itself"),
            &[] as &[&str],
            ground,
            Some(UNTIL_LIFTED.into()),
        ),
    ]
}

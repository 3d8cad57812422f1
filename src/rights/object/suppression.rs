//! The suppression list (design §8): the keyed hashes of the identifiers of people who objected
//! to direct marketing or were erased, so that a later import or mailing check recognises them
//! without storing them.

use crate::check::suppression_hash;
use crate::clock::Clock;
use crate::keys::Keys;
use crate::map::table::IdentifierKind;
use crate::store::db::Db;
use crate::store::personal::DataMap;
use crate::subject::Subject;
use crate::vals;

/// The identifiers that go on the suppression list, by the name the list gives their kind.
/// The suppression list's reason for an erased person's values.
pub const ERASED: &str = "erased";

pub const SUPPRESSED: &[(IdentifierKind, &str)] =
    &[(IdentifierKind::Email, "email"), (IdentifierKind::Phone, "phone"), (IdentifierKind::CustomerNumber, "customer")];

/// Put the person's identifiers on the suppression list as keyed hashes: those of the kinds in
/// `SUPPRESSED`, wherever the data map has them.
pub fn suppress(
    conn: &dyn Db,
    clock: &Clock,
    keys: &Keys,
    request: Option<&str>,
    s: &Subject,
    reason: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    let map = DataMap::load(conn)?;
    let mut ids: Vec<(&str, String)> = Vec::new();
    for (kind, name) in SUPPRESSED {
        let Some(sql) = map.identifiers_of(*kind) else { continue };
        for value in conn.all(&sql, &[s.person_id.into()], |r| r.get::<String>(0))? {
            // An erased person's identifier that another person holds too (housemates' landline)
            // stays off the list: it is the other's as well, and on the list it would refuse
            // their rows in an import and have `erase --replay` erase them. (An objection to
            // marketing keeps a shared address out of the marketing all the same.)
            if reason == ERASED && map.people_with(conn, *kind, &value)?.iter().any(|p| *p != s.person_id) {
                continue;
            }
            ids.push((name, value));
        }
    }
    if reason == ERASED {
        // The addresses the erasure's lines that reach no one were matched on: a copy of such a
        // line from a source (a server log exported again) is kept out of an import.
        ids.extend(map.own_ips(conn, s.person_id)?.into_iter().map(|ip| (IP, ip)));
    }
    ids.iter().map(|(kind, value)| remember(conn, clock, keys, request, reason, kind, value)).collect()
}

/// The suppression list's kind for an erased person's IP address (migration 30), by which lines
/// of an `anonymous-by-ip` table that reach no one are recognised.
pub const IP: &str = "ip";

/// After an erasure's rows went: the identifiers still linked to the person (in rows it kept
/// whole, under a legal-claims restriction) come off the list again, and out of `hashes` (the
/// journal's), when this erasure put them there. Such a row is still the person's: its values
/// are in the data by right, not back after an erasure, and an import may update its copy.
pub fn unsuppress_kept(
    conn: &dyn Db,
    keys: &Keys,
    request: Option<&str>,
    s: &Subject,
    hashes: &mut Vec<(String, String)>,
) -> anyhow::Result<()> {
    let map = DataMap::load(conn)?;
    for (kind, name) in SUPPRESSED {
        let Some(sql) = map.identifiers_of(*kind) else { continue };
        for value in conn.all(&sql, &[s.person_id.into()], |r| r.get::<String>(0))? {
            let hash = suppression_hash(keys, name, &value);
            if let Some(at) = hashes.iter().position(|(k, h)| k == name && *h == hash) {
                conn.run(
                    "DELETE FROM suppression WHERE hash = ?1 AND reason = ?2 AND request_id IS NOT DISTINCT FROM ?3",
                    &vals![hash, ERASED, request]?,
                )?;
                hashes.remove(at);
            }
        }
    }
    Ok(())
}

/// One value on the suppression list, as its keyed hash under `kind` (again: nothing changes).
/// Returns (kind, hash).
fn remember(
    conn: &dyn Db,
    clock: &Clock,
    keys: &Keys,
    request: Option<&str>,
    reason: &str,
    kind: &str,
    value: &str,
) -> anyhow::Result<(String, String)> {
    let hash = suppression_hash(keys, kind, value);
    conn.run(
        "INSERT INTO suppression (hash, kind, reason, request_id, added_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
        &vals![hash, kind, reason, request, clock.timestamp()]?,
    )?;
    Ok((kind.to_owned(), hash))
}

/// Put an erased person's row of the data map's root on the suppression list (kind `record`, a
/// keyed hash of its table and source key), for the copies from a source that carry no
/// identifier: an import of it is refused. Only for a row the erasure deletes (one it keeps,
/// without name and address, stays the person's).
pub fn suppress_record(
    conn: &dyn Db,
    clock: &Clock,
    keys: &Keys,
    request: Option<&str>,
    s: &Subject,
) -> anyhow::Result<Vec<(String, String)>> {
    let mut values = Vec::new();
    DataMap::load(conn)?.root_records(conn, Some(s.person_id), |_, value| values.push(value))?;
    let kind = crate::store::personal::RECORD;
    values.iter().map(|value| remember(conn, clock, keys, request, ERASED, kind, value)).collect()
}

//! A code read from a reply (`dsr intake`): which of a reply's candidates is the request's code,
//! and the keyed hashes that let the audit trail compare the reply's sender with the address the
//! code went to without naming either.

use super::code_parts;
use crate::keys::Keys;
use crate::request::Request;
use crate::store::db::Db;
use crate::vals;

/// Of the code candidates a reply carries, the one that is request `r`'s active code, if any.
/// Nothing is recorded: the caller then checks that one (or, when none matches, the first, as
/// one wrong try) with [`check`], which keeps tries, burning and locks as for a relayed code.
pub fn matching(conn: &dyn Db, keys: &Keys, r: &Request, candidates: &[String]) -> anyhow::Result<Option<String>> {
    let active: Option<(Vec<u8>, Vec<u8>)> = conn.first(
        "SELECT code_mac, address_mac FROM challenge WHERE request_id = ?1 AND state = 'active'",
        &vals![r.id]?,
        |x| Ok((x.get(0)?, x.get(1)?)),
    )?;
    let Some((code_mac, address_mac)) = active else { return Ok(None) };
    let asks = r.params.to_string();
    Ok(candidates.iter().find(|c| keys.verify(&code_parts(r, &asks, &address_mac, c), &code_mac)).cloned())
}

/// The keyed hash of the address request `r`'s latest code went to (the audit trail compares
/// it with a reply's sender without naming either).
pub fn sent_to(conn: &dyn Db, r: &Request) -> anyhow::Result<Option<Vec<u8>>> {
    conn.first("SELECT address_mac FROM challenge WHERE request_id = ?1 ORDER BY id DESC LIMIT 1", &vals![r.id]?, |x| {
        x.get(0)
    })
}

/// The keyed hash of an address as [`issue`] keeps it.
pub fn address_mac(keys: &Keys, address: &str) -> Vec<u8> {
    keys.mac(&[b"address", address.as_bytes()])
}

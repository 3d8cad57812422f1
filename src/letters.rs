//! Letters about a request that no right was carried out for, so that everyone gets an answer:
//! the negative confirmation to the address a request came from when it names no one on file
//! (Art. 15(1)), and the notice that an unverified request expired, with how the person can still
//! identify themselves (Art. 11(2), 12(4)). With the complaint route. Every letter's text is a
//! template the company can change ([`kinds`], [`render`], [`settings`]; docs/letters.md).

pub mod kinds;
pub mod render;
pub mod settings;

pub use render::{body, subject_of, Vars};
pub use settings::Settings;

use serde_json::json;

use crate::clock::Clock;
use crate::mail::Letter;
use crate::register::Controller;
use crate::request::Request;

/// Art. 15(1): no personal data is linked to `address`. It goes only to that address and says
/// nothing about anyone else, so it tells an impostor nothing they could not learn by asking
/// from their own address.
/// `exact`: the map compares the local part of an address exactly, so the letter says that the
/// same address written otherwise (with capitals) may be how the person is known: said whether or
/// not someone holds it so, so that the letter tells no one who is on file.
pub fn no_data(c: &Controller, r: &Request, address: &str, exact: bool) -> anyhow::Result<Letter> {
    let (right_en, right_nl) = r.right_names();
    let vars = Vars::new(json!({"id": r.id, "address": address, "exact_local_part": exact}))
        .pair("right", (right_nl, right_en));
    Ok(Letter { kind: "no-data", subject: subject_of(c, "no-data", &r.id), body: body(c, "no-data", &vars)? })
}

/// Art. 12(4), 11(2): the request expired unverified; why nothing was done and how to identify.
pub fn expired(c: &Controller, r: &Request) -> anyhow::Result<Letter> {
    let (right_en, right_nl) = r.right_names();
    let vars = Vars::new(json!({"id": r.id}))
        .pair("right", (right_nl, right_en))
        .pair("received", crate::local_time::day(r.received_on));
    Ok(Letter { kind: "expired", subject: subject_of(c, "expired", &r.id), body: body(c, "expired", &vars)? })
}

/// Send the expiry letter of each request that just expired, in the caller's transaction: only to
/// an address on file (`mail::notify`), so a request naming no one gets none.
pub fn tell_expired(conn: &dyn crate::store::db::Db, clock: &Clock, expired_now: &[Request]) -> anyhow::Result<()> {
    if expired_now.is_empty() {
        return Ok(());
    }
    let Some(controller) = crate::register::Register::load(conn)?.controller else {
        return Ok(());
    };
    // The outbox lies beside the store.
    let store = conn.place();
    for r in expired_now {
        crate::mail::notify(conn, clock, &store, &controller, r, &expired(&controller, r)?)?;
    }
    Ok(())
}

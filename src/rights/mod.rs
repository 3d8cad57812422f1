//! The rights, one module each: domain logic over the store that returns a `Serialize` report
//! and prints nothing. A right's procedures on a request own their transactions (`carry_out`,
//! erasure's `stored`, `decide`, `due`, `replay`); the commands parse, ask and render. `intake`
//! opens and verifies a request for every right; `deliver` completes an access or export answer.

pub mod access;
pub mod deliver;
pub mod erase;
pub mod export;
pub mod history;
pub mod intake;
pub mod object;
pub mod rectify;
pub mod restrict;

use crate::error::Error;
use crate::request::{self, Kind, Request};
use crate::subject::{self, Subject};

/// Load a request for answering: the right kind, verified, naming a person.
pub fn verified(conn: &dyn crate::store::db::Db, id: &str, kind: Kind) -> anyhow::Result<(Request, Subject)> {
    let req = request::load(conn, id)?;
    if req.in_review() {
        return Err(req.needs_review().into());
    }
    if req.kind()? != kind {
        return Err(Error::RequestState(format!(
            "request {} is a{} {} request, not {}",
            req.id,
            if req.right.starts_with(['a', 'e', 'o']) { "n" } else { "" },
            req.right,
            kind.as_str()
        ))
        .into());
    }
    match req.state.as_str() {
        "verified" | "completed" => {}
        "awaiting-verification" => return Err(Error::NotVerified(req.id).into()),
        other => return Err(Error::RequestState(format!("request {} is {other}; nothing is disclosed", req.id)).into()),
    }
    let person = req.person_id.ok_or_else(|| {
        Error::RequestState(format!("request {} names no one in the store (or the person was erased)", req.id))
    })?;
    let s = subject::subject(conn, person)?;
    Ok((req, s))
}

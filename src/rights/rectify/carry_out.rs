//! Carry out a verified rectification request (Art. 16): what will change is read first
//! ([`prepare`], shown to the officer before the confirmation), then [`apply`] makes the
//! corrections in one transaction with the supplementary statements, the audit entry, the
//! recipients to tell (Art. 19), the letter to the old address and the answer. The letters are
//! queued in that transaction and go out after the commit.

use crate::vals;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Change, Planned};
use crate::audit;
use crate::clock::Clock;
use crate::error::Error;
use crate::mail::{self, Letter};
use crate::notify;
use crate::queue::OnSent;
use crate::register::{Controller, Register};
use crate::request::{self, Request};
use crate::store::db::Conn;
use crate::store::personal::DataMap;
use crate::subject::Subject;

/// A statement that completes a category (Art. 16, "by means of providing a supplementary
/// statement"), as the request holds it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Statement {
    pub category: String,
    pub statement: String,
}

/// What a verified request will change, read from the store as it is now.
pub struct Prepared {
    map: std::sync::Arc<DataMap>,
    changes: Vec<Change>,
    pub planned: Vec<Planned>,
    pub statements: Vec<Statement>,
    /// Fields whose value on file is already the one asked: no correction, said in the answer.
    pub accurate: Vec<String>,
}

/// The outcome of a rectification, as the request records it.
#[derive(Debug, Serialize)]
pub struct Rectified {
    pub changes: Vec<Planned>,
    pub supplementary_statements: Vec<Statement>,
    /// Fields that were already as asked (no correction needed, Art. 16: the data is accurate).
    pub already_accurate: Vec<String>,
}

/// Read what the request asks against the data on file: each field with its old and new value,
/// validated again against the country as it will be after the change.
pub fn prepare(store: &dyn Conn, req: &Request, s: &Subject) -> anyhow::Result<Prepared> {
    let mut changes: Vec<Change> = serde_json::from_value(req.params["set"].clone()).unwrap_or_default();
    let map = DataMap::load(store)?;
    let named = req.named_email();
    // A request that cannot be carried out as asked stays verified: say how to close it.
    let closing = |e: anyhow::Error| match e.downcast::<Error>() {
        Ok(Error::RequestState(why)) => Error::RequestState(format!("{why}; {}", reject_hint(&req.id))).into(),
        // Checked when the request was opened: what fails now is the data on file (the country
        // a postal code is checked for changed), not the officer's command line (exit 9, not 2).
        Ok(Error::Invalid { why, .. }) => Error::RequestState(format!(
            "the correction asked does not fit the data on file now ({why}); {}",
            reject_hint(&req.id)
        ))
        .into(),
        Ok(other) => other.into(),
        Err(e) => e,
    };
    super::revalidate(store, &map, s, named.as_deref(), &mut changes).map_err(closing)?;
    let mut planned = super::plan(store, &map, s, named.as_deref(), &changes).map_err(closing)?;
    let statements: Vec<Statement> = serde_json::from_value(req.params["supplement"].clone()).unwrap_or_default();
    let table = crate::store::personal::WRITTEN_BY_DSR;
    if !statements.is_empty() && map.table(table).is_none() {
        // Opened before the map lost its table of statements (or before dsr checked it).
        return Err(Error::RequestState(format!(
            "the data map has no table {table} for the statement this request adds; add it to the company file and run `dsr register apply FILE`; {}",
            reject_hint(&req.id)
        ))
        .into());
    }
    // A value already on file is no correction: it is not changed, nor told to recipients; the
    // answer tells the person their data already reads so (a request answered, not refused).
    let same: Vec<String> =
        planned.iter().filter(|p| p.old.as_deref() == Some(p.new.as_str())).map(|p| p.field.clone()).collect();
    changes.retain(|c| !same.contains(&c.field));
    planned.retain(|p| !same.contains(&p.field));
    if let Some(field) = super::taken_by_another(store, &map, s, &changes)? {
        return Err(Error::RequestState(format!(
            "the new {field} is on file for another person of the store: it would make both one match for their lookups, and their mail could reach this person; nothing was changed. Check with the person, then ask again with another value, or close the request with `dsr request reject {} --reason other --note TEXT --note-nl TEKST`",
            req.id
        ))
        .into());
    }
    if let Some(field) = super::already_the_persons(store, &map, s, &planned)? {
        return Err(Error::RequestState(format!(
            "the new {field} is already one of the person's own addresses on file, in another row: the correction would leave the address on file twice; nothing was changed. Ask the person which address should go, then close the request with `dsr request reject {} --reason other --note TEXT --note-nl TEKST` and open one for that",
            req.id
        ))
        .into());
    }
    Ok(Prepared { map, changes, planned, statements, accurate: same })
}

/// What to do with a verified request that cannot be carried out as asked.
fn reject_hint(id: &str) -> String {
    format!("nothing was changed: tell the person, and close the request with `dsr request reject {id} --reason other --note TEXT --note-nl TEKST`")
}

/// Make the corrections as prepared, in one transaction with everything that goes with them.
pub fn apply(
    store: &dyn Conn,
    clock: &Clock,
    req: &Request,
    s: &Subject,
    prepared: Prepared,
) -> anyhow::Result<Rectified> {
    let Prepared { map, changes, planned, statements, accurate } = prepared;
    let register = Register::load(store)?;
    let controller = register.controller.clone().ok_or_else(crate::error::Error::no_register)?;
    let named = req.named_email();
    let tx = store.begin()?;
    request::still_to_carry_out(&*tx, req, "changed")?;
    if let Some(p) = planned.iter().find(|p| super::is_mail_address(&map, &p.field)) {
        // The old address on file is told of the change before it is replaced.
        let letter = email_changed(&controller, req, p.old.as_deref().unwrap_or_default(), &p.new)?;
        mail::notify(&*tx, clock, &store.place(), &controller, req, &letter)?;
    }
    // Where each value was set, so that an import does not put an older one back (docs/import.md).
    let applied = super::apply(&*tx, &map, s, named.as_deref(), &changes)?;
    crate::tasks::record(&*tx, clock, req, "rectify", crate::tasks::Change::Values(&applied))?;
    for (table, row, column) in applied.spots {
        tx.run(
            "INSERT INTO rectified (table_name, row_key, column_name, request_id, rectified_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (table_name, row_key, column_name) DO UPDATE SET request_id = excluded.request_id,
               rectified_at = excluded.rectified_at",
            &vals![table, row, column, req.id, clock.timestamp()]?)?;
    }
    for sup in &statements {
        tx.run(
            "INSERT INTO supplementary_statement (person_id, category, statement, request_id, added_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            &vals![s.person_id, sup.category, sup.statement, req.id, clock.timestamp()]?)?;
    }
    let fields: Vec<&str> = planned.iter().map(|p| p.field.as_str()).collect();
    audit::append(
        &*tx,
        clock,
        Some(&req.id),
        Some(&req.subject_pseudonym),
        "rectified",
        json!({"fields": fields, "statements": statements.len(), "already_accurate": accurate}),
    )?;
    let done = Rectified {
        changes: planned.clone(),
        supplementary_statements: statements.clone(),
        already_accurate: accurate.clone(),
    };
    request::set_outcome(&*tx, req, &serde_json::to_value(&done)?)?;
    // Each recipient is told of the fields (and statements) of the categories it received only.
    let categories: Vec<&str> = statements.iter().map(|x| x.category.as_str()).collect();
    let mut items: Vec<(String, String)> = Vec::new();
    for f in &fields {
        items.extend(super::categories(&register, &map, &[f], &[]).into_iter().map(|c| (c, (*f).to_owned())));
    }
    for c in super::categories(&register, &map, &[], &categories) {
        items.push((c, "a supplementary statement".to_owned()));
    }
    let what = |told: &[&str]| {
        let mut told = told.to_vec();
        told.dedup();
        format!("Rectification (Art. 16) of: {}. Correct the data you received from us.", told.join(", "))
    };
    notify::record_items(&*tx, clock, &register, req, s, &items, what)?;
    let names: Vec<(String, String)> = fields.iter().map(|f| super::letter_names(&map, f)).collect();
    let accurate: Vec<(String, String)> = accurate.iter().map(|f| super::letter_names(&map, f)).collect();
    let answer = crate::answers::rectified(&register, req, (&names, &accurate), &categories);
    crate::answers::send(&*tx, clock, &store.place(), &register, req, &answer, OnSent::DeliversAnswer)?;
    request::answered(&*tx, clock, req, json!({"answered": "rectification"}))?;
    tx.commit()?;
    Ok(done)
}

/// The letter to the old address on file when the email address changes.
fn email_changed(controller: &Controller, req: &Request, old: &str, new: &str) -> anyhow::Result<Letter> {
    let vars = crate::letters::Vars::new(serde_json::json!({"id": req.id, "old": old, "new": new}));
    Ok(Letter {
        kind: "email-changed",
        subject: crate::letters::subject_of(controller, "email-changed", &req.id),
        body: crate::letters::body(controller, "email-changed", &vars)?,
    })
}

//! The officer's decisions on a request that the person is told of by letter: more time
//! (Art. 12(3)) and a refusal (Art. 12(4), (5)). Each is recorded in one transaction with its
//! audit entries and the queued letter (sent after the commit). Also the expiry of stale
//! requests, run before the commands that list or act on requests.

use super::{RejectReason, Request};
use crate::clock::Clock;
use crate::mail::{self, Letter, Sent};
use crate::register::{Controller, Register};
use crate::store::db::{Conn, Db};
use crate::vals;

/// A decision the person is told of: the request afterwards, the letter, and where it was
/// queued (None: no email address on file, the officer sends the letter by other means).
#[derive(Debug)]
pub struct Told {
    pub request: Request,
    pub letter: String,
    pub sent: Option<Sent>,
}

/// Expire the requests the person never verified in time ([`super::expire_stale`]).
pub fn expire(conn: &dyn Conn, clock: &Clock) -> anyhow::Result<()> {
    let tx = conn.begin()?;
    super::expire_stale(&*tx, clock)?;
    tx.commit()?;
    Ok(())
}

/// Extend the deadline of request `id` by `months` with a reason, and tell the person.
pub fn extend(store: &dyn Conn, clock: &Clock, id: &str, months: u32, reason: &str) -> anyhow::Result<Told> {
    let controller = controller(store)?;
    let tx = store.begin()?;
    let r = super::load(&*tx, id)?;
    let r = super::extend(&*tx, clock, &r, months, reason)?;
    let letter = Letter {
        kind: "extension",
        subject: format!("Verlenging / Extension ({})", r.id),
        body: extension_letter(&controller, &r),
    };
    let sent = mail::notify(&*tx, clock, &store.place(), &controller, &r, &letter)?;
    tx.commit()?;
    Ok(Told { request: r, letter: letter.body, sent })
}

/// Refuse request `id` with a reason and a note, and tell the person why and how to complain.
pub fn reject(store: &dyn Conn, clock: &Clock, id: &str, reason: RejectReason, note: &str) -> anyhow::Result<Told> {
    let controller = controller(store)?;
    let tx = store.begin()?;
    let r = super::load(&*tx, id)?;
    let r = super::reject(&*tx, clock, &r, reason, note)?;
    let earlier = earlier_requests(&*tx, &r)?;
    let letter = Letter {
        kind: "rejection",
        subject: format!("Weigering / Refusal ({})", r.id),
        body: rejection_letter(&controller, &r, &earlier),
    };
    let sent = mail::notify(&*tx, clock, &store.place(), &controller, &r, &letter)?;
    tx.commit()?;
    Ok(Told { request: r, letter: letter.body, sent })
}

fn controller(conn: &dyn Db) -> anyhow::Result<Controller> {
    Register::load(conn)?.controller.ok_or_else(|| anyhow::anyhow!("the store has no register"))
}

fn extension_letter(c: &Controller, r: &Request) -> String {
    let (right_en, right_nl) = r.kind().names();
    let (reason_en, reason_nl) = crate::archive::present::reason(r.extension_reason.as_deref().unwrap_or_default());
    let (due_nl, due_en) = crate::local_time::day(r.deadline());
    let sig = crate::answers::signature(c);
    format!(
        "(English below)\n\nHallo,\n\nWe hebben meer tijd nodig voor je verzoek {id} om {right_nl}. \
Wij beantwoorden het uiterlijk op {due_nl} (art. 12(3) AVG). Reden: {reason_nl}\n\n{sig_nl}\n\n----------------------------------------\n\n\
Hello,\n\nWe need more time for your request {id} for {right_en}. We will answer it by {due_en} at the latest \
(GDPR Art. 12(3)). Reason: {reason_en}\n\n{sig_en}\n",
        id = r.id,
        sig_nl = sig.nl,
        sig_en = sig.en
    )
}

/// The person's earlier requests for the same right (ids, oldest first): what makes a request
/// repetitive (Art. 12(5)). Matched by person, or by the keyed pseudonym when no one was resolved.
fn earlier_requests(conn: &dyn Db, r: &Request) -> anyhow::Result<Vec<String>> {
    let (year, seq): (i64, i64) = conn
        .first("SELECT year, seq FROM request WHERE id = ?1", &vals![r.id]?, |x| Ok((x.get(0)?, x.get(1)?)))?
        .ok_or_else(|| crate::error::Error::UnknownRequest(r.id.clone()))?;
    let mut out = Vec::new();
    conn.each(
        "SELECT id FROM request WHERE kind = ?1 AND id <> ?2 AND (year < ?3 OR (year = ?3 AND seq < ?4))
           AND (person_id = ?5 OR subject_pseudonym = ?6) ORDER BY year, seq",
        &vals![r.right, r.id, year, seq, r.person_id, r.subject_pseudonym]?,
        &mut |x| {
            out.push(x.get(0)?);
            Ok(())
        },
    )?;
    Ok(out)
}

/// Art. 12(4): the reasons for not acting, and the right to complain and to go to court.
/// A refusal as manifestly unfounded or excessive names Art. 12(5) and, when repetitiveness is
/// the reason, the earlier requests; one for want of identification cites Art. 11(2) and 12(2)
/// and says how the person can still be identified.
fn rejection_letter(c: &Controller, r: &Request, earlier: &[String]) -> String {
    let (right_en, right_nl) = r.kind().names();
    let art_12_5 = (
        "Under GDPR Art. 12(5) we may refuse to act on requests that are manifestly unfounded or excessive.",
        "Op grond van art. 12 lid 5 AVG mogen we weigeren gevolg te geven aan verzoeken die kennelijk ongegrond of buitensporig zijn.",
    );
    let (why_en, why_nl, more_en, more_nl) = match r.rejection_reason.as_deref() {
        Some("unfounded") => (
            "because it is manifestly unfounded".to_owned(),
            "omdat het kennelijk ongegrond is".to_owned(),
            art_12_5.0.to_owned(),
            art_12_5.1.to_owned(),
        ),
        Some("excessive") => {
            let (list_en, list_nl) = if earlier.is_empty() {
                (String::new(), String::new())
            } else {
                (
                    format!(" Your earlier requests for {right_en}: {}.", earlier.join(", ")),
                    format!(" Je eerdere verzoeken om {right_nl}: {}.", earlier.join(", ")),
                )
            };
            (
                "because it is manifestly excessive, in particular because of its repetitive character".to_owned(),
                "omdat het kennelijk buitensporig is, met name vanwege het repetitieve karakter".to_owned(),
                format!("{}{list_en}", art_12_5.0),
                format!("{}{list_nl}", art_12_5.1),
            )
        }
        Some("identity-not-confirmed") => (
            "because we could not identify you as the person whose data it concerns (GDPR Art. 11(2) and 12(2))"
                .to_owned(),
            "omdat we je niet konden identificeren als de persoon om wiens gegevens het gaat (art. 11 lid 2 en art. 12 lid 2 AVG)"
                .to_owned(),
            format!(
                "How you can still be identified: make the request again; we send a one-time code to the email \
address we hold for you, and you pass that code on to us. You may also give us additional information that lets us \
identify you, such as your customer number (Art. 11(2)). We never ask for a copy of an identity document. {}",
                c.rights_contact_en
            ),
            format!(
                "Zo kun je je alsnog identificeren: doe je verzoek opnieuw; we sturen dan een eenmalige code naar het \
e-mailadres dat we van je hebben, en die code geef je aan ons door. Je kunt ons ook aanvullende gegevens geven \
waarmee we je kunnen identificeren, zoals je klantnummer (art. 11 lid 2 AVG). Om een kopie van je identiteitsbewijs \
vragen we nooit. {}",
                c.rights_contact_nl
            ),
        ),
        _ => ("for the reasons below".to_owned(), "om de redenen hieronder".to_owned(), String::new(), String::new()),
    };
    let (note_en, note_nl) = crate::archive::present::reason(r.rejection_note.as_deref().unwrap_or_default());
    let lead = |more: String| if more.is_empty() { more } else { format!(" {more}") };
    let (more_nl, more_en) = (lead(more_nl), lead(more_en));
    let body = crate::answers::Text {
        nl: format!(
            "We voeren je verzoek {id} om {right_nl} niet uit, {why_nl}.{more_nl}\nToelichting: {note_nl}",
            id = r.id
        ),
        en: format!(
            "We will not act on your request {id} for {right_en}, {why_en}.{more_en}\nExplanation: {note_en}",
            id = r.id
        ),
    };
    crate::answers::compose(c, &body, &crate::answers::Text { nl: String::new(), en: String::new() })
}

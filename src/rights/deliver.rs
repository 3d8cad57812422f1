//! Delivery, the step that completes a request (design.md §4), its domain part: what goes by mail
//! only encrypted, how large a mailed archive may be, the cover letter, and the transactions that
//! queue a mailed answer with its record and that record an answer handed over another way.
//! Viewing, printing or writing a file only prepares an answer.

use lettre::Message;
use serde_json::json;

use crate::archive::Manifest;
use crate::clock::Clock;
use crate::queue::OnSent;
use crate::register::Register;
use crate::request::{self, DeliveryChannel, Request};
use crate::store::db::Conn;
use crate::{audit, mail};

/// The largest archive sent as an attachment: 10 MiB (about 13.5 MiB once base64-encoded, under
/// the 20-25 MiB most mail servers accept). A larger answer is handed over another way.
pub const MAX_ATTACHMENT: u64 = 10 * 1024 * 1024;

/// The categories of an archive that must not travel by mail in clear text: those the register
/// marks `mail_encrypted` (payment data such as an IBAN or card digits, job applications whose
/// letters may hold special categories of data, Art. 9).
pub fn sensitive(register: &Register, manifest: &Manifest) -> Vec<String> {
    let encrypted = |code: &str| register.categories.iter().any(|c| c.code == code && c.mail_encrypted);
    let mut out: Vec<String> = manifest.categories.iter().filter(|c| encrypted(c)).cloned().collect();
    // A column of such a category in a table of another (an IBAN among the member's details)
    // travels with its table: in an export only where the category is portable (it is left out else).
    let export = manifest.right == "export";
    let tables = manifest.categories.iter().filter_map(|c| register.category(c)).flat_map(|c| &c.tables);
    for t in tables.filter_map(|t| register.map.table(t)) {
        for code in t.categories().into_iter().skip(1) {
            let portable = register.category(code).is_some_and(|c| c.portable);
            if encrypted(code) && (portable || !export) && !out.iter().any(|x| x == code) {
                out.push(code.to_owned());
            }
        }
    }
    out
}

/// A passphrase dsr made for the archive: the officer passes it on by phone.
pub struct Generated<F: FnOnce() -> anyhow::Result<()>> {
    /// Why the archive is encrypted, for the audit entry.
    pub why: &'static str,
    /// Shows the passphrase to the officer, before the commit: if it cannot be shown, nothing is
    /// queued or recorded.
    pub show: F,
}

/// Queue the mailed answer (delivered after the commit; its delivery completes the request) and
/// record it as prepared, in one transaction with the audit entry of a generated passphrase.
pub fn queue_answer<F: FnOnce() -> anyhow::Result<()>>(
    store: &dyn Conn,
    clock: &Clock,
    req: &Request,
    message: &Message,
    manifest: &Manifest,
    encrypted: bool,
    generated: Option<Generated<F>>,
) -> anyhow::Result<()> {
    let tx = store.begin_own()?;
    // Two `--send` at once, or a `request reject` or `request delivered` meanwhile: one answer.
    request::answer_still_to_give(&*tx, &req.id)?;
    mail::queue_message(&*tx, clock, &store.place(), req, "answer", message, OnSent::DeliversAnswer)?;
    request::answered(
        &*tx,
        clock,
        req,
        json!({"to": "mail", "files": manifest.files.len() + 1, "categories": manifest.categories, "encrypted": encrypted}),
    )?;
    if let Some(generated) = generated {
        audit::append(
            &*tx,
            clock,
            Some(&req.id),
            Some(&req.subject_pseudonym),
            "passphrase-given",
            json!({"to": "officer", "passes_it_on": "by phone, never in the same message", "why": generated.why}),
        )?;
        (generated.show)()?;
    }
    tx.commit()?;
    Ok(())
}

/// An article of the GDPR as Dutch cites it: "Art. 15 GDPR" is "art. 15 AVG" (the Algemene
/// verordening gegevensbescherming); any other citation as it is written.
fn article_nl(article: &str) -> String {
    match article.strip_prefix("Art. ").and_then(|a| a.strip_suffix(" GDPR")) {
        Some(number) => format!("art. {number} AVG"),
        None => article.to_owned(),
    }
}

/// The cover letter (Art. 12(1), 15): what is enclosed, how to open it, the rights, the contact
/// and the complaint route.
pub fn cover_letter(register: &Register, req: &Request, file: &str, encrypted: bool) -> anyhow::Result<String> {
    let c = register.controller.as_ref().expect("checked by the caller");
    let (right_en, right_nl) = req.right_names();
    let rights = |nl: bool| -> Vec<serde_json::Value> {
        register
            .rights
            .iter()
            .map(|r| {
                let (name, how) = if nl { (&r.name_nl, &r.how_nl) } else { (&r.name_en, &r.how_en) };
                let article = if nl { article_nl(&r.article) } else { r.article.clone() };
                serde_json::json!({"name": name, "article": article, "how": how})
            })
            .collect()
    };
    let vars = crate::letters::Vars::new(serde_json::json!({"id": req.id, "file": file, "encrypted": encrypted}))
        .pair("right", (right_nl, right_en))
        .pair("rights", (rights(true), rights(false)));
    crate::letters::body(c, "answer", &vars)
}

/// `dsr request delivered`: record that the answer to request `id` was handed over another way.
/// Returns the request's id and the tasks of its systems still open (0: the request is completed).
/// An answer letter held for those tasks (`letter_after_tasks`) cannot be handed over another way
/// first: it would tell the person the data is erased everywhere before it is.
pub fn delivered(
    store: &dyn Conn,
    clock: &Clock,
    id: &str,
    channel: DeliveryChannel,
    reference: &str,
) -> anyhow::Result<(String, i64)> {
    // An answer letter in the queue may be withdrawn (below): under the queue's lock, so that no
    // flush is sending it meanwhile.
    let _flush = match request::answer_queued(store, id)? {
        true => Some(crate::queue::hold(store)?),
        false => None,
    };
    let tx = store.begin_own()?;
    let req = request::load(&*tx, id)?;
    if let (Some(at), Some(channel)) = (&req.delivered_at, &req.delivery_channel) {
        return Err(crate::error::Error::RequestState(format!(
            "the answer to {} was delivered already ({channel}, {}); nothing to record",
            req.id,
            at.get(..10).unwrap_or(at)
        ))
        .into());
    }
    // With letter_after_tasks an erasure's answer waits for its systems: the letter held in the
    // queue, or, answered by post (no address to mail), the officer's to send.
    let open = crate::tasks::open_of(&*tx, &req.id)?.0;
    let held = crate::tasks::held_letters(&*tx, &req.id)? > 0;
    if held || req.right == "erase" && open > 0 && crate::tasks::Systems::load(&*tx)?.letter_after_tasks {
        let then = match held {
            true => "it goes out when the last task is acknowledged, not by another way before",
            false => "send it and record it once the last is acknowledged",
        };
        return Err(crate::error::Error::RequestState(format!(
            "the answer to {} waits until every system has erased too (letter_after_tasks; {} still open, see `dsr tasks`); {then}",
            req.id,
            crate::output::plural(open, "task", "tasks")
        ))
        .into());
    }
    match crate::queue::answer_of(&*tx, &req.id)? {
        // Not tried yet: it is on its way.
        Some((_, 0)) => {
            return Err(crate::error::Error::RequestState(format!(
                "the answer to {} is queued to be mailed and completes the request when it goes out (`dsr mail flush`); it is not handed over another way too (once a try has failed, this command withdraws it)",
                req.id
            ))
            .into())
        }
        // A letter that could not be sent (an address that bounces, a server that refuses): it
        // is withdrawn, its content dropped, and the answer handed over another way instead.
        Some((queued, tries)) => {
            crate::queue::withdraw(&*tx, &clock.timestamp(), queued)?;
            crate::audit::append(
                &*tx,
                clock,
                Some(&req.id),
                Some(&req.subject_pseudonym),
                "mail-withdrawn",
                json!({"queued": queued, "letter": "answer", "tries": tries, "why": "handed over another way"}),
            )?;
        }
        None => {}
    }
    request::deliver(&*tx, clock, &req, channel.as_str(), Some(reference))?;
    tx.commit()?;
    Ok((req.id, open))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_gdpr_article_is_cited_in_dutch_as_the_avg() {
        assert_eq!(super::article_nl("Art. 15 GDPR"), "art. 15 AVG");
        assert_eq!(super::article_nl("Art. 21(2) GDPR"), "art. 21(2) AVG");
        assert_eq!(super::article_nl("art. 52 AWR"), "art. 52 AWR");
    }
}

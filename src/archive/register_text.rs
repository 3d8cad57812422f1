//! `register.json`, the Art. 15 items of an archive: the register as it concerns the person (the
//! categories of the right, the person's recipients). All but the person's recipients is made
//! once for each set of categories and kept; each archive writes its recipients into it.

use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::json;

use super::FORMAT_VERSION;
use crate::recipients::PersonRecipient;
use crate::register::{Category, Register};

/// The `register.json` texts a register has given archives, by the categories they cover, with
/// the place of the person's recipients left open: a batch writes the same one or two again
/// and again.
#[derive(Debug, Default)]
pub struct KeptTexts(Mutex<Vec<(String, Arc<OpenText>)>>);

/// A text up to and after the place of the person's recipients (None: made whole each time).
type OpenText = Option<(Vec<u8>, Vec<u8>)>;

/// The most `register.json` texts a register keeps (each some tens of KiB).
const KEPT_TEXTS: usize = 16;

/// Where the person's recipients go in a kept text: a JSON string no register holds (it is
/// checked to occur once; a text where it does not is made whole for each archive).
const RECIPIENTS: &str = "\u{0}the recipients of your data\u{0}";

/// `register.json` as written (pretty JSON, two-space indents): the text kept for the
/// categories, made once, with the person's recipients written into its open place; the same
/// bytes as making the whole text for the person.
pub(super) fn register_text(
    register: &Register,
    categories: &[&Category],
    recipients: &[PersonRecipient],
) -> anyhow::Result<Vec<u8>> {
    let key = serde_json::to_string(&categories.iter().map(|c| c.code.as_str()).collect::<Vec<_>>())?;
    let kept = || register.archive_texts.0.lock().unwrap_or_else(|e| e.into_inner());
    let found = kept().iter().find(|(k, _)| *k == key).map(|(_, parts)| parts.clone());
    let parts = match found {
        Some(parts) => parts,
        None => {
            let parts = Arc::new(open_text(register, categories)?);
            let mut texts = kept();
            // Another worker may have made the same text meanwhile: kept once.
            if texts.len() < KEPT_TEXTS && !texts.iter().any(|(k, _)| *k == key) {
                texts.push((key, parts.clone()));
            }
            parts
        }
    };
    let Some((before, after)) = parts.as_ref() else {
        return whole_with(register, categories, recipients);
    };
    // The recipients one level down in the text: each of their lines indented two more spaces
    // (a JSON text holds no newline but between its tokens).
    let alone = serde_json::to_vec_pretty(recipients)?;
    let mut text = Vec::with_capacity(before.len() + alone.len() * 2 + after.len());
    text.extend_from_slice(before);
    for (i, line) in alone.split(|b| *b == b'\n').enumerate() {
        if i > 0 {
            text.extend_from_slice(b"\n  ");
        }
        text.extend_from_slice(line);
    }
    text.extend_from_slice(after);
    Ok(text)
}

/// The text for `categories` split where the person's recipients go; None if the stand-in
/// does not occur exactly once.
fn open_text(register: &Register, categories: &[&Category]) -> anyhow::Result<OpenText> {
    let text = whole_with(register, categories, RECIPIENTS)?;
    let mark = serde_json::to_vec(RECIPIENTS)?;
    let at: Vec<usize> = text.windows(mark.len()).enumerate().filter(|(_, w)| *w == mark).map(|(i, _)| i).collect();
    Ok(match at[..] {
        [i] => Some((text[..i].to_vec(), text[i + mark.len()..].to_vec())),
        _ => None,
    })
}

/// The whole text, with `recipients` as the person's recipients.
fn whole_with(register: &Register, categories: &[&Category], recipients: impl Serialize) -> anyhow::Result<Vec<u8>> {
    let mut text = serde_json::to_vec_pretty(&register_json(register, categories, recipients))?;
    text.push(b'\n');
    Ok(text)
}

fn register_json(register: &Register, categories: &[&Category], recipients: impl Serialize) -> serde_json::Value {
    let codes: Vec<&str> = categories.iter().map(|c| c.code.as_str()).collect();
    let controller = register.controller.as_ref();
    json!({
        "format_version": FORMAT_VERSION,
        "controller": controller,
        "purposes": register.purposes,
        "categories": categories,
        "recipients_of_your_data": recipients,
        "all_recipients": register.recipients,
        "retention": register.retention.iter().filter(|r| codes.contains(&r.category.as_str())).collect::<Vec<_>>(),
        "automated_decisions": register.automated_decisions,
        "rights": register.rights,
        "complaint": controller.map(|c| json!({
            "authority": c.complaint_authority,
            "url": c.complaint_url,
            "court_route_en": c.court_route_en,
            "court_route_nl": c.court_route_nl,
        })),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recipients;
    use crate::request::Kind;
    use crate::store::db::Db;

    /// A `register.json` text kept for one person's recipients is given only to an archive with
    /// the same recipients and categories, and is what making it anew gives.
    #[test]
    fn a_kept_register_text_is_given_only_for_the_same_recipients_and_categories() {
        use crate::store::{fixture, Store};
        let mut store = Store::in_memory().unwrap();
        let clock = crate::clock::Clock::from_env().unwrap();
        fixture::load(&mut store.conn, fixture::find("virtio").unwrap(), clock, false).unwrap();
        let register = Register::load(&store.conn).unwrap();
        let people: Vec<i64> =
            <dyn Db>::all(&store.conn, "SELECT id FROM person ORDER BY id", &[], |r| r.get(0)).unwrap();
        let fresh = |categories: &[&Category], recipients: &[PersonRecipient]| {
            let mut text = serde_json::to_vec_pretty(&register_json(&register, categories, recipients)).unwrap();
            text.push(b'\n');
            text
        };
        let mut seen = std::collections::HashSet::new();
        for right in [Kind::Access, Kind::Export] {
            let in_scope = super::super::scope(&register, right);
            let categories: Vec<&Category> = in_scope.iter().collect();
            for &id in &people {
                let s = crate::subject::subject(&store.conn, id).unwrap();
                let recipients = recipients::for_person(&store.conn, &register, &s).unwrap();
                let text = register_text(&register, &categories, &recipients).unwrap();
                assert_eq!(text, fresh(&categories, &recipients), "person {id}, {right:?}");
                seen.insert(text);
            }
        }
        // One text kept for each right's categories, whatever the recipients.
        let kept = register.archive_texts.0.lock().unwrap().len();
        assert!(seen.len() > 2 && kept == 2, "{} texts, {kept} kept", seen.len());
    }
}

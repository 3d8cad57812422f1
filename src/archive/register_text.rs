//! `register.json`, the Art. 15 items of an archive: the register as it concerns the person (the
//! categories of the right, the person's recipients), made once for each such set and kept.

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use super::FORMAT_VERSION;
use crate::recipients::PersonRecipient;
use crate::register::{Category, Register};

/// The `register.json` texts a register has given archives, by what varies from person to
/// person: a batch writes the same few again and again.
#[derive(Debug, Default)]
pub struct KeptTexts(Mutex<Vec<(String, Arc<Vec<u8>>)>>);

/// The most `register.json` texts a register keeps (each some tens of KiB).
const KEPT_TEXTS: usize = 16;

/// `register.json` as written: made once for each set of categories (the right) and of the
/// person's recipients, the only parts that vary, and kept with the register for the next
/// archive with the same (most people of a batch share one of a few).
pub(super) fn register_text(
    register: &Register,
    categories: &[&Category],
    recipients: &[PersonRecipient],
) -> anyhow::Result<Arc<Vec<u8>>> {
    let codes: Vec<&str> = categories.iter().map(|c| c.code.as_str()).collect();
    let key = serde_json::to_string(&(codes, recipients))?;
    let kept = || register.archive_texts.0.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, text)) = kept().iter().find(|(k, _)| *k == key) {
        return Ok(text.clone());
    }
    let mut text = serde_json::to_vec_pretty(&register_json(register, categories, recipients))?;
    text.push(b'\n');
    let text = Arc::new(text);
    let mut texts = kept();
    // Another worker may have made the same text meanwhile: kept once.
    if texts.len() < KEPT_TEXTS && !texts.iter().any(|(k, _)| *k == key) {
        texts.push((key, text.clone()));
    }
    Ok(text)
}

fn register_json(register: &Register, categories: &[&Category], recipients: &[PersonRecipient]) -> Value {
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
            let categories = super::super::scope(&register, right);
            for &id in &people {
                let s = crate::subject::subject(&store.conn, id).unwrap();
                let recipients = recipients::for_person(&store.conn, &register, &s).unwrap();
                let text = register_text(&register, &categories, &recipients).unwrap();
                assert_eq!(*text, fresh(&categories, &recipients), "person {id}, {right:?}");
                seen.insert(text.to_vec());
            }
        }
        let kept = register.archive_texts.0.lock().unwrap().len();
        assert!(seen.len() > 2 && kept == seen.len().min(KEPT_TEXTS), "{} texts, {kept} kept", seen.len());
    }
}

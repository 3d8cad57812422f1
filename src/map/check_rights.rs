//! Whole-file checks of what each right does with a table of the data map: an erase kind has
//! the parameters the engine needs for it (the fiscal hold's date and years, the table that
//! refers to kept rows, a fiscal parent, a parent with a claim), every rectifiable field has a
//! validator, a recipient link reaches a recipient of the register, an opt-in names a purpose,
//! and other people's rows (Art. 15(4)) have what their kind needs.

use std::collections::HashSet;

use super::table::{EraseKind, IdentifierKind, LocalPart, OtherPeopleKind, Table};
use super::CompanyFile;
use crate::store::personal::DataMap;

pub fn check(f: &CompanyFile, map: &DataMap, purposes: &HashSet<&str>, say: &mut dyn FnMut(String, String)) {
    reached(f, say);
    local_parts(f, say);
    labels(f, say);
    let mut fields = HashSet::new();
    for (i, t) in f.table.iter().enumerate() {
        for (key, what) in erase(t, i, map) {
            say(key, what);
        }
        for (j, r) in t.rectify.iter().enumerate() {
            if r.validator.is_none() {
                say(
                    format!("table[{i}].rectify[{j}].validator"),
                    format!(
                        "missing: field {:?} needs a validator ({})",
                        r.field,
                        super::table::Validator::ALL.join(", ")
                    ),
                );
            }
            if !fields.insert(r.field.as_str()) {
                say(format!("table[{i}].rectify[{j}].field"), format!("field {:?} is rectifiable twice", r.field));
            }
        }
        for (j, r) in t.recipient.iter().enumerate() {
            let key = format!("table[{i}].recipient[{j}]");
            match (&r.column, &r.received_via) {
                (Some(_), None) => {}
                (None, Some(via)) if !f.recipient.iter().any(|x| &x.received_via == via) => say(
                    format!("{key}.received_via"),
                    format!("no [[recipient]] is received_via {via:?}: the link reaches no one"),
                ),
                (None, Some(_)) => {}
                _ => say(key, "give either column (the recipient's code) or received_via, not both".into()),
            }
        }
        if let Some(o) = &t.other_people {
            let key = format!("table[{i}].other_people");
            match o.kind {
                OtherPeopleKind::AnonymousByIp if o.ips_from.is_empty() => say(
                    format!("{key}.ips_from"),
                    "missing: anonymous-by-ip needs the columns that hold the person's own IP addresses".into(),
                ),
                OtherPeopleKind::WrittenBy if !o.ips_from.is_empty() => say(
                    format!("{key}.ips_from"),
                    "only for anonymous-by-ip: written-by compares the author's address with the person's email addresses".into(),
                ),
                _ => {}
            }
        }
        for (j, o) in t.opt_in.iter().enumerate() {
            if !purposes.contains(o.purpose.as_str()) {
                say(
                    format!("table[{i}].opt_in[{j}].purpose"),
                    format!("{:?} is not the code of a [[purpose]]", o.purpose),
                );
            } else if !marketing(f, &o.purpose) {
                // The flag is what a withdrawal or an objection turns off, and what `dsr check`
                // reads: for a contract's purpose it would stop the contract's own processing.
                say(
                    format!("table[{i}].opt_in[{j}].purpose"),
                    format!(
                        "{:?} neither rests on consent nor is direct marketing: a marketing flag stands for the person's consent or their right to object to marketing (Art. 7(3), 21(3) GDPR); name such a purpose",
                        o.purpose
                    ),
                );
            }
        }
        // A moment is UTC text (or a date) that rules compare as text: a number or a blob
        // there would compare with a date and match rows it should not.
        let moments = t
            .retention
            .iter()
            .flat_map(|r| [("retention.counts_from", &r.counts_from), ("retention.contract_end", &r.contract_end)]);
        for (key, name) in moments.chain([("erase.date_column", &t.erase.date_column)]) {
            let declared = name.as_ref().and_then(|n| t.column.iter().find(|c| &c.name == n));
            if let Some(c) = declared.filter(|c| c.kind != super::table::ColumnType::Text) {
                let kind = format!("{:?}", c.kind).to_lowercase();
                say(
                    format!("table[{i}].{key}"),
                    format!("column {:?} is declared type = {kind:?}: a moment a rule counts from is text, a UTC time (2026-03-01T09:30:00Z) or a date (2026-03-01); declare it type = \"text\"", c.name),
                );
            }
        }
        if t.retention.as_ref().is_some_and(|r| r.with_parent) && t.link.is_none() {
            say(format!("table[{i}].retention.with_parent"), "a table without a link has no parent to go with".into());
        }
    }
}

/// Whether a purpose rests on consent or is direct marketing: what a marketing flag may stand for.
fn marketing(f: &CompanyFile, purpose: &str) -> bool {
    let Some(p) = f.purpose.iter().find(|p| p.code == purpose) else { return false };
    let basis = f.legal_basis.iter().find(|b| b.code == p.legal_basis).and_then(|b| b.meaning());
    p.direct_marketing || basis == Some(super::BasisKind::Consent)
}

/// Every register recipient is reached by the data map, or a person's answer (Art. 15(1)(c)) and
/// the Art. 19 notices would leave it out: one `received_via` consent or dunning-step by a table's
/// link of that `received_via`; one named in rows (a payment method's provider, a domain's
/// registry, a disclosure, a table row) by a table's recipient column; `purpose` reaches
/// everyone whose data serves it. A file without a data map is not checked here.
fn reached(f: &CompanyFile, say: &mut dyn FnMut(String, String)) {
    if f.table.is_empty() {
        return;
    }
    let links = || f.table.iter().flat_map(|t| &t.recipient);
    for (i, r) in f.recipient.iter().enumerate() {
        let how = match r.received_via.as_str() {
            "purpose" => continue,
            via @ ("consent" | "dunning-step") => {
                if links().any(|l| l.received_via.as_deref() == Some(via)) {
                    continue;
                }
                format!("a [[table.recipient]] with received_via = {via:?} on the table that records it")
            }
            _ => {
                if links().any(|l| l.column.is_some()) {
                    continue;
                }
                "a [[table.recipient]] column that holds its code in the rows".to_owned()
            }
        };
        say(
            format!("recipient[{i}].received_via"),
            format!(
                "no table of the data map reaches recipient {:?}, so no person would be told of it (Art. 15(1)(c), 19); add {how}",
                r.code
            ),
        );
    }
}

/// The parameters of the table's erase kind, and none that belong to another.
fn erase(t: &Table, i: usize, map: &DataMap) -> Vec<(String, String)> {
    let e = &t.erase;
    let mut out = Vec::new();
    let mut say = |k: &str, what: String| out.push((format!("table[{i}].erase.{k}"), what));
    let kind = serde_json::to_value(e.kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    let need = |what: &str| format!("missing: kind {kind:?} needs {what}");
    let parent = t.link.as_ref().and_then(|l| map.table(&l.parent));
    let fiscal = |t: &Table| t.erase.kind == EraseKind::FiscalRecord;
    match e.kind {
        EraseKind::Delete => {}
        EraseKind::Detach if e.detach.is_empty() => say("detach", need("the fields that become NULL")),
        EraseKind::Detach => {}
        EraseKind::FiscalRecord => {
            if e.date_column.is_none() {
                say("date_column", need("the date the fiscal year is read from"));
            }
            match e.years {
                None => say("years", need("the years the records are kept after their fiscal year")),
                Some(y) if y <= 0 => say("years", format!("{y} is not a number of years (1 or more)")),
                Some(_) => {}
            }
        }
        EraseKind::KeptWithParent if !parent.is_some_and(fiscal) => {
            say("kind", "kept-with-parent needs a parent (link.parent) whose erase kind is fiscal-record".into())
        }
        EraseKind::KeptWithParent => {}
        EraseKind::KeptIfReferenced => match &e.referenced_by {
            None => say("referenced_by", need("the table and column of the fiscal records that refer here")),
            Some(r) if map.table(&r.table).is_some_and(|t| !fiscal(t)) => say(
                "referenced_by.table",
                format!("table {:?} is not a fiscal-record: only fiscal records keep what they refer to", r.table),
            ),
            Some(_) => {}
        },
        EraseKind::ClaimHistory if parent.is_none_or(|p| p.erase.claim.is_none()) => say(
            "kind",
            "claim-history needs a parent (link.parent) whose erase has a claim (the rows that are an unpaid claim)"
                .into(),
        ),
        EraseKind::ClaimHistory => {}
    }
    let only_fiscal =
        [("date_column", e.date_column.is_some()), ("years", e.years.is_some()), ("claim", e.claim.is_some())];
    for (k, given) in only_fiscal {
        if given && e.kind != EraseKind::FiscalRecord {
            say(k, format!("only an erase of kind fiscal-record has {k}"));
        }
    }
    // Rows an erasure keeps while it deletes their parent's rows must let go of them: a link
    // left in place would fail the parent's delete (a foreign key) or keep the rows the person's.
    let kept = matches!(e.kind, EraseKind::FiscalRecord | EraseKind::KeptIfReferenced | EraseKind::Detach);
    if let (true, Some(link), Some(p)) = (kept, &t.link, parent) {
        if !p.root && p.erase.kind == EraseKind::Delete && !e.detach.contains(&link.column) {
            say(
                "detach",
                format!(
                    "the rows this erase keeps would still refer to {:?} ({}), whose rows an erasure deletes: add {:?} to detach",
                    p.name, link.column, link.column
                ),
            );
        }
    }
    // So must a kept row's other foreign keys (`references`) to rows an erasure deletes: an
    // invoice naming the work order it bills would fail every erasure of a customer with one.
    if kept {
        let link = t.link.as_ref().map(|l| l.column.as_str());
        for c in t.column.iter().filter(|c| Some(c.name.as_str()) != link && !e.detach.contains(&c.name)) {
            let Some(target) = c.references.as_deref().and_then(|r| map.table(r)) else { continue };
            if !target.root && target.erase.kind == EraseKind::Delete {
                say(
                    "detach",
                    format!(
                        "the rows this erase keeps would still refer to {:?} by column {:?} (references), whose rows an erasure deletes, and the foreign key would refuse every such erasure: add {:?} to detach",
                        target.name, c.name, c.name
                    ),
                );
            }
        }
    }
    for field in &e.detach {
        if t.column.iter().any(|c| &c.name == field && c.required) {
            say(
                "detach",
                format!("column {field:?} is required (NOT NULL), so it cannot be detached: make it optional"),
            );
        }
    }
    if e.referenced_by.is_some() && e.kind != EraseKind::KeptIfReferenced {
        say("referenced_by", "only an erase of kind kept-if-referenced has referenced_by".into());
    }
    if !e.identity_fields.is_empty() && !t.root {
        say("identity_fields", "only the root table has identity_fields".into());
    }
    out
}

/// `local_part` is said of email identifiers only, and every email identifier compares the
/// local part the same way: a person's address is one identifier, found in every table or none.
fn local_parts(f: &CompanyFile, say: &mut dyn FnMut(String, String)) {
    let mut first: Option<(String, LocalPart)> = None;
    for (i, t) in f.table.iter().enumerate() {
        for (j, id) in t.identifier.iter().enumerate() {
            let key = format!("table[{i}].identifier[{j}].local_part");
            if id.kind != IdentifierKind::Email {
                if id.local_part.is_some() {
                    say(key, "is said of an email identifier only: leave it out".into());
                }
                continue;
            }
            let rule = id.local_part.unwrap_or_default();
            match &first {
                None => first = Some((format!("table[{i}].identifier[{j}]"), rule)),
                Some((at, r)) if *r != rule => say(
                    key,
                    format!(
                        "every email identifier compares the local part the same way, and {at} says {:?}: give each the same local_part",
                        r.name()
                    ),
                ),
                Some(_) => {}
            }
        }
    }
}

/// A column's label in the person's copy has words in both languages, once per column.
fn labels(f: &CompanyFile, say: &mut dyn FnMut(String, String)) {
    for (i, t) in f.table.iter().enumerate() {
        let mut seen = HashSet::new();
        for (j, l) in t.label.iter().enumerate() {
            let key = format!("table[{i}].label[{j}]");
            for (lang, words) in [("en", &l.en), ("nl", &l.nl)] {
                if words.trim().is_empty() || words.chars().any(char::is_control) {
                    say(format!("{key}.{lang}"), "give the column's heading in words (no control characters)".into());
                }
            }
            if !seen.insert(l.column.as_str()) {
                say(format!("{key}.column"), format!("column {:?} is labelled twice", l.column));
            }
            if crate::archive::present::hidden(&l.column) || t.internal.contains(&l.column) {
                say(
                    format!("{key}.column"),
                    format!("column {:?} is never shown in a person's copy (a record number or internal): leave its label out", l.column),
                );
            }
        }
    }
}

//! Which named recipients received one person's data (GDPR Art. 15(1)(c), Art. 19), computed
//! from the register's `received_via` and the person's own rows as the data map's
//! `[[table.recipient]]` links describe them (e.g. their payment providers, the registries of their
//! domains, disclosures on record, recipients of purposes they consented to, the collection agency
//! once the automated dunning decision handed one of their invoices over), and the recipients of
//! the purposes their data serves (a table of theirs in a category of the purpose).

use serde::Serialize;

use crate::register::{Recipient, Register};
use crate::store::db::Db;
use crate::subject::Subject;

#[derive(Debug, Clone, Serialize)]
pub struct PersonRecipient {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub country: String,
    pub outside_eea: bool,
    pub safeguards_en: String,
    pub safeguards_nl: String,
    pub categories: Vec<String>,
    /// Why this person's data went there, e.g. "payment method", "disclosure on 2025-03-02".
    pub because: Vec<String>,
}

fn codes(conn: &dyn Db, sql: &str, s: &Subject) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    conn.each(sql, &[s.person_id.into()], &mut |r| {
        // A placeholder without a value leaves a gap in the words: close it.
        let why: String = r.get(1)?;
        out.push((r.get(0)?, why.split_whitespace().collect::<Vec<_>>().join(" ")));
        Ok(())
    })?;
    Ok(out)
}

/// The recipients of one person's data, each with why, in this order: those the person's rows
/// name (the data map's `column` links, e.g. disclosures on record), recipients of purposes they
/// consented to (`received_via` links of the consent records), those their rows reached in
/// another way (other `received_via` links, such as a claim handed over), and the recipients of
/// the purposes their data serves.
pub fn for_person(conn: &dyn Db, register: &Register, s: &Subject) -> anyhow::Result<Vec<PersonRecipient>> {
    let map = &register.map;
    let links = || map.tables.iter().flat_map(|t| t.recipient.iter().map(move |l| (t, l)));
    let mut found: Vec<(String, String)> = Vec::new();
    for sql in links().filter_map(|(t, l)| map.recipients_named(t, l)) {
        found.extend(codes(conn, &sql, s)?);
    }
    let (consents, others): (Vec<_>, Vec<_>) = links().partition(|(t, _)| t.consent_record.is_some());
    for sql in consents.into_iter().chain(others).filter_map(|(t, l)| map.recipients_via(t, l)) {
        found.extend(codes(conn, &sql, s)?);
    }
    found.extend(by_purpose(conn, register, s)?);
    let mut out: Vec<PersonRecipient> = Vec::new();
    for (code, why) in found {
        if let Some(existing) = out.iter_mut().find(|r| r.code == code) {
            existing.because.push(why);
            continue;
        }
        let Some(r) = register.recipients.iter().find(|r| r.code == code) else {
            continue;
        };
        out.push(from_register(r, why));
    }
    Ok(out)
}

/// Whether a purpose can serve this person's data at all, whatever categories of theirs it
/// covers: one resting on a contract (Art. 6(1)(b)) only when the person has one (a row of the
/// map's contract table, where the map names one), one resting on consent (Art. 6(1)(a)) only
/// when their latest consent to it is given or an opt-in for it is in force. Any other: yes. A
/// newsletter-only subscriber's address is no order's; a visitor who never consented to group
/// marketing gets none. What is read is read once for the person (one statement for all their
/// consent records), and each purpose is asked once.
#[derive(Default)]
pub struct Serving {
    known: std::collections::HashMap<String, bool>,
    contract: Option<bool>,
    /// Each purpose's latest consent record of the person: given or not.
    consents: Option<std::collections::HashMap<String, bool>>,
}

impl Serving {
    pub fn serves(&mut self, conn: &dyn Db, register: &Register, s: &Subject, code: &str) -> anyhow::Result<bool> {
        if let Some(&serves) = self.known.get(code) {
            return Ok(serves);
        }
        let map = &register.map;
        let basis = register.purposes.iter().find(|p| p.code == code).and_then(|p| p.basis);
        let serves = match basis {
            Some(crate::map::BasisKind::Contract) => match (map.contract_table(), self.contract) {
                (None, _) => true,
                (_, Some(has)) => has,
                (Some((t, _)), None) => *self.contract.insert(map.has_rows(conn, &t.name, s.person_id)?),
            },
            Some(crate::map::BasisKind::Consent) => {
                if self.consents.is_none() {
                    self.consents = Some(latest_consents(conn, map, s)?);
                }
                let given = self.consents.as_ref().and_then(|c| c.get(code)) == Some(&true);
                let mut serves = given;
                for (t, _) in map.opt_ins(code) {
                    let (Some(scope), Some(in_force)) = (map.scope(&t.name), map.opt_in_in_force(&t.name)) else {
                        continue;
                    };
                    if serves {
                        break;
                    }
                    let sql =
                        format!("SELECT EXISTS (SELECT 1 FROM {} WHERE {} AND {in_force})", t.sql_name(), scope.filter);
                    serves = conn.one(&sql, &[s.person_id.into()], |r| r.get(0))?;
                }
                // A map with no consent records nor opt-ins cannot tell: the categories decide.
                serves || (map.consent_table().is_none() && map.opt_ins(code).next().is_none())
            }
            _ => true,
        };
        self.known.insert(code.to_owned(), serves);
        Ok(serves)
    }
}

/// The person's latest consent record for each purpose: given or not. One statement.
fn latest_consents(
    conn: &dyn Db,
    map: &crate::store::personal::DataMap,
    s: &Subject,
) -> anyhow::Result<std::collections::HashMap<String, bool>> {
    let mut out = std::collections::HashMap::new();
    let Some((t, c)) = map.consent_table() else { return Ok(out) };
    let Some(scope) = map.scope(&t.name) else { return Ok(out) };
    let sql = format!(
        "SELECT {p}, {g} FROM {n} WHERE {f} ORDER BY {r} DESC, {k} DESC",
        p = c.purpose,
        g = c.granted,
        n = t.sql_name(),
        f = scope.filter,
        r = c.recorded_at,
        k = t.key
    );
    conn.each(&sql, &[s.person_id.into()], &mut |r| {
        let (purpose, granted): (String, bool) = (r.get(0)?, r.get(1)?);
        out.entry(purpose).or_insert(granted);
        Ok(())
    })?;
    Ok(out)
}

/// The recipients that receive the data of a purpose (`received_via = "purpose"`), for a person
/// whose data serves it: who has rows in a table of a category that serves the purpose,
/// whatever the table's role, and whom the purpose can serve at all ([`Serving`]). Each
/// table is asked once.
fn by_purpose(conn: &dyn Db, register: &Register, s: &Subject) -> anyhow::Result<Vec<(String, String)>> {
    let mut asked: std::collections::HashMap<&str, bool> = std::collections::HashMap::new();
    let mut serving = Serving::default();
    let mut out = Vec::new();
    for r in register.recipients.iter().filter(|r| r.received_via == "purpose") {
        let Some(purpose) = r.purpose.as_deref() else { continue };
        if !serving.serves(conn, register, s, purpose)? {
            continue;
        }
        let tables = register.categories.iter().filter(|c| c.purposes.iter().any(|p| p == purpose));
        let mut serves = false;
        for t in tables.flat_map(|c| &c.tables) {
            let has = match asked.get(t.as_str()) {
                Some(has) => *has,
                None => {
                    let has = register.map.has_rows(conn, t, s.person_id)?;
                    asked.insert(t, has);
                    has
                }
            };
            if has {
                serves = true;
                break;
            }
        }
        if serves {
            out.push((r.code.clone(), format!("purpose {purpose}, which your data serves")));
        }
    }
    Ok(out)
}

fn from_register(r: &Recipient, why: String) -> PersonRecipient {
    PersonRecipient {
        code: r.code.clone(),
        name: r.name.clone(),
        kind: r.kind.clone(),
        country: r.country.clone(),
        outside_eea: r.outside_eea,
        safeguards_en: r.safeguards_en.clone(),
        safeguards_nl: r.safeguards_nl.clone(),
        categories: r.categories.clone(),
        because: vec![why],
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::clock::Clock;
    use crate::store::{fixture, personal, Store};

    #[test]
    fn a_table_of_another_company_names_its_recipients_through_the_map() {
        let mut store = Store::in_memory().unwrap();
        let clock = Clock::parse("2026-11-01T00:00:00Z").unwrap();
        fixture::load(&mut store.conn, fixture::find("virtio").unwrap(), clock, false).unwrap();
        let conn = &store.conn;
        let (customer, person): (i64, i64) = conn
            .query_row("SELECT id, person_id FROM customer ORDER BY id LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        // A carrier reached through a shipment table the built-in schema does not have.
        conn.execute_batch(&format!(
            "CREATE TABLE shipment (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customer(id),
                 carrier TEXT NOT NULL, tracking TEXT, shipped_at TEXT NOT NULL) STRICT;
             INSERT INTO recipient (code, name, kind, country, outside_eea, safeguards_en, safeguards_nl, received_via,
                 description_en, description_nl)
             VALUES ('postnl', 'PostNL B.V.', 'processor', 'NL', 0, 'Within the EU.', 'Binnen de EU.', 'domain',
                 'Delivers parcels.', 'Bezorgt pakketten.');
             INSERT INTO shipment (customer_id, carrier, tracking, shipped_at) VALUES
                 ({customer}, 'postnl', '3SB2', '2026-10-05T09:00:00Z'),
                 ({customer}, 'postnl', '3SA1', '2026-10-02T09:00:00Z'),
                 ({customer}, 'postnl', '3SA1', '2026-10-02T09:00:00Z'),
                 ({customer}, 'postnl', NULL, '2026-10-07T09:00:00Z');"
        ))
        .unwrap();
        let mut tables = personal::builtin();
        tables.push(
            serde_json::from_value(json!({
                "name": "shipment",
                "category": "identity",
                "link": {"column": "customer_id", "parent": "customer"},
                "recipient": [{"column": "carrier", "because": "parcel {tracking} shipped on {shipped_at:date}", "order": "shipped_at"}]
            }))
            .unwrap(),
        );
        personal::save(conn, &tables).unwrap();
        let register = Register::load(conn).unwrap();
        let s = crate::subject::subject(conn, person).unwrap();
        let found = for_person(conn, &register, &s).unwrap();
        let postnl = found.iter().find(|r| r.code == "postnl").expect("the carrier is named");
        assert_eq!(postnl.name, "PostNL B.V.");
        // In the link's order, each reason once; a value missing leaves no gap.
        assert_eq!(
            postnl.because,
            ["parcel 3SA1 shipped on 2026-10-02", "parcel 3SB2 shipped on 2026-10-05", "parcel shipped on 2026-10-07"]
        );
    }
}

//! The processing check other systems call before they process (`dsr check`): may purpose P be
//! carried out for this person now? It enforces what the rights changed:
//! - a suppressed identifier (an objection to direct marketing, or an erased person) blocks every
//!   direct-marketing purpose;
//! - an active restriction (Art. 18) leaves only storage, legal claims, and what the person
//!   consented to after the restriction began;
//! - an objection (Art. 21) that stopped, is pending for, or was upheld for the purpose blocks it;
//!   one against direct marketing blocks all direct marketing (Art. 21(3));
//! - a pending human review (Art. 22(3)) pauses the automated dunning steps, and one that reversed
//!   the decision stops them for that person;
//! - a purpose on consent needs a consent that is in force; a purpose with opt-in flags in the data
//!   map (the newsletter) is per address: an address is allowed only if it was itself opted in and
//!   the consent was not withdrawn.
//!
//! The tables and columns read (addresses, opt-in flags, consent records) come from the store's
//! data map; the SQL is generated in `store::personal`.
//!
//! The small sets (restrictions, objections, reviews, suppression) are loaded once, so a million
//! addresses stream through `--stdin` with one or two indexed lookups each.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::error::Error;
use crate::keys::{hex, Keys};
use crate::register::{Purpose, Register};
use crate::rights::object::{ERASED, SUPPRESSED};
use crate::store::db::{Db, Dialect};
use crate::store::personal::DataMap;
use crate::subject::Identifier;
use crate::vals;

/// Purposes a restriction never blocks (Art. 18(2)).
const ALWAYS_UNDER_RESTRICTION: &[&str] = &["storage", "legal-claims"];

#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub allowed: bool,
    /// Why not: restricted, objected, review-pending, consent-missing, consent-withdrawn, suppressed, unknown-person.
    pub reason: Option<&'static str>,
    pub detail: Option<String>,
}

impl Verdict {
    fn allow() -> Verdict {
        Verdict { allowed: true, reason: None, detail: None }
    }
    fn deny(reason: &'static str, detail: impl Into<String>) -> Verdict {
        Verdict { allowed: false, reason: Some(reason), detail: Some(detail.into()) }
    }
}

struct Restriction {
    ground: String,
    category: Option<String>,
    purpose: Option<String>,
    started_at: String,
}

pub struct Checker {
    pub purpose: Purpose,
    categories: Vec<String>,
    keys: Keys,
    restrictions: HashMap<i64, Vec<Restriction>>,
    objected: HashSet<i64>,
    marketing_stopped: HashSet<i64>,
    review_pending: HashSet<i64>,
    review_reversed: HashSet<i64>,
    /// The suppression list's keyed hashes, as bytes, with why each is there.
    suppressed: HashMap<Vec<u8>, Suppressed>,
    sql: Lookups,
    /// How the map's email identifiers compare an address's local part.
    email_rule: crate::map::table::LocalPart,
}

/// Why an identifier is on the suppression list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Suppressed {
    /// The person objected to direct marketing (Art. 21(3)).
    Objected,
    /// It was an erased person's (Art. 17).
    Erased,
}

impl Suppressed {
    fn verdict(self) -> Verdict {
        Verdict::deny(
            "suppressed",
            match self {
                Suppressed::Objected => {
                    "the person objected to direct marketing (Art. 21(3)); their identifiers are on the suppression list"
                }
                Suppressed::Erased => {
                    "an identifier of the person belonged to a person who was erased (Art. 17); it is on the suppression list"
                }
            },
        )
    }
}

/// The lookups over personal data a check needs, generated from the data map once.
struct Lookups {
    /// The purpose has opt-in flags: an address must itself be opted in (the newsletter).
    opt_in: bool,
    /// Who holds an address (?1): (person, the row's opt-in flag for the purpose or NULL).
    holders: Option<String>,
    /// A person's latest consent record for a purpose, when the map has consent records.
    latest_consent: Option<String>,
    /// Whether any of a person's opt-in flags for the purpose is set.
    opted_in: Option<String>,
    /// A person's identifiers of each kind the suppression list holds, as their columns hold
    /// them: (the list's name of the kind, the SQL).
    identifiers: Vec<(&'static str, String)>,
    /// The identifiers of those kinds of many people (?1, a JSON array): (person, value as held,
    /// the list's name of its kind).
    identifiers_of_many: Option<String>,
    /// A batch of addresses at once (`check --stdin`).
    batch: Option<String>,
}

impl Lookups {
    fn new(map: &DataMap, purpose: &str, dialect: Dialect) -> Lookups {
        Lookups {
            opt_in: map.opt_ins(purpose).next().is_some(),
            holders: map.address_holders(purpose),
            latest_consent: map.latest_consent(),
            opted_in: map.opted_in(purpose),
            identifiers: SUPPRESSED.iter().filter_map(|(k, name)| Some((*name, map.identifiers_of(*k)?))).collect(),
            identifiers_of_many: identifiers_of_many(map, dialect),
            batch: map.address_batch(purpose, dialect),
        }
    }
}

/// [`Lookups::identifiers_of_many`]: each kind's statement with the kind named in a third column;
/// `None` when the map has a kind without one (its people are then read one by one).
fn identifiers_of_many(map: &DataMap, dialect: Dialect) -> Option<String> {
    let mut each = Vec::new();
    for (i, (kind, name)) in SUPPRESSED.iter().enumerate() {
        if map.identifiers_of(*kind).is_none() {
            continue;
        }
        let sql = map.identifiers_of_many(*kind, dialect)?;
        each.push(format!("SELECT s{i}.*, CAST('{name}' AS text) FROM ({sql}) AS s{i}"));
    }
    (!each.is_empty()).then(|| each.join(" UNION ALL "))
}

/// The keyed hash under which an identifier goes on the suppression list.
pub fn suppression_hash(keys: &Keys, kind: &str, normalised: &str) -> String {
    hex(&suppression_mac(keys, kind, normalised))
}

/// [`suppression_hash`] as bytes. An email address is hashed in the form the map compares
/// (`local_part`): in a store that tells `Jan@` from `jan@`, they are two people, and one's
/// erasure must not block, replay onto or be shown to the other.
fn suppression_mac(keys: &Keys, kind: &str, normalised: &str) -> Vec<u8> {
    keys.mac(&[b"suppress", kind.as_bytes(), normalised.as_bytes()])
}

impl Checker {
    pub fn new(conn: &dyn Db, register: &Register, purpose: &str) -> anyhow::Result<Checker> {
        let purpose = register.purposes.iter().find(|p| p.code == purpose).cloned().ok_or_else(|| {
            let codes: Vec<&str> = register.purposes.iter().map(|p| p.code.as_str()).collect();
            Error::invalid("--purpose", format!("unknown purpose; the register has: {}", codes.join(", ")))
        })?;
        let categories =
            register.categories.iter().filter(|c| c.purposes.contains(&purpose.code)).map(|c| c.code.clone()).collect();
        let mut restrictions: HashMap<i64, Vec<Restriction>> = HashMap::new();
        conn.each(
            "SELECT person_id, ground, category, purpose, started_at FROM restriction WHERE lifted_at IS NULL AND person_id IS NOT NULL",
            &[],
            &mut |r| {
                let restriction =
                    Restriction { ground: r.get(1)?, category: r.get(2)?, purpose: r.get(3)?, started_at: r.get(4)? };
                restrictions.entry(r.get(0)?).or_default().push(restriction);
                Ok(())
            },
        )?;
        let set = |sql: &str, arg: &str| -> anyhow::Result<HashSet<i64>> {
            Ok(conn.all(sql, &vals![arg]?, |r| r.get(0))?.into_iter().collect())
        };
        let mut objected = set("SELECT person_id FROM objection WHERE purpose = ?1 AND outcome IN ('stopped', 'pending', 'upheld') AND person_id IS NOT NULL", &purpose.code)?;
        let mut marketing_stopped = set(
            "SELECT o.person_id FROM objection o JOIN purpose p ON p.code = o.purpose
             WHERE p.direct_marketing = 1 AND o.outcome IN ('stopped', 'upheld') AND o.person_id IS NOT NULL AND ?1 = ?1",
            "",
        )?;
        // An objection the person made and was verified as theirs counts from then, not from when
        // the officer carries it out: direct marketing stops at once (Art. 21(3)), and another
        // purpose waits as for an objection being weighed (Art. 21(1)).
        let asked = format!(
            "SELECT r.person_id FROM request r JOIN purpose p ON p.code = {}
             WHERE r.kind = 'object' AND r.state = 'verified' AND r.person_id IS NOT NULL AND r.answered_at IS NULL
               AND NOT EXISTS (SELECT 1 FROM objection o WHERE o.request_id = r.id)
               AND NOT EXISTS (SELECT 1 FROM decision_review d WHERE d.request_id = r.id)",
            match conn.dialect() {
                Dialect::Sqlite => "json_extract(r.params, '$.purpose')",
                Dialect::Postgres => "CAST(r.params AS jsonb) ->> 'purpose'",
            }
        );
        objected.extend(set(&format!("{asked} AND p.code = ?1"), &purpose.code)?);
        marketing_stopped.extend(set(&format!("{asked} AND p.direct_marketing = 1 AND ?1 = ?1"), "")?);
        let review_pending = set(
            "SELECT person_id FROM decision_review WHERE decided_at IS NULL AND person_id IS NOT NULL AND ?1 = ?1",
            "",
        )?;
        let review_reversed = set(
            "SELECT person_id FROM decision_review WHERE outcome = 'decision-reversed' AND person_id IS NOT NULL AND ?1 = ?1",
            "",
        )?;
        // Kept as bytes: a check compares a keyed hash with the list without writing it in hex.
        // A value on the list for both reasons is told as an erased person's.
        let mut suppressed: HashMap<Vec<u8>, Suppressed> = HashMap::new();
        conn.each("SELECT hash, reason FROM suppression", &[], &mut |r| {
            let Ok(hash) = hex::decode(r.get::<String>(0)?) else { return Ok(()) };
            let why = if r.get::<String>(1)? == ERASED { Suppressed::Erased } else { Suppressed::Objected };
            let kept = suppressed.entry(hash).or_insert(why);
            if why == Suppressed::Erased {
                *kept = why;
            }
            Ok(())
        })?;
        let map = DataMap::load(conn)?;
        let sql = Lookups::new(&map, &purpose.code, conn.map_dialect());
        Ok(Checker {
            sql,
            email_rule: map.email_rule(),
            purpose,
            categories,
            keys: Keys::load(conn)?,
            restrictions,
            objected,
            marketing_stopped,
            review_pending,
            review_reversed,
            suppressed,
        })
    }

    /// The verdict for one person, named by something other than an email address.
    pub fn person(&self, conn: &dyn Db, person_id: i64) -> anyhow::Result<Verdict> {
        self.verdict(conn, person_id, None)
    }

    /// The verdict for one person; `opted_in` is the newsletter flag of the address being checked,
    /// when an address is: the newsletter consent covers the address it was given for, not the
    /// person's other addresses.
    fn verdict(&self, conn: &dyn Db, person_id: i64, opted_in: Option<bool>) -> anyhow::Result<Verdict> {
        let consent = if self.purpose.needs_consent() { Some(self.consent(conn, person_id)?) } else { None };
        self.judge(conn, person_id, opted_in, consent)
    }

    /// The verdict, given the person's latest consent record for the purpose when the purpose
    /// rests on consent (`None` when it does not).
    fn judge(&self, conn: &dyn Db, person_id: i64, opted_in: Option<bool>, consent: Latest) -> anyhow::Result<Verdict> {
        if let Some(why) = self.person_suppressed(conn, person_id)? {
            return Ok(why.verdict());
        }
        self.judge_unsuppressed(conn, person_id, opted_in, consent)
    }

    /// The verdict of [`Checker::judge`] for a person whose identifiers are not suppressed.
    fn judge_unsuppressed(
        &self,
        conn: &dyn Db,
        person_id: i64,
        opted_in: Option<bool>,
        consent: Latest,
    ) -> anyhow::Result<Verdict> {
        let p = &self.purpose;
        if p.direct_marketing && self.marketing_stopped.contains(&person_id) {
            return Ok(Verdict::deny(
                "objected",
                "the person objected to direct marketing (Art. 21(3)): it stops for good",
            ));
        }
        if self.objected.contains(&person_id) {
            return Ok(Verdict::deny("objected", format!("the person objected to {}", p.code)));
        }
        if p.code == "dunning" && self.review_pending.contains(&person_id) {
            return Ok(Verdict::deny(
                "review-pending",
                "the person asked for human review of the automated decision (Art. 22(3)); automatic steps are paused",
            ));
        }
        if p.code == "dunning" && self.review_reversed.contains(&person_id) {
            return Ok(Verdict::deny(
                "review-reversed",
                "a person reviewed the automated decision and reversed it (Art. 22(3)); automatic steps do not resume",
            ));
        }
        if let Some(list) = self.restrictions.get(&person_id) {
            for r in list {
                let covers = r.purpose.as_deref() == Some(p.code.as_str())
                    || (r.purpose.is_none() && r.category.as_ref().is_none_or(|c| self.categories.contains(c)));
                if !covers || ALWAYS_UNDER_RESTRICTION.contains(&p.code.as_str()) {
                    continue;
                }
                let consented_since = consent
                    .as_ref()
                    .and_then(|c| c.as_ref())
                    .is_some_and(|(granted, at)| *granted && at.as_str() >= r.started_at.as_str());
                if !consented_since {
                    return Ok(Verdict::deny(
                        "restricted",
                        format!(
                            "processing is restricted ({}) since {}: data may only be stored",
                            r.ground,
                            &r.started_at[..10]
                        ),
                    ));
                }
            }
        }
        match consent {
            Some(Some((false, at))) => {
                Ok(Verdict::deny("consent-withdrawn", format!("consent to {} was withdrawn on {}", p.code, &at[..10])))
            }
            // The newsletter goes to an address: only one that was itself opted in.
            _ if self.sql.opt_in && opted_in == Some(false) => Ok(Verdict::deny(
                "consent-missing",
                format!(
                    "this address is not opted in to the {} (another address of the person does not count)",
                    p.code
                ),
            )),
            _ if self.sql.opt_in && opted_in.is_none() && !self.opted_in(conn, person_id)? => Ok(Verdict::deny(
                "consent-missing",
                format!("none of the person's addresses is opted in to the {}", p.code),
            )),
            Some(None) if !self.sql.opt_in => {
                Ok(Verdict::deny("consent-missing", format!("{} needs consent, and none is on record", p.code)))
            }
            _ => Ok(Verdict::allow()),
        }
    }

    /// The latest consent record for the purpose: (granted, when).
    fn consent(&self, conn: &dyn Db, person_id: i64) -> anyhow::Result<Option<(bool, String)>> {
        let Some(sql) = &self.sql.latest_consent else { return Ok(None) };
        conn.first(sql, &vals![person_id, self.purpose.code]?, |r| Ok((r.get(0)?, r.get(1)?)))
    }

    /// Whether any address of the person is opted in to the purpose (a person named by customer
    /// number, phone or cookie has no one address to check).
    fn opted_in(&self, conn: &dyn Db, person_id: i64) -> anyhow::Result<bool> {
        let Some(sql) = &self.sql.opted_in else { return Ok(false) };
        conn.one(sql, &vals![person_id]?, |r| r.get(0))
    }

    /// Whether the suppression list blocks this purpose for a value of the list's `kind`, and
    /// why: the purpose is direct marketing and the value is on the list.
    fn value_suppressed(&self, kind: &str, value: &str) -> Option<Suppressed> {
        if !self.purpose.direct_marketing || self.suppressed.is_empty() {
            return None;
        }
        self.suppressed.get(&suppression_mac(&self.keys, kind, value)).copied()
    }

    /// [`Checker::value_suppressed`] for an address (normalised).
    fn address_suppressed(&self, normalised: &str) -> Option<Suppressed> {
        self.value_suppressed("email", normalised)
    }

    /// Whether the suppression list blocks this purpose for the person, and why: it is direct
    /// marketing and one of the person's identifiers (email, phone, customer number) is on the
    /// list, such as an erased person's number an application wrote back under a new record.
    fn person_suppressed(&self, conn: &dyn Db, person_id: i64) -> anyhow::Result<Option<Suppressed>> {
        if !self.purpose.direct_marketing || self.suppressed.is_empty() {
            return Ok(None);
        }
        for (kind, sql) in &self.sql.identifiers {
            for value in conn.all(sql, &vals![person_id]?, |r| r.get::<String>(0))? {
                if let Some(why) = self.value_suppressed(kind, &value) {
                    return Ok(Some(why));
                }
            }
        }
        Ok(None)
    }

    /// The verdict for an identifier no person on file holds: `suppressed` when it is on the
    /// suppression list (an erased person's, or one whose person objected to direct marketing:
    /// a mailing list that still has it must not take "unknown" as leave to mail it), else
    /// `None` (unknown).
    pub fn unknown(&self, id: &Identifier) -> Option<Verdict> {
        let why = match id {
            Identifier::Email(e) => self.address_suppressed(&self.compared(e)),
            Identifier::Phone(p) => self.value_suppressed("phone", p),
            // A customer number matches whatever its case; the list holds it as its row did.
            Identifier::Customer(c) => [c.clone(), c.to_uppercase(), c.to_lowercase()]
                .iter()
                .find_map(|v| self.value_suppressed("customer", v)),
            Identifier::Cookie(_) => None,
        };
        why.map(Suppressed::verdict)
    }

    /// The form the map's identifier columns hold of an address dsr normalised.
    pub fn compared<'a>(&self, normalised: &'a str) -> std::borrow::Cow<'a, str> {
        self.email_rule.compared(normalised)
    }

    /// The verdict for an email address (normalised): every person it belongs to must be allowed.
    pub fn email(&self, conn: &dyn Db, normalised: &str) -> anyhow::Result<Verdict> {
        let normalised = &*self.compared(normalised);
        if let Some(why) = self.address_suppressed(normalised) {
            return Ok(why.verdict());
        }
        // No DISTINCT: it would build a temporary b-tree per line; one address rarely has two rows.
        // The opt-in comes with the row the lookup reads anyway: no extra query per line.
        let mut people: Vec<(i64, Option<bool>)> = match &self.sql.holders {
            Some(sql) => conn.all(sql, &vals![normalised]?, |r| Ok((r.get(0)?, r.get(1)?)))?,
            None => Vec::new(),
        };
        // One person holding the address twice: opted in if either row is (true sorts last).
        people.sort_unstable();
        people.reverse();
        people.dedup_by_key(|(p, _)| *p);
        if people.is_empty() {
            return Ok(Verdict::deny("unknown-person", "no person on file has this address"));
        }
        for (p, opted_in) in people {
            let v = self.verdict(conn, p, opted_in)?;
            if !v.allowed {
                return Ok(v);
            }
        }
        Ok(Verdict::allow())
    }
}

/// The latest consent record for the purpose when it rests on consent: `Some(None)` for none.
type Latest = Option<Option<(bool, String)>>;

mod stream;
pub use stream::Stream;

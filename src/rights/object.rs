//! The right to object (GDPR Art. 21), driven by the purpose's legal basis in the register:
//! - direct marketing stops at once and for good (Art. 21(3)); the person's identifiers go on the
//!   suppression list as keyed hashes;
//! - a purpose on consent: the objection is a withdrawal of that consent (Art. 7(3));
//! - a purpose on legitimate interest: restricted (objection pending, Art. 18(1)(d)) until an
//!   officer upholds the objection or overrides it with compelling grounds (Art. 21(1));
//! - a purpose on contract or legal obligation: processing continues, and the answer says why;
//! - the automated dunning decision: a request for human review (Art. 22(3)); automatic steps
//!   pause until the outcome is recorded.

use crate::store::db::Db;
use crate::vals;
use serde::Serialize;
use serde_json::json;

use crate::audit;
use crate::clock::Clock;
use crate::error::Error;
use crate::keys::Keys;
use crate::map::BasisKind;
use crate::notify;
use crate::register::{Purpose, Register};
use crate::request::Request;
use crate::rights::restrict;
use crate::store::personal::DataMap;
use crate::subject::{self, Subject};

pub mod carry_out;
mod suppression;
pub use suppression::{suppress, suppress_record, unsuppress_kept, ERASED, IP, SUPPRESSED};

#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    pub purpose: String,
    pub legal_basis: String,
    /// stopped, withdrawn, pending, review-pending, continues, upheld, overridden, decision-stands, decision-reversed
    pub outcome: String,
    pub decided: bool,
    pub explanation_en: String,
    pub grounds: Option<String>,
    /// An overridden objection: when the restriction while it was weighed (Art. 18(1)(d)) ends,
    /// the decision letter being the person's notice (Art. 18(3)).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restriction_lift_at: Option<String>,
    /// A stopped direct-marketing objection: whether any address, number or customer number of
    /// the person went on the suppression list (a visitor known by a cookie has none).
    #[serde(skip)]
    pub suppressed: bool,
}

pub fn purpose<'a>(register: &'a Register, code: &str) -> Result<&'a Purpose, Error> {
    register.purposes.iter().find(|p| p.code == code).ok_or_else(|| {
        let codes: Vec<&str> = register.purposes.iter().map(|p| p.code.as_str()).collect();
        Error::invalid("--purpose", format!("unknown purpose; the register has: {}", codes.join(", ")))
    })
}

/// An objection row; anything but "pending" is decided at once.
fn record(
    conn: &dyn Db,
    clock: &Clock,
    req: &Request,
    s: &Subject,
    purpose: &str,
    outcome: &str,
    grounds: Option<&str>,
) -> anyhow::Result<()> {
    let decided = outcome != "pending";
    conn.run(
        "INSERT INTO objection (person_id, request_id, purpose, outcome, grounds, created_at, decided_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        &vals![s.person_id, req.id, purpose, outcome, grounds, clock.timestamp(), decided.then(|| clock.timestamp())]?)?;
    Ok(())
}

/// Carry out a verified objection.
pub fn apply(
    conn: &dyn Db,
    clock: &Clock,
    keys: &Keys,
    register: &Register,
    req: &Request,
    s: &Subject,
    code: &str,
) -> anyhow::Result<Answer> {
    let p = purpose(register, code)?;
    let answer = |outcome: &str, decided: bool, text: String, grounds: Option<String>| Answer {
        purpose: p.code.clone(),
        legal_basis: p.legal_basis.clone(),
        outcome: outcome.to_owned(),
        decided,
        explanation_en: text,
        grounds,
        restriction_lift_at: None,
        suppressed: false,
    };
    let result = if p.code == "dunning" {
        let decision = register
            .automated_decisions
            .first()
            .ok_or_else(|| anyhow::anyhow!("the register describes no automated decision"))?;
        conn.run(
            "INSERT INTO decision_review (person_id, request_id, decision, requested_at) VALUES (?1, ?2, ?3, ?4)",
            &vals![s.person_id, req.id, decision.code, clock.timestamp()]?,
        )?;
        answer(
            "review-pending",
            false,
            format!("A person will review the automated decision. Until then no further automatic step is taken. How it works: {} Consequences: {}", decision.logic_en, decision.consequences_en),
            None,
        )
    } else if p.direct_marketing {
        record(conn, clock, req, s, &p.code, "stopped", None)?;
        if p.needs_consent() {
            withdraw(conn, clock, s, &p.code)?;
        }
        let suppressed = !suppress(conn, clock, keys, Some(req.id.as_str()), s, "direct-marketing")?.is_empty();
        let listed = if suppressed { "; your addresses are on our suppression list" } else { "" };
        let text = format!(
            "Processing for {} (direct marketing) stopped at once and for good (Art. 21(3)){listed}.",
            p.name_en
        );
        Answer { suppressed, ..answer("stopped", true, text, None) }
    } else {
        let Some(basis) = p.basis else {
            return Err(Error::RequestState(format!(
                "the register does not say which basis of Art. 6(1) GDPR the purpose {} rests on ({:?}), so the objection cannot be decided: give its [[legal_basis]] a kind and run `dsr register apply` (`dsr doctor` lists every such basis)",
                p.code,
                p.legal_basis
            ))
            .into());
        };
        match basis {
            BasisKind::Consent => {
                record(conn, clock, req, s, &p.code, "withdrawn", None)?;
                withdraw(conn, clock, s, &p.code)?;
                answer(
                    "withdrawn",
                    true,
                    format!("Your consent to {} is withdrawn (Art. 7(3)); processing on it stopped.", p.name_en),
                    None,
                )
            }
            // Art. 21(1): an objection to processing on a public task or a legitimate interest is
            // weighed; meanwhile the processing is restricted (Art. 18(1)(d)).
            BasisKind::LegitimateInterest | BasisKind::PublicTask => {
                record(conn, clock, req, s, &p.code, "pending", None)?;
                restrict::apply(conn, clock, req, s, "objection-pending", &[], Some(&p.code))?;
                answer(
                    "pending",
                    false,
                    format!(
                        "Processing for {} is restricted while we weigh your objection (Art. 18(1)(d), 21(1)). We will tell you what we decide.",
                        p.name_en
                    ),
                    None,
                )
            }
            BasisKind::Contract | BasisKind::LegalObligation | BasisKind::VitalInterests => {
                let why = match basis {
                    BasisKind::Contract => format!("{} is necessary to perform your contract with us (Art. 6(1)(b)); the right to object does not apply to it, so it continues. You may end the contract, or ask for erasure or restriction.", p.name_en),
                    BasisKind::VitalInterests => format!("{} is necessary to protect someone's vital interests (Art. 6(1)(d)); the right to object does not apply to it, so it continues.", p.name_en),
                    _ => format!("{} is required by law (Art. 6(1)(c)); the right to object does not apply to it, so it continues.", p.name_en),
                };
                record(conn, clock, req, s, &p.code, "continues", Some(&why))?;
                answer("continues", true, why.clone(), Some(why))
            }
        }
    };
    audit::append(
        conn,
        clock,
        Some(&req.id),
        Some(&req.subject_pseudonym),
        "objection",
        json!({"purpose": result.purpose, "outcome": result.outcome}),
    )?;
    // The systems that keep copies stop too (or restrict while the objection is weighed).
    if result.outcome != "continues" {
        crate::tasks::record(conn, clock, req, "object", crate::tasks::Change::Purpose(s.person_id, &result.purpose))?;
    }
    Ok(result)
}

/// Undo what an automated decision did to a person (Art. 22(3)), as the map's `reversal` of the
/// decision's steps says: each blocked row gets a manual reversing step in its history, and the
/// rows the block put in a blocked state become active again. Returns (rows set back, steps).
fn reverse_decision(
    conn: &dyn Db,
    clock: &Clock,
    request: &str,
    decision: &str,
    person: i64,
) -> anyhow::Result<(usize, usize)> {
    let note = format!("block reversed after human review ({request}, Art. 22(3))");
    let map = crate::store::personal::DataMap::load(conn)?;
    let mut statements = map.reversal_sql(decision).into_iter();
    let Some(steps) = statements.next() else { return Ok((0, 0)) };
    let steps = conn.run(&steps, &vals![person, clock.timestamp(), note]?)?;
    let mut unblocked = 0;
    for sql in statements {
        unblocked += conn.run(&sql, &vals![person]?)?;
    }
    Ok((unblocked, steps))
}

/// Record the officer's decision on a pending objection or review.
pub fn decide(
    conn: &dyn Db,
    clock: &Clock,
    req: &Request,
    uphold: bool,
    grounds: Option<&str>,
) -> anyhow::Result<Answer> {
    let grounds = grounds.map(str::trim).filter(|g| !g.is_empty());
    if !uphold && grounds.is_none() {
        return Err(Error::invalid(
            "--grounds",
            "overriding an objection needs the compelling legitimate grounds, stated (Art. 21(1))",
        )
        .into());
    }
    let review: Option<(i64, Option<i64>, String)> = conn.first(
        "SELECT id, person_id, decision FROM decision_review WHERE request_id = ?1 AND decided_at IS NULL",
        &vals![&req.id]?,
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    if let Some((id, person, decision)) = review {
        let outcome = if uphold { "decision-reversed" } else { "decision-stands" };
        conn.run(
            "UPDATE decision_review SET outcome = ?2, outcome_note = ?3, decided_at = ?4 WHERE id = ?1",
            &vals![id, outcome, grounds, clock.timestamp()]?,
        )?;
        let (unblocked, steps) = match (uphold, person) {
            (true, Some(p)) => reverse_decision(conn, clock, &req.id, &decision, p)?,
            _ => (0, 0),
        };
        audit::append(
            conn,
            clock,
            Some(&req.id),
            Some(&req.subject_pseudonym),
            "review-decided",
            json!({"outcome": outcome, "rows_unblocked": unblocked, "steps_reversed": steps}),
        )?;
        let text = if uphold {
            format!(
                "After human review the automated decision was reversed: the block it imposed is lifted ({unblocked} blocked record(s) active again) and automatic dunning steps will not resume for you; any open amount is handled by a person."
            )
        } else {
            format!(
                "After human review the automated decision stands, because: {}. Automatic steps resume.",
                crate::archive::present::reason(grounds.unwrap_or_default()).0
            )
        };
        return Ok(Answer {
            purpose: "dunning".into(),
            legal_basis: "contract".into(),
            outcome: outcome.into(),
            decided: true,
            explanation_en: text,
            grounds: grounds.map(str::to_owned),
            restriction_lift_at: None,
            suppressed: false,
        });
    }
    let (id, purpose): (i64, String) = conn
        .one("SELECT id, purpose FROM objection WHERE request_id = ?1 AND outcome = 'pending'", &vals![&req.id]?, |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .map_err(|_| {
            Error::RequestState(format!("request {} has no objection or review waiting for a decision", req.id))
        })?;
    let outcome = if uphold { "upheld" } else { "overridden" };
    conn.run(
        "UPDATE objection SET outcome = ?2, grounds = ?3, decided_at = ?4 WHERE id = ?1",
        &vals![id, outcome, grounds, clock.timestamp()]?,
    )?;
    // The restriction while the objection was weighed: upheld, it ends now (the objection itself
    // blocks the purpose from now on); overridden, processing resumes only after the person was
    // told (Art. 18(3)): the decision letter is the notice, and the lift is carried out
    // NOTICE_DAYS later as any announced lift (`dsr retention run`, `dsr restrict`).
    let mut lift_at = None;
    if restrict::active(conn, &req.id)? > 0 {
        if uphold {
            conn.run(
                "UPDATE restriction SET lifted_at = ?2, lift_reason = ?3 WHERE request_id = ?1 AND lifted_at IS NULL",
                &vals![req.id, clock.timestamp(), "objection upheld"]?,
            )?;
            let why = json!({"reason": "objection upheld: the objection itself blocks the purpose"});
            audit::append(conn, clock, Some(&req.id), Some(&req.subject_pseudonym), "restriction-lifted", why)?;
        } else {
            let at = clock.now() + chrono::Duration::days(restrict::NOTICE_DAYS.into());
            let stamp = crate::clock::stamp(at);
            restrict::schedule_lift(conn, clock, req, "objection overridden", &clock.timestamp(), &stamp)?;
            lift_at = Some((at, stamp));
        }
    }
    audit::append(
        conn,
        clock,
        Some(&req.id),
        Some(&req.subject_pseudonym),
        "objection-decided",
        json!({"purpose": purpose, "outcome": outcome}),
    )?;
    // The purpose as the register names it to the person, and its basis (its code and the
    // basis of legitimate interests, if the register lacks it).
    let (named, basis): (String, String) = conn
        .first("SELECT name_en, legal_basis FROM purpose WHERE code = ?1", &vals![purpose]?, |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .unwrap_or_else(|| (purpose.clone(), "legitimate-interest".into()));
    let text = if uphold {
        format!("Your objection is upheld: we no longer process your data for {named}.")
    } else {
        let grounds = crate::archive::present::reason(grounds.unwrap_or_default()).0;
        let grounds = grounds.trim_end().trim_end_matches('.');
        let resumes = lift_at.as_ref().map(|(at, _)| {
            format!(" The restriction of processing for {named} while we decided (Art. 18(1)(d)) ends at {} (Art. 18(3)); until then it applies.", crate::local_time::moment(*at).1)
        });
        format!("We continue processing for {named}, because we have compelling legitimate grounds that override your interests (Art. 21(1)): {grounds}.{}", resumes.unwrap_or_default())
    };
    Ok(Answer {
        purpose,
        legal_basis: basis,
        outcome: outcome.into(),
        decided: true,
        explanation_en: text,
        grounds: grounds.map(str::to_owned),
        restriction_lift_at: lift_at.map(|(_, stamp)| stamp),
        suppressed: false,
    })
}

/// After a reversed automated decision, a claim the decision handed to the collection agency is
/// recalled: the agency goes on the request's list of recipients to tell (Art. 19, Art. 22(3)).
pub fn recall_claim(
    conn: &dyn Db,
    clock: &Clock,
    register: &Register,
    req: &Request,
    answer: &Answer,
) -> anyhow::Result<()> {
    let Some(person) = req.person_id.filter(|_| answer.outcome == "decision-reversed") else {
        return Ok(());
    };
    let s = subject::subject(conn, person)?;
    let what = "Recall the claim: after human review (Art. 22(3) GDPR) the automated dunning decision was reversed. \
Stop collecting, return the claim to us, and do not charge collection costs for it.";
    notify::record_claim_recall(conn, clock, register, req, &s, what)?;
    Ok(())
}

/// Withdraw consent (Art. 7(3)): a new record in the data map's consent records, and the
/// purpose's opt-in flags off.
fn withdraw(conn: &dyn Db, clock: &Clock, s: &Subject, purpose: &str) -> anyhow::Result<()> {
    let map = DataMap::load(conn)?;
    if let Some(sql) = map.consent_withdrawal() {
        conn.run(&sql, &vals![s.person_id, purpose, clock.timestamp()]?)?;
    }
    for sql in map.opt_ins_off(purpose) {
        conn.run(&sql, &vals![s.person_id]?)?;
    }
    Ok(())
}

//! `dsr rectify`, `dsr restrict`, `dsr object`: the rights that change how data may be used.
//! Each opens a request with the challenge-and-verify flow; once verified, the same command
//! with the request id shows what will happen, asks on a terminal (`--yes` for scripts), and
//! applies it. Parses, asks and renders: each procedure, with its audit entries and letters in
//! one transaction, is in `rights::<right>::carry_out` (the Art. 19 record in `notify`).

use serde::Serialize;
use serde_json::{json, Value};

use crate::cli::{ObjectArgs, RectifyArgs, RestrictArgs, YesArgs};
use crate::error::Error;
use crate::exit::Code;
use crate::notify::{self, Notification};
use crate::output::table;
use crate::register::Register;
use crate::request::{self, Kind};
use crate::rights::object;
use crate::rights::rectify::carry_out::Statement;
use crate::rights::rectify::{self, Change};
use crate::rights::restrict;
use crate::store::personal::DataMap;

use super::access::open;
use super::{interactive, Session};

#[derive(Debug, Serialize)]
struct Applied {
    format_version: u32,
    request: String,
    right: String,
    state: String,
    outcome: Value,
    recipients: Vec<Notification>,
}

fn confirm(ctx: &Session, yes: &YesArgs, question: &str) -> anyhow::Result<()> {
    if yes.yes {
        return Ok(());
    }
    if !interactive(ctx.out) {
        return Err(Error::Usage("not confirmed: this changes data; add --yes when not on a terminal".into()).into());
    }
    if crate::output::prompt::guarded(|| dialoguer::Confirm::new().with_prompt(question).default(false).interact())? {
        Ok(())
    } else {
        Err(Error::RequestState("not applied: the officer declined".into()).into())
    }
}

fn report(ctx: &mut Session, id: &str, outcome: Value, human: String) -> anyhow::Result<Code> {
    // The answer letter is delivered first, so the state shown is the one the person is in.
    super::flush_committed(ctx.conn, ctx.clock, ctx.opened)?;
    let req = request::load(ctx.conn, id)?;
    let recipients = notify::list(ctx.conn, &req.id)?;
    if ctx.out.json {
        ctx.out.json(&Applied {
            format_version: 1,
            request: req.id.clone(),
            right: req.right.clone(),
            state: req.state.clone(),
            outcome,
            recipients,
        })?;
        return Ok(Code::Ok);
    }
    let mut text = format!("Request {} ({}) is {}.\n{human}", req.id, req.right, req.state);
    if !recipients.is_empty() {
        let mut t = table::new(ctx.out, &["Recipient", "Code", "Tell them", "State"]);
        for n in &recipients {
            t.add_row(vec![
                table::cell(&n.name),
                table::cell(&n.recipient),
                table::cell(&n.what),
                table::cell(&n.state),
            ]);
        }
        text.push_str(&format!(
            "\nRecipients to notify (Art. 19); record each with `dsr request notified {} --recipient CODE --ref TEXT`:\n{t}",
            req.id
        ));
    }
    // `-q`: nothing (the recipients to tell are in `request show` and `--json`).
    ctx.out.outcome(&text)?;
    Ok(Code::Ok)
}

// ---------------------------------------------------------------------------------- rectify

pub fn rectify(ctx: &mut Session, args: &RectifyArgs) -> anyhow::Result<Code> {
    if let Some(id) = &args.request {
        return rectify_apply(ctx, id, &args.yes);
    }
    rectify_open(ctx, args)
}

/// The table of the data map the supplementary statements go to (dsr writes them itself).
const STATEMENTS: &str = crate::store::personal::WRITTEN_BY_DSR;

/// The longest supplementary statement (Art. 16): it goes into every later access answer.
const MAX_STATEMENT: usize = 2000;

/// Open a rectification request: what to correct is checked against the map and the register
/// first.
pub fn rectify_open(session: &mut Session, args: &RectifyArgs) -> anyhow::Result<Code> {
    if args.set.is_empty() && args.supplement.is_empty() {
        return Err(Error::invalid(
            "arguments",
            "say what to correct with --set FIELD=VALUE or --supplement CATEGORY=TEXT",
        )
        .into());
    }
    let map = DataMap::load(session.conn)?;
    let changes: Vec<Change> = rectify::parse_sets(&map, &args.set)?;
    let register = Register::load(session.conn)?;
    if !args.supplement.is_empty() && map.table(STATEMENTS).is_none() {
        // Statements outside the map would be in no answer, and no erasure would remove them.
        return Err(Error::invalid(
            "--supplement",
            format!("this company's data map has no table {STATEMENTS}, so a statement would be shown in no answer and erased with nothing: add it to the company file (docs/register-file.md) and run `dsr register apply FILE`"),
        )
        .into());
    }
    let mut supplements = Vec::new();
    for s in &args.supplement {
        let (category, text) =
            s.split_once('=').ok_or_else(|| Error::invalid("--supplement", "expected CATEGORY=TEXT"))?;
        // Line ends as a Windows terminal or file gives them are line ends.
        let text = &text.replace("\r\n", "\n");
        restrict::check_categories(&register, &[category.trim().to_owned()], "--supplement")?;
        let acts = |c: char| c != '\n' && crate::output::sanitize::acts_on_text(c);
        if text.trim().is_empty() || text.chars().any(acts) || text.chars().count() > MAX_STATEMENT {
            return Err(Error::invalid(
                "--supplement",
                format!("the statement needs text of at most {MAX_STATEMENT} characters, without control (but line ends), bidirectional or invisible formatting characters"),
            )
            .into());
        }
        if supplements.iter().any(|s: &Statement| s.category == category.trim()) {
            return Err(Error::invalid("--supplement", "one statement a category: give each category once").into());
        }
        supplements.push(Statement { category: category.trim().to_owned(), statement: text.trim().to_owned() });
    }
    open(session, Kind::Rectify, &args.subject, &args.open, json!({"set": changes, "supplement": supplements}))
}

fn rectify_apply(ctx: &mut Session, id: &str, yes: &YesArgs) -> anyhow::Result<Code> {
    let (req, s) = crate::rights::verified(ctx.conn, id, Kind::Rectify)?;
    if req.carried_out() {
        return Err(Error::RequestState(format!("request {} is already applied", req.id)).into());
    }
    let prepared = rectify::carry_out::prepare(ctx.conn, &req, &s)?;
    if !ctx.out.json {
        let mut t = table::new(ctx.out, &["Field", "Old", "New"]);
        for p in &prepared.planned {
            t.add_row(vec![table::cell(&p.field), table::cell(p.old.as_deref().unwrap_or("")), table::cell(&p.new)]);
        }
        for f in &prepared.accurate {
            t.add_row(vec![table::cell(f), table::cell("(already as asked: no change)"), table::cell("")]);
        }
        for sup in &prepared.statements {
            t.add_row(vec![
                table::cell(&format!("statement ({})", sup.category)),
                table::cell(""),
                table::cell(&sup.statement),
            ]);
        }
        ctx.out.status(&format!("Request {}: these corrections will be made:\n{t}", req.id))?;
    }
    confirm(ctx, yes, "Apply these corrections?")?;
    let done = rectify::carry_out::apply(ctx.conn, ctx.clock, &req, &s, prepared)?;
    let human = format!(
        "{} field(s) corrected, {} already as asked, {} statement(s) added.",
        done.changes.len(),
        done.already_accurate.len(),
        done.supplementary_statements.len()
    );
    report(ctx, &req.id, serde_json::to_value(&done)?, human)
}

// --------------------------------------------------------------------------------- restrict

pub fn restrict_cmd(ctx: &mut Session, args: &RestrictArgs) -> anyhow::Result<Code> {
    let lifted = lift_due(ctx)?;
    if let Some(id) = &args.lift {
        if lifted.iter().any(|l| l.eq_ignore_ascii_case(id)) {
            // Its notice period had passed: the lift asked for is the one just carried out.
            return lifted_now(ctx, id);
        }
        let reason = args.reason.as_deref().unwrap_or_default();
        let reason = super::in_both_languages(
            ctx.out,
            ("--reason", "--reason-nl"),
            &["accuracy-verified", "claim-settled"],
            reason,
            args.reason_nl.as_deref(),
        )?;
        let told = match (args.notice_by, args.notice_ref.as_deref()) {
            (Some(channel), Some(reference)) => Some((
                channel,
                crate::free_text::required(
                    "--notice-ref",
                    reference,
                    "say how the person was told (a tracking number, who told them)",
                )?,
            )),
            _ => None,
        };
        return lift(ctx, id, &reason, args.notice_days, told);
    }
    if let Some(id) = &args.request {
        return restrict_apply(ctx, id, &args.yes);
    }
    restrict_open(ctx, args)
}

/// Open a restriction request for a ground and, perhaps, some categories of the register.
pub fn restrict_open(session: &mut Session, args: &RestrictArgs) -> anyhow::Result<Code> {
    let who = &args.subject;
    let named = who.email.is_some() || who.customer.is_some() || who.phone.is_some() || who.cookie.is_some();
    if args.ground.is_none() && !named && args.open.review.is_none() {
        return Err(Error::invalid(
            "arguments",
            "name the person with --email, --customer, --phone or --cookie and the Art. 18(1) ground with --ground; or give a request: `dsr restrict REQUEST --yes`, `dsr restrict --lift REQUEST --reason TEXT`",
        )
        .into());
    }
    let ground = args.ground.ok_or_else(|| {
        Error::invalid(
            "--ground",
            "name the Art. 18(1) ground: accuracy-contested, unlawful, legal-claims or objection-pending",
        )
    })?;
    restrict::check_categories(&Register::load(session.conn)?, &args.category, "--category")?;
    // A category named twice is restricted once.
    let mut categories = args.category.clone();
    categories.sort();
    categories.dedup();
    open(
        session,
        Kind::Restrict,
        &args.subject,
        &args.open,
        json!({"ground": ground.as_str(), "categories": categories}),
    )
}

fn restrict_apply(ctx: &mut Session, id: &str, yes: &YesArgs) -> anyhow::Result<Code> {
    let (req, s) = crate::rights::verified(ctx.conn, id, Kind::Restrict)?;
    if req.carried_out() {
        return Err(Error::RequestState(format!("request {} is already applied", req.id)).into());
    }
    let ground = req.params["ground"].as_str().unwrap_or("accuracy-contested").to_owned();
    let categories: Vec<String> = serde_json::from_value(req.params["categories"].clone()).unwrap_or_default();
    let scope = restrict::scope(&categories);
    ctx.out.status(&format!(
        "Request {}: restrict {scope} on the ground {ground}; afterwards it is only stored.",
        req.id
    ))?;
    confirm(ctx, yes, "Restrict processing?")?;
    let done = restrict::carry_out::apply(ctx.conn, ctx.clock, &req, &s, &ground, &categories)?;
    report(ctx, &req.id, serde_json::to_value(&done)?, format!("Processing of {scope} is restricted ({ground}): only storage, legal claims, and what the person consents to from now on."))
}

/// Art. 18(3): send the notice now, lift `days` later (see [`restrict::lift_due`]).
fn lift(
    ctx: &mut Session,
    id: &str,
    reason: &str,
    days: u32,
    told: Option<(crate::request::DeliveryChannel, &str)>,
) -> anyhow::Result<Code> {
    let reason =
        crate::free_text::required("--reason", reason, "lifting a restriction needs a reason to tell the person")?;
    let lift = restrict::carry_out::announce_lift(ctx.conn, ctx.clock, id, reason, days, told)?;
    let (n, lift_at, sent) = (lift.scheduled, lift.lift_at, lift.notice);
    if ctx.out.json {
        ctx.out.json(&json!({"format_version": 1, "request": lift.request, "scheduled": n, "notice_days": days, "lift_at": lift_at, "notice": sent}))?;
    } else {
        ctx.out.outcome(&format!(
            "Notice to the person: {}; {n} restriction(s) of request {} will be lifted at {lift_at} ({days} days, Art. 18(3)), \
by the first `dsr retention run` or `dsr restrict` after that. Until then the restriction applies.",
            // A notice queued with the change goes out once it is committed (`dsr mail list`).
            match sent.transport {
                "queued" => format!("{} (sent after this command)", sent.reference),
                "post" | "in-person" | "portal" => format!("told by {} ({})", sent.transport, sent.reference),
                _ => format!("{} {}", sent.transport, sent.reference),
            },
            lift.request
        ))?;
    }
    Ok(Code::Ok)
}

/// `dsr restrict --lift R` when R's lift was due and this command has just carried it out.
fn lifted_now(ctx: &mut Session, id: &str) -> anyhow::Result<Code> {
    let req = crate::request::load(ctx.conn, id)?;
    if ctx.out.json {
        ctx.out.json(&json!({"format_version": 1, "request": req.id, "scheduled": 0, "lifted": true}))?;
    } else {
        ctx.out.outcome(&format!(
            "The restriction of request {} was already to be lifted, after the notice to the person; that lift is done now. Nothing more to lift.",
            req.id
        ))?;
    }
    Ok(Code::Ok)
}

/// Carry out the restriction lifts whose notice period has passed (also done by `dsr retention run`).
/// Returns the requests whose restrictions were lifted.
fn lift_due(ctx: &mut Session) -> anyhow::Result<Vec<String>> {
    let lifts = restrict::carry_out::lift_due(ctx.conn, ctx.clock)?;
    tell_lifts(ctx.out, "", &lifts)?;
    if !lifts.erasures.finished.is_empty() {
        // What the finishing removed, cleared now; failing that, the note left makes the next
        // erasure or retention run do it, and this command goes on.
        let touched = crate::rights::erase::touched_by_any(&*crate::store::personal::DataMap::load(ctx.conn)?);
        if let Err(e) = ctx.conn.after_erasure(&touched) {
            crate::output::stderr_line(&format!(
                "dsr: the finished erasures are committed, but clearing what they removed did not finish ({}); the next erasure or retention run does it",
                crate::output::sanitize::line(&crate::output::words(&e))
            ))?;
        }
    }
    Ok(lifts.lifted)
}

/// Tell the officer what the lifts due did: the restrictions lifted, the erasures they let
/// finish, and those that could not finish yet (on stderr, with what to do).
pub(super) fn tell_lifts(
    out: &crate::output::Output,
    prefix: &str,
    lifts: &restrict::carry_out::Lifts,
) -> anyhow::Result<()> {
    // "The ..." alone, "dsr retention: the ..." after the prefix.
    let line = |s: String| match prefix.is_empty() {
        true => s[..1].to_uppercase() + &s[1..],
        false => format!("{prefix}{s}"),
    };
    for id in &lifts.lifted {
        out.status(&line(format!(
            "the restriction of request {id} is lifted: its Art. 18(3) notice period has passed."
        )))?;
    }
    for crate::rights::erase::finish::Finished { request: id, rows } in &lifts.erasures.finished {
        out.status(&line(format!(
            "erasure {id} finished: {rows} row(s) its legal-claims restriction kept are erased now that it is lifted."
        )))?;
    }
    for crate::rights::erase::finish::NotFinished { request: id, why } in &lifts.erasures.waiting {
        out.status(&line(format!("erasure {id} cannot finish yet: {why}; the next run tries again.")))?;
    }
    for crate::rights::erase::finish::NotFinished { request: id, why: e } in &lifts.erasures.failed {
        let e = crate::output::sanitize::line(e);
        crate::output::stderr_line(&line(format!("erasure {id} could not finish: {e}; the next run tries again.")))?;
    }
    Ok(())
}

// ----------------------------------------------------------------------------------- object

pub fn object_cmd(ctx: &mut Session, args: &ObjectArgs) -> anyhow::Result<Code> {
    if let Some(id) = &args.decide {
        if !args.uphold && !args.override_ {
            return Err(Error::invalid("--decide", "say --uphold, or --override with --grounds TEXT").into());
        }
        let grounds = args
            .grounds
            .as_deref()
            .map(|g| {
                let codes = ["legal-claims", "network-security", "fraud-prevention"];
                super::in_both_languages(ctx.out, ("--grounds", "--grounds-nl"), &codes, g, args.grounds_nl.as_deref())
            })
            .transpose()?;
        return decide(ctx, id, args.uphold, grounds.as_deref());
    }
    if let Some(id) = &args.request {
        return object_apply(ctx, id, &args.yes);
    }
    object_open(ctx, args)
}

/// Open an objection request to a purpose of the register.
pub fn object_open(session: &mut Session, args: &ObjectArgs) -> anyhow::Result<Code> {
    let purpose = args
        .purpose
        .as_deref()
        .ok_or_else(|| Error::invalid("--purpose", "name the purpose objected to (see `dsr register`)"))?;
    object::purpose(&Register::load(session.conn)?, purpose)?;
    open(session, Kind::Object, &args.subject, &args.open, json!({"purpose": purpose}))
}

fn object_apply(ctx: &mut Session, id: &str, yes: &YesArgs) -> anyhow::Result<Code> {
    let (req, s) = crate::rights::verified(ctx.conn, id, Kind::Object)?;
    if req.carried_out() || req.outcome.is_some() {
        return Err(Error::RequestState(format!("request {} is already applied", req.id)).into());
    }
    let purpose = req.params["purpose"].as_str().unwrap_or_default().to_owned();
    ctx.out.status(&format!("Request {}: objection to {purpose}.", req.id))?;
    confirm(ctx, yes, "Carry out the objection?")?;
    let answer = object::carry_out::apply(ctx.conn, ctx.clock, &req, &s, &purpose)?;
    let outcome = serde_json::to_value(&answer)?;
    let next = if answer.decided {
        String::new()
    } else {
        format!("\nRecord the decision with `dsr object --decide {} --uphold` or `--override --grounds TEXT`.", req.id)
    };
    report(ctx, &req.id, outcome, format!("{}{next}", answer.explanation_en))
}

fn decide(ctx: &mut Session, id: &str, uphold: bool, grounds: Option<&str>) -> anyhow::Result<Code> {
    crate::free_text::check("--grounds", grounds.unwrap_or_default())?;
    let decided = object::carry_out::decide(ctx.conn, ctx.clock, id, uphold, grounds)?;
    let outcome = serde_json::to_value(&decided.answer)?;
    report(ctx, &decided.request, outcome, decided.answer.explanation_en)
}

/// `dsr request notified ID --recipient R --ref TEXT | --impossible --reason TEXT`.
pub fn notified(ctx: &mut Session, id: &str, recipient: &str, proof: &notify::Proof) -> anyhow::Result<Code> {
    match proof {
        notify::Proof::Reference(text) => crate::free_text::check("--ref", text)?,
        notify::Proof::Impossible(text) => crate::free_text::check("--reason", text)?,
    }
    let closed = notify::close(ctx.conn, ctx.clock, id, recipient, proof)?;
    let (req, left) = (closed.request, closed.still_to_notify);
    let state = match proof {
        notify::Proof::Reference(_) => "notified",
        notify::Proof::Impossible(_) => "impossible",
    };
    if ctx.out.json {
        ctx.out.json(&json!({"format_version": 1, "request": req, "recipient": recipient, "state": state, "still_to_notify": left}))?;
    } else {
        let done =
            if state == "notified" { "was notified of" } else { "cannot be notified (recorded with the reason) of" };
        ctx.out.outcome(&format!("Recorded: {recipient} {done} request {req}; {left} notification(s) still open."))?;
    }
    Ok(Code::Ok)
}

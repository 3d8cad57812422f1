//! `dsr verify`: check the code the person relays, resend a code, or unlock after failures.

use serde::Serialize;

use crate::cli::VerifyArgs;
use crate::error::Error;
use crate::exit::Code;
use crate::rights::intake;

use super::{interactive, Session};

#[derive(Debug, Serialize)]
struct Verified<'a> {
    format_version: u32,
    request: &'a str,
    state: &'static str,
    next: String,
}

pub fn verify(s: &mut Session, args: &VerifyArgs) -> anyhow::Result<Code> {
    if let Some(id) = &args.resend {
        return resend(s, id);
    }
    if let Some(id) = &args.unlock {
        return unlock(s, id, args.reason.as_deref().unwrap_or_default());
    }
    let id = args.request.as_deref().expect("clap requires REQUEST here");
    if let Some(method) = &args.method {
        let reference = args.reference.as_deref().unwrap_or_default();
        return alternative(s, id, method, reference, args.reason.as_deref().unwrap_or_default());
    }
    match &args.code {
        Some(code) => check(s, id, code),
        None if interactive(s.out) => check_interactively(s, id),
        None => Err(Error::invalid("code", "give the code as an argument: stdin is not a terminal to ask on").into()),
    }
}

/// Ask for the code on the terminal without echoing it, then check it.
pub fn check_interactively(s: &mut Session, id: &str) -> anyhow::Result<Code> {
    let code = crate::output::prompt::guarded(|| {
        dialoguer::Password::new().with_prompt("Code the person relayed (e.g. 7KQ2-M9XD)").interact()
    })?;
    check(s, id, &code)
}

fn check(s: &mut Session, id: &str, code: &str) -> anyhow::Result<Code> {
    // Failures are recorded (tries, burn, lock) before they are reported.
    let intake::Checked { request: req, outcome } = intake::check(s.conn, s.clock, id, code)?;
    if outcome.verified {
        let next = format!("dsr {} {}", req.right, req.id);
        if s.out.json {
            s.out.json(&Verified { format_version: 1, request: &req.id, state: "verified", next })?;
        } else {
            s.out.outcome(&format!("Request {} is verified. Next: {next}", req.id))?;
        }
        return Ok(Code::Ok);
    }
    if outcome.person_locked {
        return Err(Error::VerificationLocked(req.id).into());
    }
    let why = match outcome.refused.unwrap_or("wrong") {
        "expired" => format!("the code has expired; send a new one with `dsr verify --resend {}`", req.id),
        "malformed" if outcome.tries_left.is_none() => {
            "that is not a code of 8 characters, and no code is active for this request".to_owned()
        }
        "no-code" | "malformed" if outcome.tries_left.is_none() => format!(
            "no code is active for this request (used, burned or voided); send a new one with `dsr verify --resend {}`",
            req.id
        ),
        _ if outcome.code_burned => {
            format!(
                "wrong code; after 5 wrong tries the code is void; send a new one with `dsr verify --resend {}`",
                req.id
            )
        }
        _ => format!(
            "wrong code; {} left on this code",
            crate::output::plural(outcome.tries_left.unwrap_or(0), "try", "tries")
        ),
    };
    let why = match outcome.older_voided {
        true => format!(
            "{why} (a newer code replaced an earlier one: a code from an older mail no longer works; use the newest)"
        ),
        false => why,
    };
    Err(Error::CodeRejected(why).into())
}

fn resend(s: &mut Session, id: &str) -> anyhow::Result<Code> {
    let req = intake::resend(s.conn, s.clock, id)?;
    // Like opening: a known person gets a code, an unknown one none; stderr must not show it.
    *s.opened = Some(req.id.clone());
    let msg = format!("If the person of request {} is on file with an email address, a new code was sent to it; any older code no longer works.", req.id);
    if s.out.json {
        s.out.json(&serde_json::json!({"format_version": 1, "request": req.id, "message": msg}))?;
    } else {
        s.out.outcome(&msg)?;
    }
    Ok(Code::Ok)
}

fn alternative(s: &mut Session, id: &str, method: &str, reference: &str, reason: &str) -> anyhow::Result<Code> {
    let req = intake::alternative(s.conn, s.clock, id, method, reference, reason)?;
    let next = format!("dsr {} {}", req.right, req.id);
    if s.out.json {
        s.out.json(&Verified { format_version: 1, request: &req.id, state: "verified", next })?;
    } else {
        s.out.outcome(&format!("Request {} is verified (method: {}). Next: {next}", req.id, method.trim()))?;
    }
    Ok(Code::Ok)
}

fn unlock(s: &mut Session, id: &str, reason: &str) -> anyhow::Result<Code> {
    let req = intake::unlock(s.conn, s.clock, id, reason)?;
    let msg = format!(
        "Verification for the person of request {} is unlocked; send a new code with `dsr verify --resend {}`.",
        req.id, req.id
    );
    if s.out.json {
        s.out.json(&serde_json::json!({"format_version": 1, "request": req.id, "unlocked": true}))?;
    } else {
        s.out.outcome(&msg)?;
    }
    Ok(Code::Ok)
}

//! `dsr register`: the Art. 30 record held in the store.

use clap::ValueEnum;

use crate::cli::{Ground, RegisterArgs, RegisterCommand};
use crate::error::Error;
use crate::exit::Code;
use crate::output::{table, Output};
use crate::register::Register;

use super::Ctx;

pub fn register(ctx: &Ctx, args: &RegisterArgs) -> anyhow::Result<Code> {
    let out = &ctx.out;
    if let Some(RegisterCommand::Export { out: file, force }) = &args.command {
        return export(ctx, file.as_deref(), *force);
    }
    let register = Register::load(&ctx.store.conn)?;
    if out.json {
        out.json(&register)?;
    } else {
        out.data(&render_register(&register, out))?;
    }
    Ok(Code::Ok)
}

/// `dsr register export`: the register as a company file, on stdout or into `--out` atomically.
fn export(ctx: &Ctx, file: Option<&std::path::Path>, force: bool) -> anyhow::Result<Code> {
    let Some(company) = crate::map::export::export(&ctx.store.conn)? else {
        return Err(crate::error::Error::invalid(
            "store",
            "this store has no register yet (create one with `dsr init --register FILE` or `--fixture NAME`)",
        )
        .into());
    };
    let text = company.to_toml();
    match file {
        // --json: the same document as JSON, keys and order as in the file.
        None if ctx.out.json => ctx.out.json(&company)?,
        None => ctx.out.data(&text)?,
        Some(path) => {
            use std::io::Write;
            crate::fsutil::write_private(path, force, |f| Ok(f.write_all(text.as_bytes())?))?;
            if ctx.out.json {
                ctx.out.json(&serde_json::json!({
                    "format_version": 1,
                    "out": path.display().to_string(),
                    "company": company.company,
                }))?;
            } else {
                ctx.out.status(&format!("Wrote the register of {} to {}.", company.controller.name, path.display()))?;
            }
        }
    }
    Ok(Code::Ok)
}

/// `dsr register check FILE`: every problem of a company file, without a store. The map is
/// checked against the built-in schema (a new in-memory store) and the columns the file declares.
/// Problems go to stderr one a line, as `init --register` gives them; exit 2 with any.
pub fn check(path: &std::path::Path, out: &Output) -> anyhow::Result<Code> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::invalid("register file", format!("cannot read {}: {e}", path.display())))?;
    let mut store = crate::store::Store::in_memory()?;
    let (file, problems) = crate::map::check_all(&text, &mut store.conn)?;
    let counts = file.as_ref().map(|f| {
        serde_json::json!({
            "tables": f.table.len(),
            "purposes": f.purpose.len(),
            "categories": f.category.len(),
            "recipients": f.recipient.len(),
            "retention_rules": f.retention.len(),
            "rights": f.right.len(),
        })
    });
    if out.json {
        let listed: Vec<_> =
            problems.iter().map(|p| serde_json::json!({"line": p.line, "key": p.key, "what": p.what})).collect();
        out.json(&serde_json::json!({
            "format_version": 1,
            "file": path.display().to_string(),
            "ok": problems.is_empty(),
            "problems": listed,
            "counts": counts,
        }))?;
    } else {
        for p in &problems {
            crate::output::stderr_line(&format!(
                "dsr: {}: {}",
                path.display(),
                crate::output::sanitize::line(&p.to_string())
            ))?;
        }
    }
    if !problems.is_empty() {
        let n = problems.len();
        let s = if n == 1 { "" } else { "s" };
        return Err(Error::invalid("register file", format!("{} has {n} problem{s}", path.display())).into());
    }
    if !out.json {
        let f = file.as_ref().expect("a file without problems was read");
        out.data(&format!(
            "{}: no problems ({} tables, {} purposes, {} categories, {} recipients, {} retention rules, {} rights)",
            path.display(),
            f.table.len(),
            f.purpose.len(),
            f.category.len(),
            f.recipient.len(),
            f.retention.len(),
            f.right.len()
        ))?;
    }
    Ok(Code::Ok)
}

fn render_register(r: &Register, out: &Output) -> String {
    let Some(c) = &r.controller else {
        return "This store has no register yet (create one with `dsr init --register FILE` or `--fixture NAME`)."
            .to_owned();
    };
    let mut s = format!(
        "Register of processing (GDPR Art. 30) of {}{}, privacy policy {}\nRights requests: {}\nComplaints: {} ({})\n",
        c.name,
        c.kvk_number.as_deref().map(|k| format!(", KvK {k}")).unwrap_or_default(),
        c.policy_version,
        c.privacy_email,
        c.complaint_authority,
        c.complaint_url
    );
    let mut t = table::new(out, &["Purpose", "Code", "Legal basis", "Direct marketing"]);
    for p in &r.purposes {
        t.add_row(vec![
            table::cell(&p.name_en),
            table::cell(&p.code),
            table::cell(&format!("{} ({})", p.legal_basis_name_en, p.legal_basis_article)),
            table::cell(if p.direct_marketing { "yes" } else { "" }),
        ]);
    }
    s.push_str(&format!("\nPurposes (codes for --purpose)\n{t}\n"));
    let mut t = table::new(out, &["Category", "Code", "Source", "Portable", "Retention"]);
    for cat in &r.categories {
        let retention: Vec<_> = r.retention_of_category(&cat.code).map(|x| x.description_en.as_str()).collect();
        t.add_row(vec![
            table::cell(&cat.name_en),
            table::cell(&cat.code),
            table::cell(&cat.provenance),
            table::cell(if cat.portable { "yes" } else { "no" }),
            table::cell(&retention.join("\n")),
        ]);
    }
    s.push_str(&format!("\nCategories and retention (codes for --category)\n{t}\n"));
    let mut t = table::new(out, &["Recipient", "Code", "Country", "Safeguards", "Receives"]);
    for rc in &r.recipients {
        let country = if rc.outside_eea { format!("{} (outside EEA)", rc.country) } else { rc.country.clone() };
        t.add_row(vec![
            table::cell(&rc.name),
            table::cell(&rc.code),
            table::cell(&country),
            table::cell(&rc.safeguards_en),
            table::cell(&rc.categories.join(", ")),
        ]);
    }
    s.push_str(&format!("\nRecipients (codes for --recipient)\n{t}\n"));
    let mut t = table::new(out, &["Restriction ground", "Code", "Article"]);
    for g in Ground::value_variants() {
        let (name, article) = ground_text(*g);
        t.add_row(vec![table::cell(name), table::cell(g.as_str()), table::cell(article)]);
    }
    s.push_str(&format!("\nRestriction grounds (codes for --ground)\n{t}\n"));
    for d in &r.automated_decisions {
        let mut t = table::new(out, &["Step", "Days after due date", "What happens"]);
        for st in &d.steps {
            t.add_row(vec![
                table::cell(&st.step),
                table::cell(&st.days_after_due.to_string()),
                table::cell(&st.description_en),
            ]);
        }
        s.push_str(&format!(
            "\nAutomated decision: {}\n{}\nConsequences: {}\nHuman review: {}\n{t}\n",
            d.name_en, d.logic_en, d.consequences_en, d.human_review_en
        ));
    }
    let mut t = table::new(out, &["Right", "Article", "How"]);
    for right in &r.rights {
        t.add_row(vec![table::cell(&right.name_en), table::cell(&right.article), table::cell(&right.how_en)]);
    }
    s.push_str(&format!("\nRights\n{t}"));
    s
}

/// What each Art. 18(1) ground means, for the register's table of codes.
fn ground_text(g: Ground) -> (&'static str, &'static str) {
    match g {
        Ground::AccuracyContested => ("Accuracy contested, while it is checked", "Art. 18(1)(a)"),
        Ground::Unlawful => ("Unlawful processing; restriction instead of erasure", "Art. 18(1)(b)"),
        Ground::LegalClaims => ("Needed by the person for legal claims", "Art. 18(1)(c)"),
        Ground::ObjectionPending => ("Objection pending", "Art. 18(1)(d)"),
    }
}

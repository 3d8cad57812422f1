//! `dsr register`: the Art. 30 record held in the store, written out as a company file, or
//! changed to one (`register apply`: the difference shown, asked on a terminal, audited).

use clap::ValueEnum;

use crate::cli::{Ground, RegisterApplyArgs, RegisterArgs, RegisterCommand};
use crate::error::Error;
use crate::exit::Code;
use crate::output::{table, Output};
use crate::register::Register;
use crate::store::db::Db;

use super::{Ctx, Session};

pub fn register(ctx: &mut Ctx, args: &RegisterArgs) -> anyhow::Result<Code> {
    match &args.command {
        Some(RegisterCommand::Export { out: file, force }) => {
            return export(&ctx.store.conn, &ctx.out, file.as_deref(), *force)
        }
        Some(RegisterCommand::Apply(a)) => {
            // The company databases of the file are attached (relative paths from the store's directory).
            let (conn, path) = (&ctx.store.conn, ctx.store.path.clone());
            let attach =
                |_: &dyn Db, dbs: &[crate::map::Database]| crate::store::attached::attach_anew(conn, &path, dbs);
            return apply(
                &mut Session { conn: &ctx.store, clock: &ctx.clock, out: &ctx.out, opened: &mut None },
                attach,
                a,
            );
        }
        // Needs no store: dispatched before one is opened (commands/mod.rs).
        Some(RegisterCommand::Check { file }) => return check(file, &ctx.store.path, &ctx.out),
        None => {}
    }
    show(&ctx.store.conn, &ctx.out)
}

/// `dsr register`: the register of a store of either backend.
pub fn show(db: &dyn Db, out: &Output) -> anyhow::Result<Code> {
    let register = Register::load(db)?;
    if out.json {
        out.json(&register)?;
    } else {
        out.data(&render_register(&register, out))?;
    }
    Ok(Code::Ok)
}

/// `dsr register export`: the register as a company file, on stdout or into `--out` atomically.
pub fn export(db: &dyn Db, out: &Output, file: Option<&std::path::Path>, force: bool) -> anyhow::Result<Code> {
    let Some(company) = crate::map::export::export(db)? else {
        return Err(crate::error::Error::no_register().into());
    };
    let text = company.to_toml();
    match file {
        // --json: the same document as JSON, keys and order as in the file.
        None if out.json => out.json(&company)?,
        None => out.data(&text)?,
        Some(path) => {
            use std::io::Write;
            crate::fsutil::write_private(path, force, |f| Ok(f.write_all(text.as_bytes())?))?;
            if out.json {
                out.json(&serde_json::json!({
                    "format_version": 1,
                    "out": path.display().to_string(),
                    "company": company.company,
                }))?;
            } else {
                out.status(&format!("Wrote the register of {} to {}.", company.controller.name, path.display()))?;
            }
        }
    }
    Ok(Code::Ok)
}

/// `dsr register apply FILE`: the difference on stdout, then (on a terminal) a question; `--yes`
/// off a terminal; `--dry-run` shows only. The file is read and checked as `init --register` does,
/// its company databases made usable by `attach` first. On either backend.
/// `dsr register apply FILE` on a PostgreSQL store: the company's SQLite files the file names
/// are attached beside the store ([`crate::store::postgres::beside::Beside::open_for`]); one that
/// is missing or not SQLite is refused as a problem of the file (exit 2).
pub(super) fn apply_on_postgres(url: &str, out: Output, a: &RegisterApplyArgs) -> anyhow::Result<Code> {
    let file = std::fs::read_to_string(&a.file).ok().and_then(|text| crate::map::CompanyFile::parse_all(&text).0);
    let databases = file.as_ref().map(|f| f.database.clone()).unwrap_or_default();
    let tables: Vec<String> =
        file.iter().flat_map(|f| &f.table).filter(|t| t.database.is_some()).map(|t| t.name.clone()).collect();
    let open = |pg| crate::store::postgres::beside::Beside::open_for(pg, &databases, &tables);
    super::on_postgres_opened(url, out, open, |s| apply(s, crate::store::postgres::company_schemas, a)).map_err(|e| {
        match e.downcast_ref::<Error>() {
            Some(Error::DatabaseMissing { .. } | Error::DatabaseMismatch { .. }) => {
                let what = format!("{e:#}");
                super::init::refused(&a.file, &[crate::map::Problem { line: None, key: "database".into(), what }])
            }
            _ => e,
        }
    })
}

pub fn apply(
    ctx: &mut Session,
    attach: impl FnOnce(&dyn Db, &[crate::map::Database]) -> anyhow::Result<()>,
    args: &RegisterApplyArgs,
) -> anyhow::Result<Code> {
    use sha2::{Digest, Sha256};
    let (path, text, file) =
        // (With company databases, not attached yet, their tables are checked once they are.)
        super::init::read_company_file(&args.file, |f, _| match f.database.is_empty() {
            true => crate::map::check_against(f, ctx.conn),
            false => Ok(Vec::new()),
        })?;
    let sha256 = crate::keys::hex(&Sha256::digest(text.as_bytes()));
    let refused = |mut problems: Vec<crate::map::Problem>| {
        crate::map::locate(&text, &mut problems);
        super::init::refused(path, &problems)
    };
    if let Err(e) = attach(ctx.conn, &file.database) {
        return Err(refused(vec![crate::map::Problem { line: None, key: "database".into(), what: format!("{e:#}") }]));
    }
    let trial = crate::map::apply::trial(ctx.conn, &file)?.map_err(refused)?;
    let diff = &trial.diff;
    let report = |applied: bool| {
        serde_json::json!({
            "format_version": 1,
            "file": path.display().to_string(),
            "file_sha256": sha256,
            "dry_run": args.dry_run,
            "applied": applied,
            "added": diff.added,
            "removed": diff.removed,
            "changed": diff.changed,
            "changes": diff.changes,
        })
    };
    // The register keeps its own order of some lists (a category's purposes, rules by category).
    let order_note = |ctx: &Session, after: &crate::map::CompanyFile| {
        if *after == file {
            return Ok(());
        }
        ctx.out.status("Note: the file lists some entries in another order than the register keeps; `register export` writes the register's order.")
    };
    if diff.is_empty() {
        if ctx.out.json {
            ctx.out.json(&report(false))?;
        } else {
            ctx.out.status(&format!("The register already matches {}: nothing to apply.", path.display()))?;
        }
        order_note(ctx, &trial.after)?;
        return Ok(Code::Ok);
    }
    let n = diff.total();
    if !ctx.out.json {
        use crate::map::diff::Kind;
        let colour = |k: Kind| match k {
            Kind::Added => "32",
            Kind::Removed => "31",
            Kind::Changed | Kind::Reordered => "33",
        };
        let lines: Vec<String> = diff
            .changes
            .iter()
            .map(|c| ctx.out.paint(&crate::output::sanitize::line(&c.to_string()), colour(c.change)))
            .collect();
        ctx.out.data(&lines.join("\n"))?;
    }
    if args.dry_run {
        if ctx.out.json {
            ctx.out.json(&report(false))?;
        }
        ctx.out.status(&format!("dsr register apply (dry run): {} change{}; nothing applied.", n, plural(n)))?;
        return Ok(Code::Ok);
    }
    if !args.yes.yes {
        if !super::interactive(ctx.out) {
            if ctx.out.json {
                ctx.out.json(&report(false))?;
            }
            return Err(Error::Usage(
                "not confirmed: this changes the register; add --yes when not on a terminal".into(),
            )
            .into());
        }
        let question = if n == 1 {
            "Apply this change to the register?".to_owned()
        } else {
            format!("Apply these {n} changes to the register?")
        };
        if !crate::output::prompt::guarded(|| {
            dialoguer::Confirm::new().with_prompt(question).default(false).interact()
        })? {
            return Err(Error::RequestState("register not changed: the officer declined".into()).into());
        }
    }
    let applied = crate::map::apply::apply(ctx.conn, ctx.clock, &file, &sha256, diff)?.map_err(refused)?;
    if ctx.out.json {
        ctx.out.json(&report(true))?;
    } else {
        ctx.out.status(&format!(
            "Applied {n} change{} to the register from {} (audited as register-applied).",
            plural(n),
            path.display()
        ))?;
    }
    order_note(ctx, &applied.after)?;
    Ok(Code::Ok)
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// `dsr register check FILE`: every problem of a company file, without a store. The map is
/// checked against the built-in schema (a new in-memory store) and the columns the file declares.
/// Problems go to stderr one a line, as `init --register` gives them; exit 2 with any.
pub fn check(path: &std::path::Path, db: &std::path::Path, out: &Output) -> anyhow::Result<Code> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::invalid("register file", format!("cannot read {}: {e}", path.display())))?;
    let mut store = crate::store::Store::in_memory()?;
    let (mut file, mut problems) = crate::map::check_all(&text, &mut store.conn, db)?;
    if let Some(f) = file.as_mut() {
        let mut more = crate::letters::settings::read_into(f.letters.as_mut(), crate::fsutil::beside(path));
        crate::map::locate(&text, &mut more);
        problems.extend(more);
    }
    crate::map::in_file_order(&mut problems);
    // Schemas of a PostgreSQL store's database: checked with the store (`register apply --dry-run`).
    let elsewhere: Vec<&str> = file
        .iter()
        .flat_map(|f| &f.database)
        .filter(|d| d.path == crate::map::POSTGRES_SCHEMA)
        .map(|d| d.name.as_str())
        .collect();
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
            "not_looked_into": elsewhere,
        }))?;
    } else {
        for name in &elsewhere {
            out.status(&format!(
                "{}: the company database {name} is a schema of a PostgreSQL store, which this check cannot look into; its tables are taken to have the columns the map names (`dsr --db postgres://... register apply {} --dry-run` checks them)",
                path.display(),
                path.display()
            ))?;
        }
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
        let counted = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        out.outcome(&format!(
            "{}: no problems ({}, {}, {}, {}, {}, {})",
            path.display(),
            counted(f.table.len(), "table", "tables"),
            counted(f.purpose.len(), "purpose", "purposes"),
            counted(f.category.len(), "category", "categories"),
            counted(f.recipient.len(), "recipient", "recipients"),
            counted(f.retention.len(), "retention rule", "retention rules"),
            counted(f.right.len(), "right", "rights")
        ))?;
    }
    Ok(Code::Ok)
}

fn render_register(r: &Register, out: &Output) -> String {
    let Some(c) = &r.controller else {
        return "This store has no register yet: give it one with `dsr register apply FILE` (or make the store with `dsr init --register FILE` or `--fixture NAME`)."
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

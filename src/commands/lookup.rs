//! `dsr lookup`: records per category for one person, or the candidates of an ambiguous identifier.

use crate::cli::LookupArgs;
use crate::exit::Code;
use crate::lookup::LookupReport;
use crate::output::{sanitize, table, Output};
use crate::store::db::Db;

use super::{identifier, Ctx};

pub fn lookup(ctx: &mut Ctx, args: &LookupArgs) -> anyhow::Result<Code> {
    on(&ctx.store.conn, &ctx.out, args)
}

/// `dsr lookup` on a store of either backend.
pub fn on(db: &dyn Db, out: &Output, args: &LookupArgs) -> anyhow::Result<Code> {
    let report = crate::lookup::lookup(db, identifier(&args.subject)?)?;
    if out.json {
        out.json(&report)?;
    } else {
        out.data(&render_lookup(&report, out))?;
    }
    Ok(match report.status {
        "found" => Code::Ok,
        "ambiguous" => Code::Ambiguous,
        _ => Code::NotFound,
    })
}

pub fn render_lookup(report: &LookupReport, out: &Output) -> String {
    let kind = report.identifier.kind();
    match report.status {
        "not-found" => match report.in_another_case {
            Some(n @ 1..) => format!(
                "No person in this store matches this {kind}. {n} {} the address with its local part (before the @) in another case: this store compares it exactly (local_part in docs/register-file.md); look up the address as they hold it if it is theirs.",
                if n == 1 { "person holds" } else { "people hold" }
            ),
            _ => format!("No person in this store matches this {kind}."),
        },
        "ambiguous" => {
            let mut t = table::new(out, &["Person", "Customer", "Name", "Roles"]);
            for c in &report.candidates {
                t.add_row(vec![
                    table::cell(&c.person_id.to_string()),
                    table::cell(c.customer_number.as_deref().unwrap_or("-")),
                    table::cell(c.name.as_deref().unwrap_or("-")),
                    table::cell(&c.roles.join(", ")),
                ]);
            }
            // Named by something else than what they share: the customer number (each has
            // their own), or an identifier of another kind.
            let by = match kind {
                "customer number" => "by email address or phone number",
                _ => "by customer number (or another identifier of theirs)",
            };
            format!("This {kind} belongs to {} people; name one {by}:\n{t}", report.candidates.len())
        }
        _ => {
            let person = report.person.as_ref().expect("found has a person");
            let mut t = table::new(out, &["Category", "Table", "Records"]);
            for c in &report.categories {
                for (i, tc) in c.tables.iter().enumerate() {
                    let name = if i == 0 { c.name.as_str() } else { "" };
                    t.add_row(vec![table::cell(name), table::cell(&tc.table), table::cell(&tc.records.to_string())]);
                }
            }
            let customer = person
                .customer_number
                .as_deref()
                .map(|n| format!(", customer {}", sanitize::line(n)))
                .unwrap_or_default();
            let roles = match person.roles.is_empty() {
                true => String::new(),
                false => format!(" ({})", person.roles.join(", ")),
            };
            format!(
                "Found person {}{customer}{roles}: {} records in {} categories.\n{t}",
                person.person_id,
                report.total_records,
                report.categories.len()
            )
        }
    }
}

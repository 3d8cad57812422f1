//! The embedded fixtures: each company's register (from its privacy policy) and its sample
//! people, compiled into the binary so `dsr init --fixture virtio` works from any directory.
//!
//! Fixture SQL writes times relative to the moment the store is made, with two functions this
//! loader provides: `ts('-4 months', '-3 days')` gives a store timestamp and `dt('-2 years')` a
//! date. A fixture therefore never ages: "a crash report older than 3 months" stays so.

use anyhow::Context;
use chrono::{DateTime, Duration, Months, Utc};
use rusqlite::functions::FunctionFlags;
use rusqlite::Connection;

use crate::clock::{stamp, Clock};
use crate::error::Error;

pub struct Fixture {
    pub name: &'static str,
    pub company: &'static str,
    /// The company file (docs/register-file.md): the register and the data map.
    pub company_file: &'static str,
    people: &'static str,
}

pub const FIXTURES: &[Fixture] = &[
    Fixture {
        name: "virtio",
        company: "Virtio ICT B.V.",
        company_file: include_str!("../../fixtures/virtio/company.toml"),
        people: include_str!("../../fixtures/virtio/people.sql"),
    },
    Fixture {
        name: "voordelig-streamen",
        company: "Voordelig Streamen",
        company_file: include_str!("../../fixtures/voordelig-streamen/company.toml"),
        people: include_str!("../../fixtures/voordelig-streamen/people.sql"),
    },
    Fixture {
        name: "webshop",
        company: "Fietsonderdelen Online B.V.",
        company_file: include_str!("../../fixtures/webshop/company.toml"),
        people: include_str!("../../fixtures/webshop/people.sql"),
    },
];

pub fn find(name: &str) -> Result<&'static Fixture, Error> {
    FIXTURES.iter().find(|f| f.name == name).ok_or_else(|| {
        let names: Vec<_> = FIXTURES.iter().map(|f| f.name).collect();
        Error::invalid("fixture", format!("unknown fixture; choose one of: {}", names.join(", ")))
    })
}

/// Load a fixture's register (and, unless `register_only`, its people) in one transaction.
pub fn load(conn: &mut Connection, fixture: &Fixture, clock: Clock, register_only: bool) -> anyhow::Result<()> {
    register_time_functions(conn, clock.now())?;
    let tx = conn.transaction()?;
    let company = crate::map::CompanyFile::parse(fixture.company_file)
        .map_err(|problems| Error::invalid("register", format!("fixture {}: {}", fixture.name, problems[0])))?;
    let problems = crate::map::load::load_new(&tx, &company)?;
    if let Some(first) = problems.first() {
        return Err(Error::invalid("register", format!("fixture {}: {first}", fixture.name)).into());
    }
    if !register_only {
        tx.execute_batch(fixture.people).with_context(|| format!("loading the people of fixture {}", fixture.name))?;
        crate::store::personal::DataMap::load(&tx)?.fold_email_identifiers(&tx)?;
    }
    tx.commit()?;
    Ok(())
}

fn register_time_functions(conn: &Connection, now: DateTime<Utc>) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("ts", -1, flags, move |ctx| {
        let t = shifted(now, ctx)?;
        Ok(stamp(t))
    })?;
    conn.create_scalar_function("dt", -1, flags, move |ctx| {
        let t = shifted(now, ctx)?;
        Ok(t.format("%Y-%m-%d").to_string())
    })
}

fn shifted(now: DateTime<Utc>, ctx: &rusqlite::functions::Context<'_>) -> rusqlite::Result<DateTime<Utc>> {
    let mut t = now;
    for i in 0..ctx.len() {
        let modifier: String = ctx.get(i)?;
        t = shift(t, &modifier).map_err(|e| rusqlite::Error::UserFunctionError(e.into()))?;
    }
    Ok(t)
}

/// Apply one modifier such as '-4 months' or '+2 hours'.
pub fn shift(t: DateTime<Utc>, modifier: &str) -> Result<DateTime<Utc>, String> {
    let bad = || format!("bad time modifier {modifier:?}; expected e.g. '-4 months'");
    let mut parts = modifier.split_whitespace();
    let (Some(n), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    let n: i64 = n.parse().map_err(|_| bad())?;
    let months = |m: i64| {
        let m = Months::new(m.unsigned_abs() as u32);
        if n < 0 {
            t.checked_sub_months(m)
        } else {
            t.checked_add_months(m)
        }
    };
    let out = match unit.trim_end_matches('s') {
        "year" => months(n * 12),
        "month" => months(n),
        "day" => t.checked_add_signed(Duration::days(n)),
        "hour" => t.checked_add_signed(Duration::hours(n)),
        "minute" => t.checked_add_signed(Duration::minutes(n)),
        "second" => t.checked_add_signed(Duration::seconds(n)),
        _ => return Err(bad()),
    };
    out.ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modifiers_shift_time() {
        let t = DateTime::parse_from_rfc3339("2026-03-31T10:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(stamp(shift(t, "-1 months").unwrap()), "2026-02-28T10:00:00Z");
        assert_eq!(stamp(shift(t, "+2 days").unwrap()), "2026-04-02T10:00:00Z");
        assert_eq!(stamp(shift(t, "-1 year").unwrap()), "2025-03-31T10:00:00Z");
        assert!(shift(t, "soon").is_err());
        assert!(shift(t, "-1 fortnight").is_err());
    }

    #[test]
    fn a_register_with_a_retention_rule_the_engine_cannot_carry_out_is_refused() {
        let file = format!(
            "{}\n[[retention]]\ncode = \"customers-by-event\"\ncategory = \"login\"\ntable = \"customer\"\n\
             period_months = 12\nstarts_at = \"event\"\ndescription_en = \"Customer numbers: 12 months.\"\n\
             description_nl = \"Klantnummers: 12 maanden.\"\nset_by = \"fixture\"\njustification = \"A test.\"\n",
            FIXTURES[0].company_file
        );
        let broken = Fixture { name: "broken", company: "Broken B.V.", company_file: file.leak(), people: "" };
        let mut store = crate::store::Store::in_memory().unwrap();
        let err = load(&mut store.conn, &broken, Clock::from_env().unwrap(), true).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("retention rule customers-by-event cannot be carried out"), "{msg}");
        assert!(msg.contains("customer") && msg.contains("event"), "{msg}");
        assert!(matches!(err.downcast_ref::<Error>(), Some(Error::Invalid { .. })), "exit code 2: {msg}");
        let rules: i64 = store.conn.query_row("SELECT count(*) FROM retention_rule", [], |r| r.get(0)).unwrap();
        assert_eq!(rules, 0, "nothing of the refused register stays");
    }

    #[test]
    fn every_fixture_loads_with_clean_foreign_keys() {
        for fixture in FIXTURES {
            let mut store = crate::store::Store::in_memory().unwrap();
            load(&mut store.conn, fixture, Clock::from_env().unwrap(), false).unwrap();
            let bad: i64 =
                store.conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0)).unwrap();
            assert_eq!(bad, 0, "{}", fixture.name);
            let people = crate::store::personal::DataMap::load(&store.conn).unwrap().people(&store.conn).unwrap();
            assert!(people >= 25, "{} has {people} people", fixture.name);
        }
    }
}

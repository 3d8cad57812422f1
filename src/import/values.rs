//! What a column of an imported row is checked and normalised as: its SQL type, and what the
//! data map says of it (an identifier, a rectifiable field with its validator, a time or a
//! date of `[table.import]`). Each conversion gives the value to store or the reason the row is
//! refused, naming the column but never repeating the value (reports end up in cron logs).

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike, Utc};
use jiff::tz::{AmbiguousOffset, TimeZone as Tz};
use rusqlite::types::Value;

use crate::error::Error;
use crate::map::table::{IdentifierKind, LocalPart, Table, Validator};
use crate::subject;

/// How one column's text becomes a stored value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conv {
    Text,
    Integer,
    Real,
    /// An email address as written: checked, kept as given (trimmed).
    EmailWritten,
    /// An email address as lookups compare it (its domain, or the whole address, folded).
    EmailCompared(LocalPart),
    Phone,
    CustomerNumber,
    Time,
    Date,
    /// The moment a retention period counts from: a date kept as a date, or a time in UTC.
    Moment,
    Checked(Validator),
}

/// The SQL type a declared column type gives (SQLite's affinity rules).
pub fn of_declared(declared: &str) -> Option<Conv> {
    let t = declared.to_ascii_uppercase();
    if t.contains("INT") {
        Some(Conv::Integer)
    } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") || t.contains("ANY") {
        Some(Conv::Text)
    } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
        Some(Conv::Real)
    } else if t.contains("BLOB") || t.is_empty() {
        None
    } else {
        Some(Conv::Real)
    }
}

/// What the map says a column holds, over its SQL type.
pub fn of_column(table: &Table, column: &str, declared: Conv) -> Conv {
    for i in &table.identifier {
        if i.column == column {
            return match i.kind {
                IdentifierKind::Email => Conv::EmailCompared(i.local_part.unwrap_or_default()),
                IdentifierKind::Phone => Conv::Phone,
                IdentifierKind::CustomerNumber => Conv::CustomerNumber,
                IdentifierKind::Cookie => declared,
            };
        }
        if i.kind == IdentifierKind::Email && i.written_in.as_deref() == Some(column) {
            return Conv::EmailWritten;
        }
    }
    if table.import.times.iter().any(|c| c == column) || table.import.updated.as_deref() == Some(column) {
        return Conv::Time;
    }
    if table.import.dates.iter().any(|c| c == column) {
        return Conv::Date;
    }
    let moment = |c: &Option<String>| c.as_deref() == Some(column);
    if table.retention.as_ref().is_some_and(|r| moment(&r.counts_from) || moment(&r.contract_end)) {
        return Conv::Moment;
    }
    if let Some(v) = table.rectify.iter().find(|f| f.column == column).and_then(|f| f.validator) {
        return match v {
            Validator::Email => Conv::EmailWritten,
            Validator::Phone => Conv::Phone,
            Validator::Date => Conv::Date,
            other => Conv::Checked(other),
        };
    }
    declared
}

/// The value to store for a field's text; an empty field is NULL.
pub fn convert(conv: Conv, raw: &str, tz: Option<&Tz>, country: Option<&str>) -> Result<Value, String> {
    let v = raw.trim();
    if v.is_empty() {
        return Ok(Value::Null);
    }
    let text = |s: String| Ok(Value::Text(s));
    match conv {
        Conv::Text => {
            if raw.contains('\0') {
                return Err("holds a NUL character".into());
            }
            text(raw.to_owned())
        }
        // A whole number a source wrote as a decimal (`12.0`, as exports through floating
        // point do) is that number; `12.5` is not one.
        Conv::Integer => match v.split_once('.') {
            Some((whole, zeros)) if !zeros.is_empty() && zeros.bytes().all(|b| b == b'0') => whole.parse::<i64>(),
            _ => v.parse::<i64>(),
        }
        .map(Value::Integer)
        .map_err(|_| "is not a whole number".into()),
        Conv::Real => {
            v.parse::<f64>().ok().filter(|f| f.is_finite()).map(Value::Real).ok_or_else(|| "is not a number".into())
        }
        Conv::EmailWritten => subject::normalize_email(v).map(|_| Value::Text(v.to_owned())).map_err(reason),
        Conv::EmailCompared(rule) => {
            subject::normalize_email(v).map(|e| Value::Text(rule.compared(&e).into_owned())).map_err(reason)
        }
        Conv::Phone => subject::normalize_phone(v).map(Value::Text).map_err(reason),
        Conv::CustomerNumber => match subject::Identifier::customer(v) {
            Ok(subject::Identifier::Customer(c)) => text(c),
            _ => Err("is not a customer number".into()),
        },
        Conv::Time => time(v, tz).map(|t| Value::Text(crate::clock::stamp(t))),
        Conv::Date => date(v).map(|d| Value::Text(d.format("%Y-%m-%d").to_string())),
        Conv::Moment => match date(v) {
            Ok(d) => Ok(Value::Text(d.format("%Y-%m-%d").to_string())),
            Err(_) => time(v, tz).map(|t| Value::Text(crate::clock::stamp(t))).map_err(|why| {
                if why.starts_with("is not a time") {
                    "is not a date such as 2026-03-01 nor a time such as 2026-03-01T10:30:00Z or 2026-03-01 10:30"
                        .into()
                } else {
                    why
                }
            }),
        },
        Conv::Checked(rule) => {
            crate::rights::rectify::validate::validate(rule, "", v, country).map(Value::Text).map_err(reason)
        }
    }
}

/// The reason of a validation error, without the flag it names for rectify.
fn reason(e: Error) -> String {
    match e {
        Error::Invalid { why, .. } => why.trim_start_matches(": ").to_owned(),
        other => other.to_string(),
    }
}

/// A moment: with an offset (`2026-03-01T10:30:00+01:00`, `...Z`) as it says; without one, in
/// the source's time zone, which must then be given. The moment must fall in the years
/// 0001-9999 in UTC, the ones dsr's stored form (`2026-03-01T09:30:00Z`) can hold and compare.
pub fn time(v: &str, tz: Option<&Tz>) -> Result<DateTime<Utc>, String> {
    let t = moment(v, tz)?;
    // chrono keeps a leap second (`...:60`) as a second past 999 ms, which dsr's stored form
    // would write as `:60`: a time SQLite's date functions do not read.
    if t.nanosecond() >= 1_000_000_000 {
        return Err("is a leap second (:60); give the time as :59".into());
    }
    if !(1..=9999).contains(&t.year()) {
        return Err("is a time outside the years 0001-9999 in UTC".into());
    }
    Ok(t)
}

fn moment(v: &str, tz: Option<&Tz>) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Ok(t.with_timezone(&Utc));
    }
    let naive = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(v, f).ok())
        .ok_or("is not a time such as 2026-03-01T10:30:00Z or 2026-03-01 10:30")?;
    let Some(tz) = tz else {
        return Err(
            "is a time without an offset: give the source's zone with --source-tz (e.g. Europe/Amsterdam)".into()
        );
    };
    let out_of_range = || "is a time outside the years 0001-9999 in UTC".to_owned();
    let civil = jiff::civil::DateTime::new(
        i16::try_from(naive.year()).map_err(|_| out_of_range())?,
        naive.month() as i8,
        naive.day() as i8,
        naive.hour() as i8,
        naive.minute() as i8,
        naive.second() as i8,
        naive.nanosecond().min(999_999_999) as i32,
    )
    .map_err(|_| out_of_range())?;
    let offset = match tz.to_ambiguous_timestamp(civil).offset() {
        AmbiguousOffset::Unambiguous { offset } => offset,
        // The hour the clocks go back: the earlier of the two moments, at the offset before.
        AmbiguousOffset::Fold { before, .. } => before,
        AmbiguousOffset::Gap { .. } => {
            let zone = tz.iana_name().unwrap_or("the source's zone");
            return Err(format!("is a time that does not exist in {zone} (the hour the clocks go forward)"));
        }
    };
    let utc = naive.checked_sub_signed(chrono::Duration::seconds(offset.seconds().into())).ok_or_else(out_of_range)?;
    Ok(utc.and_utc())
}

/// A date: ISO (`2026-03-01`) or Dutch (`01-03-2026`).
pub fn date(v: &str) -> Result<NaiveDate, String> {
    let d = NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(v, "%d-%m-%Y"))
        .map_err(|_| "is not a date such as 2026-03-01".to_owned())?;
    // A year of four digits, no sign: stored as YYYY-MM-DD, which compares as text.
    if !(1000..=9999).contains(&chrono::Datelike::year(&d)) || v.contains('+') || v.starts_with('-') {
        return Err("is not a date such as 2026-03-01 (a year of four digits)".into());
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_has_a_year_of_four_digits() {
        assert_eq!(date("2024-02-29").unwrap().to_string(), "2024-02-29");
        assert_eq!(date("01-03-2026").unwrap().to_string(), "2026-03-01");
        for bad in ["+12024-02-01", "-0001-01-01", "12024-02-01", "0999-01-01", "01-01-+2026", "2023-02-29"] {
            assert!(date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn times_keep_their_offset_or_take_the_source_zone() {
        let ams = &Tz::get("Europe/Amsterdam").unwrap();
        let utc = |v, tz| time(v, tz).map(crate::clock::stamp);
        assert_eq!(utc("2026-03-01T10:30:00+01:00", None).unwrap(), "2026-03-01T09:30:00Z");
        assert_eq!(utc("2026-07-01 10:30", Some(ams)).unwrap(), "2026-07-01T08:30:00Z");
        assert!(utc("2026-07-01 10:30", None).unwrap_err().contains("--source-tz"));
        assert!(utc("2026-03-29 02:30", Some(ams)).unwrap_err().contains("does not exist"));
        assert_eq!(utc("2026-10-25 02:30", Some(ams)).unwrap(), "2026-10-25T00:30:00Z");
        assert!(utc("yesterday", Some(ams)).is_err());
        // Any zone of the tz database, not only the one dsr writes letters in.
        let ny = &Tz::get("America/New_York").unwrap();
        assert_eq!(utc("2026-07-01 10:30", Some(ny)).unwrap(), "2026-07-01T14:30:00Z");
        assert!(utc("2026-03-08 02:30", Some(ny)).unwrap_err().contains("does not exist in America/New_York"));
        assert_eq!(utc("2026-11-01 01:30", Some(ny)).unwrap(), "2026-11-01T05:30:00Z");
        // Years the stored form cannot hold (`+10000-01-01T00:30:00Z` compared wrong).
        assert!(utc("9999-12-31T23:30:00-01:00", None).unwrap_err().contains("0001-9999"));
        assert!(utc("9999-12-31 23:30", Some(ny)).unwrap_err().contains("0001-9999"));
        let utc_zone = Tz::UTC;
        assert_eq!(utc("9999-12-31 22:59", Some(&utc_zone)).unwrap(), "9999-12-31T22:59:00Z");
        assert!(utc("2026-06-30T23:59:60Z", None).unwrap_err().contains("leap second"));
        assert!(utc("2026-06-30 23:59:60", Some(&utc_zone)).unwrap_err().contains("leap second"));
    }

    #[test]
    fn fields_are_checked_and_normalised_by_what_they_hold() {
        assert_eq!(
            convert(Conv::EmailCompared(LocalPart::AnyCase), " Ann@Example.NL ", None, None).unwrap(),
            Value::Text("ann@example.nl".into())
        );
        assert_eq!(
            convert(Conv::EmailCompared(LocalPart::Exact), " Ann@Example.NL ", None, None).unwrap(),
            Value::Text("Ann@example.nl".into())
        );
        assert_eq!(convert(Conv::Phone, "06-12345678", None, None).unwrap(), Value::Text("+31612345678".into()));
        assert_eq!(convert(Conv::Integer, "", None, None).unwrap(), Value::Null);
        assert!(convert(Conv::Integer, "12a", None, None).is_err());
        assert_eq!(convert(Conv::Integer, "12.0", None, None).unwrap(), Value::Integer(12));
        assert_eq!(convert(Conv::Integer, "-3.00", None, None).unwrap(), Value::Integer(-3));
        for v in ["12.5", "12.", ".0", "1e3"] {
            assert!(convert(Conv::Integer, v, None, None).is_err(), "{v}");
        }
        assert!(convert(Conv::EmailWritten, "no-at-sign", None, None).is_err());
        assert_eq!(convert(Conv::Date, "01-03-2026", None, None).unwrap(), Value::Text("2026-03-01".into()));
        assert_eq!(
            convert(Conv::Checked(Validator::Iban), "NL91 ABNA 0417 1643 00", None, None).unwrap(),
            Value::Text("NL91ABNA0417164300".into())
        );
        assert!(convert(Conv::Checked(Validator::Country), "XX", None, None).is_err());
        let ams = Some(&Tz::get("Europe/Amsterdam").unwrap()).cloned();
        let ams = ams.as_ref();
        assert_eq!(convert(Conv::Moment, "2026-02-01", None, None).unwrap(), Value::Text("2026-02-01".into()));
        assert_eq!(
            convert(Conv::Moment, "2026-02-01 09:00", ams, None).unwrap(),
            Value::Text("2026-02-01T08:00:00Z".into())
        );
        assert!(convert(Conv::Moment, "2026-02-01 09:00", None, None).unwrap_err().contains("--source-tz"));
        assert!(convert(Conv::Moment, "garbage", ams, None).unwrap_err().contains("nor a time"));
    }
}

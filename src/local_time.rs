//! Times and dates as a person reads them in a letter: in Europe/Amsterdam, with the zone named
//! ("2 december 2026 09:30 (Nederlandse tijd, CET)" / "2 December 2026 09:30 (Amsterdam time,
//! CET)"), months written out so no one mistakes 02-12 for 12 February. The store keeps UTC.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Europe::Amsterdam;

const MONTHS_NL: [&str; 12] = [
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
];
const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// A calendar date as (Dutch, English): "2 december 2026", "2 December 2026".
pub fn day(d: NaiveDate) -> (String, String) {
    let m = d.month0() as usize;
    (format!("{} {} {}", d.day(), MONTHS_NL[m], d.year()), format!("{} {} {}", d.day(), MONTHS_EN[m], d.year()))
}

/// A stored date (`YYYY-MM-DD`) as [`day`]; anything else as it is.
pub fn day_str(text: &str) -> (String, String) {
    match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        Ok(d) => day(d),
        Err(_) => (text.to_owned(), text.to_owned()),
    }
}

/// A moment as (Dutch, English) Amsterdam time with the zone named (CET or CEST).
pub fn moment(t: DateTime<Utc>) -> (String, String) {
    let local = t.with_timezone(&Amsterdam);
    let (nl, en) = day(local.date_naive());
    let clock = local.format("%H:%M");
    let zone = local.format("%Z");
    (format!("{nl} {clock} (Nederlandse tijd, {zone})"), format!("{en} {clock} (Amsterdam time, {zone})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn winter_and_summer_time_are_named() {
        let winter = DateTime::parse_from_rfc3339("2026-12-02T08:30:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(
            moment(winter),
            (
                "2 december 2026 09:30 (Nederlandse tijd, CET)".to_owned(),
                "2 December 2026 09:30 (Amsterdam time, CET)".to_owned()
            )
        );
        let summer = DateTime::parse_from_rfc3339("2026-07-01T22:30:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(moment(summer).1, "2 July 2026 00:30 (Amsterdam time, CEST)");
        assert_eq!(day_str("2027-01-01").0, "1 januari 2027");
        assert_eq!(day_str("later").1, "later");
    }
}

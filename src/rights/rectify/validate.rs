//! The validators a rectifiable field names in the data map (Art. 16: a correction is checked
//! before it is stored): email, E.164 phone, IBAN, postal code per country, ISO country, VAT,
//! KvK, house number, date, free text. Each normalises what it accepts.

use crate::error::Error;
use crate::map::table::Validator;
use crate::subject;

/// Validate and normalise a value by its field's validator.
pub fn validate(rule: Validator, field: &str, value: &str, country: Option<&str>) -> Result<String, Error> {
    let bad = |why: &str| Error::invalid("--set", format!("{field}: {why}"));
    if value.is_empty() {
        return Err(bad("a value is required"));
    }
    if value.chars().any(crate::output::sanitize::acts_on_text) || value.chars().count() > 200 {
        return Err(bad("at most 200 characters, without control, bidirectional or invisible formatting characters"));
    }
    match rule {
        Validator::Email => {
            subject::normalize_email(value).map_err(|_| bad("not a valid email address"))?;
            Ok(value.to_owned())
        }
        // The corrected number as the person gives it, in E.164 (issue 5): a national number
        // names no country. (`--phone` and an import take a Dutch one as +31.)
        Validator::Phone => {
            if !value.trim_start().starts_with('+') {
                return Err(bad("give it in E.164 form, with its country code, such as +31612345678 for 06-12345678"));
            }
            subject::normalize_phone(value).map_err(|_| bad("not a valid E.164 number such as +31612345678"))
        }
        Validator::PostalCode => postal_code(value, country.unwrap_or("NL")).ok_or_else(|| match country {
            Some(c) => bad(&format!("not a valid postal code for {c} (NL: 1234 AB; BE: 1234; DE: 12345)")),
            None => bad("not a valid postal code for NL, the country taken when none is given with it (NL: 1234 AB; BE: 1234; DE: 12345); for another, add --set country=CODE"),
        }),
        Validator::Country => {
            country_code(value).ok_or_else(|| bad("expected an assigned two-letter ISO 3166 code such as NL"))
        }
        Validator::Iban => {
            use iban::IbanLike;
            // Written in lower case it is the same account (ISO 13616 prints capitals).
            let iban: iban::Iban = value
                .to_ascii_uppercase()
                .parse()
                .map_err(|_| bad("not a valid IBAN (country, check digits and checksum)"))?;
            Ok(iban.electronic_str().to_owned())
        }
        Validator::Kvk => {
            let v: String = value.chars().filter(|c| !c.is_whitespace()).collect();
            (v.len() == 8 && v.chars().all(|c| c.is_ascii_digit()))
                .then_some(v)
                .ok_or_else(|| bad("a KvK number has 8 digits"))
        }
        Validator::Vat => vat(value).ok_or_else(|| {
            let greek = value.trim_start().get(..2).is_some_and(|p| p.eq_ignore_ascii_case("GR"));
            match greek {
                true => bad("a Greek VAT number begins EL, not GR (EL + 9 digits, as VIES writes it)"),
                false => bad(
                    "not a valid VAT number for its country (NL: NL + 9 digits + B + 2 digits; DE: DE + 9 digits; Greece: EL)",
                ),
            }
        }),
        // A number, then an addition in plain letters and digits (12, 12-A, 12 bis, 12/3).
        Validator::HouseNumber => (value.chars().next().is_some_and(|c| c.is_ascii_digit())
            && value.len() <= 12
            && value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | '/')))
        .then(|| value.to_owned())
        .ok_or_else(|| bad("starts with a digit, then plain letters, digits, spaces, - or /, e.g. 12 or 12-A")),
        // As an import reads it: ISO, or Dutch (23-04-1980).
        Validator::Date => crate::import::values::date(value)
            .map(|d| d.format("%Y-%m-%d").to_string())
            .map_err(|_| bad("expected a date such as 1980-04-23 or 23-04-1980")),
        Validator::Text => Ok(value.to_owned()),
    }
}

/// Postal code per country, normalised (NL: '1234 AB').
pub fn postal_code(value: &str, country: &str) -> Option<String> {
    let compact: String = value.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
    match country {
        "NL" => {
            let (digits, letters) = compact.split_at_checked(4)?;
            let ok = digits.chars().all(|c| c.is_ascii_digit())
                && !digits.starts_with('0')
                && letters.len() == 2
                && letters.chars().all(|c| c.is_ascii_uppercase())
                && !["SA", "SD", "SS"].contains(&letters);
            ok.then(|| format!("{digits} {letters}"))
        }
        // The ranges in use: Belgium, Luxembourg, Austria and Switzerland from 1000, Denmark
        // from 0800; Germany and France from 01000, Spain 01-52 (its provinces), Italy and
        // Finland from 00010.
        "BE" | "LU" | "AT" | "DK" | "CH" => {
            let lowest = if country == "DK" { "0800" } else { "1000" };
            (compact.len() == 4 && compact.chars().all(|c| c.is_ascii_digit()) && compact.as_str() >= lowest)
                .then_some(compact)
        }
        "DE" | "FR" | "ES" | "IT" | "FI" => {
            let province = compact.get(..2).and_then(|p| p.parse::<u8>().ok());
            let in_use = match country {
                "DE" | "FR" => province.is_some_and(|p| p >= 1),
                "ES" => province.is_some_and(|p| (1..=52).contains(&p)),
                _ => compact.as_str() >= "00010",
            };
            (compact.len() == 5 && compact.chars().all(|c| c.is_ascii_digit()) && in_use).then_some(compact)
        }
        _ => (!compact.is_empty()
            && compact.len() <= 10
            && compact.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .then(|| value.trim().to_owned()),
    }
}

/// VAT identification numbers of the EU member states (and Northern Ireland) by their VIES formats:
/// prefix, then the shape of the rest (`9` a digit, `A` a letter, `X` a letter or digit; a
/// shape is one alternative of several). Other countries: two letters and 2-12 letters or digits.
const VAT_FORMATS: &[(&str, &[&str])] = &[
    ("AT", &["U99999999"]),
    ("BE", &["9999999999"]),
    ("BG", &["999999999", "9999999999"]),
    ("CY", &["99999999A"]),
    ("CZ", &["99999999", "999999999", "9999999999"]),
    ("DE", &["999999999"]),
    ("DK", &["99999999"]),
    ("EE", &["999999999"]),
    ("EL", &["999999999"]),
    ("ES", &["X9999999X"]),
    ("FI", &["99999999"]),
    ("FR", &["XX999999999"]),
    ("HR", &["99999999999"]),
    ("HU", &["99999999"]),
    ("IE", &["9X99999A", "9999999A", "9999999AA"]),
    ("IT", &["99999999999"]),
    ("LT", &["999999999", "999999999999"]),
    ("LU", &["99999999"]),
    ("LV", &["99999999999"]),
    ("MT", &["99999999"]),
    ("NL", &["999999999B99"]),
    ("PL", &["9999999999"]),
    ("PT", &["999999999"]),
    ("RO", &["99", "999", "9999", "99999", "999999", "9999999", "99999999", "999999999", "9999999999"]),
    ("SE", &["999999999901"]),
    ("SI", &["99999999"]),
    ("SK", &["9999999999"]),
    ("XI", &["999999999", "999999999999", "GD999", "HA999"]),
];

fn shape_matches(shape: &str, value: &str) -> bool {
    shape.len() == value.len()
        && shape.chars().zip(value.chars()).all(|(s, c)| match s {
            '9' => c.is_ascii_digit(),
            'A' => c.is_ascii_uppercase(),
            'X' => c.is_ascii_uppercase() || c.is_ascii_digit(),
            literal => literal == c,
        })
}

/// A VAT number, normalised (upper case, no spaces or dots), checked against its country's format.
pub fn vat(value: &str) -> Option<String> {
    let v: String = value.chars().filter(|c| !c.is_whitespace() && *c != '.').collect::<String>().to_ascii_uppercase();
    let (prefix, rest) = v.split_at_checked(2)?;
    // Greece's VAT numbers begin EL in VIES, not with its ISO code.
    if prefix == "GR" {
        return None;
    }
    if let Some((_, shapes)) = VAT_FORMATS.iter().find(|(p, _)| *p == prefix) {
        return shapes.iter().any(|s| shape_matches(s, rest)).then_some(v);
    }
    let ok = (2..=12).contains(&rest.len())
        && prefix.chars().all(|c| c.is_ascii_uppercase())
        && rest.chars().all(|c| c.is_ascii_alphanumeric());
    ok.then_some(v)
}

/// The officially assigned ISO 3166-1 alpha-2 country codes.
const ISO_3166: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ \
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI \
GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI \
LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF \
PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL \
TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

pub fn country_code(value: &str) -> Option<String> {
    let c = value.trim().to_ascii_uppercase();
    (c.len() == 2 && ISO_3166.split_ascii_whitespace().any(|k| k == c)).then_some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The validator the built-in map gives a field (a date for the made-up `birth_date`).
    fn by_name(field: &str) -> Validator {
        let map = crate::store::personal::DataMap { tables: crate::store::personal::builtin() };
        map.rectifiable_field(field).map(|(_, f)| f.validator.unwrap_or(Validator::Text)).unwrap_or(Validator::Date)
    }

    #[test]
    fn a_greek_vat_number_with_its_iso_code_is_told_to_begin_el() {
        let e = validate(Validator::Vat, "vat", "GR123456789", None).unwrap_err().to_string();
        assert!(e.contains("begins EL, not GR"), "{e}");
        assert_eq!(validate(Validator::Vat, "vat", "EL123456789", None).unwrap(), "EL123456789");
    }

    #[test]
    fn every_rule_accepts_good_values_and_refuses_bad_ones() {
        for (field, good, normal) in [
            ("email", "Jan.Nieuw@Example.NL", "Jan.Nieuw@Example.NL"),
            ("phone", "+31 6 1234 5678", "+31612345678"),
            ("postal_code", "1012ab", "1012 AB"),
            ("iban", "NL91 ABNA 0417 1643 00", "NL91ABNA0417164300"),
            ("iban", "nl91 abna 0417 1643 00", "NL91ABNA0417164300"),
            ("kvk", "7618 1553", "76181553"),
            ("vat", "nl123456789b01", "NL123456789B01"),
            ("country", "be", "BE"),
            ("vat", "DE 123 456 789", "DE123456789"),
            ("vat", "ATU12345678", "ATU12345678"),
            ("vat", "FR1A123456789", "FR1A123456789"),
            ("house_number", "12-A", "12-A"),
            ("birth_date", "1980-04-23", "1980-04-23"),
            ("birth_date", "23-04-1980", "1980-04-23"),
        ] {
            assert_eq!(validate(by_name(field), field, good, None).unwrap(), normal, "{field}");
        }
        for (field, bad) in [
            ("email", "jan@"),
            ("phone", "0612345678"),
            ("phone", "+31 6 abc"),
            ("postal_code", "0123 AB"),
            ("postal_code", "1234 SS"),
            ("postal_code", "12345"),
            ("iban", "NL91ABNA0417164301"),
            ("kvk", "1234567"),
            ("vat", "NL123456789X01"),
            ("country", "NLD"),
            ("country", "XX"),
            ("vat", "DE123"),
            ("vat", "ATU1234567"),
            ("given_name", ""),
            ("city", "Utrecht\u{1b}[2J"),
            ("birth_date", "1980-02-30"),
            ("birth_date", "31-02-1980"),
        ] {
            assert!(validate(by_name(field), field, bad, None).is_err(), "{field}={bad} accepted");
        }
        assert_eq!(postal_code("1000", "BE").as_deref(), Some("1000"));
        assert_eq!(postal_code("10115", "DE").as_deref(), Some("10115"));
        assert!(postal_code("1000 AB", "BE").is_none());
        for (code, country) in [("0999", "BE"), ("00115", "DE"), ("00100", "FR"), ("53001", "ES"), ("00009", "IT")] {
            assert!(postal_code(code, country).is_none(), "{country} {code}");
        }
        for (code, country) in [("0900", "DK"), ("01067", "DE"), ("00100", "IT"), ("00100", "FI"), ("28013", "ES")] {
            assert!(postal_code(code, country).is_some(), "{country} {code}");
        }
        assert!(vat("GR123456789").is_none() && vat("EL123456789").is_some());
        for bad in ["1\u{662}", "12\u{ad}A", "12;A"] {
            assert!(validate(Validator::HouseNumber, "house_number", bad, None).is_err(), "{bad:?}");
        }
        assert!(validate(Validator::HouseNumber, "house_number", "12 bis", None).is_ok());
        for bad in ["Ru\u{ad}ben", "Ru\u{180e}ben", "Ru\u{2062}ben"] {
            assert!(validate(Validator::Text, "given_name", bad, None).is_err(), "{bad:?}");
        }
        assert!(
            validate(Validator::Text, "given_name", "Mohammad\u{200c}reza", None).is_ok(),
            "ZWNJ in a Persian name"
        );
    }
}

//! `dsr import TABLE FILE` (design §10): rows a source system exported loaded into a table of the
//! web shop's data map, matched on the source's key; bad rows reported by line; the suppression
//! list and rectified values respected; a killed run completed by running it again.

use serde_json::Value;

use crate::support::{assert_one_line_error, stderr, stdout, Env};

const SANNE: &str = "sanne.dejong@example.nl";
const ADDRESS_COLUMNS: &str =
    "id,customer_id,recipient_name,street,house_number,postal_code,city,country,is_default,created_at";

/// The table's rows as CSV, the header first, in key order.
fn dump(env: &Env, table: &str, columns: &str) -> String {
    let conn = env.sql();
    let mut stmt = conn.prepare(&format!("SELECT {columns} FROM {table} ORDER BY 1")).unwrap();
    let n = stmt.column_count();
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(columns.split(',')).unwrap();
    let mut rows = stmt.query([]).unwrap();
    while let Some(r) = rows.next().unwrap() {
        let fields: Vec<String> = (0..n)
            .map(|i| match r.get::<_, rusqlite::types::Value>(i).unwrap() {
                rusqlite::types::Value::Null => String::new(),
                rusqlite::types::Value::Integer(v) => v.to_string(),
                rusqlite::types::Value::Text(t) => t,
                other => panic!("{other:?}"),
            })
            .collect();
        out.write_record(&fields).unwrap();
    }
    String::from_utf8(out.into_inner().unwrap()).unwrap()
}

fn import(env: &Env, args: &[&str]) -> (Value, i32) {
    let mut all = vec!["import"];
    all.extend_from_slice(args);
    env.json(&all)
}

fn write(env: &Env, name: &str, text: &str) -> String {
    std::fs::write(env.path(name), text).unwrap();
    name.to_owned()
}

/// The problems of a summary: (line, kind, reason).
fn problems(v: &Value) -> Vec<(u64, String, String)> {
    v["import"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (p["line"].as_u64().unwrap(), p["kind"].as_str().unwrap().into(), p["reason"].as_str().unwrap().into())
        })
        .collect()
}

#[test]
fn a_first_load_then_the_same_file_again_changes_nothing_and_each_run_is_audited() {
    let env = Env::with_fixture("webshop");
    let before = dump(&env, "delivery_address", ADDRESS_COLUMNS);
    let rows = before.lines().count() as u64 - 1;
    let file = write(&env, "addresses.csv", &before);
    env.sql().execute("DELETE FROM delivery_address", []).unwrap();
    let (v, code) = import(&env, &["delivery_address", &file]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["import"]["added"], rows, "{v}");
    assert_eq!(dump(&env, "delivery_address", ADDRESS_COLUMNS), before, "loaded as it was");
    let (v, code) = import(&env, &["delivery_address", &file]);
    assert_eq!(code, 0, "{v}");
    assert_eq!((v["import"]["added"].as_u64(), v["import"]["changed"].as_u64()), (Some(0), Some(0)), "{v}");
    assert_eq!(v["import"]["unchanged"], rows);
    assert_eq!(dump(&env, "delivery_address", ADDRESS_COLUMNS), before);
    assert_eq!(env.count("SELECT count(*) FROM audit_log WHERE action = 'imported'"), 2, "one entry per run");
    let details: String = env
        .sql()
        .query_row("SELECT details FROM audit_log WHERE action = 'imported' ORDER BY id DESC LIMIT 1", [], |r| r.get(0))
        .unwrap();
    assert!(details.contains(v["import"]["file_sha256"].as_str().unwrap()), "{details}");
    env.dsr().args(["audit", "verify"]).assert().success();
    // A cron run with -q prints nothing when every row loads; without it the summary is a
    // status line on stderr.
    let out = env.run(&["-q", "import", "delivery_address", &file]);
    assert!(out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(), "{}", stderr(&out));
    let out = env.run(&["import", "delivery_address", &file]);
    assert!(stdout(&out).is_empty() && stderr(&out).starts_with("Imported addresses.csv"), "{}", stderr(&out));
}

#[test]
fn a_changed_source_row_is_updated_and_delete_missing_removes_rows_the_source_no_longer_has() {
    let env = Env::with_fixture("webshop");
    let text = dump(&env, "delivery_address", ADDRESS_COLUMNS);
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[1] = lines[1].replace(",Tilburg,", ",Breda,");
    let gone = lines.remove(2);
    let gone_id: i64 = gone.split(',').next().unwrap().parse().unwrap();
    let file = write(&env, "addresses.csv", &(lines.join("\n") + "\n"));
    let (v, code) = import(&env, &["delivery_address", &file]);
    assert_eq!(code, 0, "{v}");
    assert_eq!((v["import"]["changed"].as_u64(), v["import"]["removed"].as_u64()), (Some(1), Some(0)), "{v}");
    assert_eq!(env.count("SELECT count(*) FROM delivery_address WHERE id = 11 AND city = 'Breda'"), 1);
    let (v, code) = import(&env, &["delivery_address", &file, "--delete-missing"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!((v["import"]["changed"].as_u64(), v["import"]["removed"].as_u64()), (Some(0), Some(1)), "{v}");
    assert_eq!(env.count(&format!("SELECT count(*) FROM delivery_address WHERE id = {gone_id}")), 0);
}

#[test]
fn a_file_without_rows_does_not_empty_the_table_unless_allowed() {
    let env = Env::with_fixture("webshop");
    let before = dump(&env, "delivery_address", ADDRESS_COLUMNS);
    let header = before.lines().next().unwrap().to_owned() + "\n";
    // A source whose export failed after its header (a file without even a header, or JSON
    // Lines without a line, is refused as empty anyway).
    let file = write(&env, "header.csv", &header);
    let out = env.run(&["import", "delivery_address", &file, "--delete-missing"]);
    assert_one_line_error(&out);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        ["has no rows", "--allow-empty", "header.csv"].iter().all(|w| stderr(&out).contains(w)),
        "{}",
        stderr(&out)
    );
    assert_eq!(dump(&env, "delivery_address", ADDRESS_COLUMNS), before, "nothing removed");
    assert_eq!(env.count("SELECT count(*) FROM audit_log WHERE action = 'imported'"), 0);
    // Without --delete-missing an empty file is a run that loads nothing.
    let (v, code) = import(&env, &["delivery_address", "header.csv"]);
    assert_eq!((code, v["import"]["rows"].as_u64()), (0, Some(0)), "{v}");
    let out = env.run(&["import", "delivery_address", "header.csv", "--allow-empty"]);
    assert_eq!(out.status.code(), Some(2), "--allow-empty needs --delete-missing");
    let (v, code) = import(&env, &["delivery_address", "header.csv", "--delete-missing", "--allow-empty"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["import"]["removed"].as_u64(), Some(before.lines().count() as u64 - 1), "{v}");
    assert_eq!(env.count("SELECT count(*) FROM delivery_address"), 0);
}

#[test]
fn bad_rows_are_reported_with_their_line_and_reason_and_the_rest_load() {
    let env = Env::with_fixture("webshop");
    let good = "501,101,Sanne de Jong,Ringbaan-West,214,5037 PD,Tilburg,NL,0,2026-01-05T10:00:00Z";
    // (row, what its reason says)
    let bad: &[(&str, &str)] = &[
        ("502,101,Sanne de Jong,Ringbaan-West,214,5037 PD,Tilburg,NL,0", "has 9 fields, the header 10"),
        ("503,101,Sanne de Jong,Ringbaan-West,214,5037 PD,Tilburg,NL,0,2026-01-05T10:00:00Z,x", "has 11 fields"),
        (
            "x504,101,Sanne de Jong,Ringbaan-West,214,5037 PD,Tilburg,NL,0,2026-01-05T10:00:00Z",
            "id: is not a whole number",
        ),
        (",101,Sanne de Jong,Ringbaan-West,214,5037 PD,Tilburg,NL,0,2026-01-05T10:00:00Z", "id: empty"),
        ("501,101,Sanne de Jong,Ringbaan-West,214,5037 PD,Tilburg,NL,0,2026-01-05T10:00:00Z", "the same key as line 2"),
        (
            "506,99999,Sanne de Jong,Ringbaan-West,214,5037 PD,Tilburg,NL,0,2026-01-05T10:00:00Z",
            "customer_id: names no row of customer (FOREIGN KEY)",
        ),
        (
            "507,101,Sanne de Jong,Ringbaan-West,214,50370 PD,Tilburg,NL,0,2026-01-05T10:00:00Z",
            "postal_code: not a valid postal code",
        ),
        (
            "508,101,Sanne de Jong,Ringbaan-West,214,5037 PD,Tilburg,XX,0,2026-01-05T10:00:00Z",
            "country: expected an assigned two-letter",
        ),
        (
            "509,101,Sanne de Jong,Ringbaan-West,A14,5037 PD,Tilburg,NL,0,2026-01-05T10:00:00Z",
            "house_number: starts with a digit",
        ),
        (
            "510,101,,Ringbaan-West,214,5037 PD,Tilburg,NL,0,2026-01-05T10:00:00Z",
            "recipient_name: no value, and the table needs one (NOT NULL)",
        ),
        (
            "511,101,Sanne de Jong,Ringbaan-West,214,5037 PD,Tilburg,NL,0,2026-01-05 10:00",
            "created_at: is a time without an offset",
        ),
        ("512,101,Sanne de Jong,Ringbaan-West,214,5037 PD,Tilburg,NL,0,gisteren", "created_at: is not a time"),
        (
            "513,101,Sanne de Jong,Ringbaan-West,214,5037 PD,Tilburg,NL,1.5,2026-01-05T10:00:00Z",
            "is_default: is not a whole number",
        ),
        (
            "514,101,Sanne de Jong,Ringbaan-West,214,5037 PD,Tilburg,NL,0,2026-13-05T10:00:00Z",
            "created_at: is not a time",
        ),
        (
            "515,1e3,Sanne de Jong,Ringbaan-West,214,5037 PD,Tilburg,NL,0,2026-01-05T10:00:00Z",
            "customer_id: is not a whole number",
        ),
        (
            "516,101,Sanne de Jong,Ringbaan-West,214,,Tilburg,NL,0,2026-01-05T10:00:00Z",
            "postal_code: no value, and the table needs one (NOT NULL)",
        ),
        (
            "517,101,\"Sanne \u{7}de Jong\",Ringbaan-West,214,5037 PD,Tilburg,NL,0,2026-01-05T10:00:00Z",
            "recipient_name: at most 200 characters, without control",
        ),
        (
            "518,101,Sanne de Jong,Ringbaan-West,214,5037 PD,Tilburg,BE,0,2026-01-05T10:00:00Z",
            "postal_code: not a valid postal code",
        ),
        (
            "519,101,Sanne de Jong,Ringbaan-West,214,5037 PD,Tilburg,NL,0,2026-03-29T02:30:00",
            "created_at: is a time without an offset",
        ),
    ];
    let mut text = format!("{ADDRESS_COLUMNS}\n{good}\n");
    for (row, _) in bad {
        text.push_str(row);
        text.push('\n');
    }
    let mut bytes = text.into_bytes();
    // A field that is not UTF-8.
    bytes.extend_from_slice(b"520,101,Sanne de Jong,Ringbaan-West,214,5037 PD,Tilb\xffrg,NL,0,2026-01-05T10:00:00Z\n");
    std::fs::write(env.path("bad.csv"), &bytes).unwrap();
    let (v, code) = import(&env, &["delivery_address", "bad.csv"]);
    assert_eq!(code, 19, "{v}");
    assert_eq!(v["import"]["added"], 1, "the good row loads: {v}");
    let found = problems(&v);
    assert_eq!(found.len(), bad.len() + 1, "{found:#?}");
    for (i, (_, why)) in bad.iter().enumerate() {
        let (line, kind, reason) = &found[i];
        assert_eq!((*line, kind.as_str()), (i as u64 + 3, "refused"), "{found:#?}");
        assert!(reason.contains(why), "line {line}: {reason:?} should say {why:?}");
    }
    assert!(found[bad.len()].2.contains("city: not UTF-8"), "{found:#?}");
    // In Dutch time, the clocks skipped 02:30 that day.
    let (v, _) = import(&env, &["delivery_address", "bad.csv", "--source-tz", "Europe/Amsterdam"]);
    let p = problems(&v);
    assert!(p.iter().any(|(l, _, r)| *l == 21 && r.contains("does not exist in Europe/Amsterdam")), "{p:#?}");
    assert_eq!(
        env.count("SELECT count(*) FROM delivery_address WHERE id = 511 AND created_at = '2026-01-05T09:00:00Z'"),
        1,
        "read in the source's zone"
    );
    // Strict: nothing of the file loads, the first bad line is named, exit 2.
    env.sql().execute("DELETE FROM delivery_address WHERE id >= 501", []).unwrap();
    let out = env.run(&["import", "delivery_address", "bad.csv", "--strict"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("line 3: the row has 9 fields"), "{}", stderr(&out));
    assert_eq!(env.count("SELECT count(*) FROM delivery_address WHERE id >= 501"), 0);
}

#[test]
fn an_erased_person_in_the_file_is_refused_and_not_stored() {
    let env = Env::with_fixture("webshop");
    let file = write(
        &env,
        "emails.csv",
        &dump(&env, "email_address", "id,person_id,address,is_primary,newsletter_opt_in,created_at"),
    );
    let id = env.verified("erase", &["--email", SANNE]);
    env.dsr().args(["erase", &id, "--yes"]).assert().success();
    let (v, code) = import(&env, &["email_address", &file]);
    assert_eq!(code, 19, "{v}");
    let p = problems(&v);
    assert_eq!(p.len(), 1, "{p:#?}");
    let date: String =
        env.sql().query_row("SELECT substr(max(added_at), 1, 10) FROM suppression", [], |r| r.get(0)).unwrap();
    assert!(p[0].2.contains(&format!("erased on {date}, request {id}")), "{p:#?}");
    // Named by the file's column, not the store's folded copy of it.
    assert!(p[0].2.starts_with("address: this person was erased"), "{p:#?}");
    assert!(!p[0].2.contains(SANNE));
    assert_eq!(env.count(&format!("SELECT count(*) FROM email_address WHERE address_norm = '{SANNE}'")), 0);
    // Not in the store's bytes either (the run's summary names no value).
    env.dsr().args(["audit", "verify"]).assert().success();
    let bytes = std::fs::read(&env.db).unwrap();
    assert!(!bytes.windows(SANNE.len()).any(|w| w == SANNE.as_bytes()));
    // Nor with her address spelled so that mail reaches the same mailbox: an invisible character
    // or a fullwidth letter in the domain is refused as no address at all.
    let spellings =
        ["sanne.dejong@exa\u{200b}mple.nl", "sanne.dejong@exam\u{ad}ple.nl", "sanne.dejong@\u{ff45}xample.nl"];
    let rows: Vec<String> =
        spellings.iter().enumerate().map(|(i, a)| format!("{},2,{a},0,1,2026-03-01T10:00:00Z", 801 + i)).collect();
    let file = write(
        &env,
        "lookalike.csv",
        &format!("id,person_id,address,is_primary,newsletter_opt_in,created_at\n{}\n", rows.join("\n")),
    );
    let (v, code) = import(&env, &["email_address", &file]);
    assert_eq!(code, 19, "{v}");
    assert_eq!(problems(&v).len(), 3, "{v}");
    assert_eq!(env.count("SELECT count(*) FROM email_address WHERE id >= 801"), 0);
}

/// A domain's encoded spelling (`xn--bcher-kva.de` for `bücher.de`) reaches the same mailbox:
/// an erased person's address written so is refused too, and the newsletter check denies it.
#[test]
fn an_erased_address_in_its_encoded_domain_spelling_is_refused() {
    let env = Env::with_fixture("webshop");
    let header = "id,person_id,address,is_primary,newsletter_opt_in,created_at";
    let person: i64 = env.count(&format!("SELECT person_id FROM email_address WHERE address_norm = '{SANNE}'"));
    let file =
        write(&env, "unicode.csv", &format!("{header}\n901,{person},sanne@bücher.de,0,1,2026-01-01T00:00:00Z\n"));
    let (v, code) = import(&env, &["email_address", &file]);
    assert_eq!(code, 0, "{v}");
    // Found by either spelling before the erasure.
    for spelling in ["sanne@bücher.de", "sanne@xn--bcher-kva.de", "sanne@XN--BCHER-KVA.DE"] {
        let (found, code): (Value, i32) = env.json(&["lookup", "--email", spelling]);
        assert_eq!(code, 0, "{spelling}: {found}");
    }
    let id = env.verified("erase", &["--email", SANNE]);
    env.dsr().args(["erase", &id, "--yes"]).assert().success();
    let rows = [
        "902,7,sanne@xn--bcher-kva.de,0,1,2026-01-01T00:00:00Z",
        "903,7,sanne@XN--BCHER-KVA.DE,0,1,2026-01-01T00:00:00Z",
    ];
    let file = write(&env, "encoded.csv", &format!("{header}\n{}\n", rows.join("\n")));
    let (v, code) = import(&env, &["email_address", &file]);
    assert_eq!(code, 19, "{v}");
    let p = problems(&v);
    assert_eq!(p.len(), 2, "{p:#?}");
    assert!(p.iter().all(|(_, _, why)| why.contains(&format!("request {id}"))), "{p:#?}");
    assert_eq!(env.count("SELECT count(*) FROM email_address WHERE id >= 901"), 0);
    let (verdict, _): (Value, i32) =
        env.json(&["check", "--email", "sanne@xn--bcher-kva.de", "--purpose", "newsletter"]);
    assert_eq!(verdict["allowed"], false, "{verdict}");
    // A list checked in bulk (a mailing's addresses) is told the address is suppressed.
    let out = env
        .dsr()
        .args(["check", "--purpose", "newsletter", "--stdin"])
        .write_stdin("sanne@xn--bcher-kva.de\n")
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "", "nothing allowed: {}", stderr(&out));
}

/// A copy of the people table itself carries no identifier: an erased person's row is known by
/// its key (kept on the suppression list as a keyed hash), refused, and found by doctor and
/// `erase --replay` when something else writes it back.
#[test]
fn an_erased_person_s_row_of_the_people_table_is_refused_by_its_key() {
    let env = Env::with_fixture("webshop");
    let columns = "id,given_name,family_name,street,house_number,postal_code,city,country,created_at,source";
    let file = write(&env, "people.csv", &dump(&env, "person", columns));
    let sanne: i64 = env.count(&format!("SELECT person_id FROM email_address WHERE address_norm = '{SANNE}'"));
    let id = env.verified("erase", &["--email", SANNE]);
    env.dsr().args(["erase", &id, "--yes"]).assert().success();
    let (v, code) = import(&env, &["person", &file]);
    assert_eq!(code, 19, "{v}");
    let p = problems(&v);
    assert_eq!(p.len(), 1, "{p:#?}");
    assert!(
        p[0].2.starts_with("id: this person was erased on ") && p[0].2.contains(&format!("request {id}")),
        "{p:#?}"
    );
    assert_eq!(env.count(&format!("SELECT count(*) FROM person WHERE id = {sanne}")), 0);
    assert_eq!(v["import"]["unchanged"], 29, "{v}");
    // Written back behind dsr's back: doctor names it, a replay erases it again.
    env.sql()
        .execute(
            &format!("INSERT INTO person (id, given_name, family_name, created_at, source) VALUES ({sanne}, 'S', 'J', '2025-01-01T00:00:00Z', 'signup')"),
            [],
        )
        .unwrap();
    let out = env.run(&["doctor"]);
    assert_eq!(out.status.code(), Some(24), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("person.id: 1 row: rows of people who were erased are in the data again"),
        "{}",
        stdout(&out)
    );
    env.dsr().args(["erase", "--replay", "--yes"]).assert().success();
    assert_eq!(env.count(&format!("SELECT count(*) FROM person WHERE id = {sanne}")), 0);
}

/// A quote opened and never closed would read the rest of the file into one field: that row
/// does not read, so `--delete-missing` removes nothing; and with CRLF line ends a bad row is
/// named by its own line.
#[test]
fn a_quote_never_closed_removes_nothing_and_crlf_lines_are_counted_right() {
    let env = Env::with_fixture("webshop");
    let before = env.count("SELECT count(*) FROM delivery_address");
    let text = dump(&env, "delivery_address", "id,city");
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let (id, city) = lines[3].split_once(',').map(|(a, b)| (a.to_owned(), b.to_owned())).unwrap();
    lines[3] = format!("{id},\"{city}");
    let file = write(&env, "open.csv", &(lines.join("\n") + "\n"));
    let (v, code) = import(&env, &["delivery_address", &file, "--delete-missing"]);
    assert_eq!(code, 19, "{v}");
    let p = problems(&v);
    assert!(p.iter().any(|(line, _, why)| *line == 4 && why.contains("never closed")), "{p:#?}");
    assert_eq!(v["import"]["removed"], 0, "{v}");
    assert_eq!(env.count("SELECT count(*) FROM delivery_address"), before);
    // CRLF: the row with a tab in its city is line 4, as in an editor.
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[3] = format!("{id},Utr\techt");
    let file = write(&env, "crlf.csv", &(lines.join("\r\n") + "\r\n"));
    let (v, code) = import(&env, &["delivery_address", &file]);
    assert_eq!(code, 19, "{v}");
    let p = problems(&v);
    assert_eq!(p.len(), 1, "{p:#?}");
    assert_eq!(p[0].0, 4, "{p:#?}");
}

/// A file exported without its header row: the first row's values are no column names, and the
/// error says so without repeating them (an address would end up in a cron mail).
#[test]
fn a_file_without_its_header_row_is_refused_without_its_values() {
    let env = Env::with_fixture("webshop");
    let file = write(&env, "customers.csv", "V204117,2,1\nV204118,3,0\n");
    let out = env.run(&["import", "email_address", &file]);
    assert!(
        stderr(&out).contains("the header's field 1 is no column") && !stderr(&out).contains("V204117"),
        "{}",
        stderr(&out)
    );
    let file = write(&env, "subscribers.csv", "jan.jansen@example.nl,2,1\npiet@example.nl,3,0\n");
    let out = env.run(&["import", "email_address", &file]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_one_line_error(&out);
    assert!(stderr(&out).contains("header row missing"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("jan.jansen"), "{}", stderr(&out));
    // A spreadsheet's export with semicolons between the fields: said so.
    let file = write(&env, "semicolons.csv", "id;person_id;address\n1;2;jan.jansen@example.nl\n");
    let out = env.run(&["import", "email_address", &file]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_one_line_error(&out);
    assert!(stderr(&out).contains("separated by semicolons?"), "{}", stderr(&out));
    let file = write(&env, "subscribers.jsonl", "{\"id\": 1, \"jan.jansen@example.nl\": 1}\n{\"id\": 2, \"x\": 1}\n");
    let out = env.run(&["import", "email_address", &file]);
    assert!(!stderr(&out).contains("jan.jansen") && !stdout(&out).contains("jan.jansen"), "{}", stderr(&out));
}

/// A row naming a recipient the register does not have is refused: the person's answer would not
/// name it (Art. 15(1)(c)), and the store would no longer match its register.
#[test]
fn a_row_naming_a_recipient_the_register_lacks_is_refused() {
    let env = Env::with_fixture("webshop");
    let columns = "id,order_id,order_number,carrier,tracking_code,ship_to,shipped_at,delivered_at";
    let text = dump(&env, "shipment", columns);
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let carrier = env.count("SELECT count(*) FROM shipment WHERE carrier = 'ups'");
    assert_eq!(carrier, 0);
    lines[1] = lines[1].replacen(",postnl,", ",ups,", 1).replacen(",dhl,", ",ups,", 1);
    assert!(lines[1].contains(",ups,"), "{}", lines[1]);
    let file = write(&env, "shipments.csv", &(lines.join("\n") + "\n"));
    let (v, code) = import(&env, &["shipment", &file]);
    assert_eq!(code, 19, "{v}");
    let p = problems(&v);
    assert_eq!(p.len(), 1, "{p:#?}");
    assert!(p[0].2.starts_with("carrier: not a recipient of the register"), "{p:#?}");
    assert_eq!(env.count("SELECT count(*) FROM shipment WHERE carrier = 'ups'"), 0);
}

#[test]
fn an_objected_person_keeps_the_newsletter_off() {
    let env = Env::with_fixture("webshop");
    let file = write(
        &env,
        "emails.csv",
        &dump(&env, "email_address", "id,person_id,address,is_primary,newsletter_opt_in,created_at"),
    );
    let id = env.verified("object", &["--email", SANNE, "--purpose", "newsletter"]);
    env.dsr().args(["object", &id, "--yes"]).assert().success();
    assert_eq!(env.count("SELECT newsletter_opt_in FROM email_address WHERE id = 11"), 0);
    // The source still has her opt-in set.
    let (v, code) = import(&env, &["email_address", &file]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["import"]["kept_unsubscribed"], 1, "{v}");
    assert_eq!(env.count("SELECT newsletter_opt_in FROM email_address WHERE id = 11"), 0);
    // The source's next consent record happens to get the key of the withdrawal dsr wrote: it is
    // refused, and the withdrawal stays as dsr wrote it.
    let own = env.count("SELECT id FROM consent WHERE source = 'dsr'");
    let file = write(
        &env,
        "consents.csv",
        &format!("id,person_id,purpose,granted,recorded_at,source\n{own},1,newsletter,1,2026-12-01T10:00:00Z,signup\n"),
    );
    let (v, code) = import(&env, &["consent", &file]);
    assert_eq!(code, 19, "{v}");
    let p = problems(&v);
    assert!(p.len() == 1 && p[0].2.contains("consent record dsr wrote"), "{p:#?}");
    assert_eq!(
        env.count(&format!("SELECT count(*) FROM consent WHERE id = {own} AND granted = 0 AND source = 'dsr'")),
        1
    );
    // The record as dsr wrote it (a dump of the table, loaded again) changes nothing.
    let file = write(&env, "same.csv", &dump(&env, "consent", "id,person_id,purpose,granted,recorded_at,source"));
    let (v, code) = import(&env, &["consent", &file]);
    assert_eq!((code, &v["import"]["changed"]), (0, &0.into()), "{v}");
}

#[test]
fn a_new_address_of_someone_who_objected_is_loaded_with_the_newsletter_off() {
    let env = Env::with_fixture("webshop");
    let id = env.verified("object", &["--email", SANNE, "--purpose", "newsletter"]);
    env.dsr().args(["object", &id, "--yes"]).assert().success();
    let person = env.count("SELECT person_id FROM email_address WHERE id = 11");
    // An address the suppression list has never seen, opted in by the source.
    let file = write(
        &env,
        "new.csv",
        &format!(
            "id,person_id,address,is_primary,newsletter_opt_in,created_at\n981,{person},sanne.nieuw@example.nl,0,1,2026-11-01T10:00:00Z\n"
        ),
    );
    let (v, code) = import(&env, &["email_address", &file]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["import"]["added"], 1, "{v}");
    assert_eq!(v["import"]["kept_unsubscribed"], 1, "{v}");
    assert_eq!(env.count("SELECT newsletter_opt_in FROM email_address WHERE id = 981"), 0);
}

#[test]
fn a_retention_moment_is_checked_and_converted_to_utc() {
    let env = Env::with_fixture("webshop");
    let file = write(
        &env,
        "customers.csv",
        "id,person_id,customer_number,created_at,ended_at,status\n\
         101,1,FO-100001,2024-11-04T23:18:13Z,2026-02-01 09:00,ended\n\
         102,2,FO-100002,2025-08-04T23:18:13Z,garbage,ended\n\
         103,3,FO-100003,2025-08-04T23:18:13Z,2026-02-01,ended\n",
    );
    let (v, code) = import(&env, &["customer", &file, "--source-tz", "Europe/Amsterdam"]);
    assert_eq!(code, 19, "{v}");
    let refused = problems(&v);
    assert_eq!(refused.len(), 1, "{v}");
    assert_eq!(refused[0].0, 3, "{v}");
    assert!(refused[0].2.starts_with("ended_at: is not a date"), "{v}");
    let ended = |id: i64| -> String {
        env.sql().query_row("SELECT ended_at FROM customer WHERE id = ?1", [id], |r| r.get(0)).unwrap()
    };
    assert_eq!(ended(101), "2026-02-01T08:00:00Z", "a local time in the source's zone, stored in UTC");
    assert_eq!(ended(103), "2026-02-01", "a date stays a date");
    let (doctor, _) = env.json::<Value>(&["doctor"]);
    assert!(!doctor.to_string().contains("ended_at"), "{doctor}");
}

#[test]
fn a_row_delete_missing_keeps_is_named_by_its_id_and_why() {
    let env = Env::with_fixture("webshop");
    let file = write(&env, "orders.csv", "id,customer_id,order_number,placed_at,status,total_cents,note\n");
    let (v, code) = import(&env, &["shop_order", &file, "--delete-missing", "--allow-empty"]);
    // Kept rows are reported and counted as kept, not as refused rows of the file (none was).
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["import"]["refused"], 0, "{v}");
    let kept = problems(&v);
    assert!(!kept.is_empty(), "{v}");
    assert_eq!(v["import"]["kept"], kept.len(), "{v}");
    for (line, kind, reason) in kept {
        assert_eq!((line, kind.as_str()), (0, "kept"));
        assert!(reason.starts_with("a row missing from the file was kept (rowid "), "{reason}");
        assert!(reason.contains(" still refer to it"), "{reason}");
    }
}

#[test]
fn delete_missing_keeps_the_rows_of_a_person_whose_data_is_restricted() {
    // Noor (person 3) restricted her data for a legal claim: a source that no longer has her
    // delivery address does not remove it (Art. 18(1)(c): stored only).
    let env = Env::with_fixture("webshop");
    let id = env.verified("restrict", &["--email", "noor.hendriks@example.org", "--ground", "legal-claims"]);
    assert!(env.run(&["restrict", &id, "--yes"]).status.success());
    let hers = "SELECT count(*) FROM delivery_address WHERE customer_id = 103";
    let before = env.count(hers);
    assert!(before > 0);
    let columns = "id,customer_id,recipient_name,street,house_number,postal_code,city,country,is_default,created_at";
    let all = dump(&env, "delivery_address", columns);
    let others: Vec<&str> = all.lines().filter(|l| l.split(',').nth(1).is_none_or(|p| p != "103")).collect();
    let file = write(&env, "da.csv", &(others.join("\n") + "\n"));
    let (v, code) = import(&env, &["delivery_address", &file, "--delete-missing"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["import"]["removed"], 0, "{v}");
    assert_eq!(v["import"]["kept"], before, "{v}");
    assert!(problems(&v).iter().all(|(_, kind, why)| kind == "kept" && why.contains("restricted")), "{v}");
    assert_eq!(env.count(hers), before);
    // Without the restriction the same file removes them.
    let env = Env::with_fixture("webshop");
    let file = write(&env, "da.csv", &(others.join("\n") + "\n"));
    let (v, _) = import(&env, &["delivery_address", &file, "--delete-missing"]);
    assert_eq!(v["import"]["removed"], before, "{v}");
}

#[test]
fn an_address_another_person_holds_is_refused_as_a_rectification_refuses_it() {
    // Noor's address row (31) given Bram's address: two people would hold it, and a lookup by it
    // would find both (exit 4), his mail could reach her.
    let env = Env::with_fixture("webshop");
    let noor: i64 =
        env.sql().query_row("SELECT min(id) FROM email_address WHERE person_id = 3", [], |r| r.get(0)).unwrap();
    let file = write(&env, "s.csv", &format!("id,address\n{noor},bram.willems@example.com\n"));
    let (v, code) = import(&env, &["email_address", &file]);
    assert_eq!(code, 19, "{v}");
    let refused = problems(&v);
    assert_eq!(refused.len(), 1, "{v}");
    assert_eq!((refused[0].0, refused[0].1.as_str()), (2, "refused"));
    assert!(refused[0].2.contains("on file for another person"), "{v}");
    assert_eq!(env.run(&["lookup", "--email", "bram.willems@example.com"]).status.code(), Some(0));
    // A new row for him with his own address, and the file naming the person, load.
    let file = write(&env, "t.csv", "id,person_id,address,is_primary,newsletter_opt_in,created_at\n990,2,bram.willems@example.com,0,0,2026-01-01T00:00:00Z\n");
    let (v, code) = import(&env, &["email_address", &file]);
    assert_eq!((code, &v["import"]["added"]), (0, &serde_json::json!(1)), "{v}");
}

#[test]
fn a_rectified_value_is_not_replaced_by_an_older_source_value() {
    let env = Env::with_fixture("webshop");
    let file = write(&env, "addresses.csv", &dump(&env, "delivery_address", ADDRESS_COLUMNS));
    let id = env.verified("rectify", &["--customer", "FO-100009", "--set", "delivery_postal_code=2312 KP"]);
    env.dsr().args(["rectify", &id, "--yes"]).assert().success();
    let (v, code) = import(&env, &["delivery_address", &file]);
    assert_eq!(code, 19, "{v}");
    let p = problems(&v);
    assert_eq!(p.len(), 1, "{p:#?}");
    assert_eq!(p[0].1, "conflict");
    assert!(
        p[0].2.contains("postal_code: the value in delivery_address was rectified on") && p[0].2.contains(&id),
        "{p:#?}"
    );
    // Two of its values rectified: the conflict names both, so the source is corrected at once.
    let id = env.verified("rectify", &["--customer", "FO-100009", "--set", "delivery_city=Delft"]);
    env.dsr().args(["rectify", &id, "--yes"]).assert().success();
    let (v, _) = import(&env, &["delivery_address", &file]);
    let p = problems(&v);
    assert!(
        p.len() == 1 && p[0].2.starts_with("postal_code, city: the values in delivery_address were rectified"),
        "{p:#?}"
    );
    assert_eq!(
        env.count("SELECT count(*) FROM delivery_address WHERE customer_id = 109 AND postal_code = '2312 KP'"),
        1
    );
}

/// A row `--delete-missing` removes takes the mark of its rectified value with it: a row the
/// source later brings under the same key (another customer's) is updated freely, not held as
/// a conflict with the old person's request.
#[test]
fn a_removed_row_takes_its_rectification_mark_with_it() {
    let env = Env::with_fixture("webshop");
    let text = dump(&env, "delivery_address", ADDRESS_COLUMNS);
    let id = env.verified("rectify", &["--customer", "FO-100009", "--set", "delivery_postal_code=2312 KP"]);
    env.dsr().args(["rectify", &id, "--yes"]).assert().success();
    let row: i64 = env.count("SELECT CAST(row_key AS INTEGER) FROM rectified WHERE table_name = 'delivery_address'");
    let without: Vec<&str> = text.lines().filter(|l| !l.starts_with(&format!("{row},"))).collect();
    let file = write(&env, "without.csv", &(without.join("\n") + "\n"));
    let (v, code) = import(&env, &["delivery_address", &file, "--delete-missing"]);
    assert_eq!((code, v["import"]["removed"].as_u64()), (0, Some(1)), "{v}");
    assert_eq!(env.count("SELECT count(*) FROM rectified WHERE table_name = 'delivery_address'"), 0);
    // The same key again, for someone else, then changed: an update like any other.
    let other = format!("{row},102,Bram Willems,Hoogstraat,9,5611 HT,Eindhoven,NL,0,2025-08-06T04:04:39Z");
    let file = write(&env, "new.csv", &format!("{ADDRESS_COLUMNS}\n{other}\n"));
    assert_eq!(import(&env, &["delivery_address", &file]).1, 0);
    let file = write(&env, "changed.csv", &format!("{ADDRESS_COLUMNS}\n{}\n", other.replace("5611 HT", "5611 HA")));
    let (v, code) = import(&env, &["delivery_address", &file]);
    assert_eq!((code, v["import"]["changed"].as_u64()), (0, Some(1)), "{v}");
}

/// A key that does not convert to the key column's type ("eleven" for a whole number) names no
/// row of the table: the row is refused and `--delete-missing` removes nothing, as for a row
/// that could not be read to its key.
#[test]
fn a_key_that_does_not_convert_makes_delete_missing_remove_nothing() {
    let env = Env::with_fixture("webshop");
    let before = env.count("SELECT count(*) FROM delivery_address");
    let text = dump(&env, "delivery_address", ADDRESS_COLUMNS);
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let (id, rest) = lines[2].split_once(',').map(|(a, b)| (a.to_owned(), b.to_owned())).unwrap();
    for bad in ["eleven", "1.5", "abc"] {
        lines[2] = format!("{bad},{rest}");
        let file = write(&env, "bad-key.csv", &(lines.join("\n") + "\n"));
        let (v, code) = import(&env, &["delivery_address", &file, "--delete-missing"]);
        assert_eq!(code, 19, "{v}");
        assert_eq!(v["import"]["removed"], 0, "{bad}: {v}");
        assert!(problems(&v).iter().any(|(line, _, why)| *line == 3 && why.starts_with("id: ")), "{v}");
        assert_eq!(env.count("SELECT count(*) FROM delivery_address"), before, "{bad}");
        assert_eq!(env.count(&format!("SELECT count(*) FROM delivery_address WHERE id = {id}")), 1, "{bad}");
    }
}

#[test]
fn json_lines_load_and_an_address_is_kept_in_the_form_lookups_compare() {
    let env = Env::with_fixture("webshop");
    let file = write(
        &env,
        "emails.jsonl",
        "{\"id\": 901, \"person_id\": 1, \"address\": \"Sanne.Werk@Example.NL\", \"is_primary\": false, \"newsletter_opt_in\": 0, \"created_at\": \"2026-02-01 09:00\"}\n\n{\"id\": 902, \"person_id\": 1, \"address\": \"not-an-address\", \"is_primary\": 0, \"newsletter_opt_in\": 0, \"created_at\": \"2026-02-01T09:00:00Z\"}\n",
    );
    let (v, code) = import(&env, &["email_address", &file, "--source-tz", "Europe/Amsterdam"]);
    assert_eq!(code, 19, "{v}");
    assert_eq!(v["import"]["added"], 1);
    assert_eq!(problems(&v)[0].0, 3, "the line of the bad object");
    let (row, norm, at): (String, String, String) = env
        .sql()
        .query_row("SELECT address, address_norm, created_at FROM email_address WHERE id = 901", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!(
        (row.as_str(), norm.as_str(), at.as_str()),
        ("Sanne.Werk@Example.NL", "Sanne.Werk@example.nl", "2026-02-01T08:00:00Z")
    );
    // The webshop's map compares the domain in any case, the local part exactly (issue 14).
    let (found, code): (Value, i32) = env.json(&["lookup", "--email", "Sanne.Werk@EXAMPLE.nl"]);
    assert_eq!(code, 0, "{found}");
    let out = env.run(&["lookup", "--email", "sanne.werk@example.nl"]);
    assert_ne!(out.status.code(), Some(0), "another local part: {}", stdout(&out));
}

#[test]
fn the_compared_form_of_an_address_alone_is_refused_and_a_file_giving_both_keeps_them_together() {
    let env = Env::with_fixture("webshop");
    let before = dump(&env, "email_address", "id,address,address_norm");
    let only = write(&env, "norm.csv", "id,address_norm\n11,bram.willems@example.com\n");
    let out = env.run(&["import", "email_address", &only]);
    assert_eq!(out.status.code(), Some(2));
    assert_one_line_error(&out);
    assert!(stderr(&out).contains("\"address_norm\" is made by dsr from \"address\""), "{}", stderr(&out));
    assert_eq!(dump(&env, "email_address", "id,address,address_norm"), before, "nothing changed");
    let (found, code): (Value, i32) = env.json(&["lookup", "--email", SANNE]);
    assert_eq!(code, 0, "{found}");
    // Both given: the compared form is made from the address, whatever the file says of it.
    let row = dump(&env, "email_address", "id,person_id,address,is_primary,newsletter_opt_in,created_at");
    let sanne = row.lines().find(|l| l.contains(SANNE)).unwrap().to_owned();
    let mut cols = sanne.split(',');
    let id = cols.next().unwrap();
    let both = format!(
        "id,person_id,address,address_norm,is_primary,newsletter_opt_in,created_at\n{id},{},{SANNE},bram.willems@example.com,{}\n",
        cols.next().unwrap(),
        cols.skip(1).collect::<Vec<_>>().join(",")
    );
    let file = write(&env, "both.csv", &both);
    let (v, code) = import(&env, &["email_address", &file, "--source-tz", "UTC"]);
    assert_eq!(code, 0, "{v}");
    let (found, code): (Value, i32) = env.json(&["lookup", "--email", SANNE]);
    assert_eq!(code, 0, "{found}");
}

#[test]
fn a_killed_import_run_again_ends_as_an_uninterrupted_run() {
    let env = Env::with_fixture("webshop");
    let copy = env.path("copy.sqlite");
    std::fs::copy(&env.db, &copy).unwrap();
    let customers: Vec<i64> = env
        .sql()
        .prepare("SELECT id FROM customer")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut text = format!("{ADDRESS_COLUMNS}\n");
    for i in 0..200_000i64 {
        let c = customers[i as usize % customers.len()];
        text.push_str(&format!(
            "{},{c},Naam {i},Straat,{},1234 AB,Plaats,NL,0,2026-01-05T10:00:00Z\n",
            10_000 + i,
            i % 300 + 1
        ));
    }
    let file = write(&env, "big.csv", &text);
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("dsr"))
        .current_dir(env.dir.path())
        .args(["--db", env.db.to_str().unwrap(), "-q", "import", "delivery_address", &file, "--batch", "2000"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Killed once some batches are in.
    let started = std::time::Instant::now();
    while env.count("SELECT count(*) FROM delivery_address") < 20_000 && started.elapsed().as_secs() < 60 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let loaded = env.count("SELECT count(*) FROM delivery_address");
    assert!(loaded < 200_000, "killed before the end ({loaded} rows in)");
    // The rows it committed are in the trail: the run's start, with its first batch.
    assert_eq!(env.count("SELECT count(*) FROM audit_log WHERE action = 'import-started'"), 1);
    assert_eq!(env.count("SELECT count(*) FROM audit_log WHERE action = 'imported'"), 0);
    let (v, code) = import(&env, &["delivery_address", &file, "--batch", "2000"]);
    assert_eq!(code, 0, "{v}");
    assert!(v["import"]["unchanged"].as_i64().unwrap() >= loaded - 100, "{v} after {loaded}");
    let mut other = Env::new();
    other.db = copy;
    let path = env.path(&file).display().to_string();
    let (w, code) = import(&other, &["delivery_address", &path, "--batch", "2000"]);
    assert_eq!(code, 0, "{w}");
    assert_eq!(dump(&env, "delivery_address", ADDRESS_COLUMNS), dump(&other, "delivery_address", ADDRESS_COLUMNS));
}

/// The table's indexes as SQLite holds them.
fn indexes(env: &Env, table: &str) -> Vec<(String, Option<String>)> {
    env.sql()
        .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?1 ORDER BY name")
        .unwrap()
        .query_map([table], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn a_first_load_into_an_empty_table_keeps_its_indexes_and_is_all_or_nothing() {
    let env = Env::with_fixture("webshop");
    let before = indexes(&env, "delivery_address");
    assert!(before.iter().any(|(_, sql)| sql.is_some()), "the table has indexes of its own: {before:?}");
    env.sql().execute_batch("PRAGMA foreign_keys = OFF; DELETE FROM delivery_address;").unwrap();
    let copy = env.path("copy.sqlite");
    std::fs::copy(&env.db, &copy).unwrap();
    let customers: Vec<i64> = env
        .sql()
        .prepare("SELECT id FROM customer")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut text = format!("{ADDRESS_COLUMNS}\n");
    for i in 0..300_000i64 {
        let c = customers[i as usize % customers.len()];
        text.push_str(&format!(
            "{},{c},Naam {i},Straat,{},1234 AB,Plaats,NL,0,2026-01-05T10:00:00Z\n",
            10_000 + i,
            i % 300 + 1
        ));
    }
    // A key given twice is refused on a first load too, with the line that gave it first.
    text.push_str(&format!("10001,{},Dubbel,Straat,1,1234 AB,Plaats,NL,0,2026-01-05T10:00:00Z\n", customers[0]));
    let file = write(&env, "big.csv", &text);
    // Killed part-way: the first load is one transaction, so the table is empty or complete.
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("dsr"))
        .current_dir(env.dir.path())
        .args(["--db", env.db.to_str().unwrap(), "-q", "import", "delivery_address", &file])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    child.kill().unwrap();
    child.wait().unwrap();
    let loaded = env.count("SELECT count(*) FROM delivery_address");
    assert!(loaded == 0 || loaded == 300_000, "all or nothing, not {loaded} rows");
    assert_eq!(indexes(&env, "delivery_address"), before, "a killed first load leaves the indexes as they were");
    let (v, code) = import(&env, &["delivery_address", &file]);
    assert_eq!(code, 19, "{v}");
    assert_eq!(
        problems(&v),
        vec![(300_002, "refused".to_string(), "id: the same key as line 3; a source's key names one row".to_string())]
    );
    assert_eq!(indexes(&env, "delivery_address"), before);
    assert_eq!(env.count("SELECT count(*) FROM delivery_address"), 300_000);
    // The same file loaded row by row into a table that has rows ends the same.
    let mut other = Env::new();
    other.db = copy;
    other.sql().execute_batch(&format!(
        "INSERT INTO delivery_address (id, customer_id, recipient_name, street, house_number, postal_code, city, country, is_default, created_at)
         VALUES (10000, {}, 'Naam 0', 'Straat', '1', '1234 AB', 'Plaats', 'NL', 0, '2026-01-05T10:00:00Z')",
        customers[0]
    )).unwrap();
    let path = env.path(&file).display().to_string();
    let (w, code) = import(&other, &["delivery_address", &path]);
    assert_eq!(code, 19, "{w}");
    assert_eq!(w["import"]["unchanged"], 1, "{w}");
    assert_eq!(dump(&env, "delivery_address", ADDRESS_COLUMNS), dump(&other, "delivery_address", ADDRESS_COLUMNS));
    assert_eq!(indexes(&other, "delivery_address"), before);
}

/// The source's time of change (`[table.import] updated`) decides whether its value replaces
/// one dsr rectified: older is a conflict, later replaces it, and a time in the future (a
/// source's clock or zone gone wrong) is refused rather than let win.
#[test]
fn the_source_s_time_of_change_decides_against_a_rectification_and_is_not_in_the_future() {
    let env = Env::with_fixture_at("webshop", "2026-11-02T09:00:00Z");
    env.sql().execute_batch("ALTER TABLE delivery_address ADD COLUMN changed_at TEXT").unwrap();
    let mut file: toml::Table = stdout(&env.run(&["register", "export"])).parse().unwrap();
    for t in file["table"].as_array_mut().unwrap().iter_mut().map(|t| t.as_table_mut().unwrap()) {
        if t["name"].as_str() == Some("delivery_address") {
            let import = t.entry("import").or_insert_with(|| toml::Value::Table(toml::Table::new()));
            import.as_table_mut().unwrap().insert("updated".into(), "changed_at".into());
            let mut column = toml::Table::new();
            column.insert("name".into(), "changed_at".into());
            column.insert("type".into(), "text".into());
            t["column"].as_array_mut().unwrap().push(toml::Value::Table(column));
        }
    }
    std::fs::write(env.path("company.toml"), toml::to_string(&file).unwrap()).unwrap();
    let out = env.run(&["register", "apply", "company.toml", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let columns = format!("{ADDRESS_COLUMNS},changed_at");
    let source = dump(&env, "delivery_address WHERE customer_id = 109", &columns);
    let id = env.verified("rectify", &["--customer", "FO-100009", "--set", "delivery_postal_code=2312 KP"]);
    env.dsr().args(["rectify", &id, "--yes"]).assert().success();
    let postal = || -> String {
        let sql = "SELECT group_concat(postal_code, ';') FROM delivery_address WHERE customer_id = 109";
        env.sql().query_row(sql, [], |r| r.get(0)).unwrap()
    };
    // The customer's rows, each with the time of change at the end.
    let changed = |at: &str| {
        let mut lines = source.lines();
        let mut text = format!("{}\n", lines.next().unwrap());
        lines.for_each(|row| text.push_str(&format!("{row}{at}\n")));
        write(&env, "addresses.csv", &text)
    };
    // Changed at the source before the rectification: a conflict, the rectified value stays.
    let (v, code) = import(&env, &["delivery_address", &changed("2026-11-02T08:00:00Z")]);
    assert_eq!(code, 19, "{v}");
    assert_eq!(problems(&v)[0].1, "conflict", "{v}");
    assert!(problems(&v)[0].2.contains("with an older change"), "{v}");
    // A row with its time of change empty says nothing of when it changed.
    let (v, code) = import(&env, &["delivery_address", &changed("")]);
    assert_eq!(code, 19, "{v}");
    assert!(problems(&v)[0].2.contains("(the file does not say when it changed)"), "{v}");
    let rectified = postal();
    assert!(rectified.contains("2312 KP"), "{rectified}");
    // A day ahead of dsr's clock: refused, named, the rectified value stays.
    let (v, code) = import(&env, &["delivery_address", &changed("2026-11-03T09:00:00Z")]);
    assert_eq!(code, 19, "{v}");
    let p = problems(&v);
    assert_eq!((p[0].0, p[0].1.as_str()), (2, "refused"), "{v}");
    assert!(p[0].2.starts_with("changed_at: 2026-11-03T09:00:00Z is in the future"), "{v}");
    assert_eq!(postal(), rectified);
    // After the rectification (within the few minutes a source's clock may run ahead): the
    // source's value replaces it.
    let (v, code) = import(&env, &["delivery_address", &changed("2026-11-02T09:03:00Z")]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["import"]["changed"], 2, "both rows have a new time of change: {v}");
    assert!(!postal().contains("2312 KP"), "{}", postal());
}

#[test]
fn a_header_that_is_not_utf8_and_a_value_two_rows_share_are_said_in_words() {
    let env = Env::with_fixture("webshop");
    std::fs::write(env.path("latin1.csv"), b"id,na\xefve\n1,x\n").unwrap();
    let out = env.run(&["import", "email_address", "latin1.csv"]);
    assert_eq!(out.status.code(), Some(2));
    assert_one_line_error(&out);
    assert!(stderr(&out).contains("the header row is not UTF-8 text"), "{}", stderr(&out));
    let number: String = env.sql().query_row("SELECT customer_number FROM customer LIMIT 1", [], |r| r.get(0)).unwrap();
    let cols: String = env
        .sql()
        .query_row("SELECT group_concat(name, ',') FROM pragma_table_info('customer')", [], |r| r.get(0))
        .unwrap();
    let text = dump(&env, "customer", &cols);
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let at = rows.headers().unwrap().iter().position(|c| c == "customer_number").unwrap();
    let mut taken: Vec<String> = rows.records().nth(1).unwrap().unwrap().iter().map(str::to_owned).collect();
    taken[at] = number;
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(cols.split(',')).unwrap();
    out.write_record(&taken).unwrap();
    let file = write(&env, "taken.csv", &String::from_utf8(out.into_inner().unwrap()).unwrap());
    let (v, code) = import(&env, &["customer", &file, "--source-tz", "UTC"]);
    assert_eq!(code, 19, "{v}");
    let reason = &problems(&v)[0].2;
    assert!(reason.starts_with("customer_number: another row of the table has this value already"), "{reason}");
}

/// `dsr --json import TABLE pipe.csv --batch 2` reading a named pipe: the running import and the
/// pipe's writing end, to feed it rows a few at a time.
fn import_through_a_pipe(env: &Env, table: &str) -> (std::process::Child, std::fs::File) {
    let pipe = env.path("pipe.csv");
    assert!(std::process::Command::new("mkfifo").arg(&pipe).status().unwrap().success());
    let import = std::process::Command::new(assert_cmd::cargo::cargo_bin("dsr"))
        .current_dir(env.dir.path())
        .env_remove("DSR_NOW")
        .arg("--db")
        .arg(&env.db)
        .args(["--json", "import", table, "pipe.csv", "--batch", "2"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    (import, std::fs::OpenOptions::new().write(true).open(&pipe).unwrap())
}

/// Wait until `sql` counts at least `n` (a batch committed by another process).
fn wait_for(env: &Env, sql: &str, n: i64) {
    let start = std::time::Instant::now();
    while env.count(sql) < n {
        assert!(start.elapsed() < std::time::Duration::from_secs(60), "never: {sql}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// An erasure and an objection committed while an import runs bind the import's later batches:
/// the import, fed through a pipe, holds no lock while it waits for rows, and reads the
/// suppression list and the objections again when the next rows come.
#[test]
fn an_erasure_and_an_objection_between_two_batches_bind_the_rows_after_them() {
    use std::io::Write;
    let env = Env::with_fixture("webshop");
    let erase = env.verified("erase", &["--email", SANNE]);
    let object = env.verified("object", &["--email", "emma.bos@example.com", "--purpose", "newsletter"]);
    let (import, mut feed) = import_through_a_pipe(&env, "email_address");
    writeln!(feed, "id,person_id,address,is_primary,newsletter_opt_in,created_at").unwrap();
    writeln!(feed, "9001,2,bram.twee@example.com,0,0,2026-11-01T10:00:00Z").unwrap();
    writeln!(feed, "9002,2,bram.drie@example.com,0,0,2026-11-01T10:00:00Z").unwrap();
    feed.flush().unwrap();
    // The first batch is committed; the import waits for more, holding nothing.
    wait_for(&env, "SELECT count(*) FROM email_address WHERE id IN (9001, 9002)", 2);
    env.dsr().args(["erase", &erase, "--yes"]).assert().success();
    env.dsr().args(["object", &object, "--yes"]).assert().success();
    let emma = env.count("SELECT person_id FROM email_address WHERE id = 51");
    writeln!(feed, "9003,2,{SANNE},0,0,2026-11-01T10:00:00Z").unwrap();
    writeln!(feed, "9004,{emma},emma.nieuw@example.com,0,1,2026-11-01T10:00:00Z").unwrap();
    drop(feed);
    let out = import.wait_with_output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    assert_eq!(out.status.code(), Some(19), "{v}");
    let p = problems(&v);
    assert_eq!(p.len(), 1, "{p:#?}");
    assert!(p[0].2.contains(&format!("request {erase}")), "{p:#?}");
    assert_eq!(env.count(&format!("SELECT count(*) FROM email_address WHERE address_norm = '{SANNE}'")), 0);
    assert_eq!(env.count("SELECT newsletter_opt_in FROM email_address WHERE id = 9004"), 0);
    assert_eq!(v["import"]["kept_unsubscribed"], 1, "{v}");
}

/// The withdrawal an objection recorded (source `dsr`) is no row of the source's: a copy of the
/// source's consents with --delete-missing keeps it, and the consent stays withdrawn.
#[test]
fn delete_missing_keeps_the_withdrawal_dsr_recorded() {
    let env = Env::with_fixture("webshop");
    let id = env.verified("object", &["--email", SANNE, "--purpose", "product-reviews"]);
    env.dsr().args(["object", &id, "--yes"]).assert().success();
    let check = || env.run(&["check", "--email", SANNE, "--purpose", "product-reviews"]).status.code();
    assert_eq!(check(), Some(20));
    let columns = "id,person_id,purpose,granted,recorded_at,source";
    let theirs: String = dump(&env, "consent", columns)
        .lines()
        .enumerate()
        .filter(|(i, l)| *i == 0 || !l.ends_with(",dsr"))
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    let file = write(&env, "consents.csv", &theirs);
    let (v, code) = import(&env, &["consent", &file, "--delete-missing"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!((&v["import"]["removed"], &v["import"]["kept"]), (&0.into(), &0.into()), "{v}");
    assert_eq!(env.count("SELECT count(*) FROM consent WHERE source = 'dsr'"), 1);
    assert_eq!(check(), Some(20), "the consent stays withdrawn");
}

/// A bad row is named by the line it is on: after blank lines the parser skips, with line ends
/// of a lone CR (old Mac files), and with CRLF inside a quoted field.
#[test]
fn bad_rows_are_named_by_their_line_whatever_the_line_ends() {
    let env = Env::with_fixture("webshop");
    let cases: [(&str, &str, Vec<u64>); 3] = [
        ("blank.csv", "id,person_id,address,created_at\n\n\n\n\n\n7013,1,bad,2026-02-01T09:00:00Z\n", vec![7]),
        (
            "cr.csv",
            "id,person_id,address,created_at\r7011,1,ok@example.nl,2026-02-01T09:00:00Z\r7012,1,bad,2026-02-01T09:00:00Z\r",
            vec![3],
        ),
        (
            "crlf.csv",
            "id,person_id,address,created_at\r\n7021,1,ok2@example.nl,2026-02-01T09:00:00Z\r\n\r\n7022,1,bad,2026-02-01T09:00:00Z\r\n7023,1,\"x\r\ny\",2026-02-01T09:00:00Z\r\n7024,1,bad2,2026-02-01T09:00:00Z\r\n",
            vec![4, 5, 7],
        ),
    ];
    for (name, text, lines) in cases {
        let file = write(&env, name, text);
        let (v, code) = import(&env, &["email_address", &file]);
        assert_eq!(code, 19, "{name}: {v}");
        let got: Vec<u64> = problems(&v).iter().map(|p| p.0).collect();
        assert_eq!(got, lines, "{name}: {v}");
    }
}

/// A table of the store no longer as the map says (a column renamed behind dsr's back): exit 11
/// naming the table and column, before any row is read; nothing loads into the unknown column.
#[test]
fn a_store_table_unlike_the_map_is_named_and_nothing_loads() {
    let env = Env::with_fixture("webshop");
    env.sql().execute_batch("ALTER TABLE delivery_address RENAME COLUMN city TO town").unwrap();
    let file = write(&env, "t.csv", "id,town\n11,Bre\u{7}da\n");
    let out = env.run(&["import", "delivery_address", &file]);
    assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));
    assert_one_line_error(&out);
    assert!(stderr(&out).contains("table delivery_address has no column city"), "{}", stderr(&out));
    assert_eq!(env.count("SELECT count(*) FROM delivery_address WHERE town LIKE '%' || char(7) || '%'"), 0);
}

/// A rectification committed between two batches of an import binds the rows after it: the
/// source's older value of that row is a conflict, not written over the correction.
#[test]
fn a_rectification_between_two_batches_is_not_written_over() {
    use std::io::Write;
    let env = Env::with_fixture("webshop");
    let dumped = dump(&env, "delivery_address", ADDRESS_COLUMNS);
    let lines: Vec<&str> = dumped.lines().collect();
    let (of_109, others): (Vec<&str>, Vec<&str>) = lines[1..].iter().partition(|l| l.split(',').nth(1) == Some("109"));
    assert!(!of_109.is_empty() && others.len() >= 2);
    let id = env.verified("rectify", &["--customer", "FO-100009", "--set", "delivery_postal_code=2312 KP"]);
    let (import, mut feed) = import_through_a_pipe(&env, "delivery_address");
    writeln!(feed, "{}\n{}\n{}", lines[0], others[0], others[1]).unwrap();
    feed.flush().unwrap();
    wait_for(&env, "SELECT count(*) FROM audit_log WHERE action = 'import-started'", 1);
    env.dsr().args(["rectify", &id, "--yes"]).assert().success();
    for l in &of_109 {
        writeln!(feed, "{l}").unwrap();
    }
    drop(feed);
    let out = import.wait_with_output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    assert_eq!(out.status.code(), Some(19), "{v}");
    assert_eq!(v["import"]["conflicts"], 1, "{v}");
    assert_eq!(
        env.count("SELECT count(*) FROM delivery_address WHERE customer_id = 109 AND postal_code = '2312 KP'"),
        1
    );
}

/// A server log exported again from its source: the lines that reach no one but carry the
/// erased person's IP address, which the erasure removed as theirs, stay out (Art. 17); one
/// written back some other way is `dsr doctor`'s finding and `dsr erase --replay` deletes it.
#[test]
fn an_erased_person_s_anonymous_log_lines_do_not_come_back_with_the_source_s_log() {
    let env = Env::with_fixture("voordelig-streamen");
    let ip = "145.53.12.201";
    let columns = "id,session_id,ip,logged_at,method,path,status,user_agent";
    let file = write(&env, "log.csv", &dump(&env, "server_log", columns));
    let anonymous = format!("SELECT count(*) FROM server_log WHERE session_id IS NULL AND ip = '{ip}'");
    assert!(env.count(&anonymous) > 0, "the fixture has such a line");
    let id = env.verified("erase", &["--email", "jan.devries@example.nl"]);
    env.dsr().args(["erase", &id, "--yes"]).assert().success();
    assert_eq!(env.count(&anonymous), 0);
    assert_eq!(env.count("SELECT count(*) FROM suppression WHERE kind = 'ip'"), 1);

    let (v, code) = import(&env, &["server_log", &file]);
    assert_eq!(code, 19, "{v}");
    assert_eq!(v["import"]["added"].as_u64(), Some(0), "{v}");
    let p = problems(&v);
    let by_ip: Vec<_> = p.iter().filter(|(_, _, why)| why.starts_with("ip: a line that reaches no one")).collect();
    assert_eq!(by_ip.len(), 1, "{p:#?}");
    assert!(by_ip[0].2.contains(&format!("request {id}")) && !by_ip[0].2.contains(ip), "{p:#?}");
    // The lines of the person's own sessions name sessions that went with them.
    assert!(
        p.iter().filter(|(_, _, why)| why.starts_with("session_id: names no row of web_session")).count() > 0,
        "{p:#?}"
    );
    assert_eq!(env.count(&anonymous), 0);

    // Written back behind dsr's back (a restored log): doctor says so, a replay deletes it.
    env.sql()
        .execute(
            &format!(
                "INSERT INTO server_log (id, session_id, ip, logged_at, method, path, status)
                 SELECT 9999, NULL, '{ip}', logged_at, method, path, status FROM server_log LIMIT 1"
            ),
            [],
        )
        .unwrap();
    let (doctor, code): (Value, i32) = env.json(&["doctor"]);
    assert_eq!(code, 24, "{doctor}");
    assert!(doctor.to_string().contains("erased-back") && doctor.to_string().contains("server_log"), "{doctor}");
    let (replay, code): (Value, i32) = env.json(&["erase", "--replay", "--yes"]);
    assert_eq!(code, 0, "{replay}");
    assert_eq!(replay["anonymous_lines"], 1, "{replay}");
    assert_eq!(env.count(&anonymous), 0);
    env.dsr().args(["audit", "verify"]).assert().success();
    let (_, code): (Value, i32) = env.json(&["doctor"]);
    assert_eq!(code, 0);
}

/// A source's consent record cannot pass for one dsr wrote (a withdrawal through a request):
/// `source = 'dsr'` from a file is refused, and the row is not stored.
#[test]
fn a_consent_record_claiming_dsr_wrote_it_is_refused() {
    let env = Env::with_fixture("webshop");
    let file = write(
        &env,
        "consents.csv",
        "id,person_id,purpose,granted,recorded_at,source\n\
         6001,3,newsletter,0,2026-12-01T00:00:00Z,dsr\n\
         6002,3,newsletter,1,2026-12-02T00:00:00Z,signup\n",
    );
    let (v, code) = import(&env, &["consent", &file]);
    assert_eq!(code, 19, "{v}");
    let p = problems(&v);
    assert_eq!(p.len(), 1, "{p:#?}");
    assert_eq!(p[0].0, 2, "{p:#?}");
    assert!(p[0].2.starts_with("source: \"dsr\" marks a consent record dsr wrote itself"), "{p:#?}");
    assert_eq!(env.count("SELECT count(*) FROM consent WHERE id = 6001"), 0);
    assert_eq!(env.count("SELECT count(*) FROM consent WHERE id = 6002"), 1);
}

/// An address another person holds is refused in a table reached through another (a contact
/// table under the customers), not only in one linked to the people themselves: lookups by it
/// would find two people. Named by the file's column.
#[test]
fn an_address_another_person_holds_is_refused_at_any_depth() {
    let env = Env::with_fixture("webshop");
    let out = env.run(&["register", "export"]);
    let contact = "\n[[table]]\nname = \"contact\"\ncategory = \"contact\"\nlabel_en = \"Contacts\"\nlabel_nl = \"Contacten\"\n\n\
        [table.link]\ncolumn = \"customer_id\"\nparent = \"customer\"\n\n\
        [[table.identifier]]\ncolumn = \"email\"\nkind = \"email\"\n\n\
        [[table.column]]\nname = \"id\"\ntype = \"integer\"\n\n\
        [[table.column]]\nname = \"customer_id\"\ntype = \"integer\"\nrequired = true\n\n\
        [[table.column]]\nname = \"email\"\ntype = \"text\"\n";
    std::fs::write(env.path("contact.toml"), format!("{}{contact}", String::from_utf8(out.stdout).unwrap())).unwrap();
    env.dsr().args(["register", "apply", "contact.toml", "--yes"]).assert().success();
    // Customer 102 is Bram's; Sanne's address is hers.
    let owner = env.count("SELECT c.person_id FROM customer c WHERE c.id = 102");
    let sanne = env.count(&format!("SELECT person_id FROM email_address WHERE address_norm = '{SANNE}'"));
    assert_ne!(owner, sanne);
    let file =
        write(&env, "contacts.csv", &format!("id,customer_id,email\n1,102,{SANNE}\n2,102,bram.extra@example.com\n"));
    let (v, code) = import(&env, &["contact", &file]);
    assert_eq!(code, 19, "{v}");
    let p = problems(&v);
    assert_eq!(p.len(), 1, "{p:#?}");
    assert_eq!(p[0].0, 2);
    assert!(p[0].2.starts_with("email: this address is on file for another person"), "{p:#?}");
    assert_eq!(env.count("SELECT count(*) FROM contact"), 1);
    let (found, code): (Value, i32) = env.json(&["lookup", "--email", SANNE]);
    assert_eq!(code, 0, "still one person: {found}");
}

/// The example companies' maps declare their tables' times: a time of the file is checked and
/// stored in UTC (a local time with `--source-tz`), not kept as the text the source wrote.
#[test]
fn the_example_companies_times_are_checked_and_stored_in_utc() {
    let env = Env::with_fixture("virtio");
    let file = write(
        &env,
        "emails.csv",
        "id,person_id,address,is_primary,newsletter_opt_in,created_at\n\
         906,3,ok2@example.nl,0,0,2026-13-01 09:00\n\
         907,3,ok3@example.nl,0,0,yesterday-ish\n\
         908,3,ok4@example.nl,0,0,2026-07-01 09:00\n",
    );
    let (v, code) = import(&env, &["email_address", &file, "--source-tz", "Europe/Amsterdam"]);
    assert_eq!(code, 19, "{v}");
    let p = problems(&v);
    assert_eq!(p.iter().map(|x| x.0).collect::<Vec<_>>(), [2, 3], "{p:#?}");
    assert!(p.iter().all(|x| x.2.starts_with("created_at: is not a time")), "{p:#?}");
    let stored: String =
        env.sql().query_row("SELECT created_at FROM email_address WHERE id = 908", [], |r| r.get(0)).unwrap();
    assert_eq!(stored, "2026-07-01T07:00:00Z");
}

/// A JSON line refused for another column than its key (a key the columns do not have, an
/// object for a value) still marks its row as in the file: `--delete-missing` removes the rows
/// the file does not have, and only those.
#[test]
fn a_json_line_refused_for_another_column_still_names_its_row_for_delete_missing() {
    let env = Env::with_fixture("webshop");
    let before = env.count("SELECT count(*) FROM delivery_address");
    let text = dump(&env, "delivery_address", ADDRESS_COLUMNS);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    let mut lines: Vec<serde_json::Map<String, Value>> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            header
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.clone(), if v.is_empty() { Value::Null } else { Value::String(v.into()) }))
                .collect()
        })
        .collect();
    let gone = lines.remove(lines.len() - 1)["id"].as_str().unwrap().to_owned();
    lines[2].insert("note".into(), Value::String("extra".into()));
    lines[1].insert("recipient_name".into(), serde_json::json!({"first": "x"}));
    let body: Vec<String> = lines.iter().map(|l| Value::Object(l.clone()).to_string()).collect();
    let file = write(&env, "da.jsonl", &(body.join("\n") + "\n"));
    let (v, code) = import(&env, &["delivery_address", &file, "--delete-missing"]);
    assert_eq!(code, 19, "{v}");
    assert_eq!((v["import"]["refused"].as_u64(), v["import"]["removed"].as_u64()), (Some(2), Some(1)), "{v}");
    assert!(!v.to_string().contains("could not be read to their key"), "{v}");
    assert_eq!(env.count(&format!("SELECT count(*) FROM delivery_address WHERE id = {gone}")), 0);
    assert_eq!(env.count("SELECT count(*) FROM delivery_address"), before - 1);
}

//! The change feed (design §10, docs/tasks.md): systems that keep their own copy get a task per
//! change with the rows' source keys, a sync script reads them as JSON Lines and acknowledges
//! them, and a request is completed (and with `letter_after_tasks` its letter sent) only after.

use serde_json::Value;

use crate::support::{assert_one_line_error, stderr, stdout, Env};

const SANNE: &str = "sanne.dejong@example.nl";

/// The web shop with two systems that keep copies: a mailing service and the warehouse.
pub fn shop_with_systems(letter_after_tasks: bool) -> Env {
    shop_with(letter_after_tasks, &[("mailer", &["email_address"]), ("warehouse", &["delivery_address", "shop_order"])])
}

/// The web shop with these systems: (name, the tables it copies).
/// Its commands run at a fixed time (`DSR_NOW`), so a test may move the clock to any later day
/// whatever the day it runs.
pub fn shop_with(letter_after_tasks: bool, systems: &[(&str, &[&str])]) -> Env {
    let env = Env::with_fixture_at("webshop", "2026-12-01T09:00:00Z");
    let text = stdout(&env.run(&["register", "export"]));
    let mut file: toml::Table = text.parse().unwrap();
    if letter_after_tasks {
        file.insert("letter_after_tasks".into(), true.into());
    }
    let system = |name: &str, tables: &[&str]| {
        let mut t = toml::Table::new();
        t.insert("name".into(), name.into());
        t.insert("tables".into(), toml::Value::Array(tables.iter().map(|t| (*t).into()).collect()));
        toml::Value::Table(t)
    };
    file.insert("system".into(), toml::Value::Array(systems.iter().map(|(n, t)| system(n, t)).collect()));
    std::fs::write(env.path("systems.toml"), toml::to_string(&file).unwrap()).unwrap();
    let out = env.run(&["register", "apply", "systems.toml", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    env
}

/// The open tasks as a sync script reads them: one JSON object a line.
fn open_tasks(env: &Env, system: Option<&str>) -> Vec<Value> {
    let mut args = vec!["--json", "tasks"];
    if let Some(s) = system {
        args.extend(["--system", s]);
    }
    let out = env.run(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn state(env: &Env, id: &str) -> String {
    env.sql().query_row("SELECT state FROM request WHERE id = ?1", [id], |r| r.get(0)).unwrap()
}

#[test]
fn an_erasure_gives_each_system_a_task_and_the_letter_waits_for_both() {
    let env = shop_with_systems(true);
    let id = env.verified("erase", &["--email", SANNE]);
    env.dsr().args(["erase", &id, "--yes"]).assert().success();
    let tasks = open_tasks(&env, None);
    assert_eq!(tasks.len(), 2, "{tasks:?}");
    let mailer = &open_tasks(&env, Some("mailer"))[0];
    assert_eq!((mailer["action"].as_str(), mailer["request"].as_str()), (Some("erase"), Some(id.as_str())));
    assert_eq!(mailer["rows"], serde_json::json!([{"table": "email_address", "key": "11"}]));
    let warehouse = &open_tasks(&env, Some("warehouse"))[0];
    let keys: Vec<String> = warehouse["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| format!("{}:{}", r["table"].as_str().unwrap(), r["key"].as_str().unwrap()))
        .collect();
    assert!(keys.contains(&"shop_order:11".to_owned()) && keys.contains(&"delivery_address:11".to_owned()), "{keys:?}");
    // The erasure is done in dsr; the letter waits, the request is not completed.
    assert_eq!(env.messages(&id).len(), 1, "only the code went out");
    assert_eq!(state(&env, &id), "verified");
    let list = stdout(&env.run(&["request", "list", "--open"]));
    assert!(list.contains("2 tasks open for mailer, warehouse"), "{list}");
    let shown = stdout(&env.run(&["request", "show", &id]));
    assert!(shown.contains("held until the systems' tasks are done"), "{shown}");
    // The mailing service acknowledges: one left.
    let out = env.run(&["tasks", "done", &mailer["task"].to_string(), "--ref", "mailer sync 2026-12-02"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(env.messages(&id).len(), 1);
    assert_eq!(state(&env, &id), "verified");
    // The held letter is listed as held, and a flush says it waits rather than sending it.
    let list = stdout(&env.run(&["mail", "list"]));
    assert!(list.contains("held until the systems' tasks are done"), "{list}");
    let (listed, _) = env.json::<Value>(&["mail", "list"]);
    assert_eq!(listed["queued"][0]["held"], true, "{listed}");
    let flush = env.run(&["mail", "flush"]);
    assert!(flush.status.success(), "{}", stderr(&flush));
    assert!(
        stdout(&flush)
            .contains("0 delivered, 0 still queued after a failure, 1 held until the systems' tasks are done"),
        "{}",
        stdout(&flush)
    );
    let (flushed, _) = env.json::<Value>(&["mail", "flush"]);
    assert_eq!(flushed["held"], 1, "{flushed}");
    assert_eq!(env.messages(&id).len(), 1);
    // The warehouse's sync script acknowledges from its file: the letter goes, the request completes.
    std::fs::write(env.path("acks.csv"), format!("task,ref\n{},wms batch 77\n", warehouse["task"])).unwrap();
    let (v, code): (serde_json::Value, i32) = env.json(&["tasks", "done", "--file", "acks.csv"]);
    assert_eq!(code, 0, "{v}");
    // Its summary says what a sync script checks: the request is completed, its letter out.
    let done = v["done"].as_array().unwrap_or_else(|| panic!("{v}"));
    assert_eq!((done[0]["completed"].as_bool(), done[0]["letters_released"].as_u64()), (Some(true), Some(1)), "{v}");
    assert_eq!(env.messages(&id).len(), 2, "the erasure letter is sent once both acknowledged");
    assert_eq!(state(&env, &id), "completed");
    assert!(open_tasks(&env, None).is_empty());
    // The source keys are gone; the references stay.
    let kept: i64 = env.count("SELECT count(*) FROM task WHERE rows IS NOT NULL");
    assert_eq!(kept, 0);
    let refs: i64 = env.count("SELECT count(*) FROM task WHERE done_ref IN ('mailer sync 2026-12-02', 'wms batch 77')");
    assert_eq!(refs, 2);
    let out = env.run(&["tasks", "done", &mailer["task"].to_string(), "--ref", "again"]);
    assert_eq!(out.status.code(), Some(9), "a task is acknowledged once: {}", stderr(&out));
    // A sync script's file with a byte-order mark, a done task and a line that does not read:
    // the JSON summary names each refused line, its task and why.
    std::fs::write(
        env.path("again.jsonl"),
        format!("\u{feff}{{\"task\": {}, \"ref\": \"again\"}}\nnot json\n", mailer["task"]),
    )
    .unwrap();
    let (summary, code) = env.json::<Value>(&["tasks", "done", "--file", "again.jsonl"]);
    assert_eq!(code, 19, "{summary}");
    assert_eq!(summary["failed"], 2, "{summary}");
    let refused = summary["refused"].as_array().unwrap();
    assert_eq!((refused[0]["line"].as_i64(), refused[0]["task"].clone()), (Some(1), mailer["task"].clone()));
    assert_eq!(refused[0]["exit_code"], 9, "{summary}");
    assert_eq!((refused[1]["line"].as_i64(), refused[1]["task"].is_null()), (Some(2), true));
    assert_eq!(refused[1]["exit_code"], 2, "a line that does not read is a bad input: {summary}");
    assert!(refused[1]["error"].as_str().unwrap().contains("expected {\"task\""), "{summary}");
    env.dsr().args(["audit", "verify"]).assert().success();
}

/// An erasure tells a system what dsr does with each row it copies: the rows dsr deletes, to
/// erase; the invoices dsr keeps for the tax authority unlinked from the profile, with the link
/// emptied (`"set"`); nothing of what it keeps as it is.
#[test]
fn an_erasure_s_task_says_what_goes_and_what_stays_unlinked() {
    let env = shop_with(false, &[("books", &["shop_invoice", "shop_payment"])]);
    let id = env.verified("erase", &["--email", SANNE]);
    env.dsr().args(["erase", &id, "--yes"]).assert().success();
    let (plan, _): (Value, i32) = env.json(&["request", "show", &id]);
    let tasks = open_tasks(&env, Some("books"));
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    let rows = tasks[0]["rows"].as_array().unwrap();
    assert!(!rows.is_empty(), "{tasks:?}");
    for row in rows {
        assert_eq!(row["table"], "shop_invoice", "a payment the invoice keeps stays as it is: {row} {plan}");
        assert_eq!(row["set"], serde_json::json!({"customer_id": null}), "{row}");
    }
}

#[test]
fn without_letter_after_tasks_the_letter_goes_and_the_request_completes_with_the_last_task() {
    let env = shop_with_systems(false);
    let id = env.verified("erase", &["--email", SANNE]);
    let (report, code) = env.json::<Value>(&["erase", &id, "--yes"]);
    assert_eq!((code, report["state"].as_str()), (0, Some("verified")), "not completed while tasks are open: {report}");
    assert_eq!(env.messages(&id).len(), 2, "the letter went out");
    assert_eq!(state(&env, &id), "verified", "delivered, but the systems have not done their part");
    for t in open_tasks(&env, None) {
        env.dsr().args(["tasks", "done", &t["task"].to_string(), "--ref", "done"]).assert().success();
    }
    assert_eq!(state(&env, &id), "completed");
}

#[test]
fn a_rectification_gives_the_system_the_new_value() {
    let env = shop_with_systems(false);
    let id = env.verified("rectify", &["--customer", "FO-100009", "--set", "delivery_postal_code=2312 KP"]);
    env.dsr().args(["rectify", &id, "--yes"]).assert().success();
    let tasks = open_tasks(&env, None);
    assert_eq!(tasks.len(), 1, "only the warehouse copies delivery addresses: {tasks:?}");
    assert_eq!(tasks[0]["system"], "warehouse");
    assert_eq!(tasks[0]["action"], "rectify");
    let row = &tasks[0]["rows"][0];
    assert_eq!(
        (row["table"].as_str(), row["set"]["postal_code"].as_str()),
        (Some("delivery_address"), Some("2312 KP"))
    );
}

/// The shop with its systems, the mailer's copy of the addresses keyed by the address itself.
fn keyed_by_address() -> Env {
    let env = shop_with_systems(false);
    let mut file: toml::Table = std::fs::read_to_string(env.path("systems.toml")).unwrap().parse().unwrap();
    let tables = file.get_mut("table").and_then(|t| t.as_array_mut()).unwrap();
    let addresses = tables.iter_mut().find(|t| t["name"].as_str() == Some("email_address")).unwrap();
    let import = addresses.get_mut("import").and_then(|i| i.as_table_mut()).unwrap();
    import.insert("key".into(), "address".into());
    std::fs::write(env.path("keyed.toml"), toml::to_string(&file).unwrap()).unwrap();
    let out = env.run(&["register", "apply", "keyed.toml", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    env
}

/// A system that knows an address row by the address itself learns of a new address under the
/// old one: the key the change gave the row is one the system never had.
#[test]
fn a_rectified_source_key_names_the_row_by_the_key_the_system_knows() {
    let env = keyed_by_address();
    let id = env.verified("rectify", &["--email", SANNE, "--set", "email=sanne.nieuw@example.nl"]);
    env.dsr().args(["rectify", &id, "--yes"]).assert().success();
    let tasks = open_tasks(&env, Some("mailer"));
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    let row = &tasks[0]["rows"][0];
    assert_eq!(row["key"], SANNE, "the row as the mailer knows it: {row}");
    assert_eq!(row["set"]["address"], "sanne.nieuw@example.nl", "{row}");
    // Erased before the mailer applied the change: the erasure's task too names the row by the
    // address the mailer has.
    let id = env.verified("erase", &["--email", "sanne.nieuw@example.nl"]);
    env.dsr().args(["erase", &id, "--yes"]).assert().success();
    let tasks = open_tasks(&env, Some("mailer"));
    assert_eq!(tasks.len(), 1, "the rectification's task is superseded: {tasks:?}");
    assert_eq!(tasks[0]["action"], "erase");
    assert_eq!(tasks[0]["rows"][0]["key"], SANNE, "{tasks:?}");
}

/// Two corrections of a source key in a row: the system applies its tasks in order, so the second
/// names the row by the key the first gave it; once the first is acknowledged, an erasure names
/// the row by that key too (the system has it), not the one before.
#[test]
fn a_source_key_corrected_twice_is_named_in_the_order_the_system_applies_the_tasks() {
    let env = keyed_by_address();
    let second = "sanne.tweede@example.nl";
    let third = "sanne.derde@example.nl";
    let id = env.verified("rectify", &["--email", SANNE, "--set", &format!("email={second}")]);
    env.dsr().args(["rectify", &id, "--yes"]).assert().success();
    let id = env.verified("rectify", &["--email", second, "--set", &format!("email={third}")]);
    env.dsr().args(["rectify", &id, "--yes"]).assert().success();
    let tasks = open_tasks(&env, Some("mailer"));
    assert_eq!(tasks.len(), 2, "{tasks:?}");
    assert_eq!((&tasks[0]["rows"][0]["key"], &tasks[0]["rows"][0]["set"]["address"]), (&SANNE.into(), &second.into()));
    assert_eq!((&tasks[1]["rows"][0]["key"], &tasks[1]["rows"][0]["set"]["address"]), (&second.into(), &third.into()));
    // The mailer applied the first and acknowledged it, then the person is erased.
    let first = tasks[0]["task"].as_i64().unwrap().to_string();
    env.dsr().args(["tasks", "done", &first, "--ref", "applied"]).assert().success();
    let id = env.verified("erase", &["--email", third]);
    env.dsr().args(["erase", &id, "--yes"]).assert().success();
    let tasks = open_tasks(&env, Some("mailer"));
    assert_eq!(tasks.len(), 1, "the second rectification's task is superseded: {tasks:?}");
    assert_eq!(tasks[0]["rows"][0]["key"], second, "{tasks:?}");
}

/// An objection to the newsletter concerns the mailing service's copy, not the warehouse's
/// orders and delivery addresses, which serve the contract.
#[test]
fn an_objection_gives_a_task_to_the_systems_whose_tables_serve_the_purpose() {
    let env = shop_with_systems(false);
    let id = env.verified("object", &["--email", SANNE, "--purpose", "newsletter"]);
    env.dsr().args(["object", &id, "--yes"]).assert().success();
    let tasks = open_tasks(&env, None);
    let systems: Vec<&str> = tasks.iter().map(|t| t["system"].as_str().unwrap()).collect();
    assert_eq!(systems, ["mailer"], "{tasks:?}");
    assert_eq!(tasks[0]["action"], "object");
}

#[test]
fn an_erasure_supersedes_the_persons_open_tasks_and_no_new_value_stays_in_them() {
    let env = shop_with_systems(true);
    let new = "Bram.New@Example.NL";
    let fix = env.verified("rectify", &["--customer", "FO-100002", "--set", &format!("email={new}")]);
    env.dsr().args(["rectify", &fix, "--yes"]).assert().success();
    let before = open_tasks(&env, Some("mailer"));
    assert_eq!(before.len(), 1, "{before:?}");
    assert!(before[0].to_string().contains(new));
    // One entry for the row, with the column the system keeps; not dsr's normalised copy.
    let rows = before[0]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        rows[0]["set"].as_object().map(|s| s.keys().cloned().collect::<Vec<_>>()),
        Some(vec!["address".to_owned()])
    );
    let id = env.verified("erase", &["--email", &new.replace("Example.NL", "example.nl")]);
    env.dsr().args(["erase", &id, "--yes"]).assert().success();
    // Only the erasure's own tasks are open; the rectification's is closed with its reference.
    let open = open_tasks(&env, None);
    assert!(open.iter().all(|t| t["request"] == id.as_str() && t["action"] == "erase"), "{open:?}");
    let (done_ref, rows): (String, Option<String>) = env
        .sql()
        .query_row("SELECT done_ref, rows FROM task WHERE request_id = ?1", [&fix], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert_eq!((done_ref, rows), (format!("superseded by the erasure {id}"), None));
    // Acknowledged after all, the superseded task says what happened to it.
    let superseded: i64 = env.count(&format!("SELECT id FROM task WHERE request_id = '{fix}'"));
    let out = env.run(&["tasks", "done", &superseded.to_string(), "--ref", "late"]);
    assert_eq!(out.status.code(), Some(9), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("was superseded on ")
            && stderr(&out).contains(&format!("by the erasure {id} of the same person")),
        "{}",
        stderr(&out)
    );
    for t in &open {
        env.dsr().args(["tasks", "done", &t["task"].to_string(), "--ref", "done"]).assert().success();
    }
    assert_eq!(state(&env, &id), "completed");
    let left: i64 = env
        .sql()
        .query_row("SELECT count(*) FROM task WHERE instr(lower(coalesce(rows, '')), 'bram.new') > 0", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 0);
    // Nor in the store's bytes (the task's row was rewritten under secure_delete).
    for file in [env.db.clone(), env.db.with_extension("sqlite-wal")] {
        let bytes = std::fs::read(&file).unwrap_or_default().to_ascii_lowercase();
        assert!(!bytes.windows(8).any(|w| w == b"bram.new"), "{}", file.display());
    }
    assert_eq!(env.count("SELECT count(*) FROM audit_log WHERE action = 'task-superseded'"), 1);
    env.dsr().args(["audit", "verify"]).assert().success();
}

#[test]
fn a_file_naming_an_unknown_table_for_a_system_is_refused() {
    let env = Env::with_fixture("webshop");
    let text = stdout(&env.run(&["register", "export"]));
    let bad = format!("{text}\n[[system]]\nname = \"crm\"\ntables = [\"contacts\"]\n");
    std::fs::write(env.path("bad.toml"), bad).unwrap();
    let out = env.run(&["register", "check", "bad.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("system[0].tables[0]: \"contacts\" is not a [[table]] of the data map"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn systems_and_letter_after_tasks_round_trip_through_register_export() {
    let env = shop_with_systems(true);
    let export = env.export_round_trip("again.toml");
    assert!(
        export.starts_with("format_version = 1\ncompany = \"webshop\"\nletter_after_tasks = true\n"),
        "{}",
        &export[..200]
    );
    assert!(export.contains("[[system]]\nname = \"mailer\"\ntables = [\"email_address\"]"), "{export}");
}

#[test]
fn tasks_done_without_a_task_names_both_ways_to_give_one() {
    let env = Env::with_fixture("webshop");
    for (args, says) in [
        (&["tasks", "done"][..], "missing --ref and one of TASK or --file"),
        (&["tasks", "done", "--ref", "x"], "missing one of TASK or --file"),
        (&["tasks", "done", "3", "--file", "acks.csv"], "TASK cannot be used with --file"),
        (&["tasks", "done", "-1", "--ref", "x"], "no task -1"),
    ] {
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        crate::support::assert_one_line_error(&out);
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn an_answer_held_for_the_systems_is_not_delivered_another_way_first() {
    let env = shop_with_systems(true);
    let id = env.verified("erase", &["--email", SANNE]);
    env.dsr().args(["erase", &id, "--yes"]).assert().success();
    let out = env.run(&["request", "delivered", &id, "--channel", "post", "--ref", "letter by post"]);
    assert_eq!(out.status.code(), Some(9), "{}", stderr(&out));
    assert!(stderr(&out).contains("waits until every system has erased too"), "{}", stderr(&out));
    let delivered: Option<String> =
        env.sql().query_row("SELECT delivered_at FROM request WHERE id = ?1", [&id], |r| r.get(0)).unwrap();
    assert_eq!(delivered, None);
    // Without the hold, the letter goes by mail; the answer is delivered once.
    let env = shop_with_systems(false);
    let id = env.verified("erase", &["--email", SANNE]);
    env.dsr().args(["erase", &id, "--yes"]).assert().success();
    assert_eq!(state(&env, &id), "verified", "open tasks keep it open");
    let out = env.run(&["request", "delivered", &id, "--channel", "post", "--ref", "by post"]);
    assert_eq!(out.status.code(), Some(9), "{}", stderr(&out));
    assert!(stderr(&out).contains("was delivered already (email"), "{}", stderr(&out));
}

/// A sync script's file is read as JSON Lines by its first character whatever its name, and a
/// short or broken CSV line is named in words.
#[test]
fn an_acknowledgement_file_is_known_by_its_content_and_bad_lines_are_said_in_words() {
    let env = shop_with_systems(false);
    let id = env.verified("erase", &["--email", SANNE]);
    env.dsr().args(["erase", &id, "--yes"]).assert().success();
    let tasks = open_tasks(&env, None);
    std::fs::write(env.path("acks.txt"), format!("{{\"task\": {}, \"ref\": \"sync 1\"}}\r\n", tasks[0]["task"]))
        .unwrap();
    let (v, code) = env.json::<Value>(&["tasks", "done", "--file", "acks.txt"]);
    assert_eq!((code, v["done"].as_array().map(Vec::len)), (0, Some(1)), "{v}");
    std::fs::write(env.path("acks.csv"), format!("task,ref\n{}\n\"{},x\n", tasks[1]["task"], tasks[1]["task"]))
        .unwrap();
    let out = env.run(&["tasks", "done", "--file", "acks.csv"]);
    assert_eq!(out.status.code(), Some(19), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("line 2: invalid --file: ref: missing"), "{err}");
    assert!(!err.contains("CSV error") && !err.contains("found record with"), "{err}");
    // A reference whose quote is not closed on its line acknowledges nothing with half of it.
    std::fs::write(env.path("open.csv"), format!("task,ref\n{},\"multi\nline\"\n", tasks[1]["task"])).unwrap();
    let out = env.run(&["tasks", "done", "--file", "open.csv"]);
    assert_eq!(out.status.code(), Some(19), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("line 2: invalid --file: the line does not read as CSV (a quote never closed)"),
        "{}",
        stderr(&out)
    );
    // JSON lines that do not read say what is wrong with them, not only the shape expected.
    let t = &tasks[1]["task"];
    let lines = format!(
        "{{\"task\": {t}, \"ref\": \"sync\t2\"}}\n{{\"task\": \"{t}\", \"ref\": \"s\"}}\n\
         {{\"task\": {t}, \"ref\": 7}}\n{{\"ref\": \"s\"}}\n{{\"task\" {t}}}\n"
    );
    std::fs::write(env.path("bad.jsonl"), lines).unwrap();
    let out = env.run(&["tasks", "done", "--file", "bad.jsonl"]);
    assert_eq!(out.status.code(), Some(19), "{}", stderr(&out));
    let err = stderr(&out);
    for (line, why) in [
        (1, "a string holds a tab, line break or other control character as it is"),
        (2, "task: not a whole number"),
        (3, "ref: not a string"),
        (4, "task: missing"),
        (5, "does not read as JSON (expected `:`)"),
    ] {
        assert!(err.contains(&format!("line {line}: invalid --file: {why}")), "line {line}: {err}");
    }
    assert_eq!(open_tasks(&env, None).len(), 1, "the task is still open");
}

/// A JSON line naming `task` twice names no task: neither is acknowledged (that would erase
/// its keys for good). A file of any size is read as it goes; past a thousand refused lines the
/// rest are counted, not told one by one.
#[test]
fn a_line_naming_two_tasks_acknowledges_neither_and_a_long_file_is_counted() {
    let env = shop_with_systems(false);
    let id = env.verified("erase", &["--email", SANNE]);
    env.dsr().args(["erase", &id, "--yes"]).assert().success();
    let tasks = open_tasks(&env, None);
    let (a, b) = (&tasks[0]["task"], &tasks[1]["task"]);
    let mut text = format!("{{\"task\": {a}, \"task\": {b}, \"ref\": \"which one?\"}}\n");
    text.push_str(&format!("{{\"task\": 9999, \"ref\": \"{}\"}}\n", "x".repeat(70_000)));
    for n in 0..1_100 {
        text.push_str(&format!("{{\"task\": {}, \"ref\": \"r\"}}\n", 100_000 + n));
    }
    std::fs::write(env.path("acks.jsonl"), text).unwrap();
    let out = env.run(&["--json", "tasks", "done", "--file", "acks.jsonl"]);
    assert_eq!(out.status.code(), Some(19), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["failed"], 1_102, "{}", v["failed"]);
    assert_eq!(v["refused"].as_array().map(Vec::len), Some(1_000));
    assert!(v["refused"][0]["error"].as_str().unwrap().contains("given twice"), "{}", v["refused"][0]);
    assert!(v["refused"][1]["error"].as_str().unwrap().contains("longer than 64 KiB"), "{}", v["refused"][1]);
    let err = stderr(&out);
    assert!(err.contains("102 more lines refused"), "{}", err.lines().last().unwrap_or_default());
    assert_eq!(open_tasks(&env, None).len(), 2, "neither task was acknowledged");
    // A CSV line too long, a quote never closed, and a JSON array: refused, nothing done.
    let csv = format!("task,ref\n{a},\"{}\n{b},x\n", "y".repeat(70_000));
    std::fs::write(env.path("acks.csv"), csv).unwrap();
    let out = env.run(&["tasks", "done", "--file", "acks.csv"]);
    assert!(stderr(&out).contains("line 2: invalid --file: the line is longer than 64 KiB"), "{}", stderr(&out));
    std::fs::write(env.path("array.jsonl"), format!("[{a}, \"r\"]\n")).unwrap();
    let out = env.run(&["tasks", "done", "--file", "array.jsonl"]);
    assert_eq!(out.status.code(), Some(19), "{}", stderr(&out));
    assert_eq!(open_tasks(&env, None).len(), 1, "only the CSV's line 3 ({b}) was acknowledged");
}

/// The age of the oldest open task is counted one way everywhere: calendar days in UTC.
#[test]
fn a_task_s_age_is_the_same_in_the_list_and_in_status() {
    let mut env = shop_with_systems(true);
    let day = (chrono::Utc::now() + chrono::Duration::days(1)).date_naive();
    let made = day.and_hms_opt(20, 0, 0).unwrap().and_utc();
    env.now = Some(made.format("%Y-%m-%dT%H:%M:%SZ").to_string());
    let id = env.verified("erase", &["--email", SANNE]);
    env.dsr().args(["erase", &id, "--yes"]).assert().success();
    // 34 days and 14 hours later: 35 calendar days.
    let later = made + chrono::Duration::days(34) + chrono::Duration::hours(14);
    env.now = Some(later.format("%Y-%m-%dT%H:%M:%SZ").to_string());
    let list = stdout(&env.run(&["request", "list", "--open"]));
    assert!(list.contains("(oldest 35 days)"), "{list}");
    let (status, _) = env.json::<Value>(&["status"]);
    assert_eq!(status["tasks"]["systems"][0]["oldest_days"], 35, "{}", status["tasks"]);
}

#[test]
fn a_system_with_open_tasks_cannot_be_taken_out_of_the_map() {
    let env = shop_with_systems(false);
    let id = env.verified("erase", &["--email", SANNE]);
    env.dsr().args(["erase", &id, "--yes"]).assert().success();
    // The file without the warehouse: its open task would be left with no system to list it.
    let text = std::fs::read_to_string(env.path("systems.toml")).unwrap();
    let mut file: toml::Table = text.parse().unwrap();
    let systems = file["system"].as_array().unwrap().iter().filter(|s| s["name"].as_str() != Some("warehouse"));
    let kept = toml::Value::Array(systems.cloned().collect());
    file.insert("system".into(), kept);
    std::fs::write(env.path("fewer.toml"), toml::to_string(&file).unwrap()).unwrap();
    let out = env.run(&["register", "apply", "fewer.toml", "--yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("system \"warehouse\": cannot be removed: 1 open task waits for it; acknowledge it first"),
        "{}",
        stderr(&out)
    );
    assert_eq!(env.count("SELECT count(*) FROM map_system WHERE name = 'warehouse'"), 1);
    // Once acknowledged, the system may go.
    let task = open_tasks(&env, Some("warehouse"))[0]["task"].to_string();
    env.run(&["tasks", "done", &task, "--ref", "wms 1"]);
    let out = env.run(&["register", "apply", "fewer.toml", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(env.count("SELECT count(*) FROM map_system WHERE name = 'warehouse'"), 0);
}

/// A restriction of some categories tells only the systems that copy tables holding them, and
/// only those rows: the warehouse hears of restricted orders, the mailing service does not.
#[test]
fn a_restriction_of_some_categories_makes_tasks_for_their_tables_only() {
    let env = shop_with_systems(false);
    let id = env
        .verified("restrict", &["--email", "lucas.peters@example.nl", "--ground", "unlawful", "--category", "reviews"]);
    env.dsr().args(["restrict", &id, "--yes"]).assert().success();
    assert_eq!(open_tasks(&env, None), Vec::<Value>::new(), "no system copies the reviews");
    let id = env.verified(
        "restrict",
        &["--email", "noor.hendriks@example.org", "--ground", "unlawful", "--category", "orders"],
    );
    env.dsr().args(["restrict", &id, "--yes"]).assert().success();
    let tasks = open_tasks(&env, None);
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(tasks[0]["system"], "warehouse", "{tasks:?}");
    let rows = tasks[0]["rows"].as_array().unwrap();
    assert!(!rows.is_empty() && rows.iter().all(|r| r["table"] == "shop_order"), "{rows:?}");
}

/// With `letter_after_tasks`, an erasure's letter waits for the tasks made with it, not for those
/// of its finishing once a legal-claims restriction is lifted; a task of a completed request says
/// the request is completed.
#[test]
fn the_letter_waits_for_the_erasure_s_own_tasks_only() {
    let mut env = shop_with_systems(true);
    env.now = Some("2026-12-08T09:00:00Z".into());
    let kevin = "kevin.degroot@example.org";
    let r = env.verified("restrict", &["--email", kevin, "--ground", "legal-claims", "--category", "orders"]);
    env.dsr().args(["restrict", &r, "--yes"]).assert().success();
    for t in open_tasks(&env, None) {
        env.dsr().args(["tasks", "done", &t["task"].to_string(), "--ref", "sync"]).assert().success();
    }
    let x = env.verified("erase", &["--email", kevin]);
    env.dsr().args(["erase", &x, "--yes"]).assert().success();
    let first = open_tasks(&env, None);
    let lift = ["--reason", "claim-settled", "--notice-days", "1", "--notice-by", "post", "--notice-ref", "letter 3"];
    env.dsr().args(["restrict", "--lift", &r]).args(lift).assert().success();
    env.now = Some("2026-12-09T09:00:00Z".into());
    env.dsr().args(["retention", "run"]).assert().success();
    let later = open_tasks(&env, None).len() - first.len();
    assert_eq!(later, 1, "the finishing tells the warehouse of the order");
    for t in &first {
        env.dsr().args(["tasks", "done", &t["task"].to_string(), "--ref", "sync"]).assert().success();
    }
    env.dsr().args(["mail", "flush"]).assert().success();
    assert!(
        env.messages(&x).iter().any(|m| m.subject.contains("Erasure")),
        "the letter went once its own tasks were done"
    );
    let (shown, _): (Value, i32) = env.json(&["request", "show", &x]);
    assert!(shown["next_action"].as_str().unwrap().contains("1 task open for warehouse"), "{shown}");
    let last = &open_tasks(&env, None)[0];
    let (done, code): (Value, i32) = env.json(&["tasks", "done", &last["task"].to_string(), "--ref", "sync"]);
    assert_eq!(code, 0, "{done}");
    assert_eq!(state(&env, &x), "completed");
    assert_eq!(done["done"][0]["completed"], true, "{done}");
}

/// A letter held for the systems is dated when it goes out, not when the erasure queued it:
/// weeks may lie between, and the date is what the person (and a court) reads.
#[test]
fn a_held_erasure_letter_is_dated_when_the_last_task_lets_it_go() {
    let mut env = shop_with_systems(true);
    env.now = Some("2036-03-10T11:00:00Z".into());
    let id = env.verified("erase", &["--email", SANNE]);
    env.dsr().args(["erase", &id, "--yes"]).assert().success();
    env.now = Some("2036-04-20T12:00:00Z".into());
    for t in open_tasks(&env, None) {
        env.dsr().args(["tasks", "done", &t["task"].to_string(), "--ref", "synced"]).assert().success();
    }
    let letters = env.messages(&id);
    assert_eq!(letters.len(), 2, "the code and the erasure letter");
    let raw = String::from_utf8_lossy(&letters[1].raw).into_owned();
    let date = raw.lines().find(|l| l.starts_with("Date: ")).unwrap();
    assert_eq!(date, "Date: Sun, 20 Apr 2036 12:00:00 +0000", "{raw}");
}

/// A carried-out request that waits only for its systems' tasks was answered: it cannot be
/// refused afterwards (the person has the letter saying it was done), and a new request of the
/// same right is a new request, not that one.
#[test]
fn a_request_carried_out_and_waiting_for_its_tasks_is_not_rejected_and_a_new_one_opens() {
    let env = shop_with_systems(false);
    let id = env.verified("rectify", &["--customer", "FO-100009", "--set", "delivery_postal_code=2312 KP"]);
    env.dsr().args(["rectify", &id, "--yes"]).assert().success();
    assert_eq!(state(&env, &id), "verified", "its task is open");
    let out = env.run(&["request", "reject", &id, "--reason", "other", "--note", "t", "--note-nl", "t"]);
    assert_eq!(out.status.code(), Some(9), "{}", stderr(&out));
    assert_one_line_error(&out);
    assert!(stderr(&out).contains("cannot be rejected any more"), "{}", stderr(&out));
    assert_eq!(state(&env, &id), "verified");
    let letters = env.messages(&id).len();
    // A second correction opens a request of its own.
    let o = env.open("rectify", &["--customer", "FO-100009", "--set", "delivery_postal_code=2313 KP"]);
    assert_ne!(o.request, id);
    assert_eq!(env.messages(&id).len(), letters, "no refusal letter went out");
}

/// An erasure answered by post (no address to mail the letter to) waits for the systems too.
#[test]
fn an_erasure_answered_by_post_is_not_recorded_delivered_before_the_systems_erased() {
    let env = shop_with_systems(true);
    let id = env.verified("erase", &["--email", SANNE]);
    env.sql().execute("DELETE FROM email_address WHERE person_id = 1", []).unwrap();
    env.dsr().args(["erase", &id, "--yes"]).assert().success();
    let tasks = open_tasks(&env, None);
    assert!(!tasks.is_empty());
    let out = env.run(&["request", "delivered", &id, "--channel", "post", "--ref", "RR1"]);
    assert_eq!(out.status.code(), Some(9), "{}", stderr(&out));
    assert_one_line_error(&out);
    assert!(stderr(&out).contains("waits until every system has erased too"), "{}", stderr(&out));
    for t in tasks {
        env.dsr().args(["tasks", "done", &t["task"].to_string(), "--ref", "synced"]).assert().success();
    }
    let out = env.run(&["request", "delivered", &id, "--channel", "post", "--ref", "RR1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(state(&env, &id), "completed");
}

/// A lifted restriction tells the systems it told to restrict: each gets a `lift` task for the
/// same rows, and a restriction task still open is closed by the lift (the system need not
/// restrict what is no longer restricted).
#[test]
fn a_lifted_restriction_gives_lift_tasks_and_closes_the_restriction_s_open_ones() {
    let mut env = shop_with_systems(false);
    env.now = Some("2036-01-05T10:00:00Z".into());
    let id = env.verified("restrict", &["--email", SANNE, "--ground", "accuracy-contested"]);
    env.dsr().args(["restrict", &id, "--yes"]).assert().success();
    let given = open_tasks(&env, None);
    assert_eq!(given.len(), 2, "{given:?}");
    let (mailer, warehouse) = (&open_tasks(&env, Some("mailer"))[0], &open_tasks(&env, Some("warehouse"))[0]);
    env.dsr().args(["tasks", "done", &mailer["task"].to_string(), "--ref", "mailer restricted"]).assert().success();
    let out = env.run(&["restrict", "--lift", &id, "--reason", "accuracy-verified", "--notice-days", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(open_tasks(&env, None).len(), 1, "the notice period changes nothing yet");
    env.now = Some("2036-01-07T10:00:00Z".into());
    env.dsr().args(["retention", "run"]).assert().success();
    let lifts = open_tasks(&env, None);
    assert_eq!(lifts.len(), 2, "{lifts:?}");
    for system in [mailer, warehouse] {
        let lift = lifts.iter().find(|t| t["system"] == system["system"]).unwrap();
        assert_eq!((lift["action"].as_str(), lift["request"].as_str()), (Some("lift"), Some(id.as_str())));
        assert_eq!(lift["rows"], system["rows"], "the same rows as the restriction's task");
    }
    let out = env.run(&["tasks", "done", &warehouse["task"].to_string(), "--ref", "late"]);
    assert_eq!(out.status.code(), Some(9), "{}", stderr(&out));
    assert!(stderr(&out).contains("when the restriction it told of was lifted"), "{}", stderr(&out));
    env.dsr().args(["audit", "verify"]).assert().success();
}

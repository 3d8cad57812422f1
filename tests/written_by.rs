//! Art. 15(4) GDPR for messages in a person's conversation that someone else wrote (the map's
//! `other_people` kind `written-by`): the access answer keeps the message but withholds its
//! author's address; the portability export leaves the message, and the rows under it, out.
//! Anouk Vos (webshop person 13) has a message her partner wrote in her conversation.

use std::io::Read;

use serde_json::Value;

use crate::register_check::{after, check, fixture, index, table};
use crate::support::{answer_rows, stderr, Env};

const ANOUK: &str = "anouk.vos@example.nl";
const PARTNER: &str = "joris.dekker@example.org";
const WITHHELD: &str = "withheld: written by someone else (Art. 15(4) GDPR)";

fn verified(env: &Env, right: &str, who: &[&str]) -> String {
    let o = env.open(right, who);
    let code = env.code(&o.request);
    env.dsr().args(["verify", &o.request, &code]).assert().success();
    o.request
}

/// Every file of a zip archive, as text.
fn zip_text(path: &std::path::Path) -> String {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut all = String::new();
    for i in 0..zip.len() {
        zip.by_index(i).unwrap().read_to_string(&mut all).unwrap();
    }
    all
}

#[test]
fn the_answer_keeps_a_message_someone_else_wrote_but_withholds_their_address() {
    let env = Env::with_fixture("webshop");
    // A message she wrote from her address in other letters is hers.
    env.sql()
        .execute_batch(
            "INSERT INTO support_mail (id, person_id, thread, direction, from_address, subject, body, sent_at)
             VALUES (133, 13, 'Retour pedalen', 'in', 'Anouk.Vos@Example.NL', 'Re: Pedalen retour', 'Gelukt, dank!', '2026-06-20T10:00:00Z')",
        )
        .unwrap();
    let id = verified(&env, "access", &["--email", ANOUK]);
    let (answer, code): (Value, i32) = env.json(&["access", &id]);
    assert_eq!(code, 0, "{answer}");
    let mail = answer_rows(&answer, "support_mail");
    assert_eq!(mail.len(), 3, "every message of her conversation is in the answer: {mail:?}");
    let partner = mail.iter().find(|m| m["id"] == 132).unwrap();
    assert_eq!(partner["from_address"], WITHHELD, "{partner}");
    assert!(partner["body"].as_str().unwrap().contains("partner van Anouk"), "the text is hers to see: {partner}");
    let own = mail.iter().find(|m| m["id"] == 131).unwrap();
    assert_eq!(own["from_address"], ANOUK);
    assert_eq!(mail.iter().find(|m| m["id"] == 133).unwrap()["from_address"], "Anouk.Vos@Example.NL");
    assert!(!answer.to_string().contains(PARTNER), "the partner's address is nowhere in the answer");
    // Nor on the terminal, nor in the archive's pages.
    let out = env.run(&["access", &id]);
    assert!(out.status.success() && !String::from_utf8_lossy(&out.stdout).contains(PARTNER), "{}", stderr(&out));
    let out = env.run(&["access", &id, "--archive", "copy.zip"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = zip_text(&env.path("copy.zip"));
    assert!(!text.contains(PARTNER) && text.contains("Art. 15(4)"), "the archive withholds the address");
}

#[test]
fn the_export_leaves_out_what_someone_else_wrote() {
    let env = Env::with_fixture("webshop");
    let id = verified(&env, "export", &["--email", ANOUK]);
    let out = env.run(&["export", &id, "--out", "anouk.zip"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = zip_text(&env.path("anouk.zip"));
    assert!(text.contains("de pedalen passen niet"), "her own message is hers to port");
    assert!(!text.contains(PARTNER) && !text.contains("partner van Anouk"), "his message is not");
}

#[test]
fn rows_under_a_message_someone_else_wrote_are_left_out_of_the_export_too() {
    // Virtio: Fenna's ticket; a colleague writes in it and sends a copy of his own passport,
    // noted as unsolicited data under his message.
    let env = Env::with_fixture("virtio");
    env.sql()
        .execute_batch(
            "INSERT INTO ticket_message (id, ticket_id, sent_at, direction, from_address, body)
             VALUES (65, 61, '2026-10-01T09:00:00Z', 'in', 'pieter.collega@example.nl', 'Namens Fenna: hierbij mijn paspoort.');
             INSERT INTO unsolicited_data (id, ticket_message_id, description, needed, noted_at)
             VALUES (65, 65, 'Kopie paspoort van een collega', 0, '2026-10-01T09:05:00Z');",
        )
        .unwrap();
    let id = verified(&env, "export", &["--email", "fenna.mulder@example.nl"]);
    let out = env.run(&["export", &id, "--out", "fenna.zip"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = zip_text(&env.path("fenna.zip"));
    assert!(text.contains("verhuizen"), "her own message is in");
    assert!(!text.contains("pieter.collega") && !text.contains("paspoort van een collega"), "his is not");
    // Her access answer has both, without his address.
    let id = verified(&env, "access", &["--email", "fenna.mulder@example.nl"]);
    let (answer, _): (Value, i32) = env.json(&["access", &id]);
    let his = answer_rows(&answer, "ticket_message").into_iter().find(|m| m["id"] == 65).cloned().unwrap();
    assert_eq!(his["from_address"], WITHHELD);
    assert!(answer_rows(&answer, "unsolicited_data").iter().any(|u| u["id"] == 65), "{answer}");
    // Staff replies (direction out) are the company's, not someone else's: their address shows.
    let reply = answer_rows(&answer, "ticket_message").into_iter().find(|m| m["id"] == 62).cloned().unwrap();
    assert_eq!(reply["from_address"], "support@virtio.nl");
}

#[test]
fn each_kind_of_other_people_s_rows_has_what_it_needs() {
    let text = fixture("webshop");
    let i = index(&text, "support_mail");
    let bad = after(
        &text,
        &table("support_mail"),
        "kind = \"written-by\"\ncolumn = \"from_address\"\n",
        "kind = \"written-by\"\ncolumn = \"from_address\"\n\n[[table.other_people.ips_from]]\ntable = \"person\"\ncolumn = \"city\"\n",
    );
    let err = stderr(&check(&bad));
    assert!(
        err.contains(&format!("table[{i}].other_people.ips_from: only for anonymous-by-ip")),
        "written-by takes no IP columns: {err}"
    );
    let text = fixture("virtio");
    let i = index(&text, "server_log");
    let start = text.find(&table("server_log")).unwrap();
    let end = start + text[start..].find("\n[[table]]\n").unwrap();
    let entry = &text[start..end];
    let cut = entry.find("[[table.other_people.ips_from]]").unwrap();
    let bad = format!("{}{}\n{}", &text[..start], entry[..cut].trim_end(), &text[end..]);
    let err = stderr(&check(&bad));
    assert!(err.contains(&format!("table[{i}].other_people.ips_from: missing")), "{err}");
}

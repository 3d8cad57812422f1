//! What the officer sees: plain tables in a pipe, the register's codes, man pages, the request
//! list's next action, and the questions asked on a terminal before anything is removed.

use crate::support::{stdout, Env};

/// The rows of the table under `header` in piped output (up to the first blank line).
fn tsv_rows<'a>(text: &'a str, header: &str) -> Vec<Vec<&'a str>> {
    let mut lines = text.lines().skip_while(|l| *l != header);
    assert!(lines.next().is_some(), "no table with header {header:?} in:\n{text}");
    lines.take_while(|l| !l.is_empty()).map(|l| l.split('\t').collect()).collect()
}

#[test]
fn piped_tables_are_tab_separated_with_a_header_row() {
    let env = Env::with_fixture("virtio");
    let text = stdout(&env.run(&["register"]));
    assert!(!text.contains('│') && !text.contains('─'), "no boxes in a pipe:\n{text}");
    let rows = tsv_rows(&text, "Category\tSource\tPortable\tRetention");
    assert!(rows.iter().all(|r| r.len() == 4), "{rows:?}");
    // A cell of several lines stays on its row: the newline is written as \n.
    let ip = rows.iter().find(|r| r[0] == "IP addresses and sessions").expect("IP row");
    assert_eq!(ip[3], "IP history: 12 months.\\nSessions: 12 months.");
}

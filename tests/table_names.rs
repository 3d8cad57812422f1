//! Nothing in `src/` names a table of the personal data: every such name comes from a company
//! file's data map (`fixtures/*/company.toml`), read by the map loader (`src/map/`) and turned
//! into SQL in `src/store/personal*`. Unit tests, which build maps of their own or check the
//! built-in one, are not engine code and may name tables.

use std::path::{Path, PathBuf};

/// The tables every shipped company file maps.
fn mapped_tables() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> = Vec::new();
    for entry in std::fs::read_dir(root.join("fixtures")).unwrap() {
        let file = entry.unwrap().path().join("company.toml");
        let Ok(text) = std::fs::read_to_string(&file) else { continue };
        let mut in_table = false;
        for line in text.lines() {
            if line.starts_with('[') {
                in_table = line == "[[table]]";
            } else if let (true, Some(name)) = (in_table, line.strip_prefix("name = \"")) {
                names.push(name.trim_end_matches('"').to_owned());
            }
        }
    }
    // Supplementary statements (Art. 16) are written by dsr itself: its own record, mapped so
    // that answers show them and erasure removes them.
    names.retain(|n| n != "supplementary_statement");
    names.sort();
    names.dedup();
    names
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Whether a line of code names `table`: after an SQL keyword (`FROM person`), or quoted where
/// it cannot be another word: a name with an underscore (`"server_log"`), or a one-word name
/// compared with or passed as a table (`table == "invoice"`, `table("invoice")`).
/// One-word names such as "customer" or "cookie" are also kinds of identifier, roles and
/// command-line flags, which may be named.
fn names(line: &str, table: &str) -> bool {
    let code = line.split("//").next().unwrap_or("");
    let quoted = format!("\"{table}\"");
    if code.contains(&quoted) || code.contains(&format!("'{table}'")) {
        let as_table = [format!("table == {quoted}"), format!("table({quoted}"), format!("table: {quoted}")];
        if table.contains('_') || as_table.iter().any(|p| code.contains(p.as_str())) {
            return true;
        }
    }
    let lower = code.to_ascii_lowercase();
    ["from ", "join ", "into ", "update ", "table ", "exists "].iter().any(|k| {
        lower.match_indices(k).any(|(at, _)| {
            let rest = &lower[at + k.len()..];
            rest.starts_with(table) && !rest[table.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        })
    })
}

#[test]
fn no_source_file_names_a_table_of_the_personal_data() {
    let tables = mapped_tables();
    assert!(tables.len() >= 20, "the fixtures map the built-in tables: {tables:?}");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut found = Vec::new();
    for file in files {
        let rel = file.strip_prefix(&src).unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&file).unwrap();
        // Unit tests (at the end of a file) build maps and tables of their own to exercise the
        // engine, or check the built-in map; the code they test names none.
        let code = match text.find("#[cfg(test)]") {
            Some(at) => &text[..at],
            None => &text[..],
        };
        for (n, line) in code.lines().enumerate() {
            for t in tables.iter().filter(|t| names(line, t)) {
                found.push(format!("src/{rel}:{}: {t}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "{} lines name a table of the personal data:\n{}", found.len(), found.join("\n"));
}

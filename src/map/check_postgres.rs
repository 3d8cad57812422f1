//! What a data map cannot name on a PostgreSQL store: a table or column whose name PostgreSQL
//! reserves. dsr's SQL writes the map's names unquoted; there `user` is the current role
//! (`SELECT count(*) FROM user` counts one row, of no table) and `end`, `order` or `limit` break
//! the statement. SQLite reads most of these as names, so the map's SQLite checks let them by.

use super::{own_columns, CompanyFile, Problem};

/// PostgreSQL's reserved key words, and those that can be a function or a type name but not
/// a table or a column (`pg_get_keywords()`, categories R and T; `system_user` since 16).
const RESERVED: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "binary",
    "both",
    "case",
    "cast",
    "check",
    "collate",
    "collation",
    "column",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "false",
    "fetch",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "group",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "intersect",
    "into",
    "is",
    "isnull",
    "join",
    "lateral",
    "leading",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "natural",
    "not",
    "notnull",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "outer",
    "overlaps",
    "placing",
    "primary",
    "references",
    "returning",
    "right",
    "select",
    "session_user",
    "similar",
    "some",
    "symmetric",
    "system_user",
    "table",
    "tablesample",
    "then",
    "to",
    "trailing",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
];

pub fn reserved(name: &str) -> bool {
    RESERVED.contains(&name.to_ascii_lowercase().as_str())
}

/// Each table and column of the map (those its rights name and those it declares) that
/// PostgreSQL reserves, and each company schema with the `pg_` prefix it keeps for itself, as a
/// problem naming it.
pub fn check(f: &CompanyFile) -> Vec<Problem> {
    let mut out = Vec::new();
    for (i, d) in f.database.iter().enumerate().filter(|(_, d)| d.path == super::POSTGRES_SCHEMA) {
        if d.name.to_ascii_lowercase().starts_with("pg_") {
            out.push(Problem {
                line: None,
                key: format!("database[{i}].name"),
                what: format!("{:?} starts with pg_, which PostgreSQL reserves for its own schemas; name the company's schema otherwise", d.name),
            });
        }
    }
    let mut say = |key: String, name: &str| {
        out.push(Problem {
            line: None,
            key,
            what: format!(
                "{name:?} is a reserved word of PostgreSQL, where dsr's SQL would read it as something else{}; rename the table or column in the company's schema and the map",
                if name.eq_ignore_ascii_case("user") { " (the current role)" } else { "" }
            ),
        })
    };
    // (a table in a company's SQLite file beside the server is read and changed by SQLite)
    let files: Vec<&str> =
        f.database.iter().filter(|d| d.path != super::POSTGRES_SCHEMA).map(|d| d.name.as_str()).collect();
    for (i, t) in f.table.iter().enumerate() {
        if t.database.as_deref().is_some_and(|d| files.contains(&d)) {
            continue;
        }
        if reserved(&t.name) {
            say(format!("table[{i}].name"), &t.name);
        }
        let declared =
            t.column.iter().enumerate().map(|(j, c)| (format!("table[{i}].column[{j}].name"), c.name.as_str()));
        let mut seen = std::collections::HashSet::new();
        for (key, column) in own_columns(t, i).into_iter().chain(declared) {
            if reserved(column) && seen.insert(column.to_ascii_lowercase()) {
                say(key, column);
            }
        }
    }
    out
}

/// A map naming the company's SQLite files on a PostgreSQL store places every table in one of
/// them: the files are attached to a connection of dsr's own beside the server's
/// (`store::postgres::beside`), and no statement joins a table of one side with the other's, so
/// a person's rows, their parents and the people must all be in the files. Each table left on
/// the server, as a problem naming it.
pub fn beside(f: &CompanyFile) -> Vec<Problem> {
    let files: Vec<&str> =
        f.database.iter().filter(|d| d.path != super::POSTGRES_SCHEMA).map(|d| d.name.as_str()).collect();
    if files.is_empty() {
        return Vec::new();
    }
    let in_files = |t: &super::table::Table| t.database.as_deref().is_some_and(|d| files.contains(&d));
    f.table
        .iter()
        .enumerate()
        .filter(|(_, t)| !in_files(t))
        .map(|(i, t)| Problem {
            line: None,
            key: format!("table[{i}].database"),
            what: format!(
                "table {:?} would be on the PostgreSQL server while the map places tables in the company's SQLite files ({}); a statement cannot join the two, so place every table of the map in those files, or none (docs/postgresql.md)",
                t.name,
                files.join(", ")
            ),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_words_postgresql_reserves_are_known_in_any_case() {
        assert!(super::reserved("user") && super::reserved("END") && super::reserved("Order"));
        assert!(!super::reserved("customer") && !super::reserved("name") && !super::reserved("value"));
    }
}

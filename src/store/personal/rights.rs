//! The SQL the rights read and write beyond selecting a person's rows, generated from the data
//! map: the row a rectifiable field is corrected in (Art. 16), the recipients a person's rows name
//! or reach (Art. 15(1)(c), 19), the latest consent record and the opt-in flags in force (Art. 7,
//! 21(3)), and the address lookups of the processing check.

use crate::map::table::{ConsentRecord, IdentifierKind, RecipientLink, Rectifiable, Table};
use crate::store::db::Dialect;

use super::{condition, literal, DataMap};

impl DataMap {
    /// Every rectifiable field with its table, in the order of the file.
    pub fn rectifiable(&self) -> impl Iterator<Item = (&Table, &Rectifiable)> {
        self.tables.iter().flat_map(|t| t.rectify.iter().map(move |f| (t, f)))
    }

    /// A rectifiable field by the name a person uses for it.
    pub fn rectifiable_field(&self, field: &str) -> Option<(&Table, &Rectifiable)> {
        self.rectifiable().find(|(_, f)| f.field == field)
    }

    /// The SQL that finds the row a field of the person (?1) is corrected in: one key of the
    /// person's rows holding the field (its `only` rows), in the field's `preferred` order; in a
    /// table holding email addresses, the row of the address the request named (?2, as the column holds it)
    /// comes first.
    pub fn field_row(&self, table: &Table, field: &Rectifiable) -> Option<String> {
        let scope = self.scope(&table.name)?;
        let only = field.only.as_ref().map(|c| format!(" AND +{}", condition(c))).unwrap_or_default();
        let named = table
            .identifier
            .iter()
            .find(|i| i.kind == IdentifierKind::Email)
            .map(|i| format!("({} = ?2) DESC, ", i.column))
            .unwrap_or_default();
        let order = field.preferred.as_deref().unwrap_or(&table.key);
        Some(format!(
            "SELECT {} FROM {} WHERE {}{only} ORDER BY {named}{order} LIMIT 1",
            table.key, scope.from, scope.filter
        ))
    }

    /// The SQL listing the recipients a person's (?1) rows of `table` name in the link's
    /// `column`, with why: (code, because), once each, in the link's `order` (else the key's).
    pub fn recipients_named(&self, table: &Table, link: &RecipientLink) -> Option<String> {
        let column = link.column.as_deref()?;
        let scope = self.scope(&table.name)?;
        // A row filter, never the way in: the person's rows are found through the scope's index
        // (`+column` keeps the planner off an index on the filter's column, which would read
        // every such row of every person).
        let only = link.only.as_ref().map(|c| format!(" AND +{}", condition(c))).unwrap_or_default();
        let order = link.order.as_deref().unwrap_or(&table.key);
        Some(format!(
            "SELECT {column}, {} FROM {} WHERE {} AND {column} IS NOT NULL{only} GROUP BY 1, 2 ORDER BY min({order})",
            because(&link.because, "", false),
            scope.from,
            scope.filter
        ))
    }

    /// The SQL listing the register recipients with the link's `received_via` that a person's
    /// (?1) rows of `table` reach, with why: (code, because), once per recipient, dates the
    /// earliest. Rows of the consent records reach only the recipients of purposes consented to.
    pub fn recipients_via(&self, table: &Table, link: &RecipientLink) -> Option<String> {
        let via = link.received_via.as_deref()?;
        let scope = self.scope(&table.name)?;
        // A row filter, never the way in: the person's rows are found through the scope's index
        // (`+column` keeps the planner off an index on the filter's column, which would read
        // every such row of every person).
        let only = link.only.as_ref().map(|c| format!(" AND +{}", condition(c))).unwrap_or_default();
        let consented = table
            .consent_record
            .as_ref()
            .map(|c| format!(" AND x.{} = r.purpose AND x.{} = 1", c.purpose, c.granted))
            .unwrap_or_default();
        // The person's rows first, the register's few recipients scanned for each (an index
        // the planner would build on `recipient` for every run costs more than the scan). One
        // line per recipient, from the earliest of the rows that reach it (by the first date the
        // reason names, then the key): its date and its values.
        let earliest = first_date(&link.because).map(|d| format!("x.{d}, ")).unwrap_or_default();
        Some(format!(
            "SELECT code, why FROM (SELECT r.code AS code, {} AS why,
               row_number() OVER (PARTITION BY r.code ORDER BY {earliest}x.{}) AS n
             FROM (SELECT * FROM {} WHERE {}{only}) x CROSS JOIN recipient r NOT INDEXED
             WHERE r.received_via = {}{consented}) y WHERE y.n = 1 ORDER BY code",
            because(&link.because, "x.", false),
            table.key,
            scope.from,
            scope.filter,
            literal(via)
        ))
    }

    /// The tables whose rows make a person what the role says (e.g. `customer`).
    pub fn tables_with_role<'m>(&'m self, role: &'m str) -> impl Iterator<Item = &'m Table> {
        self.tables.iter().filter(move |t| t.role.as_deref() == Some(role))
    }

    /// The table of consent records.
    pub fn consent_table(&self) -> Option<(&Table, &ConsentRecord)> {
        self.tables.iter().find_map(|t| t.consent_record.as_ref().map(|c| (t, c)))
    }

    /// The SQL giving a person's (?1) latest consent record for a purpose (?2): (granted,
    /// recorded at).
    pub fn latest_consent(&self) -> Option<String> {
        let (t, c) = self.consent_table()?;
        Some(format!(
            "SELECT {g}, {r} FROM {n} WHERE {f} AND {p} = ?2 ORDER BY {r} DESC, {k} DESC LIMIT 1",
            g = c.granted,
            r = c.recorded_at,
            n = t.sql_name(),
            f = self.scope(&t.name)?.filter,
            p = c.purpose,
            k = t.key
        ))
    }

    /// The opt-in flags covered by a consent purpose: (table, column).
    pub fn opt_ins<'m>(&'m self, purpose: &'m str) -> impl Iterator<Item = (&'m Table, &'m str)> {
        self.tables.iter().flat_map(move |t| {
            t.opt_in.iter().filter(move |o| o.purpose == purpose).map(move |o| (t, o.column.as_str()))
        })
    }

    /// An SQL condition over a row of `name` (its columns qualified by the table name): one of
    /// its opt-in flags is set and the person's latest consent record for that flag's purpose,
    /// if any, is not a withdrawal. `None` for a table without opt-in flags.
    pub fn opt_in_in_force(&self, name: &str) -> Option<String> {
        let table = self.table(name)?;
        let person = self.person_of(name)?;
        let consent = self.consent_table();
        let each: Vec<String> = table
            .opt_in
            .iter()
            .map(|o| {
                let withdrawn = consent.and_then(|(ct, c)| {
                    Some(format!(
                        " AND coalesce((SELECT {n}.{g} FROM {from} WHERE {cp} = {person} AND {n}.{p} = {purpose} ORDER BY {n}.{r} DESC, {n}.{k} DESC LIMIT 1), 1) = 1",
                        n = ct.name,
                        from = ct.sql_name(),
                        g = c.granted,
                        cp = self.person_of(&ct.name)?,
                        p = c.purpose,
                        purpose = literal(&o.purpose),
                        r = c.recorded_at,
                        k = ct.key
                    ))
                });
                format!("({name}.{} = 1{})", o.column, withdrawn.unwrap_or_default())
            })
            .collect();
        match each.len() {
            0 => None,
            1 => each.into_iter().next(),
            _ => Some(format!("({})", each.join(" OR "))),
        }
    }

    /// The SQL that turns a person's (?1) opt-in flags for a purpose off, one statement a flag.
    pub fn opt_ins_off(&self, purpose: &str) -> Vec<String> {
        self.opt_ins(purpose)
            .filter_map(|(t, col)| {
                Some(format!("UPDATE {} SET {col} = 0 WHERE {}", t.sql_name(), self.scope(&t.name)?.filter))
            })
            .collect()
    }

    /// The SQL that records a withdrawal of a person's (?1) consent to a purpose (?2) at a time
    /// (?3), as a record dsr wrote; `None` when the consent records do not hang from the person
    /// directly (there is no one row to write it under).
    pub fn consent_withdrawal(&self) -> Option<String> {
        let (t, c) = self.consent_table()?;
        let link = t.link.as_ref().filter(|l| self.table(&l.parent).is_some_and(|p| p.root))?;
        let (source, dsr) = match &c.source {
            Some(col) => (format!(", {col}"), ", 'dsr'"),
            None => (String::new(), ""),
        };
        Some(format!(
            "INSERT INTO {} ({}, {}, {}, {}{source}) VALUES (?1, ?2, 0, ?3{dsr})",
            t.sql_name(),
            link.column,
            c.purpose,
            c.granted,
            c.recorded_at
        ))
    }

    /// The SQL: whether any of a person's (?1) flags for a purpose's opt-in is set.
    pub fn opted_in(&self, purpose: &str) -> Option<String> {
        let any: Vec<String> = self
            .opt_ins(purpose)
            .map(|(t, col)| {
                Some(format!("SELECT 1 FROM {} WHERE {} AND {col} = 1", t.sql_name(), self.scope(&t.name)?.filter))
            })
            .collect::<Option<_>>()?;
        (!any.is_empty()).then(|| format!("SELECT EXISTS ({})", any.join(" UNION ALL ")))
    }

    /// The SQL listing a person's (?1) identifiers of a kind, as compared (the normalised form).
    pub fn identifiers_of(&self, kind: IdentifierKind) -> Option<String> {
        let each: Vec<String> = self
            .identifiers(kind)
            .map(|(t, col)| {
                Some(format!(
                    "SELECT {col} FROM {} WHERE {} AND {col} IS NOT NULL",
                    t.sql_name(),
                    self.scope(&t.name)?.filter
                ))
            })
            .collect::<Option<_>>()?;
        (!each.is_empty()).then(|| each.join(" UNION ALL "))
    }

    /// [`DataMap::identifiers_of`] for many people at once (?1: a JSON array of person ids):
    /// (person, identifier) rows.
    pub fn identifiers_of_many(&self, kind: IdentifierKind, dialect: Dialect) -> Option<String> {
        let people = match dialect {
            Dialect::Sqlite => "IN (SELECT value FROM json_each(?1))",
            Dialect::Postgres => {
                "IN (SELECT CAST(value AS bigint) FROM json_array_elements_text(CAST(?1 AS text)::json))"
            }
        };
        let each: Vec<String> = self
            .identifiers(kind)
            .map(|(t, col)| {
                // The scope's one `= ?1` is the person's id, innermost: any of the people instead.
                // A scope of another form gives no SQL, and the caller reads person by person.
                let filter = self.scope(&t.name)?.filter;
                if filter.matches("?1").count() != 1 || !filter.contains("= ?1") {
                    return None;
                }
                let filter = filter.replacen("= ?1", people, 1);
                Some(format!(
                    "SELECT {}, {col} FROM {} WHERE {filter} AND {col} IS NOT NULL",
                    self.person_of(&t.name)?,
                    t.sql_name()
                ))
            })
            .collect::<Option<_>>()?;
        (!each.is_empty()).then(|| each.join(" UNION ALL "))
    }

    /// The SQL listing who holds an email address (?1, folded): (person, the row's flag for the
    /// purpose's opt-in, NULL where the table has none).
    pub fn address_holders(&self, purpose: &str) -> Option<String> {
        let each: Vec<String> = self
            .identifiers(IdentifierKind::Email)
            .map(|(t, col)| {
                Some(format!(
                    "SELECT {}, {} FROM {} WHERE {col} = ?1",
                    self.person_of(&t.name)?,
                    opt_in_flag(t, purpose).as_deref().unwrap_or("NULL"),
                    t.sql_name()
                ))
            })
            .collect::<Option<_>>()?;
        (!each.is_empty()).then(|| each.join(" UNION ALL "))
    }

    /// The SQL that looks up a batch of email addresses at once (?1, a JSON array of folded
    /// addresses), for a purpose (?2): (place in the batch, person, the row's opt-in flag for the
    /// purpose or NULL, granted and recorded at of the person's latest consent record for it).
    /// The consent is not read for a row whose flag is off when ?3 is 1 (the purpose has opt-in
    /// flags: such an address is denied whatever its consent says). The array is read by
    /// SQLite's `json_each` or PostgreSQL's `json_array_elements_text`, places counted from 0.
    pub fn address_batch(&self, purpose: &str, dialect: Dialect) -> Option<String> {
        let consent = self.consent_table();
        // SQLite's CROSS JOIN keeps the batch as the outer loop (its planner does not reorder it).
        let (batch, place) = match dialect {
            Dialect::Sqlite => ("json_each(?1) j CROSS JOIN", "j.key"),
            Dialect::Postgres => {
                ("json_array_elements_text(CAST(?1 AS text)::json) WITH ORDINALITY AS j(value, key) JOIN", "j.key - 1")
            }
        };
        let each: Vec<String> = self
            .identifiers(IdentifierKind::Email)
            .map(|(t, col)| {
                let person = self.person_of(&t.name)?;
                let (flag, read) = match opt_in_flag(t, purpose) {
                    Some(flag) => (flag.clone(), format!("{flag} = 1 OR ?3 = 0")),
                    None => ("NULL".to_owned(), "?3 IS NOT NULL".to_owned()),
                };
                let (cols, join) = match consent {
                    Some((ct, c)) => (
                        format!("c.{}, c.{}", c.granted, c.recorded_at),
                        format!(
                            "\n LEFT JOIN {from} c ON c.{k} = CASE WHEN {read} THEN
     (SELECT {n}.{k} FROM {from} WHERE {cp} = {person} AND {n}.{p} = ?2
      ORDER BY {n}.{r} DESC, {n}.{k} DESC LIMIT 1) END",
                            n = ct.name,
                            from = ct.sql_name(),
                            k = ct.key,
                            cp = self.person_of(&ct.name)?,
                            p = c.purpose,
                            r = c.recorded_at
                        ),
                    ),
                    // No consent records: none is ever found (the parameters still bound).
                    None => ("nullif(?2, ?2), nullif(?3, ?3)".to_owned(), String::new()),
                };
                Some(format!(
                    "SELECT {place}, {person}, {flag}, {cols}
 FROM {batch} {from} ON {n}.{col} = j.value{join}",
                    n = t.name,
                    from = t.sql_name()
                ))
            })
            .collect::<Option<_>>()?;
        (!each.is_empty()).then(|| each.join("\nUNION ALL\n"))
    }
}

/// A row's opt-in flag for a purpose as SQL over the table's qualified columns; NULL where the
/// table has no flag for it.
fn opt_in_flag(t: &Table, purpose: &str) -> Option<String> {
    t.opt_in.iter().find(|o| o.purpose == purpose).map(|o| format!("{}.{}", t.name, o.column))
}

/// The column of the first `{column:date}` of a reason.
fn first_date(template: &str) -> Option<&str> {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}')? + open;
        if let Some(col) = rest[open + 1..close].strip_suffix(":date") {
            return Some(col);
        }
        rest = &rest[close + 1..];
    }
    None
}

/// A recipient link's `because` as an SQL text expression: its words, `{column}` the column's
/// value, `{column:date}` its first ten characters (the date of a UTC time), with `earliest`
/// the date of the earliest row of a group. A column without a value gives no text, so the line
/// still reads (a NULL would make the whole text NULL).
fn because(template: &str, qualifier: &str, earliest: bool) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|c| open + c) else { break };
        if open > 0 {
            parts.push(literal(&rest[..open]));
        }
        let inner = &rest[open + 1..close];
        parts.push(match inner.strip_suffix(":date") {
            Some(col) if earliest => format!("coalesce(substr(min({qualifier}{col}), 1, 10), '')"),
            Some(col) => format!("coalesce(substr({qualifier}{col}, 1, 10), '')"),
            None => format!("coalesce(CAST({qualifier}{inner} AS TEXT), '')"),
        });
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() || parts.is_empty() {
        parts.push(literal(rest));
    }
    parts.join(" || ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::personal::builtin;

    #[test]
    fn the_check_lookups_of_the_built_in_map_keep_their_hand_written_shape() {
        let map = DataMap { tables: builtin() };
        // check --stdin: the addresses of the people a batch allows, against the suppression list.
        assert_eq!(
            map.identifiers_of_many(IdentifierKind::Email, Dialect::Sqlite).unwrap(),
            "SELECT email_address.person_id, address_norm FROM email_address WHERE person_id IN (SELECT value FROM json_each(?1)) AND address_norm IS NOT NULL"
        );
        assert!(
            map.identifiers_of_many(IdentifierKind::Email, Dialect::Postgres).unwrap().contains(
                "person_id IN (SELECT CAST(value AS bigint) FROM json_array_elements_text(CAST(?1 AS text)::json))"
            ),
            "the same on PostgreSQL"
        );
        // check --stdin: one statement per batch, the address index read alone (migration 9).
        assert_eq!(
            map.address_batch("newsletter", Dialect::Sqlite).unwrap(),
            "SELECT j.key, email_address.person_id, email_address.newsletter_opt_in, c.granted, c.recorded_at
 FROM json_each(?1) j CROSS JOIN email_address ON email_address.address_norm = j.value
 LEFT JOIN consent c ON c.id = CASE WHEN email_address.newsletter_opt_in = 1 OR ?3 = 0 THEN
     (SELECT consent.id FROM consent WHERE consent.person_id = email_address.person_id AND consent.purpose = ?2
      ORDER BY consent.recorded_at DESC, consent.id DESC LIMIT 1) END"
        );
        assert_eq!(
            map.opt_in_in_force("email_address").unwrap(),
            "(email_address.newsletter_opt_in = 1 AND coalesce((SELECT consent.granted FROM consent WHERE consent.person_id = email_address.person_id AND consent.purpose = 'newsletter' ORDER BY consent.recorded_at DESC, consent.id DESC LIMIT 1), 1) = 1)"
        );
        assert_eq!(
            map.latest_consent().unwrap(),
            "SELECT granted, recorded_at FROM consent WHERE person_id = ?1 AND purpose = ?2 ORDER BY recorded_at DESC, id DESC LIMIT 1"
        );
        assert!(map.opted_in("analytics").is_none() && map.opt_in_in_force("person").is_none());
        let (table, field) = map.rectifiable_field("email").unwrap();
        assert_eq!(
            map.field_row(table, field).unwrap(),
            "SELECT id FROM email_address WHERE person_id = ?1 ORDER BY (address_norm = ?2) DESC, is_primary DESC, created_at, id LIMIT 1"
        );
    }

    #[test]
    fn every_generated_lookup_runs_on_the_schema() {
        let store = crate::store::Store::in_memory().unwrap();
        let map = DataMap { tables: builtin() };
        let mut sql: Vec<String> = map.rectifiable().filter_map(|(t, f)| map.field_row(t, f)).collect();
        for t in &map.tables {
            sql.extend(t.recipient.iter().filter_map(|l| map.recipients_named(t, l).or(map.recipients_via(t, l))));
            sql.extend(map.opt_in_in_force(&t.name).map(|c| format!("SELECT count(*) FROM {} WHERE {c}", t.name)));
        }
        sql.extend(
            [map.latest_consent(), map.opted_in("newsletter"), map.address_holders("newsletter")].into_iter().flatten(),
        );
        sql.extend(map.identifiers_of(IdentifierKind::Email));
        sql.extend(map.identifiers_of_many(IdentifierKind::Email, Dialect::Sqlite));
        sql.extend(map.address_batch("newsletter", Dialect::Sqlite));
        assert!(sql.len() > 20);
        for q in sql {
            store.conn.prepare(&q).unwrap_or_else(|e| panic!("{q}: {e}"));
        }
    }

    #[test]
    fn a_because_template_becomes_text_with_the_row_s_values() {
        assert_eq!(
            because("registration of domain {name}", "", false),
            "'registration of domain ' || coalesce(CAST(name AS TEXT), '')"
        );
        assert_eq!(
            because("{step} on {at:date}", "x.", true),
            "coalesce(CAST(x.step AS TEXT), '') || ' on ' || coalesce(substr(min(x.at), 1, 10), '')"
        );
        assert_eq!(first_date("{step} on {at:date}, {other:date}"), Some("at"));
        assert_eq!(first_date("payment method ({kind})"), None);
        assert_eq!(because("it's fixed", "", false), "'it''s fixed'");
    }
}

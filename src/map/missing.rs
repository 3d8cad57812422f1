//! Keys a company file leaves out that its entries need: each one named, not only the first.
//! serde stops at the first missing field; here the file is read again with a stand-in value
//! in that place (an empty text, `false`, `0`, an empty list or table: the first its type takes),
//! until it reads or another kind of mistake stops it. The stand-ins never reach a store: a file
//! with a missing key has a problem, and nothing is written.

use super::problem::Problem;
use super::CompanyFile;
use toml::Value;

/// At most this many stand-ins are tried (a file missing more keys stops at the first).
const TRIES: usize = 512;

/// A file read with stand-ins and the keys they stand for, or the problems that stopped it.
pub(super) type Filled = Result<(CompanyFile, Vec<Problem>), Vec<Problem>>;

/// The file read with a stand-in for every key it leaves out, and a problem naming each; when
/// another kind of mistake stops the reading, the keys found missing so far and that mistake.
/// `None` when it does not read even so (the caller reports its first mistake, as before).
pub(super) fn read_filled(text: &str) -> Option<Filled> {
    let mut doc = Value::Table(toml::from_str(text).ok()?);
    let mut missing: Vec<Problem> = Vec::new();
    // Each key filled in, and which of the stand-ins it holds.
    let mut filled: Vec<(String, usize)> = Vec::new();
    for _ in 0..TRIES {
        let e = match serde_path_to_error::deserialize::<_, CompanyFile>(doc.clone()) {
            Ok(file) => return Some(Ok((file, missing))),
            Err(e) => e,
        };
        let path = e.path().to_string();
        let message = e.inner().message().lines().next().unwrap_or_default().to_owned();
        if let Some(field) = message.strip_prefix("missing field `").and_then(|m| m.strip_suffix('`')) {
            let key = if path.is_empty() || path == "." { field.to_owned() } else { format!("{path}.{field}") };
            *slot(&mut doc, &key)? = stand_in(0)?;
            // A key inside a stand-in table is the stand-in's own, not another problem.
            if !filled.iter().any(|(k, _)| inside(&key, k)) {
                missing.push(Problem {
                    line: None,
                    key: key.clone(),
                    what: "missing: this entry needs it (docs/register-file.md)".into(),
                });
            }
            filled.push((key, 0));
        } else if let Some((key, tried)) = filled.iter_mut().find(|(k, _)| *k == path) {
            // A kind: the first of those it may be.
            *slot(&mut doc, key)? = match first_variant(&message) {
                Some(variant) if *tried == 0 => Value::String(variant),
                _ => {
                    *tried += 1;
                    stand_in(*tried)?
                }
            };
        } else {
            if !filled.iter().any(|(k, _)| inside(&path, k)) {
                let key = if path.is_empty() || path == "." { "(file)".to_owned() } else { path };
                missing.push(Problem { line: None, key, what: message });
            }
            return Some(Err(missing));
        }
    }
    None
}

/// The first variant of "unknown variant ``, expected one of `a`, `b`" (or "expected `a` or `b`").
fn first_variant(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown variant")?;
    let after = &rest[rest.find("expected")?..];
    let start = after.find('`')? + 1;
    let len = after[start..].find('`')?;
    Some(after[start..start + len].to_owned())
}

/// `more` problems of a file added to `problems`, whose first `missing` name the keys the file
/// leaves out: the stand-in read in such a key's place is not another problem.
pub(super) fn add(problems: &mut Vec<Problem>, missing: usize, more: Vec<Problem>) {
    let keys: Vec<String> = problems[..missing].iter().map(|p| p.key.clone()).collect();
    problems.extend(more.into_iter().filter(|p| !keys.iter().any(|m| p.key == *m || inside(&p.key, m))));
}

/// Whether `key` lies inside the entry `outer` (`controller.name` inside `controller`).
fn inside(key: &str, outer: &str) -> bool {
    key.strip_prefix(outer).is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
}

fn stand_in(tried: usize) -> Option<Value> {
    Some(match tried {
        0 => Value::String(String::new()),
        1 => Value::Boolean(false),
        2 => Value::Integer(0),
        3 => Value::Array(Vec::new()),
        4 => Value::Table(toml::Table::new()),
        _ => return None,
    })
}

/// The place of a key path such as `table[3].rectify[0].validator` in the document, made when
/// its last segment is not there yet.
fn slot<'a>(doc: &'a mut Value, path: &str) -> Option<&'a mut Value> {
    let mut at = doc;
    let segments: Vec<&str> = path.split('.').collect();
    for (n, segment) in segments.iter().enumerate() {
        let mut parts = segment.split('[');
        let name = parts.next()?;
        let table = at.as_table_mut()?;
        at = if n + 1 == segments.len() && !segment.contains('[') {
            table.entry(name.to_owned()).or_insert(Value::Boolean(false))
        } else {
            table.get_mut(name)?
        };
        for index in parts {
            let i: usize = index.strip_suffix(']')?.parse().ok()?;
            at = at.as_array_mut()?.get_mut(i)?;
        }
    }
    Some(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_finds_and_makes_keys() {
        let mut doc = Value::Table(toml::from_str("[[a]]\nx = 1\n[[a]]\ny = 2\n[b]\nz = 3\n").unwrap());
        assert_eq!(slot(&mut doc, "a[1].y").cloned(), Some(Value::Integer(2)));
        *slot(&mut doc, "a[0].w").unwrap() = Value::String("new".into());
        assert_eq!(doc["a"][0]["w"].as_str(), Some("new"));
        assert!(slot(&mut doc, "a[5].x").is_none());
        assert!(inside("controller.name", "controller") && !inside("controllers", "controller"));
        assert_eq!(first_variant("unknown variant ``, expected one of `integer`, `text`").as_deref(), Some("integer"));
        assert_eq!(first_variant("unknown variant ``, expected `exact` or `any-case`").as_deref(), Some("exact"));
    }
}

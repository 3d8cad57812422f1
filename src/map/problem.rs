//! A problem in a company file, and where it is: its key path and the line that key is on.

/// One problem in a company file: where (a key path, and a line when known) and what.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub line: Option<usize>,
    pub key: String,
    pub what: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}: {}", self.key, self.what),
            None => write!(f, "{}: {}", self.key, self.what),
        }
    }
}

/// Problems in the order of their lines in the file (those without a line last), each kept in
/// its place among those of the same line.
pub fn in_file_order(problems: &mut [Problem]) {
    problems.sort_by_key(|p| p.line.unwrap_or(usize::MAX));
}

/// Give each problem the line of its key, found by walking the document's spans along the path;
/// a key the file leaves out (a missing `purposes`) is placed on the entry that lacks it.
pub fn locate(text: &str, problems: &mut [Problem]) {
    let Ok(doc) = toml::de::DeTable::parse(text) else { return };
    for p in problems.iter_mut().filter(|p| p.line.is_none()) {
        let at = span_of(doc.get_ref(), &p.key)
            .or_else(|| p.key.rsplit_once('.').and_then(|(entry, _)| span_of(doc.get_ref(), entry)));
        p.line = at.map(|at| line_at(text, at));
    }
}

/// Where a key path such as `category[3].tables[1]` is written in the document.
fn span_of(root: &toml::de::DeTable<'_>, path: &str) -> Option<usize> {
    let mut table = root;
    let mut at = None;
    for segment in path.split('.') {
        let mut parts = segment.split('[');
        let name = parts.next()?;
        let (key, mut value) = table.iter().find(|(k, _)| k.get_ref() == name)?;
        at = Some(key.span().start);
        for index in parts {
            let i: usize = index.strip_suffix(']')?.parse().ok()?;
            let toml::de::DeValue::Array(items) = value.get_ref() else { return None };
            value = items.get(i)?;
            at = Some(value.span().start);
        }
        if let toml::de::DeValue::Table(t) = value.get_ref() {
            table = t;
        }
    }
    at
}

fn line_at(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].matches('\n').count() + 1
}

pub(super) fn toml_problem(text: &str, e: &toml::de::Error, key: String) -> Problem {
    let line = e.span().map(|s| line_at(text, s.start));
    // An error of the file's syntax has no key path: the text it points at names it (the key
    // written twice), where that is one short line.
    let written = || {
        let at = e.span().and_then(|s| text.get(s))?.trim();
        (!at.is_empty() && at.len() <= 60 && !at.contains(['\n', '\r'])).then(|| format!("`{at}`"))
    };
    let key = if key.is_empty() || key == "." { written().unwrap_or_else(|| "(file)".to_owned()) } else { key };
    Problem { line, key, what: e.message().trim().replace('\n', " ") }
}

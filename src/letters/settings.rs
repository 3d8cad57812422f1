//! The company's choices for its letters: the `[letters]` section of the company file
//! (docs/register-file.md) with the templates of its `dir` read beside the file, kept in the
//! store (`store_meta` key `letters`, as JSON) so that what was checked is what is sent, on
//! SQLite and PostgreSQL alike; and the directory a company edits (`dsr letters check`,
//! `dsr letters export`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{kinds, render};
use crate::store::db::Db;
use crate::vals;

/// The languages the letters are written in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Languages {
    /// Dutch first, then English (the default).
    #[default]
    Both,
    Nl,
    En,
}

/// `[letters]` in the company file, as written; `templates` are the files of `dir`, read when
/// the file is (never written into the company file itself).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub languages: Option<Languages>,
    /// The directory of the company's templates (`nl/KIND.txt`, `en/KIND.txt`), relative to the
    /// company file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<String>,
    /// Text above the controller's details in each Dutch half ("Met vriendelijke groet, ...").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_nl: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_en: Option<String>,
    #[serde(skip)]
    pub templates: BTreeMap<String, String>,
}

/// What the letters are written with: the section as it applies (defaults filled in).
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub languages: Languages,
    pub signature_nl: Option<String>,
    pub signature_en: Option<String>,
    /// The company's templates by file name (`nl/erasure.txt`); the shipped ones for the rest.
    pub templates: BTreeMap<String, String>,
}

impl From<Section> for Settings {
    fn from(s: Section) -> Settings {
        Settings {
            languages: s.languages.unwrap_or_default(),
            signature_nl: s.signature_nl,
            signature_en: s.signature_en,
            templates: s.templates,
        }
    }
}

/// The stored form: the section with its templates.
#[derive(Serialize, Deserialize)]
struct Stored {
    #[serde(flatten)]
    section: Section,
    #[serde(default)]
    templates: BTreeMap<String, String>,
}

const KEY: &str = "letters";

/// The store's `[letters]` section, with its templates; None when the company file had none.
pub fn load(db: &dyn Db) -> anyhow::Result<Option<Section>> {
    let text: Option<String> = db.first("SELECT value FROM store_meta WHERE key = ?1", &vals![KEY]?, |r| r.get(0))?;
    let Some(text) = text else { return Ok(None) };
    let stored: Stored = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("the store's letter settings (store_meta 'letters') do not read: {e}"))?;
    Ok(Some(Section { templates: stored.templates, ..stored.section }))
}

/// Keep a company file's `[letters]` section (with its checked templates) in the store.
pub fn save(db: &dyn Db, section: Option<&Section>) -> anyhow::Result<()> {
    db.run("DELETE FROM store_meta WHERE key = ?1", &vals![KEY]?)?;
    if let Some(s) = section {
        let stored =
            Stored { section: Section { templates: BTreeMap::new(), ..s.clone() }, templates: s.templates.clone() };
        db.run("INSERT INTO store_meta (key, value) VALUES (?1, ?2)", &vals![KEY, serde_json::to_string(&stored)?]?)?;
    }
    Ok(())
}

/// One problem of a template directory: the file as shown (the directory as given joined with
/// `nl/erasure.txt`) and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub file: PathBuf,
    pub what: String,
}

/// Read the templates of a directory (`nl/*.txt`, `en/*.txt`; files starting with a dot are
/// skipped) and check each; `shown` is the directory as the person named it.
pub fn read_dir(dir: &Path, shown: &Path) -> (BTreeMap<String, String>, Vec<Problem>) {
    let mut templates = BTreeMap::new();
    let mut problems = Vec::new();
    let mut say = |file: PathBuf, what: String| problems.push(Problem { file, what });
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            say(shown.to_path_buf(), format!("cannot read the directory of letter templates: {e}"));
            return (templates, problems);
        }
    };
    let mut files = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        if e.path().is_dir() {
            for f in std::fs::read_dir(e.path()).into_iter().flatten().flatten() {
                let file = f.file_name().to_string_lossy().into_owned();
                if file.starts_with('.') {
                    continue;
                }
                if f.path().is_dir() {
                    say(
                        shown.join(&name).join(&file),
                        "is a folder: the templates are the files nl/KIND.txt and en/KIND.txt (docs/letters.md)".into(),
                    );
                } else {
                    files.push(format!("{name}/{file}"));
                }
            }
        } else {
            files.push(name);
        }
    }
    files.sort();
    for file in files {
        match std::fs::read_to_string(dir.join(&file)) {
            Ok(text) => {
                // A byte order mark an editor put first is no part of the letter.
                let text = text.strip_prefix('\u{feff}').map(str::to_owned).unwrap_or(text);
                for what in render::check_one(&file, &text) {
                    say(shown.join(&file), what);
                }
                templates.insert(file, text);
            }
            Err(e) => say(shown.join(&file), format!("cannot be read as UTF-8 text: {e}")),
        }
    }
    (templates, problems)
}

/// Read a company file's template directory (relative to the file's own directory `base`) into
/// its section; every problem as a problem of the company file, on the key `letters.dir`.
pub fn read_into(section: Option<&mut Section>, base: &Path) -> Vec<crate::map::Problem> {
    let Some(section) = section else { return Vec::new() };
    let mut out = Vec::new();
    let mut say = |key: &str, what: String| out.push(crate::map::Problem { line: None, key: key.into(), what });
    if section.languages.unwrap_or_default() == Languages::Both
        && section.signature_nl.is_some() != section.signature_en.is_some()
    {
        let key = if section.signature_nl.is_some() { "letters.signature_en" } else { "letters.signature_nl" };
        say(key, "a signature text in one language only; the letters are written in both".into());
    }
    if let Some(dir) = &section.dir {
        let (templates, problems) = read_dir(&base.join(dir), Path::new(dir));
        for p in problems {
            say("letters.dir", format!("{}: {}", p.file.display(), p.what));
        }
        section.templates = templates;
    }
    out
}

/// Write the shipped templates into `dir` (`nl/KIND.txt`, `en/KIND.txt`) for a company to edit;
/// an existing file is kept unless `force`. Returns the files written.
pub fn export(dir: &Path, force: bool) -> anyhow::Result<Vec<PathBuf>> {
    use anyhow::Context;
    // A path through a file (`c.toml/nl`) or to one is the caller's mistake, said as such.
    for above in dir.ancestors().filter(|a| !a.as_os_str().is_empty()) {
        if above.exists() && !above.is_dir() {
            return Err(crate::error::Error::invalid(
                "letters export",
                format!("{} is a file, not a directory: name a directory (made if it does not exist)", above.display()),
            )
            .into());
        }
    }
    let mut written = Vec::new();
    for (file, _) in kinds::SHIPPED {
        let path = dir.join(file);
        if path.exists() && !force {
            return Err(crate::error::Error::OutputExists(path).into());
        }
    }
    for (file, text) in kinds::SHIPPED {
        let path = dir.join(file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot make {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

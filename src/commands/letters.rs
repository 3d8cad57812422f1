//! `dsr letters check DIR` and `dsr letters export DIR`: the company's letter templates, without
//! a store (docs/letters.md). A directory that passes `check` is what `[letters] dir` may name.

use crate::cli::LettersCommand;
use crate::error::Error;
use crate::exit::Code;
use crate::letters::settings;
use crate::output::Output;

pub fn letters(cmd: &LettersCommand, out: &Output) -> anyhow::Result<Code> {
    match cmd {
        LettersCommand::Check { dir } => check(dir, out),
        LettersCommand::Export { dir, force } => {
            let written = settings::export(dir, *force)?;
            if out.json {
                let files: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
                out.json(
                    &serde_json::json!({"format_version": 1, "dir": dir.display().to_string(), "written": files}),
                )?;
            } else {
                out.status(&format!(
                    "Wrote {} templates into {}; name it in the company file as [letters] dir = \"...\".",
                    written.len(),
                    dir.display()
                ))?;
            }
            Ok(Code::Ok)
        }
    }
}

fn check(dir: &std::path::Path, out: &Output) -> anyhow::Result<Code> {
    let (templates, problems) = settings::read_dir(dir, dir);
    if out.json {
        let listed: Vec<_> = problems
            .iter()
            .map(|p| serde_json::json!({"file": p.file.display().to_string(), "what": p.what}))
            .collect();
        let files: Vec<&String> = templates.keys().collect();
        out.json(&serde_json::json!({
            "format_version": 1,
            "dir": dir.display().to_string(),
            "ok": problems.is_empty(),
            "templates": files,
            "problems": listed,
        }))?;
    } else {
        for p in &problems {
            // A file name is the filesystem's: escaped like any stored text.
            let said = format!("{}: {}", p.file.display(), p.what);
            crate::output::stderr_line(&format!("dsr: {}", crate::output::sanitize::line(&said)))?;
        }
    }
    if !problems.is_empty() {
        let n = problems.len();
        let s = if n == 1 { "" } else { "s" };
        return Err(Error::invalid("letter templates", format!("{} has {n} problem{s}", dir.display())).into());
    }
    if !out.json {
        let total = crate::letters::kinds::SHIPPED.len();
        out.outcome(&format!(
            "{}: no problems ({} of {total} templates are the company's, the rest are shipped)",
            dir.display(),
            templates.len()
        ))?;
    }
    Ok(Code::Ok)
}

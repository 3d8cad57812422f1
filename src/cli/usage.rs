//! Usage errors in one line. clap's own message repeats what was typed (`dsr lookup
//! jan@example.nl` would print the address back) and adds a usage block; error lines end up in
//! cron mails and logs, so dsr renders clap's errors itself: the kind of mistake, the flag it
//! concerns and what to do, never a value the user typed. Help and version are printed as clap
//! writes them, in the colour `--color` / `NO_COLOR` ask for.

use clap::error::{ContextKind, ContextValue, ErrorKind};

use crate::error::Error;

/// What parsing the command line came to.
pub enum Parsed {
    /// A command to run.
    Run(Box<super::Cli>),
    /// Help or the version was printed: nothing more to do (exit 0).
    Shown,
}

/// Parse the process arguments. A usage error comes back as an [`Error::Invalid`] (exit 2).
pub fn parse() -> anyhow::Result<Parsed> {
    use clap::FromArgMatches;
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let command = with_store_fields(&args).color(color(&args));
    let parsed = command.try_get_matches_from(&args).and_then(|m| super::Cli::from_arg_matches(&m));
    match parsed {
        Ok(cli) => Ok(Parsed::Run(Box::new(cli))),
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            e.print()?;
            Ok(Parsed::Shown)
        }
        Err(e) => {
            let path = command_path(&args);
            let line = misplaced(&e, &args, &path).unwrap_or_else(|| one_line(&e, &path));
            Err(Error::Usage(line).into())
        }
    }
}

/// A flag of the subcommand typed before the subcommand's name (`dsr --jobs 4 export ...`):
/// clap reads it as the top level's and finds no such flag there, though the subcommand's help
/// lists it.
fn misplaced(e: &clap::Error, args: &[std::ffi::OsString], path: &str) -> Option<String> {
    if e.kind() != ErrorKind::UnknownArgument {
        return None;
    }
    let typed = first(e, ContextKind::InvalidArg)?;
    let flag = known_shape(typed.split('=').next()?)?.to_owned();
    let (command, names) = subcommands(args);
    let name = flag.trim_start_matches('-');
    let defined = command.get_arguments().any(|a| a.get_long() == Some(name));
    let typed_at = args.iter().position(|a| a.to_string_lossy().split('=').next() == Some(flag.as_str()))?;
    let sub_at = names.first().and_then(|n| args.iter().position(|a| a.to_string_lossy() == n.as_str()))?;
    (defined && typed_at < sub_at).then(|| {
        format!(
            "{flag} belongs after `{path}` (it is a flag of that command): `{path} {flag} ...`; see `{path} --help`"
        )
    })
}

/// The command to parse with: `dsr rectify`'s help lists the fields of the store's data map when
/// the store (`--db`, else `DSR_DB`, else `dsr.sqlite`) can be read; otherwise the static text
/// stays. That command is changed before it is built, so it comes from the full tree (a
/// deferred one would build over the change).
fn with_store_fields(args: &[std::ffi::OsString]) -> clap::Command {
    if !args.iter().skip(1).any(|a| a == "rectify") {
        return super::command();
    }
    let command = super::full_command();
    let mut db = std::env::var_os("DSR_DB").unwrap_or_else(|| "dsr.sqlite".into());
    let mut words = args.iter().skip(1).take_while(|a| *a != "--");
    while let Some(word) = words.next() {
        let text = word.to_string_lossy();
        if text == "--db" {
            db = words.next().cloned().unwrap_or_default();
        } else if let Some(path) = text.strip_prefix("--db=") {
            db = path.into();
        }
    }
    match crate::rights::rectify::fields_of_store(std::path::Path::new(&db)) {
        Some(text) => command.mut_subcommand("rectify", |c| c.after_help(text)),
        None => command,
    }
}

/// Whether `--json` is on the command line, for a usage error found before the flags were parsed.
pub fn json_asked() -> bool {
    std::env::args_os().skip(1).take_while(|a| a != "--").any(|a| a == "--json")
}

/// clap's colour for help and errors: `--color` as typed (the last one wins), else `NO_COLOR`.
fn color(args: &[std::ffi::OsString]) -> clap::ColorChoice {
    let mut choice = None;
    let mut words = args.iter().skip(1).map(|a| a.to_string_lossy()).take_while(|a| a != "--");
    while let Some(word) = words.next() {
        let value = match word.strip_prefix("--color") {
            Some("") => words.next().map(|v| v.into_owned()),
            Some(rest) => rest.strip_prefix('=').map(str::to_owned),
            None => None,
        };
        choice = value.or(choice);
    }
    match choice.as_deref() {
        Some("never") => clap::ColorChoice::Never,
        Some("always") => clap::ColorChoice::Always,
        _ if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) => clap::ColorChoice::Never,
        _ => clap::ColorChoice::Auto,
    }
}

/// The error as one line: what is wrong, with which flag, and where the help is.
fn one_line(e: &clap::Error, path: &str) -> String {
    let help = format!("see `{path} --help`");
    let arg = first(e, ContextKind::InvalidArg).map(|a| flag_name(&a));
    match e.kind() {
        ErrorKind::InvalidValue => {
            let what = arg.unwrap_or_else(|| "an argument".into());
            match e.get(ContextKind::ValidValue) {
                Some(ContextValue::Strings(valid)) if !valid.is_empty() => {
                    format!("{what} takes one of: {}", valid.join(", "))
                }
                _ => format!("{what} needs a value; {help}"),
            }
        }
        ErrorKind::ValueValidation => {
            let what = arg.unwrap_or_else(|| "an argument".into());
            // chrono's words for a date it could not read ("trailing input") say nothing of the
            // form it wants.
            const DATE_WORDS: [&str; 5] = [
                "trailing input",
                "premature end of input",
                "input is out of range",
                "input contains invalid characters",
                "input is not enough for unique date and time",
            ];
            match why(e) {
                Some(why) if DATE_WORDS.contains(&why.as_str()) => {
                    format!("the value of {what} is not a date written YYYY-MM-DD, such as 2026-03-02 ({why}); {help}")
                }
                Some(why) => format!("the value of {what} is not valid ({why}); {help}"),
                None => format!("the value of {what} is not valid; {help}"),
            }
        }
        ErrorKind::UnknownArgument => {
            let typed = first(e, ContextKind::InvalidArg).unwrap_or_default();
            let suggestion = best(e, ContextKind::SuggestedArg).map(|s| format!("did you mean {s}? "));
            match known_shape(&typed) {
                Some(flag) => format!("unknown flag {flag}; {}{help}", suggestion.unwrap_or_default()),
                None => format!(
                    "unexpected value on the command line (a value goes after its flag, e.g. --email ADDRESS); {help}"
                ),
            }
        }
        ErrorKind::InvalidSubcommand => {
            let suggestion = best(e, ContextKind::SuggestedSubcommand).map(|s| format!("did you mean `{s}`? "));
            format!("unknown command; {}{help}", suggestion.unwrap_or_default())
        }
        ErrorKind::ArgumentConflict => match (arg, first(e, ContextKind::PriorArg).map(|a| flag_name(&a))) {
            (Some(a), Some(b)) if a == b => format!("{a} is given more than once; give it once; {help}"),
            (Some(a), Some(b)) => format!("{a} cannot be used with {b}; {help}"),
            (Some(a), None) => format!("{a} cannot be used with the other arguments given; {help}"),
            _ => format!("these arguments cannot be used together; {help}"),
        },
        ErrorKind::MissingRequiredArgument => {
            let missing = match e.get(ContextKind::InvalidArg) {
                Some(ContextValue::Strings(names)) => {
                    names.iter().map(|n| flag_name(n)).collect::<Vec<_>>().join(" and ")
                }
                Some(ContextValue::String(name)) => flag_name(name),
                _ => "an argument".into(),
            };
            format!("missing {missing}; {help}")
        }
        ErrorKind::MissingSubcommand | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            format!("name a command; {help}")
        }
        ErrorKind::NoEquals => format!("{} needs its value after '='; {help}", arg.unwrap_or_else(|| "a flag".into())),
        ErrorKind::TooManyValues | ErrorKind::TooFewValues | ErrorKind::WrongNumberOfValues => {
            format!("wrong number of values for {}; {help}", arg.unwrap_or_else(|| "an argument".into()))
        }
        ErrorKind::InvalidUtf8 => format!("an argument is not valid UTF-8; {help}"),
        _ => format!("the command line could not be read; {help}"),
    }
}

/// Why a value was refused (the parser's message, e.g. `7 is not in 1..=2`), with every
/// occurrence of the typed value replaced, so nothing the user typed is repeated.
fn why(e: &clap::Error) -> Option<String> {
    use std::error::Error as _;
    let text = e.source()?.to_string();
    let typed = first(e, ContextKind::InvalidValue).unwrap_or_default();
    let text = if typed.trim().is_empty() { text } else { replace_whole(&text, &typed, "the value") };
    let text = crate::output::sanitize::line(&text);
    (!text.is_empty() && !text.contains('\n')).then_some(text)
}

/// `text` with each occurrence of `typed` that stands on its own (not inside a longer word or
/// number) replaced: `0` typed against `1..=1000000` leaves the range's zeros alone.
fn replace_whole(text: &str, typed: &str, with: &str) -> String {
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric());
    let mut out = String::with_capacity(text.len());
    let mut done = 0;
    for (at, _) in text.match_indices(typed) {
        let end = at + typed.len();
        if alnum(text[..at].chars().next_back()) || alnum(text[end..].chars().next()) {
            continue;
        }
        out.push_str(&text[done..at]);
        out.push_str(with);
        done = end;
    }
    out.push_str(&text[done..]);
    out
}

/// The likeliest of clap's suggestions, which come least likely first: the last.
fn best(e: &clap::Error, kind: ContextKind) -> Option<String> {
    match e.get(kind)? {
        ContextValue::String(s) => Some(s.clone()),
        ContextValue::Strings(v) => v.last().cloned(),
        _ => None,
    }
}

/// The first string of a context value (clap fills these from its own definitions, except
/// `InvalidValue` and an unknown argument's `InvalidArg`, which are what the user typed).
fn first(e: &clap::Error, kind: ContextKind) -> Option<String> {
    match e.get(kind)? {
        ContextValue::String(s) => Some(s.clone()),
        ContextValue::Strings(v) => v.first().cloned(),
        _ => None,
    }
}

/// An argument as the user would write it: a flag without its value's name (`--ref`), a
/// positional without clap's brackets (`TASK`), and one of a group as its choices (`one of TASK
/// or --file`, from `<TASK|--file <FILE>>`).
fn flag_name(arg: &str) -> String {
    match arg.split_once(' ') {
        Some((flag, _)) if flag.starts_with('-') => flag.to_owned(),
        _ => {
            let bare = arg.strip_prefix(['<', '[']).and_then(|a| a.strip_suffix(['>', ']'])).unwrap_or(arg);
            match bare.contains('|') {
                true => format!("one of {}", bare.split('|').map(flag_name).collect::<Vec<_>>().join(" or ")),
                false => bare.to_owned(),
            }
        }
    }
}

/// An unknown argument is repeated only when it has the shape of a flag (`--emial`, `-x`), never
/// when it could be a value (an address, a phone number) or carries one (`--emial=a@b.nl`).
fn known_shape(typed: &str) -> Option<&str> {
    let name = typed.strip_prefix("--").or_else(|| typed.strip_prefix('-'))?;
    let short = name.len() <= 30 && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    (short && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')).then_some(typed)
}

/// The subcommand named on the command line (`dsr request extend`), from the definitions: only
/// words that are names of subcommands are taken.
fn command_path(args: &[std::ffi::OsString]) -> String {
    let (_, names) = subcommands(args);
    std::iter::once("dsr".to_owned()).chain(names).collect::<Vec<_>>().join(" ")
}

/// The subcommands named on the command line, in order, and the last one's definition.
fn subcommands(args: &[std::ffi::OsString]) -> (clap::Command, Vec<String>) {
    let mut command = super::full_command();
    let mut names = Vec::new();
    for arg in args.iter().skip(1).map(|a| a.to_string_lossy()) {
        if arg == "--" {
            break;
        }
        if let Some(sub) = command.find_subcommand(arg.as_ref()).cloned() {
            names.push(sub.get_name().to_owned());
            command = sub;
        }
    }
    (command, names)
}

#[cfg(test)]
mod tests {
    use super::{flag_name, replace_whole};

    #[test]
    fn arguments_are_named_as_they_are_typed() {
        assert_eq!(flag_name("--ref <TEXT>"), "--ref");
        assert_eq!(flag_name("<TASK>"), "TASK");
        assert_eq!(flag_name("[TASK]"), "TASK");
        assert_eq!(flag_name("<TASK|--file <FILE>>"), "one of TASK or --file");
    }

    #[test]
    fn a_typed_value_is_replaced_only_where_it_stands_alone() {
        assert_eq!(replace_whole("0 is not in 1..=1000000", "0", "the value"), "the value is not in 1..=1000000");
        assert_eq!(replace_whole("7 is not in 1..=2", "7", "the value"), "the value is not in 1..=2");
        assert_eq!(replace_whole("invalid digit found in string", "a", "the value"), "invalid digit found in string");
        assert_eq!(replace_whole("'x' and x", "x", "V"), "'V' and V");
    }
}

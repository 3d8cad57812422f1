//! One function per command: turn parsed arguments into calls on the domain modules and hand the
//! report to the output. The only layer that knows both clap and the domain.

mod access;
mod audit;
mod change;
mod check;
mod deliver;
mod demo;
mod doctor;
mod erase;
mod export;
mod import;
mod init;
mod intake;
mod letters;
mod lookup;
mod mail;
pub use mail::{flush, flush_committed, flush_told};
mod migrate;
mod pages;
mod register;
mod report;
mod request;
mod retention;
mod status;
mod tasks;
mod verify;

use crate::cli::{AuditCommand, Cli, Command, RegisterArgs, RegisterCommand, RetentionCommand, SubjectArgs};
use crate::clock::Clock;
use crate::exit::Code;
use crate::keys::Keys;
use crate::output::Output;
use crate::store::Store;
use crate::subject::Identifier;

pub use access::render_access;
pub use export::{archive_file, record_disclosure};
pub use lookup::render_lookup;

/// What every store command needs.
pub struct Ctx {
    pub store: Store,
    pub clock: Clock,
    pub out: Output,
    /// The request this command opened (or sent a new code for): its letters' failures are not
    /// told on stderr (see [`Ctx::flush`]).
    pub opened: Option<String>,
}

impl Ctx {
    fn open(db: &std::path::Path, out: Output) -> anyhow::Result<Ctx> {
        Ctx::open_with(db, out, Store::open)
    }

    fn open_with(
        db: &std::path::Path,
        out: Output,
        open: impl FnOnce(&std::path::Path) -> anyhow::Result<Store>,
    ) -> anyhow::Result<Ctx> {
        let clock = Clock::from_env()?;
        let store = open(db)?;
        Ok(Ctx { store, clock, out, opened: None })
    }

    pub fn keys(&self) -> anyhow::Result<Keys> {
        Keys::load(&self.store.conn)
    }

    /// The parts of this context that the commands running on both backends use.
    pub fn session(&mut self) -> Session<'_> {
        Session { conn: &self.store, clock: &self.clock, out: &self.out, opened: &mut self.opened }
    }

    /// Deliver what is queued (letters, journal lines), after the command's commit. A letter
    /// that could not be sent stays queued; the officer is told on stderr, the command's own
    /// answer and exit code stay what they are. Not so for the letters of a request this command
    /// opened: a known person gets a code, an unknown address a negative confirmation, an
    /// unknown customer number nothing, so a notice would tell who is a customer. Their failure
    /// shows in `request list`, `request show` and `mail list`/`mail flush`.
    pub fn flush(&mut self) -> anyhow::Result<crate::queue::Flushed> {
        mail::flush_after(&self.store, &self.clock, &self.opened)
    }
}

/// What a command that runs on both backends needs: the store's connection (SQLite's or
/// PostgreSQL's), the clock, the output, and where to note the request it opened (see
/// [`Ctx::opened`]).
pub struct Session<'a> {
    pub conn: &'a dyn crate::store::db::Conn,
    pub clock: &'a Clock,
    pub out: &'a Output,
    pub opened: &'a mut Option<String>,
}

/// Run a command on a PostgreSQL store (`--db postgres://...`, the schema `DSR_PG_SCHEMA` or
/// `dsr`), opened as a store (refused when it is newer than this binary or not a store), in
/// one read-only snapshot.
fn on_postgres(url: &str, run: impl FnOnce(&dyn crate::store::db::Db) -> anyhow::Result<Code>) -> anyhow::Result<Code> {
    on_postgres_with(url, true, run)
}

/// [`on_postgres`], with the company's SQLite files attached or not (`attach`: the register
/// commands show and export the map itself, as on SQLite).
fn on_postgres_with(
    url: &str,
    attach: bool,
    run: impl FnOnce(&dyn crate::store::db::Db) -> anyhow::Result<Code>,
) -> anyhow::Result<Code> {
    let clock = Clock::from_env()?;
    let pg = crate::store::postgres::beside::Beside::open(open_postgres(url)?, attach)?;
    // What these commands read (every entry, then the head) is one snapshot, whoever writes.
    let result = pg.snapshot().and_then(|snapshot| {
        let code = run(&*snapshot)?;
        snapshot.commit()?;
        Ok(code)
    });
    if mail::NO_FLUSH.load(std::sync::atomic::Ordering::Relaxed) {
        return result;
    }
    // Then, as after every command on SQLite, what is queued is delivered.
    mail::after_flush(result, mail::flush_after(&*pg, &clock, &None))
}

/// A PostgreSQL store (`--db postgres://...`, the schema `DSR_PG_SCHEMA` or `dsr`), opened as a
/// store: refused when it is newer than this binary or not a store.
fn open_postgres(url: &str) -> anyhow::Result<crate::store::db::Pg> {
    use crate::store::postgres::migrate;
    let target = postgres_target(url)?;
    let mut client = target.connect()?;
    migrate::open(&mut client, &target)?;
    crate::store::db::Pg::new(client, &target.schema)
}

/// The PostgreSQL store a URL and `DSR_PG_SCHEMA` (default `dsr`) name.
fn postgres_target(url: &str) -> anyhow::Result<crate::store::postgres::Target> {
    let schema = crate::store::postgres::schema_from_env();
    Ok(crate::store::postgres::Target::parse(url, &schema)?)
}

/// Run a command that writes on a PostgreSQL store, each change in a transaction of its own as
/// on SQLite, then deliver what it (or an earlier run that died) queued.
fn on_postgres_session(
    url: &str,
    out: Output,
    run: impl FnOnce(&mut Session) -> anyhow::Result<Code>,
) -> anyhow::Result<Code> {
    on_postgres_opened(url, out, |pg| crate::store::postgres::beside::Beside::open(pg, true), run)
}

/// [`on_postgres_session`] on the store as `open` makes it of the server's connection.
fn on_postgres_opened(
    url: &str,
    out: Output,
    open: impl FnOnce(crate::store::db::Pg) -> anyhow::Result<Box<dyn crate::store::db::Conn>>,
    run: impl FnOnce(&mut Session) -> anyhow::Result<Code>,
) -> anyhow::Result<Code> {
    let clock = Clock::from_env()?;
    let pg = open(open_postgres(url)?)?;
    let mut opened = None;
    let result = run(&mut Session { conn: &*pg, clock: &clock, out: &out, opened: &mut opened });
    if mail::NO_FLUSH.load(std::sync::atomic::Ordering::Relaxed) {
        return result;
    }
    mail::after_flush(result, mail::flush_after(&*pg, &clock, &opened))
}

/// Connections of their own to a SQLite store, for a command's workers.
fn reopen(path: std::path::PathBuf) -> impl Fn() -> anyhow::Result<Box<dyn crate::store::db::Conn>> + Sync {
    move || Ok(Box::new(Store::open(&path)?))
}

/// Connections of their own to a PostgreSQL store, for a command's workers.
fn reconnect(url: &str) -> impl Fn() -> anyhow::Result<Box<dyn crate::store::db::Conn>> + Sync + '_ {
    move || crate::store::postgres::beside::Beside::open(open_postgres(url)?, true)
}

/// Run a command on the store, then deliver what it (or an earlier run that died) queued.
fn on_store(
    db: &std::path::Path,
    out: Output,
    run: impl FnOnce(&mut Ctx) -> anyhow::Result<Code>,
) -> anyhow::Result<Code> {
    let mut ctx = Ctx::open(db, out)?;
    let result = run(&mut ctx);
    if mail::NO_FLUSH.load(std::sync::atomic::Ordering::Relaxed) {
        return result;
    }
    let flushed = ctx.flush();
    mail::after_flush(result, flushed)
}

pub fn dispatch(cli: Cli) -> anyhow::Result<Code> {
    let out = Output::new(cli.global.json, cli.global.quiet, cli.global.color);
    dispatch_with(cli, out)
}

pub fn dispatch_with(cli: Cli, out: Output) -> anyhow::Result<Code> {
    let db = cli.global.db;
    if let Some(value) = db.to_str() {
        crate::store::postgres::refuse_unreadable("--db", value)?;
    }
    if let Some(url) = db.to_str().filter(|d| crate::store::postgres::is_url(d)) {
        match &cli.command {
            Command::Audit(AuditCommand::Verify { anchor }) => {
                return on_postgres(url, |pg| audit::verify(pg, &out, anchor.as_deref()))
            }
            Command::Audit(AuditCommand::Log { request }) => {
                return on_postgres(url, |pg| audit::log(pg, &out, request.as_deref()))
            }
            Command::Audit(AuditCommand::Anchor { out: file, force, mail }) => {
                return on_postgres_session(url, out, |s| audit::anchor(s, file.as_deref(), *force, mail.as_deref()))
            }
            Command::Lookup(args) => return on_postgres(url, |pg| lookup::on(pg, &out, args)),
            Command::Register(RegisterArgs { command: None }) => {
                return on_postgres_with(url, false, |pg| register::show(pg, &out))
            }
            Command::Doctor => return on_postgres(url, |pg| doctor::on(pg, &out)),
            Command::Tasks(args) => return on_postgres_session(url, out, |s| tasks::tasks(s, args)),
            Command::Report(args) => {
                return on_postgres(url, |pg| report::run(pg, &out, args, |p, d| crate::report::build(pg, p, d)))
            }
            Command::Register(RegisterArgs { command: Some(RegisterCommand::Export { out: file, force }) }) => {
                return on_postgres_with(url, false, |pg| register::export(pg, &out, file.as_deref(), *force))
            }
            // A company database of a PostgreSQL store is a schema of the same database.
            // The company's SQLite files the file names are attached beside the store.
            Command::Register(RegisterArgs { command: Some(RegisterCommand::Apply(a)) }) => {
                return register::apply_on_postgres(url, out, a)
            }
            // A company file is checked on its own (in a store in memory); its company databases'
            // paths are read from the directory dsr runs in, where a PostgreSQL store's files are.
            Command::Register(RegisterArgs { command: Some(RegisterCommand::Check { file }) }) => {
                let place = crate::store::db::Pg::place_of(&postgres_target(url)?.schema)?;
                return register::check(file, &place, &out);
            }
            // The rights, opened and answered as on SQLite.
            Command::Access(args) => return on_postgres_session(url, out, |s| access::access(s, args)),
            // Each worker writes archives through a session of its own.
            Command::Export(args) if args.batch.is_some() => {
                return on_postgres_session(url, out, |s| export::batch(s, &reconnect(url), args))
            }
            // Each worker reads through a session of its own.
            Command::Import(args) => return on_postgres_session(url, out, |s| import::import(s, args)),
            Command::Intake(args) => return on_postgres_session(url, out, |s| intake::intake(s, args)),
            Command::Check(args) => return on_postgres_session(url, out, |s| check::check(s, &reconnect(url), args)),
            Command::Export(args) => return on_postgres_session(url, out, |s| export::export_on(s, args)),
            // The cron run under the store's run lock (an advisory lock of a session of its own).
            Command::Erase(args) if args.due => {
                let lock = crate::cron::lock_postgres(&postgres_target(url)?)?;
                return on_postgres_session(url, out, |s| erase::due(s, &lock));
            }
            Command::Erase(args) if args.replay => {
                let target = postgres_target(url)?;
                let lock = || crate::cron::lock_postgres(&target);
                return on_postgres_session(url, out, |s| erase::replay(s, lock, args.journal.as_deref(), args.yes.yes));
            }
            Command::Erase(args) => return on_postgres_session(url, out, |s| erase::erase_on(s, args)),
            Command::Retention(cmd) => {
                let lock = crate::cron::lock_postgres(&postgres_target(url)?)?;
                return on_postgres_session(url, out, |s| retention::retention_on(s, cmd, &lock));
            }
            Command::Verify(args) => return on_postgres_session(url, out, |s| verify::verify(s, args)),
            Command::Mail(cmd) => return on_postgres_session(url, out, |s| mail::mail(s, cmd)),
            Command::Request(cmd) => return on_postgres_session(url, out, |s| request::request_on(s, cmd)),
            Command::Status(args) => return on_postgres_session(url, out, |s| status::status(s, args)),
            Command::Rectify(args) => return on_postgres_session(url, out, |s| change::rectify(s, args)),
            Command::Restrict(args) => return on_postgres_session(url, out, |s| change::restrict_cmd(s, args)),
            Command::Object(args) => return on_postgres_session(url, out, |s| change::object_cmd(s, args)),
            // These do not use --db, or make the store (init).
            Command::Init(_) | Command::Letters(_) | Command::Migrate(_) | Command::Demo(_) | Command::Completions { .. } | Command::Man { .. } => {}
            // A generated store is a SQLite file; `dsr migrate --to URL` copies it.
            Command::Generate(_) => {
                return Err(crate::Error::invalid(
                    "--db",
                    "dsr generate writes a SQLite store; generate one there and copy it with `dsr migrate --from FILE --to URL` (benches/pg.sh does)",
                )
                .into())
            }
        }
    }
    match cli.command {
        Command::Init(args) => init::init(&db, &args, &out),
        Command::Lookup(args) => on_store(&db, out, |ctx| lookup::lookup(ctx, &args)),
        Command::Register(RegisterArgs { command: Some(RegisterCommand::Check { file }) }) => {
            register::check(&file, &db, &out)
        }
        // The register commands show, export and repair the map itself: the company databases
        // are not attached at open (`register apply` attaches those of the file it loads).
        Command::Register(args) => {
            let mut ctx = Ctx::open_with(&db, out, Store::open_detached)?;
            register::register(&mut ctx, &args)
        }
        Command::Access(args) => on_store(&db, out, |ctx| access::access(&mut ctx.session(), &args)),
        Command::Import(args) => on_store(&db, out, |ctx| import::import(&mut ctx.session(), &args)),
        Command::Intake(args) => on_store(&db, out, |ctx| intake::intake(&mut ctx.session(), &args)),
        Command::Tasks(args) => on_store(&db, out, |ctx| tasks::tasks(&mut ctx.session(), &args)),
        Command::Report(args) => on_store(&db, out, |ctx| {
            let store = &ctx.store;
            report::run(store, &ctx.out, &args, |p, d| crate::report::build_snapshot(store, p, d))
        }),
        Command::Doctor => on_store(&db, out, doctor::doctor),
        Command::Export(args) => on_store(&db, out, |ctx| export::export(ctx, &args)),
        Command::Rectify(args) => on_store(&db, out, |ctx| change::rectify(&mut ctx.session(), &args)),
        Command::Restrict(args) => on_store(&db, out, |ctx| change::restrict_cmd(&mut ctx.session(), &args)),
        Command::Object(args) => on_store(&db, out, |ctx| change::object_cmd(&mut ctx.session(), &args)),
        // An unattended run a company database stops before it begins is recorded too.
        Command::Erase(args) => on_store(&db, out, |ctx| erase::erase(ctx, &args))
            .inspect_err(|e| crate::cron::record_stopped(&db, args.due.then_some("erase --due"), e)),
        Command::Retention(cmd) => on_store(&db, out, |ctx| retention::retention(ctx, &cmd)).inspect_err(|e| {
            let RetentionCommand::Run { dry_run, .. } = cmd;
            crate::cron::record_stopped(&db, (!dry_run).then_some("retention run"), e)
        }),
        Command::Check(args) => on_store(&db, out, |ctx| {
            let connect = reopen(ctx.store.path.clone());
            check::check(&mut ctx.session(), &connect, &args)
        }),
        Command::Verify(args) => on_store(&db, out, |ctx| verify::verify(&mut ctx.session(), &args)),
        Command::Request(cmd) => on_store(&db, out, |ctx| request::request(ctx, cmd)),
        Command::Status(args) => on_store(&db, out, |ctx| status::status(&mut ctx.session(), &args)),
        Command::Mail(cmd) => on_store(&db, out, |ctx| mail::mail(&mut ctx.session(), &cmd)),
        Command::Audit(AuditCommand::Verify { anchor }) => {
            on_store(&db, out, |ctx| audit::verify(&ctx.store.conn, &ctx.out, anchor.as_deref()))
        }
        Command::Audit(AuditCommand::Anchor { out: file, force, mail }) => {
            on_store(&db, out, |ctx| audit::anchor(&mut ctx.session(), file.as_deref(), force, mail.as_deref()))
        }
        Command::Audit(AuditCommand::Log { request }) => {
            on_store(&db, out, |ctx| audit::log(&ctx.store.conn, &ctx.out, request.as_deref()))
        }
        Command::Migrate(args) => migrate::migrate(&args, &out),
        Command::Letters(cmd) => letters::letters(&cmd, &out),
        Command::Demo(args) => demo::run(args.fixture.as_str(), args.dir.as_deref(), &out),
        Command::Generate(args) => init::generate(&db, &args, &out),
        Command::Completions { shell } => pages::completions(&db, shell, &out),
        Command::Man { dir } => pages::man(dir.as_deref(), &out),
    }
}

/// The identifier named on the command line, validated.
pub fn identifier(args: &SubjectArgs) -> Result<Identifier, crate::Error> {
    match (&args.email, &args.customer, &args.phone, &args.cookie) {
        (Some(e), _, _, _) => Identifier::email(e),
        (_, Some(c), _, _) => Identifier::customer(c),
        (_, _, Some(p), _) => Identifier::phone(p),
        (_, _, _, Some(k)) => Identifier::cookie(k),
        _ => Err(crate::Error::invalid("arguments", "name the person with --email, --customer, --phone or --cookie")),
    }
}

/// The identifier as the requester gave it (trimmed), for the request record.
pub fn given(args: &SubjectArgs) -> String {
    [&args.email, &args.customer, &args.phone, &args.cookie]
        .into_iter()
        .flatten()
        .next()
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// A reason the person reads (an extension, a refusal, a lift, compelling grounds): one of the
/// reasons coded for this use (`codes`, from [`crate::archive::present::REASONS`]) reads in
/// Dutch and English as it is; free text needs its Dutch text too, from `nl` or asked on a
/// terminal. Stored as `EN ‖ NL`. Another use's code is free text here: an extension's letter
/// must not give "the legal claim is settled" as its reason.
pub fn in_both_languages(
    out: &Output,
    (flag, nl_flag): (&'static str, &'static str),
    codes: &[&str],
    text: &str,
    nl: Option<&str>,
) -> anyhow::Result<String> {
    use crate::archive::present::BILINGUAL;
    let is_coded = |t: &str| t.split("; ").all(|part| codes.contains(&part.trim()));
    let text = text.trim();
    let clean = |what: &'static str, t: &str| -> Result<(), crate::Error> {
        if t.contains(BILINGUAL.trim()) || t.contains('\n') {
            return Err(crate::Error::invalid(what, "write it on one line, without '‖'"));
        }
        Ok(())
    };
    clean(flag, text)?;
    crate::free_text::check(flag, text)?;
    if text.is_empty() || (nl.is_none() && is_coded(text)) {
        return Ok(text.to_owned());
    }
    // A coded reason dsr writes in both languages itself: a Dutch text beside it would make the
    // two halves of the letter say different things.
    if is_coded(text) {
        return Err(crate::Error::invalid(
            nl_flag,
            format!("{flag} gives a coded reason, which the letter states in Dutch and English itself: leave {nl_flag} out, or give {flag} in words"),
        )
        .into());
    }
    let nl = match nl {
        Some(nl) => nl.trim().to_owned(),
        None if interactive(out) => crate::output::prompt::guarded(|| {
            dialoguer::Input::<String>::new()
                .with_prompt(format!("The same in Dutch, for the person's Dutch letter ({nl_flag})"))
                .interact_text()
        })?
        .trim()
        .to_owned(),
        None => {
            return Err(crate::Error::invalid(
                flag,
                match codes {
                    [] => format!("the person reads it in Dutch and English: give the Dutch text with {nl_flag}"),
                    _ => format!(
                        "the person reads it in Dutch and English: give the Dutch text with {nl_flag}, or use a coded reason ({})",
                        codes.join(", ")
                    ),
                },
            )
            .into())
        }
    };
    clean(nl_flag, &nl)?;
    if nl.is_empty() {
        return Err(crate::Error::invalid(nl_flag, "the Dutch text is empty").into());
    }
    let both = format!("{text}{BILINGUAL}{nl}");
    let n = both.chars().count();
    if n > crate::free_text::MAX_CHARS {
        return Err(crate::Error::invalid(
            nl_flag,
            format!(
                "{flag} and {nl_flag} are kept together, at most {} characters with the separator; these have {n}",
                crate::free_text::MAX_CHARS
            ),
        )
        .into());
    }
    Ok(both)
}

/// Whether a prompt may be shown: stdin and stderr are terminals and output is not JSON.
pub fn interactive(out: &Output) -> bool {
    out.prompts
}

/// Take the run lock of a cron command. Refused, a `--json` run prints the error document every
/// failure prints (`error.kind` = `run-locked`, exit 22).
pub fn run_lock(ctx: &Ctx) -> anyhow::Result<crate::cron::RunLock> {
    crate::cron::lock(&ctx.store.path)
}

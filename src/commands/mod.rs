//! One function per command: turn parsed arguments into calls on the domain modules and hand the
//! report to the output. The only layer that knows both clap and the domain.

mod access;
mod audit;
mod change;
mod check;
mod erase;
mod export;
mod init;
mod lookup;
mod register;
mod request;
mod retention;
mod verify;

use clap::CommandFactory;

use crate::cli::{AuditCommand, Cli, Command, SubjectArgs};
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
}

impl Ctx {
    fn open(db: &std::path::Path, out: Output) -> anyhow::Result<Ctx> {
        let clock = Clock::from_env()?;
        let store = Store::open(db)?;
        Ok(Ctx { store, clock, out })
    }

    pub fn keys(&self) -> anyhow::Result<Keys> {
        Keys::load(&self.store.conn)
    }
}

pub fn dispatch(cli: Cli) -> anyhow::Result<Code> {
    let out = Output::new(cli.global.json, cli.global.quiet, cli.global.color);
    dispatch_with(cli, out)
}

pub fn dispatch_with(cli: Cli, out: Output) -> anyhow::Result<Code> {
    let db = cli.global.db;
    match cli.command {
        Command::Init(args) => init::init(&db, &args, &out),
        Command::Lookup(args) => lookup::lookup(&mut Ctx::open(&db, out)?, &args),
        Command::Register => register::register(&Ctx::open(&db, out)?),
        Command::Access(args) => access::access(&mut Ctx::open(&db, out)?, &args),
        Command::Export(args) => export::export(&mut Ctx::open(&db, out)?, &args),
        Command::Rectify(args) => change::rectify(&mut Ctx::open(&db, out)?, &args),
        Command::Restrict(args) => change::restrict_cmd(&mut Ctx::open(&db, out)?, &args),
        Command::Object(args) => change::object_cmd(&mut Ctx::open(&db, out)?, &args),
        Command::Erase(args) => erase::erase(&mut Ctx::open(&db, out)?, &args),
        Command::Retention(cmd) => retention::retention(&mut Ctx::open(&db, out)?, cmd),
        Command::Check(args) => check::check(&mut Ctx::open(&db, out)?, &args),
        Command::Verify(args) => verify::verify(&mut Ctx::open(&db, out)?, &args),
        Command::Request(cmd) => request::request(&mut Ctx::open(&db, out)?, cmd),
        Command::Audit(AuditCommand::Verify) => audit::verify(&Ctx::open(&db, out)?),
        Command::Audit(AuditCommand::Log { request }) => audit::log(&Ctx::open(&db, out)?, request.as_deref()),
        Command::Demo(args) => crate::demo::run(args.fixture.as_str(), &out),
        Command::Generate(args) => init::generate(&db, &args, &out),
        Command::Completions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut crate::cli::command(), "dsr", &mut buf);
            out.data(&String::from_utf8_lossy(&buf))?;
            Ok(Code::Ok)
        }
        Command::Man => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut buf)?;
            out.data(&String::from_utf8_lossy(&buf))?;
            Ok(Code::Ok)
        }
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

/// Whether a prompt may be shown: stdin and stderr are terminals and output is not JSON.
pub fn interactive(out: &Output) -> bool {
    out.prompts
}

/// Take the run lock of a cron command. Refused, a `--json` run still prints a summary a script
/// can read (`{"format_version": 1, "locked": true, "error": ...}`) before the one-line error.
pub fn run_lock(ctx: &Ctx) -> anyhow::Result<crate::cron::RunLock> {
    crate::cron::lock(&ctx.store.path).inspect_err(|e| {
        if ctx.out.json {
            let _ = ctx.out.json(&serde_json::json!({"format_version": 1, "locked": true, "error": format!("{e:#}")}));
        }
    })
}

//! PostgreSQL as a store (design §11, docs/postgresql.md): where a store is (`postgres://` or
//! `postgresql://` URL, `DSR_DB`), how dsr logs in (the password from `PGPASSWORD` or the
//! password file, never from a flag or the URL), TLS when the URL asks for it (`sslmode`), and
//! dsr's records in a schema of their own (`dsr` by default) with numbered migrations
//! ([`migrate`]). The synchronous `postgres` client; no async code of dsr's own.
//!
//! Connecting, the schema and its versions are here; the statements of every command run through
//! [`crate::store::db::Pg`], the same store seam as on SQLite.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use postgres::config::{Host, SslMode};
use postgres::{Client, Config, NoTls};

use crate::error::Error;

pub mod beside;
pub mod copy;
pub mod forensic;
pub mod migrate;
pub mod tls;
pub mod translate;

/// Whether `--db` names a PostgreSQL database rather than a SQLite file (a URL's scheme is read
/// in any case, `PostgreSQL://` too).
pub fn is_url(db: &str) -> bool {
    scheme(db).is_some_and(|s| s.eq_ignore_ascii_case("postgres") || s.eq_ignore_ascii_case("postgresql"))
}

/// The schema of dsr's records: `DSR_PG_SCHEMA`, or `dsr` when it is unset or empty (as an empty
/// `PGPASSWORD` counts as none).
pub fn schema_from_env() -> String {
    std::env::var("DSR_PG_SCHEMA").ok().filter(|s| !s.is_empty()).unwrap_or_else(|| "dsr".into())
}

/// The scheme of a value shaped like a URL (`name://...`), if it is one.
fn scheme(value: &str) -> Option<&str> {
    let (scheme, _) = value.split_once("://")?;
    let ok = scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    ok.then_some(scheme)
}

/// Refuse, without repeating it (it may hold a password), a value of `option` that is neither a
/// file's path nor a PostgreSQL URL: libpq's key=value settings, or a URL of another scheme.
pub fn refuse_unreadable(option: &'static str, value: &str) -> Result<(), Error> {
    if is_conninfo(value) {
        return Err(Error::invalid(
            option,
            "name a PostgreSQL store by a postgres://USER@HOST/DATABASE URL, not key=value settings; the password comes from PGPASSWORD or ~/.pgpass",
        ));
    }
    // Anything with `://` in it is a URL of some kind (`jdbc:postgresql://`, ` postgres://`), never
    // a store's file name dsr would make: refused, as a URL with a password would be repeated.
    if !is_url(value) && value.contains("://") {
        return Err(Error::invalid(
            option,
            "a URL that is not postgres:// (or postgresql://); name a SQLite store by its file's path or a PostgreSQL store by a postgres://USER@HOST/DATABASE URL",
        ));
    }
    Ok(())
}

/// Whether `--db` is a libpq key=value connection string (`host=... dbname=...`), which dsr does
/// not take: such a value is refused as it is, never shown (it may hold a password) nor taken for
/// a file's name.
pub fn is_conninfo(db: &str) -> bool {
    const KEYS: [&str; 8] = ["host", "hostaddr", "port", "dbname", "user", "password", "passfile", "sslmode"];
    !is_url(db)
        && db.split_whitespace().any(|word| word.split_once('=').is_some_and(|(key, _)| KEYS.contains(&key.trim())))
}

/// A PostgreSQL store: the server and database, and the schema that holds dsr's records.
#[derive(Clone)]
pub struct Target {
    config: Config,
    /// The schema of dsr's records (`dsr` unless `DSR_PG_SCHEMA` says otherwise).
    pub schema: String,
    /// The URL as shown in messages (it never holds a password).
    pub shown: String,
    /// The option that gave the URL, for messages (`--db`, `--to`).
    option: &'static str,
    /// TLS as the URL's `sslmode` and `sslrootcert` ask ([`tls`]).
    tls: tls::Tls,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target").field("shown", &self.shown).field("schema", &self.schema).finish()
    }
}

impl Target {
    /// Read a URL. A password in it is refused: URLs end up in shell history, process lists and
    /// cron files. `schema` is the schema of dsr's records.
    pub fn parse(url: &str, schema: &str) -> Result<Target, Error> {
        Target::parse_option("--db", url, schema)
    }

    /// [`Target::parse`] for a URL given by the option `what` (errors name it).
    pub fn parse_option(what: &'static str, url: &str, schema: &str) -> Result<Target, Error> {
        if !is_url(url) {
            return Err(Error::invalid(what, "a PostgreSQL store is named by a postgres:// URL"));
        }
        // The client reads the scheme in lower case only.
        let url = &match url.split_once("://") {
            Some((scheme, rest)) => format!("{}://{rest}", scheme.to_ascii_lowercase()),
            None => url.to_owned(),
        };
        let (rest, tls) = tls::split(what, url)?;
        let mut config = Config::from_str(&rest)
            .map_err(|e| Error::invalid(what, format!("the PostgreSQL URL does not read: {e}")))?;
        if tls != tls::Tls::Off {
            // PostgreSQL speaks TLS over TCP only; libpq leaves it out on a socket, dsr says so.
            if config.get_hosts().iter().any(|h| matches!(h, Host::Unix(_))) {
                return Err(Error::invalid(
                    what,
                    "the URL asks for TLS (sslmode, sslrootcert) to a server reached by a Unix socket, where PostgreSQL has none: name the server's host name for TLS, or leave sslmode out on this machine's socket",
                ));
            }
            config.ssl_mode(SslMode::Require);
        }
        if config.get_password().is_some() {
            return Err(Error::invalid(
                what,
                "the PostgreSQL URL holds a password; remove it and put it in PGPASSWORD or ~/.pgpass",
            ));
        }
        if config.get_hosts().is_empty() && config.get_hostaddrs().is_empty() {
            return Err(Error::invalid(
                what,
                "the PostgreSQL URL names no server: give its host (postgres://officer@db.example/customers) or this machine's socket directory (postgres://officer@%2Frun%2Fpostgresql/customers)",
            ));
        }
        // `dsr migrate` takes the schema as `--schema` (DSR_PG_SCHEMA its default).
        let schema_option = if what == "--to" { "--schema (or DSR_PG_SCHEMA)" } else { "DSR_PG_SCHEMA" };
        if schema.len() > 63 {
            return Err(Error::invalid(
                schema_option,
                format!("the schema name is {} bytes long; PostgreSQL takes at most 63", schema.len()),
            ));
        }
        if !valid_schema(schema) {
            return Err(Error::invalid(
                schema_option,
                format!(
                    "{schema:?} is not a schema name dsr uses: lowercase letters, digits and _, starting with a letter"
                ),
            ));
        }
        if crate::map::check_postgres::reserved(schema) {
            return Err(Error::invalid(
                schema_option,
                format!("{schema:?} is a word PostgreSQL reserves; choose another schema name, e.g. {schema}_dsr"),
            ));
        }
        if schema.starts_with("pg_") {
            return Err(Error::invalid(
                schema_option,
                format!(
                    "PostgreSQL reserves schema names starting with pg_ for itself; choose another, e.g. dsr_{schema}"
                ),
            ));
        }
        Ok(Target { config, schema: schema.to_owned(), shown: url.to_owned(), option: what, tls })
    }

    /// The store's name in messages, as the errors of a SQLite store carry its path.
    pub fn path(&self) -> PathBuf {
        PathBuf::from(&self.shown)
    }

    /// Connect: the password from `PGPASSWORD`, else the password file (`PGPASSFILE`, else
    /// `~/.pgpass`); TLS when `sslmode` is `require` or `verify-full` ([`tls`]).
    pub fn connect(&self) -> anyhow::Result<Client> {
        let mut config = self.config.clone();
        if let Some(password) = password_for(&config) {
            config.password(password);
        }
        // A lock another session holds is waited for as long as SQLite's busy timeout, then the
        // statement fails (exit 13), as on SQLite, instead of waiting for ever.
        let wait = format!("-c lock_timeout={}", crate::store::BUSY_TIMEOUT.as_millis());
        let options = config.get_options().map_or(wait.clone(), |o| format!("{o} {wait}"));
        config.options(&options);
        let connected = match &self.tls {
            tls::Tls::Verified { roots } => config.connect(tls::connector(roots, self.option)?),
            tls::Tls::Off => config.connect(NoTls),
        };
        connected.map_err(|e| {
            // A refused password is the caller's to fix (exit 2); a server that is not there, or
            // a database it does not have, is a store that cannot be reached (exit 10).
            let auth = e.code().is_some_and(|c| {
                *c == postgres::error::SqlState::INVALID_PASSWORD
                    || *c == postgres::error::SqlState::INVALID_AUTHORIZATION_SPECIFICATION
            });
            // The server asked for a password and none was found (the client says only
            // "invalid configuration", with "password missing" as its cause).
            let missing = std::error::Error::source(&e).is_some_and(|c| c.to_string() == "password missing");
            if missing {
                anyhow::Error::new(Error::invalid(
                    self.option,
                    format!(
                        "cannot connect to {}: the server asks for a password and none was found; put it in PGPASSWORD or the password file (PGPASSFILE, else ~/.pgpass, readable by its owner only)",
                        self.shown
                    ),
                ))
            } else if auth {
                // A wrong password, or a role the server does not have or does not let in here
                // (pg_hba.conf): only the first is about the password.
                let hint = match e.code() {
                    Some(c) if *c == postgres::error::SqlState::INVALID_PASSWORD => {
                        "the password comes from PGPASSWORD or the password file (PGPASSFILE, else ~/.pgpass)"
                    }
                    _ => "name a role the server has and lets in from here in the URL (USER@), or have an administrator create it or allow it in pg_hba.conf",
                };
                anyhow::Error::new(Error::invalid(
                    self.option,
                    format!("cannot connect to {}: {}; {hint}", self.shown, one_line(&e)),
                ))
            } else {
                let mut why = one_line(&e);
                if why.contains("invalid peer certificate") {
                    why.push_str(" (the server's certificate is not signed by a CA dsr trusts, or names another host: give the company's CA with sslrootcert=FILE in the URL)");
                }
                anyhow::Error::new(Error::ServerUnreachable { url: self.shown.clone(), why })
            }
        })
    }
}

/// A table or column name as a PostgreSQL identifier: quoted (so a keyword such as `user` is a
/// name) and lowercased (as PostgreSQL folds the unquoted names of dsr's statements; SQLite's
/// names are case-insensitive). Names come from SQLite's catalog or a checked data map.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.to_ascii_lowercase().replace('"', "\"\""))
}

fn valid_schema(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some('a'..='z')) && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_')) && s.len() <= 63
}

/// An error's words on one line: a server error's own message where it is one.
pub fn one_line_error(e: &anyhow::Error) -> String {
    e.chain()
        .find_map(|c| c.downcast_ref::<postgres::Error>().map(one_line))
        .unwrap_or_else(|| format!("{e:#}").replace('\n', " "))
}

/// A server error's words on one line: its own message where the server sent one (the
/// client's Display is terse).
pub fn one_line(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_owned(),
        // With its causes: "error performing TLS handshake: invalid peer certificate: UnknownIssuer".
        None => {
            let mut text = e.to_string();
            let mut cause = std::error::Error::source(e);
            while let Some(c) = cause {
                text.push_str(&format!(": {c}"));
                cause = c.source();
            }
            text.replace('\n', " ")
        }
    }
}

/// The password for a connection: `PGPASSWORD`, else the first matching line of the password
/// file, as libpq reads them (https://www.postgresql.org/docs/15/libpq-pgpass.html).
fn password_for(config: &Config) -> Option<String> {
    if let Ok(p) = std::env::var("PGPASSWORD").map(|p| p.trim_end_matches(['\r', '\n']).to_owned()) {
        if !p.is_empty() {
            return Some(p);
        }
    }
    let file = match std::env::var_os("PGPASSFILE") {
        Some(f) => PathBuf::from(f),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".pgpass"),
    };
    let text = read_private(&file)?;
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        // libpq matches a connection through the default socket directory as "localhost", and
        // one through any other socket directory by its path.
        Some(Host::Unix(dir)) if dir != Path::new(DEFAULT_SOCKET_DIR) => dir.display().to_string(),
        Some(Host::Unix(_)) | None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432).to_string();
    let user = config.get_user().map(str::to_owned).or_else(|| std::env::var("USER").ok()).unwrap_or_default();
    let dbname = config.get_dbname().map(str::to_owned).unwrap_or_else(|| user.clone());
    pgpass_lookup(&text, [&host, &port, &dbname, &user])
}

/// The password file's text, when only its owner may read it (libpq ignores it otherwise).
fn read_private(file: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(file).ok()?;
    if meta.permissions().mode() & 0o077 != 0 {
        eprintln!("dsr: warning: {} is readable by others; it is ignored (chmod 0600 it)", file.display());
        return None;
    }
    std::fs::read_to_string(file).ok()
}

/// Debian's (and so this machine's PostgreSQL's) default socket directory.
const DEFAULT_SOCKET_DIR: &str = "/var/run/postgresql";

/// `hostname:port:database:username:password`, `*` matching anything, `\:` and `\\` escaped;
/// the password ends at an unescaped `:`, as libpq reads it.
fn pgpass_lookup(text: &str, want: [&str; 4]) -> Option<String> {
    for line in text.lines() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields: Vec<String> = vec![String::new()];
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    if let Some(n) = chars.next() {
                        fields.last_mut()?.push(n);
                    }
                }
                ':' if fields.len() < 5 => fields.push(String::new()),
                ':' => break,
                c => fields.last_mut()?.push(c),
            }
        }
        if fields.len() == 5 && fields[..4].iter().zip(want).all(|(f, w)| f == "*" || f == w) {
            return fields.pop();
        }
    }
    None
}

/// The company databases of a map on a PostgreSQL store that are schemas of the store's own
/// database, named as the map's tables name them (`database = "shop"`: the schema `shop`), with
/// `path = "postgres:"`. The company's SQLite files are attached beside the store when it is
/// opened for the file ([`beside::Beside::open_for`]).
pub fn company_schemas(conn: &dyn crate::store::db::Db, databases: &[crate::map::Database]) -> anyhow::Result<()> {
    for d in databases.iter().filter(|d| d.path == crate::map::POSTGRES_SCHEMA) {
        let there: bool = conn.one(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = ?1)",
            &[crate::store::db::text(&d.name)],
            |r| r.get(0),
        )?;
        if !there {
            anyhow::bail!("company database {:?}: the PostgreSQL database has no schema {:?}", d.name, d.name);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_in_the_url_is_refused_and_the_url_is_not_repeated() {
        let e = Target::parse("postgres://officer:s3cret@db.example/dsr", "dsr").unwrap_err().to_string();
        assert!(e.contains("PGPASSWORD"), "{e}");
        assert!(!e.contains("s3cret"), "{e}");
        assert!(Target::parse("postgres://officer@db.example/dsr", "dsr").is_ok());
        assert!(Target::parse("postgresql://officer@db.example:5433/dsr?sslmode=require", "dsr").is_ok());
        assert!(Target::parse("postgres://officer@db.example/dsr", "Dsr; DROP")
            .unwrap_err()
            .to_string()
            .contains("DSR_PG_SCHEMA"));
        let e = Target::parse_option("--to", "postgres://officer@db.example/dsr", "Bad-Name").unwrap_err().to_string();
        assert!(e.contains("--schema"), "{e}");
        // A reserved word would make every statement fail to parse: refused by name.
        let e = Target::parse_option("--to", "postgres://officer@db.example/dsr", "user").unwrap_err().to_string();
        assert!(e.contains("--schema") && e.contains("reserves"), "{e}");
        let e = Target::parse("postgres://officer@db.example/dsr", "order").unwrap_err().to_string();
        assert!(e.contains("DSR_PG_SCHEMA") && e.contains("reserves"), "{e}");
        let e = Target::parse("postgres://officer@db.example/dsr", "pg_foo").unwrap_err().to_string();
        assert!(e.contains("DSR_PG_SCHEMA") && e.contains("pg_"), "{e}");
        // No server named: a usage error, not a server that could not be reached.
        for url in ["postgres://", "postgres:///dsr", "postgres://officer@/dsr"] {
            let e = Target::parse(url, "dsr").unwrap_err().to_string();
            assert!(e.contains("names no server"), "{url}: {e}");
        }
        let e = Target::parse("postgres://officer@db.example/dsr", &"a".repeat(64)).unwrap_err().to_string();
        assert!(e.contains("at most 63"), "{e}");
    }

    #[test]
    fn the_password_file_is_read_as_libpq_reads_it() {
        let text = "# comment\ndb.example:5432:other:officer:wrong\n*:5432:dsr:officer:pa\\:ss\\\\word:rest\n";
        assert_eq!(pgpass_lookup(text, ["db.example", "5432", "dsr", "officer"]).as_deref(), Some("pa:ss\\word"));
        assert_eq!(pgpass_lookup(text, ["db.example", "5433", "dsr", "officer"]), None);
    }

    #[test]
    fn a_key_value_connection_string_is_told_from_a_url_and_a_file() {
        assert!(is_conninfo("host=/tmp port=5432 user=dsr password=secret dbname=postgres"));
        assert!(is_conninfo("dbname=customers"));
        assert!(!is_conninfo("postgres://dsr@localhost/customers?sslmode=require"));
        assert!(!is_conninfo("dsr.sqlite"));
        assert!(!is_conninfo("/srv/stores/a=b.sqlite"));
    }
}

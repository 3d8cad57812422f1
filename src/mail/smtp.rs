//! The SMTP transport `DSR_MAIL=smtp` sends by, from `DSR_SMTP_URL` (and `DSR_SMTP_PASSWORD`).

use lettre::transport::smtp::authentication::Credentials;
use lettre::SmtpTransport;

use super::percent_decode;
use crate::error::Error;

/// A relay named by an IPv6 address (`smtp://[::1]:2525`): lettre's `from_url` would look up
/// the host with its brackets, which no resolver knows. The same ports and TLS as `from_url`.
fn ipv6_relay(
    parsed: &url::Url,
    address: std::net::Ipv6Addr,
    tls: bool,
) -> Result<lettre::transport::smtp::SmtpTransportBuilder, lettre::transport::smtp::Error> {
    use lettre::transport::smtp::client::{Tls, TlsParameters};
    let host = address.to_string();
    let builder = SmtpTransport::builder_dangerous(&host);
    let opportunistic = parsed.query_pairs().any(|(k, v)| k == "tls" && v == "opportunistic");
    let builder = match (parsed.scheme() == "smtps", tls, opportunistic) {
        (true, _, _) => builder.port(parsed.port().unwrap_or(465)).tls(Tls::Wrapper(TlsParameters::new(host)?)),
        (false, true, _) => builder.port(parsed.port().unwrap_or(587)).tls(Tls::Required(TlsParameters::new(host)?)),
        (false, false, true) => {
            builder.port(parsed.port().unwrap_or(587)).tls(Tls::Opportunistic(TlsParameters::new(host)?))
        }
        (false, false, false) => builder.port(parsed.port().unwrap_or(25)),
    };
    Ok(match parsed.path().trim_matches('/') {
        "" => builder,
        name => builder.hello_name(lettre::transport::smtp::extension::ClientId::Domain(name.to_owned())),
    })
}

/// How long dsr waits for the SMTP server at each step: RFC 5321 §4.5.3.2 asks 5 minutes for
/// the greeting and each command and 10 for the answer to the message's end; a server that
/// takes the message after the client gave up would get it again from the next try.
pub const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

/// `DSR_SMTP_URL`: `smtps://user@host:465` (TLS) or `smtp://user@host:587?tls=required`
/// (STARTTLS); `smtp://host:port` without TLS only for a relay on this machine.
pub(super) fn smtp_from_env() -> anyhow::Result<SmtpTransport> {
    let url = std::env::var("DSR_SMTP_URL").map_err(|_| {
        Error::invalid("DSR_SMTP_URL", "set it when DSR_MAIL=smtp, e.g. smtps://dsr@mail.example.nl:465")
    })?;
    let parsed = url::Url::parse(&url).map_err(|e| Error::invalid("DSR_SMTP_URL", e.to_string()))?;
    if parsed.password().is_some() {
        return Err(Error::invalid("DSR_SMTP_URL", "put the password in DSR_SMTP_PASSWORD, never in the URL").into());
    }
    if !matches!(parsed.scheme(), "smtp" | "smtps") {
        return Err(Error::invalid(
            "DSR_SMTP_URL",
            format!(
                "{}:// is no mail server's scheme: use smtps://HOST:465 or smtp://HOST:587?tls=required",
                parsed.scheme()
            ),
        )
        .into());
    }
    let tls = parsed.scheme() == "smtps" || parsed.query_pairs().any(|(k, v)| k == "tls" && v == "required");
    // A relay on this machine: the loopback addresses (all of 127.0.0.0/8) and localhost.
    let local = match parsed.host() {
        None => {
            return Err(Error::invalid("DSR_SMTP_URL", "it names no host, e.g. smtps://dsr@mail.example.nl:465").into())
        }
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        // An smtp:// URL's IPv4 address is kept as text (the scheme is not one url knows).
        Some(url::Host::Domain(d)) => {
            d.eq_ignore_ascii_case("localhost") || d.parse::<std::net::Ipv4Addr>().is_ok_and(|a| a.is_loopback())
        }
    };
    if !tls && !local {
        return Err(Error::invalid(
            "DSR_SMTP_URL",
            "use smtps:// or ?tls=required: codes must not cross a network in clear text",
        )
        .into());
    }
    let mut builder = match parsed.host() {
        Some(url::Host::Ipv6(address)) if matches!(parsed.scheme(), "smtp" | "smtps") => {
            ipv6_relay(&parsed, address, tls)
        }
        _ => SmtpTransport::from_url(&url),
    }
    .map_err(|e| Error::invalid("DSR_SMTP_URL", e.to_string()))?;
    let user = parsed.username();
    if !user.is_empty() {
        let user = percent_decode(user);
        let password = std::env::var("DSR_SMTP_PASSWORD").map_err(|_| {
            Error::invalid("DSR_SMTP_PASSWORD", "the SMTP URL names a user; set the password in DSR_SMTP_PASSWORD")
        })?;
        builder = builder.credentials(Credentials::new(user, password));
    }
    Ok(builder.timeout(Some(TIMEOUT)).build())
}

/// A failed delivery as told: a server that did not answer in time says so (lettre says "network
/// error: Resource temporarily unavailable").
pub(super) fn unsent(e: lettre::transport::smtp::Error) -> anyhow::Error {
    // Down, silent, the connection or TLS failing, or 421 (the server closing): not a refusal of
    // this letter (a 4xx such as greylisting or a full mailbox is one: the others go on).
    let closing = e.status().is_some_and(|c| c.to_string() == "421");
    let unavailable = closing || !(e.is_permanent() || e.is_transient());
    let why = match e.is_timeout() || io_timeout(&e) {
        true => format!("the SMTP server did not answer within {} s", TIMEOUT.as_secs()),
        false => format!("the SMTP server refused or could not be reached: {e}"),
    };
    anyhow::Error::new(Unsent { why, unavailable })
}

/// Why an SMTP delivery failed, and whether the server as a whole could not take mail (down,
/// silent, a temporary refusal) rather than refusing this one letter.
#[derive(Debug, thiserror::Error)]
#[error("mail not sent: {why}")]
struct Unsent {
    why: String,
    unavailable: bool,
}

/// Whether a failed delivery says the SMTP server cannot take mail now (not reached, no answer
/// in time, a temporary refusal): the letters after it are not tried in the same run.
pub fn server_unavailable(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<Unsent>().is_some_and(|u| u.unavailable))
}

/// A read that timed out, as lettre reports it (a network error with the socket's
/// `WouldBlock`/`TimedOut`).
fn io_timeout(e: &lettre::transport::smtp::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return matches!(io.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut);
        }
        source = s.source();
    }
    false
}

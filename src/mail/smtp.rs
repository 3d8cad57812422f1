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
    let host = parsed.host_str().unwrap_or_default().to_owned();
    let tls = parsed.scheme() == "smtps" || parsed.query_pairs().any(|(k, v)| k == "tls" && v == "required");
    let local = matches!(host.as_str(), "localhost" | "127.0.0.1" | "::1" | "[::1]");
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
    Ok(builder.timeout(Some(std::time::Duration::from_secs(20))).build())
}

//! TLS to the server, as the URL asks for it: `sslmode` (`disable`, `allow` and `prefer`
//! connect without TLS; `require` and `verify-full` only with it, the server's certificate
//! checked against the roots and its name against the URL's host) and `sslrootcert` (a PEM
//! file of the CA certificates a company's own server is signed by; `system` or none: the web's
//! public roots). dsr reads both keys itself: the client knows neither `verify-full` nor
//! `sslrootcert`.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::pki_types::{pem::PemObject, CertificateDer};

use crate::error::Error;

/// Whether and how a connection is encrypted.
#[derive(Clone, Debug, PartialEq)]
pub enum Tls {
    Off,
    /// The server's certificate must chain to these roots (None: the web's public roots) and
    /// name the host.
    Verified {
        roots: Option<PathBuf>,
    },
}

/// Take `sslmode` and `sslrootcert` out of the URL's query: the URL without them, and the TLS
/// they ask for. `what` is the option that gave the URL, for errors.
pub fn split(what: &'static str, url: &str) -> Result<(String, Tls), Error> {
    let Some((base, query)) = url.split_once('?') else { return Ok((url.to_owned(), Tls::Off)) };
    let mut mode = None;
    let mut roots = None;
    // The other pairs stay as written: the client decodes them itself (percent-decoding, where
    // a `+` stays a `+`).
    let mut rest = Vec::new();
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "sslmode" => mode = Some(decoded(value)),
            // An empty value (a variable not set where the URL was written) names no file.
            "sslrootcert" if decoded(value).trim().is_empty() => {
                return Err(Error::invalid(what, "sslrootcert is empty: name the CA's certificate file (sslrootcert=FILE), or leave it out for the web's public roots"))
            }
            "sslrootcert" => roots = Some(decoded(value)),
            _ => rest.push(pair),
        }
    }
    let tls = match mode.as_deref() {
        // A CA named without a mode asks for TLS checked against it (libpq 16 does so for
        // `sslrootcert=system`); never a connection in clear text.
        None if roots.is_some() => Tls::Verified { roots: roots.filter(|r| r != "system").map(PathBuf::from) },
        Some(m @ ("disable" | "allow" | "prefer")) if roots.is_some() => {
            return Err(Error::invalid(
                what,
                format!("sslrootcert names a CA, but sslmode={m} connects without TLS in dsr; use sslmode=verify-full"),
            ))
        }
        None | Some("disable" | "allow" | "prefer") => Tls::Off,
        Some("require" | "verify-full") => Tls::Verified { roots: roots.filter(|r| r != "system").map(PathBuf::from) },
        Some("verify-ca") => {
            return Err(Error::invalid(
                what,
                "sslmode=verify-ca is not supported: dsr checks the server's certificate and the name in it (sslmode=verify-full, with sslrootcert=FILE for a company's own CA)",
            ))
        }
        Some(other) => {
            return Err(Error::invalid(
                what,
                format!("sslmode={other} is not one of disable, allow, prefer, require, verify-full"),
            ))
        }
    };
    let rest = rest.join("&");
    Ok((if rest.is_empty() { base.to_owned() } else { format!("{base}?{rest}") }, tls))
}

/// A query value percent-decoded as the client decodes URLs (a `+` is a `+`, not a space).
fn decoded(value: &str) -> String {
    let literal_plus = value.replace('+', "%2B");
    url::form_urlencoded::parse(format!("v={literal_plus}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The client's TLS for a verified connection: rustls with its ring provider.
pub fn connector(
    roots: &Option<PathBuf>,
    what: &'static str,
) -> Result<tokio_postgres_rustls::MakeRustlsConnect, Error> {
    let store = match roots {
        None => rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() },
        Some(path) => {
            let bad = |why: String| Error::invalid(what, format!("sslrootcert {}: {why}", path.display()));
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| bad(format!("cannot read it ({e})")))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| bad("not a PEM file of certificates (-----BEGIN CERTIFICATE----- ...)".into()))?;
            let mut store = rustls::RootCertStore::empty();
            let (added, _) = store.add_parsable_certificates(certs);
            if added == 0 {
                return Err(bad("holds no CA certificate".into()));
            }
            store
        }
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports TLS 1.2 and 1.3")
        .with_root_certificates(store)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_keeps_what_the_client_reads_and_gives_dsr_the_tls_keys() {
        let (url, tls) = split(
            "--db",
            "postgres://dsr@db.example/crm?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&application_name=dsr",
        )
        .unwrap();
        assert_eq!(url, "postgres://dsr@db.example/crm?application_name=dsr");
        assert_eq!(tls, Tls::Verified { roots: Some("/etc/ca.pem".into()) });
        assert_eq!(
            split("--db", "postgres://h/d?sslmode=require").unwrap(),
            ("postgres://h/d".into(), Tls::Verified { roots: None })
        );
        assert_eq!(
            split("--db", "postgres://h/d?sslmode=require&sslrootcert=system").unwrap().1,
            Tls::Verified { roots: None }
        );
        assert_eq!(split("--db", "postgres://h/d?sslmode=prefer").unwrap().1, Tls::Off);
        // A CA without a mode is TLS checked against it, never clear text; with a mode
        // without TLS it is refused.
        assert_eq!(
            split("--db", "postgres://h/d?sslrootcert=%2Fca.pem").unwrap().1,
            Tls::Verified { roots: Some("/ca.pem".into()) }
        );
        assert_eq!(split("--db", "postgres://h/d?sslrootcert=system").unwrap().1, Tls::Verified { roots: None });
        assert!(split("--db", "postgres://h/d?sslrootcert=%2Fca.pem&sslmode=prefer")
            .unwrap_err()
            .to_string()
            .contains("verify-full"));
        assert_eq!(split("--db", "postgres://h/d").unwrap(), ("postgres://h/d".into(), Tls::Off));
        assert!(split("--db", "postgres://h/d?sslmode=verify-ca").unwrap_err().to_string().contains("verify-full"));
        assert!(split("--db", "postgres://h/d?sslmode=always").is_err());
        // An empty CA (a variable not set) is said so, not read as a file with no name.
        let empty = split("--db", "postgres://h/d?sslmode=verify-full&sslrootcert=").unwrap_err().to_string();
        assert!(empty.contains("sslrootcert is empty"), "{empty}");
        let socket = crate::store::postgres::Target::parse("postgres://dsr@%2Frun%2Fpg/d?sslmode=verify-full", "dsr");
        assert!(socket.unwrap_err().to_string().contains("Unix socket"));
        // The client's own pairs are left as written.
        let options = "postgres://h/d?options=-c%20statement_timeout%3D1&sslrootcert=%2Fa+b.pem&sslmode=require";
        let (url, tls) = split("--db", options).unwrap();
        assert_eq!(url, "postgres://h/d?options=-c%20statement_timeout%3D1");
        assert_eq!(tls, Tls::Verified { roots: Some("/a+b.pem".into()) });
    }
}

//! How an email identifier's local part is compared (`local_part` of `[[table.identifier]]`).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// How the local part of an email address is compared (RFC 5321 lets a mail server tell
/// `Jan` from `jan`; the domain is compared in lowercase either way).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LocalPart {
    /// As written: `Jan.DeVries@Example.NL` is `Jan.DeVries@example.nl`.
    #[default]
    Exact,
    /// In Unicode lowercase: `Jan.DeVries@Example.NL` is `jan.devries@example.nl`.
    AnyCase,
}

impl LocalPart {
    /// The form an identifier column of this rule holds, and lookups compare, of an address
    /// dsr has validated and normalised ([`crate::subject::normalize_email`]: its domain in
    /// lowercase).
    pub fn compared(self, address: &str) -> Cow<'_, str> {
        match self {
            LocalPart::Exact => Cow::Borrowed(address),
            LocalPart::AnyCase => Cow::Owned(crate::subject::fold(address)),
        }
    }

    /// The form of an address as written (not validated): its domain folded, then [`Self::compared`];
    /// what the SQL function [`Self::sql_function`] gives.
    pub fn of_written(self, written: &str) -> String {
        self.compared(&crate::subject::domain_folded(written)).into_owned()
    }

    /// The SQL function (SQLite) that gives this form of an address as written.
    pub fn sql_function(self) -> &'static str {
        match self {
            LocalPart::Exact => "dsr_email",
            LocalPart::AnyCase => "dsr_fold",
        }
    }

    /// The rule as the company file writes it.
    pub fn name(self) -> &'static str {
        match self {
            LocalPart::Exact => "exact",
            LocalPart::AnyCase => "any-case",
        }
    }

    /// What the form is, in words.
    pub fn described(self) -> &'static str {
        match self {
            LocalPart::Exact => "its domain in lower case",
            LocalPart::AnyCase => "lower case",
        }
    }
}

//! The six bases of Art. 6(1) GDPR, which dsr acts on (a withdrawal of consent, an objection)
//! whatever a company calls them in its register (`[[legal_basis]]` `code` and `kind`).

use serde::{Deserialize, Serialize};

use super::LegalBasis;

impl LegalBasis {
    /// What the basis is: its `kind`, or its code when that names one.
    pub fn meaning(&self) -> Option<BasisKind> {
        self.kind.or_else(|| BasisKind::named(&self.code))
    }
}

/// The six bases of Art. 6(1) GDPR, (a) to (f).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BasisKind {
    Consent,
    Contract,
    LegalObligation,
    VitalInterests,
    PublicTask,
    LegitimateInterest,
}

impl BasisKind {
    pub const ALL: [BasisKind; 6] = [
        BasisKind::Consent,
        BasisKind::Contract,
        BasisKind::LegalObligation,
        BasisKind::VitalInterests,
        BasisKind::PublicTask,
        BasisKind::LegitimateInterest,
    ];

    pub fn name(self) -> &'static str {
        match self {
            BasisKind::Consent => "consent",
            BasisKind::Contract => "contract",
            BasisKind::LegalObligation => "legal-obligation",
            BasisKind::VitalInterests => "vital-interests",
            BasisKind::PublicTask => "public-task",
            BasisKind::LegitimateInterest => "legitimate-interest",
        }
    }

    /// The basis a code names, if it is one of the six names.
    pub fn named(code: &str) -> Option<BasisKind> {
        BasisKind::ALL.into_iter().find(|k| k.name() == code)
    }
}

impl crate::register::Purpose {
    /// Whether processing for the purpose needs the person's consent: it rests on consent, or
    /// the register does not say what it rests on (a gatekeeper then asks for consent).
    pub fn needs_consent(&self) -> bool {
        matches!(self.basis, None | Some(BasisKind::Consent))
    }
}

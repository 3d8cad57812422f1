//! Every kind of letter dsr writes to a person, as data: its template files (one per language,
//! shipped in `templates/letters/` and embedded in the binary), the variables its template may
//! use, sample values to try a template with, and the elements the law requires it to carry
//! (docs/letters.md). A template a company writes is checked against this table before it is
//! stored ([`super::check`]).

use serde_json::{json, Value};

/// An element a letter must carry: the variable that holds it, what it is, and why.
pub struct Element {
    pub var: &'static str,
    pub what: &'static str,
    /// Completes "the <kind> letter must ...".
    pub must: &'static str,
}

const ID: Element = Element {
    var: "id",
    what: "the request id",
    must: "name the request it answers, so the person can refer to it (Art. 12(1) GDPR)",
};
const SIGNATURE: Element = Element {
    var: "signature",
    what: "the controller's details",
    must: "say who writes: the controller's name and contact details (Art. 12(1), 13(1)(a) GDPR)",
};
const COMPLAINT: Element = Element {
    var: "complaint",
    what: "the complaint route",
    must: "tell the person they can complain to the supervisory authority (Art. 12(4), 77 GDPR)",
};
const COURT: Element = Element {
    var: "court",
    what: "the court route",
    must: "tell the person they can go to court, and within which term (Art. 12(4), 79 GDPR; art. 35 UAVG)",
};

/// One kind of letter.
pub struct Kind {
    /// The audit trail's `letter` and the template's file name (`nl/<name>.txt`).
    pub name: &'static str,
    /// Whether it is an answer that closes with the complaint and court routes (`complaint`, `court`).
    pub frame: bool,
    /// Whether the recipients told of it (Art. 19) are a variable of its template.
    pub recipients: bool,
    pub required: &'static [Element],
    /// The subject line (Dutch, English); the request id follows in brackets.
    pub subject: (&'static str, &'static str),
}

const FRAME: &[Element] = &[ID, COMPLAINT, COURT, SIGNATURE];

/// Every kind, in the order docs/letters.md lists them.
pub const KINDS: &[Kind] = &[
    Kind {
        name: "verification-code",
        frame: false,
        recipients: false,
        required: &[
            ID,
            Element { var: "code", what: "the code", must: "carry the one-time code the person relays" },
            Element { var: "valid_until", what: "the code's validity", must: "say until when the code is valid" },
            SIGNATURE,
        ],
        subject: ("Verificatiecode", "Verification code"),
    },
    Kind {
        name: "extension",
        frame: false,
        recipients: false,
        required: &[
            ID,
            Element { var: "deadline", what: "the new deadline", must: "give the new deadline (Art. 12(3) GDPR)" },
            Element { var: "reason", what: "the reason", must: "give the reasons for the delay (Art. 12(3) GDPR)" },
            SIGNATURE,
        ],
        subject: ("Verlenging", "Extension"),
    },
    Kind {
        name: "rejection",
        frame: true,
        recipients: false,
        required: &[
            ID,
            Element { var: "note", what: "the explanation", must: "give the reasons for not acting (Art. 12(4) GDPR)" },
            COMPLAINT,
            COURT,
            SIGNATURE,
        ],
        subject: ("Weigering", "Refusal"),
    },
    Kind {
        name: "rectification",
        frame: true,
        recipients: true,
        required: FRAME,
        subject: ("Correctie", "Rectification"),
    },
    Kind {
        name: "email-changed",
        frame: false,
        recipients: false,
        required: &[
            ID,
            Element {
                var: "new",
                what: "the new address",
                must: "name the address that replaced this one, so the person sees whether they asked for it",
            },
            SIGNATURE,
        ],
        subject: ("E-mailadres gewijzigd", "Email address changed"),
    },
    Kind { name: "restriction", frame: true, recipients: true, required: FRAME, subject: ("Beperking", "Restriction") },
    Kind {
        name: "restriction-lift-notice",
        frame: true,
        recipients: false,
        required: &[
            ID,
            Element {
                var: "lift_date",
                what: "the date the restriction ends",
                must: "tell the person when the restriction is lifted, before it is (Art. 18(3) GDPR)",
            },
            COMPLAINT,
            COURT,
            SIGNATURE,
        ],
        subject: ("Opheffen beperking", "Restriction to be lifted"),
    },
    Kind {
        name: "objection",
        frame: true,
        recipients: true,
        required: &[
            ID,
            Element {
                var: "explanation",
                what: "the outcome",
                must: "tell the person what we do with the objection (Art. 12(1), 21 GDPR)",
            },
            COMPLAINT,
            COURT,
            SIGNATURE,
        ],
        subject: ("Bezwaar", "Objection"),
    },
    Kind {
        name: "objection-decision",
        frame: true,
        recipients: true,
        required: &[
            ID,
            Element {
                var: "explanation",
                what: "the decision",
                must: "tell the person what was decided and why (Art. 12(1), 21, 22(3) GDPR)",
            },
            COMPLAINT,
            COURT,
            SIGNATURE,
        ],
        subject: ("Besluit op bezwaar", "Decision on objection"),
    },
    Kind {
        name: "erasure",
        frame: true,
        recipients: true,
        required: &[
            ID,
            Element {
                var: "kept",
                what: "what is kept",
                must: "say what is kept, why and until when (Art. 17(3) GDPR)",
            },
            COMPLAINT,
            COURT,
            SIGNATURE,
        ],
        subject: ("Wissing", "Erasure"),
    },
    // The answer's subject names the right answered (src/commands/deliver.rs).
    Kind { name: "answer", frame: true, recipients: false, required: FRAME, subject: ("Antwoord", "Answer") },
    Kind {
        name: "no-data",
        frame: true,
        recipients: false,
        required: FRAME,
        subject: ("Geen gegevens", "No data held"),
    },
    Kind {
        name: "expired",
        frame: true,
        recipients: false,
        required: FRAME,
        subject: ("Verzoek gesloten", "Request closed"),
    },
];

/// The kind of this name.
pub fn kind(name: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.name == name)
}

/// The languages a letter can be written in, Dutch first.
pub const LANGUAGES: &[&str] = &["nl", "en"];

macro_rules! shipped {
    ($($kind:literal),* $(,)?) => {
        &[$(
            (concat!("nl/", $kind, ".txt"), include_str!(concat!("../../templates/letters/nl/", $kind, ".txt"))),
            (concat!("en/", $kind, ".txt"), include_str!(concat!("../../templates/letters/en/", $kind, ".txt"))),
        )*]
    };
}

/// The shipped templates, by file name (`nl/erasure.txt`).
pub const SHIPPED: &[(&str, &str)] = shipped!(
    "verification-code",
    "extension",
    "rejection",
    "rectification",
    "email-changed",
    "restriction",
    "restriction-lift-notice",
    "objection",
    "objection-decision",
    "erasure",
    "answer",
    "no-data",
    "expired",
);

/// The shipped template of a file name.
pub fn shipped(file: &str) -> Option<&'static str> {
    SHIPPED.iter().find(|(f, _)| *f == file).map(|(_, t)| *t)
}

/// A value that marks where an element lands in a trial rendering: longer than any value the
/// element takes in a letter, so that a template that cuts it (`{{ complaint[:40] }}`,
/// `[3:]`) is found however long the cut it keeps.
pub fn mark(var: &str) -> String {
    format!("\u{27e8}{var}{}\u{27e9}", "\u{b7}".repeat(MARK_LENGTH))
}

/// How long a mark is: well over the longest text a letter is given (an officer's free text is
/// at most `free_text::MAX_CHARS`, the register's texts are sentences).
const MARK_LENGTH: usize = 10_000;

/// The values a template of `kind` is tried with: every variable it may use, each variant of
/// the values its wording branches on (a refusal's ground, a restriction's ground...), with the
/// required elements marked so the check can see that each lands in the letter.
pub fn samples(kind: &Kind) -> Vec<Value> {
    let m = mark;
    let mut base = json!({
        "id": m("id"),
        "right": m("right"),
        "controller": m("controller"),
        "contact": m("contact"),
        "signature": m("signature"),
    });
    if kind.frame {
        base["complaint"] = json!(m("complaint"));
        base["court"] = json!(m("court"));
    }
    if kind.recipients {
        base["recipients"] = json!([{"name": "R", "country": "NL"}, {"name": "S", "country": ""}]);
    }
    let with = |extra: Value| {
        let mut v = base.clone();
        for (k, x) in extra.as_object().expect("an object") {
            v[k] = x.clone();
        }
        v
    };
    let samples = match kind.name {
        "verification-code" => {
            let asked = json!([
                {"what": "set", "field": "f", "name": "F", "value": "v"},
                {"what": "supplement", "category": "c", "name": "C", "statement": "s"},
                {"what": "purpose", "purpose": "p", "name": "P"},
                {"what": "ground", "ground": "g", "name": "g", "data": ["d"], "data_names": ["D"]},
                {"what": "ground", "ground": "g", "name": "g", "data": [], "data_names": []},
            ]);
            let one = json!({"code": m("code"), "valid_until": m("valid_until")});
            vec![
                with(json!({"asked": asked, "code": one["code"], "valid_until": one["valid_until"]})),
                with(json!({"asked": [], "code": one["code"], "valid_until": one["valid_until"]})),
            ]
        }
        "extension" => vec![with(json!({"deadline": m("deadline"), "reason": m("reason")}))],
        "rejection" => ["unfounded", "excessive", "identity-not-confirmed", "other"]
            .iter()
            .flat_map(|r| {
                [json!([]), json!(["DSR-2026-0001"])].into_iter().map(move |earlier| {
                    with(json!({"reason": r, "earlier": earlier, "note": m("note"), "rights_contact": "x"}))
                })
            })
            .collect(),
        "rectification" => vec![
            with(json!({"fields": ["a", "b"], "accurate": [], "statements": ["c"]})),
            with(json!({"fields": ["a"], "accurate": ["d"], "statements": []})),
            with(json!({"fields": [], "accurate": [], "statements": ["c"]})),
            with(json!({"fields": [], "accurate": ["d", "e"], "statements": []})),
        ],
        "email-changed" => vec![with(json!({"old": m("old"), "new": m("new")}))],
        "restriction" => ["accuracy-contested", "unlawful", "legal-claims", "objected"]
            .iter()
            .flat_map(|g| {
                [json!([]), json!(["a", "b"])].into_iter().map(move |c| with(json!({"ground": g, "categories": c})))
            })
            .collect(),
        "restriction-lift-notice" => vec![with(json!({"lift_date": m("lift_date"), "reason": m("reason")}))],
        "objection" | "objection-decision" => {
            vec![with(
                json!({"outcome": "stopped", "purpose": "p", "purpose_name": "n", "explanation": m("explanation")}),
            )]
        }
        "erasure" => {
            let kept = json!([{"rows": 2, "category": m("kept"), "ground": m("kept"), "until": m("kept")}]);
            vec![
                with(json!({"erased": 3, "kept": kept, "unlinked": true, "restricted": true})),
                with(json!({"erased": 3, "kept": [], "unlinked": false, "restricted": false})),
            ]
        }
        "answer" => [true, false]
            .iter()
            .map(|e| {
                with(json!({"file": "f.zip", "encrypted": e, "rights": [{"name": "n", "article": "a", "how": "h"}]}))
            })
            .collect(),
        "no-data" => {
            [true, false].iter().map(|e| with(json!({"address": m("address"), "exact_local_part": e}))).collect()
        }
        "expired" => vec![with(json!({"received": m("received")}))],
        _ => vec![base],
    };
    // A letter may have no recipients to tell: an element kept only for when it has is missing.
    if kind.recipients {
        let none = samples.iter().map(|s| {
            let mut s = s.clone();
            s["recipients"] = json!([]);
            s
        });
        return samples.iter().cloned().chain(none).collect();
    }
    samples
}

//! The person's requests and what the rights changed, as sections of their copy (GDPR Art.
//! 15(3), CJEU C-487/21): each request with its outcome, restrictions (Art. 18), objections with
//! the grounds weighed (Art. 21), reviews of the automated decision (Art. 22(3)), the recipients
//! told of a change (Art. 19), and whether their identifiers are on the suppression list.

use crate::rights::history::History;

use super::present::{bi, code_or, reason_bi, when, Names};
use super::sections::Section;

/// What became of the person's requests, and what the rights changed (Art. 15(3)).
pub fn history(h: &History, names: &Names<'_>) -> Vec<Section> {
    let mut out = Vec::new();
    let requests = h
        .requests
        .iter()
        .map(|q| {
            let mut outcome = code_or("state", &q.state);
            if let Some(r) = &q.rejection_reason {
                outcome = format!("{outcome}: {}", code_or("rejection_reason", r));
            }
            if let Some(n) = &q.rejection_note {
                outcome = format!("{outcome} ({})", reason_bi(n));
            }
            if let Some(c) = &q.delivery_channel {
                outcome = format!("{outcome} ({} {})", bi("delivered by", "bezorgd per"), code_or("channel", c));
            }
            let mut due = when(Some(&q.due_on));
            if let Some(x) = &q.extended_due_on {
                due = format!(
                    "{} ({}: {})",
                    when(Some(x)),
                    bi("extended", "verlengd"),
                    reason_bi(q.extension_reason.as_deref().unwrap_or_default())
                );
            }
            vec![
                q.id.clone(),
                code_or("right", &q.right),
                when(Some(&q.received_on)),
                due,
                outcome,
                when(q.closed_at.as_deref()),
            ]
        })
        .collect();
    out.push(Section::new(2, "Your requests and what became of them", "Je verzoeken en wat ermee gebeurde").table(
        &[
            ("Request", "Verzoek"),
            ("Right", "Recht"),
            ("Received", "Ontvangen"),
            ("Due", "Uiterlijk"),
            ("Outcome", "Uitkomst"),
            ("Closed", "Afgesloten"),
        ],
        requests,
    ));
    if !h.restrictions.is_empty() {
        let rows = h
            .restrictions
            .iter()
            .map(|x| {
                vec![
                    x.request.clone(),
                    code_or("ground", &x.ground),
                    // A restriction of one purpose (an objection being weighed) restricts the use
                    // of the data for that purpose, not all of it.
                    match (&x.category, &x.purpose) {
                        (Some(c), _) => names.category(c),
                        (None, Some(code)) => {
                            let found = names.0.purposes.iter().find(|p| p.code == *code);
                            let (en, nl) = found.map_or((code.as_str(), code.as_str()), |p| (&p.name_en, &p.name_nl));
                            bi(&format!("its use for one purpose: {en}"), &format!("het gebruik voor één doel: {nl}"))
                        }
                        (None, None) => bi("all your data", "al je gegevens"),
                    },
                    when(Some(&x.started_at)),
                    when(x.lifted_at.as_deref()),
                    x.lift_reason.as_deref().map(reason_bi).unwrap_or_default(),
                ]
            })
            .collect();
        out.push(Section::new(3, "Restrictions (Art. 18)", "Beperkingen (art. 18)").table(
            &[
                ("Request", "Verzoek"),
                ("Ground", "Grond"),
                ("Data", "Gegevens"),
                ("Since", "Sinds"),
                ("Lifted", "Opgeheven"),
                ("Why lifted", "Waarom opgeheven"),
            ],
            rows,
        ));
    }
    if !h.objections.is_empty() {
        let rows = h
            .objections
            .iter()
            .map(|x| {
                vec![
                    x.request.clone(),
                    names.purpose(&x.purpose),
                    code_or("outcome", &x.outcome),
                    x.grounds.as_deref().map(reason_bi).unwrap_or_default(),
                    when(x.decided_at.as_deref()),
                ]
            })
            .collect();
        out.push(Section::new(3, "Objections (Art. 21)", "Bezwaren (art. 21)").table(
            &[
                ("Request", "Verzoek"),
                ("Purpose", "Doel"),
                ("Outcome", "Uitkomst"),
                ("Grounds weighed", "Gewogen gronden"),
                ("Decided", "Besloten"),
            ],
            rows,
        ));
    }
    if !h.decision_reviews.is_empty() {
        let rows = h
            .decision_reviews
            .iter()
            .map(|x| {
                vec![
                    x.request.clone(),
                    names.decision(&x.decision),
                    when(Some(&x.requested_at)),
                    x.outcome.as_deref().map_or_else(|| code_or("outcome", "pending"), |o| code_or("outcome", o)),
                    x.outcome_note.as_deref().map(reason_bi).unwrap_or_default(),
                    when(x.decided_at.as_deref()),
                ]
            })
            .collect();
        out.push(
            Section::new(
                3,
                "Human reviews of the automated decision (Art. 22(3))",
                "Menselijke beoordelingen van het geautomatiseerde besluit (art. 22 lid 3)",
            )
            .table(
                &[
                    ("Request", "Verzoek"),
                    ("Decision", "Besluit"),
                    ("Asked", "Gevraagd"),
                    ("Outcome", "Uitkomst"),
                    ("Why", "Waarom"),
                    ("Decided", "Besloten"),
                ],
                rows,
            ),
        );
    }
    if !h.notifications.is_empty() {
        let rows = h
            .notifications
            .iter()
            .map(|x| {
                vec![
                    x.request.clone(),
                    code_or("right", &x.right),
                    x.recipient_name.clone(),
                    code_or("notification", &x.state),
                    when(x.notified_at.as_deref()),
                ]
            })
            .collect();
        out.push(
            Section::new(
                3,
                "Recipients told of a change (Art. 19)",
                "Ontvangers geïnformeerd over een wijziging (art. 19)",
            )
            .table(
                &[
                    ("Request", "Verzoek"),
                    ("About", "Over"),
                    ("Recipient", "Ontvanger"),
                    ("Status", "Status"),
                    ("When", "Wanneer"),
                ],
                rows,
            ),
        );
    }
    let mut suppression = Section::new(3, "Suppression list", "Blokkeerlijst");
    if h.suppression.is_empty() {
        suppression = suppression.say(
            "None of your identifiers is on our suppression list.",
            "Geen van je gegevens staat op onze blokkeerlijst.",
        );
    } else {
        let rows = h
            .suppression
            .iter()
            .map(|x| vec![code_or("kind", &x.kind), code_or("reason", &x.reason), when(Some(&x.added_at))])
            .collect();
        suppression = suppression
            .say("These identifiers of yours are on our suppression list, kept only as a one-way code, so that they are never used for direct marketing again.", "Deze gegevens van jou staan op onze blokkeerlijst, alleen als onomkeerbare code, zodat ze nooit meer voor direct marketing worden gebruikt.")
            .table(&[("Identifier", "Gegeven"), ("Why", "Waarom"), ("Since", "Sinds")], rows);
    }
    out.push(suppression);
    out
}

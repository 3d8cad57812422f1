use super::*;

fn mail(subject: &str, text: &str) -> Mail {
    super::super::parse(
        "t".into(),
        format!(
            "From: a@example.nl\r\nSubject: {subject}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
        )
        .as_bytes(),
    )
}

fn right(subject: &str, text: &str) -> Verdict {
    classify(&mail(subject, text))
}

#[test]
fn one_right_opens_it() {
    assert_eq!(
        right("Inzageverzoek", "Graag wil ik inzage in mijn gegevens."),
        Verdict::Open { right: Kind::Access, marketing: false }
    );
    assert_eq!(
        right("Request", "Please delete my account and all data."),
        Verdict::Open { right: Kind::Erase, marketing: false }
    );
    assert_eq!(right("AVG", "Verwijder mijn gegevens"), Verdict::Open { right: Kind::Erase, marketing: false });
    assert_eq!(
        right("Data", "I want to use my right to data portability."),
        Verdict::Open { right: Kind::Export, marketing: false }
    );
}

#[test]
fn unsubscribe_is_an_objection_to_marketing_not_an_erasure() {
    assert_eq!(right("Unsubscribe", "Please unsubscribe me."), Verdict::Open { right: Kind::Object, marketing: true });
    assert_eq!(
        right("afmelden", "Ik wil me afmelden voor de nieuwsbrief"),
        Verdict::Open { right: Kind::Object, marketing: true }
    );
}

#[test]
fn common_support_mail_asks_for_no_right() {
    for (subject, text) in [
        ("Wachtwoord", "Ik wist mijn wachtwoord niet meer."),
        ("Bestelling", "Welke gegevens hebben jullie nodig om mijn bestelling te annuleren?"),
        ("Nieuwsbrief", "Ik heb deze maand geen nieuwsbrief ontvangen."),
        ("Order", "My order was deleted."),
        ("Voorwaarden", "Volgens artikel 17 van uw algemene voorwaarden mag ik opzeggen."),
    ] {
        assert!(matches!(right(subject, text), Verdict::Nothing { .. }), "{text}: {:?}", right(subject, text));
    }
    assert_eq!(
        right("AVG", "Op grond van artikel 17 AVG wil ik dat u stopt."),
        Verdict::Open { right: Kind::Erase, marketing: false }
    );
}

#[test]
fn a_reply_that_disowns_the_request_or_forwards_it_checks_no_code() {
    let quoted =
        "Ik heb dit verzoek niet gedaan!\n\nOp 1 dec. 2026 schreef Virtio:\n> verzoek DSR-2026-0007\n>     7KQ2-M9XD";
    assert!(matches!(right("Re: Verificatiecode (DSR-2026-0007)", quoted), Verdict::AboutRequest { .. }));
    let fwd = "Wat is dit?\n\n---------- Forwarded message ---------\nverzoek DSR-2026-0007\n    7KQ2-M9XD";
    assert!(matches!(right("Fwd: Verificatiecode (DSR-2026-0007)", fwd), Verdict::AboutRequest { .. }));
    let outlook = "Bedankt.\n\nVan: Virtio <support@virtio.nl>\nVerzonden: maandag 30 november 2026\nOnderwerp: Nieuwsbrief\n\nAfmelden? Klik hier.";
    assert!(matches!(right("RE: Nieuwsbrief", outlook), Verdict::Nothing { .. }));
}

#[test]
fn unclear_or_detailed_rights_go_to_the_officer() {
    assert!(matches!(right("x", "Ik wil inzage en daarna verwijdering."), Verdict::Review { .. }));
    assert!(matches!(right("x", "Mijn adres klopt niet."), Verdict::Review { .. }));
    assert!(matches!(right("AVG vraag", "Ik heb een vraag over de AVG."), Verdict::Review { .. }));
    assert!(matches!(right("Factuur", "Wanneer komt mijn factuur?"), Verdict::Nothing { .. }));
}

#[test]
fn quoted_text_does_not_count() {
    let text = "Bedankt!\n\nOp 1 dec. 2026 schreef Support:\n> Wil je inzage of verwijdering?";
    assert!(matches!(right("Re: vraag", text), Verdict::Nothing { .. }));
}

#[test]
fn codes_in_replies() {
    assert_eq!(codes("hier: 7kq2-m9xd"), vec!["7KQ2M9XD"]);
    assert_eq!(codes("code bh4z-0a9w"), vec!["BH4Z0A9W"]);
    assert_eq!(codes("hi, my code is bhxzkagw"), vec!["BHXZKAGW"]);
    assert!(codes("hi, my question about everyone, high-tech").is_empty());
    // Words alone on a line, phone numbers and years beside words are not codes.
    assert!(
        codes("Ik heb geen code ontvangen\n\nGroetjes\nAnnemiek\nbel 0900-1234\nsinds 2026 mijn account").is_empty()
    );
    // At most three looked at.
    assert_eq!(codes("1AAA-AAAA 2BBB-BBBB 3CCC-CCCC 4DDD-DDDD").len(), 3);
    assert_eq!(codes("Re: Verification code (DSR-2026-0001) ABCD-EFGH"), vec!["ABCDEFGH"]);
    assert_eq!(codes("> 7KQ2M9XD\n"), vec!["7KQ2M9XD"]);
    assert_eq!(codes(">     ABCD-EFGH\n"), vec!["ABCDEFGH"]);
    // Words, numbers and request ids are not codes.
    assert!(codes("personal question about 76181553, verzoek DSR-2026-0001").is_empty());
    let v = right("Re: Verificatiecode / Verification code (DSR-2026-0007)", "7KQ2-M9XD");
    assert_eq!(v, Verdict::Reply { request: "DSR-2026-0007".into(), codes: vec!["7KQ2M9XD".into()], asks: vec![] });
}

#[test]
fn delete_opens_an_erasure_only_for_the_person_s_own_data() {
    for text in [
        "Please delete the old DNS zone for example.nl.",
        "Kunt u dit verwijderen?",
        "Kunt u de foto verwijderen?",
        "Gelieve het dubbele ticket te verwijderen.",
        "Please delete the duplicate invoice.",
        "Please delete my old website files.",
        "Kunt u de oude website van mijn klant verwijderen?",
        "Kunt u mij laten weten of u de foto kunt verwijderen?",
    ] {
        assert!(matches!(right("Vraag", text), Verdict::Nothing { .. }), "{text}: {:?}", right("Vraag", text));
    }
    for text in [
        "Verwijder al mijn persoonsgegevens.",
        "Kunt u mijn gegevens verwijderen?",
        "Ik wil dat u mijn account en alle gegevens verwijdert.",
        "Verwijder mij uit uw systemen.",
        "Verwijder alles wat u van mij heeft.",
        "Please delete my personal data.",
        "I want my account deleted.",
        "Please erase everything you hold about me.",
        "This is an erasure request.",
        "I invoke my right to erasure.",
    ] {
        assert_eq!(right("Verzoek", text), Verdict::Open { right: Kind::Erase, marketing: false }, "{text}");
    }
    // The verb alone beside words about personal data: the officer reads it.
    let v = right("AVG", "Op grond van de AVG: verwijder alles.");
    assert!(matches!(&v, Verdict::Review { asks, .. } if asks == &["erase"]), "{v:?}");
}

#[test]
fn a_quote_header_the_mail_client_wrapped_is_still_a_quote_header() {
    for text in [
        "Thanks!\n\nOn Mon, 7 Dec 2026 at 14:00, Fietsonderdelen Online B.V. <\nprivacy@fietsonderdelen-online.example> wrote:\n> We received your request about your personal data.",
        "Bedankt!\n\nOp ma 7 dec. 2026 om 14:00 schreef Fietsonderdelen Online B.V. <\nprivacy@fietsonderdelen-online.example>:\n> Uw verzoek over uw persoonsgegevens.",
    ] {
        assert!(matches!(right("Re: verzoek", text), Verdict::Nothing { .. }), "{text}: {:?}", right("Re: verzoek", text));
    }
}

#[test]
fn erasure_phrasings_with_the_verb_last_or_a_named_detail_open_an_erasure() {
    for text in [
        "Wilt u mij uit uw bestand verwijderen?",
        "Verwijder mijn e-mailadres alstublieft.",
        "Please delete my email address.",
        "Please delete all personal information you hold about me.",
    ] {
        assert_eq!(right("Verzoek", text), Verdict::Open { right: Kind::Erase, marketing: false }, "{text}");
    }
    // "On second thought ... You wrote:" on the next line is no quote header: the words count.
    let text = "On second thought, please delete my account\nafter all. You wrote: fine.";
    assert_eq!(right("x", text), Verdict::Open { right: Kind::Erase, marketing: false });
}

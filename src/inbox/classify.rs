//! What a message asks, read from its subject and text in Dutch and English: a right of
//! Art. 15-21 GDPR, a code for a request (a reply to the code message), or nothing. The rules
//! are word lists, not a guess at intent: a message that names more than one right, names a
//! right that needs details a message cannot give reliably (the fields of a rectification, the
//! ground of a restriction), or only mentions personal data is left for the officer
//! (`needs-review`) with its text; one that asks for nothing is listed. "Unsubscribe" is an
//! objection to direct marketing (Art. 21(2)), never an erasure.

use std::sync::LazyLock;

use regex::Regex;

use super::Mail;
use crate::request::Kind;

/// What intake does with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Open a request for this right (`marketing`: an objection to direct marketing).
    Open { right: Kind, marketing: bool },
    /// A reply about request `request`, carrying these code candidates (maybe none), and the
    /// rights the person's own text asks for (another right than the request's is a request of
    /// its own, Art. 12(3): not lost in a reply).
    Reply { request: String, codes: Vec<String>, asks: Vec<&'static str> },
    /// A message about request `request` that the officer must read before anything is done
    /// with its code: it may disown the request, or it is forwarded.
    AboutRequest { request: String, reason: String },
    /// It asks for a right, but the officer must decide what exactly. `forwarded`: its sender
    /// passed on someone else's message, so the request is not the sender's to open.
    Review { asks: Vec<&'static str>, reason: String, forwarded: bool },
    /// It asks for nothing a right covers.
    Nothing { reason: String },
}

struct Rule {
    right: &'static str,
    words: Regex,
}

fn words(alternatives: &[&str]) -> Regex {
    Regex::new(&format!(r"(?i)\b(?:{})", alternatives.join("|"))).expect("a valid pattern")
}

/// The words of each right, Dutch and English. Order matters only for the officer's reading.
static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    vec![
        Rule {
            right: "access",
            words: words(&[r"inzage", r"(?:subject )?access request", r"right (?:of|to) access", r"\bsar\b"]),
        },
        // Asking what is held, or for a copy: access, unless the copy is to take elsewhere.
        Rule {
            right: "copy",
            words: words(&[
                r"welke (?:persoons)?gegevens\b[^.?!]{0,40}\b(?:heb|hebt|hebben|heeft|bewaar|bewaart|bewaren|verwerk|verwerkt|verwerken|staan|opgeslagen)\b",
                r"wat (?:voor )?(?:persoons)?gegevens\b.{0,40}\b(?:heb|hebt|hebben|heeft|bewaar|verwerk|staan)",
                r"kopie van (?:al )?(?:mijn|de) (?:persoons)?gegevens",
                r"overzicht van (?:al )?mijn (?:persoons)?gegevens",
                r"what (?:personal )?(?:data|information) (?:do )?you (?:hold|have|keep|store|process)",
                r"copy of (?:all )?(?:the |my )?(?:personal )?(?:data|information)",
            ]),
        },
        Rule {
            right: "export",
            words: words(&[
                r"dataportabiliteit",
                r"overdraagbaarheid",
                r"gegevens overdragen",
                r"(?:data )?portability",
                r"machine[- ]?readable",
                r"machineleesba",
                r"export (?:of )?(?:all )?my (?:personal )?data",
            ]),
        },
        Rule {
            right: "rectify",
            words: words(&[
                r"rectif",
                r"misspel",
                r"spel(?:led|t) (?:wrong|incorrectly)",
                r"corrige",
                r"correctie",
                r"klopt niet",
                r"onjuist",
                r"wijzig(?:en|ing)? (?:van )?mijn",
                r"correct(?:ion of)? my",
                r"is (?:wrong|incorrect)",
                r"update my (?:address|name|phone|email|details)",
            ]),
        },
        // Erasure of the person's data, not of a thing ("delete the old DNS zone", "kunt u de
        // foto verwijderen?"): the verb with the person's data, account or self as its object.
        // The verb alone is a mention ([`ERASE_MENTION`]).
        Rule {
            right: "erase",
            words: words(&[
                r"verwijder\w*\s+(?:van\s+)?(?:al\s+|alle\s+)?(?:mijn|m'n)\s+(?:\w+\s+){0,2}?[\w-]*(?:gegevens|account|profiel|data|adres|nummer)\b",
                r"(?:mijn|m'n)\s+(?:\w+\s+){0,2}?[\w-]*(?:gegevens|account|profiel|data|adres|nummer)\b[^.?!\n]{0,60}\bverwijder",
                r"verwijder\w*\s+(?:mij|me)\b",
                r"\b(?:mij|me)\s+(?:uit|van|bij)\b[^.?!\n]{0,40}\bverwijder",
                r"verwijder\w*\b[^.?!\n]{0,40}\bvan mij\b",
                r"alles\b[^.?!\n]{0,40}\bvan mij\b[^.?!\n]{0,40}\bverwijder",
                r"verwijderverzoek",
                r"verzoek (?:tot|om) verwijdering",
                r"recht op (?:verwijdering|vergetelheid)",
                r"wissen (?:van )?(?:al )?mijn",
                r"wis (?:al )?mijn",
                r"vergeten te worden",
                r"vergetelheid",
                r"(?:delete|erase|remove)\s+(?:all\s+)?(?:of\s+)?my\s+(?:[\w-]+\s+){0,2}?(?:data|information|info|details|account|profile|records|e-?mail|address|phone)\b",
                r"(?:delete|erase|remove)\s+me\b",
                r"my\s+(?:[\w-]+\s+){0,2}?(?:data|information|info|details|account|profile|records|e-?mail|address|phone)\b[^.?!\n]{0,60}\b(?:delet|eras|remov)",
                r"(?:delete|erase|remove)\s+(?:everything|all (?:the |of the )?(?:personal )?(?:data|information|info))\b[^.?!\n]{0,40}\b(?:me|my)\b",
                r"(?:deletion|erasure|removal)\s+of\s+(?:all\s+)?(?:of\s+)?(?:my|me)\b",
                r"(?:data|account)\s+(?:deletion|erasure|removal)",
                r"(?:erasure|deletion) request",
                r"(?:right|want) to (?:erasure|be forgotten)",
            ]),
        },
        Rule {
            right: "restrict",
            words: words(&[
                r"beperking van (?:de )?verwerking",
                r"verwerking (?:te )?beperken",
                r"restrict(?:ion)?(?: of)? (?:the )?processing",
            ]),
        },
        Rule { right: "object", words: words(&[r"bezwaar", r"\bobject(?:ion)?\b(?: to)?"]) },
        Rule {
            right: "marketing",
            words: words(&[
                r"unsubscribe",
                r"afmelden",
                r"uitschrijven",
                r"opt[- ]?out",
                r"(?:wil|wens|hoef) (?:ik )?geen (?:nieuwsbrie\w*|reclame|marketing|mails?)",
                r"geen (?:nieuwsbrie\w*|reclame|marketing|mails?)\b[^.?!]{0,30}\bmeer\b",
                r"no (?:more )?(?:newsletter|marketing|advertis)",
                r"stop (?:met )?(?:mailen|sending)",
            ]),
        },
    ]
});

/// An article of the GDPR (AVG) named by number, counted only when the text names the law: an
/// "article 17" of the company's terms is not a request.
static ARTICLE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b(?:artikel|article|art\.?) ?(15|16|17|18|20|21)\b").expect("a valid pattern"));
static LAW: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:u?avg|gdpr|general data protection regulation|algemene verordening gegevensbescherming)\b")
        .expect("a valid pattern")
});

/// The right an article number grants.
fn article_right(n: &str) -> &'static str {
    match n {
        "15" => "access",
        "16" => "rectify",
        "17" => "erase",
        "18" => "restrict",
        "20" => "export",
        _ => "object",
    }
}

/// Words in the person's own text that say the request was not theirs: a code quoted in such a
/// reply is no confirmation.
static DISOWNS: LazyLock<Regex> = LazyLock::new(|| {
    words(&[
        r"niet (?:door mij |zelf )?(?:gedaan|aangevraagd|ingediend|verzocht)",
        r"(?:heb|had) (?:ik )?(?:dit|dat|het|geen) ?(?:verzoek )?(?:niet )?(?:gedaan|aangevraagd|ingediend)",
        r"niet van mij",
        r"(?:did|do) ?n[o']t (?:make|request|ask|send|submit)",
        r"never (?:made|requested|asked|sent|submitted)",
        r"wasn't me|was not me|not me\b",
        r"fraud",
        r"fraude",
        r"phishing",
        r"oplichting",
        r"scam",
    ])
});

/// "Welke gegevens hebben jullie nodig": a question about what to send.
static NEEDED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:welke|wat voor) (?:persoons)?gegevens\b[^.?!]{0,60}\bnodig\b|\bwhat (?:data|information|details) do you need\b")
        .expect("a valid pattern")
});

/// "Delete" or "verwijderen" without the person's data as its object: an erasure only beside
/// another right or words about personal data, and then for the officer to read.
static ERASE_MENTION: LazyLock<Regex> =
    LazyLock::new(|| words(&[r"verwijder", r"delet(?:e|ion)\b", r"eras(?:e|ure)\b", r"wissen\b"]));

/// Words that say the message is about personal data, without naming a right.
static PRIVACY: LazyLock<Regex> = LazyLock::new(|| {
    words(&[
        r"\bavg\b",
        r"\bgdpr\b",
        r"privacy",
        r"persoonsgegevens",
        r"persoonlijke gegevens",
        r"personal data",
        r"personal information",
        r"mijn gegevens",
        r"my data",
    ])
});

/// A request id as dsr writes it.
static REQUEST_ID: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\bDSR-\d{4}-\d{4,}\b").expect("a valid pattern"));

/// A code as dsr writes it (`7KQ2-M9XD`), without the dash, or with a space, in any case: three
/// patterns, each looked for on its own, so that "code 7kq2-m9xd" is not read as "code 7kq2".
static CODE: LazyLock<[Regex; 3]> = LazyLock::new(|| {
    [r"(?i)\b[0-9a-z]{4}-[0-9a-z]{4}\b", r"(?i)\b[0-9a-z]{8}\b", r"(?i)\b[0-9a-z]{4} [0-9a-z]{4}\b"]
        .map(|p| Regex::new(p).expect("a valid pattern"))
});

/// The word "code" just before a candidate: "code: X", "my code is X", "de code is X".
static AFTER_CODE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\bcode\s*(?:is|was|=)?\s*:?\s*$").expect("a valid pattern"));

/// The lines a forwarding mail client puts before the forwarded message.
static FORWARDED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?im)^\s*(?:-+ ?(?:forwarded message|doorgestuurd bericht) ?-+|begin forwarded message:)")
        .expect("a valid pattern")
});

/// Where the quoted earlier message starts in a reply: "On ... wrote:", "Op ... schreef ...:"
/// (also when the mail client wrapped it, the sender's address on the next line),
/// Outlook's "-----Original Message-----" or its "From: / Sent:" block (Dutch "Van: /
/// Verzonden:"), or a line of underscores above it.
static QUOTE_HEAD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?im)^\s*(?:on .{0,200}(?:\n.{0,200}[@>].{0,200})? wrote:|op .{0,200} schreef .{0,100}(?:\n.{0,100}[@>].{0,100})?:|-+ ?(?:original message|oorspronkelijk bericht) ?-+|_{10,}|(?:from|van): .*\n\s*(?:sent|verzonden|date|datum): .*)\s*$",
    )
    .expect("a valid pattern")
});

/// What `mail` asks. An objection to direct marketing names no purpose: the caller finds it
/// in the register.
pub fn classify(mail: &Mail) -> Verdict {
    if let Some(why) = mail.automatic {
        return Verdict::Nothing { reason: why.to_owned() };
    }
    let all = format!("{}\n{}", mail.subject, mail.text);
    // Only what the person wrote counts for what they ask: not the message they reply to.
    let own = match (&mail.unquoted, FORWARDED.is_match(&mail.text)) {
        (Some(unquoted), false) => own_text(unquoted),
        _ => own_text(&mail.text),
    };
    let text = format!("{}\n{}", mail.subject, own);
    let subject = mail.subject.to_lowercase();
    let forwarded = FORWARDED.is_match(&mail.text) || ["fwd:", "fw:", "doorst:"].iter().any(|p| subject.starts_with(p));
    if let Some(id) = REQUEST_ID.find(&all) {
        let request = id.as_str().to_owned();
        let looks_like_reply = mail.is_reply || ["re:", "antw:", "aw:", "sv:"].iter().any(|p| subject.starts_with(p));
        let codes = codes(&all);
        if looks_like_reply || !codes.is_empty() {
            // Holding the code proves nothing when the person says the request was not theirs,
            // or passes the letter on: the officer reads it.
            if DISOWNS.is_match(&text) {
                let reason = format!("a message about request {request} that may say the request was not theirs: read it; no code was checked");
                return Verdict::AboutRequest { request, reason };
            }
            if forwarded {
                let reason = format!("a forwarded message about request {request}: read it; no code was checked");
                return Verdict::AboutRequest { request, reason };
            }
            return Verdict::Reply { request, codes, asks: rights_asked(&own).0 };
        }
    }
    let (asks, mentioned) = rights_asked(&text);
    if forwarded {
        if asks.is_empty() && !PRIVACY.is_match(&mail.text) {
            return Verdict::Nothing { reason: "a forwarded message that asks for no right".into() };
        }
        return Verdict::Review {
            asks,
            reason: "a forwarded message: the person who asks may not be its sender; open the request for the person named in it".into(),
            forwarded: true,
        };
    }
    match asks.as_slice() {
        [] if PRIVACY.is_match(&text) => {
            Verdict::Review { asks, reason: "it is about personal data but names no right".into(), forwarded: false }
        }
        [] => Verdict::Nothing { reason: "it asks for no right".into() },
        [one] => match *one {
            "access" => Verdict::Open { right: Kind::Access, marketing: false },
            "export" => Verdict::Open { right: Kind::Export, marketing: false },
            "erase" if mentioned => Verdict::Review {
                asks,
                reason:
                    "it may ask for erasure (\"delete\" or \"verwijderen\" without naming the person's data): read it"
                        .into(),
                forwarded: false,
            },
            "erase" => Verdict::Open { right: Kind::Erase, marketing: false },
            "marketing" => Verdict::Open { right: Kind::Object, marketing: true },
            "rectify" => Verdict::Review {
                asks,
                reason: "a rectification: it needs the fields and values the person gives (`--set FIELD=VALUE`)".into(),
                forwarded: false,
            },
            "restrict" => Verdict::Review {
                asks,
                reason: "a restriction: it needs its Art. 18(1) ground (`--ground`)".into(),
                forwarded: false,
            },
            _ => Verdict::Review {
                asks,
                reason: "an objection: it needs the purpose objected to (`--purpose`)".into(),
                forwarded: false,
            },
        },
        many => Verdict::Review {
            asks: many.to_vec(),
            reason: format!("it asks for more than one right ({})", many.join(", ")),
            forwarded: false,
        },
    }
}

/// The rights a text asks for (the words of each right, an article named beside the law), and
/// whether "erase" among them is only a mention of deleting without the person's data as its
/// object (for the officer to read).
fn rights_asked(text: &str) -> (Vec<&'static str>, bool) {
    let mut asks: Vec<&'static str> = RULES.iter().filter(|r| r.words.is_match(text)).map(|r| r.right).collect();
    if LAW.is_match(text) {
        for m in ARTICLE.captures_iter(text) {
            let right = article_right(&m[1]);
            if !asks.contains(&right) {
                asks.push(right);
            }
        }
    }
    // "Verwijderen" with no object of the person's beside another right or words about
    // personal data may be an erasure; never opened as one without the officer.
    let mentioned =
        !asks.contains(&"erase") && ERASE_MENTION.is_match(text) && (!asks.is_empty() || PRIVACY.is_match(text));
    if mentioned {
        asks.push("erase");
    }
    // An objection to marketing is the objection; "I object" beside "unsubscribe" says the same.
    if asks.contains(&"marketing") {
        asks.retain(|r| *r != "object");
    }
    // A copy to take elsewhere is the portability right (Art. 20); a copy otherwise is access
    // (Art. 15(3)).
    // "Which data do you need to ..." asks what to send, not what is held.
    if NEEDED.is_match(text) {
        asks.retain(|r| *r != "copy");
    }
    if asks.contains(&"copy") {
        let portable = asks.contains(&"export");
        asks.retain(|r| *r != "copy");
        if !portable && !asks.contains(&"access") {
            asks.push("access");
        }
    }
    (asks, mentioned)
}

/// The text without the message it replies to or forwards: lines quoted with `>` and all from
/// a quote header on. A forwarded message is kept whole (its request is the forwarded part).
fn own_text(text: &str) -> String {
    if FORWARDED.is_match(text) {
        return text.to_owned();
    }
    let until = QUOTE_HEAD.find(text).map_or(text.len(), |m| m.start());
    text[..until].lines().filter(|l| !l.trim_start().starts_with('>')).collect::<Vec<_>>().join("\n")
}

/// The code candidates in a reply: `XXXX-XXXX` (or without the dash) with a digit and a
/// letter, or alone on its line (quoted or not); never part of a request id. Canonical forms,
/// each once, in order.
pub fn codes(text: &str) -> Vec<String> {
    let text = REQUEST_ID.replace_all(text, " ");
    let mut found: Vec<String> = Vec::new();
    for line in text.lines() {
        // Spans already taken by a code written the surer way (with its dash, or whole).
        let mut taken: Vec<std::ops::Range<usize>> = Vec::new();
        for (pattern, m) in CODE.iter().enumerate().flat_map(|(i, re)| re.find_iter(line).map(move |m| (i, m))) {
            if taken.iter().any(|t| t.start < m.end() && m.start() < t.end) {
                continue;
            }
            let token = m.as_str();
            let mixed = token.chars().any(|c| c.is_ascii_digit()) && token.chars().any(|c| c.is_ascii_alphabetic());
            // Right after the word "code" it may be letters only (one code in twenty has no
            // digit); as dsr prints it, upper case with the dash, too (the quoted code letter).
            // Written with a space, only after "code": "2026 mijn" is not one.
            let named = AFTER_CODE.is_match(&line[..m.start()]);
            let printed = pattern == 0
                && token.chars().any(|c| c.is_ascii_uppercase())
                && !token.chars().any(|c| c.is_ascii_lowercase());
            let accepted = if pattern == 2 { named } else { mixed || printed || named };
            if !accepted {
                continue;
            }
            taken.push(m.range());
            if let Some(code) = crate::verify::canonical(token) {
                if !found.contains(&code) {
                    found.push(code);
                }
            }
            // A reply carries one code; a list of guesses gets no more than a few looked at.
            if found.len() == MAX_CANDIDATES {
                return found;
            }
        }
    }
    found
}

/// How many code candidates of one reply are compared with the request's code: a reply counts
/// as one try, so it must not test a page of guesses.
const MAX_CANDIDATES: usize = 3;

#[cfg(test)]
mod tests;

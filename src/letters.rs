//! Letters about a request that no right was carried out for, so that everyone gets an answer:
//! the negative confirmation to the address a request came from when it names no one on file
//! (Art. 15(1)), and the notice that an unverified request expired, with how the person can still
//! identify themselves (Art. 11(2), 12(4)). Dutch first, then English, with the complaint route.

use crate::answers::{compose, Text};
use crate::clock::Clock;
use crate::mail::Letter;
use crate::register::Controller;
use crate::request::Request;

fn nothing() -> Text {
    Text { nl: String::new(), en: String::new() }
}

/// Art. 15(1): no personal data is linked to `address`. It goes only to that address and says
/// nothing about anyone else, so it tells an impostor nothing they could not learn by asking
/// from their own address.
pub fn no_data(c: &Controller, r: &Request, address: &str) -> Letter {
    let (right_en, right_nl) = r.kind().names();
    let body = Text {
        nl: format!(
            "We ontvingen een verzoek om {right_nl} (verzoek {id}) voor het e-mailadres {address}.\n\
Aan dit e-mailadres zijn bij ons geen persoonsgegevens gekoppeld (art. 15 lid 1 AVG), dus er is niets om te verstrekken, \
te wijzigen of te verwijderen.\n\
Kennen wij je onder een ander e-mailadres of klantnummer? Doe het verzoek dan opnieuw met dat gegeven, via {contact}.\n\
Heb jij dit verzoek niet gedaan? Dan hoef je niets te doen.",
            id = r.id,
            contact = c.privacy_email
        ),
        en: format!(
            "We received a request for {right_en} (request {id}) for the email address {address}.\n\
We hold no personal data linked to this email address (GDPR Art. 15(1)), so there is nothing to disclose, \
change or erase.\n\
Do we know you by another email address or customer number? Then make the request again with that, at {contact}.\n\
Did you not make this request? Then you need not do anything.",
            id = r.id,
            contact = c.privacy_email
        ),
    };
    Letter {
        kind: "no-data",
        subject: format!("Geen gegevens / No data held ({})", r.id),
        body: compose(c, &body, &nothing()),
    }
}

/// Art. 12(4), 11(2): the request expired unverified; why nothing was done and how to identify.
pub fn expired(c: &Controller, r: &Request) -> Letter {
    let (right_en, right_nl) = r.kind().names();
    let body = Text {
        nl: format!(
            "Je verzoek {id} om {right_nl}, ontvangen op {received}, is gesloten zonder dat we iets hebben gedaan: \
we konden niet vaststellen dat jij het verzoek deed, omdat de code die we naar dit adres stuurden ons niet op tijd \
bereikte. Zonder die bevestiging verstrekken of wijzigen we niets (art. 12 lid 6 AVG).\n\
Je kunt je nog steeds identificeren (art. 11 lid 2 en art. 12 lid 2 AVG): doe het verzoek opnieuw via {contact}, \
dan sturen we een nieuwe code naar dit adres. Kun je hier geen code ontvangen, zeg het ons dan; we spreken dan een \
andere manier af om vast te stellen wie je bent, zonder om een kopie van je identiteitsbewijs te vragen.",
            id = r.id,
            received = crate::local_time::day(r.received_on).0,
            contact = c.privacy_email
        ),
        en: format!(
            "Your request {id} for {right_en}, received on {received}, has been closed without action: we could not \
confirm that you made it, because the code we sent to this address did not reach us in time. Without that \
confirmation we disclose or change nothing (GDPR Art. 12(6)).\n\
You can still identify yourself (GDPR Art. 11(2) and 12(2)): make the request again at {contact} and we will send \
a new code to this address. If you cannot receive a code here, tell us, and we will agree another way to confirm \
who you are, without asking for a copy of your ID.",
            id = r.id,
            received = crate::local_time::day(r.received_on).1,
            contact = c.privacy_email
        ),
    };
    Letter {
        kind: "expired",
        subject: format!("Verzoek gesloten / Request closed ({})", r.id),
        body: compose(c, &body, &nothing()),
    }
}

/// Send the expiry letter of each request that just expired, in the caller's transaction: only to
/// an address on file (`mail::notify`), so a request naming no one gets none.
pub fn tell_expired(conn: &dyn crate::store::db::Db, clock: &Clock, expired_now: &[Request]) -> anyhow::Result<()> {
    if expired_now.is_empty() {
        return Ok(());
    }
    let Some(controller) = crate::register::Register::load(conn)?.controller else {
        return Ok(());
    };
    // The outbox lies beside the store.
    let store = conn.place();
    for r in expired_now {
        crate::mail::notify(conn, clock, &store, &controller, r, &expired(&controller, r))?;
    }
    Ok(())
}

//! Readable column headings for `index.html`, in English and Dutch. The CSV files and data.json
//! keep the column names themselves (stable keys for importing services).

use crate::store::personal::DataMap;

/// `English / Nederlands` for a column; an unknown column shows its name with spaces.
pub fn column(name: &str) -> String {
    match LABELS.iter().find(|(k, _, _)| *k == name) {
        Some((_, en, nl)) => format!("{en} / {nl}"),
        None => name.replace('_', " "),
    }
}

/// The English and Dutch name of a table of the person's data, from its map entry
/// (`label_en`, `label_nl`); a table without them shows its name.
pub fn table(map: &DataMap, name: &str) -> (String, String) {
    let entry = map.table(name);
    let plain = || name.replace('_', " ");
    (
        entry.and_then(|t| t.label_en.clone()).unwrap_or_else(plain),
        entry.and_then(|t| t.label_nl.clone()).unwrap_or_else(plain),
    )
}

const LABELS: &[(&str, &str, &str)] = &[
    ("account_holder", "Account holder", "Rekeninghouder"),
    ("added_at", "Added", "Toegevoegd"),
    ("address", "Address", "Adres"),
    ("address_norm", "Address (for matching)", "Adres (voor zoeken)"),
    ("amount_cents", "Amount (cents)", "Bedrag (centen)"),
    ("app", "App", "App"),
    ("app_version", "App version", "App-versie"),
    ("application_id", "Application", "Sollicitatie"),
    ("applied_at", "Applied", "Gesolliciteerd"),
    ("automated", "Automated", "Geautomatiseerd"),
    ("billing_address", "Billing address", "Factuuradres"),
    ("billing_name", "Billing name", "Factuurnaam"),
    ("body", "Text", "Tekst"),
    ("card_brand", "Card brand", "Kaartmerk"),
    ("card_expiry", "Card expiry", "Vervaldatum kaart"),
    ("card_last4", "Card last 4 digits", "Laatste 4 cijfers kaart"),
    ("categories", "Categories", "Categorieën"),
    ("category", "Category", "Categorie"),
    ("channel", "Channel", "Kanaal"),
    ("city", "City", "Woonplaats"),
    ("closed_at", "Closed", "Gesloten"),
    ("content", "Content", "Inhoud"),
    ("cookie_id", "Cookie", "Cookie"),
    ("country", "Country", "Land"),
    ("created_at", "Created", "Aangemaakt"),
    ("currency", "Currency", "Valuta"),
    ("customer_id", "Customer", "Klant"),
    ("customer_number", "Customer number", "Klantnummer"),
    ("decided_at", "Decided", "Besloten"),
    ("department", "Department", "Afdeling"),
    ("description", "Description", "Omschrijving"),
    ("detail", "Detail", "Toelichting"),
    ("device", "Device", "Apparaat"),
    ("direction", "Direction (in: from you, out: from us)", "Richting (in: van jou, out: van ons)"),
    ("disclosed_at", "Disclosed", "Verstrekt"),
    ("due_at", "Due", "Vervaldatum"),
    ("ended_at", "Ended", "Beëindigd"),
    ("event", "Event", "Gebeurtenis"),
    ("expires_at", "Expires", "Verloopt"),
    ("family_name", "Family name", "Achternaam"),
    ("filename", "File name", "Bestandsnaam"),
    ("first_seen_at", "First seen", "Eerst gezien"),
    ("from_address", "From", "Van"),
    ("given_name", "Given name", "Voornaam"),
    ("granted", "Granted", "Gegeven"),
    ("hostname", "Host name", "Hostnaam"),
    ("house_number", "House number", "Huisnummer"),
    ("iban", "IBAN", "IBAN"),
    ("id", "Record", "Record"),
    ("invoice_id", "Invoice", "Factuur"),
    ("invoice_number", "Invoice number", "Factuurnummer"),
    ("ip", "IP address", "IP-adres"),
    ("is_primary", "Primary", "Hoofdadres"),
    ("issued_at", "Issued", "Uitgegeven"),
    ("kind", "Kind", "Soort"),
    ("kvk_number", "KvK number", "KvK-nummer"),
    ("last_login_at", "Last login", "Laatst ingelogd"),
    ("last_seen_at", "Last seen", "Laatst gezien"),
    ("legal_ground", "Legal ground", "Wettelijke grondslag"),
    ("logged_at", "Time", "Tijdstip"),
    ("media_type", "File type", "Bestandstype"),
    ("method", "Method", "Methode"),
    ("name", "Name", "Naam"),
    ("needed", "Needed", "Nodig"),
    ("newsletter_opt_in", "Newsletter opt-in", "Aangemeld voor nieuwsbrief"),
    ("noted_at", "Noted", "Genoteerd"),
    ("notes", "Notes", "Notities"),
    ("number", "Number", "Nummer"),
    ("occurred_at", "Time", "Tijdstip"),
    ("opened_at", "Opened", "Geopend"),
    ("os", "Operating system", "Besturingssysteem"),
    ("paid_at", "Paid", "Betaald"),
    ("password_hash", "Password (hashed)", "Wachtwoord (gehasht)"),
    ("path", "Page", "Pagina"),
    ("payment_method_id", "Payment method", "Betaalmethode"),
    ("paypal_email", "PayPal address", "PayPal-adres"),
    ("person_id", "Person", "Persoon"),
    ("postal_code", "Postal code", "Postcode"),
    ("product", "Product", "Product"),
    ("provider", "Provider", "Aanbieder"),
    ("purpose", "Purpose", "Doel"),
    ("quote_id", "Quote", "Offerte"),
    ("quote_number", "Quote number", "Offertenummer"),
    ("received_at", "Received", "Ontvangen"),
    ("recipient", "Recipient", "Ontvanger"),
    ("recorded_at", "Recorded", "Vastgelegd"),
    ("reference", "Reference", "Kenmerk"),
    ("registered_at", "Registered", "Geregistreerd"),
    ("registrant_email", "Registrant email", "E-mail houder"),
    ("registrant_name", "Registrant name", "Naam houder"),
    ("registry", "Registry", "Register"),
    ("request_id", "Request", "Verzoek"),
    ("sent_at", "Sent", "Verzonden"),
    ("session_id", "Session", "Sessie"),
    ("source", "Source", "Bron"),
    ("stack", "Stack trace", "Stacktrace"),
    ("started_at", "Started", "Gestart"),
    ("statement", "Statement", "Verklaring"),
    ("status", "Status", "Status"),
    ("step", "Step", "Stap"),
    ("street", "Street", "Straat"),
    ("subject", "Subject", "Onderwerp"),
    ("ticket_id", "Ticket", "Ticket"),
    ("ticket_message_id", "Message", "Bericht"),
    ("two_factor", "Two-factor login", "Tweestapsverificatie"),
    ("use_2fa", "Used for two-factor login", "Gebruikt voor tweestapsverificatie"),
    ("use_contact", "Used for contact", "Gebruikt voor contact"),
    ("use_monitoring", "Used for monitoring alerts", "Gebruikt voor monitoringmeldingen"),
    ("user_agent", "Browser", "Browser"),
    ("username", "User name", "Gebruikersnaam"),
    ("vacancy", "Vacancy", "Vacature"),
    ("vat_number", "VAT number", "Btw-nummer"),
];

#[cfg(test)]
mod tests {
    #[test]
    fn known_columns_are_bilingual_and_unknown_ones_readable() {
        assert_eq!(super::column("given_name"), "Given name / Voornaam");
        assert_eq!(super::column("some_new_column"), "some new column");
        let mut keys: Vec<&str> = super::LABELS.iter().map(|(k, _, _)| *k).collect();
        let n = keys.len();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), n, "each column once");
    }
}

-- dsr store schema: every category of personal data in the two seed privacy policies,
-- and the register of processing (GDPR Art. 30) that describes them, in one file.
--
-- Conventions
--   * Every table is STRICT; every link is a declared foreign key (the store runs with
--     foreign_keys=ON); every column a lookup filters on has an index.
--   * Times are UTC text in RFC 3339 form 'YYYY-MM-DDTHH:MM:SSZ'; dates are 'YYYY-MM-DD'.
--     Both sort correctly as text, so retention comparisons are plain string comparisons.
--   * Money is integer cents. Booleans are INTEGER 0/1 with a CHECK.
--   * A "person" is any data subject: a customer, an applicant, someone known only from a
--     support ticket, or a visitor known only by a cookie. Person-level data (email, phone,
--     applications, tickets, cookies, consents, crash reports, disclosures) hangs off person;
--     contract-level data (account, company, payment, invoices, services, domains, IP and
--     session history) hangs off customer.
--
-- This file is migration 1 (see src/store/migrate.rs). Later changes are appended as new
-- numbered migrations; docs/data-model.md explains every table and link.

------------------------------------------------------------------------------------------
-- The register: the store describes its own processing
------------------------------------------------------------------------------------------

-- The controller (one row): who is responsible, and where a person can complain.
CREATE TABLE controller (
    id                  INTEGER PRIMARY KEY CHECK (id = 1),
    fixture             TEXT NOT NULL,          -- register it was loaded from, e.g. 'virtio'
    name                TEXT NOT NULL,
    legal_form          TEXT,
    kvk_number          TEXT,
    address             TEXT,
    website             TEXT,
    privacy_email       TEXT NOT NULL,          -- where rights requests go
    policy_version      TEXT NOT NULL,          -- date or version of the privacy policy
    rights_contact_en   TEXT NOT NULL,          -- how to exercise rights (Art. 12(2))
    rights_contact_nl   TEXT NOT NULL,
    complaint_authority TEXT NOT NULL,          -- Art. 77: Autoriteit Persoonsgegevens
    complaint_url       TEXT NOT NULL,
    court_route_en      TEXT NOT NULL,          -- Art. 79 judicial remedy
    court_route_nl      TEXT NOT NULL
) STRICT;

CREATE TABLE legal_basis (
    code        TEXT PRIMARY KEY,               -- consent, contract, legal-obligation, legitimate-interest
    article     TEXT NOT NULL,                  -- e.g. 'Art. 6(1)(b) GDPR'
    name_en     TEXT NOT NULL,
    name_nl     TEXT NOT NULL
) STRICT;

CREATE TABLE purpose (
    code              TEXT PRIMARY KEY,
    name_en           TEXT NOT NULL,
    name_nl           TEXT NOT NULL,
    legal_basis       TEXT NOT NULL REFERENCES legal_basis(code),
    direct_marketing  INTEGER NOT NULL DEFAULT 0 CHECK (direct_marketing IN (0, 1)),  -- Art. 21(3)
    description_en    TEXT NOT NULL,
    description_nl    TEXT NOT NULL,
    withdraw_how_en   TEXT,                     -- for consent: how the person withdraws it
    withdraw_how_nl   TEXT,
    sort              INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX purpose_legal_basis ON purpose(legal_basis);

-- Categories of personal data (Art. 15(1)(b)) and where they come from (Art. 15(1)(g)).
--   provenance: provided by the person, observed from their use, or derived by the company.
--   portable:   1 when the category belongs in an Art. 20 portability export.
CREATE TABLE category (
    code          TEXT PRIMARY KEY,
    name_en       TEXT NOT NULL,
    name_nl       TEXT NOT NULL,
    description_en TEXT NOT NULL,
    description_nl TEXT NOT NULL,
    provenance    TEXT NOT NULL CHECK (provenance IN ('provided', 'observed', 'derived')),
    source_en     TEXT NOT NULL,                -- where the data comes from
    source_nl     TEXT NOT NULL,
    portable      INTEGER NOT NULL CHECK (portable IN (0, 1)),
    sort          INTEGER NOT NULL DEFAULT 0
) STRICT;

-- Which table holds which category: every personal-data table appears here exactly once.
CREATE TABLE category_table (
    table_name  TEXT PRIMARY KEY,
    category    TEXT NOT NULL REFERENCES category(code)
) STRICT;
CREATE INDEX category_table_category ON category_table(category);

CREATE TABLE category_purpose (
    category    TEXT NOT NULL REFERENCES category(code),
    purpose     TEXT NOT NULL REFERENCES purpose(code),
    PRIMARY KEY (category, purpose)
) STRICT, WITHOUT ROWID;
CREATE INDEX category_purpose_purpose ON category_purpose(purpose);

-- Named recipients (Art. 15(1)(c), CJEU C-154/21) with country and transfer safeguards (Art. 15(2)).
--   received_via says how a given person's data reaches this recipient, so that the list of
--   recipients for one person can be computed (Art. 19):
--     payment-method  a payment_method row with provider = this recipient
--     domain          a domain row with registry = this recipient
--     disclosure      a row in disclosure (e.g. a police demand)
--     consent         the person consented to purpose `purpose`
--     purpose         everyone whose data serves `purpose` (e.g. intra-group marketing)
CREATE TABLE recipient (
    code          TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('processor', 'controller', 'authority', 'registry', 'group-company')),
    country       TEXT NOT NULL,                -- ISO 3166-1 alpha-2
    outside_eea   INTEGER NOT NULL CHECK (outside_eea IN (0, 1)),
    safeguards_en TEXT NOT NULL,                -- Art. 46 / Art. 45 basis for a transfer, or 'within the EU'
    safeguards_nl TEXT NOT NULL,
    received_via  TEXT NOT NULL CHECK (received_via IN ('payment-method', 'domain', 'disclosure', 'consent', 'purpose')),
    purpose       TEXT REFERENCES purpose(code),
    description_en TEXT NOT NULL,
    description_nl TEXT NOT NULL,
    CHECK ((received_via IN ('consent', 'purpose')) = (purpose IS NOT NULL))
) STRICT;

CREATE TABLE recipient_category (
    recipient   TEXT NOT NULL REFERENCES recipient(code),
    category    TEXT NOT NULL REFERENCES category(code),
    PRIMARY KEY (recipient, category)
) STRICT, WITHOUT ROWID;
CREATE INDEX recipient_category_category ON recipient_category(category);

-- Retention (Art. 5(1)(e), Art. 15(1)(d)): how long each table's rows are kept, counted from
-- which moment. set_by says whether the period comes from the policy, from a law, or was set
-- by the fixture where the policy leaves it open (justified in docs/retention.md).
CREATE TABLE retention_rule (
    code          TEXT PRIMARY KEY,
    category      TEXT NOT NULL REFERENCES category(code),
    table_name    TEXT NOT NULL REFERENCES category_table(table_name),
    period_months INTEGER NOT NULL CHECK (period_months >= 0),
    starts_at     TEXT NOT NULL CHECK (starts_at IN ('event', 'contract-end', 'fiscal-year-end',
                                                     'decision-not-hired', 'ticket-closed',
                                                     'consent-withdrawn', 'last-seen')),
    description_en TEXT NOT NULL,
    description_nl TEXT NOT NULL,
    set_by        TEXT NOT NULL CHECK (set_by IN ('policy', 'law', 'fixture')),
    justification TEXT NOT NULL
) STRICT;
CREATE INDEX retention_rule_category ON retention_rule(category);
CREATE INDEX retention_rule_table ON retention_rule(table_name);

-- Automated decision-making (Art. 22, Art. 15(1)(h)): the dunning process.
CREATE TABLE automated_decision (
    code            TEXT PRIMARY KEY,
    name_en         TEXT NOT NULL,
    name_nl         TEXT NOT NULL,
    purpose         TEXT NOT NULL REFERENCES purpose(code),
    logic_en        TEXT NOT NULL,
    logic_nl        TEXT NOT NULL,
    consequences_en TEXT NOT NULL,
    consequences_nl TEXT NOT NULL,
    human_review_en TEXT NOT NULL,
    human_review_nl TEXT NOT NULL
) STRICT;

CREATE TABLE automated_decision_step (
    decision        TEXT NOT NULL REFERENCES automated_decision(code),
    step_no         INTEGER NOT NULL,
    step            TEXT NOT NULL CHECK (step IN ('reminder', 'final-reminder', 'blocked', 'collection', 'terminated')),
    days_after_due  INTEGER NOT NULL,
    description_en  TEXT NOT NULL,
    description_nl  TEXT NOT NULL,
    PRIMARY KEY (decision, step_no)
) STRICT, WITHOUT ROWID;

-- The rights a person has (Art. 13(2)(b), 15(1)(e)), as told in every answer.
CREATE TABLE data_right (
    code        TEXT PRIMARY KEY,
    article     TEXT NOT NULL,
    name_en     TEXT NOT NULL,
    name_nl     TEXT NOT NULL,
    how_en      TEXT NOT NULL,
    how_nl      TEXT NOT NULL,
    sort        INTEGER NOT NULL DEFAULT 0
) STRICT;

------------------------------------------------------------------------------------------
-- People and their contract data
------------------------------------------------------------------------------------------

-- Any data subject. Name and address are optional: a cookie-only visitor has neither.
CREATE TABLE person (
    id            INTEGER PRIMARY KEY,
    given_name    TEXT,
    family_name   TEXT,                         -- including tussenvoegsel, e.g. 'de Vries'
    street        TEXT,
    house_number  TEXT,
    postal_code   TEXT,
    city          TEXT,
    country       TEXT CHECK (country IS NULL OR length(country) = 2),
    created_at    TEXT NOT NULL,
    source        TEXT NOT NULL CHECK (source IN ('signup', 'application', 'ticket', 'cookie', 'import'))
) STRICT;

CREATE TABLE customer (
    id              INTEGER PRIMARY KEY,
    person_id       INTEGER NOT NULL UNIQUE REFERENCES person(id),
    customer_number TEXT NOT NULL UNIQUE,
    created_at      TEXT NOT NULL,
    ended_at        TEXT,                       -- contract ended (start of most retention periods)
    status          TEXT NOT NULL CHECK (status IN ('active', 'blocked', 'ended'))
) STRICT;
CREATE INDEX customer_ended_at ON customer(ended_at) WHERE ended_at IS NOT NULL;

-- Company data for customers who buy as a business (KvK = Dutch chamber of commerce number).
CREATE TABLE company (
    id            INTEGER PRIMARY KEY,
    customer_id   INTEGER NOT NULL REFERENCES customer(id),
    name          TEXT NOT NULL,
    street        TEXT,
    house_number  TEXT,
    postal_code   TEXT,
    city          TEXT,
    country       TEXT CHECK (country IS NULL OR length(country) = 2),
    kvk_number    TEXT,
    vat_number    TEXT
) STRICT;
CREATE INDEX company_customer ON company(customer_id);
CREATE INDEX company_kvk ON company(kvk_number);

-- address is kept as the person wrote it; address_norm is its full Unicode lowercase form,
-- the only thing lookups compare. The local part is not otherwise folded (no dot or '+' rules).
CREATE TABLE email_address (
    id                INTEGER PRIMARY KEY,
    person_id         INTEGER NOT NULL REFERENCES person(id),
    address           TEXT NOT NULL,
    address_norm      TEXT NOT NULL DEFAULT '',
    is_primary        INTEGER NOT NULL DEFAULT 0 CHECK (is_primary IN (0, 1)),
    newsletter_opt_in INTEGER NOT NULL DEFAULT 0 CHECK (newsletter_opt_in IN (0, 1)),
    created_at        TEXT NOT NULL
) STRICT;
CREATE INDEX email_address_person ON email_address(person_id);
CREATE INDEX email_address_norm ON email_address(address_norm);

-- number is E.164 ('+31612345678'). One number may belong to two people (a shared line).
CREATE TABLE phone_number (
    id          INTEGER PRIMARY KEY,
    person_id   INTEGER NOT NULL REFERENCES person(id),
    number      TEXT NOT NULL CHECK (number GLOB '+[1-9]*'),
    use_contact     INTEGER NOT NULL DEFAULT 1 CHECK (use_contact IN (0, 1)),
    use_2fa         INTEGER NOT NULL DEFAULT 0 CHECK (use_2fa IN (0, 1)),
    use_monitoring  INTEGER NOT NULL DEFAULT 0 CHECK (use_monitoring IN (0, 1)),  -- VPS/server alerts by SMS
    created_at  TEXT NOT NULL
) STRICT;
CREATE INDEX phone_number_person ON phone_number(person_id);
CREATE INDEX phone_number_number ON phone_number(number);

-- Login data. password_hash is never disclosed (only that it exists).
CREATE TABLE login_account (
    id              INTEGER PRIMARY KEY,
    customer_id     INTEGER NOT NULL UNIQUE REFERENCES customer(id),
    username        TEXT NOT NULL UNIQUE,
    password_hash   TEXT NOT NULL,
    two_factor      TEXT NOT NULL DEFAULT 'none' CHECK (two_factor IN ('none', 'sms', 'totp')),
    created_at      TEXT NOT NULL,
    last_login_at   TEXT
) STRICT;

-- IP history: from which address someone logged in or changed what (security, legitimate interest).
CREATE TABLE ip_event (
    id            INTEGER PRIMARY KEY,
    customer_id   INTEGER NOT NULL REFERENCES customer(id),
    ip            TEXT NOT NULL,
    event         TEXT NOT NULL CHECK (event IN ('login', 'login-failed', 'change')),
    detail        TEXT,                         -- what was changed
    occurred_at   TEXT NOT NULL
) STRICT;
CREATE INDEX ip_event_customer ON ip_event(customer_id);
CREATE INDEX ip_event_ip ON ip_event(ip);
CREATE INDEX ip_event_occurred_at ON ip_event(occurred_at);

-- An authenticated session: the only thing that ties a server-log line to one person.
CREATE TABLE web_session (
    id            INTEGER PRIMARY KEY,
    customer_id   INTEGER NOT NULL REFERENCES customer(id),
    ip            TEXT NOT NULL,
    user_agent    TEXT,
    started_at    TEXT NOT NULL,
    ended_at      TEXT
) STRICT;
CREATE INDEX web_session_customer ON web_session(customer_id);
CREATE INDEX web_session_started_at ON web_session(started_at);

-- Server logs: IP, browser, time. session_id is NULL for anonymous traffic; such a line is
-- never attributed to a person by IP alone (Art. 15(4): the IP may be shared).
CREATE TABLE server_log (
    id            INTEGER PRIMARY KEY,
    logged_at     TEXT NOT NULL,
    ip            TEXT NOT NULL,
    user_agent    TEXT,
    method        TEXT NOT NULL,
    path          TEXT NOT NULL,
    status        INTEGER NOT NULL,
    session_id    INTEGER REFERENCES web_session(id)
) STRICT;
CREATE INDEX server_log_session ON server_log(session_id) WHERE session_id IS NOT NULL;
CREATE INDEX server_log_logged_at ON server_log(logged_at);
CREATE INDEX server_log_ip ON server_log(ip);

-- Payment methods: card brand, last 4 digits and expiry only (never a PAN or CVV).
CREATE TABLE payment_method (
    id              INTEGER PRIMARY KEY,
    customer_id     INTEGER NOT NULL REFERENCES customer(id),
    kind            TEXT NOT NULL CHECK (kind IN ('paypal', 'card', 'sepa-debit', 'ideal')),
    provider        TEXT NOT NULL REFERENCES recipient(code),
    paypal_email    TEXT,
    card_brand      TEXT,
    card_last4      TEXT CHECK (card_last4 IS NULL OR (length(card_last4) = 4 AND card_last4 NOT GLOB '*[^0-9]*')),
    card_expiry     TEXT CHECK (card_expiry IS NULL OR card_expiry GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]'),
    iban            TEXT,
    account_holder  TEXT,
    created_at      TEXT NOT NULL,
    CHECK (kind <> 'paypal' OR paypal_email IS NOT NULL),
    CHECK (kind <> 'card' OR (card_brand IS NOT NULL AND card_last4 IS NOT NULL AND iban IS NULL)),
    CHECK (kind NOT IN ('sepa-debit', 'ideal') OR iban IS NOT NULL)
) STRICT;
CREATE INDEX payment_method_customer ON payment_method(customer_id);
CREATE INDEX payment_method_provider ON payment_method(provider);

CREATE TABLE quote (
    id            INTEGER PRIMARY KEY,
    customer_id   INTEGER REFERENCES customer(id),
    quote_number  TEXT NOT NULL UNIQUE,
    created_at    TEXT NOT NULL,
    description   TEXT NOT NULL,
    amount_cents  INTEGER NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('open', 'accepted', 'declined', 'expired'))
) STRICT;
CREATE INDEX quote_customer ON quote(customer_id);

-- Invoices are a legal obligation (Dutch AWR art. 52: 7 years). customer_id becomes NULL when an
-- erasure keeps the invoice but detaches it from the erased profile.
CREATE TABLE invoice (
    id              INTEGER PRIMARY KEY,
    customer_id     INTEGER REFERENCES customer(id),
    quote_id        INTEGER REFERENCES quote(id),
    invoice_number  TEXT NOT NULL UNIQUE,
    issued_at       TEXT NOT NULL,
    due_at          TEXT NOT NULL,
    amount_cents    INTEGER NOT NULL,
    currency        TEXT NOT NULL DEFAULT 'EUR',
    billing_name    TEXT NOT NULL,
    billing_address TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('open', 'paid', 'overdue', 'collection', 'written-off')),
    paid_at         TEXT
) STRICT;
CREATE INDEX invoice_customer ON invoice(customer_id);
CREATE INDEX invoice_quote ON invoice(quote_id);
CREATE INDEX invoice_issued_at ON invoice(issued_at);
CREATE INDEX invoice_status ON invoice(status) WHERE status IN ('overdue', 'collection');

CREATE TABLE payment (
    id                INTEGER PRIMARY KEY,
    invoice_id        INTEGER NOT NULL REFERENCES invoice(id),
    payment_method_id INTEGER REFERENCES payment_method(id),
    paid_at           TEXT NOT NULL,
    amount_cents      INTEGER NOT NULL,
    reference         TEXT
) STRICT;
CREATE INDEX payment_invoice ON payment(invoice_id);
CREATE INDEX payment_method_ref ON payment(payment_method_id);

-- The automated decision (Art. 22) as it happened to one invoice: reminders, block, collection.
CREATE TABLE dunning_event (
    id            INTEGER PRIMARY KEY,
    invoice_id    INTEGER NOT NULL REFERENCES invoice(id),
    step          TEXT NOT NULL CHECK (step IN ('reminder', 'final-reminder', 'blocked', 'collection', 'terminated', 'unblocked')),
    occurred_at   TEXT NOT NULL,
    automated     INTEGER NOT NULL DEFAULT 1 CHECK (automated IN (0, 1)),
    detail        TEXT
) STRICT;
CREATE INDEX dunning_event_invoice ON dunning_event(invoice_id);

-- Services and contracts (a VPS, a streaming plan, hosting).
CREATE TABLE service (
    id            INTEGER PRIMARY KEY,
    customer_id   INTEGER NOT NULL REFERENCES customer(id),
    product       TEXT NOT NULL,
    hostname      TEXT,
    started_at    TEXT NOT NULL,
    ended_at      TEXT,
    status        TEXT NOT NULL CHECK (status IN ('active', 'blocked', 'ended'))
) STRICT;
CREATE INDEX service_customer ON service(customer_id);

-- Domains registered for a customer; the registrant data goes to the registry's whois.
CREATE TABLE domain (
    id              INTEGER PRIMARY KEY,
    customer_id     INTEGER NOT NULL REFERENCES customer(id),
    name            TEXT NOT NULL UNIQUE,
    registry        TEXT NOT NULL REFERENCES recipient(code),
    registrant_name TEXT NOT NULL,
    registrant_email TEXT NOT NULL,
    registered_at   TEXT NOT NULL,
    expires_at      TEXT NOT NULL
) STRICT;
CREATE INDEX domain_customer ON domain(customer_id);
CREATE INDEX domain_registry ON domain(registry);

------------------------------------------------------------------------------------------
-- Data outside the contract: applications, cookies and consents, logs, crashes, tickets
------------------------------------------------------------------------------------------

CREATE TABLE application (
    id            INTEGER PRIMARY KEY,
    person_id     INTEGER NOT NULL REFERENCES person(id),
    vacancy       TEXT NOT NULL,
    applied_at    TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('received', 'interviewing', 'rejected', 'hired', 'withdrawn')),
    decided_at    TEXT,                         -- start of the 12-month retention when not hired
    notes         TEXT
) STRICT;
CREATE INDEX application_person ON application(person_id);
CREATE INDEX application_decided_at ON application(decided_at);

CREATE TABLE application_document (
    id              INTEGER PRIMARY KEY,
    application_id  INTEGER NOT NULL REFERENCES application(id),
    kind            TEXT NOT NULL CHECK (kind IN ('cv', 'motivation-letter', 'portfolio', 'assignment')),
    filename        TEXT NOT NULL,              -- as uploaded; never used as a path
    media_type      TEXT NOT NULL,
    content         BLOB NOT NULL,
    received_at     TEXT NOT NULL
) STRICT;
CREATE INDEX application_document_application ON application_document(application_id);

-- A cookie identifier; person_id links it to whoever it belongs to (a visitor is a person too).
CREATE TABLE cookie (
    id            INTEGER PRIMARY KEY,
    person_id     INTEGER NOT NULL REFERENCES person(id),
    cookie_id     TEXT NOT NULL UNIQUE,
    first_seen_at TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    user_agent    TEXT
) STRICT;
CREATE INDEX cookie_person ON cookie(person_id);
CREATE INDEX cookie_last_seen ON cookie(last_seen_at);

-- Consent per purpose, as a history: each change is a new row, so proof of a withdrawal is kept.
CREATE TABLE consent (
    id            INTEGER PRIMARY KEY,
    person_id     INTEGER NOT NULL REFERENCES person(id),
    purpose       TEXT NOT NULL REFERENCES purpose(code),
    granted       INTEGER NOT NULL CHECK (granted IN (0, 1)),
    recorded_at   TEXT NOT NULL,
    source        TEXT NOT NULL CHECK (source IN ('cookie-banner', 'signup', 'control-panel', 'app-settings', 'ticket', 'dsr')),
    cookie_id     INTEGER REFERENCES cookie(id)
) STRICT;
CREATE INDEX consent_person ON consent(person_id, purpose, recorded_at);
CREATE INDEX consent_purpose ON consent(purpose);
CREATE INDEX consent_cookie ON consent(cookie_id);

-- Crash reports from the streaming service (000) or the interface app (004); consent-based.
CREATE TABLE crash_report (
    id            INTEGER PRIMARY KEY,
    person_id     INTEGER NOT NULL REFERENCES person(id),
    app           TEXT NOT NULL,
    app_version   TEXT NOT NULL,
    device        TEXT NOT NULL,
    os            TEXT,
    stack         TEXT NOT NULL,
    occurred_at   TEXT NOT NULL
) STRICT;
CREATE INDEX crash_report_person ON crash_report(person_id);
CREATE INDEX crash_report_occurred_at ON crash_report(occurred_at);

CREATE TABLE ticket (
    id            INTEGER PRIMARY KEY,
    person_id     INTEGER NOT NULL REFERENCES person(id),
    subject       TEXT NOT NULL,
    channel       TEXT NOT NULL CHECK (channel IN ('email', 'portal', 'social-media', 'phone')),
    department    TEXT NOT NULL DEFAULT 'support' CHECK (department IN ('support', 'billing', 'sales', 'abuse')),
    opened_at     TEXT NOT NULL,
    closed_at     TEXT
) STRICT;
CREATE INDEX ticket_person ON ticket(person_id);
CREATE INDEX ticket_closed_at ON ticket(closed_at);

CREATE TABLE ticket_message (
    id            INTEGER PRIMARY KEY,
    ticket_id     INTEGER NOT NULL REFERENCES ticket(id),
    sent_at       TEXT NOT NULL,
    direction     TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    from_address  TEXT,
    body          TEXT NOT NULL
) STRICT;
CREATE INDEX ticket_message_ticket ON ticket_message(ticket_id);

-- Unsolicited personal data found in a message ("overige persoonsgegevens"): what it was, and
-- whether it is needed to help the person (otherwise it is to be deleted).
CREATE TABLE unsolicited_data (
    id                  INTEGER PRIMARY KEY,
    ticket_message_id   INTEGER NOT NULL REFERENCES ticket_message(id),
    description         TEXT NOT NULL,
    needed              INTEGER NOT NULL CHECK (needed IN (0, 1)),
    noted_at            TEXT NOT NULL
) STRICT;
CREATE INDEX unsolicited_data_message ON unsolicited_data(ticket_message_id);

-- Disclosures to a recipient outside the normal flow, e.g. a police demand (legal obligation).
CREATE TABLE disclosure (
    id            INTEGER PRIMARY KEY,
    person_id     INTEGER NOT NULL REFERENCES person(id),
    recipient     TEXT NOT NULL REFERENCES recipient(code),
    disclosed_at  TEXT NOT NULL,
    legal_ground  TEXT NOT NULL,                -- e.g. 'art. 126nd Sv (vordering verstrekken gegevens)'
    reference     TEXT,
    categories    TEXT NOT NULL,                -- comma-separated category codes disclosed
    description   TEXT
) STRICT;
CREATE INDEX disclosure_person ON disclosure(person_id);
CREATE INDEX disclosure_recipient ON disclosure(recipient);

------------------------------------------------------------------------------------------
-- Requests, identity verification and the audit trail
------------------------------------------------------------------------------------------

-- Per-store settings and secrets, created at init. 'hmac-key' (32 random bytes) keys the
-- hashes of verification codes and the pseudonyms of people in the audit trail.
CREATE TABLE store_meta (
    key     TEXT PRIMARY KEY,
    value   ANY NOT NULL
) STRICT;

-- A data-subject request (GDPR Art. 12). id is readable: DSR-YYYY-NNNN; kind is the right.
--   subject_given:  the identifier as the requester gave it (cleared when the person is erased)
--   person_id:      the person it resolved to; NULL when it named no one (the officer still sees
--                   the same acknowledgement) or after an erasure
--   subject_pseudonym: keyed hash naming the person in the audit trail without personal data
CREATE TABLE request (
    id                  TEXT PRIMARY KEY,
    year                INTEGER NOT NULL,
    seq                 INTEGER NOT NULL,
    kind                TEXT NOT NULL CHECK (kind IN ('access', 'export', 'rectify', 'erase', 'restrict', 'object')),
    subject_kind        TEXT NOT NULL CHECK (subject_kind IN ('email', 'customer', 'phone', 'cookie')),
    subject_given       TEXT,
    person_id           INTEGER REFERENCES person(id) ON DELETE SET NULL,
    subject_pseudonym   TEXT NOT NULL,
    channel             TEXT NOT NULL CHECK (channel IN ('email', 'letter', 'portal', 'phone', 'in-person')),
    received_on         TEXT NOT NULL,          -- YYYY-MM-DD
    due_on              TEXT NOT NULL,          -- one calendar month after receipt (Art. 12(3))
    extended_due_on     TEXT,                   -- at most two further months
    extension_reason    TEXT,
    extension_told_on   TEXT,
    state               TEXT NOT NULL CHECK (state IN ('awaiting-verification', 'verified', 'completed', 'rejected', 'expired')),
    verified_at         TEXT,
    verification_method TEXT,                   -- 'email-code', or e.g. 'portal-session' for batches
    verification_ref    TEXT,
    rejection_reason    TEXT CHECK (rejection_reason IS NULL OR rejection_reason IN ('unfounded', 'excessive', 'identity-not-confirmed', 'other')),
    rejection_note      TEXT,
    params              TEXT NOT NULL DEFAULT '{}',  -- what the request asks (JSON): fields, ground, purpose...
    outcome             TEXT,                   -- the answer's substance (JSON), once completed
    created_at          TEXT NOT NULL,
    closed_at           TEXT,
    UNIQUE (year, seq),
    CHECK ((extended_due_on IS NULL) = (extension_reason IS NULL))
) STRICT;
CREATE INDEX request_person ON request(person_id, kind, state);
CREATE INDEX request_pseudonym ON request(subject_pseudonym, kind, state);
CREATE INDEX request_state ON request(state, due_on);

-- A one-time code, kept only as a keyed hash bound to its request, person and address.
CREATE TABLE challenge (
    id              INTEGER PRIMARY KEY,
    request_id      TEXT NOT NULL REFERENCES request(id),
    subject_pseudonym TEXT NOT NULL,
    code_mac        BLOB NOT NULL,
    address_mac     BLOB NOT NULL,             -- which address on file it went to (keyed hash)
    created_at      TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    failed_tries    INTEGER NOT NULL DEFAULT 0,
    state           TEXT NOT NULL CHECK (state IN ('active', 'used', 'burned', 'superseded'))
) STRICT;
CREATE INDEX challenge_request ON challenge(request_id, state);
CREATE INDEX challenge_subject ON challenge(subject_pseudonym, created_at);

-- Consecutive verification failures per person (across codes and requests) and the lock.
CREATE TABLE verification_lock (
    subject_pseudonym     TEXT PRIMARY KEY,
    consecutive_failures  INTEGER NOT NULL DEFAULT 0,
    locked_at             TEXT
) STRICT;

-- The audit trail: append-only and hash-chained. hash = SHA-256 over prev_hash and the entry's
-- fields; store_meta 'audit-head' holds the last hash and count, so a deleted tail shows too.
-- It names people only by subject_pseudonym, never by email.
CREATE TABLE audit_log (
    id                  INTEGER PRIMARY KEY,
    at                  TEXT NOT NULL,
    clock_injected      INTEGER NOT NULL CHECK (clock_injected IN (0, 1)),
    actor               TEXT NOT NULL,
    request_id          TEXT,
    subject_pseudonym   TEXT,
    action              TEXT NOT NULL,
    details             TEXT NOT NULL,          -- JSON object
    prev_hash           TEXT NOT NULL,
    hash                TEXT NOT NULL
) STRICT;
CREATE INDEX audit_log_request ON audit_log(request_id);

------------------------------------------------------------------------------------------
-- What the rights change: restrictions, objections, reviews, suppression, notifications
------------------------------------------------------------------------------------------

-- Art. 18: the person's data (all, or one category) may only be stored while restricted.
CREATE TABLE restriction (
    id            INTEGER PRIMARY KEY,
    person_id     INTEGER REFERENCES person(id) ON DELETE CASCADE,
    request_id    TEXT NOT NULL REFERENCES request(id),
    ground        TEXT NOT NULL CHECK (ground IN ('accuracy-contested', 'unlawful', 'legal-claims', 'objection-pending')),
    category      TEXT REFERENCES category(code),   -- NULL: all of the person's data
    purpose       TEXT REFERENCES purpose(code),    -- for objection-pending: the purpose objected to
    started_at    TEXT NOT NULL,
    lifted_at     TEXT,
    lift_reason   TEXT,
    notice_sent_at TEXT                              -- Art. 18(3): told before lifting
) STRICT;
CREATE INDEX restriction_person ON restriction(person_id) WHERE lifted_at IS NULL;
CREATE INDEX restriction_request ON restriction(request_id);

-- Art. 21: an objection per purpose and what became of it.
CREATE TABLE objection (
    id            INTEGER PRIMARY KEY,
    person_id     INTEGER REFERENCES person(id) ON DELETE CASCADE,
    request_id    TEXT NOT NULL REFERENCES request(id),
    purpose       TEXT NOT NULL REFERENCES purpose(code),
    outcome       TEXT NOT NULL CHECK (outcome IN ('stopped', 'withdrawn', 'pending', 'upheld', 'overridden', 'continues')),
    grounds       TEXT,                              -- compelling grounds of an override, or why processing continues
    created_at    TEXT NOT NULL,
    decided_at    TEXT
) STRICT;
CREATE INDEX objection_person ON objection(person_id, purpose);
CREATE INDEX objection_request ON objection(request_id);

-- Art. 22(3): a request for human review of the automated decision; automatic steps pause.
CREATE TABLE decision_review (
    id            INTEGER PRIMARY KEY,
    person_id     INTEGER REFERENCES person(id) ON DELETE CASCADE,
    request_id    TEXT NOT NULL REFERENCES request(id),
    decision      TEXT NOT NULL REFERENCES automated_decision(code),
    requested_at  TEXT NOT NULL,
    outcome       TEXT CHECK (outcome IS NULL OR outcome IN ('decision-stands', 'decision-reversed')),
    outcome_note  TEXT,
    decided_at    TEXT
) STRICT;
CREATE INDEX decision_review_person ON decision_review(person_id) WHERE decided_at IS NULL;

-- Keyed hashes (HMAC with the store key) of identifiers that must not be used for direct
-- marketing again (Art. 21(3)) or that belonged to an erased person (Art. 17). No plain values.
CREATE TABLE suppression (
    hash          TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('email', 'phone', 'customer')),
    reason        TEXT NOT NULL CHECK (reason IN ('direct-marketing', 'erased')),
    request_id    TEXT REFERENCES request(id),
    added_at      TEXT NOT NULL,
    PRIMARY KEY (hash, reason)
) STRICT, WITHOUT ROWID;

-- Art. 19: recipients to tell of a rectification, restriction or erasure, and whether it was done.
CREATE TABLE notification (
    request_id    TEXT NOT NULL REFERENCES request(id),
    recipient     TEXT NOT NULL REFERENCES recipient(code),
    what          TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('to-notify', 'notified')),
    notified_at   TEXT,
    notified_by   TEXT,
    PRIMARY KEY (request_id, recipient)
) STRICT, WITHOUT ROWID;

-- Art. 16: a supplementary statement that completes the data of one category.
CREATE TABLE supplementary_statement (
    id            INTEGER PRIMARY KEY,
    person_id     INTEGER NOT NULL REFERENCES person(id),
    category      TEXT NOT NULL REFERENCES category(code),
    statement     TEXT NOT NULL,
    request_id    TEXT REFERENCES request(id),
    added_at      TEXT NOT NULL
) STRICT;
CREATE INDEX supplementary_statement_person ON supplementary_statement(person_id);

-- Art. 17: the plan of an erasure request, shown to the officer and applied exactly as planned.
-- fingerprint: SHA-256 over every row the plan touches; a different one at apply time means the
-- data changed since planning, and the plan is made again.
CREATE TABLE erasure_plan (
    request_id    TEXT PRIMARY KEY REFERENCES request(id),
    plan          TEXT NOT NULL,                    -- JSON: steps with table, action, rows, ground, until
    fingerprint   TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    applied_at    TEXT
) STRICT;

//! The data map: every table that holds personal data, as the company file's `[[table]]`
//! entries (docs/register-file.md, "The data map"). Each entry says how its rows reach a
//! person, which columns identify one, what is never disclosed, what Art. 20 exports, what
//! erasure does, what retention counts from, which fields may be rectified, which recipients
//! a row names and which rows are other people's. The few legal special cases are named kinds
//! (`EraseKind`, `OtherPeople`), implemented once in the engine; the table and column names
//! come only from the file.

use serde::{Deserialize, Serialize};

mod decision;
mod declared;
mod local_part;
pub use decision::{DecisionSteps, DecisionSubject, Reversal, Unblock};
pub use declared::{Attachment, Column, ColumnLabel, ColumnType, ShownAs};
pub use local_part::LocalPart;

pub(super) fn is_false(b: &bool) -> bool {
    !*b
}

fn id() -> String {
    "id".into()
}

fn is_id(s: &String) -> bool {
    s == "id"
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    pub name: String,
    /// The company database (`[[database]]`) the table lives in; without it, dsr's store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// The register category the table's rows belong to (a column may name another).
    pub category: String,
    /// The table whose rows are the people themselves (exactly one table of a map).
    #[serde(default, skip_serializing_if = "is_false")]
    pub root: bool,
    /// What the table is called in a person's copy, in English and Dutch (e.g. "Invoices",
    /// "Facturen"); without them the copy shows the table's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_en: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_nl: Option<String>,
    /// What the person's copy calls columns of the table, and how it shows their values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub label: Vec<ColumnLabel>,
    /// For the root: the columns that make up the person's name, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shown_name: Vec<String>,
    /// The column other tables link to.
    #[serde(default = "id", skip_serializing_if = "is_id")]
    pub key: String,
    /// How a row reaches a person: its `column` holds the key of a row of `parent`, which
    /// reaches the person in turn (the root, or through its own link, to any depth).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<Link>,
    /// What a person with rows here is to the company (`customer`, `applicant`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// What the rows are called in the plural where a text names them, e.g. "log lines" in
    /// an erasure plan's "anonymous log lines that carry the person's IP addresses"; without
    /// it, "<name> rows" (underscores read as spaces).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_called: Option<String>,
    /// Columns that identify a person, each with the normalisation lookups compare.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifier: Vec<IdentifierColumn>,
    /// Columns whose values are never disclosed: an answer says what they hold instead.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub never_disclosed: Vec<Withheld>,
    /// Internal columns (normalised copies of another column), left out of every answer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub internal: Vec<String>,
    /// Art. 20: whether the table's rows belong in a portability export, and which are the
    /// person's own when not all are (e.g. the messages they wrote in a ticket).
    #[serde(default, skip_serializing_if = "Export::is_default")]
    pub export: Export,
    /// What an erasure does with the person's rows.
    #[serde(default, skip_serializing_if = "Erase::is_default")]
    pub erase: Erase,
    /// The column a retention rule on this table counts from, and the rows it applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<Retention>,
    /// Fields a person may have rectified, each with its validator.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rectify: Vec<Rectifiable>,
    /// Recipients a row shows the person's data went to (Art. 15(1)(c), Art. 19).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recipient: Vec<RecipientLink>,
    /// For the table of consent records (Art. 7(1)): its columns, so that consents in force,
    /// withdrawals and the recipients of consented purposes can be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_record: Option<ConsentRecord>,
    /// Marketing flags on this table, each covered by a consent purpose (Art. 21(3)).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub opt_in: Vec<OptIn>,
    /// Rows that are other people's and must never be disclosed to this person (Art. 15(4)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_people: Option<OtherPeople>,
    /// For the table that records the steps of an automated decision (Art. 22) taken on rows of
    /// its parent: which columns say what happened, and which columns of the parent the
    /// explanation shows (Art. 15(1)(h)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_steps: Option<DecisionSteps>,
    /// A file held in a BLOB column, given to the person as a file of its own in an archive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<Attachment>,
    /// How `dsr import` loads the table from a source system's export (design §10).
    #[serde(default, skip_serializing_if = "Import::is_default")]
    pub import: Import,
    /// The columns, for a table `dsr init --register` creates; a table that exists already may
    /// leave them out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub column: Vec<Column>,
}

impl Table {
    /// The table as SQL names it: `shop.customer` for a table of a company database attached as
    /// `shop`, else the bare name (a table of dsr's store). Columns are still qualified by the
    /// bare name, which SQLite resolves to the table of the FROM clause.
    pub fn sql_name(&self) -> String {
        match &self.database {
            Some(db) => format!("{db}.{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// How `dsr import` reads a table's rows from a source system (docs/import.md).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Import {
    /// The column holding the source system's key, on which a file's rows are matched to the
    /// table's (an upsert); without it, the table's key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Columns holding moments, stored in UTC (`2026-03-01T09:30:00Z`); a value without an
    /// offset is read in the time zone `--source-tz` names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub times: Vec<String>,
    /// Columns holding dates (`2026-03-01`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dates: Vec<String>,
    /// The column with the moment the source system last changed the row: a value dsr rectified
    /// is replaced only by a source value changed after the rectification. Without it, an import
    /// never replaces a rectified value; a different one is reported as a conflict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
}

impl Import {
    fn is_default(&self) -> bool {
        self == &Import::default()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    pub column: String,
    pub parent: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdentifierKind {
    /// Email address: the domain compared in Unicode lowercase, the local part exactly as
    /// written (no dot or '+' folding; in any case with `local_part = "any-case"`); the column
    /// holds that form ([`LocalPart`]).
    Email,
    /// Phone number in E.164.
    Phone,
    /// Customer number, compared in capitals.
    CustomerNumber,
    /// Cookie identifier, exact.
    Cookie,
}

impl IdentifierKind {
    pub const ALL: &'static [&'static str] = &["email", "phone", "customer-number", "cookie"];

    /// The kind an identifier is remembered under on the suppression list (its keyed hash):
    /// email, phone, customer. A cookie identifier is not remembered.
    pub fn suppression_kind(self) -> Option<&'static str> {
        match self {
            IdentifierKind::Email => Some("email"),
            IdentifierKind::Phone => Some("phone"),
            IdentifierKind::CustomerNumber => Some("customer"),
            IdentifierKind::Cookie => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentifierColumn {
    pub column: String,
    pub kind: IdentifierKind,
    /// For an email: the column with the address as the person wrote it (shown, mailed to).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub written_in: Option<String>,
    /// The order in which a person's rows are tried for the address on file, e.g.
    /// `is_primary DESC, created_at, id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred: Option<String>,
    /// For an email: how its local part (before the `@`) is compared; unsaid, exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_part: Option<LocalPart>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Withheld {
    pub column: String,
    /// What an answer says instead of the value, e.g. "set (a one-way hash; never disclosed)".
    pub shown_as: String,
}

/// A condition on a row: the column's value is one of `values` (or, with `not`, none of them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub column: String,
    #[serde(rename = "in")]
    pub values: Vec<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub not: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Export {
    /// Left out of an Art. 20 export although the category is portable.
    #[serde(default, skip_serializing_if = "is_false")]
    pub exclude: bool,
    /// Only these rows are the person's own (provided by them) in an export.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub own_rows: Option<Condition>,
}

impl Export {
    fn is_default(&self) -> bool {
        self == &Export::default()
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EraseKind {
    /// The rows are deleted.
    #[default]
    Delete,
    /// The rows stay; the listed fields become NULL.
    Detach,
    /// Administration kept for the fiscal hold (Dutch AWR art. 52): per fiscal year of
    /// `date_column`, `years` after the end of that year, detached from the profile; with a
    /// `claim`, an unpaid row is kept until settled, not before the end of its fiscal hold.
    FiscalRecord,
    /// Rows the fiscal records of their parent need: kept, detached, as long as the latest of
    /// those records.
    KeptWithParent,
    /// Rows a fiscal record refers to (`referenced_by`): kept, detached; the others deleted.
    KeptIfReferenced,
    /// The history of a claim: rows whose parent has an open claim are kept (the listed fields
    /// detached) until it is settled; the others deleted.
    ClaimHistory,
}

impl EraseKind {
    fn is_delete(&self) -> bool {
        *self == EraseKind::Delete
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Erase {
    #[serde(default, skip_serializing_if = "EraseKind::is_delete")]
    pub kind: EraseKind,
    /// Fields that become NULL on the rows kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub detach: Vec<String>,
    /// For `fiscal-record`: the date the fiscal year is read from, and the years kept after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_column: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub years: Option<i64>,
    /// For `fiscal-record`: the rows that are an unpaid claim (Art. 17(3)(e)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<Condition>,
    /// For `kept-if-referenced`: the table and column of the fiscal records that refer here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referenced_by: Option<ColumnRef>,
    /// For the root table: the fields that name and locate a person, cleared when the person's
    /// row has to stay for data that is kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identity_fields: Vec<String>,
}

impl Erase {
    fn is_default(&self) -> bool {
        self == &Erase::default()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnRef {
    pub table: String,
    pub column: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    /// The UTC time or date column the period counts from (an event, a decision, a closing,
    /// the last visit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counts_from: Option<String>,
    /// Only rows matching this condition expire (e.g. applications rejected or withdrawn).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only: Option<Condition>,
    /// For the table that records the end of a person's contract: the column with that end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract_end: Option<String>,
    /// The rows go when the parent row they hang from expires, not by a period of their own.
    #[serde(default, skip_serializing_if = "is_false")]
    pub with_parent: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Validator {
    Email,
    Phone,
    Iban,
    PostalCode,
    Country,
    Vat,
    Kvk,
    HouseNumber,
    Date,
    Text,
}

impl Validator {
    pub const ALL: &'static [&'static str] =
        &["email", "phone", "iban", "postal-code", "country", "vat", "kvk", "house-number", "date", "text"];
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rectifiable {
    /// The name a person and `--set FIELD=VALUE` use.
    pub field: String,
    pub column: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validator: Option<Validator>,
    /// What the field is, shown in the list of fields.
    pub label: String,
    /// How the answer letter names the field, in English and Dutch (e.g. `VAT number`,
    /// `btw-nummer`); the field's name with spaces for underscores when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_en: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_nl: Option<String>,
    /// Which of the person's rows is corrected when they have several, e.g.
    /// `is_primary DESC, created_at, id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred: Option<String>,
    /// Only rows matching this condition hold the field (e.g. direct-debit payment methods).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only: Option<Condition>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecipientLink {
    /// The column holding the recipient's code ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// ... or: every register recipient with this `received_via` (e.g. `dunning-step`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received_via: Option<String>,
    /// Only rows matching this condition count (e.g. the dunning step `collection`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only: Option<Condition>,
    /// Why the person's data went there, with `{column}` replaced by a value of the row and
    /// `{column:date}` by its date, e.g. "registration of domain {name}".
    pub because: String,
    /// The column listing (comma-separated) the register categories a row gave the recipient,
    /// e.g. a disclosure to the police; without it, the categories the register names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<String>,
    /// For a `column` link: the column the person's rows are listed by (ascending, e.g. `name`);
    /// the key when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentRecord {
    /// The column naming the register purpose consented to.
    pub purpose: String,
    /// 1 for a consent given, 0 for a withdrawal.
    pub granted: String,
    /// When it was given or withdrawn (UTC).
    pub recorded_at: String,
    /// The column saying where a record came from; a record dsr writes (the withdrawal that an
    /// objection is, Art. 7(3)) says `dsr` there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Columns unlinked when the records stay after their person's other data went.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub detach_when_kept: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptIn {
    pub column: String,
    pub purpose: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OtherPeopleKind {
    /// Rows without a link (anonymous traffic) are never disclosed, even when they carry one of
    /// the person's IP addresses; an erasure deletes them when they do.
    AnonymousByIp,
    /// Messages someone else may have written (`column`: the sender's address, none of the
    /// person's): an answer withholds it, an export leaves the row out (docs/register-file.md).
    WrittenBy,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtherPeople {
    pub kind: OtherPeopleKind,
    /// The IP address (`anonymous-by-ip`) or the sender's email address (`written-by`).
    pub column: String,
    /// Where the person's own IP addresses are (`anonymous-by-ip` only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ips_from: Vec<ColumnRef>,
}

//! The steps of an automated decision (Art. 22) as a map entry records them, the row they were
//! about, and what a human review that reverses the decision undoes.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionSteps {
    /// The register's `[[automated_decision]]` code.
    pub decision: String,
    /// The column naming the step (one of the decision's steps).
    pub step: String,
    pub occurred_at: String,
    /// The column saying whether the step was taken by the machine (1) or a person (0).
    pub automated: String,
    /// The columns of the parent row the decision was about (an invoice): its number, amount in
    /// cents, currency, when issued, when due, its status and when paid.
    pub about: DecisionSubject,
    /// What a human review that reverses the decision undoes (Art. 22(3)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reversal: Option<Reversal>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionSubject {
    pub number: String,
    pub amount_cents: String,
    pub currency: String,
    pub issued_at: String,
    pub due_at: String,
    pub status: String,
    pub paid_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reversal {
    /// The step that blocked (e.g. `blocked`), and the step recorded when a review undoes it
    /// (e.g. `unblocked`), with a note in `detail_column`.
    pub blocked_step: String,
    pub unblocked_step: String,
    pub detail_column: String,
    /// Rows the block put in a blocked state, set back: a table of the map, its state column,
    /// the blocked value and the value it returns to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unblock: Vec<Unblock>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unblock {
    pub table: String,
    pub column: String,
    pub blocked: String,
    pub active: String,
}

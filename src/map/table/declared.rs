//! Columns a table of the map declares (for a table `init` makes), what the person's copy calls
//! a column, and files held in a column.

use serde::{Deserialize, Serialize};

use super::is_false;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    Text,
    Integer,
    Real,
    Blob,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ColumnType,
    #[serde(default, skip_serializing_if = "is_false")]
    pub required: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub unique: bool,
    /// Another table of the map whose key this column holds (a foreign key; indexed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub references: Option<String>,
    /// The category of this column when it is not the table's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attachment {
    /// The BLOB column with the file.
    pub content: String,
    /// The column with its media type (e.g. `application/pdf`), which gives the file's extension.
    pub media_type: String,
}

/// A column in the person's copy (`[[table.label]]`): its heading in English and Dutch, and how
/// its values read (data.json and the CSV files keep the column name and the raw value).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnLabel {
    pub column: String,
    pub en: String,
    pub nl: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shown_as: Option<ShownAs>,
}

/// How the person's copy shows a column's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ShownAs {
    /// An amount in euro cents, shown in euros (`€ 131,88`).
    EuroCents,
    /// 0 or 1, shown as no or yes.
    YesNo,
}

impl super::Table {
    /// The register category of a column: the one it declares, else the table's.
    pub fn category_of(&self, column: &str) -> &str {
        let own = self.column.iter().find(|c| c.name == column).and_then(|c| c.category.as_deref());
        own.unwrap_or(&self.category)
    }

    /// The categories of the table's rows: the table's, then those its columns declare.
    pub fn categories(&self) -> Vec<&str> {
        let mut out = vec![self.category.as_str()];
        for c in self.column.iter().filter_map(|c| c.category.as_deref()) {
            if !out.contains(&c) {
                out.push(c);
            }
        }
        out
    }
}

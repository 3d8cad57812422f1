//! One line of a JSON Lines file: an object read with its keys in order, a key given twice
//! refused, and what is wrong with a line in words.

/// What is wrong with a line that should be one JSON object, in words (serde's own text names
/// types and positions a user does not need).
pub(super) fn json_problem(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let message = e.to_string();
    match e.classify() {
        Category::Eof => "the JSON object is cut off: the line ends inside it".into(),
        Category::Syntax => format!("not valid JSON (at character {} of the line)", e.column()),
        Category::Data if message.contains(TWICE) => {
            message[..message.find(" at line ").unwrap_or(message.len())].into()
        }
        Category::Data | Category::Io => "not a JSON object: each line is one {\"column\": value, ...}".into(),
    }
}

const TWICE: &str = "is given twice in the line; a line names each column once";

/// One line's JSON object, its keys in their order. A key given twice refuses the line: read
/// into a map, the later value would silently win.
pub(super) struct Object(pub(super) Vec<(String, serde_json::Value)>);

impl Object {
    pub(super) fn get(&self, key: &str) -> Option<&serde_json::Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

impl<'de> serde::Deserialize<'de> for Object {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Object, D::Error> {
        struct Pairs;
        impl<'de> serde::de::Visitor<'de> for Pairs {
            type Value = Object;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Object, A::Error> {
                let mut out: Vec<(String, serde_json::Value)> = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, serde_json::Value>()? {
                    if out.iter().any(|(k, _)| *k == key) {
                        return Err(serde::de::Error::custom(format!("key {key:?} {TWICE}")));
                    }
                    out.push((key, value));
                }
                Ok(Object(out))
            }
        }
        d.deserialize_map(Pairs)
    }
}

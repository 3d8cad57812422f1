//! What a code approves, for the code letter: each item of a request's details, with its name
//! in the person's language from the data map and the register.

use serde_json::Value;

/// What a request asks beyond its right, for the code message: for a rectification each field
/// and its new value, a supplementary statement, the purpose objected to, a restriction's ground
/// and data. The code approves exactly this; the message goes to the address on file, so it
/// discloses nothing to anyone else. One item each, `what` naming its kind (templates/letters).
pub fn asked(params: &serde_json::Value) -> serde_json::Value {
    use serde_json::json;
    let mut out = Vec::new();
    for c in params["set"].as_array().into_iter().flatten() {
        let (field, value) = (c["field"].as_str().unwrap_or_default(), c["value"].as_str().unwrap_or_default());
        out.push(json!({"what": "set", "field": field, "value": value}));
    }
    for x in params["supplement"].as_array().into_iter().flatten() {
        let (category, text) =
            (x["category"].as_str().unwrap_or_default(), x["statement"].as_str().unwrap_or_default());
        out.push(json!({"what": "supplement", "category": category, "statement": text}));
    }
    if let Some(p) = params["purpose"].as_str() {
        out.push(json!({"what": "purpose", "purpose": p}));
    }
    if let Some(g) = params["ground"].as_str() {
        let categories: Vec<&str> =
            params["categories"].as_array().into_iter().flatten().filter_map(|c| c.as_str()).collect();
        out.push(json!({"what": "ground", "ground": g, "data": categories}));
    }
    serde_json::Value::Array(out)
}

/// [`asked`] in the person's words, (Dutch, English): each item also has `name`, what the map
/// and the register call its field, purpose or category (`data_names` for a restriction's data).
pub fn asked_named(db: &dyn crate::store::db::Db, params: &serde_json::Value) -> anyhow::Result<(Value, Value)> {
    let items = asked(params);
    if items.as_array().is_none_or(Vec::is_empty) {
        return Ok((items.clone(), items));
    }
    let map = crate::store::personal::DataMap::load(db)?;
    let register = crate::register::Register::load(db)?;
    let category = |code: &str| -> (String, String) {
        register
            .category(code)
            .map_or_else(|| (code.to_owned(), code.to_owned()), |c| (c.name_nl.clone(), c.name_en.clone()))
    };
    let (mut nl, mut en) = (items.clone(), items);
    for (i, item) in nl.as_array().cloned().unwrap_or_default().iter().enumerate() {
        let text = |key: &str| item[key].as_str().unwrap_or_default().to_owned();
        let (name_nl, name_en) = match item["what"].as_str() {
            Some("set") => {
                let (en, nl) = crate::rights::rectify::letter_names(&map, &text("field"));
                (nl, en)
            }
            Some("supplement") => category(&text("category")),
            Some("purpose") => register
                .purposes
                .iter()
                .find(|p| p.code == text("purpose"))
                .map_or_else(|| (text("purpose"), text("purpose")), |p| (p.name_nl.clone(), p.name_en.clone())),
            _ => {
                let data: Vec<(String, String)> =
                    item["data"].as_array().into_iter().flatten().filter_map(|d| d.as_str()).map(category).collect();
                nl[i]["data_names"] = data.iter().map(|d| d.0.clone()).collect();
                en[i]["data_names"] = data.iter().map(|d| d.1.clone()).collect();
                let ground = text("ground");
                match crate::archive::present::code_pair("ground", &ground) {
                    Some((en, nl)) => (nl.to_owned(), en.to_owned()),
                    None => (ground.clone(), ground),
                }
            }
        };
        nl[i]["name"] = name_nl.into();
        en[i]["name"] = name_en.into();
    }
    Ok((nl, en))
}

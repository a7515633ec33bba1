//! Between the language's values and the JSON objects that providers and
//! state speak: unknowns become a set of attribute names, sensitive paths
//! come back marked (`crate::sensitivity`).

use landform_lang::Value;
use serde_json::{Map, Value as Json};
use std::collections::BTreeSet;

/// A configuration object as JSON, with the names of its attributes that are
/// (or contain something) unknown, and the paths its marks were at
/// (`crate::sensitivity`): the marks themselves are dropped.
pub fn to_config(v: &Value) -> (Map<String, Json>, BTreeSet<String>, BTreeSet<String>) {
    let mut obj = Map::new();
    let mut unknown = BTreeSet::new();
    let sensitive = crate::sensitivity::config_paths(v);
    if let Value::Object(m) = v.unmark().0 {
        for (k, v) in m {
            if v.contains_unknown() {
                unknown.insert(k.clone());
            } else {
                obj.insert(k.clone(), v.unmark_deep().0.to_json());
            }
        }
    }
    (obj, unknown, sensitive)
}

/// A configuration with what is unknown as null, at any depth: what a
/// provider's `validate` checks when planning, so that a known weight inside a
/// block is checked even when the block also holds an ARN known only after apply.
pub fn to_partial_config(v: &Value) -> Map<String, Json> {
    fn conv(v: &Value) -> Json {
        match v.unmark().0 {
            Value::Unknown => Json::Null,
            Value::List(items) => Json::Array(items.iter().map(conv).collect()),
            Value::Object(m) => Json::Object(m.iter().map(|(k, v)| (k.clone(), conv(v))).collect()),
            other => other.unmark_deep().0.to_json(),
        }
    }
    match conv(v) {
        Json::Object(m) => m,
        _ => Map::new(),
    }
}

/// Where the unknown values of a configuration are, when one of its
/// attributes is known in part (`landform_provider::Partial::unknown`): a
/// wholly unknown attribute by name, the unknowns inside one by path.
/// `None` when every unknown attribute is unknown as a whole.
pub fn unknown_paths(v: &Value) -> Option<BTreeSet<String>> {
    let Value::Object(m) = v.unmark().0 else { return None };
    let partly = m.values().any(|x| x.contains_unknown() && !matches!(x.unmark().0, Value::Unknown));
    if !partly {
        return None;
    }
    let mut out = BTreeSet::new();
    let unknown = |x: &Value| matches!(x.unmark().0, Value::Unknown);
    crate::sensitivity::paths_where(v, &unknown, &mut Vec::new(), &mut out);
    Some(out)
}

/// An instance's value as expressions see it, marked at its sensitive paths.
pub fn to_value(obj: &Map<String, Json>, unknown: &BTreeSet<String>, sensitive: &BTreeSet<String>) -> Value {
    crate::sensitivity::instance_value(obj, unknown, sensitive)
}

/// Bring a configuration's arguments to their schema types, as Terraform does
/// (`5` is `"5"` for a string); returns the arguments that cannot be converted.
pub fn coerce(config: &mut Map<String, Json>, schema: &landform_provider::Schema) -> Vec<(String, String)> {
    use landform_provider::AttrType;
    let mut errors = Vec::new();
    for (name, v) in config.iter_mut() {
        let Some(attr) = schema.attributes.get(name.as_str()) else { continue };
        if v.is_null() {
            continue;
        }
        let kind = |v: &Json| match v {
            Json::Null => "null",
            Json::Bool(_) => "bool",
            Json::Number(_) => "number",
            Json::String(_) => "string",
            Json::Array(_) => "list",
            Json::Object(_) => "object",
        };
        let converted = match (attr.ty, &*v) {
            (AttrType::Any, _) => None,
            (AttrType::String, Json::String(_))
            | (AttrType::Number, Json::Number(_))
            | (AttrType::Bool, Json::Bool(_)) => None,
            (AttrType::List, Json::Array(_)) | (AttrType::Map, Json::Object(_)) => None,
            (AttrType::String, Json::Number(n)) => Some(Ok(Json::String(
                Value::from_json(&Json::Number(n.clone())).to_template_string().unwrap_or_default(),
            ))),
            (AttrType::String, Json::Bool(b)) => Some(Ok(Json::String(b.to_string()))),
            (AttrType::Number, Json::String(s)) => Some(
                landform_lang::number::Number::parse(s)
                    .filter(|n| !n.is_infinite())
                    .map(|n| Value::Number(n).to_json())
                    .ok_or_else(|| format!("a number is required, but \"{s}\" is not a number")),
            ),
            (AttrType::Bool, Json::String(s)) if s == "true" || s == "false" => Some(Ok(Json::Bool(s == "true"))),
            (ty, other) => Some(Err(format!(
                "{} required, not {}",
                match ty {
                    AttrType::String => "a string is",
                    AttrType::Number => "a number is",
                    AttrType::Bool => "a bool is",
                    AttrType::List => "a list is",
                    AttrType::Map => "a map is",
                    AttrType::Any => "any value is",
                },
                kind(other)
            ))),
        };
        match converted {
            Some(Ok(new)) => *v = new,
            Some(Err(e)) => errors.push((name.clone(), e)),
            None => {}
        }
    }
    for (name, block) in &schema.blocks {
        if let Some(v) = config.get_mut(*name) {
            coerce_block(name, block, v, &mut errors);
        }
    }
    errors
}

/// Nested blocks arrive from the evaluator as a list of objects, one per
/// block written: each is coerced to the block's schema, then a single block
/// becomes its object and a set is sorted, so that order never shows as a change.
fn coerce_block(path: &str, block: &landform_provider::BlockType, v: &mut Json, errors: &mut Vec<(String, String)>) {
    use landform_provider::Nesting;
    let items = match v {
        Json::Null => return,
        Json::Array(items) => items,
        Json::Object(_) => {
            *v = Json::Array(vec![v.take()]);
            match v {
                Json::Array(items) => items,
                _ => return,
            }
        }
        _ => {
            errors.push((path.to_string(), "a block is required, not a single value".into()));
            return;
        }
    };
    for (i, item) in items.iter_mut().enumerate() {
        let at = if block.nesting == Nesting::Single { path.to_string() } else { format!("{path}[{i}]") };
        match item {
            Json::Object(o) => {
                for (p, e) in coerce(o, &block.block) {
                    errors.push((format!("{at}.{p}"), e));
                }
            }
            _ => errors.push((at, "a block is required, not a single value".into())),
        }
    }
    match block.nesting {
        Nesting::Single => *v = items.pop().unwrap_or(Json::Null),
        Nesting::Set => items.sort_by_cached_key(|i| i.to_string()),
        Nesting::List => {}
    }
}

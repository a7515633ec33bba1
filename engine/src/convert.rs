//! Between the language's values and the JSON objects that providers and
//! state speak: unknowns become a set of attribute names, sensitive attributes
//! come back marked.

use landform_lang::Value;
use serde_json::{Map, Value as Json};
use std::collections::BTreeSet;

/// A configuration object as JSON, with the names of its attributes that are
/// (or contain something) unknown. Sensitive marks are dropped: the schema and
/// the recorded sensitive paths say what to hide.
pub fn to_config(v: &Value) -> (Map<String, Json>, BTreeSet<String>, BTreeSet<String>) {
    let mut obj = Map::new();
    let mut unknown = BTreeSet::new();
    let mut sensitive = BTreeSet::new();
    if let Value::Object(m) = v.unmark().0 {
        for (k, v) in m {
            if v.contains_sensitive() {
                sensitive.insert(k.clone());
            }
            if v.contains_unknown() {
                unknown.insert(k.clone());
            } else {
                obj.insert(k.clone(), v.unmark_deep().0.to_json());
            }
        }
    }
    (obj, unknown, sensitive)
}

/// An instance's value as expressions see it.
pub fn to_value(obj: &Map<String, Json>, unknown: &BTreeSet<String>, sensitive: &BTreeSet<String>) -> Value {
    let mut m = std::collections::BTreeMap::new();
    for (k, v) in obj {
        let val = Value::from_json(v);
        m.insert(k.clone(), if sensitive.contains(k) { val.sensitive() } else { val });
    }
    for k in unknown {
        m.insert(k.clone(), Value::Unknown);
    }
    Value::Object(m)
}

//! cty's types and values, as Terraform's providers know them: the type
//! constraint JSON of a schema (`"string"`, `["list","number"]`,
//! `["object",{"a":"bool"},["a"]]`), and values that may be unknown at any
//! depth.

use crate::Error;
use serde_json::{json, Number};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A cty type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Type {
    String,
    Number,
    Bool,
    /// Decided at run time: the value travels with its type.
    Dynamic,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    Object {
        attributes: BTreeMap<String, Type>,
        optional: BTreeSet<String>,
    },
    Tuple(Vec<Type>),
}

/// A cty value. Lists, sets and tuples are all `List`; maps and objects are
/// `Map`: the type in hand says which. A value in a `Dynamic` slot carries
/// its own type (`Typed`), so that it goes back to the provider as it came.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    /// Known only after apply.
    Unknown,
    Bool(bool),
    /// Exact decimal text (serde_json's arbitrary precision).
    Number(Number),
    String(String),
    List(Vec<Value>),
    Map(BTreeMap<String, Value>),
    Typed(Type, Box<Value>),
}

impl Type {
    pub fn object(attributes: impl IntoIterator<Item = (impl Into<String>, Type)>) -> Type {
        Type::Object {
            attributes: attributes.into_iter().map(|(k, t)| (k.into(), t)).collect(),
            optional: BTreeSet::new(),
        }
    }

    /// Parse a type constraint from its JSON form.
    pub fn from_json(v: &serde_json::Value) -> Result<Type, Error> {
        let bad = || Error::Type(format!("not a cty type: {v}"));
        match v {
            serde_json::Value::String(s) => match s.as_str() {
                "string" => Ok(Type::String),
                "number" => Ok(Type::Number),
                "bool" => Ok(Type::Bool),
                "dynamic" => Ok(Type::Dynamic),
                _ => Err(bad()),
            },
            serde_json::Value::Array(a) if a.len() >= 2 => {
                let kind = a[0].as_str().ok_or_else(bad)?;
                match (kind, a.len()) {
                    ("list", 2) => Ok(Type::List(Box::new(Type::from_json(&a[1])?))),
                    ("set", 2) => Ok(Type::Set(Box::new(Type::from_json(&a[1])?))),
                    ("map", 2) => Ok(Type::Map(Box::new(Type::from_json(&a[1])?))),
                    ("tuple", 2) => Ok(Type::Tuple(
                        a[1].as_array().ok_or_else(bad)?.iter().map(Type::from_json).collect::<Result<_, _>>()?,
                    )),
                    ("object", 2 | 3) => {
                        let attributes = a[1]
                            .as_object()
                            .ok_or_else(bad)?
                            .iter()
                            .map(|(k, t)| Ok((k.clone(), Type::from_json(t)?)))
                            .collect::<Result<BTreeMap<_, _>, Error>>()?;
                        let mut optional = BTreeSet::new();
                        if let Some(o) = a.get(2) {
                            for name in o.as_array().ok_or_else(bad)? {
                                let name = name.as_str().ok_or_else(bad)?;
                                if !attributes.contains_key(name) {
                                    return Err(bad());
                                }
                                optional.insert(name.to_string());
                            }
                        }
                        Ok(Type::Object { attributes, optional })
                    }
                    _ => Err(bad()),
                }
            }
            _ => Err(bad()),
        }
    }

    /// Parse a type constraint from JSON bytes (a schema's attribute type).
    pub fn from_json_bytes(b: &[u8]) -> Result<Type, Error> {
        let v: serde_json::Value =
            serde_json::from_slice(b).map_err(|e| Error::Type(format!("a type is not JSON: {e}")))?;
        Type::from_json(&v)
    }

    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Type::String => json!("string"),
            Type::Number => json!("number"),
            Type::Bool => json!("bool"),
            Type::Dynamic => json!("dynamic"),
            Type::List(t) => json!(["list", t.to_json()]),
            Type::Set(t) => json!(["set", t.to_json()]),
            Type::Map(t) => json!(["map", t.to_json()]),
            Type::Tuple(ts) => json!(["tuple", ts.iter().map(Type::to_json).collect::<Vec<_>>()]),
            Type::Object { attributes, optional } => {
                let attrs: serde_json::Map<String, serde_json::Value> =
                    attributes.iter().map(|(k, t)| (k.clone(), t.to_json())).collect();
                if optional.is_empty() {
                    json!(["object", attrs])
                } else {
                    json!(["object", attrs, optional.iter().collect::<Vec<_>>()])
                }
            }
        }
    }

    /// The type a value of a dynamic slot is sent with when it came with
    /// none (from configuration): as Terraform types literals, a sequence is
    /// a tuple and a mapping an object.
    pub fn infer(v: &Value) -> Type {
        match v {
            Value::Null | Value::Unknown => Type::Dynamic,
            Value::Bool(_) => Type::Bool,
            Value::Number(_) => Type::Number,
            Value::String(_) => Type::String,
            Value::List(items) => Type::Tuple(items.iter().map(Type::infer).collect()),
            Value::Map(m) => Type::object(m.iter().map(|(k, v)| (k.clone(), Type::infer(v)))),
            Value::Typed(t, _) => t.clone(),
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_json())
    }
}

impl Value {
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    pub fn object(attrs: impl IntoIterator<Item = (impl Into<String>, Value)>) -> Value {
        Value::Map(attrs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Whether the value, or anything inside it, is unknown.
    pub fn has_unknown(&self) -> bool {
        match self {
            Value::Unknown => true,
            Value::List(items) => items.iter().any(Value::has_unknown),
            Value::Map(m) => m.values().any(Value::has_unknown),
            Value::Typed(_, v) => v.has_unknown(),
            _ => false,
        }
    }

    /// An attribute of an object value.
    pub fn get(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Map(m) => m.get(name),
            Value::Typed(_, v) => v.get(name),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// A null of `ty` filled out as an object: every attribute null. The
    /// shape a resource's prior state has when there is none to send.
    pub fn null_object(ty: &Type) -> Value {
        match ty {
            Type::Object { attributes, .. } => {
                Value::Map(attributes.keys().map(|k| (k.clone(), Value::Null)).collect())
            }
            _ => Value::Null,
        }
    }

    /// The value as JSON, with unknowns at any depth as `unknown_marker`
    /// (the caller picks one that cannot be confused with a value).
    pub fn to_json_with(&self, unknown_marker: &serde_json::Value) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Unknown => unknown_marker.clone(),
            Value::Bool(b) => json!(b),
            Value::Number(n) => serde_json::Value::Number(n.clone()),
            Value::String(s) => json!(s),
            Value::List(items) => items.iter().map(|v| v.to_json_with(unknown_marker)).collect(),
            Value::Map(m) => {
                serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json_with(unknown_marker))).collect())
            }
            Value::Typed(_, v) => v.to_json_with(unknown_marker),
        }
    }

    /// A known JSON value as a cty value (no unknowns).
    pub fn from_json(v: &serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Number(n.clone()),
            serde_json::Value::String(s) => Value::String(s.clone()),
            serde_json::Value::Array(a) => Value::List(a.iter().map(Value::from_json).collect()),
            serde_json::Value::Object(o) => {
                Value::Map(o.iter().map(|(k, v)| (k.clone(), Value::from_json(v))).collect())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_round_trip_through_json() {
        for t in [
            r#""string""#,
            r#"["list",["set","number"]]"#,
            r#"["map",["object",{"a":"bool","b":["tuple",["string","dynamic"]]}]]"#,
            r#"["object",{"a":"bool","b":"string"},["b"]]"#,
        ] {
            let v: serde_json::Value = serde_json::from_str(t).unwrap();
            let ty = Type::from_json(&v).unwrap();
            assert_eq!(ty.to_json(), v, "{t}");
        }
    }

    #[test]
    fn bad_types_are_errors() {
        for t in [r#""str""#, r#"["list"]"#, r#"["object",{"a":"bool"},["c"]]"#, "42", r#"["set","nope"]"#] {
            let v: serde_json::Value = serde_json::from_str(t).unwrap();
            assert!(Type::from_json(&v).is_err(), "{t}");
        }
    }
}

//! Type unification as Terraform does it (cty's `convert.Unify`): where values
//! of different kinds must become one type — the two results of `?:`, the
//! elements of `tolist`, `toset` and `distinct`, the attributes of `tomap`,
//! the arguments of `coalesce` — numbers and bools become strings, and
//! collections unify element by element.

use std::collections::BTreeMap;

use crate::value::Value;

/// A value's type, as far as unification needs it.
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    /// Null or unknown: takes any type.
    Dynamic,
    Bool,
    Number,
    String,
    /// Landform's own durations and percentages: only unify with themselves.
    Other(&'static str),
    Tuple(Vec<Shape>),
    List(Box<Shape>),
    Object(BTreeMap<String, Shape>),
    Map(Box<Shape>),
}

pub fn shape(v: &Value) -> Shape {
    match v {
        Value::Null | Value::Unknown => Shape::Dynamic,
        Value::Bool(_) => Shape::Bool,
        Value::Number(_) => Shape::Number,
        Value::String(_) => Shape::String,
        Value::Duration(_) => Shape::Other("duration"),
        Value::Percent(_) => Shape::Other("percent"),
        Value::List(items) => Shape::Tuple(items.iter().map(shape).collect()),
        Value::Object(m) => Shape::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        Value::Sensitive(inner) => shape(inner),
    }
}

fn primitive(s: &Shape) -> bool {
    matches!(s, Shape::Bool | Shape::Number | Shape::String)
}

/// The one type both can take, if there is one.
pub fn unify(a: &Shape, b: &Shape) -> Option<Shape> {
    if a == b {
        return Some(a.clone());
    }
    Some(match (a, b) {
        (Shape::Dynamic, x) | (x, Shape::Dynamic) => x.clone(),
        // cty takes one of the types given: a bool and a number have none.
        (Shape::String, y) | (y, Shape::String) if primitive(y) => Shape::String,
        (Shape::Tuple(x), Shape::Tuple(y)) if x.len() == y.len() => {
            Shape::Tuple(x.iter().zip(y).map(|(p, q)| unify(p, q)).collect::<Option<_>>()?)
        }
        (Shape::Tuple(_) | Shape::List(_), Shape::Tuple(_) | Shape::List(_)) => {
            Shape::List(Box::new(unify_all(elements(a).chain(elements(b)))?))
        }
        (Shape::Object(x), Shape::Object(y)) if x.keys().eq(y.keys()) => {
            Shape::Object(x.iter().map(|(k, p)| Some((k.clone(), unify(p, &y[k])?))).collect::<Option<_>>()?)
        }
        (Shape::Object(_) | Shape::Map(_), Shape::Object(_) | Shape::Map(_)) => {
            Shape::Map(Box::new(unify_all(elements(a).chain(elements(b)))?))
        }
        _ => return None,
    })
}

/// The element types of a collection type.
fn elements(s: &Shape) -> Box<dyn Iterator<Item = Shape> + '_> {
    match s {
        Shape::Tuple(items) => Box::new(items.iter().cloned()),
        Shape::List(e) | Shape::Map(e) => Box::new(std::iter::once((**e).clone())),
        Shape::Object(m) => Box::new(m.values().cloned()),
        _ => Box::new(std::iter::empty()),
    }
}

pub fn unify_all(shapes: impl IntoIterator<Item = Shape>) -> Option<Shape> {
    let shapes: Vec<Shape> = shapes.into_iter().collect();
    // Primitives of several kinds unify to string if a string is among them.
    if shapes.contains(&Shape::String) && shapes.iter().all(|s| primitive(s) || *s == Shape::Dynamic) {
        return Some(Shape::String);
    }
    let mut out = Shape::Dynamic;
    for s in &shapes {
        out = unify(&out, s)?;
    }
    Some(out)
}

/// `v` converted to `target` (a type `v` unifies into, so the conversion
/// cannot fail: what does not fit is left as it is).
pub fn conform(v: Value, target: &Shape) -> Value {
    match (v, target) {
        (Value::Sensitive(inner), t) => Value::Sensitive(Box::new(conform(*inner, t))),
        (v @ (Value::Null | Value::Unknown), _) => v,
        (v @ (Value::Number(_) | Value::Bool(_)), Shape::String) => {
            Value::String(v.to_template_string().unwrap_or_default())
        }
        (Value::List(items), Shape::Tuple(ts)) if items.len() == ts.len() => {
            Value::List(items.into_iter().zip(ts).map(|(v, t)| conform(v, t)).collect())
        }
        (Value::List(items), Shape::List(t)) => Value::List(items.into_iter().map(|v| conform(v, t)).collect()),
        (Value::Object(m), Shape::Object(ts)) => {
            Value::Object(m.into_iter().map(|(k, v)| (k.clone(), conform_opt(v, ts.get(&k)))).collect())
        }
        (Value::Object(m), Shape::Map(t)) => Value::Object(m.into_iter().map(|(k, v)| (k, conform(v, t))).collect()),
        (v, _) => v,
    }
}

fn conform_opt(v: Value, t: Option<&Shape>) -> Value {
    match t {
        Some(t) => conform(v, t),
        None => v,
    }
}

/// The values converted to their one common type, or `None` if they have none.
pub fn unify_values(values: Vec<Value>) -> Option<Vec<Value>> {
    let target = unify_all(values.iter().map(shape))?;
    Some(values.into_iter().map(|v| conform(v, &target)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_kinds_unify_to_strings_and_collections_element_by_element() {
        let got = unify_values(vec![Value::from(1i64), Value::String("x".into())]).unwrap();
        assert_eq!(got, vec![Value::String("1".into()), Value::String("x".into())]);
        let got =
            unify_values(vec![Value::List(vec![Value::from(1i64)]), Value::List(vec![Value::String("a".into())])]);
        assert_eq!(got.unwrap()[0], Value::List(vec![Value::String("1".into())]));
        assert!(unify_values(vec![Value::List(vec![]), Value::String("a".into())]).is_none());
        assert_eq!(unify_values(vec![Value::Null, Value::from(1i64)]).unwrap(), vec![Value::Null, Value::from(1i64)]);
    }
}

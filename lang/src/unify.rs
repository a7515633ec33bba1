//! Types and type unification as Terraform has them (cty's types and
//! `convert.Unify`): where values of different types must become one — the
//! two results of `?:`, the elements of `tolist`, `toset` and `distinct`,
//! the attributes of `tomap`, the arguments of `coalesce` and the set
//! functions — numbers and bools become strings, tuples become lists and
//! objects maps, and collections unify element by element.

use std::collections::BTreeMap;

use crate::value::{Fields, Items, MapKind, SeqKind, Value};

/// A value's type, as cty has it (Landform's durations and percentages
/// aside).
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    /// Null or unknown: takes any type (cty's dynamic pseudo-type).
    Dynamic,
    Bool,
    Number,
    String,
    /// Landform's own durations and percentages: only unify with themselves.
    Other(&'static str),
    Tuple(Vec<Shape>),
    List(Box<Shape>),
    Set(Box<Shape>),
    Object(BTreeMap<String, Shape>),
    Map(Box<Shape>),
}

impl Shape {
    /// The type as Terraform names it in messages (`set of string`).
    pub fn describe(&self) -> String {
        match self {
            Shape::Dynamic => "dynamic".into(),
            Shape::Bool => "bool".into(),
            Shape::Number => "number".into(),
            Shape::String => "string".into(),
            Shape::Other(n) => (*n).into(),
            Shape::Tuple(_) => "tuple".into(),
            Shape::List(e) => format!("list of {}", e.describe()),
            Shape::Set(e) => format!("set of {}", e.describe()),
            Shape::Object(_) => "object".into(),
            Shape::Map(e) => format!("map of {}", e.describe()),
        }
    }

    /// No dynamic type anywhere inside.
    fn wholly_known(&self) -> bool {
        match self {
            Shape::Dynamic => false,
            Shape::Tuple(ts) => ts.iter().all(Shape::wholly_known),
            Shape::Object(m) => m.values().all(Shape::wholly_known),
            Shape::List(e) | Shape::Set(e) | Shape::Map(e) => e.wholly_known(),
            _ => true,
        }
    }
}

/// The type of a value. A list's, set's or map's element type is that of
/// its elements (the first whose type is wholly known; all have one type).
pub fn shape(v: &Value) -> Shape {
    match v {
        Value::Null | Value::Unknown => Shape::Dynamic,
        Value::Bool(_) => Shape::Bool,
        Value::Number(_) => Shape::Number,
        Value::String(_) => Shape::String,
        Value::Duration(_) => Shape::Other("duration"),
        Value::Percent(_) => Shape::Other("percent"),
        Value::List(l) => match l.kind {
            SeqKind::Tuple => Shape::Tuple(l.iter().map(shape).collect()),
            SeqKind::List => Shape::List(Box::new(declared(&l.elem).unwrap_or_else(|| element_shape(l.iter())))),
            SeqKind::Set => Shape::Set(Box::new(declared(&l.elem).unwrap_or_else(|| element_shape(l.iter())))),
        },
        Value::Object(m) => match m.kind {
            MapKind::Object => Shape::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
            MapKind::Map => Shape::Map(Box::new(declared(&m.elem).unwrap_or_else(|| element_shape(m.values())))),
        },
        Value::Sensitive(inner) => shape(inner),
    }
}

/// A declared element type, unless it is dynamic (then the elements tell).
fn declared(elem: &Option<Box<Shape>>) -> Option<Shape> {
    elem.as_deref().filter(|e| **e != Shape::Dynamic).cloned()
}

fn element_shape<'a>(items: impl Iterator<Item = &'a Value>) -> Shape {
    let mut first = None;
    for s in items.map(shape) {
        if s.wholly_known() {
            return s;
        }
        first.get_or_insert(s);
    }
    first.unwrap_or(Shape::Dynamic)
}

/// Whether a value of type `from` converts to `to`; `unsafe_` allows the
/// conversions that may fail on some values (a string to a number).
pub fn convertible(from: &Shape, to: &Shape, unsafe_: bool) -> bool {
    use Shape::*;
    if from == to {
        return true;
    }
    match (from, to) {
        (_, Dynamic) | (Dynamic, _) => true,
        (Number | Bool, String) => true,
        (String, Number | Bool) => unsafe_,
        (Tuple(es), List(e) | Set(e)) => es.iter().all(|x| convertible(x, e, unsafe_)),
        (List(x) | Set(x), List(e) | Set(e)) => convertible(x, e, unsafe_),
        (Tuple(xs), Tuple(ys)) => xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| convertible(x, y, unsafe_)),
        (Object(m), Map(e)) => m.values().all(|x| convertible(x, e, unsafe_)),
        (Map(x), Map(e)) => convertible(x, e, unsafe_),
        (Object(a), Object(b)) => a.keys().eq(b.keys()) && a.iter().all(|(k, x)| convertible(x, &b[k], unsafe_)),
        _ => false,
    }
}

/// The one type both can take, if there is one (as `?:` unifies its results).
pub fn unify(a: &Shape, b: &Shape) -> Option<Shape> {
    unify_types(&[a.clone(), b.clone()], true)
}

/// cty's unification of several types (`unsafe_`: `UnifyUnsafe`).
pub fn unify_types(types: &[Shape], unsafe_: bool) -> Option<Shape> {
    use Shape::*;
    if types.is_empty() {
        return None;
    }
    if types.iter().all(|t| t == &types[0]) {
        return Some(types[0].clone());
    }
    let n = types.len();
    let count = |f: fn(&Shape) -> bool| types.iter().filter(|t| f(t)).count();
    let maps = count(|t| matches!(t, Map(_)));
    let lists = count(|t| matches!(t, List(_)));
    let sets = count(|t| matches!(t, Set(_)));
    let objects = count(|t| matches!(t, Object(_)));
    let tuples = count(|t| matches!(t, Tuple(_)));
    let dynamic = count(|t| matches!(t, Dynamic));
    let elems = |ts: &[Shape]| -> Vec<Shape> {
        ts.iter()
            .flat_map(|t| match t {
                List(e) | Set(e) | Map(e) => vec![(**e).clone()],
                Tuple(es) => es.clone(),
                Object(m) => m.values().cloned().collect(),
                _ => vec![],
            })
            .collect()
    };
    if maps > 0 && maps + dynamic == n {
        return if dynamic > 0 { Some(Dynamic) } else { Some(Map(Box::new(unify_types(&elems(types), unsafe_)?))) };
    }
    if maps > 0 && maps + objects + dynamic == n {
        let objs: Vec<Shape> = types.iter().filter(|t| matches!(t, Object(_))).cloned().collect();
        if let Some(m @ Map(_)) = objects_to_map(&objs, unsafe_) {
            let mapped: Vec<Shape> =
                types.iter().map(|t| if matches!(t, Object(_)) { m.clone() } else { t.clone() }).collect();
            if let Some(r @ Map(_)) = unify_types(&mapped, unsafe_) {
                return Some(r);
            }
        }
    } else if lists > 0 && lists + dynamic == n {
        return if dynamic > 0 { Some(Dynamic) } else { Some(List(Box::new(unify_types(&elems(types), unsafe_)?))) };
    } else if lists > 0 && lists + tuples + dynamic == n {
        let tups: Vec<Shape> = types.iter().filter(|t| matches!(t, Tuple(_))).cloned().collect();
        if let Some(l @ List(_)) = tuples_to_list(&tups, unsafe_) {
            let listed: Vec<Shape> =
                types.iter().map(|t| if matches!(t, Tuple(_)) { l.clone() } else { t.clone() }).collect();
            if let Some(r @ List(_)) = unify_types(&listed, unsafe_) {
                return Some(r);
            }
        }
    } else if sets > 0 && sets + dynamic == n {
        return if dynamic > 0 { Some(Dynamic) } else { Some(Set(Box::new(unify_types(&elems(types), unsafe_)?))) };
    } else if objects > 0 && objects + dynamic == n {
        if dynamic > 0 {
            return Some(Dynamic);
        }
        let keys = |t: &Shape| match t {
            Object(m) => m.keys().cloned().collect::<Vec<_>>(),
            _ => vec![],
        };
        if types.iter().any(|t| keys(t) != keys(&types[0])) {
            return objects_to_map(types, unsafe_);
        }
        let mut out = BTreeMap::new();
        for k in keys(&types[0]) {
            let across: Vec<Shape> =
                types.iter().map(|t| if let Object(m) = t { m[&k].clone() } else { Dynamic }).collect();
            out.insert(k, unify_types(&across, unsafe_)?);
        }
        let r = Object(out);
        return if types.iter().all(|t| convertible(t, &r, unsafe_)) {
            Some(r)
        } else {
            objects_to_map(types, unsafe_)
        };
    } else if tuples > 0 && tuples + dynamic == n {
        if dynamic > 0 {
            return Some(Dynamic);
        }
        let len = |t: &Shape| if let Tuple(es) = t { es.len() } else { 0 };
        if types.iter().any(|t| len(t) != len(&types[0])) {
            return tuples_to_list(types, unsafe_);
        }
        let mut out = Vec::new();
        for i in 0..len(&types[0]) {
            let across: Vec<Shape> =
                types.iter().map(|t| if let Tuple(es) = t { es[i].clone() } else { Dynamic }).collect();
            out.push(unify_types(&across, unsafe_)?);
        }
        let r = Tuple(out);
        return if types.iter().all(|t| convertible(t, &r, unsafe_)) {
            Some(r)
        } else {
            tuples_to_list(types, unsafe_)
        };
    } else if objects > 0 && tuples > 0 {
        return None;
    }
    // The most general of the given types that every one converts to.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| preference(&types[i]));
    order.into_iter().map(|i| &types[i]).find(|want| types.iter().all(|t| convertible(t, want, unsafe_))).cloned()
}

/// Lower is preferred: strings before other primitives, dynamic last.
fn preference(t: &Shape) -> u8 {
    match t {
        Shape::Dynamic => 3,
        Shape::String => 0,
        Shape::List(_) | Shape::Map(_) => 1,
        _ => 2,
    }
}

fn objects_to_map(types: &[Shape], unsafe_: bool) -> Option<Shape> {
    let all: Vec<Shape> = types
        .iter()
        .flat_map(|t| if let Shape::Object(m) = t { m.values().cloned().collect() } else { vec![] })
        .collect();
    let e = unify_types(&all, unsafe_)?;
    let r = Shape::Map(Box::new(e));
    types.iter().all(|t| convertible(t, &r, unsafe_)).then_some(r)
}

fn tuples_to_list(types: &[Shape], unsafe_: bool) -> Option<Shape> {
    let all: Vec<Shape> =
        types.iter().flat_map(|t| if let Shape::Tuple(es) = t { es.clone() } else { vec![] }).collect();
    let e = unify_types(&all, unsafe_)?;
    let r = Shape::List(Box::new(e));
    types.iter().all(|t| convertible(t, &r, unsafe_)).then_some(r)
}

/// The one type of several, as `unify_types` with cty's safe conversions
/// (each element's type taken), or `None`.
pub fn unify_all(shapes: impl IntoIterator<Item = Shape>) -> Option<Shape> {
    let shapes: Vec<Shape> = shapes.into_iter().collect();
    if shapes.is_empty() {
        return Some(Shape::Dynamic);
    }
    unify_types(&shapes, true)
}

/// `v` converted to `target` (a type `v` converts to: what does not fit is
/// left as it is). Sequences and maps take the target's kind.
pub fn conform(v: Value, target: &Shape) -> Value {
    match (v, target) {
        (Value::Sensitive(inner), t) => Value::Sensitive(Box::new(conform(*inner, t))),
        (v @ (Value::Null | Value::Unknown), _) => v,
        (v, Shape::Dynamic) => v,
        (v @ (Value::Number(_) | Value::Bool(_)), Shape::String) => {
            Value::String(v.to_template_string().unwrap_or_default())
        }
        (Value::String(s), Shape::Number) => crate::number::Number::parse(&s).map_or(Value::String(s), Value::Number),
        (Value::String(s), Shape::Bool) if s == "true" || s == "false" => Value::Bool(s == "true"),
        (Value::List(items), Shape::Tuple(ts)) if items.len() == ts.len() => {
            Value::List(Items::new(SeqKind::Tuple, items.into_iter().zip(ts).map(|(v, t)| conform(v, t)).collect()))
        }
        (Value::List(items), Shape::List(t)) => {
            Value::list(items.into_iter().map(|v| conform(v, t)).collect()).with_elem((**t).clone())
        }
        (Value::List(items), Shape::Set(t)) => {
            Value::set(items.into_iter().map(|v| conform(v, t)).collect()).with_elem((**t).clone())
        }
        (Value::Object(m), Shape::Object(ts)) => Value::Object(Fields::new(
            MapKind::Object,
            m.into_iter().map(|(k, v)| (k.clone(), conform_opt(v, ts.get(&k)))).collect(),
        )),
        (Value::Object(m), Shape::Map(t)) => {
            Value::map(m.into_iter().map(|(k, v)| (k, conform(v, t))).collect()).with_elem((**t).clone())
        }
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

/// Whether a value's type is not wholly known: an unknown stands where its
/// type is not told by anything else (a list's other elements tell theirs).
fn type_unknown(v: &Value) -> bool {
    match v {
        Value::Unknown => true,
        Value::Sensitive(inner) => type_unknown(inner),
        Value::List(l) if l.kind == SeqKind::Tuple => l.iter().any(type_unknown),
        Value::List(_) | Value::Object(_) => match shape(v) {
            Shape::List(e) | Shape::Set(e) | Shape::Map(e) if e.wholly_known() => false,
            _ => match v {
                Value::List(l) => l.iter().any(type_unknown),
                Value::Object(m) => m.values().any(type_unknown),
                _ => false,
            },
        },
        _ => false,
    }
}

/// Whether two types could be one, a dynamic part matching anything.
fn conformable(a: &Shape, b: &Shape) -> bool {
    use Shape::*;
    match (a, b) {
        (Dynamic, _) | (_, Dynamic) => true,
        (Tuple(x), Tuple(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| conformable(p, q)),
        (Object(x), Object(y)) => x.keys().eq(y.keys()) && x.values().zip(y.values()).all(|(p, q)| conformable(p, q)),
        (List(x), List(y)) | (Set(x), Set(y)) | (Map(x), Map(y)) => conformable(x, y),
        (x, y) => x == y,
    }
}

/// Values of types with no dynamic part compare by type, then by value;
/// null equals only null. `None` when an unknown decides it.
pub fn equals(a: &Value, b: &Value) -> Option<bool> {
    let (a, b) = (a.unmark().0, b.unmark().0);
    match (a, b) {
        (Value::Unknown, _) | (_, Value::Unknown) => return None,
        (Value::Null, Value::Null) => return Some(true),
        (Value::Null, _) | (_, Value::Null) => return Some(false),
        _ => {}
    }
    let (ta, tb) = (shape(a), shape(b));
    // An unknown of no known type (cty's DynamicVal) inside: unknown unless
    // the types could never match, whatever it turns out to be.
    if type_unknown(a) || type_unknown(b) {
        return if conformable(&ta, &tb) { None } else { Some(false) };
    }
    if ta != tb {
        return Some(false);
    }
    // One look at the types above; with no unknown inside, the values
    // compare as they are (nulls equal nulls, numbers as cty compares them).
    if !a.contains_unknown() && !b.contains_unknown() {
        return Some(a == b);
    }
    match (a, b) {
        (Value::List(x), Value::List(y)) => {
            if x.len() != y.len() {
                return Some(false);
            }
            let mut unknown = false;
            for (p, q) in x.iter().zip(y.iter()) {
                match equals(p, q) {
                    Some(false) => return Some(false),
                    None => unknown = true,
                    Some(true) => {}
                }
            }
            if unknown {
                None
            } else {
                Some(true)
            }
        }
        (Value::Object(x), Value::Object(y)) => {
            if !x.keys().eq(y.keys()) {
                return Some(false);
            }
            let mut unknown = false;
            for (p, q) in x.values().zip(y.values()) {
                match equals(p, q) {
                    Some(false) => return Some(false),
                    None => unknown = true,
                    Some(true) => {}
                }
            }
            if unknown {
                None
            } else {
                Some(true)
            }
        }
        _ => Some(a == b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_kinds_unify_to_strings_and_collections_element_by_element() {
        let got = unify_values(vec![Value::from(1i64), Value::String("x".into())]).unwrap();
        assert_eq!(got, vec![Value::String("1".into()), Value::String("x".into())]);
        let got =
            unify_values(vec![Value::tuple(vec![Value::from(1i64)]), Value::tuple(vec![Value::String("a".into())])]);
        assert_eq!(got.unwrap()[0], Value::tuple(vec![Value::String("1".into())]));
        assert!(unify_values(vec![Value::tuple(vec![]), Value::String("a".into())]).is_none());
        assert_eq!(unify_values(vec![Value::Null, Value::from(1i64)]).unwrap(), vec![Value::Null, Value::from(1i64)]);
    }

    #[test]
    fn equality_compares_types_first() {
        let one = || Value::from(1i64);
        assert_eq!(equals(&Value::tuple(vec![one()]), &Value::list(vec![one()])), Some(false));
        assert_eq!(equals(&Value::list(vec![one()]), &Value::list(vec![one()])), Some(true));
        assert_eq!(equals(&Value::set(vec![one()]), &Value::list(vec![one()])), Some(false));
        assert_eq!(equals(&Value::list(vec![one()]), &Value::list(vec![Value::string("1")])), Some(false));
        assert_eq!(equals(&Value::Null, &Value::Null), Some(true));
        assert_eq!(equals(&Value::Unknown, &Value::Null), None);
        // An element of unknown type: unknown, unless no type could match.
        let s = || Value::string("a");
        assert_eq!(equals(&Value::tuple(vec![Value::Unknown]), &Value::tuple(vec![s()])), None);
        assert_eq!(equals(&Value::tuple(vec![Value::Unknown]), &Value::list(vec![s()])), Some(false));
        assert_eq!(equals(&Value::tuple(vec![Value::Unknown, one()]), &Value::tuple(vec![s()])), Some(false));
        // A list's element type is known from the others: known elements decide.
        let l = |v: Vec<Value>| Value::list(v);
        assert_eq!(equals(&l(vec![s(), Value::Unknown]), &l(vec![Value::string("b"), s()])), Some(false));
        assert_eq!(equals(&l(vec![s(), Value::Unknown]), &l(vec![s(), s()])), None);
        assert_eq!(equals(&Value::tuple(vec![Value::Null]), &Value::tuple(vec![Value::Null])), Some(true));
    }
}

//! Lists, maps and sets, and the conversions between types.

use super::{
    arg_err, call_err, def, describe, element_string, integer, list, num, object, sort_dedup, string, CallError,
    FuncDef, Kind,
};
use crate::eval::Host;
use crate::unify::{conform, equals, shape, unify_types, Shape};
use crate::value::{MapKind, SeqKind, Value};
use std::collections::BTreeMap;

type R = Result<Value, CallError>;

pub const DEFS: &[FuncDef] = &[
    def("length", &[Kind::Any], length).sees_unknown(),
    def("concat", &[Kind::List], concat).variadic(Kind::List),
    def("merge", &[], merge).variadic(Kind::Any),
    def("keys", &[Kind::Map], keys),
    def("values", &[Kind::Map], values),
    def("lookup", &[Kind::Map, Kind::String, Kind::Any], lookup).optional(1),
    def("element", &[Kind::List, Kind::Number], element),
    def("contains", &[Kind::List, Kind::Any], contains),
    def("index", &[Kind::List, Kind::Any], index),
    def("flatten", &[Kind::List], flatten),
    def("distinct", &[Kind::List], distinct),
    def("compact", &[Kind::List], compact),
    def("coalesce", &[Kind::Any], coalesce).variadic(Kind::Any),
    def("coalescelist", &[Kind::List], coalescelist).variadic(Kind::List),
    def("sort", &[Kind::List], sort),
    def("reverse", &[Kind::List], reverse),
    def("slice", &[Kind::List, Kind::Number, Kind::Number], slice),
    def("zipmap", &[Kind::List, Kind::List], zipmap),
    def("one", &[Kind::List], one),
    def("alltrue", &[Kind::List], alltrue),
    def("anytrue", &[Kind::List], anytrue),
    def("chunklist", &[Kind::List, Kind::Number], chunklist),
    def("matchkeys", &[Kind::List, Kind::List, Kind::List], matchkeys),
    def("transpose", &[Kind::Map], transpose),
    def("setunion", &[Kind::List], setunion).variadic(Kind::List),
    def("setintersection", &[Kind::List], setintersection).variadic(Kind::List),
    def("setsubtract", &[Kind::List, Kind::List], setsubtract),
    def("setproduct", &[Kind::List], setproduct).variadic(Kind::List),
    def("toset", &[Kind::List], toset).sees_unknown(),
    def("tolist", &[Kind::List], tolist),
    def("tomap", &[Kind::Map], tomap),
    def("tostring", &[Kind::Any], tostring),
    def("tonumber", &[Kind::Any], tonumber),
    def("tobool", &[Kind::Any], tobool),
];

/// Functions of a collection's shape stay known when only elements are unknown.
fn length(a: &[Value], _: &dyn Host) -> R {
    match &a[0] {
        // Unknown elements of a set may turn out equal (cty's rule).
        Value::List(l) if a[0].is_set() && l.iter().any(Value::contains_unknown) => Ok(Value::Unknown),
        Value::List(l) => Ok(num(l.len())),
        Value::Object(m) => Ok(num(m.len())),
        Value::String(s) => Ok(num(super::graphemes(s))),
        Value::Unknown => Ok(Value::Unknown),
        other => Err(arg_err(0, format!("length() takes a list, map or string, not {}", describe(other)))),
    }
}

/// A list or tuple argument; a set is refused as `refuse` words it (its
/// elements have no order to take them by).
fn sequence(a: &[Value], i: usize, refuse: impl FnOnce(String) -> CallError) -> Result<&[Value], CallError> {
    if a[i].is_set() {
        return Err(refuse(shape(&a[i]).describe()));
    }
    list(a, i)
}

/// Lists all: a list of their one element type, if they have one
/// (cty's `concat`); otherwise a tuple of the elements as they are.
fn concat(a: &[Value], _: &dyn Host) -> R {
    let mut out = Vec::new();
    for i in 0..a.len() {
        out.extend(
            sequence(a, i, |t| arg_err(i, format!("all arguments must be lists or tuples; got {t}")))?.iter().cloned(),
        );
    }
    if a.iter().all(|v| v.seq_kind() == Some(SeqKind::List)) {
        if let Some(t @ Shape::List(_)) = unify_types(&a.iter().map(shape).collect::<Vec<_>>(), true) {
            let Shape::List(e) = &t else { unreachable!() };
            return Ok(Value::list(out.into_iter().map(|v| conform(v, e)).collect()));
        }
    }
    Ok(Value::tuple(out))
}

fn merge(a: &[Value], _: &dyn Host) -> R {
    let mut out = BTreeMap::new();
    for (i, v) in a.iter().enumerate() {
        match v {
            Value::Null => {}
            Value::Object(m) => out.extend(m.iter().map(|(k, v)| (k.clone(), v.clone()))),
            other => return Err(arg_err(i, format!("merge() takes maps or objects, not {}", describe(other)))),
        }
    }
    // Maps of one element type merge to a map of it; anything else to an object.
    let maps: Vec<Shape> = a.iter().map(shape).collect();
    if !maps.is_empty() && maps.iter().all(|t| matches!(t, Shape::Map(_)) && *t == maps[0]) {
        return Ok(Value::map(out));
    }
    Ok(Value::object(out))
}

/// A map's keys and values are lists; an object's, tuples.
fn of_map_kind(a: &Value, items: Vec<Value>) -> Value {
    match a {
        Value::Object(m) if m.kind == MapKind::Map => Value::list(items),
        _ => Value::tuple(items),
    }
}

fn keys(a: &[Value], _: &dyn Host) -> R {
    Ok(of_map_kind(&a[0], object(a, 0)?.keys().map(|k| Value::String(k.clone())).collect()).with_elem(Shape::String))
}

fn values(a: &[Value], _: &dyn Host) -> R {
    Ok(of_map_kind(&a[0], object(a, 0)?.values().cloned().collect()))
}

fn lookup(a: &[Value], _: &dyn Host) -> R {
    let m = object(a, 0)?;
    let k = string(a, 1)?;
    match (m.get(k), a.get(2)) {
        (Some(v), _) => Ok(v.clone()),
        (None, Some(d)) => Ok(d.clone()),
        (None, None) => Err(arg_err(1, format!("the map has no element \"{k}\" and no default was given"))),
    }
}

fn element(a: &[Value], _: &dyn Host) -> R {
    let l = sequence(a, 0, |t| call_err(format!("cannot read elements from {t}")))?;
    if l.is_empty() {
        return Err(arg_err(0, "element() cannot use an empty list"));
    }
    // Terraform 1.15: a negative index counts from the end, wrapping as a positive one does.
    let i = integer(a, 1)?;
    Ok(l[i.rem_euclid(l.len() as i64) as usize].clone())
}

fn contains(a: &[Value], _: &dyn Host) -> R {
    // Elements compare as `==` does: by type, then value.
    Ok(Value::Bool(list(a, 0)?.iter().any(|v| equals(v, &a[1]) == Some(true))))
}

fn index(a: &[Value], _: &dyn Host) -> R {
    sequence(a, 0, |_| call_err("argument must be a list or tuple"))?
        .iter()
        .position(|v| equals(v, &a[1]) == Some(true))
        .map(num)
        .ok_or_else(|| arg_err(1, format!("{} is not in the list", describe(&a[1]))))
}

fn flatten(a: &[Value], _: &dyn Host) -> R {
    // Elements keep their marks; a marked inner list marks the whole result.
    fn flat(v: &[Value], out: &mut Vec<Value>, marked: &mut bool) {
        for x in v {
            match x.unmark() {
                (Value::List(inner), m) => {
                    *marked |= m;
                    flat(inner, out, marked)
                }
                _ => out.push(x.clone()),
            }
        }
    }
    let (mut out, mut marked) = (Vec::new(), false);
    flat(list(a, 0)?, &mut out, &mut marked);
    Ok(if marked { Value::tuple(out).secret() } else { Value::tuple(out) })
}

fn distinct(a: &[Value], _: &dyn Host) -> R {
    let mut out: Vec<Value> = Vec::new();
    for v in as_list(a, 0)? {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    Ok(Value::list(out))
}

/// A list or tuple as a list of one element type (`[1, "a"]` is `["1", "a"]`).
fn as_list(a: &[Value], i: usize) -> Result<Vec<Value>, CallError> {
    crate::unify::unify_values(list(a, i)?.to_vec())
        .ok_or_else(|| arg_err(i, "cannot convert tuple to list of any single type"))
}

fn compact(a: &[Value], _: &dyn Host) -> R {
    let mut out = Vec::new();
    for (j, v) in list(a, 0)?.iter().enumerate() {
        if v.is_null() {
            continue;
        }
        let s = element_string(v, 0, j)?;
        if !s.is_empty() {
            out.push(Value::String(s));
        }
    }
    Ok(Value::list(out).with_elem(Shape::String))
}

fn coalesce(a: &[Value], _: &dyn Host) -> R {
    let all =
        crate::unify::unify_values(a.to_vec()).ok_or_else(|| call_err("all arguments must have the same type"))?;
    all.into_iter()
        .find(|v| !v.is_null() && v.as_str() != Some(""))
        .ok_or_else(|| call_err("no non-null, non-empty-string arguments"))
}

fn coalescelist(a: &[Value], _: &dyn Host) -> R {
    for i in 0..a.len() {
        if !sequence(a, i, |_| call_err("coalescelist arguments must be lists or tuples"))?.is_empty() {
            return Ok(a[i].clone());
        }
    }
    Err(call_err("every argument is an empty list"))
}

fn sort(a: &[Value], _: &dyn Host) -> R {
    let mut out =
        list(a, 0)?.iter().enumerate().map(|(j, v)| element_string(v, 0, j)).collect::<Result<Vec<String>, _>>()?;
    out.sort();
    Ok(Value::list(out.into_iter().map(Value::String).collect()).with_elem(Shape::String))
}

/// A tuple stays a tuple; a list, or a set, gives a list.
fn same_sequence(a: &Value, items: Vec<Value>) -> Value {
    match a.seq_kind() {
        Some(SeqKind::Tuple) | None => Value::tuple(items),
        _ => Value::list(items),
    }
}

fn reverse(a: &[Value], _: &dyn Host) -> R {
    Ok(same_sequence(&a[0], list(a, 0)?.iter().rev().cloned().collect()))
}

fn slice(a: &[Value], _: &dyn Host) -> R {
    let l = sequence(a, 0, |_| {
        arg_err(0, "cannot slice a set, because its elements do not have indices; explicitly convert to a list if the ordering of the result is not important")
    })?;
    let (start, end) = (integer(a, 1)?, integer(a, 2)?);
    if start < 0 {
        return Err(arg_err(1, "the start index must not be negative"));
    }
    if end > l.len() as i64 {
        return Err(arg_err(2, format!("the end index {end} is past the end of the list ({} elements)", l.len())));
    }
    if start > end {
        return Err(arg_err(1, format!("the start index {start} is after the end index {end}")));
    }
    Ok(same_sequence(&a[0], l[start as usize..end as usize].to_vec()))
}

fn zipmap(a: &[Value], _: &dyn Host) -> R {
    let (ks, vs) = (list(a, 0)?, list(a, 1)?);
    if ks.len() != vs.len() {
        return Err(arg_err(
            1,
            format!("there are {} keys but {} values: the lists must be as long as each other", ks.len(), vs.len()),
        ));
    }
    let mut out = BTreeMap::new();
    // Values keep their marks; a marked key marks the whole map.
    let marked = ks.iter().any(Value::contains_sensitive);
    for (j, (k, v)) in ks.iter().zip(vs).enumerate() {
        out.insert(element_string(k.unmark().0, 0, j)?, v.clone());
    }
    // A list of values makes a map; a tuple, an object.
    let out = if a[1].seq_kind() == Some(SeqKind::Tuple) { Value::object(out) } else { Value::map(out) };
    Ok(if marked { out.secret() } else { out })
}

fn one(a: &[Value], _: &dyn Host) -> R {
    let items: Vec<&Value> = match &a[0] {
        Value::List(l) => l.iter().collect(),
        v => return Err(arg_err(0, format!("one() takes a list, a set or a tuple, not {}", describe(v)))),
    };
    match items.as_slice() {
        [] => Ok(Value::Null),
        [v] => Ok((*v).clone()),
        _ => Err(arg_err(0, format!("the collection has {} elements; one() takes at most one", items.len()))),
    }
}

/// The elements as bools; a null element counts as false, as in Terraform.
fn bools(a: &[Value]) -> Result<Vec<bool>, CallError> {
    list(a, 0)?
        .iter()
        .enumerate()
        .map(|(j, v)| match v {
            Value::Null => Ok(false),
            v => v.to_bool().ok_or_else(|| arg_err(0, format!("element {j} is {}, not a bool", describe(v)))),
        })
        .collect()
}

fn alltrue(a: &[Value], _: &dyn Host) -> R {
    Ok(Value::Bool(bools(a)?.into_iter().all(|b| b)))
}

fn anytrue(a: &[Value], _: &dyn Host) -> R {
    Ok(Value::Bool(bools(a)?.into_iter().any(|b| b)))
}

fn chunklist(a: &[Value], _: &dyn Host) -> R {
    let l = &as_list(a, 0)?;
    let size = integer(a, 1)?;
    if size < 0 {
        return Err(arg_err(1, "the chunk size must not be negative"));
    }
    if size == 0 {
        return Ok(Value::list(vec![Value::list(l.to_vec())]));
    }
    Ok(Value::list(l.chunks(size as usize).map(|c| Value::list(c.to_vec())).collect()))
}

fn matchkeys(a: &[Value], _: &dyn Host) -> R {
    let (vals, ks, search) = (&as_list(a, 0)?, list(a, 1)?, list(a, 2)?);
    if vals.len() != ks.len() {
        return Err(arg_err(
            1,
            format!("there are {} values but {} keys: the lists must be as long as each other", vals.len(), ks.len()),
        ));
    }
    Ok(Value::list(vals.iter().zip(ks).filter(|(_, k)| search.contains(k)).map(|(v, _)| v.clone()).collect()))
}

fn transpose(a: &[Value], _: &dyn Host) -> R {
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (k, v) in object(a, 0)? {
        let Value::List(items) = v else {
            return Err(arg_err(0, format!("the value of \"{k}\" is {}, not a list of strings", describe(v))));
        };
        for (j, item) in items.iter().enumerate() {
            out.entry(element_string(item, 0, j)?).or_default().push(Value::String(k.clone()));
        }
    }
    Ok(Value::map(out.into_iter().map(|(k, v)| (k, Value::list(v))).collect()))
}

fn set(v: &[Value]) -> Vec<Value> {
    let mut out = v.to_vec();
    sort_dedup(&mut out);
    out
}

/// The arguments of a set function, their elements unified to one type
/// across all of them, as Terraform makes them sets of one element type
/// (`setunion(["b"], [1])` is `["1", "b"]`).
fn unified_sets(a: &[Value]) -> Result<Vec<Vec<Value>>, CallError> {
    let mut all = Vec::new();
    let mut lengths = Vec::with_capacity(a.len());
    for i in 0..a.len() {
        let l = list(a, i)?;
        lengths.push(l.len());
        all.extend(l.iter().cloned());
    }
    let mut all = crate::unify::unify_values(all)
        .ok_or_else(|| call_err("the given sets must all have compatible element types"))?
        .into_iter();
    Ok(lengths.into_iter().map(|n| all.by_ref().take(n).collect()).collect())
}

fn setunion(a: &[Value], _: &dyn Host) -> R {
    Ok(Value::set(unified_sets(a)?.concat()))
}

fn setintersection(a: &[Value], _: &dyn Host) -> R {
    let sets = unified_sets(a)?;
    let mut out = set(&sets[0]);
    for other in &sets[1..] {
        out.retain(|v| other.contains(v));
    }
    Ok(Value::set(out))
}

fn setsubtract(a: &[Value], _: &dyn Host) -> R {
    let sets = unified_sets(a)?;
    Ok(Value::set(set(&sets[0]).into_iter().filter(|v| !sets[1].contains(v)).collect()))
}

fn setproduct(a: &[Value], _: &dyn Host) -> R {
    if a.len() < 2 {
        return Err(call_err("setproduct() needs at least two collections"));
    }
    let mut out: Vec<Vec<Value>> = vec![vec![]];
    let mut size = 1usize;
    for i in 0..a.len() {
        let l = list(a, i)?;
        size = size.saturating_mul(l.len());
        if size > 100_000 {
            return Err(call_err("the product would have more than 100,000 elements"));
        }
        out = out
            .into_iter()
            .flat_map(|prefix| l.iter().map(move |v| [prefix.clone(), vec![v.clone()]].concat()))
            .collect();
    }
    // Of sets, a set of tuples; otherwise a list of them.
    let kind = if a.iter().all(Value::is_set) { SeqKind::Set } else { SeqKind::List };
    Ok(Value::seq(kind, out.into_iter().map(Value::tuple).collect()))
}

/// As cty's: a set of known elements keeps each unknown one beside them
/// (`toset([aws_security_group.a.id])` is a set of one element not yet
/// known, and a dynamic block over it makes one block); a collection unknown
/// as a whole is unknown.
fn toset(a: &[Value], _: &dyn Host) -> R {
    match &a[0] {
        Value::Null => return Ok(Value::Null),
        Value::Unknown => return Ok(Value::Unknown),
        _ => {}
    }
    let (unknown, known): (Vec<Value>, Vec<Value>) = as_list(a, 0)?.into_iter().partition(Value::contains_unknown);
    if unknown.is_empty() {
        return Ok(Value::set(known));
    }
    let mut items = known;
    crate::functions::sort_dedup(&mut items);
    items.extend(unknown);
    Ok(Value::List(crate::value::Items::new(crate::value::SeqKind::Set, items)))
}

fn tolist(a: &[Value], _: &dyn Host) -> R {
    if a[0].is_null() {
        return Ok(Value::Null);
    }
    Ok(Value::list(as_list(a, 0)?))
}

fn tomap(a: &[Value], _: &dyn Host) -> R {
    if a[0].is_null() {
        return Ok(Value::Null);
    }
    let m = object(a, 0)?;
    let values = crate::unify::unify_values(m.values().cloned().collect())
        .ok_or_else(|| arg_err(0, "cannot convert object to map of any single type"))?;
    Ok(Value::map(m.keys().cloned().zip(values).collect()))
}

fn tostring(a: &[Value], _: &dyn Host) -> R {
    match &a[0] {
        Value::Null => Ok(Value::Null),
        v => v
            .to_template_string()
            .map(Value::String)
            .ok_or_else(|| arg_err(0, format!("cannot convert {} to a string", describe(v)))),
    }
}

fn tonumber(a: &[Value], _: &dyn Host) -> R {
    match &a[0] {
        Value::Null => Ok(Value::Null),
        Value::Number(n) => Ok(Value::Number(n.clone())),
        Value::String(s) => crate::number::Number::parse(s)
            .map(Value::Number)
            .ok_or_else(|| arg_err(0, format!("cannot convert \"{s}\" to a number"))),
        v => Err(arg_err(0, format!("cannot convert {} to a number", describe(v)))),
    }
}

fn tobool(a: &[Value], _: &dyn Host) -> R {
    match &a[0] {
        Value::Null => Ok(Value::Null),
        v => v.to_bool().map(Value::Bool).ok_or_else(|| arg_err(0, format!("cannot convert {v} to a bool"))),
    }
}

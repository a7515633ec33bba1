//! Values: what expressions evaluate to, including "unknown until apply" and
//! "sensitive" marks that every operator and function carries along.

use std::collections::BTreeMap;
use std::fmt::{self, Write};
use std::ops::{Deref, DerefMut};

pub use crate::number::Number;

/// Which of Terraform's sequence types a [`Value::List`] is: a tuple (what
/// `[…]` and `[for …]` make), a list (`tolist`, `list(T)`) or a set (`toset`,
/// `set(T)`: sorted, without duplicates, and without indices).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SeqKind {
    #[default]
    Tuple,
    List,
    Set,
}

/// Which of Terraform's key-value types a [`Value::Object`] is: an object
/// (what `{…}` and `{for …}` make) or a map (`tomap`, `map(T)`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum MapKind {
    #[default]
    Object,
    Map,
}

/// The elements of a [`Value::List`] and which kind of sequence it is. It
/// reads as the `Vec` it holds; `==` on it compares the elements only (as
/// the engine compares state with configuration), while the language's `==`
/// also compares kinds (`Value::equals`).
#[derive(Clone, Debug, Default)]
pub struct Items {
    pub kind: SeqKind,
    pub items: Vec<Value>,
    /// A list's or set's element type when it has no element to tell it
    /// (`keys` of an empty map is a list of strings, `tolist([])` a list of
    /// any type).
    pub elem: Option<Box<crate::unify::Shape>>,
}

/// The attributes of a [`Value::Object`] and whether it is an object or a map.
#[derive(Clone, Debug, Default)]
pub struct Fields {
    pub kind: MapKind,
    pub fields: BTreeMap<String, Value>,
    /// A map's element type when it has no element to tell it.
    pub elem: Option<Box<crate::unify::Shape>>,
}

impl Items {
    fn typed_like(mut self, v: &Value) -> Items {
        if let Value::List(l) = v {
            self.elem = l.elem.clone();
        }
        self
    }

    pub fn new(kind: SeqKind, items: Vec<Value>) -> Items {
        Items { kind, items, elem: None }
    }
    pub fn into_vec(self) -> Vec<Value> {
        self.items
    }
}

impl Fields {
    fn typed_like(mut self, v: &Value) -> Fields {
        if let Value::Object(m) = v {
            self.elem = m.elem.clone();
        }
        self
    }

    pub fn new(kind: MapKind, fields: BTreeMap<String, Value>) -> Fields {
        Fields { kind, fields, elem: None }
    }
    pub fn into_map(self) -> BTreeMap<String, Value> {
        self.fields
    }
}

impl PartialEq for Items {
    fn eq(&self, other: &Items) -> bool {
        self.items == other.items
    }
}

impl PartialEq for Fields {
    fn eq(&self, other: &Fields) -> bool {
        self.fields == other.fields
    }
}

impl Deref for Items {
    type Target = Vec<Value>;
    fn deref(&self) -> &Vec<Value> {
        &self.items
    }
}

impl DerefMut for Items {
    fn deref_mut(&mut self) -> &mut Vec<Value> {
        &mut self.items
    }
}

impl Deref for Fields {
    type Target = BTreeMap<String, Value>;
    fn deref(&self) -> &BTreeMap<String, Value> {
        &self.fields
    }
}

impl DerefMut for Fields {
    fn deref_mut(&mut self) -> &mut BTreeMap<String, Value> {
        &mut self.fields
    }
}

impl From<Vec<Value>> for Items {
    fn from(items: Vec<Value>) -> Items {
        Items::new(SeqKind::Tuple, items)
    }
}

impl From<BTreeMap<String, Value>> for Fields {
    fn from(fields: BTreeMap<String, Value>) -> Fields {
        Fields::new(MapKind::Object, fields)
    }
}

impl<const N: usize> From<[(String, Value); N]> for Fields {
    fn from(fields: [(String, Value); N]) -> Fields {
        Fields::from(BTreeMap::from(fields))
    }
}

impl FromIterator<Value> for Items {
    fn from_iter<I: IntoIterator<Item = Value>>(iter: I) -> Items {
        Items::from(iter.into_iter().collect::<Vec<_>>())
    }
}

impl FromIterator<(String, Value)> for Fields {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Fields {
        Fields::from(iter.into_iter().collect::<BTreeMap<_, _>>())
    }
}

impl IntoIterator for Items {
    type Item = Value;
    type IntoIter = std::vec::IntoIter<Value>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl<'a> IntoIterator for &'a Items {
    type Item = &'a Value;
    type IntoIter = std::slice::Iter<'a, Value>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

impl<'a> IntoIterator for &'a mut Items {
    type Item = &'a mut Value;
    type IntoIter = std::slice::IterMut<'a, Value>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter_mut()
    }
}

impl IntoIterator for Fields {
    type Item = (String, Value);
    type IntoIter = std::collections::btree_map::IntoIter<String, Value>;
    fn into_iter(self) -> Self::IntoIter {
        self.fields.into_iter()
    }
}

impl<'a> IntoIterator for &'a Fields {
    type Item = (&'a String, &'a Value);
    type IntoIter = std::collections::btree_map::Iter<'a, String, Value>;
    fn into_iter(self) -> Self::IntoIter {
        self.fields.iter()
    }
}

impl<'a> IntoIterator for &'a mut Fields {
    type Item = (&'a String, &'a mut Value);
    type IntoIter = std::collections::btree_map::IterMut<'a, String, Value>;
    fn into_iter(self) -> Self::IntoIter {
        self.fields.iter_mut()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    /// Milliseconds.
    Duration(u64),
    Percent(f64),
    /// A tuple, list or set (`Items::kind`).
    List(Items),
    /// An object or a map (`Fields::kind`); keys are kept sorted.
    Object(Fields),
    /// Known only after apply.
    Unknown,
    /// A value that must never be shown.
    Sensitive(Box<Value>),
}

/// The largest value an expression may build, in bytes of text plus 16 per
/// element: doubling a string or a list forty times must end in an error, not
/// in the machine running out of memory.
pub const MAX_VALUE_SIZE: usize = 64 << 20;

/// The deepest a value may nest (lists and objects in one another).
pub const MAX_VALUE_DEPTH: usize = 256;

impl Value {
    /// Why this value is over the limits, if it is. Walks without recursion
    /// and stops as soon as a limit is passed.
    pub fn over_limits(&self) -> Option<String> {
        let mut size = 0usize;
        let mut stack: Vec<(&Value, usize)> = vec![(self, 1)];
        while let Some((v, depth)) = stack.pop() {
            if depth > MAX_VALUE_DEPTH {
                return Some(format!("it nests lists and objects more than {MAX_VALUE_DEPTH} levels deep"));
            }
            size += 16;
            match v {
                Value::String(s) => size += s.len(),
                Value::List(items) => stack.extend(items.iter().map(|i| (i, depth + 1))),
                Value::Object(m) => {
                    for (k, i) in m {
                        size += k.len();
                        stack.push((i, depth + 1));
                    }
                }
                Value::Sensitive(inner) => stack.push((inner, depth)),
                _ => {}
            }
            if size > MAX_VALUE_SIZE {
                return Some(format!("it would be larger than {} MiB", MAX_VALUE_SIZE >> 20));
            }
        }
        None
    }

    /// The value's size as `over_limits` counts it, counted no further than `cap`.
    pub fn size_up_to(&self, cap: usize) -> usize {
        let mut size = 0usize;
        let mut stack = vec![self];
        while let Some(v) = stack.pop() {
            size += 16;
            match v {
                Value::String(s) => size += s.len(),
                Value::List(items) => stack.extend(items.iter()),
                Value::Object(m) => {
                    for (k, i) in m {
                        size += k.len();
                        stack.push(i);
                    }
                }
                Value::Sensitive(inner) => stack.push(inner),
                _ => {}
            }
            if size > cap {
                return size;
            }
        }
        size
    }

    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    /// A tuple: what `[…]` makes.
    pub fn tuple(items: Vec<Value>) -> Value {
        Value::List(Items::new(SeqKind::Tuple, items))
    }

    /// A list (its elements already of one type).
    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Items::new(SeqKind::List, items))
    }

    /// A set: the elements sorted, duplicates dropped.
    pub fn set(mut items: Vec<Value>) -> Value {
        crate::functions::sort_dedup(&mut items);
        Value::List(Items::new(SeqKind::Set, items))
    }

    /// A sequence of the given kind (a set sorted and without duplicates).
    pub fn seq(kind: SeqKind, items: Vec<Value>) -> Value {
        match kind {
            SeqKind::Set => Value::set(items),
            kind => Value::List(Items::new(kind, items)),
        }
    }

    /// An object: what `{…}` makes.
    pub fn object(fields: BTreeMap<String, Value>) -> Value {
        Value::Object(Fields::new(MapKind::Object, fields))
    }

    /// A map (its elements already of one type).
    pub fn map(fields: BTreeMap<String, Value>) -> Value {
        Value::Object(Fields::new(MapKind::Map, fields))
    }

    /// A list, set or map with `elem` as its element type, kept for when it
    /// has no elements (a tuple or object has none of its own).
    pub fn with_elem(mut self, elem: crate::unify::Shape) -> Value {
        match &mut self {
            Value::List(l) if l.kind != SeqKind::Tuple => l.elem = Some(Box::new(elem)),
            Value::Object(m) if m.kind == MapKind::Map => m.elem = Some(Box::new(elem)),
            _ => {}
        }
        self
    }

    /// The kind of sequence this is, if it is one (marks looked through).
    pub fn seq_kind(&self) -> Option<SeqKind> {
        match self.unmark().0 {
            Value::List(l) => Some(l.kind),
            _ => None,
        }
    }

    /// The key and element of each element, as `for` iterates: a list's or
    /// tuple's index, a map's or object's key, and a set's element itself
    /// (it has no other key). `None` for what is not a collection.
    pub fn iter_pairs(&self) -> Option<Vec<(Value, Value)>> {
        Some(match self {
            Value::List(l) if l.kind == SeqKind::Set => l.iter().map(|v| (v.clone(), v.clone())).collect(),
            Value::List(l) => l.iter().enumerate().map(|(i, v)| (Value::from(i), v.clone())).collect(),
            Value::Object(m) => m.iter().map(|(k, v)| (Value::String(k.clone()), v.clone())).collect(),
            _ => return None,
        })
    }

    /// True for a set (marks looked through).
    pub fn is_set(&self) -> bool {
        self.seq_kind() == Some(SeqKind::Set)
    }

    /// Mark a value that came from a secret: hidden, and its text remembered
    /// so that output redacts it wherever it turns up (`crate::secrets`).
    pub fn secret(self) -> Value {
        crate::secrets::remember(&self);
        self.sensitive()
    }

    /// Mark a value hidden from display (without taking its text for a secret).
    pub fn sensitive(self) -> Value {
        match self {
            Value::Sensitive(_) => self,
            v => Value::Sensitive(Box::new(v)),
        }
    }

    /// The value without its top-level sensitive mark, and whether it had one.
    pub fn unmark(&self) -> (&Value, bool) {
        match self {
            Value::Sensitive(inner) => (inner.unmark().0, true),
            v => (v, false),
        }
    }

    /// A copy with every sensitive mark removed, and whether there was any.
    pub fn unmark_deep(&self) -> (Value, bool) {
        match self {
            Value::Sensitive(inner) => (inner.unmark_deep().0, true),
            Value::List(items) => {
                let mut any = false;
                let items = items
                    .iter()
                    .map(|v| {
                        let (v, s) = v.unmark_deep();
                        any |= s;
                        v
                    })
                    .collect();
                (Value::List(Items { items, ..Items::new(items_kind(self), Vec::new()) }.typed_like(self)), any)
            }
            Value::Object(map) => {
                let mut any = false;
                let map = map
                    .iter()
                    .map(|(k, v)| {
                        let (v, s) = v.unmark_deep();
                        any |= s;
                        (k.clone(), v)
                    })
                    .collect();
                (
                    Value::Object(
                        Fields { fields: map, ..Fields::new(fields_kind(self), BTreeMap::new()) }.typed_like(self),
                    ),
                    any,
                )
            }
            v => (v.clone(), false),
        }
    }

    pub fn is_sensitive(&self) -> bool {
        matches!(self, Value::Sensitive(_))
    }

    /// True when this value, or anything inside it, is marked sensitive.
    pub fn contains_sensitive(&self) -> bool {
        match self {
            Value::Sensitive(_) => true,
            Value::List(items) => items.iter().any(Value::contains_sensitive),
            Value::Object(map) => map.values().any(Value::contains_sensitive),
            _ => false,
        }
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self.unmark().0, Value::Unknown)
    }

    /// True when this value, or anything inside it, is unknown.
    pub fn contains_unknown(&self) -> bool {
        match self {
            Value::Unknown => true,
            Value::Sensitive(v) => v.contains_unknown(),
            Value::List(items) => items.iter().any(Value::contains_unknown),
            Value::Object(map) => map.values().any(Value::contains_unknown),
            _ => false,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.unmark().0, Value::Null)
    }

    /// The name of this value's type, as the user writes it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Duration(_) => "duration",
            Value::Percent(_) => "percent",
            Value::List(l) if l.kind == SeqKind::Set => "set",
            Value::List(_) => "list",
            Value::Object(m) if m.kind == MapKind::Map => "map",
            Value::Object(_) => "object",
            Value::Unknown => "unknown",
            Value::Sensitive(v) => v.type_name(),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self.unmark().0 {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// A bool, or a string Terraform converts to one (`"true"`, `"false"`):
    /// what a condition, `!`, `&&`, `||` and a bool argument accept.
    pub fn to_bool(&self) -> Option<bool> {
        match self.unmark().0 {
            Value::Bool(b) => Some(*b),
            Value::String(s) if s == "true" => Some(true),
            Value::String(s) if s == "false" => Some(false),
            _ => None,
        }
    }

    /// A number as f64 (counts, weights, thresholds: where Landform needs no more).
    pub fn as_number(&self) -> Option<f64> {
        match self.unmark().0 {
            Value::Number(n) => Some(n.to_f64()),
            _ => None,
        }
    }

    pub fn as_num(&self) -> Option<&Number> {
        match self.unmark().0 {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }

    /// What a float computation gives; NaN is null.
    pub fn float(f: f64) -> Value {
        Number::from_f64(f).map_or(Value::Null, Value::Number)
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        match self.unmark().0 {
            Value::Object(m) => m.get(key),
            _ => None,
        }
    }

    /// The text a value has inside a string template, if it has one.
    pub fn to_template_string(&self) -> Option<String> {
        match self {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.text()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Duration(ms) => Some(format_duration(*ms)),
            Value::Percent(p) => Some(format!("{}%", format_number(*p))),
            _ => None,
        }
    }

    /// Convert to JSON; unknown becomes null, sensitive values are kept (the caller hides them).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null | Value::Unknown => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => number_to_json(n),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::Duration(ms) => serde_json::Value::String(format_duration(*ms)),
            Value::Percent(p) => serde_json::Value::String(format!("{}%", format_number(*p))),
            Value::List(items) => serde_json::Value::Array(items.iter().map(Value::to_json).collect()),
            Value::Object(m) => serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()),
            Value::Sensitive(v) => v.to_json(),
        }
    }

    pub fn from_json(j: &serde_json::Value) -> Value {
        match j {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Number::parse(n.as_str()).map_or(Value::Null, Value::Number),
            serde_json::Value::String(s) => Value::String(s.clone()),
            serde_json::Value::Array(a) => Value::tuple(a.iter().map(Value::from_json).collect()),
            serde_json::Value::Object(o) => {
                Value::object(o.iter().map(|(k, v)| (k.clone(), Value::from_json(v))).collect())
            }
        }
    }
}

fn items_kind(v: &Value) -> SeqKind {
    match v {
        Value::List(l) => l.kind,
        _ => SeqKind::Tuple,
    }
}

fn fields_kind(v: &Value) -> MapKind {
    match v {
        Value::Object(m) => m.kind,
        _ => MapKind::Object,
    }
}

/// A number as Terraform writes it in JSON: every digit, no exponent
/// (infinity has no JSON: null).
fn number_to_json(n: &Number) -> serde_json::Value {
    if n.is_infinite() {
        return serde_json::Value::Null;
    }
    if n.is_zero() {
        // Terraform's values pass through msgpack, where -0 is the integer 0.
        return serde_json::Value::from(0);
    }
    n.json_text().parse::<serde_json::Number>().map_or(serde_json::Value::Null, serde_json::Value::Number)
}

/// A percentage's number as people write it (Landform's own type, in
/// binary floating point, shown to 15 significant digits).
pub fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        return format!("{}", n as i64);
    }
    if !n.is_finite() {
        return format!("{n}");
    }
    let rounded: f64 = format!("{n:.14e}").parse().unwrap_or(n);
    format!("{rounded}")
}

/// `5400000` → `1h30m`.
pub fn format_duration(ms: u64) -> String {
    if ms == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    let mut rest = ms;
    for (unit, size) in [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)] {
        if rest >= size {
            let _ = write!(out, "{}{unit}", rest / size);
            rest %= size;
        }
    }
    out
}

impl From<usize> for Value {
    fn from(i: usize) -> Value {
        Value::Number(Number::from_usize(i))
    }
}

impl From<u64> for Value {
    fn from(i: u64) -> Value {
        Value::Number(Number::from_u64(i))
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Number(Number::from_i64(i))
    }
}

/// Literal syntax for a value, as plan output and golden tests show it.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => f.write_str(&n.json_text()),
            Value::String(s) => write!(f, "{}", quote(s)),
            Value::Duration(ms) => f.write_str(&format_duration(*ms)),
            Value::Percent(p) => write!(f, "{}%", format_number(*p)),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Value::Object(m) => {
                if m.is_empty() {
                    return f.write_str("{}");
                }
                f.write_str("{ ")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    if is_identifier(k) {
                        write!(f, "{k} = {v}")?;
                    } else {
                        write!(f, "{} = {v}", quote(k))?;
                    }
                }
                f.write_str(" }")
            }
            Value::Unknown => f.write_str("(known after apply)"),
            Value::Sensitive(_) => f.write_str("(sensitive value)"),
        }
    }
}

pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A string in Landform's quoted syntax.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out.replace("${", "$${")
}

//! Values: what expressions evaluate to, including "unknown until apply" and
//! "sensitive" marks that every operator and function carries along.

use std::collections::BTreeMap;
use std::fmt::{self, Write};

pub use crate::number::Number;

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    /// Milliseconds.
    Duration(u64),
    Percent(f64),
    List(Vec<Value>),
    /// Objects and maps alike; keys are kept sorted.
    Object(BTreeMap<String, Value>),
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
                (Value::List(items), any)
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
                (Value::Object(map), any)
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
            Value::List(_) => "list",
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
            serde_json::Value::Array(a) => Value::List(a.iter().map(Value::from_json).collect()),
            serde_json::Value::Object(o) => {
                Value::Object(o.iter().map(|(k, v)| (k.clone(), Value::from_json(v))).collect())
            }
        }
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

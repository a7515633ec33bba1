//! The standard library. Functions are pure: the two that read the outside world
//! (`file`, `env`) go through the [`Host`], and `timestamp`/`uuid` are unknown
//! until the host supplies them at apply time.

use crate::eval::Host;
use crate::value::{format_number, Value};
use base64::Engine as _;
use std::collections::BTreeMap;

/// Every function name, for "did you mean".
pub const NAMES: &[&str] = &[
    "abs",
    "base64decode",
    "base64encode",
    "can",
    "ceil",
    "coalesce",
    "concat",
    "contains",
    "distinct",
    "element",
    "endswith",
    "env",
    "file",
    "flatten",
    "floor",
    "format",
    "join",
    "jsondecode",
    "jsonencode",
    "keys",
    "length",
    "lookup",
    "lower",
    "max",
    "md5",
    "merge",
    "min",
    "range",
    "regex",
    "replace",
    "sha256",
    "split",
    "startswith",
    "substr",
    "timestamp",
    "tobool",
    "tolist",
    "tomap",
    "tonumber",
    "toset",
    "tostring",
    "trimspace",
    "try",
    "upper",
    "uuid",
    "values",
];

/// How many arguments a function takes: (least, most); `None` for no upper bound.
pub fn arity(name: &str) -> Option<(usize, Option<usize>)> {
    Some(match name {
        "timestamp" | "uuid" => (0, Some(0)),
        "length" | "keys" | "values" | "flatten" | "distinct" | "toset" | "tolist" | "tomap" | "tostring"
        | "tonumber" | "tobool" | "lower" | "upper" | "trimspace" | "abs" | "ceil" | "floor" | "file"
        | "jsonencode" | "jsondecode" | "base64encode" | "base64decode" | "sha256" | "md5" | "can" => (1, Some(1)),
        "contains" | "element" | "split" | "startswith" | "endswith" | "regex" => (2, Some(2)),
        "replace" | "substr" => (3, Some(3)),
        "lookup" => (2, Some(3)),
        "range" => (1, Some(3)),
        "env" => (1, Some(2)),
        "join" => (2, None),
        "concat" | "merge" => (0, None),
        "format" | "min" | "max" | "coalesce" | "try" => (1, None),
        _ => return None,
    })
}

/// Why a call failed: which argument (if one), and what to say.
pub struct CallError {
    pub arg: Option<usize>,
    pub message: String,
}

fn arg_err(arg: usize, message: impl Into<String>) -> CallError {
    CallError { arg: Some(arg), message: message.into() }
}

fn call_err(message: impl Into<String>) -> CallError {
    CallError { arg: None, message: message.into() }
}

/// Call a function on evaluated arguments (arity already checked).
pub fn call(name: &str, args: &[Value], host: &dyn Host) -> Result<Value, CallError> {
    let mut sensitive = false;
    let plain: Vec<Value> = args
        .iter()
        .map(|a| {
            let (v, s) = a.unmark_deep();
            sensitive |= s;
            v
        })
        .collect();
    let out = call_plain(name, &plain, host)?;
    Ok(if sensitive { out.secret() } else { out })
}

fn call_plain(name: &str, a: &[Value], host: &dyn Host) -> Result<Value, CallError> {
    // Functions of a collection's shape stay known when only elements are unknown.
    if name == "length" {
        return match &a[0] {
            Value::List(l) => Ok(num(l.len())),
            Value::Object(m) => Ok(num(m.len())),
            Value::String(s) => Ok(num(s.chars().count())),
            Value::Unknown => Ok(Value::Unknown),
            other => Err(arg_err(0, format!("length() takes a list, map or string, not a {}", other.type_name()))),
        };
    }
    if name == "timestamp" {
        return Ok(host.timestamp().map(Value::String).unwrap_or(Value::Unknown));
    }
    if name == "uuid" {
        return Ok(host.uuid().map(Value::String).unwrap_or(Value::Unknown));
    }
    // Check the kinds of the known arguments before giving up on unknown ones.
    check_kinds(name, a)?;
    if let ("format", Some(Value::String(spec))) = (name, a.first()) {
        check_format(spec, a.len() - 1)?;
    }
    if a.iter().any(Value::contains_unknown) {
        return Ok(Value::Unknown);
    }
    Ok(match name {
        "contains" => Value::Bool(list(a, 0)?.iter().any(|v| v == &a[1])),
        "concat" => {
            let mut out = Vec::new();
            for i in 0..a.len() {
                out.extend(list(a, i)?.iter().cloned());
            }
            Value::List(out)
        }
        "merge" => {
            let mut out = BTreeMap::new();
            for (i, v) in a.iter().enumerate() {
                match v {
                    Value::Null => {}
                    Value::Object(m) => out.extend(m.clone()),
                    other => {
                        return Err(arg_err(i, format!("merge() takes maps or objects, not a {}", other.type_name())))
                    }
                }
            }
            Value::Object(out)
        }
        "keys" => Value::List(object(a, 0)?.keys().map(|k| Value::String(k.clone())).collect()),
        "values" => Value::List(object(a, 0)?.values().cloned().collect()),
        "lookup" => {
            let m = object(a, 0)?;
            let k = string(a, 1)?;
            match (m.get(k), a.get(2)) {
                (Some(v), _) => v.clone(),
                (None, Some(d)) => d.clone(),
                (None, None) => {
                    return Err(arg_err(1, format!("the map has no element \"{k}\" and no default was given")))
                }
            }
        }
        "element" => {
            let l = list(a, 0)?;
            if l.is_empty() {
                return Err(arg_err(0, "element() cannot use an empty list"));
            }
            let i = integer(a, 1)?;
            if i < 0 {
                return Err(arg_err(1, "the index must not be negative"));
            }
            l[(i as usize) % l.len()].clone()
        }
        "flatten" => {
            fn flat(v: &[Value], out: &mut Vec<Value>) {
                for x in v {
                    match x {
                        Value::List(inner) => flat(inner, out),
                        other => out.push(other.clone()),
                    }
                }
            }
            let mut out = Vec::new();
            flat(list(a, 0)?, &mut out);
            Value::List(out)
        }
        "distinct" => {
            let mut out: Vec<Value> = Vec::new();
            for v in list(a, 0)? {
                if !out.contains(v) {
                    out.push(v.clone());
                }
            }
            Value::List(out)
        }
        "toset" => {
            let mut out = list(a, 0)?.to_vec();
            sort_dedup(&mut out);
            Value::List(out)
        }
        "tolist" => Value::List(list(a, 0)?.to_vec()),
        "tomap" => Value::Object(object(a, 0)?.clone()),
        "tostring" => match &a[0] {
            Value::Null => Value::Null,
            v => Value::String(
                v.to_template_string()
                    .ok_or_else(|| arg_err(0, format!("cannot convert a {} to a string", v.type_name())))?,
            ),
        },
        "tonumber" => match &a[0] {
            Value::Null => Value::Null,
            Value::Number(n) => Value::Number(*n),
            Value::String(s) => {
                Value::Number(s.trim().parse().map_err(|_| arg_err(0, format!("cannot convert \"{s}\" to a number")))?)
            }
            v => return Err(arg_err(0, format!("cannot convert a {} to a number", v.type_name()))),
        },
        "tobool" => match &a[0] {
            Value::Null => Value::Null,
            Value::Bool(b) => Value::Bool(*b),
            Value::String(s) if s == "true" => Value::Bool(true),
            Value::String(s) if s == "false" => Value::Bool(false),
            v => return Err(arg_err(0, format!("cannot convert {v} to a bool"))),
        },
        "join" => {
            let sep = string(a, 0)?;
            let mut parts = Vec::new();
            for i in 1..a.len() {
                for (j, v) in list(a, i)?.iter().enumerate() {
                    parts.push(
                        v.to_template_string()
                            .ok_or_else(|| arg_err(i, format!("element {j} is a {}, not a string", v.type_name())))?,
                    );
                }
            }
            Value::String(parts.join(sep))
        }
        "split" => {
            let sep = string(a, 0)?;
            let s = string(a, 1)?;
            if s.is_empty() {
                Value::List(vec![])
            } else if sep.is_empty() {
                Value::List(s.chars().map(|c| Value::String(c.to_string())).collect())
            } else {
                Value::List(s.split(sep).map(Value::string).collect())
            }
        }
        "format" => Value::String(format(string(a, 0)?, &a[1..])?),
        "replace" => {
            let (s, from, to) = (string(a, 0)?, string(a, 1)?, string(a, 2)?);
            if from.len() > 2 && from.starts_with('/') && from.ends_with('/') {
                let re = regex::Regex::new(&from[1..from.len() - 1])
                    .map_err(|e| arg_err(1, format!("invalid regular expression: {e}")))?;
                Value::String(re.replace_all(s, to.replace("$", "$$").as_str()).into_owned())
            } else if from.is_empty() {
                Value::String(s.to_string())
            } else {
                let grown = s.matches(from).count().saturating_mul(to.len());
                if grown > crate::value::MAX_VALUE_SIZE {
                    return Err(call_err(format!(
                        "the result would be larger than {} MiB",
                        crate::value::MAX_VALUE_SIZE >> 20
                    )));
                }
                Value::String(s.replace(from, to))
            }
        }
        "lower" => Value::String(string(a, 0)?.to_lowercase()),
        "upper" => Value::String(string(a, 0)?.to_uppercase()),
        "trimspace" => Value::String(string(a, 0)?.trim().to_string()),
        "substr" => {
            let s: Vec<char> = string(a, 0)?.chars().collect();
            let len = s.len() as i64;
            let mut off = integer(a, 1)?;
            if off < 0 {
                off += len;
            }
            let off = off.clamp(0, len) as usize;
            let n = integer(a, 2)?;
            let end = if n < 0 { s.len() } else { (off + n as usize).min(s.len()) };
            Value::String(s[off..end].iter().collect())
        }
        "startswith" => Value::Bool(string(a, 0)?.starts_with(string(a, 1)?)),
        "endswith" => Value::Bool(string(a, 0)?.ends_with(string(a, 1)?)),
        "regex" => {
            let re =
                regex::Regex::new(string(a, 0)?).map_err(|e| arg_err(0, format!("invalid regular expression: {e}")))?;
            let s = string(a, 1)?;
            let caps = re.captures(s).ok_or_else(|| arg_err(1, "the pattern did not match the string"))?;
            if re.captures_len() == 1 {
                Value::String(caps[0].to_string())
            } else if re.capture_names().flatten().next().is_some() {
                Value::Object(
                    re.capture_names()
                        .flatten()
                        .map(|n| {
                            (n.to_string(), caps.name(n).map(|m| Value::string(m.as_str())).unwrap_or(Value::Null))
                        })
                        .collect(),
                )
            } else {
                Value::List(
                    caps.iter().skip(1).map(|m| m.map(|m| Value::string(m.as_str())).unwrap_or(Value::Null)).collect(),
                )
            }
        }
        "min" | "max" => {
            let mut best = a[0].clone();
            for (i, v) in a.iter().enumerate().skip(1) {
                let ord = compare(v, &best).ok_or_else(|| {
                    arg_err(i, format!("cannot compare a {} with a {}", v.type_name(), best.type_name()))
                })?;
                if (name == "min" && ord.is_lt()) || (name == "max" && ord.is_gt()) {
                    best = v.clone();
                }
            }
            best
        }
        "abs" => Value::Number(number(a, 0)?.abs()),
        "ceil" => Value::Number(number(a, 0)?.ceil()),
        "floor" => Value::Number(number(a, 0)?.floor()),
        "range" => {
            let nums: Vec<f64> = (0..a.len()).map(|i| number(a, i)).collect::<Result<_, _>>()?;
            let (start, limit, step) = match nums.as_slice() {
                [l] => (0.0, *l, 1.0),
                [s, l] => (*s, *l, if l >= s { 1.0 } else { -1.0 }),
                [s, l, st] => (*s, *l, *st),
                _ => (0.0, 0.0, 1.0),
            };
            if step == 0.0 {
                return Err(arg_err(2, "the step must not be zero"));
            }
            let count = ((limit - start) / step).ceil().max(0.0);
            if count.is_nan() || count > 1024.0 {
                return Err(call_err("range() would make more than 1024 elements"));
            }
            Value::List((0..count as usize).map(|i| Value::Number(start + step * i as f64)).collect())
        }
        "coalesce" => a
            .iter()
            .find(|v| !v.is_null() && v.as_str() != Some(""))
            .cloned()
            .ok_or_else(|| call_err("every argument is null or an empty string"))?,
        "file" => Value::String(host.read_file(string(a, 0)?).map_err(|e| arg_err(0, e))?),
        "env" => {
            let var = string(a, 0)?;
            match (host.env(var), a.get(1)) {
                (Some(v), _) => Value::String(v),
                (None, Some(d)) => d.clone(),
                (None, None) => {
                    return Err(arg_err(
                        0,
                        format!("the environment variable {var} is not set; give a default as env(\"{var}\", \"…\")"),
                    ))
                }
            }
        }
        "jsonencode" => Value::String(serde_json::to_string(&a[0].to_json()).unwrap_or_default()),
        "jsondecode" => {
            let j: serde_json::Value = serde_json::from_str(string(a, 0)?)
                .map_err(|e| arg_err(0, format!("the string is not valid JSON: {e}")))?;
            Value::from_json(&j)
        }
        "base64encode" => Value::String(base64::engine::general_purpose::STANDARD.encode(string(a, 0)?)),
        "base64decode" => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(string(a, 0)?)
                .map_err(|e| arg_err(0, format!("the string is not valid base64: {e}")))?;
            Value::String(String::from_utf8(bytes).map_err(|_| arg_err(0, "the decoded bytes are not UTF-8 text"))?)
        }
        "sha256" => {
            use sha2::Digest;
            Value::String(hex(&sha2::Sha256::digest(string(a, 0)?.as_bytes())))
        }
        "md5" => {
            use md5::Digest;
            Value::String(hex(&md5::Md5::digest(string(a, 0)?.as_bytes())))
        }
        other => return Err(call_err(format!("there is no function named {other}"))),
    })
}

/// Type checks on arguments that are already known, so that `length(1)` is an
/// error even while other arguments are unknown.
fn check_kinds(name: &str, a: &[Value]) -> Result<(), CallError> {
    let want = |i: usize, ok: fn(&Value) -> bool, what: &str| -> Result<(), CallError> {
        match a.get(i) {
            Some(v) if !v.contains_unknown() && !ok(v) => {
                Err(arg_err(i, format!("{name}() needs {what} here, not {}", describe(v))))
            }
            _ => Ok(()),
        }
    };
    let is_list = |v: &Value| matches!(v, Value::List(_));
    let is_obj = |v: &Value| matches!(v, Value::Object(_));
    let is_str = |v: &Value| matches!(v, Value::String(_));
    let is_num = |v: &Value| matches!(v, Value::Number(_));
    match name {
        "contains" | "element" | "flatten" | "distinct" | "toset" | "tolist" => want(0, is_list, "a list"),
        "concat" => (0..a.len()).try_for_each(|i| want(i, is_list, "a list")),
        "keys" | "values" | "lookup" | "tomap" => want(0, is_obj, "a map"),
        "join" => {
            want(0, is_str, "a string")?;
            (1..a.len()).try_for_each(|i| want(i, is_list, "a list"))
        }
        "split" | "startswith" | "endswith" | "regex" => {
            want(0, is_str, "a string")?;
            want(1, is_str, "a string")
        }
        "replace" => (0..3).try_for_each(|i| want(i, is_str, "a string")),
        "substr" => {
            want(0, is_str, "a string")?;
            want(1, is_num, "a number")?;
            want(2, is_num, "a number")
        }
        "lower" | "upper" | "trimspace" | "file" | "jsondecode" | "base64encode" | "base64decode" | "sha256"
        | "md5" | "format" | "env" => want(0, is_str, "a string"),
        "abs" | "ceil" | "floor" => want(0, is_num, "a number"),
        "range" => (0..a.len()).try_for_each(|i| want(i, is_num, "a number")),
        _ => Ok(()),
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::String(s) if s.chars().count() <= 30 => format!("the string \"{s}\""),
        Value::Number(n) => format!("the number {}", format_number(*n)),
        Value::Null => "null".to_string(),
        other => format!("a {}", other.type_name()),
    }
}

fn num(n: usize) -> Value {
    Value::Number(n as f64)
}

fn list(a: &[Value], i: usize) -> Result<&[Value], CallError> {
    match &a[i] {
        Value::List(l) => Ok(l),
        v => Err(arg_err(i, format!("a list is required, not {}", describe(v)))),
    }
}

fn object(a: &[Value], i: usize) -> Result<&BTreeMap<String, Value>, CallError> {
    match &a[i] {
        Value::Object(m) => Ok(m),
        v => Err(arg_err(i, format!("a map is required, not {}", describe(v)))),
    }
}

fn string(a: &[Value], i: usize) -> Result<&str, CallError> {
    match &a[i] {
        Value::String(s) => Ok(s),
        v => Err(arg_err(i, format!("a string is required, not {}", describe(v)))),
    }
}

fn number(a: &[Value], i: usize) -> Result<f64, CallError> {
    match &a[i] {
        Value::Number(n) => Ok(*n),
        Value::String(s) => s.parse().map_err(|_| arg_err(i, format!("a number is required, not the string \"{s}\""))),
        v => Err(arg_err(i, format!("a number is required, not {}", describe(v)))),
    }
}

fn integer(a: &[Value], i: usize) -> Result<i64, CallError> {
    let n = number(a, i)?;
    if n.fract() != 0.0 {
        return Err(arg_err(i, format!("a whole number is required, not {}", format_number(n))));
    }
    Ok(n as i64)
}

/// Order of two values of one kind: numbers, durations, percentages, strings.
pub fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) | (Value::Percent(x), Value::Percent(y)) => x.partial_cmp(y),
        (Value::Duration(x), Value::Duration(y)) => Some(x.cmp(y)),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// Sort and remove duplicates, as a set of strings iterates.
pub fn sort_dedup(items: &mut Vec<Value>) {
    items.sort_by(|a, b| compare(a, b).unwrap_or_else(|| a.to_string().cmp(&b.to_string())));
    items.dedup();
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The widest field and the longest precision `format` accepts: wider would
/// only build huge strings.
const MAX_FORMAT_WIDTH: usize = 1024;

/// One `%` verb's flags, width and precision.
#[derive(Default)]
struct Spec {
    minus: bool,
    plus: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    precision: Option<usize>,
}

impl Spec {
    /// Pad `body` to the width: spaces on the left (or right, with `-`), or
    /// zeros after the sign for numbers with `0`.
    fn pad(&self, body: String, numeric: bool) -> String {
        let Some(w) = self.width else { return body };
        let len = body.chars().count();
        if len >= w {
            return body;
        }
        let fill = w - len;
        if self.minus {
            body + &" ".repeat(fill)
        } else if self.zero && numeric {
            let sign_len = usize::from(body.starts_with(['-', '+', ' ']));
            format!("{}{}{}", &body[..sign_len], "0".repeat(fill), &body[sign_len..])
        } else {
            " ".repeat(fill) + &body
        }
    }

    fn sign(&self, n: f64, digits: String) -> String {
        if n.is_sign_negative() && !digits.starts_with('-') && n != 0.0 {
            format!("-{digits}")
        } else if !digits.starts_with('-') && self.plus {
            format!("+{digits}")
        } else if !digits.starts_with('-') && self.space {
            format!(" {digits}")
        } else {
            digits
        }
    }
}

/// A format string, read: text, and verbs with their flags.
enum Piece {
    Text(String),
    Verb(Spec, char),
}

const VERBS: &str = "vtdfeEgGsqxXob";

/// Read a format string: `%[flags][width][.precision]verb` with the flags
/// `-+ 0` and the verbs `v t d f e g s q x X o b`, and `%%`.
fn directives(spec: &str) -> Result<Vec<Piece>, CallError> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut chars = spec.chars().peekable();
    let digits = |chars: &mut std::iter::Peekable<std::str::Chars>, what: &str| -> Result<Option<usize>, CallError> {
        let d: String = std::iter::from_fn(|| chars.next_if(char::is_ascii_digit)).collect();
        if d.is_empty() {
            return Ok(None);
        }
        match d.parse::<usize>() {
            Ok(n) if n <= MAX_FORMAT_WIDTH => Ok(Some(n)),
            _ => Err(arg_err(0, format!("the {what} {d} is too large; at most {MAX_FORMAT_WIDTH} is allowed"))),
        }
    };
    while let Some(c) = chars.next() {
        if c != '%' {
            text.push(c);
            continue;
        }
        let mut f = Spec::default();
        while let Some(flag) = chars.next_if(|c| matches!(c, '-' | '+' | ' ' | '0' | '#')) {
            match flag {
                '-' => f.minus = true,
                '+' => f.plus = true,
                ' ' => f.space = true,
                '0' => f.zero = true,
                _ => {}
            }
        }
        f.width = digits(&mut chars, "width")?;
        if chars.next_if_eq(&'.').is_some() {
            f.precision = Some(digits(&mut chars, "precision")?.unwrap_or(0));
        }
        match chars.next() {
            None => return Err(arg_err(0, "the format ends in the middle of a verb")),
            Some('%') => text.push('%'),
            Some(v) if VERBS.contains(v) => {
                out.push(Piece::Text(std::mem::take(&mut text)));
                out.push(Piece::Verb(f, v));
            }
            Some(other) => {
                return Err(arg_err(
                    0,
                    format!("unsupported format verb %{other}; use %v, %s, %q, %d, %f, %e, %g, %t, %x, %o, %b or %%"),
                ))
            }
        }
    }
    out.push(Piece::Text(text));
    Ok(out)
}

/// Check a format string against the number of values given, before the
/// values are known (so that validate finds a bad one).
fn check_format(spec: &str, values: usize) -> Result<(), CallError> {
    let verbs = directives(spec)?.iter().filter(|p| matches!(p, Piece::Verb(..))).count();
    if verbs != values {
        return Err(arg_err(0, format!("the format has {verbs} verb(s) but {values} value(s) were given")));
    }
    Ok(())
}

/// Terraform's `format`.
fn format(spec: &str, args: &[Value]) -> Result<String, CallError> {
    check_format(spec, args.len())?;
    let mut out = String::new();
    let mut next = 0;
    for piece in directives(spec)? {
        let (f, verb) = match piece {
            Piece::Text(t) => {
                out.push_str(&t);
                continue;
            }
            Piece::Verb(f, verb) => (f, verb),
        };
        let v = &args[next];
        next += 1;
        let num = |v: &Value| match v {
            Value::Number(n) => Ok(*n),
            Value::String(s) => s.trim().parse::<f64>().map_err(|_| ()),
            _ => Err(()),
        };
        let need = |what: &str| arg_err(next, format!("%{verb} needs {what}, not {}", describe(v)));
        let text = match verb {
            's' | 'v' => {
                let mut t = v.to_template_string().unwrap_or_else(|| v.to_string());
                if let Some(p) = f.precision {
                    t = t.chars().take(p).collect();
                }
                f.pad(t, false)
            }
            'q' => f.pad(crate::value::quote(&v.to_template_string().ok_or_else(|| need("a string"))?), false),
            't' => match v {
                Value::Bool(b) => f.pad(b.to_string(), false),
                _ => return Err(need("a bool")),
            },
            'd' | 'x' | 'X' | 'o' | 'b' => {
                let n = num(v).map_err(|_| need("a number"))?;
                if n.fract() != 0.0 || n.abs() > 9.007_199_254_740_992e15 {
                    return Err(need("a whole number"));
                }
                let i = n as i64;
                let mag = i.unsigned_abs();
                let body = match verb {
                    'd' => mag.to_string(),
                    'x' => format!("{mag:x}"),
                    'X' => format!("{mag:X}"),
                    'o' => format!("{mag:o}"),
                    _ => format!("{mag:b}"),
                };
                f.pad(f.sign(n, if i < 0 { format!("-{body}") } else { body }), true)
            }
            _ => {
                let n = num(v).map_err(|_| need("a number"))?;
                let p = f.precision.unwrap_or(6);
                let body = match verb {
                    'f' => format!("{:.*}", p, n.abs()),
                    'e' | 'E' => {
                        let t = go_exp(n.abs(), p);
                        if verb == 'E' {
                            t.to_uppercase()
                        } else {
                            t
                        }
                    }
                    _ => format_number(n.abs()),
                };
                f.pad(f.sign(n, if n < 0.0 { format!("-{body}") } else { body }), true)
            }
        };
        out.push_str(&text);
    }
    Ok(out)
}

/// `%e` as Go prints it: `1.234560e+03` (a sign and at least two exponent digits).
fn go_exp(n: f64, precision: usize) -> String {
    let t = format!("{:.*e}", precision, n);
    match t.split_once('e') {
        Some((m, e)) => {
            let (sign, digits) = e.strip_prefix('-').map_or(("+", e), |d| ("-", d));
            format!("{m}e{sign}{digits:0>2}")
        }
        None => t,
    }
}

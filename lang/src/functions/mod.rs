//! The standard library, as data: one [`FuncDef`] per function — its name,
//! the kinds of its parameters, and its implementation — so that arity, kind
//! checks, Terraform's argument conversions, unknown values and sensitive
//! marks are handled once, here, and each function is only its own logic.
//!
//! Functions are pure: what they need from outside (files, the environment,
//! the clock) comes through the [`Host`]. `try`, `can` and `templatefile`
//! evaluate expressions rather than values, so the evaluator runs them; they
//! are listed here for their arity and names only.

mod codepages;
mod collections;
mod crypto;
mod csv;
mod encoding;
mod files;
mod format;
mod net;
mod numeric;
mod strings;
mod time;

use crate::eval::Host;
use crate::number::Number;
use crate::value::Value;
use std::collections::{BTreeMap, HashMap};

/// What a parameter accepts. Known arguments are converted as Terraform
/// converts them: a number or bool where a string is wanted becomes its
/// text, a string of digits where a number is wanted becomes the number.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Any,
    String,
    Number,
    Bool,
    List,
    Map,
    /// A list or a map.
    Collection,
}

/// A check of a call's known arguments.
pub type Precheck = fn(&[Value]) -> Result<(), CallError>;

/// A function's implementation: the arguments, converted to their kinds.
pub type Imp = fn(&[Value], &dyn Host) -> Result<Value, CallError>;

/// One function of the standard library.
pub struct FuncDef {
    pub name: &'static str,
    pub params: &'static [Kind],
    /// How many of the trailing `params` may be left out.
    pub optional: usize,
    /// Any number of further arguments of this kind may follow.
    pub variadic: Option<Kind>,
    /// The implementation sees unknown values (a list's length is known while
    /// its elements are not); otherwise any unknown argument makes the result unknown.
    pub sees_unknown: bool,
    /// The implementation sees sensitive marks and sets its own (`sensitive`,
    /// `nonsensitive`); otherwise a result is sensitive when an argument is.
    pub sees_marks: bool,
    /// Checks on known arguments made before unknown ones end the call (a
    /// format string against its values), so that `validate` finds them.
    pub precheck: Option<Precheck>,
    pub imp: Imp,
}

/// A function taking `params`, all required.
pub const fn def(name: &'static str, params: &'static [Kind], imp: Imp) -> FuncDef {
    FuncDef { name, params, optional: 0, variadic: None, sees_unknown: false, sees_marks: false, precheck: None, imp }
}

impl FuncDef {
    pub const fn optional(self, n: usize) -> FuncDef {
        FuncDef { optional: n, ..self }
    }
    pub const fn variadic(self, k: Kind) -> FuncDef {
        FuncDef { variadic: Some(k), ..self }
    }
    pub const fn sees_unknown(self) -> FuncDef {
        FuncDef { sees_unknown: true, ..self }
    }
    pub const fn sees_marks(self) -> FuncDef {
        FuncDef { sees_marks: true, ..self }
    }
    pub const fn precheck(self, f: Precheck) -> FuncDef {
        FuncDef { precheck: Some(f), ..self }
    }

    /// The least and the most arguments it takes (`None`: no upper bound).
    pub fn arity(&self) -> (usize, Option<usize>) {
        let max = if self.variadic.is_some() { None } else { Some(self.params.len()) };
        (self.params.len() - self.optional, max)
    }

    /// The kind of argument `i`.
    fn kind(&self, i: usize) -> Kind {
        self.params.get(i).copied().or(self.variadic).unwrap_or(Kind::Any)
    }
}

/// Special forms: evaluated by the evaluator, listed for arity and names.
fn special(_: &[Value], _: &dyn Host) -> Result<Value, CallError> {
    Err(call_err("this function is evaluated by the evaluator"))
}

const SPECIAL: &[FuncDef] = &[
    def("can", &[Kind::Any], special),
    def("try", &[Kind::Any], special).variadic(Kind::Any),
    def("templatefile", &[Kind::String, Kind::Map], special),
    def("templatestring", &[Kind::String, Kind::Map], special),
    // The second argument is a type (`list(string)`), not a value.
    def("convert", &[Kind::Any, Kind::Any], special),
];

/// The functions the evaluator runs itself: their arguments are expressions.
pub const SPECIAL_FORMS: &[&str] = &["can", "try", "templatefile", "templatestring", "convert"];

fn table() -> &'static HashMap<&'static str, &'static FuncDef> {
    static TABLE: std::sync::OnceLock<HashMap<&'static str, &'static FuncDef>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        [
            SPECIAL,
            collections::DEFS,
            crypto::DEFS,
            csv::DEFS,
            encoding::DEFS,
            files::DEFS,
            format::DEFS,
            net::DEFS,
            numeric::DEFS,
            strings::DEFS,
            time::DEFS,
        ]
        .into_iter()
        .flatten()
        .map(|d| (d.name, d))
        .collect()
    })
}

/// The function named `name`, if there is one: Terraform's `core::` prefix
/// names the same built-in functions (`core::upper`).
pub fn lookup(name: &str) -> Option<&'static FuncDef> {
    table().get(name.strip_prefix("core::").unwrap_or(name)).copied()
}

/// Every function name, sorted, for "did you mean".
pub fn names() -> Vec<&'static str> {
    let mut n: Vec<&str> = table().keys().copied().collect();
    n.sort_unstable();
    n
}

/// The error for a call to a function there is not (said when the files are
/// read and again if evaluated: the same words, so it is shown once).
pub fn unknown_function(name: &crate::syntax::Ident) -> crate::diag::Diagnostic {
    if name.name.starts_with("provider::") {
        return crate::diag::Diagnostic::error(
            "Call to unknown function",
            format!("There is no function named \"{}\": Landform's providers offer no functions, only the built-in ones (also written core::NAME).", name.name),
            name.span,
        );
    }
    let bare = name.name.strip_prefix("core::").unwrap_or(&name.name);
    crate::diag::Diagnostic::error(
        "Call to unknown function",
        format!("There is no function named \"{}\".{}", name.name, crate::diag::suggestion(bare, names())),
        name.span,
    )
}

/// How many arguments a function takes: (least, most); `None` for no upper bound.
pub fn arity(name: &str) -> Option<(usize, Option<usize>)> {
    lookup(name).map(FuncDef::arity)
}

/// Why a call failed: which argument (if one), and what to say.
pub struct CallError {
    pub arg: Option<usize>,
    pub message: String,
}

pub(crate) fn arg_err(arg: usize, message: impl Into<String>) -> CallError {
    CallError { arg: Some(arg), message: message.into() }
}

pub(crate) fn call_err(message: impl Into<String>) -> CallError {
    CallError { arg: None, message: message.into() }
}

/// Functions that take collections apart or put them together, as cty's
/// `AllowMarked` ones do: the marks of a collection argument's elements stay
/// on those elements (`concat(["x"], [var.s])` is marked at `[1]` only, and
/// `length(["a", var.s])` not at all); only the arguments' own marks go on the
/// result. Every other function's result is marked when anything in an
/// argument is.
const KEEPS_ELEMENT_MARKS: &[&str] = &[
    "length",
    "concat",
    "merge",
    "keys",
    "values",
    "lookup",
    "element",
    "reverse",
    "slice",
    "tolist",
    "tomap",
    "flatten",
    "zipmap",
    "chunklist",
];

/// Call a function on evaluated arguments (arity already checked).
pub fn call(name: &str, args: &[Value], host: &dyn Host) -> Result<Value, CallError> {
    let def = lookup(name).ok_or_else(|| call_err(format!("there is no function named {name}")))?;
    if def.sees_marks {
        return (def.imp)(args, host);
    }
    let keeps = KEEPS_ELEMENT_MARKS.contains(&def.name);
    let mut sensitive = false;
    let mut plain: Vec<Value> = args
        .iter()
        .map(|a| {
            let (v, s) = match a.unmark() {
                (inner @ (Value::List(_) | Value::Object(_)), top) if keeps => (inner.clone(), top),
                _ => a.unmark_deep(),
            };
            sensitive |= s;
            v
        })
        .collect();
    // Check (and convert) the known arguments before giving up on unknown ones.
    for (i, v) in plain.iter_mut().enumerate() {
        convert(def, i, v)?;
    }
    if let Some(check) = def.precheck {
        check(&plain)?;
    }
    if !def.sees_unknown && plain.iter().any(Value::contains_unknown) {
        return Ok(Value::Unknown);
    }
    let out = (def.imp)(&plain, host)?;
    Ok(if sensitive { out.secret() } else { out })
}

/// Argument `i`, converted to its parameter's kind as Terraform converts it,
/// or the error that it cannot be.
fn convert(def: &FuncDef, i: usize, v: &mut Value) -> Result<(), CallError> {
    if v.contains_unknown() || v.is_null() {
        return Ok(());
    }
    let kind = def.kind(i);
    let converted = match (kind, &*v) {
        (Kind::Any, _)
        | (Kind::String, Value::String(_))
        | (Kind::Number, Value::Number(_))
        | (Kind::Bool, Value::Bool(_))
        | (Kind::List | Kind::Collection, Value::List(_))
        | (Kind::Map | Kind::Collection, Value::Object(_)) => return Ok(()),
        (Kind::String, Value::Number(_) | Value::Bool(_) | Value::Duration(_) | Value::Percent(_)) => {
            v.to_template_string().map(Value::String)
        }
        (Kind::Number, Value::String(s)) => Number::parse(s).map(Value::Number),
        (Kind::Bool, Value::String(_)) => v.to_bool().map(Value::Bool),
        _ => None,
    };
    match converted {
        Some(c) => {
            *v = c;
            Ok(())
        }
        None => {
            let what = match kind {
                Kind::String => "a string",
                Kind::Number => "a number",
                Kind::Bool => "a bool",
                Kind::List => "a list",
                Kind::Map => "a map",
                Kind::Collection => "a list or a map",
                Kind::Any => "a value",
            };
            Err(arg_err(i, format!("{}() needs {what} here, not {}", def.name, describe(v))))
        }
    }
}

pub(crate) fn describe(v: &Value) -> String {
    match v {
        Value::String(s) if s.chars().count() <= 30 => format!("the string \"{s}\""),
        Value::Number(n) => format!("the number {n}"),
        Value::Null => "null".to_string(),
        other => format!("a {}", other.type_name()),
    }
}

pub(crate) fn num(n: usize) -> Value {
    Value::from(n)
}

pub(crate) fn list(a: &[Value], i: usize) -> Result<&[Value], CallError> {
    match &a[i] {
        Value::List(l) => Ok(l),
        v => Err(arg_err(i, format!("a list is required, not {}", describe(v)))),
    }
}

pub(crate) fn object(a: &[Value], i: usize) -> Result<&BTreeMap<String, Value>, CallError> {
    match &a[i] {
        Value::Object(m) => Ok(m),
        v => Err(arg_err(i, format!("a map is required, not {}", describe(v)))),
    }
}

pub(crate) fn string(a: &[Value], i: usize) -> Result<&str, CallError> {
    match &a[i] {
        Value::String(s) => Ok(s),
        v => Err(arg_err(i, format!("a string is required, not {}", describe(v)))),
    }
}

/// Argument `i` as a number (a string converts as Terraform converts it).
pub(crate) fn big_number(a: &[Value], i: usize) -> Result<Number, CallError> {
    match &a[i] {
        Value::Number(n) => Ok(n.clone()),
        Value::String(s) => {
            Number::parse(s).ok_or_else(|| arg_err(i, format!("a number is required, not the string \"{s}\"")))
        }
        v => Err(arg_err(i, format!("a number is required, not {}", describe(v)))),
    }
}

/// Argument `i` as f64, where Terraform computes in float64 too (`pow`, `log`).
pub(crate) fn number(a: &[Value], i: usize) -> Result<f64, CallError> {
    big_number(a, i).map(|n| n.to_f64())
}

pub(crate) fn integer(a: &[Value], i: usize) -> Result<i64, CallError> {
    let n = big_number(a, i)?;
    if !n.is_integer() {
        return Err(arg_err(i, format!("a whole number is required, not {n}")));
    }
    n.to_i64().ok_or_else(|| arg_err(i, format!("the number {n} is too large here")))
}

/// The length of a string as Terraform counts it: in grapheme clusters.
pub(crate) fn graphemes(s: &str) -> usize {
    clusters(s).count()
}

/// The first `n` grapheme clusters of a string.
pub(crate) fn take_graphemes(s: &str, n: usize) -> String {
    clusters(s).take(n).collect()
}

/// A string's grapheme clusters as Terraform has them (go-textseg, Unicode
/// 15.0's rules): without Unicode 15.1's Indic conjunct rule (GB9c), so
/// `क्ष` is two clusters, `क्` and `ष`. Inside a cluster of today's rules,
/// a letter that starts a cluster of its own after a virama (combining
/// class 9) is where that rule joined them; it starts one again.
pub(crate) fn clusters(s: &str) -> impl DoubleEndedIterator<Item = &str> {
    use unicode_segmentation::UnicodeSegmentation;
    let mut out = Vec::new();
    for g in s.graphemes(true) {
        let mut start = 0;
        let mut virama = false;
        for (i, c) in g.char_indices() {
            if virama && i > start && c.is_alphabetic() && starts_cluster(c) {
                out.push(&g[start..i]);
                start = i;
                virama = false;
            } else if unicode_normalization::char::canonical_combining_class(c) == 9 {
                virama = true;
            }
        }
        out.push(&g[start..]);
    }
    out.into_iter()
}

/// A character that does not join the one before it (no mark, no spacing mark).
fn starts_cluster(c: char) -> bool {
    let mut buf = [0u8; 8];
    buf[0] = b'a';
    let n = 1 + c.encode_utf8(&mut buf[1..]).len();
    let s = std::str::from_utf8(&buf[..n]).unwrap_or("a");
    unicode_segmentation::UnicodeSegmentation::graphemes(s, true).count() == 2
}

/// An element of a list as a string, as functions of lists of strings take it.
pub(crate) fn element_string(v: &Value, arg: usize, j: usize) -> Result<String, CallError> {
    v.to_template_string().ok_or_else(|| arg_err(arg, format!("element {j} is {}, not a string", describe(v))))
}

/// Order of two values of one kind: numbers, durations, percentages, strings.
pub fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => Some(x.compare(y)),
        (Value::Percent(x), Value::Percent(y)) => x.partial_cmp(y),
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

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A result as large as `size` bytes must stay under the value limit.
pub(crate) fn check_size(size: usize) -> Result<(), CallError> {
    if size > crate::value::MAX_VALUE_SIZE {
        return Err(call_err(format!("the result would be larger than {} MiB", crate::value::MAX_VALUE_SIZE >> 20)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_has_a_sound_signature() {
        for name in names() {
            let d = lookup(name).unwrap();
            assert!(d.optional <= d.params.len(), "{name}");
            assert_eq!(d.name, name);
        }
        assert!(names().len() > 90, "{}", names().len());
    }
}

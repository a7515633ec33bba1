//! Type constraints for variables (`string`, `list(number)`, `object({…})`…)
//! and conversion of values to them.

use crate::diag::Diagnostic;
use crate::parse::parse_duration;
use crate::source::Span;
use crate::syntax::{Expr, ExprKind, ObjectKey};
use crate::value::Value;
use std::collections::BTreeMap;
use std::fmt;

#[derive(Clone, Debug, PartialEq)]
pub enum Type {
    Any,
    String,
    Number,
    Bool,
    Duration,
    Percent,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    Object(BTreeMap<String, Type>),
    /// `tuple([T, U, …])`: a list of exactly these element types.
    Tuple(Vec<Type>),
    /// An object field that may be left out: `optional(T)` (null then) or
    /// `optional(T, default)`.
    Optional(Box<Type>, Option<Box<Value>>),
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Any => f.write_str("any"),
            Type::String => f.write_str("string"),
            Type::Number => f.write_str("number"),
            Type::Bool => f.write_str("bool"),
            Type::Duration => f.write_str("duration"),
            Type::Percent => f.write_str("percent"),
            Type::List(t) => write!(f, "list({t})"),
            Type::Set(t) => write!(f, "set({t})"),
            Type::Map(t) => write!(f, "map({t})"),
            Type::Object(m) => {
                f.write_str("object({")?;
                for (i, (k, t)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k} = {t}")?;
                }
                f.write_str("})")
            }
            Type::Tuple(ts) => {
                f.write_str("tuple([")?;
                for (i, t) in ts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{t}")?;
                }
                f.write_str("])")
            }
            Type::Optional(t, None) => write!(f, "optional({t})"),
            Type::Optional(t, Some(d)) => write!(f, "optional({t}, {d})"),
        }
    }
}

const TYPE_NAMES: [&str; 11] =
    ["any", "string", "number", "bool", "duration", "percent", "list", "set", "map", "object", "tuple"];

/// Read a type constraint written as an expression.
pub fn type_from_expr(expr: &Expr) -> Result<Type, Diagnostic> {
    let bad = |what: String| {
        Diagnostic::error(
            "Invalid type specification",
            format!(
                "{what} A type is one of string, number, bool, duration, percent, any, or list(T), set(T), map(T), object({{name = T, …}}), tuple([T, …])."
            ),
            expr.span,
        )
    };
    match &expr.kind {
        ExprKind::Variable(id) => match id.name.as_str() {
            "any" => Ok(Type::Any),
            "string" => Ok(Type::String),
            "number" => Ok(Type::Number),
            "bool" => Ok(Type::Bool),
            "duration" => Ok(Type::Duration),
            "percent" => Ok(Type::Percent),
            "list" | "set" | "map" | "object" | "tuple" => {
                Err(bad(format!("The type \"{}\" needs an element type, as in {}(string).", id.name, id.name)))
            }
            other => Err(bad(format!("\"{other}\" is not a type.{}", crate::diag::suggestion(other, TYPE_NAMES)))),
        },
        ExprKind::Call(name, args, _) => {
            if args.len() != 1 {
                return Err(bad(format!("{}(…) takes exactly one argument.", name.name)));
            }
            match name.name.as_str() {
                "list" => Ok(Type::List(Box::new(type_from_expr(&args[0])?))),
                "set" => Ok(Type::Set(Box::new(type_from_expr(&args[0])?))),
                "map" => Ok(Type::Map(Box::new(type_from_expr(&args[0])?))),
                "tuple" => match &args[0].kind {
                    ExprKind::List(items) => {
                        Ok(Type::Tuple(items.iter().map(type_from_expr).collect::<Result<_, _>>()?))
                    }
                    _ => Err(bad("tuple(…) takes a list of element types, as in tuple([string, number]).".into())),
                },
                "object" => match &args[0].kind {
                    ExprKind::Object(items) => {
                        let mut fields = BTreeMap::new();
                        for item in items {
                            let key = match &item.key {
                                ObjectKey::Name(id) => id.name.clone(),
                                ObjectKey::Expr(e) => e
                                    .as_static_string()
                                    .ok_or_else(|| bad("An object field name must be a name.".into()))?,
                            };
                            fields.insert(key, field_type(&item.value)?);
                        }
                        Ok(Type::Object(fields))
                    }
                    _ => Err(bad("object(…) takes an object of field types, as in object({ name = string }).".into())),
                },
                other => Err(bad(format!(
                    "\"{other}\" is not a type constructor.{}",
                    crate::diag::suggestion(other, TYPE_NAMES)
                ))),
            }
        }
        _ => Err(bad("This is not a type.".into())),
    }
}

/// An object field's type: a type, or `optional(T)` / `optional(T, default)`.
fn field_type(expr: &Expr) -> Result<Type, Diagnostic> {
    let ExprKind::Call(name, args, _) = &expr.kind else { return type_from_expr(expr) };
    if name.name != "optional" {
        return type_from_expr(expr);
    }
    if args.is_empty() || args.len() > 2 {
        return Err(Diagnostic::error(
            "Invalid type specification",
            "optional(…) takes a type and, if you like, a default value: optional(number) or optional(number, 3).",
            expr.span,
        ));
    }
    let ty = type_from_expr(&args[0])?;
    let default = match args.get(1) {
        None => None,
        Some(d) => {
            let mut ev = crate::eval::Evaluator::new(&crate::eval::NoHost);
            let v = ev.eval(d, &crate::eval::Scope::new());
            if let Some(first) = ev.diags.into_iter().next() {
                return Err(first);
            }
            let v = convert(&v, &ty).map_err(|e| {
                Diagnostic::error(
                    "Invalid type specification",
                    format!("The default value is not a {ty}: {e}."),
                    d.span,
                )
            })?;
            Some(Box::new(v))
        }
    };
    Ok(Type::Optional(Box::new(ty), default))
}

/// Convert a value to a type, as Terraform does for variables: "5" becomes 5
/// for a number, 5 becomes "5" for a string, "30s" a duration, and so on.
pub fn convert(value: &Value, ty: &Type) -> Result<Value, String> {
    let (inner, sensitive) = value.unmark();
    let out = convert_inner(inner, ty)?;
    Ok(if sensitive { out.secret() } else { out })
}

fn convert_inner(value: &Value, ty: &Type) -> Result<Value, String> {
    if matches!(value, Value::Null | Value::Unknown) || *ty == Type::Any {
        return Ok(value.clone());
    }
    let mismatch = || format!("{ty} required, but got {}", describe(value));
    match ty {
        Type::Any => Ok(value.clone()),
        Type::Optional(t, _) => convert_inner(value, t),
        Type::String => match value {
            Value::String(_) => Ok(value.clone()),
            Value::Number(_) | Value::Bool(_) | Value::Duration(_) | Value::Percent(_) => {
                Ok(Value::String(value.to_template_string().unwrap_or_default()))
            }
            _ => Err(mismatch()),
        },
        Type::Number => match value {
            Value::Number(_) => Ok(value.clone()),
            Value::String(s) => crate::number::Number::parse(s)
                .map(Value::Number)
                .ok_or_else(|| format!("a number is required, but \"{s}\" is not a number")),
            _ => Err(mismatch()),
        },
        Type::Bool => match value {
            Value::Bool(_) | Value::String(_) => value.to_bool().map(Value::Bool).ok_or_else(mismatch),
            _ => Err(mismatch()),
        },
        Type::Duration => match value {
            Value::Duration(_) => Ok(value.clone()),
            Value::String(s) => {
                parse_duration(s).map(Value::Duration).map_err(|e| format!("\"{s}\" is not a duration: {e}"))
            }
            _ => Err(mismatch()),
        },
        Type::Percent => match value {
            Value::Percent(_) => Ok(value.clone()),
            Value::String(s) => s
                .strip_suffix('%')
                .and_then(|n| n.trim().parse::<f64>().ok())
                .filter(|n| (0.0..=100.0).contains(n))
                .map(Value::Percent)
                .ok_or_else(|| format!("\"{s}\" is not a percentage between 0% and 100%")),
            _ => Err(mismatch()),
        },
        Type::List(elem) | Type::Set(elem) => match value {
            Value::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, v) in items.iter().enumerate() {
                    out.push(convert(v, elem).map_err(|e| format!("element {i}: {e}"))?);
                }
                let out = one_element_type(out, elem)?;
                let out = if matches!(ty, Type::Set(_)) { Value::set(out) } else { Value::list(out) };
                Ok(out.with_elem(shape_of(elem)))
            }
            _ => Err(mismatch()),
        },
        Type::Tuple(types) => match value {
            Value::List(items) if items.len() == types.len() => {
                let mut out = Vec::with_capacity(items.len());
                for (i, (v, t)) in items.iter().zip(types).enumerate() {
                    out.push(convert(v, t).map_err(|e| format!("element {i}: {e}"))?);
                }
                Ok(Value::tuple(out))
            }
            Value::List(items) => Err(format!("{ty} required, but got a list of {} elements", items.len())),
            _ => Err(mismatch()),
        },
        Type::Map(elem) => match value {
            Value::Object(m) => {
                let mut out = BTreeMap::new();
                for (k, v) in m {
                    out.insert(k.clone(), convert(v, elem).map_err(|e| format!("element \"{k}\": {e}"))?);
                }
                let values = one_element_type(out.values().cloned().collect(), elem)?;
                Ok(Value::map(out.into_keys().zip(values).collect()).with_elem(shape_of(elem)))
            }
            _ => Err(mismatch()),
        },
        Type::Object(fields) => match value {
            Value::Object(m) => {
                let mut out = BTreeMap::new();
                for (k, t) in fields {
                    match (m.get(k), t) {
                        (Some(v), _) => {
                            out.insert(k.clone(), convert(v, t).map_err(|e| format!("attribute \"{k}\": {e}"))?);
                        }
                        (None, Type::Optional(_, default)) => {
                            out.insert(k.clone(), default.as_deref().cloned().unwrap_or(Value::Null));
                        }
                        (None, _) => return Err(format!("attribute \"{k}\" is required")),
                    }
                }
                Ok(Value::object(out))
            }
            _ => Err(mismatch()),
        },
    }
}

/// A type constraint as a value's type (`any` is dynamic).
pub fn shape_of(ty: &Type) -> crate::unify::Shape {
    use crate::unify::Shape;
    match ty {
        Type::Any => Shape::Dynamic,
        Type::String => Shape::String,
        Type::Number => Shape::Number,
        Type::Bool => Shape::Bool,
        Type::Duration => Shape::Other("duration"),
        Type::Percent => Shape::Other("percent"),
        Type::List(e) => Shape::List(Box::new(shape_of(e))),
        Type::Set(e) => Shape::Set(Box::new(shape_of(e))),
        Type::Map(e) => Shape::Map(Box::new(shape_of(e))),
        Type::Object(m) => Shape::Object(m.iter().map(|(k, t)| (k.clone(), shape_of(t))).collect()),
        Type::Tuple(ts) => Shape::Tuple(ts.iter().map(shape_of).collect()),
        Type::Optional(t, _) => shape_of(t),
    }
}

/// The elements of a collection of `any`: unified to the one type they
/// all convert to, as Terraform infers `list(any)`'s element type.
fn one_element_type(items: Vec<Value>, elem: &Type) -> Result<Vec<Value>, String> {
    if *elem != Type::Any {
        return Ok(items);
    }
    crate::unify::unify_values(items).ok_or_else(|| "all elements must have the same type".to_string())
}

fn describe(v: &Value) -> String {
    match v {
        Value::String(s) if s.len() < 40 => format!("the string \"{s}\""),
        other => format!("a {}", other.type_name()),
    }
}

/// Make a diagnostic from a conversion error.
pub fn conversion_error(summary: &str, what: &str, err: String, span: Span) -> Diagnostic {
    Diagnostic::error(summary, format!("Unsuitable value for {what}: {err}."), span)
}

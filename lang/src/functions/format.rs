//! `format` and `formatlist`: Go's `fmt` verbs as Terraform gives them.

use super::{arg_err, def, describe, list, string, CallError, FuncDef, Kind};
use crate::eval::Host;
use crate::value::{format_number, Value};

type R = Result<Value, CallError>;

pub const DEFS: &[FuncDef] = &[
    def("format", &[Kind::String], format_fn).variadic(Kind::Any).precheck(precheck),
    def("formatlist", &[Kind::String], formatlist).variadic(Kind::Any).precheck(precheck),
];

/// A known format string against the number of values, before they are known.
fn precheck(a: &[Value]) -> Result<(), CallError> {
    match a.first() {
        Some(Value::String(spec)) => check_format(spec, a.len() - 1),
        _ => Ok(()),
    }
}

fn format_fn(a: &[Value], _: &dyn Host) -> R {
    Ok(Value::String(format(string(a, 0)?, &a[1..])?))
}

/// `formatlist`: the format applied element by element; list arguments go in
/// step (all as long as each other), the others are repeated.
fn formatlist(a: &[Value], _: &dyn Host) -> R {
    let spec = string(a, 0)?;
    let mut n: Option<usize> = None;
    for (i, v) in a.iter().enumerate().skip(1) {
        if let Value::List(l) = v {
            match n {
                Some(m) if m != l.len() => {
                    return Err(arg_err(i, format!("this list has {} elements, an earlier one {m}: lists given to formatlist must be as long as each other", l.len())))
                }
                _ => n = Some(l.len()),
            }
        }
    }
    let Some(n) = n else {
        return Ok(Value::List(vec![Value::String(format(spec, &a[1..])?)]));
    };
    let mut out = Vec::with_capacity(n);
    for j in 0..n {
        let row: Vec<Value> = (1..a.len())
            .map(|i| match &a[i] {
                Value::List(_) => list(a, i).map(|l| l[j].clone()),
                v => Ok(v.clone()),
            })
            .collect::<Result<_, _>>()?;
        out.push(Value::String(format(spec, &row)?));
    }
    Ok(Value::List(out))
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
pub(crate) fn check_format(spec: &str, values: usize) -> Result<(), CallError> {
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

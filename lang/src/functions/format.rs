//! `format` and `formatlist`: Go's `fmt` verbs as Terraform gives them.

use super::{arg_err, def, describe, list, string, CallError, FuncDef, Kind};
use crate::eval::Host;
use crate::number::Number;
use crate::value::Value;

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
        return Ok(Value::list(vec![Value::String(format(spec, &a[1..])?)]));
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
    Ok(Value::list(out).with_elem(crate::unify::Shape::String))
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
    sharp: bool,
    width: Option<usize>,
    precision: Option<usize>,
    /// `%[n]v`: the value this verb takes (from 1), where the next ones follow.
    arg: Option<usize>,
}

impl Spec {
    /// `formatPadWidth`: strings and JSON padded to the width in grapheme
    /// clusters, with spaces or (flag `0`) zeros, on the left or (flag `-`) right.
    fn pad(&self, body: String) -> String {
        let Some(w) = self.width else { return body };
        let len = super::graphemes(&body);
        if len >= w {
            return body;
        }
        let fill = if self.zero { "0" } else { " " }.repeat(w - len);
        if self.minus {
            body + &fill
        } else {
            fill + &body
        }
    }

    /// Go's `big.Float.Format`: sign, then zeros, or spaces on either side.
    fn float(&self, n: &Number, verb: char) -> String {
        let prec = match (verb, self.precision) {
            (_, Some(p)) => p as i64,
            ('g' | 'G', None) => -1,
            (_, None) => 6,
        };
        let body = n.go_text(verb, prec);
        let sign = if n.sign_bit() {
            "-"
        } else if n.is_infinite() && !self.space || self.plus {
            "+"
        } else if self.space {
            " "
        } else {
            ""
        };
        let pad = self.width.map_or(0, |w| w.saturating_sub(sign.len() + body.len()));
        if self.zero && !n.is_infinite() {
            format!("{sign}{}{body}", "0".repeat(pad))
        } else if self.minus {
            format!("{sign}{body}{}", " ".repeat(pad))
        } else {
            format!("{}{sign}{body}", " ".repeat(pad))
        }
    }

    /// Go's `big.Int.Format` for `d b o x X`.
    fn integer(&self, neg: bool, mag: &num_bigint::BigUint, verb: char) -> String {
        let sign = if neg {
            "-"
        } else if self.plus {
            "+"
        } else if self.space {
            " "
        } else {
            ""
        };
        let prefix = match (self.sharp, verb) {
            (true, 'b') => "0b",
            (true, 'o') => "0",
            (true, 'x') => "0x",
            (true, 'X') => "0X",
            _ => "",
        };
        let mut digits = mag.to_str_radix(match verb {
            'b' => 2,
            'o' => 8,
            'x' | 'X' => 16,
            _ => 10,
        });
        if verb == 'X' {
            digits = digits.to_uppercase();
        }
        let mut zeros = 0;
        if let Some(p) = self.precision {
            if digits.len() < p {
                zeros = p - digits.len();
            } else if digits == "0" && p == 0 {
                return String::new();
            }
        }
        let length = sign.len() + prefix.len() + zeros + digits.len();
        let (mut left, mut right) = (0, 0);
        if let Some(w) = self.width.filter(|w| length < *w) {
            let d = w - length;
            if self.minus {
                right = d;
            } else if self.zero && self.precision.is_none() {
                zeros = d;
            } else {
                left = d;
            }
        }
        format!("{}{sign}{prefix}{}{digits}{}", " ".repeat(left), "0".repeat(zeros), " ".repeat(right))
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
                _ => f.sharp = true,
            }
        }
        f.width = digits(&mut chars, "width")?;
        if chars.next_if_eq(&'.').is_some() {
            f.precision = Some(digits(&mut chars, "precision")?.unwrap_or(0));
        }
        // `%[n]s`: an explicit value, written just before the verb as Terraform reads it.
        if chars.next_if_eq(&'[').is_some() {
            let n: String = std::iter::from_fn(|| chars.next_if(char::is_ascii_digit)).collect();
            match (n.parse::<usize>(), chars.next()) {
                (Ok(n), Some(']')) if n >= 1 => f.arg = Some(n),
                _ => return Err(arg_err(0, "%[n] needs a value's position from 1, as in %[2]s")),
            }
        }
        match chars.next() {
            None => return Err(arg_err(0, "the format ends in the middle of a verb")),
            Some('%') if f.arg.is_some() => return Err(arg_err(0, "%[n]% is not a verb: write %%")),
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
    let pieces = directives(spec)?;
    let (mut next, mut used) = (0, 0);
    for f in pieces.iter().filter_map(|p| if let Piece::Verb(f, _) = p { Some(f) } else { None }) {
        let at = f.arg.map_or(next, |n| n - 1);
        if at >= values {
            return Err(arg_err(0, format!("the format needs value {} but {values} value(s) were given", at + 1)));
        }
        next = at + 1;
        used = used.max(next);
    }
    if used < values {
        return Err(arg_err(0, format!("the format uses {used} value(s) but {values} were given")));
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
        let at = f.arg.map_or(next, |n| n - 1);
        let v = &args[at];
        next = at + 1;
        let need = |what: &str| arg_err(next, format!("%{verb} needs {what}, not {}", describe(v)));
        let as_number = |v: &Value| match v {
            Value::Number(n) => Some(n.clone()),
            Value::String(s) => Number::parse(s),
            _ => None,
        };
        let text = match verb {
            'v' => match v {
                Value::String(s) if !f.sharp => f.pad(s.clone()),
                Value::Number(n) if !f.sharp => f.pad(n.go_text_signed('g', -1)),
                other => f.pad(serde_json::to_string(&other.to_json()).unwrap_or_default()),
            },
            's' | 'q' => {
                let mut t = match v {
                    Value::List(_) | Value::Object(_) | Value::Null => return Err(need("a string")),
                    other => other.to_template_string().ok_or_else(|| need("a string"))?,
                };
                if let Some(p) = f.precision.filter(|p| *p > 0) {
                    t = super::take_graphemes(&t, p);
                }
                if verb == 'q' {
                    t = serde_json::to_string(&t).unwrap_or_default();
                }
                f.pad(t)
            }
            // Terraform writes %t's word without width or flags.
            't' => match v.to_bool() {
                Some(b) => b.to_string(),
                None => return Err(need("a bool")),
            },
            'd' | 'x' | 'X' | 'o' | 'b' => {
                let n = as_number(v).ok_or_else(|| need("a number"))?;
                match n.trunc_big() {
                    Some((neg, mag, true)) => f.integer(neg, &mag, verb),
                    _ => return Err(arg_err(next, format!("unsupported value for %{verb}: an integer is required"))),
                }
            }
            _ => {
                let n = as_number(v).ok_or_else(|| need("a number"))?;
                f.float(&n, verb)
            }
        };
        out.push_str(&text);
    }
    Ok(out)
}

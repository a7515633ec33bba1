//! Numbers: rounding, extremes, sums, powers, ranges, and parsing in a base.

use super::{arg_err, call_err, compare, def, describe, integer, list, number, string, CallError, FuncDef, Kind};
use crate::eval::Host;
use crate::value::Value;

type R = Result<Value, CallError>;

pub const DEFS: &[FuncDef] = &[
    def("abs", &[Kind::Number], abs),
    def("ceil", &[Kind::Number], ceil),
    def("floor", &[Kind::Number], floor),
    def("signum", &[Kind::Number], signum),
    def("pow", &[Kind::Number, Kind::Number], pow),
    def("log", &[Kind::Number, Kind::Number], log),
    def("min", &[Kind::Any], min).variadic(Kind::Any),
    def("max", &[Kind::Any], max).variadic(Kind::Any),
    def("sum", &[Kind::List], sum),
    def("range", &[Kind::Number, Kind::Number, Kind::Number], range).optional(2),
    def("parseint", &[Kind::String, Kind::Number], parseint),
];

fn finite(n: f64) -> R {
    if n.is_finite() {
        Ok(Value::Number(n))
    } else {
        Err(call_err("the result is not a finite number"))
    }
}

fn abs(a: &[Value], _: &dyn Host) -> R {
    Ok(Value::Number(number(a, 0)?.abs()))
}

fn ceil(a: &[Value], _: &dyn Host) -> R {
    Ok(Value::Number(number(a, 0)?.ceil()))
}

fn floor(a: &[Value], _: &dyn Host) -> R {
    Ok(Value::Number(number(a, 0)?.floor()))
}

fn signum(a: &[Value], _: &dyn Host) -> R {
    let n = number(a, 0)?;
    Ok(Value::Number(if n > 0.0 {
        1.0
    } else if n < 0.0 {
        -1.0
    } else {
        0.0
    }))
}

fn pow(a: &[Value], _: &dyn Host) -> R {
    finite(number(a, 0)?.powf(number(a, 1)?))
}

fn log(a: &[Value], _: &dyn Host) -> R {
    finite(number(a, 0)?.ln() / number(a, 1)?.ln())
}

fn extreme(a: &[Value], want: std::cmp::Ordering) -> R {
    let mut best = a[0].clone();
    for (i, v) in a.iter().enumerate().skip(1) {
        let ord = compare(v, &best)
            .ok_or_else(|| arg_err(i, format!("cannot compare a {} with a {}", v.type_name(), best.type_name())))?;
        if ord == want {
            best = v.clone();
        }
    }
    Ok(best)
}

fn min(a: &[Value], _: &dyn Host) -> R {
    extreme(a, std::cmp::Ordering::Less)
}

fn max(a: &[Value], _: &dyn Host) -> R {
    extreme(a, std::cmp::Ordering::Greater)
}

fn sum(a: &[Value], _: &dyn Host) -> R {
    let l = list(a, 0)?;
    if l.is_empty() {
        return Err(arg_err(0, "cannot sum an empty list"));
    }
    let mut total = 0.0;
    for (j, v) in l.iter().enumerate() {
        total += match v {
            Value::Number(n) => *n,
            Value::String(s) => {
                s.parse().map_err(|_| arg_err(0, format!("element {j} is {}, not a number", describe(v))))?
            }
            other => return Err(arg_err(0, format!("element {j} is {}, not a number", describe(other)))),
        };
    }
    finite(total)
}

/// `range(limit)`, `range(start, limit)`, `range(start, limit, step)`; a
/// start above the limit counts down.
fn range(a: &[Value], _: &dyn Host) -> R {
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
    Ok(Value::List((0..count as usize).map(|i| Value::Number(start + step * i as f64)).collect()))
}

fn parseint(a: &[Value], _: &dyn Host) -> R {
    let (s, base) = (string(a, 0)?, integer(a, 1)?);
    if !(2..=62).contains(&base) {
        return Err(arg_err(1, "the base must be between 2 and 62"));
    }
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if digits.is_empty() {
        return Err(arg_err(0, format!("cannot parse \"{s}\" as a base {base} integer")));
    }
    let mut n: f64 = 0.0;
    for c in digits.chars() {
        let d = match c {
            '0'..='9' => c as u32 - '0' as u32,
            // Go's big.Int: up to base 36 letters of either case are 10..35; above, lower case first.
            'a'..='z' => c as u32 - 'a' as u32 + 10,
            'A'..='Z' if base <= 36 => c as u32 - 'A' as u32 + 10,
            'A'..='Z' => c as u32 - 'A' as u32 + 36,
            _ => u32::MAX,
        };
        if i64::from(d) >= base {
            return Err(arg_err(0, format!("cannot parse \"{s}\" as a base {base} integer")));
        }
        n = n * base as f64 + f64::from(d);
    }
    finite(if neg { -n } else { n })
}

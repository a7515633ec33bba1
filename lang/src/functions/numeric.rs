//! Numbers: rounding, extremes, sums, powers, ranges, and parsing in a base.

use super::{
    arg_err, big_number, call_err, compare, def, describe, integer, list, number, string, CallError, FuncDef, Kind,
};
use crate::eval::Host;
use crate::number::Number;
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

/// What a float64 function gives, as `cty.NumberFloatVal` makes it.
fn finite(n: f64) -> R {
    if n.is_finite() {
        Ok(Value::float(n))
    } else {
        Err(call_err("the result is not a finite number"))
    }
}

fn abs(a: &[Value], _: &dyn Host) -> R {
    Ok(Value::Number(big_number(a, 0)?.abs()))
}

fn ceil(a: &[Value], _: &dyn Host) -> R {
    Ok(Value::Number(big_number(a, 0)?.ceil()))
}

fn floor(a: &[Value], _: &dyn Host) -> R {
    Ok(Value::Number(big_number(a, 0)?.floor()))
}

/// Terraform's signum takes a whole number (it reads its argument as an int64).
fn signum(a: &[Value], _: &dyn Host) -> R {
    let n = big_number(a, 0)?;
    if n.to_i64().is_none() {
        return Err(arg_err(0, "value must be a whole number, between -9223372036854775808 and 9223372036854775807"));
    }
    Ok(Value::from(i64::from(n.signum())))
}

fn pow(a: &[Value], _: &dyn Host) -> R {
    finite(go_pow(number(a, 0)?, number(a, 1)?))
}

/// Go's `math.Pow` for a whole exponent — repeated squaring with the
/// exponent kept apart, so `pow(10, 23)` is the float64 nearest 1e23, as in
/// Terraform — and the platform's otherwise.
fn go_pow(x: f64, y: f64) -> f64 {
    if y == 0.0 || x == 1.0 {
        return 1.0;
    }
    if y == 1.0 {
        return x;
    }
    if x == 0.0 || !x.is_finite() || !y.is_finite() || y.fract() != 0.0 || y.abs() >= 9.2e18 {
        return x.powf(y);
    }
    let (mut a1, mut ae) = (1.0f64, 0i64);
    let (mut x1, xe) = frexp(x);
    let mut xe = i64::from(xe);
    let mut i = y.abs() as i64;
    while i != 0 {
        if !(-(1 << 12)..=(1 << 12)).contains(&xe) {
            // Certain overflow or underflow: ldexp says which.
            ae += xe;
            break;
        }
        if i & 1 == 1 {
            a1 *= x1;
            ae += xe;
        }
        x1 *= x1;
        xe <<= 1;
        if x1 < 0.5 {
            x1 += x1;
            xe -= 1;
        }
        i >>= 1;
    }
    if y < 0.0 {
        a1 = 1.0 / a1;
        ae = -ae;
    }
    ldexp(a1, ae)
}

/// Go's `math.Frexp`: a fraction in [0.5, 1) and a power of two.
fn frexp(x: f64) -> (f64, i32) {
    let (mut x, mut e) = (x, 0);
    if x.abs() < f64::MIN_POSITIVE {
        x *= (1u64 << 52) as f64;
        e = -52;
    }
    let bits = x.to_bits();
    e += ((bits >> 52) & 0x7ff) as i32 - 1022;
    (f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52)), e)
}

/// Go's `math.Ldexp`: `frac` times two to the `exp`, rounded as Go rounds it.
fn ldexp(frac: f64, exp: i64) -> f64 {
    if frac == 0.0 || !frac.is_finite() {
        return frac;
    }
    let (frac, e) = if frac.abs() < f64::MIN_POSITIVE { (frac * (1u64 << 52) as f64, -52) } else { (frac, 0) };
    let mut bits = frac.to_bits();
    let mut exp = exp + e + ((bits >> 52) & 0x7ff) as i64 - 1023;
    if exp < -1075 {
        return 0.0f64.copysign(frac);
    }
    if exp > 1023 {
        return f64::INFINITY.copysign(frac);
    }
    let mut m = 1.0;
    if exp < -1022 {
        exp += 53;
        m = 1.0 / (1u64 << 53) as f64;
    }
    bits &= !(0x7ff << 52);
    bits |= ((exp + 1023) as u64) << 52;
    m * f64::from_bits(bits)
}

fn log(a: &[Value], _: &dyn Host) -> R {
    finite(number(a, 0)?.ln() / number(a, 1)?.ln())
}

fn extreme(a: &[Value], want: std::cmp::Ordering) -> R {
    // Terraform's min and max take numbers: strings convert, or are refused.
    let a: Vec<Value> = a
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::String(_) => big_number(std::slice::from_ref(v), 0)
                .map(Value::Number)
                .map_err(|_| arg_err(i, "a number is required")),
            // Numbers (and Landform's durations and percentages) are compared;
            // a list is not expanded (`max(list...)` is how to pass one).
            Value::Number(_) | Value::Duration(_) | Value::Percent(_) => Ok(v.clone()),
            other => Err(arg_err(i, format!("a number is required, not {}", super::describe(other)))),
        })
        .collect::<Result<_, _>>()?;
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
    let mut total: Option<Number> = None;
    for (j, v) in l.iter().enumerate() {
        let n = match v {
            Value::Number(n) => n.clone(),
            Value::String(s) => {
                Number::parse(s).ok_or_else(|| arg_err(0, format!("element {j} is {}, not a number", describe(v))))?
            }
            other => return Err(arg_err(0, format!("element {j} is {}, not a number", describe(other)))),
        };
        total = Some(match total {
            None => n,
            Some(t) => t.add(&n).ok_or_else(|| call_err("the sum is not a finite number"))?,
        });
    }
    Ok(total.map_or(Value::Null, Value::Number))
}

/// `range(limit)`, `range(start, limit)`, `range(start, limit, step)`, as
/// Terraform counts: by repeated addition, down when the step is negative.
fn range(a: &[Value], _: &dyn Host) -> R {
    let nums: Vec<Number> = (0..a.len()).map(|i| big_number(a, i)).collect::<Result<_, _>>()?;
    let one = |neg: bool| Number::from_i64(if neg { -1 } else { 1 });
    let (start, end, step) = match nums.as_slice() {
        [l] => (Number::zero(), l.clone(), one(l.is_negative())),
        [s, l] => (s.clone(), l.clone(), one(l.compare(s).is_lt())),
        [s, l, st] => (s.clone(), l.clone(), st.clone()),
        _ => return Err(call_err("range() takes one, two or three numbers")),
    };
    if step.is_zero() {
        return Err(arg_err(2, "step must not be zero"));
    }
    let down = step.is_negative();
    if down && end.compare(&start).is_gt() {
        return Err(arg_err(1, "end must be less than start when step is negative"));
    }
    if !down && end.compare(&start).is_lt() {
        return Err(arg_err(1, "end must be greater than start when step is positive"));
    }
    let mut out = Vec::new();
    let mut n = start;
    while if down { n.compare(&end).is_gt() } else { n.compare(&end).is_lt() } {
        if out.len() >= 1024 {
            return Err(call_err(
                "more than 1024 values were generated; either decrease the difference between start and end or use a smaller step",
            ));
        }
        let next = n.add(&step).ok_or_else(|| call_err("range() ran past the largest number"))?;
        out.push(Value::Number(n));
        n = next;
    }
    Ok(Value::list(out).with_elem(crate::unify::Shape::Number))
}

const MAX_PARSEINT_DIGITS: usize = 10_000;

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
    if digits.len() > MAX_PARSEINT_DIGITS {
        // Far past any real number; reading digit by digit grows as the square.
        return Err(arg_err(0, format!("the number has more than {MAX_PARSEINT_DIGITS} digits")));
    }
    let mut n = num_bigint::BigUint::default();
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
        n = n * base as u32 + d;
    }
    Ok(Value::Number(Number::from_big(neg, n)))
}

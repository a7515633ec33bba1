//! Numbers as Terraform has them: binary floating point with a precision
//! carried by each value (512 bits for literals and parsed text, 64 for
//! counts, 53 for what comes from float functions such as `pow`), rounded to
//! nearest-even, and shown as the shortest decimal that reads back as the same
//! value at that precision. This is Go's `big.Float` as `cty` uses it, so
//! `0.1 + 0.2` is `0.3`, `12345678901234567890` keeps its digits, and `1/3`
//! shows as many digits as Terraform shows.
//!
//! Built on `num-bigint` (already in the build) rather than a decimal crate:
//! decimal arithmetic gives other answers than Terraform's binary rounding
//! (`1e300 * 1e10`, `1/3`), and no crate formats as Go's `Text('f', -1)` does.

use std::cmp::Ordering;
use std::fmt;

mod text;

use num_bigint::BigUint;
use num_integer::Integer;
use num_traits::{ToPrimitive, Zero};

/// The precision of literals and of numbers read from text, as `cty` parses them.
pub const PREC: u32 = 512;

/// Binary exponents past this are infinity (Go allows 2^31; a number past
/// 10^78,000 would take seconds to print, so Landform stops there).
const MAX_EXP: i64 = 1 << 18;

/// Decimal exponents in text past this are read as infinity or zero.
const MAX_DEC_EXP: i64 = 79_000;

/// Significant digits of text read exactly; the rest only decide rounding.
const MAX_DIGITS: usize = 10_000;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Form {
    Zero,
    /// `mant × 2^exp`, `mant` odd.
    Finite {
        mant: BigUint,
        exp: i64,
    },
    Inf,
}

#[derive(Clone, Debug)]
pub struct Number {
    neg: bool,
    form: Form,
    prec: u32,
}

impl Number {
    pub fn zero() -> Number {
        Number { neg: false, form: Form::Zero, prec: 64 }
    }

    pub fn infinity(neg: bool) -> Number {
        Number { neg, form: Form::Inf, prec: PREC }
    }

    /// An integer, as `cty.NumberIntVal` makes it (64 bits).
    pub fn from_i64(i: i64) -> Number {
        Number::round(i < 0, BigUint::from(i.unsigned_abs()), 0, 64, false)
    }

    pub fn from_u64(i: u64) -> Number {
        Number::round(false, BigUint::from(i), 0, 64, false)
    }

    pub fn from_usize(i: usize) -> Number {
        Number::from_u64(i as u64)
    }

    /// A whole number of any size (`parseint`), precision its bit length or 64.
    pub fn from_big(neg: bool, mag: BigUint) -> Number {
        let prec = (mag.bits() as u32).max(64);
        Number::round(neg, mag, 0, prec, false)
    }

    /// What a float function gives (`cty.NumberFloatVal`, 53 bits); `None` for NaN.
    pub fn from_f64(f: f64) -> Option<Number> {
        if f.is_nan() {
            return None;
        }
        if f.is_infinite() {
            return Some(Number::infinity(f < 0.0));
        }
        if f == 0.0 {
            return Some(Number { neg: f.is_sign_negative(), form: Form::Zero, prec: 53 });
        }
        let bits = f.to_bits();
        let biased = ((bits >> 52) & 0x7ff) as i64;
        let frac = bits & ((1 << 52) - 1);
        let (mant, exp) = if biased == 0 { (frac, -1074) } else { (frac | (1 << 52), biased - 1075) };
        Some(Number::round(f < 0.0, BigUint::from(mant), exp, 53, false))
    }

    /// `mant × 2^exp`, rounded to `prec` bits (nearest, ties to even);
    /// `sticky` says the true value is a little more than that.
    fn round(neg: bool, mant: BigUint, exp: i64, prec: u32, sticky: bool) -> Number {
        if mant.is_zero() {
            return Number { neg, form: Form::Zero, prec };
        }
        let bits = mant.bits();
        let (mut m, mut e) = (mant, exp);
        if bits > u64::from(prec) {
            let shift = bits - u64::from(prec);
            let half = m.bit(shift - 1);
            let below = sticky || m.trailing_zeros().unwrap_or(0) < shift - 1;
            let kept: BigUint = &m >> shift;
            let up = half && (below || kept.bit(0));
            m = if up { kept + 1u32 } else { kept };
            e += shift as i64;
        }
        let tz = m.trailing_zeros().unwrap_or(0);
        if tz > 0 {
            m >>= tz;
            e += tz as i64;
        }
        let top = e + m.bits() as i64;
        if top > MAX_EXP {
            return Number::infinity(neg);
        }
        if top < -MAX_EXP {
            return Number { neg, form: Form::Zero, prec };
        }
        Number { neg, form: Form::Finite { mant: m, exp: e }, prec }
    }

    /// `num / den × 2^exp`, correctly rounded to `prec` bits.
    fn ratio(neg: bool, num: &BigUint, den: &BigUint, exp: i64, prec: u32) -> Number {
        let want = u64::from(prec) + 2 + den.bits();
        let shift = want.saturating_sub(num.bits());
        let (q, r) = (num << shift).div_rem(den);
        Number::round(neg, q, exp - shift as i64, prec, !r.is_zero())
    }

    /// Text as `big.ParseFloat(s, 10, 512, ToNearestEven)` reads it:
    /// `[+-]digits[.digits][e[+-]digits]`, or `Inf`. `None` if it is not a number.
    pub fn parse(text: &str) -> Option<Number> {
        let (neg, rest) = match text.as_bytes().first()? {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        if rest.eq_ignore_ascii_case("inf") {
            return Some(Number::infinity(neg));
        }
        let (body, exp_part) = match rest.find(['e', 'E']) {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        let (int, frac) = body.split_once('.').unwrap_or((body, ""));
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut dexp: i64 = 0;
        if let Some(e) = exp_part {
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let mag = digits.trim_start_matches('0');
            let v: i64 = if mag.len() > 12 { i64::MAX / 4 } else { mag.parse().unwrap_or(0) };
            dexp = if e.starts_with('-') { -v } else { v };
        }
        let all: String = int.chars().chain(frac.chars()).collect();
        dexp -= frac.len() as i64;
        let trimmed = all.trim_start_matches('0');
        if trimmed.is_empty() {
            return Some(Number { neg, form: Form::Zero, prec: PREC });
        }
        let mut digits = trimmed.trim_end_matches('0').to_string();
        dexp += (trimmed.len() - digits.len()) as i64;
        if digits.len() > MAX_DIGITS {
            let sticky = digits[MAX_DIGITS..].bytes().any(|b| b != b'0');
            dexp += (digits.len() - MAX_DIGITS) as i64;
            digits.truncate(MAX_DIGITS);
            if sticky {
                digits.push('1');
                dexp -= 1;
            }
        }
        let magnitude = dexp + digits.len() as i64;
        if magnitude > MAX_DEC_EXP {
            return Some(Number::infinity(neg));
        }
        if magnitude < -MAX_DEC_EXP {
            return Some(Number { neg, form: Form::Zero, prec: PREC });
        }
        let d: BigUint = digits.parse().ok()?;
        Some(if dexp >= 0 {
            Number::round(neg, d * pow5(dexp as u64), dexp, PREC, false)
        } else {
            Number::ratio(neg, &d, &pow5((-dexp) as u64), dexp, PREC)
        })
    }

    pub fn is_zero(&self) -> bool {
        self.form == Form::Zero
    }

    pub fn is_infinite(&self) -> bool {
        self.form == Form::Inf
    }

    /// The sign as Go prints it: also for -0.
    pub fn sign_bit(&self) -> bool {
        self.neg
    }

    pub fn is_negative(&self) -> bool {
        self.neg && self.form != Form::Zero
    }

    /// -1, 0 or 1.
    pub fn signum(&self) -> i32 {
        match self.form {
            Form::Zero => 0,
            _ if self.neg => -1,
            _ => 1,
        }
    }

    pub fn is_integer(&self) -> bool {
        match &self.form {
            Form::Zero => true,
            Form::Finite { exp, .. } => *exp >= 0,
            Form::Inf => false,
        }
    }

    /// The integer part (toward zero) and whether that was exact; `None` for infinity.
    pub fn trunc_big(&self) -> Option<(bool, BigUint, bool)> {
        match &self.form {
            Form::Zero => Some((false, BigUint::zero(), true)),
            Form::Finite { mant, exp } if *exp >= 0 => Some((self.neg, mant << (*exp as u64), true)),
            Form::Finite { mant, exp } => {
                let shift = (-exp) as u64;
                let i = if shift >= mant.bits() { BigUint::zero() } else { mant >> shift };
                Some((self.neg && !i.is_zero(), i, false))
            }
            Form::Inf => None,
        }
    }

    /// The value as an i64, if it is a whole number in range.
    pub fn to_i64(&self) -> Option<i64> {
        let (neg, mag, exact) = self.trunc_big()?;
        if !exact {
            return None;
        }
        let m = mag.to_i128()?;
        i64::try_from(if neg { -m } else { m }).ok()
    }

    pub fn to_f64(&self) -> f64 {
        let v = match &self.form {
            Form::Zero => 0.0,
            Form::Inf => f64::INFINITY,
            Form::Finite { mant, exp } => {
                // Round to 53 bits first, so the conversion is correctly rounded.
                let r = Number::round(false, mant.clone(), *exp, 53, false);
                match r.form {
                    Form::Finite { mant, exp } => {
                        let m = mant.to_f64().unwrap_or(f64::INFINITY);
                        let e = exp.clamp(-1200, 1200) as i32;
                        if e < -1022 {
                            // Two steps, so a subnormal result is not lost to an
                            // intermediate underflow.
                            m * 2f64.powi(e + 600) * 2f64.powi(-600)
                        } else {
                            m * 2f64.powi(e)
                        }
                    }
                    Form::Inf => f64::INFINITY,
                    Form::Zero => 0.0,
                }
            }
        };
        if self.neg {
            -v
        } else {
            v
        }
    }

    pub fn neg(&self) -> Number {
        Number { neg: !self.neg, ..self.clone() }
    }

    pub fn abs(&self) -> Number {
        Number { neg: false, ..self.clone() }
    }

    /// `x + y`; `None` for infinity minus infinity.
    pub fn add(&self, y: &Number) -> Option<Number> {
        let prec = self.prec.max(y.prec);
        match (&self.form, &y.form) {
            (Form::Inf, Form::Inf) if self.neg != y.neg => None,
            (Form::Inf, _) => Some(Number { prec, ..self.clone() }),
            (_, Form::Inf) => Some(Number { prec, ..y.clone() }),
            (Form::Zero, Form::Zero) => Some(Number { neg: self.neg && y.neg, form: Form::Zero, prec }),
            (Form::Zero, _) => Some(Number::round(y.neg, y.mant().clone(), y.exp(), prec, false)),
            (_, Form::Zero) => Some(Number::round(self.neg, self.mant().clone(), self.exp(), prec, false)),
            (Form::Finite { mant: mx, exp: ex }, Form::Finite { mant: my, exp: ey }) => {
                let e = (*ex).min(*ey);
                let a = mx << ((ex - e) as u64);
                let b = my << ((ey - e) as u64);
                Some(if self.neg == y.neg {
                    Number::round(self.neg, a + b, e, prec, false)
                } else {
                    match a.cmp(&b) {
                        Ordering::Equal => Number { neg: false, form: Form::Zero, prec },
                        Ordering::Greater => Number::round(self.neg, a - b, e, prec, false),
                        Ordering::Less => Number::round(y.neg, b - a, e, prec, false),
                    }
                })
            }
        }
    }

    pub fn sub(&self, y: &Number) -> Option<Number> {
        self.add(&y.neg())
    }

    /// `x × y` as `cty` multiplies: at 512 bits, then kept at the larger of the
    /// operands' precisions or what the product needs.
    pub fn mul(&self, y: &Number) -> Option<Number> {
        let neg = self.neg != y.neg;
        let prec = self.prec.max(y.prec);
        match (&self.form, &y.form) {
            (Form::Inf, Form::Zero) | (Form::Zero, Form::Inf) => None,
            (Form::Inf, _) | (_, Form::Inf) => Some(Number { neg, form: Form::Inf, prec }),
            (Form::Zero, _) | (_, Form::Zero) => Some(Number { neg, form: Form::Zero, prec }),
            (Form::Finite { mant: mx, exp: ex }, Form::Finite { mant: my, exp: ey }) => {
                let mut r = Number::round(neg, mx * my, ex + ey, PREC.max(prec), false);
                let need = r.mant_bits() as u32;
                r.prec = prec.max(need);
                Some(r)
            }
        }
    }

    /// `x / y`: dividing a number other than zero by zero is infinity; `None`
    /// for zero by zero or infinity by infinity.
    pub fn div(&self, y: &Number) -> Option<Number> {
        let neg = self.neg != y.neg;
        let prec = self.prec.max(y.prec);
        match (&self.form, &y.form) {
            (Form::Zero, Form::Zero) | (Form::Inf, Form::Inf) => None,
            (Form::Inf, _) | (_, Form::Zero) => Some(Number { neg, form: Form::Inf, prec }),
            (Form::Zero, _) | (_, Form::Inf) => Some(Number { neg, form: Form::Zero, prec }),
            (Form::Finite { mant: mx, exp: ex }, Form::Finite { mant: my, exp: ey }) => {
                Some(Number::ratio(neg, mx, my, ex - ey, prec))
            }
        }
    }

    /// `x % y` as `cty` computes it: `x - y × trunc(x / y)`, the sign of `x`;
    /// `x % 0` is `x`.
    pub fn rem(&self, y: &Number) -> Option<Number> {
        if self.is_infinite() || y.is_infinite() {
            return self.mul(y);
        }
        if y.is_zero() {
            return Some(self.clone());
        }
        let q = self.div(y)?;
        let (neg, mag, _) = q.trunc_big()?;
        let t = Number::round(neg, mag, 0, self.prec, false);
        self.sub(&y.mul(&t)?)
    }

    /// Round toward negative infinity, keeping the precision (`floor`).
    pub fn floor(&self) -> Number {
        self.to_integer(true)
    }

    pub fn ceil(&self) -> Number {
        self.to_integer(false)
    }

    fn to_integer(&self, down: bool) -> Number {
        let Some((neg, mut mag, exact)) = self.trunc_big() else { return self.clone() };
        if !exact && self.neg == down {
            mag += 1u32;
        }
        Number::round(neg || (self.neg && !mag.is_zero()), mag, 0, self.prec, false)
    }

    /// Numeric order (infinities at the ends, -0 equal to 0).
    pub fn compare(&self, y: &Number) -> Ordering {
        let (sx, sy) = (self.signum(), y.signum());
        if sx != sy {
            return sx.cmp(&sy);
        }
        let mag = match (&self.form, &y.form) {
            (Form::Zero, Form::Zero) | (Form::Inf, Form::Inf) => Ordering::Equal,
            (Form::Inf, _) | (_, Form::Zero) => Ordering::Greater,
            (_, Form::Inf) | (Form::Zero, _) => Ordering::Less,
            (Form::Finite { mant: mx, exp: ex }, Form::Finite { mant: my, exp: ey }) => {
                let (tx, ty) = (ex + mx.bits() as i64, ey + my.bits() as i64);
                if tx != ty {
                    tx.cmp(&ty)
                } else {
                    let e = (*ex).min(*ey);
                    (mx << ((ex - e) as u64)).cmp(&(my << ((ey - e) as u64)))
                }
            }
        };
        if sx < 0 {
            mag.reverse()
        } else {
            mag
        }
    }

    fn mant(&self) -> &BigUint {
        match &self.form {
            Form::Finite { mant, .. } => mant,
            _ => unreachable!("only finite numbers have a mantissa"),
        }
    }

    fn exp(&self) -> i64 {
        match &self.form {
            Form::Finite { exp, .. } => *exp,
            _ => 0,
        }
    }

    fn mant_bits(&self) -> u64 {
        match &self.form {
            Form::Finite { mant, .. } => mant.bits(),
            _ => 0,
        }
    }
}

/// `5^k`, by squaring.
fn pow5(k: u64) -> BigUint {
    num_traits::pow::pow(BigUint::from(5u32), k as usize)
}

/// Equality as `cty` has it: whole numbers by value, others by their text;
/// -0 equals 0.
impl PartialEq for Number {
    fn eq(&self, other: &Number) -> bool {
        if self.signum() != other.signum() {
            return false;
        }
        match (&self.form, &other.form) {
            (Form::Zero, Form::Zero) | (Form::Inf, Form::Inf) => true,
            (Form::Finite { .. }, Form::Finite { .. }) => {
                let (a, b) = (self.is_integer(), other.is_integer());
                if a != b {
                    false
                } else if a {
                    self.form == other.form
                } else {
                    // By the text Terraform stores, so that a value read back from
                    // the state equals the one the configuration gives.
                    self.form == other.form && self.prec == other.prec || self.json_text() == other.json_text()
                }
            }
            _ => false,
        }
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Number {
        Number::parse(s).unwrap()
    }

    #[test]
    fn text_is_the_shortest_that_reads_back() {
        assert_eq!(n("0.1").add(&n("0.2")).unwrap().text(), "0.3");
        assert_eq!(n("12345678901234567890").text(), "12345678901234567890");
        assert_eq!(n("1e21").text(), "1000000000000000000000");
        assert_eq!(n("0.0000001").text(), "0.0000001");
        assert_eq!(n("-2.5").text(), "-2.5");
        assert_eq!(n("1.5e-10").text(), "0.00000000015");
        assert_eq!(
            n("1").div(&n("3")).unwrap().text(),
            "0.33333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333335"
        );
        assert_eq!(Number::from_f64(2f64.powi(100)).unwrap().text(), "1267650600228229400000000000000");
        assert_eq!(Number::from_f64(0.1).unwrap().text(), "0.1");
    }

    #[test]
    fn arithmetic_rounds_at_512_bits_as_terraform_does() {
        let big = n("1e300").mul(&n("1e10")).unwrap().text();
        // What Terraform 1.15 prints: 512 bits cannot hold 10^310 exactly.
        assert_eq!(big, format!("1{}1{}", "0".repeat(153), "0".repeat(156)));
        assert_eq!(big.len(), 311);
        assert_eq!(n("7").rem(&n("-3")).unwrap().text(), "1");
        assert_eq!(n("-7").rem(&n("3")).unwrap().text(), "-1");
        assert_eq!(n("7.5").rem(&n("2")).unwrap().text(), "1.5");
        assert_eq!(n("5").rem(&n("0")).unwrap().text(), "5");
        assert!(n("0.1").add(&n("0.2")).unwrap() == n("0.3"));
        assert!(n("1") == n("1.0"));
        assert_eq!(n("2.5").floor().text(), "2");
        assert_eq!(n("-2.5").floor().text(), "-3");
        assert_eq!(n("-2.5").ceil().text(), "-2");
        assert_eq!(n("-0.5").ceil().text(), "0");
        assert_eq!(n("9007199254740993").to_i64(), Some(9007199254740993));
        assert_eq!(n("0.1").to_f64(), 0.1);
        assert_eq!(n("1e-320").to_f64(), 1e-320);
        assert_eq!(n("1").div(&n("0")).unwrap().text(), "+Inf");
        assert!(n("0").div(&n("0")).is_none());
        assert_eq!(n("1e400").text().len(), 401);
        assert!(n("1e100000").is_infinite());
        assert!(Number::parse("1x").is_none() && Number::parse("").is_none() && Number::parse(".").is_none());
    }

    #[test]
    fn go_verbs() {
        assert_eq!(n("1e21").go_text('g', -1), "1e+21");
        assert_eq!(n("1234567").go_text('g', -1), "1.234567e+06");
        assert_eq!(n("123456").go_text('g', -1), "123456");
        assert_eq!(n("0.0001").go_text('g', -1), "0.0001");
        assert_eq!(n("3.14159").go_text('f', 2), "3.14");
        assert_eq!(n("2.5").go_text('f', 0), "2");
        assert_eq!(n("1234.5678").go_text('e', 3), "1.235e+03");
        assert_eq!(n("0").go_text('f', 6), "0.000000");
        assert_eq!(n("0.004").go_text('f', 2), "0.00");
    }
}

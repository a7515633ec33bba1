//! How numbers are written, as Go writes a `big.Float`: the exact decimal
//! digits of `mant × 2^exp`, Go's shortest digits that read back at a
//! precision (`roundShortest`), and the `%e %f %g` layouts.

use num_bigint::BigUint;
use num_traits::Zero;

use super::{pow5, Form, Number};

impl Number {
    /// `Text(verb, prec)` with its sign (`%v` of a number is `Text('g', -1)`).
    pub fn go_text_signed(&self, verb: char, prec: i64) -> String {
        let body = self.go_text(verb, prec);
        match (self.neg, self.form == Form::Inf) {
            (true, _) => format!("-{body}"),
            (false, true) => format!("+{body}"),
            _ => body,
        }
    }

    /// The exact decimal digits of the value, or the shortest that reads back
    /// as it at its precision.
    fn decimal(&self, shortest: bool) -> Decimal {
        let Form::Finite { mant, exp } = &self.form else { return Decimal::default() };
        let mut d = Decimal::exact(mant, *exp);
        if shortest {
            // Go's roundShortest: bounds half an ulp either side at this precision.
            let s = u64::from(self.prec) + 1 - mant.bits();
            let m: BigUint = mant << s;
            let e = exp - s as i64;
            let lower = Decimal::exact(&(&m - 1u32), e);
            let upper = Decimal::exact(&(&m + 1u32), e);
            let inclusive = !m.bit(1);
            for i in 0..d.digits.len() {
                let (l, c, u) = (lower.at(i), d.digits[i], upper.at(i));
                let okdown = l != c || inclusive && i + 1 == lower.digits.len();
                let okup = c != u && (inclusive || c + 1 < u || i + 1 < upper.digits.len());
                if okdown && okup {
                    d.round(i + 1);
                    break;
                } else if okdown {
                    d.round_down(i + 1);
                    break;
                } else if okup {
                    d.round_up(i + 1);
                    break;
                }
            }
        }
        d
    }

    /// `Text('f', -1)`: how Terraform shows a number everywhere (JSON, strings).
    pub fn text(&self) -> String {
        match self.form {
            Form::Inf => return if self.neg { "-Inf" } else { "+Inf" }.to_string(),
            Form::Zero => return if self.neg { "-0" } else { "0" }.to_string(),
            Form::Finite { .. } => {}
        }
        // A whole number inside its precision (every integer a configuration
        // counts with): its digits are exact and shortest, written without
        // the big-number arithmetic below.
        if let Form::Finite { mant, exp } = &self.form {
            let top = mant.bits() + (*exp).max(0) as u64;
            if *exp >= 0 && top <= 64 && top <= u64::from(self.prec) {
                if let Some(m) = num_traits::ToPrimitive::to_u64(mant) {
                    let v = m << *exp;
                    return if self.neg { format!("-{v}") } else { v.to_string() };
                }
            }
        }
        let d = self.decimal(true);
        let prec = (d.digits.len() as i64 - d.exp).max(0) as usize;
        let mut out = String::with_capacity(d.digits.len() + 4);
        if self.neg {
            out.push('-');
        }
        fmt_f(&mut out, &d, prec);
        out
    }

    /// The text Terraform stores and prints for the value: Terraform's values
    /// pass through msgpack, where a fraction that a float64 holds exactly
    /// becomes a float64, shown as the shortest decimal at 53 bits
    /// (`1/2^60` is `0.0000000000000000008673617379884035` there).
    pub fn json_text(&self) -> String {
        match &self.form {
            Form::Finite { mant, exp } if *exp < 0 && mant.bits() <= 53 && exp + mant.bits() as i64 > -1022 => {
                Number { prec: 53, ..self.clone() }.text()
            }
            _ => self.text(),
        }
    }

    /// Go's `big.Float.Text(verb, prec)` for the verbs `e E f g G` (prec -1
    /// is the shortest), without the sign.
    pub fn go_text(&self, verb: char, prec: i64) -> String {
        match self.form {
            Form::Inf => return "Inf".to_string(),
            Form::Zero | Form::Finite { .. } => {}
        }
        let shortest = prec < 0;
        let mut d = self.decimal(shortest);
        let mut prec = prec;
        if shortest {
            prec = match verb {
                'e' | 'E' => d.digits.len() as i64 - 1,
                'f' => (d.digits.len() as i64 - d.exp).max(0),
                _ => d.digits.len() as i64,
            };
        } else {
            match verb {
                'e' | 'E' => d.round((1 + prec) as usize),
                'f' => {
                    let n = d.exp + prec;
                    if n >= 0 {
                        d.round(n as usize)
                    }
                }
                _ => {
                    if prec == 0 {
                        prec = 1;
                    }
                    d.round(prec as usize)
                }
            }
        }
        let mut out = String::new();
        match verb {
            'e' | 'E' => fmt_e(&mut out, verb, &d, prec.max(0) as usize),
            'f' => fmt_f(&mut out, &d, prec.max(0) as usize),
            _ => {
                let mut eprec = prec;
                if eprec > d.digits.len() as i64 && d.digits.len() as i64 >= d.exp {
                    eprec = d.digits.len() as i64;
                }
                if shortest {
                    eprec = 6;
                }
                let exp = d.exp - 1;
                let e = if verb == 'G' { 'E' } else { 'e' };
                if d.digits.is_empty() {
                    out.push('0');
                } else if exp < -4 || exp >= eprec {
                    let p = prec.min(d.digits.len() as i64);
                    fmt_e(&mut out, e, &d, (p - 1).max(0) as usize);
                } else {
                    let p = if prec > d.exp { d.digits.len() as i64 } else { prec };
                    fmt_f(&mut out, &d, (p - d.exp).max(0) as usize);
                }
            }
        }
        out
    }
}

/// Decimal digits `0.d1d2d3… × 10^exp`, no trailing zeros (Go's `decimal`).
#[derive(Default)]
struct Decimal {
    digits: Vec<u8>,
    exp: i64,
}

impl Decimal {
    /// `mant × 2^exp` exactly.
    fn exact(mant: &BigUint, exp: i64) -> Decimal {
        let (n, point_shift) = if exp >= 0 { (mant << (exp as u64), 0) } else { (mant * pow5((-exp) as u64), -exp) };
        if n.is_zero() {
            return Decimal::default();
        }
        let mut digits: Vec<u8> = n.to_str_radix(10).into_bytes().into_iter().map(|b| b - b'0').collect();
        let exp = digits.len() as i64 - point_shift;
        while digits.last() == Some(&0) {
            digits.pop();
        }
        Decimal { digits, exp }
    }

    fn at(&self, i: usize) -> u8 {
        self.digits.get(i).copied().unwrap_or(0)
    }

    /// Round half-to-even at `n` digits (Go's `decimal.round`).
    fn round(&mut self, n: usize) {
        if n >= self.digits.len() {
            return;
        }
        let up = if self.digits[n] == 5 && n + 1 == self.digits.len() {
            n > 0 && self.digits[n - 1] % 2 == 1
        } else {
            self.digits[n] >= 5
        };
        if up {
            self.round_up(n)
        } else {
            self.round_down(n)
        }
    }

    fn round_up(&mut self, n: usize) {
        if n >= self.digits.len() {
            return;
        }
        let mut i = n;
        while i > 0 && self.digits[i - 1] >= 9 {
            i -= 1;
        }
        if i == 0 {
            self.digits.clear();
            self.digits.push(1);
            self.exp += 1;
            return;
        }
        self.digits[i - 1] += 1;
        self.digits.truncate(i);
    }

    fn round_down(&mut self, n: usize) {
        if n >= self.digits.len() {
            return;
        }
        self.digits.truncate(n);
        while self.digits.last() == Some(&0) {
            self.digits.pop();
        }
        if self.digits.is_empty() {
            self.exp = 0;
        }
    }
}

fn fmt_f(out: &mut String, d: &Decimal, prec: usize) {
    if d.exp > 0 {
        let m = (d.digits.len() as i64).min(d.exp) as usize;
        out.extend(d.digits[..m].iter().map(|&c| (b'0' + c) as char));
        for _ in m as i64..d.exp {
            out.push('0');
        }
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for i in 0..prec as i64 {
            let at = d.exp + i;
            out.push((b'0' + if at < 0 { 0 } else { d.at(at as usize) }) as char);
        }
    }
}

fn fmt_e(out: &mut String, verb: char, d: &Decimal, prec: usize) {
    out.push((b'0' + d.digits.first().copied().unwrap_or(0)) as char);
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            out.push((b'0' + d.at(i)) as char);
        }
    }
    out.push(verb);
    let exp = if d.digits.is_empty() { 0 } else { d.exp - 1 };
    out.push(if exp < 0 { '-' } else { '+' });
    let mag = exp.unsigned_abs();
    if mag < 10 {
        out.push('0');
    }
    out.push_str(&mag.to_string());
}

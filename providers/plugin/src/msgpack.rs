//! cty values as MessagePack, the way Terraform's providers read and write
//! them (the protocol's object wire format): encoding and decoding are driven
//! by the type, null is nil, an unknown is an extension value (type 0 when
//! Landform writes it; any extension type when it reads, refinements
//! ignored), and a value of a `dynamic` slot is a two-element array of its
//! type's JSON (as binary) and the value.

use crate::cty::{Type, Value};
use crate::Error;
use rmp::Marker;
use serde_json::Number;
use std::collections::BTreeMap;

/// The deepest nesting a decoded value may have (types nest no deeper than
/// JSON's parser allows, but a dynamic value's type comes from the wire).
const MAX_DEPTH: usize = 100;

/// Encode `v` as a value of type `ty`. Primitive values are converted as
/// Terraform converts them (a number where a string is wanted becomes its
/// decimal text; `"true"` where a bool is wanted becomes true); anything else
/// that does not fit the type is an error naming where.
pub fn encode(v: &Value, ty: &Type) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    encode_into(&mut out, v, ty, &mut String::new())?;
    Ok(out)
}

/// Decode a value of type `ty`.
pub fn decode(bytes: &[u8], ty: &Type) -> Result<Value, Error> {
    let mut r = Reader { b: bytes, pos: 0 };
    let v = r.value(ty, 0)?;
    if r.pos != bytes.len() {
        return Err(r.err("trailing bytes after the value"));
    }
    Ok(v)
}

fn mismatch(path: &str, ty: &Type, v: &Value) -> Error {
    let got = match v {
        Value::Null => "null",
        Value::Unknown => "unknown",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::List(_) => "a list",
        Value::Map(_) => "an object or map",
        Value::Typed(..) => "a typed value",
    };
    let at = if path.is_empty() { "the value".to_string() } else { path.to_string() };
    Error::Value(format!("{at}: {ty} required, but got {got}"))
}

fn encode_into(out: &mut Vec<u8>, v: &Value, ty: &Type, path: &mut String) -> Result<(), Error> {
    if let (Type::Dynamic, Value::Typed(t, inner)) = (ty, v) {
        return encode_dynamic(out, t, inner, path);
    }
    if let Value::Typed(_, inner) = v {
        return encode_into(out, inner, ty, path);
    }
    match v {
        Value::Null => {
            rmp::encode::write_nil(out).map_err(io)?;
            return Ok(());
        }
        Value::Unknown => {
            // cty writes a bare unknown as a one-byte extension of type 0.
            rmp::encode::write_ext_meta(out, 1, 0).map_err(io)?;
            out.push(0);
            return Ok(());
        }
        _ => {}
    }
    match (ty, v) {
        (Type::Dynamic, _) => encode_dynamic(out, &Type::infer(v), v, path),
        (Type::String, Value::String(s)) => rmp::encode::write_str(out, s).map_err(io),
        (Type::String, Value::Number(n)) => rmp::encode::write_str(out, &n.to_string()).map_err(io),
        (Type::String, Value::Bool(b)) => rmp::encode::write_str(out, if *b { "true" } else { "false" }).map_err(io),
        (Type::Number, Value::Number(n)) => write_number(out, n),
        (Type::Number, Value::String(s)) => match s.trim().parse::<Number>() {
            Ok(n) if !s.trim().is_empty() => write_number(out, &n),
            _ => Err(Error::Value(format!("{}: a number is required, but got {s:?}", at(path)))),
        },
        (Type::Bool, Value::Bool(b)) => rmp::encode::write_bool(out, *b).map_err(io),
        (Type::Bool, Value::String(s)) if s == "true" || s == "false" => {
            rmp::encode::write_bool(out, s == "true").map_err(io)
        }
        (Type::List(t) | Type::Set(t), Value::List(items)) => {
            rmp::encode::write_array_len(out, len32(items.len())?).map_err(io)?;
            for (i, item) in items.iter().enumerate() {
                let n = path.len();
                path.push_str(&format!("[{i}]"));
                encode_into(out, item, t, path)?;
                path.truncate(n);
            }
            Ok(())
        }
        (Type::Tuple(ts), Value::List(items)) => {
            if ts.len() != items.len() {
                return Err(Error::Value(format!(
                    "{}: a tuple of {} elements is required, but got {}",
                    at(path),
                    ts.len(),
                    items.len()
                )));
            }
            rmp::encode::write_array_len(out, len32(items.len())?).map_err(io)?;
            for (i, (item, t)) in items.iter().zip(ts).enumerate() {
                let n = path.len();
                path.push_str(&format!("[{i}]"));
                encode_into(out, item, t, path)?;
                path.truncate(n);
            }
            Ok(())
        }
        (Type::Map(t), Value::Map(m)) => {
            rmp::encode::write_map_len(out, len32(m.len())?).map_err(io)?;
            for (k, item) in m {
                rmp::encode::write_str(out, k).map_err(io)?;
                let n = path.len();
                path.push_str(&format!("[{k:?}]"));
                encode_into(out, item, t, path)?;
                path.truncate(n);
            }
            Ok(())
        }
        (Type::Object { attributes, .. }, Value::Map(m)) => {
            if let Some(extra) = m.keys().find(|k| !attributes.contains_key(*k)) {
                return Err(Error::Value(format!(
                    "{}: unsupported attribute {extra:?}",
                    if path.is_empty() { "the object" } else { path.as_str() }
                )));
            }
            rmp::encode::write_map_len(out, len32(attributes.len())?).map_err(io)?;
            for (k, t) in attributes {
                rmp::encode::write_str(out, k).map_err(io)?;
                let n = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                encode_into(out, m.get(k).unwrap_or(&Value::Null), t, path)?;
                path.truncate(n);
            }
            Ok(())
        }
        _ => Err(mismatch(path, ty, v)),
    }
}

fn at(path: &str) -> &str {
    if path.is_empty() {
        "the value"
    } else {
        path
    }
}

fn encode_dynamic(out: &mut Vec<u8>, ty: &Type, v: &Value, path: &mut String) -> Result<(), Error> {
    if *ty == Type::Dynamic {
        // Only null and unknown have no type of their own.
        return encode_into(out, v, &Type::String, path);
    }
    rmp::encode::write_array_len(out, 2).map_err(io)?;
    rmp::encode::write_bin(out, ty.to_json().to_string().as_bytes()).map_err(io)?;
    encode_into(out, v, ty, path)
}

/// Integers as integers, numbers a float holds exactly as a float, and the
/// rest as decimal text (cty's rule, so no precision is lost).
fn write_number(out: &mut Vec<u8>, n: &Number) -> Result<(), Error> {
    if let Some(i) = n.as_i64() {
        rmp::encode::write_sint(out, i).map_err(io)?;
    } else if let Some(u) = n.as_u64() {
        rmp::encode::write_uint(out, u).map_err(io)?;
    } else {
        let text = n.to_string();
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() && exact_float(&text, f) => rmp::encode::write_f64(out, f).map_err(io)?,
            _ => rmp::encode::write_str(out, &text).map_err(io)?,
        }
    }
    Ok(())
}

/// Whether `f` is exactly the number `text` spells (cty's rule: a number
/// goes as a float only when no digit is lost), compared as decimal digits
/// and exponent: a finite float is m·2^e, which is m·5^-e·10^e when e < 0.
fn exact_float(text: &str, f: f64) -> bool {
    let Some(t) = canonical(text) else { return false };
    let bits = f.to_bits();
    let (neg, exp_bits, frac) = (bits >> 63 == 1, ((bits >> 52) & 0x7ff) as i64, bits & ((1 << 52) - 1));
    let (m, e) = if exp_bits == 0 { (frac, -1074) } else { (frac | (1 << 52), exp_bits - 1075) };
    let (digits, exp10) = if e >= 0 {
        (num_bigint::BigUint::from(m) << e as usize, 0)
    } else {
        (num_bigint::BigUint::from(m) * num_bigint::BigUint::from(5u8).pow((-e) as u32), e)
    };
    canonical(&format!("{}{digits}e{exp10}", if neg { "-" } else { "" })) == Some(t)
}

/// A decimal number's sign, significant digits and exponent, zero as one form.
fn canonical(s: &str) -> Option<(bool, String, i64)> {
    let (neg, s) = s.strip_prefix('-').map_or((false, s), |r| (true, r));
    let (mant, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], s[i + 1..].trim_start_matches('+').parse::<i64>().ok()?),
        None => (s, 0),
    };
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = format!("{int}{frac}");
    let trimmed = digits.trim_start_matches('0');
    let stripped = trimmed.trim_end_matches('0');
    if stripped.is_empty() {
        return Some((false, String::new(), 0));
    }
    let exp = exp - frac.len() as i64 + (trimmed.len() - stripped.len()) as i64;
    Some((neg, stripped.to_string(), exp))
}

fn len32(n: usize) -> Result<u32, Error> {
    u32::try_from(n).map_err(|_| Error::Value("a collection too large for msgpack".into()))
}

fn io(e: impl std::fmt::Display) -> Error {
    Error::Value(format!("cannot write msgpack: {e}"))
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn err(&self, what: &str) -> Error {
        Error::Value(format!("bad msgpack at byte {}: {what}", self.pos))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if self.b.len() - self.pos < n {
            return Err(self.err("value runs past the end"));
        }
        let s = &self.b[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn uint(&mut self, n: usize) -> Result<u64, Error> {
        Ok(self.take(n)?.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    fn marker(&mut self) -> Result<Marker, Error> {
        Ok(Marker::from_u8(self.take(1)?[0]))
    }

    /// An extension value's payload length, if the marker is one.
    fn ext_len(&mut self, m: Marker) -> Result<Option<usize>, Error> {
        Ok(Some(match m {
            Marker::FixExt1 => 1,
            Marker::FixExt2 => 2,
            Marker::FixExt4 => 4,
            Marker::FixExt8 => 8,
            Marker::FixExt16 => 16,
            Marker::Ext8 => self.uint(1)? as usize,
            Marker::Ext16 => self.uint(2)? as usize,
            Marker::Ext32 => self.uint(4)? as usize,
            _ => return Ok(None),
        }))
    }

    fn str_len(&mut self, m: Marker) -> Result<Option<usize>, Error> {
        Ok(Some(match m {
            Marker::FixStr(n) => n as usize,
            Marker::Str8 => self.uint(1)? as usize,
            Marker::Str16 => self.uint(2)? as usize,
            Marker::Str32 => self.uint(4)? as usize,
            _ => return Ok(None),
        }))
    }

    fn bin_len(&mut self, m: Marker) -> Result<Option<usize>, Error> {
        Ok(Some(match m {
            Marker::Bin8 => self.uint(1)? as usize,
            Marker::Bin16 => self.uint(2)? as usize,
            Marker::Bin32 => self.uint(4)? as usize,
            _ => return Ok(None),
        }))
    }

    fn array_len(&mut self, m: Marker) -> Result<Option<usize>, Error> {
        Ok(Some(match m {
            Marker::FixArray(n) => n as usize,
            Marker::Array16 => self.uint(2)? as usize,
            Marker::Array32 => self.uint(4)? as usize,
            _ => return Ok(None),
        }))
    }

    fn map_len(&mut self, m: Marker) -> Result<Option<usize>, Error> {
        Ok(Some(match m {
            Marker::FixMap(n) => n as usize,
            Marker::Map16 => self.uint(2)? as usize,
            Marker::Map32 => self.uint(4)? as usize,
            _ => return Ok(None),
        }))
    }

    fn string(&mut self, m: Marker) -> Result<Option<String>, Error> {
        let Some(n) = self.str_len(m)? else { return Ok(None) };
        let bytes = self.take(n)?;
        String::from_utf8(bytes.to_vec()).map(Some).map_err(|_| self.err("a string is not UTF-8"))
    }

    fn key(&mut self) -> Result<String, Error> {
        let m = self.marker()?;
        self.string(m)?.ok_or_else(|| self.err("a map key is not a string"))
    }

    fn value(&mut self, ty: &Type, depth: usize) -> Result<Value, Error> {
        if depth > MAX_DEPTH {
            return Err(self.err("values nested too deep"));
        }
        let m = self.marker()?;
        if let Some(n) = self.ext_len(m)? {
            // Any extension is an unknown: type byte, then a payload that
            // only refinements use, which Landform does not need.
            self.take(1 + n)?;
            return Ok(Value::Unknown);
        }
        if m == Marker::Null {
            return Ok(Value::Null);
        }
        let wrong = |r: &Self| r.err(&format!("{m:?} where {ty} was expected"));
        match ty {
            Type::Dynamic => {
                if self.array_len(m)? != Some(2) {
                    return Err(self.err("a dynamic value is not a [type, value] pair"));
                }
                let tm = self.marker()?;
                let tb = match self.bin_len(tm)? {
                    Some(n) => self.take(n)?.to_vec(),
                    None => {
                        self.string(tm)?.ok_or_else(|| self.err("a dynamic value's type is not bytes"))?.into_bytes()
                    }
                };
                let t = Type::from_json_bytes(&tb)?;
                let v = self.value(&t, depth + 1)?;
                Ok(Value::Typed(t, Box::new(v)))
            }
            Type::String => self.string(m)?.map(Value::String).ok_or_else(|| wrong(self)),
            Type::Bool => match m {
                Marker::True => Ok(Value::Bool(true)),
                Marker::False => Ok(Value::Bool(false)),
                _ => Err(wrong(self)),
            },
            Type::Number => {
                let n: Number = match m {
                    Marker::FixPos(n) => n.into(),
                    Marker::FixNeg(n) => n.into(),
                    Marker::U8 => self.uint(1)?.into(),
                    Marker::U16 => self.uint(2)?.into(),
                    Marker::U32 => self.uint(4)?.into(),
                    Marker::U64 => self.uint(8)?.into(),
                    Marker::I8 => (self.uint(1)? as u8 as i8).into(),
                    Marker::I16 => (self.uint(2)? as u16 as i16).into(),
                    Marker::I32 => (self.uint(4)? as u32 as i32).into(),
                    Marker::I64 => (self.uint(8)? as i64).into(),
                    Marker::F32 => float(f64::from(f32::from_bits(self.uint(4)? as u32))).ok_or_else(|| wrong(self))?,
                    Marker::F64 => float(f64::from_bits(self.uint(8)?)).ok_or_else(|| wrong(self))?,
                    _ => {
                        let s = self.string(m)?.ok_or_else(|| wrong(self))?;
                        s.parse::<Number>().map_err(|_| self.err(&format!("{s:?} is not a number")))?
                    }
                };
                Ok(Value::Number(n))
            }
            Type::List(t) | Type::Set(t) => {
                let n = self.array_len(m)?.ok_or_else(|| wrong(self))?;
                self.items(n, |r| r.value(t, depth + 1)).map(Value::List)
            }
            Type::Tuple(ts) => {
                let n = self.array_len(m)?.ok_or_else(|| wrong(self))?;
                if n != ts.len() {
                    return Err(self.err(&format!("a tuple of {n} elements where {} were expected", ts.len())));
                }
                ts.iter().map(|t| self.value(t, depth + 1)).collect::<Result<_, _>>().map(Value::List)
            }
            Type::Map(t) => {
                let n = self.map_len(m)?.ok_or_else(|| wrong(self))?;
                let mut out = BTreeMap::new();
                for _ in 0..n {
                    let k = self.key()?;
                    let v = self.value(t, depth + 1)?;
                    out.insert(k, v);
                }
                Ok(Value::Map(out))
            }
            Type::Object { attributes, .. } => {
                let n = self.map_len(m)?.ok_or_else(|| wrong(self))?;
                let mut out = BTreeMap::new();
                for _ in 0..n {
                    let k = self.key()?;
                    let t = attributes.get(&k).ok_or_else(|| self.err(&format!("unexpected attribute {k:?}")))?;
                    let v = self.value(t, depth + 1)?;
                    out.insert(k, v);
                }
                // Attributes the provider left out are null.
                for k in attributes.keys() {
                    out.entry(k.clone()).or_insert(Value::Null);
                }
                Ok(Value::Map(out))
            }
        }
    }

    /// `n` items, each at least one byte: a length that runs past the end
    /// is refused before anything is allocated for it.
    fn items(&mut self, n: usize, mut f: impl FnMut(&mut Self) -> Result<Value, Error>) -> Result<Vec<Value>, Error> {
        if n > self.b.len() - self.pos {
            return Err(self.err("a collection longer than the message"));
        }
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(f(self)?);
        }
        Ok(out)
    }
}

fn float(f: f64) -> Option<Number> {
    Number::from_f64(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Value {
        Value::Number(s.parse().unwrap())
    }

    fn round_trip(v: &Value, ty: &Type) -> Value {
        let bytes = encode(v, ty).unwrap();
        decode(&bytes, ty).unwrap()
    }

    fn ty(json: &str) -> Type {
        Type::from_json(&serde_json::from_str(json).unwrap()).unwrap()
    }

    #[test]
    fn unknown_is_extension_zero_and_null_is_nil() {
        assert_eq!(encode(&Value::Unknown, &Type::String).unwrap(), vec![0xd4, 0, 0]);
        assert_eq!(encode(&Value::Null, &Type::Number).unwrap(), vec![0xc0]);
        // Any extension type reads as unknown (12 carries refinements).
        assert_eq!(decode(&[0xd4, 12, 0x80], &Type::String).unwrap(), Value::Unknown);
        assert_eq!(decode(&[0xc7, 3, 12, 0x81, 0x01, 0xc2], &Type::String).unwrap(), Value::Unknown);
    }

    #[test]
    fn unknowns_round_trip_at_any_depth() {
        let t = ty(
            r#"["object",{"a":["list",["map",["object",{"x":"string","y":["set","number"]}]]],"b":"bool","c":["tuple",["string","dynamic"]]}]"#,
        );
        let v = Value::object([
            (
                "a",
                Value::List(vec![
                    Value::Unknown,
                    Value::Map(BTreeMap::from([(
                        "k".to_string(),
                        Value::object([("x", Value::Unknown), ("y", Value::List(vec![n("1"), Value::Unknown]))]),
                    )])),
                ]),
            ),
            ("b", Value::Unknown),
            ("c", Value::List(vec![Value::string("s"), Value::Unknown])),
        ]);
        assert_eq!(round_trip(&v, &t), v);
        assert!(v.has_unknown());
        let top = Value::Unknown;
        assert_eq!(round_trip(&top, &t), top);
    }

    #[test]
    fn objects_fill_missing_attributes_with_null_and_refuse_extra_ones() {
        let t = ty(r#"["object",{"a":"string","b":"number"}]"#);
        let v = Value::object([("a", Value::string("x"))]);
        assert_eq!(round_trip(&v, &t), Value::object([("a", Value::string("x")), ("b", Value::Null)]));
        let e = encode(&Value::object([("z", Value::Null)]), &t).unwrap_err().to_string();
        assert!(e.contains("unsupported attribute \"z\""), "{e}");
        let nested = ty(r#"["object",{"o":["list",["object",{"p":"number"}]]}]"#);
        let bad = Value::object([("o", Value::List(vec![Value::object([("p", Value::List(vec![]))])]))]);
        let e = encode(&bad, &nested).unwrap_err().to_string();
        assert!(e.contains("o[0].p: \"number\" required, but got a list"), "{e}");
    }

    #[test]
    fn numbers_keep_their_precision() {
        for s in ["0", "-1", "127", "-33", "65536", "-2147483649", "18446744073709551615", "0.5", "-1.25e-7", "1e300"] {
            assert_eq!(round_trip(&n(s), &Type::Number), n(s), "{s}");
        }
        // Not a float exactly: sent as text, read back exactly.
        let big = n("123456789012345678901234567890.000000000000000000001");
        let bytes = encode(&big, &Type::Number).unwrap();
        assert_eq!(Marker::from_u8(bytes[0]), Marker::Str8);
        assert_eq!(decode(&bytes, &Type::Number).unwrap(), big);
        assert_eq!(Marker::from_u8(encode(&n("0.1"), &Type::Number).unwrap()[0]), Marker::FixStr(3));
        assert_eq!(Marker::from_u8(encode(&n("0.5"), &Type::Number).unwrap()[0]), Marker::F64);
    }

    #[test]
    fn primitives_convert_as_terraform_converts_them() {
        assert_eq!(round_trip(&n("80"), &Type::String), Value::string("80"));
        assert_eq!(round_trip(&Value::string("8080"), &Type::Number), n("8080"));
        assert_eq!(round_trip(&Value::string("true"), &Type::Bool), Value::Bool(true));
        assert!(encode(&Value::string("eighty"), &Type::Number).is_err());
        assert!(encode(&Value::string("yes"), &Type::Bool).is_err());
    }

    #[test]
    fn dynamic_values_travel_with_their_type() {
        let list = ty(r#"["list","string"]"#);
        let v = Value::Typed(list.clone(), Box::new(Value::List(vec![Value::string("a"), Value::Unknown])));
        let bytes = encode(&v, &Type::Dynamic).unwrap();
        // [bin(type JSON), value]
        assert_eq!(bytes[0], 0x92);
        assert_eq!(Marker::from_u8(bytes[1]), Marker::Bin8);
        assert_eq!(&bytes[3..3 + bytes[2] as usize], br#"["list","string"]"#);
        assert_eq!(decode(&bytes, &Type::Dynamic).unwrap(), v);
        // A value from configuration has its type inferred as Terraform's literals are.
        let untyped = Value::object([("n", n("1")), ("l", Value::List(vec![Value::Bool(true)]))]);
        let back = round_trip(&untyped, &Type::Dynamic);
        assert_eq!(back, Value::Typed(ty(r#"["object",{"l":["tuple",["bool"]],"n":"number"}]"#), Box::new(untyped)));
        // Null and unknown need no type.
        assert_eq!(encode(&Value::Null, &Type::Dynamic).unwrap(), vec![0xc0]);
        assert_eq!(round_trip(&Value::Unknown, &Type::Dynamic), Value::Unknown);
        // A typed null keeps its type.
        let typed_null = Value::Typed(Type::String, Box::new(Value::Null));
        assert_eq!(round_trip(&typed_null, &Type::Dynamic), typed_null);
    }

    #[test]
    fn damaged_input_is_an_error_not_a_panic() {
        let t = ty(r#"["object",{"a":["list","string"]}]"#);
        let good = encode(&Value::object([("a", Value::List(vec![Value::string("xyz")]))]), &t).unwrap();
        for cut in 0..good.len() {
            assert!(decode(&good[..cut], &t).is_err(), "cut at {cut}");
        }
        // A huge declared length allocates nothing.
        assert!(decode(&[0xdd, 0xff, 0xff, 0xff, 0xff], &Type::List(Box::new(Type::String))).is_err());
        assert!(decode(&[0xa1, 0xff], &Type::String).is_err(), "invalid UTF-8");
        assert!(decode(&[0x81, 0xa1, b'q', 0xc0], &t).is_err(), "an attribute the type lacks");
        assert!(decode(&[0x01, 0x02], &Type::Number).is_err(), "trailing bytes");
        // A dynamic value whose type nests deeper than the limit.
        let mut deep = Vec::new();
        for _ in 0..300 {
            deep.extend([0x92, 0xc4, 9]);
            deep.extend(b"\"dynamic\"");
        }
        deep.push(0xc0);
        assert!(decode(&deep, &Type::Dynamic).is_err());
    }
}

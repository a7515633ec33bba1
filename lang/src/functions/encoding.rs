//! Encodings and hashes: JSON, YAML, base64, URLs, text encodings, digests
//! and UUIDs, with Terraform's output byte for byte (checked against
//! Terraform in `tests/terraform.rs`).

use super::{arg_err, call_err, def, hex, string, CallError, FuncDef, Kind};
use crate::eval::Host;
use crate::value::Value;
use base64::Engine as _;
use std::collections::BTreeMap;

type R = Result<Value, CallError>;

pub const DEFS: &[FuncDef] = &[
    def("jsonencode", &[Kind::Any], jsonencode),
    def("jsondecode", &[Kind::String], jsondecode),
    def("yamlencode", &[Kind::Any], yamlencode),
    def("yamldecode", &[Kind::String], yamldecode),
    def("base64encode", &[Kind::String], base64encode),
    def("base64decode", &[Kind::String], base64decode),
    def("base64gzip", &[Kind::String], base64gzip),
    def("textencodebase64", &[Kind::String, Kind::String], textencodebase64),
    def("textdecodebase64", &[Kind::String, Kind::String], textdecodebase64),
    def("urlencode", &[Kind::String], urlencode),
    def("md5", &[Kind::String], md5),
    def("sha1", &[Kind::String], sha1),
    def("sha256", &[Kind::String], sha256),
    def("sha512", &[Kind::String], sha512),
    def("base64sha256", &[Kind::String], base64sha256),
    def("base64sha512", &[Kind::String], base64sha512),
    def("uuid", &[], uuid),
    def("uuidv5", &[Kind::String, Kind::String], uuidv5),
    def("sensitive", &[Kind::Any], sensitive).sees_marks(),
    def("nonsensitive", &[Kind::Any], nonsensitive).sees_marks(),
    def("issensitive", &[Kind::Any], issensitive).sees_marks(),
    def("ephemeralasnull", &[Kind::Any], ephemeralasnull).sees_marks(),
];

fn b64(bytes: &[u8]) -> Value {
    Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
}

fn jsonencode(a: &[Value], _: &dyn Host) -> R {
    Ok(Value::String(go_json(&with_negative_zero(&a[0]))))
}

/// The value as JSON, a negative zero written `-0` as Go writes it (a value
/// saved or output is 0: see `to_json`).
fn with_negative_zero(v: &Value) -> serde_json::Value {
    match v {
        Value::Number(n) if n.is_zero() && n.sign_bit() => {
            "-0".parse().map_or(serde_json::Value::Null, serde_json::Value::Number)
        }
        Value::List(items) => serde_json::Value::Array(items.iter().map(with_negative_zero).collect()),
        Value::Object(m) => {
            serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), with_negative_zero(v))).collect())
        }
        Value::Sensitive(v) => with_negative_zero(v),
        other => other.to_json(),
    }
}

/// JSON as Go's encoding/json writes it: `<`, `>`, `&`, U+2028 and U+2029
/// escaped (they can only appear inside strings, so replacing them is safe).
pub(crate) fn go_json(v: &serde_json::Value) -> String {
    let text = serde_json::to_string(v).unwrap_or_default();
    if !text.contains(['<', '>', '&', '\u{2028}', '\u{2029}']) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

fn jsondecode(a: &[Value], _: &dyn Host) -> R {
    let text = lone_surrogates_replaced(string(a, 0)?);
    let j: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| arg_err(0, format!("the string is not valid JSON: {e}")))?;
    Ok(nfc(Value::from_json(&j)))
}

/// Strings (and keys) in Unicode normal form C, as Terraform keeps every
/// string: decoded `"e\u0301"` is `"é"`.
fn nfc(v: Value) -> Value {
    use unicode_normalization::{is_nfc, UnicodeNormalization};
    let text = |s: String| if s.is_ascii() || is_nfc(&s) { s } else { s.nfc().collect() };
    match v {
        Value::String(s) => Value::String(text(s)),
        Value::List(mut l) => {
            l.items = std::mem::take(&mut l.items).into_iter().map(nfc).collect();
            Value::List(l)
        }
        Value::Object(mut m) => {
            m.fields = std::mem::take(&mut m.fields).into_iter().map(|(k, v)| (text(k), nfc(v))).collect();
            Value::Object(m)
        }
        other => other,
    }
}

/// A `\uD83D` escape without its other half stands for U+FFFD, as Go's
/// JSON decoder reads it (serde_json refuses it).
fn lone_surrogates_replaced(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains("\\u") {
        return text.into();
    }
    let unit = |at: usize| -> Option<u16> {
        let hex = text.get(at..at + 6)?.strip_prefix("\\u")?;
        u16::from_str_radix(hex, 16).ok()
    };
    let (mut out, mut i, mut copied) = (String::with_capacity(text.len()), 0, 0);
    while let Some(off) = text[i..].find('\\') {
        let at = i + off;
        match unit(at) {
            Some(0xD800..=0xDBFF) if matches!(unit(at + 6), Some(0xDC00..=0xDFFF)) => i = at + 12,
            Some(0xD800..=0xDFFF) => {
                out.push_str(&text[copied..at]);
                out.push_str("\\uFFFD");
                i = at + 6;
                copied = i;
            }
            Some(_) => i = at + 6,
            // Any other escape: skip the backslash and the character it escapes.
            None => i = (at + 2).min(text.len()),
        }
        while !text.is_char_boundary(i) {
            i += 1;
        }
    }
    out.push_str(&text[copied..]);
    out.into()
}

fn base64encode(a: &[Value], _: &dyn Host) -> R {
    Ok(b64(string(a, 0)?.as_bytes()))
}

fn decode64(a: &[Value], i: usize) -> Result<Vec<u8>, CallError> {
    base64::engine::general_purpose::STANDARD
        .decode(string(a, i)?)
        .map_err(|e| arg_err(i, format!("the string is not valid base64: {e}")))
}

fn base64decode(a: &[Value], _: &dyn Host) -> R {
    let bytes = decode64(a, 0)?;
    Ok(nfc(Value::String(String::from_utf8(bytes).map_err(|_| arg_err(0, "the decoded bytes are not UTF-8 text"))?)))
}

/// gzip, then base64. The compressed bytes are zlib's (miniz), not Go's: they
/// decompress to the same text, but are not Terraform's byte for byte.
fn base64gzip(a: &[Value], _: &dyn Host) -> R {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(string(a, 0)?.as_bytes()).map_err(|e| call_err(e.to_string()))?;
    Ok(b64(&enc.finish().map_err(|e| call_err(e.to_string()))?))
}

/// The encodings `textencodebase64` knows, by IANA name or alias, and the
/// name Terraform gives each in its errors.
fn encoding(name: &str, arg: usize) -> Result<(&'static str, &'static str), CallError> {
    let n = name.to_ascii_uppercase().replace('_', "-");
    Ok(match n.as_str() {
        "UTF-8" | "UTF8" => ("utf8", "UTF-8"),
        "UTF-16" | "UTF16" => ("utf16", "UTF-16"),
        "UTF-16LE" => ("utf16le", "UTF-16LE"),
        "UTF-16BE" => ("utf16be", "UTF-16BE"),
        "UTF-32" => ("utf32", "UTF-32"),
        "UTF-32LE" => ("utf32le", "UTF-32LE"),
        "UTF-32BE" => ("utf32be", "UTF-32BE"),
        "ISO-8859-1" | "ISO8859-1" | "LATIN1" | "L1" | "ISO-IR-100" | "IBM819" | "CP819" | "CSISOLATIN1"
        | "ISO-8859-1:1987" => ("latin1", "ISO_8859-1:1987"),
        "US-ASCII" | "ASCII" | "ANSI-X3.4-1968" | "ISO646-US" | "US" | "IBM367" | "CP367" | "CSASCII" => {
            ("ascii", "US-ASCII")
        }
        _ => {
            return Err(arg_err(
                arg,
                format!("\"{name}\" is not a supported IANA encoding name or alias (as UTF-8, UTF-16LE, ISO-8859-1, windows-1252, Shift_JIS, EUC-KR, GBK, Big5)"),
            ))
        }
    })
}

/// The other encodings Terraform knows (golang.org/x/text's IANA index), by
/// IANA name or alias in any case, with the name its errors give: those
/// made from the WHATWG tables, which encoding_rs has, and ISO-8859-9.
enum Legacy {
    Whatwg(&'static encoding_rs::Encoding),
    /// ISO-8859-9 (Latin-5): Latin-1 with six Turkish letters.
    Latin5,
    /// An IBM code page: the character of each byte.
    CodePage(&'static [u16; 256]),
    /// HZ-GB-2312: GB2312 between `~{` and `~}` in 7-bit bytes.
    Hz,
}

fn legacy(name: &str) -> Option<(Legacy, &'static str)> {
    use encoding_rs::*;
    let lower = name.trim().to_lowercase();
    if matches!(
        lower.as_str(),
        "iso_8859-9:1989" | "iso-ir-148" | "iso_8859-9" | "iso-8859-9" | "latin5" | "l5" | "csisolatin5"
    ) {
        return Some((Legacy::Latin5, "ISO_8859-9:1989"));
    }
    if lower == "hz-gb-2312" {
        return Some((Legacy::Hz, "HZ-GB-2312"));
    }
    if let Some((_, shown, table)) =
        super::codepages::CODE_PAGES.iter().find(|(names, ..)| names.contains(&lower.as_str()))
    {
        return Some((Legacy::CodePage(table), shown));
    }
    let (enc, shown) = match lower.as_str() {
        "iso_8859-2:1987" | "iso-ir-101" | "iso_8859-2" | "iso-8859-2" | "latin2" | "l2" | "csisolatin2" => {
            (ISO_8859_2, "ISO_8859-2:1987")
        }
        "iso_8859-3:1988" | "iso-ir-109" | "iso_8859-3" | "iso-8859-3" | "latin3" | "l3" | "csisolatin3" => {
            (ISO_8859_3, "ISO_8859-3:1988")
        }
        "iso_8859-4:1988" | "iso-ir-110" | "iso_8859-4" | "iso-8859-4" | "latin4" | "l4" | "csisolatin4" => {
            (ISO_8859_4, "ISO_8859-4:1988")
        }
        "iso_8859-5:1988" | "iso-ir-144" | "iso_8859-5" | "iso-8859-5" | "cyrillic" | "csisolatincyrillic" => {
            (ISO_8859_5, "ISO_8859-5:1988")
        }
        "iso_8859-6:1987" | "iso-ir-127" | "iso_8859-6" | "iso-8859-6" | "ecma-114" | "asmo-708" | "arabic"
        | "csisolatinarabic" => (ISO_8859_6, "ISO_8859-6:1987"),
        "iso_8859-7:1987" | "iso-ir-126" | "iso_8859-7" | "iso-8859-7" | "elot_928" | "ecma-118" | "greek"
        | "greek8" | "csisolatingreek" => (ISO_8859_7, "ISO_8859-7:1987"),
        "iso_8859-8:1988" | "iso-ir-138" | "iso_8859-8" | "iso-8859-8" | "hebrew" | "csisolatinhebrew" => {
            (ISO_8859_8, "ISO_8859-8:1988")
        }
        "iso-8859-10" | "iso-ir-157" | "l6" | "iso_8859-10:1992" | "csisolatin6" | "latin6" => {
            (ISO_8859_10, "ISO-8859-10")
        }
        "shift_jis" | "ms_kanji" | "csshiftjis" => (SHIFT_JIS, "Shift_JIS"),
        "extended_unix_code_packed_format_for_japanese" | "cseucpkdfmtjapanese" | "euc-jp" => (EUC_JP, "EUC-JP"),
        "euc-kr" | "cseuckr" => (EUC_KR, "EUC-KR"),
        "iso-2022-jp" | "csiso2022jp" => (ISO_2022_JP, "ISO-2022-JP"),
        "iso_8859-8-i" | "csiso88598i" | "iso-8859-8-i" => (ISO_8859_8_I, "ISO_8859-8-I"),
        "iso-8859-13" | "csiso885913" => (ISO_8859_13, "ISO-8859-13"),
        "iso-8859-14" | "iso-ir-199" | "iso_8859-14:1998" | "iso_8859-14" | "latin8" | "iso-celtic" | "l8"
        | "csiso885914" => (ISO_8859_14, "ISO-8859-14"),
        "iso-8859-15" | "iso_8859-15" | "latin-9" | "csiso885915" => (ISO_8859_15, "ISO-8859-15"),
        "iso-8859-16" | "iso-ir-226" | "iso_8859-16:2001" | "iso_8859-16" | "latin10" | "l10" | "csiso885916" => {
            (ISO_8859_16, "ISO-8859-16")
        }
        "gbk" | "cp936" | "ms936" | "windows-936" | "csgbk" => (GBK, "GBK"),
        "gb18030" | "csgb18030" => (GB18030, "GB18030"),
        "big5" | "csbig5" => (BIG5, "Big5"),
        "macintosh" | "mac" | "csmacintosh" => (MACINTOSH, "macintosh"),
        "koi8-r" | "cskoi8r" => (KOI8_R, "KOI8-R"),
        "ibm866" | "cp866" | "866" | "csibm866" => (IBM866, "IBM866"),
        "koi8-u" | "cskoi8u" => (KOI8_U, "KOI8-U"),
        "windows-874" | "cswindows874" => (WINDOWS_874, "windows-874"),
        "windows-1250" | "cswindows1250" => (WINDOWS_1250, "windows-1250"),
        "windows-1251" | "cswindows1251" => (WINDOWS_1251, "windows-1251"),
        "windows-1252" | "cswindows1252" => (WINDOWS_1252, "windows-1252"),
        "windows-1253" | "cswindows1253" => (WINDOWS_1253, "windows-1253"),
        "windows-1254" | "cswindows1254" => (WINDOWS_1254, "windows-1254"),
        "windows-1255" | "cswindows1255" => (WINDOWS_1255, "windows-1255"),
        "windows-1256" | "cswindows1256" => (WINDOWS_1256, "windows-1256"),
        "windows-1257" | "cswindows1257" => (WINDOWS_1257, "windows-1257"),
        "windows-1258" | "cswindows1258" => (WINDOWS_1258, "windows-1258"),
        _ => return None,
    };
    Some((Legacy::Whatwg(enc), shown))
}

/// Latin-5's six letters where Latin-1 has others.
const LATIN5: [(u8, char); 6] = [(0xD0, 'Ğ'), (0xDD, 'İ'), (0xDE, 'Ş'), (0xF0, 'ğ'), (0xFD, 'ı'), (0xFE, 'ş')];

/// Text in a legacy encoding, or `None` where a character has no bytes
/// there. Go's tables differ from WHATWG's in what they leave out: a
/// single-byte encoding has no C1 control (U+0080-U+009F), and Shift_JIS
/// and EUC-JP have no `¥`, `‾` or `−` (WHATWG maps them to `\`, `~`, `－`).
fn legacy_encode(s: &str, enc: &Legacy) -> Option<Vec<u8>> {
    match enc {
        Legacy::Latin5 => s
            .chars()
            .map(|c| match LATIN5.iter().find(|(_, l)| *l == c) {
                Some((b, _)) => Some(*b),
                None if LATIN5.iter().any(|(b, _)| u32::from(*b) == c as u32) => None,
                None => u8::try_from(c as u32).ok(),
            })
            .collect(),
        Legacy::CodePage(table) => s
            .chars()
            .map(|c| table.iter().position(|&t| u32::from(t) == c as u32).and_then(|b| u8::try_from(b).ok()))
            .collect(),
        Legacy::Hz => hz_encode(s),
        Legacy::Whatwg(e) => {
            let japanese = *e == encoding_rs::SHIFT_JIS || *e == encoding_rs::EUC_JP;
            if s.chars().any(|c| {
                (e.is_single_byte() && ('\u{80}'..='\u{9f}').contains(&c))
                    || (japanese && matches!(c, '\u{a5}' | '\u{203e}' | '\u{2212}'))
            }) {
                return None;
            }
            if *e == encoding_rs::ISO_2022_JP {
                return iso_2022_jp(s);
            }
            let (bytes, _, unmappable) = e.encode(s);
            if unmappable {
                return None;
            }
            if *e == encoding_rs::SHIFT_JIS {
                return Some(nec_selected(&bytes));
            }
            Some(bytes.into_owned())
        }
    }
}

/// Go's HZ-GB-2312 encoder: `~` is `~~`, GB2312 characters go between `~{`
/// and `~}` as their GBK bytes less 0x80; the text may end inside `~{`
/// (Go's encoder does not switch back).
fn hz_encode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut gb = false;
    for c in s.chars() {
        if c == '~' {
            out.extend_from_slice(b"~~");
        } else if c.is_ascii() {
            if gb {
                out.extend_from_slice(b"~}");
                gb = false;
            }
            out.push(c as u8);
        } else {
            let mut buf = [0u8; 4];
            let (bytes, _, unmappable) = encoding_rs::GBK.encode(c.encode_utf8(&mut buf));
            // GBK writes `€` as the one byte 0x80; its table, which HZ uses, has it at A2E3.
            let [a, b] = if c == '€' { [0xa2, 0xe3] } else { bytes[..].try_into().ok()? };
            if unmappable || !(0xa1..0xfe).contains(&a) || !(0xa1..0xff).contains(&b) {
                return None;
            }
            if !gb {
                out.extend_from_slice(b"~{");
                gb = true;
            }
            out.extend_from_slice(&[a - 0x80, b - 0x80]);
        }
    }
    Some(out)
}

/// Go's HZ-GB-2312 decoder; `None` where it would write U+FFFD.
fn hz_decode(bytes: &[u8]) -> Option<String> {
    let mut out = String::new();
    let mut gb = false;
    let mut i = 0;
    while i < bytes.len() {
        let c0 = bytes[i];
        if c0 >= 0x80 {
            return None;
        }
        if c0 == b'~' {
            match bytes.get(i + 1) {
                Some(b'{') => gb = true,
                Some(b'}') => gb = false,
                Some(b'~') => out.push('~'),
                Some(b'\n') => {}
                _ => return None,
            }
            i += 2;
            continue;
        }
        if !gb {
            out.push(char::from(c0));
            i += 1;
            continue;
        }
        let c1 = *bytes.get(i + 1)?;
        if !(0x21..0x7e).contains(&c0) || !(0x21..0x7f).contains(&c1) {
            return None;
        }
        let pair = [c0 + 0x80, c1 + 0x80];
        let (text, malformed) = encoding_rs::GBK.decode_without_bom_handling(&pair);
        if malformed || text.contains('\u{fffd}') {
            return None;
        }
        out.push_str(&text);
        i += 2;
    }
    Some(out)
}

/// Go's ISO-2022-JP: ASCII, JIS X 0208 after `ESC $ B`, and half-width
/// katakana as JIS X 0201 after `ESC ( I` (WHATWG makes them full-width),
/// back to ASCII at the end.
fn iso_2022_jp(s: &str) -> Option<Vec<u8>> {
    const ESC: [&[u8]; 3] = [b"\x1b(B", b"\x1b$B", b"\x1b(I"];
    let mut out = Vec::new();
    let mut mode = 0;
    let mut switch = |out: &mut Vec<u8>, to: usize| {
        if mode != to {
            out.extend_from_slice(ESC[to]);
            mode = to;
        }
    };
    for c in s.chars() {
        if c.is_ascii() {
            switch(&mut out, 0);
            out.push(c as u8);
        } else if ('\u{ff61}'..='\u{ff9f}').contains(&c) {
            switch(&mut out, 2);
            out.push((c as u32 - 0xff61 + 0x21) as u8);
        } else {
            // JIS X 0208 is EUC-JP's two bytes less 0x80 each.
            let mut buf = [0u8; 4];
            let (bytes, _, unmappable) = encoding_rs::EUC_JP.encode(c.encode_utf8(&mut buf));
            match *bytes {
                [a, b] if !unmappable && a >= 0xa1 && b >= 0xa1 => {
                    switch(&mut out, 1);
                    out.extend_from_slice(&[a - 0x80, b - 0x80]);
                }
                _ => return None,
            }
        }
    }
    switch(&mut out, 0);
    Some(out)
}

/// Shift_JIS as Go writes it: a character that is both among the IBM
/// extensions (0xFA40-0xFC4B, where WHATWG writes it) and NEC's selection of
/// them (0xED40-0xEEFC) takes its first place in the table, NEC's.
fn nec_selected(bytes: &[u8]) -> Vec<u8> {
    static NEC: std::sync::OnceLock<std::collections::HashMap<char, [u8; 2]>> = std::sync::OnceLock::new();
    let nec = NEC.get_or_init(|| {
        let mut m = std::collections::HashMap::new();
        for lead in 0xedu8..=0xee {
            for trail in (0x40u8..=0x7e).chain(0x80..=0xfc) {
                let pair = [lead, trail];
                let (text, malformed) = encoding_rs::SHIFT_JIS.decode_without_bom_handling(&pair);
                if let (false, Some(c)) = (malformed, text.chars().next()) {
                    m.entry(c).or_insert([lead, trail]);
                }
            }
        }
        m
    });
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let two = (0x81..=0x9f).contains(&b) || (0xe0..=0xfc).contains(&b);
        if two && i + 1 < bytes.len() {
            let pair = [b, bytes[i + 1]];
            let ibm = (0xfa..=0xfc).contains(&b);
            let nec_pair = ibm
                .then(|| encoding_rs::SHIFT_JIS.decode_without_bom_handling(&pair).0.chars().next())
                .flatten()
                .and_then(|c| nec.get(&c));
            out.extend_from_slice(nec_pair.unwrap_or(&pair));
            i += 2;
        } else {
            out.push(b);
            i += 1;
        }
    }
    out
}

/// Bytes of a legacy encoding as text, or `None` where one is not defined
/// there (Terraform refuses what Go decodes to U+FFFD; Go decodes a
/// single-byte encoding's C1 controls so).
fn legacy_decode(bytes: &[u8], enc: &Legacy) -> Option<String> {
    match enc {
        Legacy::Latin5 => Some(
            bytes.iter().map(|&b| LATIN5.iter().find(|(x, _)| *x == b).map_or(char::from(b), |(_, c)| *c)).collect(),
        ),
        Legacy::CodePage(table) => bytes.iter().map(|&b| char::from_u32(u32::from(table[usize::from(b)]))).collect(),
        Legacy::Hz => hz_decode(bytes),
        Legacy::Whatwg(e) => {
            let (text, malformed) = e.decode_without_bom_handling(bytes);
            let c1 = e.is_single_byte() && text.chars().any(|c| ('\u{80}'..='\u{9f}').contains(&c));
            (!malformed && !c1 && !text.contains('\u{fffd}')).then(|| text.into_owned())
        }
    }
}

fn textencodebase64(a: &[Value], _: &dyn Host) -> R {
    if let Some((enc, shown)) = legacy(string(a, 1)?) {
        let bytes = legacy_encode(string(a, 0)?, &enc).ok_or_else(|| {
            arg_err(0, format!("the given string contains characters that cannot be represented in {shown}"))
        })?;
        return Ok(b64(&bytes));
    }
    let s = string(a, 0)?;
    let (enc, shown) = encoding(string(a, 1)?, 1)?;
    let narrow = |max: u32| -> Result<Vec<u8>, CallError> {
        s.chars()
            .map(|c| u8::try_from(c as u32).ok().filter(|b| u32::from(*b) <= max))
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(|| {
                arg_err(0, format!("the given string contains characters that cannot be represented in {shown}"))
            })
    };
    let bytes: Vec<u8> = match enc {
        "utf8" => s.as_bytes().to_vec(),
        "utf16le" => s.encode_utf16().flat_map(u16::to_le_bytes).collect(),
        // Without an order named, big-endian with a byte-order mark, as Go writes it.
        "utf16be" | "utf16" => {
            let bom: &[u8] = if enc == "utf16" { &[0xfe, 0xff] } else { &[] };
            bom.iter().copied().chain(s.encode_utf16().flat_map(u16::to_be_bytes)).collect()
        }
        "utf32le" => s.chars().flat_map(|c| (c as u32).to_le_bytes()).collect(),
        "utf32be" | "utf32" => s.chars().flat_map(|c| (c as u32).to_be_bytes()).collect(),
        "latin1" => narrow(0xff)?,
        _ => narrow(0x7f)?,
    };
    Ok(b64(&bytes))
}

fn textdecodebase64(a: &[Value], _: &dyn Host) -> R {
    let bytes = decode64(a, 0)?;
    if let Some((enc, shown)) = legacy(string(a, 1)?) {
        let text = legacy_decode(&bytes, &enc)
            .ok_or_else(|| arg_err(0, format!("the given string contains symbols that are not defined for {shown}")))?;
        return Ok(nfc(Value::String(text)));
    }
    let (enc, shown) = encoding(string(a, 1)?, 1)?;
    let bad = || arg_err(0, format!("the decoded bytes are not valid {shown}"));
    let units16 = |be: bool, b: &[u8]| -> Vec<u16> {
        b.chunks(2)
            .map(|c| if be { u16::from_be_bytes([c[0], c[1]]) } else { u16::from_le_bytes([c[0], c[1]]) })
            .collect()
    };
    let text = match enc {
        "utf8" => String::from_utf8(bytes).map_err(|_| bad())?,
        "utf16le" | "utf16be" | "utf16" => {
            if bytes.len() % 2 != 0 {
                return Err(bad());
            }
            let (be, body) = match bytes.as_slice() {
                [0xfe, 0xff, rest @ ..] if enc == "utf16" => (true, rest),
                [0xff, 0xfe, rest @ ..] if enc == "utf16" => (false, rest),
                b => (enc != "utf16le", b),
            };
            String::from_utf16(&units16(be, body)).map_err(|_| bad())?
        }
        "utf32le" | "utf32be" | "utf32" => {
            if bytes.len() % 4 != 0 {
                return Err(bad());
            }
            bytes
                .chunks(4)
                .map(|c| {
                    let arr = [c[0], c[1], c[2], c[3]];
                    char::from_u32(if enc == "utf32le" { u32::from_le_bytes(arr) } else { u32::from_be_bytes(arr) })
                })
                .collect::<Option<String>>()
                .ok_or_else(bad)?
        }
        "latin1" => bytes.iter().map(|&b| char::from(b)).collect(),
        _ => {
            if !bytes.is_ascii() {
                return Err(bad());
            }
            bytes.iter().map(|&b| char::from(b)).collect()
        }
    };
    Ok(Value::String(text))
}

/// Go's `url.QueryEscape`: letters, digits and `-_.~` as they are, a space as
/// `+`, every other byte as `%XX`.
fn urlencode(a: &[Value], _: &dyn Host) -> R {
    let mut out = String::new();
    for b in string(a, 0)?.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(char::from(b)),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    Ok(Value::String(out))
}

fn md5(a: &[Value], _: &dyn Host) -> R {
    use md5::Digest;
    Ok(Value::String(hex(&md5::Md5::digest(string(a, 0)?.as_bytes()))))
}

fn sha1(a: &[Value], _: &dyn Host) -> R {
    use sha1::Digest;
    Ok(Value::String(hex(&sha1::Sha1::digest(string(a, 0)?.as_bytes()))))
}

fn sha256(a: &[Value], _: &dyn Host) -> R {
    use sha2::Digest;
    Ok(Value::String(hex(&sha2::Sha256::digest(string(a, 0)?.as_bytes()))))
}

fn sha512(a: &[Value], _: &dyn Host) -> R {
    use sha2::Digest;
    Ok(Value::String(hex(&sha2::Sha512::digest(string(a, 0)?.as_bytes()))))
}

fn base64sha256(a: &[Value], _: &dyn Host) -> R {
    use sha2::Digest;
    Ok(b64(&sha2::Sha256::digest(string(a, 0)?.as_bytes())))
}

fn base64sha512(a: &[Value], _: &dyn Host) -> R {
    use sha2::Digest;
    Ok(b64(&sha2::Sha512::digest(string(a, 0)?.as_bytes())))
}

fn uuid(_: &[Value], host: &dyn Host) -> R {
    Ok(host.uuid().map(Value::String).unwrap_or(Value::Unknown))
}

/// A UUID's 16 bytes from its text form.
/// A UUID in the forms Go's uuid.Parse takes: `xxxxxxxx-xxxx-…` (36
/// characters), in braces, after `urn:uuid:`, or 32 bare hex digits.
fn uuid_bytes(s: &str) -> Option<[u8; 16]> {
    let s = s.strip_prefix('{').and_then(|r| r.strip_suffix('}')).unwrap_or(s);
    let s = match s.get(..9) {
        Some(p) if p.eq_ignore_ascii_case("urn:uuid:") && s.len() == 45 => &s[9..],
        _ => s,
    };
    let dashed = s.len() == 36 && [8, 13, 18, 23].iter().all(|&i| s.as_bytes()[i] == b'-');
    if !(dashed || s.len() == 32) {
        return None;
    }
    let h: String = s.chars().filter(|c| *c != '-').collect();
    if h.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(h.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// RFC 4122 name-based UUID (SHA-1), in one of the well-known namespaces or one given as a UUID.
fn uuidv5(a: &[Value], _: &dyn Host) -> R {
    use sha1::Digest;
    let ns = string(a, 0)?;
    let ns_text = match ns {
        "dns" => "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
        "url" => "6ba7b811-9dad-11d1-80b4-00c04fd430c8",
        "oid" => "6ba7b812-9dad-11d1-80b4-00c04fd430c8",
        "x500" => "6ba7b814-9dad-11d1-80b4-00c04fd430c8",
        other => other,
    };
    let ns_bytes = uuid_bytes(ns_text)
        .ok_or_else(|| arg_err(0, format!("the namespace \"{ns}\" is neither dns, url, oid, x500 nor a UUID")))?;
    let mut h = sha1::Sha1::new();
    h.update(ns_bytes);
    h.update(string(a, 1)?.as_bytes());
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x = hex(&b);
    Ok(Value::String(format!("{}-{}-{}-{}-{}", &x[0..8], &x[8..12], &x[12..16], &x[16..20], &x[20..32])))
}

fn sensitive(a: &[Value], _: &dyn Host) -> R {
    Ok(a[0].clone().secret())
}

fn nonsensitive(a: &[Value], _: &dyn Host) -> R {
    Ok(a[0].unmark_deep().0)
}

/// Whether the value itself is marked sensitive (not a value inside it);
/// unknown when it is unmarked and not yet known.
fn issensitive(a: &[Value], _: &dyn Host) -> R {
    Ok(match &a[0] {
        Value::Sensitive(_) => Value::Bool(true),
        Value::Unknown => Value::Unknown,
        _ => Value::Bool(false),
    })
}

/// Landform has no ephemeral values, so nothing inside becomes null.
fn ephemeralasnull(a: &[Value], _: &dyn Host) -> R {
    Ok(a[0].clone())
}

// --- YAML ---

fn yamlencode(a: &[Value], _: &dyn Host) -> R {
    let mut out = String::new();
    match &a[0] {
        Value::Object(m) if !m.is_empty() => yaml_map(m, 0, false, &mut out)?,
        Value::List(l) if !l.is_empty() => yaml_list(l, 0, false, &mut out)?,
        v => match yaml_scalar(v)? {
            Scalar::Inline(s) if matches!(v, Value::String(_)) || s.starts_with(['{', '[']) => {
                out.push_str(&s);
                out.push('\n');
            }
            // A plain scalar document ends with `...`, as go-yaml writes it.
            Scalar::Inline(s) => {
                out.push_str(&s);
                out.push_str("\n...\n");
            }
            Scalar::Block(header, lines) => yaml_block(&header, &lines, 2, &mut out),
        },
    }
    Ok(Value::String(out))
}

enum Scalar {
    Inline(String),
    /// A literal block: `|`, `|-` or `|+`, and its lines.
    Block(String, Vec<String>),
}

fn yaml_scalar(v: &Value) -> Result<Scalar, CallError> {
    Ok(Scalar::Inline(match v {
        Value::Null | Value::Unknown => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.text(),
        Value::String(s) => return Ok(yaml_string(s)),
        Value::Duration(_) | Value::Percent(_) => return Ok(yaml_string(&v.to_template_string().unwrap_or_default())),
        Value::Object(m) if m.is_empty() => "{}".into(),
        Value::List(l) if l.is_empty() => "[]".into(),
        Value::Sensitive(inner) => return yaml_scalar(inner),
        _ => return Err(call_err("a collection is not a scalar")),
    }))
}

/// A string as go-yaml writes it: a literal block when it spans lines and
/// holds nothing a block cannot, else double-quoted.
fn yaml_string(s: &str) -> Scalar {
    let blockable = s.contains('\n')
        && !s.starts_with([' ', '\n'])
        && s.chars().all(|c| c == '\n' || (!c.is_control() && c != '\u{feff}'))
        && s.split('\n').all(|l| !l.ends_with(' '));
    if blockable {
        let trailing = s.len() - s.trim_end_matches('\n').len();
        let header = match trailing {
            0 => "|-",
            1 => "|",
            _ => "|+",
        };
        let body = if trailing > 0 { &s[..s.len() - 1] } else { s };
        return Scalar::Block(header.into(), body.split('\n').map(str::to_string).collect());
    }
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\x{:02X}", c as u32)),
            '\u{feff}' => out.push_str("\\uFEFF"),
            c => out.push(c),
        }
    }
    out.push('"');
    Scalar::Inline(out)
}

fn yaml_block(header: &str, lines: &[String], indent: usize, out: &mut String) {
    out.push_str(header);
    out.push('\n');
    for l in lines {
        if !l.is_empty() {
            out.push_str(&" ".repeat(indent));
            out.push_str(l);
        }
        out.push('\n');
    }
}

/// A value after `key:` or `-`: on the same line if it is a scalar or empty,
/// else on the lines below.
fn yaml_after(v: &Value, indent: usize, in_list: bool, out: &mut String) -> Result<(), CallError> {
    match v.unmark().0 {
        Value::Object(m) if !m.is_empty() => {
            if in_list {
                out.push(' ');
                yaml_map(m, indent + 2, true, out)
            } else {
                out.push('\n');
                yaml_map(m, indent + 2, false, out)
            }
        }
        Value::List(l) if !l.is_empty() => {
            if in_list {
                out.push(' ');
                yaml_list(l, indent + 2, true, out)
            } else {
                // go-yaml puts a map's list at the map's own indentation.
                out.push('\n');
                yaml_list(l, indent, false, out)
            }
        }
        other => {
            out.push(' ');
            match yaml_scalar(other)? {
                Scalar::Inline(s) => {
                    out.push_str(&s);
                    out.push('\n');
                }
                Scalar::Block(h, lines) => yaml_block(&h, &lines, indent + 2, out),
            }
            Ok(())
        }
    }
}

fn yaml_map(m: &BTreeMap<String, Value>, indent: usize, inline_first: bool, out: &mut String) -> Result<(), CallError> {
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 || !inline_first {
            out.push_str(&" ".repeat(indent));
        }
        match yaml_string(k) {
            Scalar::Inline(q) => out.push_str(&q),
            Scalar::Block(..) => out.push_str(&serde_json::to_string(k).unwrap_or_default()),
        }
        out.push(':');
        yaml_after(v, indent, false, out)?;
    }
    Ok(())
}

fn yaml_list(l: &[Value], indent: usize, inline_first: bool, out: &mut String) -> Result<(), CallError> {
    for (i, v) in l.iter().enumerate() {
        if i > 0 || !inline_first {
            out.push_str(&" ".repeat(indent));
        }
        out.push('-');
        yaml_after(v, indent, true, out)?;
    }
    Ok(())
}

/// Builds values from the parser's events, resolving plain scalars as
/// Terraform's YAML library does (YAML 1.1's booleans, 1.2's numbers).
#[derive(Default)]
struct Builder {
    stack: Vec<Node>,
    anchors: BTreeMap<usize, Value>,
    done: Vec<Value>,
    error: Option<String>,
    /// Bytes copied by aliases so far.
    copied: usize,
}

enum Node {
    List(usize, Vec<Value>),
    Map(usize, BTreeMap<String, Value>, Option<String>),
}

impl Builder {
    fn push(&mut self, v: Value, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, v.clone());
        }
        match self.stack.last_mut() {
            Some(Node::List(_, items)) => items.push(v),
            Some(Node::Map(_, m, key)) => match key.take() {
                Some(k) => {
                    m.insert(k, v);
                }
                None => match v.to_template_string().or_else(|| v.is_null().then(|| "null".to_string())) {
                    Some(k) => *key = Some(k),
                    None => self.error = Some("a map key must be a string, number or bool".into()),
                },
            },
            None => self.done.push(v),
        }
    }
}

impl yaml_rust2::parser::EventReceiver for Builder {
    fn on_event(&mut self, ev: yaml_rust2::parser::Event) {
        use yaml_rust2::parser::Event;
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let plain = style == yaml_rust2::scanner::TScalarStyle::Plain;
                let as_str = tag.as_ref().is_some_and(|t| t.suffix == "str");
                let v = if plain && !as_str {
                    match resolve(&text) {
                        Ok(v) => v,
                        Err(e) => {
                            self.error.get_or_insert(e);
                            Value::Null
                        }
                    }
                } else {
                    Value::String(text)
                };
                self.push(v, anchor);
            }
            Event::Alias(id) => {
                let v = self.anchors.get(&id).cloned().unwrap_or(Value::Null);
                // Aliases of aliases grow exponentially ("billion laughs"): count what they copy.
                self.copied = self.copied.saturating_add(v.size_up_to(crate::value::MAX_VALUE_SIZE + 1));
                if self.copied > crate::value::MAX_VALUE_SIZE {
                    self.error.get_or_insert_with(|| {
                        format!("its aliases expand past {} MiB", crate::value::MAX_VALUE_SIZE >> 20)
                    });
                    self.anchors.clear();
                    return;
                }
                self.push(v, 0);
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _)
                if self.stack.len() >= crate::value::MAX_VALUE_DEPTH =>
            {
                let _ = anchor;
                self.error
                    .get_or_insert_with(|| format!("it nests deeper than {} levels", crate::value::MAX_VALUE_DEPTH));
                self.stack.push(Node::List(0, Vec::new()));
            }
            Event::SequenceStart(anchor, _) => self.stack.push(Node::List(anchor, Vec::new())),
            Event::MappingStart(anchor, _) => self.stack.push(Node::Map(anchor, BTreeMap::new(), None)),
            Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                Some(Node::List(anchor, items)) => self.push(Value::tuple(items), anchor),
                Some(Node::Map(anchor, m, _)) => match merged(m) {
                    Ok(m) => self.push(Value::object(m), anchor),
                    Err(e) => {
                        self.error.get_or_insert(e);
                        self.push(Value::Null, anchor);
                    }
                },
                None => {}
            },
            _ => {}
        }
    }
}

/// A mapping with YAML's merge key (`<<: *base`): the merged mapping's
/// entries under the mapping's own (which win), as Terraform's YAML library
/// merges them; anything but a mapping there is refused, as it refuses it.
fn merged(mut m: BTreeMap<String, Value>) -> Result<BTreeMap<String, Value>, String> {
    match m.remove("<<") {
        Some(Value::Object(base)) => {
            for (k, v) in base {
                m.entry(k).or_insert(v);
            }
            Ok(m)
        }
        Some(other) => Err(format!("cannot merge {} into mapping", other.type_name())),
        None => Ok(m),
    }
}

/// A plain scalar's value.
fn resolve(s: &str) -> Result<Value, String> {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Ok(Value::Null),
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Ok(Value::Bool(true))
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Ok(Value::Bool(false))
        }
        ".nan" | ".NaN" | ".NAN" => return Err("floating point NaN is not supported".into()),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF" => {
            return Err("infinity cannot be represented as a number".into())
        }
        _ => {}
    }
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return number(s);
    }
    if let Some(oct) = s.strip_prefix("0o").filter(|o| !o.is_empty() && o.bytes().all(|b| (b'0'..=b'7').contains(&b))) {
        let n = num_bigint::BigUint::parse_bytes(oct.as_bytes(), 8).unwrap_or_default();
        return Ok(Value::Number(crate::number::Number::from_big(false, n)));
    }
    if let Some(h) = s.strip_prefix("0x").filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit())) {
        let n = num_bigint::BigUint::parse_bytes(h.as_bytes(), 16).unwrap_or_default();
        return Ok(Value::Number(crate::number::Number::from_big(false, n)));
    }
    if is_float(s) {
        return number(s);
    }
    if is_date(s) {
        return Ok(Value::String(format!("{s}T00:00:00Z")));
    }
    Ok(Value::String(s.to_string()))
}

fn number(s: &str) -> Result<Value, String> {
    match crate::number::Number::parse(s) {
        Some(n) if !n.is_infinite() => Ok(Value::Number(if n.is_zero() { n.abs() } else { n })),
        _ => Err(format!("the number {s} is too large")),
    }
}

/// YAML 1.2's float: `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`.
fn is_float(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (int, frac) = mantissa.split_once('.').map_or((mantissa, None), |(i, f)| (i, Some(f)));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match frac {
        None => !int.is_empty() && digits(int),
        Some(f) if int.is_empty() => !f.is_empty() && digits(f),
        Some(f) => digits(int) && digits(f),
    };
    let exp_ok = exp.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exp_ok
}

/// `2001-12-14` (or with one-digit month or day).
fn is_date(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 3
        && parts[0].len() == 4
        && (1..=2).contains(&parts[1].len())
        && (1..=2).contains(&parts[2].len())
        && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

fn yamldecode(a: &[Value], _: &dyn Host) -> R {
    let text = string(a, 0)?;
    let mut b = Builder::default();
    let mut parser = yaml_rust2::parser::Parser::new_from_str(text);
    parser.load(&mut b, true).map_err(|e| {
        arg_err(
            0,
            format!(
                "the string is not valid YAML: on line {}, column {}: {}",
                e.marker().line(),
                e.marker().col() + 1,
                e.info()
            ),
        )
    })?;
    if let Some(e) = b.error {
        return Err(arg_err(0, e));
    }
    match b.done.len() {
        // No document at all (empty, blanks, only comments): Terraform refuses it; `---` is null.
        0 => Err(arg_err(0, "the string is not valid YAML: on line 1, column 1: missing start of document")),
        1 => Ok(nfc(b.done.remove(0))),
        _ => Err(arg_err(0, "the string holds more than one YAML document")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(text: &str) -> Result<Value, String> {
        yamldecode(&[Value::string(text)], &crate::eval::NoHost).map_err(|e| e.message)
    }

    #[test]
    fn hostile_yaml_is_refused_not_expanded() {
        let mut laughs = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let prev = (b'a' + i - 1) as char;
            let name = (b'a' + i) as char;
            laughs.push_str(&format!("{name}: &{name} [{}]\n", vec![format!("*{prev}"); 10].join(", ")));
        }
        assert!(decode(&laughs).unwrap_err().contains("expand past"));
        let deep = "[".repeat(100_000);
        assert!(decode(&deep).is_err());
        let deep_ok = format!("{}1{}", "[".repeat(300), "]".repeat(300));
        let e = decode(&deep_ok).unwrap_err();
        assert!(e.contains("deeper") || e.contains("recursion"), "{e}");
    }
}

//! Strings: case, trimming, splitting and joining, substrings, regular expressions.

use super::{arg_err, check_size, def, element_string, integer, list, string, CallError, FuncDef, Kind};
use crate::eval::Host;
use crate::value::Value;

type R = Result<Value, CallError>;

pub const DEFS: &[FuncDef] = &[
    def("lower", &[Kind::String], lower),
    def("upper", &[Kind::String], upper),
    def("title", &[Kind::String], title),
    def("trimspace", &[Kind::String], trimspace),
    def("trim", &[Kind::String, Kind::String], trim),
    def("trimprefix", &[Kind::String, Kind::String], trimprefix),
    def("trimsuffix", &[Kind::String, Kind::String], trimsuffix),
    def("chomp", &[Kind::String], chomp),
    def("strrev", &[Kind::String], strrev),
    def("indent", &[Kind::Number, Kind::String], indent),
    def("substr", &[Kind::String, Kind::Number, Kind::Number], substr),
    def("startswith", &[Kind::String, Kind::String], startswith),
    def("endswith", &[Kind::String, Kind::String], endswith),
    def("strcontains", &[Kind::String, Kind::String], strcontains),
    def("split", &[Kind::String, Kind::String], split),
    def("join", &[Kind::String], join).variadic(Kind::List),
    def("replace", &[Kind::String, Kind::String, Kind::String], replace),
    def("regex", &[Kind::String, Kind::String], regex),
    def("regexall", &[Kind::String, Kind::String], regexall),
];

/// Go's `strings.ToLower`/`ToUpper`: each character mapped on its own to one
/// character (ß stays ß; Σ is σ wherever it stands).
fn per_char(s: &str, map: fn(char) -> Option<char>) -> String {
    s.chars().map(|c| map(c).filter(|m| go_knows(c) && go_knows(*m)).unwrap_or(c)).collect()
}

/// Whether a cased character is in Go's Unicode tables (Unicode 15.0, what
/// Terraform is built with): Rust's are newer, and a mapping to or from a
/// letter added since (`ɤ` to `Ɤ`, Unicode 16) is no mapping in Terraform.
fn go_knows(c: char) -> bool {
    !matches!(
        c,
        '\u{1C89}'..='\u{1C8A}'
            | '\u{A7CB}'..='\u{A7CF}'
            | '\u{A7D2}'
            | '\u{A7D4}'
            | '\u{A7DA}'..='\u{A7DC}'
            | '\u{10D50}'..='\u{10D65}'
            | '\u{10D70}'..='\u{10D85}'
            | '\u{16EA0}'..='\u{16EB8}'
            | '\u{16EBB}'..='\u{16ED3}'
    )
}

fn one<I: Iterator<Item = char>>(mut it: I) -> Option<char> {
    match (it.next(), it.next()) {
        (Some(c), None) => Some(c),
        _ => None,
    }
}

/// Go maps by UnicodeData's simple mappings; where Rust's full mapping
/// makes two characters, these are the simple ones that differ from "no change".
fn lower(a: &[Value], _: &dyn Host) -> R {
    Ok(Value::String(per_char(string(a, 0)?, |c| match c {
        '\u{130}' => Some('i'),
        c => one(c.to_lowercase()),
    })))
}

fn upper(a: &[Value], _: &dyn Host) -> R {
    Ok(Value::String(per_char(string(a, 0)?, |c| match c {
        // Greek with ypogegrammeni: ᾳ is ᾼ, ᾀ is ᾈ.
        '\u{1F80}'..='\u{1F87}' | '\u{1F90}'..='\u{1F97}' | '\u{1FA0}'..='\u{1FA7}' => char::from_u32(c as u32 + 8),
        '\u{1FB3}' | '\u{1FC3}' | '\u{1FF3}' => char::from_u32(c as u32 + 9),
        c => one(c.to_uppercase()),
    })))
}

/// Unicode's title case where it differs from upper case: the digraphs.
fn to_title(c: char) -> Option<char> {
    match c {
        '\u{1C4}'..='\u{1C6}' => Some('\u{1C5}'),
        '\u{1C7}'..='\u{1C9}' => Some('\u{1C8}'),
        '\u{1CA}'..='\u{1CC}' => Some('\u{1CB}'),
        '\u{1F1}'..='\u{1F3}' => Some('\u{1F2}'),
        _ => one(c.to_uppercase()).filter(|u| go_knows(c) && go_knows(*u)),
    }
}

/// Go's `strings.Title`: the first letter of every word in upper case, a word
/// beginning after anything but a letter, a digit or `_`.
fn title(a: &[Value], _: &dyn Host) -> R {
    let mut out = String::new();
    let mut prev_sep = true;
    for c in string(a, 0)?.chars() {
        // Go maps one letter to one title-case letter: ß stays ß (Rust's upper case is SS).
        out.push(if prev_sep { to_title(c).unwrap_or(c) } else { c });
        prev_sep = if c.is_ascii() { !(c.is_ascii_alphanumeric() || c == '_') } else { c.is_whitespace() };
    }
    Ok(Value::String(out))
}

fn trimspace(a: &[Value], _: &dyn Host) -> R {
    Ok(Value::String(string(a, 0)?.trim().to_string()))
}

fn trim(a: &[Value], _: &dyn Host) -> R {
    let cut: Vec<char> = string(a, 1)?.chars().collect();
    Ok(Value::String(string(a, 0)?.trim_matches(|c| cut.contains(&c)).to_string()))
}

fn trimprefix(a: &[Value], _: &dyn Host) -> R {
    let (s, p) = (string(a, 0)?, string(a, 1)?);
    Ok(Value::String(s.strip_prefix(p).unwrap_or(s).to_string()))
}

fn trimsuffix(a: &[Value], _: &dyn Host) -> R {
    let (s, p) = (string(a, 0)?, string(a, 1)?);
    Ok(Value::String(s.strip_suffix(p).unwrap_or(s).to_string()))
}

fn chomp(a: &[Value], _: &dyn Host) -> R {
    Ok(Value::String(string(a, 0)?.trim_end_matches(['\n', '\r']).to_string()))
}

fn strrev(a: &[Value], _: &dyn Host) -> R {
    // Grapheme clusters reversed, as Terraform does: an accent stays on its letter.
    Ok(Value::String(super::clusters(string(a, 0)?).rev().collect()))
}

fn indent(a: &[Value], _: &dyn Host) -> R {
    let n = integer(a, 0)?;
    if !(0..=1024).contains(&n) {
        return Err(arg_err(0, "the indentation must be between 0 and 1024 spaces"));
    }
    let s = string(a, 1)?;
    let pad = " ".repeat(n as usize);
    check_size(s.len() + s.matches('\n').count() * pad.len())?;
    Ok(Value::String(s.replace('\n', &format!("\n{pad}"))))
}

fn substr(a: &[Value], _: &dyn Host) -> R {
    let s: Vec<&str> = super::clusters(string(a, 0)?).collect();
    let len = s.len() as i64;
    let mut off = integer(a, 1)?;
    if off < 0 {
        off += len;
    }
    let off = off.clamp(0, len) as usize;
    let n = integer(a, 2)?;
    let end = if n < 0 { s.len() } else { (off + n as usize).min(s.len()) };
    Ok(Value::String(s[off..end].concat()))
}

fn startswith(a: &[Value], _: &dyn Host) -> R {
    Ok(Value::Bool(string(a, 0)?.starts_with(string(a, 1)?)))
}

fn endswith(a: &[Value], _: &dyn Host) -> R {
    Ok(Value::Bool(string(a, 0)?.ends_with(string(a, 1)?)))
}

fn strcontains(a: &[Value], _: &dyn Host) -> R {
    Ok(Value::Bool(string(a, 0)?.contains(string(a, 1)?)))
}

fn split(a: &[Value], _: &dyn Host) -> R {
    let sep = string(a, 0)?;
    let s = string(a, 1)?;
    // Go's strings.Split: "" split on a separator is [""].
    Ok(Value::list(if sep.is_empty() {
        s.chars().map(|c| Value::String(c.to_string())).collect()
    } else {
        s.split(sep).map(Value::string).collect()
    }))
}

fn join(a: &[Value], _: &dyn Host) -> R {
    let sep = string(a, 0)?;
    let mut parts = Vec::new();
    for i in 1..a.len() {
        for (j, v) in list(a, i)?.iter().enumerate() {
            parts.push(element_string(v, i, j)?);
        }
    }
    Ok(Value::String(parts.join(sep)))
}

/// A `/pattern/` argument of `replace`, compiled.
fn compile(pattern: &str, arg: usize) -> Result<regex::Regex, CallError> {
    regex::Regex::new(&quoted_literals(pattern)).map_err(|e| arg_err(arg, format!("invalid regular expression: {e}")))
}

/// A pattern as RE2 means it, for the regex crate: `\Q…\E` (the text
/// between taken literally; to the end without `\E`), which the crate lacks,
/// as escaped text; and the Perl classes `\w \d \s \b` and their negations
/// ASCII-only, as RE2 has them (the crate's are Unicode).
fn quoted_literals(pattern: &str) -> std::borrow::Cow<'_, str> {
    if !pattern.contains('\\') {
        return pattern.into();
    }
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut rest = pattern;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        match after.chars().next() {
            Some('Q') => {
                let body = &after[1..];
                let (literal, tail) = body.split_once("\\E").unwrap_or((body, ""));
                out.push_str(&regex::escape(literal));
                rest = tail;
            }
            Some(c) => {
                match c {
                    'w' => out.push_str("[0-9A-Za-z_]"),
                    'W' => out.push_str("[^0-9A-Za-z_]"),
                    'd' => out.push_str("[0-9]"),
                    'D' => out.push_str("[^0-9]"),
                    's' => out.push_str(r"[\t\n\f\r ]"),
                    'S' => out.push_str(r"[^\t\n\f\r ]"),
                    'b' => out.push_str(r"(?-u:\b)"),
                    'B' => out.push_str(r"(?-u:\B)"),
                    _ => {
                        out.push('\\');
                        out.push(c);
                    }
                }
                rest = &after[c.len_utf8()..];
            }
            None => {
                out.push('\\');
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out.into()
}

/// `replace`: a substring, or a `/regular expression/` whose replacement may
/// name its groups (`$1`, `${name}`) as Go's `ReplaceAllString` does.
fn replace(a: &[Value], _: &dyn Host) -> R {
    let (s, from, to) = (string(a, 0)?, string(a, 1)?, string(a, 2)?);
    if from.len() >= 2 && from.starts_with('/') && from.ends_with('/') {
        let re = compile(&from[1..from.len() - 1], 1)?;
        check_size(s.len() + re.find_iter(s).count().saturating_mul(to.len()))?;
        return Ok(Value::String(re.replace_all(s, to).into_owned()));
    }
    if from.is_empty() {
        // Go's strings.Replace: the empty string matches before every character and at the end.
        check_size(s.len() + (s.chars().count() + 1).saturating_mul(to.len()))?;
        let mut out = String::from(to);
        for c in s.chars() {
            out.push(c);
            out.push_str(to);
        }
        return Ok(Value::String(out));
    }
    check_size(s.len() + s.matches(from).count().saturating_mul(to.len()))?;
    Ok(Value::String(s.replace(from, to)))
}

/// One match in `regex`'s shape: the match itself without groups, a map by
/// name with named groups, else a list of the groups.
fn captured(re: &regex::Regex, caps: &regex::Captures) -> Value {
    if re.captures_len() == 1 {
        Value::String(caps[0].to_string())
    } else if re.capture_names().flatten().next().is_some() {
        Value::object(
            re.capture_names()
                .flatten()
                .map(|n| (n.to_string(), caps.name(n).map(|m| Value::string(m.as_str())).unwrap_or(Value::Null)))
                .collect(),
        )
    } else {
        Value::tuple(caps.iter().skip(1).map(|m| m.map(|m| Value::string(m.as_str())).unwrap_or(Value::Null)).collect())
    }
}

fn regex(a: &[Value], _: &dyn Host) -> R {
    let re = compile(string(a, 0)?, 0)?;
    let caps = re.captures(string(a, 1)?).ok_or_else(|| arg_err(1, "the pattern did not match the string"))?;
    Ok(captured(&re, &caps))
}

fn regexall(a: &[Value], _: &dyn Host) -> R {
    let re = compile(string(a, 0)?, 0)?;
    let out = Value::list(re.captures_iter(string(a, 1)?).map(|c| captured(&re, &c)).collect());
    Ok(if re.captures_len() == 1 { out.with_elem(crate::unify::Shape::String) } else { out })
}

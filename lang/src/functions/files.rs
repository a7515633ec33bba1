//! Files, paths and the environment, all through the [`Host`].

use super::{arg_err, def, hex, string, CallError, FuncDef, Kind};
use crate::eval::Host;
use crate::value::Value;

type R = Result<Value, CallError>;

pub const DEFS: &[FuncDef] = &[
    def("file", &[Kind::String], file),
    def("fileexists", &[Kind::String], fileexists),
    def("fileset", &[Kind::String, Kind::String], fileset),
    def("abspath", &[Kind::String], abspath),
    def("pathexpand", &[Kind::String], pathexpand),
    def("dirname", &[Kind::String], dirname),
    def("basename", &[Kind::String], basename),
    def("env", &[Kind::String, Kind::Any], env).optional(1),
    def("filebase64", &[Kind::String], filebase64),
    def("filemd5", &[Kind::String], |a, h| file_digest::<md5::Md5>(a, h, hex)),
    def("filesha1", &[Kind::String], |a, h| file_digest::<sha1::Sha1>(a, h, hex)),
    def("filesha256", &[Kind::String], |a, h| file_digest::<sha2::Sha256>(a, h, hex)),
    def("filesha512", &[Kind::String], |a, h| file_digest::<sha2::Sha512>(a, h, hex)),
    def("filebase64sha256", &[Kind::String], |a, h| file_digest::<sha2::Sha256>(a, h, base64)),
    def("filebase64sha512", &[Kind::String], |a, h| file_digest::<sha2::Sha512>(a, h, base64)),
];

fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn filebase64(a: &[Value], host: &dyn Host) -> R {
    let bytes = host.read_file_bytes(string(a, 0)?).map_err(|e| arg_err(0, e))?;
    super::check_size(bytes.len() / 3 * 4 + 4)?;
    Ok(Value::String(base64(&bytes)))
}

/// A file's digest, written as `show` writes it (hex or base64): the
/// `file*` forms of `md5`, `sha256`… hash the bytes, not a path.
fn file_digest<D: sha2::Digest>(a: &[Value], host: &dyn Host, show: fn(&[u8]) -> String) -> R {
    let bytes = host.read_file_bytes(string(a, 0)?).map_err(|e| arg_err(0, e))?;
    Ok(Value::String(show(&D::digest(&bytes))))
}

fn file(a: &[Value], host: &dyn Host) -> R {
    Ok(Value::String(host.read_file(string(a, 0)?).map_err(|e| arg_err(0, e))?))
}

fn fileexists(a: &[Value], host: &dyn Host) -> R {
    Ok(Value::Bool(host.file_exists(string(a, 0)?).map_err(|e| arg_err(0, e))?))
}

/// The files under a directory whose paths (relative to it) match a glob:
/// `*` and `?` within a name, `**` across directories, `[abc]`, `{a,b}`.
fn fileset(a: &[Value], host: &dyn Host) -> R {
    let (dir, pattern) = (string(a, 0)?, string(a, 1)?);
    let pattern: Vec<char> = pattern.trim_start_matches("./").chars().collect();
    let mut found: Vec<String> = host
        .list_files(dir)
        .map_err(|e| arg_err(0, e))?
        .into_iter()
        .filter(|p| glob(&pattern, &p.chars().collect::<Vec<_>>()))
        .collect();
    found.sort();
    Ok(Value::set(found.into_iter().map(Value::String).collect()).with_elem(crate::unify::Shape::String))
}

/// Does `text` (a path with `/` separators) match the glob `pat`?
pub(crate) fn glob(pat: &[char], text: &[char]) -> bool {
    match pat.first() {
        None => text.is_empty(),
        Some('*') if pat.get(1) == Some(&'*') => {
            // `**/` matches any number of whole directories, `**` at the end anything.
            let rest = if pat.get(2) == Some(&'/') { &pat[3..] } else { &pat[2..] };
            (0..=text.len()).any(|i| (i == 0 || text[i - 1] == '/') && glob(rest, &text[i..]))
                || (pat.get(2) != Some(&'/') && (0..=text.len()).any(|i| glob(rest, &text[i..])))
        }
        Some('*') => {
            (0..=text.len()).take_while(|&i| i == 0 || text[i - 1] != '/').any(|i| glob(&pat[1..], &text[i..]))
        }
        Some('?') => text.first().is_some_and(|c| *c != '/') && glob(&pat[1..], &text[1..]),
        Some('[') => {
            let Some(end) = pat.iter().skip(1).position(|c| *c == ']').map(|p| p + 1) else {
                return text.first() == Some(&'[') && glob(&pat[1..], &text[1..]);
            };
            let Some(c) = text.first().filter(|c| **c != '/') else { return false };
            let (negate, class) = match pat[1] {
                '^' | '!' => (true, &pat[2..end]),
                _ => (false, &pat[1..end]),
            };
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == '-' {
                    hit |= (class[i]..=class[i + 2]).contains(c);
                    i += 3;
                } else {
                    hit |= class[i] == *c;
                    i += 1;
                }
            }
            hit != negate && glob(&pat[end + 1..], &text[1..])
        }
        Some('{') => {
            let Some(end) = pat.iter().position(|c| *c == '}') else {
                return text.first() == Some(&'{') && glob(&pat[1..], &text[1..]);
            };
            pat[1..end].split(|c| *c == ',').any(|alt| {
                let mut p = alt.to_vec();
                p.extend_from_slice(&pat[end + 1..]);
                glob(&p, text)
            })
        }
        Some('\\') if pat.len() > 1 => text.first() == Some(&pat[1]) && glob(&pat[2..], &text[1..]),
        Some(c) => text.first() == Some(c) && glob(&pat[1..], &text[1..]),
    }
}

fn abspath(a: &[Value], host: &dyn Host) -> R {
    Ok(Value::String(host.abs_path(string(a, 0)?).map_err(|e| arg_err(0, e))?))
}

fn pathexpand(a: &[Value], host: &dyn Host) -> R {
    let p = string(a, 0)?;
    let home = || host.env("HOME").ok_or_else(|| arg_err(0, "HOME is not set, so ~ cannot be expanded"));
    Ok(Value::String(match p.strip_prefix('~') {
        Some("") => home()?,
        Some(rest) if rest.starts_with('/') => format!("{}{rest}", home()?),
        _ => p.to_string(),
    }))
}

/// Go's `filepath.Dir`: everything before the last separator, cleaned; `.` if none.
fn dirname(a: &[Value], _: &dyn Host) -> R {
    let p = string(a, 0)?;
    Ok(Value::String(match p.rfind('/') {
        Some(0) => "/".to_string(),
        Some(i) => clean(&p[..i]),
        None => ".".to_string(),
    }))
}

/// Go's `filepath.Base`: the last element, trailing separators removed.
fn basename(a: &[Value], _: &dyn Host) -> R {
    let p = string(a, 0)?;
    let t = p.trim_end_matches('/');
    Ok(Value::String(if p.is_empty() {
        ".".to_string()
    } else if t.is_empty() {
        "/".to_string()
    } else {
        t.rsplit('/').next().unwrap_or(t).to_string()
    }))
}

/// Go's `path.Clean` for the forms `dirname` meets.
fn clean(p: &str) -> String {
    let abs = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|l| *l != "..") => {
                parts.pop();
            }
            ".." if abs => {}
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (abs, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

fn env(a: &[Value], host: &dyn Host) -> R {
    let var = string(a, 0)?;
    match (host.env(var), a.get(1)) {
        (Some(v), _) => Ok(Value::String(v)),
        (None, Some(d)) => Ok(d.clone()),
        (None, None) => Err(arg_err(
            0,
            format!("the environment variable {var} is not set; give a default as env(\"{var}\", \"…\")"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::glob;

    fn m(p: &str, t: &str) -> bool {
        glob(&p.chars().collect::<Vec<_>>(), &t.chars().collect::<Vec<_>>())
    }

    #[test]
    fn globs_match_as_terraforms_fileset_does() {
        assert!(m("*.txt", "a.txt") && !m("*.txt", "d/a.txt"));
        assert!(m("**/*.txt", "a.txt") && m("**/*.txt", "d/e/a.txt"));
        assert!(m("d/**", "d/e/a.txt") && !m("d/**", "x/a.txt"));
        assert!(m("?.{txt,md}", "a.md") && !m("?.{txt,md}", "ab.md"));
        assert!(m("[a-c]*", "b1") && !m("[!a-c]*", "b1"));
    }
}

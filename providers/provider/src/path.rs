//! Paths into a value, as plans, states and providers write them:
//! `input`, `input.dsn_hash`, `input[1]`, `tags["a b"]` — the sensitive
//! paths of a change and a record, and the unknown values inside an
//! attribute known in part (`PlanRequest::partial`, `PlanResponse::unknown`).

use serde_json::Value as Json;

/// An HCL identifier: what a path writes after a dot rather than quoted.
fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// One step of a path: an attribute or map key, or a list index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// A path as text: `input`, `input.dsn_hash`, `input[1]`, `tags["a b"]`.
pub fn path_text(steps: &[Step]) -> String {
    let mut out = String::new();
    for s in steps {
        match s {
            Step::Key(k) if is_identifier(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Step::Key(k) => {
                out.push('[');
                out.push_str(&Json::String(k.clone()).to_string());
                out.push(']');
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// A path's steps, read back from its text. A text that is not one (a name
/// written by an older release) is one attribute name.
pub fn parse_path(text: &str) -> Vec<Step> {
    fn parse(text: &str) -> Option<Vec<Step>> {
        let mut steps = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix('[') {
                if r.starts_with('"') {
                    let mut de = serde_json::Deserializer::from_str(r).into_iter::<String>();
                    let key = de.next()?.ok()?;
                    rest = r[de.byte_offset()..].strip_prefix(']')?;
                    steps.push(Step::Key(key));
                } else {
                    let (n, r) = r.split_once(']')?;
                    steps.push(Step::Index(n.parse().ok()?));
                    rest = r;
                }
            } else {
                let r = if steps.is_empty() { rest } else { rest.strip_prefix('.')? };
                let end = r.find(['.', '[']).unwrap_or(r.len());
                if end == 0 {
                    return None;
                }
                steps.push(Step::Key(r[..end].to_string()));
                rest = &r[end..];
            }
        }
        Some(steps)
    }
    parse(text).filter(|s| !s.is_empty()).unwrap_or_else(|| vec![Step::Key(text.to_string())])
}

/// The value at `steps` inside `v`, if there is one.
pub fn json_at<'a>(v: &'a Json, steps: &[Step]) -> Option<&'a Json> {
    let mut at = v;
    for s in steps {
        at = match (at, s) {
            (Json::Object(m), Step::Key(k)) => m.get(k)?,
            (Json::Array(a), Step::Index(i)) => a.get(*i)?,
            _ => return None,
        };
    }
    Some(at)
}

/// The value at `steps` inside `v`, to change, if there is one.
pub fn json_at_mut<'a>(v: &'a mut Json, steps: &[Step]) -> Option<&'a mut Json> {
    let mut at = v;
    for s in steps {
        at = match (at, s) {
            (Json::Object(m), Step::Key(k)) => m.get_mut(k)?,
            (Json::Array(a), Step::Index(i)) => a.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_reads_back_as_written() {
        for text in ["input", "input.dsn_hash", "input[1]", "tags[\"a b\"]", "a[0].b[2].c-d"] {
            assert_eq!(path_text(&parse_path(text)), text);
        }
        // Not a path: one attribute name.
        assert_eq!(parse_path("a..b"), vec![Step::Key("a..b".into())]);
    }
}

//! The secrets this process has seen, so that one redaction step can keep
//! them out of every line it prints: whenever a value is marked sensitive,
//! its text is remembered here, and `redact` replaces it wherever it turns
//! up — in a provider's error, a command's stderr, a diagnostic.
//!
//! Texts shorter than [`MIN_LEN`] are not redacted (they would blank ordinary
//! words and numbers); a secret transformed before it is printed (encoded,
//! hashed) cannot be recognised.

use crate::value::Value;
use std::sync::Mutex;

/// The shortest text treated as a secret.
pub const MIN_LEN: usize = 4;

/// What a hidden value prints as, everywhere.
pub const HIDDEN: &str = "(sensitive value)";

static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Remember every text inside a sensitive value.
pub fn remember(v: &Value) {
    let mut texts = Vec::new();
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::String(s) => texts.push(s.clone()),
            Value::Number(_) | Value::Duration(_) | Value::Percent(_) => {
                texts.extend(v.to_template_string());
            }
            Value::List(items) => stack.extend(items.iter()),
            Value::Object(m) => stack.extend(m.values()),
            Value::Sensitive(inner) => stack.push(inner),
            _ => {}
        }
    }
    remember_texts(texts);
}

/// Remember secret texts directly (from the state, or a provider).
pub fn remember_texts(texts: impl IntoIterator<Item = String>) {
    let Ok(mut seen) = SEEN.lock() else { return };
    let mut changed = false;
    for t in texts {
        // Each line of a multi-line secret on its own, too: output may wrap it.
        let mut parts = vec![t.clone()];
        if t.contains('\n') {
            parts.extend(t.lines().map(|l| l.trim().to_string()));
        }
        for p in parts {
            if p.chars().count() >= MIN_LEN && !seen.contains(&p) {
                seen.push(p);
                changed = true;
            }
        }
    }
    if changed {
        // Longest first, so that a secret containing another is replaced whole.
        seen.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }
}

/// `text` with every remembered secret replaced by `(sensitive value)`.
pub fn redact(text: &str) -> std::borrow::Cow<'_, str> {
    let Ok(seen) = SEEN.lock() else { return text.into() };
    let mut out = std::borrow::Cow::Borrowed(text);
    for s in seen.iter() {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), HIDDEN).into();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_secrets_are_redacted_and_short_texts_are_not() {
        remember(&Value::String("S3CR3T-token-xyz".into()).sensitive());
        remember(&Value::String("abc".into()).sensitive());
        assert_eq!(redact("error: bad value \"S3CR3T-token-xyz\" here"), "error: bad value \"(sensitive value)\" here");
        assert_eq!(redact("abc"), "abc");
    }
}

//! Every label of every block is a name. Labels become addresses, state keys,
//! directory names (`.landform/modules/KEY`) and lines on a terminal, so a
//! label that is not an identifier (`..`, `a/b`, an empty string, an escape
//! sequence) is refused where it is read, as Terraform refuses it.

use crate::diag::Diagnostic;
use crate::syntax::{Body, Item};

/// Terraform's identifier (HCL's `ValidIdentifier`): a Unicode letter
/// (`ID_Start`) or `_`, then letters, digits, `_` and `-` (`ID_Continue`).
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c == '_' || unicode_ident::is_xid_start(c))
        && chars.all(|c| c == '-' || unicode_ident::is_xid_continue(c))
}

/// What the labels of a block of `kind` are, in Terraform's words; `None` for
/// a block whose labels have no name of their own.
fn label_names(kind: &str) -> &'static [&'static str] {
    match kind {
        "resource" => &["resource type name", "resource name"],
        "data" => &["data source type name", "data source name"],
        "module" => &["module name"],
        "variable" => &["variable name"],
        "output" => &["output name"],
        "provider" => &["provider name"],
        "check" => &["check block name"],
        "rollout" => &["rollout name"],
        "run" => &["run block name"],
        _ => &[],
    }
}

/// The summaries the check writes, for [`super::is_syntax_error`].
pub(super) const SUMMARIES: &[&str] = &[
    "Invalid block label",
    "Invalid resource type name",
    "Invalid resource name",
    "Invalid data source type name",
    "Invalid data source name",
    "Invalid module name",
    "Invalid variable name",
    "Invalid output name",
    "Invalid provider name",
    "Invalid check block name",
    "Invalid rollout name",
    "Invalid run block name",
];

/// Report every label, at any depth, that is not an identifier. A label
/// already reported at the same place (an interpolated one) is not reported
/// again.
pub fn check(body: &Body, diags: &mut Vec<Diagnostic>) {
    let mut stack = vec![body];
    while let Some(body) = stack.pop() {
        for item in &body.items {
            let Item::Block(b) = item else { continue };
            let names = label_names(&b.kind.name);
            for (i, label) in b.labels.iter().enumerate() {
                if is_identifier(&label.value) || diags.iter().any(|d| d.span == Some(label.span)) {
                    continue;
                }
                let noun = names.get(i).map_or_else(|| format!("{} block label", b.kind.name), |n| n.to_string());
                let summary = match names.get(i) {
                    Some(n) => format!("Invalid {n}"),
                    None => "Invalid block label".to_string(),
                };
                diags.push(Diagnostic::error(
                    summary,
                    format!(
                        "A {noun} must start with a letter or underscore and may contain only letters, digits, underscores and dashes; {} is not one. Rename it.",
                        shown(&label.value)
                    ),
                    label.span,
                ));
            }
            stack.push(&b.body);
        }
    }
}

/// A label as a quoted string with control characters escaped, cut short
/// when long: never a raw escape sequence on the reader's terminal.
fn shown(label: &str) -> String {
    const MAX: usize = 64;
    let mut s: String = label.chars().take(MAX).collect();
    if label.chars().count() > MAX {
        s.push('…');
    }
    format!("\"{}\"", s.escape_debug())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_terraforms() {
        for ok in ["a", "_", "a-b", "a-", "web_1", "café", "ñame", "Δ", "a1-2_b"] {
            assert!(is_identifier(ok), "{ok:?} should be an identifier");
        }
        for bad in ["", "..", ".", "1a", "-a", "a/b", "a b", "a.b", "a\u{1b}[2J", "a\0", "a\n", "\\", "a\\b", "☃"] {
            assert!(!is_identifier(bad), "{bad:?} should not be an identifier");
        }
    }

    #[test]
    fn a_label_is_shown_escaped_and_short() {
        assert_eq!(shown("a\u{1b}[2J"), "\"a\\u{1b}[2J\"");
        assert!(shown(&"x".repeat(1000)).chars().count() < 80);
    }
}

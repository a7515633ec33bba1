//! What Terraform's `fmt` command does on top of hclwrite's layout
//! (hashicorp/terraform, internal/command/fmt.go): in every body, an
//! argument whose value is a lone interpolation `"${x}"` becomes `x`
//! (wrapped in parentheses when it spans lines); a `variable` block's
//! `type = list` (`map`, `set`) becomes `list(any)` and the quoted types of
//! Terraform 0.11 (`"string"`, `"list"`, `"map"`) become `string`,
//! `list(string)`, `map(string)`; a block label written as a bare name is
//! written quoted, and a comment between block labels is dropped.

use super::lex::{Tok, K};

enum Edit {
    Value(usize, usize),
    Type(usize, usize),
    Label(usize),
    /// A comment between block labels, which Terraform drops.
    Drop(usize),
}

/// Apply the rules; `None` when the tokens do not have the shape of a body
/// (the caller then lays out the file without them).
pub(super) fn rewrite(toks: &[Tok]) -> Option<Vec<Tok>> {
    let mut edits = Vec::new();
    let end = body(toks, 0, &mut Vec::new(), &mut edits, false)?;
    if toks.get(end).map(|t| t.kind) != Some(K::Eof) {
        return None;
    }
    let mut out = Vec::with_capacity(toks.len());
    let mut at = 0;
    for e in edits {
        let (s, e, new) = match e {
            Edit::Value(s, e) => (s, e, value_expr(&toks[s..e])),
            Edit::Type(s, e) => (s, e, type_expr(&toks[s..e])),
            Edit::Label(i) => (i, i + 1, label(&toks[i])),
            Edit::Drop(i) => (i, i + 1, Some(Vec::new())),
        };
        out.extend_from_slice(&toks[at..s]);
        match new {
            Some(mut new) => {
                if let Some(first) = new.first_mut() {
                    first.sp = toks[s].sp;
                }
                out.extend(new);
            }
            None => out.extend_from_slice(&toks[s..e]),
        }
        at = e;
    }
    out.extend_from_slice(&toks[at..]);
    Some(out)
}

/// Walk a body from `i`; returns the index after it (after its `}` when nested).
fn body(toks: &[Tok], mut i: usize, blocks: &mut Vec<String>, edits: &mut Vec<Edit>, nested: bool) -> Option<usize> {
    loop {
        while matches!(toks.get(i)?.kind, K::Newline | K::Comment) {
            i += 1;
        }
        let t = toks.get(i)?;
        match t.kind {
            K::Eof if !nested => return Some(i),
            K::CBrace if nested => return Some(i + 1),
            K::Ident => {}
            _ => return None,
        }
        if toks.get(i + 1)?.kind == K::Equal {
            let start = i + 2;
            let mut depth = 0i32;
            let mut j = start;
            loop {
                let t = toks.get(j)?;
                let change = t.bracket_change();
                if depth == 0 && (matches!(t.kind, K::Newline | K::Comment | K::Eof) || change < 0) {
                    break;
                }
                depth += change;
                j += 1;
            }
            if start == j {
                return None;
            }
            if blocks.len() == 1 && blocks[0] == "variable" && t.text == "type" {
                edits.push(Edit::Type(start, j));
            } else {
                edits.push(Edit::Value(start, j));
            }
            i = j;
            continue;
        }
        // A block: its type, labels, then `{`.
        let name = t.text.clone();
        i += 1;
        loop {
            let t = toks.get(i)?;
            match t.kind {
                K::Ident => {
                    edits.push(Edit::Label(i));
                    i += 1;
                }
                K::OQuote => {
                    i += 1;
                    while toks.get(i)?.kind == K::QuotedLit {
                        i += 1;
                    }
                    if toks.get(i)?.kind != K::CQuote {
                        return None;
                    }
                    i += 1;
                }
                K::Comment if !toks[i].ends_line() => {
                    edits.push(Edit::Drop(i));
                    i += 1;
                }
                K::OBrace => break,
                _ => return None,
            }
        }
        blocks.push(name);
        i = body(toks, i + 1, blocks, edits, true)?;
        blocks.pop();
    }
}

/// `"${x}"` → `x` (fmt.go's formatValueExpr).
fn value_expr(toks: &[Tok]) -> Option<Vec<Tok>> {
    let n = toks.len();
    if n < 5
        || toks[0].kind != K::OQuote
        || toks[1].kind != K::Interp
        || toks[n - 2].kind != K::SeqEnd
        || toks[n - 1].kind != K::CQuote
    {
        return None;
    }
    let inside = &toks[2..n - 2];
    let mut quotes = 0;
    for t in inside {
        match t.kind {
            K::OQuote => quotes += 1,
            K::CQuote => quotes -= 1,
            _ if quotes > 0 => {}
            K::Interp | K::SeqEnd | K::QuotedLit => return None,
            _ => {}
        }
    }
    let start = inside.iter().position(|t| t.kind != K::Newline).unwrap_or(inside.len());
    let end = inside.iter().rposition(|t| t.kind != K::Newline).map_or(start, |i| i + 1);
    let trimmed = &inside[start..end.max(start)];
    let last = trimmed.len().saturating_sub(1);
    let mut multi = false;
    let (mut lead_paren, mut trail_paren) = (false, false);
    for (i, t) in trimmed.iter().enumerate() {
        if i == 0 && t.kind == K::OParen {
            lead_paren = true;
        } else if t.kind == K::Newline {
            multi = true;
        } else if i == last && t.kind == K::CParen {
            trail_paren = true;
        }
    }
    if multi && !(lead_paren && trail_paren) {
        let mut v = vec![Tok::new(K::OParen, "(")];
        v.extend_from_slice(trimmed);
        v.push(Tok::new(K::CParen, ")"));
        return Some(v);
    }
    Some(trimmed.to_vec())
}

/// A `variable` block's `type` (fmt.go's formatTypeExpr).
fn type_expr(toks: &[Tok]) -> Option<Vec<Tok>> {
    let call = |name: &str, arg: &str| {
        Some(vec![
            Tok::new(K::Ident, name),
            Tok::new(K::OParen, "("),
            Tok::new(K::Ident, arg),
            Tok::new(K::CParen, ")"),
        ])
    };
    match toks {
        [t] if t.kind == K::Ident && matches!(t.text.as_str(), "list" | "map" | "set") => call(&t.text, "any"),
        [q, s, c] if q.kind == K::OQuote && s.kind == K::QuotedLit && c.kind == K::CQuote => match s.text.as_str() {
            "string" => Some(vec![Tok::new(K::Ident, "string")]),
            "list" | "map" => call(&s.text, "string"),
            _ => None,
        },
        _ => None,
    }
}

/// A bare block label, quoted.
fn label(t: &Tok) -> Option<Vec<Tok>> {
    Some(vec![Tok::new(K::OQuote, "\""), Tok::new(K::QuotedLit, &t.text), Tok::new(K::CQuote, "\"")])
}

//! hclwrite's `format` (hashicorp/hcl v2, hclwrite/format.go), which is what
//! `terraform fmt` writes: tokens are split into lines at line breaks (a
//! heredoc, whose body holds no line-break token, belongs to the line that
//! opens it); each line into a lead cell, an assign cell (from an `=` whose
//! right side closes every bracket it opens) and a trailing-comment cell.
//! Then indentation by the brackets each line opens, spacing between tokens
//! by the kinds of tokens, and the `=` and comment cells aligned across
//! consecutive lines that have them. Only spaces change.

use super::lex::{Tok, K};
use unicode_segmentation::UnicodeSegmentation;

/// One line: token index ranges of its cells (`assign`/`comment` may be empty).
struct Line {
    lead: (usize, usize),
    assign: Option<(usize, usize)>,
    comment: Option<(usize, usize)>,
}

pub(super) fn format(toks: &mut [Tok]) {
    let mut lines = lines(toks);
    indent(toks, &lines);
    spaces(toks, &mut lines);
    cells(toks, &lines);
}

fn lines(toks: &[Tok]) -> Vec<Line> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, t) in toks.iter().enumerate() {
        if t.kind == K::Eof {
            out.push((start, i));
            start = toks.len();
            break;
        }
        if t.ends_line() {
            out.push((start, i + 1));
            start = i + 1;
        }
    }
    if start < toks.len() {
        out.push((start, toks.len()));
    }
    out.into_iter()
        .map(|(s, mut e)| {
            let mut comment = None;
            if e - s > 1 && toks[e - 1].kind == K::Comment {
                comment = Some((e - 1, e));
                e -= 1;
            }
            let mut assign = None;
            if let Some(eq) = (s + 1..e).find(|&i| toks[i].kind == K::Equal) {
                let net: i32 = toks[eq..e].iter().map(Tok::bracket_change).sum();
                if net == 0 {
                    assign = Some((eq, e));
                    e = eq;
                }
            }
            Line { lead: (s, e), assign, comment }
        })
        .collect()
}

fn indent(toks: &mut [Tok], lines: &[Line]) {
    let mut indents: Vec<i32> = Vec::new();
    for line in lines {
        let (s, e) = line.lead;
        if s == e {
            continue;
        }
        if toks[s].kind == K::Newline {
            toks[s].sp = 0;
            continue;
        }
        let mut net = 0;
        for t in &toks[s..e] {
            net += t.bracket_change();
            if t.kind == K::OHeredoc {
                break;
            }
        }
        if let Some((a, b)) = line.assign {
            net += toks[a..b].iter().map(Tok::bracket_change).sum::<i32>();
        }
        if net > 0 {
            toks[s].sp = 2 * indents.len();
            indents.push(net);
        } else {
            let mut closed = -net;
            while closed > 0 {
                let Some(top) = indents.last_mut() else { break };
                if closed > *top {
                    closed -= *top;
                    indents.pop();
                } else if closed < *top {
                    *top -= closed;
                    closed = 0;
                } else {
                    indents.pop();
                    closed = 0;
                }
            }
            toks[s].sp = 2 * indents.len();
        }
    }
}

fn spaces(toks: &mut [Tok], lines: &mut [Line]) {
    for line in lines.iter() {
        let (s, e) = line.lead;
        for i in s..e {
            if i + 1 >= e {
                continue;
            }
            let before = if i > s { Some(toks[i - 1].kind) } else { None };
            let space = space_after(&toks[i], before, &toks[i + 1]);
            toks[i + 1].sp = usize::from(space);
        }
        if let Some((s, e)) = line.assign {
            toks[s].sp = 1;
            for i in s..e {
                if i + 1 >= e {
                    continue;
                }
                let before = if i > s { Some(toks[i - 1].kind) } else { None };
                let space = space_after(&toks[i], before, &toks[i + 1]);
                toks[i + 1].sp = usize::from(space);
            }
        }
    }
}

fn columns(toks: &[Tok], (s, e): (usize, usize)) -> usize {
    toks[s..e].iter().map(|t| t.sp + t.text.graphemes(true).count()).sum()
}

fn cells(toks: &mut [Tok], lines: &[Line]) {
    // The `=` cells first, since moving them moves the comments too.
    let mut i = 0;
    while i < lines.len() {
        if lines[i].assign.is_none() {
            i += 1;
            continue;
        }
        let j = (i..lines.len()).find(|&j| lines[j].assign.is_none()).unwrap_or(lines.len());
        let max = lines[i..j].iter().map(|l| columns(toks, l.lead)).max().unwrap_or(0);
        for l in &lines[i..j] {
            let cols = columns(toks, l.lead);
            if let Some((a, _)) = l.assign {
                toks[a].sp = max - cols + 1;
            }
        }
        i = j;
    }
    let width = |toks: &[Tok], l: &Line| columns(toks, l.lead) + l.assign.map_or(0, |a| columns(toks, a));
    let mut i = 0;
    while i < lines.len() {
        if lines[i].comment.is_none() {
            i += 1;
            continue;
        }
        let j = (i..lines.len()).find(|&j| lines[j].comment.is_none()).unwrap_or(lines.len());
        let max = lines[i..j].iter().map(|l| width(toks, l)).max().unwrap_or(0);
        for l in &lines[i..j] {
            let w = width(toks, l);
            if let Some((c, _)) = l.comment {
                toks[c].sp = max - w + 1;
            }
        }
        i = j;
    }
}

/// Whether `subject` takes a space after it, before `after` (hclwrite's
/// `spaceAfterToken`, rule for rule and in the same order).
fn space_after(subject: &Tok, before: Option<K>, after: &Tok) -> bool {
    let (s, a) = (subject.kind, after.kind);
    if a == K::Newline || a == K::Eof {
        return false;
    }
    if s == K::Ident && a == K::OParen {
        return false;
    }
    if (s == K::Ident && a == K::DoubleColon) || (s == K::DoubleColon && a == K::Ident) {
        return false;
    }
    if s == K::Dot || a == K::Dot {
        return false;
    }
    if a == K::Comma || a == K::Ellipsis {
        return false;
    }
    if s == K::Comma {
        return true;
    }
    if matches!(s, K::QuotedLit | K::StringLit | K::OQuote | K::OHeredoc)
        || matches!(a, K::QuotedLit | K::StringLit | K::CQuote | K::CHeredoc)
    {
        return false;
    }
    if s == K::Ident && subject.text == "in" && before == Some(K::Ident) {
        return true;
    }
    if a == K::OBrack && (s == K::Ident || s == K::Number || subject.bracket_change() < 0) {
        return false;
    }
    if s == K::Bang {
        return false;
    }
    if s == K::Minus {
        return !matches!(
            before,
            None | Some(
                K::OParen
                    | K::OBrace
                    | K::OBrack
                    | K::Equal
                    | K::Colon
                    | K::Comma
                    | K::Question
                    | K::Plus
                    | K::Star
                    | K::Slash
                    | K::Percent
                    | K::Minus
                    | K::EqualOp
                    | K::NotEqual
                    | K::Gt
                    | K::Ge
                    | K::Lt
                    | K::Le
                    | K::And
                    | K::Or
                    | K::Bang
            )
        );
    }
    if s == K::OBrace || a == K::CBrace {
        return !(s == K::OBrace && a == K::CBrace);
    }
    if matches!(s, K::Interp | K::Control) && a == K::OBrace {
        return true;
    }
    if s == K::CBrace && a == K::SeqEnd {
        return true;
    }
    if s == K::SeqEnd && matches!(a, K::Interp | K::Control) {
        return false;
    }
    if subject.bracket_change() > 0 {
        return false;
    }
    if after.bracket_change() < 0 {
        return false;
    }
    true
}

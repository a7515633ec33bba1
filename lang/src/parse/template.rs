//! Template directives and strip markers, shared by both parsers. Each reads
//! a quoted string or a heredoc into a flat list of [`Tok`]s; [`build`] takes
//! off a `<<-` heredoc's indentation, applies the `~` strip markers, and nests
//! `%{ if }`/`%{ else }`/`%{ endif }` and `%{ for }`/`%{ endfor }` into
//! [`TemplatePart`]s, as HCL's template language does.

use crate::diag::Diagnostic;
use crate::source::Span;
use crate::syntax::*;

/// One piece of a template as read, before directives are nested.
pub(crate) enum Tok {
    Lit(String),
    Interp { expr: Expr, strip_left: bool, strip_right: bool },
    Dir { dir: Directive, strip_left: bool, strip_right: bool, span: Span },
}

pub(crate) enum Directive {
    If(Expr),
    Else,
    EndIf,
    For { key_var: Option<Ident>, value_var: Ident, collection: Expr },
    EndFor,
}

/// Append literal text, joining it to a literal before it on the same line:
/// as HCL scans them, a literal ends at a newline in the source, and a `~`
/// strip marker takes the white space of the one literal beside it.
pub(crate) fn push_lit(toks: &mut Vec<Tok>, s: &str) {
    if s.is_empty() {
        return;
    }
    // Terraform keeps every string in Unicode normal form C: "e\u0301" is "é".
    let normal;
    let s = if s.is_ascii() || unicode_normalization::is_nfc(s) {
        s
    } else {
        normal = unicode_normalization::UnicodeNormalization::nfc(s).collect::<String>();
        normal.as_str()
    };
    match toks.last_mut() {
        Some(Tok::Lit(l)) if !l.ends_with('\n') => l.push_str(s),
        _ => toks.push(Tok::Lit(s.to_string())),
    }
}

/// Append a run of source text that may span lines (a template file): one
/// literal per line.
pub(crate) fn push_source_lines(toks: &mut Vec<Tok>, s: &str) {
    for line in s.split_inclusive('\n') {
        push_lit(toks, line);
    }
}

fn push_part(parts: &mut Vec<TemplatePart>, p: TemplatePart) {
    match (parts.last_mut(), p) {
        (_, TemplatePart::Literal(s)) if s.is_empty() => {}
        (Some(TemplatePart::Literal(l)), TemplatePart::Literal(s)) => l.push_str(&s),
        (_, p) => parts.push(p),
    }
}

/// A directive being filled: its parts so far.
enum Frame {
    If { cond: Expr, then: Vec<TemplatePart>, otherwise: Option<Vec<TemplatePart>>, span: Span },
    For { key_var: Option<Ident>, value_var: Ident, collection: Expr, body: Vec<TemplatePart>, span: Span },
}

impl Frame {
    fn parts(&mut self) -> &mut Vec<TemplatePart> {
        match self {
            Frame::If { otherwise: Some(o), .. } => o,
            Frame::If { then, .. } => then,
            Frame::For { body, .. } => body,
        }
    }
}

/// The template's parts, or the error of a directive out of place.
pub(crate) fn build(mut toks: Vec<Tok>, heredoc_strip: bool) -> Result<Vec<TemplatePart>, Diagnostic> {
    // `~` takes the white space (newlines too) of the literal on its side of
    // the interpolation or directive; then a `<<-` heredoc loses its indentation,
    // counted on the lines that still start one (HCL's order).
    for i in 0..toks.len() {
        let (left, right) = match &toks[i] {
            Tok::Interp { strip_left, strip_right, .. } | Tok::Dir { strip_left, strip_right, .. } => {
                (*strip_left, *strip_right)
            }
            Tok::Lit(_) => continue,
        };
        if left && i > 0 {
            if let Tok::Lit(s) = &mut toks[i - 1] {
                *s = s.trim_end().to_string();
            }
        }
        if right {
            if let Some(Tok::Lit(s)) = toks.get_mut(i + 1) {
                *s = s.trim_start().to_string();
            }
        }
    }
    if heredoc_strip {
        strip_indent(&mut toks);
    }
    let mut root = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    for t in toks {
        let part = match t {
            Tok::Lit(s) => TemplatePart::Literal(s),
            Tok::Interp { expr, .. } => TemplatePart::Interpolation(expr),
            Tok::Dir { dir, span, .. } => match dir {
                Directive::If(_) | Directive::For { .. } if stack.len() >= super::limits::MAX_NESTING => {
                    // Every walk over the tree recurses into directives: keep it shallow.
                    return Err(Diagnostic::error(
                        "Template directives nested too deeply",
                        format!(
                            "This template nests %{{ if }} and %{{ for }} directives more than {} levels deep. Split it into several templates or locals.",
                            super::limits::MAX_NESTING
                        ),
                        span,
                    ));
                }
                Directive::If(cond) => {
                    stack.push(Frame::If { cond, then: Vec::new(), otherwise: None, span });
                    continue;
                }
                Directive::For { key_var, value_var, collection } => {
                    stack.push(Frame::For { key_var, value_var, collection, body: Vec::new(), span });
                    continue;
                }
                Directive::Else => match stack.last_mut() {
                    Some(Frame::If { otherwise: otherwise @ None, .. }) => {
                        *otherwise = Some(Vec::new());
                        continue;
                    }
                    _ => return Err(misplaced("else", "if", span)),
                },
                Directive::EndIf => match stack.pop() {
                    Some(Frame::If { cond, then, otherwise, .. }) => {
                        TemplatePart::If { cond, then, otherwise: otherwise.unwrap_or_default() }
                    }
                    _ => return Err(misplaced("endif", "if", span)),
                },
                Directive::EndFor => match stack.pop() {
                    Some(Frame::For { key_var, value_var, collection, body, .. }) => {
                        TemplatePart::For { key_var, value_var, collection, body }
                    }
                    _ => return Err(misplaced("endfor", "for", span)),
                },
            },
        };
        match stack.last_mut() {
            Some(f) => push_part(f.parts(), part),
            None => push_part(&mut root, part),
        }
    }
    if let Some(f) = stack.pop() {
        let (what, end, span) = match f {
            Frame::If { span, .. } => ("if", "endif", span),
            Frame::For { span, .. } => ("for", "endfor", span),
        };
        return Err(Diagnostic::error(
            format!("Unclosed %{{ {what} }}"),
            format!("This %{{ {what} }} directive has no %{{ {end} }}: add one where its part of the template ends."),
            span,
        ));
    }
    Ok(root)
}

fn misplaced(dir: &str, opener: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        format!("Unexpected %{{ {dir} }}"),
        format!("There is no open %{{ {opener} }} directive for this %{{ {dir} }} to belong to."),
        span,
    )
}

/// `<<-` heredocs lose the indentation common to all their non-blank lines.
fn strip_indent(parts: &mut [Tok]) {
    let mut min = usize::MAX;
    let mut at_line_start = true;
    for p in parts.iter() {
        match p {
            Tok::Lit(s) => {
                for (i, line) in s.split('\n').enumerate() {
                    if i > 0 {
                        at_line_start = true;
                    }
                    if at_line_start && !line.trim().is_empty() {
                        min = min.min(line.len() - line.trim_start_matches([' ', '\t']).len());
                        at_line_start = false;
                    } else if at_line_start && i + 1 < s.split('\n').count() {
                        // A blank line counts for nothing.
                    } else if at_line_start && !line.is_empty() {
                        min = min.min(line.len());
                        at_line_start = false;
                    }
                }
            }
            _ => {
                if at_line_start {
                    min = 0;
                }
                at_line_start = false;
            }
        }
    }
    if min == 0 || min == usize::MAX {
        return;
    }
    let mut at_line_start = true;
    for p in parts.iter_mut() {
        match p {
            Tok::Lit(s) => {
                let mut out = String::with_capacity(s.len());
                for (i, line) in s.split('\n').enumerate() {
                    if i > 0 {
                        out.push('\n');
                        at_line_start = true;
                    }
                    if at_line_start && !line.is_empty() {
                        let ws = line.len() - line.trim_start_matches([' ', '\t']).len();
                        out.push_str(&line[ws.min(min)..]);
                        at_line_start = false;
                    } else {
                        out.push_str(line);
                    }
                }
                *s = out;
            }
            _ => at_line_start = false,
        }
    }
}

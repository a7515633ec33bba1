//! How deep a file may nest, checked on the text before either parser runs,
//! so that no input can exhaust the stack of the parsers, the evaluator, the
//! formatter or any other walk over the tree.
//!
//! The measure is the depth of the tree the text would build: every open
//! bracket, brace, parenthesis and interpolation is a level, and so is every
//! operator, conditional and attribute or index step chained within one
//! level (`1+1+1` and `a.b.c` nest to the left). A comma or a lone `=` starts
//! a new expression within the level.

use crate::diag::Diagnostic;
use crate::source::{FileId, Span};

/// The deepest tree a file may describe.
pub const MAX_NESTING: usize = 500;

#[derive(Clone, Copy, PartialEq)]
enum Ctx {
    /// Code inside `(`, `[` or `{`, or at the top level.
    Code,
    /// Code inside `${ … }` in a string or heredoc.
    Interp,
    /// The text of a quoted string.
    Str,
    /// The text of a heredoc, with its marker's position in the text.
    Heredoc { marker: (usize, usize) },
}

struct Level {
    ctx: Ctx,
    chain: usize,
}

/// A diagnostic for the first place where the text nests deeper than
/// [`MAX_NESTING`], if any.
pub fn check(file: FileId, text: &str) -> Option<Diagnostic> {
    let b = text.as_bytes();
    let mut stack = vec![Level { ctx: Ctx::Code, chain: 0 }];
    // The depth of every level below the top: Σ (1 + chain).
    let mut below = 0usize;
    let mut i = 0;
    let depth = |stack: &[Level], below: usize| below + stack.last().map_or(0, |l| 1 + l.chain);
    let too_deep = |at: usize| {
        let at = at.min(text.len());
        Some(Diagnostic::error(
            "Expression nested too deeply",
            format!(
                "This nests more than {MAX_NESTING} levels deep (counting brackets, braces, blocks, interpolations, conditionals and chained operators). Landform refuses such input rather than risk running out of stack. Split it into locals."
            ),
            Span::new(file, at, (at + 1).min(text.len()).max(at)),
        ))
    };
    while i < b.len() {
        let top = stack.last().map_or(Ctx::Code, |l| l.ctx);
        let c = b[i];
        match top {
            Ctx::Str | Ctx::Heredoc { .. } => {
                if let Ctx::Heredoc { marker } = top {
                    if at_line_start(b, i) && is_marker_line(b, i, &text[marker.0..marker.1]) {
                        stack.pop();
                        i = skip_marker_line(b, i);
                        continue;
                    }
                }
                // Skip plain text in one step: only these bytes matter here.
                if !matches!(c, b'\\' | b'$' | b'%' | b'"' | b'\n') {
                    i += b[i..]
                        .iter()
                        .position(|c| matches!(c, b'\\' | b'$' | b'%' | b'"' | b'\n'))
                        .unwrap_or(b.len() - i);
                    continue;
                }
                match c {
                    b'\\' if top == Ctx::Str => i += 2,
                    b'$' | b'%' if b.get(i + 1) == Some(&c) && b.get(i + 2) == Some(&b'{') => i += 3,
                    // An interpolation or a directive: code, one level down.
                    b'$' | b'%' if b.get(i + 1) == Some(&b'{') => {
                        below += 1 + stack.last().map_or(0, |l| l.chain);
                        stack.push(Level { ctx: Ctx::Interp, chain: 0 });
                        if depth(&stack, below) > MAX_NESTING {
                            return too_deep(i);
                        }
                        i += 2;
                    }
                    b'"' | b'\n' if top == Ctx::Str => {
                        stack.pop();
                        below -= stack.last().map_or(0, |l| 1 + l.chain);
                        i += 1;
                    }
                    _ => i += 1,
                }
            }
            Ctx::Code | Ctx::Interp => {
                let mut chained = false;
                if matches!(c, b' ' | b'\t' | b'\r' | b'\n') {
                    i += 1;
                    continue;
                }
                match c {
                    b'#' => i = line_end(b, i),
                    b'/' if b.get(i + 1) == Some(&b'/') => i = line_end(b, i),
                    b'/' if b.get(i + 1) == Some(&b'*') => {
                        i = text[i + 2..].find("*/").map_or(b.len(), |e| i + 2 + e + 2);
                    }
                    b'"' => {
                        below += 1 + stack.last().map_or(0, |l| l.chain);
                        stack.push(Level { ctx: Ctx::Str, chain: 0 });
                        i += 1;
                    }
                    b'<' if b.get(i + 1) == Some(&b'<') => match heredoc_marker(b, i + 2) {
                        Some((marker, body)) => {
                            below += 1 + stack.last().map_or(0, |l| l.chain);
                            stack.push(Level { ctx: Ctx::Heredoc { marker }, chain: 0 });
                            i = body;
                        }
                        None => {
                            chained = true;
                            i += 2;
                        }
                    },
                    b'(' | b'[' | b'{' => {
                        below += 1 + stack.last().map_or(0, |l| l.chain);
                        stack.push(Level { ctx: Ctx::Code, chain: 0 });
                        i += 1;
                    }
                    b')' | b']' | b'}' => {
                        if stack.len() > 1 {
                            stack.pop();
                            below -= stack.last().map_or(0, |l| 1 + l.chain);
                        }
                        // A closed call or index is a step of a chain (`a[0][0]`, `f(x)(y)`).
                        chained = c != b'}';
                        i += 1;
                    }
                    b',' => {
                        if let Some(l) = stack.last_mut() {
                            l.chain = 0;
                        }
                        i += 1;
                    }
                    b'=' if b.get(i + 1) == Some(&b'>') => i += 2,
                    b'=' if b.get(i + 1) == Some(&b'=') => {
                        chained = true;
                        i += 2;
                    }
                    b'=' => {
                        if let Some(l) = stack.last_mut() {
                            l.chain = 0;
                        }
                        i += 1;
                    }
                    b'.' if b.get(i + 1) == Some(&b'.') => i += 2,
                    b'?' | b'.' | b'+' | b'-' | b'*' | b'/' | b'%' | b'<' | b'>' | b'!' | b'&' | b'|' => {
                        chained = true;
                        i += if matches!(b.get(i + 1), Some(b'=' | b'&' | b'|')) { 2 } else { 1 };
                    }
                    c if c.is_ascii_alphabetic() || c == b'_' => {
                        // An identifier: `-` inside one (`my-name`) is no operator.
                        i += 1;
                        while i < b.len()
                            && (b[i].is_ascii_alphanumeric()
                                || b[i] == b'_'
                                || (b[i] == b'-'
                                    && b.get(i + 1).is_some_and(|n| n.is_ascii_alphanumeric() || *n == b'_')))
                        {
                            i += 1;
                        }
                    }
                    c if c.is_ascii_digit() => {
                        // A number, duration or percentage, dots and exponents included.
                        i += 1;
                        while i < b.len()
                            && (b[i].is_ascii_alphanumeric()
                                || (b[i] == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit))
                                || (matches!(b[i], b'+' | b'-') && matches!(b[i - 1], b'e' | b'E')))
                        {
                            i += 1;
                        }
                    }
                    _ => i += 1,
                }
                if chained {
                    if let Some(l) = stack.last_mut() {
                        l.chain += 1;
                    }
                    if depth(&stack, below) > MAX_NESTING {
                        return too_deep(i - 1);
                    }
                }
                if depth(&stack, below) > MAX_NESTING {
                    return too_deep(i.saturating_sub(1));
                }
            }
        }
    }
    None
}

fn line_end(b: &[u8], i: usize) -> usize {
    b[i..].iter().position(|c| *c == b'\n').map_or(b.len(), |p| i + p)
}

fn at_line_start(b: &[u8], i: usize) -> bool {
    i == 0 || b[i - 1] == b'\n'
}

/// After `<<`: an optional `-`, an identifier and the end of the line. Returns
/// the identifier's range and where the body starts.
fn heredoc_marker(b: &[u8], mut i: usize) -> Option<((usize, usize), usize)> {
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    let start = i;
    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
        i += 1;
    }
    if i == start || !b[start].is_ascii_alphabetic() && b[start] != b'_' {
        return None;
    }
    let end = i;
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\r') {
        i += 1;
    }
    (b.get(i) == Some(&b'\n')).then_some(((start, end), i + 1))
}

fn is_marker_line(b: &[u8], i: usize, marker: &str) -> bool {
    let end = line_end(b, i);
    let line = std::str::from_utf8(&b[i..end]).unwrap_or("");
    let t = line.trim_start_matches([' ', '\t']);
    t.strip_prefix(marker)
        .is_some_and(|rest| !rest.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
}

fn skip_marker_line(b: &[u8], i: usize) -> usize {
    // The marker ends the heredoc; what follows it on the line is code.
    let mut j = i;
    while j < b.len() && matches!(b[j], b' ' | b'\t') {
        j += 1;
    }
    while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
        j += 1;
    }
    j
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deep(text: &str) -> bool {
        check(FileId(0), text).is_some()
    }

    #[test]
    fn ordinary_configuration_passes() {
        let long_list = format!("x = [{}]", (0..20_000).map(|i| format!("{i}.5")).collect::<Vec<_>>().join(", "));
        assert!(!deep(&long_list));
        let many = (0..5000).map(|i| format!("a{i} = b.c.d + e-f * 2\n")).collect::<String>();
        assert!(!deep(&many));
        assert!(!deep("x = <<EOT\n((((((((\nEOT\ny = \"((((${a.b}\""));
    }

    #[test]
    fn every_kind_of_deep_nesting_is_refused() {
        let n = MAX_NESTING + 10;
        assert!(deep(&format!("x = {}1{}", "(".repeat(n), ")".repeat(n))));
        assert!(deep(&format!("x = {}", vec!["1"; n].join("+"))));
        assert!(deep(&format!("x = a{}", "[0]".repeat(n))));
        assert!(deep(&format!("x = a{}", ".b".repeat(n))));
        assert!(deep(&format!("x = {}1", "true ? 1 : ".repeat(n))));
        assert!(deep(&format!("{}{}", "a {\n".repeat(n), "}\n".repeat(n))));
        assert!(deep(&format!("x = {}", "\"${".repeat(n))));
        assert!(deep(&format!("x = {}", "[for x in y : ".repeat(n))));
    }
}

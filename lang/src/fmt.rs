//! The formatter: one canonical layout. Two-space indentation by bracket depth,
//! `name = value` spacing, `=` aligned across consecutive arguments, at most one
//! blank line in a row; comments, heredoc bodies and everything else kept as
//! written. It works on lines and tokens, not on the tree, so that no comment
//! can be lost; the tree is used to refuse invalid input and to prove that
//! formatting changed nothing but layout.

use crate::diag::Diagnostic;
use crate::parse::parse_file;
use crate::source::FileId;

/// Format a file. Fails with the syntax errors when the file does not parse.
pub fn format_source(text: &str) -> Result<String, Vec<Diagnostic>> {
    // As the loader reads it: no byte-order mark, LF line endings.
    let normalized = crate::source::SourceFile::new("", text).text;
    let text = normalized.as_str();
    let (before, diags) = parse_file(FileId(0), text);
    if !diags.is_empty() {
        return Err(diags);
    }
    let out = layout(text);
    // The safety net: layout must not change what the file means.
    let (after, diags2) = parse_file(FileId(0), &out);
    if !diags2.is_empty() || crate::dump::dump_body(&before.body, None) != crate::dump::dump_body(&after.body, None) {
        return Ok(text.to_string());
    }
    Ok(out)
}

/// How a physical line begins, as far as layout is concerned.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    /// Ordinary code: re-indented and normalized.
    Code,
    /// Inside a heredoc or block comment: kept exactly.
    Verbatim,
}

struct Line {
    kind: Kind,
    indent: usize,
    text: String,
}

/// Scanner state carried from one line to the next.
#[derive(Default)]
struct Scan {
    /// Open brackets, one entry per line that left some open, with their count.
    stack: Vec<usize>,
    /// Inside a block comment.
    in_comment: bool,
    /// Heredoc markers waiting for their closing line.
    heredocs: Vec<String>,
    /// Inside a string (interpolations may span lines).
    string_depth: Vec<usize>,
}

fn layout(text: &str) -> String {
    let mut scan = Scan::default();
    let mut lines: Vec<Line> = Vec::new();
    let body = text.strip_suffix('\n').unwrap_or(text);
    for raw in body.split('\n') {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(marker) = scan.heredocs.first().cloned() {
            lines.push(Line { kind: Kind::Verbatim, indent: 0, text: raw.to_string() });
            // As in the grammar: the marker, then anything but an identifier character.
            let closes = raw
                .trim_start()
                .strip_prefix(marker.as_str())
                .is_some_and(|rest| !rest.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-'));
            if closes {
                scan.heredocs.remove(0);
            }
            continue;
        }
        let starts_verbatim = scan.in_comment || !scan.string_depth.is_empty();
        let trimmed = raw.trim();
        let indent = scan_line(trimmed, &mut scan);
        if starts_verbatim {
            lines.push(Line { kind: Kind::Verbatim, indent: 0, text: raw.trim_end().to_string() });
        } else {
            lines.push(Line { kind: Kind::Code, indent, text: normalize_attribute(trimmed) });
        }
    }
    align(&mut lines);
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0;
    for l in &lines {
        if l.kind == Kind::Code && l.text.is_empty() {
            blank_run += 1;
            continue;
        }
        if blank_run > 0 && !out.is_empty() {
            out.push('\n');
        }
        blank_run = 0;
        if l.kind == Kind::Code {
            out.push_str(&"  ".repeat(l.indent));
        }
        out.push_str(&l.text);
        out.push('\n');
    }
    out
}

/// Advance the scanner over one trimmed line; return the line's indent level.
fn scan_line(line: &str, scan: &mut Scan) -> usize {
    let bytes = line.as_bytes();
    let mut local_open = 0usize;
    let mut indent: Option<usize> = None;
    let mut i = 0;
    let mut seen_token = false;
    while i < bytes.len() {
        let c = bytes[i];
        if scan.in_comment {
            if c == b'*' && bytes.get(i + 1) == Some(&b'/') {
                scan.in_comment = false;
                i += 2;
            } else {
                i += 1;
            }
            continue;
        }
        if let Some(&depth) = scan.string_depth.last() {
            // Inside a string: depth counts `{` of interpolations opened in it.
            match c {
                b'\\' => i += 1,
                b'$' if bytes.get(i + 1) == Some(&b'{') && depth == 0 => {
                    if let Some(d) = scan.string_depth.last_mut() {
                        *d += 1;
                    }
                    i += 1;
                }
                b'"' if depth == 0 => {
                    scan.string_depth.pop();
                }
                b'{' if depth > 0 => {
                    if let Some(d) = scan.string_depth.last_mut() {
                        *d += 1;
                    }
                }
                b'}' if depth > 0 => {
                    if let Some(d) = scan.string_depth.last_mut() {
                        *d -= 1;
                    }
                }
                b'"' => scan.string_depth.push(0),
                _ => {}
            }
            i += 1;
            continue;
        }
        match c {
            b'#' => break,
            b'/' if bytes.get(i + 1) == Some(&b'/') => break,
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                scan.in_comment = true;
                i += 2;
                seen_token = true;
                continue;
            }
            b'"' => scan.string_depth.push(0),
            b'<' if bytes.get(i + 1) == Some(&b'<') => {
                let rest = &line[i + 2..];
                let rest = rest.strip_prefix('-').unwrap_or(rest);
                let marker: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                if !marker.is_empty() && marker.chars().next().is_some_and(|c| !c.is_ascii_digit()) {
                    scan.heredocs.push(marker);
                    break;
                }
            }
            b'{' | b'[' | b'(' => local_open += 1,
            b'}' | b']' | b')' => {
                if local_open > 0 {
                    local_open -= 1;
                } else {
                    if let Some(top) = scan.stack.last_mut() {
                        *top -= 1;
                        if *top == 0 {
                            scan.stack.pop();
                        }
                    }
                    if !seen_token && indent.is_none() {
                        // Leading closers dedent this very line; keep scanning.
                        i += 1;
                        continue;
                    }
                }
            }
            _ => {}
        }
        if indent.is_none() && !c.is_ascii_whitespace() {
            indent = Some(scan.stack.len());
        }
        seen_token = true;
        i += 1;
    }
    let indent = indent.unwrap_or(scan.stack.len());
    if local_open > 0 {
        scan.stack.push(local_open);
    }
    indent
}

/// `name=value` → `name = value`, for a line that is an argument.
fn normalize_attribute(line: &str) -> String {
    match split_attribute(line) {
        Some((key, value)) => {
            if value.is_empty() {
                format!("{key} =")
            } else {
                format!("{key} = {}", normalize_spacing(value))
            }
        }
        None => line.to_string(),
    }
}

/// Spacing inside an expression as `terraform fmt` writes it: one space
/// between tokens, after a comma and around an object's `=`, none inside
/// brackets and parentheses, one inside an inline object's braces. Strings
/// and comments are kept as written; the result is checked by the caller's
/// safety net, which keeps the original if the meaning would change.
fn normalize_spacing(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let mut out = String::with_capacity(value.len());
    let mut i = 0;
    let space_pending = |out: &mut String| {
        if !out.ends_with(' ') && !out.is_empty() {
            out.push(' ');
        }
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            // Strings, with their interpolations, as written.
            '"' => {
                let start = i;
                i += 1;
                let mut depth = 0usize;
                while i < chars.len() {
                    match chars[i] {
                        '\\' => i += 1,
                        '$' if chars.get(i + 1) == Some(&'{') => {
                            depth += 1;
                            i += 1;
                        }
                        '}' if depth > 0 => depth -= 1,
                        '"' if depth == 0 => break,
                        _ => {}
                    }
                    i += 1;
                }
                out.extend(&chars[start..(i + 1).min(chars.len())]);
                i += 1;
            }
            // A comment or a heredoc opening: the rest of the line as written.
            '#' => {
                out.extend(&chars[i..]);
                break;
            }
            '/' if matches!(chars.get(i + 1), Some('/' | '*')) => {
                out.extend(&chars[i..]);
                break;
            }
            '<' if chars.get(i + 1) == Some(&'<') => {
                out.extend(&chars[i..]);
                break;
            }
            ' ' | '\t' => {
                let start = i;
                while matches!(chars.get(i), Some(' ' | '\t')) {
                    i += 1;
                }
                let comment = matches!(chars.get(i), Some('#'))
                    || (chars.get(i) == Some(&'/') && matches!(chars.get(i + 1), Some('/' | '*')));
                if comment {
                    // The space before a trailing comment is the author's.
                    out.extend(&chars[start..i]);
                } else {
                    space_pending(&mut out);
                }
            }
            ',' => {
                while out.ends_with(' ') {
                    out.pop();
                }
                out.push(',');
                i += 1;
                while matches!(chars.get(i), Some(' ' | '\t')) {
                    i += 1;
                }
                if i < chars.len() && !matches!(chars[i], ')' | ']' | '}') {
                    out.push(' ');
                }
            }
            '(' | '[' => {
                out.push(c);
                i += 1;
                while matches!(chars.get(i), Some(' ' | '\t')) {
                    i += 1;
                }
            }
            ')' | ']' => {
                while out.ends_with(' ') {
                    out.pop();
                }
                out.push(c);
                i += 1;
            }
            '{' => {
                out.push('{');
                i += 1;
                while matches!(chars.get(i), Some(' ' | '\t')) {
                    i += 1;
                }
                if i < chars.len() && chars[i] != '}' {
                    out.push(' ');
                }
            }
            '}' => {
                if !out.ends_with('{') {
                    space_pending(&mut out);
                }
                out.push('}');
                i += 1;
            }
            '=' => {
                let prev = out.trim_end().chars().last();
                let next = chars.get(i + 1).copied();
                // `=` between `key` and `value` in an object, `=>` in a for
                // expression: one space on each side.
                let spaced = |op: &str, out: &mut String, i: &mut usize| {
                    space_pending(out);
                    out.push_str(op);
                    *i += op.len();
                    while matches!(chars.get(*i), Some(' ' | '\t')) {
                        *i += 1;
                    }
                    if *i < chars.len() {
                        out.push(' ');
                    }
                };
                if next == Some('>') {
                    spaced("=>", &mut out, &mut i);
                } else if matches!(prev, Some('=' | '!' | '<' | '>')) || next == Some('=') {
                    out.push('=');
                    i += 1;
                } else {
                    spaced("=", &mut out, &mut i);
                }
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out.trim_end().to_string()
}

/// The key and value of an argument line (`key = value` or `"key" = value`).
fn split_attribute(line: &str) -> Option<(&str, &str)> {
    let key_end = if line.starts_with('"') {
        let mut esc = false;
        let mut end = None;
        for (i, c) in line.char_indices().skip(1) {
            match c {
                '\\' if !esc => esc = true,
                '"' if !esc => {
                    end = Some(i + 1);
                    break;
                }
                _ => esc = false,
            }
        }
        let end = end?;
        if line[1..end].contains("${") {
            return None;
        }
        end
    } else {
        let mut chars = line.char_indices();
        match chars.next() {
            Some((_, c)) if c.is_ascii_alphabetic() || c == '_' => {}
            _ => return None,
        }
        chars.find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-')).map_or(line.len(), |(i, _)| i)
    };
    let key = &line[..key_end];
    let rest = line[key_end..].trim_start();
    let after = rest.strip_prefix('=')?;
    if after.starts_with('=') || after.starts_with('>') {
        return None;
    }
    Some((key, after.trim_start()))
}

/// Align `=` across runs of consecutive argument lines at one indent.
fn align(lines: &mut [Line]) {
    let mut i = 0;
    while i < lines.len() {
        let is_attr = |l: &Line| l.kind == Kind::Code && split_attribute(&l.text).is_some();
        if !is_attr(&lines[i]) {
            i += 1;
            continue;
        }
        let indent = lines[i].indent;
        let mut j = i;
        while j < lines.len() && is_attr(&lines[j]) && lines[j].indent == indent {
            j += 1;
        }
        let width = lines[i..j]
            .iter()
            .filter_map(|l| split_attribute(&l.text).map(|(k, _)| k.chars().count()))
            .max()
            .unwrap_or(0);
        for l in &mut lines[i..j] {
            if let Some((k, v)) = split_attribute(&l.text) {
                let pad = " ".repeat(width - k.chars().count());
                l.text = if v.is_empty() { format!("{k}{pad} =") } else { format!("{k}{pad} = {v}") };
            }
        }
        i = j.max(i + 1);
    }
}

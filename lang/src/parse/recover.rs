//! When a file does not parse: pest's error said the way a person reads it
//! (what was expected, what was found, an unclosed heredoc or block), and the
//! split into top-level blocks that lets the other blocks' errors be reported.

use super::{LfParser, Rule};
use crate::diag::Diagnostic;
use crate::source::{FileId, Span};
use pest::Parser as _;

pub(super) fn syntax_error(file: FileId, offset: usize, text: &str) -> Diagnostic {
    syntax_error_rule(file, offset, text, Rule::file)
}

pub(super) fn syntax_error_rule(file: FileId, offset: usize, text: &str, rule: Rule) -> Diagnostic {
    // Detailed error reporting costs time, so it is on only for this second parse.
    pest::set_error_detail(true);
    let result = LfParser::parse(rule, text);
    pest::set_error_detail(false);
    let err = match result {
        Err(e) => e,
        Ok(_) => {
            return Diagnostic::error(
                "Invalid syntax",
                "This file could not be parsed.",
                Span::new(file, offset, offset),
            )
        }
    };
    let pos = match err.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    };
    let mut expected: Vec<String> = Vec::new();
    let mut push = |s: &str| {
        if !expected.iter().any(|e| e == s) {
            expected.push(s.to_string());
        }
    };
    let mut wants_expr = false;
    if let pest::error::ErrorVariant::ParsingError { positives, .. } = &err.variant {
        for r in positives {
            match describe_rule(*r) {
                Some("an expression") => wants_expr = true,
                Some(d) => push(d),
                None => {}
            }
        }
    }
    if let Some(attempts) = err.parse_attempts() {
        for t in attempts.expected_tokens() {
            let token = t.to_string();
            {
                if matches!(token.as_str(), "=" | "{" | "}" | "]" | ")" | "," | ":" | "=>" | "\"") {
                    push(&format!("'{token}'"));
                } else if matches!(token.as_str(), "[" | "(" | "<<" | "!" | "-") {
                    wants_expr = true;
                }
            }
        }
        for stack in attempts.call_stacks() {
            if let Some(d) = describe_rule(stack.deepest.get_rule().copied().unwrap_or(Rule::EOI)) {
                if d == "an expression" {
                    wants_expr = true;
                }
            }
        }
    }
    if expected.iter().any(|e| e == "a quoted string") {
        expected.retain(|e| e != "'\"'");
    }
    if wants_expr {
        expected.retain(|e| e != "a name" && e != "'\"'" && e != "'{'");
        expected.insert(0, "an expression".to_string());
    }
    if let Some((start, marker)) = unclosed_heredoc(text) {
        if pos >= start {
            return Diagnostic::error(
                "Unterminated heredoc",
                format!("The heredoc that starts here is never closed. End it with a line that holds only {marker}."),
                Span::new(file, offset + start, offset + start + 2 + marker.len()),
            );
        }
    }
    let found = describe_found(&text[pos.min(text.len())..]);
    let at_eof = pos >= text.trim_end().len();
    let (summary, hint) = if at_eof && expected.iter().any(|e| e == "'}'") {
        (
            "Unclosed configuration block",
            " There is no closing brace for a block before the end of the file: add the missing '}'.",
        )
    } else if expected.len() == 1 && wants_expr {
        ("Invalid expression", " A value is needed here: a string, number, list, object, reference or function call.")
    } else if expected.iter().any(|e| e == "'='") && expected.iter().any(|e| e == "'{'") {
        (
            "Argument or block definition required",
            " An argument is written `name = value`; a block is written `type \"label\" { … }`.",
        )
    } else {
        ("Invalid syntax", "")
    };
    let list = match expected.len() {
        0 => "something else".to_string(),
        1 => expected[0].clone(),
        n => format!("{} or {}", expected[..n - 1].join(", "), expected[n - 1]),
    };
    let width = found_width(&text[pos.min(text.len())..]);
    Diagnostic::error(
        summary,
        format!("Expected {list}, but found {found}.{hint}"),
        Span::new(file, offset + pos, offset + pos + width),
    )
}

fn describe_rule(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::ident | Rule::call_name | Rule::attribute | Rule::block => "a name",
        Rule::string => "a quoted string",
        Rule::expr
        | Rule::or_expr
        | Rule::and_expr
        | Rule::eq_expr
        | Rule::cmp_expr
        | Rule::add_expr
        | Rule::mul_expr
        | Rule::unary_expr
        | Rule::postfix_expr
        | Rule::op_unary
        | Rule::heredoc
        | Rule::percent
        | Rule::duration
        | Rule::number
        | Rule::for_list
        | Rule::for_map
        | Rule::list
        | Rule::object
        | Rule::call
        | Rule::variable
        | Rule::paren => "an expression",
        Rule::object_item | Rule::object_key => "an object key",
        Rule::kw_in => "the keyword 'in'",
        Rule::EOI => "the end of the file",
        _ => return None,
    })
}

fn describe_found(rest: &str) -> String {
    let Some(c) = rest.chars().next() else { return "the end of the file".to_string() };
    if c == '\n' || c == '\r' {
        return "the end of the line".to_string();
    }
    if c.is_alphanumeric() || c == '_' {
        let word: String =
            rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-').take(40).collect();
        return format!("\"{word}\"");
    }
    format!("'{c}'")
}

fn found_width(rest: &str) -> usize {
    let Some(c) = rest.chars().next() else { return 0 };
    if c.is_alphanumeric() || c == '_' {
        rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-').map(char::len_utf8).sum()
    } else if c == '\n' {
        0
    } else {
        c.len_utf8()
    }
}

/// Split a file into top-level items by bracket balance, skipping strings,
/// comments and heredocs. Used only after a syntax error, to keep going.
pub(super) fn top_level_chunks(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut chunks = Vec::new();
    let mut stack: Vec<u8> = Vec::new();
    let mut start = 0;
    let mut saw_eq = false;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let in_string = stack.last() == Some(&b'"');
        if in_string {
            match c {
                b'\\' => i += 1,
                b'$' if bytes.get(i + 1) == Some(&b'{') => {
                    stack.push(b'I');
                    i += 1;
                }
                b'"' => {
                    stack.pop();
                }
                b'\n' => {
                    stack.pop();
                }
                _ => {}
            }
            i += 1;
            continue;
        }
        match c {
            b'"' => stack.push(b'"'),
            b'{' | b'[' | b'(' => stack.push(c),
            b'}' | b']' | b')' => {
                stack.pop();
                if stack.is_empty() && c == b'}' {
                    chunks.push((start, i + 1));
                    start = i + 1;
                    saw_eq = false;
                }
            }
            b'=' if stack.is_empty() => saw_eq = true,
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = text[i + 2..].find("*/").map_or(bytes.len(), |e| i + 2 + e + 2);
                continue;
            }
            b'<' if bytes.get(i + 1) == Some(&b'<') => {
                let rest = &text[i + 2..];
                let rest = rest.strip_prefix('-').unwrap_or(rest);
                let marker: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !marker.is_empty() {
                    let mut j = text[i..].find('\n').map_or(bytes.len(), |n| i + n + 1);
                    while j < bytes.len() {
                        let line_end = text[j..].find('\n').map_or(bytes.len(), |n| j + n);
                        if text[j..line_end].trim() == marker {
                            j = line_end;
                            break;
                        }
                        j = line_end + 1;
                    }
                    i = j;
                    continue;
                }
            }
            b'\n' if stack.is_empty() && saw_eq => {
                chunks.push((start, i + 1));
                start = i + 1;
                saw_eq = false;
            }
            // A top-level keyword at the start of a line begins a new item even
            // when an earlier bracket was never closed.
            b'\n' if !stack.is_empty() && starts_top_level_block(&text[i + 1..]) => {
                chunks.push((start, i + 1));
                start = i + 1;
                saw_eq = false;
                stack.clear();
            }
            _ => {}
        }
        i += 1;
    }
    if !text[start..].trim().is_empty() {
        chunks.push((start, text.len()));
    }
    chunks
}

/// The first `<<MARKER` whose closing line never comes, with its offset.
fn unclosed_heredoc(text: &str) -> Option<(usize, String)> {
    let mut search = 0;
    while let Some(found) = text[search..].find("<<") {
        let start = search + found;
        let rest = &text[start + 2..];
        let rest = rest.strip_prefix('-').unwrap_or(rest);
        let marker: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        search = start + 2;
        if marker.is_empty() || !rest[marker.len()..].trim_start_matches([' ', '\t', '\r']).starts_with('\n') {
            continue;
        }
        let body_start = text[start..].find('\n').map_or(text.len(), |n| start + n + 1);
        match text[body_start..].split('\n').position(|l| l.trim() == marker) {
            Some(_) => continue,
            None => return Some((start, marker)),
        }
    }
    None
}

fn starts_top_level_block(line: &str) -> bool {
    ["variable ", "locals ", "locals{", "provider ", "resource ", "data ", "module ", "output "]
        .iter()
        .any(|k| line.starts_with(k))
}

/// True for diagnostics that mean the parser could not read part of a file, or
/// a block has a label that is not a name (lowering leaves it out), so the
/// tree is incomplete.
pub fn is_syntax_error(d: &Diagnostic) -> bool {
    super::labels::SUMMARIES.contains(&d.summary.as_str())
        || matches!(
            d.summary.as_str(),
            "Invalid syntax"
                | "Unclosed configuration block"
                | "Invalid expression"
                | "Argument or block definition required"
                | "Expression nested too deeply"
        )
}

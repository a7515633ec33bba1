//! Diagnostics: a fixed summary, a detail that says what, why and how to fix,
//! and where. One renderer for people and one JSON form.

use crate::source::{SourceMap, Span};
use serde::Serialize;
use std::fmt::Write;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub summary: String,
    pub detail: String,
    pub span: Option<Span>,
}

impl Diagnostic {
    pub fn error(summary: impl Into<String>, detail: impl Into<String>, span: Span) -> Diagnostic {
        Diagnostic { severity: Severity::Error, summary: summary.into(), detail: detail.into(), span: Some(span) }
    }

    pub fn warning(summary: impl Into<String>, detail: impl Into<String>, span: Span) -> Diagnostic {
        Diagnostic { severity: Severity::Warning, summary: summary.into(), detail: detail.into(), span: Some(span) }
    }

    /// A diagnostic that belongs to no place in the source (a bad `--var`, say).
    pub fn global(summary: impl Into<String>, detail: impl Into<String>) -> Diagnostic {
        Diagnostic { severity: Severity::Error, summary: summary.into(), detail: detail.into(), span: None }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// True when any diagnostic is an error.
pub fn has_errors(diags: &[Diagnostic]) -> bool {
    diags.iter().any(Diagnostic::is_error)
}

/// Colours for the human renderer; all empty when colour is off.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    pub error: &'static str,
    pub warning: &'static str,
    pub bold: &'static str,
    pub dim: &'static str,
    pub reset: &'static str,
}

impl Style {
    pub const PLAIN: Style = Style { error: "", warning: "", bold: "", dim: "", reset: "" };
    pub const COLOR: Style =
        Style { error: "\x1b[1;31m", warning: "\x1b[1;33m", bold: "\x1b[1m", dim: "\x1b[2m", reset: "\x1b[0m" };
}

/// The most characters of a source line a diagnostic shows.
const SHOWN: usize = 160;

/// Render one diagnostic for a person:
///
/// ```text
/// Error: Reference to undeclared input variable
///   --> main.lf:3:9
///    |
///  3 |   ami = var.amii
///    |         ^^^^^^^^
///
/// An input variable named "amii" has not been declared. Did you mean "ami"?
/// ```
pub fn render(diag: &Diagnostic, sources: &SourceMap, style: Style) -> String {
    let mut out = String::new();
    let (label, colour) = match diag.severity {
        Severity::Error => ("Error", style.error),
        Severity::Warning => ("Warning", style.warning),
    };
    let _ = writeln!(out, "{colour}{label}{}: {}{}{}", style.reset, style.bold, diag.summary, style.reset);
    if let Some((file, span)) = diag.span.and_then(|s| sources.get(s.file).map(|f| (f, s))) {
        let (line, col) = file.line_col(span.start);
        if !file.quoted {
            let pad = " ".repeat(line.to_string().len());
            let _ = writeln!(out, "{pad}{}--> {}{}:{line}:{col}", style.dim, style.reset, file.name);
            let _ = writeln!(
                out,
                "{pad} {}|{} (line not shown: a variables file may hold a sensitive value)",
                style.dim, style.reset
            );
        }
    }
    if let Some((file, span)) = diag.span.and_then(|s| sources.get(s.file).filter(|f| f.quoted).map(|f| (f, s))) {
        let (line, col) = file.line_col(span.start);
        let (end_line, end_col) = file.line_col(span.end);
        let text = file.line_text(line);
        let gutter = line.to_string().len();
        let pad = " ".repeat(gutter);
        let _ = writeln!(out, "{pad}{}--> {}{}:{line}:{col}", style.dim, style.reset, file.name);
        let _ = writeln!(out, "{pad} {}|{}", style.dim, style.reset);
        // A control character in the source (an escape sequence) is shown as
        // one replacement character: it never reaches the terminal.
        let chars: Vec<char> = text
            .chars()
            .map(|c| match c {
                '\t' => ' ',
                c if c.is_control() => '\u{FFFD}',
                c => c,
            })
            .collect();
        let width =
            if end_line == line { end_col.saturating_sub(col) } else { chars.len() + 1 - col.min(chars.len() + 1) };
        // A long line (generated or minified input) is shown around the column.
        let (first, last) = if chars.len() <= SHOWN {
            (0, chars.len())
        } else {
            let first = (col - 1).saturating_sub(SHOWN / 3).min(chars.len() - SHOWN);
            (first, first + SHOWN)
        };
        let lead = if first > 0 { "…" } else { "" };
        let tail = if last < chars.len() { "…" } else { "" };
        let shown: String = chars[first..last].iter().collect();
        let _ = writeln!(out, "{}{line} |{} {lead}{shown}{tail}", style.dim, style.reset);
        let offset = col - 1 - first + lead.chars().count();
        let width = width.min((last + tail.chars().count()).saturating_sub(col - 1));
        let carets = "^".repeat(width.max(1));
        let _ =
            writeln!(out, "{pad} {}|{} {}{colour}{carets}{}", style.dim, style.reset, " ".repeat(offset), style.reset);
    }
    if !diag.detail.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "{}", diag.detail);
    }
    out
}

/// Render every diagnostic, separated by blank lines, errors in source order.
pub fn render_all(diags: &[Diagnostic], sources: &SourceMap, style: Style) -> String {
    let mut sorted: Vec<&Diagnostic> = diags.iter().collect();
    sorted.sort_by_key(|d| d.span.map(|s| (s.file, s.start)));
    sorted.iter().map(|d| render(d, sources, style)).collect::<Vec<_>>().join("\n")
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    severity: Severity,
    summary: &'a str,
    detail: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    range: Option<JsonRange>,
}

#[derive(Serialize)]
struct JsonRange {
    filename: String,
    start: JsonPos,
    end: JsonPos,
}

#[derive(Serialize)]
struct JsonPos {
    line: usize,
    column: usize,
    byte: u32,
}

/// The JSON form: `{"valid": bool, "error_count", "warning_count", "diagnostics": [...]}`.
pub fn to_json(diags: &[Diagnostic], sources: &SourceMap) -> serde_json::Value {
    let items: Vec<JsonDiagnostic> = diags
        .iter()
        .map(|d| JsonDiagnostic {
            severity: d.severity,
            summary: &d.summary,
            detail: &d.detail,
            range: d.span.and_then(|s| {
                let f = sources.get(s.file)?;
                let (l1, c1) = f.line_col(s.start);
                let (l2, c2) = f.line_col(s.end);
                Some(JsonRange {
                    filename: f.name.clone(),
                    start: JsonPos { line: l1, column: c1, byte: s.start },
                    end: JsonPos { line: l2, column: c2, byte: s.end },
                })
            }),
        })
        .collect();
    let errors = diags.iter().filter(|d| d.is_error()).count();
    serde_json::json!({
        "format_version": "1.0",
        "valid": errors == 0,
        "error_count": errors,
        "warning_count": diags.len() - errors,
        "diagnostics": items,
    })
}

/// The closest candidate to a misspelled name, if one is close enough.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = levenshtein(name, c);
        let limit = (name.len().max(c.len()) / 3).max(1);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// `Did you mean "x"?` or nothing, ready to append to a detail.
/// The same diagnostic can come from a module checked twice (both branches
/// of an unknown conditional; a call to an unknown function, found when the
/// files are read and again when evaluated): keep the first.
pub fn dedup(diags: &mut Vec<Diagnostic>) {
    let mut seen = std::collections::HashSet::new();
    diags.retain(|d| seen.insert((d.summary.clone(), d.detail.clone(), format!("{:?}", d.span))));
}

pub fn suggestion<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    match did_you_mean(name, candidates) {
        Some(s) => format!(" Did you mean \"{s}\"?"),
        None => String::new(),
    }
}

/// Optimal string alignment distance: edits, with a swap of neighbours as one.
fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A line of generated input is shown around the column, not whole.
    #[test]
    fn a_long_line_is_shown_around_the_error() {
        let mut sources = SourceMap::new();
        let line = format!("x = {}oops{}", "a".repeat(5000), "b".repeat(5000));
        let file = sources.add("main.lf", line.clone());
        let at = line.find("oops").unwrap();
        let out = render(&Diagnostic::error("Bad", "", Span::new(file, at, at + 4)), &sources, Style::PLAIN);
        assert!(out.contains("--> main.lf:1:5005"), "{out}");
        let lines: Vec<&str> = out.lines().collect();
        let shown = lines.iter().find(|l| l.starts_with("1 |")).unwrap();
        assert!(shown.chars().count() < 200, "{shown}");
        assert!(shown.contains("…aaa") && shown.contains("oops") && shown.ends_with("bbb…"), "{shown}");
        // The carets stand under "oops".
        let carets = lines.iter().find(|l| l.contains('^')).unwrap();
        let column = |s: &str, pat: &str| s.chars().count() - s[s.find(pat).unwrap()..].chars().count();
        assert_eq!(column(carets, "^^^^"), column(shown, "oops"), "\n{shown}\n{carets}");
        // A short line is shown whole.
        let short = sources.add("b.lf", "x = oops");
        let out = render(&Diagnostic::error("Bad", "", Span::new(short, 4, 8)), &sources, Style::PLAIN);
        assert!(out.contains("1 | x = oops\n  |     ^^^^\n"), "{out}");
    }
}

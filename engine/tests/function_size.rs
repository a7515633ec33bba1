//! Issue 27's invariant: no function of `engine/src` is over 100 lines, and none
//! silences clippy's `too_many_arguments` (a function that needs that many
//! takes a struct of its shared context instead, as `planner::Planner` does).
//!
//! Lines are counted as a reviewer counts them: from the line of `fn` to the
//! line of its closing brace, both included, closures and nested functions
//! counting toward the function that holds them (a nested function is also
//! measured by itself). Braces in comments, strings and character literals
//! are not code.

use std::path::Path;

const MAX_LINES: usize = 100;

fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push((p.display().to_string(), std::fs::read_to_string(&p).unwrap()));
        }
    }
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// The text with comments, string literals and character literals blanked
/// (newlines kept, so line numbers still hold).
fn code_only(text: &str) -> Vec<u8> {
    let s = text.as_bytes();
    let mut out = s.to_vec();
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for b in &mut out[from..to.min(s.len())] {
            if *b != b'\n' {
                *b = b' ';
            }
        }
    };
    let mut i = 0;
    while i < s.len() {
        let prev_ident = i > 0 && is_ident(s[i - 1]);
        if s[i..].starts_with(b"//") {
            let end = s[i..].iter().position(|&b| b == b'\n').map_or(s.len(), |n| i + n);
            blank(&mut out, i, end);
            i = end;
        } else if s[i..].starts_with(b"/*") {
            let (mut j, mut depth) = (i + 2, 1);
            while j < s.len() && depth > 0 {
                if s[j..].starts_with(b"/*") {
                    depth += 1;
                    j += 2;
                } else if s[j..].starts_with(b"*/") {
                    depth -= 1;
                    j += 2;
                } else {
                    j += 1;
                }
            }
            blank(&mut out, i, j);
            i = j;
        } else if s[i] == b'r' && (!prev_ident || (i > 0 && s[i - 1] == b'b' && !(i > 1 && is_ident(s[i - 2])))) {
            // A raw string r"…", r#"…"#, br#"…"#: it ends at a quote followed by as many hashes.
            let hashes = s[i + 1..].iter().take_while(|&&b| b == b'#').count();
            if s.get(i + 1 + hashes) == Some(&b'"') {
                let close: Vec<u8> = std::iter::once(b'"').chain(std::iter::repeat_n(b'#', hashes)).collect();
                let body = i + 2 + hashes;
                let end =
                    s[body..].windows(close.len()).position(|w| w == close).map_or(s.len(), |n| body + n + close.len());
                blank(&mut out, i, end);
                i = end;
            } else {
                i += 1;
            }
        } else if s[i] == b'"' {
            let mut j = i + 1;
            while j < s.len() && s[j] != b'"' {
                j += if s[j] == b'\\' { 2 } else { 1 };
            }
            blank(&mut out, i, j + 1);
            i = j + 1;
        } else if s[i] == b'\'' {
            // A character literal ('x', '\n', '\u{7f}', '{'), not a lifetime ('a).
            let rest = &text[i + 1..];
            let end = if rest.starts_with('\\') {
                rest.find('\'').map(|n| i + 1 + n + 1)
            } else {
                let c = rest.chars().next().map_or(0, char::len_utf8);
                rest[c..].starts_with('\'').then_some(i + 1 + c + 1)
            };
            match end {
                Some(end) => {
                    blank(&mut out, i, end);
                    i = end;
                }
                None => i += 1,
            }
        } else {
            i += 1;
        }
    }
    out
}

/// Each function with a body: (name, line of `fn`, lines from `fn` to its closing brace).
fn functions(text: &str) -> Vec<(String, usize, usize)> {
    let code = code_only(text);
    let line_of = |at: usize| code[..at].iter().filter(|&&b| b == b'\n').count() + 1;
    let mut found = Vec::new();
    let mut i = 0;
    while let Some(n) = code[i..].windows(3).position(|w| w[..2] == *b"fn" && w[2].is_ascii_whitespace()) {
        let at = i + n;
        i = at + 2;
        if at > 0 && is_ident(code[at - 1]) {
            continue;
        }
        let mut j = at + 2;
        while j < code.len() && code[j].is_ascii_whitespace() {
            j += 1;
        }
        let name_end = j + code[j..].iter().take_while(|&&b| is_ident(b)).count();
        if name_end == j {
            continue; // A function type, `fn(u32) -> u32`.
        }
        // The body starts at the first `{` outside the signature's parentheses
        // and brackets; a `;` there first means a declaration without a body.
        let mut depth = 0i32;
        let mut body = None;
        for (k, &b) in code.iter().enumerate().skip(name_end) {
            match b {
                b'(' | b'[' => depth += 1,
                b')' | b']' => depth -= 1,
                b'{' if depth == 0 => {
                    body = Some(k);
                    break;
                }
                b';' if depth == 0 => break,
                _ => {}
            }
        }
        let Some(open) = body else { continue };
        let mut braces = 0;
        let close = code[open..].iter().position(|&b| {
            match b {
                b'{' => braces += 1,
                b'}' => braces -= 1,
                _ => {}
            }
            braces == 0
        });
        let close = open + close.expect("a function's body has a closing brace");
        let name = String::from_utf8_lossy(&code[j..name_end]).into_owned();
        found.push((name, line_of(at), line_of(close) - line_of(at) + 1));
    }
    found
}

#[test]
fn no_function_of_engine_src_or_its_tests_is_over_100_lines() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    sources(&root.join("src"), &mut files);
    assert!(files.len() > 20, "engine/src not found");
    // The engine's tests too: "no function in engine/" (issue 27).
    let before = files.len();
    sources(&root.join("tests"), &mut files);
    assert!(files.len() >= before + 5, "engine/tests not found");
    let mut long = Vec::new();
    for (path, text) in &files {
        for (name, line, lines) in functions(text) {
            if lines > MAX_LINES {
                long.push(format!("{path}:{line}: fn {name} is {lines} lines"));
            }
        }
    }
    long.sort();
    assert!(long.is_empty(), "functions over {MAX_LINES} lines (split them into named steps):\n{}", long.join("\n"));
}

#[test]
fn no_file_of_engine_src_allows_too_many_arguments() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    assert!(files.len() > 20, "engine/src not found");
    for (path, text) in &files {
        for (n, line) in text.lines().enumerate() {
            assert!(
                !line.contains("too_many_arguments"),
                "{path}:{}: allows too_many_arguments: pass a struct of the shared context instead",
                n + 1
            );
        }
    }
}

/// The counter itself, on the cases a reviewer would count by eye.
#[test]
fn the_line_counter_counts_from_fn_to_its_closing_brace() {
    let text = r##"
fn one() {}
pub(crate) async fn three(a: [u8; 2]) -> Result<(), E>
where
    E: Fn() -> u8 { // a brace in a comment: {
    let s = "}}}"; let c = '}'; let r = r#"{"#;
    fn nested<'a>(x: &'a str) -> &'a str {
        x
    }
    let f = |x: u8| { x };
}
trait T { fn declared(&self); fn default(&self) { } }
type F = fn(u8) -> u8;
"##;
    let got: Vec<(String, usize)> = functions(text).into_iter().map(|(n, _, l)| (n, l)).collect();
    let want = [("one", 1), ("three", 9), ("nested", 3), ("default", 1)];
    let want: Vec<(String, usize)> = want.iter().map(|(n, l)| (n.to_string(), *l)).collect();
    assert_eq!(got, want);
}

//! `landform console`: evaluate expressions against the configuration and
//! the state, as `terraform console` does — one expression per line from a
//! terminal (an unfinished one continues on the next line), or every line of
//! a pipe for scripts. Resources have their values from the state; what the
//! state does not hold is `(known after apply)`. Sensitive values are never
//! shown.

use crate::run::{self, Config};
use crate::{inputs, ui, CommonArgs, VarArgs};
use landform_lang::diag::{render_all, Style};
use landform_lang::parse::parse_expr;
use landform_lang::value::{MapKind, SeqKind};
use landform_lang::{Evaluator, Scope, SourceMap, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Read};

/// The root module's scope: variables, locals, resources and data sources
/// from the state, `path`, `landform`/`terraform`.
pub fn scope(cfg: &Config, snap: &landform_state::Snapshot, host: &inputs::DiskHost) -> Scope<'static> {
    let mut base = Scope::new();
    base.set("var", cfg.variables.clone());
    base.set("path", landform_lang::eval::path_object(".", host));
    base.set("landform", landform_lang::eval::landform_object(host));
    base.set("terraform", landform_lang::eval::landform_object(host));
    // Every declared resource: unknown, unless the state has it.
    let mut managed: BTreeMap<String, BTreeMap<String, Value>> = BTreeMap::new();
    let mut data: BTreeMap<String, BTreeMap<String, Value>> = BTreeMap::new();
    for r in &cfg.tree.module.resources {
        let into = if r.mode == landform_lang::config::Mode::Data { &mut data } else { &mut managed };
        into.entry(r.type_name.clone()).or_default().insert(r.name.clone(), Value::Unknown);
    }
    let mut instances: BTreeMap<(bool, String, String), Vec<(serde_json::Value, Value)>> = BTreeMap::new();
    for rec in snap.resources.iter().filter(|r| r.module.is_empty()) {
        let hidden = rec.sensitive_attributes.iter().cloned().collect();
        let obj = landform_engine::sensitivity::instance_value(&rec.attributes, &Default::default(), &hidden);
        let key = (rec.mode == "data", rec.type_name.clone(), rec.name.clone());
        instances.entry(key).or_default().push((rec.index_key.clone(), obj));
    }
    for ((is_data, t, n), mut list) in instances {
        let value = match list.first().map(|(k, _)| k.clone()) {
            Some(serde_json::Value::Number(_)) => {
                list.sort_by_key(|(k, _)| k.as_u64().unwrap_or(0));
                Value::List(list.into_iter().map(|(_, v)| v).collect())
            }
            Some(serde_json::Value::String(_)) => {
                Value::Object(list.into_iter().map(|(k, v)| (k.as_str().unwrap_or_default().to_string(), v)).collect())
            }
            _ => list.pop().map(|(_, v)| v).unwrap_or(Value::Unknown),
        };
        let into = if is_data { &mut data } else { &mut managed };
        into.entry(t).or_default().insert(n, value);
    }
    for (t, names) in managed {
        base.set(t, Value::object(names));
    }
    base.set("data", Value::Object(data.into_iter().map(|(t, n)| (t, Value::object(n))).collect()));
    base.set("module", Value::Unknown);
    let mut diags = Vec::new();
    let locals = landform_lang::check::evaluate_locals(&cfg.tree.module, &base, host, &mut diags);
    base.set("local", locals);
    let outputs = snap
        .outputs
        .iter()
        .map(|(k, o)| {
            let v = Value::from_json(&o.value);
            (k.clone(), if o.sensitive { v.sensitive() } else { v })
        })
        .collect();
    base.set("output", Value::Object(outputs));
    base
}

/// A value as `terraform console` prints it.
pub fn shown(v: &Value, indent: usize) -> String {
    let pad = "  ".repeat(indent + 1);
    let end = "  ".repeat(indent);
    match v {
        Value::Sensitive(_) => "(sensitive value)".into(),
        Value::Unknown => "(known after apply)".into(),
        Value::Null => "null".into(),
        Value::String(s) => landform_lang::value::quote(s),
        // As Terraform's console: a list, set or map says so (`tolist([…])`).
        Value::List(items) => {
            let (open, close) = match items.kind {
                SeqKind::Tuple => ("[", "]"),
                SeqKind::List => ("tolist([", "])"),
                SeqKind::Set => ("toset([", "])"),
            };
            let inner: Vec<String> = items.iter().map(|i| format!("{pad}{},\n", shown(i, indent + 1))).collect();
            if inner.is_empty() {
                return format!("{open}{close}");
            }
            format!("{open}\n{}{end}{close}", inner.concat())
        }
        Value::Object(m) => {
            let (open, close) = if m.kind == MapKind::Map { ("tomap({", "})") } else { ("{", "}") };
            let width = m.keys().map(|k| k.len() + 2).max().unwrap_or(0);
            let inner: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{pad}{:<width$} = {}\n", landform_lang::value::quote(k), shown(v, indent + 1)))
                .collect();
            if inner.is_empty() {
                return format!("{open}{close}");
            }
            format!("{open}\n{}{end}{close}", inner.concat())
        }
        other => other.to_template_string().unwrap_or_else(|| other.to_string()),
    }
}

/// Is this text an expression left open (a bracket, brace, parenthesis or
/// quote not yet closed), to be continued on the next line?
fn unfinished(text: &str) -> bool {
    let mut depth = 0i64;
    let mut in_str = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if in_str => {
                chars.next();
            }
            '"' => in_str = !in_str,
            '(' | '[' | '{' if !in_str => depth += 1,
            ')' | ']' | '}' if !in_str => depth -= 1,
            _ => {}
        }
    }
    depth > 0 || in_str || text.trim_end().starts_with("<<") && !text.trim_end().contains('\n')
}

pub fn run(common: &CommonArgs, vars: &VarArgs, color: bool) -> u8 {
    let cfg = match run::load_config_or_none(vars, color) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let Ok(snap) = run::read_state(common, color) else { return 1 };
    let host = inputs::DiskHost::plan();
    let scope = scope(&cfg, &snap, &host);
    let stdin = std::io::stdin();
    if stdin.is_terminal() && std::io::stdout().is_terminal() {
        return interactive(&scope, &host, color);
    }
    // From a pipe or a file: every line, an open bracket continuing on the next.
    let mut pending = String::new();
    let mut failed = false;
    let mut input = stdin.lock();
    let mut bytes = Vec::new();
    for number in 1.. {
        bytes.clear();
        // A line is at most the largest value an expression may hold.
        let limit = landform_lang::value::MAX_VALUE_SIZE as u64;
        match (&mut input).take(limit + 1).read_until(b'\n', &mut bytes) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                let why = landform_state::files::io_words(&e);
                crate::errln!("{}", ui::error_line(&format!("cannot read line {number} of the input: {why}"), color));
                return 1;
            }
        }
        if bytes.len() as u64 > limit {
            crate::errln!(
                "{}",
                ui::error_line(&format!("line {number} of the input is longer than {} MiB", limit >> 20), color)
            );
            return 1;
        }
        // Input that is not text is an error, never the end of the input.
        let Ok(line) = std::str::from_utf8(&bytes) else {
            crate::errln!(
                "{}",
                ui::error_line(
                    &format!("line {number} of the input is not UTF-8 text; nothing after it was read"),
                    color
                )
            );
            return 1;
        };
        let line = line.strip_suffix('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).unwrap_or(line);
        match feed(&mut pending, line) {
            Fed::Exit => break,
            Fed::More => {}
            Fed::Expression(text) => failed |= !evaluate(&text, &scope, &host, color),
        }
    }
    if !pending.trim().is_empty() {
        failed |= !evaluate(&pending, &scope, &host, color);
    }
    u8::from(failed)
}

/// What a line of input makes.
enum Fed {
    /// `exit` or `quit`.
    Exit,
    /// Nothing yet: the line was blank, or an expression continues.
    More,
    /// A whole expression.
    Expression(String),
}

/// Add a line to what is pending: a whole expression, more to come, or the end.
fn feed(pending: &mut String, line: &str) -> Fed {
    if pending.is_empty() && matches!(line.trim(), "exit" | "quit") {
        return Fed::Exit;
    }
    if !pending.is_empty() {
        pending.push('\n');
    }
    pending.push_str(line);
    if unfinished(pending) {
        return Fed::More;
    }
    let text = std::mem::take(pending);
    if text.trim().is_empty() {
        Fed::More
    } else {
        Fed::Expression(text)
    }
}

/// On a terminal: line editing, and the session's expressions recalled with
/// the arrow keys; `exit`, Ctrl-D or Ctrl-C ends it.
fn interactive(scope: &Scope, host: &inputs::DiskHost, color: bool) -> u8 {
    let mut editor = match rustyline::DefaultEditor::new() {
        Ok(e) => e,
        Err(e) => {
            crate::errln!("{}", ui::error_line(&format!("cannot read the terminal: {e}"), color));
            return 1;
        }
    };
    let mut pending = String::new();
    loop {
        let prompt = if pending.is_empty() { "> " } else { ". " };
        match editor.readline(prompt) {
            Ok(line) => match feed(&mut pending, &line) {
                Fed::Exit => break,
                Fed::More => {}
                Fed::Expression(text) => {
                    let _ = editor.add_history_entry(text.as_str());
                    evaluate(&text, scope, host, color);
                }
            },
            Err(rustyline::error::ReadlineError::Interrupted) if !pending.is_empty() => pending.clear(),
            Err(_) => break,
        }
    }
    0
}

/// Evaluate one expression and print its value, or its error; true if it had a value.
fn evaluate(text: &str, scope: &Scope, host: &inputs::DiskHost, color: bool) -> bool {
    let mut sources = SourceMap::new();
    let id = sources.add("<console>".to_string(), text.to_string());
    let (expr, mut diags) = parse_expr(id, text);
    let value = expr.map(|e| {
        let mut ev = Evaluator::new(host);
        let v = ev.eval(&e, scope);
        diags.append(&mut ev.diags);
        v
    });
    if diags.iter().any(|d| d.is_error()) {
        let style = if color { Style::COLOR } else { Style::PLAIN };
        crate::errln!("{}", render_all(&diags, &sources, style));
        return false;
    }
    match value {
        Some(v) => {
            crate::outln!("{}", shown(&v, 0));
            true
        }
        None => {
            crate::errln!("{}", ui::error_line("no expression", color));
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_brackets_and_strings_continue_on_the_next_line() {
        assert!(unfinished("[1,") && unfinished("{ a = \"x") && unfinished("f(1,\n  2"));
        assert!(!unfinished("[1, 2]") && !unfinished("\"(\"") && !unfinished("var.x"));
    }

    #[test]
    fn values_print_as_terraform_console_prints_them() {
        let v = Value::Object([("a".to_string(), Value::tuple(vec![Value::from(1i64)]))].into());
        assert_eq!(shown(&v, 0), "{\n  \"a\" = [\n    1,\n  ]\n}");
        assert_eq!(shown(&Value::string("x").sensitive(), 0), "(sensitive value)");
        assert_eq!(shown(&Value::list(vec![Value::from(1i64)]), 0), "tolist([\n  1,\n])");
        assert_eq!(shown(&Value::set(vec![]), 0), "toset([])");
        let m = Value::map([("a".to_string(), Value::from(1i64))].into());
        assert_eq!(shown(&m, 0), "tomap({\n  \"a\" = 1\n})");
    }
}

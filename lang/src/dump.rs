//! A stable text form of the syntax tree, for golden tests and for checking that
//! the formatter changed layout only.

use crate::source::SourceMap;
use crate::syntax::*;
use crate::value::{format_duration, format_number, quote};
use std::fmt::Write;

/// One line per attribute or block, expressions as S-expressions. With
/// `sources`, each line ends in `@line:col`.
pub fn dump_body(body: &Body, sources: Option<&SourceMap>) -> String {
    let mut out = String::new();
    body_into(body, sources, 0, &mut out);
    out
}

fn at(span: crate::source::Span, sources: Option<&SourceMap>) -> String {
    match sources.and_then(|s| s.get(span.file)) {
        Some(f) => {
            let (l, c) = f.line_col(span.start);
            format!(" @{l}:{c}")
        }
        None => String::new(),
    }
}

fn body_into(body: &Body, sources: Option<&SourceMap>, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    for item in &body.items {
        match item {
            Item::Attribute(a) => {
                let _ = writeln!(out, "{pad}{} = {}{}", a.name.name, expr(&a.value), at(a.span, sources));
            }
            Item::Block(b) => {
                let labels: Vec<String> = b.labels.iter().map(|l| quote(&l.value)).collect();
                let _ = writeln!(
                    out,
                    "{pad}{} {}{{{}",
                    b.kind.name,
                    labels.iter().map(|l| format!("{l} ")).collect::<String>(),
                    at(b.span, sources)
                );
                body_into(&b.body, sources, depth + 1, out);
                let _ = writeln!(out, "{pad}}}");
            }
        }
    }
}

fn template(parts: &[TemplatePart]) -> String {
    let inner: Vec<String> = parts
        .iter()
        .map(|p| match p {
            TemplatePart::Literal(s) => quote(s),
            TemplatePart::Interpolation(e) => expr(e),
            TemplatePart::If { cond, then, otherwise } => {
                format!("(if {} ({}) ({}))", expr(cond), template(then), template(otherwise))
            }
            TemplatePart::For { key_var, value_var, collection, body } => format!(
                "(for {}{} {} ({}))",
                key_var.as_ref().map(|k| format!("{} ", k.name)).unwrap_or_default(),
                value_var.name,
                expr(collection),
                template(body)
            ),
        })
        .collect();
    inner.join(" ")
}

/// An expression as an S-expression.
pub fn expr(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Null => "null".into(),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Number(n) => n.text(),
        ExprKind::Duration(ms) => format!("(duration {})", format_duration(*ms)),
        ExprKind::Percent(p) => format!("(percent {})", format_number(*p)),
        ExprKind::Template(parts) => {
            if let [TemplatePart::Literal(s)] = parts.as_slice() {
                return quote(s);
            }
            if parts.is_empty() {
                return "\"\"".into();
            }
            format!("(template {})", template(parts))
        }
        ExprKind::List(items) => sexp("list", items.iter().map(expr)),
        ExprKind::Object(items) => sexp(
            "object",
            items.iter().map(|i| {
                let k = match &i.key {
                    ObjectKey::Name(id) => id.name.clone(),
                    ObjectKey::Expr(k) => expr(k),
                };
                format!("({k} {})", expr(&i.value))
            }),
        ),
        ExprKind::Variable(id) => id.name.clone(),
        ExprKind::GetAttr(b, n) => format!("{}.{}", expr(b), n.name),
        ExprKind::Index(b, k) => format!("{}[{}]", expr(b), expr(k)),
        ExprKind::Splat(src, steps) => {
            let s: String = steps
                .iter()
                .map(|s| match s {
                    Step::Attr(i) => format!(".{}", i.name),
                    Step::Index(k) => format!("[{}]", expr(k)),
                    Step::Splat => "[*]".to_string(),
                })
                .collect();
            format!("(splat {} {s})", expr(src))
        }
        ExprKind::Call(n, args, expand) => {
            sexp(&format!("call {}{}", n.name, if *expand { "..." } else { "" }), args.iter().map(expr))
        }
        ExprKind::Unary(op, e) => format!("({} {})", if *op == UnaryOp::Not { "!" } else { "neg" }, expr(e)),
        ExprKind::Binary(op, l, r) => format!("({} {} {})", op.symbol(), expr(l), expr(r)),
        ExprKind::Conditional(c, a, b) => format!("(if {} {} {})", expr(c), expr(a), expr(b)),
        ExprKind::For(f) => {
            let vars = match &f.key_var {
                Some(k) => format!("{} {}", k.name, f.value_var.name),
                None => f.value_var.name.clone(),
            };
            let mut s = format!("(for {vars} in {}", expr(&f.collection));
            if let Some(k) = &f.key {
                let _ = write!(s, " key {}", expr(k));
            }
            let _ = write!(s, " value {}", expr(&f.value));
            if let Some(c) = &f.condition {
                let _ = write!(s, " if {}", expr(c));
            }
            s.push(')');
            s
        }
        ExprKind::Paren(e) => format!("({})", expr(e)),
    }
}

fn sexp(head: &str, items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    if items.is_empty() {
        format!("({head})")
    } else {
        format!("({head} {})", items.join(" "))
    }
}

//! The reference visitor: which named things an expression refers to. The engine
//! builds its dependency edges from this, never from string matching.

use crate::source::Span;
use crate::syntax::*;

/// One reference: its root name and the static names after it (`aws_lb.web.arn`
/// → `aws_lb`, `[web, arn]`), with the span of the whole traversal.
#[derive(Clone, Debug, PartialEq)]
pub struct Reference {
    pub root: String,
    pub path: Vec<String>,
    pub span: Span,
}

impl Reference {
    /// The addressable thing referred to: `var.x`, `local.y`, `module.m`,
    /// `data.t.n`, or `t.n` for a resource.
    pub fn subject(&self) -> Option<String> {
        let take = match self.root.as_str() {
            "var" | "local" | "module" => 1,
            "data" => 2,
            "each" | "count" | "path" | "self" | "terraform" | "landform" => return None,
            _ => 1,
        };
        if self.path.len() < take {
            return None;
        }
        Some(
            std::iter::once(self.root.as_str())
                .chain(self.path[..take].iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join("."),
        )
    }
}

/// Every reference an expression makes, leaving out the names bound by its own
/// for expressions.
pub fn references(expr: &Expr) -> Vec<Reference> {
    let mut out = Vec::new();
    let mut bound = Vec::new();
    visit(expr, &mut bound, &mut out);
    out
}

fn visit_template(parts: &[TemplatePart], bound: &mut Vec<String>, out: &mut Vec<Reference>) {
    for p in parts {
        match p {
            TemplatePart::Literal(_) => {}
            TemplatePart::Interpolation(e) => visit(e, bound, out),
            TemplatePart::If { cond, then, otherwise } => {
                visit(cond, bound, out);
                visit_template(then, bound, out);
                visit_template(otherwise, bound, out);
            }
            TemplatePart::For { key_var, value_var, collection, body } => {
                visit(collection, bound, out);
                let n = bound.len();
                if let Some(k) = key_var {
                    bound.push(k.name.clone());
                }
                bound.push(value_var.name.clone());
                visit_template(body, bound, out);
                bound.truncate(n);
            }
        }
    }
}

fn visit(expr: &Expr, bound: &mut Vec<String>, out: &mut Vec<Reference>) {
    if let ExprKind::GetAttr(..) | ExprKind::Index(..) | ExprKind::Variable(_) = &expr.kind {
        if let Some(r) = traversal(expr) {
            if !bound.contains(&r.root) {
                out.push(r);
            }
            // Dynamic index keys still make references of their own.
            visit_index_keys(expr, bound, out);
            return;
        }
    }
    match &expr.kind {
        ExprKind::Null | ExprKind::Bool(_) | ExprKind::Number(_) | ExprKind::Duration(_) | ExprKind::Percent(_) => {}
        ExprKind::Variable(_) => {}
        ExprKind::Template(parts) => visit_template(parts, bound, out),
        ExprKind::List(items) => items.iter().for_each(|e| visit(e, bound, out)),
        ExprKind::Object(items) => {
            for i in items {
                if let ObjectKey::Expr(k) = &i.key {
                    visit(k, bound, out);
                }
                visit(&i.value, bound, out);
            }
        }
        ExprKind::GetAttr(b, _) => visit(b, bound, out),
        ExprKind::Index(b, k) => {
            visit(b, bound, out);
            visit(k, bound, out);
        }
        ExprKind::Splat(src, steps) => {
            visit(src, bound, out);
            for s in steps {
                if let Step::Index(k) = s {
                    visit(k, bound, out);
                }
            }
        }
        ExprKind::Call(name, args, _) => value_args(name, args).for_each(|e| visit(e, bound, out)),
        ExprKind::Unary(_, e) | ExprKind::Paren(e) => visit(e, bound, out),
        ExprKind::Binary(_, l, r) => {
            visit(l, bound, out);
            visit(r, bound, out);
        }
        ExprKind::Conditional(c, a, b) => {
            visit(c, bound, out);
            visit(a, bound, out);
            visit(b, bound, out);
        }
        ExprKind::For(f) => {
            visit(&f.collection, bound, out);
            let n = bound.len();
            if let Some(k) = &f.key_var {
                bound.push(k.name.clone());
            }
            bound.push(f.value_var.name.clone());
            if let Some(k) = &f.key {
                visit(k, bound, out);
            }
            visit(&f.value, bound, out);
            if let Some(c) = &f.condition {
                visit(c, bound, out);
            }
            bound.truncate(n);
        }
    }
}

fn visit_index_keys(expr: &Expr, bound: &mut Vec<String>, out: &mut Vec<Reference>) {
    match &expr.kind {
        ExprKind::GetAttr(b, _) => visit_index_keys(b, bound, out),
        ExprKind::Index(b, k) => {
            visit_index_keys(b, bound, out);
            if k.as_static_string().is_none() && !matches!(k.kind, ExprKind::Number(_)) {
                visit(k, bound, out);
            }
        }
        _ => {}
    }
}

/// The longest static traversal at the start of an expression.
fn traversal(expr: &Expr) -> Option<Reference> {
    traversal_open(expr).map(|(r, _)| r)
}

/// The traversal, and whether it may still grow (no dynamic index has ended it).
fn traversal_open(expr: &Expr) -> Option<(Reference, bool)> {
    match &expr.kind {
        ExprKind::Variable(id) => Some((Reference { root: id.name.clone(), path: Vec::new(), span: expr.span }, true)),
        ExprKind::GetAttr(b, name) => {
            let (mut r, open) = traversal_open(b)?;
            if open {
                r.path.push(name.name.clone());
                r.span = expr.span;
            }
            Some((r, open))
        }
        ExprKind::Index(b, k) => {
            let (mut r, open) = traversal_open(b)?;
            if !open {
                return Some((r, false));
            }
            match (&k.kind, k.as_static_string()) {
                (ExprKind::Number(n), _) => r.path.push(n.text()),
                (_, Some(s)) => r.path.push(s),
                // A dynamic key ends the static part.
                _ => return Some((r, false)),
            }
            r.span = expr.span;
            Some((r, true))
        }
        _ => None,
    }
}

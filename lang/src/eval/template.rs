//! Templates: strings and heredocs with interpolations and directives, and
//! `templatefile`, rendered into a string (or, for `"${x}"` alone, x itself).

use super::{mark, Evaluator, Scope};
use crate::source::Span;
use crate::syntax::*;
use crate::value::Value;

impl Evaluator<'_> {
    pub(super) fn template(&mut self, parts: &[TemplatePart], scope: &Scope) -> Value {
        if let [TemplatePart::Interpolation(e)] = parts {
            // `"${x}"` is x itself, of its own type, as in Terraform.
            return self.eval(e, scope);
        }
        let mut t = Rendered::default();
        self.render(parts, scope, &mut t);
        mark(if t.unknown { Value::Unknown } else { Value::String(t.out) }, t.sensitive)
    }

    /// `templatefile(path, vars)`: the file read through the host, parsed as
    /// a template, and rendered with `vars` as its only variables.
    pub(super) fn templatefile(&mut self, args: &[Expr], span: Span, scope: &Scope) -> Value {
        let path = self.eval(&args[0], scope);
        let vars = self.eval(&args[1], scope);
        let (path_plain, path_secret) = path.unmark();
        let (vars_plain, vars_secret) = vars.unmark();
        let (Value::String(path), Value::Object(vars)) = (path_plain, vars_plain) else {
            if path_plain.contains_unknown() || vars_plain.contains_unknown() {
                return Value::Unknown;
            }
            return self.error(
                "Invalid function argument",
                "templatefile takes a path (a string) and a map of the template's variables: templatefile(\"${path.module}/x.tftpl\", { name = var.name }).".into(),
                span,
            );
        };
        let text = match self.host.read_file(path) {
            Ok(t) => t,
            Err(e) => {
                return self.error(
                    "Invalid function argument",
                    format!("Invalid value for argument 1 of \"templatefile\": {e}."),
                    args[0].span,
                )
            }
        };
        let v = self.render_text(&text, vars, path, span, args[0].span);
        if path_secret || vars_secret {
            v.secret()
        } else {
            v
        }
    }

    /// `templatestring(ref, vars)`: a template held in a string from
    /// elsewhere (a data source, a variable), referred to directly, and
    /// rendered with `vars` as its only variables; a literal template is
    /// refused, as in Terraform (write the template expression instead).
    pub(super) fn templatestring(&mut self, args: &[Expr], span: Span, scope: &Scope) -> Value {
        let not_allowed = match &args[0].kind {
            ExprKind::Template(_) => Some("templatestring is only for rendering templates retrieved dynamically from elsewhere, so it does not take a literal template; write a template string expression instead"),
            _ if args[0].as_traversal().is_none() => Some("the template must be a direct reference to a single string from elsewhere (local.template, data.http.x.response_body), containing valid template syntax"),
            _ => None,
        };
        if let Some(why) = not_allowed {
            return self.error(
                "Invalid function argument",
                format!("Invalid value for argument 1 of \"templatestring\": {why}."),
                args[0].span,
            );
        }
        let text = self.eval(&args[0], scope);
        let vars = self.eval(&args[1], scope);
        let (text_plain, text_secret) = text.unmark();
        let (vars_plain, vars_secret) = vars.unmark();
        let (Value::String(text), Value::Object(vars)) = (text_plain, vars_plain) else {
            if text_plain.contains_unknown() || vars_plain.contains_unknown() {
                return Value::Unknown;
            }
            return self.error(
                "Invalid function argument",
                "templatestring takes a template (a string) and a map of its variables: templatestring(local.template, { name = var.name }).".into(),
                span,
            );
        };
        let v = self.render_text(text, vars, "the template", span, args[0].span);
        if text_secret || vars_secret {
            v.secret()
        } else {
            v
        }
    }

    /// A template's text parsed and rendered with `vars` as its only
    /// variables; `what` names it in errors.
    fn render_text(
        &mut self,
        text: &str,
        vars: &std::collections::BTreeMap<String, Value>,
        what: &str,
        span: Span,
        at: Span,
    ) -> Value {
        let path = what;
        let parts = match crate::parse::parse_template(span.file, text) {
            Ok(p) => p,
            Err((at_byte, why)) => {
                let line = text[..at_byte.min(text.len())].matches('\n').count() + 1;
                return self.error("Invalid template", format!("{path}, line {line}: {why}"), at);
            }
        };
        let mut local = Scope::new();
        for (k, v) in vars {
            local.set(k.clone(), v.clone());
        }
        let mut sub = self.sub();
        sub.in_template_function = true;
        let mut t = Rendered::default();
        sub.render(&parts, &local, &mut t);
        if let Some(d) = sub.diags.iter().find(|d| d.is_error()) {
            // Spans inside the template are not in the source map: say where in words.
            return self.error("Error in template", format!("{path}: {}: {}", d.summary, d.detail), span);
        }
        if t.out.len() > crate::value::MAX_VALUE_SIZE {
            return self
                .too_large(&format!("it would be larger than {} MiB", crate::value::MAX_VALUE_SIZE >> 20), span);
        }
        // As a Terraform function: a secret anywhere in the variables marks
        // the result, whether the template uses it or not.
        let vars_secret = vars.values().any(Value::contains_sensitive);
        mark(if t.unknown { Value::Unknown } else { Value::String(t.out) }, t.sensitive || vars_secret)
    }

    /// Render template parts into `t`: literals, interpolations, and the
    /// `%{ if }` and `%{ for }` directives around them.
    fn render(&mut self, parts: &[TemplatePart], scope: &Scope, t: &mut Rendered) {
        for part in parts {
            if t.out.len() > crate::value::MAX_VALUE_SIZE {
                return;
            }
            match part {
                TemplatePart::Literal(s) => t.out.push_str(s),
                TemplatePart::Interpolation(e) => {
                    let v = self.eval(e, scope);
                    let (inner, s) = v.unmark();
                    t.sensitive |= s;
                    match inner {
                        Value::Unknown => t.unknown = true,
                        Value::Null => {
                            self.error(
                                "Invalid template interpolation value",
                                "The expression result is null. Cannot include a null value in a string template."
                                    .into(),
                                e.span,
                            );
                            t.unknown = true;
                        }
                        other => match other.to_template_string() {
                            Some(s) => t.out.push_str(&s),
                            None => {
                                self.error(
                                    "Invalid template interpolation value",
                                    format!(
                                        "Cannot include a {} in a string template: a string is required. Use jsonencode() or join() to make one.",
                                        other.type_name()
                                    ),
                                    e.span,
                                );
                                t.unknown = true;
                            }
                        },
                    }
                }
                TemplatePart::If { cond, then, otherwise } => {
                    let v = self.eval(cond, scope);
                    let (inner, s) = v.unmark();
                    t.sensitive |= s;
                    match (inner.to_bool(), inner) {
                        (Some(b), _) => self.render(if b { then } else { otherwise }, scope, t),
                        (None, Value::Unknown) => t.unknown = true,
                        (None, other) => {
                            self.error(
                                "Invalid template if condition",
                                format!("The condition of %{{ if }} must be a bool, not a {}.", other.type_name()),
                                cond.span,
                            );
                            t.unknown = true;
                        }
                    }
                }
                TemplatePart::For { key_var, value_var, collection, body } => {
                    let v = self.eval(collection, scope);
                    let (inner, s) = v.unmark();
                    t.sensitive |= s;
                    let pairs: Vec<(Value, Value)> = match inner {
                        Value::List(_) | Value::Object(_) => inner.iter_pairs().unwrap_or_default(),
                        Value::Unknown => {
                            t.unknown = true;
                            continue;
                        }
                        other => {
                            self.error(
                                "Iteration over non-iterable value",
                                format!("%{{ for }} iterates over a list or a map, not a {}.", other.type_name()),
                                collection.span,
                            );
                            t.unknown = true;
                            continue;
                        }
                    };
                    for (k, v) in pairs {
                        let mut child = scope.child();
                        if let Some(kv) = key_var {
                            child.set(kv.name.clone(), k);
                        }
                        child.set(value_var.name.clone(), v);
                        self.render(body, &child, t);
                        if t.out.len() > crate::value::MAX_VALUE_SIZE {
                            break;
                        }
                    }
                }
            }
        }
    }
}

/// A template being rendered.
#[derive(Default)]
struct Rendered {
    out: String,
    unknown: bool,
    sensitive: bool,
}

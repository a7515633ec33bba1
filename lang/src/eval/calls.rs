//! Function calls: arity, `...` expansion, and the special forms (`try`,
//! `can`, `templatefile`, `templatestring`, `convert`) that evaluate their
//! arguments themselves.

use super::{Evaluator, Scope};
use crate::functions;
use crate::source::Span;
use crate::syntax::*;
use crate::value::Value;

impl Evaluator<'_> {
    pub(super) fn call(&mut self, name: &Ident, args: &[Expr], expand: bool, span: Span, scope: &Scope) -> Value {
        let Some((min, max)) = functions::arity(&name.name) else {
            self.diags.push(functions::unknown_function(name));
            return Value::Unknown;
        };
        if expand {
            return self.call_expanded(name, args, (min, max), span, scope);
        }
        if args.len() < min {
            return self.error(
                "Not enough function arguments",
                format!(
                    "Function \"{}\" expects {}{} argument(s), but {} were given.",
                    name.name,
                    if max == Some(min) { "" } else { "at least " },
                    min,
                    args.len()
                ),
                span,
            );
        }
        if let Some(max) = max {
            if args.len() > max {
                return self.error(
                    "Too many function arguments",
                    format!(
                        "Function \"{}\" expects at most {max} argument(s), but {} were given.",
                        name.name,
                        args.len()
                    ),
                    args[max].span.to(args[args.len() - 1].span),
                );
            }
        }
        match name.name.strip_prefix("core::").unwrap_or(&name.name) {
            "try" => {
                // The first argument that evaluates without error wins.
                for a in args {
                    let mut sub = self.sub();
                    let v = sub.eval(a, scope);
                    if sub.diags.is_empty() {
                        return v;
                    }
                }
                return self.error(
                    "Error in function call",
                    "Call to function \"try\" failed: no expression succeeded.".into(),
                    span,
                );
            }
            f @ ("templatefile" | "templatestring") if self.in_template_function => {
                return self.error(
                    "Error in function call",
                    format!("Call to function \"{f}\" failed: cannot recursively call {f} from inside another template function."),
                    span,
                );
            }
            "templatefile" => return self.templatefile(args, span, scope),
            "templatestring" => return self.templatestring(args, span, scope),
            "convert" => return self.convert(args, scope),
            "can" => {
                let mut sub = self.sub();
                let v = sub.eval(&args[0], scope);
                if sub.diags.is_empty() && v.contains_unknown() {
                    return Value::Unknown;
                }
                return Value::Bool(sub.diags.is_empty());
            }
            _ => {}
        }
        let values = match self.eval_all(args, scope) {
            Ok(v) => v,
            Err(e) => return e,
        };
        self.call_values(name, args, &values, span)
    }

    /// `f(a, list...)`: the last argument's elements become arguments.
    fn call_expanded(
        &mut self,
        name: &Ident,
        args: &[Expr],
        (min, max): (usize, Option<usize>),
        span: Span,
        scope: &Scope,
    ) -> Value {
        if functions::SPECIAL_FORMS.contains(&name.name.strip_prefix("core::").unwrap_or(&name.name)) {
            return self.error(
                "Invalid expanding argument",
                format!("The arguments of {} are expressions, so a list cannot be expanded into them.", name.name),
                span,
            );
        }
        let mut values = match self.eval_all(args, scope) {
            Ok(v) => v,
            Err(e) => return e,
        };
        let Some(last) = values.pop() else { return Value::Unknown };
        let (inner, sensitive) = last.unmark();
        match inner {
            Value::List(items) => {
                values.extend(items.iter().map(|v| if sensitive { v.clone().sensitive() } else { v.clone() }))
            }
            Value::Unknown => return Value::Unknown,
            other => {
                let at = args.last().map_or(span, |a| a.span);
                return self.error(
                    "Invalid expanding argument",
                    format!("The argument before ... must be a list, set or tuple, not a {}.", other.type_name()),
                    at,
                );
            }
        }
        if values.len() < min || max.is_some_and(|m| values.len() > m) {
            let want = match max {
                Some(m) if m == min => format!("{min}"),
                Some(m) => format!("{min} to {m}"),
                None => format!("at least {min}"),
            };
            return self.error(
                "Invalid function arguments",
                format!(
                    "Function \"{}\" expects {want} argument(s), but the expanded list makes {}.",
                    name.name,
                    values.len()
                ),
                span,
            );
        }
        // Errors point at the call: an element has no span of its own.
        let spans: Vec<Expr> = Vec::new();
        self.call_values(name, &spans, &values, span)
    }

    /// `convert(value, type)`: the value converted to a type written as in a
    /// variable's `type`, as Terraform converts it.
    fn convert(&mut self, args: &[Expr], scope: &Scope) -> Value {
        let ty = match crate::types::type_from_expr(&args[1]) {
            Ok(t) => t,
            Err(d) => {
                self.diags.push(d);
                return Value::Unknown;
            }
        };
        let v = self.eval(&args[0], scope);
        match crate::types::convert(&v, &ty) {
            Ok(v) => v,
            Err(e) => {
                let e = if v.contains_sensitive() { "the sensitive value does not convert".to_string() } else { e };
                self.error(
                    "Invalid function argument",
                    format!("Invalid value for argument 1 of \"convert\": {e}."),
                    args[0].span,
                )
            }
        }
    }

    /// Call a function on evaluated arguments; `args` give errors their spans.
    fn call_values(&mut self, name: &Ident, args: &[Expr], values: &[Value], span: Span) -> Value {
        match functions::call(&name.name, values, self.host) {
            Ok(v) => v,
            Err(e) => {
                let at = e.arg.and_then(|i| args.get(i)).map_or(span, |a| a.span);
                // The message may quote the arguments: never when one is secret.
                // It names the sensitive ones, which need not be the one at fault.
                let secret: Vec<usize> = (0..values.len()).filter(|&i| values[i].contains_sensitive()).collect();
                let message = if secret.is_empty() {
                    e.message
                } else if secret.contains(&e.arg.unwrap_or(0)) {
                    "the value is not valid here (it is sensitive, so it is not shown)".to_string()
                } else {
                    let names: Vec<String> = secret.iter().map(|i| (i + 1).to_string()).collect();
                    format!(
                        "the call fails with it; why is not shown, because argument{} {} {} sensitive",
                        if names.len() > 1 { "s" } else { "" },
                        names.join(" and "),
                        if names.len() > 1 { "are" } else { "is" }
                    )
                };
                self.error(
                    "Invalid function argument",
                    format!(
                        "Invalid value for argument {} of \"{}\": {}.",
                        e.arg.map_or(1, |i| i + 1),
                        name.name,
                        message
                    ),
                    at,
                )
            }
        }
    }
}

//! Custom conditions: a resource's or data source's `precondition` and
//! `postcondition` blocks, an output's `precondition`, and top-level `check`
//! blocks' `assert`s, as Terraform evaluates them. A condition that is not
//! known yet (it reads values only apply will know) is left for apply; one
//! that is false is an error with its `error_message` at the condition —
//! except a `check`'s, which is a warning.

use landform_lang::config::Condition;
use landform_lang::diag::Diagnostic;
use landform_lang::{Evaluator, Host, Scope, Value};

/// What a condition came to.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    Pass,
    /// False, with its error message.
    Fail(String),
    /// Not known until apply.
    Unknown,
}

/// Evaluate one condition in `scope`. Errors in the expressions themselves
/// (an unknown name, a non-bool) go to `diags`.
pub fn evaluate(c: &Condition, scope: &Scope, host: &dyn Host, diags: &mut Vec<Diagnostic>) -> Outcome {
    let mut ev = Evaluator::new(host);
    let v = ev.eval(&c.condition, scope);
    diags.append(&mut ev.diags);
    match v.unmark().0 {
        Value::Bool(true) => Outcome::Pass,
        Value::Unknown => Outcome::Unknown,
        Value::Bool(false) => {
            let mut ev = Evaluator::new(host);
            let m = ev.eval(&c.error_message, scope);
            diags.append(&mut ev.diags);
            Outcome::Fail(match m.unmark() {
                (_, true) => "(the error message is sensitive, so it is not shown)".to_string(),
                (Value::String(s), _) => s.clone(),
                (other, _) => other.to_template_string().unwrap_or_else(|| "(no error message)".to_string()),
            })
        }
        other => {
            diags.push(Diagnostic::error(
                "Invalid condition result",
                format!("A condition must be true or false, not a {}.", other.type_name()),
                c.condition.span,
            ));
            Outcome::Pass
        }
    }
}

/// The diagnostic for a failed condition of `what` (`Resource precondition`,
/// `Output precondition`, `Check block assertion`…) of `addr`.
pub fn failed(what: &str, addr: &str, c: &Condition, message: &str, warning: bool) -> Diagnostic {
    let detail = format!("{message}\n\nThis was checked by the condition of {addr} here.");
    if warning {
        Diagnostic::warning(format!("{what} failed"), detail, c.condition.span)
    } else {
        Diagnostic::error(format!("{what} failed"), detail, c.condition.span)
    }
}

/// Check every condition; failures become diagnostics. Returns whether all
/// that are known passed.
pub fn check_all(
    conds: &[Condition],
    what: &str,
    addr: &str,
    scope: &Scope,
    host: &dyn Host,
    warning: bool,
    diags: &mut Vec<Diagnostic>,
) -> bool {
    let mut ok = true;
    for c in conds {
        if let Outcome::Fail(m) = evaluate(c, scope, host, diags) {
            diags.push(failed(what, addr, c, &m, warning));
            ok = false;
        }
    }
    ok
}

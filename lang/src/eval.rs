//! Expression evaluation through a [`Scope`] with parent scopes. Errors become
//! diagnostics and the failed expression evaluates to unknown, so one mistake
//! does not cascade into many.

use crate::diag::{suggestion, Diagnostic};
use crate::functions;
use crate::source::Span;
use crate::syntax::*;
use crate::value::Value;
use std::collections::{BTreeMap, HashMap};

pub use crate::host::{Host, NoHost};

mod calls;
mod template;

/// The `path` object of a module's scope: `module` (its directory), `root`
/// (the root module's) and `cwd` (where Landform runs, absolute).
pub fn path_object(module_dir: &str, host: &dyn Host) -> Value {
    let cwd = host.abs_path(".").map(Value::String).unwrap_or(Value::Unknown);
    Value::Object(
        [
            ("module".to_string(), Value::String(module_dir.to_string())),
            ("root".to_string(), Value::String(".".to_string())),
            ("cwd".to_string(), cwd),
        ]
        .into_iter()
        .collect(),
    )
}

/// The `landform` object of every module's scope: `{ workspace = … }`.
pub fn landform_object(host: &dyn Host) -> Value {
    let ws = host.workspace().map(Value::String).unwrap_or(Value::Unknown);
    Value::Object([("workspace".to_string(), ws)].into_iter().collect())
}

/// Names that are not resource types.
pub const RESERVED_ROOTS: &[&str] = &["var", "local", "module", "data", "each", "count", "path", "self", "terraform"];

/// Root names visible to an expression, with a parent for nesting.
#[derive(Default)]
pub struct Scope<'p> {
    parent: Option<&'p Scope<'p>>,
    names: HashMap<String, Value>,
}

impl<'p> Scope<'p> {
    pub fn new() -> Scope<'static> {
        Scope { parent: None, names: HashMap::new() }
    }

    pub fn child(&'p self) -> Scope<'p> {
        Scope { parent: Some(self), names: HashMap::new() }
    }

    pub fn set(&mut self, name: impl Into<String>, value: Value) {
        self.names.insert(name.into(), value);
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.names.get(name).or_else(|| self.parent.and_then(|p| p.get(name)))
    }

    /// A name of this scope itself (not of its parents), to update in place.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Value> {
        self.names.get_mut(name)
    }

    fn all_names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.names.keys().map(String::as_str).collect();
        if let Some(p) = self.parent {
            v.extend(p.all_names());
        }
        v
    }

    /// Every `TYPE.NAME` of a resource in scope, for suggestions.
    fn resource_addresses(&self) -> Vec<String> {
        let mut out = Vec::new();
        for root in self.all_names() {
            if RESERVED_ROOTS.contains(&root) {
                continue;
            }
            if let Some(Value::Object(m)) = self.get(root) {
                out.extend(m.keys().map(|k| format!("{root}.{k}")));
            }
        }
        out
    }
}

/// Evaluates expressions, collecting diagnostics.
pub struct Evaluator<'h> {
    pub host: &'h dyn Host,
    pub diags: Vec<Diagnostic>,
    /// Evaluating an untaken `?:` branch for its type: nested conditionals
    /// there do not look at their own untaken branches (no 2^depth work).
    typing_only: bool,
    /// Names the enclosing `for` expressions bind: `s.b` on one of them is a
    /// missing attribute, not a resource.
    bound: Vec<String>,
    /// Rendering the template of a `templatefile` or `templatestring` call:
    /// a template may not call them again (as in Terraform), so that no
    /// template can recurse without end.
    in_template_function: bool,
}

impl<'h> Evaluator<'h> {
    pub fn new(host: &'h dyn Host) -> Evaluator<'h> {
        Evaluator { host, diags: Vec::new(), typing_only: false, bound: Vec::new(), in_template_function: false }
    }

    /// An evaluator of its own (for `try`, `can`, a template's body) that
    /// keeps what this one may not do.
    fn sub(&self) -> Evaluator<'h> {
        Evaluator { in_template_function: self.in_template_function, ..Evaluator::new(self.host) }
    }

    fn error(&mut self, summary: &str, detail: String, span: Span) -> Value {
        self.diags.push(Diagnostic::error(summary, detail, span));
        Value::Unknown
    }

    pub fn eval(&mut self, expr: &Expr, scope: &Scope) -> Value {
        let v = self.eval_kind(expr, scope);
        // Check what builds new values; references and operators only pass
        // on values already checked.
        if matches!(expr.kind, ExprKind::Template(_) | ExprKind::Call(..) | ExprKind::For(_)) {
            if let Some(why) = v.over_limits() {
                return self.too_large(&why, expr.span);
            }
        }
        v
    }

    fn too_large(&mut self, why: &str, span: Span) -> Value {
        self.error(
            "Value too large",
            format!("This expression's value cannot be used: {why}. Landform refuses values this large rather than run out of memory."),
            span,
        )
    }

    /// Evaluate several expressions whose values are kept together (list
    /// items, function arguments), failing as soon as they grow too large.
    fn eval_all(&mut self, exprs: &[Expr], scope: &Scope) -> Result<Vec<Value>, Value> {
        let mut out = Vec::with_capacity(exprs.len());
        let mut size = 0usize;
        for e in exprs {
            let v = self.eval(e, scope);
            size = size.saturating_add(v.size_up_to(crate::value::MAX_VALUE_SIZE));
            if size > crate::value::MAX_VALUE_SIZE || v.over_limits().is_some() {
                let why = v.over_limits().unwrap_or_else(|| {
                    format!("together they would be larger than {} MiB", crate::value::MAX_VALUE_SIZE >> 20)
                });
                return Err(self.too_large(&why, e.span));
            }
            out.push(v);
        }
        Ok(out)
    }

    fn eval_kind(&mut self, expr: &Expr, scope: &Scope) -> Value {
        match &expr.kind {
            ExprKind::Null => Value::Null,
            ExprKind::Bool(b) => Value::Bool(*b),
            ExprKind::Number(n) => Value::Number(n.clone()),
            ExprKind::Duration(ms) => Value::Duration(*ms),
            ExprKind::Percent(p) => Value::Percent(*p),
            ExprKind::Template(parts) => self.template(parts, scope),
            ExprKind::List(items) => match self.eval_all(items, scope) {
                Ok(values) => Value::tuple(values),
                Err(e) => e,
            },
            ExprKind::Object(items) => {
                let mut out = BTreeMap::new();
                let mut size = 0usize;
                let mut key_sensitive = false;
                for item in items {
                    let key = match &item.key {
                        ObjectKey::Name(id) => id.name.clone(),
                        ObjectKey::Expr(e) => {
                            let k = self.eval(e, scope);
                            if k.is_unknown() {
                                return Value::Unknown;
                            }
                            // A secret used as a key makes the whole object secret.
                            key_sensitive |= k.contains_sensitive();
                            match k.unmark().0.to_template_string() {
                                Some(s) => s,
                                None => {
                                    return self.error(
                                        "Invalid object key",
                                        format!("An object key must be a string, not a {}.", k.type_name()),
                                        e.span,
                                    )
                                }
                            }
                        }
                    };
                    let v = self.eval(&item.value, scope);
                    size = size.saturating_add(key.len()).saturating_add(v.size_up_to(crate::value::MAX_VALUE_SIZE));
                    if size > crate::value::MAX_VALUE_SIZE || v.over_limits().is_some() {
                        let why = v.over_limits().unwrap_or_else(|| {
                            format!("it would be larger than {} MiB", crate::value::MAX_VALUE_SIZE >> 20)
                        });
                        return self.too_large(&why, item.value.span);
                    }
                    out.insert(key, v);
                }
                mark(Value::object(out), key_sensitive)
            }
            ExprKind::Variable(_) | ExprKind::GetAttr(..) | ExprKind::Index(..) if lookup(expr, scope).is_some() => {
                // A plain reference: borrow down to the value and clone only that.
                lookup(expr, scope).cloned().unwrap_or(Value::Unknown)
            }
            ExprKind::Variable(id) => match scope.get(&id.name) {
                Some(v) => v.clone(),
                None => self.undeclared_root(id, None, scope),
            },
            ExprKind::GetAttr(base, name) => {
                if let ExprKind::Variable(root) = &base.kind {
                    if scope.get(&root.name).is_none() {
                        return self.undeclared_root(root, Some(name), scope);
                    }
                }
                let b = self.eval_base(base, scope);
                self.get_attr(&b, name, base, expr.span)
            }
            ExprKind::Index(base, key) => {
                let b = self.eval_base(base, scope);
                let k = self.eval(key, scope);
                self.index(&b, &k, key.span)
            }
            ExprKind::Splat(source, steps) => {
                let src = self.eval_base(source, scope);
                self.splat(src.into_owned(), source, steps, scope)
            }
            ExprKind::Call(name, args, expand) => self.call(name, args, *expand, expr.span, scope),
            ExprKind::Unary(op, e) => {
                let v = self.eval(e, scope);
                let (inner, s) = v.unmark();
                let out = match (op, inner) {
                    (_, Value::Unknown) => Value::Unknown,
                    (UnaryOp::Neg, Value::Number(n)) => Value::Number(n.neg()),
                    // A string of a number converts, as for the other arithmetic.
                    (UnaryOp::Neg, Value::String(t)) if crate::number::Number::parse(t).is_some() => {
                        crate::number::Number::parse(t).map_or(Value::Unknown, |n| Value::Number(n.neg()))
                    }
                    (UnaryOp::Not, other) => match other.to_bool() {
                        Some(b) => Value::Bool(!b),
                        None => {
                            return self.error(
                                "Invalid operand",
                                format!("The ! operator needs a bool, not a {}.", other.type_name()),
                                e.span,
                            )
                        }
                    },
                    (UnaryOp::Neg, other) => {
                        return self.error(
                            "Invalid operand",
                            format!("The - operator needs a number, not a {}.", other.type_name()),
                            e.span,
                        )
                    }
                };
                mark(out, s)
            }
            ExprKind::Binary(op, l, r) => self.binary(*op, l, r, scope),
            ExprKind::Conditional(c, a, b) => {
                let cv = self.eval(c, scope);
                let (inner, s) = cv.unmark();
                match (inner.to_bool(), inner) {
                    (Some(pick), _) => {
                        let (taken, other) = if pick { (a, b) } else { (b, a) };
                        let v = self.eval(taken, scope);
                        // As HCL: the result has the marks of the condition and
                        // of both results (their own, not their elements').
                        let (v, other_marked) = self.unify_with_branch(v, other, scope, expr.span);
                        mark(v, s || other_marked)
                    }
                    (None, Value::Unknown) => {
                        // Both sides are checked even when the result is unknown.
                        self.eval(a, scope);
                        self.eval(b, scope);
                        Value::Unknown
                    }
                    (None, other) => self.error(
                        "Incorrect condition type",
                        format!(
                            "The condition of a conditional expression must be a bool, not a {}.",
                            other.type_name()
                        ),
                        c.span,
                    ),
                }
            }
            ExprKind::For(f) => self.for_expr(f, scope),
            ExprKind::Paren(e) => self.eval(e, scope),
        }
    }

    /// The taken branch of `?:` converted to the type both branches unify to,
    /// as Terraform gives it (`true ? 1 : "x"` is "1"). The other branch is
    /// evaluated for its type and its own mark only: its errors are not this
    /// expression's. Returns the value and whether the other branch is marked.
    fn unify_with_branch(&mut self, v: Value, other: &Expr, scope: &Scope, span: Span) -> (Value, bool) {
        if self.typing_only || matches!(other.kind, ExprKind::Null) {
            return (v, false);
        }
        let before = self.diags.len();
        self.typing_only = true;
        let o = self.eval(other, scope);
        self.typing_only = false;
        self.diags.truncate(before);
        let other_marked = o.is_sensitive();
        if v.is_null() || v.contains_unknown() {
            return (v, other_marked);
        }
        let v = match crate::unify::unify(&crate::unify::shape(&v), &crate::unify::shape(&o)) {
            Some(target) => crate::unify::conform(v, &target),
            None => self.error(
                "Inconsistent conditional result types",
                format!(
                    "The true and false results of a conditional must have one type they both convert to; here one is a {} and the other a {}. Convert one of them (tostring, tolist, …) so that both agree.",
                    v.type_name(),
                    o.type_name()
                ),
                span,
            ),
        };
        (v, other_marked)
    }

    /// The value of an expression that is about to be taken apart: borrowed
    /// when it is a plain reference, so that `aws_lb.web.arn` never copies
    /// every `aws_lb` in the module.
    fn eval_base<'s>(&mut self, expr: &Expr, scope: &'s Scope) -> std::borrow::Cow<'s, Value> {
        match lookup(expr, scope) {
            Some(v) => std::borrow::Cow::Borrowed(v),
            None => std::borrow::Cow::Owned(self.eval(expr, scope)),
        }
    }

    fn undeclared_root(&mut self, root: &Ident, attr: Option<&Ident>, scope: &Scope) -> Value {
        let span = attr.map_or(root.span, |a| root.span.to(a.span));
        match (root.name.as_str(), attr) {
            ("each", _) => self.error(
                "Reference to \"each\" in context without for_each",
                "The \"each\" object can be used only in \"resource\" and \"module\" blocks that set for_each.".into(),
                span,
            ),
            ("count", _) => self.error(
                "Reference to \"count\" in non-counted context",
                "The \"count\" object can be used only in \"resource\" and \"module\" blocks that set count.".into(),
                span,
            ),
            ("var" | "local" | "module" | "data", None) => self.error(
                "Invalid reference",
                format!("\"{}\" must be followed by a name, as in {}.NAME.", root.name, root.name),
                span,
            ),
            (r, Some(a)) if !RESERVED_ROOTS.contains(&r) => {
                let addrs = scope.resource_addresses();
                let addr = format!("{r}.{}", a.name);
                self.error(
                    "Reference to undeclared resource",
                    format!(
                        "A managed resource \"{r}\" \"{}\" has not been declared in this module.{}",
                        a.name,
                        suggestion(&addr, addrs.iter().map(String::as_str))
                    ),
                    span,
                )
            }
            (r, _) => {
                let names = scope.all_names();
                self.error(
                    "Unknown variable",
                    format!("There is no variable named \"{r}\".{}", suggestion(r, names)),
                    span,
                )
            }
        }
    }

    fn get_attr(&mut self, base: &Value, name: &Ident, base_expr: &Expr, span: Span) -> Value {
        let (inner, s) = base.unmark();
        let out = match inner {
            Value::Unknown => Value::Unknown,
            Value::Object(m) => match m.get(&name.name) {
                Some(v) => v.clone(),
                None => return self.missing_attr(m, name, base_expr, span),
            },
            Value::List(_) => {
                return self.error(
                    "Unsupported attribute",
                    format!(
                        "This value is a list, which has no attributes. To take \"{0}\" from every element, write [*].{0} or a for expression.",
                        name.name
                    ),
                    name.span,
                )
            }
            Value::Null => {
                return self.error(
                    "Attempt to get attribute from null value",
                    format!("This value is null, so it has no attribute \"{}\".", name.name),
                    name.span,
                )
            }
            other => {
                return self.error(
                    "Unsupported attribute",
                    format!("A {} has no attributes, so it has no \"{}\".", other.type_name(), name.name),
                    name.span,
                )
            }
        };
        mark(out, s)
    }

    fn missing_attr(&mut self, m: &BTreeMap<String, Value>, name: &Ident, base_expr: &Expr, span: Span) -> Value {
        let keys = m.keys().map(String::as_str);
        let hint = suggestion(&name.name, keys);
        let n = &name.name;
        let (summary, detail) = match &base_expr.kind {
            ExprKind::Variable(root) => match root.name.as_str() {
                "var" => (
                    "Reference to undeclared input variable",
                    format!("An input variable named \"{n}\" has not been declared.{hint} Declare it with a variable \"{n}\" block."),
                ),
                "local" => (
                    "Reference to undeclared local value",
                    format!("A local value named \"{n}\" has not been declared.{hint} Declare it in a locals block."),
                ),
                "module" => ("Reference to undeclared module", format!("No module call named \"{n}\" is declared in this module.{hint}")),
                "data" => ("Reference to undeclared data source", format!("No data source of type \"{n}\" is declared in this module.{hint}")),
                "each" | "count" | "path" => ("Unsupported attribute", format!("\"{}\" has no attribute \"{n}\".{hint}", root.name)),
                r if self.bound.iter().any(|b| b == r) => (
                    "Unsupported attribute",
                    format!("This object does not have an attribute named \"{n}\".{hint} (\"{r}\" is the for expression's variable.)"),
                ),
                r => (
                    "Reference to undeclared resource",
                    format!("A managed resource \"{r}\" \"{n}\" has not been declared in this module.{hint}"),
                ),
            },
            ExprKind::GetAttr(inner, t) if matches!(&inner.kind, ExprKind::Variable(r) if r.name == "data") => (
                "Reference to undeclared data source",
                format!("A data source \"{}\" \"{n}\" has not been declared in this module.{hint}", t.name),
            ),
            ExprKind::GetAttr(inner, m) if matches!(&inner.kind, ExprKind::Variable(r) if r.name == "module") => (
                "Unsupported attribute",
                format!("The module \"{}\" has no output named \"{n}\".{hint}", m.name),
            ),
            _ => ("Unsupported attribute", format!("This object has no attribute named \"{n}\".{hint}")),
        };
        self.error(summary, detail, span)
    }

    fn index(&mut self, base: &Value, key: &Value, span: Span) -> Value {
        let (inner, s1) = base.unmark();
        let (k, s2) = key.unmark();
        let s = s1 || s2;
        let out = match (inner, k) {
            (Value::Unknown, _) | (_, Value::Unknown) => Value::Unknown,
            (Value::List(l), _) if l.kind == crate::value::SeqKind::Set => {
                return self.error(
                    "Invalid index",
                    "Elements of a set are identified only by their value and don't have any separate index or key to select with, so it's only possible to perform operations across all elements of the set.".into(),
                    span,
                )
            }
            (Value::List(l), k) => {
                let n = match k {
                    Value::Number(n) => Some(n.clone()),
                    Value::String(s) => crate::number::Number::parse(s),
                    _ => None,
                };
                match n {
                    Some(n) if n.to_i64().is_some_and(|i| i >= 0 && (i as usize) < l.len()) => {
                        l[n.to_i64().unwrap_or(0) as usize].clone()
                    }
                    Some(n) => {
                        let n = if s2 { crate::secrets::HIDDEN.to_string() } else { n.to_string() };
                        return self.error(
                            "Invalid index",
                            format!("The index {n} is out of range: the list has {} element(s).", l.len()),
                            span,
                        );
                    }
                    None => {
                        return self.error(
                            "Invalid index",
                            format!("A list index must be a number, not a {}.", k.type_name()),
                            span,
                        )
                    }
                }
            }
            (Value::Object(m), k) => match k.to_template_string() {
                Some(key) => match m.get(&key) {
                    Some(v) => v.clone(),
                    None if s2 => {
                        return self.error(
                            "Invalid index",
                            "The given key (a sensitive value) does not identify an element in this collection.".into(),
                            span,
                        )
                    }
                    None => {
                        return self.error(
                            "Invalid index",
                            format!(
                                "The given key \"{key}\" does not identify an element in this collection.{}",
                                suggestion(&key, m.keys().map(String::as_str))
                            ),
                            span,
                        )
                    }
                },
                None => {
                    return self.error(
                        "Invalid index",
                        format!("A map key must be a string, not a {}.", k.type_name()),
                        span,
                    )
                }
            },
            (Value::Null, _) => {
                return self.error(
                    "Attempt to index null value",
                    "This value is null, so it cannot be indexed.".into(),
                    span,
                )
            }
            (other, _) => {
                return self.error(
                    "Invalid index",
                    format!("A {} cannot be indexed; only lists and maps can.", other.type_name()),
                    span,
                )
            }
        };
        mark(out, s)
    }

    /// `src[*]` then `steps` on each element; a `[*]` among the steps nests.
    fn splat(&mut self, src: Value, source: &Expr, steps: &[Step], scope: &Scope) -> Value {
        let (inner, sensitive) = src.unmark();
        // As HCL: a list's or a set's splat is a list; anything else's a tuple.
        let kind = match inner.seq_kind() {
            Some(crate::value::SeqKind::List | crate::value::SeqKind::Set) => crate::value::SeqKind::List,
            _ => crate::value::SeqKind::Tuple,
        };
        let items: Vec<Value> = match inner {
            Value::Unknown => return Value::Unknown,
            Value::Null => Vec::new(),
            Value::List(l) => l.to_vec(),
            other => vec![other.clone()],
        };
        let mut out = Vec::with_capacity(items.len());
        'items: for item in items {
            let mut v = item;
            for (i, step) in steps.iter().enumerate() {
                v = match step {
                    Step::Attr(name) => self.get_attr(&v, name, source, name.span),
                    Step::Index(k) => {
                        let kv = self.eval(k, scope);
                        self.index(&v, &kv, k.span)
                    }
                    Step::Splat => {
                        let nested = self.splat(v, source, &steps[i + 1..], scope);
                        out.push(nested);
                        continue 'items;
                    }
                };
            }
            out.push(v);
        }
        mark(Value::seq(kind, out), sensitive)
    }

    fn binary(&mut self, op: BinaryOp, l: &Expr, r: &Expr, scope: &Scope) -> Value {
        let lv = self.eval(l, scope);
        // `false && …` and `true || …` do not evaluate the right side (Terraform 1.12's rule).
        if matches!(op, BinaryOp::And | BinaryOp::Or) && lv.to_bool() == Some(op == BinaryOp::Or) {
            return mark(Value::Bool(op == BinaryOp::Or), lv.unmark().1);
        }
        let rv = self.eval(r, scope);
        let (a, s1) = lv.unmark_deep();
        let (b, s2) = rv.unmark_deep();
        let s = s1 || s2;
        use BinaryOp::*;
        if matches!(op, Eq | NotEq) {
            // As cty compares: types first (a tuple is not a list), then values.
            return match crate::unify::equals(&a, &b) {
                Some(eq) => mark(Value::Bool(eq == (op == Eq)), s),
                None => Value::Unknown,
            };
        }
        if matches!(op, And | Or) && (a.is_null() || b.is_null()) {
            // As Terraform has it: null counts as false for &&, while || is
            // true only with a true beside the null.
            let other = if a.is_null() { &b } else { &a };
            return match op {
                And => mark(Value::Bool(false), s),
                _ if other.to_bool() == Some(true) => mark(Value::Bool(true), s),
                _ if other.is_unknown() => Value::Unknown,
                _ => self.error(
                    "Invalid operand",
                    "The || operator needs bools: an operand is null.".into(),
                    if a.is_null() { l.span } else { r.span },
                ),
            };
        }
        if matches!(op, And | Or) {
            let get = |v: &Value, e: &Expr, me: &mut Self| match v {
                // As Terraform converts them: the strings "true" and "false" are bools.
                v if v.to_bool().is_some() => Some(v.to_bool()),
                Value::Unknown => Some(None),
                other => {
                    me.error(
                        "Invalid operand",
                        format!("The {} operator needs bools, not a {}.", op.symbol(), other.type_name()),
                        e.span,
                    );
                    None
                }
            };
            let (Some(x), Some(y)) = (get(&a, l, self), get(&b, r, self)) else { return Value::Unknown };
            let out = match (op, x, y) {
                (And, Some(false), _) | (And, _, Some(false)) => Value::Bool(false),
                (Or, Some(true), _) | (Or, _, Some(true)) => Value::Bool(true),
                (_, Some(x), Some(y)) => Value::Bool(if op == And { x && y } else { x || y }),
                _ => Value::Unknown,
            };
            return mark(out, s);
        }
        if a.is_unknown() || b.is_unknown() {
            return Value::Unknown;
        }
        let a = numeric(&a);
        let b = numeric(&b);
        let out = match (op, &a, &b) {
            (Lt | LtEq | Gt | GtEq, x, y) => {
                match functions::compare(x, y).filter(|_| !matches!(x, Value::String(_))) {
                    Some(o) => Value::Bool(match op {
                        Lt => o.is_lt(),
                        LtEq => o.is_le(),
                        Gt => o.is_gt(),
                        _ => o.is_ge(),
                    }),
                    None => return self.operand_error(op, &a, &b, l, r, s),
                }
            }
            (Div, Value::Number(_), Value::Number(y)) if y.is_zero() => {
                return self.error("Division by zero", "The right operand of / is zero.".into(), r.span)
            }
            (Add | Sub | Mul | Div | Mod, Value::Number(x), Value::Number(y)) => {
                let n = match op {
                    Add => x.add(y),
                    Sub => x.sub(y),
                    Mul => x.mul(y),
                    Div => x.div(y),
                    _ => x.rem(y),
                };
                match n {
                    Some(n) if !n.is_infinite() || x.is_infinite() || y.is_infinite() => Value::Number(n),
                    _ => {
                        return self.error(
                            "Number out of range",
                            format!(
                                "The result of {} is too large: Landform's numbers reach about 10^78000.",
                                op.symbol()
                            ),
                            r.span,
                        )
                    }
                }
            }
            (Add, Value::Duration(x), Value::Duration(y)) => match x.checked_add(*y) {
                Some(d) => Value::Duration(d),
                None => {
                    return self.error(
                        "Duration out of range",
                        "The sum is longer than the longest duration (about 584 million years).".into(),
                        r.span,
                    )
                }
            },
            (Sub, Value::Duration(x), Value::Duration(y)) => Value::Duration(x.saturating_sub(*y)),
            (Mul, Value::Duration(d), Value::Number(n)) | (Mul, Value::Number(n), Value::Duration(d))
                if !n.is_negative() =>
            {
                let ms = (*d as f64 * n.to_f64()).round();
                if ms >= u64::MAX as f64 {
                    return self.error(
                        "Duration out of range",
                        "The product is longer than the longest duration (about 584 million years).".into(),
                        r.span,
                    );
                }
                Value::Duration(ms as u64)
            }
            (Div, Value::Duration(_), Value::Number(n)) if n.is_zero() => {
                return self.error("Division by zero", "The right operand of / is zero.".into(), r.span)
            }
            (Div, Value::Duration(d), Value::Number(n)) if n.signum() > 0 => {
                Value::Duration((*d as f64 / n.to_f64()).round() as u64)
            }
            (Div, Value::Duration(_), Value::Duration(0)) => {
                return self.error("Division by zero", "The right operand of / is zero.".into(), r.span)
            }
            (Div, Value::Duration(x), Value::Duration(y)) => Value::float(*x as f64 / *y as f64),
            (Add, Value::Percent(x), Value::Percent(y)) => Value::Percent(x + y),
            (Sub, Value::Percent(x), Value::Percent(y)) => Value::Percent(x - y),
            (Mul, Value::Percent(p), Value::Number(n)) | (Mul, Value::Number(n), Value::Percent(p)) => {
                Value::float(p / 100.0 * n.to_f64())
            }
            _ => return self.operand_error(op, &a, &b, l, r, s),
        };
        mark(out, s)
    }

    fn operand_error(&mut self, op: BinaryOp, a: &Value, b: &Value, l: &Expr, r: &Expr, marked: bool) -> Value {
        let (bad, side, span) = if is_operand_kind(a) { (b, "right", r.span) } else { (a, "left", l.span) };
        let what = match bad {
            // A marked operand is never quoted.
            Value::String(s) if s.chars().count() <= 30 && !marked => format!("the string \"{s}\""),
            other => format!("a {}", other.type_name()),
        };
        self.error(
            "Invalid operand",
            format!(
                "Unsuitable value for {side} operand of {}: {what} cannot be used here. {} works on numbers, and on durations or percentages of the same kind.",
                op.symbol(),
                op.symbol()
            ),
            span,
        )
    }

    fn for_expr(&mut self, f: &ForExpr, scope: &Scope) -> Value {
        let n = self.bound.len();
        self.bound.extend(f.key_var.iter().map(|k| k.name.clone()));
        self.bound.push(f.value_var.name.clone());
        let v = self.for_expr_bound(f, scope);
        self.bound.truncate(n);
        v
    }

    fn for_expr_bound(&mut self, f: &ForExpr, scope: &Scope) -> Value {
        let coll = self.eval(&f.collection, scope);
        let (inner, sensitive) = coll.unmark();
        let pairs: Vec<(Value, Value)> = match inner {
            Value::Unknown => {
                // Check the body once with unknown iteration variables.
                let mut child = scope.child();
                if let Some(k) = &f.key_var {
                    child.set(k.name.clone(), Value::Unknown);
                }
                child.set(f.value_var.name.clone(), Value::Unknown);
                if let Some(k) = &f.key {
                    self.eval(k, &child);
                }
                self.eval(&f.value, &child);
                if let Some(c) = &f.condition {
                    self.eval(c, &child);
                }
                return Value::Unknown;
            }
            // The elements of a marked collection are marked, and so are its keys.
            // A set's elements have no index: the key is the element itself.
            Value::List(_) | Value::Object(_) => {
                inner.iter_pairs().unwrap_or_default().into_iter().map(mark_pair(sensitive)).collect()
            }
            other => {
                return self.error(
                    "Iteration over non-iterable value",
                    format!("A for expression iterates over a list or a map, not a {}.", other.type_name()),
                    f.collection.span,
                )
            }
        };
        let mut list = Vec::new();
        let mut map = BTreeMap::new();
        let mut unknown = false;
        let mut size = 0usize;
        let mut key_sensitive = false;
        for (k, v) in pairs {
            let mut child = scope.child();
            if let Some(kv) = &f.key_var {
                child.set(kv.name.clone(), k);
            }
            child.set(f.value_var.name.clone(), v);
            if let Some(c) = &f.condition {
                let cond = self.eval(c, &child);
                // A marked condition decides what the result holds: it marks the result.
                key_sensitive |= cond.is_sensitive();
                // The strings "true" and "false" are bools here too.
                let cond = match cond.to_bool() {
                    Some(b) => Value::Bool(b),
                    None => cond,
                };
                match cond.unmark().0 {
                    Value::Bool(true) => {}
                    Value::Bool(false) => continue,
                    Value::Unknown => {
                        unknown = true;
                        continue;
                    }
                    other => {
                        return self.error(
                            "Invalid for expression condition",
                            format!("The condition after \"if\" must be a bool, not a {}.", other.type_name()),
                            c.span,
                        )
                    }
                }
            }
            let value = self.eval(&f.value, &child);
            size = size.saturating_add(value.size_up_to(crate::value::MAX_VALUE_SIZE));
            if size > crate::value::MAX_VALUE_SIZE {
                return self.too_large(
                    &format!("it would be larger than {} MiB", crate::value::MAX_VALUE_SIZE >> 20),
                    f.value.span,
                );
            }
            match &f.key {
                None => list.push(value),
                Some(ke) => {
                    let key = self.eval(ke, &child);
                    if key.is_unknown() {
                        unknown = true;
                        continue;
                    }
                    key_sensitive |= key.contains_sensitive();
                    let Some(key) = key.unmark().0.to_template_string() else {
                        return self.error(
                            "Invalid object key",
                            format!("A key must be a string, not a {}.", key.type_name()),
                            ke.span,
                        );
                    };
                    if f.group {
                        match map.entry(key).or_insert_with(|| Value::tuple(Vec::new())) {
                            Value::List(l) => l.push(value),
                            other => *other = Value::tuple(vec![value]),
                        }
                        continue;
                    }
                    if map.insert(key.clone(), value).is_some() {
                        let shown = if key_sensitive { "(sensitive value)".to_string() } else { format!("\"{key}\"") };
                        return self.error(
                            "Duplicate object key",
                            format!("Two elements produce the key {shown}. Each key of a map made by a for expression must be unique."),
                            ke.span,
                        );
                    }
                }
            }
        }
        if unknown {
            return Value::Unknown;
        }
        mark(if f.key.is_some() { Value::object(map) } else { Value::tuple(list) }, sensitive || key_sensitive)
    }
}

/// Resolve a static reference by borrowing through the scope. `None` for
/// anything that needs evaluation, a step through a sensitive or unknown
/// value (whose marks evaluation must apply), or a missing name (an error).
fn lookup<'s>(expr: &Expr, scope: &'s Scope) -> Option<&'s Value> {
    Some(match &expr.kind {
        ExprKind::Variable(id) => scope.get(&id.name)?,
        ExprKind::GetAttr(base, name) => match lookup(base, scope)? {
            Value::Object(m) => m.get(&name.name)?,
            _ => return None,
        },
        ExprKind::Index(base, key) => match (lookup(base, scope)?, &key.kind) {
            (Value::List(l), ExprKind::Number(n)) if l.kind != crate::value::SeqKind::Set => {
                l.get(usize::try_from(n.to_i64()?).ok()?)?
            }
            (Value::Object(m), _) => m.get(&key.as_static_string()?)?,
            _ => return None,
        },
        _ => return None,
    })
}

/// A `for` expression's key and element, marked when their collection is.
fn mark_pair(sensitive: bool) -> impl Fn((Value, Value)) -> (Value, Value) {
    move |(k, v)| if sensitive { (k.sensitive(), v.sensitive()) } else { (k, v) }
}

fn mark(v: Value, sensitive: bool) -> Value {
    if sensitive {
        v.secret()
    } else {
        v
    }
}

fn is_operand_kind(v: &Value) -> bool {
    matches!(v, Value::Number(_) | Value::Duration(_) | Value::Percent(_))
}

/// Strings that hold numbers take part in arithmetic, as in HCL.
fn numeric(v: &Value) -> Value {
    match v {
        Value::String(s) => crate::number::Number::parse(s).map(Value::Number).unwrap_or_else(|| v.clone()),
        other => other.clone(),
    }
}

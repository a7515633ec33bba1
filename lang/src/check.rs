//! Checking a module tree the way `landform validate` does: resolve variables,
//! evaluate locals in dependency order, and evaluate every expression with
//! resources unknown, so that type errors, bad references and bad function
//! calls are all found before anything is planned.

use crate::config::{Mode, Module, Variable};
use crate::diag::{suggestion, Diagnostic};
use crate::eval::{Evaluator, Host, Scope};
use crate::module::LoadedModule;
use crate::refs::references;
use crate::source::Span;
use crate::syntax::{Body, Expr, Item};
use crate::types::{convert, type_from_expr, Type};
use crate::value::Value;
use std::collections::{BTreeMap, HashMap};

/// Where a variable's value came from, and the value.
#[derive(Clone, Debug)]
pub enum InputValue {
    /// Text from `--var` or `LANDFORM_VAR_…`: taken as a string for simple
    /// types, parsed as an expression for lists, maps and objects.
    Raw(String),
    /// An expression from a `.lfvars` file.
    Expr(Expr),
    /// A value handed down by a module call.
    Value(Value, Span),
}

#[derive(Clone, Debug)]
pub struct Input {
    pub value: InputValue,
    /// For messages: "--var", "LANDFORM_VAR_env", "prod.lfvars".
    pub origin: String,
}

/// A module's scope before anything is planned, for what must be known then
/// (module instances, provider settings): its variables, `path`, and its
/// locals; resources, data sources and module outputs are unknown, and so are
/// the locals that read them (their errors are the plan's to report).
pub fn planning_scope(m: &LoadedModule, var: Value, host: &dyn Host) -> Scope<'static> {
    let mut base = Scope::new();
    base.set("var", var);
    base.set("path", crate::eval::path_object(&m.dir, host));
    base.set("landform", crate::eval::landform_object(host));
    base.set("terraform", crate::eval::landform_object(host));
    base.set("data", Value::Unknown);
    base.set("module", Value::Unknown);
    for r in &m.module.resources {
        base.set(r.type_name.clone(), Value::Unknown);
    }
    let locals = evaluate_locals(&m.module, &base, host, &mut Vec::new());
    base.set("local", locals);
    base
}

/// Resolve a module's variables from inputs and defaults into the `var` object.
pub fn resolve_variables(
    module: &Module,
    inputs: &BTreeMap<String, Input>,
    host: &dyn Host,
    diags: &mut Vec<Diagnostic>,
) -> Value {
    let mut vars = BTreeMap::new();
    for v in &module.variables {
        let ty = match &v.type_expr {
            Some(e) => match type_from_expr(e) {
                Ok(t) => t,
                Err(d) => {
                    diags.push(d);
                    Type::Any
                }
            },
            None => Type::Any,
        };
        let value = variable_value(v, &ty, inputs.get(&v.name), host, diags);
        let value = if v.sensitive { value.secret() } else { value };
        vars.insert(v.name.clone(), value);
    }
    for (name, input) in inputs {
        if module.variable(name).is_none() {
            let names = module.variables.iter().map(|v| v.name.as_str());
            let detail = format!(
                "A value was given for \"{name}\" by {}, but no variable \"{name}\" is declared.{}",
                input.origin,
                suggestion(name, names)
            );
            let span = match &input.value {
                InputValue::Expr(e) => Some(e.span),
                InputValue::Value(_, s) => Some(*s),
                InputValue::Raw(_) => None,
            };
            // Terraform ignores stray environment variables, and so do we.
            if input.origin.starts_with("LANDFORM_VAR_") {
                continue;
            }
            // A variables file setting one is a warning, as Terraform's is
            // (a file may outlive the block that used it); a flag or a module
            // argument is an error.
            if let InputValue::Expr(e) = &input.value {
                diags.push(Diagnostic::warning(
                    "Value for undeclared variable",
                    format!("{detail} If you meant to use this value, add a \"variable\" block to the configuration; else remove the line from {}.", input.origin),
                    e.span,
                ));
                continue;
            }
            diags.push(match span {
                Some(s) => Diagnostic::error("Value for undeclared variable", detail, s),
                None => Diagnostic::global("Value for undeclared variable", detail),
            });
        }
    }
    let var = Value::object(vars);
    // Validation rules see every variable.
    let mut scope = Scope::new();
    scope.set("var", var.clone());
    for v in &module.variables {
        let Some(value) = var.get(&v.name) else { continue };
        if value.contains_unknown() {
            continue;
        }
        for rule in &v.validations {
            let mut ev = Evaluator::new(host);
            let ok = ev.eval(&rule.condition, &scope);
            let msg = ev.eval(&rule.message, &scope);
            diags.append(&mut ev.diags);
            match ok.unmark().0 {
                Value::Bool(true) | Value::Unknown => {}
                Value::Bool(false) => {
                    let message = if v.sensitive || msg.contains_sensitive() {
                        "The error message included a sensitive value, so it is not shown.".to_string()
                    } else {
                        msg.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| "(the validation message is not a string)".into())
                    };
                    diags.push(Diagnostic::error(
                        "Invalid value for variable",
                        format!("{message}\n\nThis was checked by the validation rule of variable \"{}\".", v.name),
                        rule.condition.span,
                    ));
                }
                other => diags.push(Diagnostic::error(
                    "Invalid validation condition",
                    format!("A validation condition must be true or false, not a {}.", other.type_name()),
                    rule.condition.span,
                )),
            }
        }
    }
    var
}

fn variable_value(
    v: &Variable,
    ty: &Type,
    input: Option<&Input>,
    host: &dyn Host,
    diags: &mut Vec<Diagnostic>,
) -> Value {
    let (raw, span, origin) = match input {
        Some(Input { value: InputValue::Raw(text), origin }) => {
            let simple =
                matches!(ty, Type::String | Type::Number | Type::Bool | Type::Duration | Type::Percent | Type::Any);
            if simple && text.trim() == "null" && *ty != Type::String && *ty != Type::Any {
                // As Terraform reads `-var size=null` for a variable that is not a string.
                (Value::Null, v.span, origin.clone())
            } else if simple {
                (Value::String(text.clone()), v.span, origin.clone())
            } else {
                let (e, d) = crate::parse::parse_expr(crate::source::FileId(u32::MAX), text);
                match e {
                    Some(e) if d.is_empty() => {
                        let mut ev = Evaluator::new(host);
                        let val = ev.eval(&e, &Scope::new());
                        if !ev.diags.is_empty() {
                            diags.push(Diagnostic::global(
                                "Invalid value for input variable",
                                format!(
                                    "The value given by {origin} for variable \"{}\" is not a constant {ty}.",
                                    v.name
                                ),
                            ));
                            return Value::Unknown;
                        }
                        (val, v.span, origin.clone())
                    }
                    _ => {
                        diags.push(Diagnostic::global(
                            "Invalid value for input variable",
                            format!("The value given by {origin} for variable \"{}\" is not valid syntax for a {ty}: write it as in the configuration, e.g. [\"a\", \"b\"] or {{ k = \"v\" }}.", v.name),
                        ));
                        return Value::Unknown;
                    }
                }
            }
        }
        Some(Input { value: InputValue::Expr(e), origin }) => {
            let mut ev = Evaluator::new(host);
            let val = ev.eval(e, &Scope::new());
            if v.sensitive {
                // The detail may quote the value (an operand, an argument).
                for d in &mut ev.diags {
                    d.detail = format!(
                        "The value {origin} gives for variable \"{}\" is not valid here (the variable is sensitive, so the reason is not shown).",
                        v.name
                    );
                }
            }
            diags.append(&mut ev.diags);
            (val, e.span, origin.clone())
        }
        Some(Input { value: InputValue::Value(val, span), origin }) => (val.clone(), *span, origin.clone()),
        None => match &v.default {
            Some(d) => {
                let mut ev = Evaluator::new(host);
                let val = ev.eval(d, &Scope::new());
                diags.append(&mut ev.diags);
                (val, d.span, "its default".to_string())
            }
            None => {
                diags.push(Diagnostic::error(
                    "No value for required variable",
                    format!(
                        "The input variable \"{0}\" is not set and has no default value. Give it a value with --var '{0}=…', a --var-file, or the LANDFORM_VAR_{0} environment variable.",
                        v.name
                    ),
                    v.span,
                ));
                return Value::Unknown;
            }
        },
    };
    // Not nullable: a null given means the default, as Terraform has it.
    let (raw, span, origin) = match (&v.default, raw.is_null() && !v.nullable) {
        (Some(d), true) => {
            let mut ev = Evaluator::new(host);
            let val = ev.eval(d, &Scope::new());
            diags.append(&mut ev.diags);
            (val, d.span, "its default".to_string())
        }
        _ => (raw, span, origin),
    };
    if raw.is_null() && !v.nullable {
        diags.push(Diagnostic::error(
            "Invalid value for input variable",
            format!("The variable \"{}\" is not nullable, but {origin} gives null.", v.name),
            span,
        ));
        return Value::Unknown;
    }
    if v.sensitive {
        // Remembered before anything can quote it, so that output redacts it.
        crate::secrets::remember(&raw);
    }
    match convert(&raw, ty) {
        Ok(val) => val,
        Err(e) => {
            let why = if v.sensitive {
                format!("it is not a valid {ty} (the variable is sensitive, so its value is not shown)")
            } else {
                e.to_string()
            };
            diags.push(Diagnostic::error(
                "Invalid value for input variable",
                format!("The value from {origin} is unsuitable for variable \"{}\": {why}.", v.name),
                span,
            ));
            Value::Unknown
        }
    }
}

/// Evaluate locals in dependency order into the `local` object; a cycle is an
/// error naming every local on it.
pub fn evaluate_locals(module: &Module, scope: &Scope, host: &dyn Host, diags: &mut Vec<Diagnostic>) -> Value {
    let index: HashMap<&str, usize> = module.locals.iter().enumerate().map(|(i, l)| (l.name.as_str(), i)).collect();
    let deps: Vec<Vec<usize>> = module
        .locals
        .iter()
        .map(|l| {
            references(&l.value)
                .iter()
                .filter(|r| r.root == "local")
                .filter_map(|r| r.path.first().and_then(|n| index.get(n.as_str()).copied()))
                .collect()
        })
        .collect();
    let order = match topo_order(&deps) {
        Ok(o) => o,
        Err(cycle) => {
            let names: Vec<String> = cycle.iter().map(|i| format!("local.{}", module.locals[*i].name)).collect();
            let first = &module.locals[cycle[0]];
            diags.push(Diagnostic::error(
                "Cycle in local values",
                format!(
                    "These local values refer to each other in a cycle: {} → {}. Break the cycle by making one of them not depend on the others.",
                    names.join(" → "),
                    names[0]
                ),
                first.span,
            ));
            // Evaluate what is not on the cycle; the rest stays unknown.
            let mut order: Vec<usize> = (0..module.locals.len()).filter(|i| !cycle.contains(i)).collect();
            order.sort();
            order
        }
    };
    let values: BTreeMap<String, Value> = module.locals.iter().map(|l| (l.name.clone(), Value::Unknown)).collect();
    let mut s = scope.child();
    s.set("local", Value::object(values));
    for i in order {
        let l = &module.locals[i];
        let mut ev = Evaluator::new(host);
        let v = ev.eval(&l.value, &s);
        diags.append(&mut ev.diags);
        if let Some(Value::Object(m)) = s.get_mut("local") {
            m.insert(l.name.clone(), v);
        }
    }
    s.get("local").cloned().unwrap_or(Value::Unknown)
}

/// A topological order of a dependency list (deps first), or one cycle.
pub fn topo_order(deps: &[Vec<usize>]) -> Result<Vec<usize>, Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    let mut mark = vec![Mark::New; deps.len()];
    let mut order = Vec::with_capacity(deps.len());
    for start in 0..deps.len() {
        if mark[start] != Mark::New {
            continue;
        }
        // Iterative DFS with an explicit path, so deep chains cannot overflow the stack.
        let mut path: Vec<(usize, usize)> = vec![(start, 0)];
        mark[start] = Mark::Active;
        while let Some((node, next)) = path.last().copied() {
            if let Some(&dep) = deps[node].get(next) {
                if let Some(p) = path.last_mut() {
                    p.1 += 1;
                }
                match mark[dep] {
                    Mark::New => {
                        mark[dep] = Mark::Active;
                        path.push((dep, 0));
                    }
                    Mark::Active => {
                        let pos = path.iter().position(|(n, _)| *n == dep).unwrap_or(0);
                        return Err(path[pos..].iter().map(|(n, _)| *n).collect());
                    }
                    Mark::Done => {}
                }
            } else {
                mark[node] = Mark::Done;
                order.push(node);
                path.pop();
            }
        }
    }
    Ok(order)
}

/// What checking a module produced: its variables, locals and outputs, with
/// whatever depends on resources unknown.
pub struct Checked {
    pub vars: Value,
    pub locals: Value,
    pub outputs: Value,
}

/// Check a whole module tree with the given root inputs.
pub fn check_tree(
    root: &LoadedModule,
    inputs: &BTreeMap<String, Input>,
    host: &dyn Host,
) -> (Checked, Vec<Diagnostic>) {
    check(root, inputs, host, false)
}

/// `landform validate`'s check, as Terraform validates: every variable of
/// every module is unknown (the caller makes the root's so), so a body is
/// checked for what any value would break, not evaluated with one choice.
pub fn validate_tree(
    root: &LoadedModule,
    inputs: &BTreeMap<String, Input>,
    host: &dyn Host,
) -> (Checked, Vec<Diagnostic>) {
    check(root, inputs, host, true)
}

fn check(
    root: &LoadedModule,
    inputs: &BTreeMap<String, Input>,
    host: &dyn Host,
    validating: bool,
) -> (Checked, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    check_versions(root, &mut diags);
    let checked = check_module(root, inputs, host, validating, true, &mut diags);
    (checked, diags)
}

/// The Landform version, which every module's `landform { required_version }` must allow.
pub const LANDFORM_VERSION: &str = env!("CARGO_PKG_VERSION");

fn check_versions(m: &LoadedModule, diags: &mut Vec<Diagnostic>) {
    if let Some((text, span)) = &m.module.required_version {
        let running = crate::version::Version::parse(LANDFORM_VERSION).ok();
        let allowed = crate::version::Constraint::parse(text).ok().zip(running).is_none_or(|(c, v)| c.allows(&v));
        if !allowed {
            diags.push(Diagnostic::error(
                "Unsupported Landform version",
                format!(
                    "This module needs Landform {text}, and this is Landform {LANDFORM_VERSION}. Use a Landform that its required_version allows, or change the constraint."
                ),
                *span,
            ));
        }
    }
    for child in m.children.values() {
        check_versions(child, diags);
    }
}

fn check_module(
    m: &LoadedModule,
    inputs: &BTreeMap<String, Input>,
    host: &dyn Host,
    validating: bool,
    root: bool,
    diags: &mut Vec<Diagnostic>,
) -> Checked {
    let module = &m.module;
    let var = resolve_variables(module, inputs, host, diags);
    let mut base = Scope::new();
    base.set("var", var);
    base.set("path", crate::eval::path_object(&m.dir, host));
    base.set("landform", crate::eval::landform_object(host));
    base.set("terraform", crate::eval::landform_object(host));
    // Resources and data sources are unknown until apply.
    let mut types: BTreeMap<String, BTreeMap<String, Value>> = BTreeMap::new();
    let mut data: BTreeMap<String, Value> = BTreeMap::new();
    for r in &module.resources {
        match r.mode {
            Mode::Managed => {
                types.entry(r.type_name.clone()).or_default().insert(r.name.clone(), Value::Unknown);
            }
            Mode::Data => {
                let entry = data.entry(r.type_name.clone()).or_insert_with(|| Value::object(BTreeMap::new()));
                if let Value::Object(o) = entry {
                    o.insert(r.name.clone(), Value::Unknown);
                }
            }
        }
    }
    for (t, names) in types {
        base.set(t, Value::object(names));
    }
    base.set("data", Value::object(data));
    // Modules are checked before the locals and resources that may use their outputs.
    let mut modules = BTreeMap::new();
    let mut pre = Scope::new();
    pre.set("var", base.get("var").cloned().unwrap_or(Value::Unknown));
    for call in &module.module_calls {
        modules.insert(call.name.clone(), Value::Unknown);
    }
    base.set("module", Value::object(modules.clone()));
    let local = evaluate_locals(module, &base, host, diags);
    base.set("local", local);
    for call in &module.module_calls {
        let Some(child) = m.children.get(&call.name) else { continue };
        let mut scope = base.child();
        let meta = meta_scope(call.count.as_ref(), call.for_each.as_ref(), &base, &mut scope, host, diags);
        let repeated = meta.repeated;
        // A call with no instances is checked as validate checks it.
        let unknown_inputs = validating || meta.empty;
        let mut child_inputs = BTreeMap::new();
        for arg in &call.args {
            if child.module.variable(&arg.name.name).is_none() {
                let names = child.module.variables.iter().map(|v| v.name.as_str());
                diags.push(Diagnostic::error(
                    "Unsupported argument",
                    format!(
                        "The module \"{}\" has no variable named \"{}\".{}",
                        call.name,
                        arg.name.name,
                        suggestion(&arg.name.name, names)
                    ),
                    arg.name.span,
                ));
                continue;
            }
            let mut ev = Evaluator::new(host);
            let v = if meta.empty { ev.eval(&arg.value, &unknown_scope(&scope)) } else { ev.eval(&arg.value, &scope) };
            diags.append(&mut ev.diags);
            child_inputs.insert(
                arg.name.name.clone(),
                Input { value: InputValue::Value(v, arg.value.span), origin: format!("module \"{}\"", call.name) },
            );
        }
        let mut missing = false;
        for v in &child.module.variables {
            if v.default.is_none() && !child_inputs.contains_key(&v.name) {
                missing = true;
                diags.push(Diagnostic::error(
                    "Missing required argument",
                    format!("The module \"{}\" needs a value for its variable \"{}\", which has no default. Add {} = … to the module block.", call.name, v.name, v.name),
                    call.span,
                ));
            }
        }
        if missing {
            continue;
        }
        if unknown_inputs {
            for v in &child.module.variables {
                let span = child_inputs.get(&v.name).map_or(v.span, |i| match &i.value {
                    InputValue::Value(_, s) => *s,
                    _ => v.span,
                });
                let origin = format!("module \"{}\"", call.name);
                child_inputs.insert(v.name.clone(), Input { value: InputValue::Value(Value::Unknown, span), origin });
            }
        }
        let checked = check_module(child, &child_inputs, host, unknown_inputs, false, diags);
        modules.insert(call.name.clone(), if repeated { Value::Unknown } else { checked.outputs });
    }
    base.set("module", Value::object(modules));
    for p in &module.providers {
        eval_body(&p.body, &base, host, diags);
    }
    for r in &module.resources {
        let mut scope = base.child();
        let meta = meta_scope(r.count.as_ref(), r.for_each.as_ref(), &base, &mut scope, host, diags);
        if meta.empty && !validating {
            eval_body(&r.config, &unknown_scope(&scope), host, diags);
        } else {
            eval_body(&r.config, &scope, host, diags);
        }
        for d in &r.depends_on {
            let mut ev = Evaluator::new(host);
            ev.eval(d, &base);
            diags.append(&mut ev.diags);
        }
        check_lifecycle_flags(r, &base, host, diags);
        // Conditions: their references and types (`self` is the object, unknown here).
        let mut own = scope.child();
        own.set("self", Value::Unknown);
        check_conditions(r.lifecycle.preconditions.iter().chain(&r.lifecycle.postconditions), &own, host, diags);
    }
    for c in &module.checks {
        check_conditions(c.asserts.iter(), &base, host, diags);
    }
    let mut outputs = BTreeMap::new();
    for o in &module.outputs {
        check_conditions(o.preconditions.iter(), &base, host, diags);
        let mut ev = Evaluator::new(host);
        let v = ev.eval(&o.value, &base);
        for d in &o.depends_on {
            ev.eval(d, &base);
        }
        diags.append(&mut ev.diags);
        // As Terraform: only the root module's outputs must say they hold a
        // secret; a child's pass their marks on to its caller.
        if root && v.contains_sensitive() && !o.sensitive {
            diags.push(Diagnostic::error(
                "Output refers to sensitive values",
                format!("The output \"{}\" uses a sensitive value. Add sensitive = true to the output block to confirm that it may hold one; it will then never be shown.", o.name),
                o.value.span,
            ));
        }
        outputs.insert(o.name.clone(), if o.sensitive { v.secret() } else { v });
    }
    Checked {
        vars: base.get("var").cloned().unwrap_or(Value::Unknown),
        locals: base.get("local").cloned().unwrap_or(Value::Unknown),
        outputs: Value::object(outputs),
    }
}

/// `prevent_destroy` and `create_before_destroy` must be known when planning:
/// built from literals, variables and locals, and true or false.
fn check_lifecycle_flags(r: &crate::config::Resource, base: &Scope, host: &dyn Host, diags: &mut Vec<Diagnostic>) {
    for (name, e) in [
        ("prevent_destroy", r.lifecycle.prevent_destroy.as_ref()),
        ("create_before_destroy", r.lifecycle.create_before_destroy.as_ref()),
    ] {
        let Some(e) = e else { continue };
        if let Some(bad) = crate::refs::references(e).into_iter().find(|x| !matches!(x.root.as_str(), "var" | "local"))
        {
            diags.push(Diagnostic::error(
                "Invalid lifecycle value",
                format!("lifecycle.{name} must be known when planning: it may use literals, variables and locals, not \"{}\".", bad.root),
                bad.span,
            ));
            continue;
        }
        let mut ev = Evaluator::new(host);
        let v = ev.eval(e, base);
        diags.append(&mut ev.diags);
        let v = convert(&v, &Type::Bool).unwrap_or(v);
        match v.unmark().0 {
            Value::Bool(_) | Value::Unknown => {}
            other => diags.push(Diagnostic::error(
                "Invalid lifecycle value",
                format!("lifecycle.{name} must be true or false, not a {}.", other.type_name()),
                e.span,
            )),
        }
    }
}

/// The most instances one resource block may have.
pub const MAX_INSTANCES: usize = 100_000;

/// The number of instances a `count` value asks for: `Ok(None)` when unknown.
pub fn count_value(v: &Value) -> Result<Option<u64>, String> {
    // As Terraform: a string that reads as a whole number ("2", a variable
    // given on the command line) is that number.
    let converted = convert(v, &Type::Number).unwrap_or(v.clone());
    let v = &converted;
    match v.unmark().0 {
        Value::Unknown => Ok(None),
        Value::Number(n) if n.is_integer() && !n.is_negative() => match n.to_i64() {
            Some(i) if i as u64 <= MAX_INSTANCES as u64 => Ok(Some(i as u64)),
            _ => Err(format!(
                "The count argument is {n}, more than the {MAX_INSTANCES} instances one resource may have."
            )),
        },
        _ if v.is_sensitive() => Err("The count argument must be a whole number of 0 or more.".into()),
        other => Err(format!("The count argument must be a whole number of 0 or more, not {other}.")),
    }
}

/// Check `count`/`for_each` and bind `count`/`each` as unknown for the body.
/// Returns whether the block is repeated.
fn meta_scope(
    count: Option<&Expr>,
    for_each: Option<&Expr>,
    base: &Scope,
    scope: &mut Scope,
    host: &dyn Host,
    diags: &mut Vec<Diagnostic>,
) -> Meta {
    if let Some(c) = count {
        let mut ev = Evaluator::new(host);
        let v = ev.eval(c, base);
        diags.append(&mut ev.diags);
        let n = count_value(&v);
        if let Err(why) = &n {
            diags.push(Diagnostic::error("Invalid count argument", why.clone(), c.span));
        }
        scope.set("count", Value::Object([("index".to_string(), Value::Unknown)].into_iter().collect()));
        return Meta { repeated: true, empty: matches!(n, Ok(Some(0))) };
    }
    if let Some(f) = for_each {
        let mut ev = Evaluator::new(host);
        let v = ev.eval(f, base);
        diags.append(&mut ev.diags);
        if v.is_sensitive() {
            diags.push(Diagnostic::error(
                "Invalid for_each argument",
                "Sensitive values cannot be used as for_each arguments: the keys would be shown in resource addresses.",
                f.span,
            ));
        }
        let keys = for_each_keys(&v);
        if let Err(why) = &keys {
            diags.push(Diagnostic::error("Invalid for_each argument", why.clone(), f.span));
        }
        scope.set(
            "each",
            Value::Object(
                [("key".to_string(), Value::Unknown), ("value".to_string(), Value::Unknown)].into_iter().collect(),
            ),
        );
        return Meta { repeated: true, empty: matches!(&keys, Ok(Some(k)) if k.is_empty()) };
    }
    Meta { repeated: false, empty: false }
}

/// What a block's `count` or `for_each` says about its instances.
struct Meta {
    repeated: bool,
    /// Known to have none (`count = 0`, an empty `for_each`): as in
    /// Terraform, its body is never evaluated with the values at hand.
    empty: bool,
}

/// The scope a body with no instances is checked in, as `validate` checks
/// it: what its variables, locals and modules hold is unknown, so only what
/// any value would break (an unknown function, a wrong literal) is an error.
fn unknown_scope<'a>(scope: &'a Scope<'a>) -> Scope<'a> {
    let mut s = scope.child();
    for name in ["var", "local", "module"] {
        s.set(name, Value::Unknown);
    }
    s
}

/// The instance keys of a for_each value: a map's keys or a set of strings.
/// `Ok(None)` when unknown.
pub fn for_each_keys(v: &Value) -> Result<Option<Vec<(String, Value)>>, String> {
    let too_many = |n: usize| {
        Err(format!(
            "The for_each argument has {n} elements, more than the {MAX_INSTANCES} instances one resource may have."
        ))
    };
    match v.unmark().0 {
        Value::Unknown => Ok(None),
        Value::Object(m) if m.len() > MAX_INSTANCES => too_many(m.len()),
        Value::List(items) if items.len() > MAX_INSTANCES => too_many(items.len()),
        Value::Object(m) => Ok(Some(m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())),
        Value::List(items) => {
            let mut out: Vec<(String, Value)> = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for i in items {
                match i.unmark().0 {
                    Value::String(s) => {
                        if !seen.insert(s.as_str()) {
                            return Err(format!(
                                "The for_each set holds \"{s}\" twice; wrap the list in toset() to remove duplicates."
                            ));
                        }
                        out.push((s.clone(), i.clone()));
                    }
                    Value::Unknown => return Ok(None),
                    other => {
                        return Err(format!(
                            "The for_each argument must be a map or a set of strings, but this list holds a {}.",
                            other.type_name()
                        ))
                    }
                }
            }
            out.sort_by(|a, b| a.0.cmp(&b.0));
            Ok(Some(out))
        }
        other => Err(format!("The for_each argument must be a map or a set of strings, not a {}.", other.type_name())),
    }
}

/// Evaluate conditions and their messages for what `validate` finds in them.
fn check_conditions<'c>(
    conds: impl Iterator<Item = &'c crate::config::Condition>,
    scope: &Scope,
    host: &dyn Host,
    diags: &mut Vec<Diagnostic>,
) {
    for c in conds {
        let mut ev = Evaluator::new(host);
        let v = ev.eval(&c.condition, scope);
        ev.eval(&c.error_message, scope);
        diags.append(&mut ev.diags);
        if !matches!(v.unmark().0, Value::Bool(_) | Value::Unknown) {
            diags.push(Diagnostic::error(
                "Invalid condition result",
                format!("A condition must be true or false, not a {}.", v.type_name()),
                c.condition.span,
            ));
        }
    }
}

/// Evaluate every argument of a body and its nested blocks.
pub fn eval_body(body: &Body, scope: &Scope, host: &dyn Host, diags: &mut Vec<Diagnostic>) {
    for item in &body.items {
        match item {
            Item::Attribute(a) => {
                let mut ev = Evaluator::new(host);
                ev.eval(&a.value, scope);
                diags.append(&mut ev.diags);
            }
            Item::Block(b) => match b.as_dynamic() {
                Some(d) => {
                    if let Some(f) = d.for_each {
                        let mut ev = Evaluator::new(host);
                        ev.eval(f, scope);
                        diags.append(&mut ev.diags);
                    }
                    // The content once, with the element unknown: its references and types.
                    if let Some(content) = d.content {
                        let mut child = scope.child();
                        child.set(d.iterator.clone(), Value::Unknown);
                        eval_body(content, &child, host, diags);
                    }
                }
                None => eval_body(&b.body, scope, host, diags),
            },
        }
    }
}

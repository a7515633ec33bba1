//! The values of a module tree while it is planned or applied: one scope per
//! module, updated in place as variables, locals, resources and outputs are
//! evaluated in graph order.

use crate::addr::{Key, ResourceAddr};
use crate::build::{ConfigGraph, ModulePath};
use landform_lang::check::{for_each_keys, Input, InputValue};
use landform_lang::config::{Mode, Resource};
use landform_lang::diag::Diagnostic;
use landform_lang::syntax::{Body, Item};
use landform_lang::{Evaluator, Host, Scope, Value};
use std::collections::{BTreeMap, HashMap};

pub struct World<'g> {
    pub graph: &'g ConfigGraph<'g>,
    scopes: crate::build::FastMap<ModulePath, Scope<'static>>,
    /// Each resource type's attributes and blocks with the value each has
    /// when absent (null, or an empty list for a repeated block): as in
    /// Terraform, an instance's object has every attribute of its schema,
    /// so `aws_subnet.a.ipv6_cidr_block` is null, not missing, when unset.
    absent: HashMap<(bool, String), Vec<(&'static str, Value)>>,
}

fn obj() -> Value {
    Value::object(BTreeMap::new())
}

fn insert(target: &mut Value, key: &str, v: Value) {
    if let Value::Object(m) = target {
        m.insert(key.to_string(), v);
    }
}

impl<'g> World<'g> {
    pub fn new(graph: &'g ConfigGraph<'g>, root_vars: Value, host: &dyn Host) -> World<'g> {
        let landform = landform_lang::eval::landform_object(host);
        let mut scopes = crate::build::FastMap::default();
        for (path, m) in &graph.modules {
            let mut s = Scope::new();
            s.set("var", if path.is_empty() { root_vars.clone() } else { obj() });
            s.set("local", obj());
            s.set("data", obj());
            s.set("path", landform_lang::eval::path_object(&m.dir, host));
            s.set("landform", landform.clone());
            s.set("terraform", landform.clone());
            let mut modules = BTreeMap::new();
            for c in &m.module.module_calls {
                // A call with count is a list of its instances' outputs, one
                // with for_each a map of them, by key; else the outputs.
                let instances = graph.instances_of(path, &c.name);
                let keys: Vec<Key> =
                    instances.iter().filter_map(|p| p.last().map(|e| crate::addr::module_element(e).1)).collect();
                let keyed = keys.iter().all(|k| *k != Key::None);
                let value = if !instances.is_empty() && !keyed {
                    obj()
                } else if c.count.is_some() {
                    Value::tuple(vec![obj(); keys.len()])
                } else if c.for_each.is_some() {
                    Value::Object(keys.iter().map(|k| (key_str(k), obj())).collect())
                } else {
                    obj()
                };
                modules.insert(c.name.clone(), value);
            }
            s.set("module", Value::object(modules));
            for r in &m.module.resources {
                if r.mode == Mode::Managed && s.get(&r.type_name).is_none() {
                    s.set(r.type_name.clone(), obj());
                }
            }
            scopes.insert(path.clone(), s);
        }
        World { graph, scopes, absent: HashMap::new() }
    }

    pub fn scope(&self, module: &ModulePath) -> &Scope<'static> {
        &self.scopes[module]
    }

    fn scope_mut(&mut self, module: &ModulePath) -> &mut Scope<'static> {
        self.scopes.get_mut(module).expect("every module has a scope")
    }

    /// A child module's variable, from the call's argument or its default.
    pub fn eval_child_var(&mut self, module: &ModulePath, name: &str, host: &dyn Host, diags: &mut Vec<Diagnostic>) {
        let Some((element, parent)) = module.split_last() else { return };
        let parent = parent.to_vec();
        let (call_name, key) = crate::addr::module_element(element);
        let Some(call) = self.graph.module(&parent).module_calls.iter().find(|c| c.name == call_name) else { return };
        let child = self.graph.module(module);
        let Some(var) = child.variable(name) else { return };
        let mut inputs = BTreeMap::new();
        if let Some(arg) = call.args.iter().find(|a| a.name.name == name) {
            let mut ev = Evaluator::new(host);
            // An instance's arguments see its `count.index` or `each`.
            let each_value = self.graph.each_values.get(module).cloned().unwrap_or(Value::Unknown);
            let scope = self.instance_scope(&parent, &key, &each_value);
            let v = ev.eval(&arg.value, &scope);
            diags.append(&mut ev.diags);
            inputs.insert(
                name.to_string(),
                Input { value: InputValue::Value(v, arg.value.span), origin: format!("module \"{call_name}\"") },
            );
        }
        // Resolve just this variable, with its type and validation rules.
        let single = landform_lang::config::Module { variables: vec![var.clone()], ..Default::default() };
        let resolved = landform_lang::check::resolve_variables(&single, &inputs, host, diags);
        let value = resolved.get(name).cloned().unwrap_or(Value::Unknown);
        if let Some(v) = self.scope_mut(module).get_mut("var") {
            insert(v, name, value);
        }
    }

    pub fn eval_local(&mut self, module: &ModulePath, name: &str, host: &dyn Host, diags: &mut Vec<Diagnostic>) {
        let Some(l) = self.graph.local(module, name) else { return };
        let mut ev = Evaluator::new(host);
        let v = ev.eval(&l.value, self.scope(module));
        diags.append(&mut ev.diags);
        if let Some(locals) = self.scope_mut(module).get_mut("local") {
            insert(locals, name, v);
        }
    }

    /// Evaluate an output; a child's output becomes `module.NAME.OUTPUT` in its parent.
    pub fn eval_output(
        &mut self,
        module: &ModulePath,
        name: &str,
        host: &dyn Host,
        diags: &mut Vec<Diagnostic>,
    ) -> Value {
        let Some(o) = self.graph.output(module, name) else { return Value::Unknown };
        let mut ev = Evaluator::new(host);
        let mut v = ev.eval(&o.value, self.scope(module));
        diags.append(&mut ev.diags);
        // As Terraform: only the root module's outputs must say they hold a
        // secret; a child's pass their marks on to its caller.
        if module.is_empty() && v.contains_sensitive() && !o.sensitive {
            diags.push(Diagnostic::error(
                "Output refers to sensitive values",
                format!("The output \"{}\" uses a sensitive value. Add sensitive = true to the output block to confirm that it may hold one; it will then never be shown.", o.name),
                o.value.span,
            ));
            v = v.sensitive();
        }
        if o.sensitive {
            v = v.secret();
        }
        if let Some((element, parent)) = module.split_last() {
            let parent = parent.to_vec();
            let (call, key) = crate::addr::module_element(element);
            if let Some(Value::Object(m)) = self.scope_mut(&parent).get_mut("module") {
                let entry = m.entry(call.to_string()).or_insert_with(obj);
                // One instance's outputs sit under its key (or index) in the call's value.
                let target = match (key, entry) {
                    (Key::None, e) => Some(e),
                    (Key::Int(i), Value::List(l)) => l.get_mut(i as usize),
                    (Key::Str(k), Value::Object(m)) => Some(m.entry(k).or_insert_with(obj)),
                    (_, _) => None,
                };
                if let Some(t) = target {
                    insert(t, name, v.clone());
                }
            }
        }
        v
    }

    /// The instance keys of a resource: `None` for a single instance, count
    /// indexes, or for_each keys with their values.
    pub fn expand(
        &self,
        module: &ModulePath,
        r: &Resource,
        host: &dyn Host,
        diags: &mut Vec<Diagnostic>,
    ) -> Option<Vec<(Key, Value)>> {
        let scope = self.scope(module);
        if let Some(c) = &r.count {
            let mut ev = Evaluator::new(host);
            let v = ev.eval(c, scope);
            let had = ev.diags.len();
            diags.append(&mut ev.diags);
            return match landform_lang::check::count_value(&v) {
                Ok(Some(n)) => Some((0..n).map(|i| (Key::Int(i), Value::Unknown)).collect()),
                Ok(None) if had == 0 => {
                    diags.push(Diagnostic::error(
                        "Invalid count argument",
                        "The count value depends on resource attributes that cannot be determined until apply, so Landform cannot predict how many instances will be created. Use a value known before apply, or apply the resources it depends on first with --target.",
                        c.span,
                    ));
                    None
                }
                Ok(None) => None,
                Err(why) => {
                    diags.push(Diagnostic::error("Invalid count argument", why, c.span));
                    None
                }
            };
        }
        if let Some(f) = &r.for_each {
            let mut ev = Evaluator::new(host);
            let v = ev.eval(f, scope);
            let had = ev.diags.len();
            diags.append(&mut ev.diags);
            return match for_each_keys(&v) {
                Ok(Some(keys)) => Some(keys.into_iter().map(|(k, v)| (Key::Str(k), v)).collect()),
                Ok(None) => {
                    if had == 0 {
                        diags.push(Diagnostic::error(
                            "Invalid for_each argument",
                            "The for_each value depends on resource attributes that cannot be determined until apply, so Landform cannot predict how many instances will be created. Use keys known before apply, or apply the resources they depend on first with --target.",
                            f.span,
                        ));
                    }
                    None
                }
                Err(why) => {
                    diags.push(Diagnostic::error("Invalid for_each argument", why, f.span));
                    None
                }
            };
        }
        Some(vec![(Key::None, Value::Unknown)])
    }

    /// Make room for a resource's instances: unknown until each is set.
    pub fn init_resource(
        &mut self,
        module: &ModulePath,
        r: &Resource,
        schema: &landform_provider::Schema,
        keys: &[(Key, Value)],
    ) {
        self.absent.entry((r.mode == Mode::Data, r.type_name.clone())).or_insert_with(|| absent_values(schema));
        let placeholder = match keys.first().map(|k| &k.0) {
            Some(Key::None) => Value::Unknown,
            Some(Key::Int(_)) => Value::tuple(vec![Value::Unknown; keys.len()]),
            Some(Key::Str(_)) => Value::Object(keys.iter().map(|(k, _)| (key_str(k), Value::Unknown)).collect()),
            None => {
                if r.count.is_some() {
                    Value::tuple(Vec::new())
                } else {
                    obj()
                }
            }
        };
        self.put_resource_value(module, r, placeholder);
    }

    fn put_resource_value(&mut self, module: &ModulePath, r: &Resource, v: Value) {
        let s = self.scope_mut(module);
        match r.mode {
            Mode::Managed => {
                if let Some(t) = s.get_mut(&r.type_name) {
                    insert(t, &r.name, v);
                }
            }
            Mode::Data => {
                if let Some(Value::Object(data)) = s.get_mut("data") {
                    let t = data.entry(r.type_name.clone()).or_insert_with(obj);
                    insert(t, &r.name, v);
                }
            }
        }
    }

    pub fn set_instance(&mut self, module: &ModulePath, r: &Resource, key: &Key, mut value: Value) {
        if let (Value::Object(m), Some(absent)) =
            (&mut value, self.absent.get(&(r.mode == Mode::Data, r.type_name.clone())))
        {
            for (name, v) in absent {
                m.entry(name.to_string()).or_insert_with(|| v.clone());
            }
        }
        let s = self.scope_mut(module);
        let slot = match r.mode {
            Mode::Managed => s.get_mut(&r.type_name).and_then(|t| match t {
                Value::Object(m) => m.get_mut(&r.name),
                _ => None,
            }),
            Mode::Data => match s.get_mut("data") {
                Some(Value::Object(d)) => d.get_mut(&r.type_name).and_then(|t| match t {
                    Value::Object(m) => m.get_mut(&r.name),
                    _ => None,
                }),
                _ => None,
            },
        };
        let Some(slot) = slot else { return };
        match (key, slot) {
            (Key::None, slot) => *slot = value,
            (Key::Int(i), Value::List(l)) => {
                if let Some(x) = l.get_mut(*i as usize) {
                    *x = value;
                }
            }
            (Key::Str(k), Value::Object(m)) => {
                m.insert(k.clone(), value);
            }
            _ => {}
        }
    }

    /// Evaluate an instance's configuration: arguments, and nested blocks as
    /// lists of objects.
    pub fn eval_config(
        &self,
        module: &ModulePath,
        r: &Resource,
        key: &Key,
        each_value: &Value,
        host: &dyn Host,
        diags: &mut Vec<Diagnostic>,
    ) -> Value {
        let scope = self.instance_scope(module, key, each_value);
        eval_body_value(&r.config, &scope, host, diags)
    }

    /// The scope of one instance: the module's, with `count.index` or `each`.
    pub fn instance_scope(&self, module: &ModulePath, key: &Key, each_value: &Value) -> Scope<'_> {
        let mut scope = self.scope(module).child();
        match key {
            Key::Int(i) => {
                scope.set("count", Value::Object([("index".to_string(), Value::from(*i))].into_iter().collect()))
            }
            Key::Str(k) => scope.set(
                "each",
                Value::Object(
                    [("key".to_string(), Value::String(k.clone())), ("value".to_string(), each_value.clone())]
                        .into_iter()
                        .collect(),
                ),
            ),
            Key::None => {}
        }
        scope
    }

    pub fn addr(&self, module: &ModulePath, r: &Resource, key: Key) -> ResourceAddr {
        ResourceAddr {
            module: module.clone(),
            data: r.mode == Mode::Data,
            type_name: r.type_name.clone(),
            name: r.name.clone(),
            key,
        }
    }
}

fn key_str(k: &Key) -> String {
    match k {
        Key::None => String::new(),
        Key::Int(i) => i.to_string(),
        Key::Str(s) => s.clone(),
    }
}

fn eval_body_value(body: &Body, scope: &Scope, host: &dyn Host, diags: &mut Vec<Diagnostic>) -> Value {
    let mut out = BTreeMap::new();
    for item in &body.items {
        match item {
            Item::Attribute(a) => {
                let mut ev = Evaluator::new(host);
                let v = ev.eval(&a.value, scope);
                diags.append(&mut ev.diags);
                out.insert(a.name.name.clone(), v);
            }
            Item::Block(b) => {
                let (name, values) = match b.as_dynamic() {
                    Some(d) => (d.name.to_string(), expand_dynamic(&d, scope, host, diags)),
                    None => (b.kind.name.clone(), Some(vec![eval_body_value(&b.body, scope, host, diags)])),
                };
                let entry = out.entry(name).or_insert_with(|| Value::tuple(Vec::new()));
                match (values, &mut *entry) {
                    (None, _) => *entry = Value::Unknown,
                    (Some(vs), Value::List(l)) => l.extend(vs),
                    (Some(_), _) => {}
                }
            }
        }
    }
    Value::object(out)
}

/// The blocks a `dynamic` block stands for: its `content` once per element
/// of `for_each`, with the element as `ITERATOR.key` and `ITERATOR.value`;
/// `None` while `for_each` is unknown.
fn expand_dynamic(
    d: &landform_lang::syntax::Dynamic,
    scope: &Scope,
    host: &dyn Host,
    diags: &mut Vec<Diagnostic>,
) -> Option<Vec<Value>> {
    let (Some(for_each), Some(content)) = (d.for_each, d.content) else { return Some(Vec::new()) };
    let mut ev = Evaluator::new(host);
    let coll = ev.eval(for_each, scope);
    diags.append(&mut ev.diags);
    let (inner, sensitive) = coll.unmark();
    if sensitive {
        diags.push(Diagnostic::error(
            "Invalid dynamic for_each value",
            "A sensitive value cannot be used as a dynamic block's for_each: it would show how many blocks there are and their keys. Use nonsensitive() on a value that is not secret.".to_string(),
            for_each.span,
        ));
        return Some(Vec::new());
    }
    let pairs: Vec<(Value, Value)> = match inner {
        Value::Unknown => return None,
        Value::Null => Vec::new(),
        // A set's key is its element, as in a for expression.
        Value::List(_) | Value::Object(_) => inner.iter_pairs().unwrap_or_default(),
        other => {
            diags.push(Diagnostic::error(
                "Invalid dynamic for_each value",
                format!("A dynamic block's for_each is a list, set or map, not a {}.", other.type_name()),
                for_each.span,
            ));
            return Some(Vec::new());
        }
    };
    let mut out = Vec::with_capacity(pairs.len());
    for (key, value) in pairs {
        let mut child = scope.child();
        child.set(d.iterator.clone(), Value::Object([("key".to_string(), key), ("value".to_string(), value)].into()));
        out.push(eval_body_value(content, &child, host, diags));
    }
    Some(out)
}

/// What each attribute and block of a schema is when the object lacks it.
fn absent_values(schema: &landform_provider::Schema) -> Vec<(&'static str, Value)> {
    let attrs = schema.attributes.keys().map(|name| (*name, Value::Null));
    let blocks = schema.blocks.iter().map(|(name, b)| {
        let v = match b.nesting {
            landform_provider::Nesting::Single => Value::Null,
            landform_provider::Nesting::List | landform_provider::Nesting::Set => Value::tuple(Vec::new()),
        };
        (*name, v)
    });
    attrs.chain(blocks).collect()
}

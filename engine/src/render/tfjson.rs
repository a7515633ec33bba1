//! The parts of `terraform show -json`'s plan and state representations that
//! `plan_json` does not already write: values by module (`planned_values`,
//! `prior_state`, state `values`), sensitivity shapes, and the configuration
//! with each expression as a constant or its references. Tools that read
//! Terraform's JSON (checkov, OPA/conftest, Infracost) read these.
//!
//! Hidden values never appear: a sensitive attribute's value is null and
//! marked `true` in `sensitive_values`; a constant set on a sensitive
//! attribute, or a sensitive variable's default, is left out.

use crate::plan::{Action, Plan, ResourceChange};
use landform_lang::config::{Mode, Module};
use landform_lang::module::LoadedModule;
use landform_lang::syntax::{Body, Expr, Item};
use landform_state::{ResourceRecord, Snapshot};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The version of Terraform's JSON output format these follow.
pub const TERRAFORM_FORMAT_VERSION: &str = "1.2";

/// The Terraform release whose `show -json` output these match, written as
/// `terraform_version`: tools such as checkov take a file for a plan only when
/// it has that field. `landform_version` says what really wrote it.
pub const TERRAFORM_COMPATIBLE_VERSION: &str = "1.5.7";

/// Where the schemas come from, to show nested blocks as Terraform does.
pub type Schemas<'a> = Option<&'a crate::providers::Providers>;

/// Nested blocks as lists of objects, as Terraform shows them: a single block
/// is a list of one (or none when absent), at any depth.
pub fn blocks_as_lists(values: &mut Map<String, Value>, schema: &landform_provider::Schema) {
    for (name, bt) in &schema.blocks {
        let Some(v) = values.get_mut(*name) else { continue };
        match v {
            Value::Object(o) => {
                blocks_as_lists(o, &bt.block);
                *v = Value::Array(vec![std::mem::take(v)]);
            }
            Value::Array(items) => {
                for i in items {
                    if let Value::Object(o) = i {
                        blocks_as_lists(o, &bt.block);
                    }
                }
            }
            Value::Null if bt.nesting == landform_provider::Nesting::Single => *v = json!([]),
            _ => {}
        }
    }
}

/// Terraform's `sensitive_values` of values not yet shaped: the flags in
/// the shape the values take once their nested blocks are lists.
pub fn sensitive_shape(
    schemas: Schemas,
    mode: &str,
    type_name: &str,
    values: &Map<String, Value>,
    paths: &BTreeSet<String>,
) -> Value {
    let mut flags = crate::sensitivity::shaped_flags(values, paths);
    if let Value::Object(o) = &mut flags {
        shape(schemas, mode, type_name, o);
    }
    flags
}

fn shape(schemas: Schemas, mode: &str, type_name: &str, values: &mut Map<String, Value>) {
    if let Some((_, schema)) = schemas.and_then(|p| p.for_type(mode == "data", type_name)) {
        blocks_as_lists(values, schema);
    }
}

/// `{"a": true}` for each hidden attribute name.
/// The module a resource address is in, and that module's parent: `module.a.module.b` → `module.a`.
fn parent(module: &str) -> Option<&str> {
    if module.is_empty() {
        return None;
    }
    Some(module.rfind(".module.").map_or("", |i| &module[..i]))
}

/// Resources grouped by module address, nested as Terraform nests them:
/// `{"resources": [...], "child_modules": [{"address": ..., ...}]}`.
fn module_tree(resources: Vec<(String, Value)>) -> Value {
    let mut by: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    by.entry(String::new()).or_default();
    for (module, r) in resources {
        let mut m = module.as_str();
        while let Some(p) = parent(m) {
            by.entry(p.to_string()).or_default();
            m = p;
        }
        by.entry(module).or_default().push(r);
    }
    // Each module's resources are moved into its node, never copied: a state's
    // values are most of what `show --json` holds in memory.
    fn build(addr: &str, by: &mut BTreeMap<String, Vec<Value>>, modules: &[String]) -> Value {
        let mut o = Map::new();
        if !addr.is_empty() {
            o.insert("address".into(), json!(addr));
        }
        o.insert("resources".into(), Value::Array(by.remove(addr).unwrap_or_default()));
        let children: Vec<Value> = modules
            .iter()
            .filter(|k| parent(k) == Some(addr) && !k.is_empty())
            .map(|k| build(k, by, modules))
            .collect();
        if !children.is_empty() {
            o.insert("child_modules".into(), Value::Array(children));
        }
        Value::Object(o)
    }
    let modules: Vec<String> = by.keys().cloned().collect();
    build("", &mut by, &modules)
}

/// A Terraform type expression for a JSON value, as state outputs carry.
fn type_of(v: &Value) -> Value {
    match v {
        Value::Null => json!("dynamic"),
        Value::Bool(_) => json!("bool"),
        Value::Number(_) => json!("number"),
        Value::String(_) => json!("string"),
        Value::Array(a) => json!(["tuple", a.iter().map(type_of).collect::<Vec<_>>()]),
        Value::Object(o) => json!(["object", o.iter().map(|(k, v)| (k.clone(), type_of(v))).collect::<Map<_, _>>()]),
    }
}

fn record_json(rec: &ResourceRecord, schemas: Schemas) -> Value {
    let hidden_paths: BTreeSet<String> = rec.sensitive_attributes.iter().cloned().collect();
    let mut values = crate::sensitivity::redact(&rec.attributes, &hidden_paths);
    let sensitive = sensitive_shape(schemas, &rec.mode, &rec.type_name, &values, &hidden_paths);
    shape(schemas, &rec.mode, &rec.type_name, &mut values);
    let mut o = obj!({
        "address": rec.addr.as_str(),
        "mode": rec.mode.as_str(),
        "type": rec.type_name.as_str(),
        "name": rec.name.as_str(),
        "provider_name": rec.provider.as_str(),
        "schema_version": rec.schema_version,
        "values": values,
        "sensitive_values": sensitive,
    });
    if !rec.index_key.is_null() {
        o["index"] = rec.index_key.clone();
    }
    if !rec.dependencies.is_empty() {
        o["depends_on"] = json!(rec.dependencies);
    }
    o
}

/// Terraform's values representation of a state: outputs and the module tree.
pub fn state_values(snap: &Snapshot, schemas: Schemas) -> Value {
    let outputs: Map<String, Value> = snap
        .outputs
        .iter()
        .map(|(k, o)| {
            // A hidden value's type is left out too: an object's type names its keys.
            if o.sensitive {
                return (k.clone(), json!({ "sensitive": true, "value": null }));
            }
            (k.clone(), obj!({ "sensitive": false, "value": o.value.clone(), "type": type_of(&o.value) }))
        })
        .collect();
    let resources = snap.resources.iter().map(|r| (r.module.clone(), record_json(r, schemas))).collect();
    obj!({ "outputs": outputs, "root_module": module_tree(resources) })
}

/// `landform show --json`: the state in Terraform's state representation.
pub fn state_json(snap: &Snapshot, schemas: Schemas) -> Value {
    obj!({
        "format_version": "1.0",
        "terraform_version": TERRAFORM_COMPATIBLE_VERSION,
        "landform_version": env!("CARGO_PKG_VERSION"),
        "values": state_values(snap, schemas),
        "serial": snap.serial,
        "lineage": snap.lineage.as_str(),
    })
}

/// The state a plan was made from, as refresh saw it: `prior` with the plan's
/// refreshed records over it and what refresh found gone taken out.
pub fn refreshed_prior(plan: &Plan, state: &Snapshot) -> Snapshot {
    let mut s = state.clone();
    let fresh: HashMap<&str, &ResourceRecord> = plan.refreshed.iter().map(|r| (r.addr.as_str(), r)).collect();
    s.resources.retain(|r| !plan.gone.contains(&r.addr));
    for r in &mut s.resources {
        if let Some(f) = fresh.get(r.addr.as_str()) {
            *r = (*f).clone();
        }
    }
    for r in &plan.refreshed {
        if !s.resources.iter().any(|x| x.addr == r.addr) {
            s.resources.push(r.clone());
        }
    }
    s
}

/// What the state will hold after apply: every instance the plan keeps or
/// makes, unknown values left out.
pub fn planned_values(plan: &Plan, prior: Option<&Snapshot>, schemas: Schemas) -> Value {
    let prior_by: HashMap<&str, &ResourceRecord> =
        prior.map(|p| p.resources.iter().map(|r| (r.addr.as_str(), r)).collect()).unwrap_or_default();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut resources = Vec::new();
    for c in plan.resource_changes.iter().filter(|c| c.deposed.is_none()) {
        seen.insert(&c.address);
        if c.action == Action::Delete {
            continue;
        }
        let values = match (&c.after, prior_by.get(c.address.as_str())) {
            (Some(after), _) => {
                let mut v = after.clone();
                // Wholly unknown values are left out; known parts of a partly unknown one stay.
                v.retain(|k, x| !(c.after_unknown.contains(k) && x.is_null()));
                v
            }
            // A no-op keeps no values in the plan: they are the prior state's.
            (None, Some(rec)) => {
                crate::sensitivity::redact(&rec.attributes, &rec.sensitive_attributes.iter().cloned().collect())
            }
            (None, None) => Map::new(),
        };
        let mut values = values;
        let sensitive = sensitive_shape(schemas, &c.mode, &c.type_name, &values, &c.sensitive);
        shape(schemas, &c.mode, &c.type_name, &mut values);
        resources.push((c.module_address.clone(), change_resource(c, values, sensitive, schemas)));
    }
    // Instances the plan did not touch (a targeted plan) stay as they are.
    if !plan.destroy {
        for rec in prior.map(|p| p.resources.as_slice()).unwrap_or_default() {
            if !seen.contains(rec.addr.as_str()) && !plan.gone.contains(&rec.addr) {
                resources.push((rec.module.clone(), record_json(rec, schemas)));
            }
        }
    }
    resources.sort_by(|a, b| a.1["address"].as_str().cmp(&b.1["address"].as_str()));
    let outputs: Map<String, Value> = plan
        .output_changes
        .iter()
        .filter(|o| o.action != Action::Delete)
        .map(|o| {
            let mut v = json!({ "sensitive": o.sensitive });
            if !o.after_unknown && !o.sensitive {
                v["value"] = o.after.clone().unwrap_or(Value::Null);
            }
            (o.name.clone(), v)
        })
        .collect();
    obj!({ "outputs": outputs, "root_module": module_tree(resources) })
}

/// The version of a resource type's schema, as the provider gives it.
fn schema_version(schemas: Schemas, mode: &str, type_name: &str) -> u64 {
    schemas.and_then(|p| p.for_type(mode == "data", type_name)).map_or(0, |(_, s)| s.version)
}

fn change_resource(c: &ResourceChange, values: Map<String, Value>, sensitive: Value, schemas: Schemas) -> Value {
    let mut o = obj!({
        "address": c.address.as_str(),
        "mode": c.mode.as_str(),
        "type": c.type_name.as_str(),
        "name": c.name.as_str(),
        "provider_name": c.provider_name.as_str(),
        "schema_version": schema_version(schemas, &c.mode, &c.type_name),
        "values": values,
        "sensitive_values": sensitive,
    });
    if !c.index.is_null() {
        o["index"] = c.index.clone();
    }
    o
}

/// Terraform's `references` for one reference: the whole traversal, then the
/// object it belongs to (`aws_lb.web.arn`, `aws_lb.web`).
fn reference_strings(r: &landform_lang::refs::Reference) -> Vec<String> {
    let mut text = r.root.clone();
    let mut out = Vec::new();
    let mut steps: Vec<String> = Vec::new();
    for p in &r.path {
        if p.parse::<u64>().is_ok() {
            text.push_str(&format!("[{p}]"));
        } else {
            text.push('.');
            text.push_str(p);
        }
        steps.push(text.clone());
    }
    if steps.is_empty() {
        return vec![text];
    }
    out.push(steps.last().cloned().unwrap_or_default());
    // The object itself: `var.x`, `local.x`, `module.m`, `data.t.n`, `t.n` (with an index if any).
    let object_len = match r.root.as_str() {
        "var" | "local" | "module" | "count" | "each" | "path" | "self" | "terraform" | "landform" => 1,
        "data" => 2,
        _ => 1,
    };
    let mut k = object_len.min(steps.len());
    if r.path.get(k).is_some_and(|p| p.parse::<u64>().is_ok()) {
        out.push(steps[k].clone());
    }
    if k >= 1 {
        k -= 1;
        if steps[k] != out[0] {
            out.push(steps[k].clone());
        }
    }
    out.dedup();
    out
}

/// One expression: `{"constant_value": ...}` when it refers to nothing and
/// can be evaluated alone, `{"references": [...]}` when it refers to things,
/// `{}` otherwise (or when it must not be shown).
fn expression(e: &Expr, hide: bool) -> Value {
    let refs = landform_lang::refs::references(e);
    if !refs.is_empty() {
        let mut all: Vec<String> = Vec::new();
        for r in &refs {
            for s in reference_strings(r) {
                if !all.contains(&s) {
                    all.push(s);
                }
            }
        }
        return obj!({ "references": all });
    }
    if hide {
        return json!({});
    }
    let mut ev = landform_lang::Evaluator::new(&landform_lang::NoHost);
    let v = ev.eval(e, &landform_lang::Scope::new());
    if ev.diags.iter().any(|d| d.is_error()) || v.contains_unknown() || v.is_sensitive() {
        return json!({});
    }
    obj!({ "constant_value": v.to_json() })
}

/// A body's arguments as expressions, and its nested blocks as lists of bodies.
fn body_expressions(body: &Body, hidden: &BTreeSet<String>) -> Value {
    let mut o = Map::new();
    for item in &body.items {
        match item {
            Item::Attribute(a) => {
                o.insert(a.name.name.clone(), expression(&a.value, hidden.contains(&a.name.name)));
            }
            Item::Block(b) => {
                // A dynamic block stands for blocks of its label's type, with its content's expressions.
                let (name, body) = match b.as_dynamic() {
                    Some(d) => (d.name.to_string(), d.content.unwrap_or(&b.body)),
                    None => (b.kind.name.clone(), &b.body),
                };
                let v = body_expressions(body, &BTreeSet::new());
                match o.entry(name).or_insert_with(|| json!([])) {
                    Value::Array(list) => list.push(v),
                    other => *other = json!([v]),
                }
            }
        }
    }
    Value::Object(o)
}

/// For a resource block's address (`module.a.aws_lb.web`): its sensitive
/// attributes, whose constants are left out, and its provider's key, when the
/// plan knows them.
pub type Info<'a> = dyn Fn(&str) -> (BTreeSet<String>, Option<String>) + 'a;

/// The configuration, as Terraform's configuration representation: provider
/// configurations, and per module its resources (arguments as expressions),
/// module calls, variables and outputs.
/// A provider's source address as Terraform writes it in full:
/// `hashicorp/aws` is `registry.terraform.io/hashicorp/aws`.
fn full_source(source: &str) -> String {
    match source.split('/').count() {
        1 => format!("registry.terraform.io/hashicorp/{source}"),
        2 => format!("registry.terraform.io/{source}"),
        _ => source.to_string(),
    }
}

/// Each `provider_name` of a provider the configuration requires by source
/// (`required_providers`, any module's) as Terraform names it: its full
/// source address (`registry.terraform.io/hashicorp/aws`), the alias aside;
/// and `full_name` beside each of their `provider_config` entries. Landform's
/// own providers keep their names.
pub fn full_provider_names(doc: &mut Value, tree: &LoadedModule) {
    let mut full: BTreeMap<String, String> = BTreeMap::new();
    fn collect(m: &LoadedModule, full: &mut BTreeMap<String, String>) {
        for (name, source) in &m.module.required_providers {
            full.entry(name.clone()).or_insert_with(|| full_source(source));
        }
        for c in m.children.values() {
            collect(c, full);
        }
    }
    collect(tree, &mut full);
    if full.is_empty() {
        return;
    }
    let rename = |o: &mut Map<String, Value>, field: &str| {
        let Some(Value::String(key)) = o.get(field) else { return };
        let local = key.split('.').next().unwrap_or(key);
        if let Some(f) = full.get(local) {
            o.insert(field.to_string(), Value::String(f.clone()));
        }
    };
    fn modules(v: &mut Value, rename: &dyn Fn(&mut Map<String, Value>, &str)) {
        if let Some(rs) = v.get_mut("resources").and_then(Value::as_array_mut) {
            for r in rs.iter_mut().filter_map(Value::as_object_mut) {
                rename(r, "provider_name");
            }
        }
        if let Some(cs) = v.get_mut("child_modules").and_then(Value::as_array_mut) {
            for c in cs {
                modules(c, rename);
            }
        }
    }
    for list in ["resource_changes", "resource_drift"] {
        if let Some(cs) = doc.get_mut(list).and_then(Value::as_array_mut) {
            for c in cs.iter_mut().filter_map(Value::as_object_mut) {
                rename(c, "provider_name");
            }
        }
    }
    if let Some(v) = doc.get_mut("planned_values").and_then(|p| p.get_mut("root_module")) {
        modules(v, &rename);
    }
    if let Some(v) = doc.get_mut("prior_state").and_then(|p| p.get_mut("values")).and_then(|p| p.get_mut("root_module"))
    {
        modules(v, &rename);
    }
    if let Some(pc) =
        doc.get_mut("configuration").and_then(|c| c.get_mut("provider_config")).and_then(Value::as_object_mut)
    {
        for p in pc.values_mut().filter_map(Value::as_object_mut) {
            let name = p.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
            if let Some(f) = full.get(&name) {
                p.insert("full_name".into(), Value::String(f.clone()));
            }
        }
    }
}

pub fn configuration(tree: &LoadedModule, info: &Info) -> Value {
    let mut providers = Map::new();
    for p in &tree.module.providers {
        let key = match &p.alias {
            Some(a) => format!("{}.{a}", p.name),
            None => p.name.clone(),
        };
        let mut o =
            obj!({ "name": p.name.as_str(), "expressions": body_expressions(&p.body, &["alias".to_string()].into()) });
        if let Some(a) = &p.alias {
            o["alias"] = json!(a);
            if let Some(x) = o["expressions"].as_object_mut() {
                x.remove("alias");
            }
        }
        providers.insert(key, o);
    }
    obj!({ "provider_config": providers, "root_module": module_configuration(tree, "", info) })
}

fn module_configuration(m: &LoadedModule, prefix: &str, info: &Info) -> Value {
    let module: &Module = &m.module;
    let resources: Vec<Value> = module.resources.iter().map(|r| resource_configuration(r, prefix, info)).collect();
    let calls: Map<String, Value> =
        module.module_calls.iter().map(|c| (c.name.clone(), module_call_configuration(m, c, prefix, info))).collect();
    let variables: Map<String, Value> =
        module.variables.iter().map(|v| (v.name.clone(), variable_configuration(v))).collect();
    let outputs: Map<String, Value> = module
        .outputs
        .iter()
        .map(|out| {
            let mut o = json!({ "expression": expression(&out.value, out.sensitive) });
            if out.sensitive {
                o["sensitive"] = json!(true);
            }
            if let Some(d) = &out.description {
                o["description"] = json!(d);
            }
            (out.name.clone(), o)
        })
        .collect();
    let mut o = obj!({ "resources": resources, "variables": variables, "outputs": outputs });
    if !calls.is_empty() {
        o["module_calls"] = Value::Object(calls);
    }
    o
}

/// A resource block of the module at `prefix` (`module.a.`), its hidden
/// attributes' constants left out.
fn resource_configuration(r: &landform_lang::config::Resource, prefix: &str, info: &Info) -> Value {
    let provider_key = r
        .provider
        .as_ref()
        .and_then(|p| p.as_traversal())
        .map(|(root, path)| std::iter::once(root.name.clone()).chain(path).collect::<Vec<_>>().join("."))
        .unwrap_or_else(|| r.type_name.split('_').next().unwrap_or_default().to_string());
    let full = format!("{prefix}{}", r.address());
    let (hidden, provider) = info(&full);
    let provider_key = provider.unwrap_or(provider_key);
    let mut o = obj!({
        "address": r.address(),
        "mode": if r.mode == Mode::Managed { "managed" } else { "data" },
        "type": r.type_name.as_str(),
        "name": r.name.as_str(),
        "provider_config_key": if prefix.is_empty() { provider_key } else { format!("{}:{provider_key}", prefix.trim_end_matches('.')) },
        "expressions": body_expressions(&r.config, &hidden),
        "schema_version": 0,
    });
    if let Some(c) = &r.count {
        o["count_expression"] = expression(c, false);
    }
    if let Some(f) = &r.for_each {
        o["for_each_expression"] = expression(f, false);
    }
    if !r.depends_on.is_empty() {
        let deps: Vec<String> =
            r.depends_on.iter().flat_map(landform_lang::refs::references).filter_map(|d| d.subject()).collect();
        o["depends_on"] = json!(deps);
    }
    o
}

/// A module call of `m` (at `prefix`), with the called module's configuration.
fn module_call_configuration(
    m: &LoadedModule,
    c: &landform_lang::config::ModuleCall,
    prefix: &str,
    info: &Info,
) -> Value {
    let mut args = Map::new();
    for a in &c.args {
        args.insert(a.name.name.clone(), expression(&a.value, false));
    }
    let mut o = obj!({ "source": c.source.as_str(), "expressions": args });
    if let Some(child) = m.children.get(&c.name) {
        o["module"] = module_configuration(child, &format!("{prefix}module.{}.", c.name), info);
    }
    if let Some(e) = &c.count {
        o["count_expression"] = expression(e, false);
    }
    if let Some(e) = &c.for_each {
        o["for_each_expression"] = expression(e, false);
    }
    o
}

/// A variable's declaration: a sensitive variable's default is left out.
fn variable_configuration(v: &landform_lang::config::Variable) -> Value {
    let mut o = Map::new();
    if let (Some(d), false) = (&v.default, v.sensitive) {
        if let Some(c) = expression(d, false).get("constant_value") {
            o.insert("default".into(), c.clone());
        }
    }
    if let Some(d) = &v.description {
        o.insert("description".into(), json!(d));
    }
    if v.sensitive {
        o.insert("sensitive".into(), json!(true));
    }
    Value::Object(o)
}

/// The root variables with their values, as Terraform's plan has them; a
/// sensitive variable's value is left out.
pub fn variables(plan: &Plan, tree: &LoadedModule) -> Value {
    let sensitive: BTreeSet<&str> =
        tree.module.variables.iter().filter(|v| v.sensitive).map(|v| v.name.as_str()).collect();
    Value::Object(
        plan.variables
            .iter()
            .map(|(k, v)| {
                let value = if sensitive.contains(k.as_str()) { Value::Null } else { v.clone() };
                (k.clone(), obj!({ "value": value }))
            })
            .collect(),
    )
}

/// The attributes of resources that what the plan changes depends on, as
/// Terraform's `relevant_attributes` lists them (`relevant.rs`).
pub fn relevant_attributes(plan: &Plan) -> Value {
    let out: Vec<Value> = plan
        .relevant_attributes
        .iter()
        .map(|r| json!({ "resource": r.resource, "attribute": r.attribute.iter().collect::<Vec<_>>() }))
        .collect();
    Value::Array(out)
}

//! A plugin as one of Landform's providers: `landform_provider::Provider`
//! over a `PluginClient`. The trait is narrower than the protocol, and this
//! is where the difference is bridged:
//! - names are `&'static str` in the trait's schema: they are interned once
//!   per process (a few hundred kilobytes for hashicorp/aws);
//! - values are JSON objects with unknown attributes named at the top level:
//!   an attribute with an unknown anywhere inside is unknown as a whole;
//! - a plan's answer carries the provider's planned state as it answered it
//!   and its planned private data (`PlanResponse::private`, packed by
//!   `PluginClient::pack_plan`), and apply carries out that plan
//!   (ApplyResourceChange with them), as Terraform applies its final plan;
//!   an apply given no plan (a delete, a rollout's weights) plans first;
//! - the private data apply returns is kept in the state with the object
//!   and given back to the next plan, apply and read;
//! - every answer's warnings are passed on (`read_answer`, `import_answer`),
//!   but a data source's.

use crate::cty::Value;
use crate::schema::{self, Nesting};
use crate::{Error, PluginClient, StartOptions};
use landform_provider as lp;
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

/// A running plugin registered under a name (`aws`).
pub struct PluginProvider {
    name: &'static str,
    client: Arc<PluginClient>,
    schema: lp::ProviderSchema,
    /// The provider block's settings, given to Configure before the first call that needs it.
    config: lp::Object,
    configured: Arc<OnceLock<Result<(), lp::ProviderError>>>,
    /// The provider's source address (`registry.terraform.io/hashicorp/aws`):
    /// what Landform knows of its types beyond the schema (rollout switches).
    source: String,
}

impl PluginProvider {
    /// Start the plugin and read its schema; `config` is its provider
    /// block, nested blocks as lists of objects.
    pub fn start(name: &str, opts: &StartOptions, config: lp::Object) -> Result<PluginProvider, Error> {
        Self::start_with(name, opts, config, false)
    }

    /// `start`, and validate and configure the provider at once in the
    /// background (later calls wait for it): for a command that will call
    /// it, so that the provider's own start (hashicorp/aws spends seconds in
    /// its first call) overlaps Landform's work.
    pub fn start_configuring(name: &str, opts: &StartOptions, config: lp::Object) -> Result<PluginProvider, Error> {
        Self::start_with(name, opts, config, true)
    }

    fn start_with(name: &str, opts: &StartOptions, config: lp::Object, early: bool) -> Result<PluginProvider, Error> {
        let client = Arc::new(PluginClient::start(opts)?);
        let configured = Arc::new(OnceLock::new());
        if early {
            let (client, once, config) = (client.clone(), configured.clone(), config.clone());
            // Its error, if any, is said by the first call that needs it.
            std::thread::spawn(move || {
                once.get_or_init(|| configure(&client, &config));
            });
        }
        let schema = to_trait_schema(client.schema()?);
        Ok(PluginProvider { name: intern(name), client, schema, config, configured, source: String::new() })
    }

    /// The provider's source address, which tells what its types are for
    /// beyond their schema (`switches`).
    pub fn with_source(mut self, source: &str) -> PluginProvider {
        self.source = source.to_string();
        self
    }

    pub fn client(&self) -> &PluginClient {
        &self.client
    }

    fn configure_once(&self) -> lp::Result<()> {
        self.configured.get_or_init(|| configure(&self.client, &self.config)).clone()
    }

    fn block(&self, type_name: &str) -> lp::Result<&schema::Block> {
        Ok(&self.client.schema().map_err(error)?.resource(type_name).map_err(error)?.block)
    }
}

impl lp::Provider for PluginProvider {
    fn name(&self) -> &'static str {
        self.name
    }

    fn schema(&self) -> &lp::ProviderSchema {
        &self.schema
    }

    fn validate(&self, req: lp::ValidateRequest) -> Vec<lp::ProviderError> {
        let Ok(block) = self.block(req.type_name) else { return Vec::new() };
        let config = from_json_object(req.config, req.unknown, block);
        let ds = match self.client.validate_resource(req.type_name, &config) {
            Ok(warnings) => warnings,
            Err(Error::Provider(ds)) => ds,
            Err(e) => return vec![error(e)],
        };
        // Errors and warnings (a deprecated argument), each at its attribute.
        ds.into_iter().map(diagnostic).collect()
    }

    fn plan(&self, req: lp::PlanRequest) -> lp::Result<lp::PlanResponse> {
        self.configure_once()?;
        let block = self.block(req.type_name)?;
        let prior = req.prior.map(|p| from_json_object(p, &BTreeSet::new(), block)).unwrap_or(Value::Null);
        let config = match req.partial {
            Some(partial) => from_json_partial(req.config, req.unknown, partial, block),
            None => from_json_object(req.config, req.unknown, block),
        };
        let plan = self.client.plan_resource(req.type_name, &prior, &config, req.prior_private).map_err(error)?;
        let private = self.client.pack_plan(req.type_name, &plan).map_err(error)?;
        let (planned, unknown) = to_json_object_typed(&plan.planned_state, &block.implied_type());
        // As Terraform does: a path forces replacement only where the value changes.
        let mut requires_replace = Vec::new();
        if let Some(p) = req.prior {
            let (prior, planned) = (Json::Object(p.clone()), Json::Object(planned.clone()));
            for path in plan.requires_replace {
                if changed_at(&prior, &planned, &unknown, &path) && !requires_replace.contains(&path) {
                    requires_replace.push(path);
                }
            }
        }
        let warnings = plan.warnings.into_iter().map(diagnostic).collect();
        Ok(lp::PlanResponse { planned, unknown, requires_replace, warnings, private })
    }

    fn apply(&self, req: lp::ApplyRequest) -> lp::Result<lp::ApplyResponse> {
        self.configure_once()?;
        let block = self.block(req.type_name)?;
        let none = BTreeSet::new();
        let prior = req.prior.map(|p| from_json_object(p, &none, block)).unwrap_or(Value::Null);
        let config = req.config.map(|c| from_json_object(c, &none, block)).unwrap_or(Value::Null);
        // The final plan the engine made, as the provider answered it; or, given none, a plan now.
        let (planned, planned_private) = match req.planned.and_then(|p| self.client.unpack_plan(req.type_name, p)) {
            Some(plan) => plan,
            None => {
                let plan =
                    self.client.plan_resource(req.type_name, &prior, &config, req.prior_private).map_err(error)?;
                (plan.planned_state, plan.planned_private)
            }
        };
        let new =
            self.client.apply_resource(req.type_name, &prior, &planned, &config, &planned_private).map_err(error)?;
        Ok(lp::ApplyResponse {
            state: (!new.state.is_null()).then(|| to_json_object(&new.state).0),
            private: new.private,
            warnings: new.warnings.into_iter().map(diagnostic).collect(),
        })
    }

    fn switch(&self, type_name: &str) -> Option<&dyn lp::TrafficSwitch> {
        crate::switches::for_type(&self.source, type_name)
    }

    fn read(&self, req: lp::ReadRequest) -> lp::Result<lp::ReadResponse> {
        self.read_answer(req).map(|a| a.response)
    }

    fn read_answer(&self, req: lp::ReadRequest) -> lp::Result<lp::ReadAnswer> {
        self.configure_once()?;
        let block = self.block(req.type_name)?;
        let prior = from_json_object(req.prior, &BTreeSet::new(), block);
        let read = self.client.read_resource(req.type_name, &prior, req.private).map_err(error)?;
        let warnings = read.warnings.into_iter().map(diagnostic).collect();
        let private = (read.private != req.private).then_some(read.private);
        if read.state.is_null() {
            return Ok(lp::ReadAnswer { response: lp::ReadResponse::Gone, private: None, warnings });
        }
        let (now, _) = to_json_object(&read.state);
        let known = |o: &lp::Object| -> lp::Object {
            o.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), v.clone())).collect()
        };
        let response =
            if known(&now) == known(req.prior) { lp::ReadResponse::Unchanged } else { lp::ReadResponse::Changed(now) };
        Ok(lp::ReadAnswer { response, private, warnings })
    }

    /// An object an interrupted apply created: found through one of the
    /// provider's data sources by what identifies it (`adopt`), then
    /// imported and read as `import` does.
    fn adopt(&self, req: lp::ReadRequest) -> lp::Result<lp::ReadResponse> {
        use crate::adopt::Lookup;
        let Some(lookup) = crate::adopt::lookup(&self.source, req.type_name, req.prior) else {
            return Ok(lp::ReadResponse::Gone);
        };
        let id = match lookup {
            Lookup::Ids(data_source, config) => {
                let found = self.read_data(lp::ReadDataRequest { type_name: data_source, config: &config })?;
                crate::adopt::single_id(&found)
            }
            Lookup::One(data_source, config) => {
                match self.read_data(lp::ReadDataRequest { type_name: data_source, config: &config }) {
                    Ok(found) => found.get("id").and_then(Json::as_str).map(str::to_string),
                    Err(e) if crate::adopt::is_not_found(&e.summary, &e.detail) => None,
                    Err(e) => return Err(e),
                }
            }
        };
        let Some(id) = id else { return Ok(lp::ReadResponse::Gone) };
        let imported = self.import(lp::ImportRequest { type_name: req.type_name, id: &id })?;
        Ok(match self.read(lp::ReadRequest { type_name: req.type_name, prior: &imported, private: &[] })? {
            lp::ReadResponse::Changed(now) => lp::ReadResponse::Changed(now),
            lp::ReadResponse::Unchanged => lp::ReadResponse::Changed(imported),
            lp::ReadResponse::Gone => lp::ReadResponse::Gone,
        })
    }

    fn read_data(&self, req: lp::ReadDataRequest) -> lp::Result<lp::Object> {
        self.configure_once()?;
        let s = self.client.schema().map_err(error)?;
        let block = &s
            .data_sources
            .get(req.type_name)
            .ok_or_else(|| lp::ProviderError::new("Unknown data source", req.type_name.to_string()))?
            .block;
        let config = from_json_object(req.config, &BTreeSet::new(), block);
        let read = self.client.read_data_source(req.type_name, &config).map_err(error)?;
        Ok(to_json_object(&read.state).0)
    }

    fn upgrades_every_object(&self) -> bool {
        true
    }

    /// UpgradeResourceState: the stored object as JSON, as Terraform's state
    /// holds it, brought to the current schema by the provider.
    fn upgrade(&self, req: lp::UpgradeRequest) -> lp::Result<lp::Object> {
        // As Terraform: configured first (an upgrade may call the cloud's API).
        self.configure_once()?;
        let json = serde_json::to_vec(req.state).map_err(|e| lp::ProviderError::new("Bad state", e.to_string()))?;
        let version = i64::try_from(req.version).map_err(|_| lp::ProviderError::new("Bad schema version", ""))?;
        let new = self.client.upgrade_resource_state(req.type_name, version, &json).map_err(error)?;
        Ok(to_json_object(&new.state).0)
    }

    fn import(&self, req: lp::ImportRequest) -> lp::Result<lp::Object> {
        self.import_answer(req).map(|i| i.state)
    }

    fn import_answer(&self, req: lp::ImportRequest) -> lp::Result<lp::Imported> {
        self.configure_once()?;
        let read = self.client.import_resource(req.type_name, req.id).map_err(error)?;
        Ok(lp::Imported {
            state: to_json_object(&read.state).0,
            private: read.private,
            warnings: read.warnings.into_iter().map(diagnostic).collect(),
        })
    }
}

/// Validate and configure the provider with its block's settings.
fn configure(client: &PluginClient, config: &lp::Object) -> Result<(), lp::ProviderError> {
    let block = &client.schema().map_err(error)?.provider.block;
    let v = from_json_object(config, &BTreeSet::new(), block);
    client.configure(&v).map(|_| ()).map_err(error)
}

/// A provider's diagnostic, an error or a warning, at its attribute.
fn diagnostic(d: crate::Diagnostic) -> lp::ProviderError {
    let e = if d.severity == crate::Severity::Error {
        lp::ProviderError::new(d.summary, d.detail)
    } else {
        lp::ProviderError::warning(d.summary, d.detail)
    };
    match d.attribute {
        Some(a) => e.on(a),
        None => e,
    }
}

fn error(e: Error) -> lp::ProviderError {
    match e {
        Error::Provider(ds) => {
            let mut errors = ds.into_iter().filter(|d| d.severity == crate::Severity::Error);
            let first = errors.next().map(|d| {
                let e = lp::ProviderError::new(d.summary, d.detail);
                match d.attribute {
                    Some(a) => e.on(a),
                    None => e,
                }
            });
            first.unwrap_or_else(|| lp::ProviderError::new("Provider error", ""))
        }
        other => lp::ProviderError::new("Provider plugin error", other.to_string()),
    }
}

/// A name, as the trait's `&'static str`: each distinct name is leaked once
/// per process, however many times providers are started.
fn intern(s: &str) -> &'static str {
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(n) = names.get(s) {
        return n;
    }
    let n: &'static str = Box::leak(s.to_string().into_boxed_str());
    names.insert(n);
    n
}

fn to_trait_schema(s: &schema::ProviderSchema) -> lp::ProviderSchema {
    let conv = |m: &BTreeMap<String, schema::Schema>| {
        m.iter().map(|(k, v)| (intern(k), to_trait_block(v.version.max(0) as u64, &v.block))).collect()
    };
    lp::ProviderSchema { resources: conv(&s.resources), data_sources: conv(&s.data_sources) }
}

fn attr_type(t: &crate::Type) -> lp::AttrType {
    use crate::Type as T;
    match t {
        T::String => lp::AttrType::String,
        T::Number => lp::AttrType::Number,
        T::Bool => lp::AttrType::Bool,
        T::List(_) | T::Set(_) | T::Tuple(_) => lp::AttrType::List,
        T::Map(_) | T::Object { .. } => lp::AttrType::Map,
        T::Dynamic => lp::AttrType::Any,
    }
}

fn to_trait_block(version: u64, b: &schema::Block) -> lp::Schema {
    let mut s = lp::Schema::new(
        version,
        b.attributes.iter().map(|(k, a)| {
            let mut attr = lp::Attribute::new(attr_type(&a.ty));
            attr.required = a.required;
            attr.optional = a.optional;
            attr.computed = a.computed;
            // The trait marks whole attributes: a nested attribute with a
            // sensitive attribute inside is sensitive as a whole.
            attr.sensitive = a.any_sensitive();
            (intern(k), attr)
        }),
    );
    // The legacy SDK's "attributes as blocks": a list or set of objects that
    // the configuration may also write as blocks (`ingress { … }`), as
    // Terraform allows; each object attribute optional there.
    for (k, a) in &b.attributes {
        let (nesting, elem) = match &a.ty {
            crate::Type::List(e) => (lp::Nesting::List, e),
            crate::Type::Set(e) => (lp::Nesting::Set, e),
            _ => continue,
        };
        let crate::Type::Object { attributes, .. } = &**elem else { continue };
        // Protocol 6's nested attributes are written as attributes only.
        if !(a.optional || a.required) || b.blocks.contains_key(k) || a.nested.is_some() {
            continue;
        }
        let inner = lp::Schema::new(
            0,
            attributes.iter().map(|(n, t)| {
                let mut attr = lp::Attribute::new(attr_type(t));
                attr.optional = true;
                (intern(n), attr)
            }),
        );
        s = s.block(intern(k), lp::BlockType::new(nesting, inner));
    }
    for (k, nb) in &b.blocks {
        let nesting = match nb.nesting {
            Nesting::Single | Nesting::Group => lp::Nesting::Single,
            Nesting::List | Nesting::Map => lp::Nesting::List,
            Nesting::Set => lp::Nesting::Set,
        };
        let mut bt = lp::BlockType::new(nesting, to_trait_block(0, &nb.block)).min(nb.min_items as usize);
        bt.max_items = nb.max_items as usize;
        s = s.block(intern(k), bt);
    }
    s
}

/// Whether the value at `path` (a provider's requires_replace path) differs
/// between `prior` and `planned`, or is unknown in part or whole: a path the
/// values do not both have is compared at its attribute.
fn changed_at(prior: &Json, planned: &Json, unknown: &BTreeSet<String>, path: &str) -> bool {
    use lp::path::{json_at, parse_path, Step};
    let steps = parse_path(path);
    // Unknown at the path, inside it, or around it.
    let unknown_here = unknown.iter().any(|u| {
        let u = parse_path(u);
        u.starts_with(&steps) || steps.starts_with(&u)
    });
    if unknown_here {
        return true;
    }
    match (json_at(prior, &steps), json_at(planned, &steps)) {
        (Some(a), Some(b)) => a != b,
        (None, None) => false,
        _ => {
            let top = &steps[..steps.len().min(1)];
            let at = |v: &Json| json_at(v, top).filter(|v| !v.is_null()).cloned();
            !matches!(steps.first(), Some(Step::Key(_))) || at(prior) != at(planned)
        }
    }
}

/// The configuration as a cty value of `block`, each attribute that
/// `partial` knows in part built from what it knows, with an unknown value at
/// each of its unknown paths (a weight known beside an ARN that is not);
/// attributes unknown as a whole are unknown.
pub fn from_json_partial(
    obj: &lp::Object,
    unknown: &BTreeSet<String>,
    partial: lp::Partial,
    block: &schema::Block,
) -> Value {
    use lp::path::{parse_path, Step};
    let mut whole = BTreeSet::new();
    let mut inside: BTreeMap<&str, Vec<Vec<Step>>> = BTreeMap::new();
    for name in unknown {
        let paths: Vec<Vec<Step>> = partial
            .unknown
            .iter()
            .map(|p| parse_path(p))
            .filter(|s| s.len() > 1 && s[0] == Step::Key(name.clone()))
            .map(|s| s[1..].to_vec())
            .collect();
        match partial.config.get(name) {
            Some(_) if !paths.is_empty() => {
                inside.insert(name, paths);
            }
            _ => {
                whole.insert(name.clone());
            }
        }
    }
    let Value::Map(mut m) = from_json_object(obj, &whole, block) else { return Value::Null };
    for (name, paths) in inside {
        let Some(v) = partial.config.get(name) else { continue };
        let mut value = match block.blocks.get(name) {
            Some(nb) => from_json_blocks(v, nb),
            None => Value::from_json(v),
        };
        for steps in paths {
            unknown_at(&mut value, &steps);
        }
        m.insert(name.to_string(), value);
    }
    block.conform(&Value::Map(m))
}

/// Make the value at `steps` unknown; a single block written as a list of
/// one is its first item.
fn unknown_at(v: &mut Value, steps: &[lp::path::Step]) {
    use lp::path::Step;
    let Some((first, rest)) = steps.split_first() else {
        *v = Value::Unknown;
        return;
    };
    match (v, first) {
        (Value::Typed(_, inner), _) => unknown_at(inner, steps),
        (Value::Map(m), Step::Key(k)) => {
            if let Some(x) = m.get_mut(k) {
                unknown_at(x, rest);
            }
        }
        (Value::List(items), Step::Index(i)) => {
            if let Some(x) = items.get_mut(*i) {
                unknown_at(x, rest);
            }
        }
        (v @ Value::Map(_), Step::Index(0)) => unknown_at(v, rest),
        _ => {}
    }
}

/// A JSON object of Landform's as a cty value of `block`: the attributes
/// named in `unknown` unknown, nested blocks brought to their nesting mode
/// (a list of one where a single block is wanted is its one element).
pub fn from_json_object(obj: &lp::Object, unknown: &BTreeSet<String>, block: &schema::Block) -> Value {
    let mut out = BTreeMap::new();
    for (k, v) in obj {
        let value = match block.blocks.get(k) {
            Some(nb) => from_json_blocks(v, nb),
            None => Value::from_json(v),
        };
        out.insert(k.clone(), value);
    }
    for k in unknown {
        out.insert(k.clone(), Value::Unknown);
    }
    block.conform(&Value::Map(out))
}

fn from_json_blocks(v: &Json, nb: &schema::NestedBlock) -> Value {
    let one = |o: &Json| match o {
        Json::Object(m) => from_json_object(m, &BTreeSet::new(), &nb.block),
        other => Value::from_json(other),
    };
    match (nb.nesting, v) {
        (_, Json::Null) => Value::Null,
        (Nesting::Single | Nesting::Group, Json::Array(items)) => items.first().map(one).unwrap_or(Value::Null),
        (Nesting::Single | Nesting::Group, _) => one(v),
        (Nesting::List | Nesting::Set, Json::Array(items)) => Value::List(items.iter().map(one).collect()),
        (Nesting::List | Nesting::Set, Json::Object(_)) => Value::List(vec![one(v)]),
        (Nesting::Map, Json::Object(m)) => Value::Map(m.iter().map(|(k, i)| (k.clone(), one(i))).collect()),
        _ => Value::from_json(v),
    }
}

/// A planned cty object of type `ty` as Landform's JSON object: null
/// attributes left out; an attribute unknown as a whole named in the
/// unknown set; one known in part kept with null at each unknown inside it,
/// whose paths are in the unknown set (a set's elements by their place in
/// the provider's answer, which is cty's order of the set, as Terraform's
/// plan shows them).
pub fn to_json_object_typed(v: &Value, ty: &crate::Type) -> (lp::Object, BTreeSet<String>) {
    use lp::path::{path_text, Step};
    fn walk(v: &Value, ty: &crate::Type, at: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
        use crate::Type as T;
        match (v, ty) {
            (Value::Typed(t, inner), _) => walk(inner, t, at, out),
            (Value::Unknown, _) => out.push(at.clone()),
            (Value::List(items), _) => {
                for (i, x) in items.iter().enumerate() {
                    let t = match ty {
                        T::List(e) | T::Set(e) => e,
                        T::Tuple(ts) => ts.get(i).unwrap_or(&T::Dynamic),
                        _ => &T::Dynamic,
                    };
                    at.push(Step::Index(i));
                    walk(x, t, at, out);
                    at.pop();
                }
            }
            (Value::Map(m), _) => {
                for (k, x) in m {
                    let t = match ty {
                        T::Map(e) => e,
                        T::Object { attributes, .. } => attributes.get(k).unwrap_or(&T::Dynamic),
                        _ => &T::Dynamic,
                    };
                    at.push(Step::Key(k.clone()));
                    walk(x, t, at, out);
                    at.pop();
                }
            }
            _ => {}
        }
    }
    let (mut obj, mut unknown) = to_json_object(v);
    let crate::Type::Object { attributes, .. } = ty else { return (obj, unknown) };
    let m = match v {
        Value::Typed(_, inner) => &**inner,
        v => v,
    };
    let Value::Map(m) = m else { return (obj, unknown) };
    for (k, x) in m {
        if !unknown.contains(k) || matches!(x, Value::Unknown) {
            continue;
        }
        let mut paths = Vec::new();
        let mut at = vec![Step::Key(k.clone())];
        walk(x, attributes.get(k).unwrap_or(&crate::Type::Dynamic), &mut at, &mut paths);
        // Unknown as a whole after all (a set, a typed unknown).
        if paths.iter().any(|p| p.len() == 1) {
            continue;
        }
        let mut known = Json::Object(lp::Object::new());
        if let Json::Object(o) = &mut known {
            o.insert(k.clone(), x.to_json_with(&Json::Null));
        }
        for p in &paths {
            if let Some(at) = lp::path::json_at_mut(&mut known, p) {
                *at = Json::Null;
            }
        }
        unknown.remove(k);
        unknown.extend(paths.iter().map(|p| path_text(p)));
        if let Json::Object(mut o) = known {
            if let Some(value) = o.remove(k) {
                obj.insert(k.clone(), value);
            }
        }
    }
    (obj, unknown)
}

/// A cty object as Landform's JSON object: null attributes left out, and
/// attributes with an unknown anywhere inside named in the unknown set.
pub fn to_json_object(v: &Value) -> (lp::Object, BTreeSet<String>) {
    let mut obj = lp::Object::new();
    let mut unknown = BTreeSet::new();
    if let Some(m) = match v {
        Value::Map(m) => Some(m),
        Value::Typed(_, inner) => match &**inner {
            Value::Map(m) => Some(m),
            _ => None,
        },
        _ => None,
    } {
        for (k, v) in m {
            if v.has_unknown() {
                unknown.insert(k.clone());
            } else if !v.is_null() {
                obj.insert(k.clone(), v.to_json_with(&Json::Null));
            }
        }
    }
    (obj, unknown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Type;
    use serde_json::json;

    fn attr(ty: Type, optional: bool, computed: bool) -> schema::Attribute {
        schema::Attribute {
            ty,
            description: String::new(),
            required: false,
            optional,
            computed,
            sensitive: false,
            deprecated: false,
            write_only: false,
            nested: None,
        }
    }

    /// A listener's shape: `default_action` blocks holding a `forward` block
    /// holding a set of `target_group` blocks.
    fn listener() -> schema::Block {
        let group = schema::Block {
            attributes: [
                ("arn".to_string(), attr(Type::String, true, false)),
                ("weight".to_string(), attr(Type::Number, true, false)),
            ]
            .into(),
            ..Default::default()
        };
        let forward = schema::Block {
            blocks: [(
                "target_group".to_string(),
                schema::NestedBlock { nesting: Nesting::Set, min_items: 0, max_items: 0, block: group },
            )]
            .into(),
            ..Default::default()
        };
        let action = schema::Block {
            attributes: [("type".to_string(), attr(Type::String, true, false))].into(),
            blocks: [(
                "forward".to_string(),
                schema::NestedBlock { nesting: Nesting::List, min_items: 0, max_items: 1, block: forward },
            )]
            .into(),
            ..Default::default()
        };
        schema::Block {
            attributes: [
                ("port".to_string(), attr(Type::Number, true, false)),
                ("arn".to_string(), attr(Type::String, false, true)),
            ]
            .into(),
            blocks: [(
                "default_action".to_string(),
                schema::NestedBlock { nesting: Nesting::List, min_items: 1, max_items: 0, block: action },
            )]
            .into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_block_known_in_part_goes_to_the_provider_and_comes_back_with_its_unknowns_at_their_paths() {
        let block = listener();
        let partial = json!({"port": 80, "default_action": [{"type": "forward", "forward": [{"target_group": [
            {"arn": null, "weight": 90}, {"arn": "arn:green", "weight": 10}]}]}]});
        let config = json!({"port": 80});
        let unknown: BTreeSet<String> = ["default_action".to_string()].into();
        let paths: BTreeSet<String> = ["default_action[0].forward[0].target_group[0].arn".to_string()].into();
        let p = lp::Partial { config: partial.as_object().unwrap(), unknown: &paths };
        let v = from_json_partial(config.as_object().unwrap(), &unknown, p, &block);
        let groups = &v.get("default_action").unwrap();
        let Value::List(actions) = groups else { panic!("{v:?}") };
        let Some(Value::List(forward)) = actions[0].get("forward") else { panic!("{v:?}") };
        let Some(Value::List(tgs)) = forward[0].get("target_group") else { panic!("{v:?}") };
        assert_eq!(tgs[0].get("arn"), Some(&Value::Unknown));
        assert_eq!(tgs[0].get("weight").unwrap().to_json_with(&Json::Null), json!(90));
        assert_eq!(tgs[1].get("arn"), Some(&Value::String("arn:green".into())));

        // As planned: the listener's own ARN unknown as a whole, the group's inside.
        let mut planned = v.clone();
        if let Value::Map(m) = &mut planned {
            m.insert("arn".into(), Value::Unknown);
        }
        let (obj, unknown) = to_json_object_typed(&planned, &block.implied_type());
        let want: BTreeSet<String> =
            ["arn".to_string(), "default_action[0].forward[0].target_group[0].arn".to_string()].into();
        assert_eq!(unknown, want);
        assert_eq!(obj["default_action"][0]["forward"][0]["target_group"][0], json!({"arn": null, "weight": 90}));
        assert!(!obj.contains_key("arn"));
    }

    #[test]
    fn a_replacement_is_forced_only_where_the_value_at_its_path_changes_or_is_unknown() {
        let prior = json!({"vpc_id": "vpc-1", "default_action": [{"forward": [{"target_group": [{"arn": "a", "weight": 1}]}]}]});
        let same = prior.clone();
        let none = BTreeSet::new();
        assert!(!changed_at(&prior, &same, &none, "vpc_id"));
        assert!(!changed_at(&prior, &same, &none, "default_action[0].forward[0].target_group[0].weight"));
        let mut other = prior.clone();
        other["default_action"][0]["forward"][0]["target_group"][0]["weight"] = json!(2);
        assert!(changed_at(&prior, &other, &none, "default_action[0].forward[0].target_group[0].weight"));
        // Unknown in part: only the paths at, inside or around the unknown.
        let unknown: BTreeSet<String> = ["default_action[0].forward[0].target_group[0].arn".to_string()].into();
        assert!(changed_at(&prior, &same, &unknown, "default_action"));
        assert!(changed_at(&prior, &same, &unknown, "default_action[0].forward[0].target_group[0].arn"));
        assert!(!changed_at(&prior, &same, &unknown, "vpc_id"));
        assert!(!changed_at(&prior, &same, &unknown, "default_action[0].forward[0].target_group[0].weight"));
    }
}

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
use std::sync::{Mutex, OnceLock};

/// A running plugin registered under a name (`aws`).
pub struct PluginProvider {
    name: &'static str,
    client: PluginClient,
    schema: lp::ProviderSchema,
    /// The provider block's settings, given to Configure before the first call that needs it.
    config: lp::Object,
    configured: OnceLock<Result<(), lp::ProviderError>>,
    /// The provider's source address (`registry.terraform.io/hashicorp/aws`):
    /// what Landform knows of its types beyond the schema (rollout switches).
    source: String,
}

impl PluginProvider {
    /// Start the plugin and read its schema; `config` is its provider
    /// block, nested blocks as lists of objects.
    pub fn start(name: &str, opts: &StartOptions, config: lp::Object) -> Result<PluginProvider, Error> {
        let client = PluginClient::start(opts)?;
        let schema = to_trait_schema(client.schema()?);
        Ok(PluginProvider {
            name: intern(name),
            client,
            schema,
            config,
            configured: OnceLock::new(),
            source: String::new(),
        })
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
        self.configured
            .get_or_init(|| {
                let block = &self.client.schema().map_err(error)?.provider.block;
                let v = from_json_object(&self.config, &BTreeSet::new(), block);
                self.client.configure(&v).map(|_| ()).map_err(error)
            })
            .clone()
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
        let config = from_json_object(req.config, req.unknown, block);
        let plan = self.client.plan_resource(req.type_name, &prior, &config, req.prior_private).map_err(error)?;
        let private = self.client.pack_plan(req.type_name, &plan).map_err(error)?;
        let (planned, unknown) = to_json_object(&plan.planned_state);
        // As Terraform does: a path forces replacement only where the value changes.
        let mut requires_replace = Vec::new();
        if let Some(p) = req.prior {
            for path in plan.requires_replace {
                let top = path.split(['.', '[']).next().unwrap_or("").to_string();
                let changed = unknown.contains(&top)
                    || p.get(&top).unwrap_or(&Json::Null) != planned.get(&top).unwrap_or(&Json::Null);
                if changed && !requires_replace.contains(&path) {
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

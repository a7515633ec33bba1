//! The provider trait: what the engine knows of a provider. One request and
//! response pair per operation (schema, validate, plan, apply, read, import).
//! Values cross this boundary as JSON objects; attributes whose value is known
//! only after apply are listed by name in `unknown` and absent from the object.
//!
//! Calls are synchronous: the engine runs each on a blocking thread under its
//! own parallelism limit, so a provider may block (run a command, wait on a
//! network call) without holding up anything else.

pub mod files;
pub mod forward;
pub mod path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

pub type Object = Map<String, Value>;

/// The type of an attribute, for validation and for plan rendering.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttrType {
    String,
    Number,
    Bool,
    List,
    Map,
    Any,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Attribute {
    pub ty: AttrType,
    /// Must be set in the configuration.
    pub required: bool,
    /// Set by the provider.
    pub computed: bool,
    /// With `computed`: the configuration may set it too, and when it does
    /// not, the provider's value (a default) stays.
    #[serde(default)]
    pub optional: bool,
    /// A change to this attribute replaces the resource.
    pub force_new: bool,
    /// Never shown in plans or output.
    pub sensitive: bool,
    pub description: &'static str,
}

impl Attribute {
    pub const fn new(ty: AttrType) -> Attribute {
        Attribute {
            ty,
            required: false,
            computed: false,
            optional: false,
            force_new: false,
            sensitive: false,
            description: "",
        }
    }
    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }
    pub const fn computed(mut self) -> Self {
        self.computed = true;
        self
    }
    /// Computed, and settable by the configuration (AWS's defaults).
    pub const fn optional_computed(mut self) -> Self {
        self.computed = true;
        self.optional = true;
        self
    }
    /// Whether the configuration may set it.
    pub const fn is_argument(&self) -> bool {
        !self.computed || self.required || self.optional
    }
    pub const fn force_new(mut self) -> Self {
        self.force_new = true;
        self
    }
    pub const fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }
    pub const fn describe(mut self, d: &'static str) -> Self {
        self.description = d;
        self
    }
}

/// The schema of one resource or data source type: its attributes, and the
/// nested blocks written inside it (`health_check { ... }`).
#[derive(Clone, Debug, Default)]
pub struct Schema {
    pub version: u64,
    pub attributes: BTreeMap<&'static str, Attribute>,
    pub blocks: BTreeMap<&'static str, BlockType>,
}

/// How a nested block repeats, and how its value looks: `Single` is an object
/// (or null when absent), `List` a list of objects in the order written, `Set`
/// a list of objects whose order does not matter (kept sorted).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Nesting {
    Single,
    List,
    Set,
}

/// A nested block type.
#[derive(Clone, Debug)]
pub struct BlockType {
    pub nesting: Nesting,
    pub min_items: usize,
    /// 0 for no limit.
    pub max_items: usize,
    /// Any change inside the block replaces the resource.
    pub force_new: bool,
    /// The provider fills it in when the configuration leaves it out (AWS's
    /// defaults for a health check): then the prior value stays.
    pub computed: bool,
    pub block: Schema,
}

impl BlockType {
    pub fn new(nesting: Nesting, block: Schema) -> BlockType {
        let max_items = if nesting == Nesting::Single { 1 } else { 0 };
        BlockType { nesting, min_items: 0, max_items, force_new: false, computed: false, block }
    }
    pub fn computed(mut self) -> Self {
        self.computed = true;
        self
    }
    pub fn min(mut self, n: usize) -> Self {
        self.min_items = n;
        self
    }
    pub fn max(mut self, n: usize) -> Self {
        self.max_items = n;
        self
    }
    pub fn force_new(mut self) -> Self {
        self.force_new = true;
        self
    }
}

impl Schema {
    pub fn new(version: u64, attrs: impl IntoIterator<Item = (&'static str, Attribute)>) -> Schema {
        Schema { version, attributes: attrs.into_iter().collect(), blocks: BTreeMap::new() }
    }

    /// Add a nested block type.
    pub fn block(mut self, name: &'static str, block: BlockType) -> Schema {
        self.blocks.insert(name, block);
        self
    }

    /// Whether `name` is an argument or a block of this schema.
    pub fn has(&self, name: &str) -> bool {
        self.attributes.contains_key(name) || self.blocks.contains_key(name)
    }

    /// The names of the sensitive attributes.
    pub fn sensitive(&self) -> BTreeSet<String> {
        self.attributes.iter().filter(|(_, a)| a.sensitive).map(|(k, _)| k.to_string()).collect()
    }
}

/// Everything a provider offers, by type name.
#[derive(Clone, Debug, Default)]
pub struct ProviderSchema {
    pub resources: BTreeMap<&'static str, Schema>,
    pub data_sources: BTreeMap<&'static str, Schema>,
}

impl ProviderSchema {
    /// A resource type's schema, or the error a provider gives for a type it does not offer.
    pub fn resource(&self, type_name: &str) -> Result<&Schema> {
        self.resources.get(type_name).ok_or_else(|| ProviderError::new("Unknown resource type", type_name.to_string()))
    }
}

/// An error from a provider, said to a person: what failed and what to do.
#[derive(Clone, Debug, PartialEq)]
pub struct ProviderError {
    pub summary: String,
    pub detail: String,
    /// The attribute the error is about, if one.
    pub attribute: Option<String>,
    /// A warning, not an error (from `validate`: a deprecated argument, say).
    pub warning: bool,
}

impl ProviderError {
    pub fn new(summary: impl Into<String>, detail: impl Into<String>) -> ProviderError {
        ProviderError { summary: summary.into(), detail: detail.into(), attribute: None, warning: false }
    }

    /// A warning `validate` gives: the plan goes on, and shows it.
    pub fn warning(summary: impl Into<String>, detail: impl Into<String>) -> ProviderError {
        ProviderError { warning: true, ..ProviderError::new(summary, detail) }
    }

    pub fn on(mut self, attribute: impl Into<String>) -> ProviderError {
        self.attribute = Some(attribute.into());
        self
    }
}

impl std::fmt::Display for ProviderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.detail.is_empty() {
            write!(f, "{}", self.summary)
        } else {
            write!(f, "{}: {}", self.summary, self.detail)
        }
    }
}

pub type Result<T> = std::result::Result<T, ProviderError>;

pub struct ConfigureRequest<'a> {
    pub config: &'a Object,
}

pub struct ValidateRequest<'a> {
    pub type_name: &'a str,
    pub config: &'a Object,
    pub unknown: &'a BTreeSet<String>,
}

pub struct PlanRequest<'a> {
    pub type_name: &'a str,
    /// The current state, if the resource exists.
    pub prior: Option<&'a Object>,
    /// The configuration, without meta-arguments; unknown attributes are absent.
    pub config: &'a Object,
    pub unknown: &'a BTreeSet<String>,
    /// The provider's private data stored with the prior object (empty when
    /// there is none): what its last apply returned in `ApplyResponse::private`.
    pub prior_private: &'a [u8],
    /// The configuration again with what is known of the attributes in
    /// `unknown` (a block whose weight is known and whose ARN is not), for a
    /// provider that plans with unknown values at any depth; `None` when
    /// every attribute in `unknown` is unknown as a whole.
    pub partial: Option<Partial<'a>>,
}

/// A configuration with attributes known in part.
#[derive(Clone, Copy, Debug)]
pub struct Partial<'a> {
    /// Every attribute, each unknown value inside one as null.
    pub config: &'a Object,
    /// Where the unknown values are: an attribute's name when it is unknown
    /// as a whole, else the path of each inside it
    /// (`default_action[0].forward[0].target_group[1].arn`, `path::parse_path`).
    pub unknown: &'a BTreeSet<String>,
}

#[derive(Clone, Debug, Default)]
pub struct PlanResponse {
    /// What the state will be after apply, as far as it is known now: an
    /// unknown value inside an attribute known in part is null here.
    pub planned: Object,
    /// What is known only after apply: attributes by name, and the values
    /// inside an attribute known in part by path (`path::parse_path`).
    pub unknown: BTreeSet<String>,
    /// Attributes whose change forces replacement.
    pub requires_replace: Vec<String>,
    /// The provider's warnings about this change (`ProviderError::warning`):
    /// the plan goes on, and shows them.
    pub warnings: Vec<ProviderError>,
    /// Opaque to the engine: the provider's own record of this planned
    /// change, handed back unchanged to the apply that carries it out
    /// (`ApplyRequest::planned`). A plugin keeps its planned state there as
    /// it answered it, and its `planned_private`.
    pub private: Vec<u8>,
}

pub struct ApplyRequest<'a> {
    pub type_name: &'a str,
    /// `None` to create.
    pub prior: Option<&'a Object>,
    /// `None` to delete; otherwise the fully known configuration.
    pub config: Option<&'a Object>,
    /// The private data (`PlanResponse::private`) of the plan this apply
    /// carries out, made by this provider with this prior and configuration
    /// at apply time (Terraform's final plan): the provider applies that plan
    /// rather than planning again. `None` for a delete and for writes the
    /// engine makes itself (a rollout's weights): the provider plans first.
    pub planned: Option<&'a [u8]>,
    /// The private data stored with the prior object (empty when none).
    pub prior_private: &'a [u8],
}

#[derive(Clone, Debug, Default)]
pub struct ApplyResponse {
    /// The new state; `None` after a delete.
    pub state: Option<Object>,
    /// The provider's private data about the new object, stored with it in
    /// the state and handed back to its next plan, apply and read.
    pub private: Vec<u8>,
    /// The provider's warnings about what it did: shown, the apply goes on.
    pub warnings: Vec<ProviderError>,
}

pub struct ReadRequest<'a> {
    pub type_name: &'a str,
    pub prior: &'a Object,
    /// The private data stored with the object (empty when none).
    pub private: &'a [u8],
}

/// An object stored by an older version of the resource type's schema
/// (`Schema::version`), to be brought to the current one.
pub struct UpgradeRequest<'a> {
    pub type_name: &'a str,
    /// The schema version the object was written with.
    pub version: u64,
    /// The object as stored.
    pub state: &'a Object,
}

/// What a refresh found.
#[derive(Clone, Debug, PartialEq)]
pub enum ReadResponse {
    /// As recorded: the common case, answered without copying the state.
    Unchanged,
    /// Changed outside Landform; this is how it is now.
    Changed(Object),
    /// Deleted outside Landform.
    Gone,
}

/// A refresh's answer with what the provider said beside it.
#[derive(Clone, Debug, PartialEq)]
pub struct ReadAnswer {
    pub response: ReadResponse,
    /// The provider's private data about the object now; `None` when it
    /// keeps none apart from what the state has.
    pub private: Option<Vec<u8>>,
    /// Its warnings: shown, the command goes on.
    pub warnings: Vec<ProviderError>,
}

/// An imported object with what the provider said beside it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Imported {
    pub state: Object,
    /// The provider's private data about it, kept with it in the state.
    pub private: Vec<u8>,
    /// Its warnings: shown, the import goes on.
    pub warnings: Vec<ProviderError>,
}

pub struct ReadDataRequest<'a> {
    pub type_name: &'a str,
    pub config: &'a Object,
}

pub struct SampleRequest<'a> {
    pub type_name: &'a str,
    /// The switch as the state has it.
    pub state: &'a Object,
    /// The target: a server name, a target group's ARN.
    pub target: &'a str,
    /// Whether traffic counts are wanted, or only health (counts may cost
    /// API calls, and permissions a health check does not need).
    pub counts: bool,
}

pub struct IsolateRequest<'a> {
    pub type_name: &'a str,
    /// The switch as the state has it.
    pub state: &'a Object,
    /// The target: a server name.
    pub target: &'a str,
    /// Cut it off (`true`) or let it take traffic again.
    pub on: bool,
}

/// Counters since the target started: a rollout compares two samples.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sample {
    /// Requests sent to the target, including those that never got an answer
    /// from it (connection refused or failed, response errors).
    pub requests: u64,
    /// Requests that failed: 5xx answers and connection or response errors.
    pub errors: u64,
    /// Whether the target can take traffic (`None`: no health check tells).
    pub healthy: Option<bool>,
    /// The target's running average response time in milliseconds, when the
    /// switch measures one. Not an interval's: HAProxy decays it over about
    /// 512 responses; see `responses`.
    pub response_ms: Option<f64>,
    /// The responses the running average has seen since the counters started
    /// (HAProxy's `req_tot`): with two samples, the interval's own mean can
    /// be recovered (`landform_engine::rollout::interval_response_ms`).
    pub responses: u64,
    /// Which run of the switch's process the counters are from (HAProxy's
    /// pid and start time): a new one is a restart or reload, which loses the
    /// weights set at run time and starts the counters again.
    pub generation: Option<u64>,
}

/// A resource type whose weights split traffic between targets (servers, target
/// groups): what a rollout moves traffic on. The engine knows a switch only
/// through this capability (`Provider::switch`), never by its type's name.
pub trait TrafficSwitch: Send + Sync {
    /// The attribute that holds the weights: a rollout owns it, so plans and
    /// drift keep the value the state has there.
    fn weights_attribute(&self) -> &'static str;
    /// The weights by target (a server's name, a target group's ARN) in the
    /// switch's attributes; `None` when they have nothing weighted to read
    /// them from (an ALB listener without a weighted forward).
    fn weights(&self, attrs: &Object) -> Option<Object>;
    /// `attrs` with each target of `weights` given its weight; other targets
    /// are kept, and a target the switch lost (changed by hand) is put back.
    fn with_weights(&self, attrs: &Object, weights: &Object) -> Object;
    /// The largest weight a target can have (HAProxy 256, an ALB 999).
    fn max_weight(&self) -> u32;
    /// Whether the targets are listed apart from their weights (an ALB
    /// forward's target groups, which a person may edit down to one): then a
    /// switch with fewer than two targets was changed outside Landform. Else
    /// (HAProxy's servers, the weights the configuration sets) a target that
    /// is not there is a mistake in the configuration.
    fn lone_target_is_drift(&self) -> bool;
    /// The words for a switch without a target named in a rollout:
    /// "manages no server", "forwards to no target group".
    fn lacks_target(&self) -> &'static str;
    /// The rollout metric source that reads this switch's own statistics
    /// (through `Provider::sample`), if it has one.
    fn metric_source(&self) -> Option<MetricSource>;
}

/// A rollout metric source a switch's provider measures (`Provider::sample`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetricSource {
    /// Its name in a metric block (`source = "haproxy"`).
    pub name: &'static str,
    /// What it measures, for people.
    pub description: &'static str,
    /// Whether it measures response times too (`stat = "response_time"`,
    /// from `Sample::response_ms`), not only error rates.
    pub response_time: bool,
}

pub struct ImportRequest<'a> {
    pub type_name: &'a str,
    pub id: &'a str,
}

/// A provider. Implementations must be safe to call from many threads at once.
pub trait Provider: Send + Sync {
    /// The name used in configuration: `local`, `aws`, `haproxy`.
    fn name(&self) -> &'static str;
    fn schema(&self) -> &ProviderSchema;
    /// Take the provider block's settings (region, endpoint…).
    fn configure(&self, _req: ConfigureRequest) -> Result<()> {
        Ok(())
    }
    /// Checks beyond the schema (a value out of range, say), and warnings
    /// (`ProviderError::warning`: a deprecated argument).
    fn validate(&self, _req: ValidateRequest) -> Vec<ProviderError> {
        Vec::new()
    }
    fn plan(&self, req: PlanRequest) -> Result<PlanResponse>;
    fn apply(&self, req: ApplyRequest) -> Result<ApplyResponse>;
    /// Refresh: the resource as it is now.
    fn read(&self, req: ReadRequest) -> Result<ReadResponse>;
    /// `read`, with the private data and warnings of a provider that has
    /// them (a plugin's ReadResource): what the engine calls.
    fn read_answer(&self, req: ReadRequest) -> Result<ReadAnswer> {
        Ok(ReadAnswer { response: self.read(req)?, private: None, warnings: Vec::new() })
    }
    /// Look for an object that an interrupted apply may have created, from
    /// the configuration it was being created with (`req.prior`): `Changed`
    /// with the object as it is, to adopt it, or `Gone` when there is none or
    /// the provider cannot tell (it is then created again).
    fn adopt(&self, req: ReadRequest) -> Result<ReadResponse> {
        let _ = req;
        Ok(ReadResponse::Gone)
    }
    fn read_data(&self, req: ReadDataRequest) -> Result<Object>;
    /// Bring an object stored by an older schema version to the current
    /// schema (Terraform's UpgradeResourceState), before anything else reads
    /// it. The default keeps it as it is: a provider whose schema never
    /// changed shape has nothing to do.
    fn upgrade(&self, req: UpgradeRequest) -> Result<Object> {
        Ok(req.state.clone())
    }
    /// Whether `upgrade` is asked for every stored object, its schema
    /// version current or not, as Terraform asks a plugin (which drops
    /// attributes its schema no longer has: a provider release older than
    /// the one that wrote the state). The default: only an older version.
    fn upgrades_every_object(&self) -> bool {
        false
    }
    /// Traffic counters of one target behind a switch (a server of a
    /// haproxy_backend), for a rollout's analysis: `None` when the provider
    /// has none.
    fn sample(&self, req: SampleRequest) -> Result<Option<Sample>> {
        let _ = req;
        Ok(None)
    }
    /// Cut one target behind a switch off from all traffic, sessions that
    /// stick to it included (`on`), or let it take traffic again (`!on`):
    /// what a rollout's abort and rollback do to the canary after its weight
    /// is 0, since a weight of 0 still takes persistent sessions (HAProxy's
    /// cookie persistence). `false` when the provider cannot.
    fn isolate(&self, req: IsolateRequest) -> Result<bool> {
        let _ = req;
        Ok(false)
    }
    /// The traffic switch a resource type is, for rollouts: `None` for a
    /// type that is not one.
    fn switch(&self, type_name: &str) -> Option<&dyn TrafficSwitch> {
        let _ = type_name;
        None
    }
    /// `import`, with the private data and warnings of a provider that has
    /// them (a plugin's ImportResourceState and ReadResource): what the
    /// engine calls.
    fn import_answer(&self, req: ImportRequest) -> Result<Imported> {
        Ok(Imported { state: self.import(req)?, ..Imported::default() })
    }
    fn import(&self, req: ImportRequest) -> Result<Object> {
        Err(ProviderError::new(
            "Import not supported",
            format!("Resources of type {} cannot be imported.", req.type_name),
        ))
    }
}

/// The blocks of a value as a list of objects, whatever their nesting.
pub fn block_items(v: &Value) -> Vec<&Object> {
    match v {
        Value::Object(o) => vec![o],
        Value::Array(items) => items.iter().filter_map(Value::as_object).collect(),
        _ => Vec::new(),
    }
}

/// What the configuration leaves out of a block and the provider computes
/// keeps its prior value: a whole computed block, and computed attributes
/// inside each item (matched by position).
pub fn keep_computed(block: &BlockType, prior: &Value, config: &mut Value) {
    if config.is_null() || config.as_array().is_some_and(Vec::is_empty) {
        if block.computed && !prior.is_null() {
            *config = prior.clone();
        }
        return;
    }
    let prior_items = block_items(prior);
    let fill = |i: usize, item: &mut Object| {
        let Some(p) = prior_items.get(i) else { return };
        for (name, attr) in &block.block.attributes {
            if attr.computed && item.get(*name).is_none_or(Value::is_null) {
                if let Some(v) = p.get(*name) {
                    item.insert(name.to_string(), v.clone());
                }
            }
        }
        for (name, inner) in &block.block.blocks {
            let mut v = item.get(*name).cloned().unwrap_or(Value::Null);
            keep_computed(inner, p.get(*name).unwrap_or(&Value::Null), &mut v);
            if !v.is_null() {
                item.insert(name.to_string(), v);
            }
        }
    };
    match config {
        Value::Object(o) => fill(0, o),
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                if let Value::Object(o) = item {
                    fill(i, o);
                }
            }
        }
        _ => {}
    }
}

/// The paths of force-new attributes inside a block that changed
/// (`health_check[0].port`; a single block has no index).
fn nested_replace(path: &str, block: &BlockType, before: &Value, after: &Value, out: &mut Vec<String>) {
    let (b, a) = (block_items(before), block_items(after));
    for i in 0..b.len().max(a.len()) {
        let item = if block.nesting == Nesting::Single { path.to_string() } else { format!("{path}[{i}]") };
        let (bo, ao) = (b.get(i).copied(), a.get(i).copied());
        for (name, attr) in &block.block.attributes {
            let bv = bo.and_then(|o| o.get(*name)).unwrap_or(&Value::Null);
            let av = ao.and_then(|o| o.get(*name)).unwrap_or(&Value::Null);
            if attr.force_new && bv != av {
                out.push(format!("{item}.{name}"));
            }
        }
        for (name, inner) in &block.block.blocks {
            let bv = bo.and_then(|o| o.get(*name)).unwrap_or(&Value::Null);
            let av = ao.and_then(|o| o.get(*name)).unwrap_or(&Value::Null);
            if inner.force_new && bv != av {
                out.push(format!("{item}.{name}"));
            } else {
                nested_replace(&format!("{item}.{name}"), inner, bv, av, out);
            }
        }
    }
}

/// The default plan: configuration over prior state; computed attributes stay
/// from the prior state or, on create, become unknown; changed force-new
/// attributes require replacement.
pub fn default_plan(schema: &Schema, req: &PlanRequest) -> PlanResponse {
    let mut planned = Object::new();
    let mut unknown: BTreeSet<String> = req.unknown.clone();
    let mut requires_replace = Vec::new();
    for (name, attr) in &schema.attributes {
        let name = name.to_string();
        if let Some(v) = req.config.get(&name) {
            if !v.is_null() || !attr.computed {
                planned.insert(name.clone(), v.clone());
            }
        }
        if attr.force_new {
            if let Some(prior) = req.prior {
                let before = prior.get(&name).unwrap_or(&Value::Null);
                let changed = if req.unknown.contains(&name) {
                    true
                } else {
                    req.config.get(&name).unwrap_or(&Value::Null) != before
                };
                if changed && !(attr.computed && req.config.get(&name).is_none() && !req.unknown.contains(&name)) {
                    requires_replace.push(name.clone());
                }
            }
        }
    }
    for (name, block) in &schema.blocks {
        let mut v = req.config.get(*name).cloned().unwrap_or(Value::Null);
        if let Some(prior) = req.prior {
            keep_computed(block, prior.get(*name).unwrap_or(&Value::Null), &mut v);
            let before = prior.get(*name).unwrap_or(&Value::Null);
            if !req.unknown.contains(*name) {
                if block.force_new && before != &v {
                    requires_replace.push(name.to_string());
                } else {
                    nested_replace(name, block, before, &v, &mut requires_replace);
                }
            }
        }
        planned.insert(name.to_string(), v);
    }
    let replacing = !requires_replace.is_empty();
    for (name, attr) in &schema.attributes {
        let name = name.to_string();
        if !attr.computed || planned.contains_key(&name) || unknown.contains(&name) {
            continue;
        }
        match req.prior {
            Some(prior) if !replacing => {
                if let Some(v) = prior.get(&name) {
                    planned.insert(name, v.clone());
                }
            }
            _ => {
                unknown.insert(name);
            }
        }
    }
    PlanResponse { planned, unknown, requires_replace, warnings: Vec::new(), private: Vec::new() }
}

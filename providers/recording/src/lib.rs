//! A provider for the engine's tests: it records every call made to it, in
//! order (plan, create, update, delete, read, adopt, read_data, import, with
//! the object's id and name and the values sent), and behaves as each test
//! configures it per resource type: succeed, fail on an object of a given
//! name, return given computed values. It keeps the objects it made in a
//! small world of its own, so refresh, adoption and import find them.
//!
//! A test seam, not a stand-in for a server: it takes a real provider's place
//! in the engine's unit and golden tests (`engine/tests/apply_golden.rs`),
//! where what matters is which calls the engine makes and in what order.
//!
//! Its types, named after the provider (`test`):
//! - `test_thing` — `name` (names the object in tests and in ids), `value`
//!   (any), `tags` (a map), `key` (a change replaces the object); computed
//!   `id` (`NAME.N`, N counting the creates of that name on from the highest
//!   N it holds) and `out`
//!   (`NAME-out` unless the type's `Behaviour::computed` says otherwise).
//! - `test_data` (data source) — `name`, `input` (any); computed `id` and
//!   `result` (the input, unless `Behaviour::computed` says otherwise).
//! - `test_switch` — a rollout's traffic switch (`Provider::switch`): `name`,
//!   `weights` (target → weight, at most 100); computed `id` and `out`, as a
//!   `test_thing`. Its metric source `test` reads counters from `sample`:
//!   each sample of a target with counts adds 100 requests and no errors,
//!   and every target is healthy.

use landform_provider::{
    default_plan, ApplyRequest, ApplyResponse, AttrType, Attribute, ImportRequest, MetricSource, Object, PlanRequest,
    PlanResponse, Provider, ProviderError, ProviderSchema, ReadDataRequest, ReadRequest, ReadResponse, Result, Sample,
    SampleRequest, Schema, TrafficSwitch,
};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

/// How the provider answers for one type.
#[derive(Clone, Debug, Default)]
pub struct Behaviour {
    /// Creating, updating or deleting an object whose `name` is one of these
    /// fails, as a real provider's error would.
    pub fail_apply: BTreeSet<String>,
    /// Values of computed attributes returned on create (and by reads of
    /// data sources), instead of the defaults.
    pub computed: Object,
}

/// What a call was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Plan,
    Create,
    Update,
    Delete,
    Read,
    Adopt,
    ReadData,
    Import,
    Sample,
}

impl Op {
    pub fn word(self) -> &'static str {
        match self {
            Op::Plan => "plan",
            Op::Create => "create",
            Op::Update => "update",
            Op::Delete => "delete",
            Op::Read => "read",
            Op::Adopt => "adopt",
            Op::ReadData => "read_data",
            Op::Import => "import",
            Op::Sample => "sample",
        }
    }
}

/// One call, as the provider saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub op: Op,
    pub type_name: String,
    /// The object's id: the prior object's, or the one a create made.
    pub id: Option<String>,
    /// The object's `name`, from the configuration or the prior object.
    pub name: Option<String>,
    /// The values sent: the configuration (plan, create, update, read_data),
    /// none for a delete or a read.
    pub config: Option<Object>,
    /// What the provider answered, in words: `create`, `update`,
    /// `replace (key)`, `no-op` for a plan; `ok`, `unchanged`, `changed`,
    /// `gone`, or `failed: WHY`.
    pub outcome: String,
}

impl std::fmt::Display for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.op.word(), self.type_name)?;
        if let Some(id) = &self.id {
            write!(f, " id={id}")?;
        }
        if let Some(c) = &self.config {
            write!(f, " {}", compact(c))?;
        }
        write!(f, " -> {}", self.outcome)
    }
}

/// An object as one line, keys sorted, nulls left out.
pub fn compact(o: &Object) -> String {
    let kept: Object = o.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), v.clone())).collect();
    serde_json::to_string(&kept).unwrap_or_default()
}

#[derive(Default)]
struct Inner {
    calls: Vec<Call>,
    /// The objects that exist, by id: (type, attributes).
    world: BTreeMap<String, (String, Object)>,
    /// The last N of the ids `NAME.N` made or held, by NAME: ids depend
    /// only on the order of creates of one name, not on the order of
    /// independent operations.
    creates: BTreeMap<String, u64>,
    behaviour: BTreeMap<String, Behaviour>,
    /// Samples with counts taken so far, by switch id and target.
    samples: BTreeMap<(String, String), u64>,
}

pub struct RecordingProvider {
    schema: ProviderSchema,
    inner: Mutex<Inner>,
}

impl Default for RecordingProvider {
    fn default() -> Self {
        RecordingProvider::new()
    }
}

fn attr(ty: AttrType) -> Attribute {
    Attribute::new(ty)
}

impl RecordingProvider {
    pub const NAME: &'static str = "test";

    pub fn new() -> RecordingProvider {
        let thing = Schema::new(
            0,
            [
                ("name", attr(AttrType::String)),
                ("value", attr(AttrType::Any)),
                ("tags", attr(AttrType::Map)),
                ("key", attr(AttrType::String).force_new()),
                ("id", attr(AttrType::String).computed()),
                ("out", attr(AttrType::String).computed()),
            ],
        );
        let data = Schema::new(
            0,
            [
                ("name", attr(AttrType::String)),
                ("input", attr(AttrType::Any)),
                ("id", attr(AttrType::String).computed()),
                ("result", attr(AttrType::Any).computed()),
            ],
        );
        let switch = Schema::new(
            0,
            [
                ("name", attr(AttrType::String)),
                ("weights", attr(AttrType::Map)),
                ("id", attr(AttrType::String).computed()),
                ("out", attr(AttrType::String).computed()),
            ],
        );
        let mut schema = ProviderSchema::default();
        schema.resources.insert("test_thing", thing);
        schema.resources.insert("test_switch", switch);
        schema.data_sources.insert("test_data", data);
        RecordingProvider { schema, inner: Mutex::new(Inner::default()) }
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A test that panicked while holding it has failed already.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How objects of `type_name` behave from now on.
    pub fn set_behaviour(&self, type_name: &str, b: Behaviour) {
        self.inner().behaviour.insert(type_name.to_string(), b);
    }

    /// Put an object in the world (one a prior state records, or one made
    /// outside Landform, to import or adopt). It must have an `id`.
    pub fn put_object(&self, type_name: &str, object: Object) {
        let id = object.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
        let mut inner = self.inner();
        // Ids the provider makes never repeat one it holds: `NAME.N` counts on from the highest N.
        if let Some((name, n)) = id.rsplit_once('.').and_then(|(name, n)| Some((name, n.parse::<u64>().ok()?))) {
            let next = inner.creates.entry(name.to_string()).or_default();
            *next = (*next).max(n);
        }
        inner.world.insert(id, (type_name.to_string(), object));
    }

    /// The objects that exist now, by id.
    pub fn objects(&self) -> BTreeMap<String, (String, Object)> {
        self.inner().world.clone()
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.inner().calls.clone()
    }

    /// Every call so far, in order, forgetting them.
    pub fn take_calls(&self) -> Vec<Call> {
        std::mem::take(&mut self.inner().calls)
    }

    fn record(&self, call: Call) {
        self.inner().calls.push(call);
    }
}

/// `test_switch` as a rollout's switch: its `weights` by target.
struct Switch;

impl TrafficSwitch for Switch {
    fn weights_attribute(&self) -> &'static str {
        "weights"
    }

    fn weights(&self, attrs: &Object) -> Option<Object> {
        attrs.get("weights")?.as_object().cloned()
    }

    fn with_weights(&self, attrs: &Object, weights: &Object) -> Object {
        let mut out = attrs.clone();
        out.insert("weights".into(), Value::Object(weights.clone()));
        out
    }

    fn max_weight(&self) -> u32 {
        100
    }

    fn lone_target_is_drift(&self) -> bool {
        false
    }

    fn lacks_target(&self) -> &'static str {
        "has no target"
    }

    fn metric_source(&self) -> Option<MetricSource> {
        Some(MetricSource { name: "test", description: "the test switch's counters", response_time: false })
    }
}

fn name_of(o: Option<&Object>) -> Option<String> {
    o.and_then(|o| o.get("name")).and_then(Value::as_str).map(str::to_string)
}

fn id_of(o: Option<&Object>) -> Option<String> {
    o.and_then(|o| o.get("id")).and_then(Value::as_str).map(str::to_string)
}

impl Provider for RecordingProvider {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn schema(&self) -> &ProviderSchema {
        &self.schema
    }

    fn plan(&self, req: PlanRequest) -> Result<PlanResponse> {
        let schema = self.schema.resource(req.type_name)?;
        let resp = default_plan(schema, &req);
        let outcome = match req.prior {
            None => "create".to_string(),
            Some(_) if !resp.requires_replace.is_empty() => format!("replace ({})", resp.requires_replace.join(", ")),
            Some(prior) => {
                let changed = resp.planned.iter().any(|(k, v)| prior.get(k).unwrap_or(&Value::Null) != v)
                    || resp.unknown.iter().any(|k| !req.unknown.contains(k) && prior.contains_key(k));
                if changed || !req.unknown.is_empty() { "update" } else { "no-op" }.to_string()
            }
        };
        self.record(Call {
            op: Op::Plan,
            type_name: req.type_name.to_string(),
            id: id_of(req.prior),
            name: name_of(Some(req.config)).or_else(|| name_of(req.prior)),
            config: Some(req.config.clone()),
            outcome,
        });
        Ok(resp)
    }

    fn apply(&self, req: ApplyRequest) -> Result<ApplyResponse> {
        let name = name_of(req.config).or_else(|| name_of(req.prior));
        let op = match (req.prior, req.config) {
            (None, _) => Op::Create,
            (Some(_), Some(_)) => Op::Update,
            (Some(_), None) => Op::Delete,
        };
        let mut inner = self.inner();
        let behaviour = inner.behaviour.get(req.type_name).cloned().unwrap_or_default();
        let mut call = Call {
            op,
            type_name: req.type_name.to_string(),
            id: id_of(req.prior),
            name: name.clone(),
            config: req.config.cloned(),
            outcome: "ok".into(),
        };
        if name.as_ref().is_some_and(|n| behaviour.fail_apply.contains(n)) {
            let why = format!("the test asked {} of {} to fail", op.word(), name.unwrap_or_default());
            call.outcome = format!("failed: {why}");
            inner.calls.push(call);
            return Err(ProviderError::new("Injected failure", why));
        }
        let state = match (op, req.config) {
            (Op::Delete, _) | (_, None) => {
                if let Some(id) = &call.id {
                    inner.world.remove(id);
                }
                None
            }
            (_, Some(config)) => {
                let mut obj = config.clone();
                let label = name.clone().unwrap_or_else(|| "obj".into());
                let id = match &call.id {
                    Some(id) => id.clone(),
                    None => {
                        let n = inner.creates.entry(label.clone()).or_default();
                        *n += 1;
                        format!("{label}.{n}")
                    }
                };
                obj.insert("id".into(), Value::String(id.clone()));
                match req.prior.and_then(|p| p.get("out")) {
                    // An update keeps what the provider computed at create, as planned.
                    Some(out) if op == Op::Update => {
                        obj.insert("out".into(), out.clone());
                    }
                    _ => {
                        obj.insert("out".into(), Value::String(format!("{label}-out")));
                        for (k, v) in &behaviour.computed {
                            obj.insert(k.clone(), v.clone());
                        }
                    }
                }
                call.id = Some(id.clone());
                inner.world.insert(id, (req.type_name.to_string(), obj.clone()));
                Some(obj)
            }
        };
        inner.calls.push(call);
        Ok(ApplyResponse { state, ..ApplyResponse::default() })
    }

    fn read(&self, req: ReadRequest) -> Result<ReadResponse> {
        let id = id_of(Some(req.prior));
        let mut inner = self.inner();
        let found = id.as_ref().and_then(|id| inner.world.get(id)).map(|(_, o)| o.clone());
        let resp = match found {
            None => ReadResponse::Gone,
            Some(o) if &o == req.prior => ReadResponse::Unchanged,
            Some(o) => ReadResponse::Changed(o),
        };
        let outcome = match &resp {
            ReadResponse::Gone => "gone",
            ReadResponse::Unchanged => "unchanged",
            ReadResponse::Changed(_) => "changed",
        };
        inner.calls.push(Call {
            op: Op::Read,
            type_name: req.type_name.to_string(),
            id,
            name: name_of(Some(req.prior)),
            config: None,
            outcome: outcome.into(),
        });
        Ok(resp)
    }

    /// An object of the same type and name as the interrupted create's
    /// configuration is the one it made.
    fn adopt(&self, req: ReadRequest) -> Result<ReadResponse> {
        let name = name_of(Some(req.prior));
        let mut inner = self.inner();
        let found = inner
            .world
            .values()
            .find(|(t, o)| t == req.type_name && name.is_some() && name_of(Some(o)) == name)
            .map(|(_, o)| o.clone());
        inner.calls.push(Call {
            op: Op::Adopt,
            type_name: req.type_name.to_string(),
            id: id_of(found.as_ref()),
            name,
            config: Some(req.prior.clone()),
            outcome: if found.is_some() { "found" } else { "gone" }.into(),
        });
        Ok(found.map_or(ReadResponse::Gone, ReadResponse::Changed))
    }

    fn read_data(&self, req: ReadDataRequest) -> Result<Object> {
        let name = name_of(Some(req.config));
        let mut inner = self.inner();
        let behaviour = inner.behaviour.get(req.type_name).cloned().unwrap_or_default();
        let mut obj = req.config.clone();
        let label = name.clone().unwrap_or_else(|| "data".into());
        obj.insert("id".into(), Value::String(format!("{label}.data")));
        obj.insert("result".into(), req.config.get("input").cloned().unwrap_or(Value::Null));
        for (k, v) in &behaviour.computed {
            obj.insert(k.clone(), v.clone());
        }
        inner.calls.push(Call {
            op: Op::ReadData,
            type_name: req.type_name.to_string(),
            id: None,
            name,
            config: Some(req.config.clone()),
            outcome: "ok".into(),
        });
        Ok(obj)
    }

    fn switch(&self, type_name: &str) -> Option<&dyn TrafficSwitch> {
        (type_name == "test_switch").then_some(&Switch as &dyn TrafficSwitch)
    }

    fn sample(&self, req: SampleRequest) -> Result<Option<Sample>> {
        if req.type_name != "test_switch" {
            return Ok(None);
        }
        let id = id_of(Some(req.state));
        let mut inner = self.inner();
        let n = if req.counts {
            let n = inner.samples.entry((id.clone().unwrap_or_default(), req.target.to_string())).or_default();
            *n += 1;
            *n
        } else {
            0
        };
        let mut asked = Object::new();
        asked.insert("target".into(), Value::String(req.target.to_string()));
        asked.insert("counts".into(), Value::Bool(req.counts));
        inner.calls.push(Call {
            op: Op::Sample,
            type_name: req.type_name.to_string(),
            id,
            name: name_of(Some(req.state)),
            config: Some(asked),
            outcome: if req.counts { format!("{} requests", n * 100) } else { "healthy".into() },
        });
        Ok(Some(Sample { requests: n * 100, errors: 0, healthy: Some(true), ..Default::default() }))
    }

    fn import(&self, req: ImportRequest) -> Result<Object> {
        let mut inner = self.inner();
        let found = inner.world.get(req.id).filter(|(t, _)| t == req.type_name).map(|(_, o)| o.clone());
        inner.calls.push(Call {
            op: Op::Import,
            type_name: req.type_name.to_string(),
            id: Some(req.id.to_string()),
            name: name_of(found.as_ref()),
            config: None,
            outcome: if found.is_some() { "ok" } else { "gone" }.into(),
        });
        found.ok_or_else(|| ProviderError::new("Cannot import", format!("no {} with id {}", req.type_name, req.id)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Object {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn calls_are_recorded_in_order_and_failures_are_injected_by_name() {
        let p = RecordingProvider::new();
        p.set_behaviour("test_thing", Behaviour { fail_apply: ["bad".to_string()].into(), ..Default::default() });
        let config = obj(serde_json::json!({"name": "a", "value": 1}));
        let made = p
            .apply(ApplyRequest {
                type_name: "test_thing",
                prior: None,
                config: Some(&config),
                planned: None,
                prior_private: &[],
            })
            .unwrap()
            .state
            .unwrap();
        assert_eq!((made["id"].as_str(), made["out"].as_str()), (Some("a.1"), Some("a-out")));
        let bad = obj(serde_json::json!({"name": "bad"}));
        let err = p
            .apply(ApplyRequest {
                type_name: "test_thing",
                prior: None,
                config: Some(&bad),
                planned: None,
                prior_private: &[],
            })
            .unwrap_err();
        assert!(err.detail.contains("bad"), "{err}");
        assert_eq!(
            p.read(ReadRequest { type_name: "test_thing", prior: &made, private: &[] }).unwrap(),
            ReadResponse::Unchanged
        );
        p.apply(ApplyRequest {
            type_name: "test_thing",
            prior: Some(&made),
            config: None,
            planned: None,
            prior_private: &[],
        })
        .unwrap();
        assert_eq!(
            p.read(ReadRequest { type_name: "test_thing", prior: &made, private: &[] }).unwrap(),
            ReadResponse::Gone
        );
        let lines: Vec<String> = p.calls().iter().map(|c| c.to_string()).collect();
        assert_eq!(
            lines,
            [
                "create test_thing id=a.1 {\"name\":\"a\",\"value\":1} -> ok",
                "create test_thing {\"name\":\"bad\"} -> failed: the test asked create of bad to fail",
                "read test_thing id=a.1 -> unchanged",
                "delete test_thing id=a.1 -> ok",
                "read test_thing id=a.1 -> gone",
            ]
        );
        assert!(p.objects().is_empty());
    }
}

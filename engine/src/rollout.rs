//! Rollouts: traffic moved from a stable pool to a canary step by step on a
//! switch (a resource type whose provider offers `Provider::switch`: a load
//! balancer's server weights, the weighted forward of a listener), with
//! analysis after each step and automatic rollback. The engine knows a switch
//! only through that capability, never by its type's name.
//!
//! The switch's weights belong to the rollout: the planner keeps the state's
//! weights for it (so a plan never "corrects" a rollout), and the plan carries
//! a `RolloutPlan` from the current weights to all traffic on the canary.
//! Apply runs it after every resource change: each step sets the weights
//! through the switch's provider, commits the switch's record (the state is
//! the rollout's progress: a killed apply resumes from the weights it
//! recorded, skipping the steps already taken), waits `pause` while sampling
//! the canary every `interval`, and passes only on conclusive samples within
//! the limits. A failure puts all traffic back on the stable server at once,
//! commits that, and fails the apply naming the metric, its value and the limit.

use crate::build::{ConfigGraph, ModulePath};
use crate::providers::Providers;
use crate::world::World;
use landform_lang::config::{Metric, Mode, Resource, Rollout};
use landform_lang::diag::Diagnostic;
use landform_lang::{Evaluator, Host, Value};
use landform_provider::{Provider, TrafficSwitch};
use landform_state::ResourceRecord;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value as Json};
use std::borrow::Cow;
use std::collections::HashMap;

/// The most steps a rollout has (each one a pause and an analysis): more is a mistake.
const MAX_STEPS: usize = 100;

/// The metric sources the CLI measures (the `Measure` trait). Every other
/// source reads a switch's own statistics: its provider names it
/// (`TrafficSwitch::metric_source`) and measures it (`Provider::sample`).
const OWN_SOURCES: &[(&str, &str)] = &[
    ("http", "the share of probes of url that succeed"),
    ("prometheus", "an instant query on the Prometheus server at url"),
];

/// The metric sources the switches' providers measure, each once, with the
/// first switch type that has it.
fn switch_sources(
    switches: &[(&'static str, &dyn TrafficSwitch)],
) -> Vec<(&'static str, landform_provider::MetricSource)> {
    let mut out: Vec<(&'static str, landform_provider::MetricSource)> = Vec::new();
    for (t, sw) in switches {
        if let Some(m) = sw.metric_source() {
            if !out.iter().any(|(_, o)| o.name == m.name) {
                out.push((t, m));
            }
        }
    }
    out
}

/// A pool as people read it: a target group's name for its ARN
/// (`…:targetgroup/web-green/6d0ecf831eec9f09` is `web-green`), else as it is.
pub fn pool(s: &str) -> &str {
    match s.split_once(":targetgroup/") {
        Some((head, rest)) if head.starts_with("arn:") => rest.split('/').next().unwrap_or(s),
        _ => s,
    }
}

/// Whether a metric source reads the switch's own statistics (through its
/// provider's `sample`): every source but those the CLI measures.
pub fn from_switch(source: &str) -> bool {
    !OWN_SOURCES.iter().any(|(k, _)| *k == source)
}

/// A switch's weights by target (a server's name, a target group's ARN), as
/// its provider reads them from `attrs`; `None` when `type_name` is not a
/// switch of `provider` or has nothing weighted.
pub fn read_weights(provider: &dyn Provider, type_name: &str, attrs: &Map<String, Json>) -> Option<Map<String, Json>> {
    provider.switch(type_name)?.weights(attrs)
}

/// `attrs` with the switch's weights set to `w` (other targets kept), as its
/// provider writes them; unchanged when `type_name` is not a switch of `provider`.
pub fn write_weights(
    provider: &dyn Provider,
    type_name: &str,
    attrs: &Map<String, Json>,
    w: &Map<String, Json>,
) -> Map<String, Json> {
    match provider.switch(type_name) {
        Some(sw) => sw.with_weights(attrs, w),
        None => attrs.clone(),
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MetricSpec {
    pub name: String,
    /// `haproxy`: the canary server's 5xx share of requests over each
    /// interval; `http`: the share of probes of `url` that succeed;
    /// `prometheus`: the value of an instant `query` on the server at `url`.
    pub source: String,
    /// Bounds in the metric's unit: a percentage as a fraction (1% is 0.01),
    /// a duration in seconds (Prometheus's unit), else the number.
    pub max: Option<f64>,
    pub min: Option<f64>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub query: Option<String>,
    /// A failure counts only once it has lasted this long (0: at once).
    #[serde(default)]
    pub for_ms: u64,
    /// Compare the canary with the stable pool (Mann-Whitney U on the
    /// per-interval values): fail when the canary is significantly worse.
    #[serde(default)]
    pub compare: bool,
    /// For `http` metrics: a latency percentile of the probes that got an
    /// answer (95 for `stat = "p95"`, in seconds), instead of the share that succeed.
    #[serde(default)]
    pub percentile: Option<f64>,
    /// For `haproxy` metrics: the canary's average response time (seconds)
    /// instead of its 5xx share (`stat = "response_time"`).
    #[serde(default)]
    pub response_time: bool,
    /// The url or query carries a sensitive value: shown as `(sensitive value)`.
    #[serde(default)]
    pub sensitive: bool,
    /// How its bounds were written: `percent`, `duration` or `number`, so
    /// values are shown in the same unit.
    #[serde(default)]
    pub unit: Option<String>,
}

impl MetricSpec {
    /// A value of this metric in its unit, for people: a duration for
    /// latencies (and bounds written as durations), a plain number for a
    /// Prometheus query (unless its bounds are percentages), else a percentage.
    pub fn shown(&self, x: f64) -> String {
        let unit = self.unit.as_deref();
        if self.percentile.is_some() || self.response_time || unit == Some("duration") {
            landform_lang::value::format_duration((x * 1000.0).round().max(0.0) as u64)
        } else if self.source == "prometheus" && unit != Some("percent") {
            format!("{x}")
        } else {
            format!("{:.1}%", x * 100.0)
        }
    }

    /// The url as people may see it.
    pub fn shown_url(&self) -> &str {
        if self.sensitive {
            landform_lang::secrets::HIDDEN
        } else {
            self.url.as_deref().unwrap_or_default()
        }
    }

    /// The query as people may see it.
    pub fn shown_query(&self) -> &str {
        if self.sensitive {
            landform_lang::secrets::HIDDEN
        } else {
            self.query.as_deref().unwrap_or_default()
        }
    }
}

/// A rollout as machine output shows it: sensitive urls and queries hidden.
pub fn shown_json(plan: &RolloutPlan) -> Json {
    remember_secrets(plan);
    let mut v = serde_json::to_value(plan).unwrap_or(Json::Null);
    if let Some(metrics) = v.get_mut("metrics").and_then(Json::as_array_mut) {
        for (m, spec) in metrics.iter_mut().zip(&plan.metrics) {
            if spec.sensitive {
                for k in ["url", "query"] {
                    if m.get(k).is_some_and(|u| !u.is_null()) {
                        m[k] = json!(landform_lang::secrets::HIDDEN);
                    }
                }
            }
        }
    }
    v
}

/// Keep the secrets a rollout's metrics carry out of every line this process
/// prints (a saved plan read by another process, say).
pub fn remember_secrets(plan: &RolloutPlan) {
    for m in plan.metrics.iter().filter(|m| m.sensitive) {
        let texts: Vec<String> = m.url.iter().chain(m.query.iter()).cloned().collect();
        // As they travel in a request's URL too (an error may quote it).
        let encoded: Vec<String> =
            texts.iter().flat_map(|t| [form_encoded(t), form_encoded(t).replace('+', "%20")]).collect();
        landform_lang::secrets::remember_texts(texts.into_iter().chain(encoded));
    }
}

/// `text` as `application/x-www-form-urlencoded` writes it (a query parameter).
fn form_encoded(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Where `http` and `prometheus` metrics are measured: the CLI's HTTP client.
/// `Ok(None)` is no data (inconclusive, never a pass).
pub trait Measure: Send + Sync {
    fn measure(&self, metric: &MetricSpec) -> Result<Option<f64>, String>;
}

/// A rollout the plan will run.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RolloutPlan {
    pub name: String,
    /// The switch's address (`lb_backend.app`).
    pub switch: String,
    pub stable: String,
    pub canary: String,
    pub strategy: String,
    pub from: Map<String, Json>,
    pub to: Map<String, Json>,
    /// The canary's share after each step, as fractions (0.05 for 5%).
    pub steps: Vec<f64>,
    pub pause_ms: u64,
    pub interval_ms: u64,
    pub failure_limit: u32,
    /// Measurement errors in a row a step tolerates (Argo's default: 4).
    #[serde(default)]
    pub consecutive_error_limit: u32,
    pub metrics: Vec<MetricSpec>,
    /// The switch's resource type.
    #[serde(default)]
    pub switch_type: String,
    /// The largest weight a target of the switch can have
    /// (`TrafficSwitch::max_weight`): each step's weights are whole numbers up to it.
    #[serde(default)]
    pub max_weight: u32,
    /// Steps (shares) that wait for `landform rollout promote` before traffic moves to them.
    #[serde(default)]
    pub gates: Vec<f64>,
    /// How long a step may wait for conclusive data before it fails.
    #[serde(default)]
    pub progress_deadline_ms: u64,
    /// After completion, how long `landform rollout rollback` is offered.
    #[serde(default)]
    pub rollback_window_ms: u64,
    /// The gate the rollout waits at, when a person has not promoted it yet.
    #[serde(default)]
    pub waiting: Option<f64>,
    /// The switch's weights when this run started (every server or target
    /// group): each step's weights are computed from them, and a rollback
    /// puts them back.
    #[serde(default)]
    pub baseline: Map<String, Json>,
    /// What this release of the rollout is (a fingerprint of its evaluated
    /// block): a rollout that stopped stays stopped until it changes.
    #[serde(default)]
    pub release: String,
}

impl RolloutPlan {
    /// Roughly how long the steps still to take last when each passes.
    pub fn estimated_ms(&self) -> u64 {
        let analysed =
            if self.strategy == "blue_green" && self.metrics.iter().any(|m| !from_switch(&m.source)) { 2 } else { 1 };
        let done = share(self, &self.from);
        let left = self.steps.iter().filter(|p| share(self, &weights_at(self, **p)) > done + 1e-9).count();
        self.pause_ms * left as u64 * analysed
    }
}

/// A rollout's progress as the state keeps it (`Snapshot::rollouts`),
/// committed at every step: what `rollout status` shows and what the next
/// apply, `promote`, `abort` and `rollback` start from.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct RolloutRecord {
    pub switch: String,
    pub switch_type: String,
    pub stable: String,
    pub canary: String,
    pub strategy: String,
    pub steps: Vec<f64>,
    /// `running`, `paused` (at a gate, for a person), `complete`,
    /// `rolled_back` (a failed analysis or an error), `aborted`,
    /// `rollback_failed` (traffic may still reach the canary): the three
    /// `STOPPED` phases; `blocked` (the canary was not healthy before any
    /// traffic moved: the next apply tries again), `retry` (a person asked).
    pub phase: String,
    /// Steps taken in this run.
    pub step: usize,
    pub weights: Map<String, Json>,
    /// Why it stopped, for `rolled_back` and `aborted`.
    #[serde(default)]
    pub reason: Option<String>,
    /// Each metric's last value.
    #[serde(default)]
    pub analysis: std::collections::BTreeMap<String, f64>,
    /// Each metric's last value as people read it, in its unit.
    #[serde(default)]
    pub analysis_shown: std::collections::BTreeMap<String, String>,
    /// Failed samples in this run, over every step (as Argo's AnalysisRun
    /// counts `failureLimit` over the run): more than `failure_limit` roll it back.
    #[serde(default)]
    pub failures: u32,
    /// Gates a person promoted (shares), in this run.
    #[serde(default)]
    pub promoted: Vec<f64>,
    /// The gate it waits at, when `paused`.
    #[serde(default)]
    pub waiting: Option<f64>,
    pub started: String,
    pub updated: String,
    /// Seconds since the epoch until which `rollout rollback` is offered, once complete.
    #[serde(default)]
    pub rollback_until: Option<u64>,
    /// The switch's weights when this run started: what a rollback puts back.
    #[serde(default)]
    pub baseline: Map<String, Json>,
    /// The release this run is of (`RolloutPlan::release`).
    #[serde(default)]
    pub release: String,
    /// Targets an abort or rollback cut off from all traffic, persistent
    /// sessions included (HAProxy: maintenance): the next run lets them take
    /// traffic again before its first step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub isolated: Vec<String>,
}

/// After an abort or rollback put the canary's weight at 0: cut it off from
/// the sessions that stick to it too (a weight of 0 still takes them: Argo
/// Rollouts #4841), when the switch's provider can; recorded in `rec` for
/// the next run to undo. A warning when it could not be done.
pub fn isolate_canary(
    provider: &dyn landform_provider::Provider,
    switch: &landform_state::ResourceRecord,
    rec: &mut RolloutRecord,
) -> Option<String> {
    let weights = read_weights(provider, &switch.type_name, &switch.attributes).unwrap_or_default();
    if weights.get(&rec.canary).and_then(Json::as_f64).unwrap_or(0.0) > 0.0 {
        return None;
    }
    let req = landform_provider::IsolateRequest {
        type_name: &switch.type_name,
        state: &switch.attributes,
        target: &rec.canary,
        on: true,
    };
    match provider.isolate(req) {
        Ok(true) => {
            if !rec.isolated.contains(&rec.canary) {
                rec.isolated.push(rec.canary.clone());
            }
            None
        }
        Ok(false) => None,
        Err(e) => Some(format!(
            "{} has weight 0 but could not be cut off from sessions that stick to it: {e}",
            pool(&rec.canary)
        )),
    }
}

/// Before a new run moves traffic: let the targets an earlier abort or
/// rollback cut off take traffic again. Those it could not, with why.
pub fn restore_isolated(
    provider: &dyn landform_provider::Provider,
    switch: &landform_state::ResourceRecord,
    isolated: &[String],
) -> Vec<(String, String)> {
    let mut failed = Vec::new();
    for target in isolated {
        let req = landform_provider::IsolateRequest {
            type_name: &switch.type_name,
            state: &switch.attributes,
            target,
            on: false,
        };
        if let Err(e) = provider.isolate(req) {
            failed.push((target.clone(), e.to_string()));
        }
    }
    failed
}

/// The phases in which a rollout is stopped: it is not run again until its
/// release changes or a person runs `landform rollout retry`.
pub const STOPPED: &[&str] = &["rolled_back", "aborted", "rollback_failed"];

impl RolloutRecord {
    /// A new run of the rollout `plan` describes, not yet started.
    pub fn new_run(plan: &RolloutPlan) -> RolloutRecord {
        RolloutRecord {
            switch: plan.switch.clone(),
            switch_type: plan.switch_type.clone(),
            stable: plan.stable.clone(),
            canary: plan.canary.clone(),
            strategy: plan.strategy.clone(),
            steps: plan.steps.clone(),
            weights: plan.from.clone(),
            baseline: plan.baseline.clone(),
            release: plan.release.clone(),
            ..Default::default()
        }
    }

    pub fn from_state(v: Option<&Json>) -> Option<RolloutRecord> {
        v.and_then(|v| serde_json::from_value(v.clone()).ok())
    }
    pub fn to_json(&self) -> Json {
        serde_json::to_value(self).unwrap_or(Json::Null)
    }
}

/// The window HAProxy decays its time averages over (`TIME_STATS_SAMPLES`,
/// 512 in its source; its documentation says "the last 1024 requests"): each
/// response adds its time to a sum that first loses 1/512 of itself, and
/// `show stat` prints that sum divided by min(responses, 512), rounded up.
const HAPROXY_TIME_WINDOW: f64 = 512.0;

/// The mean response time in milliseconds of the responses a server gave
/// between two reads of HAProxy's running average `(average, responses)`,
/// as `(low, estimate, high)`: the sum the average hides is rebuilt from
/// both reads, the older part's decay taken out, and the rounding of the
/// printed averages carried as bounds (tight after many responses, wide
/// after few when the server had a long history). The mean weighs the later
/// responses more, as HAProxy does (at most e times, within 512 responses).
/// `None` without responses in between, or when the counters went back (a
/// reload).
pub fn interval_response_ms(before: (f64, u64), after: (f64, u64)) -> Option<(f64, f64, f64)> {
    let ((a0, c0), (a1, c1)) = (before, after);
    let k = c1.checked_sub(c0).filter(|k| *k > 0)? as f64;
    let n = HAPROXY_TIME_WINDOW;
    let decay = (1.0 - 1.0 / n).powf(k);
    let weight = n * (1.0 - decay);
    let (w0, w1) = ((c0 as f64).min(n), (c1 as f64).min(n));
    // The sums behind the printed (rounded up) averages.
    let sum = |a: f64, w: f64| (((a - 1.0).max(0.0) * w), a * w);
    let ((s0lo, s0hi), (s1lo, s1hi)) = (sum(a0, w0), sum(a1, w1));
    // Each response's integer division loses under 1 ms from the sum.
    let lo = ((s1lo - s0hi * decay - k) / weight).max(0.0);
    let hi = (s1hi - s0lo * decay + k) / weight;
    let mid = ((s1lo + s1hi) / 2.0 - (s0lo + s0hi) / 2.0 * decay) / weight;
    Some((lo, mid.clamp(lo, hi), hi))
}

/// Seconds since the epoch.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn is_switch(rollout_switch: &landform_lang::syntax::Expr, r: &Resource) -> bool {
    rollout_switch.as_traversal().is_some_and(|(root, path)| root.name == r.type_name && path.first() == Some(&r.name))
}

/// Paths of `r` a rollout owns: the planner and apply keep the state's values
/// there. `provider` is `r`'s, which says whether its type is a switch.
pub fn owned_paths(
    graph: &ConfigGraph,
    module: &ModulePath,
    r: &Resource,
    provider: &dyn Provider,
) -> Vec<Vec<String>> {
    if !module.is_empty() || r.mode != Mode::Managed {
        return Vec::new();
    }
    let root = graph.module(&ModulePath::new());
    let Some(switch) = provider.switch(&r.type_name) else { return Vec::new() };
    if root.rollouts.iter().any(|ro| is_switch(&ro.switch, r)) {
        vec![vec![switch.weights_attribute().to_string()]]
    } else {
        Vec::new()
    }
}

fn eval(e: &landform_lang::syntax::Expr, world: &World, host: &dyn Host, diags: &mut Vec<Diagnostic>) -> Value {
    let mut ev = Evaluator::new(host);
    let v = ev.eval(e, world.scope(&ModulePath::new()));
    diags.append(&mut ev.diags);
    v.unmark_deep().0
}

fn fraction(v: &Value) -> Option<f64> {
    match v {
        Value::Percent(p) => Some(p / 100.0),
        Value::Number(n) if (0.0..=1.0).contains(&n.to_f64()) => Some(n.to_f64()),
        _ => None,
    }
}

/// The rollouts of the root module, evaluated, with the switch's current
/// weights from `prior`: those with traffic still to move. `providers` say
/// which resource types are switches and how their weights are kept.
pub fn plan_rollouts(
    graph: &ConfigGraph,
    world: &World,
    host: &dyn Host,
    providers: &Providers,
    prior: &HashMap<String, Cow<ResourceRecord>>,
    records: &std::collections::BTreeMap<String, Json>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<RolloutPlan> {
    refuse_rollouts_outside_root(graph, diags);
    let root = graph.module(&ModulePath::new());
    let switches = providers.switches();
    let sources = switch_sources(&switches);
    warn_removed_rollouts(root, records, diags);
    let planner =
        RolloutPlanner { world, host, providers, prior, records, root, switches: &switches, sources: &sources };
    root.rollouts.iter().filter_map(|ro| planner.plan(ro, diags)).collect()
}

/// A rollout block belongs in the root module.
fn refuse_rollouts_outside_root(graph: &ConfigGraph, diags: &mut Vec<Diagnostic>) {
    for (path, m) in &graph.modules {
        if !path.is_empty() {
            for r in &m.module.rollouts {
                diags.push(Diagnostic::error(
                    "Rollout outside the root module",
                    "A rollout block belongs in the root module; move it there and name the switch through its module's outputs.".to_string(),
                    r.span,
                ));
            }
        }
    }
}

/// A rollout the configuration no longer has, whose switch it still has:
/// the switch's weights become plain configuration again, and the plan
/// sets them in one step, with no analysis.
fn warn_removed_rollouts(
    root: &landform_lang::config::Module,
    records: &std::collections::BTreeMap<String, Json>,
    diags: &mut Vec<Diagnostic>,
) {
    for (name, rec) in records {
        let Some(rec) = RolloutRecord::from_state(Some(rec)) else { continue };
        if root.rollouts.iter().any(|ro| &ro.name == name) || STOPPED.contains(&rec.phase.as_str()) {
            continue;
        }
        let switch = root.resources.iter().find(|r| r.mode == Mode::Managed && r.address() == rec.switch);
        let moved = rec.weights.get(&rec.canary).and_then(Json::as_f64).unwrap_or(0.0) > 0.0;
        if let (Some(r), true) = (switch, moved) {
            diags.push(Diagnostic::warning(
                "Rollout removed",
                format!(
                    "rollout.{name} is no longer in the configuration, so {} no longer belongs to it: this plan sets its weights as configured in one step, with no analysis and no rollback ({} has {} now). To move traffic back step by step, keep the rollout block (swap stable and canary); to put it all back at once, `landform rollout abort {name}` before removing the block.",
                    rec.switch,
                    pool(&rec.canary),
                    pct(whole_share(&rec.weights, &rec.canary))
                ),
                r.header_span,
            ));
        }
    }
}

/// What planning the root module's rollouts reads: the values, the switches'
/// recorded weights, the rollouts' own records, and which types are switches.
struct RolloutPlanner<'p> {
    world: &'p World<'p>,
    host: &'p dyn Host,
    providers: &'p Providers,
    prior: &'p HashMap<String, Cow<'p, ResourceRecord>>,
    records: &'p std::collections::BTreeMap<String, Json>,
    root: &'p landform_lang::config::Module,
    switches: &'p [(&'static str, &'p dyn TrafficSwitch)],
    sources: &'p [(&'static str, landform_provider::MetricSource)],
}

/// One rollout block being evaluated, with its switch. Until the switch exists
/// (it and its pools are created by this apply, or validate has no values) an
/// unknown setting is expected: the rest is checked, and the rollout runs from
/// the next apply.
struct RolloutBlock<'b> {
    ro: &'b Rollout,
    world: &'b World<'b>,
    host: &'b dyn Host,
    sources: &'b [(&'static str, landform_provider::MetricSource)],
    switch: &'b dyn TrafficSwitch,
    addr: String,
    exists: bool,
}

/// A rollout block's settings, evaluated and checked.
struct Settings {
    stable: String,
    canary: String,
    strategy: String,
    steps: Vec<f64>,
    pause_ms: u64,
    interval_ms: u64,
    failure_limit: u32,
    metrics: Vec<MetricSpec>,
    progress_deadline_ms: u64,
    rollback_window_ms: u64,
    consecutive_error_limit: u32,
    gates: Vec<f64>,
}

/// How a metric's url and query were given: their texts, and whether either is sensitive.
struct Endpoint {
    url: Option<String>,
    query: Option<String>,
    sensitive: bool,
}

/// What a metric's `stat` asks for.
struct Stat {
    percentile: Option<f64>,
    response_time: bool,
}

impl<'p> RolloutPlanner<'p> {
    /// One rollout: `None` when it is invalid (said in `diags`), stopped, not
    /// yet runnable, or has all traffic on the canary already.
    fn plan(&self, ro: &'p Rollout, diags: &mut Vec<Diagnostic>) -> Option<RolloutPlan> {
        if !valid_name(ro, diags) {
            return None;
        }
        let (r, switch) = self.switch_of(ro, diags)?;
        let addr = r.address();
        let block = RolloutBlock {
            ro,
            world: self.world,
            host: self.host,
            sources: self.sources,
            switch,
            exists: self.prior.contains_key(&addr),
            addr,
        };
        let settings = block.settings(diags)?;
        let rec = self.prior.get(&block.addr)?;
        let from = self.current_weights(&block, rec, &settings, diags)?;
        self.plan_steps(&block, r, settings, from, diags)
    }

    /// The managed resource `ro.switch` names, and its provider's switch.
    fn switch_of(&self, ro: &Rollout, diags: &mut Vec<Diagnostic>) -> Option<(&'p Resource, &'p dyn TrafficSwitch)> {
        let (sw_root, sw_path) = ro.switch.as_traversal()?;
        let target = self.root.resources.iter().find(|r| r.mode == Mode::Managed && is_switch(&ro.switch, r));
        let Some(r) = target else {
            diags.push(Diagnostic::error(
                "Unknown rollout switch",
                format!(
                    "switch refers to {}.{}, which is not a resource of this module.",
                    sw_root.name,
                    sw_path.first().cloned().unwrap_or_default()
                ),
                ro.switch.span,
            ));
            return None;
        };
        let Some(switch) = self.providers.for_resource(r).and_then(|(p, _, _)| p.switch(&r.type_name)) else {
            diags.push(Diagnostic::error(
                "Unsupported rollout switch",
                format!(
                    "A rollout drives the weights of a {}; {} is a {}.",
                    self.switches.iter().map(|(t, _)| *t).collect::<Vec<_>>().join(", a "),
                    r.address(),
                    r.type_name
                ),
                ro.switch.span,
            ));
            return None;
        };
        if r.count.is_some() || r.for_each.is_some() {
            diags.push(Diagnostic::error(
                "Unsupported rollout switch",
                "A rollout's switch is a single resource, without count or for_each.".to_string(),
                ro.switch.span,
            ));
            return None;
        }
        Some((r, switch))
    }

    /// The switch's weights in the state, when they still move traffic
    /// between the rollout's pools. The switch no longer moving traffic
    /// between the pools the rollout ran on (edited by hand to a plain
    /// forward, say) is drift the rollout does not own: it is stopped, and
    /// says how to take the switch back.
    fn current_weights(
        &self,
        block: &RolloutBlock,
        rec: &ResourceRecord,
        settings: &Settings,
        diags: &mut Vec<Diagnostic>,
    ) -> Option<Map<String, Json>> {
        let (ro, addr, stable, canary) = (block.ro, &block.addr, &settings.stable, &settings.canary);
        let Some(from) = block.switch.weights(&rec.attributes) else {
            diags.push(Diagnostic::error(
                "Invalid rollout switch",
                format!("{addr} has no weighted forward action to move traffic with: give it a forward block with a target_group block for each pool."),
                ro.switch.span,
            ));
            return None;
        };
        let ran_here = self
            .records
            .get(&ro.name)
            .and_then(|r| RolloutRecord::from_state(Some(r)))
            .is_some_and(|rec| &rec.stable == stable && &rec.canary == canary && &rec.switch == addr);
        if (!from.contains_key(stable) || !from.contains_key(canary))
            && (ran_here || (block.switch.lone_target_is_drift() && from.len() < 2))
        {
            warn_switch_drift(block, &from, stable, canary, diags);
            return None;
        }
        for s in [stable, canary] {
            if !from.contains_key(s.as_str()) {
                diags.push(Diagnostic::error(
                    "Unknown rollout server",
                    format!(
                        "{addr} {} \"{s}\"; its weights are for: {}.",
                        block.switch.lacks_target(),
                        from.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                    if s == stable { ro.stable.span } else { ro.canary.span },
                ));
            }
        }
        if !from.contains_key(stable) || !from.contains_key(canary) {
            return None;
        }
        Some(from)
    }

    /// The plan from the weights `from` to all traffic on the canary: `None`
    /// when it is there already, when the rollout is stopped for this
    /// release, or when a step is one the switch cannot take.
    fn plan_steps(
        &self,
        block: &RolloutBlock,
        r: &Resource,
        settings: Settings,
        from: Map<String, Json>,
        diags: &mut Vec<Diagnostic>,
    ) -> Option<RolloutPlan> {
        let ro = block.ro;
        let (stable, canary) = (&settings.stable, &settings.canary);
        let record = RolloutRecord::from_state(self.records.get(&ro.name));
        // The weights this run started from: a run under way keeps its own.
        let baseline = match &record {
            Some(rec)
                if &rec.canary == canary
                    && &rec.stable == stable
                    && (rec.phase == "running" || rec.phase == "paused")
                    && !rec.baseline.is_empty() =>
            {
                rec.baseline.clone()
            }
            _ => from.clone(),
        };
        let done = whole_share(&from, canary);
        if done >= 1.0 - 1e-9 {
            return None; // already all on the canary
        }
        let release = settings.release();
        if stopped_for_release(ro, record.as_ref(), &release, &settings, diags) {
            return None;
        }
        let max_weight = block.switch.max_weight();
        let to = weights_for(max_weight, &baseline, stable, canary, 1.0);
        if unreachable_step(block, max_weight, &baseline, &settings, diags) {
            return None;
        }
        let taken = |p: f64| whole_share(&weights_for(max_weight, &baseline, stable, canary, p), canary);
        let waiting = settings.steps.iter().copied().find(|p| taken(*p) > done + 1e-9).filter(|next| {
            settings.gates.iter().any(|g| (g - next).abs() < 1e-9)
                && !record
                    .as_ref()
                    .is_some_and(|rec| &rec.canary == canary && rec.promoted.iter().any(|g| (g - next).abs() < 1e-9))
        });
        Some(RolloutPlan {
            name: ro.name.clone(),
            switch: block.addr.clone(),
            stable: settings.stable,
            canary: settings.canary,
            strategy: settings.strategy,
            from,
            to,
            steps: settings.steps,
            pause_ms: settings.pause_ms,
            interval_ms: settings.interval_ms,
            failure_limit: settings.failure_limit,
            consecutive_error_limit: settings.consecutive_error_limit,
            metrics: settings.metrics,
            switch_type: r.type_name.clone(),
            max_weight,
            gates: settings.gates,
            progress_deadline_ms: settings.progress_deadline_ms,
            rollback_window_ms: settings.rollback_window_ms,
            waiting,
            baseline,
            release,
        })
    }
}

/// A rollout's name is how commands find it: a plain identifier.
fn valid_name(ro: &Rollout, diags: &mut Vec<Diagnostic>) -> bool {
    let named = ro.name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && ro.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !named {
        diags.push(Diagnostic::error(
            "Invalid rollout name",
            format!(
                "A rollout's name is a letter or underscore followed by letters, digits, underscores and dashes, such as \"web\"; \"{}\" is not, and `landform rollout abort` could not name it.",
                ro.name
            ),
            ro.span,
        ));
    }
    named
}

/// The switch, changed outside Landform, no longer moves traffic between the rollout's pools.
fn warn_switch_drift(
    block: &RolloutBlock,
    from: &Map<String, Json>,
    stable: &str,
    canary: &str,
    diags: &mut Vec<Diagnostic>,
) {
    let (ro, addr) = (block.ro, &block.addr);
    let now = if from.is_empty() {
        "moves traffic to no target group".to_string()
    } else {
        format!(
            "forwards to {}",
            from.iter().map(|(k, v)| format!("{} (weight {v})", pool(k))).collect::<Vec<_>>().join(", ")
        )
    };
    diags.push(Diagnostic::warning(
        "Rollout switch changed outside Landform",
        format!(
            "{addr} was changed outside Landform: it {now}, not a weighted forward to {} and {}. rollout.{} is stopped and the switch is left as it is. `landform rollout abort {}` puts all traffic back on {} (a weighted forward to both pools again); or remove the rollout block to manage {addr} yourself.",
            pool(stable),
            pool(canary),
            ro.name,
            ro.name,
            pool(stable)
        ),
        ro.switch.span,
    ));
}

/// Stopped (rolled back, aborted): a rollout stays stopped for this release.
fn stopped_for_release(
    ro: &Rollout,
    record: Option<&RolloutRecord>,
    release: &str,
    settings: &Settings,
    diags: &mut Vec<Diagnostic>,
) -> bool {
    let Some(rec) = record.filter(|rec| {
        STOPPED.contains(&rec.phase.as_str())
            && (rec.release == release
                || (rec.release.is_empty() && rec.canary == settings.canary && rec.stable == settings.stable))
    }) else {
        return false;
    };
    diags.push(Diagnostic::warning(
        "Rollout stopped",
        format!(
            "rollout.{} is stopped ({}{}): it is not run again for this release. A new release (a change to the rollout block: another canary, the pools swapped, new steps or analysis) runs it again, or `landform rollout retry {}` does for this one.",
            ro.name,
            rec.phase.replace('_', " "),
            rec.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default(),
            ro.name
        ),
        ro.span,
    ));
    true
}

/// Every step must be one the switch can take: a weight of at least 1 for
/// the canary, and for the rest before 100%, and different weights from the
/// step before. Says so in `diags` when one is not.
fn unreachable_step(
    block: &RolloutBlock,
    max_weight: u32,
    baseline: &Map<String, Json>,
    settings: &Settings,
    diags: &mut Vec<Diagnostic>,
) -> bool {
    let (ro, addr, stable, canary) = (block.ro, &block.addr, &settings.stable, &settings.canary);
    let mut unreachable = None;
    let mut before = weights_for(max_weight, baseline, stable, canary, 0.0);
    for p in &settings.steps {
        let w = weights_for(max_weight, baseline, stable, canary, *p);
        let s = whole_share(&w, canary);
        if s <= 0.0 || (*p < 1.0 && s >= 1.0) || w == before {
            unreachable = Some((*p, s));
            break;
        }
        before = w;
    }
    let Some((p, s)) = unreachable else { return false };
    diags.push(Diagnostic::error(
        "Unreachable rollout step",
        format!(
            "The step {} gives {} {} of {addr}'s traffic with whole weights ({}): it would move nothing, or the same as the step before. The smallest step this switch can take is about {}.",
            pct(p),
            pool(canary),
            pct(s),
            weights_for(max_weight, baseline, stable, canary, p)
                .iter()
                .map(|(k, v)| format!("{} = {v}", pool(k)))
                .collect::<Vec<_>>()
                .join(", "),
            pct(smallest_step(max_weight, baseline, stable, canary))
        ),
        ro.steps.as_ref().map_or(ro.span, |e| e.span),
    ));
    true
}

impl Settings {
    /// The release a run is for: a change to any of these is a new one.
    fn release(&self) -> String {
        fingerprint(&json!([
            self.strategy,
            self.stable,
            self.canary,
            self.steps,
            self.pause_ms,
            self.interval_ms,
            self.failure_limit,
            self.consecutive_error_limit,
            self.metrics,
            self.gates,
            self.progress_deadline_ms
        ]))
    }
}

impl RolloutBlock<'_> {
    fn eval(&self, e: &landform_lang::syntax::Expr, diags: &mut Vec<Diagnostic>) -> Value {
        eval(e, self.world, self.host, diags)
    }

    /// The block's settings in the order they are written, each checked;
    /// `None` when one is invalid (a metric that is invalid is only left out).
    fn settings(&self, diags: &mut Vec<Diagnostic>) -> Option<Settings> {
        let ro = self.ro;
        let (stable, canary) = self.pools(diags)?;
        let strategy = self.strategy(diags)?;
        let steps = self.steps(&strategy, diags)?;
        let pause_ms = self.duration(ro.pause.as_ref(), 30_000, "pause", diags)?;
        let interval_ms = self.duration(ro.interval.as_ref(), 5_000, "interval", diags)?;
        let failure_limit = self.whole_number(
            ro.failure_limit.as_ref(),
            0,
            "Invalid failure_limit",
            "failure_limit is a whole number of failed samples a step tolerates.",
            diags,
        )?;
        let metrics = ro.metrics.iter().filter_map(|m| self.metric(m, diags)).collect();
        let progress_deadline_ms = self.duration(ro.progress_deadline.as_ref(), 600_000, "progress_deadline", diags)?;
        let rollback_window_ms = self.duration(ro.rollback_window.as_ref(), 3_600_000, "rollback_window", diags)?;
        let consecutive_error_limit = self.whole_number(
            ro.consecutive_error_limit.as_ref(),
            4,
            "Invalid consecutive_error_limit",
            "consecutive_error_limit is a whole number of measurement errors in a row a step tolerates.",
            diags,
        )?;
        let gates = self.gates(&steps, diags)?;
        Some(Settings {
            stable,
            canary,
            strategy,
            steps,
            pause_ms,
            interval_ms,
            failure_limit,
            metrics,
            progress_deadline_ms,
            rollback_window_ms,
            consecutive_error_limit,
            gates,
        })
    }

    /// A server name or target group the rollout moves traffic from or to.
    fn pool_name(&self, e: &landform_lang::syntax::Expr, what: &str, diags: &mut Vec<Diagnostic>) -> Option<String> {
        match self.eval(e, diags) {
            Value::String(s) if !s.is_empty() => Some(s),
            Value::Unknown if !self.exists => Some(format!("({what})")),
            _ => {
                diags.push(Diagnostic::error(
                    format!("Invalid rollout {what}"),
                    format!(
                        "{what} must be known when planning: a server name such as \"green\" (HAProxy) or a target group's ARN (aws_lb_target_group.green.arn, once it exists)."
                    ),
                    e.span,
                ));
                None
            }
        }
    }

    /// `stable` and `canary`: two different pools.
    fn pools(&self, diags: &mut Vec<Diagnostic>) -> Option<(String, String)> {
        let ro = self.ro;
        let (Some(stable), Some(canary)) =
            (self.pool_name(&ro.stable, "stable", diags), self.pool_name(&ro.canary, "canary", diags))
        else {
            return None;
        };
        if stable == canary {
            diags.push(Diagnostic::error(
                "Invalid rollout",
                format!("stable and canary are both \"{stable}\": a rollout moves traffic between two servers."),
                ro.canary.span,
            ));
            return None;
        }
        Some((stable, canary))
    }

    fn strategy(&self, diags: &mut Vec<Diagnostic>) -> Option<String> {
        let ro = self.ro;
        match ro.strategy.as_ref().map(|e| self.eval(e, diags)) {
            None => Some("canary".to_string()),
            Some(Value::Unknown) if !self.exists => Some("canary".to_string()),
            Some(Value::String(s)) if s == "canary" || s == "blue_green" => Some(s),
            Some(_) => {
                diags.push(Diagnostic::error(
                    "Invalid rollout strategy",
                    "strategy is \"canary\" or \"blue_green\".".to_string(),
                    ro.strategy.as_ref().map_or(ro.span, |e| e.span),
                ));
                None
            }
        }
    }

    /// The shares of traffic on the canary, step by step: blue_green's one step, else `steps`.
    fn steps(&self, strategy: &str, diags: &mut Vec<Diagnostic>) -> Option<Vec<f64>> {
        if strategy == "blue_green" {
            return Some(vec![1.0]);
        }
        match self.ro.steps.as_ref().map(|e| (e, self.eval(e, diags))) {
            None => Some(vec![0.1, 0.5, 1.0]),
            Some((_, Value::Unknown)) if !self.exists => Some(vec![0.1, 0.5, 1.0]),
            Some((e, Value::List(items))) => {
                let f: Vec<Option<f64>> = items.iter().map(fraction).collect();
                let ok = !f.is_empty()
                    && f.len() <= MAX_STEPS
                    && f.iter().all(Option::is_some)
                    && f.windows(2).all(|w| w[0] < w[1])
                    && f.last() == Some(&Some(1.0));
                if !ok {
                    diags.push(Diagnostic::error(
                        "Invalid rollout steps",
                        format!("steps are at most {MAX_STEPS} rising percentages ending at 100%, such as [5%, 25%, 50%, 100%]."),
                        e.span,
                    ));
                    return None;
                }
                Some(f.into_iter().flatten().collect())
            }
            Some((e, _)) => {
                diags.push(Diagnostic::error(
                    "Invalid rollout steps",
                    "steps is a list of percentages, such as [5%, 25%, 50%, 100%].".to_string(),
                    e.span,
                ));
                None
            }
        }
    }

    /// Steps that wait for `landform rollout promote`: each one of `steps`.
    fn gates(&self, steps: &[f64], diags: &mut Vec<Diagnostic>) -> Option<Vec<f64>> {
        let ro = self.ro;
        match ro.gates.as_ref().map(|e| (e, self.eval(e, diags))) {
            None => Some(Vec::new()),
            Some((_, Value::Unknown)) if !self.exists => Some(Vec::new()),
            Some((e, Value::List(items))) => {
                let f: Vec<Option<f64>> = items.iter().take(MAX_STEPS + 1).map(fraction).collect();
                if f.len() > MAX_STEPS
                    || f.iter().any(|g| g.is_none_or(|g| !steps.iter().any(|s| (s - g).abs() < 1e-9)))
                {
                    diags.push(Diagnostic::error(
                        "Invalid rollout gates",
                        format!(
                            "gates are steps that wait for `landform rollout promote {}`; each must be one of the steps ({}).",
                            ro.name,
                            steps.iter().map(|s| pct(*s)).collect::<Vec<_>>().join(", ")
                        ),
                        e.span,
                    ));
                    return None;
                }
                Some(f.into_iter().flatten().collect())
            }
            Some((e, _)) => {
                diags.push(Diagnostic::error(
                    "Invalid rollout gates",
                    "gates is a list of steps, such as [50%].".to_string(),
                    e.span,
                ));
                None
            }
        }
    }

    /// A duration setting in milliseconds, `default` when it is not given.
    fn duration(
        &self,
        e: Option<&landform_lang::syntax::Expr>,
        default: u64,
        what: &str,
        diags: &mut Vec<Diagnostic>,
    ) -> Option<u64> {
        match e.map(|e| (e, self.eval(e, diags))) {
            None => Some(default),
            Some((_, Value::Unknown)) if !self.exists => Some(default),
            Some((_, Value::Duration(ms))) => Some(ms),
            Some((e, _)) => {
                diags.push(Diagnostic::error(
                    format!("Invalid rollout {what}"),
                    format!("{what} is a duration, such as 30s."),
                    e.span,
                ));
                None
            }
        }
    }

    /// A count setting (a `u32`), `default` when it is not given.
    fn whole_number(
        &self,
        e: Option<&landform_lang::syntax::Expr>,
        default: u32,
        summary: &str,
        detail: &str,
        diags: &mut Vec<Diagnostic>,
    ) -> Option<u32> {
        match e.map(|e| self.eval(e, diags)) {
            None => Some(default),
            Some(Value::Unknown) if !self.exists => Some(default),
            Some(Value::Number(n)) if n.to_i64().is_some_and(|i| (0..=i64::from(u32::MAX)).contains(&i)) => {
                Some(n.to_i64().unwrap_or(0) as u32)
            }
            Some(_) => {
                diags.push(Diagnostic::error(summary, detail.to_string(), e.map_or(self.ro.span, |e| e.span)));
                None
            }
        }
    }

    /// One metric of the analysis, checked: `None` (said in `diags`) when it is invalid.
    fn metric(&self, m: &Metric, diags: &mut Vec<Diagnostic>) -> Option<MetricSpec> {
        let source = self.metric_source(m, diags)?;
        let own = self.switch.metric_source().filter(|m| m.name == source);
        let compare = self.compare(m, &source, diags)?;
        let for_ms = self.duration(m.for_.as_ref(), 0, "metric for", diags)?;
        let stat = self.stat(m, &source, own.is_some_and(|m| m.response_time), diags)?;
        if compare && stat.response_time {
            diags.push(Diagnostic::error(
                "Invalid metric compare",
                "compare = \"stable\" compares error rates; it does not work with stat = \"response_time\"."
                    .to_string(),
                m.span,
            ));
            return None;
        }
        let endpoint = self.endpoint(m, &source, diags)?;
        let mut unit = None;
        let (max, min) = (self.bound(&m.max, &mut unit, diags), self.bound(&m.min, &mut unit, diags));
        Some(MetricSpec {
            name: m.name.clone(),
            source,
            max,
            min,
            url: endpoint.url,
            query: endpoint.query,
            for_ms,
            compare,
            percentile: stat.percentile,
            response_time: stat.response_time,
            sensitive: endpoint.sensitive,
            unit,
        })
    }

    /// A metric's source: one the CLI measures, or one of this switch's kind.
    fn metric_source(&self, m: &Metric, diags: &mut Vec<Diagnostic>) -> Option<String> {
        let sources = self.sources;
        let known = |s: &str| sources.iter().any(|(_, m)| m.name == s) || OWN_SOURCES.iter().any(|(k, _)| *k == s);
        let source = match m.source.as_ref().map(|e| self.eval(e, diags)) {
            Some(Value::String(s)) if known(&s) => s,
            _ => {
                diags.push(Diagnostic::error(
                    "Invalid metric source",
                    format!(
                        "source is one of: {}.",
                        sources
                            .iter()
                            .map(|(_, m)| (m.name, m.description))
                            .chain(OWN_SOURCES.iter().copied())
                            .map(|(k, what)| format!("\"{k}\" ({what})"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    m.source.as_ref().map_or(m.span, |e| e.span),
                ));
                return None;
            }
        };
        // A source of a switch's statistics reads them from switches of its kind only.
        let own = self.switch.metric_source().filter(|m| m.name == source);
        let wrong = if from_switch(&source) && own.is_none() {
            sources.iter().find(|(_, m)| m.name == source).map(|(t, _)| *t)
        } else {
            None
        };
        if let Some(t) = wrong {
            diags.push(Diagnostic::error(
                "Invalid metric source",
                format!(
                    "A {source} metric reads the statistics of a {t} switch; this rollout's switch is {}.",
                    self.addr
                ),
                m.source.as_ref().map_or(m.span, |e| e.span),
            ));
            return None;
        }
        Some(source)
    }

    /// `compare = "stable"`, for a metric the switch measures for both pools.
    fn compare(&self, m: &Metric, source: &str, diags: &mut Vec<Diagnostic>) -> Option<bool> {
        match m.compare.as_ref().map(|e| (e, self.eval(e, diags))) {
            None => Some(false),
            Some((_, Value::String(s))) if s == "stable" && from_switch(source) => Some(true),
            Some((e, _)) => {
                diags.push(Diagnostic::error(
                    "Invalid metric compare",
                    format!(
                        "compare = \"stable\" compares the canary with the stable pool; it works for metrics the switch measures for both ({}).",
                        self.sources.iter().map(|(_, m)| m.name).collect::<Vec<_>>().join(", ")
                    ),
                    e.span,
                ));
                None
            }
        }
    }

    /// A metric's `stat`, for its source; `timed` says whether the switch measures response times.
    fn stat(&self, m: &Metric, source: &str, timed: bool, diags: &mut Vec<Diagnostic>) -> Option<Stat> {
        let stat = m.stat.as_ref().map(|e| (e, self.eval(e, diags)));
        let stat_text = match &stat {
            Some((_, Value::String(s))) => Some(s.clone()),
            _ => None,
        };
        let percentile = stat_text
            .as_deref()
            .filter(|_| source == "http")
            .and_then(|s| s.strip_prefix('p'))
            .and_then(|n| n.parse::<f64>().ok())
            .filter(|n| *n > 0.0 && *n <= 100.0);
        let response_time = timed && stat_text.as_deref() == Some("response_time");
        let plain = match stat_text.as_deref() {
            Some("success") => source == "http",
            Some("error_rate") => from_switch(source),
            _ => false,
        };
        if let Some((e, _)) = stat.filter(|_| percentile.is_none() && !response_time && !plain) {
            self.invalid_stat(e, diags);
            return None;
        }
        Some(Stat { percentile, response_time })
    }

    fn invalid_stat(&self, e: &landform_lang::syntax::Expr, diags: &mut Vec<Diagnostic>) {
        let sources = self.sources;
        let timed: Vec<&str> = sources.iter().filter(|(_, m)| m.response_time).map(|(_, m)| m.name).collect();
        let others: Vec<&str> = sources.iter().filter(|(_, m)| !m.response_time).map(|(_, m)| m.name).collect();
        let mut switch_stats = Vec::new();
        if !timed.is_empty() {
            switch_stats
                .push(format!("\"error_rate\" (the default) or \"response_time\" for {} metrics", timed.join(" and ")));
        }
        if !others.is_empty() {
            switch_stats.push(format!("\"error_rate\" for {} metrics", others.join(" and ")));
        }
        diags.push(Diagnostic::error(
            "Invalid metric stat",
            format!(
                "stat is \"success\" (the default) or a latency percentile such as \"p95\" for http metrics, {}; bounds of latencies are durations (max = 500ms).",
                switch_stats.join(", ")
            ),
            e.span,
        ));
    }

    /// A metric's url and query, those its source needs given. A URL or query
    /// may carry a secret (a token): kept, but never shown.
    fn endpoint(&self, m: &Metric, source: &str, diags: &mut Vec<Diagnostic>) -> Option<Endpoint> {
        let mut sensitive = false;
        let mut string = |e: &Option<landform_lang::syntax::Expr>, diags: &mut Vec<Diagnostic>| {
            e.as_ref().and_then(|e| {
                let mut ev = Evaluator::new(self.host);
                let v = ev.eval(e, self.world.scope(&ModulePath::new()));
                diags.append(&mut ev.diags);
                let (v, secret) = v.unmark_deep();
                sensitive |= secret;
                match v {
                    Value::String(s) if !s.is_empty() => Some(s),
                    _ => None,
                }
            })
        };
        let (url, query) = (string(&m.url, diags), string(&m.query, diags));
        let needs = match source {
            "http" if url.is_none() => Some("url = \"http://…\" (the address to probe)"),
            "prometheus" if url.is_none() || query.is_none() => {
                Some("url = \"http://prometheus:9090\" and query = \"…\" (an instant query)")
            }
            _ => None,
        };
        if let Some(needs) = needs {
            diags.push(Diagnostic::error("Incomplete metric", format!("A {source} metric needs {needs}."), m.span));
            return None;
        }
        Some(Endpoint { url, query, sensitive })
    }

    /// A metric's bound in its unit; `unit` takes how the first bound given was written.
    fn bound(
        &self,
        e: &Option<landform_lang::syntax::Expr>,
        unit: &mut Option<String>,
        diags: &mut Vec<Diagnostic>,
    ) -> Option<f64> {
        let (e, v) = e.as_ref().map(|e| (e, self.eval(e, diags)))?;
        let f = match v {
            Value::Percent(p) => Some((p / 100.0, "percent")),
            Value::Duration(ms) => Some((ms as f64 / 1000.0, "duration")),
            Value::Number(n) => Some((n.to_f64(), "number")),
            _ => None,
        };
        if let Some((_, u)) = f {
            unit.get_or_insert(u.to_string());
        }
        let f = f.map(|(f, _)| f);
        if f.is_none() {
            diags.push(Diagnostic::error(
                "Invalid metric bound",
                "A bound is a percentage (max = 1%), a duration (max = 500ms) or a number.".to_string(),
                e.span,
            ));
        }
        f
    }
}

/// A short, stable fingerprint of a value (FNV-1a over its JSON).
fn fingerprint(v: &Json) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in v.to_string().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("{h:016x}")
}

/// The weights for the canary's share `p` of the whole switch.
pub fn weights_at(plan: &RolloutPlan, p: f64) -> Map<String, Json> {
    let base = if plan.baseline.is_empty() { &plan.from } else { &plan.baseline };
    weights_for(plan.max_weight, base, &plan.stable, &plan.canary, p)
}

/// The canary's share of the whole switch in `weights`.
pub fn share(plan: &RolloutPlan, weights: &Map<String, Json>) -> f64 {
    whole_share(weights, &plan.canary)
}

/// `target`'s share of every server's (target group's) traffic: its weight
/// over the sum of all weights, as HAProxy and an ALB divide it.
pub fn whole_share(weights: &Map<String, Json>, target: &str) -> f64 {
    let total: f64 = weights.values().filter_map(Json::as_f64).map(|w| w.max(0.0)).sum();
    let own = weights.get(target).and_then(Json::as_f64).unwrap_or(0.0).max(0.0);
    if total <= 0.0 {
        0.0
    } else {
        own / total
    }
}

/// The weights that give the canary the share `p` of the whole switch, from
/// the weights the run started with: every other server (the stable one and
/// any beside it) keeps its proportion of the rest, so a second stable
/// server dilutes nothing; at 100% they are all at 0. Whole weights, at most
/// the switch's `max_weight` (HAProxy 256, ALB 999), on a scale of at least 100
/// so that small steps have a weight; 0% is the starting weights as they
/// were (the canary at 0; the stable server at 100 when nothing had any).
pub fn weights_for(max_weight: u32, base: &Map<String, Json>, stable: &str, canary: &str, p: f64) -> Map<String, Json> {
    let max = f64::from(max_weight);
    let w = |k: &str| base.get(k).and_then(Json::as_f64).unwrap_or(0.0).max(0.0);
    let mut rest: Vec<(String, f64)> = base.keys().filter(|k| *k != canary).map(|k| (k.clone(), w(k))).collect();
    if !rest.iter().any(|(_, v)| *v > 0.0) {
        // Nothing had traffic but (perhaps) the canary: the stable server stands for the rest.
        rest.retain(|(k, _)| k != stable);
        rest.push((stable.to_string(), 100.0));
    }
    let sum: f64 = rest.iter().map(|(_, v)| v).sum();
    let mut out = base.clone();
    if p <= 0.0 {
        for (k, v) in &rest {
            out.insert(k.clone(), json!(*v as i64));
        }
        out.insert(canary.to_string(), json!(0));
        return out;
    }
    let raw_canary = p * sum;
    let raw_max = rest.iter().map(|(_, v)| v * (1.0 - p)).fold(raw_canary, f64::max);
    let scale = (100.0 / sum).max(1.0).min(max / raw_max);
    for (k, v) in &rest {
        out.insert(k.clone(), json!((v * (1.0 - p) * scale).round() as i64));
    }
    out.insert(canary.to_string(), json!((raw_canary * scale).round().min(max) as i64));
    out
}

/// About the smallest share above 0 the canary can get on this switch.
fn smallest_step(max_weight: u32, base: &Map<String, Json>, stable: &str, canary: &str) -> f64 {
    let mut p = 0.001;
    while p < 1.0 {
        let w = weights_for(max_weight, base, stable, canary, p);
        let s = whole_share(&w, canary);
        if s > 0.0 && (p - s).abs() <= p * 0.5 {
            return s;
        }
        p += 0.001;
    }
    1.0
}

/// A share as people read it: 0.05 is `5%`, 0.125 is `12.5%`.
pub fn pct(f: f64) -> String {
    let p = (f * 1000.0).round() / 10.0;
    if p.fract() == 0.0 {
        format!("{}%", p as i64)
    } else {
        format!("{p}%")
    }
}

/// The plan's words for a rollout.
pub fn render(plan: &RolloutPlan, bold: &str, reset: &str) -> String {
    remember_secrets(plan);
    let weights =
        |m: &Map<String, Json>| m.iter().map(|(k, v)| format!("{} = {v}", pool(k))).collect::<Vec<_>>().join(", ");
    let metrics = if plan.metrics.is_empty() {
        "none (each step only waits)".to_string()
    } else {
        plan.metrics
            .iter()
            .map(|m| {
                let mut s = match m.source.as_str() {
                    source if m.response_time => {
                        format!("{} ({source} response time of {})", m.name, pool(&plan.canary))
                    }
                    source if from_switch(source) => {
                        format!("{} ({source} error rate of {})", m.name, pool(&plan.canary))
                    }
                    "http" => match m.percentile {
                        Some(p) => format!("{} (http p{p} latency of {})", m.name, m.shown_url()),
                        None => format!("{} (http success of {})", m.name, m.shown_url()),
                    },
                    _ => format!("{} (prometheus {})", m.name, m.shown_query()),
                };
                if let Some(x) = m.max {
                    s.push_str(&format!(" <= {}", m.shown(x)));
                }
                if let Some(x) = m.min {
                    s.push_str(&format!(" >= {}", m.shown(x)));
                }
                if m.for_ms > 0 {
                    s.push_str(&format!(" for {}", landform_lang::value::format_duration(m.for_ms)));
                }
                if m.compare {
                    s.push_str(&format!(", not worse than {}", pool(&plan.stable)));
                }
                s
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    let mut extra = String::new();
    if !plan.gates.is_empty() {
        extra.push_str(&format!(
            "        gates    = [{}] (each waits for `landform rollout promote {}`)\n",
            plan.gates.iter().map(|s| pct(*s)).collect::<Vec<_>>().join(", "),
            plan.name
        ));
    }
    if plan.strategy == "blue_green" {
        extra.push_str(&format!(
            "        # {} is analysed through its own address first, then takes all traffic at once; {} is kept ready for `landform rollout rollback {}` for {}\n",
            pool(&plan.canary),
            pool(&plan.stable),
            plan.name,
            landform_lang::value::format_duration(plan.rollback_window_ms)
        ));
    }
    if let Some(g) = plan.waiting {
        extra.push_str(&format!(
            "        # paused before {}: waiting for `landform rollout promote {}`\n",
            pct(g),
            plan.name
        ));
    }
    format!(
        "  {bold}# rollout.{} will move traffic on {} from {} to {}{reset}\n  ~ rollout \"{}\" {{\n        strategy = \"{}\"\n        weights  = {{ {} }} -> {{ {} }}\n        steps    = [{}], pause {} after each\n        analysis = {}, every {}, failure_limit {}\n{extra}        # about {} if every step passes; a failed analysis puts all traffic back on {}\n    }}\n",
        plan.name,
        plan.switch,
        pool(&plan.stable),
        pool(&plan.canary),
        plan.name,
        plan.strategy,
        weights(&plan.from),
        weights(&plan.to),
        plan.steps.iter().map(|s| pct(*s)).collect::<Vec<_>>().join(", "),
        landform_lang::value::format_duration(plan.pause_ms),
        metrics,
        landform_lang::value::format_duration(plan.interval_ms),
        plan.failure_limit,
        landform_lang::value::format_duration(plan.estimated_ms()),
        pool(&plan.stable)
    )
}

/// What `validate` can say of the rollout blocks without a state or values:
/// everything `plan_rollouts` checks, except on expressions that depend on
/// variables or resources (unknown until a plan).
pub fn validate_rollouts(
    tree: &landform_lang::module::LoadedModule,
    sources: &landform_lang::source::SourceMap,
    host: &dyn Host,
    providers: &Providers,
) -> Vec<Diagnostic> {
    let Ok(graph) = crate::build::build(tree, sources) else { return Vec::new() };
    let world = World::new(&graph, Value::Unknown, host);
    let mut diags = Vec::new();
    plan_rollouts(&graph, &world, host, providers, &HashMap::new(), &Default::default(), &mut diags);
    // Spans of the rollouts' expressions that are not constants.
    let mut open: Vec<landform_lang::source::Span> = Vec::new();
    for ro in &tree.module.rollouts {
        let mut exprs: Vec<&landform_lang::syntax::Expr> = vec![&ro.stable, &ro.canary];
        exprs.extend(
            [
                &ro.strategy,
                &ro.steps,
                &ro.pause,
                &ro.interval,
                &ro.failure_limit,
                &ro.consecutive_error_limit,
                &ro.gates,
                &ro.progress_deadline,
                &ro.rollback_window,
            ]
            .into_iter()
            .flatten(),
        );
        for m in &ro.metrics {
            exprs.extend(
                [&m.source, &m.max, &m.min, &m.url, &m.query, &m.for_, &m.compare, &m.stat].into_iter().flatten(),
            );
            // A url or query known only at plan time: "incomplete" says nothing yet.
            if [&m.url, &m.query].into_iter().flatten().any(|e| !landform_lang::refs::references(e).is_empty()) {
                open.push(m.span);
            }
        }
        open.extend(exprs.into_iter().filter(|e| !landform_lang::refs::references(e).is_empty()).map(|e| e.span));
    }
    diags.retain(|d| {
        let Some(at) = d.span else { return true };
        !open.iter().any(|s| s.file == at.file && s.start <= at.start && at.end <= s.end)
    });
    diags
}

#[cfg(test)]
mod tests {
    use super::interval_response_ms;

    /// Figures read from HAProxy 2.6.12's `show stat` (rtime, req_tot) in
    /// front of a server after 1,100 answers of about 1 ms, then 3, 10 and
    /// 30 answers of 401 ms: HAProxy printed 1 -> 4 -> 11 -> 34 ms, and the
    /// bounds recovered from two reads hold the true 401 ms each time,
    /// tightening as answers come.
    #[test]
    fn the_intervals_mean_response_time_is_recovered_from_haproxys_running_average() {
        for (before, after, width) in
            [((1.0, 1110), (4.0, 1113), 400.0), ((4.0, 1113), (11.0, 1123), 110.0), ((11.0, 1123), (34.0, 1153), 40.0)]
        {
            let (lo, mid, hi) = interval_response_ms(before, after).unwrap();
            assert!(lo <= 401.0 && 401.0 <= hi, "{before:?} -> {after:?}: {lo}..{hi}");
            assert!(lo <= mid && mid <= hi && hi - lo <= width, "{before:?} -> {after:?}: {lo}..{hi}");
        }
        // A fresh server: 5 answers of about 100 ms, then 5 of about 300 ms (102 -> 202 printed).
        let (lo, _, hi) = interval_response_ms((102.0, 5), (202.0, 10)).unwrap();
        assert!(lo <= 302.0 && 300.0 <= hi && hi - lo <= 6.0, "{lo}..{hi}");
        // No answers in between, or counters that went back (a reload): nothing to say.
        assert_eq!(interval_response_ms((4.0, 10), (4.0, 10)), None);
        assert_eq!(interval_response_ms((4.0, 10), (3.0, 2)), None);
    }
}

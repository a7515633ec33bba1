//! Apply: run a plan's changes concurrently in dependency order, at most
//! `parallelism` provider operations at once, committing the state after each
//! operation (several that finish together share one commit). A failure skips
//! only what depends on it; a stop request starts nothing new and lets what is
//! in flight finish and commit.

use crate::addr::{Key, ResourceAddr};
use crate::build::{ConfigGraph, ModulePath};
use crate::convert::to_value;
use crate::plan::{Action, Plan, ResourceChange};
use crate::planner::{config_hash, resource_dependencies};
use crate::providers::Providers;
use crate::walk::Walk;
use crate::world::World;
use landform_lang::config::Mode;
use landform_lang::diag::Diagnostic;
use landform_lang::module::LoadedModule;
use landform_lang::{Host, SourceMap, Value};
use landform_provider::{ApplyRequest, ApplyResponse, Object, Provider, ProviderError, ReadDataRequest};
use landform_state::{Change, Deposed, OutputRecord, ResourceRecord, Snapshot, Storage};
use petgraph::graph::NodeIndex;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod consistent;
mod destroy;
mod rollouts;
mod start;

/// What apply tells the person watching.
#[derive(Clone, Debug)]
pub enum Event {
    /// How many operations the apply will run.
    Total(usize),
    Started {
        addr: String,
        action: Action,
    },
    Finished {
        addr: String,
        action: Action,
        elapsed: Duration,
        id: Option<String>,
    },
    Failed {
        addr: String,
        action: Action,
        error: String,
    },
    /// A line of its own: a rollout's steps and analysis.
    Message(String),
    /// A line that replaces the previous one with the same key on a
    /// terminal (a rollout's live metric values); printed as it is otherwise.
    Live {
        key: String,
        line: String,
    },
    /// A rollout started, resumed, took a step, paused for a person,
    /// completed or rolled back (`event`), with its record as the state keeps it.
    Rollout {
        name: String,
        event: String,
        record: serde_json::Value,
    },
    Skipped {
        addr: String,
        because: String,
    },
}

pub trait Progress: Send + Sync {
    fn event(&self, e: Event);
}

pub struct ApplyContext<'a> {
    pub tree: &'a LoadedModule,
    pub sources: &'a SourceMap,
    pub providers: &'a Providers,
    pub host: &'a (dyn Host + Sync),
    pub storage: Arc<dyn Storage>,
    pub state: Snapshot,
    pub variables: Value,
    pub parallelism: usize,
    pub stop: Arc<AtomicBool>,
    /// Where rollouts measure `http` and `prometheus` metrics.
    pub measure: Option<Arc<dyn crate::rollout::Measure>>,
    /// Whether a person asked (`landform rollout abort NAME`, from another
    /// process) to abort the named rollout while this apply runs it.
    pub abort_requested: Option<AbortCheck>,
}

/// Asked with a rollout's name and when its run started (RFC 3339): whether
/// a person asked to abort that run (a request made before it started was
/// for an earlier run, and is dropped, never acted on).
pub type AbortCheck = Arc<dyn Fn(&str, &str) -> bool + Send + Sync>;

#[derive(Debug, Default)]
pub struct ApplyReport {
    /// Objects `import` blocks brought under management.
    pub imported: usize,
    /// Instances `moved` blocks renamed in the state.
    pub moved: usize,
    /// Instances `removed` blocks dropped from the state (their objects kept).
    pub forgotten: usize,
    pub added: usize,
    pub changed: usize,
    pub destroyed: usize,
    /// Errors, each naming the resource address.
    pub errors: Vec<(String, String)>,
    pub diagnostics: Vec<Diagnostic>,
    pub interrupted: bool,
    pub outputs: BTreeMap<String, OutputRecord>,
    /// Why the state could not be saved, after retries. Apply stopped starting
    /// operations then; what it could not save is in `uncommitted`.
    pub state_error: Option<String>,
    /// Results that are not in the state because a commit failed, in order.
    pub uncommitted: Vec<Change>,
    /// Rollouts that completed or paused for a person: how each ended, in words.
    pub rollouts: Vec<String>,
    /// After a failed commit: the state apply started from, with every change
    /// it made, saved or not: what the recovery file holds.
    pub recovery: Option<Snapshot>,
}

impl ApplyReport {
    /// "1 imported, 2 added, 0 changed, 0 destroyed", as the closing lines say it.
    pub fn counts(&self) -> String {
        let imported = if self.imported > 0 { format!("{} imported, ", self.imported) } else { String::new() };
        let forgotten = if self.forgotten > 0 { format!(", {} forgotten", self.forgotten) } else { String::new() };
        format!("{imported}{} added, {} changed, {} destroyed{forgotten}", self.added, self.changed, self.destroyed)
    }
}

/// Why a saved plan cannot be applied.
pub fn check_plan_is_current(plan: &Plan, sources: &SourceMap, state: &Snapshot) -> Result<(), String> {
    if plan.lineage != state.lineage {
        return Err(format!(
            "The saved plan was made for another state (lineage {}, but this state's is {}). Run landform plan again.",
            plan.lineage, state.lineage
        ));
    }
    if plan.serial != state.serial {
        return Err(format!(
            "The saved plan is stale: the state has changed since it was made (serial {} then, {} now). Run landform plan again to see what would change now.",
            plan.serial, state.serial
        ));
    }
    if plan.config_hash != config_hash(sources) {
        return Err(
            "The saved plan is stale: the configuration files have changed since it was made. Run landform plan again."
                .into(),
        );
    }
    Ok(())
}

/// The result of one provider operation, back on the coordinator.
struct Done {
    addr: String,
    action: Action,
    /// False when a stop came before the operation could start.
    started: bool,
    /// The step of a two-step replace this finishes.
    step: Step,
    result: Result<Option<Object>, ProviderError>,
    /// The provider's private data about the new object.
    private: Vec<u8>,
    /// The provider's warnings about what it did.
    warnings: Vec<ProviderError>,
    elapsed: Duration,
    /// The destroy (`destroy::Doom`) this finishes, if it is one.
    doom: Option<usize>,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Step {
    Only,
    /// The create half of create-then-delete: the old object is destroyed
    /// once its dependents are updated, with the other deletes.
    CreateFirst,
    /// The create half of delete-then-create: the old object was destroyed
    /// before the walk, after what depends on it.
    Second,
}

struct Job {
    addr: String,
    action: Action,
    step: Step,
    provider: Arc<dyn Provider>,
    type_name: String,
    data: bool,
    prior: Option<Object>,
    /// The private data stored with `prior`.
    prior_private: Vec<u8>,
    config: Option<Object>,
    /// The private data of the final plan this carries out (`ApplyRequest::planned`).
    planned: Option<Vec<u8>>,
    /// The create half of a create_before_destroy replacement whose old
    /// object is another object (not rewritten in place): the old one is
    /// deposed before this runs.
    depose: bool,
    /// The destroy (`destroy::Doom`) this is, if it is one.
    doom: Option<usize>,
}

impl Job {
    /// Does this job create an object (and so record its intent first)?
    fn creates(&self) -> bool {
        !self.data
            && match self.step {
                Step::CreateFirst | Step::Second => true,
                Step::Only => self.action == Action::Create,
            }
    }
}

fn run_job(job: &Job) -> Result<ApplyResponse, ProviderError> {
    if job.data {
        let cfg = job.config.clone().unwrap_or_default();
        let state = job.provider.read_data(ReadDataRequest { type_name: &job.type_name, config: &cfg })?;
        return Ok(ApplyResponse { state: Some(state), ..ApplyResponse::default() });
    }
    job.provider.apply(ApplyRequest {
        type_name: &job.type_name,
        prior: job.prior.as_ref(),
        config: job.config.as_ref(),
        planned: job.planned.as_deref(),
        prior_private: &job.prior_private,
    })
}

/// A resource instance waiting for its operation.
struct Pending {
    node: NodeIndex,
    module: ModulePath,
    index: usize,
    key: Key,
    provider_name: String,
    create_before_destroy: bool,
    sensitive: BTreeSet<String>,
    /// The configured values at the hidden paths: a provider's copy of one is hidden too.
    secrets: crate::sensitivity::Secrets,
    /// The new object of a create-then-delete, kept while the old one is deleted.
    created: Option<Object>,
    /// `each.value`, for the instance's postconditions.
    each_value: Value,
    /// A create_before_destroy replacement that rewrote its old object in
    /// place (the same id): the old object is gone with no destroy.
    in_place: bool,
    /// The provider's private data about the object its apply returned.
    private: Vec<u8>,
}

impl Pending {
    /// What the object the provider returned hides: the planned paths and its copies of secrets.
    fn hidden(&self, obj: &Object) -> BTreeSet<String> {
        let mut out = self.sensitive.clone();
        out.extend(crate::sensitivity::copied_paths(&self.secrets, obj));
        out
    }
}

pub async fn apply(ctx: ApplyContext<'_>, plan: &Plan, progress: Arc<dyn Progress>) -> ApplyReport {
    let mut report = ApplyReport::default();
    // The module instances the plan was made with: the same variables give the same.
    let (instances, _) = crate::build::module_instances(ctx.tree, &ctx.variables, ctx.host);
    let graph = match crate::build::build_with(ctx.tree, ctx.sources, Some(&instances)) {
        Ok(g) => g,
        Err(d) => {
            report.diagnostics = d;
            return report;
        }
    };
    progress.event(Event::Total(operations(plan)));
    let mut state: HashMap<String, ResourceRecord> =
        ctx.state.resources.iter().map(|r| (r.addr.clone(), r.clone())).collect();
    let mut run = Runner::new(&ctx, &graph, plan, progress);
    run.save_what_the_plan_saw(plan, &mut state, &mut report);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Done>();
    run.tx = Some(tx);
    run.walk(plan, &mut state, &mut report, &mut rx).await;
    if run.stopping() {
        report.interrupted = true;
    }
    // An instance the plan has in a module instance apply no longer finds
    // (its for_each or count changed since): an error, never dropped unseen.
    if !report.interrupted && run.failed.is_empty() {
        report.errors.extend(run.planned.unseen(&run.seen));
    }
    if !report.interrupted {
        run.save_data_sources(plan, &mut state, &mut report);
    }
    // `check` assertions, those unknown at plan time included: warnings.
    if !plan.destroy && !report.interrupted {
        crate::planner::check_blocks(&graph, &run.world, ctx.host, &mut report.diagnostics);
    }

    // Rollouts, once every resource change is in, and only if all went well.
    let failed_before = !report.errors.is_empty() || report.diagnostics.iter().any(Diagnostic::is_error);
    if !report.interrupted && !failed_before && report.state_error.is_none() {
        for r in &plan.rollouts {
            run.rollout(r, &mut state, &mut report).await;
            if report.interrupted || report.state_error.is_some() {
                break;
            }
        }
    }
    // Outputs of the root module, once everything they could use is applied.
    if !report.interrupted {
        run.save_outputs(plan, &mut report);
    }
    if report.state_error.is_some() {
        let mut snap = ctx.state.clone();
        let journal: Vec<Change> = run.journal.iter().filter_map(Journaled::change).collect();
        snap.apply(&journal);
        snap.apply(&report.uncommitted);
        snap.serial += run.commits + 1;
        report.recovery = Some(snap);
    }
    report
}

/// How many operations applying `plan` runs: a replace is two (a create and
/// a destroy), and each rollout step still to take is one more (done when its
/// analysis passes).
fn operations(plan: &Plan) -> usize {
    let changes = plan
        .resource_changes
        .iter()
        .map(|c| match c.action {
            Action::NoOp | Action::Forget => 0,
            a if a.is_replace() => 2,
            _ => 1,
        })
        .sum::<usize>();
    let steps: usize = plan
        .rollouts
        .iter()
        .map(|r| {
            let done = crate::rollout::share(r, &r.from);
            r.steps.iter().filter(|p| **p > done + 1e-9).count()
        })
        .sum();
    changes + steps
}

/// A committed change as the journal keeps it: records as their JSON text,
/// a third of their size in memory; intents not at all (their results settle them).
enum Journaled {
    Put(Box<[u8]>),
    Delete(String),
    Outputs(BTreeMap<String, OutputRecord>),
    Rollout(String, Option<serde_json::Value>),
    Depose(Box<Deposed>),
    DeleteDeposed(String, String),
}

impl Journaled {
    fn of(c: &Change) -> Option<Journaled> {
        match c {
            Change::Put(rec) => serde_json::to_vec(rec).ok().map(|b| Journaled::Put(b.into_boxed_slice())),
            Change::Delete(a) => Some(Journaled::Delete(a.clone())),
            Change::Outputs(o) => Some(Journaled::Outputs(o.clone())),
            Change::Rollout(n, r) => Some(Journaled::Rollout(n.clone(), r.clone())),
            Change::Depose(d) => Some(Journaled::Depose(d.clone())),
            Change::DeleteDeposed { addr, key } => Some(Journaled::DeleteDeposed(addr.clone(), key.clone())),
            Change::Intent(_) | Change::ClearIntent(_) => None,
        }
    }

    fn change(&self) -> Option<Change> {
        Some(match self {
            Journaled::Put(b) => Change::Put(Box::new(serde_json::from_slice(b).ok()?)),
            Journaled::Delete(a) => Change::Delete(a.clone()),
            Journaled::Outputs(o) => Change::Outputs(o.clone()),
            Journaled::Rollout(n, r) => Change::Rollout(n.clone(), r.clone()),
            Journaled::Depose(d) => Change::Depose(d.clone()),
            Journaled::DeleteDeposed(addr, key) => Change::DeleteDeposed { addr: addr.clone(), key: key.clone() },
        })
    }
}

/// Wait for at least one finished operation, then take every other that is
/// ready too, so that they share one commit.
async fn next_batch(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Done>) -> Option<Vec<Done>> {
    let mut batch = vec![rx.recv().await?];
    while let Ok(more) = rx.try_recv() {
        batch.push(more);
    }
    Some(batch)
}

struct Runner<'a, 'g> {
    // Shared with the tasks that run operations, which report their own start.
    ctx: &'a ApplyContext<'a>,
    graph: &'g ConfigGraph<'g>,
    /// The plan's changes by instance address (deposed objects' are the
    /// destroys of `apply/destroy.rs`).
    changes: HashMap<&'a str, &'a ResourceChange>,
    world: World<'g>,
    sem: Arc<tokio::sync::Semaphore>,
    /// Jobs waiting for a permit, handed one at a time to the task that
    /// grants them: permits go in the order jobs were spawned (so
    /// `--parallelism 1` runs them in the walk's order, not the scheduler's).
    dispatch: Option<tokio::sync::mpsc::UnboundedSender<Starter>>,
    tx: Option<tokio::sync::mpsc::UnboundedSender<Done>>,
    in_flight: usize,
    pending: HashMap<String, Pending>,
    /// Instances each resource node still waits for.
    node_waiting: HashMap<NodeIndex, usize>,
    failed: HashSet<NodeIndex>,
    outputs: BTreeMap<String, OutputRecord>,
    progress: Arc<dyn Progress>,
    /// Every result committed, for the recovery file should a later commit fail.
    journal: Vec<Journaled>,
    commits: u64,
    /// Jobs waiting for `launch`.
    queue: Vec<Job>,
    /// Addresses with an intent to create in the state, not yet settled.
    intended: HashSet<String>,
    /// Instances whose create an earlier apply left under way, and that
    /// their provider could not find: created again here.
    recreated: HashSet<String>,
    /// The plan's instances and data reads, which apply holds itself to.
    planned: consistent::Planned,
    /// Old objects of create-then-delete replaces, deposed in the state
    /// before their successors are created, destroyed after the walk.
    deposed: Vec<Deposed>,
    /// The key of the deposed object each destroy under way is of.
    destroying: HashMap<usize, String>,
    /// Destroys that failed or were skipped: what waits on them is skipped.
    failed_destroys: HashSet<usize>,
    /// Every instance address the walk found in the configuration.
    seen: HashSet<String>,
    /// Delete-then-create replaces whose old object could not be destroyed.
    not_destroyed: HashSet<String>,
    /// The records of delete-then-create replaces' old objects, destroyed
    /// before the walk: their `ignore_changes` values still count.
    replaced_old: HashMap<String, ResourceRecord>,
    /// The records of the data sources the plan read, as it read them: saved
    /// after the walk, as Terraform keeps its data sources in the state.
    data_records: Vec<ResourceRecord>,
}

impl<'a, 'g> Runner<'a, 'g> {
    fn new(ctx: &'a ApplyContext<'a>, graph: &'g ConfigGraph<'g>, plan: &'a Plan, progress: Arc<dyn Progress>) -> Self {
        Runner {
            ctx,
            graph,
            changes: plan
                .resource_changes
                .iter()
                .filter(|c| c.deposed.is_none())
                .map(|c| (c.address.as_str(), c))
                .collect(),
            world: World::new(graph, ctx.variables.clone(), ctx.host),
            sem: Arc::new(tokio::sync::Semaphore::new(ctx.parallelism.max(1))),
            dispatch: None,
            tx: None,
            in_flight: 0,
            pending: HashMap::new(),
            node_waiting: HashMap::new(),
            failed: HashSet::new(),
            outputs: BTreeMap::new(),
            progress,
            journal: Vec::new(),
            commits: 0,
            queue: Vec::new(),
            intended: HashSet::new(),
            recreated: plan
                .interrupted
                .iter()
                .filter(|i| !i.adopted && !i.left_alone)
                .map(|i| i.address.clone())
                .collect(),
            planned: consistent::Planned::of(plan),
            deposed: Vec::new(),
            destroying: HashMap::new(),
            failed_destroys: HashSet::new(),
            seen: HashSet::new(),
            not_destroyed: HashSet::new(),
            replaced_old: HashMap::new(),
            data_records: Vec::new(),
        }
    }

    /// Moves and forgets first, then what refresh saw: apply evaluates from
    /// the state as the plan saw it, saved in one commit.
    fn save_what_the_plan_saw(
        &mut self,
        plan: &Plan,
        state: &mut HashMap<String, ResourceRecord>,
        report: &mut ApplyReport,
    ) {
        let mut renamed: Vec<(String, ResourceRecord)> = Vec::new();
        for m in &plan.moved {
            if let (Some(r), Ok(to)) = (state.get(&m.from), crate::addr::ResourceAddr::parse(&m.to)) {
                let mut r = r.clone();
                crate::moved::rename(&mut r, &to);
                renamed.push((m.from.clone(), r));
            }
        }
        let forgotten: Vec<&str> = plan
            .resource_changes
            .iter()
            .filter(|c| c.action == Action::Forget && c.deposed.is_none())
            .map(|c| c.address.as_str())
            .collect();
        // A deposed object that is its instance's current object only leaves the deposed ones.
        let deposed_forgotten = plan.resource_changes.iter().filter_map(|c| match (&c.deposed, c.action) {
            (Some(key), Action::Forget) => Some(Change::DeleteDeposed { addr: c.address.clone(), key: key.clone() }),
            _ => None,
        });
        let mut seen: Vec<Change> = Vec::new();
        for (from, r) in &renamed {
            seen.push(Change::Delete(from.clone()));
            seen.push(Change::Put(Box::new(r.clone())));
        }
        seen.extend(forgotten.iter().map(|a| Change::Delete(a.to_string())));
        seen.extend(deposed_forgotten);
        seen.extend(plan.interrupted.iter().map(|i| Change::ClearIntent(i.address.clone())));
        seen.extend(plan.gone.iter().map(|a| Change::Delete(a.clone())));
        seen.extend(plan.refreshed.iter().map(|r| Change::Put(Box::new(r.clone()))));
        if seen.is_empty() || !self.commit(seen, report) {
            return;
        }
        for (from, r) in renamed {
            state.remove(&from);
            state.insert(r.addr.clone(), r);
        }
        for a in &forgotten {
            state.remove(*a);
        }
        report.moved = plan.moved.len();
        report.forgotten = forgotten.len();
        for a in &plan.gone {
            state.remove(a);
        }
        for r in &plan.refreshed {
            state.insert(r.addr.clone(), r.clone());
        }
        report.imported = plan.resource_changes.iter().filter(|c| c.importing.is_some()).count();
    }

    /// The state keeps each data source as last read, as Terraform's does:
    /// the plan's reads are saved (a read deferred to apply was saved with its
    /// result), and a data source the configuration no longer has leaves the
    /// state, all of them with a destroy of everything. Only after a whole walk that went
    /// well: a data source skipped because of a failure keeps its record.
    fn save_data_sources(
        &mut self,
        plan: &Plan,
        state: &mut HashMap<String, ResourceRecord>,
        report: &mut ApplyReport,
    ) {
        let clean = self.failed.is_empty() && report.errors.is_empty() && report.state_error.is_none();
        let mut changes: Vec<Change> = Vec::new();
        let put: Vec<ResourceRecord> =
            std::mem::take(&mut self.data_records).into_iter().filter(|r| state.get(&r.addr) != Some(r)).collect();
        changes.extend(put.iter().map(|r| Change::Put(Box::new(r.clone()))));
        let mut gone: Vec<String> = Vec::new();
        // A destroy drops them all, but not one limited by --target: what it
        // leaves may still read them.
        let destroy_all = plan.destroy && plan.targets.is_empty();
        if clean && (destroy_all || plan.plans_everything()) {
            gone = state
                .values()
                .filter(|r| r.mode == "data" && (destroy_all || !self.seen.contains(&r.addr)))
                .map(|r| r.addr.clone())
                .collect();
            gone.sort();
        }
        changes.extend(gone.iter().map(|a| Change::Delete(a.clone())));
        if changes.is_empty() || !self.commit(changes, report) {
            return;
        }
        for r in put {
            state.insert(r.addr.clone(), r);
        }
        for a in &gone {
            state.remove(a);
        }
    }

    /// The one walk: the graph's nodes and the plan's destroys, ordered by
    /// Terraform's rules (`apply/destroy.rs`); a node starts once everything
    /// it waits for has completed.
    async fn walk(
        &mut self,
        plan: &Plan,
        state: &mut HashMap<String, ResourceRecord>,
        report: &mut ApplyReport,
        rx: &mut tokio::sync::mpsc::UnboundedReceiver<Done>,
    ) {
        let graph = self.graph;
        let destroys = destroy::destroys(plan, graph, &self.ctx.state);
        let nodes = graph.dag.g.node_count();
        let edges: Vec<(usize, usize)> = graph
            .dag
            .g
            .node_indices()
            .flat_map(|n| graph.dag.dependencies(n).map(move |d| (n.index(), d.index())))
            .chain(destroys.after_destroys.iter().map(|(i, j)| (nodes + i, nodes + j)))
            .chain(destroys.after_nodes.iter().map(|(i, n)| (nodes + i, n.index())))
            .chain(destroys.before_nodes.iter().map(|(n, i)| (n.index(), nodes + i)))
            .collect();
        let mut walk = Walk::new(nodes + destroys.dooms.len(), edges);
        loop {
            while let Some(id) = walk.next_ready() {
                if self.stopping() {
                    continue;
                }
                let completed = if id < nodes {
                    self.start_node(NodeIndex::new(id), state, report)
                } else {
                    let i = id - nodes;
                    let failed_before = self.failed_before(walk.dependencies(id), nodes, &destroys.dooms);
                    self.start_destroy(i, &destroys.dooms[i], failed_before, state, report)
                };
                if completed {
                    walk.complete(id);
                }
            }
            self.launch(state, report);
            if self.in_flight == 0 {
                break;
            }
            let Some(batch) = next_batch(rx).await else { break };
            self.in_flight -= batch.len();
            let (destroyed, others): (Vec<Done>, Vec<Done>) = batch.into_iter().partition(|d| d.doom.is_some());
            for i in self.finish_destroys(destroyed, &destroys.dooms, state, report) {
                walk.complete(nodes + i);
            }
            for n in self.finish_batch(others, state, report) {
                walk.complete(n.index());
            }
        }
    }

    /// Commit the root module's outputs. One a failure kept from being
    /// evaluated keeps its last value: outputs never disappear from the state
    /// after a partial failure. A destroy leaves none.
    fn save_outputs(&mut self, plan: &Plan, report: &mut ApplyReport) {
        let outputs: BTreeMap<String, OutputRecord> = if plan.destroy {
            BTreeMap::new()
        } else {
            let declared: HashSet<&str> = self.ctx.tree.module.outputs.iter().map(|o| o.name.as_str()).collect();
            let mut outputs: BTreeMap<String, OutputRecord> = self
                .ctx
                .state
                .outputs
                .iter()
                .filter(|(name, _)| declared.contains(name.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            outputs.extend(std::mem::take(&mut self.outputs));
            outputs
        };
        self.commit(vec![Change::Outputs(outputs.clone())], report);
        report.outputs = outputs;
    }

    fn stopping(&self) -> bool {
        self.ctx.stop.load(Ordering::SeqCst)
    }

    /// Commit changes to the state, retrying twice. When that fails, stop
    /// starting operations and keep these and every later result in the report
    /// instead, for the recovery file. Returns whether they were committed.
    fn commit(&mut self, changes: Vec<Change>, report: &mut ApplyReport) -> bool {
        if report.state_error.is_none() {
            let mut last = String::new();
            for wait in [0, 100, 500] {
                std::thread::sleep(Duration::from_millis(wait));
                match tokio::task::block_in_place(|| self.ctx.storage.commit(&changes)) {
                    Ok(_) => {
                        self.commits += 1;
                        self.journal.extend(changes.iter().filter_map(Journaled::of));
                        return true;
                    }
                    Err(e) => last = e.to_string(),
                }
            }
            self.ctx.stop.store(true, Ordering::SeqCst);
            report.state_error = Some(last);
        }
        report.uncommitted.extend(changes);
        false
    }

    /// Queue a job; `launch` starts the queue.
    fn dispatch(&mut self, job: Job) {
        self.in_flight += 1;
        self.queue.push(job);
    }

    /// Start the queued jobs, first recording, in one commit, the intent to
    /// create for each that creates an object: a crash between the provider's
    /// call and the commit of its result then leaves a pending record, which
    /// the next plan settles, instead of an object nobody knows of.
    ///
    /// The old object of each create_before_destroy replacement becomes a
    /// deposed object in that same commit (Terraform's order): from before its
    /// successor is created until it is destroyed, the state knows it.
    fn launch(&mut self, state: &mut HashMap<String, ResourceRecord>, report: &mut ApplyReport) {
        let queue = std::mem::take(&mut self.queue);
        let deposing: Vec<Deposed> = queue
            .iter()
            .filter(|j| j.depose)
            .filter_map(|j| state.get(&j.addr))
            .map(|old| Deposed { key: Deposed::new_key(), record: old.clone() })
            .collect();
        let mut changes: Vec<Change> = deposing.iter().map(|d| Change::Depose(Box::new(d.clone()))).collect();
        changes.extend(queue.iter().filter(|j| j.creates()).filter_map(|j| {
            let p = self.pending.get(&j.addr)?;
            Some(Change::Intent(Box::new(self.record(p, j.config.clone().unwrap_or_default()))))
        }));
        // A failed commit stops the apply: the jobs then report that they never started.
        if !changes.is_empty() && self.commit(changes, report) {
            self.intended.extend(queue.iter().filter(|j| j.creates()).map(|j| j.addr.clone()));
            for d in deposing {
                state.remove(&d.record.addr);
                self.deposed.push(d);
            }
        }
        for job in queue {
            self.spawn(job);
        }
    }

    /// Run a job on a blocking thread once a permit is free. A job still
    /// waiting when a stop is requested does not start.
    fn spawn(&mut self, job: Job) {
        let tx = self.tx.clone();
        let stop = self.ctx.stop.clone();
        let progress = self.progress.clone();
        let start: Starter = Box::new(move |permit| {
            tokio::spawn(async move {
                let _permit = permit;
                run_with_permit(job, tx, stop, progress).await;
            });
        });
        let sem = &self.sem;
        let dispatch = self.dispatch.get_or_insert_with(|| {
            let (queue, mut jobs) = tokio::sync::mpsc::unbounded_channel::<Starter>();
            let sem = sem.clone();
            tokio::spawn(async move {
                while let Some(start) = jobs.recv().await {
                    let Ok(permit) = sem.clone().acquire_owned().await else { break };
                    start(permit);
                }
            });
            queue
        });
        let _ = dispatch.send(start);
    }
}

/// Starts a job once it holds its permit.
type Starter = Box<dyn FnOnce(tokio::sync::OwnedSemaphorePermit) + Send>;

/// Run a job that holds a permit; a job whose turn comes after a stop was
/// requested does not start.
async fn run_with_permit(
    job: Job,
    tx: Option<tokio::sync::mpsc::UnboundedSender<Done>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    progress: Arc<dyn Progress>,
) {
    let (addr, action, step, doom) = (job.addr.clone(), job.action, job.step, job.doom);
    if stop.load(Ordering::SeqCst) {
        if let Some(tx) = tx {
            let elapsed = Duration::ZERO;
            let (result, private, warnings) = (Ok(None), Vec::new(), Vec::new());
            let _ = tx.send(Done { addr, action, started: false, step, result, private, warnings, elapsed, doom });
        }
        return;
    }
    // Each half of a replace shows as what it is: a create here, a
    // destroy in a delete phase, as Terraform shows them.
    let shown = if action.is_replace() { Action::Create } else { action };
    progress.event(Event::Started { addr: addr.clone(), action: shown });
    let started = Instant::now();
    let answer = tokio::task::spawn_blocking(move || run_job(&job))
        .await
        .unwrap_or_else(|e| Err(ProviderError::new("Provider crashed", e.to_string())));
    let (result, private, warnings) = match answer {
        Ok(r) => (Ok(r.state), r.private, r.warnings),
        Err(e) => (Err(e), Vec::new(), Vec::new()),
    };
    if let Some(tx) = tx {
        let elapsed = started.elapsed();
        let _ = tx.send(Done { addr, action, started: true, step, result, private, warnings, elapsed, doom });
    }
}

impl<'a, 'g> Runner<'a, 'g> {
    /// What failed among the walk nodes a destroy waits for (resource nodes,
    /// `0..nodes`, then destroys), if anything did: it is skipped then.
    fn failed_before(&self, waits_for: &[usize], nodes: usize, dooms: &[destroy::Doom]) -> Option<String> {
        waits_for.iter().find_map(|&w| {
            if w < nodes {
                let n = NodeIndex::new(w);
                self.failed.contains(&n).then(|| self.graph.label(&self.graph.dag.g[n]))
            } else {
                self.failed_destroys.contains(&(w - nodes)).then(|| dooms[w - nodes].change.address.clone())
            }
        })
    }

    /// Does a node fail because something it depends on failed?
    fn upstream_failure(&self, n: NodeIndex) -> Option<String> {
        self.graph.dag.dependencies(n).find(|d| self.failed.contains(d)).map(|d| self.graph.label(&self.graph.dag.g[d]))
    }

    fn record(&self, p: &Pending, attributes: Object) -> ResourceRecord {
        let r = self.graph.resource(&p.module, p.index);
        let addr = ResourceAddr {
            module: p.module.clone(),
            data: r.mode == Mode::Data,
            type_name: r.type_name.clone(),
            name: r.name.clone(),
            key: p.key.clone(),
        };
        ResourceRecord {
            addr: addr.to_string(),
            mode: if r.mode == Mode::Data { "data".into() } else { "managed".into() },
            type_name: r.type_name.clone(),
            name: r.name.clone(),
            module: addr.module_addr(),
            index_key: p.key.to_json(),
            provider: p.provider_name.clone(),
            // The version of the provider's schema the object was written
            // with, as Terraform records it (an upgrade later starts there).
            schema_version: self.ctx.providers.for_resource(r).map_or(0, |(_, s, _)| s.version),
            sensitive_attributes: p.hidden(&attributes).into_iter().collect(),
            attributes,
            dependencies: resource_dependencies(self.graph, p.node),
            create_before_destroy: p.create_before_destroy,
            private: p.private.clone(),
        }
    }

    /// Commit a batch of finished operations, then settle each. Returns the
    /// resource nodes that completed.
    fn finish_batch(
        &mut self,
        batch: Vec<Done>,
        state: &mut HashMap<String, ResourceRecord>,
        report: &mut ApplyReport,
    ) -> Vec<NodeIndex> {
        let (commit, settled) = self.results(batch);
        let mut committed = self.commit_results(commit, state, report);
        let mut completed = Vec::new();
        for (done, ok) in settled {
            completed.extend(self.settle(done, ok, &mut committed, report));
        }
        completed
    }

    /// The changes a batch of finished operations commits (their records,
    /// intents cleared, deposed objects restored or dropped), and each
    /// operation that ran with whether it succeeded.
    fn results(&mut self, batch: Vec<Done>) -> (Vec<Change>, Vec<(Done, bool)>) {
        let mut commit = Vec::new();
        let mut settled: Vec<(Done, bool)> = Vec::new();
        for done in batch {
            let creating = matches!(done.step, Step::Only | Step::CreateFirst | Step::Second);
            if creating && (!done.started || done.result.is_err()) && self.intended.remove(&done.addr) {
                // The create did not happen: its intent goes.
                commit.push(Change::ClearIntent(done.addr.clone()));
            } else if creating && done.result.is_ok() {
                // Its result's record replaces the intent in the same commit.
                self.intended.remove(&done.addr);
            }
            if done.step == Step::CreateFirst && !matches!(done.result, Ok(Some(_))) {
                // No new object: the old one is the instance's again (Terraform's rule).
                self.restore_deposed(&done.addr, &mut commit);
            }
            if !done.started {
                // Never ran: nothing to record, and nothing that depends on it starts.
                self.pending.remove(&done.addr);
                continue;
            }
            let ok = done.result.is_ok();
            if let (Ok(Some(_)), Some(p)) = (&done.result, self.pending.get_mut(&done.addr)) {
                p.private = done.private.clone();
            }
            if let (Ok(obj), true) = (&done.result, self.pending.contains_key(&done.addr)) {
                match (done.step, obj) {
                    (Step::CreateFirst, Some(o)) => {
                        if let Some(p) = self.pending.get_mut(&done.addr) {
                            p.created = Some(o.clone());
                        }
                    }
                    (_, Some(o)) => {
                        if let Some(p) = self.pending.get(&done.addr) {
                            commit.push(Change::Put(Box::new(self.record(p, o.clone()))));
                        }
                    }
                    (_, None) => {}
                }
            }
            settled.push((done, ok));
        }
        // CreateThenDelete: the new object goes into state before the old is
        // deleted; a new object with the deposed one's id is that object,
        // rewritten in place: it is no longer deposed, and never destroyed.
        for (done, ok) in &settled {
            if *ok && done.step == Step::CreateFirst {
                let Some(p) = self.pending.get(&done.addr) else { continue };
                let Some(o) = &p.created else { continue };
                commit.push(Change::Put(Box::new(self.record(p, o.clone()))));
                let new_id = o.get("id").filter(|v| !v.is_null());
                let at = self.deposed.iter().position(|d| {
                    d.record.addr == done.addr && new_id.is_some() && d.record.attributes.get("id") == new_id
                });
                if let Some(i) = at {
                    let d = self.deposed.remove(i);
                    commit.push(Change::DeleteDeposed { addr: d.record.addr, key: d.key });
                    if let Some(p) = self.pending.get_mut(&done.addr) {
                        p.in_place = true;
                    }
                }
            }
        }
        (commit, settled)
    }

    /// Commit a batch's changes. Returns what each committed record gives its
    /// dependents, and its id for progress lines; the record itself is not kept.
    fn commit_results(
        &mut self,
        commit: Vec<Change>,
        state: &mut HashMap<String, ResourceRecord>,
        report: &mut ApplyReport,
    ) -> HashMap<String, (Value, Option<String>)> {
        let mut committed: HashMap<String, (Value, Option<String>)> = HashMap::new();
        if !commit.is_empty() {
            let saved = commit.clone();
            if self.commit(saved, report) {
                for c in commit {
                    match c {
                        Change::Put(rec) => {
                            let sens: BTreeSet<String> = rec.sensitive_attributes.iter().cloned().collect();
                            // A hidden id is not shown in progress lines either.
                            let id = rec
                                .attributes
                                .get("id")
                                .and_then(|v| v.as_str())
                                .filter(|_| !sens.contains("id"))
                                .map(str::to_string);
                            committed
                                .insert(rec.addr.clone(), (to_value(&rec.attributes, &BTreeSet::new(), &sens), id));
                            state.remove(&rec.addr);
                        }
                        Change::Delete(a) => {
                            state.remove(&a);
                        }
                        Change::Outputs(_)
                        | Change::Intent(_)
                        | Change::ClearIntent(_)
                        | Change::Rollout(..)
                        | Change::Depose(_)
                        | Change::DeleteDeposed { .. } => {}
                    }
                }
            }
        }
        committed
    }

    /// Settle one finished operation whose result is committed: report it,
    /// give its dependents its value, check its postconditions. Returns its
    /// node if that was the node's last instance.
    fn settle(
        &mut self,
        done: Done,
        ok: bool,
        committed: &mut HashMap<String, (Value, Option<String>)>,
        report: &mut ApplyReport,
    ) -> Option<NodeIndex> {
        let p = self.pending.remove(&done.addr)?;
        if !done.warnings.is_empty() {
            let r = self.graph.resource(&p.module, p.index);
            for w in &done.warnings {
                report.diagnostics.push(crate::planner::provider_warning(&done.addr, r, w));
            }
        }
        if !ok {
            let mut err = done.result.err().map(|e| e.to_string()).unwrap_or_default();
            if self.recreated.contains(&done.addr) && done.action == Action::Create {
                err.push_str(&format!(
                    "\n\nAn earlier apply was stopped while it created {a}, and its provider cannot tell whether that object exists. If it does (an error that it already exists), import it and apply again: landform import '{a}' ID",
                    a = done.addr
                ));
            }
            self.progress.event(Event::Failed { addr: done.addr.clone(), action: done.action, error: err.clone() });
            report.errors.push((done.addr.clone(), err));
            self.failed.insert(p.node);
            return self.instance_done(p.node);
        }
        let (value, id) = committed.remove(&done.addr).unwrap_or_else(|| {
            // The delete half of a create-then-delete: dependents see
            // the new object, committed when it was created.
            match &p.created {
                Some(o) => (to_value(o, &BTreeSet::new(), &p.hidden(o)), None),
                None => (Value::Unknown, None),
            }
        });
        let r = self.graph.resource(&p.module, p.index);
        // Postconditions, with `self` the object as it now is: the
        // object is saved either way; a failure stops its dependents.
        let mut cond = Vec::new();
        let addr_s = done.addr.clone();
        let inst = crate::planner::InstanceRef {
            module: &p.module,
            resource: r,
            key: &p.key,
            each_value: &p.each_value,
            addr: &addr_s,
        };
        let ok = crate::planner::postconditions(&self.world, &inst, &value, self.ctx.host, &mut cond);
        self.world.set_instance(&p.module, r, &p.key, value);
        match done.action {
            Action::Create => report.added += 1,
            Action::Update => report.changed += 1,
            // The old object's destroy counts where it happens.
            Action::DeleteThenCreate | Action::CreateThenDelete => {
                report.added += 1;
                report.destroyed += usize::from(p.in_place);
            }
            _ => {}
        }
        self.progress.event(Event::Finished {
            addr: done.addr.clone(),
            action: if done.action.is_replace() { Action::Create } else { done.action },
            elapsed: done.elapsed,
            id,
        });
        if !ok {
            if let Some(d) = cond.iter().find(|d| d.is_error()) {
                report.errors.push((addr_s, condition_words(d)));
            }
            // As a failed operation: its dependents are skipped.
            self.failed.insert(p.node);
        }
        self.instance_done(p.node)
    }

    /// The deposed object of `addr` this apply made becomes its current
    /// object again: its successor was never created.
    fn restore_deposed(&mut self, addr: &str, commit: &mut Vec<Change>) {
        if let Some(i) = self.deposed.iter().position(|d| d.record.addr == addr) {
            let d = self.deposed.remove(i);
            commit.push(Change::DeleteDeposed { addr: d.record.addr.clone(), key: d.key });
            commit.push(Change::Put(Box::new(d.record)));
        }
    }

    fn instance_done(&mut self, n: NodeIndex) -> Option<NodeIndex> {
        let w = self.node_waiting.get_mut(&n)?;
        *w -= 1;
        if *w == 0 {
            self.node_waiting.remove(&n);
            Some(n)
        } else {
            None
        }
    }
}

/// The id a change's planned object will have, when the plan knows it.
fn planned_id(change: &ResourceChange) -> Option<&serde_json::Value> {
    if change.after_unknown.contains("id") {
        return None;
    }
    change.after.as_ref()?.get("id").filter(|v| !v.is_null())
}

/// A failed condition as apply reports it: its summary and message on one line.
fn condition_words(d: &Diagnostic) -> String {
    let message = d.detail.split("\n\n").next().unwrap_or(&d.detail);
    format!("{}: {message}", d.summary.to_lowercase())
}

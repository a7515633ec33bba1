//! Planning: refresh the state, walk the graph in dependency order, evaluate
//! each resource instance and ask its provider what would change.

use crate::addr::{Key, ResourceAddr, Target};
use crate::build::{ConfigGraph, ModulePath, Node};
use crate::plan::{Action, InterruptedCreate, OutputChange, Plan, ResourceChange, PLAN_FORMAT_VERSION};
use crate::providers::Providers;
use crate::world::World;
use landform_lang::config::{Mode, Resource};
use landform_lang::diag::Diagnostic;
use landform_lang::module::LoadedModule;
use landform_lang::syntax::Item;
use landform_lang::{Host, SourceMap, Value};
use landform_provider::{ReadRequest, ReadResponse};
use landform_state::{ResourceRecord, Snapshot};
use serde_json::{Map, Value as Json};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

pub use crate::schema_check::validate_schemas;

mod instance;
use instance::Planner;

/// What a plan is computed from.
pub struct PlanContext<'a> {
    pub tree: &'a LoadedModule,
    pub sources: &'a SourceMap,
    pub providers: &'a Providers,
    pub host: &'a dyn Host,
    pub state: &'a Snapshot,
    /// The resolved root variables.
    pub variables: Value,
    /// Told as refresh reads each object.
    pub progress: &'a dyn crate::refresh::RefreshProgress,
}

#[derive(Default, Clone)]
pub struct PlanOptions {
    pub refresh: bool,
    pub destroy: bool,
    /// `--target`: resources, instances and modules, matched as addresses.
    pub targets: Vec<Target>,
    pub replace: Vec<ResourceAddr>,
    /// `--refresh-only`: no actions, only what refresh found, for apply to
    /// accept into the state.
    pub refresh_only: bool,
    /// Drift that is expected (`.landformignore`): not shown.
    pub ignore: Vec<crate::drift::IgnoreRule>,
    /// At most this many objects read at once by refresh (0: one at a time).
    pub parallelism: usize,
}

/// SHA-256 over every configuration file's name and text.
pub fn config_hash(sources: &SourceMap) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for (_, f) in sources.files() {
        if f.name.ends_with(".lf") {
            h.update(f.name.as_bytes());
            h.update([0]);
            h.update(f.text.as_bytes());
            h.update([0]);
        }
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

use crate::sensitivity::redact;

fn without_nulls(obj: &Map<String, Json>) -> Map<String, Json> {
    obj.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// The resource addresses (config level) a resource depends on, through
/// locals, variables and outputs.
pub fn resource_dependencies(g: &ConfigGraph, n: petgraph::graph::NodeIndex) -> Vec<String> {
    let mut out = BTreeSet::new();
    let mut seen = HashSet::new();
    let mut stack: Vec<_> = g.dag.dependencies(n).collect();
    while let Some(d) = stack.pop() {
        if !seen.insert(d) {
            continue;
        }
        match &g.dag.g[d] {
            Node::Resource { .. } => {
                out.insert(g.label(&g.dag.g[d]));
            }
            _ => stack.extend(g.dag.dependencies(d)),
        }
    }
    out.into_iter().collect()
}

/// The graph's nodes one at a time, each after everything it depends on: the
/// walk (`crate::walk`) as the planner drives it.
fn walk_order(g: &ConfigGraph) -> Vec<petgraph::graph::NodeIndex> {
    let edges = g.dag.g.node_indices().flat_map(|n| g.dag.dependencies(n).map(move |d| (n.index(), d.index())));
    crate::walk::Walk::sequential(g.dag.g.node_count(), edges)
        .into_iter()
        .map(petgraph::graph::NodeIndex::new)
        .collect()
}

/// `module.a.module.b` for the path `[a, b]`.
pub fn module_addr(m: &ModulePath) -> String {
    m.iter().map(|n| format!("module.{n}")).collect::<Vec<_>>().join(".")
}

/// The address of a resource node's block (no instance key).
fn block_addr(g: &ConfigGraph, n: petgraph::graph::NodeIndex) -> Option<ResourceAddr> {
    let Node::Resource { module, index } = &g.dag.g[n] else { return None };
    let r = g.resource(module, *index);
    Some(ResourceAddr {
        module: module.clone(),
        data: r.mode == Mode::Data,
        type_name: r.type_name.clone(),
        name: r.name.clone(),
        key: Key::None,
    })
}

/// The resource nodes whose every instance is planned under --target: the
/// blocks a target contains whole and everything the targets depend on. A
/// block only some of whose instances are targets (`--target a.b[0]`) is not
/// in it: those instances are planned alone.
fn targeted_nodes(g: &ConfigGraph, targets: &[Target]) -> Option<HashSet<petgraph::graph::NodeIndex>> {
    if targets.is_empty() {
        return None;
    }
    let mut set = HashSet::new();
    let mut stack = Vec::new();
    for n in g.dag.g.node_indices() {
        let Some(block) = block_addr(g, n) else { continue };
        if targets.iter().any(|t| t.contains_block(&block)) {
            stack.push(n);
        } else if targets.iter().any(|t| t.touches_block(&block)) {
            stack.extend(g.dag.dependencies(n));
        }
    }
    while let Some(n) = stack.pop() {
        if set.insert(n) {
            stack.extend(g.dag.dependencies(n));
        }
    }
    Some(set)
}

pub fn plan(ctx: &PlanContext, opts: &PlanOptions) -> Result<Plan, Vec<Diagnostic>> {
    let mut diags = validate_schemas(ctx.tree, ctx.providers);
    let (instances, d) = crate::build::module_instances(ctx.tree, &ctx.variables, ctx.host);
    diags.extend(d);
    let graph = crate::build::build_with(ctx.tree, ctx.sources, Some(&instances))?;
    // `moved` blocks rename the state's records before anything is planned.
    let moved = crate::moved::resolve(&graph, ctx.sources, ctx.state, &mut diags);
    if diags.iter().any(Diagnostic::is_error) {
        return Err(diags);
    }
    let ctx = &PlanContext {
        tree: ctx.tree,
        sources: ctx.sources,
        providers: ctx.providers,
        host: ctx.host,
        state: &moved.snapshot,
        variables: ctx.variables.clone(),
        progress: ctx.progress,
    };
    // Refresh: what each resource looks like now, and what changed outside Landform.
    let mut rules = crate::drift::DriftRules::from_config(ctx.tree);
    for r in &opts.ignore {
        rules.ignore(r.clone());
    }
    let refreshed =
        crate::refresh::refresh(ctx.providers, ctx.state, &rules, opts.refresh, opts.parallelism, ctx.progress);
    diags.extend(refreshed.diags);
    let (mut prior, gone, mut resource_drift) = (refreshed.prior, refreshed.gone, refreshed.drift);
    if opts.destroy {
        // Everything goes: what changed on the way is not worth a section.
        resource_drift.clear();
    }
    if opts.refresh_only {
        return refresh_only_plan(ctx, opts, prior, gone, resource_drift, diags);
    }
    let interrupted = settle_interrupted(ctx, &mut prior, &mut diags);
    let importing = if opts.destroy { HashMap::new() } else { plan_imports(ctx, &graph, &mut prior, &mut diags) };
    let mut planner = Planner::new(ctx, opts, &graph, prior, diags);
    planner.walk();
    let Planner { world, prior, visited, mut changes, data_reads, mut output_changes, mut diags, .. } = planner;
    changes.extend(orphan_changes(ctx, opts, &graph, &prior, &visited, &moved.forget));
    changes.extend(deposed_changes(ctx, opts, &prior));
    if opts.destroy {
        output_changes.extend(destroyed_outputs(ctx.state));
    }
    check_prevent_destroy(&graph, &world, &changes, ctx.host, &mut diags);
    if diags.iter().any(Diagnostic::is_error) {
        return Err(diags);
    }
    let previous: HashMap<&str, &str> = moved.moves.iter().map(|(f, t)| (t.as_str(), f.as_str())).collect();
    for c in changes.iter_mut().filter(|c| c.deposed.is_none()) {
        c.previous_address = previous.get(c.address.as_str()).map(|f| f.to_string());
        c.importing = importing.get(&c.address).cloned();
        // An import or a move that changes nothing still shows the object.
        if let (true, Action::NoOp, Some(p)) =
            (c.importing.is_some() || c.previous_address.is_some(), c.action, prior.get(&c.address))
        {
            let shown = redact(&p.attributes, &c.sensitive);
            c.before = Some(shown.clone());
            c.after = Some(shown);
        }
    }
    changes.sort_by(|a, b| a.address.cmp(&b.address));
    let rollouts = if opts.destroy || !opts.targets.is_empty() {
        Vec::new()
    } else {
        crate::rollout::plan_rollouts(&graph, &world, ctx.host, ctx.providers, &prior, &ctx.state.rollouts, &mut diags)
    };
    if diags.iter().any(Diagnostic::is_error) {
        return Err(diags);
    }
    let mut plan = new_plan(ctx, opts, prior, gone, resource_drift);
    plan.moved =
        moved.moves.iter().map(|(from, to)| crate::plan::MovedObject { from: from.clone(), to: to.clone() }).collect();
    plan.rollouts = rollouts;
    plan.resource_changes = changes;
    plan.data_reads = data_reads;
    plan.output_changes = output_changes;
    plan.interrupted = interrupted;
    plan.relevant_attributes = crate::relevant::relevant_attributes(&graph, &world, &plan);
    if !opts.destroy {
        check_blocks(&graph, &world, ctx.host, &mut diags);
    }
    plan.warnings = diags;
    crate::sensitivity::redact_copies(&mut plan);
    Ok(plan)
}

/// The root module's `check` blocks: a failed assertion is a warning, and one
/// not known until apply is checked after it.
pub fn check_blocks(graph: &ConfigGraph, world: &World, host: &dyn landform_lang::Host, diags: &mut Vec<Diagnostic>) {
    let root = ModulePath::new();
    for c in &graph.module(&root).checks {
        let what = "Check block assertion";
        crate::conditions::check_all(
            &c.asserts,
            what,
            &format!("check.{}", c.name),
            world.scope(&root),
            host,
            true,
            diags,
        );
    }
}

/// A resource instance being planned or applied, as its conditions see it.
pub struct InstanceRef<'a> {
    pub module: &'a ModulePath,
    pub resource: &'a Resource,
    pub key: &'a Key,
    /// `each.value`, or null.
    pub each_value: &'a Value,
    pub addr: &'a str,
}

/// A resource's or data source's postconditions, with `self` the object as
/// planned (or read): those not known until apply are checked then.
pub fn postconditions(
    world: &World,
    inst: &InstanceRef,
    object: &Value,
    host: &dyn landform_lang::Host,
    diags: &mut Vec<Diagnostic>,
) -> bool {
    let r = inst.resource;
    if r.lifecycle.postconditions.is_empty() {
        return true;
    }
    let mut scope = world.instance_scope(inst.module, inst.key, inst.each_value);
    scope.set("self", object.clone());
    let what = if r.mode == landform_lang::config::Mode::Data {
        "Data source postcondition"
    } else {
        "Resource postcondition"
    };
    crate::conditions::check_all(&r.lifecycle.postconditions, what, inst.addr, &scope, host, false, diags)
}

/// The instances the state has that the plan does not keep: each is
/// destroyed (everything, for a destroy plan), or forgotten under a
/// `removed` block; under `--target`, only those a target contains.
fn orphan_changes(
    ctx: &PlanContext,
    opts: &PlanOptions,
    graph: &ConfigGraph,
    prior: &HashMap<String, Cow<ResourceRecord>>,
    visited: &HashSet<String>,
    forget: &BTreeSet<String>,
) -> Vec<ResourceChange> {
    // Blocks the configuration still has: an instance of one is gone for its key, not its block.
    let configured: HashSet<String> = graph
        .dag
        .g
        .node_indices()
        .filter(|n| matches!(graph.dag.g[*n], Node::Resource { .. }))
        .map(|n| graph.label(&graph.dag.g[n]))
        .collect();
    let mut out = Vec::new();
    for rec in ctx.state.resources.iter().filter(|r| opts.destroy || !visited.contains(&r.addr)) {
        if rec.mode != "managed" {
            continue;
        }
        let targeted = || ResourceAddr::parse(&rec.addr).is_ok_and(|a| opts.targets.iter().any(|t| t.contains(&a)));
        if !opts.targets.is_empty() && !targeted() {
            continue;
        }
        let Some(current) = prior.get(&rec.addr) else { continue };
        let sensitive: BTreeSet<String> = rec.sensitive_attributes.iter().cloned().collect();
        let forget = forget.contains(&rec.addr) && !opts.destroy;
        let reason = match ResourceAddr::parse(&rec.addr) {
            _ if opts.destroy => "delete_by_request",
            Ok(a) if configured.contains(&a.config_addr()) => match a.key {
                Key::Int(_) => "delete_because_count_index",
                Key::Str(_) => "delete_because_each_key",
                Key::None => "delete_because_wrong_repetition",
            },
            _ if forget => "forget_because_removed",
            _ => "delete_because_no_resource_config",
        };
        out.push(ResourceChange {
            address: rec.addr.clone(),
            module_address: rec.module.clone(),
            mode: rec.mode.clone(),
            type_name: rec.type_name.clone(),
            name: rec.name.clone(),
            index: rec.index_key.clone(),
            provider_name: rec.provider.clone(),
            action: if forget { Action::Forget } else { Action::Delete },
            before: Some(redact(&current.attributes, &sensitive)),
            // Forgotten, the object stays as it is.
            after: forget.then(|| redact(&current.attributes, &sensitive)),
            after_unknown: BTreeSet::new(),
            sensitive,
            replace_paths: Vec::new(),
            reason: Some(reason.into()),
            sensitive_changed: BTreeSet::new(),
            dependencies: rec.dependencies.clone(),
            create_before_destroy: rec.create_before_destroy,
            importing: None,
            previous_address: None,
            deposed: None,
        });
    }
    out
}

/// A destroy plan's outputs: every one the state has goes.
fn destroyed_outputs(state: &Snapshot) -> Vec<OutputChange> {
    state
        .outputs
        .iter()
        .map(|(name, rec)| OutputChange {
            name: name.clone(),
            action: Action::Delete,
            before: if rec.sensitive { None } else { Some(rec.value.clone()) },
            after: None,
            after_unknown: false,
            sensitive: rec.sensitive,
        })
        .collect()
}

/// prevent_destroy turns a planned destroy into an error (a deposed object
/// is already replaced: it only waits to be destroyed).
fn check_prevent_destroy(
    graph: &ConfigGraph,
    world: &World,
    changes: &[ResourceChange],
    host: &dyn Host,
    diags: &mut Vec<Diagnostic>,
) {
    for c in changes.iter().filter(|c| c.deposed.is_none()) {
        if !matches!(c.action, Action::Delete | Action::DeleteThenCreate | Action::CreateThenDelete) {
            continue;
        }
        let Some((r, module)) = find_config(graph, c) else { continue };
        let e = r.lifecycle.prevent_destroy.as_ref();
        if lifecycle_flag(world, &module, e, "prevent_destroy", host, diags) {
            diags.push(Diagnostic::error(
                "Instance cannot be destroyed",
                format!(
                    "The plan would destroy {}, but it has lifecycle.prevent_destroy set to true. To avoid this, change the plan so the resource is not destroyed, or set prevent_destroy = false.",
                    c.address
                ),
                e.map_or(r.header_span, |e| e.span),
            ));
        }
    }
}

/// `import` blocks: each object not yet in the state is read by its id and
/// joins `prior` as if it had always been managed, so the walk plans it like
/// any other (no-op, or an update toward the configuration); apply saves the
/// record first, as it does what refresh found. Returns address → id.
fn plan_imports(
    ctx: &PlanContext,
    graph: &ConfigGraph,
    prior: &mut HashMap<String, Cow<ResourceRecord>>,
    diags: &mut Vec<Diagnostic>,
) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for (path, m) in &graph.modules {
        if path.is_empty() {
            continue;
        }
        for i in &m.module.imports {
            diags.push(Diagnostic::error(
                "Invalid import configuration",
                "An import block is allowed only in the root module: move it to the root module, with a to address that goes through the module call (module.NAME.TYPE.NAME).".to_string(),
                i.span,
            ));
        }
    }
    let root = graph.module(&ModulePath::new());
    let scope = World::new(graph, ctx.variables.clone(), ctx.host);
    let mut seen: HashMap<String, landform_lang::Span> = HashMap::new();
    for i in &root.imports {
        let text = ctx
            .sources
            .get(i.to.span.file)
            .map(|f| f.text.get(i.to.span.start as usize..i.to.span.end as usize).unwrap_or(""))
            .unwrap_or("");
        let to: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let a = match ResourceAddr::parse(&to) {
            Ok(a) if !a.data => a,
            Ok(_) => {
                diags.push(Diagnostic::error(
                    "Invalid import address",
                    "Only managed resources can be imported; a data source is read, not imported.".to_string(),
                    i.to.span,
                ));
                continue;
            }
            Err(e) => {
                diags.push(Diagnostic::error("Invalid import address", e, i.to.span));
                continue;
            }
        };
        let addr = a.to_string();
        if let Some(first) = seen.insert(addr.clone(), i.to.span) {
            let line = ctx.sources.get(first.file).map_or(0, |f| f.line_col(first.start).0);
            diags.push(Diagnostic::error(
                "Duplicate import configuration",
                format!("{addr} is already imported by the import block on line {line}; each resource instance can be imported only once."),
                i.to.span,
            ));
            continue;
        }
        // Already managed: the block has done its work (Terraform's rule), and may stay.
        if prior.contains_key(&addr) {
            continue;
        }
        let mut ev = landform_lang::Evaluator::new(ctx.host);
        let v = ev.eval(&i.id, scope.scope(&ModulePath::new()));
        let had_errors = ev.diags.iter().any(Diagnostic::is_error);
        diags.append(&mut ev.diags);
        if had_errors {
            continue;
        }
        let (v, marks) = v.unmark_deep();
        let id = match v {
            Value::String(s) if !s.is_empty() && !marks => s,
            _ => {
                diags.push(Diagnostic::error(
                    "Invalid import id",
                    "The import block's id must be a non-empty string known when planning, such as \"arn:aws:…\" or var.NAME; it cannot refer to resources, locals or sensitive values.".to_string(),
                    i.id.span,
                ));
                continue;
            }
        };
        match crate::import::record_for(graph, ctx.providers, &a, &id) {
            Ok((rec, warnings)) => {
                diags.extend(warnings);
                prior.insert(addr.clone(), Cow::Owned(rec));
                out.insert(addr, id);
            }
            Err(e) => {
                diags.push(Diagnostic::error("Cannot import", e.message, if e.address { i.to.span } else { i.id.span }))
            }
        }
    }
    out
}

/// A plan with no actions yet: what it was made against and what refresh found.
fn new_plan(
    ctx: &PlanContext,
    opts: &PlanOptions,
    prior: HashMap<String, Cow<ResourceRecord>>,
    gone: Vec<String>,
    resource_drift: Vec<crate::drift::ResourceDrift>,
) -> Plan {
    let mut variables = BTreeMap::new();
    let mut sensitive_variables = Vec::new();
    if let Value::Object(m) = &ctx.variables {
        for (k, v) in m {
            let (plain, marked) = v.unmark_deep();
            if marked {
                sensitive_variables.push(k.clone());
            }
            variables.insert(k.clone(), plain.to_json());
        }
    }
    let mut refreshed: Vec<ResourceRecord> =
        prior.into_values().filter_map(|c| if let Cow::Owned(r) = c { Some(r) } else { None }).collect();
    refreshed.sort_by(|a, b| a.addr.cmp(&b.addr));
    Plan {
        format_version: PLAN_FORMAT_VERSION,
        landform_version: env!("CARGO_PKG_VERSION").to_string(),
        workspace: ctx.state.workspace.clone(),
        config_hash: config_hash(ctx.sources),
        lineage: ctx.state.lineage.clone(),
        serial: ctx.state.serial,
        destroy: opts.destroy,
        refresh_only: opts.refresh_only,
        variables,
        planned_at: ctx.host.plan_timestamp(),
        sensitive_variables,
        targets: opts.targets.iter().map(|t| t.to_string()).collect(),
        resource_changes: Vec::new(),
        output_changes: Vec::new(),
        resource_drift,
        relevant_attributes: Vec::new(),
        gone,
        refreshed,
        data_reads: Vec::new(),
        interrupted: Vec::new(),
        rollouts: Vec::new(),
        moved: Vec::new(),
        warnings: Vec::new(),
    }
}

/// `--refresh-only`: accept the real world into the state, change nothing.
/// Only drift that is shown is accepted, so that applying a plan that says
/// "no changes" writes nothing.
fn refresh_only_plan(
    ctx: &PlanContext,
    opts: &PlanOptions,
    prior: HashMap<String, Cow<ResourceRecord>>,
    gone: Vec<String>,
    resource_drift: Vec<crate::drift::ResourceDrift>,
    diags: Vec<Diagnostic>,
) -> Result<Plan, Vec<Diagnostic>> {
    if diags.iter().any(Diagnostic::is_error) {
        return Err(diags);
    }
    let mut plan = new_plan(ctx, opts, prior, gone, resource_drift);
    if plan.resource_drift.is_empty() {
        plan.gone.clear();
        plan.refreshed.clear();
    }
    Ok(plan)
}

/// Objects an earlier apply stopped while creating: look for each in the real
/// world. One found is adopted (a refreshed record in `prior`); one not found
/// is created again by the plan, as it has no record.
fn settle_interrupted(
    ctx: &PlanContext,
    prior: &mut HashMap<String, Cow<ResourceRecord>>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<InterruptedCreate> {
    let mut out = Vec::new();
    for intent in &ctx.state.pending {
        let Some((p, _)) = ctx.providers.for_record(&intent.provider, false, &intent.type_name) else { continue };
        let found = match p.adopt(ReadRequest { type_name: &intent.type_name, prior: &intent.attributes, private: &[] })
        {
            Ok(ReadResponse::Changed(now)) => Some(now),
            Ok(ReadResponse::Unchanged) => Some(intent.attributes.clone()),
            Ok(ReadResponse::Gone) => None,
            Err(e) => {
                diags.push(Diagnostic::global(format!("Error looking for {}", intent.addr), e.to_string()));
                continue;
            }
        };
        // An object another record holds is that record's, never this one's.
        let found = found.filter(|now| !held_by_another(prior, &intent.addr, &intent.type_name, now.get("id")));
        let recorded = prior.get(&intent.addr);
        let same = |now: &Map<String, Json>| recorded.is_some_and(|r| r.attributes.get("id") == now.get("id"));
        let entry = match (found, recorded) {
            (Some(now), None) => {
                let mut rec = intent.clone();
                rec.attributes = now;
                prior.insert(rec.addr.clone(), Cow::Owned(rec));
                InterruptedCreate { address: intent.addr.clone(), adopted: true, left_alone: false }
            }
            (Some(now), Some(_)) if !same(&now) => {
                InterruptedCreate { address: intent.addr.clone(), adopted: false, left_alone: true }
            }
            _ => InterruptedCreate { address: intent.addr.clone(), adopted: false, left_alone: false },
        };
        out.push(entry);
    }
    out
}

/// Whether a record other than `addr`'s, of the same type, has the object `id`.
fn held_by_another(
    prior: &HashMap<String, Cow<ResourceRecord>>,
    addr: &str,
    type_name: &str,
    id: Option<&Json>,
) -> bool {
    let Some(id) = id.filter(|id| !id.is_null()) else { return false };
    prior.values().any(|r| {
        r.mode == "managed" && r.addr != addr && r.type_name == type_name && r.attributes.get("id") == Some(id)
    })
}

/// The deposed objects an interrupted create_before_destroy replacement left:
/// each is destroyed (Terraform's rule), under `--target` only when a target
/// contains its address. One whose id is its instance's current object's is
/// that object, replaced in place: it is only dropped from the state.
fn deposed_changes(
    ctx: &PlanContext,
    opts: &PlanOptions,
    prior: &HashMap<String, Cow<ResourceRecord>>,
) -> Vec<ResourceChange> {
    let mut out = Vec::new();
    for d in &ctx.state.deposed {
        let rec = &d.record;
        let targeted = || ResourceAddr::parse(&rec.addr).is_ok_and(|a| opts.targets.iter().any(|t| t.contains(&a)));
        if !opts.targets.is_empty() && !targeted() {
            continue;
        }
        let id = rec.attributes.get("id").filter(|v| !v.is_null());
        let current = prior.get(&rec.addr).is_some_and(|p| id.is_some() && p.attributes.get("id") == id);
        let sensitive: BTreeSet<String> = rec.sensitive_attributes.iter().cloned().collect();
        out.push(ResourceChange {
            address: rec.addr.clone(),
            module_address: rec.module.clone(),
            mode: rec.mode.clone(),
            type_name: rec.type_name.clone(),
            name: rec.name.clone(),
            index: rec.index_key.clone(),
            provider_name: rec.provider.clone(),
            action: if current { Action::Forget } else { Action::Delete },
            before: Some(redact(&rec.attributes, &sensitive)),
            after: None,
            after_unknown: BTreeSet::new(),
            sensitive,
            replace_paths: Vec::new(),
            reason: None,
            sensitive_changed: BTreeSet::new(),
            dependencies: rec.dependencies.clone(),
            create_before_destroy: rec.create_before_destroy,
            importing: None,
            previous_address: None,
            deposed: Some(d.key.clone()),
        });
    }
    out
}

/// The configuration block of a change's resource, and its module.
fn find_config<'g>(g: &'g ConfigGraph, c: &ResourceChange) -> Option<(&'g Resource, ModulePath)> {
    let addr = ResourceAddr::parse(&c.address).ok()?;
    let m = g.modules.get(&addr.module)?;
    let r = m
        .module
        .resources
        .iter()
        .find(|r| r.type_name == addr.type_name && r.name == addr.name && (r.mode == Mode::Data) == addr.data)?;
    Some((r, addr.module))
}

/// A lifecycle flag (`prevent_destroy`, `create_before_destroy`), evaluated
/// from the module's variables and locals, which are known when planning. A
/// value that is not a known bool is an error, and counts as set: a rule the
/// user wrote is never silently dropped.
fn lifecycle_flag(
    world: &World,
    module: &ModulePath,
    e: Option<&landform_lang::syntax::Expr>,
    name: &str,
    host: &dyn Host,
    diags: &mut Vec<Diagnostic>,
) -> bool {
    let Some(e) = e else { return false };
    let mut ev = landform_lang::Evaluator::new(host);
    let v = ev.eval(e, world.scope(module));
    let failed = !ev.diags.is_empty();
    diags.append(&mut ev.diags);
    // "true" from --var is the bool it spells, as Terraform converts it.
    let v = landform_lang::types::convert(&v, &landform_lang::types::Type::Bool).unwrap_or(v);
    match v.unmark().0 {
        Value::Bool(b) => *b,
        _ if failed => true,
        Value::Unknown => {
            diags.push(Diagnostic::error(
                "Invalid lifecycle value",
                format!("lifecycle.{name} must be known when planning: use a literal, a variable or a local, not a resource attribute."),
                e.span,
            ));
            true
        }
        other => {
            diags.push(Diagnostic::error(
                "Invalid lifecycle value",
                format!("lifecycle.{name} must be true or false, not a {}.", other.type_name()),
                e.span,
            ));
            true
        }
    }
}

fn output_change(name: &str, v: &Value, state: &Snapshot) -> OutputChange {
    let sensitive = v.contains_sensitive();
    let unknown = v.contains_unknown();
    let after = if unknown { None } else { Some(v.unmark_deep().0.to_json()) };
    let before = state.outputs.get(name);
    let action = match (before, &after) {
        (None, _) => Action::Create,
        (Some(b), Some(a)) if &b.value == a && b.sensitive == sensitive && !unknown => Action::NoOp,
        _ => Action::Update,
    };
    OutputChange {
        name: name.to_string(),
        action,
        before: before.filter(|b| !b.sensitive).map(|b| b.value.clone()),
        after: if sensitive { None } else { after },
        after_unknown: unknown,
        sensitive,
    }
}

/// How deeply an argument may nest lists and objects: the state record around
/// it adds a few levels, and serde_json reads at most 128.
const MAX_STORED_DEPTH: usize = 100;

/// The nesting depth of a JSON value, without recursion.
fn json_depth(v: &Json) -> usize {
    let mut max = 0;
    let mut stack = vec![(v, 1usize)];
    while let Some((v, d)) = stack.pop() {
        max = max.max(d);
        match v {
            Json::Array(a) => stack.extend(a.iter().map(|x| (x, d + 1))),
            Json::Object(o) => stack.extend(o.values().map(|x| (x, d + 1))),
            _ => {}
        }
    }
    max
}

/// A provider's warning about what it did to an instance, at its argument.
pub(crate) fn provider_warning(addr: &str, r: &Resource, w: &landform_provider::ProviderError) -> Diagnostic {
    let mut d = provider_diag(addr, r, landform_provider::ProviderError { warning: true, ..w.clone() });
    d.summary = format!("{addr}: {}", d.summary);
    d
}

fn provider_diag(addr: &str, r: &Resource, e: landform_provider::ProviderError) -> Diagnostic {
    let span = e.attribute.as_ref().and_then(|a| span_of_path(&r.config, a)).unwrap_or(r.header_span);
    if e.warning {
        // As Terraform: the provider's words alone (a deprecated argument, say).
        return Diagnostic::warning(e.summary, e.detail, span);
    }
    Diagnostic::error(format!("{}: {}", addr, e.summary), e.detail, span)
}

/// Where a path such as `default_action[0].forward.target_group[1].weight`
/// is written: the value of that argument, or the nearest block on the way.
fn span_of_path(body: &landform_lang::syntax::Body, path: &str) -> Option<landform_lang::Span> {
    let (head, rest) = path.split_once('.').map_or((path, None), |(h, r)| (h, Some(r)));
    let (name, index) = match head.split_once('[') {
        Some((n, i)) => (n, i.trim_end_matches(']').parse::<usize>().ok()),
        None => (head, None),
    };
    // An argument, or a key inside an argument's map or object: its value.
    if let Some(a) = body.attribute(name) {
        let mut at = &a.value;
        for key in rest.map(|r| r.split('.').collect::<Vec<_>>()).unwrap_or_default() {
            let landform_lang::syntax::ExprKind::Object(items) = &at.kind else { break };
            let found = items.iter().find(|i| match &i.key {
                landform_lang::syntax::ObjectKey::Name(id) => id.name == key,
                landform_lang::syntax::ObjectKey::Expr(e) => e.as_static_string().as_deref() == Some(key),
            });
            match found {
                Some(i) => at = &i.value,
                None => break,
            }
        }
        return Some(at.span);
    }
    let block = body
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Block(b) if b.kind.name == name => Some(b),
            _ => None,
        })
        .nth(index.unwrap_or(0))?;
    Some(rest.and_then(|r| span_of_path(&block.body, r)).unwrap_or(block.kind.span))
}

/// Instance keys as a plan shows them.
pub fn key_json(k: &Key) -> Json {
    k.to_json()
}

//! The planner's walk: a `Planner` visits each node of the graph once its
//! dependencies are visited, evaluating variables, locals and outputs and
//! planning each resource instance through its provider.

use super::{
    lifecycle_flag, output_change, postconditions, provider_diag, resource_dependencies, targeted_nodes, walk_order,
    without_nulls, InstanceRef, PlanContext, PlanOptions, MAX_STORED_DEPTH,
};
use crate::addr::{Key, ResourceAddr};
use crate::build::{ConfigGraph, ModulePath, Node};
use crate::convert::{coerce, to_config, to_value};
use crate::plan::{Action, DataRead, OutputChange, ResourceChange};
use crate::sensitivity::{instance_sensitive, redact};
use crate::world::World;
use landform_lang::config::{Mode, Resource};
use landform_lang::diag::Diagnostic;
use landform_lang::Value;
use landform_provider::{Partial, PlanRequest, PlanResponse, Provider, ReadDataRequest, Schema, ValidateRequest};
use landform_state::ResourceRecord;
use petgraph::graph::NodeIndex;
use serde_json::{Map, Value as Json};
use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

/// One plan in the making: what it is computed from, and what it found so far.
pub(super) struct Planner<'c, 'g> {
    pub ctx: &'c PlanContext<'c>,
    pub opts: &'c PlanOptions,
    pub graph: &'g ConfigGraph<'g>,
    pub world: World<'g>,
    /// The refreshed prior state, imports and adopted objects included.
    pub prior: HashMap<String, Cow<'c, ResourceRecord>>,
    /// `--replace` addresses.
    replace: HashSet<String>,
    /// Under `--target`: the resource nodes planned whole.
    targeted: Option<HashSet<NodeIndex>>,
    /// Every instance address the configuration has.
    pub visited: HashSet<String>,
    pub changes: Vec<ResourceChange>,
    pub data_reads: Vec<DataRead>,
    pub output_changes: Vec<OutputChange>,
    pub diags: Vec<Diagnostic>,
}

/// A resource block being planned: its provider and what holds for all its instances.
struct Block<'a> {
    n: NodeIndex,
    module: &'a ModulePath,
    r: &'a Resource,
    provider: &'a Arc<dyn Provider>,
    schema: &'a Schema,
    provider_key: &'a str,
    deps: Vec<String>,
    cbd: bool,
    ignore: crate::lifecycle::Ignored,
}

/// An instance's configuration, evaluated and checked.
struct Evaluated {
    config: Map<String, Json>,
    unknown: BTreeSet<String>,
    sensitive: BTreeSet<String>,
    /// The configuration with its unknown values left out, for `validate`
    /// and for a provider that plans with unknowns at any depth.
    partial: Map<String, Json>,
    /// Where the unknown values are, when an attribute is known in part
    /// (`landform_provider::Partial::unknown`).
    unknown_at: Option<BTreeSet<String>>,
}

impl<'c, 'g> Planner<'c, 'g> {
    pub fn new(
        ctx: &'c PlanContext<'c>,
        opts: &'c PlanOptions,
        graph: &'g ConfigGraph<'g>,
        prior: HashMap<String, Cow<'c, ResourceRecord>>,
        diags: Vec<Diagnostic>,
    ) -> Planner<'c, 'g> {
        Planner {
            ctx,
            opts,
            graph,
            world: World::new(graph, ctx.variables.clone(), ctx.host),
            prior,
            replace: opts.replace.iter().map(|a| a.to_string()).collect(),
            targeted: targeted_nodes(graph, &opts.targets),
            visited: HashSet::new(),
            changes: Vec::new(),
            data_reads: Vec::new(),
            output_changes: Vec::new(),
            diags,
        }
    }

    /// Visit every node, each after everything it depends on.
    pub fn walk(&mut self) {
        for n in walk_order(self.graph) {
            self.visit(n);
        }
    }

    fn visit(&mut self, n: NodeIndex) {
        let (graph, host) = (self.graph, self.ctx.host);
        match &graph.dag.g[n] {
            Node::Var { module, name } if !module.is_empty() => {
                self.world.eval_child_var(module, name, host, &mut self.diags)
            }
            Node::Var { .. } => {}
            Node::Local { module, name } => self.world.eval_local(module, name, host, &mut self.diags),
            Node::Output { module, name } => {
                if let Some(o) = graph.module(module).outputs.iter().find(|o| &o.name == name) {
                    let addr = format!("{}output.{name}", crate::addr::module_prefix(module));
                    let (scope, what) = (self.world.scope(module), "Output precondition");
                    crate::conditions::check_all(&o.preconditions, what, &addr, scope, host, false, &mut self.diags);
                }
                let v = self.world.eval_output(module, name, host, &mut self.diags);
                if module.is_empty() && !self.opts.destroy {
                    self.output_changes.push(output_change(name, &v, self.ctx.state));
                }
            }
            Node::Resource { module, index } => self.plan_resource(n, module, graph.resource(module, *index)),
        }
    }

    fn plan_resource(&mut self, n: NodeIndex, module: &ModulePath, r: &Resource) {
        let (ctx, graph) = (self.ctx, self.graph);
        let Some((provider, schema, provider_key)) = ctx.providers.for_resource(r) else { return };
        let Some(keys) = self.world.expand(module, r, ctx.host, &mut self.diags) else {
            // Instances cannot be known; leave everything unknown.
            self.world.init_resource(module, r, schema, &[]);
            return;
        };
        self.world.init_resource(module, r, schema, &keys);
        let cbd_expr = r.lifecycle.create_before_destroy.as_ref();
        let cbd = lifecycle_flag(&self.world, module, cbd_expr, "create_before_destroy", ctx.host, &mut self.diags);
        let ignore =
            crate::lifecycle::ignored(r).with(crate::rollout::owned_paths(graph, module, r, provider.as_ref()));
        let deps = resource_dependencies(graph, n);
        let block = Block { n, module, r, provider, schema, provider_key, deps, cbd, ignore };
        for (key, each_value) in keys {
            self.plan_instance(&block, key, each_value);
        }
    }

    /// Whether an instance is left out of this plan (a destroy plans none;
    /// `--target` only what it names and what that depends on).
    fn skips(&self, n: NodeIndex, addr: &ResourceAddr) -> bool {
        let whole = self.targeted.as_ref().is_none_or(|t| t.contains(&n));
        self.opts.destroy || !(whole || self.opts.targets.iter().any(|t| t.contains(addr)))
    }

    fn plan_instance(&mut self, b: &Block, key: Key, each_value: Value) {
        let addr = self.world.addr(b.module, b.r, key.clone());
        let addr_s = addr.to_string();
        self.visited.insert(addr_s.clone());
        // Out of the map while the instance is planned, and back after.
        let prior = self.prior.remove(&addr_s);
        self.plan_instance_from(b, &addr, key, each_value, prior.as_deref());
        if let Some(p) = prior {
            self.prior.insert(addr_s, p);
        }
    }

    fn plan_instance_from(
        &mut self,
        b: &Block,
        addr: &ResourceAddr,
        key: Key,
        each_value: Value,
        prior: Option<&ResourceRecord>,
    ) {
        let (module, r) = (b.module, b.r);
        let addr_s = addr.to_string();
        if self.skips(b.n, addr) {
            // Not part of this plan: others see the values in state.
            if let Some(p) = prior {
                let sens: BTreeSet<String> = p.sensitive_attributes.iter().cloned().collect();
                self.world.set_instance(module, r, &key, to_value(&p.attributes, &BTreeSet::new(), &sens));
            }
            return;
        }
        let inst = InstanceRef { module, resource: r, key: &key, each_value: &each_value, addr: &addr_s };
        let Some(ev) = self.evaluate(b, &inst) else { return };
        let base = ResourceChange {
            address: addr_s.clone(),
            module_address: addr.module_addr(),
            mode: if r.mode == Mode::Data { "data".into() } else { "managed".into() },
            type_name: r.type_name.clone(),
            name: r.name.clone(),
            index: key.to_json(),
            provider_name: b.provider_key.to_string(),
            action: Action::NoOp,
            before: None,
            after: None,
            after_unknown: BTreeSet::new(),
            sensitive: ev.sensitive.clone(),
            replace_paths: Vec::new(),
            reason: None,
            sensitive_changed: BTreeSet::new(),
            dependencies: b.deps.clone(),
            create_before_destroy: b.cbd,
            importing: None,
            previous_address: None,
            deposed: None,
        };
        if r.mode == Mode::Data {
            self.plan_data(b, &inst, ev, base);
        } else {
            self.plan_managed(b, &inst, prior, ev, base);
        }
    }

    /// Evaluate an instance's configuration and check it: preconditions,
    /// types, nesting depth, the provider's validation. `None` when it fails
    /// (the errors are in `diags`).
    fn evaluate(&mut self, b: &Block, inst: &InstanceRef) -> Option<Evaluated> {
        let (ctx, r, addr_s) = (self.ctx, b.r, inst.addr);
        let before_errors = self.diags.len();
        let cfg = self.world.eval_config(inst.module, r, inst.key, inst.each_value, ctx.host, &mut self.diags);
        let kind = if r.mode == Mode::Data { "Data source" } else { "Resource" };
        {
            let scope = self.world.instance_scope(inst.module, inst.key, inst.each_value);
            let what = format!("{kind} precondition");
            let conds = &r.lifecycle.preconditions;
            crate::conditions::check_all(conds, &what, addr_s, &scope, ctx.host, false, &mut self.diags);
        }
        if self.diags[before_errors..].iter().any(Diagnostic::is_error) {
            return None;
        }
        let (mut config, unknown, cfg_sensitive) = to_config(&cfg);
        let bad = coerce(&mut config, b.schema);
        for (attr, why) in &bad {
            let span = r.config.attribute(attr).map_or(r.header_span, |a| a.value.span);
            self.diags.push(Diagnostic::error(
                "Incorrect attribute value type",
                format!("Inappropriate value for argument \"{attr}\" of {addr_s}: {why}."),
                span,
            ));
        }
        if !bad.is_empty() {
            return None;
        }
        // The state reads records back with serde_json, which stops at 128
        // levels of nesting: a deeper argument would be saved and never read again.
        if let Some((attr, depth)) =
            config.iter().map(|(k, v)| (k, super::json_depth(v))).find(|(_, d)| *d > MAX_STORED_DEPTH)
        {
            let span = r.config.attribute(attr).map_or(r.header_span, |a| a.value.span);
            self.diags.push(Diagnostic::error(
                "Value nested too deeply to store",
                format!(
                    "The argument \"{attr}\" of {addr_s} nests lists and objects {depth} levels deep; the state stores at most {MAX_STORED_DEPTH}. Flatten it, or keep it in a local value."
                ),
                span,
            ));
            return None;
        }
        let sensitive = instance_sensitive(b.schema, &cfg_sensitive);
        let mut partial = crate::convert::to_partial_config(&cfg);
        let _ = coerce(&mut partial, b.schema);
        let req = ValidateRequest { type_name: &r.type_name, config: &partial, unknown: &unknown };
        for e in b.provider.validate(req) {
            self.diags.push(provider_diag(addr_s, r, e));
        }
        let unknown_at = crate::convert::unknown_paths(&cfg);
        Some(Evaluated { config, unknown, sensitive, partial, unknown_at })
    }

    /// A data source: read now, or, as Terraform does, during apply when it
    /// depends on a resource with changes pending or on values not yet known.
    fn plan_data(&mut self, b: &Block, inst: &InstanceRef, ev: Evaluated, base: ResourceChange) {
        let (r, addr_s) = (b.r, inst.addr);
        let waits = !b.deps.is_empty()
            && self.changes.iter().any(|c| {
                c.action != Action::NoOp
                    && ResourceAddr::parse(&c.address).is_ok_and(|a| b.deps.contains(&a.config_addr()))
            });
        if !ev.unknown.is_empty() || waits {
            let mut c = base;
            c.action = Action::Read;
            c.after = Some(redact(&ev.config, &ev.sensitive));
            c.after_unknown =
                b.schema.attributes.keys().map(|k| k.to_string()).filter(|k| !ev.config.contains_key(k)).collect();
            self.changes.push(c);
            self.world.set_instance(inst.module, r, inst.key, Value::Unknown);
            return;
        }
        match b.provider.read_data(ReadDataRequest { type_name: &r.type_name, config: &ev.config }) {
            Ok(v) => {
                let value = to_value(&v, &BTreeSet::new(), &ev.sensitive);
                postconditions(&self.world, inst, &value, self.ctx.host, &mut self.diags);
                self.world.set_instance(inst.module, r, inst.key, value);
                // Apply evaluates from this read, never a new one.
                self.data_reads.push(DataRead { address: addr_s.to_string(), attributes: v, sensitive: ev.sensitive });
            }
            Err(e) => self.diags.push(provider_diag(addr_s, r, e)),
        }
    }

    /// A managed instance: what its provider plans for it, and the action
    /// that takes it there.
    fn plan_managed(
        &mut self,
        b: &Block,
        inst: &InstanceRef,
        prior: Option<&ResourceRecord>,
        mut ev: Evaluated,
        mut change: ResourceChange,
    ) {
        let (r, addr_s) = (b.r, inst.addr);
        if let Some(p) = prior {
            crate::lifecycle::apply_ignored(&b.ignore, b.schema, &p.attributes, &mut ev.config, &mut ev.unknown);
        }
        let plan_with = |prior: Option<&ResourceRecord>| {
            let req = PlanRequest {
                type_name: &r.type_name,
                prior: prior.map(|p| &p.attributes),
                config: &ev.config,
                unknown: &ev.unknown,
                prior_private: prior.map_or(&[][..], |p| &p.private[..]),
                partial: ev.unknown_at.as_ref().map(|unknown| Partial { config: &ev.partial, unknown }),
            };
            b.provider.plan(req)
        };
        let resp = match plan_with(prior) {
            Ok(resp) => resp,
            Err(e) => return self.diags.push(provider_diag(addr_s, r, e)),
        };
        // Shown with the plan, at their argument (a replacement's second plan says them again).
        for w in &resp.warnings {
            self.diags.push(provider_diag(addr_s, r, w.clone()));
        }
        change.action = match prior {
            None => Action::Create,
            Some(p) => self.action(b, inst, p, &resp, &mut change),
        };
        // A replacement is a new object: plan it as a create, so that what the
        // provider computes (its id…) is known only after apply.
        let resp = if change.action.is_replace() {
            match plan_with(None) {
                Ok(resp) => resp,
                Err(e) => return self.diags.push(provider_diag(addr_s, r, e)),
            }
        } else {
            resp
        };
        let mut sensitive = ev.sensitive.clone();
        let secrets = crate::sensitivity::secret_values(&ev.config, &sensitive);
        sensitive.extend(crate::sensitivity::copied_paths(&secrets, &resp.planned));
        change.sensitive = sensitive.clone();
        let planned = to_value(&resp.planned, &resp.unknown, &sensitive);
        postconditions(&self.world, inst, &planned, self.ctx.host, &mut self.diags);
        self.world.set_instance(inst.module, r, inst.key, planned);
        if change.action == Action::NoOp {
            // Nothing to show or do: keep no copies of the values.
            return self.changes.push(change);
        }
        if let Some(p) = prior {
            change.before = Some(redact(&p.attributes, &sensitive));
            for s in crate::sensitivity::attributes(&sensitive) {
                if p.attributes.get(&s) != resp.planned.get(&s) || crate::sensitivity::touches(&resp.unknown, &s) {
                    change.sensitive_changed.insert(s);
                }
            }
        }
        let mut after = redact(&resp.planned, &sensitive);
        // A block only partly unknown (a weight known, an ARN not): its known
        // parts stay in `after`, as Terraform's plan shows them; it stays
        // named in `after_unknown`.
        for k in &resp.unknown {
            if let (Some(v), false) = (
                ev.partial.get(k).filter(|v| v.is_object() || v.is_array()),
                crate::sensitivity::touches(&sensitive, k),
            ) {
                after.insert(k.clone(), v.clone());
            }
        }
        change.after = Some(after);
        change.after_unknown = resp.unknown;
        self.changes.push(change);
    }

    /// What changes an object the state has: a replace (forced by the
    /// provider, `--replace` or `replace_triggered_by`), an update, or nothing.
    fn action(
        &self,
        b: &Block,
        inst: &InstanceRef,
        prior: &ResourceRecord,
        resp: &PlanResponse,
        change: &mut ResourceChange,
    ) -> Action {
        let by_request = self.replace.contains(inst.addr);
        let by_trigger = crate::lifecycle::triggered(b.r, &change.module_address, &self.changes);
        if !resp.requires_replace.is_empty() || by_request || by_trigger.is_some() {
            change.replace_paths = resp.requires_replace.clone();
            if by_request {
                change.reason = Some("replace_by_request".into());
            } else if by_trigger.is_some() && resp.requires_replace.is_empty() {
                change.reason = Some("replace_by_triggers".into());
            }
            return if b.cbd { Action::CreateThenDelete } else { Action::DeleteThenCreate };
        }
        if !resp.unknown.is_empty() || without_nulls(&resp.planned) != without_nulls(&prior.attributes) {
            Action::Update
        } else {
            Action::NoOp
        }
    }
}

//! Starting a node of apply's walk: variables, locals and outputs are
//! evaluated at once; each resource instance is evaluated again with the
//! values now known, held to the saved plan, and its provider operation queued.

use super::{condition_words, consistent, planned_id, ApplyReport, Event, Job, Pending, Runner, Step};
use crate::addr::{Key, ResourceAddr};
use crate::build::{ModulePath, Node};
use crate::convert::{coerce, to_config, to_value};
use crate::plan::{Action, ResourceChange};
use landform_lang::config::{Mode, Resource};
use landform_lang::diag::Diagnostic;
use landform_lang::Value;
use landform_provider::{Object, Provider, ReadDataRequest, Schema};
use landform_state::{OutputRecord, ResourceRecord};
use petgraph::graph::NodeIndex;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

/// What starting an instance came to.
enum Started {
    /// Nothing to run: its value is known now.
    Done,
    /// Its operation is queued.
    Waiting,
    /// It failed (said in the report): its node fails.
    Failed,
}

/// A resource instance apply is starting.
struct Inst<'a> {
    n: NodeIndex,
    module: &'a ModulePath,
    index: usize,
    r: &'a Resource,
    provider: &'a Arc<dyn Provider>,
    /// The provider configuration's key (`aws`, `aws.west`), as records name it.
    provider_key: &'a str,
    schema: &'a Schema,
    key: Key,
    each_value: Value,
    addr: String,
}

/// An instance's configuration as apply evaluated it, checked.
struct Evaluated {
    config: Object,
    sensitive: BTreeSet<String>,
    secrets: crate::sensitivity::Secrets,
    /// The private data of the final plan apply carries out, if the instance has one.
    planned: Option<Vec<u8>>,
}

impl Runner<'_, '_> {
    /// Start a node. Returns true when it completed at once.
    pub(super) fn start_node(
        &mut self,
        n: NodeIndex,
        state: &mut HashMap<String, ResourceRecord>,
        report: &mut ApplyReport,
    ) -> bool {
        let graph = self.graph;
        let node = &graph.dag.g[n];
        if let Some(because) = self.upstream_failure(n) {
            self.failed.insert(n);
            if let Node::Resource { .. } = node {
                self.progress.event(Event::Skipped { addr: graph.label(node), because });
            }
            return true;
        }
        let host = self.ctx.host;
        let mut diags = Vec::new();
        match node {
            Node::Var { module, name } if !module.is_empty() => {
                self.world.eval_child_var(module, name, host, &mut diags)
            }
            Node::Var { .. } => {}
            Node::Local { module, name } => self.world.eval_local(module, name, host, &mut diags),
            Node::Output { module, name } => {
                // Its preconditions, those unknown at plan time included: a
                // false one fails the apply, and the output is not saved.
                if let Some(o) = graph.output(module, name) {
                    let addr = format!("{}output.{name}", crate::addr::module_prefix(module));
                    let scope = self.world.scope(module);
                    let what = "Output precondition";
                    crate::conditions::check_all(&o.preconditions, what, &addr, scope, host, false, &mut diags);
                }
                let v = self.world.eval_output(module, name, host, &mut diags);
                let refused = diags.iter().any(Diagnostic::is_error);
                if !refused && module.is_empty() && !v.contains_unknown() {
                    let sensitive = v.contains_sensitive();
                    self.outputs.insert(name.clone(), OutputRecord { value: v.unmark_deep().0.to_json(), sensitive });
                }
            }
            Node::Resource { module, index } => return self.start_resource(n, module, *index, state, report),
        }
        if diags.iter().any(Diagnostic::is_error) {
            self.failed.insert(n);
            report.diagnostics.extend(diags);
        }
        true
    }

    fn start_resource(
        &mut self,
        n: NodeIndex,
        module: &ModulePath,
        index: usize,
        state: &mut HashMap<String, ResourceRecord>,
        report: &mut ApplyReport,
    ) -> bool {
        let (ctx, graph) = (self.ctx, self.graph);
        let r = graph.resource(module, index);
        let mut diags = Vec::new();
        let Some((provider, schema, provider_key)) = ctx.providers.for_resource(r) else {
            self.failed.insert(n);
            return true;
        };
        let Some(keys) = self.world.expand(module, r, ctx.host, &mut diags) else {
            self.failed.insert(n);
            report.diagnostics.extend(diags);
            return true;
        };
        self.world.init_resource(module, r, schema, &keys);
        // The instances must be the plan's: none dropped, none added unseen.
        let found: Vec<String> = keys.iter().map(|(k, _)| self.world.addr(module, r, k.clone()).to_string()).collect();
        let block = self.world.addr(module, r, Key::None);
        let mismatched = self.planned.mismatched(&block, &found, |a| self.changes.get(a).map(|c| c.action));
        let refused: HashSet<String> = mismatched.iter().map(|(a, _)| a.clone()).collect();
        self.seen.extend(found.iter().cloned());
        self.seen.extend(refused.iter().cloned());
        if !mismatched.is_empty() {
            report.errors.extend(mismatched);
            self.failed.insert(n);
        }
        let mut waiting = 0;
        for ((key, each_value), addr) in keys.into_iter().zip(found) {
            if refused.contains(&addr) {
                continue;
            }
            let inst = Inst { n, module, index, r, provider, provider_key, schema, key, each_value, addr };
            match self.start_instance(&inst, state, report, &mut diags) {
                Started::Done => {}
                Started::Waiting => waiting += 1,
                Started::Failed => {
                    self.failed.insert(n);
                }
            }
        }
        report.diagnostics.extend(diags);
        if waiting == 0 {
            return true;
        }
        self.node_waiting.insert(n, waiting);
        false
    }

    fn start_instance(
        &mut self,
        inst: &Inst,
        state: &mut HashMap<String, ResourceRecord>,
        report: &mut ApplyReport,
        diags: &mut Vec<Diagnostic>,
    ) -> Started {
        let (r, addr_s) = (inst.r, &inst.addr);
        let data = r.mode == Mode::Data;
        let change = self.changes.get(addr_s.as_str()).copied();
        let action = change.map_or(Action::NoOp, |c| c.action);
        if action == Action::DeleteThenCreate && self.not_destroyed.contains(addr_s) {
            // Its old object is still there (its destroy failed): no new one.
            return Started::Failed;
        }
        if let (true, Some(read)) = (data && action != Action::Read, self.planned.data.get(addr_s)) {
            // Read at plan time: apply uses that read, never a new one.
            let value = to_value(&read.attributes, &BTreeSet::new(), &read.sensitive);
            self.world.set_instance(inst.module, r, &inst.key, value);
            let record = self.data_record(inst, read.attributes.clone(), &read.sensitive);
            self.data_records.push(record);
            return Started::Done;
        }
        if data && action != Action::Read && !state.contains_key(addr_s) {
            // Not read by this plan (a destroy, or outside its targets) and
            // never read before: read now. One the state has is taken as last
            // read, below (a destroy never fails on a source gone since).
            return self.read_now(inst, report, diags);
        }
        if matches!(action, Action::NoOp | Action::Delete) {
            if let Some(rec) = state.get(addr_s) {
                // What the plan found hidden (a state from an older release may have hidden more).
                let sens: BTreeSet<String> = match change {
                    Some(c) if action == Action::NoOp => c.sensitive.clone(),
                    _ => rec.sensitive_attributes.iter().cloned().collect(),
                };
                self.world.set_instance(inst.module, r, &inst.key, to_value(&rec.attributes, &BTreeSet::new(), &sens));
            }
            return Started::Done;
        }
        let Some(change) = change else { return Started::Done };
        let Some(ev) = self.evaluate(inst, change, state, report, diags) else { return Started::Failed };
        self.queue_instance(inst, change, ev, state);
        Started::Waiting
    }

    /// The state's record of a data source instance as it was read.
    fn data_record(&self, inst: &Inst, attributes: Object, sensitive: &BTreeSet<String>) -> ResourceRecord {
        let r = inst.r;
        let addr = ResourceAddr {
            module: inst.module.clone(),
            data: true,
            type_name: r.type_name.clone(),
            name: r.name.clone(),
            key: inst.key.clone(),
        };
        ResourceRecord {
            addr: inst.addr.clone(),
            mode: "data".into(),
            type_name: r.type_name.clone(),
            name: r.name.clone(),
            module: addr.module_addr(),
            index_key: inst.key.to_json(),
            provider: inst.provider_key.to_string(),
            schema_version: inst.schema.version,
            sensitive_attributes: crate::sensitivity::hidden_in_read(&attributes, sensitive).into_iter().collect(),
            attributes,
            dependencies: crate::planner::resource_dependencies(self.graph, inst.n),
            create_before_destroy: false,
            private: Vec::new(),
        }
    }

    /// A data source the plan did not read (a destroy, or outside its
    /// targets): read now, when its configuration is known.
    fn read_now(&mut self, inst: &Inst, report: &mut ApplyReport, diags: &mut Vec<Diagnostic>) -> Started {
        let r = inst.r;
        let cfg = self.world.eval_config(inst.module, r, &inst.key, &inst.each_value, self.ctx.host, diags);
        let (config, unknown, cfg_sensitive) = to_config(&cfg);
        if !unknown.is_empty() {
            return Started::Done;
        }
        let sensitive = crate::sensitivity::instance_sensitive(inst.schema, &cfg_sensitive);
        match inst.provider.read_data(ReadDataRequest { type_name: &r.type_name, config: &config }) {
            Ok(v) => {
                self.world.set_instance(inst.module, r, &inst.key, to_value(&v, &BTreeSet::new(), &sensitive));
                Started::Done
            }
            Err(e) => {
                report.errors.push((inst.addr.clone(), e.to_string()));
                Started::Failed
            }
        }
    }

    /// Evaluate an instance's configuration with the values now known, and
    /// hold it to the saved plan. `None` when it fails (said in the report).
    fn evaluate(
        &mut self,
        inst: &Inst,
        change: &ResourceChange,
        state: &HashMap<String, ResourceRecord>,
        report: &mut ApplyReport,
        diags: &mut Vec<Diagnostic>,
    ) -> Option<Evaluated> {
        let (r, addr_s, host) = (inst.r, &inst.addr, self.ctx.host);
        let mut fail = |why: String| report.errors.push((addr_s.clone(), why));
        let before = diags.len();
        let cfg = self.world.eval_config(inst.module, r, &inst.key, &inst.each_value, host, diags);
        if diags[before..].iter().any(Diagnostic::is_error) {
            fail("its configuration could not be evaluated".into());
            return None;
        }
        // Preconditions not known at plan time are known now.
        let mut cond = Vec::new();
        {
            let scope = self.world.instance_scope(inst.module, &inst.key, &inst.each_value);
            let what = if r.mode == Mode::Data { "Data source precondition" } else { "Resource precondition" };
            crate::conditions::check_all(&r.lifecycle.preconditions, what, addr_s, &scope, host, false, &mut cond);
        }
        if let Some(d) = cond.iter().find(|d| d.is_error()) {
            fail(condition_words(d));
            return None;
        }
        let (mut config, mut unknown, cfg_sensitive) = to_config(&cfg);
        if let Some((attr, why)) = coerce(&mut config, inst.schema).into_iter().next() {
            fail(format!("inappropriate value for argument \"{attr}\": {why}"));
            return None;
        }
        if let Some(prior) = state.get(addr_s).or_else(|| self.replaced_old.get(addr_s)) {
            let ignore = crate::lifecycle::ignored(r).with(crate::rollout::owned_paths(
                self.graph,
                inst.module,
                r,
                inst.provider.as_ref(),
            ));
            crate::lifecycle::apply_ignored(&ignore, inst.schema, &prior.attributes, &mut config, &mut unknown);
        }
        if !unknown.is_empty() {
            let names = unknown.into_iter().collect::<Vec<_>>().join(", ");
            fail(format!(
                "the values of {names} are still unknown at apply time; this is a bug in Landform or in its provider"
            ));
            return None;
        }
        let sensitive = crate::sensitivity::instance_sensitive(inst.schema, &cfg_sensitive);
        let secrets = crate::sensitivity::secret_values(&config, &sensitive);
        let mut planned = None;
        if r.mode != Mode::Data {
            let provider = inst.provider.as_ref();
            match consistent::final_plan(change, provider, state.get(addr_s), &config, &unknown, &sensitive) {
                Ok(p) => planned = p.map(|p| p.private),
                Err(e) => {
                    fail(e);
                    return None;
                }
            }
        }
        Some(Evaluated { config, sensitive, secrets, planned })
    }

    /// Queue an instance's provider operation, remembering what its result
    /// needs to be recorded.
    fn queue_instance(
        &mut self,
        inst: &Inst,
        change: &ResourceChange,
        ev: Evaluated,
        state: &HashMap<String, ResourceRecord>,
    ) {
        let (action, addr_s) = (change.action, &inst.addr);
        // A replacement with the old object's id is the old object,
        // rewritten (a file replaced at the same path): it is not deposed,
        // and deleting "the old one" would delete it.
        let in_place = action == Action::CreateThenDelete
            && planned_id(change)
                .is_some_and(|id| state.get(addr_s).is_some_and(|old| old.attributes.get("id") == Some(id)));
        let depose = action == Action::CreateThenDelete && !in_place && state.contains_key(addr_s);
        let prior = state.get(addr_s).map(|p| (p.attributes.clone(), p.private.clone()));
        let (step, job_prior) = match action {
            Action::DeleteThenCreate => (Step::Second, None),
            Action::CreateThenDelete => (Step::CreateFirst, None),
            Action::Create | Action::Read => (Step::Only, None),
            _ => (Step::Only, prior),
        };
        let (job_prior, prior_private) = job_prior.map_or((None, Vec::new()), |(a, p)| (Some(a), p));
        self.pending.insert(
            addr_s.clone(),
            Pending {
                node: inst.n,
                module: inst.module.clone(),
                index: inst.index,
                key: inst.key.clone(),
                provider_name: change.provider_name.clone(),
                create_before_destroy: change.create_before_destroy,
                sensitive: ev.sensitive,
                secrets: ev.secrets,
                created: None,
                each_value: inst.each_value.clone(),
                in_place,
                private: Vec::new(),
            },
        );
        self.dispatch(Job {
            addr: addr_s.clone(),
            action,
            step,
            provider: inst.provider.clone(),
            type_name: inst.r.type_name.clone(),
            data: inst.r.mode == Mode::Data,
            prior: job_prior,
            prior_private,
            config: Some(ev.config),
            planned: ev.planned,
            depose,
            doom: None,
        });
    }
}

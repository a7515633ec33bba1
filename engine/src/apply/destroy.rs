//! Destroys as nodes of apply's walk, ordered by Terraform's rules:
//!
//! - an object is destroyed after every object being destroyed that depends
//!   on it (dependents first);
//! - the old object of a delete-then-create replacement is destroyed before
//!   its new one is created, after whatever being destroyed depends on it (a
//!   removed `b` goes before the `a` it used is replaced);
//! - any other destroy (a delete, the old object of a create-then-delete
//!   replacement, a deposed object an earlier apply left) waits for the
//!   resources that depend on it to be created or updated, and for its own
//!   resource's new object: create the new object, update dependents, destroy
//!   the old one.
//!
//! A deposed object is in the state until its destroy commits.

use super::{ApplyReport, Done, Event, Job, Runner, Step};
use crate::addr::ResourceAddr;
use crate::build::{ConfigGraph, Node};
use crate::plan::{deposed_label, Action, Plan, ResourceChange};
use landform_lang::diag::{Diagnostic, Severity};
use landform_state::{Change, Deposed, ResourceRecord, Snapshot};
use petgraph::graph::NodeIndex;
use std::collections::{HashMap, HashSet};

/// What a destroy is of.
#[derive(Clone, Copy, PartialEq, Debug)]
pub(super) enum Doomed {
    /// An instance the plan deletes.
    Delete,
    /// The old object of a delete-then-create: its new one is created after.
    Replaced,
    /// A deposed object: the old object of a create-then-delete (deposed by
    /// this apply as its new one is created), or one an earlier apply left.
    Deposed,
}

/// One object to destroy: a node of the walk.
pub(super) struct Doom<'p> {
    pub change: &'p ResourceChange,
    pub kind: Doomed,
    /// A deposed object an earlier apply left, as the state has it. The old
    /// object of a create-then-delete is found when its destroy starts: this
    /// apply deposes it.
    pub deposed: Option<Deposed>,
    /// Goes before the walk's creates (a delete-then-create's old object and
    /// the deletes that depend on one): it waits for no resource node.
    pub early: bool,
}

/// The destroys of a plan and what orders them.
pub(super) struct Destroys<'p> {
    pub dooms: Vec<Doom<'p>>,
    /// (destroy, destroy it waits for).
    pub after_destroys: Vec<(usize, usize)>,
    /// (destroy, resource node it waits for).
    pub after_nodes: Vec<(usize, NodeIndex)>,
    /// (resource node, destroy it waits for): a delete-then-create's new
    /// object is created after its old one is destroyed.
    pub before_nodes: Vec<(NodeIndex, usize)>,
}

fn config_addr(c: &ResourceChange) -> String {
    ResourceAddr::parse(&c.address).map(|a| a.config_addr()).unwrap_or_default()
}

/// Every destroy the plan asks for, with the edges that order them among
/// themselves and against the graph's resource nodes.
pub(super) fn destroys<'p>(plan: &'p Plan, graph: &ConfigGraph, state: &Snapshot) -> Destroys<'p> {
    let mut dooms = early(&plan.resource_changes);
    let taken: HashSet<&str> = dooms.iter().map(|d| d.change.address.as_str()).collect();
    for c in &plan.resource_changes {
        let (kind, deposed) = match (c.action, &c.deposed) {
            (Action::Delete, None) if !taken.contains(c.address.as_str()) => (Doomed::Delete, None),
            (Action::CreateThenDelete, None) => (Doomed::Deposed, None),
            (Action::Delete, Some(key)) => {
                let Some(d) = state.deposed.iter().find(|d| d.record.addr == c.address && &d.key == key) else {
                    continue;
                };
                (Doomed::Deposed, Some(d.clone()))
            }
            _ => continue,
        };
        dooms.push(Doom { change: c, kind, deposed, early: false });
    }
    let blocks: Vec<String> = dooms.iter().map(|d| config_addr(d.change)).collect();
    let mut by_block: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, b) in blocks.iter().enumerate() {
        by_block.entry(b.as_str()).or_default().push(i);
    }
    // Dependents first. An early destroy waits only for early ones: the
    // others wait for the walk's creates, which wait for it.
    let mut after_destroys = Vec::new();
    for (j, d) in dooms.iter().enumerate() {
        for dep in &d.change.dependencies {
            for &i in by_block.get(dep.as_str()).into_iter().flatten() {
                if dooms[i].change.address != d.change.address && (d.early || !dooms[i].early) {
                    after_destroys.push((i, j));
                }
            }
        }
    }
    let nodes: HashMap<String, NodeIndex> = graph
        .dag
        .g
        .node_indices()
        .filter(|n| matches!(graph.dag.g[*n], Node::Resource { .. }))
        .map(|n| (graph.label(&graph.dag.g[n]), n))
        .collect();
    let before_nodes = dooms
        .iter()
        .enumerate()
        .filter(|(_, d)| d.kind == Doomed::Replaced)
        .filter_map(|(i, _)| Some((*nodes.get(&blocks[i])?, i)))
        .collect();
    let mut after_nodes = Vec::new();
    if dooms.iter().any(|d| !d.early) {
        let dependents = dependents_by_block(graph, &nodes, state);
        for (i, d) in dooms.iter().enumerate().filter(|(_, d)| !d.early) {
            after_nodes.extend(dependents.get(&blocks[i]).into_iter().flatten().map(|n| (i, *n)));
            if let (Doomed::Deposed, Some(own)) = (d.kind, nodes.get(&blocks[i])) {
                after_nodes.push((i, *own));
            }
        }
    }
    Destroys { dooms, after_destroys, after_nodes, before_nodes }
}

/// The destroys that go before the walk's creates: every delete-then-create's
/// old object, and every delete that depends, directly or through others, on one.
fn early(changes: &[ResourceChange]) -> Vec<Doom<'_>> {
    let doom = |change, kind| Doom { change, kind, deposed: None, early: true };
    let mut out: Vec<Doom> =
        changes.iter().filter(|c| c.action == Action::DeleteThenCreate).map(|c| doom(c, Doomed::Replaced)).collect();
    let mut taken: HashSet<&str> = out.iter().map(|d| d.change.address.as_str()).collect();
    loop {
        let blocks: HashSet<String> = out.iter().map(|d| config_addr(d.change)).collect();
        let more: Vec<&ResourceChange> = changes
            .iter()
            .filter(|c| c.action == Action::Delete && c.deposed.is_none() && !taken.contains(c.address.as_str()))
            .filter(|c| c.dependencies.iter().any(|d| blocks.contains(d)))
            .collect();
        if more.is_empty() {
            return out;
        }
        for c in more {
            taken.insert(&c.address);
            out.push(doom(c, Doomed::Delete));
        }
    }
}

/// For each resource block, the resource nodes that depend on it: in the
/// configuration (through locals, variables and outputs too), or as the
/// state recorded their objects' dependencies.
fn dependents_by_block(
    graph: &ConfigGraph,
    nodes: &HashMap<String, NodeIndex>,
    state: &Snapshot,
) -> HashMap<String, Vec<NodeIndex>> {
    let mut out: HashMap<String, Vec<NodeIndex>> = HashMap::new();
    for &n in nodes.values() {
        for dep in crate::planner::resource_dependencies(graph, n) {
            out.entry(dep).or_default().push(n);
        }
    }
    for r in &state.resources {
        let Some(&n) = ResourceAddr::parse(&r.addr).ok().and_then(|a| nodes.get(&a.config_addr())) else { continue };
        for dep in &r.dependencies {
            out.entry(dep.clone()).or_default().push(n);
        }
    }
    out
}

impl Runner<'_, '_> {
    /// Start destroy `i`, whose walk node's dependencies are `waits_for`.
    /// Returns true when it completed at once (nothing to destroy, or skipped).
    pub(super) fn start_destroy(
        &mut self,
        i: usize,
        doom: &Doom,
        failed_before: Option<String>,
        state: &HashMap<String, ResourceRecord>,
        report: &mut ApplyReport,
    ) -> bool {
        let c = doom.change;
        let deposed = match doom.kind {
            // Deposed by this apply, when its successor was created; or not at
            // all (rewritten in place, or its successor failed): nothing to do.
            Doomed::Deposed if doom.deposed.is_none() => {
                match self.deposed.iter().find(|d| d.record.addr == c.address) {
                    Some(d) => Some(d.clone()),
                    None => return true,
                }
            }
            _ => doom.deposed.clone(),
        };
        let label = deposed.as_ref().map_or_else(|| c.address.clone(), |d| deposed_label(&c.address, &d.key));
        if let Some(d) = &deposed {
            self.destroying.insert(i, d.key.clone());
        }
        if let Some(because) = failed_before {
            self.failed_destroys.insert(i);
            if doom.kind == Doomed::Replaced {
                self.not_destroyed.insert(c.address.clone());
            }
            self.progress.event(Event::Skipped { addr: label, because });
            return true;
        }
        let Some(provider) = self.ctx.providers.by_name(&c.provider_name).cloned() else {
            report.errors.push((
                label,
                format!("no provider named \"{}\" is available to destroy it; it stays in the state", c.provider_name),
            ));
            self.failed_destroys.insert(i);
            if doom.kind == Doomed::Replaced {
                self.not_destroyed.insert(c.address.clone());
            }
            return true;
        };
        let old = match &deposed {
            Some(d) => Some(&d.record),
            None => state.get(&c.address),
        };
        let prior_private = old.map(|r| r.private.clone()).unwrap_or_default();
        let prior = old.map(|r| r.attributes.clone());
        if prior.is_none() && doom.kind != Doomed::Delete {
            // No old object: nothing to destroy; what waits on it goes on.
            return true;
        }
        self.dispatch(Job {
            addr: label,
            action: Action::Delete,
            step: Step::Only,
            provider,
            type_name: c.type_name.clone(),
            data: false,
            prior,
            prior_private,
            config: None,
            planned: None,
            depose: false,
            doom: Some(i),
        });
        false
    }

    /// Commit a batch of finished destroys, then settle each. Returns the
    /// destroys that completed (failed ones too: what waits on them is skipped).
    pub(super) fn finish_destroys(
        &mut self,
        mut batch: Vec<Done>,
        dooms: &[Doom],
        state: &mut HashMap<String, ResourceRecord>,
        report: &mut ApplyReport,
    ) -> Vec<usize> {
        // One that never started (a stop) completes nothing.
        batch.retain(|d| d.started);
        let commits: Vec<Change> = batch
            .iter()
            .filter(|d| d.result.is_ok())
            .filter_map(|d| {
                let i = d.doom?;
                let addr = dooms[i].change.address.clone();
                Some(match self.destroying.get(&i) {
                    Some(key) => Change::DeleteDeposed { addr, key: key.clone() },
                    None => Change::Delete(addr),
                })
            })
            .collect();
        if !commits.is_empty() {
            self.commit(commits, report);
        }
        let mut completed = Vec::new();
        for done in batch {
            let Some(i) = done.doom else { continue };
            let doom = &dooms[i];
            let addr = doom.change.address.clone();
            completed.push(i);
            // The provider's warnings about the destroy, with its address
            // (the configuration may no longer have the resource).
            for w in &done.warnings {
                report.diagnostics.push(Diagnostic {
                    severity: Severity::Warning,
                    summary: format!("{}: {}", done.addr, w.summary),
                    detail: w.detail.clone(),
                    span: None,
                });
            }
            match done.result {
                Ok(_) => {
                    match doom.kind {
                        Doomed::Replaced => {
                            if let Some(old) = state.remove(&addr) {
                                self.replaced_old.insert(addr, old);
                            }
                        }
                        Doomed::Delete => {
                            state.remove(&addr);
                        }
                        // Its instance's current object, if any, stays.
                        Doomed::Deposed => self.deposed.retain(|d| d.record.addr != addr),
                    }
                    report.destroyed += 1;
                    self.progress.event(Event::Finished {
                        addr: done.addr.clone(),
                        action: Action::Delete,
                        elapsed: done.elapsed,
                        id: None,
                    });
                }
                Err(e) => {
                    self.progress.event(Event::Failed {
                        addr: done.addr.clone(),
                        action: Action::Delete,
                        error: e.to_string(),
                    });
                    let words = match doom.kind {
                        Doomed::Deposed => format!(
                            "this old object (replaced by a new one) could not be destroyed; it stays in the state, and the next apply destroys it: {e}"
                        ),
                        _ => e.to_string(),
                    };
                    report.errors.push((done.addr.clone(), words));
                    self.failed_destroys.insert(i);
                    if doom.kind == Doomed::Replaced {
                        self.not_destroyed.insert(addr);
                    }
                }
            }
        }
        completed
    }
}

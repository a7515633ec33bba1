//! Destroying: each object goes after everything being destroyed that depends
//! on it, committed as each finishes; a failure keeps its dependencies. Apply
//! runs two such phases, as Terraform orders them: before the walk, the old
//! objects of delete-then-create replaces with whatever being destroyed
//! depends on them (so `b`, removed, goes before `a` is replaced); after it,
//! the other deletes, the old objects of create-then-delete replaces (so
//! their dependents are updated first) and the deposed objects earlier
//! applies left. A deposed object is in the state until its destroy commits.

use super::{next_batch, ApplyReport, Done, Event, Job, Runner, Step};
use crate::addr::ResourceAddr;
use crate::plan::{deposed_label, Action, Plan, ResourceChange};
use landform_state::{Change, Deposed, ResourceRecord};
use std::collections::{HashMap, HashSet};

/// What a destroy is of.
#[derive(Clone, Copy, PartialEq, Debug)]
pub(super) enum Doomed {
    /// An instance the plan deletes.
    Delete,
    /// The old object of a delete-then-create: its new one is created after.
    Replaced,
    /// A deposed object: the old object of a create-then-delete, whose new
    /// one is in the state, or one an earlier apply left.
    Deposed,
}

/// One object to destroy.
pub(super) struct Doom<'p> {
    pub change: &'p ResourceChange,
    pub kind: Doomed,
    /// For a deposed object: the object, as the state has it.
    pub deposed: Option<Deposed>,
}

impl Doom<'_> {
    /// What progress lines and errors call it, unique among the destroys.
    pub fn id(&self) -> String {
        match &self.deposed {
            Some(d) => deposed_label(&self.change.address, &d.key),
            None => self.change.address.clone(),
        }
    }
}

fn config_addr(c: &ResourceChange) -> String {
    ResourceAddr::parse(&c.address).map(|a| a.config_addr()).unwrap_or_default()
}

/// The destroys that go before the walk: every delete-then-create's old
/// object, and every delete that depends, directly or through others, on one.
pub(super) fn before_walk(changes: &[ResourceChange]) -> Vec<Doom<'_>> {
    let mut out: Vec<Doom> = changes
        .iter()
        .filter(|c| c.action == Action::DeleteThenCreate)
        .map(|c| Doom { change: c, kind: Doomed::Replaced, deposed: None })
        .collect();
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
            out.push(Doom { change: c, kind: Doomed::Delete, deposed: None });
        }
    }
}

/// The destroys that go after the walk: the other deletes, the objects this
/// apply deposed (`made`) and those earlier applies left (`left`, the plan's
/// deposed changes, as the state has them).
pub(super) fn after_walk<'p>(plan: &'p Plan, early: &[Doom], made: &[Deposed], left: &[Deposed]) -> Vec<Doom<'p>> {
    let done_early: HashSet<String> = early.iter().map(Doom::id).collect();
    let mut out: Vec<Doom> = Vec::new();
    for c in &plan.resource_changes {
        match (c.action, &c.deposed) {
            (Action::Delete, None) if !done_early.contains(&c.address) => {
                out.push(Doom { change: c, kind: Doomed::Delete, deposed: None })
            }
            (Action::CreateThenDelete, None) => {
                for d in made.iter().filter(|d| d.record.addr == c.address) {
                    out.push(Doom { change: c, kind: Doomed::Deposed, deposed: Some(d.clone()) });
                }
            }
            (Action::Delete, Some(key)) => {
                if let Some(d) = left.iter().find(|d| d.record.addr == c.address && &d.key == key) {
                    out.push(Doom { change: c, kind: Doomed::Deposed, deposed: Some(d.clone()) });
                }
            }
            _ => {}
        }
    }
    out
}

impl Runner<'_, '_> {
    pub(super) async fn delete_phase(
        &mut self,
        deletes: &[Doom<'_>],
        state: &mut HashMap<String, ResourceRecord>,
        report: &mut ApplyReport,
        rx: &mut tokio::sync::mpsc::UnboundedReceiver<Done>,
    ) {
        // A resource is destroyed only after everything being destroyed that depends on it.
        let mut blockers: HashMap<String, usize> = deletes.iter().map(|d| (d.id(), 0)).collect();
        let mut dependents_of: HashMap<String, Vec<String>> = HashMap::new();
        for c in deletes {
            for d in deletes {
                if d.change.dependencies.contains(&config_addr(c.change)) && d.change.address != c.change.address {
                    *blockers.get_mut(&c.id()).unwrap_or(&mut 0) += 1;
                    dependents_of.entry(d.id()).or_default().push(c.id());
                }
            }
        }
        let by_addr: HashMap<String, &Doom> = deletes.iter().map(|e| (e.id(), e)).collect();
        let mut ready: Vec<String> = blockers.iter().filter(|(_, b)| **b == 0).map(|(a, _)| a.clone()).collect();
        ready.sort();
        loop {
            while let Some(addr) = ready.pop() {
                if self.stopping() {
                    continue;
                }
                let doom = by_addr[addr.as_str()];
                let (c, kind) = (doom.change, doom.kind);
                let Some(provider) = self.ctx.providers.by_name(&c.provider_name).cloned() else {
                    report.errors.push((
                        addr.clone(),
                        format!(
                            "no provider named \"{}\" is available to destroy it; it stays in the state",
                            c.provider_name
                        ),
                    ));
                    if kind == Doomed::Replaced {
                        self.not_destroyed.insert(addr.clone());
                    }
                    continue;
                };
                let prior = match &doom.deposed {
                    Some(d) => Some(d.record.attributes.clone()),
                    None => state.get(&addr).map(|r| r.attributes.clone()),
                };
                if prior.is_none() && kind != Doomed::Delete {
                    // No old object: nothing to destroy; what waits on it goes on.
                    ready.extend(self.unblock(&addr, &dependents_of, &mut blockers));
                    continue;
                }
                self.in_flight += 1;
                self.spawn(Job {
                    addr: addr.clone(),
                    action: Action::Delete,
                    step: Step::Only,
                    provider,
                    type_name: c.type_name.clone(),
                    data: false,
                    prior,
                    config: None,
                    depose: false,
                });
            }
            if self.in_flight == 0 {
                break;
            }
            let Some(mut batch) = next_batch(rx).await else { break };
            self.in_flight -= batch.len();
            batch.retain(|d| d.started);
            let commits: Vec<Change> = batch
                .iter()
                .filter(|d| d.result.is_ok())
                .filter_map(|d| {
                    let doom = by_addr.get(d.addr.as_str())?;
                    Some(match &doom.deposed {
                        Some(x) => Change::DeleteDeposed { addr: doom.change.address.clone(), key: x.key.clone() },
                        None => Change::Delete(d.addr.clone()),
                    })
                })
                .collect();
            if !commits.is_empty() {
                self.commit(commits, report);
            }
            for done in batch {
                let kind = by_addr.get(done.addr.as_str()).map_or(Doomed::Delete, |e| e.kind);
                match done.result {
                    Ok(_) => {
                        match kind {
                            Doomed::Replaced => {
                                if let Some(old) = state.remove(&done.addr) {
                                    self.replaced_old.insert(done.addr.clone(), old);
                                }
                            }
                            Doomed::Delete => {
                                state.remove(&done.addr);
                            }
                            // Its instance's current object, if any, stays.
                            Doomed::Deposed => {}
                        }
                        report.destroyed += 1;
                        self.progress.event(Event::Finished {
                            addr: done.addr.clone(),
                            action: Action::Delete,
                            elapsed: done.elapsed,
                            id: None,
                        });
                        ready.extend(self.unblock(&done.addr, &dependents_of, &mut blockers));
                    }
                    Err(e) => {
                        self.progress.event(Event::Failed {
                            addr: done.addr.clone(),
                            action: Action::Delete,
                            error: e.to_string(),
                        });
                        let words = match kind {
                            Doomed::Deposed => format!(
                                "this old object (replaced by a new one) could not be destroyed; it stays in the state, and the next apply destroys it: {e}"
                            ),
                            _ => e.to_string(),
                        };
                        report.errors.push((done.addr.clone(), words));
                        if kind == Doomed::Replaced {
                            self.not_destroyed.insert(done.addr.clone());
                        }
                        for dep in dependents_of.get(&done.addr).cloned().unwrap_or_default() {
                            if by_addr.get(dep.as_str()).is_some_and(|e| e.kind == Doomed::Replaced) {
                                self.not_destroyed.insert(dep.clone());
                            }
                            self.progress.event(Event::Skipped { addr: dep, because: done.addr.clone() });
                        }
                    }
                }
            }
        }
        // A replace whose old object was never destroyed (a stop) is not created.
        for d in deletes {
            if d.kind == Doomed::Replaced && state.contains_key(&d.change.address) {
                self.not_destroyed.insert(d.change.address.clone());
            }
        }
    }

    /// `addr` is gone: the destroys that waited only for it are ready.
    fn unblock(
        &self,
        addr: &str,
        dependents_of: &HashMap<String, Vec<String>>,
        blockers: &mut HashMap<String, usize>,
    ) -> Vec<String> {
        let mut ready = Vec::new();
        for dep in dependents_of.get(addr).cloned().unwrap_or_default() {
            if let Some(b) = blockers.get_mut(&dep) {
                *b -= 1;
                if *b == 0 {
                    ready.push(dep);
                }
            }
        }
        ready
    }
}

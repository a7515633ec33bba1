//! Destroying: each object goes after everything being destroyed that depends
//! on it, committed as each finishes; a failure keeps its dependencies. Apply
//! runs two such phases, as Terraform orders them: before the walk, the old
//! objects of delete-then-create replaces with whatever being destroyed
//! depends on them (so `b`, removed, goes before `a` is replaced); after it,
//! the other deletes and the old objects of create-then-delete replaces (so
//! their dependents are updated first).

use super::{next_batch, ApplyReport, Done, Event, Job, Runner, Step};
use crate::addr::ResourceAddr;
use crate::plan::{Action, ResourceChange};
use landform_state::{Change, ResourceRecord};
use std::collections::{HashMap, HashSet};

/// What a destroy is of.
#[derive(Clone, Copy, PartialEq, Debug)]
pub(super) enum Doomed {
    /// An instance the plan deletes.
    Delete,
    /// The old object of a delete-then-create: its new one is created after.
    Replaced,
    /// The old object of a create-then-delete: its new one is in the state.
    Deposed,
}

fn config_addr(c: &ResourceChange) -> String {
    ResourceAddr::parse(&c.address).map(|a| a.config_addr()).unwrap_or_default()
}

/// The destroys that go before the walk: every delete-then-create's old
/// object, and every delete that depends, directly or through others, on one.
pub(super) fn before_walk(changes: &[ResourceChange]) -> Vec<(&ResourceChange, Doomed)> {
    let mut out: Vec<(&ResourceChange, Doomed)> =
        changes.iter().filter(|c| c.action == Action::DeleteThenCreate).map(|c| (c, Doomed::Replaced)).collect();
    let mut taken: HashSet<&str> = out.iter().map(|(c, _)| c.address.as_str()).collect();
    loop {
        let blocks: HashSet<String> = out.iter().map(|(c, _)| config_addr(c)).collect();
        let more: Vec<&ResourceChange> = changes
            .iter()
            .filter(|c| c.action == Action::Delete && !taken.contains(c.address.as_str()))
            .filter(|c| c.dependencies.iter().any(|d| blocks.contains(d)))
            .collect();
        if more.is_empty() {
            return out;
        }
        for c in more {
            taken.insert(&c.address);
            out.push((c, Doomed::Delete));
        }
    }
}

impl Runner<'_, '_> {
    pub(super) async fn delete_phase(
        &mut self,
        deletes: &[(&ResourceChange, Doomed)],
        state: &mut HashMap<String, ResourceRecord>,
        report: &mut ApplyReport,
        rx: &mut tokio::sync::mpsc::UnboundedReceiver<Done>,
    ) {
        // A resource is destroyed only after everything being destroyed that depends on it.
        let mut blockers: HashMap<String, usize> = deletes.iter().map(|(c, _)| (c.address.clone(), 0)).collect();
        let mut dependents_of: HashMap<String, Vec<String>> = HashMap::new();
        for (c, _) in deletes {
            for (d, _) in deletes {
                if d.dependencies.contains(&config_addr(c)) && d.address != c.address {
                    *blockers.get_mut(&c.address).unwrap_or(&mut 0) += 1;
                    dependents_of.entry(d.address.clone()).or_default().push(c.address.clone());
                }
            }
        }
        let by_addr: HashMap<&str, &(&ResourceChange, Doomed)> =
            deletes.iter().map(|e| (e.0.address.as_str(), e)).collect();
        let deposed: HashMap<String, ResourceRecord> =
            self.deposed.iter().map(|r| (r.addr.clone(), r.clone())).collect();
        let mut ready: Vec<String> = blockers.iter().filter(|(_, b)| **b == 0).map(|(a, _)| a.clone()).collect();
        ready.sort();
        loop {
            while let Some(addr) = ready.pop() {
                if self.stopping() {
                    continue;
                }
                let (c, kind) = *by_addr[addr.as_str()];
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
                let prior = match kind {
                    Doomed::Deposed => deposed.get(&addr).map(|r| r.attributes.clone()),
                    Doomed::Delete | Doomed::Replaced => state.get(&addr).map(|r| r.attributes.clone()),
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
                });
            }
            if self.in_flight == 0 {
                break;
            }
            let Some(mut batch) = next_batch(rx).await else { break };
            self.in_flight -= batch.len();
            batch.retain(|d| d.started);
            // A deposed object is not in the state: its destroy commits nothing.
            let commits: Vec<Change> = batch
                .iter()
                .filter(|d| d.result.is_ok() && by_addr.get(d.addr.as_str()).is_some_and(|e| e.1 != Doomed::Deposed))
                .map(|d| Change::Delete(d.addr.clone()))
                .collect();
            if !commits.is_empty() {
                self.commit(commits, report);
            }
            for done in batch {
                let kind = by_addr.get(done.addr.as_str()).map_or(Doomed::Delete, |e| e.1);
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
                            // Not in the state: its new object is.
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
                                "its old object (replaced by a new one, which is in the state) could not be destroyed: {e}"
                            ),
                            _ => e.to_string(),
                        };
                        report.errors.push((done.addr.clone(), words));
                        if kind == Doomed::Replaced {
                            self.not_destroyed.insert(done.addr.clone());
                        }
                        for dep in dependents_of.get(&done.addr).cloned().unwrap_or_default() {
                            if by_addr.get(dep.as_str()).is_some_and(|e| e.1 == Doomed::Replaced) {
                                self.not_destroyed.insert(dep.clone());
                            }
                            self.progress.event(Event::Skipped { addr: dep, because: done.addr.clone() });
                        }
                    }
                }
            }
        }
        // A replace whose old object was never destroyed (a stop) is not created.
        for (c, kind) in deletes {
            if *kind == Doomed::Replaced && state.contains_key(&c.address) {
                self.not_destroyed.insert(c.address.clone());
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

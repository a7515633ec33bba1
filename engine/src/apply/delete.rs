//! Destroying: what the plan deletes goes after everything being deleted that
//! depends on it, committed as each finishes; a failure keeps its dependencies.

use super::{next_batch, ApplyReport, Done, Event, Job, Runner, Step};
use crate::addr::ResourceAddr;
use crate::plan::{Action, ResourceChange};
use landform_state::{Change, ResourceRecord};
use std::collections::HashMap;

impl Runner<'_, '_> {
    pub(super) async fn delete_phase(
        &mut self,
        deletes: &[&ResourceChange],
        state: &mut HashMap<String, ResourceRecord>,
        report: &mut ApplyReport,
        rx: &mut tokio::sync::mpsc::UnboundedReceiver<Done>,
    ) {
        // A resource is deleted only after everything being deleted that depends on it.
        let config_addr =
            |c: &ResourceChange| ResourceAddr::parse(&c.address).map(|a| a.config_addr()).unwrap_or_default();
        let mut blockers: HashMap<String, usize> = deletes.iter().map(|c| (c.address.clone(), 0)).collect();
        let mut dependents_of: HashMap<String, Vec<String>> = HashMap::new();
        for c in deletes {
            for d in deletes {
                if d.dependencies.contains(&config_addr(c)) && d.address != c.address {
                    *blockers.get_mut(&c.address).unwrap_or(&mut 0) += 1;
                    dependents_of.entry(d.address.clone()).or_default().push(c.address.clone());
                }
            }
        }
        let by_addr: HashMap<&str, &&ResourceChange> = deletes.iter().map(|c| (c.address.as_str(), c)).collect();
        let mut ready: Vec<String> = blockers.iter().filter(|(_, b)| **b == 0).map(|(a, _)| a.clone()).collect();
        ready.sort();
        loop {
            while let Some(addr) = ready.pop() {
                if self.stopping() {
                    continue;
                }
                let c = by_addr[addr.as_str()];
                let Some(provider) = self.ctx.providers.by_name(&c.provider_name).cloned() else {
                    report.errors.push((
                        addr.clone(),
                        format!(
                            "no provider named \"{}\" is available to destroy it; it stays in the state",
                            c.provider_name
                        ),
                    ));
                    continue;
                };
                let prior = state.get(&addr).map(|r| r.attributes.clone());
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
            let commits: Vec<Change> =
                batch.iter().filter(|d| d.result.is_ok()).map(|d| Change::Delete(d.addr.clone())).collect();
            if !commits.is_empty() {
                self.commit(commits, report);
            }
            for done in batch {
                match done.result {
                    Ok(_) => {
                        state.remove(&done.addr);
                        report.destroyed += 1;
                        self.progress.event(Event::Finished {
                            addr: done.addr.clone(),
                            action: Action::Delete,
                            elapsed: done.elapsed,
                            id: None,
                        });
                        for dep in dependents_of.get(&done.addr).cloned().unwrap_or_default() {
                            if let Some(b) = blockers.get_mut(&dep) {
                                *b -= 1;
                                if *b == 0 {
                                    ready.push(dep);
                                }
                            }
                        }
                    }
                    Err(e) => {
                        self.progress.event(Event::Failed {
                            addr: done.addr.clone(),
                            action: Action::Delete,
                            error: e.to_string(),
                        });
                        report.errors.push((done.addr.clone(), e.to_string()));
                        for dep in dependents_of.get(&done.addr).cloned().unwrap_or_default() {
                            self.progress.event(Event::Skipped { addr: dep, because: done.addr.clone() });
                        }
                    }
                }
            }
        }
    }
}

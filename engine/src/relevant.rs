//! Which drift a plan shows, by Terraform's rule (1.2 and later): only the
//! attributes of resources that what the plan changes depends on — a
//! changed resource's or output's references, followed through locals,
//! variables, module outputs and the resources they reach. Drift of anything
//! else (a tag the provider reads back as `{}` instead of null, a weight
//! that the plan puts back) is not "objects changed outside" that "may have
//! affected this plan"; it stays in `resource_drift` of the JSON plan, and a
//! refresh-only plan shows all of it.

use crate::addr::Key;
use crate::build::{ConfigGraph, Node};
use crate::drift::ResourceDrift;
use crate::plan::{Action, Plan};
use crate::world::World;
use petgraph::graph::NodeIndex;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One attribute (or, with none, every attribute) of a resource block.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct RelevantAttr {
    /// The block's address (`module.m.aws_vpc.main`).
    pub resource: String,
    pub attribute: Option<String>,
}

/// The block address of an instance: `module_address`, `data.`, type, name.
pub fn block_address(module_address: &str, mode: &str, type_name: &str, name: &str) -> String {
    let data = if mode == "data" { "data." } else { "" };
    if module_address.is_empty() {
        format!("{data}{type_name}.{name}")
    } else {
        format!("{module_address}.{data}{type_name}.{name}")
    }
}

/// The relevant attributes of a plan made on `graph`.
pub fn relevant_attributes(graph: &ConfigGraph, world: &World, plan: &Plan) -> Vec<RelevantAttr> {
    let mut block_of: HashMap<NodeIndex, String> = HashMap::new();
    let mut node_of: HashMap<String, NodeIndex> = HashMap::new();
    let mut outputs: HashMap<String, NodeIndex> = HashMap::new();
    for n in graph.dag.g.node_indices() {
        match &graph.dag.g[n] {
            Node::Resource { module, index } => {
                let addr = world.addr(module, graph.resource(module, *index), Key::None).to_string();
                node_of.insert(addr.clone(), n);
                block_of.insert(n, addr);
            }
            Node::Output { module, name } if module.is_empty() => {
                outputs.insert(name.clone(), n);
            }
            _ => {}
        }
    }
    let mut pending: Vec<NodeIndex> = Vec::new();
    for c in plan.resource_changes.iter().filter(|c| c.action != Action::NoOp && c.deposed.is_none()) {
        let block = block_address(&c.module_address, &c.mode, &c.type_name, &c.name);
        pending.extend(node_of.get(&block));
    }
    for o in plan.output_changes.iter().filter(|o| o.action != Action::NoOp) {
        pending.extend(outputs.get(&o.name));
    }
    let mut seen: BTreeSet<NodeIndex> = pending.iter().copied().collect();
    let mut attrs: BTreeMap<String, Option<BTreeSet<String>>> = BTreeMap::new();
    while let Some(n) = pending.pop() {
        for d in graph.dag.dependencies(n) {
            if let Some(block) = block_of.get(&d) {
                let named = graph.attr_refs.get(&(n, d)).cloned().unwrap_or(None);
                let entry = attrs.entry(block.clone()).or_insert_with(|| Some(BTreeSet::new()));
                match (entry.as_mut(), named) {
                    (Some(set), Some(more)) => set.extend(more),
                    _ => *entry = None,
                }
            }
            if seen.insert(d) {
                pending.push(d);
            }
        }
    }
    let mut out = Vec::new();
    for (resource, named) in attrs {
        match named {
            None => out.push(RelevantAttr { resource, attribute: None }),
            Some(set) => {
                out.extend(set.into_iter().map(|a| RelevantAttr { resource: resource.clone(), attribute: Some(a) }))
            }
        }
    }
    out
}

/// The first attribute name of a drift path: `tags` of `tags.Name`,
/// `default_action` of `default_action[0].forward`.
fn first_attribute(path: &str) -> &str {
    path.split(['.', '[']).next().unwrap_or(path)
}

/// The drift a plan shows: all of it in a refresh-only plan; else only the
/// relevant attributes' (a deleted object, when anything of it is relevant).
pub fn shown_drift(plan: &Plan) -> Vec<ResourceDrift> {
    if plan.refresh_only {
        return plan.resource_drift.clone();
    }
    let mut by_block: HashMap<&str, Vec<&Option<String>>> = HashMap::new();
    for r in &plan.relevant_attributes {
        by_block.entry(r.resource.as_str()).or_default().push(&r.attribute);
    }
    let mut out = Vec::new();
    for d in &plan.resource_drift {
        let block = block_address(&d.module_address, &d.mode, &d.type_name, &d.name);
        let Some(named) = by_block.get(block.as_str()) else { continue };
        let relevant = |path: &str| named.iter().any(|a| a.as_deref().is_none_or(|a| a == first_attribute(path)));
        if d.after.is_none() || d.changes.is_empty() {
            out.push(d.clone());
            continue;
        }
        let mut d = d.clone();
        d.changes.retain(|c| relevant(&c.path));
        if !d.changes.is_empty() {
            out.push(d);
        }
    }
    out
}

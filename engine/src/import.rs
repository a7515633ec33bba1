//! `landform import ADDR ID`: bring an object that already exists under
//! management. The provider reads it by its id; the record is written to the
//! state at the address the configuration declares, and the next plan shows
//! what the configuration would change on it.

use crate::addr::{Key, ResourceAddr};
use crate::build::{build, ConfigGraph, Node};
use crate::providers::Providers;
use landform_lang::config::Mode;
use landform_lang::diag::Diagnostic;
use landform_lang::module::LoadedModule;
use landform_lang::SourceMap;
use landform_provider::ImportRequest;
use landform_state::{ResourceRecord, Snapshot};

/// The state record for `addr`, read from the real world by its `id`, and
/// the provider's warnings.
pub fn import_record(
    tree: &LoadedModule,
    sources: &SourceMap,
    providers: &Providers,
    state: &Snapshot,
    addr: &str,
    id: &str,
) -> Result<(ResourceRecord, Vec<Diagnostic>), String> {
    let a = ResourceAddr::parse(addr)?;
    if a.data {
        return Err(format!("{addr} is a data source: only managed resources are imported"));
    }
    if state.resources.iter().any(|r| r.addr == a.to_string()) {
        return Err(format!(
            "{a} is already managed by Landform: its object is in the state. To import it again, first forget it with `landform state rm {a}`."
        ));
    }
    let graph = build(tree, sources).map_err(|d| d.first().map(|d| d.summary.clone()).unwrap_or_default())?;
    record_for(&graph, providers, &a, id).map_err(|e| e.message)
}

/// Why an import failed, and whether it is the address's fault (not the id's).
pub(crate) struct ImportError {
    pub address: bool,
    pub message: String,
}

/// Read the object with `id` through the provider of the resource `a`
/// declares in `graph`: the record to save at `a`, and the provider's
/// warnings at the resource.
pub(crate) fn record_for(
    graph: &ConfigGraph,
    providers: &Providers,
    a: &ResourceAddr,
    id: &str,
) -> Result<(ResourceRecord, Vec<Diagnostic>), ImportError> {
    let bad = |message: String| ImportError { address: true, message };
    let node = graph.dag.g.node_indices().find(|n| match &graph.dag.g[*n] {
        Node::Resource { module, index } => {
            let r = graph.resource(module, *index);
            *module == a.module && r.mode == Mode::Managed && r.type_name == a.type_name && r.name == a.name
        }
        _ => false,
    });
    let Some(node) = node else {
        return Err(bad(format!(
            "the configuration has no resource {}. Before importing, write its block, e.g.:\n\n    resource \"{}\" \"{}\" {{\n      # …\n    }}",
            a.config_addr(),
            a.type_name,
            a.name
        )));
    };
    let Node::Resource { module, index } = &graph.dag.g[node] else {
        return Err(bad(format!("{a} is not a resource")));
    };
    let r = graph.resource(module, *index);
    match (&a.key, r.count.is_some(), r.for_each.is_some()) {
        (Key::None, false, false) | (Key::Int(_), true, _) | (Key::Str(_), _, true) => {}
        (Key::None, true, _) => {
            return Err(bad(format!("{} has count: import an instance, e.g. {}[0]", a.config_addr(), a.config_addr())))
        }
        (Key::None, _, true) => {
            return Err(bad(format!(
                "{} has for_each: import an instance, e.g. {}[\"key\"]",
                a.config_addr(),
                a.config_addr()
            )))
        }
        _ => {
            return Err(bad(format!(
                "{a}: the index does not match how {} repeats (count or for_each)",
                a.config_addr()
            )))
        }
    }
    let (provider, schema, key) = providers
        .for_resource(r)
        .ok_or_else(|| bad(format!("no provider offers the resource type {}", a.type_name)))?;
    let imported = provider
        .import_answer(ImportRequest { type_name: &a.type_name, id })
        .map_err(|e| ImportError { address: false, message: format!("{a}: {e}") })?;
    let warnings = imported.warnings.iter().map(|w| crate::planner::provider_warning(&a.to_string(), r, w)).collect();
    let record = ResourceRecord {
        addr: a.to_string(),
        mode: "managed".into(),
        type_name: a.type_name.clone(),
        name: a.name.clone(),
        module: a.module_addr(),
        index_key: a.key.to_json(),
        provider: key.to_string(),
        schema_version: schema.version,
        attributes: imported.state,
        sensitive_attributes: schema.sensitive().into_iter().collect(),
        dependencies: crate::planner::resource_dependencies(graph, node),
        create_before_destroy: false,
        private: imported.private,
    };
    Ok((record, warnings))
}

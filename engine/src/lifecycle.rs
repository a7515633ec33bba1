//! The `lifecycle` rules that shape a plan: which attributes `ignore_changes`
//! keeps as they are, shared by the planner and apply so that both read the
//! rule the same way.

use landform_lang::config::Resource;
use landform_lang::diag::{suggestion, Diagnostic};
use landform_lang::syntax::ExprKind;
use landform_provider::Schema;
use serde_json::{Map, Value as Json};
use std::collections::BTreeSet;

/// What `ignore_changes` names.
#[derive(Clone, Debug, PartialEq)]
pub enum Ignored {
    None,
    /// `ignore_changes = all`: every argument keeps its value in the state.
    All,
    /// Paths: `[content]`, or inside a nested block `[health_check[0], path]`.
    Attributes(Vec<Vec<String>>),
}

impl Ignored {
    /// These paths too (what a rollout owns).
    pub fn with(self, more: Vec<Vec<String>>) -> Ignored {
        match self {
            _ if more.is_empty() => self,
            Ignored::All => Ignored::All,
            Ignored::None => Ignored::Attributes(more),
            Ignored::Attributes(mut v) => {
                v.extend(more);
                Ignored::Attributes(v)
            }
        }
    }

    /// Whether a whole top-level argument is ignored.
    pub fn whole(&self, name: &str) -> bool {
        match self {
            Ignored::None => false,
            Ignored::All => true,
            Ignored::Attributes(paths) => paths.iter().any(|p| p.len() == 1 && p[0] == name),
        }
    }

    /// The nested paths, as drift names them: `health_check[0].path`.
    pub fn nested_paths(&self) -> Vec<String> {
        let Ignored::Attributes(paths) = self else { return Vec::new() };
        paths
            .iter()
            .filter(|p| p.len() > 1)
            .map(|p| {
                let mut out = p[0].clone();
                for step in &p[1..] {
                    if step.parse::<u64>().is_ok() {
                        out.push_str(&format!("[{step}]"));
                    } else {
                        out.push('.');
                        out.push_str(step);
                    }
                }
                out
            })
            .collect()
    }
}

/// Read `ignore_changes` of a resource.
pub fn ignored(r: &Resource) -> Ignored {
    match r.lifecycle.ignore_changes.as_ref().map(|e| &e.kind) {
        Some(ExprKind::Variable(id)) if id.name == "all" => Ignored::All,
        Some(ExprKind::List(items)) => Ignored::Attributes(
            items
                .iter()
                .filter_map(|e| {
                    e.as_traversal().map(|(root, path)| std::iter::once(root.name.clone()).chain(path).collect())
                })
                .collect(),
        ),
        _ => Ignored::None,
    }
}

/// Diagnostics for an `ignore_changes` that is neither `all` nor a list of
/// the resource type's argument names.
pub fn check_ignored(r: &Resource, schema: &Schema, diags: &mut Vec<Diagnostic>) {
    let Some(e) = &r.lifecycle.ignore_changes else { return };
    match &e.kind {
        ExprKind::Variable(id) if id.name == "all" => {}
        ExprKind::List(items) => {
            for item in items {
                match item.as_traversal() {
                    Some((root, _)) if schema.has(root.name.as_str()) => {}
                    Some((root, _)) => diags.push(Diagnostic::error(
                        "Unsupported attribute in ignore_changes",
                        format!(
                            "A {} has no argument named \"{}\".{}",
                            r.type_name,
                            root.name,
                            suggestion(&root.name, schema.attributes.keys().chain(schema.blocks.keys()).copied())
                        ),
                        root.span,
                    )),
                    None => diags.push(Diagnostic::error(
                        "Invalid ignore_changes",
                        "ignore_changes lists argument names, such as [content, tags].",
                        item.span,
                    )),
                }
            }
        }
        _ => diags.push(Diagnostic::error(
            "Invalid ignore_changes",
            "ignore_changes is all, or a list of argument names such as [content, tags].",
            e.span,
        )),
    }
}

/// Keep the ignored arguments of `config` at their values in `prior`.
pub fn apply_ignored(
    ignored: &Ignored,
    schema: &Schema,
    prior: &Map<String, Json>,
    config: &mut Map<String, Json>,
    unknown: &mut BTreeSet<String>,
) {
    let paths: Vec<Vec<String>> = match ignored {
        Ignored::None => return,
        Ignored::All => schema
            .attributes
            .iter()
            .filter(|(_, a)| a.is_argument())
            .map(|(k, _)| k.to_string())
            .chain(schema.blocks.keys().map(|k| k.to_string()))
            .map(|k| vec![k])
            .collect(),
        Ignored::Attributes(list) => list.clone(),
    };
    for path in paths {
        let name = path[0].clone();
        if path.len() > 1 {
            // Inside a nested block: keep the prior value at that path.
            if let (Some(from), Some(to)) =
                (prior.get(&name).and_then(|v| at_path(v, &path[1..])), config.get_mut(&name))
            {
                if let Some(slot) = at_path_mut(to, &path[1..]) {
                    *slot = from.clone();
                }
            }
            continue;
        }
        unknown.remove(&name);
        match prior.get(&name) {
            Some(v) => {
                config.insert(name, v.clone());
            }
            None => {
                config.remove(&name);
            }
        }
    }
}

fn at_path<'v>(v: &'v Json, steps: &[String]) -> Option<&'v Json> {
    steps.iter().try_fold(v, |v, s| match v {
        Json::Object(o) => o.get(s),
        Json::Array(a) => a.get(s.parse::<usize>().ok()?),
        _ => None,
    })
}

fn at_path_mut<'v>(v: &'v mut Json, steps: &[String]) -> Option<&'v mut Json> {
    steps.iter().try_fold(v, |v, s| match v {
        Json::Object(o) => o.get_mut(s),
        Json::Array(a) => a.get_mut(s.parse::<usize>().ok()?),
        _ => None,
    })
}

/// Does `replace_triggered_by` of a resource fire, given the changes planned
/// so far? It names resources (`local_exec.migrate`, `local_exec.m[0]`),
/// which fire when replaced or updated, or their attributes
/// (`local_file.cfg.content`), which fire when that attribute changes.
pub fn triggered(r: &Resource, module_addr: &str, changes: &[crate::plan::ResourceChange]) -> Option<String> {
    let e = r.lifecycle.replace_triggered_by.as_ref()?;
    let ExprKind::List(items) = &e.kind else { return None };
    for item in items {
        for reference in landform_lang::refs::references(item) {
            if matches!(reference.root.as_str(), "var" | "local" | "each" | "count" | "path" | "module" | "data") {
                continue;
            }
            let Some(name) = reference.path.first() else { continue };
            let config = if module_addr.is_empty() {
                format!("{}.{name}", reference.root)
            } else {
                format!("{module_addr}.{}.{name}", reference.root)
            };
            let attr = reference.path.get(1);
            for c in changes.iter().filter(|c| {
                c.address == config || (c.address.starts_with(&config) && c.address[config.len()..].starts_with('['))
            }) {
                let fires = match attr {
                    None => matches!(
                        c.action,
                        crate::plan::Action::Update
                            | crate::plan::Action::DeleteThenCreate
                            | crate::plan::Action::CreateThenDelete
                    ),
                    Some(a) => {
                        c.action.is_replace()
                            || (c.action == crate::plan::Action::Update
                                && (crate::sensitivity::touches(&c.after_unknown, a)
                                    || c.sensitive_changed.contains(a)
                                    || c.before.as_ref().and_then(|b| b.get(a))
                                        != c.after.as_ref().and_then(|b| b.get(a))))
                    }
                };
                if fires {
                    return Some(match attr {
                        None => c.address.clone(),
                        Some(a) => format!("{}.{a}", c.address),
                    });
                }
            }
        }
    }
    None
}

/// Diagnostics for a `replace_triggered_by` that is not a list of references
/// to resources or their attributes.
pub fn check_triggers(r: &Resource, diags: &mut Vec<Diagnostic>) {
    let Some(e) = &r.lifecycle.replace_triggered_by else { return };
    let ExprKind::List(items) = &e.kind else {
        diags.push(Diagnostic::error(
            "Invalid replace_triggered_by",
            "replace_triggered_by is a list of resources or resource attributes, such as [local_exec.migrate].",
            e.span,
        ));
        return;
    };
    for item in items {
        let refs = landform_lang::refs::references(item);
        if refs.is_empty()
            || refs.iter().any(|x| matches!(x.root.as_str(), "var" | "local" | "path" | "module" | "data"))
        {
            diags.push(Diagnostic::error(
                "Invalid replace_triggered_by",
                "Each element of replace_triggered_by refers to a managed resource or one of its attributes, such as local_exec.migrate or local_file.config.content.",
                item.span,
            ));
        }
    }
}

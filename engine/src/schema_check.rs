//! Checking resource and data blocks against their types' schemas before
//! anything is evaluated: unknown arguments and blocks, missing required ones,
//! literals of the wrong type, `dynamic` blocks, and the provider a block needs.

use crate::convert::coerce;
use crate::providers::Providers;
use landform_lang::config::{Mode, Resource};
use landform_lang::diag::{suggestion, Diagnostic};
use landform_lang::module::LoadedModule;
use landform_lang::syntax::Item;
use serde_json::Map;
use std::collections::{HashMap, HashSet};

/// Check every resource and data block against its type's schema.
pub fn validate_schemas(tree: &LoadedModule, providers: &Providers) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let mut stack = vec![tree];
    while let Some(m) = stack.pop() {
        stack.extend(m.children.values());
        for r in &m.module.resources {
            let before = diags.len();
            check_schema(r, providers, &mut diags);
            name_required_provider(r, &m.module.required_providers, providers, &mut diags[before..]);
        }
    }
    diags
}

/// A resource of a provider the configuration asks for in
/// `required_providers` and Landform does not have: say which provider.
fn name_required_provider(
    r: &Resource,
    required: &std::collections::BTreeMap<String, String>,
    providers: &Providers,
    diags: &mut [Diagnostic],
) {
    let prefix = r.type_name.split('_').next().unwrap_or_default();
    let Some(source) = required.get(prefix) else { return };
    // A provider Landform has (aws: a type it lacks) keeps the message that lists its types.
    if providers.keys().iter().any(|k| k.split('.').next() == Some(prefix)) {
        return;
    }
    for d in diags
        .iter_mut()
        .filter(|d| d.summary == "Unsupported resource type" || d.summary == "Unsupported data source type")
    {
        d.detail = format!(
            "\"{}\" comes from the provider \"{prefix}\" ({source}), which the configuration asks for in required_providers; Landform has no such provider. Its providers are aws (Application Load Balancers), haproxy and local.",
            r.type_name
        );
    }
}

/// An argument written as a constant (`length = "six"`) is checked against
/// its type already by validate; other values are checked when planning.
fn check_literal_type(
    r: &Resource,
    a: &landform_lang::syntax::Attribute,
    schema: &landform_provider::Schema,
    diags: &mut Vec<Diagnostic>,
) {
    if !landform_lang::refs::references(&a.value).is_empty() {
        return;
    }
    let mut ev = landform_lang::Evaluator::new(&landform_lang::NoHost);
    let v = ev.eval(&a.value, &landform_lang::Scope::new());
    if !ev.diags.is_empty() || v.contains_unknown() {
        return;
    }
    let mut config = Map::new();
    config.insert(a.name.name.clone(), v.unmark_deep().0.to_json());
    for (attr, why) in coerce(&mut config, schema) {
        diags.push(Diagnostic::error(
            "Incorrect attribute value type",
            format!("Inappropriate value for argument \"{attr}\" of {} \"{}\": {why}.", r.type_name, r.name),
            a.value.span,
        ));
    }
}

fn check_schema(r: &Resource, providers: &Providers, diags: &mut Vec<Diagnostic>) {
    let data = r.mode == Mode::Data;
    if let (Some(key), Some(e)) = (crate::providers::provider_ref(r), r.provider.as_ref()) {
        if providers.for_resource(r).is_none() {
            if let Some(p) = providers.by_name(&key) {
                // The configuration is there: it is the type its provider lacks.
                let s = p.schema();
                let mut kinds: Vec<&str> = if data { &s.data_sources } else { &s.resources }.keys().copied().collect();
                kinds.sort_unstable();
                diags.push(Diagnostic::error(
                    if data { "Unsupported data source type" } else { "Unsupported resource type" },
                    format!(
                        "{} \"{}\" uses provider {key}, which has no {} type \"{}\".{} The {} types of provider \"{}\" are: {}.",
                        if data { "The data source" } else { "The resource" },
                        r.name,
                        if data { "data source" } else { "resource" },
                        r.type_name,
                        suggestion(&r.type_name, kinds.iter().copied()),
                        if data { "data source" } else { "resource" },
                        p.name(),
                        kinds.join(", ")
                    ),
                    r.header_span,
                ));
                return;
            }
            let known = providers.keys();
            diags.push(Diagnostic::error(
                "Provider configuration not present",
                format!(
                    "{} \"{}\" uses provider {key}, but no provider block configures it (or it has no {} type). Add provider \"{}\" {{ alias = \"{}\" ... }}, or use one of: {}.",
                    if data { "The data source" } else { "The resource" },
                    r.name,
                    r.type_name,
                    key.split('.').next().unwrap_or(&key),
                    key.split('.').nth(1).unwrap_or(""),
                    known.join(", ")
                ),
                e.span,
            ));
            return;
        }
    }
    let Some((_, schema)) = providers.for_type(data, &r.type_name) else {
        let kinds = providers.type_names(data);
        diags.push(Diagnostic::error(
            if data { "Unsupported data source type" } else { "Unsupported resource type" },
            format!(
                "No provider offers a {} of type \"{}\".{} The types available are: {}.",
                if data { "data source" } else { "resource" },
                r.type_name,
                suggestion(&r.type_name, kinds.iter().copied()),
                kinds.join(", ")
            ),
            r.header_span,
        ));
        return;
    };
    let what = format!("a {} \"{}\" block", if data { "data" } else { "resource" }, r.type_name);
    check_body(r, &r.config.items, schema, (&what, &r.type_name), r.header_span, diags);
    crate::lifecycle::check_ignored(r, schema, diags);
    crate::lifecycle::check_triggers(r, diags);
}

/// A `dynamic "NAME"` block: NAME a nested block type of the schema, its own
/// arguments `for_each` (required), `iterator` and `labels`, one `content`
/// block, checked as a NAME block.
fn check_dynamic(
    r: &Resource,
    b: &landform_lang::syntax::Block,
    schema: &landform_provider::Schema,
    what: &str,
    diags: &mut Vec<Diagnostic>,
) {
    let Some(label) = b.labels.first().filter(|_| b.labels.len() == 1) else {
        diags.push(Diagnostic::error(
            "Invalid dynamic block",
            "A dynamic block takes one label, the type of the blocks it makes: dynamic \"ingress\" { … }.".to_string(),
            b.kind.span,
        ));
        return;
    };
    let Some(bt) = schema.blocks.get(label.value.as_str()) else {
        diags.push(Diagnostic::error(
            "Unsupported block type",
            format!(
                "A dynamic block makes blocks of a nested block type, and {what} has no \"{}\" blocks.{}",
                label.value,
                suggestion(&label.value, schema.blocks.keys().copied())
            ),
            label.span,
        ));
        return;
    };
    for item in &b.body.items {
        match item {
            Item::Attribute(a) if matches!(a.name.name.as_str(), "for_each" | "labels") => {}
            Item::Attribute(a) if a.name.name == "iterator" => {
                if !matches!(a.value.kind, landform_lang::syntax::ExprKind::Variable(_)) {
                    diags.push(Diagnostic::error(
                        "Invalid dynamic iterator",
                        "The iterator is a name, written without quotes: iterator = rule".to_string(),
                        a.value.span,
                    ));
                }
            }
            Item::Attribute(a) => diags.push(Diagnostic::error(
                "Unsupported argument",
                format!(
                    "A dynamic block takes for_each, iterator and labels; \"{}\" belongs in its content block.",
                    a.name.name
                ),
                a.name.span,
            )),
            Item::Block(c) if c.kind.name == "content" => {}
            Item::Block(c) => diags.push(Diagnostic::error(
                "Unsupported block type",
                format!("A dynamic block holds one content block; \"{}\" belongs inside it.", c.kind.name),
                c.kind.span,
            )),
        }
    }
    if b.body.attribute("for_each").is_none() {
        diags.push(Diagnostic::error(
            "Missing required argument",
            format!(
                "The dynamic \"{}\" block needs for_each: the collection to make one block of each element.",
                label.value
            ),
            b.kind.span,
        ));
    }
    let contents: Vec<_> = b.body.blocks().filter(|c| c.kind.name == "content").collect();
    match contents.as_slice() {
        [c] => {
            let inner = format!("a \"{}\" block", label.value);
            check_body(r, &c.body.items, &bt.block, (&inner, &label.value), c.kind.span, diags);
        }
        [] => diags.push(Diagnostic::error(
            "Missing content block",
            format!(
                "The dynamic \"{}\" block needs a content {{ … }} block: the body of each block it makes.",
                label.value
            ),
            b.kind.span,
        )),
        [_, second, ..] => diags.push(Diagnostic::error(
            "Duplicate content block",
            "A dynamic block has one content block.".to_string(),
            second.kind.span,
        )),
    }
}

/// Check the arguments and nested blocks of a body (a resource's, or a nested
/// block's) against a schema, recursively. `what` names the body in messages;
/// `span` is where a missing argument is reported.
fn check_body(
    r: &Resource,
    items: &[Item],
    schema: &landform_provider::Schema,
    (what, owner): (&str, &str),
    span: landform_lang::Span,
    diags: &mut Vec<Diagnostic>,
) {
    let mut present = HashSet::new();
    let mut blocks: HashMap<&str, usize> = HashMap::new();
    for item in items {
        let name = match item {
            Item::Attribute(a) => &a.name.name,
            Item::Block(b) => &b.kind.name,
        };
        present.insert(name.as_str());
        match item {
            Item::Block(b) if b.kind.name == "dynamic" => check_dynamic(r, b, schema, what, diags),
            Item::Block(b) if b.kind.name == "provisioner" || b.kind.name == "connection" => diags.push(Diagnostic::error(
                "Provisioners are not supported",
                "Landform has no provisioners. Run the command with a local_exec resource instead — resource \"local_exec\" \"setup\" { create = \"…\"  destroy = \"…\" } — which runs create when it is created (again when its triggers change) and destroy when it is destroyed; reference the resource it follows so that it runs after it.",
                b.kind.span,
            )),
            Item::Block(b) => check_nested_block(r, b, schema, what, &mut blocks, diags),
            Item::Attribute(a) => check_argument(r, a, schema, (what, owner), diags),
        }
    }
    check_missing(items, schema, what, span, (&present, &blocks), diags);
}

/// A nested block of a body: one of the schema's, not more of them than it
/// allows (`blocks` counts those seen), and its body checked in turn.
fn check_nested_block<'i>(
    r: &Resource,
    b: &'i landform_lang::syntax::Block,
    schema: &landform_provider::Schema,
    what: &str,
    blocks: &mut HashMap<&'i str, usize>,
    diags: &mut Vec<Diagnostic>,
) {
    match schema.blocks.get(b.kind.name.as_str()) {
        Some(bt) => {
            let n = blocks.entry(b.kind.name.as_str()).or_default();
            *n += 1;
            if bt.max_items > 0 && *n > bt.max_items {
                diags.push(Diagnostic::error(
                    "Too many blocks",
                    format!(
                        "No more than {} \"{}\" block{} allowed in {what}.",
                        bt.max_items,
                        b.kind.name,
                        if bt.max_items == 1 { " is" } else { "s are" }
                    ),
                    b.kind.span,
                ));
            }
            let inner = format!("a \"{}\" block", b.kind.name);
            check_body(r, &b.body.items, &bt.block, (&inner, &b.kind.name), b.kind.span, diags);
        }
        None if schema.attributes.contains_key(b.kind.name.as_str()) => diags.push(Diagnostic::error(
            "Unsupported block type",
            format!("\"{}\" is an argument of {what}, not a block: write it as {} = ...", b.kind.name, b.kind.name),
            b.kind.span,
        )),
        None => diags.push(Diagnostic::error(
            "Unsupported block type",
            format!(
                "Blocks of type \"{}\" are not expected in {what}.{}{}",
                b.kind.name,
                suggestion(&b.kind.name, schema.blocks.keys().copied()),
                if schema.blocks.is_empty() {
                    " It has no nested blocks.".to_string()
                } else {
                    format!(" Its blocks are: {}.", schema.blocks.keys().copied().collect::<Vec<_>>().join(", "))
                }
            ),
            b.kind.span,
        )),
    }
}

/// An argument of a body: one of the schema's that configuration may set,
/// of the right type when it is a literal.
fn check_argument(
    r: &Resource,
    a: &landform_lang::syntax::Attribute,
    schema: &landform_provider::Schema,
    (what, owner): (&str, &str),
    diags: &mut Vec<Diagnostic>,
) {
    let (name, at) = (&a.name.name, a.name.span);
    let names = || schema.attributes.keys().chain(schema.blocks.keys()).copied();
    match schema.attributes.get(name.as_str()) {
        None if schema.blocks.contains_key(name.as_str()) => diags.push(Diagnostic::error(
            "Unsupported argument",
            format!("\"{name}\" is a block in {what}, not an argument: write it as {name} {{ ... }}"),
            at,
        )),
        None => diags.push(Diagnostic::error(
            "Unsupported argument",
            format!(
                "An argument named \"{name}\" is not expected in {what}.{} The arguments of {owner} are: {}.",
                suggestion(name, names()),
                schema
                    .attributes
                    .iter()
                    .filter(|(_, a)| a.is_argument())
                    .map(|(k, _)| *k)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            at,
        )),
        Some(att) if !att.is_argument() => diags.push(Diagnostic::error(
            "Invalid argument",
            format!("\"{name}\" is set by the provider after apply; it cannot be set in configuration. Read it as {}.{}.{name} instead.", r.type_name, r.name),
            at,
        )),
        Some(_) => check_literal_type(r, a, schema, diags),
    }
}

/// What a body lacks: required arguments not `present`, and fewer nested
/// blocks than the schema's minimum (`blocks` counts them; a dynamic block's
/// are counted at plan time).
fn check_missing(
    items: &[Item],
    schema: &landform_provider::Schema,
    what: &str,
    span: landform_lang::Span,
    (present, blocks): (&HashSet<&str>, &HashMap<&str, usize>),
    diags: &mut Vec<Diagnostic>,
) {
    for (name, a) in &schema.attributes {
        if a.required && !present.contains(name) {
            diags.push(Diagnostic::error(
                "Missing required argument",
                format!("The argument \"{name}\" is required in {what}, but no definition was found."),
                span,
            ));
        }
    }
    // A dynamic block makes however many blocks its for_each has: counted at plan time.
    let dynamic: HashSet<&str> = items
        .iter()
        .filter_map(|i| match i {
            Item::Block(b) => b.as_dynamic().map(|d| d.name),
            Item::Attribute(_) => None,
        })
        .collect();
    for (name, bt) in &schema.blocks {
        let n = blocks.get(name).copied().unwrap_or(0);
        if n < bt.min_items && !dynamic.contains(name) {
            diags.push(Diagnostic::error(
                "Insufficient blocks",
                format!(
                    "At least {} \"{name}\" block{} required in {what}.",
                    bt.min_items,
                    if bt.min_items == 1 { " is" } else { "s are" }
                ),
                span,
            ));
        }
    }
}

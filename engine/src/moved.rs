//! Refactoring without destroying: `moved` blocks rename what the state
//! records (a resource, one instance, or a whole module) before the plan is
//! made, so that the objects are planned under their new addresses and
//! nothing is destroyed and created again; `removed` blocks with
//! `lifecycle { destroy = false }` name what the plan forgets instead of
//! destroying. Terraform's rules: a move whose source is still declared is an
//! error; chains (a → b, b → c) end at their last address; a move onto an
//! address the state already holds is skipped with a warning.

use crate::addr::{Key, ResourceAddr};
use crate::build::{ConfigGraph, ModulePath};
use landform_lang::config::{Mode, Module};
use landform_lang::diag::Diagnostic;
use landform_lang::syntax::Expr;
use landform_lang::SourceMap;
use landform_state::{ResourceRecord, Snapshot};
use std::collections::{BTreeSet, HashSet};

/// An address a `moved` or `removed` block names.
#[derive(Clone, Debug, PartialEq)]
enum Target {
    Module(ModulePath),
    /// A resource; with `Some(key)` one instance of it (`Key::None` for the instance without a key).
    Resource(ResourceAddr, Option<Key>),
}

impl Target {
    fn parse(text: &str) -> Result<Target, String> {
        let parts: Vec<&str> = crate::addr::split_address(text).unwrap_or_default();
        if !parts.is_empty()
            && parts.len().is_multiple_of(2)
            && parts.chunks(2).all(|c| c[0] == "module" && !c[1].is_empty())
        {
            // Module instances as the graph writes them: `module.site["eu"]`.
            return Ok(Target::Module(parts.chunks(2).map(|c| normalize_element(c[1])).collect()));
        }
        let a = ResourceAddr::parse(text)?;
        if a.data {
            return Err("a data source holds no object to move or forget: name a managed resource".into());
        }
        let key = text.ends_with(']').then(|| a.key.clone());
        Ok(Target::Resource(ResourceAddr { key: Key::None, ..a }, key))
    }

    fn show(&self) -> String {
        match self {
            Target::Module(m) => m.iter().map(|n| format!("module.{n}")).collect::<Vec<_>>().join("."),
            Target::Resource(a, Some(k)) => ResourceAddr { key: k.clone(), ..a.clone() }.to_string(),
            Target::Resource(a, None) => a.to_string(),
        }
    }

    /// Does this name the record's object?
    fn matches(&self, a: &ResourceAddr) -> bool {
        match self {
            Target::Module(m) => a.module.starts_with(m),
            Target::Resource(r, key) => {
                !a.data
                    && a.module == r.module
                    && a.type_name == r.type_name
                    && a.name == r.name
                    && key.as_ref().is_none_or(|k| *k == a.key)
            }
        }
    }
}

/// One `moved` block, read.
struct Move {
    from: Target,
    to: Target,
    span: landform_lang::Span,
}

impl Move {
    /// Does the move apply to this record? `from = a  to = a[0]` (count
    /// added) takes only the instance without a key.
    fn applies(&self, a: &ResourceAddr) -> bool {
        match (&self.from, &self.to) {
            (Target::Resource(_, None), Target::Resource(_, Some(_))) => a.key == Key::None && self.from.matches(a),
            _ => self.from.matches(a),
        }
    }

    /// Where a record the move applies to goes.
    fn apply(&self, a: &ResourceAddr) -> ResourceAddr {
        match (&self.from, &self.to) {
            (Target::Module(from), Target::Module(to)) => {
                let mut module = to.clone();
                module.extend(a.module[from.len()..].iter().cloned());
                ResourceAddr { module, ..a.clone() }
            }
            (Target::Resource(_, from_key), Target::Resource(to, to_key)) => ResourceAddr {
                module: to.module.clone(),
                data: false,
                type_name: to.type_name.clone(),
                name: to.name.clone(),
                key: match (from_key, to_key) {
                    (_, Some(k)) => k.clone(),
                    // One instance to a resource without count or for_each.
                    (Some(_), None) => Key::None,
                    (None, None) => a.key.clone(),
                },
            },
            _ => a.clone(),
        }
    }
}

/// The state as the moves leave it, and what they did.
pub struct Moved {
    pub snapshot: Snapshot,
    /// (from, to) for every instance moved, in the state's order.
    pub moves: Vec<(String, String)>,
    /// Instances `removed { lifecycle { destroy = false } }` forgets.
    pub forget: BTreeSet<String>,
}

fn text_of(sources: &SourceMap, e: &Expr) -> String {
    let text = sources
        .get(e.span.file)
        .map(|f| f.text.get(e.span.start as usize..e.span.end as usize).unwrap_or(""))
        .unwrap_or("");
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The configuration's resource blocks (`module.a.type.name`) and module calls (`module.a`).
fn declared(graph: &ConfigGraph) -> (HashSet<String>, HashSet<ModulePath>) {
    let mut resources = HashSet::new();
    let mut modules = HashSet::new();
    for (path, m) in &graph.modules {
        modules.insert(path.clone());
        for r in m.module.resources.iter().filter(|r| r.mode == Mode::Managed) {
            let a = ResourceAddr {
                module: path.clone(),
                data: false,
                type_name: r.type_name.clone(),
                name: r.name.clone(),
                key: Key::None,
            };
            resources.insert(a.config_addr());
        }
    }
    (resources, modules)
}

/// Apply the root module's `moved` blocks to the state and read its
/// `removed` blocks. Errors and warnings go to `diags`.
pub fn resolve(graph: &ConfigGraph, sources: &SourceMap, state: &Snapshot, diags: &mut Vec<Diagnostic>) -> Moved {
    let root = graph.module(&ModulePath::new());
    refuse_outside_root(graph, diags);
    let (resources, modules) = declared(graph);
    let moves = moves_of(root, sources, &resources, &modules, diags);
    let forget = forgotten(root, sources, &resources, &modules, diags);
    let mut snapshot = state.clone();
    let moved = apply_moves(&mut snapshot, &moves, diags);
    let forget = snapshot
        .resources
        .iter()
        .filter(|r| ResourceAddr::parse(&r.addr).is_ok_and(|a| forget.iter().any(|t| t.matches(&a))))
        .map(|r| r.addr.clone())
        .collect();
    Moved { snapshot, moves: moved, forget }
}

/// Landform reads moved and removed blocks in the root module only.
fn refuse_outside_root(graph: &ConfigGraph, diags: &mut Vec<Diagnostic>) {
    for (path, m) in &graph.modules {
        if let (false, Some(b)) =
            (path.is_empty(), m.module.moved.first().map(|b| b.span).or(m.module.removed.first().map(|b| b.span)))
        {
            diags.push(Diagnostic::error(
                "moved and removed blocks belong in the root module",
                "Landform reads moved and removed blocks in the root module: move this one there, with addresses that go through the module call (module.NAME.TYPE.NAME).".to_string(),
                b,
            ));
        }
    }
}

/// The root module's `moved` blocks, each checked against the declared
/// `resources` and `modules`.
fn moves_of(
    root: &Module,
    sources: &SourceMap,
    resources: &HashSet<String>,
    modules: &HashSet<ModulePath>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Move> {
    let mut moves = Vec::new();
    for m in &root.moved {
        let (from, to) = match (Target::parse(&text_of(sources, &m.from)), Target::parse(&text_of(sources, &m.to))) {
            (Ok(f), Ok(t)) => (f, t),
            (Err(e), _) => {
                diags.push(Diagnostic::error("Invalid moved address", e, m.from.span));
                continue;
            }
            (_, Err(e)) => {
                diags.push(Diagnostic::error("Invalid moved address", e, m.to.span));
                continue;
            }
        };
        match move_problem(&from, &to, resources, modules) {
            Some(p) => diags.push(Diagnostic::error("Invalid moved block", format!("{p}."), m.span)),
            None => moves.push(Move { from, to, span: m.span }),
        }
    }
    moves
}

/// What is wrong with a move from `from` to `to`, if anything.
fn move_problem(
    from: &Target,
    to: &Target,
    resources: &HashSet<String>,
    modules: &HashSet<ModulePath>,
) -> Option<String> {
    match (from, to) {
        (Target::Module(_), Target::Resource(..)) | (Target::Resource(..), Target::Module(_)) => {
            Some("a module moves to a module, and a resource to a resource".to_string())
        }
        (Target::Resource(f, _), Target::Resource(t, _)) if f.type_name != t.type_name => Some(format!(
            "{} and {} are resources of different types ({} and {}): a move keeps the type",
            from.show(),
            to.show(),
            f.type_name,
            t.type_name
        )),
        (Target::Resource(f, fk), Target::Resource(t, tk))
            if f.config_addr() != t.config_addr() && fk.is_none() != tk.is_none() =>
        {
            Some("move a whole resource to a whole resource, or one instance to one instance".to_string())
        }
        (Target::Resource(f, _), Target::Resource(t, _))
            if f.config_addr() != t.config_addr() && resources.contains(&f.config_addr()) =>
        {
            Some(format!(
                "{} is still declared in the configuration: a moved block's from is the old address, whose resource block is gone (rename the block to {})",
                f.config_addr(),
                t.config_addr()
            ))
        }
        (Target::Module(f), Target::Module(_)) if modules.contains(f) => Some(format!(
            "{} is still called in the configuration: a moved block's from is the old module name, whose module block is gone",
            from.show()
        )),
        _ if from == to => Some("from and to are the same address".to_string()),
        _ => None,
    }
}

/// What the root module's `removed` blocks with `destroy = false` forget;
/// a removed block for what is still declared is an error.
fn forgotten(
    root: &Module,
    sources: &SourceMap,
    resources: &HashSet<String>,
    modules: &HashSet<ModulePath>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Target> {
    let mut forget = Vec::new();
    for r in &root.removed {
        match Target::parse(&text_of(sources, &r.from)) {
            Ok(t) => {
                let still = match &t {
                    Target::Resource(a, _) => resources.contains(&a.config_addr()),
                    Target::Module(m) => modules.contains(m),
                };
                if still {
                    diags.push(Diagnostic::error(
                        "Removed resource still declared",
                        format!("{} is still in the configuration: a removed block is for what the configuration no longer declares. Delete its block, or this removed block.", t.show()),
                        r.from.span,
                    ));
                } else if !r.destroy {
                    forget.push(t);
                }
            }
            Err(e) => diags.push(Diagnostic::error("Invalid removed address", e, r.from.span)),
        }
    }
    forget
}

/// Each record of `snapshot` renamed along its chain of moves: (from, to)
/// for every instance moved, in the state's order.
fn apply_moves(snapshot: &mut Snapshot, moves: &[Move], diags: &mut Vec<Diagnostic>) -> Vec<(String, String)> {
    let mut moved = Vec::new();
    let taken: HashSet<String> = snapshot.resources.iter().map(|r| r.addr.clone()).collect();
    let mut occupied = taken.clone();
    let mut skipped: HashSet<usize> = HashSet::new();
    for rec in snapshot.resources.iter_mut() {
        let Ok(start) = ResourceAddr::parse(&rec.addr) else { continue };
        let at = follow_moves(moves, &start, &occupied, &mut skipped, diags);
        if at != start {
            occupied.remove(&rec.addr);
            occupied.insert(at.to_string());
            moved.push((rec.addr.clone(), at.to_string()));
            rename(rec, &at);
        }
    }
    moved
}

/// Where the moves take `start`: every move that applies, until none does.
/// A move to an address `occupied` already is skipped, and warned of once
/// (`skipped` holds the moves warned of).
fn follow_moves(
    moves: &[Move],
    start: &ResourceAddr,
    occupied: &HashSet<String>,
    skipped: &mut HashSet<usize>,
    diags: &mut Vec<Diagnostic>,
) -> ResourceAddr {
    let mut at = start.clone();
    let mut seen = vec![at.to_string()];
    // Follow the chain: every move that applies, until none does.
    'chain: loop {
        for (i, m) in moves.iter().enumerate() {
            if !m.applies(&at) {
                continue;
            }
            let next = m.apply(&at);
            let text = next.to_string();
            if seen.contains(&text) {
                break 'chain;
            }
            if occupied.contains(&text) && !seen.contains(&text) {
                if skipped.insert(i) {
                    diags.push(Diagnostic::warning(
                        "Moved object is already in the state",
                        format!("{text} already holds an object, so {} was not moved there. Remove one of them (landform state rm) or this moved block.", at),
                        m.span,
                    ));
                }
                continue;
            }
            seen.push(text);
            at = next;
            continue 'chain;
        }
        break;
    }
    at
}

/// A record under its new address: address, module, name and key.
pub fn rename(rec: &mut ResourceRecord, to: &ResourceAddr) {
    rec.addr = to.to_string();
    rec.module = to.module_addr();
    rec.type_name = to.type_name.clone();
    rec.name = to.name.clone();
    rec.index_key = to.key.to_json();
}

/// A module path element as the graph writes it: `site["eu"]`, `site[0]`.
fn normalize_element(e: &str) -> String {
    let (name, key) = crate::addr::module_element(e);
    crate::addr::instance_element(name, &key)
}

//! Build the dependency graph of a module tree: one node per variable, local,
//! resource block and output of each module, with edges from the references
//! each expression makes (the `refs` visitor) and from `depends_on`.

use crate::graph::Dag;
use landform_lang::config::{Mode, Module, Resource};
use landform_lang::diag::Diagnostic;
use landform_lang::module::LoadedModule;
use landform_lang::refs::{references, Reference};
use landform_lang::syntax::{Body, Expr, Item};
use landform_lang::{SourceMap, Span};
use petgraph::graph::NodeIndex;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A module path: `[]` for the root, `["net"]` for `module.net`.
pub type ModulePath = Vec<String>;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Node {
    Var {
        module: ModulePath,
        name: String,
    },
    Local {
        module: ModulePath,
        name: String,
    },
    /// A resource or data block (all its instances), by index in the module.
    Resource {
        module: ModulePath,
        index: usize,
    },
    Output {
        module: ModulePath,
        name: String,
    },
}

/// A map keyed by graph nodes and names: hashed with foldhash (seeded per
/// process), which is several times faster than SipHash on these short keys;
/// a plan of 200,000 locals spent a tenth of its time hashing.
pub type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

pub struct ConfigGraph<'a> {
    pub dag: Dag<Node>,
    pub modules: BTreeMap<ModulePath, &'a LoadedModule>,
    /// `each.value` of each instance of a module call with for_each, by its path.
    pub each_values: HashMap<ModulePath, landform_lang::Value>,
    index: FastMap<Node, NodeIndex>,
    /// (module, data?, type, name) → resource node, so a reference resolves in O(1).
    resources: FastMap<(ModulePath, bool, String, String), NodeIndex>,
    /// (module, name) → position of a local and of an output in their module,
    /// so that evaluating one is O(1), not a scan of all of them.
    locals: FastMap<ModulePath, FastMap<String, usize>>,
    outputs: FastMap<ModulePath, FastMap<String, usize>>,
    /// For each edge from a node to a resource it refers to, the attributes
    /// of the resource the references name (`aws_vpc.main.id` → `id`);
    /// `None` when one names the whole object. What a plan's drift is
    /// relevant to (`relevant.rs`).
    pub attr_refs: HashMap<(NodeIndex, NodeIndex), Option<BTreeSet<String>>>,
}

impl<'a> ConfigGraph<'a> {
    pub fn module(&self, path: &ModulePath) -> &'a Module {
        &self.modules[path].module
    }

    pub fn local(&self, path: &ModulePath, name: &str) -> Option<&'a landform_lang::config::Local> {
        let i = self.locals.get(path)?.get(name)?;
        self.module(path).locals.get(*i)
    }

    pub fn output(&self, path: &ModulePath, name: &str) -> Option<&'a landform_lang::config::Output> {
        let i = self.outputs.get(path)?.get(name)?;
        self.module(path).outputs.get(*i)
    }

    /// The paths of the instances of module call `call` in `path` (one, for a
    /// call without count or for_each).
    pub fn instances_of(&self, path: &ModulePath, call: &str) -> Vec<ModulePath> {
        self.modules
            .keys()
            .filter(|p| {
                p.len() == path.len() + 1
                    && p.starts_with(path)
                    && p.last().is_some_and(|e| crate::addr::module_element(e).0 == call)
            })
            .cloned()
            .collect()
    }

    pub fn resource(&self, module: &ModulePath, index: usize) -> &'a Resource {
        &self.modules[module].module.resources[index]
    }

    pub fn node(&self, n: &Node) -> Option<NodeIndex> {
        self.index.get(n).copied()
    }

    /// `var.x`, `module.net.local.y`, `aws_lb.web`, `output.o`.
    pub fn label(&self, n: &Node) -> String {
        let prefix = |m: &ModulePath| crate::addr::module_prefix(m);
        match n {
            Node::Var { module, name } => format!("{}var.{name}", prefix(module)),
            Node::Local { module, name } => format!("{}local.{name}", prefix(module)),
            Node::Resource { module, index } => {
                format!("{}{}", prefix(module), self.resource(module, *index).address())
            }
            Node::Output { module, name } => format!("{}output.{name}", prefix(module)),
        }
    }

    pub fn span(&self, n: &Node) -> Option<Span> {
        let m = self.module(match n {
            Node::Var { module, .. }
            | Node::Local { module, .. }
            | Node::Resource { module, .. }
            | Node::Output { module, .. } => module,
        });
        match n {
            Node::Var { name, .. } => m.variable(name).map(|v| v.span),
            Node::Local { module, name } => self.local(module, name).map(|l| l.span),
            Node::Resource { index, .. } => Some(m.resources[*index].header_span),
            Node::Output { module, name } => self.output(module, name).map(|o| o.span),
        }
    }

    pub fn to_dot(&self) -> String {
        self.dag.to_dot(|n| self.label(n))
    }

    /// Every resource node below (and in) a module path.
    fn resources_under(&self, path: &ModulePath) -> Vec<NodeIndex> {
        self.index
            .iter()
            .filter_map(|(n, i)| match n {
                Node::Resource { module, .. } if module.starts_with(path) => Some(*i),
                _ => None,
            })
            .collect()
    }
}

/// The instances of module calls with `count` or `for_each`, by (the calling
/// module's path, the call's name): each instance's key and `each.value`.
#[derive(Default, Clone, Debug)]
pub struct ModuleInstances(pub HashMap<(ModulePath, String), Vec<(crate::addr::Key, landform_lang::Value)>>);

/// Evaluate the module calls' `count` and `for_each` — in the root module and
/// in the modules it calls, at any depth — from variables and locals, before
/// the graph is built: a module's instances are part of the graph's shape, so
/// they must be known before anything is planned.
pub fn module_instances(
    root: &LoadedModule,
    variables: &landform_lang::Value,
    host: &dyn landform_lang::Host,
) -> (ModuleInstances, Vec<Diagnostic>) {
    let mut out = ModuleInstances::default();
    let mut diags = Vec::new();
    if has_repetition(root) {
        instances_in(root, &ModulePath::new(), variables.clone(), host, &mut out, &mut diags);
    }
    (out, diags)
}

/// Whether a call in this module or below sets count or for_each.
fn has_repetition(m: &LoadedModule) -> bool {
    m.module.module_calls.iter().any(|c| c.count.is_some() || c.for_each.is_some())
        || m.children.values().any(has_repetition)
}

/// The instances of `m`'s repeated calls, and of those below them; `var` is
/// `m`'s variables.
fn instances_in(
    m: &LoadedModule,
    path: &ModulePath,
    var: landform_lang::Value,
    host: &dyn landform_lang::Host,
    out: &mut ModuleInstances,
    diags: &mut Vec<Diagnostic>,
) {
    use crate::addr::Key;
    use landform_lang::check::{Input, InputValue};
    use landform_lang::{Evaluator, Value};
    let base = landform_lang::check::planning_scope(m, var, host);
    for call in &m.module.module_calls {
        let Some(child) = m.children.get(&call.name) else { continue };
        let repeated = call.count.is_some() || call.for_each.is_some();
        if !repeated && !has_repetition(child) {
            continue;
        }
        let keys: Vec<(Key, Value)> = match (&call.count, &call.for_each) {
            (None, None) => vec![(Key::None, Value::Unknown)],
            (count, for_each) => {
                let (expr, what) = match (count, for_each) {
                    (Some(c), _) => (c, "count"),
                    (None, Some(f)) => (f, "for_each"),
                    _ => continue,
                };
                let mut ev = Evaluator::new(host);
                let v = ev.eval(expr, &base);
                if !ev.diags.is_empty() {
                    diags.append(&mut ev.diags);
                    continue;
                }
                let keys: Result<Option<Vec<(Key, Value)>>, String> = if what == "count" {
                    landform_lang::check::count_value(&v)
                        .map(|n| n.map(|n| (0..n).map(|i| (Key::Int(i), Value::Unknown)).collect()))
                } else {
                    landform_lang::check::for_each_keys(&v)
                        .map(|k| k.map(|k| k.into_iter().map(|(k, v)| (Key::Str(k), v)).collect()))
                };
                match keys {
                    Ok(Some(keys)) => {
                        out.0.insert((path.clone(), call.name.clone()), keys.clone());
                        keys
                    }
                    Ok(None) => {
                        diags.push(Diagnostic::error(
                            format!("Invalid {what} argument"),
                            format!("The {what} of module \"{}\" depends on values known only after apply (a resource's attributes). A module's instances must be known when planning: use variables and locals.", call.name),
                            expr.span,
                        ));
                        continue;
                    }
                    Err(why) => {
                        diags.push(Diagnostic::error(format!("Invalid {what} argument"), why, expr.span));
                        continue;
                    }
                }
            }
        };
        if !has_repetition(child) {
            continue;
        }
        for (key, value) in &keys {
            // The child instance's variables: the call's arguments, with its
            // `each`/`count`, or the variables' defaults.
            let mut scope = base.child();
            match key {
                Key::Int(i) => scope.set("count", Value::Object([("index".to_string(), Value::from(*i))].into())),
                Key::Str(k) => scope.set(
                    "each",
                    Value::Object(
                        [("key".to_string(), Value::String(k.clone())), ("value".to_string(), value.clone())].into(),
                    ),
                ),
                Key::None => {}
            }
            // Their errors are the plan's to report.
            let inputs = call
                .args
                .iter()
                .map(|a| {
                    let v = Evaluator::new(host).eval(&a.value, &scope);
                    let input = Input { value: InputValue::Value(v, a.value.span), origin: call.name.clone() };
                    (a.name.name.clone(), input)
                })
                .collect();
            let vars = landform_lang::check::resolve_variables(&child.module, &inputs, host, &mut Vec::new());
            let mut p = path.clone();
            p.push(crate::addr::instance_element(&call.name, key));
            instances_in(child, &p, vars, host, out, diags);
        }
    }
}

/// Build the graph; a cycle is an error that names every node on it. Module
/// calls with count or for_each are one module each (their bodies checked
/// once): for `validate` and `graph`.
pub fn build<'a>(root: &'a LoadedModule, sources: &SourceMap) -> Result<ConfigGraph<'a>, Vec<Diagnostic>> {
    build_with(root, sources, None)
}

/// Build the graph with each module call's instances: a module path element
/// is `NAME` or, for an instance, `NAME[KEY]`.
pub fn build_with<'a>(
    root: &'a LoadedModule,
    sources: &SourceMap,
    instances: Option<&ModuleInstances>,
) -> Result<ConfigGraph<'a>, Vec<Diagnostic>> {
    let mut g = ConfigGraph {
        dag: Dag::default(),
        modules: BTreeMap::new(),
        each_values: HashMap::new(),
        index: FastMap::default(),
        resources: FastMap::default(),
        locals: FastMap::default(),
        outputs: FastMap::default(),
        attr_refs: HashMap::new(),
    };
    add_modules(&mut g, root, instances);
    let modules: Vec<(ModulePath, &LoadedModule)> = g.modules.iter().map(|(p, m)| (p.clone(), *m)).collect();
    for (path, m) in &modules {
        add_nodes(&mut g, path, &m.module);
    }
    for (path, m) in &modules {
        connect_module(&mut g, path, &m.module);
    }
    let cycles = g.dag.cycles();
    if cycles.is_empty() {
        return Ok(g);
    }
    Err(cycles.iter().map(|c| cycle_error(&g, c, sources)).collect())
}

/// Every module of the tree under `root` by its path, each instance of a
/// module call with count or for_each a module of its own.
fn add_modules<'a>(g: &mut ConfigGraph<'a>, root: &'a LoadedModule, instances: Option<&ModuleInstances>) {
    let mut stack = vec![(Vec::new(), root)];
    while let Some((path, m)) = stack.pop() {
        for (name, child) in &m.children {
            match instances.and_then(|i| i.0.get(&(path.clone(), name.clone()))) {
                Some(keys) => {
                    for (k, v) in keys {
                        let mut p = path.clone();
                        p.push(crate::addr::instance_element(name, k));
                        g.each_values.insert(p.clone(), v.clone());
                        stack.push((p, child));
                    }
                }
                None => {
                    let mut p = path.clone();
                    p.push(name.clone());
                    stack.push((p, child));
                }
            }
        }
        g.modules.insert(path, m);
    }
}

/// A node for each variable, local, resource block and output of the module at `path`.
fn add_nodes(g: &mut ConfigGraph, path: &ModulePath, module: &Module) {
    let add = |g: &mut ConfigGraph, n: Node| {
        let i = g.dag.add(n.clone());
        g.index.insert(n, i);
    };
    for v in &module.variables {
        add(g, Node::Var { module: path.clone(), name: v.name.clone() });
    }
    for (i, l) in module.locals.iter().enumerate() {
        add(g, Node::Local { module: path.clone(), name: l.name.clone() });
        g.locals.entry(path.clone()).or_default().insert(l.name.clone(), i);
    }
    for (i, r) in module.resources.iter().enumerate() {
        add(g, Node::Resource { module: path.clone(), index: i });
        let n = g.index[&Node::Resource { module: path.clone(), index: i }];
        g.resources.insert((path.clone(), r.mode == Mode::Data, r.type_name.clone(), r.name.clone()), n);
    }
    for (i, o) in module.outputs.iter().enumerate() {
        add(g, Node::Output { module: path.clone(), name: o.name.clone() });
        g.outputs.entry(path.clone()).or_default().insert(o.name.clone(), i);
    }
}

/// The edges from what the module at `path` refers to: its locals',
/// resources' and outputs' expressions, `depends_on`, and its module calls'
/// arguments (a child's variables depend on them).
fn connect_module(g: &mut ConfigGraph, path: &ModulePath, module: &Module) {
    for l in &module.locals {
        let me = g.index[&Node::Local { module: path.clone(), name: l.name.clone() }];
        connect_expr(g, me, path, &l.value, &[]);
    }
    for (i, r) in module.resources.iter().enumerate() {
        let me = g.index[&Node::Resource { module: path.clone(), index: i }];
        connect_resource(g, me, path, r);
    }
    for o in &module.outputs {
        let me = g.index[&Node::Output { module: path.clone(), name: o.name.clone() }];
        connect_expr(g, me, path, &o.value, &[]);
        for c in &o.preconditions {
            connect_expr(g, me, path, &c.condition, &[]);
            connect_expr(g, me, path, &c.error_message, &[]);
        }
        for d in &o.depends_on {
            connect_depends_on(g, me, path, d);
        }
    }
    // A child's variables depend on what the call's arguments refer to.
    for call in &module.module_calls {
        for child in g.instances_of(path, &call.name) {
            for arg in &call.args {
                if let Some(&me) = g.index.get(&Node::Var { module: child.clone(), name: arg.name.name.clone() }) {
                    connect_expr(g, me, path, &arg.value, &[]);
                    for d in &call.depends_on {
                        connect_depends_on(g, me, path, d);
                    }
                }
            }
        }
    }
}

/// The edges of the resource block `r` (node `me`).
fn connect_resource(g: &mut ConfigGraph, me: NodeIndex, path: &ModulePath, r: &Resource) {
    for e in r.count.iter().chain(r.for_each.iter()) {
        connect_expr(g, me, path, e, &[]);
    }
    connect_body(g, me, path, &r.config);
    for d in &r.depends_on {
        connect_depends_on(g, me, path, d);
    }
    // What replace_triggered_by watches is planned first.
    if let Some(e) = &r.lifecycle.replace_triggered_by {
        connect_expr(g, me, path, e, &[]);
    }
    // And what its conditions read (`self` is the resource itself).
    let own = ["self".to_string()];
    for c in r.lifecycle.preconditions.iter().chain(&r.lifecycle.postconditions) {
        connect_expr(g, me, path, &c.condition, &own);
        connect_expr(g, me, path, &c.error_message, &own);
    }
}

/// The error for a cycle: every node on it, with where each is declared.
fn cycle_error(g: &ConfigGraph, c: &[NodeIndex], sources: &SourceMap) -> Diagnostic {
    let at = |i: &NodeIndex| {
        let n = &g.dag.g[*i];
        let loc = g
            .span(n)
            .and_then(|s| sources.get(s.file).map(|f| (f, s)))
            .map(|(f, s)| {
                let (l, col) = f.line_col(s.start);
                format!(" ({}:{l}:{col})", f.name)
            })
            .unwrap_or_default();
        format!("{}{loc}", g.label(n))
    };
    let names: Vec<String> = c.iter().map(at).collect();
    let first = &g.dag.g[c[0]];
    let detail = format!(
        "These depend on each other in a cycle:\n  {}\n  → {}\nA resource, local or output cannot depend on itself. Break the cycle by removing one of the references or a depends_on.",
        names.join("\n  → "),
        g.label(first)
    );
    match g.span(first) {
        Some(s) => Diagnostic::error("Cycle in configuration", detail, s),
        None => Diagnostic::global("Cycle in configuration", detail),
    }
}

fn connect_body(g: &mut ConfigGraph, me: NodeIndex, path: &ModulePath, body: &Body) {
    connect_body_within(g, me, path, body, &[]);
}

/// `bound`: names a dynamic block's iterator binds (not references to anything).
fn connect_body_within(g: &mut ConfigGraph, me: NodeIndex, path: &ModulePath, body: &Body, bound: &[String]) {
    for item in &body.items {
        match item {
            Item::Attribute(a) => connect_expr(g, me, path, &a.value, bound),
            Item::Block(b) => match b.as_dynamic() {
                Some(d) => {
                    if let Some(f) = d.for_each {
                        connect_expr(g, me, path, f, bound);
                    }
                    if let Some(content) = d.content {
                        let mut inner = bound.to_vec();
                        inner.push(d.iterator.clone());
                        connect_body_within(g, me, path, content, &inner);
                    }
                }
                None => connect_body_within(g, me, path, &b.body, bound),
            },
        }
    }
}

fn connect_expr(g: &mut ConfigGraph, me: NodeIndex, path: &ModulePath, expr: &Expr, bound: &[String]) {
    for r in references(expr).into_iter().filter(|r| !bound.contains(&r.root)) {
        for target in targets(g, path, &r) {
            g.dag.depend(me, target);
            note_attr_ref(g, me, target, &r);
        }
    }
}

/// Record which attribute of a resource a reference names: the step after
/// its name, or after its instance key when it has count or for_each.
fn note_attr_ref(g: &mut ConfigGraph, me: NodeIndex, target: NodeIndex, r: &Reference) {
    let Node::Resource { module, index } = &g.dag.g[target] else { return };
    let res = g.resource(module, *index);
    let keyed = res.count.is_some() || res.for_each.is_some();
    let first = if r.root == "data" { 2 } else { 1 };
    let attr = r.path.get(first + usize::from(keyed)).cloned();
    let entry = g.attr_refs.entry((me, target)).or_insert_with(|| Some(BTreeSet::new()));
    match (entry.as_mut(), attr) {
        (Some(set), Some(a)) => {
            set.insert(a);
        }
        _ => *entry = None,
    }
}

fn connect_depends_on(g: &mut ConfigGraph, me: NodeIndex, path: &ModulePath, expr: &Expr) {
    for r in references(expr) {
        if r.root == "module" {
            if let Some(name) = r.path.first() {
                let mut child = path.clone();
                child.push(name.clone());
                for t in g.resources_under(&child) {
                    g.dag.depend(me, t);
                }
            }
        }
        for target in targets(g, path, &r) {
            g.dag.depend(me, target);
        }
    }
}

/// The graph nodes a reference points at (none for an undeclared one, which
/// the checker has already reported).
fn targets(g: &ConfigGraph, path: &ModulePath, r: &Reference) -> Vec<NodeIndex> {
    let find_resource = |mode: Mode, t: &str, n: &str| {
        g.resources.get(&(path.clone(), mode == Mode::Data, t.to_string(), n.to_string())).copied()
    };
    match (r.root.as_str(), r.path.as_slice()) {
        ("var", [name, ..]) => g.node(&Node::Var { module: path.clone(), name: name.clone() }).into_iter().collect(),
        ("local", [name, ..]) => {
            g.node(&Node::Local { module: path.clone(), name: name.clone() }).into_iter().collect()
        }
        // Every instance of the call: `module.api["eu"].x` names one, but its key may be dynamic.
        ("module", [call, rest @ ..]) => g
            .instances_of(path, call)
            .into_iter()
            .map(|child| {
                // `module.api.out`, or `module.api["eu"].out` (the key a step of its own).
                let named = rest.iter().take(2).find(|s| g.module(&child).outputs.iter().any(|o| &o.name == *s));
                (named, child)
            })
            .flat_map(|(named, child)| match named {
                Some(out) => g.node(&Node::Output { module: child, name: out.clone() }).into_iter().collect::<Vec<_>>(),
                None => g
                    .module(&child)
                    .outputs
                    .iter()
                    .filter_map(|o| g.node(&Node::Output { module: child.clone(), name: o.name.clone() }))
                    .collect(),
            })
            .collect(),
        ("data", [t, n, ..]) => find_resource(Mode::Data, t, n).into_iter().collect(),
        ("each" | "count" | "path" | "self" | "terraform" | "data" | "var" | "local" | "module", _) => Vec::new(),
        (t, [n, ..]) => find_resource(Mode::Managed, t, n).into_iter().collect(),
        _ => Vec::new(),
    }
}

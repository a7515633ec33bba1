//! The module model: a directory's files lowered into variables, locals,
//! providers, resources, data sources, module calls and outputs, with the
//! structural checks (unknown or duplicate blocks and attributes, wrong labels).

use crate::diag::{suggestion, Diagnostic};
use crate::source::{SourceMap, Span};
use crate::syntax::{Attribute, Block, Body, Expr, Ident, Item};
use std::collections::HashMap;

mod settings;

#[derive(Clone, Debug, Default)]
pub struct Module {
    pub variables: Vec<Variable>,
    pub locals: Vec<Local>,
    pub providers: Vec<Provider>,
    pub resources: Vec<Resource>,
    pub module_calls: Vec<ModuleCall>,
    pub outputs: Vec<Output>,
    /// `import { to = ADDR, id = "…" }`: objects to bring under management (root module only).
    pub imports: Vec<Import>,
    /// `moved { from = ADDR  to = ADDR }`: objects the state records under `from` are now `to`.
    pub moved: Vec<Moved>,
    /// `removed { from = ADDR  lifecycle { destroy = false } }`: forget without destroying.
    pub removed: Vec<Removed>,
    /// `rollout "NAME" { … }`: traffic shifted step by step on a switch (root module only).
    pub rollouts: Vec<Rollout>,
    /// `backend "postgres" { url = …  schema = … }`: where the state is kept (root module only).
    pub backend: Option<Backend>,
    /// `landform { required_version = ">= 0.2" }`: the Landform versions this module works with.
    pub required_version: Option<(String, Span)>,
    /// `terraform { required_providers { NAME = { source = "ns/NAME" } } }`:
    /// named when a resource of a provider Landform does not have is planned.
    pub required_providers: std::collections::BTreeMap<String, String>,
    /// Their `version` constraints, as written, where given.
    pub required_provider_versions: std::collections::BTreeMap<String, (String, Span)>,
    /// `check "NAME" { assert { … } }` blocks (root module only).
    pub checks: Vec<Check>,
}

/// A `backend` block. Its settings are read before anything else in the
/// configuration is evaluated, so they may use functions (`env("…")`) but
/// refer to nothing.
#[derive(Clone, Debug)]
pub struct Backend {
    /// `postgres`, the only backend besides the default, sled, which needs no block.
    pub kind: String,
    pub url: Expr,
    pub schema: Option<Expr>,
    pub span: Span,
}

impl Backend {
    /// The URL and schema, evaluated with `host` (for `env`): errors at their spans.
    pub fn settings(&self, host: &dyn crate::eval::Host) -> Result<(String, Option<String>), Diagnostic> {
        let eval = |expr: &Expr, what: &str| -> Result<String, Diagnostic> {
            let mut ev = crate::eval::Evaluator::new(host);
            let v = ev.eval(expr, &crate::eval::Scope::new());
            if let Some(d) = ev.diags.into_iter().find(|d| d.is_error()) {
                return Err(d);
            }
            match v.unmark_deep().0 {
                crate::Value::String(s) if !s.trim().is_empty() => Ok(s),
                _ => Err(Diagnostic::error(
                    "Invalid backend setting",
                    format!("The backend's {what} must be a non-empty string, such as env(\"LANDFORM_PG_URL\")."),
                    expr.span,
                )),
            }
        };
        let url = eval(&self.url, "url")?;
        let schema = self.schema.as_ref().map(|e| eval(e, "schema")).transpose()?;
        Ok((url, schema))
    }
}

/// A `rollout` block: move traffic on `switch` from `stable` to `canary`
/// through `steps`, pausing and analysing after each.
#[derive(Clone, Debug)]
pub struct Rollout {
    pub name: String,
    /// A resource reference: the traffic switch (`haproxy_backend.app`).
    pub switch: Expr,
    pub stable: Expr,
    pub canary: Expr,
    pub strategy: Option<Expr>,
    pub steps: Option<Expr>,
    pub pause: Option<Expr>,
    pub interval: Option<Expr>,
    pub failure_limit: Option<Expr>,
    /// Measurement errors in a row (an unreachable Prometheus) a step tolerates.
    pub consecutive_error_limit: Option<Expr>,
    /// Steps that wait for `landform rollout promote NAME` before traffic moves to them.
    pub gates: Option<Expr>,
    /// How long a step may wait for conclusive data before it fails.
    pub progress_deadline: Option<Expr>,
    /// blue_green: how long after the switch `rollout rollback` is offered.
    pub rollback_window: Option<Expr>,
    pub metrics: Vec<Metric>,
    pub span: Span,
}

/// A `metric "NAME" { source = …  max = …  min = … }` of a rollout's analysis.
#[derive(Clone, Debug)]
pub struct Metric {
    pub name: String,
    pub source: Option<Expr>,
    pub max: Option<Expr>,
    pub min: Option<Expr>,
    pub url: Option<Expr>,
    pub query: Option<Expr>,
    /// A failure counts only when it persists this long (`for = 5m`).
    pub for_: Option<Expr>,
    /// `compare = "stable"`: fail when the canary is significantly worse than the stable pool.
    pub compare: Option<Expr>,
    /// What an `http` metric measures: `"success"` (the share of probes that
    /// succeed, the default) or a latency percentile (`"p50"`, `"p95"`, `"p99"`).
    pub stat: Option<Expr>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Variable {
    pub name: String,
    pub type_expr: Option<Expr>,
    pub default: Option<Expr>,
    pub description: Option<String>,
    pub sensitive: bool,
    pub nullable: bool,
    pub validations: Vec<Validation>,
    /// The span of the block's label, where "missing value" errors point.
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Validation {
    pub condition: Expr,
    pub message: Expr,
}

#[derive(Clone, Debug)]
pub struct Local {
    pub name: String,
    pub value: Expr,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Provider {
    pub name: String,
    pub alias: Option<String>,
    pub body: Body,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mode {
    Managed,
    Data,
}

#[derive(Clone, Debug)]
pub struct Resource {
    pub mode: Mode,
    pub type_name: String,
    pub name: String,
    pub count: Option<Expr>,
    pub for_each: Option<Expr>,
    pub depends_on: Vec<Expr>,
    pub provider: Option<Expr>,
    pub lifecycle: Lifecycle,
    /// The provider-specific arguments and nested blocks, meta-arguments removed.
    pub config: Body,
    pub span: Span,
    /// The span of `type "name"`, for messages about the resource as a whole.
    pub header_span: Span,
}

impl Resource {
    /// `type.name` or `data.type.name`.
    pub fn address(&self) -> String {
        match self.mode {
            Mode::Managed => format!("{}.{}", self.type_name, self.name),
            Mode::Data => format!("data.{}.{}", self.type_name, self.name),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Lifecycle {
    pub create_before_destroy: Option<Expr>,
    pub prevent_destroy: Option<Expr>,
    pub ignore_changes: Option<Expr>,
    pub replace_triggered_by: Option<Expr>,
    /// Checked before the resource is planned.
    pub preconditions: Vec<Condition>,
    /// Checked on the planned and the applied object (`self`).
    pub postconditions: Vec<Condition>,
}

/// A `precondition`, `postcondition` or `assert` block: a condition that must
/// hold, and what to say when it does not.
#[derive(Clone, Debug)]
pub struct Condition {
    pub condition: Expr,
    pub error_message: Expr,
    pub span: Span,
}

/// A top-level `check "NAME" { assert { … } }` block: failed assertions are
/// warnings, after plan and after apply.
#[derive(Clone, Debug)]
pub struct Check {
    pub name: String,
    pub asserts: Vec<Condition>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct ModuleCall {
    pub name: String,
    pub source: String,
    pub source_span: Span,
    /// `version = "~> 5.0"`: the registry versions `landform init` may take.
    pub version: Option<(String, Span)>,
    pub count: Option<Expr>,
    pub for_each: Option<Expr>,
    pub depends_on: Vec<Expr>,
    /// Arguments for the child's variables.
    pub args: Vec<Attribute>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Output {
    pub name: String,
    pub value: Expr,
    pub description: Option<String>,
    pub sensitive: bool,
    pub depends_on: Vec<Expr>,
    /// `precondition` blocks: checked before the output is recorded.
    pub preconditions: Vec<Condition>,
    pub span: Span,
}

/// An `import` block (Terraform 1.5's): the plan reads the object by its id
/// and brings it under management at `to`, which the configuration declares.
#[derive(Clone, Debug)]
pub struct Import {
    /// A resource instance address, kept as written (`aws_lb_target_group.blue`, `local_file.page["a"]`).
    pub to: Expr,
    pub id: Expr,
    pub span: Span,
}

const BLOCK_TYPES: &[&str] = &[
    "variable",
    "locals",
    "provider",
    "resource",
    "data",
    "module",
    "output",
    "import",
    "rollout",
    "backend",
    "moved",
    "removed",
    "landform",
    "terraform",
    "check",
];

/// A `moved` block: two addresses, kept as written.
#[derive(Clone, Debug)]
pub struct Moved {
    pub from: Expr,
    pub to: Expr,
    pub span: Span,
}

/// A `removed` block: the address, and whether the object is destroyed
/// (`lifecycle { destroy = true }`, the default) or only forgotten.
#[derive(Clone, Debug)]
pub struct Removed {
    pub from: Expr,
    pub destroy: bool,
    pub span: Span,
}

impl Module {
    /// Lower the files of one module directory.
    pub fn from_bodies(bodies: impl IntoIterator<Item = Body>, sources: &SourceMap) -> (Module, Vec<Diagnostic>) {
        let mut b = Builder { module: Module::default(), diags: Vec::new(), seen: HashMap::new(), sources };
        for body in bodies {
            b.file(body);
        }
        (b.module, b.diags)
    }

    pub fn variable(&self, name: &str) -> Option<&Variable> {
        self.variables.iter().find(|v| v.name == name)
    }
}

struct Builder<'s> {
    module: Module,
    diags: Vec<Diagnostic>,
    seen: HashMap<String, Span>,
    sources: &'s SourceMap,
}

impl Builder<'_> {
    fn err(&mut self, summary: &str, detail: String, span: Span) {
        self.diags.push(Diagnostic::error(summary, detail, span));
    }

    /// Record a declaration; report the second of two with one name.
    fn declare(&mut self, key: String, what: &str, span: Span) -> bool {
        if let Some(first) = self.seen.get(&key) {
            let at = self
                .sources
                .get(first.file)
                .map(|f| format!("{}:{}", f.name, f.line_col(first.start).0))
                .unwrap_or_default();
            let name = key.split_once(':').map_or(key.as_str(), |(_, n)| n).to_string();
            self.err(
                &format!("Duplicate {}", what.to_lowercase()),
                format!("{what} \"{name}\" was already declared at {at}. Each must have a unique name: rename or remove one of them."),
                span,
            );
            return false;
        }
        self.seen.insert(key, span);
        true
    }

    fn file(&mut self, body: Body) {
        for item in body.items {
            match item {
                Item::Attribute(a) => self.err(
                    "Unsupported argument",
                    format!("An argument named \"{}\" is not expected at the top level of a file. Arguments belong inside a block such as locals {{ … }}.", a.name.name),
                    a.name.span,
                ),
                Item::Block(b) => self.top_block(b),
            }
        }
    }

    fn labels(&mut self, block: &Block, want: &[&str]) -> Option<Vec<String>> {
        // A label that is not a name was reported by the parser
        // (`parse::labels`); the block is left out, so that nothing built
        // from the model (addresses, directories, output) ever holds one.
        if block.labels.iter().any(|l| !crate::parse::labels::is_identifier(&l.value)) {
            return None;
        }
        if block.labels.len() == want.len() {
            return Some(block.labels.iter().map(|l| l.value.clone()).collect());
        }
        let kind = &block.kind.name;
        let example = format!("{kind} {}", want.iter().map(|w| format!("\"{w}\"")).collect::<Vec<_>>().join(" "));
        if block.labels.len() < want.len() {
            let missing = want[block.labels.len()];
            self.err(
                &format!("Missing {missing} for {kind}"),
                format!(
                    "{} {kind} block needs {} label(s): write {example} {{ … }}.",
                    capitalize(article(kind)),
                    want.len()
                ),
                block.kind.span,
            );
        } else {
            let extra = &block.labels[want.len()];
            self.err(
                &format!("Extraneous label for {kind}"),
                format!(
                    "A {kind} block takes {} label(s), as in {example} {{ … }}; remove \"{}\".",
                    want.len(),
                    extra.value
                ),
                extra.span,
            );
        }
        None
    }

    fn top_block(&mut self, block: Block) {
        let block_ref = &block;
        let span = block.kind.span.to(block.labels.last().map_or(block.kind.span, |l| l.span));
        match block.kind.name.as_str() {
            "variable" => {
                if let Some(l) = self.labels(block_ref, &["name"]) {
                    if self.declare(format!("variable:{}", l[0]), "Variable", span) {
                        self.variable(l[0].clone(), block_ref, span);
                    }
                }
            }
            "locals" => {
                if self.labels(block_ref, &[]).is_some() {
                    self.no_blocks(&block.body, "locals");
                    for a in block.body.attributes() {
                        if self.declare(format!("local:{}", a.name.name), "Local value", a.name.span) {
                            self.module.locals.push(Local {
                                name: a.name.name.clone(),
                                value: a.value.clone(),
                                span: a.name.span,
                            });
                        }
                    }
                }
            }
            "provider" => {
                if let Some(l) = self.labels(block_ref, &["name"]) {
                    self.unique_attributes(&block.body);
                    let alias = block.body.attribute("alias").and_then(|a| a.value.as_static_string());
                    if let (Some(a), Some(attr)) = (&alias, block.body.attribute("alias")) {
                        if !crate::parse::labels::is_identifier(a) {
                            // The alias becomes part of addresses (`aws.west`), as a label does.
                            self.diags.push(Diagnostic::error(
                                "Invalid provider configuration alias",
                                "An alias must be a valid name. A name must start with a letter or underscore and may contain only letters, digits, underscores, and dashes.".to_string(),
                                attr.value.span,
                            ));
                            return;
                        }
                    }
                    let key =
                        format!("provider:{}{}", l[0], alias.as_ref().map(|a| format!(".{a}")).unwrap_or_default());
                    if self.declare(key, "Provider configuration", span) {
                        self.module.providers.push(Provider {
                            name: l[0].clone(),
                            alias,
                            body: block.body.clone(),
                            span,
                        });
                    }
                }
            }
            "resource" | "data" => {
                if let Some(l) = self.labels(block_ref, &["type", "name"]) {
                    let mode = if block.kind.name == "resource" { Mode::Managed } else { Mode::Data };
                    let (what, key) = match mode {
                        Mode::Managed => ("Resource", format!("resource:{}.{}", l[0], l[1])),
                        Mode::Data => ("Data source", format!("data:data.{}.{}", l[0], l[1])),
                    };
                    if self.declare(key, what, span) {
                        self.resource(mode, l[0].clone(), l[1].clone(), block, span);
                    }
                }
            }
            "module" => {
                if let Some(l) = self.labels(block_ref, &["name"]) {
                    if self.declare(format!("module:{}", l[0]), "Module call", span) {
                        self.module_call(l[0].clone(), block_ref, span);
                    }
                }
            }
            "output" => {
                if let Some(l) = self.labels(block_ref, &["name"]) {
                    if self.declare(format!("output:{}", l[0]), "Output", span) {
                        self.output(l[0].clone(), block_ref, span);
                    }
                }
            }
            "rollout" => {
                if let Some(l) = self.labels(block_ref, &["name"]) {
                    if self.declare(format!("rollout:{}", l[0]), "Rollout", span) {
                        self.rollout(l[0].clone(), block_ref, span);
                    }
                }
            }
            "import" => {
                if self.labels(block_ref, &[]).is_some() {
                    let found = self.schema(&block.body, "import", &["to", "id"], &[]);
                    let to = self.require(&found, "to", "import", block.kind.span).map(|a| a.value.clone());
                    let id = self.require(&found, "id", "import", block.kind.span).map(|a| a.value.clone());
                    if let (Some(to), Some(id)) = (to, id) {
                        if to.as_traversal().is_none() {
                            self.err(
                                "Invalid import address",
                                "The \"to\" argument of an import block is a resource address, written without quotes: to = aws_lb_target_group.blue".into(),
                                to.span,
                            );
                        } else {
                            self.module.imports.push(Import { to, id, span });
                        }
                    }
                }
            }
            "check" => {
                if let Some(l) = self.labels(block_ref, &["name"]) {
                    if self.declare(format!("check:{}", l[0]), "Check", span) {
                        self.check(l[0].clone(), block_ref, span);
                    }
                }
            }
            "landform" | "terraform" => {
                if self.labels(block_ref, &[]).is_some() {
                    self.settings(block_ref);
                }
            }
            "moved" => {
                if self.labels(block_ref, &[]).is_some() {
                    let found = self.schema(&block.body, "moved", &["from", "to"], &[]);
                    let from = self.require(&found, "from", "moved", block.kind.span).map(|a| a.value.clone());
                    let to = self.require(&found, "to", "moved", block.kind.span).map(|a| a.value.clone());
                    if let (Some(from), Some(to)) = (from, to) {
                        if self.address_expr(&from, "moved") && self.address_expr(&to, "moved") {
                            self.module.moved.push(Moved { from, to, span });
                        }
                    }
                }
            }
            "removed" => {
                if self.labels(block_ref, &[]).is_some() {
                    let found = self.schema(&block.body, "removed", &["from"], &["lifecycle"]);
                    let from = self.require(&found, "from", "removed", block.kind.span).map(|a| a.value.clone());
                    let mut destroy = true;
                    for lc in block.body.blocks().filter(|b| b.kind.name == "lifecycle") {
                        let inner = self.schema(&lc.body, "lifecycle", &["destroy"], &[]);
                        if let Some(a) = inner.get("destroy") {
                            match a.value.kind {
                                crate::syntax::ExprKind::Bool(b) => destroy = b,
                                _ => self.err(
                                    "Invalid removed lifecycle",
                                    "destroy is true or false, written as it is: destroy = false".into(),
                                    a.value.span,
                                ),
                            }
                        }
                    }
                    if let Some(from) = from {
                        if self.address_expr(&from, "removed") {
                            self.module.removed.push(Removed { from, destroy, span });
                        }
                    }
                }
            }
            "backend" => {
                if let Some(l) = self.labels(block_ref, &["type"]) {
                    if self.declare("backend:".into(), "Backend configuration", span) {
                        self.backend(l[0].clone(), block_ref, span);
                    }
                }
            }
            other => self.err(
                "Unsupported block type",
                format!(
                    "Blocks of type \"{other}\" are not expected here.{} The top-level blocks are {}.",
                    suggestion(other, BLOCK_TYPES.iter().copied()),
                    BLOCK_TYPES.join(", ")
                ),
                block.kind.span,
            ),
        }
    }

    /// A `moved` or `removed` address: a resource or module address, written without quotes.
    fn address_expr(&mut self, e: &Expr, block: &str) -> bool {
        if e.as_traversal().is_some() {
            return true;
        }
        self.err(
            &format!("Invalid {block} address"),
            format!("The addresses of a {block} block are written without quotes: local_file.a, local_file.a[0], module.web or module.web.local_file.a"),
            e.span,
        );
        false
    }

    /// Report attributes set twice in one body.
    fn unique_attributes(&mut self, body: &Body) {
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for a in body.attributes() {
            if let Some(first) = seen.get(a.name.name.as_str()) {
                let line = self.sources.get(first.file).map_or(0, |f| f.line_col(first.start).0);
                self.err(
                    "Attribute redefined",
                    format!(
                        "The argument \"{}\" was already set on line {line}. Each argument may be set only once in a block.",
                        a.name.name
                    ),
                    a.name.span,
                );
            } else {
                seen.insert(&a.name.name, a.name.span);
            }
        }
    }

    /// Check a body against a fixed set of arguments and nested block types.
    fn schema<'b>(
        &mut self,
        body: &'b Body,
        block: &str,
        attrs: &[&str],
        blocks: &[&str],
    ) -> HashMap<&'b str, &'b Attribute> {
        self.unique_attributes(body);
        let mut found = HashMap::new();
        for item in &body.items {
            match item {
                Item::Attribute(a) => {
                    if attrs.contains(&a.name.name.as_str()) {
                        found.entry(a.name.name.as_str()).or_insert(a);
                    } else {
                        self.unsupported_argument(&a.name, block, attrs);
                    }
                }
                Item::Block(b) => {
                    if !blocks.contains(&b.kind.name.as_str()) {
                        self.err(
                            "Unsupported block type",
                            format!(
                                "Blocks of type \"{}\" are not expected in {} {block} block.{}",
                                b.kind.name,
                                article(block),
                                suggestion(&b.kind.name, blocks.iter().copied())
                            ),
                            b.kind.span,
                        );
                    }
                }
            }
        }
        found
    }

    fn unsupported_argument(&mut self, name: &Ident, block: &str, attrs: &[&str]) {
        self.err(
            "Unsupported argument",
            format!(
                "An argument named \"{}\" is not expected in {} {block} block.{} The arguments here are: {}.",
                name.name,
                article(block),
                suggestion(&name.name, attrs.iter().copied()),
                attrs.join(", ")
            ),
            name.span,
        );
    }

    fn no_blocks(&mut self, body: &Body, block: &str) {
        for b in body.blocks() {
            self.err(
                "Unsupported block type",
                format!(
                    "{} {block} block cannot contain blocks; \"{}\" is not expected here.",
                    capitalize(article(block)),
                    b.kind.name
                ),
                b.kind.span,
            );
        }
    }

    fn require<'b>(
        &mut self,
        found: &HashMap<&str, &'b Attribute>,
        name: &str,
        block: &str,
        span: Span,
    ) -> Option<&'b Attribute> {
        let a = found.get(name).copied();
        if a.is_none() {
            self.err(
                "Missing required argument",
                format!(
                    "The argument \"{name}\" is required in {} {block} block, but no definition was found.",
                    article(block)
                ),
                span,
            );
        }
        a
    }

    fn static_bool(&mut self, a: Option<&&Attribute>) -> bool {
        match a.map(|a| &a.value.kind) {
            None => false,
            Some(crate::syntax::ExprKind::Bool(b)) => *b,
            Some(_) => {
                let span = a.map(|a| a.value.span).unwrap_or_default();
                self.err("Invalid value", "This argument takes a literal true or false.".into(), span);
                false
            }
        }
    }

    fn static_string(&mut self, a: Option<&&Attribute>) -> Option<String> {
        let a = a?;
        let s = a.value.as_static_string();
        if s.is_none() {
            self.err(
                "Invalid value",
                format!("\"{}\" takes a literal string, without references or interpolation.", a.name.name),
                a.value.span,
            );
        }
        s
    }

    fn variable(&mut self, name: String, block: &Block, span: Span) {
        let found = self.schema(
            &block.body,
            "variable",
            &["type", "default", "description", "sensitive", "nullable", "ephemeral"],
            &["validation"],
        );
        let mut validations = Vec::new();
        for v in block.body.blocks().filter(|b| b.kind.name == "validation") {
            // Terraform's `error_message`, or Landform's first name for it, `message`.
            let vf = self.schema(&v.body, "validation", &["condition", "error_message", "message"], &[]);
            let c = self.require(&vf, "condition", "validation", v.kind.span);
            let m = match (vf.get("error_message"), vf.get("message")) {
                (Some(m), _) | (None, Some(m)) => Some(*m),
                (None, None) => self.require(&vf, "error_message", "validation", v.kind.span),
            };
            if let (Some(c), Some(m)) = (c, m) {
                validations.push(Validation { condition: c.value.clone(), message: m.value.clone() });
            }
        }
        let description = self.static_string(found.get("description"));
        // `ephemeral = true` (Terraform 1.10): a value never to be kept; Landform
        // treats it as sensitive, so it is never shown.
        let sensitive = self.static_bool(found.get("sensitive")) || self.static_bool(found.get("ephemeral"));
        let nullable = !found.contains_key("nullable") || self.static_bool(found.get("nullable"));
        self.module.variables.push(Variable {
            name,
            type_expr: found.get("type").map(|a| a.value.clone()),
            default: found.get("default").map(|a| a.value.clone()),
            description,
            sensitive,
            nullable,
            validations,
            span,
        });
    }

    fn depends_on(&mut self, a: Option<&&Attribute>) -> Vec<Expr> {
        let Some(a) = a else { return Vec::new() };
        match &a.value.kind {
            crate::syntax::ExprKind::List(items) => {
                for i in items {
                    if i.as_traversal().is_none() {
                        self.err(
                            "Invalid depends_on reference",
                            "Each element of depends_on is a reference to a resource, data source or module, such as aws_lb.web or module.net.".into(),
                            i.span,
                        );
                    }
                }
                items.clone()
            }
            _ => {
                self.err(
                    "Invalid depends_on",
                    "depends_on takes a list of references, as in depends_on = [aws_lb.web].".into(),
                    a.value.span,
                );
                Vec::new()
            }
        }
    }

    fn resource(&mut self, mode: Mode, type_name: String, name: String, block: Block, span: Span) {
        self.unique_attributes(&block.body);
        let meta = ["count", "for_each", "depends_on", "provider"];
        let mut config = Body::default();
        let mut found: HashMap<String, Attribute> = HashMap::new();
        let mut lifecycle = Lifecycle::default();
        let header_span = block.kind.span.to(block.labels.last().map_or(block.kind.span, |l| l.span));
        for item in block.body.items {
            match item {
                Item::Attribute(a) if meta.contains(&a.name.name.as_str()) => {
                    found.entry(a.name.name.clone()).or_insert(a);
                }
                Item::Block(b) if b.kind.name == "lifecycle" && mode == Mode::Managed => {
                    let lf = self.schema(
                        &b.body,
                        "lifecycle",
                        &["create_before_destroy", "prevent_destroy", "ignore_changes", "replace_triggered_by"],
                        &["precondition", "postcondition"],
                    );
                    lifecycle = Lifecycle {
                        create_before_destroy: lf.get("create_before_destroy").map(|a| a.value.clone()),
                        prevent_destroy: lf.get("prevent_destroy").map(|a| a.value.clone()),
                        ignore_changes: lf.get("ignore_changes").map(|a| a.value.clone()),
                        replace_triggered_by: lf.get("replace_triggered_by").map(|a| a.value.clone()),
                        preconditions: self.conditions(&b.body, "precondition"),
                        postconditions: self.conditions(&b.body, "postcondition"),
                    };
                }
                // A data source's lifecycle holds only its conditions.
                Item::Block(b) if b.kind.name == "lifecycle" => {
                    self.schema(&b.body, "lifecycle", &[], &["precondition", "postcondition"]);
                    lifecycle.preconditions = self.conditions(&b.body, "precondition");
                    lifecycle.postconditions = self.conditions(&b.body, "postcondition");
                }
                other => config.items.push(other),
            }
        }
        if let (Some(c), Some(f)) = (found.get("count"), found.get("for_each")) {
            let later = if c.span.start > f.span.start { c } else { f };
            let at = later.name.span;
            self.err(
                "Invalid combination of \"count\" and \"for_each\"",
                "The \"count\" and \"for_each\" meta-arguments are mutually exclusive: only one may be used to create several instances of a resource. Remove one of them.".into(),
                at,
            );
        }
        let depends_on = self.depends_on(found.get("depends_on").as_ref());
        let mut take = |k: &str| found.remove(k).map(|a| a.value);
        let (count, for_each, provider) = (take("count"), take("for_each"), take("provider"));
        self.module.resources.push(Resource {
            mode,
            type_name,
            name,
            count,
            for_each,
            depends_on,
            provider,
            lifecycle,
            config,
            span,
            header_span,
        });
    }

    fn module_call(&mut self, name: String, block: &Block, span: Span) {
        self.unique_attributes(&block.body);
        self.no_blocks(&block.body, "module");
        let meta = ["source", "version", "count", "for_each", "depends_on", "providers"];
        let mut found: HashMap<&str, &Attribute> = HashMap::new();
        let mut args = Vec::new();
        for a in block.body.attributes() {
            if meta.contains(&a.name.name.as_str()) {
                found.entry(a.name.name.as_str()).or_insert(a);
            } else {
                args.push(a.clone());
            }
        }
        let source_attr = self.require(&found, "source", "module", block.kind.span);
        let source = self.static_string(source_attr.as_ref()).unwrap_or_default();
        let source_span = source_attr.map_or(span, |a| a.value.span);
        let version = found.get("version").map(|a| (self.static_string(Some(a)).unwrap_or_default(), a.value.span));
        if let (Some(c), Some(f)) = (found.get("count"), found.get("for_each")) {
            let later = if c.span.start > f.span.start { c } else { f };
            self.err(
                "Invalid combination of \"count\" and \"for_each\"",
                "The \"count\" and \"for_each\" meta-arguments are mutually exclusive: remove one of them.".into(),
                later.name.span,
            );
        }
        let depends_on = self.depends_on(found.get("depends_on"));
        self.module.module_calls.push(ModuleCall {
            name,
            source,
            source_span,
            version,
            count: found.get("count").map(|a| a.value.clone()),
            for_each: found.get("for_each").map(|a| a.value.clone()),
            depends_on,
            args,
            span,
        });
    }

    fn rollout(&mut self, name: String, block: &Block, span: Span) {
        let found = self.schema(
            &block.body,
            "rollout",
            &[
                "switch",
                "stable",
                "canary",
                "strategy",
                "steps",
                "pause",
                "gates",
                "progress_deadline",
                "rollback_window",
            ],
            &["analysis"],
        );
        let get = |k: &str| found.get(k).map(|a| a.value.clone());
        let switch = self.require(&found, "switch", "rollout", block.kind.span).map(|a| a.value.clone());
        let stable = self.require(&found, "stable", "rollout", block.kind.span).map(|a| a.value.clone());
        let canary = self.require(&found, "canary", "rollout", block.kind.span).map(|a| a.value.clone());
        let (mut interval, mut failure_limit, mut errors, mut metrics) = (None, None, None, Vec::new());
        let analyses: Vec<&Block> = block.body.blocks().filter(|b| b.kind.name == "analysis").collect();
        if let Some(extra) = analyses.get(1) {
            self.err(
                "Duplicate analysis block",
                "A rollout has one analysis block; put every metric in it.".into(),
                extra.kind.span,
            );
        }
        if let Some(a) = analyses.first() {
            let af = self.schema(
                &a.body,
                "analysis",
                &["interval", "failure_limit", "consecutive_error_limit"],
                &["metric"],
            );
            interval = af.get("interval").map(|a| a.value.clone());
            failure_limit = af.get("failure_limit").map(|a| a.value.clone());
            errors = af.get("consecutive_error_limit").map(|a| a.value.clone());
            for m in a.body.blocks().filter(|b| b.kind.name == "metric") {
                let Some(l) = self.labels(m, &["name"]) else { continue };
                let mf = self.schema(
                    &m.body,
                    "metric",
                    &["source", "max", "min", "url", "query", "for", "compare", "stat"],
                    &[],
                );
                let mget = |k: &str| mf.get(k).map(|a| a.value.clone());
                metrics.push(Metric {
                    name: l[0].clone(),
                    source: mget("source"),
                    max: mget("max"),
                    min: mget("min"),
                    url: mget("url"),
                    query: mget("query"),
                    for_: mget("for"),
                    compare: mget("compare"),
                    stat: mget("stat"),
                    span: m.kind.span.to(m.labels.last().map_or(m.kind.span, |l| l.span)),
                });
            }
        }
        if let (Some(switch), Some(stable), Some(canary)) = (switch, stable, canary) {
            if switch.as_traversal().is_none() {
                self.err(
                    "Invalid rollout switch",
                    "switch is a resource, written without quotes: switch = haproxy_backend.app".into(),
                    switch.span,
                );
                return;
            }
            self.module.rollouts.push(Rollout {
                name,
                switch,
                stable,
                canary,
                strategy: get("strategy"),
                steps: get("steps"),
                pause: get("pause"),
                interval,
                failure_limit,
                consecutive_error_limit: errors,
                gates: get("gates"),
                progress_deadline: get("progress_deadline"),
                rollback_window: get("rollback_window"),
                metrics,
                span,
            });
        }
    }

    /// The `precondition`, `postcondition` or `assert` blocks of a body.
    fn conditions(&mut self, body: &Body, kind: &str) -> Vec<Condition> {
        let mut out = Vec::new();
        for b in body.blocks().filter(|b| b.kind.name == kind) {
            let found = self.schema(&b.body, kind, &["condition", "error_message"], &[]);
            let condition = self.require(&found, "condition", kind, b.kind.span).map(|a| a.value.clone());
            let message = self.require(&found, "error_message", kind, b.kind.span).map(|a| a.value.clone());
            if let (Some(condition), Some(error_message)) = (condition, message) {
                out.push(Condition { condition, error_message, span: b.kind.span });
            }
        }
        out
    }

    fn check(&mut self, name: String, block: &Block, span: Span) {
        self.schema(&block.body, "check", &[], &["assert"]);
        let asserts = self.conditions(&block.body, "assert");
        if asserts.is_empty() {
            self.err(
                "Missing assert block",
                "A check block holds at least one assert { condition = …  error_message = … } block.".into(),
                block.kind.span,
            );
        }
        self.module.checks.push(Check { name, asserts, span });
    }

    fn output(&mut self, name: String, block: &Block, span: Span) {
        let found =
            self.schema(&block.body, "output", &["value", "description", "sensitive", "depends_on"], &["precondition"]);
        let preconditions = self.conditions(&block.body, "precondition");
        let value = self.require(&found, "value", "output", block.kind.span).map(|a| a.value.clone());
        let description = self.static_string(found.get("description"));
        let sensitive = self.static_bool(found.get("sensitive"));
        let depends_on = self.depends_on(found.get("depends_on"));
        if let Some(value) = value {
            self.module.outputs.push(Output { name, value, description, sensitive, depends_on, preconditions, span });
        }
    }
}

fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

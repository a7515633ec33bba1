//! plan, apply and destroy: load the configuration, lock and open the state,
//! call the engine, render.

use crate::inputs::{self, DiskFs, DiskHost};
use crate::{print_diagnostics, ui, CommonArgs, VarArgs};
use landform_engine::apply::{self, ApplyContext, ApplyReport};
use landform_engine::planner::{self, PlanContext, PlanOptions};
use landform_engine::render::{plan_json, render_plan, Colors};
use landform_engine::{Plan, Providers, ResourceAddr};
use landform_lang::check::{Input, InputValue};
use landform_lang::module::LoadedModule;
use landform_lang::{SourceMap, Value};
use landform_state::Snapshot;
use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::Arc;

pub use crate::state_open::{
    crypt, open_and_load, open_with, pg_target, read_plan_file, read_state, read_state_quiet, state_dir, OpenState,
};

pub struct Config {
    pub sources: SourceMap,
    pub tree: LoadedModule,
    pub variables: Value,
}

/// The providers, configured by the root module's `provider` blocks (their
/// arguments may use variables and functions): `local`, and `aws` (without a
/// block, from the environment), each with its aliases. A setting that is not
/// known (a variable without a value, in `validate`) is left unset.
pub fn providers_for(
    tree: &LoadedModule,
    variables: &Value,
) -> Result<Providers, Vec<landform_lang::diag::Diagnostic>> {
    let (p, diags) = providers_checked(tree, variables);
    if diags.iter().any(|d| d.is_error()) {
        return Err(diags);
    }
    Ok(p)
}

/// The providers the configuration sets up, with what is wrong in its
/// provider blocks: an unknown provider is left out, the others are there, so
/// `validate` goes on checking every resource after an unknown provider.
pub fn providers_checked(tree: &LoadedModule, variables: &Value) -> (Providers, Vec<landform_lang::diag::Diagnostic>) {
    use landform_lang::diag::Diagnostic;
    let mut diags = Vec::new();
    let host = DiskHost::plan();
    // Provider settings may use locals (`region = local.region`) and `path`,
    // as in Terraform; what depends on resources, data or modules is unknown here.
    let validating = variables.is_unknown();
    let scope = landform_lang::check::planning_scope(tree, variables.clone(), &host);
    let mut default_aws = landform_provider_aws::Settings::default();
    let mut default_haproxy = landform_provider_haproxy::Settings::default();
    let mut aliases: Vec<(String, Arc<dyn landform_provider::Provider>)> = Vec::new();
    let (plugins, mut plugin_diags) = crate::plugins::required(tree);
    diags.append(&mut plugin_diags);
    let mut plugin_blocks = Vec::new();
    for block in &tree.module.providers {
        let mut config = serde_json::Map::new();
        for a in block.body.attributes().filter(|a| a.name.name != "alias") {
            let mut ev = landform_lang::Evaluator::new(&host);
            let v = ev.eval(&a.value, &scope);
            let had_errors = !ev.diags.is_empty();
            diags.append(&mut ev.diags);
            if !v.contains_unknown() {
                config.insert(a.name.name.clone(), v.unmark_deep().0.to_json());
            } else if !validating && !had_errors {
                // A variable without a value is the usual reason, and says so.
                let unset: Vec<String> = landform_lang::refs::references(&a.value)
                    .into_iter()
                    .filter(|r| r.root == "var")
                    .filter_map(|r| r.path.first().cloned())
                    .filter(|name| variables.get(name).is_none_or(Value::is_unknown))
                    .collect();
                if let Some(name) = unset.first() {
                    diags.push(Diagnostic::error(
                        "No value for required variable",
                        format!("The {} provider's \"{}\" uses the input variable \"{name}\", which is not set and has no default value. Give it a value with --var '{name}=…', a --var-file, or the LANDFORM_VAR_{name} environment variable.", block.name, a.name.name),
                        a.value.span,
                    ));
                    continue;
                }
                diags.push(Diagnostic::error(
                    "Provider setting not known when planning",
                    format!("The {} provider's \"{}\" depends on a value known only after apply (a resource, data source or module output). Landform needs provider settings when it plans: use variables, locals or literals.", block.name, a.name.name),
                    a.value.span,
                ));
            }
        }
        if plugins.contains_key(&block.name) {
            crate::plugins::add_blocks(&block.body, &scope, &host, &mut config, &mut diags);
            plugin_blocks.push((block, config));
            continue;
        }
        let provider: Arc<dyn landform_provider::Provider> = match block.name.as_str() {
            "aws" => {
                let settings = landform_provider_aws::Settings::from_config(&config);
                if block.alias.is_none() {
                    default_aws = settings;
                    continue;
                }
                Arc::new(landform_provider_aws::AwsProvider::new(settings))
            }
            "haproxy" => {
                let settings = landform_provider_haproxy::Settings::from_config(&config);
                if block.alias.is_none() {
                    default_haproxy = settings;
                    continue;
                }
                Arc::new(landform_provider_haproxy::HaproxyProvider::new(settings))
            }
            "local" => Arc::new(landform_provider_local::LocalProvider::new()),
            other => {
                diags.push(Diagnostic::error(
                    "Unknown provider",
                    format!(
                        "Landform has no provider named \"{other}\".{} The providers are: aws, haproxy, local.",
                        landform_lang::diag::suggestion(other, ["aws", "haproxy", "local"])
                    ),
                    block.span,
                ));
                continue;
            }
        };
        if let Some(alias) = &block.alias {
            aliases.push((alias.clone(), provider));
        }
    }
    let mut p = Providers::new();
    p.register(Arc::new(landform_provider_local::LocalProvider::new()));
    if !plugins.contains_key("aws") {
        p.register(Arc::new(landform_provider_aws::AwsProvider::new(default_aws)));
    }
    p.register(Arc::new(landform_provider_haproxy::HaproxyProvider::new(default_haproxy)));
    for (alias, provider) in aliases {
        p.register_alias(&alias, provider);
    }
    // Each plugin configuration is a process of its own, default and aliases.
    for (name, found) in &plugins {
        let default = plugin_blocks.iter().find(|(b, _)| &b.name == name && b.alias.is_none());
        let config = default.map(|(_, c)| c.clone()).unwrap_or_default();
        match crate::plugins::start(name, found, config, default.map(|(b, _)| b.span)) {
            Ok(provider) => p.register(provider),
            Err(d) => diags.push(d),
        }
        for (b, config) in plugin_blocks.iter().filter(|(b, _)| &b.name == name) {
            let Some(alias) = &b.alias else { continue };
            match crate::plugins::start(name, found, config.clone(), Some(b.span)) {
                Ok(provider) => p.register_alias(alias, provider),
                Err(d) => diags.push(d),
            }
        }
    }
    (p, diags)
}

/// Every provider with default settings: what their schemas say, for
/// showing values (nested blocks as lists); they are never called.
pub fn schema_providers() -> Providers {
    let mut p = Providers::new();
    p.register(Arc::new(landform_provider_local::LocalProvider::new()));
    p.register(Arc::new(landform_provider_aws::AwsProvider::new(landform_provider_aws::Settings::default())));
    p.register(Arc::new(landform_provider_haproxy::HaproxyProvider::new(Default::default())));
    p
}

/// Load and check the configuration; print diagnostics and fail on errors.
pub fn load_config(vars: &VarArgs, color: bool) -> Result<Config, u8> {
    load_config_with(Vars::Given(vars), color)
}

/// Where the root module's variables come from.
pub enum Vars<'a> {
    /// Defaults, the environment, var files and --var.
    Given(&'a VarArgs),
    /// Exactly the values a saved plan was made with.
    Saved(&'a BTreeMap<String, serde_json::Value>),
}

pub fn load_config_with(vars: Vars, color: bool) -> Result<Config, u8> {
    load_config_in(vars, color, false)
}

/// The configuration `console` evaluates against: as `terraform console`,
/// a directory with no configuration files is an empty configuration.
pub fn load_config_or_none(vars: &VarArgs, color: bool) -> Result<Config, u8> {
    load_config_in(Vars::Given(vars), color, true)
}

fn load_config_in(vars: Vars, color: bool, none_is_empty: bool) -> Result<Config, u8> {
    let dir = PathBuf::from(".");
    let mut sources = SourceMap::new();
    let (tree, mut diags) = landform_lang::module::load_tree(&DiskFs, ".", &mut sources);
    if none_is_empty {
        diags.retain(|d| d.summary != "No configuration files");
    }
    let mut vars_failed = false;
    let inputs = match vars {
        Vars::Given(vars) => {
            let (inputs, mut d) =
                inputs::collect(vars, &dir, tree.module.variables.iter().any(|v| v.sensitive), &mut sources);
            // A variables file that does not parse is said alone, not after
            // "No value for required variable" for what it would have set.
            vars_failed = d.iter().any(|d| d.is_error());
            diags.append(&mut d);
            inputs
        }
        Vars::Saved(values) => saved_inputs(values),
    };
    let mut variables = Value::Unknown;
    if tree.syntax_errors == 0 && !vars_failed {
        let (checked, d) = landform_lang::check::check_tree(&tree, &inputs, &DiskHost::plan());
        diags.extend(d);
        variables = checked.vars;
        let (p, d) = providers_checked(&tree, &variables);
        diags.extend(d);
        diags.extend(planner::validate_schemas(&tree, &p));
    }
    crate::dedup(&mut diags);
    print_diagnostics(&diags, &sources, color);
    if diags.iter().any(|d| d.is_error()) {
        return Err(1);
    }
    Ok(Config { sources, tree, variables })
}

impl PlanArgs {
    /// A plan made for a command's own use (rollout, test): refreshed, nothing
    /// printed while it is made.
    pub fn quiet(vars: VarArgs, destroy: bool) -> PlanArgs {
        PlanArgs {
            vars,
            targets: Vec::new(),
            replace: Vec::new(),
            refresh: true,
            destroy,
            refresh_only: false,
            no_progress: true,
            json: true,
            parallelism: 10,
        }
    }
}

pub struct PlanArgs {
    pub vars: VarArgs,
    pub targets: Vec<String>,
    pub replace: Vec<String>,
    pub refresh: bool,
    pub destroy: bool,
    pub refresh_only: bool,
    pub no_progress: bool,
    /// The plan is printed as JSON: no refresh lines beside it.
    pub json: bool,
    /// At most N objects read at once by refresh.
    pub parallelism: usize,
}

/// The team's expected drift: `.landformignore` beside the configuration,
/// one address (and optionally attribute) per line.
pub fn ignore_file() -> Result<Vec<landform_engine::drift::IgnoreRule>, String> {
    let read = crate::inputs::read_regular(std::path::Path::new(".landformignore"), 1 << 20)
        .and_then(|b| String::from_utf8(b).map_err(|_| std::io::Error::other("it is not UTF-8 text")));
    match read {
        Ok(text) => landform_engine::drift::parse_ignore_file(".landformignore", &text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(format!("cannot read .landformignore: {}", landform_state::files::io_words(&e))),
    }
}

/// --target values: resources, instances, or modules for everything in them.
fn parse_targets(list: &[String]) -> Result<Vec<landform_engine::addr::Target>, String> {
    list.iter().map(|t| landform_engine::addr::Target::parse(t).map_err(|e| format!("invalid --target: {e}"))).collect()
}

fn parse_addrs(list: &[String], flag: &str) -> Result<Vec<ResourceAddr>, String> {
    list.iter().map(|a| ResourceAddr::parse(a).map_err(|e| format!("invalid {flag}: {e}"))).collect()
}

/// Compute a plan against the current state.
pub fn make_plan(cfg: &Config, state: &Snapshot, args: &PlanArgs, color: bool) -> Result<Plan, u8> {
    let providers = providers_for(&cfg.tree, &cfg.variables).map_err(|d| {
        print_diagnostics(&d, &cfg.sources, color);
        1u8
    })?;
    let fail = |e: String| {
        crate::errln!("{}", ui::error_line(&e, color));
        1
    };
    let targets = parse_targets(&args.targets).map_err(fail)?;
    let opts = PlanOptions {
        refresh: args.refresh,
        destroy: args.destroy,
        targets,
        replace: parse_addrs(&args.replace, "--replace").map_err(fail)?,
        refresh_only: args.refresh_only,
        ignore: ignore_file().map_err(fail)?,
        parallelism: args.parallelism,
    };
    if args.refresh_only && (args.destroy || !args.replace.is_empty() || !args.refresh) {
        return Err(fail("--refresh-only cannot be combined with --destroy, --replace or --refresh=false".into()));
    }
    let progress = if args.json {
        crate::progress::Refresh::bar_or(args.no_progress, crate::progress::Refresh::Quiet)
    } else {
        crate::progress::Refresh::new(args.no_progress)
    };
    let ctx = PlanContext {
        tree: &cfg.tree,
        sources: &cfg.sources,
        providers: &providers,
        host: &DiskHost::plan(),
        state,
        variables: cfg.variables.clone(),
        progress: &progress,
    };
    let plan = planner::plan(&ctx, &opts).map_err(|diags| {
        print_diagnostics(&diags, &cfg.sources, color);
        1
    })?;
    print_diagnostics(&plan.warnings, &cfg.sources, color);
    Ok(plan)
}

pub fn colors(color: bool) -> Colors {
    if color {
        Colors::ANSI
    } else {
        Colors::NONE
    }
}

pub fn print_plan(plan: &Plan, json: bool, color: bool) {
    if json {
        print_plan_json(
            plan,
            None,
            None,
            &landform_engine::plan::file_hash(&landform_engine::plan::to_file_bytes(plan)),
        );
    } else {
        crate::out!("{}", render_plan(plan, &colors(color)));
    }
}

/// The plan in `terraform show -json`'s format, with its prior state and
/// configuration when they are at hand.
pub fn print_plan_json(plan: &Plan, state: Option<&Snapshot>, tree: Option<&LoadedModule>, hash: &str) {
    let schemas = schema_providers();
    let mut j = plan_json(plan, state, tree, Some(&schemas));
    j["plan_hash"] = serde_json::Value::String(hash.to_string());
    crate::outln!("{}", serde_json::to_string_pretty(&j).unwrap_or_default());
}

/// How `plan` and `show PLANFILE` print a plan.
#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum PlanFormat {
    Text,
    Json,
    /// For a pull request comment: GitHub's limit, hidden marker, collapsible diffs.
    Markdown,
}

/// The directory a comment's marker names: the -C directory, or `.`.
pub fn comment_dir() -> String {
    crate::CHDIR.get().and_then(|d| d.as_ref()).map(|d| d.display().to_string()).unwrap_or_else(|| ".".into())
}

/// A plan as markdown for a pull request comment.
pub fn plan_markdown(plan: &Plan, hash: &str, limit: usize) -> String {
    let dir = comment_dir();
    let ctx =
        landform_engine::render::markdown::Context { workspace: &plan.workspace, dir: &dir, hash: Some(hash), limit };
    landform_engine::render::markdown::plan_markdown(plan, &ctx)
}

pub fn cmd_plan(
    common: &CommonArgs,
    args: PlanArgs,
    out: Option<PathBuf>,
    format: PlanFormat,
    detailed: bool,
    color: bool,
) -> u8 {
    let cfg = match load_config(&args.vars, color) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let (_held, snapshot) = match open_and_load(common, "plan", color) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let plan = match make_plan(&cfg, &snapshot, &args, color) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let hash = landform_engine::plan::file_hash(&landform_engine::plan::to_file_bytes(&plan));
    match format {
        PlanFormat::Json => print_plan_json(&plan, Some(&snapshot), Some(&cfg.tree), &hash),
        PlanFormat::Markdown => {
            crate::out!("{}", plan_markdown(&plan, &hash, landform_engine::render::markdown::GITHUB_LIMIT))
        }
        PlanFormat::Text => print_plan(&plan, false, color),
    }
    if let Some(path) = out {
        if let Err(e) = write_plan_file(common, &path, &plan) {
            crate::errln!("{}", ui::error_line(&e, color));
            return 1;
        }
        if format == PlanFormat::Text {
            // The command that works from where the user is: with their -C.
            let chdir = crate::CHDIR.get().and_then(|d| d.as_ref()).map(|d| format!("-C {} ", d.display()));
            crate::outln!(
                "\nSaved the plan to: {}\n\nTo perform exactly these actions, run:\n    landform {}apply {}",
                path.display(),
                chdir.unwrap_or_default(),
                path.display()
            );
        }
    }
    if detailed && plan.has_changes() {
        2
    } else {
        0
    }
}

fn write_plan_file(common: &CommonArgs, path: &std::path::Path, plan: &Plan) -> Result<(), String> {
    // With a state key, the plan is sealed with it: it holds the variables' values.
    let text = crypt(common)?.seal("plan", landform_engine::plan::to_file_bytes(plan));
    // A plan file holds variable values, sensitive ones included: always a new
    // private file renamed into place, whatever the mode of one it replaces.
    landform_state::files::write_atomic(path, &text)
        .map_err(|e| format!("cannot write the plan to {}: {}", path.display(), landform_state::files::io_words(&e)))
}

/// A saved plan's variable values as inputs: the plan is applied with exactly
/// what it was made with, and needs nothing from the command line.
fn saved_inputs(values: &BTreeMap<String, serde_json::Value>) -> BTreeMap<String, Input> {
    values
        .iter()
        .map(|(k, v)| {
            let input = Input {
                value: InputValue::Value(Value::from_json(v), Default::default()),
                origin: "the saved plan".into(),
            };
            (k.clone(), input)
        })
        .collect()
}

fn confirm(destroy: bool) -> bool {
    crate::outln!(
        "\n{}\n  Landform will perform the actions described above.\n  Only 'yes' will be accepted to approve.\n",
        if destroy { "Do you really want to destroy all resources?" } else { "Do you want to perform these actions?" }
    );
    crate::out!("  Enter a value: ");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    line.trim() == "yes"
}

pub struct ApplyArgs {
    pub plan_file: Option<PathBuf>,
    /// Refuse a plan file whose SHA-256 is not this (the one a review saw).
    pub expect_hash: Option<String>,
    pub plan: PlanArgs,
    pub auto_approve: bool,
    pub parallelism: usize,
    pub no_progress: bool,
    /// Webhooks told of rollout events.
    pub notify: Vec<String>,
}

pub fn cmd_apply(common: &CommonArgs, args: ApplyArgs, color: bool) -> u8 {
    let operation = if args.plan.destroy { "destroy" } else { "apply" };
    if args.plan_file.is_some() && !(args.plan.vars.vars.is_empty() && args.plan.vars.var_files.is_empty()) {
        // As Terraform: a saved plan holds its variables; new values would be silently ignored.
        let msg = "Can't set variables when applying a saved plan: the plan file holds the values it was made with. Make a new plan with these values (landform plan --var … --out FILE), or apply the saved plan without --var and --var-file.";
        crate::errln!("{}", ui::error_line(msg, color));
        return 1;
    }
    let saved: Option<Plan> = match &args.plan_file {
        Some(p) => match read_plan_file(common, p).and_then(|(plan, got)| {
            if let Some(want) = &args.expect_hash {
                let want = want.trim().trim_start_matches("sha256:").to_ascii_lowercase();
                if got != want {
                    return Err(format!(
                        "its SHA-256 is {got}, not the expected {want}: this is not the plan that was reviewed. Make a new plan and review it."
                    ));
                }
            }
            Ok(plan)
        }) {
            Ok(plan) => Some(plan),
            Err(e) => {
                crate::errln!("{}", ui::error_line(&format!("cannot read the saved plan {}: {e}", p.display()), color));
                return 1;
            }
        },
        None => None,
    };
    let vars = match &saved {
        Some(plan) => Vars::Saved(&plan.variables),
        None => Vars::Given(&args.plan.vars),
    };
    let cfg = match load_config_with(vars, color) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let (st, snapshot) = match open_and_load(common, operation, color) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let plan = match saved {
        Some(plan) => {
            if plan.workspace != st.workspace {
                crate::errln!(
                    "{}",
                    ui::error_line(
                        &format!("the saved plan is for workspace \"{}\", not \"{}\"", plan.workspace, st.workspace),
                        color
                    )
                );
                return 1;
            }
            if let Err(e) = apply::check_plan_is_current(&plan, &cfg.sources, &snapshot) {
                crate::errln!("{}", ui::error_line(&e, color));
                return 1;
            }
            plan
        }
        None => {
            let plan = match make_plan(&cfg, &snapshot, &args.plan, color) {
                Ok(p) => p,
                Err(code) => return code,
            };
            print_plan(&plan, false, color);
            let changes = plan.has_changes();
            if !changes && plan.destroy {
                return if plan.targets.is_empty() { forget_data_sources(&st, &snapshot, color) } else { 0 };
            }
            if !changes && !data_sources_differ(&plan, &snapshot) && plan.refreshed.is_empty() {
                return 0;
            }
            // With no changes, the apply only saves the data sources it read and
            // the objects refresh found changed or brought to a newer schema
            // (Terraform asks nothing either).
            if changes && !args.auto_approve && !confirm(args.plan.destroy) {
                crate::outln!("\n{} cancelled.", if args.plan.destroy { "Destroy" } else { "Apply" });
                return 1;
            }
            crate::outln!();
            plan
        }
    };
    for url in &args.notify {
        let refused = match reqwest::Url::parse(url) {
            Ok(u) => crate::http::check_url(&u).err().map(|e| format!("--notify: {e}")),
            Err(_) => Some("--notify must be an http:// or https:// URL".to_string()),
        };
        if let Some(why) = refused {
            crate::errln!("{}", ui::error_line(&why, color));
            return 1;
        }
    }
    let how = RunHow { parallelism: args.parallelism, no_progress: args.no_progress, notify: args.notify.clone() };
    apply_plan(&cfg, &st, snapshot, plan, &how, color)
}

/// How apply runs a plan.
pub struct RunHow {
    pub parallelism: usize,
    pub no_progress: bool,
    pub notify: Vec<String>,
}

/// Run an approved plan against the state `st` holds (locked), and report.
pub fn apply_plan(cfg: &Config, st: &OpenState, snapshot: Snapshot, plan: Plan, how: &RunHow, color: bool) -> u8 {
    if let Err(e) = st.storage.save_backup(&snapshot) {
        crate::errln!("{}", ui::error_line(&e.to_string(), color));
        return 1;
    }
    if plan.refresh_only {
        return apply_refresh_only(st, &plan, color);
    }
    let mut plan = plan;
    plan.strip_values();
    let report = run_apply(cfg, st, snapshot, &plan, how.parallelism, how.no_progress, &how.notify);
    if let Some(e) = &report.state_error {
        return report_state_failure(st, e, &report, color);
    }
    // The state after a clean apply is the new last good one.
    let _ = st.storage.checkpoint();
    report_apply(&report, &cfg.sources, plan.destroy, color)
}

/// Whether the data sources the state keeps are not those the plan read (a
/// value changed, one is new, or one the configuration no longer has): an
/// apply with no changes still saves them, as Terraform's does.
fn data_sources_differ(plan: &Plan, snapshot: &Snapshot) -> bool {
    let kept: std::collections::HashMap<&str, &landform_state::ResourceRecord> =
        snapshot.resources.iter().filter(|r| r.mode == "data").map(|r| (r.addr.as_str(), r)).collect();
    let read: std::collections::HashSet<&str> = plan.data_reads.iter().map(|d| d.address.as_str()).collect();
    plan.data_reads.iter().any(|d| kept.get(d.address.as_str()).is_none_or(|r| r.attributes != d.attributes))
        || (plan.plans_everything() && kept.keys().any(|a| !read.contains(a)))
}

/// A destroy with nothing left to destroy still leaves no data source in the
/// state, as Terraform's leaves none.
fn forget_data_sources(st: &OpenState, snapshot: &Snapshot, color: bool) -> u8 {
    let changes: Vec<landform_state::Change> = snapshot
        .resources
        .iter()
        .filter(|r| r.mode == "data")
        .map(|r| landform_state::Change::Delete(r.addr.clone()))
        .collect();
    if !changes.is_empty() {
        if let Err(e) = st.storage.commit(&changes) {
            crate::errln!("{}", ui::error_line(&e.to_string(), color));
            return 1;
        }
    }
    0
}

/// Accept what refresh found into the state, changing nothing in the world.
fn apply_refresh_only(st: &OpenState, plan: &Plan, color: bool) -> u8 {
    use landform_state::Change;
    let mut changes: Vec<Change> = plan.gone.iter().map(|a| Change::Delete(a.clone())).collect();
    changes.extend(plan.refreshed.iter().map(|r| Change::Put(Box::new(r.clone()))));
    if !changes.is_empty() {
        if let Err(e) = st.storage.commit(&changes) {
            crate::errln!("{}", ui::error_line(&e.to_string(), color));
            return 1;
        }
        let _ = st.storage.checkpoint();
    }
    crate::outln!(
        "\n{}Apply complete!{} Resources: 0 added, 0 changed, 0 destroyed. The state now records {} object(s) as found{}.",
        if color { "\x1b[1;32m" } else { "" },
        if color { "\x1b[0m" } else { "" },
        plan.refreshed.len(),
        if plan.gone.is_empty() { String::new() } else { format!(" and forgets {} deleted outside Landform", plan.gone.len()) }
    );
    0
}

/// Apply a plan telling nobody how it goes (`landform test`): the report only.
pub fn apply_silently(cfg: &Config, st: &OpenState, snapshot: Snapshot, plan: &Plan) -> ApplyReport {
    struct Silent;
    impl apply::Progress for Silent {
        fn event(&self, _: apply::Event) {}
    }
    let mut plan = plan.clone();
    plan.strip_values();
    run_apply_with(cfg, st, snapshot, &plan, 10, Some(Arc::new(Silent)), &[])
}

fn run_apply(
    cfg: &Config,
    st: &OpenState,
    snapshot: Snapshot,
    plan: &Plan,
    parallelism: usize,
    no_progress: bool,
    notify: &[String],
) -> ApplyReport {
    let interactive = !no_progress && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let progress: Arc<dyn apply::Progress> =
        if interactive { Arc::new(crate::progress::Bars::new()) } else { Arc::new(crate::progress::Plain) };
    run_apply_with(cfg, st, snapshot, plan, parallelism, Some(progress), notify)
}

fn run_apply_with(
    cfg: &Config,
    st: &OpenState,
    snapshot: Snapshot,
    plan: &Plan,
    parallelism: usize,
    progress: Option<Arc<dyn apply::Progress>>,
    notify: &[String],
) -> ApplyReport {
    let providers = match providers_for(&cfg.tree, &cfg.variables) {
        Ok(p) => p,
        Err(d) => return ApplyReport { diagnostics: d, ..Default::default() },
    };
    let stop = crate::signals::stop_flag();
    let _applying = crate::signals::Applying::start();
    let host = DiskHost::apply_planned_at(plan.planned_at.clone());
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(parallelism.max(1) + 16)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return ApplyReport { errors: vec![("runtime".into(), e.to_string())], ..Default::default() };
        }
    };
    let progress: Arc<dyn apply::Progress> = progress.unwrap_or_else(|| Arc::new(crate::progress::Plain));
    let notifier =
        (!notify.is_empty()).then(|| Arc::new(crate::notify::Notifier::new(progress.clone(), notify.to_vec())));
    let progress: Arc<dyn apply::Progress> = match &notifier {
        Some(n) => n.clone(),
        None => progress,
    };
    let report = rt.block_on(async {
        let ctx = ApplyContext {
            tree: &cfg.tree,
            sources: &cfg.sources,
            providers: &providers,
            host: &host,
            storage: st.storage.clone(),
            state: snapshot,
            variables: cfg.variables.clone(),
            parallelism,
            stop: stop.clone(),
            measure: Some(Arc::new(crate::analysis::Http)),
            abort_requested: Some(Arc::new({
                // `rollout abort` leaves a request in the state's backend; taking it
                // consumes it. Only a request made since the run started is for it.
                let storage = st.storage.clone();
                move |name: &str, run_started: &str| {
                    storage.take_abort_request(name).is_some_and(|at| at.as_str() >= run_started)
                }
            })),
        };
        apply::apply(ctx, plan, progress.clone()).await
    });
    if let Some(n) = notifier {
        n.finish(std::time::Duration::from_secs(10));
    }
    report
}

/// A commit failed even after retries: put everything apply knows — what the
/// state holds plus every result it could not save — in a recovery file
/// beside the configuration, and say how to load it.
fn report_state_failure(st: &OpenState, error: &str, report: &ApplyReport, color: bool) -> u8 {
    use landform_state::Change;
    let snap = report.recovery.clone().unwrap_or_else(|| Snapshot::empty(&st.workspace));
    let unsaved: Vec<String> = report
        .uncommitted
        .iter()
        .filter_map(|c| match c {
            Change::Put(r) => Some(r.addr.clone()),
            Change::Delete(a) => Some(format!("{a} (destroyed)")),
            Change::Outputs(_) => Some("the outputs".into()),
            Change::Rollout(n, _) => Some(format!("rollout.{n}'s progress")),
            Change::DeleteDeposed { addr, key } => {
                Some(format!("{} (destroyed)", landform_engine::plan::deposed_label(addr, key)))
            }
            Change::Intent(_) | Change::ClearIntent(_) | Change::Depose(_) => None,
        })
        .collect();
    for (addr, err) in &report.errors {
        crate::errln!("{}", ui::error_line(&format!("{addr}: {err}"), color));
    }
    if unsaved.is_empty() {
        crate::errln!(
            "{}",
            ui::error_line(
                &format!("the state could not be saved: {error}. Landform stopped before changing anything the state does not record. Fix the cause (free some space) and run apply again."),
                color
            )
        );
        return 1;
    }
    let name = format!("landform-recovery-{}-{}.json", st.workspace, landform_state::now_rfc3339().replace(':', ""));
    // Sealed like the state when it is: it holds every attribute value.
    let bytes = st.crypt.seal("state", serde_json::to_vec_pretty(&snap).unwrap_or_default());
    let mut written = None;
    for dir in [PathBuf::from("."), std::env::temp_dir()] {
        let path = dir.join(&name);
        if landform_state::files::write_atomic(&path, &bytes).is_ok() {
            written = Some(path);
            break;
        }
    }
    let listed = if unsaved.len() > 10 {
        format!("{}, and {} more", unsaved[..10].join(", "), unsaved.len() - 10)
    } else {
        unsaved.join(", ")
    };
    let msg = match &written {
        Some(path) => format!(
            "the state could not be saved: {error}. Landform stopped starting new operations. The {} result(s) it could not save ({listed}), with everything the state already held, are in {}. Fix the cause (free some space), then load it with:\n    landform state push {}\nbefore running plan or apply again, so that nothing it created is forgotten.",
            unsaved.len(),
            path.display(),
            path.display()
        ),
        None => format!(
            "the state could not be saved: {error}, and no recovery file could be written either. These results are not in the state: {listed}. Their objects exist; after fixing the cause, bring them back with `landform state push` or remove them by hand."
        ),
    };
    crate::errln!("{}", ui::error_line(&msg, color));
    crate::errln!("\nApply failed: {}.", report.counts());
    1
}

fn report_apply(report: &ApplyReport, sources: &SourceMap, destroy: bool, color: bool) -> u8 {
    print_diagnostics(&report.diagnostics, sources, color);
    for (addr, err) in &report.errors {
        crate::errln!("{}", ui::error_line(&format!("{addr}: {err}"), color));
    }
    if report.interrupted {
        crate::errln!(
            "\nApply interrupted: {} before stopping. The state is saved; run apply again to finish.",
            report.counts()
        );
        return 130;
    }
    let failed = !report.errors.is_empty() || report.diagnostics.iter().any(|d| d.is_error());
    let what = if destroy { "Destroy" } else { "Apply" };
    if failed {
        crate::errln!("\n{what} failed: {}.", report.counts());
        return 1;
    }
    if destroy {
        crate::outln!(
            "\n{}Destroy complete!{} Resources: {} destroyed.",
            if color { "\x1b[1;32m" } else { "" },
            if color { "\x1b[0m" } else { "" },
            report.destroyed
        );
    } else {
        crate::outln!(
            "\n{}Apply complete!{} Resources: {}.{}",
            if color { "\x1b[1;32m" } else { "" },
            if color { "\x1b[0m" } else { "" },
            report.counts(),
            if report.rollouts.is_empty() { String::new() } else { format!(" {}.", report.rollouts.join("; ")) }
        );
        if !report.outputs.is_empty() {
            crate::outln!("\nOutputs:\n");
            for (k, o) in &report.outputs {
                let v =
                    if o.sensitive { "(sensitive value)".to_string() } else { landform_engine::render::show(&o.value) };
                crate::outln!("{k} = {v}");
            }
        }
    }
    0
}

/// `landform import ADDR ID`: read the object, save it in the state, and show
/// what the configuration would change on it.
pub fn cmd_import(common: &CommonArgs, addr: &str, id: &str, vars: &VarArgs, color: bool) -> u8 {
    let cfg = match load_config(vars, color) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let (st, snapshot) = match open_and_load(common, "import", color) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let providers = match providers_for(&cfg.tree, &cfg.variables) {
        Ok(p) => p,
        Err(d) => {
            print_diagnostics(&d, &cfg.sources, color);
            return 1;
        }
    };
    crate::outln!("{addr}: Importing from ID \"{id}\"...");
    let record = match landform_engine::import::import_record(&cfg.tree, &cfg.sources, &providers, &snapshot, addr, id)
    {
        Ok((r, warnings)) => {
            print_diagnostics(&warnings, &cfg.sources, color);
            r
        }
        Err(e) => {
            crate::errln!("{}", ui::error_line(&e, color));
            return 1;
        }
    };
    if let Err(e) = st.storage.save_backup(&snapshot) {
        crate::errln!("{}", ui::error_line(&e.to_string(), color));
        return 1;
    }
    let shown = record.addr.clone();
    if let Err(e) = st.storage.commit(&[landform_state::Change::Put(Box::new(record))]) {
        crate::errln!("{}", ui::error_line(&e.to_string(), color));
        return 1;
    }
    crate::outln!(
        "{shown}: Import prepared!\n\n{}Import successful!{}\n\nThe resource is now in the state and will henceforth be managed by Landform.",
        if color { "\x1b[1;32m" } else { "" },
        if color { "\x1b[0m" } else { "" }
    );
    // What the configuration would now change on it.
    let now = match st.storage.load() {
        Ok(s) => s,
        Err(e) => {
            crate::errln!("{}", ui::error_line(&e.to_string(), color));
            return 1;
        }
    };
    let _ = st.storage.checkpoint();
    let args = PlanArgs {
        vars: vars.clone(),
        targets: vec![shown],
        replace: Vec::new(),
        refresh: false,
        destroy: false,
        refresh_only: false,
        no_progress: true,
        json: false,
        parallelism: 10,
    };
    match make_plan(&cfg, &now, &args, color) {
        Ok(plan) => {
            print_plan(&plan, false, color);
            0
        }
        Err(code) => code,
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                rust_files(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }

    /// ARCHITECTURE.md's invariant: the engine names no concrete provider.
    /// No code of engine/src (comments and test modules aside) has a type of
    /// a provider's schema as a string of its own, as code that knows a type
    /// does (`type_name == "…"`, `"…" => …`): what a type is for, the engine
    /// learns from its provider (`schema`, `switch`, `sample`, `isolate`).
    #[test]
    fn the_engine_names_no_type_of_a_concrete_provider() {
        let providers = super::schema_providers();
        let types: Vec<&str> = providers.type_names(false).into_iter().chain(providers.type_names(true)).collect();
        assert!(types.len() > 5, "{types:?}");
        let mut files = Vec::new();
        rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("engine/src"), &mut files);
        assert!(files.len() > 10, "{files:?}");
        let mut named = Vec::new();
        for f in &files {
            let text = std::fs::read_to_string(f).unwrap();
            for (i, line) in text.lines().enumerate() {
                let code = line.trim_start();
                if code.starts_with("#[cfg(test)]") {
                    break;
                }
                if code.starts_with("//") {
                    continue;
                }
                for t in &types {
                    if line.contains(&format!("\"{t}\"")) {
                        named.push(format!("{}:{}: {t}", f.display(), i + 1));
                    }
                }
            }
        }
        assert!(named.is_empty(), "the engine names a provider's type:\n{}", named.join("\n"));
    }
}

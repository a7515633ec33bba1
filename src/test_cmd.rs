//! `landform test`: the `*.lftest.lf` files beside the configuration (and in
//! `tests/`), as `terraform test` runs its `.tftest.hcl` files. Each file's
//! `run "NAME" { command = plan|apply  variables { … }  assert { … } }` blocks
//! run in order against a throwaway state of their own; `variables { … }` at
//! the top of a file applies to every run. What a file's runs created is
//! destroyed when they are done. Exit 1 when any assertion failed, each said
//! with its `error_message` at its condition.

use crate::run::{self, Config, PlanArgs, Vars};
use crate::{console, inputs, print_diagnostics, ui, CommonArgs};
use landform_lang::config::Condition;
use landform_lang::diag::Diagnostic;
use landform_lang::syntax::{Block, Body, Item};
use landform_lang::{Evaluator, Scope, SourceMap};
use landform_state::{OutputRecord, ResourceRecord, Snapshot};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// One `run` block.
struct Run {
    name: String,
    apply: bool,
    variables: BTreeMap<String, serde_json::Value>,
    asserts: Vec<Condition>,
}

/// The test files: `*.lftest.lf` here and in `tests/`, sorted.
fn test_files(filter: &[String]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in [PathBuf::from("."), PathBuf::from("tests")] {
        if let Ok(rd) = std::fs::read_dir(&dir) {
            for e in rd.flatten() {
                let p = e.path();
                let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                if name.ends_with(".lftest.lf") && p.is_file() {
                    out.push(p.strip_prefix("./").map(PathBuf::from).unwrap_or(p));
                }
            }
        }
    }
    out.sort();
    out.retain(|p| filter.is_empty() || filter.iter().any(|f| p.ends_with(f) || p.to_string_lossy() == *f));
    out
}

/// A `variables { … }` block's values.
fn variables(b: &Block, diags: &mut Vec<Diagnostic>) -> BTreeMap<String, serde_json::Value> {
    let host = inputs::DiskHost::plan();
    let mut out = BTreeMap::new();
    for a in b.body.attributes() {
        let mut ev = Evaluator::new(&host);
        let v = ev.eval(&a.value, &Scope::new());
        diags.append(&mut ev.diags);
        out.insert(a.name.name.clone(), v.unmark_deep().0.to_json());
    }
    out
}

fn conditions(body: &Body, diags: &mut Vec<Diagnostic>) -> Vec<Condition> {
    let mut out = Vec::new();
    for b in body.blocks().filter(|b| b.kind.name == "assert") {
        match (b.body.attribute("condition"), b.body.attribute("error_message")) {
            (Some(c), Some(m)) => {
                out.push(Condition { condition: c.value.clone(), error_message: m.value.clone(), span: b.kind.span })
            }
            _ => diags.push(Diagnostic::error(
                "Invalid assert block",
                "An assert block has a condition and an error_message.",
                b.kind.span,
            )),
        }
    }
    out
}

/// Read a test file: its global variables and its runs.
fn read(body: &Body, diags: &mut Vec<Diagnostic>) -> (BTreeMap<String, serde_json::Value>, Vec<Run>) {
    let mut globals = BTreeMap::new();
    let mut runs = Vec::new();
    for item in &body.items {
        match item {
            Item::Block(b) if b.kind.name == "variables" => globals.extend(variables(b, diags)),
            Item::Block(b) if b.kind.name == "run" && b.labels.len() == 1 => {
                let command = b.body.attribute("command").map(|a| match &a.value.kind {
                    landform_lang::syntax::ExprKind::Variable(id) => (id.name.clone(), a.value.span),
                    _ => (String::new(), a.value.span),
                });
                let apply = match command {
                    None => true,
                    Some((c, _)) if c == "apply" => true,
                    Some((c, _)) if c == "plan" => false,
                    Some((_, span)) => {
                        diags.push(Diagnostic::error(
                            "Invalid run command",
                            "command is plan or apply, written without quotes: command = plan",
                            span,
                        ));
                        continue;
                    }
                };
                let mut vars = BTreeMap::new();
                for v in b.body.blocks().filter(|v| v.kind.name == "variables") {
                    vars.extend(variables(v, diags));
                }
                runs.push(Run {
                    name: b.labels[0].value.clone(),
                    apply,
                    variables: vars,
                    asserts: conditions(&b.body, diags),
                });
            }
            Item::Block(b) => diags.push(Diagnostic::error(
                "Unsupported block type",
                format!(
                    "A test file holds run \"NAME\" {{ … }} and variables {{ … }} blocks, not \"{}\".",
                    b.kind.name
                ),
                b.kind.span,
            )),
            Item::Attribute(a) => diags.push(Diagnostic::error(
                "Unsupported argument",
                "A test file holds run and variables blocks; arguments belong inside them.",
                a.name.span,
            )),
        }
    }
    (globals, runs)
}

/// The state a plan would leave: its planned objects and outputs (what only
/// apply will know is null).
fn planned(state: &Snapshot, plan: &landform_engine::Plan) -> Snapshot {
    let mut snap = state.clone();
    snap.deposed.clear();
    for c in plan.resource_changes.iter().filter(|c| c.deposed.is_none()) {
        snap.resources.retain(|r| r.addr != c.address);
        if let Some(after) = &c.after {
            snap.resources.push(ResourceRecord {
                addr: c.address.clone(),
                mode: c.mode.clone(),
                type_name: c.type_name.clone(),
                name: c.name.clone(),
                module: c.module_address.clone(),
                index_key: c.index.clone(),
                provider: c.provider_name.clone(),
                schema_version: 0,
                attributes: after.clone(),
                sensitive_attributes: c.sensitive.iter().cloned().collect(),
                dependencies: Vec::new(),
                create_before_destroy: false,
                private: Vec::new(),
            });
        }
    }
    for o in &plan.output_changes {
        match &o.after {
            Some(v) => {
                snap.outputs.insert(o.name.clone(), OutputRecord { value: v.clone(), sensitive: o.sensitive });
            }
            None => {
                snap.outputs.remove(&o.name);
            }
        }
    }
    snap
}

pub fn run(common: &CommonArgs, filter: &[String], color: bool) -> u8 {
    let files = test_files(filter);
    if files.is_empty() {
        crate::errln!(
            "{}",
            ui::error_line("no test files: write run blocks in NAME.lftest.lf files, here or in tests/", color)
        );
        return 1;
    }
    let (mut passed, mut failed) = (0, 0);
    for file in files {
        let shown = file.display().to_string();
        // Only regular files: a named pipe among the test files would block forever.
        let text = match crate::inputs::read_regular_file(&file, 256 << 20)
            .and_then(|b| String::from_utf8(b).map_err(|_| format!("\"{shown}\" is not UTF-8 text")))
        {
            Ok(t) => t,
            Err(e) => {
                crate::errln!("{}", ui::error_line(&e, color));
                return 1;
            }
        };
        let mut sources = SourceMap::new();
        let id = sources.add(shown.clone(), text.clone());
        let (parsed, mut diags) = landform_lang::parse::parse_file(id, &text);
        let (globals, runs) = read(&parsed.body, &mut diags);
        if diags.iter().any(Diagnostic::is_error) {
            print_diagnostics(&diags, &sources, color);
            return 1;
        }
        crate::outln!("{shown}... in progress");
        let dir =
            std::env::temp_dir().join(format!("landform-test-{}-{}", std::process::id(), landform_state::random_id()));
        let mut c = common.clone();
        c.state = Some(dir.clone());
        c.backend_url = None;
        c.workspace = "default".into();
        let mut last_cfg: Option<Config> = None;
        for r in &runs {
            let mut values = globals.clone();
            values.extend(r.variables.clone());
            let outcome = one_run(&c, r, &values, &sources, color);
            match outcome {
                Ok((cfg, true)) => {
                    passed += 1;
                    crate::outln!("  run \"{}\"... pass", r.name);
                    last_cfg = Some(cfg);
                }
                Ok((cfg, false)) => {
                    failed += 1;
                    crate::outln!("  run \"{}\"... fail", r.name);
                    last_cfg = Some(cfg);
                }
                Err(cfg) => {
                    failed += 1;
                    crate::outln!("  run \"{}\"... fail", r.name);
                    // A run that failed part way may have created objects:
                    // its configuration is what tears them down.
                    last_cfg = cfg.map(|c| *c).or(last_cfg);
                }
            }
        }
        crate::outln!("{shown}... tearing down");
        // The throwaway state goes only when nothing is left in it: what the
        // runs created is never orphaned.
        if teardown(&c, last_cfg.as_ref(), color) {
            let _ = std::fs::remove_dir_all(&dir);
        } else {
            failed += 1;
            crate::errln!(
                "{}",
                ui::error_line(
                    &format!(
                        "{shown}: what its runs created could not all be destroyed; their state is kept in {}. Destroy them with: landform destroy --state {}",
                        dir.display(),
                        dir.display()
                    ),
                    color
                )
            );
        }
        crate::outln!("{shown}... {}", if failed == 0 { "pass" } else { "fail" });
    }
    crate::outln!("\n{}! {passed} passed, {failed} failed.", if failed == 0 { "Success" } else { "Failure" });
    u8::from(failed > 0)
}

/// Plan (and apply) one run, then check its assertions: the configuration it
/// used, and whether every assertion held; `Err` when it could not run, with
/// the configuration if it was read (an apply that failed part way may have
/// created objects, which it destroys).
fn one_run(
    common: &CommonArgs,
    r: &Run,
    values: &BTreeMap<String, serde_json::Value>,
    sources: &SourceMap,
    color: bool,
) -> Result<(Config, bool), Option<Box<Config>>> {
    let cfg = run::load_config_with(Vars::Saved(values), color).map_err(|_| None)?;
    let Ok((st, snapshot)) = run::open_and_load(common, "test", color) else { return Err(Some(Box::new(cfg))) };
    let Ok(plan) = run::make_plan(&cfg, &snapshot, &PlanArgs::quiet(Default::default(), false), color) else {
        return Err(Some(Box::new(cfg)));
    };
    let after = if r.apply {
        let report = run::apply_silently(&cfg, &st, snapshot, &plan);
        if !report.errors.is_empty() || report.diagnostics.iter().any(Diagnostic::is_error) {
            print_diagnostics(&report.diagnostics, &cfg.sources, color);
            for (addr, e) in &report.errors {
                crate::errln!("{}", ui::error_line(&format!("{addr}: {e}"), color));
            }
            return Err(Some(Box::new(cfg)));
        }
        match st.storage.load() {
            Ok(s) => s,
            Err(e) => {
                crate::errln!("{}", ui::error_line(&e.to_string(), color));
                return Err(Some(Box::new(cfg)));
            }
        }
    } else {
        planned(&snapshot, &plan)
    };
    drop(st);
    let host = inputs::DiskHost::plan();
    let scope = console::scope(&cfg, &after, &host);
    let mut diags = Vec::new();
    let ok = landform_engine::conditions::check_all(
        &r.asserts,
        "Test assertion",
        &format!("run \"{}\"", r.name),
        &scope,
        &host,
        false,
        &mut diags,
    );
    print_diagnostics(&diags, sources, color);
    Ok((cfg, ok && !diags.iter().any(Diagnostic::is_error)))
}

/// Destroy what the file's runs created, in its throwaway state; whether
/// nothing is left in it.
fn teardown(common: &CommonArgs, cfg: Option<&Config>, color: bool) -> bool {
    let Ok((st, snapshot)) = run::open_and_load(common, "test", color) else { return false };
    if snapshot.resources.iter().all(|r| r.mode != "managed") && snapshot.deposed.is_empty() {
        return true;
    }
    let Some(cfg) = cfg else { return false };
    let Ok(plan) = run::make_plan(cfg, &snapshot, &PlanArgs::quiet(Default::default(), true), color) else {
        return false;
    };
    let report = run::apply_silently(cfg, &st, snapshot, &plan);
    for (addr, e) in &report.errors {
        crate::errln!("{}", ui::error_line(&format!("could not destroy {addr}: {e}"), color));
    }
    st.storage.load().is_ok_and(|s| s.resources.iter().all(|r| r.mode != "managed") && s.deposed.is_empty())
}

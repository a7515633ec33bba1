//! Golden plan tests: each directory under `tests/data/plan` holds a
//! configuration (`*.lf`) and optionally a prior state (`state.json`, in the
//! `state pull` format); the expected plan is checked in beside them as
//! `plan.txt`, `plan.json` and `plan.md` (the pull request comment). `UPDATE_EXPECT=1` rewrites them.

use landform_engine::planner::{plan, PlanContext, PlanOptions};
use landform_engine::render::{plan_json, render_plan, Colors};
use landform_engine::Providers;
use landform_lang::module::{load_tree, ModuleFs};
use landform_lang::{NoHost, SourceMap};
use landform_state::Snapshot;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

struct CaseFs(PathBuf);

impl ModuleFs for CaseFs {
    fn read_module(&self, dir: &str) -> Result<Vec<(String, String)>, String> {
        let full = self.0.join(dir);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&full)
            .map_err(|e| e.to_string())?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "lf"))
            .collect();
        files.sort();
        Ok(files
            .into_iter()
            .map(|p| (p.strip_prefix(&self.0).unwrap().display().to_string(), std::fs::read_to_string(&p).unwrap()))
            .collect())
    }
}

fn run(case: &Path) -> (String, String, String) {
    let mut sources = SourceMap::new();
    let (tree, diags) = load_tree(&CaseFs(case.to_path_buf()), ".", &mut sources);
    assert!(diags.is_empty(), "{}: {diags:?}", case.display());
    let (checked, diags) = landform_lang::check::check_tree(&tree, &BTreeMap::new(), &NoHost);
    assert!(diags.is_empty(), "{}: {diags:?}", case.display());
    let state: Snapshot = match std::fs::read_to_string(case.join("state.json")) {
        Ok(t) => serde_json::from_str(&t).unwrap(),
        Err(_) => Snapshot { lineage: "00000000-0000-4000-a000-000000000000".into(), ..Snapshot::empty("default") },
    };
    let mut providers = Providers::new();
    providers.register(Arc::new(landform_provider_local::LocalProvider::new()));
    let ctx = PlanContext {
        tree: &tree,
        sources: &sources,
        providers: &providers,
        host: &NoHost,
        state: &state,
        variables: checked.vars,
        progress: &landform_engine::refresh::Quiet,
    };
    let destroy = case.file_name().is_some_and(|n| n.to_string_lossy().starts_with("destroy"));
    let replace = std::fs::read_to_string(case.join("replace.txt"))
        .map(|t| t.lines().map(|l| landform_engine::ResourceAddr::parse(l.trim()).unwrap()).collect())
        .unwrap_or_default();
    let p = match plan(&ctx, &PlanOptions { refresh: false, destroy, replace, ..Default::default() }) {
        Ok(p) => p,
        Err(d) => {
            let text = landform_lang::diag::render_all(&d, &sources, landform_lang::diag::Style::PLAIN);
            return (text, String::new(), String::new());
        }
    };
    let text = render_plan(&p, &Colors::NONE);
    let mut json = plan_json(&p, Some(&state), Some(&tree), Some(&providers));
    let errors: Vec<String> = schema().iter_errors(&json).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(
        errors.is_empty(),
        "{}: the plan JSON breaks Terraform's plan format:\n{}",
        case.display(),
        errors.join("\n")
    );
    json["landform_version"] = serde_json::Value::String("(version)".into());
    if json.get("prior_state").is_some() {
        json["prior_state"]["landform_version"] = serde_json::Value::String("(version)".into());
    }
    let ctx = landform_engine::render::markdown::Context {
        workspace: "default",
        dir: "infra",
        hash: Some("(hash)"),
        limit: landform_engine::render::markdown::GITHUB_LIMIT,
    };
    let md = landform_engine::render::markdown::plan_markdown(&p, &ctx);
    (text, serde_json::to_string_pretty(&json).unwrap() + "\n", md)
}

/// docs/terraform-plan.schema.json: Terraform's plan representation.
fn schema() -> jsonschema::Validator {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/terraform-plan.schema.json")).unwrap();
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
}

#[test]
fn plans_match_the_recorded_text_and_json() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/plan");
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut cases: Vec<PathBuf> =
        std::fs::read_dir(&root).unwrap().filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir()).collect();
    cases.sort();
    assert!(cases.len() >= 8, "expected the plan fixtures, found {}", cases.len());
    let mut failures = Vec::new();
    for case in cases {
        let (text, json, md) = run(&case);
        for (name, actual) in [("plan.txt", &text), ("plan.json", &json), ("plan.md", &md)] {
            let path = case.join(name);
            if update {
                std::fs::write(&path, actual).unwrap();
            } else if std::fs::read_to_string(&path).unwrap_or_default() != *actual {
                failures.push(format!("{} differs:\n{actual}", path.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

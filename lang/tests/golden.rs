//! Data-driven golden tests in the rust-analyzer style. Each case under
//! `tests/data/parse/ok` and `tests/data/parse/err` is a `.lf` file or a module
//! directory; its expected output sits beside it as `NAME.txt`. Run with
//! `UPDATE_EXPECT=1` to rewrite the expected files, then review the diff.

use landform_lang::check::check_tree;
use landform_lang::diag::{render_all, Style};
use landform_lang::module::{load_tree, ModuleFs};
use landform_lang::value::Value;
use landform_lang::{Host, SourceMap};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Reads module directories below a case directory, naming files relative to it.
struct CaseFs {
    base: PathBuf,
    single: Option<(String, String)>,
}

impl ModuleFs for CaseFs {
    fn read_module(&self, dir: &str) -> Result<Vec<(String, String)>, String> {
        if let Some(f) = &self.single {
            return if dir == "." { Ok(vec![f.clone()]) } else { Err("no such directory".into()) };
        }
        let full = self.base.join(dir);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&full)
            .map_err(|e| e.to_string())?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "lf"))
            .collect();
        files.sort();
        Ok(files
            .into_iter()
            .map(|p| {
                let name = p.strip_prefix(&self.base).unwrap_or(&p).display().to_string();
                (name, std::fs::read_to_string(&p).unwrap_or_default())
            })
            .collect())
    }
}

/// A fixed world: one environment variable and the files under `tests/data/files`.
struct TestHost;

impl Host for TestHost {
    fn read_file(&self, path: &str) -> Result<String, String> {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/files").join(path);
        std::fs::read_to_string(p).map_err(|e| format!("cannot read \"{path}\": {e}"))
    }
    fn env(&self, name: &str) -> Option<String> {
        (name == "LANDFORM_TEST_REGION").then(|| "eu-west-1".to_string())
    }
}

fn run_case(path: &Path) -> (String, bool) {
    let mut sources = SourceMap::new();
    let fs = if path.is_dir() {
        CaseFs { base: path.to_path_buf(), single: None }
    } else {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        CaseFs {
            base: path.parent().unwrap().to_path_buf(),
            single: Some((name, std::fs::read_to_string(path).unwrap())),
        }
    };
    let (tree, mut diags) = load_tree(&fs, ".", &mut sources);
    let mut out = String::new();
    let mut checked = None;
    if tree.syntax_errors == 0 {
        let (c, d) = check_tree(&tree, &BTreeMap::new(), &TestHost);
        diags.extend(d);
        checked = Some(c);
    }
    // As the CLI shows them: each once.
    landform_lang::diag::dedup(&mut diags);
    let has_errors = diags.iter().any(|d| d.is_error());
    if has_errors {
        out.push_str(&render_all(&diags, &sources, Style::PLAIN));
        return (out, true);
    }
    for (id, file) in sources.files() {
        let (parsed, _) = landform_lang::parse::parse_file(id, &file.text);
        let (reference, _) = landform_lang::parse::parse_file_reference(id, &file.text);
        assert!(parsed == reference, "{}: the fast parser and the reference parser disagree", file.name);
        out.push_str(&format!("# {}\n", file.name));
        out.push_str(&landform_lang::dump::dump_body(&parsed.body, Some(&sources)));
    }
    out.push_str("--- evaluation ---\n");
    if let Some(c) = checked {
        for (prefix, v) in [("var", c.vars), ("local", c.locals), ("output", c.outputs)] {
            if let Value::Object(m) = v {
                for (k, v) in m {
                    out.push_str(&format!("{prefix}.{k} = {v}\n"));
                }
            }
        }
    }
    if !diags.is_empty() {
        out.push_str(&render_all(&diags, &sources, Style::PLAIN));
    }
    (out, false)
}

fn cases(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/parse").join(kind);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir() || p.extension().is_some_and(|x| x == "lf"))
        .collect();
    v.sort();
    v
}

fn check_cases(kind: &str, expect_errors: bool) {
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut failures = Vec::new();
    let all = cases(kind);
    assert!(all.len() >= 40, "{kind}: at least 40 cases are expected, found {}", all.len());
    for case in all {
        let (actual, had_errors) = run_case(&case);
        if had_errors != expect_errors {
            failures.push(format!(
                "{}: expected {} but got:\n{actual}",
                case.display(),
                if expect_errors { "errors" } else { "no errors" }
            ));
            continue;
        }
        let expected_path = case.with_extension("txt");
        let expected_path =
            if case.is_dir() { PathBuf::from(format!("{}.txt", case.display())) } else { expected_path };
        if update {
            std::fs::write(&expected_path, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != actual {
            failures.push(format!(
                "{} differs from {}:\n{}",
                case.display(),
                expected_path.display(),
                similar_diff(&expected, &actual)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} golden case(s) failed (UPDATE_EXPECT=1 rewrites them):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

fn similar_diff(a: &str, b: &str) -> String {
    let mut out = String::new();
    for (i, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        if x != y {
            out.push_str(&format!("line {}:\n- {x}\n+ {y}\n", i + 1));
        }
    }
    if a.lines().count() != b.lines().count() {
        out.push_str(&format!("(expected {} lines, got {})\n", a.lines().count(), b.lines().count()));
    }
    out
}

#[test]
fn ok_cases_parse_and_evaluate_as_recorded() {
    check_cases("ok", false);
}

#[test]
fn err_cases_report_the_recorded_diagnostics() {
    check_cases("err", true);
}

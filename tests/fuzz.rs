//! Fuzz targets, on proptest's generators: the parser, the evaluator, the
//! formatter, the variables-file reader, the plan-file reader and the state
//! reader. Each runs for `LANDFORM_FUZZ_SECONDS` (default 3) on generated
//! input and on byte-level mutations of it, and fails on any panic or broken
//! property, printing the input. A finding becomes a regression case in
//! `REGRESSIONS` below or in a test of its own.

mod common;
#[path = "../lang/tests/gen/mod.rs"]
mod gen;
use common::copy_dir;

use landform_engine::planner::{self, PlanContext, PlanOptions};
use landform_engine::render::{plan_json, render_plan, Colors};
use landform_engine::{Plan, Providers};
use landform_lang::check::{check_tree, resolve_variables, Input, InputValue};
use landform_lang::module::{load_tree, ModuleFs};
use landform_lang::parse::parse_file;
use landform_lang::{FileId, NoHost, SourceMap, Value};
use landform_state::{Change, ResourceRecord, SledStore, Snapshot, Storage};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn seconds() -> u64 {
    std::env::var("LANDFORM_FUZZ_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(3)
}

/// The longest one input may take before it counts as a hang.
const HANG: Duration = Duration::from_secs(10);

/// Run `check` on values from `strategy` until the time is up, on a thread
/// with the stack the `landform` binary gives its work (256 MiB). An input
/// that takes longer than [`HANG`] is a finding too: a watchdog prints it.
fn fuzz<S: Strategy>(
    name: &str,
    strategy: impl FnOnce() -> S + Send,
    check: impl Fn(&S::Value) -> Result<(), String> + Sync,
) where
    S::Value: std::fmt::Debug,
{
    let current = std::sync::Mutex::new((Instant::now(), String::new()));
    let finished = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while !finished.load(std::sync::atomic::Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(200));
                let guard = current.lock().unwrap_or_else(|e| e.into_inner());
                if guard.0.elapsed() > HANG {
                    eprintln!("fuzz {name}: an input took more than {HANG:?} (a hang):\n{}", guard.1);
                    std::process::exit(101);
                }
            }
        });
        let worker = std::thread::Builder::new().stack_size(256 << 20).spawn_scoped(scope, || {
            let strategy = strategy();
            let deadline = Instant::now() + Duration::from_secs(seconds());
            let mut runner = TestRunner::new(Config { failure_persistence: None, ..Config::default() });
            let mut cases = 0u64;
            while Instant::now() < deadline {
                let Ok(tree) = strategy.new_tree(&mut runner) else { continue };
                let value = tree.current();
                *current.lock().unwrap_or_else(|e| e.into_inner()) = (Instant::now(), format!("{value:?}"));
                match catch_unwind(AssertUnwindSafe(|| check(&value))) {
                    Ok(Ok(())) => {}
                    Ok(Err(why)) => panic!("fuzz {name}: {why}\ninput: {value:?}"),
                    Err(_) => panic!("fuzz {name}: panicked on input: {value:?}"),
                }
                cases += 1;
            }
            println!("fuzz {name}: {cases} cases in {} s, no finding", seconds());
        });
        let result = worker.expect("a fuzz thread starts").join();
        finished.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Err(e) = result {
            std::panic::resume_unwind(e);
        }
    });
}

/// Byte-level damage to a text: insertions of grammar characters, deletions
/// and duplications of ranges (which nest what they copy).
fn mutated(base: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
    let edit = (
        0usize..4,
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
        "[{}\\[\\]()\"$=,.?:!<>+*/%#\n -]{1,4}",
    );
    (base, prop::collection::vec(edit, 0..6)).prop_map(|(mut s, edits)| {
        for (kind, a, b, ins) in edits {
            let mut at = a.index(s.len() + 1);
            while !s.is_char_boundary(at) {
                at -= 1;
            }
            let mut to = (at + b.index(64)).min(s.len());
            while !s.is_char_boundary(to) {
                to -= 1;
            }
            match kind {
                0 => s.insert_str(at, &ins),
                1 => s.replace_range(at..to, ""),
                2 => {
                    let dup = s[at..to].repeat(1 + b.index(40));
                    s.insert_str(at, &dup);
                }
                _ => s.replace_range(at..to, &ins),
            }
        }
        s
    })
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => gen::file(),
        3 => mutated(gen::file()),
        1 => "[a-z0-9 \"{}\\[\\]()=,.:?!<>+*/%$#\n\t-]{0,300}",
    ]
}

#[test]
fn fuzz_parser() {
    fuzz("parser", text, |src| {
        let _ = parse_file(FileId(0), src);
        let _ = landform_lang::parse::parse_expr(FileId(0), src);
        Ok(())
    });
}

#[test]
fn fuzz_formatter() {
    fuzz("formatter", text, |src| {
        if let Ok(once) = landform_lang::fmt::format_source(src) {
            let twice = landform_lang::fmt::format_source(&once).map_err(|d| format!("formatted text fails: {d:?}"))?;
            if once != twice {
                return Err(format!("not idempotent:\n{once}\n---\n{twice}"));
            }
        }
        Ok(())
    });
}

struct OneDir(String);

impl ModuleFs for OneDir {
    fn read_module(&self, dir: &str) -> Result<Vec<(String, String)>, String> {
        if dir == "." {
            Ok(vec![("main.lf".into(), self.0.clone())])
        } else {
            Err("no such module".into())
        }
    }
}

/// Expressions over functions, operators and the locals around them.
fn evaluated() -> impl Strategy<Value = String> {
    let call = (prop::sample::select(landform_lang::functions::names()), prop::collection::vec(gen::expr(), 0..3))
        .prop_map(|(f, args)| format!("{f}({})", args.join(", ")));
    let value = prop_oneof![3 => gen::expr(), 2 => call, 1 => mutated(gen::expr())];
    prop::collection::vec(value, 1..6).prop_map(|exprs| {
        let mut s = "variable \"x\" {\n  default = [1, \"two\", { a = 3 }]\n}\nlocals {\n".to_string();
        for (i, e) in exprs.iter().enumerate() {
            s.push_str(&format!("  l{i} = {e}\n"));
        }
        s.push_str("  a = { b = [1, 2] }\n}\n");
        for i in 0..exprs.len() {
            s.push_str(&format!("output \"o{i}\" {{\n  value = local.l{i}\n}}\n"));
        }
        s
    })
}

#[test]
fn fuzz_evaluator() {
    fuzz("evaluator", evaluated, |src| {
        let mut sources = SourceMap::new();
        let (tree, _) = load_tree(&OneDir(src.clone()), ".", &mut sources);
        let _ = check_tree(&tree, &BTreeMap::new(), &NoHost);
        Ok(())
    });
}

const TYPED: &str = r#"
variable "s" {
  type = string
}
variable "n" {
  type = number
}
variable "l" {
  type = list(string)
}
variable "m" {
  type = map(number)
}
variable "o" {
  type = object({ a = string, b = list(number) })
}
variable "d" {
  type = duration
}
variable "any" {}
"#;

#[test]
fn fuzz_var_files() {
    let mut sources = SourceMap::new();
    let (tree, _) = load_tree(&OneDir(TYPED.into()), ".", &mut sources);
    const NAMES: &[&str] = &["s", "n", "l", "m", "o", "d", "any", "undeclared"];
    let strategy = || {
        let file = || {
            prop::collection::vec((prop::sample::select(NAMES), gen::expr()), 0..6)
                .prop_map(|attrs| attrs.iter().map(|(k, e)| format!("{k} = {e}\n")).collect::<String>())
        };
        let input = prop_oneof![3 => file(), 2 => mutated(file())];
        let raw = prop::collection::vec((prop::sample::select(NAMES), "[a-z0-9\\[\\]{}\", =.-]{0,20}"), 0..4);
        (input, raw)
    };
    fuzz("var-files", strategy, |(text, raw)| {
        let (parsed, _) = parse_file(FileId(0), text);
        let mut inputs = BTreeMap::new();
        for item in parsed.body.items {
            if let landform_lang::syntax::Item::Attribute(a) = item {
                inputs.insert(
                    a.name.name.clone(),
                    Input { value: InputValue::Expr(a.value), origin: "fuzz.lfvars".into() },
                );
            }
        }
        for (k, v) in raw {
            inputs.insert(k.to_string(), Input { value: InputValue::Raw(v.clone()), origin: "--var".into() });
        }
        let mut diags = Vec::new();
        let _ = resolve_variables(&tree.module, &inputs, &NoHost, &mut diags);
        Ok(())
    });
}

fn providers() -> Providers {
    let mut p = Providers::new();
    p.register(Arc::new(landform_provider_local::LocalProvider::new()));
    p
}

#[test]
fn fuzz_plan_files() {
    // A real plan, with every kind of change, as `plan --out` writes it.
    let config = r#"
variable "secret" {
  default   = "hidden"
  sensitive = true
}
resource "landform_data" "a" {
  input = { k = var.secret, n = [1, 2] }
}
resource "landform_data" "b" {
  count = 2
  input = "b${count.index}"
}
output "o" {
  value = landform_data.b[*].output
}
"#;
    let mut sources = SourceMap::new();
    let (tree, _) = load_tree(&OneDir(config.into()), ".", &mut sources);
    let (checked, _) = check_tree(&tree, &BTreeMap::new(), &NoHost);
    let providers = providers();
    let mut state = Snapshot::empty("default");
    state.resources.push(ResourceRecord {
        addr: "landform_data.gone".into(),
        mode: "managed".into(),
        type_name: "landform_data".into(),
        name: "gone".into(),
        module: String::new(),
        index_key: serde_json::Value::Null,
        provider: "local".into(),
        schema_version: 0,
        attributes: serde_json::from_str(r#"{"id":"x","input":"y","output":"y"}"#).unwrap(),
        sensitive_attributes: vec![],
        dependencies: vec![],
        create_before_destroy: false,
        private: Vec::new(),
    });
    let ctx = PlanContext {
        tree: &tree,
        sources: &sources,
        providers: &providers,
        host: &NoHost,
        state: &state,
        variables: checked.vars,
        progress: &landform_engine::refresh::Quiet,
    };
    let plan = planner::plan(&ctx, &PlanOptions { refresh: true, ..Default::default() }).expect("the plan is made");
    let json = serde_json::to_string_pretty(&plan).unwrap();
    let strategy = || {
        let flips = prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8);
        (flips, any::<prop::sample::Index>(), prop::bool::ANY)
    };
    fuzz("plan-files", strategy, |(flips, cut, truncate)| {
        let mut bytes = json.clone().into_bytes();
        for (at, b) in flips {
            let i = at.index(bytes.len());
            bytes[i] = *b;
        }
        if *truncate {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        if let Ok(plan) = serde_json::from_slice::<Plan>(&bytes) {
            let _ = render_plan(&plan, &Colors::NONE);
            let _ = plan_json(&plan, Some(&state), Some(&tree), Some(&providers));
            let _ = landform_engine::apply::check_plan_is_current(&plan, &sources, &state);
            let _ = plan.summary();
        }
        Ok(())
    });
}

fn record(i: usize) -> ResourceRecord {
    ResourceRecord {
        addr: format!("local_file.f[{i}]"),
        mode: "managed".into(),
        type_name: "local_file".into(),
        name: "f".into(),
        module: String::new(),
        index_key: serde_json::json!(i),
        provider: "local".into(),
        schema_version: 0,
        attributes: serde_json::from_value(serde_json::json!({ "id": format!("out/{i}"), "content": "x".repeat(i) }))
            .unwrap(),
        sensitive_attributes: vec![],
        dependencies: vec![],
        create_before_destroy: false,
        private: Vec::new(),
    }
}

#[test]
fn fuzz_state_reader() {
    // A state with a few commits behind it, and a backup; one plain, one encrypted.
    let base = std::env::temp_dir().join(format!("landform-fuzz-state-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let key = landform_state::StateKey::parse(&"5a".repeat(32)).unwrap();
    let crypts = [landform_state::Crypt::none(), landform_state::Crypt::with_key(key)];
    let make = |base: &std::path::Path, crypt: &landform_state::Crypt| {
        let (store, snap) = SledStore::open(base, "default", crypt).unwrap();
        store.save_backup(&snap).unwrap();
        for batch in 0..4 {
            let changes: Vec<Change> =
                (batch * 10..batch * 10 + 10).map(|i| Change::Put(Box::new(record(i)))).collect();
            store.commit(&changes).unwrap();
        }
        store.commit(&[Change::Delete("local_file.f[3]".into())]).unwrap();
        store.load().unwrap()
    };
    let good = make(&base.join("plain"), &crypts[0]);
    let sealed = make(&base.join("sealed"), &crypts[1]);
    assert_eq!((&sealed.resources, sealed.serial), (&good.resources, good.serial));
    let lineages = [good.lineage.clone(), sealed.lineage];
    let files: Vec<String> =
        ["db/db", "db/conf", "manifest.json", "backup.json"].into_iter().map(String::from).collect();
    let damage = || {
        (
            prop::sample::select(files),
            prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
            prop::option::of(any::<prop::sample::Index>()),
        )
    };
    let trial = std::sync::atomic::AtomicUsize::new(0);
    fuzz("state-reader", damage, |(file, flips, cut)| {
        let n = trial.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("landform-fuzz-state-{}-{n}", std::process::id()));
        let wdir = landform_state::workspace_dir(&dir, "default").unwrap();
        let crypt = &crypts[n % 2];
        copy_dir(&landform_state::workspace_dir(&base.join(["plain", "sealed"][n % 2]), "default").unwrap(), &wdir);
        let path = wdir.join(file);
        if let Ok(mut bytes) = std::fs::read(&path) {
            // Damage the written part of the file, not its zero padding.
            let used = bytes.iter().rposition(|b| *b != 0).map_or(bytes.len(), |p| p + 1).max(1);
            for (at, b) in flips {
                let i = at.index(used.min(bytes.len()).max(1)).min(bytes.len().saturating_sub(1));
                if !bytes.is_empty() {
                    bytes[i] = *b;
                }
            }
            if let Some(c) = cut {
                bytes.truncate(c.index(bytes.len() + 1));
            }
            std::fs::write(&path, bytes).unwrap();
        }
        let read = landform_state::read_snapshot(&dir, "default", crypt);
        let opened = SledStore::open(&dir, "default", crypt).map(|(_, s)| s);
        let _ = std::fs::remove_dir_all(&dir);
        // Read at all, the state must be exactly the good one: never a wrong state.
        for (what, got) in [("read_snapshot", read), ("open", opened)] {
            if let Ok(s) = got {
                if s.resources != good.resources || s.serial != good.serial || s.lineage != lineages[n % 2] {
                    return Err(format!(
                        "{what} read a wrong state after damage to {file}: {} resources at serial {}",
                        s.resources.len(),
                        s.serial
                    ));
                }
            }
        }
        Ok(())
    });
    let _ = std::fs::remove_dir_all(&base);
}

/// Inputs that fuzzing found, kept as regression cases.
const REGRESSIONS: &[&str] = &[
    // The formatter missed a heredoc's end followed by more of the expression,
    // and then added a newline at the end of the file on every run.
    "resource \"m\" {\n  text = <<-EOT\n    hello ${var.x}\n  EOT%[]\n}\n",
];

/// The fast parser retried a failed operand once per precedence level
/// around it: time exponential in the depth of nested failures.
#[test]
fn nested_failing_operands_parse_in_linear_time() {
    let src = format!("data {{\n   a = {}1", "x && lo/{a  = 1m /* c */ && lo/".repeat(60));
    let started = Instant::now();
    let (_, diags) = parse_file(FileId(0), &src);
    assert!(!diags.is_empty());
    assert!(started.elapsed() < Duration::from_secs(60), "took {:?}", started.elapsed());
}

/// pest backtracks through unclosed calls of objects of lists in time
/// exponential in their depth; its work is now bounded by the file's length.
#[test]
fn nested_unclosed_calls_are_reported_in_bounded_time() {
    let src = format!("{}m = f({{ name = [for x in \" \" : \"x\"] }})\n", "m = n4grr({ name = [forme]\n".repeat(60));
    let started = Instant::now();
    let (_, diags) = parse_file(FileId(0), &src);
    assert!(diags.iter().any(|d| d.summary.contains("syntax") || d.summary.contains("Unclosed")), "{diags:?}");
    assert!(started.elapsed() < Duration::from_secs(60), "took {:?}", started.elapsed());
}

#[test]
fn fuzz_findings_stay_fixed() {
    for src in REGRESSIONS {
        let _ = parse_file(FileId(0), src);
        if let Ok(once) = landform_lang::fmt::format_source(src) {
            assert_eq!(
                landform_lang::fmt::format_source(&once).ok(),
                Some(once.clone()),
                "fmt is not idempotent on {src:?}"
            );
        }
        let mut sources = SourceMap::new();
        let (tree, _) = load_tree(&OneDir(src.to_string()), ".", &mut sources);
        let _ = check_tree(&tree, &BTreeMap::new(), &NoHost);
    }
    let _ = Value::Null;
}

//! Golden apply tests: each directory under `tests/data/apply` holds a
//! configuration (`*.lf`), optionally a prior state (`state.json`, the `state
//! pull` format), objects that exist outside the state (`world.json`: a list
//! of `{"type", "attributes"}`, to import or adopt), how the provider behaves
//! (`provider.json`: by type, `fail_apply` (object names or instance
//! addresses) and `computed` values) and
//! plan options (`options.json`: `targets`, `replace`, `destroy`). The case is
//! planned and applied on the in-memory state with the recording provider,
//! one operation at a time; `calls.txt` holds what is expected: every
//! provider call in order, at plan and at apply, each with the address it
//! concerns, then the events apply reported as failed or skipped, the
//! resulting state and the report. `UPDATE_EXPECT=1` rewrites them; review
//! each sequence by hand against Terraform's rules before accepting it
//! (`APPLY_CASE=NAME` runs one case).
//!
//! The calls must be the expected ones, and in the expected order wherever
//! Terraform promises one: between the same instance, and between resources
//! one of which depends on the other (the state's and the plan's
//! `dependencies`). Independent operations may come in another order: the
//! walk runs them as they become ready. (This is stricter than Terraform's
//! graph, which orders operations, not resources: the destroy of a dependent
//! and the create of its create_before_destroy dependency, say, are not
//! ordered there; here they keep the order the expected file has.)

use landform_engine::apply::{apply, ApplyContext, Event, Progress};
use landform_engine::planner::{plan, PlanContext, PlanOptions};
use landform_engine::{Plan, Providers};
use landform_lang::module::{load_tree, ModuleFs};
use landform_lang::{NoHost, SourceMap};
use landform_provider::Object;
use landform_provider_recording::{compact, Behaviour, Call, RecordingProvider};
use landform_state::{Crypt, Locker, MemBackend, Snapshot, Storage};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

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

/// Apply's failures and skips, in the order reported.
#[derive(Default)]
struct Events(Mutex<Vec<String>>);

impl Progress for Events {
    fn event(&self, e: Event) {
        let line = match e {
            Event::Failed { addr, action, error } => format!("failed {addr} ({action:?}): {error}"),
            Event::Skipped { addr, because } => format!("skipped {addr}: {because}"),
            _ => return,
        };
        self.0.lock().unwrap().push(line);
    }
}

#[derive(Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Options {
    #[serde(default)]
    targets: Vec<String>,
    #[serde(default)]
    replace: Vec<String>,
    #[serde(default)]
    destroy: bool,
}

fn read_json<T: serde::de::DeserializeOwned>(case: &Path, name: &str) -> Option<T> {
    let text = std::fs::read_to_string(case.join(name)).ok()?;
    Some(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}/{name}: {e}", case.display())))
}

/// Which address a call concerns: by the object's id (the state after
/// apply, the plan's refreshed records, the prior state, in that order),
/// else by its type and `name` (the plan's changes and data reads).
struct Addresses {
    by_id: BTreeMap<String, String>,
    by_name: BTreeMap<(String, String), String>,
}

fn text_of(o: Option<&Object>, key: &str) -> Option<String> {
    o.and_then(|o| o.get(key)).and_then(Value::as_str).map(str::to_string)
}

impl Addresses {
    fn new(prior: &Snapshot, plan: Option<&Plan>, after: Option<&Snapshot>) -> Addresses {
        let mut a = Addresses { by_id: BTreeMap::new(), by_name: BTreeMap::new() };
        let refreshed = plan.map(|p| p.refreshed.as_slice()).unwrap_or_default();
        let after = after.map(|s| [s.resources.as_slice(), s.pending.as_slice()].concat()).unwrap_or_default();
        let prior_records = [prior.resources.as_slice(), prior.pending.as_slice()].concat();
        for records in [&prior_records, &refreshed.to_vec(), &after] {
            for r in records.iter() {
                if let Some(id) = text_of(Some(&r.attributes), "id") {
                    a.by_id.insert(id, r.addr.clone());
                }
                if let Some(name) = text_of(Some(&r.attributes), "name") {
                    a.by_name.insert((r.type_name.clone(), name), r.addr.clone());
                }
            }
        }
        if let Some(plan) = plan {
            for c in &plan.resource_changes {
                for o in [c.before.as_ref(), c.after.as_ref()] {
                    if let Some(name) = text_of(o, "name") {
                        a.by_name.insert((c.type_name.clone(), name), c.address.clone());
                    }
                }
            }
            for d in &plan.data_reads {
                if let (Some(name), Some(ty)) = (text_of(Some(&d.attributes), "name"), data_type(&d.address)) {
                    a.by_name.insert((ty, name), d.address.clone());
                }
            }
        }
        a
    }

    fn line(&self, c: &Call) -> String {
        let addr =
            c.id.as_ref()
                .and_then(|id| self.by_id.get(id))
                .or_else(|| c.name.as_ref().and_then(|n| self.by_name.get(&(c.type_name.clone(), n.clone()))))
                .map_or("?", String::as_str);
        let mut line = format!("{} {addr}", c.op.word());
        if let Some(id) = &c.id {
            line.push_str(&format!(" id={id}"));
        }
        if let Some(config) = &c.config {
            line.push_str(&format!(" {}", compact(config)));
        }
        format!("{line} -> {}", c.outcome)
    }
}

/// `test_data` of `data.test_data.x` (inside modules too).
fn data_type(addr: &str) -> Option<String> {
    let addr = landform_engine::ResourceAddr::parse(addr).ok()?;
    Some(addr.type_name.clone())
}

/// The state, without its serial: how many commits an apply makes depends
/// on which results arrive together.
fn summary(snap: &Snapshot) -> String {
    let mut out = String::new();
    for r in &snap.resources {
        let mut attrs = r.attributes.clone();
        attrs.remove("id");
        let id = text_of(Some(&r.attributes), "id").unwrap_or_default();
        out.push_str(&format!("{} id={id} {}", r.addr, compact(&attrs)));
        if !r.dependencies.is_empty() {
            out.push_str(&format!(" deps={}", r.dependencies.join(",")));
        }
        if r.create_before_destroy {
            out.push_str(" cbd");
        }
        if !r.sensitive_attributes.is_empty() {
            out.push_str(&format!(" sensitive={}", r.sensitive_attributes.join(",")));
        }
        out.push('\n');
    }
    for r in &snap.pending {
        out.push_str(&format!("pending {} {}\n", r.addr, compact(&r.attributes)));
    }
    for (name, o) in &snap.outputs {
        out.push_str(&format!("output {name} = {}{}\n", o.value, if o.sensitive { " (sensitive)" } else { "" }));
    }
    // Each rollout's progress, without its times.
    for (name, r) in &snap.rollouts {
        let Some(r) = landform_engine::rollout::RolloutRecord::from_state(Some(r)) else { continue };
        out.push_str(&format!(
            "rollout {name} {} step={} weights={} baseline={}{}\n",
            r.phase,
            r.step,
            Value::Object(r.weights),
            Value::Object(r.baseline),
            r.reason.map(|why| format!(" reason={why}")).unwrap_or_default()
        ));
    }
    out
}

/// The provider's behaviour from `provider.json`: `fail_apply` lists object
/// names or instance addresses (an address names the object the plan has
/// there, so it takes effect at apply).
fn set_behaviour(provider: &RecordingProvider, behaviour: &BTreeMap<String, Value>, plan: Option<&Plan>) {
    for (ty, b) in behaviour {
        let name_at = |addr: &str| {
            let c = plan?.resource_changes.iter().find(|c| c.address == addr)?;
            text_of(c.after.as_ref().or(c.before.as_ref()), "name")
        };
        let fail_apply = b["fail_apply"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|f| name_at(f).unwrap_or_else(|| f.to_string()))
            .collect();
        let computed = b["computed"].as_object().cloned().unwrap_or_default();
        provider.set_behaviour(ty, Behaviour { fail_apply, computed });
    }
}

fn run(case: &Path) -> (String, Deps) {
    let mut sources = SourceMap::new();
    let (tree, diags) = load_tree(&CaseFs(case.to_path_buf()), ".", &mut sources);
    assert!(diags.is_empty(), "{}: {diags:?}", case.display());
    let (checked, diags) = landform_lang::check::check_tree(&tree, &BTreeMap::new(), &NoHost);
    assert!(diags.is_empty(), "{}: {diags:?}", case.display());
    let seed: Snapshot = read_json(case, "state.json").unwrap_or_else(|| Snapshot {
        lineage: "00000000-0000-4000-a000-000000000000".into(),
        ..Snapshot::empty("default")
    });
    let options: Options = read_json(case, "options.json").unwrap_or_default();

    let (provider, behaviour) = recording_provider(case, &seed);
    let mut providers = Providers::new();
    providers.register(provider.clone());

    // The state as an operation sees it: its lock held, the store opened under it.
    let backend = MemBackend::seeded(&seed).unwrap();
    let lock = backend.locker("default").lock("apply", Duration::ZERO).unwrap();
    let (store, prior) = backend.open_locked("default", &Crypt::none(), &lock.info).unwrap();
    let store = Arc::new(store);

    let ctx = PlanContext {
        tree: &tree,
        sources: &sources,
        providers: &providers,
        host: &NoHost,
        state: &prior,
        variables: checked.vars.clone(),
        progress: &landform_engine::refresh::Quiet,
    };
    let opts = PlanOptions {
        refresh: true,
        destroy: options.destroy,
        targets: options.targets.iter().map(|t| landform_engine::addr::Target::parse(t).unwrap()).collect(),
        replace: options.replace.iter().map(|t| landform_engine::ResourceAddr::parse(t).unwrap()).collect(),
        parallelism: 1,
        ..Default::default()
    };
    let planned = plan(&ctx, &opts);
    let plan_calls = provider.take_calls();
    let mut out = String::from("# plan: provider calls\n");
    let p = match planned {
        Ok(p) => p,
        Err(d) => {
            let names = Addresses::new(&prior, None, None);
            for c in &plan_calls {
                out.push_str(&names.line(c));
                out.push('\n');
            }
            out.push_str("# plan failed\n");
            out.push_str(&landform_lang::diag::render_all(&d, &sources, landform_lang::diag::Style::PLAIN));
            return (out, Deps::default());
        }
    };

    // Failures asked for by address name the planned object now.
    set_behaviour(&provider, &behaviour, Some(&p));
    let events = Arc::new(Events::default());
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let report = rt.block_on(async {
        let ctx = ApplyContext {
            tree: &tree,
            sources: &sources,
            providers: &providers,
            host: &NoHost,
            storage: store.clone(),
            state: prior.clone(),
            variables: checked.vars.clone(),
            parallelism: 1,
            stop: Arc::new(AtomicBool::new(false)),
            measure: None,
            abort_requested: None,
        };
        apply(ctx, &p, events.clone()).await
    });
    let apply_calls = provider.take_calls();
    let after = store.load().unwrap();
    if std::env::var_os("APPLY_DUMP_STATE").is_some() {
        eprintln!("{}", serde_json::to_string_pretty(&after).unwrap());
    }
    let names = Addresses::new(&prior, Some(&p), Some(&after));
    for c in &plan_calls {
        out.push_str(&names.line(c));
        out.push('\n');
    }
    describe_plan(&mut out, &p);
    out.push_str("# apply: provider calls\n");
    for c in &apply_calls {
        out.push_str(&names.line(c));
        out.push('\n');
    }
    describe_outcome(&mut out, &events, &after, &report, &provider);
    (out, deps_of(&prior, &after, &p))
}

/// The recording provider of a case: the prior state's objects and
/// `world.json`'s exist, `provider.json` says how it behaves.
fn recording_provider(case: &Path, seed: &Snapshot) -> (Arc<RecordingProvider>, BTreeMap<String, Value>) {
    let provider = Arc::new(RecordingProvider::new());
    for r in seed.resources.iter().filter(|r| r.mode == "managed" && r.provider == RecordingProvider::NAME) {
        provider.put_object(&r.type_name, r.attributes.clone());
    }
    let world: Vec<Value> = read_json(case, "world.json").unwrap_or_default();
    for o in world {
        provider.put_object(o["type"].as_str().unwrap(), o["attributes"].as_object().unwrap().clone());
    }
    let behaviour: BTreeMap<String, Value> = read_json(case, "provider.json").unwrap_or_default();
    set_behaviour(&provider, &behaviour, None);
    (provider, behaviour)
}

/// The plan's changes and rollouts, a line each.
fn describe_plan(out: &mut String, p: &Plan) {
    out.push_str("# plan: changes\n");
    for c in p.resource_changes.iter().filter(|c| c.is_shown()) {
        out.push_str(&format!("{:?} {}", c.action, c.address));
        if let Some(from) = &c.previous_address {
            out.push_str(&format!(" (moved from {from})"));
        }
        if let Some(id) = &c.importing {
            out.push_str(&format!(" (importing {id})"));
        }
        out.push('\n');
    }
    for r in &p.rollouts {
        out.push_str(&format!(
            "Rollout rollout.{} on {}: {} -> {}, steps {:?}\n",
            r.name,
            r.switch,
            Value::Object(r.from.clone()),
            Value::Object(r.to.clone()),
            r.steps
        ));
    }
}

/// What apply did: its failures and skips, the state after it, its report,
/// and any object the provider holds that the state does not record.
fn describe_outcome(
    out: &mut String,
    events: &Events,
    after: &Snapshot,
    report: &landform_engine::apply::ApplyReport,
    provider: &RecordingProvider,
) {
    // Independent operations may finish in any order: the events are sorted.
    let mut events = events.0.lock().unwrap().clone();
    events.sort();
    if !events.is_empty() {
        out.push_str("# apply: failed and skipped\n");
        for e in events.iter() {
            out.push_str(e);
            out.push('\n');
        }
    }
    out.push_str("# state after apply\n");
    out.push_str(&summary(after));
    out.push_str("# report\n");
    out.push_str(&report.counts());
    out.push('\n');
    for (addr, e) in &report.errors {
        out.push_str(&format!("error {addr}: {e}\n"));
    }
    for r in &report.rollouts {
        out.push_str(&format!("{r}\n"));
    }
    for d in &report.diagnostics {
        out.push_str(&format!("{:?}: {}: {}\n", d.severity, d.summary, d.detail.replace('\n', " ")));
    }
    // The objects the provider holds are the ones the state records.
    let held: Vec<String> = provider.objects().keys().cloned().collect();
    let recorded: Vec<String> = after
        .resources
        .iter()
        .filter_map(|r| text_of(Some(&r.attributes), "id"))
        .filter(|id| !id.ends_with(".data"))
        .collect();
    let mut recorded_sorted = recorded.clone();
    recorded_sorted.sort();
    if held != recorded_sorted {
        out.push_str(&format!("# objects that exist: {}\n", held.join(", ")));
    }
}

/// What depends on what, from the states before and after and the plan.
fn deps_of(prior: &Snapshot, after: &Snapshot, p: &Plan) -> Deps {
    let mut deps = Deps::default();
    for r in prior.resources.iter().chain(&after.resources).chain(&p.refreshed) {
        deps.add(&r.addr, &r.dependencies);
    }
    for c in &p.resource_changes {
        deps.add(&c.address, &c.dependencies);
    }
    deps.switches.extend(p.rollouts.iter().map(|r| r.switch.clone()));
    deps
}

/// What depends on what, resource by resource (the state's and the plan's
/// `dependencies`): the order Terraform promises is between these, never
/// between independent resources, nor between instances of one resource.
#[derive(Default)]
struct Deps {
    /// What each resource depends on.
    on: BTreeMap<String, BTreeSet<String>>,
    /// The switches of the plan's rollouts.
    switches: BTreeSet<String>,
}

/// The resource of an instance address: `test_thing.n[1]` → `test_thing.n`.
fn resource_of(addr: &str) -> &str {
    match addr.strip_suffix(']').and_then(|a| a.rfind('[')) {
        Some(i) => &addr[..i],
        None => addr,
    }
}

impl Deps {
    fn add(&mut self, addr: &str, on: &[String]) {
        self.on.entry(resource_of(addr).to_string()).or_default().extend(on.iter().cloned());
    }

    fn reaches(&self, from: &str, to: &str) -> bool {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_string()];
        while let Some(a) = stack.pop() {
            for d in self.on.get(&a).into_iter().flatten() {
                if d == to {
                    return true;
                }
                if seen.insert(d.clone()) {
                    stack.push(d.clone());
                }
            }
        }
        false
    }

    /// Must these two calls keep their order? Calls about instances of
    /// dependent resources do, except a dependent's destroy and its
    /// dependency's plan, create or update: Terraform orders the destroy of
    /// `b` (which uses `a`) only before `a`'s own destroy (`b_d -> a_d -> a ->
    /// b`), so it may run before or after `a` is updated or its new object is
    /// made. (An unknown address, `?`, keeps its place.) At apply, the calls
    /// about a rollout's switch keep their place among all others: a rollout
    /// runs after every resource change (`switches`).
    fn ordered(&self, x: &str, y: &str, apply: bool) -> bool {
        let (a, b) = (call_addr(x), call_addr(y));
        if a == b || a == "?" || b == "?" {
            return true;
        }
        if apply && (self.switches.contains(resource_of(a)) || self.switches.contains(resource_of(b))) {
            return true;
        }
        let (ra, rb) = (resource_of(a), resource_of(b));
        let destroy = |l: &str| l.starts_with("delete ");
        if ra == rb {
            return false;
        }
        if self.reaches(ra, rb) {
            // `x` is about the dependent.
            return !destroy(x) || destroy(y);
        }
        if self.reaches(rb, ra) {
            return !destroy(y) || destroy(x);
        }
        false
    }
}

/// The address of a call line: `create test_thing.a id=… -> ok`.
fn call_addr(line: &str) -> &str {
    line.split(' ').nth(1).unwrap_or("?")
}

/// `# HEADER` sections of a calls.txt.
fn sections(text: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for line in text.lines() {
        match line.strip_prefix("# ") {
            Some(h) => out.push((h.to_string(), Vec::new())),
            None => match out.last_mut() {
                Some((_, lines)) => lines.push(line.to_string()),
                None => out.push((String::new(), vec![line.to_string()])),
            },
        }
    }
    out
}

/// Why `actual` is not `expected`: every section the same, except that in
/// the provider calls, calls about independent resources may come in
/// another order (a walk runs them as they become ready).
fn mismatch(expected: &str, actual: &str, deps: &Deps) -> Option<String> {
    let (exp, act) = (sections(expected), sections(actual));
    let headers = |s: &[(String, Vec<String>)]| s.iter().map(|(h, _)| h.clone()).collect::<Vec<_>>();
    if headers(&exp) != headers(&act) {
        return Some("the sections differ".into());
    }
    for ((header, want), (_, got)) in exp.iter().zip(&act) {
        if !header.contains("provider calls") {
            if want != got {
                return Some(format!("section \"{header}\" differs"));
            }
            continue;
        }
        let (mut w, mut g) = (want.clone(), got.clone());
        w.sort();
        g.sort();
        if w != g {
            return Some(format!("section \"{header}\" has other calls"));
        }
        // The k-th occurrence of a line in one is the k-th in the other.
        let position = |lines: &[String], i: usize| {
            let k = lines[..i].iter().filter(|l| **l == lines[i]).count();
            got.iter().enumerate().filter(|(_, l)| **l == lines[i]).nth(k).map(|(j, _)| j)
        };
        for i in 0..want.len() {
            for j in i + 1..want.len() {
                let apply = header.starts_with("apply");
                if deps.ordered(&want[i], &want[j], apply) && position(want, i) > position(want, j) {
                    return Some(format!(
                        "in \"{header}\", `{}` must come before `{}` (one depends on the other)",
                        want[i], want[j]
                    ));
                }
            }
        }
    }
    None
}

#[test]
fn applies_make_the_recorded_provider_calls_in_order() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/apply");
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut cases: Vec<PathBuf> =
        std::fs::read_dir(&root).unwrap().filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir()).collect();
    cases.sort();
    // `APPLY_CASE=NAME` runs one case.
    match std::env::var("APPLY_CASE") {
        Ok(only) => cases.retain(|c| c.file_name().is_some_and(|n| n.to_string_lossy() == only)),
        Err(_) => assert!(cases.len() >= 15, "expected the apply fixtures, found {}", cases.len()),
    }
    assert!(!cases.is_empty(), "no case to run");
    let mut failures = Vec::new();
    for case in cases {
        let (actual, deps) = run(&case);
        let path = case.join("calls.txt");
        if update {
            std::fs::write(&path, &actual).unwrap();
        } else {
            let expected = std::fs::read_to_string(&path).unwrap_or_default();
            if let Some(why) = mismatch(&expected, &actual, &deps) {
                let diff = similar::TextDiff::from_lines(&expected, &actual)
                    .unified_diff()
                    .header("expected", "actual")
                    .to_string();
                failures.push(format!("{}: {why}:\n{diff}", path.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{}\n(UPDATE_EXPECT=1 rewrites them; review each by hand)", failures.join("\n\n"));
}

/// The comparison lets independent calls trade places and nothing else.
#[test]
fn the_comparison_refuses_a_dependent_out_of_order_and_accepts_independent_reorders() {
    let mut deps = Deps::default();
    deps.add("test_thing.c", &["test_thing.a".to_string()]);
    let expected = "# apply: provider calls\ncreate test_thing.a -> ok\ncreate test_thing.b -> ok\ncreate test_thing.c -> ok\n# report\n3 added\n";
    let independent = "# apply: provider calls\ncreate test_thing.b -> ok\ncreate test_thing.a -> ok\ncreate test_thing.c -> ok\n# report\n3 added\n";
    assert_eq!(mismatch(expected, independent, &deps), None);
    let dependent = "# apply: provider calls\ncreate test_thing.c -> ok\ncreate test_thing.a -> ok\ncreate test_thing.b -> ok\n# report\n3 added\n";
    assert!(mismatch(expected, dependent, &deps).is_some_and(|m| m.contains("must come before")));
    let missing = "# apply: provider calls\ncreate test_thing.a -> ok\ncreate test_thing.c -> ok\n# report\n3 added\n";
    assert!(mismatch(expected, missing, &deps).is_some());
    let report = "# apply: provider calls\ncreate test_thing.a -> ok\ncreate test_thing.b -> ok\ncreate test_thing.c -> ok\n# report\n2 added\n";
    assert!(mismatch(expected, report, &deps).is_some());
    // Instances of one resource are independent of each other; one instance keeps its own order.
    let expected = "# apply: provider calls\nplan test_thing.n[1] -> create\ncreate test_thing.n[1] -> ok\ndelete test_thing.n[2] -> ok\n";
    let swapped = "# apply: provider calls\ndelete test_thing.n[2] -> ok\nplan test_thing.n[1] -> create\ncreate test_thing.n[1] -> ok\n";
    assert_eq!(mismatch(expected, swapped, &deps), None);
    let inverted = "# apply: provider calls\ncreate test_thing.n[1] -> ok\nplan test_thing.n[1] -> create\ndelete test_thing.n[2] -> ok\n";
    assert!(mismatch(expected, inverted, &deps).is_some());
    // A dependent's destroy and its dependency's update may trade places
    // (b_d -> a_d -> a -> b); the dependency's destroy waits for the dependent's.
    let expected = "# apply: provider calls\ndelete test_thing.c -> ok\nupdate test_thing.a -> ok\n";
    let swapped = "# apply: provider calls\nupdate test_thing.a -> ok\ndelete test_thing.c -> ok\n";
    assert_eq!(mismatch(expected, swapped, &deps), None);
    let expected = "# apply: provider calls\ndelete test_thing.c -> ok\ndelete test_thing.a -> ok\n";
    let inverted = "# apply: provider calls\ndelete test_thing.a -> ok\ndelete test_thing.c -> ok\n";
    assert!(mismatch(expected, inverted, &deps).is_some());
    let expected = "# apply: provider calls\ncreate test_thing.c -> ok\ndelete test_thing.a -> ok\n";
    let inverted = "# apply: provider calls\ndelete test_thing.a -> ok\ncreate test_thing.c -> ok\n";
    assert!(mismatch(expected, inverted, &deps).is_some());
    // A rollout's switch: its calls at apply come after every resource change, independent or not.
    deps.switches.insert("test_switch.lb".to_string());
    let expected = "# apply: provider calls\nupdate test_thing.b -> ok\nupdate test_switch.lb -> ok\n";
    let early = "# apply: provider calls\nupdate test_switch.lb -> ok\nupdate test_thing.b -> ok\n";
    assert!(mismatch(expected, early, &deps).is_some_and(|m| m.contains("must come before")));
}

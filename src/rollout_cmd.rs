//! `landform rollout status|promote|abort|rollback NAME`: where a rollout
//! stands (its record in the state, and the switch's weights as the real world
//! has them); a gate passed; all traffic back on the stable pool in one
//! operation, recorded in the state.

use crate::run::{self, PlanArgs};
use crate::{print_diagnostics, ui, CommonArgs, VarArgs};
use clap::Subcommand;
use landform_engine::rollout::{now_secs, pct, pool, read_weights, write_weights, RolloutRecord};
use landform_state::Change;

#[derive(Subcommand)]
pub enum RolloutCmd {
    /// Where a rollout stands: its phase, the switch's weights now, the steps
    /// taken, the last analysis values and why it stopped.
    Status {
        name: String,
        #[command(flatten)]
        vars: VarArgs,
    },
    /// Pass the gate a rollout waits at, and go on with it now.
    Promote {
        name: String,
        #[command(flatten)]
        vars: VarArgs,
        /// POST rollout events to this URL (as apply --notify).
        #[arg(long, value_name = "URL", env = "LANDFORM_NOTIFY", hide_env_values = true)]
        notify: Vec<String>,
    },
    /// Put all traffic back on the stable pool now, from any step, and record it.
    Abort {
        name: String,
        #[command(flatten)]
        vars: VarArgs,
        /// Move the traffic even when the switch reports the stable pool
        /// unhealthy (HAProxy: DOWN, MAINT, DRAIN): every request it gets
        /// fails until it is up again.
        #[arg(long)]
        force: bool,
        /// POST the rollout's event to this URL (as apply --notify).
        #[arg(long, value_name = "URL", env = "LANDFORM_NOTIFY", hide_env_values = true)]
        notify: Vec<String>,
    },
    /// Run a rollout that stopped (rolled back or aborted) again, from its
    /// first step, for the same release: a stopped rollout is otherwise not
    /// run again until its release (the rollout block) changes.
    Retry {
        name: String,
        #[command(flatten)]
        vars: VarArgs,
        /// POST rollout events to this URL (as apply --notify).
        #[arg(long, value_name = "URL", env = "LANDFORM_NOTIFY", hide_env_values = true)]
        notify: Vec<String>,
    },
    /// After a rollout completed, within its rollback window: all traffic
    /// back on the stable pool in one operation, recorded. The rollout is
    /// then stopped: no apply runs it again until its release changes or
    /// `rollout retry`.
    Rollback {
        name: String,
        #[command(flatten)]
        vars: VarArgs,
        /// Move the traffic even when the switch reports the stable pool
        /// unhealthy (HAProxy: DOWN, MAINT, DRAIN): every request it gets
        /// fails until it is up again.
        #[arg(long)]
        force: bool,
        /// POST the rollout's event to this URL (as apply --notify).
        #[arg(long, value_name = "URL", env = "LANDFORM_NOTIFY", hide_env_values = true)]
        notify: Vec<String>,
    },
}

/// After a retry or a promotion is recorded: go on with the rollout now,
/// unless the configuration has other changes for a person to review first.
fn go_on(
    cfg: &run::Config,
    held: &run::OpenState,
    plan: &landform_engine::Plan,
    vars: &VarArgs,
    notify: &[String],
    after: &str,
    color: bool,
) -> u8 {
    let others = plan.resource_changes.iter().filter(|c| c.action != landform_engine::Action::NoOp).count();
    if others > 0 {
        crate::outln!("The configuration has {others} other change(s): run `landform apply` to review them; {after}.");
        return 0;
    }
    let (snapshot, plan) = match held.storage.load() {
        Ok(s) => match run::make_plan(cfg, &s, &plan_args(vars), color) {
            Ok(p) => (s, p),
            Err(code) => return code,
        },
        Err(e) => {
            crate::errln!("{}", ui::error_line(&e.to_string(), color));
            return 1;
        }
    };
    let how = run::RunHow { parallelism: 10, no_progress: true, notify: notify.to_vec() };
    run::apply_plan(cfg, held, snapshot, plan, &how, color)
}

fn plan_args(vars: &VarArgs) -> PlanArgs {
    PlanArgs::quiet(vars.clone(), false)
}

/// A switch's weights as its record has them, read through its provider's
/// `TrafficSwitch` (with default settings: reading calls no server).
fn switch_weights(switch: &landform_state::ResourceRecord) -> serde_json::Map<String, serde_json::Value> {
    let providers = run::schema_providers();
    providers
        .for_record(&switch.provider, false, &switch.type_name)
        .and_then(|(p, _)| read_weights(p.as_ref(), &switch.type_name, &switch.attributes))
        .unwrap_or_default()
}

fn words(w: &serde_json::Map<String, serde_json::Value>) -> String {
    w.iter().map(|(k, v)| format!("{} = {v}", pool(k))).collect::<Vec<_>>().join(", ")
}

/// The canary's share of the whole switch.
fn share(rec: &RolloutRecord, w: &serde_json::Map<String, serde_json::Value>) -> f64 {
    landform_engine::rollout::whole_share(w, &rec.canary)
}

pub fn run(common: &CommonArgs, cmd: RolloutCmd, color: bool) -> u8 {
    let force = matches!(cmd, RolloutCmd::Abort { force: true, .. } | RolloutCmd::Rollback { force: true, .. });
    let (name, vars, op) = match &cmd {
        RolloutCmd::Status { name, vars } => (name, vars, "status"),
        RolloutCmd::Promote { name, vars, .. } => (name, vars, "promote"),
        RolloutCmd::Abort { name, vars, .. } => (name, vars, "abort"),
        RolloutCmd::Rollback { name, vars, .. } => (name, vars, "rollback"),
        RolloutCmd::Retry { name, vars, .. } => (name, vars, "retry"),
    };
    let fail = |msg: &str| {
        crate::errln!("{}", ui::error_line(msg, color));
        1
    };
    let cfg = match run::load_config(vars, color) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if !cfg.tree.module.rollouts.iter().any(|r| &r.name == name) {
        let known: Vec<&str> = cfg.tree.module.rollouts.iter().map(|r| r.name.as_str()).collect();
        return fail(&format!(
            "the configuration has no rollout \"{name}\"{}",
            if known.is_empty() { String::new() } else { format!("; its rollouts are: {}", known.join(", ")) }
        ));
    }
    // An abort while an apply runs the rollout: ask that apply, which looks
    // for the request every 200 ms and rolls back at once. With a local
    // state this needs no lock (the apply holds it): the request is a file
    // beside the state, and the outcome is read from the state as it is
    // committed. With PostgreSQL the request is a row, seen by an apply on
    // any machine, and the lock is waited for. A request is for the run under
    // way when it was made: one left behind never aborts a later run.
    let ws_dir = match landform_state::workspace_dir(&run::state_dir(common), &common.workspace) {
        Ok(d) => d,
        Err(e) => return fail(&e.to_string()),
    };
    let request = landform_state::abort_request_file(&ws_dir, name);
    let pg = run::pg_target(common).and_then(Result::ok);
    let mut common = common.clone();
    let holder = if pg.is_none() { lock_holder(&common) } else { None };
    if op == "abort" && pg.is_none() {
        if let Some(h) = holder.as_ref().filter(|h| !h.is_stale()) {
            return abort_running(&common, name, &request, h, color);
        }
    }
    if op == "abort" {
        if let Some(t) = &pg {
            let who = format!("{}@{}", whoami(), hostname());
            let asked = landform_state::now_rfc3339();
            if let Err(e) = landform_state::PgStore::request_abort(t, &common.workspace, name, &who) {
                return fail(&format!("cannot ask a running apply to abort: {e}"));
            }
            // An apply on any machine that runs the rollout takes the request
            // within 200 ms and commits its outcome: read it as soon as it is
            // there, without waiting for that apply to end and free the lock.
            if let Some(code) = pg_abort_outcome(&common, t, name, &asked) {
                let _ = landform_state::PgStore::clear_abort(t, &common.workspace, name);
                return code;
            }
            common.lock_timeout = common.lock_timeout.max(std::time::Duration::from_secs(10));
        }
    }
    // `status` reads the state as it is, without the lock: it works while an apply runs.
    if op == "status" {
        let snapshot = match run::read_state(&common, color) {
            Ok(s) => s,
            Err(code) => return code,
        };
        let plan = match run::make_plan(&cfg, &snapshot, &plan_args(vars), color) {
            Ok(p) => p,
            Err(code) => return code,
        };
        let pending = plan.rollouts.iter().find(|r| &r.name == name).cloned();
        let rec = RolloutRecord::from_state(snapshot.rollouts.get(name.as_str())).or_else(|| {
            pending.as_ref().map(|r| RolloutRecord { phase: "not started".into(), ..RolloutRecord::new_run(r) })
        });
        let Some(rec) = rec else {
            return fail(&format!(
                "rollout.{name} has not run yet: its switch is created by the next apply, which starts it from the one after"
            ));
        };
        let Some(switch) =
            plan.refreshed.iter().chain(snapshot.resources.iter()).find(|x| x.addr == rec.switch).cloned()
        else {
            return fail(&format!("rollout.{name}: its switch {} is not in the state", rec.switch));
        };
        let weights = switch_weights(&switch);
        let done = share(&rec, &weights);
        let running = match (&pg, &holder) {
            (Some(_), _) => Running::Unknown,
            (None, Some(h)) if !h.is_stale() => {
                Running::By(format!("{} by {}, pid {}, since {}", h.operation, h.who, h.pid, h.created))
            }
            (None, _) => Running::Nobody,
        };
        status(name, &rec, pending.as_ref(), &weights, done, &running);
        return 0;
    }
    let opened = run::open_and_load(&common, &format!("rollout {op}"), color);
    // Whoever acted on it, the request is settled now. When the state is
    // still held, it stays for the operation that holds it, which aborts the
    // rollout when it runs it.
    if op == "abort" {
        if let Some(t) = &pg {
            if opened.is_ok() {
                let _ = landform_state::PgStore::clear_abort(t, &common.workspace, name);
            } else {
                crate::errln!(
                    "The abort request stays: the operation that holds the state aborts rollout.{name} when it runs it (it looks every 200 ms); a later run of the rollout ignores it."
                );
            }
        }
    }
    let (held, snapshot) = match opened {
        Ok(x) => x,
        Err(code) => return code,
    };
    let plan = match run::make_plan(&cfg, &snapshot, &plan_args(vars), color) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let pending = plan.rollouts.iter().find(|r| &r.name == name).cloned();
    // What the state records; else (nothing has run yet) what the plan would start.
    let rec = RolloutRecord::from_state(snapshot.rollouts.get(name.as_str())).or_else(|| {
        pending.as_ref().map(|r| RolloutRecord { phase: "not started".into(), ..RolloutRecord::new_run(r) })
    });
    let Some(mut rec) = rec else {
        return fail(&format!(
            "rollout.{name} has not run yet: its switch is created by the next apply, which starts it from the one after"
        ));
    };
    // The switch as refresh found it just now.
    let Some(mut switch) =
        plan.refreshed.iter().chain(snapshot.resources.iter()).find(|x| x.addr == rec.switch).cloned()
    else {
        return fail(&format!("rollout.{name}: its switch {} is not in the state", rec.switch));
    };
    let weights = switch_weights(&switch);
    let done = share(&rec, &weights);
    match cmd {
        RolloutCmd::Status { .. } => 0,
        RolloutCmd::Retry { ref notify, .. } => {
            if !landform_engine::rollout::STOPPED.contains(&rec.phase.as_str()) {
                return fail(&format!(
                    "rollout.{name} is not stopped (it is {}); retry runs a rollout that rolled back or was aborted again",
                    rec.phase
                ));
            }
            let who = format!("{}@{}", whoami(), hostname());
            rec.phase = "retry".into();
            rec.reason = Some(format!("retry asked by {who} at {}", landform_state::now_rfc3339()));
            rec.updated = landform_state::now_rfc3339();
            if let Err(e) = held.storage.commit(&[Change::Rollout(name.clone(), Some(rec.to_json()))]) {
                return fail(&format!("the retry could not be recorded: {e}"));
            }
            crate::outln!("rollout.{name}: retried by {who}: it runs again from its first step");
            go_on(&cfg, &held, &plan, vars, notify, "it runs the rollout after them", color)
        }
        RolloutCmd::Promote { ref notify, .. } => {
            let Some(gate) = rec.waiting.filter(|_| rec.phase == "paused") else {
                return fail(&format!(
                    "rollout.{name} is not waiting at a gate (it is {}); promote passes a gate an apply stopped at",
                    rec.phase
                ));
            };
            rec.promoted.push(gate);
            rec.updated = landform_state::now_rfc3339();
            let who = format!("{}@{}", whoami(), hostname());
            if let Err(e) = held.storage.commit(&[Change::Rollout(name.clone(), Some(rec.to_json()))]) {
                return fail(&format!("the promotion could not be recorded: {e}"));
            }
            crate::outln!("rollout.{name}: promoted past the gate at {} by {who}", pct(gate));
            go_on(&cfg, &held, &plan, vars, notify, "it goes on with the rollout after them", color)
        }
        RolloutCmd::Abort { .. } | RolloutCmd::Rollback { .. } => {
            let rollback = op == "rollback";
            if rollback && done < 1.0 - 1e-9 && rec.phase != "complete" {
                return fail(&format!(
                    "rollout.{name} is not complete ({} on {}): `landform rollout abort {name}` puts traffic back while it runs",
                    pct(done),
                    pool(&rec.canary)
                ));
            }
            // After completion an abort is a rollback: the same window holds.
            if rollback || (rec.phase == "complete" && done >= 1.0 - 1e-9) {
                if let Some(until) = rec.rollback_until {
                    if now_secs() > until {
                        return fail(&format!(
                            "rollout.{name}'s rollback window closed {} ago: {} may no longer be ready for traffic. To go back, make {} the canary in the configuration and apply.",
                            landform_lang::value::format_duration((now_secs() - until) * 1000),
                            pool(&rec.stable),
                            pool(&rec.stable)
                        ));
                    }
                }
            }
            // A switch changed outside Landform is taken back even with no traffic on the canary.
            let drifted = !weights.contains_key(&rec.stable) || !weights.contains_key(&rec.canary);
            if done <= 1e-9 && !drifted {
                if rec.phase == "aborted"
                    && rec.reason.as_deref().is_some_and(|r| r.starts_with("aborted by `landform rollout abort`"))
                    && op == "abort"
                {
                    crate::outln!(
                        "rollout.{name}: aborted: the apply that was running it put all traffic back on {}.",
                        pool(&rec.stable)
                    );
                } else {
                    crate::outln!("rollout.{name}: nothing to {op}: all traffic is on {} already.", pool(&rec.stable));
                }
                return 0;
            }
            let providers = match run::providers_for(&cfg.tree, &cfg.variables) {
                Ok(p) => p,
                Err(d) => {
                    print_diagnostics(&d, &cfg.sources, color);
                    return 1;
                }
            };
            let Some((provider, _)) = providers.for_record(&switch.provider, false, &switch.type_name) else {
                return fail(&format!("no provider for {}", rec.switch));
            };
            // Traffic goes back only to a pool that can take it, unless a person insists.
            let health = provider.sample(landform_provider::SampleRequest {
                type_name: &switch.type_name,
                state: &switch.attributes,
                target: &rec.stable,
                counts: false,
            });
            if let Ok(Some(landform_provider::Sample { healthy: Some(false), .. })) = health {
                if !force {
                    return fail(&format!(
                        "rollout.{name}: {} is not healthy ({} reports it down, in maintenance or draining): all traffic on it would fail, so the weights are left as they are ({{ {} }}). `landform rollout {op} {name} --force` moves all traffic to it anyway, and every request fails until it is up again.",
                        pool(&rec.stable),
                        rec.switch,
                        words(&weights)
                    ));
                }
                crate::errln!(
                    "Warning: {} is not healthy; --force: all traffic is moved to it anyway, and every request fails until it is up again.",
                    pool(&rec.stable)
                );
            }
            // Through the switch's provider, as apply would, in one operation:
            // the weights the run started from (every other server too).
            let back = if rec.baseline.is_empty() {
                let total = weights.get(&rec.canary).and_then(serde_json::Value::as_f64).unwrap_or(0.0)
                    + weights.get(&rec.stable).and_then(serde_json::Value::as_f64).unwrap_or(0.0);
                let mut back = weights.clone();
                back.insert(rec.canary.clone(), serde_json::json!(0));
                back.insert(rec.stable.clone(), serde_json::json!(total.max(1.0) as i64));
                back
            } else {
                let max = provider.switch(&switch.type_name).map_or(0, |s| s.max_weight());
                landform_engine::rollout::weights_for(max, &rec.baseline, &rec.stable, &rec.canary, 0.0)
            };
            let config = write_weights(provider.as_ref(), &switch.type_name, &switch.attributes, &back);
            let result = provider.apply(landform_provider::ApplyRequest {
                type_name: &switch.type_name,
                prior: Some(&switch.attributes),
                config: Some(&config),
                planned: None,
                prior_private: &switch.private,
            });
            match result {
                Ok(resp) => {
                    if let Some(now) = resp.state {
                        switch.attributes = now;
                        switch.private = resp.private;
                    }
                    rec.weights =
                        read_weights(provider.as_ref(), &switch.type_name, &switch.attributes).unwrap_or_default();
                    rec.phase = if rollback { "rolled_back" } else { "aborted" }.into();
                    rec.waiting = None;
                    rec.reason = Some(format!(
                        "{} by {}@{} at {}",
                        if rollback { "rolled back" } else { "aborted" },
                        whoami(),
                        hostname(),
                        landform_state::now_rfc3339()
                    ));
                    rec.updated = landform_state::now_rfc3339();
                    if let Some(warning) =
                        landform_engine::rollout::isolate_canary(provider.as_ref(), &switch, &mut rec)
                    {
                        crate::errln!("Warning: rollout.{name}: {warning}");
                    }
                    let _ = held.storage.save_backup(&snapshot);
                    let changes = [Change::Put(Box::new(switch)), Change::Rollout(name.clone(), Some(rec.to_json()))];
                    if let Err(e) = held.storage.commit(&changes) {
                        return fail(&format!("the weights are set, but the state could not record them: {e}"));
                    }
                    crate::outln!(
                        "rollout.{name}: {}: all traffic is on {} again (was {{ {} }}).",
                        if rollback { "rolled back" } else { "aborted" },
                        pool(&rec.stable),
                        words(&weights)
                    );
                    // The same webhook message an apply sends when it rolls back.
                    let urls = match &cmd {
                        RolloutCmd::Abort { notify, .. } | RolloutCmd::Rollback { notify, .. } => notify.clone(),
                        _ => Vec::new(),
                    };
                    if !urls.is_empty() {
                        let n = crate::notify::Notifier::new(std::sync::Arc::new(Silent), urls);
                        use landform_engine::apply::Progress;
                        n.event(landform_engine::apply::Event::Rollout {
                            name: name.clone(),
                            event: if rollback { "rolled_back" } else { "aborted" }.into(),
                            record: rec.to_json(),
                        });
                        n.finish(std::time::Duration::from_secs(10));
                    }
                    0
                }
                Err(e) => fail(&format!("rollout.{name}: the {op} failed: {e}")),
            }
        }
    }
}

/// Events already said by the command itself.
struct Silent;

impl landform_engine::apply::Progress for Silent {
    fn event(&self, _: landform_engine::apply::Event) {}
}

/// Whether an operation holds the state (and so may be running the rollout).
enum Running {
    By(String),
    Nobody,
    Unknown,
}

/// After an abort request on PostgreSQL: wait (up to 2 minutes) until either
/// an apply that runs the rollout committed its end — the outcome, as exit
/// code, once said — or the lock is free, so that this command acts itself
/// (`None`).
fn pg_abort_outcome(common: &CommonArgs, target: &landform_state::PgTarget, name: &str, asked: &str) -> Option<u8> {
    let start = std::time::Instant::now();
    loop {
        let stopped = run::read_state_quiet(common)
            .ok()
            .and_then(|s| RolloutRecord::from_state(s.rollouts.get(name)))
            .filter(|r| r.updated.as_str() >= asked && landform_engine::rollout::STOPPED.contains(&r.phase.as_str()));
        if let Some(rec) = stopped {
            if rec.phase == "rollback_failed" {
                crate::errln!("Error: rollout.{name}: {}", rec.reason.unwrap_or_default());
                return Some(1);
            }
            crate::outln!(
                "rollout.{name}: aborted: the apply that was running it put all traffic back on {} ({}).",
                pool(&rec.stable),
                rec.reason.unwrap_or_default()
            );
            return Some(0);
        }
        let wait = std::time::Duration::from_millis(200);
        match landform_state::PgLock::take(target, &common.workspace, "rollout abort", wait) {
            // Nobody holds the state: nobody runs the rollout; this command does it.
            Ok(lock) => {
                drop(lock);
                return None;
            }
            Err(_) if start.elapsed() < std::time::Duration::from_secs(120) => continue,
            Err(_) => return None,
        }
    }
}

/// Who holds a local state's lock, as its lock file says.
fn lock_holder(common: &CommonArgs) -> Option<landform_state::LockInfo> {
    let path = run::state_dir(common).join(format!("{}.lock", common.workspace));
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

/// `rollout abort` while an apply holds the state: leave the request for it
/// and watch the state until its record says the rollout stopped.
fn abort_running(
    common: &CommonArgs,
    name: &str,
    request: &std::path::Path,
    holder: &landform_state::LockInfo,
    color: bool,
) -> u8 {
    let fail = |msg: &str| {
        crate::errln!("{}", ui::error_line(msg, color));
        1
    };
    let asked = landform_state::now_rfc3339();
    if let Err(e) = std::fs::write(request, &asked) {
        return fail(&format!("cannot ask the running apply to abort: {}: {e}", request.display()));
    }
    // The record once the apply committed the rollout's end (a read may
    // fail while the apply writes: it is tried again).
    let outcome = || {
        run::read_state_quiet(common)
            .ok()
            .and_then(|s| RolloutRecord::from_state(s.rollouts.get(name)))
            .filter(|r| r.updated >= asked && landform_engine::rollout::STOPPED.contains(&r.phase.as_str()))
    };
    let report = |rec: RolloutRecord| {
        if rec.phase == "rollback_failed" {
            return fail(&format!("rollout.{name}: {}", rec.reason.unwrap_or_default()));
        }
        crate::outln!(
            "rollout.{name}: aborted: the apply that was running it put all traffic back on {} ({}).",
            pool(&rec.stable),
            rec.reason.unwrap_or_default()
        );
        0
    };
    let start = std::time::Instant::now();
    while start.elapsed() < std::time::Duration::from_secs(30) {
        std::thread::sleep(std::time::Duration::from_millis(100));
        if let Some(rec) = outcome() {
            return report(rec);
        }
        // The apply ended: its last commit is readable now.
        if lock_holder(common).is_none_or(|h| h.id != holder.id) {
            std::thread::sleep(std::time::Duration::from_millis(100));
            if let Some(rec) = outcome() {
                return report(rec);
            }
            let _ = std::fs::remove_file(request);
            return fail(&format!(
                "the {} that held the state ended without running rollout.{name}; run `landform rollout abort {name}` again to abort it yourself",
                holder.operation
            ));
        }
    }
    fail(&format!(
        "asked the running {} ({}, pid {}) to abort rollout.{name} at {asked}, but it has not done so within 30 s: it does at its next check while it runs the rollout (every 200 ms); the request stays for that run",
        holder.operation, holder.who, holder.pid
    ))
}

fn status(
    name: &str,
    rec: &RolloutRecord,
    pending: Option<&landform_engine::rollout::RolloutPlan>,
    weights: &serde_json::Map<String, serde_json::Value>,
    done: f64,
    running: &Running,
) {
    // The record says `running` from the moment a run starts; whether an
    // operation still runs it is the lock's to say.
    let phase = match (rec.phase.as_str(), running) {
        ("running", Running::By(who)) => format!("running ({who})"),
        ("running", Running::Nobody) => {
            "interrupted: the apply that ran it stopped without finishing (killed?): the next apply resumes at this step and analyses it again before going on".to_string()
        }
        (p, _) => p.to_string(),
    };
    let mut out = format!(
        "rollout.{name} on {}: {} at {}, {} at {} ({{ {} }})\n  phase:    {}",
        rec.switch,
        pool(&rec.canary),
        pct(done),
        pool(&rec.stable),
        pct(landform_engine::rollout::whole_share(weights, &rec.stable)),
        words(weights),
        phase
    );
    if !weights.contains_key(&rec.stable) || !weights.contains_key(&rec.canary) {
        out.push_str(&format!(
            "\n  changed:  {} was changed outside Landform: it {}, not a weighted forward to {} and {}; `landform rollout abort {name}` puts all traffic back on {}",
            rec.switch,
            if weights.is_empty() { "moves traffic to no pool".to_string() } else { format!("forwards to {{ {} }}", words(weights)) },
            pool(&rec.stable),
            pool(&rec.canary),
            pool(&rec.stable)
        ));
    }
    if done >= 1.0 - 1e-9 {
        out.push_str(&format!("\n  complete: all traffic on {}", pool(&rec.canary)));
        match rec.rollback_until {
            Some(until) if now_secs() <= until => out.push_str(&format!(
                "; `landform rollout rollback {name}` puts it back on {} for {} more",
                pool(&rec.stable),
                landform_lang::value::format_duration((until - now_secs()) * 1000)
            )),
            Some(_) => out.push_str("; its rollback window has closed"),
            None => {
                out.push_str(&format!("; `landform rollout rollback {name}` puts it back on {}", pool(&rec.stable)))
            }
        }
    } else if rec.phase == "rollback_failed" {
        out.push_str(&format!(
            "\n  stopped:  the rollback failed: traffic may still reach {}; check {}, then `landform rollout abort {name}`",
            pool(&rec.canary),
            rec.switch
        ));
    } else if landform_engine::rollout::STOPPED.contains(&rec.phase.as_str()) {
        out.push_str(&format!(
            "\n  stopped:  no apply runs it again for this release; a new release (a change to the rollout block) or `landform rollout retry {name}` does"
        ));
    } else {
        let steps =
            if rec.steps.is_empty() { pending.map(|p| p.steps.clone()).unwrap_or_default() } else { rec.steps.clone() };
        let next = steps.iter().position(|p| *p > done + 1e-9).map_or(steps.len(), |i| i + 1);
        out.push_str(&format!(
            "\n  steps:    {} — next: step {next} of {}{}",
            steps.iter().map(|s| pct(*s)).collect::<Vec<_>>().join(", "),
            steps.len(),
            if rec.phase == "paused" {
                format!(" (waiting for `landform rollout promote {name}`)")
            } else if done > 1e-9 {
                " (an apply resumes here)".to_string()
            } else {
                " (not started)".to_string()
            }
        ));
    }
    if !rec.analysis.is_empty() {
        let metrics = pending.map(|p| p.metrics.clone()).unwrap_or_default();
        let values: Vec<String> = rec
            .analysis
            .iter()
            .map(|(k, v)| match (rec.analysis_shown.get(k), metrics.iter().find(|m| &m.name == k)) {
                (Some(shown), _) => format!("{k} = {shown}"),
                (None, Some(m)) => format!("{k} = {}", m.shown(*v)),
                (None, None) => format!("{k} = {v}"),
            })
            .collect();
        out.push_str(&format!("\n  analysis: {} (last values)", values.join(", ")));
    }
    if let Some(why) = &rec.reason {
        out.push_str(&format!("\n  reason:   {why}"));
    }
    if !rec.updated.is_empty() {
        out.push_str(&format!("\n  updated:  {}", rec.updated));
    }
    crate::outln!("{out}");
}

fn whoami() -> String {
    std::env::var("USER").or_else(|_| std::env::var("USERNAME")).unwrap_or_else(|_| "someone".into())
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

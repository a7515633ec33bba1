//! Running a rollout inside apply: each step's weights through the switch's
//! provider and read back until the switch reports them, committed with the
//! rollout's record, then the canary analysed for the pause; a failure sets
//! all traffic back on the stable pool. `blue_green` analyses the idle pool
//! through its own address first, then switches all traffic at once. A gate
//! stops the rollout until a person promotes it. (Planning rollouts is
//! `crate::rollout`.)

use super::*;
use crate::rollout::{
    from_switch, pct, pool, read_weights, share, weights_at, write_weights, RolloutPlan, RolloutRecord,
};
use landform_provider::Provider;

type Weights = serde_json::Map<String, serde_json::Value>;

/// How long a weight change may take to show when read back (ALB updates
/// are eventually consistent).
const READ_BACK: Duration = Duration::from_secs(30);

fn same_weights(a: &Weights, b: &Weights) -> bool {
    let n = |w: &Weights, k: &str| w.get(k).and_then(serde_json::Value::as_f64).unwrap_or(0.0);
    a.keys().chain(b.keys()).all(|k| (n(a, k) - n(b, k)).abs() < 1e-9)
}

/// A metric's value in its unit, for people.
fn shown(m: &crate::rollout::MetricSpec, x: f64) -> String {
    m.shown(x)
}

/// The probability of seeing canary values at least this much larger than
/// the stable pool's if both came from one distribution: a one-sided
/// Mann-Whitney U test, normal approximation with ties corrected (as Kayenta
/// judges a canary). `None` with fewer than three samples on a side.
pub fn mann_whitney_greater(canary: &[f64], stable: &[f64]) -> Option<f64> {
    let (n1, n2) = (canary.len(), stable.len());
    if n1 < 3 || n2 < 3 {
        return None;
    }
    let mut all: Vec<(f64, bool)> =
        canary.iter().map(|v| (*v, true)).chain(stable.iter().map(|v| (*v, false))).collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut ranks = vec![0.0; all.len()];
    let mut ties = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j + 1 < all.len() && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for r in ranks.iter_mut().take(j + 1).skip(i) {
            *r = rank;
        }
        let t = (j - i + 1) as f64;
        ties += t * t * t - t;
        i = j + 1;
    }
    let r1: f64 = all.iter().zip(&ranks).filter(|((_, c), _)| *c).map(|(_, r)| r).sum();
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let u = r1 - n1f * (n1f + 1.0) / 2.0;
    let n = n1f + n2f;
    let var = n1f * n2f / 12.0 * ((n + 1.0) - ties / (n * (n - 1.0)));
    if var <= 0.0 {
        return Some(1.0); // every value the same: no difference
    }
    let z = (u - n1f * n2f / 2.0 - 0.5) / var.sqrt();
    Some(0.5 * erfc(z / std::f64::consts::SQRT_2))
}

/// The complementary error function (Numerical Recipes' erfcc, |error| < 1.2e-7).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.26551223
            + t * (1.00002368
                + t * (0.37409196
                    + t * (0.09678418
                        + t * (-0.18628806
                            + t * (0.27886807
                                + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))))
            .exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// Which metrics an analysis looks at.
#[derive(Clone, Copy, PartialEq)]
enum Phase {
    /// After a canary step, or blue_green after its switch: every metric
    /// (blue_green: only those the switch measures, the others ran before).
    Step,
    /// blue_green before the switch: the idle pool through its own address
    /// (http and prometheus metrics; the switch has no traffic to count yet).
    Idle,
    /// blue_green after the switch.
    AfterSwitch,
}

/// One step's analysis under way: the metrics it judges, and what each showed so far.
struct Analysis<'a> {
    r: &'a RolloutPlan,
    provider: &'a Arc<dyn Provider>,
    switch: &'a ResourceRecord,
    phase: Phase,
    /// `rollout.NAME`, as messages name it.
    addr: String,
    metrics: Vec<&'a crate::rollout::MetricSpec>,
    /// Whether a metric reads the switch's counters.
    counted: bool,
    /// Whether a metric compares the canary with the stable pool.
    compared: bool,
    /// The canary's and the stable pool's counters at the last sample.
    last: Option<landform_provider::Sample>,
    last_stable: Option<landform_provider::Sample>,
    errors_in_row: u32,
    /// How many conclusive samples each metric had.
    conclusive: Vec<u32>,
    /// Whether each metric's last conclusive sample was within its bounds.
    passing: Vec<bool>,
    /// Since when each metric is out of bounds, while its `for` window judges it.
    breach: Vec<Option<std::time::Instant>>,
    /// The error rates of the intervals with traffic on both pools.
    canary_series: Vec<f64>,
    stable_series: Vec<f64>,
    /// When the step's pause is over.
    end: std::time::Instant,
    /// When the step fails unless every metric has passed.
    deadline: std::time::Instant,
    told_waiting: bool,
}

impl Analysis<'_> {
    /// Why the step failed at its progress deadline: a metric without a passing sample.
    fn inconclusive(&self) -> String {
        let r = self.r;
        let i = self.passing.iter().position(|p| !*p).unwrap_or(0);
        let m = self.metrics[i];
        let why = match m.source.as_str() {
            _ if self.conclusive[i] > 0 => "its last sample did not pass and no passing sample came".to_string(),
            _ if m.response_time => format!("{} answered too few requests to tell its response time", pool(&r.canary)),
            source if from_switch(source) => format!("{} received no requests", pool(&r.canary)),
            "prometheus" => format!("the query {} returned no data", m.shown_query()),
            _ => "no probe got an answer".to_string(),
        };
        format!(
            "analysis inconclusive: metric {}: {why} within the progress deadline of {}, and a metric without data never passes",
            m.name,
            landform_lang::value::format_duration(r.progress_deadline_ms)
        )
    }
}

/// What one interval of an analysis measured.
#[derive(Default)]
struct Interval {
    /// The error rates over the interval, from the switch's counters.
    rate: Option<(f64, u64)>,
    /// The interval's mean response time, as bounds (seconds).
    response: Option<(f64, f64, f64)>,
    /// What each metric showed, for the live line.
    live: Vec<String>,
    /// The interval's (last) measurement error.
    errored: Option<String>,
}

/// Why a rollout stops when a person aborts it from another process.
const ABORTED: &str = "aborted by `landform rollout abort`";

/// How often a waiting rollout looks for an abort request.
const ABORT_POLL: Duration = Duration::from_millis(200);

/// How long a rollback is retried while the switch cannot be reached.
const ROLL_BACK_FOR: Duration = Duration::from_secs(300);

/// One rollout being run: its plan (with the switch's `max_weight`), the
/// switch's provider, the switch's record as last committed, and the
/// rollout's own record.
struct Run {
    r: RolloutPlan,
    /// `rollout.NAME`, as messages name it.
    addr: String,
    provider: Arc<dyn Provider>,
    current: ResourceRecord,
    rec: RolloutRecord,
    /// The canary's share when the run started (or resumed).
    done: f64,
}

impl Run {
    /// The switch's weights as last committed.
    fn weights(&self) -> Weights {
        read_weights(self.provider.as_ref(), &self.current.type_name, &self.current.attributes).unwrap_or_default()
    }
}

impl Runner<'_, '_> {
    fn abort_requested(&self, name: &str, run_started: &str) -> bool {
        self.ctx.abort_requested.as_ref().is_some_and(|f| f(name, run_started))
    }

    /// Sleep `d`, looking for an abort request (and Ctrl-C) every 200 ms, so
    /// that an abort lands within a fraction of a second whatever the
    /// interval. Whether an abort was asked for.
    async fn wait_or_abort(&self, name: &str, run_started: &str, d: Duration) -> bool {
        let end = std::time::Instant::now() + d;
        loop {
            if self.abort_requested(name, run_started) {
                return true;
            }
            let left = end.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() || self.stopping() {
                return false;
            }
            tokio::time::sleep(left.min(ABORT_POLL)).await;
        }
    }

    fn record_change(&self, name: &str, rec: &RolloutRecord) -> Change {
        Change::Rollout(name.to_string(), Some(rec.to_json()))
    }

    fn tell(&self, r: &RolloutPlan, event: &str, rec: &RolloutRecord) {
        self.progress.event(Event::Rollout { name: r.name.clone(), event: event.to_string(), record: rec.to_json() });
    }

    /// Set the switch's weights through its provider, then read them back
    /// until the switch reports them (or a deadline passes).
    async fn set_weights(
        &self,
        provider: &Arc<dyn Provider>,
        switch: &ResourceRecord,
        w: Weights,
    ) -> Result<serde_json::Map<String, serde_json::Value>, String> {
        let cfg = write_weights(provider.as_ref(), &switch.type_name, &switch.attributes, &w);
        let (p, rec) = (provider.clone(), switch.clone());
        let now = tokio::task::spawn_blocking(move || {
            p.apply(landform_provider::ApplyRequest {
                type_name: &rec.type_name,
                prior: Some(&rec.attributes),
                config: Some(&cfg),
                planned: None,
                prior_private: &rec.private,
            })
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?
        .state
        .ok_or_else(|| "the provider returned no state".to_string())?;
        let deadline = std::time::Instant::now() + READ_BACK;
        loop {
            let (p, t, prior, private) =
                (provider.clone(), switch.type_name.clone(), now.clone(), switch.private.clone());
            let read = tokio::task::spawn_blocking(move || {
                p.read(landform_provider::ReadRequest { type_name: &t, prior: &prior, private: &private })
            })
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("reading the weights back failed: {e}"))?;
            let seen = match read {
                landform_provider::ReadResponse::Unchanged => read_weights(provider.as_ref(), &switch.type_name, &now),
                landform_provider::ReadResponse::Changed(o) => read_weights(provider.as_ref(), &switch.type_name, &o),
                landform_provider::ReadResponse::Gone => return Err(format!("{} is gone", switch.addr)),
            }
            .unwrap_or_default();
            if same_weights(&seen, &w) {
                return Ok(now);
            }
            if std::time::Instant::now() >= deadline {
                return Err(format!(
                    "the switch still reports {{ {} }} {}s after the change",
                    seen.iter().map(|(k, v)| format!("{k} = {v}")).collect::<Vec<_>>().join(", "),
                    READ_BACK.as_secs()
                ));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Run one rollout.
    pub(super) async fn rollout(
        &mut self,
        r: &RolloutPlan,
        state: &mut HashMap<String, ResourceRecord>,
        report: &mut ApplyReport,
    ) {
        crate::rollout::remember_secrets(r);
        let Some(mut run) = self.begin(r, state, report) else { return };
        if !self.reanalyse_resumed(&mut run, state, report).await {
            return;
        }
        // The steps ahead: those whose weights give the canary more than it has.
        let steps: Vec<(usize, f64)> = run
            .r
            .steps
            .iter()
            .copied()
            .enumerate()
            .filter(|(_, p)| share(&run.r, &weights_at(&run.r, *p)) > run.done + 1e-9)
            .collect();
        for (i, p) in steps {
            if !self.take_step(&mut run, i, p, state, report).await {
                return;
            }
        }
        if self.stopping() {
            report.interrupted = true;
            return;
        }
        self.complete(&mut run, report);
    }

    /// The run of `r` on its switch: the one the state records, gone on
    /// with, or a new one. Recorded before any weight moves: a run killed
    /// between a weight change and its commit resumes with the weights it
    /// started from. `None` when it cannot run (said in `report`).
    fn begin(
        &mut self,
        r: &RolloutPlan,
        state: &HashMap<String, ResourceRecord>,
        report: &mut ApplyReport,
    ) -> Option<Run> {
        let addr = format!("rollout.{}", r.name);
        let Some(current) = state.get(&r.switch).cloned() else {
            report.errors.push((addr, format!("its switch {} is not in the state", r.switch)));
            return None;
        };
        let Some((provider, _)) = self.ctx.providers.for_record(&current.provider, false, &current.type_name) else {
            report.errors.push((addr, format!("no provider for {}", r.switch)));
            return None;
        };
        let provider = provider.clone();
        let Some(max_weight) = provider.switch(&current.type_name).map(|s| s.max_weight()) else {
            report.errors.push((addr, format!("{} is not a traffic switch its provider knows", r.switch)));
            return None;
        };
        // The switch's provider says how fine its weights are (a plan saved
        // before plans carried it says nothing).
        let r = RolloutPlan { max_weight, ..r.clone() };
        let weights = read_weights(provider.as_ref(), &current.type_name, &current.attributes).unwrap_or_default();
        let done = share(&r, &weights);
        let (rec, isolated) = self.run_record(&r, weights);
        let mut run = Run { r, addr, provider, current, rec, done };
        // What an earlier abort or rollback cut off takes traffic again.
        if !isolated.is_empty() {
            let failed = crate::rollout::restore_isolated(run.provider.as_ref(), &run.current, &isolated);
            for (target, e) in &failed {
                self.progress.event(Event::Message(format!(
                    "{}: {} is still cut off from traffic since the last rollback: {e}",
                    run.addr,
                    pool(target)
                )));
            }
            run.rec.isolated = failed.into_iter().map(|(t, _)| t).collect();
        }
        let started_event = if done > 1e-9 { "resumed" } else { "started" };
        if done > 1e-9 {
            self.progress.event(Event::Message(format!(
                "{}: resuming at {} on {} (a step already taken is not taken again)",
                run.addr,
                pct(done),
                pool(&run.r.canary)
            )));
        }
        if !self.commit(vec![self.record_change(&run.r.name, &run.rec)], report) {
            return None;
        }
        self.tell(&run.r, started_event, &run.rec);
        Some(run)
    }

    /// The record of the run of `r` from the switch's `weights`: the run the
    /// state records when it is under way for these pools, else a new one;
    /// with the targets an earlier abort or rollback cut off from traffic.
    fn run_record(&self, r: &RolloutPlan, weights: Weights) -> (RolloutRecord, Vec<String>) {
        let now = landform_state::now_rfc3339();
        // Go on with the run the state records, or start a new one.
        let recorded = RolloutRecord::from_state(self.ctx.state.rollouts.get(&r.name));
        let isolated = recorded.as_ref().map(|rec| rec.isolated.clone()).unwrap_or_default();
        let mut rec = match recorded {
            Some(rec)
                if rec.canary == r.canary
                    && rec.stable == r.stable
                    && (rec.phase == "running" || rec.phase == "paused") =>
            {
                rec
            }
            _ => RolloutRecord { started: now.clone(), ..RolloutRecord::new_run(r) },
        };
        rec.steps = r.steps.clone();
        rec.strategy = r.strategy.clone();
        if rec.baseline.is_empty() {
            rec.baseline = r.baseline.clone();
        }
        rec.release = r.release.clone();
        rec.weights = weights;
        rec.phase = "running".into();
        rec.waiting = None;
        rec.reason = None;
        rec.updated = now;
        (rec, isolated)
    }

    /// Resumed at a step a killed apply committed: its analysis may never
    /// have run (or not to the end), so it is analysed again before any
    /// step ahead is taken. Whether the run goes on.
    async fn reanalyse_resumed(
        &mut self,
        run: &mut Run,
        state: &mut HashMap<String, ResourceRecord>,
        report: &mut ApplyReport,
    ) -> bool {
        if run.done > 1e-9 && run.done < 1.0 - 1e-9 {
            self.progress
                .event(Event::Message(format!("{}: analysing the step it resumes at again before going on", run.addr)));
            let phase = if run.r.strategy == "blue_green" { Phase::AfterSwitch } else { Phase::Step };
            let result =
                self.analyse(&run.r, &run.provider, &run.current, std::time::Instant::now(), phase, &mut run.rec).await;
            if self.stopping() {
                report.interrupted = true;
                return false;
            }
            if let Err(why) = result {
                self.roll_back(run, state, report, &why).await;
                return false;
            }
        }
        true
    }

    /// The step to `p` (the `i`th): unless the apply stops, a person aborts,
    /// a gate waits or the canary is not healthy, its weights set, committed
    /// and analysed; a failure rolls back. Whether the run goes on.
    async fn take_step(
        &mut self,
        run: &mut Run,
        i: usize,
        p: f64,
        state: &mut HashMap<String, ResourceRecord>,
        report: &mut ApplyReport,
    ) -> bool {
        if self.stopping() {
            report.interrupted = true;
            return false;
        }
        if self.abort_requested(&run.r.name, &run.rec.started) {
            self.abort(run, state, report).await;
            return false;
        }
        // A gate: a person decides.
        let gated = run.r.gates.iter().any(|g| (g - p).abs() < 1e-9);
        if gated && !run.rec.promoted.iter().any(|g| (g - p).abs() < 1e-9) {
            self.pause_at_gate(run, p, report);
            return false;
        }
        // Traffic moves only to a pool that can take it.
        if let Err(why) = self.healthy(&run.r, &run.provider, &run.current).await {
            self.unhealthy(run, why, state, report).await;
            return false;
        }
        if !self.analyse_idle(run, report).await {
            return false;
        }
        let started = std::time::Instant::now();
        let failure = match self.set_weights(&run.provider, &run.current, weights_at(&run.r, p)).await {
            Ok(now) => {
                if !self.commit_step(run, i, now, state, report) {
                    return false;
                }
                let phase = if run.r.strategy == "blue_green" { Phase::AfterSwitch } else { Phase::Step };
                self.analyse(&run.r, &run.provider, &run.current, started, phase, &mut run.rec).await.err()
            }
            Err(e) => Some(format!("setting the weights failed: {e}")),
        };
        if let Some(why) = failure {
            self.roll_back(run, state, report, &why).await;
            return false;
        }
        true
    }

    /// A gate before the step to `p`: the run pauses, recorded, until a person promotes it.
    fn pause_at_gate(&mut self, run: &mut Run, p: f64, report: &mut ApplyReport) {
        let (r, addr) = (&run.r, &run.addr);
        run.rec.phase = "paused".into();
        run.rec.waiting = Some(p);
        run.rec.updated = landform_state::now_rfc3339();
        if !self.commit(vec![self.record_change(&r.name, &run.rec)], report) {
            return;
        }
        self.progress.event(Event::Message(format!(
            "{addr}: paused before {} on {}: run `landform rollout promote {}` to go on, or `landform rollout abort {}`",
            pct(p),
            pool(&r.canary),
            r.name,
            r.name
        )));
        self.tell(r, "paused", &run.rec);
        report.rollouts.push(format!(
            "rollout.{} paused before {} (landform rollout promote {})",
            r.name,
            pct(p),
            r.name
        ));
    }

    /// The canary is not healthy (`why`): traffic it has already goes back
    /// to the stable pool; with none moved, the run is blocked.
    async fn unhealthy(
        &mut self,
        run: &mut Run,
        why: String,
        state: &mut HashMap<String, ResourceRecord>,
        report: &mut ApplyReport,
    ) {
        if share(&run.r, &run.weights()) > 1e-9 {
            // It has traffic already: that goes back to the stable pool.
            self.roll_back(run, state, report, &why).await;
            return;
        }
        // No traffic moved: not a verdict on the release; the next apply tries again.
        let why = format!("{why}; the weights are left as they were");
        self.fail(&run.r, &mut run.rec, &why, report);
        run.rec.phase = "blocked".into();
        let change = self.record_change(&run.r.name, &run.rec);
        self.commit(vec![change], report);
        self.progress.event(Event::Message(format!("{}: {why}", run.addr)));
    }

    /// blue_green: the idle pool passes its checks before any traffic
    /// moves. Whether the run goes on.
    async fn analyse_idle(&mut self, run: &mut Run, report: &mut ApplyReport) -> bool {
        let r = &run.r;
        if r.strategy == "blue_green" && r.metrics.iter().any(|m| !from_switch(&m.source)) {
            self.progress.event(Event::Message(format!(
                "{}: analysing {} through its own address before the switch",
                run.addr,
                pool(&r.canary)
            )));
            if let Err(why) =
                self.analyse(r, &run.provider, &run.current, std::time::Instant::now(), Phase::Idle, &mut run.rec).await
            {
                let why = format!("{why}; traffic never moved: all of it is on {}", pool(&r.stable));
                self.fail(r, &mut run.rec, &why, report);
                return false;
            }
            if self.stopping() {
                report.interrupted = true;
                return false;
            }
        }
        true
    }

    /// The switch's attributes `now`, with the `i`th step's weights set:
    /// committed with the rollout's record, and told. Whether they were committed.
    fn commit_step(
        &mut self,
        run: &mut Run,
        i: usize,
        now: Weights,
        state: &mut HashMap<String, ResourceRecord>,
        report: &mut ApplyReport,
    ) -> bool {
        run.current.attributes = now;
        run.rec.step = i + 1;
        run.rec.weights = run.weights();
        run.rec.updated = landform_state::now_rfc3339();
        let changes = vec![Change::Put(Box::new(run.current.clone())), self.record_change(&run.r.name, &run.rec)];
        if !self.commit(changes, report) {
            return false;
        }
        state.insert(run.current.addr.clone(), run.current.clone());
        // Each server's true share of the switch, the canary first.
        let (r, now) = (&run.r, run.weights());
        let mut names: Vec<&String> = vec![&r.canary, &r.stable];
        names.extend(now.keys().filter(|k| **k != r.canary && **k != r.stable));
        let shares: Vec<String> =
            names.iter().map(|k| format!("{} {}", pool(k), pct(crate::rollout::whole_share(&now, k)))).collect();
        self.progress.event(Event::Message(format!(
            "{}: step {}/{}: {}",
            run.addr,
            i + 1,
            r.steps.len(),
            shares.join(", ")
        )));
        self.tell(r, "step", &run.rec);
        true
    }

    /// Every step taken and analysed: all traffic on the canary, recorded,
    /// with the window in which `rollout rollback` switches back.
    fn complete(&mut self, run: &mut Run, report: &mut ApplyReport) {
        let (r, rec) = (&run.r, &mut run.rec);
        rec.phase = "complete".into();
        rec.updated = landform_state::now_rfc3339();
        rec.rollback_until = Some(crate::rollout::now_secs() + r.rollback_window_ms / 1000);
        self.commit(vec![self.record_change(&r.name, rec)], report);
        self.progress.event(Event::Message(format!(
            "{}: complete: all traffic on {}; {} is kept as it is: `landform rollout rollback {}` switches back within {}",
            run.addr,
            pool(&r.canary),
            pool(&r.stable),
            r.name,
            landform_lang::value::format_duration(r.rollback_window_ms)
        )));
        self.tell(r, "complete", rec);
        report.rollouts.push(format!("rollout.{} complete: all traffic on {}", r.name, pool(&r.canary)));
    }

    /// Record a failed rollout and fail the apply with why.
    fn fail(&mut self, r: &RolloutPlan, rec: &mut RolloutRecord, why: &str, report: &mut ApplyReport) {
        rec.phase = if why.starts_with(ABORTED) { "aborted" } else { "rolled_back" }.into();
        rec.reason = Some(why.to_string());
        rec.updated = landform_state::now_rfc3339();
        let change = self.record_change(&r.name, rec);
        self.commit(vec![change], report);
        self.tell(r, "rolled_back", rec);
        report.errors.push((format!("rollout.{}", r.name), why.to_string()));
    }

    /// A person aborted from another process before a step: all traffic back
    /// on the stable pool (when any moved), recorded.
    async fn abort(&mut self, run: &mut Run, state: &mut HashMap<String, ResourceRecord>, report: &mut ApplyReport) {
        let moved = share(&run.r, &run.weights()) > 1e-9;
        if moved {
            self.roll_back(run, state, report, ABORTED).await;
            return;
        }
        let restored = format!("all traffic is on {} as it was", pool(&run.r.stable));
        self.progress.event(Event::Message(format!("rollout.{}: {ABORTED}; {restored}", run.r.name)));
        self.fail(&run.r, &mut run.rec, &format!("{ABORTED}; {restored}"), report);
    }

    /// All traffic back on the weights the run started from, at once, and
    /// read back; retried (every second, then less often, for up to
    /// `ROLL_BACK_FOR`) while the switch cannot be reached or does not report
    /// them. Recorded as it ends: `rolled_back` (or `aborted`) once the
    /// weights read back, else `rollback_failed` with the weights last known,
    /// which no apply goes on from.
    async fn roll_back(
        &mut self,
        run: &mut Run,
        state: &mut HashMap<String, ResourceRecord>,
        report: &mut ApplyReport,
        why: &str,
    ) {
        let Run { r, provider, current, rec, .. } = run;
        let (r, provider): (&RolloutPlan, &Arc<dyn Provider>) = (r, provider);
        let addr = format!("rollout.{}", r.name);
        let began = std::time::Instant::now();
        let mut wait = Duration::from_secs(1);
        let mut tries = 0;
        let outcome = loop {
            tries += 1;
            match self.set_weights(provider, current, weights_at(r, 0.0)).await {
                Ok(now) => break Ok(now),
                Err(e) if began.elapsed() + wait > ROLL_BACK_FOR || self.stopping() => break Err(e),
                Err(e) => {
                    self.progress.event(Event::Message(format!(
                        "{addr}: {why}; the rollback failed ({e}): trying again in {}s ({tries} tried)",
                        wait.as_secs()
                    )));
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(10));
                }
            }
        };
        match outcome {
            Ok(now) => {
                current.attributes = now;
                rec.weights =
                    read_weights(provider.as_ref(), &current.type_name, &current.attributes).unwrap_or_default();
                self.commit(vec![Change::Put(Box::new(current.clone()))], report);
                state.insert(current.addr.clone(), current.clone());
                if let Some(warning) = crate::rollout::isolate_canary(provider.as_ref(), current, rec) {
                    self.progress.event(Event::Message(format!("{addr}: {warning}")));
                }
                let again = if tries > 1 { format!(" (after {tries} tries)") } else { String::new() };
                let said = format!("{why}; rolled back: all traffic is on {} again{again}", pool(&r.stable));
                self.progress.event(Event::Message(format!("{addr}: {said}")));
                self.fail(r, rec, &said, report);
            }
            Err(e) => {
                let said = format!(
                    "{why}; and the rollback failed for {}s ({e}): traffic may still reach {}: check {} by hand, then `landform rollout abort {}`",
                    began.elapsed().as_secs(),
                    pool(&r.canary),
                    r.switch,
                    r.name
                );
                self.progress.event(Event::Message(format!("{addr}: {said}")));
                rec.phase = "rollback_failed".into();
                rec.reason = Some(said.clone());
                rec.updated = landform_state::now_rfc3339();
                let change = self.record_change(&r.name, rec);
                self.commit(vec![change], report);
                self.tell(r, "rolled_back", rec);
                report.errors.push((addr, said));
            }
        }
    }

    async fn sample(
        &self,
        provider: &Arc<dyn Provider>,
        switch: &ResourceRecord,
        target: &str,
        counts: bool,
    ) -> Result<Option<landform_provider::Sample>, String> {
        let (p, rec, target) = (provider.clone(), switch.clone(), target.to_string());
        tokio::task::spawn_blocking(move || {
            p.sample(landform_provider::SampleRequest {
                type_name: &rec.type_name,
                state: &rec.attributes,
                target: &target,
                counts,
            })
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
    }

    /// Wait (up to the pause, at least 10 s) for the canary to be healthy.
    async fn healthy(
        &self,
        r: &RolloutPlan,
        provider: &Arc<dyn Provider>,
        switch: &ResourceRecord,
    ) -> Result<(), String> {
        let deadline = std::time::Instant::now() + Duration::from_millis(r.pause_ms.max(10_000));
        loop {
            let sample = self.sample(provider, switch, &r.canary, false).await?;
            match sample.and_then(|s| s.healthy) {
                Some(false) if std::time::Instant::now() < deadline && !self.stopping() => {
                    tokio::time::sleep(Duration::from_millis(r.interval_ms.clamp(100, 1000))).await
                }
                Some(false) => return Err(format!("{} is not healthy: traffic is not moved to it", pool(&r.canary))),
                _ => return Ok(()),
            }
        }
    }

    /// Sample every interval for the step's pause. A metric out of bounds
    /// (for its `for` window, when it has one) is a failure, counted over the
    /// whole run (`rec.failures`): more than `failure_limit` fail the
    /// rollout. A step passes only on positive evidence: once its pause is
    /// over, every metric's last conclusive sample must be within bounds (a
    /// failure the limit tolerates is never a pass; the step keeps sampling).
    /// A measurement error is not a failure, but more than
    /// `consecutive_error_limit` in a row fail the step. No data is
    /// inconclusive, never a pass: the step waits for data until its
    /// progress deadline. `compare = "stable"` metrics must not be
    /// significantly worse than the stable pool's.
    async fn analyse(
        &self,
        r: &RolloutPlan,
        provider: &Arc<dyn Provider>,
        switch: &ResourceRecord,
        started: std::time::Instant,
        phase: Phase,
        rec: &mut RolloutRecord,
    ) -> Result<(), String> {
        let pause = Duration::from_millis(r.pause_ms);
        let metrics: Vec<&crate::rollout::MetricSpec> = r
            .metrics
            .iter()
            .filter(|m| match phase {
                Phase::Step => true,
                Phase::Idle => !from_switch(&m.source),
                Phase::AfterSwitch => from_switch(&m.source),
            })
            .collect();
        if metrics.is_empty() {
            if phase != Phase::AfterSwitch
                && self.wait_or_abort(&r.name, &rec.started, pause.saturating_sub(started.elapsed())).await
            {
                return Err(ABORTED.to_string());
            }
            return Ok(());
        }
        let interval = Duration::from_millis(r.interval_ms.max(100));
        let counted = metrics.iter().any(|m| from_switch(&m.source));
        let compared = metrics.iter().any(|m| m.compare);
        let last = if counted { self.sample(provider, switch, &r.canary, true).await? } else { None };
        let last_stable = if compared { self.sample(provider, switch, &r.stable, true).await? } else { None };
        let n = metrics.len();
        let mut a = Analysis {
            r,
            provider,
            switch,
            phase,
            addr: format!("rollout.{}", r.name),
            metrics,
            counted,
            compared,
            last,
            last_stable,
            errors_in_row: 0,
            conclusive: vec![0; n],
            passing: vec![false; n],
            breach: vec![None; n],
            canary_series: Vec::new(),
            stable_series: Vec::new(),
            end: started + pause.max(interval),
            deadline: started + Duration::from_millis(r.progress_deadline_ms).max(pause.max(interval)),
            told_waiting: false,
        };
        loop {
            if self.stopping() {
                return Ok(());
            }
            if self.abort_requested(&r.name, &rec.started) {
                return Err(ABORTED.to_string());
            }
            let now = std::time::Instant::now();
            // A step passes once its pause is over, every metric's last
            // conclusive sample passed, and none is in a breach its `for`
            // window has not judged yet.
            if now >= a.end && a.passing.iter().all(|p| *p) && a.breach.iter().all(Option::is_none) {
                break;
            }
            if now >= a.deadline {
                return Err(a.inconclusive());
            }
            if now >= a.end && !a.told_waiting {
                self.tell_waiting(&mut a);
            }
            let wait = if now >= a.end { interval } else { interval.min(a.end.saturating_duration_since(now)) };
            if self.wait_or_abort(&r.name, &rec.started, wait).await {
                return Err(ABORTED.to_string());
            }
            if self.stopping() {
                return Ok(());
            }
            let mut iv = Interval::default();
            if a.counted {
                self.sample_canary(&mut a, &mut iv, rec).await?;
            }
            if a.compared {
                self.sample_stable(&mut a, &mut iv).await;
            }
            self.judge_metrics(&mut a, &mut iv, rec).await?;
            self.tell_interval(&mut a, iv, rec)?;
        }
        self.compare_with_stable(&a)
    }

    /// Once the pause is over: which metrics still wait for a passing sample, said once.
    fn tell_waiting(&self, a: &mut Analysis) {
        a.told_waiting = true;
        let waiting: Vec<&str> =
            a.metrics.iter().zip(&a.passing).filter(|(_, p)| !**p).map(|(m, _)| m.name.as_str()).collect();
        if !waiting.is_empty() {
            self.progress.event(Event::Message(format!(
                "{}: no passing sample yet from {}: waiting (a step passes only on a passing sample; progress_deadline {})",
                a.addr,
                waiting.join(", "),
                landform_lang::value::format_duration(a.r.progress_deadline_ms)
            )));
        }
    }

    /// The canary's counters on the switch: the interval's error rate and
    /// response time. A switch that restarted (its weights back to its
    /// configuration's, its counters from zero) gets the step's weights
    /// again, and the interval tells nothing.
    async fn sample_canary(&self, a: &mut Analysis<'_>, iv: &mut Interval, rec: &RolloutRecord) -> Result<(), String> {
        let (r, switch) = (a.r, a.switch);
        match self.sample(a.provider, switch, &r.canary, true).await {
            Ok(Some(now)) if a.last.is_some_and(|last| last.generation != now.generation) => {
                // The switch restarted or reloaded: the weights set at
                // run time are gone (back to its configuration's) and
                // its counters start again. The step's weights are set
                // again; this interval tells nothing.
                iv.live.push(format!("{} restarted: weights set again, counters start again", switch.addr));
                match self.set_weights(a.provider, switch, rec.weights.clone()).await {
                    Ok(_) => {
                        self.progress.event(Event::Message(format!(
                            "{}: {} restarted (its counters started again): the step's weights {{ {} }} are set again and this interval's measurement is dropped",
                            a.addr,
                            switch.addr,
                            rec.weights.iter().map(|(k, v)| format!("{k} = {v}")).collect::<Vec<_>>().join(", ")
                        )));
                        a.last = self.sample(a.provider, switch, &r.canary, true).await.ok().flatten().or(Some(now));
                    }
                    Err(e) => {
                        iv.errored =
                            Some(format!("{} restarted and setting the step's weights again failed: {e}", switch.addr))
                    }
                }
            }
            Ok(Some(now)) => {
                if let Some(last) = a.last {
                    // Counters that went back (a reload): no data.
                    if now.requests >= last.requests && now.errors >= last.errors {
                        let requests = now.requests - last.requests;
                        if requests > 0 {
                            iv.rate = Some(((now.errors - last.errors) as f64 / requests as f64, requests));
                        }
                    }
                    if let (Some(before), Some(after)) = (last.response_ms, now.response_ms) {
                        iv.response =
                            crate::rollout::interval_response_ms((before, last.responses), (after, now.responses))
                                .map(|(lo, mid, hi)| (lo / 1000.0, mid / 1000.0, hi / 1000.0));
                    }
                }
                a.last = Some(now);
            }
            Ok(None) => return Err(format!("{} has no traffic counters to analyse", switch.type_name)),
            Err(e) => iv.errored = Some(format!("reading {}'s statistics: {e}", pool(&r.canary))),
        }
        Ok(())
    }

    /// The stable pool's error rate over the interval, beside the canary's,
    /// for `compare = "stable"`.
    async fn sample_stable(&self, a: &mut Analysis<'_>, iv: &mut Interval) {
        match self.sample(a.provider, a.switch, &a.r.stable, true).await {
            Ok(Some(now)) => {
                if let (Some(last), Some((c, _))) = (a.last_stable, iv.rate) {
                    let requests = now.requests.saturating_sub(last.requests);
                    if requests > 0 {
                        a.stable_series.push(now.errors.saturating_sub(last.errors) as f64 / requests as f64);
                        a.canary_series.push(c);
                    }
                }
                a.last_stable = Some(now);
            }
            Ok(None) => {}
            Err(e) => iv.errored = Some(format!("reading {}'s statistics: {e}", pool(&a.r.stable))),
        }
    }

    /// Each metric's value over the interval, judged against its bounds.
    async fn judge_metrics(
        &self,
        a: &mut Analysis<'_>,
        iv: &mut Interval,
        rec: &mut RolloutRecord,
    ) -> Result<(), String> {
        for (i, m) in a.metrics.clone().into_iter().enumerate() {
            let Some(v) = self.metric_value(m, iv).await? else { continue };
            self.judge(a, i, v, iv, rec)?;
        }
        Ok(())
    }

    /// A metric's value over the interval: `None` when there is none (a
    /// measurement error, in `iv.errored`; no data, inconclusive, neither a
    /// pass nor a failure).
    async fn metric_value(&self, m: &crate::rollout::MetricSpec, iv: &mut Interval) -> Result<Option<f64>, String> {
        let value = if m.response_time {
            // Judged only when its bounds are clear of the limits
            // (the estimate between them then falls on the same side).
            iv.response.and_then(|(lo, mid, hi)| {
                let failing = m.max.is_some_and(|x| lo > x) || m.min.is_some_and(|x| hi < x);
                let passing = m.max.is_none_or(|x| hi <= x) && m.min.is_none_or(|x| lo >= x);
                (failing || passing).then_some(mid)
            })
        } else if from_switch(&m.source) {
            iv.rate.map(|(v, _)| v)
        } else {
            let Some(measure) = self.ctx.measure.clone() else {
                return Err(format!("metric {}: no way to measure {} metrics here", m.name, m.source));
            };
            let spec = m.clone();
            match tokio::task::spawn_blocking(move || measure.measure(&spec)).await.map_err(|e| e.to_string())? {
                Ok(v) => v,
                Err(e) => {
                    iv.errored = Some(format!("metric {}: {e}", m.name));
                    return Ok(None);
                }
            }
        };
        // No data: inconclusive, neither a pass nor a failure.
        if value.is_none() {
            iv.live.push(format!("{} no data", m.name));
        }
        Ok(value)
    }

    /// The `i`th metric's value `v`: a pass, or a failure (once its `for`
    /// window has held), counted over the whole run; more than
    /// `failure_limit` fail the rollout.
    fn judge(
        &self,
        a: &mut Analysis,
        i: usize,
        v: f64,
        iv: &mut Interval,
        rec: &mut RolloutRecord,
    ) -> Result<(), String> {
        let (r, m) = (a.r, a.metrics[i]);
        a.passing[i] = false;
        a.conclusive[i] += 1;
        rec.analysis.insert(m.name.clone(), v);
        rec.analysis_shown.insert(m.name.clone(), shown(m, v));
        let over = m.max.is_some_and(|x| v > x);
        let under = m.min.is_some_and(|x| v < x);
        let limit = match (m.max, m.min) {
            (Some(x), _) => format!(" (max {})", shown(m, x)),
            (_, Some(x)) => format!(" (min {})", shown(m, x)),
            _ => String::new(),
        };
        iv.live.push(format!("{} {}{limit}", m.name, shown(m, v)));
        if !(over || under) {
            a.breach[i] = None;
            a.passing[i] = true;
            return Ok(());
        }
        // A `for` window: the failure must persist that long.
        let since = *a.breach[i].get_or_insert_with(std::time::Instant::now);
        if since.elapsed() < Duration::from_millis(m.for_ms) {
            return Ok(());
        }
        a.breach[i] = None;
        rec.failures += 1;
        let failures = rec.failures;
        let bound = m.max.filter(|_| over).or(m.min).unwrap_or(0.0);
        let what = match (m.source.as_str(), iv.rate) {
            (_, Some(_)) if m.response_time => format!(" on {} (average response time)", pool(&r.canary)),
            (source, Some((_, n))) if from_switch(source) => format!(" of {n} requests on {}", pool(&r.canary)),
            ("http", _) if m.percentile.is_some() => format!(" (p{} of probe latency)", m.percentile.unwrap_or(0.0)),
            ("http", _) => " of probes succeeding".to_string(),
            _ => String::new(),
        };
        let held = if m.for_ms > 0 {
            format!(" for {}", landform_lang::value::format_duration(m.for_ms))
        } else {
            String::new()
        };
        self.progress.event(Event::Message(format!(
            "{}: {} = {}{what} ({} {}){held}",
            a.addr,
            m.name,
            shown(m, v),
            if over { "max" } else { "min" },
            shown(m, bound)
        )));
        if failures > r.failure_limit {
            return Err(format!(
                "analysis failed: {} was {}{what}{held}, {} {} ({failures} failed {} in this rollout, failure_limit {})",
                m.name,
                shown(m, v),
                if over { "above the max of" } else { "below the min of" },
                shown(m, bound),
                if failures == 1 { "sample" } else { "samples" },
                r.failure_limit
            ));
        }
        Ok(())
    }

    /// The interval's live line; a measurement error counts toward
    /// `consecutive_error_limit`, which fails the step when exceeded.
    fn tell_interval(&self, a: &mut Analysis, iv: Interval, rec: &RolloutRecord) -> Result<(), String> {
        let (r, addr) = (a.r, &a.addr);
        let weights = rec.weights.iter().map(|(k, v)| format!("{} {v}", pool(k))).collect::<Vec<_>>().join(", ");
        self.progress.event(Event::Live {
            key: addr.clone(),
            line: if a.phase == Phase::Idle {
                format!("{addr}: {} before the switch: {}", pool(&r.canary), iv.live.join(", "))
            } else {
                format!("{addr}: step {}/{} [{weights}]: {}", rec.step, r.steps.len(), iv.live.join(", "))
            },
        });
        match iv.errored {
            Some(e) => {
                a.errors_in_row += 1;
                let errors_in_row = a.errors_in_row;
                self.progress.event(Event::Message(format!(
                    "{addr}: {e} ({errors_in_row} in a row, consecutive_error_limit {})",
                    r.consecutive_error_limit
                )));
                if errors_in_row > r.consecutive_error_limit {
                    return Err(format!(
                        "analysis error: {e} ({errors_in_row} measurements in a row failed, consecutive_error_limit {})",
                        r.consecutive_error_limit
                    ));
                }
            }
            None => a.errors_in_row = 0,
        }
        Ok(())
    }

    /// The canary against the stable pool, over the step's intervals.
    fn compare_with_stable(&self, a: &Analysis) -> Result<(), String> {
        let (r, canary_series, stable_series) = (a.r, &a.canary_series, &a.stable_series);
        for m in a.metrics.iter().filter(|m| m.compare) {
            match mann_whitney_greater(canary_series, stable_series) {
                Some(p) if p < 0.05 => {
                    let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
                    return Err(format!(
                        "analysis failed: {} of {} is significantly worse than {}'s (mean {} against {} over {} intervals; Mann-Whitney p = {:.4})",
                        m.name,
                        pool(&r.canary),
                        pool(&r.stable),
                        shown(m, mean(canary_series)),
                        shown(m, mean(stable_series)),
                        canary_series.len(),
                        p
                    ));
                }
                Some(_) => {}
                None => self.progress.event(Event::Message(format!(
                    "{}: {}: too few intervals with traffic on both pools to compare them ({})",
                    a.addr,
                    m.name,
                    canary_series.len()
                ))),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::mann_whitney_greater;

    #[test]
    fn mann_whitney_tells_a_worse_canary_from_noise() {
        let stable = [0.01, 0.02, 0.0, 0.01, 0.015, 0.02, 0.01, 0.0];
        // Clearly worse: significant.
        let bad = [0.2, 0.25, 0.3, 0.22, 0.28, 0.3, 0.27, 0.24];
        assert!(mann_whitney_greater(&bad, &stable).unwrap() < 0.001);
        // The same distribution: not significant.
        let same = [0.02, 0.01, 0.0, 0.015, 0.01, 0.02, 0.01, 0.0];
        assert!(mann_whitney_greater(&same, &stable).unwrap() > 0.3);
        // Better than stable is never "worse".
        let better = [0.0; 8];
        assert!(mann_whitney_greater(&better, &stable).unwrap() > 0.9);
        // Too few samples: no verdict.
        assert_eq!(mann_whitney_greater(&bad[..2], &stable), None);
        // All equal (ties everywhere): no difference.
        assert!(mann_whitney_greater(&[0.0; 5], &[0.0; 5]).unwrap() >= 0.5);
    }

    #[test]
    fn mann_whitney_matches_a_worked_example() {
        // scipy.stats.mannwhitneyu([7, 8, 9, 10, 11], [1, 2, 3, 4, 5], alternative="greater",
        // method="asymptotic") gives p = 0.00609.
        let p = mann_whitney_greater(&[7.0, 8.0, 9.0, 10.0, 11.0], &[1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
        assert!((p - 0.00609).abs() < 0.0005, "{p}");
    }
}

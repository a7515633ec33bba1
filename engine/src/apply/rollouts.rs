//! Running a rollout inside apply: each step's weights through the switch's
//! provider, committed like any result, then the canary analysed for the
//! pause; a failure sets all traffic back on the stable server. (Planning
//! rollouts is `crate::rollout`.)

use super::*;

impl Runner<'_, '_> {
    /// Run one rollout: each step's weights through the switch's provider,
    /// committed, then analysed for the pause; a failure rolls back.
    pub(super) async fn rollout(
        &mut self,
        r: &crate::rollout::RolloutPlan,
        state: &mut HashMap<String, ResourceRecord>,
        report: &mut ApplyReport,
    ) {
        use crate::rollout::{share, weights_at};
        let addr = format!("rollout.{}", r.name);
        let Some(mut current) = state.get(&r.switch).cloned() else {
            report.errors.push((addr, format!("its switch {} is not in the state", r.switch)));
            return;
        };
        let Some((provider, _)) = self.ctx.providers.for_record(&current.provider, false, &current.type_name) else {
            report.errors.push((addr, format!("no provider for {}", r.switch)));
            return;
        };
        let provider = provider.clone();
        let set = |provider: Arc<dyn landform_provider::Provider>,
                   rec: ResourceRecord,
                   w: serde_json::Map<String, serde_json::Value>| async move {
            let mut cfg = rec.attributes.clone();
            cfg.insert("weights".into(), serde_json::Value::Object(w));
            let t = rec.type_name.clone();
            tokio::task::spawn_blocking(move || {
                provider.apply(landform_provider::ApplyRequest {
                    type_name: &t,
                    prior: Some(&rec.attributes),
                    config: Some(&cfg),
                })
            })
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string()))
            .and_then(|r| r.state.ok_or_else(|| "the provider returned no state".to_string()))
        };
        let weights = |rec: &ResourceRecord| {
            rec.attributes.get("weights").and_then(serde_json::Value::as_object).cloned().unwrap_or_default()
        };
        let done = share(r, &weights(&current));
        let steps: Vec<(usize, f64)> = r.steps.iter().copied().enumerate().filter(|(_, p)| *p > done + 1e-9).collect();
        if done > 1e-9 {
            self.progress.event(Event::Message(format!(
                "{addr}: resuming at {:.0}% on {} (a step already taken is not taken again)",
                done * 100.0,
                r.canary
            )));
        }
        for (i, p) in steps {
            if self.stopping() {
                report.interrupted = true;
                return;
            }
            // Traffic moves only to a canary that can take it.
            if let Err(why) = self.healthy(r, &provider, &current).await {
                report.errors.push((addr.clone(), format!("{why}; the weights are left as they were")));
                self.progress.event(Event::Message(format!("{addr}: {why}")));
                return;
            }
            let started = std::time::Instant::now();
            let result = set(provider.clone(), current.clone(), weights_at(r, p)).await;
            let failure = match result {
                Ok(now) => {
                    current.attributes = now;
                    if !self.commit(vec![Change::Put(Box::new(current.clone()))], report) {
                        return;
                    }
                    state.insert(current.addr.clone(), current.clone());
                    self.progress.event(Event::Message(format!(
                        "{addr}: step {}/{}: {} {:.0}%, {} {:.0}%",
                        i + 1,
                        r.steps.len(),
                        r.canary,
                        p * 100.0,
                        r.stable,
                        (1.0 - p) * 100.0
                    )));
                    self.analyse(r, &provider, &current, started).await.err()
                }
                Err(e) => Some(format!("setting the weights failed: {e}")),
            };
            if let Some(why) = failure {
                // All traffic back on the stable server, at once.
                let back = set(provider.clone(), current.clone(), weights_at(r, 0.0)).await;
                let restored = match back {
                    Ok(now) => {
                        current.attributes = now;
                        self.commit(vec![Change::Put(Box::new(current.clone()))], report);
                        state.insert(current.addr.clone(), current.clone());
                        format!("rolled back: all traffic is on {} again", r.stable)
                    }
                    Err(e) => format!("and the rollback failed too ({e}): check {} by hand", r.switch),
                };
                self.progress.event(Event::Message(format!("{addr}: {why}; {restored}")));
                report.errors.push((addr, format!("{why}; {restored}")));
                return;
            }
        }
        self.progress.event(Event::Message(format!("{addr}: complete: all traffic on {}", r.canary)));
    }

    /// Wait (up to the pause, at least 10 s) for the canary to be healthy.
    async fn healthy(
        &self,
        r: &crate::rollout::RolloutPlan,
        provider: &Arc<dyn landform_provider::Provider>,
        switch: &ResourceRecord,
    ) -> Result<(), String> {
        let deadline = std::time::Instant::now() + Duration::from_millis(r.pause_ms.max(10_000));
        loop {
            let (p, rec, target) = (provider.clone(), switch.clone(), r.canary.clone());
            let sample = tokio::task::spawn_blocking(move || {
                p.sample(landform_provider::SampleRequest {
                    type_name: &rec.type_name,
                    state: &rec.attributes,
                    target: &target,
                })
            })
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
            match sample.and_then(|s| s.healthy) {
                Some(false) if std::time::Instant::now() < deadline && !self.stopping() => {
                    tokio::time::sleep(Duration::from_millis(r.interval_ms.clamp(100, 1000))).await
                }
                Some(false) => return Err(format!("{} is not healthy: traffic is not moved to it", r.canary)),
                _ => return Ok(()),
            }
        }
    }

    /// Sample the canary every interval for the step's pause; fail when a
    /// metric is out of bounds more than `failure_limit` times, or when no
    /// sample had data (no data never passes).
    async fn analyse(
        &self,
        r: &crate::rollout::RolloutPlan,
        provider: &Arc<dyn landform_provider::Provider>,
        switch: &ResourceRecord,
        started: std::time::Instant,
    ) -> Result<(), String> {
        let pause = Duration::from_millis(r.pause_ms);
        if r.metrics.is_empty() {
            tokio::time::sleep(pause.saturating_sub(started.elapsed())).await;
            return Ok(());
        }
        let interval = Duration::from_millis(r.interval_ms.max(100));
        let sample = |provider: Arc<dyn landform_provider::Provider>, rec: ResourceRecord, target: String| async move {
            tokio::task::spawn_blocking(move || {
                provider.sample(landform_provider::SampleRequest {
                    type_name: &rec.type_name,
                    state: &rec.attributes,
                    target: &target,
                })
            })
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string()))
        };
        let haproxy = r.metrics.iter().any(|m| m.source == "haproxy");
        let mut last = if haproxy { sample(provider.clone(), switch.clone(), r.canary.clone()).await? } else { None };
        let mut failures = 0u32;
        let mut conclusive = vec![0u32; r.metrics.len()];
        let end = started + pause.max(interval);
        while std::time::Instant::now() < end {
            if self.stopping() {
                return Ok(());
            }
            tokio::time::sleep(interval.min(end.saturating_duration_since(std::time::Instant::now()))).await;
            // The canary's error rate over the interval, from the switch's counters.
            let mut rate: Option<(f64, u64)> = None;
            if haproxy {
                let now = sample(provider.clone(), switch.clone(), r.canary.clone()).await?;
                let (Some(a), Some(b)) = (last, now) else {
                    return Err(format!("{} has no traffic counters to analyse", switch.type_name));
                };
                last = now;
                let requests = b.requests.saturating_sub(a.requests);
                if requests > 0 {
                    rate = Some((b.errors.saturating_sub(a.errors) as f64 / requests as f64, requests));
                }
            }
            for (i, m) in r.metrics.iter().enumerate() {
                let value = if m.source == "haproxy" {
                    rate.map(|(v, _)| v)
                } else {
                    let Some(measure) = self.ctx.measure.clone() else {
                        return Err(format!("metric {}: no way to measure {} metrics here", m.name, m.source));
                    };
                    let spec = m.clone();
                    tokio::task::spawn_blocking(move || measure.measure(&spec))
                        .await
                        .map_err(|e| e.to_string())?
                        .map_err(|e| format!("metric {}: {e}", m.name))?
                };
                // No data: inconclusive, neither a pass nor a failure.
                let Some(v) = value else { continue };
                conclusive[i] += 1;
                let over = m.max.is_some_and(|x| v > x);
                let under = m.min.is_some_and(|x| v < x);
                if !(over || under) {
                    continue;
                }
                failures += 1;
                let bound = m.max.filter(|_| over).or(m.min).unwrap_or(0.0);
                let shown =
                    |x: f64| if m.source == "prometheus" { format!("{x}") } else { format!("{:.1}%", x * 100.0) };
                let what = match (m.source.as_str(), rate) {
                    ("haproxy", Some((_, n))) => format!(" of {n} requests on {}", r.canary),
                    ("http", _) => " of probes succeeding".to_string(),
                    _ => String::new(),
                };
                self.progress.event(Event::Message(format!(
                    "rollout.{}: {} = {}{what} ({} {})",
                    r.name,
                    m.name,
                    shown(v),
                    if over { "max" } else { "min" },
                    shown(bound)
                )));
                if failures > r.failure_limit {
                    return Err(format!(
                        "analysis failed: {} was {}{what}, {} {} ({failures} failed samples, failure_limit {})",
                        m.name,
                        shown(v),
                        if over { "above the max of" } else { "below the min of" },
                        shown(bound),
                        r.failure_limit
                    ));
                }
            }
        }
        if let Some(i) = conclusive.iter().position(|c| *c == 0) {
            let m = &r.metrics[i];
            let why = match m.source.as_str() {
                "haproxy" => format!("{} received no requests during the step", r.canary),
                "prometheus" => format!("the query {} returned no data", m.query.as_deref().unwrap_or_default()),
                _ => "no probe got an answer".to_string(),
            };
            return Err(format!(
                "analysis inconclusive: metric {}: {why}, and a metric without data never passes",
                m.name
            ));
        }
        Ok(())
    }
}

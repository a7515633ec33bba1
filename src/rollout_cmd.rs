//! `landform rollout status NAME` and `landform rollout abort NAME`: where a
//! rollout stands (its switch's weights as the real world has them), and all
//! traffic back on the stable server in one step, recorded in the state.

use crate::run::{self, PlanArgs};
use crate::{print_diagnostics, ui, CommonArgs, VarArgs};
use clap::Subcommand;
use landform_engine::rollout::{share, weights_at};
use landform_state::Storage;

#[derive(Subcommand)]
pub enum RolloutCmd {
    /// Where a rollout stands: the switch's weights now, the steps taken and the next one.
    Status {
        name: String,
        #[command(flatten)]
        vars: VarArgs,
    },
    /// Put all traffic back on the stable server now, and record it.
    Abort {
        name: String,
        #[command(flatten)]
        vars: VarArgs,
    },
    /// After a rollout completed (blue_green's rollback window): all traffic
    /// back on the stable server in one operation, recorded. The next apply
    /// offers the rollout again until the configuration changes.
    Rollback {
        name: String,
        #[command(flatten)]
        vars: VarArgs,
    },
}

fn plan_args(vars: &VarArgs) -> PlanArgs {
    PlanArgs {
        vars: vars.clone(),
        targets: Vec::new(),
        replace: Vec::new(),
        refresh: true,
        destroy: false,
        refresh_only: false,
        no_progress: true,
        json: true,
        parallelism: 10,
    }
}

pub fn run(common: &CommonArgs, cmd: RolloutCmd, color: bool) -> u8 {
    let (name, vars, abort) = match &cmd {
        RolloutCmd::Status { name, vars } => (name, vars, false),
        RolloutCmd::Abort { name, vars } | RolloutCmd::Rollback { name, vars } => (name, vars, true),
    };
    let fail = |msg: &str| {
        crate::errln!("{}", ui::error_line(msg, color));
        1
    };
    let cfg = match run::load_config(vars, color) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let Some(block) = cfg.tree.module.rollouts.iter().find(|r| &r.name == name) else {
        let known: Vec<&str> = cfg.tree.module.rollouts.iter().map(|r| r.name.as_str()).collect();
        return fail(&format!(
            "the configuration has no rollout \"{name}\"{}",
            if known.is_empty() { String::new() } else { format!("; its rollouts are: {}", known.join(", ")) }
        ));
    };
    let (held, snapshot) =
        match run::open_and_load(common, if abort { "rollout abort" } else { "rollout status" }, color) {
            Ok(x) => x,
            Err(code) => return code,
        };
    let plan = match run::make_plan(&cfg, &snapshot, &plan_args(vars), color) {
        Ok(p) => p,
        Err(code) => return code,
    };
    // A pending rollout is in the plan; a completed one is read from its
    // block and the switch's weights as refresh found them.
    let r = match plan.rollouts.iter().find(|r| &r.name == name) {
        Some(r) => r.clone(),
        None => match completed(&cfg, block, &plan, &snapshot) {
            Ok(r) => r,
            Err(e) => return fail(&format!("rollout.{name}: {e}")),
        },
    };
    let r = &r;
    let done = share(r, &r.from);
    let weights = r.from.iter().map(|(k, v)| format!("{k} = {v}")).collect::<Vec<_>>().join(", ");
    if !abort && done >= 1.0 - 1e-9 {
        crate::outln!(
            "rollout.{name} on {}: complete: all traffic on {} ({{ {weights} }}); `landform rollout rollback {name}` puts it back on {}",
            r.switch,
            r.canary,
            r.stable
        );
        return 0;
    }
    if !abort {
        let next = r.steps.iter().position(|p| *p > done + 1e-9).map_or(r.steps.len(), |i| i + 1);
        crate::outln!(
            "rollout.{name} on {}: {} at {:.0}%, {} at {:.0}% ({{ {weights} }})\n  steps: {} — next: step {next} of {}{}",
            r.switch,
            r.canary,
            done * 100.0,
            r.stable,
            (1.0 - done) * 100.0,
            r.steps.iter().map(|s| format!("{:.0}%", s * 100.0)).collect::<Vec<_>>().join(", "),
            r.steps.len(),
            if done > 1e-9 { " (an apply resumes here)" } else { " (not started)" }
        );
        return 0;
    }
    if done <= 1e-9 {
        crate::outln!("rollout.{name}: nothing to abort: all traffic is on {} already.", r.stable);
        return 0;
    }
    // Through the switch's provider, as apply would, then into the state.
    let Some(mut rec) = plan.refreshed.iter().chain(snapshot.resources.iter()).find(|x| x.addr == r.switch).cloned()
    else {
        return fail(&format!("{} is not in the state", r.switch));
    };
    let providers = match run::providers_for(&cfg.tree, &cfg.variables) {
        Ok(p) => p,
        Err(d) => {
            print_diagnostics(&d, &cfg.sources, color);
            return 1;
        }
    };
    let Some((provider, _)) = providers.for_record(&rec.provider, false, &rec.type_name) else {
        return fail(&format!("no provider for {}", r.switch));
    };
    // The refreshed weights, as the plan read them.
    rec.attributes.insert("weights".into(), serde_json::Value::Object(r.from.clone()));
    let mut config = rec.attributes.clone();
    config.insert("weights".into(), serde_json::Value::Object(weights_at(r, 0.0)));
    let result = provider.apply(landform_provider::ApplyRequest {
        type_name: &rec.type_name,
        prior: Some(&rec.attributes),
        config: Some(&config),
    });
    match result {
        Ok(resp) => {
            if let Some(now) = resp.state {
                rec.attributes = now;
            }
            let _ = held.storage.save_backup(&snapshot);
            if let Err(e) = held.storage.commit(&[landform_state::Change::Put(Box::new(rec))]) {
                return fail(&format!("the weights are set, but the state could not record them: {e}"));
            }
            crate::outln!("rollout.{name}: aborted: all traffic is on {} again (was {weights}).", r.stable);
            0
        }
        Err(e) => fail(&format!("rollout.{name}: the abort failed: {e}")),
    }
}

/// A completed rollout as a plan entry: its servers from the block (with the
/// root variables), its weights from the switch as refresh found it.
fn completed(
    cfg: &run::Config,
    block: &landform_lang::config::Rollout,
    plan: &landform_engine::Plan,
    snapshot: &landform_state::Snapshot,
) -> Result<landform_engine::rollout::RolloutPlan, String> {
    let mut scope = landform_lang::Scope::new();
    scope.set("var", cfg.variables.clone());
    let name = |e: &landform_lang::syntax::Expr, what: &str| {
        let mut ev = landform_lang::Evaluator::new(&landform_lang::NoHost);
        match ev.eval(e, &scope).unmark_deep().0 {
            landform_lang::Value::String(s) => Ok(s),
            _ => Err(format!("its {what} server is not known without a plan")),
        }
    };
    let (stable, canary) = (name(&block.stable, "stable")?, name(&block.canary, "canary")?);
    let switch = block
        .switch
        .as_traversal()
        .map(|(root, path)| format!("{}.{}", root.name, path.first().cloned().unwrap_or_default()))
        .ok_or("its switch is not a resource")?;
    let rec = plan
        .refreshed
        .iter()
        .chain(snapshot.resources.iter())
        .find(|x| x.addr == switch)
        .ok_or_else(|| format!("its switch {switch} is not in the state: nothing has run yet"))?;
    let from = rec.attributes.get("weights").and_then(serde_json::Value::as_object).cloned().unwrap_or_default();
    Ok(landform_engine::rollout::RolloutPlan {
        name: block.name.clone(),
        switch,
        stable,
        canary,
        strategy: String::new(),
        to: from.clone(),
        from,
        steps: vec![1.0],
        pause_ms: 0,
        interval_ms: 0,
        failure_limit: 0,
        metrics: Vec::new(),
    })
}

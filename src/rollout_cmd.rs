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
        RolloutCmd::Abort { name, vars } => (name, vars, true),
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
    let Some(r) = plan.rollouts.iter().find(|r| &r.name == name) else {
        crate::outln!(
            "rollout.{name}: nothing to move: all traffic on its switch is on the canary already (or the switch is not created yet)."
        );
        let _ = block;
        return 0;
    };
    let done = share(r, &r.from);
    let weights = r.from.iter().map(|(k, v)| format!("{k} = {v}")).collect::<Vec<_>>().join(", ");
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
    let Some(mut rec) = snapshot.resources.iter().find(|x| x.addr == r.switch).cloned() else {
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

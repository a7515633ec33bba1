//! Apply does what the plan says or fails. The instances apply finds must be
//! the plan's, data sources read at plan time are not read again, and what
//! apply computes for an instance must agree with every value the plan knew
//! (Terraform's "Provider produced inconsistent final plan").

use crate::addr::{Key, ResourceAddr};
use crate::plan::{Action, DataRead, Plan, ResourceChange};
use crate::sensitivity::touches;
use landform_provider::{Object, PlanRequest, PlanResponse, Provider};
use landform_state::ResourceRecord;
use serde_json::Value as Json;
use std::collections::{BTreeSet, HashMap};

/// What the plan holds, by instance, for apply to hold itself to.
pub(super) struct Planned {
    /// Every instance was planned (no `--target`, not a destroy): one apply
    /// finds that the plan has not is an error.
    whole: bool,
    /// The instances of each resource block (its address with no key) the
    /// plan creates, updates, replaces, reads or leaves.
    by_block: HashMap<ResourceAddr, BTreeSet<String>>,
    /// Data source instances read at plan time.
    pub(super) data: HashMap<String, DataRead>,
}

impl Planned {
    pub(super) fn of(plan: &Plan) -> Planned {
        let mut by_block: HashMap<ResourceAddr, BTreeSet<String>> = HashMap::new();
        let kept = plan
            .resource_changes
            .iter()
            .filter(|c| !matches!(c.action, Action::Delete | Action::Forget))
            .map(|c| &c.address)
            .chain(plan.data_reads.iter().map(|d| &d.address));
        for a in kept {
            if let Ok(parsed) = ResourceAddr::parse(a) {
                by_block.entry(ResourceAddr { key: Key::None, ..parsed }).or_default().insert(a.clone());
            }
        }
        Planned {
            whole: plan.plans_everything(),
            by_block,
            data: plan.data_reads.iter().map(|d| (d.address.clone(), d.clone())).collect(),
        }
    }

    /// The instances of `block` the plan has that apply no longer finds, and
    /// those apply finds the plan does not have, each with why it fails.
    pub(super) fn mismatched(
        &self,
        block: &ResourceAddr,
        found: &[String],
        change: impl Fn(&str) -> Option<Action>,
    ) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if !self.whole {
            return out;
        }
        let planned = self.by_block.get(block);
        for a in planned.into_iter().flatten().filter(|a| !found.contains(a)) {
            out.push((
                a.clone(),
                "the saved plan has this instance, but apply no longer finds it: what its count or for_each reads changed since the plan was made; run landform plan again".to_string(),
            ));
        }
        for a in found {
            let known = planned.is_some_and(|p| p.contains(a));
            if known {
                continue;
            }
            let why = match change(a) {
                Some(Action::Delete | Action::Forget) => "the saved plan destroys this instance, but apply finds it in the configuration: what its count or for_each reads changed since the plan was made; run landform plan again",
                _ => "apply finds this instance, but the saved plan does not have it: what its count or for_each reads changed since the plan was made; run landform plan again",
            };
            out.push((a.clone(), why.to_string()));
        }
        out
    }
}

impl Planned {
    /// The plan's instances the walk never came to, with why each fails.
    pub(super) fn unseen(&self, seen: &std::collections::HashSet<String>) -> Vec<(String, String)> {
        if !self.whole {
            return Vec::new();
        }
        let mut out: Vec<(String, String)> = self
            .by_block
            .values()
            .flatten()
            .filter(|a| !seen.contains(*a))
            .map(|a| {
                (
                    a.clone(),
                    "the saved plan has this instance, but apply no longer finds its module instance: what the module's count or for_each reads changed since the plan was made; run landform plan again".to_string(),
                )
            })
            .collect();
        out.sort();
        out
    }
}

/// Plan the instance again with what apply now knows (Terraform's final
/// plan), and compare: a value the saved plan knew that now differs is an
/// error naming the attribute. The final plan is what apply then carries out
/// (`ApplyRequest::planned`); `None` for what has no plan of its own (a read).
pub(super) fn final_plan(
    change: &ResourceChange,
    provider: &dyn Provider,
    prior: Option<&ResourceRecord>,
    config: &Object,
    unknown: &BTreeSet<String>,
    sensitive_now: &BTreeSet<String>,
) -> Result<Option<PlanResponse>, String> {
    let Some(after) = &change.after else { return Ok(None) };
    if change.action == Action::Read {
        return Ok(None);
    }
    let prior = if matches!(change.action, Action::Create) || change.action.is_replace() { None } else { prior };
    let req = PlanRequest {
        type_name: &change.type_name,
        prior: prior.map(|p| &p.attributes),
        config,
        unknown,
        prior_private: prior.map_or(&[][..], |p| &p.private[..]),
        partial: None,
    };
    let resp = provider.plan(req).map_err(|e| format!("planning it again at apply failed: {e}"))?;
    for (attr, was) in after {
        // Unknown then, or unknown still, or sensitive (blanked in the plan).
        if touches(&change.after_unknown, attr) || touches(&change.sensitive, attr) || touches(&resp.unknown, attr) {
            continue;
        }
        // The plan keeps no secret's text, wherever a provider copied it.
        let mut now = resp.planned.get(attr).cloned().unwrap_or(Json::Null);
        crate::sensitivity::redact_texts(&mut now);
        let now = &now;
        if now != was && touches(sensitive_now, attr) {
            return Err(format!(
                "Provider produced inconsistent final plan: when expanding the plan to include the values known during apply, .{attr} (sensitive, so not shown) differs from the saved plan's. Something the configuration reads changed since the plan was made; run landform plan again"
            ));
        }
        if now != was {
            return Err(format!(
                "Provider produced inconsistent final plan: when expanding the plan to include the values known during apply, .{attr} was {}, but now {}. Something the configuration reads (a file, a function's result) changed since the plan was made; run landform plan again",
                shown(was),
                shown(now)
            ));
        }
    }
    Ok(Some(resp))
}

/// A value in an error, cut short when long.
fn shown(v: &Json) -> String {
    let s = v.to_string();
    if s.chars().count() > 120 {
        format!("{}…", s.chars().take(120).collect::<String>())
    } else {
        s
    }
}

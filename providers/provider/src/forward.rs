//! The weighted forward of an Application Load Balancer as a rollout switch:
//! the weights of the target groups in the forward among a listener's
//! `default_action` or a listener rule's `action`, by ARN. The built-in `aws`
//! provider and hashicorp/aws (as a plugin) have the same shape, a forward
//! block holding `target_group { arn, weight }` blocks.

use crate::{MetricSource, Object, TrafficSwitch};
use serde_json::{json, Value};

/// The largest weight of a target group in a forward.
pub const WEIGHT_MAX: u32 = 999;

/// A listener (`default_action`) or a listener rule (`action`), with the
/// metric source its provider measures, if any.
pub struct ForwardSwitch {
    pub actions: &'static str,
    pub metric: Option<MetricSource>,
}

/// The target groups of the forward among `actions`.
fn forward_groups(actions: &Value) -> Option<&Vec<Value>> {
    actions.as_array()?.iter().find_map(|a| {
        let f = a.get("forward")?;
        let f = match f {
            Value::Array(x) => x.first()?,
            o => o,
        };
        f.get("target_group")?.as_array()
    })
}

impl TrafficSwitch for ForwardSwitch {
    fn weights_attribute(&self) -> &'static str {
        self.actions
    }

    fn weights(&self, attrs: &Object) -> Option<Object> {
        let groups = forward_groups(attrs.get(self.actions)?)?;
        Some(
            groups
                .iter()
                .filter_map(|g| {
                    Some((g.get("arn")?.as_str()?.to_string(), g.get("weight").cloned().unwrap_or(json!(1))))
                })
                .collect(),
        )
    }

    fn with_weights(&self, attrs: &Object, weights: &Object) -> Object {
        let mut out = attrs.clone();
        let Some(Value::Array(actions)) = out.get_mut(self.actions) else { return out };
        for a in actions.iter_mut() {
            let Some(f) = a.get_mut("forward") else { continue };
            let f = match f {
                Value::Array(x) => match x.first_mut() {
                    Some(f) => f,
                    None => continue,
                },
                o => o,
            };
            if let Some(Value::Array(groups)) = f.get_mut("target_group") {
                for g in groups.iter_mut() {
                    let arn = g.get("arn").and_then(Value::as_str).map(str::to_string);
                    if let (Some(arn), Some(o)) = (arn, g.as_object_mut()) {
                        if let Some(v) = weights.get(&arn) {
                            o.insert("weight".into(), v.clone());
                        }
                    }
                }
                // A group the forward lost (changed outside Landform) is put back.
                for (arn, v) in weights {
                    if !groups.iter().any(|g| g.get("arn").and_then(Value::as_str) == Some(arn)) {
                        groups.push(json!({ "arn": arn, "weight": v }));
                    }
                }
                break;
            }
        }
        out
    }

    fn max_weight(&self) -> u32 {
        WEIGHT_MAX
    }

    fn lone_target_is_drift(&self) -> bool {
        true
    }

    fn lacks_target(&self) -> &'static str {
        "forwards to no target group"
    }

    fn metric_source(&self) -> Option<MetricSource> {
        self.metric
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static LISTENER: ForwardSwitch = ForwardSwitch { actions: "default_action", metric: None };
    static RULE: ForwardSwitch = ForwardSwitch { actions: "action", metric: None };

    fn listener(forward: Value) -> Object {
        json!({ "port": 80, "default_action": [{ "type": "forward", "forward": forward }] })
            .as_object()
            .cloned()
            .unwrap()
    }

    #[test]
    fn a_listeners_weights_are_its_forwards_target_groups_by_arn() {
        // A forward block as a list (the schema's) or a single object; a group without a weight has ALB's 1.
        for forward in [
            json!([{ "target_group": [{ "arn": "arn:blue", "weight": 90 }, { "arn": "arn:green" }] }]),
            json!({ "target_group": [{ "arn": "arn:blue", "weight": 90 }, { "arn": "arn:green" }] }),
        ] {
            let w = LISTENER.weights(&listener(forward)).unwrap();
            assert_eq!(Value::Object(w), json!({ "arn:blue": 90, "arn:green": 1 }));
        }
        // No weighted forward: nothing to move traffic with.
        let fixed = json!({ "default_action": [{ "type": "fixed-response" }] }).as_object().cloned().unwrap();
        assert_eq!(LISTENER.weights(&fixed), None);
        // A rule's actions are `action`, not `default_action`.
        assert_eq!(RULE.weights(&listener(json!([{ "target_group": [] }]))), None);
    }

    #[test]
    fn setting_weights_keeps_other_groups_and_puts_back_a_lost_one() {
        let attrs = listener(
            json!([{ "target_group": [{ "arn": "arn:blue", "weight": 100 }, { "arn": "arn:x", "weight": 5 }] }]),
        );
        let w = json!({ "arn:blue": 40, "arn:green": 60 }).as_object().cloned().unwrap();
        let out = LISTENER.with_weights(&attrs, &w);
        assert_eq!(
            out["default_action"][0]["forward"][0]["target_group"],
            json!([{ "arn": "arn:blue", "weight": 40 }, { "arn": "arn:x", "weight": 5 }, { "arn": "arn:green", "weight": 60 }])
        );
        assert_eq!(out["port"], json!(80));
        // Read back, the weights set are there.
        let back = LISTENER.weights(&out).unwrap();
        assert_eq!((back["arn:blue"].clone(), back["arn:green"].clone()), (json!(40), json!(60)));
    }
}

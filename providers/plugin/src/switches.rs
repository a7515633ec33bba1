//! The rollout switches among plugin providers' types: hashicorp/aws's ALB
//! listeners and listener rules, whose weighted forward has the shape the
//! built-in `aws` provider's has (`landform_provider::forward`). Traffic moves
//! through the provider's own plan and apply; no metric source reads their
//! statistics (analysis uses `http` or `prometheus` metrics).

use landform_provider::forward::ForwardSwitch;
use landform_provider::TrafficSwitch;

static LISTENER: ForwardSwitch = ForwardSwitch { actions: "default_action", metric: None };
static RULE: ForwardSwitch = ForwardSwitch { actions: "action", metric: None };

/// The switch a type of the provider at `source` is, if any.
pub fn for_type(source: &str, type_name: &str) -> Option<&'static dyn TrafficSwitch> {
    if !source.ends_with("/hashicorp/aws") {
        return None;
    }
    match type_name {
        "aws_lb_listener" => Some(&LISTENER),
        "aws_lb_listener_rule" => Some(&RULE),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn hashicorp_aws_listeners_and_rules_are_switches_and_nothing_else_is() {
        let aws = "registry.terraform.io/hashicorp/aws";
        assert_eq!(super::for_type(aws, "aws_lb_listener").map(|s| s.weights_attribute()), Some("default_action"));
        assert_eq!(super::for_type(aws, "aws_lb_listener_rule").map(|s| s.weights_attribute()), Some("action"));
        assert!(super::for_type(aws, "aws_lb_target_group").is_none());
        assert!(super::for_type("registry.terraform.io/someone/aws", "aws_lb_listener").is_none());
        assert!(super::for_type(aws, "aws_lb_listener").and_then(|s| s.metric_source()).is_none());
    }
}

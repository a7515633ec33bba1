//! ALB listeners and listener rules as rollout switches: the weighted
//! forward (`landform_provider::forward`), measured through CloudWatch.

use landform_provider::forward::ForwardSwitch;
use landform_provider::MetricSource;

const CLOUDWATCH: Option<MetricSource> = Some(MetricSource {
    name: "cloudwatch",
    description: "the canary target group's 5xx share of requests, from CloudWatch (aws_lb_listener switches)",
    response_time: false,
});

pub(crate) static LISTENER: ForwardSwitch = ForwardSwitch { actions: "default_action", metric: CLOUDWATCH };
pub(crate) static RULE: ForwardSwitch = ForwardSwitch { actions: "action", metric: CLOUDWATCH };

#[cfg(test)]
mod tests {
    #[test]
    fn the_provider_offers_listeners_and_rules_as_switches_and_nothing_else() {
        use landform_provider::Provider;
        let p = crate::AwsProvider::new(crate::Settings::default());
        assert_eq!(p.switch("aws_lb_listener").map(|s| s.weights_attribute()), Some("default_action"));
        assert_eq!(p.switch("aws_lb_listener_rule").map(|s| s.weights_attribute()), Some("action"));
        assert!(p.switch("aws_lb_target_group").is_none() && p.switch("aws_lb").is_none());
        let s = p.switch("aws_lb_listener").unwrap();
        assert_eq!((s.max_weight(), s.metric_source().map(|m| m.name)), (999, Some("cloudwatch")));
    }
}

//! Listeners and listener rules, and their actions: a forward to one target
//! group, a weighted forward to up to five (with stickiness), a fixed
//! response, a redirect. AWS reports a forward both as `TargetGroupArn` and as
//! a `ForwardConfig`; the state keeps the shape the configuration wrote, so a
//! plan never shows a change that is only a spelling.

use crate::values::{items, n, s, single, strings};
use crate::{aws_error, not_found};
use aws_sdk_elasticloadbalancingv2 as elb;
use elb::types::{
    Action, ActionTypeEnum, Certificate, FixedResponseActionConfig, ForwardActionConfig, HostHeaderConditionConfig,
    HttpHeaderConditionConfig, PathPatternConditionConfig, ProtocolEnum, RedirectActionConfig,
    RedirectActionStatusCodeEnum, RuleCondition, Tag, TargetGroupStickinessConfig, TargetGroupTuple,
};
use landform_provider::{Object, ProviderError, Result};
use serde_json::{json, Value};

/// Configuration action blocks as SDK actions.
pub fn actions(blocks: &[&Object]) -> Vec<Action> {
    blocks
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let kind = s(a, "type").unwrap_or("forward");
            let mut b =
                Action::builder().r#type(ActionTypeEnum::from(kind)).order(n(a, "order").unwrap_or(i as i32 + 1));
            match kind {
                "forward" => {
                    if let Some(f) = single(a, "forward") {
                        let groups = items(f, "target_group")
                            .iter()
                            .map(|g| {
                                TargetGroupTuple::builder()
                                    .target_group_arn(s(g, "arn").unwrap_or_default())
                                    .set_weight(n(g, "weight"))
                                    .build()
                            })
                            .collect();
                        let sticky = single(f, "stickiness").map(|st| {
                            TargetGroupStickinessConfig::builder()
                                .set_enabled(st.get("enabled").and_then(Value::as_bool))
                                .set_duration_seconds(n(st, "duration"))
                                .build()
                        });
                        b = b.forward_config(
                            ForwardActionConfig::builder()
                                .set_target_groups(Some(groups))
                                .set_target_group_stickiness_config(sticky)
                                .build(),
                        );
                    } else {
                        b = b.set_target_group_arn(s(a, "target_group_arn").map(String::from));
                    }
                }
                "fixed-response" => {
                    if let Some(f) = single(a, "fixed_response") {
                        b = b.fixed_response_config(
                            FixedResponseActionConfig::builder()
                                .content_type(s(f, "content_type").unwrap_or("text/plain"))
                                .set_message_body(s(f, "message_body").map(String::from))
                                .status_code(s(f, "status_code").unwrap_or("200"))
                                .build(),
                        );
                    }
                }
                "redirect" => {
                    if let Some(r) = single(a, "redirect") {
                        let o = |k: &str| s(r, k).map(String::from);
                        b = b.redirect_config(
                            RedirectActionConfig::builder()
                                .status_code(RedirectActionStatusCodeEnum::from(
                                    s(r, "status_code").unwrap_or("HTTP_301"),
                                ))
                                .set_protocol(o("protocol"))
                                .set_port(o("port"))
                                .set_host(o("host"))
                                .set_path(o("path"))
                                .set_query(o("query"))
                                .build(),
                        );
                    }
                }
                _ => {}
            }
            b.build()
        })
        .collect()
}

/// SDK actions as state blocks, in the shape `written` (the prior or
/// configured blocks) used for each.
pub fn action_blocks(actions: &[Action], written: &[&Object]) -> Value {
    let mut sorted: Vec<&Action> = actions.iter().collect();
    sorted.sort_by_key(|a| a.order().unwrap_or(0));
    Value::Array(
        sorted
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let kind = a.r#type().map(|t| t.as_str()).unwrap_or("forward").to_string();
                let mut o = Object::new();
                o.insert("type".into(), json!(kind));
                o.insert("order".into(), a.order().map_or(Value::Null, |n| json!(n)));
                let prior = written.get(i).copied();
                match kind.as_str() {
                    "forward" => {
                        let mut groups: Vec<(&str, Option<i32>)> = a
                            .forward_config()
                            .map(|f| {
                                f.target_groups()
                                    .iter()
                                    .map(|g| (g.target_group_arn().unwrap_or_default(), g.weight()))
                                    .collect()
                            })
                            .unwrap_or_default();
                        // A plain forward (set by hand, say) is a forward to its one group.
                        if groups.is_empty() {
                            if let Some(arn) = a.target_group_arn() {
                                groups.push((arn, Some(1)));
                            }
                        }
                        let wrote_forward = prior.is_some_and(|p| p.get("forward").is_some_and(|f| !f.is_null()));
                        let simple = a
                            .target_group_arn()
                            .map(String::from)
                            .or_else(|| (groups.len() == 1).then(|| groups[0].0.to_string()));
                        if wrote_forward || (prior.is_none() && (groups.len() > 1 || simple.is_none())) {
                            let mut f = Object::new();
                            f.insert(
                                "target_group".into(),
                                Value::Array(
                                    groups
                                        .iter()
                                        .map(|(arn, w)| json!({ "arn": arn, "weight": w.unwrap_or(1) }))
                                        .collect(),
                                ),
                            );
                            if let Some(st) = a.forward_config().and_then(|f| f.target_group_stickiness_config()) {
                                f.insert(
                                    "stickiness".into(),
                                    json!({
                                        "enabled": st.enabled().unwrap_or(false),
                                        "duration": st.duration_seconds(),
                                    }),
                                );
                            }
                            o.insert("forward".into(), Value::Object(f));
                        } else {
                            o.insert("target_group_arn".into(), json!(simple));
                        }
                    }
                    "fixed-response" => {
                        if let Some(f) = a.fixed_response_config() {
                            o.insert(
                                "fixed_response".into(),
                                json!({
                                    "content_type": f.content_type(),
                                    "message_body": f.message_body(),
                                    "status_code": f.status_code(),
                                }),
                            );
                        }
                    }
                    "redirect" => {
                        if let Some(r) = a.redirect_config() {
                            o.insert(
                                "redirect".into(),
                                json!({
                                    "status_code": r.status_code().map(|c| c.as_str()),
                                    "protocol": r.protocol(),
                                    "port": r.port(),
                                    "host": r.host(),
                                    "path": r.path(),
                                    "query": r.query(),
                                }),
                            );
                        }
                    }
                    _ => {}
                }
                Value::Object(o)
            })
            .collect(),
    )
}

fn conditions(config: &Object) -> Vec<RuleCondition> {
    items(config, "condition")
        .iter()
        .filter_map(|c| {
            if let Some(p) = single(c, "path_pattern") {
                return Some(
                    RuleCondition::builder()
                        .field("path-pattern")
                        .path_pattern_config(
                            PathPatternConditionConfig::builder().set_values(Some(strings(p, "values"))).build(),
                        )
                        .build(),
                );
            }
            if let Some(h) = single(c, "host_header") {
                return Some(
                    RuleCondition::builder()
                        .field("host-header")
                        .host_header_config(
                            HostHeaderConditionConfig::builder().set_values(Some(strings(h, "values"))).build(),
                        )
                        .build(),
                );
            }
            single(c, "http_header").map(|h| {
                RuleCondition::builder()
                    .field("http-header")
                    .http_header_config(
                        HttpHeaderConditionConfig::builder()
                            .set_http_header_name(s(h, "http_header_name").map(String::from))
                            .set_values(Some(strings(h, "values")))
                            .build(),
                    )
                    .build()
            })
        })
        .collect()
}

fn condition_blocks(conds: &[RuleCondition]) -> Value {
    Value::Array(
        conds
            .iter()
            .filter_map(|c| {
                let legacy = c.values().to_vec();
                match c.field()? {
                    "path-pattern" => {
                        let v = c.path_pattern_config().map(|p| p.values().to_vec()).filter(|v| !v.is_empty()).unwrap_or(legacy);
                        Some(json!({ "path_pattern": { "values": v } }))
                    }
                    "host-header" => {
                        let v = c.host_header_config().map(|p| p.values().to_vec()).filter(|v| !v.is_empty()).unwrap_or(legacy);
                        Some(json!({ "host_header": { "values": v } }))
                    }
                    "http-header" => {
                        let h = c.http_header_config()?;
                        Some(json!({ "http_header": { "http_header_name": h.http_header_name(), "values": h.values() } }))
                    }
                    _ => None,
                }
            })
            .collect(),
    )
}

fn tags(config: &Object) -> Option<Vec<Tag>> {
    let t = crate::values::string_map(config, "tags");
    (!t.is_empty()).then(|| t.into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect())
}

fn certificates(config: &Object) -> Option<Vec<Certificate>> {
    s(config, "certificate_arn").map(|c| vec![Certificate::builder().certificate_arn(c).build()])
}

fn protocol(config: &Object) -> ProtocolEnum {
    ProtocolEnum::from(
        s(config, "protocol").unwrap_or(if config.get("certificate_arn").is_some_and(|v| !v.is_null()) {
            "HTTPS"
        } else {
            "HTTP"
        }),
    )
}

pub async fn create_listener(c: &elb::Client, config: &Object) -> Result<String> {
    let out = c
        .create_listener()
        .load_balancer_arn(s(config, "load_balancer_arn").unwrap_or_default())
        .set_port(n(config, "port"))
        .protocol(protocol(config))
        .set_certificates(certificates(config))
        .set_ssl_policy(s(config, "ssl_policy").map(String::from))
        .set_default_actions(Some(actions(&items(config, "default_action"))))
        .set_tags(tags(config))
        .send()
        .await
        .map_err(|e| aws_error("CreateListener", e))?;
    out.listeners()
        .first()
        .and_then(|l| l.listener_arn())
        .map(String::from)
        .ok_or_else(|| ProviderError::new("AWS CreateListener returned no listener", ""))
}

pub async fn update_listener(c: &elb::Client, arn: &str, config: &Object) -> Result<()> {
    c.modify_listener()
        .listener_arn(arn)
        .set_port(n(config, "port"))
        .protocol(protocol(config))
        .set_certificates(certificates(config))
        .set_ssl_policy(s(config, "ssl_policy").map(String::from))
        .set_default_actions(Some(actions(&items(config, "default_action"))))
        .send()
        .await
        .map_err(|e| aws_error("ModifyListener", e))?;
    Ok(())
}

pub async fn read_listener(c: &elb::Client, arn: &str, prior: &Object) -> Result<Option<Object>> {
    let out = match c.describe_listeners().listener_arns(arn).send().await {
        Ok(o) => o,
        Err(e) if not_found(&e) => return Ok(None),
        Err(e) => return Err(aws_error("DescribeListeners", e)),
    };
    let Some(l) = out.listeners().first() else { return Ok(None) };
    let mut o = Object::new();
    o.insert("id".into(), json!(arn));
    o.insert("arn".into(), json!(arn));
    o.insert("load_balancer_arn".into(), json!(l.load_balancer_arn()));
    o.insert("port".into(), l.port().map_or(Value::Null, |p| json!(p)));
    o.insert("protocol".into(), l.protocol().map_or(Value::Null, |p| json!(p.as_str())));
    o.insert("ssl_policy".into(), l.ssl_policy().map_or(Value::Null, |p| json!(p)));
    if let Some(cert) = l.certificates().first().and_then(|c| c.certificate_arn()) {
        o.insert("certificate_arn".into(), json!(cert));
    }
    o.insert("default_action".into(), action_blocks(l.default_actions(), &items(prior, "default_action")));
    Ok(Some(o))
}

pub async fn create_rule(c: &elb::Client, config: &Object) -> Result<String> {
    let out = c
        .create_rule()
        .listener_arn(s(config, "listener_arn").unwrap_or_default())
        .set_priority(n(config, "priority"))
        .set_conditions(Some(conditions(config)))
        .set_actions(Some(actions(&items(config, "action"))))
        .set_tags(tags(config))
        .send()
        .await
        .map_err(|e| aws_error("CreateRule", e))?;
    out.rules()
        .first()
        .and_then(|r| r.rule_arn())
        .map(String::from)
        .ok_or_else(|| ProviderError::new("AWS CreateRule returned no rule", ""))
}

pub async fn update_rule(c: &elb::Client, arn: &str, prior: &Object, config: &Object) -> Result<()> {
    c.modify_rule()
        .rule_arn(arn)
        .set_conditions(Some(conditions(config)))
        .set_actions(Some(actions(&items(config, "action"))))
        .send()
        .await
        .map_err(|e| aws_error("ModifyRule", e))?;
    // Only a new priority: AWS refuses to give a rule the priority it already has.
    if let Some(p) = n(config, "priority").filter(|p| n(prior, "priority") != Some(*p)) {
        c.set_rule_priorities()
            .rule_priorities(elb::types::RulePriorityPair::builder().rule_arn(arn).priority(p).build())
            .send()
            .await
            .map_err(|e| aws_error("SetRulePriorities", e))?;
    }
    Ok(())
}

pub async fn read_rule(c: &elb::Client, arn: &str, prior: &Object) -> Result<Option<Object>> {
    let out = match c.describe_rules().rule_arns(arn).send().await {
        Ok(o) => o,
        Err(e) if not_found(&e) => return Ok(None),
        Err(e) => return Err(aws_error("DescribeRules", e)),
    };
    let Some(r) = out.rules().first() else { return Ok(None) };
    let mut o = Object::new();
    o.insert("id".into(), json!(arn));
    o.insert("arn".into(), json!(arn));
    // AWS does not say which listener a rule is on: it is part of the ARN's path.
    let listener = s(prior, "listener_arn").map(String::from).unwrap_or_else(|| {
        arn.replacen(":listener-rule/", ":listener/", 1)
            .rsplit_once('/')
            .map(|(l, _)| l.to_string())
            .unwrap_or_default()
    });
    o.insert("listener_arn".into(), json!(listener));
    o.insert("priority".into(), r.priority().and_then(|p| p.parse::<i64>().ok()).map_or(Value::Null, |p| json!(p)));
    o.insert("action".into(), action_blocks(r.actions(), &items(prior, "action")));
    o.insert("condition".into(), condition_blocks(r.conditions()));
    Ok(Some(o))
}

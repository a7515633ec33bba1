//! Load balancers, target groups and target group attachments; the
//! dispatch of create, update, delete and read by type.

use crate::listener;
use crate::values::{arn_suffix, b, n, s, set_like, single, string_map, strings, tags_value};
use crate::{aws_error, not_found};
use aws_sdk_elasticloadbalancingv2 as elb;
use elb::types::{
    LoadBalancerAttribute, LoadBalancerSchemeEnum, LoadBalancerStateEnum, LoadBalancerTypeEnum, Matcher, ProtocolEnum,
    Tag, TargetDescription, TargetGroupAttribute, TargetTypeEnum,
};
use landform_provider::{Object, ProviderError, Result};
use serde_json::{json, Value};
use std::time::Duration;

/// How long a new load balancer may take to become active.
const ACTIVE_TIMEOUT: Duration = Duration::from_secs(600);

pub async fn create(c: &elb::Client, t: &str, config: &Object) -> Result<Object> {
    let arn = match t {
        "aws_lb" => create_lb(c, config).await?,
        "aws_lb_target_group" => create_target_group(c, config).await?,
        "aws_lb_listener" => listener::create_listener(c, config).await?,
        "aws_lb_listener_rule" => listener::create_rule(c, config).await?,
        "aws_lb_target_group_attachment" => attach(c, config).await?,
        _ => return Err(ProviderError::new("Unknown resource type", t.to_string())),
    };
    let mut prior = config.clone();
    prior.insert("id".into(), json!(arn));
    prior.insert("arn".into(), json!(arn));
    read(c, t, &prior).await?.ok_or_else(|| {
        ProviderError::new("Created object not found", format!("AWS does not list the {t} it just created ({arn})."))
    })
}

pub async fn update(c: &elb::Client, t: &str, prior: &Object, config: &Object) -> Result<Object> {
    let arn = s(prior, "id").unwrap_or_default().to_string();
    match t {
        "aws_lb" => update_lb(c, &arn, config).await?,
        "aws_lb_target_group" => update_target_group(c, &arn, config).await?,
        "aws_lb_listener" => listener::update_listener(c, &arn, config).await?,
        "aws_lb_listener_rule" => listener::update_rule(c, &arn, prior, config).await?,
        _ => {}
    }
    if t != "aws_lb_target_group_attachment" {
        set_tags(c, &arn, prior, config).await?;
    }
    let mut next = config.clone();
    next.insert("id".into(), json!(arn));
    read(c, t, &next).await?.ok_or_else(|| ProviderError::new("Object not found", format!("{t} {arn} disappeared")))
}

pub async fn delete(c: &elb::Client, t: &str, prior: &Object) -> Result<()> {
    let arn = s(prior, "id").unwrap_or_default().to_string();
    let r = match t {
        "aws_lb" => c.delete_load_balancer().load_balancer_arn(&arn).send().await.map(|_| ()).map_err(|e| {
            if not_found(&e) {
                None
            } else {
                Some(aws_error("DeleteLoadBalancer", e))
            }
        }),
        "aws_lb_target_group" => c.delete_target_group().target_group_arn(&arn).send().await.map(|_| ()).map_err(|e| {
            if not_found(&e) {
                None
            } else {
                Some(aws_error("DeleteTargetGroup", e))
            }
        }),
        "aws_lb_listener" => c.delete_listener().listener_arn(&arn).send().await.map(|_| ()).map_err(|e| {
            if not_found(&e) {
                None
            } else {
                Some(aws_error("DeleteListener", e))
            }
        }),
        "aws_lb_listener_rule" => c.delete_rule().rule_arn(&arn).send().await.map(|_| ()).map_err(|e| {
            if not_found(&e) {
                None
            } else {
                Some(aws_error("DeleteRule", e))
            }
        }),
        "aws_lb_target_group_attachment" => detach(c, prior).await.map_err(Some),
        _ => Ok(()),
    };
    match r {
        Ok(()) | Err(None) => Ok(()),
        Err(Some(e)) => Err(e),
    }
}

/// The object as AWS has it now, `None` when it is gone. `prior` carries the
/// id and, for shapes AWS reports in more than one way, how the
/// configuration wrote them.
pub async fn read(c: &elb::Client, t: &str, prior: &Object) -> Result<Option<Object>> {
    let id = s(prior, "id").unwrap_or_default().to_string();
    let mut obj = match t {
        "aws_lb" => read_lb(c, &id, prior).await?,
        "aws_lb_target_group" => read_target_group(c, &id).await?,
        "aws_lb_listener" => listener::read_listener(c, &id, prior).await?,
        "aws_lb_listener_rule" => listener::read_rule(c, &id, prior).await?,
        "aws_lb_target_group_attachment" => return read_attachment(c, prior).await,
        _ => return Err(ProviderError::new("Unknown resource type", t.to_string())),
    };
    if let Some(o) = obj.as_mut() {
        let tags = get_tags(c, &id).await?;
        if !tags.is_empty() || prior.get("tags").is_some_and(|v| !v.is_null()) {
            o.insert("tags".into(), tags_value(&tags));
        }
    }
    Ok(obj)
}

/// The id of the object an interrupted create may have made from `planned`,
/// found by what AWS keeps unique: a load balancer's or target group's name
/// (per region), a listener's port on its load balancer, a rule's priority on
/// its listener, an attachment's target group, target and port.
pub async fn find(c: &elb::Client, t: &str, planned: &Object) -> Result<Option<String>> {
    let name = s(planned, "name").unwrap_or_default().to_string();
    Ok(match t {
        "aws_lb" if !name.is_empty() => match c.describe_load_balancers().names(&name).send().await {
            Ok(o) => o.load_balancers().first().and_then(|l| l.load_balancer_arn()).map(String::from),
            Err(e) if not_found(&e) => None,
            Err(e) => return Err(aws_error("DescribeLoadBalancers", e)),
        },
        "aws_lb_target_group" if !name.is_empty() => match c.describe_target_groups().names(&name).send().await {
            Ok(o) => o.target_groups().first().and_then(|g| g.target_group_arn()).map(String::from),
            Err(e) if not_found(&e) => None,
            Err(e) => return Err(aws_error("DescribeTargetGroups", e)),
        },
        "aws_lb_listener" => {
            let (Some(lb), Some(port)) = (s(planned, "load_balancer_arn"), n(planned, "port")) else { return Ok(None) };
            match c.describe_listeners().load_balancer_arn(lb).send().await {
                Ok(o) => o
                    .listeners()
                    .iter()
                    .find(|l| l.port() == Some(port))
                    .and_then(|l| l.listener_arn())
                    .map(String::from),
                Err(e) if not_found(&e) => None,
                Err(e) => return Err(aws_error("DescribeListeners", e)),
            }
        }
        "aws_lb_listener_rule" => {
            let (Some(listener), Some(priority)) = (s(planned, "listener_arn"), n(planned, "priority")) else {
                return Ok(None);
            };
            match c.describe_rules().listener_arn(listener).send().await {
                Ok(o) => o
                    .rules()
                    .iter()
                    .find(|r| r.priority() == Some(priority.to_string().as_str()))
                    .and_then(|r| r.rule_arn())
                    .map(String::from),
                Err(e) if not_found(&e) => None,
                Err(e) => return Err(aws_error("DescribeRules", e)),
            }
        }
        "aws_lb_target_group_attachment" => {
            read_attachment(c, planned).await?.and_then(|o| s(&o, "id").map(String::from))
        }
        _ => None,
    })
}

/// What `read` needs to find an object by the id `landform import` was given.
pub fn import_prior(t: &str, id: &str) -> Result<Object> {
    let mut o = Object::new();
    if t == "aws_lb_target_group_attachment" {
        let parts: Vec<&str> = id.split('|').collect();
        let [tg, target, rest @ ..] = parts.as_slice() else {
            return Err(ProviderError::new(
                "Invalid import id",
                "An attachment is imported as TARGET_GROUP_ARN|TARGET_ID or TARGET_GROUP_ARN|TARGET_ID|PORT.",
            ));
        };
        o.insert("target_group_arn".into(), json!(tg));
        o.insert("target_id".into(), json!(target));
        if let Some(p) = rest.first().and_then(|p| p.parse::<i64>().ok()) {
            o.insert("port".into(), json!(p));
        }
    }
    o.insert("id".into(), json!(id));
    Ok(o)
}

fn tag_list(config: &Object) -> Option<Vec<Tag>> {
    let tags = string_map(config, "tags");
    (!tags.is_empty()).then(|| tags.into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect())
}

async fn get_tags(c: &elb::Client, arn: &str) -> Result<Vec<(String, String)>> {
    let out = match c.describe_tags().resource_arns(arn).send().await {
        Ok(o) => o,
        Err(e) if not_found(&e) => return Ok(Vec::new()),
        Err(e) => return Err(aws_error("DescribeTags", e)),
    };
    let mut tags: Vec<(String, String)> = out
        .tag_descriptions()
        .iter()
        .flat_map(|d| d.tags().iter())
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string())))
        .collect();
    tags.sort();
    Ok(tags)
}

async fn set_tags(c: &elb::Client, arn: &str, prior: &Object, config: &Object) -> Result<()> {
    let old = string_map(prior, "tags");
    let new = string_map(config, "tags");
    let removed: Vec<String> =
        old.iter().filter(|(k, _)| !new.iter().any(|(n, _)| n == k)).map(|(k, _)| k.clone()).collect();
    if !removed.is_empty() {
        c.remove_tags()
            .resource_arns(arn)
            .set_tag_keys(Some(removed))
            .send()
            .await
            .map_err(|e| aws_error("RemoveTags", e))?;
    }
    let added: Vec<Tag> =
        new.iter().filter(|kv| !old.contains(kv)).map(|(k, v)| Tag::builder().key(k).value(v).build()).collect();
    if !added.is_empty() {
        c.add_tags().resource_arns(arn).set_tags(Some(added)).send().await.map_err(|e| aws_error("AddTags", e))?;
    }
    Ok(())
}

// ---- aws_lb ----

async fn create_lb(c: &elb::Client, config: &Object) -> Result<String> {
    let scheme = if b(config, "internal") == Some(true) {
        LoadBalancerSchemeEnum::Internal
    } else {
        LoadBalancerSchemeEnum::InternetFacing
    };
    let kind = s(config, "load_balancer_type").unwrap_or("application");
    let sgs = strings(config, "security_groups");
    let out = c
        .create_load_balancer()
        .name(s(config, "name").unwrap_or_default())
        .set_subnets(Some(strings(config, "subnets")))
        .set_security_groups((!sgs.is_empty()).then_some(sgs))
        .scheme(scheme)
        .r#type(LoadBalancerTypeEnum::from(kind))
        .set_tags(tag_list(config))
        .send()
        .await
        .map_err(|e| aws_error("CreateLoadBalancer", e))?;
    let arn = out
        .load_balancers()
        .first()
        .and_then(|l| l.load_balancer_arn())
        .ok_or_else(|| ProviderError::new("AWS CreateLoadBalancer returned no load balancer", ""))?
        .to_string();
    if let Some(t) = n(config, "idle_timeout") {
        set_lb_attribute(c, &arn, "idle_timeout.timeout_seconds", &t.to_string()).await?;
    }
    wait_active(c, &arn).await?;
    Ok(arn)
}

async fn wait_active(c: &elb::Client, arn: &str) -> Result<()> {
    let start = std::time::Instant::now();
    loop {
        let out = c
            .describe_load_balancers()
            .load_balancer_arns(arn)
            .send()
            .await
            .map_err(|e| aws_error("DescribeLoadBalancers", e))?;
        let state = out.load_balancers().first().and_then(|l| l.state()).and_then(|s| s.code()).cloned();
        match state {
            Some(LoadBalancerStateEnum::Active) | None => return Ok(()),
            Some(LoadBalancerStateEnum::Failed) => {
                return Err(ProviderError::new("Load balancer failed", format!("{arn} is in state failed")))
            }
            _ if start.elapsed() > ACTIVE_TIMEOUT => {
                return Err(ProviderError::new(
                    "Timed out waiting for the load balancer",
                    format!("{arn} was not active after {} s", ACTIVE_TIMEOUT.as_secs()),
                ))
            }
            _ => tokio::time::sleep(Duration::from_secs(2)).await,
        }
    }
}

async fn set_lb_attribute(c: &elb::Client, arn: &str, key: &str, value: &str) -> Result<()> {
    c.modify_load_balancer_attributes()
        .load_balancer_arn(arn)
        .attributes(LoadBalancerAttribute::builder().key(key).value(value).build())
        .send()
        .await
        .map_err(|e| aws_error("ModifyLoadBalancerAttributes", e))?;
    Ok(())
}

async fn update_lb(c: &elb::Client, arn: &str, config: &Object) -> Result<()> {
    c.set_subnets()
        .load_balancer_arn(arn)
        .set_subnets(Some(strings(config, "subnets")))
        .send()
        .await
        .map_err(|e| aws_error("SetSubnets", e))?;
    let sgs = strings(config, "security_groups");
    if !sgs.is_empty() {
        c.set_security_groups()
            .load_balancer_arn(arn)
            .set_security_groups(Some(sgs))
            .send()
            .await
            .map_err(|e| aws_error("SetSecurityGroups", e))?;
    }
    if let Some(t) = n(config, "idle_timeout") {
        set_lb_attribute(c, arn, "idle_timeout.timeout_seconds", &t.to_string()).await?;
    }
    Ok(())
}

async fn read_lb(c: &elb::Client, arn: &str, prior: &Object) -> Result<Option<Object>> {
    let out = match c.describe_load_balancers().load_balancer_arns(arn).send().await {
        Ok(o) => o,
        Err(e) if not_found(&e) => return Ok(None),
        Err(e) => return Err(aws_error("DescribeLoadBalancers", e)),
    };
    let Some(lb) = out.load_balancers().first() else { return Ok(None) };
    let attrs = c
        .describe_load_balancer_attributes()
        .load_balancer_arn(arn)
        .send()
        .await
        .map_err(|e| aws_error("DescribeLoadBalancerAttributes", e))?;
    let idle = attrs
        .attributes()
        .iter()
        .find(|a| a.key() == Some("idle_timeout.timeout_seconds"))
        .and_then(|a| a.value())
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(60);
    let subnets = set_like(
        prior,
        "subnets",
        lb.availability_zones().iter().filter_map(|z| z.subnet_id().map(String::from)).collect(),
    );
    let sgs = set_like(prior, "security_groups", lb.security_groups().to_vec());
    let mut o = Object::new();
    o.insert("id".into(), json!(arn));
    o.insert("arn".into(), json!(arn));
    o.insert("arn_suffix".into(), json!(arn_suffix(arn)));
    o.insert("name".into(), json!(lb.load_balancer_name()));
    o.insert("internal".into(), json!(lb.scheme() == Some(&LoadBalancerSchemeEnum::Internal)));
    o.insert("load_balancer_type".into(), json!(lb.r#type().map(|t| t.as_str()).unwrap_or("application")));
    o.insert("subnets".into(), json!(subnets));
    o.insert("security_groups".into(), json!(sgs));
    o.insert("idle_timeout".into(), json!(idle));
    o.insert("dns_name".into(), json!(lb.dns_name()));
    o.insert("zone_id".into(), json!(lb.canonical_hosted_zone_id()));
    o.insert("vpc_id".into(), json!(lb.vpc_id()));
    Ok(Some(o))
}

// ---- aws_lb_target_group ----

async fn create_target_group(c: &elb::Client, config: &Object) -> Result<String> {
    let hc = single(config, "health_check");
    let hs = |k: &str| hc.and_then(|h| s(h, k)).map(String::from);
    let hn = |k: &str| hc.and_then(|h| n(h, k));
    let out = c
        .create_target_group()
        .name(s(config, "name").unwrap_or_default())
        .set_port(n(config, "port"))
        .set_protocol(s(config, "protocol").map(ProtocolEnum::from))
        .set_vpc_id(s(config, "vpc_id").map(String::from))
        .set_target_type(s(config, "target_type").map(TargetTypeEnum::from))
        .set_health_check_enabled(hc.and_then(|h| b(h, "enabled")))
        .set_health_check_path(hs("path"))
        .set_health_check_port(hs("port"))
        .set_health_check_protocol(hs("protocol").as_deref().map(ProtocolEnum::from))
        .set_health_check_interval_seconds(hn("interval"))
        .set_health_check_timeout_seconds(hn("timeout"))
        .set_healthy_threshold_count(hn("healthy_threshold"))
        .set_unhealthy_threshold_count(hn("unhealthy_threshold"))
        .set_matcher(hs("matcher").map(|m| Matcher::builder().http_code(m).build()))
        .set_tags(tag_list(config))
        .send()
        .await
        .map_err(|e| aws_error("CreateTargetGroup", e))?;
    let arn = out
        .target_groups()
        .first()
        .and_then(|g| g.target_group_arn())
        .ok_or_else(|| ProviderError::new("AWS CreateTargetGroup returned no target group", ""))?
        .to_string();
    if let Some(d) = n(config, "deregistration_delay") {
        set_tg_attribute(c, &arn, "deregistration_delay.timeout_seconds", &d.to_string()).await?;
    }
    Ok(arn)
}

async fn set_tg_attribute(c: &elb::Client, arn: &str, key: &str, value: &str) -> Result<()> {
    c.modify_target_group_attributes()
        .target_group_arn(arn)
        .attributes(TargetGroupAttribute::builder().key(key).value(value).build())
        .send()
        .await
        .map_err(|e| aws_error("ModifyTargetGroupAttributes", e))?;
    Ok(())
}

async fn update_target_group(c: &elb::Client, arn: &str, config: &Object) -> Result<()> {
    if let Some(hc) = single(config, "health_check") {
        c.modify_target_group()
            .target_group_arn(arn)
            .set_health_check_enabled(b(hc, "enabled"))
            .set_health_check_path(s(hc, "path").map(String::from))
            .set_health_check_port(s(hc, "port").map(String::from))
            .set_health_check_protocol(s(hc, "protocol").map(ProtocolEnum::from))
            .set_health_check_interval_seconds(n(hc, "interval"))
            .set_health_check_timeout_seconds(n(hc, "timeout"))
            .set_healthy_threshold_count(n(hc, "healthy_threshold"))
            .set_unhealthy_threshold_count(n(hc, "unhealthy_threshold"))
            .set_matcher(s(hc, "matcher").map(|m| Matcher::builder().http_code(m).build()))
            .send()
            .await
            .map_err(|e| aws_error("ModifyTargetGroup", e))?;
    }
    if let Some(d) = n(config, "deregistration_delay") {
        set_tg_attribute(c, arn, "deregistration_delay.timeout_seconds", &d.to_string()).await?;
    }
    Ok(())
}

async fn read_target_group(c: &elb::Client, arn: &str) -> Result<Option<Object>> {
    let out = match c.describe_target_groups().target_group_arns(arn).send().await {
        Ok(o) => o,
        Err(e) if not_found(&e) => return Ok(None),
        Err(e) => return Err(aws_error("DescribeTargetGroups", e)),
    };
    let Some(g) = out.target_groups().first() else { return Ok(None) };
    let attrs = c
        .describe_target_group_attributes()
        .target_group_arn(arn)
        .send()
        .await
        .map_err(|e| aws_error("DescribeTargetGroupAttributes", e))?;
    let delay = attrs
        .attributes()
        .iter()
        .find(|a| a.key() == Some("deregistration_delay.timeout_seconds"))
        .and_then(|a| a.value())
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(300);
    let mut o = Object::new();
    o.insert("id".into(), json!(arn));
    o.insert("arn".into(), json!(arn));
    o.insert("arn_suffix".into(), json!(arn_suffix(arn)));
    o.insert("name".into(), json!(g.target_group_name()));
    o.insert("port".into(), g.port().map_or(Value::Null, |p| json!(p)));
    o.insert("protocol".into(), g.protocol().map_or(Value::Null, |p| json!(p.as_str())));
    o.insert("vpc_id".into(), g.vpc_id().map_or(Value::Null, |v| json!(v)));
    o.insert("target_type".into(), json!(g.target_type().map(|t| t.as_str()).unwrap_or("instance")));
    o.insert("deregistration_delay".into(), json!(delay));
    o.insert(
        "health_check".into(),
        json!({
            "enabled": g.health_check_enabled().unwrap_or(true),
            "path": g.health_check_path(),
            "port": g.health_check_port(),
            "protocol": g.health_check_protocol().map(|p| p.as_str()),
            "interval": g.health_check_interval_seconds(),
            "timeout": g.health_check_timeout_seconds(),
            "healthy_threshold": g.healthy_threshold_count(),
            "unhealthy_threshold": g.unhealthy_threshold_count(),
            "matcher": g.matcher().and_then(|m| m.http_code()),
        }),
    );
    Ok(Some(o))
}

// ---- aws_lb_target_group_attachment ----

fn target(config: &Object) -> TargetDescription {
    TargetDescription::builder().id(s(config, "target_id").unwrap_or_default()).set_port(n(config, "port")).build()
}

fn attachment_id(config: &Object) -> String {
    let mut id =
        format!("{}|{}", s(config, "target_group_arn").unwrap_or_default(), s(config, "target_id").unwrap_or_default());
    if let Some(p) = n(config, "port") {
        id.push_str(&format!("|{p}"));
    }
    id
}

async fn attach(c: &elb::Client, config: &Object) -> Result<String> {
    c.register_targets()
        .target_group_arn(s(config, "target_group_arn").unwrap_or_default())
        .targets(target(config))
        .send()
        .await
        .map_err(|e| aws_error("RegisterTargets", e))?;
    Ok(attachment_id(config))
}

async fn detach(c: &elb::Client, prior: &Object) -> Result<()> {
    match c
        .deregister_targets()
        .target_group_arn(s(prior, "target_group_arn").unwrap_or_default())
        .targets(target(prior))
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if not_found(&e) => Ok(()),
        Err(e) => Err(aws_error("DeregisterTargets", e)),
    }
}

async fn read_attachment(c: &elb::Client, prior: &Object) -> Result<Option<Object>> {
    let tg = s(prior, "target_group_arn").unwrap_or_default();
    let out = match c.describe_target_health().target_group_arn(tg).send().await {
        Ok(o) => o,
        Err(e) if not_found(&e) => return Ok(None),
        Err(e) => return Err(aws_error("DescribeTargetHealth", e)),
    };
    let want_id = s(prior, "target_id").unwrap_or_default();
    let want_port = n(prior, "port");
    let found = out
        .target_health_descriptions()
        .iter()
        .filter_map(|d| d.target())
        .find(|t| t.id() == Some(want_id) && (want_port.is_none() || t.port() == want_port));
    Ok(found.map(|t| {
        let mut o = Object::new();
        o.insert("target_group_arn".into(), json!(tg));
        o.insert("target_id".into(), json!(want_id));
        o.insert("port".into(), want_port.or(t.port()).map_or(Value::Null, |p| json!(p)));
        o.insert("id".into(), json!(attachment_id(&o)));
        o
    }))
}

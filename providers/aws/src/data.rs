//! Data sources: a load balancer and a target group found by name or ARN,
//! and the health of a target group's targets.

use crate::values::s;
use crate::{aws_error, not_found};
use aws_sdk_elasticloadbalancingv2 as elb;
use landform_provider::{Object, ProviderError, Result};
use serde_json::{json, Value};

pub async fn read(c: &elb::Client, t: &str, config: &Object) -> Result<Object> {
    let mut o = config.clone();
    match t {
        "aws_lb" => {
            let req = match (s(config, "arn"), s(config, "name")) {
                (Some(arn), _) => c.describe_load_balancers().load_balancer_arns(arn),
                (None, Some(name)) => c.describe_load_balancers().names(name),
                _ => return Err(ProviderError::new("Missing argument", "data \"aws_lb\" needs name or arn.")),
            };
            let out =
                req.send().await.map_err(|e| lookup_error("load balancer", config, "DescribeLoadBalancers", e))?;
            let lb = out.load_balancers().first().ok_or_else(|| missing("load balancer", config))?;
            let mut subnets: Vec<&str> = lb.availability_zones().iter().filter_map(|z| z.subnet_id()).collect();
            subnets.sort();
            o.insert("arn".into(), json!(lb.load_balancer_arn()));
            o.insert("name".into(), json!(lb.load_balancer_name()));
            o.insert("dns_name".into(), json!(lb.dns_name()));
            o.insert("zone_id".into(), json!(lb.canonical_hosted_zone_id()));
            o.insert("vpc_id".into(), json!(lb.vpc_id()));
            o.insert("internal".into(), json!(lb.scheme().map(|s| s.as_str()) == Some("internal")));
            o.insert("subnets".into(), json!(subnets));
            o.insert("security_groups".into(), json!(lb.security_groups()));
        }
        "aws_lb_target_group" => {
            let req = match (s(config, "arn"), s(config, "name")) {
                (Some(arn), _) => c.describe_target_groups().target_group_arns(arn),
                (None, Some(name)) => c.describe_target_groups().names(name),
                _ => {
                    return Err(ProviderError::new(
                        "Missing argument",
                        "data \"aws_lb_target_group\" needs name or arn.",
                    ))
                }
            };
            let out = req.send().await.map_err(|e| lookup_error("target group", config, "DescribeTargetGroups", e))?;
            let g = out.target_groups().first().ok_or_else(|| missing("target group", config))?;
            o.insert("arn".into(), json!(g.target_group_arn()));
            o.insert("name".into(), json!(g.target_group_name()));
            o.insert("port".into(), g.port().map_or(Value::Null, |p| json!(p)));
            o.insert("protocol".into(), g.protocol().map_or(Value::Null, |p| json!(p.as_str())));
            o.insert("vpc_id".into(), json!(g.vpc_id()));
            o.insert("target_type".into(), json!(g.target_type().map(|t| t.as_str())));
        }
        "aws_lb_target_health" => {
            let arn = s(config, "target_group_arn").unwrap_or_default();
            let out = c
                .describe_target_health()
                .target_group_arn(arn)
                .send()
                .await
                .map_err(|e| aws_error("DescribeTargetHealth", e))?;
            let targets: Vec<Value> = out
                .target_health_descriptions()
                .iter()
                .map(|d| {
                    let t = d.target();
                    let h = d.target_health();
                    json!({
                        "id": t.and_then(|t| t.id()),
                        "port": t.and_then(|t| t.port()),
                        "state": h.and_then(|h| h.state()).map(|s| s.as_str()),
                        "reason": h.and_then(|h| h.reason()).map(|r| r.as_str()),
                    })
                })
                .collect();
            let healthy = targets.iter().filter(|t| t["state"] == "healthy").count();
            o.insert("targets".into(), Value::Array(targets));
            o.insert("healthy".into(), json!(healthy));
        }
        _ => return Err(ProviderError::new("Unknown data source", t.to_string())),
    }
    Ok(o)
}

fn missing(what: &str, config: &Object) -> ProviderError {
    ProviderError::new(
        format!("No such {what}"),
        format!("AWS has no {what} named {}.", s(config, "arn").or(s(config, "name")).unwrap_or("?")),
    )
}

fn lookup_error<E, R>(what: &str, config: &Object, op: &str, e: elb::error::SdkError<E, R>) -> ProviderError
where
    E: elb::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    if not_found(&e) {
        missing(what, config)
    } else {
        aws_error(op, e)
    }
}

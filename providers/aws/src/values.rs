//! Reading configuration objects, building state objects, and the checks
//! beyond the schema (weights 0–999, HTTPS needs a certificate…).

use landform_provider::{Object, ProviderError};
use serde_json::{json, Value};

pub fn s<'a>(o: &'a Object, k: &str) -> Option<&'a str> {
    o.get(k).and_then(Value::as_str)
}

pub fn n(o: &Object, k: &str) -> Option<i32> {
    o.get(k).and_then(Value::as_f64).map(|f| f as i32)
}

pub fn b(o: &Object, k: &str) -> Option<bool> {
    o.get(k).and_then(Value::as_bool)
}

pub fn strings(o: &Object, k: &str) -> Vec<String> {
    o.get(k)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
        .unwrap_or_default()
}

/// A map of strings (tags), sorted.
pub fn string_map(o: &Object, k: &str) -> Vec<(String, String)> {
    o.get(k)
        .and_then(Value::as_object)
        .map(|m| {
            m.iter().map(|(k, v)| (k.clone(), v.as_str().map(String::from).unwrap_or_else(|| v.to_string()))).collect()
        })
        .unwrap_or_default()
}

/// A single nested block: its object, whether written as an object or a list of one.
pub fn single<'a>(o: &'a Object, k: &str) -> Option<&'a Object> {
    match o.get(k)? {
        Value::Object(m) => Some(m),
        Value::Array(a) => a.first().and_then(Value::as_object),
        _ => None,
    }
}

/// The items of a list block.
pub fn items<'a>(o: &'a Object, k: &str) -> Vec<&'a Object> {
    landform_provider::block_items(o.get(k).unwrap_or(&Value::Null))
}

/// Tags as the state keeps them: absent when there are none and none were configured.
pub fn tags_value(tags: &[(String, String)]) -> Value {
    Value::Object(tags.iter().map(|(k, v)| (k.clone(), json!(v))).collect())
}

/// A list AWS treats as a set (subnets, security groups), in the order the
/// configuration wrote it when it holds the same members, else sorted.
pub fn set_like(prior: &Object, k: &str, mut now: Vec<String>) -> Vec<String> {
    let written = strings(prior, k);
    let mut a = written.clone();
    a.sort();
    now.sort();
    if a == now {
        written
    } else {
        now
    }
}

/// State objects compare without nulls: an attribute set to null is an absent one.
pub fn same(a: &Object, b: &Object) -> bool {
    let clean = |o: &Object| -> Object {
        o.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), v.clone())).collect()
    };
    clean(a) == clean(b)
}

/// The ARN's last part after `loadbalancer/` or `targetgroup/`: CloudWatch's dimension.
pub fn arn_suffix(arn: &str) -> String {
    if let Some(i) = arn.find(":loadbalancer/") {
        return arn[i + ":loadbalancer/".len()..].to_string();
    }
    if let Some(i) = arn.find(":targetgroup/") {
        return arn[i + 1..].to_string();
    }
    arn.rsplit(':').next().unwrap_or(arn).to_string()
}

fn check_actions(path: &str, actions: &[&Object], out: &mut Vec<ProviderError>) {
    for (i, a) in actions.iter().enumerate() {
        let at = format!("{path}[{i}]");
        let kind = s(a, "type").unwrap_or("");
        match kind {
            "forward" => {
                let fwd = single(a, "forward");
                // A key present with null is a value known only after apply.
                if !a.contains_key("target_group_arn") && !a.contains_key("forward") {
                    out.push(
                        ProviderError::new(
                            "Invalid forward action",
                            format!("{at}: a forward action needs target_group_arn, or a forward block with target_group blocks."),
                        )
                        .on(path.split('[').next().unwrap_or(path)),
                    );
                }
                if let Some(f) = fwd {
                    for (j, tg) in items(f, "target_group").iter().enumerate() {
                        if let Some(w) = tg.get("weight").and_then(Value::as_f64) {
                            if !(0.0..=999.0).contains(&w) || w.fract() != 0.0 {
                                out.push(
                                    ProviderError::new(
                                        "Invalid target group weight",
                                        format!("{at}.forward.target_group[{j}].weight is {w}: a weight is a whole number from 0 to 999."),
                                    )
                                    .on(format!("{at}.forward.target_group[{j}].weight")),
                                );
                            }
                        }
                    }
                }
            }
            "fixed-response" if single(a, "fixed_response").is_none() && !a.contains_key("fixed_response") => out.push(
                ProviderError::new(
                    "Invalid action",
                    format!("{at}: a fixed-response action needs a fixed_response block."),
                )
                .on(path.split('[').next().unwrap_or(path)),
            ),
            "redirect" if single(a, "redirect").is_none() && !a.contains_key("redirect") => out.push(
                ProviderError::new("Invalid action", format!("{at}: a redirect action needs a redirect block."))
                    .on(path.split('[').next().unwrap_or(path)),
            ),
            "fixed-response" | "redirect" => {}
            other => out.push(
                ProviderError::new(
                    "Invalid action type",
                    format!("{at}.type is \"{other}\": Landform supports forward, fixed-response and redirect."),
                )
                .on(format!("{at}.type")),
            ),
        }
    }
}

/// Checks beyond the schema, on what is known when planning.
pub fn validate(type_name: &str, config: &Object) -> Vec<ProviderError> {
    let mut out = Vec::new();
    match type_name {
        "aws_lb_listener" => {
            check_actions("default_action", &items(config, "default_action"), &mut out);
            if s(config, "protocol") == Some("HTTPS") && config.get("certificate_arn").is_none_or(Value::is_null) {
                out.push(
                    ProviderError::new("Missing certificate", "An HTTPS listener needs certificate_arn.")
                        .on("protocol"),
                );
            }
            if let Some(p) = s(config, "protocol") {
                if !["HTTP", "HTTPS"].contains(&p) {
                    out.push(
                        ProviderError::new(
                            "Invalid protocol",
                            format!("An application load balancer listens on HTTP or HTTPS, not \"{p}\"."),
                        )
                        .on("protocol"),
                    );
                }
            }
        }
        "aws_lb_listener_rule" => {
            check_actions("action", &items(config, "action"), &mut out);
            if let Some(p) = config.get("priority").and_then(Value::as_f64) {
                if !(1.0..=50000.0).contains(&p) {
                    out.push(
                        ProviderError::new("Invalid priority", format!("priority is {p}: it is from 1 to 50000."))
                            .on("priority"),
                    );
                }
            }
        }
        "aws_lb_target_group" => {
            if let Some(p) = config.get("port").and_then(Value::as_f64) {
                if !(1.0..=65535.0).contains(&p) {
                    out.push(
                        ProviderError::new("Invalid port", format!("port is {p}: it is from 1 to 65535.")).on("port"),
                    );
                }
            }
            if let Some(name) = s(config, "name") {
                if name.len() > 32 || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                    out.push(
                        ProviderError::new(
                            "Invalid target group name",
                            format!("\"{name}\": at most 32 letters, digits and hyphens."),
                        )
                        .on("name"),
                    );
                }
            }
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_out_of_range_and_bad_types_are_named_by_path() {
        let config: Object = serde_json::from_value(json!({
            "default_action": [{ "type": "forward", "forward": { "target_group": [
                { "arn": "a", "weight": 1000 }, { "arn": "b", "weight": 0 } ] } },
                { "type": "teleport" }]
        }))
        .unwrap();
        let errs = validate("aws_lb_listener", &config);
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert_eq!(errs[0].attribute.as_deref(), Some("default_action[0].forward.target_group[0].weight"));
        assert_eq!(errs[1].attribute.as_deref(), Some("default_action[1].type"));
    }

    #[test]
    fn arn_suffixes_are_cloudwatch_dimensions() {
        assert_eq!(
            arn_suffix("arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/web/50dc6c495c0c9188"),
            "app/web/50dc6c495c0c9188"
        );
        assert_eq!(
            arn_suffix("arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/blue/73e2d6bc24d8a067"),
            "targetgroup/blue/73e2d6bc24d8a067"
        );
    }
}

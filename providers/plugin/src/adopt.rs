//! Finding an object that an apply killed part way created through a plugin.
//!
//! The state records an intent (the planned attributes) before each create;
//! when the process dies before the provider's answer is saved, the object
//! may exist with no record of its id. The next plan asks the provider to
//! `adopt` it: for the types below, one of the provider's own data sources
//! finds the object by what identifies it in the planned attributes (a name
//! unique in its region, a CIDR block within its VPC, a port on its load
//! balancer), and the provider's import reads it into the state. A type not
//! here, or a configuration that does not identify one object (a name left
//! to the provider, an unknown), is created again, as Terraform would.
//!
//! Only what cannot match another object is used: a lookup that finds more
//! than one is no adoption.

use landform_provider::Object;
use serde_json::{json, Value as Json};

/// How to find an object of a type: the data source to read with its
/// configuration, and whether it answers a list of ids or one object.
#[derive(Debug, PartialEq)]
pub enum Lookup {
    /// A plural data source: `ids`, adopted when there is exactly one.
    Ids(&'static str, Object),
    /// A singular data source: its `id`; it fails when there is none.
    One(&'static str, Object),
}

fn known_str<'a>(planned: &'a Object, name: &str) -> Option<&'a str> {
    planned.get(name).and_then(Json::as_str).filter(|s| !s.is_empty())
}

fn filter(name: &str, value: &str) -> Json {
    json!({"name": name, "values": [value]})
}

fn config(pairs: impl IntoIterator<Item = (&'static str, Json)>) -> Object {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// The tags the planned object will carry, as a data source's `tags`
/// argument: only an object with each of them matches.
fn tags(planned: &Object) -> Json {
    match planned.get("tags") {
        Some(Json::Object(m)) if !m.is_empty() => Json::Object(m.clone()),
        _ => Json::Null,
    }
}

/// The lookup for a planned object of `type_name` of the provider at
/// `source`, or `None` when Landform knows none or the planned attributes
/// do not identify one object.
pub fn lookup(source: &str, type_name: &str, planned: &Object) -> Option<Lookup> {
    if !source.ends_with("/hashicorp/aws") {
        return None;
    }
    let s = |name| known_str(planned, name);
    Some(match type_name {
        "aws_vpc" => Lookup::Ids(
            "aws_vpcs",
            config([("filter", json!([filter("cidr-block", s("cidr_block")?)])), ("tags", tags(planned))]),
        ),
        "aws_subnet" => Lookup::Ids(
            "aws_subnets",
            config([("filter", json!([filter("vpc-id", s("vpc_id")?), filter("cidr-block", s("cidr_block")?)]))]),
        ),
        "aws_security_group" => Lookup::Ids(
            "aws_security_groups",
            config([("filter", json!([filter("group-name", s("name")?), filter("vpc-id", s("vpc_id")?)]))]),
        ),
        "aws_lb" | "aws_alb" => Lookup::One("aws_lb", config([("name", json!(s("name")?))])),
        "aws_lb_target_group" | "aws_alb_target_group" => {
            Lookup::One("aws_lb_target_group", config([("name", json!(s("name")?))]))
        }
        "aws_lb_listener" | "aws_alb_listener" => Lookup::One(
            "aws_lb_listener",
            config([
                ("load_balancer_arn", json!(s("load_balancer_arn")?)),
                ("port", planned.get("port").filter(|p| p.is_number())?.clone()),
            ]),
        ),
        "aws_lb_listener_rule" | "aws_alb_listener_rule" => Lookup::One(
            "aws_lb_listener_rule",
            config([
                ("listener_arn", json!(s("listener_arn")?)),
                ("priority", planned.get("priority").filter(|p| p.is_number())?.clone()),
            ]),
        ),
        _ => return None,
    })
}

/// The one id a plural data source's answer holds, if exactly one.
pub fn single_id(found: &Object) -> Option<String> {
    match found.get("ids") {
        Some(Json::Array(ids)) if ids.len() == 1 => ids[0].as_str().map(str::to_string),
        _ => None,
    }
}

/// Whether a singular data source's error says there is no such object
/// (hashicorp/aws: "couldn't find resource", "no matching … found", "empty
/// result", "not found").
pub fn is_not_found(summary: &str, detail: &str) -> bool {
    let text = format!("{summary} {detail}").to_ascii_lowercase();
    [
        "no matching",
        "empty result",
        "not found",
        "notfound",
        "0 results",
        "does not exist",
        "couldn't find",
        "could not find",
    ]
    .iter()
    .any(|s| text.contains(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    const AWS: &str = "registry.terraform.io/hashicorp/aws";

    fn obj(v: Json) -> Object {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn a_vpc_is_found_by_its_cidr_block_and_tags() {
        let planned = obj(json!({"cidr_block": "10.0.0.0/16", "tags": {"Name": "main"}, "id": null}));
        let Some(Lookup::Ids(ds, config)) = lookup(AWS, "aws_vpc", &planned) else { panic!() };
        assert_eq!(ds, "aws_vpcs");
        assert_eq!(config["filter"], json!([{"name": "cidr-block", "values": ["10.0.0.0/16"]}]));
        assert_eq!(config["tags"], json!({"Name": "main"}));
    }

    #[test]
    fn what_does_not_identify_one_object_is_no_lookup() {
        // A name the provider chooses (name_prefix), an unknown VPC, another
        // provider's type of the same name, a type Landform knows no lookup for.
        assert_eq!(lookup(AWS, "aws_lb_target_group", &obj(json!({"name": null, "name_prefix": "tg-"}))), None);
        assert_eq!(lookup(AWS, "aws_subnet", &obj(json!({"cidr_block": "10.0.1.0/24", "vpc_id": null}))), None);
        assert_eq!(lookup("registry.terraform.io/acme/aws", "aws_lb", &obj(json!({"name": "web"}))), None);
        assert_eq!(lookup(AWS, "aws_instance", &obj(json!({"ami": "ami-1"}))), None);
    }

    #[test]
    fn a_listener_is_found_by_its_load_balancer_and_port() {
        let planned = obj(json!({"load_balancer_arn": "arn:lb", "port": 80}));
        assert_eq!(
            lookup(AWS, "aws_lb_listener", &planned),
            Some(Lookup::One("aws_lb_listener", obj(json!({"load_balancer_arn": "arn:lb", "port": 80}))))
        );
    }

    #[test]
    fn only_exactly_one_id_is_adopted() {
        assert_eq!(single_id(&obj(json!({"ids": ["vpc-1"]}))), Some("vpc-1".into()));
        assert_eq!(single_id(&obj(json!({"ids": ["vpc-1", "vpc-2"]}))), None);
        assert_eq!(single_id(&obj(json!({"ids": []}))), None);
    }

    #[test]
    fn hashicorp_aws_saying_it_found_nothing_is_not_found() {
        // What data "aws_lb_target_group" says for a name that is not there.
        assert!(is_not_found("reading ELBv2 Target Groups: couldn't find resource", ""));
        assert!(!is_not_found("reading ELBv2 Target Groups: AccessDenied", "not authorized"));
    }
}

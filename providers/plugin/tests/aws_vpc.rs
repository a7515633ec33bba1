//! An `aws_vpc` created, re-read, updated in place and destroyed through the
//! real hashicorp/aws 5.100.0 binary against moto's server, the crate's
//! client driving every call Terraform would make; boto3 checks each step.

mod common;

use common::Moto;
use landform_provider_plugin::{Error, PluginClient, Value};
use std::collections::BTreeMap;

fn provider_config(moto: &Moto) -> Value {
    Value::object([
        ("region", Value::string("us-east-1")),
        ("access_key", Value::string("testing")),
        ("secret_key", Value::string("testing")),
        ("skip_credentials_validation", Value::Bool(true)),
        ("skip_requesting_account_id", Value::Bool(true)),
        // A string in the provider's schema: the bool converts as Terraform converts it.
        ("skip_metadata_api_check", Value::Bool(true)),
        (
            "endpoints",
            Value::List(vec![Value::object([("ec2", Value::string(&moto.url)), ("sts", Value::string(&moto.url))])]),
        ),
    ])
}

fn vpc_config(cidr: &str, name: &str) -> Value {
    Value::object([
        ("cidr_block", Value::string(cidr)),
        ("tags", Value::Map(BTreeMap::from([("Name".to_string(), Value::string(name))]))),
    ])
}

fn s<'a>(v: &'a Value, name: &str) -> &'a str {
    v.get(name).and_then(Value::as_str).unwrap_or_else(|| panic!("{name} is not a known string in {v:?}"))
}

#[test]
fn an_aws_vpc_is_created_read_updated_and_destroyed_through_the_real_provider() {
    let moto = Moto::start();
    let client = PluginClient::start(&common::aws_options()).unwrap();
    client.configure(&provider_config(&moto)).expect("Configure");

    // Validation: the provider's own checks of the configuration.
    client.validate_resource("aws_vpc", &vpc_config("10.7.0.0/16", "landform")).expect("a valid VPC");
    let Err(Error::Provider(ds)) = client.validate_resource("aws_vpc", &vpc_config("not-a-cidr", "x")) else {
        panic!("an invalid CIDR block validates")
    };
    assert!(ds.iter().any(|d| d.to_string().contains("cidr_block")), "{ds:?}");

    // Create: the plan leaves what AWS decides unknown.
    let config = vpc_config("10.7.0.0/16", "landform");
    let plan = client.plan_resource("aws_vpc", &Value::Null, &config, &[]).expect("plan create");
    assert_eq!(plan.planned_state.get("id"), Some(&Value::Unknown));
    assert_eq!(plan.planned_state.get("arn"), Some(&Value::Unknown));
    assert_eq!(s(&plan.planned_state, "cidr_block"), "10.7.0.0/16");
    // (The SDK lists force-new attributes in requires_replace even on create,
    // where Terraform does not look at it.)
    let created = client
        .apply_resource("aws_vpc", &Value::Null, &plan.planned_state, &config, &plan.planned_private)
        .expect("apply create");
    let id = s(&created.state, "id").to_string();
    assert!(id.starts_with("vpc-"), "{id}");
    assert!(!created.private.is_empty(), "the SDK keeps its schema version in private");
    let aws = moto.py(&format!(
        "v = ec2.describe_vpcs(VpcIds=['{id}'])['Vpcs'][0]\nout = {{'cidr': v['CidrBlock'], 'tags': {{t['Key']: t['Value'] for t in v.get('Tags', [])}}}}"
    ));
    assert_eq!(aws["cidr"], "10.7.0.0/16");
    assert_eq!(aws["tags"]["Name"], "landform");

    // Refresh, with the private data apply returned.
    let read = client.read_resource("aws_vpc", &created.state, &created.private).expect("read");
    assert_eq!(s(&read.state, "id"), id);
    assert_eq!(s(&read.state, "cidr_block"), "10.7.0.0/16");
    assert!(!read.private.is_empty());

    // The same configuration again: nothing to change.
    let again = client.plan_resource("aws_vpc", &read.state, &config, &read.private).expect("re-plan");
    assert_eq!(again.planned_state, read.state, "a no-op plan changes nothing");
    assert!(again.requires_replace.is_empty());

    // A new CIDR block replaces the VPC; a new tag updates it in place.
    let moved =
        client.plan_resource("aws_vpc", &read.state, &vpc_config("10.8.0.0/16", "landform"), &read.private).unwrap();
    assert!(moved.requires_replace.contains(&"cidr_block".to_string()), "{:?}", moved.requires_replace);
    let renamed_config = vpc_config("10.7.0.0/16", "renamed");
    let renamed = client.plan_resource("aws_vpc", &read.state, &renamed_config, &read.private).unwrap();
    assert!(renamed.requires_replace.is_empty());
    let updated = client
        .apply_resource("aws_vpc", &read.state, &renamed.planned_state, &renamed_config, &renamed.planned_private)
        .expect("apply update");
    assert_eq!(s(&updated.state, "id"), id, "updated in place");
    let tags = moto.py(&format!(
        "v = ec2.describe_vpcs(VpcIds=['{id}'])['Vpcs'][0]\nout = {{t['Key']: t['Value'] for t in v.get('Tags', [])}}"
    ));
    assert_eq!(tags["Name"], "renamed");

    // Destroy: a null configuration plans a null state.
    let destroy =
        client.plan_resource("aws_vpc", &updated.state, &Value::Null, &updated.private).expect("plan destroy");
    assert_eq!(destroy.planned_state, Value::Null);
    let gone = client
        .apply_resource("aws_vpc", &updated.state, &Value::Null, &Value::Null, &destroy.planned_private)
        .expect("apply destroy");
    assert_eq!(gone.state, Value::Null);
    let left = moto.py(&format!("out = [v['VpcId'] for v in ec2.describe_vpcs()['Vpcs'] if v['VpcId'] == '{id}']"));
    assert_eq!(left, serde_json::json!([]));
    // Read after the VPC is gone: the provider says so with a null state.
    let after = client.read_resource("aws_vpc", &updated.state, &updated.private).expect("read of a deleted VPC");
    assert_eq!(after.state, Value::Null);
}

#[test]
fn a_resource_type_the_provider_lacks_and_a_value_that_fits_no_type_are_clear_errors() {
    let client = PluginClient::start(&common::aws_options()).unwrap();
    let e = client.validate_resource("aws_no_such_thing", &Value::object([("a", Value::Null)])).unwrap_err();
    assert!(e.to_string().contains("no resource type \"aws_no_such_thing\""), "{e}");
    let bad = Value::object([("cidr_block", Value::List(vec![]))]);
    let e = client.validate_resource("aws_vpc", &bad).unwrap_err();
    assert!(e.to_string().contains("cidr_block: \"string\" required, but got a list"), "{e}");
    let extra = Value::object([("cidr_blok", Value::string("10.0.0.0/16"))]);
    let e = client.validate_resource("aws_vpc", &extra).unwrap_err();
    assert!(e.to_string().contains("unsupported attribute \"cidr_blok\""), "{e}");
}

//! GetSchema from the real hashicorp/aws binary: tens of megabytes in one
//! message, converted into Landform's owned schema.

mod common;

use landform_provider_plugin::schema::Nesting;
use landform_provider_plugin::{PluginClient, Type};
use std::time::Instant;

#[test]
fn the_aws_providers_schema_arrives_whole_with_types_nesting_and_flags() {
    let client = PluginClient::start(&common::aws_options()).unwrap();
    let start = Instant::now();
    let schema = client.schema().expect("GetSchema");
    eprintln!(
        "GetSchema: {} resource types, {} data sources in {:?}",
        schema.resources.len(),
        schema.data_sources.len(),
        start.elapsed()
    );
    assert!(schema.resources.len() > 1000, "{}", schema.resources.len());
    assert!(schema.data_sources.len() > 500, "{}", schema.data_sources.len());

    let vpc = schema.resource("aws_vpc").unwrap();
    assert_eq!(vpc.version, 1);
    let cidr = &vpc.block.attributes["cidr_block"];
    assert_eq!(cidr.ty, Type::String);
    assert!(cidr.optional && cidr.computed && !cidr.required);
    assert!(vpc.block.attributes["id"].computed);
    assert_eq!(vpc.block.attributes["tags"].ty, Type::Map(Box::new(Type::String)));
    assert_eq!(vpc.block.attributes["enable_dns_support"].ty, Type::Bool);
    assert_eq!(vpc.block.attributes["ipv6_netmask_length"].ty, Type::Number);

    // Sensitive attributes are marked.
    let db = schema.resource("aws_db_instance").unwrap();
    assert!(db.block.attributes["password"].sensitive);
    assert!(!db.block.attributes["username"].sensitive);

    // Nested blocks keep their nesting mode and limits.
    let sg = schema.resource("aws_security_group").unwrap();
    let ingress = &sg.block.attributes["ingress"];
    let Type::Set(elem) = &ingress.ty else { panic!("ingress is {}", ingress.ty) };
    assert!(matches!(&**elem, Type::Object { attributes, .. } if attributes["from_port"] == Type::Number));
    let tg = schema.resource("aws_lb_target_group").unwrap();
    let hc = &tg.block.blocks["health_check"];
    assert_eq!((hc.nesting, hc.max_items), (Nesting::List, 1));
    assert!(hc.block.attributes["path"].computed);
    let listener = schema.resource("aws_lb_listener").unwrap();
    let action = &listener.block.blocks["default_action"];
    assert_eq!((action.nesting, action.min_items), (Nesting::List, 1));
    let forward = &action.block.blocks["forward"];
    assert_eq!(forward.block.blocks["target_group"].nesting, Nesting::Set);

    // The provider's own configuration schema.
    let p = &schema.provider.block;
    assert_eq!(p.attributes["region"].ty, Type::String);
    assert!(p.attributes["skip_credentials_validation"].optional);
    assert_eq!(p.blocks["endpoints"].nesting, Nesting::Set);
    assert_eq!(p.blocks["endpoints"].block.attributes["ec2"].ty, Type::String);

    // The implied type of a block is the object its values are encoded as.
    let Type::Object { attributes, .. } = vpc.block.implied_type() else { panic!() };
    assert_eq!(attributes["tags_all"], Type::Map(Box::new(Type::String)));
}

#[test]
fn the_schema_is_cached_per_binary_and_a_damaged_cache_is_asked_again() {
    let dir = std::env::temp_dir().join(format!("landform-plugin-schema-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut opts = common::aws_options();
    opts.schema_cache = Some(dir.clone());
    let first = PluginClient::start(&opts).unwrap();
    let start = Instant::now();
    let asked = first.schema().unwrap().clone();
    let asked_in = start.elapsed();
    assert_eq!(first.schema_from_cache(), Some(false));
    drop(first);
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()).collect();
    assert_eq!(files.len(), 1, "{files:?}");

    let second = PluginClient::start(&opts).unwrap();
    let start = Instant::now();
    let cached = second.schema().unwrap().clone();
    eprintln!("schema asked in {asked_in:?}, read from the cache in {:?}", start.elapsed());
    assert_eq!(second.schema_from_cache(), Some(true));
    assert_eq!(cached, asked);
    // The cached schema serves the calls that need it.
    let vpc = landform_provider_plugin::Value::object([(
        "cidr_block",
        landform_provider_plugin::Value::string("10.0.0.0/16"),
    )]);
    second.validate_resource("aws_vpc", &vpc).unwrap();
    drop(second);

    std::fs::write(&files[0], b"\xff\xff not protobuf").unwrap();
    let third = PluginClient::start(&opts).unwrap();
    assert_eq!(third.schema().unwrap(), &asked);
    assert_eq!(third.schema_from_cache(), Some(false), "a damaged file is asked again");
    drop(third);
    let fourth = PluginClient::start(&opts).unwrap();
    fourth.schema().unwrap();
    assert_eq!(fourth.schema_from_cache(), Some(true), "and written again");
    let _ = std::fs::remove_dir_all(&dir);
}

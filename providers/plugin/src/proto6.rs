//! The messages of Terraform's plugin protocol version 6 that differ from
//! version 5's, written by hand as prost structs from the protocol's public
//! documentation, as `proto` is.
//!
//! Version 6 renamed most calls (`GetProviderSchema`, `ConfigureProvider`,
//! `ValidateResourceConfig`, …) but kept their requests and responses field
//! for field, so those are `proto`'s. What changed on the wire is the
//! schema: an attribute may have a nested type (`Object`: attributes of its
//! own, nested single, list, set or map), which takes field 10, where
//! version 5 has `write_only` (version 6 moved it to 11). And
//! ValidateProviderConfig replaced PrepareProviderConfig: its response has
//! the diagnostics at field 2 and no prepared config, which
//! `proto::PrepareProviderConfigResponse` reads as it is.

#![allow(clippy::derive_partial_eq_without_eq)]

use crate::proto::{Diagnostic, ServerCapabilities};
use std::collections::BTreeMap;

#[derive(Clone, PartialEq, prost::Message)]
pub struct Schema {
    #[prost(int64, tag = "1")]
    pub version: i64,
    #[prost(message, optional, tag = "2")]
    pub block: Option<SchemaBlock>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SchemaBlock {
    #[prost(int64, tag = "1")]
    pub version: i64,
    #[prost(message, repeated, tag = "2")]
    pub attributes: Vec<SchemaAttribute>,
    #[prost(message, repeated, tag = "3")]
    pub block_types: Vec<SchemaNestedBlock>,
    #[prost(string, tag = "4")]
    pub description: String,
    #[prost(bool, tag = "6")]
    pub deprecated: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SchemaAttribute {
    #[prost(string, tag = "1")]
    pub name: String,
    /// The cty type as compact JSON; empty when `nested_type` is set.
    #[prost(bytes = "vec", tag = "2")]
    pub r#type: Vec<u8>,
    #[prost(message, optional, tag = "10")]
    pub nested_type: Option<SchemaObject>,
    #[prost(string, tag = "3")]
    pub description: String,
    #[prost(bool, tag = "4")]
    pub required: bool,
    #[prost(bool, tag = "5")]
    pub optional: bool,
    #[prost(bool, tag = "6")]
    pub computed: bool,
    #[prost(bool, tag = "7")]
    pub sensitive: bool,
    #[prost(bool, tag = "9")]
    pub deprecated: bool,
    #[prost(bool, tag = "11")]
    pub write_only: bool,
}

/// A nested block: as version 5's, with a version 6 block inside.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SchemaNestedBlock {
    #[prost(string, tag = "1")]
    pub type_name: String,
    #[prost(message, optional, tag = "2")]
    pub block: Option<SchemaBlock>,
    #[prost(enumeration = "crate::proto::NestingMode", tag = "3")]
    pub nesting: i32,
    #[prost(int64, tag = "4")]
    pub min_items: i64,
    #[prost(int64, tag = "5")]
    pub max_items: i64,
}

/// The type of a nested attribute: an object of attributes, nested as one
/// object, or a list, set or map of them. Its nesting numbers are those of
/// blocks (`proto::NestingMode`) without `Group`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SchemaObject {
    #[prost(message, repeated, tag = "1")]
    pub attributes: Vec<SchemaAttribute>,
    #[prost(enumeration = "crate::proto::NestingMode", tag = "3")]
    pub nesting: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct GetProviderSchemaResponse {
    #[prost(message, optional, tag = "1")]
    pub provider: Option<Schema>,
    #[prost(btree_map = "string, message", tag = "2")]
    pub resource_schemas: BTreeMap<String, Schema>,
    #[prost(btree_map = "string, message", tag = "3")]
    pub data_source_schemas: BTreeMap<String, Schema>,
    #[prost(message, repeated, tag = "4")]
    pub diagnostics: Vec<Diagnostic>,
    #[prost(message, optional, tag = "5")]
    pub provider_meta: Option<Schema>,
    #[prost(message, optional, tag = "6")]
    pub server_capabilities: Option<ServerCapabilities>,
}

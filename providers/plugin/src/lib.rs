//! Terraform's provider plugins, driven by Landform: a provider binary is
//! started with go-plugin's handshake (`process`), spoken to over gRPC in
//! the plugin protocol version 5 or 6 (`client`, with the messages in
//! `proto` and, where version 6 differs, `proto6`),
//! its schema kept as owned Rust types (`schema`), and values carried as cty
//! values (`cty`) in MessagePack (`msgpack`).
//!
//! `provider` makes a running plugin one of Landform's providers (the
//! trait of `landform-provider`); `mirror` finds a provider's binary in a
//! Terraform filesystem mirror.
//!
//! **Invariant:** this crate knows nothing of the engine, the language or the
//! state; it speaks the plugin protocol and the provider trait, nothing else.

pub mod adopt;
pub mod client;
pub mod cty;
pub mod mirror;
pub mod msgpack;
pub mod objchange;
pub mod process;
pub mod proto;
pub mod proto6;
pub mod provider;
pub mod schema;
pub mod schema_cache;
pub mod switches;
pub mod tls;

pub use client::{Diagnostic, NewState, PlannedChange, PluginClient, Severity};
pub use cty::{Type, Value};
pub use process::StartOptions;
pub use provider::PluginProvider;
pub use schema::ProviderSchema;

use std::fmt;

/// What can go wrong talking to a plugin.
#[derive(Clone, Debug, PartialEq)]
pub enum Error {
    /// The process could not be started, or exited before its handshake.
    Start(String),
    /// The handshake line was not one Landform can use.
    Handshake(String),
    /// A gRPC call failed (the provider crashed, a message too large…).
    Rpc(String),
    /// The provider answered with error diagnostics (warnings beside them).
    Provider(Vec<Diagnostic>),
    /// A type constraint that is not cty's.
    Type(String),
    /// A value that does not fit its type, or msgpack that cannot be read.
    Value(String),
    /// A schema Landform cannot use.
    Schema(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Start(s) => write!(f, "cannot start the provider: {s}"),
            Error::Handshake(s) => write!(f, "provider handshake failed: {s}"),
            Error::Rpc(s) => write!(f, "provider call failed: {s}"),
            Error::Provider(ds) => {
                let errors: Vec<String> =
                    ds.iter().filter(|d| d.severity == Severity::Error).map(ToString::to_string).collect();
                write!(f, "{}", errors.join("; "))
            }
            Error::Type(s) | Error::Value(s) | Error::Schema(s) => write!(f, "{s}"),
        }
    }
}

impl std::error::Error for Error {}

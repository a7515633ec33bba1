//! The Landform language: grammar, syntax tree with spans, evaluation with
//! unknown values, functions, diagnostics and the formatter.
//!
//! This crate does no I/O of its own: whatever it needs from the outside world
//! (files, environment variables, child modules) comes through [`Host`].

pub mod diag;
pub mod parse;
pub mod source;
pub mod syntax;

pub use diag::{Diagnostic, Severity};
pub use source::{FileId, SourceFile, SourceMap, Span};
pub mod eval;
pub mod functions;
pub mod host;
pub mod number;
pub mod refs;
pub mod secrets;
pub mod types;
pub mod unify;
pub mod value;
pub mod version;

pub use eval::{Evaluator, Host, NoHost, Scope};
pub use value::Value;
pub mod check;
pub mod config;
pub mod dump;
pub mod fmt;
pub mod module;

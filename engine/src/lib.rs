//! Landform's engine: the dependency graph, planning, applying, and plan
//! rendering. It depends on the provider trait alone, never on a concrete
//! provider, and on the state traits, never on a concrete backend.

pub mod addr;
pub mod apply;
pub mod build;
pub mod conditions;
pub mod convert;
pub mod drift;
pub mod graph;
pub mod import;
pub mod lifecycle;
pub mod moved;
pub mod plan;
pub mod planner;
pub mod providers;
pub mod refresh;
pub mod relevant;
pub mod render;
pub mod rollout;
pub mod schema_check;
pub mod sensitivity;
pub mod walk;
pub mod world;

pub use addr::ResourceAddr;
pub use plan::{Action, Plan};
pub use providers::Providers;

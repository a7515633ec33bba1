//! Filled by the engine issue.

//! Turns a completed cluster spec into AWS resources and reconciles them.
//!
//! The task-graph engine lands here; for now the crate only fixes its place in the
//! dependency order (`cli → cloudup → state-store → model`).

//! The node agent: turns a launched machine into a Kubernetes node.
//!
//! The agent's planning and apply steps land here; for now the crate only fixes its place in
//! the dependency order (`nodeup → state-store → model`).

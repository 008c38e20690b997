//! `nodeup`: the node agent's entry point.

fn main() {
    println!("nodeup {}", env!("CARGO_PKG_VERSION"));
}

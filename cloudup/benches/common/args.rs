//! What the benchmarks share besides their world (`update_cluster/setup.rs`): their settings
//! from the command line or the environment, and the runtime they run on. Included with
//! `#[path]` by each benchmark.

use std::future::Future;

/// The number after `flag` on the command line, else the environment variable `env`; `None`
/// when neither is set. Other arguments (cargo passes `--bench`) are ignored.
///
/// # Panics
/// When the value is not a number.
pub(crate) fn number(flag: &str, env: &str) -> Option<u64> {
    std::env::args()
        .skip_while(|arg| arg != flag)
        .nth(1)
        .or_else(|| std::env::var(env).ok())
        .map(|text| {
            text.trim()
                .parse()
                .unwrap_or_else(|_| panic!("{flag}: not a number: {text}"))
        })
}

/// Runs `future` to completion on a multi-threaded runtime.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(future)
}

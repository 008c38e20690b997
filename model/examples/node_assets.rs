//! Prints where each node asset of a Kubernetes version lives under a mirror, one asset a
//! line: `name`, `url`, `checksum_url`, `file_name`, tab-separated. `scripts/demo` builds its
//! offline `file://` mirror of fake assets from it.
//!
//! ```sh
//! cargo run -p berth-model --example node_assets -- 1.36.0 file:///tmp/mirror
//! ```

use std::process::ExitCode;

use berth_model::assets::{DEFAULT_ARCH, node_assets};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [version, mirror] = args.as_slice() else {
        eprintln!("usage: node_assets KUBERNETES_VERSION MIRROR_BASE_URL");
        return ExitCode::from(2);
    };
    match node_assets(version, DEFAULT_ARCH, std::slice::from_ref(mirror)) {
        Ok(assets) => {
            for asset in assets {
                println!(
                    "{}\t{}\t{}\t{}",
                    asset.name, asset.urls[0], asset.checksum_urls[0], asset.file_name
                );
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

//! A test's world: a temp `file://` state store, a temp HOME, and the `berth` binary.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use assert_cmd::Command;
use sha2::Digest as _;

/// The workspace root (the parent of the `cli` crate).
pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ has a parent")
        .to_path_buf()
}

/// A path under `tests/` of the workspace.
pub(crate) fn fixture(relative: &str) -> PathBuf {
    workspace_root().join("tests").join(relative)
}

/// A `file://` mirror with a checksum file for every node asset of every supported
/// Kubernetes release up to patch 20 (the assets themselves are never downloaded by
/// `berth`), made once per test process so that `update cluster` needs no network.
pub(crate) fn asset_mirror() -> &'static str {
    static MIRROR: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    MIRROR.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("asset-mirror-{}", std::process::id()));
        let base = format!("file://{}", root.display());
        for minor in 28..=36 {
            for patch in 0..=20 {
                let version = format!("1.{minor}.{patch}");
                let assets = berth_model::assets::node_assets(
                    &version,
                    berth_model::assets::DEFAULT_ARCH,
                    std::slice::from_ref(&base),
                )
                .expect("a valid version");
                for asset in assets {
                    let path = asset.checksum_urls[0]
                        .strip_prefix("file://")
                        .expect("a file URL");
                    let path = Path::new(path);
                    std::fs::create_dir_all(path.parent().expect("a parent")).expect("mirror dir");
                    let hash = hex::encode(sha2::Sha256::digest(asset.name.as_bytes()));
                    std::fs::write(path, format!("{hash}  {}\n", asset.file_name))
                        .expect("checksum file");
                }
            }
        }
        base
    })
}

/// A temp store and HOME; `berth()` runs the binary against them.
pub(crate) struct TestContext {
    dir: tempfile::TempDir,
}

impl TestContext {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("store")).expect("store dir");
        std::fs::create_dir_all(dir.path().join("home")).expect("home dir");
        Self { dir }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn store_dir(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    pub(crate) fn store_url(&self) -> String {
        format!("file://{}", self.store_dir().display())
    }

    /// `berth` with this context's store, an empty HOME and no AWS settings from outside.
    pub(crate) fn berth(&self) -> Command {
        Command::from_std(self.berth_process())
    }

    /// The same as [`Self::berth`], as a plain process to spawn several at once.
    pub(crate) fn berth_process(&self) -> std::process::Command {
        let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("berth"));
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path().join("home"))
            .env("BERTH_STATE_STORE", self.store_url())
            .env("BERTH_ASSETS_BASE_URL", asset_mirror())
            .env("NO_COLOR", "1")
            .current_dir(self.dir.path());
        command
    }

    /// Every file of the store with its bytes, to prove a command changed nothing.
    pub(crate) fn store_snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut files = BTreeMap::new();
        collect(&self.store_dir(), &self.store_dir(), &mut files);
        files
    }

    /// Writes `text` to a file in the context's dir and returns its path.
    pub(crate) fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write test file");
        path
    }
}

fn collect(root: &Path, dir: &Path, files: &mut BTreeMap<PathBuf, Vec<u8>>) {
    for entry in std::fs::read_dir(dir).expect("read store dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            collect(root, &path, files);
        } else {
            let relative = path.strip_prefix(root).expect("under root").to_path_buf();
            files.insert(relative, std::fs::read(&path).expect("read store file"));
        }
    }
}

/// The command's stdout and stderr as text, and its exit code.
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    /// Asserts that the command exited `code`, showing its output (after `what`) when not.
    #[track_caller]
    pub(crate) fn assert_code(&self, code: i32, what: &str) {
        let what = if what.is_empty() {
            String::new()
        } else {
            format!("{what}\n")
        };
        assert_eq!(
            self.code, code,
            "{what}stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
    }
}

/// Runs `command` and captures everything.
pub(crate) fn run(command: &mut Command) -> Run {
    let output = command.output().expect("run berth");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs `command`, asserting success; returns stdout.
pub(crate) fn ok(command: &mut Command) -> String {
    let run = run(command);
    run.assert_code(0, "expected success");
    run.stdout
}

//! Finding the test control plane's programs: the shipped kube-apiserver and
//! kube-controller-manager (xz-packed, unpacked once into a cache and checked against
//! `SHA256SUMS`) and etcd from the system.
//!
//! The packed binaries live in `$BERTH_TEST_K8S_DIR/bin/<version>/<name>.xz` (default: the
//! `shared/k8s` directory beside the workspace). They are unpacked with the system's `xz`
//! (Debian's `xz-utils`): a pure-Rust LZMA decoder takes several times longer on 120 MB.

use std::{
    fs,
    io::Read,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::Mutex,
};

use sha2::{Digest, Sha256};

use super::K8sVersion;
use crate::moto::workspace_root;

/// The environment variable naming the directory that holds `bin/<version>/*.xz` and
/// `SHA256SUMS`.
pub const K8S_DIR_ENV: &str = "BERTH_TEST_K8S_DIR";

/// The environment variable naming the etcd binary (default: `etcd` on `PATH`).
pub const ETCD_ENV: &str = "BERTH_TEST_ETCD";

const INSTALL_HINT: &str = "run `scripts/install-test-deps` (it installs Debian's etcd-server and xz-utils), \
     and point BERTH_TEST_K8S_DIR at the directory holding bin/<version>/*.xz and SHA256SUMS";

/// The programs of one Kubernetes version, ready to run.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// The version they are.
    pub version: K8sVersion,
    /// `kube-apiserver`.
    pub apiserver: PathBuf,
    /// `kube-controller-manager`.
    pub controller_manager: PathBuf,
    /// `etcd`.
    pub etcd: PathBuf,
}

/// Something the test control plane needs is not on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing(pub String);

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}; {INSTALL_HINT}", self.0)
    }
}

/// The directory holding the packed binaries.
pub fn k8s_dir() -> PathBuf {
    std::env::var_os(K8S_DIR_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("../shared/k8s"))
}

/// Finds (and on first use unpacks) the programs of `version`.
///
/// # Errors
/// [`Missing`] names the first program that is absent or does not match its checksum.
pub fn binaries(version: K8sVersion) -> Result<Binaries, Missing> {
    // One unpacking at a time within a test binary; other processes are safe through the
    // write-then-rename in `unpack`.
    static UNPACKING: Mutex<()> = Mutex::new(());
    let etcd = find_etcd()?;
    let source = k8s_dir();
    let sums = fs::read_to_string(source.join("SHA256SUMS")).map_err(|error| {
        Missing(format!(
            "cannot read {}: {error}",
            source.join("SHA256SUMS").display()
        ))
    })?;
    let cache = cache_dir(version);
    let _guard = UNPACKING
        .lock()
        .unwrap_or_else(|poison| poison.into_inner());
    let unpack_one = |name: &str| -> Result<PathBuf, Missing> {
        let key = format!("{}/{name}", version.as_str());
        let expected = sums
            .lines()
            .find_map(|line| {
                let (sum, file) = line.split_once(char::is_whitespace)?;
                (file.trim() == key).then(|| sum.to_owned())
            })
            .ok_or_else(|| Missing(format!("SHA256SUMS in {} has no `{key}`", source.display())))?;
        unpack(
            &source
                .join("bin")
                .join(version.as_str())
                .join(format!("{name}.xz")),
            &cache.join(name),
            &expected,
        )
    };
    Ok(Binaries {
        version,
        apiserver: unpack_one("kube-apiserver")?,
        controller_manager: unpack_one("kube-controller-manager")?,
        etcd,
    })
}

/// The etcd binary: `BERTH_TEST_ETCD`, else `etcd` on `PATH`.
///
/// # Errors
/// [`Missing`] saying which was looked for.
pub fn find_etcd() -> Result<PathBuf, Missing> {
    if let Some(path) = std::env::var_os(ETCD_ENV) {
        let path = PathBuf::from(path);
        return path.is_file().then_some(path.clone()).ok_or_else(|| {
            Missing(format!(
                "{ETCD_ENV} names {}, which does not exist",
                path.display()
            ))
        });
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("etcd"))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| Missing("etcd is not installed (no `etcd` on PATH)".to_owned()))
}

/// `${XDG_CACHE_HOME:-$HOME/.cache}/berth-k8s/<version>`, the cache `k8s-env.sh` uses too.
fn cache_dir(version: K8sVersion) -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("berth-k8s").join(version.as_str())
}

/// Unpacks `packed` to `target` unless a stamp says the same checksum is already there.
fn unpack(packed: &Path, target: &Path, expected_sha256: &str) -> Result<PathBuf, Missing> {
    let stamp = target.with_extension("sha256");
    if target.is_file() && fs::read_to_string(&stamp).is_ok_and(|sum| sum.trim() == expected_sha256)
    {
        return Ok(target.to_path_buf());
    }
    if !packed.is_file() {
        return Err(Missing(format!("{} does not exist", packed.display())));
    }
    let dir = target.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)
        .map_err(|error| Missing(format!("cannot create {}: {error}", dir.display())))?;
    let partial = target.with_extension(format!("partial-{}", std::process::id()));
    let output = fs::File::create(&partial)
        .map_err(|error| Missing(format!("cannot write {}: {error}", partial.display())))?;
    let status = Command::new("xz")
        .arg("-dc")
        .arg(packed)
        .stdout(output)
        .stderr(Stdio::inherit())
        .status()
        .map_err(|error| {
            Missing(format!(
                "cannot run `xz` to unpack {}: {error}",
                packed.display()
            ))
        })?;
    if !status.success() {
        let _ = fs::remove_file(&partial);
        return Err(Missing(format!(
            "`xz -dc {}` failed: {status}",
            packed.display()
        )));
    }
    let actual = sha256_of(&partial)
        .map_err(|error| Missing(format!("cannot read {}: {error}", partial.display())))?;
    if actual != expected_sha256 {
        let _ = fs::remove_file(&partial);
        return Err(Missing(format!(
            "{} unpacks to sha256 {actual}, but SHA256SUMS says {expected_sha256}",
            packed.display()
        )));
    }
    set_executable(&partial)?;
    fs::rename(&partial, target)
        .map_err(|error| Missing(format!("cannot move into {}: {error}", target.display())))?;
    fs::write(&stamp, expected_sha256)
        .map_err(|error| Missing(format!("cannot write {}: {error}", stamp.display())))?;
    Ok(target.to_path_buf())
}

fn sha256_of(path: &Path) -> std::io::Result<String> {
    let mut file = fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 1 << 20];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hex::encode(hasher.finalize()))
}

fn set_executable(path: &Path) -> Result<(), Missing> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))
        .map_err(|error| Missing(format!("cannot chmod {}: {error}", path.display())))
}

//! The block device behind an attached etcd volume: where it shows up on the machine,
//! whether it is blank, and formatting it.
//!
//! EC2 attaches a volume under the name nodeup asked for (`/dev/xvdu`, see
//! [`crate::etcd_volumes::device`]); Xen instances show it under that name (or `/dev/sdu`),
//! Nitro instances as an NVMe namespace that udev links as
//! `/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol<id>`. nodeup waits until one of
//! those exists ([`DEVICE_TIMEOUT`]) and prefers the by-id link, which names the volume.
//!
//! A device is formatted only when blank: `blkid -p` finds no filesystem, partition table
//! or RAID signature on it, and its first MiB is zeros (what a new EBS volume reads as).
//! Anything else that `blkid` does not call ext4 is refused, never overwritten: an etcd
//! volume holds the cluster's state.

use std::{
    io::Read,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use crate::host::Host;

/// How long nodeup waits for an attached volume's device to appear.
pub const DEVICE_TIMEOUT: Duration = Duration::from_secs(120);
/// The delay between two looks for the device.
const DEVICE_POLL: Duration = Duration::from_millis(500);
/// How much of a device must read as zeros for it to count as blank.
const BLANK_PREFIX: usize = 1024 * 1024;
/// The filesystem nodeup makes on etcd volumes (kops's too).
pub const FILESYSTEM: &str = "ext4";

/// Why a device could not be found, probed or formatted.
#[derive(Debug, thiserror::Error)]
pub enum BlockDeviceError {
    /// The device did not appear.
    #[error(
        "the volume {volume_id} is attached but none of its device names appeared within {}s ({}); check the instance's devices (`lsblk`) and run nodeup again",
        timeout.as_secs(),
        tried.iter().map(|path| path.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    NotFound {
        /// The volume.
        volume_id: String,
        /// The names looked for.
        tried: Vec<PathBuf>,
        /// The limit.
        timeout: Duration,
    },
    /// A command could not be run.
    #[error("failed to run `{command}` on {}", device.display())]
    Spawn {
        /// The command.
        command: &'static str,
        /// The device.
        device: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A command failed.
    #[error("`{command}` failed on {} ({status}): {stderr}", device.display())]
    Failed {
        /// The command.
        command: &'static str,
        /// The device.
        device: PathBuf,
        /// Its exit status.
        status: String,
        /// What it printed on stderr.
        stderr: String,
    },
    /// The device holds something that is neither blank nor ext4.
    #[error(
        "{} holds {found}, not an {FILESYSTEM} filesystem, and is not blank; nodeup never formats a device that holds data: check which volume this is and, if its contents are not needed, wipe it (`wipefs -a`) and run nodeup again",
        device.display()
    )]
    NotBlank {
        /// The device.
        device: PathBuf,
        /// What `blkid` found, or `unrecognised data`.
        found: String,
    },
    /// The device could not be read.
    #[error("failed to read {}", device.display())]
    Read {
        /// The device.
        device: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// The names an attached volume's device may have, best first (node paths).
#[must_use]
pub fn candidates(volume_id: &str, requested: &str) -> Vec<PathBuf> {
    let mut names = vec![PathBuf::from(format!(
        "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_{}",
        volume_id.replace('-', "")
    ))];
    names.push(PathBuf::from(requested));
    if let Some(suffix) = requested.strip_prefix("/dev/xvd") {
        names.push(PathBuf::from(format!("/dev/sd{suffix}")));
    }
    names
}

/// Waits until one of `volume_id`'s device names exists on `host`; returns that node path.
///
/// # Errors
/// [`BlockDeviceError::NotFound`] after `timeout`.
pub async fn wait_for(
    host: &dyn Host,
    volume_id: &str,
    requested: &str,
    timeout: Duration,
) -> Result<PathBuf, BlockDeviceError> {
    let names = candidates(volume_id, requested);
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(found) = names.iter().find(|name| host.resolve(name).exists()) {
            return Ok(found.clone());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(BlockDeviceError::NotFound {
                volume_id: volume_id.to_owned(),
                tried: names,
                timeout,
            });
        }
        tokio::time::sleep(DEVICE_POLL).await;
    }
}

/// What a device holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contents {
    /// Nothing: no signature and a zeroed start.
    Blank,
    /// A filesystem of this type.
    Filesystem(String),
    /// Something else (a partition table, RAID member, or bytes `blkid` does not know).
    Other(String),
}

/// Probes `device` (a path on this machine) with `blkid -p`.
///
/// # Errors
/// [`BlockDeviceError`] when `blkid` cannot run or fails other than by finding nothing.
pub fn probe(device: &Path) -> Result<Contents, BlockDeviceError> {
    let output = Command::new(system_tool("blkid"))
        .args(["-p", "-o", "export"])
        .arg(device)
        .output()
        .map_err(|source| BlockDeviceError::Spawn {
            command: "blkid",
            device: device.to_owned(),
            source,
        })?;
    let text = String::from_utf8_lossy(&output.stdout);
    let value = |key: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
            .map(str::to_owned)
    };
    match output.status.code() {
        Some(0) => Ok(match value("TYPE") {
            Some(kind) => Contents::Filesystem(kind),
            None => Contents::Other(
                value("PTTYPE").map_or("an unrecognised signature".to_owned(), |table| {
                    format!("a {table} partition table")
                }),
            ),
        }),
        // Nothing detected.
        Some(2) => {
            if zeroed_start(device)? {
                Ok(Contents::Blank)
            } else {
                Ok(Contents::Other("unrecognised data".to_owned()))
            }
        }
        // Ambivalent: several signatures.
        Some(8) => Ok(Contents::Other("several conflicting signatures".to_owned())),
        _ => Err(BlockDeviceError::Failed {
            command: "blkid",
            device: device.to_owned(),
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        }),
    }
}

/// Whether the first [`BLANK_PREFIX`] bytes of `device` (or all of a shorter one) are zero.
fn zeroed_start(device: &Path) -> Result<bool, BlockDeviceError> {
    let read = |source| BlockDeviceError::Read {
        device: device.to_owned(),
        source,
    };
    let file = fs_err::File::open(device).map_err(read)?;
    let mut start = Vec::with_capacity(BLANK_PREFIX);
    file.take(BLANK_PREFIX as u64)
        .read_to_end(&mut start)
        .map_err(read)?;
    Ok(start.iter().all(|byte| *byte == 0))
}

/// Makes sure `device` holds an ext4 filesystem, formatting it (labelled `label`) when blank;
/// returns whether it formatted.
///
/// # Errors
/// [`BlockDeviceError::NotBlank`] when it holds anything else; others when a command fails.
pub fn ensure_filesystem(device: &Path, label: &str) -> Result<bool, BlockDeviceError> {
    match probe(device)? {
        Contents::Filesystem(kind) if kind == FILESYSTEM => Ok(false),
        Contents::Filesystem(kind) => Err(BlockDeviceError::NotBlank {
            device: device.to_owned(),
            found: format!("a filesystem of type {kind}"),
        }),
        Contents::Other(found) => Err(BlockDeviceError::NotBlank {
            device: device.to_owned(),
            found,
        }),
        Contents::Blank => {
            // -F: also format a regular file (a test's stand-in for a device) without asking.
            let output = Command::new(system_tool("mkfs.ext4"))
                .args(["-q", "-F", "-L", label])
                .arg(device)
                .output()
                .map_err(|source| BlockDeviceError::Spawn {
                    command: "mkfs.ext4",
                    device: device.to_owned(),
                    source,
                })?;
            if !output.status.success() {
                return Err(BlockDeviceError::Failed {
                    command: "mkfs.ext4",
                    device: device.to_owned(),
                    status: output.status.to_string(),
                    stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
                });
            }
            Ok(true)
        }
    }
}

/// `name` as found on `PATH`, else in `/usr/sbin` or `/sbin` (where util-linux and e2fsprogs
/// put it, and which an unprivileged user's `PATH` often lacks); else `name` itself, so the
/// spawn error names it.
#[must_use]
pub fn system_tool(name: &str) -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}

/// systemd's name for the mount unit of `mount_point` (`systemd-escape --path --suffix=mount`).
#[must_use]
pub fn mount_unit_name(mount_point: &Path) -> String {
    let path = mount_point.to_string_lossy();
    let trimmed = path.trim_matches('/');
    let mut name = String::new();
    for (index, byte) in trimmed.bytes().enumerate() {
        match byte {
            b'/' => name.push('-'),
            b'.' if index == 0 => name.push_str("\\x2e"),
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b':' | b'_' | b'.' => {
                name.push(char::from(byte));
            }
            other => name.push_str(&format!("\\x{other:02x}")),
        }
    }
    if name.is_empty() {
        name.push('-');
    }
    name.push_str(".mount");
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_unit_names_match_systemd_escape() {
        // `systemd-escape --path --suffix=mount /mnt/etcd-main` → `mnt-etcd\x2dmain.mount`.
        assert_eq!(
            mount_unit_name(Path::new("/mnt/etcd-main")),
            "mnt-etcd\\x2dmain.mount"
        );
        assert_eq!(
            mount_unit_name(Path::new("/var/lib/.hidden dir/")),
            "var-lib-.hidden\\x20dir.mount"
        );
        assert_eq!(mount_unit_name(Path::new("/.x")), "\\x2ex.mount");
    }

    /// A sparse file standing in for a device, `bytes` written at its start.
    fn device(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.path().join(name);
        let file = fs_err::File::create(&path).expect("device file");
        file.set_len(16 * 1024 * 1024).expect("size");
        fs_err::write(&path, bytes).expect("contents");
        file.set_len(16 * 1024 * 1024).expect("size");
        path
    }

    #[test]
    fn a_blank_device_is_formatted_once_and_data_is_never_overwritten() {
        let dir = tempfile::tempdir().expect("temp dir");
        let blank = device(&dir, "blank", &[]);
        assert_eq!(probe(&blank).expect("probe"), Contents::Blank);
        assert!(ensure_filesystem(&blank, "etcd-main").expect("format"));
        assert_eq!(
            probe(&blank).expect("probe"),
            Contents::Filesystem("ext4".to_owned())
        );
        assert!(!ensure_filesystem(&blank, "etcd-main").expect("already ext4"));

        // Bytes no tool recognises: refused, left as they were.
        let data = device(&dir, "data", b"etcd member data, not a filesystem");
        let error = ensure_filesystem(&data, "etcd-main").expect_err("not blank");
        assert!(
            matches!(&error, BlockDeviceError::NotBlank { found, .. } if found == "unrecognised data"),
            "{error}"
        );
        assert!(
            fs_err::read(&data)
                .expect("read")
                .starts_with(b"etcd member data")
        );

        // Another filesystem: refused too, and the message says what to do.
        let other = device(&dir, "other", &[]);
        let output = Command::new(system_tool("mkfs.ext2"))
            .args(["-q", "-F"])
            .arg(&other)
            .output()
            .expect("mkfs.ext2 (e2fsprogs)");
        assert!(output.status.success());
        let message = ensure_filesystem(&other, "etcd-main")
            .expect_err("ext2 is not ext4")
            .to_string();
        assert!(
            message.contains("holds a filesystem of type ext2") && message.contains("wipefs"),
            "{message}"
        );
    }

    #[tokio::test]
    async fn a_device_that_never_appears_names_the_volume_and_every_name_tried() {
        let root = tempfile::tempdir().expect("temp dir");
        let host = crate::LocalHost::new(
            root.path().to_owned(),
            Box::new(crate::testing::RecordingServiceManager::new()),
        );
        let message = wait_for(&host, "vol-0abc", "/dev/xvdu", Duration::from_millis(600))
            .await
            .expect_err("no device")
            .to_string();
        assert!(
            message.contains("vol-0abc")
                && message.contains("nvme-Amazon_Elastic_Block_Store_vol0abc")
                && message.contains("/dev/sdu"),
            "{message}"
        );
        fs_err::create_dir_all(root.path().join("dev")).expect("dev");
        fs_err::write(root.path().join("dev/xvdu"), b"").expect("device");
        assert_eq!(
            wait_for(&host, "vol-0abc", "/dev/xvdu", Duration::from_millis(600))
                .await
                .expect("found"),
            PathBuf::from("/dev/xvdu")
        );
    }

    #[test]
    fn candidates_prefer_the_nvme_link_that_names_the_volume() {
        assert_eq!(
            candidates("vol-0abc", "/dev/xvdu"),
            [
                PathBuf::from("/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0abc"),
                PathBuf::from("/dev/xvdu"),
                PathBuf::from("/dev/sdu"),
            ]
        );
    }
}

//! The test control plane's processes: each one logs to a file of its own and records its pid,
//! and one watchdog per control plane kills them all and removes the state directory when the
//! test process goes away without dropping the control plane (a shared one in a `static`, a
//! killed test binary).
//!
//! The watchdog is a shell that reads its stdin until end of file; the test process holds the
//! other end of that pipe, which the kernel closes however the process ends.

use std::{
    fs,
    io::{Read, Seek, SeekFrom},
    path::{Path, PathBuf},
    process::{Child, ChildStdin, Command, ExitStatus, Stdio},
};

/// The watchdog of one control plane's directory.
#[derive(Debug)]
pub(crate) struct Watchdog {
    child: Child,
    stdin: Option<ChildStdin>,
}

const WATCHDOG_SCRIPT: &str = r#"cat >/dev/null
for pid_file in "$0"/pids/*; do
    [ -f "$pid_file" ] && kill -KILL "$(cat "$pid_file")" 2>/dev/null
done
rm -rf "$0""#;

impl Watchdog {
    pub(crate) fn start(dir: &Path) -> std::io::Result<Watchdog> {
        fs::create_dir_all(dir.join("pids"))?;
        let mut child = Command::new("bash")
            .arg("-c")
            .arg(WATCHDOG_SCRIPT)
            .arg(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let stdin = child.stdin.take();
        Ok(Watchdog { child, stdin })
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        // End of file: the watchdog kills what is left and removes the directory.
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

/// One running program of the control plane, killed when dropped.
#[derive(Debug)]
pub struct Component {
    name: String,
    child: Child,
    log: PathBuf,
    pid_file: PathBuf,
}

impl Component {
    /// Starts `program args…` with its output in `<dir>/logs/<name>.log`.
    pub(crate) fn spawn(
        name: &str,
        program: &Path,
        args: &[String],
        dir: &Path,
    ) -> std::io::Result<Component> {
        let logs = dir.join("logs");
        fs::create_dir_all(&logs)?;
        let log = logs.join(format!("{name}.log"));
        let output = fs::File::create(&log)?;
        let child = Command::new(program)
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(output.try_clone()?)
            .stderr(output)
            .spawn()?;
        let pid_file = dir.join("pids").join(name);
        fs::write(&pid_file, child.id().to_string())?;
        Ok(Component {
            name: name.to_owned(),
            child,
            log,
            pid_file,
        })
    }

    /// The component's name, e.g. `kube-apiserver`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its exit status, when it has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The last `max_bytes` of what it printed.
    pub fn log_tail(&self, max_bytes: u64) -> String {
        let Ok(mut file) = fs::File::open(&self.log) else {
            return String::new();
        };
        let length = file.metadata().map(|meta| meta.len()).unwrap_or(0);
        let _ = file.seek(SeekFrom::Start(length.saturating_sub(max_bytes)));
        let mut bytes = Vec::new();
        let _ = file.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Where it logs.
    pub fn log_path(&self) -> &Path {
        &self.log
    }
}

impl Drop for Component {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_file(&self.pid_file);
    }
}

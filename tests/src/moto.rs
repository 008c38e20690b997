//! The moto server harness: one patched moto server per test binary, on a free loopback port.
//!
//! ```no_run
//! use berth_test_support::moto::{MotoServer, unique_bucket};
//!
//! let moto = MotoServer::shared(); // started on first use, shared by the binary's tests
//! let bucket = unique_bucket("state");
//! moto.create_bucket(&bucket);
//! // SDK clients: endpoint `moto.endpoint()`, region `us-east-1`, static credentials
//! // `testing`/`testing`, and `force_path_style(true)` for S3.
//! // A spawned CLI: `Command::new(..).envs(moto.env())`.
//! ```
//!
//! The server is `tests/moto/berth_moto.py` run by the project's virtual environment (see
//! `scripts/install-test-deps`), or by the Python named in [`PYTHON_ENV`]. It gets
//! `tests/moto/amis.json` as its AMI catalogue (modern Ubuntu images under Canonical's owner
//! id) and moto's AWS-like validation of AMIs, instance types and key pairs. It exits when the
//! test process does (its stdin closes), even when the process never drops the server.
//!
//! Tests isolate from each other with unique names (buckets, cluster names) rather than
//! resets, so they can run in parallel on one server.

use std::{
    collections::VecDeque,
    io::{BufRead, BufReader},
    net::{Ipv4Addr, SocketAddr},
    path::{Path, PathBuf},
    process::{Child, ChildStdin, Command, Stdio},
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicU64, Ordering},
        mpsc,
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use crate::http;

/// The environment variable naming the Python interpreter that has moto installed.
pub const PYTHON_ENV: &str = "BERTH_MOTO_PYTHON";

/// The region tests use.
pub const REGION: &str = "us-east-1";

/// Startup takes 2-3 s on an idle machine and much longer while cargo builds beside it.
const STARTUP_DEADLINE: Duration = Duration::from_secs(60);

/// Between two readiness probes.
const PROBE_INTERVAL: Duration = Duration::from_millis(50);

/// How many lines of the server's stderr to keep for failure messages.
const STDERR_TAIL_LINES: usize = 40;

const INSTALL_HINT: &str = "moto server is not installed: run `scripts/install-test-deps`";

/// A running moto server, killed when dropped.
#[derive(Debug)]
pub struct MotoServer {
    child: Child,
    /// Held open so the server's stdin-EOF watchdog fires only when this process ends.
    _stdin: Option<ChildStdin>,
    address: SocketAddr,
}

impl MotoServer {
    /// The server shared by all tests of this test binary, started on first use.
    pub fn shared() -> &'static MotoServer {
        static SHARED: OnceLock<MotoServer> = OnceLock::new();
        SHARED.get_or_init(MotoServer::start)
    }

    /// Starts a server of its own (prefer [`MotoServer::shared`]: startup costs seconds).
    ///
    /// # Panics
    /// When moto is not installed or the server does not become ready within 60 s.
    pub fn start() -> MotoServer {
        let root = workspace_root();
        let python = std::env::var_os(PYTHON_ENV)
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join(".venv/bin/python"));
        if !python.exists() {
            panic!("{INSTALL_HINT} (no Python at `{}`)", python.display());
        }
        let moto_dir = root.join("tests/moto");
        let mut child = Command::new(&python)
            .arg(moto_dir.join("berth_moto.py"))
            .args(["-H", "127.0.0.1", "-p", "0"])
            .env("MOTO_AMIS_PATH", moto_dir.join("amis.json"))
            .env("MOTO_ENABLE_AMI_VALIDATION", "true")
            .env("MOTO_EC2_ENABLE_INSTANCE_TYPE_VALIDATION", "true")
            .env("MOTO_ENABLE_KEYPAIR_VALIDATION", "true")
            .env("BERTH_MOTO_EXIT_ON_STDIN_EOF", "1")
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "{INSTALL_HINT} (cannot run `{}`: {error})",
                    python.display()
                )
            });
        let stdin = child.stdin.take();
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        let port = match child.stderr.take() {
            Some(stderr) => read_port(stderr, Arc::clone(&tail)),
            None => None,
        };
        let mut server = MotoServer {
            child,
            _stdin: stdin,
            address: SocketAddr::from((Ipv4Addr::LOCALHOST, port.unwrap_or(0))),
        };
        let Some(_) = port else {
            let _ = server.child.kill();
            let _ = server.child.wait();
            let tail = stderr_tail(&tail);
            if tail.contains("No module named") || tail.contains("is installed but") {
                panic!("{INSTALL_HINT}\nmoto server stderr:\n{tail}");
            }
            panic!(
                "moto server did not report its port within {STARTUP_DEADLINE:?}\nstderr:\n{tail}"
            );
        };
        server.wait_ready(&tail);
        server
    }

    /// The server's URL, e.g. `http://127.0.0.1:41234`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The environment for a process (the Berth CLI) that should talk to this server.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint().as_str()),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", REGION),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
    }

    /// The environment for a process that should work in an account of its own: STS
    /// `AssumeRole` into a fresh 12-digit account hands out credentials that the emulator keys
    /// all state by, so concurrent tests never see each other's resources (IAM, Route 53 and
    /// S3 bucket names included, except that bucket names stay global as on AWS).
    ///
    /// # Panics
    /// When the emulator does not answer.
    pub fn account_env(&self) -> Vec<(String, String)> {
        let account = format!("{:012}", fastrand::u64(100_000_000_000..999_999_999_999));
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential=testing/20250101/{REGION}/sts/aws4_request, SignedHeaders=host, Signature=0"
        );
        let path = format!(
            "/?Action=AssumeRole&Version=2011-06-15&RoleSessionName=berth-test&RoleArn=arn%3Aaws%3Aiam%3A%3A{account}%3Arole%2Fberth-test"
        );
        let response = http::request(
            self.address,
            "GET",
            &path,
            &[("Authorization", &authorization)],
        )
        .unwrap_or_else(|error| panic!("AssumeRole on moto failed: {error}"));
        assert_eq!(
            response.status, 200,
            "AssumeRole on moto failed: {}",
            response.body
        );
        let field = |name: &str| {
            let open = format!("<{name}>");
            let close = format!("</{name}>");
            let start = response.body.find(&open).map(|index| index + open.len());
            let end = response.body.find(&close);
            match (start, end) {
                (Some(start), Some(end)) if start <= end => response.body[start..end].to_owned(),
                _ => panic!("AssumeRole answer lacks {name}: {}", response.body),
            }
        };
        let mut env = self.env();
        for (name, value) in [
            ("AWS_ACCESS_KEY_ID", field("AccessKeyId")),
            ("AWS_SECRET_ACCESS_KEY", field("SecretAccessKey")),
            ("AWS_SESSION_TOKEN", field("SessionToken")),
        ] {
            env.retain(|(existing, _)| existing != name);
            env.push((name.to_owned(), value));
        }
        env
    }

    /// Creates an S3 bucket (in [`REGION`]).
    ///
    /// # Panics
    /// When moto refuses (for example: the bucket exists).
    pub fn create_bucket(&self, bucket: &str) {
        // moto routes unsigned requests by guesswork; a SigV4-shaped header names the service.
        // moto does not check signatures.
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential=testing/20250101/{REGION}/s3/aws4_request, SignedHeaders=host, Signature=0"
        );
        let response = http::request(
            self.address,
            "PUT",
            &format!("/{bucket}"),
            &[("Authorization", &authorization)],
        )
        .unwrap_or_else(|error| panic!("failed to create bucket `{bucket}` on moto: {error}"));
        assert_eq!(
            response.status, 200,
            "moto refused to create bucket `{bucket}`: {}",
            response.body
        );
    }

    /// Wipes all of the server's state (affects every test sharing it: use with care).
    ///
    /// # Panics
    /// When the server does not answer.
    pub fn reset(&self) {
        let response = http::request(self.address, "POST", "/moto-api/reset", &[])
            .unwrap_or_else(|error| panic!("failed to reset moto: {error}"));
        assert_eq!(response.status, 200, "moto reset failed: {}", response.body);
    }

    fn wait_ready(&mut self, tail: &Mutex<VecDeque<String>>) {
        let deadline = Instant::now() + STARTUP_DEADLINE;
        loop {
            if let Ok(response) = http::request(self.address, "GET", "/moto-api/", &[])
                && response.status == 200
            {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "moto server exited with {status} during startup\nstderr:\n{}",
                    stderr_tail(tail)
                );
            }
            if Instant::now() >= deadline {
                panic!(
                    "moto server at {} not ready within {STARTUP_DEADLINE:?}\nstderr:\n{}",
                    self.endpoint(),
                    stderr_tail(tail)
                );
            }
            std::thread::sleep(PROBE_INTERVAL);
        }
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A bucket name no other test (in this or another process) uses: `<prefix>-<pid>-<n>-<time>`,
/// lowercase and at most 63 characters.
pub fn unique_bucket(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.subsec_nanos());
    let suffix = format!(
        "-{}-{}-{nanos:x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let prefix: String = prefix
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(63 - suffix.len())
        .collect();
    format!("{prefix}{suffix}")
}

/// The workspace root: the parent of this crate's directory.
pub fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// Reads the server's stderr on a thread of its own until it announces its port, and keeps
/// draining it afterwards (a full pipe would block the server), keeping the last lines.
fn read_port(stderr: std::process::ChildStderr, tail: Arc<Mutex<VecDeque<String>>>) -> Option<u16> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut sender = Some(sender);
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if let Some(port) = parse_port(&line)
                && let Some(sender) = sender.take()
            {
                let _ = sender.send(port);
            }
            if let Ok(mut tail) = tail.lock() {
                if tail.len() == STDERR_TAIL_LINES {
                    tail.pop_front();
                }
                tail.push_back(line);
            }
        }
    });
    receiver.recv_timeout(STARTUP_DEADLINE).ok()
}

/// The port in werkzeug's `Running on http://127.0.0.1:<port>` line.
fn parse_port(line: &str) -> Option<u16> {
    let rest = &line[line.find("Running on http://127.0.0.1:")? + 28..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

fn stderr_tail(tail: &Mutex<VecDeque<String>>) -> String {
    tail.lock()
        .map(|lines| lines.iter().cloned().collect::<Vec<_>>().join("\n"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::{parse_port, unique_bucket};

    #[test]
    fn parses_the_port_from_werkzeug_output() {
        assert_eq!(
            parse_port(" * Running on http://127.0.0.1:44405"),
            Some(44405)
        );
        assert_eq!(parse_port("Press CTRL+C to quit"), None);
    }

    #[test]
    fn bucket_names_are_valid_and_unique() {
        let first = unique_bucket("State_Store-conformance-with-a-very-long-prefix-indeed");
        let second = unique_bucket("State_Store-conformance-with-a-very-long-prefix-indeed");
        assert_ne!(first, second);
        assert!(first.len() <= 63, "{first}");
        assert!(
            first
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        );
    }
}

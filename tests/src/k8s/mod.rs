//! A real Kubernetes control plane for tests, in the spirit of controller-runtime's envtest:
//! etcd, kube-apiserver and (when a test asks) kube-controller-manager on free loopback ports,
//! in a temporary directory, for a chosen Kubernetes version.
//!
//! ```no_run
//! # async fn example() {
//! use berth_test_support::k8s::{ControlPlaneOptions, K8sVersion, TestControlPlane};
//!
//! let options = ControlPlaneOptions::new(K8sVersion::V1_36_2).with_controller_manager();
//! let Some(control_plane) = TestControlPlane::start(options).await else {
//!     return; // the binaries or etcd are missing, outside CI: the reason was printed
//! };
//! let client: kube::Client = control_plane.client(); // cluster-admin
//! # }
//! ```
//!
//! - The binaries come from [`binaries`](mod@binaries): the shipped kube-apiserver and
//!   kube-controller-manager, unpacked once into a cache; etcd from the system.
//! - When something is missing, [`TestControlPlane::start`] panics under `CI=true` and
//!   otherwise prints what is missing and how to get it, and returns `None` (the test skips).
//! - Everything stops and the directory is removed on drop, also when a test panics, and by a
//!   watchdog when the test process ends without dropping (see [`process`]).
//! - There is no kubelet and no scheduler; see [`crate::kubelet`] for a test that plays them.
//!
//! The default API server flags are those of the reference harness in the shared k8s
//! directory: client-certificate and service-account-token authentication, `Node,RBAC`
//! authorisation, the `NodeRestriction` admission plugin. A test that needs other flags (the
//! boot test of the control plane Berth renders) passes its own command line with
//! [`ControlPlaneOptions::with_apiserver_args`], built from the directory's [`Layout`].

pub mod binaries;
pub mod pki;
pub mod process;

use std::{
    net::{Ipv4Addr, TcpListener},
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

pub use binaries::{Binaries, Missing, binaries, find_etcd};
pub use pki::{CaPem, Keypair};
pub use process::Component;

/// The Kubernetes versions whose binaries are shipped for tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum K8sVersion {
    /// Upstream v1.28.0.
    V1_28_0,
    /// v1.36.2 (OpenShift's fork, upstream behaviour without `--openshift-config`).
    V1_36_2,
}

impl K8sVersion {
    /// Every shipped version, oldest first.
    pub const ALL: [K8sVersion; 2] = [K8sVersion::V1_28_0, K8sVersion::V1_36_2];

    /// `v1.28.0`, `v1.36.2`.
    pub fn as_str(self) -> &'static str {
        match self {
            K8sVersion::V1_28_0 => "v1.28.0",
            K8sVersion::V1_36_2 => "v1.36.2",
        }
    }

    /// `1.28.0`, `1.36.2`: the form a cluster spec's `kubernetesVersion` takes.
    pub fn semver(self) -> &'static str {
        self.as_str().trim_start_matches('v')
    }
}

impl std::fmt::Display for K8sVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Builds a component's command line from the control plane's layout.
pub type ArgsBuilder = Arc<dyn Fn(&Layout) -> Vec<String> + Send + Sync>;

/// What to start.
#[derive(Clone)]
pub struct ControlPlaneOptions {
    version: K8sVersion,
    controller_manager: bool,
    ca: Option<CaPem>,
    extra_apiserver_args: Vec<String>,
    apiserver_args: Option<ArgsBuilder>,
    controller_manager_args: Option<ArgsBuilder>,
    controllers: String,
}

impl std::fmt::Debug for ControlPlaneOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlPlaneOptions")
            .field("version", &self.version)
            .field("controller_manager", &self.controller_manager)
            .field("extra_apiserver_args", &self.extra_apiserver_args)
            .finish_non_exhaustive()
    }
}

/// The controllers the default controller manager runs: what tests of drains, validation and
/// rolling updates need, and none that reacts to missing kubelet heartbeats.
pub const DEFAULT_CONTROLLERS: &str = "deployment,replicaset,daemonset,disruption,namespace,\
serviceaccount,serviceaccount-token,garbagecollector";

impl ControlPlaneOptions {
    /// etcd and kube-apiserver of `version`, with a fresh CA.
    pub fn new(version: K8sVersion) -> Self {
        Self {
            version,
            controller_manager: false,
            ca: None,
            extra_apiserver_args: Vec::new(),
            apiserver_args: None,
            controller_manager_args: None,
            controllers: DEFAULT_CONTROLLERS.to_owned(),
        }
    }

    /// Also start kube-controller-manager (with [`DEFAULT_CONTROLLERS`]).
    pub fn with_controller_manager(mut self) -> Self {
        self.controller_manager = true;
        self
    }

    /// Use this CA (a cluster's own) instead of a fresh one.
    pub fn with_ca(mut self, ca: CaPem) -> Self {
        self.ca = Some(ca);
        self
    }

    /// Append these flags to the default API server command line.
    pub fn with_extra_apiserver_args(mut self, args: impl IntoIterator<Item = String>) -> Self {
        self.extra_apiserver_args.extend(args);
        self
    }

    /// Replace the API server's command line. It must serve on [`Layout::apiserver_port`] of
    /// 127.0.0.1 with a certificate the CA signed, and accept the CA's client certificates.
    pub fn with_apiserver_args(
        mut self,
        args: impl Fn(&Layout) -> Vec<String> + Send + Sync + 'static,
    ) -> Self {
        self.apiserver_args = Some(Arc::new(args));
        self
    }

    /// Replace the controller manager's command line (implies [`Self::with_controller_manager`]).
    pub fn with_controller_manager_args(
        mut self,
        args: impl Fn(&Layout) -> Vec<String> + Send + Sync + 'static,
    ) -> Self {
        self.controller_manager = true;
        self.controller_manager_args = Some(Arc::new(args));
        self
    }
}

/// Where everything of one control plane is, for tests that build their own command lines.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The state directory.
    pub dir: PathBuf,
    /// etcd's client URL, `http://127.0.0.1:PORT`.
    pub etcd_url: String,
    /// The API server's port on 127.0.0.1.
    pub apiserver_port: u16,
    /// The CA certificate.
    pub ca_certificate: PathBuf,
    /// The CA key.
    pub ca_key: PathBuf,
    /// The API server's serving certificate and key.
    pub serving_certificate: PathBuf,
    /// See `serving_certificate`.
    pub serving_key: PathBuf,
    /// The service-account signing key and its certificate (public key).
    pub service_account_key: PathBuf,
    /// See `service_account_key`.
    pub service_account_certificate: PathBuf,
    /// A kubeconfig for the controller manager (`system:kube-controller-manager`).
    pub controller_manager_kubeconfig: PathBuf,
    /// A cluster-admin kubeconfig (`system:masters`).
    pub admin_kubeconfig: PathBuf,
}

/// Why a control plane did not start.
#[derive(Debug)]
pub enum StartError {
    /// A binary or etcd is missing.
    Missing(Missing),
    /// A component exited during startup; `log` is the end of what it printed.
    Exited {
        /// `etcd`, `kube-apiserver` or `kube-controller-manager`.
        component: String,
        /// How it exited.
        status: String,
        /// The end of its output.
        log: String,
    },
    /// A component did not become ready in time.
    NotReady {
        /// Which one.
        component: String,
        /// How long it was given.
        waited: Duration,
        /// The end of its output.
        log: String,
    },
    /// The state directory could not be prepared.
    Io(std::io::Error),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Missing(missing) => write!(f, "{missing}"),
            StartError::Exited {
                component,
                status,
                log,
            } => write!(f, "{component} exited during startup ({status}):\n{log}"),
            StartError::NotReady {
                component,
                waited,
                log,
            } => write!(f, "{component} was not ready after {waited:?}:\n{log}"),
            StartError::Io(error) => write!(f, "cannot prepare the control plane: {error}"),
        }
    }
}

impl std::error::Error for StartError {}

impl From<std::io::Error> for StartError {
    fn from(error: std::io::Error) -> Self {
        StartError::Io(error)
    }
}

/// How long a component may take to become ready: seconds on an idle machine, much longer
/// while cargo builds beside the tests on two cores.
const READY_DEADLINE: Duration = Duration::from_secs(120);

/// How many times a start is tried when a component finds its port taken.
const PORT_RACE_ATTEMPTS: u32 = 3;

/// A running control plane. Dropping it stops everything and removes its directory.
pub struct TestControlPlane {
    version: K8sVersion,
    layout: Layout,
    server: String,
    ca: CaPem,
    config: kube::Config,
    // Dropped in reverse order of start: the controller manager, the API server, etcd; the
    // watchdog last (it removes the directory).
    components: Vec<Component>,
    _watchdog: process::Watchdog,
}

impl std::fmt::Debug for TestControlPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestControlPlane")
            .field("version", &self.version)
            .field("server", &self.server)
            .field("dir", &self.layout.dir)
            .finish_non_exhaustive()
    }
}

impl Drop for TestControlPlane {
    fn drop(&mut self) {
        while let Some(component) = self.components.pop() {
            drop(component);
        }
    }
}

impl TestControlPlane {
    /// Starts a control plane, or returns `None` outside CI when a binary or etcd is missing
    /// (after printing what is missing and how to get it).
    ///
    /// # Panics
    /// Under `CI=true` when something is missing, and whenever a component fails to start.
    pub async fn start(options: ControlPlaneOptions) -> Option<TestControlPlane> {
        match Self::try_start(options).await {
            Ok(control_plane) => Some(control_plane),
            Err(StartError::Missing(missing)) if !in_ci() => {
                eprintln!("skipping: the test control plane cannot start: {missing}");
                None
            }
            Err(error) => panic!("the test control plane did not start: {error}"),
        }
    }

    /// Starts a control plane, reporting every failure.
    ///
    /// # Errors
    /// See [`StartError`].
    pub async fn try_start(options: ControlPlaneOptions) -> Result<TestControlPlane, StartError> {
        // Ports are picked free but only bound when a component starts, so a test running
        // beside this one may take one first: start again on fresh ports.
        let mut attempt = 1;
        loop {
            match Self::start_once(&options).await {
                Err(StartError::Exited { log, .. })
                    if attempt < PORT_RACE_ATTEMPTS && log.contains("address already in use") =>
                {
                    attempt += 1;
                }
                outcome => return outcome,
            }
        }
    }

    async fn start_once(options: &ControlPlaneOptions) -> Result<TestControlPlane, StartError> {
        let binaries = binaries(options.version).map_err(StartError::Missing)?;
        let dir = tempfile::Builder::new()
            .prefix("berth-k8s-")
            .tempdir()?
            .keep();
        let watchdog = process::Watchdog::start(&dir)?;
        let layout = write_layout(&dir, options.ca.clone())?;
        let ca = CaPem {
            certificate: std::fs::read_to_string(&layout.ca_certificate)?,
            private_key: std::fs::read_to_string(&layout.ca_key)?,
        };
        let mut components = Vec::new();
        let mut etcd = Component::spawn("etcd", &binaries.etcd, &etcd_args(&layout), &dir)?;
        wait_for_etcd(&mut etcd, &layout.etcd_url).await?;
        components.push(etcd);

        let apiserver_args = match &options.apiserver_args {
            Some(build) => build(&layout),
            None => {
                let mut args = default_apiserver_args(&layout);
                args.extend(options.extra_apiserver_args.iter().cloned());
                args
            }
        };
        let mut apiserver =
            Component::spawn("kube-apiserver", &binaries.apiserver, &apiserver_args, &dir)?;
        let config = admin_config(&layout).await?;
        wait_for_apiserver(&mut apiserver, &config).await?;
        components.push(apiserver);

        if options.controller_manager {
            let args = match &options.controller_manager_args {
                Some(build) => build(&layout),
                None => default_controller_manager_args(&layout, &options.controllers),
            };
            let mut controller_manager = Component::spawn(
                "kube-controller-manager",
                &binaries.controller_manager,
                &args,
                &dir,
            )?;
            wait_for_controller_manager(&mut controller_manager, &config).await?;
            components.push(controller_manager);
        }
        Ok(TestControlPlane {
            version: options.version,
            server: format!("https://127.0.0.1:{}", layout.apiserver_port),
            layout,
            ca,
            config,
            components,
            _watchdog: watchdog,
        })
    }

    /// A cluster-admin client. Call it from the runtime that uses the client: each call makes
    /// a new one, so clients never outlive the test runtime that made them.
    pub fn client(&self) -> kube::Client {
        kube::Client::try_from(self.config.clone()).expect("a client for the test API server")
    }

    /// The API server's URL, `https://127.0.0.1:PORT`.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// A cluster-admin kubeconfig file.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.layout.admin_kubeconfig
    }

    /// The CA that signed the serving certificate and every client certificate.
    pub fn ca(&self) -> &CaPem {
        &self.ca
    }

    /// The version running.
    pub fn version(&self) -> K8sVersion {
        self.version
    }

    /// Where everything is.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// A running component by name, e.g. to read its log.
    pub fn component(&self, name: &str) -> Option<&Component> {
        self.components
            .iter()
            .find(|component| component.name() == name)
    }
}

/// `CI=true` (or any value but `false`/`0`): missing prerequisites fail instead of skipping.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !value.is_empty() && value != "false" && value != "0")
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

fn write_layout(dir: &Path, ca: Option<CaPem>) -> std::io::Result<Layout> {
    let pki_dir = dir.join("pki");
    std::fs::create_dir_all(&pki_dir)?;
    let ca = ca.unwrap_or_else(|| CaPem::generate("berth-test-ca"));
    let serving = ca.serving("kube-apiserver");
    let admin = ca.client("berth-test-admin", Some("system:masters"));
    let controller_manager = ca.client("system:kube-controller-manager", None);
    let service_account = pki::service_account_keypair();
    let write = |name: &str, content: &str| -> std::io::Result<PathBuf> {
        let path = pki_dir.join(name);
        std::fs::write(&path, content)?;
        Ok(path)
    };
    let etcd_port = free_port()?;
    let layout = Layout {
        dir: dir.to_path_buf(),
        etcd_url: format!("http://127.0.0.1:{etcd_port}"),
        apiserver_port: free_port()?,
        ca_certificate: write("ca.crt", &ca.certificate)?,
        ca_key: write("ca.key", &ca.private_key)?,
        serving_certificate: write("apiserver.crt", &serving.certificate)?,
        serving_key: write("apiserver.key", &serving.private_key)?,
        service_account_key: write("sa.key", &service_account.private_key)?,
        service_account_certificate: write("sa.crt", &service_account.certificate)?,
        controller_manager_kubeconfig: dir.join("kube-controller-manager.kubeconfig"),
        admin_kubeconfig: dir.join("admin.kubeconfig"),
    };
    let admin_certificate = write("admin.crt", &admin.certificate)?;
    let admin_key = write("admin.key", &admin.private_key)?;
    let kcm_certificate = write(
        "kube-controller-manager.crt",
        &controller_manager.certificate,
    )?;
    let kcm_key = write(
        "kube-controller-manager.key",
        &controller_manager.private_key,
    )?;
    let server = format!("https://127.0.0.1:{}", layout.apiserver_port);
    std::fs::write(
        &layout.admin_kubeconfig,
        kubeconfig(
            &server,
            &layout.ca_certificate,
            &admin_certificate,
            &admin_key,
        ),
    )?;
    std::fs::write(
        &layout.controller_manager_kubeconfig,
        kubeconfig(&server, &layout.ca_certificate, &kcm_certificate, &kcm_key),
    )?;
    Ok(layout)
}

fn kubeconfig(server: &str, ca: &Path, certificate: &Path, key: &Path) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: {server}\n    \
         certificate-authority: {ca}\nusers:\n- name: test\n  user:\n    client-certificate: {certificate}\n    \
         client-key: {key}\ncontexts:\n- name: test\n  context:\n    cluster: test\n    user: test\n\
         current-context: test\n",
        ca = ca.display(),
        certificate = certificate.display(),
        key = key.display(),
    )
}

fn etcd_args(layout: &Layout) -> Vec<String> {
    let peer = format!(
        "http://127.0.0.1:{}",
        free_port().expect("a free port for etcd's peers")
    );
    let data_dir = layout.dir.join("etcd");
    [
        "--name=test".to_owned(),
        format!("--data-dir={}", data_dir.display()),
        format!("--listen-client-urls={}", layout.etcd_url),
        format!("--advertise-client-urls={}", layout.etcd_url),
        format!("--listen-peer-urls={peer}"),
        format!("--initial-advertise-peer-urls={peer}"),
        format!("--initial-cluster=test={peer}"),
        "--log-level=warn".to_owned(),
    ]
    .into()
}

/// The reference harness's API server flags.
pub fn default_apiserver_args(layout: &Layout) -> Vec<String> {
    let path = |path: &Path| path.display().to_string();
    vec![
        format!("--etcd-servers={}", layout.etcd_url),
        "--bind-address=127.0.0.1".to_owned(),
        "--advertise-address=127.0.0.1".to_owned(),
        format!("--secure-port={}", layout.apiserver_port),
        format!("--tls-cert-file={}", path(&layout.serving_certificate)),
        format!("--tls-private-key-file={}", path(&layout.serving_key)),
        format!("--client-ca-file={}", path(&layout.ca_certificate)),
        format!(
            "--service-account-key-file={}",
            path(&layout.service_account_certificate)
        ),
        format!(
            "--service-account-signing-key-file={}",
            path(&layout.service_account_key)
        ),
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local".to_owned(),
        "--service-cluster-ip-range=10.0.0.0/24".to_owned(),
        "--endpoint-reconciler-type=none".to_owned(),
        "--authorization-mode=Node,RBAC".to_owned(),
        "--enable-admission-plugins=NodeRestriction".to_owned(),
        "--allow-privileged=true".to_owned(),
        "--profiling=false".to_owned(),
    ]
}

/// The reference harness's controller manager flags.
pub fn default_controller_manager_args(layout: &Layout, controllers: &str) -> Vec<String> {
    let path = |path: &Path| path.display().to_string();
    vec![
        format!(
            "--kubeconfig={}",
            path(&layout.controller_manager_kubeconfig)
        ),
        "--leader-elect=false".to_owned(),
        "--secure-port=0".to_owned(),
        "--use-service-account-credentials=true".to_owned(),
        format!(
            "--service-account-private-key-file={}",
            path(&layout.service_account_key)
        ),
        format!("--root-ca-file={}", path(&layout.ca_certificate)),
        format!(
            "--cluster-signing-cert-file={}",
            path(&layout.ca_certificate)
        ),
        format!("--cluster-signing-key-file={}", path(&layout.ca_key)),
        format!("--controllers={controllers}"),
    ]
}

async fn admin_config(layout: &Layout) -> Result<kube::Config, StartError> {
    let kubeconfig = kube::config::Kubeconfig::read_from(&layout.admin_kubeconfig)
        .map_err(|error| StartError::Io(std::io::Error::other(error.to_string())))?;
    let mut config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .map_err(|error| StartError::Io(std::io::Error::other(error.to_string())))?;
    config.connect_timeout = Some(Duration::from_secs(5));
    config.read_timeout = Some(Duration::from_secs(60));
    Ok(config)
}

/// Polls `check` every 100 ms until it answers true, failing early when the component exits.
async fn wait_until<F, Fut>(component: &mut Component, mut check: F) -> Result<(), StartError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    loop {
        if let Some(status) = component.exited() {
            return Err(StartError::Exited {
                component: component.name().to_owned(),
                status: status.to_string(),
                log: component.log_tail(6000),
            });
        }
        if check().await {
            return Ok(());
        }
        if started.elapsed() > READY_DEADLINE {
            return Err(StartError::NotReady {
                component: component.name().to_owned(),
                waited: started.elapsed(),
                log: component.log_tail(6000),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn wait_for_etcd(etcd: &mut Component, url: &str) -> Result<(), StartError> {
    let address: std::net::SocketAddr = url
        .trim_start_matches("http://")
        .parse()
        .expect("etcd's URL is an address");
    wait_until(etcd, || async move {
        tokio::task::spawn_blocking(move || {
            crate::http::request(address, "GET", "/health", &[])
                .is_ok_and(|response| response.status == 200 && response.body.contains("true"))
        })
        .await
        .unwrap_or(false)
    })
    .await
}

async fn wait_for_apiserver(
    apiserver: &mut Component,
    config: &kube::Config,
) -> Result<(), StartError> {
    let client = kube::Client::try_from(config.clone())
        .map_err(|error| StartError::Io(std::io::Error::other(error.to_string())))?;
    wait_until(apiserver, || {
        let client = client.clone();
        async move {
            let request = http::Request::get("/readyz")
                .body(Vec::new())
                .expect("a valid request");
            client
                .request_text(request)
                .await
                .is_ok_and(|text| text.trim() == "ok")
        }
    })
    .await
}

/// Ready once the service-account controller has made `default/default`, as the reference
/// harness waits.
async fn wait_for_controller_manager(
    controller_manager: &mut Component,
    config: &kube::Config,
) -> Result<(), StartError> {
    use k8s_openapi::api::core::v1::ServiceAccount;
    let client = kube::Client::try_from(config.clone())
        .map_err(|error| StartError::Io(std::io::Error::other(error.to_string())))?;
    let accounts: kube::Api<ServiceAccount> = kube::Api::namespaced(client, "default");
    wait_until(controller_manager, || {
        let accounts = accounts.clone();
        async move { matches!(accounts.get_opt("default").await, Ok(Some(_))) }
    })
    .await
}

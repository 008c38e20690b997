//! `berth create …`: the flags of `create cluster`, `create -f` and `create secret`.

use clap::{Args, Subcommand, ValueEnum};

/// `berth create`: a cluster from flags, resources from a file, or a secret.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct CreateArgs {
    /// A YAML file with Cluster and/or InstanceGroup documents (`-` for stdin).
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    pub(crate) file: Option<String>,
    #[command(subcommand)]
    pub(crate) command: Option<CreateCommand>,
}

/// The nouns of `berth create`.
#[derive(Debug, Subcommand)]
pub(crate) enum CreateCommand {
    /// Write a new cluster spec (Cluster + InstanceGroups), its CAs and SSH key to the store.
    Cluster(Box<CreateClusterArgs>),
    /// Add a secret to a cluster.
    Secret(CreateSecretArgs),
}

/// `berth create cluster NAME --zones …`, with kops's flag names.
#[derive(Debug, Args)]
pub(crate) struct CreateClusterArgs {
    /// The cluster name, a DNS name such as `dev.example.com`.
    pub(crate) cluster: Option<String>,
    /// Zones for the worker nodes (and the control plane unless --control-plane-zones).
    #[arg(long, value_delimiter = ',', required = true)]
    pub(crate) zones: Vec<String>,
    /// Zones for the control-plane nodes.
    #[arg(long, value_delimiter = ',', alias = "master-zones")]
    pub(crate) control_plane_zones: Vec<String>,
    /// Number of control-plane nodes (default: one per control-plane zone).
    #[arg(long, alias = "master-count")]
    pub(crate) control_plane_count: Option<u32>,
    /// Number of worker nodes, spread over the zones.
    #[arg(long, default_value_t = 2)]
    pub(crate) node_count: u32,
    /// Instance type of the worker nodes.
    #[arg(long)]
    pub(crate) node_size: Option<String>,
    /// Instance type of the control-plane nodes.
    #[arg(long, alias = "master-size")]
    pub(crate) control_plane_size: Option<String>,
    /// Kubernetes version, e.g. 1.36.2 (default: the newest supported).
    #[arg(long)]
    pub(crate) kubernetes_version: Option<String>,
    /// The CNI: `cilium` or `cni` (bring your own).
    #[arg(long, default_value = "cilium")]
    pub(crate) networking: String,
    /// Where nodes live: public subnets, or private ones behind NAT gateways.
    #[arg(long, value_enum, default_value_t = TopologyArg::Public)]
    pub(crate) topology: TopologyArg,
    /// Add a bastion instance group (private topology only).
    #[arg(long)]
    pub(crate) bastion: bool,
    /// The Route 53 hosted zone for the cluster's DNS names.
    #[arg(long)]
    pub(crate) dns_zone: Option<String>,
    /// The kind of DNS: a public or private hosted zone, or none (a load balancer name).
    #[arg(long, value_enum)]
    pub(crate) dns: Option<DnsArg>,
    /// The API load balancer's scheme.
    #[arg(long, value_enum)]
    pub(crate) api_loadbalancer_type: Option<LoadBalancerArg>,
    /// SSH public key file for the nodes (default: ~/.ssh/id_rsa.pub or id_ed25519.pub if present).
    #[arg(long, value_name = "FILE")]
    pub(crate) ssh_public_key: Option<String>,
    /// The VPC's CIDR.
    #[arg(long)]
    pub(crate) network_cidr: Option<String>,
    /// An existing VPC to build the cluster in (shared, never deleted).
    #[arg(long, alias = "network-id")]
    pub(crate) vpc: Option<String>,
    /// Existing subnets to use (shared), one per zone.
    #[arg(long, value_delimiter = ',')]
    pub(crate) subnets: Vec<String>,
    /// CIDRs allowed to reach the Kubernetes API.
    #[arg(long, value_delimiter = ',')]
    pub(crate) admin_access: Vec<String>,
    /// CIDRs allowed to reach the nodes over SSH (default: --admin-access).
    #[arg(long, value_delimiter = ',')]
    pub(crate) ssh_access: Vec<String>,
    /// Machine image: an AMI id or `owner/name`.
    #[arg(long)]
    pub(crate) image: Option<String>,
    /// Give instances public IP addresses.
    #[arg(long)]
    pub(crate) associate_public_ip: Option<bool>,
    /// Tags for every cloud resource: `key=value,key2=value2`.
    #[arg(long, value_delimiter = ',')]
    pub(crate) cloud_labels: Vec<String>,
    /// Print the manifests instead of writing them.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Output format with --dry-run.
    #[arg(short, long, value_enum, default_value_t = DryRunFormat::Yaml)]
    pub(crate) output: DryRunFormat,
}

/// `--topology`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum TopologyArg {
    /// Nodes in public subnets.
    Public,
    /// Nodes in private subnets, egress through NAT gateways.
    Private,
}

/// `--dns`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum DnsArg {
    /// A public Route 53 hosted zone.
    Public,
    /// A private Route 53 hosted zone.
    Private,
    /// No DNS: the API load balancer's name is the endpoint.
    None,
}

/// `--api-loadbalancer-type`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum LoadBalancerArg {
    /// Internet-facing.
    Public,
    /// Reachable only inside the VPC.
    Internal,
}

/// Formats of `create cluster --dry-run`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum DryRunFormat {
    /// kops-format YAML documents.
    Yaml,
    /// JSON.
    Json,
}

/// `berth create secret …`.
#[derive(Debug, Args)]
pub(crate) struct CreateSecretArgs {
    #[command(subcommand)]
    pub(crate) command: SecretCommand,
}

/// The kinds of secret `berth create secret` adds.
#[derive(Debug, Subcommand)]
pub(crate) enum SecretCommand {
    /// Add an SSH public key for the nodes' admin user.
    Sshpublickey(SshPublicKeyArgs),
}

/// `berth create secret sshpublickey -i FILE`.
#[derive(Debug, Args)]
pub(crate) struct SshPublicKeyArgs {
    /// The public key file.
    #[arg(short = 'i', long = "pubkey", value_name = "FILE")]
    pub(crate) file: String,
}

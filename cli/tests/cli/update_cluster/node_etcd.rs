//! The etcd volumes of control-plane nodes, end to end from the launch templates' user
//! data (see [`super::node_bootstrap`] for how the bootstrap script is run): a highly
//! available cluster's control-plane nodes each take their zone's volumes in the emulator,
//! format them (real `mkfs.ext4` on sparse files standing in for the devices the kernel
//! would show), mount them through units the kubelet requires, name each other's etcd
//! members in `/etc/hosts` from the volumes' attachments and keep that (and the API's DNS
//! records) current with `nodeup --sync` as their timer runs it, and a replacement takes the
//! volume of a stopped instance.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use super::{
    node_bootstrap::{
        ZONE, auto_scaling_group, bootstrap_with, create_and_update, nodeup_binary_is_built,
        run_bootstrap, run_bootstrap_with_env, user_data,
    },
    world::World,
};

/// The size of the sparse files that stand in for etcd volumes' devices.
const DEVICE_BYTES: u64 = 64 * 1024 * 1024;

/// Each etcd volume of the world: (etcd cluster, member, zone, attached instance).
pub(super) fn etcd_volumes(world: &World) -> Vec<(String, String, String, Option<String>)> {
    let described = world
        .block_on(world.aws.ec2.describe_volumes().send())
        .expect("DescribeVolumes");
    let mut volumes: Vec<_> = described
        .volumes()
        .iter()
        .filter_map(|volume| {
            let (cluster, value) = volume.tags().iter().find_map(|tag| {
                let cluster = tag.key()?.strip_prefix("k8s.io/etcd/")?;
                Some((cluster.to_owned(), tag.value()?.to_owned()))
            })?;
            let member = value.split_once('/')?.0.to_owned();
            let attached = volume
                .attachments()
                .first()
                .and_then(|attachment| attachment.instance_id().map(str::to_owned));
            Some((
                cluster,
                member,
                volume.availability_zone()?.to_owned(),
                attached,
            ))
        })
        .collect();
    volumes.sort();
    volumes
}

/// The id of the (only) instance of the auto scaling group `group`.
pub(super) fn instance_of(world: &World, group: &str) -> String {
    auto_scaling_group(world, group).instances()[0]
        .instance_id()
        .expect("an instance id")
        .to_owned()
}

/// Where the kernel of a Nitro instance shows `volume_id` (what nodeup looks for first).
pub(super) fn device_path(root: &Path, volume_id: &str) -> PathBuf {
    root.join("dev/disk/by-id").join(format!(
        "nvme-Amazon_Elastic_Block_Store_{}",
        volume_id.replace('-', "")
    ))
}

/// Makes a blank sparse "device" under `root` for every etcd volume in `zone` (a machine
/// shows only its attached volumes; which one nodeup takes is its choice).
pub(super) fn make_block_devices(world: &World, root: &Path, zone: &str) {
    let described = world
        .block_on(world.aws.ec2.describe_volumes().send())
        .expect("DescribeVolumes");
    for volume in described.volumes() {
        let etcd = volume
            .tags()
            .iter()
            .any(|tag| tag.key().is_some_and(|key| key.starts_with("k8s.io/etcd/")));
        if !etcd || volume.availability_zone() != Some(zone) {
            continue;
        }
        let path = device_path(root, volume.volume_id().expect("a volume id"));
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("dev dir");
        if !path.exists() {
            let file = std::fs::File::create(&path).expect("device file");
            file.set_len(DEVICE_BYTES).expect("sparse size");
        }
    }
}

/// `blkid`'s TYPE and LABEL of a device file.
fn filesystem(device: &Path) -> (String, String) {
    // util-linux puts it in /usr/sbin or /sbin, which a user's PATH may lack.
    let blkid = ["/usr/sbin/blkid", "/sbin/blkid"]
        .into_iter()
        .find(|path| Path::new(path).is_file())
        .unwrap_or("blkid");
    let output = Command::new(blkid)
        .args(["-p", "-o", "export"])
        .arg(device)
        .output()
        .expect("blkid (util-linux) is installed");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let value = |key: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
            .unwrap_or_default()
            .to_owned()
    };
    (value("TYPE"), value("LABEL"))
}

/// The private address EC2 gave `instance`, and its image.
pub(super) fn private_address(world: &World, instance: &str) -> String {
    described_instance(world, instance).0
}

/// `instance`'s private address and image.
fn described_instance(world: &World, instance: &str) -> (String, String) {
    let described = world
        .block_on(
            world
                .aws
                .ec2
                .describe_instances()
                .instance_ids(instance)
                .send(),
        )
        .expect("DescribeInstances");
    let instance = &described.reservations()[0].instances()[0];
    (
        instance
            .private_ip_address()
            .expect("a private address")
            .to_owned(),
        instance.image_id().expect("an image").to_owned(),
    )
}

/// nodeup's flags for `instance` in `zone`, addressed as EC2 has it.
fn identity_flags(instance: &str, zone: &str) -> String {
    format!(" --instance-id='{instance}' --zone='{zone}'")
}

/// The member names (`etcd-b.internal.<cluster>`, …) nodeup's hosts block gives `address`.
fn hosts_names(root: &Path, address: &str) -> Vec<String> {
    let hosts = std::fs::read_to_string(root.join("etc/hosts")).unwrap_or_default();
    let mut names: Vec<String> = hosts
        .lines()
        .filter_map(|line| {
            let (first, rest) = line.split_once('\t')?;
            (first == address).then(|| rest.split(' ').map(str::to_owned).collect::<Vec<_>>())
        })
        .flatten()
        .collect();
    names.sort();
    names
}

/// Runs what `nodeup-sync.timer` runs on `machine` (the `ExecStart` of the service nodeup
/// wrote there, with the test's edits: nodeup from the machine's install directory, its
/// root, name and address); returns stdout.
fn sync(world: &World, machine: &Path, address: &str, extra: &str) -> String {
    let root = machine.join("root");
    let unit = std::fs::read_to_string(root.join("etc/systemd/system/nodeup-sync.service"))
        .expect("the sync service");
    let exec = unit
        .lines()
        .find_map(|line| line.strip_prefix("ExecStart="))
        .expect("an ExecStart");
    let mut words = exec.split(' ');
    assert_eq!(words.next(), Some("/opt/berth/bin/nodeup"), "{exec}");
    let output = Command::new(machine.join("opt-berth-bin/nodeup"))
        .args(words)
        .arg(format!("--root={}", root.display()))
        .args(["--service-manager=recording", "--node-ip", address])
        .arg(format!(
            "--hostname=ip-{}.ec2.internal",
            address.replace('.', "-")
        ))
        .args(extra.split_whitespace().map(|flag| flag.replace('\'', "")))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(world.aws_env().iter().map(|(name, value)| (name, value)))
        .env("RUST_LOG", "warn")
        .output()
        .expect("nodeup");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "nodeup --sync failed\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The addresses of the A record `name` in the test's hosted zone.
fn record_addresses(world: &World, name: &str) -> Vec<String> {
    let zones = world
        .block_on(world.aws.route53.list_hosted_zones().send())
        .expect("ListHostedZones");
    let zone = zones
        .hosted_zones()
        .iter()
        .find(|zone| zone.name().trim_end_matches('.') == ZONE)
        .expect("the test's zone");
    let records = world
        .block_on(
            world
                .aws
                .route53
                .list_resource_record_sets()
                .hosted_zone_id(zone.id())
                .send(),
        )
        .expect("ListResourceRecordSets");
    let mut addresses: Vec<String> = records
        .resource_record_sets()
        .iter()
        .filter(|record| {
            record.name().trim_end_matches('.') == name
                && record.r#type() == &aws_sdk_route53::types::RrType::A
        })
        .flat_map(|record| record.resource_records())
        .map(|value| value.value().to_owned())
        .collect();
    addresses.sort();
    addresses
}

#[test]
fn ha_control_plane_nodes_take_format_and_mount_their_zones_volumes_and_name_their_peers() {
    nodeup_binary_is_built();
    let world = World::new();
    let cluster = format!("ha.{ZONE}");
    let zones = "us-east-1a,us-east-1b,us-east-1c";
    create_and_update(
        &world,
        &cluster,
        &["--zones", zones, "--control-plane-zones", zones],
    );
    let before = etcd_volumes(&world);
    assert_eq!(before.len(), 6, "{before:?}");
    assert!(before.iter().all(|volume| volume.3.is_none()), "{before:?}");
    let machines = world.context.path().join("machines");

    // The control-plane node of us-east-1b.
    let group_b = format!("control-plane-us-east-1b.{cluster}");
    let instance_b = instance_of(&world, &group_b);
    let address_b = private_address(&world, &instance_b);
    let script = user_data(&world, &group_b);
    let machine_b = machines.join(&instance_b);
    let root_b = machine_b.join("root");
    make_block_devices(&world, &root_b, "us-east-1b");
    let flags_b = identity_flags(&instance_b, "us-east-1b");
    let first = bootstrap_with(&world, &script, &machine_b, &address_b, &flags_b);
    assert!(first.contains("nodeup: "), "{first}");

    let after = etcd_volumes(&world);
    let mut members_b = Vec::new();
    for (etcd, member, zone, attached) in &after {
        if zone != "us-east-1b" {
            assert_eq!(attached, &None, "{after:?}");
            continue;
        }
        assert_eq!(attached.as_deref(), Some(instance_b.as_str()), "{after:?}");
        members_b.push((etcd.clone(), member.clone()));
        let manifest = std::fs::read_to_string(
            root_b
                .join("etc/kubernetes/manifests")
                .join(format!("etcd-{etcd}.yaml")),
        )
        .expect("the etcd manifest");
        assert!(
            manifest.contains(&format!("--name=etcd-{etcd}-{member}")),
            "{manifest}"
        );
        // Every member is listed by its DNS name.
        for other in ["a", "b", "c"] {
            let name = if etcd == "main" {
                format!("etcd-{other}")
            } else {
                format!("etcd-{etcd}-{other}")
            };
            assert!(
                manifest.contains(&format!(
                    "etcd-{etcd}-{other}=https://{name}.internal.{cluster}:"
                )),
                "{manifest}"
            );
        }
        // The volume's device was formatted, and a unit the kubelet requires mounts it.
        let volume_id = world
            .block_on(
                world
                    .aws
                    .ec2
                    .describe_volumes()
                    .filters(
                        aws_sdk_ec2::types::Filter::builder()
                            .name(format!("tag:k8s.io/etcd/{etcd}"))
                            .values(format!("{member}/a,b,c"))
                            .build(),
                    )
                    .send(),
            )
            .expect("DescribeVolumes")
            .volumes()[0]
            .volume_id()
            .expect("an id")
            .to_owned();
        let device = device_path(&root_b, &volume_id);
        assert_eq!(
            filesystem(&device),
            ("ext4".to_owned(), format!("etcd-{etcd}"))
        );
        let unit = std::fs::read_to_string(
            root_b
                .join("etc/systemd/system")
                .join(format!("mnt-etcd\\x2d{etcd}.mount")),
        )
        .expect("the mount unit");
        assert!(
            unit.contains(&format!(
                "What=/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_{}",
                volume_id.replace('-', "")
            )) && unit.contains(&format!("Where=/mnt/etcd-{etcd}"))
                && unit.contains("RequiredBy=kubelet.service"),
            "{unit}"
        );
    }
    assert_eq!(members_b.len(), 2, "{after:?}");
    // Mounts start before the kubelet.
    let log = std::fs::read_to_string(root_b.join("var/lib/nodeup/service-manager.log"))
        .expect("the service manager's log");
    let mount = log.find("start mnt-etcd").expect("mounts started");
    let kubelet = log.find("kubelet.service").expect("kubelet handled");
    assert!(mount < kubelet, "{log}");
    let status =
        std::fs::read_to_string(root_b.join("var/lib/nodeup/status.json")).expect("status.json");
    assert!(status.contains("attached the etcd volume"), "{status}");
    assert!(
        status.contains("filesystem ext4 labelled etcd-main"),
        "{status}"
    );
    let own_names = hosts_names(&root_b, &address_b);
    assert_eq!(own_names.len(), 2, "{own_names:?}");

    // A second run changes nothing: no format, no attach.
    let second = bootstrap_with(&world, &script, &machine_b, &address_b, &flags_b);
    assert!(second.contains("nodeup: 0 changes"), "{second}");
    assert_eq!(etcd_volumes(&world), after);

    // The node of us-east-1a names b's members at b's address; b learns a's on its next run.
    let group_a = format!("control-plane-us-east-1a.{cluster}");
    let instance_a = instance_of(&world, &group_a);
    let address_a = private_address(&world, &instance_a);
    let machine_a = machines.join(&instance_a);
    let root_a = machine_a.join("root");
    make_block_devices(&world, &root_a, "us-east-1a");
    bootstrap_with(
        &world,
        &user_data(&world, &group_a),
        &machine_a,
        &address_a,
        &identity_flags(&instance_a, "us-east-1a"),
    );
    assert_eq!(hosts_names(&root_a, &address_b), own_names);
    let a_names = hosts_names(&root_a, &address_a);
    assert_eq!(a_names.len(), 2, "{a_names:?}");
    let synced = sync(&world, &machine_b, &address_b, &flags_b);
    assert!(synced.contains("nodeup sync: 1 changes"), "{synced}");
    assert_eq!(hosts_names(&root_b, &address_a), a_names);
    let synced = sync(&world, &machine_b, &address_b, &flags_b);
    assert!(synced.contains("nodeup sync: 0 changes"), "{synced}");

    // The API's records (DNS, no load balancer) name every running control-plane instance.
    let mut control_plane: Vec<String> = ["a", "b", "c"]
        .iter()
        .map(|zone| {
            private_address(
                &world,
                &instance_of(&world, &format!("control-plane-us-east-1{zone}.{cluster}")),
            )
        })
        .collect();
    control_plane.sort();
    let internal = format!("api.internal.{cluster}");
    assert_eq!(record_addresses(&world, &internal), control_plane);

    // While b runs, another instance in its zone takes nothing; a zone without etcd members
    // has none to take.
    let failures = [
        ("us-east-1b", "is free for this instance"),
        ("us-east-1d", "is in zone us-east-1d"),
    ];
    for (zone, expected) in failures {
        let output = run_bootstrap(
            &world,
            &script,
            &machines.join(zone),
            "172.20.64.21",
            &identity_flags(&instance_a, zone),
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{stderr}");
        assert!(
            stderr.contains(expected) && stderr.contains("etcd cluster `events`"),
            "{stderr}"
        );
    }

    // Once b is stopped, its replacement detaches b's volumes and takes them, data and all.
    world
        .block_on(
            world
                .aws
                .ec2
                .stop_instances()
                .instance_ids(&instance_b)
                .send(),
        )
        .expect("StopInstances");
    let replacement = world
        .block_on(
            world
                .aws
                .ec2
                .run_instances()
                .image_id(described_instance(&world, &instance_b).1)
                .min_count(1)
                .max_count(1)
                .placement(
                    aws_sdk_ec2::types::Placement::builder()
                        .availability_zone("us-east-1b")
                        .build(),
                )
                .send(),
        )
        .expect("RunInstances")
        .instances()[0]
        .instance_id()
        .expect("an id")
        .to_owned();
    // a's next sync drops b from the API's records and from its hosts file.
    sync(
        &world,
        &machine_a,
        &address_a,
        &identity_flags(&instance_a, "us-east-1a"),
    );
    let running: Vec<String> = control_plane
        .iter()
        .filter(|address| **address != address_b)
        .cloned()
        .collect();
    assert_eq!(record_addresses(&world, &internal), running);
    assert!(hosts_names(&root_a, &address_b).is_empty());
    let machine_r = machines.join(&replacement);
    let root_r = machine_r.join("root");
    // The same devices: the volumes move, their filesystems with them.
    std::fs::create_dir_all(root_r.join("dev")).expect("dev");
    copy_dir(&root_b.join("dev"), &root_r.join("dev"));
    let replaced = bootstrap_with(
        &world,
        &script,
        &machine_r,
        "172.20.64.30",
        &identity_flags(&replacement, "us-east-1b"),
    );
    assert!(replaced.contains("nodeup: "), "{replaced}");
    let status =
        std::fs::read_to_string(root_r.join("var/lib/nodeup/status.json")).expect("status.json");
    assert!(
        status.contains(&format!("detached from {instance_b} first")),
        "{status}"
    );
    assert!(
        !status.contains("filesystem ext4 labelled"),
        "formatted again: {status}"
    );
    for (etcd, member, zone, attached) in etcd_volumes(&world) {
        if zone == "us-east-1b" {
            assert_eq!(
                attached.as_deref(),
                Some(replacement.as_str()),
                "{etcd} {member}"
            );
            assert!(members_b.contains(&(etcd, member)));
        }
    }
    // a finds b's members again, at the replacement's address.
    sync(
        &world,
        &machine_a,
        &address_a,
        &identity_flags(&instance_a, "us-east-1a"),
    );
    assert_eq!(
        hosts_names(&root_a, &private_address(&world, &replacement)),
        own_names
    );
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            std::fs::create_dir_all(&target).expect("dir");
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// The emulator answers the instance metadata service (IMDSv2) too, for one fixed instance
/// (`i-fake` in `us-east-1a`): a node given no `--instance-id`/`--zone` asks it.
#[test]
fn without_an_instance_id_and_zone_nodeup_asks_the_instance_metadata_service() {
    nodeup_binary_is_built();
    let world = World::new();
    let cluster = format!("imds.{ZONE}");
    create_and_update(&world, &cluster, &["--zones", "us-east-1a"]);
    let endpoint = world
        .aws_env()
        .iter()
        .find(|(name, _)| name == "AWS_ENDPOINT_URL")
        .map(|(_, value)| value.clone())
        .expect("the emulator's endpoint");
    let metadata = [("AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint.as_str())];
    let script = user_data(&world, &format!("control-plane-us-east-1a.{cluster}"));
    let machine = world.context.path().join("machines").join("imds");

    // The plan picks the volumes of the zone the metadata service names.
    let output = run_bootstrap_with_env(
        &world,
        &script,
        &machine,
        "172.20.32.20",
        " --dry-run",
        &metadata,
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let volumes = etcd_volumes(&world);
    for (etcd, _, zone, attached) in &volumes {
        assert_eq!((zone.as_str(), attached), ("us-east-1a", &None));
        assert!(
            stdout.contains(&format!("filesystem ext4 labelled etcd-{etcd} on /dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol")),
            "{stdout}"
        );
    }

    // Attaching names the instance the metadata service gave, which the emulator does not run.
    let output = run_bootstrap_with_env(&world, &script, &machine, "172.20.32.20", "", &metadata);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("failed to attach the volume") && stderr.contains("to i-fake"),
        "{stderr}"
    );
    assert_eq!(etcd_volumes(&world), volumes);
}

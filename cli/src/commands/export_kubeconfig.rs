//! `berth export kubeconfig [NAME] --admin[=DURATION]`: issue short-lived admin credentials
//! and put them, with the API endpoint and the cluster CA, into a kubeconfig.
//!
//! By default the cluster's entries are merged into the user's kubeconfig (the first path of
//! `$KUBECONFIG`, else `~/.kube/config`): entries of the same name are replaced, all others
//! kept, and the current context becomes the cluster's. `--out FILE` writes a kubeconfig with
//! only this cluster instead. The server is what [`kube_access::api_server`] resolves. Files
//! are replaced atomically and are readable by their owner only. Key material is never printed.

use std::{
    io::Write as _,
    path::{Path, PathBuf},
};

use anyhow::Context as _;
use kube::config::Kubeconfig;
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use crate::{
    args::{ExportKubeconfigArgs, GlobalArgs},
    commands::store,
    env_vars::KUBECONFIG,
    exit_status::ExitStatus,
    kube_access, printer,
};

/// Runs `berth export kubeconfig`.
pub(crate) async fn run(
    global: &GlobalArgs,
    args: &ExportKubeconfigArgs,
) -> anyhow::Result<ExitStatus> {
    let Some(validity) = args.admin else {
        printer::note(
            "error: only admin credentials can be exported: pass `--admin` (valid 18h) or \
             `--admin=DURATION`, e.g. `--admin=1h`",
        );
        return Ok(ExitStatus::UserError);
    };
    let Some(path) = args.out.clone().or_else(default_path) else {
        printer::note(&format!(
            "error: no kubeconfig to write to: set `{KUBECONFIG}` or `HOME`, or pass `--out FILE`"
        ));
        return Ok(ExitStatus::UserError);
    };
    let (name, specs) = store::open_named_cluster(global, args.cluster.as_deref()).await?;
    let cluster = specs.cluster().await?.value;
    let admin =
        kube_access::admin_kubeconfig(&specs, &cluster, args.api.server.as_deref(), None, validity)
            .await?;

    let kubeconfig = if args.out.is_some() {
        admin.kubeconfig
    } else {
        merge(read(&path)?, admin.kubeconfig)
    };
    let yaml = berth_model::nodeup_config::render_yaml(&kubeconfig)
        .context("failed to render the kubeconfig")?;
    write_private(&path, &yaml)?;
    let server = match &admin.tls_server_name {
        Some(tls_name) => format!("{}, certificate checked for {tls_name}", admin.server),
        None => admin.server.clone(),
    };
    printer::note(&format!(
        "Wrote context `{name}` (server {server}) to {}; its admin credentials expire at {}.",
        path.display(),
        expiry(admin.expires_at),
    ));
    Ok(ExitStatus::Success)
}

/// The first path of `$KUBECONFIG`, else `~/.kube/config`.
fn default_path() -> Option<PathBuf> {
    std::env::var_os(KUBECONFIG)
        .and_then(|list| std::env::split_paths(&list).find(|path| !path.as_os_str().is_empty()))
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|home| !home.is_empty())
                .map(|home| PathBuf::from(home).join(".kube").join("config"))
        })
}

/// The kubeconfig at `path`, or an empty one when there is no file yet.
fn read(path: &Path) -> anyhow::Result<Kubeconfig> {
    let text = match fs_err::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(error) => return Err(error.into()),
    };
    // `from_yaml` rather than `read_from`: the latter makes relative file paths absolute,
    // which would rewrite entries that are not ours.
    Kubeconfig::from_yaml(&text).with_context(|| {
        format!(
            "`{}` is not a valid kubeconfig: fix it, or pass `--out FILE` to write a new one",
            path.display()
        )
    })
}

/// `ours` merged into `existing`: same-named clusters, users and contexts replaced where they
/// were, the others kept, and the current context set to ours.
fn merge(mut existing: Kubeconfig, ours: Kubeconfig) -> Kubeconfig {
    upsert(&mut existing.clusters, ours.clusters, |entry| &entry.name);
    upsert(&mut existing.auth_infos, ours.auth_infos, |entry| {
        &entry.name
    });
    upsert(&mut existing.contexts, ours.contexts, |entry| &entry.name);
    existing.current_context = ours.current_context;
    existing.api_version.get_or_insert_with(|| "v1".to_owned());
    existing.kind.get_or_insert_with(|| "Config".to_owned());
    existing
}

fn upsert<T>(entries: &mut Vec<T>, new: Vec<T>, name: impl Fn(&T) -> &String) {
    for entry in new {
        let wanted = name(&entry).clone();
        match entries.iter().position(|old| *name(old) == wanted) {
            Some(index) => {
                entries[index] = entry;
                let mut seen = 0;
                entries.retain(|old| {
                    let same = *name(old) == wanted;
                    seen += usize::from(same);
                    !same || seen == 1
                });
            }
            None => entries.push(entry),
        }
    }
}

/// Replaces `path` with `text` atomically (a temp file in the same directory, then a rename),
/// readable and writable by the owner only; creates missing parent directories. A symlink is
/// followed, so that a linked kubeconfig stays linked.
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    let resolved = std::fs::canonicalize(path).ok();
    let path = resolved.as_deref().unwrap_or(path);
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    fs_err::create_dir_all(dir)?;
    let failed = || format!("failed to write `{}`", path.display());
    // tempfile creates the file with mode 0600 on Unix.
    let mut file = tempfile::Builder::new()
        .prefix(".berth-kubeconfig")
        .tempfile_in(dir)
        .with_context(failed)?;
    file.write_all(text.as_bytes()).with_context(failed)?;
    file.as_file().sync_all().with_context(failed)?;
    file.persist(path)
        .map_err(|error| error.error)
        .with_context(failed)?;
    Ok(())
}

/// `2025-01-02T03:04:05Z (in 18h)`.
fn expiry(at: OffsetDateTime) -> String {
    let stamp = at.format(&Rfc3339).unwrap_or_else(|_| at.to_string());
    let minutes = (at - OffsetDateTime::now_utc()).whole_minutes().max(0);
    match (minutes / 60, minutes % 60) {
        (0, minutes) => format!("{stamp} (in {minutes}m)"),
        (hours, 0) => format!("{stamp} (in {hours}h)"),
        (hours, minutes) => format!("{stamp} (in {hours}h{minutes}m)"),
    }
}

#[cfg(test)]
mod tests {
    use kube::config::{NamedCluster, NamedContext};

    use super::*;

    fn config(clusters: &[&str], contexts: &[&str], current: &str) -> Kubeconfig {
        Kubeconfig {
            clusters: clusters
                .iter()
                .map(|name| NamedCluster {
                    name: (*name).to_owned(),
                    ..NamedCluster::default()
                })
                .collect(),
            contexts: contexts
                .iter()
                .map(|name| NamedContext {
                    name: (*name).to_owned(),
                    ..NamedContext::default()
                })
                .collect(),
            current_context: Some(current.to_owned()),
            ..Kubeconfig::default()
        }
    }

    fn names<T>(entries: &[T], name: impl Fn(&T) -> &str) -> Vec<&str> {
        entries.iter().map(name).collect()
    }

    #[test]
    fn merging_replaces_ours_in_place_and_keeps_the_rest() {
        let existing = config(&["a", "ours", "b", "ours"], &["a"], "a");
        let mut ours = config(&["ours"], &["ours"], "ours");
        ours.clusters[0].cluster = Some(kube::config::Cluster {
            server: Some("https://new".into()),
            ..Default::default()
        });
        let merged = merge(existing, ours);
        assert_eq!(names(&merged.clusters, |c| &c.name), ["a", "ours", "b"]);
        assert_eq!(
            merged.clusters[1]
                .cluster
                .as_ref()
                .and_then(|c| c.server.as_deref()),
            Some("https://new")
        );
        assert_eq!(names(&merged.contexts, |c| &c.name), ["a", "ours"]);
        assert_eq!(merged.current_context.as_deref(), Some("ours"));
        assert_eq!(merged.kind.as_deref(), Some("Config"));
    }

    #[test]
    fn writes_owner_only_files_and_creates_directories() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new/dir/config");
        write_private(&path, "a: 1\n").unwrap();
        write_private(&path, "b: 2\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "b: 2\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1
        );
    }

    #[test]
    fn expiry_says_when_and_how_soon() {
        let at =
            OffsetDateTime::now_utc() + time::Duration::hours(18) + time::Duration::seconds(30);
        assert!(expiry(at).ends_with("Z (in 18h)"), "{}", expiry(at));
    }
}

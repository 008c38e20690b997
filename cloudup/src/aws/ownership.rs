//! Whether a resource found by name is this cluster's. Load balancer and target group names
//! are cut from the cluster name (dots become dashes, long names are truncated with a hash),
//! so two clusters — `a.example.com` and `a-example.com` — map to the same name, and one an
//! account holder made by hand can carry it too. What exists under such a name without the
//! cluster's `kubernetes.io/cluster/<c>=owned` tag is somebody else's: Berth plans a conflict
//! for it and never changes it (re-tagging it would also hand it to this cluster's delete).

use berth_model::aws::{CLUSTER_OWNERSHIP_TAG_PREFIX, CLUSTER_TAG, Tags, owned_by, owning_cluster};

use crate::engine::Action;

/// [`Action::Conflict`] when `desired` claims ownership (`kubernetes.io/cluster/<c>=owned`)
/// and the `observed` resource of that name does not carry that tag. `what` names the kind
/// for the message, e.g. `load balancer`.
pub(crate) fn ownership_conflict(
    what: &str,
    name: &str,
    observed: &Tags,
    desired: &Tags,
) -> Option<Action> {
    let cluster = owning_cluster(desired)?;
    if owned_by(observed, cluster) {
        return None;
    }
    let owner = owning_cluster(observed)
        .map(|other| format!("it is cluster `{other}`'s"))
        .or_else(|| {
            observed
                .get(CLUSTER_TAG)
                .map(|other| format!("it is tagged {CLUSTER_TAG}={other}"))
        })
        .unwrap_or_else(|| "it carries no cluster's ownership tag".to_owned());
    Some(Action::Conflict {
        reason: format!(
            "a {what} named `{name}` exists that this cluster doesn't own ({owner}; \
             `{CLUSTER_OWNERSHIP_TAG_PREFIX}{cluster}=owned` is missing); Berth leaves it alone. \
             {what} names are cut from the cluster name (dots become dashes), so another \
             cluster can map to the same one: delete or rename that {what}, or give this \
             cluster another name"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned_by(cluster: &str) -> Tags {
        Tags::from([
            (CLUSTER_TAG.to_owned(), cluster.to_owned()),
            (
                format!("{CLUSTER_OWNERSHIP_TAG_PREFIX}{cluster}"),
                "owned".to_owned(),
            ),
        ])
    }

    #[test]
    fn the_clusters_own_resource_is_no_conflict() {
        let mut observed = owned_by("a.example.com");
        observed.insert("team".into(), "web".into());
        assert_eq!(
            ownership_conflict(
                "load balancer",
                "api-a-example-com",
                &observed,
                &owned_by("a.example.com")
            ),
            None
        );
    }

    #[test]
    fn another_clusters_resource_is_a_conflict_naming_that_cluster() {
        let Some(Action::Conflict { reason }) = ownership_conflict(
            "load balancer",
            "api-a-example-com",
            &owned_by("a-example.com"),
            &owned_by("a.example.com"),
        ) else {
            panic!("expected a conflict");
        };
        assert!(reason.contains("`api-a-example-com`"), "{reason}");
        assert!(reason.contains("cluster `a-example.com`'s"), "{reason}");
        assert!(
            reason.contains("`kubernetes.io/cluster/a.example.com=owned` is missing"),
            "{reason}"
        );
    }

    #[test]
    fn an_untagged_resource_is_a_conflict() {
        let Some(Action::Conflict { reason }) = ownership_conflict(
            "target group",
            "tcp-a-example-com",
            &Tags::new(),
            &owned_by("a.example.com"),
        ) else {
            panic!("expected a conflict");
        };
        assert!(reason.contains("no cluster's ownership tag"), "{reason}");
    }

    #[test]
    fn a_shared_resource_is_never_a_conflict() {
        let shared = Tags::from([(
            format!("{CLUSTER_OWNERSHIP_TAG_PREFIX}a.example.com"),
            "shared".to_owned(),
        )]);
        assert_eq!(
            ownership_conflict("subnet", "subnet-1", &Tags::new(), &shared),
            None
        );
    }
}

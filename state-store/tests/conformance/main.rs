//! The state store conformance suite: the same behaviour checks run against the `file://`
//! backend (a temp dir) and the `s3://` backend (the moto emulator, a unique bucket per
//! test), plus checks specific to each backend.
//!
//! One test binary for the whole crate, since each binary links the AWS SDK.

mod file;
mod s3;
mod suite;

/// Generates one `#[tokio::test]` per suite check, for a backend given by a `make` function
/// returning the store and a guard that keeps its backing (temp dir) alive.
macro_rules! conformance_tests {
    ($make:path; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $check() {
                let (store, _guard) = $make().await;
                crate::suite::$check(store).await;
            }
        )*
    };
}

pub(crate) use conformance_tests;

/// Every check of [`suite`], for `conformance_tests!`.
macro_rules! all_checks {
    ($make:path) => {
        crate::conformance_tests!($make;
            get_missing_is_none,
            create_then_get_round_trips,
            create_twice_is_already_exists_and_keeps_content,
            replace_with_current_etag_succeeds,
            replace_with_stale_etag_conflicts_and_keeps_content,
            replace_of_deleted_key_conflicts,
            overwrite_is_unconditional,
            delete_removes_and_tolerates_missing,
            delete_with_stale_etag_conflicts,
            list_filters_by_prefix_and_sorts,
            concurrent_replaces_have_exactly_one_winner,
            concurrent_creates_have_exactly_one_winner,
            invalid_keys_are_rejected,
            list_clusters_finds_configs,
            layout_keys_are_storable,
            lease_refuses_a_second_holder,
            lease_renew_then_release_then_reacquire,
            expired_lease_is_taken_over,
        );
    };
}

pub(crate) use all_checks;

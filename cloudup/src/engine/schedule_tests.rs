//! Tests of the DAG scheduler with synthetic tasks on paused time (no AWS).

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use berth_model::aws::{NodeKey, ResourceKind};
use tokio::time::Instant;

use super::{
    ApplyOptions, ApplyReport, Interruption, NoopReporter, Output, Resolver, RetryPolicy,
    ScheduledTask, TaskError, schedule,
};

fn key(name: &str) -> NodeKey {
    NodeKey::new(ResourceKind::Subnet, name)
}

fn task(name: &str, deps: &[&str]) -> ScheduledTask {
    ScheduledTask {
        key: key(name),
        deps: deps.iter().map(|dep| key(dep)).collect(),
        known_output: None,
    }
}

fn options() -> ApplyOptions {
    ApplyOptions {
        concurrency: 16,
        retry: RetryPolicy {
            deadline: Duration::from_secs(60),
            ..RetryPolicy::default()
        },
        cancel: tokio_util::sync::CancellationToken::new(),
        abort_after_tasks: None,
    }
}

fn names(keys: &[NodeKey]) -> Vec<&str> {
    keys.iter().map(|key| key.name.as_str()).collect()
}

/// Runs tasks that sleep `durations[name]` seconds (default 1) and records start times.
async fn run_timed(
    tasks: Vec<ScheduledTask>,
    durations: &[(&str, u64)],
    options: &ApplyOptions,
) -> (ApplyReport, BTreeMap<String, Duration>) {
    let durations: BTreeMap<String, u64> = durations
        .iter()
        .map(|(name, seconds)| ((*name).to_owned(), *seconds))
        .collect();
    let starts = Arc::new(Mutex::new(BTreeMap::new()));
    let origin = Instant::now();
    let recorded = Arc::clone(&starts);
    let report = schedule(
        tasks,
        options,
        &NoopReporter,
        move |key, _deps, _attempt| {
            recorded
                .lock()
                .unwrap()
                .insert(key.name.clone(), origin.elapsed());
            let seconds = durations.get(&key.name).copied().unwrap_or(1);
            async move {
                tokio::time::sleep(Duration::from_secs(seconds)).await;
                Ok(Output::id(key.name))
            }
        },
    )
    .await;
    let starts = starts.lock().unwrap().clone();
    (report, starts)
}

#[tokio::test(start_paused = true)]
async fn a_task_starts_when_its_own_dependencies_finish_not_a_slow_sibling() {
    let tasks = vec![
        task("slow", &[]),
        task("fast", &[]),
        task("after-fast", &["fast"]),
    ];
    let (report, starts) = run_timed(tasks, &[("slow", 10)], &options()).await;
    assert!(report.is_success());
    // A wave executor would start it at 10 s, after the slow sibling.
    assert_eq!(starts["after-fast"], Duration::from_secs(1));
    assert_eq!(report.elapsed, Duration::from_secs(10));
}

#[tokio::test(start_paused = true)]
async fn the_concurrency_bound_is_respected() {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..10)
        .map(|index| task(&format!("t{index}"), &[]))
        .collect();
    let options = ApplyOptions {
        concurrency: 3,
        ..options()
    };
    let (counter, highest) = (Arc::clone(&in_flight), Arc::clone(&peak));
    let report = schedule(
        tasks,
        &options,
        &NoopReporter,
        move |key, _deps, _attempt| {
            let (counter, highest) = (Arc::clone(&counter), Arc::clone(&highest));
            async move {
                let now = counter.fetch_add(1, Ordering::SeqCst) + 1;
                highest.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_secs(1)).await;
                counter.fetch_sub(1, Ordering::SeqCst);
                Ok(Output::id(key.name))
            }
        },
    )
    .await;
    assert_eq!(report.done.len(), 10);
    assert_eq!(peak.load(Ordering::SeqCst), 3);
    assert_eq!(report.elapsed, Duration::from_secs(4));
}

#[tokio::test(start_paused = true)]
async fn transient_errors_are_retried_with_the_attempt_number_then_succeed() {
    let attempts = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&attempts);
    let report = schedule(
        vec![task("flaky", &[])],
        &options(),
        &NoopReporter,
        move |key, _deps, attempt| {
            seen.lock().unwrap().push(attempt);
            async move {
                if attempt < 3 {
                    Err(TaskError::NotReady { what: key.name })
                } else {
                    Ok(Output::id("ok"))
                }
            }
        },
    )
    .await;
    assert!(report.is_success());
    assert_eq!(report.retries, 2);
    assert_eq!(*attempts.lock().unwrap(), [1, 2, 3]);
}

#[tokio::test(start_paused = true)]
async fn a_fatal_error_fails_its_dependents_only() {
    let tasks = vec![
        task("broken", &[]),
        task("child", &["broken"]),
        task("grandchild", &["child"]),
        task("independent", &[]),
        task("after-independent", &["independent"]),
    ];
    let report = schedule(
        tasks,
        &options(),
        &NoopReporter,
        |key, _deps, _attempt| async move {
            if key.name == "broken" {
                Err(TaskError::Refused {
                    message: "no".into(),
                })
            } else {
                Ok(Output::id(key.name))
            }
        },
    )
    .await;
    assert_eq!(names(&report.done), ["independent", "after-independent"]);
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].0, key("broken"));
    let skipped: Vec<(&str, &str)> = report
        .skipped
        .iter()
        .map(|skipped| {
            (
                skipped.key.name.as_str(),
                skipped.failed_dependency.name.as_str(),
            )
        })
        .collect();
    assert_eq!(skipped, [("child", "broken"), ("grandchild", "broken")]);
}

#[tokio::test(start_paused = true)]
async fn a_task_that_stays_transient_gives_up_at_its_deadline() {
    let options = ApplyOptions {
        retry: RetryPolicy {
            deadline: Duration::from_secs(30),
            ..RetryPolicy::default()
        },
        ..options()
    };
    let started = Instant::now();
    let report = schedule(
        vec![task("never", &[])],
        &options,
        &NoopReporter,
        |_key, _deps, _attempt| async {
            Err::<Output, _>(TaskError::NotReady {
                what: "never".into(),
            })
        },
    )
    .await;
    assert!(matches!(
        report.failed.as_slice(),
        [(_, TaskError::Deadline { last: Some(_), .. })]
    ));
    assert!(report.retries > 5);
    assert!(started.elapsed() <= Duration::from_secs(30));
}

#[tokio::test(start_paused = true)]
async fn a_hung_attempt_is_cut_off_at_the_deadline() {
    let options = ApplyOptions {
        retry: RetryPolicy {
            deadline: Duration::from_secs(30),
            ..RetryPolicy::default()
        },
        ..options()
    };
    let report = schedule(
        vec![task("hangs", &[])],
        &options,
        &NoopReporter,
        |_key, _deps, _attempt| async { std::future::pending::<Result<Output, TaskError>>().await },
    )
    .await;
    assert!(matches!(
        report.failed.as_slice(),
        [(_, TaskError::Deadline { last: None, .. })]
    ));
    assert_eq!(report.elapsed, Duration::from_secs(30));
}

#[tokio::test(start_paused = true)]
async fn cancellation_lets_in_flight_tasks_finish_and_starts_nothing_new() {
    let options = options();
    let cancel = options.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        cancel.cancel();
    });
    let tasks = vec![task("in-flight", &[]), task("next", &["in-flight"])];
    let (report, starts) = run_timed(tasks, &[("in-flight", 5)], &options).await;
    assert_eq!(report.interrupted, Some(Interruption::Cancelled));
    assert_eq!(names(&report.done), ["in-flight"]);
    assert_eq!(names(&report.not_run), ["next"]);
    assert!(!starts.contains_key("next"));
}

#[tokio::test(start_paused = true)]
async fn the_abort_hook_stops_after_n_completed_tasks() {
    let options = ApplyOptions {
        abort_after_tasks: Some(1),
        ..options()
    };
    let tasks = vec![
        task("first", &[]),
        task("slow", &[]),
        task("then", &["first"]),
    ];
    let (report, _) = run_timed(tasks, &[("slow", 5)], &options).await;
    assert_eq!(report.interrupted, Some(Interruption::AbortHook));
    assert_eq!(names(&report.done), ["first"]);
    let mut not_run = names(&report.not_run);
    not_run.sort_unstable();
    assert_eq!(not_run, ["slow", "then"]);
}

#[tokio::test(start_paused = true)]
async fn each_task_gets_exactly_its_dependencies_outputs_and_unchanged_nodes_make_no_call() {
    let calls = Arc::new(Mutex::new(BTreeMap::<String, Vec<String>>::new()));
    let seen = Arc::clone(&calls);
    let tasks = vec![
        ScheduledTask {
            key: key("existing"),
            deps: Vec::new(),
            known_output: Some(Output::id("id-existing")),
        },
        task("new", &[]),
        task("other", &[]),
        task("child", &["existing", "new"]),
    ];
    let report = schedule(
        tasks,
        &options(),
        &NoopReporter,
        move |key, deps: Resolver, _attempt| {
            let ids = deps
                .keys()
                .filter_map(|dep| deps.by_key(dep))
                .map(|output| output.id.clone())
                .collect();
            seen.lock().unwrap().insert(key.name.clone(), ids);
            async move { Ok(Output::id(format!("id-{}", key.name))) }
        },
    )
    .await;
    assert!(report.is_success());
    assert_eq!(report.unchanged, 1);
    let calls = calls.lock().unwrap();
    assert!(!calls.contains_key("existing"));
    assert_eq!(calls["child"], ["id-existing", "id-new"]);
}

//! Durable token buckets across concurrent takers.

use std::sync::Arc;

use antpath_db::rate_limits::{BucketSpec, Take, pause_until, take};
use sqlx::PgPool;
use tokio::sync::Barrier;

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn concurrent_takers_never_overspend_a_bucket(pool: PgPool) {
    // Capacity 5 with a negligible refill: exactly five of twenty racers get through.
    let spec = BucketSpec {
        capacity: 5.0,
        refill_per_second: 0.0001,
    };
    let barrier = Arc::new(Barrier::new(20));
    let mut handles = Vec::new();
    for _ in 0..20 {
        let (pool, barrier) = (pool.clone(), Arc::clone(&barrier));
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            take(&pool, "submit:test", spec, 1.0).await.expect("take")
        }));
    }
    let mut allowed = 0;
    for handle in handles {
        if handle.await.expect("task") == Take::Allowed {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 5);
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_limited_take_says_how_long_to_wait(pool: PgPool) {
    let spec = BucketSpec::per_minute(1);
    assert_eq!(
        take(&pool, "k", spec, 1.0).await.expect("take"),
        Take::Allowed
    );
    match take(&pool, "k", spec, 1.0).await.expect("take") {
        Take::Limited { retry_after } => {
            assert!(
                retry_after.as_secs_f64() > 50.0 && retry_after.as_secs_f64() <= 60.0,
                "{retry_after:?}"
            );
        }
        Take::Allowed => panic!("second take within a minute must be limited"),
    }
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_paused_bucket_refuses_until_the_pause_ends(pool: PgPool) {
    let spec = BucketSpec::per_second(100);
    let until = chrono::Utc::now() + chrono::Duration::seconds(30);
    pause_until(&pool, "provider:abc", spec, until)
        .await
        .expect("pause");
    match take(&pool, "provider:abc", spec, 1.0).await.expect("take") {
        Take::Limited { retry_after } => assert!(retry_after.as_secs() >= 28, "{retry_after:?}"),
        Take::Allowed => panic!("paused bucket must refuse"),
    }
    assert_eq!(
        take(&pool, "provider:other", spec, 1.0)
            .await
            .expect("take"),
        Take::Allowed
    );
}

//! The migrations apply to an empty database and re-running them changes nothing.

use sqlx::PgPool;

#[sqlx::test(migrations = false)]
async fn migrations_apply_to_an_empty_database_and_rerun_as_a_no_op(pool: PgPool) {
    antpath_db::migrate(&pool)
        .await
        .expect("first run applies everything");
    let applied: i64 = sqlx::query_scalar("select count(*) from _sqlx_migrations where success")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(applied as usize, antpath_db::MIGRATOR.iter().count());

    antpath_db::migrate(&pool)
        .await
        .expect("second run is a no-op");
    let again: i64 = sqlx::query_scalar("select count(*) from _sqlx_migrations")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(again, applied);

    for table in [
        "workspaces",
        "app_users",
        "workspace_memberships",
        "api_tokens",
        "web_sessions",
        "run_secrets",
        "runs",
        "run_attempts",
        "provider_resources",
        "run_events",
        "output_objects",
        "output_capture_failures",
        "cleanup_attempts",
        "usage_ledger",
        "audit_logs",
        "rate_limit_buckets",
    ] {
        let exists: bool = sqlx::query_scalar("select to_regclass($1) is not null")
            .bind(table)
            .fetch_one(&pool)
            .await
            .expect("lookup");
        assert!(exists, "table {table} is missing");
    }
}

#[sqlx::test(migrations = false)]
async fn concurrent_migrate_commands_both_succeed(pool: PgPool) {
    let (a, b) = tokio::join!(antpath_db::migrate(&pool), antpath_db::migrate(&pool));
    a.expect("first migrator");
    b.expect("second migrator");
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn no_column_is_named_like_a_secret(pool: PgPool) {
    let columns: Vec<(String, String)> = sqlx::query_as(
        "select table_name::text, column_name::text from information_schema.columns
         where table_schema = 'public' and table_name <> '_sqlx_migrations'",
    )
    .fetch_all(&pool)
    .await
    .expect("columns");
    let forbidden = [
        "api_key",
        "apikey",
        "password",
        "bearer",
        "prompt",
        "content",
        "credential",
    ];
    for (table, column) in columns {
        let allowed = column == "password_hash" || column == "content_type";
        if !allowed {
            assert!(
                !forbidden.iter().any(|f| column.contains(f)),
                "{table}.{column} looks like it could hold a secret or raw content"
            );
        }
    }
}

//! The store suite: the same cases against SQLite and against PostgreSQL (a throwaway cluster the
//! test starts), each case on a fresh store. What the server relies on across replicas — one
//! winner when two use the same code, refresh token, assertion id or flow at once; a version bump
//! with every change that affects a decision or a token check; a change seen by another store
//! handle — is checked on both.

#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tollgate::store::{
    AuditFilter, CredentialRecord, FlowKind, FlowRecord, Kind, NewAuditRecord, Source, Store,
    StoredKey, TokenRecord, Versions,
};

/// Opens a fresh store, and a second handle on the same data (another server).
type Open = Box<dyn Fn(&str) -> Pin<Box<dyn Future<Output = (Arc<dyn Store>, Arc<dyn Store>)>>>>;

type Case = fn(Arc<dyn Store>, Arc<dyn Store>) -> Pin<Box<dyn Future<Output = ()>>>;

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        [$((stringify!($name), (|a, b| Box::pin($name(a, b))) as Case)),*]
    };
}

async fn run_suite(backend: &str, open: Open) {
    let cases = cases![
        entities_round_trip_and_bump_the_version_only_when_they_change,
        a_token_is_used_once_even_when_many_use_it_at_once,
        revocations_bump_their_version_and_are_read_since_a_version,
        a_clients_tokens_are_revoked_together_and_seen_by_another_handle,
        a_user_is_signed_out_everywhere,
        an_assertion_id_is_accepted_once_until_it_expires,
        the_audit_trail_keeps_its_order,
        credentials_and_keys_bump_their_topics,
        flows_are_taken_once_by_their_owner_and_expire,
        a_full_flow_kind_evicts_only_what_may_give_way,
        a_token_never_joins_a_family_revoked_before_it,
        another_handle_sees_a_change,
    ];
    for (name, case) in cases {
        eprintln!("{backend}: {name}");
        let (a, b) = open(name).await;
        case(a, b).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_suite_on_sqlite() {
    let dir = Arc::new(common::TempDir::new("store-suite"));
    run_suite(
        "sqlite",
        Box::new(move |name| {
            let url = format!("sqlite://{}/{name}.db", dir.0.display());
            Box::pin(async move {
                let a = tollgate::store::open(&url).await.expect("opens");
                let b = tollgate::store::open(&url).await.expect("opens again");
                (a, b)
            })
        }),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_suite_on_postgres() {
    let pg = Arc::new(common::postgres::Postgres::start("store-suite"));
    run_suite(
        "postgres",
        Box::new(move |name| {
            let pg = Arc::clone(&pg);
            let db = name.to_owned();
            Box::pin(async move {
                pg.create_database(&db);
                let url = pg.url(&db);
                let a = tollgate::store::open(&url).await.expect("opens");
                let b = tollgate::store::open(&url).await.expect("opens again");
                (a, b)
            })
        }),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_starting_together_migrate_once() {
    let pg = common::postgres::Postgres::start("migrate-once");
    pg.create_database("fresh");
    let url = pg.url("fresh");
    let opened = futures_util::future::join_all(
        (0..4).map(|_| async { tollgate::store::open(&url).await.map(|_| ()) }),
    )
    .await;
    for result in opened {
        result.expect("every replica opens the store");
    }
    let store = tollgate::store::open(&url).await.expect("opens");
    assert_eq!(store.versions().await.expect("versions").entities, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_to_postgresql_is_encrypted_when_the_url_asks() {
    // The cluster refuses every TCP connection without TLS.
    let pg = common::postgres::Postgres::start_tls_only("tls");
    pg.create_database("tls");
    let url = pg.url("tls");
    let plain = tollgate::store::open(&format!("{url}?sslmode=disable"))
        .await
        .expect_err("refused without TLS");
    assert!(plain.to_string().contains("cannot connect"), "{plain}");
    let store = tollgate::store::open(&format!("{url}?sslmode=require"))
        .await
        .expect("connects over TLS");
    assert_eq!(store.versions().await.expect("versions").entities, 1);
    // Its certificate is no trusted authority's: a URL that asks to verify it is refused.
    let unverified = tollgate::store::open(&format!("{url}?sslmode=verify-full"))
        .await
        .expect_err("an untrusted certificate");
    assert!(unverified.is_unavailable(), "{unverified}");
}

/// The two schemas are written by hand, one per database: the same tables with the same columns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_schemas_have_the_same_tables_and_columns() {
    use sqlx::Row as _;
    let dir = common::TempDir::new("schemas");
    let sqlite_url = format!("sqlite://{}/schema.db", dir.0.display());
    drop(tollgate::store::open(&sqlite_url).await.expect("sqlite"));
    let pg = common::postgres::Postgres::start("schemas");
    pg.create_database("schema");
    drop(
        tollgate::store::open(&pg.url("schema"))
            .await
            .expect("postgres"),
    );

    let sqlite = sqlx::SqlitePool::connect(&sqlite_url)
        .await
        .expect("sqlite pool");
    let mut in_sqlite = Vec::new();
    for table in sqlx::query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'")
        .fetch_all(&sqlite)
        .await
        .expect("tables")
    {
        let table: String = table.get(0);
        for column in sqlx::query("SELECT name FROM pragma_table_info($1)")
            .bind(&table)
            .fetch_all(&sqlite)
            .await
            .expect("columns")
        {
            in_sqlite.push(format!("{table}.{}", column.get::<String, _>(0)));
        }
    }
    let postgres = sqlx::PgPool::connect(&pg.url("schema"))
        .await
        .expect("pg pool");
    let mut in_postgres: Vec<String> = sqlx::query(
        "SELECT table_name || '.' || column_name FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(&postgres)
    .await
    .expect("columns")
    .iter()
    .map(|r| r.get(0))
    .collect();
    in_sqlite.sort();
    in_postgres.sort();
    assert_eq!(in_sqlite, in_postgres);
    assert!(in_sqlite.len() > 40, "{in_sqlite:?}");
    postgres.close().await;
}

#[tokio::test]
async fn an_unreachable_database_is_a_clear_error_that_hides_the_password() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let url = format!("postgres://tollgate:hunter2@127.0.0.1:{port}/nothing");
    let started = std::time::Instant::now();
    let e = tollgate::store::open(&url)
        .await
        .expect_err("nothing listens");
    let message = e.to_string();
    assert!(message.contains("cannot connect"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
    assert!(e.is_unavailable());
    assert!(started.elapsed() < Duration::from_secs(30));
}

fn token(id: &str, family: &str) -> TokenRecord {
    TokenRecord {
        id: id.into(),
        kind: "refresh".into(),
        client_id: "c".into(),
        sub: Some("u".into()),
        family: family.into(),
        grant_type: "authorization_code".into(),
        target: json!({"resource": "r"}),
        scope: "read".into(),
        data: json!({"claims": {}}),
        issued_at: 1,
        expires_at: i64::MAX / 2,
        used: false,
        revoked: false,
    }
}

async fn versions(store: &Arc<dyn Store>) -> Versions {
    store.versions().await.expect("versions")
}

async fn entities_round_trip_and_bump_the_version_only_when_they_change(
    store: Arc<dyn Store>,
    _: Arc<dyn Store>,
) {
    let start = versions(&store).await;
    let body = json!({"clientId": "a", "tags": ["x"]});
    store
        .put_entity(Kind::Client, "a", &body, Source::Config)
        .await
        .expect("put");
    let after_put = versions(&store).await;
    assert_eq!(after_put.entities, start.entities + 1);
    // The same again (a restart with the same configuration): no change, no bump.
    store
        .put_entity(Kind::Client, "a", &body, Source::Config)
        .await
        .expect("put again");
    assert_eq!(versions(&store).await, after_put);
    let (read, source) = store
        .get_entity(Kind::Client, "a")
        .await
        .expect("get")
        .expect("found");
    assert_eq!((read, source), (body, Source::Config));
    store
        .put_secret(Kind::Client, "a", "$argon2id$hash")
        .await
        .expect("secret");
    assert_eq!(versions(&store).await.entities, start.entities + 2);
    assert_eq!(
        store
            .get_secret(Kind::Client, "a")
            .await
            .expect("secret")
            .as_deref(),
        Some("$argon2id$hash")
    );
    assert_eq!(
        store.prune_config(Kind::Client, &[]).await.expect("prune"),
        1
    );
    assert!(
        store
            .get_secret(Kind::Client, "a")
            .await
            .expect("secret")
            .is_none()
    );
    assert_eq!(versions(&store).await.entities, start.entities + 3);
    assert!(
        !store
            .delete_entity(Kind::Client, "a")
            .await
            .expect("delete")
    );
    assert_eq!(versions(&store).await.entities, start.entities + 3);
    store.put_meta("k", "v").await.expect("meta");
    assert_eq!(
        store.get_meta("k").await.expect("meta").as_deref(),
        Some("v")
    );
}

async fn a_token_is_used_once_even_when_many_use_it_at_once(
    store: Arc<dyn Store>,
    other: Arc<dyn Store>,
) {
    store
        .insert_token(&token("t1", "f1"))
        .await
        .expect("insert");
    let read = store.get_token("t1").await.expect("get").expect("found");
    assert_eq!(read.target, json!({"resource": "r"}));
    assert!(!read.used && !read.revoked);
    // Ten at once, through two handles (two servers): one wins.
    let uses = futures_util::future::join_all((0..10).map(|i| {
        let s = if i % 2 == 0 {
            Arc::clone(&store)
        } else {
            Arc::clone(&other)
        };
        async move { s.use_token("t1").await.expect("use") }
    }))
    .await;
    assert_eq!(uses.iter().filter(|won| **won).count(), 1, "{uses:?}");
    assert!(
        store
            .get_token("t1")
            .await
            .expect("get")
            .expect("found")
            .used
    );
}

async fn revocations_bump_their_version_and_are_read_since_a_version(
    store: Arc<dyn Store>,
    _: Arc<dyn Store>,
) {
    for (id, family) in [("a1", "fa"), ("a2", "fa"), ("b1", "fb")] {
        store
            .insert_token(&token(id, family))
            .await
            .expect("insert");
    }
    let start = versions(&store).await.revocations;
    assert!(!store.revoke_token("nope").await.expect("revoke"));
    assert_eq!(
        versions(&store).await.revocations,
        start,
        "nothing revoked, no bump"
    );
    assert!(store.revoke_token("b1").await.expect("revoke"));
    let after_one = versions(&store).await.revocations;
    assert!(after_one > start);
    let mut family = store.revoke_family("fa").await.expect("family");
    family.sort();
    assert_eq!(
        family.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(),
        ["a1", "a2"]
    );
    let mut since = store.revoked_since(after_one, 0).await.expect("since");
    since.sort();
    assert_eq!(
        since.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(),
        ["a1", "a2"],
        "only what was revoked after the version"
    );
    assert_eq!(store.revoked_since(start, 0).await.expect("since").len(), 3);
    assert_eq!(store.revoked_tokens(0).await.expect("all").len(), 3);
    // An access token revoked before it had a row: recorded revoked, a revocation like the rest,
    // and recording it twice (two servers at once) leaves one row.
    let before = versions(&store).await.revocations;
    let revoked = TokenRecord {
        revoked: true,
        ..token("at1", "at1")
    };
    assert!(store.insert_token(&revoked).await.expect("insert revoked"));
    assert!(store.insert_token(&revoked).await.expect("again"));
    assert!(versions(&store).await.revocations > before);
    assert_eq!(
        store.revoked_since(before, 0).await.expect("since"),
        [("at1".to_owned(), i64::MAX / 2)]
    );
    assert!(
        store
            .revoke_family("none")
            .await
            .expect("family")
            .is_empty()
    );
}

async fn a_clients_tokens_are_revoked_together_and_seen_by_another_handle(
    store: Arc<dyn Store>,
    other: Arc<dyn Store>,
) {
    for (id, family, client) in [("x1", "fx", "c"), ("x2", "fy", "c"), ("y1", "fz", "d")] {
        let record = TokenRecord {
            client_id: client.into(),
            ..token(id, family)
        };
        store.insert_token(&record).await.expect("insert");
    }
    let start = versions(&store).await.revocations;
    let mut revoked = store.revoke_client_tokens("c").await.expect("revoke");
    revoked.sort();
    assert_eq!(
        revoked
            .iter()
            .map(|(id, _)| id.as_str())
            .collect::<Vec<_>>(),
        ["x1", "x2"],
        "the client's tokens, every family, and no other client's"
    );
    let mut since = other.revoked_since(start, 0).await.expect("since");
    since.sort();
    assert_eq!(since, revoked, "another handle (server) sees them");
    assert!(
        store
            .revoke_client_tokens("c")
            .await
            .expect("again")
            .is_empty(),
        "revoked already: nothing new"
    );
    assert!(
        other
            .get_token("x2")
            .await
            .expect("get")
            .is_some_and(|t| t.revoked),
        "the other handle reads it revoked"
    );
}

async fn a_user_is_signed_out_everywhere(store: Arc<dyn Store>, other: Arc<dyn Store>) {
    // Two of u's tokens, another user's, and a client's own token whose `sub` is u's by chance.
    for (id, sub, grant) in [
        ("u1", "u", "authorization_code"),
        ("u2", "u", "token_exchange"),
        ("v1", "v", "authorization_code"),
        ("c1", "u", "client_credentials"),
    ] {
        let record = TokenRecord {
            sub: Some(sub.into()),
            grant_type: grant.into(),
            ..token(id, &format!("f-{id}"))
        };
        store.insert_token(&record).await.expect("insert");
    }
    let mut revoked = store.revoke_user_tokens("u").await.expect("revoke");
    revoked.sort();
    assert_eq!(
        revoked
            .iter()
            .map(|(id, _)| id.as_str())
            .collect::<Vec<_>>(),
        ["u1", "u2"]
    );
    assert!(
        other
            .get_token("u2")
            .await
            .expect("get")
            .is_some_and(|t| t.revoked)
    );
    assert!(
        other
            .get_token("c1")
            .await
            .expect("get")
            .is_some_and(|t| !t.revoked)
    );
    // Sessions of u go, of every server; v's stays.
    for (id, owner) in [("s1", "u"), ("s2", "u"), ("s3", "v")] {
        let flow = FlowRecord {
            kind: FlowKind::Session,
            id: id.into(),
            owner: Some(owner.into()),
            body: "{}".into(),
            evictable: false,
            expires_at: i64::MAX / 2,
        };
        store.put_flow(&flow, 100, 100, 1).await.expect("put");
    }
    assert_eq!(
        store
            .delete_flows_of(FlowKind::Session, "u")
            .await
            .expect("delete"),
        2
    );
    assert!(
        other
            .get_flow(FlowKind::Session, "s1", 1)
            .await
            .expect("get")
            .is_none()
    );
    assert!(
        other
            .get_flow(FlowKind::Session, "s3", 1)
            .await
            .expect("get")
            .is_some()
    );
}

async fn an_assertion_id_is_accepted_once_until_it_expires(
    store: Arc<dyn Store>,
    other: Arc<dyn Store>,
) {
    let uses = futures_util::future::join_all((0..8).map(|i| {
        let s = if i % 2 == 0 {
            Arc::clone(&store)
        } else {
            Arc::clone(&other)
        };
        async move { s.use_assertion_id("iss", "j1", 100, 10).await.expect("use") }
    }))
    .await;
    assert_eq!(uses.iter().filter(|won| **won).count(), 1, "{uses:?}");
    assert!(
        !other
            .use_assertion_id("iss", "j1", 100, 50)
            .await
            .expect("replay")
    );
    assert!(
        other
            .use_assertion_id("other", "j1", 100, 50)
            .await
            .expect("another issuer")
    );
    // Once expired it is forgotten (the assertion's own `exp` refuses it by then).
    assert!(
        store
            .use_assertion_id("iss", "j1", 300, 200)
            .await
            .expect("after expiry")
    );
}

async fn the_audit_trail_keeps_its_order(store: Arc<dyn Store>, _: Arc<dyn Store>) {
    let record =
        |at: i64, event: &'static str, client: Option<&'static str>, body: String| NewAuditRecord {
            at,
            event,
            client_id: client,
            sub: (at % 3 == 0).then_some("u-3"),
            entity: (at == 500).then(|| "policy:p".to_owned()),
            body,
        };
    let first = store
        .append_audit(&record(1, "one", None, "{\"n\":1}".to_owned()))
        .await
        .expect("append");
    let batch: Vec<NewAuditRecord<'_>> = (2..=700)
        .map(|n| {
            let client = if n % 2 == 0 {
                Some("even")
            } else {
                Some("odd")
            };
            record(n, "many", client, format!("{{\"n\":{n}}}"))
        })
        .collect();
    store.append_audit_batch(&batch).await.expect("batch");
    let all = store.audit_since(0, 1000).await.expect("since");
    assert_eq!(all.len(), 700);
    assert_eq!(all[0].seq, first);
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(all[699].body, json!({"n": 700}));
    assert_eq!(
        store.audit_since(all[10].seq, 5).await.expect("page").len(),
        5
    );

    // The search: every filter given holds, newest first.
    let search = |filter: AuditFilter, limit: i64| {
        let store = Arc::clone(&store);
        async move { store.audit_search(&filter, limit).await.expect("search") }
    };
    let even = search(
        AuditFilter {
            client_id: Some("even".into()),
            ..AuditFilter::default()
        },
        1000,
    )
    .await;
    assert_eq!(even.len(), 350);
    assert_eq!(even[0].body, json!({"n": 700}));
    assert!(even.windows(2).all(|w| w[0].seq > w[1].seq));
    let narrow = search(
        AuditFilter {
            client_id: Some("odd".into()),
            sub: Some("u-3".into()),
            event: Some("many".into()),
            from: Some(100),
            to: Some(200),
            ..AuditFilter::default()
        },
        1000,
    )
    .await;
    let ns: Vec<i64> = narrow.iter().map(|r| r.at).collect();
    let expected: Vec<i64> = (100..=200)
        .rev()
        .filter(|n| n % 2 == 1 && n % 3 == 0)
        .collect();
    assert_eq!(ns, expected);
    let entity = search(
        AuditFilter {
            entity: Some("policy:p".into()),
            ..AuditFilter::default()
        },
        10,
    )
    .await;
    assert_eq!(entity.len(), 1);
    assert_eq!(entity[0].at, 500);
    let page = search(
        AuditFilter {
            before: Some(all[600].seq),
            after: Some(all[590].seq),
            ..AuditFilter::default()
        },
        3,
    )
    .await;
    assert_eq!(
        page.iter().map(|r| r.seq).collect::<Vec<_>>(),
        vec![all[599].seq, all[598].seq, all[597].seq]
    );
    let tail = search(
        AuditFilter {
            after: Some(all[590].seq),
            oldest_first: true,
            ..AuditFilter::default()
        },
        3,
    )
    .await;
    assert_eq!(
        tail.iter().map(|r| r.seq).collect::<Vec<_>>(),
        vec![all[591].seq, all[592].seq, all[593].seq]
    );
}

async fn credentials_and_keys_bump_their_topics(store: Arc<dyn Store>, _: Arc<dyn Store>) {
    let start = versions(&store).await;
    let record = CredentialRecord {
        connection_id: "gh".into(),
        owner: "user:u".into(),
        kind: "refresh_token".into(),
        key_id: "k1".into(),
        nonce: vec![1; 12],
        ciphertext: vec![0, 255, 7],
        scope: Some("repo".into()),
        source: Source::Connect,
        updated_at: 5,
    };
    store.put_credential(&record).await.expect("put");
    let read = store
        .get_credential("gh", "user:u")
        .await
        .expect("get")
        .expect("found");
    assert_eq!(read.ciphertext, vec![0, 255, 7]);
    assert_eq!(store.list_credentials().await.expect("list").len(), 1);
    assert_eq!(versions(&store).await.credentials, start.credentials + 1);
    // A connection's credentials go with it.
    store
        .put_entity(Kind::Connection, "gh", &json!({"id": "gh"}), Source::Admin)
        .await
        .expect("connection");
    assert!(
        store
            .delete_entity(Kind::Connection, "gh")
            .await
            .expect("delete")
    );
    assert!(
        store
            .get_credential("gh", "user:u")
            .await
            .expect("get")
            .is_none()
    );
    assert_eq!(versions(&store).await.credentials, start.credentials + 2);

    let key = |kid: &str, at: i64| StoredKey {
        kid: kid.into(),
        alg: "ES256".into(),
        private_pem: "sealed".into(),
        public_jwk: json!({"kid": kid}),
        created_at: at,
        retired_at: None,
    };
    store.rotate_in(key("k1", 10)).await.expect("k1");
    store.rotate_in(key("k2", 20)).await.expect("k2");
    let keys = store.keys().await.expect("keys");
    assert_eq!(keys[0].kid, "k2");
    assert_eq!(keys[1].retired_at, Some(20));
    assert_eq!(versions(&store).await.keys, start.keys + 2);
    assert_eq!(store.drop_keys_retired_before(21).await.expect("drop"), 1);
    assert_eq!(store.drop_keys_retired_before(21).await.expect("drop"), 0);
    assert_eq!(versions(&store).await.keys, start.keys + 3);
    store
        .rekey_vault(&[], &[("k2".into(), "resealed".into())], &[("vault", "k9")])
        .await
        .expect("rekey");
    assert_eq!(store.keys().await.expect("keys")[0].private_pem, "resealed");
    assert_eq!(
        store.get_meta("vault").await.expect("meta").as_deref(),
        Some("k9")
    );
}

fn flow(
    kind: FlowKind,
    id: &str,
    owner: Option<&str>,
    evictable: bool,
    expires_at: i64,
) -> FlowRecord {
    FlowRecord {
        kind,
        id: id.into(),
        owner: owner.map(str::to_owned),
        body: format!("{{\"id\":\"{id}\"}}"),
        evictable,
        expires_at,
    }
}

async fn flows_are_taken_once_by_their_owner_and_expire(
    store: Arc<dyn Store>,
    other: Arc<dyn Store>,
) {
    let f = flow(FlowKind::Request, "r1", Some("session-a"), true, 100);
    store.put_flow(&f, 10, 10, 0).await.expect("put");
    assert_eq!(
        other
            .get_flow(FlowKind::Request, "r1", 50)
            .await
            .expect("get"),
        Some(f.clone())
    );
    assert!(
        store
            .get_flow(FlowKind::Request, "r1", 100)
            .await
            .expect("get")
            .is_none(),
        "expired"
    );
    assert!(
        store
            .get_flow(FlowKind::Session, "r1", 50)
            .await
            .expect("get")
            .is_none(),
        "another kind"
    );
    assert!(
        store
            .take_flow(FlowKind::Request, "r1", "session-b", 50)
            .await
            .expect("take")
            .is_none(),
        "another session cannot take it"
    );
    let takes = futures_util::future::join_all((0..6).map(|i| {
        let s = if i % 2 == 0 {
            Arc::clone(&store)
        } else {
            Arc::clone(&other)
        };
        async move {
            s.take_flow(FlowKind::Request, "r1", "session-a", 50)
                .await
                .expect("take")
        }
    }))
    .await;
    assert_eq!(takes.iter().flatten().count(), 1, "taken once");
    // Moving a taken flow to another owner does not bring it back.
    let moved = FlowRecord {
        owner: Some("session-c".into()),
        ..f.clone()
    };
    assert!(
        !store
            .update_flow(&moved, "session-a", 50)
            .await
            .expect("update")
    );
    assert!(
        store
            .get_flow(FlowKind::Request, "r1", 50)
            .await
            .expect("get")
            .is_none()
    );
    // A flow still there moves, once, and only from its owner.
    store.put_flow(&f, 10, 10, 0).await.expect("put");
    assert!(
        !store
            .update_flow(&moved, "session-b", 50)
            .await
            .expect("update")
    );
    assert!(
        store
            .update_flow(&moved, "session-a", 50)
            .await
            .expect("update")
    );
    assert!(
        !store
            .update_flow(&moved, "session-a", 50)
            .await
            .expect("update")
    );
    assert_eq!(
        store
            .get_flow(FlowKind::Request, "r1", 50)
            .await
            .expect("get")
            .and_then(|f| f.owner)
            .as_deref(),
        Some("session-c")
    );

    for (i, owner) in ["u1", "u1", "u2"].iter().enumerate() {
        store
            .put_flow(
                &flow(FlowKind::Connect, &format!("c{i}"), Some(owner), false, 100),
                10,
                8,
                0,
            )
            .await
            .expect("put");
    }
    assert_eq!(
        store
            .count_flows(FlowKind::Connect, None, 0)
            .await
            .expect("count"),
        3
    );
    assert_eq!(
        store
            .count_flows(FlowKind::Connect, Some("u1"), 0)
            .await
            .expect("count"),
        2
    );
    assert_eq!(
        store
            .count_flows(FlowKind::Connect, None, 100)
            .await
            .expect("count"),
        0
    );
    assert!(
        store
            .delete_flow(FlowKind::Connect, "c0")
            .await
            .expect("delete")
    );
    assert_eq!(store.purge_expired(100).await.expect("purge"), 3);
}

async fn a_full_flow_kind_evicts_only_what_may_give_way(store: Arc<dyn Store>, _: Arc<dyn Store>) {
    let cap = 20;
    // More signed-in users than the cap: they are bounded per user, never by the others.
    for u in 0..cap + 5 {
        let signed_in = flow(
            FlowKind::Session,
            &format!("user-{u}"),
            Some(&format!("u{u}")),
            false,
            10_000,
        );
        store.put_flow(&signed_in, cap, 4, 0).await.expect("put");
    }
    // A flood of anonymous visitors.
    for i in 0..cap + 15 {
        store
            .put_flow(
                &flow(FlowKind::Session, &format!("v{i}"), None, true, 600 + i),
                cap,
                4,
                1,
            )
            .await
            .expect("put");
    }
    for u in 0..cap + 5 {
        assert!(
            store
                .get_flow(FlowKind::Session, &format!("user-{u}"), 2)
                .await
                .expect("get")
                .is_some(),
            "signed-in user {u} keeps the session"
        );
    }
    let total = store
        .count_flows(FlowKind::Session, None, 1)
        .await
        .expect("count");
    assert_eq!(
        total,
        cap + 5 + cap,
        "the anonymous ones are kept to the cap, no fewer"
    );
    let newest = format!("v{}", cap + 14);
    assert!(
        store
            .get_flow(FlowKind::Session, &newest, 2)
            .await
            .expect("get")
            .is_some()
    );
    assert!(
        store
            .get_flow(FlowKind::Session, "v0", 2)
            .await
            .expect("get")
            .is_none(),
        "oldest gone"
    );

    // One user signing in again and again keeps the newest few sessions, and no one else loses one.
    for n in 0..10 {
        store
            .put_flow(
                &flow(
                    FlowKind::Session,
                    &format!("again-{n}"),
                    Some("u0"),
                    false,
                    20_000 + n,
                ),
                cap,
                4,
                1,
            )
            .await
            .expect("put");
    }
    assert_eq!(
        store
            .count_flows(FlowKind::Session, Some("u0"), 1)
            .await
            .expect("count"),
        4
    );
    assert!(
        store
            .get_flow(FlowKind::Session, "again-9", 2)
            .await
            .expect("get")
            .is_some()
    );
    assert!(
        store
            .get_flow(FlowKind::Session, "user-0", 2)
            .await
            .expect("get")
            .is_none(),
        "u0's oldest"
    );
    assert!(
        store
            .get_flow(FlowKind::Session, "user-1", 2)
            .await
            .expect("get")
            .is_some()
    );
}

async fn a_token_never_joins_a_family_revoked_before_it(
    store: Arc<dyn Store>,
    other: Arc<dyn Store>,
) {
    assert!(
        store
            .insert_token(&token("code", "fam"))
            .await
            .expect("code")
    );
    assert!(store.use_token("code").await.expect("use"));
    // The replay is noticed at another server, which revokes the family ...
    assert_eq!(other.revoke_family("fam").await.expect("revoke").len(), 1);
    // ... before the first server records what it issued: refused, not recorded.
    assert!(
        !store
            .insert_token(&token("child", "fam"))
            .await
            .expect("insert")
    );
    assert!(store.get_token("child").await.expect("get").is_none());
    // Revoking again changes nothing and announces nothing.
    let version = versions(&store).await.revocations;
    assert!(other.revoke_family("fam").await.expect("again").is_empty());
    assert!(!other.revoke_token("code").await.expect("again"));
    assert_eq!(versions(&store).await.revocations, version);
    // A family not revoked takes new members.
    assert!(store.insert_token(&token("r1", "fam2")).await.expect("r1"));
    assert!(store.insert_token(&token("r2", "fam2")).await.expect("r2"));
    // Racing: members joining while the family is revoked are either refused or revoked by it.
    let joins = futures_util::future::join_all((0..8).map(|i| {
        let s = if i % 2 == 0 {
            Arc::clone(&store)
        } else {
            Arc::clone(&other)
        };
        async move {
            s.insert_token(&token(&format!("late-{i}"), "fam2"))
                .await
                .expect("insert")
        }
    }));
    let (joined, revoked) = tokio::join!(joins, other.revoke_family("fam2"));
    assert!(!revoked.expect("revoke").is_empty());
    for (i, recorded) in joined.iter().enumerate() {
        let row = store.get_token(&format!("late-{i}")).await.expect("get");
        assert_eq!(row.is_some(), *recorded, "late-{i}");
        assert!(
            row.is_none_or(|r| r.revoked),
            "late-{i} was recorded and is live"
        );
    }
}

async fn another_handle_sees_a_change(store: Arc<dyn Store>, other: Arc<dyn Store>) {
    let seen = versions(&store).await;
    // Unchanged: the wait ends at its bound with the same versions.
    let unchanged = store
        .wait_for_change(seen, Duration::from_millis(300))
        .await
        .expect("wait");
    assert_eq!(unchanged, seen);
    let waiter = {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let versions = store
                .wait_for_change(seen, Duration::from_secs(20))
                .await
                .expect("wait");
            (versions, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    other
        .put_entity(Kind::Policy, "p", &json!({"id": "p"}), Source::Admin)
        .await
        .expect("put");
    let (versions, waited) = waiter.await.expect("waiter");
    assert_eq!(versions.entities, seen.entities + 1);
    assert!(
        waited < Duration::from_secs(20),
        "woken by the change, not the bound"
    );
}

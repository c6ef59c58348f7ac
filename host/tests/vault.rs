//! Connections on the real server (127.0.0.1, temporary SQLite file), with
//! examples/connections/tollgate.yaml: credentials handed out by token exchange under policy
//! (per user, per tenant, per client), refusals with nothing returned, the admin credential API,
//! no plaintext secret in the store or the audit log, and the vault key (a wrong key fails at start
//! and loses nothing; rotation re-encrypts everything).
//!
//! OAuth connections against a real provider (the connect flow, the narrowed refresh) are in
//! tests/e2e/vault.sh, with panva oidc-provider.

#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a broken set-up fails the test"
)]

mod common;

use common::{Server, TempDir, admin, post, start, start_in};
use serde_json::{Value, json};

const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
const CERTIFICATE: &str = "urn:tollgate:params:oauth:token-type:certificate";
const API_KEY: &str = "urn:tollgate:params:oauth:token-type:api_key";

/// Every secret the example configuration puts in the vault.
const SECRETS: [&str; 7] = [
    "READER-DEV-KEY",
    "WRITER-DEV-KEY",
    "tollgate-dev-provider-secret",
    "xoxp-dev-vera-0001",
    "xoxp-dev-sam-0002",
    "xoxp-dev-cody-0003",
    "ghp_dev_acme_tenant_0004",
];

fn example() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/connections/tollgate.yaml"
    ))
    .expect("connections example")
}

fn secret_of(client: &str) -> String {
    let config = tollgate::config::ServerConfig::from_text(&example()).expect("config");
    config
        .clients
        .iter()
        .find(|c| c.client_id == client)
        .and_then(|c| c.secret.clone())
        .expect("a client of the example")
}

async fn client_token(s: &Server, client: &str, resource: &str) -> String {
    let secret = secret_of(client);
    let (status, _, body) = post(
        &format!("{}/token", s.base),
        Some((client, &secret)),
        &[("grant_type", "client_credentials"), ("resource", resource)],
    )
    .await;
    assert_eq!(status, 200, "{client} gets a token: {body}");
    body["access_token"].as_str().expect("token").to_owned()
}

/// A user's access token, as the authorization code grant would issue it to `client`: signed by
/// the server's own key.
fn user_token(s: &Server, client: &str, sub: &str) -> String {
    let now = jiff::Timestamp::now().as_second();
    s.core
        .keys()
        .sign(
            "at+jwt",
            &json!({
                "iss": s.core.issuer, "sub": sub, "aud": "https://assistant.example.com",
                "client_id": client, "scope": "chat", "iat": now, "exp": now + 300,
                "jti": format!("test-{sub}-{now}"),
            }),
        )
        .expect("signs")
}

async fn exchange(
    s: &Server,
    client: &str,
    subject_token: &str,
    connection: &str,
    scope: Option<&str>,
) -> (u16, Value) {
    let secret = secret_of(client);
    let mut form = vec![
        ("grant_type", TOKEN_EXCHANGE),
        ("subject_token", subject_token),
        ("subject_token_type", ACCESS_TOKEN),
        ("resource", connection),
    ];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    let (status, headers, body) =
        post(&format!("{}/token", s.base), Some((client, &secret)), &form).await;
    assert_eq!(
        headers
            .get("cache-control")
            .map(|v| v.to_str().expect("text")),
        Some("no-store"),
        "credential responses are never cached"
    );
    (status, body)
}

#[tokio::test]
async fn bigquery_mcp_fetches_the_certificate_each_workflow_may_use() {
    let s = start("vault-bigquery", &example(), None).await;
    let read = client_token(&s, "n8n-bq-read", "bigquery-mcp").await;
    let write = client_token(&s, "n8n-bq-write", "bigquery-mcp").await;

    // The MCP server, holding the read workflow's token: the read certificate only.
    let (status, body) = exchange(&s, "bigquery-mcp", &read, "bigquery-read-cert", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["issued_token_type"], CERTIFICATE);
    assert_eq!(body["token_type"], "N_A");
    assert!(
        body["access_token"]
            .as_str()
            .expect("cert")
            .contains("READER-DEV-KEY")
    );
    assert!(body.get("refresh_token").is_none() && body.get("scope").is_none());
    let (status, body) = exchange(&s, "bigquery-mcp", &read, "bigquery-rw-cert", None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_target")),
        "{body}"
    );
    assert!(body.get("access_token").is_none());

    // Holding the write workflow's token: both certificates.
    let (status, body) = exchange(&s, "bigquery-mcp", &write, "bigquery-rw-cert", None).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["access_token"]
            .as_str()
            .expect("cert")
            .contains("WRITER-DEV-KEY")
    );
    let (status, _) = exchange(&s, "bigquery-mcp", &write, "bigquery-read-cert", None).await;
    assert_eq!(status, 200);

    // The write workflow itself never gets the read-write certificate, not even with its own token.
    let (status, body) = exchange(&s, "n8n-bq-write", &write, "bigquery-rw-cert", None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_target")),
        "{body}"
    );
    assert!(body.get("access_token").is_none());

    // A connection issues what it holds: asking for another token type is refused.
    let (status, _, body) = post(
        &format!("{}/token", s.base),
        Some(("bigquery-mcp", &secret_of("bigquery-mcp"))),
        &[
            ("grant_type", TOKEN_EXCHANGE),
            ("subject_token", &write),
            ("subject_token_type", ACCESS_TOKEN),
            ("requested_token_type", ACCESS_TOKEN),
            ("resource", "bigquery-read-cert"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );

    // Scope-less connections take no scope.
    let (status, body) = exchange(
        &s,
        "bigquery-mcp",
        &write,
        "bigquery-read-cert",
        Some("read"),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope")),
        "{body}"
    );
}

#[tokio::test]
async fn users_get_their_own_credential_and_agents_their_tenants() {
    let s = start("vault-owners", &example(), None).await;

    // Slack: each corporate user gets their own key; the partner's user gets nothing.
    for (sub, key) in [
        ("u-viewer", "xoxp-dev-vera-0001"),
        ("u-scheduler", "xoxp-dev-sam-0002"),
    ] {
        let token = user_token(&s, "assistant", sub);
        let (status, body) = exchange(&s, "assistant", &token, "slack", None).await;
        assert_eq!(status, 200, "{sub}: {body}");
        assert_eq!(body["issued_token_type"], API_KEY);
        assert_eq!(body["access_token"], key, "{sub} gets their own key");
    }
    let token = user_token(&s, "assistant", "u-contractor");
    let (status, body) = exchange(&s, "assistant", &token, "slack", None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_target")),
        "{body}"
    );
    assert!(!body.to_string().contains("xoxp-dev-cody"));

    // A user without a credential of their own does not get the tenant's.
    let token = user_token(&s, "assistant", "u-viewer");
    let (status, body) = exchange(&s, "assistant", &token, "github", None).await;
    assert_eq!(status, 400, "{body}");

    // GitHub: the verified agent gets its tenant's key; the unverified one is refused.
    let agent = client_token(&s, "release-agent", "assistant-api").await;
    let (status, body) = exchange(&s, "release-agent", &agent, "github", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["access_token"], "ghp_dev_acme_tenant_0004");
    let scraper = client_token(&s, "scraper-agent", "assistant-api").await;
    let (status, body) = exchange(&s, "scraper-agent", &scraper, "github", None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_target")),
        "{body}"
    );
    assert!(body.get("access_token").is_none());

    // Every access is audited, released or not, without the secret.
    s.core.audit.flush().await;
    let events = s.core.store.audit_since(0, 1000).await.expect("audit");
    let accesses: Vec<&Value> = events
        .iter()
        .filter(|e| e.event == "credential_access")
        .map(|e| &e.body)
        .collect();
    assert_eq!(accesses.len(), 6, "{accesses:#?}");
    assert!(accesses.iter().any(|a| a["owner"] == "tenant:acme"
        && a["connection"] == "github"
        && a["released"] == true));
    assert!(
        accesses
            .iter()
            .any(|a| a["client_id"] == "scraper-agent" && a["released"] == false)
    );
}

#[tokio::test]
async fn oauth_connections_refuse_scopes_policy_does_not_allow_before_calling_the_provider() {
    let s = start("vault-oauth-refusal", &example(), None).await;
    // The viewer may only read the calendar: asking for write alone is refused outright, and no
    // provider is contacted (none runs in this test; a contact would be a 503).
    let token = user_token(&s, "assistant", "u-viewer");
    let (status, body) =
        exchange(&s, "assistant", &token, "google-calendar", Some("calendar")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_target")),
        "{body}"
    );
    // Allowed scope, but the viewer never connected an account.
    let (status, body) = exchange(
        &s,
        "assistant",
        &token,
        "google-calendar",
        Some("calendar.readonly"),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_target")),
        "{body}"
    );
    assert!(
        body["error_description"]
            .as_str()
            .expect("text")
            .contains("no credential")
    );
}

#[tokio::test]
async fn the_admin_api_seals_credentials_and_never_returns_them() {
    let s = start("vault-admin", &example(), Some("admin-secret")).await;
    let put = reqwest::Method::PUT;
    let (status, body) = admin(
        &s,
        put.clone(),
        "/admin/connections/slack/credentials/user:u-contractor",
        Some(json!({ "apiKey": "xoxp-admin-new-0005" })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({ "connection": "slack", "owner": "user:u-contractor", "kind": "api_key", "scope": null })
    );
    // The wrong secret for the kind, an unknown owner form, an unknown connection.
    for (path, payload, expected) in [
        (
            "/admin/connections/slack/credentials/user:u-x",
            json!({ "certificate": "x" }),
            400,
        ),
        (
            "/admin/connections/slack/credentials/group:x",
            json!({ "apiKey": "x" }),
            400,
        ),
        (
            "/admin/connections/nope/credentials/user:u-x",
            json!({ "apiKey": "x" }),
            404,
        ),
        (
            "/admin/connections/slack/credentials/user:u-x",
            json!({ "apiKey": "x", "extra": 1 }),
            400,
        ),
    ] {
        let (status, body) = admin(&s, put.clone(), path, Some(payload)).await;
        assert_eq!(status, expected, "{path}: {body}");
    }
    let (status, list) = admin(
        &s,
        reqwest::Method::GET,
        "/admin/connections/slack/credentials",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().expect("list").len(), 3, "{list}");
    assert!(
        !list.to_string().contains("xoxp"),
        "listing never shows a secret: {list}"
    );
    // A connection read through the admin API shows its provider but not the provider's secret.
    let (_, connection) = admin(
        &s,
        reqwest::Method::GET,
        "/admin/connections/google-calendar",
        None,
    )
    .await;
    assert_eq!(connection["provider"]["clientId"], "tollgate");
    assert!(
        !connection
            .to_string()
            .contains("tollgate-dev-provider-secret")
    );

    // The new key is handed out; deleting it refuses the next exchange.
    let token = user_token(&s, "assistant", "u-contractor");
    // (the contractor is not corporate: the policy still refuses, whatever the vault holds)
    let (status, _) = exchange(&s, "assistant", &token, "slack", None).await;
    assert_eq!(status, 400);
    let (status, _) = admin(
        &s,
        reqwest::Method::DELETE,
        "/admin/connections/slack/credentials/user:u-scheduler",
        None,
    )
    .await;
    assert_eq!(status, 204);
    let token = user_token(&s, "assistant", "u-scheduler");
    let (status, body) = exchange(&s, "assistant", &token, "slack", None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_target")),
        "{body}"
    );
}

/// Every file the server wrote, as bytes.
fn files_under(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push((path.clone(), std::fs::read(&path).expect("read")));
        }
    }
    out
}

#[tokio::test]
async fn no_plaintext_secret_reaches_the_store_or_the_audit_log() {
    let s = start("vault-scan", &example(), Some("admin-secret")).await;
    // Exercise every path that touches a secret.
    let write = client_token(&s, "n8n-bq-write", "bigquery-mcp").await;
    exchange(&s, "bigquery-mcp", &write, "bigquery-rw-cert", None).await;
    let token = user_token(&s, "assistant", "u-scheduler");
    exchange(&s, "assistant", &token, "slack", None).await;
    let (status, _) = admin(
        &s,
        reqwest::Method::PUT,
        "/admin/connections/slack/credentials/user:u-viewer",
        Some(json!({ "apiKey": "xoxp-admin-rotated-0006" })),
    )
    .await;
    assert_eq!(status, 200);
    s.core.audit.flush().await;

    let files = files_under(&s.dir.0);
    let names: Vec<String> = files
        .iter()
        .map(|(p, _)| p.file_name().expect("name").to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().any(|n| n == "tollgate.db"), "{names:?}");
    assert!(names.iter().any(|n| n == "audit.jsonl"), "{names:?}");
    for (path, bytes) in &files {
        if path.file_name().is_some_and(|n| n == "vault.key") {
            continue;
        }
        for secret in SECRETS.iter().chain(&["xoxp-admin-rotated-0006"]) {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "`{secret}` in clear in {}",
                path.display()
            );
        }
    }
}

#[tokio::test]
async fn a_wrong_vault_key_fails_at_start_and_loses_nothing_and_rotation_moves_everything() {
    let dir = TempDir::new("vault-keys");
    let s = start_in(dir, &example(), None)
        .await
        .map_err(|(_, e)| e)
        .expect("first start");
    let dir_path = s.dir.0.clone();
    let agent = client_token(&s, "release-agent", "assistant-api").await;
    let (status, _) = exchange(&s, "release-agent", &agent, "github", None).await;
    assert_eq!(status, 200);
    let dir = s.stop();

    // Another key: refused at start, with a clear message, before anything is written.
    let key_file = dir_path.join("data/vault.key");
    let good_key = std::fs::read_to_string(&key_file).expect("the generated key");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&key_file)
            .expect("key file")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "the key file is the owner's only");
    std::fs::write(
        &key_file,
        tollgate::vault::VaultKey::generate()
            .expect("key")
            .1
            .as_bytes(),
    )
    .expect("write");
    let (dir, error) = match start_in(dir, &example(), None).await {
        Ok(_) => panic!("a wrong key must not start"),
        Err(e) => e,
    };
    let message = error.to_string();
    assert!(
        message.contains("does not open this store's vault"),
        "{message}"
    );

    // The right key again: everything is there.
    std::fs::write(&key_file, &good_key).expect("write");
    let s = start_in(dir, &example(), None)
        .await
        .map_err(|(_, e)| e)
        .expect("restart");
    let agent = client_token(&s, "release-agent", "assistant-api").await;
    let (status, body) = exchange(&s, "release-agent", &agent, "github", None).await;
    assert_eq!(
        (status, body["access_token"].as_str()),
        (200, Some("ghp_dev_acme_tenant_0004"))
    );
    let dir = s.stop();

    // Rotation: every credential moves to the new key; the old one no longer opens the vault.
    let config_path = dir_path.join("tollgate.yaml");
    std::fs::write(
        &config_path,
        example()
            .replace(
                "sqlite://data/connections.db",
                &format!("sqlite://{}/tollgate.db", dir_path.display()),
            )
            .replace(
                "keyFile: data/vault.key",
                &format!("keyFile: {}", key_file.display()),
            ),
    )
    .expect("config");
    let new_key = dir_path.join("data/vault-2.key");
    let (n, id) = tollgate::cli::keys::rotate_vault_key(&config_path, &new_key)
        .await
        .expect("rotates");
    assert_eq!(
        n, 7,
        "every sealed credential: 6 declared and the provider's client secret"
    );
    assert_eq!(
        tollgate::vault::load_key(Some(&new_key), false)
            .expect("key")
            .expect("some")
            .id(),
        id
    );
    let (dir, error) = match start_in(dir, &example(), None).await {
        Ok(_) => panic!("the old key must not open the rotated vault"),
        Err(e) => e,
    };
    assert!(error.to_string().contains(&id), "{error}");
    std::fs::copy(&new_key, &key_file).expect("switch keys");
    let s = start_in(dir, &example(), None)
        .await
        .map_err(|(_, e)| e)
        .expect("new key");
    let agent = client_token(&s, "release-agent", "assistant-api").await;
    let (status, _) = exchange(&s, "release-agent", &agent, "github", None).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn credentials_without_a_vault_key_refuse_to_start() {
    let config = example().replace("vault: { keyFile: data/vault.key }", "");
    let error = match start_in(TempDir::new("vault-nokey"), &config, None).await {
        Ok(_) => panic!("credentials without a key must not start"),
        Err((_, e)) => e,
    };
    assert!(
        error.to_string().contains("no vault key is configured"),
        "{error}"
    );
}

//! The server on 127.0.0.1 with a temporary SQLite file: the quick-start scenarios, malformed
//! requests (each gets its RFC error, none a 500), refresh rotation, the admin API, and durability
//! across `kill -9`.

#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a broken set-up fails the test"
)]

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use common::{Server, TempDir, admin, claims, post, start};
use serde_json::{Value, json};

fn quickstart() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/quickstart/tollgate.yaml"
    ))
    .expect("quickstart config")
}

async fn client_credentials(
    s: &Server,
    id: &str,
    secret: &str,
    resource: &str,
    scope: Option<&str>,
) -> (u16, Value) {
    let mut form = vec![("grant_type", "client_credentials"), ("resource", resource)];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    let (status, _, body) = post(&format!("{}/token", s.base), Some((id, secret)), &form).await;
    (status, body)
}

#[tokio::test]
async fn nightly_worker_gets_ledger_read_and_write_only() {
    let s = start("ledger", &quickstart(), None).await;
    let (status, body) = client_credentials(
        &s,
        "reconcile-worker",
        "reconcile-dev-secret",
        "https://billing.example.com",
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().expect("token");
    let c = claims(token);
    assert_eq!(c["scope"], "ledger:read ledger:write");
    assert_eq!(c["aud"], "https://billing.example.com");
    assert_eq!(c["client_id"], "reconcile-worker");
    assert_eq!(c["sub"], "reconcile-worker");
    assert_eq!(c["iss"], s.base);
    assert!(c["jti"].is_string() && c["exp"].as_i64() > c["iat"].as_i64());
    let header: Value = serde_json::from_slice(
        &B64.decode(token.split('.').next().expect("header"))
            .expect("b64"),
    )
    .expect("json");
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "ES256");

    // ledger:admin is never granted; asked alone, the request is refused.
    let (status, body) = client_credentials(
        &s,
        "reconcile-worker",
        "reconcile-dev-secret",
        "https://billing.example.com",
        Some("ledger:admin"),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope")),
        "{body}"
    );
    // Another client gets nothing on the billing API.
    let (status, body) = client_credentials(
        &s,
        "ops-agent",
        "ops-dev-secret",
        "https://billing.example.com",
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope")),
        "{body}"
    );
}

#[tokio::test]
async fn ops_agent_alone_reads_only() {
    let s = start("ops", &quickstart(), None).await;
    let (status, body) = client_credentials(
        &s,
        "ops-agent",
        "ops-dev-secret",
        "https://incidents.example.com",
        Some("incidents:read incidents:write metrics:read runbook:execute"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "incidents:read metrics:read");
    let (status, body) = client_credentials(
        &s,
        "ops-agent",
        "ops-dev-secret",
        "https://incidents.example.com",
        Some("runbook:execute"),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
}

#[tokio::test]
async fn n8n_workflows_cannot_escalate() {
    let s = start("n8n", &quickstart(), None).await;
    let bq = "https://bigquery-mcp.example.com";
    let (_, read) = client_credentials(
        &s,
        "n8n-bq-read",
        "n8n-read-dev-secret",
        bq,
        Some("mcp:bigquery.read mcp:bigquery.write"),
    )
    .await;
    assert_eq!(read["scope"], "mcp:bigquery.read");
    let (_, write) = client_credentials(
        &s,
        "n8n-bq-write",
        "n8n-write-dev-secret",
        bq,
        Some("mcp:bigquery.read mcp:bigquery.write"),
    )
    .await;
    assert_eq!(write["scope"], "mcp:bigquery.write");
    let (status, body) = client_credentials(
        &s,
        "n8n-bq-read",
        "n8n-read-dev-secret",
        bq,
        Some("mcp:bigquery.write"),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    let (status, body) = client_credentials(
        &s,
        "n8n-bq-write",
        "n8n-write-dev-secret",
        bq,
        Some("mcp:bigquery.read"),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
}

#[tokio::test]
async fn the_mcp_server_is_the_only_door_to_the_analytics_api() {
    let s = start("door", &quickstart(), None).await;
    let (status, agent) = client_credentials(
        &s,
        "report-agent",
        "report-dev-secret",
        "https://analytics-mcp.example.com",
        None,
    )
    .await;
    assert_eq!(status, 200, "{agent}");
    let subject = agent["access_token"].as_str().expect("token");

    // The agent cannot reach the API directly.
    let (status, body) = client_credentials(
        &s,
        "report-agent",
        "report-dev-secret",
        "https://analytics.example.com",
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );

    let exchange = |client: &'static str, secret: &'static str| {
        let url = format!("{}/token", s.base);
        let subject = subject.to_owned();
        async move {
            post(
                &url,
                Some((client, secret)),
                &[
                    (
                        "grant_type",
                        "urn:ietf:params:oauth:grant-type:token-exchange",
                    ),
                    ("subject_token", &subject),
                    (
                        "subject_token_type",
                        "urn:ietf:params:oauth:token-type:access_token",
                    ),
                    ("resource", "https://analytics.example.com"),
                ],
            )
            .await
        }
    };
    // The agent may not exchange at all.
    let (status, _, body) = exchange("report-agent", "report-dev-secret").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
    // The MCP server may, and the new token says who acts.
    let (status, _, body) = exchange("analytics-mcp", "analytics-mcp-dev-secret").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["issued_token_type"],
        "urn:ietf:params:oauth:token-type:access_token"
    );
    let c = claims(body["access_token"].as_str().expect("token"));
    assert_eq!(c["scope"], "reports:read");
    assert_eq!(c["aud"], "https://analytics.example.com");
    assert_eq!(c["sub"], "report-agent");
    assert_eq!(c["act"]["client_id"], "analytics-mcp");
}

#[tokio::test]
async fn inventory_bot_only_at_night() {
    let s = start("night", &quickstart(), None).await;
    let now = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC);
    let minute = i32::from(now.hour()) * 60 + i32::from(now.minute());
    if [22 * 60, 6 * 60]
        .iter()
        .any(|edge| (minute - edge).abs() <= 1)
    {
        return; // too close to a window edge to say which side the server's clock is on
    }
    let night = !(6 * 60..22 * 60).contains(&minute);
    let (status, body) = client_credentials(
        &s,
        "inventory-bot",
        "inventory-dev-secret",
        "https://inventory.example.com",
        None,
    )
    .await;
    if night {
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["scope"], "stock:read stock:write");
    } else {
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_scope")),
            "{body}"
        );
    }
}

/// A malformed request: name, client credentials, form, expected status and error code.
type Case<'a> = (
    &'a str,
    Option<(&'a str, &'a str)>,
    Vec<(&'static str, String)>,
    u16,
    &'a str,
);

/// Mints a JWT with one of the server's own key types but a key it does not know.
fn foreign_token(claims: &Value) -> String {
    let key = tollgate::keys::generate(tollgate::config::SigningAlgorithm::ES256, 0).expect("key");
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(key.kid);
    header.typ = Some("at+jwt".into());
    jsonwebtoken::encode(
        &header,
        claims,
        &jsonwebtoken::EncodingKey::from_ec_pem(key.private_pem.as_bytes()).expect("pem"),
    )
    .expect("sign")
}

#[tokio::test]
async fn malformed_requests_get_their_rfc_error_and_never_a_500() {
    let s = start("malformed", &quickstart(), None).await;
    let token_url = format!("{}/token", s.base);
    let good = ("reconcile-worker", "reconcile-dev-secret");
    let (_, valid) = client_credentials(
        &s,
        "report-agent",
        "report-dev-secret",
        "https://analytics-mcp.example.com",
        None,
    )
    .await;
    let valid = valid["access_token"].as_str().expect("token").to_owned();
    let now = jiff::Timestamp::now().as_second();
    let expired = s
        .core
        .keys()
        .sign("at+jwt", &json!({ "iss": s.base, "sub": "report-agent", "client_id": "report-agent", "aud": "https://analytics-mcp.example.com", "scope": "analytics:query", "iat": now - 700, "exp": now - 100, "jti": "old" }))
        .expect("sign");
    let foreign = foreign_token(
        &json!({ "iss": s.base, "sub": "x", "client_id": "x", "scope": "analytics:query", "iat": now, "exp": now + 600, "jti": "f" }),
    );
    let mut forged = valid.clone();
    forged.pop();
    forged.push(if valid.ends_with('A') { 'B' } else { 'A' });
    let exchange = |subject: &str| -> Vec<(&'static str, String)> {
        vec![
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:token-exchange".into(),
            ),
            ("subject_token", subject.to_owned()),
            (
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:access_token".into(),
            ),
            ("resource", "https://analytics.example.com".into()),
        ]
    };
    let mcp = Some(("analytics-mcp", "analytics-mcp-dev-secret"));
    let cc = |extra: &[(&'static str, &str)]| -> Vec<(&'static str, String)> {
        let mut f = vec![
            ("grant_type", "client_credentials".to_owned()),
            ("resource", "https://billing.example.com".to_owned()),
        ];
        f.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        f
    };
    let table: Vec<Case<'_>> = vec![
        (
            "missing grant_type",
            Some(good),
            vec![("resource", "https://billing.example.com".into())],
            400,
            "invalid_request",
        ),
        (
            "unknown grant_type",
            Some(good),
            vec![("grant_type", "password".into())],
            400,
            "unsupported_grant_type",
        ),
        (
            "duplicated grant_type",
            Some(good),
            vec![
                ("grant_type", "client_credentials".into()),
                ("grant_type", "client_credentials".into()),
            ],
            400,
            "invalid_request",
        ),
        (
            "duplicated scope",
            Some(good),
            cc(&[("scope", "ledger:read"), ("scope", "ledger:write")]),
            400,
            "invalid_request",
        ),
        (
            "wrong secret",
            Some(("reconcile-worker", "nope")),
            cc(&[]),
            401,
            "invalid_client",
        ),
        (
            "unknown client",
            Some(("who", "nope")),
            cc(&[]),
            401,
            "invalid_client",
        ),
        (
            "no client authentication",
            None,
            cc(&[]),
            401,
            "invalid_client",
        ),
        (
            "two authentication methods",
            Some(good),
            cc(&[
                ("client_secret", "reconcile-dev-secret"),
                ("client_id", "reconcile-worker"),
            ]),
            400,
            "invalid_request",
        ),
        (
            "post secret for a basic client",
            None,
            cc(&[
                ("client_id", "reconcile-worker"),
                ("client_secret", "reconcile-dev-secret"),
            ]),
            401,
            "invalid_client",
        ),
        (
            "unknown resource",
            Some(good),
            vec![
                ("grant_type", "client_credentials".into()),
                ("resource", "https://nowhere.example.com".into()),
            ],
            400,
            "invalid_target",
        ),
        (
            "two resources",
            Some(good),
            vec![
                ("grant_type", "client_credentials".into()),
                ("resource", "https://billing.example.com".into()),
                ("resource", "https://inventory.example.com".into()),
            ],
            400,
            "invalid_target",
        ),
        (
            "grant not allowed for the client",
            Some(good),
            exchange(&valid),
            400,
            "unauthorized_client",
        ),
        (
            "missing subject_token",
            mcp,
            vec![
                (
                    "grant_type",
                    "urn:ietf:params:oauth:grant-type:token-exchange".into(),
                ),
                (
                    "subject_token_type",
                    "urn:ietf:params:oauth:token-type:access_token".into(),
                ),
            ],
            400,
            "invalid_request",
        ),
        (
            "bad subject_token_type",
            mcp,
            {
                let mut f = exchange(&valid);
                f[2].1 = "urn:x".into();
                f
            },
            400,
            "invalid_request",
        ),
        (
            "forged subject token",
            mcp,
            exchange(&forged),
            400,
            "invalid_grant",
        ),
        (
            "expired subject token",
            mcp,
            exchange(&expired),
            400,
            "invalid_grant",
        ),
        (
            "foreign subject token",
            mcp,
            exchange(&foreign),
            400,
            "invalid_grant",
        ),
        (
            "garbage subject token",
            mcp,
            exchange("not-a-token"),
            400,
            "invalid_grant",
        ),
        (
            "JWT bearer without a trusted issuer",
            Some(good),
            vec![
                (
                    "grant_type",
                    "urn:ietf:params:oauth:grant-type:jwt-bearer".into(),
                ),
                ("assertion", valid.clone()),
            ],
            400,
            "unauthorized_client",
        ),
        (
            "refresh with an unknown token",
            Some(good),
            vec![
                ("grant_type", "refresh_token".into()),
                ("refresh_token", "nope".into()),
            ],
            400,
            "unauthorized_client",
        ),
    ];
    let mut failures = Vec::new();
    for (name, auth, form, status, error) in &table {
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (got, headers, body) = post(&token_url, *auth, &pairs).await;
        let no_store =
            headers.get("cache-control").and_then(|v| v.to_str().ok()) == Some("no-store");
        if got != *status || body["error"].as_str() != Some(error) || !no_store || got >= 500 {
            failures.push(format!(
                "{name}: expected {status} {error}, got {got} {body} (no-store: {no_store})"
            ));
        }
    }
    // Not a form at all.
    let response = reqwest::Client::new()
        .post(&token_url)
        .header("content-type", "application/json")
        .body("{\"grant_type\":\"client_credentials\"}")
        .send()
        .await
        .expect("request");
    if response.status().as_u16() != 400 {
        failures.push(format!("JSON body: got {}", response.status()));
    }
    // Undecodable Basic credentials.
    let response = reqwest::Client::new()
        .post(&token_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", "Basic %%%")
        .body("grant_type=client_credentials")
        .send()
        .await
        .expect("request");
    let challenge = response.headers().get("www-authenticate").is_some();
    if response.status().as_u16() != 401 || !challenge {
        failures.push(format!(
            "bad Basic header: got {} (challenge: {challenge})",
            response.status()
        ));
    }
    assert!(
        failures.is_empty(),
        "{} of {} malformed requests were mishandled:\n{}",
        failures.len(),
        table.len() + 2,
        failures.join("\n")
    );
}

#[tokio::test]
async fn introspection_and_revocation() {
    let s = start("introspect", &quickstart(), None).await;
    let (_, body) = client_credentials(
        &s,
        "reconcile-worker",
        "reconcile-dev-secret",
        "https://billing.example.com",
        None,
    )
    .await;
    let token = body["access_token"].as_str().expect("token").to_owned();
    let auth = Some(("reconcile-worker", "reconcile-dev-secret"));
    let (status, _, answer) = post(
        &format!("{}/introspect", s.base),
        auth,
        &[("token", &token)],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(answer["active"], true);
    assert_eq!(answer["scope"], "ledger:read ledger:write");
    // Unauthenticated introspection is refused.
    let (status, _, answer) = post(
        &format!("{}/introspect", s.base),
        None,
        &[("token", &token)],
    )
    .await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (401, Some("invalid_client"))
    );
    // Another client cannot revoke it; its owner can.
    let (status, _, _) = post(
        &format!("{}/revoke", s.base),
        Some(("ops-agent", "ops-dev-secret")),
        &[("token", &token)],
    )
    .await;
    assert_eq!(status, 200);
    let (_, _, answer) = post(
        &format!("{}/introspect", s.base),
        auth,
        &[("token", &token)],
    )
    .await;
    assert_eq!(answer["active"], true);
    let (status, _, _) = post(&format!("{}/revoke", s.base), auth, &[("token", &token)]).await;
    assert_eq!(status, 200);
    let (_, _, answer) = post(
        &format!("{}/introspect", s.base),
        auth,
        &[("token", &token)],
    )
    .await;
    assert_eq!(answer, json!({ "active": false }));
    let (_, _, answer) = post(
        &format!("{}/introspect", s.base),
        auth,
        &[("token", "garbage")],
    )
    .await;
    assert_eq!(answer, json!({ "active": false }));
}

const REFRESH_CONFIG: &str = r#"
issuer: "http://127.0.0.1"
clients:
  - clientId: assistant
    secret: assistant-secret
    grantTypes: [jwt_bearer, refresh_token]
resources:
  - { id: calendar, audience: "https://calendar.example.com", kind: api, scopes: ["calendar:read", "calendar:write"] }
policies:
  - id: assistant-calendar
    subject: { clients: [assistant], conditions: [ { key: user.roles, op: contains, value: scheduler } ] }
    grantTypes: [jwt_bearer]
    targets: [ { resource: calendar, scopes: "*" } ]
users:
  - { sub: u-1, roles: [scheduler] }
"#;

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_revokes_its_family() {
    let idp = tollgate::keys::generate(tollgate::config::SigningAlgorithm::ES256, 0).expect("key");
    let config = format!(
        "{REFRESH_CONFIG}trustedIssuers:\n  - {{ issuer: \"https://idp.example.com\", audience: \"tollgate\", jwks: {{ keys: [{}] }} }}\n",
        idp.public_jwk
    );
    let s = start("refresh", &config, None).await;
    let now = jiff::Timestamp::now().as_second();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(idp.kid.clone());
    let assertion = jsonwebtoken::encode(
        &header,
        &json!({ "iss": "https://idp.example.com", "sub": "u-1", "aud": "tollgate", "iat": now, "exp": now + 300, "jti": "a-1", "dept": "ops" }),
        &jsonwebtoken::EncodingKey::from_ec_pem(idp.private_pem.as_bytes()).expect("pem"),
    )
    .expect("sign");
    let auth = Some(("assistant", "assistant-secret"));
    let url = format!("{}/token", s.base);
    let grant = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
        ("assertion", assertion.as_str()),
        ("resource", "https://calendar.example.com"),
    ];
    let (status, _, first) = post(&url, auth, &grant).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["scope"], "calendar:read calendar:write");
    assert_eq!(
        claims(first["access_token"].as_str().expect("token"))["dept"],
        "ops"
    );
    // The same assertion again is a replay.
    let (status, _, body) = post(&url, auth, &grant).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );

    let r1 = first["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_owned();
    let (status, _, second) = post(
        &url,
        auth,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &r1),
            ("scope", "calendar:read"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["scope"], "calendar:read");
    let r2 = second["refresh_token"]
        .as_str()
        .expect("rotated")
        .to_owned();
    assert_ne!(r1, r2);
    // Asking for more than the session holds is refused.
    let (status, _, body) = post(
        &url,
        auth,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &r2),
            ("scope", "calendar:read calendar:admin"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope")),
        "{body}"
    );
    // r1 again: reuse. The family, r2 included, is revoked.
    let (status, _, body) = post(
        &url,
        auth,
        &[("grant_type", "refresh_token"), ("refresh_token", &r1)],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, _, body) = post(
        &url,
        auth,
        &[("grant_type", "refresh_token"), ("refresh_token", &r2)],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    let (_, _, answer) = post(
        &format!("{}/introspect", s.base),
        auth,
        &[("token", second["access_token"].as_str().expect("t"))],
    )
    .await;
    assert_eq!(
        answer["active"], false,
        "the family's access token is revoked too"
    );
}

#[tokio::test]
async fn admin_changes_apply_to_the_next_decision() {
    let s = start("admin", &quickstart(), Some("admin-secret")).await;
    let bq = "https://bigquery-mcp.example.com";
    // Without the token, nothing.
    let status = reqwest::get(format!("{}/admin/clients", s.base))
        .await
        .expect("get")
        .status()
        .as_u16();
    assert_eq!(status, 401);
    // A new client and a policy for it.
    let (status, body) = admin(&s, reqwest::Method::POST, "/admin/clients", Some(json!({ "clientId": "etl", "secret": "etl-secret", "grantTypes": ["client_credentials"] }))).await;
    assert_eq!(status, 201, "{body}");
    assert!(body.get("secret").is_none(), "secrets are never returned");
    let (status, _) = client_credentials(&s, "etl", "etl-secret", bq, None).await;
    assert_eq!(status, 400);
    let policy = json!({ "id": "etl-read", "subject": { "clients": ["etl"] }, "targets": [ { "resource": "bigquery-mcp", "scopes": ["mcp:bigquery.read"] } ] });
    let (status, body) = admin(&s, reqwest::Method::POST, "/admin/policies", Some(policy)).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = client_credentials(&s, "etl", "etl-secret", bq, None).await;
    assert_eq!(
        (status, body["scope"].as_str()),
        (200, Some("mcp:bigquery.read")),
        "{body}"
    );
    // An invalid policy is refused with its errors and changes nothing.
    let bad = json!({ "id": "bad", "subject": { "conditions": [ { "key": "user.role", "op": "contains", "value": "x" } ] }, "targets": [ { "resource": "nope", "scopes": ["x"] } ] });
    let (status, body) = admin(&s, reqwest::Method::POST, "/admin/policies", Some(bad)).await;
    assert_eq!(status, 400);
    let paths: Vec<&str> = body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["path"].as_str())
        .collect();
    assert_eq!(paths.len(), 2, "{body}");
    assert!(
        paths.iter().all(|p| p.starts_with("policies[")),
        "{paths:?}"
    );
    // Config-declared entities belong to the file.
    let (status, _) = admin(
        &s,
        reqwest::Method::DELETE,
        "/admin/policies/nightly-ledger",
        None,
    )
    .await;
    assert_eq!(status, 409);
    // Removing the policy removes the access at the next decision.
    let (status, _) = admin(
        &s,
        reqwest::Method::DELETE,
        "/admin/policies/etl-read",
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = client_credentials(&s, "etl", "etl-secret", bq, None).await;
    assert_eq!(status, 400);
    // Simulation explains itself.
    let (status, body) = admin(&s, reqwest::Method::POST, "/admin/decide", Some(json!({ "grantType": "client_credentials", "client": { "clientId": "ops-agent" }, "target": { "resource": "incidents-api" }, "requestedScopes": ["incidents:write"] }))).await;
    assert_eq!(status, 200);
    assert_eq!(body["decision"]["scopes"][0]["reason"], "not_allowed");
    assert!(body["policyVersion"].as_u64().expect("version") >= 3);
    let (status, body) = admin(&s, reqwest::Method::GET, "/admin/openapi.json", None).await;
    assert_eq!(status, 200);
    assert!(body["paths"]["/admin/policies/{id}"]["put"].is_object());
}

#[test]
fn nothing_acknowledged_is_lost_across_kill_9() {
    let dir = TempDir::new("kill9");
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
        l.local_addr().expect("addr").port()
    };
    let config = quickstart()
        .replace("\"127.0.0.1:8080\"", &format!("\"127.0.0.1:{port}\""))
        .replace(
            "sqlite://data/quickstart.db",
            &format!("sqlite://{}/t.db", dir.0.display()),
        )
        .replace("auditLog: stdout", "");
    let config_path = dir.0.join("tollgate.yaml");
    std::fs::write(&config_path, config).expect("config");
    let spawn = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_tollgate"))
            .args(["serve", "--config"])
            .arg(&config_path)
            .env("TOLLGATE_ADMIN_TOKEN", "admin-secret")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn tollgate")
    };
    let base = format!("http://127.0.0.1:{port}");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let wait_ready = |base: &str| {
        for _ in 0..300 {
            if rt.block_on(reqwest::get(format!("{base}/healthz"))).is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("the server did not start");
    };
    let mut child = spawn();
    wait_ready(&base);
    let client = reqwest::Client::new();
    let written: Vec<String> = (0..20).map(|i| format!("p{i}")).collect();
    for id in &written {
        let policy = json!({ "id": id, "subject": { "clients": ["ops-agent"] }, "targets": [ { "resource": "incidents-api", "scopes": ["incidents:read"] } ] });
        let status = rt
            .block_on(
                client
                    .post(format!("{base}/admin/policies"))
                    .bearer_auth("admin-secret")
                    .json(&policy)
                    .send(),
            )
            .expect("post")
            .status();
        assert_eq!(status.as_u16(), 201);
    }
    // SIGKILL right after the last acknowledgement.
    child.kill().expect("kill -9");
    child.wait().expect("reaped");
    let mut child = spawn();
    wait_ready(&base);
    let listed: Vec<Value> = rt
        .block_on(async {
            client
                .get(format!("{base}/admin/policies"))
                .bearer_auth("admin-secret")
                .send()
                .await?
                .json()
                .await
        })
        .expect("list");
    let ids: Vec<&str> = listed.iter().filter_map(|p| p["id"].as_str()).collect();
    for id in &written {
        assert!(
            ids.contains(&id.as_str()),
            "policy `{id}` was lost: {ids:?}"
        );
    }
    child.kill().expect("stop");
    child.wait().expect("reaped");
}

/// The `oauth2` crate (a client nobody on the team wrote) gets a token with client_credentials,
/// and reads a refusal as the RFC 6749 error it is.
#[tokio::test]
async fn the_oauth2_crate_gets_a_client_credentials_token() {
    use oauth2::basic::{BasicClient, BasicErrorResponseType};
    use oauth2::{ClientId, ClientSecret, RequestTokenError, Scope, TokenResponse, TokenUrl};

    let s = start("oauth2-crate", &quickstart(), None).await;
    let client = BasicClient::new(ClientId::new("reconcile-worker".into()))
        .set_client_secret(ClientSecret::new("reconcile-dev-secret".into()))
        .set_token_uri(TokenUrl::new(format!("{}/token", s.base)).expect("URL"));
    let http = oauth2::reqwest::ClientBuilder::new()
        .redirect(oauth2::reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client");
    let token = client
        .exchange_client_credentials()
        .add_scope(Scope::new("ledger:read".into()))
        .add_extra_param("resource", "https://billing.example.com")
        .request_async(&http)
        .await
        .expect("a token");
    let scopes: Vec<&str> = token
        .scopes()
        .expect("scope in the response")
        .iter()
        .map(|s| s.as_str())
        .collect();
    assert_eq!(scopes, ["ledger:read"]);
    let claims = claims(token.access_token().secret());
    assert_eq!(claims["client_id"], "reconcile-worker");
    assert_eq!(claims["aud"], "https://billing.example.com");
    assert_eq!(claims["scope"], "ledger:read");

    // ledger:admin is never granted: the crate sees `invalid_scope`.
    let refused = client
        .exchange_client_credentials()
        .add_scope(Scope::new("ledger:admin".into()))
        .add_extra_param("resource", "https://billing.example.com")
        .request_async(&http)
        .await
        .expect_err("refused");
    match refused {
        RequestTokenError::ServerResponse(e) => {
            assert_eq!(*e.error(), BasicErrorResponseType::InvalidScope);
        }
        other => panic!("expected an OAuth error response, got {other:?}"),
    }
}

/// `tollgate policy test` prints the table and exits 0 only when every case passes; a
/// `requestJson` case reaches the engine as written, so a key written twice is refused.
#[test]
fn cli_policy_test_exits_by_the_outcome() {
    let dir = TempDir::new("policy-test");
    let file = dir.0.join("keys.yaml");
    let write = |cases: &str| {
        let text = format!(
            r#"description: keys written twice
document:
  version: 1
  resources: [ {{ id: api, audience: "https://api.example.com", kind: api, scopes: [read] }} ]
  policies: [ {{ id: p, targets: [ {{ resource: api, scopes: [read] }} ] }} ]
cases:
  - name: decided
    request: {{ grantType: client_credentials, target: {{ resource: api }} }}
    expect: {{ permitted: true, granted: [read] }}
  - name: a target named twice
    requestJson: '{{"grantType": "client_credentials", "target": {{"resource": "api"}},
      "client": {{"allowedScopes": {{"api": ["read"], "api": []}}}}}}'
    expectError: "client.allowedScopes: duplicate key `api`"
{cases}"#
        );
        std::fs::write(&file, text).expect("test file");
    };
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_tollgate"))
            .args(["policy", "test"])
            .arg(&file)
            .output()
            .expect("run tollgate policy test")
    };

    write("");
    let passed = run();
    let table = String::from_utf8_lossy(&passed.stdout);
    assert!(passed.status.success(), "{table}");
    assert!(
        table.ends_with("policy tests: 2 passed, 0 failed\n"),
        "{table}"
    );

    write(
        r#"  - name: a claim named twice, expected decided
    requestJson: '{"grantType": "client_credentials", "target": {"resource": "api"},
      "claims": {"dept": 1, "dept": 2}}'
    expect: { permitted: true }
"#,
    );
    let failed = run();
    let table = String::from_utf8_lossy(&failed.stdout);
    assert_eq!(failed.status.code(), Some(1), "{table}");
    assert!(
        table.contains("FAIL  ")
            && table.contains("the request was refused")
            && table.contains("claims: duplicate key `dept`"),
        "{table}"
    );
    assert!(
        table.ends_with("policy tests: 2 passed, 1 failed\n"),
        "{table}"
    );
}

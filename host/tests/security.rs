//! The security regression suite: one test per finding of the December 2026 review and per rule
//! that must hold since (tenants, who may exchange and introspect, actors, public clients,
//! assertions, refresh lifetime, files at rest, bounded input), each against the real server on
//! 127.0.0.1 over HTTP. The names say what they prove.

#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a broken set-up fails the test"
)]

mod common;

use common::{Server, TempDir, admin, claims, post, published_kids, start, start_in};
use serde_json::{Value, json};

const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";

/// Two tenants, each with an agent and a GitHub key; an MCP server without a tenant that serves
/// the agents' API; another that serves nothing. The policies are as broad as they come (any
/// client may exchange for GitHub), so only the server's own rules keep the tenants apart.
const TENANTS: &str = r#"
issuer: "http://127.0.0.1"
vault: { keyFile: vault.key }
clients:
  - { clientId: t1-agent, secret: t1-secret, grantTypes: [client_credentials, token_exchange],
      tags: [agent], tenantId: t1, serves: [agents-api] }
  - { clientId: t2-agent, secret: t2-secret, grantTypes: [client_credentials, token_exchange],
      tags: [agent], tenantId: t2 }
  - { clientId: mcp, secret: mcp-secret, grantTypes: [client_credentials, token_exchange, refresh_token],
      tags: [agent], serves: [agents-api] }
  - { clientId: other-mcp, secret: other-secret, grantTypes: [client_credentials, token_exchange],
      tags: [agent] }
resources:
  - { id: agents-api, audience: "https://agents.example", kind: api, scopes: [chat] }
  - { id: b-api, audience: "https://b.example", kind: api, scopes: ["b:read", "b:write"] }
connections:
  - id: github
    kind: api_key
    credentials:
      - { tenant: t1, apiKey: ghp-T1-SECRET }
      - { tenant: t2, apiKey: ghp-T2-SECRET }
policies:
  - id: agents-self
    subject: { conditions: [ { key: client.tags, op: contains, value: agent } ] }
    grantTypes: [client_credentials]
    targets: [ { resource: agents-api, scopes: [chat] } ]
  - id: github-for-anyone
    grantTypes: [token_exchange]
    targets: [ { connection: github } ]
  - id: b-for-agents-tokens
    subject:
      conditions:
        - { key: subject.audience, op: equal, value: "https://agents.example" }
    grantTypes: [token_exchange]
    targets: [ { resource: b-api, scopes: ["b:read"] } ]
"#;

fn secret(client: &str) -> &'static str {
    match client {
        "t1-agent" => "t1-secret",
        "t2-agent" => "t2-secret",
        "mcp" => "mcp-secret",
        "other-mcp" => "other-secret",
        other => panic!("no secret for {other}"),
    }
}

async fn token_of(s: &Server, client: &str) -> String {
    let (status, _, body) = post(
        &format!("{}/token", s.base),
        Some((client, secret(client))),
        &[
            ("grant_type", "client_credentials"),
            ("resource", "https://agents.example"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{client}: {body}");
    body["access_token"].as_str().expect("token").to_owned()
}

async fn exchange(
    s: &Server,
    client: &str,
    subject: &str,
    target: &str,
    extra: &[(&str, &str)],
) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", TOKEN_EXCHANGE),
        ("subject_token", subject),
        ("subject_token_type", ACCESS_TOKEN),
        ("resource", target),
    ];
    form.extend_from_slice(extra);
    let (status, _, body) = post(
        &format!("{}/token", s.base),
        Some((client, secret(client))),
        &form,
    )
    .await;
    (status, body)
}

async fn introspect(s: &Server, client: &str, token: &str) -> Value {
    let (status, _, body) = post(
        &format!("{}/introspect", s.base),
        Some((client, secret(client))),
        &[("token", token)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// A token signed by the server's own key with any claims (what a resource server would hold).
fn own_token(s: &Server, claims: Value) -> String {
    s.core.keys().sign("at+jwt", &claims).expect("signs")
}

#[tokio::test]
async fn tenants_only_ever_receive_their_own_tenants_credentials() {
    let s = start("sec-tenants", TENANTS, None).await;
    let t1 = token_of(&s, "t1-agent").await;
    let t2 = token_of(&s, "t2-agent").await;
    // (requesting client, subject token, expected status, expected secret or error)
    let cases: [(&str, &str, &str, u16, &str); 8] = [
        ("t1-agent", &t1, "t1 own", 200, "ghp-T1-SECRET"),
        // t1-agent serves the agents' API, so it may exchange t2's token, but never for t2's key.
        ("t1-agent", &t2, "t2 by t1", 400, "invalid_target"),
        // t2-agent serves nothing: another client's token is not its to exchange.
        ("t2-agent", &t1, "t1 by t2", 400, "invalid_grant"),
        ("t2-agent", &t2, "t2 own", 200, "ghp-T2-SECRET"),
        // The MCP server without a tenant serves the audience: each subject's own tenant.
        ("mcp", &t1, "t1 by mcp", 200, "ghp-T1-SECRET"),
        ("mcp", &t2, "t2 by mcp", 200, "ghp-T2-SECRET"),
        // An MCP server that serves nothing gets nothing for anyone's token.
        ("other-mcp", &t1, "t1 by other", 400, "invalid_grant"),
        ("other-mcp", &t2, "t2 by other", 400, "invalid_grant"),
    ];
    for (client, subject, what, status, expected) in cases {
        let (got, body) = exchange(&s, client, subject, "github", &[]).await;
        let text = body.to_string();
        assert_eq!(got, status, "{what}: {body}");
        if status == 200 {
            assert_eq!(body["access_token"], expected, "{what}");
        } else {
            assert_eq!(body["error"], expected, "{what}: {body}");
            assert!(!text.contains("SECRET"), "{what} released a secret: {body}");
        }
    }
}

#[tokio::test]
async fn a_subject_token_is_exchanged_only_by_its_client_or_a_server_of_its_audience() {
    let s = start("sec-who-exchanges", TENANTS, None).await;
    let t2 = token_of(&s, "t2-agent").await;
    // M1: a client that neither received the token nor serves its audience is refused, for a
    // resource as for a connection.
    let (status, body) = exchange(&s, "other-mcp", &t2, "https://b.example", &[]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    // The server of the audience may; the policy sees `subject.audience` and `subject.clientid`.
    let (status, body) = exchange(&s, "mcp", &t2, "https://b.example", &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "b:read");
    assert!(
        body.get("refresh_token").is_none(),
        "exchange issues no refresh token by default"
    );
    // A token for another audience does not satisfy the policy's `subject.audience` condition.
    let elsewhere = own_token(
        &s,
        json!({ "iss": s.core.issuer, "sub": "t2-agent", "client_id": "t2-agent",
                "aud": "https://b.example", "scope": "b:read",
                "iat": now(), "exp": now() + 300, "jti": "elsewhere-1" }),
    );
    let (status, body) = exchange(&s, "t2-agent", &elsewhere, "https://b.example", &[]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope")),
        "{body}"
    );
}

#[tokio::test]
async fn an_actor_token_must_be_the_requesting_clients_unless_may_act_names_its_party() {
    let s = start("sec-actors", TENANTS, None).await;
    let subject = token_of(&s, "t2-agent").await;
    let mcp_own = token_of(&s, "mcp").await;
    let other = token_of(&s, "other-mcp").await;
    let actor = |token: &'static str| [("actor_token", token), ("actor_token_type", ACCESS_TOKEN)];
    let leak = |t: &String| -> &'static str { Box::leak(t.clone().into_boxed_str()) };
    // H3: another client's token as actor_token is not a way to write it into `act`.
    let (status, body) = exchange(
        &s,
        "mcp",
        &subject,
        "https://b.example",
        &actor(leak(&other)),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    // Only token types this server verifies.
    let (status, body) = exchange(
        &s,
        "mcp",
        &subject,
        "https://b.example",
        &[
            ("actor_token", &mcp_own),
            ("actor_token_type", "urn:x:anything"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
    // Its own token is fine, and `act` names it.
    let (status, body) = exchange(
        &s,
        "mcp",
        &subject,
        "https://b.example",
        &actor(leak(&mcp_own)),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let issued = body["access_token"].as_str().expect("token").to_owned();
    assert_eq!(claims(&issued)["act"]["client_id"], "mcp");

    // L2: a subject token whose `may_act` names `other-mcp` lets that party act (through
    // mcp, which serves the audience), and refuses everyone else.
    let restricted = own_token(
        &s,
        json!({ "iss": s.core.issuer, "sub": "t2-agent", "client_id": "t2-agent",
                "aud": "https://agents.example", "scope": "chat", "may_act": { "client_id": "other-mcp" },
                "iat": now(), "exp": now() + 300, "jti": "may-act-1" }),
    );
    let (status, body) = exchange(&s, "mcp", &restricted, "https://b.example", &[]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    let (status, body) = exchange(
        &s,
        "mcp",
        &restricted,
        "https://b.example",
        &actor(leak(&other)),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        claims(body["access_token"].as_str().expect("t"))["act"]["client_id"],
        "other-mcp"
    );

    // Nested chains keep working: exchanging the exchanged token nests the earlier `act`, and
    // introspection reports it to the token's own client.
    let again = own_token(
        &s,
        json!({ "iss": s.core.issuer, "sub": "t2-agent", "client_id": "mcp",
                "aud": "https://agents.example", "scope": "chat",
                "act": { "sub": "first", "client_id": "first" },
                "iat": now(), "exp": now() + 300, "jti": "nested-1" }),
    );
    let (status, body) = exchange(&s, "mcp", &again, "https://b.example", &[]).await;
    assert_eq!(status, 200, "{body}");
    let nested = body["access_token"].as_str().expect("token").to_owned();
    let described = introspect(&s, "mcp", &nested).await;
    assert_eq!(described["active"], true);
    assert_eq!(described["act"]["client_id"], "mcp");
    assert_eq!(described["act"]["act"]["client_id"], "first");
}

#[tokio::test]
async fn introspection_describes_a_token_only_to_its_client_or_a_server_of_its_audience() {
    let s = start("sec-introspect", TENANTS, None).await;
    let t2 = token_of(&s, "t2-agent").await;
    assert_eq!(introspect(&s, "t2-agent", &t2).await["active"], true);
    assert_eq!(
        introspect(&s, "mcp", &t2).await["active"],
        true,
        "mcp serves the audience"
    );
    // M4: anyone else learns nothing.
    assert_eq!(
        introspect(&s, "other-mcp", &t2).await,
        json!({ "active": false })
    );
    assert_eq!(
        introspect(&s, "t1-agent", &token_of(&s, "mcp").await).await["active"],
        true
    );
    let b_token = own_token(
        &s,
        json!({ "iss": s.core.issuer, "sub": "u-1", "client_id": "t2-agent", "aud": "https://b.example",
                "scope": "b:read", "dept": "ops", "iat": now(), "exp": now() + 300, "jti": "b-1" }),
    );
    assert_eq!(
        introspect(&s, "t1-agent", &b_token).await,
        json!({ "active": false })
    );
}

const PUBLIC_CC: &str = r#"
issuer: "http://127.0.0.1"
clients:
  - { clientId: public-cc, tokenEndpointAuthMethod: none, grantTypes: [client_credentials] }
resources:
  - { id: api, audience: "https://api.example", kind: api, scopes: [read] }
"#;

#[tokio::test]
async fn public_clients_may_use_only_authorization_code_and_refresh_token() {
    // M2, at config load: refused with the field's path.
    let failed = start_in(TempDir::new("sec-public-config"), PUBLIC_CC, None).await;
    let Err((_dir, error)) = failed else {
        panic!("a public client_credentials client must not load");
    };
    let message = error.to_string();
    assert!(
        message.contains("clients[0].grantTypes[0]") && message.contains("public client"),
        "{message}"
    );
    // In the admin API.
    let s = start("sec-public-admin", TENANTS, Some("admin-secret")).await;
    for grants in [
        json!(["client_credentials"]),
        json!(["authorization_code", "token_exchange"]),
    ] {
        let (status, body) = admin(
            &s,
            reqwest::Method::POST,
            "/admin/clients",
            Some(
                json!({ "clientId": "pub", "tokenEndpointAuthMethod": "none", "grantTypes": grants,
                         "redirectUris": ["http://127.0.0.1:9/cb"] }),
            ),
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert!(body.to_string().contains("public client"), "{body}");
    }
    // At the token endpoint: a public client asking for client credentials is unauthorized.
    let (status, body) = admin(
        &s,
        reqwest::Method::POST,
        "/admin/clients",
        Some(json!({ "clientId": "pub", "tokenEndpointAuthMethod": "none",
                     "grantTypes": ["authorization_code"], "redirectUris": ["http://127.0.0.1:9/cb"] })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    for grant in ["client_credentials", TOKEN_EXCHANGE, JWT_BEARER] {
        let (status, _, body) = post(
            &format!("{}/token", s.base),
            None,
            &[
                ("grant_type", grant),
                ("client_id", "pub"),
                ("subject_token", "x"),
                ("subject_token_type", ACCESS_TOKEN),
                ("assertion", "x"),
            ],
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("unauthorized_client")),
            "{grant}: {body}"
        );
    }
}

const ASSERTIONS: &str = r#"
issuer: "http://127.0.0.1"
clients:
  - { clientId: assistant, secret: assistant-secret, grantTypes: [jwt_bearer] }
resources:
  - { id: calendar, audience: "https://calendar.example.com", kind: api, scopes: ["calendar:read"] }
policies:
  - id: assistant-calendar
    subject: { clients: [assistant] }
    grantTypes: [jwt_bearer]
    targets: [ { resource: calendar, scopes: "*" } ]
"#;

#[tokio::test]
async fn assertions_are_bounded_in_time_and_single_use_whatever_the_form_of_exp() {
    let idp = tollgate::keys::generate(tollgate::config::SigningAlgorithm::ES256, 0).expect("key");
    let config = format!(
        "{ASSERTIONS}trustedIssuers:\n  - {{ issuer: \"https://idp.example.com\", audience: \"tollgate\", jwks: {{ keys: [{}] }} }}\n",
        idp.public_jwk
    );
    let s = start("sec-assertions", &config, None).await;
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(idp.kid.clone());
    let key = jsonwebtoken::EncodingKey::from_ec_pem(idp.private_pem.as_bytes()).expect("pem");
    let sign = |claims: Value| jsonwebtoken::encode(&header, &claims, &key).expect("sign");
    let base = |jti: &str| {
        json!({ "iss": "https://idp.example.com", "sub": "u-1", "aud": "tollgate",
                "iat": now(), "exp": now() + 120, "jti": jti })
    };
    let grant = |assertion: String| {
        let url = format!("{}/token", s.base);
        async move {
            let (status, _, body) = post(
                &url,
                Some(("assistant", "assistant-secret")),
                &[
                    ("grant_type", JWT_BEARER),
                    ("assertion", &assertion),
                    ("resource", "https://calendar.example.com"),
                ],
            )
            .await;
            (status, body)
        }
    };
    // An assertion cannot say how this server saw the user sign in: its `auth_time`, `amr` and
    // `acr` stay out of the token (its other claims go in).
    let mut claimed = base("claims-auth");
    claimed["auth_time"] = json!(now() + 86_400);
    claimed["amr"] = json!(["otp", "hwk"]);
    claimed["acr"] = json!("urn:tollgate:loa:2");
    claimed["dept"] = json!("ops");
    let (status, body) = grant(sign(claimed)).await;
    assert_eq!(status, 200, "{body}");
    let token = common::claims(body["access_token"].as_str().expect("a token"));
    assert_eq!(token["dept"], "ops");
    for name in ["auth_time", "amr", "acr"] {
        assert!(token.get(name).is_none(), "{name}: {token}");
    }
    // M3: a fractional `exp` is read as a number, and the jti is remembered: the replay fails.
    let mut fractional = base("float-exp");
    fractional["exp"] = json!(now() as f64 + 120.5);
    let assertion = sign(fractional);
    assert_eq!(grant(assertion.clone()).await.0, 200);
    let (status, body) = grant(assertion).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    // A never-expiring or long-lived assertion is refused.
    for (jti, exp) in [
        ("u64-exp", json!(u64::MAX)),
        ("year", json!(now() + 365 * 86_400)),
        ("hour", json!(now() + 3_600)),
    ] {
        let mut claims = base(jti);
        claims["exp"] = exp;
        let (status, body) = grant(sign(claims)).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{jti}: {body}"
        );
        assert!(
            body["error_description"]
                .as_str()
                .unwrap_or_default()
                .contains("valid for more than"),
            "{body}"
        );
    }
    // `iat` in the future, and a missing `jti` (L3), are refused.
    let mut future = base("future-iat");
    future["iat"] = json!(now() + 3_600);
    let (status, body) = grant(sign(future)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    let mut anonymous = base("x");
    anonymous.as_object_mut().expect("object").remove("jti");
    let (status, body) = grant(sign(anonymous)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    assert!(body.to_string().contains("jti"), "{body}");
}

const EXCHANGE_REFRESH: &str = r#"
issuer: "http://127.0.0.1"
tokens: { exchangeRefreshTokens: true }
clients:
  - { clientId: cc-a, secret: a-secret, grantTypes: [client_credentials] }
  - { clientId: exchanger, secret: x-secret, grantTypes: [token_exchange, refresh_token], serves: [a-api] }
resources:
  - { id: a-api, audience: "https://a.example", kind: api, scopes: ["a:read"] }
  - { id: b-api, audience: "https://b.example", kind: api, scopes: ["b:read"] }
policies:
  - { id: a, subject: { clients: [cc-a] }, grantTypes: [client_credentials], targets: [ { resource: a-api, scopes: "*" } ] }
  - { id: b, subject: { clients: [exchanger] }, grantTypes: [token_exchange], targets: [ { resource: b-api, scopes: "*" } ] }
"#;

#[tokio::test]
async fn a_refresh_family_derived_by_exchange_ends_with_its_subject_and_rotation_never_extends_it()
{
    let s = start("sec-refresh", EXCHANGE_REFRESH, None).await;
    let url = format!("{}/token", s.base);
    let (_, _, subject) = post(
        &url,
        Some(("cc-a", "a-secret")),
        &[
            ("grant_type", "client_credentials"),
            ("resource", "https://a.example"),
        ],
    )
    .await;
    let subject = subject["access_token"].as_str().expect("token").to_owned();
    let (status, _, first) = post(
        &url,
        Some(("exchanger", "x-secret")),
        &[
            ("grant_type", TOKEN_EXCHANGE),
            ("subject_token", &subject),
            ("subject_token_type", ACCESS_TOKEN),
            ("resource", "https://b.example"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{first}");
    let r1 = first["refresh_token"]
        .as_str()
        .expect("configured: a refresh token")
        .to_owned();
    let describe = |token: String| {
        let url = format!("{}/introspect", s.base);
        async move {
            post(&url, Some(("exchanger", "x-secret")), &[("token", &token)])
                .await
                .2
        }
    };
    let exp1 = describe(r1.clone()).await["exp"].as_i64().expect("exp");
    // No later than the subject token's expiry.
    assert!(
        exp1 <= claims(&subject)["exp"].as_i64().expect("exp"),
        "{exp1}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let (status, _, second) = post(
        &url,
        Some(("exchanger", "x-secret")),
        &[("grant_type", "refresh_token"), ("refresh_token", &r1)],
    )
    .await;
    assert_eq!(status, 200, "{second}");
    let r2 = second["refresh_token"]
        .as_str()
        .expect("rotated")
        .to_owned();
    // M10: rotation keeps the family's absolute end.
    assert_eq!(describe(r2.clone()).await["exp"].as_i64(), Some(exp1));
    // The subject is revoked: the derived family ends.
    let (status, _, _) = post(
        &format!("{}/revoke", s.base),
        Some(("cc-a", "a-secret")),
        &[("token", &subject)],
    )
    .await;
    assert_eq!(status, 200);
    let (status, _, body) = post(
        &url,
        Some(("exchanger", "x-secret")),
        &[("grant_type", "refresh_token"), ("refresh_token", &r2)],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    // Introspection of another client's refresh token describes nothing.
    let (_, _, other) = post(
        &format!("{}/introspect", s.base),
        Some(("cc-a", "a-secret")),
        &[("token", &r2)],
    )
    .await;
    assert_eq!(other, json!({ "active": false }));
}

#[tokio::test]
async fn the_data_directory_database_and_audit_log_are_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let config = format!("{TENANTS}auditLog: audit.jsonl\n");
    // The data directory does not exist yet: the server creates it.
    let dir = TempDir::new("sec-modes");
    std::fs::remove_dir_all(&dir.0).expect("empty");
    let s = start_in(dir, &config, None)
        .await
        .map_err(|(_, e)| e)
        .expect("starts");
    let _ = token_of(&s, "t1-agent").await;
    s.core.audit.flush().await;
    let mode = |name: &str| {
        std::fs::metadata(s.dir.0.join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(""), 0o700, "the data directory");
    for file in ["tollgate.db", "tollgate.db-wal", "audit.jsonl", "vault.key"] {
        assert_eq!(mode(file), 0o600, "{file}");
    }
}

/// Whether any of the database's files holds a PEM private key in clear.
fn database_holds_a_pem(dir: &std::path::Path) -> bool {
    ["tollgate.db", "tollgate.db-wal"].iter().any(|f| {
        std::fs::read(dir.join(f))
            .unwrap_or_default()
            .windows(11)
            .any(|w| w == b"PRIVATE KEY")
    })
}

#[tokio::test]
async fn private_signing_keys_are_sealed_with_the_vault_key() {
    // Without a vault key the private key is stored as PEM (in the owner-only database).
    let plain = start("sec-seal", &quickstart(), None).await;
    let stored = plain.core.store.keys().await.expect("keys");
    assert!(stored[0].private_pem.starts_with("-----BEGIN"));
    let kids = published_kids(&plain).await;
    let legit = client_from([127, 0, 0, 50]);
    let r =
        client_credentials_from(&legit, &plain, "reconcile-worker", "reconcile-dev-secret").await;
    assert_eq!(r.status().as_u16(), 200);
    let before: Value = r.json().await.expect("json");
    let dir = plain.stop();

    // Started with a vault key, the same key is sealed in place: the same kid is published and a
    // token signed before still verifies with it.
    let sealed_config = format!("{}\nvault: {{ keyFile: vault.key }}\n", quickstart());
    let s = start_in(dir, &sealed_config, None)
        .await
        .map_err(|(_, e)| e)
        .expect("starts with a vault key");
    let stored = s.core.store.keys().await.expect("keys");
    assert_eq!(stored.len(), 1);
    assert!(
        stored[0].private_pem.starts_with("vault:v1:") && !stored[0].private_pem.contains("KEY"),
        "{}",
        &stored[0].private_pem[..20]
    );
    assert_eq!(published_kids(&s).await, kids);
    s.core
        .keys()
        .verify_signature(before["access_token"].as_str().expect("token"))
        .expect("a token signed before the key was sealed verifies");
    // The clear key is gone from the files too, not only from the row.
    assert!(!database_holds_a_pem(&s.dir.0));
    // New keys are sealed from the start.
    let r = client_credentials_from(&legit, &s, "reconcile-worker", "reconcile-dev-secret").await;
    assert_eq!(r.status().as_u16(), 200);
    let dir = s.stop();

    // Without the vault key the keys cannot be used: the server refuses to start and says why.
    let Err((_, error)) = start_in(dir, &quickstart(), None).await else {
        panic!("started without the vault key that seals its signing key");
    };
    let error = error.to_string();
    assert!(
        error.contains("is sealed with vault key") && error.contains("vault.keyFile"),
        "{error}"
    );
}

#[tokio::test]
async fn bounded_input_gets_the_protocols_error_never_a_500() {
    let s = start("sec-bounds", TENANTS, None).await;
    let url = format!("{}/token", s.base);
    let auth = Some(("t1-agent", "t1-secret"));
    // M9: 200,000 scopes used to trap the engine (500); now refused before it runs.
    let many = vec!["chat"; 200_000].join(" ");
    for scope in [
        many.as_str(),
        &"x".repeat(300),
        &(0..65)
            .map(|i| format!("s{i}"))
            .collect::<Vec<_>>()
            .join(" "),
    ] {
        let (status, _, body) = post(
            &url,
            auth,
            &[
                ("grant_type", "client_credentials"),
                ("resource", "https://agents.example"),
                ("scope", scope),
            ],
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_scope")),
            "{body}"
        );
    }
    // A 1 MiB grant type is refused as a request error and never stored whole.
    let huge = "g".repeat(1 << 20);
    let (status, _, body) = post(&url, auth, &[("grant_type", huge.as_str())]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
    // A body over the server's limit is the OAuth error (413, JSON), not a plain-text rejection;
    // the token endpoint, introspection and revocation alike.
    for endpoint in ["token", "introspect", "revoke"] {
        let response = reqwest::Client::new()
            .post(format!("{}/{endpoint}", s.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("grant_type={}", "g".repeat(3 << 20)))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status().as_u16(), 413, "{endpoint}");
        assert_eq!(
            response.headers()["content-type"],
            "application/json",
            "{endpoint}"
        );
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(body["error"], "invalid_request", "{endpoint}: {body}");
    }
    // Repeated scopes count once.
    let (status, _, body) = post(
        &url,
        auth,
        &[
            ("grant_type", "client_credentials"),
            ("resource", "https://agents.example"),
            ("scope", "chat chat chat"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["scope"].as_str()),
        (200, Some("chat")),
        "{body}"
    );
    // L6: an unknown `token_type_hint` is ignored (RFC 7009 §2.1), not an error.
    let token = token_of(&s, "t1-agent").await;
    let (status, _, body) = post(
        &format!("{}/revoke", s.base),
        auth,
        &[("token", &token), ("token_type_hint", "urn:x:nonsense")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(introspect(&s, "t1-agent", &token).await["active"], false);
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn quickstart() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/quickstart/tollgate.yaml"
    ))
    .expect("quickstart config")
}

/// A client whose requests come from another loopback address (Linux routes all of 127/8 to lo).
fn client_from(ip: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(ip))
        .build()
        .expect("client")
}

async fn client_credentials_from(
    http: &reqwest::Client,
    s: &Server,
    id: &str,
    secret: &str,
) -> reqwest::Response {
    http.post(format!("{}/token", s.base))
        .basic_auth(id, Some(secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&resource=https%3A%2F%2Fbilling.example.com")
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn the_admin_api_and_metrics_authenticate_before_they_parse_anything() {
    let s = start("sec-admin", &quickstart(), Some("admin-secret")).await;
    let http = reqwest::Client::new();
    // L1: malformed bodies and unknown collections get 401 without the token, not 400 or 404.
    for (method, path, body) in [
        (reqwest::Method::POST, "/admin/clients", "{not json"),
        (reqwest::Method::PUT, "/admin/nonsense/x", "[]"),
        (reqwest::Method::GET, "/admin/audit?limit=notanumber", ""),
        (
            reqwest::Method::POST,
            "/admin/keys/rotate",
            "{\"algorithm\": 7}",
        ),
        (
            reqwest::Method::PUT,
            "/admin/connections/x/credentials/user:alice",
            "{not json",
        ),
        (reqwest::Method::GET, "/metrics", ""),
    ] {
        let response = http
            .request(method.clone(), format!("{}{path}", s.base))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status().as_u16(), 401, "{method} {path}");
        assert!(response.headers().contains_key("www-authenticate"));
    }
    // L5: with the token, /metrics answers (404 here: the test server installs no recorder).
    let response = http
        .get(format!("{}/metrics", s.base))
        .bearer_auth("admin-secret")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 404);
}

#[tokio::test]
async fn failed_client_authentications_back_off_per_address_without_locking_the_client_out() {
    let s = start("sec-throttle", &quickstart(), None).await;
    let attacker = client_from([127, 0, 0, 21]);
    // The first five guesses are always checked (401): no wait before the free failures.
    for i in 0..5 {
        let r = client_credentials_from(&attacker, &s, "reconcile-worker", "guess").await;
        assert_eq!(r.status().as_u16(), 401, "guess {i}");
        assert!(r.headers().get("retry-after").is_none(), "guess {i}");
    }
    // Then the address must wait 2^(n-5) s after each failure. A guess sent sooner is refused
    // unchecked (429 with Retry-After); one sent later is checked and counted. How many guesses
    // are checked before the first 429 depends on how long each check takes on a busy machine,
    // so keep guessing until the wait has grown past a second (at most a few checks).
    let mut checked = 5;
    let mut waited = false;
    while checked < 12 {
        let r = client_credentials_from(&attacker, &s, "reconcile-worker", "guess").await;
        match r.status().as_u16() {
            401 => checked += 1,
            429 => {
                let retry: u64 = r
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .expect("a 429 carries Retry-After in seconds");
                assert!((1..=60).contains(&retry), "Retry-After {retry}");
                if retry >= 2 {
                    waited = true;
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_secs(retry)).await;
            }
            other => panic!("guess {checked}: status {other}"),
        }
    }
    assert!(waited, "no backoff after {checked} failed guesses");
    // The right secret from the attacker's address waits too: a throttled guess is never checked.
    let r =
        client_credentials_from(&attacker, &s, "reconcile-worker", "reconcile-dev-secret").await;
    assert_eq!(r.status().as_u16(), 429);
    // From anywhere else the client works.
    let legit = client_from([127, 0, 0, 22]);
    let r = client_credentials_from(&legit, &s, "reconcile-worker", "reconcile-dev-secret").await;
    assert_eq!(r.status().as_u16(), 200);
    // Unknown client ids are refused like wrong secrets (and cost the same argon2 check).
    let other = client_from([127, 0, 0, 23]);
    let r = client_credentials_from(&other, &s, "no-such-client", "x").await;
    assert_eq!(r.status().as_u16(), 401);
}

#[tokio::test]
async fn a_flood_of_wrong_secrets_leaves_health_and_a_legitimate_client_fast() {
    let s = start("sec-flood", &quickstart(), None).await;
    let legit = client_from([127, 0, 0, 30]);
    // Warm: the first success pays argon2 once.
    let r = client_credentials_from(&legit, &s, "reconcile-worker", "reconcile-dev-secret").await;
    assert_eq!(r.status().as_u16(), 200);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let attackers: Vec<_> = (0..8u8)
        .map(|i| {
            let http = client_from([127, 0, 0, 40 + i]);
            let stop = std::sync::Arc::clone(&stop);
            let base = s.base.clone();
            tokio::spawn(async move {
                let mut sent = 0u32;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) && sent < 20_000 {
                    let _ = http
                        .post(format!("{base}/token"))
                        .basic_auth("reconcile-worker", Some(format!("guess-{sent}")))
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body("grant_type=client_credentials")
                        .send()
                        .await;
                    sent += 1;
                }
                sent
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mut health = Vec::new();
    let mut token = Vec::new();
    for _ in 0..150 {
        let started = std::time::Instant::now();
        let r = legit
            .get(format!("{}/healthz", s.base))
            .send()
            .await
            .expect("healthz");
        assert_eq!(r.status().as_u16(), 200);
        health.push(started.elapsed());
        let started = std::time::Instant::now();
        let r =
            client_credentials_from(&legit, &s, "reconcile-worker", "reconcile-dev-secret").await;
        assert_eq!(r.status().as_u16(), 200);
        token.push(started.elapsed());
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut sent = 0;
    for a in attackers {
        sent += a.await.expect("attacker");
    }
    let p99 = |v: &mut Vec<std::time::Duration>| {
        v.sort();
        v[v.len() * 99 / 100 - 1]
    };
    let (health_p99, token_p99) = (p99(&mut health), p99(&mut token));
    println!(
        "8 attackers each keeping a wrong secret in flight got {sent} answered (argon2 runs off the async workers, then backoff): /healthz p99 {health_p99:?}, legitimate /token p99 {token_p99:?}"
    );
    // Reported, and failed only on a gross regression (the goal is under 20 ms).
    assert!(
        health_p99 < std::time::Duration::from_millis(100),
        "{health_p99:?}"
    );
    assert!(
        token_p99 < std::time::Duration::from_millis(100),
        "{token_p99:?}"
    );
}

#[tokio::test]
async fn a_failed_sign_ins_unknown_user_name_is_never_stored_verbatim() {
    let config = quickstart().replace("auditLog: stdout", "auditLog: audit.jsonl");
    let s = start("sec-login-audit", &config, None).await;
    let outcome = tollgate::oauth::authorize::login(
        &s.core,
        "correct horse battery staple",
        "whatever",
        None,
        Some(std::net::IpAddr::from([127, 0, 0, 50])),
        now(),
    )
    .await;
    assert!(outcome.is_err());
    s.core.audit.flush().await;
    let audit = std::fs::read_to_string(s.dir.0.join("audit.jsonl")).expect("audit");
    assert!(audit.contains("\"login\""), "{audit}");
    assert!(!audit.contains("correct horse"), "{audit}");
    assert!(audit.contains("unknown:"), "{audit}");
}

const REGISTRATION: &str = r#"
issuer: "http://127.0.0.1"
registration: { dynamic: true, registrationsPerHour: 3, maxUnverified: 4 }
resources:
  - { id: api, audience: "https://api.example", kind: api, scopes: [read] }
"#;

async fn register(
    http: &reqwest::Client,
    s: &Server,
    body: Value,
    token: Option<&str>,
) -> (u16, Value) {
    let mut request = http.post(format!("{}/register", s.base)).json(&body);
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    let response = request.send().await.expect("register");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn dynamic_registration_is_rate_limited_capped_and_public_clients_stay_public() {
    let s = start("sec-dcr", REGISTRATION, None).await;
    let body =
        json!({ "redirect_uris": ["http://127.0.0.1:9/cb"], "token_endpoint_auth_method": "none" });
    // A public client asking for client credentials is refused.
    let (status, answer) = register(
        &client_from([127, 0, 0, 60]),
        &s,
        json!({ "redirect_uris": ["http://127.0.0.1:9/cb"], "token_endpoint_auth_method": "none",
                "grant_types": ["authorization_code", "client_credentials"] }),
        None,
    )
    .await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (400, Some("invalid_client_metadata")),
        "{answer}"
    );
    // Three per hour from one address (the refused one above counted), then 429.
    let one = client_from([127, 0, 0, 61]);
    for _ in 0..3 {
        assert_eq!(register(&one, &s, body.clone(), None).await.0, 201);
    }
    let (status, answer) = register(&one, &s, body.clone(), None).await;
    assert_eq!(status, 429, "{answer}");
    // At most four unverified registrations in all.
    assert_eq!(
        register(&client_from([127, 0, 0, 62]), &s, body.clone(), None)
            .await
            .0,
        201
    );
    let (status, answer) = register(&client_from([127, 0, 0, 63]), &s, body.clone(), None).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (403, Some("access_denied")),
        "{answer}"
    );

    // With an initial access token configured, registration needs it (RFC 7591 §3).
    let closed = start(
        "sec-dcr-token",
        &REGISTRATION.replace(
            "dynamic: true,",
            "dynamic: true, initialAccessToken: iat-secret,",
        ),
        None,
    )
    .await;
    let http = client_from([127, 0, 0, 64]);
    assert_eq!(register(&http, &closed, body.clone(), None).await.0, 401);
    assert_eq!(
        register(&http, &closed, body.clone(), Some("wrong"))
            .await
            .0,
        401
    );
    assert_eq!(
        register(&http, &closed, body, Some("iat-secret")).await.0,
        201
    );
}

#[tokio::test]
async fn a_request_head_that_never_finishes_is_cut_off() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let s = start("sec-slowloris", &quickstart(), None).await;
    let addr = s.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    stream
        .write_all(b"POST /token HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    // M7: the server closes the connection once the header timeout (10 s) has passed.
    let mut buf = Vec::new();
    let closed = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        stream.read_to_end(&mut buf),
    )
    .await;
    assert!(
        closed.is_ok(),
        "the half-sent request was still open after 30 s"
    );
}

const IMPOSTOR: &str = r#"
issuer: "http://127.0.0.1"
registration: { dynamic: true }
clients:
  - { clientId: calendar-desktop, name: Calendar desktop assistant, tokenEndpointAuthMethod: none,
      grantTypes: [authorization_code], redirectUris: ["http://127.0.0.1:9/cb"] }
resources:
  - { id: api, audience: "https://api.example", kind: api, scopes: [read] }
"#;

#[tokio::test]
async fn a_registered_client_cannot_take_a_configured_clients_name() {
    let s = start("sec-impostor", IMPOSTOR, None).await;
    let http = client_from([127, 0, 0, 70]);
    // L7: the configured client's name, in any case, is refused; so is the same name with other
    // or more spaces or with characters that show nothing, and the configured client's id.
    for name in [
        "calendar DESKTOP assistant",
        "Calendar\u{a0}desktop assistant",
        "Calendar desktop assistant\u{200b}",
        "Calendar\u{200d}desktop\u{feff} assistant",
        " calendar  desktop   assistant ",
        "calendar-desktop",
    ] {
        let (status, answer) = register(
            &http,
            &s,
            json!({ "redirect_uris": ["http://127.0.0.1:9/evil"], "token_endpoint_auth_method": "none",
                    "client_name": name }),
            None,
        )
        .await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (400, Some("invalid_client_metadata")),
            "{name:?}: {answer}"
        );
    }
    // A registration body over the server's limit is the registration error (413, JSON).
    let response = http
        .post(format!("{}/register", s.base))
        .header("content-type", "application/json")
        .body(format!("{{\"client_name\": \"{}\"}}", "n".repeat(3 << 20)))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 413);
    let answer: Value = response.json().await.expect("JSON");
    assert_eq!(answer["error"], "invalid_client_metadata", "{answer}");
    let (status, _) = register(
        &http,
        &s,
        json!({ "redirect_uris": ["http://127.0.0.1:9/evil"], "token_endpoint_auth_method": "none",
                "client_name": "Another assistant" }),
        None,
    )
    .await;
    assert_eq!(status, 201);
}

/// An identity provider trusted for ID-JAGs (enterprise-managed authorization), another trusted
/// for plain assertions, and two resources.
const ID_JAG: &str = r#"
issuer: "http://127.0.0.1"
clients:
  - { clientId: assistant, secret: assistant-secret, grantTypes: [jwt_bearer, refresh_token] }
  - { clientId: other-agent, secret: other-secret, grantTypes: [jwt_bearer] }
resources:
  - { id: calendar, audience: "https://calendar.example.com", kind: mcp, scopes: ["calendar:read", "calendar:write"] }
  - { id: files, audience: "https://files.example.com", kind: mcp, scopes: ["files:read"] }
policies:
  - id: assistants
    grantTypes: [jwt_bearer]
    targets: [ { resource: calendar, scopes: "*" }, { resource: files, scopes: "*" } ]
"#;

#[tokio::test]
async fn an_id_jag_is_accepted_only_as_the_profile_says() {
    let idp = tollgate::keys::generate(tollgate::config::SigningAlgorithm::ES256, 0).expect("key");
    let plain =
        tollgate::keys::generate(tollgate::config::SigningAlgorithm::ES256, 0).expect("key");
    let stranger =
        tollgate::keys::generate(tollgate::config::SigningAlgorithm::ES256, 0).expect("key");
    let config = format!(
        "{ID_JAG}trustedIssuers:\n  - {{ issuer: \"https://idp.example.com\", idJag: true, jwks: {{ keys: [{}] }} }}\n  - {{ issuer: \"https://plain.example.com\", jwks: {{ keys: [{}] }} }}\n",
        idp.public_jwk, plain.public_jwk
    );
    let s = start("sec-id-jag", &config, None).await;
    let sign = |key: &tollgate::store::StoredKey, typ: Option<&str>, claims: Value| {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(key.kid.clone());
        header.typ = typ.map(str::to_owned);
        let pem = jsonwebtoken::EncodingKey::from_ec_pem(key.private_pem.as_bytes()).expect("pem");
        jsonwebtoken::encode(&header, &claims, &pem).expect("sign")
    };
    let jag = |jti: &str| {
        json!({ "iss": "https://idp.example.com", "sub": "u-1", "aud": s.base,
                "client_id": "assistant", "jti": jti, "iat": now(), "exp": now() + 120,
                "resource": "https://calendar.example.com", "scope": "calendar:read" })
    };
    let grant = |assertion: String,
                 client: (&'static str, &'static str),
                 extra: Vec<(&'static str, &'static str)>| {
        let url = format!("{}/token", s.base);
        async move {
            let mut form = vec![
                ("grant_type", JWT_BEARER),
                ("assertion", assertion.as_str()),
            ];
            form.extend(extra);
            let (status, _, body) = post(&url, Some(client), &form).await;
            (status, body)
        }
    };
    let assistant = ("assistant", "assistant-secret");
    let typ = Some("oauth-id-jag+jwt");

    // The metadata says so.
    let metadata: Value =
        reqwest::get(format!("{}/.well-known/oauth-authorization-server", s.base))
            .await
            .expect("metadata")
            .json()
            .await
            .expect("JSON");
    assert_eq!(
        metadata["authorization_grant_profiles_supported"],
        json!(["urn:ietf:params:oauth:grant-profile:id-jag"])
    );

    // A good one: the token is for the ID-JAG's resource, its scopes are requested ∩ the
    // ID-JAG's (∩ policy), and no refresh token comes with it.
    let (status, body) = grant(
        sign(&idp, typ, jag("good")),
        assistant,
        vec![("scope", "calendar:read calendar:write")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "calendar:read");
    assert!(body.get("refresh_token").is_none(), "{body}");
    let token = claims(body["access_token"].as_str().expect("a token"));
    assert_eq!(token["aud"], "https://calendar.example.com");
    assert_eq!(token["sub"], "u-1");
    // Without `scope`, the ID-JAG's scopes.
    let (status, body) = grant(sign(&idp, typ, jag("no-scope")), assistant, vec![]).await;
    assert_eq!(
        (status, body["scope"].as_str()),
        (200, Some("calendar:read")),
        "{body}"
    );

    // Refused, each with invalid_grant (or invalid_target / invalid_scope where the request, not
    // the ID-JAG, is wrong).
    let mut untyped = jag("untyped");
    untyped["jti"] = json!("untyped");
    let mut token_endpoint_aud = jag("aud-endpoint");
    token_endpoint_aud["aud"] = json!(format!("{}/token", s.base));
    let mut two_auds = jag("aud-two");
    two_auds["aud"] = json!([s.base, "https://elsewhere.example.com"]);
    let mut other_client = jag("other-client");
    other_client["client_id"] = json!("other-agent");
    let mut unknown_resource = jag("unknown-resource");
    unknown_resource["resource"] = json!("https://unknown.example.com");
    let mut expired = jag("expired");
    expired["iat"] = json!(now() - 600);
    expired["exp"] = json!(now() - 300);
    let mut from_plain = jag("from-plain");
    from_plain["iss"] = json!("https://plain.example.com");
    // (why, assertion, extra parameters, error, words of its description)
    type Case = (
        &'static str,
        String,
        Vec<(&'static str, &'static str)>,
        &'static str,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (
            "not typed as an ID-JAG",
            sign(&idp, None, untyped),
            vec![],
            "invalid_grant",
            "must be an ID-JAG",
        ),
        (
            "for the token endpoint",
            sign(&idp, typ, token_endpoint_aud),
            vec![],
            "invalid_grant",
            "not valid",
        ),
        (
            "for two audiences",
            sign(&idp, typ, two_auds),
            vec![],
            "invalid_grant",
            "issuer, alone",
        ),
        (
            "issued to another client",
            sign(&idp, typ, other_client),
            vec![],
            "invalid_grant",
            "another client",
        ),
        (
            "for a resource not here",
            sign(&idp, typ, unknown_resource),
            vec![],
            "invalid_grant",
            "not a resource of this server",
        ),
        (
            "expired",
            sign(&idp, typ, expired),
            vec![],
            "invalid_grant",
            "not valid",
        ),
        (
            "forged",
            sign(&stranger, typ, jag("forged")),
            vec![],
            "invalid_grant",
            "not valid",
        ),
        (
            "replayed",
            sign(&idp, typ, jag("good")),
            vec![],
            "invalid_grant",
            "already used",
        ),
        (
            "an ID-JAG from an issuer not trusted for them",
            sign(&plain, typ, from_plain),
            vec![],
            "invalid_grant",
            "not trusted for ID-JAGs",
        ),
        (
            "asking for another resource",
            sign(&idp, typ, jag("other-resource")),
            vec![("resource", "https://files.example.com")],
            "invalid_target",
            "the ID-JAG is for",
        ),
        (
            "asking only for scopes the ID-JAG lacks",
            sign(&idp, typ, jag("other-scope")),
            vec![("scope", "calendar:write")],
            "invalid_scope",
            "none of the requested scopes",
        ),
    ];
    for (why, assertion, extra, error, words) in cases {
        let (status, body) = grant(assertion, assistant, extra).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some(error)),
            "{why}: {body}"
        );
        assert!(
            body["error_description"]
                .as_str()
                .unwrap_or_default()
                .contains(words),
            "{why}: {body}"
        );
    }
}

#[tokio::test]
async fn an_id_jag_goes_from_one_tollgate_to_another() {
    // The authorization server (the MCP server's) listens first, so that the identity provider's
    // configuration can name it.
    let as_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let as_issuer = format!("http://{}", as_listener.local_addr().expect("addr"));
    // The identity provider: a user signs in there (here: an assertion of a test issuer), the
    // client gets an access token, and exchanges it for an ID-JAG for the authorization server.
    let upstream =
        tollgate::keys::generate(tollgate::config::SigningAlgorithm::ES256, 0).expect("key");
    let idp_config = format!(
        r#"
issuer: "http://127.0.0.1"
clients:
  - {{ clientId: assistant, secret: assistant-secret, grantTypes: [jwt_bearer, token_exchange] }}
users:
  - {{ sub: u-1, username: ann, roles: [Scheduler] }}
  - {{ sub: u-2, username: bob, roles: [viewer] }}
resources:
  - {{ id: assistant-api, audience: "https://assistant.example.com", kind: api, scopes: [use] }}
  - {{ id: remote-calendar, audience: "https://calendar.example.com", kind: mcp, scopes: ["calendar:read", "calendar:write"] }}
policies:
  - id: sign-in
    grantTypes: [jwt_bearer]
    targets: [ {{ resource: assistant-api, scopes: [use] }} ]
  - id: schedulers-write-the-calendar
    subject: {{ conditions: [ {{ key: user.roles, op: contains, value: Scheduler }} ] }}
    grantTypes: [token_exchange]
    targets: [ {{ resource: remote-calendar, scopes: "*" }} ]
  - id: everyone-reads-the-calendar
    grantTypes: [token_exchange]
    targets: [ {{ resource: remote-calendar, scopes: ["calendar:read"] }} ]
trustedIssuers:
  - {{ issuer: "https://login.example.com", jwks: {{ keys: [{}] }} }}
idJagAudiences:
  - {{ issuer: "{as_issuer}", resources: [remote-calendar] }}
"#,
        upstream.public_jwk
    );
    let idp = start("sec-id-jag-idp", &idp_config, None).await;
    let idp_jwks: Value = reqwest::get(format!("{}/jwks", idp.base))
        .await
        .expect("jwks")
        .json()
        .await
        .expect("JSON");
    let as_config = format!(
        r#"
issuer: "http://127.0.0.1"
clients:
  - {{ clientId: assistant, secret: assistant-secret, grantTypes: [jwt_bearer] }}
resources:
  - {{ id: calendar, audience: "https://calendar.example.com", kind: mcp, scopes: ["calendar:read", "calendar:write"] }}
policies:
  - id: enterprise-users
    grantTypes: [jwt_bearer]
    targets: [ {{ resource: calendar, scopes: "*" }} ]
trustedIssuers:
  - {{ issuer: "{}", idJag: true, jwks: {} }}
"#,
        idp.base, idp_jwks
    );
    let authz = common::start_bound(as_listener, "sec-id-jag-as", &as_config, None).await;
    assert_eq!(authz.base, as_issuer);

    let metadata: Value = reqwest::get(format!(
        "{}/.well-known/oauth-authorization-server",
        idp.base
    ))
    .await
    .expect("metadata")
    .json()
    .await
    .expect("JSON");
    assert_eq!(
        metadata["identity_chaining_requested_token_types_supported"],
        json!(["urn:ietf:params:oauth:token-type:id-jag"])
    );

    let client = Some(("assistant", "assistant-secret"));
    let user_token = |sub: &'static str, jti: &'static str| {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(upstream.kid.clone());
        let pem =
            jsonwebtoken::EncodingKey::from_ec_pem(upstream.private_pem.as_bytes()).expect("pem");
        let assertion = jsonwebtoken::encode(
            &header,
            &json!({ "iss": "https://login.example.com", "sub": sub, "aud": idp.base,
                     "iat": now(), "exp": now() + 120, "jti": jti }),
            &pem,
        )
        .expect("sign");
        let url = format!("{}/token", idp.base);
        async move {
            let (status, _, body) = post(
                &url,
                client,
                &[
                    ("grant_type", JWT_BEARER),
                    ("assertion", &assertion),
                    ("resource", "https://assistant.example.com"),
                ],
            )
            .await;
            assert_eq!(status, 200, "{body}");
            body["access_token"].as_str().expect("a token").to_owned()
        }
    };
    let exchange_for = |audience: String, subject: String, extra: Vec<(&'static str, String)>| {
        let url = format!("{}/token", idp.base);
        async move {
            let mut form: Vec<(&str, String)> = vec![
                ("grant_type", TOKEN_EXCHANGE.to_owned()),
                ("subject_token", subject),
                (
                    "subject_token_type",
                    "urn:ietf:params:oauth:token-type:access_token".to_owned(),
                ),
                (
                    "requested_token_type",
                    "urn:ietf:params:oauth:token-type:id-jag".to_owned(),
                ),
                ("audience", audience),
            ];
            form.extend(extra);
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (status, _, body) = post(&url, client, &pairs).await;
            (status, body)
        }
    };
    let exchange = |subject: String, extra: Vec<(&'static str, String)>| {
        exchange_for(as_issuer.clone(), subject, extra)
    };
    let redeem = |id_jag: String, scope: Option<&'static str>| {
        let url = format!("{}/token", authz.base);
        async move {
            let mut form = vec![("grant_type", JWT_BEARER), ("assertion", id_jag.as_str())];
            if let Some(scope) = scope {
                form.push(("scope", scope));
            }
            let (status, _, body) = post(&url, client, &form).await;
            (status, body)
        }
    };

    // A scheduler: the identity provider's policies give the calendar, read and write.
    let ann = user_token("u-1", "ann-1").await;
    let (status, issued) = exchange(
        ann.clone(),
        vec![("resource", "https://calendar.example.com".to_owned())],
    )
    .await;
    assert_eq!(status, 200, "{issued}");
    assert_eq!(
        issued["issued_token_type"],
        "urn:ietf:params:oauth:token-type:id-jag"
    );
    assert_eq!(issued["token_type"], "N_A");
    assert!(issued.get("refresh_token").is_none());
    let id_jag = issued["access_token"]
        .as_str()
        .expect("an ID-JAG")
        .to_owned();
    let header = jsonwebtoken::decode_header(&id_jag).expect("a JWT");
    assert_eq!(header.typ.as_deref(), Some("oauth-id-jag+jwt"));
    let body = claims(&id_jag);
    assert_eq!(body["aud"], as_issuer);
    assert_eq!(body["client_id"], "assistant");
    assert_eq!(body["sub"], "u-1");
    assert_eq!(body["resource"], "https://calendar.example.com");
    assert_eq!(body["scope"], "calendar:read calendar:write");
    // The authorization server takes it once, for the calendar, with requested ∩ ID-JAG scopes.
    let (status, token) = redeem(id_jag.clone(), Some("calendar:write")).await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["scope"], "calendar:write");
    assert_eq!(
        claims(token["access_token"].as_str().expect("a token"))["aud"],
        "https://calendar.example.com"
    );
    let (status, replayed) = redeem(id_jag, None).await;
    assert_eq!(
        (status, replayed["error"].as_str()),
        (400, Some("invalid_grant")),
        "{replayed}"
    );

    // Someone else: only read, by the identity provider's policies.
    let bob = user_token("u-2", "bob-1").await;
    let (status, issued) = exchange(bob, vec![]).await;
    assert_eq!(status, 200, "{issued}");
    let (status, token) = redeem(
        issued["access_token"]
            .as_str()
            .expect("an ID-JAG")
            .to_owned(),
        None,
    )
    .await;
    assert_eq!(
        (status, token["scope"].as_str()),
        (200, Some("calendar:read")),
        "{token}"
    );

    // Refused at the identity provider: an audience it issues nothing for, a resource not of that
    // server.
    let (status, body) = exchange_for(
        "https://unknown.example.com".to_owned(),
        ann.clone(),
        vec![],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_target")),
        "{body}"
    );
    let (status, body) = exchange(
        ann.clone(),
        vec![("resource", "https://assistant.example.com".to_owned())],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_target")),
        "{body}"
    );
}

//! The admin API beyond the entity changes of `tests/server.rs`: signing key rotation (the new
//! key signs and is published at once), JSON errors for every refused request, and the OpenAPI
//! document.

#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests"
)]

mod common;

use common::{admin, claims, post, start};
use serde_json::{Value, json};

fn quickstart() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/quickstart/tollgate.yaml"
    ))
    .expect("quickstart config")
}

/// The `kid` of a JWT's header.
fn kid(jwt: &str) -> String {
    use base64::Engine as _;
    let header = jwt.split('.').next().expect("a JWT");
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .expect("base64"),
    )
    .expect("JSON");
    header["kid"].as_str().expect("kid").to_owned()
}

async fn token(s: &common::Server) -> String {
    let (status, _, body) = post(
        &format!("{}/token", s.base),
        Some(("reconcile-worker", "reconcile-dev-secret")),
        &[
            ("grant_type", "client_credentials"),
            ("resource", "https://billing.example.com"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().expect("token").to_owned()
}

#[tokio::test]
async fn a_rotated_key_signs_the_next_token_and_is_published_with_the_old_one() {
    let s = start("admin-rotate", &quickstart(), Some("admin-secret")).await;
    let before = token(&s).await;
    let old = kid(&before);
    assert_eq!(common::published_kids(&s).await, vec![old.clone()]);

    // Without a body: the configured algorithm (ES256 in the quickstart).
    let (status, body) = admin(&s, reqwest::Method::POST, "/admin/keys/rotate", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["algorithm"], "ES256");
    let new = body["kid"].as_str().expect("kid").to_owned();
    assert_ne!(new, old);
    let after = token(&s).await;
    assert_eq!(
        kid(&after),
        new,
        "the server signs with the new key at once"
    );
    let published = common::published_kids(&s).await;
    assert!(
        published.contains(&old) && published.contains(&new),
        "{published:?}"
    );
    // The token signed with the old key is still good.
    let (status, _, answer) = post(
        &format!("{}/introspect", s.base),
        Some(("reconcile-worker", "reconcile-dev-secret")),
        &[("token", &before)],
    )
    .await;
    assert_eq!((status, &answer["active"]), (200, &json!(true)), "{answer}");
    assert_eq!(claims(&after)["client_id"], "reconcile-worker");

    // With an algorithm, and the audit trail records the rotation.
    let (status, body) = admin(
        &s,
        reqwest::Method::POST,
        "/admin/keys/rotate",
        Some(json!({ "algorithm": "EdDSA" })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["algorithm"], "EdDSA");
    let eddsa = token(&s).await;
    assert_eq!(kid(&eddsa), body["kid"].as_str().expect("kid"));
    let (status, events) = admin(&s, reqwest::Method::GET, "/admin/audit?limit=1000", None).await;
    assert_eq!(status, 200);
    let rotations = events
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["event"] == "key_rotation")
        .count();
    assert_eq!(rotations, 2, "{events}");

    // An unknown algorithm is refused with the field's path.
    let (status, body) = admin(
        &s,
        reqwest::Method::POST,
        "/admin/keys/rotate",
        Some(json!({ "algorithm": "HS256" })),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["path"], "body.algorithm", "{body}");
}

#[tokio::test]
async fn the_admin_api_refuses_in_json_with_the_path_of_what_is_wrong() {
    let s = start("admin-errors", &quickstart(), Some("admin-secret")).await;
    let http = reqwest::Client::new();
    let send = |method: reqwest::Method, path: &str, content_type: Option<&str>, body: &str| {
        let mut request = http
            .request(method, format!("{}{path}", s.base))
            .bearer_auth("admin-secret")
            .body(body.to_owned());
        if let Some(t) = content_type {
            request = request.header("content-type", t);
        }
        request.send()
    };
    for (method, path, content_type, body, status, error_path) in [
        (
            reqwest::Method::POST,
            "/admin/clients",
            Some("application/json"),
            "{not json",
            400,
            "body",
        ),
        (
            reqwest::Method::POST,
            "/admin/clients",
            Some("application/json"),
            r#"{"clientId": "x", "grantTypes": ["password"]}"#,
            400,
            "body.grantTypes[0]",
        ),
        (
            reqwest::Method::POST,
            "/admin/clients",
            Some("text/plain"),
            "{}",
            415,
            "",
        ),
        (
            reqwest::Method::PUT,
            "/admin/nonsense/x",
            Some("application/json"),
            "{}",
            404,
            "",
        ),
        (
            reqwest::Method::GET,
            "/admin/audit?limit=notanumber",
            None,
            "",
            400,
            "limit",
        ),
        (
            reqwest::Method::PUT,
            "/admin/policies/etl",
            Some("application/json"),
            r#"{"id": "other", "targets": [{"resource": "billing-api"}]}"#,
            404,
            "",
        ),
    ] {
        let response = send(method.clone(), path, content_type, body)
            .await
            .expect("request");
        assert_eq!(response.status().as_u16(), status, "{method} {path} {body}");
        assert_eq!(
            response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/json"),
            "{method} {path}"
        );
        let answer: Value = response.json().await.expect("JSON");
        assert!(answer["error"].is_string(), "{answer}");
        if !error_path.is_empty() {
            assert_eq!(answer["errors"][0]["path"], error_path, "{answer}");
        }
    }
}

#[tokio::test]
async fn the_openapi_document_is_public_and_describes_the_types() {
    let s = start("admin-openapi", &quickstart(), Some("admin-secret")).await;
    let document: Value = reqwest::get(format!("{}/admin/openapi.json", s.base))
        .await
        .expect("openapi")
        .json()
        .await
        .expect("JSON");
    assert_eq!(document["openapi"], "3.1.0");
    let schemas = &document["components"]["schemas"];
    assert_eq!(
        schemas["TokenEndpointAuthMethod"]["enum"],
        json!([
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
            "none"
        ])
    );
    assert_eq!(schemas["ClientConfig"]["required"], json!(["clientId"]));
    assert_eq!(
        document["components"]["securitySchemes"]["admin"]["scheme"],
        "bearer"
    );
    assert!(document["paths"]["/admin/keys/rotate"]["post"].is_object());
    assert!(
        document["paths"]["/admin/clients"]["post"]["responses"]["401"].is_object(),
        "every operation documents the missing token"
    );
    // Nothing of this server's configuration or secrets.
    let text = document.to_string();
    for secret in ["admin-secret", "reconcile-worker", "reconcile-dev-secret"] {
        assert!(!text.contains(secret), "the document shows `{secret}`");
    }
    // Off without an admin token, like the rest of the API.
    let off = start("admin-openapi-off", &quickstart(), None).await;
    let status = reqwest::get(format!("{}/admin/openapi.json", off.base))
        .await
        .expect("openapi")
        .status();
    assert_eq!(status.as_u16(), 404);
}

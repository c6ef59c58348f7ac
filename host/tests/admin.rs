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

/// The status of an admin request.
async fn answer_status(
    s: &common::Server,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> u16 {
    admin(s, method, path, body).await.0
}

/// The answer of `tollgate policy reach --config FILE ARGS...`, as JSON.
fn reach_cli(config: &std::path::Path, args: &[&str]) -> (bool, Value, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(["policy", "reach", "--config"])
        .arg(config)
        .args(args)
        .output()
        .expect("tollgate runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (output.status.success(), json, stderr)
}

#[tokio::test]
async fn reach_answers_the_same_over_http_and_on_the_command_line() {
    let s = start("admin-reach", &quickstart(), Some("admin-secret")).await;
    let reach = |body: Value| {
        let s = &s;
        async move { admin(s, reqwest::Method::POST, "/admin/reach", Some(body)).await }
    };

    // The ops agent on its own: what its policy and the agents' policy give it.
    let (status, ops) = reach(json!({ "client": "ops-agent" })).await;
    assert_eq!(status, 200, "{ops}");
    assert!(ops["policyVersion"].as_u64().is_some());
    assert_eq!(
        ops["grants"],
        json!([ { "grantType": "client_credentials", "targets": [
            { "resource": "analytics-mcp", "scopes": [
                { "scope": "analytics:query", "by": ["agents-reach-analytics-mcp"] } ] },
            { "resource": "incidents-api", "scopes": [
                { "scope": "incidents:read", "by": ["ops-agent-autonomous"] },
                { "scope": "metrics:read", "by": ["ops-agent-autonomous"] } ] } ] } ])
    );
    // The worker's configuration narrows what its policy gives; the inventory bot's grant
    // depends on the request's address and time.
    let (_, worker) = reach(json!({ "client": "reconcile-worker" })).await;
    assert_eq!(worker["grants"][0]["targets"][0]["resource"], "billing-api");
    let scopes: Vec<&str> = worker["grants"][0]["targets"][0]["scopes"]
        .as_array()
        .expect("scopes")
        .iter()
        .map(|s| s["scope"].as_str().expect("scope"))
        .collect();
    assert_eq!(scopes, ["ledger:read", "ledger:write"]);
    let (_, bot) = reach(json!({ "client": "inventory-bot" })).await;
    let stock = &bot["grants"][0]["targets"][0]["scopes"][0];
    assert_eq!(stock["scope"], "stock:read");
    assert_eq!(stock["by"], json!([]));
    assert_eq!(stock["conditional"][0]["policy"], "inventory-night-shift");
    assert_eq!(
        stock["conditional"][0]["conditions"]
            .as_array()
            .expect("conditions")
            .len(),
        2
    );
    // Only the grant types the client may use: the MCP server exchanges, nothing else.
    let (_, mcp) =
        reach(json!({ "client": "analytics-mcp", "grantType": "client_credentials" })).await;
    assert_eq!(mcp["grants"], json!([]));

    // Who can query the analytics MCP server: the two agents, under client credentials.
    let (status, who) =
        reach(json!({ "target": "analytics-mcp", "scope": "analytics:query" })).await;
    assert_eq!(status, 200, "{who}");
    let first_who = who.clone();
    assert_eq!(who["resource"], "analytics-mcp");
    assert_eq!(
        who["holders"],
        json!([
            { "grantType": "client_credentials", "client": "ops-agent", "by": ["agents-reach-analytics-mcp"] },
            { "grantType": "client_credentials", "client": "report-agent", "by": ["agents-reach-analytics-mcp"] },
        ])
    );

    // A client added through the admin API, with who is accountable for it.
    let agent = json!({ "clientId": "triage-agent", "secret": "triage-dev-secret",
        "grantTypes": ["client_credentials"], "tags": ["agent"], "owner": "sre-team@example.com" });
    assert_eq!(
        answer_status(&s, reqwest::Method::POST, "/admin/clients", Some(agent)).await,
        201
    );
    let (_, stored) = admin(
        &s,
        reqwest::Method::GET,
        "/admin/clients/triage-agent",
        None,
    )
    .await;
    assert_eq!(stored["owner"], "sre-team@example.com");
    let (_, who) = reach(json!({ "target": "analytics-mcp", "scope": "analytics:query" })).await;
    assert_eq!(who["holders"].as_array().map(Vec::len), Some(3), "{who}");

    // A user added through the admin API is in the directory reach reads: the exchange for the
    // analytics API may carry one (the policy's condition is on the actor, request data).
    let user = json!({ "sub": "u-7", "roles": ["analyst"] });
    assert_eq!(
        answer_status(&s, reqwest::Method::POST, "/admin/users", Some(user)).await,
        201
    );
    let (_, who) =
        reach(json!({ "target": { "resource": "analytics-api" }, "scope": "reports:read" })).await;
    let holders: Vec<(&str, Option<&str>)> = who["holders"]
        .as_array()
        .expect("holders")
        .iter()
        .map(|h| (h["client"].as_str().expect("client"), h["user"].as_str()))
        .collect();
    // The quick start's console users are in the directory too.
    assert_eq!(
        holders,
        [
            ("analytics-mcp", None),
            ("analytics-mcp", Some("u-7")),
            ("analytics-mcp", Some("u-ada")),
            ("analytics-mcp", Some("u-audrey"))
        ]
    );
    assert_eq!(
        who["holders"][1]["conditional"][0]["conditions"],
        json!(["condition 0: actor.clientid equal analytics-mcp"])
    );

    // Questions that cannot be answered, each with the path of what is wrong.
    for (body, status, path) in [
        (json!({}), 400, "body"),
        (
            json!({ "client": "ops-agent", "target": "billing-api" }),
            400,
            "body",
        ),
        (
            json!({ "client": "ops-agent", "scope": "ledger:read" }),
            400,
            "body.scope",
        ),
        (
            json!({ "target": "billing-api", "user": "u-7", "scope": "ledger:read" }),
            400,
            "body.user",
        ),
        (
            json!({ "target": "billing-api", "scope": "ledger:nope" }),
            400,
            "body.scope",
        ),
        (json!({ "target": "billing-api" }), 400, "body.scope"),
        (
            json!({ "client": "ops-agent", "grantType": "password" }),
            400,
            "",
        ),
        (json!({ "client": "ops-agent", "colour": "red" }), 400, ""),
        (json!({ "client": "nobody" }), 404, ""),
        (json!({ "client": "ops-agent", "user": "nobody" }), 404, ""),
        (json!({ "target": "ghost-api", "scope": "x" }), 404, ""),
    ] {
        let (got, answer) = reach(body.clone()).await;
        assert_eq!(got, status, "{body}: {answer}");
        if !path.is_empty() {
            assert_eq!(answer["errors"][0]["path"], path, "{body}: {answer}");
        }
    }

    // The command line reads the configuration file and gives the same answers as the server did
    // before the admin API added a client and a user (which are not in the file).
    let config = s.dir.0.join("quickstart.yaml");
    std::fs::write(&config, quickstart()).expect("config file");
    let without_version = |mut v: Value| {
        v.as_object_mut().expect("object").remove("policyVersion");
        v
    };
    let (ok, cli, stderr) = reach_cli(&config, &["--client", "ops-agent"]);
    assert!(ok, "{stderr}");
    assert_eq!(cli, without_version(ops));
    let http = first_who;
    let (ok, cli, stderr) = reach_cli(
        &config,
        &["--target", "analytics-mcp", "--scope", "analytics:query"],
    );
    assert!(ok, "{stderr}");
    assert_eq!(cli, without_version(http));
    let (ok, _, stderr) = reach_cli(&config, &["--client", "nobody"]);
    assert!(!ok);
    assert!(stderr.contains("no client `nobody`"), "{stderr}");
    let (ok, _, stderr) = reach_cli(
        &config,
        &["--client", "ops-agent", "--target", "billing-api"],
    );
    assert!(!ok);
    assert!(stderr.contains("cannot be used with"), "{stderr}");
}

#[tokio::test]
async fn a_policy_change_is_previewed_before_it_is_saved() {
    let s = start("admin-preview", &quickstart(), Some("admin-secret")).await;
    let preview = |body: Value| {
        let s = &s;
        async move { admin(s, reqwest::Method::POST, "/admin/preview", Some(body)).await }
    };
    let draft = json!({ "id": "report-agent-reads-reports",
        "subject": { "clients": ["report-agent"] }, "grantTypes": ["client_credentials"],
        "targets": [ { "resource": "analytics-api", "scopes": ["reports:read"] } ] });
    let request = json!({ "grantType": "client_credentials",
        "client": { "clientId": "report-agent", "tags": ["agent"] },
        "target": { "resource": "analytics-api" }, "requestedScopes": ["reports:read"] });

    // Creating it: exactly one combination gains, and the request flips from refused to granted.
    let (status, answer) = preview(json!({ "policy": draft, "request": request })).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["change"], "create");
    assert_eq!(
        answer["gained"],
        json!([ { "grantType": "client_credentials", "client": "report-agent",
                  "resource": "analytics-api", "scope": "reports:read",
                  "before": "none", "after": "certain", "by": ["report-agent-reads-reports"] } ])
    );
    assert_eq!(answer["lost"], json!([]));
    // Counted too: one row, one combination, no user.
    assert_eq!(answer["listed"], true);
    assert_eq!(
        answer["summary"],
        json!({ "gained": 1, "lost": 0, "changed": 0, "rows": [
            { "grantType": "client_credentials", "client": "report-agent",
              "resource": "analytics-api", "scope": "reports:read",
              "gained": { "withoutUser": true, "users": 0, "examples": [] },
              "lost": { "withoutUser": false, "users": 0, "examples": [] },
              "changed": { "withoutUser": false, "users": 0, "examples": [] } } ] })
    );
    assert_eq!(answer["decisions"]["current"]["permitted"], false);
    assert_eq!(
        answer["decisions"]["draft"]["granted"],
        json!(["reports:read"])
    );
    // Nothing was stored: the policy does not exist, the token is still refused.
    let (status, _) = admin(
        &s,
        reqwest::Method::GET,
        "/admin/policies/report-agent-reads-reports",
        None,
    )
    .await;
    assert_eq!(status, 404);

    // The configuration file's policies are read-only here: their changes cannot be saved, so
    // they are not previewed either.
    let (status, answer) = preview(json!({ "delete": "ops-agent-autonomous" })).await;
    assert_eq!(status, 409, "{answer}");

    // A policy of the admin API: the inventory bot in office hours, from the office network.
    let day = json!({ "id": "inventory-day-shift", "subject": { "clients": ["inventory-bot"],
        "conditions": [ { "key": "request.ip", "op": "inCidr", "values": ["10.20.0.0/16"] } ] },
        "grantTypes": ["client_credentials"],
        "targets": [ { "resource": "inventory-api", "scopes": ["stock:read"] } ] });
    assert_eq!(
        answer_status(
            &s,
            reqwest::Method::POST,
            "/admin/policies",
            Some(day.clone())
        )
        .await,
        201
    );

    // Widening its network keeps the grant conditional: a change, neither gained nor lost.
    let mut wider = day.clone();
    wider["subject"]["conditions"][0]["values"] = json!(["10.0.0.0/8"]);
    let (status, answer) = preview(json!({ "policy": wider })).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["change"], "update");
    assert_eq!(answer["gained"], json!([]));
    assert_eq!(answer["lost"], json!([]));
    assert_eq!(answer["changed"][0]["scope"], "stock:read");
    assert_eq!(answer["changed"][0]["before"], "conditional");
    assert_eq!(answer["changed"][0]["after"], "conditional");
    assert!(
        answer["changed"][0]["conditional"]
            .to_string()
            .contains("10.0.0.0/8"),
        "{answer}"
    );

    // Dropping its condition: stock:read goes from conditional to certain.
    let mut open_policy = day.clone();
    open_policy["subject"] = json!({ "clients": ["inventory-bot"] });
    let (_, answer) = preview(json!({ "policy": open_policy })).await;
    let gained: Vec<(&str, &str, &str)> = answer["gained"]
        .as_array()
        .expect("gained")
        .iter()
        .map(|c| {
            (
                c["scope"].as_str().expect("scope"),
                c["before"].as_str().expect("before"),
                c["after"].as_str().expect("after"),
            )
        })
        .collect();
    assert_eq!(gained, [("stock:read", "conditional", "certain")]);
    assert_eq!(answer["gained"][0]["by"], json!(["inventory-day-shift"]));

    // Deleting it: the night shift's policy still gives stock:read under its conditions, so the
    // standing stays conditional, by one policy fewer.
    let (status, answer) = preview(json!({ "delete": "inventory-day-shift" })).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["change"], "delete");
    assert_eq!(answer["lost"], json!([]));
    assert_eq!(answer["changed"][0]["scope"], "stock:read");
    assert_eq!(
        answer["changed"][0]["conditional"][0]["policy"],
        "inventory-night-shift"
    );

    // A draft with two mistakes: both reported, each at its path in the draft.
    let (status, answer) = preview(json!({ "policy": { "id": "broken",
        "subject": { "conditions": [ { "key": "user.role", "op": "contains", "value": "SRE" } ] },
        "targets": [ { "resource": "analytics-api", "scopes": ["reports:nope"] } ] } }))
    .await;
    assert_eq!(status, 400, "{answer}");
    let paths: Vec<&str> = answer["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["path"].as_str().expect("path"))
        .collect();
    assert_eq!(
        paths,
        [
            "body.policy.subject.conditions[0].key",
            "body.policy.targets[0].scopes[0]"
        ],
        "{answer}"
    );
    for (body, status) in [
        (json!({}), 400),
        (json!({ "delete": "nope" }), 404),
        (
            json!({ "delete": "ops-agent-autonomous", "policy": draft }),
            400,
        ),
        (
            json!({ "delete": "ops-agent-autonomous", "request": { "grantType": "x" } }),
            400,
        ),
    ] {
        assert_eq!(preview(body.clone()).await.0, status, "{body}");
    }
}

#[tokio::test]
async fn a_disabled_client_obtains_nothing_and_its_tokens_are_inactive_for_good() {
    let s = start("admin-disable", &quickstart(), Some("admin-secret")).await;
    let agent = json!({ "clientId": "triage-agent", "secret": "triage-dev-secret",
        "grantTypes": ["client_credentials"], "tags": ["agent"], "owner": "sre-team" });
    assert_eq!(
        answer_status(
            &s,
            reqwest::Method::POST,
            "/admin/clients",
            Some(agent.clone())
        )
        .await,
        201
    );
    let token = || async {
        post(
            &format!("{}/token", s.base),
            Some(("triage-agent", "triage-dev-secret")),
            &[
                ("grant_type", "client_credentials"),
                ("resource", "https://analytics-mcp.example.com"),
            ],
        )
        .await
    };
    // The analytics MCP server serves that audience: it may introspect the agent's tokens.
    let active = |t: String| {
        let base = s.base.clone();
        async move {
            let (status, _, body) = post(
                &format!("{base}/introspect"),
                Some(("analytics-mcp", "analytics-mcp-dev-secret")),
                &[("token", &t)],
            )
            .await;
            assert_eq!(status, 200, "{body}");
            body["active"].as_bool().expect("active")
        }
    };
    let (status, _, body) = token().await;
    assert_eq!(status, 200, "{body}");
    let before = body["access_token"].as_str().expect("token").to_owned();
    assert!(active(before.clone()).await);

    // Disabled: no token, no reach, its token inactive.
    let (status, disabled) = admin(
        &s,
        reqwest::Method::POST,
        "/admin/clients/triage-agent/disable",
        None,
    )
    .await;
    assert_eq!(status, 200, "{disabled}");
    assert_eq!(disabled["disabled"], true);
    assert!(disabled["tokensNotBefore"].as_i64().is_some());
    let (status, _, body) = token().await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "invalid_client");
    assert!(!active(before.clone()).await);
    let (_, reach) = admin(
        &s,
        reqwest::Method::POST,
        "/admin/reach",
        Some(json!({ "client": "triage-agent" })),
    )
    .await;
    assert_eq!(reach["grants"], json!([]));

    // A replacement through the admin API keeps the state; only the actions change it.
    let (status, replaced) = admin(
        &s,
        reqwest::Method::PUT,
        "/admin/clients/triage-agent",
        Some(agent),
    )
    .await;
    assert_eq!(status, 200, "{replaced}");
    let (_, stored) = admin(
        &s,
        reqwest::Method::GET,
        "/admin/clients/triage-agent",
        None,
    )
    .await;
    assert_eq!(stored["disabled"], true, "{stored}");
    assert_eq!(stored["tokensNotBefore"], disabled["tokensNotBefore"]);

    // Enabled again: new tokens, but the old one stays inactive.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, enabled) = admin(
        &s,
        reqwest::Method::POST,
        "/admin/clients/triage-agent/enable",
        None,
    )
    .await;
    assert_eq!(status, 200, "{enabled}");
    assert!(enabled.get("disabled").is_none(), "{enabled}");
    let (status, _, body) = token().await;
    assert_eq!(status, 200, "{body}");
    let after = body["access_token"].as_str().expect("token").to_owned();
    assert!(active(after).await);
    assert!(!active(before).await);

    // Disabled, then deleted, then created again under the same id: the old token stays inactive
    // (a deleted client's tokens are; a new client honours nothing issued before it existed).
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (_, _, body) = token().await;
    let last = body["access_token"].as_str().expect("token").to_owned();
    assert!(active(last.clone()).await);
    assert_eq!(
        answer_status(
            &s,
            reqwest::Method::POST,
            "/admin/clients/triage-agent/disable",
            None
        )
        .await,
        200
    );
    assert_eq!(
        answer_status(
            &s,
            reqwest::Method::DELETE,
            "/admin/clients/triage-agent",
            None
        )
        .await,
        204
    );
    assert!(!active(last.clone()).await);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let again = json!({ "clientId": "triage-agent", "secret": "triage-dev-secret",
        "grantTypes": ["client_credentials"], "tags": ["agent"], "disabled": true,
        "tokensNotBefore": 0 });
    let (status, created) = admin(&s, reqwest::Method::POST, "/admin/clients", Some(again)).await;
    assert_eq!(status, 201, "{created}");
    let (_, stored) = admin(
        &s,
        reqwest::Method::GET,
        "/admin/clients/triage-agent",
        None,
    )
    .await;
    assert!(
        stored.get("disabled").is_none(),
        "created enabled whatever the body says: {stored}"
    );
    assert!(stored["tokensNotBefore"].as_i64().expect("cut-off") > 0);
    assert!(!active(last).await);
    let (status, _, body) = token().await;
    assert_eq!(status, 200, "{body}");

    // The configuration file's clients are disabled there.
    for path in [
        "/admin/clients/ops-agent/disable",
        "/admin/clients/ops-agent/enable",
    ] {
        assert_eq!(
            answer_status(&s, reqwest::Method::POST, path, None).await,
            409,
            "{path}"
        );
    }
    assert_eq!(
        answer_status(
            &s,
            reqwest::Method::POST,
            "/admin/clients/nobody/disable",
            None
        )
        .await,
        404
    );
}

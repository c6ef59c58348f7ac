//! The console over HTTP: sign-in and its cookie, the auditor's read-only role, CSRF and Origin
//! checks, escaping, and who the audit log names for a change. The browser suite
//! (tests/e2e/console.sh) drives the same pages in Chromium.

#![allow(clippy::expect_used, clippy::unwrap_used, reason = "test code")]

mod common;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use serde_json::Value;

const CONFIG: &str = r#"
issuer: "http://127.0.0.1:0"
console: { administrators: [u-ada], auditors: [u-audrey] }
users:
  - { sub: u-ada, username: ada, password: ada-pw }
  - { sub: u-audrey, username: audrey, password: audrey-pw }
  - { sub: u-sam, username: sam, password: sam-pw }
clients:
  - clientId: "evil<script>alert(\"x\")</script>' onfocus='x"
    name: "<script>alert(\"x\")</script>' onfocus='x"
    secret: s
    grantTypes: [client_credentials]
resources:
  - { id: billing, kind: api, audience: "https://billing.example.com", scopes: ["billing:read"] }
policies:
  - id: reads
    name: "<script>alert(\"x\")</script>' onfocus='x"
    targets: [ { resource: billing, scopes: ["billing:read"] } ]
"#;

/// A client that keeps no cookies and follows no redirect: each answer is looked at as sent.
fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Signs in; returns the console cookie (`name=value`).
async fn sign_in(base: &str, username: &str, password: &str) -> Result<String, StatusCode> {
    let response = http()
        .post(format!("{base}/console/login"))
        .header("origin", base)
        .form(&[
            ("username", username),
            ("password", password),
            ("next", "/console/agents"),
        ])
        .send()
        .await
        .expect("login");
    if response.status() != StatusCode::SEE_OTHER {
        return Err(response.status());
    }
    assert_eq!(response.headers()[LOCATION], "/console/agents");
    let cookie = response.headers()[SET_COOKIE]
        .to_str()
        .expect("ascii")
        .to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    Ok(cookie.split(';').next().expect("pair").to_owned())
}

async fn get(base: &str, path: &str, cookie: &str) -> (StatusCode, HeaderMap, String) {
    let response = http()
        .get(format!("{base}{path}"))
        .header("cookie", cookie)
        .send()
        .await
        .expect("get");
    let (status, headers) = (response.status(), response.headers().clone());
    (status, headers, response.text().await.expect("text"))
}

async fn post(
    base: &str,
    path: &str,
    cookie: &str,
    origin: Option<&str>,
    form: &[(&str, &str)],
) -> (StatusCode, String) {
    let mut request = http()
        .post(format!("{base}{path}"))
        .header("cookie", cookie)
        .form(form);
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    let response = request.send().await.expect("post");
    (response.status(), response.text().await.expect("text"))
}

/// The CSRF token of a page's forms.
fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    html[at..].split('"').next().expect("value").to_owned()
}

const PAGES: [&str; 11] = [
    "/console",
    "/console/policies",
    "/console/policies/new",
    "/console/policies/reads",
    "/console/policies/reads/history",
    "/console/agents",
    "/console/simulate",
    "/console/connections",
    "/console/audit",
    "/console/reach?target=resource%3Abilling&scope=billing%3Aread",
    "/console/reach?client=evil%3Cscript%3Ealert(%22x%22)%3C%2Fscript%3E%27%20onfocus%3D%27x",
];

#[tokio::test]
async fn signed_out_visitors_are_sent_to_sign_in_and_no_role_no_entry() {
    let server = common::start("console-signin", CONFIG, Some("admin-token")).await;
    let base = &server.base;
    let (status, headers, _) = get(base, "/console/policies", "").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers[LOCATION],
        "/console/login?next=%2Fconsole%2Fpolicies"
    );
    // A wrong password and a user without a console role read the same.
    assert_eq!(
        sign_in(base, "ada", "wrong").await,
        Err(StatusCode::UNAUTHORIZED)
    );
    assert_eq!(
        sign_in(base, "sam", "sam-pw").await,
        Err(StatusCode::UNAUTHORIZED)
    );
    // A sign-in from another site is refused, even with the right password.
    let response = http()
        .post(format!("{base}/console/login"))
        .header("origin", "https://evil.example")
        .form(&[("username", "ada"), ("password", "ada-pw")])
        .send()
        .await
        .expect("login");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // `next` goes to console pages only.
    let response = http()
        .post(format!("{base}/console/login"))
        .header("origin", base.as_str())
        .form(&[
            ("username", "ada"),
            ("password", "ada-pw"),
            ("next", "//evil.example/x"),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(response.headers()[LOCATION], "/console");
    // Signing out ends the session at the server.
    let cookie = sign_in(base, "ada", "ada-pw").await.expect("signed in");
    let (_, _, html) = get(base, "/console", &cookie).await;
    let csrf = csrf_of(&html);
    let (status, _) = post(
        base,
        "/console/logout",
        &cookie,
        Some(base),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        get(base, "/console", &cookie).await.0,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn an_auditor_reads_everything_and_changes_nothing() {
    let server = common::start("console-auditor", CONFIG, Some("admin-token")).await;
    let base = &server.base;
    let cookie = sign_in(base, "audrey", "audrey-pw")
        .await
        .expect("signed in");
    let mut csrf = String::new();
    for path in PAGES {
        let (status, headers, html) = get(base, path, &cookie).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(headers["cache-control"], "no-store", "{path}");
        let csp = headers["content-security-policy"].to_str().expect("ascii");
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
        assert_eq!(html.matches("<h1").count(), 1, "{path}");
        assert!(
            !html.contains("value=\"save\""),
            "{path}: a save button for an auditor"
        );
        csrf = csrf_of(&html);
    }
    let changes: [(&str, Vec<(&str, &str)>); 7] = [
        (
            "/console/policies/save",
            vec![
                ("action", "save"),
                ("id", "x"),
                ("target_0", "resource:billing"),
            ],
        ),
        (
            "/console/policies/save",
            vec![
                ("action", "save-dry-run"),
                ("id", "x"),
                ("target_0", "resource:billing"),
            ],
        ),
        (
            "/console/policies/save",
            vec![
                ("action", "yaml-save"),
                ("yaml", "id: y\ntargets: [{resource: billing}]"),
            ],
        ),
        ("/console/policies/reads/delete", vec![]),
        ("/console/agents/x/disable", vec![]),
        ("/console/agents/x/enable", vec![]),
        ("/console/agents/x/rotate-secret", vec![]),
    ];
    let before = server.core.policy.version();
    for (path, mut form) in changes {
        form.push(("csrf", &csrf));
        let (status, html) = post(base, path, &cookie, Some(base), &form).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert!(html.contains("Auditors cannot change anything"), "{path}");
    }
    assert_eq!(server.core.policy.version(), before);
    // A preview changes nothing: an auditor may run one.
    let (status, html) = post(
        base,
        "/console/policies/save",
        &cookie,
        Some(base),
        &[
            ("csrf", &csrf),
            ("action", "preview"),
            ("id", "p"),
            ("target_0", "resource:billing"),
            ("scopes_0", "billing:read"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("What saving would change"));
}

#[tokio::test]
async fn forged_posts_are_refused() {
    let server = common::start("console-forged", CONFIG, Some("admin-token")).await;
    let base = &server.base;
    let cookie = sign_in(base, "ada", "ada-pw").await.expect("signed in");
    let (_, _, html) = get(base, "/console/policies/new", &cookie).await;
    let csrf = csrf_of(&html);
    let form = |csrf: &str| {
        vec![
            ("csrf".to_owned(), csrf.to_owned()),
            ("action".to_owned(), "save".to_owned()),
            ("id".to_owned(), "forged".to_owned()),
            ("target_0".to_owned(), "resource:billing".to_owned()),
            ("scopes_0".to_owned(), "billing:read".to_owned()),
        ]
    };
    for (origin, token) in [
        (Some(base.as_str()), "not-the-token"),
        (Some("https://evil.example"), csrf.as_str()),
        (Some("null"), csrf.as_str()),
        (None, csrf.as_str()),
    ] {
        let fields = form(token);
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let (status, _) = post(base, "/console/policies/save", &cookie, origin, &pairs).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{origin:?} {token}");
    }
    // Without the session cookie: back to sign-in, nothing saved.
    let fields = form(&csrf);
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (status, _) = post(base, "/console/policies/save", "", Some(base), &pairs).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(
        server
            .core
            .store
            .get_entity(tollgate::store::Kind::Policy, "forged")
            .await
            .expect("read")
            .is_none()
    );
    // All right: saved, and the audit log names the console user.
    let (status, _) = post(base, "/console/policies/save", &cookie, Some(base), &pairs).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    server.core.audit.flush().await;
    let changes = changes_of(&server, "policy:forged").await;
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].body["by"], "console:u-ada");
    assert_eq!(changes[0].body["policy"]["id"], "forged");
    // The admin API's own changes say so.
    let response = reqwest::Client::new()
        .delete(format!("{base}/admin/policies/forged"))
        .bearer_auth("admin-token")
        .send()
        .await
        .expect("delete");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let changes = changes_of(&server, "policy:forged").await;
    assert_eq!(changes[0].body["by"], "admin-api");
    assert_eq!(changes[0].body.get("policy"), None::<&Value>);
}

#[tokio::test]
async fn a_save_does_not_overwrite_a_change_made_since_the_editor_opened() {
    let server = common::start("console-revision", CONFIG, Some("admin-token")).await;
    let base = &server.base;
    let cookie = sign_in(base, "ada", "ada-pw").await.expect("signed in");
    let policy = serde_json::json!({"id": "shared", "targets": [{"resource": "billing", "scopes": ["billing:read"]}]});
    let response = reqwest::Client::new()
        .post(format!("{base}/admin/policies"))
        .bearer_auth("admin-token")
        .json(&policy)
        .send()
        .await
        .expect("create");
    assert_eq!(response.status(), StatusCode::CREATED);
    let (_, _, html) = get(base, "/console/policies/shared", &cookie).await;
    let csrf = csrf_of(&html);
    let at = html.find("name=\"revision\" value=\"").expect("a revision") + 23;
    let revision = html[at..].split('"').next().expect("value").to_owned();
    assert_eq!(revision.len(), 16);
    // Someone else changes it meanwhile.
    let response = reqwest::Client::new()
        .put(format!("{base}/admin/policies/shared"))
        .bearer_auth("admin-token")
        .json(&serde_json::json!({"id": "shared", "mode": "dry-run",
            "targets": [{"resource": "billing", "scopes": ["billing:read"]}]}))
        .send()
        .await
        .expect("replace");
    assert_eq!(response.status(), StatusCode::OK);
    let form = [
        ("csrf", csrf.as_str()),
        ("action", "save"),
        ("original", "shared"),
        ("revision", revision.as_str()),
        ("id", "shared"),
        ("target_0", "resource:billing"),
        ("scopes_0", "billing:read"),
    ];
    let (status, html) = post(base, "/console/policies/save", &cookie, Some(base), &form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("has changed since you opened it"), "{html}");
    let (stored, _) = server
        .core
        .store
        .get_entity(tollgate::store::Kind::Policy, "shared")
        .await
        .expect("read")
        .expect("there");
    assert_eq!(stored["mode"], "dry-run");
    // Opened again, it saves.
    let (_, _, html) = get(base, "/console/policies/shared", &cookie).await;
    let at = html.find("name=\"revision\" value=\"").expect("a revision") + 23;
    let fresh = html[at..].split('"').next().expect("value").to_owned();
    let form = [
        ("csrf", csrf.as_str()),
        ("action", "save"),
        ("original", "shared"),
        ("revision", fresh.as_str()),
        ("id", "shared"),
        ("target_0", "resource:billing"),
        ("scopes_0", "billing:read"),
    ];
    let (status, _) = post(base, "/console/policies/save", &cookie, Some(base), &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

/// The audit log's changes of an entity (`policy:<id>`), newest first.
async fn changes_of(server: &common::Server, entity: &str) -> Vec<tollgate::store::AuditRecord> {
    server
        .core
        .store
        .audit_search(
            &tollgate::store::AuditFilter {
                entity: Some(entity.into()),
                ..Default::default()
            },
            10,
        )
        .await
        .expect("audit")
}

#[tokio::test]
async fn names_holding_markup_render_escaped_everywhere() {
    let server = common::start("console-escaping", CONFIG, Some("admin-token")).await;
    let base = &server.base;
    let cookie = sign_in(base, "ada", "ada-pw").await.expect("signed in");
    let agent = "/console/agents/evil%3Cscript%3Ealert(%22x%22)%3C%2Fscript%3E%27%20onfocus%3D%27x";
    for path in PAGES.iter().copied().chain([agent]) {
        let (status, _, html) = get(base, path, &cookie).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(!html.contains("<script>alert"), "{path}");
        assert!(!html.contains("' onfocus"), "{path}");
    }
}

#[tokio::test]
async fn the_simulator_takes_how_the_user_signed_in_and_names_what_a_new_sign_in_would_give() {
    let config = CONFIG
        .replacen(
            r#"scopes: ["billing:read"] }"#,
            r#"scopes: ["billing:read", "billing:write"] }"#,
            1,
        )
        .replace(
            "policies:\n",
            r#"policies:
  - id: fresh-writes
    subject:
      conditions:
        - { key: auth.methods, op: contains, value: otp }
        - { key: auth.age, op: lessThan, value: 300 }
    targets: [ { resource: billing, scopes: ["billing:write"] } ]
"#,
        );
    let server = common::start("console-sim-auth", &config, Some("admin-token")).await;
    let base = &server.base;
    let cookie = sign_in(base, "ada", "ada-pw").await.expect("signed in");
    let client = "evil%3Cscript%3Ealert(%22x%22)%3C%2Fscript%3E%27%20onfocus%3D%27x";
    let simulate = |extra: &str| {
        format!(
            "/console/simulate?sim_client={client}&sim_user=u-sam&sim_grant_type=authorization_code\
             &sim_target=resource%3Abilling&sim_scopes=billing%3Awrite{extra}"
        )
    };
    let (status, _, page) = get(base, &simulate("&sim_methods=pwd&sim_age=10"), &cookie).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Refused"), "{page}");
    assert!(
        page.contains("Step-up: fresh-writes would give billing:write after a new sign-in with otp, at most 299 s ago"),
        "{page}"
    );
    let (_, _, page) = get(base, &simulate("&sim_methods=pwd+otp&sim_age=10"), &cookie).await;
    assert!(page.contains("Permitted"), "{page}");
    let (_, _, page) = get(base, &simulate("&sim_age=soon"), &cookie).await;
    assert!(page.contains("is not a whole number of seconds"), "{page}");
}

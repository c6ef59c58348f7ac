//! The authorization code flow over real HTTP: the seed scenarios of examples/mcp-server (users,
//! consent limited by policy), refresh, dynamic registration, client ID metadata documents, and
//! the security table (PKCE, code replay, redirect URIs, CSRF, metadata document fetching).

#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "integration tests"
)]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use common::{Server, claims, post, start};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const EXAMPLE: &str = include_str!("../../examples/mcp-server/tollgate.yaml");
const CALENDAR: &str = "http://127.0.0.1:3001/mcp";
const DESKTOP_REDIRECT: &str = "http://127.0.0.1:33418/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

fn challenge(verifier: &str) -> String {
    B64.encode(Sha256::digest(verifier.as_bytes()))
}

fn example(extra: &str) -> String {
    format!("{EXAMPLE}\n{extra}")
}

/// A browser: one cookie, no automatic redirects.
struct Browser {
    http: reqwest::Client,
    cookie: Option<String>,
    base: String,
}

/// A page or a redirect.
struct Answer {
    status: StatusCode,
    location: Option<String>,
    body: String,
}

impl Browser {
    fn new(s: &Server) -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookie: None,
            base: s.base.clone(),
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Answer {
        let request = match &self.cookie {
            Some(c) => request.header("cookie", format!("tollgate_session={c}")),
            None => request,
        };
        let response = request.send().await.expect("request");
        for value in response.headers().get_all("set-cookie") {
            let text = value.to_str().expect("cookie text");
            assert!(text.contains("HttpOnly") && text.contains("SameSite=Lax"));
            let pair = text.split(';').next().expect("pair");
            self.cookie = pair.strip_prefix("tollgate_session=").map(str::to_owned);
        }
        Answer {
            status: response.status(),
            location: response
                .headers()
                .get("location")
                .map(|v| v.to_str().expect("location").to_owned()),
            body: response.text().await.expect("body"),
        }
    }

    async fn get(&mut self, path_and_query: &str) -> Answer {
        let url = format!("{}{path_and_query}", self.base);
        let request = self.http.get(url);
        self.send(request).await
    }

    /// `/authorize` for `client_id` with the desktop redirect URI and the calendar resource.
    async fn authorize(&mut self, client_id: &str) -> Answer {
        let query = authorize_query(client_id, DESKTOP_REDIRECT, None, CALENDAR);
        self.get(&query).await
    }

    async fn post_form(&mut self, path: &str, form: &[(&str, &str)]) -> Answer {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(request).await
    }
}

/// The value of a hidden input on a page.
fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker).expect(name) + marker.len();
    let end = start + page[start..].find('"').expect("end of value");
    page[start..end].to_owned()
}

/// The scopes a consent page offers.
fn offered(page: &str) -> Vec<String> {
    page.split("name=\"scope\" value=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().expect("scope").to_owned())
        .collect()
}

fn query_of(location: &str) -> std::collections::HashMap<String, String> {
    let url = url::Url::parse(location).expect("absolute location");
    url.query_pairs().into_owned().collect()
}

fn authorize_query(
    client_id: &str,
    redirect_uri: &str,
    scope: Option<&str>,
    resource: &str,
) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("state", "st-123")
        .append_pair("code_challenge", &challenge(VERIFIER))
        .append_pair("code_challenge_method", "S256")
        .append_pair("resource", resource);
    if let Some(scope) = scope {
        q.append_pair("scope", scope);
    }
    format!("/authorize?{}", q.finish())
}

/// Posts the sign-in form of a page; returns the answer to the post.
async fn submit_login(b: &mut Browser, login_page: &Answer, user: &str, password: &str) -> Answer {
    assert_eq!(login_page.status, StatusCode::OK, "{}", login_page.body);
    assert!(
        login_page.body.contains("action=\"/login\""),
        "{}",
        login_page.body
    );
    let request = hidden(&login_page.body, "request");
    let csrf = hidden(&login_page.body, "csrf");
    b.post_form(
        "/login",
        &[
            ("request", &request),
            ("csrf", &csrf),
            ("username", user),
            ("password", password),
        ],
    )
    .await
}

/// Signs in on the page `/authorize` answered; returns the consent page.
async fn sign_in(b: &mut Browser, login_page: &Answer, user: &str, password: &str) -> Answer {
    let after = submit_login(b, login_page, user, password).await;
    assert_eq!(after.status, StatusCode::SEE_OTHER, "{}", after.body);
    let location = after.location.expect("to the consent page");
    b.get(&location).await
}

/// Submits a consent page approving `approve`; returns the redirect's query.
async fn answer(
    b: &mut Browser,
    consent_page: &Answer,
    approve: &[&str],
    decision: &str,
) -> std::collections::HashMap<String, String> {
    let request = hidden(&consent_page.body, "request");
    let csrf = hidden(&consent_page.body, "csrf");
    let mut form = vec![
        ("request", request.as_str()),
        ("csrf", csrf.as_str()),
        ("decision", decision),
    ];
    for s in approve {
        form.push(("scope", s));
    }
    let done = b.post_form("/consent", &form).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    query_of(&done.location.expect("redirect to the client"))
}

/// The whole flow for a public client; returns the token response.
#[expect(
    clippy::too_many_arguments,
    reason = "a test helper spelling out one flow"
)]
async fn flow(
    s: &Server,
    client_id: &str,
    redirect_uri: &str,
    user: &str,
    password: &str,
    scope: Option<&str>,
    resource: &str,
    approve: Option<&[&str]>,
) -> (u16, Value) {
    let mut b = Browser::new(s);
    let first = b
        .get(&authorize_query(client_id, redirect_uri, scope, resource))
        .await;
    let consent = sign_in(&mut b, &first, user, password).await;
    assert_eq!(consent.status, StatusCode::OK, "{}", consent.body);
    let offered = offered(&consent.body);
    let approve: Vec<&str> = match approve {
        Some(a) => a.to_vec(),
        None => offered.iter().map(String::as_str).collect(),
    };
    let back = answer(&mut b, &consent, &approve, "allow").await;
    assert_eq!(back["state"], "st-123");
    assert_eq!(back["iss"], s.base);
    let code = back.get("code").expect("a code").clone();
    let (status, _, body) = post(
        &format!("{}/token", s.base),
        None,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", client_id),
            ("code", &code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", VERIFIER),
            ("resource", resource),
        ],
    )
    .await;
    (status, body)
}

#[tokio::test]
async fn scheduler_in_tenant_a_gets_calendar_write_and_consents_scope_by_scope() {
    let s = start("authz-scheduler", &example(""), None).await;
    let (status, token) = flow(
        &s,
        "calendar-desktop",
        DESKTOP_REDIRECT,
        "ada",
        "ada-dev-password",
        None,
        CALENDAR,
        None,
    )
    .await;
    assert_eq!(status, 200, "{token}");
    let c = claims(token["access_token"].as_str().expect("token"));
    assert_eq!(c["scope"], "mcp:calendar.read mcp:calendar.write");
    assert_eq!(c["aud"], CALENDAR);
    assert_eq!(c["sub"], "u-ada");
    assert_eq!(c["client_id"], "calendar-desktop");
    assert!(token["refresh_token"].is_string());

    // Denying one scope on the page: only the other is issued.
    let (status, token) = flow(
        &s,
        "calendar-desktop",
        DESKTOP_REDIRECT,
        "ada",
        "ada-dev-password",
        Some("mcp:calendar.read mcp:calendar.write"),
        CALENDAR,
        Some(&["mcp:calendar.read"]),
    )
    .await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["scope"], "mcp:calendar.read");
}

#[tokio::test]
async fn consent_offers_only_what_policy_allows() {
    let s = start("authz-offer", &example(""), None).await;
    let mut b = Browser::new(&s);
    // A calendar editor is offered read only, even when the client asks for everything.
    let first = b
        .get(&authorize_query(
            "calendar-desktop",
            DESKTOP_REDIRECT,
            Some("mcp:calendar.read mcp:calendar.write mcp:invoice.create"),
            CALENDAR,
        ))
        .await;
    let page = sign_in(&mut b, &first, "cy", "cy-dev-password").await;
    assert_eq!(offered(&page.body), ["mcp:calendar.read"]);
    assert!(page.body.contains("not available to you"), "{}", page.body);
    assert!(page.body.contains("Calendar desktop assistant"));
    assert!(page.body.contains("Configured by your administrator"));
    // An approval the page did not offer is not granted.
    let back = answer(
        &mut b,
        &page,
        &["mcp:calendar.read", "mcp:invoice.create"],
        "allow",
    )
    .await;
    let (_, _, token) = post(
        &format!("{}/token", s.base),
        None,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", "calendar-desktop"),
            ("code", &back["code"]),
            ("redirect_uri", DESKTOP_REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(token["scope"], "mcp:calendar.read");

    // A scheduler outside tenants A and B can consent to nothing: access_denied at the client.
    let mut b = Browser::new(&s);
    let first = b.authorize("calendar-desktop").await;
    let after = submit_login(&mut b, &first, "bo", "bo-dev-password").await;
    let denied = b.get(&after.location.expect("consent")).await;
    assert_eq!(denied.status, StatusCode::SEE_OTHER);
    let q = query_of(&denied.location.expect("back to the client"));
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["state"], "st-123");
    assert_eq!(q["iss"], s.base);

    // Deny on the page: access_denied too.
    let mut b = Browser::new(&s);
    let first = b.authorize("calendar-desktop").await;
    let page = sign_in(&mut b, &first, "ada", "ada-dev-password").await;
    let q = answer(&mut b, &page, &["mcp:calendar.read"], "deny").await;
    assert_eq!(q["error"], "access_denied");
    assert!(!q.contains_key("code"));

    // Signed in already: the next request goes straight to consent.
    let again = b.authorize("calendar-desktop").await;
    assert!(again.body.contains("action=\"/consent\""), "{}", again.body);

    // A wrong password stays on the sign-in page, saying so.
    let mut b = Browser::new(&s);
    let first = b.authorize("calendar-desktop").await;
    let wrong = submit_login(&mut b, &first, "ada", "nope").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("role=\"alert\""));
}

#[tokio::test]
async fn ops_agent_acts_only_with_an_sre_signed_in_and_verified_agents_get_invoices() {
    let s = start("authz-ops", &example(""), None).await;
    // On its own: read-only scopes.
    let (status, _, token) = post(
        &format!("{}/token", s.base),
        Some(("ops-agent", "ops-dev-secret")),
        &[
            ("grant_type", "client_credentials"),
            ("resource", "https://incidents.example.com"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["scope"], "incidents:read metrics:read");

    // With an SRE: the heavier scopes (a confidential client authenticates at the token endpoint).
    let mut b = Browser::new(&s);
    let redirect = "http://127.0.0.1:33420/callback";
    let first = b
        .get(&authorize_query(
            "ops-agent",
            redirect,
            None,
            "https://incidents.example.com",
        ))
        .await;
    let page = sign_in(&mut b, &first, "grace", "grace-dev-password").await;
    assert_eq!(
        offered(&page.body),
        ["incidents:read", "incidents:write", "runbook:execute"]
    );
    let back = answer(
        &mut b,
        &page,
        &["incidents:read", "incidents:write", "runbook:execute"],
        "allow",
    )
    .await;
    let (status, _, token) = post(
        &format!("{}/token", s.base),
        Some(("ops-agent", "ops-dev-secret")),
        &[
            ("grant_type", "authorization_code"),
            ("code", &back["code"]),
            ("redirect_uri", redirect),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(
        token["scope"],
        "incidents:read incidents:write runbook:execute"
    );

    // A developer steering it gets nothing.
    let mut b = Browser::new(&s);
    let first = b
        .get(&authorize_query(
            "ops-agent",
            redirect,
            None,
            "https://incidents.example.com",
        ))
        .await;
    let after = submit_login(&mut b, &first, "dan", "dan-dev-password").await;
    let denied = b.get(&after.location.expect("consent")).await;
    assert_eq!(
        query_of(&denied.location.expect("redirect"))["error"],
        "access_denied"
    );

    // A verified agent gets invoices and calendar scopes for a user no calendar policy covers.
    let (status, token) = flow(
        &s,
        "finance-agent",
        "http://127.0.0.1:33419/callback",
        "dan",
        "dan-dev-password",
        None,
        CALENDAR,
        None,
    )
    .await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(
        token["scope"],
        "mcp:calendar.read mcp:calendar.write mcp:invoice.create"
    );
}

#[tokio::test]
async fn refresh_rotates_and_follows_todays_policy() {
    let s = start("authz-refresh", &example(""), Some("admin-secret")).await;
    let (_, token) = flow(
        &s,
        "calendar-desktop",
        DESKTOP_REDIRECT,
        "ada",
        "ada-dev-password",
        None,
        CALENDAR,
        None,
    )
    .await;
    let first = token["refresh_token"].as_str().expect("refresh").to_owned();
    let (status, _, refreshed) = post(
        &format!("{}/token", s.base),
        None,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "calendar-desktop"),
            ("refresh_token", &first),
        ],
    )
    .await;
    assert_eq!(status, 200, "{refreshed}");
    assert_eq!(refreshed["scope"], "mcp:calendar.read mcp:calendar.write");
    let second = refreshed["refresh_token"]
        .as_str()
        .expect("rotated")
        .to_owned();
    assert_ne!(first, second);
    // The user leaves tenant A (an admin-managed copy of the user): the next refresh is refused.
    let user = json!({ "sub": "u-ann", "username": "ann", "password": "ann-dev-password",
        "roles": ["Scheduler"], "tenantIds": ["tenant-b"] });
    assert_eq!(
        common::admin(&s, reqwest::Method::POST, "/admin/users", Some(user))
            .await
            .0,
        201
    );
    let (_, token) = flow(
        &s,
        "calendar-desktop",
        DESKTOP_REDIRECT,
        "ann",
        "ann-dev-password",
        None,
        CALENDAR,
        None,
    )
    .await;
    let ann = token["refresh_token"].as_str().expect("refresh").to_owned();
    let moved = json!({ "sub": "u-ann", "username": "ann", "roles": ["Scheduler"], "tenantIds": ["tenant-c"] });
    assert_eq!(
        common::admin(&s, reqwest::Method::PUT, "/admin/users/u-ann", Some(moved))
            .await
            .0,
        200
    );
    let (status, _, refused) = post(
        &format!("{}/token", s.base),
        None,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "calendar-desktop"),
            ("refresh_token", &ann),
        ],
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["error"], "invalid_scope");
}

/// Policies that want a recent sign-in (`auth.age`) or a second factor (`auth.methods`).
const STEP_UP_POLICIES: &str = r#"policies:
  - id: fresh-editor-write
    subject:
      conditions:
        - { key: user.roles, op: contains, value: calendar_editor }
        - { key: auth.methods, op: contains, value: pwd }
        - { key: auth.age, op: lessThan, value: 3 }
    grantTypes: [authorization_code]
    targets: [ { resource: calendar-mcp, scopes: ["mcp:calendar.write"] } ]
  - id: second-factor-invoices
    subject:
      conditions:
        - { key: user.roles, op: contains, value: calendar_editor }
        - { key: auth.methods, op: contains, value: otp }
    grantTypes: [authorization_code]
    targets: [ { resource: calendar-mcp, scopes: ["mcp:invoice.create"] } ]
"#;

#[tokio::test]
async fn a_scope_that_wants_a_recent_sign_in_asks_for_the_password_again() {
    let config = EXAMPLE.replacen("policies:\n", STEP_UP_POLICIES, 1);
    let s = start("authz-step-up", &config, None).await;
    let scope = "mcp:calendar.read mcp:calendar.write mcp:invoice.create";
    let query = authorize_query("calendar-desktop", DESKTOP_REDIRECT, Some(scope), CALENDAR);
    let mut b = Browser::new(&s);
    let first = b.get(&query).await;
    // Just signed in: write is offered; invoices need a second factor, which a password sign-in
    // cannot give, so they are unavailable (not a loop of sign-ins).
    let consent = sign_in(&mut b, &first, "cy", "cy-dev-password").await;
    assert_eq!(consent.status, StatusCode::OK, "{}", consent.body);
    assert_eq!(
        offered(&consent.body),
        ["mcp:calendar.read", "mcp:calendar.write"]
    );
    assert!(!consent.body.contains("sign-in-notice"));

    // Three seconds later the same session asks again: the sign-in is too old for write, so the
    // user is asked for the password again, told why, and then offered write.
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    let again = b.get(&query).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert!(
        again.body.contains("id=\"sign-in-notice\""),
        "{}",
        again.body
    );
    assert!(again.body.contains("mcp:calendar.write"), "{}", again.body);
    assert!(!again.body.contains("mcp:invoice.create"), "{}", again.body);
    let consent = sign_in(&mut b, &again, "cy", "cy-dev-password").await;
    assert_eq!(consent.status, StatusCode::OK, "{}", consent.body);
    assert_eq!(
        offered(&consent.body),
        ["mcp:calendar.read", "mcp:calendar.write"]
    );
    let back = answer(
        &mut b,
        &consent,
        &["mcp:calendar.read", "mcp:calendar.write"],
        "allow",
    )
    .await;
    let (status, token) = redeem(&s, &back["code"], DESKTOP_REDIRECT, Some(VERIFIER)).await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["scope"], "mcp:calendar.read mcp:calendar.write");
    // The token says how and when the user signed in.
    let access = claims(token["access_token"].as_str().expect("a token"));
    assert_eq!(access["amr"], json!(["pwd"]));
    assert_eq!(access["acr"], "urn:tollgate:loa:1");
    let signed_in = access["auth_time"].as_i64().expect("auth_time");
    assert!((signed_in - access["iat"].as_i64().expect("iat")).abs() <= 2);

    // Three seconds on, a refresh asking for write hears what to do about it; one that asks for
    // nothing in particular narrows to read, as a refresh does when policy gives less.
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    let refresh = token["refresh_token"].as_str().expect("a refresh token");
    let refresh_with = |scope: Option<&'static str>, refresh: String| {
        let base = s.base.clone();
        async move {
            let mut form = vec![
                ("grant_type", "refresh_token"),
                ("client_id", "calendar-desktop"),
                ("refresh_token", refresh.as_str()),
            ];
            if let Some(scope) = scope {
                form.push(("scope", scope));
            }
            post(&format!("{base}/token"), None, &form).await
        }
    };
    let (status, _, refused) = refresh_with(
        Some("mcp:calendar.read mcp:calendar.write"),
        refresh.to_owned(),
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["error"], "insufficient_user_authentication");
    assert_eq!(refused["max_age"], 2);
    assert!(refused.get("acr_values").is_none(), "{refused}");
    // The refusal left the refresh token usable.
    let (status, _, narrower) = refresh_with(None, refresh.to_owned()).await;
    assert_eq!(status, 200, "{narrower}");
    assert_eq!(narrower["scope"], "mcp:calendar.read");
    let kept = claims(narrower["access_token"].as_str().expect("a token"));
    assert_eq!(kept["amr"], json!(["pwd"]));
    assert_eq!(kept["auth_time"], access["auth_time"]);
}

/// The text between `start` and the next `<` on a page.
fn text_after<'p>(page: &'p str, start: &str) -> &'p str {
    let at = page.find(start).expect(start) + start.len();
    let end = at + page[at..].find('<').expect("end of the text");
    &page[at..end]
}

/// The code an authenticator app shows at `time` for a base32 secret.
fn app_code(secret: &str, time: u64) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret).expect("base32");
    totp_rs::Builder::new()
        .with_secret(secret)
        .build()
        .expect("a TOTP")
        .generate(time)
        .to_string()
}

#[tokio::test]
async fn a_second_factor_is_set_up_on_the_account_page_and_asked_for_at_every_sign_in() {
    let config = format!(
        "{}\nvault: {{ keyFile: vault.key }}\n",
        EXAMPLE.replacen("policies:\n", STEP_UP_POLICIES, 1)
    );
    let s = start("authz-second-factor", &config, Some("admin-secret")).await;
    let mut b = Browser::new(&s);
    let page = b.get("/account").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("action=\"/account/login\""),
        "{}",
        page.body
    );
    let csrf = hidden(&page.body, "csrf");
    let signed_in = b
        .post_form(
            "/account/login",
            &[
                ("csrf", &csrf),
                ("username", "cy"),
                ("password", "cy-dev-password"),
            ],
        )
        .await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
    let page = b.get("/account").await;
    assert!(page.body.contains("<strong>off</strong>"), "{}", page.body);
    let csrf = hidden(&page.body, "csrf");
    let enrol = b
        .post_form(
            "/account/second-factor",
            &[("csrf", &csrf), ("action", "start")],
        )
        .await;
    assert_eq!(enrol.status, StatusCode::OK, "{}", enrol.body);
    assert!(enrol.body.contains("<svg"), "a QR code: {}", enrol.body);
    let first_key = text_after(&enrol.body, "id=\"second-factor-secret\">").to_owned();
    // A wrong code ends that key: it is not shown again, a new one is set up.
    let wrong = b
        .post_form(
            "/account/second-factor",
            &[("csrf", &csrf), ("action", "confirm"), ("code", "000000")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.body);
    assert!(!wrong.body.contains(&first_key), "{}", wrong.body);
    assert!(wrong.body.contains("again"), "{}", wrong.body);
    let enrol = b
        .post_form(
            "/account/second-factor",
            &[("csrf", &csrf), ("action", "start")],
        )
        .await;
    let secret = text_after(&enrol.body, "id=\"second-factor-secret\">").to_owned();
    assert_ne!(secret, first_key);
    let now = u64::try_from(jiff::Timestamp::now().as_second()).expect("after 1970");
    let done = b
        .post_form(
            "/account/second-factor",
            &[
                ("csrf", &csrf),
                ("action", "confirm"),
                ("code", &app_code(&secret, now)),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let recovery: Vec<String> = done
        .body
        .split("<li><code>")
        .skip(1)
        .map(|rest| rest.split('<').next().expect("a code").to_owned())
        .collect();
    assert_eq!(recovery.len(), 10, "{}", done.body);
    // Turning it on ended the user's sessions, this one too: the account page asks to sign in,
    // now with a code (a recovery code here), and then says the second factor is on.
    let page = b.get("/account").await;
    assert!(
        page.body.contains("action=\"/account/login\""),
        "{}",
        page.body
    );
    let csrf = hidden(&page.body, "csrf");
    b.post_form(
        "/account/login",
        &[
            ("csrf", &csrf),
            ("username", "cy"),
            ("password", "cy-dev-password"),
            ("code", &recovery[1]),
        ],
    )
    .await;
    let page = b.get("/account").await;
    assert!(page.body.contains("<strong>on</strong>"), "{}", page.body);
    // Starting again while it is on is refused: it is never replaced from the account page.
    let replaced = tollgate::oauth::second_factor::begin(
        &s.core,
        "u-cy",
        "cy",
        i64::try_from(now).expect("a time"),
    )
    .await;
    assert!(
        matches!(
            replaced,
            Err(tollgate::oauth::second_factor::SecondFactorError::AlreadyOn)
        ),
        "{replaced:?}"
    );
    // The secret is sealed in the store, never in the clear.
    let db = std::fs::read(s.dir.0.join("tollgate.db")).expect("the database");
    assert!(!db.windows(secret.len()).any(|w| w == secret.as_bytes()));

    // Signing in for an application now needs the code: the password alone is refused.
    let scope = "mcp:calendar.read mcp:invoice.create";
    let query = authorize_query("calendar-desktop", DESKTOP_REDIRECT, Some(scope), CALENDAR);
    let mut app = Browser::new(&s);
    let first = app.get(&query).await;
    assert!(first.body.contains("name=\"code\""), "{}", first.body);
    let refused = submit_login(&mut app, &first, "cy", "cy-dev-password").await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.body);
    assert!(
        refused.body.contains("authenticator app"),
        "{}",
        refused.body
    );
    // A recovery code signs in once, as a second factor: invoices (which need one) are offered.
    let with_code = |code: String| {
        let request = hidden(&first.body, "request");
        let csrf = hidden(&first.body, "csrf");
        vec![
            ("request".to_owned(), request),
            ("csrf".to_owned(), csrf),
            ("username".to_owned(), "cy".to_owned()),
            ("password".to_owned(), "cy-dev-password".to_owned()),
            ("code".to_owned(), code),
        ]
    };
    let form = with_code(recovery[0].clone());
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let after = app.post_form("/login", &pairs).await;
    assert_eq!(after.status, StatusCode::SEE_OTHER, "{}", after.body);
    let consent = app.get(&after.location.expect("to consent")).await;
    assert_eq!(
        offered(&consent.body),
        ["mcp:calendar.read", "mcp:invoice.create"],
        "{}",
        consent.body
    );
    let back = answer(
        &mut app,
        &consent,
        &["mcp:calendar.read", "mcp:invoice.create"],
        "allow",
    )
    .await;
    let (status, token) = redeem(&s, &back["code"], DESKTOP_REDIRECT, Some(VERIFIER)).await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["scope"], "mcp:calendar.read mcp:invoice.create");
    let access = claims(token["access_token"].as_str().expect("a token"));
    assert_eq!(access["amr"], json!(["pwd", "otp"]));
    assert_eq!(access["acr"], "urn:tollgate:loa:2");

    // A used recovery code, and a code of a time step already used, are refused; the next step's
    // code (one step of drift is allowed) signs in once.
    let mut again = Browser::new(&s);
    let page = again.get(&query).await;
    let attempt = |code: String, page: &Answer| {
        let request = hidden(&page.body, "request");
        let csrf = hidden(&page.body, "csrf");
        (request, csrf, code)
    };
    for (why, code, want) in [
        (
            "a used recovery code",
            recovery[0].clone(),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "the code used to confirm",
            app_code(&secret, now),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "the next step's code",
            app_code(&secret, now + 30),
            StatusCode::SEE_OTHER,
        ),
    ] {
        let (request, csrf, code) = attempt(code, &page);
        let answer = again
            .post_form(
                "/login",
                &[
                    ("request", &request),
                    ("csrf", &csrf),
                    ("username", "cy"),
                    ("password", "cy-dev-password"),
                    ("code", &code),
                ],
            )
            .await;
        assert_eq!(answer.status, want, "{why}: {}", answer.body);
    }
    // Ten wrong codes in a row hold the second factor, whatever address they come from (the count
    // is in the stored row, not in a server's throttle): then even the right code is refused,
    // until an administrator resets it (or the hold ends).
    use tollgate::oauth::second_factor::{Checked, verify};
    let at = i64::try_from(now).expect("a time");
    for guess in 0..10 {
        let checked = verify(&s.core, "u-cy", &format!("{:06}", 111_111 + guess), at)
            .await
            .expect("checked");
        assert_eq!(
            checked,
            if guess < 9 {
                Checked::Refused
            } else {
                Checked::Held
            }
        );
    }
    let right = verify(&s.core, "u-cy", &app_code(&secret, now + 60), at)
        .await
        .expect("checked");
    assert_eq!(right, Checked::Held);
    let (status, reset) = common::admin(
        &s,
        reqwest::Method::DELETE,
        "/admin/users/u-cy/second-factor",
        None,
    )
    .await;
    assert_eq!(status, 200, "{reset}");
    assert_eq!(reset["removed"], true);
    // Reset: the password alone signs in again.
    let mut reset_browser = Browser::new(&s);
    let page = reset_browser.get(&query).await;
    let consent = sign_in(&mut reset_browser, &page, "cy", "cy-dev-password").await;
    assert_eq!(consent.status, StatusCode::OK, "{}", consent.body);
    // Without a vault key there is nowhere to seal a secret: setting one up is refused.
    let plain = start("authz-second-factor-no-vault", &example(""), None).await;
    let mut c = Browser::new(&plain);
    let page = c.get("/account").await;
    let csrf = hidden(&page.body, "csrf");
    c.post_form(
        "/account/login",
        &[
            ("csrf", &csrf),
            ("username", "cy"),
            ("password", "cy-dev-password"),
        ],
    )
    .await;
    let page = c.get("/account").await;
    let csrf = hidden(&page.body, "csrf");
    let refused = c
        .post_form(
            "/account/second-factor",
            &[("csrf", &csrf), ("action", "start")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert!(refused.body.contains("vault"), "{}", refused.body);
}

#[tokio::test]
async fn authorize_honours_max_age_prompt_and_keeps_the_signed_in_user() {
    let s = start("authz-prompt", &example(""), None).await;
    let with = |extra: &str| {
        format!(
            "{}&{extra}",
            authorize_query("calendar-desktop", DESKTOP_REDIRECT, None, CALENDAR)
        )
    };
    // prompt=none: no page may be shown; without a session that is `login_required`.
    let mut b = Browser::new(&s);
    let none = b.get(&with("prompt=none")).await;
    assert_eq!(none.status, StatusCode::SEE_OTHER, "{}", none.body);
    let back = query_of(&none.location.expect("to the client"));
    assert_eq!(back["error"], "login_required");
    assert_eq!(back["state"], "st-123");
    let first = b.authorize("calendar-desktop").await;
    let consent = sign_in(&mut b, &first, "ada", "ada-dev-password").await;
    assert_eq!(consent.status, StatusCode::OK, "{}", consent.body);
    // Signed in, prompt=none still needs the consent page.
    let none = b.get(&with("prompt=none")).await;
    let back = query_of(&none.location.expect("to the client"));
    assert_eq!(back["error"], "consent_required");
    // prompt=login asks for the password again; so does a max_age the sign-in is older than.
    for extra in ["prompt=login", "max_age=0"] {
        if extra == "max_age=0" {
            tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        }
        let again = b.get(&with(extra)).await;
        assert_eq!(again.status, StatusCode::OK, "{extra}: {}", again.body);
        assert!(
            again.body.contains("id=\"sign-in-notice\""),
            "{extra}: {}",
            again.body
        );
        // Signing in again as someone else is refused: the signed-in user stays who consents.
        let other = submit_login(&mut b, &again, "bo", "bo-dev-password").await;
        assert_eq!(other.status, StatusCode::UNAUTHORIZED, "{}", other.body);
        assert!(other.body.contains("already signed in"), "{}", other.body);
        let consent = sign_in(&mut b, &again, "ada", "ada-dev-password").await;
        assert_eq!(consent.status, StatusCode::OK, "{extra}: {}", consent.body);
        assert!(!offered(&consent.body).is_empty(), "{extra}");
    }
    // A generous max_age needs no new sign-in; a malformed one or an unknown prompt is refused.
    let fine = b.get(&with("max_age=3600")).await;
    assert_eq!(fine.status, StatusCode::OK);
    assert!(!fine.body.contains("sign-in-notice"), "{}", fine.body);
    assert!(fine.body.contains("name=\"scope\""), "{}", fine.body);
    for bad in [
        "max_age=-1",
        "max_age=soon",
        "prompt=dance",
        "prompt=none%20login",
    ] {
        let refused = b.get(&with(bad)).await;
        let back = query_of(&refused.location.expect("to the client"));
        assert_eq!(back["error"], "invalid_request", "{bad}");
    }
}

#[tokio::test]
async fn a_user_signed_out_everywhere_loses_sessions_and_refresh_tokens() {
    let s = start("authz-sign-out", &example(""), Some("admin-secret")).await;
    // Ada has a token with a refresh token, and a browser still signed in.
    let (_, token) = flow(
        &s,
        "calendar-desktop",
        DESKTOP_REDIRECT,
        "ada",
        "ada-dev-password",
        None,
        CALENDAR,
        None,
    )
    .await;
    let refresh = token["refresh_token"].as_str().expect("refresh").to_owned();
    let access = token["access_token"].as_str().expect("access").to_owned();
    let mut b = Browser::new(&s);
    let query = authorize_query("calendar-desktop", DESKTOP_REDIRECT, None, CALENDAR);
    let first = b.get(&query).await;
    let consent = sign_in(&mut b, &first, "ada", "ada-dev-password").await;
    assert!(
        consent.body.contains("name=\"scope\""),
        "signed in: the consent page"
    );
    assert!(b.get(&query).await.body.contains("name=\"scope\""));

    let (status, ended) = common::admin(
        &s,
        reqwest::Method::POST,
        "/admin/users/u-ada/sign-out",
        None,
    )
    .await;
    assert_eq!(status, 200, "{ended}");
    assert!(
        ended["sessions"].as_u64().expect("sessions") >= 1,
        "{ended}"
    );
    assert!(ended["tokens"].as_u64().expect("tokens") >= 2, "{ended}");
    // The browser is asked to sign in again; the refresh token is dead.
    assert!(b.get(&query).await.body.contains("name=\"password\""));
    let (status, _, refused) = post(
        &format!("{}/token", s.base),
        None,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "calendar-desktop"),
            ("refresh_token", &refresh),
        ],
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["error"], "invalid_grant");
    // The access token issued with it is among the revoked (what introspection and exchange
    // consult).
    let jti = {
        let payload = access.split('.').nth(1).expect("a JWT");
        let claims: Value = serde_json::from_slice(
            &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
                .expect("base64url"),
        )
        .expect("JSON");
        claims["jti"].as_str().expect("jti").to_owned()
    };
    assert!(
        s.core
            .store
            .revoked_tokens(0)
            .await
            .expect("revoked")
            .iter()
            .any(|(id, _)| *id == jti || id.contains(&jti)),
        "the access token is revoked"
    );
    // The audit log says who did it; an unknown user is 404.
    s.core.audit.flush().await;
    let events = s
        .core
        .store
        .audit_search(
            &tollgate::store::AuditFilter {
                event: Some("sign_out".into()),
                ..Default::default()
            },
            5,
        )
        .await
        .expect("audit");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].body["sub"], "u-ada");
    assert_eq!(events[0].body["by"], "admin-api");
    let (status, _) = common::admin(
        &s,
        reqwest::Method::POST,
        "/admin/users/nobody/sign-out",
        None,
    )
    .await;
    assert_eq!(status, 404);
}

// ------------------------------------------------------------------------------------------
// The security table

async fn code_for(s: &Server, query: &str) -> String {
    let mut b = Browser::new(s);
    let first = b.get(query).await;
    let page = sign_in(&mut b, &first, "ada", "ada-dev-password").await;
    let back = answer(&mut b, &page, &["mcp:calendar.read"], "allow").await;
    back["code"].clone()
}

async fn redeem(
    s: &Server,
    code: &str,
    redirect_uri: &str,
    verifier: Option<&str>,
) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("client_id", "calendar-desktop"),
        ("code", code),
        ("redirect_uri", redirect_uri),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    let (status, _, body) = post(&format!("{}/token", s.base), None, &form).await;
    (status, body)
}

#[tokio::test]
async fn security_pkce_is_required_and_s256_only() {
    let s = start("authz-pkce", &example(""), None).await;
    let mut b = Browser::new(&s);
    // Missing PKCE: invalid_request at the client (its redirect URI is known).
    let q = format!(
        "/authorize?response_type=code&client_id=calendar-desktop&redirect_uri={}&state=s1",
        form_urlencoded::byte_serialize(DESKTOP_REDIRECT.as_bytes()).collect::<String>()
    );
    let a = b.get(&q).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    let back = query_of(&a.location.expect("redirect"));
    assert_eq!(back["error"], "invalid_request");
    assert!(back["error_description"].contains("PKCE"));
    assert_eq!(back["state"], "s1");
    // Plain PKCE: refused.
    let a = b
        .get(&format!(
            "{q}&code_challenge={VERIFIER}&code_challenge_method=plain"
        ))
        .await;
    assert_eq!(
        query_of(&a.location.expect("redirect"))["error"],
        "invalid_request"
    );
    // No method (which would mean plain): refused.
    let a = b
        .get(&format!("{q}&code_challenge={}", challenge(VERIFIER)))
        .await;
    assert_eq!(
        query_of(&a.location.expect("redirect"))["error"],
        "invalid_request"
    );

    // Wrong verifier, and no verifier, at the token endpoint.
    let code = code_for(
        &s,
        &authorize_query("calendar-desktop", DESKTOP_REDIRECT, None, CALENDAR),
    )
    .await;
    let (status, body) = redeem(&s, &code, DESKTOP_REDIRECT, Some("x".repeat(43).as_str())).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let code = code_for(
        &s,
        &authorize_query("calendar-desktop", DESKTOP_REDIRECT, None, CALENDAR),
    )
    .await;
    let (status, body) = redeem(&s, &code, DESKTOP_REDIRECT, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn security_a_replayed_code_revokes_what_it_issued() {
    let s = start("authz-replay", &example(""), None).await;
    let code = code_for(
        &s,
        &authorize_query("calendar-desktop", DESKTOP_REDIRECT, None, CALENDAR),
    )
    .await;
    let (status, token) = redeem(&s, &code, DESKTOP_REDIRECT, Some(VERIFIER)).await;
    assert_eq!(status, 200, "{token}");
    let (status, again) = redeem(&s, &code, DESKTOP_REDIRECT, Some(VERIFIER)).await;
    assert_eq!(
        (status, again["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // The access token and refresh token the code issued no longer work.
    let access = token["access_token"].as_str().expect("access");
    let refresh = token["refresh_token"].as_str().expect("refresh");
    let (status, _, refused) = post(
        &format!("{}/token", s.base),
        None,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "calendar-desktop"),
            ("refresh_token", refresh),
        ],
    )
    .await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let record = s
        .core
        .store
        .get_token(claims(access)["jti"].as_str().expect("jti"))
        .await
        .expect("store");
    assert!(
        record.is_some_and(|r| r.revoked),
        "the access token is revoked"
    );
    assert!(
        s.core
            .revoked
            .contains(claims(access)["jti"].as_str().expect("jti")),
        "and known as revoked without a store lookup"
    );
}

#[tokio::test]
async fn security_redirect_uris_match_exactly_and_never_redirect_elsewhere() {
    let s = start("authz-redirect", &example(""), None).await;
    let mut b = Browser::new(&s);
    for attempt in [
        "https://evil.example/callback",
        "http://127.0.0.1:33418/callback/../evil",
        "http://127.0.0.1:33418/callback?next=https://evil.example",
        "http://127.0.0.1:33418/callbackx",
        "http://127.0.0.1:33418/Callback",
        "http://127.0.0.1:33419/callback",
        "http://127.0.0.1:33418@evil.example/callback",
        "http://127.0.0.1:33418/callback#frag",
        "//evil.example/callback",
    ] {
        let a = b
            .get(&authorize_query(
                "calendar-desktop",
                attempt,
                None,
                CALENDAR,
            ))
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{attempt}");
        assert!(a.location.is_none(), "{attempt} must not redirect");
        assert!(
            a.body.contains("not a redirect URI registered"),
            "{attempt}: {}",
            a.body
        );
    }
    // An unknown client is not redirected either.
    let a = b.authorize("nobody").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.location.is_none());

    // At the token endpoint, the redirect URI must be the authorization request's.
    let code = code_for(
        &s,
        &authorize_query("calendar-desktop", DESKTOP_REDIRECT, None, CALENDAR),
    )
    .await;
    let (status, body) = redeem(&s, &code, "http://127.0.0.1:33418/other", Some(VERIFIER)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn security_consent_forms_need_the_sessions_csrf_token() {
    let s = start("authz-csrf", &example(""), None).await;
    let mut b = Browser::new(&s);
    let first = b.authorize("calendar-desktop").await;
    let page = sign_in(&mut b, &first, "ada", "ada-dev-password").await;
    let request = hidden(&page.body, "request");
    // No token, a wrong token: refused, nothing issued.
    for csrf in ["", "forged"] {
        let a = b
            .post_form(
                "/consent",
                &[
                    ("request", &request),
                    ("csrf", csrf),
                    ("decision", "allow"),
                    ("scope", "mcp:calendar.write"),
                ],
            )
            .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "csrf `{csrf}`");
        assert!(a.location.is_none());
    }
    // The right token from another site's page (Origin): refused.
    let csrf = hidden(&page.body, "csrf");
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("request", request.as_str()),
            ("csrf", csrf.as_str()),
            ("decision", "allow"),
            ("scope", "mcp:calendar.write"),
        ])
        .finish();
    let cross = b
        .http
        .post(format!("{}/consent", s.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", "https://evil.example")
        .header(
            "cookie",
            format!("tollgate_session={}", b.cookie.clone().expect("cookie")),
        )
        .body(body);
    assert_eq!(b.send(cross).await.status, StatusCode::FORBIDDEN);
    // Another browser (another session) cannot answer this user's request.
    let mut other = Browser::new(&s);
    let a = other
        .post_form(
            "/consent",
            &[
                ("request", &request),
                ("csrf", &csrf),
                ("decision", "allow"),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.location.is_none());
    // The real form still works.
    let q = answer(&mut b, &page, &["mcp:calendar.read"], "allow").await;
    assert!(q.contains_key("code"));
    // A request is answered once.
    let a = b
        .post_form(
            "/consent",
            &[
                ("request", &request),
                ("csrf", &csrf),
                ("decision", "allow"),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
}

// ------------------------------------------------------------------------------------------
// Registration

#[tokio::test]
async fn dynamic_registration_creates_unverified_clients_managed_by_their_token() {
    let s = start("authz-dcr", &example(""), Some("admin-secret")).await;
    let http = reqwest::Client::new();
    let register = |body: Value| http.post(format!("{}/register", s.base)).json(&body).send();
    // Refusals: RFC 7591 error codes.
    let bad = register(json!({ "redirect_uris": ["http://evil.example/cb"] }))
        .await
        .expect("send");
    assert_eq!(bad.status(), 400);
    assert_eq!(
        bad.json::<Value>().await.expect("json")["error"],
        "invalid_redirect_uri"
    );
    let bad = register(
        json!({ "redirect_uris": ["https://a.example/cb"], "grant_types": ["client_credentials"] }),
    )
    .await
    .expect("send");
    assert_eq!(
        bad.json::<Value>().await.expect("json")["error"],
        "invalid_client_metadata"
    );

    let created = register(json!({
        "client_name": "Some MCP client", "redirect_uris": [DESKTOP_REDIRECT],
        "token_endpoint_auth_method": "none", "grant_types": ["authorization_code", "refresh_token"],
    })).await.expect("send");
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.expect("json");
    let id = created["client_id"].as_str().expect("id").to_owned();
    let rat = created["registration_access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert!(
        created.get("client_secret").is_none(),
        "a public client has no secret"
    );
    let client = common::admin(
        &s,
        reqwest::Method::GET,
        &format!("/admin/clients/{id}"),
        None,
    )
    .await
    .1;
    assert_eq!(
        (
            client["registrationType"].as_str(),
            client["status"].as_str()
        ),
        (Some("dcr"), Some("unverified"))
    );

    // The consent page says so; a verified-only policy does not apply.
    let mut b = Browser::new(&s);
    let first = b.authorize(&id).await;
    assert!(
        first.body.contains("Unverified") && first.body.contains("dynamic registration"),
        "{}",
        first.body
    );
    let page = sign_in(&mut b, &first, "ada", "ada-dev-password").await;
    assert_eq!(
        offered(&page.body),
        ["mcp:calendar.read", "mcp:calendar.write"]
    );

    // An admin verifies it: the page says so from then on.
    let mut verified = client.clone();
    verified["status"] = json!("verified");
    let (status, _) = common::admin(
        &s,
        reqwest::Method::PUT,
        &format!("/admin/clients/{id}"),
        Some(verified),
    )
    .await;
    assert_eq!(status, 200);
    let mut b = Browser::new(&s);
    let first = b.authorize(&id).await;
    assert!(
        first.body.contains("Verified") && !first.body.contains("has not verified"),
        "{}",
        first.body
    );

    // RFC 7592: read, update, delete with the registration access token only.
    let url = format!("{}/register/{id}", s.base);
    assert_eq!(http.get(&url).send().await.expect("send").status(), 401);
    assert_eq!(
        http.get(&url)
            .bearer_auth("wrong")
            .send()
            .await
            .expect("send")
            .status(),
        401
    );
    let read: Value = http
        .get(&url)
        .bearer_auth(&rat)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(read["client_name"], "Some MCP client");
    let updated = http
        .put(&url)
        .bearer_auth(&rat)
        .json(&json!({
            "client_id": id, "client_name": "Renamed", "redirect_uris": [DESKTOP_REDIRECT],
            "token_endpoint_auth_method": "none", "grant_types": ["authorization_code"],
        }))
        .send()
        .await
        .expect("send");
    assert_eq!(updated.status(), 200);
    assert_eq!(
        updated.json::<Value>().await.expect("json")["client_name"],
        "Renamed"
    );
    assert_eq!(
        http.delete(&url)
            .bearer_auth(&rat)
            .send()
            .await
            .expect("send")
            .status(),
        204
    );
    assert_eq!(
        http.get(&url)
            .bearer_auth(&rat)
            .send()
            .await
            .expect("send")
            .status(),
        401
    );

    // A confidential registration gets a secret that works at the token endpoint.
    let created: Value =
        register(json!({ "redirect_uris": ["https://app.example/cb"], "client_name": "Web app" }))
            .await
            .expect("send")
            .json()
            .await
            .expect("json");
    assert_eq!(created["token_endpoint_auth_method"], "client_secret_basic");
    let (status, _, body) = post(
        &format!("{}/token", s.base),
        Some((
            created["client_id"].as_str().expect("id"),
            created["client_secret"].as_str().expect("secret"),
        )),
        &[("grant_type", "authorization_code"), ("code", "nope")],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "authenticated, bad code"
    );
}

#[tokio::test]
async fn metadata_advertises_what_mcp_clients_need() {
    let s = start("authz-meta", &example(""), None).await;
    let m: Value = reqwest::get(format!("{}/.well-known/oauth-authorization-server", s.base))
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(m["issuer"], s.base);
    assert_eq!(m["authorization_endpoint"], format!("{}/authorize", s.base));
    assert_eq!(m["registration_endpoint"], format!("{}/register", s.base));
    assert_eq!(m["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(m["response_types_supported"], json!(["code"]));
    assert_eq!(m["authorization_response_iss_parameter_supported"], true);
    assert_eq!(m["client_id_metadata_document_supported"], true);
    assert!(
        m["grant_types_supported"]
            .as_array()
            .expect("list")
            .contains(&json!("authorization_code"))
    );
    assert!(
        m["token_endpoint_auth_methods_supported"]
            .as_array()
            .expect("list")
            .contains(&json!("none"))
    );
}

// ------------------------------------------------------------------------------------------
// Client ID metadata documents

/// A document server on 127.0.0.1: `/client.json` answers what `respond` says; hits are counted.
struct DocServer {
    base: String,
    hits: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl DocServer {
    /// The URL of its document: the client id.
    fn client_id(&self) -> String {
        format!("{}/client.json", self.base)
    }
}

impl Drop for DocServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Respond = Arc<dyn Fn(&str, usize) -> axum::response::Response + Send + Sync>;

async fn doc_server(respond: Respond) -> DocServer {
    use axum::response::IntoResponse as _;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr: SocketAddr = listener.local_addr().expect("addr");
    let base = format!("http://{addr}");
    let hits = Arc::new(AtomicUsize::new(0));
    let (h, b) = (Arc::clone(&hits), base.clone());
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let (h, b, respond) = (Arc::clone(&h), b.clone(), Arc::clone(&respond));
        async move {
            let n = h.fetch_add(1, Ordering::SeqCst);
            let _ = uri;
            respond(&b, n).into_response()
        }
    });
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    DocServer { base, hits, task }
}

fn document(client_id: &str) -> Value {
    json!({ "client_id": client_id, "client_name": "Doc client", "redirect_uris": [DESKTOP_REDIRECT],
            "token_endpoint_auth_method": "none", "grant_types": ["authorization_code", "refresh_token"] })
}

/// The example's configuration with local metadata documents allowed (testing only).
fn local_documents() -> String {
    example("").replace(
        "registration:\n  dynamic: true",
        "registration:\n  allowLocalMetadataDocuments: true\n  dynamic: true",
    )
}

#[tokio::test]
async fn metadata_document_clients_sign_users_in_and_are_cached_as_http_says() {
    use axum::response::IntoResponse as _;
    let docs = doc_server(Arc::new(|base, _| {
        (
            [
                ("cache-control", "max-age=300"),
                ("content-type", "application/json"),
            ],
            document(&format!("{base}/client.json")).to_string(),
        )
            .into_response()
    }))
    .await;
    let config = local_documents();
    let s = start("authz-cimd", &config, None).await;
    let client_id = format!("{}/client.json", docs.base);
    let mut b = Browser::new(&s);
    let first = b.authorize(&client_id).await;
    assert!(
        first.body.contains("Client ID metadata document") && first.body.contains("127.0.0.1"),
        "{}",
        first.body
    );
    let page = sign_in(&mut b, &first, "ada", "ada-dev-password").await;
    let back = answer(&mut b, &page, &["mcp:calendar.read"], "allow").await;
    let (status, _, token) = post(
        &format!("{}/token", s.base),
        None,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &client_id),
            ("code", &back["code"]),
            ("redirect_uri", DESKTOP_REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(
        claims(token["access_token"].as_str().expect("at"))["client_id"],
        client_id
    );
    // max-age=300: fetched once for the authorization request and the token request.
    assert_eq!(docs.hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn security_metadata_documents_are_fetched_carefully() {
    use axum::response::IntoResponse as _;
    let config = local_documents();
    let s = start("authz-cimd-bad", &config, None).await;
    let refused = |page: &Answer, what: &str| {
        assert_eq!(
            page.status,
            StatusCode::BAD_REQUEST,
            "{what}: {}",
            page.body
        );
        assert!(page.location.is_none(), "{what}: never redirected");
    };
    let mut b = Browser::new(&s);

    // A document naming another client_id.
    let mismatch = doc_server(Arc::new(|_, _| {
        axum::Json(document("https://other.example/client.json")).into_response()
    }))
    .await;
    let a = b.authorize(&mismatch.client_id()).await;
    refused(&a, "mismatch");
    assert!(a.body.contains("is not its URL"), "{}", a.body);

    // A redirect, not followed.
    let redirect = doc_server(Arc::new(|_, _| {
        (
            StatusCode::FOUND,
            [("location", "http://127.0.0.1:1/elsewhere.json")],
        )
            .into_response()
    }))
    .await;
    let a = b.authorize(&redirect.client_id()).await;
    refused(&a, "redirect");
    assert!(a.body.contains("redirect"), "{}", a.body);
    assert_eq!(redirect.hits.load(Ordering::SeqCst), 1);

    // An oversize body (with and without Content-Length).
    let big = doc_server(Arc::new(|base, n| {
        let mut doc = document(&format!("{base}/client.json"));
        doc["padding"] = json!("x".repeat(6000));
        if n % 2 == 0 {
            axum::Json(doc).into_response()
        } else {
            let stream = futures_stream(doc.to_string());
            axum::body::Body::from_stream(stream).into_response()
        }
    }))
    .await;
    for _ in 0..2 {
        let a = b.authorize(&big.client_id()).await;
        refused(&a, "oversize");
        assert!(a.body.contains("larger than 5120 bytes"), "{}", a.body);
    }

    // Errors are not cached: a 500, then the document.
    let flaky = doc_server(Arc::new(|base, n| {
        if n == 0 {
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        } else {
            (
                [("cache-control", "max-age=600")],
                axum::Json(document(&format!("{base}/client.json"))),
            )
                .into_response()
        }
    }))
    .await;
    let id = format!("{}/client.json", flaky.base);
    refused(&b.authorize(&id).await, "500");
    let ok = b.authorize(&id).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);

    // A document's redirect URIs are matched exactly too.
    let a = b
        .get(&authorize_query(
            &id,
            "http://127.0.0.1:33418/other",
            None,
            CALENDAR,
        ))
        .await;
    refused(&a, "redirect_uri");

    // URL rules.
    for bad in [
        format!("{}/", flaky.base),
        format!("{}/a/../client.json", flaky.base),
        format!("{}/client.json#x", flaky.base),
        format!(
            "http://user:pw@{}/client.json",
            flaky.base.trim_start_matches("http://")
        ),
    ] {
        refused(&b.authorize(&bad).await, &bad);
    }
}

#[tokio::test]
async fn security_metadata_documents_are_not_fetched_from_private_addresses() {
    use axum::response::IntoResponse as _;
    let docs = doc_server(Arc::new(|base, _| {
        axum::Json(document(&format!("{base}/client.json"))).into_response()
    }))
    .await;
    let s = start("authz-cimd-private", &example(""), None).await;
    let mut b = Browser::new(&s);
    let port = docs.base.rsplit(':').next().expect("port");
    for id in [
        format!("https://127.0.0.1:{port}/client.json"),
        format!("https://localhost:{port}/client.json"),
        format!("https://[::1]:{port}/client.json"),
        "https://10.0.0.1/client.json".to_owned(),
        "https://169.254.169.254/latest/meta-data.json".to_owned(),
        format!("{}/client.json", docs.base),
    ] {
        let a = b.authorize(&id).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{id}: {}", a.body);
        assert!(
            a.body.contains("special-use") || a.body.contains("https"),
            "{id}: {}",
            a.body
        );
    }
    assert_eq!(
        docs.hits.load(Ordering::SeqCst),
        0,
        "nothing reached the private address"
    );
}

/// A body in two chunks, without Content-Length.
fn futures_stream(
    text: String,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + 'static {
    let bytes = text.into_bytes();
    let half = bytes.len() / 2;
    let (a, b) = (bytes[..half].to_vec(), bytes[half..].to_vec());
    futures_util::stream::iter(vec![Ok(a), Ok(b)])
}

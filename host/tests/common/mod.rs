//! What the server's integration tests share: a temporary directory, the server in-process on
//! 127.0.0.1, form posts and JWT claims.

#![allow(
    dead_code,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code shared by several test crates, each using part of it"
)]

pub mod postgres;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::Value;
use tollgate::config::ServerConfig;
use tollgate::server::{AppState, EngineChoice, app, prepare};

#[derive(Debug)]
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("tollgate-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if self.0.as_os_str().is_empty() {
            return;
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub struct Server {
    pub base: String,
    pub core: Arc<tollgate::oauth::Core>,
    pub task: tokio::task::JoinHandle<()>,
    pub dir: TempDir,
}

impl Server {
    /// Stops the server; its directory lives on.
    pub fn stop(mut self) -> TempDir {
        self.task.abort();
        std::mem::replace(&mut self.dir, TempDir(PathBuf::new()))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts the server in-process on 127.0.0.1:<free port> with the given configuration.
pub async fn start(name: &str, config_text: &str, admin_token: Option<&str>) -> Server {
    start_in(TempDir::new(name), config_text, admin_token)
        .await
        .expect("server starts")
}

/// Starts the server with its store (and a relative vault key file) in `dir`.
pub async fn start_in(
    dir: TempDir,
    config_text: &str,
    admin_token: Option<&str>,
) -> Result<Server, (TempDir, tollgate::server::StartError)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    start_on(listener, dir, config_text, admin_token).await
}

/// Starts the server on a listener bound already, so that another server's configuration can
/// name this one's issuer (`http://<its address>`) before it starts.
pub async fn start_bound(
    listener: tokio::net::TcpListener,
    name: &str,
    config_text: &str,
    admin_token: Option<&str>,
) -> Server {
    start_on(listener, TempDir::new(name), config_text, admin_token)
        .await
        .map_err(|(_, e)| e)
        .expect("server starts")
}

async fn start_on(
    listener: tokio::net::TcpListener,
    dir: TempDir,
    config_text: &str,
    admin_token: Option<&str>,
) -> Result<Server, (TempDir, tollgate::server::StartError)> {
    let addr: SocketAddr = listener.local_addr().expect("addr");
    let mut config = ServerConfig::from_text(config_text).expect("config");
    config.store = format!("sqlite://{}/tollgate.db", dir.0.display());
    config.issuer = format!("http://{addr}");
    // The audit log goes to a file in `dir` when one is named; never to the test's stdout.
    config.audit_log = config
        .audit_log
        .filter(|log| log != "stdout")
        .map(|log| dir.0.join(log).display().to_string());
    config.vault.key_file = config.vault.key_file.map(|f| dir.0.join(f));
    let core = match prepare(&config, EngineChoice::Component).await {
        Ok(core) => core,
        Err(e) => return Err((dir, e)),
    };
    let state = AppState {
        core: Arc::clone(&core),
        admin_token: admin_token.map(Arc::from),
        metrics: None,
        publish_bundle: config.publish_policy_bundle,
        console: Arc::new(config.console.applied(&config.users)),
    };
    let task = tokio::spawn(tollgate::server::listen::serve(
        listener,
        app(state),
        std::future::pending(),
    ));
    Ok(Server {
        base: format!("http://{addr}"),
        core,
        task,
        dir,
    })
}

/// POSTs a form; returns status, headers and JSON body.
pub async fn post(
    url: &str,
    auth: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Value) {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some((id, secret)) = auth {
        request = request.basic_auth(id, Some(secret));
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// The claims of a JWT (signature checked separately by the server's own tests).
pub fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&B64.decode(payload).expect("base64")).expect("JSON")
}

/// Calls the admin API with the tests' admin token (`admin-secret`); returns status and JSON.
pub async fn admin(
    s: &Server,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path}", s.base))
        .bearer_auth("admin-secret");
    if let Some(b) = body {
        request = request.json(&b);
    }
    let response = request.send().await.expect("admin request");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// The key ids a server publishes in its JWK Set.
pub async fn published_kids(s: &Server) -> Vec<String> {
    let jwks: Value = reqwest::get(format!("{}/jwks", s.base))
        .await
        .expect("jwks")
        .json()
        .await
        .expect("JSON");
    jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["kid"].as_str().expect("kid").to_owned())
        .collect()
}

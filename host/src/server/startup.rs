//! Starting the server: the configuration written into the store, the vault opened, the engine
//! and keys loaded, then the listener.

use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusBuilder;
use serde_json::Value;
use thiserror::Error;

use super::listen;
use super::routes::app;
use super::state::AppState;
use crate::audit::{Auditor, Sink};
use crate::clock::now;
use crate::config::{ConnectionVault, ServerConfig, resolve_secret};
use crate::directory::{Directory, SecretVerifier, hash_secret};
use crate::keys::KeyRing;
use crate::oauth::state::Core;
use crate::policy::PolicyEngine;
use crate::runtime::{ComponentEngine, Limits};
use crate::store::{Kind, Source, Store};
use crate::vault::{Credential, Owner, SecretKind, Vault};

/// Why the server could not start.
#[derive(Debug, Error)]
pub enum StartError {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// Keys could not be loaded or generated.
    #[error(transparent)]
    Keys(#[from] crate::keys::KeyError),
    /// The engine component could not be used.
    #[error(transparent)]
    Engine(#[from] crate::runtime::RuntimeError),
    /// The vault could not be opened.
    #[error(transparent)]
    Vault(#[from] crate::vault::VaultError),
    /// The policy document is invalid; every error is listed.
    #[error("the policy document has {} error(s):\n{}", .0.len(), .0.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n"))]
    Policies(Vec<tollgate_engine::ValidationError>),
    /// Something else (I/O, hashing, binding).
    #[error("{0}")]
    Other(String),
}

/// Which engine build decides.
#[derive(Debug, Clone)]
pub enum EngineChoice {
    /// The embedded component (default).
    Component,
    /// Another component build of the same WIT world.
    ComponentFile(std::path::PathBuf),
    /// The native engine.
    Native,
}

/// Opens the store and brings it in line with the configuration file.
pub async fn prepare(config: &ServerConfig, engine: EngineChoice) -> Result<Arc<Core>, StartError> {
    let resource_ids: Vec<&str> = config
        .resources
        .iter()
        .filter_map(|r| r.get("id").and_then(Value::as_str))
        .collect();
    let mut client_problems = Vec::new();
    for (i, client) in config.clients.iter().enumerate() {
        client_problems.extend(
            client
                .problems(&format!("clients[{i}]"))
                .iter()
                .map(ToString::to_string),
        );
        for (j, served) in client.serves.iter().enumerate() {
            if !resource_ids.contains(&served.as_str()) {
                client_problems.push(format!(
                    "clients[{i}].serves[{j}]: no resource `{served}` is configured"
                ));
            }
        }
    }
    if !client_problems.is_empty() {
        return Err(StartError::Other(format!(
            "the clients have {} error(s):\n{}",
            client_problems.len(),
            client_problems
                .iter()
                .map(|e| format!("  {e}"))
                .collect::<Vec<_>>()
                .join("\n")
        )));
    }
    let vaults = config.connection_vaults().map_err(|errors| {
        StartError::Other(format!(
            "the connections have {} error(s):\n{}",
            errors.len(),
            errors
                .iter()
                .map(|e| format!("  {e}"))
                .collect::<Vec<_>>()
                .join("\n")
        ))
    })?;
    let store = crate::store::open(&config.store).await?;
    // The vault key is checked before anything is written: a wrong key changes nothing.
    let vault = open_vault(config, &vaults, &store).await?;
    {
        // Replicas starting together write the configuration one at a time, and not in the middle
        // of an admin change at a running one.
        let _changing = store.lock(crate::store::CHANGES).await?;
        sync_config(store.as_ref(), config).await?;
        if let Some(vault) = &vault {
            sync_vault(store.as_ref(), vault, &vaults).await?;
        }
    }
    // The versions first: what is read after them is at least as new.
    let versions = store.versions().await?;
    let directory = Directory::load(store.as_ref()).await?;
    let document = directory.document.to_string();
    let policy = match engine {
        EngineChoice::Native => PolicyEngine::native(&document),
        EngineChoice::Component => PolicyEngine::component(
            Arc::new(ComponentEngine::embedded(Limits::default())?),
            &document,
        ),
        EngineChoice::ComponentFile(path) => PolicyEngine::component(
            Arc::new(ComponentEngine::from_file(&path, Limits::default())?),
            &document,
        ),
    }
    .map_err(|e| match e {
        crate::runtime::RuntimeError::Invalid(errors) => StartError::Policies(errors),
        other => StartError::Engine(other),
    })?;
    // Decisions report the store-wide version, the same on every server.
    policy.relabel(u64::try_from(versions.entities).unwrap_or_default());
    let ttl = i64::try_from(config.tokens.access_token_ttl).unwrap_or(i64::MAX);
    let vault_key = vault.as_ref().map(Vault::key);
    if vault_key.is_none() {
        tracing::warn!(
            "no vault key is configured: the private signing keys are stored unsealed in the \
             owner-only database; set {} or `vault.keyFile` to seal them",
            crate::vault::KEY_ENV
        );
    }
    let keys = KeyRing::load(
        store.as_ref(),
        config.tokens.signing_algorithm,
        now(),
        ttl,
        vault_key,
    )
    .await?;
    let sink = match config.audit_log.as_deref() {
        None => Sink::None,
        Some("stdout") => Sink::Stdout,
        Some(path) => Sink::File(path.into()),
    };
    let revoked = crate::oauth::Revoked::default();
    revoked.add(store.revoked_tokens(now()).await?, now());
    let audit = Auditor::start(Arc::clone(&store), sink)
        .map_err(|e| StartError::Other(format!("cannot open the audit log: {e}")))?;
    Ok(Arc::new(Core {
        issuer: config.issuer.trim_end_matches('/').to_owned(),
        store: Arc::clone(&store),
        directory: RwLock::new(Arc::new(directory)),
        keys: RwLock::new(Arc::new(keys)),
        policy,
        secrets: SecretVerifier::default(),
        throttle: crate::throttle::Throttle::default(),
        registrations: crate::throttle::RateLimit::default(),
        trusted_issuers: config.trusted_issuers.clone(),
        id_jag_audiences: config.id_jag_audiences.clone(),
        access_ttl: ttl,
        refresh_ttl: i64::try_from(config.tokens.refresh_token_ttl).unwrap_or(i64::MAX),
        max_assertion_lifetime: i64::try_from(config.tokens.max_assertion_lifetime)
            .unwrap_or(i64::MAX),
        exchange_refresh: config.tokens.exchange_refresh_tokens,
        audit,
        vault,
        http: provider_client()?,
        refresh_locks: Default::default(),
        registration: config.registration.clone(),
        metadata_documents: crate::oauth::cimd::MetadataDocuments::new(config.registration.clone())
            .map_err(|e| {
                StartError::Other(format!(
                    "cannot build the metadata document HTTP client: {e}"
                ))
            })?,
        browser: crate::oauth::browser::Browser::new(
            Arc::clone(&store),
            i64::try_from(config.login.session_ttl).unwrap_or(i64::MAX),
        ),
        verified_tokens: Default::default(),
        revoked,
        admin_lock: Default::default(),
        second_factor_lock: Default::default(),
        loaded: std::sync::Mutex::new(versions),
        signing_algorithm: config.tokens.signing_algorithm,
    }))
}

/// The HTTP client for connection providers: bounded in time, never following redirects.
fn provider_client() -> Result<reqwest::Client, StartError> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(15))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("tollgate/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| StartError::Other(format!("cannot build the provider HTTP client: {e}")))
}

/// Opens the vault when a key is configured; refuses to start when the configuration or the
/// store holds credentials that no key can open.
async fn open_vault(
    config: &ServerConfig,
    vaults: &[ConnectionVault],
    store: &Arc<dyn Store>,
) -> Result<Option<Vault>, StartError> {
    let sealed = store.list_credentials().await?.len();
    let key = crate::vault::load_key(config.vault.key_file.as_deref(), sealed == 0)?;
    let Some(key) = key else {
        let declared = vaults.iter().any(|v| {
            !v.credentials.is_empty()
                || v.provider
                    .as_ref()
                    .is_some_and(|p| p.client_secret.is_some())
        });
        if declared {
            return Err(StartError::Other(format!(
                "the configuration puts credentials in the vault but no vault key is configured: set {} or `vault.keyFile`",
                crate::vault::KEY_ENV
            )));
        }
        Vault::require_none_sealed(store.as_ref()).await?;
        return Ok(None);
    };
    Ok(Some(Vault::open(key, Arc::clone(store)).await?))
}

/// Seals what the configuration declares (provider client secrets, credentials) and removes the
/// credentials it declared before but no longer does. Unchanged values are left as they are.
async fn sync_vault(
    store: &dyn Store,
    vault: &Vault,
    vaults: &[ConnectionVault],
) -> Result<(), StartError> {
    let now = now();
    let mut declared: Vec<(String, String)> = Vec::new();
    for v in vaults {
        let mut wanted: Vec<(Owner, SecretKind, String, Option<String>)> = Vec::new();
        if let Some(secret) = v.provider.as_ref().and_then(|p| p.client_secret.as_ref()) {
            let secret = resolve_secret(secret, &format!("connection `{}` provider", v.id))?;
            wanted.push((Owner::Provider, SecretKind::ClientSecret, secret, None));
        }
        for c in &v.credentials {
            let owner = match (&c.user, &c.tenant) {
                (Some(u), _) => Owner::User(u.clone()),
                (None, Some(t)) => Owner::Tenant(t.clone()),
                (None, None) => continue,
            };
            let what = format!("connection `{}` credential of `{owner}`", v.id);
            let (kind, secret) = match (&c.certificate_file, c.secret_field()) {
                (Some(path), _) => {
                    let text = std::fs::read_to_string(path).map_err(|e| {
                        StartError::Other(format!("{what}: cannot read `{}`: {e}", path.display()))
                    })?;
                    (SecretKind::Certificate, text)
                }
                (None, Some((kind, value))) => (kind, resolve_secret(value, &what)?),
                (None, None) => continue,
            };
            wanted.push((owner, kind, secret, c.scope.clone()));
        }
        for (owner, kind, secret, scope) in wanted {
            declared.push((v.id.clone(), owner.to_string()));
            let current = vault.get(&v.id, &owner).await?;
            let unchanged = current.as_ref().is_some_and(|c| {
                c.kind == kind
                    && c.source == Source::Config
                    && c.scope == scope
                    && bool::from(subtle::ConstantTimeEq::ct_eq(
                        c.secret.as_bytes(),
                        secret.as_bytes(),
                    ))
            });
            if !unchanged {
                let credential = Credential {
                    kind,
                    secret: &secret,
                    scope: scope.as_deref(),
                    source: Source::Config,
                };
                vault.put(&v.id, &owner, credential, now).await?;
            }
        }
    }
    for record in store.list_credentials().await? {
        if record.source == Source::Config
            && !declared
                .iter()
                .any(|(c, o)| *c == record.connection_id && *o == record.owner)
        {
            store
                .delete_credential(&record.connection_id, &record.owner)
                .await?;
        }
    }
    Ok(())
}

/// Writes what the configuration declares into the store (idempotently) and removes what it
/// declared before but no longer does. Secrets are stored as argon2id hashes, rehashed only when
/// they change.
async fn sync_config(store: &dyn Store, config: &ServerConfig) -> Result<(), StartError> {
    let verifier = SecretVerifier::default();
    async fn put_secret(
        store: &dyn Store,
        verifier: &SecretVerifier,
        kind: Kind,
        id: &str,
        secret: &str,
    ) -> Result<(), StartError> {
        let current = store.get_secret(kind, id).await?;
        if current
            .as_deref()
            .is_some_and(|h| verifier.verify(h, secret))
        {
            return Ok(());
        }
        let hash = hash_secret(secret)
            .map_err(|e| StartError::Other(format!("cannot hash a secret: {e}")))?;
        store.put_secret(kind, id, &hash).await?;
        Ok(())
    }
    let mut ids = Vec::new();
    for client in &config.clients {
        let body = serde_json::to_value(client).map_err(|e| StartError::Other(e.to_string()))?;
        store
            .put_entity(Kind::Client, &client.client_id, &body, Source::Config)
            .await?;
        if let Some(secret) = &client.secret {
            let secret = resolve_secret(secret, &format!("client `{}`", client.client_id))?;
            put_secret(store, &verifier, Kind::Client, &client.client_id, &secret).await?;
        }
        ids.push(client.client_id.clone());
    }
    store.prune_config(Kind::Client, &ids).await?;
    ids.clear();
    for user in &config.users {
        let body = serde_json::to_value(user).map_err(|e| StartError::Other(e.to_string()))?;
        store
            .put_entity(Kind::User, &user.sub, &body, Source::Config)
            .await?;
        if let Some(password) = &user.password {
            let password = resolve_secret(password, &format!("user `{}`", user.sub))?;
            put_secret(store, &verifier, Kind::User, &user.sub, &password).await?;
        }
        ids.push(user.sub.clone());
    }
    store.prune_config(Kind::User, &ids).await?;
    // Connections are stored with their provider (never its secret), without their credentials.
    let mut connections = Vec::with_capacity(config.connections.len());
    for (i, c) in config.connections.iter().enumerate() {
        let (stored, _) = crate::config::stored_connection(c, &format!("connections[{i}]"))
            .map_err(|errors| StartError::Other(errors.join("\n")))?;
        connections.push(stored);
    }
    for (kind, items) in [
        (Kind::Resource, &config.resources),
        (Kind::Connection, &connections),
        (Kind::Policy, &config.policies),
    ] {
        ids.clear();
        for item in items {
            let id = item
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            store.put_entity(kind, &id, item, Source::Config).await?;
            ids.push(id);
        }
        store.prune_config(kind, &ids).await?;
    }
    Ok(())
}

/// Runs the server until Ctrl-C or SIGTERM.
pub async fn serve(config_path: &Path, engine: EngineChoice) -> Result<(), StartError> {
    let config = ServerConfig::from_file(config_path)?;
    // The document must be valid before anything is written: check it natively first.
    if let Err(e) = tollgate_engine::PolicySet::from_value(config.document()) {
        return Err(StartError::Policies(e.errors()));
    }
    let core = prepare(&config, engine).await?;
    let metrics = PrometheusBuilder::new().install_recorder().ok();
    if let Some(handle) = metrics.clone() {
        // Histograms keep every sample until upkeep drains them into their summaries: without
        // it, a server nobody scrapes grows by every request's samples (found by bench/soak.sh).
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tick.tick().await;
                handle.run_upkeep();
            }
        });
    }
    let admin_token = std::env::var("TOLLGATE_ADMIN_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
        .map(Arc::from);
    if admin_token.is_none() {
        tracing::info!("TOLLGATE_ADMIN_TOKEN is not set: the admin API is off");
    }
    let state = AppState {
        core: Arc::clone(&core),
        admin_token,
        metrics,
        publish_bundle: config.publish_policy_bundle,
        console: Arc::new(config.console.applied(&config.users)),
    };
    super::sync::spawn(Arc::clone(&core));
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| StartError::Other(format!("cannot listen on {}: {e}", config.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| StartError::Other(e.to_string()))?;
    tracing::info!(%addr, issuer = %core.issuer, "tollgate is serving");
    println!("tollgate: serving {} on http://{addr}", core.issuer);
    listen::serve(listener, app(state), shutdown()).await;
    // Nothing recorded before the shutdown is lost, unless the store stays out of reach.
    if tokio::time::timeout(Duration::from_secs(30), core.audit.flush())
        .await
        .is_err()
    {
        tracing::error!(
            "the store did not take the last audit events within 30 s; they were not stored"
        );
    }
    Ok(())
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

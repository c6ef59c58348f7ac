//! The store's operations, as a trait each backend implements.

use std::future::Future;
use std::pin::Pin;

use serde_json::Value;

use super::error::StoreError;
use super::records::{
    AuditFilter, AuditRecord, CredentialRecord, FlowKind, FlowRecord, Kind, NewAuditRecord, Source,
    StoredKey, TokenRecord, Versions,
};

/// Holds a store-wide lock ([`Store::lock`]) until dropped.
pub type ChangeLock = Box<dyn Send>;

/// The longest any store operation may take, whatever the database does (a statement is cut
/// off by the database after 5 s; this also bounds a connection that stops answering).
pub const OPERATION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The lock changes to entities and keys are made under.
pub const CHANGES: &str = "changes";

/// A boxed future of a store result (keeps the trait object-safe).
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// The operations the server needs from its store.
///
/// Every change that affects a decision or a token check (entities and their secrets, signing
/// keys, revocations, vault credentials) bumps its topic's version in the same transaction, so
/// that every server sharing the store can tell what to read again ([`Store::versions`],
/// [`Store::wait_for_change`]).
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// Creates or replaces an entity.
    fn put_entity<'a>(
        &'a self,
        kind: Kind,
        id: &'a str,
        body: &'a Value,
        source: Source,
    ) -> StoreFuture<'a, ()>;
    /// Reads an entity.
    fn get_entity<'a>(
        &'a self,
        kind: Kind,
        id: &'a str,
    ) -> StoreFuture<'a, Option<(Value, Source)>>;
    /// Every entity of a kind, ordered by id.
    fn list_entities(&self, kind: Kind) -> StoreFuture<'_, Vec<(String, Value, Source)>>;
    /// Deletes an entity (and its secret); whether it existed.
    fn delete_entity<'a>(&'a self, kind: Kind, id: &'a str) -> StoreFuture<'a, bool>;
    /// Deletes the config-declared entities of a kind that the configuration no longer declares.
    fn prune_config<'a>(&'a self, kind: Kind, keep: &'a [String]) -> StoreFuture<'a, u64>;

    /// Stores a secret hash.
    fn put_secret<'a>(&'a self, kind: Kind, id: &'a str, hash: &'a str) -> StoreFuture<'a, ()>;
    /// Reads a secret hash.
    fn get_secret<'a>(&'a self, kind: Kind, id: &'a str) -> StoreFuture<'a, Option<String>>;

    /// Every signing key, newest first.
    fn keys(&self) -> StoreFuture<'_, Vec<StoredKey>>;
    /// Adds a key and retires every other active key at `key.created_at`.
    fn rotate_in(&self, key: StoredKey) -> StoreFuture<'_, ()>;
    /// Deletes keys retired before `before` (their tokens have expired).
    fn drop_keys_retired_before(&self, before: i64) -> StoreFuture<'_, u64>;

    /// Records an issued token; false when its family was revoked first (the grant it came from
    /// was replayed meanwhile, perhaps at another server), when it is not recorded. A token
    /// recorded revoked is a revocation.
    fn insert_token<'a>(&'a self, token: &'a TokenRecord) -> StoreFuture<'a, bool>;
    /// Reads a token record.
    fn get_token<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<TokenRecord>>;
    /// Marks a refresh token used; false when it already was (a replay).
    fn use_token<'a>(&'a self, id: &'a str) -> StoreFuture<'a, bool>;
    /// Revokes one token; whether it was revoked now (false: unknown, or revoked before).
    fn revoke_token<'a>(&'a self, id: &'a str) -> StoreFuture<'a, bool>;
    /// Revokes every token of a refresh family not revoked yet; returns their ids and expiry
    /// times.
    fn revoke_family<'a>(&'a self, family: &'a str) -> StoreFuture<'a, Vec<(String, i64)>>;
    /// Revokes every token of a client (codes, refresh and recorded access tokens) not revoked
    /// yet; returns their ids and expiry times.
    fn revoke_client_tokens<'a>(
        &'a self,
        client_id: &'a str,
    ) -> StoreFuture<'a, Vec<(String, i64)>>;
    /// Revokes every token issued for user `sub` (codes, refresh and recorded access tokens of
    /// grants that carry a user; never a client's own `client_credentials` tokens) not revoked
    /// yet; returns their ids and expiry times.
    fn revoke_user_tokens<'a>(&'a self, sub: &'a str) -> StoreFuture<'a, Vec<(String, i64)>>;
    /// Deletes every flow of a kind that `owner` owns (a user's sessions); how many went.
    fn delete_flows_of<'a>(&'a self, kind: FlowKind, owner: &'a str) -> StoreFuture<'a, u64>;
    /// The ids and expiry times of revoked tokens that have not expired yet.
    fn revoked_tokens(&self, now: i64) -> StoreFuture<'_, Vec<(String, i64)>>;

    /// Records an assertion id; false when it was seen before and has not expired.
    fn use_assertion_id<'a>(
        &'a self,
        issuer: &'a str,
        jti: &'a str,
        expires_at: i64,
        now: i64,
    ) -> StoreFuture<'a, bool>;

    /// Appends an audit event; returns its sequence number.
    fn append_audit<'a>(&'a self, record: &'a NewAuditRecord<'a>) -> StoreFuture<'a, i64>;
    /// Appends several audit events in one transaction.
    fn append_audit_batch<'a>(&'a self, events: &'a [NewAuditRecord<'a>]) -> StoreFuture<'a, ()>;
    /// Audit events after `after`, oldest first, at most `limit`.
    fn audit_since(&self, after: i64, limit: i64) -> StoreFuture<'_, Vec<AuditRecord>>;
    /// Audit events matching `filter`, newest first (or oldest first), at most `limit`.
    fn audit_search<'a>(
        &'a self,
        filter: &'a AuditFilter,
        limit: i64,
    ) -> StoreFuture<'a, Vec<AuditRecord>>;

    /// Creates or replaces a sealed credential.
    fn put_credential<'a>(&'a self, record: &'a CredentialRecord) -> StoreFuture<'a, ()>;
    /// Reads a sealed credential.
    fn get_credential<'a>(
        &'a self,
        connection: &'a str,
        owner: &'a str,
    ) -> StoreFuture<'a, Option<CredentialRecord>>;
    /// Every sealed credential, ordered by connection and owner.
    fn list_credentials(&self) -> StoreFuture<'_, Vec<CredentialRecord>>;
    /// Deletes a credential; whether it existed.
    fn delete_credential<'a>(
        &'a self,
        connection: &'a str,
        owner: &'a str,
    ) -> StoreFuture<'a, bool>;
    /// Replaces the sealed values of these credentials, the private parts of these signing keys
    /// (`(kid, private)`) and writes the meta values, in one transaction (vault key rotation, and
    /// sealing signing keys stored before a vault key was configured).
    fn rekey_vault<'a>(
        &'a self,
        records: &'a [CredentialRecord],
        keys: &'a [(String, String)],
        meta: &'a [(&'a str, &'a str)],
    ) -> StoreFuture<'a, ()>;

    /// Reads a meta value.
    fn get_meta<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<String>>;
    /// Writes a meta value.
    fn put_meta<'a>(&'a self, key: &'a str, value: &'a str) -> StoreFuture<'a, ()>;

    /// Takes the store-wide lock `name`, held until the returned guard is dropped, by one server
    /// at a time across every server sharing the store: [`CHANGES`] for changes to entities and
    /// keys (each is checked against what the others stored before), one per vaulted provider
    /// credential for its refresh (providers rotate refresh tokens: two refreshes at once would
    /// spend the same one twice). Waiting for it is bounded like any operation.
    fn lock<'a>(&'a self, name: &'a str) -> StoreFuture<'a, ChangeLock>;
    /// The store-wide version of each topic.
    fn versions(&self) -> StoreFuture<'_, Versions>;
    /// Waits until the versions differ from `seen` (a change announced by another server, or by
    /// this one) or `within` has passed, and returns them as they are then.
    fn wait_for_change<'a>(
        &'a self,
        seen: Versions,
        within: std::time::Duration,
    ) -> StoreFuture<'a, Versions>;
    /// The ids and expiry times of tokens revoked after the revocations version `after` that
    /// have not expired yet.
    fn revoked_since(&self, after: i64, now: i64) -> StoreFuture<'_, Vec<(String, i64)>>;

    /// Creates or replaces a flow. Its owner keeps at most `owner_cap` flows of the kind (its
    /// oldest go); an evictable flow's kind keeps at most `cap` evictable flows (expired ones go,
    /// then those closest to expiry).
    fn put_flow<'a>(
        &'a self,
        flow: &'a FlowRecord,
        cap: i64,
        owner_cap: i64,
        now: i64,
    ) -> StoreFuture<'a, ()>;
    /// Replaces a flow's owner and body, if it is still there, unexpired and `owner`'s; whether
    /// it was.
    fn update_flow<'a>(
        &'a self,
        flow: &'a FlowRecord,
        owner: &'a str,
        now: i64,
    ) -> StoreFuture<'a, bool>;
    /// Reads a flow that has not expired.
    fn get_flow<'a>(
        &'a self,
        kind: FlowKind,
        id: &'a str,
        now: i64,
    ) -> StoreFuture<'a, Option<FlowRecord>>;
    /// Reads and deletes a flow of `owner` that has not expired, as one step: of two servers
    /// taking the same flow, one gets it.
    fn take_flow<'a>(
        &'a self,
        kind: FlowKind,
        id: &'a str,
        owner: &'a str,
        now: i64,
    ) -> StoreFuture<'a, Option<FlowRecord>>;
    /// Deletes a flow; whether it existed.
    fn delete_flow<'a>(&'a self, kind: FlowKind, id: &'a str) -> StoreFuture<'a, bool>;
    /// How many flows of a kind (of one owner, when given) have not expired.
    fn count_flows<'a>(
        &'a self,
        kind: FlowKind,
        owner: Option<&'a str>,
        now: i64,
    ) -> StoreFuture<'a, i64>;
    /// Deletes expired flows and assertion ids; how many flows went.
    fn purge_expired(&self, now: i64) -> StoreFuture<'_, u64>;
}

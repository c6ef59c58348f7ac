//! What the policy engine is asked: the engine's view of a client, a user and the request's
//! context, built the same way for every grant and for the consent page; and running the engine
//! with its decision audited.

use serde_json::{Map, Value, json};
use tollgate_engine::{
    Auth, Client, Context, Decision, GrantType, Reason, Request, StepUp, Target, User,
};

use super::client_auth::AuthenticatedClient;
use super::error::OAuthError;
use super::params::Params;
use super::state::Core;
use crate::audit::Event;
use crate::config::ClientConfig;
use crate::directory::{Directory, ResourceInfo};

/// The engine's view of an authenticated client.
pub fn engine_client(client: &AuthenticatedClient) -> Client {
    engine_client_of(&client.config)
}

/// The engine's view of a client.
pub fn engine_client_of(c: &ClientConfig) -> Client {
    Client {
        client_id: Some(c.client_id.clone()),
        name: c.name.clone(),
        tags: Some(c.tags.clone()),
        registration_type: Some(c.registration_type.as_str().to_owned()),
        status: Some(c.status.as_str().to_owned()),
        allowed_scopes: (!c.allowed_scopes.is_empty()).then(|| c.allowed_scopes.clone()),
        tenant_id: c.tenant_id.clone(),
    }
}

/// The engine request every grant starts from; grants with a user, claims or an actor set those.
pub fn engine_request(
    grant: GrantType,
    client: &AuthenticatedClient,
    resource: &ResourceInfo,
    requested_scopes: Option<Vec<String>>,
    params: &Params,
) -> Request {
    Request {
        grant_type: grant,
        client: Some(engine_client(client)),
        user: None,
        claims: None,
        actor: None,
        subject: None,
        auth: None,
        target: Target::Resource(resource.id.clone()),
        requested_scopes,
        consented_scopes: None,
        context: Some(context(params)),
        explain: false,
    }
}

/// The engine's view of a user: as configured, or only its `sub` when it is not a configured user.
pub fn engine_user(directory: &Directory, sub: &str) -> User {
    match directory.users.get(sub) {
        Some(u) => engine_user_of(u),
        None => User {
            sub: Some(sub.to_owned()),
            ..User::default()
        },
    }
}

/// The engine's view of a configured user.
pub fn engine_user_of(u: &crate::config::UserConfig) -> User {
    User {
        sub: Some(u.sub.clone()),
        roles: Some(u.roles.clone()),
        tenant_ids: Some(u.tenant_ids.clone()),
        permissions: Some(u.permissions.clone()),
    }
}

/// The request's context: the caller's address and the request's time.
pub fn context(params: &Params) -> Context {
    Context {
        ip: params.ip,
        time: jiff::Timestamp::from_second(params.now).ok(),
    }
}

/// The authentication level (`acr`) of a sign-in with one factor: a password, or an identity
/// provider's sign-in that reports no second factor.
pub const ONE_FACTOR: &str = "urn:tollgate:loa:1";
/// The authentication level (`acr`) of a sign-in with two factors (a password and a one-time
/// code).
pub const TWO_FACTORS: &str = "urn:tollgate:loa:2";

/// The level of a sign-in with these methods (`amr` values).
pub fn level_of(methods: &[String]) -> &'static str {
    let second = methods
        .iter()
        .any(|m| matches!(m.as_str(), "otp" | "hwk" | "mfa"));
    if second && methods.len() > 1 {
        TWO_FACTORS
    } else {
        ONE_FACTOR
    }
}

/// The claims that say how the user authenticated (OpenID Connect Core section 2, RFC 9068
/// section 2.2.1): `auth_time`, `amr` and `acr`. A code keeps them, the tokens of its grant carry
/// them, refresh tokens keep them, and an exchange carries them on.
pub fn auth_claims(auth_time: i64, methods: &[String]) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert("auth_time".into(), json!(auth_time));
    claims.insert("amr".into(), json!(methods));
    claims.insert("acr".into(), json!(level_of(methods)));
    claims
}

/// How the user authenticated, for policies (`auth.*`), from the claims a grant carries, at
/// `now`: the engine's own reading of `amr`, `acr` and `auth_time`.
pub fn engine_auth(claims: &Map<String, Value>, now: i64) -> Option<Auth> {
    Auth::from_token_claims(claims, jiff::Timestamp::from_second(now).ok())
}

/// A sign-in younger than this is not asked for again, and a policy wanting one younger than
/// this is not offered as a step-up: the redirect from the sign-in to the consent takes time (and
/// servers' clocks differ a little), so asking could go round in circles.
pub const STEP_UP_GRACE_SECONDS: u64 = 2;

/// What a new sign-in of a user can give: a password, and a one-time code when the user has set
/// up a second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInCan {
    /// The user has a second factor (`otp`, level [`TWO_FACTORS`]).
    pub second_factor: bool,
}

impl SignInCan {
    /// What a new sign-in of `sub` can give (`None`: no user, nothing beyond a password matters).
    /// A second factor that cannot be read counts as none.
    pub async fn of(core: &Core, sub: Option<&str>) -> SignInCan {
        let second_factor = match sub {
            Some(sub) => super::second_factor::enrolled(core, sub)
                .await
                .unwrap_or(false),
            None => false,
        };
        SignInCan { second_factor }
    }

    /// Whether a new sign-in can obtain what a step-up entry needs: only methods it uses (a
    /// password; `otp` with a second factor), a level it reaches (or any), an age it can still
    /// have when the user has consented.
    pub fn reaches(self, s: &StepUp<'_>) -> bool {
        let method = |m: &str| m == "pwd" || (self.second_factor && m == "otp");
        let level = |l: &str| {
            l == if self.second_factor {
                TWO_FACTORS
            } else {
                ONE_FACTOR
            }
        };
        s.methods.iter().all(|m| method(m))
            && (s.levels.is_empty() || s.levels.iter().any(|l| level(l)))
            && s.max_age.is_none_or(|age| age >= STEP_UP_GRACE_SECONDS)
    }

    /// The scopes `decision` refused (`not_allowed`) that a step-up entry this sign-in
    /// [`reaches`](SignInCan::reaches) would give, in the decision's order.
    pub fn refused_scopes<'d>(self, decision: &'d Decision<'_>) -> Vec<&'d str> {
        decision
            .scopes
            .iter()
            .filter(|s| s.reason == Some(Reason::NotAllowed))
            .map(|s| &*s.scope)
            .filter(|scope| {
                decision
                    .step_up
                    .iter()
                    .any(|s| self.reaches(s) && s.scopes.iter().any(|g| **g == **scope))
            })
            .collect()
    }
}

/// `insufficient_user_authentication` for a token request that explicitly asked (`scope`) for
/// scopes refused only because the user's sign-in is too old (or too weak) for the policy that
/// would give them, when a new sign-in through `/authorize` can give them: the client can act on
/// it (RFC 9470 defines the error for resource servers; here it is answered by the token
/// endpoint as well, with the same `max_age` / `acr_values`, as a 400 JSON error). `None`
/// otherwise: the grant narrows, or is refused, as without step-up.
pub fn step_up_refusal(
    decision: &Decision<'_>,
    params: &Params,
    can: SignInCan,
) -> Option<OAuthError> {
    params.get("scope")?;
    let refused = can.refused_scopes(decision);
    if refused.is_empty() {
        return None;
    }
    let needs = decision.step_up_for(&refused, |s| can.reaches(s))?;
    Some(OAuthError::insufficient_user_authentication(
        format!(
            "`{}` needs a more recent sign-in of the user: send the user through /authorize again",
            refused.join(" ")
        ),
        needs.levels,
        needs.max_age,
    ))
}

/// Runs the engine, audits the decision, and turns a refusal into the OAuth error.
pub fn decide(
    core: &Core,
    request: &Request,
    client_id: &str,
) -> Result<Decision<'static>, OAuthError> {
    let decision = decide_raw(core, request, client_id)?;
    permitted_or_refused(decision, request, client_id)
}

/// [`decide`] for a grant whose user can sign in again through `/authorize` (a refresh, an
/// exchange of a user's token): scopes it asked for that a new sign-in would give are
/// [`step_up_refusal`] first.
pub fn decide_with_step_up(
    core: &Core,
    request: &Request,
    client_id: &str,
    params: &Params,
    can: SignInCan,
) -> Result<Decision<'static>, OAuthError> {
    let decision = decide_raw(core, request, client_id)?;
    if let Some(refusal) = step_up_refusal(&decision, params, can) {
        return Err(refusal);
    }
    permitted_or_refused(decision, request, client_id)
}

fn permitted_or_refused(
    decision: Decision<'static>,
    request: &Request,
    client_id: &str,
) -> Result<Decision<'static>, OAuthError> {
    if decision.permitted {
        return Ok(decision);
    }
    if decision
        .scopes
        .iter()
        .any(|s| s.reason == Some(tollgate_engine::Reason::UnknownTarget))
    {
        return Err(OAuthError::invalid_target(format!(
            "unknown target `{}`",
            request.target.id()
        )));
    }
    Err(OAuthError::invalid_scope(format!(
        "no requested scope may be granted to `{client_id}` on `{}`",
        request.target.id()
    )))
}

/// Runs the engine and audits the decision, permitted or not.
pub fn decide_raw(
    core: &Core,
    request: &Request,
    client_id: &str,
) -> Result<Decision<'static>, OAuthError> {
    let (decision, version) = core.policy.decide(request).map_err(|e| match e {
        crate::runtime::RuntimeError::Trap(_) => {
            tracing::warn!(error = %e, "the policy engine ran past its deadline or limits");
            OAuthError::busy("the policy engine is busy; try again", 1)
        }
        other => {
            tracing::error!(error = %other, "the policy engine failed");
            OAuthError::server_error()
        }
    })?;
    core.audit.record(Event::Decision {
        client_id: client_id.to_owned(),
        grant_type: request.grant_type.as_str(),
        target: request.target.id().to_owned(),
        policy_version: version,
        decision: Box::new(decision.clone()),
    });
    Ok(decision)
}

/// The user's configured claims, as `jwtClaims.*` for policies and as claims of the token.
pub fn user_claims(directory: &Directory, sub: &str) -> Value {
    Value::Object(
        directory
            .users
            .get(sub)
            .map(|u| u.claims.clone())
            .unwrap_or_default(),
    )
}

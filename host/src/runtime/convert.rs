//! The engine's request and decision as the WIT records, and back. Field for field: the guest
//! reads the one text field, the claims' JSON, with the engine's own deserializer.

use std::net::IpAddr;

use tollgate_engine as engine;

use super::bindings::wit;

/// A request made ready for lowering: the string lists as slices of `&str` and the claims
/// rendered as JSON, all borrowed from the engine request, so lowering copies each string once, straight
/// into guest memory, without an owned copy on the host first.
///
/// Every engine request type is destructured here without `..`, in [`Staged::new`] and
/// [`Staged::request`] alike: a field added to the engine's request fails to compile until it is
/// carried across, instead of being dropped on the way into the component.
pub(super) struct Staged<'r> {
    request: &'r engine::Request,
    tags: Option<Vec<&'r str>>,
    allowed: Option<Vec<(&'r str, Vec<&'r str>)>>,
    roles: Option<Vec<&'r str>>,
    tenant_ids: Option<Vec<&'r str>>,
    permissions: Option<Vec<&'r str>>,
    requested: Option<Vec<&'r str>>,
    consented: Option<Vec<&'r str>>,
    claims: Option<String>,
}

fn strs(list: Option<&Vec<String>>) -> Option<Vec<&str>> {
    list.map(|l| l.iter().map(String::as_str).collect())
}

impl<'r> Staged<'r> {
    pub(super) fn new(r: &'r engine::Request) -> Staged<'r> {
        let engine::Request {
            grant_type: _,
            client,
            user,
            claims,
            actor: _,
            subject: _,
            target: _,
            requested_scopes,
            consented_scopes,
            context: _,
            explain: _,
        } = r;
        let (tags, allowed) = match client {
            None => (None, None),
            Some(engine::Client {
                client_id: _,
                name: _,
                tags,
                registration_type: _,
                status: _,
                allowed_scopes,
                tenant_id: _,
            }) => (
                strs(tags.as_ref()),
                allowed_scopes.as_ref().map(|m| {
                    m.iter()
                        .map(|(target, scopes)| {
                            (target.as_str(), strs(Some(scopes)).unwrap_or_default())
                        })
                        .collect()
                }),
            ),
        };
        let (roles, tenant_ids, permissions) = match user {
            None => (None, None, None),
            Some(engine::User {
                sub: _,
                roles,
                tenant_ids,
                permissions,
            }) => (
                strs(roles.as_ref()),
                strs(tenant_ids.as_ref()),
                strs(permissions.as_ref()),
            ),
        };
        Staged {
            request: r,
            tags,
            allowed,
            roles,
            tenant_ids,
            permissions,
            requested: strs(requested_scopes.as_ref()),
            consented: strs(consented_scopes.as_ref()),
            claims: claims.as_ref().map(|c| c.to_string()),
        }
    }

    /// The client's configured scopes as WIT records, which [`Staged::request`] borrows.
    pub(super) fn allowed(&self) -> Option<Vec<wit::TargetScopes<'_>>> {
        self.allowed.as_ref().map(|list| {
            list.iter()
                .map(|(target, scopes)| wit::TargetScopes { target, scopes })
                .collect()
        })
    }

    /// The WIT request.
    pub(super) fn request<'s>(
        &'s self,
        allowed: Option<&'s [wit::TargetScopes<'s>]>,
    ) -> wit::Request<'s> {
        // The lists and the claims were staged by `new`; every other field is read here.
        let engine::Request {
            grant_type,
            client,
            user,
            claims: _,
            actor,
            subject,
            target,
            requested_scopes: _,
            consented_scopes: _,
            context,
            explain,
        } = self.request;
        wit::Request {
            grant_type: match grant_type {
                engine::GrantType::ClientCredentials => wit::GrantType::ClientCredentials,
                engine::GrantType::AuthorizationCode => wit::GrantType::AuthorizationCode,
                engine::GrantType::TokenExchange => wit::GrantType::TokenExchange,
                engine::GrantType::JwtBearer => wit::GrantType::JwtBearer,
            },
            client: client.as_ref().map(
                |engine::Client {
                     client_id,
                     name,
                     tags: _,
                     registration_type,
                     status,
                     allowed_scopes: _,
                     tenant_id,
                 }| wit::Client {
                    client_id: client_id.as_deref(),
                    name: name.as_deref(),
                    tags: self.tags.as_deref(),
                    registration_type: registration_type.as_deref(),
                    status: status.as_deref(),
                    allowed_scopes: allowed,
                    tenant_id: tenant_id.as_deref(),
                },
            ),
            user: user.as_ref().map(
                |engine::User {
                     sub,
                     roles: _,
                     tenant_ids: _,
                     permissions: _,
                 }| wit::User {
                    sub: sub.as_deref(),
                    roles: self.roles.as_deref(),
                    tenant_ids: self.tenant_ids.as_deref(),
                    permissions: self.permissions.as_deref(),
                },
            ),
            claims: self.claims.as_deref(),
            actor: actor
                .as_ref()
                .map(|engine::Actor { client_id, sub }| wit::Actor {
                    client_id: client_id.as_deref(),
                    sub: sub.as_deref(),
                }),
            subject: subject.as_ref().map(
                |engine::Subject {
                     client_id,
                     audience,
                 }| wit::Subject {
                    client_id: client_id.as_deref(),
                    audience: audience.as_deref(),
                },
            ),
            target: match target {
                engine::Target::Resource(id) => wit::Target::Resource(id),
                engine::Target::Connection(id) => wit::Target::Connection(id),
            },
            requested_scopes: self.requested.as_deref(),
            consented_scopes: self.consented.as_deref(),
            context: context
                .as_ref()
                .map(|engine::Context { ip, time }| wit::Context {
                    ip: ip.map(ip_to_wit),
                    time: time.map(instant_to_wit),
                }),
            explain: *explain,
        }
    }
}

fn ip_to_wit(ip: IpAddr) -> wit::IpAddress {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            wit::IpAddress::Ipv4((a, b, c, d))
        }
        IpAddr::V6(v6) => {
            let [a, b, c, d, e, f, g, h] = v6.segments();
            wit::IpAddress::Ipv6((a, b, c, d, e, f, g, h))
        }
    }
}

/// Seconds since the epoch, rounded down, and the nanoseconds after them: an instant before the
/// epoch has negative seconds and still a nanosecond count from 0 up. (jiff gives the fraction
/// the sign of the whole, so -1.5 s is -1 s and -500,000,000 ns: that becomes -2 s and
/// 500,000,000 ns.)
fn instant_to_wit(time: jiff::Timestamp) -> wit::Instant {
    let (seconds, nanoseconds) = match (time.as_second(), time.subsec_nanosecond()) {
        (seconds, nanoseconds) if nanoseconds < 0 => (seconds - 1, nanoseconds + 1_000_000_000),
        whole_and_fraction => whole_and_fraction,
    };
    wit::Instant {
        seconds,
        nanoseconds: nanoseconds.unsigned_abs(),
    }
}

fn names(list: Vec<String>) -> Vec<engine::Name<'static>> {
    list.into_iter().map(engine::Name::from).collect()
}

pub(super) fn decision_from_wit(d: wit::Decision) -> engine::Decision<'static> {
    engine::Decision {
        permitted: d.permitted,
        granted: names(d.granted),
        scopes: d
            .scopes
            .into_iter()
            .map(|s| engine::ScopeDecision {
                scope: s.scope.into(),
                granted: s.granted,
                by: names(s.by),
                reason: s.reason.map(|r| match r {
                    wit::Reason::UnknownTarget => engine::Reason::UnknownTarget,
                    wit::Reason::UnknownScope => engine::Reason::UnknownScope,
                    wit::Reason::NotAllowed => engine::Reason::NotAllowed,
                    wit::Reason::ClientConfig => engine::Reason::ClientConfig,
                    wit::Reason::NotConsented => engine::Reason::NotConsented,
                }),
            })
            .collect(),
        matched: names(d.matched),
        dry_run: d
            .dry_run
            .into_iter()
            .map(|r| engine::DryRun {
                policy: r.policy.into(),
                would_add: names(r.would_add),
                would_permit: r.would_permit,
            })
            .collect(),
        not_matched: d
            .not_matched
            .into_iter()
            .map(|n| engine::NotMatched {
                policy: n.policy.into(),
                failed: n.failed.into(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_count_whole_seconds_down_and_nanoseconds_up() {
        for text in [
            "1970-01-01T00:00:00Z",
            "1969-12-31T23:59:59.5Z",
            "1969-12-31T23:59:59.000000001Z",
            "1969-12-31T23:59:59Z",
            "2026-11-23T02:00:00.5Z",
            "-009999-01-02T01:59:59Z",
            "9999-12-30T22:00:00.999999999Z",
        ] {
            let time: jiff::Timestamp = text.parse().expect("an instant");
            let wit = instant_to_wit(time);
            assert!(wit.nanoseconds < 1_000_000_000, "{text}");
            assert_eq!(
                i128::from(wit.seconds) * 1_000_000_000 + i128::from(wit.nanoseconds),
                time.as_nanosecond(),
                "{text}"
            );
        }
        let half = instant_to_wit("1969-12-31T23:59:59.5Z".parse().expect("an instant"));
        assert_eq!((half.seconds, half.nanoseconds), (-1, 500_000_000));
    }

    #[test]
    fn addresses_keep_their_family_and_bits() {
        let v4 = ip_to_wit("10.1.2.3".parse().expect("an address"));
        assert!(matches!(v4, wit::IpAddress::Ipv4((10, 1, 2, 3))));
        let mapped = ip_to_wit("::ffff:10.1.2.3".parse().expect("an address"));
        assert!(matches!(
            mapped,
            wit::IpAddress::Ipv6((0, 0, 0, 0, 0, 0xffff, 0x0a01, 0x0203))
        ));
    }

    /// The guest receives `allowedScopes` as a WIT list, which can name a target twice, and its
    /// claims as JSON text: it refuses a repeated key by the engine's rule, in the engine's words.
    #[test]
    fn the_guest_refuses_a_key_given_twice_as_the_engine_does() {
        let compiled = super::super::ComponentEngine::embedded(super::super::Limits::default())
            .expect("the embedded component compiles");
        let mut set = compiled
            .load(
                r#"{"version": 1,
                    "resources": [{"id": "api", "audience": "https://api.example.com", "kind": "api", "scopes": ["read"]}],
                    "policies": [{"id": "p", "targets": [{"resource": "api", "scopes": ["read"]}]}]}"#,
            )
            .expect("loads");
        let mut decide = |allowed: &[wit::TargetScopes<'_>], claims: Option<&str>| {
            let request = wit::Request {
                grant_type: wit::GrantType::ClientCredentials,
                client: Some(wit::Client {
                    client_id: Some("agent"),
                    name: None,
                    tags: None,
                    registration_type: None,
                    status: None,
                    allowed_scopes: Some(allowed),
                    tenant_id: None,
                }),
                user: None,
                claims,
                actor: None,
                subject: None,
                target: wit::Target::Resource("api"),
                requested_scopes: None,
                consented_scopes: None,
                context: None,
                explain: true,
            };
            set.instance
                .tollgate_policy_engine()
                .policy_set()
                .call_decide(&mut set.store, set.set, request)
                .expect("no trap")
                .map(|d| d.granted)
        };
        let read: &[&str] = &["read"];
        let once = [wit::TargetScopes {
            target: "api",
            scopes: read,
        }];
        assert_eq!(
            decide(&once, Some(r#"{"dept": "ops"}"#)),
            Ok(vec!["read".to_owned()])
        );

        let twice = [
            wit::TargetScopes {
                target: "api",
                scopes: read,
            },
            wit::TargetScopes {
                target: "api",
                scopes: &[],
            },
        ];
        let expected = engine::Client::allowed_scopes_from_entries([
            ("api".to_owned(), vec!["read".to_owned()]),
            ("api".to_owned(), Vec::new()),
        ])
        .expect_err("a target given twice")
        .to_string();
        assert_eq!(decide(&twice, None), Err(expected.clone()));
        // A JSON request with the same map is refused with the same words, and where.
        let json = engine::parse_request(
            r#"{"grantType": "client_credentials", "target": {"resource": "api"},
                "client": {"allowedScopes": {"api": ["read"], "api": []}}}"#,
        )
        .expect_err("a key written twice")
        .to_string();
        assert!(json.starts_with(&format!("{expected} at line ")), "{json}");

        let claims = r#"{"dept": "ops", "dept": "finance"}"#;
        let expected = engine::parse_claims(claims)
            .expect_err("a claim written twice")
            .to_string();
        assert!(
            expected.contains("claims: duplicate key `dept`"),
            "{expected}"
        );
        assert_eq!(decide(&once, Some(claims)), Err(expected));
    }
}

//! The engine's request and decision as the WIT records, and back. Field for field: the guest
//! reads the one text field, the claims' JSON, with the engine's own deserializer.

use std::net::IpAddr;

use tollgate_engine as engine;
use tollgate_engine::compact::{self, ABSENT, flag};

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
    methods: Option<Vec<&'r str>>,
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
            auth,
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
            methods: auth.as_ref().and_then(
                |engine::Auth {
                     methods,
                     level: _,
                     age: _,
                 }| strs(methods.as_ref()),
            ),
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
            auth,
            target,
            requested_scopes: _,
            consented_scopes: _,
            context,
            explain,
        } = self.request;
        wit::Request {
            grant_type: grant_type_to_wit(*grant_type),
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
            auth: auth.as_ref().map(
                |engine::Auth {
                     methods: _,
                     level,
                     age,
                 }| wit::Auth {
                    methods: self.methods.as_deref(),
                    level: level.as_deref(),
                    age: *age,
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

/// The most a compact request's text may hold: its offsets are 32-bit, and 0xffffffff means
/// absent.
const TEXT_LIMIT: usize = (u32::MAX - 1) as usize;

/// Packs requests into the compact form of `decide-compact` (the `compact` record of
/// wit/tollgate.wit): every string appended to one text, every field a word. The buffers are kept
/// and reused, so a decision lowers two blocks into the guest and allocates nothing on the host
/// once they have grown to the size of the requests seen.
#[derive(Debug, Default)]
pub(super) struct Packer(compact::Writer);

impl Packer {
    /// The request in compact form, borrowing this packer's buffers.
    ///
    /// Every engine request type is destructured without `..`, as in [`Staged`]: a field added to
    /// the engine's request fails to compile until it is carried across.
    pub(super) fn pack(
        &mut self,
        request: &engine::Request,
    ) -> Result<wit::CompactParam<'_>, String> {
        use std::fmt::Write as _;

        let w = &mut self.0;
        w.clear();
        let engine::Request {
            grant_type,
            client,
            user,
            claims,
            actor,
            subject,
            auth,
            target,
            requested_scopes,
            consented_scopes,
            context,
            explain,
        } = request;
        w.word(compact::grant_type_code(*grant_type));
        let (ip, time) = match context {
            Some(engine::Context { ip, time }) => (*ip, *time),
            None => (None, None),
        };
        let flags = [
            (client.is_some(), flag::CLIENT),
            (user.is_some(), flag::USER),
            (actor.is_some(), flag::ACTOR),
            (subject.is_some(), flag::SUBJECT),
            (*explain, flag::EXPLAIN),
            (
                matches!(target, engine::Target::Connection(_)),
                flag::CONNECTION,
            ),
            (ip.is_some(), flag::ADDRESS),
            (time.is_some(), flag::TIME),
            (auth.is_some(), flag::AUTH),
        ]
        .into_iter()
        .filter(|(set, _)| *set)
        .fold(0, |flags, (_, bit)| flags | bit);
        w.word(flags);
        if let Some(engine::Client {
            client_id,
            name,
            tags,
            registration_type,
            status,
            allowed_scopes,
            tenant_id,
        }) = client
        {
            w.opt_str(client_id.as_deref());
            w.opt_str(name.as_deref());
            w.opt_list(tags.as_deref());
            w.opt_str(registration_type.as_deref());
            w.opt_str(status.as_deref());
            match allowed_scopes {
                Some(map) => {
                    w.word(map.len() as u32);
                    for (target, scopes) in map {
                        w.str(target);
                        w.list(scopes);
                    }
                }
                None => w.word(ABSENT),
            }
            w.opt_str(tenant_id.as_deref());
        }
        if let Some(engine::User {
            sub,
            roles,
            tenant_ids,
            permissions,
        }) = user
        {
            w.opt_str(sub.as_deref());
            w.opt_list(roles.as_deref());
            w.opt_list(tenant_ids.as_deref());
            w.opt_list(permissions.as_deref());
        }
        match claims {
            Some(claims) => {
                let start = w.text.len();
                // Straight into the text: `Value`'s `Display` writes compact JSON.
                write!(w.text, "{claims}")
                    .map_err(|e| format!("claims: cannot write them as JSON: {e}"))?;
                w.words
                    .extend([start as u32, (w.text.len() - start) as u32]);
            }
            None => w.words.extend([ABSENT, 0]),
        }
        if let Some(engine::Actor { client_id, sub }) = actor {
            w.opt_str(client_id.as_deref());
            w.opt_str(sub.as_deref());
        }
        if let Some(engine::Subject {
            client_id,
            audience,
        }) = subject
        {
            w.opt_str(client_id.as_deref());
            w.opt_str(audience.as_deref());
        }
        match target {
            engine::Target::Resource(id) | engine::Target::Connection(id) => w.str(id),
        }
        w.opt_list(requested_scopes.as_deref());
        w.opt_list(consented_scopes.as_deref());
        match ip {
            Some(IpAddr::V4(v4)) => w.words.extend([4, v4.to_bits()]),
            Some(IpAddr::V6(v6)) => {
                let bits = v6.to_bits();
                w.word(6);
                for shift in [96, 64, 32, 0] {
                    w.word((bits >> shift) as u32);
                }
            }
            None => {}
        }
        if let Some(time) = time {
            let instant = instant_to_wit(time);
            let seconds = u64::from_ne_bytes(instant.seconds.to_ne_bytes());
            w.words
                .extend([seconds as u32, (seconds >> 32) as u32, instant.nanoseconds]);
        }
        if let Some(engine::Auth {
            methods,
            level,
            age,
        }) = auth
        {
            w.opt_list(methods.as_deref());
            w.opt_str(level.as_deref());
            w.opt_u64(*age);
        }
        if w.text.len() > TEXT_LIMIT {
            return Err(format!(
                "the request's {} bytes of names cannot cross into the engine (at most \
                 {TEXT_LIMIT})",
                w.text.len()
            ));
        }
        Ok(wit::CompactParam {
            text: &w.text,
            words: &w.words,
        })
    }
}

fn grant_type_to_wit(grant_type: engine::GrantType) -> wit::GrantType {
    match grant_type {
        engine::GrantType::ClientCredentials => wit::GrantType::ClientCredentials,
        engine::GrantType::AuthorizationCode => wit::GrantType::AuthorizationCode,
        engine::GrantType::TokenExchange => wit::GrantType::TokenExchange,
        engine::GrantType::JwtBearer => wit::GrantType::JwtBearer,
    }
}

fn reason_from_wit(reason: wit::Reason) -> engine::Reason {
    match reason {
        wit::Reason::UnknownTarget => engine::Reason::UnknownTarget,
        wit::Reason::UnknownScope => engine::Reason::UnknownScope,
        wit::Reason::NotAllowed => engine::Reason::NotAllowed,
        wit::Reason::ClientConfig => engine::Reason::ClientConfig,
        wit::Reason::NotConsented => engine::Reason::NotConsented,
    }
}

/// Reads a compact decision. Anything that does not read is the guest's fault, not the
/// request's: the caller discards the instance.
struct Unpacker<'d> {
    text: &'d str,
    words: std::slice::Iter<'d, u32>,
    /// Where the next name must start: names lie in the text one after the other, so reading a
    /// decision copies at most its text once, whatever the words say.
    cursor: usize,
}

impl Unpacker<'_> {
    fn word(&mut self) -> Result<u32, String> {
        self.words
            .next()
            .copied()
            .ok_or_else(|| "the engine component's compact decision ends too soon".to_owned())
    }

    fn flag(&mut self) -> Result<bool, String> {
        match self.word()? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(format!(
                "the engine component's compact decision has {other} where 0 or 1 belongs"
            )),
        }
    }

    fn name(&mut self) -> Result<engine::Name<'static>, String> {
        let offset = self.word()?;
        let length = self.word()?;
        let start = offset as usize;
        if start != self.cursor {
            return Err(format!(
                "the engine component answered with a name at {offset}, not where the one \
                 before it ended ({})",
                self.cursor
            ));
        }
        let name = start
            .checked_add(length as usize)
            .and_then(|end| self.text.get(start..end))
            .ok_or_else(|| {
                format!(
                    "the engine component answered with {length} bytes at {offset}, outside its \
                     compact decision's text of {} bytes or off a character boundary",
                    self.text.len()
                )
            })?;
        self.cursor = start + name.len();
        Ok(engine::Name::Owned(name.to_owned()))
    }

    /// A count of entries that take at least two words each.
    fn count(&mut self) -> Result<usize, String> {
        let n = self.word()? as usize;
        if n > self.words.len() / 2 {
            return Err(format!(
                "the engine component's compact decision counts {n} entries in {} words",
                self.words.len()
            ));
        }
        Ok(n)
    }

    fn names(&mut self) -> Result<Vec<engine::Name<'static>>, String> {
        let n = self.count()?;
        (0..n).map(|_| self.name()).collect()
    }
}

/// The engine's decision from its compact form. The error says how the guest's answer is broken.
pub(super) fn decision_from_compact(
    d: &wit::CompactResult,
) -> Result<engine::Decision<'static>, String> {
    let mut u = Unpacker {
        text: &d.text,
        words: d.words.iter(),
        cursor: 0,
    };
    let permitted = u.flag()?;
    let granted = u.names()?;
    let scopes = (0..u.count()?)
        .map(|_| {
            Ok(engine::ScopeDecision {
                scope: u.name()?,
                granted: u.flag()?,
                reason: {
                    let code = u.word()?;
                    compact::reason_from_code(code).ok_or_else(|| {
                        format!("the engine component's compact decision has no reason {code}")
                    })?
                },
                by: u.names()?,
            })
        })
        .collect::<Result<_, String>>()?;
    let matched = u.names()?;
    let dry_run = (0..u.count()?)
        .map(|_| {
            Ok(engine::DryRun {
                policy: u.name()?,
                would_add: u.names()?,
                would_permit: u.flag()?,
            })
        })
        .collect::<Result<_, String>>()?;
    let not_matched = (0..u.count()?)
        .map(|_| {
            Ok(engine::NotMatched {
                policy: u.name()?,
                failed: u.name()?,
            })
        })
        .collect::<Result<_, String>>()?;
    let step_up = (0..u.count()?)
        .map(|_| {
            Ok(engine::StepUp {
                policy: u.name()?,
                scopes: u.names()?,
                methods: u.names()?,
                levels: u.names()?,
                max_age: compact::read_opt_u64(|| u.words.next().copied()).map_err(|what| {
                    format!("the engine component's compact decision's max age: {what}")
                })?,
            })
        })
        .collect::<Result<_, String>>()?;
    if u.words.len() != 0 {
        return Err(format!(
            "the engine component's compact decision has words left over: {}",
            u.words.len()
        ));
    }
    if u.cursor != u.text.len() {
        return Err(format!(
            "the engine component's compact decision has {} bytes of text, its names end at {}",
            u.text.len(),
            u.cursor
        ));
    }
    Ok(engine::Decision {
        permitted,
        granted,
        scopes,
        matched,
        dry_run,
        not_matched,
        step_up,
    })
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
                reason: s.reason.map(reason_from_wit),
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
        step_up: d
            .step_up
            .into_iter()
            .map(|s| engine::StepUp {
                policy: s.policy.into(),
                scopes: names(s.scopes),
                methods: names(s.methods),
                levels: names(s.levels),
                max_age: s.max_age,
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

    /// A compact decision that does not read is the guest's fault: the host refuses it (the
    /// runtime then discards the instance) instead of panicking or guessing.
    #[test]
    fn a_compact_decision_that_does_not_read_is_refused() {
        let decision = |words: &[u32]| wit::CompactResult {
            text: "readwritewritepp".into(),
            words: words.to_vec(),
        };
        // permitted; granted [read, write]; one scope `write` granted by [p]; matched [p]; no
        // dry run, nothing unmatched. Names lie in the text one after the other.
        let good = [1, 2, 0, 4, 4, 5, 1, 9, 5, 1, 0, 1, 14, 1, 1, 15, 1, 0, 0, 0];
        let read = decision_from_compact(&decision(&good)).expect("reads");
        assert_eq!(read.granted, ["read", "write"]);
        assert_eq!(read.scopes[0].scope, "write");
        assert_eq!(read.scopes[0].by, ["p"]);
        assert_eq!(read.matched, ["p"]);
        let mut longer = decision(&good);
        longer.text.push('x');
        let error = decision_from_compact(&longer).expect_err("refused");
        assert!(error.contains("its names end at 16"), "{error}");
        let broken: [(&str, Vec<u32>); 7] = [
            ("ends too soon", good[..good.len() - 1].to_vec()),
            ("left over", [&good[..], &[0]].concat()),
            ("outside its", [&[1, 1, 0, 99], &good[6..]].concat()),
            ("outside its", [&[1, 1, 0, u32::MAX], &good[6..]].concat()),
            // The same bytes named twice: every name must start where the one before ended.
            (
                "not where the one before it ended",
                [&[1, 2, 0, 4, 0, 4], &good[6..]].concat(),
            ),
            ("where 0 or 1 belongs", [&[2], &good[1..]].concat()),
            ("counts", [&[1, u32::MAX], &good[2..]].concat()),
        ];
        for (expected, words) in broken {
            let error = decision_from_compact(&decision(&words)).expect_err("refused");
            assert!(error.contains(expected), "{expected}: {error}");
        }
    }

    /// A request packs into one text and words in the documented order, which the guest reads
    /// back into the same request.
    #[test]
    fn a_request_packs_into_the_documented_words() {
        let request = engine::parse_request(
            r#"{"grantType": "token_exchange",
                "client": {"clientId": "app", "tags": ["ß"], "allowedScopes": {"api": ["read"]}},
                "user": {"sub": "alice", "roles": ["admin"]},
                "claims": {"dept": "ops"},
                "subject": {"audience": "aud"},
                "target": {"connection": "gh"},
                "requestedScopes": ["read"],
                "context": {"ip": "10.1.2.3", "time": "1969-12-31T23:59:59.5Z"},
                "auth": {"methods": ["otp"], "age": 4294967301},
                "explain": false}"#,
        )
        .expect("a request");
        let mut packer = Packer::default();
        let packed = packer.pack(&request).expect("packs");
        assert_eq!(
            packed.text,
            r#"appßapireadaliceadmin{"dept":"ops"}audghreadotp"#
        );
        let absent = [ABSENT, 0];
        let words: Vec<u32> = [
            &[
                2,
                flag::CLIENT
                    | flag::USER
                    | flag::SUBJECT
                    | flag::CONNECTION
                    | flag::ADDRESS
                    | flag::TIME
                    | flag::AUTH,
            ][..],
            // client: id, name, tags, registration type, status, allowed scopes, tenant
            &[0, 3],
            &absent,
            &[1, 3, 2],
            &absent,
            &absent,
            &[1, 5, 3, 1, 8, 4],
            &absent,
            // user: sub, roles, tenant ids, permissions
            &[12, 5],
            &[1, 17, 5],
            &[ABSENT],
            &[ABSENT],
            // claims, subject (client id, audience), target, requested, consented
            &[22, 14],
            &absent,
            &[36, 3],
            &[39, 2],
            &[1, 41, 4],
            &[ABSENT],
            // 10.1.2.3; -1 s (low, high) and half a second
            &[4, 0x0a01_0203],
            &[u32::MAX, u32::MAX, 500_000_000],
            // auth: methods, level, age 2^32 + 5 (present, low, high)
            &[1, 45, 3],
            &absent,
            &[1, 5, 1],
        ]
        .concat();
        assert_eq!(packed.words, words);
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
                auth: None,
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

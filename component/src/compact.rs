//! The compact request and decision of `decide-compact` (the `compact` record of
//! wit/tollgate.wit): every string in one text, every other field a 32-bit word in a fixed order.
//!
//! The canonical ABI has checked that the text is UTF-8 when it lowered it; reading a name here is
//! a bounds check and two character-boundary checks, then one copy (names still become the engine
//! request's `String`s; the claims are read in place). Whatever reads the request after that is the
//! typed path's: the client's `allowedScopes` through
//! [`engine::Client::allowed_scopes_from_entries`], the claims through [`engine::parse_claims`],
//! the time through the typed instant's conversion.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use tollgate_engine as engine;
use tollgate_engine::compact::flag::{
    ACTOR, ADDRESS, AUTH, CLIENT, CONNECTION, EXPLAIN, KNOWN as KNOWN_FLAGS, SUBJECT, TIME, USER,
};
use tollgate_engine::compact::{self as codes, ABSENT};

use super::{instant_from_wit, wit};

/// Reads a compact request, word by word. Strings must lie in `text` one after the other, in the
/// order the words name them, so reading a request copies at most its text once, whatever the
/// words say.
struct Reader<'r> {
    text: &'r str,
    words: std::slice::Iter<'r, u32>,
    /// Where the next string must start.
    cursor: usize,
}

fn invalid(field: &str, what: impl std::fmt::Display) -> engine::RequestError {
    engine::RequestError::Invalid(format!("compact request: {field}: {what}"))
}

impl<'r> Reader<'r> {
    fn word(&mut self, field: &str) -> Result<u32, engine::RequestError> {
        self.words
            .next()
            .copied()
            .ok_or_else(|| invalid(field, "the words end before it"))
    }

    fn at(
        &mut self,
        offset: u32,
        length: u32,
        field: &str,
    ) -> Result<&'r str, engine::RequestError> {
        let start = offset as usize;
        if start != self.cursor {
            return Err(invalid(
                field,
                format_args!(
                    "the string starts at {offset}, not where the one before it ended ({})",
                    self.cursor
                ),
            ));
        }
        let found = start
            .checked_add(length as usize)
            .and_then(|end| self.text.get(start..end))
            .ok_or_else(|| {
                invalid(
                    field,
                    format_args!(
                        "{length} bytes at {offset} are not within the text of {} bytes, or do \
                         not start and end on a character boundary",
                        self.text.len()
                    ),
                )
            })?;
        self.cursor = start + found.len();
        Ok(found)
    }

    fn string(&mut self, field: &str) -> Result<String, engine::RequestError> {
        let offset = self.word(field)?;
        let length = self.word(field)?;
        self.at(offset, length, field).map(String::from)
    }

    fn opt_str(&mut self, field: &str) -> Result<Option<&'r str>, engine::RequestError> {
        let offset = self.word(field)?;
        let length = self.word(field)?;
        match (offset, length) {
            (ABSENT, 0) => Ok(None),
            (ABSENT, _) => Err(invalid(field, "an absent string has the length 0")),
            _ => self.at(offset, length, field).map(Some),
        }
    }

    fn opt_string(&mut self, field: &str) -> Result<Option<String>, engine::RequestError> {
        self.opt_str(field).map(|s| s.map(String::from))
    }

    fn count(&mut self, field: &str) -> Result<Option<usize>, engine::RequestError> {
        match self.word(field)? {
            ABSENT => Ok(None),
            // Each entry takes at least two more words: a count beyond them is refused at once.
            n if n as usize > self.words.len() / 2 => Err(invalid(
                field,
                format_args!("a count of {n} is more than the words left"),
            )),
            n => Ok(Some(n as usize)),
        }
    }

    fn list(&mut self, count: usize, field: &str) -> Result<Vec<String>, engine::RequestError> {
        (0..count).map(|_| self.string(field)).collect()
    }

    fn opt_list(&mut self, field: &str) -> Result<Option<Vec<String>>, engine::RequestError> {
        match self.count(field)? {
            None => Ok(None),
            Some(n) => self.list(n, field).map(Some),
        }
    }

    fn client(&mut self) -> Result<engine::Client, engine::RequestError> {
        let client_id = self.opt_string("client.clientid")?;
        let name = self.opt_string("client.name")?;
        let tags = self.opt_list("client.tags")?;
        let registration_type = self.opt_string("client.registrationType")?;
        let status = self.opt_string("client.status")?;
        let allowed_scopes = match self.count("client.allowedScopes")? {
            None => None,
            Some(n) => {
                let entries = (0..n)
                    .map(|_| {
                        let target = self.string("client.allowedScopes")?;
                        let count = self.count("client.allowedScopes")?.ok_or_else(|| {
                            invalid(
                                "client.allowedScopes",
                                "a target's scopes are a list, which cannot be absent",
                            )
                        })?;
                        Ok((target, self.list(count, "client.allowedScopes")?))
                    })
                    .collect::<Result<Vec<_>, engine::RequestError>>()?;
                // A target listed twice is refused by the engine's rule, in the engine's words.
                Some(engine::Client::allowed_scopes_from_entries(entries)?)
            }
        };
        let tenant_id = self.opt_string("client.tenantId")?;
        Ok(engine::Client {
            client_id,
            name,
            tags,
            registration_type,
            status,
            allowed_scopes,
            tenant_id,
        })
    }

    fn user(&mut self) -> Result<engine::User, engine::RequestError> {
        Ok(engine::User {
            sub: self.opt_string("user.sub")?,
            roles: self.opt_list("user.roles")?,
            tenant_ids: self.opt_list("user.tenantIds")?,
            permissions: self.opt_list("user.permissions")?,
        })
    }

    fn address(&mut self) -> Result<IpAddr, engine::RequestError> {
        const FIELD: &str = "context.ip";
        match self.word(FIELD)? {
            4 => Ok(IpAddr::V4(Ipv4Addr::from_bits(self.word(FIELD)?))),
            6 => {
                let mut bits = 0u128;
                for _ in 0..4 {
                    bits = (bits << 32) | u128::from(self.word(FIELD)?);
                }
                Ok(IpAddr::V6(Ipv6Addr::from_bits(bits)))
            }
            other => Err(invalid(
                FIELD,
                format_args!("the address family is 4 or 6, not {other}"),
            )),
        }
    }

    fn auth(&mut self) -> Result<engine::Auth, engine::RequestError> {
        let methods = self.opt_list("auth.methods")?;
        let level = self.opt_string("auth.level")?;
        let age = codes::read_opt_u64(|| self.words.next().copied())
            .map_err(|what| invalid("auth.age", what))?;
        Ok(engine::Auth {
            methods,
            level,
            age,
        })
    }

    fn time(&mut self) -> Result<jiff::Timestamp, engine::RequestError> {
        const FIELD: &str = "context.time";
        let low = u64::from(self.word(FIELD)?);
        let high = u64::from(self.word(FIELD)?);
        let nanoseconds = self.word(FIELD)?;
        instant_from_wit(wit::Instant {
            seconds: i64::from_ne_bytes(((high << 32) | low).to_ne_bytes()),
            nanoseconds,
        })
    }
}

/// The compact request as the engine's request.
pub(crate) fn request_from_compact(
    request: &wit::Compact,
) -> Result<engine::Request, engine::RequestError> {
    let mut r = Reader {
        text: &request.text,
        words: request.words.iter(),
        cursor: 0,
    };
    let code = r.word("grantType")?;
    let grant_type = codes::grant_type_from_code(code)
        .ok_or_else(|| invalid("grantType", format_args!("no grant type is {code}")))?;
    let flags = r.word("flags")?;
    if flags & !KNOWN_FLAGS != 0 {
        return Err(invalid(
            "flags",
            format_args!("unknown flags {:#x}", flags & !KNOWN_FLAGS),
        ));
    }
    let client = if flags & CLIENT != 0 {
        Some(r.client()?)
    } else {
        None
    };
    let user = if flags & USER != 0 {
        Some(r.user()?)
    } else {
        None
    };
    let claims = match r.opt_str("claims")? {
        Some(text) => engine::parse_claims(text)?,
        None => None,
    };
    let actor = if flags & ACTOR != 0 {
        Some(engine::Actor {
            client_id: r.opt_string("actor.clientid")?,
            sub: r.opt_string("actor.sub")?,
        })
    } else {
        None
    };
    let subject = if flags & SUBJECT != 0 {
        Some(engine::Subject {
            client_id: r.opt_string("subject.clientid")?,
            audience: r.opt_string("subject.audience")?,
        })
    } else {
        None
    };
    let target = if flags & CONNECTION != 0 {
        engine::Target::Connection(r.string("target.connection")?)
    } else {
        engine::Target::Resource(r.string("target.resource")?)
    };
    let requested_scopes = r.opt_list("requestedScopes")?;
    let consented_scopes = r.opt_list("consentedScopes")?;
    let ip = if flags & ADDRESS != 0 {
        Some(r.address()?)
    } else {
        None
    };
    let time = if flags & TIME != 0 {
        Some(r.time()?)
    } else {
        None
    };
    let auth = if flags & AUTH != 0 {
        Some(r.auth()?)
    } else {
        None
    };
    if r.words.len() != 0 {
        return Err(invalid(
            "the end",
            format_args!("words left over after the request: {}", r.words.len()),
        ));
    }
    if r.cursor != r.text.len() {
        return Err(invalid(
            "the end",
            format_args!(
                "the text has {} bytes, its strings end at {}",
                r.text.len(),
                r.cursor
            ),
        ));
    }
    Ok(engine::Request {
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
        context: (ip.is_some() || time.is_some()).then_some(engine::Context { ip, time }),
        explain: flags & EXPLAIN != 0,
    })
}

/// The engine's decision in compact form.
pub(crate) fn decision_to_compact(decision: &engine::Decision<'_>) -> wit::Compact {
    let engine::Decision {
        permitted,
        granted,
        scopes,
        matched,
        dry_run,
        not_matched,
        step_up,
    } = decision;
    let mut w = codes::Writer {
        text: String::with_capacity(128),
        words: Vec::with_capacity(32),
    };
    // The guest is 32-bit: a count in its memory fits in a u32.
    w.word(u32::from(*permitted));
    w.list(granted);
    w.word(scopes.len() as u32);
    for s in scopes {
        w.str(&s.scope);
        w.word(u32::from(s.granted));
        w.word(codes::reason_code(s.reason));
        w.list(&s.by);
    }
    w.list(matched);
    w.word(dry_run.len() as u32);
    for d in dry_run {
        w.str(&d.policy);
        w.list(&d.would_add);
        w.word(u32::from(d.would_permit));
    }
    w.word(not_matched.len() as u32);
    for n in not_matched {
        w.str(&n.policy);
        w.str(&n.failed);
    }
    w.word(step_up.len() as u32);
    for s in step_up {
        w.str(&s.policy);
        w.list(&s.scopes);
        w.list(&s.methods);
        w.list(&s.levels);
        w.opt_u64(s.max_age);
    }
    wit::Compact {
        text: w.text,
        words: w.words,
    }
}

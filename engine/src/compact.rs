//! The words of the compact form of a request and a decision (the `compact` record of
//! wit/tollgate.wit): the codes and the writer that the engine component and its host share, so
//! the form is written down once.
//!
//! A `str` is two words, the byte offset and byte length of a string in the text, each string
//! starting where the one before it ended; an absent string is [`ABSENT`] and 0; a list is a count
//! then its strings; an absent list is [`ABSENT`]. The order of the fields is in the WIT.

use crate::{GrantType, Reason};

/// The word for an absent string or list.
pub const ABSENT: u32 = u32::MAX;

/// The flags of a request (its second word).
pub mod flag {
    /// A client follows.
    pub const CLIENT: u32 = 1;
    /// A user follows.
    pub const USER: u32 = 2;
    /// An actor follows.
    pub const ACTOR: u32 = 4;
    /// A subject follows.
    pub const SUBJECT: u32 = 8;
    /// Explain every candidate policy that did not match.
    pub const EXPLAIN: u32 = 16;
    /// The target is a connection (else a resource).
    pub const CONNECTION: u32 = 32;
    /// An address follows.
    pub const ADDRESS: u32 = 64;
    /// A time follows.
    pub const TIME: u32 = 128;
    /// How the user authenticated follows.
    pub const AUTH: u32 = 256;
    /// Every flag there is.
    pub const KNOWN: u32 = 511;
}

/// A grant type's word: 0 to 3 in the order of [`GrantType::ALL`].
pub fn grant_type_code(grant_type: GrantType) -> u32 {
    match grant_type {
        GrantType::ClientCredentials => 0,
        GrantType::AuthorizationCode => 1,
        GrantType::TokenExchange => 2,
        GrantType::JwtBearer => 3,
    }
}

/// The grant type of a word, if any.
pub fn grant_type_from_code(code: u32) -> Option<GrantType> {
    GrantType::ALL
        .into_iter()
        .find(|g| grant_type_code(*g) == code)
}

const REASONS: [Reason; 5] = [
    Reason::UnknownTarget,
    Reason::UnknownScope,
    Reason::NotAllowed,
    Reason::ClientConfig,
    Reason::NotConsented,
];

/// A scope's reason as a word: 0 for none, then 1 to 5 in the order of the WIT's `reason`.
pub fn reason_code(reason: Option<Reason>) -> u32 {
    match reason {
        None => 0,
        Some(Reason::UnknownTarget) => 1,
        Some(Reason::UnknownScope) => 2,
        Some(Reason::NotAllowed) => 3,
        Some(Reason::ClientConfig) => 4,
        Some(Reason::NotConsented) => 5,
    }
}

/// The reason of a word (`Some(None)` for 0), or `None` for a word that is no reason.
pub fn reason_from_code(code: u32) -> Option<Option<Reason>> {
    match code {
        0 => Some(None),
        _ => REASONS
            .into_iter()
            .find(|r| reason_code(Some(*r)) == code)
            .map(Some),
    }
}

/// Writes strings into one text and fields into words, in the order they are given.
///
/// Offsets and lengths are written as u32: whoever sends the words must refuse a text longer than
/// `u32::MAX - 1` bytes (the engine component's guest is 32-bit and cannot hold one).
#[derive(Debug, Default, Clone)]
pub struct Writer {
    /// Every string written so far.
    pub text: String,
    /// Every word written so far.
    pub words: Vec<u32>,
}

impl Writer {
    /// Empties the text and the words, keeping their memory.
    pub fn clear(&mut self) {
        self.text.clear();
        self.words.clear();
    }

    /// A count or another plain word.
    pub fn word(&mut self, word: u32) {
        self.words.push(word);
    }

    /// A `str`.
    pub fn str(&mut self, s: &str) {
        self.words.push(self.text.len() as u32);
        self.words.push(s.len() as u32);
        self.text.push_str(s);
    }

    /// An optional `str`.
    pub fn opt_str(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.str(s),
            None => self.words.extend([ABSENT, 0]),
        }
    }

    /// A `list`.
    pub fn list<S: AsRef<str>>(&mut self, names: &[S]) {
        self.words.push(names.len() as u32);
        for name in names {
            self.str(name.as_ref());
        }
    }

    /// An optional `list`.
    pub fn opt_list<S: AsRef<str>>(&mut self, names: Option<&[S]>) {
        match names {
            Some(names) => self.list(names),
            None => self.words.push(ABSENT),
        }
    }

    /// An `opt-u64`: 0 when absent, else 1 then the low and the high word.
    pub fn opt_u64(&mut self, n: Option<u64>) {
        match n {
            Some(n) => self.words.extend([1, n as u32, (n >> 32) as u32]),
            None => self.words.push(0),
        }
    }
}

/// Reads an `opt-u64` from its words, as [`Writer::opt_u64`] wrote it: `Err` names what is wrong
/// (a first word other than 0 or 1, or words missing).
pub fn read_opt_u64(mut next: impl FnMut() -> Option<u32>) -> Result<Option<u64>, &'static str> {
    match next() {
        Some(0) => Ok(None),
        Some(1) => {
            let low = next().ok_or("the words end before it")?;
            let high = next().ok_or("the words end before it")?;
            Ok(Some(u64::from(low) | (u64::from(high) << 32)))
        }
        Some(_) => Err("an optional number starts with 0 or 1"),
        None => Err("the words end before it"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_back() {
        for g in GrantType::ALL {
            assert_eq!(grant_type_from_code(grant_type_code(g)), Some(g));
        }
        assert_eq!(grant_type_from_code(4), None);
        for r in [None].into_iter().chain(REASONS.map(Some)) {
            assert_eq!(reason_from_code(reason_code(r)), Some(r));
        }
        assert_eq!(reason_from_code(6), None);
    }
}

//! The one place the server reads the clock. Request handlers read it once per request and pass
//! `now` down; nothing below them reads it again.

/// Now, in unix seconds.
pub fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

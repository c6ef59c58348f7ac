//! What every console page shares: the navigation and signed-in user (`console/base.html`),
//! the message page (re-exported from [`super::message`]), and small conversions for the templates.

use super::session::Staff;

pub(super) use super::message::console_message;

/// The sections of the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Section {
    Home,
    Policies,
    Agents,
    Simulate,
    Connections,
    Audit,
}

/// The frame of a page: who is signed in, with which role, and where they are.
pub(super) struct Chrome {
    pub(super) name: String,
    /// `administrator` or `auditor`.
    pub(super) role: &'static str,
    pub(super) csrf: String,
    pub(super) can_change: bool,
    pub(super) section: Section,
}

impl Chrome {
    pub(super) fn of(staff: &Staff, section: Section) -> Chrome {
        Chrome {
            name: staff.name.clone(),
            role: if staff.is_administrator() {
                "administrator"
            } else {
                "auditor"
            },
            csrf: staff.csrf.clone(),
            can_change: staff.is_administrator(),
            section,
        }
    }

    /// `aria-current="page"` for the navigation link of the page's section.
    pub(super) fn current(&self, section: &str) -> &'static str {
        let here = match self.section {
            Section::Home => "home",
            Section::Policies => "policies",
            Section::Agents => "agents",
            Section::Simulate => "simulate",
            Section::Connections => "connections",
            Section::Audit => "audit",
        };
        if here == section { "page" } else { "false" }
    }
}

/// Unix seconds as `2026-12-07 23:41:10 UTC`.
pub(super) fn when(at: i64) -> String {
    jiff::Timestamp::from_second(at)
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|_| at.to_string())
}

/// A query string's parameters, the first of each name.
pub(super) fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
}

/// Percent-encodes a path segment or query value.
pub(super) fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_utc() {
        assert_eq!(when(0), "1970-01-01 00:00:00 UTC");
    }
}

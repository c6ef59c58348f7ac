//! The console's short message page (`console/message.html`): what happened, and a way back.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;

use crate::server::html::console_page;

/// A short console page: what happened, and a way back.
#[derive(Template)]
#[template(path = "console/message.html")]
struct MessagePage<'a> {
    title: &'a str,
    message: &'a str,
}

/// The console's message page with `status`.
pub(super) fn console_message(status: StatusCode, title: &str, message: &str) -> Response {
    console_page(status, &MessagePage { title, message })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::html::hostile::{TEXT, assert_escaped};

    #[test]
    fn the_message_page_escapes() {
        let html = MessagePage {
            title: TEXT,
            message: TEXT,
        }
        .render()
        .expect("render");
        assert_escaped(&html);
    }
}

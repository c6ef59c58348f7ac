//! The client ID metadata document parser: any bytes a document URL may answer with (at most
//! 5 KiB are read), as JSON, turned into a client. Nothing may panic, and a document that is
//! accepted describes a public client using only the authorization code grant and refresh.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tollgate::config::GrantTypeName;
use tollgate::oauth::cimd::{MAX_DOCUMENT, client_from_document};

const CLIENT_ID: &str = "https://app.example/client.json";

fuzz_target!(|data: &[u8]| {
    if data.len() > MAX_DOCUMENT {
        return;
    }
    let Ok(document) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    if let Ok(client) = client_from_document(CLIENT_ID, &document) {
        assert_eq!(client.client_id, CLIENT_ID);
        assert!(client.is_public());
        assert!(!client.redirect_uris.is_empty());
        assert!(
            client
                .grant_types
                .iter()
                .all(|g| matches!(g, GrantTypeName::AuthorizationCode | GrantTypeName::RefreshToken))
        );
    }
});

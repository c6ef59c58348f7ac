//! Loading and validation: every error at once, each at its path.

#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a broken set-up fails the test"
)]

use tollgate_engine::{LoadError, PolicySet, Request};

fn errors(doc: &str) -> Vec<(String, String)> {
    match PolicySet::load(doc) {
        Ok(_) => panic!("the document loaded"),
        Err(LoadError::Invalid(errors)) => {
            errors.into_iter().map(|e| (e.path, e.message)).collect()
        }
        Err(other) => panic!("not a validation error: {other}"),
    }
}

const HEAD: &str = r#"
version: 1
resources:
  - { id: api, audience: "https://api.example.com", kind: api, scopes: [read, write] }
connections:
  - { id: pd, kind: api_key }
  - { id: cal, kind: oauth, scopes: [cal.read] }
"#;

#[test]
fn every_error_is_reported_with_its_path() {
    let doc = format!(
        "{HEAD}policies:
  - id: ok
    targets: [{{ resource: api, scopes: [read] }}]
  - id: bad
    mode: maybe
    colour: blue
    subject:
      conditions:
        - {{ key: user.roles, op: contains, value: SRE }}
        - {{ key: user.roles, op: has, value: x }}
        - {{ key: client.clientId, op: equal, value: x }}
        - {{ key: user.roles, op: in, value: x }}
        - {{ key: request.ip, op: inCidr, values: [10.0.0.0/33] }}
        - {{ key: request.time, op: between, value: {{ from: '25:00', to: '06:00', tz: Mars/Olympus }} }}
    grantTypes: [password]
    targets:
      - {{ resource: nope, scopes: [read] }}
      - {{ resource: api, scopes: [read, delete] }}
      - {{ connection: pd, scopes: [x] }}
      - {{ connection: cal }}
  - id: ok
    targets: [{{ resource: api, scopes: '*' }}]
"
    );
    let got = errors(&doc);
    let paths: Vec<&str> = got.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "policies[1].colour",
            "policies[1].mode",
            "policies[1].subject.conditions[1].op",
            "policies[1].subject.conditions[2].key",
            "policies[1].subject.conditions[3].value",
            "policies[1].subject.conditions[4].values[0]",
            "policies[1].subject.conditions[5].value.from",
            "policies[1].subject.conditions[5].value.tz",
            "policies[1].grantTypes[0]",
            "policies[1].targets[0].resource",
            "policies[1].targets[1].scopes[1]",
            "policies[1].targets[2].scopes",
            "policies[1].targets[3]",
            "policies[2].id",
        ],
        "{got:#?}"
    );
    let message = |path: &str| &got.iter().find(|(p, _)| p == path).expect(path).1;
    assert_eq!(
        message("policies[1].subject.conditions[2].key"),
        "unknown key `client.clientId`; did you mean `client.clientid`?"
    );
    assert_eq!(
        message("policies[1].subject.conditions[3].value"),
        "`in` takes `values`, a list"
    );
    assert_eq!(
        message("policies[2].id"),
        "duplicate policy id `ok` (first at `policies[0]`)"
    );
    assert_eq!(
        message("policies[1].targets[1].scopes[1]"),
        "scope `delete` is not defined by resource `api`"
    );
}

#[test]
fn a_key_written_twice_is_an_error_not_a_silent_choice() {
    let doc = r#"{"version": 1,
        "resources": [{"id": "api", "audience": "https://api.example.com", "kind": "api",
                       "scopes": ["read", "write"]}],
        "policies": [{"id": "p", "id": "q",
                      "targets": [{"resource": "api", "scopes": ["read"], "scopes": "*"}]}]}"#;
    assert_eq!(
        errors(doc),
        [
            ("policies[0].id".to_owned(), "duplicate key".to_owned()),
            (
                "policies[0].targets[0].scopes".to_owned(),
                "duplicate key".to_owned()
            ),
        ]
    );
}

#[test]
fn syntax_errors_name_the_format() {
    assert!(matches!(
        PolicySet::load("{\"version\": 1,"),
        Err(LoadError::Syntax { format: "JSON", .. })
    ));
    assert!(matches!(
        PolicySet::load("version: [1\n"),
        Err(LoadError::Syntax { format: "YAML", .. })
    ));
}

#[test]
fn unknown_top_level_keys_and_missing_version() {
    let got = errors("polices: []\n");
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].0, "polices");
    assert_eq!(got[1].0, "version");
}

#[test]
fn claim_paths_dotted_and_bracketed() {
    let doc = format!(
        "{HEAD}policies:
  - id: p
    subject:
      conditions:
        - {{ key: 'jwtClaims[\"https://x.io/ctx\"].org.dept', op: equal, value: ops }}
        - {{ key: \"jwtClaims['a.b']\", op: equal, value: 5 }}
    targets: [{{ resource: api, scopes: [read] }}]
"
    );
    let set = PolicySet::load(&doc).expect("loads");
    let request: Request = serde_json::from_value(serde_json::json!({
        "grantType": "client_credentials",
        "claims": { "https://x.io/ctx": { "org": { "dept": "ops" } }, "a.b": 5.0 },
        "target": { "resource": "api" }
    }))
    .expect("request");
    assert!(set.decide(&request).permitted);
    for bad in [
        "jwtClaims",
        "jwtClaims.",
        "jwtClaims..a",
        "jwtClaims[a]",
        "jwtClaims[\"a\"",
        "jwtClaimsx",
    ] {
        let doc = format!(
            "{HEAD}policies:\n  - id: p\n    subject: {{ conditions: [{{ key: '{bad}', op: exists }}] }}\n    targets: [{{ resource: api, scopes: [read] }}]\n"
        );
        let got = errors(&doc);
        assert_eq!(
            got[0].0, "policies[0].subject.conditions[0].key",
            "{bad}: {got:?}"
        );
    }
}

#[test]
fn iana_zones_come_from_the_bundled_database() {
    let doc = format!(
        "{HEAD}policies:
  - id: office
    subject:
      conditions:
        - {{ key: request.time, op: between, value: {{ from: 09:00, to: 17:00, days: [mon, tue, wed, thu, fri], tz: Europe/Berlin }} }}
    targets: [{{ resource: api, scopes: [read] }}]
"
    );
    let set = PolicySet::load(&doc).expect("loads");
    let at = |time: &str| {
        let request: Request = serde_json::from_value(serde_json::json!({
            "grantType": "client_credentials",
            "target": { "resource": "api" },
            "context": { "time": time }
        }))
        .expect("request");
        set.decide(&request).permitted
    };
    // Summer: UTC+2. 07:00Z is 09:00 in Berlin; 15:00Z is 17:00 (excluded).
    assert!(at("2026-07-01T07:00:00Z"));
    assert!(!at("2026-07-01T06:59:59Z"));
    assert!(!at("2026-07-01T15:00:00Z"));
    // Winter: UTC+1.
    assert!(!at("2026-01-07T07:30:00Z"));
    assert!(at("2026-01-07T08:00:00Z"));
    // Saturday.
    assert!(!at("2026-07-04T10:00:00Z"));
}

#[test]
fn malformed_requests_are_refused_with_a_clear_error() {
    for (json, needle) in [
        (
            r#"{"grantType":"password","target":{"resource":"api"}}"#,
            "password",
        ),
        (
            r#"{"grantType":"client_credentials","target":{"resource":"api"},"context":{"ip":"10.0.0.300"}}"#,
            "address",
        ),
        (
            r#"{"grantType":"client_credentials","target":{"resource":"api"},"context":{"time":"yesterday"}}"#,
            "RFC 3339",
        ),
        (
            r#"{"grantType":"client_credentials","target":{"resource":"api"},"colour":1}"#,
            "colour",
        ),
    ] {
        let err = tollgate_engine::parse_request(json)
            .expect_err(json)
            .to_string();
        assert!(err.contains(needle), "{json}: {err}");
    }
}

#[test]
fn a_large_document_streams() {
    let mut doc = String::from(HEAD);
    doc.push_str("policies:\n");
    for i in 0..20_000 {
        doc.push_str(&format!(
            "  - {{ id: p{i}, subject: {{ clients: [c{i}] }}, targets: [{{ resource: api, scopes: [read] }}] }}\n"
        ));
    }
    let set = PolicySet::load(&doc).expect("loads");
    assert_eq!(set.len(), 20_000);
    let request: Request = serde_json::from_value(serde_json::json!({
        "grantType": "client_credentials", "client": { "clientId": "c19999" },
        "target": { "resource": "api" }, "explain": false
    }))
    .expect("request");
    let decision = set.decide(&request);
    assert_eq!(decision.matched, ["p19999"]);
    assert!(decision.not_matched.is_empty());
}

//! A host of the engine component built from `wit/tollgate.wit` alone: its own wasmtime bindings
//! (owned, the generator's defaults), none of the server's runtime code, no Tollgate type on the
//! way in or out. What any third-party host of the WIT world would write. It decides through both
//! forms the WIT offers, `decide` (typed records) and `decide-compact` (spans of one text), and
//! both must give the native engine's decision; spans and runs out of bounds are refused with the
//! field they belong to.

#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a broken set-up fails the test"
)]

use tollgate_engine::{PolicySet, Reason};
use wasmtime::component::{Component, Linker, ResourceAny};
use wasmtime::{Config, Engine, Store};

wasmtime::component::bindgen!({
    path: "../wit",
    world: "policy-engine",
});

use exports::tollgate::policy::engine as wit;

const DOCUMENT: &str = r#"{
  "version": 1,
  "resources": [
    {"id": "api", "audience": "https://api.example.com", "kind": "api", "scopes": ["read", "write", "admin"]}
  ],
  "policies": [
    {"id": "readers", "targets": [{"resource": "api", "scopes": ["read"]}],
     "subject": {"conditions": [{"key": "client.tags", "op": "contains", "value": "reader"}]}},
    {"id": "writers", "targets": [{"resource": "api", "scopes": ["read", "write"]}],
     "subject": {"conditions": [{"key": "user.roles", "op": "contains", "value": "editor"},
                                {"key": "jwtClaims.dept", "op": "equal", "value": "ops"}]}},
    {"id": "trial", "mode": "dry-run", "targets": [{"resource": "api", "scopes": ["admin"]}]},
    {"id": "admins", "targets": [{"resource": "api", "scopes": ["admin"]}],
     "subject": {"conditions": [{"key": "auth.methods", "op": "contains", "value": "otp"},
                                {"key": "auth.age", "op": "lessThan", "value": 300}]}}
  ]
}"#;

struct Host {
    store: Store<()>,
    engine: PolicyEngine,
    set: ResourceAny,
}

impl Host {
    fn new() -> Host {
        let engine = Engine::new(&Config::new()).expect("an engine");
        let component = Component::new(&engine, tollgate::runtime::EMBEDDED_COMPONENT)
            .expect("the component compiles");
        let mut store = Store::new(&engine, ());
        let engine = PolicyEngine::instantiate(&mut store, &component, &Linker::new(&engine))
            .expect("instantiates: the world imports nothing");
        let set = engine
            .tollgate_policy_engine()
            .policy_set()
            .call_load(&mut store, DOCUMENT)
            .expect("no trap")
            .expect("the document loads");
        Host { store, engine, set }
    }

    fn decide(&mut self, request: &wit::Request) -> Result<wit::Decision, String> {
        self.engine
            .tollgate_policy_engine()
            .policy_set()
            .call_decide(&mut self.store, self.set, request)
            .expect("no trap")
    }

    fn decide_compact(&mut self, request: &wit::Compact) -> Result<wit::Compact, String> {
        self.engine
            .tollgate_policy_engine()
            .policy_set()
            .call_decide_compact(&mut self.store, self.set, request)
            .expect("no trap")
    }
}

/// A compact decision read back by the layout documented in the WIT.
#[derive(Debug, PartialEq)]
struct Read {
    permitted: bool,
    granted: Vec<String>,
    scopes: Vec<(String, bool, Option<Reason>, Vec<String>)>,
    matched: Vec<String>,
    dry_run: Vec<(String, Vec<String>, bool)>,
    not_matched: Vec<(String, String)>,
    step_up: Vec<StepUpRead>,
}

/// A step-up entry: policy, scopes, methods, levels, max age.
type StepUpRead = (String, Vec<String>, Vec<String>, Vec<String>, Option<u64>);

struct Cursor<'d> {
    text: &'d str,
    words: std::slice::Iter<'d, u32>,
}

impl Cursor<'_> {
    fn word(&mut self) -> u32 {
        *self.words.next().expect("a word")
    }

    fn name(&mut self) -> String {
        let (offset, length) = (self.word() as usize, self.word() as usize);
        self.text[offset..offset + length].to_owned()
    }

    fn names(&mut self) -> Vec<String> {
        (0..self.word()).map(|_| self.name()).collect()
    }
}

fn read(d: &wit::Compact) -> Read {
    let mut c = Cursor {
        text: &d.text,
        words: d.words.iter(),
    };
    let permitted = c.word() == 1;
    let granted = c.names();
    let scopes = (0..c.word())
        .map(|_| {
            let scope = c.name();
            let granted = c.word() == 1;
            let reason = match c.word() {
                0 => None,
                1 => Some(Reason::UnknownTarget),
                2 => Some(Reason::UnknownScope),
                3 => Some(Reason::NotAllowed),
                4 => Some(Reason::ClientConfig),
                5 => Some(Reason::NotConsented),
                other => panic!("no reason {other}"),
            };
            (scope, granted, reason, c.names())
        })
        .collect();
    let matched = c.names();
    let dry_run = (0..c.word())
        .map(|_| {
            let policy = c.name();
            let would_add = c.names();
            (policy, would_add, c.word() == 1)
        })
        .collect();
    let not_matched = (0..c.word()).map(|_| (c.name(), c.name())).collect();
    let step_up = (0..c.word())
        .map(|_| {
            let (policy, scopes, methods, levels) = (c.name(), c.names(), c.names(), c.names());
            let max_age = match c.word() {
                0 => None,
                1 => Some(u64::from(c.word()) | (u64::from(c.word()) << 32)),
                other => panic!("an opt-u64 starts with 0 or 1, not {other}"),
            };
            (policy, scopes, methods, levels, max_age)
        })
        .collect();
    assert_eq!(c.words.len(), 0, "nothing follows a decision");
    Read {
        permitted,
        granted,
        scopes,
        matched,
        dry_run,
        not_matched,
        step_up,
    }
}

fn expected(d: &tollgate_engine::Decision<'_>) -> Read {
    Read {
        permitted: d.permitted,
        granted: strings(&d.granted),
        scopes: d
            .scopes
            .iter()
            .map(|s| (s.scope.to_string(), s.granted, s.reason, strings(&s.by)))
            .collect(),
        matched: strings(&d.matched),
        dry_run: d
            .dry_run
            .iter()
            .map(|r| (r.policy.to_string(), strings(&r.would_add), r.would_permit))
            .collect(),
        not_matched: d
            .not_matched
            .iter()
            .map(|n| (n.policy.to_string(), n.failed.to_string()))
            .collect(),
        step_up: d
            .step_up
            .iter()
            .map(|s| {
                (
                    s.policy.to_string(),
                    strings(&s.scopes),
                    strings(&s.methods),
                    strings(&s.levels),
                    s.max_age,
                )
            })
            .collect(),
    }
}

fn reason(r: wit::Reason) -> Reason {
    match r {
        wit::Reason::UnknownTarget => Reason::UnknownTarget,
        wit::Reason::UnknownScope => Reason::UnknownScope,
        wit::Reason::NotAllowed => Reason::NotAllowed,
        wit::Reason::ClientConfig => Reason::ClientConfig,
        wit::Reason::NotConsented => Reason::NotConsented,
    }
}

fn strings(names: &[tollgate_engine::Name<'_>]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

/// Writes a compact request as the WIT documents it.
#[derive(Default)]
struct Text {
    text: String,
    words: Vec<u32>,
}

impl Text {
    fn str(&mut self, name: &str) {
        self.words
            .push(u32::try_from(self.text.len()).expect("small"));
        self.words.push(u32::try_from(name.len()).expect("small"));
        self.text.push_str(name);
    }

    fn absent_str(&mut self) {
        self.words.extend([u32::MAX, 0]);
    }

    fn list(&mut self, names: &[&str]) {
        self.words.push(u32::try_from(names.len()).expect("small"));
        for n in names {
            self.str(n);
        }
    }
}

/// One request three ways: as the engine's JSON (decided natively), as typed records and in
/// compact form. Names with multi-byte characters cross too. The viewer signed in with a password
/// a minute ago; the editor's authentication is unknown.
fn requests(editor: bool) -> (String, wit::Request, wit::Compact) {
    let roles: &[&str] = if editor {
        &["editor", "ünïcode"]
    } else {
        &["viewer"]
    };
    let mut json = serde_json::json!({
        "grantType": "authorization_code",
        "client": {"clientId": "app", "tags": ["reader", "ägent"],
                   "allowedScopes": {"api": ["read", "write", "admin"]}},
        "user": {"sub": "alice", "roles": roles},
        "claims": {"dept": "ops"},
        "target": {"resource": "api"},
        "requestedScopes": ["read", "write", "admin", "delete"],
        "explain": true
    });
    if !editor {
        json["auth"] = serde_json::json!({"methods": ["pwd"], "age": 61});
    }
    let json = json.to_string();
    let owned = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let typed = wit::Request {
        grant_type: wit::GrantType::AuthorizationCode,
        client: Some(wit::Client {
            client_id: Some("app".into()),
            name: None,
            tags: Some(owned(&["reader", "ägent"])),
            registration_type: None,
            status: None,
            allowed_scopes: Some(vec![wit::TargetScopes {
                target: "api".into(),
                scopes: owned(&["read", "write", "admin"]),
            }]),
            tenant_id: None,
        }),
        user: Some(wit::User {
            sub: Some("alice".into()),
            roles: Some(owned(roles)),
            tenant_ids: None,
            permissions: None,
        }),
        claims: Some(r#"{"dept":"ops"}"#.into()),
        actor: None,
        subject: None,
        auth: (!editor).then(|| wit::Auth {
            methods: Some(owned(&["pwd"])),
            level: None,
            age: Some(61),
        }),
        target: wit::Target::Resource("api".into()),
        requested_scopes: Some(owned(&["read", "write", "admin", "delete"])),
        consented_scopes: None,
        context: None,
        explain: true,
    };
    let mut t = Text::default();
    // authorization code; a client, a user, explain, and for the viewer how they authenticated
    t.words
        .extend([1, 1 | 2 | 16 | if editor { 0 } else { 256 }]);
    t.str("app");
    t.absent_str();
    t.list(&["reader", "ägent"]);
    t.absent_str();
    t.absent_str();
    t.words.push(1);
    t.str("api");
    t.list(&["read", "write", "admin"]);
    t.absent_str();
    t.str("alice");
    t.list(roles);
    t.words.extend([u32::MAX, u32::MAX]);
    t.str(r#"{"dept":"ops"}"#);
    t.str("api");
    t.list(&["read", "write", "admin", "delete"]);
    t.words.push(u32::MAX);
    if !editor {
        // methods, no level, an age of 61 seconds
        t.list(&["pwd"]);
        t.absent_str();
        t.words.extend([1, 61, 0]);
    }
    let compact = wit::Compact {
        text: t.text,
        words: t.words,
    };
    (json, typed, compact)
}

#[test]
fn a_host_built_from_the_wit_alone_gets_the_native_decision_in_both_forms() {
    let native = PolicySet::load(DOCUMENT).expect("loads natively");
    let mut host = Host::new();
    for editor in [false, true] {
        let (json, typed, compact) = requests(editor);
        let want = native.decide(&tollgate_engine::parse_request(&json).expect("a request"));

        let got = host.decide(&typed).expect("decides");
        assert_eq!(got.permitted, want.permitted);
        assert_eq!(got.granted, want.granted);
        assert_eq!(got.matched, want.matched);
        assert_eq!(got.scopes.len(), want.scopes.len());
        for (g, w) in got.scopes.iter().zip(&want.scopes) {
            assert_eq!(
                (g.scope.as_str(), g.granted, &g.by),
                (&*w.scope, w.granted, &strings(&w.by))
            );
            assert_eq!(g.reason.map(reason), w.reason);
        }
        assert_eq!(got.dry_run.len(), want.dry_run.len());
        assert_eq!(got.not_matched.len(), want.not_matched.len());
        let step_up: Vec<_> = got
            .step_up
            .iter()
            .map(|s| (s.policy.as_str(), &s.scopes, &s.methods, s.max_age))
            .collect();
        // Either user, an authentication unknown or with a password only, is offered a second
        // factor for `admin`.
        assert_eq!(
            step_up,
            [(
                "admins",
                &vec!["admin".to_owned()],
                &vec!["otp".to_owned()],
                Some(299)
            )]
        );

        let got = host.decide_compact(&compact).expect("decides");
        assert_eq!(read(&got), expected(&want));
        assert_eq!(read(&got).step_up.len(), 1);
    }
}

#[test]
fn compact_requests_that_do_not_read_are_refused_with_their_field() {
    let mut host = Host::new();
    let (_, _, good) = requests(true);
    assert!(host.decide_compact(&good).is_ok());
    let text_len = u32::try_from(good.text.len()).expect("small");
    // Word 2 and 3 are the client id's offset and length; the last word is the absent
    // consented scopes.
    let with = |at: usize, values: &[u32]| {
        let mut request = good.clone();
        request
            .words
            .splice(at..at + values.len(), values.iter().copied());
        request
    };
    // One byte into the two-byte `ä` of `ägent`.
    let middle = u32::try_from(good.text.find('ä').expect("there")).expect("small") + 1;
    let last = good.words.len() - 1;
    let mut longer = good.clone();
    longer.text.push('x');
    let cases = [
        (with(2, &[0, text_len + 1]), "client.clientid: "),
        (with(2, &[0, u32::MAX]), "are not within the text"),
        (with(2, &[0, middle]), "character boundary"),
        (
            with(2, &[1, 2]),
            "client.clientid: the string starts at 1, not where",
        ),
        (
            with(4, &[u32::MAX, 7]),
            "client.name: an absent string has the length 0",
        ),
        // Word 18 is the count of the scopes of the client's one allowed-scopes target.
        (
            with(18, &[u32::MAX]),
            "a target's scopes are a list, which cannot be absent",
        ),
        (with(0, &[9]), "grantType: no grant type is 9"),
        (with(1, &[1 | 2 | 16 | 512]), "flags: unknown flags 0x200"),
        (
            with(last, &[5]),
            "consentedScopes: a count of 5 is more than the words left",
        ),
        (
            with(last, &[0]).words_pushed(7),
            "words left over after the request: 1",
        ),
        (with(last, &[1]), "consentedScopes"),
        (longer, "the text has"),
    ];
    for (request, expected) in cases {
        let error = host.decide_compact(&request).expect_err("refused");
        assert!(error.contains(expected), "{expected}: {error}");
    }
    let mut short = good.clone();
    short.words.truncate(5);
    let error = host.decide_compact(&short).expect_err("refused");
    assert!(error.contains("the words end before it"), "{error}");
    // The instance is as good as before.
    assert!(host.decide_compact(&good).is_ok());
}

trait Push {
    fn words_pushed(self, word: u32) -> Self;
}

impl Push for wit::Compact {
    fn words_pushed(mut self, word: u32) -> Self {
        self.words.push(word);
        self
    }
}

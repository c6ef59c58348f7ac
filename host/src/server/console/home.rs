//! The console's start page, reach ("who can get a scope", "what can a client get") and the
//! single-decision simulator, which the policy preview shows for the draft beside the current
//! policies.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::Value;
use tollgate_engine::{Auth, Context, Decision, GrantType, PolicySet, Request, Target};

use super::chrome::{Chrome, Section, query_param};
use super::session::signed_in;
use crate::admin::reach::{ReachQuery, TargetRef, on_directory};
use crate::directory::Directory;
use crate::oauth::policy_input::{engine_client_of, engine_user_of};
use crate::server::html::console_page;
use crate::server::state::AppState;

/// A choice in a `<select>`.
pub(super) struct Choice {
    pub(super) value: String,
    pub(super) label: String,
}

/// What the pickers offer: targets, clients, users, grant types, and every scope.
pub(super) struct Pickers {
    pub(super) targets: Vec<Choice>,
    pub(super) clients: Vec<Choice>,
    pub(super) users: Vec<Choice>,
    pub(super) grant_types: Vec<&'static str>,
    pub(super) scopes: Vec<String>,
}

impl Pickers {
    pub(super) fn of(directory: &Directory) -> Pickers {
        let mut targets: Vec<Choice> = directory
            .resources
            .values()
            .map(|r| Choice {
                value: format!("resource:{}", r.id),
                label: format!("{} (resource)", r.id),
            })
            .chain(directory.connections.values().map(|c| Choice {
                value: format!("connection:{}", c.id),
                label: format!("{} (connection)", c.id),
            }))
            .collect();
        targets.sort_by(|a, b| a.value.cmp(&b.value));
        let mut clients: Vec<Choice> = directory
            .clients
            .values()
            .map(|c| Choice {
                value: c.client_id.clone(),
                label: match &c.name {
                    Some(name) if name != &c.client_id => format!("{name} ({})", c.client_id),
                    _ => c.client_id.clone(),
                },
            })
            .collect();
        clients.sort_by(|a, b| a.value.cmp(&b.value));
        let mut users: Vec<Choice> = directory
            .users
            .values()
            .map(|u| Choice {
                value: u.sub.clone(),
                label: match &u.username {
                    Some(name) => format!("{name} ({})", u.sub),
                    None => u.sub.clone(),
                },
            })
            .collect();
        users.sort_by(|a, b| a.value.cmp(&b.value));
        let mut scopes: Vec<String> = directory
            .resources
            .values()
            .flat_map(|r| r.scopes.iter().cloned())
            .chain(
                directory
                    .connections
                    .values()
                    .flat_map(|c| c.scopes.iter().cloned()),
            )
            .collect();
        scopes.sort();
        scopes.dedup();
        Pickers {
            targets,
            clients,
            users,
            grant_types: GrantType::ALL.iter().map(|g| g.as_str()).collect(),
            scopes,
        }
    }
}

/// A target from a picker's value (`resource:<id>` or `connection:<id>`).
pub(super) fn target_of(value: &str) -> Option<Target> {
    if let Some(id) = value.strip_prefix("resource:") {
        Some(Target::Resource(id.to_owned()))
    } else {
        value
            .strip_prefix("connection:")
            .map(|id| Target::Connection(id.to_owned()))
    }
}

#[derive(Template)]
#[template(path = "console/home.html")]
struct HomePage {
    chrome: Chrome,
    pickers: Pickers,
    counts: Vec<(&'static str, usize, &'static str)>,
    // The reach forms' values (`console/reach_forms.html`): empty here.
    target: String,
    scope: String,
    client: String,
    user: String,
    grant_type: String,
}

/// `GET /console`.
pub(super) async fn home(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let staff = match signed_in(&state, &headers, "/console").await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let directory = state.core.directory();
    let policies = directory
        .document
        .get("policies")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let counts = vec![
        ("Policies", policies, "/console/policies"),
        (
            "Agents and apps",
            directory.clients.len(),
            "/console/agents",
        ),
        ("Users", directory.users.len(), "/console/audit"),
        ("Resources", directory.resources.len(), "/console/policies"),
        (
            "Connections",
            directory.connections.len(),
            "/console/connections",
        ),
    ];
    console_page(
        StatusCode::OK,
        &HomePage {
            chrome: Chrome::of(&staff, Section::Home),
            pickers: Pickers::of(&directory),
            counts,
            target: String::new(),
            scope: String::new(),
            client: String::new(),
            user: String::new(),
            grant_type: String::new(),
        },
    )
}

/// One line of a reach answer.
pub(super) struct ReachRow {
    pub(super) grant_type: String,
    /// A client (who can) or a target (what).
    pub(super) subject: String,
    /// A user, or none.
    pub(super) user: String,
    pub(super) scope: String,
    /// Policies that give it whatever the request carries.
    pub(super) by: Vec<String>,
    /// Policies that give it under conditions, each with them.
    pub(super) conditional: Vec<String>,
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

fn conditional_of(value: &Value) -> Vec<String> {
    value
        .get("conditional")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| {
            format!(
                "{}: {}",
                c.get("policy").and_then(Value::as_str).unwrap_or_default(),
                strings(c.get("conditions")).join("; ")
            )
        })
        .collect()
}

fn target_label(value: &Value) -> String {
    match (value.get("resource"), value.get("connection")) {
        (Some(Value::String(id)), _) => id.clone(),
        (_, Some(Value::String(id))) => format!("{id} (connection)"),
        _ => String::new(),
    }
}

/// The rows of a reach answer (as [`on_directory`] gives it): holders, or a client's grants.
pub(super) fn reach_rows(answer: &Value) -> Vec<ReachRow> {
    let mut rows = Vec::new();
    if let Some(holders) = answer.get("holders").and_then(Value::as_array) {
        for h in holders {
            rows.push(ReachRow {
                grant_type: h
                    .get("grantType")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                subject: h
                    .get("client")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                user: h
                    .get("user")
                    .and_then(Value::as_str)
                    .unwrap_or("no user")
                    .to_owned(),
                scope: answer
                    .get("scope")
                    .and_then(Value::as_str)
                    .unwrap_or("the credential")
                    .to_owned(),
                by: strings(h.get("by")),
                conditional: conditional_of(h),
            });
        }
    }
    for grant in answer
        .get("grants")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let grant_type = grant
            .get("grantType")
            .and_then(Value::as_str)
            .unwrap_or_default();
        for target in grant
            .get("targets")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let label = target_label(target);
            let mut push = |scope: &str, grantors: &Value| {
                rows.push(ReachRow {
                    grant_type: grant_type.to_owned(),
                    subject: label.clone(),
                    user: answer
                        .get("user")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    scope: scope.to_owned(),
                    by: strings(grantors.get("by")),
                    conditional: conditional_of(grantors),
                });
            };
            for scope in target
                .get("scopes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                push(
                    scope
                        .get("scope")
                        .and_then(Value::as_str)
                        .unwrap_or_default(),
                    scope,
                );
            }
            if let Some(credential) = target.get("credential") {
                push("the credential", credential);
            }
        }
    }
    rows
}

#[derive(Template)]
#[template(path = "console/reach.html")]
struct ReachPage {
    chrome: Chrome,
    pickers: Pickers,
    /// The question as asked, for the heading.
    question: String,
    /// `who` (holders of a scope) or `what` (a client's reach).
    kind: &'static str,
    rows: Vec<ReachRow>,
    /// For `who`: each policy and grant type, with the clients and users it gives the scope to.
    who: Vec<WhoRow>,
    error: Option<String>,
    target: String,
    scope: String,
    client: String,
    user: String,
    grant_type: String,
}

/// Names a cell shows before "and N more".
const SHOWN: usize = 25;

/// One policy and grant type of a "who can" answer, as the page shows it.
pub(super) struct WhoRow {
    pub(super) policy: String,
    pub(super) grant_type: String,
    pub(super) conditions: Vec<String>,
    pub(super) clients: Vec<String>,
    pub(super) more_clients: usize,
    pub(super) users: Vec<String>,
    pub(super) more_users: usize,
    pub(super) without_user: bool,
}

impl WhoRow {
    fn of(row: crate::admin::reach::PolicyRow) -> WhoRow {
        let cut = |mut names: Vec<String>| {
            let more = names.len().saturating_sub(SHOWN);
            names.truncate(SHOWN);
            (names, more)
        };
        let (clients, more_clients) = cut(row.clients);
        let (users, more_users) = cut(row.users);
        WhoRow {
            policy: row.policy,
            grant_type: row.grant_type.as_str().to_owned(),
            conditions: row.conditions,
            clients,
            more_clients,
            users,
            more_users,
            without_user: row.without_user,
        }
    }
}

/// Who can obtain `scope` on `target`, on the server's current directory, policy by policy.
fn who_by_policy(
    core: &crate::oauth::state::Core,
    target: &Target,
    scope: Option<&str>,
) -> Result<Vec<WhoRow>, crate::admin::error::AdminError> {
    let directory = core.directory();
    let set = directory
        .policy_set()
        .map_err(|message| crate::admin::error::AdminError::invalid("", message.to_owned()))?;
    let (clients, users) =
        crate::admin::reach::sorted(directory.clients.values(), directory.users.values());
    let rows = crate::admin::reach::by_policy(
        set,
        crate::admin::reach::Entities {
            clients: &clients,
            users: &users,
        },
        target,
        scope,
    )?;
    Ok(rows.into_iter().map(WhoRow::of).collect())
}

/// `GET /console/reach?target=&scope=` (who can get a scope) or `?client=&user=&grant_type=`
/// (what a client can get): the answer `POST /admin/reach` gives, as a table.
pub(super) async fn reach(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let path = format!("/console/reach?{}", query.as_deref().unwrap_or_default());
    let staff = match signed_in(&state, &headers, &path).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let q = query.as_deref();
    let target = query_param(q, "target").unwrap_or_default();
    let scope = query_param(q, "scope").unwrap_or_default();
    let client = query_param(q, "client").unwrap_or_default();
    let user = query_param(q, "user").unwrap_or_default();
    let grant_type = query_param(q, "grant_type").unwrap_or_default();
    let (kind, question, asked) = if client.is_empty() {
        let shown = target.split_once(':').map_or(target.as_str(), |(_, id)| id);
        let question = if scope.is_empty() {
            format!("Who can get {shown}?")
        } else {
            format!("Who can get {scope} on {shown}?")
        };
        let asked = match target_of(&target) {
            Some(t) => Ok(ReachQuery {
                target: Some(TargetRef::Kind(t)),
                scope: (!scope.is_empty()).then(|| scope.clone()),
                ..ReachQuery::default()
            }),
            None => Err("Pick a target.".to_owned()),
        };
        ("who", question, asked)
    } else {
        let question = if user.is_empty() {
            format!("What can {client} get?")
        } else {
            format!("What can {client} get for {user}?")
        };
        let grant = if grant_type.is_empty() {
            Ok(None)
        } else {
            GrantType::from_name(&grant_type)
                .map(Some)
                .ok_or_else(|| format!("`{grant_type}` is not a grant type."))
        };
        let asked = grant.map(|grant_type| ReachQuery {
            client: Some(client.clone()),
            user: (!user.is_empty()).then(|| user.clone()),
            grant_type,
            ..ReachQuery::default()
        });
        ("what", question, asked)
    };
    let core = std::sync::Arc::clone(&state.core);
    let answered = match asked {
        Ok(asked) => tokio::task::spawn_blocking(move || {
            // Who can: factored by policy, so a large directory answers in one page.
            if let Some(TargetRef::Kind(target)) = &asked.target {
                who_by_policy(&core, target, asked.scope.as_deref()).map(|who| (Vec::new(), who))
            } else {
                on_directory(&core, &asked).map(|answer| (reach_rows(&answer), Vec::new()))
            }
        })
        .await
        .map_err(|_| "The answer could not be computed.".to_owned())
        .and_then(|r| r.map_err(|e| errors_text(&e))),
        Err(e) => Err(e),
    };
    let (rows, who, error) = match answered {
        Ok((rows, who)) => (rows, who, None),
        Err(e) => (Vec::new(), Vec::new(), Some(e)),
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    console_page(
        status,
        &ReachPage {
            chrome: Chrome::of(&staff, Section::Home),
            pickers: Pickers::of(&state.core.directory()),
            question,
            kind,
            rows,
            who,
            error,
            target,
            scope,
            client,
            user,
            grant_type,
        },
    )
}

/// An admin error as one line: its message, then each problem with its path.
pub(super) fn errors_text(e: &crate::admin::error::AdminError) -> String {
    let problems = e.errors();
    if problems.is_empty() {
        e.to_string()
    } else {
        problems
            .iter()
            .map(|p| {
                if p.path.is_empty() {
                    p.message.clone()
                } else {
                    format!("{}: {}", p.path, p.message)
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

// ------------------------------------------------------------------------------------------
// The simulator

/// The simulator's fields, as asked.
#[derive(Debug, Clone, Default)]
pub(super) struct Simulation {
    pub(super) client: String,
    pub(super) user: String,
    pub(super) grant_type: String,
    pub(super) target: String,
    pub(super) scopes: String,
    pub(super) ip: String,
    pub(super) time: String,
    /// How the user signed in: `amr` values, space-separated.
    pub(super) methods: String,
    /// The `acr`.
    pub(super) level: String,
    /// Seconds since the sign-in.
    pub(super) age: String,
}

impl Simulation {
    /// The fields from a query string or form, each `sim_<name>`.
    pub(super) fn read(get: impl Fn(&str) -> Option<String>) -> Simulation {
        let field = |name: &str| get(&format!("sim_{name}")).unwrap_or_default();
        Simulation {
            client: field("client"),
            user: field("user"),
            grant_type: field("grant_type"),
            target: field("target"),
            scopes: field("scopes"),
            ip: field("ip"),
            time: field("time"),
            methods: field("methods"),
            level: field("level"),
            age: field("age"),
        }
    }

    /// Whether anything was asked.
    pub(super) fn asked(&self) -> bool {
        !self.client.is_empty() || !self.target.is_empty()
    }

    /// The engine request, or every problem with its field.
    pub(super) fn request(&self, directory: &Directory) -> Result<Request, Vec<(String, String)>> {
        let mut problems = Vec::new();
        let client = match directory.clients.get(&self.client) {
            Some(c) => Some(engine_client_of(c)),
            None => {
                problems.push(("sim_client".to_owned(), "Pick a client.".to_owned()));
                None
            }
        };
        let user = if self.user.is_empty() {
            None
        } else {
            match directory.users.get(&self.user) {
                Some(u) => Some(engine_user_of(u)),
                None => {
                    problems.push(("sim_user".to_owned(), "No such user.".to_owned()));
                    None
                }
            }
        };
        let grant_type = GrantType::from_name(&self.grant_type);
        if grant_type.is_none() {
            problems.push(("sim_grant_type".to_owned(), "Pick a grant type.".to_owned()));
        }
        let target = target_of(&self.target);
        if target.is_none() {
            problems.push(("sim_target".to_owned(), "Pick a target.".to_owned()));
        }
        let ip = if self.ip.trim().is_empty() {
            None
        } else {
            match self.ip.trim().parse() {
                Ok(ip) => Some(ip),
                Err(_) => {
                    problems.push((
                        "sim_ip".to_owned(),
                        format!("`{}` is not an IP address.", self.ip.trim()),
                    ));
                    None
                }
            }
        };
        let time = if self.time.trim().is_empty() {
            None
        } else {
            // `datetime-local` gives no zone: read it as UTC, as the label says.
            let text = self.time.trim();
            let parsed = text.parse::<jiff::Timestamp>().or_else(|_| {
                text.parse::<jiff::civil::DateTime>()
                    .and_then(|dt| dt.to_zoned(jiff::tz::TimeZone::UTC))
                    .map(|z| z.timestamp())
            });
            match parsed {
                Ok(t) => Some(t),
                Err(_) => {
                    problems.push((
                        "sim_time".to_owned(),
                        format!("`{text}` is not a date and time."),
                    ));
                    None
                }
            }
        };
        let age = match self.age.trim() {
            "" => None,
            text => match text.parse::<u64>() {
                Ok(age) => Some(age),
                Err(_) => {
                    problems.push((
                        "sim_age".to_owned(),
                        format!("`{text}` is not a whole number of seconds."),
                    ));
                    None
                }
            },
        };
        let methods: Vec<String> = self.methods.split_whitespace().map(str::to_owned).collect();
        let level = Some(self.level.trim())
            .filter(|l| !l.is_empty())
            .map(str::to_owned);
        let auth = (!methods.is_empty() || level.is_some() || age.is_some()).then(|| Auth {
            methods: (!methods.is_empty()).then_some(methods),
            level,
            age,
        });
        let (Some(grant_type), Some(target), true) = (grant_type, target, problems.is_empty())
        else {
            return Err(problems);
        };
        let scopes: Vec<String> = self.scopes.split_whitespace().map(str::to_owned).collect();
        Ok(Request {
            grant_type,
            client,
            user,
            claims: None,
            actor: None,
            subject: None,
            auth,
            target,
            requested_scopes: (!scopes.is_empty()).then_some(scopes),
            consented_scopes: None,
            context: (ip.is_some() || time.is_some()).then_some(Context { ip, time }),
            explain: true,
        })
    }
}

/// A decision as the simulator shows it.
pub(super) struct Verdict {
    pub(super) permitted: bool,
    pub(super) granted: String,
    pub(super) scopes: Vec<ScopeRow>,
    pub(super) matched: String,
    pub(super) dry_run: Vec<String>,
    pub(super) not_matched: Vec<(String, String)>,
    /// What a fresh sign-in would add, one line per policy.
    pub(super) step_up: Vec<String>,
}

/// One scope's verdict.
pub(super) struct ScopeRow {
    pub(super) scope: String,
    pub(super) granted: bool,
    pub(super) by: String,
    pub(super) reason: String,
}

impl Verdict {
    pub(super) fn of(d: &Decision<'_>) -> Verdict {
        let join = |names: &[tollgate_engine::Name<'_>]| {
            names
                .iter()
                .map(|n| n.as_ref())
                .collect::<Vec<&str>>()
                .join(", ")
        };
        Verdict {
            permitted: d.permitted,
            granted: d
                .granted
                .iter()
                .map(|n| n.as_ref())
                .collect::<Vec<&str>>()
                .join(" "),
            scopes: d
                .scopes
                .iter()
                .map(|s| ScopeRow {
                    scope: s.scope.to_string(),
                    granted: s.granted,
                    by: join(&s.by),
                    reason: s
                        .reason
                        .map(|r| r.as_str().replace('_', " "))
                        .unwrap_or_default(),
                })
                .collect(),
            matched: join(&d.matched),
            dry_run: d
                .dry_run
                .iter()
                .map(|r| format!("{} would add {}", r.policy, join(&r.would_add)))
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
                    let mut needs = Vec::new();
                    if !s.methods.is_empty() {
                        needs.push(format!("with {}", join(&s.methods)));
                    }
                    if !s.levels.is_empty() {
                        needs.push(format!("at level {}", s.levels.join(" or ")));
                    }
                    if let Some(age) = s.max_age {
                        needs.push(format!("at most {age} s ago"));
                    }
                    let what = if s.scopes.is_empty() {
                        "the connection".to_owned()
                    } else {
                        join(&s.scopes)
                    };
                    format!(
                        "{} would give {what} after a new sign-in {}",
                        s.policy,
                        needs.join(", ")
                    )
                })
                .collect(),
        }
    }
}

/// The simulator's answer: the decision of each set, or the problems with the fields.
pub(super) struct Simulated {
    pub(super) current: Option<Verdict>,
    pub(super) draft: Option<Verdict>,
    pub(super) problems: Vec<(String, String)>,
}

impl Simulated {
    /// Decides `simulation` on `current` and, when given, on `draft`.
    pub(super) fn run(
        simulation: &Simulation,
        directory: &Directory,
        current: &PolicySet,
        draft: Option<&PolicySet>,
    ) -> Simulated {
        match simulation.request(directory) {
            Ok(request) => Simulated {
                current: Some(Verdict::of(&current.decide(&request))),
                draft: draft.map(|d| Verdict::of(&d.decide(&request))),
                problems: Vec::new(),
            },
            Err(problems) => Simulated {
                current: None,
                draft: None,
                problems,
            },
        }
    }

    /// The problem with one field.
    pub(super) fn problem(&self, field: &str) -> Option<&str> {
        self.problems
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }
}

#[derive(Template)]
#[template(path = "console/simulate.html")]
struct SimulatePage {
    chrome: Chrome,
    pickers: Pickers,
    sim: Simulation,
    result: Option<Simulated>,
}

impl SimulatePage {
    fn result_problem(&self, field: &str) -> Option<&str> {
        self.result.as_ref()?.problem(field)
    }
}

/// `GET /console/simulate?sim_client=…`: one decision on the current policies, explained.
pub(super) async fn simulate(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let path = format!("/console/simulate?{}", query.as_deref().unwrap_or_default());
    let staff = match signed_in(&state, &headers, &path).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let sim = Simulation::read(|name| query_param(query.as_deref(), name));
    let directory = state.core.directory();
    let result = if sim.asked() {
        match directory.policy_set() {
            Ok(set) => Some(Simulated::run(&sim, &directory, set, None)),
            Err(message) => Some(Simulated {
                current: None,
                draft: None,
                problems: vec![(String::new(), message.to_owned())],
            }),
        }
    } else {
        None
    };
    let status = match &result {
        Some(r) if !r.problems.is_empty() => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    };
    console_page(
        status,
        &SimulatePage {
            chrome: Chrome::of(&staff, Section::Simulate),
            pickers: Pickers::of(&directory),
            sim,
            result,
        },
    )
}

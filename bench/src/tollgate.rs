//! The workload as a Tollgate policy document and Tollgate requests (JSON, as every runtime
//! accepts them). The request JSON is also the Rego input.

use serde_json::{Map, Value, json};

use crate::workload::{Condition, Op, Policy, Req, Workload};

/// The policy document (`version: 1`, the resources, the policies) as JSON text.
pub fn document(w: &Workload) -> String {
    let resources: Vec<Value> = w
        .resources
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "audience": format!("https://{}.example.com", r.id),
                "kind": "api",
                "scopes": r.scopes,
            })
        })
        .collect();
    let policies: Vec<Value> = w.policies.iter().map(|p| policy(w, p)).collect();
    json!({ "version": 1, "resources": resources, "policies": policies }).to_string()
}

fn policy(w: &Workload, p: &Policy) -> Value {
    let mut subject = Map::new();
    if let Some(clients) = &p.clients {
        subject.insert("clients".into(), json!(clients));
    }
    subject.insert(
        "conditions".into(),
        p.conditions.iter().map(condition).collect(),
    );
    let target = w.resources.get(p.target).map_or("", |r| r.id.as_str());
    json!({
        "id": p.id,
        "subject": subject,
        "grantTypes": p.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        "targets": [ { "resource": target, "scopes": p.scopes } ],
    })
}

fn condition(c: &Condition) -> Value {
    let key = c.attr.key();
    match &c.op {
        Op::Contains(v) => json!({ "key": key, "op": "contains", "value": v }),
        Op::In(vs) => json!({ "key": key, "op": "in", "values": vs }),
        Op::Equal(v) => json!({ "key": key, "op": "equal", "value": v }),
    }
}

/// The request in the JSON shape of DESIGN.md ("Request and decision"); absent parts are left out.
pub fn request_json(w: &Workload, r: &Req, explain: bool) -> Value {
    let mut client = Map::new();
    client.insert("clientId".into(), json!(r.client_id));
    let fields = [
        ("name", &r.client_name),
        ("status", &r.client_status),
        ("registrationType", &r.registration_type),
    ];
    for (key, value) in fields {
        if let Some(v) = value {
            client.insert(key.into(), json!(v));
        }
    }
    if let Some(tags) = &r.client_tags {
        client.insert("tags".into(), json!(tags));
    }
    let mut out = Map::new();
    out.insert("grantType".into(), json!(r.grant.as_str()));
    out.insert("client".into(), Value::Object(client));
    if let Some(u) = &r.user {
        let mut user = Map::new();
        user.insert("sub".into(), json!(u.sub));
        let lists = [
            ("roles", &u.roles),
            ("tenantIds", &u.tenant_ids),
            ("permissions", &u.permissions),
        ];
        for (key, value) in lists {
            if let Some(v) = value {
                user.insert(key.into(), json!(v));
            }
        }
        out.insert("user".into(), Value::Object(user));
    }
    if let Some(claims) = &r.claims {
        out.insert("claims".into(), json!(claims));
    }
    let target = w.resources.get(r.target).map_or("", |t| t.id.as_str());
    out.insert("target".into(), json!({ "resource": target }));
    if let Some(requested) = &r.requested {
        out.insert("requestedScopes".into(), json!(requested));
    }
    out.insert("explain".into(), json!(explain));
    Value::Object(out)
}

//! Writes one generated workload to a directory, for benchmarks outside Rust (`js/bench/decide.mjs`
//! compares the npm package with `@cedar-policy/cedar-wasm` on it).
//!
//! `cargo run --release -p tollgate-bench --bin export -- N DIR [REQUESTS]` writes, for the
//! workload of N policies that `benches/decide.rs` generates (same seeds):
//!
//! - `tollgate.json`: the Tollgate policy document;
//! - `tollgate-requests.json`: the requests in Tollgate's JSON shape (`explain: false`);
//! - `cedar.cedar`: the same policies in Cedar;
//! - `cedar-requests.json`: the same requests for Cedar, `{ principal, action, resource, context,
//!   requested }` with entity uids as `{ type, id }` (`requested`: the requested scopes, or null);
//! - `cedar-entities.json`: the entities (`[]`: the translation needs none);
//! - `expected.json`: the scopes the generator's naive model grants each request, to check answers.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::{Map, Value, json};
use tollgate_bench::{Req, Workload, cedar, tollgate};

/// The seeds of `benches/decide.rs`, so N names the same workload in both benchmarks.
const SEED: u64 = 0x7011_6a7e_2026;
const REQUESTS: usize = 10_000;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(n), Some(dir)) = (args.first(), args.get(1)) else {
        eprintln!("usage: export N DIR [REQUESTS]");
        return ExitCode::from(2);
    };
    let Ok(n) = n.replace([',', '_'], "").parse::<usize>() else {
        eprintln!("export: N must be a number, got `{n}`");
        return ExitCode::from(2);
    };
    let count = match args.get(2).map(|c| c.parse::<usize>()) {
        None => REQUESTS,
        Some(Ok(c)) => c,
        Some(Err(e)) => {
            eprintln!("export: REQUESTS: {e}");
            return ExitCode::from(2);
        }
    };
    match export(n, count, &PathBuf::from(dir)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("export: {e}");
            ExitCode::FAILURE
        }
    }
}

fn export(n: usize, count: usize, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let w = Workload::generate(n, SEED ^ n as u64);
    let reqs = w.requests(SEED.wrapping_add(n as u64), count);
    let write = |name: &str, text: String| std::fs::write(dir.join(name), text);
    write("tollgate.json", tollgate::document(&w))?;
    let requests: Vec<Value> = reqs
        .iter()
        .map(|r| tollgate::request_json(&w, r, false))
        .collect();
    write("tollgate-requests.json", Value::Array(requests).to_string())?;
    write("cedar.cedar", cedar::policies_text(&w))?;
    let cedar_requests: Vec<Value> = reqs.iter().map(|r| cedar_request(&w, r)).collect();
    write(
        "cedar-requests.json",
        Value::Array(cedar_requests).to_string(),
    )?;
    write("cedar-entities.json", "[]".to_owned())?;
    let expected: Vec<Value> = reqs.iter().map(|r| json!(w.granted(r))).collect();
    write("expected.json", Value::Array(expected).to_string())?;
    println!(
        "export: {n} policies, {} resources, {count} requests -> {}",
        w.resources.len(),
        dir.display()
    );
    Ok(())
}

/// The Cedar request of `cedar::request` as JSON: its context record is the Tollgate request's
/// client (without `clientId`, which is the principal), user and claims, present parts only.
// `cedar::request` builds a `cedar_policy::Request` and keeps its context private; the record is
// rebuilt here from the Tollgate request JSON, which carries the same present attributes.
fn cedar_request(w: &Workload, r: &Req) -> Value {
    let target = w.resources.get(r.target).map_or("", |t| t.id.as_str());
    let tollgate = tollgate::request_json(w, r, false);
    let mut context = Map::new();
    let mut client = tollgate
        .get("client")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    client.remove("clientId");
    context.insert("client".into(), Value::Object(client));
    for key in ["user", "claims"] {
        if let Some(v) = tollgate.get(key) {
            context.insert(key.into(), v.clone());
        }
    }
    json!({
        "principal": { "type": "Client", "id": r.client_id },
        "action": { "type": "Action", "id": r.grant.as_str() },
        "resource": { "type": "Resource", "id": target },
        "context": context,
        "requested": r.requested,
    })
}

//! Decision benchmark: Tollgate against Cedar, Cedar behind a per-target index, and regorus, on
//! generated policy sets of 10 to 100,000 policies. See `bench/README.md`.
//!
//! `cargo bench -p tollgate-bench --bench decide` (full run);
//! `TOLLGATE_BENCH_QUICK=1 cargo bench -p tollgate-bench --bench decide` (N = 10 and 1,000, short
//! criterion runs). `TOLLGATE_BENCH_SIZES=10,1000` picks the sizes; `TOLLGATE_BENCH_REGO_MAX_N`
//! (default 100000) skips regorus above that size.
//!
//! For every N and engine it measures load time (parse and compile, wall clock), the heap the
//! loaded policy set retains and the peak heap during the load (a counting global allocator),
//! decision latency percentiles from timing each decision on its own, and a criterion benchmark
//! over the same rotating request list. Every decision any engine makes is checked against
//! Tollgate's; a disagreement stops the run with the request and both answers.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode};
use tollgate_bench::workload::PERMITTED_TARGET;
use tollgate_bench::{Workload, cedar, rego, tollgate};
use tollgate_engine::{PolicySet, Request};

/// Counts the heap the main thread holds, so a load can be charged with what it keeps.
mod counting {
    #![expect(
        unsafe_code,
        reason = "a global allocator is unsafe to implement; this one forwards to System and counts"
    )]

    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    thread_local! {
        // Per thread, so counting costs a plain add (no atomic) on the decision paths being
        // timed. Every load is measured on the main thread. Const-initialised and without Drop,
        // so the allocator can touch them at any time, even during thread teardown.
        static LIVE: Cell<isize> = const { Cell::new(0) };
        static PEAK: Cell<isize> = const { Cell::new(0) };
    }

    fn add(bytes: usize) {
        let bytes = isize::try_from(bytes).unwrap_or(isize::MAX);
        let _ = LIVE.try_with(|live| {
            let now = live.get().saturating_add(bytes);
            live.set(now);
            let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
        });
    }

    fn sub(bytes: usize) {
        let bytes = isize::try_from(bytes).unwrap_or(isize::MAX);
        let _ = LIVE.try_with(|live| live.set(live.get().saturating_sub(bytes)));
    }

    /// Forwards to [`System`], counting live bytes.
    pub struct Counting;

    // SAFETY: every method forwards to `System` with the caller's arguments unchanged.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            // SAFETY: forwarded as is.
            let p = unsafe { System.alloc(layout) };
            if !p.is_null() {
                add(layout.size());
            }
            p
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            // SAFETY: forwarded as is.
            let p = unsafe { System.alloc_zeroed(layout) };
            if !p.is_null() {
                add(layout.size());
            }
            p
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: forwarded as is.
            unsafe { System.dealloc(ptr, layout) };
            sub(layout.size());
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            // SAFETY: forwarded as is.
            let p = unsafe { System.realloc(ptr, layout, new_size) };
            if !p.is_null() {
                sub(layout.size());
                add(new_size);
            }
            p
        }
    }

    #[global_allocator]
    static GLOBAL: Counting = Counting;

    /// Bytes allocated and not yet freed by this thread.
    pub fn live() -> isize {
        LIVE.try_with(Cell::get).unwrap_or(0)
    }

    /// Starts a new peak at the current level; returns that level.
    pub fn reset_peak() -> isize {
        let now = live();
        let _ = PEAK.try_with(|peak| peak.set(now));
        now
    }

    /// The highest [`live`] since the last [`reset_peak`].
    pub fn peak() -> isize {
        PEAK.try_with(Cell::get).unwrap_or(0)
    }
}

const SEED: u64 = 0x7011_6a7e_2026;
const REQUESTS: usize = 10_000;
const MB: f64 = 1024.0 * 1024.0;

#[derive(Debug, Clone)]
struct Settings {
    sizes: Vec<usize>,
    quick: bool,
    /// Wall-clock budget for one engine's individually timed decisions at one N.
    budget: Duration,
    rego_max_n: usize,
    /// Run the peers (off: Tollgate only, checked against the generator's model).
    peers: bool,
}

impl Settings {
    fn from_env() -> Settings {
        let quick = std::env::var_os("TOLLGATE_BENCH_QUICK").is_some_and(|v| !v.is_empty());
        let sizes = std::env::var("TOLLGATE_BENCH_SIZES")
            .ok()
            .map(|s| {
                s.split(',')
                    .filter_map(|n| n.trim().replace('_', "").parse().ok())
                    .collect::<Vec<usize>>()
            })
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| {
                if quick {
                    vec![10, 1_000]
                } else {
                    vec![10, 1_000, 10_000, 100_000]
                }
            });
        let rego_max_n = std::env::var("TOLLGATE_BENCH_REGO_MAX_N")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(100_000);
        Settings {
            sizes,
            quick,
            budget: if quick {
                Duration::from_secs(2)
            } else {
                Duration::from_secs(10)
            },
            rego_max_n,
            peers: std::env::var("TOLLGATE_BENCH_PEERS").map_or(true, |v| v != "0"),
        }
    }
}

/// What loading a policy set cost.
#[derive(Debug, Clone, Copy)]
struct Load {
    time: Duration,
    retained: isize,
    peak: isize,
}

fn load<T>(f: impl FnOnce() -> T) -> (T, Load) {
    let base = counting::reset_peak();
    let start = Instant::now();
    let value = f();
    let time = start.elapsed();
    let load = Load {
        time,
        retained: counting::live() - base,
        peak: counting::peak() - base,
    };
    (value, load)
}

/// Latency percentiles from individually timed decisions.
#[derive(Debug, Clone, Copy)]
struct Latency {
    p50: Duration,
    p99: Duration,
    samples: usize,
    distinct: usize,
}

impl Latency {
    /// The percentiles of a set of timed decisions made on `distinct` different inputs.
    fn of(mut samples: Vec<Duration>, distinct: usize) -> Latency {
        samples.sort_unstable();
        let at = |q: usize| {
            let i = samples.len().saturating_sub(1) * q / 100;
            samples.get(i).copied().unwrap_or_default()
        };
        Latency {
            p50: at(50),
            p99: at(99),
            samples: samples.len(),
            distinct,
        }
    }
}

/// Times `decide` on each input in turn (`passes` times over the `count` inputs), stopping early
/// once `budget` is spent and at least `min` decisions were timed. Each input is built afresh by
/// `build`, untimed, right before its decision, as a server builds a request just before asking
/// (so no engine is timed reading a request that went cold in a list of thousands). `check` sees
/// every answer, untimed.
fn time_each<I, D>(
    count: usize,
    passes: usize,
    budget: Duration,
    min: usize,
    mut build: impl FnMut(usize) -> I,
    mut decide: impl FnMut(&I) -> D,
    mut check: impl FnMut(usize, D),
) -> Latency {
    let mut samples: Vec<Duration> = Vec::with_capacity(count * passes);
    let mut distinct = 0;
    let start = Instant::now();
    'passes: for pass in 0..passes {
        for i in 0..count {
            let input = build(i);
            let t = Instant::now();
            let d = black_box(decide(black_box(&input)));
            samples.push(t.elapsed());
            drop(input);
            if pass == 0 {
                distinct = i + 1;
            }
            check(i, d);
            if samples.len() >= min && start.elapsed() > budget {
                break 'passes;
            }
        }
    }
    Latency::of(samples, distinct)
}

/// Times two engines head to head: the inputs in blocks of [`BLOCK`], each block decided by one
/// engine and then the other (which goes first alternates), each input built afresh and untimed
/// right before its decision (as in [`time_each`]). On this shared machine the speed of the same
/// code moves by up to 2× between runs minutes apart; measured this way, a drift hits both engines
/// alike, so the ratio of the two p50s is steadier than that of two separate runs. Blocks, not
/// single decisions in turn: each engine's working set evicts the other's from the caches, and
/// the first runs of this gave Tollgate twice its p50 when every decision followed a Cedar one.
fn time_pair<IA, DA, IB, DB>(
    count: usize,
    budget: Duration,
    min: usize,
    mut build_a: impl FnMut(usize) -> IA,
    mut decide_a: impl FnMut(&IA) -> DA,
    mut build_b: impl FnMut(usize) -> IB,
    mut decide_b: impl FnMut(&IB) -> DB,
) -> (Latency, Latency) {
    let mut a: Vec<Duration> = Vec::with_capacity(count);
    let mut b: Vec<Duration> = Vec::with_capacity(count);
    let start = Instant::now();
    for (k, first) in (0..count).step_by(BLOCK).enumerate() {
        let block = first..count.min(first + BLOCK);
        if k % 2 == 0 {
            time_block(block.clone(), &mut a, &mut build_a, &mut decide_a);
            time_block(block.clone(), &mut b, &mut build_b, &mut decide_b);
        } else {
            time_block(block.clone(), &mut b, &mut build_b, &mut decide_b);
            time_block(block.clone(), &mut a, &mut build_a, &mut decide_a);
        }
        if block.end >= min && start.elapsed() > budget {
            break;
        }
    }
    let (na, nb) = (a.len(), b.len());
    (Latency::of(a, na), Latency::of(b, nb))
}

/// Times one engine on each input of a block, each input built untimed right before its decision.
fn time_block<I, D>(
    block: std::ops::Range<usize>,
    samples: &mut Vec<Duration>,
    build: &mut impl FnMut(usize) -> I,
    decide: &mut impl FnMut(&I) -> D,
) {
    for i in block {
        let input = build(i);
        let t = Instant::now();
        let d = black_box(decide(black_box(&input)));
        samples.push(t.elapsed());
        drop(d);
    }
}

/// How many inputs [`time_pair`] gives one engine before switching to the other.
const BLOCK: usize = 200;

/// Checks one engine's answer against Tollgate's.
#[expect(
    clippy::panic,
    reason = "a disagreement means the benchmark compares different things: stop the run"
)]
fn agree(
    engine: &str,
    n: usize,
    request: &serde_json::Value,
    expected: &BTreeSet<String>,
    got: impl IntoIterator<Item = impl Into<String>>,
) {
    let got: BTreeSet<String> = got.into_iter().map(Into::into).collect();
    if &got != expected {
        panic!(
            "N = {n}: {engine} disagrees with tollgate\nrequest: {request}\ntollgate: {expected:?}\n{engine}: {got:?}"
        );
    }
}

/// The agreement check for a Cedar variant; evaluation errors count as a disagreement (the `has`
/// guards of the translation are meant to prevent every one).
fn check_cedar<'a>(
    name: &'static str,
    n: usize,
    expected: &'a [BTreeSet<String>],
    json: &'a [serde_json::Value],
) -> impl FnMut(usize, cedar::CedarDecision) + 'a {
    move |i, d| {
        if let (Some(e), Some(j)) = (expected.get(i), json.get(i)) {
            assert_eq!(d.errors, 0, "{name}: evaluation errors on {j}");
            agree(name, n, j, e, d.granted);
        }
    }
}

/// One row of the result table.
#[derive(Debug, Clone)]
struct Row {
    n: usize,
    engine: &'static str,
    load: Option<Load>,
    latency: Latency,
    note: String,
}

/// Runs the criterion benchmark `decide/<engine>/<n>` over the checked inputs, rotating; skipped (with a
/// note) when a single decision is so slow that criterion's minimum of 10 samples would dominate
/// the run.
fn criterion_bench<I, D>(
    c: &mut Criterion,
    settings: &Settings,
    engine: &str,
    n: usize,
    inputs: &[I],
    latency: Latency,
    mut decide: impl FnMut(&I) -> D,
) -> String {
    // Only the requests whose answers were checked, so every benchmarked request is one on which
    // the engines were seen to agree.
    let inputs = inputs.get(..latency.distinct).unwrap_or(inputs);
    let p50 = latency.p50;
    if p50 > Duration::from_millis(500) || inputs.is_empty() {
        return "criterion skipped (too slow per decision)".to_owned();
    }
    let mut group = c.benchmark_group("decide");
    if settings.quick {
        group
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(1))
            .sample_size(20);
    }
    if p50 > Duration::from_millis(1) {
        group.sample_size(10).sampling_mode(SamplingMode::Flat);
    }
    group.bench_function(format!("{engine}/{n}"), |b| {
        let mut i = 0usize;
        b.iter(|| {
            let input = inputs.get(i % inputs.len());
            i = i.wrapping_add(1);
            input.map(&mut decide)
        });
    });
    group.finish();
    String::new()
}

/// Cedar, Cedar+index and regorus at one N, each checked against Tollgate's answers, and Tollgate
/// against Cedar+index head to head (Tollgate's set and requests come in for that, and the set is
/// dropped right after it).
#[expect(
    clippy::expect_used,
    reason = "a benchmark whose inputs do not load cannot run: stop with the reason"
)]
#[expect(
    clippy::too_many_arguments,
    reason = "the workload in its three forms, the reference answers and Tollgate's set"
)]
fn run_peers(
    c: &mut Criterion,
    settings: &Settings,
    tollgate: (PolicySet, &[Request]),
    w: &Workload,
    reqs: &[tollgate_bench::Req],
    json: &[serde_json::Value],
    expected: &[BTreeSet<String>],
    rows: &mut Vec<Row>,
) {
    let n = w.n;
    let budget = settings.budget;
    // Cedar: requests are built before timing, like Tollgate's.
    let cedar_reqs: Vec<cedar::CedarRequest> = reqs
        .iter()
        .map(|r| cedar::request(w, r).expect("cedar request"))
        .collect();
    let per_target = cedar::per_target_texts(w);
    let (indexed, il) = load(|| cedar::CedarIndexed::load(&per_target));
    drop(per_target);
    let indexed = indexed.expect("cedar policies (per target)");
    let fresh_cedar =
        |i: usize| cedar::request(w, reqs.get(i).expect("request index")).expect("cedar request");
    let latency = time_each(
        cedar_reqs.len(),
        1,
        budget,
        10,
        fresh_cedar,
        |r| indexed.decide(r),
        check_cedar("cedar+index", n, expected, json),
    );
    let note = criterion_bench(c, settings, "cedar-index", n, &cedar_reqs, latency, |r| {
        indexed.decide(r)
    });
    rows.push(Row {
        n,
        engine: "cedar+index",
        load: Some(il),
        latency,
        note,
    });
    // The two head to head, interleaved (the answers were checked above).
    let (set, fast) = tollgate;
    let (t, ci) = time_pair(
        fast.len().min(cedar_reqs.len()),
        budget,
        fast.len().min(cedar_reqs.len()).min(1_000),
        |i| fast.get(i).expect("request index").clone(),
        |r| set.decide(r),
        fresh_cedar,
        |r| indexed.decide(r),
    );
    drop(set);
    for (engine, latency) in [
        ("tollgate, interleaved", t),
        ("cedar+index, interleaved", ci),
    ] {
        rows.push(Row {
            n,
            engine,
            load: None,
            latency,
            note: format!("head to head: blocks of {BLOCK} requests, each engine in turn"),
        });
    }
    drop(indexed);

    let text = cedar::policies_text(w);
    let (whole, cl) = load(|| cedar::Cedar::load(&text));
    drop(text);
    let whole = whole.expect("cedar policies");
    assert_eq!(whole.len(), n, "cedar policy count");
    let latency = time_each(
        cedar_reqs.len(),
        1,
        budget,
        5,
        fresh_cedar,
        |r| whole.decide(r),
        check_cedar("cedar", n, expected, json),
    );
    let note = criterion_bench(c, settings, "cedar", n, &cedar_reqs, latency, |r| {
        whole.decide(r)
    });
    rows.push(Row {
        n,
        engine: "cedar",
        load: Some(cl),
        latency,
        note,
    });
    drop(whole);
    drop(cedar_reqs);

    // regorus.
    if n <= settings.rego_max_n {
        let inputs: Vec<regorus::Value> = json
            .iter()
            .map(|j| rego::input(j).expect("rego input"))
            .collect();
        let modules = rego::modules(w);
        let (engine, rl) = load(|| rego::Rego::load(modules));
        let mut engine = engine.expect("rego modules");
        let latency = time_each(
            inputs.len(),
            1,
            budget,
            3,
            |i| rego::input(json.get(i).expect("request index")).expect("rego input"),
            |input| engine.decide(input).expect("rego evaluation"),
            |i, granted| {
                if let (Some(e), Some(j)) = (expected.get(i), json.get(i)) {
                    agree("regorus", n, j, e, granted);
                }
            },
        );
        let note = criterion_bench(c, settings, "regorus", n, &inputs, latency, |input| {
            engine.decide(input).expect("rego evaluation")
        });
        rows.push(Row {
            n,
            engine: "regorus",
            load: Some(rl),
            latency,
            note,
        });
    } else {
        rows.push(Row {
            n,
            engine: "regorus",
            load: None,
            latency: Latency {
                p50: Duration::ZERO,
                p99: Duration::ZERO,
                samples: 0,
                distinct: 0,
            },
            note: format!(
                "skipped: N > TOLLGATE_BENCH_REGO_MAX_N ({})",
                settings.rego_max_n
            ),
        });
    }
}

/// Tollgate at one N (its answers are the reference), then the peers.
#[expect(
    clippy::expect_used,
    reason = "a benchmark whose inputs do not load cannot run: stop with the reason"
)]
fn run_size(c: &mut Criterion, settings: &Settings, n: usize, rows: &mut Vec<Row>) -> String {
    let w = Workload::generate(n, SEED ^ n as u64);
    let reqs = w.requests(SEED.wrapping_add(n as u64), REQUESTS);
    let json: Vec<serde_json::Value> = reqs
        .iter()
        .map(|r| tollgate::request_json(&w, r, false))
        .collect();
    let fast: Vec<Request> = json
        .iter()
        .map(|j| serde_json::from_value(j.clone()).expect("tollgate request"))
        .collect();
    let explained: Vec<Request> = fast
        .iter()
        .map(|r| Request {
            explain: true,
            ..r.clone()
        })
        .collect();
    let budget = settings.budget;

    // Tollgate, fast path: its answers are the reference for every other engine.
    let doc = tollgate::document(&w);
    let (set, tl) = load(|| PolicySet::load(&doc));
    drop(doc);
    let set = set.expect("tollgate policy document");
    let mut expected: Vec<BTreeSet<String>> = vec![BTreeSet::new(); fast.len()];
    let mut permitted = 0usize;
    let latency = time_each(
        fast.len(),
        3,
        budget * 3,
        fast.len(),
        |i| fast.get(i).expect("request index").clone(),
        |r| set.decide(r),
        |i, d| {
            if let Some(slot) = expected.get_mut(i)
                && slot.is_empty()
            {
                *slot = d.granted.iter().map(|s| s.to_string()).collect();
                permitted += usize::from(d.permitted);
            }
        },
    );
    for ((r, j), e) in reqs.iter().zip(&json).zip(&expected) {
        agree("the generator's model", n, j, e, w.granted(r));
    }
    let note = criterion_bench(c, settings, "tollgate", n, &fast, latency, |r| {
        set.decide(r)
    });
    rows.push(Row {
        n,
        engine: "tollgate",
        load: Some(tl),
        latency,
        note,
    });

    let latency = time_each(
        explained.len(),
        1,
        budget,
        explained.len(),
        |i| explained.get(i).expect("request index").clone(),
        |r| set.decide(r),
        |i, d| {
            if let (Some(e), Some(j)) = (expected.get(i), json.get(i)) {
                agree(
                    "tollgate (explain)",
                    n,
                    j,
                    e,
                    d.granted.iter().map(|s| s.to_string()),
                );
            }
        },
    );
    let note = criterion_bench(
        c,
        settings,
        "tollgate-explain",
        n,
        &explained,
        latency,
        |r| set.decide(r),
    );
    rows.push(Row {
        n,
        engine: "tollgate (explain)",
        load: None,
        latency,
        note,
    });

    if settings.peers {
        run_peers(c, settings, (set, &fast), &w, &reqs, &json, &expected, rows);
    } else {
        drop(set);
    }

    let share = permitted as f64 / reqs.len().max(1) as f64;
    let line = format!(
        "| {n} | {} | {:.1} | {} | {:.1}% | {:.1}% |",
        w.resources.len(),
        n as f64 / w.resources.len() as f64,
        reqs.len(),
        share * 100.0,
        w.random_permitted_share(SEED, 2_000) * 100.0,
    );
    eprintln!(
        "N = {n}: {} resources, {:.1}% of {} requests permitted (target {:.0}%)",
        w.resources.len(),
        share * 100.0,
        reqs.len(),
        PERMITTED_TARGET * 100.0
    );
    line
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// The 1-minute load average, to tell a quiet machine from a shared busy one.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

fn report(
    settings: &Settings,
    rows: &[Row],
    workloads: &[String],
    total: Duration,
    load_before: &str,
) -> String {
    let mut out = String::new();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    // Writing to a String cannot fail.
    let _ = writeln!(out, "# Tollgate decision benchmark\n");
    let _ = writeln!(
        out,
        "Machine: {cpu}, {cores} cores; 1-minute load average {load_before} at the start, {} at \
         the end. Run took {:.0} s{}.\n",
        load_average(),
        total.as_secs_f64(),
        if settings.quick { " (quick mode)" } else { "" }
    );
    let _ = writeln!(
        out,
        "| N | engine | load ms | retained MB | peak MB | p50 µs | p99 µs | timed (distinct) | speed-up vs cedar+index | note |"
    );
    let _ = writeln!(
        out,
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
    );
    for row in rows {
        // Interleaved rows are compared with each other, the others with the separate run.
        let against = if row.engine.ends_with(", interleaved") {
            "cedar+index, interleaved"
        } else {
            "cedar+index"
        };
        let reference = rows
            .iter()
            .find(|r| r.n == row.n && r.engine == against)
            .map(|r| r.latency.p50);
        let speedup = match reference {
            Some(c) if row.latency.samples > 0 && !row.latency.p50.is_zero() => {
                format!("{:.1}×", c.as_secs_f64() / row.latency.p50.as_secs_f64())
            }
            _ => "–".to_owned(),
        };
        let (load_ms, retained, peak) = match row.load {
            Some(l) => (
                format!("{:.1}", l.time.as_secs_f64() * 1e3),
                format!("{:.2}", l.retained as f64 / MB),
                format!("{:.2}", l.peak as f64 / MB),
            ),
            None => ("–".to_owned(), "–".to_owned(), "–".to_owned()),
        };
        let (p50, p99, timed) = if row.latency.samples == 0 {
            ("–".to_owned(), "–".to_owned(), "0".to_owned())
        } else {
            (
                format!("{:.3}", us(row.latency.p50)),
                format!("{:.3}", us(row.latency.p99)),
                format!("{} ({})", row.latency.samples, row.latency.distinct),
            )
        };
        let _ = writeln!(
            out,
            "| {} | {} | {load_ms} | {retained} | {peak} | {p50} | {p99} | {timed} | {speedup} | {} |",
            row.n, row.engine, row.note
        );
    }
    let _ = writeln!(
        out,
        "\n| N | resources | policies per resource | requests | permitted | permitted by chance |"
    );
    let _ = writeln!(out, "| ---: | ---: | ---: | ---: | ---: | ---: |");
    for line in workloads {
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out, "\nGoals:\n");
    let tollgate = |n: usize| rows.iter().find(|r| r.n == n && r.engine == "tollgate");
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    if let Some(t) = tollgate(100_000) {
        let _ = writeln!(
            out,
            "- p50 ≤ 1 µs at 100,000 policies: {:.3} µs, {}",
            us(t.latency.p50),
            verdict(t.latency.p50 <= Duration::from_micros(1))
        );
        if let Some(l) = t.load {
            let _ = writeln!(
                out,
                "- load 100,000 policies in ≤ 1 s and ≤ 200 MB: {:.0} ms, {:.1} MB retained ({:.1} MB peak), {}",
                l.time.as_secs_f64() * 1e3,
                l.retained as f64 / MB,
                l.peak as f64 / MB,
                verdict(l.time <= Duration::from_secs(1) && l.retained as f64 <= 200.0 * MB)
            );
        }
    }
    for n in &settings.sizes {
        let cedar = rows
            .iter()
            .find(|r| r.n == *n && r.engine == "cedar+index")
            .map(|r| r.latency.p50);
        if let (Some(t), Some(c)) = (tollgate(*n), cedar)
            && !t.latency.p50.is_zero()
        {
            let x = c.as_secs_f64() / t.latency.p50.as_secs_f64();
            let _ = writeln!(
                out,
                "- ≥ 20× faster than cedar+index at N = {n}: {x:.1}×, {}",
                verdict(x >= 20.0)
            );
        }
        let interleaved = |engine: &str| {
            rows.iter()
                .find(|r| r.n == *n && r.engine == engine)
                .map(|r| r.latency.p50)
        };
        if let (Some(t), Some(c)) = (
            interleaved("tollgate, interleaved"),
            interleaved("cedar+index, interleaved"),
        ) && !t.is_zero()
        {
            let x = c.as_secs_f64() / t.as_secs_f64();
            let _ = writeln!(
                out,
                "  - head to head, interleaved: {:.3} against {:.3} µs, {x:.1}×, {}",
                us(t),
                us(c),
                verdict(x >= 20.0)
            );
        }
    }
    out
}

#[expect(
    clippy::expect_used,
    reason = "a benchmark that cannot write its report should say so and stop"
)]
fn main() {
    let started = Instant::now();
    let load_before = load_average();
    let settings = Settings::from_env();
    let mut c = Criterion::default().configure_from_args();
    if settings.quick {
        c = c
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(1));
    }
    let mut rows = Vec::new();
    let mut workloads = Vec::new();
    for &n in &settings.sizes {
        eprintln!("== N = {n}");
        workloads.push(run_size(&mut c, &settings, n, &mut rows));
    }
    c.final_summary();
    let text = report(
        &settings,
        &rows,
        &workloads,
        started.elapsed(),
        &load_before,
    );
    println!("\n{text}");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            let bench = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
            bench.parent().unwrap_or(bench).join("target")
        });
    std::fs::create_dir_all(&target).expect("create the target directory");
    let path = target.join("bench-decide.md");
    std::fs::write(&path, text).expect("write the report");
    eprintln!("report written to {}", path.display());
}

//! The translations agree with the generator's own model, and the generator behaves.

use std::collections::BTreeSet;

use crate::workload::{PERMITTED_TARGET, Workload};
use crate::{cedar, rego, tollgate};

fn set(v: impl IntoIterator<Item = String>) -> BTreeSet<String> {
    v.into_iter().collect()
}

#[test]
fn generation_is_deterministic() {
    let a = Workload::generate(300, 9);
    let b = Workload::generate(300, 9);
    assert_eq!(a.policies, b.policies);
    assert_eq!(a.requests(1, 50), b.requests(1, 50));
    assert_eq!(tollgate::document(&a), tollgate::document(&b));
}

#[test]
fn policies_have_the_advertised_shape() {
    let w = Workload::generate(2_000, 3);
    assert_eq!(w.policies.len(), 2_000);
    assert_eq!(w.resources.len(), 20);
    for r in &w.resources {
        assert!((3..=8).contains(&r.scopes.len()), "{r:?}");
    }
    let pinned = w.policies.iter().filter(|p| p.clients.is_some()).count();
    assert!((500..800).contains(&pinned), "{pinned} pinned");
    for p in &w.policies {
        assert!((1..=3).contains(&p.conditions.len()));
        assert!((1..=2).contains(&p.grant_types.len()));
        assert!((1..=3).contains(&p.scopes.len()));
    }
}

#[test]
fn about_a_quarter_of_requests_is_permitted() {
    for n in [10, 1_000, 10_000, 100_000] {
        let w = Workload::generate(n, 5);
        let reqs = w.requests(6, 2_000);
        let permitted = reqs.iter().filter(|r| !w.granted(r).is_empty()).count();
        let share = permitted as f64 / reqs.len() as f64;
        let chance = w.random_permitted_share(7, 2_000);
        println!("N = {n}: {share:.3} permitted ({chance:.3} of random requests)");
        assert!(
            (share - PERMITTED_TARGET).abs() < 0.05,
            "N = {n}: {share:.3} permitted"
        );
    }
}

#[test]
fn cedar_agrees_with_the_model() {
    for n in [10, 400] {
        let w = Workload::generate(n, 11);
        let whole = cedar::Cedar::load(&cedar::policies_text(&w)).expect("cedar text parses");
        assert_eq!(whole.len(), n);
        let indexed =
            cedar::CedarIndexed::load(&cedar::per_target_texts(&w)).expect("cedar texts parse");
        for r in w.requests(12, 400) {
            let expected = set(w.granted(&r));
            let c = cedar::request(&w, &r).expect("cedar request");
            let a = whole.decide(&c);
            let b = indexed.decide(&c);
            assert_eq!(a.errors, 0, "{r:?}");
            assert_eq!(set(a.granted), expected, "cedar, {r:?}");
            assert_eq!(set(b.granted), expected, "cedar+index, {r:?}");
        }
    }
}

#[test]
fn rego_agrees_with_the_model() {
    for n in [10usize, 2_500] {
        let w = Workload::generate(n, 13);
        let modules = rego::modules(&w);
        assert_eq!(modules.len(), n.div_ceil(rego::RULES_PER_MODULE) + 1);
        let mut engine = rego::Rego::load(modules).expect("rego modules load");
        for r in w.requests(14, 150) {
            let expected = set(w.granted(&r));
            let input = rego::input(&tollgate::request_json(&w, &r, false)).expect("input");
            let got = engine.decide(&input).expect("rego evaluates");
            assert_eq!(set(got), expected, "{r:?}");
        }
    }
}

//! What a fresh authentication must meet for a policy's `auth.*` conditions to hold, worked out
//! once when the policy is compiled (the table is in [`super::step_up`]).

use crate::condition::{Condition, Key, Op, Operand, Source};

/// What a fresh authentication must meet for a policy's `auth.*` conditions to hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Needs {
    /// Every one of these methods. Sorted, no duplicates.
    pub(super) methods: Vec<Box<str>>,
    /// One of these levels; `None`: any level.
    pub(super) levels: Option<Vec<Box<str>>>,
    /// At most this age, in seconds.
    pub(super) max_age: Option<u64>,
}

/// A policy's step-up needs: `None` when it has no `auth.*` condition, or one no fresh
/// authentication is sure to meet.
pub(super) fn needs(conditions: &[Condition]) -> Option<Needs> {
    let mut needs = Needs::default();
    let mut any = false;
    for c in conditions.iter().filter(|c| c.key.source() == Source::Auth) {
        any = true;
        match (&c.key, c.op, &c.operand) {
            (_, Op::Exists, _) => {}
            (Key::AuthMethods, Op::Contains, Operand::Values(set)) if set.only_strings() => {
                needs.methods.extend(set.strings().iter().cloned());
            }
            (Key::AuthLevel, Op::Equal | Op::In, Operand::Values(set)) if set.only_strings() => {
                let levels = match needs.levels.take() {
                    None => set.strings().to_vec(),
                    Some(before) => before
                        .into_iter()
                        .filter(|l| set.strings().contains(l))
                        .collect(),
                };
                if levels.is_empty() {
                    return None;
                }
                needs.levels = Some(levels);
            }
            (Key::AuthAge, Op::LessThan, Operand::Number(n)) => {
                let bound = greatest_whole_below(n)?;
                needs.max_age = Some(needs.max_age.map_or(bound, |m| m.min(bound)));
            }
            _ => return None,
        }
    }
    needs.methods.sort_unstable();
    needs.methods.dedup();
    any.then_some(needs)
}

/// The greatest whole number of seconds below `n`; `None` when no age is below it (`n` ≤ 0).
fn greatest_whole_below(n: &serde_json::Number) -> Option<u64> {
    if let Some(i) = n.as_u64() {
        return i.checked_sub(1);
    }
    if n.as_i64().is_some() {
        // A negative integer.
        return None;
    }
    let f = n.as_f64().filter(|f| *f > 0.0)?;
    // Every age is below 2^64 and anything beyond it.
    if f >= 18_446_744_073_709_551_616.0 {
        return Some(u64::MAX);
    }
    // A float in (0, 2^64): its whole part converts exactly (`ceil() - 1.0` would round back to
    // the float itself above 2^53).
    let whole = f.floor() as u64;
    Some(if f.fract() == 0.0 { whole - 1 } else { whole })
}

#[cfg(test)]
mod tests {
    use serde_json::Number;

    use super::*;

    #[test]
    fn the_greatest_whole_age_below_a_bound() {
        let below = |n: Number| greatest_whole_below(&n);
        assert_eq!(below(300.into()), Some(299));
        assert_eq!(below(1.into()), Some(0));
        assert_eq!(below(0.into()), None);
        assert_eq!(below((-5).into()), None);
        assert_eq!(below(Number::from_f64(300.5).unwrap()), Some(300));
        assert_eq!(below(Number::from_f64(300.0).unwrap()), Some(299));
        assert_eq!(below(Number::from_f64(0.25).unwrap()), Some(0));
        assert_eq!(below(Number::from_f64(-0.5).unwrap()), None);
        assert_eq!(
            below(Number::from_f64(1_152_921_504_606_846_976.0).unwrap()),
            Some(1_152_921_504_606_846_975)
        );
        assert_eq!(
            below(Number::from_f64(18_446_744_073_709_551_616.0).unwrap()),
            Some(u64::MAX)
        );
        assert_eq!(below(Number::from_f64(1e300).unwrap()), Some(u64::MAX));
    }
}

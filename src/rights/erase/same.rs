//! Whether a stored plan is still the plan: the format a plan is stored in, and the
//! comparison of a stored plan with one made now.

use super::{Plan, Step};

/// The plan format: 2 since the steps come from the data map, in its order (children first); 3
/// since the fingerprint covers which of dsr's request records a plan detaches, not their state;
/// 4 since it leaves those records out (they are counted only).
pub(super) const FORMAT: u32 = 4;

/// Whether two plans would do the same (the stored plan lacks the internal filters): the same
/// steps over the same rows. A plan of format 1 listed its steps by hand in another order, and
/// its fingerprint covers that order (steps without rows too), which no longer exists; one of
/// format 2 or 3 has a fingerprint over its request records. Either is the same plan when it has
/// the same steps with the same counts, so an approved plan stays approved across the upgrade.
/// The detaching of dsr's own request records is never compared by its count: a request the
/// person made since (answered before the erasure runs) is detached with the others.
pub fn same(a: &Plan, b: &Plan) -> bool {
    let key = |s: &Step| {
        (s.table.clone(), s.action.clone(), s.rows, s.fields.clone(), s.ground.clone(), s.until.clone(), s.why.clone())
    };
    if a.format_version < FORMAT || b.format_version < FORMAT {
        let sorted = |p: &Plan| {
            let mut k: Vec<_> = p.steps.iter().filter(|s| s.table != "request").map(key).collect();
            k.sort();
            k
        };
        return sorted(a) == sorted(b);
    }
    // Steps over rows of no one in particular may have more or fewer rows, or none, by now.
    let own = |p: &Plan| p.steps.iter().filter(|s| !s.shared && s.table != "request").map(key).collect::<Vec<_>>();
    a.fingerprint == b.fingerprint && own(a) == own(b)
}

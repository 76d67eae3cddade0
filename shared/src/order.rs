//! Stable sorting compiled once for every element type.
//!
//! The standard library's stable sort is generic over the element and the comparison,
//! so each `sort_by_key` call site adds its own copy of the whole sort (about 5.8 KB of
//! `.wasm` each). These functions sort positions (`usize`) with one compiled sort and a
//! `dyn` comparison, then move the elements into place: the same order as
//! `slice::sort_by` (stable: equal elements keep their order), for a few hundred bytes
//! per call site. Meant for the short lists a request sorts, not for hot inner loops.

use std::cmp::Ordering;

/// Sorts `items` stably by `key`, exactly as `items.sort_by_key(key)` would.
pub fn sort_by_key<T, K: Ord>(items: &mut [T], key: impl Fn(&T) -> K) {
    sort_by(items, |a, b| key(a).cmp(&key(b)));
}

/// Sorts `items` stably with `compare`, exactly as `items.sort_by(compare)` would.
pub fn sort_by<T>(items: &mut [T], compare: impl Fn(&T, &T) -> Ordering) {
    if items.len() < 2 {
        return;
    }
    let mut order = sorted_positions(items.len(), &|a, b| compare(&items[a], &items[b]));
    // Position j takes the element at order[j]: follow each cycle of the permutation,
    // marking each position done (order[j] = j) as it is filled.
    for start in 0..order.len() {
        let mut j = start;
        loop {
            let k = order[j];
            order[j] = j;
            if k == start || k == j {
                break;
            }
            items.swap(j, k);
            j = k;
        }
    }
}

/// The positions `0..n` in stable sorted order: the one instantiation of the sort.
#[inline(never)]
fn sorted_positions(n: usize, compare: &dyn Fn(usize, usize) -> Ordering) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|a, b| compare(*a, *b));
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn equal_keys_keep_their_order() {
        let mut v = vec![(2, 'a'), (1, 'b'), (2, 'c'), (1, 'd'), (0, 'e')];
        sort_by_key(&mut v, |e| e.0);
        assert_eq!(v, [(0, 'e'), (1, 'b'), (1, 'd'), (2, 'a'), (2, 'c')]);
    }

    #[test]
    fn short_lists_are_left_as_they_are() {
        let mut empty: Vec<u8> = Vec::new();
        sort_by(&mut empty, Ord::cmp);
        let mut one = vec![7];
        sort_by(&mut one, Ord::cmp);
        assert_eq!(one, [7]);
    }

    proptest! {
        #[test]
        fn sorts_like_the_standard_stable_sort(v in proptest::collection::vec((0u8..6, any::<u16>()), 0..60)) {
            let mut ours = v.clone();
            sort_by_key(&mut ours, |e| e.0);
            let mut std = v;
            std.sort_by_key(|e| e.0);
            prop_assert_eq!(ours, std);
        }
    }
}

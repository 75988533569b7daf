//! Pareto fronts: the two defining properties on random point sets, ties, and determinism.

use proptest::prelude::*;
use qforge::explore::pareto::{dominates, pareto_front};

fn front_of(points: &[(f64, f64)]) -> Vec<usize> {
    pareto_front(points, |p| p.0, |p| p.1)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    // Small integer grids make ties (equal benefit, equal cost, duplicates) common.
    #[test]
    fn front_is_exactly_the_non_dominated_set(
        raw in proptest::collection::vec((0u8..6, 0u8..6), 0..40)
    ) {
        let points: Vec<(f64, f64)> = raw.iter().map(|&(b, c)| (f64::from(b), f64::from(c))).collect();
        let front = front_of(&points);
        for &i in &front {
            for (j, q) in points.iter().enumerate() {
                prop_assert!(!dominates(*q, points[i]), "front point {i} dominated by {j}");
            }
        }
        for (i, p) in points.iter().enumerate() {
            if !front.contains(&i) {
                prop_assert!(
                    front.iter().any(|&f| dominates(points[f], *p)),
                    "point {i} {p:?} off the front but no front point dominates it"
                );
            }
        }
        // The front runs by cost ascending, its benefit never falling.
        for w in front.windows(2) {
            let (a, b) = (points[w[0]], points[w[1]]);
            prop_assert!(a.1 <= b.1);
            prop_assert!(a.0 <= b.0);
        }
    }

    #[test]
    fn front_does_not_depend_on_input_order(
        raw in proptest::collection::vec((0u8..6, 0u8..6), 1..30),
        seed in any::<u64>()
    ) {
        let points: Vec<(f64, f64)> = raw.iter().map(|&(b, c)| (f64::from(b), f64::from(c))).collect();
        let mut order: Vec<usize> = (0..points.len()).collect();
        let mut s = seed;
        for i in (1..order.len()).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            order.swap(i, (s >> 33) as usize % (i + 1));
        }
        let shuffled: Vec<(f64, f64)> = order.iter().map(|&i| points[i]).collect();
        let mut a: Vec<(f64, f64)> = front_of(&points).iter().map(|&i| points[i]).collect();
        let mut b: Vec<(f64, f64)> = front_of(&shuffled).iter().map(|&i| shuffled[i]).collect();
        a.sort_by(|x, y| x.partial_cmp(y).unwrap());
        b.sort_by(|x, y| x.partial_cmp(y).unwrap());
        prop_assert_eq!(a, b);
    }
}

#[test]
fn duplicates_of_a_front_point_are_all_on_the_front_in_input_order() {
    let points = [(0.9, 100.0), (0.8, 50.0), (0.9, 100.0), (0.85, 100.0)];
    assert_eq!(front_of(&points), vec![1, 0, 2]);
}

#[test]
fn equal_benefit_at_higher_cost_is_dominated() {
    let points = [(0.9, 120.0), (0.9, 100.0)];
    assert_eq!(front_of(&points), vec![1]);
}

#[test]
fn nan_points_are_left_out() {
    let points = [(f64::NAN, 1.0), (0.5, 2.0), (0.7, f64::NAN)];
    assert_eq!(front_of(&points), vec![1]);
}

//! Pareto fronts: the points no other point beats in both objectives at once.
//!
//! A point `a` dominates `b` when `a` is at least as good in both objectives and strictly better
//! in one (benefit higher or cost lower). The front is every point no point dominates. Points
//! with equal benefit and equal cost do not dominate each other, so duplicates of a front point
//! are all on the front; this keeps the two defining properties exact (nothing on the front is
//! dominated; everything off it is dominated by a front point). Points with a NaN objective are
//! left out. The front is returned sorted by cost ascending, then benefit descending, then input
//! position, so it is deterministic and ready to draw as a line.
//!
//! ```
//! use qforge::explore::pareto::pareto_front;
//! // (accuracy, LUTs)
//! let points = [(0.90, 100.0), (0.95, 300.0), (0.93, 400.0), (0.97, 900.0)];
//! let front = pareto_front(&points, |p| p.0, |p| p.1);
//! assert_eq!(front, vec![0, 1, 3]); // (0.93, 400) is beaten by (0.95, 300)
//! ```

use crate::explore::results::CsvRecord;

/// Whether `a` dominates `b` for objectives (benefit to maximise, cost to minimise).
pub fn dominates(a: (f64, f64), b: (f64, f64)) -> bool {
    a.0 >= b.0 && a.1 <= b.1 && (a.0 > b.0 || a.1 < b.1)
}

/// Indices of the non-dominated items for (maximise `benefit`, minimise `cost`), sorted by cost
/// ascending, benefit descending, index ascending. O(n log n).
pub fn pareto_front<T>(
    items: &[T],
    benefit: impl Fn(&T) -> f64,
    cost: impl Fn(&T) -> f64,
) -> Vec<usize> {
    let mut order: Vec<(usize, f64, f64)> = items
        .iter()
        .enumerate()
        .map(|(i, t)| (i, benefit(t), cost(t)))
        .filter(|(_, b, c)| !b.is_nan() && !c.is_nan())
        .collect();
    order.sort_by(|x, y| {
        x.2.total_cmp(&y.2)
            .then(y.1.total_cmp(&x.1))
            .then(x.0.cmp(&y.0))
    });
    let mut front = Vec::new();
    // The best benefit seen so far and the cost it was first reached at.
    let mut best: Option<(f64, f64)> = None;
    for (i, b, c) in order {
        let on_front = match best {
            None => true,
            Some((best_b, best_c)) => b > best_b || (b == best_b && c == best_c),
        };
        if on_front {
            front.push(i);
            if best.is_none_or(|(best_b, _)| b > best_b) {
                best = Some((b, c));
            }
        }
    }
    front
}

/// The front of (maximise accuracy, minimise LUTs) over evaluated rows; indices into `rows`.
pub fn accuracy_lut_front(rows: &[CsvRecord]) -> Vec<usize> {
    front_of(rows, |m| m.accuracy, |m| m.luts as f64)
}

/// The front of (maximise throughput, minimise area) over evaluated rows; area is LUTs (DSPs
/// and BRAM are reported beside it, not folded into one number).
pub fn throughput_area_front(rows: &[CsvRecord]) -> Vec<usize> {
    front_of(rows, |m| m.throughput_images_per_s, |m| m.luts as f64)
}

fn front_of(
    rows: &[CsvRecord],
    benefit: impl Fn(&crate::explore::evaluator::Metrics) -> f64,
    cost: impl Fn(&crate::explore::evaluator::Metrics) -> f64,
) -> Vec<usize> {
    pareto_front(
        rows,
        |r| r.metrics.as_ref().map_or(f64::NAN, &benefit),
        |r| r.metrics.as_ref().map_or(f64::NAN, &cost),
    )
}

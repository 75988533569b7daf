//! Small dense least squares: Householder QR, and non-negative least squares on top of it.
//!
//! Area models have a handful of coefficients fitted to tens or hundreds of synthesis results, so
//! a dense QR on the (rows × few) design matrix is plenty. Columns are scaled to unit norm
//! before the factorisation because features differ by orders of magnitude (`a_bits·w_bits`
//! against `1`). Non-negative least squares (Lawson & Hanson, *Solving Least Squares Problems*,
//! 1974, ch. 23) keeps coefficients that count hardware from going below zero.
//!
//! ```
//! use qforge::explore::fit::least_squares;
//! // y = 2x + 1
//! let a = vec![vec![0.0, 1.0], vec![1.0, 1.0], vec![2.0, 1.0]];
//! let x = least_squares(&a, &[1.0, 3.0, 5.0]).unwrap();
//! assert!((x[0] - 2.0).abs() < 1e-12 && (x[1] - 1.0).abs() < 1e-12);
//! ```

use crate::explore::error::{ExploreError, Result};

/// Solves min ‖A·x − b‖₂ for `a` given as rows. Needs at least as many rows as columns and
/// linearly independent columns (an error names the first dependent column otherwise).
pub fn least_squares(a: &[Vec<f64>], b: &[f64]) -> Result<Vec<f64>> {
    let m = a.len();
    let n = a.first().map_or(0, Vec::len);
    if n == 0 {
        return Err(ExploreError::Fit("no features to fit".into()));
    }
    if b.len() != m || a.iter().any(|r| r.len() != n) {
        return Err(ExploreError::Fit(
            "design matrix rows and targets differ in size".into(),
        ));
    }
    if m < n {
        return Err(ExploreError::Fit(format!(
            "{m} samples cannot determine {n} coefficients: need at least {n}"
        )));
    }
    if a.iter().flatten().chain(b).any(|v| !v.is_finite()) {
        return Err(ExploreError::Fit(
            "a sample holds a value that is not finite".into(),
        ));
    }
    // Column-major copy, scaled to unit column norms.
    let mut cols: Vec<Vec<f64>> = (0..n).map(|j| a.iter().map(|r| r[j]).collect()).collect();
    let mut scale = vec![1.0; n];
    for (j, col) in cols.iter_mut().enumerate() {
        let norm = col.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm == 0.0 {
            return Err(ExploreError::Fit(format!(
                "feature {j} is zero on every sample: it cannot be fitted"
            )));
        }
        scale[j] = norm;
        col.iter_mut().for_each(|v| *v /= norm);
    }
    let mut y = b.to_vec();
    let mut diag = vec![0.0; n];
    for k in 0..n {
        let norm = cols[k][k..].iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm < 1e-10 {
            return Err(ExploreError::Fit(format!(
                "feature {k} is a linear combination of the features before it on these samples"
            )));
        }
        let alpha = if cols[k][k] > 0.0 { -norm } else { norm };
        // Householder vector v = x − alpha·e1, stored in place of column k.
        let mut v: Vec<f64> = cols[k][k..].to_vec();
        v[0] -= alpha;
        let vnorm2: f64 = v.iter().map(|x| x * x).sum();
        diag[k] = alpha;
        if vnorm2 > 0.0 {
            for col in cols.iter_mut().skip(k + 1) {
                let dot: f64 = v.iter().zip(&col[k..]).map(|(a, b)| a * b).sum();
                let f = 2.0 * dot / vnorm2;
                col[k..].iter_mut().zip(&v).for_each(|(c, vi)| *c -= f * vi);
            }
            let dot: f64 = v.iter().zip(&y[k..]).map(|(a, b)| a * b).sum();
            let f = 2.0 * dot / vnorm2;
            y[k..].iter_mut().zip(&v).for_each(|(c, vi)| *c -= f * vi);
        }
    }
    // Back substitution on R (diagonal in `diag`, above it in cols[j][i], i < j).
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let mut s = y[i];
        for j in i + 1..n {
            s -= cols[j][i] * x[j];
        }
        x[i] = s / diag[i];
    }
    Ok(x.iter().zip(&scale).map(|(v, s)| v / s).collect())
}

/// Solves min ‖A·x − b‖₂ subject to x ≥ 0 (Lawson–Hanson active set).
pub fn nonnegative_least_squares(a: &[Vec<f64>], b: &[f64]) -> Result<Vec<f64>> {
    let n = a.first().map_or(0, Vec::len);
    // Validates sizes and values once, with the same messages as the unconstrained solver.
    if a.len() < n || n == 0 || b.len() != a.len() {
        least_squares(a, b)?;
    }
    let residual = |x: &[f64]| -> Vec<f64> {
        a.iter()
            .zip(b)
            .map(|(r, bi)| bi - r.iter().zip(x).map(|(p, q)| p * q).sum::<f64>())
            .collect()
    };
    let gradient = |x: &[f64]| -> Vec<f64> {
        let r = residual(x);
        (0..n)
            .map(|j| a.iter().zip(&r).map(|(row, ri)| row[j] * ri).sum())
            .collect()
    };
    let scale = a
        .iter()
        .flatten()
        .map(|v| v.abs())
        .fold(0.0, f64::max)
        .max(1.0)
        * b.iter().map(|v| v.abs()).fold(0.0, f64::max).max(1.0);
    let tol = 1e-10 * scale * a.len() as f64;
    let solve_on = |passive: &[bool]| -> Result<Vec<f64>> {
        let idx: Vec<usize> = (0..n).filter(|&j| passive[j]).collect();
        let sub: Vec<Vec<f64>> = a
            .iter()
            .map(|r| idx.iter().map(|&j| r[j]).collect())
            .collect();
        let z = least_squares(&sub, b)?;
        let mut full = vec![0.0; n];
        for (k, &j) in idx.iter().enumerate() {
            full[j] = z[k];
        }
        Ok(full)
    };
    let mut x = vec![0.0; n];
    let mut passive = vec![false; n];
    for _ in 0..3 * n + 3 {
        let w = gradient(&x);
        let candidate = (0..n)
            .filter(|&j| !passive[j] && w[j] > tol)
            .max_by(|&i, &j| w[i].total_cmp(&w[j]));
        let Some(j) = candidate else {
            return Ok(x);
        };
        passive[j] = true;
        for _ in 0..3 * n + 3 {
            let s = solve_on(&passive)?;
            if (0..n).filter(|&i| passive[i]).all(|i| s[i] > 0.0) {
                x = s;
                break;
            }
            // Step from x toward s as far as feasibility allows, then drop the zeroed features.
            let alpha = (0..n)
                .filter(|&i| passive[i] && s[i] <= 0.0)
                .map(|i| x[i] / (x[i] - s[i]))
                .fold(f64::INFINITY, f64::min);
            for i in 0..n {
                x[i] += alpha * (s[i] - x[i]);
                if passive[i] && x[i] <= 1e-15 * scale {
                    passive[i] = false;
                    x[i] = 0.0;
                }
            }
            if !passive.iter().any(|&p| p) {
                break;
            }
        }
    }
    Ok(x)
}

//! Dense matrix products on row-major slices, by the `matrixmultiply` crate's packed kernels.

/// A float type the products run in (`f32` for training, `f64` for exact evaluation).
pub trait Real: Copy + Default + PartialOrd + std::fmt::Debug + Send + Sync + 'static {
    /// Converts from `f64` (rounding to nearest for `f32`).
    fn from_f64(v: f64) -> Self;
    /// Converts to `f64` (exact).
    fn to_f64(self) -> f64;
    /// `C = op(A) · op(B) + beta · C` with `op(A)` of `m × k` and `op(B)` of `k × n`.
    fn gemm(
        m: usize,
        k: usize,
        n: usize,
        a: Mat<'_, Self>,
        b: Mat<'_, Self>,
        beta: Self,
        c: &mut [Self],
    );
}

/// A row-major matrix operand, used as it is or transposed.
#[derive(Clone, Copy, Debug)]
pub struct Mat<'a, T> {
    data: &'a [T],
    transposed: bool,
}

impl<'a, T> Mat<'a, T> {
    /// The matrix as stored.
    pub fn plain(data: &'a [T]) -> Self {
        Mat {
            data,
            transposed: false,
        }
    }

    /// The transpose of the stored matrix.
    pub fn transposed(data: &'a [T]) -> Self {
        Mat {
            data,
            transposed: true,
        }
    }

    /// Row and column strides of `op(M)`, which has `rows × cols` elements.
    fn strides(&self, rows: usize, cols: usize) -> (isize, isize) {
        if self.transposed {
            (1, rows as isize)
        } else {
            (cols as isize, 1)
        }
    }
}

macro_rules! real {
    ($t:ty, $gemm:path) => {
        impl Real for $t {
            fn from_f64(v: f64) -> Self {
                v as $t
            }

            fn to_f64(self) -> f64 {
                f64::from(self)
            }

            fn gemm(
                m: usize,
                k: usize,
                n: usize,
                a: Mat<'_, Self>,
                b: Mat<'_, Self>,
                beta: Self,
                c: &mut [Self],
            ) {
                assert!(a.data.len() >= m * k && b.data.len() >= k * n && c.len() >= m * n);
                if m == 0 || n == 0 {
                    return;
                }
                let (rsa, csa) = a.strides(m, k);
                let (rsb, csb) = b.strides(k, n);
                // SAFETY: the asserts above keep every index `i·rs + j·cs` of the three operands
                // inside their slices, and `c` does not alias `a` or `b` (it is `&mut`).
                unsafe {
                    $gemm(
                        m,
                        k,
                        n,
                        1.0,
                        a.data.as_ptr(),
                        rsa,
                        csa,
                        b.data.as_ptr(),
                        rsb,
                        csb,
                        beta,
                        c.as_mut_ptr(),
                        n as isize,
                        1,
                    );
                }
            }
        }
    };
}

real!(f32, matrixmultiply::sgemm);
real!(f64, matrixmultiply::dgemm);

/// Products below this many multiply-adds run on the calling thread.
const PARALLEL_MACS: usize = 1 << 20;

/// `C = A · op(B)` with a plain `A` (`m × k`), its rows split in two halves computed on two
/// threads when the product is large. Each element of `C` is the same sum as in one call, so
/// the result does not depend on the split.
pub fn gemm_rows<T: Real>(m: usize, k: usize, n: usize, a: &[T], b: Mat<'_, T>, c: &mut [T]) {
    if m < 2 || m * k * n < PARALLEL_MACS {
        T::gemm(m, k, n, Mat::plain(a), b, T::default(), c);
        return;
    }
    let top = m / 2;
    let (a_top, a_bottom) = a.split_at(top * k);
    let (c_top, c_bottom) = c[..m * n].split_at_mut(top * n);
    rayon::join(
        || T::gemm(top, k, n, Mat::plain(a_top), b, T::default(), c_top),
        || {
            T::gemm(
                m - top,
                k,
                n,
                Mat::plain(a_bottom),
                b,
                T::default(),
                c_bottom,
            )
        },
    );
}

/// `C = Gᵀ · X` for `G` of `rows × m` and `X` of `rows × n` (a weight gradient summed over a
/// batch of `rows`): the two halves of the rows on two threads when large, then added, top half
/// first. The same halves for every thread count, so the result is deterministic.
pub fn gemm_tn_rows(rows: usize, m: usize, n: usize, g: &[f32], x: &[f32], c: &mut [f32]) {
    if rows < 2 || rows * m * n < PARALLEL_MACS {
        f32::gemm(m, rows, n, Mat::transposed(g), Mat::plain(x), 0.0, c);
        return;
    }
    let top = rows / 2;
    let mut bottom = vec![0.0f32; m * n];
    rayon::join(
        || {
            f32::gemm(
                m,
                top,
                n,
                Mat::transposed(&g[..top * m]),
                Mat::plain(&x[..top * n]),
                0.0,
                &mut c[..m * n],
            )
        },
        || {
            f32::gemm(
                m,
                rows - top,
                n,
                Mat::transposed(&g[top * m..rows * m]),
                Mat::plain(&x[top * n..rows * n]),
                0.0,
                &mut bottom,
            )
        },
    );
    for (v, b) in c.iter_mut().zip(&bottom) {
        *v += b;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_products_equal_single_calls() {
        let (m, k, n) = (130, 90, 100); // above the parallel threshold
        let a: Vec<f32> = (0..m * k).map(|i| ((i * 7) % 13) as f32 - 6.0).collect();
        let b: Vec<f32> = (0..k * n).map(|i| ((i * 5) % 11) as f32 - 5.0).collect();
        let mut whole = vec![0.0f32; m * n];
        f32::gemm(m, k, n, Mat::plain(&a), Mat::plain(&b), 0.0, &mut whole);
        let mut split = vec![0.0f32; m * n];
        gemm_rows(m, k, n, &a, Mat::plain(&b), &mut split);
        assert_eq!(split, whole);
        // Aᵀ · B with A of m × k as the batch: the halves' sums are integers, so exact
        let mut whole = vec![0.0f32; k * n];
        let b2: Vec<f32> = (0..m * n).map(|i| ((i * 3) % 7) as f32 - 3.0).collect();
        f32::gemm(
            k,
            m,
            n,
            Mat::transposed(&a),
            Mat::plain(&b2),
            0.0,
            &mut whole,
        );
        let mut split = vec![0.0f32; k * n];
        gemm_tn_rows(m, k, n, &a, &b2, &mut split);
        assert_eq!(split, whole);
    }

    #[test]
    fn products_and_transposes_by_hand() {
        // A = [[1, 2, 3], [4, 5, 6]], B = [[1, 0], [0, 1], [1, 1]]
        let a = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        let b = [1.0f32, 0.0, 0.0, 1.0, 1.0, 1.0];
        let mut c = [0.0f32; 4];
        f32::gemm(2, 3, 2, Mat::plain(&a), Mat::plain(&b), 0.0, &mut c);
        assert_eq!(c, [4.0, 5.0, 10.0, 11.0]);
        // Aᵀ · A = [[17, 22, 27], [22, 29, 36], [27, 36, 45]]
        let mut d = [0.0f64; 9];
        let a64 = a.map(f64::from);
        f64::gemm(
            3,
            2,
            3,
            Mat::transposed(&a64),
            Mat::plain(&a64),
            0.0,
            &mut d,
        );
        assert_eq!(d, [17.0, 22.0, 27.0, 22.0, 29.0, 36.0, 27.0, 36.0, 45.0]);
        // A · Aᵀ = [[14, 32], [32, 77]], accumulated onto 1s
        let mut e = [1.0f32; 4];
        f32::gemm(2, 3, 2, Mat::plain(&a), Mat::transposed(&a), 1.0, &mut e);
        assert_eq!(e, [15.0, 33.0, 33.0, 78.0]);
    }
}

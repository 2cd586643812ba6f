//! Dense kernels for the solvers: matrix products, Gram matrices and norms.
//!
//! Every parallel kernel here splits its work into chunks whose size depends
//! only on the problem's shape, never on the number of threads, and combines
//! partial results in a fixed order. The results are therefore bit-identical
//! whatever the size of the rayon pool that runs them.

use ndarray::{Array2, ArrayView1, ArrayView2, ArrayViewMut2, Axis, Zip, s};
use rayon::prelude::*;

/// Which single-threaded matrix-multiply kernel the parallel products use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// faer's GEMM (runtime dispatch to AVX2/AVX-512 micro-kernels).
    Faer,
    /// The `matrixmultiply` crate (what ndarray's `dot` uses).
    MatrixMultiply,
}

/// The kernel used by [`par_matmul`] and friends, chosen by measurement
/// (`facenmf bench` prints both).
pub const DEFAULT_KERNEL: Kernel = Kernel::Faer;

/// Tasks a large [`par_matmul`] is split into. Fixed (not the thread
/// count) so results do not depend on the pool; few, so that each task's
/// packing of the shared operand stays cheap. Measured on 2 cores with
/// `facenmf bench`: 8 tasks beat 4, 16 and 32.
const PAR_TASKS: usize = 8;

/// `c = a · b` on one thread with the given kernel, overwriting `c`.
pub fn matmul_seq_into(kernel: Kernel, a: ArrayView2<f32>, b: ArrayView2<f32>, c: ArrayViewMut2<f32>) {
    let (m, k) = a.dim();
    let (k2, n) = b.dim();
    assert_eq!(k, k2, "inner dimensions differ");
    assert_eq!(c.dim(), (m, n), "output has the wrong shape");
    if m == 0 || n == 0 {
        return;
    }
    let mut c = c;
    if k == 0 {
        c.fill(0.0);
        return;
    }
    match kernel {
        Kernel::Faer => {
            // SAFETY: the views are valid for their shapes and strides, and
            // `c` is uniquely borrowed and does not alias `a` or `b`.
            let (fa, fb, fc) = unsafe {
                (
                    faer::MatRef::from_raw_parts(a.as_ptr(), m, k, a.strides()[0], a.strides()[1]),
                    faer::MatRef::from_raw_parts(b.as_ptr(), k, n, b.strides()[0], b.strides()[1]),
                    faer::MatMut::from_raw_parts_mut(c.as_mut_ptr(), m, n, c.strides()[0], c.strides()[1]),
                )
            };
            faer::linalg::matmul::matmul(fc, faer::Accum::Replace, fa, fb, 1.0f32, faer::Par::Seq);
        }
        Kernel::MatrixMultiply => {
            let (rsc, csc) = (c.strides()[0], c.strides()[1]);
            // SAFETY: as above; matrixmultiply accepts arbitrary strides.
            unsafe {
                matrixmultiply::sgemm(
                    m,
                    k,
                    n,
                    1.0,
                    a.as_ptr(),
                    a.strides()[0],
                    a.strides()[1],
                    b.as_ptr(),
                    b.strides()[0],
                    b.strides()[1],
                    0.0,
                    c.as_mut_ptr(),
                    rsc,
                    csc,
                );
            }
        }
    }
}

/// `a · b`, computed in parallel over fixed chunks of rows of the output.
pub fn par_matmul(a: ArrayView2<f32>, b: ArrayView2<f32>) -> Array2<f32> {
    par_matmul_with(DEFAULT_KERNEL, a, b)
}

/// [`par_matmul`] with an explicit kernel (for benchmarks).
pub fn par_matmul_with(kernel: Kernel, a: ArrayView2<f32>, b: ArrayView2<f32>) -> Array2<f32> {
    let mut c = Array2::<f32>::zeros((a.nrows(), b.ncols()));
    par_matmul_into(kernel, a, b, c.view_mut());
    c
}

/// `c = a · b` in parallel over fixed chunks of rows of `c`.
pub fn par_matmul_into(kernel: Kernel, a: ArrayView2<f32>, b: ArrayView2<f32>, mut c: ArrayViewMut2<f32>) {
    let chunk = row_chunk(a.nrows(), a.ncols() * b.ncols());
    c.axis_chunks_iter_mut(Axis(0), chunk)
        .into_par_iter()
        .zip(a.axis_chunks_iter(Axis(0), chunk).into_par_iter())
        .for_each(|(c_rows, a_rows)| matmul_seq_into(kernel, a_rows, b, c_rows));
}

/// Rows a task takes: a function of the shape only. Small products run as
/// one task.
fn row_chunk(rows: usize, work_per_row: usize) -> usize {
    if rows.saturating_mul(work_per_row) < 1 << 18 {
        return rows.max(1);
    }
    rows.div_ceil(PAR_TASKS).next_multiple_of(8)
}

/// Rows of `x` reduced by one task in [`gram`].
const GRAM_CHUNK: usize = 1024;

/// `xᵀ · x` (k × k) for a tall `x` (rows × k), reduced over fixed row chunks
/// in parallel and summed in chunk order.
pub fn gram(x: ArrayView2<f32>) -> Array2<f32> {
    let k = x.ncols();
    let partials: Vec<Array2<f32>> = x
        .axis_chunks_iter(Axis(0), GRAM_CHUNK)
        .into_par_iter()
        .map(|rows| {
            let mut g = Array2::<f32>::zeros((k, k));
            matmul_seq_into(DEFAULT_KERNEL, rows.t(), rows, g.view_mut());
            g
        })
        .collect();
    let mut total = Array2::<f32>::zeros((k, k));
    for p in &partials {
        total += p;
    }
    total
}

/// Σ x², accumulated in f64 over fixed chunks, summed in order.
pub fn sum_sq(x: ArrayView2<f32>) -> f64 {
    par_rows_sum(x, |row| row.iter().map(|&v| f64::from(v) * f64::from(v)).sum())
}

/// ⟨x, y⟩ = Σ xᵢⱼ yᵢⱼ for two matrices of one shape, in f64.
pub fn dot2(x: ArrayView2<f32>, y: ArrayView2<f32>) -> f64 {
    assert_eq!(x.dim(), y.dim());
    let chunk = 256;
    let partials: Vec<f64> = x
        .axis_chunks_iter(Axis(0), chunk)
        .into_par_iter()
        .zip(y.axis_chunks_iter(Axis(0), chunk).into_par_iter())
        .map(|(a, b)| {
            let mut s = 0.0f64;
            Zip::from(a.rows()).and(b.rows()).for_each(|ra, rb| s += dot_f64(ra, rb));
            s
        })
        .collect();
    partials.iter().sum()
}

/// Sum of `f(row)` over the rows of `x`, in parallel over fixed chunks.
pub fn par_rows_sum(x: ArrayView2<f32>, f: impl Fn(ArrayView1<f32>) -> f64 + Sync) -> f64 {
    let chunk = 256;
    let partials: Vec<f64> = x
        .axis_chunks_iter(Axis(0), chunk)
        .into_par_iter()
        .map(|rows| rows.rows().into_iter().map(&f).sum::<f64>())
        .collect();
    partials.iter().sum()
}

/// Dot product of two f32 vectors, accumulated in f64.
pub fn dot_f64(a: ArrayView1<f32>, b: ArrayView1<f32>) -> f64 {
    match (a.as_slice(), b.as_slice()) {
        (Some(a), Some(b)) => {
            // Eight f32 lanes summed, then widened: fast and still accurate,
            // since each lane only sees n/8 terms.
            let mut lanes = [0.0f64; 8];
            let chunks = a.len() / 8;
            for c in 0..chunks {
                let mut part = [0.0f32; 8];
                for l in 0..8 {
                    part[l] = a[c * 8 + l] * b[c * 8 + l];
                }
                for l in 0..8 {
                    lanes[l] += f64::from(part[l]);
                }
            }
            let mut s: f64 = lanes.iter().sum();
            for i in chunks * 8..a.len() {
                s += f64::from(a[i]) * f64::from(b[i]);
            }
            s
        }
        _ => a.iter().zip(b.iter()).map(|(&x, &y)| f64::from(x) * f64::from(y)).sum(),
    }
}

/// ‖a − w·htᵀ‖²_F computed exactly, block by block (never forms w·htᵀ whole).
pub fn residual_sq(a: ArrayView2<f32>, w: ArrayView2<f32>, ht: ArrayView2<f32>) -> f64 {
    let chunk = 128;
    let n = a.ncols();
    let partials: Vec<f64> = a
        .axis_chunks_iter(Axis(0), chunk)
        .into_par_iter()
        .zip(w.axis_chunks_iter(Axis(0), chunk).into_par_iter())
        .map(|(a_rows, w_rows)| {
            let mut approx = Array2::<f32>::zeros((a_rows.nrows(), n));
            matmul_seq_into(DEFAULT_KERNEL, w_rows, ht.t(), approx.view_mut());
            let mut s = 0.0f64;
            Zip::from(&a_rows).and(&approx).for_each(|&x, &y| {
                let d = f64::from(x) - f64::from(y);
                s += d * d;
            });
            s
        })
        .collect();
    partials.iter().sum()
}

/// A contiguous, row-major copy of `x`ᵀ.
pub fn transpose_owned(x: ArrayView2<f32>) -> Array2<f32> {
    let (r, c) = x.dim();
    let mut out = Array2::<f32>::zeros((c, r));
    // Tile the transpose so that both sides stay in cache.
    const T: usize = 64;
    out.axis_chunks_iter_mut(Axis(0), T).into_par_iter().enumerate().for_each(|(bi, mut block)| {
        let c0 = bi * T;
        let cols = block.nrows();
        for r0 in (0..r).step_by(T) {
            let r1 = (r0 + T).min(r);
            let src = x.slice(s![r0..r1, c0..c0 + cols]);
            block.slice_mut(s![.., r0..r1]).assign(&src.t());
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use ndarray::Array;

    fn mat(r: usize, c: usize, salt: f32) -> Array2<f32> {
        Array::from_shape_fn((r, c), |(i, j)| ((i * 31 + j * 17) as f32 * 0.37 + salt).sin().abs())
    }

    #[test]
    fn products_agree_with_ndarray_dot() {
        let a = mat(300, 77, 0.1);
        let b = mat(77, 13, 0.2);
        let want = a.dot(&b);
        for kernel in [Kernel::Faer, Kernel::MatrixMultiply] {
            let got = par_matmul_with(kernel, a.view(), b.view());
            for (x, y) in got.iter().zip(want.iter()) {
                assert_relative_eq!(x, y, max_relative = 1e-4);
            }
        }
        // Transposed (strided) operands too.
        let at = transpose_owned(a.view());
        assert_eq!(at.t(), a);
        let got = par_matmul(at.t(), b.view());
        for (x, y) in got.iter().zip(want.iter()) {
            assert_relative_eq!(x, y, max_relative = 1e-4);
        }
        let g = gram(a.view());
        let want_g = a.t().dot(&a);
        for (x, y) in g.iter().zip(want_g.iter()) {
            assert_relative_eq!(x, y, max_relative = 1e-4);
        }
    }

    #[test]
    fn residual_matches_direct_computation() {
        let a = mat(200, 40, 0.3);
        let w = mat(200, 5, 0.4);
        let ht = mat(40, 5, 0.5);
        let r = &a - &w.dot(&ht.t());
        let want: f64 = r.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
        assert_relative_eq!(residual_sq(a.view(), w.view(), ht.view()), want, max_relative = 1e-5);
        assert_relative_eq!(sum_sq(r.view()), want, max_relative = 1e-6);
        assert_relative_eq!(dot2(r.view(), r.view()), want, max_relative = 1e-6);
    }
}

//! Zero-phase low-pass filtering of keypoint trajectories.
//!
//! A digital Butterworth low-pass designed like `scipy.signal.butter(order, wn)` (analog
//! prototype, pre-warped bilinear transform, transfer-function form) and applied forward
//! and backward like `scipy.signal.filtfilt` (odd extension of `3 * max(len(a), len(b))`
//! samples, steady-state initial conditions from `lfilter_zi`). Filtering both ways cancels
//! the phase lag, so smoothed joins do not shift in time.

use num_complex::Complex64;

/// Transfer-function coefficients `b / a` with `a[0] == 1`.
#[derive(Debug, Clone, PartialEq)]
pub struct Butterworth {
    pub b: Vec<f64>,
    pub a: Vec<f64>,
}

impl Butterworth {
    /// Low-pass of `order` with cutoff `cutoff_hz` for signals sampled at `fps`.
    /// The normalized cutoff is clamped to (0.001, 0.99) of Nyquist, as spoken-to-signed does,
    /// so a 6 Hz cutoff still works on 10 fps input.
    pub fn low_pass(order: usize, cutoff_hz: f64, fps: f64) -> Butterworth {
        let nyquist = fps / 2.0;
        let wn = (cutoff_hz / nyquist).clamp(1e-3, 0.99);
        Butterworth::low_pass_normalized(order, wn)
    }

    /// `scipy.signal.butter(order, wn, "low")` for `wn` in (0, 1) (fraction of Nyquist).
    pub fn low_pass_normalized(order: usize, wn: f64) -> Butterworth {
        assert!(order >= 1, "Butterworth order must be at least 1");
        // Pre-warp for the bilinear transform with fs = 2 (scipy's convention).
        let fs = 2.0;
        let warped = 2.0 * fs * (std::f64::consts::PI * wn / fs).tan();
        // Analog prototype poles on the left half of the unit circle, scaled to the cutoff.
        let n = order as f64;
        let poles: Vec<Complex64> = (0..order)
            .map(|i| {
                let m = -(n - 1.0) + 2.0 * i as f64;
                let theta = std::f64::consts::PI * m / (2.0 * n);
                -Complex64::new(0.0, theta).exp() * warped
            })
            .collect();
        let gain = warped.powi(order as i32);
        // Bilinear transform: every analog zero at infinity maps to z = -1.
        let fs2 = Complex64::new(2.0 * fs, 0.0);
        let z_poles: Vec<Complex64> = poles.iter().map(|p| (fs2 + p) / (fs2 - p)).collect();
        let denom: Complex64 = poles.iter().map(|p| fs2 - p).product();
        let z_gain = gain / denom.re;
        let z_zeros = vec![Complex64::new(-1.0, 0.0); order];
        let b = poly(&z_zeros).into_iter().map(|c| c.re * z_gain).collect();
        let a = poly(&z_poles).into_iter().map(|c| c.re).collect();
        Butterworth { b, a }
    }

    /// Samples of odd extension on each side, as `filtfilt`'s default `padlen`.
    pub fn pad_len(&self) -> usize {
        3 * self.a.len().max(self.b.len())
    }

    /// Steady-state of the direct-form-II-transposed state for a unit step (`lfilter_zi`).
    fn initial_state(&self) -> Vec<f64> {
        let n = self.a.len().max(self.b.len());
        let mut a = self.a.clone();
        let mut b = self.b.clone();
        a.resize(n, 0.0);
        b.resize(n, 0.0);
        let m = n - 1;
        if m == 0 {
            return Vec::new();
        }
        // (I - companion(a)^T) zi = b[1:] - a[1:] * b[0]
        let mut matrix = vec![vec![0.0; m]; m];
        for (i, row) in matrix.iter_mut().enumerate() {
            row[i] += 1.0;
            // companion^T: column 0 holds -a[1:], the superdiagonal holds ones.
            row[0] += a[i + 1];
            if i + 1 < m {
                row[i + 1] -= 1.0;
            }
        }
        let rhs: Vec<f64> = (0..m).map(|i| b[i + 1] - a[i + 1] * b[0]).collect();
        solve(matrix, rhs)
    }

    /// One causal pass (`lfilter` with initial state `zi`), in place.
    fn filter_in_place(&self, x: &mut [f64], zi: &[f64]) {
        let n = self.a.len().max(self.b.len());
        let coef = |v: &[f64], i: usize| v.get(i).copied().unwrap_or(0.0);
        let mut z = zi.to_vec();
        for sample in x.iter_mut() {
            let input = *sample;
            let output = coef(&self.b, 0) * input + z.first().copied().unwrap_or(0.0);
            for i in 0..n - 1 {
                let next = if i + 1 < n - 1 { z[i + 1] } else { 0.0 };
                z[i] = coef(&self.b, i + 1) * input + next - coef(&self.a, i + 1) * output;
            }
            *sample = output;
        }
    }

    /// Zero-phase filtering of `x` (`scipy.signal.filtfilt(b, a, x)` with default padding).
    /// Returns `None` when `x` is not longer than the padding, where filtfilt is undefined.
    pub fn filtfilt(&self, x: &[f64]) -> Option<Vec<f64>> {
        let pad = self.pad_len();
        let len = x.len();
        if len <= pad {
            return None;
        }
        // Odd extension: reflect about the end samples so the ends carry no step.
        let mut ext = Vec::with_capacity(len + 2 * pad);
        ext.extend((1..=pad).rev().map(|i| 2.0 * x[0] - x[i]));
        ext.extend_from_slice(x);
        ext.extend((1..=pad).map(|i| 2.0 * x[len - 1] - x[len - 1 - i]));

        let zi = self.initial_state();
        let scaled = |v: f64| zi.iter().map(|z| z * v).collect::<Vec<_>>();
        let first = ext[0];
        self.filter_in_place(&mut ext, &scaled(first));
        ext.reverse();
        let first = ext[0];
        self.filter_in_place(&mut ext, &scaled(first));
        ext.reverse();
        Some(ext[pad..pad + len].to_vec())
    }
}

/// Polynomial coefficients (highest power first) with the given roots, like `numpy.poly`.
fn poly(roots: &[Complex64]) -> Vec<Complex64> {
    let mut coeffs = vec![Complex64::new(1.0, 0.0)];
    for root in roots {
        let mut next = vec![Complex64::new(0.0, 0.0); coeffs.len() + 1];
        for (i, c) in coeffs.iter().enumerate() {
            next[i] += c;
            next[i + 1] -= c * root;
        }
        coeffs = next;
    }
    coeffs
}

/// Gaussian elimination with partial pivoting for the small (order × order) state system.
fn solve(mut matrix: Vec<Vec<f64>>, mut rhs: Vec<f64>) -> Vec<f64> {
    let n = rhs.len();
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&i, &j| matrix[i][col].abs().total_cmp(&matrix[j][col].abs()))
            .unwrap_or(col);
        matrix.swap(col, pivot);
        rhs.swap(col, pivot);
        let diag = matrix[col][col];
        if diag == 0.0 {
            continue;
        }
        for row in col + 1..n {
            let factor = matrix[row][col] / diag;
            if factor == 0.0 {
                continue;
            }
            let pivot_row = matrix[col].clone();
            for (value, pivot) in matrix[row][col..].iter_mut().zip(&pivot_row[col..]) {
                *value -= factor * pivot;
            }
            rhs[row] -= factor * rhs[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let tail: f64 = (row + 1..n).map(|k| matrix[row][k] * x[k]).sum();
        let diag = matrix[row][row];
        x[row] = if diag == 0.0 {
            0.0
        } else {
            (rhs[row] - tail) / diag
        };
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference values from scipy 1.17.1:
    //   python -c "import scipy.signal as s; print(s.butter(4, 0.4))"
    const SCIPY_B: [f64; 5] = [
        0.04658290663644368,
        0.1863316265457747,
        0.27949743981866204,
        0.1863316265457747,
        0.04658290663644368,
    ];
    const SCIPY_A: [f64; 5] = [
        1.0,
        -0.7820951980233375,
        0.6799785269162995,
        -0.18267569775303227,
        0.03011887504316924,
    ];

    #[test]
    fn butter_matches_scipy() {
        let filter = Butterworth::low_pass(4, 6.0, 30.0);
        for (got, want) in filter.b.iter().zip(SCIPY_B) {
            assert!((got - want).abs() < 1e-12, "b: {got} vs {want}");
        }
        for (got, want) in filter.a.iter().zip(SCIPY_A) {
            assert!((got - want).abs() < 1e-12, "a: {got} vs {want}");
        }
    }

    #[test]
    fn filtfilt_matches_scipy() {
        // python -c "import numpy as np, scipy.signal as s; b,a=s.butter(4,0.4);
        //   x=np.sin(np.arange(20)*0.7)+0.1*np.arange(20); print(s.filtfilt(b,a,x)[[0,5,10,19]])"
        let x: Vec<f64> = (0..20)
            .map(|i| (i as f64 * 0.7).sin() + 0.1 * i as f64)
            .collect();
        let y = Butterworth::low_pass_normalized(4, 0.4)
            .filtfilt(&x)
            .expect("long enough");
        let want = [
            (0, -1.3413595627697478e-04),
            (5, 1.5101331039234328e-01),
            (10, 1.6568341082694897e+00),
            (19, 2.5700841172766937e+00),
        ];
        for (i, v) in want {
            assert!((y[i] - v).abs() < 1e-9, "y[{i}] = {} vs {v}", y[i]);
        }
    }

    #[test]
    fn constant_passes_unchanged_and_ramp_nearly() {
        let filter = Butterworth::low_pass(4, 6.0, 25.0);
        let constant = filter.filtfilt(&[2.5; 30]).unwrap();
        assert!(constant.iter().all(|v| (v - 2.5).abs() < 1e-9));
        // scipy's filtfilt leaves a 5.2e-4 error on this ramp too (its initial state is
        // the step response's, not the ramp's).
        let ramp: Vec<f64> = (0..40).map(|i| 3.0 + 0.5 * i as f64).collect();
        let y = filter.filtfilt(&ramp).unwrap();
        let error = ramp
            .iter()
            .zip(&y)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(error < 1e-3, "{error}");
    }

    #[test]
    fn short_signal_is_refused() {
        let filter = Butterworth::low_pass(4, 6.0, 25.0);
        assert!(filter.filtfilt(&[1.0; 15]).is_none());
        assert!(filter.filtfilt(&[1.0; 16]).is_some());
    }
}

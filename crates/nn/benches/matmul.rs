//! Matrix products of one SCOPE small-preset training step (crates/slr/configs/dialogue.toml:
//! batch 32 × 128 frames, d 128, ff 256, 4 heads), timed three ways in one run:
//! burn's `Tensor::matmul` on the Flex backend, and the `gemm` call it wraps (same strides,
//! same threading). `benches/matmul.py` times the same shapes with PyTorch.
//!
//! `cargo bench -p signscope-nn --bench matmul [-- REPS]`; prints medians and GFLOP/s.

use std::time::Instant;

use burn::prelude::*;
use burn::tensor::Distribution;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// One product [batch, m, k] × [batch, k, n]: (what, batch, m, k, n, lhs_t, rhs_t), where
/// `lhs_t` / `rhs_t` mean the operand is a transposed view of a row-major [k, m] / [n, k]
/// array, as in the backward pass (x^T·g, g·W^T).
type Case = (&'static str, usize, usize, usize, usize, bool, bool);

const CASES: &[Case] = &[
    ("spatial 1 forward", 1, 4096, 154, 256, false, false),
    ("spatial 1 grad W", 1, 154, 4096, 256, true, false),
    ("spatial 2 forward", 1, 4096, 256, 128, false, false),
    ("spatial 2 grad x", 1, 4096, 128, 256, false, true),
    ("spatial 2 grad W", 1, 256, 4096, 128, true, false),
    ("temporal conv forward", 1, 2048, 640, 128, false, false),
    ("temporal conv grad x", 1, 2048, 128, 640, false, true),
    ("temporal conv grad W", 1, 640, 2048, 128, true, false),
    ("projection forward", 1, 2048, 128, 128, false, false),
    ("projection grad W", 1, 128, 2048, 128, true, false),
    ("ff 1 forward", 1, 2048, 128, 256, false, false),
    ("ff 2 forward", 1, 2048, 256, 128, false, false),
    ("attention q·k^T", 128, 64, 32, 64, false, true),
    ("attention p·v", 128, 64, 64, 32, false, false),
    ("attention grad q", 128, 64, 64, 32, false, false),
    ("attention grad k", 128, 64, 64, 32, true, false),
];

/// Median seconds of `run` over `reps` calls, after one warm-up call.
fn median_time(reps: usize, mut run: impl FnMut()) -> f64 {
    run();
    median(
        (0..reps)
            .map(|_| {
                let start = Instant::now();
                run();
                start.elapsed().as_secs_f64()
            })
            .collect(),
    )
}

fn tensor(rows: usize, cols: usize, batch: usize, transposed: bool, device: &Device) -> Tensor<3> {
    let dist = Distribution::Normal(0.0, 1.0);
    if transposed {
        Tensor::<3>::random([batch, cols, rows], dist, device).swap_dims(1, 2)
    } else {
        Tensor::<3>::random([batch, rows, cols], dist, device)
    }
}

/// The Flex backend runs eagerly: the product is done when `matmul` returns.
fn time_burn(&(_, batch, m, k, n, lhs_t, rhs_t): &Case, reps: usize, device: &Device) -> f64 {
    let a = tensor(m, k, batch, lhs_t, device);
    let b = tensor(k, n, batch, rhs_t, device);
    if batch == 1 {
        // 2-D, as signscope_nn::linear::forward calls it
        let (a, b) = (a.squeeze_dim::<2>(0), b.squeeze_dim::<2>(0));
        median_time(reps, || {
            std::hint::black_box(a.clone().matmul(b.clone()));
        })
    } else {
        median_time(reps, || {
            std::hint::black_box(a.clone().matmul(b.clone()));
        })
    }
}

fn time_gemm(&(_, batch, m, k, n, lhs_t, rhs_t): &Case, reps: usize) -> f64 {
    let a = vec![0.5f32; batch * m * k];
    let b = vec![0.25f32; batch * k * n];
    let mut out = vec![0.0f32; batch * m * n];
    let (a_cs, a_rs) = if lhs_t {
        (m as isize, 1)
    } else {
        (1, k as isize)
    };
    let (b_cs, b_rs) = if rhs_t {
        (k as isize, 1)
    } else {
        (1, n as isize)
    };
    median_time(reps, || {
        for i in 0..batch {
            // SAFETY: every pointer stays inside its own vector for this product.
            unsafe {
                gemm::gemm(
                    m,
                    n,
                    k,
                    out.as_mut_ptr().add(i * m * n),
                    1,
                    n as isize,
                    false,
                    a.as_ptr().add(i * m * k),
                    a_cs,
                    a_rs,
                    b.as_ptr().add(i * k * n),
                    b_cs,
                    b_rs,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    gemm::Parallelism::Rayon(0),
                );
            }
        }
        std::hint::black_box(&out);
    })
}

fn main() {
    let reps: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(9);
    let device = signscope_nn::cpu_device();
    let (mut burn_total, mut gemm_total) = (0.0, 0.0);
    for case @ &(what, batch, m, k, n, _, _) in CASES {
        let flop = 2.0 * (batch * m * k * n) as f64;
        let tb = time_burn(case, reps, &device);
        let tg = time_gemm(case, reps);
        burn_total += tb;
        gemm_total += tg;
        println!(
            "matmul {:<22} {}x[{}x{}x{}]: burn {:.3} ms ({:.0} GFLOP/s), gemm {:.3} ms ({:.0} GFLOP/s)",
            what,
            batch,
            m,
            k,
            n,
            tb * 1e3,
            flop / tb / 1e9,
            tg * 1e3,
            flop / tg / 1e9
        );
    }
    println!(
        "matmul total: burn {:.2} ms, gemm {:.2} ms",
        burn_total * 1e3,
        gemm_total * 1e3
    );
}

//! Forward + backward of the operations `signscope_nn::fused` fuses, against burn's own, on
//! the recognizer's training shapes (small preset: batch 32, 64 steps after the temporal
//! conv, d 128, ff 256, 4 heads). Both run in the same process, alternating.
//!
//! `cargo bench -p signscope-nn --bench fused [-- REPS]`; prints medians in ms.

use std::time::Instant;

use burn::nn::LayerNormConfig;
use burn::prelude::*;
use burn::tensor::{Distribution, TensorData};
use signscope_nn::fused;

#[global_allocator]
static ALLOCATOR: signscope_nn::alloc::MiMalloc = signscope_nn::alloc::MiMalloc;

/// Median ms of `reps` forward + backward passes of `op` on a fresh leaf copy of `x`.
fn time<const D: usize>(reps: usize, x: &Tensor<D>, op: impl Fn(Tensor<D>) -> Tensor<D>) -> f64 {
    let weights = Tensor::<D>::random(x.dims(), Distribution::Normal(0.0, 1.0), &x.device());
    let mut times: Vec<f64> = (0..reps + 1)
        .map(|_| {
            let input = x.clone().detach().require_grad();
            let start = Instant::now();
            let grads = (op(input.clone()) * weights.clone()).sum().backward();
            input.grad(&grads).expect("input gradient");
            start.elapsed().as_secs_f64() * 1e3
        })
        .skip(1) // warm-up
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() {
    signscope_nn::alloc::keep_freed_memory();
    let reps: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(21);
    let device = signscope_nn::training_device();
    device.seed(0);
    let normal = Distribution::Normal(0.0, 1.0);
    let hidden = Tensor::<3>::random([32, 64, 128], normal, &device);
    let inner = Tensor::<3>::random([32, 64, 256], normal, &device);
    let scores = Tensor::<4>::random([32, 4, 64, 64], normal, &device);
    let norm = LayerNormConfig::new(128).init(&device);
    // every other sequence is 48 of 64 steps long
    let padded: Vec<bool> = (0..32 * 64)
        .map(|i| (i / 64) % 2 == 1 && i % 64 >= 48)
        .collect();
    let padding = Tensor::<2, Bool>::from_data(TensorData::new(padded, [32, 64]), &device);
    let divisor = 32f32.sqrt();
    let burn_attention = |x: Tensor<4>| {
        let x = x
            .div_scalar(divisor)
            .mask_fill(padding.clone().reshape([32, 1, 1, 64]), -1.0e4);
        burn::tensor::activation::softmax(x, 3)
    };

    for round in 1..=2 {
        let rows = [
            (
                "layer norm [32, 64, 128]",
                time(reps, &hidden, |x| norm.forward(x)),
                time(reps, &hidden, |x| fused::layer_norm(&norm, x)),
            ),
            (
                "softmax [32, 4, 64, 64]",
                time(reps, &scores, |x| burn::tensor::activation::softmax(x, 3)),
                time(reps, &scores, fused::softmax),
            ),
            (
                "attention softmax (scale, key mask, softmax) [32, 4, 64, 64]",
                time(reps, &scores, burn_attention),
                time(reps, &scores, |x| {
                    fused::attention_softmax(x, Some(padding.clone()), divisor, -1.0e4)
                }),
            ),
            (
                "gelu [32, 64, 256]",
                time(reps, &inner, burn::tensor::activation::gelu),
                time(reps, &inner, fused::gelu),
            ),
        ];
        for (name, burn, ours) in rows {
            println!(
                "round {round}, {name}, forward + backward: burn {burn:.2} ms, fused {ours:.2} ms ({:.2}x)",
                burn / ours
            );
        }
    }
}

//! Recognizer benchmarks on the small preset (crates/slr/configs/dialogue.toml sizes, random
//! weights — speed does not depend on training):
//! - recognition: frames/s of the whole path (pose → SCOPE features → model → prefix beam
//!   top-3) on a 10 s, 30 fps sequence, and the latency after the last frame when a stream
//!   is re-recognized over its growing window;
//! - prefix beam search alone, for 170 and 1086 output classes;
//! - training: one stage-1 step (L_emb) and one stage-2 step (CTC) with AdamW, batch 32 ×
//!   128 frames — the shapes of benches/train_step.py, which times the same architecture in
//!   PyTorch (run both with benches/compare_train_step.sh).
//!
//! `cargo bench -p signscope-slr --bench recognize [-- REPS] [--train-only]`; prints medians. The training
//! steps run on `signscope_nn::training_device()`: SIGNSCOPE_DEVICE=cuda with `--features cuda`
//! times them on burn's CUDA backend (recognition always runs on the CPU).

use std::time::Instant;

use burn::optim::{AdamWConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::{Distribution, TensorData};
use signscope_slr::config::SlrConfig;
use signscope_slr::decode::beam_search;
use signscope_slr::model::{ScopeSlr, SlrBatch, Stage, gloss_losses, rows};

/// The allocator `signscope train` runs with, so the step is timed as training runs it.
#[global_allocator]
static ALLOCATOR: signscope_nn::alloc::MiMalloc = signscope_nn::alloc::MiMalloc;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn preset() -> SlrConfig {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/dialogue.toml");
    let mut config = SlrConfig::load(std::path::Path::new(path)).expect("dialogue preset");
    config.model.embedding_size = 384; // all-MiniLM-L6-v2
    config.model.dropout = 0.1;
    config
}

fn batch(b: usize, t: usize, e: usize, classes: usize, device: &Device) -> SlrBatch {
    SlrBatch {
        keypoints: Tensor::random([b, t, 77, 2], Distribution::Normal(0.0, 1.0), device),
        frames: vec![t; b],
        sentence: Tensor::random([b, e], Distribution::Normal(0.0, 0.05), device),
        context: Tensor::random([b, 3, e], Distribution::Normal(0.0, 0.05), device),
        context_missing: Tensor::from_data(TensorData::new(vec![false; b * 3], [b, 3]), device),
        targets: (0..b)
            .map(|i| {
                (0..8)
                    .map(|j| 1 + (i * 7 + j * 13) % (classes - 1))
                    .collect()
            })
            .collect(),
    }
}

fn main() {
    let reps: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(7);
    signscope_nn::alloc::keep_freed_memory();
    let config = preset();
    let m = &config.model;
    let classes = 170;

    // `--train-only` (for profiling the step) skips recognition and beam search.
    if !std::env::args().any(|a| a == "--train-only") {
        // Recognition on the CPU inference device: 10 s at 30 fps.
        let device = signscope_nn::cpu_device();
        let model = ScopeSlr::new(m, classes, Stage::Gloss, &device);
        // Median seconds to recognize (features → top-3 by beam 8) a `frames`-frame input.
        let recognition_time = |frames: usize| {
            let mut times = Vec::new();
            for _ in 0..reps {
                let one = batch(1, frames, m.embedding_size, classes, &device);
                let start = Instant::now();
                let (log_probs, _) = model.gloss_log_probs(m, &one);
                let per = rows(log_probs, &[m.motion_steps(frames)]);
                std::hint::black_box(beam_search(&per[0], 8, 3));
                times.push(start.elapsed().as_secs_f64());
            }
            median(times)
        };
        let frames = 300;
        let t = recognition_time(frames);
        println!(
            "recognize 300 frames (10 s @ 30 fps): median {:.1} ms = {:.0} frames/s = {:.0}x real time",
            t * 1e3,
            frames as f64 / t,
            10.0 / t
        );
        // Streaming: the window grows by 1 s; latency = time to re-recognize after the last frame.
        for window in [60, 150, 300] {
            println!(
                "latency after the last frame, window {window} frames: median {:.1} ms",
                recognition_time(window) * 1e3
            );
        }

        // Prefix beam search alone (beam 8, top 3) over 64 output steps (128 frames), for the
        // dialogue vocabulary and PHOENIX-2014T's 1085 glosses: the per-sample cost of MWER's
        // N-best in every stage-2 step and of `recognize`'s top-3.
        for classes in [170, 1086] {
            let one = batch(1, 128, m.embedding_size, classes, &device);
            let (log_probs, _) =
                ScopeSlr::new(m, classes, Stage::Gloss, &device).gloss_log_probs(m, &one);
            let per = rows(log_probs, &[m.motion_steps(128)]);
            let mut times = Vec::new();
            for _ in 0..reps {
                let start = Instant::now();
                for _ in 0..10 {
                    std::hint::black_box(beam_search(&per[0], 8, 3));
                }
                times.push(start.elapsed().as_secs_f64() / 10.0);
            }
            println!(
                "prefix beam search, {classes} classes, {} steps, beam 8: median {:.2} ms",
                per[0].len(),
                median(times) * 1e3
            );
        }
    }

    // Training steps on the autodiff device: batch 32 x 128 frames.
    let device = signscope_nn::training_device();
    println!(
        "training device: {}",
        signscope_nn::training_accelerator().unwrap_or("cpu")
    );
    // CUDA runs asynchronously: a phase has finished once the device has caught up. On the
    // CPU backend `sync` returns at once.
    let sync = |device: &Device| device.sync().expect("device sync");
    let (b, t) = (32, 128);
    for stage in [Stage::Alignment, Stage::Gloss] {
        let mut model = ScopeSlr::new(m, classes, stage, &device);
        let mut optimizer = AdamWConfig::new().init();
        let mut times = Vec::new();
        let mut phases = [Vec::new(), Vec::new(), Vec::new()];
        for i in 0..reps + 1 {
            let data = batch(b, t, m.embedding_size, classes, &device);
            sync(&device);
            let start = Instant::now();
            let loss = match stage {
                Stage::Alignment => model.alignment_loss(m, &data),
                Stage::Gloss => gloss_losses(m, model.gloss_log_probs(m, &data).0, &data, 0, 1).ctc,
            };
            sync(&device);
            let forward = Instant::now();
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            sync(&device);
            let backward = Instant::now();
            model = optimizer.step(1e-4, model, grads);
            sync(&device);
            let end = Instant::now();
            if i > 0 {
                // the first step warms up
                times.push((end - start).as_secs_f64());
                for (phase, d) in
                    phases
                        .iter_mut()
                        .zip([forward - start, backward - forward, end - backward])
                {
                    phase.push(d.as_secs_f64());
                }
            }
        }
        println!(
            "train step {stage:?} (batch {b} x {t} frames): median {:.1} ms",
            median(times) * 1e3
        );
        let [f, bw, o] = phases.map(|p| median(p) * 1e3);
        println!("phases {stage:?}: forward {f:.1} ms, backward {bw:.1} ms, optimizer {o:.1} ms");
    }
}

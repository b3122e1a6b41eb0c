//! End-to-end checks of the seq2seq stack on a tiny synthetic task (reverse a sequence of
//! letters): overfitting, search, checkpoints, averaging and resume.

use std::path::Path;

use signscope_nn::burn::prelude::*;
use signscope_nn::checkpoint::{
    average_models, load_model, save_model, save_model_f16, save_model_q8,
};
use signscope_nn::config::{ModelConfig, Schedule, TrainingConfig};
use signscope_nn::loss::{TokenLoss, label_smoothed_cross_entropy};
use signscope_nn::search::{
    SearchConfig, beam_search, beam_search_ensemble, greedy_search, greedy_search_ensemble,
    score_targets, score_targets_ensemble,
};
use signscope_nn::seq2seq::{Seq2Seq, TokenBatch};
use signscope_nn::train::{Evaluation, TrainTask, load_state, train};
use signscope_nn::vocab::{BOS_ID, EOS_ID, PAD_ID};

const VOCAB: usize = 12;

/// burn's Flex backend keeps one process-wide random generator, so tests that draw dropout
/// noise must not run at the same time if their results are to be reproducible.
static RNG_USERS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Ten fixed "sentences": the target is the source reversed.
fn pairs() -> Vec<(Vec<u32>, Vec<u32>)> {
    let sentences: [&[u32]; 10] = [
        &[4, 5, 6],
        &[7, 8, 9, 10],
        &[11, 4],
        &[5, 7, 9, 11, 6],
        &[10, 8],
        &[6, 6, 4],
        &[9, 5, 11, 7],
        &[8, 10, 4, 5],
        &[11, 9],
        &[7, 4, 10, 6, 8],
    ];
    sentences
        .iter()
        .map(|s| {
            let mut source = s.to_vec();
            source.push(EOS_ID);
            let mut target: Vec<u32> = s.iter().rev().copied().collect();
            target.push(EOS_ID);
            (source, target)
        })
        .collect()
}

fn tiny_model_config() -> ModelConfig {
    ModelConfig {
        d_model: 32,
        n_heads: 2,
        d_ff: 64,
        encoder_layers: 1,
        decoder_layers: 1,
        dropout: 0.1,
        attention_dropout: 0.0,
        max_positions: 16,
        ..Default::default()
    }
}

fn search(beam_size: usize) -> SearchConfig {
    SearchConfig {
        beam_size,
        alpha: 0.0,
        bos_id: BOS_ID,
        eos_id: EOS_ID,
        pad_id: PAD_ID,
        max_length_a: 1.0,
        max_length_b: 3,
    }
}

struct Reverse {
    pairs: Vec<(Vec<u32>, Vec<u32>)>,
    device: Device,
}

impl TrainTask for Reverse {
    type Model = Seq2Seq;
    type Batch = Vec<usize>;

    fn epoch_batches(&self, epoch: usize, _seed: u64) -> Vec<Vec<usize>> {
        // Two batches of five, alternating order by epoch.
        let (a, b): (Vec<usize>, Vec<usize>) = (0..10).partition(|i| i % 2 == epoch % 2);
        vec![a, b]
    }

    fn loss(&self, model: &Seq2Seq, batch: &Vec<usize>) -> TokenLoss {
        let sources: Vec<Vec<u32>> = batch.iter().map(|&i| self.pairs[i].0.clone()).collect();
        let outputs: Vec<Vec<u32>> = batch.iter().map(|&i| self.pairs[i].1.clone()).collect();
        let inputs: Vec<Vec<u32>> = outputs
            .iter()
            .map(|t| {
                std::iter::once(BOS_ID)
                    .chain(t[..t.len() - 1].iter().copied())
                    .collect()
            })
            .collect();
        let logits = model.forward(
            &TokenBatch::from_sequences(&sources, PAD_ID, &self.device),
            &TokenBatch::from_sequences(&inputs, PAD_ID, &self.device),
        );
        let targets = TokenBatch::from_sequences(&outputs, PAD_ID, &self.device).ids;
        label_smoothed_cross_entropy(logits, targets, PAD_ID, 0.1)
    }

    fn evaluate(&mut self, model: &Seq2Seq) -> anyhow::Result<Evaluation> {
        let sources: Vec<Vec<u32>> = self.pairs.iter().map(|p| p.0.clone()).collect();
        let hyps = greedy_search(model, &sources, &search(1), &self.device.clone().inner());
        let correct = hyps
            .iter()
            .zip(&self.pairs)
            .filter(|(h, p)| h.tokens == p.1[..p.1.len() - 1])
            .count();
        Ok(Evaluation {
            score: correct as f64,
            summary: format!("{correct}/10 exact"),
        })
    }
}

fn training_config(steps: usize, run_dir: &Path) -> TrainingConfig {
    TrainingConfig {
        run_dir: run_dir.display().to_string(),
        seed: 3,
        batch_size: 5,
        epochs: 0,
        max_steps: steps,
        learning_rate: 3e-3,
        schedule: Schedule::WarmupCosine {
            warmup_steps: 20,
            min_learning_rate: 1e-4,
        },
        weight_decay: 0.0,
        clip_grad_norm: 1.0,
        eval_every: 100,
        checkpoint_every: 10,
        keep_last: 3,
        average_last: 3,
        ..Default::default()
    }
}

fn new_model(device: &Device) -> Seq2Seq {
    device.seed(11);
    Seq2Seq::new(&tiny_model_config(), VOCAB, VOCAB, device)
}

fn params(model: &Seq2Seq) -> Vec<f32> {
    struct Collect(Vec<f32>);
    impl signscope_nn::burn::module::ModuleVisitor for Collect {
        fn visit_float<const D: usize>(
            &mut self,
            p: &signscope_nn::burn::module::Param<Tensor<D>>,
        ) {
            self.0
                .extend(p.val().into_data().try_into_vec_as::<f32>().unwrap());
        }
    }
    let mut c = Collect(Vec::new());
    model.visit(&mut c);
    c.0
}

#[test]
fn tiny_model_overfits_and_search_checkpoints_and_averaging_work() {
    let _rng = RNG_USERS.lock().unwrap_or_else(|e| e.into_inner());
    let device = signscope_nn::training_device();
    let dir = tempfile::tempdir().unwrap();
    let mut task = Reverse {
        pairs: pairs(),
        device: device.clone(),
    };
    let report = train(
        &mut task,
        new_model(&device),
        &training_config(300, dir.path()),
        32,
        dir.path(),
        false,
    )
    .unwrap();
    let best = report.state.best.clone().unwrap();
    assert_eq!(
        best.evaluation.score, 10.0,
        "{:?}",
        report.state.evaluations
    );
    assert!(report.averaged.is_some());
    assert_eq!(report.state.checkpoints.len(), 3);

    // Best checkpoint reloads into an inference model that reproduces all ten reversals.
    let cpu = device.clone().inner();
    let model = load_model(
        Seq2Seq::new(&tiny_model_config(), VOCAB, VOCAB, &cpu),
        &dir.path().join("best.bpk"),
    )
    .unwrap();
    let sources: Vec<Vec<u32>> = pairs().iter().map(|p| p.0.clone()).collect();
    let greedy = greedy_search(&model, &sources, &search(1), &cpu);
    for (h, (_, target)) in greedy.iter().zip(pairs()) {
        assert_eq!(h.tokens, target[..target.len() - 1]);
    }

    // Beam width 1 is greedy search; wider beams never score worse on these inputs, and the
    // reported log-probabilities agree with teacher-forced scoring.
    let beam1 = beam_search(&model, &sources, &search(1), &cpu);
    let beam4 = beam_search(&model, &sources, &search(4), &cpu);
    let forced = score_targets(
        &model,
        &sources,
        &greedy.iter().map(|h| h.tokens.clone()).collect::<Vec<_>>(),
        &search(1),
        &cpu,
    );
    for i in 0..sources.len() {
        assert_eq!(beam1[i][0].tokens, greedy[i].tokens);
        assert!((beam1[i][0].log_prob - greedy[i].log_prob).abs() < 1e-4);
        assert!(
            beam4[i][0].score >= greedy[i].score - 1e-6,
            "{i}: {:?} vs {:?}",
            beam4[i][0],
            greedy[i]
        );
        assert!(beam4[i].windows(2).all(|w| w[0].score >= w[1].score));
        assert!(
            (forced[i] - greedy[i].log_prob).abs() < 1e-3,
            "{} vs {}",
            forced[i],
            greedy[i].log_prob
        );
    }

    // Save/load round trip preserves outputs exactly.
    let copy_path = dir.path().join("copy.bpk");
    save_model(&model, &copy_path).unwrap();
    let copy = load_model(new_model(&cpu), &copy_path).unwrap();
    assert_eq!(params(&copy), params(&model));

    // Half precision: half the file, parameters back as f32 within f16 rounding, and the
    // same greedy output.
    let half_path = dir.path().join("half.bpk");
    save_model_f16(&model, &half_path).unwrap();
    let full_bytes = std::fs::metadata(&copy_path).unwrap().len() as f64;
    let half_bytes = std::fs::metadata(&half_path).unwrap().len() as f64;
    assert!(
        half_bytes < 0.6 * full_bytes,
        "{half_bytes} vs {full_bytes}"
    );
    let half = load_model(new_model(&cpu), &half_path).unwrap();
    for (a, b) in params(&half).iter().zip(params(&model)) {
        assert!((a - b).abs() <= 1e-3 * b.abs().max(6e-5), "{a} vs {b}");
    }
    let from_half = greedy_search(&half, &sources, &search(1), &cpu);
    let from_full = greedy_search(&model, &sources, &search(1), &cpu);
    for (h, f) in from_half.iter().zip(&from_full) {
        assert_eq!(h.tokens, f.tokens);
    }

    // 8-bit weight matrices: well under the half-precision file (0.54 of it for the PHOENIX
    // model; this tiny one has more per-tensor overhead); each value off by at most
    // half its block's step (max |block| / 254) plus f16 rounding; the same greedy output.
    let q8_path = dir.path().join("q8.bpk");
    save_model_q8(&model, &q8_path).unwrap();
    let q8_bytes = std::fs::metadata(&q8_path).unwrap().len() as f64;
    assert!(q8_bytes < 0.75 * half_bytes, "{q8_bytes} vs {half_bytes}");
    let q8 = load_model(new_model(&cpu), &q8_path).unwrap();
    let original = params(&model);
    let largest = original.iter().fold(0f32, |m, v| m.max(v.abs()));
    let mut changed = 0;
    for (a, b) in params(&q8).iter().zip(&original) {
        assert!(
            (a - b).abs() <= largest / 254.0 * 0.51 + 1e-3 * b.abs(),
            "{a} vs {b}"
        );
        changed += usize::from(a != b);
    }
    assert!(
        changed > original.len() / 2,
        "{changed} of {}",
        original.len()
    );
    let from_q8 = greedy_search(&q8, &sources, &search(1), &cpu);
    for (q, f) in from_q8.iter().zip(&from_full) {
        assert_eq!(q.tokens, f.tokens);
    }

    // Averaging a model with itself is the identity; with a different one, the mean.
    let other = new_model(&cpu);
    let other_path = dir.path().join("other.bpk");
    save_model(&other, &other_path).unwrap();
    let same = average_models(new_model(&cpu), &[&copy_path, &copy_path]).unwrap();
    for (a, b) in params(&same).iter().zip(params(&model)) {
        assert!((a - b).abs() < 1e-6);
    }
    let mean = average_models(new_model(&cpu), &[&copy_path, &other_path]).unwrap();
    for ((m, a), b) in params(&mean).iter().zip(params(&model)).zip(params(&other)) {
        assert!((m - (a + b) / 2.0).abs() < 1e-5);
    }

    // An ensemble of a model with itself decodes as the model alone.
    let twice = [model.clone(), model.clone()];
    let alone = beam_search(&model, &sources, &search(4), &cpu);
    let doubled = beam_search_ensemble(&twice, &sources, &search(4), &cpu);
    for (a, d) in alone.iter().zip(&doubled) {
        assert_eq!(a[0].tokens, d[0].tokens);
        assert!((a[0].log_prob - d[0].log_prob).abs() < 1e-4);
    }
    // With a different member, every next-token distribution is the members' mean: the
    // empty output (EOS alone) has probability (P1(EOS) + P2(EOS)) / 2, and the ensemble's
    // searches report the log-probabilities teacher-forced ensemble scoring gives.
    let pair = [model.clone(), other.clone()];
    let empty = vec![Vec::new(); sources.len()];
    let eos_model = score_targets(&model, &sources, &empty, &search(1), &cpu);
    let eos_other = score_targets(&other, &sources, &empty, &search(1), &cpu);
    let eos_pair = score_targets_ensemble(&pair, &sources, &empty, &search(1), &cpu);
    for i in 0..sources.len() {
        let mean = ((eos_model[i].exp() + eos_other[i].exp()) / 2.0).ln();
        assert!(
            (eos_pair[i] - mean).abs() < 1e-4,
            "{} vs {mean}",
            eos_pair[i]
        );
    }
    let greedy_pair = greedy_search_ensemble(&pair, &sources, &search(1), &cpu);
    let beam_pair = beam_search_ensemble(&pair, &sources, &search(3), &cpu);
    let outputs: Vec<Vec<u32>> = beam_pair.iter().map(|b| b[0].tokens.clone()).collect();
    let forced_pair = score_targets_ensemble(&pair, &sources, &outputs, &search(1), &cpu);
    let mut compared = 0;
    for i in 0..sources.len() {
        assert!(beam_pair[i][0].score >= greedy_pair[i].score - 1e-6);
        // An output cut at the length limit has no EOS, which forced scoring would add.
        if outputs[i].len() < sources[i].len() + search(1).max_length_b {
            assert!(
                (forced_pair[i] - beam_pair[i][0].log_prob).abs() < 1e-3,
                "{} vs {}",
                forced_pair[i],
                beam_pair[i][0].log_prob
            );
            compared += 1;
        }
    }
    assert!(compared > 0);

    // A wrong architecture is refused with the file named.
    let wrong = Seq2Seq::new(
        &ModelConfig {
            d_model: 16,
            ..tiny_model_config()
        },
        VOCAB,
        VOCAB,
        &cpu,
    );
    let msg = load_model(wrong, &copy_path).unwrap_err().to_string();
    assert!(msg.contains("copy.bpk"), "{msg}");

    // A finished run directory is not overwritten by a fresh start.
    let again = train(
        &mut task,
        new_model(&device),
        &training_config(20, dir.path()),
        32,
        dir.path(),
        false,
    );
    assert!(again.unwrap_err().to_string().contains("--resume"));
}

#[test]
fn resumed_run_reaches_the_same_parameters() {
    let _rng = RNG_USERS.lock().unwrap_or_else(|e| e.into_inner());
    let device = signscope_nn::training_device();
    let straight = tempfile::tempdir().unwrap();
    let split = tempfile::tempdir().unwrap();
    let mut task = Reverse {
        pairs: pairs(),
        device: device.clone(),
    };

    let mut config = training_config(30, straight.path());
    config.average_last = 0;
    // Noam's rate does not depend on the total step count, so a 20-step run followed by a
    // resumed 30-step run follows the same schedule as one 30-step run.
    config.schedule = Schedule::Noam {
        warmup_steps: 10,
        factor: 0.1,
    };
    train(
        &mut task,
        new_model(&device),
        &config,
        32,
        straight.path(),
        false,
    )
    .unwrap();

    // Same run, interrupted after 20 steps (a checkpoint) and resumed.
    let mut first = config.clone();
    first.max_steps = 20;
    train(
        &mut task,
        new_model(&device),
        &first,
        32,
        split.path(),
        false,
    )
    .unwrap();
    let mut state = load_state(split.path()).unwrap();
    // Pretend the process died before finishing: the schedule still targets 30 steps.
    state.finished = false;
    std::fs::write(
        split.path().join("state.json"),
        serde_json::to_string(&state).unwrap(),
    )
    .unwrap();
    let report = train(
        &mut task,
        new_model(&device),
        &config,
        32,
        split.path(),
        true,
    )
    .unwrap();
    assert_eq!(report.state.step, 30);

    let cpu = device.inner();
    let a = load_model(
        new_model(&cpu),
        &straight.path().join("checkpoints/step-00000030.bpk"),
    )
    .unwrap();
    let b = load_model(
        new_model(&cpu),
        &split.path().join("checkpoints/step-00000030.bpk"),
    )
    .unwrap();
    for (x, y) in params(&a).iter().zip(params(&b)) {
        assert!((x - y).abs() < 1e-5, "{x} vs {y}");
    }
}

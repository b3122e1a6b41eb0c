//! burn's CTC loss against `torch.nn.functional.ctc_loss` on fixed inputs
//! (fixture from scripts/ctc_reference.py).

use burn::nn::loss::CTCLossConfig;
use burn::prelude::*;
use burn::tensor::TensorData;
use burn::tensor::activation::log_softmax;
use serde::Deserialize;

#[derive(Deserialize)]
struct Reference {
    shape: [usize; 3],
    log_probs: Vec<f64>,
    targets: Vec<Vec<i64>>,
    input_lengths: Vec<i64>,
    loss_none: Vec<f64>,
    grad_sum: Vec<f64>,
}

#[test]
fn burn_ctc_matches_pytorch() {
    let text = include_str!("fixtures/ctc_reference.json");
    let r: Reference = serde_json::from_str(text).expect("fixture parses");
    let device = signscope_nn::training_device();
    let [t, b, c] = r.shape;
    let values: Vec<f32> = r.log_probs.iter().map(|&v| v as f32).collect();
    // A leaf that is already normalized: log_softmax(x) == x, and the gradient w.r.t. x is
    // the gradient w.r.t. logits, which is what PyTorch's ctc_loss backward reports.
    let x = Tensor::<3>::from_data(TensorData::new(values, [t, b, c]), &device).require_grad();
    let width = r.targets.iter().map(Vec::len).max().unwrap();
    let mut flat = vec![0i64; b * width];
    for (i, target) in r.targets.iter().enumerate() {
        flat[i * width..i * width + target.len()].copy_from_slice(target);
    }
    let targets = Tensor::<2, Int>::from_data(TensorData::new(flat, [b, width]), &device);
    let input_lengths =
        Tensor::<1, Int>::from_data(TensorData::new(r.input_lengths.clone(), [b]), &device);
    let lengths: Vec<i64> = r.targets.iter().map(|t| t.len() as i64).collect();
    let target_lengths = Tensor::<1, Int>::from_data(TensorData::new(lengths, [b]), &device);
    let loss = CTCLossConfig::new().init().forward(
        log_softmax(x.clone(), 2),
        targets,
        input_lengths,
        target_lengths,
    );
    let got: Vec<f32> = loss
        .clone()
        .into_data()
        .convert::<f32>()
        .try_into_vec()
        .unwrap();
    for (i, (g, e)) in got.iter().zip(&r.loss_none).enumerate() {
        assert!(
            (*g as f64 - e).abs() < 1e-4 * e.abs().max(1.0),
            "sample {i}: burn {g} vs torch {e}"
        );
    }
    let grads = loss.sum().backward();
    let grad: Vec<f32> = x
        .grad(&grads)
        .expect("gradient")
        .into_data()
        .convert::<f32>()
        .try_into_vec()
        .unwrap();
    let worst = grad
        .iter()
        .zip(&r.grad_sum)
        .map(|(g, e)| (*g as f64 - e).abs())
        .fold(0.0, f64::max);
    assert!(worst < 1e-4, "largest gradient difference {worst}");
}

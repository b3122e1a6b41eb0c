//! Layer normalization, softmax, the attention softmax (scale, key mask and softmax) and GELU
//! as single autodiff operations on the CPU backend.
//!
//! burn's autodiff has no node of its own for the first two: it records `layer_norm` as the ten
//! primitive operations it is written in (mean, subtract, square, mean, add, sqrt, divide,
//! reshape, multiply, add) and `softmax` as five (max, subtract, exp, sum, divide), and each
//! of them allocates its output in the forward pass and its gradient in the backward pass,
//! with broadcast gradients reduced again. PyTorch runs each as one fused kernel forward and
//! one backward. Here each is one node: the forward pass is burn-flex's own fused kernel,
//! and the backward pass is one sweep over the rows (below), split across cores. GELU has its
//! own node in burn, but burn-flex computes it with the scalar libm `erff` per value; here erf
//! and exp are straight-line arithmetic that vectorizes (module `simd` below). Attention's
//! `div_scalar(√Dk)`, `mask_fill` of padded keys and softmax, three nodes with three
//! [B, H, Tq, Tk] intermediates in burn, are one node here.
//!
//! Only f32 tensors on burn's Flex CPU backend (with or without autodiff) take this path;
//! any other device or dtype (the CUDA backend, half precision) runs burn's own composed
//! operations, which compute the same function.
//!
//! Shapes: `N` rows (every leading dimension flattened), `D` the normalized or softmax
//! dimension (the last).

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::{Flex, FlexTensor};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, DispatchDevice, TensorMetadata, backend_extension};
use burn::nn::LayerNorm;
use burn::prelude::*;
use burn::tensor::{DType, TensorData};
use rayon::prelude::*;
use std::sync::Arc;

/// Rows handed to one rayon task: enough work per task to amortize the scheduling.
const ROWS_PER_TASK: usize = 64;
/// Values handed to one rayon task by element-wise kernels.
const ELEMENTS_PER_TASK: usize = 16 * 1024;

#[backend_extension(Flex, Autodiff)]
pub trait FusedOps: Backend {
    /// x [.., D], gamma [D], beta [D] -> (x - mean) / sqrt(var + epsilon) * gamma + beta
    fn fused_layer_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self>;

    /// x [.., D] -> softmax over the last dimension
    fn fused_softmax(x: FloatTensor<Self>) -> FloatTensor<Self>;

    /// x -> x · Φ(x), the exact (erf) GELU
    fn fused_gelu(x: FloatTensor<Self>) -> FloatTensor<Self>;

    /// Attention weights: scores [B, H, Tq, Tk] -> softmax over Tk of `scores / divisor`,
    /// with the keys that `key_padding` [B·Tk] marks (true = padded) set to `fill` first.
    fn fused_attention_softmax(
        scores: FloatTensor<Self>,
        key_padding: Option<Arc<[bool]>>,
        divisor: f32,
        fill: f32,
    ) -> FloatTensor<Self>;
}

impl FusedOps for Flex {
    fn fused_layer_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self> {
        burn::backend::flex::ops::activation::layer_norm(x, gamma, Some(beta), epsilon)
    }

    fn fused_softmax(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let last = x.shape().num_dims() - 1;
        burn::backend::flex::ops::activation::softmax(x, last)
    }

    fn fused_gelu(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let (x, shape) = values(&x);
        let x = slice(&x);
        let mut y = vec![0.0f32; x.len()];
        y.par_chunks_mut(ELEMENTS_PER_TASK)
            .zip(x.par_chunks(ELEMENTS_PER_TASK))
            .for_each(|(y, x)| simd::gelu_forward(x, y));
        flex_tensor(y, shape)
    }

    fn fused_attention_softmax(
        scores: FloatTensor<Self>,
        key_padding: Option<Arc<[bool]>>,
        divisor: f32,
        fill: f32,
    ) -> FloatTensor<Self> {
        let (x, shape) = values(&scores);
        let rows = AttentionRows::new(&shape, key_padding.as_deref());
        let x = slice(&x);
        let mut y = vec![0.0f32; x.len()];
        let chunk = ROWS_PER_TASK * rows.keys;
        y.par_chunks_mut(chunk)
            .zip(x.par_chunks(chunk))
            .enumerate()
            .for_each(|(task, (y, x))| {
                for (i, (y, x)) in y
                    .chunks_exact_mut(rows.keys)
                    .zip(x.chunks_exact(rows.keys))
                    .enumerate()
                {
                    let padded = rows.padding(key_padding.as_deref(), task * ROWS_PER_TASK + i);
                    simd::attention_softmax_row(x, padded, divisor, fill, y);
                }
            });
        flex_tensor(y, shape)
    }
}

impl<C: CheckpointStrategy> FusedOps for Autodiff<Flex, C> {
    fn fused_layer_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct LayerNormBackward;

        impl Backward<Flex, 3> for LayerNormBackward {
            /// the input and gamma of the forward pass, and epsilon
            type State = (FlexTensor, FlexTensor, f64);

            fn backward(
                self,
                ops: Ops<Self::State, 3>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let [node_x, node_gamma, node_beta] = ops.parents;
                let grad = grads.consume::<Flex>(&ops.node);
                let (x, gamma, epsilon) = ops.state;
                let (dx, dgamma, dbeta) = layer_norm_backward(&x, &gamma, &grad, epsilon);
                for (node, value) in [(node_x, dx), (node_gamma, dgamma), (node_beta, dbeta)] {
                    if let Some(node) = node {
                        grads.register::<Flex>(node.id, value);
                    }
                }
            }
        }

        let nodes = [x.node(), gamma.node(), beta.node()];
        let (x, gamma, beta) = (
            x.into_primitive(),
            gamma.into_primitive(),
            beta.into_primitive(),
        );
        match LayerNormBackward
            .prepare::<C>(nodes)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let output = Flex::fused_layer_norm(x.clone(), gamma.clone(), beta, epsilon);
                prep.finish((x, gamma, epsilon), output)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(Flex::fused_layer_norm(x, gamma, beta, epsilon))
            }
        }
    }

    fn fused_softmax(x: FloatTensor<Self>) -> FloatTensor<Self> {
        elementwise_node::<C>(x, Flex::fused_softmax, Saved::Output, softmax_backward)
    }

    fn fused_gelu(x: FloatTensor<Self>) -> FloatTensor<Self> {
        elementwise_node::<C>(x, Flex::fused_gelu, Saved::Input, gelu_backward)
    }

    fn fused_attention_softmax(
        scores: FloatTensor<Self>,
        key_padding: Option<Arc<[bool]>>,
        divisor: f32,
        fill: f32,
    ) -> FloatTensor<Self> {
        /// the weights of the forward pass, the key padding and the divisor
        type State = (FlexTensor, Option<Arc<[bool]>>, f32);
        fn backward((weights, key_padding, divisor): &State, grad: &FlexTensor) -> FlexTensor {
            attention_softmax_backward(weights, key_padding.as_deref(), *divisor, grad)
        }

        let nodes = [scores.node()];
        let scores = scores.into_primitive();
        match (UnaryBackward::<State> { backward })
            .prepare::<C>(nodes)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let weights =
                    Flex::fused_attention_softmax(scores, key_padding.clone(), divisor, fill);
                prep.finish((weights.clone(), key_padding, divisor), weights)
            }
            OpsKind::UnTracked(prep) => prep.finish(Flex::fused_attention_softmax(
                scores,
                key_padding,
                divisor,
                fill,
            )),
        }
    }
}

/// How the rows of attention scores [B, H, Tq, Tk] map to the key padding [B·Tk].
struct AttentionRows {
    /// Tk
    keys: usize,
    /// H · Tq: rows per sequence of the batch
    rows_per_sequence: usize,
}

impl AttentionRows {
    fn new(shape: &[usize], key_padding: Option<&[bool]>) -> Self {
        assert_eq!(
            shape.len(),
            4,
            "attention softmax: scores must be [B, H, Tq, Tk], got {shape:?}"
        );
        let rows = Self {
            keys: shape[3].max(1),
            rows_per_sequence: shape[1] * shape[2],
        };
        if let Some(padding) = key_padding {
            assert_eq!(
                padding.len(),
                shape[0] * shape[3],
                "attention softmax: key padding of {} values for scores {shape:?}",
                padding.len()
            );
        }
        rows
    }

    /// The padding of the keys row `row` attends over.
    fn padding<'a>(&self, key_padding: Option<&'a [bool]>, row: usize) -> Option<&'a [bool]> {
        let sequence = row / self.rows_per_sequence.max(1);
        key_padding.map(|p| &p[sequence * self.keys..(sequence + 1) * self.keys])
    }
}

/// Which tensor of the forward pass an element-wise node's backward reads.
#[derive(Clone, Copy, Debug)]
enum Saved {
    Input,
    Output,
}

/// An autodiff node of one input: `backward(state, grad)` gives the input's gradient from
/// what the forward pass saved.
#[derive(Debug)]
struct UnaryBackward<S> {
    backward: fn(&S, &FlexTensor) -> FlexTensor,
}

impl<S: Clone + Send + std::fmt::Debug + 'static> Backward<Flex, 1> for UnaryBackward<S> {
    type State = S;

    fn backward(
        self,
        ops: Ops<Self::State, 1>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let [node_x] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        if let Some(node) = node_x {
            grads.register::<Flex>(node.id, (self.backward)(&ops.state, &grad));
        }
    }
}

fn elementwise_node<C: CheckpointStrategy>(
    x: FloatTensor<Autodiff<Flex, C>>,
    forward: fn(FlexTensor) -> FlexTensor,
    saved: Saved,
    backward: fn(&FlexTensor, &FlexTensor) -> FlexTensor,
) -> FloatTensor<Autodiff<Flex, C>> {
    let nodes = [x.node()];
    let x = x.into_primitive();
    let node = UnaryBackward::<FlexTensor> { backward };
    match node.prepare::<C>(nodes).compute_bound().stateful() {
        OpsKind::Tracked(prep) => {
            let output = forward(x.clone());
            let state = match saved {
                Saved::Input => x,
                Saved::Output => output.clone(),
            };
            prep.finish(state, output)
        }
        OpsKind::UnTracked(prep) => prep.finish(forward(x)),
    }
}

/// `SIGNSCOPE_FUSED=0` runs burn's composed operations instead, so benchmarks can time both
/// in one binary and a suspected kernel fault can be ruled out without a rebuild.
fn enabled() -> bool {
    static ENABLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ENABLED.get_or_init(|| std::env::var("SIGNSCOPE_FUSED").map_or(true, |v| v != "0"))
}

/// Whether `x` lives on the Flex backend (with or without autodiff) as f32.
fn fusable<const D: usize>(x: &Tensor<D>) -> bool {
    if !enabled() {
        return false;
    }
    let on_flex = match x.device().as_dispatch() {
        DispatchDevice::Flex(_) => true,
        DispatchDevice::Autodiff(device) => matches!(**device, DispatchDevice::Flex(_)),
        #[allow(unreachable_patterns)]
        _ => false,
    };
    on_flex && x.dtype() == DType::F32
}

/// `norm.forward(x)`, as one autodiff node on the CPU backend.
pub fn layer_norm<const D: usize>(norm: &LayerNorm, x: Tensor<D>) -> Tensor<D> {
    let gamma = norm.gamma.val();
    if fusable(&x)
        && gamma.dtype() == DType::F32
        && let (Some(beta), Some(epsilon)) = (&norm.beta, layer_norm_epsilon(norm))
    {
        return Tensor::from_dispatch(<burn::backend::Dispatch as FusedOps>::fused_layer_norm(
            x.into_dispatch(),
            gamma.into_dispatch(),
            beta.val().into_dispatch(),
            epsilon,
        ));
    }
    norm.forward(x)
}

/// `burn::tensor::activation::softmax(x, D - 1)`, as one autodiff node on the CPU backend.
pub fn softmax<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if fusable(&x) {
        Tensor::from_dispatch(<burn::backend::Dispatch as FusedOps>::fused_softmax(
            x.into_dispatch(),
        ))
    } else {
        burn::tensor::activation::softmax(x, D - 1)
    }
}

/// Attention weights of scaled dot-product attention: `scores` [B, H, Tq, Tk] divided by
/// `divisor` (√Dk), the keys marked in `key_padding` [B, Tk] (true = padded) set to `fill`, then
/// softmax over Tk: what `MultiHeadAttention` computes with `div_scalar`, `mask_fill` and
/// `softmax`, as one autodiff node on the CPU backend (three nodes and their [B, H, Tq, Tk]
/// intermediates otherwise), with a vectorized exp.
pub fn attention_softmax(
    scores: Tensor<4>,
    key_padding: Option<Tensor<2, Bool>>,
    divisor: f32,
    fill: f32,
) -> Tensor<4> {
    if fusable(&scores) {
        let key_padding = key_padding.map(|padding| -> Arc<[bool]> {
            padding
                .into_data()
                .try_into_vec::<bool>()
                .expect("a bool tensor holds bools")
                .into()
        });
        return Tensor::from_dispatch(
            <burn::backend::Dispatch as FusedOps>::fused_attention_softmax(
                scores.into_dispatch(),
                key_padding,
                divisor,
                fill,
            ),
        );
    }
    let [b, _, _, tk] = scores.dims();
    let mut scores = scores.div_scalar(divisor);
    if let Some(padding) = key_padding {
        scores = scores.mask_fill(padding.reshape([b, 1, 1, tk]), fill);
    }
    burn::tensor::activation::softmax(scores, 3)
}

/// `burn::tensor::activation::gelu(x)` (the exact, erf form), as one autodiff node on the CPU
/// backend whose erf and exp vectorize (burn-flex calls the scalar libm `erff` per value).
pub fn gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if fusable(&x) {
        Tensor::from_dispatch(<burn::backend::Dispatch as FusedOps>::fused_gelu(
            x.into_dispatch(),
        ))
    } else {
        burn::tensor::activation::gelu(x)
    }
}

/// The epsilon a `LayerNorm` was configured with. burn keeps the field private and shows it
/// only in the module's display (`epsilon: 0.00001`), which prints the f64 exactly.
fn layer_norm_epsilon(norm: &LayerNorm) -> Option<f64> {
    let shown = norm.to_string();
    let start = shown.find("epsilon: ")? + "epsilon: ".len();
    let rest = &shown[start..];
    let end = rest.find([',', '}', ' ', '\n']).unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// Contiguous f32 values of a Flex tensor, copied only when its layout needs it.
fn values(tensor: &FlexTensor) -> (FlexTensor, Vec<usize>) {
    let contiguous = tensor.to_contiguous();
    let shape = contiguous.layout().shape().to_vec();
    (contiguous, shape)
}

fn slice(tensor: &FlexTensor) -> &[f32] {
    assert_eq!(tensor.dtype(), DType::F32, "fused kernels take f32 tensors");
    tensor
        .as_slice::<f32>()
        .expect("a contiguous tensor has a contiguous slice")
}

fn flex_tensor(values: Vec<f32>, shape: Vec<usize>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

/// Gradients of layer normalization for one sweep over the rows:
/// x̂ = (x - mean) · r with r = 1 / sqrt(var + ε), g_y = grad · γ,
/// dx = r · (g_y - mean(g_y) - x̂ · mean(g_y · x̂)), dγ = Σ_rows grad · x̂, dβ = Σ_rows grad.
fn layer_norm_backward(
    x: &FlexTensor,
    gamma: &FlexTensor,
    grad: &FlexTensor,
    epsilon: f64,
) -> (FlexTensor, FlexTensor, FlexTensor) {
    let (x, shape) = values(x);
    let (gamma, _) = values(gamma);
    let (grad, _) = values(grad);
    let (x, gamma, grad) = (slice(&x), slice(&gamma), slice(&grad));
    let d = *shape.last().expect("layer norm of a scalar");
    assert_eq!(
        gamma.len(),
        d,
        "layer norm: gamma has {} values for rows of {d}",
        gamma.len()
    );
    assert_eq!(
        grad.len(),
        x.len(),
        "layer norm: gradient and input differ in size"
    );
    let epsilon = epsilon as f32;

    let mut dx = vec![0.0f32; x.len()];
    let chunk = ROWS_PER_TASK * d.max(1);
    let (dgamma, dbeta) = dx
        .par_chunks_mut(chunk)
        .zip(x.par_chunks(chunk))
        .zip(grad.par_chunks(chunk))
        .map(|((dx, x), grad)| {
            let mut dgamma = vec![0.0f32; d];
            let mut dbeta = vec![0.0f32; d];
            let mut x_hat = vec![0.0f32; d];
            for ((dx, x), grad) in dx
                .chunks_exact_mut(d)
                .zip(x.chunks_exact(d))
                .zip(grad.chunks_exact(d))
            {
                let n = d as f32;
                let mean = x.iter().sum::<f32>() / n;
                let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
                let r = 1.0 / (var + epsilon).sqrt();
                let (mut sum_gy, mut sum_gy_xhat) = (0.0f32, 0.0f32);
                for i in 0..d {
                    let xh = (x[i] - mean) * r;
                    x_hat[i] = xh;
                    let gy = grad[i] * gamma[i];
                    sum_gy += gy;
                    sum_gy_xhat += gy * xh;
                    dgamma[i] += grad[i] * xh;
                    dbeta[i] += grad[i];
                }
                let (mean_gy, mean_gy_xhat) = (sum_gy / n, sum_gy_xhat / n);
                for i in 0..d {
                    dx[i] = r * (grad[i] * gamma[i] - mean_gy - x_hat[i] * mean_gy_xhat);
                }
            }
            (dgamma, dbeta)
        })
        .reduce(
            || (vec![0.0f32; d], vec![0.0f32; d]),
            |(mut ga, mut ba), (gb, bb)| {
                ga.iter_mut().zip(&gb).for_each(|(a, b)| *a += b);
                ba.iter_mut().zip(&bb).for_each(|(a, b)| *a += b);
                (ga, ba)
            },
        );
    (
        flex_tensor(dx, shape),
        flex_tensor(dgamma, vec![d]),
        flex_tensor(dbeta, vec![d]),
    )
}

/// Gradient of softmax over the last dimension from its output y: dx = y · (grad - Σ grad · y).
fn softmax_backward(output: &FlexTensor, grad: &FlexTensor) -> FlexTensor {
    let shape = output.layout().shape().to_vec();
    let d = *shape.last().expect("softmax of a scalar");
    softmax_rows_backward("softmax", output, grad, d, 1.0, |_| None)
}

/// Gradient of the attention softmax from its weights y: dx = y · (grad - Σ grad · y) / divisor,
/// and 0 for padded keys (their scores were overwritten, so nothing flows back to them).
fn attention_softmax_backward(
    weights: &FlexTensor,
    key_padding: Option<&[bool]>,
    divisor: f32,
    grad: &FlexTensor,
) -> FlexTensor {
    let rows = AttentionRows::new(&weights.layout().shape().to_vec(), key_padding);
    softmax_rows_backward(
        "attention softmax",
        weights,
        grad,
        rows.keys,
        divisor,
        |row| rows.padding(key_padding, row),
    )
}

/// dx = y · (grad - Σ grad · y) / divisor over rows of `d` values, zeroed where
/// `padding(row)` marks a position.
fn softmax_rows_backward<'a>(
    name: &str,
    output: &FlexTensor,
    grad: &FlexTensor,
    d: usize,
    divisor: f32,
    padding: impl Fn(usize) -> Option<&'a [bool]> + Sync,
) -> FlexTensor {
    let (y, shape) = values(output);
    let (grad, _) = values(grad);
    let (y, grad) = (slice(&y), slice(&grad));
    assert_eq!(
        grad.len(),
        y.len(),
        "{name}: gradient and output differ in size"
    );
    let d = d.max(1);
    let mut dx = vec![0.0f32; y.len()];
    let chunk = ROWS_PER_TASK * d;
    dx.par_chunks_mut(chunk)
        .zip(y.par_chunks(chunk))
        .zip(grad.par_chunks(chunk))
        .enumerate()
        .for_each(|(task, ((dx, y), grad))| {
            for (i, ((dx, y), grad)) in dx
                .chunks_exact_mut(d)
                .zip(y.chunks_exact(d))
                .zip(grad.chunks_exact(d))
                .enumerate()
            {
                let dot: f32 = y.iter().zip(grad).map(|(y, g)| y * g).sum();
                for ((dx, y), g) in dx.iter_mut().zip(y).zip(grad) {
                    *dx = y * (g - dot) / divisor;
                }
                if let Some(padded) = padding(task * ROWS_PER_TASK + i) {
                    dx.iter_mut()
                        .zip(padded)
                        .filter(|(_, padded)| **padded)
                        .for_each(|(dx, _)| *dx = 0.0);
                }
            }
        });
    flex_tensor(dx, shape)
}

/// d/dx GELU from its input: grad · (Φ(x) + x · φ(x)).
fn gelu_backward(x: &FlexTensor, grad: &FlexTensor) -> FlexTensor {
    let (x, shape) = values(x);
    let (grad, _) = values(grad);
    let (x, grad) = (slice(&x), slice(&grad));
    assert_eq!(
        grad.len(),
        x.len(),
        "gelu: gradient and input differ in size"
    );
    let mut dx = vec![0.0f32; x.len()];
    dx.par_chunks_mut(ELEMENTS_PER_TASK)
        .zip(x.par_chunks(ELEMENTS_PER_TASK))
        .zip(grad.par_chunks(ELEMENTS_PER_TASK))
        .for_each(|((dx, x), grad)| simd::gelu_backward(x, grad, dx));
    flex_tensor(dx, shape)
}

/// GELU and the attention softmax over slices, with erf and exp written as straight-line
/// arithmetic so that the loops vectorize; on x86-64 with AVX2 + FMA (checked at run time) they
/// are compiled for it.
mod simd {
    const FRAC_1_SQRT_2: f32 = std::f32::consts::FRAC_1_SQRT_2;
    /// 1 / sqrt(2π)
    const FRAC_1_SQRT_2PI: f32 = 0.398_942_3;

    /// e^x for x ≤ 0 (Cephes `expf`: x = n ln 2 + r, a degree-5 polynomial in r, times 2^n);
    /// relative error about 1e-7, and 0 below -87.
    #[inline(always)]
    fn exp_nonpositive(x: f32) -> f32 {
        let underflows = x < -87.0;
        let x = x.max(-87.0);
        let n = (x * std::f32::consts::LOG2_E + 0.5).floor();
        // ln 2 split in two so that n · ln 2 is exact in its leading part
        let r = x - n * 0.693_359_4 + n * 2.121_944_4e-4;
        let p = ((((1.987_569_2e-4 * r + 1.398_2e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
            + 0.166_666_65)
            * r
            + 0.5;
        let e = p * r * r + r + 1.0;
        // 2^n from n + 127 (an integer in 1..=127 here) in the low mantissa bits of
        // 2^23 + n + 127, shifted into the exponent field. `(n as i32)` would compute the same
        // but Rust's saturating float-to-int cast kept the whole loop scalar.
        let biased = (n + (127.0 + 8_388_608.0)).to_bits();
        let value = e * f32::from_bits(biased << 23);
        if underflows { 0.0 } else { value }
    }

    /// (Φ(x), φ(x)): the standard normal CDF through erf (Abramowitz & Stegun 7.1.26, absolute
    /// error below 1.5e-7) and the density, sharing one exp(-x²/2).
    #[inline(always)]
    fn cdf_pdf(x: f32) -> (f32, f32) {
        let e = exp_nonpositive(-0.5 * x * x);
        let z = x.abs() * FRAC_1_SQRT_2;
        let t = 1.0 / (1.0 + 0.327_591_1 * z);
        let poly = ((((1.061_405_4 * t - 1.453_152) * t + 1.421_413_8) * t - 0.284_496_72) * t
            + 0.254_829_6)
            * t;
        let erf_abs = 1.0 - poly * e;
        let erf = if x < 0.0 { -erf_abs } else { erf_abs };
        (0.5 * (1.0 + erf), FRAC_1_SQRT_2PI * e)
    }

    #[inline(always)]
    fn forward_loop(x: &[f32], y: &mut [f32]) {
        for (y, &x) in y.iter_mut().zip(x) {
            *y = x * cdf_pdf(x).0;
        }
    }

    #[inline(always)]
    fn backward_loop(x: &[f32], grad: &[f32], dx: &mut [f32]) {
        for ((dx, &x), &g) in dx.iter_mut().zip(x).zip(grad) {
            let (cdf, pdf) = cdf_pdf(x);
            *dx = g * (cdf + x * pdf);
        }
    }

    /// Lanes of the accumulators below: wide enough for AVX2 (and two AVX-512 halves), so a
    /// row's max and sum vectorize instead of running as one sequential chain.
    const LANES: usize = 8;

    #[inline(always)]
    fn lane_max(values: &[f32]) -> f32 {
        let mut lanes = [f32::NEG_INFINITY; LANES];
        let chunks = values.chunks_exact(LANES);
        let rest = chunks.remainder();
        for chunk in chunks {
            for (m, &v) in lanes.iter_mut().zip(chunk) {
                *m = m.max(v);
            }
        }
        rest.iter()
            .chain(&lanes)
            .fold(f32::NEG_INFINITY, |m, &v| m.max(v))
    }

    /// values[i] = e^(values[i] - max); returns their sum.
    #[inline(always)]
    fn exp_shifted_sum(values: &mut [f32], max: f32) -> f32 {
        let mut lanes = [0.0f32; LANES];
        let mut chunks = values.chunks_exact_mut(LANES);
        for chunk in &mut chunks {
            for (s, v) in lanes.iter_mut().zip(chunk) {
                *v = exp_nonpositive(*v - max);
                *s += *v;
            }
        }
        let mut sum: f32 = lanes.iter().sum();
        for v in chunks.into_remainder() {
            *v = exp_nonpositive(*v - max);
            sum += *v;
        }
        sum
    }

    #[inline(always)]
    fn attention_softmax_loop(
        x: &[f32],
        padded: Option<&[bool]>,
        divisor: f32,
        fill: f32,
        y: &mut [f32],
    ) {
        match padded {
            Some(padded) => {
                for ((y, &x), &padded) in y.iter_mut().zip(x).zip(padded) {
                    *y = if padded { fill } else { x / divisor };
                }
            }
            None => {
                for (y, &x) in y.iter_mut().zip(x) {
                    *y = x / divisor;
                }
            }
        }
        let max = lane_max(y);
        let sum = exp_shifted_sum(y, max);
        for y in y.iter_mut() {
            *y /= sum;
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn forward_avx2(x: &[f32], y: &mut [f32]) {
        forward_loop(x, y)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn backward_avx2(x: &[f32], grad: &[f32], dx: &mut [f32]) {
        backward_loop(x, grad, dx)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn attention_softmax_avx2(
        x: &[f32],
        padded: Option<&[bool]>,
        divisor: f32,
        fill: f32,
        y: &mut [f32],
    ) {
        attention_softmax_loop(x, padded, divisor, fill, y)
    }

    fn avx2() -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    }

    /// One row of attention weights: y = softmax(x / divisor), padded keys set to `fill` first.
    pub fn attention_softmax_row(
        x: &[f32],
        padded: Option<&[bool]>,
        divisor: f32,
        fill: f32,
        y: &mut [f32],
    ) {
        #[cfg(target_arch = "x86_64")]
        if avx2() {
            // SAFETY: the CPU has AVX2 and FMA (checked above).
            return unsafe { attention_softmax_avx2(x, padded, divisor, fill, y) };
        }
        attention_softmax_loop(x, padded, divisor, fill, y)
    }

    /// y = x · Φ(x)
    pub fn gelu_forward(x: &[f32], y: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if avx2() {
            // SAFETY: the CPU has AVX2 and FMA (checked above).
            return unsafe { forward_avx2(x, y) };
        }
        forward_loop(x, y)
    }

    /// dx = grad · (Φ(x) + x · φ(x))
    pub fn gelu_backward(x: &[f32], grad: &[f32], dx: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if avx2() {
            // SAFETY: the CPU has AVX2 and FMA (checked above).
            return unsafe { backward_avx2(x, grad, dx) };
        }
        backward_loop(x, grad, dx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::LayerNormConfig;
    use burn::tensor::{Distribution, TensorData};

    fn max_diff<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> f32 {
        (a - b).abs().max().into_scalar::<f32>()
    }

    /// Largest difference between the gradients two backward passes gave `x`.
    fn grad_diff<const D: usize>(
        (x_a, grads_a): (&Tensor<D>, &burn::tensor::Gradients),
        (x_b, grads_b): (&Tensor<D>, &burn::tensor::Gradients),
    ) -> f32 {
        max_diff(x_a.grad(grads_a).unwrap(), x_b.grad(grads_b).unwrap())
    }

    #[test]
    fn epsilon_is_read_from_the_module() {
        let device = crate::cpu_device();
        for epsilon in [1e-5, 1e-6, 0.25, 1e-12] {
            let norm = LayerNormConfig::new(8).with_epsilon(epsilon).init(&device);
            assert_eq!(layer_norm_epsilon(&norm), Some(epsilon));
        }
    }

    /// Same values and gradients (input, gamma, beta) as burn's composed layer norm, on a
    /// transposed (non-contiguous) input, with trained-looking gamma and beta.
    #[test]
    fn layer_norm_matches_burn() {
        let device = crate::training_device();
        device.seed(11);
        for (epsilon, d) in [(1e-5, 32), (0.1, 7)] {
            let mut norm = LayerNormConfig::new(d).with_epsilon(epsilon).init(&device);
            // trained-looking parameters, still leaves of the graph
            let shift = |p: Tensor<1>| {
                (p + Tensor::random([d], Distribution::Normal(0.0, 0.5), &device))
                    .detach()
                    .require_grad()
            };
            norm.gamma = norm.gamma.map(shift);
            norm.beta = norm.beta.map(|b| b.map(shift));
            let x = Tensor::<3>::random([5, d, 3], Distribution::Normal(1.0, 2.0), &device);
            assert!(fusable(&x), "the CPU training device takes the fused path");
            let weights = Tensor::<3>::random([5, 3, d], Distribution::Normal(0.0, 1.0), &device);

            let burn_in = x.clone().require_grad();
            let burn_out = norm.forward(burn_in.clone().swap_dims(1, 2));
            let ours_in = x.require_grad();
            let ours_out = layer_norm(&norm, ours_in.clone().swap_dims(1, 2));
            assert!(max_diff(burn_out.clone(), ours_out.clone()) < 1e-5);

            let g_burn = (burn_out * weights.clone()).sum().backward();
            let g_ours = (ours_out * weights).sum().backward();
            let dx = grad_diff((&burn_in, &g_burn), (&ours_in, &g_ours));
            assert!(dx < 1e-4, "input gradients differ by {dx}");
            let gamma = norm.gamma.val();
            let dgamma = grad_diff((&gamma, &g_burn), (&gamma, &g_ours));
            assert!(dgamma < 1e-4, "gamma gradients differ by {dgamma}");
            let beta = norm.beta.as_ref().unwrap().val();
            let dbeta = grad_diff((&beta, &g_burn), (&beta, &g_ours));
            assert!(dbeta < 1e-4, "beta gradients differ by {dbeta}");
        }
    }

    /// Largest differences (values, input gradients) between burn's `theirs` and our `ours`
    /// on `x`, with the output weighted by random values before the backward pass.
    fn compare_with_burn<const D: usize>(
        x: Tensor<D>,
        theirs: impl Fn(Tensor<D>) -> Tensor<D>,
        ours: impl Fn(Tensor<D>) -> Tensor<D>,
    ) -> (f32, f32) {
        assert!(fusable(&x), "the CPU training device takes the fused path");
        let weights = Tensor::<D>::random(x.dims(), Distribution::Normal(0.0, 1.0), &x.device());
        let burn_in = x.clone().require_grad();
        let burn_out = theirs(burn_in.clone());
        let ours_in = x.require_grad();
        let ours_out = ours(ours_in.clone());
        let dy = max_diff(burn_out.clone(), ours_out.clone());
        let g_burn = (burn_out * weights.clone()).sum().backward();
        let g_ours = (ours_out * weights).sum().backward();
        let dx = grad_diff((&burn_in, &g_burn), (&ours_in, &g_ours));
        (dy, dx)
    }

    /// Same values and input gradient as burn's softmax, including rows with masked
    /// (very negative) entries, on more rows than one rayon task takes.
    #[test]
    fn softmax_matches_burn() {
        let device = crate::training_device();
        device.seed(5);
        let x = Tensor::<4>::random([3, 2, 70, 9], Distribution::Normal(0.0, 3.0), &device);
        let mask =
            Tensor::<4>::random([3, 2, 70, 9], Distribution::Default, &device).greater_elem(0.8);
        let x = x.mask_fill(mask, -1.0e9);
        let (dy, dx) = compare_with_burn(x, |x| burn::tensor::activation::softmax(x, 3), softmax);
        assert!(dy < 1e-6, "values differ by {dy}");
        assert!(dx < 1e-5, "input gradients differ by {dx}");
    }

    /// Same values and gradient as burn's `div_scalar`, `mask_fill` and `softmax`, with padded
    /// keys, a sequence padded throughout (uniform weights, as burn gives), rows of a length
    /// that is not a multiple of the vector width, and more rows than one rayon task takes.
    #[test]
    fn attention_softmax_matches_burn() {
        let device = crate::training_device();
        device.seed(9);
        let (b, h, tq, tk) = (3, 2, 40, 13);
        let x = Tensor::<4>::random([b, h, tq, tk], Distribution::Normal(0.0, 6.0), &device);
        let mut padded = vec![false; b * tk];
        padded[9..13].fill(true); // the first sequence has 9 keys
        padded[13..26].fill(true); // the second has none
        let padding = Tensor::<2, Bool>::from_data(TensorData::new(padded, [b, tk]), &device);
        let (divisor, fill) = (8f32.sqrt(), -1.0e4);
        for padding in [Some(padding), None] {
            let reshaped = padding.clone().map(|p| p.reshape([b, 1, 1, tk]));
            let theirs = |x: Tensor<4>| {
                let x = x.div_scalar(divisor);
                let x = match &reshaped {
                    Some(p) => x.mask_fill(p.clone(), fill),
                    None => x,
                };
                burn::tensor::activation::softmax(x, 3)
            };
            let ours = |x| attention_softmax(x, padding.clone(), divisor, fill);
            let (dy, dx) = compare_with_burn(x.clone(), theirs, ours);
            assert!(dy < 1e-6, "values differ by {dy}");
            assert!(dx < 1e-5, "input gradients differ by {dx}");
        }
        // without autodiff too
        let plain = x.inner();
        let theirs = burn::tensor::activation::softmax(plain.clone().div_scalar(divisor), 3);
        assert!(max_diff(theirs, attention_softmax(plain, None, divisor, fill)) < 1e-6);
    }

    /// Same values and gradient as burn's exact GELU (libm erf), over the range where erf
    /// saturates and beyond, on more values than one rayon task takes.
    #[test]
    fn gelu_matches_burn() {
        let device = crate::training_device();
        device.seed(8);
        let x = Tensor::<2>::random([300, 70], Distribution::Normal(0.0, 3.0), &device);
        let edges =
            Tensor::<2>::from_floats([[-100.0, -9.0, -0.5, 0.0, 1e-8, 0.5, 9.0, 100.0]], &device);
        let x = Tensor::cat(
            vec![
                x,
                edges.repeat_dim(1, 9).reshape([1, 72]).slice([0..1, 0..70]),
            ],
            0,
        );
        let (dy, dx) = compare_with_burn(x, burn::tensor::activation::gelu, gelu);
        assert!(dy < 2e-6, "values differ by {dy}");
        assert!(dx < 2e-6, "input gradients differ by {dx}");
    }

    /// Without autodiff the fused path still computes the same function.
    #[test]
    fn inference_device_matches_burn() {
        let device = crate::cpu_device();
        device.seed(2);
        let norm = LayerNormConfig::new(16).init(&device);
        let x = Tensor::<2>::random([40, 16], Distribution::Normal(0.0, 1.0), &device);
        assert!(max_diff(norm.forward(x.clone()), layer_norm(&norm, x.clone())) < 1e-5);
        let s = burn::tensor::activation::softmax(x.clone(), 1);
        assert!(max_diff(s, softmax(x)) < 1e-6);
    }
}

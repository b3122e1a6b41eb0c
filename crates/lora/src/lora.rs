//! Low-rank adapters (Hu et al. 2021, "LoRA"): a frozen projection W [in, out] becomes
//! W + (α / r) · A · B with A [in, r] and B [r, out] trained. B starts at zero, so training
//! starts from the unchanged model; A starts as PEFT's default (Kaiming-uniform with a = √5,
//! which is U(−1/√in, 1/√in)).
//!
//! [`Adapters`] is the only burn `Module` of a fine-tuning run: checkpoints hold the adapters
//! (a few MB), never the frozen base.

use burn::module::Param;
use burn::prelude::*;
use burn::tensor::Distribution;
use serde::{Deserialize, Serialize};

use crate::gemma3::{Gemma3Config, Target};

/// `[lora]` in a fine-tuning config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoraConfig {
    /// r
    pub rank: usize,
    /// α; updates are scaled by α / r.
    pub alpha: f64,
    /// Projections that get an adapter in every layer (SCOPE / the LoRA paper: q and v).
    pub targets: Vec<Target>,
}

impl Default for LoraConfig {
    fn default() -> Self {
        Self {
            rank: 8,
            alpha: 16.0,
            targets: vec![Target::Q, Target::V],
        }
    }
}

impl LoraConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.rank == 0 {
            return Err("lora.rank must be at least 1".into());
        }
        if !(self.alpha.is_finite() && self.alpha > 0.0) {
            return Err(format!("lora.alpha must be positive, got {}", self.alpha));
        }
        if self.targets.is_empty() {
            return Err(
                "lora.targets is empty: name at least one of q, k, v, o, gate, up, down".into(),
            );
        }
        Ok(())
    }
}

#[derive(Module, Debug)]
pub struct Adapter {
    /// [in, r]
    pub a: Param<Tensor<2>>,
    /// [r, out]
    pub b: Param<Tensor<2>>,
}

impl Adapter {
    fn new(d_in: usize, d_out: usize, rank: usize, device: &Device) -> Self {
        let bound = 1.0 / (d_in as f64).sqrt();
        Self {
            a: Param::from_tensor(Tensor::random(
                [d_in, rank],
                Distribution::Uniform(-bound, bound),
                device,
            )),
            b: Param::from_tensor(Tensor::zeros([rank, d_out], device)),
        }
    }

    /// x [N, in] -> x · A · B [N, out] (unscaled).
    pub fn delta(&self, x: Tensor<2>) -> Tensor<2> {
        x.matmul(self.a.val()).matmul(self.b.val())
    }

    /// A · B [in, out] (unscaled).
    pub fn product(&self) -> Tensor<2> {
        self.a.val().matmul(self.b.val())
    }
}

/// The adapters of one block, by [`Target`].
#[derive(Module, Debug)]
pub struct LayerAdapters {
    pub q: Option<Adapter>,
    pub k: Option<Adapter>,
    pub v: Option<Adapter>,
    pub o: Option<Adapter>,
    pub gate: Option<Adapter>,
    pub up: Option<Adapter>,
    pub down: Option<Adapter>,
}

impl LayerAdapters {
    pub fn get(&self, target: Target) -> Option<&Adapter> {
        match target {
            Target::Q => self.q.as_ref(),
            Target::K => self.k.as_ref(),
            Target::V => self.v.as_ref(),
            Target::O => self.o.as_ref(),
            Target::Gate => self.gate.as_ref(),
            Target::Up => self.up.as_ref(),
            Target::Down => self.down.as_ref(),
        }
    }
}

#[derive(Module, Debug)]
pub struct Adapters {
    pub layers: Vec<LayerAdapters>,
    /// α / r, as a one-element tensor that is not trained (kept in the record so a checkpoint
    /// carries its own scale).
    scale: Param<Tensor<1>>,
}

impl Adapters {
    /// Fresh adapters for `model` (B = 0: the adapted model equals the base).
    pub fn new(model: &Gemma3Config, config: &LoraConfig, device: &Device) -> Self {
        let make = |target: Target| {
            config.targets.contains(&target).then(|| {
                let (d_in, d_out) = model.projection_shape(target);
                Adapter::new(d_in, d_out, config.rank, device)
            })
        };
        let layers = (0..model.n_layers)
            .map(|_| LayerAdapters {
                q: make(Target::Q),
                k: make(Target::K),
                v: make(Target::V),
                o: make(Target::O),
                gate: make(Target::Gate),
                up: make(Target::Up),
                down: make(Target::Down),
            })
            .collect();
        let scale = Tensor::from_data(
            TensorData::new(vec![(config.alpha / config.rank as f64) as f32], [1]),
            device,
        );
        Self {
            layers,
            scale: Param::from_tensor(scale).set_require_grad(false),
        }
    }

    /// α / r.
    pub fn scale(&self) -> f64 {
        self.scale.val().into_scalar::<f64>()
    }

    /// Trainable values (A and B of every adapter).
    pub fn trainable_parameters(&self) -> usize {
        self.layers
            .iter()
            .flat_map(|l| Target::ALL.into_iter().filter_map(|t| l.get(t)))
            .map(|a| {
                a.a.val().dims().iter().product::<usize>()
                    + a.b.val().dims().iter().product::<usize>()
            })
            .sum()
    }

    /// scale · A · B [in, out] of `target` in `layer`, if it has an adapter.
    pub fn update(&self, layer: usize, target: Target) -> Option<Tensor<2>> {
        let scale = self.scale();
        self.layers[layer]
            .get(target)
            .map(|a| a.product().mul_scalar(scale))
    }
}

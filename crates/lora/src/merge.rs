//! Folding trained adapters back into the GGUF file: W' = W + (α / r)·A·B for every adapted
//! projection, re-encoded in `dtype`; every other tensor and all metadata are copied as they
//! are. The result loads wherever the base did (`signscope translate --backend gguf`,
//! llama.cpp), at the base model's speed.
//!
//! Why re-encode in Q8_0 by default: the base's Q4_K/Q6_K blocks would round the small update
//! away (a rank-8 update is about 1% of a weight's magnitude); Q8_0 keeps it (measured by
//! the merge test against the unmerged adapters) and stays close to the base in size.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::Path;

use anyhow::{Context, bail};
use candle_core::quantized::{GgmlDType, QTensor, gguf_file};
use serde::{Deserialize, Serialize};

use crate::gemma3::{Gemma3Config, Target, open_gguf, read_f32, transpose};
use crate::lora::Adapters;

/// Encoding of the merged projections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum MergeDType {
    F32,
    F16,
    Q8_0,
}

impl MergeDType {
    fn ggml(self) -> GgmlDType {
        match self {
            MergeDType::F32 => GgmlDType::F32,
            MergeDType::F16 => GgmlDType::F16,
            MergeDType::Q8_0 => GgmlDType::Q8_0,
        }
    }
}

/// Writes `base` with `adapters` merged to `out` (atomically).
pub fn merge_into_gguf(
    base: &Path,
    adapters: &Adapters,
    dtype: MergeDType,
    out: &Path,
) -> anyhow::Result<()> {
    let (mut file, content) = open_gguf(base)?;
    let config = Gemma3Config::from_gguf(&content)?;
    if adapters.layers.len() != config.n_layers {
        bail!(
            "the adapters have {} layers, {} has {}",
            adapters.layers.len(),
            base.display(),
            config.n_layers
        );
    }
    let cpu = candle_core::Device::Cpu;
    let mut replaced: HashMap<String, QTensor> = HashMap::new();
    for layer in 0..config.n_layers {
        for target in Target::ALL {
            let Some(update) = adapters.update(layer, target) else {
                continue;
            };
            let name = format!("blk.{layer}.{}", target.gguf_name());
            let (dims, mut values) = read_f32(&content, &mut file, &name)?;
            let [d_out, d_in] = [dims[0], dims[1]];
            if update.dims() != [d_in, d_out] {
                bail!(
                    "adapter for {name} is {:?}, the weight is [{d_out}, {d_in}]",
                    update.dims()
                );
            }
            // update is [in, out]; the GGUF weight is [out, in].
            let update = update
                .into_data()
                .try_into_vec::<f32>()
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            for (w, u) in values.iter_mut().zip(transpose(&update, d_in, d_out)) {
                *w += u;
            }
            let tensor = candle_core::Tensor::from_vec(values, (d_out, d_in), &cpu)?;
            let q = QTensor::quantize(&tensor, dtype.ggml())
                .with_context(|| format!("encoding {name} as {dtype:?}"))?;
            replaced.insert(name, q);
        }
    }
    // Every tensor in file order: the merged ones, the rest as stored.
    let mut names: Vec<(&String, u64)> = content
        .tensor_infos
        .iter()
        .map(|(name, info)| (name, info.offset))
        .collect();
    names.sort_by_key(|&(_, offset)| offset);
    let mut tensors: Vec<(String, QTensor)> = Vec::with_capacity(names.len());
    for (name, _) in names {
        let tensor = match replaced.remove(name) {
            Some(t) => t,
            None => content
                .tensor(&mut file, name, &cpu)
                .with_context(|| format!("reading {name}"))?,
        };
        tensors.push((name.clone(), tensor));
    }
    // candle writes 32-byte alignment; a different stored value would misplace the data.
    let metadata: Vec<(&str, &gguf_file::Value)> = content
        .metadata
        .iter()
        .filter(|(k, _)| k.as_str() != "general.alignment")
        .map(|(k, v)| (k.as_str(), v))
        .collect();
    let tensor_refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let mut temp = signscope_fsio::temp_beside(out, ".gguf.tmp")
        .with_context(|| format!("cannot write beside {}", out.display()))?;
    {
        let mut writer = std::io::BufWriter::new(temp.as_file_mut());
        gguf_file::write(&mut writer, &metadata, &tensor_refs)
            .with_context(|| format!("writing {}", out.display()))?;
        writer.flush()?;
    }
    signscope_fsio::persist(temp, out)
        .with_context(|| format!("cannot write {}", out.display()))?;
    Ok(())
}

//! Model files: burnpack records written atomically, loaded with clear errors, and averaged.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, anyhow};
use burn::module::{ModuleMapper, ModuleVisitor, Param};
use burn::prelude::*;
use burn::store::ModuleRecord;
use burn::tensor::DType;
use burn::tensor::quantization::{QuantScheme, QuantStore, QuantValue, ScaleDtype};

/// Writes `bytes` to a temporary file beside `path`, syncs it, then renames it over `path`, so
/// a crash never leaves a half-written file under the final name.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating directory {}", dir.display()))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    tmp.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))?;
    // Temporary files are created owner-only; the result should read like any other file.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map(|m| m.permissions().mode())
            .unwrap_or(0o644);
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("setting permissions of {}", path.display()))?;
    }
    tmp.as_file()
        .sync_all()
        .with_context(|| format!("syncing {}", path.display()))?;
    tmp.persist(path).map_err(|e| {
        anyhow!(
            "renaming the temporary file to {}: {}",
            path.display(),
            e.error
        )
    })?;
    Ok(())
}

/// Saves the parameters (paths + ids + values) of `model`.
pub fn save_model<M: Module>(model: &M, path: &Path) -> anyhow::Result<()> {
    let bytes = model
        .clone()
        .into_record()
        .into_bytes()
        .map_err(|e| anyhow!("serializing model for {}: {e}", path.display()))?;
    write_atomic(path, &bytes)
}

/// Saves `model` with its float parameters stored as IEEE half precision: half the bytes,
/// for models committed to the repository. [`load_model`] widens them back to f32.
pub fn save_model_f16<M: Module>(model: &M, path: &Path) -> anyhow::Result<()> {
    save_model(&model.clone().map(&mut CastFloats(DType::F16)), path)
}

/// How a model file stores its float parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Storage {
    #[default]
    F32,
    /// [`save_model_f16`].
    F16,
    /// [`save_model_q8`].
    Q8,
}

/// [`save_model`], [`save_model_f16`] or [`save_model_q8`].
pub fn save_model_as<M: Module>(model: &M, path: &Path, storage: Storage) -> anyhow::Result<()> {
    match storage {
        Storage::F32 => save_model(model, path),
        Storage::F16 => save_model_f16(model, path),
        Storage::Q8 => save_model_q8(model, path),
    }
}

/// Values per int8 block of [`save_model_q8`], each block with its own f16 scale.
pub const Q8_BLOCK: usize = 32;

/// Saves `model` at about a quarter of its f32 size, for models committed to the repository:
/// every weight matrix (rank 2 or more, last dimension a multiple of [`Q8_BLOCK`]) as
/// symmetric 8-bit integers with one f16 scale per block of 32 consecutive values, the
/// other parameters (biases, norms) as f16. A value is off by at most half its block's step,
/// `max |block| / 254`. [`load_model`] dequantizes to f32.
pub fn save_model_q8<M: Module>(model: &M, path: &Path) -> anyhow::Result<()> {
    save_model(&model.clone().map(&mut QuantizeWeights), path)
}

/// Loads parameters saved by [`save_model`], [`save_model_f16`] or [`save_model_q8`] into
/// `template`, which must have the same architecture; a mismatch names the file and the
/// offending tensors. Half-precision and quantized parameters come back as f32, the element
/// type every computation here uses.
pub fn load_model<M: Module>(template: M, path: &Path) -> anyhow::Result<M> {
    let record = ModuleRecord::load(path)
        .map_err(|e| anyhow!("{}: cannot read model file: {e}", path.display()))?;
    let model = template.try_load_record(record).map_err(|e| {
        anyhow!(
            "{}: does not match the model architecture: {e}",
            path.display()
        )
    })?;
    Ok(model.map(&mut CastFloats(DType::F32)))
}

/// Re-stores every float parameter with the given element type (a no-op where it already
/// has it). The new tensor is a fresh leaf, so it must inherit the old one's gradient
/// tracking, or a model loaded from half-precision weights could not be trained further.
struct CastFloats(DType);

impl CastFloats {
    /// Quantized tensors are dequantized first.
    fn cast<const D: usize>(&self, tensor: Tensor<D>) -> Tensor<D> {
        let require_grad = tensor.is_require_grad();
        let tensor = if matches!(tensor.dtype(), DType::QFloat(_)) {
            tensor.dequantize().set_require_grad(require_grad)
        } else {
            tensor
        };
        if tensor.dtype() == self.0 {
            return tensor;
        }
        let device = tensor.device();
        let data = tensor.into_data().convert_dtype(self.0);
        Tensor::from_data(data, (&device, self.0)).set_require_grad(require_grad)
    }
}

impl ModuleMapper for CastFloats {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        param.map(|tensor| self.cast(tensor))
    }
}

/// [`save_model_q8`]'s storage: int8 blocks for weight matrices, f16 for the rest.
struct QuantizeWeights;

impl ModuleMapper for QuantizeWeights {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        param.map(|tensor| {
            let tensor = CastFloats(DType::F32).cast(tensor);
            let dims = tensor.dims();
            if D >= 2 && dims[D - 1].is_multiple_of(Q8_BLOCK) {
                let scheme = QuantScheme::default()
                    .with_value(QuantValue::Q8S)
                    .with_store(QuantStore::Native)
                    .per_block([Q8_BLOCK as u8], ScaleDtype::F16);
                tensor.quantize_dynamic(&scheme)
            } else {
                CastFloats(DType::F16).cast(tensor)
            }
        })
    }
}

#[derive(Default)]
struct ParamSums {
    sums: Vec<Vec<f64>>,
    next: usize,
}

impl ModuleVisitor for ParamSums {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let values = param
            .val()
            .into_data()
            .try_into_vec_as::<f32>()
            .expect("float parameter");
        if self.sums.len() <= self.next {
            self.sums.push(vec![0.0; values.len()]);
        }
        for (s, v) in self.sums[self.next].iter_mut().zip(values) {
            *s += v as f64;
        }
        self.next += 1;
    }
}

struct ParamAssign {
    values: std::vec::IntoIter<Vec<f64>>,
    divisor: f64,
}

impl ModuleMapper for ParamAssign {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let sums = self.values.next().expect("same parameter count");
        let divisor = self.divisor;
        param.map(|tensor| {
            let shape = tensor.shape();
            let mean: Vec<f32> = sums.iter().map(|s| (s / divisor) as f32).collect();
            Tensor::from_data(TensorData::new(mean, shape), &tensor.device())
        })
    }
}

/// Element-wise mean of the parameters stored in `paths` (Vaswani et al. 2017 average the
/// last checkpoints), loaded into `template`'s architecture.
pub fn average_models<M: Module>(template: M, paths: &[impl AsRef<Path>]) -> anyhow::Result<M> {
    anyhow::ensure!(!paths.is_empty(), "no checkpoints to average");
    let mut sums = ParamSums::default();
    for path in paths {
        let model = load_model(template.clone(), path.as_ref())?;
        sums.next = 0;
        model.visit(&mut sums);
    }
    let mut assign = ParamAssign {
        values: sums.sums.into_iter(),
        divisor: paths.len() as f64,
    };
    Ok(template.map(&mut assign))
}

//! Shared neural-network building blocks for signscope, on burn 0.22: the Flex CPU backend,
//! and burn's CUDA backend for training when built with the `cuda` feature.
//!
//! - [`seq2seq`]: a pre-LN transformer encoder-decoder with incremental decoding
//! - [`loss`]: label-smoothed cross-entropy with padding masked
//! - [`search`]: batched greedy and beam search with a GNMT length penalty
//! - [`vocab`]: token vocabularies with joeynmt's special tokens
//! - [`train`]: a resumable training loop (AdamW, schedules, clipping, checkpoints, averaging)
//! - [`plot`]: loss / dev-score curves as SVG
//! - [`checkpoint`]: atomic model files and checkpoint averaging
//! - [`fused`]: layer normalization and softmax as single autodiff operations on the CPU
//! - [`config`]: the `[model]` and `[training]` TOML sections

pub mod alloc;
pub mod checkpoint;
pub mod config;
pub mod dropout;
pub mod encoder;
pub mod fused;
pub mod linear;
pub mod loss;
pub mod plot;
pub mod search;
pub mod seq2seq;
pub mod train;
pub mod vocab;

pub use burn;

/// The CPU device used for inference: burn's pure-Rust Flex backend. Its matrix kernels pick
/// AVX-512 / AVX2+FMA / scalar code at run time (the `x86-v4` feature only compiles the
/// AVX-512 variant in), so binaries run on any x86-64 CPU.
pub fn cpu_device() -> burn::tensor::Device {
    burn::tensor::Device::flex()
}

/// [`accelerator_device`] with gradient recording: the device every training loop runs on.
pub fn training_device() -> burn::tensor::Device {
    accelerator_device().autodiff()
}

/// Which backend training runs on: `--device` of the train commands, else the environment
/// variable `SIGNSCOPE_DEVICE` (`auto`, `cpu` or `cuda`), else `auto`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accelerator {
    /// CUDA when this build has it and a CUDA device is present, else the CPU.
    Auto,
    Cpu,
    Cuda,
}

impl std::str::FromStr for Accelerator {
    type Err = anyhow::Error;

    fn from_str(name: &str) -> anyhow::Result<Self> {
        match name.to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "cuda" | "gpu" => Ok(Self::Cuda),
            other => anyhow::bail!("unknown device {other:?}: expected auto, cpu or cuda"),
        }
    }
}

static CHOSEN_ACCELERATOR: std::sync::OnceLock<Accelerator> = std::sync::OnceLock::new();
type Resolved = Result<(burn::tensor::Device, &'static str), String>;
static RESOLVED_DEVICE: std::sync::OnceLock<Resolved> = std::sync::OnceLock::new();

/// Chooses the training backend for this process (the train commands' `--device`). Checks at
/// once that the choice can be honoured, so a CUDA request on a machine or build without
/// CUDA fails before any data is read. Call before the first [`training_device`].
pub fn select_accelerator(choice: Accelerator) -> anyhow::Result<&'static str> {
    if CHOSEN_ACCELERATOR.set(choice).is_err() && CHOSEN_ACCELERATOR.get() != Some(&choice) {
        anyhow::bail!("the training device was already chosen for this process");
    }
    training_accelerator()
}

/// The chosen backend's device without gradient recording.
///
/// # Panics
/// When `cuda` was asked for (by `SIGNSCOPE_DEVICE`) and cannot be had; the CLI checks this
/// first through [`select_accelerator`], which returns the error instead.
pub fn accelerator_device() -> burn::tensor::Device {
    match try_accelerator_device() {
        Ok((device, _)) => device,
        Err(message) => panic!("{message}"),
    }
}

/// "cuda" or "cpu": what [`training_device`] runs on, or why the requested one is unavailable.
pub fn training_accelerator() -> anyhow::Result<&'static str> {
    try_accelerator_device().map(|(_, name)| name)
}

fn try_accelerator_device() -> anyhow::Result<(burn::tensor::Device, &'static str)> {
    let resolved = RESOLVED_DEVICE.get_or_init(|| {
        let choice = match CHOSEN_ACCELERATOR.get() {
            Some(choice) => Ok(*choice),
            None => match std::env::var("SIGNSCOPE_DEVICE") {
                Ok(name) => name
                    .parse::<Accelerator>()
                    .map_err(|e| format!("SIGNSCOPE_DEVICE: {e}")),
                Err(_) => Ok(Accelerator::Auto),
            },
        };
        choice.and_then(resolve_accelerator)
    });
    resolved.clone().map_err(anyhow::Error::msg)
}

fn resolve_accelerator(choice: Accelerator) -> Resolved {
    let cpu = || (cpu_device(), "cpu");
    match choice {
        Accelerator::Cpu => Ok(cpu()),
        Accelerator::Auto => Ok(cuda_device().map_or_else(|_| cpu(), |d| (d, "cuda"))),
        Accelerator::Cuda => cuda_device().map(|d| (d, "cuda")),
    }
}

#[cfg(feature = "cuda")]
fn cuda_device() -> Result<burn::tensor::Device, String> {
    // SAFETY: only tries to dlopen the driver library under its usual names.
    if !unsafe { cudarc::driver::sys::is_culib_present() } {
        return Err("CUDA was asked for, but no CUDA driver (libcuda) was found".into());
    }
    match cudarc::driver::CudaContext::device_count() {
        Ok(n) if n > 0 => Ok(burn::tensor::Device::cuda(0)),
        Ok(_) => Err("CUDA was asked for, but the driver reports no CUDA device".into()),
        Err(e) => Err(format!("CUDA was asked for, but the driver failed: {e}")),
    }
}

#[cfg(not(feature = "cuda"))]
fn cuda_device() -> Result<burn::tensor::Device, String> {
    Err(
        "CUDA was asked for, but this build has no CUDA backend: rebuild with \
         `cargo build --release -p signscope --features cuda`"
            .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names_parse_and_unknown_ones_are_refused() {
        assert_eq!("auto".parse::<Accelerator>().unwrap(), Accelerator::Auto);
        assert_eq!("CPU".parse::<Accelerator>().unwrap(), Accelerator::Cpu);
        assert_eq!("cuda".parse::<Accelerator>().unwrap(), Accelerator::Cuda);
        let err = "tpu".parse::<Accelerator>().unwrap_err().to_string();
        assert!(
            err.contains("\"tpu\"") && err.contains("auto, cpu or cuda"),
            "{err}"
        );
    }

    #[test]
    fn cpu_is_always_available_and_auto_falls_back_to_it() {
        assert_eq!(resolve_accelerator(Accelerator::Cpu).unwrap().1, "cpu");
        let auto = resolve_accelerator(Accelerator::Auto).unwrap().1;
        let cuda = resolve_accelerator(Accelerator::Cuda);
        // auto picks CUDA exactly when an explicit CUDA request would succeed.
        assert_eq!(auto == "cuda", cuda.is_ok(), "auto {auto}, cuda {cuda:?}");
        if cfg!(not(feature = "cuda")) {
            let err = cuda.unwrap_err();
            assert!(err.contains("--features cuda"), "{err}");
        }
    }
}

//! `signscope train lora CONFIG [--resume]`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use signscope_corpus::manifest::Split;
use signscope_nn::checkpoint::{Storage, load_model, save_model_as};
use signscope_nn::train::{best_model_path, train};

use crate::finetune::{FinetuneConfig, FinetuneTask, load_sequences, merged_model_path};
use crate::gemma3::{Gemma3, Gemma3Config};
use crate::lora::{Adapters, LoraConfig};
use crate::merge::{MergeDType, merge_into_gguf};

/// Fine-tune the local Gemma 3 with LoRA adapters on gloss → text pairs; writes
/// RUN/model.gguf (best dev checkpoint merged) for `signscope translate --backend gguf`.
#[derive(Debug, Clone, clap::Args)]
pub struct TrainLoraArgs {
    /// TOML configuration (see crates/lora/configs/).
    pub config: PathBuf,
    /// Continue the run in training.run_dir from its newest checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Folder holding the corpus folders (default: data.data_dir, $SIGNSCOPE_SHARED/data,
    /// ../shared/data).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    #[arg(long)]
    pub run_dir: Option<PathBuf>,
    #[arg(long)]
    pub max_steps: Option<usize>,
    /// Encoding of the merged projections in model.gguf.
    #[arg(long, value_enum, default_value_t = MergeDType::Q8_0)]
    pub merge_dtype: MergeDType,
}

/// Fold trained LoRA adapters into their base GGUF: a run folder of `signscope train lora`
/// (its best dev checkpoint) or a folder with config.toml + adapters.bpk (as committed under
/// models/).
#[derive(Debug, Clone, clap::Args)]
pub struct MergeLoraArgs {
    /// Run folder or adapter folder.
    pub adapters: PathBuf,
    /// The GGUF file to write (atomically).
    #[arg(long)]
    pub out: PathBuf,
    /// The base model (default: model.gguf of the folder's config.toml).
    #[arg(long)]
    pub gguf: Option<String>,
    #[arg(long, value_enum, default_value_t = MergeDType::Q8_0)]
    pub dtype: MergeDType,
}

/// Rescore the n-best lists of `signscope eval slt --nbest-out` with a LoRA-tuned LLM and
/// choose weights for it by cross-validation (see `signscope_lora::nbest`).
#[derive(Debug, Clone, clap::Args)]
pub struct RescoreNbestArgs {
    /// N-best file of `signscope eval slt --nbest-out` (written with --rerank, so candidates
    /// carry reconstruction scores), or one this command wrote (then no --adapters needed).
    pub nbest: PathBuf,
    /// Adapter folder (e.g. models/csl_daily_gemma3_lora, or a `signscope train lora` run):
    /// adds every candidate's LLM log-probability. Without it the file must carry them.
    #[arg(long, requires = "out")]
    pub adapters: Option<PathBuf>,
    /// Where the n-best lines with the LLM scores are written (with --adapters).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write the cross-validated selection's translations here, one per line (e.g. for
    /// `signscope score --compare`).
    #[arg(long)]
    pub hyp_out: Option<PathBuf>,
}

pub fn run_rescore_nbest(args: RescoreNbestArgs) -> anyhow::Result<()> {
    use crate::nbest::{add_llm_scores, read_nbest, sweep};
    let mut lines = read_nbest(&args.nbest)?;
    if lines.is_empty() {
        anyhow::bail!("{}: no n-best lines", args.nbest.display());
    }
    match (&args.adapters, &args.out) {
        (Some(adapters), Some(out)) => {
            let scorer = crate::rescore::LlmScorer::load(adapters)?;
            add_llm_scores(&scorer, &mut lines, &args.nbest)?;
            let mut text = String::new();
            for line in &lines {
                text.push_str(&serde_json::to_string(line)?);
                text.push('\n');
            }
            signscope_fsio::write_atomic(out, text.as_bytes())
                .with_context(|| format!("writing {}", out.display()))?;
            eprintln!("wrote {}", out.display());
        }
        _ => {
            let scored = lines.iter().any(|line| {
                line["candidates"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|c| c.get("llm_log_prob").is_some()))
            });
            if !scored {
                anyhow::bail!(
                    "{}: no candidate has an LLM score (llm_log_prob); give --adapters DIR --out FILE to add them",
                    args.nbest.display()
                );
            }
        }
    }
    let result = sweep(&lines);
    for (w, bleu4, rouge_l) in &result.each {
        println!("{w}: BLEU-4 {bleu4:.2} ROUGE-L {rouge_l:.2}");
    }
    println!(
        "2-fold cross-validation (even sentences: {}; odd: {}): BLEU-4 {:.2} ROUGE-L {:.2} ({} sentences)",
        result.fold_weights[0],
        result.fold_weights[1],
        result.bleu4,
        result.rouge_l,
        lines.len()
    );
    if let Some(path) = &args.hyp_out {
        let mut text = result.texts(&lines).join("\n");
        text.push('\n');
        signscope_fsio::write_atomic(path, text.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// The parameters file of an adapter folder: adapters.bpk (exported) or best.bpk (a run).
pub fn adapter_file(dir: &Path) -> anyhow::Result<PathBuf> {
    let exported = dir.join("adapters.bpk");
    if exported.is_file() {
        return Ok(exported);
    }
    let best = best_model_path(dir);
    if best.is_file() {
        return Ok(best);
    }
    anyhow::bail!(
        "{}: neither adapters.bpk nor best.bpk (is this a `signscope train lora` run folder?)",
        dir.display()
    )
}

/// Whether `dir` holds LoRA adapters: a config.toml with a `[lora]` table (a run folder of
/// `signscope train lora`, or an exported adapter folder) and a parameters file. Run folders
/// of `signscope train slt` also hold config.toml + best.bpk, hence the `[lora]` check.
pub fn is_adapter_folder(dir: &Path) -> bool {
    if !dir.is_dir() || adapter_file(dir).is_err() {
        return false;
    }
    std::fs::read_to_string(dir.join("config.toml"))
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok())
        .is_some_and(|table| table.contains_key("lora"))
}

/// Prepares `signscope translate --backend gguf --model DIR` for an adapter folder: the
/// adapters are merged once into their base model (cached in the system's temp folder under
/// a key of the adapter bytes, the base file and its size), `--model` is pointed at the merged
/// file, and `--language` defaults to the one the adapters were trained with. A `--model`
/// that is not an adapter folder is left as it is.
pub fn prepare_translation(args: &mut signscope_llm::cli::Args) -> anyhow::Result<()> {
    let Some(dir) = args.model.as_deref().map(PathBuf::from) else {
        return Ok(());
    };
    if !is_adapter_folder(&dir) {
        return Ok(());
    }
    let config = FinetuneConfig::load(&dir.join("config.toml"))?;
    if args.language.is_none() {
        args.language = config.model.language.clone();
    }
    if args.few_shot.is_some() && args.shots > 0 {
        eprintln!(
            "note: {} was trained on prompts without worked examples; --few-shot changes the prompt it sees",
            dir.display()
        );
    }
    let merged = cached_merge(&dir, &config)?;
    args.model = Some(merged.to_string_lossy().into_owned());
    Ok(())
}

pub(crate) fn cached_merge(dir: &Path, config: &FinetuneConfig) -> anyhow::Result<PathBuf> {
    // A run folder already holds its merged best checkpoint.
    let run_merged = merged_model_path(dir);
    let parameters = adapter_file(dir)?;
    if parameters == best_model_path(dir) && run_merged.is_file() {
        return Ok(run_merged);
    }
    let gguf = base_gguf(&config.model.gguf)?;
    let bytes =
        std::fs::read(&parameters).with_context(|| format!("reading {}", parameters.display()))?;
    let base_len = std::fs::metadata(&gguf)
        .with_context(|| format!("reading {}", gguf.display()))?
        .len();
    let key = fnv1a(&[
        &bytes,
        gguf.to_string_lossy().as_bytes(),
        &base_len.to_le_bytes(),
    ]);
    let cache = std::env::temp_dir().join("signscope-lora");
    std::fs::create_dir_all(&cache).with_context(|| format!("creating {}", cache.display()))?;
    let out = cache.join(format!("{key:016x}.gguf"));
    if !out.is_file() {
        eprintln!("merging {} into {} …", dir.display(), gguf.display());
        merge_adapter_file(&config.lora, &parameters, &gguf, MergeDType::Q8_0, &out)?;
    }
    Ok(out)
}

/// The base model file named by a config's `model.gguf` (an asset name such as "gemma3", a
/// folder or a file).
pub(crate) fn base_gguf(spec: &str) -> anyhow::Result<PathBuf> {
    Ok(signscope_llm::gguf::find_gguf(
        &signscope_llm::assets::resolve_model(spec)?,
    )?)
}

/// The adapters stored in `parameters` (trained with `lora`), on the CPU; their shapes come
/// from the base model `gguf` they were trained on.
fn load_adapter_file(
    lora: &LoraConfig,
    parameters: &Path,
    gguf: &Path,
) -> anyhow::Result<Adapters> {
    let template = Adapters::new(
        &Gemma3Config::read(gguf)?,
        lora,
        &signscope_nn::cpu_device(),
    );
    load_model(template, parameters)
}

/// Merges the adapters stored in `parameters` (trained with `lora`) into `gguf`, writing
/// `out` atomically.
fn merge_adapter_file(
    lora: &LoraConfig,
    parameters: &Path,
    gguf: &Path,
    dtype: MergeDType,
    out: &Path,
) -> anyhow::Result<()> {
    let adapters = load_adapter_file(lora, parameters, gguf)?;
    merge_into_gguf(gguf, &adapters, dtype, out)
}

/// 64-bit FNV-1a over the parts in order: a cache key, not a checksum against tampering.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for part in parts {
        for &byte in *part {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        hash ^= 0xff; // marks the boundary, so ("ab", "c") and ("a", "bc") differ
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// `signscope export` for an adapter folder (see [`is_adapter_folder`]): writes `out` with
/// its config.toml and the adapters (a run's best dev checkpoint) as `adapters.bpk` in the
/// given storage, the form committed under models/. Returns the size of adapters.bpk.
pub fn export_adapters(dir: &Path, out: &Path, storage: Storage) -> anyhow::Result<u64> {
    let config_path = dir.join("config.toml");
    let config_text = std::fs::read_to_string(&config_path)
        .with_context(|| format!("reading {}", config_path.display()))?;
    let config = FinetuneConfig::parse(&config_text, &config_path)?;
    let adapters = load_adapter_file(
        &config.lora,
        &adapter_file(dir)?,
        &base_gguf(&config.model.gguf)?,
    )?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    signscope_fsio::write_atomic(out.join("config.toml"), config_text.as_bytes())
        .with_context(|| format!("writing {}/config.toml", out.display()))?;
    let parameters = out.join("adapters.bpk");
    save_model_as(&adapters, &parameters, storage)?;
    Ok(std::fs::metadata(&parameters)
        .with_context(|| format!("reading {}", parameters.display()))?
        .len())
}

pub fn run_merge(args: MergeLoraArgs) -> anyhow::Result<()> {
    let config = FinetuneConfig::load(&args.adapters.join("config.toml"))?;
    let spec = args.gguf.as_deref().unwrap_or(&config.model.gguf);
    let gguf = base_gguf(spec)?;
    let parameters = adapter_file(&args.adapters)?;
    merge_adapter_file(&config.lora, &parameters, &gguf, args.dtype, &args.out)?;
    println!("wrote {}", args.out.display());
    Ok(())
}

pub fn run_train(args: TrainLoraArgs) -> anyhow::Result<()> {
    let mut config = FinetuneConfig::load(&args.config)?;
    if let Some(steps) = args.max_steps {
        config.training.max_steps = steps;
    }
    if let Some(dir) = &args.data_dir {
        config.data.data_dir = Some(dir.clone());
    }
    let run_dir = args
        .run_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(&config.training.run_dir));
    let gguf = base_gguf(&config.model.gguf)?;
    Gemma3Config::read(&gguf)?;
    let best = train_run(&config, &gguf, &run_dir, args.resume)?;
    let out = merged_model_path(&run_dir);
    let parameters = best_model_path(&run_dir);
    merge_adapter_file(&config.lora, &parameters, &gguf, args.merge_dtype, &out)?;
    println!("best dev (step {}): {}", best.step, best.evaluation.summary);
    println!("wrote {}", out.display());
    Ok(())
}

fn train_run(
    config: &FinetuneConfig,
    gguf: &Path,
    run_dir: &Path,
    resume: bool,
) -> anyhow::Result<signscope_nn::train::EvalRecord> {
    let tokenizer = crate::finetune::load_tokenizer(gguf)?;
    let (train_set, skipped) = load_sequences(config, &tokenizer, Split::Train)?;
    let (mut dev_set, _) = load_sequences(config, &tokenizer, Split::Dev)?;
    if config.training.eval_max_sentences > 0 {
        dev_set.truncate(config.training.eval_max_sentences);
    }
    let longest = train_set
        .iter()
        .chain(&dev_set)
        .map(|s| s.len())
        .max()
        .unwrap_or(1);
    let mut lengths: Vec<usize> = train_set.iter().map(|s| s.len()).collect();
    lengths.sort_unstable();
    eprintln!(
        "{} training sequences ({} longer than {} tokens skipped; median {} tokens, longest {}), {} dev",
        train_set.len(),
        skipped,
        config.model.max_tokens,
        lengths.get(lengths.len() / 2).copied().unwrap_or(0),
        longest,
        dev_set.len()
    );
    let train_device = signscope_nn::training_device();
    let base_train = Gemma3::load(gguf, &train_device, longest)?;
    let base_eval = base_train.to_device(&signscope_nn::cpu_device());
    let model_config = base_train.config.clone();
    let adapters = {
        train_device.seed(config.training.seed);
        Adapters::new(&model_config, &config.lora, &train_device)
    };
    eprintln!(
        "{}: {} layers, d {}, vocab {}; LoRA r {} α {} on {:?}: {} trainable values",
        gguf.display(),
        model_config.n_layers,
        model_config.d_model,
        model_config.vocab_size,
        config.lora.rank,
        config.lora.alpha,
        config.lora.targets,
        adapters.trainable_parameters()
    );
    std::fs::create_dir_all(run_dir).with_context(|| format!("creating {}", run_dir.display()))?;
    signscope_fsio::write_atomic(run_dir.join("config.toml"), config.to_toml().as_bytes())
        .with_context(|| format!("writing {}/config.toml", run_dir.display()))?;
    let mut task = FinetuneTask {
        base_train,
        base_eval,
        train: train_set,
        dev: dev_set,
        batch_size: config.training.batch_size,
        eval_batch_size: config.training.batch_size,
        label_smoothing: config.training.label_smoothing,
    };
    let report = train(
        &mut task,
        adapters,
        &config.training,
        model_config.d_model,
        run_dir,
        resume,
    )?;
    eprintln!("{:.2} s/step", report.seconds_per_step);
    report
        .state
        .best
        .context("training ended without a dev evaluation")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Translate {
        #[command(flatten)]
        llm: signscope_llm::cli::Args,
    }

    const LORA_CONFIG: &str = include_str!("../configs/phoenix2014t_gemma3.toml");

    #[test]
    fn adapter_folders_need_a_lora_config_and_parameters() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path();
        std::fs::write(path.join("config.toml"), LORA_CONFIG).unwrap();
        assert!(!is_adapter_folder(path), "no parameters yet");
        std::fs::write(path.join("adapters.bpk"), b"").unwrap();
        assert!(is_adapter_folder(path));
        assert_eq!(adapter_file(path).unwrap(), path.join("adapters.bpk"));

        // A seq2seq run folder has config.toml + best.bpk too, without [lora].
        let slt = tempfile::tempdir().unwrap();
        std::fs::write(
            slt.path().join("config.toml"),
            "[data]\ndataset = \"phoenix2014t\"\n[model]\nlayers = 2\n",
        )
        .unwrap();
        std::fs::write(best_model_path(slt.path()), b"").unwrap();
        assert!(!is_adapter_folder(slt.path()));
        let err = adapter_file(tempfile::tempdir().unwrap().path()).unwrap_err();
        assert!(err.to_string().contains("adapters.bpk"), "{err}");
    }

    #[test]
    fn other_models_pass_through_unchanged() {
        let slt = tempfile::tempdir().unwrap();
        std::fs::write(slt.path().join("config.toml"), "[model]\n").unwrap();
        let slt_dir = slt.path().to_string_lossy().into_owned();
        for model in ["gemma3", "model.gguf", slt_dir.as_str()] {
            let mut args = Translate::parse_from(["t", "--model", model]).llm;
            prepare_translation(&mut args).unwrap();
            assert_eq!(args.model.as_deref(), Some(model));
            assert_eq!(args.language, None);
        }
        let mut args = Translate::parse_from(["t"]).llm;
        prepare_translation(&mut args).unwrap();
        assert_eq!(args.model, None);
    }

    #[test]
    fn cache_keys_separate_their_parts() {
        assert_ne!(fnv1a(&[b"ab", b"c"]), fnv1a(&[b"a", b"bc"]));
        assert_ne!(fnv1a(&[b"x"]), fnv1a(&[b"y"]));
        assert_eq!(fnv1a(&[b"same"]), fnv1a(&[b"same"]));
    }
}

//! Entry points wired by the `signscope` binary as `signscope train slr`, `signscope eval slr`
//! and `signscope recognize`; the example `slr` exposes them as [`SlrCommand`].

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use signscope_corpus::manifest::Split;

use crate::config::{EmbeddingConfig, SlrConfig, SplitFilter};
use crate::context::{HashedBagOfWords, SentenceEmbedder};
use crate::data::{EmbeddingTable, load_utterances, texts_of};
use crate::eval::{EvalReport, Recognizer};
use crate::train::{reuse_stage1, train};

/// Builds the sentence embedder a config names (the binary supplies the real models).
pub type EmbedderFactory<'a> =
    &'a dyn Fn(&EmbeddingConfig) -> anyhow::Result<Box<dyn SentenceEmbedder>>;

/// `hashed` is built here; every other backend comes from `factory`.
pub fn build_embedder(
    config: &EmbeddingConfig,
    factory: EmbedderFactory,
) -> anyhow::Result<Box<dyn SentenceEmbedder>> {
    if config.backend == "hashed" {
        anyhow::ensure!(config.size > 0, "[embedding] size must be positive");
        return Ok(Box::new(HashedBagOfWords { size: config.size }));
    }
    factory(config)
}

/// SCOPE sign language recognition: keypoints (+ earlier dialogue turns) → glosses.
#[derive(Debug, Subcommand)]
pub enum SlrCommand {
    /// Train both stages from a TOML config (see crates/slr/configs/).
    Train(TrainArgs),
    /// WER of a trained recognizer on a manifest, with and/or without dialogue context.
    Eval(EvalArgs),
    /// Recognize glosses in pose files (top-k hypotheses for the translator).
    Recognize(RecognizeArgs),
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// The training config (TOML), e.g. crates/slr/configs/dialogue.toml.
    pub config: PathBuf,
    /// Output folder (overrides `run_dir` in the config).
    #[arg(long)]
    pub run_dir: Option<PathBuf>,
    /// Continue an interrupted run in the same folder.
    #[arg(long)]
    pub resume: bool,
    /// Override a config value, `section.key=value` in TOML syntax (repeat), e.g.
    /// `--set data.use_context=false --set loss.mwer_weight=0`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// Start from the finished stage 1 of another run (same model, features, augmentation,
    /// embedding and training data) and train only stage 2: ablations of stage 2 then share
    /// one stage 1.
    #[arg(long, value_name = "RUN", conflicts_with = "resume")]
    pub stage1_from: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ContextMode {
    /// Earlier turns fed to the gloss encoder.
    With,
    /// Every context slot masked (the context-free model).
    Without,
    /// Both, and the difference.
    Both,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Run folder written by `slr train`.
    #[arg(long, short)]
    pub model: PathBuf,
    /// Manifest to score (JSONL with pose, glosses, context).
    #[arg(long)]
    pub manifest: PathBuf,
    /// Which records of the manifest.
    #[arg(long, value_enum, default_value = "dev")]
    pub split: SplitArg,
    #[arg(long, value_enum, default_value = "both")]
    pub context: ContextMode,
    /// Prefix beam width (1 = greedy).
    #[arg(long, default_value_t = 8)]
    pub beam: usize,
    /// Write "id<TAB>hypothesis<TAB>reference" lines here (the first context mode evaluated).
    #[arg(long)]
    pub hyp_out: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SplitArg {
    Train,
    Dev,
    Test,
    All,
}

impl From<SplitArg> for Option<Split> {
    fn from(s: SplitArg) -> Self {
        match s {
            SplitArg::Train => SplitFilter::Train.split(),
            SplitArg::Dev => SplitFilter::Dev.split(),
            SplitArg::Test => SplitFilter::Test.split(),
            SplitArg::All => None,
        }
    }
}

#[derive(Debug, Args)]
pub struct RecognizeArgs {
    /// Run folder written by `slr train`.
    #[arg(long, short)]
    pub model: PathBuf,
    /// Pose files (.pose, or any format `signscope pose convert` reads).
    #[arg(required = true)]
    pub poses: Vec<PathBuf>,
    /// Text of an earlier turn, oldest first (repeat).
    #[arg(long = "context")]
    pub context: Vec<String>,
    /// Hypotheses to print (SCOPE passes the top 3 to the translator).
    #[arg(long, default_value_t = 3)]
    pub top_k: usize,
    #[arg(long, default_value_t = 8)]
    pub beam: usize,
    /// One JSON object per file.
    #[arg(long)]
    pub json: bool,
}

pub fn run(command: SlrCommand, factory: EmbedderFactory) -> anyhow::Result<()> {
    match command {
        SlrCommand::Train(args) => run_train(args, factory),
        SlrCommand::Eval(args) => run_eval(args, factory),
        SlrCommand::Recognize(args) => run_recognize(args, factory),
    }
}

fn run_train(args: TrainArgs, factory: EmbedderFactory) -> anyhow::Result<()> {
    let mut config = SlrConfig::load_with(&args.config, &args.overrides)?;
    if let Some(dir) = args.run_dir {
        config.run_dir = dir;
    }
    let embedder = build_embedder(&config.embedding, factory)?;
    config.model.embedding_size = embedder.size();
    let mut resume = args.resume;
    if let Some(from) = &args.stage1_from {
        reuse_stage1(from, &config)?;
        resume = true;
    }
    let outcome = train(config, embedder.as_ref(), resume)?;
    println!(
        "model: {}",
        outcome.run_dir.join(crate::train::MODEL_FILE).display()
    );
    println!(
        "dev ({} checkpoint): {}",
        outcome.chosen,
        outcome.dev.summary()
    );
    Ok(())
}

fn run_eval(args: EvalArgs, factory: EmbedderFactory) -> anyhow::Result<()> {
    let recognizer = Recognizer::load(&args.model, None)?;
    let embedder = build_embedder(&recognizer.config.embedding, factory)?;
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let utterances = load_utterances(
        &args.manifest,
        args.split.into(),
        &recognizer.config.features,
        threads,
    )?;
    let embeddings = EmbeddingTable::build(embedder.as_ref(), texts_of(&utterances))?;
    let modes: &[bool] = match args.context {
        ContextMode::With => &[true],
        ContextMode::Without => &[false],
        ContextMode::Both => &[true, false],
    };
    let mut reports: Vec<EvalReport> = Vec::new();
    for &with_context in modes {
        reports.push(recognizer.evaluate(&utterances, &embeddings, with_context, args.beam)?);
    }
    if let Some(path) = &args.hyp_out {
        let mut text = String::new();
        for (id, hyp, reference) in &reports[0].hypotheses {
            text.push_str(&format!("{id}\t{hyp}\t{reference}\n"));
        }
        signscope_fsio::write_atomic(path, text.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    } else {
        for r in &reports {
            println!("{}", r.summary());
        }
        if reports.len() == 2 {
            println!(
                "context changes WER by {:+.2} points",
                reports[0].wer - reports[1].wer
            );
        }
    }
    Ok(())
}

fn run_recognize(args: RecognizeArgs, factory: EmbedderFactory) -> anyhow::Result<()> {
    let recognizer = Recognizer::load(&args.model, None)?;
    let embedder = build_embedder(&recognizer.config.embedding, factory)?;
    for path in &args.poses {
        let pose = signscope_pose::read_any(path, &Default::default())
            .with_context(|| format!("reading {}", path.display()))?;
        let results = recognizer
            .recognize(
                &pose,
                &args.context,
                embedder.as_ref(),
                args.beam,
                args.top_k,
            )
            .with_context(|| format!("recognizing {}", path.display()))?;
        if args.json {
            println!(
                "{}",
                serde_json::json!({ "file": path, "hypotheses": results })
            );
        } else {
            println!("{}", path.display());
            for (rank, r) in results.iter().enumerate() {
                println!(
                    "  {}. {}  (log p = {:.2})",
                    rank + 1,
                    r.glosses.join(" "),
                    r.log_prob
                );
            }
        }
    }
    Ok(())
}

//! The `signscope` command line: a thin layer over the library crates, each of
//! which owns the clap types of its own subcommands.

use clap::{Parser, Subcommand};
use signscope_slr::cli::SlrCommand;
use signscope_slt::config::Direction;

mod demo;
mod embedders;
mod translate;

/// Training's allocator: `signscope_nn::alloc` says why.
#[global_allocator]
static ALLOCATOR: signscope_nn::alloc::MiMalloc = signscope_nn::alloc::MiMalloc;

/// signscope: sign language processing on body keypoints.
///
/// Recognize signing (keypoints → glosses), translate it with the dialogue's context
/// (glosses + earlier turns → text), and produce signing from text (text → glosses →
/// skeleton animation).
#[derive(Parser)]
#[command(version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the built-in demo: read the bundled .pose sample, normalize it as SCOPE does,
    /// print a summary and write a skeleton animation.
    Demo(demo::DemoArgs),
    /// Keypoint files: info, format conversion, layout conversion, rendering, SCOPE
    /// preprocessing.
    #[command(subcommand)]
    Pose(PoseCommand),
    /// Score hypotheses against references: WER, BLEU-1..4, ROUGE-L, CER as the papers do.
    Score(signscope_metrics::cli::ScoreArgs),
    /// Corpora: import annotations into manifests, vocabularies, dialogue-aware splits,
    /// annotation-cleaning confusion reports.
    #[command(subcommand)]
    Corpus(signscope_corpus::cli::CorpusCommand),
    /// Produce signing from text: text → glosses (lexicon, retrieval, fingerspelling) →
    /// joined, smoothed skeleton animation (.pose, GIF, SVG, MP4 with ffmpeg).
    Produce(signscope_slp::cli::ProduceArgs),
    /// Generate semi-synthetic signing: real gloss sequences (or a built-in dialogue
    /// grammar with topic-dependent homonyms) rendered as COCO-WholeBody-133 .pose files
    /// with generated motion, plus a manifest and a data card.
    Synth(signscope_synth::cli::SynthArgs),
    /// Sentence embeddings (MiniLM, multilingual-e5-small, or an OpenAI-compatible
    /// /v1/embeddings server), with an on-disk cache.
    Embed(signscope_embed::cli::EmbedArgs),
    /// Train a model from a TOML config: the SCOPE recognizer (slr), a gloss→text
    /// translator (slt), a text→gloss model for production (t2g), text correction, or LoRA
    /// adapters for the local LLM (lora).
    Train(TrainArgs),
    /// Score a trained model on a corpus split: recognizer WER with and without dialogue
    /// context (slr), translation BLEU/ROUGE (slt, t2g).
    #[command(subcommand)]
    Eval(EvalCommand),
    /// Recognize glosses in pose files with a trained SCOPE recognizer, given the earlier
    /// dialogue turns; prints the top-k hypotheses with their scores.
    Recognize(signscope_slr::cli::RecognizeArgs),
    /// Translate glosses (or the recognizer's top-k hypotheses) and the earlier dialogue
    /// turns to text: a trained seq2seq model, a local GGUF LLM or an OpenAI-compatible server.
    Translate(Box<translate::TranslateArgs>),
    /// Correct translated sentences with a text-correction model (`signscope train correct`).
    Correct(signscope_slt::cli::CorrectArgs),
    /// Fold LoRA adapters (`signscope train lora`) into their base GGUF model.
    MergeLora(signscope_lora::cli::MergeLoraArgs),
    /// Rescore the n-best lists of `eval slt --nbest-out` with a LoRA-tuned LLM as one more
    /// feature, the weights chosen by cross-validation.
    RescoreNbest(signscope_lora::cli::RescoreNbestArgs),
    /// Synthetic training pairs for a translator: the training split translated by trained
    /// gloss → text (forward) and text → gloss (back-translation) models, as a manifest for a
    /// config's `[data] extra_train`.
    Augment(signscope_slt::cli::AugmentArgs),
    /// Copy a trained translation model folder (or LoRA adapter run) without its
    /// checkpoints, optionally in half precision or 8-bit (how the models under models/ were
    /// made).
    Export(signscope_slt::cli::ExportArgs),
}

#[derive(clap::Args)]
struct TrainArgs {
    /// Backend to train on: auto (CUDA when this build has the `cuda` feature and a CUDA
    /// device is present, else the CPU), cpu, or cuda. Default: $SIGNSCOPE_DEVICE, else auto.
    #[arg(long, global = true)]
    device: Option<signscope_nn::Accelerator>,
    #[command(subcommand)]
    command: TrainCommand,
}

#[derive(Subcommand)]
enum TrainCommand {
    /// SCOPE recognizer: stage 1 embedding alignment, stage 2 gloss encoder (CTC + MWER).
    Slr(signscope_slr::cli::TrainArgs),
    /// Gloss→text transformer (a config with direction = "gloss_to_text").
    Slt(signscope_slt::cli::TrainSltArgs),
    /// Text→gloss transformer for production (a config with direction = "text_to_gloss").
    T2g(signscope_slt::cli::TrainSltArgs),
    /// SignMST-C's text-correction network (a config with direction = "text_correction"):
    /// learns to restore corpus sentences from copies with injected errors.
    Correct(signscope_slt::cli::TrainSltArgs),
    /// LoRA fine-tuning of the local Gemma 3 GGUF translator on gloss→text pairs; writes
    /// RUN/model.gguf for `signscope translate --backend gguf`.
    Lora(signscope_lora::cli::TrainLoraArgs),
}

#[derive(Subcommand)]
enum EvalCommand {
    /// Recognizer WER on a manifest, with and without context.
    Slr(signscope_slr::cli::EvalArgs),
    /// Gloss→text BLEU-1..4 and ROUGE-L on a split.
    Slt(signscope_slt::cli::EvalSltArgs),
    /// Text→gloss BLEU-1..4 and ROUGE-L on a split.
    T2g(signscope_slt::cli::EvalSltArgs),
}

/// `train slt` / `train t2g` name the direction: refuse a config that trains the other one.
fn check_direction(
    args: &signscope_slt::cli::TrainSltArgs,
    want: signscope_slt::config::Direction,
) -> anyhow::Result<()> {
    let config = signscope_slt::config::SltConfig::load(&args.config)?;
    anyhow::ensure!(
        config.data.direction == want,
        "{}: data.direction is {:?}, but this command trains {:?} (use `train slt` for gloss_to_text, `train t2g` for text_to_gloss, `train correct` for text_correction)",
        args.config.display(),
        config.data.direction,
        want
    );
    Ok(())
}

/// `produce --t2g DIR`: a trained text→gloss translator as the glosser. The corpora's text
/// side carries no punctuation (PHOENIX-2014T is lower-cased and tokenized), so punctuation
/// in the user's sentence is dropped before translation rather than fused onto words.
fn load_t2g(dir: &std::path::Path) -> anyhow::Result<signscope_slp::cli::GlossFn> {
    let translator = signscope_slt::Translator::load_expecting(dir, Direction::TextToGloss)?;
    Ok(Box::new(move |text: &str| {
        let cleaned: String = text
            .chars()
            .map(|c| if c.is_alphanumeric() { c } else { ' ' })
            .collect();
        if cleaned.trim().is_empty() {
            return Ok(Vec::new());
        }
        Ok(translator
            .translate(&cleaned)?
            .split_whitespace()
            .map(String::from)
            .collect())
    }))
}

/// `signscope pose …`: file-format commands and processing commands side by side.
#[derive(Subcommand)]
enum PoseCommand {
    #[command(flatten)]
    Format(signscope_pose::cli::PoseCommand),
    #[command(flatten)]
    Process(signscope_pose::cli_proc::ProcCommand),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Pose(PoseCommand::Format(cmd)) => signscope_pose::cli::run(cmd),
        Command::Pose(PoseCommand::Process(cmd)) => signscope_pose::cli_proc::run_proc(cmd),
        Command::Score(args) => signscope_metrics::cli::run(args),
        Command::Corpus(cmd) => signscope_corpus::cli::run(cmd),
        Command::Produce(args) => signscope_slp::cli::run_with(args, &load_t2g),
        Command::Synth(args) => signscope_synth::cli::run(args),
        Command::Embed(args) => signscope_embed::cli::run(args),
        Command::Train(TrainArgs { device, command }) => {
            signscope_nn::alloc::keep_freed_memory();
            let name = match device {
                Some(choice) => signscope_nn::select_accelerator(choice)?,
                None => signscope_nn::training_accelerator()?,
            };
            eprintln!("training on {name}");
            match command {
                TrainCommand::Slr(args) => {
                    signscope_slr::cli::run(SlrCommand::Train(args), &embedders::slr_embedder)
                }
                TrainCommand::Slt(args) => {
                    check_direction(&args, Direction::GlossToText)?;
                    signscope_slt::cli::run_train(args)
                }
                TrainCommand::T2g(args) => {
                    check_direction(&args, Direction::TextToGloss)?;
                    signscope_slt::cli::run_train(args)
                }
                TrainCommand::Correct(args) => {
                    check_direction(&args, Direction::TextCorrection)?;
                    signscope_slt::cli::run_train(args)
                }
                TrainCommand::Lora(args) => signscope_lora::cli::run_train(args),
            }
        }
        Command::MergeLora(args) => signscope_lora::cli::run_merge(args),
        Command::RescoreNbest(args) => signscope_lora::cli::run_rescore_nbest(args),
        Command::Eval(EvalCommand::Slr(args)) => {
            signscope_slr::cli::run(SlrCommand::Eval(args), &embedders::slr_embedder)
        }
        Command::Eval(EvalCommand::Slt(args) | EvalCommand::T2g(args)) => {
            signscope_slt::cli::run_eval(args, &signscope_lora::rescore::load_translation_scorer)
        }
        Command::Recognize(args) => {
            signscope_slr::cli::run(SlrCommand::Recognize(args), &embedders::slr_embedder)
        }
        Command::Translate(args) => translate::run(*args),
        Command::Correct(args) => signscope_slt::cli::run_correct(args),
        Command::Augment(args) => signscope_slt::cli::run_augment(args),
        Command::Export(args) if signscope_lora::cli::is_adapter_folder(&args.model) => {
            let written =
                signscope_lora::cli::export_adapters(&args.model, &args.out, args.storage())?;
            println!("{} ({:.1} MB)", args.out.display(), written as f64 / 1e6);
            Ok(())
        }
        Command::Export(args) => signscope_slt::cli::run_export(args),
    }
}

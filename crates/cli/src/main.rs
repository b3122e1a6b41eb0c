//! The `signscope` command line: a thin layer over the library crates, each of
//! which owns the clap types of its own subcommands.

use clap::{Parser, Subcommand};

mod demo;

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
    match Cli::parse().command {
        Command::Demo(args) => demo::run(args),
        Command::Pose(PoseCommand::Format(cmd)) => signscope_pose::cli::run(cmd),
        Command::Pose(PoseCommand::Process(cmd)) => signscope_pose::cli_proc::run_proc(cmd),
        Command::Score(args) => signscope_metrics::cli::run(args),
        Command::Corpus(cmd) => signscope_corpus::cli::run(cmd),
        Command::Produce(args) => signscope_slp::cli::run(args),
        Command::Synth(args) => signscope_synth::cli::run(args),
        Command::Embed(args) => signscope_embed::cli::run(args),
    }
}

//! `signscope synth`: generate a synthetic keypoint corpus.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use signscope_corpus::manifest::Split;

use crate::generate::{
    GlossSource, SynthOptions, default_data_dir, generate, plan, write_citation_lexicon,
};

/// Generate COCO-WholeBody-133 keypoint sequences (`.pose`) for real gloss sequences
/// (PHOENIX-2014T, CSL-Daily) or built-in dialogues, plus a JSONL manifest and a data card.
/// The motion is synthetic; the same arguments give the same bytes.
#[derive(Debug, Clone, Args)]
pub struct SynthArgs {
    /// Where the gloss sequences come from
    #[arg(long, value_enum, default_value = "phoenix2014t")]
    pub glosses: GlossSource,
    /// Shared data folder holding phoenix-2014t/ and csl-daily/
    /// [default: $SIGNSCOPE_SHARED/data, else ../shared/data beside the repository]
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Splits to generate, comma-separated (train, dev, test)
    #[arg(long, value_delimiter = ',', default_value = "train,dev")]
    pub splits: Vec<Split>,
    /// Output folder (created; gets manifest.jsonl, DATA_CARD.md and poses/<split>/)
    #[arg(long, short)]
    pub out: PathBuf,
    /// Number of virtual signers in the pool
    #[arg(long, default_value_t = 9)]
    pub signers: usize,
    /// Different signers per sentence (SCOPE records every text by four signers)
    #[arg(long, default_value_t = 1)]
    pub renderings: usize,
    /// Seed for prototypes, signers, dialogues and noise
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// At most N sentences (dialogue mode: dialogues) per split
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Frames per second (PHOENIX 25, CSL-Daily and SCOPE 30)
    #[arg(long, default_value_t = 25.0)]
    pub fps: f32,
    /// Image width in pixels of the virtual camera
    #[arg(long, default_value_t = 1280)]
    pub width: u16,
    /// Image height in pixels of the virtual camera
    #[arg(long, default_value_t = 720)]
    pub height: u16,
    /// Dialogue mode: dialogues to draw (then split 80/5/15 by dialogue)
    #[arg(long, default_value_t = 3000)]
    pub dialogues: usize,
    /// Worker threads (default: all cores)
    #[arg(long)]
    pub threads: Option<usize>,
    /// No progress bar
    #[arg(long)]
    pub quiet: bool,
    /// Also write a sign lexicon for `signscope produce --lexicon DIR`: every gloss of the
    /// selected splits in citation form, signed by the first signer (spoken-to-signed
    /// layout: index.csv + one .pose per gloss)
    #[arg(long, value_name = "DIR")]
    pub lexicon: Option<PathBuf>,
}

impl SynthArgs {
    pub fn options(&self) -> SynthOptions {
        SynthOptions {
            source: self.glosses,
            data_dir: self.data_dir.clone().unwrap_or_else(default_data_dir),
            splits: self.splits.clone(),
            out: self.out.clone(),
            signers: self.signers,
            renderings: self.renderings,
            seed: self.seed,
            limit: self.limit,
            fps: self.fps,
            width: self.width,
            height: self.height,
            dialogues: self.dialogues,
        }
    }
}

pub fn run(args: SynthArgs) -> anyhow::Result<()> {
    let options = args.options();
    let total = plan(&options)?.len();
    let work = || -> anyhow::Result<()> {
        let bar = if args.quiet {
            ProgressBar::hidden()
        } else {
            ProgressBar::new(total as u64)
        };
        bar.set_style(
            ProgressStyle::with_template("{spinner} synth [{elapsed_precise}] {wide_bar} {pos}/{len} utterances ({per_sec}, eta {eta})")
                .expect("valid template"),
        );
        let summary = generate(&options, &|| bar.inc(1))?;
        bar.finish_and_clear();
        let s = summary.stats;
        eprintln!(
            "wrote {} utterances ({} frames, {:.2} h at {} fps) to {} in {:.1} s; hands dropped {:.2} %; manifest {}; data card {}",
            summary.records.len(),
            s.frames,
            s.frames as f64 / options.fps as f64 / 3600.0,
            options.fps,
            options.out.display(),
            summary.seconds,
            100.0 * s.hand_dropped as f64 / s.hand_observations.max(1) as f64,
            summary.manifest.display(),
            summary.card.display()
        );
        if let Some(dir) = &args.lexicon {
            let lexicon = write_citation_lexicon(&options, dir)?;
            eprintln!(
                "wrote a lexicon of {} signs ({} frames) to {}",
                lexicon.entries,
                lexicon.frames,
                lexicon.index.display()
            );
        }
        Ok(())
    };
    match args.threads {
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .context("cannot start worker threads")?
            .install(work),
        None => work(),
    }
}

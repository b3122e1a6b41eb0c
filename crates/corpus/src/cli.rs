//! `signscope corpus …`: import, vocabularies, splits, confusion reports, statistics.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use signscope_metrics::Cleanup;

use crate::atomic::{write_atomic, write_json_atomic};
use crate::confusions::{
    ConfusionConfig, GlossSequences, confusions, pair_by_id, read_gloss_sequences,
};
use crate::import::{
    FolderColumns, Format, ImportOptions, RangeUnit, fill_context, import, rebase_pose_paths,
};
use crate::manifest::{Split, read_manifest, write_manifest};
use crate::split::{ContextPolicy, SplitConfig, split};
use crate::stats::manifest_stats;
use crate::vocab::{TokenKind, Vocab, VocabConfig};

#[derive(Debug, Subcommand)]
pub enum CorpusCommand {
    /// Import a public corpus's annotation files into a JSON Lines manifest
    Import(ImportArgs),
    /// Build a gloss, word or character vocabulary from a manifest
    Vocab(VocabArgs),
    /// Split a dialogue manifest into train/dev/test as SCOPE does (no sentence in two
    /// splits, no dev/test sentence in a training context)
    Split(SplitArgs),
    /// Minimum-edit-distance confusion report of predicted vs annotated glosses, for
    /// annotation cleaning (substitutions, splits/merges, candidate synonym groups)
    Confusions(ConfusionsArgs),
    /// Counts per split: records, signers, dialogues, vocabulary, lengths
    Stats(StatsArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Annotation format
    #[arg(long, short, value_enum)]
    pub format: Format,
    /// Annotation files, or directories searched for the format's files
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Manifest to write (written to a temporary file, then renamed)
    #[arg(long, short)]
    pub out: PathBuf,
    /// Split of every record (default: from the file names: train, dev/val, test)
    #[arg(long, value_enum)]
    pub split: Option<Split>,
    /// Fill each record's context with up to N earlier turns of its dialogue
    #[arg(long, value_name = "N")]
    pub context: Option<usize>,
    /// Folder format: do not require the referenced pose files to exist (text-only use)
    #[arg(long)]
    pub no_pose_check: bool,
    /// Folder format: pose path column (default: pose, path, pose_path, pose_file, file)
    #[arg(long)]
    pub pose_column: Option<String>,
    /// Folder format: gloss column (default: glosses, gloss, orth, annotation)
    #[arg(long)]
    pub gloss_column: Option<String>,
    /// Folder format: text column (default: text, translation, sentence, words)
    #[arg(long)]
    pub text_column: Option<String>,
    /// Folder format: id column (default: id, name; else the pose path without extension)
    #[arg(long)]
    pub id_column: Option<String>,
    /// Folder format: unit of the start/end columns
    #[arg(long, value_enum, default_value = "frames")]
    pub range_unit: RangeUnit,
}

#[derive(Debug, Args)]
pub struct VocabArgs {
    /// Manifest to count tokens in
    pub manifest: PathBuf,
    /// Which tokens
    #[arg(long, short, value_enum, default_value = "gloss")]
    pub kind: TokenKind,
    /// Output: `.json` (with counts and metadata) or anything else for `token<TAB>count` lines
    #[arg(long, short)]
    pub out: PathBuf,
    /// Leave out tokens seen fewer times (they become <unk>)
    #[arg(long, default_value_t = 1)]
    pub min_count: u64,
    /// Keep at most this many tokens besides the specials
    #[arg(long)]
    pub max_size: Option<usize>,
    /// Special tokens, comma-separated, placed first
    /// (default: gloss `<blank>,<unk>`; word/char `<pad>,<unk>,<bos>,<eos>`; "" for none)
    #[arg(long, value_delimiter = ',')]
    pub specials: Option<Vec<String>>,
    /// Lower-case tokens before counting
    #[arg(long)]
    pub lowercase: bool,
    /// Count only these splits (repeatable; default: all records)
    #[arg(long, value_enum)]
    pub split: Vec<Split>,
}

#[derive(Debug, Args)]
pub struct SplitArgs {
    /// Manifest to split (existing split fields are overwritten)
    pub manifest: PathBuf,
    /// Split manifest to write
    #[arg(long, short)]
    pub out: PathBuf,
    /// Relative sizes of train, dev, test, comma-separated
    #[arg(long, value_delimiter = ',', default_values_t = [80.0, 5.0, 15.0])]
    pub ratios: Vec<f64>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Blocks of linked dialogues larger than this fraction of the smallest split's target
    /// are assigned dialogue by dialogue
    #[arg(long, default_value_t = 0.5)]
    pub max_block_fraction: f64,
    /// How leaking training contexts are cut
    #[arg(long, value_enum, default_value = "truncate")]
    pub context_policy: ContextPolicy,
    /// First fill each record's context with up to N earlier turns of its dialogue
    #[arg(long, value_name = "N")]
    pub fill_context: Option<usize>,
    /// Also write the split report as JSON
    #[arg(long)]
    pub report: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ConfusionsArgs {
    /// Predicted glosses: manifest (.jsonl), STM (.stm) or text lines `id gloss gloss …`
    #[arg(long)]
    pub hyp: PathBuf,
    /// Annotated glosses, same formats; utterances are matched by id
    #[arg(long = "ref")]
    pub reference: PathBuf,
    /// Gloss cleanup applied to both sides before aligning (as the WER scorer does)
    #[arg(long, value_enum, default_value = "none")]
    pub cleanup: Cleanup,
    /// Rows per table
    #[arg(long, default_value_t = 30)]
    pub top: usize,
    /// Substitutions needed for a synonym edge (per direction unless --one-direction)
    #[arg(long, default_value_t = 2)]
    pub min_pair_count: usize,
    /// Synonym edges count both directions together
    #[arg(long)]
    pub one_direction: bool,
    /// Write the text tables here instead of stdout
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Write the full report as JSON
    #[arg(long)]
    pub json: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    pub manifest: PathBuf,
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
}

pub fn run(command: CorpusCommand) -> anyhow::Result<()> {
    match command {
        CorpusCommand::Import(args) => run_import(args),
        CorpusCommand::Vocab(args) => run_vocab(args),
        CorpusCommand::Split(args) => run_split(args),
        CorpusCommand::Confusions(args) => run_confusions(args),
        CorpusCommand::Stats(args) => run_stats(args),
    }
}

fn output_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

fn split_summary(records: &[crate::Record]) -> String {
    let stats = manifest_stats(records);
    stats
        .parts
        .iter()
        .filter(|(name, _)| name.as_str() != "all")
        .map(|(name, s)| format!("{name} {}", s.records))
        .collect::<Vec<_>>()
        .join(", ")
}

fn run_import(args: ImportArgs) -> anyhow::Result<()> {
    let options = ImportOptions {
        split: args.split,
        check_poses: !args.no_pose_check,
        folder: FolderColumns {
            pose: args.pose_column,
            glosses: args.gloss_column,
            text: args.text_column,
            id: args.id_column,
            range_unit: args.range_unit,
        },
    };
    let mut records = import(args.format, &args.inputs, &options)?;
    if let Some(turns) = args.context {
        fill_context(&mut records, turns);
    }
    rebase_pose_paths(&mut records, output_dir(&args.out))?;
    write_manifest(&args.out, &records)?;
    eprintln!(
        "imported {} records ({}) into {}",
        records.len(),
        split_summary(&records),
        args.out.display()
    );
    Ok(())
}

fn run_vocab(args: VocabArgs) -> anyhow::Result<()> {
    let records = read_manifest(&args.manifest)?;
    let mut config = VocabConfig::new(args.kind);
    config.min_count = args.min_count;
    config.max_size = args.max_size;
    config.lowercase = args.lowercase;
    config.splits = args.split;
    if let Some(specials) = args.specials {
        config.specials = specials.into_iter().filter(|s| !s.is_empty()).collect();
    }
    let vocab = Vocab::build(&records, &config)
        .map_err(|m| anyhow::anyhow!("{}: {m}", args.manifest.display()))?;
    if vocab.len() == vocab.num_specials {
        bail!(
            "{}: no {:?} tokens in the selected records (splits {:?})",
            args.manifest.display(),
            args.kind,
            config.splits
        );
    }
    vocab.save(&args.out)?;
    eprintln!(
        "{} tokens ({} special) written to {}",
        vocab.len(),
        vocab.num_specials,
        args.out.display()
    );
    Ok(())
}

fn run_split(args: SplitArgs) -> anyhow::Result<()> {
    let mut records = read_manifest(&args.manifest)?;
    if let Some(turns) = args.fill_context {
        fill_context(&mut records, turns);
    }
    let ratios: [f64; 3] = args
        .ratios
        .as_slice()
        .try_into()
        .context("--ratios needs three numbers: train,dev,test")?;
    let config = SplitConfig {
        ratios,
        seed: args.seed,
        max_block_fraction: args.max_block_fraction,
        context_policy: args.context_policy,
    };
    let report = split(&mut records, &config).map_err(anyhow::Error::msg)?;
    write_manifest(&args.out, &records)?;
    if let Some(path) = &args.report {
        write_json_atomic(path, &report)?;
    }
    println!("{report}");
    Ok(())
}

fn run_confusions(args: ConfusionsArgs) -> anyhow::Result<()> {
    let clean = |sequences: GlossSequences| -> GlossSequences {
        sequences
            .into_iter()
            .map(|(id, glosses)| {
                let line = args.cleanup.apply(&glosses.join(" "));
                (id, line.split_whitespace().map(str::to_string).collect())
            })
            .collect()
    };
    let references = clean(read_gloss_sequences(&args.reference)?);
    let hypotheses = clean(read_gloss_sequences(&args.hyp)?);
    let pairs = pair_by_id(references, hypotheses, &args.reference, &args.hyp)?;
    let config = ConfusionConfig {
        min_pair_count: args.min_pair_count,
        both_directions: !args.one_direction,
    };
    let report = confusions(
        pairs
            .iter()
            .map(|p| (p.reference.as_slice(), p.hypothesis.as_slice())),
        &config,
    );
    let table = report.to_table(args.top);
    match &args.out {
        Some(path) => write_atomic(path, table.as_bytes())?,
        None => print!("{table}"),
    }
    if let Some(path) = &args.json {
        write_json_atomic(path, &report)?;
    }
    Ok(())
}

fn run_stats(args: StatsArgs) -> anyhow::Result<()> {
    let records = read_manifest(&args.manifest)?;
    let stats = manifest_stats(&records);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&stats)?);
    } else {
        print!("{stats}");
    }
    Ok(())
}

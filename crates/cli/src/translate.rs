//! `signscope translate`: one command over the three kinds of translator. The seq2seq model
//! comes from `signscope train slt`; the LLM backends build SCOPE's prompt (top-k glosses,
//! earlier turns, retrieved examples) in signscope-llm.

use anyhow::{Context, bail};
use clap::ValueEnum;

/// The seq2seq model `translate` uses without --model (under models/).
const DEFAULT_SEQ2SEQ: &str = "phoenix2014t_g2t";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TranslateBackend {
    /// The trained gloss→text transformer: `--model` = a run folder of `signscope train slt`,
    /// default the committed PHOENIX-2014T model (models/phoenix2014t_g2t).
    Seq2seq,
    /// A local quantized LLM (SmolLM2, Gemma 3) on the CPU with candle.
    Gguf,
    /// An OpenAI-compatible /v1/chat/completions server (`--url`, or SIGNSCOPE_LLM_URL /
    /// OPENAI_BASE_URL).
    Http,
}

/// Translate recognized glosses into a sentence.
///
/// `--glosses` is the best hypothesis; `--hyp` adds the recognizer's 2nd, 3rd, … best. The
/// seq2seq backend translates each and keeps the one it scores best; the LLM backends show
/// all of them, with the earlier dialogue turns (`--context`), to the model.
#[derive(Debug, clap::Args)]
pub struct TranslateArgs {
    #[arg(long, value_enum, default_value_t = TranslateBackend::Seq2seq)]
    pub backend: TranslateBackend,
    #[command(flatten)]
    pub decode: signscope_slt::cli::TranslateDecodeArgs,
    #[command(flatten)]
    pub llm: signscope_llm::cli::Args,
}

pub fn run(mut args: TranslateArgs) -> anyhow::Result<()> {
    match args.backend {
        TranslateBackend::Seq2seq => run_seq2seq(args),
        TranslateBackend::Gguf => {
            args.llm.backend = signscope_llm::cli::Backend::Gguf;
            // `--model` may be a folder of LoRA adapters (`signscope train lora`).
            signscope_lora::cli::prepare_translation(&mut args.llm)?;
            signscope_llm::cli::run(args.llm)
        }
        TranslateBackend::Http => {
            args.llm.backend = signscope_llm::cli::Backend::Openai;
            signscope_llm::cli::run(args.llm)
        }
    }
}

fn run_seq2seq(args: TranslateArgs) -> anyhow::Result<()> {
    let llm = args.llm;
    if llm.manifest.is_some() {
        bail!(
            "--manifest works with --backend gguf|http; score a seq2seq model on a corpus with `signscope eval slt`"
        );
    }
    // Without --model: the committed PHOENIX-2014T gloss→text model (German weather forecasts).
    let model = match llm.model {
        Some(model) => std::path::PathBuf::from(model),
        None => signscope_slt::translator::bundled_model_dir(DEFAULT_SEQ2SEQ)?,
    };
    let Some(best) = llm.glosses else {
        bail!("give --glosses \"GLOSS GLOSS …\"");
    };
    if !llm.context.is_empty() {
        // The seq2seq model has no context input (PHOENIX-2014T and CSL-Daily have no
        // dialogues to train one on): say so rather than silently dropping the turns.
        eprintln!(
            "note: the seq2seq translator ignores --context; use --backend gguf or http for context-aware translation"
        );
    }
    let glosses: Vec<String> = std::iter::once(best).chain(llm.hyps).collect();
    signscope_slt::cli::run_translate(
        signscope_slt::cli::TranslateArgs {
            glosses,
            model,
            decode: args.decode,
        },
        &signscope_lora::rescore::load_translation_scorer,
    )
    .context("seq2seq translation")
}

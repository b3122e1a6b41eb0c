//! `signscope translate-llm`: gloss hypotheses + dialogue context → a sentence, through a
//! local GGUF model or an OpenAI-compatible server; one utterance from the command line or
//! a whole JSONL manifest into a hypothesis file for `signscope score`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::prompt::{ScoreDisplay, ShotSelection, load_few_shot};
use crate::{
    ChatBackend, DialogueTurn, GenerationConfig, GgufChatModel, GlossHypothesis, LlmError,
    LlmTranslator, Message, OpenAiChat, OpenAiConfig, PromptOptions, TranslationRequest, assets,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// A local quantized model file (SmolLM2, Gemma 3) run on the CPU with candle.
    Gguf,
    /// An OpenAI-compatible /v1/chat/completions server (SIGNSCOPE_LLM_URL / OPENAI_BASE_URL,
    /// SIGNSCOPE_LLM_API_KEY / OPENAI_API_KEY).
    Openai,
}

/// Translate recognized glosses into a sentence with an LLM, using the top-k hypotheses and
/// the previous dialogue turns (SCOPE's translation step).
///
/// One utterance: `--glosses "MORGEN REGEN" [--hyp "MORGEN SONNE"]… [--score -0.2 --score -1.5]
/// [--context "Wie wird das Wetter?"]…`. A batch: `--manifest hyps.jsonl --out hyp.txt`, one
/// JSON object per line with `id`, `hypotheses` (`[{"glosses": "A B" or ["A","B"], "score":
/// -0.2}, …]`, best first) or plain `glosses`, optional `context` (earlier turns, oldest
/// first) and `text` (the reference, written to --ref-out); other fields are ignored, so a
/// corpus manifest translates its reference glosses.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Chosen by the caller (`signscope translate --backend gguf|http`), not a flag of its own.
    #[arg(skip = Backend::Gguf)]
    pub backend: Backend,
    /// gguf: a .gguf file, a directory holding one, `smollm2` (default) / `gemma3` for the
    /// models scripts/fetch-assets.sh downloads, or (`signscope translate`) a folder of LoRA
    /// adapters from `signscope train lora`, merged into its base model on first use. http: the model name (default
    /// SIGNSCOPE_LLM_MODEL, else gpt-4o-mini). seq2seq: the run folder of `signscope train slt`
    /// or the name of a committed model (`phoenix2014t_g2t`, the default, or `csl_daily_g2t`
    /// for Chinese).
    #[arg(long)]
    pub model: Option<String>,
    /// openai: server base URL (default SIGNSCOPE_LLM_URL, else OPENAI_BASE_URL, else
    /// https://api.openai.com/v1).
    #[arg(long)]
    pub url: Option<String>,
    /// openai: extra request fields as a JSON object, e.g. '{"repeat_penalty": 1.0}' for
    /// llama.cpp servers.
    #[arg(long)]
    pub extra_body: Option<String>,
    /// openai: seconds allowed for one request.
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
    /// The best gloss hypothesis, whitespace-separated.
    #[arg(long, conflicts_with = "manifest")]
    pub glosses: Option<String>,
    /// A further hypothesis (repeat for the 2nd, 3rd, … best).
    #[arg(long = "hyp", requires = "glosses")]
    pub hyps: Vec<String>,
    /// Log-probability of each hypothesis, in order (--glosses first); all or none.
    #[arg(long = "score", allow_negative_numbers = true, requires = "glosses")]
    pub scores: Vec<f64>,
    /// An earlier dialogue turn, oldest first (repeat); `Name: text` tags the speaker.
    #[arg(long = "context")]
    pub context: Vec<String>,
    /// JSONL manifest of utterances to translate in one run (needs --out).
    #[arg(long, requires = "out")]
    pub manifest: Option<PathBuf>,
    /// Hypothesis file for the manifest: one sentence per line in manifest order (`.jsonl`:
    /// records with id, text and the raw reply). Written atomically.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also write the manifest's reference `text`s, one per line, for scoring.
    #[arg(long, requires = "manifest")]
    pub ref_out: Option<PathBuf>,
    /// Corpus manifest (JSONL with glosses and text) to draw worked examples from.
    #[arg(long)]
    pub few_shot: Option<PathBuf>,
    /// Worked examples per prompt.
    #[arg(long, default_value_t = 3)]
    pub shots: usize,
    /// Which records of --few-shot to use ("" = all); records without a split count as train.
    #[arg(long, default_value = "train")]
    pub few_shot_split: String,
    #[arg(long, value_enum, default_value_t = ShotSelection::Similar)]
    pub shot_selection: ShotSelection,
    /// Hypotheses shown to the model (SCOPE: 3).
    #[arg(long, default_value_t = 3)]
    pub top_k: usize,
    /// Most recent context turns shown.
    #[arg(long, default_value_t = 3)]
    pub context_turns: usize,
    #[arg(long, value_enum, default_value_t = ScoreDisplay::Probability)]
    pub show_scores: ScoreDisplay,
    /// Language of the answer, e.g. German, Chinese, English.
    #[arg(long)]
    pub language: Option<String>,
    #[arg(long, default_value_t = 64)]
    pub max_tokens: usize,
    /// 0 = greedy decoding.
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f64,
    /// Nucleus sampling threshold (with --temperature > 0).
    #[arg(long)]
    pub top_p: Option<f64>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// gguf: > 1 discourages repeating tokens of the reply.
    #[arg(long, default_value_t = 1.0)]
    pub repeat_penalty: f32,
    /// Print a JSON object (sentence, raw reply, prompt, timings) instead of the sentence.
    #[arg(long)]
    pub json: bool,
    /// Print the chat messages to stderr before translating.
    #[arg(long)]
    pub show_prompt: bool,
}

/// The two backends behind one type, so timings of the local one stay reachable.
enum AnyBackend {
    Gguf(Box<GgufChatModel>),
    OpenAi(OpenAiChat),
}

impl ChatBackend for AnyBackend {
    fn id(&self) -> String {
        match self {
            AnyBackend::Gguf(m) => m.id(),
            AnyBackend::OpenAi(c) => c.id(),
        }
    }

    fn chat(
        &mut self,
        messages: &[Message],
        config: &GenerationConfig,
    ) -> Result<String, LlmError> {
        match self {
            AnyBackend::Gguf(m) => m.chat(messages, config),
            AnyBackend::OpenAi(c) => c.chat(messages, config),
        }
    }
}

fn backend(args: &Args) -> anyhow::Result<AnyBackend> {
    Ok(match args.backend {
        Backend::Gguf => {
            let path = assets::resolve_model(args.model.as_deref().unwrap_or("smollm2"))?;
            AnyBackend::Gguf(Box::new(GgufChatModel::load(&path)?))
        }
        Backend::Openai => {
            let mut config = OpenAiConfig::from_env();
            if let Some(url) = &args.url {
                config.base_url = url.clone();
            }
            if let Some(model) = &args.model {
                config.model = model.clone();
            }
            config.timeout = Duration::from_secs(args.timeout.max(1));
            if let Some(extra) = &args.extra_body {
                let value: serde_json::Value = serde_json::from_str(extra)
                    .with_context(|| format!("--extra-body {extra:?} is not JSON"))?;
                let serde_json::Value::Object(fields) = value else {
                    bail!("--extra-body must be a JSON object, got {extra:?}");
                };
                config.extra_body = fields;
            }
            AnyBackend::OpenAi(OpenAiChat::new(config)?)
        }
    })
}

fn command_line_request(args: &Args) -> anyhow::Result<TranslationRequest> {
    let Some(best) = &args.glosses else {
        bail!("give --glosses \"GLOSS GLOSS …\" (or --manifest FILE --out FILE)");
    };
    let texts: Vec<&String> = std::iter::once(best).chain(&args.hyps).collect();
    if !args.scores.is_empty() && args.scores.len() != texts.len() {
        bail!(
            "{} --score values for {} hypotheses: give one per hypothesis (--glosses first) or none",
            args.scores.len(),
            texts.len()
        );
    }
    let hypotheses = texts
        .iter()
        .enumerate()
        .map(|(i, t)| GlossHypothesis::parse(t, args.scores.get(i).copied()))
        .collect();
    Ok(TranslationRequest {
        hypotheses,
        context: args
            .context
            .iter()
            .map(|t| DialogueTurn::parse(t))
            .collect(),
    })
}

/// Glosses as a JSON array or one whitespace-separated string.
#[derive(Deserialize)]
#[serde(untagged)]
enum Glosses {
    List(Vec<String>),
    Text(String),
}

impl Glosses {
    fn into_vec(self) -> Vec<String> {
        match self {
            Glosses::List(v) => v,
            Glosses::Text(t) => t.split_whitespace().map(str::to_string).collect(),
        }
    }
}

#[derive(Deserialize)]
struct ManifestHypothesis {
    glosses: Glosses,
    #[serde(default)]
    score: Option<f64>,
}

/// One line of a hypotheses manifest; unknown fields are ignored.
#[derive(Deserialize)]
struct ManifestLine {
    id: String,
    #[serde(default)]
    hypotheses: Option<Vec<ManifestHypothesis>>,
    #[serde(default)]
    glosses: Option<Glosses>,
    #[serde(default)]
    context: Vec<String>,
    #[serde(default)]
    text: Option<String>,
}

/// An utterance of a hypotheses manifest.
pub struct ManifestItem {
    pub id: String,
    pub request: TranslationRequest,
    pub reference: Option<String>,
}

/// Reads a hypotheses manifest (see [`Args`]); errors name the file and line.
pub fn read_hypotheses_manifest(path: &Path) -> anyhow::Result<Vec<ManifestItem>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut items = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = || format!("{}: line {}", path.display(), i + 1);
        let record: ManifestLine = serde_json::from_str(line).with_context(at)?;
        let hypotheses: Vec<GlossHypothesis> = match (record.hypotheses, record.glosses) {
            (Some(h), _) => h
                .into_iter()
                .map(|h| GlossHypothesis {
                    glosses: h.glosses.into_vec(),
                    score: h.score,
                })
                .collect(),
            (None, Some(g)) => vec![GlossHypothesis {
                glosses: g.into_vec(),
                score: None,
            }],
            (None, None) => bail!(
                "{}: record {:?} has neither hypotheses nor glosses",
                at(),
                record.id
            ),
        };
        if hypotheses.iter().all(|h| h.glosses.is_empty()) {
            bail!("{}: record {:?} has no glosses", at(), record.id);
        }
        items.push(ManifestItem {
            id: record.id,
            request: TranslationRequest {
                hypotheses,
                context: record
                    .context
                    .iter()
                    .map(|t| DialogueTurn::parse(t))
                    .collect(),
            },
            reference: record.text,
        });
    }
    if items.is_empty() {
        bail!("{}: no records", path.display());
    }
    Ok(items)
}

#[derive(Serialize)]
struct JsonReply<'a> {
    backend: String,
    sentence: &'a str,
    raw: &'a str,
    messages: &'a [Message],
    #[serde(skip_serializing_if = "Option::is_none")]
    timings: Option<JsonTimings>,
}

#[derive(Serialize)]
struct JsonTimings {
    load_seconds: f64,
    prompt_tokens: usize,
    cached_prompt_tokens: usize,
    prompt_seconds: f64,
    generated_tokens: usize,
    decode_seconds: f64,
}

fn timings(backend: &AnyBackend) -> Option<JsonTimings> {
    let AnyBackend::Gguf(model) = backend else {
        return None;
    };
    let t = model.timings();
    Some(JsonTimings {
        load_seconds: model.load_time().as_secs_f64(),
        prompt_tokens: t.prompt_tokens,
        cached_prompt_tokens: t.cached_prompt_tokens,
        prompt_seconds: t.prompt_time.as_secs_f64(),
        generated_tokens: t.generated_tokens,
        decode_seconds: t.decode_time.as_secs_f64(),
    })
}

fn print_messages(messages: &[Message]) {
    for m in messages {
        eprintln!("--- {:?}\n{}", m.role, m.content);
    }
    eprintln!("---");
}

pub fn run(args: Args) -> anyhow::Result<()> {
    // Validate the cheap inputs before loading a model.
    let items = match &args.manifest {
        Some(path) => Some(read_hypotheses_manifest(path)?),
        None => None,
    };
    let single = match &items {
        None => Some(command_line_request(&args)?),
        Some(_) => None,
    };
    let mut translator = LlmTranslator::new(backend(&args)?);
    translator.options = PromptOptions {
        language: args.language.clone(),
        max_hypotheses: args.top_k.max(1),
        max_context_turns: args.context_turns,
        scores: args.show_scores,
    };
    translator.generation = GenerationConfig {
        max_new_tokens: args.max_tokens,
        temperature: args.temperature,
        top_p: args.top_p,
        seed: args.seed,
        repeat_penalty: args.repeat_penalty,
        ..GenerationConfig::default()
    };
    if let Some(path) = &args.few_shot {
        let split = Some(args.few_shot_split.as_str()).filter(|s| !s.is_empty());
        let pool = load_few_shot(path, split)?;
        translator = translator.with_few_shot(pool, args.shots, args.shot_selection);
    }

    if let Some(request) = single {
        let messages = translator.messages(&request);
        if args.show_prompt {
            print_messages(&messages);
        }
        let (raw, sentence) = translator.translate_raw(&request)?;
        if args.json {
            let reply = JsonReply {
                backend: translator.backend().id(),
                sentence: &sentence,
                raw: &raw,
                messages: &messages,
                timings: timings(translator.backend()),
            };
            println!("{}", serde_json::to_string_pretty(&reply)?);
        } else {
            println!("{sentence}");
        }
        return Ok(());
    }

    let items = items.expect("manifest mode");
    let out = args
        .out
        .as_ref()
        .expect("clap requires --out with --manifest");
    let as_jsonl = out.extension().is_some_and(|e| e == "jsonl");
    let mut lines = String::new();
    for (i, item) in items.iter().enumerate() {
        if args.show_prompt {
            print_messages(&translator.messages(&item.request));
        }
        let (raw, sentence) = translator
            .translate_raw(&item.request)
            .with_context(|| format!("translating record {:?}", item.id))?;
        if as_jsonl {
            let record = serde_json::json!({"id": item.id, "text": sentence, "raw": raw});
            lines.push_str(&serde_json::to_string(&record)?);
        } else {
            lines.push_str(&sentence.replace(['\n', '\r'], " "));
        }
        lines.push('\n');
        eprintln!("[{}/{}] {}: {sentence}", i + 1, items.len(), item.id);
    }
    signscope_fsio::write_atomic(out, lines.as_bytes())
        .with_context(|| format!("cannot write {}", out.display()))?;
    if let Some(ref_out) = &args.ref_out {
        let mut refs = Vec::new();
        for item in &items {
            let Some(text) = &item.reference else {
                bail!("--ref-out: record {:?} has no text", item.id);
            };
            writeln!(refs, "{}", text.replace(['\n', '\r'], " "))?;
        }
        signscope_fsio::write_atomic(ref_out, &refs)
            .with_context(|| format!("cannot write {}", ref_out.display()))?;
    }
    if args.json {
        println!(
            "{}",
            serde_json::json!({"backend": translator.backend().id(), "records": items.len(), "out": out})
        );
    }
    Ok(())
}

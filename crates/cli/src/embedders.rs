//! Sentence embedders for the recognizer: `[embedding]` of an slr config → a signscope-embed
//! model (with its on-disk cache), seen through the recognizer's own embedder trait.

use anyhow::{Context, bail};
use clap::ValueEnum;
use signscope_embed::cli::{Backend, PrefixArg, open_embedder};
use signscope_embed::{CachedEmbedder, SentenceEmbedder as EmbedModel};
use signscope_slr::config::EmbeddingConfig;
use signscope_slr::context::SentenceEmbedder;

struct Adapter(Box<dyn EmbedModel>);

impl SentenceEmbedder for Adapter {
    fn size(&self) -> usize {
        self.0.dim()
    }

    fn embed(&self, texts: &[String]) -> anyhow::Result<Vec<Vec<f32>>> {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        Ok(self.0.embed_batch(&refs)?)
    }
}

/// Opens the embedder an slr config names (`minilm`, `e5` or `http`).
pub fn slr_embedder(config: &EmbeddingConfig) -> anyhow::Result<Box<dyn SentenceEmbedder>> {
    let Ok(backend) = Backend::from_str(&config.backend, true) else {
        bail!(
            "[embedding] backend = {:?}: expected minilm, e5, http or hashed",
            config.backend
        );
    };
    let model = open_embedder(
        backend,
        config.model.as_deref(),
        PrefixArg::Query,
        config.url.as_deref(),
        config.model_name.as_deref(),
    )?;
    let model: Box<dyn EmbedModel> = match &config.cache {
        Some(dir) => Box::new(
            CachedEmbedder::new(model, dir)
                .with_context(|| format!("opening embedding cache {}", dir.display()))?,
        ),
        None => model,
    };
    Ok(Box::new(Adapter(model)))
}

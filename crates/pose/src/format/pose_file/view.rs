//! Zero-copy `.pose` reading: [`PoseView`] parses the header and checks the body's
//! bounds, and leaves the body where it lies — in the caller's buffer, or in one it
//! reads the file into. Values are decoded when they are used, so reading a recording's
//! header, a few frames or its missing-point rates costs what those need, not a copy of
//! every float into arrays (pose-format's Python reader likewise makes its arrays views
//! of the bytes it was given). [`PoseView::read_into`] reuses one buffer across files,
//! so a loader going through a corpus does not pay for fresh pages per file.
//!
//! The body stays little-endian bytes, seen through [`LeF32s`]: a `.pose` header has
//! arbitrary length, so the body of most files is not 4-byte aligned (all 600
//! fingerspelling clips of spoken-to-signed start their floats at byte 14,897) and cannot
//! be borrowed as `&[f32]`. [`LeF32s::as_slice`] gives a slice where it is aligned;
//! [`PoseView::to_pose`] decodes into owned arrays.
//!
//! Files are read, not memory-mapped: on this project's machine (a 2-core VM) mapping
//! each of the 604 reference files measured 3.6–4.5 GB/s against 6.2 GB/s for plain
//! reads, since page-table work per mapping costs more than copying a 260 KB file.
//!
//! v0.0 bodies interleave coordinates, confidences and per-frame person counts, so they
//! are decoded once and held re-encoded in the v0.2 layout; the view still reports 0.0.

use std::borrow::Cow;
use std::fs::File;
use std::io::Read;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use ndarray::{Array2, Array3};

use super::{
    BodyLayout, FormatVersion, PoseFrame, ReadOptions, check_finite, decode_f32s,
    parse_header_and_layout,
};
use crate::{Pose, PoseError, PoseHeader};

/// A `.pose` file (any version) whose body is decoded on access; see the module docs.
pub struct PoseView<'a> {
    bytes: Cow<'a, [u8]>,
    header: Arc<PoseHeader>,
    /// The version the file was stored with.
    version: FormatVersion,
    /// Offsets into `bytes` (a v0.2 layout for v0.0 files, which are held re-encoded).
    layout: BodyLayout,
}

impl PoseView<'static> {
    /// Read a whole `.pose` file into a buffer of its own.
    pub fn open(path: impl AsRef<Path>) -> Result<PoseView<'static>, PoseError> {
        let path = path.as_ref();
        let mut bytes = Vec::new();
        read_file(path, &mut bytes)
            .and_then(|()| PoseView::from_vec(bytes))
            .map_err(|e| e.in_file(path))
    }

    /// A view of a whole file's bytes, taking ownership of them.
    pub fn from_vec(bytes: Vec<u8>) -> Result<PoseView<'static>, PoseError> {
        PoseView::new(Cow::Owned(bytes))
    }
}

/// Replace `buffer`'s contents with the file's, reusing its allocation.
fn read_file(path: &Path, buffer: &mut Vec<u8>) -> Result<(), PoseError> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    buffer.clear();
    buffer.reserve(usize::try_from(len).unwrap_or(0));
    file.read_to_end(buffer)?;
    Ok(())
}

impl<'a> PoseView<'a> {
    /// A view of a whole `.pose` file held in memory; the body is borrowed, not copied.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<PoseView<'a>, PoseError> {
        PoseView::new(Cow::Borrowed(bytes))
    }

    /// Read a whole `.pose` file into `buffer` (replacing what it held, reusing its
    /// allocation) and view it there.
    pub fn read_into(
        path: impl AsRef<Path>,
        buffer: &'a mut Vec<u8>,
    ) -> Result<PoseView<'a>, PoseError> {
        let path = path.as_ref();
        read_file(path, buffer)
            .and_then(|()| PoseView::from_bytes(buffer))
            .map_err(|e| e.in_file(path))
    }

    fn new(bytes: Cow<'a, [u8]>) -> Result<PoseView<'a>, PoseError> {
        let (header, layout) = parse_header_and_layout(&bytes)?;
        if layout.version != FormatVersion::V0_0 {
            return Ok(PoseView::from_parts(bytes, header, layout));
        }
        let pose = Pose::from_bytes(&bytes)?;
        let mut view = PoseView::from_vec(pose.to_bytes()?)?;
        view.header = pose.header;
        view.version = FormatVersion::V0_0;
        Ok(view)
    }

    /// A view of a v0.1/v0.2 file whose header and layout were parsed from `bytes`.
    pub(super) fn from_parts(
        bytes: Cow<'a, [u8]>,
        header: Arc<PoseHeader>,
        layout: BodyLayout,
    ) -> PoseView<'a> {
        PoseView {
            bytes,
            header,
            version: layout.version,
            layout,
        }
    }

    /// The header, shared with other readers of files that start with the same bytes.
    pub fn header(&self) -> &Arc<PoseHeader> {
        &self.header
    }
    /// The body layout the file was stored with.
    pub fn version(&self) -> FormatVersion {
        self.version
    }
    pub fn fps(&self) -> f32 {
        self.layout.fps
    }
    pub fn frames(&self) -> usize {
        self.layout.frames
    }
    pub fn people(&self) -> usize {
        self.layout.people
    }
    pub fn points(&self) -> usize {
        self.layout.points
    }
    pub fn dims(&self) -> usize {
        self.layout.dims
    }
    fn slice(&self, range: Range<u64>) -> LeF32s<'_> {
        LeF32s::new(&self.bytes[range.start as usize..range.end as usize])
    }

    /// Every coordinate, `[frames, people, points, dims]` in row-major order.
    pub fn data(&self) -> LeF32s<'_> {
        self.frames_data(0..self.frames())
    }

    /// Every confidence, `[frames, people, points]` in row-major order (0 = missing).
    pub fn confidence(&self) -> LeF32s<'_> {
        self.frames_confidence(0..self.frames())
    }

    /// Coordinates of `frames` (clamped to the file's frames).
    pub fn frames_data(&self, frames: Range<usize>) -> LeF32s<'_> {
        self.slice(self.layout.data_bytes(self.clamp(frames)))
    }

    /// Confidences of `frames` (clamped to the file's frames).
    pub fn frames_confidence(&self, frames: Range<usize>) -> LeF32s<'_> {
        self.slice(self.layout.confidence_bytes(self.clamp(frames)))
    }

    fn clamp(&self, frames: Range<usize>) -> Range<usize> {
        let end = frames.end.min(self.frames());
        frames.start.min(end)..end
    }

    /// One frame, decoded.
    pub fn frame(&self, index: usize) -> Result<PoseFrame, PoseError> {
        if index >= self.frames() {
            return Err(PoseError::Invalid(format!(
                "frame {index} is past the last frame ({} frames)",
                self.frames()
            )));
        }
        let (people, points, dims) = (self.people(), self.points(), self.dims());
        let shape_error = |e: ndarray::ShapeError| PoseError::Invalid(e.to_string());
        Ok(PoseFrame {
            index,
            data: Array3::from_shape_vec(
                (people, points, dims),
                self.frames_data(index..index + 1).to_vec(),
            )
            .map_err(shape_error)?,
            confidence: Array2::from_shape_vec(
                (people, points),
                self.frames_confidence(index..index + 1).to_vec(),
            )
            .map_err(shape_error)?,
        })
    }

    /// Decode into owned arrays: the whole body, or `options.range`, with its
    /// non-finite policy and decoded-size cap.
    pub fn to_pose(&self, options: &ReadOptions) -> Result<Pose, PoseError> {
        let range = options.range.resolve(self.frames(), self.fps())?;
        self.layout.check_decoded_size(range.len(), options)?;
        let data = self.frames_data(range.clone()).to_vec();
        let confidence = self.frames_confidence(range.clone()).to_vec();
        self.layout
            .build_pose(self.header.clone(), range.len(), data, confidence, options)
    }

    /// Fail if any coordinate or confidence is NaN or ±inf.
    pub fn check_finite(&self) -> Result<(), PoseError> {
        check_finite(&self.data().to_cow(), &self.confidence().to_cow(), 0)
    }
}

/// Little-endian f32s in place, aligned or not (see the module docs).
#[derive(Debug, Clone, Copy)]
pub struct LeF32s<'a> {
    bytes: &'a [u8],
}

impl<'a> LeF32s<'a> {
    /// View `bytes` as little-endian f32s (a trailing partial value is ignored).
    pub fn new(bytes: &'a [u8]) -> LeF32s<'a> {
        LeF32s {
            bytes: &bytes[..bytes.len() / 4 * 4],
        }
    }

    pub fn len(&self) -> usize {
        self.bytes.len() / 4
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.len() < 4
    }

    pub fn get(&self, index: usize) -> Option<f32> {
        let bytes = self.bytes.get(index * 4..index * 4 + 4)?;
        Some(f32::from_le_bytes(bytes.try_into().ok()?))
    }

    /// The stored bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The values as a slice, without copying, where they are 4-byte aligned and the
    /// target is little-endian; `None` otherwise.
    pub fn as_slice(&self) -> Option<&'a [f32]> {
        if cfg!(target_endian = "little") {
            bytemuck::try_cast_slice(self.bytes).ok()
        } else {
            None
        }
    }

    /// Borrowed where [`LeF32s::as_slice`] can, decoded otherwise.
    pub fn to_cow(&self) -> Cow<'a, [f32]> {
        match self.as_slice() {
            Some(values) => Cow::Borrowed(values),
            None => Cow::Owned(self.to_vec()),
        }
    }

    pub fn to_vec(&self) -> Vec<f32> {
        decode_f32s(self.bytes)
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = f32> + 'a {
        self.bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// How many values equal 0, per position of a repeating record of `record_len` values
    /// (e.g. the points of a frame): the missing-point counts of `pose info`. Each record is
    /// copied into an aligned scratch row and compared on the raw bits (+0.0 and -0.0 both
    /// count), which vectorises whatever the alignment of the stored bytes.
    pub fn zeros_per_position(&self, record_len: usize) -> Vec<usize> {
        let mut totals = vec![0usize; record_len];
        if record_len == 0 {
            return totals;
        }
        let mut counts = vec![0u32; record_len];
        let mut row = vec![0u32; record_len];
        for (i, record) in self.bytes.chunks_exact(record_len * 4).enumerate() {
            bytemuck::cast_slice_mut::<u32, u8>(&mut row).copy_from_slice(record);
            for (count, &bits) in counts.iter_mut().zip(&row) {
                *count += u32::from(u32::from_le(bits) & 0x7fff_ffff == 0);
            }
            // u32 counters keep the loop 8 lanes wide; flush them before they could wrap.
            if i % (u32::MAX as usize) == u32::MAX as usize - 1 {
                flush(&mut totals, &mut counts);
            }
        }
        flush(&mut totals, &mut counts);
        totals
    }

    /// How many values are NaN or ±inf (exponent bits all set), from the raw bits, in
    /// aligned blocks as [`LeF32s::zeros_per_position`] does.
    pub fn count_non_finite(&self) -> usize {
        const BLOCK: usize = 1024;
        let mut row = [0u32; BLOCK];
        let mut total = 0usize;
        for block in self.bytes.chunks(BLOCK * 4) {
            let row = &mut row[..block.len() / 4];
            bytemuck::cast_slice_mut::<u32, u8>(row).copy_from_slice(block);
            total += row
                .iter()
                .map(|&bits| u32::from(u32::from_le(bits) & 0x7f80_0000 == 0x7f80_0000))
                .sum::<u32>() as usize;
        }
        total
    }
}

fn flush(totals: &mut [usize], counts: &mut [u32]) {
    for (total, count) in totals.iter_mut().zip(counts.iter_mut()) {
        *total += *count as usize;
        *count = 0;
    }
}

//! The `.pose` binary format of pose-format (versions 0.0, 0.1, 0.2), read
//! exactly as its Python reader does and written as v0.2.
//!
//! Layout (little-endian, `str` = u16 byte length + UTF-8):
//! ```text
//! f32 version; u16 width, height, depth; u16 n_components
//! per component: str name, str format, u16 points/limbs/colors, point names,
//!                (u16, u16) limbs, (u16, u16, u16) colours
//! v0.2 body: f32 fps, u32 frames, u16 people, f32 data[F][people][P][D], f32 confidence[F][people][P]
//! v0.1 body: u16 fps, u16 frames (ignored: frames = bytes left / frame size), u16 people, same arrays
//! v0.0 body: u16 fps, u16 frames, per frame u16 people, per person i16 id and per component
//!            points × len(format) interleaved floats (x, y, [z], c); person 0 is kept
//! ```
//!
//! Decisions where the Python reader gives no guidance:
//! - Non-finite values (NaN, ±inf) are kept by default, because pose-format files
//!   may legitimately hold them and a byte-exact round trip needs them;
//!   [`NonFinite::Reject`] turns them into an error. `pose info` reports their count.
//! - Every count is checked against the bytes the file still holds before anything
//!   is allocated; v0.0 files (whose empty frames cost 2 bytes but decode to a full
//!   frame of zeros) are additionally capped by [`ReadOptions::max_decoded_bytes`].
//! - v0.0 components whose format is shorter than the widest one are zero-padded
//!   (Python cannot concatenate them and fails).
//! - Frame/time ranges apply to every version (Python ignores them for v0.0 and
//!   ignores times for v0.1).
//! - Bytes after the body are ignored, as in Python.
//! - Like pose-format's `PoseHeaderCache`, readers share one parsed header between
//!   inputs with byte-identical headers (a few recent ones, not only the last).

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use ndarray::{Array2, Array3, Array4};

use crate::{Component, Pose, PoseBody, PoseError, PoseHeader};

mod view;
pub use view::{LeF32s, PoseView};

/// The version every writer emits.
pub const WRITE_VERSION: f32 = 0.2;

/// Default cap on the decoded body size (see [`ReadOptions::max_decoded_bytes`]).
pub const DEFAULT_MAX_DECODED_BYTES: u64 = 4 << 30;

/// Body layouts pose-format has used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatVersion {
    V0_0,
    V0_1,
    V0_2,
}

impl FormatVersion {
    /// Dispatch as pose-format does: `version == 0`, else `round(version, 3)`.
    pub fn from_header_version(version: f32) -> Result<FormatVersion, PoseError> {
        if version == 0.0 {
            return Ok(FormatVersion::V0_0);
        }
        let thousandths = (version as f64 * 1000.0).round();
        if thousandths == 100.0 {
            Ok(FormatVersion::V0_1)
        } else if thousandths == 200.0 {
            Ok(FormatVersion::V0_2)
        } else {
            Err(PoseError::Unsupported(format!(
                "unknown .pose version {version} (known: 0.0, 0.1, 0.2)"
            )))
        }
    }
}

/// What to do with NaN / ±inf coordinates or confidences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NonFinite {
    /// Keep them as stored (pose-format's behaviour).
    #[default]
    Keep,
    /// Fail with an error that gives their count and the first frame holding one.
    Reject,
}

/// Which frames to read, mirroring pose-format's `start_frame`/`end_frame`/`start_time`/`end_time`.
/// Frame bounds are a half-open range; times are milliseconds, converted with
/// `floor(start_ms / 1000 * fps)` and `ceil(end_ms / 1000 * fps)` as pose-format does.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ReadRange {
    pub start_frame: Option<usize>,
    pub end_frame: Option<usize>,
    pub start_ms: Option<f64>,
    pub end_ms: Option<f64>,
}

impl ReadRange {
    pub fn all() -> ReadRange {
        ReadRange::default()
    }

    /// Frames `start..end` (`end` is clamped to the file's frame count).
    pub fn frames(start: usize, end: usize) -> ReadRange {
        ReadRange {
            start_frame: Some(start),
            end_frame: Some(end),
            ..ReadRange::default()
        }
    }

    /// Frames covering `start_ms..end_ms`.
    pub fn time_ms(start_ms: f64, end_ms: f64) -> ReadRange {
        ReadRange {
            start_ms: Some(start_ms),
            end_ms: Some(end_ms),
            ..ReadRange::default()
        }
    }

    /// Resolve to a half-open frame range within `0..frames`.
    pub fn resolve(&self, frames: usize, fps: f32) -> Result<std::ops::Range<usize>, PoseError> {
        if self.start_frame.is_some() && self.start_ms.is_some() {
            return Err(PoseError::Invalid(
                "cannot give both a start frame and a start time".into(),
            ));
        }
        if self.end_frame.is_some() && self.end_ms.is_some() {
            return Err(PoseError::Invalid(
                "cannot give both an end frame and an end time".into(),
            ));
        }
        let ms_to_frame = |ms: f64, round: fn(f64) -> f64| -> Result<usize, PoseError> {
            let frame = round(ms / 1000.0 * fps as f64);
            if !frame.is_finite() || frame < 0.0 {
                return Err(PoseError::Invalid(format!(
                    "time {ms} ms at {fps} fps does not name a frame"
                )));
            }
            Ok(frame.min(usize::MAX as f64) as usize)
        };
        let start = match (self.start_frame, self.start_ms) {
            (Some(f), _) => f,
            (None, Some(ms)) => ms_to_frame(ms, f64::floor)?,
            (None, None) => 0,
        };
        let end = match (self.end_frame, self.end_ms) {
            (Some(f), _) => f,
            (None, Some(ms)) => ms_to_frame(ms, f64::ceil)?,
            (None, None) => frames,
        }
        .min(frames);
        if start > 0 && start >= frames {
            return Err(PoseError::Invalid(format!(
                "start frame {start} is not below the number of frames {frames}"
            )));
        }
        if end < start {
            return Err(PoseError::Invalid(format!(
                "end frame {end} is before start frame {start}"
            )));
        }
        Ok(start..end)
    }
}

/// Options for every `.pose` reader.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReadOptions {
    pub range: ReadRange,
    pub non_finite: NonFinite,
    /// Refuse bodies that would decode to more than this many bytes. Only v0.0 can
    /// decode to much more than the file holds (an empty frame is 2 bytes).
    pub max_decoded_bytes: u64,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            range: ReadRange::default(),
            non_finite: NonFinite::Keep,
            max_decoded_bytes: DEFAULT_MAX_DECODED_BYTES,
        }
    }
}

impl ReadOptions {
    pub fn with_range(range: ReadRange) -> ReadOptions {
        ReadOptions {
            range,
            ..ReadOptions::default()
        }
    }
}

// ---------------------------------------------------------------------------
// Public entry points

/// Read a whole `.pose` file (any version).
pub fn read_pose(path: impl AsRef<Path>) -> Result<Pose, PoseError> {
    read_pose_with(path, &ReadOptions::default())
}

/// Read a `.pose` file with a frame/time range and non-finite policy.
/// Ranged reads of v0.1/v0.2 seek past the skipped frames.
pub fn read_pose_with(path: impl AsRef<Path>, options: &ReadOptions) -> Result<Pose, PoseError> {
    let path = path.as_ref();
    let read = || -> Result<Pose, PoseError> {
        if options.range == ReadRange::default() {
            read_whole_pose(path, options)
        } else {
            // Ranges: seek past skipped frames, read the rest straight into place.
            PoseFrameReader::new(File::open(path)?)?.read_range(options)
        }
    };
    read().map_err(|e| e.in_file(path))
}

/// Read only the header of a `.pose` or `.poseheader` file.
pub fn read_pose_header(path: impl AsRef<Path>) -> Result<PoseHeader, PoseError> {
    let path = path.as_ref();
    let read = || -> Result<PoseHeader, PoseError> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        let mut input = Input::new(BufReader::new(file), Some(len));
        read_header(&mut input)
    };
    read().map_err(|e| e.in_file(path))
}

/// Write `pose` as a v0.2 `.pose` file, atomically (temp file in the same
/// directory, then rename), so a failure never leaves a half-written file.
pub fn write_pose(path: impl AsRef<Path>, pose: &Pose) -> Result<(), PoseError> {
    let path = path.as_ref();
    write_atomic(path, |w| write_pose_to(w, pose)).map_err(|e| e.in_file(path))
}

/// Write only the header (a `.poseheader` file), atomically.
pub fn write_pose_header(path: impl AsRef<Path>, header: &PoseHeader) -> Result<(), PoseError> {
    let path = path.as_ref();
    write_atomic(path, |w| write_header(w, header)).map_err(|e| e.in_file(path))
}

/// Write `pose` as v0.2 to any writer.
pub fn write_pose_to(w: &mut impl Write, pose: &Pose) -> Result<(), PoseError> {
    pose.validate()?;
    write_header(w, &pose.header)?;
    let body = &pose.body;
    let frames = u32::try_from(body.frames()).map_err(|_| {
        PoseError::Invalid(format!(
            "{} frames do not fit the u32 frame count of .pose v0.2",
            body.frames()
        ))
    })?;
    let people = u16_count(body.people(), "people")?;
    w.write_all(&body.fps.to_le_bytes())?;
    w.write_all(&frames.to_le_bytes())?;
    w.write_all(&people.to_le_bytes())?;
    write_f32s(w, body.data.iter().copied(), body.data.as_slice())?;
    write_f32s(
        w,
        body.confidence.iter().copied(),
        body.confidence.as_slice(),
    )?;
    Ok(())
}

/// Write a header (always with [`WRITE_VERSION`]).
pub fn write_header(w: &mut impl Write, header: &PoseHeader) -> Result<(), PoseError> {
    let mut out = Vec::with_capacity(64 + header.total_points() * 16);
    out.extend_from_slice(&WRITE_VERSION.to_le_bytes());
    for v in [header.width, header.height, header.depth] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&u16_count(header.components.len(), "components")?.to_le_bytes());
    for c in &header.components {
        push_str(&mut out, &c.name)?;
        push_str(&mut out, &c.format)?;
        for (n, what) in [
            (c.points.len(), "points"),
            (c.limbs.len(), "limbs"),
            (c.colors.len(), "colors"),
        ] {
            out.extend_from_slice(&u16_count(n, what)?.to_le_bytes());
        }
        for p in &c.points {
            push_str(&mut out, p)?;
        }
        for &(a, b) in &c.limbs {
            out.extend_from_slice(&a.to_le_bytes());
            out.extend_from_slice(&b.to_le_bytes());
        }
        for rgb in &c.colors {
            for v in rgb {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
    }
    w.write_all(&out)?;
    Ok(())
}

/// Size of the first read of a whole file: enough for the header of a full
/// MediaPipe Holistic file (about 15 KB) and the body prelude, so the body is
/// then read straight into its arrays.
const HEAD_BYTES: usize = 32 << 10;

/// Whole v0.1/v0.2 files: the first [`HEAD_BYTES`] give the header (usually an
/// already parsed, shared one) and the start of the body; the rest of the body is
/// read from the file straight into the f32 arrays, so each byte is copied once
/// from the OS (plus the small tail of the head). v0.0 and non-regular files are
/// read whole and decoded from memory.
fn read_whole_pose(path: &Path, options: &ReadOptions) -> Result<Pose, PoseError> {
    let mut file = File::open(path)?;
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        return Pose::from_bytes_with(&bytes, options);
    }
    let len = metadata.len();
    let mut head = Vec::with_capacity(len.min(HEAD_BYTES as u64) as usize);
    (&mut file).take(HEAD_BYTES as u64).read_to_end(&mut head)?;
    let (header, header_len) = read_shared_header(&head, &mut file, len)?;
    let mut input = Input {
        inner: head
            .get(header_len as usize..)
            .unwrap_or(&[])
            .chain(&mut file),
        pos: header_len,
        len: Some(len),
    };
    let layout = BodyLayout::read(&header, &mut input)?;
    if layout.version == FormatVersion::V0_0 {
        file.seek(SeekFrom::Start(0))?;
        let mut bytes = Vec::with_capacity(len as usize);
        file.read_to_end(&mut bytes)?;
        return Pose::from_bytes_with(&bytes, options);
    }
    layout.check_decoded_size(layout.frames, options)?;
    let all = 0..layout.frames;
    let mut array = |bytes: std::ops::Range<u64>, what: &str| -> Result<Vec<f32>, PoseError> {
        let mut values = vec![0f32; ((bytes.end - bytes.start) / 4) as usize];
        input.read_into(bytemuck::cast_slice_mut(&mut values), what)?;
        from_le_in_place(&mut values);
        Ok(values)
    };
    // v0.1/v0.2 bodies are the coordinates, then the confidences, back to back.
    let data = array(layout.data_bytes(all.clone()), "pose data")?;
    let confidence = array(layout.confidence_bytes(all), "pose confidence")?;
    layout.build_pose(header, layout.frames, data, confidence, options)
}

impl Pose {
    /// Decode a whole `.pose` file held in memory.
    pub fn from_bytes(bytes: &[u8]) -> Result<Pose, PoseError> {
        Pose::from_bytes_with(bytes, &ReadOptions::default())
    }

    pub fn from_bytes_with(bytes: &[u8], options: &ReadOptions) -> Result<Pose, PoseError> {
        let (header, layout) = parse_header_and_layout(bytes)?;
        if layout.version == FormatVersion::V0_0 {
            let mut cursor = std::io::Cursor::new(bytes);
            cursor.set_position(layout.data_offset);
            return PoseFrameReader::from_parts(cursor, header, layout).read_range(options);
        }
        PoseView::from_parts(std::borrow::Cow::Borrowed(bytes), header, layout).to_pose(options)
    }

    /// Encode as a v0.2 `.pose` file.
    pub fn to_bytes(&self) -> Result<Vec<u8>, PoseError> {
        let mut out = Vec::with_capacity(
            self.header.total_points() * 16
                + (self.body.data.len() + self.body.confidence.len()) * 4
                + 64,
        );
        write_pose_to(&mut out, self)?;
        Ok(out)
    }
}

impl PoseHeader {
    /// Decode a header (a `.poseheader` file, or the start of a `.pose` file).
    pub fn from_bytes(bytes: &[u8]) -> Result<PoseHeader, PoseError> {
        read_header(&mut Input::new(bytes, Some(bytes.len() as u64)))
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>, PoseError> {
        let mut out = Vec::new();
        write_header(&mut out, self)?;
        Ok(out)
    }
}

// ---------------------------------------------------------------------------
// Streaming

/// One decoded frame.
#[derive(Debug, Clone, PartialEq)]
pub struct PoseFrame {
    /// Index of the frame in the file.
    pub index: usize,
    /// `[people, points, dims]`
    pub data: Array3<f32>,
    /// `[people, points]`
    pub confidence: Array2<f32>,
}

/// Reads a `.pose` stream header first, then frame by frame, so long recordings
/// need not sit in memory. v0.1/v0.2 store all coordinates before all
/// confidences, so pairing them frame by frame needs `Seek`; frames are fetched
/// in chunks of about [`PoseFrameReader::CHUNK_BYTES`] to keep seeks rare.
pub struct PoseFrameReader<R> {
    input: R,
    header: Arc<PoseHeader>,
    layout: BodyLayout,
    next_frame: usize,
    end_frame: usize,
    non_finite: NonFinite,
    /// Decoded frames not yet handed out.
    chunk: Option<FrameChunk>,
}

impl PoseFrameReader<File> {
    /// Open a `.pose` file for frame-by-frame reading.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, PoseError> {
        let path = path.as_ref();
        File::open(path)
            .map_err(PoseError::from)
            .and_then(PoseFrameReader::new)
            .map_err(|e| e.in_file(path))
    }
}

impl<R: Read + Seek> PoseFrameReader<R> {
    pub const CHUNK_BYTES: usize = 1 << 20;

    /// Read the header and body prelude; frames are decoded on demand.
    pub fn new(mut reader: R) -> Result<Self, PoseError> {
        let start = reader.stream_position()?;
        let len = reader.seek(SeekFrom::End(0))?;
        reader.seek(SeekFrom::Start(start))?;
        let mut input = Input::new(BufReader::new(reader), Some(len - start.min(len)));
        let header = Arc::new(read_header(&mut input)?);
        let layout = BodyLayout::read(&header, &mut input)?;
        let consumed = input.pos;
        let mut reader = input.inner.into_inner();
        reader.seek(SeekFrom::Start(start + consumed))?;
        let mut frames = PoseFrameReader::from_parts(reader, header, layout);
        frames.layout.data_offset += start;
        frames.layout.confidence_offset += start;
        frames.layout.stream_end += start;
        Ok(frames)
    }

    /// `input` is positioned right after the body prelude; offsets in `layout`
    /// are absolute positions in `input`.
    fn from_parts(input: R, header: Arc<PoseHeader>, layout: BodyLayout) -> Self {
        PoseFrameReader {
            input,
            end_frame: layout.frames,
            header,
            layout,
            next_frame: 0,
            non_finite: NonFinite::Keep,
            chunk: None,
        }
    }

    pub fn header(&self) -> &PoseHeader {
        &self.header
    }
    pub fn version(&self) -> FormatVersion {
        self.layout.version
    }
    pub fn fps(&self) -> f32 {
        self.layout.fps
    }
    /// Frames in the file (for v0.0: as its header declares).
    pub fn frames(&self) -> usize {
        self.layout.frames
    }
    /// People per frame (v0.0 keeps one person, as pose-format does).
    pub fn people(&self) -> usize {
        self.layout.people
    }

    /// Restrict iteration to `range` (v0.1/v0.2 seek straight to its start;
    /// v0.0 frames have variable length, so they are read and dropped up to it).
    pub fn set_range(&mut self, range: ReadRange) -> Result<(), PoseError> {
        let r = range.resolve(self.layout.frames, self.layout.fps)?;
        if self.layout.version == FormatVersion::V0_0 {
            if r.start < self.next_frame {
                return Err(PoseError::Unsupported(
                    "v0.0 frames have variable length and can only be read forwards".into(),
                ));
            }
            while self.next_frame < r.start {
                self.read_v0_frame()?;
                self.next_frame += 1;
            }
        }
        self.next_frame = r.start;
        self.end_frame = r.end;
        self.chunk = None;
        Ok(())
    }

    pub fn set_non_finite(&mut self, policy: NonFinite) {
        self.non_finite = policy;
    }

    /// Read the frames of `options.range` into a [`Pose`].
    pub fn read_range(&mut self, options: &ReadOptions) -> Result<Pose, PoseError> {
        let range = options.range.resolve(self.layout.frames, self.layout.fps)?;
        self.layout.check_decoded_size(range.len(), options)?;
        let (data, confidence) = if self.layout.version == FormatVersion::V0_0 {
            let (mut data, mut confidence) = (Vec::new(), Vec::new());
            for frame in 0..range.end {
                let (d, c) = self.read_v0_frame()?;
                if frame >= range.start {
                    data.extend_from_slice(&d);
                    confidence.extend_from_slice(&c);
                }
            }
            self.next_frame = range.end;
            (data, confidence)
        } else {
            self.read_block(range.start, range.len())?
        };
        self.layout
            .build_pose(self.header.clone(), range.len(), data, confidence, options)
    }

    /// Decode frames `start..start + count` of a v0.1/v0.2 body.
    fn read_block(
        &mut self,
        start: usize,
        count: usize,
    ) -> Result<(Vec<f32>, Vec<f32>), PoseError> {
        let range = start..start + count;
        let mut block = |r: std::ops::Range<u64>| -> Result<Vec<f32>, PoseError> {
            self.input.seek(SeekFrom::Start(r.start))?;
            // Read straight into the f32 buffer: one copy from the OS, no decode pass.
            let mut values = vec![0f32; ((r.end - r.start) / 4) as usize];
            self.input
                .read_exact(bytemuck::cast_slice_mut(&mut values))
                .map_err(|e| truncated(e, "frame data", r.start))?;
            from_le_in_place(&mut values);
            Ok(values)
        };
        let data = block(self.layout.data_bytes(range.clone()))?;
        let confidence = block(self.layout.confidence_bytes(range))?;
        Ok((data, confidence))
    }

    /// Decode the next v0.0 frame: `([points * dims], [points])` of person 0.
    fn read_v0_frame(&mut self) -> Result<(Vec<f32>, Vec<f32>), PoseError> {
        let points = self.layout.points;
        let dims = self.layout.dims;
        let mut data = vec![0f32; points * dims];
        let mut confidence = vec![0f32; points];
        let pos = self.input.stream_position()?;
        let mut input = Input {
            inner: &mut self.input,
            pos,
            len: Some(self.layout.stream_end),
        };
        let people = input.u16("v0.0 people count")?;
        let mut bytes = Vec::new();
        for person in 0..people {
            input.i16("v0.0 person id")?;
            let mut point = 0;
            for c in &self.header.components {
                let channels = c.format.len();
                let size = c.points.len() * channels * 4;
                input.ensure(size as u64, || {
                    format!("v0.0 frame of component {:?}", c.name)
                })?;
                bytes.resize(size, 0);
                input.read_into(&mut bytes, "v0.0 person points")?;
                if person != 0 {
                    continue;
                }
                for values in decode_f32s(&bytes).chunks_exact(channels) {
                    let (coords, conf) = values.split_at(channels - 1);
                    data[point * dims..point * dims + coords.len()].copy_from_slice(coords);
                    confidence[point] = conf[0];
                    point += 1;
                }
            }
        }
        Ok((data, confidence))
    }

    fn next_frame_inner(&mut self) -> Result<PoseFrame, PoseError> {
        let index = self.next_frame;
        let (people, points, dims) = (self.layout.people, self.layout.points, self.layout.dims);
        let (data, confidence) = if self.layout.version == FormatVersion::V0_0 {
            self.read_v0_frame()?
        } else {
            let cached = matches!(&self.chunk, Some(chunk)
                if index >= chunk.first && index < chunk.first + chunk.count);
            if !cached {
                let per_frame = (people * points * (dims + 1) * 4).max(1);
                let count = (Self::CHUNK_BYTES / per_frame).clamp(1, self.end_frame - index);
                let (data, confidence) = self.read_block(index, count)?;
                self.chunk = Some(FrameChunk {
                    first: index,
                    count,
                    data,
                    confidence,
                });
            }
            let Some(chunk) = &self.chunk else {
                unreachable!("chunk was just filled")
            };
            let (fd, fc) = (people * points * dims, people * points);
            let k = index - chunk.first;
            (
                chunk.data[k * fd..(k + 1) * fd].to_vec(),
                chunk.confidence[k * fc..(k + 1) * fc].to_vec(),
            )
        };
        self.next_frame += 1;
        if self.non_finite == NonFinite::Reject {
            check_finite(&data, &confidence, index)?;
        }
        let shape_people = if self.layout.version == FormatVersion::V0_0 {
            1
        } else {
            people
        };
        Ok(PoseFrame {
            index,
            data: Array3::from_shape_vec((shape_people, points, dims), data)
                .map_err(|e| PoseError::Invalid(e.to_string()))?,
            confidence: Array2::from_shape_vec((shape_people, points), confidence)
                .map_err(|e| PoseError::Invalid(e.to_string()))?,
        })
    }
}

impl<R: Read + Seek> Iterator for PoseFrameReader<R> {
    type Item = Result<PoseFrame, PoseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next_frame >= self.end_frame {
            return None;
        }
        let frame = self.next_frame_inner();
        if frame.is_err() {
            // A broken stream yields its error once, then ends.
            self.end_frame = self.next_frame;
        }
        Some(frame)
    }
}

/// A run of decoded v0.1/v0.2 frames.
struct FrameChunk {
    first: usize,
    count: usize,
    data: Vec<f32>,
    confidence: Vec<f32>,
}

// ---------------------------------------------------------------------------
// Body layout

/// Where a body's arrays lie, worked out from the header and body prelude.
#[derive(Debug, Clone, Copy)]
struct BodyLayout {
    version: FormatVersion,
    fps: f32,
    frames: usize,
    /// v0.0 always decodes to one person.
    people: usize,
    points: usize,
    dims: usize,
    data_offset: u64,
    confidence_offset: u64,
    /// Position of the end of the input.
    stream_end: u64,
}

impl BodyLayout {
    fn read<R: Read>(header: &PoseHeader, input: &mut Input<R>) -> Result<BodyLayout, PoseError> {
        let version = FormatVersion::from_header_version(header.version)?;
        let points = header.total_points();
        let dims = header.dims();
        let (fps, declared_frames, people) = match version {
            FormatVersion::V0_2 => (
                input.f32("fps")?,
                input.u32("frame count")? as u64,
                input.u16("people count")? as usize,
            ),
            FormatVersion::V0_1 => (
                input.u16("fps")? as f32,
                input.u16("frame count")? as u64,
                input.u16("people count")? as usize,
            ),
            FormatVersion::V0_0 => {
                let fps = input.u16("fps")? as f32;
                let frames = input.u16("frame count")? as usize;
                // Each v0.0 frame holds at least its u16 people count.
                input.ensure(frames as u64 * 2, || format!("{frames} v0.0 frames"))?;
                return Ok(BodyLayout {
                    version,
                    fps,
                    frames,
                    people: 1,
                    points,
                    dims,
                    data_offset: input.pos,
                    confidence_offset: input.pos,
                    stream_end: input.pos + input.remaining().unwrap_or(0),
                });
            }
        };
        let frame_bytes = people as u128 * points as u128 * (dims as u128 + 1) * 4;
        let left = input.remaining().unwrap_or(0);
        let frames = match version {
            // pose-format ignores v0.1's u16 frame count (it overflows) and derives it.
            FormatVersion::V0_1 if frame_bytes > 0 => (left as u128 / frame_bytes) as u64,
            _ => declared_frames,
        };
        let body_bytes = frames as u128 * frame_bytes;
        if body_bytes > left as u128 {
            return Err(PoseError::Truncated(format!(
                "body declares {frames} frames × {people} people × {points} points × {} floats \
                 but only {left} bytes follow the header",
                dims + 1
            )));
        }
        let body_bytes = body_bytes as u64;
        let data_offset = input.pos;
        Ok(BodyLayout {
            version,
            fps,
            frames: usize::try_from(frames)
                .map_err(|_| PoseError::Invalid("too many frames".into()))?,
            people,
            points,
            dims,
            data_offset,
            confidence_offset: data_offset + body_bytes / (dims as u64 + 1) * dims as u64,
            stream_end: input.pos + left,
        })
    }

    fn data_bytes(&self, frames: std::ops::Range<usize>) -> std::ops::Range<u64> {
        let per_frame = (self.people * self.points * self.dims * 4) as u64;
        self.data_offset + frames.start as u64 * per_frame
            ..self.data_offset + frames.end as u64 * per_frame
    }

    fn confidence_bytes(&self, frames: std::ops::Range<usize>) -> std::ops::Range<u64> {
        let per_frame = (self.people * self.points * 4) as u64;
        self.confidence_offset + frames.start as u64 * per_frame
            ..self.confidence_offset + frames.end as u64 * per_frame
    }

    fn check_decoded_size(&self, frames: usize, options: &ReadOptions) -> Result<(), PoseError> {
        let bytes = (frames as u128)
            * (self.people as u128)
            * (self.points as u128)
            * (self.dims as u128 + 1)
            * 4;
        if bytes > options.max_decoded_bytes as u128 {
            return Err(PoseError::Invalid(format!(
                "{frames} frames of {} points would decode to {bytes} bytes, over the limit of {}",
                self.points, options.max_decoded_bytes
            )));
        }
        Ok(())
    }

    fn build_pose(
        &self,
        header: Arc<PoseHeader>,
        frames: usize,
        data: Vec<f32>,
        confidence: Vec<f32>,
        options: &ReadOptions,
    ) -> Result<Pose, PoseError> {
        if options.non_finite == NonFinite::Reject {
            check_finite(&data, &confidence, 0)?;
        }
        let shape_error = |e: ndarray::ShapeError| PoseError::Invalid(e.to_string());
        let body = PoseBody {
            fps: self.fps,
            data: Array4::from_shape_vec((frames, self.people, self.points, self.dims), data)
                .map_err(shape_error)?,
            confidence: Array3::from_shape_vec((frames, self.people, self.points), confidence)
                .map_err(shape_error)?,
        };
        Pose::new(header, body)
    }
}

fn check_finite(data: &[f32], confidence: &[f32], first_frame: usize) -> Result<(), PoseError> {
    let bad = data
        .iter()
        .chain(confidence)
        .filter(|v| !v.is_finite())
        .count();
    if bad > 0 {
        return Err(PoseError::Invalid(format!(
            "{bad} non-finite values (NaN or inf) in frames from {first_frame} on"
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Header

/// The (shared) header and body layout of a whole `.pose` file held in memory.
fn parse_header_and_layout(bytes: &[u8]) -> Result<(Arc<PoseHeader>, BodyLayout), PoseError> {
    let len = bytes.len() as u64;
    let (header, header_len) = read_shared_header(bytes, &mut std::io::empty(), len)?;
    let mut input = Input {
        inner: &bytes[header_len as usize..],
        pos: header_len,
        len: Some(len),
    };
    let layout = BodyLayout::read(&header, &mut input)?;
    Ok((header, layout))
}

/// Headers read recently, most recent first, with the bytes they were parsed
/// from. A lexicon's clips all carry the same header (MediaPipe Holistic: 586
/// point names, 2,676 limbs), and parsing it costs more than copying a clip's
/// body, so files whose bytes start with a remembered header share its parse.
static RECENT_HEADERS: Mutex<Vec<RecentHeader>> = Mutex::new(Vec::new());

/// How many distinct headers [`RECENT_HEADERS`] keeps, and the longest it keeps
/// (so it holds at most a few MB).
const RECENT_HEADER_COUNT: usize = 8;
const RECENT_HEADER_MAX_BYTES: usize = 1 << 20;

struct RecentHeader {
    bytes: Box<[u8]>,
    header: Arc<PoseHeader>,
}

/// A panic elsewhere while the list was locked leaves it intact (it is only
/// rotated and pushed to), so a poisoned lock is used as is.
fn recent_headers() -> MutexGuard<'static, Vec<RecentHeader>> {
    RECENT_HEADERS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

/// The header at the start of `head`, which continues in `rest` when the header
/// is longer than `head`; returns it with its length in bytes. `len` is the length
/// of the whole input.
///
/// Parsing reads exactly the header's bytes and nothing else (every count is
/// checked against bytes the header itself must hold), so any input that starts
/// with a remembered header's bytes parses to that header.
fn read_shared_header(
    head: &[u8],
    rest: &mut impl Read,
    len: u64,
) -> Result<(Arc<PoseHeader>, u64), PoseError> {
    {
        let mut recent = recent_headers();
        if let Some(i) = recent.iter().position(|r| head.starts_with(&r.bytes)) {
            recent[..=i].rotate_right(1);
            let hit = &recent[0];
            return Ok((hit.header.clone(), hit.bytes.len() as u64));
        }
    }
    let mut input = Input::new(head.chain(rest), Some(len));
    let header = Arc::new(read_header(&mut input)?);
    // Headers longer than `head` were partly read from `rest` and are not remembered.
    if let Some(bytes) = head
        .get(..input.pos as usize)
        .filter(|b| b.len() <= RECENT_HEADER_MAX_BYTES)
    {
        let mut recent = recent_headers();
        // Another thread may have parsed the same header meanwhile.
        if recent.iter().any(|r| *r.bytes == *bytes) {
            return Ok((header, input.pos));
        }
        recent.truncate(RECENT_HEADER_COUNT - 1);
        recent.insert(
            0,
            RecentHeader {
                bytes: bytes.into(),
                header: header.clone(),
            },
        );
    }
    Ok((header, input.pos))
}

fn read_header<R: Read>(input: &mut Input<R>) -> Result<PoseHeader, PoseError> {
    let version = input.f32("version")?;
    FormatVersion::from_header_version(version)?;
    let width = input.u16("width")?;
    let height = input.u16("height")?;
    let depth = input.u16("depth")?;
    let n_components = input.u16("component count")?;
    // Each component needs at least two string lengths and three counts.
    input.ensure(n_components as u64 * 10, || {
        format!("{n_components} components")
    })?;
    let mut components = Vec::with_capacity(n_components as usize);
    for index in 0..n_components {
        let name = input.str("component name")?;
        let format = input.str("point format")?;
        let n_points = input.u16("point count")?;
        let n_limbs = input.u16("limb count")?;
        let n_colors = input.u16("colour count")?;
        input.ensure(
            n_points as u64 * 2 + n_limbs as u64 * 4 + n_colors as u64 * 6,
            || {
                format!(
                    "component {name:?} with {n_points} points, {n_limbs} limbs, {n_colors} colours"
                )
            },
        )?;
        if format.is_empty() {
            return Err(PoseError::Invalid(format!(
                "component {index} ({name:?}) has an empty point format"
            )));
        }
        let points = (0..n_points)
            .map(|_| input.str("point name"))
            .collect::<Result<Vec<_>, _>>()?;
        // Limbs and colours are read as one block each: a Holistic face has thousands.
        let limbs = input
            .u16s(n_limbs as usize * 2, "limbs")?
            .chunks_exact(2)
            .map(|p| (p[0], p[1]))
            .collect();
        let colors = input
            .u16s(n_colors as usize * 3, "colours")?
            .chunks_exact(3)
            .map(|rgb| [rgb[0], rgb[1], rgb[2]])
            .collect();
        components.push(Component {
            name,
            format,
            points,
            limbs,
            colors,
        });
    }
    Ok(PoseHeader {
        version,
        width,
        height,
        depth,
        components,
    })
}

// ---------------------------------------------------------------------------
// Byte-level helpers

/// A reader that knows its position and, when known, how many bytes remain,
/// so counts can be checked before allocating.
struct Input<R> {
    inner: R,
    pos: u64,
    len: Option<u64>,
}

impl<R: Read> Input<R> {
    fn new(inner: R, len: Option<u64>) -> Self {
        Input { inner, pos: 0, len }
    }

    fn remaining(&self) -> Option<u64> {
        self.len.map(|len| len.saturating_sub(self.pos))
    }

    /// Fail unless at least `needed` bytes remain.
    fn ensure(&self, needed: u64, what: impl FnOnce() -> String) -> Result<(), PoseError> {
        match self.remaining() {
            Some(left) if left < needed => Err(PoseError::Truncated(format!(
                "{} need at least {needed} bytes but only {left} remain at byte {}",
                what(),
                self.pos
            ))),
            _ => Ok(()),
        }
    }

    fn read_into(&mut self, buf: &mut [u8], what: &str) -> Result<(), PoseError> {
        self.inner
            .read_exact(buf)
            .map_err(|e| truncated(e, what, self.pos))?;
        self.pos += buf.len() as u64;
        Ok(())
    }

    /// `n` little-endian u16s (the caller has bounded `n` by the bytes present).
    fn u16s(&mut self, n: usize, what: &str) -> Result<Vec<u16>, PoseError> {
        let mut buf = vec![0u8; n * 2];
        self.read_into(&mut buf, what)?;
        Ok(buf
            .chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .collect())
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], PoseError> {
        let mut buf = [0u8; N];
        self.read_into(&mut buf, what)?;
        Ok(buf)
    }

    fn u16(&mut self, what: &str) -> Result<u16, PoseError> {
        self.array(what).map(u16::from_le_bytes)
    }
    fn i16(&mut self, what: &str) -> Result<i16, PoseError> {
        self.array(what).map(i16::from_le_bytes)
    }
    fn u32(&mut self, what: &str) -> Result<u32, PoseError> {
        self.array(what).map(u32::from_le_bytes)
    }
    fn f32(&mut self, what: &str) -> Result<f32, PoseError> {
        self.array(what).map(f32::from_le_bytes)
    }

    fn str(&mut self, what: &str) -> Result<String, PoseError> {
        let len = self.u16(what)? as usize;
        let mut bytes = vec![0u8; len];
        self.read_into(&mut bytes, what)?;
        String::from_utf8(bytes)
            .map_err(|_| PoseError::Invalid(format!("{what} at byte {} is not UTF-8", self.pos)))
    }
}

fn truncated(e: std::io::Error, what: &str, pos: u64) -> PoseError {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        PoseError::Truncated(format!("file ends inside {what} at byte {pos}"))
    } else {
        PoseError::Io(e)
    }
}

/// Little-endian f32s, decoded in bulk: one copy on little-endian targets
/// (a per-float `from_le_bytes` loop does not vectorise and is 6× slower).
pub fn decode_f32s(bytes: &[u8]) -> Vec<f32> {
    let n = bytes.len() / 4;
    let mut out = Vec::<f32>::with_capacity(n);
    // SAFETY: `out` has room for `n` f32s, i.e. `n * 4` bytes, which do not overlap
    // `bytes`; every bit pattern is a valid f32, so all `n` are initialised.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), out.as_mut_ptr().cast::<u8>(), n * 4);
        out.set_len(n);
    }
    from_le_in_place(&mut out);
    out
}

/// Byte-swap floats copied raw from little-endian storage (a no-op on little-endian targets).
fn from_le_in_place(values: &mut [f32]) {
    if cfg!(target_endian = "big") {
        for v in values {
            *v = f32::from_bits(u32::from_le(v.to_bits()));
        }
    }
}

fn write_f32s(
    w: &mut impl Write,
    values: impl Iterator<Item = f32>,
    contiguous: Option<&[f32]>,
) -> Result<(), PoseError> {
    const CHUNK: usize = 1 << 16;
    let mut buf = Vec::with_capacity(CHUNK * 4);
    let mut flush = |buf: &mut Vec<u8>| -> std::io::Result<()> {
        w.write_all(buf)?;
        buf.clear();
        Ok(())
    };
    match contiguous {
        Some(slice) => {
            for chunk in slice.chunks(CHUNK) {
                buf.extend(chunk.iter().flat_map(|v| v.to_le_bytes()));
                flush(&mut buf)?;
            }
        }
        None => {
            for v in values {
                buf.extend_from_slice(&v.to_le_bytes());
                if buf.len() >= CHUNK * 4 {
                    flush(&mut buf)?;
                }
            }
            flush(&mut buf)?;
        }
    }
    Ok(())
}

fn push_str(out: &mut Vec<u8>, s: &str) -> Result<(), PoseError> {
    let len = u16::try_from(s.len()).map_err(|_| {
        PoseError::Invalid(format!("string of {} bytes is too long for .pose", s.len()))
    })?;
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

fn u16_count(n: usize, what: &str) -> Result<u16, PoseError> {
    u16::try_from(n)
        .map_err(|_| PoseError::Invalid(format!("{n} {what} do not fit the u16 count of .pose")))
}

/// Write through `write` to a temp file beside `path`, then rename over `path`
/// (signscope-fsio: synced, permissions of the replaced file).
pub(crate) fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut signscope_fsio::AtomicFile) -> Result<(), PoseError>,
) -> Result<(), PoseError> {
    let mut file = signscope_fsio::AtomicFile::create(path)?;
    write(&mut file)?;
    file.commit()?;
    Ok(())
}

//! The production pipeline: gloss sequence → lexicon clips → one joined `.pose`.
//!
//! Every failure that concerns one word (no sign, no letter, a missing or corrupt `.pose`
//! file) becomes a warning naming the word, entry and file, and the rest of the sentence is
//! still produced; only a sentence with nothing left to sign is an error.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use ndarray::{Array3, Array4};
use signscope_pose::{Pose, PoseBody, PoseHeader};

use crate::clip::Clip;
use crate::fingerspell::Fingerspeller;
use crate::join::{JoinOptions, Segment, SignClip, join_signs};
use crate::layout::{BodyPoints, CANVAS_SIZE, point_sources, production_header};
use crate::lexicon::Lexicon;
use crate::text_to_gloss::{GlossItem, Glossed, LanguagePair, TextToGloss};

/// Shoulder width on the output canvas: pose-format's `normalize_pose_size` places the
/// normalized body at `(v + 1.25) × 512 / 2.5`, i.e. shoulders 204.8 px apart, centred.
pub const SHOULDER_WIDTH_PX: f32 = CANVAS_SIZE as f32 / 2.5;
const CANVAS_OFFSET: f32 = 1.25;

#[derive(Debug, thiserror::Error)]
pub enum ProduceError {
    #[error("nothing to sign for {text:?}{}", if .warnings.is_empty() { String::new() } else { format!(": {}", .warnings.join("; ")) })]
    NothingToSign { text: String, warnings: Vec<String> },
    #[error("text to gloss failed: {0:#}")]
    TextToGloss(anyhow::Error),
}

/// A produced sentence.
#[derive(Debug, Clone)]
pub struct Production {
    /// The joined sequence on a 512 × 512 canvas (reduced Holistic for Holistic lexicons).
    pub pose: Pose,
    pub glossed: Glossed,
    /// Each sign's frames in `pose`.
    pub segments: Vec<Segment>,
    /// Frames between signs (transitions and pauses).
    pub joins: Vec<Range<usize>>,
    /// Everything that was skipped or replaced, one message each.
    pub warnings: Vec<String>,
}

/// Cache key of a prepared clip: (lexicon pose address, output fps bits, target points).
/// Lexicons keep their loaded poses for their whole life, so addresses are never reused.
type ClipKey = (usize, u32, usize);

/// Looks signs up, loads and joins them.
#[derive(Debug)]
pub struct Producer {
    pub lexicon: Arc<Lexicon>,
    pub fingerspeller: Option<Arc<Fingerspeller>>,
    pub options: JoinOptions,
    /// Signs already projected, resampled and normalized, reused across sentences.
    clips: Mutex<HashMap<ClipKey, Arc<Clip>>>,
}

/// Project a lexicon pose onto the output layout, at `fps`, shoulder-normalized.
fn prepare_clip(pose: &Pose, projector: &mut Projector, fps: f32) -> Result<Clip, String> {
    let dims = projector.target.dims();
    let sources = projector.sources(&pose.header)?;
    let mut clip = Clip::from_pose(pose, sources, dims);
    if pose.body.fps <= 0.0 {
        clip.fps = fps;
    }
    let mut clip = clip.to_fps(fps);
    if !clip.normalize_by_shoulders(&projector.body) {
        return Err("no frame shows both shoulders".into());
    }
    Ok(clip)
}

/// A clip to join, before projection.
struct Unit {
    label: String,
    pose: Arc<Pose>,
    is_letter: bool,
    pause_after_s: f32,
}

/// Point sources per distinct input header, so mixed lexicons resolve names once per layout.
struct Projector {
    target: PoseHeader,
    body: BodyPoints,
    known: Vec<(PoseHeader, Vec<Option<usize>>)>,
}

impl Projector {
    fn new(first: &PoseHeader) -> Result<Projector, String> {
        let target = production_header(first);
        let body = BodyPoints::find(&target).map_err(|e| e.to_string())?;
        Ok(Projector {
            target,
            body,
            known: Vec::new(),
        })
    }

    fn sources(&mut self, header: &PoseHeader) -> Result<&[Option<usize>], String> {
        let index = match self
            .known
            .iter()
            .position(|(h, _)| h.components == header.components)
        {
            Some(i) => i,
            None => {
                let sources = point_sources(header, &self.target).map_err(|e| e.to_string())?;
                self.known.push((header.clone(), sources));
                self.known.len() - 1
            }
        };
        Ok(&self.known[index].1)
    }
}

impl Producer {
    pub fn new(lexicon: Arc<Lexicon>, fingerspeller: Option<Arc<Fingerspeller>>) -> Producer {
        Producer {
            lexicon,
            fingerspeller,
            options: JoinOptions::default(),
            clips: Mutex::new(HashMap::new()),
        }
    }

    /// Text → gloss with `glosser`, then [`Producer::gloss_to_pose`].
    pub fn produce(
        &self,
        glosser: &dyn TextToGloss,
        text: &str,
        languages: &LanguagePair,
    ) -> Result<Production, ProduceError> {
        let glossed = glosser
            .text_to_gloss(text, languages)
            .map_err(ProduceError::TextToGloss)?;
        self.gloss_to_pose(text, glossed, languages)
    }

    /// Letters of `word`, loaded; failures become warnings.
    fn spell_units(
        &self,
        word: &str,
        languages: &LanguagePair,
        warnings: &mut Vec<String>,
    ) -> Vec<Unit> {
        let Some(speller) = &self.fingerspeller else {
            warnings.push(format!(
                "{word:?}: cannot fingerspell without a fingerspelling lexicon; skipped"
            ));
            return Vec::new();
        };
        let letters = match speller.spell(word, languages) {
            Ok(letters) => letters,
            Err(e) => {
                warnings.push(format!("{word:?}: cannot fingerspell: {e}; skipped"));
                return Vec::new();
            }
        };
        let mut units = Vec::with_capacity(letters.len());
        for (letter, id) in letters {
            match speller.lexicon.load(id) {
                Ok(pose) => units.push(Unit {
                    label: letter.to_uppercase(),
                    pose,
                    is_letter: true,
                    pause_after_s: 0.0,
                }),
                Err(e) => warnings.push(format!("{word:?}: letter {letter:?} skipped: {e}")),
            }
        }
        units
    }

    /// Resolve, load and join the signs of `glossed`. `text` is only used in messages.
    pub fn gloss_to_pose(
        &self,
        text: &str,
        glossed: Glossed,
        languages: &LanguagePair,
    ) -> Result<Production, ProduceError> {
        let (spoken, signed) = (&languages.spoken, &languages.signed);
        let mut warnings = glossed.warnings.clone();
        let mut units: Vec<Unit> = Vec::new();
        for item in &glossed.items {
            match item {
                GlossItem::Pause { seconds, .. } => {
                    if let Some(last) = units.last_mut() {
                        last.pause_after_s = last.pause_after_s.max(*seconds);
                    }
                }
                GlossItem::Fingerspell { word } => {
                    units.extend(self.spell_units(word, languages, &mut warnings));
                }
                GlossItem::Sign { word, gloss, .. } => {
                    let id = self
                        .lexicon
                        .lookup_gloss(gloss, spoken, signed)
                        .or_else(|| self.lexicon.lookup_word(word, spoken, signed))
                        .or_else(|| self.lexicon.lookup_word(gloss, spoken, signed));
                    let loaded = match id {
                        None => Err(format!(
                            "no sign for gloss {gloss:?} in the lexicon for {spoken}→{signed}"
                        )),
                        Some(id) => self.lexicon.load(id).map_err(|e| e.to_string()),
                    };
                    match loaded {
                        Ok(pose) => units.push(Unit {
                            label: gloss.clone(),
                            pose,
                            is_letter: false,
                            pause_after_s: 0.0,
                        }),
                        Err(reason) => {
                            let spelled = self.spell_units(word, languages, &mut Vec::new());
                            if spelled.is_empty() {
                                warnings.push(format!("{word:?}: {reason}; skipped"));
                            } else {
                                warnings.push(format!("{word:?}: {reason}; fingerspelled"));
                                units.extend(spelled);
                            }
                        }
                    }
                }
            }
        }

        let nothing = |warnings: Vec<String>| ProduceError::NothingToSign {
            text: text.to_string(),
            warnings,
        };
        let Some(first) = units.first() else {
            return Err(nothing(warnings));
        };
        let mut projector = match Projector::new(&first.pose.header) {
            Ok(p) => p,
            Err(e) => {
                warnings.push(format!("{}: {e}", first.label));
                return Err(nothing(warnings));
            }
        };
        let fps = self.options.fps.unwrap_or(first.pose.body.fps).max(1.0);
        let mut signs = Vec::with_capacity(units.len());
        for unit in &units {
            let key = (
                Arc::as_ptr(&unit.pose) as usize,
                fps.to_bits(),
                projector.target.total_points(),
            );
            let cached = self.clips.lock().ok().and_then(|c| c.get(&key).cloned());
            let clip = match cached {
                Some(clip) => clip,
                None => match prepare_clip(&unit.pose, &mut projector, fps) {
                    Ok(clip) => {
                        let clip = Arc::new(clip);
                        if let Ok(mut cache) = self.clips.lock() {
                            cache.insert(key, clip.clone());
                        }
                        clip
                    }
                    Err(e) => {
                        warnings.push(format!("{}: skipped: {e}", unit.label));
                        continue;
                    }
                },
            };
            signs.push(SignClip {
                label: unit.label.clone(),
                clip: Clip::clone(&clip),
                is_letter: unit.is_letter,
                pause_after_s: unit.pause_after_s,
            });
        }
        let Some(joined) = join_signs(&signs, &projector.body, &self.options) else {
            return Err(nothing(warnings));
        };
        let pose = to_canvas(&joined.clip, projector.target.clone());
        Ok(Production {
            pose,
            glossed,
            segments: joined.segments,
            joins: joined.joins,
            warnings,
        })
    }
}

/// A normalized clip (shoulders 1 apart around the origin) as a pose on the canvas.
/// Missing points get zero coordinates, pose-format's convention.
pub fn to_canvas(clip: &Clip, header: PoseHeader) -> Pose {
    let (frames, points, dims) = (clip.frames(), clip.points(), clip.dims());
    let mut data = Array4::<f32>::zeros((frames, 1, points, dims));
    for t in 0..frames {
        for p in 0..points {
            if clip.confidence[[t, p]] > 0.0 {
                for d in 0..dims {
                    data[[t, 0, p, d]] = (clip.data[[t, p, d]] + CANVAS_OFFSET) * SHOULDER_WIDTH_PX;
                }
            }
        }
    }
    let confidence: Array3<f32> = clip
        .confidence
        .clone()
        .into_shape_with_order((frames, 1, points))
        .expect("same element count");
    Pose {
        header: header.into(),
        body: PoseBody {
            fps: clip.fps,
            data,
            confidence,
        },
    }
}

//! Whole corpora: choose the gloss sequences, assign signers, render in parallel, write
//! `.pose` files, the JSONL manifest (corpus crate format) and the data card.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use rayon::prelude::*;
use signscope_corpus::import::{csl_daily, phoenix_2014t};
use signscope_corpus::manifest::{Record, Split, write_manifest};

use crate::card::{self, CardInput};
use crate::dialogue::{self, generate_dialogue};
use crate::render::{PrototypeBank, RenderConfig, RenderStats, render_utterance};
use crate::seed::derive_seed;
use crate::signer::SignerProfile;

/// Where the gloss sequences come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GlossSource {
    /// RWTH-PHOENIX-Weather-2014T (`phoenix-2014t/PHOENIX-2014-T.<split>.corpus.csv`)
    #[value(name = "phoenix2014t", alias = "phoenix-2014t")]
    Phoenix2014T,
    /// CSL-Daily (`csl-daily/csl-daily.<split>.tsv`)
    #[value(name = "csl-daily")]
    CslDaily,
    /// The built-in English dialogue grammar with homonyms
    #[value(name = "dialogue")]
    Dialogue,
}

impl GlossSource {
    pub fn name(self) -> &'static str {
        match self {
            GlossSource::Phoenix2014T => "phoenix2014t",
            GlossSource::CslDaily => "csl-daily",
            GlossSource::Dialogue => "dialogue",
        }
    }
}

/// Everything that determines a generated corpus. Same options → same bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthOptions {
    pub source: GlossSource,
    /// Folder holding `phoenix-2014t/` and `csl-daily/` (the project's `shared/data`).
    pub data_dir: PathBuf,
    pub splits: Vec<Split>,
    pub out: PathBuf,
    /// Size of the virtual signer pool.
    pub signers: usize,
    /// How many different signers sign each sentence (SCOPE has four per text).
    pub renderings: usize,
    pub seed: u64,
    /// At most this many source sentences (dialogues in dialogue mode) per split.
    pub limit: Option<usize>,
    pub fps: f32,
    pub width: u16,
    pub height: u16,
    /// Dialogue mode: number of dialogues to draw before splitting 80/5/15 by dialogue.
    pub dialogues: usize,
}

impl SynthOptions {
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.signers == 0 {
            bail!("--signers must be at least 1");
        }
        if self.renderings == 0 || self.renderings > self.signers {
            bail!(
                "--renderings must be between 1 and the number of signers ({}), got {}",
                self.signers,
                self.renderings
            );
        }
        if !(self.fps.is_finite() && (5.0..=120.0).contains(&self.fps)) {
            bail!("--fps must be between 5 and 120, got {}", self.fps);
        }
        if self.width < 160 || self.height < 120 {
            bail!(
                "image size {}x{} is too small (at least 160x120)",
                self.width,
                self.height
            );
        }
        if self.splits.is_empty() {
            bail!("no splits selected");
        }
        Ok(())
    }
}

/// One utterance to render: its manifest record (without pose path yet), the motion key
/// of each sign, and the signer.
#[derive(Debug, Clone)]
pub struct Planned {
    pub record: Record,
    pub keys: Vec<String>,
    pub signer: usize,
}

/// What [`generate`] did.
#[derive(Debug, Clone)]
pub struct Summary {
    pub records: Vec<Record>,
    pub stats: RenderStats,
    pub manifest: PathBuf,
    pub card: PathBuf,
    pub seconds: f64,
}

/// Stable file-name form of a record id.
fn file_stem(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The utterances of a corpus, in manifest order.
pub fn plan(options: &SynthOptions) -> anyhow::Result<Vec<Planned>> {
    options.validate()?;
    let n = options.signers;
    let mut planned = Vec::new();
    match options.source {
        GlossSource::Phoenix2014T | GlossSource::CslDaily => {
            let mut sources = Vec::new();
            for &split in &options.splits {
                let (path, language) = match options.source {
                    GlossSource::Phoenix2014T => (
                        options
                            .data_dir
                            .join(format!("phoenix-2014t/PHOENIX-2014-T.{split}.corpus.csv")),
                        "phoenix",
                    ),
                    _ => (
                        options
                            .data_dir
                            .join(format!("csl-daily/csl-daily.{split}.tsv")),
                        "csl",
                    ),
                };
                if !path.is_file() {
                    bail!(
                        "{}: no {} annotation file for split {split} (is --data-dir the shared data folder?)",
                        path.display(),
                        language
                    );
                }
                let mut records = if language == "phoenix" {
                    phoenix_2014t(&path, Some(split))?
                } else {
                    csl_daily(&path, Some(split))?
                };
                records.retain(|r| !r.glosses.is_empty());
                if let Some(limit) = options.limit {
                    records.truncate(limit);
                }
                sources.extend(records);
            }
            // The real corpus's signers map onto the virtual pool in a fixed order, so the
            // signer distribution (and signer overlap between splits) is the real one.
            let mut speakers: Vec<String> =
                sources.iter().filter_map(|r| r.signer.clone()).collect();
            speakers.sort();
            speakers.dedup();
            for source in sources {
                let base = match &source.signer {
                    Some(s) => speakers.binary_search(s).expect("collected above"),
                    None => derive_seed(options.seed, &["signer-of", &source.id]) as usize,
                };
                for k in 0..options.renderings {
                    let signer = (base + k) % n;
                    let mut record = source.clone();
                    if options.renderings > 1 {
                        record.id = format!("{}--r{k}", source.id);
                    }
                    if let Some(real) = record.signer.take() {
                        record.extra.insert("source_signer".into(), real);
                    }
                    record.frames = None;
                    record.extra.remove("num_frames");
                    record.extra.remove("video");
                    planned.push(Planned {
                        keys: record.glosses.clone(),
                        record,
                        signer,
                    });
                }
            }
        }
        GlossSource::Dialogue => {
            let mut taken: BTreeMap<Split, usize> = BTreeMap::new();
            for index in 0..options.dialogues {
                let d = generate_dialogue(options.seed, index);
                let split = dialogue_split(options.seed, &d.id);
                if !options.splits.contains(&split) {
                    continue;
                }
                let count = taken.entry(split).or_default();
                if options.limit.is_some_and(|l| *count >= l) {
                    continue;
                }
                *count += 1;
                // Each role is played by its own signer.
                let a = derive_seed(options.seed, &["dialogue-signer", &d.id]) as usize % n;
                let b = if n > 1 {
                    (a + 1
                        + derive_seed(options.seed, &["dialogue-partner", &d.id]) as usize
                            % (n - 1))
                        % n
                } else {
                    a
                };
                for k in 0..options.renderings {
                    let mut context = Vec::new();
                    for (t, turn) in d.turns.iter().enumerate() {
                        let role_index = d.roles.iter().position(|r| *r == turn.role).unwrap_or(0);
                        let signer = ([a, b][role_index] + k) % n;
                        let mut record = Record::new(if options.renderings > 1 {
                            format!("{}-t{t:02}--r{k}", d.id)
                        } else {
                            format!("{}-t{t:02}", d.id)
                        });
                        record.split = Some(split);
                        record.dialogue = Some(if options.renderings > 1 {
                            format!("{}--r{k}", d.id)
                        } else {
                            d.id.clone()
                        });
                        record.turn = Some(t as u32);
                        record.role = Some(turn.role.to_string());
                        record.glosses = turn.glosses.clone();
                        record.text = Some(turn.text.clone());
                        record.language = Some("en".into());
                        record.sign_language = Some("sgn".into());
                        record.context = context.clone();
                        record.extra.insert("topic".into(), d.topic.to_string());
                        let keys: Vec<String> = turn
                            .glosses
                            .iter()
                            .map(|g| dialogue::motion_key(g).to_string())
                            .collect();
                        if keys != turn.glosses {
                            record.extra.insert("motion_keys".into(), keys.join(" "));
                        }
                        context.push(turn.text.clone());
                        planned.push(Planned {
                            record,
                            keys,
                            signer,
                        });
                    }
                }
            }
        }
    }
    Ok(planned)
}

/// SCOPE's 80/5/15 ratios, drawn per dialogue so dialogues stay whole.
pub fn dialogue_split(seed: u64, dialogue_id: &str) -> Split {
    match derive_seed(seed, &["split", dialogue_id]) % 100 {
        0..80 => Split::Train,
        80..85 => Split::Dev,
        _ => Split::Test,
    }
}

/// Generate the corpus described by `options`. `progress` is called once per finished
/// utterance (from worker threads).
pub fn generate(options: &SynthOptions, progress: &(dyn Fn() + Sync)) -> anyhow::Result<Summary> {
    let started = Instant::now();
    let planned = plan(options)?;
    if planned.is_empty() {
        bail!("nothing to generate: no sentences in the selected splits");
    }
    let pool = SignerProfile::pool(options.seed, options.signers, options.width, options.height);
    let bank = PrototypeBank::with_keys(
        options.seed,
        planned
            .iter()
            .flat_map(|p| p.keys.iter().map(String::as_str)),
    );
    let config = RenderConfig {
        seed: options.seed,
        fps: options.fps,
    };
    for split in &options.splits {
        let dir = options.out.join("poses").join(split.as_str());
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let rendered: Vec<anyhow::Result<(Record, RenderStats)>> = planned
        .par_iter()
        .map(|p| {
            let result = (|| {
                let keys: Vec<&str> = p.keys.iter().map(String::as_str).collect();
                let signer = &pool[p.signer];
                let out = render_utterance(&bank, &keys, signer, &config, &p.record.id)?;
                let split = p.record.split.unwrap_or(Split::Train);
                let relative = PathBuf::from("poses")
                    .join(split.as_str())
                    .join(format!("{}.pose", file_stem(&p.record.id)));
                signscope_pose::write_pose(options.out.join(&relative), &out.pose)?;
                let mut record = p.record.clone();
                record.pose = Some(relative);
                record.signer = Some(signer.id.clone());
                record.extra.insert(
                    "sign_spans".into(),
                    out.sign_spans
                        .iter()
                        .map(|(s, e)| format!("{s}-{e}"))
                        .collect::<Vec<_>>()
                        .join(" "),
                );
                Ok((record, out.stats))
            })();
            progress();
            result
        })
        .collect();
    let mut records = Vec::with_capacity(rendered.len());
    let mut stats = RenderStats::default();
    let mut per_record_stats = Vec::with_capacity(rendered.len());
    for r in rendered {
        let (record, s) = r?;
        stats.frames += s.frames;
        stats.hand_observations += s.hand_observations;
        stats.hand_dropped += s.hand_dropped;
        stats.hand_out_of_frame += s.hand_out_of_frame;
        per_record_stats.push(s);
        records.push(record);
    }
    let manifest = options.out.join("manifest.jsonl");
    write_manifest(&manifest, &records)?;
    let card_path = options.out.join("DATA_CARD.md");
    card::write_card(
        &card_path,
        &CardInput {
            options,
            pool: &pool,
            bank: &bank,
            records: &records,
            per_record_stats: &per_record_stats,
        },
    )?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(Summary {
        records,
        stats,
        manifest,
        card: card_path,
        seconds,
    })
}

/// Spoken and signed language codes (as in a lexicon's `index.csv`) of a gloss source.
pub fn languages(source: GlossSource) -> (&'static str, &'static str) {
    match source {
        GlossSource::Phoenix2014T => ("de", "gsg"),
        GlossSource::CslDaily => ("zh", "csl"),
        GlossSource::Dialogue => ("en", "ase"),
    }
}

/// What [`write_citation_lexicon`] wrote.
#[derive(Debug, Clone)]
pub struct LexiconSummary {
    pub index: PathBuf,
    pub entries: usize,
    pub frames: usize,
}

/// Writes a sign lexicon in the spoken-to-signed layout (`index.csv` + one `.pose` per
/// entry) for every gloss of the selected splits: each sign in citation form (alone,
/// between rests), signed by the first signer of the pool with the same motion prototypes
/// as the corpus, so `signscope produce --lexicon DIR` can sign the corpus' glosses.
pub fn write_citation_lexicon(
    options: &SynthOptions,
    dir: &Path,
) -> anyhow::Result<LexiconSummary> {
    let planned = plan(options)?;
    // gloss -> motion key (homonyms share a key); sorted, so the same options give the same bytes.
    let mut signs: BTreeMap<&str, &str> = BTreeMap::new();
    for p in &planned {
        for (gloss, key) in p.record.glosses.iter().zip(&p.keys) {
            signs.entry(gloss.as_str()).or_insert(key.as_str());
        }
    }
    if signs.is_empty() {
        bail!("no glosses in the selected splits to build a lexicon from");
    }
    let signer = SignerProfile::generate(options.seed, 0, options.width, options.height);
    let bank = PrototypeBank::with_keys(options.seed, signs.values().copied());
    let config = RenderConfig {
        seed: options.seed,
        fps: options.fps,
    };
    let clips: Vec<(&str, signscope_pose::Pose)> = signs
        .par_iter()
        .map(|(&gloss, &key)| {
            let id = format!("lexicon/{gloss}");
            render_utterance(&bank, &[key], &signer, &config, &id).map(|r| (gloss, r.pose))
        })
        .collect::<anyhow::Result<_>>()?;
    let (spoken, signed) = languages(options.source);
    let index = signscope_slp::write_lexicon(
        dir,
        spoken,
        signed,
        clips.iter().map(|(gloss, pose)| (*gloss, pose)),
    )?;
    Ok(LexiconSummary {
        index,
        entries: clips.len(),
        frames: clips.iter().map(|(_, pose)| pose.body.frames()).sum(),
    })
}

/// Resolve the shared data folder: `SIGNSCOPE_SHARED/data`, else `<repo>/../shared/data`.
pub fn default_data_dir() -> PathBuf {
    match std::env::var_os("SIGNSCOPE_SHARED") {
        Some(shared) => Path::new(&shared).join("data"),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    }
}

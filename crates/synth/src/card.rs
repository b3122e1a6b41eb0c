//! The data card: a Markdown description of exactly how a corpus was generated, with
//! counts, signer parameters, the homonym table, and how much dialogue context helps
//! to tell homonyms apart.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::Path;

use signscope_corpus::atomic::write_atomic;
use signscope_corpus::manifest::{Record, Split};

use crate::dialogue::HOMONYMS;
use crate::generate::{GlossSource, SynthOptions};
use crate::render::{PrototypeBank, RenderStats};
use crate::signer::SignerProfile;

pub struct CardInput<'a> {
    pub options: &'a SynthOptions,
    pub pool: &'a [SignerProfile],
    pub bank: &'a PrototypeBank,
    pub records: &'a [Record],
    /// Parallel to `records`.
    pub per_record_stats: &'a [RenderStats],
}

/// Motion key of each gloss of a record (the glosses themselves unless homonyms).
pub fn record_motion_keys(record: &Record) -> Vec<String> {
    match record.extra.get("motion_keys") {
        Some(keys) => keys.split_whitespace().map(str::to_string).collect(),
        None => record.glosses.clone(),
    }
}

/// How well homonyms can be resolved by an oracle that knows each sign's motion key
/// exactly, with and without the dialogue context (a measure of what context can add,
/// independent of any recognizer).
#[derive(Debug, Clone, PartialEq)]
pub struct HomonymStudy {
    pub evaluated_on: Split,
    /// Tokens whose motion key stands for more than one gloss, and all tokens.
    pub ambiguous_tokens: usize,
    pub tokens: usize,
    /// Accuracy on the ambiguous tokens of: the most frequent gloss of the key;
    /// naive Bayes over the earlier turns' words; over the other glosses of the same
    /// turn; over both.
    pub majority: f64,
    pub with_context: f64,
    pub with_sentence: f64,
    pub with_both: f64,
}

fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
}

#[derive(Default)]
struct KeyModel {
    gloss_counts: BTreeMap<String, f64>,
    feature_counts: HashMap<(String, String), f64>,
    features: BTreeSet<String>,
}

impl KeyModel {
    fn predict(&self, features: &[String]) -> Option<&String> {
        let alpha = 0.5;
        let v = self.features.len().max(1) as f64;
        let total: f64 = self.gloss_counts.values().sum();
        self.gloss_counts
            .iter()
            .map(|(g, &c)| {
                let mut score = ((c + 1.0) / (total + 1.0)).ln();
                for f in features {
                    let fc = self
                        .feature_counts
                        .get(&(g.clone(), f.clone()))
                        .copied()
                        .unwrap_or(0.0);
                    score += ((fc + alpha) / (c + alpha * v)).ln();
                }
                (g, score)
            })
            .max_by(|a, b| a.1.total_cmp(&b.1).then_with(|| b.0.cmp(a.0)))
            .map(|(g, _)| g)
    }
}

/// Train naive-Bayes gloss-given-key models on the train split, evaluate on dev (else
/// test). `None` when there are no homonyms or no held-out split.
pub fn homonym_study(records: &[Record]) -> Option<HomonymStudy> {
    let ambiguous: BTreeSet<&str> = HOMONYMS.iter().map(|(k, _)| *k).collect();
    let held_out = [Split::Dev, Split::Test]
        .into_iter()
        .find(|s| records.iter().any(|r| r.split == Some(*s)))?;
    // Features of token i: earlier turns' words ("c:"), other glosses of the turn ("s:").
    let features = |r: &Record, i: usize, context: bool, sentence: bool| -> Vec<String> {
        let mut f = BTreeSet::new();
        if context {
            for t in &r.context {
                f.extend(words(t).map(|w| format!("c:{w}")));
            }
        }
        if sentence {
            for (j, g) in r.glosses.iter().enumerate() {
                if j != i {
                    f.insert(format!("s:{g}"));
                }
            }
        }
        f.into_iter().collect()
    };
    let mut models: HashMap<String, KeyModel> = HashMap::new();
    for r in records.iter().filter(|r| r.split == Some(Split::Train)) {
        for (i, key) in record_motion_keys(r).iter().enumerate() {
            if !ambiguous.contains(key.as_str()) {
                continue;
            }
            let m = models.entry(key.clone()).or_default();
            let g = r.glosses[i].clone();
            *m.gloss_counts.entry(g.clone()).or_default() += 1.0;
            for f in features(r, i, true, true) {
                m.features.insert(f.clone());
                *m.feature_counts.entry((g.clone(), f)).or_default() += 1.0;
            }
        }
    }
    let (mut n, mut tokens) = (0usize, 0usize);
    let mut correct = [0usize; 4];
    for r in records.iter().filter(|r| r.split == Some(held_out)) {
        tokens += r.glosses.len();
        for (i, key) in record_motion_keys(r).iter().enumerate() {
            if !ambiguous.contains(key.as_str()) {
                continue;
            }
            n += 1;
            let Some(m) = models.get(key) else { continue };
            for (slot, (c, s)) in [(false, false), (true, false), (false, true), (true, true)]
                .into_iter()
                .enumerate()
            {
                if m.predict(&features(r, i, c, s)) == Some(&r.glosses[i]) {
                    correct[slot] += 1;
                }
            }
        }
    }
    if n == 0 {
        return None;
    }
    let acc = |c: usize| c as f64 / n as f64;
    Some(HomonymStudy {
        evaluated_on: held_out,
        ambiguous_tokens: n,
        tokens,
        majority: acc(correct[0]),
        with_context: acc(correct[1]),
        with_sentence: acc(correct[2]),
        with_both: acc(correct[3]),
    })
}

/// Write the data card for a finished corpus.
pub fn write_card(path: &Path, input: &CardInput) -> anyhow::Result<()> {
    write_atomic(path, render_card(input).as_bytes())?;
    Ok(())
}

pub fn render_card(input: &CardInput) -> String {
    let o = input.options;
    let mut s = String::new();
    let w = &mut s;
    let _ = writeln!(w, "# Synthetic keypoint corpus: {}\n", o.source.name());
    let _ = writeln!(
        w,
        "Generated by `signscope synth` (signscope-synth {}). The **language** is {}; the \
         **motion** is generated: every keypoint in this corpus was computed by the generator, \
         none was detected in a video. Models trained here learn to read the generator's signs, \
         not a real sign language's; use it to develop and test pipelines, not to claim \
         recognition results on {}.\n",
        env!("CARGO_PKG_VERSION"),
        match o.source {
            GlossSource::Phoenix2014T =>
                "real: the gloss sequences and German translations of RWTH-PHOENIX-Weather-2014T",
            GlossSource::CslDaily => "real: the gloss sequences and Chinese texts of CSL-Daily",
            GlossSource::Dialogue => "a built-in English dialogue grammar (see below)",
        },
        match o.source {
            GlossSource::Dialogue => "any real corpus",
            _ => "the real corpus",
        }
    );

    let _ = writeln!(w, "## Parameters\n");
    let _ = writeln!(w, "| parameter | value |\n|---|---|");
    let splits: Vec<&str> = o.splits.iter().map(|s| s.as_str()).collect();
    for (k, v) in [
        ("gloss source", o.source.name().to_string()),
        ("data dir", o.data_dir.display().to_string()),
        ("splits", splits.join(",")),
        ("seed", o.seed.to_string()),
        ("signers in pool", o.signers.to_string()),
        ("renderings per sentence", o.renderings.to_string()),
        (
            "limit per split",
            o.limit.map_or("none".into(), |l| l.to_string()),
        ),
        ("dialogues drawn (dialogue mode)", o.dialogues.to_string()),
        ("frames per second", o.fps.to_string()),
        ("image size", format!("{}×{}", o.width, o.height)),
        (
            "keypoints",
            "COCO-WholeBody-133, x/y in pixels + confidence, `.pose` v0.2".into(),
        ),
    ] {
        let _ = writeln!(w, "| {k} | {v} |");
    }
    let _ = writeln!(
        w,
        "\nThe same parameters reproduce this corpus byte for byte.\n"
    );

    // Counts per split.
    let _ = writeln!(w, "## Counts\n");
    let _ = writeln!(
        w,
        "| split | utterances | dialogues | frames | hours | mean s/utterance | gloss tokens | gloss types | types unseen in train |\n|---|---|---|---|---|---|---|---|---|"
    );
    let train_vocab: BTreeSet<&str> = input
        .records
        .iter()
        .filter(|r| r.split == Some(Split::Train))
        .flat_map(|r| r.glosses.iter().map(String::as_str))
        .collect();
    for split in Split::ALL {
        let idx: Vec<usize> = (0..input.records.len())
            .filter(|&i| input.records[i].split == Some(split))
            .collect();
        if idx.is_empty() {
            continue;
        }
        let frames: usize = idx.iter().map(|&i| input.per_record_stats[i].frames).sum();
        let seconds = frames as f64 / o.fps as f64;
        let tokens: usize = idx.iter().map(|&i| input.records[i].glosses.len()).sum();
        let types: BTreeSet<&str> = idx
            .iter()
            .flat_map(|&i| input.records[i].glosses.iter().map(String::as_str))
            .collect();
        let unseen = types.iter().filter(|t| !train_vocab.contains(*t)).count();
        let dialogues: BTreeSet<&str> = idx
            .iter()
            .filter_map(|&i| input.records[i].dialogue.as_deref())
            .collect();
        let _ = writeln!(
            w,
            "| {split} | {} | {} | {frames} | {:.2} | {:.2} | {tokens} | {} | {unseen} |",
            idx.len(),
            dialogues.len(),
            seconds / 3600.0,
            seconds / idx.len() as f64,
            types.len()
        );
    }
    let total: RenderStats =
        input
            .per_record_stats
            .iter()
            .fold(RenderStats::default(), |mut a, s| {
                a.frames += s.frames;
                a.hand_observations += s.hand_observations;
                a.hand_dropped += s.hand_dropped;
                a.hand_out_of_frame += s.hand_out_of_frame;
                a
            });
    let pct = |x: usize| 100.0 * x as f64 / total.hand_observations.max(1) as f64;
    let _ = writeln!(
        w,
        "\nMotion prototypes: {} (one per motion key). Hand observations (hands × frames): {}; \
         dropped by the simulated detector: {:.2} %; (partly) outside the image: {:.2} %.\n",
        input.bank.len(),
        total.hand_observations,
        pct(total.hand_dropped),
        pct(total.hand_out_of_frame)
    );

    write_method(w);
    write_prototype_mix(w, input.bank);
    write_signers(w, input);
    if o.source == GlossSource::Dialogue {
        write_dialogue_section(w, input.records);
    }

    let _ = writeln!(w, "## Files\n");
    let _ = writeln!(
        w,
        "- `manifest.jsonl`: one record per utterance in the signscope corpus format. `pose` is \
         relative to the manifest; `signer` is the virtual signer; `extra.sign_spans` gives each \
         sign's frames `start-end` (end exclusive; transitions and holds lie between). \
         `extra.source_signer` is the real corpus's signer the virtual one stands in for. In \
         dialogue mode `extra.topic` and `extra.motion_keys` are generator metadata for analysis — \
         a recognizer must not read them (they give the homonyms away).\n\
         - `poses/<split>/<id>.pose`: the keypoints.\n\
         - `DATA_CARD.md`: this file."
    );
    s
}

fn write_method(w: &mut String) {
    let _ = writeln!(
        w,
        "## How the motion is generated\n\n\
         - **Prototype per motion key** (deterministic from seed and key): number of hands (one 55 %, \
         symmetric 18 %, alternating 10 %, dominant hand on the still weak hand 17 %); one of 16 base \
         hand shapes (B, 5, A, S, 1, V, W, Y, L, C, O, claw, bent-B, F, X, I) with every joint varied by \
         up to ±0.15 rad, and a hand-shape change in 22 % of signs; palm and finger orientation; \
         location (neutral space at four heights/sides, chest, stomach, chin, mouth, nose, forehead, \
         temple, cheek, either shoulder, weak hand) with a ±3 cm offset; movement (hold, straight, arc, \
         1–2 circles, 2–3 taps, 2–4 shakes, finger wiggle, forearm twist) of 5–14 cm; citation duration \
         0.2–0.6 s by movement type; mouthing of 1–3 syllables in 70 % of signs; head nod/shake/tilt in \
         25 %; raised or furrowed brows in 20 %. Half of all keys are minimal pairs: a one-parameter \
         variant of one of 160 root signs (half of them subtle: place moved 4–6 cm, path reversed or \
         re-aimed, size ×1.6).\n\
         - **Variation**: every signer has a personal variant of each sign (place ±2.5 cm, \
         orientation, hand shape ±0.1 rad per joint, size ±20 %, tempo ±15 %); every production \
         varies again (place σ 2.5 cm, orientation, hand shape ±0.12 rad, size ×0.6–1.25, a \
         repetition added or dropped in 30 %, weak hand dropped from 15 % of symmetric signs).\n\
         - **Kinematics**: the wrist target comes from location + path; shoulder→elbow→wrist is solved \
         by two-bone inverse kinematics with the signer's bone lengths (elbows hang down and out); 21 \
         hand points by forward kinematics of the hand shape (finger flexion at MCP/PIP/DIP, \
         abduction, thumb abduction/opposition/flexion); 68 face points from a parametric face with \
         mouth opening/width, blinks and brows, rotated with the head; left-handed signers mirror \
         everything.\n\
         - **Co-articulation**: each sign's location is pulled toward its neighbours' (signer \
         strength 15–45 %, at most 8 cm); transitions are Hermite curves that leave along the previous \
         sign's path velocity and arrive along the next one's, lasting 0.06 s + 0.3 s/m of distance; \
         the hand shape anticipates the next sign (30 % blend in the last quarter of a sign, full \
         shape reached at 70 % of the transition); the weak hand stays up between two two-handed signs.\n\
         - **Timing**: per instance the duration varies log-normally (σ 0.15) and is divided by the \
         signer's speed; holds of 0.08–0.25 s follow a sign with the signer's hold rate; 0.2–0.45 s \
         of rest before and after the sentence.\n\
         - **Background behaviour**: breathing (shoulders rise 2–6 mm), body sway, head drift, \
         glances toward the dominant hand, Poisson blinks and nods, shoulders lift when a hand is raised.\n\
         - **Camera and detector**: perspective camera (signer at 1.8–3.0 m, shoulders 24–34 % of the \
         image width, ±0.14 rad yaw, ±0.05 rad roll, offset neck position); Gaussian keypoint jitter \
         (body 0.8–2.5 px, hands 1.5–5 px, face 60 % of body); a hand is dropped (confidence 0, \
         coordinates 0) with probability base + k·(wrist speed − 0.4 m/s), and a dropped hand stays \
         dropped with probability 0.5; points outside the image have confidence 0; confidences fall \
         with hand speed.\n"
    );
}

fn write_prototype_mix(w: &mut String, bank: &PrototypeBank) {
    let mut hands: BTreeMap<String, usize> = BTreeMap::new();
    let mut movement: BTreeMap<&str, usize> = BTreeMap::new();
    let mut location: BTreeMap<String, usize> = BTreeMap::new();
    for p in bank.sorted() {
        *hands.entry(format!("{:?}", p.hands)).or_default() += 1;
        *movement.entry(p.movement.name()).or_default() += 1;
        *location.entry(format!("{:?}", p.location)).or_default() += 1;
    }
    let fmt = |m: &BTreeMap<String, usize>| {
        m.iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let movement: BTreeMap<String, usize> = movement
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    let _ = writeln!(
        w,
        "Prototypes of this corpus — hands: {}; movement: {}; location: {}.\n",
        fmt(&hands),
        fmt(&movement),
        fmt(&location)
    );
    let _ = writeln!(w, "First prototypes (sorted by key):\n");
    for p in bank.sorted().iter().take(12) {
        let _ = writeln!(w, "- `{}`: {}", p.key, p.describe());
    }
    let _ = writeln!(w);
}

fn write_signers(w: &mut String, input: &CardInput) {
    let mut used: HashMap<&str, usize> = HashMap::new();
    for r in input.records {
        if let Some(s) = &r.signer {
            *used.entry(s.as_str()).or_default() += 1;
        }
    }
    let _ = writeln!(w, "## Signers\n");
    let _ = writeln!(
        w,
        "| signer | utterances | hand | shoulders m | upper arm / forearm m | speed | amplitude | co-artic. | hold rate | jitter body/hand px | drop base / per m/s | camera: distance m, shoulder px, yaw, roll |\n|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for s in input.pool {
        let c = &s.camera;
        let _ = writeln!(
            w,
            "| {} | {} | {} | {:.3} | {:.3} / {:.3} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} / {:.2} | {:.3} / {:.3} | {:.2}, {:.0}, {:+.3}, {:+.3} |",
            s.id,
            used.get(s.id.as_str()).copied().unwrap_or(0),
            if s.left_handed { "left" } else { "right" },
            s.shoulder_width,
            s.upper_arm,
            s.forearm,
            s.speed,
            s.amplitude,
            s.coarticulation,
            s.hold_rate,
            s.jitter_body_px,
            s.jitter_hand_px,
            s.drop_base,
            s.drop_per_speed,
            c.distance_m,
            c.focal_px * s.shoulder_width / c.distance_m,
            c.yaw,
            c.roll
        );
    }
    let _ = writeln!(w);
}

fn write_dialogue_section(w: &mut String, records: &[Record]) {
    let _ = writeln!(w, "## Dialogues and homonyms\n");
    let _ = writeln!(
        w,
        "Topics: {}. Each dialogue has two roles played by two different signers (when the pool \
         has two or more); every turn's record carries the dialogue id, turn index, role and the \
         texts of all earlier turns as `context`. Dialogues are split 80/5/15 (SCOPE's ratios) by \
         dialogue, so a dialogue's turns stay together; because the grammar is small, identical \
         sentences (\"Thank you, goodbye.\") occur in several splits — `signscope corpus split` \
         gives SCOPE's sentence-disjoint split if needed.\n",
        crate::dialogue::topics().join(", ")
    );
    let mut counts: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for r in records {
        let topic = r.extra.get("topic").map(String::as_str).unwrap_or("?");
        for g in &r.glosses {
            counts
                .entry((g.as_str(), topic))
                .and_modify(|c| *c += 1)
                .or_insert(1);
        }
    }
    let _ = writeln!(
        w,
        "Homonyms — the glosses of a row are signed with one and the same motion prototype; the \
         topic (known from earlier turns) or the previous question tells them apart:\n"
    );
    let _ = writeln!(
        w,
        "| motion key | glosses (topic: tokens in this corpus) |\n|---|---|"
    );
    for (key, glosses) in HOMONYMS {
        let cells: Vec<String> = glosses
            .iter()
            .map(|g| {
                let uses: Vec<String> = counts
                    .iter()
                    .filter(|((gl, _), _)| gl == g)
                    .map(|((_, t), c)| format!("{t}: {c}"))
                    .collect();
                format!(
                    "{g} ({})",
                    if uses.is_empty() {
                        "unused".into()
                    } else {
                        uses.join(", ")
                    }
                )
            })
            .collect();
        let _ = writeln!(w, "| {key} | {} |", cells.join("; "));
    }
    let _ = writeln!(w);
    match homonym_study(records) {
        Some(h) => {
            let _ = writeln!(
                w,
                "How much context can help, measured on this corpus: an oracle that knows every \
                 sign's motion prototype exactly resolves the {} ambiguous tokens of {} ({} tokens \
                 in all) by naive Bayes trained on train:\n\n\
                 | evidence | accuracy on ambiguous tokens |\n|---|---|\n\
                 | none (most frequent gloss of the prototype) | {:.1} % |\n\
                 | earlier turns' text (context) | {:.1} % |\n\
                 | other glosses of the same turn | {:.1} % |\n\
                 | both | {:.1} % |\n",
                h.ambiguous_tokens,
                h.evaluated_on,
                h.tokens,
                100.0 * h.majority,
                100.0 * h.with_context,
                100.0 * h.with_sentence,
                100.0 * h.with_both
            );
        }
        None => {
            let _ = writeln!(
                w,
                "(No held-out split with homonyms was generated, so the context study was skipped.)\n"
            );
        }
    }
}

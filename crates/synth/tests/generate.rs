//! End-to-end: corpora are reproducible, signers differ, and what is written loads back
//! through the pose reader and the manifest reader.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use signscope_corpus::manifest::{Split, read_manifest};
use signscope_pose::read_pose;
use signscope_synth::card::homonym_study;
use signscope_synth::{
    GlossSource, PrototypeBank, RenderConfig, SignerProfile, SynthOptions, generate, plan,
    render_utterance,
};

fn shared_data() -> Option<PathBuf> {
    let shared = std::env::var_os("SIGNSCOPE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")));
    let data = shared.join("data");
    if data.join("phoenix-2014t").is_dir() {
        return Some(data);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "shared data missing at {} (CI needs ../shared/data beside the checkout)",
            data.display()
        );
    }
    eprintln!("skipping: no shared data at {}", data.display());
    None
}

fn dialogue_options(out: &Path) -> SynthOptions {
    SynthOptions {
        source: GlossSource::Dialogue,
        data_dir: PathBuf::from("unused"),
        splits: vec![Split::Train, Split::Dev],
        out: out.to_path_buf(),
        signers: 4,
        renderings: 1,
        seed: 11,
        limit: Some(3),
        fps: 25.0,
        width: 640,
        height: 480,
        dialogues: 100,
    }
}

/// All files under `dir`, relative path → bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.insert(
                    path.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(&path).unwrap(),
                );
            }
        }
    }
    out
}

#[test]
fn same_seed_same_bytes_and_a_new_seed_changes_them() {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    generate(&dialogue_options(a.path()), &|| {}).unwrap();
    generate(&dialogue_options(b.path()), &|| {}).unwrap();
    let (sa, sb) = (snapshot(a.path()), snapshot(b.path()));
    assert!(sa.len() > 10, "{} files", sa.len());
    assert_eq!(sa.keys().collect::<Vec<_>>(), sb.keys().collect::<Vec<_>>());
    for (path, bytes) in &sa {
        assert!(
            bytes == &sb[path],
            "{} differs between two runs with the same seed",
            path.display()
        );
    }
    let mut other = dialogue_options(c.path());
    other.seed = 12;
    generate(&other, &|| {}).unwrap();
    let sc = snapshot(c.path());
    assert_ne!(
        sa.get(Path::new("manifest.jsonl")),
        sc.get(Path::new("manifest.jsonl"))
    );
}

#[test]
fn generated_corpus_loads_back() {
    let dir = tempfile::tempdir().unwrap();
    let summary = generate(&dialogue_options(dir.path()), &|| {}).unwrap();
    let records = read_manifest(dir.path().join("manifest.jsonl")).unwrap();
    assert_eq!(records, summary.records);
    assert!(records.iter().any(|r| r.split == Some(Split::Dev)));
    let mut dropped = 0;
    for r in &records {
        let pose = read_pose(r.resolved_pose(dir.path()).unwrap()).unwrap();
        assert_eq!(pose.header.total_points(), 133);
        assert_eq!(pose.body.dims(), 2);
        assert_eq!(pose.body.fps, 25.0);
        let frames = pose.body.frames();
        // A turn of n signs lasts a plausible time.
        let seconds = frames as f32 / 25.0;
        assert!(
            seconds > 0.3 * r.glosses.len() as f32 && seconds < 1.2 * r.glosses.len() as f32 + 2.0,
            "{} {seconds}",
            r.id
        );
        // One span per gloss, increasing, inside the file.
        let spans: Vec<(usize, usize)> = r.extra["sign_spans"]
            .split_whitespace()
            .map(|s| {
                let (a, b) = s.split_once('-').unwrap();
                (a.parse().unwrap(), b.parse().unwrap())
            })
            .collect();
        assert_eq!(spans.len(), r.glosses.len());
        assert!(spans.windows(2).all(|w| w[0].1 <= w[1].0) && spans.last().unwrap().1 <= frames);
        // Turns carry their dialogue's earlier texts.
        assert_eq!(r.context.len(), r.turn.unwrap() as usize);
        let data = pose.body.data.as_slice().unwrap();
        for (c, xy) in pose.body.confidence.iter().zip(data.chunks_exact(2)) {
            assert!((0.0..=1.0).contains(c));
            if *c == 0.0 {
                assert_eq!(xy, &[0.0, 0.0]);
                dropped += 1;
            } else {
                assert!(xy[0] >= 0.0 && xy[0] < 640.0 && xy[1] >= 0.0 && xy[1] < 480.0);
            }
        }
    }
    assert!(summary.stats.hand_dropped > 0 && dropped > 0);
}

#[test]
fn two_signers_sign_the_same_sentence_differently() {
    let keys = ["HELLO", "I", "WANT", "BUY", "BREAD"];
    let bank = PrototypeBank::with_keys(3, keys);
    let config = RenderConfig { seed: 3, fps: 25.0 };
    let pool = SignerProfile::pool(3, 2, 1280, 720);
    let a = render_utterance(&bank, &keys, &pool[0], &config, "u1").unwrap();
    let b = render_utterance(&bank, &keys, &pool[1], &config, "u1").unwrap();
    let again = render_utterance(&bank, &keys, &pool[0], &config, "u1").unwrap();
    assert_eq!(a.pose, again.pose);
    // Compare the right wrist over a common number of frames: far apart in pixels.
    let n = a.pose.body.frames().min(b.pose.body.frames());
    let mean_gap: f32 = (0..n)
        .map(|f| {
            let (pa, pb) = (
                a.pose.body.frame_person(f, 0),
                b.pose.body.frame_person(f, 0),
            );
            ((pa[[10, 0]] - pb[[10, 0]]).powi(2) + (pa[[10, 1]] - pb[[10, 1]]).powi(2)).sqrt()
        })
        .sum::<f32>()
        / n as f32;
    assert!(mean_gap > 20.0, "mean right-wrist distance {mean_gap} px");
}

#[test]
fn coarticulation_makes_a_sign_depend_on_its_neighbours() {
    let bank = PrototypeBank::with_keys(5, ["A", "B", "X", "C", "D"]);
    let config = RenderConfig { seed: 5, fps: 25.0 };
    let signer = SignerProfile::generate(5, 0, 1280, 720);
    let wrist_path = |keys: &[&str]| {
        let r = render_utterance(&bank, keys, &signer, &config, "same-id").unwrap();
        let (s, e) = r.sign_spans[1];
        let body = &r.pose.body;
        (s..e)
            .map(|f| (body.data[[f, 0, 10, 0]], body.data[[f, 0, 10, 1]]))
            .collect::<Vec<_>>()
    };
    let (p, q) = (wrist_path(&["A", "X", "B"]), wrist_path(&["C", "X", "D"]));
    let n = p.len().min(q.len());
    let gap = (0..n)
        .map(|i| ((p[i].0 - q[i].0).powi(2) + (p[i].1 - q[i].1).powi(2)).sqrt())
        .sum::<f32>()
        / n as f32;
    // Same sign, same signer: close (it is recognisably one sign) but not identical.
    assert!(gap > 1.0 && gap < 150.0, "gap {gap}");
}

#[test]
fn dialogue_context_measurably_helps_with_homonyms() {
    let mut options = dialogue_options(Path::new("unused"));
    options.limit = None;
    options.dialogues = 1500;
    let records: Vec<_> = plan(&options)
        .unwrap()
        .into_iter()
        .map(|p| p.record)
        .collect();
    let study = homonym_study(&records).expect("dev split with homonyms");
    assert!(study.ambiguous_tokens > 50, "{study:?}");
    assert!(
        study.majority < 0.8,
        "homonyms should not be trivially resolvable: {study:?}"
    );
    assert!(study.with_context > study.majority + 0.1, "{study:?}");
}

#[test]
fn phoenix_glosses_from_the_real_annotations() {
    let Some(data) = shared_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let options = SynthOptions {
        source: GlossSource::Phoenix2014T,
        data_dir: data,
        splits: vec![Split::Train, Split::Dev],
        out: dir.path().to_path_buf(),
        signers: 3,
        renderings: 2,
        seed: 0,
        limit: Some(4),
        fps: 25.0,
        width: 1280,
        height: 720,
        dialogues: 0,
    };
    let summary = generate(&options, &|| {}).unwrap();
    assert_eq!(summary.records.len(), 16);
    let records = read_manifest(&summary.manifest).unwrap();
    let first = &records[0];
    assert_eq!(first.id, "11August_2010_Wednesday_tagesschau-1--r0");
    assert_eq!(
        first.glosses.join(" "),
        "JETZT WETTER MORGEN DONNERSTAG ZWOELF FEBRUAR"
    );
    assert_eq!(
        first.text.as_deref(),
        Some("und nun die wettervorhersage für morgen donnerstag den zwölften august")
    );
    assert_eq!(first.extra["source_signer"], "Signer08");
    // The two renderings are by different virtual signers.
    assert_ne!(records[0].signer, records[1].signer);
    let card = std::fs::read_to_string(&summary.card).unwrap();
    assert!(
        card.contains("| train | 8 |") && card.contains("| dev | 8 |"),
        "{card}"
    );
}

#[test]
fn citation_lexicon_signs_every_gloss_of_the_corpus() {
    let dir = tempfile::tempdir().unwrap();
    let options = dialogue_options(&dir.path().join("corpus"));
    let lexicon_dir = dir.path().join("lexicon");
    let summary =
        signscope_synth::generate::write_citation_lexicon(&options, &lexicon_dir).unwrap();
    let glosses: std::collections::BTreeSet<String> = plan(&options)
        .unwrap()
        .into_iter()
        .flat_map(|p| p.record.glosses)
        .collect();
    assert_eq!(summary.entries, glosses.len());
    let lexicon = signscope_slp::Lexicon::open(&lexicon_dir).unwrap();
    assert_eq!(lexicon.len(), glosses.len());
    for gloss in &glosses {
        let id = lexicon
            .lookup_gloss(gloss, "en", "ase")
            .unwrap_or_else(|| panic!("{gloss} missing from the lexicon"));
        let pose = lexicon.load(id).unwrap();
        let points: usize = pose.header.components.iter().map(|c| c.points.len()).sum();
        assert_eq!(points, 133, "{gloss}");
        assert!(
            pose.body.frames() >= 10,
            "{gloss}: {} frames",
            pose.body.frames()
        );
    }
    // Same options, same bytes.
    let again = dir.path().join("again");
    signscope_synth::generate::write_citation_lexicon(&options, &again).unwrap();
    assert_eq!(snapshot(&lexicon_dir), snapshot(&again));
}

#[test]
fn bad_input_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = dialogue_options(dir.path());
    options.source = GlossSource::CslDaily;
    options.data_dir = dir.path().join("nowhere");
    let message = plan(&options).unwrap_err().to_string();
    assert!(
        message.contains("csl-daily.train.tsv") && message.contains("--data-dir"),
        "{message}"
    );
    options.renderings = 9;
    assert!(
        plan(&options)
            .unwrap_err()
            .to_string()
            .contains("--renderings")
    );
}

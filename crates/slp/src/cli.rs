//! `signscope produce`: text → sign language pose (+ GIF / SVG / MP4).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use signscope_pose::write_pose;

use crate::fingerspell::Fingerspeller;
use crate::join::{JoinMethod, JoinOptions, Transition};
use crate::lexicon::Lexicon;
use crate::output::{write_animation_gif, write_mp4, write_svg_frames};
use crate::produce::Producer;
use crate::text_to_gloss::{GlossModel, LanguagePair, LexiconGlosser, TextToGloss};

/// Where `scripts/fetch-assets.sh` puts spoken-to-signed's fingerspelling lexicon, below
/// the assets folder.
pub const FINGERSPELLING_SUBDIR: &str =
    "spoken-to-signed/spoken_to_signed/assets/fingerspelling_lexicon";

/// The fingerspelling lexicon: `$SIGNSCOPE_ASSETS/…`, else `./.assets/…`, else the
/// checkout's `.assets/…`; `None` when none has an `index.csv`.
pub fn default_fingerspelling_lexicon() -> Option<PathBuf> {
    let mut roots = Vec::new();
    if let Some(assets) = std::env::var_os("SIGNSCOPE_ASSETS") {
        roots.push(PathBuf::from(assets));
    }
    roots.push(PathBuf::from(".assets"));
    roots.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.assets"));
    roots
        .into_iter()
        .map(|root| root.join(FINGERSPELLING_SUBDIR))
        .find(|dir| dir.join("index.csv").is_file())
}

/// Produce a sign language pose sequence from text, with a sign lexicon in
/// spoken-to-signed's layout (index.csv + .pose files).
///
/// Words are looked up in the lexicons (multi-word entries first, case-insensitive, lowest
/// priority wins); unknown words and numbers are fingerspelled; punctuation becomes a
/// pause. Signs are trimmed to their active part, capped in length, joined at their closest
/// frames with smooth transitions, and low-pass filtered. Problems with single words
/// (unknown, missing or corrupt files) are reported and the rest is still produced.
#[derive(Debug, Clone, clap::Args)]
pub struct ProduceArgs {
    /// The text to sign (or, with --glosses, a space-separated gloss sequence).
    #[arg(value_name = "TEXT")]
    pub text: String,

    /// Lexicon folder with index.csv (repeatable; entries compete by priority).
    /// Default: the fingerspelling lexicon, if found.
    #[arg(long = "lexicon", value_name = "DIR")]
    pub lexicons: Vec<PathBuf>,

    /// Fingerspelling lexicon for unknown words. Default: spoken-to-signed's, found under
    /// $SIGNSCOPE_ASSETS or .assets (scripts/fetch-assets.sh).
    #[arg(long, value_name = "DIR")]
    pub fingerspelling: Option<PathBuf>,

    /// Do not fingerspell unknown words (they are skipped with a warning).
    #[arg(long)]
    pub no_fingerspelling: bool,

    /// Language of the text (ISO 639-1, as in index.csv).
    #[arg(long, default_value = "en")]
    pub spoken_language: String,

    /// Sign language to produce (as in index.csv, e.g. ase, sgg, gsg). Default: the only
    /// one the lexicons have for the spoken language.
    #[arg(long)]
    pub signed_language: Option<String>,

    /// TEXT is a gloss sequence, not a sentence.
    #[arg(long, conflicts_with = "t2g")]
    pub glosses: bool,

    /// Gloss the text with a trained text→gloss model (the run folder of `signscope train
    /// t2g`) instead of word-by-word lexicon lookup; glosses the lexicon lacks are then
    /// fingerspelled.
    #[arg(long, value_name = "DIR")]
    pub t2g: Option<PathBuf>,

    /// Output .pose file.
    #[arg(long, value_name = "FILE", default_value = "out.pose")]
    pub out: PathBuf,

    /// Also write an animated GIF.
    #[arg(long, value_name = "FILE")]
    pub gif: Option<PathBuf>,

    /// Also write one SVG per frame into this folder.
    #[arg(long, value_name = "DIR")]
    pub svg_dir: Option<PathBuf>,

    /// Also write an MP4 video (needs `ffmpeg` on PATH).
    #[arg(long, value_name = "FILE")]
    pub mp4: Option<PathBuf>,

    /// Skip the low-pass smoothing.
    #[arg(long)]
    pub no_smooth: bool,

    /// Put signs back to back (no join search, no transitions, no smoothing).
    #[arg(long)]
    pub concatenate: bool,

    /// Straight-line transitions instead of cubic Hermite curves.
    #[arg(long)]
    pub linear: bool,

    /// Longest active part of a sign, in seconds (0 = no cap).
    #[arg(long, default_value_t = 0.8)]
    pub max_sign_seconds: f32,

    /// Output frame rate (default: the first sign's).
    #[arg(long)]
    pub fps: Option<f32>,
}

impl ProduceArgs {
    fn join_options(&self) -> JoinOptions {
        let mut options = if self.concatenate {
            JoinOptions::plain_concatenation()
        } else {
            JoinOptions::default()
        };
        if self.no_smooth {
            options.smoothing = None;
        }
        if self.linear {
            options.transition = Transition::Linear;
        }
        options.max_sign_s = (self.max_sign_seconds > 0.0).then_some(self.max_sign_seconds);
        options.fps = self.fps;
        debug_assert!(self.concatenate || options.method == JoinMethod::BestFrames);
        options
    }
}

/// The signed language to produce: the requested one, or the only one the lexicons offer
/// for `spoken`.
fn choose_signed_language(
    lexicons: &[&Lexicon],
    spoken: &str,
    requested: Option<&str>,
) -> anyhow::Result<String> {
    if let Some(signed) = requested {
        return Ok(signed.to_lowercase());
    }
    let mut pairs: Vec<(String, String)> =
        lexicons.iter().flat_map(|l| l.language_pairs()).collect();
    pairs.sort();
    pairs.dedup();
    let spoken = spoken.to_lowercase();
    let mut signed: Vec<&str> = pairs
        .iter()
        .filter(|(s, _)| *s == spoken)
        .map(|(_, g)| g.as_str())
        .collect();
    signed.dedup();
    match signed.as_slice() {
        [one] => Ok(one.to_string()),
        [] => bail!(
            "the lexicons have nothing for spoken language {spoken:?}; they have {}",
            pairs
                .iter()
                .map(|(s, g)| format!("{s}→{g}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        many => bail!(
            "the lexicons have several sign languages for {spoken:?} ({}); choose one with --signed-language",
            many.join(", ")
        ),
    }
}

/// A loaded text→gloss model: sentence in, glosses out.
pub type GlossFn = Box<dyn Fn(&str) -> anyhow::Result<Vec<String>>>;

/// `run` for binaries that cannot load a text→gloss model: `--t2g` is refused.
pub fn run(args: ProduceArgs) -> anyhow::Result<()> {
    run_with(args, &|dir: &Path| {
        bail!(
            "{}: this binary cannot load text→gloss models; use `signscope produce`",
            dir.display()
        )
    })
}

/// Produces signing; `load_t2g` turns `--t2g DIR` into a glossing function (the `signscope`
/// binary loads signscope-slt's translator, which this crate does not depend on).
pub fn run_with(
    args: ProduceArgs,
    load_t2g: &dyn Fn(&Path) -> anyhow::Result<GlossFn>,
) -> anyhow::Result<()> {
    let t2g = match &args.t2g {
        Some(dir) => Some(load_t2g(dir)?),
        None => None,
    };
    let fingerspelling_dir = if args.no_fingerspelling {
        None
    } else {
        args.fingerspelling
            .clone()
            .or_else(default_fingerspelling_lexicon)
    };
    let lexicon_dirs = if args.lexicons.is_empty() {
        match &fingerspelling_dir {
            Some(dir) => vec![dir.clone()],
            None => bail!(
                "no --lexicon given and the fingerspelling lexicon was not found \
                 (run scripts/fetch-assets.sh or set SIGNSCOPE_ASSETS)"
            ),
        }
    } else {
        args.lexicons.clone()
    };
    let lexicon = Arc::new(Lexicon::open_all(&lexicon_dirs)?);
    let fingerspeller = match &fingerspelling_dir {
        Some(dir) => Some(Arc::new(Fingerspeller::new(Arc::new(
            Lexicon::open(dir).with_context(|| "opening the fingerspelling lexicon")?,
        )))),
        None => None,
    };
    for warning in lexicon
        .warnings
        .iter()
        .chain(fingerspeller.iter().flat_map(|f| f.lexicon.warnings.iter()))
    {
        eprintln!("warning: {warning}");
    }
    // The sign lexicons decide the sign language; the fingerspelling lexicon only when they
    // have nothing for the spoken language.
    let signed = choose_signed_language(
        &[&lexicon],
        &args.spoken_language,
        args.signed_language.as_deref(),
    )
    .or_else(|e| match &fingerspeller {
        Some(f) => choose_signed_language(
            &[&f.lexicon],
            &args.spoken_language,
            args.signed_language.as_deref(),
        ),
        None => Err(e),
    })?;
    let languages = LanguagePair::new(&args.spoken_language, &signed);

    let mut producer = Producer::new(lexicon.clone(), fingerspeller.clone());
    producer.options = args.join_options();
    let glosser: Box<dyn TextToGloss> = if let Some(model) = t2g {
        Box::new(GlossModel(move |text: &str, _: &LanguagePair| model(text)))
    } else if args.glosses {
        Box::new(GlossModel(|text: &str, _: &LanguagePair| {
            Ok(text.split_whitespace().map(str::to_string).collect())
        }))
    } else {
        Box::new(LexiconGlosser::new(lexicon, fingerspeller))
    };
    let production = producer.produce(glosser.as_ref(), &args.text, &languages)?;
    for warning in &production.warnings {
        eprintln!("warning: {warning}");
    }
    let pose = &production.pose;
    write_pose(&args.out, pose)?;
    eprintln!(
        "{}→{}: {}\nwrote {} ({} frames, {:.2} s at {} fps, {} signs)",
        languages.spoken,
        languages.signed,
        production.glossed.to_gloss_string(),
        args.out.display(),
        pose.body.frames(),
        pose.body.duration_s(),
        pose.body.fps,
        production.segments.len()
    );
    if let Some(gif) = &args.gif {
        write_animation_gif(gif, pose)?;
        eprintln!("wrote {}", gif.display());
    }
    if let Some(dir) = &args.svg_dir {
        let count = write_svg_frames(dir, pose)?;
        eprintln!("wrote {count} SVG frames to {}", dir.display());
    }
    if let Some(mp4) = &args.mp4 {
        write_mp4(mp4, pose)?;
        eprintln!("wrote {}", mp4.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, clap::Parser)]
    struct Cli {
        #[command(flatten)]
        args: ProduceArgs,
    }

    #[test]
    fn arguments_parse() {
        let cli = Cli::try_parse_from([
            "produce",
            "hello world",
            "--lexicon",
            "a",
            "--lexicon",
            "b",
            "--signed-language",
            "ase",
            "--no-smooth",
            "--gif",
            "x.gif",
        ])
        .unwrap();
        assert_eq!(cli.args.lexicons, [PathBuf::from("a"), PathBuf::from("b")]);
        assert_eq!(cli.args.out, PathBuf::from("out.pose"));
        let options = cli.args.join_options();
        assert!(options.smoothing.is_none());
        assert_eq!(options.max_sign_s, Some(0.8));
    }

    #[test]
    fn signed_language_is_inferred_or_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("index.csv"),
            "path,spoken_language,signed_language,start,end,words,glosses,priority\n\
             a.pose,de,sgg,0,0,a,A,0\na.pose,de,gsg,0,0,a,A,0\na.pose,en,ase,0,0,a,A,0\n",
        )
        .unwrap();
        let lex = Lexicon::open(dir.path()).unwrap();
        assert_eq!(choose_signed_language(&[&lex], "EN", None).unwrap(), "ase");
        let err = choose_signed_language(&[&lex], "de", None).unwrap_err();
        assert!(err.to_string().contains("gsg, sgg"), "{err}");
        let err = choose_signed_language(&[&lex], "fr", None).unwrap_err();
        assert!(err.to_string().contains("en→ase"), "{err}");
    }
}

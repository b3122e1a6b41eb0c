//! Importers from the public corpora's annotation files into manifest [`Record`]s.
//!
//! | format | files | one record per |
//! |---|---|---|
//! | PHOENIX-2014T | `*.corpus.csv`, `name|video|start|end|speaker|orth|translation` | sentence |
//! | PHOENIX-2014 | `*.corpus.csv`, `id|folder|signer|annotation` | sentence (glosses only) |
//! | CSL-Daily | `*.tsv`, tab-separated with header `name signer num_frames gloss text …` | sentence |
//! | How2Sign | realigned `*.csv`, tab-separated, `"`-quoted | sentence (text only) |
//! | ASLG-PC12 | parallel `X.en` / `X.gloss.asl`, one sentence per line | line pair |
//! | folder | a CSV (`index.csv`) with a pose path column plus gloss and/or text columns | row |
//!
//! The split is taken from the file name (`train`, `dev`/`val`, `test`) unless given.
//! Glosses are kept exactly as annotated (PHOENIX `__ON__`, `loc-` prefixes …): which of
//! them an evaluation ignores is the metric's business, not the corpus's.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Component, Path, PathBuf};

use crate::error::{CorpusError, Result};
use crate::manifest::{FrameRange, Record, Split, TimeRange};
use crate::table::{Quoting, Table, non_empty};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// RWTH-PHOENIX-Weather-2014T `*.corpus.csv` (glosses + German text)
    #[value(name = "phoenix-2014t")]
    Phoenix2014T,
    /// RWTH-PHOENIX-Weather-2014 multisigner `*.corpus.csv` (glosses only)
    #[value(name = "phoenix-2014")]
    Phoenix2014,
    /// CSL-Daily tab-separated `*.tsv` (Chinese glosses + text)
    #[value(name = "csl-daily")]
    CslDaily,
    /// How2Sign re-aligned sentence CSV, tab-separated (English text, no glosses)
    #[value(name = "how2sign")]
    How2Sign,
    /// ASLG-PC12 parallel text `X.en` + `X.gloss.asl`
    #[value(name = "aslg")]
    Aslg,
    /// A folder of `.pose` files with an index CSV (pose path + gloss/text columns)
    #[value(name = "folder")]
    Folder,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Format::Phoenix2014T => "phoenix-2014t",
            Format::Phoenix2014 => "phoenix-2014",
            Format::CslDaily => "csl-daily",
            Format::How2Sign => "how2sign",
            Format::Aslg => "aslg",
            Format::Folder => "folder",
        };
        f.write_str(name)
    }
}

/// Unit of the `start`/`end` columns of a folder CSV.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum RangeUnit {
    #[default]
    Frames,
    Milliseconds,
    Seconds,
}

/// Column names of a folder CSV; `None` means "detect from the usual names" (listed in
/// [`FolderColumns::detect`]).
#[derive(Clone, Debug, Default)]
pub struct FolderColumns {
    pub pose: Option<String>,
    pub glosses: Option<String>,
    pub text: Option<String>,
    pub id: Option<String>,
    pub range_unit: RangeUnit,
}

#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// Overrides the split found in the file names.
    pub split: Option<Split>,
    /// Folder format: fail when a referenced pose file does not exist.
    pub check_poses: bool,
    pub folder: FolderColumns,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            split: None,
            check_poses: true,
            folder: FolderColumns::default(),
        }
    }
}

/// Imports every input (a file, or a directory searched for the format's files) in order.
/// Record ids must be unique over all inputs.
pub fn import(format: Format, inputs: &[PathBuf], options: &ImportOptions) -> Result<Vec<Record>> {
    let mut records = Vec::new();
    let mut origin: HashMap<String, PathBuf> = HashMap::new();
    for input in inputs {
        for file in expand_input(format, input)? {
            for record in import_file(format, &file, options)? {
                if let Some(first) = origin.insert(record.id.clone(), file.clone()) {
                    return Err(CorpusError::file(
                        &file,
                        format!(
                            "duplicate record id {:?} (also in {})",
                            record.id,
                            first.display()
                        ),
                    ));
                }
                records.push(record);
            }
        }
    }
    Ok(records)
}

/// Imports one annotation file (for ASLG: either file of the pair).
pub fn import_file(format: Format, path: &Path, options: &ImportOptions) -> Result<Vec<Record>> {
    let split = options.split.or_else(|| split_from_file_name(path));
    let records = match format {
        Format::Phoenix2014T => phoenix_2014t(path, split)?,
        Format::Phoenix2014 => phoenix_2014(path, split)?,
        Format::CslDaily => csl_daily(path, split)?,
        Format::How2Sign => how2sign(path, split)?,
        Format::Aslg => aslg(path, split)?,
        Format::Folder => folder(path, split, &options.folder, options.check_poses)?,
    };
    Ok(records)
}

/// The files of `format` inside `input` (sorted), or `input` itself when it is a file.
pub fn expand_input(format: Format, input: &Path) -> Result<Vec<PathBuf>> {
    if !input.is_dir() {
        if !input.exists() {
            return Err(CorpusError::file(input, "no such file or directory"));
        }
        return Ok(vec![input.to_path_buf()]);
    }
    let mut names: Vec<PathBuf> = std::fs::read_dir(input)
        .map_err(|e| CorpusError::io(input, e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    names.sort();
    let has_name =
        |p: &Path, f: &dyn Fn(&str) -> bool| p.file_name().and_then(|n| n.to_str()).is_some_and(f);
    let files: Vec<PathBuf> = match format {
        Format::Phoenix2014T | Format::Phoenix2014 => names
            .into_iter()
            .filter(|p| has_name(p, &|n| n.ends_with(".corpus.csv")))
            .collect(),
        Format::CslDaily => names
            .into_iter()
            .filter(|p| has_name(p, &|n| n.ends_with(".tsv")))
            .collect(),
        Format::How2Sign => names
            .into_iter()
            .filter(|p| has_name(p, &|n| n.ends_with(".csv")))
            .collect(),
        Format::Aslg => names
            .into_iter()
            .filter(|p| has_name(p, &|n| n.ends_with(".en")))
            .collect(),
        Format::Folder => {
            let csvs: Vec<PathBuf> = names
                .into_iter()
                .filter(|p| has_name(p, &|n| n.to_ascii_lowercase().ends_with(".csv")))
                .collect();
            match csvs.iter().find(|p| has_name(p, &|n| n == "index.csv")) {
                Some(index) => vec![index.clone()],
                None if csvs.len() == 1 => csvs,
                None if csvs.is_empty() => vec![],
                None => {
                    return Err(CorpusError::file(
                        input,
                        format!(
                            "{} CSV files and no index.csv: name the CSV to import",
                            csvs.len()
                        ),
                    ));
                }
            }
        }
    };
    if files.is_empty() {
        return Err(CorpusError::file(
            input,
            format!("no {format} annotation files in this directory"),
        ));
    }
    Ok(files)
}

/// `train`, `dev`/`val`/`validation` or `test` as a word of the file name.
pub fn split_from_file_name(path: &Path) -> Option<Split> {
    let name = path.file_name()?.to_str()?.to_ascii_lowercase();
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .find_map(|word| word.parse::<Split>().ok())
}

fn glosses(field: &str) -> Vec<String> {
    field.split_whitespace().map(str::to_string).collect()
}

fn insert_extra(record: &mut Record, key: &str, value: &str) {
    if let Some(value) = non_empty(value) {
        record.extra.insert(key.to_string(), value);
    }
}

/// A record with its id (which must not be empty), split and languages set.
fn start_record(
    table: &Table,
    line: usize,
    id: &str,
    split: Option<Split>,
    language: Option<&str>,
    sign_language: &str,
) -> Result<Record> {
    let id =
        non_empty(id).ok_or_else(|| CorpusError::line(&table.path, line, "empty record id"))?;
    let mut record = Record::new(id);
    record.split = split;
    record.language = language.map(String::from);
    record.sign_language = Some(sign_language.to_string());
    Ok(record)
}

/// PHOENIX `start`/`end` are frame indices with -1 meaning "the whole video".
fn phoenix_frames(
    table: &Table,
    line: usize,
    start: &str,
    end: &str,
) -> Result<Option<FrameRange>> {
    let parse = |s: &str| {
        s.trim().parse::<i64>().map_err(|_| {
            CorpusError::line(
                &table.path,
                line,
                format!("start/end {s:?} is not an integer"),
            )
        })
    };
    let (start, end) = (parse(start)?, parse(end)?);
    if start < 0 || end < 0 {
        return Ok(None);
    }
    Ok(Some(FrameRange {
        start: start as u64,
        end: end as u64,
    }))
}

pub fn phoenix_2014t(path: &Path, split: Option<Split>) -> Result<Vec<Record>> {
    let table = Table::read(path, b'|', Quoting::Literal)?;
    let name = table.require(&["name"])?;
    let video = table.require(&["video"])?;
    let start = table.require(&["start"])?;
    let end = table.require(&["end"])?;
    let speaker = table.require(&["speaker"])?;
    let orth = table.require(&["orth"])?;
    let translation = table.require(&["translation"])?;
    table.map_rows(|line, row| {
        let mut record = start_record(&table, line, &row[name], split, Some("de"), "gsg")?;
        record.signer = non_empty(&row[speaker]);
        record.frames = phoenix_frames(&table, line, &row[start], &row[end])?;
        record.glosses = glosses(&row[orth]);
        record.text = non_empty(&row[translation]);
        insert_extra(&mut record, "video", &row[video]);
        Ok(record)
    })
}

pub fn phoenix_2014(path: &Path, split: Option<Split>) -> Result<Vec<Record>> {
    let table = Table::read(path, b'|', Quoting::Literal)?;
    let id = table.require(&["id"])?;
    let folder = table.require(&["folder"])?;
    let signer = table.require(&["signer"])?;
    let annotation = table.require(&["annotation"])?;
    table.map_rows(|line, row| {
        let mut record = start_record(&table, line, &row[id], split, None, "gsg")?;
        record.signer = non_empty(&row[signer]);
        record.glosses = glosses(&row[annotation]);
        insert_extra(&mut record, "video", &row[folder]);
        Ok(record)
    })
}

/// CSL-Daily: `char`, `word`, `postag` and the (machine-made) English `text_en_cico` are
/// kept in `extra` under their column names; `num_frames` is the video's length.
pub fn csl_daily(path: &Path, split: Option<Split>) -> Result<Vec<Record>> {
    let table = Table::read(path, b'\t', Quoting::Literal)?;
    let name = table.require(&["name"])?;
    let signer = table.require(&["signer"])?;
    let gloss = table.require(&["gloss"])?;
    let text = table.require(&["text"])?;
    let kept: Vec<(usize, &str)> = ["num_frames", "char", "word", "postag", "text_en_cico"]
        .into_iter()
        .filter_map(|column| table.find(&[column]).map(|i| (i, column)))
        .collect();
    table.map_rows(|line, row| {
        let mut record = start_record(&table, line, &row[name], split, Some("zh"), "csl")?;
        record.signer = non_empty(&row[signer]);
        record.glosses = glosses(&row[gloss]);
        record.text = non_empty(&row[text]);
        for &(i, column) in &kept {
            insert_extra(&mut record, column, &row[i]);
        }
        Ok(record)
    })
}

/// How2Sign: a clip (`VIDEO_NAME`) is a continuous monologue, so it becomes the record's
/// `dialogue` and the sentences are numbered as turns in time order; this lets
/// [`fill_context`] give each sentence the preceding ones as context.
pub fn how2sign(path: &Path, split: Option<Split>) -> Result<Vec<Record>> {
    let table = Table::read(path, b'\t', Quoting::Csv)?;
    let video_id = table.require(&["VIDEO_ID"])?;
    let video_name = table.require(&["VIDEO_NAME"])?;
    let sentence_id = table.require(&["SENTENCE_ID"])?;
    let sentence_name = table.require(&["SENTENCE_NAME"])?;
    let start = table.require(&["START_REALIGNED", "START"])?;
    let end = table.require(&["END_REALIGNED", "END"])?;
    let sentence = table.require(&["SENTENCE"])?;
    let mut records = table.map_rows(|line, row| {
        let seconds = |i: usize| {
            row[i].trim().parse::<f64>().map_err(|_| {
                CorpusError::line(
                    &table.path,
                    line,
                    format!("time {:?} is not a number", row[i]),
                )
            })
        };
        let mut record = start_record(&table, line, &row[sentence_name], split, Some("en"), "ase")?;
        record.dialogue = non_empty(&row[video_name]);
        record.seconds = Some(TimeRange {
            start: seconds(start)?,
            end: seconds(end)?,
        });
        record.text = non_empty(&row[sentence]);
        insert_extra(&mut record, "video_id", &row[video_id]);
        insert_extra(&mut record, "sentence_id", &row[sentence_id]);
        record
            .validate()
            .map_err(|message| CorpusError::line(&table.path, line, message))?;
        Ok(record)
    })?;
    number_turns_by_time(&mut records);
    Ok(records)
}

fn number_turns_by_time(records: &mut [Record]) {
    let mut by_dialogue: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, record) in records.iter().enumerate() {
        if let Some(dialogue) = &record.dialogue {
            by_dialogue.entry(dialogue.clone()).or_default().push(i);
        }
    }
    for indices in by_dialogue.values_mut() {
        indices.sort_by(|&a, &b| {
            let start = |i: usize| records[i].seconds.map_or(0.0, |s| s.start);
            start(a).total_cmp(&start(b)).then(a.cmp(&b))
        });
        for (turn, &i) in indices.iter().enumerate() {
            records[i].turn = Some(turn as u32);
        }
    }
}

/// ASLG-PC12: `path` is either file of a pair `X.en` / `X.gloss.asl`; ids are
/// `aslg-<file stem>-<line>`.
pub fn aslg(path: &Path, split: Option<Split>) -> Result<Vec<Record>> {
    let name = path.to_string_lossy();
    let (en_path, gloss_path) = if let Some(stem) = name.strip_suffix(".gloss.asl") {
        (PathBuf::from(format!("{stem}.en")), path.to_path_buf())
    } else if let Some(stem) = name.strip_suffix(".en") {
        (
            path.to_path_buf(),
            PathBuf::from(format!("{stem}.gloss.asl")),
        )
    } else {
        return Err(CorpusError::file(
            path,
            "ASLG-PC12 files are named X.en and X.gloss.asl",
        ));
    };
    let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| CorpusError::io(p, e));
    let (english, gloss) = (read(&en_path)?, read(&gloss_path)?);
    let (english, gloss): (Vec<&str>, Vec<&str>) =
        (english.lines().collect(), gloss.lines().collect());
    if english.len() != gloss.len() {
        return Err(CorpusError::file(
            &gloss_path,
            format!(
                "{} lines, but {} has {}: the files must be line-parallel",
                gloss.len(),
                en_path.display(),
                english.len()
            ),
        ));
    }
    let stem = en_path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut records = Vec::with_capacity(english.len());
    for (i, (en, gl)) in english.iter().zip(&gloss).enumerate() {
        let line = i + 1;
        match (en.trim().is_empty(), gl.trim().is_empty()) {
            (true, true) => continue,
            (false, false) => {}
            (en_empty, _) => {
                let (empty, other) = if en_empty {
                    (&en_path, &gloss_path)
                } else {
                    (&gloss_path, &en_path)
                };
                return Err(CorpusError::line(
                    empty,
                    line,
                    format!("empty line, but line {line} of {} is not", other.display()),
                ));
            }
        }
        let mut record = Record::new(format!("aslg-{stem}-{line:06}"));
        record.split = split;
        record.glosses = glosses(gl);
        record.text = Some(en.trim().to_string());
        record.language = Some("en".into());
        record.sign_language = Some("ase".into());
        records.push(record);
    }
    Ok(records)
}

/// Column names tried, in order, for each field of a folder CSV.
pub mod folder_names {
    pub const POSE: &[&str] = &["pose", "path", "pose_path", "pose_file", "file"];
    pub const GLOSSES: &[&str] = &["glosses", "gloss", "orth", "annotation"];
    pub const TEXT: &[&str] = &["text", "translation", "sentence", "words"];
    pub const ID: &[&str] = &["id", "name"];
    pub const SPLIT: &[&str] = &["split"];
    pub const SIGNER: &[&str] = &["signer", "speaker"];
    pub const DIALOGUE: &[&str] = &["dialogue", "dialogue_id"];
    pub const TURN: &[&str] = &["turn", "turn_index"];
    pub const ROLE: &[&str] = &["role", "speaker_role"];
    pub const LANGUAGE: &[&str] = &["language", "spoken_language"];
    pub const SIGN_LANGUAGE: &[&str] = &["sign_language", "signed_language"];
    pub const START: &[&str] = &["start", "start_frame"];
    pub const END: &[&str] = &["end", "end_frame"];
}

/// A folder of pose files described by a CSV. Pose paths are resolved against the CSV's
/// directory; with `check_poses` a missing file is an error naming the CSV line.
/// `start`/`end` columns give a range in `columns.range_unit`; `end` = 0 means the whole
/// file (the spoken-to-signed lexicon convention). Unrecognized columns go to `extra`.
pub fn folder(
    path: &Path,
    split: Option<Split>,
    columns: &FolderColumns,
    check_poses: bool,
) -> Result<Vec<Record>> {
    let table = Table::read(path, b',', Quoting::Csv)?;
    let pick = |given: &Option<String>, defaults: &[&str]| -> Result<Option<usize>> {
        match given {
            Some(name) => table.require(&[name.as_str()]).map(Some),
            None => Ok(table.find(defaults)),
        }
    };
    let pose = pick(&columns.pose, folder_names::POSE)?;
    let gloss = pick(&columns.glosses, folder_names::GLOSSES)?;
    let text = pick(&columns.text, folder_names::TEXT)?;
    let id = pick(&columns.id, folder_names::ID)?;
    let find = |names: &[&str]| table.find(names);
    let split_column = find(folder_names::SPLIT);
    let signer = find(folder_names::SIGNER);
    let dialogue = find(folder_names::DIALOGUE);
    let turn = find(folder_names::TURN);
    let role = find(folder_names::ROLE);
    let language = find(folder_names::LANGUAGE);
    let sign_language = find(folder_names::SIGN_LANGUAGE);
    let start = find(folder_names::START);
    let end = find(folder_names::END);
    if gloss.is_none() && text.is_none() {
        return Err(CorpusError::file(
            path,
            format!(
                "needs a gloss column ({}) or a text column ({}); columns: {}",
                folder_names::GLOSSES.join("/"),
                folder_names::TEXT.join("/"),
                table.headers.join(", ")
            ),
        ));
    }
    if pose.is_none() && check_poses {
        return Err(CorpusError::file(
            path,
            format!(
                "no pose path column ({}); for a text-only corpus turn off the pose check",
                folder_names::POSE.join("/")
            ),
        ));
    }
    let known: Vec<usize> = [
        pose,
        gloss,
        text,
        id,
        split_column,
        signer,
        dialogue,
        turn,
        role,
        language,
        sign_language,
        start,
        end,
    ]
    .into_iter()
    .flatten()
    .collect();
    let csv_dir = path.parent().unwrap_or(Path::new(""));
    let csv_stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();

    table
        .rows
        .iter()
        .map(|(line, row)| {
            let line = *line;
            let at_line = |message: String| CorpusError::line(path, line, message);
            let field = |column: Option<usize>| column.and_then(|i| non_empty(&row[i]));
            let pose_path = field(pose).map(PathBuf::from);
            if check_poses {
                let pose_path = pose_path
                    .as_ref()
                    .ok_or_else(|| at_line("empty pose path".into()))?;
                let resolved = csv_dir.join(pose_path);
                if !resolved.is_file() {
                    return Err(at_line(format!(
                        "pose file {} does not exist (paths are relative to the CSV's directory)",
                        resolved.display()
                    )));
                }
            }
            let record_id = match (field(id), &pose_path) {
                (Some(id), _) => id,
                (None, Some(p)) => p.with_extension("").to_string_lossy().into_owned(),
                (None, None) => format!("{csv_stem}-{line}"),
            };
            let mut record = Record::new(record_id);
            record.pose = pose_path.map(|p| normalize_lexically(&csv_dir.join(p)));
            record.split = match field(split_column) {
                Some(s) => Some(s.parse::<Split>().map_err(at_line)?),
                None => split,
            };
            record.signer = field(signer);
            record.dialogue = field(dialogue);
            record.turn = field(turn)
                .map(|t| t.parse::<u32>().map_err(|_| at_line(format!("turn {t:?} is not a non-negative integer"))))
                .transpose()?;
            record.role = field(role);
            record.glosses = field(gloss).map(|g| glosses(&g)).unwrap_or_default();
            record.text = field(text);
            record.language = field(language);
            record.sign_language = field(sign_language);
            if let (Some(start), Some(end)) = (field(start), field(end)) {
                let number = |s: &str| {
                    s.parse::<f64>()
                        .ok()
                        .filter(|v| v.is_finite() && *v >= 0.0)
                        .ok_or_else(|| at_line(format!("start/end {s:?} is not a non-negative number")))
                };
                let (start, end) = (number(&start)?, number(&end)?);
                if end > 0.0 {
                    match columns.range_unit {
                        RangeUnit::Frames => {
                            if start.fract() != 0.0 || end.fract() != 0.0 {
                                return Err(at_line(format!(
                                    "frame range {start}..{end} is not whole frames (set the range unit)"
                                )));
                            }
                            record.frames = Some(FrameRange {
                                start: start as u64,
                                end: end as u64,
                            });
                        }
                        RangeUnit::Milliseconds => {
                            record.seconds = Some(TimeRange {
                                start: start / 1000.0,
                                end: end / 1000.0,
                            });
                        }
                        RangeUnit::Seconds => record.seconds = Some(TimeRange { start, end }),
                    }
                }
            }
            for (i, header) in table.headers.iter().enumerate() {
                if !known.contains(&i) {
                    insert_extra(&mut record, header, &row[i]);
                }
            }
            record.validate().map_err(at_line)?;
            Ok(record)
        })
        .collect()
}

/// Sets each record's `context` to the texts of (at most `max_turns`) earlier turns of its
/// dialogue, oldest first. Turns are ordered by `turn`, then by position in `records`;
/// records without a dialogue get no context.
pub fn fill_context(records: &mut [Record], max_turns: usize) {
    let mut by_dialogue: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, record) in records.iter().enumerate() {
        if let Some(dialogue) = &record.dialogue {
            by_dialogue.entry(dialogue.clone()).or_default().push(i);
        }
    }
    for indices in by_dialogue.values_mut() {
        indices.sort_by_key(|&i| (records[i].turn, i));
        let mut earlier: Vec<String> = Vec::new();
        for &i in indices.iter() {
            let keep_from = earlier.len().saturating_sub(max_turns);
            records[i].context = earlier[keep_from..].to_vec();
            if let Some(text) = &records[i].text {
                earlier.push(text.clone());
            }
        }
    }
}

/// Rewrites relative pose paths (relative to the current directory, as importers produce
/// them) to be relative to `manifest_dir`, where the manifest will be written.
pub fn rebase_pose_paths(records: &mut [Record], manifest_dir: &Path) -> Result<()> {
    let absolute = |p: &Path| std::path::absolute(p).map_err(|e| CorpusError::io(p, e));
    let base = absolute(manifest_dir)?;
    for record in records {
        if let Some(pose) = &record.pose {
            let pose = normalize_lexically(&absolute(pose)?);
            record.pose = Some(relative_to(&pose, &normalize_lexically(&base)));
        }
    }
    Ok(())
}

/// `path` relative to `base` (both absolute and normalized); `path` itself when they share
/// no root.
fn relative_to(path: &Path, base: &Path) -> PathBuf {
    let path_parts: Vec<Component> = path.components().collect();
    let base_parts: Vec<Component> = base.components().collect();
    let common = path_parts
        .iter()
        .zip(&base_parts)
        .take_while(|(a, b)| a == b)
        .count();
    if common == 0 {
        return path.to_path_buf();
    }
    let mut relative = PathBuf::new();
    for _ in common..base_parts.len() {
        relative.push("..");
    }
    for part in &path_parts[common..] {
        relative.push(part.as_os_str());
    }
    relative
}

/// Removes `.` and folds `x/..` without touching the filesystem.
fn normalize_lexically(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_names_in_files() {
        assert_eq!(
            split_from_file_name(Path::new("PHOENIX-2014-T.dev.corpus.csv")),
            Some(Split::Dev)
        );
        assert_eq!(
            split_from_file_name(Path::new("how2sign_realigned_val.csv")),
            Some(Split::Dev)
        );
        assert_eq!(
            split_from_file_name(Path::new("csl-daily.train.tsv")),
            Some(Split::Train)
        );
        assert_eq!(split_from_file_name(Path::new("index.csv")), None);
    }

    #[test]
    fn relative_paths() {
        assert_eq!(
            relative_to(Path::new("/a/b/c.pose"), Path::new("/a/d")),
            PathBuf::from("../b/c.pose")
        );
        assert_eq!(
            relative_to(Path::new("/a/b/c.pose"), Path::new("/a/b")),
            PathBuf::from("c.pose")
        );
        assert_eq!(
            normalize_lexically(Path::new("x/./y/../z")),
            PathBuf::from("x/z")
        );
    }

    #[test]
    fn context_from_earlier_turns() {
        let turn = |id: &str, dialogue: &str, turn: u32, text: &str| Record {
            id: id.into(),
            dialogue: Some(dialogue.into()),
            turn: Some(turn),
            text: Some(text.into()),
            ..Record::default()
        };
        let mut records = vec![
            turn("b2", "b", 2, "b two"),
            turn("a0", "a", 0, "a zero"),
            turn("b0", "b", 0, "b zero"),
            turn("b1", "b", 1, "b one"),
            Record::new("alone"),
        ];
        fill_context(&mut records, 1);
        assert_eq!(records[0].context, vec!["b one".to_string()]);
        assert!(records[1].context.is_empty() && records[2].context.is_empty());
        assert_eq!(records[3].context, vec!["b zero".to_string()]);
        fill_context(&mut records, 5);
        assert_eq!(
            records[0].context,
            vec!["b zero".to_string(), "b one".to_string()]
        );
    }
}

//! Summary counts of a manifest, per split.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;

use crate::manifest::Record;

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PartStats {
    pub records: usize,
    pub signers: usize,
    pub dialogues: usize,
    pub with_glosses: usize,
    pub with_text: usize,
    pub with_pose: usize,
    pub with_context: usize,
    /// Distinct glosses.
    pub gloss_vocabulary: usize,
    pub gloss_tokens: usize,
    pub mean_glosses: f64,
    /// Mean text length in characters (Unicode scalar values).
    pub mean_text_chars: f64,
    pub languages: BTreeSet<String>,
}

/// Keyed by `all`, then `train`, `dev`, `test`, `unassigned` where present.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ManifestStats {
    pub parts: BTreeMap<String, PartStats>,
}

fn part_stats<'a>(records: impl Iterator<Item = &'a Record>) -> PartStats {
    let mut stats = PartStats::default();
    let mut signers = BTreeSet::new();
    let mut dialogues = BTreeSet::new();
    let mut glosses = BTreeSet::new();
    let mut text_chars = 0usize;
    for record in records {
        stats.records += 1;
        signers.extend(record.signer.as_deref());
        dialogues.extend(record.dialogue.as_deref());
        stats.with_glosses += usize::from(!record.glosses.is_empty());
        stats.with_pose += usize::from(record.pose.is_some());
        stats.with_context += usize::from(!record.context.is_empty());
        stats.gloss_tokens += record.glosses.len();
        glosses.extend(record.glosses.iter().map(String::as_str));
        if let Some(text) = &record.text {
            stats.with_text += 1;
            text_chars += text.chars().count();
        }
        if let Some(language) = &record.language {
            stats.languages.insert(language.clone());
        }
    }
    stats.signers = signers.len();
    stats.dialogues = dialogues.len();
    stats.gloss_vocabulary = glosses.len();
    stats.mean_glosses = stats.gloss_tokens as f64 / stats.with_glosses.max(1) as f64;
    stats.mean_text_chars = text_chars as f64 / stats.with_text.max(1) as f64;
    stats
}

pub fn manifest_stats(records: &[Record]) -> ManifestStats {
    let mut parts = BTreeMap::new();
    parts.insert("all".to_string(), part_stats(records.iter()));
    let names: BTreeSet<Option<crate::Split>> = records.iter().map(|r| r.split).collect();
    for split in names {
        let name = split.map_or("unassigned".to_string(), |s| s.to_string());
        parts.insert(
            name,
            part_stats(records.iter().filter(|r| r.split == split)),
        );
    }
    ManifestStats { parts }
}

impl fmt::Display for ManifestStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<11} {:>8} {:>7} {:>9} {:>8} {:>8} {:>8} {:>8} {:>9} {:>8} {:>9}  languages",
            "part",
            "records",
            "signers",
            "dialogues",
            "glossed",
            "text",
            "pose",
            "context",
            "gloss voc",
            "glosses/",
            "chars/txt"
        )?;
        let order = ["all", "train", "dev", "test", "unassigned"];
        for name in order {
            if let Some(s) = self.parts.get(name) {
                writeln!(
                    f,
                    "{:<11} {:>8} {:>7} {:>9} {:>8} {:>8} {:>8} {:>8} {:>9} {:>8.2} {:>9.1}  {}",
                    name,
                    s.records,
                    s.signers,
                    s.dialogues,
                    s.with_glosses,
                    s.with_text,
                    s.with_pose,
                    s.with_context,
                    s.gloss_vocabulary,
                    s.mean_glosses,
                    s.mean_text_chars,
                    s.languages.iter().cloned().collect::<Vec<_>>().join(",")
                )?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Split;

    #[test]
    fn counts_per_split() {
        let mut a = Record::new("a");
        a.split = Some(Split::Train);
        a.glosses = vec!["X".into(), "Y".into()];
        a.text = Some("xy".into());
        a.signer = Some("s1".into());
        let mut b = Record::new("b");
        b.glosses = vec!["X".into()];
        let stats = manifest_stats(&[a, b]);
        assert_eq!(stats.parts["all"].records, 2);
        assert_eq!(stats.parts["all"].gloss_vocabulary, 2);
        assert_eq!(stats.parts["all"].mean_glosses, 1.5);
        assert_eq!(stats.parts["train"].mean_text_chars, 2.0);
        assert_eq!(stats.parts["unassigned"].signers, 0);
        assert!(stats.to_string().contains("unassigned"));
    }
}

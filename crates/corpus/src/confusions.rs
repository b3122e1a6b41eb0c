//! Annotation-cleaning aid (SCOPE, "Annotation Cleaning and Validation"): align a
//! recognizer's gloss predictions with the annotation by minimum edit distance and list
//! the patterns a linguist should look at:
//!
//! * **substitutions** — reference gloss A recognized as B;
//! * **splits** — one reference gloss ↔ two hypothesis glosses (a substitution next to an
//!   insertion: ref `ES-BEDEUTET` ↔ hyp `ES BEDEUTET`), and **merges** — two reference
//!   glosses ↔ one hypothesis gloss (a substitution next to a deletion). These are the
//!   "phrases or separated words" inconsistencies; a pattern is marked *compound* when
//!   both sides spell the same letters once separators are removed;
//! * **synonym groups** — connected components of the graph whose edges are gloss pairs
//!   substituted frequently in *both* directions ("a same sign annotated with synonyms"):
//!   a one-way confusion is more often a recognizer weakness than an annotation one.
//!
//! The alignment is the sclite-weighted one of [`signscope_metrics::align`], so the
//! counts agree with the WER the recognizer is scored with.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;
use signscope_metrics::{AlignOp, EditCounts, align};

use crate::error::{CorpusError, Result};
use crate::manifest::ManifestReader;

#[derive(Clone, Debug)]
pub struct ConfusionConfig {
    /// An edge of the synonym graph needs this many substitutions (in each direction when
    /// `both_directions`, in total otherwise).
    pub min_pair_count: usize,
    pub both_directions: bool,
}

impl Default for ConfusionConfig {
    fn default() -> Self {
        Self {
            min_pair_count: 2,
            both_directions: true,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Substitution {
    pub reference: String,
    pub hypothesis: String,
    pub count: usize,
}

/// One-to-two (split) or two-to-one (merge) correspondence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Pattern {
    pub reference: Vec<String>,
    pub hypothesis: Vec<String>,
    pub count: usize,
    /// Both sides have the same letters once case and separators are ignored.
    pub compound: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TokenCount {
    pub token: String,
    pub count: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SynonymEdge {
    pub a: String,
    pub b: String,
    pub a_as_b: usize,
    pub b_as_a: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SynonymGroup {
    /// Members with their number of occurrences in the references, most frequent first.
    pub glosses: Vec<TokenCount>,
    pub edges: Vec<SynonymEdge>,
    /// Substitutions inside the group.
    pub substitutions: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConfusionReport {
    pub sentences: usize,
    pub errors: EditCounts,
    pub wer: f64,
    /// Most frequent first; ties in code-point order.
    pub substitutions: Vec<Substitution>,
    pub splits: Vec<Pattern>,
    pub merges: Vec<Pattern>,
    pub synonym_groups: Vec<SynonymGroup>,
    pub deletions: Vec<TokenCount>,
    pub insertions: Vec<TokenCount>,
    pub min_pair_count: usize,
    pub both_directions: bool,
}

/// Letters and digits only, lower-cased: `ES-BEDEUTET` and `ES` + `BEDEUTET` agree.
fn squash<'a>(tokens: impl IntoIterator<Item = &'a String>) -> String {
    tokens
        .into_iter()
        .flat_map(|t| t.chars())
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn sorted_counts<K: Ord + Clone>(counts: HashMap<K, usize>) -> Vec<(K, usize)> {
    let mut counts: Vec<(K, usize)> = counts.into_iter().collect();
    counts.sort_by(|(ka, a), (kb, b)| b.cmp(a).then_with(|| ka.cmp(kb)));
    counts
}

fn token_counts(counts: HashMap<String, usize>) -> Vec<TokenCount> {
    sorted_counts(counts)
        .into_iter()
        .map(|(token, count)| TokenCount { token, count })
        .collect()
}

fn patterns(counts: HashMap<(Vec<String>, Vec<String>), usize>) -> Vec<Pattern> {
    sorted_counts(counts)
        .into_iter()
        .map(|((reference, hypothesis), count)| Pattern {
            compound: squash(&reference) == squash(&hypothesis),
            reference,
            hypothesis,
            count,
        })
        .collect()
}

/// Builds the report from (reference, hypothesis) gloss sequences.
pub fn confusions<'a>(
    pairs: impl IntoIterator<Item = (&'a [String], &'a [String])>,
    config: &ConfusionConfig,
) -> ConfusionReport {
    let mut errors = EditCounts::default();
    let mut sentences = 0;
    let mut substitutions: HashMap<(String, String), usize> = HashMap::new();
    let mut splits: HashMap<(Vec<String>, Vec<String>), usize> = HashMap::new();
    let mut merges: HashMap<(Vec<String>, Vec<String>), usize> = HashMap::new();
    let mut deletions: HashMap<String, usize> = HashMap::new();
    let mut insertions: HashMap<String, usize> = HashMap::new();
    let mut reference_counts: HashMap<String, usize> = HashMap::new();

    for (reference, hypothesis) in pairs {
        sentences += 1;
        for gloss in reference {
            *reference_counts.entry(gloss.clone()).or_default() += 1;
        }
        let ops = align(reference, hypothesis);
        errors += EditCounts::from_ops(&ops);
        for op in &ops {
            match op {
                AlignOp::Substitute {
                    reference,
                    hypothesis,
                } => {
                    *substitutions
                        .entry((reference.clone(), hypothesis.clone()))
                        .or_default() += 1
                }
                AlignOp::Delete { reference } => {
                    *deletions.entry(reference.clone()).or_default() += 1
                }
                AlignOp::Insert { hypothesis } => {
                    *insertions.entry(hypothesis.clone()).or_default() += 1
                }
                AlignOp::Correct { .. } => {}
            }
        }
        // Adjacent substitution + insertion/deletion, each op used in one pattern at most.
        let mut k = 0;
        while k + 1 < ops.len() {
            use AlignOp::{Delete, Insert, Substitute};
            let found = match (&ops[k], &ops[k + 1]) {
                (
                    Substitute {
                        reference: r,
                        hypothesis: h,
                    },
                    Insert { hypothesis: h2 },
                ) => Some((&mut splits, vec![r.clone()], vec![h.clone(), h2.clone()])),
                (
                    Insert { hypothesis: h1 },
                    Substitute {
                        reference: r,
                        hypothesis: h,
                    },
                ) => Some((&mut splits, vec![r.clone()], vec![h1.clone(), h.clone()])),
                (
                    Substitute {
                        reference: r,
                        hypothesis: h,
                    },
                    Delete { reference: r2 },
                ) => Some((&mut merges, vec![r.clone(), r2.clone()], vec![h.clone()])),
                (
                    Delete { reference: r1 },
                    Substitute {
                        reference: r,
                        hypothesis: h,
                    },
                ) => Some((&mut merges, vec![r1.clone(), r.clone()], vec![h.clone()])),
                _ => None,
            };
            match found {
                Some((table, reference, hypothesis)) => {
                    *table.entry((reference, hypothesis)).or_default() += 1;
                    k += 2;
                }
                None => k += 1,
            }
        }
    }

    let synonym_groups = synonym_groups(&substitutions, &reference_counts, config);
    let substitutions = sorted_counts(substitutions)
        .into_iter()
        .map(|((reference, hypothesis), count)| Substitution {
            reference,
            hypothesis,
            count,
        })
        .collect();
    ConfusionReport {
        sentences,
        wer: errors.rate(),
        errors,
        substitutions,
        splits: patterns(splits),
        merges: patterns(merges),
        synonym_groups,
        deletions: token_counts(deletions),
        insertions: token_counts(insertions),
        min_pair_count: config.min_pair_count,
        both_directions: config.both_directions,
    }
}

fn synonym_groups(
    substitutions: &HashMap<(String, String), usize>,
    reference_counts: &HashMap<String, usize>,
    config: &ConfusionConfig,
) -> Vec<SynonymGroup> {
    let count = |a: &str, b: &str| {
        substitutions
            .get(&(a.to_string(), b.to_string()))
            .copied()
            .unwrap_or(0)
    };
    // Unordered pairs, each once, in a deterministic order.
    let pairs: BTreeSet<(&str, &str)> = substitutions
        .keys()
        .map(|(a, b)| {
            if a < b {
                (a.as_str(), b.as_str())
            } else {
                (b.as_str(), a.as_str())
            }
        })
        .collect();
    let edges: Vec<SynonymEdge> = pairs
        .into_iter()
        .filter(|&(a, b)| a != b)
        .map(|(a, b)| SynonymEdge {
            a: a.to_string(),
            b: b.to_string(),
            a_as_b: count(a, b),
            b_as_a: count(b, a),
        })
        .filter(|e| {
            if config.both_directions {
                e.a_as_b >= config.min_pair_count && e.b_as_a >= config.min_pair_count
            } else {
                e.a_as_b + e.b_as_a >= config.min_pair_count
            }
        })
        .collect();

    // Connected components over the kept edges.
    let mut component: BTreeMap<&str, usize> = BTreeMap::new();
    let mut members: Vec<Vec<&str>> = Vec::new();
    for edge in &edges {
        let (a, b) = (edge.a.as_str(), edge.b.as_str());
        match (component.get(a).copied(), component.get(b).copied()) {
            (None, None) => {
                component.insert(a, members.len());
                component.insert(b, members.len());
                members.push(vec![a, b]);
            }
            (Some(c), None) => {
                component.insert(b, c);
                members[c].push(b);
            }
            (None, Some(c)) => {
                component.insert(a, c);
                members[c].push(a);
            }
            (Some(ca), Some(cb)) if ca != cb => {
                let moved = std::mem::take(&mut members[cb]);
                for gloss in &moved {
                    component.insert(gloss, ca);
                }
                members[ca].extend(moved);
            }
            _ => {}
        }
    }
    let mut groups: Vec<SynonymGroup> = members
        .into_iter()
        .filter(|m| !m.is_empty())
        .map(|glosses| {
            let set: BTreeSet<&str> = glosses.iter().copied().collect();
            let mut group_edges: Vec<SynonymEdge> = edges
                .iter()
                .filter(|e| set.contains(e.a.as_str()))
                .cloned()
                .collect();
            group_edges.sort_by(|x, y| {
                (y.a_as_b + y.b_as_a)
                    .cmp(&(x.a_as_b + x.b_as_a))
                    .then_with(|| (&x.a, &x.b).cmp(&(&y.a, &y.b)))
            });
            let mut glosses: Vec<TokenCount> = set
                .iter()
                .map(|g| TokenCount {
                    token: g.to_string(),
                    count: reference_counts.get(*g).copied().unwrap_or(0),
                })
                .collect();
            glosses.sort_by(|x, y| y.count.cmp(&x.count).then_with(|| x.token.cmp(&y.token)));
            let substitutions = set
                .iter()
                .flat_map(|a| set.iter().map(move |b| (a, b)))
                .map(|(a, b)| count(a, b))
                .sum();
            SynonymGroup {
                glosses,
                edges: group_edges,
                substitutions,
            }
        })
        .collect();
    groups.sort_by(|x, y| {
        y.substitutions
            .cmp(&x.substitutions)
            .then_with(|| x.glosses[0].token.cmp(&y.glosses[0].token))
    });
    groups
}

impl ConfusionReport {
    /// Plain-text tables with at most `top` rows each.
    pub fn to_table(&self, top: usize) -> String {
        let mut out = String::new();
        let e = &self.errors;
        let _ = writeln!(
            out,
            "{} sentences, {} reference glosses: {} substitutions, {} deletions, {} insertions (WER {:.2}%)",
            self.sentences, e.reference_len, e.substitutions, e.deletions, e.insertions, self.wer
        );
        let _ = writeln!(
            out,
            "\nmost frequent substitutions (reference -> hypothesis)"
        );
        let _ = writeln!(out, "{:>6}  {:<24} hypothesis", "count", "reference");
        for s in self.substitutions.iter().take(top) {
            let _ = writeln!(out, "{:>6}  {:<24} {}", s.count, s.reference, s.hypothesis);
        }
        for (title, list) in [
            (
                "splits (one reference gloss <-> two hypothesis glosses)",
                &self.splits,
            ),
            (
                "merges (two reference glosses <-> one hypothesis gloss)",
                &self.merges,
            ),
        ] {
            let _ = writeln!(out, "\n{title}");
            let _ = writeln!(
                out,
                "{:>6}  {:<8}  {:<32} hypothesis",
                "count", "compound", "reference"
            );
            for p in list.iter().take(top) {
                let _ = writeln!(
                    out,
                    "{:>6}  {:<8}  {:<32} {}",
                    p.count,
                    if p.compound { "yes" } else { "" },
                    p.reference.join(" "),
                    p.hypothesis.join(" ")
                );
            }
        }
        let rule = if self.both_directions {
            "each direction"
        } else {
            "both directions together"
        };
        let _ = writeln!(
            out,
            "\ncandidate synonym groups (substituted >= {} times, {rule})",
            self.min_pair_count
        );
        let _ = writeln!(
            out,
            "{:>6}  glosses (occurrences in references); pairs a/b: a->b b->a",
            "subst"
        );
        for g in self.synonym_groups.iter().take(top) {
            let glosses: Vec<String> = g
                .glosses
                .iter()
                .map(|t| format!("{} ({})", t.token, t.count))
                .collect();
            let edges: Vec<String> = g
                .edges
                .iter()
                .map(|e| format!("{}/{}: {} {}", e.a, e.b, e.a_as_b, e.b_as_a))
                .collect();
            let _ = writeln!(
                out,
                "{:>6}  {}; {}",
                g.substitutions,
                glosses.join(", "),
                edges.join("; ")
            );
        }
        for (title, list) in [
            ("most deleted glosses", &self.deletions),
            ("most inserted glosses", &self.insertions),
        ] {
            let _ = writeln!(out, "\n{title}");
            let line: Vec<String> = list
                .iter()
                .take(top)
                .map(|t| format!("{} {}", t.token, t.count))
                .collect();
            let _ = writeln!(out, "{}", line.join(", "));
        }
        out
    }
}

/// (utterance id, glosses) in file order.
pub type GlossSequences = Vec<(String, Vec<String>)>;

/// A reference and the hypothesis for the same utterance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GlossPair {
    pub id: String,
    pub reference: Vec<String>,
    pub hypothesis: Vec<String>,
}

/// Gloss sequences keyed by utterance id, from a manifest (`.jsonl`), an STM file (`.stm`:
/// `id channel speaker start end glosses…`) or a plain text file (`id glosses…` per line).
pub fn read_gloss_sequences(path: impl AsRef<Path>) -> Result<GlossSequences> {
    let path = path.as_ref();
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if extension == "jsonl" {
        return ManifestReader::open(path)?
            .map(|r| r.map(|r| (r.id, r.glosses)))
            .collect();
    }
    let skip = if extension == "stm" { 4 } else { 0 };
    let content = std::fs::read_to_string(path).map_err(|e| CorpusError::io(path, e))?;
    let mut sequences = Vec::new();
    for (i, line) in content.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with(";;") {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 1 + skip {
            return Err(CorpusError::line(
                path,
                i + 1,
                "STM line needs id, channel, speaker, start and end before the glosses",
            ));
        }
        let glosses = fields[1 + skip..].iter().map(|g| g.to_string()).collect();
        sequences.push((fields[0].to_string(), glosses));
    }
    Ok(sequences)
}

/// Matches hypotheses to references by id (in reference order). Every reference needs a
/// hypothesis and every hypothesis a reference.
pub fn pair_by_id(
    references: GlossSequences,
    hypotheses: GlossSequences,
    reference_path: &Path,
    hypothesis_path: &Path,
) -> Result<Vec<GlossPair>> {
    let mut by_id: HashMap<String, Vec<String>> = HashMap::with_capacity(hypotheses.len());
    for (id, glosses) in hypotheses {
        if by_id.insert(id.clone(), glosses).is_some() {
            return Err(CorpusError::file(
                hypothesis_path,
                format!("id {id:?} appears twice"),
            ));
        }
    }
    let mut seen = BTreeSet::new();
    let mut pairs = Vec::with_capacity(references.len());
    for (id, reference) in references {
        if !seen.insert(id.clone()) {
            return Err(CorpusError::file(
                reference_path,
                format!("id {id:?} appears twice"),
            ));
        }
        let hypothesis = by_id.remove(&id).ok_or_else(|| {
            CorpusError::file(
                hypothesis_path,
                format!("no hypothesis for reference id {id:?}"),
            )
        })?;
        pairs.push(GlossPair {
            id,
            reference,
            hypothesis,
        });
    }
    if let Some(extra) = by_id.keys().min() {
        return Err(CorpusError::file(
            hypothesis_path,
            format!(
                "{} hypotheses have no reference in {} (e.g. {extra:?})",
                by_id.len(),
                reference_path.display()
            ),
        ));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    fn report(pairs: &[(&str, &str)], config: &ConfusionConfig) -> ConfusionReport {
        let pairs: Vec<(Vec<String>, Vec<String>)> =
            pairs.iter().map(|(r, h)| (tokens(r), tokens(h))).collect();
        confusions(
            pairs.iter().map(|(r, h)| (r.as_slice(), h.as_slice())),
            config,
        )
    }

    #[test]
    fn substitutions_splits_merges() {
        let r = report(
            &[
                ("WETTER ES-BEDEUTET REGEN", "WETTER ES BEDEUTET REGEN"),
                ("ES-BEDEUTET SONNE", "ES BEDEUTET SONNE"),
                ("MORGEN REGEN", "MORGEN-REGEN"),
                ("HEUTE WARM", "HEUTE HEISS"),
            ],
            &ConfusionConfig::default(),
        );
        assert_eq!(r.sentences, 4);
        assert_eq!(r.errors.reference_len, 9);
        assert_eq!(r.errors.substitutions, 4);
        assert_eq!(r.errors.insertions, 2);
        assert_eq!(r.errors.deletions, 1);
        assert_eq!(r.splits.len(), 1);
        assert_eq!(r.splits[0].count, 2);
        assert!(r.splits[0].compound);
        assert_eq!(r.splits[0].reference, ["ES-BEDEUTET"]);
        assert_eq!(r.merges.len(), 1);
        assert_eq!(r.merges[0].reference, ["MORGEN", "REGEN"]);
        assert_eq!(r.merges[0].hypothesis, ["MORGEN-REGEN"]);
        assert!(r.merges[0].compound);
        assert!(
            r.substitutions
                .iter()
                .any(|s| s.reference == "WARM" && s.hypothesis == "HEISS" && s.count == 1)
        );
        assert!(r.synonym_groups.is_empty());
        let table = r.to_table(10);
        assert!(
            table.contains("ES-BEDEUTET") && table.contains("WER"),
            "{table}"
        );
    }

    #[test]
    fn synonym_groups_need_both_directions() {
        let mut pairs = Vec::new();
        // A<->B both ways twice, B<->C both ways twice: one group {A, B, C};
        // D->E three times one way only: no group unless one direction suffices.
        for _ in 0..2 {
            pairs.extend([
                ("A X", "B X"),
                ("B X", "A X"),
                ("B Y", "C Y"),
                ("C Y", "B Y"),
            ]);
        }
        pairs.extend([("D", "E"), ("D", "E"), ("D", "E")]);
        let r = report(&pairs, &ConfusionConfig::default());
        assert_eq!(r.synonym_groups.len(), 1);
        let names: Vec<&str> = r.synonym_groups[0]
            .glosses
            .iter()
            .map(|t| t.token.as_str())
            .collect();
        assert_eq!(names, ["B", "A", "C"]);
        assert_eq!(r.synonym_groups[0].substitutions, 8);

        let one_way = ConfusionConfig {
            min_pair_count: 3,
            both_directions: false,
        };
        let r = report(&pairs, &one_way);
        let groups: Vec<Vec<&str>> = r
            .synonym_groups
            .iter()
            .map(|g| g.glosses.iter().map(|t| t.token.as_str()).collect())
            .collect();
        assert_eq!(groups, [vec!["B", "A", "C"], vec!["D", "E"]]);
    }

    #[test]
    fn pairing_and_formats() {
        let dir = tempfile::tempdir().unwrap();
        let stm = dir.path().join("ref.stm");
        std::fs::write(
            &stm,
            "u1 1 Signer01 0.0 1.79769e+308 A B\nu2 1 Signer01 0.0 1.79769e+308 C\n",
        )
        .unwrap();
        let hyp = dir.path().join("hyp.txt");
        std::fs::write(&hyp, "u2 C D\nu1 A\n").unwrap();
        let references = read_gloss_sequences(&stm).unwrap();
        assert_eq!(references[0], ("u1".to_string(), tokens("A B")));
        let pairs = pair_by_id(
            references.clone(),
            read_gloss_sequences(&hyp).unwrap(),
            &stm,
            &hyp,
        )
        .unwrap();
        assert_eq!(
            pairs[1],
            GlossPair {
                id: "u2".into(),
                reference: tokens("C"),
                hypothesis: tokens("C D")
            }
        );

        std::fs::write(&hyp, "u1 A\n").unwrap();
        let message = pair_by_id(references, read_gloss_sequences(&hyp).unwrap(), &stm, &hyp)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("hyp.txt") && message.contains("u2"),
            "{message}"
        );
    }
}

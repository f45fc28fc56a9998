//! `labeling select`: which photos to label next, and why.
//!
//! Each strategy is a reason to label a photo (documented in `docs/labeling.md`):
//!
//! * [`Strategy::LowConfidence`]: the model saw something but is unsure (its highest score
//!   lies in a band, 0.25–0.5 by default): the cases a label teaches the most.
//! * [`Strategy::Disagreement`]: the edge and cloud models disagree (a box of one has no box
//!   of the same class with IoU ≥ 0.5 in the other): one of them is wrong.
//! * [`Strategy::ManyBoxes`]: many boxes (≥ 5): busy scenes, where duplicates and misses pile up.
//! * [`Strategy::RareClass`]: a box of a class rare in the current training set (under 5 %
//!   of its boxes): balances the classes.
//! * [`Strategy::Random`]: a uniform control sample (10 % of the budget), to measure the
//!   model on what the yard really sees rather than on what the other strategies favour.
//!
//! Neither the phone store nor the office records an inspector's flag on a photo, so there is
//! no flag strategy yet.
//!
//! The scan streams the source and keeps only a bounded pool of the best candidates (4× the
//! budget), so memory does not grow with the store. Candidates are ranked by how many
//! strategies chose them, then by strategy order, then by a hash of the seed and photo id
//! (reproducible: the same store, options and seed give the same batch). Photos already
//! labelled or in an earlier batch are skipped; a photo whose difference hash is within a few
//! bits of one already chosen of the same container (consecutive shots) is thinned out.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::source::PhotoSource;
use super::{PhotoRecord, Prediction, class_name, phash};
use crate::dataset::DAMAGE_CLASSES;
use crate::error::{Result, TrainerError};

/// A reason to label a photo.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// The highest score of a verdict lies in the confidence band.
    LowConfidence,
    /// Edge and cloud verdicts disagree (boxes matched by class and IoU).
    Disagreement,
    /// A verdict has many boxes.
    ManyBoxes,
    /// A box of a class rare in the training set.
    RareClass,
    /// A seeded uniform control sample.
    Random,
}

impl Strategy {
    /// Every strategy, in ranking order.
    pub const ALL: [Strategy; 5] = [
        Strategy::LowConfidence,
        Strategy::Disagreement,
        Strategy::ManyBoxes,
        Strategy::RareClass,
        Strategy::Random,
    ];
}

/// Why one photo was chosen (one entry per strategy that chose it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "strategy", rename_all = "kebab-case")]
pub enum Reason {
    /// See [`Strategy::LowConfidence`].
    LowConfidence {
        /// `edge` or `cloud`.
        source: String,
        /// The verdict's highest score.
        max_score: f32,
    },
    /// See [`Strategy::Disagreement`].
    Disagreement {
        /// Edge boxes without a cloud match.
        edge_unmatched: usize,
        /// Cloud boxes without an edge match.
        cloud_unmatched: usize,
    },
    /// See [`Strategy::ManyBoxes`].
    ManyBoxes {
        /// `edge` or `cloud`.
        source: String,
        /// Boxes at or above the minimum score.
        boxes: usize,
    },
    /// See [`Strategy::RareClass`].
    RareClass {
        /// The rare classes seen.
        classes: Vec<String>,
    },
    /// See [`Strategy::Random`].
    Random,
}

impl Reason {
    /// The strategy behind it.
    pub fn strategy(&self) -> Strategy {
        match self {
            Reason::LowConfidence { .. } => Strategy::LowConfidence,
            Reason::Disagreement { .. } => Strategy::Disagreement,
            Reason::ManyBoxes { .. } => Strategy::ManyBoxes,
            Reason::RareClass { .. } => Strategy::RareClass,
            Reason::Random => Strategy::Random,
        }
    }
}

/// The knobs of a selection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SelectOptions {
    /// The strategies in use.
    pub strategies: Vec<Strategy>,
    /// Low-confidence band `[low, high)` of a verdict's highest score.
    pub band: (f32, f32),
    /// IoU at which an edge and a cloud box of the same class agree.
    pub iou: f32,
    /// Boxes under this score are ignored by disagreement, many boxes and rare classes.
    pub min_score: f32,
    /// "Many" boxes.
    pub many_boxes: usize,
    /// A class is rare under this share of the training set's boxes.
    pub rare_share: f64,
    /// Boxes per class in the training set (needed by [`Strategy::RareClass`]).
    pub class_counts: Option<Vec<u64>>,
    /// Share of the budget for the random control sample when other strategies are in use.
    pub random_share: f64,
    /// The budget: at most this many photos.
    pub max: usize,
    /// Seed of the ranking and of the random sample.
    pub seed: u64,
    /// Photos of one container whose difference hashes differ in at most this many bits are
    /// near duplicates.
    pub near_duplicate_bits: u32,
}

impl Default for SelectOptions {
    fn default() -> Self {
        Self {
            strategies: Strategy::ALL.to_vec(),
            band: (0.25, 0.5),
            iou: 0.5,
            min_score: 0.25,
            many_boxes: 5,
            rare_share: 0.05,
            class_counts: None,
            random_share: 0.1,
            max: 50,
            seed: 0,
            near_duplicate_bits: 6,
        }
    }
}

/// Photos to leave out: already labelled (in the data set) or in an earlier batch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Known {
    /// Photo ids.
    pub photo_ids: HashSet<String>,
    /// SHA-256 of the bytes.
    pub sha256: HashSet<String>,
}

impl Known {
    fn contains(&self, record: &PhotoRecord) -> bool {
        self.photo_ids.contains(&record.photo_id) || self.sha256.contains(&record.sha256)
    }
}

/// A chosen photo.
#[derive(Clone, Debug, PartialEq)]
pub struct Chosen {
    /// The photo.
    pub record: PhotoRecord,
    /// Why.
    pub reasons: Vec<Reason>,
    /// Its difference hash.
    pub dhash: u64,
    /// Width of the EXIF-oriented photo.
    pub width: u32,
    /// Height of the EXIF-oriented photo.
    pub height: u32,
}

/// A photo left out as a near duplicate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Thinned {
    /// The photo left out.
    pub photo_id: String,
    /// The chosen photo it nearly duplicates.
    pub like: String,
    /// Bits their hashes differ in.
    pub distance: u32,
}

/// What a selection found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Selection {
    /// The chosen photos, in rank order.
    pub chosen: Vec<Chosen>,
    /// Photos listed by the source.
    pub scanned: u64,
    /// Photos skipped as already labelled or batched.
    pub known: u64,
    /// Candidates per strategy (before the budget).
    pub candidates: Vec<(Strategy, u64)>,
    /// Near duplicates left out.
    pub thinned: Vec<Thinned>,
}

/// A candidate in a bounded pool; the greatest is the worst (popped first when full).
struct Candidate {
    rank: (Reverse<usize>, Strategy, u64),
    record: PhotoRecord,
    reasons: Vec<Reason>,
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.rank == other.rank
    }
}
impl Eq for Candidate {}
impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.rank
            .cmp(&other.rank)
            .then_with(|| self.record.photo_id.cmp(&other.record.photo_id))
    }
}

/// Keeps the `cap` best candidates.
struct Pool {
    heap: BinaryHeap<Candidate>,
    cap: usize,
}

impl Pool {
    fn new(cap: usize) -> Self {
        Self {
            heap: BinaryHeap::with_capacity(cap + 1),
            cap,
        }
    }

    fn offer(&mut self, candidate: Candidate) {
        if self.cap == 0 {
            return;
        }
        if self.heap.len() >= self.cap {
            match self.heap.peek() {
                Some(worst) if candidate < *worst => {
                    self.heap.pop();
                }
                _ => return,
            }
        }
        self.heap.push(candidate);
    }

    fn into_sorted(self) -> Vec<Candidate> {
        self.heap.into_sorted_vec()
    }
}

/// The seeded ranking key of a photo.
fn key(seed: u64, photo_id: &str) -> u64 {
    let digest = Sha256::new()
        .chain_update(seed.to_le_bytes())
        .chain_update(photo_id.as_bytes())
        .finalize();
    let mut head = [0u8; 8];
    head.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(head)
}

fn verdicts(record: &PhotoRecord) -> impl Iterator<Item = (&'static str, &Prediction)> {
    [
        ("edge", record.edge.as_ref()),
        ("cloud", record.cloud.as_ref()),
    ]
    .into_iter()
    .filter_map(|(s, p)| p.map(|p| (s, p)))
}

/// Boxes of `a` with no box of the same class and IoU ≥ `iou` in `b` (greedy, by score).
fn unmatched(a: &Prediction, b: &Prediction, iou: f32, min_score: f32) -> usize {
    let mut used = vec![false; b.boxes.len()];
    let mut missing = 0;
    for x in a.boxes.iter().filter(|x| x.score >= min_score) {
        let best = b
            .boxes
            .iter()
            .enumerate()
            .filter(|(j, y)| !used[*j] && y.score >= min_score && y.class_id == x.class_id)
            .map(|(j, y)| (j, x.iou(y)))
            .filter(|(_, v)| *v >= iou)
            .max_by(|p, q| p.1.total_cmp(&q.1));
        match best {
            Some((j, _)) => used[j] = true,
            None => missing += 1,
        }
    }
    missing
}

/// The reasons (other than random) `record` is worth labelling under `options`.
pub fn reasons(record: &PhotoRecord, options: &SelectOptions) -> Vec<Reason> {
    let mut out = Vec::new();
    let uses = |s| options.strategies.contains(&s);
    if uses(Strategy::LowConfidence) {
        let (low, high) = options.band;
        if let Some((source, max)) = verdicts(record)
            .map(|(s, p)| (s, p.max_score()))
            .find(|(_, m)| *m >= low && *m < high)
        {
            out.push(Reason::LowConfidence {
                source: source.into(),
                max_score: max,
            });
        }
    }
    if uses(Strategy::Disagreement)
        && let (Some(edge), Some(cloud)) = (&record.edge, &record.cloud)
    {
        let edge_unmatched = unmatched(edge, cloud, options.iou, options.min_score);
        let cloud_unmatched = unmatched(cloud, edge, options.iou, options.min_score);
        if edge_unmatched + cloud_unmatched > 0 {
            out.push(Reason::Disagreement {
                edge_unmatched,
                cloud_unmatched,
            });
        }
    }
    if uses(Strategy::ManyBoxes)
        && let Some((source, boxes)) = verdicts(record)
            .map(|(s, p)| {
                (
                    s,
                    p.boxes
                        .iter()
                        .filter(|b| b.score >= options.min_score)
                        .count(),
                )
            })
            .find(|(_, n)| *n >= options.many_boxes)
    {
        out.push(Reason::ManyBoxes {
            source: source.into(),
            boxes,
        });
    }
    if uses(Strategy::RareClass)
        && let Some(counts) = &options.class_counts
    {
        let total: u64 = counts.iter().sum();
        let rare = |id: u32| {
            let n = counts.get(id as usize).copied().unwrap_or(0);
            total == 0 || (n as f64) < options.rare_share * total as f64
        };
        let mut classes: Vec<String> = verdicts(record)
            .flat_map(|(_, p)| p.boxes.iter())
            .filter(|b| b.score >= options.min_score && rare(b.class_id))
            .filter_map(|b| class_name(b.class_id).map(str::to_owned))
            .collect();
        classes.sort();
        classes.dedup();
        if !classes.is_empty() {
            out.push(Reason::RareClass { classes });
        }
    }
    out
}

/// Checks the options before any photo is read.
fn check(options: &SelectOptions) -> Result<()> {
    let (low, high) = options.band;
    if !(0.0..=1.0).contains(&low) || !(0.0..=1.0).contains(&high) || low >= high {
        return Err(TrainerError::Input(format!(
            "--band {low}..{high}: need 0 <= low < high <= 1"
        )));
    }
    if options.strategies.is_empty() {
        return Err(TrainerError::Input("no strategy chosen".into()));
    }
    if options.strategies.contains(&Strategy::RareClass) {
        match &options.class_counts {
            Some(c) if c.len() == DAMAGE_CLASSES.len() => {}
            _ => {
                return Err(TrainerError::Input(
                    "strategy rare-class needs the training set's class counts (--dataset DIR)"
                        .into(),
                ));
            }
        }
    }
    if !(0.0..=1.0).contains(&options.random_share) {
        return Err(TrainerError::Input(format!(
            "--random-share {} must be in [0, 1]",
            options.random_share
        )));
    }
    Ok(())
}

/// Scans `source` and chooses at most `options.max` photos not in `known`.
pub fn select(
    source: &mut dyn PhotoSource,
    known: &Known,
    options: &SelectOptions,
) -> Result<Selection> {
    check(options)?;
    let random_on = options.strategies.contains(&Strategy::Random);
    let only_random = options.strategies.iter().all(|s| *s == Strategy::Random);
    let random_quota = match (random_on, only_random) {
        (false, _) => 0,
        (true, true) => options.max,
        (true, false) => {
            ((options.max as f64 * options.random_share).ceil() as usize).min(options.max)
        }
    };
    let ranked_quota = options.max - random_quota;
    // Spare candidates for those thinned out as near duplicates.
    let mut ranked = Pool::new(if ranked_quota == 0 {
        0
    } else {
        ranked_quota * 4 + 16
    });
    let mut random = Pool::new(if random_quota == 0 {
        0
    } else {
        random_quota * 4 + 16
    });
    let mut selection = Selection::default();
    let mut counts = [0u64; Strategy::ALL.len()];
    source.scan(&mut |record| {
        selection.scanned += 1;
        if known.contains(&record) {
            selection.known += 1;
            return Ok(());
        }
        let k = key(options.seed, &record.photo_id);
        let found = reasons(&record, options);
        for r in &found {
            counts[r.strategy() as usize] += 1;
        }
        if random_on {
            counts[Strategy::Random as usize] += 1;
            random.offer(Candidate {
                rank: (Reverse(0), Strategy::Random, k),
                record: record.clone(),
                reasons: vec![Reason::Random],
            });
        }
        if let Some(first) = found.first() {
            ranked.offer(Candidate {
                rank: (Reverse(found.len()), first.strategy(), k),
                record,
                reasons: found,
            });
        }
        Ok(())
    })?;
    selection.candidates = options
        .strategies
        .iter()
        .map(|s| (*s, counts[*s as usize]))
        .collect();
    let mut taken: HashSet<String> = HashSet::new();
    for (pool, quota) in [(ranked, ranked_quota), (random, random_quota)] {
        let mut picked = 0;
        for candidate in pool.into_sorted() {
            if picked == quota {
                break;
            }
            if !taken.insert(candidate.record.photo_id.clone()) {
                continue;
            }
            let bytes = source.read(&candidate.record)?;
            let image = super::batch::decode_oriented(&bytes).map_err(|e| {
                TrainerError::Input(format!(
                    "photo {}: cannot decode: {e}",
                    candidate.record.photo_id
                ))
            })?;
            let hash = phash::dhash(&image);
            let near = selection.chosen.iter().find_map(|c| {
                let d = phash::distance(c.dhash, hash);
                (c.record.container == candidate.record.container
                    && d <= options.near_duplicate_bits)
                    .then(|| (c.record.photo_id.clone(), d))
            });
            if let Some((like, distance)) = near {
                selection.thinned.push(Thinned {
                    photo_id: candidate.record.photo_id,
                    like,
                    distance,
                });
                continue;
            }
            selection.chosen.push(Chosen {
                record: candidate.record,
                reasons: candidate.reasons,
                dhash: hash,
                width: image.width(),
                height: image.height(),
            });
            picked += 1;
        }
    }
    Ok(selection)
}

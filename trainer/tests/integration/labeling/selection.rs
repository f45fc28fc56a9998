//! Selection on a phone store: each strategy, the budget and seed, skipping what is batched or labelled.

use super::*;

#[test]
fn each_strategy_picks_exactly_the_expected_phone_photos() {
    let dir = tempfile::tempdir().unwrap();
    let (mut source, ids) = phone_store(&dir.path().join("phone"));
    let known = Known::default();
    for (strategy, expected) in [
        (Strategy::Disagreement, set(&["disagree"])),
        (Strategy::ManyBoxes, set(&["many"])),
        (Strategy::RareClass, set(&["rare"])),
    ] {
        let s = select::select(&mut source, &known, &options(&[strategy], 10)).unwrap();
        assert_eq!(chosen_names(&s, &ids), expected, "{strategy:?}");
        assert_eq!(s.scanned, 20);
    }
    // Low confidence: "low" and its near duplicate "low-again" (same container, same scene):
    // one is chosen, the other thinned out as like it.
    let s = select::select(
        &mut source,
        &known,
        &options(&[Strategy::LowConfidence], 10),
    )
    .unwrap();
    let chosen = chosen_names(&s, &ids);
    assert_eq!(chosen.len(), 1);
    assert!(
        chosen == set(&["low"]) || chosen == set(&["low-again"]),
        "{chosen:?}"
    );
    assert_eq!(s.thinned.len(), 1);
    let pair = set(&["low", "low-again"]);
    let by_id: BTreeMap<&String, &String> = ids.iter().map(|(k, v)| (v, k)).collect();
    assert!(pair.contains(by_id[&s.thinned[0].photo_id]));
    assert!(pair.contains(by_id[&s.thinned[0].like]));
    // Without thinning both are chosen.
    let mut o = options(&[Strategy::LowConfidence], 10);
    o.near_duplicate_bits = 0;
    let s = select::select(&mut source, &known, &o).unwrap();
    if s.thinned.is_empty() {
        assert_eq!(chosen_names(&s, &ids), pair);
    }
    // Outside the band: a band that "low" (0.4) misses and "low-again" (0.3) hits.
    let mut o = options(&[Strategy::LowConfidence], 10);
    o.band = (0.25, 0.35);
    let s = select::select(&mut source, &known, &o).unwrap();
    assert_eq!(chosen_names(&s, &ids), set(&["low-again"]));
}

#[test]
fn budget_seed_and_random_control_sample() {
    let dir = tempfile::tempdir().unwrap();
    let (mut source, ids) = phone_store(&dir.path().join("phone"));
    let known = Known::default();
    let ranked = [
        Strategy::LowConfidence,
        Strategy::Disagreement,
        Strategy::ManyBoxes,
        Strategy::RareClass,
    ];
    // Budget 2 of the 4 candidates (low/low-again being one after thinning).
    let s = select::select(&mut source, &known, &options(&ranked, 2)).unwrap();
    assert_eq!(s.chosen.len(), 2);
    let all = set(&["low", "low-again", "disagree", "many", "rare"]);
    assert!(chosen_names(&s, &ids).is_subset(&all));
    // Random only: the budget, reproducible for a seed, another seed another sample.
    let mut random = |seed| {
        let mut o = options(&[Strategy::Random], 5);
        o.seed = seed;
        let s = select::select(&mut source, &known, &o).unwrap();
        assert_eq!(s.chosen.len(), 5);
        assert!(
            s.chosen
                .iter()
                .all(|c| c.reasons == vec![select::Reason::Random])
        );
        chosen_names(&s, &ids)
    };
    let first = random(1);
    assert_eq!(first, random(1));
    assert!((2..40).map(&mut random).any(|other| other != first));
    // Everything with a 25 % control share of 4: 3 ranked + 1 random.
    let mut o = options(&Strategy::ALL, 4);
    o.random_share = 0.25;
    let s = select::select(&mut source, &known, &o).unwrap();
    assert_eq!(s.chosen.len(), 4);
    let random_count = s
        .chosen
        .iter()
        .filter(|c| c.reasons == vec![select::Reason::Random])
        .count();
    assert_eq!(random_count, 1);
    assert!(
        s.chosen[..3]
            .iter()
            .all(|c| all.contains(&chosen_names_one(&c.record.photo_id, &ids)))
    );
}

#[test]
fn batches_skip_photos_already_batched_or_labelled() {
    let dir = tempfile::tempdir().unwrap();
    let (source, ids) = phone_store(&dir.path().join("phone"));
    drop(source);
    let batches = dir.path().join("batches");
    // `[--json] labeling select --phone … --out batches --name b1 more…` through the CLI.
    let select_b1 = |json: bool, more: &[&str]| {
        let phone = dir.path().join("phone");
        let mut args = if json { vec!["--json"] } else { vec![] };
        args.extend([
            "labeling",
            "select",
            "--phone",
            phone.to_str().unwrap(),
            "--out",
            batches.to_str().unwrap(),
            "--name",
            "b1",
        ]);
        args.extend_from_slice(more);
        common::cli(&args, &[], dir.path())
    };
    // Batch 1 through the CLI: rare-class needs a data set; use many-boxes + disagreement.
    let (ok, stdout, stderr) = select_b1(
        true,
        &["--strategy", "many-boxes,disagreement", "--max", "10"],
    );
    assert!(ok, "{stderr}");
    let written: Value = serde_json::from_str(&stdout).unwrap();
    let b1 = Batch::load(&batches.join("b1")).unwrap();
    assert_eq!(written["photos"].as_array().unwrap().len(), 2);
    let chosen: BTreeSet<String> = b1
        .photos
        .iter()
        .map(|p| chosen_names_one(&p.photo_id, &ids))
        .collect();
    assert_eq!(chosen, set(&["disagree", "many"]));
    for p in &b1.photos {
        let bytes = std::fs::read(batches.join("b1/images").join(&p.file)).unwrap();
        assert_eq!(omni_e2e::sha256_hex(&bytes), p.sha256);
        assert_eq!((p.width, p.height), (128, 96));
        assert!(!p.reasons.is_empty());
    }
    assert_eq!(b1.candidates["many-boxes"], 1);
    // Batch 2 with the same strategies: nothing left (both skipped as already batched).
    let mut known = Known::default();
    batch::add_earlier_batches(&batches, &mut known).unwrap();
    let mut source = PhoneSource::open(&dir.path().join("phone")).unwrap();
    let o = options(&[Strategy::ManyBoxes, Strategy::Disagreement], 10);
    let s = select::select(&mut source, &known, &o).unwrap();
    assert!(s.chosen.is_empty());
    assert_eq!(s.known, 2);
    // A batch name is never reused.
    drop(source);
    let (ok, _, stderr) = select_b1(false, &[]);
    assert!(!ok && stderr.contains("already exists"), "{stderr}");
    // Labelled photos (in dataset.json) are skipped too: label b1 (its predictions) and merge.
    let pool = dir.path().join("pool");
    let out = dir.path().join("rf");
    export::roboflow(&batches.join("b1"), &out, 0.25).unwrap();
    roboflow::import(&out, &pool, &BTreeMap::new()).unwrap();
    flatten_pool(&pool);
    let ds = dir.path().join("ds");
    merge::merge(
        &pool,
        &ds,
        Some(&batches.join("b1")),
        0.2,
        "2026-01-01T00:00:00Z",
    )
    .unwrap();
    let mut known = Known::default();
    DatasetManifest::load(&ds)
        .unwrap()
        .unwrap()
        .add_known(&mut known);
    let mut source = PhoneSource::open(&dir.path().join("phone")).unwrap();
    let s = select::select(&mut source, &known, &o).unwrap();
    assert!(s.chosen.is_empty());
    assert_eq!(s.known, 2);
}

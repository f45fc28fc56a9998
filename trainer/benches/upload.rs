//! `dataset upload` of 10 000 small files to moto on 127.0.0.1: the first upload's throughput
//! and the no-change re-run (goal: 0 PUTs, ≤ 10 s). Prints a Markdown table.
//!
//! Run: `OMNI_TEST_PYTHON=.venv/bin/python cargo bench -p omni-trainer --bench upload`
//! (`BENCH_FILES=N` to change the count, `BENCH_CONCURRENCY=N` the uploads in flight).

#![allow(missing_docs, clippy::unwrap_used)]

#[path = "../tests/integration/common/mod.rs"]
mod common;

use std::time::Instant;

use omni_trainer::s3uri::S3Uri;
use omni_trainer::upload::{UploadOptions, upload};

fn main() {
    let Some(python) = common::test_python() else {
        return;
    };
    let files: usize = std::env::var("BENCH_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let concurrency: usize = std::env::var("BENCH_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32);
    let moto = common::moto(&python);
    let dir = tempfile::tempdir().unwrap();
    // Half "labels" (~60 B), half small "images" (1–4 KiB of pseudo-random bytes).
    let mut total = 0u64;
    for i in 0..files {
        let (path, bytes) = if i % 2 == 0 {
            (
                format!("train/labels/f{i:05}.txt"),
                format!("{} 0.5 0.5 0.1 0.1\n", i % 6).into_bytes(),
            )
        } else {
            let n = 1024 + (i * 7919) % 3072;
            let bytes: Vec<u8> = (0..n).map(|j| ((i * 31 + j * 17) % 251) as u8).collect();
            (format!("train/images/f{i:05}.jpg"), bytes)
        };
        total += bytes.len() as u64;
        common::write(&dir.path().join(path), bytes);
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let settings = common::settings(&moto.url(), "omni-bench");
    let rows = rt.block_on(async {
        let clients = common::clients(&settings).await;
        common::create_bucket(&clients, "omni-bench").await;
        let dest = S3Uri::parse("s3://omni-bench/datasets/bench/").unwrap();
        let options = UploadOptions {
            concurrency,
            ..UploadOptions::default()
        };
        let mut rows = Vec::new();
        for run in ["first upload", "no-change re-run"] {
            let t = Instant::now();
            let s = upload(&clients, dir.path(), &dest, &options, &|_, _| {})
                .await
                .unwrap();
            let secs = t.elapsed().as_secs_f64();
            rows.push((
                run,
                s.uploaded,
                s.unchanged,
                s.requests.get("PUT").copied().unwrap_or(0),
                s.requests.get("GET").copied().unwrap_or(0),
                secs,
            ));
        }
        rows
    });
    println!(
        "dataset upload: {files} files, {total} bytes, concurrency {concurrency}, moto on 127.0.0.1"
    );
    println!();
    println!("| run | uploaded | unchanged | PUT | GET (list) | seconds | files/s |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (run, up, same, put, get, secs) in rows {
        println!(
            "| {run} | {up} | {same} | {put} | {get} | {secs:.2} | {:.0} |",
            files as f64 / secs
        );
    }
}

//! Report generation time (deterministic rules, PDF) and the Nova request's size for 1, 4 and 8
//! damaged photos (measured on the wire through the local Bedrock stand-in), with token and
//! cost estimates (docs/report.md). Prints numbers; asserts nothing about time.
//!
//! `OMNI_REPORT_SAMPLE_PDF=DIR` also writes the sample EIR in both languages to DIR.

#![allow(clippy::unwrap_used, missing_docs)] // A measurement script: a panic is the report.

#[path = "../tests/report/common.rs"]
mod common;
#[path = "../tests/report/standin.rs"]
mod standin;

use std::time::{Duration, Instant};

use omni_report::nova::Credentials;
use omni_report::pdf::PhotoBytes;
use omni_report::{
    CedexTable, KindTable, Language, NovaConfig, NovaWriter, build_report, render_pdf,
};
use serde_json::json;

/// AWS's published estimate for a 3:2-class image (1400 x 900) in the Nova user guide's
/// image-to-token table; a 4:3 photo downscaled to 1 MP (1154 x 866) falls in that class.
const IMAGE_TOKENS_ESTIMATE: u64 = 1800;
/// Nova Lite on-demand prices, US$ per million tokens (input, output).
const PRICE_IN: f64 = 0.06;
const PRICE_OUT: f64 = 0.24;

fn time<T>(n: u32, mut f: impl FnMut() -> T) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        std::hint::black_box(f());
    }
    start.elapsed() / n
}

fn main() {
    let kinds = KindTable::builtin();
    let cedex = CedexTable::builtin();
    let input = common::sample_with_photos();
    let rules = time(2000, || build_report(&input, &kinds, &cedex, 0).unwrap());
    println!(
        "deterministic report (4 damage lines): {:.1} µs",
        rules.as_secs_f64() * 1e6
    );
    let eir = build_report(&input, &kinds, &cedex, 1_780_001_000_000).unwrap();
    let photos: Vec<PhotoBytes<'_>> = input
        .photos
        .iter()
        .map(|p| PhotoBytes {
            id: &p.id,
            bytes: p.bytes.as_deref().unwrap(),
        })
        .collect();
    let bare = time(50, || render_pdf(&eir, &[], Language::En).unwrap());
    let with = time(10, || render_pdf(&eir, &photos, Language::En).unwrap());
    let size = render_pdf(&eir, &photos, Language::En).unwrap().len();
    println!("PDF without photos: {:.2} ms", bare.as_secs_f64() * 1e3);
    println!(
        "PDF with 4 photos (1600x1200 JPEG): {:.1} ms, {} KiB",
        with.as_secs_f64() * 1e3,
        size / 1024
    );
    if let Some(dir) = std::env::var_os("OMNI_REPORT_SAMPLE_PDF") {
        let dir = std::path::PathBuf::from(dir);
        std::fs::write(
            dir.join("eir-sample-en.pdf"),
            render_pdf(&eir, &photos, Language::En).unwrap(),
        )
        .unwrap();
        std::fs::write(
            dir.join("eir-sample-es.pdf"),
            render_pdf(&eir, &photos, Language::Es).unwrap(),
        )
        .unwrap();
        std::fs::write(dir.join("eir-sample.json"), eir.to_json()).unwrap();
    }

    let rt = tokio::runtime::Runtime::new().unwrap();
    println!("\nNova request (photos 4000x3000 JPEG, sent downscaled to <= 1 MP):");
    println!(
        "photos | request bytes | image bytes | text chars | est. input tokens | est. output tokens | est. US$ / 1,000 inspections"
    );
    for n in [1usize, 4, 8] {
        let input = common::damaged_photos(n);
        let lines: Vec<_> = (0..n)
            .map(|i| json!({"damage_id": format!("p{i}/d0"), "severity": "moderate"}))
            .collect();
        let answer = json!({"narrative_en": "x".repeat(600), "narrative_es": "y".repeat(600), "lines": lines});
        let received = rt.block_on(async {
            let standin = standin::StandIn::start(vec![standin::Scripted::Tool(answer)]).await;
            let config = NovaConfig {
                endpoint_url: Some(standin.url.clone()),
                ..NovaConfig::default()
            };
            let creds = Credentials::new(
                standin::ACCESS_KEY,
                standin::SECRET_KEY,
                None,
                None,
                "bench",
            );
            let eir = NovaWriter::with_credentials(config, creds)
                .write(&input, &kinds, &cedex, 0)
                .await
                .unwrap();
            assert_eq!(eir.written_by.method, omni_report::Method::Nova);
            standin.received()
        });
        let body = &received[0].body;
        let content = body["messages"][0]["content"].as_array().unwrap();
        let image_b64: usize = content
            .iter()
            .filter_map(|c| c["image"]["source"]["bytes"].as_str())
            .map(str::len)
            .sum();
        let images = content.iter().filter(|c| c.get("image").is_some()).count() as u64;
        let text_chars: usize = body.to_string().len() - image_b64;
        // Text: ~4 characters a token (estimate); output: two 600-character narratives and ~40
        // tokens a line (estimate; the tool caps each narrative at 1,200 characters).
        let tokens_in = text_chars as u64 / 4 + images * IMAGE_TOKENS_ESTIMATE;
        let tokens_out = 1200 / 4 + 40 * n as u64 + 50;
        let cost = (tokens_in as f64 * PRICE_IN + tokens_out as f64 * PRICE_OUT) / 1e6 * 1000.0;
        println!(
            "{n} | {} | {} (base64) | {text_chars} | ~{tokens_in} | ~{tokens_out} | ~{cost:.3}",
            received[0].body_bytes, image_b64
        );
    }
}

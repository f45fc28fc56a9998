//! Nova through the Converse API against the local stand-in: a good answer is used; every
//! kind of bad or missing answer falls back to the rules, marked with the reason; usage is
//! recorded.

use std::time::Duration;

use base64::Engine;
use omni_report::nova::Credentials;
use omni_report::{
    CedexTable, Eir, KindTable, Method, NovaConfig, NovaWriter, ReportInput, Severity,
};
use serde_json::{Value, json};

use crate::common::{SAMPLE_DAMAGES, sample_with_photos};
use crate::standin::{ACCESS_KEY, REGION, SECRET_KEY, Scripted, StandIn};

fn writer(url: &str, secret: &str) -> NovaWriter {
    let config = NovaConfig {
        region: REGION.into(),
        endpoint_url: Some(url.to_owned()),
        backoff_base: Duration::from_millis(20),
        timeout: Duration::from_millis(1500),
        ..NovaConfig::default()
    };
    NovaWriter::with_credentials(
        config,
        Credentials::new(ACCESS_KEY, secret, None, None, "test"),
    )
}

fn good_answer() -> Value {
    json!({
        "narrative_en": "Gate-in of CSQU3054383: a large dent on the right side and mould inside; not fit.",
        "narrative_es": "Entrada de CSQU3054383: abolladura grande en el lateral derecho y moho en el interior; no apto.",
        "lines": [
            {"damage_id": SAMPLE_DAMAGES[0], "severity": "major", "repair_code": "GW"},
            {"damage_id": SAMPLE_DAMAGES[1], "severity": "minor"},
            {"damage_id": SAMPLE_DAMAGES[2], "severity": "minor"},
            {"damage_id": SAMPLE_DAMAGES[3], "severity": "major"}
        ]
    })
}

async fn run(script: Vec<Scripted>) -> (Eir, StandIn) {
    let standin = StandIn::start(script).await;
    let input: ReportInput = sample_with_photos();
    let eir = writer(&standin.url, SECRET_KEY)
        .write(
            &input,
            &KindTable::builtin(),
            &CedexTable::builtin(),
            1_780_001_000_000,
        )
        .await
        .unwrap();
    (eir, standin)
}

fn assert_fallback(eir: &Eir, reason_part: &str) {
    assert_eq!(eir.written_by.method, Method::Rules);
    let reason = eir.written_by.fallback_reason.as_deref().unwrap_or("");
    assert!(
        reason.contains(reason_part),
        "reason {reason:?} lacks {reason_part:?}"
    );
    assert_eq!(
        eir.written_by.model_id.as_deref(),
        Some("us.amazon.nova-lite-v1:0")
    );
    // The rules' report, complete: the same lines as without Nova.
    let ids: Vec<&str> = eir.lines.iter().map(|l| l.damage_id.as_str()).collect();
    assert_eq!(ids, SAMPLE_DAMAGES);
    assert!(eir.narrative.en.contains("CSQU3054383"));
}

#[tokio::test]
async fn a_good_answer_is_used_and_the_request_is_what_the_issue_asks() {
    let (eir, standin) = run(vec![Scripted::Tool(good_answer())]).await;
    assert_eq!(eir.written_by.method, Method::Nova, "{:?}", eir.written_by);
    assert_eq!(eir.written_by.fallback_reason, None);
    assert_eq!(eir.written_by.attempts, 1);
    let usage = eir.written_by.usage.unwrap();
    assert_eq!(
        (usage.input_tokens, usage.output_tokens, usage.total_tokens),
        (1500, 180, 1680)
    );
    assert!(eir.narrative.es.contains("abolladura"));
    let sev: Vec<Severity> = eir.lines.iter().map(|l| l.severity).collect();
    assert_eq!(
        sev,
        [
            Severity::Major,
            Severity::Minor,
            Severity::Minor,
            Severity::Major
        ]
    );
    assert_eq!(
        eir.lines[0].repair_code, "GW",
        "a listed code the model chose"
    );

    let received = standin.received();
    assert_eq!(received.len(), 1);
    let r = &received[0];
    assert_eq!(r.model_id, "us.amazon.nova-lite-v1:0");
    let body = &r.body;
    assert_eq!(
        body["toolConfig"]["toolChoice"]["tool"]["name"],
        "write_eir"
    );
    let schema = &body["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"]["json"];
    assert_eq!(
        schema["properties"]["lines"]["items"]["properties"]["damage_id"]["enum"],
        json!(SAMPLE_DAMAGES)
    );
    let content = body["messages"][0]["content"].as_array().unwrap();
    let detections: Value = serde_json::from_str(content[0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(detections["damages"].as_array().unwrap().len(), 4);
    assert_eq!(detections["faces_missing"], "L, T");
    // The damaged photos only (right, door, interior), JPEG, at most 1 MP.
    let images: Vec<&Value> = content.iter().filter_map(|c| c.get("image")).collect();
    assert_eq!(images.len(), 3);
    for im in images {
        assert_eq!(im["format"], "jpeg");
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(im["source"]["bytes"].as_str().unwrap())
            .unwrap();
        let decoded =
            image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg).unwrap();
        assert!(decoded.width() * decoded.height() <= 1_000_000);
    }
}

#[tokio::test]
async fn an_answer_that_invents_a_damage_falls_back() {
    let mut answer = good_answer();
    answer["lines"][1]["damage_id"] = "p-left/d0".into();
    let (eir, _s) = run(vec![Scripted::Tool(answer)]).await;
    assert_fallback(
        &eir,
        "cites damage \"p-left/d0\", which the input does not have",
    );
    assert_eq!(
        eir.written_by.usage.unwrap().input_tokens,
        1500,
        "the refused answer's tokens are counted"
    );
}

#[tokio::test]
async fn malformed_tool_input_falls_back() {
    let (eir, _s) = run(vec![Scripted::Tool(
        json!({"narrative_en": "x", "lines": "all fine"}),
    )])
    .await;
    assert_fallback(&eir, "does not match the tool schema");
    let mut answer = good_answer();
    answer["lines"][0]["repair_code"] = "ZZ".into();
    let (eir, _s) = run(vec![Scripted::Tool(answer)]).await;
    assert_fallback(&eir, "repair code \"ZZ\"");
    let mut answer = good_answer();
    answer["lines"].as_array_mut().unwrap().pop();
    let (eir, _s) = run(vec![Scripted::Tool(answer)]).await;
    assert_fallback(&eir, "gives damage \"p-interior/rr3\" no line");
    let (eir, _s) = run(vec![Scripted::TextOnly]).await;
    assert_fallback(&eir, "no call of the tool write_eir");
}

#[tokio::test]
async fn a_huge_narrative_falls_back() {
    let mut answer = good_answer();
    answer["narrative_en"] = "The box is damaged. ".repeat(5000).into();
    let (eir, _s) = run(vec![Scripted::Tool(answer)]).await;
    assert_fallback(&eir, "the en narrative is 100000 characters");
    assert!(eir.narrative.en.len() < 2000);
}

#[tokio::test]
async fn max_tokens_falls_back() {
    let (eir, _s) = run(vec![Scripted::MaxTokens]).await;
    assert_fallback(&eir, "stopped at max_tokens (1024)");
}

#[tokio::test]
async fn throttling_then_success_is_retried_with_backoff() {
    let (eir, standin) = run(vec![Scripted::throttling(), Scripted::Tool(good_answer())]).await;
    assert_eq!(eir.written_by.method, Method::Nova);
    assert_eq!(eir.written_by.attempts, 2);
    assert_eq!(standin.received().len(), 2);
}

#[tokio::test]
async fn throttling_on_every_attempt_falls_back() {
    let (eir, standin) = run(vec![Scripted::throttling(); 3]).await;
    assert_fallback(&eir, "ThrottlingException");
    assert!(
        eir.written_by
            .fallback_reason
            .as_deref()
            .unwrap()
            .contains("gave up after 3 attempts")
    );
    assert_eq!(standin.received().len(), 3);
    assert_eq!(eir.written_by.usage, None);
}

#[tokio::test]
async fn access_denied_falls_back_without_retrying() {
    let (eir, standin) = run(vec![
        Scripted::access_denied(),
        Scripted::Tool(good_answer()),
    ])
    .await;
    assert_fallback(
        &eir,
        "Bedrock answered AccessDeniedException: You don't have access",
    );
    assert_eq!((eir.written_by.attempts, standin.received().len()), (1, 1));
}

#[tokio::test]
async fn a_timeout_falls_back() {
    let late = Scripted::Delay(
        Duration::from_secs(5),
        Box::new(Scripted::Tool(good_answer())),
    );
    let (eir, _s) = run(vec![late.clone(), late.clone(), late]).await;
    assert_fallback(&eir, "timed out");
}

#[tokio::test]
async fn the_stand_in_checks_the_signature() {
    let standin = StandIn::start(vec![Scripted::Tool(good_answer())]).await;
    let eir = writer(&standin.url, "a-wrong-secret")
        .write(
            &sample_with_photos(),
            &KindTable::builtin(),
            &CedexTable::builtin(),
            0,
        )
        .await
        .unwrap();
    assert_eq!(eir.written_by.method, Method::Rules);
    assert!(
        eir.written_by
            .fallback_reason
            .as_deref()
            .unwrap()
            .contains("InvalidSignatureException")
    );
    assert_eq!(standin.refused(), ["InvalidSignatureException"]);
    assert!(standin.received().is_empty());
}

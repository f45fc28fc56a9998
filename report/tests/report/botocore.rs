//! The stand-in checked against botocore's own `bedrock-runtime` client: botocore signs for
//! service `bedrock`, sends `POST /model/{modelId}/converse`, and parses each scripted answer
//! (a tool call, max_tokens, a text answer, throttling, access denied, a bad signature) with
//! the service model it ships, as it would parse AWS's.

use std::process::Command;

use serde_json::{Value, json};

use crate::standin::{ACCESS_KEY, REGION, SECRET_KEY, Scripted, StandIn};

/// The test venv's python; a missing venv fails the test unless `OMNI_SKIP_PYTHON_TESTS` is
/// set (then `None`, with a note).
fn test_python() -> Option<String> {
    crate::needs::test_python_or_skip(&[]).map(|p| p.display().to_string())
}

fn botocore(python: &str, url: &str, secret: &str, calls: usize) -> Vec<Value> {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/report/botocore_converse.py"
    );
    let spec = json!({"url": url, "access_key": ACCESS_KEY, "secret_key": secret, "region": REGION,
                      "model_id": "us.amazon.nova-lite-v1:0", "calls": calls});
    let out = crate::process::output_with_stdin(
        Command::new(python).arg(script),
        spec.to_string().as_bytes(),
    );
    crate::process::assert_success(&out);
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn botocore_reads_every_scripted_answer_as_aws_shaped() {
    let Some(python) = test_python() else { return };
    let tool_input = json!({"narrative_en": "ok", "narrative_es": "vale", "lines": []});
    let standin = StandIn::start(vec![
        Scripted::Tool(tool_input.clone()),
        Scripted::MaxTokens,
        Scripted::TextOnly,
        Scripted::throttling(),
        Scripted::access_denied(),
    ])
    .await;
    let url = standin.url.clone();
    let results = tokio::task::spawn_blocking(move || botocore(&python, &url, SECRET_KEY, 5))
        .await
        .unwrap();
    assert_eq!(results.len(), 5, "{results:?}");
    assert_eq!(results[0]["ok"], true);
    assert_eq!(results[0]["stopReason"], "tool_use");
    assert_eq!(results[0]["toolUse"]["name"], "write_eir");
    assert_eq!(results[0]["toolUse"]["input"], tool_input);
    assert_eq!(
        results[0]["usage"],
        json!({"inputTokens": 1500, "outputTokens": 180, "totalTokens": 1680})
    );
    assert_eq!(
        (
            results[1]["stopReason"].as_str(),
            results[1]["usage"]["outputTokens"].as_u64()
        ),
        (Some("max_tokens"), Some(1024))
    );
    assert_eq!(results[2]["stopReason"], "end_turn");
    assert_eq!(results[2]["text"], "I cannot help with that.");
    assert_eq!(
        (results[3]["status"].as_u64(), results[3]["code"].as_str()),
        (Some(429), Some("ThrottlingException"))
    );
    assert_eq!(
        results[3]["message"],
        "Too many requests, please wait before trying again."
    );
    assert_eq!(
        (results[4]["status"].as_u64(), results[4]["code"].as_str()),
        (Some(403), Some("AccessDeniedException"))
    );
    // botocore signed for service `bedrock`, and the path carried the model id it was given.
    let received = standin.received();
    assert_eq!(received.len(), 5);
    assert!(
        received
            .iter()
            .all(|r| r.model_id == "us.amazon.nova-lite-v1:0")
    );
    assert_eq!(
        received[0].body["toolConfig"]["toolChoice"]["tool"]["name"],
        "write_eir"
    );
    assert!(standin.refused().is_empty());

    // A wrong secret: refused by the stand-in's SigV4 check, read by botocore as AWS's.
    let Some(python) = test_python() else { return };
    let url = standin.url.clone();
    let results = tokio::task::spawn_blocking(move || botocore(&python, &url, "wrong", 1))
        .await
        .unwrap();
    assert_eq!(
        (results[0]["status"].as_u64(), results[0]["code"].as_str()),
        (Some(403), Some("InvalidSignatureException"))
    );
}

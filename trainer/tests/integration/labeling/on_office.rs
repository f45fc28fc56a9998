//! Selection on the office: the embedded store and DynamoDB + S3 (moto).

use super::*;

#[test]
fn selection_on_the_embedded_office() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ids = rt.block_on(fill_office(&store));
    drop(store);
    let mut source = OfficeSource::embedded(dir.path()).unwrap();
    assert_office_selection(&mut source, &ids);
    let known = Known::default();
    // The store trait directly (any store): the same answer.
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    let mut source = OfficeSource::from_store("office:test", store).unwrap();
    let s = select::select(&mut source, &known, &options(&[Strategy::Disagreement], 10)).unwrap();
    assert_eq!(chosen_names(&s, &ids), set(&["disagree"]));
    // Missing directories are refused, not created.
    let err = OfficeSource::embedded(&dir.path().join("nope")).unwrap_err();
    assert!(
        err.to_string().contains("not an office data directory"),
        "{err}"
    );
    let err = PhoneSource::open(&dir.path().join("nope")).unwrap_err();
    assert!(
        err.to_string().contains("not a phone data directory"),
        "{err}"
    );
    assert!(!dir.path().join("nope").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selection_on_the_office_on_aws() {
    let Some(moto) = common::shared_moto() else {
        return;
    };
    let (store, name) = common::moto_office(moto, "labeling-office").await;
    let ids = fill_office(&store).await;
    // The selection blocks on a runtime of its own: off this one.
    let (url, table) = (moto.url(), name.clone());
    tokio::task::spawn_blocking(move || {
        let store: Arc<dyn Store> = Arc::new(store);
        let mut source = OfficeSource::from_store("office:moto", store).unwrap();
        assert_office_selection(&mut source, &ids);
        // The CLI on the same table and bucket.
        let dir = tempfile::tempdir().unwrap();
        let (ok, stdout, stderr) = common::cli(
            &[
                "--json",
                "labeling",
                "select",
                "--office-table",
                &table,
                "--office-bucket",
                &table,
                "--office-endpoint-url",
                &url,
                "--out",
                dir.path().to_str().unwrap(),
                "--name",
                "b1",
                "--strategy",
                "many-boxes",
            ],
            &common::cli_env(&url, &table),
            dir.path(),
        );
        assert!(ok, "{stderr}");
        let b: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(b["photos"][0]["photo_id"], ids["many"].as_str());
        assert!(
            b["source"]
                .as_str()
                .unwrap()
                .starts_with("office:dynamodb:")
        );
    })
    .await
    .unwrap();
}

// --- Exports and imports ----------------------------------------------------------

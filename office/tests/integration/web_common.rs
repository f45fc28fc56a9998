//! The web view's tests share this: `omni-office serve` (the real binary) on a fresh data
//! directory, people added with `omni-office users add`, inspections sent as a phone sends
//! them (SigV4, the API), and a person's browser over plain HTTP (no redirects followed,
//! cookies kept by hand).

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};

use crate::common::{Answer, Client, credentials, inspection, jpeg};

/// The password every test person has.
pub const PASSWORD: &str = "correct horse battery";
/// An inspector id a hostile phone could send.
pub const HOSTILE_INSPECTOR: &str = "<script>alert(\"x\")</script>&'";

/// A person's browser: no redirects followed, cookies kept by hand.
pub struct Browser {
    pub http: reqwest::Client,
    pub base: String,
    pub cookies: Vec<(String, String)>,
}

pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The inspections a list page links to, in order.
    pub fn inspection_ids(&self) -> Vec<String> {
        self.body
            .match_indices("<a href=\"/inspections/")
            .map(|(at, m)| {
                let rest = &self.body[at + m.len()..];
                rest[..rest.find('"').unwrap()].to_owned()
            })
            .collect()
    }

    /// The whole `Set-Cookie` line that sets cookie `name`.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(str::to_owned)
    }

    /// The value of the hidden `csrf` field.
    pub fn csrf(&self) -> String {
        let at = self.body.find("name=\"csrf\" value=\"").unwrap() + 19;
        self.body[at..at + 64].to_owned()
    }
}

impl Browser {
    pub fn new(office: &Office) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: office.url.clone(),
            cookies: Vec::new(),
        }
    }

    pub fn keep(&mut self, headers: &HeaderMap) {
        for value in headers.get_all(SET_COOKIE) {
            let text = value.to_str().unwrap();
            let (pair, _) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies.retain(|(n, _)| n != name);
            if !text.contains("Max-Age=0") {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
    }

    /// `request` with the kept cookies.
    pub fn with_cookies(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let cookie = self
            .cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        if cookie.is_empty() {
            request
        } else {
            request.header("cookie", cookie)
        }
    }

    pub async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let response = self.with_cookies(request).send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        self.keep(&headers);
        let body = response.text().await.unwrap();
        Page {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let request = self.http.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    /// Posts `form` (pairs, urlencoded) to `path`.
    pub async fn post(&mut self, path: &str, form: &(impl serde::Serialize + ?Sized)) -> Page {
        let request = self.http.post(format!("{}{path}", self.base)).form(form);
        self.send(request).await
    }

    /// Signs in through the form; the answer to the form's POST.
    pub async fn sign_in(&mut self, user: &str, password: &str) -> Page {
        let form = self.get("/login").await;
        assert_eq!(form.status, StatusCode::OK);
        let csrf = form.csrf();
        self.post(
            "/login",
            &[("user", user), ("password", password), ("csrf", &csrf)],
        )
        .await
    }

    pub fn session(&self) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(n, _)| n == "omni_session")
            .map(|(_, v)| v.as_str())
    }
}

/// `omni-office serve` on 127.0.0.1, killed on drop.
pub struct Office {
    child: Child,
    pub url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Office {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn office_command(dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_omni-office"));
    command
        .env_remove("OMNI_OFFICE_TABLE")
        .env_remove("OMNI_OFFICE_BUCKET")
        .env("OMNI_OFFICE_DATA", dir);
    command
}

/// `omni-office users add NAME --role ROLE` with `password` on standard input: (success,
/// stdout, stderr).
pub fn add_user(
    dir: &std::path::Path,
    name: &str,
    role: &str,
    password: &str,
) -> (bool, String, String) {
    let out = omni_e2e::process::output_with_stdin(
        office_command(dir).args(["users", "add", name, "--role", role]),
        format!("{password}\n").as_bytes(),
    );
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

impl Office {
    /// Starts the office with reviewers `ana` and `eva` and a viewer `luis`.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        for (name, role) in [("ana", "reviewer"), ("eva", "reviewer"), ("luis", "viewer")] {
            let (ok, _, err) = add_user(dir.path(), name, role, PASSWORD);
            assert!(ok, "{err}");
        }
        Self::serve(dir, &[], &[])
    }

    /// `omni-office serve` on `dir` with `args` and `env` added (e.g. the AWS store, a user
    /// pool).
    pub fn serve(dir: tempfile::TempDir, args: &[&str], env: &[(&str, &str)]) -> Self {
        let c = credentials();
        let mut child = office_command(dir.path())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .envs(env.iter().copied())
            .env("AWS_ACCESS_KEY_ID", &c.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", &c.secret_access_key)
            .env("AWS_SESSION_TOKEN", c.session_token.as_deref().unwrap())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("omni-office listening on ")
            .unwrap_or_else(|| panic!("serve printed {line:?}"))
            .to_owned();
        Self {
            child,
            url,
            _dir: dir,
        }
    }

    /// The office's data directory (its store, opened beside the server to check what it
    /// holds).
    pub fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// A phone's signed API client.
    pub fn phone(&self) -> Client {
        Client {
            base: self.url.clone(),
            signer: credentials(),
            http: reqwest::Client::new(),
        }
    }
}

/// A schema v1 response by `model` with `boxes` as (class id, score, x1, y1, x2, y2) on a
/// 64×48 photo.
pub fn response(model: &str, boxes: &[(u32, f32, f32, f32, f32, f32)]) -> serde_json::Value {
    let labels = ["dent", "dirt", "rust", "scratch", "spoiled", "mold"];
    let detections: Vec<serde_json::Value> = boxes
        .iter()
        .map(|(c, s, x1, y1, x2, y2)| {
            serde_json::json!({"class_id": c, "label": labels[*c as usize], "score": s,
                "box": {"x1": x1, "y1": y1, "x2": x2, "y2": y2}})
        })
        .collect();
    serde_json::json!({"response": {
        "schema_version": 1,
        "model": {"name": model, "version": "1.0.0", "sha256": "ab".repeat(32)},
        "image": {"width": 64, "height": 48},
        "inference_ms": 12.5,
        "detections": detections,
    }})
}

fn ok(answer: Answer) {
    assert!(answer.status == 200 || answer.status == 201, "{answer:?}");
}

/// What a phone sends: `i-damaged` (CSQU3054383, a hostile inspector id, one photo with an
/// edge verdict of 2 boxes and a cloud verdict of 3), `i-sound` (MSCU1234566, closed, one
/// photo judged sound at the edge).
pub async fn seed(phone: &Client) {
    let mut damaged = inspection("CSQU3054383", 1_764_900_000_000, 1);
    damaged.inspector_id = HOSTILE_INSPECTOR.into();
    ok(phone.put_inspection("i-damaged", &damaged).await);
    ok(phone.put_photo("i-damaged", "p1", &jpeg(1), None).await);
    let base = "/v1/inspections/i-damaged/photos/p1/verdicts";
    let edge = response(
        "omni-yolo11n-f16",
        &[
            (0, 0.91, 2.0, 3.0, 20.0, 30.0),
            (2, 0.55, 30.0, 10.0, 60.0, 40.0),
        ],
    );
    ok(phone.put_json(&format!("{base}/edge"), &edge).await);
    let cloud = response(
        "omni-yolo11n",
        &[
            (0, 0.95, 2.0, 3.0, 21.0, 30.0),
            (2, 0.71, 30.0, 10.0, 61.0, 41.0),
            (3, 0.42, 5.0, 35.0, 25.0, 45.0),
        ],
    );
    ok(phone.put_json(&format!("{base}/cloud"), &cloud).await);

    let mut sound = inspection("MSCU1234566", 1_764_800_000_000, 2);
    sound.state = omni_office::wire::InspectionState::Closed;
    ok(phone.put_inspection("i-sound", &sound).await);
    ok(phone.put_photo("i-sound", "p1", &jpeg(2), None).await);
    ok(phone
        .put_json(
            "/v1/inspections/i-sound/photos/p1/verdicts/edge",
            &response("omni-yolo11n-f16", &[]),
        )
        .await);
}

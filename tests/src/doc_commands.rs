//! The commands the README and `docs/` show, read from their code blocks, so that each
//! binary's tests can run every one of them through the real binary and fail when a page
//! shows a command no test runs (or a test runs one no page shows any more).
//!
//! A page's command line is normalised the way a reader would type it: continuation lines
//! joined, `# comments` dropped, `a && b` split, leading `NAME=value` assignments kept as its
//! environment, and the ways of starting a binary (`cargo run --release -p omni-cli --`,
//! `target/release/omni-trainer`, `$T` after `T=target/release/omni-trainer`) replaced by
//! the binary's name.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};

/// One command line a page shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocCommand {
    /// The page, relative to the workspace root.
    pub page: String,
    /// The command: the binary's name, then its arguments as written.
    pub text: String,
    /// `NAME=value` assignments written before it.
    pub env: Vec<(String, String)>,
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// The pages read: the README and every page of `docs/`.
pub fn pages() -> Vec<PathBuf> {
    let root = workspace_root();
    let mut pages = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .map(|dir| {
            dir.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "md"))
                .collect()
        })
        .unwrap_or_default();
    docs.sort();
    pages.extend(docs);
    pages
}

/// The text of every code block of `markdown` (fenced or indented).
pub fn code_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for event in Parser::new(markdown) {
        match event {
            Event::Start(Tag::CodeBlock(kind)) => {
                // Fenced blocks tagged as anything but a shell (json, yaml, text for
                // diagrams and trees, …) hold no commands.
                let data = matches!(&kind, CodeBlockKind::Fenced(lang)
                    if !lang.is_empty() && !matches!(lang.as_ref(), "sh" | "bash" | "console" | "shell"));
                current = (!data).then(String::new);
            }
            Event::Text(text) => {
                if let Some(block) = current.as_mut() {
                    block.push_str(&text);
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some(block) = current.take() {
                    blocks.push(block);
                }
            }
            _ => {}
        }
    }
    blocks
}

/// Drops a `# comment` that starts outside quotes after whitespace.
fn strip_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut previous = ' ';
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '\'' | '"') => quote = Some(c),
            (None, '#') if previous.is_whitespace() => return &line[..i],
            _ => {}
        }
        previous = c;
    }
    line
}

/// The binary a `cargo run` package or `--bin` names.
fn binary_of(package: &str) -> &str {
    match package {
        "omni-cli" => "omni",
        other => other,
    }
}

/// `cargo run [--release] (-p P | --bin B) [-p P] -- ARGS` → `BIN ARGS`.
fn cargo_run(words: &[&str]) -> Option<String> {
    if words.len() < 2 || words[0] != "cargo" || words[1] != "run" {
        return None;
    }
    let split = words.iter().position(|w| *w == "--")?;
    let mut bin = None;
    let mut i = 2;
    while i < split {
        match words[i] {
            "-p" | "--package" | "--bin" if i + 1 < split => {
                // --bin names the binary itself, which wins over the package's.
                if words[i] == "--bin" || bin.is_none() {
                    bin = Some(binary_of(words[i + 1]));
                }
                i += 2;
            }
            _ => i += 1,
        }
    }
    let mut text = bin?.to_owned();
    for w in &words[split + 1..] {
        text.push(' ');
        text.push_str(w);
    }
    Some(text)
}

/// The command lines of one code block, normalised (see the module's documentation).
pub fn commands_of_block(block: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut joined = Vec::new();
    let mut pending = String::new();
    for line in block.lines() {
        let line = strip_comment(line).trim_end();
        if let Some(head) = line.strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
            continue;
        }
        pending.push_str(line);
        joined.push(std::mem::take(&mut pending));
    }
    if !pending.is_empty() {
        joined.push(pending);
    }
    let mut aliases: Vec<(String, String)> = Vec::new();
    let mut out = Vec::new();
    for line in joined {
        for segment in line.split("&&") {
            let mut words: Vec<&str> = segment.split_whitespace().collect();
            let mut env = Vec::new();
            while let Some((name, value)) = words.first().and_then(|w| w.split_once('=')) {
                if name.is_empty()
                    || !name
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                {
                    break;
                }
                env.push((name.to_owned(), value.to_owned()));
                words.remove(0);
            }
            if words.is_empty() {
                // `T=target/release/omni-trainer`: `$T` is that binary from here on.
                for (name, value) in env {
                    if let Some(bin) = value.rsplit('/').next() {
                        aliases.push((format!("${name}"), bin.to_owned()));
                    }
                }
                continue;
            }
            let text = match cargo_run(&words) {
                Some(text) => text,
                None => {
                    let first = aliases
                        .iter()
                        .find(|(alias, _)| alias == words[0])
                        .map(|(_, bin)| bin.as_str())
                        .unwrap_or_else(|| words[0].rsplit('/').next().unwrap_or(words[0]));
                    std::iter::once(first)
                        .chain(words[1..].iter().copied())
                        .collect::<Vec<_>>()
                        .join(" ")
                }
            };
            out.push((text, env));
        }
    }
    out
}

/// Every command line for `bin` that the README and `docs/` show.
pub fn documented(bin: &str) -> Vec<DocCommand> {
    let root = workspace_root();
    let mut found = Vec::new();
    for page in pages() {
        let Ok(markdown) = std::fs::read_to_string(&page) else {
            panic!("cannot read {}", page.display());
        };
        let name = page
            .strip_prefix(&root)
            .unwrap_or(&page)
            .display()
            .to_string();
        for block in code_blocks(&markdown) {
            for (text, env) in commands_of_block(&block) {
                if text.split_whitespace().next() == Some(bin) {
                    found.push(DocCommand {
                        page: name.clone(),
                        text,
                        env,
                    });
                }
            }
        }
    }
    found
}

/// Asserts that the commands a test runs for `bin` are exactly those the pages show: a
/// page's command no test runs, or a test's command no page shows, fails with both lists.
pub fn assert_all_run(bin: &str, run: &[&str]) {
    let shown: BTreeSet<String> = documented(bin).into_iter().map(|c| c.text).collect();
    let tested: BTreeSet<String> = run.iter().map(|s| (*s).to_owned()).collect();
    let untested: Vec<&String> = shown.difference(&tested).collect();
    let unshown: Vec<&String> = tested.difference(&shown).collect();
    assert!(
        untested.is_empty() && unshown.is_empty(),
        "{bin}: commands the pages show that no test runs: {untested:#?}\n\
         commands a test runs that no page shows (stale): {unshown:#?}"
    );
}

/// The arguments of a page's command (after the binary's name), split as a shell would,
/// with each whole word that is a key of `vars` replaced by its value and `dir/*.ext`
/// patterns expanded in `cwd`.
pub fn argv(text: &str, vars: &[(&str, &str)], cwd: &Path) -> Vec<String> {
    let words = shell_words::split(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    let mut args = Vec::new();
    for word in words.into_iter().skip(1) {
        let word = vars
            .iter()
            .find(|(k, _)| *k == word)
            .map_or(word, |(_, v)| (*v).to_owned());
        if word.contains('*') {
            let pattern = cwd.join(&word);
            let mut matches: Vec<String> = glob::glob(&pattern.to_string_lossy())
                .unwrap_or_else(|e| panic!("{word}: {e}"))
                .filter_map(Result::ok)
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            assert!(
                !matches.is_empty(),
                "{word} matches nothing in {}",
                cwd.display()
            );
            matches.sort();
            args.extend(matches);
        } else {
            args.push(word);
        }
    }
    args
}

/// Runs a binary's documented commands through the binary itself and, at
/// [`finish`](Self::finish), asserts that it ran exactly the commands the pages show.
pub struct DocRun {
    bin: String,
    path: PathBuf,
    cwd: PathBuf,
    shown: Vec<DocCommand>,
    ran: BTreeSet<String>,
    env: Vec<(String, String)>,
    removed: Vec<String>,
}

impl DocRun {
    /// Commands of `bin` (the executable at `path`), run in `cwd`.
    pub fn new(bin: &str, path: &Path, cwd: &Path) -> Self {
        Self {
            bin: bin.to_owned(),
            path: path.to_owned(),
            cwd: cwd.to_owned(),
            shown: documented(bin),
            ran: BTreeSet::new(),
            env: Vec::new(),
            removed: Vec::new(),
        }
    }

    /// Sets `name=value` in the environment of every later command (test credentials, an
    /// emulator's URL), under the page's own assignments.
    pub fn env(&mut self, name: &str, value: &str) -> &mut Self {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Removes `name` from the environment of every later command (a setting of the
    /// machine that would change what the command does).
    pub fn env_remove(&mut self, name: &str) -> &mut Self {
        self.removed.push(name.to_owned());
        self
    }

    /// The command a page shows as `text`, with `vars` substituted, ready to run (its
    /// environment: this run's, then the page's assignments). Recorded as run.
    pub fn command(&mut self, text: &str, vars: &[(&str, &str)]) -> std::process::Command {
        let Some(doc) = self.shown.iter().find(|c| c.text == text) else {
            panic!(
                "{text:?} is not a command any page shows; the pages show: {:#?}",
                self.shown.iter().map(|c| &c.text).collect::<Vec<_>>()
            );
        };
        let mut command = std::process::Command::new(&self.path);
        for name in &self.removed {
            command.env_remove(name);
        }
        command
            .args(argv(text, vars, &self.cwd))
            .current_dir(&self.cwd)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .envs(doc.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        self.ran.insert(text.to_owned());
        command
    }

    /// Runs the command a page shows as `text` to its end and returns what it printed;
    /// panics with its output unless it exits 0.
    pub fn run(&mut self, text: &str, vars: &[(&str, &str)]) -> String {
        let output = self
            .command(text, vars)
            .output()
            .unwrap_or_else(|e| panic!("{text}: cannot run {}: {e}", self.path.display()));
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "{text}: exit {:?}\nstdout: {stdout}\nstderr: {}",
            output.status.code(),
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    }

    /// Starts a page's server command (stdout piped, stderr inherited) and reads the first
    /// line it prints, which must start with `announce` (`listening on `): the rest is its
    /// base URL.
    pub fn serve(&mut self, text: &str, vars: &[(&str, &str)], announce: &str) -> Served {
        let mut child = self
            .command(text, vars)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("{text}: {e}"));
        let mut line = String::new();
        if let Some(stdout) = child.stdout.take() {
            let _ = std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line);
        }
        let Some(url) = line.trim().strip_prefix(announce).map(str::to_owned) else {
            let _ = child.kill();
            panic!("{text}: printed {line:?}, not {announce:?}…");
        };
        Served { child, url }
    }

    /// Asserts that every command the pages show for this binary was run, and nothing else.
    pub fn finish(self) {
        self.finish_with(&[]);
    }

    /// As [`finish`](Self::finish), counting `elsewhere`: the pages' commands another test
    /// runs through the real binary (one that needs a stand-in this run does not start).
    pub fn finish_with(self, elsewhere: &[&str]) {
        let mut ran: Vec<&str> = self.ran.iter().map(String::as_str).collect();
        ran.extend_from_slice(elsewhere);
        assert_all_run(&self.bin, &ran);
    }
}

/// A server a page's command started, and the base URL it printed; killed on drop.
pub struct Served {
    child: std::process::Child,
    /// The base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(block: &str) -> Vec<String> {
        commands_of_block(block)
            .into_iter()
            .map(|(t, _)| t)
            .collect()
    }

    #[test]
    fn ways_of_starting_a_binary_become_its_name() {
        let block = "cargo run --release -p omni-cli -- --data-dir d inspect a.jpg  # main job\n\
                     cargo build --release -p omni-trainer && T=target/release/omni-trainer\n\
                     $T dataset import-roboflow e.zip --out ds && $T dataset validate ds\n\
                     A=1 B=2 cargo run --release --bin omni-endpoint -- --listen 127.0.0.1:8080\n\
                     target/release/omni-office serve \\\n  --data-dir od\n";
        assert_eq!(
            texts(block),
            [
                "omni --data-dir d inspect a.jpg",
                "cargo build --release -p omni-trainer",
                "omni-trainer dataset import-roboflow e.zip --out ds",
                "omni-trainer dataset validate ds",
                "omni-endpoint --listen 127.0.0.1:8080",
                "omni-office serve --data-dir od",
            ]
        );
        let env = &commands_of_block(block)[4].1;
        assert_eq!(env, &[("A".into(), "1".into()), ("B".into(), "2".into())]);
    }

    #[test]
    fn comments_inside_quotes_stay() {
        assert_eq!(
            texts("omni-trainer x --url-prefix '/a?d=#b' # note"),
            ["omni-trainer x --url-prefix '/a?d=#b'"]
        );
    }

    #[test]
    fn data_blocks_and_prose_are_not_commands() {
        let page = "Run `omni list`.\n\n```json\n{\"omni\": 1}\n```\n\n    omni stats\n\n```sh\nomni show X\n```\n\n```text\nomni CLI (cli/)\n```\n";
        assert_eq!(code_blocks(page), ["omni stats\n", "omni show X\n"]);
    }
}

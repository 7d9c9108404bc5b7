//! The workspace model: which rule files are loaded together, in which order, with which text.
//!
//! Falco loads rule files in a fixed order and later files see, append to and override the
//! items of earlier ones, so the order decides diagnostics, definitions and references. It comes
//! from the first of: the `rules_files` (or legacy `rules_file`) list of a `falco.yaml` at the
//! workspace root; the `rules_files` array of a `lanner.toml` there; the client setting
//! `rulesFiles`; else every rules file under the root, sorted by path. Open buffers override
//! the files on disk; open buffers outside that order are loaded after it.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use tower_lsp_server::ls_types::Uri;

/// Where the load order came from, shown in hovers and logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderSource {
    FalcoYaml,
    LannerToml,
    Setting,
    Sorted,
    NoRoot,
}

#[derive(Clone, Debug)]
pub struct OpenDoc {
    pub uri: Uri,
    pub version: i32,
    pub text: String,
}

/// One file of the analysis, in load order.
#[derive(Clone, Debug)]
pub struct Source {
    pub uri: Uri,
    /// The name diagnostics show: the path relative to the root when there is one.
    pub name: String,
    pub text: String,
    /// The buffer version when the file is open.
    pub version: Option<i32>,
}

#[derive(Debug, Default)]
pub struct Workspace {
    pub root: Option<PathBuf>,
    pub setting: Option<Vec<String>>,
    /// Files on disk in load order, with their last-read text.
    pub disk: Vec<(PathBuf, String)>,
    pub order_source: Option<OrderSource>,
    /// Keyed by the URI's text.
    pub open: BTreeMap<String, OpenDoc>,
}

/// Directories never searched for rule files.
const SKIPPED_DIRS: &[&str] = &["target", "node_modules"];
/// Bounds on the directory walk, so that opening a home directory stays cheap.
const MAX_DEPTH: usize = 8;
const MAX_FILES: usize = 2000;

impl Workspace {
    pub fn new(root: Option<PathBuf>, setting: Option<Vec<String>>) -> Workspace {
        let mut ws = Workspace {
            root,
            setting,
            ..Workspace::default()
        };
        ws.reload_disk();
        ws
    }

    /// Recomputes the load order and rereads every file of it.
    pub fn reload_disk(&mut self) {
        let (source, paths) = match &self.root {
            None => (OrderSource::NoRoot, Vec::new()),
            Some(root) => load_order(root, self.setting.as_deref()),
        };
        self.order_source = Some(source);
        self.disk = paths
            .into_iter()
            .filter_map(|p| {
                let text = std::fs::read_to_string(&p).ok()?;
                Some((p, text))
            })
            .collect();
    }

    /// The files of the analysis in load order, open buffers taking the place of disk text.
    pub fn sources(&self) -> Vec<Source> {
        let mut used: HashMap<&str, ()> = HashMap::new();
        let mut out = Vec::new();
        for (path, text) in &self.disk {
            let Some(uri) = Uri::from_file_path(path) else {
                continue;
            };
            let key = uri.as_str().to_owned();
            let open = self.open.get(&key);
            if let Some((k, _)) = self.open.get_key_value(&key) {
                used.insert(k.as_str(), ());
            }
            out.push(Source {
                name: self.display_name(path),
                text: open.map_or_else(|| text.clone(), |d| d.text.clone()),
                version: open.map(|d| d.version),
                uri,
            });
        }
        for (key, doc) in &self.open {
            if used.contains_key(key.as_str()) {
                continue;
            }
            let name = doc
                .uri
                .to_file_path()
                .map_or_else(|| key.clone(), |p| self.display_name(&p));
            out.push(Source {
                uri: doc.uri.clone(),
                name,
                text: doc.text.clone(),
                version: Some(doc.version),
            });
        }
        out
    }

    fn display_name(&self, path: &Path) -> String {
        self.root
            .as_deref()
            .and_then(|r| path.strip_prefix(r).ok())
            .unwrap_or(path)
            .display()
            .to_string()
    }
}

/// The rule files under `root` in Falco's load order, and where that order came from.
pub fn load_order(root: &Path, setting: Option<&[String]>) -> (OrderSource, Vec<PathBuf>) {
    let expand = |entries: Vec<String>| -> Vec<PathBuf> {
        let mut out = Vec::new();
        for e in entries {
            let p = root.join(&e);
            if p.is_dir() {
                // Falco loads a directory's files sorted by name.
                let mut files = Vec::new();
                walk(&p, 1, &mut files);
                files.sort();
                out.extend(files);
            } else {
                out.push(p);
            }
        }
        out
    };
    if let Some(entries) = std::fs::read_to_string(root.join("falco.yaml"))
        .ok()
        .and_then(|t| falco_yaml_rules_files(&t))
    {
        return (OrderSource::FalcoYaml, expand(entries));
    }
    if let Some(entries) = std::fs::read_to_string(root.join("lanner.toml"))
        .ok()
        .and_then(|t| lanner_toml_rules_files(&t))
    {
        return (OrderSource::LannerToml, expand(entries));
    }
    if let Some(entries) = setting {
        return (OrderSource::Setting, expand(entries.to_vec()));
    }
    let mut files = Vec::new();
    walk(root, 0, &mut files);
    files.sort();
    (OrderSource::Sorted, files)
}

fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    if depth > MAX_DEPTH || out.len() >= MAX_FILES {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if p.is_dir() {
            if !name.starts_with('.') && !SKIPPED_DIRS.contains(&name.as_str()) {
                walk(&p, depth + 1, out);
            }
        } else if is_rules_file_name(&name)
            && std::fs::read_to_string(&p).is_ok_and(|t| looks_like_rules(&t))
        {
            out.push(p);
        }
    }
}

fn is_rules_file_name(name: &str) -> bool {
    (name.ends_with(".yaml") || name.ends_with(".yml"))
        && !name.ends_with(".test.yaml")
        && !name.ends_with(".test.yml")
        && name != "falco.yaml"
}

/// A YAML file is taken for a rules file when an item key starts one of its lines.
fn looks_like_rules(text: &str) -> bool {
    text.lines().any(|l| {
        [
            "- rule:",
            "- macro:",
            "- list:",
            "- required_engine_version:",
        ]
        .iter()
        .any(|k| l.starts_with(k))
    })
}

/// The `rules_files:` (or `rules_file:`) list of a falco.yaml, block or flow style. A full YAML
/// parse is not needed: the key is top-level and its entries are plain paths.
pub fn falco_yaml_rules_files(text: &str) -> Option<Vec<String>> {
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(rest) = line
            .strip_prefix("rules_files:")
            .or_else(|| line.strip_prefix("rules_file:"))
        else {
            continue;
        };
        let rest = strip_comment(rest).trim();
        if let Some(flow) = rest.strip_prefix('[') {
            let inner = flow.trim_end().strip_suffix(']').unwrap_or(flow);
            return Some(
                inner
                    .split(',')
                    .map(unquote)
                    .filter(|s| !s.is_empty())
                    .collect(),
            );
        }
        if !rest.is_empty() {
            return Some(vec![unquote(rest)]);
        }
        let mut out = Vec::new();
        for l in lines.by_ref() {
            let t = strip_comment(l).trim();
            if t.is_empty() {
                continue;
            }
            if !l.starts_with([' ', '-', '\t']) {
                break;
            }
            if let Some(entry) = t.strip_prefix('-') {
                out.push(unquote(entry));
            }
        }
        return Some(out);
    }
    None
}

/// `rules_files = ["a.yaml", "b.yaml"]` in a lanner.toml (one line or several).
pub fn lanner_toml_rules_files(text: &str) -> Option<Vec<String>> {
    let start = text.find("rules_files")?;
    let rest = text.get(start..)?;
    let open = rest.find('[')?;
    let close = rest.find(']')?;
    let inner = rest.get(open + 1..close)?;
    Some(
        inner
            .split(',')
            .map(|s| unquote(strip_comment(s)))
            .filter(|s| !s.is_empty())
            .collect(),
    )
}

fn strip_comment(s: &str) -> &str {
    match s.find(" #") {
        Some(i) => s.get(..i).unwrap_or(s),
        None if s.trim_start().starts_with('#') => "",
        None => s,
    }
}

fn unquote(s: &str) -> String {
    let s = s.trim();
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .or_else(|| s.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
        .unwrap_or(s)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn falco_yaml_forms() {
        let block = "watch_config_files: true\nrules_files:\n  - /etc/falco/falco_rules.yaml # main\n  - \"b_rules.yaml\"\n\nload_plugins: []\n";
        assert_eq!(
            falco_yaml_rules_files(block),
            Some(vec![
                "/etc/falco/falco_rules.yaml".to_owned(),
                "b_rules.yaml".to_owned()
            ])
        );
        assert_eq!(
            falco_yaml_rules_files("rules_file: [a.yaml, 'b.yaml']\n"),
            Some(vec!["a.yaml".to_owned(), "b.yaml".to_owned()])
        );
        assert_eq!(falco_yaml_rules_files("json_output: true\n"), None);
        assert_eq!(
            lanner_toml_rules_files("rules_files = [\n  \"x.yaml\",\n  \"y.yaml\",\n]\n"),
            Some(vec!["x.yaml".to_owned(), "y.yaml".to_owned()])
        );
    }
}

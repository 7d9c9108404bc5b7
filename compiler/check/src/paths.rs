//! Rules paths as Falco takes them: a file is loaded as given; a folder stands for the
//! `*.yaml` and `*.yml` regular files directly inside it (symlinks followed), sorted by path
//! in byte order. Sub-folders are not entered: Falco 0.44's `read_rules_file_directory` lists
//! one level only. `rulec check`, `rulec explain` and `lanner replay/run --rules` share this.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum PathsError {
    #[error("cannot read the rules folder `{}`: {source}", path.display())]
    ReadDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the rules folder `{}` holds no `*.yaml` or `*.yml` file", path.display())]
    EmptyDir { path: PathBuf },
}

/// Whether `p` ends in `.yaml` or `.yml` (as Falco matches, case-sensitively).
pub fn is_rules_file(p: &Path) -> bool {
    p.extension().is_some_and(|e| e == "yaml" || e == "yml")
}

/// The rules files `paths` stand for, in load order: each folder replaced by its rules files.
pub fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, PathsError> {
    let mut out = Vec::new();
    for p in paths {
        if !p.is_dir() {
            out.push(p.clone());
            continue;
        }
        let read_err = |source| PathsError::ReadDir {
            path: p.clone(),
            source,
        };
        let mut files = Vec::new();
        for entry in std::fs::read_dir(p).map_err(read_err)? {
            let path = entry.map_err(read_err)?.path();
            // `is_file` follows symlinks, as Falco's `is_regular_file` does.
            if path.is_file() && is_rules_file(&path) {
                files.push(path);
            }
        }
        if files.is_empty() {
            return Err(PathsError::EmptyDir { path: p.clone() });
        }
        // Falco sorts the full path strings; on one folder that is the file names' byte order.
        files.sort_by(|a, b| {
            a.as_os_str()
                .as_encoded_bytes()
                .cmp(b.as_os_str().as_encoded_bytes())
        });
        out.extend(files);
    }
    Ok(out)
}

//! Locating the workspace and the pinned tools installed by `scripts/install-tools.sh`.

use std::path::{Path, PathBuf};

/// The workspace root (the folder with the top-level Cargo.toml).
pub fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors().find(|p| p.join("Cargo.lock").exists() || p.join(".git").exists()).unwrap_or(here).to_path_buf()
}

/// A tool from the project's venv (`.tools/venv/bin/NAME`), falling back to `PATH`.
/// Panics with the fix when it is missing: tests need their peers, they never skip silently.
pub fn tool(name: &str) -> PathBuf {
    let local = workspace_root().join(".tools/venv/bin").join(name);
    if local.exists() {
        return local;
    }
    if let Some(found) = std::env::var_os("PATH").and_then(|paths| std::env::split_paths(&paths).map(|p| p.join(name)).find(|p| p.exists())) {
        return found;
    }
    panic!("{name} not found: run `bash scripts/install-tools.sh` first (it installs the pinned test tools into .tools/)");
}

//! Running cargo: where the workspace is, which cargo to use, and how a command is shown and run.
//!
//! Commands inherit this process's environment, so `CARGO_TARGET_DIR`, `RUSTFLAGS` and the
//! toolchain selected by rustup reach them unchanged; xtask never chooses a target directory.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail};

/// The workspace root: the parent of this crate's manifest directory.
///
/// # Errors
///
/// Only if xtask's manifest directory has no parent, which a workspace member cannot have.
pub fn workspace_root() -> Result<PathBuf> {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .with_context(|| {
            format!(
                "xtask's manifest directory {} has no parent directory",
                manifest_dir.display()
            )
        })
}

/// The cargo to run: `$CARGO` (set by cargo for the processes it runs), else `cargo` on `PATH`.
#[must_use]
pub fn cargo() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"))
}

/// `RUSTDOCFLAGS` for a warning-free documentation build: the caller's flags plus `-D warnings`.
#[must_use]
pub fn rustdocflags_deny_warnings() -> OsString {
    let mut flags = std::env::var_os("RUSTDOCFLAGS").unwrap_or_default();
    if !flags.is_empty() {
        flags.push(" ");
    }
    flags.push("-D warnings");
    flags
}

/// A cargo invocation: arguments after `cargo`, and environment variables set for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CargoCommand {
    args: Vec<OsString>,
    envs: Vec<(String, OsString)>,
}

impl CargoCommand {
    /// `cargo <args>`.
    pub fn new<I, S>(args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        Self {
            args: args.into_iter().map(Into::into).collect(),
            envs: Vec::new(),
        }
    }

    /// Appends arguments.
    #[must_use]
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets an environment variable for this command only.
    #[must_use]
    pub fn env(mut self, key: &str, value: impl Into<OsString>) -> Self {
        self.envs.push((key.to_owned(), value.into()));
        self
    }

    /// The command as a person would type it, e.g. `RUSTDOCFLAGS='-D warnings' cargo doc`.
    #[must_use]
    pub fn display(&self) -> String {
        let envs = self
            .envs
            .iter()
            .map(|(key, value)| format!("{key}={}", quote(value)));
        let args = self.args.iter().map(|arg| quote(arg));
        envs.chain(std::iter::once("cargo".to_owned()))
            .chain(args)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The process to spawn, in `root`.
    #[must_use]
    pub fn to_command(&self, root: &Path) -> Command {
        let mut command = Command::new(cargo());
        command.args(&self.args).current_dir(root);
        for (key, value) in &self.envs {
            command.env(key, value);
        }
        command
    }

    /// Runs the command in `root` with inherited stdio and waits for it.
    ///
    /// # Errors
    ///
    /// If cargo cannot be started or exits unsuccessfully; the message names the command.
    pub fn run(&self, root: &Path) -> Result<()> {
        let status = self
            .to_command(root)
            .status()
            .with_context(|| format!("could not start `{}`", self.display()))?;
        if !status.success() {
            bail!("`{}` failed ({status})", self.display());
        }
        Ok(())
    }

    /// Runs the command in `root` and returns its stdout; stderr goes to the terminal.
    ///
    /// # Errors
    ///
    /// If cargo cannot be started, exits unsuccessfully or prints non-UTF-8 output.
    pub fn output(&self, root: &Path) -> Result<String> {
        let output = self
            .to_command(root)
            .stderr(std::process::Stdio::inherit())
            .output()
            .with_context(|| format!("could not start `{}`", self.display()))?;
        if !output.status.success() {
            bail!("`{}` failed ({})", self.display(), output.status);
        }
        String::from_utf8(output.stdout)
            .with_context(|| format!("`{}` printed output that is not UTF-8", self.display()))
    }

    /// Replaces this process with the command (on Unix), so signals such as Ctrl-C reach it
    /// directly and its exit code becomes ours; elsewhere, runs it like [`CargoCommand::run`].
    ///
    /// # Errors
    ///
    /// If the command cannot be started (or, off Unix, exits unsuccessfully).
    pub fn exec(&self, root: &Path) -> Result<()> {
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt as _;
            // `exec` only returns on failure.
            let err = self.to_command(root).exec();
            Err(err).with_context(|| format!("could not start `{}`", self.display()))
        }
        #[cfg(not(unix))]
        {
            self.run(root)
        }
    }
}

/// Quotes an argument for display when a shell would need it.
fn quote(arg: &OsStr) -> String {
    let text = arg.to_string_lossy();
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_=./:,@+%".contains(c));
    if plain {
        text.into_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_shows_env_and_quotes_only_when_needed() {
        let command = CargoCommand::new(["doc", "--workspace", "--no-deps"])
            .env("RUSTDOCFLAGS", "-D warnings")
            .args(["my filter"]);
        assert_eq!(
            command.display(),
            "RUSTDOCFLAGS='-D warnings' cargo doc --workspace --no-deps 'my filter'"
        );
    }

    #[test]
    fn workspace_root_holds_the_workspace_manifest() {
        let root = workspace_root().expect("xtask lives inside the workspace");
        assert!(root.join("Cargo.toml").is_file());
        assert!(root.join("xtask").join("Cargo.toml").is_file());
    }
}

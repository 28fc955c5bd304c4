//! Reading [`Settings`] in layers: defaults < TOML file < environment < flags,
//! remembering where each value came from, and collecting every problem
//! (unknown keys, wrong types, broken rules) before giving up.
//!
//! The layers are merged as TOML trees: the defaults, serialised, give the
//! set of known keys and each key's type, so an unknown key or a value of the
//! wrong type is found in the layer that brought it, with that layer named.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use toml::{Table, Value};

use super::{REDACTED, SECRET_KEYS, Settings, human};

/// Environment variables of the configuration start with this:
/// `CRYPTO_EXCHANGE_` + the key in upper case with `.` as `_`
/// (`reconnect.max_delay` → `CRYPTO_EXCHANGE_RECONNECT_MAX_DELAY`).
pub const ENV_PREFIX: &str = "CRYPTO_EXCHANGE_";

/// Files larger than this are refused before parsing.
const MAX_FILE_BYTES: u64 = 4 << 20;

/// Where a value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Origin {
    /// The built-in default.
    Default,
    /// The configuration file.
    File,
    /// An environment variable.
    Env,
    /// A command-line flag.
    Flag,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::Default => "default",
            Origin::File => "file",
            Origin::Env => "env",
            Origin::Flag => "flag",
        })
    }
}

/// Every problem found in the configuration, in the order found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub struct ConfigError {
    /// One line per problem, naming the key, the value and the rule.
    pub problems: Vec<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "invalid configuration ({n} problem{}):",
            if n == 1 { "" } else { "s" }
        )?;
        for problem in &self.problems {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}

/// What kind of value a key takes, read from its default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Duration,
    Whole,
    Number,
    Switch,
    List,
}

impl Kind {
    fn of(default: &Value) -> Kind {
        match default {
            Value::String(s) if human::parse(s).is_ok() => Kind::Duration,
            Value::Integer(_) => Kind::Whole,
            Value::Float(_) => Kind::Number,
            Value::Boolean(_) => Kind::Switch,
            Value::Array(_) => Kind::List,
            _ => Kind::Text,
        }
    }

    fn expected(self) -> &'static str {
        match self {
            Kind::Text => "a string",
            Kind::Duration => "a duration string such as \"30s\", \"500ms\" or \"5m\"",
            Kind::Whole => "a whole number (0 or more)",
            Kind::Number => "a number",
            Kind::Switch => "true or false",
            Kind::List => "a list of strings",
        }
    }
}

/// Builds the configuration from its layers. Apply them in order (file, then
/// environment, then flags); [`resolve`](Self::resolve) reports every problem.
///
/// ```
/// use crypto_exchange::settings::{Loader, Origin};
///
/// let mut loader = Loader::new();
/// loader.toml("[reconnect]\nmax_delay = \"20s\"\n", Origin::File, "inline");
/// loader.env([("CRYPTO_EXCHANGE_STREAMS_PER_CONNECTION".to_owned(), "300".to_owned())]);
/// let resolved = loader.resolve()?;
/// assert_eq!(resolved.settings.streams.per_connection, 300);
/// assert_eq!(resolved.origin("reconnect.max_delay"), Some(Origin::File));
/// # Ok::<(), crypto_exchange::settings::ConfigError>(())
/// ```
#[derive(Debug)]
pub struct Loader {
    defaults: Table,
    tree: Table,
    origins: BTreeMap<String, Origin>,
    problems: Vec<String>,
}

impl Default for Loader {
    fn default() -> Self {
        Self::new()
    }
}

impl Loader {
    /// Starts from the defaults.
    #[must_use]
    pub fn new() -> Self {
        let defaults = default_tree();
        let mut origins = BTreeMap::new();
        leaves(&defaults, "", &mut |path, _| {
            origins.insert(path.to_owned(), Origin::Default);
        });
        Loader {
            tree: defaults.clone(),
            defaults,
            origins,
            problems: Vec::new(),
        }
    }

    /// Every key with its environment variable, in file order.
    #[must_use]
    pub fn env_names() -> Vec<(String, String)> {
        let mut names = Vec::new();
        leaves(&default_tree(), "", &mut |path, _| {
            names.push((path.to_owned(), env_name(path)));
        });
        names
    }

    /// Reads and applies a TOML file; a file that cannot be read or parsed is
    /// a problem, reported by [`resolve`](Self::resolve).
    pub fn file(&mut self, path: &Path) -> &mut Self {
        let shown = path.display();
        match std::fs::metadata(path) {
            Ok(meta) if meta.len() > MAX_FILE_BYTES => {
                self.problems.push(format!(
                    "{shown}: the file has {} bytes, more than a configuration can need ({MAX_FILE_BYTES}); check the path",
                    meta.len()
                ));
                return self;
            }
            Ok(_) => {}
            Err(e) => {
                self.problems.push(format!(
                    "{shown}: cannot read the configuration file: {e}; check the path"
                ));
                return self;
            }
        }
        match std::fs::read_to_string(path) {
            Ok(text) => self.toml(&text, Origin::File, &shown.to_string()),
            Err(e) => {
                self.problems.push(format!(
                    "{shown}: cannot read the configuration file: {e}; it must be UTF-8 TOML"
                ));
                self
            }
        }
    }

    /// Applies TOML text from `name` (a file name, for messages).
    pub fn toml(&mut self, text: &str, origin: Origin, name: &str) -> &mut Self {
        match text.parse::<Table>() {
            Ok(table) => {
                let defaults = self.defaults.clone();
                self.apply_table(&table, &defaults, "", origin, &format!(" (in {name})"));
            }
            Err(e) => {
                let detail = e.to_string();
                self.problems
                    .push(format!("{name}: not valid TOML: {}", detail.trim_end()));
            }
        }
        self
    }

    /// Applies environment variables: those starting with [`ENV_PREFIX`];
    /// others are ignored, an unknown one with the prefix is a problem.
    pub fn env<I>(&mut self, vars: I) -> &mut Self
    where
        I: IntoIterator<Item = (String, String)>,
    {
        let mut known = BTreeMap::new();
        leaves(&self.defaults, "", &mut |path, value| {
            known.insert(env_name(path), (path.to_owned(), Kind::of(value)));
        });
        let mut vars: Vec<(String, String)> = vars
            .into_iter()
            .filter(|(name, _)| name.starts_with(ENV_PREFIX))
            .collect();
        vars.sort();
        for (name, text) in vars {
            let Some((path, kind)) = known.get(&name) else {
                self.problems.push(format!(
                    "unknown environment variable {name}: no configuration key has this name (see docs/configuration.md); unset it"
                ));
                continue;
            };
            let whence = format!(" (from {name})");
            match from_text(&text, *kind) {
                Some(value) => self.set_leaf(path, value, Origin::Env, &whence),
                None => self.problems.push(format!(
                    "{path} = {text:?}{whence} must be {}",
                    kind.expected()
                )),
            }
        }
        self
    }

    /// Applies one command-line flag: `key` gets `value`.
    pub fn flag(&mut self, key: &str, value: impl Into<Value>, flag: &str) -> &mut Self {
        self.set_leaf(key, value.into(), Origin::Flag, &format!(" (from {flag})"));
        self
    }

    /// The effective settings, or every problem found in any layer and every
    /// broken rule of the result.
    ///
    /// # Errors
    /// [`ConfigError`] listing them all.
    pub fn resolve(self) -> Result<Resolved, ConfigError> {
        let mut problems = self.problems;
        // Values of the wrong type were never merged, so this only fails on a
        // rule serde itself enforces (such as a socket address's syntax).
        let settings = match Value::Table(self.tree.clone()).try_into::<Settings>() {
            Ok(settings) => Some(settings),
            Err(e) => {
                problems.push(e.to_string().trim_end().to_owned());
                None
            }
        };
        if let Some(settings) = &settings {
            problems.extend(settings.problems());
        }
        match settings {
            Some(settings) if problems.is_empty() => Ok(Resolved {
                settings,
                tree: self.tree,
                origins: self.origins,
            }),
            _ => Err(ConfigError { problems }),
        }
    }

    fn apply_table(
        &mut self,
        layer: &Table,
        defaults: &Table,
        prefix: &str,
        origin: Origin,
        whence: &str,
    ) {
        for (key, value) in layer {
            let path = format!("{prefix}{key}");
            match (defaults.get(key), value) {
                (None, _) => {
                    let known: Vec<&str> = defaults.keys().map(String::as_str).collect();
                    let section = prefix.trim_end_matches('.');
                    let place = if section.is_empty() {
                        "at the top level".to_owned()
                    } else {
                        format!("in [{section}]")
                    };
                    self.problems.push(format!(
                        "unknown key `{path}`{whence}; the keys {place} are: {}",
                        known.join(", ")
                    ));
                }
                (Some(Value::Table(inner)), Value::Table(given)) => {
                    self.apply_table(given, inner, &format!("{path}."), origin, whence);
                }
                (Some(Value::Table(_)), other) => self.problems.push(format!(
                    "`{path}`{whence} must be a table ([{path}]), not {}",
                    other.type_str()
                )),
                (Some(_), value) => self.set_leaf(&path, value.clone(), origin, whence),
            }
        }
    }

    fn set_leaf(&mut self, path: &str, value: Value, origin: Origin, whence: &str) {
        let Some(default) = lookup(&self.defaults, path) else {
            self.problems.push(format!(
                "unknown key `{path}`{whence}; see docs/configuration.md"
            ));
            return;
        };
        let kind = Kind::of(default);
        match check(value, kind) {
            Ok(value) => {
                if let Some(slot) = lookup_mut(&mut self.tree, path) {
                    *slot = value;
                    self.origins.insert(path.to_owned(), origin);
                }
            }
            Err(given) => {
                let shown = if SECRET_KEYS.contains(&path) {
                    REDACTED.to_owned()
                } else {
                    given
                };
                self.problems.push(format!(
                    "{path} = {shown}{whence} must be {}",
                    kind.expected()
                ));
            }
        }
    }
}

/// The effective configuration and where each value came from.
#[derive(Debug)]
pub struct Resolved {
    /// The settings.
    pub settings: Settings,
    tree: Table,
    origins: BTreeMap<String, Origin>,
}

impl Resolved {
    /// Where `key` (`reconnect.max_delay`) came from; `None` for an unknown key.
    #[must_use]
    pub fn origin(&self, key: &str) -> Option<Origin> {
        self.origins.get(key).copied()
    }

    /// The effective configuration as TOML, each value followed by its origin
    /// (`# default`, `# file`, `# env`, `# flag`); secrets are redacted.
    #[must_use]
    pub fn show(&self) -> String {
        let mut out = String::new();
        self.show_table(&self.tree, "", &mut out);
        out
    }

    fn show_table(&self, table: &Table, prefix: &str, out: &mut String) {
        use std::fmt::Write as _;
        let section = prefix.trim_end_matches('.');
        let has_leaves = table.values().any(|v| !v.is_table());
        if has_leaves && !section.is_empty() {
            let _ = writeln!(out, "\n[{section}]");
        }
        for (key, value) in table {
            if value.is_table() {
                continue;
            }
            let path = format!("{prefix}{key}");
            let origin = self.origins.get(&path).copied().unwrap_or(Origin::Default);
            let shown = match value {
                Value::String(s) if SECRET_KEYS.contains(&path.as_str()) && !s.is_empty() => {
                    Value::String(REDACTED.to_owned()).to_string()
                }
                other => other.to_string(),
            };
            let _ = writeln!(out, "{key} = {shown}  # {origin}");
        }
        for (key, value) in table {
            if let Value::Table(inner) = value {
                self.show_table(inner, &format!("{prefix}{key}."), out);
            }
        }
    }
}

/// The defaults as a TOML tree, in the order of the struct's fields.
fn default_tree() -> Table {
    // Serialising plain structs of strings, numbers and lists cannot fail.
    toml::to_string(&Settings::default())
        .ok()
        .and_then(|text| text.parse::<Table>().ok())
        .unwrap_or_default()
}

fn env_name(path: &str) -> String {
    format!(
        "{ENV_PREFIX}{}",
        path.to_ascii_uppercase().replace('.', "_")
    )
}

/// Calls `f` with every leaf's dotted path and value.
fn leaves(table: &Table, prefix: &str, f: &mut dyn FnMut(&str, &Value)) {
    for (key, value) in table {
        let path = format!("{prefix}{key}");
        match value {
            Value::Table(inner) => leaves(inner, &format!("{path}."), f),
            leaf => f(&path, leaf),
        }
    }
}

fn lookup<'a>(table: &'a Table, path: &str) -> Option<&'a Value> {
    let (head, rest) = match path.split_once('.') {
        Some((head, rest)) => (head, Some(rest)),
        None => (path, None),
    };
    match (table.get(head)?, rest) {
        (Value::Table(inner), Some(rest)) => lookup(inner, rest),
        (Value::Table(_), None) | (_, Some(_)) => None,
        (leaf, None) => Some(leaf),
    }
}

fn lookup_mut<'a>(table: &'a mut Table, path: &str) -> Option<&'a mut Value> {
    match path.split_once('.') {
        Some((head, rest)) => match table.get_mut(head)? {
            Value::Table(inner) => lookup_mut(inner, rest),
            _ => None,
        },
        None => table.get_mut(path),
    }
}

/// The value if it has the key's kind (an integer where a number is wanted
/// becomes a float), else the value as given, for the message.
fn check(value: Value, kind: Kind) -> Result<Value, String> {
    let shown = || value.to_string();
    match (kind, &value) {
        (Kind::Duration, Value::String(s)) => match human::parse(s) {
            Ok(_) => Ok(value),
            Err(_) => Err(shown()),
        },
        (Kind::Text, Value::String(_))
        | (Kind::Number, Value::Float(_))
        | (Kind::Switch, Value::Boolean(_)) => Ok(value),
        (Kind::Whole, Value::Integer(i)) if *i >= 0 && *i <= i64::from(u32::MAX) => Ok(value),
        #[allow(
            clippy::cast_precision_loss,
            reason = "configuration numbers are small"
        )]
        (Kind::Number, Value::Integer(i)) => Ok(Value::Float(*i as f64)),
        (Kind::List, Value::Array(items)) if items.iter().all(Value::is_str) => Ok(value),
        _ => Err(shown()),
    }
}

/// Parses an environment variable's text as a value of `kind`.
fn from_text(text: &str, kind: Kind) -> Option<Value> {
    let t = text.trim();
    match kind {
        Kind::Text | Kind::Duration => Some(Value::String(t.to_owned())),
        Kind::Whole => t.parse::<i64>().ok().map(Value::Integer),
        Kind::Number => t
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Value::Float),
        Kind::Switch => match t.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Some(Value::Boolean(true)),
            "false" | "0" | "no" | "off" => Some(Value::Boolean(false)),
            _ => None,
        },
        Kind::List => Some(Value::Array(
            t.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_owned()))
                .collect(),
        )),
    }
}

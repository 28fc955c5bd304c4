//! The layering check: workspace dependencies against the architecture's layering invariants.
//!
//! The invariants, as the design's workspace map states them:
//!
//! - the policy crates `reconnect`, `circuit-breaker`, `health`, `recovery` and `fallback`
//!   depend on no other workspace crate, and on no WebSocket or Binance code;
//! - `ws-transport` knows nothing of Binance; `chaos` and `binance-sim` depend on no policy crate;
//! - only `crypto-exchange` composes the policy crates; `xtask` and `tests/` (`e2e`) may use
//!   anything.
//!
//! Each workspace member has a [`Layer`] in [`LAYERS`]; a member missing from that table is itself
//! a violation, so the table cannot silently fall behind the workspace. [`check`] is a pure
//! function over a [`Graph`] built from `cargo metadata --format-version 1 --no-deps` by
//! [`parse_metadata`]; it reports every violation at once, one per offending dependency, naming
//! the most specific rule that dependency breaks.
//!
//! Choices made where the invariants leave room:
//!
//! - Dev-dependencies are held to the same rules as normal and build dependencies: a policy crate
//!   "depends on no other workspace crate" in its tests too, so it stays usable, and testable, on
//!   its own. Optional and target-specific dependencies count as well, since a feature or a
//!   platform can switch them on.
//! - "WebSocket or Binance code" for a policy crate means the external crates in
//!   [`POLICY_FORBIDDEN_EXTERNAL`] (WebSocket and HTTP clients), any external crate whose name
//!   contains `binance`, and of course `binance-sim` and every other workspace crate.
//! - `ws-transport` depends on neither `binance-sim`, `chaos` nor `crypto-exchange`, nor on an
//!   external crate whose name contains `binance`; like every crate but `crypto-exchange`,
//!   `xtask` and `e2e`, it depends on no policy crate.
//! - No workspace crate other than `xtask` and `e2e` depends on `crypto-exchange`, the top of the
//!   graph. Everything else is allowed: `chaos` and `binance-sim` may use `ws-transport` and each
//!   other, for instance.

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

use anyhow::{Context as _, Result, bail};
use serde::Deserialize;

use crate::shell::CargoCommand;

/// Where the layering table lives, for the message about an unknown workspace member.
const TABLE_LOCATION: &str = "xtask/src/layering.rs";

/// The layer of a workspace crate; the rules are written in terms of layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Layer {
    /// A policy crate: depends on no workspace crate, and on no WebSocket or Binance code.
    Policy,
    /// `ws-transport`: WebSocket IO that knows nothing of Binance.
    Transport,
    /// `chaos` and `binance-sim`: test infrastructure that depends on no policy crate.
    Harness,
    /// `crypto-exchange`: the facade, the only crate that composes the policy crates.
    Facade,
    /// `xtask` and `e2e` (`tests/`): may use anything.
    Tooling,
}

/// Every workspace member and its layer. A new member must be added here.
pub const LAYERS: &[(&str, Layer)] = &[
    ("reconnect", Layer::Policy),
    ("circuit-breaker", Layer::Policy),
    ("health", Layer::Policy),
    ("recovery", Layer::Policy),
    ("fallback", Layer::Policy),
    ("ws-transport", Layer::Transport),
    ("chaos", Layer::Harness),
    ("binance-sim", Layer::Harness),
    ("crypto-exchange", Layer::Facade),
    ("xtask", Layer::Tooling),
    ("e2e", Layer::Tooling),
];

/// External crates that are WebSocket or HTTP-client code, which no policy crate may use.
pub const POLICY_FORBIDDEN_EXTERNAL: &[&str] = &[
    "tokio-tungstenite",
    "tungstenite",
    "async-tungstenite",
    "tokio-websockets",
    "fastwebsockets",
    "reqwest",
];

/// The layer of a workspace crate, or `None` if the table does not know it.
#[must_use]
pub fn layer_of(krate: &str) -> Option<Layer> {
    LAYERS
        .iter()
        .find(|(name, _)| *name == krate)
        .map(|&(_, layer)| layer)
}

/// The kind of a dependency, as `cargo metadata` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DepKind {
    /// `[dependencies]`.
    Normal,
    /// `[dev-dependencies]`.
    Dev,
    /// `[build-dependencies]`.
    Build,
}

impl fmt::Display for DepKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Normal => "normal",
            Self::Dev => "dev",
            Self::Build => "build",
        })
    }
}

/// Whether a dependency is another member of this workspace or a crate from elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Origin {
    /// A path dependency on a workspace member.
    Workspace,
    /// Anything else: a registry, git or out-of-workspace path dependency.
    External,
}

/// One declared dependency of a workspace crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    /// The package name (not the rename a manifest may give it).
    pub name: String,
    /// Normal, dev or build.
    pub kind: DepKind,
    /// Workspace member or external crate.
    pub origin: Origin,
}

/// A workspace crate and its declared dependencies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crate {
    /// The package name.
    pub name: String,
    /// Its dependencies of every kind.
    pub dependencies: Vec<Dependency>,
}

/// The workspace's crates and their declared dependencies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Graph {
    /// Every workspace member.
    pub crates: Vec<Crate>,
}

impl Graph {
    /// The number of distinct workspace-internal edges (crate, dependency, kind).
    #[must_use]
    pub fn workspace_edges(&self) -> usize {
        self.crates
            .iter()
            .flat_map(|krate| {
                krate
                    .dependencies
                    .iter()
                    .filter(|dep| dep.origin == Origin::Workspace)
                    .map(move |dep| (krate.name.as_str(), dep.name.as_str(), dep.kind))
            })
            .collect::<BTreeSet<_>>()
            .len()
    }
}

/// A layering rule; its [`Display`](fmt::Display) is the rule as a sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Policy crates depend on no other workspace crate.
    PolicyDependsOnNoWorkspaceCrate,
    /// Policy crates depend on no WebSocket, HTTP-client or Binance code.
    PolicyUsesNoWebSocketOrBinance,
    /// `ws-transport` knows nothing of Binance.
    TransportKnowsNoBinance,
    /// `chaos` and `binance-sim` depend on no policy crate.
    HarnessUsesNoPolicy,
    /// Only `crypto-exchange` (besides `xtask` and `e2e`) composes the policy crates.
    OnlyFacadeComposesPolicy,
    /// Only `xtask` and `e2e` depend on `crypto-exchange`.
    FacadeIsTop,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::PolicyDependsOnNoWorkspaceCrate => {
                "policy crates (reconnect, circuit-breaker, health, recovery, fallback) \
                 depend on no other workspace crate"
            }
            Self::PolicyUsesNoWebSocketOrBinance => {
                "policy crates depend on no WebSocket, HTTP-client or Binance code"
            }
            Self::TransportKnowsNoBinance => {
                "ws-transport knows nothing of Binance: no Binance code, simulator, \
                 fault tooling or facade"
            }
            Self::HarnessUsesNoPolicy => "chaos and binance-sim depend on no policy crate",
            Self::OnlyFacadeComposesPolicy => {
                "only crypto-exchange composes the policy crates (xtask and tests/ may use them)"
            }
            Self::FacadeIsTop => {
                "crypto-exchange is the top of the graph: only xtask and tests/ depend on it"
            }
        })
    }
}

/// A breach of the layering rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// A dependency that a rule forbids.
    Forbidden {
        /// The crate that declares the dependency.
        krate: String,
        /// The dependency's package name.
        dependency: String,
        /// Normal, dev or build.
        kind: DepKind,
        /// The rule it breaks.
        rule: Rule,
    },
    /// A workspace member that [`LAYERS`] does not list.
    UnknownMember {
        /// The member's package name.
        krate: String,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Forbidden {
                krate,
                dependency,
                kind,
                rule,
            } => write!(
                f,
                "`{krate}` has a {kind} dependency on `{dependency}`: {rule}"
            ),
            Self::UnknownMember { krate } => write!(
                f,
                "`{krate}` is a workspace member with no layer: \
                 add it to the layering table in {TABLE_LOCATION}"
            ),
        }
    }
}

/// Checks every crate's dependencies against the rules and returns every violation found,
/// in the graph's crate order; an empty result means the graph is allowed.
#[must_use]
pub fn check(graph: &Graph) -> Vec<Violation> {
    let mut violations = Vec::new();
    for krate in &graph.crates {
        let Some(layer) = layer_of(&krate.name) else {
            violations.push(Violation::UnknownMember {
                krate: krate.name.clone(),
            });
            continue;
        };
        // A dependency can be declared twice with the same kind (say, per target); report once.
        let mut seen = BTreeSet::new();
        for dep in &krate.dependencies {
            if !seen.insert((dep.name.as_str(), dep.kind, dep.origin)) {
                continue;
            }
            let broken = match dep.origin {
                Origin::Workspace => workspace_rule(layer, layer_of(&dep.name)),
                Origin::External => external_rule(layer, &dep.name),
            };
            if let Some(rule) = broken {
                violations.push(Violation::Forbidden {
                    krate: krate.name.clone(),
                    dependency: dep.name.clone(),
                    kind: dep.kind,
                    rule,
                });
            }
        }
    }
    violations
}

/// The rule that an edge from a crate in layer `from` to a workspace crate in layer `to` breaks,
/// if any: the most specific rule first. `to` is `None` for a member the table does not know,
/// which is reported as an unknown member on its own.
fn workspace_rule(from: Layer, to: Option<Layer>) -> Option<Rule> {
    if from == Layer::Policy {
        return Some(Rule::PolicyDependsOnNoWorkspaceCrate);
    }
    let to = to?;
    if from == Layer::Transport && matches!(to, Layer::Harness | Layer::Facade) {
        return Some(Rule::TransportKnowsNoBinance);
    }
    if from == Layer::Harness && to == Layer::Policy {
        return Some(Rule::HarnessUsesNoPolicy);
    }
    if to == Layer::Policy && !matches!(from, Layer::Facade | Layer::Tooling) {
        return Some(Rule::OnlyFacadeComposesPolicy);
    }
    if to == Layer::Facade && from != Layer::Tooling {
        return Some(Rule::FacadeIsTop);
    }
    None
}

/// The rule that a dependency of a crate in layer `from` on the external crate `name` breaks.
fn external_rule(from: Layer, name: &str) -> Option<Rule> {
    let binance = name.to_ascii_lowercase().contains("binance");
    match from {
        Layer::Policy if binance || POLICY_FORBIDDEN_EXTERNAL.contains(&name) => {
            Some(Rule::PolicyUsesNoWebSocketOrBinance)
        }
        Layer::Transport if binance => Some(Rule::TransportKnowsNoBinance),
        _ => None,
    }
}

/// The parts of `cargo metadata --format-version 1` output the check reads.
#[derive(Deserialize)]
struct Metadata {
    packages: Vec<MetadataPackage>,
    workspace_members: Vec<String>,
}

#[derive(Deserialize)]
struct MetadataPackage {
    id: String,
    name: String,
    dependencies: Vec<MetadataDependency>,
}

#[derive(Deserialize)]
struct MetadataDependency {
    name: String,
    /// `None` for a path dependency; a registry or git URL otherwise.
    source: Option<String>,
    /// `None` for a normal dependency, else `"dev"` or `"build"`.
    kind: Option<String>,
}

/// Builds the graph from the JSON printed by `cargo metadata --format-version 1 --no-deps`.
///
/// Only workspace members become [`Crate`]s. A dependency is [`Origin::Workspace`] when it is a
/// path dependency (no `source`) whose name is a workspace member.
///
/// # Errors
///
/// If the text is not `cargo metadata` JSON, or names a dependency kind this check does not know.
pub fn parse_metadata(json: &str) -> Result<Graph> {
    let metadata: Metadata = serde_json::from_str(json)
        .context("could not read the output of `cargo metadata --format-version 1`")?;
    let members: BTreeSet<&str> = metadata
        .workspace_members
        .iter()
        .map(String::as_str)
        .collect();
    let packages: Vec<&MetadataPackage> = metadata
        .packages
        .iter()
        .filter(|package| members.contains(package.id.as_str()))
        .collect();
    let member_names: BTreeSet<&str> = packages
        .iter()
        .map(|package| package.name.as_str())
        .collect();
    let crates = packages
        .iter()
        .map(|package| {
            let dependencies = package
                .dependencies
                .iter()
                .map(|dep| {
                    let kind = match dep.kind.as_deref() {
                        None | Some("normal") => DepKind::Normal,
                        Some("dev") => DepKind::Dev,
                        Some("build") => DepKind::Build,
                        Some(other) => bail!(
                            "`{}` declares `{}` with the unknown dependency kind `{other}`",
                            package.name,
                            dep.name
                        ),
                    };
                    let origin = if dep.source.is_none() && member_names.contains(dep.name.as_str())
                    {
                        Origin::Workspace
                    } else {
                        Origin::External
                    };
                    Ok(Dependency {
                        name: dep.name.clone(),
                        kind,
                        origin,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(Crate {
                name: package.name.clone(),
                dependencies,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Graph { crates })
}

/// Reads the workspace's graph with `cargo metadata --format-version 1 --no-deps` run in `root`.
///
/// # Errors
///
/// If cargo fails (a manifest is broken, say) or its output cannot be parsed.
pub fn load(root: &Path) -> Result<Graph> {
    let json = CargoCommand::new(["metadata", "--format-version", "1", "--no-deps"])
        .output(root)
        .context("could not read the workspace's crates and dependencies")?;
    parse_metadata(&json)
}

/// `cargo xtask layering`: loads the workspace graph, checks it, and prints the outcome.
///
/// # Errors
///
/// If the graph cannot be loaded, or if there is any violation (all of them are printed first).
pub fn run(root: &Path) -> Result<()> {
    let graph = load(root)?;
    let violations = check(&graph);
    if violations.is_empty() {
        println!(
            "layering: {} crates, {} workspace edges, all allowed",
            graph.crates.len(),
            graph.workspace_edges()
        );
        return Ok(());
    }
    eprintln!("layering: {} violation(s):", violations.len());
    for violation in &violations {
        eprintln!("  - {violation}");
    }
    bail!(
        "layering check failed with {} violation(s); the rules are in {TABLE_LOCATION}",
        violations.len()
    )
}

#[cfg(test)]
mod tests;

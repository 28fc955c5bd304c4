//! Tests of the layering rules, the metadata parser and the real workspace.

use super::*;
use DepKind::{Build, Dev, Normal};
use Origin::{External, Workspace};

/// One declared dependency in a hand-written graph: name, kind, origin.
type Dep<'a> = (&'a str, DepKind, Origin);

/// A graph from `(crate, [dependency])`.
fn build_graph(crates: &[(&str, &[Dep<'_>])]) -> Graph {
    Graph {
        crates: crates
            .iter()
            .map(|(name, deps)| Crate {
                name: (*name).to_owned(),
                dependencies: deps
                    .iter()
                    .map(|&(dep, kind, origin)| Dependency {
                        name: dep.to_owned(),
                        kind,
                        origin,
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// The intended shape of the workspace: every member, each using what it may.
fn valid_graph() -> Graph {
    build_graph(&[
        ("reconnect", &[("backoff", Normal, External)]),
        ("circuit-breaker", &[("failsafe", Normal, External)]),
        ("health", &[("metrics", Normal, External)]),
        ("recovery", &[("thiserror", Normal, External)]),
        ("fallback", &[("tokio", Dev, External)]),
        (
            "ws-transport",
            &[
                ("tokio-tungstenite", Normal, External),
                ("governor", Normal, External),
            ],
        ),
        (
            "chaos",
            &[
                ("ws-transport", Dev, Workspace),
                ("tokio", Normal, External),
            ],
        ),
        (
            "binance-sim",
            &[
                ("tokio-tungstenite", Normal, External),
                ("chaos", Dev, Workspace),
            ],
        ),
        (
            "crypto-exchange",
            &[
                ("ws-transport", Normal, Workspace),
                ("reconnect", Normal, Workspace),
                ("circuit-breaker", Normal, Workspace),
                ("health", Normal, Workspace),
                ("recovery", Normal, Workspace),
                ("fallback", Normal, Workspace),
                ("binance-sim", Normal, Workspace),
                ("chaos", Dev, Workspace),
            ],
        ),
        ("xtask", &[("serde_json", Normal, External)]),
        (
            "e2e",
            &[
                ("crypto-exchange", Normal, Workspace),
                ("binance-sim", Normal, Workspace),
                ("chaos", Normal, Workspace),
                ("reconnect", Dev, Workspace),
            ],
        ),
    ])
}

/// Adds a dependency to `krate`, which must be in `graph`.
fn add(graph: &mut Graph, krate: &str, dep: &str, kind: DepKind, origin: Origin) {
    graph
        .crates
        .iter_mut()
        .find(|c| c.name == krate)
        .expect("the crate is in the graph")
        .dependencies
        .push(Dependency {
            name: dep.to_owned(),
            kind,
            origin,
        });
}

/// The valid graph with one extra dependency added to `krate`.
fn valid_plus(krate: &str, dep: &str, kind: DepKind, origin: Origin) -> Graph {
    let mut graph = valid_graph();
    add(&mut graph, krate, dep, kind, origin);
    graph
}

fn forbidden(krate: &str, dependency: &str, kind: DepKind, rule: Rule) -> Violation {
    Violation::Forbidden {
        krate: krate.to_owned(),
        dependency: dependency.to_owned(),
        kind,
        rule,
    }
}

#[test]
fn the_table_lists_every_member_once() {
    let names: BTreeSet<_> = LAYERS.iter().map(|(name, _)| *name).collect();
    assert_eq!(names.len(), LAYERS.len());
    for krate in &valid_graph().crates {
        assert!(layer_of(&krate.name).is_some(), "{}", krate.name);
    }
}

#[test]
fn the_rules_accept_a_valid_graph() {
    assert_eq!(check(&valid_graph()), []);
}

#[test]
fn a_policy_crate_depending_on_the_simulator_fails_naming_the_edge() {
    let violations = check(&valid_plus("reconnect", "binance-sim", Normal, Workspace));
    assert_eq!(
        violations,
        [forbidden(
            "reconnect",
            "binance-sim",
            Normal,
            Rule::PolicyDependsOnNoWorkspaceCrate
        )]
    );
    let message = violations[0].to_string();
    assert!(
        message.starts_with("`reconnect` has a normal dependency on `binance-sim`: "),
        "{message}"
    );
}

#[test]
fn policy_crates_depend_on_no_workspace_crate_even_for_tests() {
    let violations = check(&valid_plus("health", "circuit-breaker", Dev, Workspace));
    assert_eq!(
        violations,
        [forbidden(
            "health",
            "circuit-breaker",
            Dev,
            Rule::PolicyDependsOnNoWorkspaceCrate
        )]
    );
}

#[test]
fn the_simulator_depending_on_a_policy_crate_fails() {
    assert_eq!(
        check(&valid_plus(
            "binance-sim",
            "circuit-breaker",
            Normal,
            Workspace
        )),
        [forbidden(
            "binance-sim",
            "circuit-breaker",
            Normal,
            Rule::HarnessUsesNoPolicy
        )]
    );
}

#[test]
fn chaos_depending_on_a_policy_crate_fails() {
    assert_eq!(
        check(&valid_plus("chaos", "recovery", Build, Workspace)),
        [forbidden(
            "chaos",
            "recovery",
            Build,
            Rule::HarnessUsesNoPolicy
        )]
    );
}

#[test]
fn the_transport_depending_on_the_facade_fails() {
    assert_eq!(
        check(&valid_plus(
            "ws-transport",
            "crypto-exchange",
            Normal,
            Workspace
        )),
        [forbidden(
            "ws-transport",
            "crypto-exchange",
            Normal,
            Rule::TransportKnowsNoBinance
        )]
    );
}

#[test]
fn the_transport_knows_nothing_of_binance_or_the_fault_tooling() {
    for dep in ["binance-sim", "chaos"] {
        assert_eq!(
            check(&valid_plus("ws-transport", dep, Dev, Workspace)),
            [forbidden(
                "ws-transport",
                dep,
                Dev,
                Rule::TransportKnowsNoBinance
            )]
        );
    }
    assert_eq!(
        check(&valid_plus(
            "ws-transport",
            "binance-connector",
            Normal,
            External
        )),
        [forbidden(
            "ws-transport",
            "binance-connector",
            Normal,
            Rule::TransportKnowsNoBinance
        )]
    );
}

#[test]
fn the_transport_depending_on_a_policy_crate_fails() {
    assert_eq!(
        check(&valid_plus("ws-transport", "reconnect", Normal, Workspace)),
        [forbidden(
            "ws-transport",
            "reconnect",
            Normal,
            Rule::OnlyFacadeComposesPolicy
        )]
    );
}

#[test]
fn only_tooling_depends_on_the_facade() {
    assert_eq!(
        check(&valid_plus("chaos", "crypto-exchange", Dev, Workspace)),
        [forbidden(
            "chaos",
            "crypto-exchange",
            Dev,
            Rule::FacadeIsTop
        )]
    );
}

#[test]
fn an_unknown_member_fails_and_says_where_to_add_it() {
    let mut graph = valid_graph();
    graph.crates.push(Crate {
        name: "order-book".to_owned(),
        dependencies: vec![Dependency {
            name: "reconnect".to_owned(),
            kind: Normal,
            origin: Workspace,
        }],
    });
    let violations = check(&graph);
    assert_eq!(
        violations,
        [Violation::UnknownMember {
            krate: "order-book".to_owned()
        }]
    );
    assert!(
        violations[0]
            .to_string()
            .contains("add it to the layering table in xtask/src/layering.rs")
    );
}

#[test]
fn a_policy_crate_using_websocket_http_or_binance_code_fails() {
    for dep in [
        "tokio-tungstenite",
        "tungstenite",
        "reqwest",
        "binance-spot",
    ] {
        assert_eq!(
            check(&valid_plus("fallback", dep, Normal, External)),
            [forbidden(
                "fallback",
                dep,
                Normal,
                Rule::PolicyUsesNoWebSocketOrBinance
            )]
        );
    }
    assert_eq!(
        check(&valid_plus("reconnect", "tokio-tungstenite", Dev, External)).len(),
        1
    );
}

#[test]
fn every_violation_is_reported_at_once() {
    let mut graph = valid_plus("reconnect", "binance-sim", Normal, Workspace);
    graph.crates.push(Crate {
        name: "mystery".to_owned(),
        dependencies: Vec::new(),
    });
    add(
        &mut graph,
        "circuit-breaker",
        "tokio-tungstenite",
        Normal,
        External,
    );
    add(&mut graph, "chaos", "crypto-exchange", Normal, Workspace);
    let violations = check(&graph);
    assert_eq!(violations.len(), 4, "{violations:?}");
    assert!(violations.contains(&Violation::UnknownMember {
        krate: "mystery".to_owned()
    }));
}

#[test]
fn a_dependency_declared_twice_is_reported_once() {
    let mut graph = valid_plus("recovery", "health", Normal, Workspace);
    add(&mut graph, "recovery", "health", Normal, Workspace);
    assert_eq!(check(&graph).len(), 1);
    // The same dependency with another kind is another edge.
    add(&mut graph, "recovery", "health", Dev, Workspace);
    assert_eq!(check(&graph).len(), 2);
}

/// A trimmed `cargo metadata --format-version 1 --no-deps` output, in the current format.
const METADATA: &str = r#"{
  "packages": [
    {
      "name": "reconnect",
      "version": "0.1.0",
      "id": "path+file:///ws/crates/reconnect#0.1.0",
      "dependencies": [
        {"name": "backoff", "source": "registry+https://github.com/rust-lang/crates.io-index",
         "req": "^0.4", "kind": null, "rename": null, "optional": false,
         "uses_default_features": false, "features": [], "target": null, "registry": null},
        {"name": "binance-sim", "source": null, "req": "^0.1.0", "kind": "dev",
         "rename": "sim", "optional": false, "uses_default_features": true, "features": [],
         "target": null, "registry": null, "path": "/ws/crates/binance-sim"}
      ],
      "targets": [], "features": {}, "manifest_path": "/ws/crates/reconnect/Cargo.toml"
    },
    {
      "name": "binance-sim",
      "version": "0.1.0",
      "id": "path+file:///ws/crates/binance-sim#0.1.0",
      "dependencies": [
        {"name": "cc", "source": "registry+https://github.com/rust-lang/crates.io-index",
         "req": "^1", "kind": "build", "rename": null, "optional": false,
         "uses_default_features": true, "features": [], "target": null, "registry": null},
        {"name": "health", "source": "registry+https://github.com/rust-lang/crates.io-index",
         "req": "^9", "kind": null, "rename": null, "optional": false,
         "uses_default_features": true, "features": [], "target": null, "registry": null}
      ],
      "targets": [], "features": {}, "manifest_path": "/ws/crates/binance-sim/Cargo.toml"
    }
  ],
  "workspace_members": [
    "path+file:///ws/crates/reconnect#0.1.0",
    "path+file:///ws/crates/binance-sim#0.1.0"
  ],
  "workspace_default_members": [],
  "resolve": null,
  "target_directory": "/ws/target",
  "version": 1,
  "workspace_root": "/ws",
  "metadata": null
}"#;

#[test]
fn cargo_metadata_output_parses_into_the_graph() {
    let graph = parse_metadata(METADATA).expect("valid metadata");
    assert_eq!(
        graph,
        build_graph(&[
            (
                "reconnect",
                &[
                    ("backoff", Normal, External),
                    ("binance-sim", Dev, Workspace)
                ]
            ),
            // A registry crate that shares a member's name is not that member.
            (
                "binance-sim",
                &[("cc", Build, External), ("health", Normal, External)]
            ),
        ])
    );
    assert_eq!(graph.workspace_edges(), 1);
    assert_eq!(
        check(&graph),
        [forbidden(
            "reconnect",
            "binance-sim",
            Dev,
            Rule::PolicyDependsOnNoWorkspaceCrate
        )]
    );
}

#[test]
fn malformed_metadata_is_an_error_not_a_panic() {
    assert!(parse_metadata("").is_err());
    assert!(parse_metadata("{\"packages\": 3}").is_err());
    let odd_kind = METADATA.replace("\"kind\": \"build\"", "\"kind\": \"weird\"");
    let err = parse_metadata(&odd_kind).unwrap_err();
    assert!(format!("{err:#}").contains("unknown dependency kind `weird`"));
}

/// The tidy check: the real workspace keeps its layering, so plain `cargo test` catches a
/// breach as well as `cargo xtask layering` does.
#[test]
fn the_workspace_respects_the_layering() {
    let root = crate::shell::workspace_root().expect("xtask lives inside the workspace");
    let graph = load(&root).expect("cargo metadata runs on the workspace");
    let violations = check(&graph);
    let listed: Vec<String> = violations.iter().map(ToString::to_string).collect();
    assert!(violations.is_empty(), "{}", listed.join("\n"));
}

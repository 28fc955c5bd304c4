//! Tests of the layered configuration: defaults equal the library's, every bad
//! setting in a table gives its named error, several at once are all
//! reported, env and flags win in that order, secrets are redacted.

use std::time::Duration;

use super::{ConfigError, Loader, Origin, Settings};
use crate::client::ClientConfig;

fn load(text: &str) -> Result<super::Resolved, ConfigError> {
    let mut loader = Loader::new();
    loader.toml(text, Origin::File, "test.toml");
    loader.resolve()
}

fn problems(text: &str) -> Vec<String> {
    match load(text) {
        Ok(_) => Vec::new(),
        Err(e) => e.problems,
    }
}

#[test]
fn defaults_are_the_library_defaults() {
    let settings = Settings::default();
    assert!(settings.problems().is_empty(), "{:?}", settings.problems());
    let from_settings = settings.client_config();
    let library = ClientConfig::default();
    assert_eq!(format!("{from_settings:?}"), format!("{library:?}"));
    // DESIGN.md §5, spelled out.
    assert_eq!(settings.reconnect.initial_delay, Duration::from_secs(1));
    assert_eq!(settings.reconnect.max_delay, Duration::from_secs(30));
    assert!((settings.reconnect.jitter - 0.1).abs() < 1e-12);
    assert_eq!(settings.breaker.consecutive_failures, 5);
    assert_eq!(settings.breaker.open_duration, Duration::from_secs(30));
    assert_eq!(settings.pacing.max_frames, 4);
    assert_eq!(settings.transport.silence_timeout, Duration::from_secs(30));
    assert_eq!(
        settings.rotation.after,
        Duration::from_secs(23 * 3600 + 1800)
    );
    assert_eq!(
        settings.endpoints.ws[0],
        "wss://stream.binance.com:9443".to_owned()
    );
}

#[test]
fn an_empty_file_is_the_defaults() -> Result<(), ConfigError> {
    let resolved = load("")?;
    assert_eq!(resolved.settings, Settings::default());
    assert_eq!(
        resolved.origin("reconnect.max_delay"),
        Some(Origin::Default)
    );
    Ok(())
}

#[test]
fn every_bad_setting_gives_its_named_error() {
    // (TOML, text every problem must contain)
    let table: &[(&str, &[&str])] = &[
        (
            "[reconnect]\ninitial_delay = \"30s\"\nmax_delay = \"10s\"",
            &["reconnect.max_delay = 10s must not be below reconnect.initial_delay = 30s"],
        ),
        (
            "[reconnect]\njitter = 0.9",
            &["reconnect.jitter = 0.9 must be between 0 and 0.5"],
        ),
        (
            "[reconnect]\nmultiplier = 0.5",
            &["reconnect.multiplier = 0.5 must be"],
        ),
        (
            "[reconnect]\nmax_delay = \"ten seconds\"",
            &["reconnect.max_delay = \"ten seconds\" (in test.toml) must be a duration"],
        ),
        (
            "[reconnect]\nmax_delay = 30",
            &["reconnect.max_delay = 30 (in test.toml) must be a duration"],
        ),
        (
            "[reconnect]\nmax_dela = \"3s\"",
            &[
                "unknown key `reconnect.max_dela` (in test.toml)",
                "max_delay",
            ],
        ),
        (
            "[reconect]\nmax_delay = \"3s\"",
            &["unknown key `reconect` (in test.toml)", "at the top level"],
        ),
        (
            "[reconnect.budget]\nattempts = 10\nburst = 20",
            &["reconnect.budget.burst = 20 must not be above reconnect.budget.attempts = 10"],
        ),
        (
            "[streams]\nper_connection = 2000",
            &["streams.per_connection = 2000 must be between 1 and 1024"],
        ),
        (
            "[streams]\nper_connection = -1",
            &["streams.per_connection = -1 (in test.toml) must be a whole number"],
        ),
        (
            "[streams]\nsymbols = \"btcusdt\"",
            &["streams.symbols = \"btcusdt\" (in test.toml) must be a list of strings"],
        ),
        (
            "[streams]\nsymbols = [\"btcusdt\"]\ntypes = [\"aggTrades\"]",
            &["streams = ", "is not a valid selection"],
        ),
        (
            "[breaker]\nconsecutive_failures = 0",
            &["breaker.consecutive_failures = 0 must be at least 1"],
        ),
        (
            "[breaker]\nopen_duration = \"10m\"",
            &["breaker.max_open_duration = 5m must not be below breaker.open_duration = 10m"],
        ),
        (
            "[pacing]\nmax_frames = 10",
            &["pacing.max_frames = 10 per pacing.window = 1s is 10.0 frames per second"],
        ),
        (
            "[telemetry]\notlp_endpoint = \"127.0.0.1:4318\"",
            &["telemetry.otlp_endpoint = \"127.0.0.1:4318\" is not an http:// or https:// URL"],
        ),
        (
            "[telemetry]\notlp_endpoint = \"grpc://collector:4317\"",
            &[
                "telemetry.otlp_endpoint = \"grpc://collector:4317\" is not an http:// or https:// URL",
            ],
        ),
        (
            "[telemetry]\nservice_name = \" \"",
            &["telemetry.service_name = \" \" must not be empty"],
        ),
        (
            "[telemetry]\nendpoint = \"http://127.0.0.1:4318\"",
            &[
                "unknown key `telemetry.endpoint` (in test.toml)",
                "otlp_endpoint",
            ],
        ),
        (
            "[pacing]\nwindow = \"0s\"",
            &["pacing.window = 0s must be greater than zero"],
        ),
        (
            "[rotation]\nafter = \"25h\"",
            &["rotation.after = 1day 1h must not pass Binance's 24h"],
        ),
        (
            "[rotation]\njitter = \"24h\"\nafter = \"1h\"",
            &["rotation.jitter = 1day must be below rotation.after = 1h"],
        ),
        (
            "[health]\nlag_warning = 10\nlag_degraded = 5",
            &["health.lag_degraded = 5 must be above health.lag_warning = 10"],
        ),
        (
            "[health]\nrest_weight_warning = 1.5",
            &["health.rest_weight_warning = 1.5 must be above 0 and at most 1"],
        ),
        (
            "[fallback]\npoll_share = 0",
            &["fallback.poll_share = 0 must be above 0 and at most 1"],
        ),
        (
            "[fallback]\npolling = \"yes\"",
            &["fallback.polling = \"yes\" (in test.toml) must be true or false"],
        ),
        (
            "[rest]\nweight_limit = 0",
            &["rest.weight_limit = 0 must be at least 1"],
        ),
        (
            "[endpoints]\nws = [\"http://example.com\"]",
            &["endpoints.ws = \"http://example.com\" is not a WebSocket URL"],
        ),
        (
            "[endpoints]\nws = []",
            &["endpoints.ws = [] must list at least one"],
        ),
        (
            "[endpoints]\nrest = [\"api.binance.com\"]",
            &["endpoints.rest = \"api.binance.com\" is not an http:// or https:// URL"],
        ),
        (
            "[ops]\nenabled = true\naddr = \"0.0.0.0:9898\"",
            &["ops.addr = 0.0.0.0:9898 is not a loopback address, and ops.admin_token is empty"],
        ),
        ("[ops]\naddr = \"localhost\"", &["ops.addr"]),
        (
            "[ops]\nadmin_token = \"short\"",
            &["ops.admin_token = <redacted> must be at least 16 characters"],
        ),
        (
            "reconnect = 5",
            &["`reconnect` (in test.toml) must be a table"],
        ),
        ("[reconnect\nmax_delay = 1", &["test.toml: not valid TOML"]),
    ];
    for (text, expected) in table {
        let found = problems(text);
        assert!(!found.is_empty(), "accepted:\n{text}");
        for needle in *expected {
            assert!(
                found.iter().any(|p| p.contains(needle)),
                "{text}\nexpected {needle:?} in {found:#?}"
            );
        }
        assert!(
            found.iter().all(|p| !p.contains("short")),
            "a secret in an error: {found:#?}"
        );
    }
}

#[test]
fn several_problems_are_reported_at_once() {
    let found = problems(
        "[reconnect]\ninitial_delay = \"30s\"\nmax_delay = \"10s\"\njitter = 2.0\nbogus = 1\n\
         [streams]\nper_connection = 0\n[rotation]\nafter = \"2days\"\n[rest]\ntimeout = \"soon\"\n",
    );
    assert_eq!(found.len(), 6, "{found:#?}");
    for key in [
        "reconnect.max_delay",
        "reconnect.jitter",
        "reconnect.bogus",
        "streams.per_connection",
        "rotation.after",
        "rest.timeout",
    ] {
        assert!(found.iter().any(|p| p.contains(key)), "{key}: {found:#?}");
    }
}

#[test]
fn environment_overrides_the_file_and_flags_override_both() -> Result<(), ConfigError> {
    let mut loader = Loader::new();
    loader.toml(
        "[reconnect]\nmax_delay = \"20s\"\ninitial_delay = \"2s\"\n[streams]\nper_connection = 100\n",
        Origin::File,
        "f.toml",
    );
    loader.env([
        (
            "CRYPTO_EXCHANGE_RECONNECT_MAX_DELAY".to_owned(),
            "25s".to_owned(),
        ),
        (
            "CRYPTO_EXCHANGE_STREAMS_PER_CONNECTION".to_owned(),
            "300".to_owned(),
        ),
        (
            "CRYPTO_EXCHANGE_ENDPOINTS_WS".to_owned(),
            "ws://127.0.0.1:1, ws://127.0.0.1:2".to_owned(),
        ),
        (
            "CRYPTO_EXCHANGE_FALLBACK_POLLING".to_owned(),
            "false".to_owned(),
        ),
        ("PATH".to_owned(), "/bin".to_owned()),
    ]);
    loader.flag("streams.per_connection", 400, "--streams-per-connection");
    let resolved = loader.resolve()?;
    let s = &resolved.settings;
    assert_eq!(s.reconnect.initial_delay, Duration::from_secs(2));
    assert_eq!(s.reconnect.max_delay, Duration::from_secs(25));
    assert_eq!(s.streams.per_connection, 400);
    assert_eq!(s.endpoints.ws, ["ws://127.0.0.1:1", "ws://127.0.0.1:2"]);
    assert!(!s.fallback.polling);
    assert_eq!(
        resolved.origin("reconnect.initial_delay"),
        Some(Origin::File)
    );
    assert_eq!(resolved.origin("reconnect.max_delay"), Some(Origin::Env));
    assert_eq!(
        resolved.origin("streams.per_connection"),
        Some(Origin::Flag)
    );
    assert_eq!(resolved.origin("rotation.after"), Some(Origin::Default));
    Ok(())
}

#[test]
fn bad_and_unknown_environment_variables_are_named() {
    let mut loader = Loader::new();
    loader.env([
        (
            "CRYPTO_EXCHANGE_STREAMS_PER_CONNECTION".to_owned(),
            "many".to_owned(),
        ),
        (
            "CRYPTO_EXCHANGE_RECONECT_MAX_DELAY".to_owned(),
            "1s".to_owned(),
        ),
    ]);
    let Err(e) = loader.resolve() else {
        panic!("bad environment accepted");
    };
    assert_eq!(e.problems.len(), 2, "{e}");
    assert!(e.problems.iter().any(|p| p.contains(
        "streams.per_connection = \"many\" (from CRYPTO_EXCHANGE_STREAMS_PER_CONNECTION) must be a whole number"
    )), "{e}");
    assert!(
        e.problems
            .iter()
            .any(|p| p.contains("unknown environment variable CRYPTO_EXCHANGE_RECONECT_MAX_DELAY")),
        "{e}"
    );
}

#[test]
fn env_names_are_unique() {
    let names = Loader::env_names();
    let mut seen = std::collections::BTreeSet::new();
    for (key, env) in &names {
        assert!(seen.insert(env.clone()), "{env} ({key}) is not unique");
    }
    assert!(
        names
            .iter()
            .any(|(k, e)| k == "ops.admin_token" && e == "CRYPTO_EXCHANGE_OPS_ADMIN_TOKEN")
    );
}

#[test]
fn show_names_origins_and_redacts_the_token() -> Result<(), ConfigError> {
    let token = "s3cret-token-0123456789";
    let mut loader = Loader::new();
    loader.toml("[reconnect]\nmax_delay = \"20s\"\n", Origin::File, "f.toml");
    loader.env([(
        "CRYPTO_EXCHANGE_OPS_ADMIN_TOKEN".to_owned(),
        token.to_owned(),
    )]);
    loader.flag("streams.per_connection", 50, "--x");
    let resolved = loader.resolve()?;
    let shown = resolved.show();
    assert!(!shown.contains(token), "{shown}");
    assert!(!format!("{:?}", resolved.settings).contains(token));
    assert!(
        shown.contains("admin_token = \"<redacted>\"  # env"),
        "{shown}"
    );
    assert!(shown.contains("max_delay = \"20s\"  # file"), "{shown}");
    assert!(shown.contains("per_connection = 50  # flag"), "{shown}");
    assert!(
        shown.contains("initial_delay = \"1s\"  # default"),
        "{shown}"
    );
    assert!(shown.contains("[reconnect.budget]"), "{shown}");
    // What `show` prints (without the secret) is itself a valid file.
    let reread = shown.replace("\"<redacted>\"", "\"\"");
    let again = load(&reread)?;
    assert_eq!(again.settings.reconnect.max_delay, Duration::from_secs(20));
    Ok(())
}

#[test]
fn a_token_never_reaches_an_error() {
    let mut loader = Loader::new();
    loader.flag("ops.admin_token", 12345, "--x");
    let Err(e) = loader.resolve() else {
        panic!("a number accepted as a token");
    };
    assert!(!e.to_string().contains("12345"), "{e}");
}

#[test]
fn settings_embed_in_an_application_config() -> Result<(), toml::de::Error> {
    #[derive(serde::Deserialize)]
    struct App {
        #[allow(dead_code, reason = "only parsed")]
        name: String,
        gateway: Settings,
    }
    let app: App = toml::from_str("name = \"x\"\n[gateway.rotation]\nafter = \"12h\"\n")?;
    assert_eq!(app.gateway.rotation.after, Duration::from_secs(12 * 3600));
    let unknown = toml::from_str::<App>("name = \"x\"\n[gateway.rotation]\naftr = \"12h\"\n");
    assert!(unknown.is_err_and(|e| e.to_string().contains("aftr")));
    Ok(())
}

#[test]
fn the_example_file_passes() -> Result<(), ConfigError> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/config.example.toml"
    );
    let mut loader = Loader::new();
    loader.file(std::path::Path::new(path));
    let resolved = loader.resolve()?;
    assert!(
        !resolved
            .settings
            .selected_streams()
            .unwrap_or_default()
            .is_empty()
    );
    Ok(())
}

#[test]
fn every_key_is_documented() -> std::io::Result<()> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/configuration.md");
    let doc = std::fs::read_to_string(path)?;
    for (key, env) in Loader::env_names() {
        assert!(
            doc.contains(&format!("| `{key}` |")) && doc.contains(&format!("`{env}`")),
            "{key} ({env}) is missing from docs/configuration.md"
        );
    }
    Ok(())
}

/// With the `otel` feature an OTLP endpoint is accepted; without it, the same
/// file is refused with an error naming the feature.
#[test]
fn an_otlp_endpoint_needs_the_otel_feature() {
    let file = "[telemetry]\notlp_endpoint = \"http://127.0.0.1:4318/\"";
    let found = problems(file);
    if cfg!(feature = "otel") {
        assert!(found.is_empty(), "{found:?}");
    } else {
        assert!(
            found
                .iter()
                .any(|p| p.starts_with("telemetry.otlp_endpoint = ")
                    && p.contains("cargo feature `otel`")),
            "{found:?}"
        );
    }
    let settings = super::TelemetrySettings {
        otlp_endpoint: "http://127.0.0.1:4318/".to_owned(),
        ..super::TelemetrySettings::default()
    };
    assert_eq!(
        settings.traces_url().as_deref(),
        Some("http://127.0.0.1:4318/v1/traces")
    );
    let full = super::TelemetrySettings {
        otlp_endpoint: "https://otel.example/v1/traces".to_owned(),
        ..super::TelemetrySettings::default()
    };
    assert_eq!(
        full.traces_url().as_deref(),
        Some("https://otel.example/v1/traces")
    );
    assert_eq!(super::TelemetrySettings::default().traces_url(), None);
}

#[test]
fn the_otlp_endpoint_comes_from_the_environment() -> Result<(), ConfigError> {
    let mut loader = Loader::new();
    loader.env([(
        "CRYPTO_EXCHANGE_TELEMETRY_SERVICE_NAME".to_owned(),
        "gateway-eu".to_owned(),
    )]);
    let resolved = loader.resolve()?;
    assert_eq!(resolved.settings.telemetry.service_name, "gateway-eu");
    assert_eq!(resolved.origin("telemetry.service_name"), Some(Origin::Env));
    Ok(())
}

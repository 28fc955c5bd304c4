//! How a simulated exchange is set up: addresses, market, connection rules, REST limits.
//!
//! Every Binance rule the simulator enforces has a field here, with Binance's value
//! as the default, so tests can shrink a 24 h lifetime or a 60 s pong deadline to
//! milliseconds without changing what is enforced.

use std::net::SocketAddr;
use std::time::Duration;

use crate::account::AccountSpec;
use crate::decimal::Fixed;
use crate::error::SimError;
use crate::market::{MarketConfig, SymbolSpec};

/// Binance's connection rules for market streams (PROTOCOL.md §2).
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionRules {
    /// How often the server sends a ping frame (Binance: 20 s).
    pub ping_interval: Duration,
    /// How long a ping may stay unanswered before the server closes (Binance: 60 s).
    pub pong_timeout: Duration,
    /// Incoming frames allowed in any rolling `rate_window`; one more closes the
    /// connection with 1008 "Too many requests" (Binance: 5 per second).
    pub max_incoming_frames: u32,
    /// The rolling window for `max_incoming_frames` (Binance: 1 s).
    pub rate_window: Duration,
    /// Streams one connection may hold (Binance: 1024).
    pub max_streams: usize,
    /// When the server closes a connection, counted from its opening (Binance: 24 h).
    pub max_lifetime: Duration,
    /// If set, a `serverShutdown` event is sent this long before the lifetime ends.
    pub shutdown_notice: Option<Duration>,
    /// Connection attempts allowed per IP in `attempt_window`; more are answered
    /// with HTTP 429 at the handshake (Binance: 300 per 5 minutes).
    pub max_attempts: u32,
    /// The window for `max_attempts` (Binance: 5 minutes).
    pub attempt_window: Duration,
    /// The largest incoming message the server reads, in bytes.
    pub max_message_size: usize,
    /// Event batches a connection may fall behind before it is closed as a slow consumer.
    pub send_buffer: usize,
}

impl Default for ConnectionRules {
    fn default() -> Self {
        ConnectionRules {
            ping_interval: Duration::from_secs(20),
            pong_timeout: Duration::from_secs(60),
            max_incoming_frames: 5,
            rate_window: Duration::from_secs(1),
            max_streams: 1024,
            max_lifetime: Duration::from_secs(24 * 3600),
            shutdown_notice: None,
            max_attempts: 300,
            attempt_window: Duration::from_secs(300),
            max_message_size: 64 * 1024,
            send_buffer: 4096,
        }
    }
}

/// Binance's REST limits (PROTOCOL.md §7).
#[derive(Debug, Clone, PartialEq)]
pub struct RestRules {
    /// Request weight allowed per IP per calendar minute (Binance: 6000).
    pub weight_per_minute: u32,
    /// The length of the weight window, aligned to the epoch (Binance: one
    /// calendar minute); tests shrink it so limits reset in seconds.
    pub weight_window: Duration,
    /// Requests an IP may send while over the limit (each answered 429) before it is banned with 418.
    pub requests_before_ban: u32,
    /// The first ban's length; each further ban doubles it, up to `max_ban` (Binance: 2 minutes to 3 days).
    pub ban_duration: Duration,
    /// The longest ban.
    pub max_ban: Duration,
}

impl Default for RestRules {
    fn default() -> Self {
        RestRules {
            weight_per_minute: 6000,
            weight_window: Duration::from_secs(60),
            requests_before_ban: 5,
            ban_duration: Duration::from_secs(120),
            max_ban: Duration::from_secs(3 * 24 * 3600),
        }
    }
}

/// A benchmark mode: one symbol's `aggTrade` stream pushed as fast as the socket takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirehoseConfig {
    /// The symbol whose `aggTrade` stream is a firehose (uppercase).
    pub symbol: String,
}

/// Everything a simulated exchange needs to start.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Where market streams listen (default `127.0.0.1:0`, a free loopback port).
    pub ws_listen: SocketAddr,
    /// Where REST listens (default `127.0.0.1:0`).
    pub rest_listen: SocketAddr,
    /// Where the admin API listens (default `127.0.0.1:0`); `None` disables it.
    pub admin_listen: Option<SocketAddr>,
    /// The market's seed: the same seed gives the same orders, trades and ids.
    pub seed: u64,
    /// The listed symbols.
    pub symbols: Vec<SymbolSpec>,
    /// Trades and aggregate trades kept per symbol (at least 100,000 by default).
    pub retention: usize,
    /// Market actions replayed before start, so history exists from the first request.
    pub warmup_actions: u64,
    /// The span of time that history covers, ending at start.
    pub warmup_span: Duration,
    /// How often the market is advanced and events are published.
    pub tick: Duration,
    /// Connection rules for market streams.
    pub rules: ConnectionRules,
    /// REST limits.
    pub rest: RestRules,
    /// Benchmark mode for one symbol, off by default.
    pub firehose: Option<FirehoseConfig>,
    /// Simulated accounts for signed REST and the user data stream (none by default).
    pub accounts: Vec<AccountSpec>,
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// The default listed symbols: BTCUSDT, ETHUSDT and BNBBTC, priced like the real ones.
#[must_use]
pub fn default_symbols() -> Vec<SymbolSpec> {
    vec![
        SymbolSpec::new(
            "BTCUSDT",
            Fixed(6_000_000_000_000),
            Fixed(1_000_000),
            Fixed(1_000),
        ),
        SymbolSpec::new(
            "ETHUSDT",
            Fixed(300_000_000_000),
            Fixed(1_000_000),
            Fixed(10_000),
        ),
        SymbolSpec::new("BNBBTC", Fixed(940_000), Fixed(100), Fixed(100_000)),
    ]
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            ws_listen: loopback(),
            rest_listen: loopback(),
            admin_listen: Some(loopback()),
            seed: 42,
            symbols: default_symbols(),
            retention: 100_000,
            warmup_actions: 20_000,
            warmup_span: Duration::from_secs(3600),
            tick: Duration::from_millis(10),
            rules: ConnectionRules::default(),
            rest: RestRules::default(),
            firehose: None,
            accounts: Vec::new(),
        }
    }
}

impl SimConfig {
    /// Checks the configuration; every problem is reported at once.
    ///
    /// # Errors
    /// [`SimError::Config`] listing each field, its value and the rule it breaks.
    pub fn validate(&self) -> Result<(), SimError> {
        let mut problems = Vec::new();
        let mut check = |ok: bool, problem: String| {
            if !ok {
                problems.push(problem);
            }
        };
        check(
            !self.symbols.is_empty(),
            "symbols: at least one symbol must be listed".into(),
        );
        for spec in &self.symbols {
            check(
                !spec.symbol.is_empty() && spec.symbol.chars().all(char::is_alphanumeric),
                format!(
                    "symbols: {:?} must be non-empty and alphanumeric",
                    spec.symbol
                ),
            );
            check(
                spec.tick_size.0 > 0
                    && spec.step_size.0 > 0
                    && spec.start_price.0 > spec.tick_size.0 * 100,
                format!(
                    "symbols.{}: tick_size and step_size must be positive and start_price at least 100 ticks",
                    spec.symbol
                ),
            );
            check(
                spec.actions_per_sec.is_finite() && spec.actions_per_sec >= 0.0,
                format!(
                    "symbols.{}: actions_per_sec = {} must be a non-negative number",
                    spec.symbol, spec.actions_per_sec
                ),
            );
        }
        if let Some(firehose) = &self.firehose {
            check(
                self.symbols.iter().any(|s| s.symbol == firehose.symbol),
                format!(
                    "firehose.symbol = {:?} is not a listed symbol",
                    firehose.symbol
                ),
            );
        }
        check(
            self.retention >= 1000,
            format!("retention = {} must be at least 1000", self.retention),
        );
        check(!self.tick.is_zero(), "tick must be above zero".into());
        let r = &self.rules;
        check(
            !r.ping_interval.is_zero(),
            "rules.ping_interval must be above zero".into(),
        );
        check(
            !r.pong_timeout.is_zero(),
            "rules.pong_timeout must be above zero".into(),
        );
        check(
            r.max_incoming_frames > 0,
            "rules.max_incoming_frames must be above zero".into(),
        );
        check(
            !r.rate_window.is_zero(),
            "rules.rate_window must be above zero".into(),
        );
        check(
            r.max_streams > 0,
            "rules.max_streams must be above zero".into(),
        );
        check(
            !r.max_lifetime.is_zero(),
            "rules.max_lifetime must be above zero".into(),
        );
        if let Some(notice) = r.shutdown_notice {
            check(
                notice < r.max_lifetime,
                format!(
                    "rules.shutdown_notice = {notice:?} must be below rules.max_lifetime = {:?}",
                    r.max_lifetime
                ),
            );
        }
        check(
            r.max_attempts > 0,
            "rules.max_attempts must be above zero".into(),
        );
        check(
            r.max_message_size >= 1024,
            "rules.max_message_size must be at least 1024 bytes".into(),
        );
        check(
            r.send_buffer > 0,
            "rules.send_buffer must be above zero".into(),
        );
        check(
            self.rest.weight_per_minute > 0,
            "rest.weight_per_minute must be above zero".into(),
        );
        check(
            self.rest.ban_duration <= self.rest.max_ban,
            format!(
                "rest.ban_duration = {:?} must not be above rest.max_ban = {:?}",
                self.rest.ban_duration, self.rest.max_ban
            ),
        );
        for (i, account) in self.accounts.iter().enumerate() {
            problems.extend(account.problems());
            if self.accounts[..i]
                .iter()
                .any(|a| a.api_key == account.api_key)
            {
                problems.push(format!(
                    "accounts: api_key {:?} is listed twice",
                    account.api_key
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(SimError::Config(problems))
        }
    }

    /// The market part of the configuration.
    #[must_use]
    pub fn market(&self) -> MarketConfig {
        MarketConfig {
            symbols: self.symbols.clone(),
            seed: self.seed,
            retention: self.retention,
            warmup_actions: self.warmup_actions,
            warmup_span_ms: u64::try_from(self.warmup_span.as_millis()).unwrap_or(u64::MAX),
        }
    }
}

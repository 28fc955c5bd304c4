//! Opening connections: DNS, TCP, TLS and the HTTP upgrade, under one timeout.

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tracing::debug;

use crate::cause::CloseCause;
use crate::config::{TlsPolicy, TransportConfig};
use crate::connection::Connection;
use crate::error::Error;
use crate::link::{Limits, Link, classify};
use crate::tls::{Socket, client_config};
use crate::url::WsUrl;

/// Something that opens connections: [`WsConnector`] over the network, or
/// [`memory::MemoryConnector`](crate::memory::MemoryConnector) in tests.
///
/// Code that reconnects should be generic over this trait, so its policy can be
/// tested with scripted failures and no sockets.
pub trait Connector: Send + Sync {
    /// Opens a connection to `url`.
    ///
    /// # Errors
    ///
    /// [`Error::Connect`] with the classified cause when the attempt fails.
    fn connect(&self, url: &WsUrl) -> impl Future<Output = Result<Connection, Error>> + Send;
}

/// Opens `ws://` and `wss://` connections with a validated config. Cheap to clone;
/// build one and reuse it (it holds the prepared TLS settings).
#[derive(Clone)]
pub struct WsConnector {
    config: Arc<TransportConfig>,
    tls: TlsConnector,
}

impl fmt::Debug for WsConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WsConnector")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl WsConnector {
    /// Validates `config` and prepares TLS (rustls with the `ring` provider).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] or [`Error::InvalidRootCertificate`].
    pub fn new(config: TransportConfig) -> Result<Self, Error> {
        config.validate()?;
        let tls = TlsConnector::from(client_config(&config.tls)?);
        Ok(Self {
            config: Arc::new(config),
            tls,
        })
    }

    /// The configuration connections are opened with.
    #[must_use]
    pub fn config(&self) -> &TransportConfig {
        &self.config
    }

    /// Opens a connection: resolves the host, connects TCP, runs TLS for `wss://`, and
    /// upgrades to WebSocket, all within `handshake_timeout`.
    ///
    /// # Errors
    ///
    /// [`Error::InsecureTlsNotLoopback`] when certificate checks are off and the host is
    /// not loopback; otherwise [`Error::Connect`] with the classified cause.
    pub async fn connect(&self, url: &WsUrl) -> Result<Connection, Error> {
        self.config.validate_for(url)?;
        let insecure = self.config.tls == TlsPolicy::InsecureLoopbackOnly;
        let limit = self.config.handshake_timeout;
        let opened = tokio::time::timeout(limit, self.open(url, insecure)).await;
        let result = opened.unwrap_or(Err(Error::Connect(CloseCause::HandshakeTimeout {
            after: limit,
        })));
        match &result {
            // Only the authority is logged: paths and queries may carry keys.
            Ok(_) => {
                debug!(
                    host = url.host(),
                    port = url.port(),
                    tls = url.is_tls(),
                    "websocket open"
                );
            }
            Err(err) => {
                debug!(host = url.host(), port = url.port(), error = %err, "websocket connect failed");
            }
        }
        result
    }

    async fn open(&self, url: &WsUrl, insecure: bool) -> Result<Connection, Error> {
        let addrs = resolve(url).await?;
        if insecure && addrs.iter().any(|addr| !addr.ip().is_loopback()) {
            // `localhost` resolved somewhere else: refuse rather than trust the resolver.
            return Err(Error::InsecureTlsNotLoopback {
                host: url.host().to_owned(),
            });
        }
        let tcp = connect_tcp(&addrs).await?;
        // Frames are small and latency matters more than packet count.
        tcp.set_nodelay(true)
            .map_err(|err| Error::Connect(CloseCause::from_io(&err)))?;
        let socket = if url.is_tls() {
            let name =
                ServerName::try_from(url.host().to_owned()).map_err(|err| Error::InvalidUrl {
                    url: url.to_string(),
                    problem: format!("host is not a valid tls server name ({err})"),
                })?;
            let tls = self
                .tls
                .connect(name, tcp)
                .await
                .map_err(|err| Error::Connect(CloseCause::from_io(&err)))?;
            Socket::Tls(Box::new(tls))
        } else {
            Socket::Plain(tcp)
        };
        let mut request =
            url.uri()
                .clone()
                .into_client_request()
                .map_err(|err| Error::InvalidUrl {
                    url: url.to_string(),
                    problem: err.to_string(),
                })?;
        for (name, value) in self.config.headers.iter() {
            request.headers_mut().append(name.clone(), value.clone());
        }
        let limits = Limits {
            max_frame_size: self.config.max_frame_size,
            max_message_size: self.config.max_message_size,
        };
        let ws_config = WebSocketConfig::default()
            .max_frame_size(Some(limits.max_frame_size))
            .max_message_size(Some(limits.max_message_size));
        let (ws, _response) =
            tokio_tungstenite::client_async_with_config(request, socket, Some(ws_config))
                .await
                .map_err(|err| Error::Connect(classify(err, limits)))?;
        let peer = format!("{}:{}", url.host(), url.port());
        Ok(Connection::new(
            Link::Ws {
                ws: Box::new(ws),
                limits,
            },
            &self.config,
            peer,
        ))
    }
}

impl Connector for WsConnector {
    fn connect(&self, url: &WsUrl) -> impl Future<Output = Result<Connection, Error>> + Send {
        WsConnector::connect(self, url)
    }
}

/// Opens one connection without keeping a connector: parses `url`, validates `config`,
/// prepares TLS and connects.
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), ws_transport::Error> {
/// use ws_transport::{Event, TransportConfig, connect};
///
/// let mut conn = connect("wss://stream.binance.com:9443/ws/btcusdt@trade", &TransportConfig::default()).await?;
/// while let Event::Text(text) = conn.next().await {
///     println!("{text}");
/// }
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// [`Error::InvalidUrl`], [`Error::InvalidConfig`], or what [`WsConnector::connect`] returns.
pub async fn connect(url: &str, config: &TransportConfig) -> Result<Connection, Error> {
    let url = WsUrl::parse(url)?;
    WsConnector::new(config.clone())?.connect(&url).await
}

async fn resolve(url: &WsUrl) -> Result<Vec<SocketAddr>, Error> {
    let dns = |detail: String| {
        Error::Connect(CloseCause::Dns {
            host: url.host().to_owned(),
            detail,
        })
    };
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((url.host(), url.port()))
        .await
        .map_err(|err| dns(err.to_string()))?
        .collect();
    if addrs.is_empty() {
        return Err(dns("the name has no addresses".into()));
    }
    Ok(addrs)
}

/// Tries each address in turn (no happy-eyeballs racing: the handshake timeout bounds it),
/// reporting the last failure.
async fn connect_tcp(addrs: &[SocketAddr]) -> Result<TcpStream, Error> {
    let mut last = CloseCause::Refused;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(tcp) => return Ok(tcp),
            Err(err) => last = CloseCause::from_io(&err),
        }
    }
    Err(Error::Connect(last))
}

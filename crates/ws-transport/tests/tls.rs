//! `wss://` against a local rustls server with certificates made by rcgen.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use ws_transport::{
    CloseCause, Error, Event, TlsPolicy, TransportConfig, WsConnector, WsUrl, connect,
};

/// A test CA and a server certificate it issued.
struct Pki {
    ca: CertificateDer<'static>,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

fn pki() -> Pki {
    pki_for(&["localhost", "127.0.0.1"])
}

fn pki_for(names: &[&str]) -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
    let server_cert = CertificateParams::new(names)
        .unwrap()
        .signed_by(&server_key, &ca)
        .unwrap();
    Pki {
        ca: ca.der().clone(),
        chain: vec![server_cert.der().clone()],
        key: PrivatePkcs8KeyDer::from(server_key.serialize_der()).into(),
    }
}

/// A `wss://` echo server for one connection (a failed TLS handshake just ends it).
async fn wss_echo_server(pki: &Pki) -> SocketAddr {
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(pki.chain.clone(), pki.key.clone_key())
    .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let Ok(tls) = acceptor.accept(tcp).await else {
            return;
        };
        let mut ws = tokio_tungstenite::accept_async(tls).await.unwrap();
        while let Some(Ok(message)) = ws.next().await {
            if message.is_text() {
                ws.send(message).await.unwrap();
            }
        }
    });
    addr
}

async fn echo_once(url: &str, tls: TlsPolicy) -> Result<(), Error> {
    let config = TransportConfig {
        tls,
        ..TransportConfig::default()
    };
    let mut conn = connect(url, &config).await?;
    conn.send_text("over tls").unwrap();
    assert_eq!(conn.next().await, Event::Text("over tls".into()));
    let cause = conn.close(1000, "").await.unwrap();
    assert!(
        matches!(
            cause,
            CloseCause::ClosedLocally {
                acknowledged: true,
                ..
            }
        ),
        "{cause:?}"
    );
    Ok(())
}

#[tokio::test]
async fn unknown_issuer_is_a_certificate_error_under_verify() {
    let pki = pki();
    let addr = wss_echo_server(&pki).await;
    let err = echo_once(
        &format!("wss://localhost:{}/", addr.port()),
        TlsPolicy::Verify,
    )
    .await
    .unwrap_err();
    let Error::Connect(cause @ CloseCause::TlsCertificate { .. }) = &err else {
        panic!("expected a certificate error, got {err:?}")
    };
    assert!(!cause.is_retryable());
    assert!(err.to_string().contains("certificate"), "{err}");
}

#[tokio::test]
async fn a_trusted_private_ca_verifies_by_name_and_by_address() {
    let pki = pki();
    for host in ["localhost", "127.0.0.1"] {
        let addr = wss_echo_server(&pki).await;
        let roots = TlsPolicy::VerifyWithExtraRoots(vec![pki.ca.to_vec()]);
        echo_once(&format!("wss://{host}:{}/", addr.port()), roots)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn wrong_host_name_is_a_certificate_error() {
    let pki = pki_for(&["localhost"]);
    let addr = wss_echo_server(&pki).await;
    // Trusted issuer, but the certificate does not name 127.0.0.1.
    let roots = TlsPolicy::VerifyWithExtraRoots(vec![pki.ca.to_vec()]);
    let err = echo_once(&format!("wss://127.0.0.1:{}/", addr.port()), roots)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Connect(CloseCause::TlsCertificate { .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn insecure_policy_works_for_loopback() {
    let pki = pki();
    let addr = wss_echo_server(&pki).await;
    echo_once(
        &format!("wss://localhost:{}/", addr.port()),
        TlsPolicy::InsecureLoopbackOnly,
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn insecure_policy_is_refused_for_other_hosts() {
    let config = TransportConfig {
        tls: TlsPolicy::InsecureLoopbackOnly,
        ..TransportConfig::default()
    };
    let connector = WsConnector::new(config).unwrap();
    for url in [
        "wss://stream.binance.com:9443/ws",
        "wss://10.1.2.3/",
        "wss://localhost.example/",
    ] {
        let url: WsUrl = url.parse().unwrap();
        let err = connector.connect(&url).await.unwrap_err();
        assert!(
            matches!(err, Error::InsecureTlsNotLoopback { .. }),
            "{url}: {err:?}"
        );
        assert!(!err.is_retryable());
    }
}

#[tokio::test]
async fn plain_server_behind_wss_is_a_tls_error() {
    let (addr, _server) =
        common::ws_server(|mut ws| async move { while ws.next().await.is_some() {} }).await;
    let err = connect(
        &format!("wss://127.0.0.1:{}/", addr.port()),
        &TransportConfig::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Connect(CloseCause::Tls { .. } | CloseCause::Eof)
        ),
        "{err:?}"
    );
}

#[test]
fn unusable_extra_root_is_named() {
    let config = TransportConfig {
        tls: TlsPolicy::VerifyWithExtraRoots(vec![b"not a certificate".to_vec()]),
        ..TransportConfig::default()
    };
    let err = WsConnector::new(config).unwrap_err();
    assert!(
        matches!(err, Error::InvalidRootCertificate { index: 0, .. }),
        "{err:?}"
    );
}

//! How long signing a request takes (issue 9: below 5 µs with HMAC-SHA256,
//! below 100 µs with Ed25519).
//!
//! The payload is what a user data subscription and a typical signed REST call
//! sign: `apiKey=<64 chars>&recvWindow=5000&timestamp=…` and PROTOCOL.md §8a's
//! order example. Each measurement is one `Credentials::sign` call: key setup
//! (HMAC re-keys from the secret every time, on purpose), the MAC or signature,
//! and the hex or base64 encoding of the result.
//!
//! Run with `cargo bench -p crypto-exchange --bench signing` (add `-- --quick`
//! for a short run).

#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use crypto_exchange::user::{ApiKey, Credentials, KeyType, Secret};

const API_KEY: &str = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A";
const SECRET: &str = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
/// RFC 8410 §10.3's example private key.
const PEM: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----\n";

fn credentials(key_type: KeyType, secret: &str) -> Credentials {
    let key = ApiKey::new(API_KEY).unwrap_or_else(|e| panic!("{e}"));
    Credentials::new(key_type, key, &Secret::new(secret)).unwrap_or_else(|e| panic!("{e}"))
}

fn signing(c: &mut Criterion) {
    let subscribe = format!("apiKey={API_KEY}&recvWindow=5000&timestamp=1747385641636");
    let order = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559";
    let mut group = c.benchmark_group("sign");
    for (name, creds) in [
        ("hmac", credentials(KeyType::Hmac, SECRET)),
        ("ed25519", credentials(KeyType::Ed25519, PEM)),
    ] {
        group.bench_function(format!("{name}/subscribe"), |b| {
            b.iter(|| black_box(creds.sign(black_box(&subscribe))));
        });
        group.bench_function(format!("{name}/order"), |b| {
            b.iter(|| black_box(creds.sign(black_box(order))));
        });
    }
    group.finish();
}

criterion_group!(benches, signing);
criterion_main!(benches);

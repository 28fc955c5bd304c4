//! Signed requests (PROTOCOL.md §8a), sans-IO: the signed payload, signature
//! verification for HMAC-SHA256 and Ed25519 keys, and the timing rule. Every
//! function is told the time and never reads a clock.
//!
//! The errors are Binance's: -2014 for a missing or malformed API key, -2015 for a key
//! the exchange does not know (or one without the permission), -1022 for a signature
//! that does not verify (including one of the wrong kind for the key, or one that does
//! not decode), -1021 for a timestamp outside the receive window, -1131 for a
//! `recvWindow` above 60 000 ms.

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, VerifyingKey};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::Ledger;
use super::spec::{KeyMaterial, Permission};
use crate::rest::params::{ApiError, NUMBER_RANGE, Params, Presence};

/// The default receive window, µs (5000 ms).
pub(crate) const DEFAULT_RECV_WINDOW_US: u64 = 5_000_000;
/// The largest receive window, µs (60 000 ms).
const MAX_RECV_WINDOW_US: u64 = 60_000_000;
/// How far ahead of the server's clock a timestamp may be, µs (1 s).
const MAX_AHEAD_US: u64 = 1_000_000;
/// Timestamps at or above this are microseconds (16 digits), below it milliseconds.
const MICROS_THRESHOLD: u64 = 100_000_000_000_000;

/// Checks signatures for one key.
#[derive(Clone)]
pub(crate) enum Verifier {
    /// An HMAC-SHA256 key, ready to be cloned for each request.
    Hmac(Box<Hmac<Sha256>>),
    /// An Ed25519 public key.
    Ed25519(Box<VerifyingKey>),
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The HMAC state holds the secret: print only the kind.
        match self {
            Verifier::Hmac(_) => f.write_str("Verifier::Hmac(<redacted>)"),
            Verifier::Ed25519(_) => f.write_str("Verifier::Ed25519"),
        }
    }
}

impl Verifier {
    /// A verifier for `key`.
    ///
    /// # Errors
    /// A description when the key cannot verify anything: an empty HMAC secret, or 32
    /// bytes that are not an Ed25519 point.
    pub(crate) fn new(key: &KeyMaterial) -> Result<Self, String> {
        match key {
            KeyMaterial::Hmac { secret } => {
                if secret.is_empty() {
                    return Err("an HMAC secret must not be empty".to_owned());
                }
                let mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
                    .map_err(|_| "the HMAC secret is unusable".to_owned())?;
                Ok(Verifier::Hmac(Box::new(mac)))
            }
            KeyMaterial::Ed25519 { public_key } => VerifyingKey::from_bytes(public_key)
                .map(|key| Verifier::Ed25519(Box::new(key)))
                .map_err(|_| "the 32 bytes are not an Ed25519 public key".to_owned()),
        }
    }

    /// Checks `signature` (as sent: lowercase or uppercase hex for HMAC, base64 for
    /// Ed25519) over `payload`. HMAC comparison is constant-time.
    ///
    /// # Errors
    /// -1022 when the signature does not verify or does not decode.
    pub(crate) fn verify(&self, payload: &[u8], signature: &str) -> Result<(), ApiError> {
        let valid = match self {
            Verifier::Hmac(mac) => decode_hex(signature).is_some_and(|bytes| {
                let mut mac = mac.as_ref().clone();
                mac.update(payload);
                mac.verify_slice(&bytes).is_ok()
            }),
            Verifier::Ed25519(key) => STANDARD
                .decode(signature.as_bytes())
                .ok()
                .and_then(|bytes| <[u8; 64]>::try_from(bytes.as_slice()).ok())
                .is_some_and(|bytes| {
                    key.verify_strict(payload, &Signature::from_bytes(&bytes))
                        .is_ok()
                }),
        };
        if valid {
            Ok(())
        } else {
            Err(invalid_signature())
        }
    }
}

/// Authenticates a signed request: the API key, then `timestamp`, `signature` and
/// `recvWindow` (read from `params`), the signature over `payload`, the timing rule, and
/// finally the permission. Returns the account's index.
///
/// # Errors
/// -2014, -2015, -1102, -1100, -1131, -1022 or -1021, in that order of checking.
pub(crate) fn authenticate(
    ledger: &Ledger,
    api_key: Option<&str>,
    params: &mut Params,
    payload: &[u8],
    permission: Permission,
    now_us: u64,
) -> Result<usize, ApiError> {
    let account = ledger.authenticate(api_key)?;
    let timestamp = params
        .text("timestamp", Presence::Mandatory)?
        .ok_or_else(|| ApiError::mandatory("timestamp"))?;
    let signature = params
        .text("signature", Presence::Mandatory)?
        .ok_or_else(|| ApiError::mandatory("signature"))?;
    let recv_window = match params.text("recvWindow", Presence::Optional)? {
        Some(text) => parse_recv_window(&text)?,
        None => DEFAULT_RECV_WINDOW_US,
    };
    let timestamp = parse_timestamp(&timestamp)?;
    let acc = ledger.account(account).ok_or_else(rejected_key)?;
    acc.verifier.verify(payload, &signature)?;
    check_time(timestamp, recv_window, now_us)?;
    if !acc.may(permission) {
        return Err(rejected_key());
    }
    Ok(account)
}

/// Microseconds since the Unix epoch, from the system clock (the adapters' clock).
pub(crate) fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// Decodes exactly 64 hex digits (either case) into 32 bytes.
fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() != 64 {
        return None;
    }
    text.as_bytes()
        .chunks(2)
        .map(|pair| {
            let hi = char::from(pair[0]).to_digit(16)?;
            let lo = char::from(pair[1]).to_digit(16)?;
            u8::try_from(hi * 16 + lo).ok()
        })
        .collect()
}

/// The lowercase hex HMAC-SHA256 of `payload` under `secret`, as a client computes it.
#[must_use]
pub fn hmac_sha256_hex(secret: &str, payload: &str) -> String {
    // HMAC accepts keys of any length; this cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(payload.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// -2014: the API key is missing or is not 1–64 letters and digits.
pub(crate) fn bad_key_format() -> ApiError {
    ApiError {
        status: StatusCode::UNAUTHORIZED,
        code: -2014,
        msg: "API-key format invalid.".to_owned(),
    }
}

/// -2015: an unknown or revoked key, or one without the permission needed.
pub(crate) fn rejected_key() -> ApiError {
    ApiError {
        status: StatusCode::UNAUTHORIZED,
        code: -2015,
        msg: "Invalid API-key, IP, or permissions for action.".to_owned(),
    }
}

/// -1022: the signature does not verify.
pub(crate) fn invalid_signature() -> ApiError {
    ApiError::bad(-1022, "Signature for this request is not valid.")
}

/// The signed payload of a REST request: the query string and the body as sent
/// (still percent-encoded), each without its `signature` parameter, concatenated
/// with nothing between them, as Binance documents for mixed requests.
#[must_use]
pub(crate) fn rest_payload(query: Option<&str>, body: &str) -> String {
    let strip = |raw: &str| {
        raw.split('&')
            .filter(|segment| !segment.starts_with("signature="))
            .collect::<Vec<_>>()
            .join("&")
    };
    let mut payload = strip(query.unwrap_or(""));
    payload.push_str(&strip(body));
    payload
}

/// The signed payload of a WebSocket API request: its parameters sorted by name and
/// joined as `name=value&…`, without `signature`.
#[must_use]
pub(crate) fn ws_payload(params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> =
        params.iter().filter(|(k, _)| k != "signature").collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    sorted
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Parses `timestamp` (ms, or µs when it has 16 digits or more) into µs.
///
/// # Errors
/// -1100 for anything but 1–20 digits, -1108 for a value that overflows.
pub(crate) fn parse_timestamp(text: &str) -> Result<u64, ApiError> {
    if text.is_empty() || text.len() > 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::illegal_chars("timestamp", NUMBER_RANGE));
    }
    let value: u64 = text
        .parse()
        .ok()
        .filter(|v| i64::try_from(*v).is_ok())
        .ok_or_else(|| ApiError::overflow("timestamp"))?;
    Ok(if value >= MICROS_THRESHOLD {
        value
    } else {
        value.saturating_mul(1000)
    })
}

/// Parses `recvWindow` (ms with up to three decimals, so µs can be given) into µs.
///
/// # Errors
/// -1100 for a malformed value, -1131 above 60 000 ms.
pub(crate) fn parse_recv_window(text: &str) -> Result<u64, ApiError> {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let dangling_point = text.ends_with('.');
    if whole.is_empty()
        || whole.len() > 12
        || frac.len() > 3
        || dangling_point
        || !digits(whole)
        || !digits(frac)
    {
        return Err(ApiError::illegal_chars(
            "recvWindow",
            r"^[0-9]{1,12}(\.[0-9]{1,3})?$",
        ));
    }
    let whole: u64 = whole
        .parse()
        .map_err(|_| ApiError::overflow("recvWindow"))?;
    let mut micros = whole.saturating_mul(1000);
    for (i, b) in frac.bytes().enumerate() {
        let place = [100, 10, 1][i];
        micros += u64::from(b - b'0') * place;
    }
    if micros > MAX_RECV_WINDOW_US {
        return Err(ApiError::bad(-1131, "recvWindow must be less than 60000"));
    }
    Ok(micros)
}

/// The timing rule: accept when `timestamp < now + 1 s` and `now − timestamp ≤ recvWindow`.
///
/// # Errors
/// -1021, with Binance's message for a timestamp too far ahead or too old.
pub(crate) fn check_time(
    timestamp_us: u64,
    recv_window_us: u64,
    now_us: u64,
) -> Result<(), ApiError> {
    if timestamp_us >= now_us.saturating_add(MAX_AHEAD_US) {
        return Err(ApiError::bad(
            -1021,
            "Timestamp for this request was 1000ms ahead of the server's time.",
        ));
    }
    if now_us.saturating_sub(timestamp_us) > recv_window_us {
        return Err(ApiError::bad(
            -1021,
            "Timestamp for this request is outside of the recvWindow.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
    const PAYLOAD: &str = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559";
    const SIGNATURE: &str = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71";

    fn code<T: std::fmt::Debug>(result: Result<T, ApiError>) -> i32 {
        match result {
            Ok(v) => panic!("expected an error, got {v:?}"),
            Err(e) => e.code,
        }
    }

    fn verifier(key: &KeyMaterial) -> Verifier {
        Verifier::new(key).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn hmac_example_of_protocol_8a() {
        assert_eq!(hmac_sha256_hex(SECRET, PAYLOAD), SIGNATURE);
        let v = verifier(&KeyMaterial::hmac(SECRET));
        assert_eq!(v.verify(PAYLOAD.as_bytes(), SIGNATURE), Ok(()));
        // Not case-sensitive.
        assert_eq!(
            v.verify(PAYLOAD.as_bytes(), &SIGNATURE.to_uppercase()),
            Ok(())
        );
        // One changed byte of payload or signature, or a malformed signature: -1022.
        assert_eq!(code(v.verify(b"symbol=LTCBTC", SIGNATURE)), -1022);
        let flipped = format!("d{}", &SIGNATURE[1..]);
        assert_eq!(code(v.verify(PAYLOAD.as_bytes(), &flipped)), -1022);
        for bad in ["", "zz", &SIGNATURE[..63], &format!("{SIGNATURE}00"), "ü"] {
            assert_eq!(code(v.verify(PAYLOAD.as_bytes(), bad)), -1022, "{bad}");
        }
        // Another secret: -1022.
        let other = verifier(&KeyMaterial::hmac("another secret"));
        assert_eq!(code(other.verify(PAYLOAD.as_bytes(), SIGNATURE)), -1022);
    }

    /// The public key of the Ed25519 key with seed 00 01 02 … 1f.
    const ED25519_PUBLIC: &str = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
    /// Signatures of that key, computed once with Python's `cryptography` 48.0.0
    /// (OpenSSL), an implementation independent of ed25519-dalek.
    const ED25519_VECTORS: [(&str, &str); 2] = [
        (
            "apiKey=simEd25519Key&timestamp=1747385641636",
            "5fj76hvuKc9KolsRGFEtnKRpJNep6YzKgsi9csx3D27AhajHGbnT+cAQNsCUdWxalKCBChQIEsunDjDgIEaNDQ==",
        ),
        (
            "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01000&price=60000.00&timestamp=1747385641636",
            "2cI7vuwDHAJEML+9zcWmj0MebswlbWrAPklqtTtvhczp641z9NSt3+/q42R2q2fEkfl3U2gyQKHILQZdkVrDDg==",
        ),
    ];

    fn hex32(text: &str) -> [u8; 32] {
        let bytes = decode_hex(text).unwrap_or_default();
        <[u8; 32]>::try_from(bytes.as_slice()).unwrap_or([0; 32])
    }

    #[test]
    fn ed25519_matches_rfc_8032_and_an_independent_implementation() {
        use ed25519_dalek::{Signer, SigningKey};
        // RFC 8032 §7.1 test 1: the library itself.
        let rfc = SigningKey::from_bytes(&hex32(
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        ));
        let signature: String = rfc
            .sign(b"")
            .to_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            signature,
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
        // The committed vectors: dalek signs identically, and the simulator verifies them.
        let seed: [u8; 32] = std::array::from_fn(|i| u8::try_from(i).unwrap_or(0));
        let key = SigningKey::from_bytes(&seed);
        assert_eq!(key.verifying_key().to_bytes(), hex32(ED25519_PUBLIC));
        let v = verifier(&KeyMaterial::Ed25519 {
            public_key: hex32(ED25519_PUBLIC),
        });
        for (payload, expected) in ED25519_VECTORS {
            assert_eq!(
                STANDARD.encode(key.sign(payload.as_bytes()).to_bytes()),
                expected
            );
            assert_eq!(v.verify(payload.as_bytes(), expected), Ok(()));
            // Case matters for base64; a changed payload fails; so does a hex HMAC.
            assert_eq!(
                code(v.verify(payload.as_bytes(), &expected.to_lowercase())),
                -1022
            );
            assert_eq!(code(v.verify(b"apiKey=other", expected)), -1022);
            assert_eq!(code(v.verify(payload.as_bytes(), SIGNATURE)), -1022);
        }
        // A base64 Ed25519 signature against an HMAC key: -1022.
        let hmac = verifier(&KeyMaterial::hmac(SECRET));
        assert_eq!(
            code(hmac.verify(ED25519_VECTORS[0].0.as_bytes(), ED25519_VECTORS[0].1)),
            -1022
        );
        // Not base64, or the wrong length: -1022.
        for bad in ["", "!!!", "AAAA", &STANDARD.encode([0_u8; 63])] {
            assert_eq!(code(v.verify(b"x", bad)), -1022, "{bad}");
        }
    }

    #[test]
    fn keys_that_cannot_verify_are_refused() {
        assert!(Verifier::new(&KeyMaterial::hmac("")).is_err());
        // y = 2 is not the y-coordinate of a curve point.
        let mut not_a_point = [0_u8; 32];
        not_a_point[0] = 2;
        assert!(
            Verifier::new(&KeyMaterial::Ed25519 {
                public_key: not_a_point
            })
            .is_err()
        );
        // Debug of a verifier never shows the secret.
        let v = verifier(&KeyMaterial::hmac(SECRET));
        assert!(!format!("{v:?}").contains("Nhq"));
    }

    #[test]
    fn rest_payload_is_the_query_then_the_body_without_signature() {
        assert_eq!(
            rest_payload(Some("symbol=LTCBTC&timestamp=1&signature=abc"), ""),
            "symbol=LTCBTC&timestamp=1"
        );
        // Binance's "mixed" example: no `&` between query and body.
        assert_eq!(
            rest_payload(
                Some("symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC"),
                "quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559&signature=x"
            ),
            "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTCquantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
        );
        assert_eq!(rest_payload(None, ""), "");
        // Encoded values stay encoded.
        assert_eq!(rest_payload(Some("a=%2B1&signature=s%2Bx"), ""), "a=%2B1");
    }

    #[test]
    fn ws_payload_is_sorted_without_signature() {
        let params = vec![
            ("timestamp".to_owned(), "1747385641636".to_owned()),
            ("signature".to_owned(), "xyz".to_owned()),
            ("apiKey".to_owned(), "KEY".to_owned()),
            ("recvWindow".to_owned(), "5000".to_owned()),
        ];
        assert_eq!(
            ws_payload(&params),
            "apiKey=KEY&recvWindow=5000&timestamp=1747385641636"
        );
    }

    #[test]
    fn timestamps_and_windows() {
        assert_eq!(parse_timestamp("1499827319559"), Ok(1_499_827_319_559_000));
        assert_eq!(
            parse_timestamp("1499827319559123"),
            Ok(1_499_827_319_559_123)
        );
        for bad in ["", "-1", "1.5", "abc", "123456789012345678901"] {
            assert_eq!(code(parse_timestamp(bad)), -1100, "{bad}");
        }
        assert_eq!(code(parse_timestamp("99999999999999999999")), -1108);
        assert_eq!(parse_recv_window("5000"), Ok(5_000_000));
        assert_eq!(parse_recv_window("6000.346"), Ok(6_000_346));
        assert_eq!(parse_recv_window("60000"), Ok(60_000_000));
        assert_eq!(code(parse_recv_window("60000.001")), -1131);
        for bad in ["", ".5", "1.2345", "-5", "5e3", "1."] {
            assert_eq!(code(parse_recv_window(bad)), -1100, "{bad}");
        }
    }

    #[test]
    fn the_timing_rule() {
        let now = 1_700_000_000_000_000;
        let window = DEFAULT_RECV_WINDOW_US;
        assert_eq!(check_time(now, window, now), Ok(()));
        assert_eq!(check_time(now - window, window, now), Ok(()));
        assert_eq!(code(check_time(now - window - 1, window, now)), -1021);
        assert_eq!(check_time(now + 999_999, window, now), Ok(()));
        assert_eq!(code(check_time(now + 1_000_000, window, now)), -1021);
        assert_eq!(code(check_time(0, window, now)), -1021);
        assert_eq!(code(check_time(u64::MAX, window, now)), -1021);
    }
}

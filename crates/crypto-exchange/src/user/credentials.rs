//! API credentials and request signing (PROTOCOL.md §8a).
//!
//! [`ApiKey`] and [`Secret`] never print what they hold: `Debug` and `Display`
//! show `<redacted>`, and both are zeroed when dropped (`zeroize`). An Ed25519
//! signing key is zeroed by `ed25519-dalek` itself. HMAC signing re-keys from the
//! secret on every call instead of keeping a keyed HMAC state around, because
//! that state is as good as the key and `hmac` does not zero it.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::pkcs8::DecodePrivateKey as _;
use ed25519_dalek::{Signer as _, SigningKey};
use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use zeroize::Zeroizing;

/// The longest API key accepted (Binance's keys are 64 characters).
pub const MAX_API_KEY_LEN: usize = 64;

/// What is wrong with a set of credentials. Messages never contain the key or
/// the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialError {
    /// The API key is empty, too long or has characters other than letters and digits.
    #[error(
        "the API key is malformed ({0}): copy the key exactly as Binance shows it (letters and digits, at most 64)"
    )]
    MalformedApiKey(&'static str),
    /// The secret is empty.
    #[error(
        "the secret is empty: set it to the API key's secret (HMAC) or PEM private key (Ed25519)"
    )]
    EmptySecret,
    /// An HMAC key was asked for, but the secret is a PEM private key.
    #[error(
        "wrong key type: the secret is a PEM private key, which signs with Ed25519; use key type ed25519 (--key-type ed25519)"
    )]
    PemForHmac,
    /// An Ed25519 key was asked for, but the secret is not a PEM block.
    #[error(
        "wrong key type: an Ed25519 key must be a PEM PKCS#8 private key (-----BEGIN PRIVATE KEY-----); for an HMAC secret use key type hmac (--key-type hmac)"
    )]
    NotPem,
    /// The PEM block does not hold an unencrypted PKCS#8 Ed25519 private key.
    #[error(
        "the Ed25519 private key cannot be read ({0}): give an unencrypted PKCS#8 PEM Ed25519 key (openssl genpkey -algorithm ed25519)"
    )]
    MalformedPrivateKey(String),
    /// An unknown key type name.
    #[error("unknown key type {0:?}: write hmac or ed25519")]
    UnknownKeyType(String),
}

/// An API key. Printed as `<redacted>`; zeroed when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(Zeroizing<String>);

impl ApiKey {
    /// Checks and wraps an API key.
    ///
    /// # Errors
    /// [`CredentialError::MalformedApiKey`] for an empty or too long key, or one with
    /// characters other than ASCII letters and digits.
    pub fn new(key: impl Into<String>) -> Result<Self, CredentialError> {
        let key = Zeroizing::new(key.into());
        let trimmed = key.trim();
        if trimmed.is_empty() {
            return Err(CredentialError::MalformedApiKey("empty"));
        }
        if trimmed.len() > MAX_API_KEY_LEN {
            return Err(CredentialError::MalformedApiKey(
                "longer than 64 characters",
            ));
        }
        if !trimmed.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(CredentialError::MalformedApiKey(
                "characters other than letters and digits",
            ));
        }
        Ok(ApiKey(Zeroizing::new(trimmed.to_owned())))
    }

    /// The key itself, for the `X-MBX-APIKEY` header and the `apiKey` parameter only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A secret: an HMAC secret or an Ed25519 PEM private key. Printed as
/// `<redacted>`; zeroed when dropped.
#[derive(Clone)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a secret.
    #[must_use]
    pub fn new(secret: impl Into<String>) -> Self {
        Secret(Zeroizing::new(secret.into()))
    }

    fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// How a key signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum KeyType {
    /// HMAC-SHA256 with a shared secret: lowercase hex signatures.
    #[default]
    Hmac,
    /// Ed25519 with a private key: base64 signatures.
    Ed25519,
}

impl std::str::FromStr for KeyType {
    type Err = CredentialError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "hmac" | "hmac-sha256" | "hmac_sha256" => Ok(KeyType::Hmac),
            "ed25519" => Ok(KeyType::Ed25519),
            _ => Err(CredentialError::UnknownKeyType(
                text.chars().take(32).collect(),
            )),
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyType::Hmac => "hmac",
            KeyType::Ed25519 => "ed25519",
        })
    }
}

enum SignerKey {
    Hmac(Secret),
    Ed25519(Box<SigningKey>),
}

/// An API key and what signs its requests. Cheap to share behind an `Arc`;
/// `Debug` shows only the key type.
pub struct Credentials {
    api_key: ApiKey,
    key: SignerKey,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("api_key", &self.api_key)
            .field("key_type", &self.key_type())
            .finish()
    }
}

impl Credentials {
    /// Credentials of `key_type`: for [`KeyType::Hmac`] `secret` is the shared
    /// secret, for [`KeyType::Ed25519`] a PEM PKCS#8 private key.
    ///
    /// # Errors
    /// A [`CredentialError`] naming what is wrong, without the secret.
    pub fn new(
        key_type: KeyType,
        api_key: ApiKey,
        secret: &Secret,
    ) -> Result<Self, CredentialError> {
        match key_type {
            KeyType::Hmac => Self::hmac(api_key, secret),
            KeyType::Ed25519 => Self::ed25519_pem(api_key, secret),
        }
    }

    /// HMAC-SHA256 credentials.
    ///
    /// # Errors
    /// [`CredentialError::EmptySecret`], or [`CredentialError::PemForHmac`] when the
    /// secret is a PEM key (an Ed25519 key given as HMAC).
    pub fn hmac(api_key: ApiKey, secret: &Secret) -> Result<Self, CredentialError> {
        let text = secret.expose().trim();
        if text.is_empty() {
            return Err(CredentialError::EmptySecret);
        }
        if text.starts_with("-----BEGIN") {
            return Err(CredentialError::PemForHmac);
        }
        Ok(Credentials {
            api_key,
            key: SignerKey::Hmac(Secret::new(text)),
        })
    }

    /// Ed25519 credentials from a PEM PKCS#8 private key.
    ///
    /// # Errors
    /// [`CredentialError::EmptySecret`], [`CredentialError::NotPem`] or
    /// [`CredentialError::MalformedPrivateKey`].
    pub fn ed25519_pem(api_key: ApiKey, pem: &Secret) -> Result<Self, CredentialError> {
        let text = pem.expose().trim();
        if text.is_empty() {
            return Err(CredentialError::EmptySecret);
        }
        if !text.starts_with("-----BEGIN") {
            return Err(CredentialError::NotPem);
        }
        if text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY") {
            return Err(CredentialError::MalformedPrivateKey(
                "the key is encrypted".to_owned(),
            ));
        }
        // The parser's own message names the ASN.1 or PEM problem, never key bytes.
        let key = SigningKey::from_pkcs8_pem(text)
            .map_err(|e| CredentialError::MalformedPrivateKey(e.to_string()))?;
        Ok(Self::ed25519(api_key, key))
    }

    /// Ed25519 credentials from a signing key.
    #[must_use]
    pub fn ed25519(api_key: ApiKey, key: SigningKey) -> Self {
        Credentials {
            api_key,
            key: SignerKey::Ed25519(Box::new(key)),
        }
    }

    /// The key type.
    #[must_use]
    pub fn key_type(&self) -> KeyType {
        match self.key {
            SignerKey::Hmac(_) => KeyType::Hmac,
            SignerKey::Ed25519(_) => KeyType::Ed25519,
        }
    }

    /// The API key.
    #[must_use]
    pub fn api_key(&self) -> &ApiKey {
        &self.api_key
    }

    /// The signature of `payload`: lowercase hex of HMAC-SHA256, or base64 of the
    /// Ed25519 signature (PROTOCOL.md §8a).
    #[must_use]
    pub fn sign(&self, payload: &str) -> String {
        match &self.key {
            SignerKey::Hmac(secret) => hmac_hex(secret.expose().as_bytes(), payload.as_bytes()),
            SignerKey::Ed25519(key) => STANDARD.encode(key.sign(payload.as_bytes()).to_bytes()),
        }
    }
}

/// Lowercase hex of HMAC-SHA256(`key`, `payload`).
fn hmac_hex(key: &[u8], payload: &[u8]) -> String {
    // `new_from_slice` accepts keys of any length for HMAC; the error arm is unreachable.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(payload);
    let digest = mac.finalize().into_bytes();
    let mut out = String::with_capacity(64);
    for byte in digest {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Percent-encodes a query-string value: everything but unreserved characters
/// (RFC 3986), so a base64 signature's `+`, `/` and `=` survive.
pub(crate) fn encode_query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX_UPPER[usize::from(byte >> 4)]));
            out.push(char::from(HEX_UPPER[usize::from(byte & 0x0f)]));
        }
    }
    out
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

#[cfg(test)]
mod tests {
    use super::*;

    const DOC_SECRET: &str = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
    const DOC_KEY: &str = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A";

    /// RFC 8032 §7.1 TEST 1: the secret key, and the signature of the empty message.
    const RFC8032_SECRET: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    const RFC8032_SIG_EMPTY: &str = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";
    /// RFC 8032 §7.1 TEST 2: one-byte message 0x72.
    const RFC8032_SECRET_2: &str =
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";
    const RFC8032_SIG_72: &str = "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00";

    fn unhex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .filter_map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
            .collect()
    }

    fn key(text: &str) -> ApiKey {
        ApiKey::new(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn hmac_reproduces_the_documented_signature() {
        let creds = Credentials::hmac(key(DOC_KEY), &Secret::new(DOC_SECRET))
            .unwrap_or_else(|e| panic!("{e}"));
        let payload = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559";
        assert_eq!(
            creds.sign(payload),
            "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
        );
    }

    #[test]
    fn ed25519_matches_rfc8032_test_vectors() {
        use base64::Engine as _;
        for (secret, message, expected) in [
            (RFC8032_SECRET, "", RFC8032_SIG_EMPTY),
            (RFC8032_SECRET_2, "r", RFC8032_SIG_72),
        ] {
            let seed: [u8; 32] = unhex(secret).try_into().unwrap_or([0; 32]);
            let creds = Credentials::ed25519(key("edKey"), SigningKey::from_bytes(&seed));
            let signature = STANDARD
                .decode(creds.sign(message))
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(signature, unhex(expected));
        }
    }

    /// The PKCS#8 PEM of RFC 8410 §10.3 (its example private key).
    const RFC8410_PEM: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----\n";

    #[test]
    fn ed25519_reads_pkcs8_pem() {
        let creds = Credentials::new(KeyType::Ed25519, key("edKey"), &Secret::new(RFC8410_PEM))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(creds.key_type(), KeyType::Ed25519);
        // RFC 8410's key: its seed is the hex below.
        let seed: [u8; 32] =
            unhex("d4ee72dbf913584ad5b6d8f1f769f8ad3afe7c28cbf1d4fbe097a88f44755842")
                .try_into()
                .unwrap_or([0; 32]);
        let direct = Credentials::ed25519(key("edKey"), SigningKey::from_bytes(&seed));
        assert_eq!(
            creds.sign("apiKey=x&timestamp=1"),
            direct.sign("apiKey=x&timestamp=1")
        );
    }

    #[test]
    fn wrong_and_malformed_keys_are_clear_errors() {
        let pem = Secret::new(RFC8410_PEM);
        assert_eq!(
            Credentials::new(KeyType::Hmac, key("k"), &pem).err(),
            Some(CredentialError::PemForHmac)
        );
        assert_eq!(
            Credentials::new(KeyType::Ed25519, key("k"), &Secret::new(DOC_SECRET)).err(),
            Some(CredentialError::NotPem)
        );
        let broken = Secret::new("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----");
        let error = Credentials::new(KeyType::Ed25519, key("k"), &broken).err();
        assert!(
            matches!(error, Some(CredentialError::MalformedPrivateKey(_))),
            "{error:?}"
        );
        assert_eq!(
            Credentials::new(KeyType::Hmac, key("k"), &Secret::new("  ")).err(),
            Some(CredentialError::EmptySecret)
        );
        assert_eq!(
            ApiKey::new("").err(),
            Some(CredentialError::MalformedApiKey("empty"))
        );
        assert!(ApiKey::new("has space").is_err());
        assert!(ApiKey::new("x".repeat(65)).is_err());
        assert!("rsa".parse::<KeyType>().is_err());
        assert_eq!("ED25519".parse::<KeyType>(), Ok(KeyType::Ed25519));
    }

    #[test]
    fn secrets_never_print() {
        let creds = Credentials::hmac(key(DOC_KEY), &Secret::new(DOC_SECRET))
            .unwrap_or_else(|e| panic!("{e}"));
        let shown = format!(
            "{creds:?} {} {:?} {} {:?}",
            creds.api_key(),
            creds.api_key(),
            Secret::new(DOC_SECRET),
            Secret::new(DOC_SECRET)
        );
        assert!(
            !shown.contains(DOC_SECRET) && !shown.contains(DOC_KEY),
            "{shown}"
        );
        assert!(shown.contains("<redacted>"));
        let ed = Credentials::new(KeyType::Ed25519, key("edKey"), &Secret::new(RFC8410_PEM))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!format!("{ed:?}").contains("MC4CAQAw"));
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(encode_query_value("a+b/c=="), "a%2Bb%2Fc%3D%3D");
        assert_eq!(encode_query_value("BTCUSDT-1.5_~"), "BTCUSDT-1.5_~");
    }
}

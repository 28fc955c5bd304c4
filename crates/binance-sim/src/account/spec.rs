//! How a simulated account is described: its API key, the key material that signs
//! its requests, its starting balances, permissions and commission.
//!
//! Secrets never appear in `Debug` output: [`KeyMaterial`] prints `<redacted>` for an
//! HMAC secret, and the simulator never logs one.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::decimal::Fixed;

/// The longest API key accepted (Binance's keys are 64 characters).
pub const MAX_API_KEY_LEN: usize = 64;

/// The DER prefix of an Ed25519 `SubjectPublicKeyInfo` (RFC 8410), before the 32 key bytes.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// The key that signs an account's requests (PROTOCOL.md §8a).
#[derive(Clone, PartialEq, Eq)]
pub enum KeyMaterial {
    /// An HMAC-SHA256 key: the secret shared with the client.
    Hmac {
        /// The secret key, as Binance shows it once at creation.
        secret: String,
    },
    /// An Ed25519 key: the public half registered with the exchange.
    Ed25519 {
        /// The 32-byte public key.
        public_key: [u8; 32],
    },
}

impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyMaterial::Hmac { .. } => f
                .debug_struct("Hmac")
                .field("secret", &"<redacted>")
                .finish(),
            KeyMaterial::Ed25519 { public_key } => f
                .debug_struct("Ed25519")
                .field("public_key", &STANDARD.encode(public_key))
                .finish(),
        }
    }
}

impl KeyMaterial {
    /// An HMAC-SHA256 key with this secret.
    #[must_use]
    pub fn hmac(secret: &str) -> Self {
        KeyMaterial::Hmac {
            secret: secret.to_owned(),
        }
    }

    /// An Ed25519 key from a PEM `PUBLIC KEY` block, the form Binance asks users to register.
    ///
    /// # Errors
    /// A description of what is wrong when the text is not a PEM Ed25519 public key.
    pub fn ed25519_from_pem(pem: &str) -> Result<Self, String> {
        let body: String = pem
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with("-----"))
            .collect();
        let der = STANDARD
            .decode(body.as_bytes())
            .map_err(|e| format!("the PEM body is not base64: {e}"))?;
        let key = der
            .strip_prefix(&ED25519_SPKI_PREFIX[..])
            .ok_or("not an Ed25519 SubjectPublicKeyInfo (expected OID 1.3.101.112)")?;
        let public_key: [u8; 32] = key
            .try_into()
            .map_err(|_| format!("an Ed25519 public key has 32 bytes, not {}", key.len()))?;
        Ok(KeyMaterial::Ed25519 { public_key })
    }

    /// The key type's name, as in logs and errors (`HMAC_SHA256` or `ED25519`).
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            KeyMaterial::Hmac { .. } => "HMAC_SHA256",
            KeyMaterial::Ed25519 { .. } => "ED25519",
        }
    }
}

/// What an API key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    /// Read the account: `GET /api/v3/account`, `openOrders`, `myTrades`.
    UserData,
    /// Place and cancel orders.
    Trade,
    /// Subscribe to the user data stream.
    UserStream,
}

impl Permission {
    /// Every permission (the default for a new account).
    pub const ALL: [Permission; 3] = [
        Permission::UserData,
        Permission::Trade,
        Permission::UserStream,
    ];
}

/// Commission rates, as fractions of the received amount (`0.001` is 0.1 %).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Commission {
    /// The rate for fills where the account's order rested on the book.
    pub maker: Fixed,
    /// The rate for fills where the account's order took liquidity.
    pub taker: Fixed,
}

/// A simulated account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSpec {
    /// The API key: 1 to 64 ASCII letters and digits, unique among accounts.
    pub api_key: String,
    /// The key that signs its requests.
    pub key: KeyMaterial,
    /// Starting balances as (asset, free amount); every other asset starts at zero.
    pub balances: Vec<(String, Fixed)>,
    /// What the key may do.
    pub permissions: Vec<Permission>,
    /// Commission rates (zero by default).
    pub commission: Commission,
}

impl AccountSpec {
    /// An account with every permission, no commission and these balances.
    #[must_use]
    pub fn new(api_key: &str, key: KeyMaterial, balances: &[(&str, Fixed)]) -> Self {
        AccountSpec {
            api_key: api_key.to_owned(),
            key,
            balances: balances
                .iter()
                .map(|(asset, amount)| ((*asset).to_owned(), *amount))
                .collect(),
            permissions: Permission::ALL.to_vec(),
            commission: Commission::default(),
        }
    }

    /// Every problem with this spec, as `accounts.<key>: …` lines.
    pub(crate) fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let name = if is_api_key(&self.api_key) {
            self.api_key.clone()
        } else {
            problems.push(format!(
                "accounts: api_key {:?} must be 1 to {MAX_API_KEY_LEN} ASCII letters or digits",
                self.api_key
            ));
            "?".to_owned()
        };
        if let Err(error) = super::auth::Verifier::new(&self.key) {
            problems.push(format!("accounts.{name}.key: {error}"));
        }
        for (asset, amount) in &self.balances {
            if asset.is_empty() || !asset.chars().all(|c| c.is_ascii_alphanumeric()) {
                problems.push(format!(
                    "accounts.{name}.balances: asset {asset:?} must be ASCII letters or digits"
                ));
            }
            if amount.0 < 0 {
                problems.push(format!(
                    "accounts.{name}.balances.{asset} = {amount} must not be negative"
                ));
            }
        }
        let rate_ok = |r: Fixed| (0..=crate::decimal::SCALE).contains(&r.0);
        if !rate_ok(self.commission.maker) || !rate_ok(self.commission.taker) {
            problems.push(format!(
                "accounts.{name}.commission: rates must be between 0 and 1"
            ));
        }
        problems
    }
}

/// True for a well-formed API key: 1 to 64 ASCII letters or digits.
pub(crate) fn is_api_key(text: &str) -> bool {
    (1..=MAX_API_KEY_LEN).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let key =
            KeyMaterial::hmac("NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j");
        let spec = AccountSpec::new("abc", key, &[("BTC", Fixed(1))]);
        let text = format!("{spec:?}");
        assert!(!text.contains("NhqPtmdSJ"), "{text}");
        assert!(text.contains("<redacted>"));
    }

    #[test]
    fn pem_public_keys_parse() {
        // The public key of RFC 8032 test 1, wrapped as an SPKI PEM block.
        let pem = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n-----END PUBLIC KEY-----\n";
        let key = KeyMaterial::ed25519_from_pem(pem).unwrap_or_else(|e| panic!("{e}"));
        let KeyMaterial::Ed25519 { public_key } = key else {
            panic!("not Ed25519");
        };
        assert_eq!(public_key[0], 0xd7);
        assert_eq!(public_key[31], 0x1a);
        assert!(KeyMaterial::ed25519_from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n").is_err());
        assert!(KeyMaterial::ed25519_from_pem("not base64 !").is_err());
    }

    #[test]
    fn api_key_format() {
        assert!(is_api_key(
            "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
        ));
        assert!(!is_api_key(""));
        assert!(!is_api_key("has space"));
        assert!(!is_api_key(&"a".repeat(65)));
    }
}

//! Exact decimals from Binance's decimal strings, and price [`Level`]s.
//!
//! Prices and quantities arrive as strings (`"0.00100000"`) and become
//! [`Decimal`]s with the same digits and the same scale, so they serialize back to
//! the very same string and compare exactly; they never pass through `f64`.
//!
//! Only plain decimals are accepted: an optional `-`, digits, and an optional `.`
//! followed by digits. Exponents, `+`, `_`, spaces, a bare `.5` or `5.` are
//! refused, as are values that do not fit a [`Decimal`] exactly (more than 28
//! digits after the point, or a magnitude of 2⁹⁶ units of the last digit or more).

use rust_decimal::Decimal;
use serde::de::{IgnoredAny, SeqAccess};
use serde::ser::{SerializeTuple as _, Serializer};

use super::symbol::shorten;
use super::wire::{Ctx, Fault, FieldSeed, Wire, WireField};

/// The largest mantissa a [`Decimal`] holds: 2⁹⁶ − 1.
const MAX_MANTISSA: u128 = (1 << 96) - 1;

/// The most digits a [`Decimal`] keeps after the point.
const MAX_SCALE: u32 = 28;

/// Digits that always fit a `u64`.
const SMALL_DIGITS: u32 = 19;

/// Parses a plain decimal string exactly, keeping its scale (`"0.0010"` has scale 4).
///
/// # Errors
/// A message saying why the text is not an exact plain decimal.
pub(crate) fn parse_decimal(text: &str) -> Result<Decimal, String> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    // The first 19 digits accumulate in a `u64` (they cannot exceed it, nor
    // a `Decimal`'s mantissa); only longer values pay for `u128` arithmetic.
    let mut small: u64 = 0;
    let mut count = 0_u32;
    let mut mantissa: u128 = 0;
    let mut scale: u32 = 0;
    let mut whole_digits = 0_usize;
    let mut point = false;
    for byte in digits.bytes() {
        match byte {
            b'0'..=b'9' if count < SMALL_DIGITS => {
                small = small * 10 + u64::from(byte - b'0');
                count += 1;
                if point {
                    scale += 1;
                } else {
                    whole_digits += 1;
                }
            }
            b'0'..=b'9' => {
                if count == SMALL_DIGITS {
                    mantissa = u128::from(small);
                }
                count += 1;
                mantissa = mantissa * 10 + u128::from(byte - b'0');
                if mantissa > MAX_MANTISSA {
                    return Err("too many significant digits for an exact decimal \
                                (at most 28, or 29 below 7.9e28)"
                        .to_owned());
                }
                if point {
                    scale += 1;
                    if scale > MAX_SCALE {
                        return Err(format!(
                            "more than {MAX_SCALE} digits after the point cannot be kept exactly"
                        ));
                    }
                } else {
                    whole_digits += 1;
                }
            }
            b'.' if !point => point = true,
            _ => return Err(not_plain()),
        }
    }
    if whole_digits == 0 || (point && scale == 0) {
        return Err(not_plain());
    }
    if count <= SMALL_DIGITS {
        mantissa = u128::from(small);
    }
    let magnitude = i128::try_from(mantissa).map_err(|_| not_plain())?;
    let mut value =
        Decimal::try_from_i128_with_scale(magnitude, scale).map_err(|e| e.to_string())?;
    // Setting the sign (rather than negating) keeps a minus zero such as `-0.000`,
    // which then prints back as it came; it still equals zero.
    value.set_sign_negative(negative);
    Ok(value)
}

fn not_plain() -> String {
    "not a plain decimal: expected digits with an optional `.` and fraction, such as `0.001`"
        .to_owned()
}

impl WireField for Decimal {
    const EXPECTED: &'static str = "a decimal string";

    fn from_str(value: &str, _ctx: &Ctx) -> Result<Self, Fault> {
        parse_decimal(value)
            .map_err(|reason| Fault::Value(format!("\"{}\" is {reason}", shorten(value))))
    }

    fn write<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// One price level of a book: `["price", "quantity"]` on the wire.
///
/// In a [`DepthUpdate`](super::DepthUpdate) the quantity is the level's new
/// absolute quantity, and zero removes the level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Level {
    /// The price.
    pub price: Decimal,
    /// The quantity at that price.
    pub quantity: Decimal,
}

impl Level {
    /// A level.
    #[must_use]
    pub const fn new(price: Decimal, quantity: Decimal) -> Self {
        Level { price, quantity }
    }

    /// True when the quantity is zero: in a diff, the level is removed.
    #[must_use]
    pub fn is_removal(&self) -> bool {
        self.quantity.is_zero()
    }
}

impl WireField for Level {
    const EXPECTED: &'static str = "a price level [\"price\", \"quantity\"]";

    fn from_seq<'de, A: SeqAccess<'de>>(mut seq: A, ctx: &Ctx) -> Result<Self, A::Error> {
        let short = || {
            Fault::Value("a price level needs two elements, [\"price\", \"quantity\"]".to_owned())
        };
        let price = seq
            .next_element_seed(FieldSeed::<Decimal>::new(ctx))?
            .ok_or_else(|| ctx.fail(short()))?;
        let quantity = seq
            .next_element_seed(FieldSeed::<Decimal>::new(ctx))?
            .ok_or_else(|| ctx.fail(short()))?;
        if seq.next_element::<IgnoredAny>()?.is_some() {
            return Err(ctx.fail(Fault::Value(
                "a price level has two elements, [\"price\", \"quantity\"]; found more".to_owned(),
            )));
        }
        Ok(Level { price, quantity })
    }

    fn write<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serde::Serialize::serialize(self, serializer)
    }
}

impl serde::Serialize for Level {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut tuple = serializer.serialize_tuple(2)?;
        tuple.serialize_element(&Wire(&self.price))?;
        tuple.serialize_element(&Wire(&self.quantity))?;
        tuple.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_value_and_scale() {
        for text in [
            "0",
            "0.001",
            "0.00100000",
            "100",
            "-1.5",
            "25776.86000000",
            "0.0000000000000000000000000001",
            "79228162514264337593543950335",
            "7.9228162514264337593543950335",
        ] {
            let parsed = parse_decimal(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(parsed.to_string(), text);
        }
        assert_eq!(parse_decimal("0.0010").map(|d| d.scale()), Ok(4));
    }

    #[test]
    fn refuses_what_is_not_a_plain_exact_decimal() {
        for text in [
            "",
            "-",
            ".",
            ".5",
            "5.",
            "1e5",
            "+1",
            "1_000",
            " 1",
            "1.2.3",
            "0x10",
            "NaN",
            "79228162514264337593543950336",
            "0.00000000000000000000000000001",
            "١٢",
            "--1",
        ] {
            assert!(parse_decimal(text).is_err(), "{text:?} was accepted");
        }
    }

    proptest::proptest! {
        /// Values around the 19-digit switch from `u64` to `u128` arithmetic keep
        /// their digits and scale (no leading zeros, so the text comes back).
        #[test]
        fn keeps_digits_across_the_u64_boundary(
            negative in proptest::bool::ANY,
            whole in "[1-9][0-9]{0,27}",
            fraction in proptest::option::of("[0-9]{1,27}"),
        ) {
            let sign = if negative { "-" } else { "" };
            let text = match &fraction {
                Some(fraction) => format!("{sign}{whole}.{fraction}"),
                None => format!("{sign}{whole}"),
            };
            let digits = whole.len() + fraction.as_ref().map_or(0, String::len);
            match parse_decimal(&text) {
                Ok(value) => {
                    proptest::prop_assert_eq!(value.to_string(), text);
                    proptest::prop_assert_eq!(
                        value.scale() as usize,
                        fraction.as_ref().map_or(0, String::len)
                    );
                }
                // Only values beyond a `Decimal`'s 96-bit mantissa are refused.
                Err(_) => proptest::prop_assert!(digits >= 29, "{} refused", text),
            }
        }
    }
}

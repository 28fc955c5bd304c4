//! Exact fixed-point decimals with eight fractional digits, as Binance prints them.

use std::fmt;

/// The number of units in one whole: Binance quotes prices and quantities with eight decimals.
pub const SCALE: i64 = 100_000_000;

/// An exact decimal with eight fractional digits, stored as an integer count of 10⁻⁸.
///
/// Prices, quantities and volumes in the simulator are `Fixed`, so a book built
/// from the simulator's payloads compares exactly with the simulator's own book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Fixed(pub i64);

impl Fixed {
    /// Zero.
    pub const ZERO: Fixed = Fixed(0);

    /// A decimal from whole units and a count of 10⁻⁸.
    #[must_use]
    pub const fn from_units(units: i64) -> Self {
        Fixed(units)
    }

    /// Parses a plain decimal such as `"60000.5"` or `"0.00100000"`.
    ///
    /// Returns `None` for anything else: signs other than a leading `-`, exponents,
    /// more than eight fractional digits, or a value out of range.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, frac) = match digits.split_once('.') {
            Some((w, f)) => (w, f),
            None => (digits, ""),
        };
        if whole.is_empty() && frac.is_empty() {
            return None;
        }
        if frac.len() > 8
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        let mut frac_units: i64 = 0;
        for (i, b) in frac.bytes().enumerate() {
            frac_units += i64::from(b - b'0') * 10_i64.pow(7 - u32::try_from(i).ok()?);
        }
        let units = whole.checked_mul(SCALE)?.checked_add(frac_units)?;
        Some(Fixed(if negative { -units } else { units }))
    }

    /// The product of two decimals, truncated to eight fractional digits.
    #[must_use]
    pub fn times(self, other: Fixed) -> Fixed {
        let product = i128::from(self.0) * i128::from(other.0) / i128::from(SCALE);
        Fixed(i64::try_from(product).unwrap_or(i64::MAX))
    }

    /// True when the value is zero.
    #[must_use]
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for Fixed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let scale = SCALE.unsigned_abs();
        write!(f, "{sign}{}.{:08}", abs / scale, abs % scale)
    }
}

impl serde::Serialize for Fixed {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// `numerator / denominator` as a decimal, or `None` when the denominator is zero.
pub(crate) fn ratio(numerator: i128, denominator: i128) -> Option<Fixed> {
    if denominator == 0 {
        return None;
    }
    i64::try_from(numerator * i128::from(SCALE) / denominator)
        .ok()
        .map(Fixed)
}

/// Formats a percentage change `(to - from) / from × 100` with three decimals, as Binance does.
pub(crate) fn percent_change(from: Fixed, to: Fixed) -> String {
    if from.0 == 0 {
        return "0.000".to_owned();
    }
    let thousandths = (i128::from(to.0) - i128::from(from.0)) * 100_000 / i128::from(from.0);
    let sign = if thousandths < 0 { "-" } else { "" };
    let abs = thousandths.unsigned_abs();
    format!("{sign}{}.{:03}", abs / 1000, abs % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_eight_decimals() {
        assert_eq!(Fixed(1).to_string(), "0.00000001");
        assert_eq!(Fixed(6_000_012_000_000).to_string(), "60000.12000000");
        assert_eq!(Fixed(-150_000_000).to_string(), "-1.50000000");
        assert_eq!(Fixed::ZERO.to_string(), "0.00000000");
    }

    #[test]
    fn parses_what_it_prints() {
        for v in [0, 1, -1, 123_456_789, 6_000_012_000_000, -99] {
            assert_eq!(Fixed::parse(&Fixed(v).to_string()), Some(Fixed(v)));
        }
        assert_eq!(Fixed::parse("0.001"), Some(Fixed(100_000)));
        assert_eq!(Fixed::parse("100"), Some(Fixed(100 * SCALE)));
        for bad in ["", ".", "1e5", "1.123456789", "+1", "abc", "1.2.3"] {
            assert_eq!(Fixed::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn percent_change_has_three_decimals() {
        assert_eq!(
            percent_change(Fixed(100 * SCALE), Fixed(250 * SCALE)),
            "150.000"
        );
        assert_eq!(
            percent_change(Fixed(99 * SCALE), Fixed(4 * SCALE)),
            "-95.959"
        );
        assert_eq!(percent_change(Fixed::ZERO, Fixed(4)), "0.000");
    }
}

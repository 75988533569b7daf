//! Overflow modes: what a fixed-point cast does with a rounded value that does not fit.
//!
//! | qforge | ap_fixed | rule |
//! |---|---|---|
//! | `Wrap { saturated_bits: 0 }` | `AP_WRAP` | keep the low `width` bits (two's complement wrap) |
//! | `Wrap { saturated_bits: n }` | `AP_WRAP, n` | wrap, then force the `n` top bits to the sign of the value |
//! | `WrapSignMagnitude { .. }` | `AP_WRAP_SM` | wrap, mirroring the magnitude (signed formats only) |
//! | `Saturate` | `AP_SAT` | clamp to `[min, max]` |
//! | `SaturateZero` | `AP_SAT_ZERO` | any overflow gives 0 |
//! | `SaturateSymmetric` | `AP_SAT_SYM` | clamp to `[-max, max]` (QONNX `narrow`) |
//!
//! ```
//! use qforge::num::overflow::OverflowMode;
//! let m: OverflowMode = "AP_WRAP".parse().unwrap();
//! assert_eq!(m, OverflowMode::Wrap { saturated_bits: 0 });
//! assert_eq!(OverflowMode::Saturate.ap_name(), "AP_SAT");
//! ```

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What a cast does with a rounded value outside the target format's range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverflowMode {
    /// Two's complement wrap (`AP_WRAP`). With `saturated_bits = n > 0`, an overflowing value
    /// keeps its low bits but its `n` most significant bits are forced: for a signed format the
    /// sign bit becomes the sign of the value and the next `n - 1` bits its complement; for an
    /// unsigned format all `n` bits become 1.
    Wrap {
        /// AP_WRAP's `N`: how many most significant bits saturate on overflow (0 = plain wrap).
        saturated_bits: u32,
    },
    /// Sign-magnitude wrap (`AP_WRAP_SM`): an overflowing value wraps its magnitude, mirrored so
    /// the sign follows the value's. Signed formats only.
    WrapSignMagnitude {
        /// AP_WRAP_SM's `N`: how many most significant bits saturate on overflow.
        saturated_bits: u32,
    },
    /// Clamp to the format's minimum and maximum (`AP_SAT`).
    Saturate,
    /// Any overflow gives zero (`AP_SAT_ZERO`).
    SaturateZero,
    /// Clamp to `[-max, max]`, never producing the most negative code (`AP_SAT_SYM`, QONNX
    /// `narrow`). For unsigned formats this is the same as [`OverflowMode::Saturate`].
    SaturateSymmetric,
}

impl OverflowMode {
    /// Plain two's complement wrap (`AP_WRAP` with `N = 0`), ap_fixed's default.
    pub const WRAP: OverflowMode = OverflowMode::Wrap { saturated_bits: 0 };

    /// The ap_fixed name of the mode, without its `N`.
    pub fn ap_name(self) -> &'static str {
        match self {
            OverflowMode::Wrap { .. } => "AP_WRAP",
            OverflowMode::WrapSignMagnitude { .. } => "AP_WRAP_SM",
            OverflowMode::Saturate => "AP_SAT",
            OverflowMode::SaturateZero => "AP_SAT_ZERO",
            OverflowMode::SaturateSymmetric => "AP_SAT_SYM",
        }
    }

    /// AP_WRAP's / AP_WRAP_SM's `N`; 0 for the saturating modes.
    pub fn saturated_bits(self) -> u32 {
        match self {
            OverflowMode::Wrap { saturated_bits }
            | OverflowMode::WrapSignMagnitude { saturated_bits } => saturated_bits,
            _ => 0,
        }
    }

    /// Parses an ap_fixed / ac_fixed overflow-mode name (`AP_SAT`, `SAT`, `AC_SAT`, ...,
    /// case-insensitive) together with its `N`. `N` must be 0 for the saturating modes, which
    /// ignore it.
    pub fn from_ap(name: &str, saturated_bits: u32) -> Result<Self, UnknownOverflowMode> {
        let upper = name.trim().to_ascii_uppercase();
        let core = upper
            .strip_prefix("AP_")
            .or_else(|| upper.strip_prefix("AC_"))
            .unwrap_or(&upper);
        let mode = match core {
            "WRAP" => OverflowMode::Wrap { saturated_bits },
            "WRAP_SM" => OverflowMode::WrapSignMagnitude { saturated_bits },
            "SAT" => OverflowMode::Saturate,
            "SAT_ZERO" => OverflowMode::SaturateZero,
            "SAT_SYM" => OverflowMode::SaturateSymmetric,
            _ => return Err(UnknownOverflowMode(name.trim().to_string())),
        };
        Ok(mode)
    }
}

impl fmt::Display for OverflowMode {
    /// The ap_fixed name, followed by `,N` when `N` is not zero (`AP_WRAP,2`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.saturated_bits() {
            0 => f.write_str(self.ap_name()),
            n => write!(f, "{},{n}", self.ap_name()),
        }
    }
}

/// An overflow-mode name that is none of ap_fixed's spellings.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown overflow mode '{0}'")]
pub struct UnknownOverflowMode(pub String);

impl FromStr for OverflowMode {
    type Err = UnknownOverflowMode;

    /// Parses a bare mode name with `N = 0` (`AP_WRAP`, `SAT_SYM`, ...).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OverflowMode::from_ap(s, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_with_and_without_prefix() {
        assert_eq!(
            "SAT".parse::<OverflowMode>().unwrap(),
            OverflowMode::Saturate
        );
        assert_eq!(
            "ap_sat_sym".parse::<OverflowMode>().unwrap(),
            OverflowMode::SaturateSymmetric
        );
        assert_eq!(
            OverflowMode::from_ap("AP_WRAP_SM", 2).unwrap(),
            OverflowMode::WrapSignMagnitude { saturated_bits: 2 }
        );
        let err = "AP_SATT".parse::<OverflowMode>().unwrap_err();
        assert_eq!(err.to_string(), "unknown overflow mode 'AP_SATT'");
    }

    #[test]
    fn display_shows_n_only_when_nonzero() {
        assert_eq!(OverflowMode::WRAP.to_string(), "AP_WRAP");
        assert_eq!(
            OverflowMode::Wrap { saturated_bits: 3 }.to_string(),
            "AP_WRAP,3"
        );
    }
}

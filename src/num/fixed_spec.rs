//! The ap_fixed spelling of a [`FixedFormat`]: parsing and printing.
//!
//! Accepted: `ap_fixed<W,I,Q,O,N>` and `ap_ufixed<W,I,Q,O,N>` with `Q`, `O`, `N` optional
//! (defaults `AP_TRN`, `AP_WRAP`, `0`, as in C++), the short forms `fixed<...>` / `ufixed<...>`,
//! modes with or without their `AP_` prefix (`RND`, `SAT`), and `ap_int<W>` / `ap_uint<W>`.
//! Printing gives the ap_fixed spelling with trailing defaults left out, so hls4ml users can
//! paste it back: `ap_fixed<16,6>`, `ap_fixed<8,3,AP_RND_CONV,AP_SAT>`, `ap_fixed<8,3,AP_TRN,AP_WRAP,2>`.
//! Rounding modes ap_fixed lacks print under their qforge names (`ceil`, `away_from_zero`).
//!
//! ```
//! use qforge::num::fixed::FixedFormat;
//! let f: FixedFormat = "fixed<8,3,RND,SAT>".parse().unwrap();
//! assert_eq!(f.to_string(), "ap_fixed<8,3,AP_RND,AP_SAT>");
//! let e = "ap_fixed<8,x>".parse::<FixedFormat>().unwrap_err();
//! assert_eq!(e.to_string(), "bad format 'ap_fixed<8,x>': int_bits 'x' is not an integer");
//! ```

use crate::num::fixed::{FixedError, FixedFormat};
use crate::num::overflow::OverflowMode;
use crate::num::rounding::RoundingMode;
use std::fmt;
use std::str::FromStr;

/// What is wrong with a format spelling.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SpecProblem {
    /// A line break, tab or other control character (a format spelling is one line).
    #[error("a format spelling is one line without control characters")]
    ControlCharacter,
    /// The type name is none of the accepted ones.
    #[error("unknown type '{0}' (expected ap_fixed, ap_ufixed, fixed, ufixed, ap_int or ap_uint)")]
    UnknownType(String),
    /// No `<...>` parameter list.
    #[error("expected parameters in angle brackets, e.g. ap_fixed<8,3>")]
    NoParameters,
    /// Too few or too many parameters.
    #[error("{type_name} takes {expected}, found {found}")]
    ParameterCount {
        /// The type name as written.
        type_name: String,
        /// The accepted counts, e.g. "2 to 5 parameters".
        expected: &'static str,
        /// How many were given.
        found: usize,
    },
    /// A numeric field that is not an integer.
    #[error("{field} '{text}' is not an integer")]
    NotAnInteger {
        /// The field's name.
        field: &'static str,
        /// The text found.
        text: String,
    },
    /// An unknown quantization mode.
    #[error("unknown rounding mode '{0}'")]
    UnknownRounding(String),
    /// An unknown overflow mode.
    #[error("unknown overflow mode '{0}'")]
    UnknownOverflow(String),
    /// `N` given with a mode that does not use it.
    #[error("saturated bits ({0}) apply only to AP_WRAP and AP_WRAP_SM")]
    SaturatedBitsUnused(u32),
    /// The fields parse but break a format rule.
    #[error("{0}")]
    Invalid(Box<FixedError>),
}

impl FromStr for FixedFormat {
    type Err = FixedError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.chars().any(char::is_control) {
            return Err(FixedError::BadSpec {
                spec: s.escape_debug().to_string(),
                problem: SpecProblem::ControlCharacter,
            });
        }
        parse(s).map_err(|problem| FixedError::BadSpec {
            spec: s.to_string(),
            problem,
        })
    }
}

fn parse(s: &str) -> Result<FixedFormat, SpecProblem> {
    let text = s.trim();
    let (name, rest) = match text.find('<') {
        Some(i) => (text[..i].trim(), &text[i + 1..]),
        None => {
            return Err(if type_kind(text).is_some() {
                SpecProblem::NoParameters
            } else {
                SpecProblem::UnknownType(text.to_string())
            })
        }
    };
    let (is_int, signed) =
        type_kind(name).ok_or_else(|| SpecProblem::UnknownType(name.to_string()))?;
    let inner = rest
        .trim_end()
        .strip_suffix('>')
        .ok_or(SpecProblem::NoParameters)?;
    let fields: Vec<&str> = inner.split(',').map(str::trim).collect();
    let count_error = |expected| SpecProblem::ParameterCount {
        type_name: name.to_string(),
        expected,
        found: fields.len(),
    };
    let invalid = |e| SpecProblem::Invalid(Box::new(e));
    if is_int {
        if fields.len() != 1 {
            return Err(count_error("1 parameter"));
        }
        let width = integer::<u32>("width", fields[0])?;
        return FixedFormat::int(width, signed).map_err(invalid);
    }
    if !(2..=5).contains(&fields.len()) {
        return Err(count_error("2 to 5 parameters"));
    }
    let width = integer::<u32>("width", fields[0])?;
    let int_bits = integer::<i32>("int_bits", fields[1])?;
    let rounding = match fields.get(2) {
        None => RoundingMode::Floor,
        Some(q) => q
            .parse::<RoundingMode>()
            .map_err(|_| SpecProblem::UnknownRounding(q.to_string()))?,
    };
    let saturated_bits = match fields.get(4) {
        None => 0,
        Some(n) => integer::<u32>("saturated bits", n)?,
    };
    let overflow = match fields.get(3) {
        None => OverflowMode::WRAP,
        Some(o) => OverflowMode::from_ap(o, saturated_bits)
            .map_err(|e| SpecProblem::UnknownOverflow(e.0))?,
    };
    if saturated_bits != overflow.saturated_bits() {
        return Err(SpecProblem::SaturatedBitsUnused(saturated_bits));
    }
    FixedFormat::new(width, int_bits, signed, rounding, overflow).map_err(invalid)
}

/// `(is_integer_type, signed)` for an accepted type name.
fn type_kind(name: &str) -> Option<(bool, bool)> {
    Some(match name {
        "ap_fixed" | "fixed" => (false, true),
        "ap_ufixed" | "ufixed" => (false, false),
        "ap_int" => (true, true),
        "ap_uint" => (true, false),
        _ => return None,
    })
}

fn integer<T: FromStr>(field: &'static str, text: &str) -> Result<T, SpecProblem> {
    text.parse::<T>().map_err(|_| SpecProblem::NotAnInteger {
        field,
        text: text.to_string(),
    })
}

impl fmt::Display for FixedFormat {
    /// The ap_fixed spelling with trailing defaults left out (`ap_fixed<16,6>`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = if self.is_signed() {
            "ap_fixed"
        } else {
            "ap_ufixed"
        };
        write!(f, "{name}<{},{}", self.width(), self.int_bits())?;
        let default_modes =
            self.rounding() == RoundingMode::Floor && self.overflow() == OverflowMode::WRAP;
        if !default_modes {
            let q = self
                .rounding()
                .ap_name()
                .unwrap_or_else(|| self.rounding().name());
            write!(f, ",{q},{}", self.overflow())?;
        }
        f.write_str(">")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(s: &str) -> String {
        s.parse::<FixedFormat>().unwrap_err().to_string()
    }

    #[test]
    fn spellings_parse_to_the_same_format() {
        let full: FixedFormat = "ap_fixed<8,3,AP_RND_CONV,AP_SAT,0>".parse().unwrap();
        for s in [
            "ap_fixed<8,3,AP_RND_CONV,AP_SAT>",
            "fixed<8,3,RND_CONV,SAT>",
            " ap_fixed< 8 , 3 , AP_RND_CONV , AP_SAT > ",
        ] {
            assert_eq!(s.parse::<FixedFormat>().unwrap(), full, "{s}");
        }
        let int: FixedFormat = "ap_int<8>".parse().unwrap();
        assert_eq!(int, "ap_fixed<8,8,AP_TRN,AP_WRAP,0>".parse().unwrap());
        let uint: FixedFormat = "ap_uint<5>".parse().unwrap();
        assert_eq!(uint, "ufixed<5,5>".parse().unwrap());
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "ap_fixed<16,6>",
            "ap_ufixed<8,-2,AP_RND,AP_SAT_SYM>",
            "ap_fixed<8,3,AP_RND_CONV,AP_WRAP,2>",
            "ap_fixed<8,9,AP_TRN,AP_WRAP_SM,1>",
            "ap_fixed<4,2,ceil,AP_SAT_ZERO>",
            "ap_fixed<4,2,AC_RND_CONV_ODD,AP_SAT>",
        ] {
            let f: FixedFormat = s.parse().unwrap();
            assert_eq!(f.to_string(), s);
        }
    }

    #[test]
    fn serde_uses_the_ap_spelling() {
        let f: FixedFormat = "ap_fixed<8,3,AP_RND_CONV,AP_SAT>".parse().unwrap();
        let json = serde_json::to_string(&f).unwrap();
        assert_eq!(json, "\"ap_fixed<8,3,AP_RND_CONV,AP_SAT>\"");
        assert_eq!(serde_json::from_str::<FixedFormat>(&json).unwrap(), f);
        let bad = serde_json::from_str::<FixedFormat>("\"ap_fixed<0,0>\"").unwrap_err();
        assert!(bad
            .to_string()
            .contains("width (0) must be between 1 and 64"));
    }

    #[test]
    fn errors_name_the_bad_field() {
        assert_eq!(
            err("ap_fixed<8,x>"),
            "bad format 'ap_fixed<8,x>': int_bits 'x' is not an integer"
        );
        assert_eq!(
            err("ap_fixed<y,3>"),
            "bad format 'ap_fixed<y,3>': width 'y' is not an integer"
        );
        assert_eq!(
            err("ap_fixed<8,3,AP_RND,AP_SATT>"),
            "bad format 'ap_fixed<8,3,AP_RND,AP_SATT>': unknown overflow mode 'AP_SATT'"
        );
        assert_eq!(
            err("ap_fixed<8,3,AP_RNDD>"),
            "bad format 'ap_fixed<8,3,AP_RNDD>': unknown rounding mode 'AP_RNDD'"
        );
        assert_eq!(
            err("ap_fixed<8,3,AP_RND,AP_WRAP,z>"),
            "bad format 'ap_fixed<8,3,AP_RND,AP_WRAP,z>': saturated bits 'z' is not an integer"
        );
        assert_eq!(
            err("ap_fixed<0,0>"),
            "bad format 'ap_fixed<0,0>': width (0) must be between 1 and 64"
        );
        assert_eq!(
            err("ap_fixed<65,3>"),
            "bad format 'ap_fixed<65,3>': width (65) must be between 1 and 64"
        );
        assert_eq!(
            err("ap_int<65>"),
            "bad format 'ap_int<65>': width (65) must be between 1 and 64"
        );
        assert!(err("ap_fixed<8>").contains("takes 2 to 5 parameters, found 1"));
        assert!(err("ap_fixed<8,3,AP_TRN,AP_SAT,1>").contains("apply only to AP_WRAP"));
        assert!(err("ap_fixed<4,3,AP_TRN,AP_WRAP,5>").contains("saturated bits (5)"));
        assert!(err("ap_ufixed<4,3,AP_TRN,AP_WRAP_SM>").contains("needs a signed format"));
        assert!(err("float<8,3>").contains("unknown type 'float'"));
        assert!(err("ap_fixed").contains("angle brackets"));
        assert!(err("ap_fixed<8,3").contains("angle brackets"));
        assert!(err("ap_fixed<8,99999>").contains("int_bits (99999) must be between"));
    }
}

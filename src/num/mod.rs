//! Exact number formats. Nothing here imports any other qforge module.
//!
//! Values are integers with a format; arithmetic is exact (`i128` intermediates) until a cast
//! says otherwise. [`rounding`] holds the rounding modes shared by every format; [`codes`] holds
//! the integer encodings of non-uniform weights (power-of-two, APoT, binary, ternary) that the
//! quantizers produce and the processing elements consume, and [`weights`] the one weight-code
//! type (a scheme family with its widths, levels and limits) built on them. [`fixed`] holds fixed-point formats
//! with run-time widths, cast bit-exactly as Xilinx `ap_fixed` casts, with their [`overflow`]
//! modes; [`dyadic`] holds the exact values `m · 2^e` that casts consume and that print as exact
//! decimals, and [`exact_value`] the exact values `m · 2^e / d` (odd `d`) that APoT levels need.
//!
//! ```
//! use qforge::num::rounding::{div_round, RoundingMode};
//! // -2.5 rounded half away from zero is -3; half to +inf is -2.
//! assert_eq!(div_round(-5, 2, RoundingMode::HalfAwayFromZero), -3);
//! assert_eq!(div_round(-5, 2, RoundingMode::HalfToPosInf), -2);
//!
//! use qforge::num::fixed::FixedFormat;
//! let f: FixedFormat = "ap_fixed<8,3,AP_RND_CONV,AP_SAT>".parse().unwrap();
//! assert_eq!(f.cast_f64(100.0).unwrap().to_string(), "3.96875");
//! ```

pub mod codes;
pub mod dyadic;
pub mod exact_value;
pub mod fixed;
mod fixed_spec;
mod fixed_value;
pub mod overflow;
pub mod rounding;
pub mod weights;

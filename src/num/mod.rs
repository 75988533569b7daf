//! Exact number formats. Nothing here imports any other qforge module.
//!
//! Values are integers with a format; arithmetic is exact (`i128` intermediates) until a cast
//! says otherwise. [`rounding`] holds the rounding modes shared by every format; [`codes`] holds
//! the integer encodings of non-uniform weights (power-of-two, APoT, binary, ternary) that the
//! quantizers produce and the processing elements consume.
//!
//! ```
//! use qforge::num::rounding::{div_round, RoundingMode};
//! // -2.5 rounded half away from zero is -3; half to +inf is -2.
//! assert_eq!(div_round(-5, 2, RoundingMode::HalfAwayFromZero), -3);
//! assert_eq!(div_round(-5, 2, RoundingMode::HalfToPosInf), -2);
//! ```

pub mod codes;
pub mod rounding;

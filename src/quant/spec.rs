//! Spellings of the QONNX-integer, power-of-two and APoT number types for `qforge cast`, and the
//! exact cast of one value to each.
//!
//! A spelling is `family<key=value,...>`; keys may come in any order, whitespace around keys and
//! values is ignored, booleans are `1`/`0`/`true`/`false`, and keys with a default may be left out.
//!
//! | spelling | keys (default) | code | value |
//! |---|---|---|---|
//! | `intquant<bits=4,signed=1,narrow=0,rounding=ROUND,scale=0.25,zeropt=0>` | `bits` (required, 1..=32; alias `bitwidth`), `signed` (1), `narrow` (0), `rounding` (ROUND; any QONNX name ROUND, CEIL, FLOOR, UP, DOWN, HALF_UP, HALF_DOWN, or a qforge name; alias `rounding_mode`), `scale` (1), `zeropt` (0, an integer) | `q = clamp(round(x / scale + zeropt))` | `(q − zeropt) × scale` |
//! | `pot<exp_bits=3,signed=1,zero=1,e_min=-4,domain=linear>` | `exp_bits` (required, 1..=6), `signed` (1), `zero` (1: exponent field 0 is the zero code), `e_min` (0), `domain` (`linear` or `log2`; linear), `alpha` (1) | the [`PotFormat`] bit pattern | `level × 2^e_min × alpha` |
//! | `apot<term_bits=2,terms=2,signed=1,alpha=1.0>` | `term_bits` (required, 1..=4), `terms` (required, 1..=4), `signed` (1), `alpha` (1: the value of the largest level) | the [`ApotFormat`] bit pattern | `level × alpha / max_level` |
//!
//! The value is exact: a dyadic rational for `intquant` and `pot` (printed as a finite decimal),
//! and for `apot` a dyadic rational divided by the odd part of `max_level` (printed as a decimal
//! when that divides out, else as a fraction such as `1/48`). Projection rules are those of
//! [`super::intquant`], [`super::pot`] and [`super::apot`].
//!
//! ```
//! use qforge::quant::spec::parse_spec;
//! let s = parse_spec("intquant<bits=4,scale=0.1875,rounding=HALF_UP>").unwrap();
//! let r = s.cast(0.28125).unwrap(); // 0.28125 / 0.1875 = 1.5 → 2
//! assert_eq!((r.code, r.value.to_string()), (2, "0.375".to_string()));
//!
//! let p = parse_spec("pot<exp_bits=3,e_min=-4,domain=log2>").unwrap();
//! assert_eq!(p.cast(0.09).unwrap().value.to_string(), "0.125"); // 0.09 > √2/16 ≈ 0.0884
//!
//! let a = parse_spec("apot<term_bits=2,terms=2>").unwrap();
//! assert_eq!(a.cast(0.02).unwrap().value.to_string(), "1/48");
//! ```

use super::apot::{ApotConfig, ApotQuantizer};
use super::error::QuantError;
use super::intquant::IntQuant;
use super::pot::{ExponentRange, PotConfig, PotDomain};
use crate::num::codes::{ApotFormat, PotFormat};
use crate::num::dyadic::Dyadic;
use crate::num::exact_value::ExactValue;
use crate::num::rounding::RoundingMode;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// A spelling that does not parse, or a value that cannot be cast.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SpecError {
    /// A line break, tab or other control character (a spelling is one line).
    #[error("spec '{spec}' has a line break or control character: a spelling is one line")]
    ControlCharacter {
        /// The text given, control characters escaped.
        spec: String,
    },
    /// Not `family<...>`.
    #[error("spec '{spec}' must have the form family<key=value,...>")]
    Syntax {
        /// The text given.
        spec: String,
    },
    /// A family other than `intquant`, `pot`, `apot`.
    #[error("unknown number type '{0}' (expected intquant, pot or apot)")]
    UnknownFamily(String),
    /// An entry without `=`.
    #[error("entry '{entry}' must have the form key=value")]
    BadEntry {
        /// The entry.
        entry: String,
    },
    /// A key the family does not have.
    #[error("unknown key '{key}' for {family} (expected one of {expected})")]
    UnknownKey {
        /// The family.
        family: &'static str,
        /// The key.
        key: String,
        /// The family's keys.
        expected: &'static str,
    },
    /// A key given twice.
    #[error("key '{key}' is given more than once")]
    DuplicateKey {
        /// The key.
        key: String,
    },
    /// A required key left out.
    #[error("{family} needs the key '{key}'")]
    MissingKey {
        /// The family.
        family: &'static str,
        /// The key.
        key: &'static str,
    },
    /// A value that does not parse or breaks a rule.
    #[error("{key} ({value}) {rule}")]
    BadValue {
        /// The key.
        key: String,
        /// The value as written.
        value: String,
        /// The rule.
        rule: &'static str,
    },
    /// A parameter rejected by the quantizer.
    #[error(transparent)]
    Quant(#[from] QuantError),
}

/// A power-of-two number type with a fixed exponent range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PotSpec {
    /// The quantizer (its exponent range is [`ExponentRange::Fixed`]).
    pub config: PotConfig,
    /// The smallest exponent.
    pub e_min: i32,
}

/// A parsed `intquant<…>`, `pot<…>` or `apot<…>` spelling.
#[derive(Clone, Debug, PartialEq)]
pub enum QuantSpec {
    /// QONNX `IntQuant`.
    IntQuant(IntQuant),
    /// Power of two.
    Pot(PotSpec),
    /// Additive powers of two with a fixed `alpha`.
    Apot(ApotQuantizer),
}

/// The result of casting one value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CastResult {
    /// The raw integer code (for `intquant` the integer `q`; otherwise the bit pattern).
    pub code: i64,
    /// The integer level the code stands for (`q` itself for `intquant`).
    pub level: i64,
    /// The exact real value.
    pub value: ExactValue,
}

const INTQUANT_KEYS: &str = "bits, signed, narrow, rounding, scale, zeropt";
const POT_KEYS: &str = "exp_bits, signed, zero, e_min, domain, alpha";
const APOT_KEYS: &str = "term_bits, terms, signed, alpha";

/// Parses a spelling from the table in the module docs.
pub fn parse_spec(s: &str) -> Result<QuantSpec, SpecError> {
    if s.chars().any(char::is_control) {
        return Err(SpecError::ControlCharacter {
            spec: s.escape_debug().to_string(),
        });
    }
    let text = s.trim();
    let syntax = || SpecError::Syntax {
        spec: text.to_string(),
    };
    let open = text.find('<').ok_or_else(syntax)?;
    let body = text[open + 1..].strip_suffix('>').ok_or_else(syntax)?;
    let family = text[..open].trim().to_ascii_lowercase();
    if !["intquant", "pot", "apot"].contains(&family.as_str()) {
        return Err(SpecError::UnknownFamily(text[..open].trim().to_string()));
    }
    let mut entries = Entries::parse(body)?;
    let spec = match family.as_str() {
        "intquant" => {
            entries.check_keys(
                "intquant",
                INTQUANT_KEYS,
                &[("bitwidth", "bits"), ("rounding_mode", "rounding")],
            )?;
            let bits = entries.required("intquant", "bits", parse_int::<u32>)?;
            let signed = entries.optional("signed", parse_bool)?.unwrap_or(true);
            let narrow = entries.optional("narrow", parse_bool)?.unwrap_or(false);
            let rounding = entries
                .optional("rounding", parse_rounding)?
                .unwrap_or(RoundingMode::HalfEven);
            let scale = entries.optional("scale", parse_f64)?.unwrap_or(1.0);
            let zeropt = entries.optional("zeropt", parse_int::<i64>)?.unwrap_or(0);
            QuantSpec::IntQuant(IntQuant::new(
                bits, signed, narrow, rounding, scale, zeropt,
            )?)
        }
        "pot" => {
            entries.check_keys("pot", POT_KEYS, &[])?;
            let exp_bits = entries.required("pot", "exp_bits", parse_int::<u32>)?;
            let signed = entries.optional("signed", parse_bool)?.unwrap_or(true);
            let zero = entries.optional("zero", parse_bool)?.unwrap_or(true);
            let e_min = entries.optional("e_min", parse_int::<i32>)?.unwrap_or(0);
            let domain = entries
                .optional("domain", parse_domain)?
                .unwrap_or(PotDomain::Linear);
            let alpha = entries.optional("alpha", parse_f64)?.unwrap_or(1.0);
            let format = PotFormat::new(exp_bits, signed, zero).map_err(QuantError::from)?;
            let config = PotConfig::new(format, domain, ExponentRange::Fixed { e_min }, alpha)?;
            QuantSpec::Pot(PotSpec { config, e_min })
        }
        "apot" => {
            entries.check_keys("apot", APOT_KEYS, &[])?;
            let term_bits = entries.required("apot", "term_bits", parse_int::<u32>)?;
            let terms = entries.required("apot", "terms", parse_int::<u32>)?;
            let signed = entries.optional("signed", parse_bool)?.unwrap_or(true);
            let alpha = entries.optional("alpha", parse_f64)?.unwrap_or(1.0);
            QuantSpec::Apot(ApotQuantizer::new(&ApotConfig {
                term_bits,
                terms,
                signed,
                alpha: Some(alpha),
            })?)
        }
        _ => return Err(SpecError::UnknownFamily(text[..open].trim().to_string())),
    };
    Ok(spec)
}

impl FromStr for QuantSpec {
    type Err = SpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_spec(s)
    }
}

impl QuantSpec {
    /// Casts `x` exactly: its code, level and real value.
    pub fn cast(&self, x: f64) -> Result<CastResult, SpecError> {
        let xd = Dyadic::from_f64(x).map_err(|_| SpecError::BadValue {
            key: "input".into(),
            value: x.to_string(),
            rule: "must be finite",
        })?;
        let out_of_range = || SpecError::BadValue {
            key: "input".into(),
            value: x.to_string(),
            rule: "gives a value out of range",
        };
        match self {
            QuantSpec::IntQuant(q) => {
                let r = q.quantize(x)?;
                Ok(CastResult {
                    code: r.code,
                    level: r.code,
                    value: ExactValue::from_dyadic(r.value),
                })
            }
            QuantSpec::Pot(p) => {
                let code = p.config.project_exact(xd, p.e_min)?;
                let level = p.config.format.level(code as u64);
                let alpha = Dyadic::from_f64(p.config.alpha).map_err(|_| out_of_range())?;
                let value = Dyadic::from_int(i128::from(level))
                    .checked_mul(alpha)
                    .and_then(|v| v.mul_pow2(p.e_min))
                    .ok_or_else(out_of_range)?;
                Ok(CastResult {
                    code,
                    level,
                    value: ExactValue::from_dyadic(value),
                })
            }
            QuantSpec::Apot(q) => {
                let alpha = q.config().alpha.unwrap_or(1.0);
                let code = q.project_exact(xd, alpha)?;
                let level = q.format().level(code as u64);
                let numerator = Dyadic::from_int(i128::from(level))
                    .checked_mul(Dyadic::from_f64(alpha).map_err(|_| out_of_range())?)
                    .ok_or_else(out_of_range)?;
                let value =
                    ExactValue::new(numerator, q.max_level() as u64).ok_or_else(out_of_range)?;
                Ok(CastResult { code, level, value })
            }
        }
    }

    /// The code width in bits.
    pub fn width(&self) -> u32 {
        match self {
            QuantSpec::IntQuant(q) => q.bitwidth,
            QuantSpec::Pot(p) => p.config.format.width(),
            QuantSpec::Apot(q) => ApotFormat::width(q.format()),
        }
    }
}

impl fmt::Display for QuantSpec {
    /// The canonical spelling, with every key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = |v: bool| u8::from(v);
        match self {
            QuantSpec::IntQuant(q) => write!(
                f,
                "intquant<bits={},signed={},narrow={},rounding={},scale={},zeropt={}>",
                q.bitwidth,
                b(q.signed),
                b(q.narrow),
                q.rounding_mode
                    .qonnx_name()
                    .unwrap_or(q.rounding_mode.name()),
                q.scale,
                q.zeropt
            ),
            QuantSpec::Pot(p) => write!(
                f,
                "pot<exp_bits={},signed={},zero={},e_min={},domain={},alpha={}>",
                p.config.format.exp_bits,
                b(p.config.format.signed),
                b(p.config.format.zero_code),
                p.e_min,
                match p.config.domain {
                    PotDomain::Linear => "linear",
                    PotDomain::Log2 => "log2",
                },
                p.config.alpha
            ),
            QuantSpec::Apot(q) => {
                let c = q.config();
                write!(
                    f,
                    "apot<term_bits={},terms={},signed={},alpha={}>",
                    c.term_bits,
                    c.terms,
                    b(c.signed),
                    c.alpha.unwrap_or(1.0)
                )
            }
        }
    }
}

/// The `key=value` entries of a spelling.
struct Entries(BTreeMap<String, String>);

impl Entries {
    fn parse(body: &str) -> Result<Self, SpecError> {
        let mut map = BTreeMap::new();
        for entry in body.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (key, value) = entry.split_once('=').ok_or_else(|| SpecError::BadEntry {
                entry: entry.to_string(),
            })?;
            let key = key.trim().to_ascii_lowercase();
            if map.insert(key.clone(), value.trim().to_string()).is_some() {
                return Err(SpecError::DuplicateKey { key });
            }
        }
        Ok(Entries(map))
    }

    /// Renames aliases and rejects unknown keys.
    fn check_keys(
        &mut self,
        family: &'static str,
        expected: &'static str,
        aliases: &[(&str, &str)],
    ) -> Result<(), SpecError> {
        for &(alias, key) in aliases {
            if let Some(v) = self.0.remove(alias) {
                if self.0.insert(key.to_string(), v).is_some() {
                    return Err(SpecError::DuplicateKey {
                        key: key.to_string(),
                    });
                }
            }
        }
        let known: Vec<&str> = expected.split(", ").collect();
        match self.0.keys().find(|k| !known.contains(&k.as_str())) {
            Some(key) => Err(SpecError::UnknownKey {
                family,
                key: key.clone(),
                expected,
            }),
            None => Ok(()),
        }
    }

    fn optional<T>(
        &self,
        key: &'static str,
        parse: fn(&str) -> Result<T, &'static str>,
    ) -> Result<Option<T>, SpecError> {
        self.0
            .get(key)
            .map(|v| {
                parse(v).map_err(|rule| SpecError::BadValue {
                    key: key.to_string(),
                    value: v.clone(),
                    rule,
                })
            })
            .transpose()
    }

    fn required<T>(
        &self,
        family: &'static str,
        key: &'static str,
        parse: fn(&str) -> Result<T, &'static str>,
    ) -> Result<T, SpecError> {
        self.optional(key, parse)?
            .ok_or(SpecError::MissingKey { family, key })
    }
}

fn parse_int<T: FromStr>(s: &str) -> Result<T, &'static str> {
    s.parse().map_err(|_| "must be an integer in range")
}

fn parse_bool(s: &str) -> Result<bool, &'static str> {
    match s.to_ascii_lowercase().as_str() {
        "1" | "true" => Ok(true),
        "0" | "false" => Ok(false),
        _ => Err("must be 1, 0, true or false"),
    }
}

fn parse_f64(s: &str) -> Result<f64, &'static str> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err("must be a finite number"),
    }
}

fn parse_rounding(s: &str) -> Result<RoundingMode, &'static str> {
    RoundingMode::from_qonnx(s)
        .or_else(|| s.parse().ok())
        .ok_or("must be a QONNX rounding mode (ROUND, CEIL, FLOOR, UP, DOWN, HALF_UP, HALF_DOWN) or a qforge one")
}

fn parse_domain(s: &str) -> Result<PotDomain, &'static str> {
    match s.to_ascii_lowercase().as_str() {
        "linear" => Ok(PotDomain::Linear),
        "log2" => Ok(PotDomain::Log2),
        _ => Err("must be linear or log2"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_key_order() {
        let a = parse_spec("intquant<bits=4>").unwrap();
        let b = parse_spec(
            " intquant< zeropt=0 , scale=1, rounding=ROUND, narrow=0, signed=1, bits=4 >",
        )
        .unwrap();
        assert_eq!(a, b);
        assert_eq!(
            a.to_string(),
            "intquant<bits=4,signed=1,narrow=0,rounding=ROUND,scale=1,zeropt=0>"
        );
        assert_eq!(parse_spec(&a.to_string()).unwrap(), a);
    }

    #[test]
    fn canonical_spellings_round_trip() {
        for s in [
            "pot<exp_bits=3,signed=1,zero=1,e_min=-4,domain=log2,alpha=1>",
            "apot<term_bits=2,terms=2,signed=0,alpha=0.75>",
            "intquant<bits=8,signed=0,narrow=1,rounding=HALF_DOWN,scale=0.1875,zeropt=-3>",
        ] {
            assert_eq!(parse_spec(s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn errors_name_the_bad_part() {
        let e = |s| parse_spec(s).unwrap_err().to_string();
        assert_eq!(
            e("intquant<bits=0>"),
            "bitwidth (0) must be between 1 and 32"
        );
        assert_eq!(e("intquant<signed=1>"), "intquant needs the key 'bits'");
        assert_eq!(
            e("intquant<bits=4,rounding=NEAREST>"),
            "rounding (NEAREST) must be a QONNX rounding mode (ROUND, CEIL, FLOOR, UP, DOWN, HALF_UP, HALF_DOWN) or a qforge one"
        );
        assert_eq!(
            e("pot<exp_bits=3,base=2>"),
            "unknown key 'base' for pot (expected one of exp_bits, signed, zero, e_min, domain, alpha)"
        );
        assert_eq!(e("pot<exp_bits=7>"), "exp_bits (7) must be between 1 and 6");
        assert_eq!(
            e("pot<exp_bits=3,domain=ln>"),
            "domain (ln) must be linear or log2"
        );
        assert_eq!(
            e("apot<term_bits=2,terms=2,alpha=0>"),
            "alpha (0) must be positive and finite"
        );
        assert_eq!(
            e("apot<term_bits=2,terms=2,terms=3>"),
            "key 'terms' is given more than once"
        );
        assert_eq!(
            e("intquant<bits=4,zeropt=1.5>"),
            "zeropt (1.5) must be an integer in range"
        );
        assert_eq!(
            e("ap_fixed<8,3>"),
            "unknown number type 'ap_fixed' (expected intquant, pot or apot)"
        );
        assert_eq!(
            e("intquant<bits=4"),
            "spec 'intquant<bits=4' must have the form family<key=value,...>"
        );
        assert_eq!(
            e("intquant<bits>"),
            "entry 'bits' must have the form key=value"
        );
    }

    #[test]
    fn intquant_cast_by_hand() {
        // 5-bit signed narrow FLOOR, scale 3/16, zeropt -3: 1.96875/0.1875 - 3 = 7.5 → 7,
        // value (7 + 3) · 0.1875 = 1.875 (a line of the qonnx golden file).
        let s =
            parse_spec("intquant<bits=5,narrow=1,rounding=FLOOR,scale=0.1875,zeropt=-3>").unwrap();
        let r = s.cast(1.96875).unwrap();
        assert_eq!((r.code, r.level), (7, 7));
        assert_eq!(r.value.to_string(), "1.875");
        // clamped: 100 / 0.1875 - 3 ≫ 15
        assert_eq!(s.cast(100.0).unwrap().code, 15);
        assert_eq!(s.cast(100.0).unwrap().value.to_string(), "3.375");
    }

    #[test]
    fn pot_cast_by_hand() {
        // 3 exponent bits with a zero code: shifts 0..=6, levels ±2^j · 2^-4.
        let lin = parse_spec("pot<exp_bits=3,e_min=-4>").unwrap();
        let log = parse_spec("pot<exp_bits=3,e_min=-4,domain=log2>").unwrap();
        // 0.09 = 1.44 units: linear → 1 unit (boundary 1.5), log2 → 2 units (boundary √2)
        assert_eq!(lin.cast(0.09).unwrap().value.to_string(), "0.0625");
        let r = log.cast(0.09).unwrap();
        assert_eq!(
            (r.code, r.level, r.value.to_string()),
            (0b0010, 2, "0.125".to_string())
        );
        // -0.03125 = half a unit: a tie, goes to the larger magnitude → code sign|field 1
        let r = lin.cast(-0.03125).unwrap();
        assert_eq!((r.code, r.level), (0b1001, -1));
        // 100 clamps to the largest level 2^6 units = 4
        assert_eq!(lin.cast(100.0).unwrap().value.to_string(), "4");
        assert_eq!(lin.cast(0.0).unwrap().code, 0);
    }

    #[test]
    fn apot_cast_by_hand() {
        // 2×2 bits: levels (×1/48) 0 1 2 3 4 6 8 9 12 16 18 24 32 33 36 48.
        let s = parse_spec("apot<term_bits=2,terms=2,alpha=1.5>").unwrap();
        // 0.5 = 16/48 → level 16 = term1 field 1 (2^4) → code 0b01_00; value 16·1.5/48 = 0.5
        let r = s.cast(0.5).unwrap();
        assert_eq!(
            (r.code, r.level, r.value.to_string()),
            (0b0100, 16, "0.5".to_string())
        );
        // -0.3 = -9.6/48 → nearest 9 = 8 + 1 (term0 field 2, term1 field 3) → sign|11|10
        let r = s.cast(-0.3).unwrap();
        assert_eq!((r.code, r.level), (0b1_11_10, -9));
        assert_eq!(r.value.to_string(), "-0.28125"); // -9 · 1.5 / 48
                                                     // 1/48 · 1.5 = 1/32
        assert_eq!(s.cast(0.03).unwrap().value.to_string(), "0.03125");
        let one = parse_spec("apot<term_bits=2,terms=2>").unwrap();
        assert_eq!(one.cast(0.67).unwrap().value.to_string(), "2/3"); // 32.16/48 → 32/48
    }
}

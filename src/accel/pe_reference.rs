//! The reference PE of a formal proof: the same ports and the same function as a generated PE,
//! built the plainest way, from multipliers. Each lane decodes its weight code through a table of
//! every code's level ([`Lane::level`](super::Lane::level), the level the hardware is meant to
//! compute) and its activation code to an integer, multiplies the two, and the lanes' products
//! are summed at a width no sum can overflow; the accumulator then adds the sum to itself (or,
//! on `clear`, to zero) and wraps or saturates once, as [`PeParams::fit`] states. None of the
//! kind's shifters, sign tricks, XNOR-popcounts or adder trees is reused, so a proof that the
//! generated PE equals this one for all inputs and all cycles checks the kind's datapath against
//! its definition (see [`crate::verify::prove`]).
//!
//! ```
//! use qforge::accel::{Overflow, PeParams, Unit};
//! use qforge::accel::pe_reference::reference_pe;
//! use qforge::num::weights::WeightCode;
//! let pe = PeParams::new(WeightCode::pot(3, true, true).unwrap(), 8, true, 4, 20, Overflow::Wrap).unwrap();
//! let reference = reference_pe(&pe).unwrap();
//! assert_eq!(reference.name, "qf_ref_pe_pot_a8_e3_s4_acc20_wrap");
//! assert_eq!(reference.ports, pe.ports());
//! ```

use super::pe::{signed_bits, Overflow, PeParams};
use super::stream::header;
use super::unit::{Unit, UnitError};
use crate::hdl::{Dir, Expr, Module, ModuleBuilder, Ty};
use crate::num::weights::WeightCode;
use std::collections::BTreeMap;

/// The widest weight code whose level table the reference spells out (1,024 entries a lane).
pub const MAX_TABLE_BITS: u32 = 10;

/// The reference PE of `pe`, named `qf_ref_<pe's name without qf_>`. Refused: input or output
/// registers and saturation after each product (their timing and `init` port are not modelled
/// here), and weight codes wider than [`MAX_TABLE_BITS`].
pub fn reference_pe(pe: &PeParams) -> Result<Module, UnitError> {
    let refuse = |name: &'static str, value: String, rule: &str| UnitError::BadParameter {
        name,
        value,
        rule: rule.to_string(),
    };
    if pe.input_reg() || pe.output_reg() {
        return Err(refuse(
            "registers",
            format!(
                "input_reg {}, output_reg {}",
                pe.input_reg(),
                pe.output_reg()
            ),
            "must be off for a proof against the reference PE",
        ));
    }
    if pe.overflow() == Overflow::SaturateEach {
        return Err(refuse(
            "overflow",
            "sateach".into(),
            "is not modelled by the reference PE (wrap and sat are)",
        ));
    }
    let cb = pe.w_bits();
    if cb > MAX_TABLE_BITS {
        return Err(refuse(
            "weight code bits",
            cb.to_string(),
            &format!("must be at most {MAX_TABLE_BITS} for the reference PE's level table"),
        ));
    }
    let pe_name = pe.name();
    let name = format!("qf_ref_{}", pe_name.strip_prefix("qf_").unwrap_or(&pe_name));
    let mut params = pe.parameters();
    params.insert(0, ("reference_for".into(), pe_name.clone()));
    let h = header("reference pe (multipliers, level tables)", &params);
    let h: Vec<&str> = h.iter().map(String::as_str).collect();
    let mut m = ModuleBuilder::new(&name, &h)?;
    let (_, _) = m.clock_and_reset()?;
    let mut inputs = Vec::new();
    for p in pe.ports() {
        if p.dir == Dir::Input && p.name != "clk" && p.name != "rst" {
            inputs.push(m.input(&p.name, p.ty)?);
        }
    }
    let (en, clear, act, wgt) = (&inputs[0], &inputs[1], &inputs[2], &inputs[3]);

    // A width no lane sum overflows: the product's range times the lanes, and the accumulator.
    let (alo, ahi) = pe.activation_range();
    let (llo, lhi) = (0..1u64 << cb)
        .map(|c| pe.level(c))
        .fold((0, 0), |(lo, hi), l| (lo.min(l), hi.max(l)));
    let corners = [alo * llo, alo * lhi, ahi * llo, ahi * lhi];
    let big = corners.iter().map(|v| v.unsigned_abs()).max().unwrap_or(1);
    let most = i128::from(big.max(1)) * i128::from(pe.simd());
    let sum_bits = signed_bits(-most, most) + 1;
    let ab = pe.act_bits();
    let bipolar = pe.lane().bipolar_activations();
    // Operands as narrow as their values: the activation with one bit more than its code (so an
    // unsigned code is a non-negative signed value), the level at its range's width.
    let xt = Ty::signed(if bipolar { 2 } else { ab + 1 });
    let lt = Ty::signed(signed_bits(llo.into(), lhi.into()).max(2));
    let acc_bits = pe.acc_bits();
    let w = sum_bits.max(acc_bits).max(xt.width + lt.width) + 2;
    let sw = Ty::signed(w);
    let mut sum = Expr::zero(sw)?;
    for i in 0..pe.simd() {
        let a = act.slice((i + 1) * ab - 1, i * ab)?;
        let x = if bipolar {
            let plus = Expr::int(xt, pe.activation(1).into())?;
            let minus = Expr::int(xt, pe.activation(0).into())?;
            Expr::mux(&a, &plus, &minus)?
        } else if pe.a_signed() {
            a.as_signed().sext(xt.width)?
        } else {
            a.zext(xt.width)?.as_signed()
        };
        let x = m.wire(&format!("x{i}"), x)?;
        let code = m.wire(&format!("w{i}"), wgt.slice((i + 1) * cb - 1, i * cb)?)?;
        // The level table, last code first: level = code == 0 ? l0 : code == 1 ? l1 : ...
        let top = (1u64 << cb) - 1;
        let mut level = Expr::int(lt, pe.level(top).into())?;
        for c in (0..top).rev() {
            let is_c = code.eq(&Expr::int(Ty::unsigned(cb), c.into())?)?;
            level = Expr::mux(&is_c, &Expr::int(lt, pe.level(c).into())?, &level)?;
        }
        let level = m.wire(&format!("level{i}"), level)?;
        let product = m.wire(&format!("product{i}"), x.mul(&level)?)?;
        sum = sum.add(&product.sext(w)?)?;
    }
    let sum = m.wire("sum", sum)?;
    let acc = m.reg("acc_r", Ty::signed(acc_bits), 0)?;
    let base = Expr::mux(clear, &Expr::zero(Ty::signed(acc_bits))?, &acc)?;
    let total = m.wire("total", base.sext(w)?.add(&sum)?)?;
    let next = match pe.overflow() {
        Overflow::Wrap => total.trunc(acc_bits)?,
        _ => {
            let lo = Expr::int(sw, -(1i128 << (acc_bits - 1)))?;
            let hi = Expr::int(sw, (1i128 << (acc_bits - 1)) - 1)?;
            let clamped = Expr::mux(
                &total.lt(&lo)?,
                &lo,
                &Expr::mux(&total.gt(&hi)?, &hi, &total)?,
            )?;
            clamped.trunc(acc_bits)?
        }
    };
    m.drive_reg("acc_r", next, Some(en.clone()))?;
    m.output("acc", acc.as_unsigned())?;
    Ok(m.finish()?)
}

/// The PE a design folder's parameters (`qforge.json`, as [`PeParams::parameters`] wrote them)
/// describe: the kind and its widths, activations, lanes, accumulator, overflow and registers.
/// A missing or malformed value is a [`UnitError::BadParameter`] naming it.
pub fn pe_from_parameters(params: &BTreeMap<String, String>) -> Result<PeParams, UnitError> {
    let get = |name: &'static str| -> Result<&str, UnitError> {
        params
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| UnitError::BadParameter {
                name,
                value: "missing".into(),
                rule: "is needed to rebuild the PE".into(),
            })
    };
    let number = |name: &'static str| -> Result<u32, UnitError> {
        let v = get(name)?;
        v.parse().map_err(|_| UnitError::BadParameter {
            name,
            value: v.to_string(),
            rule: "must be a whole number".into(),
        })
    };
    let flag = |name: &'static str| -> Result<bool, UnitError> {
        match get(name)? {
            "true" => Ok(true),
            "false" => Ok(false),
            v => Err(UnitError::BadParameter {
                name,
                value: v.to_string(),
                rule: "must be true or false".into(),
            }),
        }
    };
    let kind = match get("kind")? {
        "uniform" => WeightCode::uniform(number("w_bits")?)?,
        "pot" => WeightCode::pot(number("exp_bits")?, flag("w_signed")?, flag("zero_code")?)?,
        "apot" => WeightCode::apot(number("term_bits")?, number("terms")?, flag("w_signed")?)?,
        "binary" => WeightCode::Binary,
        "ternary" => WeightCode::Ternary,
        other => {
            return Err(UnitError::BadParameter {
                name: "kind",
                value: other.to_string(),
                rule: "must be uniform, pot, apot, binary or ternary".into(),
            })
        }
    };
    let overflow = match get("overflow")? {
        "wrap" => Overflow::Wrap,
        "sat" => Overflow::Saturate,
        "sateach" => Overflow::SaturateEach,
        other => {
            return Err(UnitError::BadParameter {
                name: "overflow",
                value: other.to_string(),
                rule: "must be wrap, sat or sateach".into(),
            })
        }
    };
    Ok(PeParams::new(
        kind,
        number("a_bits")?,
        flag("a_signed")?,
        number("simd")?,
        number("acc_bits")?,
        overflow,
    )?
    .with_input_reg(flag("input_reg")?)
    .with_output_reg(flag("output_reg")?))
}

//! A PE array: `pe` rows of one [`PeParams`] configuration, sharing the SIMD activation lanes,
//! each row with its own weights — the compute core of a matrix-vector unit.
//!
//! ```text
//!  act[SIMD·A] ──┬──────────────┬──── ... ───┐
//!                ▼              ▼            ▼
//!  wgt[row 0] ─▶ PE 0   wgt[1]▶ PE 1  ...   PE pe-1 ─▶ acc[(r+1)·ACC-1 : r·ACC] for row r
//!  clk, rst, en, clear: shared by every row
//! ```
//!
//! `wgt` holds row 0's SIMD codes in the least significant bits, then row 1's, and so on;
//! with [`Overflow::SaturateEach`] rows, `init` holds each row's start value the same way.
//! Latency: the PE's. Cost: `pe` × the PE's cost (the rows share nothing but wires).
//!
//! ```
//! use qforge::accel::{Overflow, PeArrayParams, PeParams, Unit};
//! use qforge::num::weights::WeightCode;
//! let row = PeParams::new(WeightCode::Ternary, 4, true, 4, 10, Overflow::Wrap).unwrap();
//! let array = PeArrayParams::new(row, 3).unwrap();
//! assert_eq!(array.name(), "qf_pe_array_p3_ternary_a4_s4_acc10_wrap");
//! assert_eq!(array.verilog().unwrap().len(), 2); // the PE, then the array
//! ```

use super::pe::{Overflow, PeInputs, PeModel, PeParams};
use super::unit::{check_inputs, Cost, Model, Unit, UnitError};
use crate::hdl::{Bits, Expr, HdlError, Module, ModuleBuilder, Port, Ty};

/// Configuration of a PE array.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PeArrayParams {
    row: PeParams,
    pe: u32,
}

impl PeArrayParams {
    /// `pe` rows (1..=256) of the PE `row`.
    pub fn new(row: PeParams, pe: u32) -> Result<PeArrayParams, UnitError> {
        if !(1..=256).contains(&pe) {
            return Err(UnitError::BadParameter {
                name: "pe",
                value: pe.to_string(),
                rule: "must be between 1 and 256".into(),
            });
        }
        Ok(PeArrayParams { row, pe })
    }

    /// The configuration of each row.
    pub fn row(&self) -> &PeParams {
        &self.row
    }

    /// Number of rows.
    pub fn pe(&self) -> u32 {
        self.pe
    }

    /// Whether the rows have an `init` port (chains of saturating adders).
    fn has_init(&self) -> bool {
        self.row.overflow() == Overflow::SaturateEach
    }

    fn build(&self, pe_module: &Module) -> Result<Module, HdlError> {
        let params = self.parameters();
        let header: Vec<String> = std::iter::once("unit: pe_array".to_string())
            .chain(params.iter().map(|(k, v)| format!("{k}: {v}")))
            .collect();
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        let mut m = ModuleBuilder::new(&self.name(), &header)?;
        let (clk, rst) = m.clock_and_reset()?;
        let ports = self.ports();
        let en = m.input("en", Ty::bit())?;
        let clear = m.input("clear", Ty::bit())?;
        let act = m.input("act", ports[4].ty)?;
        let wgt = m.input("wgt", ports[5].ty)?;
        let init = if self.has_init() {
            Some(m.input("init", ports[6].ty)?)
        } else {
            None
        };
        let row_w = self.row.simd() * self.row.w_bits();
        let ab = self.row.acc_bits();
        let mut outs = Vec::new();
        for r in 0..self.pe {
            let w = wgt.slice((r + 1) * row_w - 1, r * row_w)?;
            let mut conns = vec![
                ("clk", clk.clone()),
                ("rst", rst.clone()),
                ("en", en.clone()),
                ("clear", clear.clone()),
                ("act", act.clone()),
                ("wgt", w),
            ];
            if let Some(i) = &init {
                conns.push(("init", i.slice((r + 1) * ab - 1, r * ab)?));
            }
            let o = m.instance(pe_module, &format!("row{r}"), &conns)?;
            outs.extend(o);
        }
        outs.reverse();
        m.output("acc", Expr::concat(&outs)?)?;
        m.finish()
    }
}

impl Unit for PeArrayParams {
    type Model = PeArrayModel;

    /// `qf_pe_array_p<PE>_<the row PE's name without qf_pe_>`.
    fn name(&self) -> String {
        let row = self.row.name();
        let rest = row.strip_prefix("qf_pe_").unwrap_or(&row);
        format!("qf_pe_array_p{}_{rest}", self.pe)
    }

    fn parameters(&self) -> Vec<(String, String)> {
        let mut v = vec![("pe".to_string(), self.pe.to_string())];
        v.extend(self.row.parameters());
        v
    }

    /// `clk`, `rst`, `en`, `clear`, `act[SIMD·A]`, `wgt[PE·SIMD·W]`, with the rows' `init`
    /// also `init[PE·ACC]`, → `acc[PE·ACC]`.
    fn ports(&self) -> Vec<Port> {
        let mut p = self.row.ports();
        for port in p.iter_mut().skip(5) {
            port.ty = Ty::unsigned(self.pe * port.ty.width);
        }
        p
    }

    fn model(&self) -> PeArrayModel {
        PeArrayModel {
            params: self.clone(),
            rows: (0..self.pe).map(|_| self.row.model()).collect(),
        }
    }

    fn verilog(&self) -> Result<Vec<Module>, UnitError> {
        let mut modules = self.row.verilog()?;
        let pe_module = modules
            .last()
            .cloned()
            .ok_or_else(|| UnitError::Input("the PE produced no module".into()))?;
        modules.push(self.build(&pe_module)?);
        Ok(modules)
    }

    /// `pe` × the row PE's estimate.
    fn cost(&self) -> Cost {
        self.row.cost() * u64::from(self.pe)
    }
}

/// The array's behaviour: one PE model per row.
#[derive(Clone, Debug)]
pub struct PeArrayModel {
    params: PeArrayParams,
    rows: Vec<PeModel>,
}

impl PeArrayModel {
    /// One cycle with typed inputs (`wgt` holds PE × SIMD codes, row 0 first); returns each
    /// row's `acc` output during the cycle.
    pub fn step_inputs(&mut self, inp: &PeInputs) -> Vec<i128> {
        let simd = self.params.row.simd() as usize;
        self.rows
            .iter_mut()
            .enumerate()
            .map(|(r, m)| m.step_inputs(&row_inputs(inp, r, simd)))
            .collect()
    }
}

impl Model for PeArrayModel {
    fn reset(&mut self) {
        self.rows.iter_mut().for_each(Model::reset);
    }

    fn step(&mut self, inputs: &[Bits]) -> Result<Vec<Bits>, UnitError> {
        check_inputs(&self.params.ports(), inputs)?;
        let row_w = self.params.row.simd() * self.params.row.w_bits();
        let ab = self.params.row.acc_bits();
        let mut outs = Vec::new();
        let has_init = self.params.has_init();
        for (r, m) in self.rows.iter_mut().enumerate() {
            // The row's slices of `wgt` and `init`, the shared ports as they are: copying the
            // whole `wgt` for every row would cost PE² · SIMD per cycle.
            let v: Vec<Bits> = inputs
                .iter()
                .enumerate()
                .map(|(k, b)| match k {
                    4 => b.field(r as u32 * row_w, row_w),
                    5 if has_init => b.field(r as u32 * ab, ab),
                    _ => b.clone(),
                })
                .collect();
            outs.extend(m.step(&v)?);
        }
        Ok(vec![Bits::concat_lsb_first(&outs)])
    }
}

/// Row `r`'s inputs: the shared controls and activations, its SIMD weights and its start value
/// (never a copy of every row's weights: that would cost PE² · SIMD per cycle).
fn row_inputs(inp: &PeInputs, r: usize, simd: usize) -> PeInputs {
    PeInputs {
        rst: inp.rst,
        en: inp.en,
        clear: inp.clear,
        act: inp.act.clone(),
        wgt: inp.wgt[r * simd..(r + 1) * simd].to_vec(),
        init: inp.init.get(r).map(|&v| vec![v]).unwrap_or_default(),
    }
}

/// Port values for an array from typed inputs (`wgt`: PE × SIMD codes, row 0 first).
pub fn array_ports(array: &PeArrayParams, inp: &PeInputs) -> Vec<Bits> {
    let row = array.row();
    let simd = row.simd() as usize;
    let mut v = PeInputs {
        init: inp.init.clone(),
        ..row_inputs(inp, 0, simd)
    }
    .to_ports(row);
    let rows: Vec<Vec<Bits>> = (0..array.pe() as usize)
        .map(|r| row_inputs(inp, r, simd).to_ports(row))
        .collect();
    for (k, port) in v.iter_mut().enumerate().skip(4) {
        let fields: Vec<Bits> = rows.iter().map(|r| r[k].clone()).collect();
        *port = Bits::concat_lsb_first(&fields);
    }
    v
}

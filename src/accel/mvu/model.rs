//! The MVU's cycle-level behaviour: its registers as integers, stepped by the stream
//! protocol, with or without computing values.

use super::MvuParams;
use crate::accel::stream::{step_ports, StreamModel};
use crate::accel::unit::{Model, Unit, UnitError};
use crate::hdl::Bits;
use crate::qnn::format::saturate;
use crate::qnn::kernels::dot_i16_i32;

/// Activity counters of an MVU.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MvuStats {
    /// Cycles in which the tile computed.
    pub busy: u64,
    /// Cycles spent waiting for input on the first pass.
    pub starved: u64,
    /// Cycles a finished group waited for the output register (output backpressure).
    pub blocked: u64,
}

/// The MVU's behaviour: its registers as integers; the tile computes with the PE's semantics
/// (exact lane sums, accumulators wrapped to the layer's width by [`PeParams::fit`]).
///
/// A *control-only* model ([`MvuParams::control_model`]) steps the same counters and
/// handshakes without computing values: the control path of the unit does not depend on the
/// data, so its timing is the full model's, while `out_data` stays zero (the values then come
/// from [`MvuParams::forward`]).
#[derive(Clone, Debug)]
pub struct MvuModel {
    params: MvuParams,
    /// Whether the tile computes values (false: control only).
    values: bool,
    sf: u32,
    nf: u32,
    waddr: u32,
    done: bool,
    res_nf: u32,
    ibuf: Vec<i64>,
    acc: Vec<i64>,
    out_valid: bool,
    out_data: Vec<i64>,
    /// Weight levels in ROM order: address, row, lane.
    rom_levels: Vec<i64>,
    /// The same levels and input buffer as i16, when codes, levels and the accumulator allow
    /// the i16 × i16 → i32 kernel (exact modulo 2^32, so modulo 2^acc_bits for acc_bits ≤ 32).
    narrow: Option<(Vec<i16>, Vec<i16>)>,
    stats: MvuStats,
}

impl MvuParams {
    /// A model that steps the control path only (see [`MvuModel`]).
    pub fn control_model(&self) -> MvuModel {
        MvuModel::new(self.without_weights(), false)
    }

    /// The same configuration without its weights (codes and levels empty), for models and
    /// descriptions that need the rest only; copying the weights would cost more than the rest.
    pub(crate) fn without_weights(&self) -> MvuParams {
        MvuParams {
            layer: self.layer,
            in_features: self.in_features,
            out_features: self.out_features,
            pe: self.pe,
            simd: self.simd,
            input: self.input,
            kind: self.kind.clone(),
            codes: Vec::new(),
            levels: Vec::new(),
            levels_by_input: Vec::new(),
            bias: self.bias.clone(),
            acc_bits: self.acc_bits,
            overflow: self.overflow,
            saturate_each: self.saturate_each,
            output: self.output.clone(),
            hw: self.hw.clone(),
            fault: self.fault,
            tag: self.tag.clone(),
            row: self.row.clone(),
            vectors: self.vectors,
            weight_memory: self.weight_memory,
            input_memory: self.input_memory,
        }
    }
}

impl MvuModel {
    pub(super) fn new(params: MvuParams, values: bool) -> MvuModel {
        let pe = params.pe as usize;
        let mut rom_levels = Vec::with_capacity(if values { params.levels.len() } else { 0 });
        for a in 0..if values { params.fold() as u32 } else { 0 } {
            let (sf, nf) = (a % params.sf(), a / params.sf());
            for r in 0..params.pe {
                let c = (nf * params.pe + r) as usize;
                for i in 0..params.simd {
                    let j = (sf * params.simd + i) as usize;
                    rom_levels.push(
                        params
                            .row
                            .level(params.codes[c * params.in_features as usize + j]),
                    );
                }
            }
        }
        let fits = |v: i64| i16::try_from(v).is_ok();
        let input_fits = fits(params.input.min()) && fits(params.input.max());
        let narrow = (values
            && params.acc_bits <= 32
            && !params.saturate_each
            && input_fits
            && rom_levels.iter().all(|&l| fits(l)))
        .then(|| {
            (
                rom_levels.iter().map(|&l| l as i16).collect(),
                vec![0i16; params.in_features as usize],
            )
        });
        MvuModel {
            values,
            narrow,
            sf: 0,
            nf: 0,
            waddr: 0,
            done: false,
            res_nf: 0,
            ibuf: vec![
                0;
                if values {
                    params.in_features as usize
                } else {
                    0
                }
            ],
            acc: vec![0; pe],
            out_valid: false,
            out_data: vec![0; pe],
            rom_levels,
            stats: MvuStats::default(),
            params: MvuParams {
                levels: Vec::new(),
                levels_by_input: Vec::new(),
                ..params
            },
        }
    }

    /// The activity counters so far.
    pub fn stats(&self) -> MvuStats {
        self.stats
    }

    /// Adds `times` × `delta` to the counters.
    pub(crate) fn add_stats(&mut self, delta: MvuStats, times: u64) {
        self.stats.busy += delta.busy * times;
        self.stats.starved += delta.starved * times;
        self.stats.blocked += delta.blocked * times;
    }

    /// The unit's configuration.
    pub fn params(&self) -> &MvuParams {
        &self.params
    }

    /// One fire of the tile on chunk `sf` (already in the input buffer): accumulate, advance
    /// the counters; returns whether it was the group's last chunk.
    fn fire_once(&mut self) -> bool {
        let p = &self.params;
        let (pe, simd) = (p.pe as usize, p.simd as usize);
        let at = self.sf as usize * simd;
        let clear = self.sf == 0;
        let base = self.waddr as usize * pe * simd;
        if !self.values {
            // Control only: the counters below.
        } else if p.saturate_each {
            let x = &self.ibuf[at..at + simd];
            let word = &self.rom_levels[base..base + pe * simd];
            let first = self.nf as usize * pe;
            accumulate_saturating(p, x, word, &mut self.acc, clear.then_some(first));
        } else if let Some((rom, ibuf)) = &self.narrow {
            let x = &ibuf[at..at + simd];
            let word = &rom[base..base + pe * simd];
            let sh = 32 - p.acc_bits;
            for (acc, w) in self.acc.iter_mut().zip(word.chunks_exact(simd)) {
                let start = if clear { 0i32 } else { *acc as i32 };
                let s = start.wrapping_add(dot_i16_i32(x, w));
                *acc = i64::from((s << sh) >> sh);
            }
        } else {
            let x = &self.ibuf[at..at + simd];
            let word = &self.rom_levels[base..base + pe * simd];
            // Two's complement arithmetic modulo 2^64, then the accumulator's wrap: the PE's
            // wrap-around semantics exactly, as the width is at most 64.
            let sh = 64 - p.acc_bits;
            for (acc, w) in self.acc.iter_mut().zip(word.chunks_exact(simd)) {
                let mut s = if clear { 0i64 } else { *acc };
                for (&a, &l) in x.iter().zip(w) {
                    s = s.wrapping_add(a.wrapping_mul(l));
                }
                *acc = (s << sh) >> sh;
            }
        }
        let last = self.sf + 1 == p.sf();
        if last {
            self.res_nf = self.nf;
            self.nf = if self.nf + 1 == p.nf() {
                0
            } else {
                self.nf + 1
            };
            self.sf = 0;
        } else {
            self.sf += 1;
        }
        self.waddr = if u64::from(self.waddr) + 1 == p.fold() {
            0
        } else {
            self.waddr + 1
        };
        last
    }
}

/// One fire with saturation after each product: per PE row, the accumulator (or, with `start`
/// = the group's first channel, that row's channel's saturated bias) plus each of the row's
/// SIMD products in input order, saturated after each, exactly as [`crate::qnn::exact`].
fn accumulate_saturating(
    p: &MvuParams,
    x: &[i64],
    word: &[i64],
    acc: &mut [i64],
    start: Option<usize>,
) {
    let simd = p.simd as usize;
    for (r, (a, w)) in acc.iter_mut().zip(word.chunks_exact(simd)).enumerate() {
        let mut s = i128::from(start.map_or(*a, |c| p.start_value(c + r)));
        for (&v, &l) in x.iter().zip(w) {
            s = saturate(s + i128::from(v) * i128::from(l), p.acc_bits);
        }
        *a = s as i64;
    }
}

impl StreamModel for MvuModel {
    fn out_valid(&self) -> bool {
        self.out_valid
    }

    fn out_data(&self) -> &[i64] {
        &self.out_data
    }

    fn in_ready(&self, out_ready: bool) -> bool {
        self.nf == 0 && (!self.done || !self.out_valid || out_ready)
    }

    fn clock(&mut self, in_valid: bool, in_data: &[i64], out_ready: bool) {
        let p = &self.params;
        let b_free = !self.out_valid || out_ready;
        let can_fire = !self.done || b_free;
        let first = self.nf == 0;
        let fire = can_fire && (!first || in_valid);
        let transfer = self.done && b_free;
        if transfer && self.values {
            let base = (self.res_nf * p.pe) as usize;
            for (lane, (o, &a)) in self.out_data.iter_mut().zip(&self.acc).enumerate() {
                *o = p.finish_channel(a, base + lane);
            }
        }
        self.out_valid = transfer || (self.out_valid && !out_ready);
        let mut fire_last = false;
        if fire {
            self.stats.busy += 1;
            if first && self.values {
                let simd = p.simd as usize;
                let at = self.sf as usize * simd;
                for (d, &c) in self.ibuf[at..at + simd].iter_mut().zip(&in_data[..simd]) {
                    *d = p.input_value(c);
                }
                if let Some((_, ibuf)) = &mut self.narrow {
                    for (d, &v) in ibuf[at..at + simd]
                        .iter_mut()
                        .zip(&self.ibuf[at..at + simd])
                    {
                        *d = v as i16;
                    }
                }
            }
            fire_last = self.fire_once();
        } else if self.done && !b_free {
            self.stats.blocked += 1;
        } else if first && !in_valid {
            self.stats.starved += 1;
        }
        self.done = fire_last || (self.done && !b_free);
    }

    fn quiet(&self, in_valid: bool, out_ready: bool) -> u64 {
        let b_free = !self.out_valid || out_ready;
        if self.done {
            // A finished group moves out (0), or waits with everything held.
            return if b_free { 0 } else { u64::MAX };
        }
        if self.out_valid && out_ready {
            return 0;
        }
        if self.nf != 0 {
            // Fires from the input buffer until the group's last chunk.
            u64::from(self.params.sf() - 1 - self.sf)
        } else if in_valid {
            0
        } else {
            u64::MAX
        }
    }

    fn skip(&mut self, cycles: u64, in_valid: bool, out_ready: bool) {
        let b_free = !self.out_valid || out_ready;
        if self.done {
            self.stats.blocked += cycles;
        } else if self.nf != 0 {
            self.stats.busy += cycles;
            if self.values {
                for _ in 0..cycles {
                    self.fire_once();
                }
            } else {
                // quiet() allowed no group end: the counters only count up.
                let k = cycles as u32;
                self.sf += k;
                self.waddr += k;
            }
        } else if !in_valid {
            self.stats.starved += cycles;
        }
        // quiet() allowed no output transfer: out_valid and out_data hold.
        let _ = b_free;
    }

    fn control_state(&self, out: &mut Vec<u64>) {
        out.extend([
            u64::from(self.sf),
            u64::from(self.nf),
            u64::from(self.waddr),
            u64::from(self.res_nf),
            u64::from(self.done) | u64::from(self.out_valid) << 1,
        ]);
    }

    fn reset_state(&mut self) {
        self.sf = 0;
        self.nf = 0;
        self.waddr = 0;
        self.done = false;
        self.res_nf = 0;
        self.ibuf.iter_mut().for_each(|v| *v = 0);
        self.acc.iter_mut().for_each(|v| *v = 0);
        self.out_valid = false;
        self.out_data.iter_mut().for_each(|v| *v = 0);
    }
}

impl Model for MvuModel {
    fn reset(&mut self) {
        self.reset_state();
        self.stats = MvuStats::default();
    }

    fn step(&mut self, inputs: &[Bits]) -> Result<Vec<Bits>, UnitError> {
        let (i, o) = (self.params.input_shape(), self.params.output_shape());
        let ports = self.params.ports();
        step_ports(self, &ports, i, o, inputs)
    }
}

//! Co-simulation vectors: stimulus from random and named corner cases, expected outputs from a
//! unit's behaviour model, and the `qf_tb_dut` replay wrapper (sim/README.md) around one or
//! several designs side by side.
//!
//! Wrapper layout: `tb_in[0]` is `rst`, shared by every design; then, design after design, each
//! design's other inputs in port order, least significant first. `tb_out` is every design's
//! outputs in the same order. The vectors ([`VectorSet`]) check every cycle but the first (before
//! the first reset edge the registers are unknown).
//!
//! ```
//! use qforge::accel::vectors::{pe_stimulus, Part, replay_wrapper};
//! use qforge::accel::{Overflow, PeParams};
//! use qforge::num::weights::WeightCode;
//! let pe = PeParams::new(WeightCode::Ternary, 4, true, 2, 8, Overflow::Saturate).unwrap();
//! let part = Part::pe(&pe, &pe_stimulus(&pe, 500, 1)).unwrap();
//! let (wrapper, trace) = replay_wrapper(&[part]).unwrap();
//! assert_eq!(wrapper.name, "qf_tb_dut");
//! assert_eq!(trace.cycles.len(), 500);
//! assert_eq!(trace.in_width, 1 + 1 + 1 + 8 + 4); // rst, en, clear, act, wgt
//! ```

use super::pe::{Overflow, PeInputs, PeParams};
use super::unit::{Model, Unit, UnitError};
pub use crate::hdl::vectors::{Cycle, VectorSet};
use crate::hdl::{Bits, Dir, Expr, HdlError, Module, ModuleBuilder, Port, Ty};

/// A small deterministic generator (SplitMix64): the same seed gives the same vectors on every
/// machine.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A value in `0..n` (`n ≥ 1`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with probability `num / den`.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }
}

/// One design in a replay wrapper: its modules and, per cycle, its packed port values.
#[derive(Clone, Debug)]
pub struct Part {
    /// The design's top module (instantiated by the wrapper).
    pub top: Module,
    /// The design's modules, dependencies first, `top` last.
    pub modules: Vec<Module>,
    /// Per cycle, the value of `rst`.
    pub rst: Vec<bool>,
    /// Per cycle, the other inputs (port order, without `clk` and `rst`) concatenated, the
    /// first port in the least significant bits.
    pub inputs: Vec<Bits>,
    /// Per cycle, the outputs the model gives, concatenated the same way.
    pub outputs: Vec<Bits>,
}

impl Part {
    /// Runs `unit`'s model over `inputs` (port values per cycle, without `clk`, `rst` first).
    pub fn from_unit<U: Unit>(
        unit: &U,
        inputs: impl IntoIterator<Item = Vec<Bits>>,
    ) -> Result<Part, UnitError> {
        let modules = unit.verilog()?;
        let top = modules
            .last()
            .cloned()
            .ok_or_else(|| UnitError::Input("the unit produced no module".into()))?;
        let mut model = unit.model();
        let mut part = Part {
            top,
            modules,
            rst: Vec::new(),
            inputs: Vec::new(),
            outputs: Vec::new(),
        };
        for v in inputs {
            let out = model.step(&v)?;
            part.rst.push(v.first().is_some_and(|b| b.get(0)));
            part.inputs.push(Bits::concat_lsb_first(&v[1..]));
            part.outputs.push(Bits::concat_lsb_first(&out));
        }
        Ok(part)
    }

    /// A PE fed with typed inputs.
    pub fn pe(pe: &PeParams, inputs: &[PeInputs]) -> Result<Part, UnitError> {
        Part::from_unit(pe, inputs.iter().map(|i| i.to_ports(pe)))
    }
}

/// One design's replay made a cycle at a time, for vectors too many to hold: each cycle's port
/// values (without `clk`, `rst` first) become the wrapper's `tb_in` line and, from cycle 1 on,
/// the `tb_out` line the design's model expects — the values [`replay_wrapper`] gives for a
/// one-part [`Part::from_unit`] of the same cycles.
pub struct ReplayStream<M: Model> {
    model: M,
    cycle: usize,
}

impl<M: Model> ReplayStream<M> {
    /// A stream through `unit`'s model; [`replay_wrapper`] of the unit's cycle-less
    /// [`Part::from_unit`] gives the wrapper and the widths.
    pub fn new<U: Unit<Model = M>>(unit: &U) -> Self {
        ReplayStream {
            model: unit.model(),
            cycle: 0,
        }
    }

    /// The `tb_in` value of one cycle and its expected `tb_out` (`None` in cycle 0).
    pub fn step(&mut self, ports: &[Bits]) -> Result<(Bits, Option<Bits>), UnitError> {
        let out = self.model.step(ports)?;
        let rst = ports.first().is_some_and(|b| b.get(0));
        let fields = [
            Bits::from_i128_wrapping(1, i128::from(rst)),
            Bits::concat_lsb_first(ports.get(1..).unwrap_or(&[])),
        ];
        let input = Bits::concat_lsb_first(&fields);
        let expect = (self.cycle > 0).then(|| Bits::concat_lsb_first(&out));
        self.cycle += 1;
        Ok((input, expect))
    }
}

/// Builds the `qf_tb_dut` wrapper around `parts` (instances `u0`, `u1`, ...) and the vectors that
/// replay them. Every part must have the same number of cycles and the same `rst` values.
pub fn replay_wrapper(parts: &[Part]) -> Result<(Module, VectorSet), UnitError> {
    let first = parts
        .first()
        .ok_or_else(|| UnitError::Input("a replay needs at least one design".into()))?;
    let cycles = first.inputs.len();
    for (k, p) in parts.iter().enumerate() {
        if p.inputs.len() != cycles || p.outputs.len() != cycles || p.rst.len() != cycles {
            return Err(UnitError::Input(format!(
                "design {k} has {} cycles, design 0 has {cycles}",
                p.inputs.len()
            )));
        }
        if let Some(t) = (0..cycles).find(|&t| p.rst[t] != first.rst[t]) {
            return Err(UnitError::Input(format!(
                "design {k} differs from design 0 in rst at cycle {t}"
            )));
        }
    }
    let in_ports = |m: &Module| -> Vec<Port> {
        m.ports
            .iter()
            .filter(|p| p.dir == Dir::Input && p.name != "clk" && p.name != "rst")
            .cloned()
            .collect()
    };
    let in_width: u32 = 1 + parts
        .iter()
        .flat_map(|p| in_ports(&p.top))
        .map(|p| p.ty.width)
        .sum::<u32>();
    let out_width: u32 = parts
        .iter()
        .flat_map(|p| p.top.ports.iter().filter(|q| q.dir == Dir::Output))
        .map(|p| p.ty.width)
        .sum();
    let names: Vec<String> = parts.iter().map(|p| p.top.name.clone()).collect();
    let mut header = vec!["unit: replay wrapper (sim/README.md): tb_in[0] = rst".to_string()];
    header.extend(names.iter().enumerate().map(|(k, n)| format!("u{k}: {n}")));
    let header: Vec<&str> = header.iter().map(String::as_str).collect();

    let build = || -> Result<Module, HdlError> {
        let mut m = ModuleBuilder::new("qf_tb_dut", &header)?;
        let clk = m.input("clk", Ty::bit())?;
        let tb_in = m.input("tb_in", Ty::unsigned(in_width))?;
        let rst = tb_in.bit(0)?;
        let mut at = 1;
        let mut outs = Vec::new();
        for (k, p) in parts.iter().enumerate() {
            let mut conns: Vec<(String, Expr)> = Vec::new();
            for port in &p.top.ports {
                if port.dir != Dir::Input {
                    continue;
                }
                let e = match port.name.as_str() {
                    "clk" => clk.clone(),
                    "rst" => rst.clone(),
                    _ => {
                        let w = port.ty.width;
                        let e = tb_in.slice(at + w - 1, at)?;
                        at += w;
                        if port.ty.signed {
                            e.as_signed()
                        } else {
                            e
                        }
                    }
                };
                conns.push((port.name.clone(), e));
            }
            let conns: Vec<(&str, Expr)> =
                conns.iter().map(|(n, e)| (n.as_str(), e.clone())).collect();
            outs.extend(m.instance(&p.top, &format!("u{k}"), &conns)?);
        }
        let msb_first: Vec<Expr> = outs.iter().rev().map(Expr::as_unsigned).collect();
        m.output("tb_out", Expr::concat(&msb_first)?)?;
        m.finish()
    };
    let module = build()?;

    let mut trace = VectorSet::new(in_width, out_width);
    trace.cycles.reserve(cycles);
    for t in 0..cycles {
        let mut fields = vec![Bits::from_i128_wrapping(1, i128::from(first.rst[t]))];
        let mut outs = Vec::new();
        for p in parts {
            fields.push(p.inputs[t].clone());
            outs.push(p.outputs[t].clone());
        }
        trace.cycles.push(Cycle {
            input: Bits::concat_lsb_first(&fields),
            expect: (t > 0).then(|| Bits::concat_lsb_first(&outs)),
        });
    }
    Ok((module, trace))
}

/// The reset schedule every generated stimulus shares (so designs can be replayed side by
/// side): cycles 0 and 1, and one reset in the middle of long runs.
pub fn reset_at(t: usize, cycles: usize) -> bool {
    t < 2 || (cycles > 64 && t == cycles / 2)
}

/// Codes of a PE's weights sorted by what they exercise.
struct WeightCodes {
    all: Vec<u64>,
    max_level: u64,
    min_level: u64,
    smallest_nonzero: Vec<u64>,
    zero: Vec<u64>,
}

fn weight_codes(pe: &PeParams) -> WeightCodes {
    let kind = pe.lane();
    let n = 1u64 << pe.w_bits().min(20);
    let all: Vec<u64> = (0..n).collect();
    let by = |f: &dyn Fn(i64, i64) -> bool| {
        let mut best = 0;
        for &c in &all {
            if f(kind.level(c), kind.level(best)) {
                best = c;
            }
        }
        best
    };
    let max_level = by(&|a, b| a > b);
    let min_level = by(&|a, b| a < b);
    let small = all
        .iter()
        .filter(|&&c| kind.level(c) != 0)
        .map(|&c| kind.level(c).unsigned_abs())
        .min()
        .unwrap_or(1);
    WeightCodes {
        smallest_nonzero: all
            .iter()
            .copied()
            .filter(|&c| kind.level(c).unsigned_abs() == small)
            .collect(),
        zero: all
            .iter()
            .copied()
            .filter(|&c| kind.level(c) == 0)
            .collect(),
        all,
        max_level,
        min_level,
    }
}

/// Stimulus for a PE with `weights_per_cycle` weight codes per cycle (SIMD for one PE, rows ×
/// SIMD for an array): named corner cases first, then random cycles, `cycles` in all, with the
/// shared reset schedule ([`reset_at`]).
///
/// Corner cases, in order: `most_negative_activation` (every lane at the most negative value
/// against the largest and smallest levels), `largest_level` and `smallest_level` (the largest
/// and smallest exponents of PoT/APoT codes), `zero_codes`, `overflow_up` and `overflow_down`
/// (the largest products accumulated without clearing until the accumulator wraps or saturates,
/// when that takes at most a few thousand cycles), `enable_gaps`, `clear_every_cycle` and
/// `clear_never`. Random cycles use every code, with the activation extremes over-weighted.
pub fn pe_stimulus_lanes(
    pe: &PeParams,
    weights_per_cycle: u32,
    cycles: usize,
    seed: u64,
) -> Vec<PeInputs> {
    let mut out = Vec::with_capacity(cycles);
    let done: Result<(), std::convert::Infallible> =
        pe_stimulus_each(pe, weights_per_cycle, cycles, seed, |c| {
            out.push(c);
            Ok(())
        });
    match done {
        Ok(()) => out,
        Err(never) => match never {},
    }
}

/// Hands the cycles of [`pe_stimulus_lanes`] to `each` in order, one at a time, without
/// holding them (the same values: a long stimulus is written as it is made). Stops at the first
/// error `each` returns.
pub fn pe_stimulus_each<E>(
    pe: &PeParams,
    weights_per_cycle: u32,
    cycles: usize,
    seed: u64,
    each: impl FnMut(PeInputs) -> Result<(), E>,
) -> Result<(), E> {
    let mut rng = Rng::new(seed);
    let simd = pe.simd() as usize;
    let nw = weights_per_cycle as usize;
    let a_bits = pe.act_bits();
    let a_mask = (1u64 << a_bits) - 1;
    let (a_lo, a_hi) = pe.activation_range();
    let code_of = |v: i64| (v as u64) & a_mask;
    let wc = weight_codes(pe);
    let pick = |rng: &mut Rng, v: &[u64]| v[rng.below(v.len() as u64) as usize];
    let rand_act = |rng: &mut Rng| -> u64 {
        match rng.below(10) {
            0 => code_of(a_lo),
            1 => code_of(a_hi),
            _ => rng.next_u64() & a_mask,
        }
    };
    let mut out = StimulusSink {
        each,
        made: 0,
        cycles,
        error: None,
        init: (pe.overflow() == Overflow::SaturateEach).then(|| {
            // Start values for every row: the extremes (saturation from the first lane on),
            // zero and random values of the accumulator's range.
            let w = pe.acc_bits();
            (
                Rng::new(seed ^ 0x1417),
                -(1i64 << (w - 1)),
                (1i64 << (w - 1)) - 1,
                nw / simd,
            )
        }),
    };
    let push =
        |out: &mut StimulusSink<_, E>, en: bool, clear: bool, act: Vec<u64>, wgt: Vec<u64>| {
            out.push(en, clear, act, wgt)
        };
    // Two reset cycles first (overwritten by the schedule below).
    for _ in 0..2 {
        push(&mut out, false, false, vec![0; simd], vec![0; nw]);
    }
    // most_negative_activation
    for t in 0..24 {
        let w = if t < 12 { wc.max_level } else { wc.min_level };
        push(
            &mut out,
            true,
            t % 12 == 0,
            vec![code_of(a_lo); simd],
            vec![w; nw],
        );
    }
    // largest_level, smallest_level
    for t in 0..16 {
        let act = (0..simd).map(|_| rand_act(&mut rng)).collect();
        let w = if rng.chance(1, 2) {
            wc.max_level
        } else {
            wc.min_level
        };
        push(&mut out, true, t == 0, act, vec![w; nw]);
    }
    for t in 0..16 {
        let act = (0..simd).map(|_| rand_act(&mut rng)).collect();
        let wgt = (0..nw)
            .map(|_| pick(&mut rng, &wc.smallest_nonzero))
            .collect();
        push(&mut out, true, t == 0, act, wgt);
    }
    // zero_codes
    if !wc.zero.is_empty() {
        for _ in 0..16 {
            let act = (0..simd).map(|_| rand_act(&mut rng)).collect();
            let wgt = (0..nw).map(|_| pick(&mut rng, &wc.zero)).collect();
            push(&mut out, true, false, act, wgt);
        }
    }
    // overflow_up / overflow_down: the largest and smallest products, accumulated.
    let cands = [a_lo, a_hi];
    let mut best_up = (0i128, code_of(a_hi), wc.max_level);
    let mut best_down = (0i128, code_of(a_hi), wc.min_level);
    for &a in &cands {
        for &w in &[wc.max_level, wc.min_level] {
            let p = i128::from(a) * i128::from(pe.level(w));
            if p > best_up.0 {
                best_up = (p, code_of(a), w);
            }
            if p < best_down.0 {
                best_down = (p, code_of(a), w);
            }
        }
    }
    let limit = 1i128 << (pe.acc_bits() - 1);
    for (p, a, w) in [best_up, best_down] {
        let per_cycle = p.abs() * i128::from(pe.simd());
        if per_cycle == 0 {
            continue;
        }
        let n = (limit / per_cycle + 3).min(3000) as usize;
        for t in 0..n {
            push(&mut out, true, t == 0, vec![a; simd], vec![w; nw]);
        }
    }
    let random_cycle = |rng: &mut Rng, en_p: (u64, u64), clear_p: (u64, u64)| {
        let act: Vec<u64> = (0..simd).map(|_| rand_act(rng)).collect();
        let wgt: Vec<u64> = (0..nw).map(|_| pick(rng, &wc.all)).collect();
        (
            rng.chance(en_p.0, en_p.1),
            rng.chance(clear_p.0, clear_p.1),
            act,
            wgt,
        )
    };
    // enable_gaps
    for _ in 0..200 {
        let (en, clear, act, wgt) = random_cycle(&mut rng, (1, 2), (1, 16));
        push(&mut out, en, clear, act, wgt);
    }
    // clear_every_cycle
    for _ in 0..100 {
        let (en, _, act, wgt) = random_cycle(&mut rng, (9, 10), (1, 1));
        push(&mut out, en, true, act, wgt);
    }
    // clear_never
    for _ in 0..2000 {
        let (en, _, act, wgt) = random_cycle(&mut rng, (1, 1), (1, 1));
        push(&mut out, en, false, act, wgt);
    }
    while out.made < cycles && out.error.is_none() {
        let (en, clear, act, wgt) = random_cycle(&mut rng, (9, 10), (1, 16));
        push(&mut out, en, clear, act, wgt);
    }
    out.error.map_or(Ok(()), Err)
}

/// Where [`pe_stimulus_each`] puts its cycles: each gets its reset (the shared schedule) and,
/// for saturating rows, its start values, in cycle order; cycles beyond the count are dropped
/// (their random values are still drawn, so every count sees the same sequence).
struct StimulusSink<F, E> {
    each: F,
    made: usize,
    cycles: usize,
    error: Option<E>,
    /// For [`Overflow::SaturateEach`]: the start values' generator, range and rows.
    init: Option<(Rng, i64, i64, usize)>,
}

impl<F: FnMut(PeInputs) -> Result<(), E>, E> StimulusSink<F, E> {
    fn push(&mut self, en: bool, clear: bool, act: Vec<u64>, wgt: Vec<u64>) {
        if self.made >= self.cycles || self.error.is_some() {
            return;
        }
        let init = match &mut self.init {
            None => Vec::new(),
            Some((r, lo, hi, rows)) => (0..*rows)
                .map(|_| match r.below(8) {
                    0 => *lo,
                    1 => *hi,
                    2 => 0,
                    _ => *lo + r.below((*hi - *lo) as u64 + 1) as i64,
                })
                .collect(),
        };
        let cycle = PeInputs {
            rst: reset_at(self.made, self.cycles),
            en,
            clear,
            act,
            wgt,
            init,
        };
        self.made += 1;
        if let Err(e) = (self.each)(cycle) {
            self.error = Some(e);
        }
    }
}

/// Stimulus for one PE ([`pe_stimulus_lanes`] with SIMD weights per cycle).
pub fn pe_stimulus(pe: &PeParams, cycles: usize, seed: u64) -> Vec<PeInputs> {
    pe_stimulus_lanes(pe, pe.simd(), cycles, seed)
}

/// The modules a replay of `parts` needs, each once, dependencies first, then the wrapper.
pub fn replay_sources(parts: &[Part], wrapper: &Module) -> Vec<Module> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for p in parts {
        for m in &p.modules {
            if seen.insert(m.name.clone()) {
                out.push(m.clone());
            }
        }
    }
    out.push(wrapper.clone());
    out
}

//! Memories: a ROM with initial contents or a simple dual-port RAM (one read port, one write
//! port), printed in the form Yosys maps to block RAM, with the block count per FPGA family.
//!
//! ```text
//!            ┌──────────────────────────────┐
//!  raddr ───▶│ mem[depth]   q <= mem[addr]  │──▶ rdata (= q, one edge after the address)
//!  we    ───▶│ (RAM) mem[waddr] <= wdata    │
//!  waddr ───▶│                              │
//!  wdata ───▶│                              │
//!            └──────────────────────────────┘
//! ```
//!
//! **Read latency**: 1 cycle, the block RAM's own output register: the word addressed in one
//! cycle is on `rdata` in the next. While `rst` is high the read address is word 0 (so `rdata`
//! holds word 0 right after a reset) and writes are ignored. A read of the word written at the
//! same edge returns the old word; the iCE40 and ECP5 blocks leave that case undefined, so Yosys
//! adds a bypass there (for a 16-bit RAM on iCE40, 43 flip-flops and 34 LUT4 beside the two
//! blocks), while the 7-series block reads first by itself.
//!
//! A unit that reads its memory in a known order hides the latency by addressing one cycle
//! ahead: the matrix-vector unit reads the word its weight counter *will* hold after the edge
//! (`rst ? 0 : fire ? next : counter`), so its weights arrive exactly when a LUT ROM would give
//! them and its cycle behaviour does not change.
//!
//! **Cost** ([`MemoryParams::cost`]): the iCE40 block count ([`block_rams`]) and a LUT4 per
//! read-address bit for the reset choice; the output register is inside the block.

use super::stream::{counter_bits, header};
use super::unit::{check_inputs, Cost, Model, Unit, UnitError};
use crate::hdl::{Bits, Expr, HdlError, MemoryWrite, Module, ModuleBuilder, Port, Ty};
use std::fmt;

/// The FPGA families whose block RAM qforge counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RamFamily {
    /// Lattice iCE40: `SB_RAM40_4K`, 4 kbit (256 × 16, 512 × 8, 1024 × 4, 2048 × 2).
    Ice40,
    /// Xilinx 7-series: `RAMB18E1`, 18 kbit (512 × 36 down to 16384 × 1); a `RAMB36E1` is two.
    Xilinx,
    /// Lattice ECP5: `DP16KD`, 18 kbit (512 × 36 down to 16384 × 1).
    Ecp5,
}

impl RamFamily {
    /// The block's shapes as (depth, width).
    fn shapes(self) -> &'static [(u64, u64)] {
        match self {
            RamFamily::Ice40 => &[(256, 16), (512, 8), (1024, 4), (2048, 2)],
            RamFamily::Xilinx | RamFamily::Ecp5 => &[
                (512, 36),
                (1024, 18),
                (2048, 9),
                (4096, 4),
                (8192, 2),
                (16384, 1),
            ],
        }
    }

    /// The block primitive's name.
    pub fn primitive(self) -> &'static str {
        match self {
            RamFamily::Ice40 => "SB_RAM40_4K",
            RamFamily::Xilinx => "RAMB18E1",
            RamFamily::Ecp5 => "DP16KD",
        }
    }
}

/// Blocks of `family` that a memory of `depth` words of `width` bits takes: the fewest over the
/// block's shapes of ⌈width / shape width⌉ · ⌈depth / shape depth⌉ (what Yosys's memory mapping
/// chooses for one read and one write port).
pub fn block_rams(family: RamFamily, width: u32, depth: u32) -> u64 {
    let (w, d) = (u64::from(width), u64::from(depth));
    family
        .shapes()
        .iter()
        .map(|&(sd, sw)| w.div_ceil(sw) * d.div_ceil(sd))
        .min()
        .unwrap_or(0)
}

/// Whether a memory is a ROM or a RAM.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MemoryKind {
    /// Read-only, holding its initial contents.
    Rom,
    /// One read and one write port.
    Ram,
}

impl fmt::Display for MemoryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MemoryKind::Rom => "rom",
            MemoryKind::Ram => "ram",
        })
    }
}

/// Configuration of a memory. Build with [`MemoryParams::new`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MemoryParams {
    kind: MemoryKind,
    width: u32,
    init: Vec<Bits>,
}

impl MemoryParams {
    /// A memory of `init.len()` (2..=2^20) words of `width` (1..=4096) bits holding `init`.
    pub fn new(kind: MemoryKind, width: u32, init: Vec<Bits>) -> Result<MemoryParams, UnitError> {
        if !(1..=4096).contains(&width) {
            return Err(UnitError::BadParameter {
                name: "width",
                value: width.to_string(),
                rule: "must be between 1 and 4096".into(),
            });
        }
        if !(2..=1 << 20).contains(&init.len()) {
            return Err(UnitError::BadParameter {
                name: "depth",
                value: init.len().to_string(),
                rule: "must be between 2 and 1048576 words".into(),
            });
        }
        if let Some(w) = init.iter().find(|w| w.width() != width) {
            return Err(UnitError::BadParameter {
                name: "init",
                value: format!("a {}-bit word", w.width()),
                rule: format!("must hold {width}-bit words"),
            });
        }
        Ok(MemoryParams { kind, width, init })
    }

    /// Words.
    pub fn depth(&self) -> u32 {
        self.init.len() as u32
    }

    /// Word width.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Address width: enough bits for every word.
    pub fn addr_bits(&self) -> u32 {
        counter_bits(u64::from(self.depth()))
    }

    /// The block count on `family` ([`block_rams`]).
    pub fn blocks(&self, family: RamFamily) -> u64 {
        block_rams(family, self.width, self.depth())
    }

    fn build(&self) -> Result<Module, HdlError> {
        let h = header("memory", &self.parameters());
        let h: Vec<&str> = h.iter().map(String::as_str).collect();
        let mut m = ModuleBuilder::new(&self.name(), &h)?;
        let (_, rst) = m.clock_and_reset()?;
        let aw = Ty::unsigned(self.addr_bits());
        let raddr = m.input("raddr", aw)?;
        let write = match self.kind {
            MemoryKind::Rom => None,
            MemoryKind::Ram => {
                let we = m.input("we", Ty::bit())?;
                let waddr = m.input("waddr", aw)?;
                let wdata = m.input("wdata", Ty::unsigned(self.width))?;
                Some(MemoryWrite {
                    enable: m.wire("write", we.and(&rst.not())?)?,
                    addr: waddr,
                    data: wdata,
                    never_reads_written_word: false,
                })
            }
        };
        let addr = m.wire("addr", Expr::mux(&rst, &Expr::zero(aw)?, &raddr)?)?;
        let q = m.memory("mem", self.init.clone(), addr, write)?;
        m.output("rdata", q)?;
        m.finish()
    }
}

impl Unit for MemoryParams {
    type Model = MemoryModel;

    /// `qf_<rom|ram>_w<width>_d<depth>_<hash>`: the contents' hash tells memories of one shape
    /// apart.
    fn name(&self) -> String {
        let mut h = crate::hash::Fnv1a64::new();
        for w in &self.init {
            h.field(w.to_hex().as_bytes());
        }
        format!(
            "qf_{}_w{}_d{}_{}",
            self.kind,
            self.width,
            self.depth(),
            h.tag32()
        )
    }

    fn parameters(&self) -> Vec<(String, String)> {
        vec![
            ("kind".into(), self.kind.to_string()),
            ("width".into(), self.width.to_string()),
            ("depth".into(), self.depth().to_string()),
            ("read_latency".into(), "1".into()),
        ]
    }

    /// `clk`, `rst`, `raddr`, for a RAM `we`, `waddr` and `wdata`, then `rdata`.
    fn ports(&self) -> Vec<Port> {
        let aw = Ty::unsigned(self.addr_bits());
        let mut ports = vec![
            Port::input("clk", Ty::bit()),
            Port::input("rst", Ty::bit()),
            Port::input("raddr", aw),
        ];
        if self.kind == MemoryKind::Ram {
            ports.push(Port::input("we", Ty::bit()));
            ports.push(Port::input("waddr", aw));
            ports.push(Port::input("wdata", Ty::unsigned(self.width)));
        }
        ports.push(Port::output("rdata", Ty::unsigned(self.width)));
        ports
    }

    fn model(&self) -> MemoryModel {
        MemoryModel {
            params: self.clone(),
            words: self.init.clone(),
            q: Bits::zero(self.width),
        }
    }

    fn verilog(&self) -> Result<Vec<Module>, UnitError> {
        Ok(vec![self.build()?])
    }

    /// The iCE40 blocks, and a LUT4 per address bit for the reset choice (a RAM: one more for
    /// the write enable).
    fn cost(&self) -> Cost {
        let write = u64::from(self.kind == MemoryKind::Ram);
        Cost {
            lut: u64::from(self.addr_bits()) + write,
            ff: 0,
            carry: 0,
            dsp: 0,
            bram: self.blocks(RamFamily::Ice40),
        }
    }
}

/// The memory's behaviour: its words and its read register, as the RTL holds them. An address
/// beyond the last word reads zero and a write there is dropped here; the RTL's memory has no
/// such word, so what it reads there is the simulator's or the FPGA's business: units address
/// only their words.
#[derive(Clone, Debug)]
pub struct MemoryModel {
    params: MemoryParams,
    words: Vec<Bits>,
    q: Bits,
}

impl Model for MemoryModel {
    /// The state after an edge with `rst` high: the words are kept (a reset does not clear a
    /// memory) and the read register holds word 0.
    fn reset(&mut self) {
        self.q = self.words[0].clone();
    }

    fn step(&mut self, inputs: &[Bits]) -> Result<Vec<Bits>, UnitError> {
        check_inputs(&self.params.ports(), inputs)?;
        let out = vec![self.q.clone()];
        let rst = inputs[0].to_u128() != 0;
        let raddr = if rst { 0 } else { inputs[1].to_u128() as usize };
        let width = self.params.width;
        self.q = self
            .words
            .get(raddr)
            .cloned()
            .unwrap_or_else(|| Bits::zero(width));
        if self.params.kind == MemoryKind::Ram && !rst && inputs[2].to_u128() != 0 {
            let waddr = inputs[3].to_u128() as usize;
            if let Some(w) = self.words.get_mut(waddr) {
                *w = inputs[4].clone();
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_counts_follow_the_shapes() {
        // 256 x 24 on iCE40: two 256 x 16 blocks; on 7-series one 512 x 36.
        assert_eq!(block_rams(RamFamily::Ice40, 24, 256), 2);
        assert_eq!(block_rams(RamFamily::Xilinx, 24, 256), 1);
        // 2048 x 4 = 8 kbit: two iCE40 blocks (1024 x 4 each), one 18 kbit block.
        assert_eq!(block_rams(RamFamily::Ice40, 4, 2048), 2);
        assert_eq!(block_rams(RamFamily::Ecp5, 4, 2048), 1);
        // 64 x 784 (TFC layer 0 at 64 cycles): 49 iCE40 blocks, each a quarter used.
        assert_eq!(block_rams(RamFamily::Ice40, 784, 64), 49);
    }

    #[test]
    fn a_ram_reads_old_data_and_ignores_writes_in_reset() {
        let init = (0..4).map(|v| Bits::from_unsigned(8, v).unwrap()).collect();
        let ram = MemoryParams::new(MemoryKind::Ram, 8, init).unwrap();
        let mut m = ram.model();
        let b = |w, v| Bits::from_unsigned(w, v).unwrap();
        // cycle: rst, raddr, we, waddr, wdata
        let step = |m: &mut MemoryModel, rst, ra, we, wa, wd| {
            m.step(&[b(1, rst), b(2, ra), b(1, we), b(2, wa), b(8, wd)])
                .unwrap()[0]
                .to_u128()
        };
        step(&mut m, 1, 3, 1, 1, 0xaa); // reset: reads word 0, write dropped
        assert_eq!(step(&mut m, 0, 1, 1, 1, 0x55), 0); // word 0; reads old word 1, writes it
        assert_eq!(step(&mut m, 0, 1, 0, 0, 0), 1);
        assert_eq!(step(&mut m, 0, 2, 0, 0, 0), 0x55);
        assert_eq!(step(&mut m, 0, 0, 0, 0, 0), 2);
    }

    #[test]
    fn bad_shapes_are_refused() {
        let one = vec![Bits::zero(4)];
        assert!(MemoryParams::new(MemoryKind::Rom, 4, one).is_err());
        let mixed = vec![Bits::zero(4), Bits::zero(5)];
        assert!(MemoryParams::new(MemoryKind::Rom, 4, mixed).is_err());
        assert!(MemoryParams::new(MemoryKind::Rom, 0, vec![]).is_err());
    }
}

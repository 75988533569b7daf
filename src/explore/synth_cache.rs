//! Yosys results cached by a hash of the design, so synthesizing the same design again is free.
//!
//! The key is two FNV-1a 64-bit hashes (plain, and seeded with a prefix) of the design's Verilog
//! text, its top module, the FPGA family and the Yosys version line: a change to any of them is
//! a new design. Each entry is a small JSON file `<key>.json` in the cache folder holding the
//! cell counts and the synthesis time; entries are written atomically, so parallel sweeps may
//! share a folder. The cache counts its hits and misses for the sweep summary.
//!
//! ```no_run
//! use qforge::explore::synth_cache::SynthCache;
//! let cache = SynthCache::open("target/qforge-synth-cache".as_ref())?;
//! println!("hit rate {:.0}%", 100.0 * cache.hit_rate());
//! # Ok::<(), qforge::explore::error::ExploreError>(())
//! ```

use crate::accel::network::NetworkParams;
use crate::accel::unit::Unit;
use crate::explore::error::{EvalError, ExploreError, Result};
use crate::explore::results::write_atomic;
use crate::explore::sweep_file::FpgaTarget;
use crate::hash::fnv1a64;
use crate::hdl::{print_module, Module};
use crate::verify::tools::{locate, Tool};
use crate::verify::yosys::{synth, SynthOptions, Target};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// One cached synthesis result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CachedSynth {
    /// Top module.
    pub top: String,
    /// FPGA family.
    pub target: String,
    /// LUTs.
    pub luts: u64,
    /// Flip-flops.
    pub ffs: u64,
    /// Carry cells.
    pub carries: u64,
    /// DSP blocks.
    pub dsps: u64,
    /// Block-RAM bits (blocks × the family's block size).
    pub bram_bits: u64,
    /// Seconds the synthesis took when it ran.
    pub seconds: f64,
}

/// A cache folder and its hit counters.
#[derive(Debug)]
pub struct SynthCache {
    dir: PathBuf,
    yosys_version: String,
    hits: AtomicU64,
    misses: AtomicU64,
    synth_millis: AtomicU64,
}

/// The Yosys flow of a sweep's FPGA family.
pub fn yosys_target(fpga: FpgaTarget) -> Target {
    match fpga {
        FpgaTarget::Ice40 => Target::Ice40,
        FpgaTarget::Xilinx => Target::Xilinx,
        FpgaTarget::Ecp5 => Target::Ecp5,
    }
}

/// Bits of one block RAM of a family (SB_RAM40_4K, RAMB18, DP16KD).
pub fn bram_block_bits(fpga: FpgaTarget) -> u64 {
    match fpga {
        FpgaTarget::Ice40 => 4096,
        FpgaTarget::Xilinx | FpgaTarget::Ecp5 => 18 * 1024,
    }
}

/// The Verilog text of modules, each module once (by name), in order.
pub fn design_text(modules: &[Module]) -> String {
    let mut seen = BTreeSet::new();
    let mut text = String::new();
    for m in modules {
        if seen.insert(m.name.clone()) {
            text += &print_module(m);
            text.push('\n');
        }
    }
    text
}

impl SynthCache {
    /// Opens (creating) a cache folder; finds Yosys and reads its version.
    pub fn open(dir: &Path) -> Result<SynthCache> {
        std::fs::create_dir_all(dir).map_err(|e| ExploreError::io(dir, e))?;
        let yosys = locate(Tool::Yosys).map_err(|e| ExploreError::NoEvaluator(e.to_string()))?;
        let yosys_version = yosys
            .version()
            .map_err(|e| ExploreError::NoEvaluator(e.to_string()))?;
        Ok(SynthCache {
            dir: dir.to_path_buf(),
            yosys_version,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            synth_millis: AtomicU64::new(0),
        })
    }

    /// The Yosys version line the keys include.
    pub fn yosys_version(&self) -> &str {
        &self.yosys_version
    }

    /// The cache key of a design.
    pub fn key(&self, text: &str, top: &str, fpga: FpgaTarget) -> String {
        let payload = format!(
            "{text}\n// top={top} target={} yosys={}\n",
            fpga.name(),
            self.yosys_version
        );
        let a = fnv1a64(payload.as_bytes());
        let b = fnv1a64(format!("qforge-synth-cache\n{payload}").as_bytes());
        format!("{a:016x}{b:016x}")
    }

    /// Synthesizes `modules` (top `top`) for `fpga`, or returns the cached counts.
    pub fn synth_modules(
        &self,
        modules: &[Module],
        top: &str,
        fpga: FpgaTarget,
    ) -> Result<CachedSynth> {
        let text = design_text(modules);
        let key = self.key(&text, top, fpga);
        let entry = self.dir.join(format!("{key}.json"));
        if let Ok(bytes) = std::fs::read(&entry) {
            if let Ok(c) = serde_json::from_slice::<CachedSynth>(&bytes) {
                self.hits.fetch_add(1, Ordering::Relaxed);
                return Ok(c);
            }
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let work = self.dir.join(format!("work-{key}"));
        std::fs::create_dir_all(&work).map_err(|e| ExploreError::io(&work, e))?;
        let source = work.join("design.v");
        std::fs::write(&source, &text).map_err(|e| ExploreError::io(&source, e))?;
        let report = synth(
            std::slice::from_ref(&source),
            top,
            yosys_target(fpga),
            &SynthOptions::default(),
        );
        let _ = std::fs::remove_dir_all(&work);
        let report = report.map_err(|e| ExploreError::Evaluation {
            id: key.clone(),
            label: top.to_string(),
            error: Box::new(EvalError::Yosys(e)),
        })?;
        self.synth_millis
            .fetch_add((report.seconds * 1000.0) as u64, Ordering::Relaxed);
        let c = CachedSynth {
            top: top.to_string(),
            target: fpga.name().to_string(),
            luts: report.luts,
            ffs: report.ffs,
            carries: report.carries,
            dsps: report.dsps,
            bram_bits: report.brams * bram_block_bits(fpga),
            seconds: report.seconds,
        };
        let json = serde_json::to_vec(&c).map_err(|e| ExploreError::Evaluation {
            id: key,
            label: top.to_string(),
            error: Box::new(EvalError::CacheEntry(e)),
        })?;
        write_atomic(&entry, &json)?;
        Ok(c)
    }

    /// Synthesizes a network's Verilog for `fpga` (cached).
    pub fn synth_network(&self, net: &NetworkParams, fpga: FpgaTarget) -> Result<CachedSynth> {
        let modules = net.verilog().map_err(|e| ExploreError::Evaluation {
            id: "-".into(),
            label: net.name(),
            error: Box::new(EvalError::Verilog(e)),
        })?;
        self.synth_modules(&modules, &net.name(), fpga)
    }

    /// Lookups answered from the cache.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Lookups that ran Yosys.
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    /// Hits over lookups (0 before any lookup).
    pub fn hit_rate(&self) -> f64 {
        let (h, m) = (self.hits(), self.misses());
        if h + m == 0 {
            0.0
        } else {
            h as f64 / (h + m) as f64
        }
    }

    /// Seconds spent in Yosys by the misses (summed over threads).
    pub fn synth_seconds(&self) -> f64 {
        self.synth_millis.load(Ordering::Relaxed) as f64 / 1000.0
    }
}

//! The grid of a sweep: the Cartesian product of its axes, pruned by its constraints.
//!
//! The order is deterministic: axes vary in the order `weight_scheme, weight_bits,
//! activation_bits, layer_overrides, training, calibration, scale_bits, accumulator, folding, fpga`, the
//! last fastest, each in its file order. Every point has a stable id, 16 hex digits of the FNV-1a
//! 64-bit hash of its canonical key (the axis values spelled out), so the same point has the same
//! id in every sweep that contains it, and a readable label. The sweep hash is the FNV-1a hash of
//! all point keys in grid order: two results folders with the same sweep hash hold the same grid.
//!
//! ```
//! use qforge::explore::{grid::Grid, sweep_file::SweepFile};
//! let text = r#"(name: "t", model: "m.ron", axes: (weight_scheme: [uniform, binary],
//!     weight_bits: [1, 4], activation_bits: [8], calibration: [minmax], scale_bits: [8],
//!     accumulator: [proven], folding: [fully_parallel], fpga: [ice40]))"#;
//! let grid = Grid::new(&SweepFile::parse(text, "t.ron").unwrap(), "t.ron").unwrap();
//! // scheme_bits keeps uniform 4-bit and binary 1-bit only.
//! assert_eq!(grid.points().len(), 2);
//! assert_eq!(grid.points()[0].label, "uniform W4A8 minmax s8 acc:proven fully_parallel ice40");
//! ```

use crate::explore::error::{ExploreError, Result};
use crate::explore::sweep_file::{
    AccumulatorPolicy, Calibration, Constraint, Folding, FpgaTarget, LayerOverride, SweepFile,
    Training, WeightFamily,
};
use crate::hash::{fnv1a64, Fnv1a64};
use crate::position::{locate_nearest, ValuePath};
use serde::{Deserialize, Serialize};

/// The axis values of one point: everything an evaluator needs besides the model.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PointConfig {
    /// Weight coding scheme.
    pub weight_scheme: WeightFamily,
    /// Global weight width.
    pub weight_bits: u32,
    /// Global activation width.
    pub activation_bits: u32,
    /// Per-layer overrides (empty: uniform precision).
    pub layer_overrides: Vec<LayerOverride>,
    /// Post-training quantization or quantization-aware training (absent in the results of
    /// sweeps before the axis existed: `ptq`).
    #[serde(default, skip_serializing_if = "is_ptq")]
    pub training: Training,
    /// Calibration method.
    pub calibration: Calibration,
    /// Width of the requantization multiplier.
    pub scale_bits: u32,
    /// Width of the stored biases (`None`: every bit; absent in the results of sweeps before
    /// the axis existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bias_bits: Option<u32>,
    /// Accumulator policy.
    pub accumulator: AccumulatorPolicy,
    /// Folding target.
    pub folding: Folding,
    /// FPGA family.
    pub fpga: FpgaTarget,
}

fn is_ptq(t: &Training) -> bool {
    *t == Training::Ptq
}

impl PointConfig {
    /// The canonical key the id is hashed from; it spells out every axis value (a `ptq` point
    /// has no training entry and a point with full-width biases no bias entry, so their ids
    /// are the ones they had before those axes existed).
    pub fn key(&self) -> String {
        let training = if self.training.is_qat() {
            format!(";train={}", self.training)
        } else {
            String::new()
        };
        let bias = self
            .bias_bits
            .map_or(String::new(), |b| format!(";bias={b}"));
        format!(
            "scheme={};wb={};ab={};ovr={}{training};cal={};sb={}{bias};acc={};fold={};fpga={}",
            self.weight_scheme.name(),
            self.weight_bits,
            self.activation_bits,
            self.overrides_text(),
            self.calibration.name(),
            self.scale_bits,
            self.accumulator,
            self.folding,
            self.fpga.name()
        )
    }

    /// The overrides as text: `L0:W8A8 L2:W2`, empty without overrides.
    pub fn overrides_text(&self) -> String {
        let parts: Vec<String> = self.layer_overrides.iter().map(|o| o.to_string()).collect();
        parts.join(" ")
    }

    /// The stable id: 16 lowercase hex digits of FNV-1a 64 over [`PointConfig::key`].
    pub fn id(&self) -> String {
        format!("{:016x}", fnv1a64(self.key().as_bytes()))
    }

    /// A readable label, e.g. `pot W4A8 [L0:W8A8] mse s8 acc:16sat pe_budget(64) ice40`, with
    /// the training after the widths when it is not `ptq`: `pot W4A4 qat(epochs: 30) mse ...`.
    pub fn label(&self) -> String {
        let overrides = if self.layer_overrides.is_empty() {
            String::new()
        } else {
            format!(" [{}]", self.overrides_text())
        };
        let training = if self.training.is_qat() {
            format!(" {}", self.training)
        } else {
            String::new()
        };
        let bias = self.bias_bits.map_or(String::new(), |b| format!(" b{b}"));
        format!(
            "{} W{}A{}{}{} {} s{}{} acc:{} {} {}",
            self.weight_scheme.name(),
            self.weight_bits,
            self.activation_bits,
            overrides,
            training,
            self.calibration.name(),
            self.scale_bits,
            bias,
            self.accumulator,
            self.folding,
            self.fpga.name()
        )
    }

    fn satisfies(&self, constraint: Constraint) -> bool {
        let layer_bits = self.layer_overrides.iter().map(|o| {
            (
                o.weight_bits.unwrap_or(self.weight_bits),
                o.activation_bits.unwrap_or(self.activation_bits),
            )
        });
        let mut all = std::iter::once((self.weight_bits, self.activation_bits)).chain(layer_bits);
        match constraint {
            Constraint::SchemeBits => {
                let range = self.weight_scheme.weight_bit_range();
                all.all(|(w, _)| range.contains(&w))
            }
            Constraint::WeightBitsLeActivationBits => all.all(|(w, a)| w <= a),
        }
    }
}

/// One point of a grid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Point {
    /// Position in grid order (after constraints), from 0.
    pub index: usize,
    /// Stable id ([`PointConfig::id`]).
    pub id: String,
    /// Readable label ([`PointConfig::label`]).
    pub label: String,
    /// The axis values.
    pub config: PointConfig,
}

/// The most combinations (before constraints) a grid may have.
pub const MAX_GRID_POINTS: usize = 1_000_000;

/// The points of a sweep in grid order.
#[derive(Debug, Clone)]
pub struct Grid {
    points: Vec<Point>,
    hash: String,
}

impl Grid {
    /// Expands a sweep file; `file` names it in errors (a grid the constraints empty is an error).
    pub fn new(sweep: &SweepFile, file: &str) -> Result<Grid> {
        let a = &sweep.axes;
        let product = a.combinations();
        if product > MAX_GRID_POINTS {
            return Err(ExploreError::SweepFile {
                file: file.to_string(),
                line: 1,
                col: 1,
                message: format!(
                    "the axes span {product} combinations, more than the {MAX_GRID_POINTS} a sweep may have: \
                     split it into several sweeps or narrow the axes"
                ),
            });
        }
        let mut points = Vec::new();
        let mut hasher = Fnv1a64::new();
        for &weight_scheme in a.weight_scheme.values() {
            for &weight_bits in a.weight_bits.values() {
                for &activation_bits in a.activation_bits.values() {
                    for overrides in a.layer_overrides.values() {
                        for training in a.training.values() {
                            for config in rest_of_axes(
                                a,
                                weight_scheme,
                                weight_bits,
                                activation_bits,
                                overrides,
                                training,
                            ) {
                                if sweep.constraints.iter().all(|&c| config.satisfies(c)) {
                                    hasher.str(&config.key()).u8(b'\n');
                                    points.push(Point {
                                        index: points.len(),
                                        id: config.id(),
                                        label: config.label(),
                                        config,
                                    });
                                }
                            }
                        }
                    }
                }
            }
        }
        // The data set is part of what a result means; digits, the default, adds nothing, so
        // digits sweeps keep their hashes.
        if let Some(data) = &sweep.data {
            hasher.str("data ").str(data).u8(b'\n');
        }
        if let Some(images) = sweep.images {
            hasher.str(&format!("images {images}")).u8(b'\n');
        }
        if points.is_empty() {
            let names: Vec<&str> = sweep.constraints.iter().map(|c| c.name()).collect();
            // The position of the constraints in the file, when the file can be read again
            // (a sweep given as text has none).
            let (line, col) = std::fs::read_to_string(file).ok().map_or((1, 1), |text| {
                locate_nearest(&text, &ValuePath::field("constraints"))
            });
            return Err(ExploreError::SweepFile {
                file: file.to_string(),
                line,
                col,
                message: format!(
                    "the constraints [{}] leave no point of the grid",
                    names.join(", ")
                ),
            });
        }
        Ok(Grid {
            points,
            hash: format!("{:016x}", hasher.finish()),
        })
    }

    /// The points in grid order.
    pub fn points(&self) -> &[Point] {
        &self.points
    }

    /// The sweep hash: FNV-1a 64 over every point key in grid order.
    pub fn hash(&self) -> &str {
        &self.hash
    }
}

/// The points of the axes after `training`, in grid order, for fixed values of the axes before.
fn rest_of_axes<'a>(
    a: &'a crate::explore::sweep_file::Axes,
    weight_scheme: WeightFamily,
    weight_bits: u32,
    activation_bits: u32,
    overrides: &'a [LayerOverride],
    training: &'a Training,
) -> impl Iterator<Item = PointConfig> + 'a {
    a.calibration.values().iter().flat_map(move |&calibration| {
        a.scale_bits.values().iter().flat_map(move |&scale_bits| {
            a.bias_bits.values().iter().flat_map(move |&bias_bits| {
                a.accumulator.values().iter().flat_map(move |&accumulator| {
                    a.folding.values().iter().flat_map(move |&folding| {
                        a.fpga.values().iter().map(move |&fpga| PointConfig {
                            weight_scheme,
                            weight_bits,
                            activation_bits,
                            layer_overrides: overrides.to_vec(),
                            training: training.clone(),
                            calibration,
                            scale_bits,
                            bias_bits,
                            accumulator,
                            folding,
                            fpga,
                        })
                    })
                })
            })
        })
    })
}

/// A deterministic slice of a grid: the points whose index is `i` modulo `n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// This shard, `0 <= index < count`.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

impl Shard {
    /// Parses `i/n`.
    pub fn parse(text: &str) -> Result<Shard> {
        let bad = || ExploreError::BadShard(text.to_string());
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// Whether the point with this grid index belongs to the shard.
    pub fn contains(&self, index: usize) -> bool {
        index % self.count == self.index
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

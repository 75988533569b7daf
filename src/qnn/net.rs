//! The integer network: input quantization, a sequence of layers, validation and file I/O.

use super::accum::AccCertificate;
use super::conv::{Conv2d, MaxPool2d};
use super::dense::{Dense, LayerOutput};
use super::error::QnnError;
use super::fixed_dense::FixedDense;
use super::format::IntFormat;
use crate::num::fixed::FixedFormat;
use crate::num::rounding::RoundingMode;
use crate::position::{locate, ValuePath};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// How real inputs become the first layer's codes: `code = clamp(round(x / scale))`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputQuant {
    /// The input code range (values beyond it saturate).
    pub format: IntFormat,
    /// Real value of one input code.
    pub scale: f64,
    /// Rounding of `x / scale`.
    pub rounding: RoundingMode,
    /// If set, inputs are cast exactly as into this ap_fixed type (its own rounding and
    /// overflow), overriding `rounding` and saturation; `format` and `scale` must match it.
    #[serde(default)]
    pub fixed: Option<FixedFormat>,
}

impl InputQuant {
    /// The code of one real input. Computed in f64, so exact when `scale` is a power of two
    /// (as for the digits inputs, multiples of 1/16); NaN maps to 0.
    pub fn quantize(&self, x: f64) -> i32 {
        if let Some(f) = self.fixed {
            return f.cast_f64_raw(x).unwrap_or(0) as i32;
        }
        let v = x / self.scale;
        if v.is_nan() {
            return 0;
        }
        let r = round_f64(v, self.rounding);
        r.clamp(self.format.min() as f64, self.format.max() as f64) as i32
    }
}

/// Rounds a finite or infinite f64 to an integer-valued f64 with `mode`.
pub(crate) fn round_f64(v: f64, mode: RoundingMode) -> f64 {
    let fl = v.floor();
    let frac = v - fl;
    if frac == 0.0 || !v.is_finite() {
        return fl;
    }
    let neg = v < 0.0;
    let up = match mode {
        RoundingMode::Floor => false,
        RoundingMode::Ceil => true,
        RoundingMode::TowardZero => neg,
        RoundingMode::AwayFromZero => !neg,
        _ if frac < 0.5 => false,
        _ if frac > 0.5 => true,
        RoundingMode::HalfToPosInf => true,
        RoundingMode::HalfToNegInf => false,
        RoundingMode::HalfTowardZero => neg,
        RoundingMode::HalfAwayFromZero => !neg,
        RoundingMode::HalfEven => fl.rem_euclid(2.0) != 0.0,
        RoundingMode::HalfOdd => fl.rem_euclid(2.0) == 0.0,
    };
    if up {
        fl + 1.0
    } else {
        fl
    }
}

/// One layer of the integer network.
// A network holds a handful of layers, so boxing the larger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Layer {
    /// Fully connected.
    Dense(Dense),
    /// Fully connected in the hls4ml precision style (ap_fixed types throughout).
    FixedDense(FixedDense),
    /// 2-D convolution on CHW codes.
    Conv2d(Conv2d),
    /// Max pooling on CHW codes (the codes keep their format).
    MaxPool2d(MaxPool2d),
}

impl Layer {
    /// Multiply-accumulates per sample.
    pub fn macs(&self) -> u64 {
        match self {
            Layer::Dense(d) => d.macs(),
            Layer::FixedDense(d) => d.macs(),
            Layer::Conv2d(c) => c.macs(),
            Layer::MaxPool2d(_) => 0,
        }
    }

    /// Weight memory in bits.
    pub fn weight_bits(&self) -> u64 {
        match self {
            Layer::Dense(d) => d.weight_bits(),
            Layer::FixedDense(d) => u64::from(d.weight.width()) * d.weights.len() as u64,
            Layer::Conv2d(c) => u64::from(c.weights.code_bits()) * c.codes.len() as u64,
            Layer::MaxPool2d(_) => 0,
        }
    }

    /// Number of input values per sample.
    pub fn in_features(&self) -> usize {
        match self {
            Layer::Dense(d) => d.in_features,
            Layer::FixedDense(d) => d.in_features,
            Layer::Conv2d(c) => c.in_features(),
            Layer::MaxPool2d(p) => p.in_features(),
        }
    }

    /// Number of output values per sample.
    pub fn out_features(&self) -> usize {
        match self {
            Layer::Dense(d) => d.out_features,
            Layer::FixedDense(d) => d.out_features,
            Layer::Conv2d(c) => c.out_features(),
            Layer::MaxPool2d(p) => p.out_features(),
        }
    }

    /// The code format the layer emits (`None`: raw accumulators, or for max pooling the format
    /// of its input; see [`QNet::layer_output_format`]).
    pub fn output_format(&self) -> Option<IntFormat> {
        match self {
            Layer::Dense(d) => d.output_format(),
            Layer::FixedDense(d) => Some(d.output_format()),
            Layer::Conv2d(c) => c.output.format(),
            Layer::MaxPool2d(_) => None,
        }
    }
}

/// An integer network: every value in inference is an integer code; real scales ride along
/// for reporting and for dequantizing the outputs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QNet {
    /// A free-form name.
    #[serde(default)]
    pub name: String,
    /// How real inputs become codes.
    pub input: InputQuant,
    /// The layers, in order; each layer's input format is the previous one's output format.
    pub layers: Vec<Layer>,
}

impl QNet {
    /// Checks every layer and the chaining of sizes and formats.
    pub fn validate(&self) -> Result<(), QnnError> {
        self.input.format.check()?;
        if self.input.format.is_bipolar() {
            return Err(QnnError::Net(
                "the input format cannot be bipolar: inputs are coded as integers".into(),
            ));
        }
        if let Some(f) = self.input.fixed {
            if super::fixed_dense::int_format(f) != self.input.format {
                return Err(QnnError::Net(format!(
                    "input type {f} does not match the input format {}",
                    self.input.format
                )));
            }
        }
        if !(self.input.scale.is_finite() && self.input.scale > 0.0) {
            return Err(QnnError::Net(format!(
                "input scale ({}) must be positive and finite",
                self.input.scale
            )));
        }
        if self.layers.is_empty() {
            return Err(QnnError::Net("a network needs at least one layer".into()));
        }
        let mut features = None::<usize>;
        for (k, layer) in self.layers.iter().enumerate() {
            match layer {
                Layer::Dense(d) => d.check(k)?,
                Layer::Conv2d(c) => c.check(k)?,
                Layer::MaxPool2d(p) => {
                    p.check(k)?;
                    if k == 0 {
                        return Err(super::error::layer_err(
                            k,
                            "max pooling cannot be the first layer",
                        ));
                    }
                }
                Layer::FixedDense(d) => {
                    d.check(k)?;
                    if k + 1 < self.layers.len() && d.output_type().width() > 32 {
                        return Err(super::error::layer_err(
                            k,
                            format!(
                                "output type {} feeds another layer, so must be at most 32 bits",
                                d.output_type()
                            ),
                        ));
                    }
                    let given = self.layer_input_format(k);
                    if super::fixed_dense::int_format(d.input) != given {
                        return Err(super::error::layer_err(
                            k,
                            format!(
                                "input type {} does not match the incoming codes ({given})",
                                d.input
                            ),
                        ));
                    }
                }
            }
            if let Some(f) = features {
                if f != layer.in_features() {
                    return Err(super::error::layer_err(
                        k,
                        format!(
                            "in_features ({}) must equal the previous layer's out_features ({f})",
                            layer.in_features()
                        ),
                    ));
                }
            }
            features = Some(layer.out_features());
            if k + 1 < self.layers.len() && self.layer_output_format(k).is_none() {
                return Err(super::error::layer_err(
                    k,
                    "only the last layer may output raw accumulators",
                ));
            }
        }
        for c in self.certificates() {
            let last = c.layer + 1 == self.layers.len();
            if last && c.bits > 64 {
                return Err(super::error::layer_err(
                    c.layer,
                    format!(
                        "raw accumulator outputs need {} bits; at most 64 are supported",
                        c.bits
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Input values per sample.
    pub fn in_features(&self) -> usize {
        self.layers.first().map_or(0, Layer::in_features)
    }

    /// Output values per sample.
    pub fn out_features(&self) -> usize {
        self.layers.last().map_or(0, Layer::out_features)
    }

    /// Multiply-accumulates per sample.
    pub fn macs(&self) -> u64 {
        self.layers.iter().map(Layer::macs).sum()
    }

    /// Weight memory in bits.
    pub fn weight_bits(&self) -> u64 {
        self.layers.iter().map(Layer::weight_bits).sum()
    }

    /// The input format of layer `k`.
    pub fn layer_input_format(&self, k: usize) -> IntFormat {
        if k == 0 {
            self.input.format
        } else {
            self.layer_output_format(k - 1).unwrap_or(self.input.format)
        }
    }

    /// The code format layer `k` emits (`None`: raw accumulators); max pooling passes its
    /// input's format through.
    pub fn layer_output_format(&self, k: usize) -> Option<IntFormat> {
        match &self.layers[k] {
            Layer::MaxPool2d(_) if k > 0 => self.layer_output_format(k - 1),
            Layer::MaxPool2d(_) => Some(self.input.format),
            l => l.output_format(),
        }
    }

    /// The accumulator certificate of layer `k`, if it accumulates.
    pub fn certificate_of(&self, k: usize) -> Option<AccCertificate> {
        match &self.layers[k] {
            Layer::Dense(d) => Some(d.certificate(k, self.layer_input_format(k))),
            Layer::FixedDense(d) => Some(d.certificate(k)),
            Layer::Conv2d(c) => Some(c.certificate(k, self.layer_input_format(k))),
            Layer::MaxPool2d(_) => None,
        }
    }

    /// The accumulator certificate of every accumulating layer (min/max reachable value,
    /// proven width), in layer order; [`AccCertificate::layer`] names the layer.
    pub fn certificates(&self) -> Vec<AccCertificate> {
        (0..self.layers.len())
            .filter_map(|k| self.certificate_of(k))
            .collect()
    }

    /// Replaces every layer's unspecified accumulator width by its proven width, so the file
    /// states the width the hardware must build.
    pub fn pin_accumulator_widths(&mut self) {
        for c in self.certificates() {
            match &mut self.layers[c.layer] {
                Layer::Dense(d) => {
                    d.accumulator.bits.get_or_insert(c.proven_bits);
                }
                Layer::Conv2d(d) => {
                    d.accumulator.bits.get_or_insert(c.proven_bits);
                }
                Layer::FixedDense(_) | Layer::MaxPool2d(_) => {}
            }
        }
    }

    /// Quantizes a batch of real inputs (row-major, `in_features` per sample) to codes.
    pub fn quantize_inputs(&self, x: &[f32]) -> Vec<i32> {
        x.iter()
            .map(|&v| self.input.quantize(f64::from(v)))
            .collect()
    }

    /// The real value of output `j` holding `v` (raw accumulator or output code).
    pub fn dequantize_output(&self, j: usize, v: i64) -> f64 {
        let mut k = self.layers.len();
        while k > 0 && matches!(self.layers[k - 1], Layer::MaxPool2d(_)) {
            k -= 1;
        }
        if k == 0 {
            return v as f64 * self.input.scale;
        }
        match &self.layers[k - 1] {
            Layer::Dense(d) => match &d.output {
                LayerOutput::Accumulator => v as f64 * d.acc_scale_of(j),
                LayerOutput::Requant(r) => v as f64 * r.output_scale,
                LayerOutput::Sign(s) => v as f64 * s.output_scale,
            },
            Layer::FixedDense(d) => v as f64 * (-d.output_type().frac_bits() as f64).exp2(),
            Layer::Conv2d(c) => match &c.output {
                LayerOutput::Accumulator => {
                    let (h, w) = c.out_hw();
                    let o = j / (h * w).max(1);
                    v as f64 * c.acc_scale[if c.acc_scale.len() == 1 { 0 } else { o }]
                }
                LayerOutput::Requant(r) => v as f64 * r.output_scale,
                LayerOutput::Sign(s) => v as f64 * s.output_scale,
            },
            Layer::MaxPool2d(_) => v as f64,
        }
    }

    /// The predicted class of one sample's outputs: the index of the largest *real* value
    /// (per-channel scales make raw accumulators incomparable), the first on ties.
    pub fn class_of(&self, outputs: &[i64]) -> usize {
        let mut best = 0;
        let mut best_v = f64::NEG_INFINITY;
        for (j, &v) in outputs.iter().enumerate() {
            let r = self.dequantize_output(j, v);
            if r > best_v {
                best = j;
                best_v = r;
            }
        }
        best
    }

    /// Parses an integer-model file's text; `path` is used in messages (`path:line:col: ...`).
    pub fn from_ron_str(text: &str, path: &str) -> Result<QNet, QnnError> {
        let net: QNet = ron::from_str(text).map_err(|e| QnnError::Parse {
            path: path.to_string(),
            line: e.span.start.line,
            col: e.span.start.col,
            // The file does not spell the type's name: say what it is.
            message: e.code.to_string().replace("`QNet`", "the integer model"),
        })?;
        net.validate().map_err(|e| {
            let (line, col) = match &e {
                QnnError::Layer { layer, .. } => {
                    locate(text, &ValuePath::field("layers").index(*layer)).unwrap_or((1, 1))
                }
                _ => (1, 1),
            };
            QnnError::Invalid {
                path: path.to_string(),
                line,
                col,
                source: Box::new(e),
            }
        })?;
        Ok(net)
    }

    /// Reads and validates an integer-model file.
    pub fn load(path: &Path) -> Result<QNet, QnnError> {
        let text = std::fs::read_to_string(path).map_err(|source| QnnError::Io {
            path: path.display().to_string(),
            source,
        })?;
        QNet::from_ron_str(&text, &path.display().to_string())
    }

    /// The network as RON text.
    pub fn to_ron_string(&self) -> String {
        let cfg = ron::ser::PrettyConfig::new()
            .depth_limit(4)
            .compact_arrays(true);
        ron::ser::to_string_pretty(self, cfg).unwrap_or_default()
    }

    /// Writes the network as an integer-model file.
    pub fn save(&self, path: &Path) -> Result<(), QnnError> {
        crate::outdir::write_file(path, self.to_ron_string().as_bytes()).map_err(|source| {
            QnnError::Io {
                path: path.display().to_string(),
                source,
            }
        })
    }
}

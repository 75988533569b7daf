//! QONNX import: a quantized MLP exported as QONNX (Brevitas, QKeras via qonnx, FINN-ONNX before
//! streamlining) read into the integer network.
//!
//! What is read: a chain from the graph input to the graph output of
//! * `Quant` and `BipolarQuant` (the `qonnx.custom_op.general` domain; QONNX IntQuant:
//!   `q = clamp(round(x / scale + zeropt))`, every rounding mode of
//!   [`RoundingMode::from_qonnx`], signed or not, narrow or not, zero point 0) on the graph input
//!   (the input codes), on each weight and bias initializer (folded into integer codes here), and
//!   after each hidden layer (its activation codes);
//! * `Gemm` (`alpha = beta = 1`, `transA = 0`, either `transB`) or `MatMul` then `Add`, with the
//!   weight per tensor or per output channel;
//! * `Relu` between a layer and its activation `Quant`; `Flatten`, `Reshape` and `Identity`
//!   pass the chain through (the inputs are flat vectors already).
//!
//! Two translations, chosen by the model (the import report says which):
//! * **exact fixed point**: every scale a power of two and float biases. The layers are
//!   ap_fixed datapaths ([`FixedDense`]): the biases held exactly with as many fractional bits as
//!   they need, the accumulator exact, the activation `Quant` a saturating, rounding cast. The
//!   logits are the exact dyadic values of the QONNX graph (its float32 executor agrees after
//!   rounding to float32). The hardware flow does not take fixed-point layers yet.
//! * **integer**: biases quantized by a `Quant` at the accumulator scale `s_in · s_w` (Brevitas'
//!   `Int32Bias`), or float biases, which are then rounded to that scale (reported). The
//!   activation `Quant` becomes requantization by `M / 2^S ≈ s_acc / s_act` with a 31-bit `M`
//!   (exact when the ratio is a power of two). These layers go to hardware like any other.
//!
//! Binary networks: `BipolarQuant`, and a 1-bit signed `Quant` (which QONNX reads as ±1, not
//! {−1, 0}), make binary weights and sign activations; a float bias before a sign becomes the
//! exact integer threshold `floor(b / s_acc)`, so `acc · s_acc + b ≥ 0` is decided exactly.
//!
//! Anything else (another op, a non-zero zero point, a convolution) is refused with one line
//! naming the node, its op type and what is supported.

use super::accum::Accumulator;
use super::dense::Dense;
use super::dense::SignOutput;
use super::error::QnnError;
use super::fixed_dense::FixedDense;
use super::format::IntFormat;
use super::net::{InputQuant, Layer, QNet};
use super::requant::Requant;
use super::LayerOutput;
use crate::num::fixed::FixedFormat;
use crate::num::overflow::OverflowMode;
use crate::num::rounding::RoundingMode;
use crate::num::weights::WeightCode;
use crate::onnx::{Attribute, GraphProto, ModelProto, NodeProto, TensorProto};
use crate::quant::intquant::IntQuant;
use std::collections::BTreeMap;
use std::path::Path;

/// What an import did, for the user: one line per fact.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// The lines, in order.
    pub lines: Vec<String>,
}

/// Reads a QONNX file into an integer network and says how.
pub fn load(path: &Path) -> Result<(QNet, ImportReport), QnnError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| QnnError::Io {
        path: name.clone(),
        source,
    })?;
    let model = ModelProto::decode(&bytes).map_err(|e| QnnError::Import {
        path: name.clone(),
        message: format!("not a readable ONNX file: {e}"),
    })?;
    let net_name = path
        .file_stem()
        .map_or("qonnx".to_string(), |s| s.to_string_lossy().into_owned());
    import(&model.graph, &net_name).map_err(|message| QnnError::Import {
        path: name,
        message,
    })
}

/// Is this file name one [`load`] reads (`.onnx`)?
pub fn is_onnx(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("onnx"))
}

/// A `Quant` node's parameters.
#[derive(Clone, Debug)]
struct QuantParams {
    /// One scale, or one per output channel.
    scale: Vec<f64>,
    /// ±1 times the scale (`BipolarQuant`, or a 1-bit signed `Quant`, which QONNX reads so):
    /// `x ≥ 0 → +1`, else −1.
    bipolar: bool,
    bits: u32,
    signed: bool,
    narrow: bool,
    rounding: RoundingMode,
}

/// A constant folded through its `Quant`: integer codes and their scale.
#[derive(Clone, Debug)]
struct QuantConst {
    dims: Vec<i64>,
    codes: Vec<i64>,
    q: QuantParams,
}

/// A weight or bias input of a layer.
#[derive(Clone, Debug)]
enum Operand {
    Quantized(QuantConst),
    Float(TensorProto),
}

/// A dense layer read but not finished (its activation comes next).
struct Pending {
    node: String,
    in_features: usize,
    out_features: usize,
    /// `[out][in]` codes.
    codes: Vec<i64>,
    weight: QuantParams,
    bias: Option<Operand>,
    relu: bool,
}

fn node_error(n: &NodeProto, message: impl std::fmt::Display) -> String {
    format!("node `{}` ({}): {message}", n.label(), n.op_type)
}

fn int_attr(n: &NodeProto, name: &str, default: i64) -> Result<i64, String> {
    match n.attributes.get(name) {
        None => Ok(default),
        Some(Attribute::Int(i)) => Ok(*i),
        Some(other) => Err(node_error(
            n,
            format!("attribute {name} is {other:?}, expected an integer"),
        )),
    }
}

fn float_attr(n: &NodeProto, name: &str, default: f32) -> Result<f32, String> {
    match n.attributes.get(name) {
        None => Ok(default),
        Some(Attribute::Float(f)) => Ok(*f),
        Some(other) => Err(node_error(
            n,
            format!("attribute {name} is {other:?}, expected a float"),
        )),
    }
}

const SUPPORTED: &str =
    "supported: Quant, BipolarQuant, Gemm, MatMul, Add, Relu, Flatten, Reshape, Identity, Constant";

/// The graph's constants: initializers and `Constant` nodes, each followed through `Identity`.
fn constants(g: &GraphProto) -> Result<BTreeMap<String, TensorProto>, String> {
    let mut c = g.initializers.clone();
    for n in &g.nodes {
        match n.op_type.as_str() {
            "Constant" => match n.attributes.get("value") {
                Some(Attribute::Tensor(t)) => {
                    for o in &n.outputs {
                        c.insert(o.clone(), t.clone());
                    }
                }
                _ => return Err(node_error(n, "only a `value` tensor is supported")),
            },
            "Identity" => {
                if let Some(t) = n.inputs.first().and_then(|i| c.get(i)).cloned() {
                    for o in &n.outputs {
                        c.insert(o.clone(), t.clone());
                    }
                }
            }
            _ => {}
        }
    }
    Ok(c)
}

fn scalar(
    consts: &BTreeMap<String, TensorProto>,
    n: &NodeProto,
    k: usize,
    what: &str,
) -> Result<Vec<f64>, String> {
    let name = n
        .inputs
        .get(k)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| node_error(n, format!("no {what} input")))?;
    let t = consts
        .get(name)
        .ok_or_else(|| node_error(n, format!("its {what} `{name}` is not a constant")))?;
    Ok(t.values.clone())
}

/// A quantizer's scales must all be finite and positive, and there must be one.
fn check_scale(n: &NodeProto, scale: &[f64]) -> Result<(), String> {
    if scale.is_empty() || scale.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
        return Err(node_error(
            n,
            format!("scale {scale:?} must be finite and positive"),
        ));
    }
    Ok(())
}

/// Channel `c`'s entry of per-tensor (one value) or per-channel values.
fn per_channel(values: &[f64], c: usize) -> f64 {
    values[if values.len() == 1 { 0 } else { c }]
}

/// A signed fixed-point type of `int_bits` and `frac_bits`, truncating and saturating (the
/// bias and accumulator types of a fixed-point layer, which hold their values exactly).
fn exact_fixed(int_bits: i32, frac_bits: i32) -> Result<FixedFormat, String> {
    FixedFormat::new(
        (frac_bits + int_bits) as u32,
        int_bits,
        true,
        RoundingMode::Floor,
        OverflowMode::Saturate,
    )
    .map_err(|e| e.to_string())
}

/// The network input a quantizer gives (`fixed`: cast exactly into that type).
fn input_quant(in_q: &QuantParams, fixed: Option<FixedFormat>) -> Result<InputQuant, String> {
    Ok(InputQuant {
        format: IntFormat::new(in_q.bits, in_q.signed).map_err(|e| e.to_string())?,
        scale: in_q.scale[0],
        rounding: in_q.rounding,
        fixed,
    })
}

/// The parameters of a `Quant` (or `IntQuant`) node; its inputs 1..=3 must be constants.
fn quant_params(
    consts: &BTreeMap<String, TensorProto>,
    n: &NodeProto,
) -> Result<QuantParams, String> {
    if !n.domain.is_empty() && !n.domain.starts_with("qonnx") && !n.domain.starts_with("finn") {
        return Err(node_error(
            n,
            format!("domain `{}` is not QONNX's", n.domain),
        ));
    }
    let scale = scalar(consts, n, 1, "scale")?;
    if n.op_type == "BipolarQuant" {
        check_scale(n, &scale)?;
        return Ok(QuantParams {
            scale,
            bipolar: true,
            bits: 1,
            signed: true,
            narrow: false,
            rounding: RoundingMode::HalfEven,
        });
    }
    let zero = scalar(consts, n, 2, "zero point")?;
    let bits = scalar(consts, n, 3, "bit width")?;
    if zero.iter().any(|&z| z != 0.0) {
        return Err(node_error(
            n,
            "a non-zero zero point is not supported (only 0)",
        ));
    }
    check_scale(n, &scale)?;
    let bits = match bits.as_slice() {
        [b] if b.fract() == 0.0 && (1.0..=32.0).contains(b) => *b as u32,
        _ => {
            return Err(node_error(
                n,
                format!("bit width {bits:?} must be one integer between 1 and 32"),
            ))
        }
    };
    let signed = int_attr(n, "signed", 1)? != 0;
    let narrow = int_attr(n, "narrow", 0)? != 0;
    let mode = match n.attributes.get("rounding_mode") {
        None => "ROUND".to_string(),
        Some(Attribute::String(s)) => s.clone(),
        Some(other) => return Err(node_error(n, format!("rounding_mode is {other:?}"))),
    };
    let rounding = RoundingMode::from_qonnx(&mode).ok_or_else(|| {
        node_error(
            n,
            format!("rounding_mode `{mode}` is not a QONNX rounding mode"),
        )
    })?;
    Ok(QuantParams {
        scale,
        // QONNX reads a 1-bit signed Quant as bipolar (±1), not as {−1, 0}.
        bipolar: bits == 1 && signed,
        bits,
        signed,
        narrow,
        rounding,
    })
}

/// Folds a `Quant` over a constant into codes (per-tensor or per-row scales).
fn fold_quant(t: &TensorProto, q: QuantParams, n: &NodeProto) -> Result<QuantConst, String> {
    let rows = t.dims.first().copied().unwrap_or(1).max(1) as usize;
    if q.scale.len() != 1 && q.scale.len() != rows {
        return Err(node_error(
            n,
            format!(
                "{} scales for a tensor of dimensions {:?}: one, or one per row, is supported",
                q.scale.len(),
                t.dims
            ),
        ));
    }
    let per_row = t.values.len() / rows;
    let mut codes = Vec::with_capacity(t.values.len());
    for (i, &v) in t.values.iter().enumerate() {
        let s = per_channel(&q.scale, i / per_row.max(1));
        if q.bipolar {
            if !(v / s).is_finite() {
                return Err(node_error(n, format!("value {v} is not finite")));
            }
            codes.push(if v / s >= 0.0 { 1 } else { -1 });
            continue;
        }
        let iq = IntQuant::new(q.bits, q.signed, q.narrow, q.rounding, s, 0)
            .map_err(|e| node_error(n, e))?;
        codes.push(iq.quantize(v).map_err(|e| node_error(n, e))?.code);
    }
    Ok(QuantConst {
        dims: t.dims.clone(),
        codes,
        q,
    })
}

/// A quantizer node: `Quant` (also spelled `IntQuant`) or `BipolarQuant`.
fn is_quant(n: &NodeProto) -> bool {
    matches!(n.op_type.as_str(), "Quant" | "IntQuant" | "BipolarQuant")
}

fn is_pow2(s: f64) -> bool {
    s > 0.0 && s.is_finite() && 2f64.powi(s.log2().round() as i32) == s
}

/// Imports a graph (see the module documentation). The error is one line: control characters
/// in the file's names are shown escaped.
pub fn import(g: &GraphProto, name: &str) -> Result<(QNet, ImportReport), String> {
    import_graph(g, name).map_err(|message| {
        message
            .chars()
            .flat_map(|c| {
                let escaped: Vec<char> = if c.is_control() {
                    c.escape_default().collect()
                } else {
                    vec![c]
                };
                escaped
            })
            .collect()
    })
}

fn import_graph(g: &GraphProto, name: &str) -> Result<(QNet, ImportReport), String> {
    let consts = constants(g)?;
    let data_inputs: Vec<&String> = g
        .inputs
        .iter()
        .filter(|i| !consts.contains_key(*i))
        .collect();
    let [input] = data_inputs.as_slice() else {
        return Err(format!(
            "the graph has {} data inputs; one is supported",
            data_inputs.len()
        ));
    };
    let mut report = ImportReport::default();
    // Constants through their Quant nodes.
    let mut quantized: BTreeMap<String, QuantConst> = BTreeMap::new();
    for n in &g.nodes {
        if is_quant(n) {
            if let Some(t) = n.inputs.first().and_then(|i| consts.get(i)) {
                let q = quant_params(&consts, n)?;
                let folded = fold_quant(t, q, n)?;
                for o in &n.outputs {
                    quantized.insert(o.clone(), folded.clone());
                }
            }
        }
    }
    let operand = |name: &str| -> Option<Operand> {
        quantized
            .get(name)
            .cloned()
            .map(Operand::Quantized)
            .or_else(|| consts.get(name).cloned().map(Operand::Float))
    };

    let mut cur = (*input).clone();
    let mut in_q: Option<QuantParams> = None;
    let mut act_q: Option<QuantParams> = None; // the current activation's quantizer
    let mut pending: Option<Pending> = None;
    let mut done: Vec<(Pending, Option<QuantParams>, QuantParams)> = Vec::new();
    for n in &g.nodes {
        let first = n.inputs.first().map(String::as_str).unwrap_or("");
        let is_const_node = matches!(n.op_type.as_str(), "Constant")
            || ((is_quant(n) || n.op_type == "Identity") && consts.contains_key(first));
        if is_const_node {
            continue;
        }
        if !n.inputs.contains(&cur) {
            return Err(node_error(n, format!("does not continue the chain from `{cur}`: only a chain of layers (an MLP) is supported")));
        }
        match n.op_type.as_str() {
            "Quant" | "IntQuant" | "BipolarQuant" => {
                let q = quant_params(&consts, n)?;
                if q.scale.len() != 1 {
                    return Err(node_error(
                        n,
                        "an activation Quant with more than one scale is not supported",
                    ));
                }
                match pending.take() {
                    None if in_q.is_none() && done.is_empty() => in_q = Some(q.clone()),
                    None => {
                        return Err(node_error(
                            n,
                            "a second Quant with no layer between is not supported",
                        ))
                    }
                    Some(p) => {
                        let input_q = act_q
                            .clone()
                            .or_else(|| in_q.clone())
                            .ok_or_else(|| node_error(n, "the input is not quantized"))?;
                        done.push((p, Some(q.clone()), input_q));
                    }
                }
                act_q = Some(q);
            }
            "Gemm" | "MatMul" => {
                if pending.is_some() {
                    return Err(node_error(
                        n,
                        "two layers with no activation Quant between are not supported",
                    ));
                }
                if in_q.is_none() {
                    return Err(node_error(
                        n,
                        "the graph input must be quantized by a Quant node before the first layer",
                    ));
                }
                let (trans_b, bias) = if n.op_type == "Gemm" {
                    if float_attr(n, "alpha", 1.0)? != 1.0
                        || float_attr(n, "beta", 1.0)? != 1.0
                        || int_attr(n, "transA", 0)? != 0
                    {
                        return Err(node_error(
                            n,
                            "only alpha = beta = 1 and transA = 0 are supported",
                        ));
                    }
                    let bias = match n.inputs.get(2).filter(|s| !s.is_empty()) {
                        None => None,
                        Some(b) => Some(operand(b).ok_or_else(|| {
                            node_error(n, format!("its bias `{b}` is not a constant"))
                        })?),
                    };
                    (int_attr(n, "transB", 0)? != 0, bias)
                } else {
                    (false, None)
                };
                let w_name = n
                    .inputs
                    .get(1)
                    .ok_or_else(|| node_error(n, "no weight input"))?;
                let Some(Operand::Quantized(w)) = operand(w_name) else {
                    return Err(node_error(
                        n,
                        format!(
                            "its weight `{w_name}` is not a constant quantized by a Quant node"
                        ),
                    ));
                };
                let [d0, d1] = w.dims[..] else {
                    return Err(node_error(
                        n,
                        format!("weight dimensions {:?}: a matrix is supported", w.dims),
                    ));
                };
                if d0 < 1 || d1 < 1 {
                    return Err(node_error(
                        n,
                        format!("weight dimensions {:?}: both must be at least 1", w.dims),
                    ));
                }
                let (d0, d1) = (d0 as usize, d1 as usize);
                // ONNX MatMul / Gemm without transB: W is [in][out]; with transB: [out][in].
                let (out_f, in_f) = if trans_b { (d0, d1) } else { (d1, d0) };
                let codes: Vec<i64> = if trans_b {
                    w.codes.clone()
                } else {
                    (0..out_f)
                        .flat_map(|o| (0..in_f).map(move |i| (o, i)))
                        .map(|(o, i)| w.codes[i * out_f + o])
                        .collect()
                };
                let weight = w.q.clone();
                if weight.scale.len() != 1 && !(trans_b && weight.scale.len() == out_f) {
                    return Err(node_error(n, "per-channel weight scales are supported along the output channels of a transB Gemm"));
                }
                pending = Some(Pending {
                    node: n.label().to_string(),
                    in_features: in_f,
                    out_features: out_f,
                    codes,
                    weight,
                    bias,
                    relu: false,
                });
            }
            "Add" => {
                let p = pending.as_mut().ok_or_else(|| {
                    node_error(n, "an Add that is not a layer's bias is not supported")
                })?;
                if p.bias.is_some() {
                    return Err(node_error(n, "a second bias is not supported"));
                }
                let other = n
                    .inputs
                    .iter()
                    .find(|i| **i != cur)
                    .ok_or_else(|| node_error(n, "no bias input"))?;
                p.bias = Some(operand(other).ok_or_else(|| {
                    node_error(n, format!("its bias `{other}` is not a constant"))
                })?);
            }
            "Relu" => {
                let p = pending.as_mut().ok_or_else(|| {
                    node_error(n, "a Relu that does not follow a layer is not supported")
                })?;
                p.relu = true;
            }
            "Flatten" | "Reshape" | "Identity" => {}
            other => {
                return Err(node_error(
                    n,
                    format!("op `{other}` is not supported ({SUPPORTED})"),
                ));
            }
        }
        cur = n.outputs.first().cloned().unwrap_or_default();
    }
    if !g.outputs.contains(&cur) {
        return Err(format!(
            "the chain ends at `{cur}`, which is not the graph output"
        ));
    }
    if let Some(p) = pending.take() {
        let input_q = act_q
            .clone()
            .or_else(|| in_q.clone())
            .ok_or("the input is not quantized")?;
        done.push((p, None, input_q));
    }
    let in_q = in_q.ok_or("the graph input is never quantized")?;
    if done.is_empty() {
        return Err("the graph has no Gemm or MatMul layer".into());
    }
    // The translation: exact fixed point when every scale is a power of two and no bias is
    // quantized; integer otherwise.
    if in_q.bipolar {
        return Err("a bipolar (1-bit) graph input is not supported".into());
    }
    let any_bipolar = done
        .iter()
        .any(|(p, a, _)| p.weight.bipolar || a.as_ref().is_some_and(|a| a.bipolar));
    let all_pow2 = !any_bipolar
        && in_q.scale.iter().all(|&s| is_pow2(s))
        && done.iter().all(|(p, a, _)| {
            p.weight.scale.len() == 1
                && is_pow2(p.weight.scale[0])
                && a.as_ref().is_none_or(|a| is_pow2(a.scale[0]))
                && !matches!(p.bias, Some(Operand::Quantized(_)))
        });
    let net = if all_pow2 {
        report.lines.push("translation  exact fixed point (every scale a power of two, float biases held exactly)".into());
        fixed_net(name, &in_q, &done, &mut report)?
    } else {
        report
            .lines
            .push("translation  integer (requantization M / 2^S with a 31-bit M)".into());
        integer_net(name, &in_q, &done, &mut report)?
    };
    net.validate().map_err(|e| e.to_string())?;
    Ok((net, report))
}

fn describe(q: &QuantParams) -> String {
    let scale = if q.scale.len() == 1 {
        format!("{}", q.scale[0])
    } else {
        format!("{} per-channel scales", q.scale.len())
    };
    if q.bipolar {
        return format!("bipolar ±1, scale {scale}");
    }
    format!(
        "{} {}-bit{}, scale {scale}, rounding {}",
        if q.signed { "signed" } else { "unsigned" },
        q.bits,
        if q.narrow { " narrow" } else { "" },
        q.rounding.qonnx_name().unwrap_or(q.rounding.name())
    )
}

fn log2(s: f64) -> i32 {
    s.log2().round() as i32
}

fn fixed_format(q: &QuantParams, overflow: OverflowMode) -> Result<FixedFormat, String> {
    let f = -log2(q.scale[0]);
    FixedFormat::new(q.bits, q.bits as i32 - f, q.signed, q.rounding, overflow)
        .map_err(|e| e.to_string())
}

fn fixed_net(
    name: &str,
    in_q: &QuantParams,
    done: &[(Pending, Option<QuantParams>, QuantParams)],
    report: &mut ImportReport,
) -> Result<QNet, String> {
    let input = fixed_format(in_q, OverflowMode::Saturate)?;
    report
        .lines
        .push(format!("input        {} as {input}", describe(in_q)));
    let mut layers = Vec::new();
    let mut layer_in = input;
    for (k, (p, act, _)) in done.iter().enumerate() {
        let weight = fixed_format(
            &p.weight,
            if p.weight.narrow {
                OverflowMode::SaturateSymmetric
            } else {
                OverflowMode::Saturate
            },
        )?;
        let floats: Vec<f64> = match &p.bias {
            None => vec![0.0; p.out_features],
            Some(Operand::Float(t)) => t.values.clone(),
            Some(Operand::Quantized(_)) => {
                return Err(format!(
                    "layer {k}: a quantized bias in a fixed-point layer"
                ))
            }
        };
        if floats.len() != p.out_features {
            return Err(format!(
                "node `{}`: {} biases for {} outputs",
                p.node,
                floats.len(),
                p.out_features
            ));
        }
        let fb = floats
            .iter()
            .filter(|x| **x != 0.0)
            .map(|&x| {
                let mut f = 0;
                while (x * 2f64.powi(f)).fract() != 0.0 && f < 200 {
                    f += 1;
                }
                f
            })
            .max()
            .unwrap_or(0);
        let int_bits = floats
            .iter()
            .map(|x| x.abs())
            .fold(0f64, f64::max)
            .log2()
            .ceil()
            .max(0.0) as i32
            + 2;
        let bias_format =
            exact_fixed(int_bits, fb).map_err(|e| format!("node `{}`: bias: {e}", p.node))?;
        let bias: Vec<i64> = floats.iter().map(|&x| (x * 2f64.powi(fb)) as i64).collect();
        let fa = fb.max(layer_in.frac_bits() + weight.frac_bits());
        // Enough integer bits for any sum of the layer: |x|·|w| per product, in_features products, the bias.
        let max_x = 2f64.powi(layer_in.int_bits());
        let max_w = 2f64.powi(weight.int_bits());
        let bound = max_x * max_w * p.in_features as f64 + 2f64.powi(int_bits);
        let ia = bound.log2().ceil() as i32 + 2;
        let accum =
            exact_fixed(ia, fa).map_err(|e| format!("node `{}`: accumulator: {e}", p.node))?;
        let relu = match act {
            None => None,
            Some(a) => Some(fixed_format(a, OverflowMode::Saturate)?),
        };
        report.lines.push(format!(
            "layer {k}      {} ({} -> {}): weights {} as {weight}, biases as {bias_format}, accumulator {accum}{}",
            p.node,
            p.in_features,
            p.out_features,
            describe(&p.weight),
            relu.map_or(", logits".to_string(), |r| format!(", activation {r}{}", if p.relu { " (ReLU)" } else { "" })),
        ));
        if act.as_ref().is_some_and(|a| a.signed) && p.relu {
            return Err(format!("node `{}`: a ReLU before a signed activation Quant is not supported in fixed point", p.node));
        }
        layers.push(Layer::FixedDense(FixedDense {
            in_features: p.in_features,
            out_features: p.out_features,
            input: layer_in,
            weight,
            bias_format,
            accum,
            result: accum,
            relu,
            weights: p.codes.clone(),
            bias,
        }));
        if let Some(r) = relu {
            layer_in = r;
        }
    }
    Ok(QNet {
        name: name.to_string(),
        input: input_quant(in_q, Some(input))?,
        layers,
    })
}

fn integer_net(
    name: &str,
    in_q: &QuantParams,
    done: &[(Pending, Option<QuantParams>, QuantParams)],
    report: &mut ImportReport,
) -> Result<QNet, String> {
    report
        .lines
        .push(format!("input        {}", describe(in_q)));
    let mut layers = Vec::new();
    for (k, (p, act, input_q)) in done.iter().enumerate() {
        let s_in = input_q.scale[0];
        let acc_scale: Vec<f64> = p.weight.scale.iter().map(|s_w| s_in * s_w).collect();
        let channel_scale = |c: usize| per_channel(&acc_scale, c);
        let (bias, bias_note) = match &p.bias {
            None => (vec![0; p.out_features], "no bias".to_string()),
            Some(Operand::Quantized(b)) => {
                for c in 0..p.out_features {
                    let s_b = per_channel(&b.q.scale, c);
                    if (s_b / channel_scale(c) - 1.0).abs() > 1e-6 {
                        return Err(format!(
                            "node `{}`: the bias scale {s_b} is not the accumulator scale {} (input scale x weight scale); only such biases are supported",
                            p.node,
                            channel_scale(c)
                        ));
                    }
                }
                (
                    b.codes.clone(),
                    format!("biases {}-bit at the accumulator scale", b.q.bits),
                )
            }
            // Before a sign, `acc·s + b ≥ 0` is `acc + floor(b / s) ≥ 0` for an integer `acc`: the
            // float bias becomes an exact integer threshold.
            Some(Operand::Float(t)) if act.as_ref().is_some_and(|a| a.bipolar) => {
                let codes = t
                    .values
                    .iter()
                    .enumerate()
                    .map(|(c, &x)| {
                        let v = (x / channel_scale(c)).floor();
                        if v.is_finite() && v.abs() < 2f64.powi(62) {
                            Ok(v as i64)
                        } else {
                            Err(format!("node `{}`: bias {c} ({x}) is out of range", p.node))
                        }
                    })
                    .collect::<Result<Vec<i64>, String>>()?;
                (
                    codes,
                    "float biases as exact sign thresholds floor(b / s_acc)".to_string(),
                )
            }
            Some(Operand::Float(t)) => {
                let codes = t
                    .values
                    .iter()
                    .enumerate()
                    .map(|(c, &x)| {
                        IntQuant::new(32, true, false, RoundingMode::HalfEven, channel_scale(c), 0)
                            .and_then(|q| q.quantize(x))
                            .map(|r| r.code)
                            .map_err(|e| format!("node `{}`: bias {c}: {e}", p.node))
                    })
                    .collect::<Result<Vec<i64>, String>>()?;
                (
                    codes,
                    "float biases rounded to the accumulator scale (half to even)".to_string(),
                )
            }
        };
        if bias.len() != p.out_features {
            return Err(format!(
                "node `{}`: {} biases for {} outputs",
                p.node,
                bias.len(),
                p.out_features
            ));
        }
        let scheme = if p.weight.bipolar {
            WeightCode::Binary
        } else {
            WeightCode::Uniform {
                bits: p.weight.bits,
            }
        };
        let codes = p
            .codes
            .iter()
            .map(|&c| {
                scheme.encode(c).ok_or_else(|| {
                    format!(
                        "node `{}`: weight code {c} is outside {}-bit",
                        p.node, p.weight.bits
                    )
                })
            })
            .collect::<Result<Vec<u64>, String>>()?;
        let output = match act {
            None => LayerOutput::Accumulator,
            Some(a) if a.bipolar => {
                if p.relu {
                    return Err(format!(
                        "node `{}`: a ReLU before a bipolar Quant (every output +1) is not supported",
                        p.node
                    ));
                }
                LayerOutput::Sign(SignOutput {
                    output_scale: a.scale[0],
                })
            }
            Some(a) => {
                let s_a = a.scale[0];
                let (multiplier, shift): (Vec<i64>, Vec<i32>) = acc_scale
                    .iter()
                    .map(|s| Requant::multiplier_for(s / s_a, 31))
                    .unzip();
                LayerOutput::Requant(Requant {
                    multiplier,
                    shift,
                    scale_bits: 31,
                    rounding: a.rounding,
                    relu: p.relu,
                    output: IntFormat::new(a.bits, a.signed).map_err(|e| e.to_string())?,
                    output_scale: s_a,
                })
            }
        };
        report.lines.push(format!(
            "layer {k}      {} ({} -> {}): weights {}, {bias_note}, {}",
            p.node,
            p.in_features,
            p.out_features,
            describe(&p.weight),
            act.as_ref().map_or("logits".to_string(), |a| format!(
                "activation {}{}",
                describe(a),
                if p.relu { " after ReLU" } else { "" }
            )),
        ));
        layers.push(Layer::Dense(Dense {
            in_features: p.in_features,
            out_features: p.out_features,
            weights: scheme,
            codes,
            bias,
            accumulator: Accumulator::default(),
            output,
            acc_scale,
        }));
    }
    Ok(QNet {
        name: name.to_string(),
        input: input_quant(in_q, None)?,
        layers,
    })
}

//! Structured pruning of an integer network: output channels of a hidden layer removed, with
//! the inputs of the next weighted layer that read them.
//!
//! Removing channel `c` of layer `k` deletes its weight row (Dense) or filter (Conv2d), its
//! bias, and its per-channel accumulator scale and requantization parameters; a max pool
//! after the layer loses the channel's plane; the next Dense loses the columns of the channel
//! (all its pixels, after a flatten), the next Conv2d its input channel. Every other code is
//! unchanged, so the pruned network computes exactly what the original computes when the
//! removed channels' outputs are forced to code 0: their products no longer enter any sum.
//! Accumulator widths stay as they were (the bounds of a sum can only narrow when terms go).
//!
//! ```
//! use qforge::num::rounding::RoundingMode;
//! use qforge::qnn::channels::remove_channels;
//! use qforge::qnn::{Dense, Engine, InputQuant, IntFormat, Layer, LayerOutput, QNet, Requant, WeightCode};
//! let dense = |inputs, outputs, codes: Vec<u64>, output| Layer::Dense(Dense {
//!     in_features: inputs, out_features: outputs, weights: WeightCode::Uniform { bits: 4 },
//!     codes, bias: vec![0; outputs], accumulator: Default::default(), output, acc_scale: vec![1.0],
//! });
//! let relu = LayerOutput::Requant(Requant {
//!     multiplier: vec![1], shift: vec![0], scale_bits: 1, rounding: RoundingMode::HalfEven,
//!     relu: true, output: IntFormat::new(4, false).unwrap(), output_scale: 1.0,
//! });
//! let net = QNet {
//!     name: "two".into(),
//!     input: InputQuant { format: IntFormat::new(4, false).unwrap(), scale: 1.0, rounding: RoundingMode::HalfEven, fixed: None },
//!     // hidden = relu(x0, 2·x0); out = hidden0 + 3·hidden1
//!     layers: vec![dense(1, 2, vec![1, 2], relu), dense(2, 1, vec![1, 3], LayerOutput::Accumulator)],
//! };
//! let pruned = remove_channels(&net, 0, &[true, false]).unwrap();
//! assert_eq!(Engine::new(&net).unwrap().infer(&[2]).unwrap(), [2 + 3 * 4]);
//! assert_eq!(Engine::new(&pruned).unwrap().infer(&[2]).unwrap(), [2]); // hidden1 forced to 0
//! ```

use super::conv::Conv2d;
use super::dense::LayerOutput;
use super::error::{layer_err, QnnError};
use super::net::{Layer, QNet};

/// `net` without the output channels of layer `layer` whose `keep` entry is false (one entry
/// per output channel, at least one true); see the module docs for what changes.
pub fn remove_channels(net: &QNet, layer: usize, keep: &[bool]) -> Result<QNet, QnnError> {
    let e = |m: String| layer_err(layer, m);
    let channels = match net.layers.get(layer) {
        Some(Layer::Dense(d)) => d.out_features,
        Some(Layer::Conv2d(c)) => c.out_channels,
        Some(_) => {
            return Err(e(
                "only the output channels of a Dense or Conv2d layer can be removed".into(),
            ))
        }
        None => {
            return Err(QnnError::Net(format!(
                "layer {layer} does not exist (the network has {} layers)",
                net.layers.len()
            )))
        }
    };
    if keep.len() != channels {
        return Err(e(format!(
            "the channel mask has {} entries, the layer has {channels} output channels",
            keep.len()
        )));
    }
    if !keep.contains(&true) {
        return Err(e("at least one output channel must be kept".into()));
    }
    let mut out = net.clone();
    if !keep.contains(&false) {
        return Ok(out);
    }
    let next = (layer + 1..net.layers.len())
        .find(|&k| !matches!(net.layers[k], Layer::MaxPool2d(_)))
        .ok_or_else(|| {
            e("the last layer's outputs are the network's; its channels cannot be removed".into())
        })?;
    match &mut out.layers[layer] {
        Layer::Dense(d) => {
            d.codes = kept_blocks(&d.codes, d.codes.len(), keep);
            shrink_outputs(&mut d.bias, &mut d.acc_scale, &mut d.output, keep);
            d.out_features = d.bias.len();
        }
        Layer::Conv2d(c) => {
            c.codes = kept_blocks(&c.codes, c.codes.len(), keep);
            shrink_outputs(&mut c.bias, &mut c.acc_scale, &mut c.output, keep);
            c.out_channels = c.bias.len();
        }
        _ => unreachable!("checked above"),
    }
    let kept = keep.iter().filter(|&&k| k).count();
    for l in &mut out.layers[layer + 1..next] {
        if let Layer::MaxPool2d(p) = l {
            p.channels = kept;
        }
    }
    let ne = |m: String| layer_err(next, m);
    match &mut out.layers[next] {
        Layer::Dense(d) => {
            if d.in_features % channels != 0 {
                return Err(ne(format!(
                    "its {} inputs are not a whole number of pixels of the {channels} channels \
                     of layer {layer}",
                    d.in_features
                )));
            }
            // CHW: channel c's pixels are inputs c·hw .. (c+1)·hw
            d.codes = kept_blocks(&d.codes, d.in_features, keep);
            d.in_features = d.in_features / channels * kept;
        }
        Layer::Conv2d(c) => shrink_conv_inputs(c, keep).map_err(ne)?,
        _ => {
            return Err(ne(
                "only a Dense or Conv2d layer can follow a layer whose channels are removed".into(),
            ))
        }
    }
    out.validate()?;
    Ok(out)
}

/// Of every run of `group` consecutive values of `values`, split into `keep.len()` equal
/// blocks, the blocks whose `keep` entry is true: a layer's rows (one run, the whole tensor),
/// the columns of a channel in each row of the next layer, a channel's plane of each sample.
pub(crate) fn kept_blocks<T: Copy>(values: &[T], group: usize, keep: &[bool]) -> Vec<T> {
    let block = (group / keep.len().max(1)).max(1);
    values
        .chunks_exact(group.max(1))
        .flat_map(|run| {
            run.chunks_exact(block)
                .zip(keep)
                .filter(|(_, &k)| k)
                .flat_map(|(b, _)| b.iter().copied())
        })
        .collect()
}

/// The per-output-channel fields of a layer, reduced to the kept channels (a per-tensor entry
/// stays: `keep` has at least two entries, one false).
fn shrink_outputs(
    bias: &mut Vec<i64>,
    acc_scale: &mut Vec<f64>,
    output: &mut LayerOutput,
    keep: &[bool],
) {
    fn retain<T: Copy>(v: &mut Vec<T>, keep: &[bool]) {
        if v.len() == keep.len() {
            *v = v
                .iter()
                .zip(keep)
                .filter(|(_, &k)| k)
                .map(|(&x, _)| x)
                .collect();
        }
    }
    retain(bias, keep);
    retain(acc_scale, keep);
    if let LayerOutput::Requant(r) = output {
        retain(&mut r.multiplier, keep);
        retain(&mut r.shift, keep);
    }
}

/// A convolution without the input channels whose `keep` entry is false.
fn shrink_conv_inputs(c: &mut Conv2d, keep: &[bool]) -> Result<(), String> {
    if c.in_channels != keep.len() {
        return Err(format!(
            "it reads {} channels, the layer before it has {}",
            c.in_channels,
            keep.len()
        ));
    }
    c.codes = kept_blocks(&c.codes, c.in_channels * c.kernel_h * c.kernel_w, keep);
    c.in_channels = keep.iter().filter(|&&k| k).count();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::num::rounding::RoundingMode;
    use crate::qnn::{Dense, InputQuant, IntFormat, Requant, WeightCode};

    fn two_layers() -> QNet {
        let dense = |inputs, outputs, output| {
            Layer::Dense(Dense {
                in_features: inputs,
                out_features: outputs,
                weights: WeightCode::Uniform { bits: 4 },
                codes: vec![1; inputs * outputs],
                bias: vec![0; outputs],
                accumulator: Default::default(),
                output,
                acc_scale: vec![1.0],
            })
        };
        let relu = LayerOutput::Requant(Requant {
            multiplier: vec![1, 1, 1],
            shift: vec![0, 1, 2],
            scale_bits: 1,
            rounding: RoundingMode::HalfEven,
            relu: true,
            output: IntFormat::new(4, false).unwrap(),
            output_scale: 1.0,
        });
        QNet {
            name: "t".into(),
            input: InputQuant {
                format: IntFormat::new(4, false).unwrap(),
                scale: 1.0,
                rounding: RoundingMode::HalfEven,
                fixed: None,
            },
            layers: vec![dense(2, 3, relu), dense(3, 1, LayerOutput::Accumulator)],
        }
    }

    #[test]
    fn masks_that_cannot_apply_are_refused_with_the_reason() {
        let net = two_layers();
        let err =
            |layer, keep: &[bool]| remove_channels(&net, layer, keep).unwrap_err().to_string();
        assert!(err(0, &[true, false]).contains("the channel mask has 2 entries, the layer has 3"));
        assert!(err(0, &[false; 3]).contains("at least one output channel must be kept"));
        assert!(err(1, &[false]).contains("at least one"));
        // the last layer's outputs are the network's
        let two = QNet {
            layers: vec![net.layers[0].clone(), {
                let Layer::Dense(mut d) = net.layers[1].clone() else {
                    panic!("dense")
                };
                d.out_features = 2;
                d.codes = vec![1; 6];
                d.bias = vec![0; 2];
                Layer::Dense(d)
            }],
            ..net.clone()
        };
        assert!(remove_channels(&two, 1, &[true, false])
            .unwrap_err()
            .to_string()
            .contains("the last layer's outputs are the network's"));
        assert!(err(2, &[true]).contains("layer 2 does not exist"));
        // keeping every channel changes nothing; removing one shrinks the per-channel shifts
        assert_eq!(remove_channels(&net, 0, &[true; 3]).unwrap(), net);
        let pruned = remove_channels(&net, 0, &[true, false, true]).unwrap();
        let Layer::Dense(d) = &pruned.layers[0] else {
            panic!("dense")
        };
        let LayerOutput::Requant(r) = &d.output else {
            panic!("requant")
        };
        assert_eq!(r.shift, [0, 2]);
        assert_eq!(pruned.layers[1].in_features(), 2);
    }
}

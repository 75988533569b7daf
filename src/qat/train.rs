//! The training loop: mini-batches in a seeded order, the fake-quantized forward and backward
//! passes, and Adam on the shadow weights, biases and clipping thresholds.
//!
//! The spec's schedules set each epoch's quantizers before it starts: progressive bit
//! reduction trains at the widths of the epoch's [`stage`]; INQ freezes the stage's fraction
//! of the weights when a stage begins, and the optimizer leaves frozen weights where they are.
//!
//! Deterministic: one seeded shuffle stream, fixed summation orders, products by the same
//! kernels for the same shapes; the same seed gives bit-identical parameters on a platform.

use super::backward::{backward, softmax_cross_entropy, LayerGrad};
use super::net::{centre, QatNet};
use super::QatError;
use crate::nn::{Dataset, SplitMix64};
use crate::quant::training::{gradual_sparsity, stage, ActClipping, PruneSchedule};

/// What one epoch did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QatEpoch {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean cross-entropy of the fake-quantized network over the epoch, before each update.
    pub loss: f64,
    /// Fraction of training samples the fake-quantized network classified correctly, before
    /// each update.
    pub train_accuracy: f64,
}

/// Adam's moments of one parameter vector.
#[derive(Clone, Debug, Default)]
struct Moments {
    m: Vec<f64>,
    v: Vec<f64>,
}

impl Moments {
    /// One Adam step of `params` along `grad` (bias-corrected with `c1`, `c2`); elementwise,
    /// so large vectors are split over every core with the same result.
    fn step<P: Copy + Send + Sync>(
        &mut self,
        params: &mut [P],
        grad: impl ExactSizeIterator<Item = f64>,
        lr: f64,
        (c1, c2): (f64, f64),
        to: impl Fn(P) -> f64 + Sync,
        from: impl Fn(f64) -> P + Sync,
    ) {
        if self.m.len() != params.len() {
            self.m = vec![0.0; params.len()];
            self.v = vec![0.0; params.len()];
        }
        let grad: Vec<f64> = grad.collect();
        let update = |(((p, g), m), v): (((&mut P, &f64), &mut f64), &mut f64)| {
            *m = BETA1 * *m + (1.0 - BETA1) * g;
            *v = BETA2 * *v + (1.0 - BETA2) * g * g;
            let step = lr * (*m / c1) / ((*v / c2).sqrt() + EPS);
            *p = from(to(*p) - step);
        };
        if params.len() >= PARALLEL_PARAMS {
            use rayon::prelude::*;
            params
                .par_iter_mut()
                .zip(&grad)
                .zip(&mut self.m)
                .zip(&mut self.v)
                .for_each(update);
        } else {
            params
                .iter_mut()
                .zip(&grad)
                .zip(&mut self.m)
                .zip(&mut self.v)
                .for_each(update);
        }
    }
}

/// Parameter vectors of at least this length are updated on every core.
const PARALLEL_PARAMS: usize = 1 << 15;
const BETA1: f64 = 0.9;
const BETA2: f64 = 0.999;
const EPS: f64 = 1e-8;
/// Smallest clipping threshold a step may leave.
const MIN_THRESHOLD: f64 = 1e-6;

/// The optimizer state of every layer.
#[derive(Clone, Debug, Default)]
struct LayerState {
    weights: Moments,
    bias: Moments,
    w_threshold: Moments,
    a_threshold: Moments,
    gates: Moments,
}

/// Trains `net` for `epochs` passes over `data`, calling `on_epoch` after each.
pub fn train_qat(
    net: &mut QatNet,
    data: &Dataset,
    epochs: usize,
    seed: u64,
    mut on_epoch: impl FnMut(&QatEpoch, &QatNet) -> Result<(), QatError>,
) -> Result<(), QatError> {
    net.check_data(data)?;
    let in_f = net.in_features();
    let classes = net.out_features();
    if data.is_empty() {
        return Err(QatError::Data("the training set is empty".into()));
    }
    if let Some(&bad) = data.labels.iter().find(|&&l| l as usize >= classes) {
        return Err(QatError::Data(format!(
            "label {bad} is not below the model's {classes} outputs"
        )));
    }
    let codes: Vec<f32> = net
        .input_codes(&data.inputs)
        .into_iter()
        .map(|c| c as f32)
        .collect();
    let batch_size = net.training.batch_size;
    let (lr, clip_lr) = (
        f64::from(net.training.lr),
        f64::from(net.training.clipping_lr()),
    );
    let mut state = vec![LayerState::default(); net.layers.len()];
    let mut rng = SplitMix64::new(seed ^ 0x5141_545f_5348_5546);
    let mut order: Vec<usize> = (0..data.len()).collect();
    let (mut b1t, mut b2t) = (1.0f64, 1.0f64);
    let mut batch_codes = Vec::with_capacity(batch_size * in_f);
    let mut batch_labels = Vec::with_capacity(batch_size);
    let total = epochs * data.len().div_ceil(batch_size);
    let mut updates = 0usize;
    let progressive = net.training.progressive.clone();
    let inq = net.training.inq.clone();
    let mut inq_stage = None;
    let prune = net.training.prune;
    // the gates' penalty factor of each layer, doubled after an epoch that ends above target
    let mut penalty = vec![1.0f64; net.layers.len()];
    // the gates learn in the first half of the epochs; the second half fine-tunes the rest
    let gate_epochs = epochs.div_ceil(2);
    for epoch in 1..=epochs {
        if let Some(p) = prune {
            let sparsity = match p.schedule {
                PruneSchedule::OneShot => p.sparsity,
                PruneSchedule::Gradual => gradual_sparsity(p.sparsity, epoch, epochs),
            };
            net.prune_to(sparsity)?;
        }
        if !progressive.is_empty() {
            let k = stage(epoch, epochs, progressive.len() + 1);
            net.set_width(progressive.get(k).copied())?;
        }
        if !inq.is_empty() {
            let k = stage(epoch, epochs, inq.len());
            if inq_stage != Some(k) {
                net.freeze(inq[k])?;
                inq_stage = Some(k);
            }
        }
        rng.shuffle(&mut order);
        let (mut loss, mut correct) = (0.0f64, 0usize);
        for chunk in order.chunks(batch_size) {
            batch_codes.clear();
            batch_labels.clear();
            for &s in chunk {
                batch_codes.extend_from_slice(&codes[s * in_f..(s + 1) * in_f]);
                batch_labels.push(data.labels[s]);
            }
            let quant = net.quantize()?;
            let trace = net.forward::<f32>(&quant, &batch_codes, chunk.len());
            let logits = trace.pre.last().map_or(&[][..], |v| v);
            let (stats, grad) = softmax_cross_entropy(logits, classes, &batch_labels);
            loss += stats.loss;
            correct += stats.correct;
            let grads = backward(net, &quant, &trace, grad, chunk.len());
            b1t *= BETA1;
            b2t *= BETA2;
            let f = net.training.schedule.factor(updates, total);
            updates += 1;
            apply(
                net,
                &mut state,
                &grads,
                (lr * f, clip_lr * f),
                (1.0 - b1t, 1.0 - b2t),
                (epoch <= gate_epochs).then_some(&penalty[..]),
            );
            net.zero_pruned();
            net.reopen_to_target();
        }
        if net.learns_gates() && epoch <= gate_epochs {
            for (p, factor) in net.pruning().iter().zip(&mut penalty) {
                if p.kept > net.channel_target(p.layer) {
                    *factor *= 2.0;
                }
            }
            if epoch == gate_epochs {
                net.close_to_target();
            }
        }
        let report = QatEpoch {
            epoch,
            loss: loss / data.len() as f64,
            train_accuracy: correct as f64 / data.len() as f64,
        };
        on_epoch(&report, net)?;
    }
    Ok(())
}

/// One Adam step of every parameter.
fn apply(
    net: &mut QatNet,
    state: &mut [LayerState],
    grads: &[LayerGrad],
    (lr, clip_lr): (f64, f64),
    corrections: (f64, f64),
    gate_penalty: Option<&[f64]>,
) {
    let hidden = net.layers.len() - 1;
    let gate_spec = net
        .training
        .channels
        .filter(|_| net.learns_gates())
        .zip(gate_penalty);
    let learn_act = net.training.activation_clipping != ActClipping::Fixed;
    let normalize = net.training.weight_normalization;
    for (l, (g, st)) in grads.iter().zip(state.iter_mut()).enumerate() {
        let binary = net.binary(l);
        let frozen: Vec<usize> = net.layers[l]
            .frozen
            .iter()
            .enumerate()
            .filter_map(|(i, &f)| f.then_some(i))
            .collect();
        let (w, b) = net.params_mut(l);
        let kept: Vec<f32> = frozen.iter().map(|&i| w[i]).collect();
        let to = |p: f32| f64::from(p);
        let from = |v: f64| v as f32;
        st.weights.step(
            w,
            g.weights.iter().map(|&v| f64::from(v)),
            lr,
            corrections,
            to,
            from,
        );
        // weight normalisation: back to mean zero, and thresholds step in units of σ
        let threshold_lr = if normalize {
            clip_lr * centre(w)
        } else {
            clip_lr
        };
        if binary {
            w.iter_mut().for_each(|v| *v = v.clamp(-1.0, 1.0));
        }
        for (&i, &v) in frozen.iter().zip(&kept) {
            w[i] = v;
        }
        st.bias.step(
            b,
            g.bias.iter().map(|&v| f64::from(v)),
            lr,
            corrections,
            to,
            from,
        );
        let layer = &mut net.layers[l];
        if let Some(t) = layer.w_threshold.as_mut() {
            if g.w_threshold.len() == t.len() {
                st.w_threshold.step(
                    t,
                    g.w_threshold.iter().copied(),
                    threshold_lr,
                    corrections,
                    |p| p,
                    |v| v.max(MIN_THRESHOLD),
                );
            }
        }
        if l < hidden && learn_act {
            let mut t = [layer.a_threshold];
            st.a_threshold.step(
                &mut t,
                std::iter::once(g.a_threshold),
                clip_lr,
                corrections,
                |p| p,
                |v| v.max(MIN_THRESHOLD),
            );
            layer.a_threshold = t[0];
        }
        if let Some((c, penalty)) = gate_spec.filter(|_| g.gates.len() == layer.gates.len()) {
            // the penalty on open gates while more than the target are open
            let target = c.kept_of(layer.out_f);
            let open = layer.gates.iter().filter(|&&v| v >= 0.0).count();
            let push = if open > target {
                c.penalty * penalty[l]
            } else {
                0.0
            };
            let grad: Vec<f64> = g
                .gates
                .iter()
                .zip(&layer.gates)
                .map(|(&d, &v)| d + if v >= 0.0 { push } else { 0.0 })
                .collect();
            st.gates.step(
                &mut layer.gates,
                grad.into_iter(),
                c.gate_lr,
                corrections,
                |p| p,
                |v| v.clamp(-1.0, 1.0),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{data::digits, Architecture};
    use crate::qnn::quantize::QuantSpec;
    use crate::qnn::{Layer, WeightCode};
    use crate::quant::quantizer::Scheme;

    fn small() -> (crate::nn::Model, Dataset) {
        let (train, _) = digits::train_test().unwrap();
        let model = Architecture::mlp(&[64, 16, 10], &[64])
            .unwrap()
            .build(&[64], 3)
            .unwrap();
        (model, train.truncated(256))
    }

    fn spec(name: &str) -> QuantSpec {
        QuantSpec::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(name)).unwrap()
    }

    /// `progressive: [8, 6]` over 6 epochs: two at 8 bits, two at 6, two at the spec's 4, for
    /// the weights and the activations; the exported network has the spec's widths.
    #[test]
    fn progressive_widths_follow_the_stages() {
        let (model, train) = small();
        let mut s = spec("models/qat_uniform4_a4.ron");
        s.training.progressive = vec![8, 6];
        let cal = &train.inputs[..];
        let mut net = QatNet::new(&model, &s, cal).unwrap();
        let mut seen = Vec::new();
        train_qat(&mut net, &train, 6, 1, |_, net| {
            let l = &net.layers[0];
            let Scheme::Uniform(c) = &l.wq.scheme else {
                panic!("uniform weights")
            };
            seen.push((c.bits, l.aq.bits, l.level_hi));
            Ok(())
        })
        .unwrap();
        assert_eq!(
            seen,
            [
                (8, 8, 127),
                (8, 8, 127),
                (6, 6, 31),
                (6, 6, 31),
                (4, 4, 7),
                (4, 4, 7)
            ]
        );
        let q = net.export(cal).unwrap();
        let Layer::Dense(d) = &q.layers[0] else {
            panic!("a dense layer")
        };
        assert_eq!(d.weights, WeightCode::Uniform { bits: 4 });
        // the same run without the schedule trains another network
        let mut plain = QatNet::new(&model, &spec("models/qat_uniform4_a4.ron"), cal).unwrap();
        train_qat(&mut plain, &train, 6, 1, |_, _| Ok(())).unwrap();
        assert_ne!(plain.export(cal).unwrap(), q);
    }

    /// INQ with `[0.5, 0.75, 0.875, 1.0]` over 4 epochs: after epoch k the stage's fraction of
    /// every output channel is frozen, a weight once frozen never changes again (bit for bit),
    /// and at the end every shadow weight is its own quantized value.
    #[test]
    fn inq_freezes_the_stage_fraction_and_frozen_weights_never_change() {
        let (model, train) = small();
        let mut s = spec("models/quant_pot4_a4.ron");
        s.training.inq = vec![0.5, 0.75, 0.875, 1.0];
        let cal = &train.inputs[..];
        let mut net = QatNet::new(&model, &s, cal).unwrap();
        assert!(net.layers.iter().all(|l| l.w_threshold.is_none()));
        let mut first: Vec<Vec<Option<f32>>> = net
            .layers
            .iter()
            .map(|l| vec![None; l.in_f * l.out_f])
            .collect();
        let mut epoch = 0;
        train_qat(&mut net, &train, 4, 1, |_, net| {
            let fraction = [0.5, 0.75, 0.875, 1.0][epoch];
            epoch += 1;
            for (l, layer) in net.layers.iter().enumerate() {
                let (w, _) = net.params(l);
                for row in layer.frozen.chunks_exact(layer.in_f) {
                    let n = row.iter().filter(|&&f| f).count();
                    assert_eq!(n, (fraction * layer.in_f as f64).round() as usize);
                }
                for (i, seen) in first[l].iter_mut().enumerate() {
                    match *seen {
                        Some(v) => {
                            assert!(layer.frozen[i], "layer {l} weight {i} thawed");
                            assert_eq!(w[i].to_bits(), v.to_bits(), "layer {l} weight {i}");
                        }
                        None if layer.frozen[i] => *seen = Some(w[i]),
                        None => {}
                    }
                }
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(epoch, 4);
        for l in 0..net.layers.len() {
            let (levels, scale) = net.levels(l).unwrap();
            let (w, _) = net.params(l);
            let in_f = net.layers[l].in_f;
            for (i, &v) in w.iter().enumerate() {
                assert_eq!(v, (f64::from(levels[i]) * scale[i / in_f]) as f32);
            }
        }
    }

    /// The first freeze takes the largest half of each channel by magnitude; INQ refuses
    /// weights that are not PoT.
    #[test]
    fn inq_freezes_the_largest_weights_first_and_needs_pot_weights() {
        let (model, train) = small();
        let mut s = spec("models/quant_pot4_a4.ron");
        s.training.inq = vec![0.5, 1.0];
        let mut net = QatNet::new(&model, &s, &train.inputs).unwrap();
        let before = net.params(0).0.to_vec();
        net.freeze(0.5).unwrap();
        let layer = &net.layers[0];
        for (o, row) in layer.frozen.chunks_exact(64).enumerate() {
            let w = &before[o * 64..(o + 1) * 64];
            let smallest_frozen = (0..64)
                .filter(|&i| row[i])
                .map(|i| w[i].abs())
                .fold(f32::INFINITY, f32::min);
            let largest_free = (0..64)
                .filter(|&i| !row[i])
                .map(|i| w[i].abs())
                .fold(0.0f32, f32::max);
            assert!(smallest_frozen >= largest_free, "channel {o}");
            assert_eq!(row.iter().filter(|&&f| f).count(), 32);
        }
        let mut u = spec("models/qat_uniform4_a4.ron");
        u.training.inq = vec![1.0];
        let e = QatNet::new(&model, &u, &train.inputs).unwrap_err();
        assert_eq!(
            e.to_string(),
            "training inq needs PoT weights, layer 0 has uniform4 weights"
        );
    }

    /// Narrow biases are trained as they are exported: with `bias_bits: 4` the fake-quantized
    /// forward pass still equals the integer network code for code (power-of-two scales), and
    /// every exported bias is a 4-bit value shifted by its layer's step.
    #[test]
    fn narrow_biases_train_as_they_export() {
        let (model, train) = small();
        let mut s = spec("models/qat_uniform4_a4.ron");
        s.bias_bits = Some(4);
        let mut net = QatNet::new(&model, &s, &train.inputs).unwrap();
        train_qat(&mut net, &train, 2, 1, |_, _| Ok(())).unwrap();
        let q = net.export(&train.inputs).unwrap();
        let a = crate::qat::agreement(&net, &q, &train).unwrap();
        assert_eq!((a.same_codes, a.same_class), (a.codes, a.samples));
        for layer in &q.layers {
            let Layer::Dense(d) = layer else { continue };
            let step = d
                .bias
                .iter()
                .map(|b| b.trailing_zeros())
                .min()
                .unwrap_or(0)
                .min(62);
            assert!(
                d.bias.iter().all(|b| (b >> step).abs() <= 7),
                "{:?}",
                d.bias
            );
        }
        // the same trained network with every bias bit kept is another network
        let wide = spec("models/qat_uniform4_a4.ron");
        assert_ne!(net.export_as(&wide, &train.inputs).unwrap(), q);
    }

    /// A width above the spec's never lowers a layer that is already wider (an 8-bit override
    /// stays at 8 bits while the others train at 6).
    #[test]
    fn progressive_widths_only_raise() {
        let (model, train) = small();
        let mut s = spec("models/qat_uniform4_a4.ron");
        s.training.progressive = vec![6];
        let mut over = s.layers.clone();
        over.push(crate::qnn::quantize::LayerOverride {
            index: 0,
            weights: None,
            activations: Some(crate::qnn::quantize::ActSpec {
                bits: 8,
                ..s.activations
            }),
        });
        s.layers = over;
        let mut net = QatNet::new(&model, &s, &train.inputs).unwrap();
        let mut seen = Vec::new();
        train_qat(&mut net, &train, 2, 1, |_, net| {
            seen.push((net.layers[0].aq.bits, net.layers[1].level_hi));
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, [(8, 31), (8, 7)]);
    }
}

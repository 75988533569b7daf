//! Pruning during quantization-aware training: unstructured magnitude pruning of the weights
//! and structured pruning of the hidden layers' output channels.
//!
//! A pruned weight is held at 0 in the shadow weights, so every weight scheme with a zero level
//! quantizes it to level 0 in the forward pass and in the export alike. A closed channel's
//! codes are 0 in the forward pass; the export removes it ([`crate::qnn::channels`]), which
//! computes exactly the same, so the trained and exported networks agree as without pruning.

use super::net::QatNet;
use super::QatError;
use crate::qnn::channels::remove_channels;
use crate::qnn::QNet;
use crate::quant::training::ChannelMethod;

/// How much of one layer was pruned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayerPruning {
    /// Index among the Dense and Conv2d layers.
    pub layer: usize,
    /// Weights of the layer.
    pub weights: usize,
    /// Weights pruned (held at 0).
    pub pruned: usize,
    /// Of those, how many the quantizer had already put at level 0 when they were pruned.
    pub pruned_at_zero: usize,
    /// Output channels.
    pub channels: usize,
    /// Output channels kept (open gates).
    pub kept: usize,
}

impl QatNet {
    /// What pruning has done to each layer.
    pub fn pruning(&self) -> Vec<LayerPruning> {
        self.layers
            .iter()
            .enumerate()
            .map(|(l, layer)| LayerPruning {
                layer: l,
                weights: layer.in_f * layer.out_f,
                pruned: layer.pruned.iter().filter(|&&p| p).count(),
                pruned_at_zero: layer.pruned_at_zero,
                channels: layer.out_f,
                kept: self
                    .kept_channels(l)
                    .map_or(layer.out_f, |k| k.iter().filter(|&&k| k).count()),
            })
            .collect()
    }

    /// Whether the channel gates learn (the gate method of channel pruning).
    pub(crate) fn learns_gates(&self) -> bool {
        self.training
            .channels
            .is_some_and(|c| c.method == ChannelMethod::Gate)
    }

    /// The open channels of layer `l`, or `None` without channel gates.
    pub(crate) fn kept_channels(&self, l: usize) -> Option<Vec<bool>> {
        let gates = &self.layers[l].gates;
        (!gates.is_empty()).then(|| gates.iter().map(|&g| g >= 0.0).collect())
    }

    /// The number of channels layer `l` keeps at the end of training.
    pub(crate) fn channel_target(&self, l: usize) -> usize {
        let out_f = self.layers[l].out_f;
        self.training.channels.map_or(out_f, |c| c.kept_of(out_f))
    }

    /// Prunes every Dense and Conv2d layer to `sparsity` of its weights: the unpruned weights
    /// of smallest magnitude (ties by position) are set to 0 until `sparsity · n` (rounded) are
    /// pruned. Already pruned weights stay so. Refuses a weight scheme that does not quantize
    /// 0 to level 0.
    pub(crate) fn prune_to(&mut self, sparsity: f64) -> Result<(), QatError> {
        for l in 0..self.layers.len() {
            let (levels, _) = self.levels(l)?;
            let mut pruned = std::mem::take(&mut self.layers[l].pruned);
            pruned.resize(levels.len(), false);
            let (w, _) = self.params_mut(l);
            let target = ((sparsity * w.len() as f64).round() as usize).min(w.len());
            let done = pruned.iter().filter(|&&p| p).count();
            let mut order: Vec<usize> = (0..w.len()).filter(|&i| !pruned[i]).collect();
            order.sort_by(|&a, &b| w[a].abs().total_cmp(&w[b].abs()).then(a.cmp(&b)));
            let mut at_zero = 0;
            for &i in order.iter().take(target.saturating_sub(done)) {
                pruned[i] = true;
                at_zero += usize::from(levels[i] == 0.0);
                w[i] = 0.0;
            }
            self.layers[l].pruned = pruned;
            self.layers[l].pruned_at_zero += at_zero;
            let (levels, _) = self.levels(l)?;
            let layer = &self.layers[l];
            if let Some(i) = (0..levels.len()).find(|&i| layer.pruned[i] && levels[i] != 0.0) {
                let code = layer
                    .wq
                    .scheme
                    .weight_code()
                    .map_or_else(|_| "these".to_string(), |c| c.to_string());
                return Err(QatError::Spec(format!(
                    "training prune needs weights with a zero level; layer {l} has {code} \
                     weights, which quantize 0 to level {} (weight {i})",
                    levels[i]
                )));
            }
        }
        Ok(())
    }

    /// Holds every pruned weight at 0 (after an update).
    pub(crate) fn zero_pruned(&mut self) {
        for l in 0..self.layers.len() {
            let mask = std::mem::take(&mut self.layers[l].pruned);
            let (w, _) = self.params_mut(l);
            for (v, _) in w.iter_mut().zip(&mask).filter(|(_, &p)| p) {
                *v = 0.0;
            }
            self.layers[l].pruned = mask;
        }
    }

    /// Sets up channel pruning of every hidden layer: learned gates all open (score 1), or by
    /// magnitude the target's count of channels with the largest weight L2 norm (ties by
    /// position) open and the others closed for good.
    pub(crate) fn init_channels(&mut self) {
        let Some(spec) = self.training.channels else {
            return;
        };
        for l in 0..self.layers.len().saturating_sub(1) {
            let (in_f, out_f) = (self.layers[l].in_f, self.layers[l].out_f);
            self.layers[l].gates = match spec.method {
                ChannelMethod::Gate => vec![1.0; out_f],
                ChannelMethod::Magnitude => {
                    let (w, _) = self.params(l);
                    let norms: Vec<f64> = w
                        .chunks_exact(in_f)
                        .map(|row| row.iter().map(|&v| f64::from(v) * f64::from(v)).sum())
                        .collect();
                    let mut gates = vec![-1.0; out_f];
                    for o in by_score(&norms).into_iter().take(spec.kept_of(out_f)) {
                        gates[o] = 1.0;
                    }
                    gates
                }
            };
        }
    }

    /// Learned gates: reopens the closed channels of highest score (at score 0) of every layer
    /// with fewer open than its target.
    pub(crate) fn reopen_to_target(&mut self) {
        for l in 0..self.layers.len() {
            let target = self.channel_target(l);
            let gates = &mut self.layers[l].gates;
            let open = gates.iter().filter(|&&g| g >= 0.0).count();
            if gates.is_empty() || open >= target {
                continue;
            }
            let closed: Vec<f64> = gates
                .iter()
                .map(|&g| if g < 0.0 { g } else { f64::NEG_INFINITY })
                .collect();
            for o in by_score(&closed).into_iter().take(target - open) {
                gates[o] = 0.0;
            }
        }
    }

    /// Learned gates at the end of training: a layer with more open than its target keeps the
    /// target's count of highest scores open.
    pub(crate) fn close_to_target(&mut self) {
        for l in 0..self.layers.len() {
            let target = self.channel_target(l);
            let gates = &mut self.layers[l].gates;
            if gates.iter().filter(|&&g| g >= 0.0).count() <= target {
                continue;
            }
            let keep = by_score(gates);
            for &o in &keep[target..] {
                gates[o] = gates[o].min(-f64::MIN_POSITIVE);
            }
        }
    }

    /// `net` (this network's export) without the channels the gates closed.
    pub(crate) fn without_closed_channels(&self, mut net: QNet) -> Result<QNet, QatError> {
        let mut k = 0;
        for l in 0..self.layers.len() {
            if let Some(keep) = self.kept_channels(l) {
                net = remove_channels(&net, k, &keep)?;
            }
            k += 1 + usize::from(self.layers[l].pool.is_some());
        }
        Ok(net)
    }
}

/// Indices of `scores` from the highest, ties by position.
fn by_score(scores: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{data::digits, Architecture, Dataset};
    use crate::qat::{agreement, train_qat};
    use crate::qnn::quantize::QuantSpec;
    use crate::qnn::{Engine, Layer};
    use crate::quant::training::{ChannelSpec, PruneSchedule, PruneSpec};

    fn spec(name: &str) -> QuantSpec {
        QuantSpec::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(name)).unwrap()
    }

    fn data() -> (Dataset, Dataset) {
        let (train, test) = digits::train_test().unwrap();
        (train.truncated(384), test)
    }

    /// The unpruned export with the closed channels' outputs forced to code 0, built without
    /// removing anything: their weights at level 0 and their bias 0, so the accumulator is 0
    /// and every requantization maps it to code 0.
    fn forced_zero(net: &QatNet, full: &QNet) -> QNet {
        let mut forced = full.clone();
        let mut k = 0;
        for l in 0..net.layers.len() {
            if let Some(keep) = net.kept_channels(l) {
                let (codes, bias, weights) = match &mut forced.layers[k] {
                    Layer::Dense(d) => (&mut d.codes, &mut d.bias, d.weights.clone()),
                    Layer::Conv2d(c) => (&mut c.codes, &mut c.bias, c.weights.clone()),
                    _ => unreachable!("a weighted layer"),
                };
                let zero = weights.encode(0).expect("a zero level");
                let per = codes.len() / keep.len();
                for (o, _) in keep.iter().enumerate().filter(|(_, &k)| !k) {
                    codes[o * per..(o + 1) * per].fill(zero);
                    bias[o] = 0;
                }
            }
            k += 1 + usize::from(net.layers[l].pool.is_some());
        }
        forced
    }

    fn assert_same_outputs(a: &QNet, b: &QNet, data: &Dataset) {
        let x = a.quantize_inputs(&data.inputs);
        let ya = Engine::new(a).unwrap().infer(&x).unwrap();
        let yb = Engine::new(b).unwrap().infer(&x).unwrap();
        assert_eq!(ya.len(), yb.len());
        let differ = ya.iter().zip(&yb).filter(|(p, q)| p != q).count();
        assert_eq!(differ, 0, "{differ} of {} logits differ", ya.len());
    }

    /// Gate training closes channels down to the target, and the exported network (channels
    /// removed) computes exactly what the full export computes with those channels forced to
    /// code 0, on every test image and every logit; the fake-quantized forward agrees with it
    /// code for code (power-of-two scales).
    #[test]
    fn gates_reach_the_target_and_removal_equals_forcing_to_zero() {
        let (train, test) = data();
        let model = Architecture::mlp(&[64, 24, 16, 10], &[64])
            .unwrap()
            .build(&[64], 5)
            .unwrap();
        let mut s = spec("models/qat_uniform4_a4.ron");
        s.training.channels = Some(ChannelSpec {
            keep: 0.5,
            method: ChannelMethod::Gate,
            gate_lr: 0.05,
            ..ChannelSpec::default()
        });
        let mut net = QatNet::new(&model, &s, &train.inputs).unwrap();
        let mut kept = Vec::new();
        train_qat(&mut net, &train, 6, 3, |_, net| {
            kept.push(net.pruning().iter().map(|p| p.kept).collect::<Vec<_>>());
            Ok(())
        })
        .unwrap();
        // the gates learn in epochs 1..=3: closing by training before the end of the search
        assert!(kept[1][0] < 24 && kept[1][1] < 16, "{kept:?}");
        for k in &kept[2..] {
            assert_eq!(k, &[12, 8, 10], "{kept:?}");
        }
        let full = quantize_full(&net, &train);
        let pruned = net.export(&train.inputs).unwrap();
        let Layer::Dense(d) = &pruned.layers[1] else {
            panic!("dense")
        };
        assert_eq!((d.in_features, d.out_features), (12, 8));
        assert_same_outputs(&pruned, &forced_zero(&net, &full), &test);
        let a = agreement(&net, &pruned, &test).unwrap();
        assert_eq!((a.same_codes, a.same_class), (a.codes, a.samples));
    }

    fn quantize_full(net: &QatNet, train: &Dataset) -> QNet {
        crate::qnn::quantize::quantize_at(&net.model, &net.spec, &train.inputs, &net.thresholds())
            .unwrap()
    }

    /// Magnitude channel pruning of a CNN keeps the filters of largest norm, removes the others
    /// through the max pool and the flatten, and again equals forcing them to zero.
    #[test]
    fn magnitude_channels_of_a_cnn_follow_the_pool_and_the_flatten() {
        let (train, test) = data();
        let train = train.truncated(128).reshaped(vec![1, 8, 8]).unwrap();
        let test = test.reshaped(vec![1, 8, 8]).unwrap();
        let model = Architecture::small_cnn(10, &[1, 8, 8])
            .build(&[1, 8, 8], 2)
            .unwrap();
        let mut s = spec("models/qat_uniform4_a4.ron");
        s.training.channels = Some(ChannelSpec {
            keep: 0.25,
            method: ChannelMethod::Magnitude,
            ..ChannelSpec::default()
        });
        let mut net = QatNet::new(&model, &s, &train.inputs).unwrap();
        // the two filters of layer 0 with the largest L2 norm are the kept ones
        let (w, _) = net.params(0);
        let norms: Vec<f32> = w
            .chunks_exact(9)
            .map(|r| r.iter().map(|v| v * v).sum())
            .collect();
        let keep = net.kept_channels(0).unwrap();
        assert_eq!(keep.iter().filter(|&&k| k).count(), 2);
        let smallest_kept = (0..8)
            .filter(|&o| keep[o])
            .map(|o| norms[o])
            .fold(f32::MAX, f32::min);
        assert!((0..8)
            .filter(|&o| !keep[o])
            .all(|o| norms[o] <= smallest_kept));
        train_qat(&mut net, &train, 1, 1, |_, _| Ok(())).unwrap();
        let pruned = net.export(&train.inputs).unwrap();
        assert_eq!(pruned.layers.len(), 5);
        let Layer::MaxPool2d(p) = &pruned.layers[1] else {
            panic!("pool")
        };
        assert_eq!(p.channels, 2);
        assert_same_outputs(
            &pruned,
            &forced_zero(&net, &quantize_full(&net, &train)),
            &test,
        );
        let a = agreement(&net, &pruned, &test).unwrap();
        assert_eq!(a.same_codes, a.codes);
    }

    /// Gradual pruning follows the cubic ramp per layer and keeps pruned weights at 0; the
    /// export has at least that many zero levels, at the pruned positions; binary weights are
    /// refused.
    #[test]
    fn gradual_pruning_follows_the_ramp_and_exports_zeros() {
        let (train, _) = data();
        let model = Architecture::mlp(&[64, 16, 10], &[64])
            .unwrap()
            .build(&[64], 3)
            .unwrap();
        let mut s = spec("models/qat_uniform4_a4.ron");
        s.training.prune = Some(PruneSpec {
            sparsity: 0.6,
            schedule: PruneSchedule::Gradual,
        });
        let mut net = QatNet::new(&model, &s, &train.inputs).unwrap();
        let mut seen = Vec::new();
        train_qat(&mut net, &train, 4, 1, |report, net| {
            let expected = crate::quant::training::gradual_sparsity(0.6, report.epoch, 4);
            for p in net.pruning() {
                assert_eq!(p.pruned, (expected * p.weights as f64).round() as usize);
                assert!(p.pruned_at_zero <= p.pruned);
            }
            for l in 0..net.layers.len() {
                let (w, _) = net.params(l);
                let mask = &net.layers[l].pruned;
                assert!(w.iter().zip(mask).all(|(&v, &p)| !p || v == 0.0));
            }
            seen.push(net.pruning()[0].pruned);
            Ok(())
        })
        .unwrap();
        assert_eq!(
            seen,
            [(0.6f64 * 0.875 * 1024.0).round() as usize, 614, 614, 614]
        );
        let q = net.export(&train.inputs).unwrap();
        let Layer::Dense(d) = &q.layers[0] else {
            panic!("dense")
        };
        let levels = d.levels();
        assert!(net.layers[0]
            .pruned
            .iter()
            .zip(&levels)
            .all(|(&p, &v)| !p || v == 0));
        let mut b = spec("models/qat_binary_a1.ron");
        b.training.prune = Some(PruneSpec {
            sparsity: 0.5,
            schedule: PruneSchedule::OneShot,
        });
        let mut net = QatNet::new(&model, &b, &train.inputs).unwrap();
        let e = train_qat(&mut net, &train, 1, 1, |_, _| Ok(())).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("training prune needs weights with a zero level; layer 0 has binary"),
            "{e}"
        );
    }
}

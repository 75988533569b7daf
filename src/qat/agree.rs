//! How closely the fake-quantized forward pass and the exported integer network agree: the
//! fraction of samples with the same predicted class, and of hidden activation codes that are
//! equal (every hidden layer's output, max pools' included). Both are 1 exactly when every
//! scale is a power of two.

use super::net::QatNet;
use super::QatError;
use crate::nn::{self, Dataset};
use crate::qnn::channels::kept_blocks;
use crate::qnn::engine::Engine;
use crate::qnn::QNet;

/// Agreement figures of a fake-quantized network and its integer export on a data set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Agreement {
    /// Samples compared.
    pub samples: usize,
    /// Samples whose predicted class is the same.
    pub same_class: usize,
    /// Hidden activation codes compared (of every layer but the last, max pools included).
    pub codes: usize,
    /// Hidden activation codes that are equal.
    pub same_codes: usize,
    /// Accuracy of the fake-quantized forward pass.
    pub fake_accuracy: f64,
    /// Accuracy of the integer network.
    pub integer_accuracy: f64,
}

impl Agreement {
    /// Fraction of samples with the same class.
    pub fn class_fraction(&self) -> f64 {
        self.same_class as f64 / self.samples.max(1) as f64
    }

    /// Fraction of equal hidden activation codes.
    pub fn code_fraction(&self) -> f64 {
        self.same_codes as f64 / self.codes.max(1) as f64
    }
}

/// Compares `net`'s fake-quantized forward pass (in `f64`, so its accumulators are exact) with
/// `exported` (its [`QatNet::export`]) run by the golden integer engine on every sample of
/// `data`, layer by layer.
pub fn agreement(net: &QatNet, exported: &QNet, data: &Dataset) -> Result<Agreement, QatError> {
    net.check_data(data)?;
    let classes = net.out_features();
    let codes = exported.quantize_inputs(&data.inputs);
    let quant = net.quantize()?;
    let fake_codes: Vec<f64> = codes.iter().map(|&c| f64::from(c)).collect();
    let trace = net.forward::<f64>(&quant, &fake_codes, data.len());
    let mut out = Agreement {
        samples: data.len(),
        same_class: 0,
        codes: 0,
        same_codes: 0,
        fake_accuracy: 0.0,
        integer_accuracy: 0.0,
    };
    // the fake-quantized codes of each integer layer but the last: a layer's, then its pool's
    // (of the kept channels only, when channel pruning removed some from the export)
    let mut fake_layers: Vec<Vec<f64>> = Vec::new();
    for l in 0..net.layers.len() - 1 {
        let layer = &net.layers[l];
        let mut outputs = vec![(trace.codes(l), layer.out_len())];
        if layer.pool.is_some() {
            outputs.push((&trace.inputs[l + 1], layer.pooled_len()));
        }
        for (codes, sample_len) in outputs {
            fake_layers.push(match net.kept_channels(l) {
                Some(keep) => kept_blocks(codes, sample_len, &keep),
                None => codes.to_vec(),
            });
        }
    }
    if fake_layers.len() + 1 != exported.layers.len() {
        return Err(QatError::Model(format!(
            "the integer network has {} layers, the trained one {}",
            exported.layers.len(),
            fake_layers.len() + 1
        )));
    }
    for (k, fake) in fake_layers.into_iter().enumerate() {
        let prefix = QNet {
            name: exported.name.clone(),
            input: exported.input.clone(),
            layers: exported.layers[..=k].to_vec(),
        };
        let integer = Engine::new(&prefix)?.infer(&codes)?;
        out.codes += integer.len();
        out.same_codes += integer
            .iter()
            .zip(&fake)
            .filter(|(&i, &f)| i as f64 == f)
            .count();
    }
    let engine = Engine::new(exported)?;
    let integer_classes = engine.classify(exported, &codes)?;
    let logits = trace.pre.last().map_or(&[][..], |v| v);
    let (mut fake_hits, mut int_hits) = (0, 0);
    for ((row, &ic), &label) in logits
        .chunks_exact(classes)
        .zip(&integer_classes)
        .zip(&data.labels)
    {
        let row32: Vec<f32> = row.iter().map(|&v| v as f32).collect();
        let fc = nn::argmax(&row32);
        out.same_class += usize::from(fc == ic);
        fake_hits += usize::from(fc == label as usize);
        int_hits += usize::from(ic == label as usize);
    }
    out.fake_accuracy = fake_hits as f64 / data.len().max(1) as f64;
    out.integer_accuracy = int_hits as f64 / data.len().max(1) as f64;
    Ok(out)
}

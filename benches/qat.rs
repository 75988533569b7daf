//! Quantization-aware training speed: one epoch of 1,280 MNIST samples (10 updates of 128)
//! through the 784-256-256-10 MLP at W4A4, against the float32 GEMMs of the same shapes alone
//! (the products a training step cannot avoid) in the same run. Both report the step's
//! multiply-adds per second; their ratio is how close training comes to the GEMM rate.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use qforge::nn::{data::mnist, Architecture};
use qforge::qat::gemm::{Mat, Real};
use qforge::qat::{train_qat, QatNet};
use qforge::qnn::quantize::QuantSpec;
use std::hint::black_box;
use std::path::Path;

const SIZES: [usize; 4] = [784, 256, 256, 10];
const BATCH: usize = 128;
const SAMPLES: usize = 1280;

/// Multiply-adds of one update: forward, weight gradients, input gradients (not of layer 0).
fn step_macs() -> u64 {
    let layers: Vec<(usize, usize)> = SIZES.windows(2).map(|w| (w[0], w[1])).collect();
    let forward: usize = layers.iter().map(|(i, o)| BATCH * i * o).sum();
    let input_grads: usize = layers[1..].iter().map(|(i, o)| BATCH * i * o).sum();
    (2 * forward + input_grads) as u64
}

fn bench_qat(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (train, _) = mnist::load_dir(&root.join("../shared/data/mnist")).unwrap();
    let train = train.truncated(SAMPLES);
    let mut spec = QuantSpec::load(&root.join("models/qat_uniform4_a4.ron")).unwrap();
    spec.training.batch_size = BATCH;
    let model = Architecture::mlp(&SIZES, &[784])
        .unwrap()
        .build(&[784], 1)
        .unwrap();
    let net = QatNet::new(&model, &spec, &train.inputs[..512 * 784]).unwrap();
    let steps = SAMPLES / BATCH;

    let mut group = c.benchmark_group("qat_epoch_1280_mnist_784-256-256-10_w4a4");
    group.sample_size(10);
    group.throughput(Throughput::Elements(step_macs() * steps as u64));
    group.bench_function("qat_training", |b| {
        b.iter(|| {
            let mut n = net.clone();
            train_qat(&mut n, black_box(&train), 1, 1, |_, _| Ok(())).unwrap();
            black_box(n);
        })
    });
    // The same products as plain float32 GEMMs: per layer y = x·Wᵀ, dW = Gᵀ·x, dx = G·W.
    let weights: Vec<Vec<f32>> = SIZES
        .windows(2)
        .map(|w| (0..w[0] * w[1]).map(|i| (i % 7) as f32 - 3.0).collect())
        .collect();
    group.bench_function("sgemm_baseline", |b| {
        let x: Vec<Vec<f32>> = SIZES
            .iter()
            .map(|&n| (0..BATCH * n).map(|i| (i % 5) as f32).collect())
            .collect();
        let mut out = vec![0.0f32; BATCH * 784];
        let mut dw = vec![0.0f32; 784 * 256];
        b.iter(|| {
            for _ in 0..steps {
                for (l, w) in SIZES.windows(2).enumerate() {
                    let (i, o) = (w[0], w[1]);
                    f32::gemm(
                        BATCH,
                        i,
                        o,
                        Mat::plain(&x[l]),
                        Mat::transposed(&weights[l]),
                        0.0,
                        &mut out,
                    );
                    f32::gemm(
                        o,
                        BATCH,
                        i,
                        Mat::transposed(&x[l + 1]),
                        Mat::plain(&x[l]),
                        0.0,
                        &mut dw,
                    );
                    if l > 0 {
                        f32::gemm(
                            BATCH,
                            o,
                            i,
                            Mat::plain(&x[l + 1]),
                            Mat::plain(&weights[l]),
                            0.0,
                            &mut out,
                        );
                    }
                }
            }
            black_box((&out, &dw));
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = bench_qat
}
criterion_main!(benches);

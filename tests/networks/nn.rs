//! Float networks: golden PyTorch logits, the bundled model, the digits split, RON files, training, MNIST IDX.

use qforge::nn::data::{digits, mnist};
use qforge::nn::{
    self, fold_batchnorm, Architecture, Layer, Model, NnError, Optimizer, SplitMix64, TrainConfig,
};
use std::path::{Path, PathBuf};

fn golden(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(rel)
}

fn read_tsv(rel: &str) -> Vec<Vec<f32>> {
    let text = std::fs::read_to_string(golden(rel)).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.split('\t')
                .map(|v| v.trim().parse::<f32>().unwrap())
                .collect()
        })
        .collect()
}

fn read_labels(rel: &str) -> Vec<u8> {
    std::fs::read_to_string(golden(rel))
        .unwrap()
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect()
}

fn temp_path(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("nn");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn dense_from_golden(prefix: &str) -> Layer {
    let w = read_tsv(&format!("float_mlp/{prefix}.weight.tsv"));
    let b = read_tsv(&format!("float_mlp/{prefix}.bias.tsv")).concat();
    Layer::Dense {
        in_features: w[0].len(),
        out_features: w.len(),
        weights: w.concat(),
        bias: b,
    }
}

#[test]
fn golden_pytorch_mlp_logits_reproduced() {
    let model = Model::new(
        "golden",
        vec![64],
        vec![
            dense_from_golden("fc1"),
            Layer::Relu,
            dense_from_golden("fc2"),
        ],
    )
    .unwrap();
    let x = read_tsv("digits_split/test_x.tsv");
    let expected = read_tsv("float_mlp/expected_logits_test.tsv");
    assert_eq!((x.len(), expected.len()), (450, 450));
    let logits = model.forward(&x.concat()).unwrap();
    let mut max_err = 0f32;
    for (i, (row, exp)) in logits.chunks(10).zip(&expected).enumerate() {
        for (a, b) in row.iter().zip(exp) {
            max_err = max_err.max((a - b).abs());
        }
        assert_eq!(
            nn::argmax(row),
            nn::argmax(exp),
            "argmax of test sample {i}"
        );
    }
    assert!(max_err <= 1e-4, "max logit error {max_err}");
    let acc = model
        .accuracy(&x.concat(), &read_labels("digits_split/test_y.txt"))
        .unwrap();
    assert!((acc - 0.9689).abs() < 1e-4, "golden accuracy {acc}");
}

#[test]
fn digits_split_from_data_equals_golden_split() {
    let (train, test) = digits::train_test().unwrap();
    for (set, part, n) in [(&train, "train", 1347), (&test, "test", 450)] {
        let x = read_tsv(&format!("digits_split/{part}_x.tsv"));
        assert_eq!(set.len(), n);
        assert_eq!(set.shape, vec![64]);
        // The golden values are exact decimals of k/16, so the comparison is exact.
        assert!(set.inputs == x.concat(), "{part} pixels differ");
        assert_eq!(
            set.labels,
            read_labels(&format!("digits_split/{part}_y.txt")),
            "{part} labels differ"
        );
    }
}

#[test]
fn bundled_model_reaches_096_on_digits_test() {
    let model =
        Model::load(Path::new(env!("CARGO_MANIFEST_DIR")).join("models/digits_mlp.ron")).unwrap();
    let (_, test) = digits::train_test().unwrap();
    let acc = model.accuracy(&test.inputs, &test.labels).unwrap();
    assert!(acc >= 0.96, "bundled model accuracy {acc}");
}

fn train_bytes(seed: u64) -> String {
    let (train, _) = digits::train_test().unwrap();
    let arch = Architecture::mlp(&[64, 32, 10], &[64]).unwrap();
    let mut model = arch.build(&[64], seed).unwrap();
    let config = TrainConfig {
        epochs: 2,
        batch_size: 32,
        optimizer: Optimizer::adam(1e-3),
        seed,
    };
    nn::train(&mut model, &train, &config, |_, _| {}).unwrap();
    model.to_ron_string(&[]).unwrap()
}

#[test]
fn training_is_deterministic_per_seed() {
    let a = train_bytes(7);
    assert_eq!(a, train_bytes(7));
    assert_ne!(a, train_bytes(8));
}

#[test]
fn f32_values_round_trip_exactly_through_ron() {
    let mut rng = SplitMix64::new(42);
    let mut values: Vec<f32> = vec![
        0.1,
        -0.0,
        1e-45,
        f32::MIN_POSITIVE,
        f32::MAX,
        f32::MIN,
        16777217.0,
        1.0 / 3.0,
    ];
    while values.len() < 4000 {
        let v = f32::from_bits(rng.next_u64() as u32);
        if v.is_finite() {
            values.push(v);
        }
    }
    let n = values.len();
    let model = Model::new(
        "round trip",
        vec![n],
        vec![Layer::Dense {
            in_features: n,
            out_features: 1,
            weights: values.clone(),
            bias: vec![0.1],
        }],
    )
    .unwrap();
    let path = temp_path("round_trip.ron");
    model.save(&path, &["a header comment"]).unwrap();
    let back = Model::load(&path).unwrap();
    let Layer::Dense { weights, .. } = &back.layers[0] else {
        panic!("not dense")
    };
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(weights), bits(&values));
    assert_eq!(back, model);
}

const GOOD: &str = "// a comment
Model(
  name: \"t\",
  input_shape: [2],
  layers: [
    Dense(in_features: 2, out_features: 3, weights: [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], bias: [0.0, 0.0, 0.0]),
    Relu,
    Dense(in_features: 3, out_features: 1, weights: [1.0, 1.0, 1.0], bias: [0.5]),
  ],
)
";

fn load_error(text: &str, name: &str) -> String {
    let path = temp_path(name);
    std::fs::write(&path, text).unwrap();
    let err = Model::load(&path).unwrap_err().to_string();
    eprintln!("{err}");
    assert!(err.starts_with(&path.display().to_string()), "{err}");
    err
}

#[test]
fn good_model_file_loads_and_runs() {
    let path = temp_path("good.ron");
    std::fs::write(&path, GOOD).unwrap();
    let m = Model::load(&path).unwrap();
    // [1, 1] -> [1+2, 3+4, 5+6] -> sum + 0.5
    assert_eq!(m.forward(&[1.0, 1.0]).unwrap(), vec![21.5]);
}

#[test]
fn bad_model_files_report_file_line_col() {
    let p = |name: &str| temp_path(name).display().to_string();
    // Unknown layer kind on line 7, column 5.
    let err = load_error(&GOOD.replace("    Relu,", "    Softmax,"), "unknown.ron");
    assert!(
        err.starts_with(&format!("{}:7:5:", p("unknown.ron"))),
        "{err}"
    );
    assert!(err.contains("Softmax"), "{err}");
    // Shape mismatch: layer 2 expects [4] but gets [3]; points at line 8, column 5.
    let err = load_error(
        &GOOD.replace(
            "Dense(in_features: 3, out_features: 1, weights: [1.0, 1.0, 1.0]",
            "Dense(in_features: 4, out_features: 1, weights: [1.0, 1.0, 1.0, 1.0]",
        ),
        "shape.ron",
    );
    assert!(
        err.starts_with(&format!("{}:8:5:", p("shape.ron"))),
        "{err}"
    );
    assert!(
        err.contains("layer 2") && err.contains("[3]") && err.contains("[4]"),
        "{err}"
    );
    // Missing field: the bias of layer 0.
    let err = load_error(&GOOD.replace(", bias: [0.0, 0.0, 0.0]", ""), "missing.ron");
    assert!(
        err.starts_with(&format!("{}:6:", p("missing.ron"))),
        "{err}"
    );
    assert!(err.contains("bias"), "{err}");
    // Malformed syntax: an unclosed list.
    let err = load_error(
        &GOOD.replace("[1.0, 1.0, 1.0]", "[1.0, 1.0, 1.0"),
        "syntax.ron",
    );
    assert!(err.starts_with(&format!("{}:8:", p("syntax.ron"))), "{err}");
    // Wrong parameter length.
    let err = load_error(&GOOD.replace("bias: [0.5]", "bias: [0.5, 1.0]"), "len.ron");
    assert!(
        err.starts_with(&format!("{}:8:5:", p("len.ron")))
            && err.contains("bias has 2 values, expected 1"),
        "{err}"
    );
    // Not RON at all, an empty file, a missing file: errors, no panic.
    load_error("\u{0}\u{1}garbage", "binary.ron");
    load_error("", "empty.ron");
    assert!(matches!(
        Model::load(temp_path("does_not_exist.ron")),
        Err(NnError::Io { .. })
    ));
}

#[test]
fn shape_mismatch_names_layer_and_both_shapes() {
    let err = Model::new(
        "m",
        vec![1, 4, 4],
        vec![Layer::Dense {
            in_features: 16,
            out_features: 1,
            weights: vec![0.0; 16],
            bias: vec![0.0],
        }],
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        "layer 0 (Dense): input shape [1, 4, 4] does not match the expected [16]"
    );
}

#[test]
fn conv_maxpool_forward_worked_by_hand() {
    // Input 1x3x3 = 1..9; one 2x2 kernel [[1, 0], [0, -1]], bias 0.5, stride 1, padding 0:
    // out[y][x] = in[y][x] - in[y+1][x+1] + 0.5 = -4 + 0.5 everywhere -> [-3.5; 4].
    // Second channel kernel all ones: 2x2 window sums 12, 16, 24, 28, bias 0.
    // Then padding 1 is checked on a third model below; max pool 2 over 2x2 takes the maximum.
    let conv = Layer::Conv2d {
        in_channels: 1,
        out_channels: 2,
        kernel_h: 2,
        kernel_w: 2,
        stride: 1,
        padding: 0,
        weights: vec![1.0, 0.0, 0.0, -1.0, 1.0, 1.0, 1.0, 1.0],
        bias: vec![0.5, 0.0],
    };
    let x: Vec<f32> = (1..=9).map(|v| v as f32).collect();
    let m = Model::new("c", vec![1, 3, 3], vec![conv.clone()]).unwrap();
    assert_eq!(
        m.forward(&x).unwrap(),
        vec![-3.5, -3.5, -3.5, -3.5, 12.0, 16.0, 24.0, 28.0]
    );
    let m = Model::new(
        "c",
        vec![1, 3, 3],
        vec![
            conv,
            Layer::MaxPool2d {
                kernel: 2,
                stride: 2,
            },
            Layer::Flatten,
        ],
    )
    .unwrap();
    assert_eq!(m.output_shape().unwrap(), vec![2]);
    assert_eq!(m.forward(&x).unwrap(), vec![-3.5, 28.0]);
    // Padding 1, stride 2, all-ones 3x3 kernel on 1..9: corners sum their 2x2 neighbourhoods.
    let pad = Layer::Conv2d {
        in_channels: 1,
        out_channels: 1,
        kernel_h: 3,
        kernel_w: 3,
        stride: 2,
        padding: 1,
        weights: vec![1.0; 9],
        bias: vec![0.0],
    };
    let m = Model::new("p", vec![1, 3, 3], vec![pad]).unwrap();
    assert_eq!(m.forward(&x).unwrap(), vec![12.0, 16.0, 24.0, 28.0]);
}

#[test]
fn batchnorm_folds_into_dense_exactly_as_applied() {
    let dense = Layer::Dense {
        in_features: 2,
        out_features: 2,
        weights: vec![1.0, 2.0, -1.0, 0.5],
        bias: vec![0.5, -1.0],
    };
    // var + eps = 4 -> sqrt 2; channel 0: gamma 2 -> scale 1; channel 1: gamma 1 -> scale 0.5.
    let bn = Layer::BatchNorm {
        gamma: vec![2.0, 1.0],
        beta: vec![0.25, 3.0],
        running_mean: vec![1.0, -2.0],
        running_var: vec![3.75, 3.75],
        eps: 0.25,
    };
    let folded = fold_batchnorm(&dense, &bn).unwrap();
    assert_eq!(
        folded,
        Layer::Dense {
            in_features: 2,
            out_features: 2,
            weights: vec![1.0, 2.0, -0.5, 0.25],
            bias: vec![-0.25, 3.5]
        }
    );
    let both = Model::new("a", vec![2], vec![dense, bn]).unwrap();
    let one = Model::new("b", vec![2], vec![folded]).unwrap();
    let x = [1.0, 3.0, -2.0, 0.5];
    // x = [1, 3]: dense -> [7.5, -0.5]; bn -> [(7.5 - 1) * 1 + 0.25, (-0.5 + 2) * 0.5 + 3] = [6.75, 3.75].
    assert_eq!(both.forward(&x[..2]).unwrap(), vec![6.75, 3.75]);
    assert_eq!(both.forward(&x).unwrap(), one.forward(&x).unwrap());
    assert!(fold_batchnorm(&Layer::Relu, &Layer::Flatten).is_err());
}

fn cross_entropy(model: &Model, x: &[f32], label: usize) -> f64 {
    let z: Vec<f64> = model
        .forward(x)
        .unwrap()
        .iter()
        .map(|&v| v as f64)
        .collect();
    let max = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let lse = z.iter().map(|v| (v - max).exp()).sum::<f64>().ln() + max;
    lse - z[label]
}

fn params(model: &Model) -> Vec<f32> {
    model
        .layers
        .iter()
        .flat_map(|l| match l {
            Layer::Dense { weights, bias, .. } | Layer::Conv2d { weights, bias, .. } => {
                [weights.clone(), bias.clone()].concat()
            }
            _ => vec![],
        })
        .collect()
}

fn set_param(model: &mut Model, mut k: usize, value: f32) {
    for l in &mut model.layers {
        if let Layer::Dense { weights, bias, .. } | Layer::Conv2d { weights, bias, .. } = l {
            for v in weights.iter_mut().chain(bias.iter_mut()) {
                if k == 0 {
                    *v = value;
                    return;
                }
                k -= 1;
            }
        }
    }
}

#[test]
fn cnn_backprop_matches_finite_differences() {
    // One plain SGD step of rate lr on one sample moves each parameter by -lr * dLoss/dp; compare with
    // central differences of the loss computed by the forward pass alone.
    use nn::LayerSpec::*;
    let arch = Architecture {
        name: "g".into(),
        layers: vec![
            Conv2d {
                out_channels: 3,
                kernel: 3,
                stride: 1,
                padding: 1,
            },
            Relu,
            MaxPool2d {
                kernel: 2,
                stride: 2,
            },
            Conv2d {
                out_channels: 2,
                kernel: 2,
                stride: 1,
                padding: 0,
            },
            Relu,
            Flatten,
            Dense { out_features: 4 },
        ],
    };
    let shape = vec![2, 6, 6];
    let mut model = arch.build(&shape, 3).unwrap();
    // Non-zero biases so that ReLUs are not all on the same side.
    for l in &mut model.layers {
        if let Layer::Dense { bias, .. } | Layer::Conv2d { bias, .. } = l {
            bias.iter_mut()
                .enumerate()
                .for_each(|(i, b)| *b = 0.05 * (i as f32 - 1.0));
        }
    }
    let mut rng = SplitMix64::new(9);
    let x: Vec<f32> = (0..72).map(|_| rng.next_f64() as f32).collect();
    let label = 2usize;
    let data = nn::Dataset {
        inputs: x.clone(),
        shape: shape.clone(),
        labels: vec![label as u8],
    };
    let lr = 1e-3f32;
    let before = params(&model);
    let mut stepped = model.clone();
    let config = TrainConfig {
        epochs: 1,
        batch_size: 1,
        optimizer: Optimizer::Sgd { lr, momentum: 0.0 },
        seed: 0,
    };
    nn::train(&mut stepped, &data, &config, |_, _| {}).unwrap();
    let after = params(&stepped);
    let mut checked = 0;
    for k in (0..before.len()).step_by(3) {
        let analytic = (before[k] as f64 - after[k] as f64) / lr as f64;
        let h = 1e-2f32;
        let mut plus = model.clone();
        set_param(&mut plus, k, before[k] + h);
        let mut minus = model.clone();
        set_param(&mut minus, k, before[k] - h);
        let numeric =
            (cross_entropy(&plus, &x, label) - cross_entropy(&minus, &x, label)) / (2.0 * h as f64);
        assert!(
            (analytic - numeric).abs() <= 2e-3 + 0.02 * numeric.abs(),
            "parameter {k}: backprop {analytic}, finite difference {numeric}"
        );
        checked += 1;
    }
    assert!(checked > 30);
    model = stepped;
    assert_eq!(model.output_shape().unwrap(), vec![4]);
}

fn idx_images(n: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    for w in [0x0803u32, n, rows, cols] {
        v.extend_from_slice(&w.to_be_bytes());
    }
    v.extend_from_slice(pixels);
    v
}

fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    for w in [0x0801u32, labels.len() as u32] {
        v.extend_from_slice(&w.to_be_bytes());
    }
    v.extend_from_slice(labels);
    v
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

#[test]
fn mnist_idx_reader_on_small_files() {
    let dir = temp_path("mnist_small");
    std::fs::create_dir_all(&dir).unwrap();
    // Three 2x3 images; pixel values chosen so /255 is easy to check.
    let pixels: Vec<u8> = (0..18).map(|i| (i * 15) as u8).collect();
    std::fs::write(
        dir.join("train-images-idx3-ubyte.gz"),
        gzip(&idx_images(3, 2, 3, &pixels)),
    )
    .unwrap();
    std::fs::write(dir.join("train-labels-idx1-ubyte"), idx_labels(&[7, 0, 9])).unwrap();
    std::fs::write(
        dir.join("t10k-images.idx3-ubyte"),
        idx_images(1, 2, 3, &pixels[..6]),
    )
    .unwrap();
    std::fs::write(
        dir.join("t10k-labels.idx1-ubyte.gz"),
        gzip(&idx_labels(&[4])),
    )
    .unwrap();
    let (train, test) = mnist::load_dir(&dir).unwrap();
    assert_eq!(train.shape, vec![1, 2, 3]);
    assert_eq!(train.labels, vec![7, 0, 9]);
    assert_eq!(train.inputs[17], 1.0);
    assert_eq!(train.inputs[1], 15.0 / 255.0);
    assert_eq!(test.labels, vec![4]);
    assert_eq!(test.inputs, train.inputs[..6].to_vec());

    // Bad magic (a label file where images are expected), truncated data, truncated header.
    let bad = dir.join("bad-magic");
    std::fs::write(&bad, idx_labels(&[1, 2])).unwrap();
    let err = mnist::read_images(&bad).unwrap_err().to_string();
    assert!(
        err.contains("bad-magic") && err.contains("bad magic 0x00000801"),
        "{err}"
    );
    let short = dir.join("short.gz");
    std::fs::write(&short, gzip(&idx_images(3, 2, 3, &pixels[..10]))).unwrap();
    let err = mnist::read_images(&short).unwrap_err().to_string();
    assert!(
        err.contains("short.gz") && err.contains("truncated"),
        "{err}"
    );
    std::fs::write(&short, [0u8, 0, 8]).unwrap();
    assert!(mnist::read_labels(&short)
        .unwrap_err()
        .to_string()
        .contains("truncated"));
    // Mismatched counts and a missing folder.
    std::fs::write(dir.join("train-labels-idx1-ubyte"), idx_labels(&[7, 0])).unwrap();
    let err = mnist::load_dir(&dir).unwrap_err().to_string();
    assert!(err.contains("2 labels for 3 images"), "{err}");
    let err = mnist::load_dir(&dir.join("nowhere"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("nowhere") && err.contains("train-images-idx3-ubyte.gz"),
        "{err}"
    );
}

#[test]
fn real_mnist_test_set_counts_when_present() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let candidates: Vec<PathBuf> = match std::env::var_os("QFORGE_MNIST_DIR") {
        Some(d) => vec![PathBuf::from(d)],
        None => vec![
            root.join("../shared/data/mnist"),
            root.join("../../shared/data/mnist"),
        ],
    };
    let Some(dir) = candidates
        .iter()
        .find(|d| d.join("t10k-labels.idx1-ubyte.gz").is_file() || d.is_dir())
    else {
        eprintln!("NOTE: real MNIST not found (looked in {candidates:?}; set QFORGE_MNIST_DIR): count check NOT run");
        return;
    };
    let (train, test) = mnist::load_dir(dir).unwrap();
    assert_eq!(train.len(), 60000);
    assert_eq!(test.shape, vec![1, 28, 28]);
    let mut counts = [0usize; 10];
    test.labels.iter().for_each(|&l| counts[l as usize] += 1);
    assert_eq!(
        counts,
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
    eprintln!(
        "checked real MNIST in {}: 60000 train, 10000 test, official label counts",
        dir.display()
    );
}

#[test]
fn bundled_model_is_reproduced_by_its_header_command() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/digits_mlp.ron");
    let text = std::fs::read_to_string(&path).unwrap();
    let header = "// trained by: qforge train --data digits --arch mlp:64-32-10 --epochs 40 --seed 1 -o models/digits_mlp.ron";
    assert!(
        text.starts_with(header),
        "the header command changed; update this test with it"
    );
    let bundled = Model::load(&path).unwrap();
    // The defaults of `qforge train`: Adam, learning rate 1e-3, batch 32.
    let (train, _) = digits::train_test().unwrap();
    let mut model = Architecture::mlp(&[64, 32, 10], &[64])
        .unwrap()
        .build(&[64], 1)
        .unwrap();
    let config = TrainConfig {
        epochs: 40,
        batch_size: 32,
        optimizer: Optimizer::adam(1e-3),
        seed: 1,
    };
    nn::train(&mut model, &train, &config, |_, _| {}).unwrap();
    // Bit-exact where the model was trained (the softmax uses the platform's `exp`).
    if cfg!(all(target_arch = "x86_64", target_os = "linux")) {
        assert!(
            model == bundled,
            "retraining did not reproduce models/digits_mlp.ron bit for bit"
        );
    }
}

#[test]
fn huge_sizes_in_a_model_file_are_errors_not_overflows() {
    let text = GOOD.replace(
        "in_features: 2, out_features: 3",
        "in_features: 18446744073709551615, out_features: 3",
    );
    let err = Model::from_ron_str(&text, "huge.ron")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("huge.ron:6:5:") && err.contains("too large"),
        "{err}"
    );
    let text = GOOD.replace(
        "input_shape: [2]",
        "input_shape: [4294967296, 4294967296, 2]",
    );
    let err = Model::from_ron_str(&text, "huge.ron")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("huge.ron:4:3:"), "{err}");
    let conv = "Model(name: \"c\", input_shape: [1, 4, 4], layers: [Conv2d(in_channels: 1, out_channels: 1, kernel_h: 1, \
                kernel_w: 1, stride: 1, padding: 18446744073709551615, weights: [1.0], bias: [0.0])])";
    let err = Model::from_ron_str(conv, "conv.ron")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("conv.ron:1:") && err.contains("padding"),
        "{err}"
    );
}

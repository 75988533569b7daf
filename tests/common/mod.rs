//! The small digits CNN the convolution tests share: conv 1→4 channels 3×3 (padding 1), ReLU,
//! max pool 2, flatten, dense 64→10, trained here from a fixed seed for two epochs (a second in
//! a release build) and quantized with a bundled quantization file.

use qforge::flow::quantize_float;
use qforge::nn::{self, Architecture, LayerSpec};
use qforge::qnn::quantize::QuantSpec;
use qforge::qnn::QNet;
use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The float model, trained deterministically.
pub fn digits_cnn_float() -> nn::Model {
    let shape = vec![1, 8, 8];
    let arch = Architecture {
        name: "digits_cnn".into(),
        layers: vec![
            LayerSpec::Conv2d {
                out_channels: 4,
                kernel: 3,
                stride: 1,
                padding: 1,
            },
            LayerSpec::Relu,
            LayerSpec::MaxPool2d {
                kernel: 2,
                stride: 2,
            },
            LayerSpec::Flatten,
            LayerSpec::Dense { out_features: 10 },
        ],
    };
    let mut model = arch.build(&shape, 7).unwrap();
    let (train, _) = nn::data::digits::train_test().unwrap();
    let train = train.reshaped(shape).unwrap();
    let config = nn::TrainConfig {
        epochs: 2,
        batch_size: 32,
        optimizer: nn::Optimizer::adam(0.01),
        seed: 7,
    };
    nn::train(&mut model, &train, &config, |_, _| {}).unwrap();
    model
}

/// The CNN quantized with `models/<spec>`.
pub fn digits_cnn(spec: &str) -> QNet {
    let spec = QuantSpec::load(&Path::new(ROOT).join("models").join(spec)).unwrap();
    let mut net = quantize_float(&digits_cnn_float(), &spec).unwrap();
    net.name = "digits_cnn".into();
    net
}

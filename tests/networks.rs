//! The network layer (`nn`, `qnn`): float training and inference, the integer engines against
//! an independent reference, hls4ml and QONNX golden outputs, quantizing trained models, quantization-aware training.
//!
//! One test binary per layer of the architecture (see `tests/numbers.rs`); the files of this
//! layer are modules of it, under `tests/networks/`.

#[path = "networks/bipolar.rs"]
mod bipolar;
#[path = "networks/ensemble.rs"]
mod ensemble;
#[path = "networks/nn.rs"]
mod nn;
#[path = "networks/qat.rs"]
mod qat;
#[path = "networks/qat_cnn.rs"]
mod qat_cnn;
#[path = "networks/qnn_golden.rs"]
mod qnn_golden;
#[path = "networks/qnn_hls4ml.rs"]
mod qnn_hls4ml;
#[path = "networks/qnn_qonnx.rs"]
mod qnn_qonnx;
#[path = "networks/qnn_qonnx_import.rs"]
mod qnn_qonnx_import;
#[path = "networks/qnn_quantize.rs"]
mod qnn_quantize;
#[path = "networks/qnn_semantics.rs"]
mod qnn_semantics;

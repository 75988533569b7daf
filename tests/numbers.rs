//! The number layer (`num`, `quant`): fixed-point casts against the Xilinx headers, hand tables
//! and the `fixed` crate; integer quantization against qonnx; the weight quantizers.
//!
//! One test binary per layer of the architecture (numbers, networks, hardware, explore, cli):
//! each binary links the whole crate, so a few of them build much faster than one per file.
//! The files of this layer are modules of it, under `tests/numbers/`.

#[path = "numbers/ap_fixed_golden.rs"]
mod ap_fixed_golden;
#[path = "numbers/fixed_props.rs"]
mod fixed_props;
#[path = "numbers/fixed_semantics.rs"]
mod fixed_semantics;
#[path = "numbers/fixed_vs_fixed_crate.rs"]
mod fixed_vs_fixed_crate;
#[path = "numbers/qonnx_intquant_golden.rs"]
mod qonnx_intquant_golden;
#[path = "numbers/quantizers.rs"]
mod quantizers;

//! Quantizers and calibration: uniform, power-of-two, APoT, binary and ternary; clipping choices.

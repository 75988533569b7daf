//! A typed Verilog IR: every expression knows its width and signedness, and the printer emits
//! plain, deterministic Verilog-2005.

//! Test vectors and drivers for the external tools: Verilator (lint, co-simulation) and Yosys/nextpnr.

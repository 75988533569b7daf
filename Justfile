# Everyday recipes. Nothing requires `just`: each recipe is one plain command you can copy.

# Build the release binary.
build:
    cargo build --release

# Run every test (Verilator, Yosys and nextpnr-ice40 must be installed for the hardware tests).
test:
    cargo test

# The main job on the bundled digits model.
demo:
    cargo run --release -- demo

# Criterion benchmarks; results are summarised in BENCHMARKS.md.
bench:
    cargo bench

# Formatting and lints, as CI expects them.
lint:
    cargo fmt --all -- --check
    cargo clippy --all-targets -- -D warnings

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

# The default bit-width sweep of the digits MLP (87 points, model area: a few seconds once built).
sweep:
    cargo run --release -- sweep models/sweep_default.ron -o target/sweep_default

# Refit the iCE40 area-model coefficients to Yosys (62 PEs, about a minute on 2 cores).
calibrate:
    cargo run --release -- calibrate --target ice40 -o models/area_ice40.ron

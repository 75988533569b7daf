//! Simulated cycles per second of the whole-network cycle simulator against Verilator on the
//! same design and the same images (the digits MLP, 4-bit PoT weights / 4-bit activations, all
//! 450 test images), in the same run.
//!
//! The Verilator side replays the design folder's vectors with a cached `--binary` build (the
//! build time is reported once, outside the measurement); its time includes loading the vector
//! files, as every replay does. Without Verilator the baseline is skipped with a note.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use qforge::accel::plan::{plan, ArchSpec};
use qforge::accel::sim::{simulate, Datapath, SimOptions};
use qforge::flow::{
    build_net_design, digits_test_codes, quantize_float, write_net_design, NetDesignOptions,
};
use qforge::nn::Model;
use qforge::qnn::quantize::QuantSpec;
use qforge::verify::manifest::Manifest;
use qforge::verify::verilator::{replay, ReplayInput, ReplayOptions};
use std::hint::black_box;
use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn bench(c: &mut Criterion) {
    let model = Model::load(Path::new(ROOT).join("models/digits_mlp.ron")).expect("model");
    let spec =
        QuantSpec::load(&Path::new(ROOT).join("models/quant_pot4_a4.ron")).expect("quant spec");
    let net = quantize_float(&model, &spec).expect("quantize");
    let (codes, _) = digits_test_codes(&net, None).expect("digits");
    let cache = Path::new(ROOT).join("target/qf-verilator-cache");
    for name in ["arch_folded", "arch_mixed", "arch_parallel"] {
        let arch =
            ArchSpec::load(&Path::new(ROOT).join(format!("models/{name}.ron"))).expect("arch");
        let p = plan(&net, &arch).expect("plan");
        let cycles = simulate(&p.network, &codes, &SimOptions::default())
            .expect("simulate")
            .report
            .cycles;
        let mut g = c.benchmark_group(format!("netsim_{name}"));
        g.sample_size(10);
        g.throughput(Throughput::Elements(cycles));
        g.bench_function("cycle_simulator", |b| {
            b.iter(|| {
                black_box(
                    simulate(&p.network, black_box(&codes), &SimOptions::default())
                        .expect("simulate"),
                )
            })
        });
        // The same simulator stepping every cycle with every unit computing its values: what
        // the fast paths (values of whole streams at once, repeated periods crossed at once)
        // gain.
        let every_cycle = SimOptions {
            datapath: Datapath::Stepped,
            every_cycle: true,
            ..SimOptions::default()
        };
        g.bench_function("cycle_simulator_every_cycle", |b| {
            b.iter(|| {
                black_box(simulate(&p.network, black_box(&codes), &every_cycle).expect("simulate"))
            })
        });
        // Baseline: Verilator on the same design and images.
        let dir = Path::new(ROOT).join(format!("target/netsim-bench/{name}"));
        let design =
            build_net_design(&net, &arch, &codes, &NetDesignOptions::default()).expect("design");
        write_net_design(&dir, &design).expect("write");
        let m = Manifest::load(&dir).expect("manifest");
        let input = ReplayInput {
            sources: m.all_sources(&dir),
            in_width: m.in_width,
            out_width: m.out_width,
            cycles: m.cycles,
            stimulus: dir.join(&m.stimulus),
            expected: dir.join(&m.expected),
        };
        let options = ReplayOptions {
            cache_dir: Some(cache.clone()),
            ..ReplayOptions::default()
        };
        match replay(&input, &options) {
            Ok(first) => {
                eprintln!(
                    "{name}: verilator build {:.1} s{}, {} cycles, mismatches {}",
                    first.build_seconds,
                    if first.cached { " (cached)" } else { "" },
                    first.cycles,
                    first.mismatches
                );
                g.bench_function("verilator", |b| {
                    b.iter(|| black_box(replay(&input, &options).expect("replay")))
                });
            }
            Err(e) => eprintln!("{name}: verilator baseline skipped: {e}"),
        }
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = bench
}
criterion_main!(benches);

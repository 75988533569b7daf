//! Casting one million f64 values to `ap_fixed<8,3,AP_RND_CONV,AP_SAT>`: qforge's exact
//! ap_fixed cast against a plain float round-and-clamp loop (the fastest thing that gives the
//! same answer for in-range, non-pathological inputs) in the same run.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use qforge::num::fixed::FixedFormat;
use std::hint::black_box;

const N: usize = 1_000_000;

/// Deterministic inputs spread over about twice the format's range, with many exact ties.
fn inputs() -> Vec<f64> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    (0..N)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            if i % 4 == 0 {
                // An exact tie between two steps of 1/32.
                ((state % 512) as f64 - 256.0 + 0.5) / 32.0
            } else {
                (state >> 11) as f64 / (1u64 << 53) as f64 * 16.0 - 8.0
            }
        })
        .collect()
}

fn bench_cast(c: &mut Criterion) {
    let xs = inputs();
    let format: FixedFormat = "ap_fixed<8,3,AP_RND_CONV,AP_SAT>".parse().unwrap();
    let mut out = vec![0i64; N];

    // The two must agree on these inputs, or the comparison means nothing.
    for &x in &xs {
        let exact = format.cast_f64_raw(x).unwrap() as i64;
        let float = (x * 32.0).round_ties_even().clamp(-128.0, 127.0) as i64;
        assert_eq!(exact, float, "{x}");
    }

    let mut group = c.benchmark_group("cast_1M_to_ap_fixed_8_3_rnd_conv_sat");
    group.throughput(Throughput::Elements(N as u64));
    group.bench_function("qforge_exact", |b| {
        b.iter(|| {
            let f = black_box(&format);
            for (o, &x) in out.iter_mut().zip(black_box(&xs)) {
                // Every input is finite; a NaN would be reported, not cast.
                *o = f.cast_f64_raw(x).unwrap_or(0) as i64;
            }
            black_box(&out);
        })
    });
    group.bench_function("f64_round_clamp_baseline", |b| {
        b.iter(|| {
            for (o, &x) in out.iter_mut().zip(black_box(&xs)) {
                *o = (x * 32.0).round_ties_even().clamp(-128.0, 127.0) as i64;
            }
            black_box(&out);
        })
    });
    group.finish();
}

criterion_group!(benches, bench_cast);
criterion_main!(benches);

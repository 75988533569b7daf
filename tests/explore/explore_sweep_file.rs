//! Sweep files: the bundled example parses, the grid is filtered and ordered, and bad files give
//! `file:line:col` errors.

use qforge::explore::error::ExploreError;
use qforge::explore::grid::{Grid, Shard};
use qforge::explore::sweep_file::{SweepFile, WeightFamily};

const SMALL: &str = r#"(
    name: "small",
    model: "m.ron",
    axes: (
        weight_scheme: [uniform, binary, ternary],
        weight_bits: (from: 1, to: 4),
        activation_bits: [2, 4],
        calibration: [minmax],
        scale_bits: [8],
        accumulator: [proven, explicit(bits: 12, overflow: wrap)],
        folding: [fully_parallel, pe_budget(16)],
        fpga: [ice40],
    ),
    constraints: [scheme_bits, weight_bits_le_activation_bits],
)"#;

fn position(err: ExploreError) -> (String, usize, usize, String) {
    match err {
        ExploreError::SweepFile {
            file,
            line,
            col,
            message,
        } => (file, line, col, message),
        other => panic!("expected a sweep file error, got {other}"),
    }
}

#[test]
fn bundled_default_sweep_parses_and_expands() {
    let sweep = SweepFile::load("models/sweep_default.ron".as_ref()).unwrap();
    let grid = Grid::new(&sweep, "models/sweep_default.ron").unwrap();
    assert!(grid.points().len() > 50);
    for p in grid.points() {
        assert!(p
            .config
            .weight_scheme
            .weight_bit_range()
            .contains(&p.config.weight_bits));
        assert!(p.config.weight_bits <= p.config.activation_bits);
    }
}

#[test]
fn constraints_filter_the_product_in_a_fixed_order() {
    let sweep = SweepFile::parse(SMALL, "small.ron").unwrap();
    let grid = Grid::new(&sweep, "small.ron").unwrap();
    // uniform: wb in 2..=4 with ab in {2,4}, wb <= ab: (2,2),(2,4),(3,4),(4,4) = 4
    // binary: wb=1: ab 2,4 = 2; ternary: wb=2: ab 2,4 = 2. Times 2 accumulators x 2 foldings.
    assert_eq!(grid.points().len(), (4 + 2 + 2) * 4);
    let schemes: Vec<WeightFamily> = grid
        .points()
        .iter()
        .map(|p| p.config.weight_scheme)
        .collect();
    let mut sorted = schemes.clone();
    sorted.sort();
    assert_eq!(schemes, sorted, "schemes vary slowest, in file order");
    for (i, p) in grid.points().iter().enumerate() {
        assert_eq!(p.index, i);
        assert_eq!(p.id.len(), 16);
    }
    let ids: std::collections::HashSet<_> = grid.points().iter().map(|p| &p.id).collect();
    assert_eq!(ids.len(), grid.points().len(), "ids are unique");
    // Same file, same grid, same ids and hash.
    let again = Grid::new(&SweepFile::parse(SMALL, "x.ron").unwrap(), "x.ron").unwrap();
    assert_eq!(again.hash(), grid.hash());
    assert_eq!(again.points(), grid.points());
}

#[test]
fn point_ids_do_not_depend_on_the_rest_of_the_grid() {
    let sweep = SweepFile::parse(SMALL, "small.ron").unwrap();
    let grid = Grid::new(&sweep, "small.ron").unwrap();
    let narrower = SMALL.replace("[uniform, binary, ternary]", "[ternary]");
    let other = Grid::new(&SweepFile::parse(&narrower, "n.ron").unwrap(), "n.ron").unwrap();
    assert_ne!(other.hash(), grid.hash());
    for p in other.points() {
        assert!(grid
            .points()
            .iter()
            .any(|q| q.id == p.id && q.config == p.config));
    }
}

#[test]
fn shards_partition_the_grid() {
    let shard = Shard::parse("1/3").unwrap();
    assert!(shard.contains(4) && !shard.contains(3));
    for bad in ["3/3", "1", "a/2", "0/0", "-1/2"] {
        assert!(Shard::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn syntax_error_points_at_line_and_column() {
    let text = SMALL.replace("scale_bits: [8],", "scale_bits: [8,,");
    let (file, line, col, _) = position(SweepFile::parse(&text, "bad.ron").unwrap_err());
    assert_eq!(file, "bad.ron");
    assert_eq!(line, 9);
    assert!(col > 1);
}

#[test]
fn unknown_scheme_is_named_at_its_place() {
    let text = SMALL.replace("binary, ternary", "binary, quaternary");
    let err = SweepFile::parse(&text, "bad.ron").unwrap_err();
    let shown = err.to_string();
    let (_, line, _, message) = position(err);
    assert_eq!(line, 5, "{shown}");
    assert!(message.contains("quaternary"), "{shown}");
    assert!(shown.starts_with("bad.ron:5:"), "{shown}");
}

#[test]
fn empty_axis_is_an_error_at_the_axis() {
    let text = SMALL.replace("fpga: [ice40]", "fpga: []");
    let err = SweepFile::parse(&text, "bad.ron").unwrap_err();
    let shown = err.to_string();
    let (_, line, _, message) = position(err);
    assert_eq!(line, 12, "{shown}");
    assert!(message.contains("empty"), "{shown}");
}

#[test]
fn backwards_range_and_repeated_values_are_errors() {
    let text = SMALL.replace("(from: 1, to: 4)", "(from: 5, to: 4)");
    let (_, line, _, message) = position(SweepFile::parse(&text, "bad.ron").unwrap_err());
    assert_eq!(line, 6);
    assert!(message.contains("from (5)"), "{message}");
    let text = SMALL.replace("activation_bits: [2, 4]", "activation_bits: [4, 4]");
    let (_, line, _, message) = position(SweepFile::parse(&text, "bad.ron").unwrap_err());
    assert_eq!(line, 7);
    assert!(message.contains("repeats"), "{message}");
}

#[test]
fn missing_axis_and_unknown_field_are_errors() {
    let text = SMALL.replace("fpga: [ice40],", "");
    let err = SweepFile::parse(&text, "bad.ron").unwrap_err().to_string();
    assert!(err.starts_with("bad.ron:") && err.contains("fpga"), "{err}");
    let text = SMALL.replace("fpga: [ice40],", "fpga: [ice40], colour: [red],");
    let err = SweepFile::parse(&text, "bad.ron").unwrap_err().to_string();
    assert!(err.contains("colour"), "{err}");
}

#[test]
fn constraints_that_empty_the_grid_are_an_error() {
    let text = SMALL
        .replace("[uniform, binary, ternary]", "[binary]")
        .replace("(from: 1, to: 4)", "[3]");
    let err = Grid::new(&SweepFile::parse(&text, "bad.ron").unwrap(), "bad.ron").unwrap_err();
    assert!(err.to_string().starts_with("bad.ron:1:1:"), "{err}");
}

#[test]
fn layer_overrides_take_plain_values() {
    let text = SMALL.replace(
        "calibration: [minmax],",
        "layer_overrides: [[], [(layer: 1, weight_bits: 2)]], calibration: [minmax],",
    );
    let sweep = SweepFile::parse(&text, "o.ron").unwrap();
    let grid = Grid::new(&sweep, "o.ron").unwrap();
    let with = grid
        .points()
        .iter()
        .find(|p| !p.config.layer_overrides.is_empty())
        .unwrap();
    assert_eq!(with.config.layer_overrides[0].weight_bits, Some(2));
    assert!(with.label.contains("[L1:W2]"), "{}", with.label);
    // binary with a 2-bit override layer breaks scheme_bits.
    assert!(grid
        .points()
        .iter()
        .all(|p| p.config.weight_scheme != WeightFamily::Binary
            || p.config.layer_overrides.is_empty()));
}

#[test]
fn oversized_ranges_and_grids_are_refused_before_expanding() {
    let text = SMALL.replace("(from: 1, to: 4)", "(from: 0, to: 4000000000)");
    let (_, line, _, message) = position(SweepFile::parse(&text, "big.ron").unwrap_err());
    assert_eq!(line, 6);
    assert!(message.contains("more than"), "{message}");
    // The whole u32 range has one value more than a u32 counts (found by the fuzzer: the
    // count overflowed, and wrapped to 0 in release builds, which then expanded 2^32 values).
    let text = SMALL.replace("(from: 1, to: 4)", "(from: 0, to: 4294967295)");
    let (_, _, _, message) = position(SweepFile::parse(&text, "big.ron").unwrap_err());
    assert!(message.contains("range has 4294967296 values"), "{message}");
    let text = SMALL
        .replace("(from: 1, to: 4)", "(from: 1, to: 1000)")
        .replace(
            "activation_bits: [2, 4]",
            "activation_bits: (from: 1, to: 1000)",
        );
    let sweep = SweepFile::parse(&text, "big.ron").unwrap();
    let err = Grid::new(&sweep, "big.ron").unwrap_err().to_string();
    assert!(
        err.starts_with("big.ron:1:1:") && err.contains("combinations"),
        "{err}"
    );
}

/// The ```ron block of a module's docs, without the `//! ` prefixes.
fn doc_ron_block(source: &str) -> String {
    let lines: Vec<&str> = source.lines().collect();
    let start = lines.iter().position(|l| l.trim() == "//! ```ron").unwrap() + 1;
    let end = start
        + lines[start..]
            .iter()
            .position(|l| l.trim() == "//! ```")
            .unwrap();
    lines[start..end]
        .iter()
        .map(|l| l.trim_start_matches("//!").strip_prefix(' ').unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn documented_examples_parse() {
    let text = doc_ron_block(&std::fs::read_to_string("src/explore/sweep_file.rs").unwrap());
    let sweep = SweepFile::parse(&text, "sweep_file.rs docs").unwrap();
    assert!(Grid::new(&sweep, "docs").unwrap().points().len() > 100);
    let text = doc_ron_block(&std::fs::read_to_string("src/explore/area_model.rs").unwrap());
    let model =
        qforge::explore::area_model::AreaModel::from_ron(&text, "area_model.rs docs").unwrap();
    assert_eq!(model.kinds["mac"].features.len(), 4);
}

/// FNV-1a 64 of a text, written out here (not the crate's) to pin point ids.
fn fnv1a64(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[test]
fn training_axis_defaults_to_ptq_and_keeps_the_ids_of_ptq_points() {
    let sweep = SweepFile::parse(SMALL, "small.ron").unwrap();
    let plain = Grid::new(&sweep, "small.ron").unwrap();
    // The id of a point is the hash of its spelled-out axis values; a ptq point spells no
    // training, so its id is what it was before the axis existed.
    let first = &plain.points()[0];
    let key =
        "scheme=uniform;wb=2;ab=2;ovr=;cal=minmax;sb=8;acc=proven;fold=fully_parallel;fpga=ice40";
    assert_eq!(first.id, format!("{:016x}", fnv1a64(key)));

    let text = SMALL.replace(
        "activation_bits: [2, 4],",
        "activation_bits: [2, 4], training: [ptq, qat(epochs: 5, activation_clipping: pact)],",
    );
    let both = Grid::new(&SweepFile::parse(&text, "t.ron").unwrap(), "t.ron").unwrap();
    assert_eq!(both.points().len(), 2 * plain.points().len());
    let (qat, ptq): (Vec<_>, Vec<_>) = both
        .points()
        .iter()
        .partition(|p| p.config.training.is_qat());
    assert_eq!(qat.len(), ptq.len());
    for p in &ptq {
        assert!(plain
            .points()
            .iter()
            .any(|q| q.id == p.id && q.label == p.label));
    }
    for p in &qat {
        assert!(
            p.label
                .contains(" qat(epochs: 5, activation_clipping: pact) "),
            "{}",
            p.label
        );
        assert!(plain.points().iter().all(|q| q.id != p.id));
    }
    // Training varies after the overrides and before calibration: a point's QAT twin follows
    // its PTQ points of the same widths.
    assert!(
        !both.points()[0].config.training.is_qat(),
        "ptq comes first, in file order"
    );
    assert_eq!(
        both.points()[4].config.weight_bits,
        both.points()[0].config.weight_bits
    );
    assert!(both.points()[4].config.training.is_qat());
}

#[test]
fn training_knobs_out_of_range_are_errors_at_their_place() {
    let with = |entry: &str| {
        SMALL.replace(
            "activation_bits: [2, 4],",
            &format!("activation_bits: [2, 4],\n        training: [ptq, {entry}],"),
        )
    };
    let cases = [
        (
            "qat(epochs: 0)",
            "epochs: ",
            "epochs (0) must be at least 1",
        ),
        (
            "qat(epochs: 3, lr: -1.0)",
            "lr: ",
            "lr (-1) must be finite, positive",
        ),
        (
            "qat(epochs: 3, batch_size: 0)",
            "batch_size: ",
            "batch_size (0) must be at least 1",
        ),
        (
            "qat(epochs: 3, progressive: [4, 6])",
            "progressive: ",
            "progressive widths must decrease (4 is followed by 6)",
        ),
        (
            "qat(epochs: 3, inq: [0.5, 0.75])",
            "inq: ",
            "inq must end with 1",
        ),
        (
            "qat(epochs: 3, prune: 1.0)",
            "prune: ",
            "prune sparsity (1) must be at least 0 and below 1",
        ),
        (
            "qat(epochs: 3, channel_keep: 1.5)",
            "channel_keep: ",
            "channels keep (1.5) must be above 0 and at most 1",
        ),
        (
            "qat(epochs: 3, channel_method: magnitude)",
            "channel_method: ",
            "channel_method needs channel_keep",
        ),
    ];
    for (entry, at, message) in cases {
        let text = with(entry);
        let (file, line, col, got) = position(SweepFile::parse(&text, "t.ron").unwrap_err());
        assert_eq!(file, "t.ron");
        let want_line = text.lines().position(|l| l.contains(entry)).unwrap() + 1;
        // The error points at the value.
        let want_col = text.lines().nth(want_line - 1).unwrap().find(at).unwrap() + at.len() + 1;
        assert_eq!((line, col), (want_line, want_col), "{entry}: {got}");
        assert!(got.contains(message), "{entry}: {got}");
    }
    let text = with("qat(epochs: 3, learning_rate: 0.1)");
    let (_, line, _, got) = position(SweepFile::parse(&text, "t.ron").unwrap_err());
    assert!(got.contains("learning_rate"), "{got}");
    assert_eq!(line, 8);
    let text = with("qat(ste: clipped)");
    let (_, _, _, got) = position(SweepFile::parse(&text, "t.ron").unwrap_err());
    assert!(got.contains("epochs"), "{got}");
}

//! CSV cells round-trip through the writer and reader, whatever they hold.

use proptest::prelude::*;
use qforge::explore::evaluator::Outcome;
use qforge::explore::grid::Grid;
use qforge::explore::results::{csv_line, csv_text, parse_csv_line, ResultRow};
use qforge::explore::sweep_file::SweepFile;

proptest! {
    #[test]
    fn csv_line_round_trips(cells in proptest::collection::vec("[a-z ,\"';:/]{0,12}", 1..8)) {
        let line = csv_line(&cells);
        prop_assert_eq!(parse_csv_line(&line).unwrap(), cells);
    }
}

#[test]
fn a_skip_reason_with_line_breaks_stays_one_record() {
    let text = r#"(name: "r", model: "m.ron", axes: (weight_scheme: [uniform], weight_bits: [4],
        activation_bits: [8], calibration: [minmax], scale_bits: [8], accumulator: [proven],
        folding: [fully_parallel], fpga: [ice40]))"#;
    let grid = Grid::new(&SweepFile::parse(text, "r.ron").unwrap(), "r.ron").unwrap();
    let row = ResultRow::new(
        &grid.points()[0],
        Outcome::Skipped("line one,\n\"line\" two".into()),
    );
    let csv = csv_text(&[row]);
    assert_eq!(csv.lines().count(), 2);
    let cells = parse_csv_line(csv.lines().nth(1).unwrap()).unwrap();
    assert_eq!(cells[4], "line one, \"line\" two");
}

//! Sweep plots, drawn from `results.csv` alone so they can be redrawn at any time
//! (`qforge sweep plot DIR`).
//!
//! Each plot is written as PNG and SVG:
//!
//! - `accuracy_vs_luts`: accuracy against LUTs, one colour per scheme, the accuracy/LUT Pareto
//!   front drawn as a line through its points;
//! - in a sweep with quantization-aware training points, each scheme has two series: `PTQ`
//!   (hollow markers, thin lines) and `QAT` (filled markers), in every plot; QAT points with
//!   weight pruning (`prune:`) or channel pruning (`channel_keep:`) are series of their own,
//!   `QAT pruned` (a black dot in the marker) and `QAT channels` (a black ring around it), so
//!   a reader sees which technique forms the front;
//! - `accuracy_vs_weight_bits`: the best accuracy reached at each weight width, per scheme;
//! - `throughput_vs_luts`: throughput against LUTs with the throughput/area front;
//! - `layer_area`: a chosen point's per-layer breakdown, one stacked bar per resource kind.
//!
//! Every scheme has one fixed colour in every plot ([`scheme_colour`]). Text is drawn with the
//! DejaVu Sans font bundled in `assets/fonts` (plotters' `ab_glyph` feature), so PNGs look the
//! same on every machine whatever fonts it has.
//!
//! ```no_run
//! let written = qforge::explore::plot::draw_all("out/sweep".as_ref(), None).unwrap();
//! assert!(written.iter().any(|p| p.ends_with("index.html")));
//! ```

use crate::explore::error::{ExploreError, Result};
use crate::explore::html::write_index;
use crate::explore::pareto::{accuracy_lut_front, throughput_area_front};
use crate::explore::results::{read_csv, write_atomic, CsvRecord, CSV_FILE};
use crate::explore::sweep_file::WeightFamily;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Once;

/// Pixel size of every plot.
pub const PLOT_SIZE: (u32, u32) = (1000, 700);

/// The fixed colour of a scheme, the same in every plot.
pub fn scheme_colour(scheme: WeightFamily) -> RGBColor {
    match scheme {
        WeightFamily::Uniform => RGBColor(0x1f, 0x77, 0xb4),
        WeightFamily::Pot => RGBColor(0xff, 0x7f, 0x0e),
        WeightFamily::Apot => RGBColor(0x2c, 0xa0, 0x2c),
        WeightFamily::Binary => RGBColor(0xd6, 0x27, 0x28),
        WeightFamily::Ternary => RGBColor(0x94, 0x67, 0xbd),
    }
}

/// Which points a series holds: all of a scheme's (a sweep without QAT points), or only its
/// post-training-quantized or its QAT-trained ones (a sweep with both).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mark {
    /// Every point of the scheme; filled markers, the scheme's name.
    All,
    /// Post-training quantization: hollow markers, thin line, `scheme PTQ`.
    Ptq,
    /// Quantization-aware training without pruning: filled markers, `scheme QAT`.
    Qat,
    /// QAT with unstructured weight pruning (and no channel pruning): filled markers with a
    /// black dot, `scheme QAT pruned`.
    Pruned,
    /// QAT with channel pruning: filled markers in a black ring, `scheme QAT channels`.
    Channels,
    /// Mixed precision, a weight width per layer (`qforge search`'s configurations), however
    /// trained: filled markers in a black square, `scheme mixed`.
    Mixed,
}

impl Mark {
    /// The marks a plot draws: `[All]` without QAT rows, `[Ptq, Qat]` with them, the
    /// pruning marks whose rows the sweep has, and `Mixed` when some rows have per-layer
    /// weight widths.
    fn of(rows: &[CsvRecord]) -> Vec<Mark> {
        let uniform = rows.iter().filter(|r| !r.mixed_weights);
        let mut marks = if uniform.clone().any(|r| r.training != "ptq") {
            [Mark::Ptq, Mark::Qat, Mark::Pruned, Mark::Channels]
                .into_iter()
                .filter(|m| matches!(m, Mark::Ptq | Mark::Qat) || rows.iter().any(|r| m.holds(r)))
                .collect()
        } else if uniform.clone().next().is_some() || rows.is_empty() {
            vec![Mark::All]
        } else {
            Vec::new()
        };
        if rows.iter().any(|r| r.mixed_weights) {
            marks.push(Mark::Mixed);
        }
        marks
    }

    fn holds(self, r: &CsvRecord) -> bool {
        let channels = r.training.contains("channel_keep:");
        let pruned = r.training.contains("prune:");
        // A row with per-layer weight widths belongs to the mixed series only.
        if r.mixed_weights {
            return self == Mark::Mixed;
        }
        match self {
            Mark::All => true,
            Mark::Ptq => r.training == "ptq",
            Mark::Qat => r.training != "ptq" && !pruned && !channels,
            Mark::Pruned => pruned && !channels,
            Mark::Channels => channels,
            Mark::Mixed => false,
        }
    }
}

/// Draws one scheme's points with its fixed marker (shape and colour, so overlapping series
/// stay apart and the plots read in greyscale too), optionally joined by a line, with a legend
/// entry; PTQ points are hollow and QAT points filled where a sweep has both.
fn draw_scheme<'a, DB, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    scheme: WeightFamily,
    mark: Mark,
    pts: &[(f64, f64)],
    with_line: bool,
) -> std::result::Result<(), String>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let colour = scheme_colour(scheme);
    let (style, line_width, cross_width) = match mark {
        Mark::Ptq => (colour.stroke_width(2), 1, 1),
        Mark::All | Mark::Qat | Mark::Pruned | Mark::Channels | Mark::Mixed => {
            (colour.filled(), 2, 3)
        }
    };
    let label = match mark {
        Mark::All => scheme.name().to_string(),
        Mark::Ptq => format!("{} PTQ", scheme.name()),
        Mark::Qat => format!("{} QAT", scheme.name()),
        Mark::Pruned => format!("{} QAT pruned", scheme.name()),
        Mark::Channels => format!("{} QAT channels", scheme.name()),
        Mark::Mixed => format!("{} mixed", scheme.name()),
    };
    // the pruning marks' overlays: a dot inside, a ring around (invisible otherwise)
    let none = RGBAColor(0, 0, 0, 0.0);
    let dot = if mark == Mark::Pruned {
        BLACK.filled()
    } else {
        none.filled()
    };
    let ring = if mark == Mark::Channels {
        BLACK.stroke_width(2)
    } else {
        none.stroke_width(1)
    };
    let square = if mark == Mark::Mixed {
        BLACK.stroke_width(2)
    } else {
        none.stroke_width(1)
    };
    let legend_line = if with_line {
        vec![(-10, 0), (10, 0)]
    } else {
        vec![(0, 0), (0, 0)]
    };
    if with_line {
        chart
            .draw_series(LineSeries::new(
                pts.to_vec(),
                colour.stroke_width(line_width),
            ))
            .map_err(to_string_err)?;
    }
    // Shapes are drawn relative to each point, so the same one serves the legend.
    macro_rules! series {
        ($($shape:expr),+) => {
            chart
                .draw_series(pts.iter().map(|&p| {
                    EmptyElement::at(p)
                        $(+ $shape)+
                        + Circle::new((0, 0), 2, dot)
                        + Circle::new((0, 0), 9, ring)
                        + Rectangle::new([(-9, -9), (9, 9)], square)
                }))
                .map_err(to_string_err)?
                .label(label)
                .legend(move |(x, y)| {
                    EmptyElement::at((x + 10, y))
                        + PathElement::new(legend_line.clone(), colour.stroke_width(line_width))
                        $(+ $shape)+
                        + Circle::new((0, 0), 2, dot)
                        + Circle::new((0, 0), 9, ring)
                        + Rectangle::new([(-9, -9), (9, 9)], square)
                })
        };
    }
    // Hollow (PTQ) markers are a white shape inside the scheme's outline, so every shape
    // reads hollow alike (plotters fills triangles and polygons whatever the style).
    let triangle = vec![(0, -7), (6, 4), (-6, 4)];
    let diamond = vec![(0, -7), (7, 0), (0, 7), (-7, 0)];
    let closed = |mut v: Vec<(i32, i32)>| {
        v.push(v[0]);
        v
    };
    match (scheme, mark) {
        (WeightFamily::Binary, _) => {
            series!(Cross::new((0, 0), 5, colour.stroke_width(cross_width)))
        }
        (WeightFamily::Uniform, Mark::Ptq) => series!(
            Circle::new((0, 0), 5, colour.filled()),
            Circle::new((0, 0), 3, WHITE.filled())
        ),
        (WeightFamily::Uniform, _) => series!(Circle::new((0, 0), 5, style)),
        (WeightFamily::Pot, Mark::Ptq) => series!(
            Polygon::new(triangle.clone(), WHITE.filled()),
            PathElement::new(closed(triangle.clone()), colour.stroke_width(2))
        ),
        (WeightFamily::Pot, _) => series!(TriangleMarker::new((0, 0), 7, style)),
        (WeightFamily::Apot, Mark::Ptq) => series!(
            Rectangle::new([(-5, -5), (5, 5)], WHITE.filled()),
            Rectangle::new([(-5, -5), (5, 5)], colour.stroke_width(2))
        ),
        (WeightFamily::Apot, _) => series!(Rectangle::new([(-5, -5), (5, 5)], style)),
        (WeightFamily::Ternary, Mark::Ptq) => series!(
            Polygon::new(diamond.clone(), WHITE.filled()),
            PathElement::new(closed(diamond.clone()), colour.stroke_width(2))
        ),
        (WeightFamily::Ternary, _) => series!(Polygon::new(diamond.clone(), style)),
    };
    Ok(())
}

/// Colours of the layers in the area breakdown (distinct from the scheme colours).
const LAYER_COLOURS: [RGBColor; 6] = [
    RGBColor(0x4e, 0x79, 0xa7),
    RGBColor(0xf2, 0x8e, 0x2b),
    RGBColor(0x59, 0xa1, 0x4f),
    RGBColor(0xb0, 0x7a, 0xa1),
    RGBColor(0x9c, 0x75, 0x5f),
    RGBColor(0xba, 0xb0, 0xac),
];

const FONT: &str = "sans-serif";
static FONT_ONCE: Once = Once::new();

fn register_font() {
    FONT_ONCE.call_once(|| {
        let bytes: &'static [u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
        // The bundled file is a valid TrueType font; if registration failed, text would be
        // missing, which the plot tests catch.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, bytes);
    });
}

/// One figure, drawable on any plotters backend.
trait Figure {
    fn stem(&self) -> &'static str;
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), String>;
}

/// Writes `dir/<stem>.svg` and `dir/<stem>.png`.
fn write_figure(dir: &Path, figure: &impl Figure) -> Result<Vec<PathBuf>> {
    register_font();
    let err = |message: String| ExploreError::Plot {
        name: figure.stem().to_string(),
        message,
    };
    let (w, h) = PLOT_SIZE;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, PLOT_SIZE).into_drawing_area();
        figure.draw(&root).map_err(err)?;
        root.present().map_err(|e| err(e.to_string()))?;
    }
    let mut rgb = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, PLOT_SIZE).into_drawing_area();
        figure.draw(&root).map_err(err)?;
        root.present().map_err(|e| err(e.to_string()))?;
    }
    let png = crate::explore::png::encode_rgb(w, h, &rgb)
        .ok_or_else(|| err("bitmap size does not match the plot size".into()))?;
    let svg_path = dir.join(format!("{}.svg", figure.stem()));
    let png_path = dir.join(format!("{}.png", figure.stem()));
    write_atomic(&svg_path, svg.as_bytes())?;
    write_atomic(&png_path, &png)?;
    Ok(vec![png_path, svg_path])
}

/// Reads `dir/results.csv` and writes every plot and `dir/index.html`; returns the files
/// written. `point` picks the point of the per-layer breakdown by id (default: the most accurate
/// point of the accuracy/LUT front that has a breakdown). With no evaluated point only the index
/// page is written.
pub fn draw_all(dir: &Path, point: Option<&str>) -> Result<Vec<PathBuf>> {
    let rows = read_csv(&dir.join(CSV_FILE))?;
    let mut written = Vec::new();
    let mut plots = Vec::new();
    if rows.iter().any(|r| r.metrics.is_some()) {
        written.extend(write_figure(dir, &AccuracyVsLuts { rows: &rows })?);
        plots.push((
            "accuracy_vs_luts",
            "Accuracy against area, Pareto front highlighted",
        ));
        written.extend(write_figure(dir, &AccuracyVsWeightBits { rows: &rows })?);
        plots.push((
            "accuracy_vs_weight_bits",
            "Best accuracy per weight width and scheme",
        ));
        written.extend(write_figure(dir, &ThroughputVsLuts { rows: &rows })?);
        plots.push((
            "throughput_vs_luts",
            "Throughput against area, Pareto front highlighted",
        ));
    }
    let chosen = choose_breakdown_point(&rows, point)?;
    if let Some(row) = chosen {
        written.extend(write_figure(dir, &LayerBreakdown { row })?);
        plots.push(("layer_area", "Per-layer area breakdown"));
    }
    written.push(write_index(dir, &rows, &plots, chosen)?);
    Ok(written)
}

fn choose_breakdown_point<'a>(
    rows: &'a [CsvRecord],
    point: Option<&str>,
) -> Result<Option<&'a CsvRecord>> {
    let has_layers = |r: &CsvRecord| r.metrics.as_ref().is_some_and(|m| !m.layers.is_empty());
    if let Some(id) = point {
        let row = rows
            .iter()
            .find(|r| r.id == id)
            .ok_or_else(|| ExploreError::Plot {
                name: "layer_area".into(),
                message: format!("no point with id {id} in {CSV_FILE}"),
            })?;
        if !has_layers(row) {
            return Err(ExploreError::Plot {
                name: "layer_area".into(),
                message: format!("point {id} ({}) has no per-layer breakdown", row.label),
            });
        }
        return Ok(Some(row));
    }
    let front = accuracy_lut_front(rows);
    let best_on_front = front
        .iter()
        .rev()
        .map(|&i| &rows[i])
        .find(|r| has_layers(r));
    Ok(best_on_front.or_else(|| rows.iter().find(|r| has_layers(r))))
}

fn ok_rows(
    rows: &[CsvRecord],
) -> impl Iterator<Item = (&CsvRecord, &crate::explore::evaluator::Metrics)> {
    rows.iter()
        .filter_map(|r| r.metrics.as_ref().map(|m| (r, m)))
}

fn log_range(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (mut lo, mut hi) = (f64::INFINITY, 0f64);
    for v in values {
        let v = v.max(1.0);
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return 1.0..10.0;
    }
    (lo / 1.5)..(hi * 1.5)
}

fn accuracy_range(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values {
        lo = lo.min(v * 100.0);
        hi = hi.max(v * 100.0);
    }
    if !lo.is_finite() {
        return 0.0..100.0;
    }
    let pad = ((hi - lo) * 0.08).max(0.5);
    (lo - pad).max(0.0)..(hi + pad).min(100.0 + pad)
}

/// A count in short form: `950`, `1.5k`, `2M`.
fn short_count(v: f64) -> String {
    let (scaled, suffix) = if v.abs() >= 1e9 {
        (v / 1e9, "G")
    } else if v.abs() >= 1e6 {
        (v / 1e6, "M")
    } else if v.abs() >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let text = format!("{scaled:.1}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}{suffix}")
}

/// Labels of a log axis: only 1, 2 and 5 times a power of ten, so labels never crowd.
fn log_label(v: &f64) -> String {
    if *v <= 0.0 {
        return String::new();
    }
    let mantissa = v / 10f64.powf(v.log10().floor());
    if [1.0, 2.0, 5.0, 10.0]
        .iter()
        .any(|m| (mantissa - m).abs() < 1e-6)
    {
        short_count(*v)
    } else {
        String::new()
    }
}

fn to_string_err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// Scatter by scheme plus a front line; shared by the two area plots.
#[allow(clippy::too_many_arguments)]
fn scatter_with_front<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    rows: &[CsvRecord],
    title: &str,
    y_desc: &str,
    y: impl Fn(&crate::explore::evaluator::Metrics) -> f64,
    y_log: bool,
    front: &[usize],
    front_name: &str,
) -> std::result::Result<(), String> {
    root.fill(&WHITE).map_err(to_string_err)?;
    let x_range = log_range(ok_rows(rows).map(|(_, m)| m.luts as f64));
    let x_desc = "Area (LUTs, log scale)";
    let mut builder = ChartBuilder::on(root);
    builder
        .caption(title, (FONT, 28))
        .margin(20)
        .x_label_area_size(55)
        .y_label_area_size(80);
    // Two coordinate types (linear or log y) need two chart types; a macro keeps one body.
    macro_rules! body {
        ($chart:expr, $y_format:expr) => {{
            let mut chart = $chart;
            chart
                .configure_mesh()
                .x_label_formatter(&log_label)
                .y_label_formatter($y_format)
                .x_desc(x_desc)
                .y_desc(y_desc)
                .axis_desc_style((FONT, 20))
                .label_style((FONT, 16))
                .draw()
                .map_err(to_string_err)?;
            for scheme in WeightFamily::ALL {
                for mark in Mark::of(rows) {
                    let pts: Vec<(f64, f64)> = ok_rows(rows)
                        .filter(|(r, _)| r.weight_scheme == scheme && mark.holds(r))
                        .map(|(_, m)| ((m.luts as f64).max(1.0), y(m)))
                        .collect();
                    if pts.is_empty() {
                        continue;
                    }
                    draw_scheme(&mut chart, scheme, mark, &pts, false)?;
                }
            }
            let line: Vec<(f64, f64)> = front
                .iter()
                .filter_map(|&i| rows[i].metrics.as_ref())
                .map(|m| ((m.luts as f64).max(1.0), y(m)))
                .collect();
            chart
                .draw_series(LineSeries::new(line.clone(), BLACK.stroke_width(2)))
                .map_err(to_string_err)?
                .label(front_name)
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], BLACK.stroke_width(2))
                });
            chart
                .draw_series(
                    line.iter()
                        .map(|&p| Circle::new(p, 8, BLACK.stroke_width(2))),
                )
                .map_err(to_string_err)?;
            chart
                .configure_series_labels()
                .label_font((FONT, 16))
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .position(SeriesLabelPosition::LowerRight)
                .draw()
                .map_err(to_string_err)?;
        }};
    }
    if y_log {
        let y_range = log_range(ok_rows(rows).map(|(_, m)| y(m)));
        body!(
            builder
                .build_cartesian_2d(x_range.log_scale(), y_range.log_scale())
                .map_err(to_string_err)?,
            &log_label
        );
    } else {
        let y_range = accuracy_range(ok_rows(rows).map(|(_, m)| m.accuracy));
        body!(
            builder
                .build_cartesian_2d(x_range.log_scale(), y_range)
                .map_err(to_string_err)?,
            &|v: &f64| format!("{v:.1}")
        );
    }
    Ok(())
}

struct AccuracyVsLuts<'a> {
    rows: &'a [CsvRecord],
}

impl Figure for AccuracyVsLuts<'_> {
    fn stem(&self) -> &'static str {
        "accuracy_vs_luts"
    }
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), String> {
        let front = accuracy_lut_front(self.rows);
        scatter_with_front(
            root,
            self.rows,
            "Accuracy vs area",
            "Accuracy (%)",
            |m| m.accuracy * 100.0,
            false,
            &front,
            "Pareto front (accuracy, LUTs)",
        )
    }
}

struct ThroughputVsLuts<'a> {
    rows: &'a [CsvRecord],
}

impl Figure for ThroughputVsLuts<'_> {
    fn stem(&self) -> &'static str {
        "throughput_vs_luts"
    }
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), String> {
        let front = throughput_area_front(self.rows);
        // The clock the throughput assumes comes with the rows (one clock per sweep).
        let clock = self
            .rows
            .iter()
            .find_map(|r| r.metrics.as_ref().map(|m| m.clock_mhz));
        let y_desc = match clock {
            Some(c) => format!("Throughput (images/s at {c} MHz, log scale)"),
            None => "Throughput (images/s, log scale)".to_string(),
        };
        scatter_with_front(
            root,
            self.rows,
            "Throughput vs area",
            &y_desc,
            |m| m.throughput_images_per_s.max(1.0),
            true,
            &front,
            "Pareto front (throughput, LUTs)",
        )
    }
}

struct AccuracyVsWeightBits<'a> {
    rows: &'a [CsvRecord],
}

impl Figure for AccuracyVsWeightBits<'_> {
    fn stem(&self) -> &'static str {
        "accuracy_vs_weight_bits"
    }
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), String> {
        root.fill(&WHITE).map_err(to_string_err)?;
        let max_bits = ok_rows(self.rows)
            .map(|(r, _)| r.weight_bits)
            .max()
            .unwrap_or(8);
        let y_range = accuracy_range(ok_rows(self.rows).map(|(_, m)| m.accuracy));
        let mut chart = ChartBuilder::on(root)
            .caption("Best accuracy per weight width", (FONT, 28))
            .margin(20)
            .x_label_area_size(55)
            .y_label_area_size(80)
            .build_cartesian_2d(0.5f64..(f64::from(max_bits) + 0.5), y_range)
            .map_err(to_string_err)?;
        chart
            .configure_mesh()
            .x_desc("Weight width (bits)")
            .y_desc("Accuracy (%)")
            .x_labels(max_bits as usize + 1)
            .x_label_formatter(&|x| {
                if (x - x.round()).abs() < 1e-9 {
                    format!("{}", x.round() as i64)
                } else {
                    String::new()
                }
            })
            .axis_desc_style((FONT, 20))
            .label_style((FONT, 16))
            .draw()
            .map_err(to_string_err)?;
        for scheme in WeightFamily::ALL {
            for mark in Mark::of(self.rows) {
                let mut best: Vec<(u32, f64)> = Vec::new();
                for (r, m) in
                    ok_rows(self.rows).filter(|(r, _)| r.weight_scheme == scheme && mark.holds(r))
                {
                    match best.iter_mut().find(|(b, _)| *b == r.weight_bits) {
                        Some(entry) => entry.1 = entry.1.max(m.accuracy),
                        None => best.push((r.weight_bits, m.accuracy)),
                    }
                }
                if best.is_empty() {
                    continue;
                }
                best.sort_by_key(|(b, _)| *b);
                let pts: Vec<(f64, f64)> = best
                    .iter()
                    .map(|&(b, a)| (f64::from(b), a * 100.0))
                    .collect();
                draw_scheme(&mut chart, scheme, mark, &pts, true)?;
            }
        }
        chart
            .configure_series_labels()
            .label_font((FONT, 16))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::LowerRight)
            .draw()
            .map_err(to_string_err)
    }
}

struct LayerBreakdown<'a> {
    row: &'a CsvRecord,
}

const RESOURCES: [&str; 4] = ["LUTs", "FFs", "Carries", "DSPs"];

impl Figure for LayerBreakdown<'_> {
    fn stem(&self) -> &'static str {
        "layer_area"
    }
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), String> {
        root.fill(&WHITE).map_err(to_string_err)?;
        let Some(m) = self.row.metrics.as_ref() else {
            return Err("the chosen point has no metrics".into());
        };
        let counts = |l: &crate::explore::evaluator::LayerArea| [l.luts, l.ffs, l.carries, l.dsps];
        let mut totals = [0u64; 4];
        for l in &m.layers {
            for (t, c) in totals.iter_mut().zip(counts(l)) {
                *t += c;
            }
        }
        let top = (*totals.iter().max().unwrap_or(&1)).max(1) as f64 * 1.15;
        let (upper, lower) = root.split_vertically(PLOT_SIZE.1 - 40);
        let mut chart = ChartBuilder::on(&upper)
            .caption("Per-layer area breakdown", (FONT, 28))
            .margin(20)
            .x_label_area_size(55)
            .y_label_area_size(80)
            // A segmented range a..b has a segment for b too, hence the - 1.
            .build_cartesian_2d(
                (0u32..RESOURCES.len() as u32 - 1).into_segmented(),
                0f64..top,
            )
            .map_err(to_string_err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .y_label_formatter(&|v| short_count(*v))
            .x_desc("Resource")
            .y_desc("Count (cells)")
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => RESOURCES
                    .get(*i as usize)
                    .copied()
                    .unwrap_or("")
                    .to_string(),
                _ => String::new(),
            })
            .axis_desc_style((FONT, 20))
            .label_style((FONT, 16))
            .draw()
            .map_err(to_string_err)?;
        let mut base = [0u64; 4];
        for (k, layer) in m.layers.iter().enumerate() {
            let colour = LAYER_COLOURS[k % LAYER_COLOURS.len()];
            let c = counts(layer);
            let bars: Vec<Rectangle<(SegmentValue<u32>, f64)>> = (0..RESOURCES.len())
                .filter(|&i| c[i] > 0)
                .map(|i| {
                    let x0 = SegmentValue::Exact(i as u32);
                    let x1 = SegmentValue::Exact(i as u32 + 1);
                    let (y0, y1) = (base[i] as f64, (base[i] + c[i]) as f64);
                    let mut bar = Rectangle::new([(x0, y0), (x1, y1)], colour.filled());
                    bar.set_margin(0, 0, 25, 25);
                    bar
                })
                .collect();
            chart
                .draw_series(bars)
                .map_err(to_string_err)?
                .label(layer.name.clone())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 6), (x + 14, y + 6)], colour.filled())
                });
            for (b, add) in base.iter_mut().zip(c) {
                *b += add;
            }
        }
        chart
            .configure_series_labels()
            .label_font((FONT, 16))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(to_string_err)?;
        let caption = format!(
            "point {}: {}  (area source: {})",
            self.row.id,
            self.row.label,
            m.area_source.name()
        );
        lower
            .draw(&Text::new(caption, (20, 5), (FONT, 16).into_font()))
            .map_err(to_string_err)
    }
}

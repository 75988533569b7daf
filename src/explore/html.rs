//! `index.html`: a static page with the plots and the results table (no server, no script).
//!
//! ```
//! assert_eq!(qforge::explore::html::escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
//! ```

use crate::explore::error::Result;
use crate::explore::meta::Meta;
use crate::explore::pareto::accuracy_lut_front;
use crate::explore::results::{write_atomic, CsvRecord};
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Writes `dir/index.html` showing `plots` (file stems with captions; the SVG is shown, the PNG
/// linked) and a table of `rows`; front points of accuracy/LUTs are marked. Returns the path.
pub fn write_index(
    dir: &Path,
    rows: &[CsvRecord],
    plots: &[(&str, &str)],
    breakdown: Option<&CsvRecord>,
) -> Result<PathBuf> {
    let front = accuracy_lut_front(rows);
    // meta.json is optional here: plots can be redrawn from a bare results.csv.
    let provenance = match Meta::read(dir) {
        Ok(Some(m)) => format!(
            "<p>Sweep <b>{}</b> ({}), hash {}; qforge {}{}; {} of {} grid points{}.</p>\n",
            escape(&m.sweep_name),
            escape(&m.sweep_file),
            escape(&m.sweep_hash),
            escape(&m.qforge_version),
            m.git_revision
                .as_deref()
                .map_or(String::new(), |r| format!(" ({})", escape(r))),
            m.points_done,
            m.points_total,
            if m.complete { "" } else { ", incomplete" }
        ),
        _ => String::new(),
    };
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>qforge sweep results</title>\n<style>\n\
         body {{ font-family: sans-serif; margin: 2em; }}\n\
         figure {{ display: inline-block; margin: 0 1em 1em 0; }}\n\
         img {{ width: 640px; border: 1px solid #ccc; }}\n\
         table {{ border-collapse: collapse; font-size: 0.9em; }}\n\
         th, td {{ border: 1px solid #ccc; padding: 2px 6px; text-align: right; }}\n\
         td.t {{ text-align: left; }}\n tr.front {{ background: #fff3c4; }}\n\
         tr.skipped {{ color: #888; }}\n</style>\n</head>\n<body>\n\
         <h1>Sweep results</h1>\n<p>{} points, {} evaluated, {} skipped. Data: \
         <a href=\"results.csv\">results.csv</a>, <a href=\"results.json\">results.json</a> \
         (JSON Lines), <a href=\"meta.json\">meta.json</a>. Highlighted rows are on the \
         accuracy/LUT Pareto front.</p>\n{provenance}",
        rows.len(),
        rows.iter().filter(|r| r.metrics.is_some()).count(),
        rows.iter().filter(|r| r.skip_reason.is_some()).count()
    );
    if plots.is_empty() {
        h.push_str("<p>No evaluated point: nothing to plot.</p>\n");
    }
    for (stem, caption) in plots {
        let mut caption = escape(caption);
        if *stem == "layer_area" {
            if let Some(b) = breakdown {
                caption.push_str(&format!(" of {} ({})", escape(&b.label), escape(&b.id)));
            }
        }
        let _ = writeln!(
            h,
            "<figure><img src=\"{stem}.svg\" alt=\"{caption}\"><figcaption>{caption} \
             (<a href=\"{stem}.png\">PNG</a>, <a href=\"{stem}.svg\">SVG</a>)</figcaption></figure>"
        );
    }
    h.push_str(
        "<h2>Points</h2>\n<table>\n<tr><th>#</th><th>id</th><th>label</th><th>status</th>\
         <th>accuracy</th><th>LUTs</th><th>FFs</th><th>carries</th><th>DSPs</th>\
         <th>BRAM bits</th><th>weight memory bits</th><th>cycles/image</th><th>images/s</th>\
         <th>area source</th></tr>\n",
    );
    for (i, r) in rows.iter().enumerate() {
        let class = if r.skip_reason.is_some() {
            " class=\"skipped\""
        } else if front.contains(&i) {
            " class=\"front\""
        } else {
            ""
        };
        let _ = write!(
            h,
            "<tr{class}><td>{}</td><td class=\"t\">{}</td><td class=\"t\">{}</td>",
            r.index,
            escape(&r.id),
            escape(&r.label)
        );
        match (&r.metrics, &r.skip_reason) {
            (Some(m), _) => {
                let _ = writeln!(
                    h,
                    "<td class=\"t\">ok</td><td>{:.4}</td><td>{}</td><td>{}</td><td>{}</td>\
                     <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.4e}</td>\
                     <td class=\"t\">{}</td></tr>",
                    m.accuracy,
                    m.luts,
                    m.ffs,
                    m.carries,
                    m.dsps,
                    m.bram_bits,
                    m.weight_memory_bits,
                    m.cycles_per_image,
                    m.throughput_images_per_s,
                    m.area_source.name()
                );
            }
            (None, reason) => {
                let _ = writeln!(
                    h,
                    "<td class=\"t\" colspan=\"11\">skipped: {}</td></tr>",
                    escape(reason.as_deref().unwrap_or(""))
                );
            }
        }
    }
    h.push_str("</table>\n</body>\n</html>\n");
    let path = dir.join("index.html");
    write_atomic(&path, h.as_bytes())?;
    Ok(path)
}

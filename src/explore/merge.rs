//! Joining the results folders of shards (`qforge sweep merge DIR1 DIR2 ... -o OUT`).
//!
//! Every folder must hold the same sweep (the same grid hash in its `meta.json`); rows are joined
//! by point id (a point found in two folders must have equal results there) and written in grid
//! order, so merging the shards `0/n .. n-1/n` of a sweep gives the folder the unsharded sweep
//! gives, byte for byte apart from `timing.json` (which sums the shards' figures and names the
//! folders joined).
//!
//! ```no_run
//! use qforge::explore::merge::merge_results;
//! let dirs = ["out/s0".as_ref(), "out/s1".as_ref()];
//! let meta = merge_results(&dirs, "out/all".as_ref()).unwrap();
//! assert!(meta.complete);
//! ```

use crate::explore::error::{ExploreError, Result};
use crate::explore::evaluator::Outcome;
use crate::explore::meta::{Meta, Timing};
use crate::explore::results::{read_json, write_results, ResultRow};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Merges results folders into `out` (created if missing; else it must be empty or a sweep folder
/// qforge wrote, see [`crate::outdir`]); returns the merged metadata.
pub fn merge_results(dirs: &[&Path], out: &Path) -> Result<Meta> {
    let Some(first) = dirs.first() else {
        return Err(ExploreError::Results {
            path: out.to_path_buf(),
            line: 0,
            message: "nothing to merge: give at least one results folder".into(),
        });
    };
    let first_meta = read_meta(first)?;
    let mut merged = first_meta.clone();
    merged.shard = None;
    let mut timing = Timing::new(0.0, 0);
    let mut by_id: BTreeMap<String, (ResultRow, PathBuf)> = BTreeMap::new();
    for dir in dirs {
        let meta = read_meta(dir)?;
        if meta.sweep_hash != first_meta.sweep_hash {
            return Err(ExploreError::ShardMismatch {
                first: first.to_path_buf(),
                expected: first_meta.sweep_hash.clone(),
                other: dir.to_path_buf(),
                found: meta.sweep_hash,
            });
        }
        merged.tool_versions.extend(meta.tool_versions);
        // A folder without timing.json (its run was cut short) adds no figures.
        if let Some(t) = Timing::read(dir)? {
            timing.wall_time_s += t.wall_time_s;
            timing.points_evaluated += t.points_evaluated;
        }
        timing.merged_from.push(dir.display().to_string());
        for row in read_json(dir)? {
            match by_id.get(&row.id) {
                Some((existing, from)) if existing != &row => {
                    return Err(ExploreError::ConflictingRows {
                        id: row.id,
                        a: from.clone(),
                        b: dir.to_path_buf(),
                    })
                }
                Some(_) => {}
                None => {
                    by_id.insert(row.id.clone(), (row, dir.to_path_buf()));
                }
            }
        }
    }
    let mut rows: Vec<ResultRow> = by_id.into_values().map(|(r, _)| r).collect();
    crate::outdir::prepare_in_place(out, crate::outdir::OutputKind::Sweep, false)?;
    write_results(out, &mut rows)?;
    merged.points_done = rows.len();
    merged.points_skipped = rows
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Skipped(_)))
        .count();
    merged.complete = rows.len() == merged.points_total;
    merged.write(out)?;
    timing.points_per_s = timing.points_evaluated as f64 / timing.wall_time_s.max(1e-9);
    timing.write(out)?;
    Ok(merged)
}

fn read_meta(dir: &Path) -> Result<Meta> {
    Meta::read(dir)?.ok_or_else(|| ExploreError::Results {
        path: dir.join(crate::explore::meta::META_FILE),
        line: 0,
        message: "missing: not a sweep results folder".into(),
    })
}

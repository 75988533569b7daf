//! MNIST in the IDX format (plain or gzip-compressed, detected from the first bytes).
//!
//! An IDX file is a big-endian header — magic `0x00000803` for images (then count, rows, columns) or
//! `0x00000801` for labels (then count) — followed by one unsigned byte per pixel or label.
//! Pixels are divided by 255; an image sample has shape `[1, rows, columns]` (CHW).

use super::source::Part;
use super::Dataset;
use crate::nn::NnError;
use flate2::read::GzDecoder;
use std::io::Read;
use std::path::{Path, PathBuf};

const IMAGES_MAGIC: u32 = 0x0000_0803;
const LABELS_MAGIC: u32 = 0x0000_0801;

fn data_err(path: &Path, message: String) -> NnError {
    NnError::Data {
        path: path.display().to_string(),
        message,
    }
}

/// Reads a whole file, decompressing it when it starts with the gzip magic `1f 8b`.
fn read_maybe_gz(path: &Path) -> Result<Vec<u8>, NnError> {
    let raw = std::fs::read(path).map_err(|source| NnError::Io {
        path: path.display().to_string(),
        source,
    })?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| data_err(path, format!("cannot decompress: {e}")))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

fn header(bytes: &[u8], path: &Path, magic: u32, words: usize) -> Result<Vec<usize>, NnError> {
    let word = |i: usize| {
        u32::from_be_bytes([
            bytes[4 * i],
            bytes[4 * i + 1],
            bytes[4 * i + 2],
            bytes[4 * i + 3],
        ])
    };
    if bytes.len() >= 4 && word(0) != magic {
        return Err(data_err(
            path,
            format!("bad magic 0x{:08x}, expected 0x{magic:08x}", word(0)),
        ));
    }
    if bytes.len() < 4 * words {
        return Err(data_err(
            path,
            format!(
                "truncated: {} bytes, the header alone needs {}",
                bytes.len(),
                4 * words
            ),
        ));
    }
    Ok((1..words).map(|i| word(i) as usize).collect())
}

fn body<'a>(bytes: &'a [u8], path: &Path, start: usize, len: usize) -> Result<&'a [u8], NnError> {
    match start.checked_add(len) {
        Some(end) if end <= bytes.len() => Ok(&bytes[start..end]),
        _ => Err(data_err(
            path,
            format!(
                "truncated: header promises {len} data bytes, the file has {}",
                bytes.len() - start
            ),
        )),
    }
}

/// Reads an IDX image file: returns `(count, rows, columns, pixels)`.
pub fn read_images(path: &Path) -> Result<(usize, usize, usize, Vec<u8>), NnError> {
    let bytes = read_maybe_gz(path)?;
    let h = header(&bytes, path, IMAGES_MAGIC, 4)?;
    let len = h[0]
        .checked_mul(h[1])
        .and_then(|v| v.checked_mul(h[2]))
        .unwrap_or(usize::MAX);
    Ok((h[0], h[1], h[2], body(&bytes, path, 16, len)?.to_vec()))
}

/// Reads an IDX label file.
pub fn read_labels(path: &Path) -> Result<Vec<u8>, NnError> {
    let bytes = read_maybe_gz(path)?;
    let h = header(&bytes, path, LABELS_MAGIC, 2)?;
    Ok(body(&bytes, path, 8, h[0])?.to_vec())
}

/// Reads an image file and its label file into a [`Dataset`] (pixels / 255, shape `[1, rows, columns]`).
pub fn read_pair(images: &Path, labels: &Path) -> Result<Dataset, NnError> {
    let (n, rows, cols, pixels) = read_images(images)?;
    let labels_v = read_labels(labels)?;
    if labels_v.len() != n {
        return Err(data_err(
            labels,
            format!(
                "{} labels for {n} images in {}",
                labels_v.len(),
                images.display()
            ),
        ));
    }
    Ok(Dataset {
        inputs: pixels.iter().map(|&p| p as f32 / 255.0).collect(),
        shape: vec![1, rows, cols],
        labels: labels_v,
    })
}

/// Finds `<stem>` in `dir` under the usual names: `train-images-idx3-ubyte` or `train-images.idx3-ubyte`,
/// each optionally with `.gz`.
fn find(dir: &Path, prefix: &str, suffix: &str) -> Result<PathBuf, NnError> {
    let names = [
        format!("{prefix}-{suffix}.gz"),
        format!("{prefix}.{suffix}.gz"),
        format!("{prefix}-{suffix}"),
        format!("{prefix}.{suffix}"),
    ];
    names
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            data_err(
                dir,
                format!(
                    "no {} (also tried {}, {}, {}); download MNIST in IDX format into this folder",
                    names[0], names[1], names[2], names[3]
                ),
            )
        })
}

/// Loads the MNIST training (60000) and test (10000) sets from a folder holding the four IDX files.
pub fn load_dir(dir: &Path) -> Result<(Dataset, Dataset), NnError> {
    Ok((load_part(dir, Part::Train)?, load_part(dir, Part::Test)?))
}

/// Loads one part of MNIST from a folder: the training files `train-*` or the test files `t10k-*`.
pub fn load_part(dir: &Path, part: Part) -> Result<Dataset, NnError> {
    let prefix = match part {
        Part::Train => "train",
        Part::Test => "t10k",
    };
    read_pair(
        &find(dir, &format!("{prefix}-images"), "idx3-ubyte")?,
        &find(dir, &format!("{prefix}-labels"), "idx1-ubyte")?,
    )
}

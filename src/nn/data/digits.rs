//! The bundled digits set (UCI optical digits as shipped by scikit-learn: 1797 images of 8×8 pixels
//! 0..=16) and its fixed train/test split (scikit-learn `train_test_split(test_size=0.25, random_state=0)`,
//! 1347/450). Both files are compiled into the binary from `data/`, so they work from any directory.
//! Pixels are divided by 16, giving values in `[0, 1]`; a sample has shape `[64]`.

use super::split::Split;
use super::Dataset;
use crate::nn::NnError;
use flate2::read::GzDecoder;
use std::io::Read;

/// `data/digits.csv.gz`: one row per image, 64 pixels then the label, comma-separated, no header.
pub const DIGITS_CSV_GZ: &[u8] = include_bytes!("../../../data/digits.csv.gz");
/// `data/digits_split.txt` (see [`Split`]).
pub const DIGITS_SPLIT: &str = include_str!("../../../data/digits_split.txt");

/// Parses digits CSV text (gzip-compressed); `origin` names it in errors.
pub fn parse_csv_gz(bytes: &[u8], origin: &str) -> Result<Dataset, NnError> {
    let mut text = String::new();
    GzDecoder::new(bytes)
        .read_to_string(&mut text)
        .map_err(|e| NnError::Data {
            path: origin.to_string(),
            message: format!("cannot decompress: {e}"),
        })?;
    let mut inputs = Vec::new();
    let mut labels = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let err = |message: String| NnError::Data {
            path: format!("{origin}:{}", n + 1),
            message,
        };
        let values: Vec<&str> = line.trim().split(',').collect();
        if values.len() != 65 {
            return Err(err(format!(
                "expected 65 values (64 pixels and a label), got {}",
                values.len()
            )));
        }
        for v in &values[..64] {
            match v.parse::<u8>() {
                Ok(p) if p <= 16 => inputs.push(p as f32 / 16.0),
                _ => return Err(err(format!("pixel `{v}` is not an integer in 0..=16"))),
            }
        }
        match values[64].parse::<u8>() {
            Ok(l) if l <= 9 => labels.push(l),
            _ => return Err(err(format!("label `{}` is not a digit 0..=9", values[64]))),
        }
    }
    Ok(Dataset {
        inputs,
        shape: vec![64],
        labels,
    })
}

/// All 1797 bundled images, in file order.
pub fn all() -> Result<Dataset, NnError> {
    parse_csv_gz(DIGITS_CSV_GZ, "data/digits.csv.gz")
}

/// The bundled train (1347) and test (450) sets of the fixed split.
pub fn train_test() -> Result<(Dataset, Dataset), NnError> {
    let all = all()?;
    let split = Split::parse(DIGITS_SPLIT, "data/digits_split.txt", all.len())?;
    Ok((all.select(&split.train)?, all.select(&split.test)?))
}

//! Split files: which rows of a data set form its train and test parts.
//!
//! Format: `#` comment lines, then one line per sample, `train <row>` or `test <row>` (0-based rows),
//! in the order the samples take in each part.

use crate::nn::NnError;

/// Train and test row indices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Split {
    /// Rows of the training part, in order.
    pub train: Vec<usize>,
    /// Rows of the test part, in order.
    pub test: Vec<usize>,
}

impl Split {
    /// Parses a split file's text; `origin` names it in errors (`origin:line: message`).
    /// Every row must be below `rows` and appear at most once.
    pub fn parse(text: &str, origin: &str, rows: usize) -> Result<Split, NnError> {
        let mut split = Split {
            train: Vec::new(),
            test: Vec::new(),
        };
        let mut seen = vec![false; rows];
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let err = |message: String| NnError::Data {
                path: format!("{origin}:{}", n + 1),
                message,
            };
            let (part, row) = line.split_once(' ').ok_or_else(|| {
                err(format!(
                    "expected `train <row>` or `test <row>`, got `{line}`"
                ))
            })?;
            let row: usize = row
                .trim()
                .parse()
                .map_err(|_| err(format!("bad row number `{row}`")))?;
            if row >= rows || seen[row] {
                return Err(err(format!(
                    "row {row} is out of range (0..{rows}) or repeated"
                )));
            }
            seen[row] = true;
            match part {
                "train" => split.train.push(row),
                "test" => split.test.push(row),
                other => {
                    return Err(err(format!(
                        "unknown part `{other}` (expected train or test)"
                    )))
                }
            }
        }
        Ok(split)
    }
}

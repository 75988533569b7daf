//! Which data set a command reads: `digits` (bundled, with its fixed split) or `mnist:DIR`
//! (a folder holding the four MNIST IDX files, plain or gzip-compressed).
//!
//! ```
//! use qforge::nn::data::source::DataSource;
//! let data: DataSource = "mnist:../shared/data/mnist".parse().unwrap();
//! assert_eq!(data.to_string(), "mnist:../shared/data/mnist");
//! assert!("cifar".parse::<DataSource>().is_err());
//! ```

use super::{digits, mnist, Dataset};
use crate::nn::NnError;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// A data set named on the command line or in a sweep file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum DataSource {
    /// The bundled 8×8 digits with their fixed split (1347 training, 450 test images).
    #[default]
    Digits,
    /// MNIST from a folder with the IDX files (60,000 training, 10,000 test images of 28×28).
    Mnist(PathBuf),
}

/// The part of a data set a command reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The training images (calibration, training).
    Train,
    /// The test images (evaluation, hardware vectors).
    Test,
}

impl DataSource {
    /// The training and the test part.
    pub fn load(&self) -> Result<(Dataset, Dataset), NnError> {
        match self {
            DataSource::Digits => digits::train_test(),
            DataSource::Mnist(dir) => mnist::load_dir(dir),
        }
    }

    /// One part only (for MNIST, only that part's two files are read).
    pub fn load_part(&self, part: Part) -> Result<Dataset, NnError> {
        match self {
            DataSource::Digits => {
                let (train, test) = digits::train_test()?;
                Ok(match part {
                    Part::Train => train,
                    Part::Test => test,
                })
            }
            DataSource::Mnist(dir) => mnist::load_part(dir, part),
        }
    }

    /// True for the bundled digits set (the default, which design folders do not record).
    pub fn is_digits(&self) -> bool {
        matches!(self, DataSource::Digits)
    }
}

impl FromStr for DataSource {
    type Err = NnError;

    fn from_str(s: &str) -> Result<Self, NnError> {
        if s == "digits" {
            return Ok(DataSource::Digits);
        }
        match s.strip_prefix("mnist:") {
            Some("") => Err(NnError::Input(
                "data set `mnist:` names no folder (expected mnist:DIR)".into(),
            )),
            Some(dir) => Ok(DataSource::Mnist(PathBuf::from(dir))),
            None => Err(NnError::Input(format!(
                "unknown data set `{s}` (expected digits or mnist:DIR)"
            ))),
        }
    }
}

impl fmt::Display for DataSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataSource::Digits => f.write_str("digits"),
            DataSource::Mnist(dir) => write!(f, "mnist:{}", dir.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_print_back() {
        for s in ["digits", "mnist:data/mnist", "mnist:/abs/dir"] {
            assert_eq!(s.parse::<DataSource>().unwrap().to_string(), s);
        }
        let e = "mnist:".parse::<DataSource>().unwrap_err().to_string();
        assert!(e.contains("names no folder"), "{e}");
        let e = "Digits".parse::<DataSource>().unwrap_err().to_string();
        assert!(e.contains("expected digits or mnist:DIR"), "{e}");
    }

    #[test]
    fn a_missing_mnist_folder_says_which_file_it_looked_for() {
        let data: DataSource = "mnist:/nonexistent/qforge".parse().unwrap();
        let e = data.load_part(Part::Test).unwrap_err().to_string();
        assert!(e.contains("t10k-images"), "{e}");
        assert!(e.contains("/nonexistent/qforge"), "{e}");
    }
}

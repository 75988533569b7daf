//! Data sets: the bundled digits set with its fixed split, and MNIST in IDX format; [`source`]
//! names one of them.

pub mod digits;
pub mod mnist;
pub mod source;
pub mod split;

use super::NnError;

/// Labelled samples, all of one shape.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// Samples one after another, each `shape.iter().product()` values, row-major (CHW for images).
    pub inputs: Vec<f32>,
    /// Shape of one sample.
    pub shape: Vec<usize>,
    /// One label per sample.
    pub labels: Vec<u8>,
}

impl Dataset {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Values per sample.
    pub fn sample_size(&self) -> usize {
        self.shape.iter().product()
    }

    /// The values of sample `i` (panics if `i >= len()`, like slice indexing).
    pub fn sample(&self, i: usize) -> &[f32] {
        let n = self.sample_size();
        &self.inputs[i * n..(i + 1) * n]
    }

    /// The samples at `indices`, in that order; an index out of range is an error.
    pub fn select(&self, indices: &[usize]) -> Result<Dataset, NnError> {
        let n = self.sample_size();
        let mut inputs = Vec::with_capacity(indices.len() * n);
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            if i >= self.len() {
                return Err(NnError::Input(format!(
                    "sample index {i} is out of range (0..{})",
                    self.len()
                )));
            }
            inputs.extend_from_slice(self.sample(i));
            labels.push(self.labels[i]);
        }
        Ok(Dataset {
            inputs,
            shape: self.shape.clone(),
            labels,
        })
    }

    /// The first `n` samples (all of them if there are fewer).
    pub fn truncated(&self, n: usize) -> Dataset {
        let n = n.min(self.len());
        Dataset {
            inputs: self.inputs[..n * self.sample_size()].to_vec(),
            shape: self.shape.clone(),
            labels: self.labels[..n].to_vec(),
        }
    }

    /// The same data viewed with another shape of the same size (e.g. `[64]` as `[1, 8, 8]`).
    pub fn reshaped(mut self, shape: Vec<usize>) -> Result<Dataset, NnError> {
        if shape.iter().product::<usize>() != self.sample_size() {
            return Err(NnError::Input(format!(
                "cannot view samples of shape {:?} as {shape:?}",
                self.shape
            )));
        }
        self.shape = shape;
        Ok(self)
    }
}

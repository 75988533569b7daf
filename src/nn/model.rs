//! A float network ([`Model`]) and its RON file format; see the [module docs](super) for the format.

use super::layer::{shape_str, Layer};
use super::NnError;
use crate::position::{locate, locate_key, locate_nearest, ValuePath};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A float network: a name, the shape of one input sample and a chain of layers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    /// Free-form name.
    pub name: String,
    /// Shape of one sample: `[features]` or `[channels, height, width]`.
    pub input_shape: Vec<usize>,
    /// Layers, applied in order.
    pub layers: Vec<Layer>,
}

impl Model {
    /// Builds a model and checks its shapes.
    pub fn new(
        name: impl Into<String>,
        input_shape: Vec<usize>,
        layers: Vec<Layer>,
    ) -> Result<Self, NnError> {
        let model = Model {
            name: name.into(),
            input_shape,
            layers,
        };
        model.shapes()?;
        Ok(model)
    }

    /// The shape after each layer (`shapes()[0]` is the input shape, `shapes()[i + 1]` the output of layer `i`).
    /// A mismatch is an [`NnError::Layer`] naming the layer index and both shapes.
    pub fn shapes(&self) -> Result<Vec<Vec<usize>>, NnError> {
        if self.input_shape.is_empty()
            || self.input_shape.contains(&0)
            || super::layer::product(&self.input_shape).is_err()
        {
            return Err(NnError::Layer {
                index: 0,
                kind: "input",
                message: format!(
                    "input_shape {} must be non-empty with no zero dimension",
                    shape_str(&self.input_shape)
                ),
            });
        }
        let mut shapes = vec![self.input_shape.clone()];
        for (index, layer) in self.layers.iter().enumerate() {
            let next = layer
                .output_shape(&shapes[index])
                .map_err(|error| NnError::Shape {
                    index,
                    kind: layer.kind(),
                    error,
                })?;
            shapes.push(next);
        }
        Ok(shapes)
    }

    /// Shape of one output sample.
    pub fn output_shape(&self) -> Result<Vec<usize>, NnError> {
        Ok(self.shapes()?.pop().unwrap_or_default())
    }

    /// Checks that every weight, bias and batch-norm value is finite; the error names the
    /// first that is not ([`NnError::NonFinite`]).
    pub fn check_finite(&self) -> Result<(), NnError> {
        for (index, layer) in self.layers.iter().enumerate() {
            if let Some((param, at, value)) = layer.non_finite() {
                return Err(NnError::NonFinite {
                    index,
                    kind: layer.kind(),
                    param,
                    at,
                    value,
                });
            }
        }
        Ok(())
    }

    /// Number of values in one input sample.
    pub fn input_size(&self) -> usize {
        self.input_shape.iter().product()
    }

    /// Number of layers with weights (Dense and Conv2d): what per-layer overrides index.
    pub fn weight_layer_count(&self) -> usize {
        self.layers
            .iter()
            .filter(|l| matches!(l, Layer::Dense { .. } | Layer::Conv2d { .. }))
            .count()
    }

    /// Parses a model from RON text and checks its shapes. `origin` (a file name) prefixes every error
    /// as `origin:line:col: message`; a shape error points at the start of the offending layer.
    pub fn from_ron_str(text: &str, origin: &str) -> Result<Self, NnError> {
        let model: Model = ron::from_str(text).map_err(|e| NnError::Syntax {
            origin: origin.to_string(),
            line: e.span.start.line,
            col: e.span.start.col,
            message: e.code.to_string(),
        })?;
        if let Err(err) = model.shapes() {
            let (line, col) = match &err {
                NnError::Layer { index, kind, .. } | NnError::Shape { index, kind, .. }
                    if *kind != "input" =>
                {
                    locate(text, &ValuePath::field("layers").index(*index))
                }
                _ => locate_key(text, &ValuePath::field("input_shape")),
            }
            .unwrap_or((1, 1));
            return Err(NnError::Syntax {
                origin: origin.to_string(),
                line,
                col,
                message: err.to_string(),
            });
        }
        if let Err(NnError::NonFinite {
            index,
            kind,
            param,
            at,
            value,
        }) = model.check_finite()
        {
            let path = ValuePath::field("layers").index(index).then_field(param);
            let path = if param == "eps" { path } else { path.index(at) };
            let (line, col) = locate_nearest(text, &path);
            return Err(NnError::Syntax {
                origin: origin.to_string(),
                line,
                col,
                message: NnError::NonFinite {
                    index,
                    kind,
                    param,
                    at,
                    value,
                }
                .to_string(),
            });
        }
        Ok(model)
    }

    /// Reads a model file (see [`Model::from_ron_str`]).
    pub fn load(path: impl AsRef<Path>) -> Result<Self, NnError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| NnError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_ron_str(&text, &path.display().to_string())
    }

    /// The model as RON text, one layer per line: every `f32` is printed in its shortest form that parses
    /// back to the same bits. `header` lines are written first as `//` comments.
    pub fn to_ron_string(&self, header: &[&str]) -> Result<String, NnError> {
        let ron_err = |e: ron::Error| NnError::Train(format!("cannot write RON: {e}"));
        let mut out = String::new();
        for line in header {
            out.push_str("// ");
            out.push_str(line);
            out.push('\n');
        }
        out.push_str("Model(\n");
        out.push_str(&format!(
            "  name: {},\n",
            ron::to_string(&self.name).map_err(ron_err)?
        ));
        out.push_str(&format!(
            "  input_shape: {},\n",
            ron::to_string(&self.input_shape).map_err(ron_err)?
        ));
        out.push_str("  layers: [\n");
        for layer in &self.layers {
            out.push_str(&format!(
                "    {},\n",
                ron::to_string(layer).map_err(ron_err)?
            ));
        }
        out.push_str("  ],\n)\n");
        Ok(out)
    }

    /// Writes the model to a RON file (see [`Model::to_ron_string`]).
    pub fn save(&self, path: impl AsRef<Path>, header: &[&str]) -> Result<(), NnError> {
        let path = path.as_ref();
        let text = self.to_ron_string(header)?;
        crate::outdir::write_file(path, text.as_bytes()).map_err(|source| NnError::Io {
            path: path.display().to_string(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "Model(
  name: \"t\",
  input_shape: [2],
  layers: [
    Dense(in_features: 2, out_features: 1, weights: [1.0, 0.5], bias: [0.0]),
    Relu,
    BatchNorm(gamma: [1.0], beta: [0.0], running_mean: [0.0], running_var: [1.0], eps: 0.001),
  ],
)";

    #[test]
    fn non_finite_values_are_refused_at_their_position() {
        assert!(Model::from_ron_str(TEXT, "m.ron").is_ok());
        let bad = TEXT.replacen("0.5]", "-inf]", 1);
        assert_eq!(
            Model::from_ron_str(&bad, "m.ron").unwrap_err().to_string(),
            "m.ron:5:59: layer 0 (Dense): weights[1] (-inf) must be finite"
        );
        let bad = TEXT.replacen("running_var: [1.0]", "running_var: [NaN]", 1);
        assert_eq!(
            Model::from_ron_str(&bad, "m.ron").unwrap_err().to_string(),
            "m.ron:7:77: layer 2 (BatchNorm): running_var[0] (NaN) must be finite"
        );
    }

    #[test]
    fn unknown_fields_are_refused_where_they_are() {
        let bad = TEXT.replacen("name: \"t\",", "name: \"t\", nmae: \"u\",", 1);
        let e = Model::from_ron_str(&bad, "m.ron").unwrap_err().to_string();
        assert!(e.starts_with("m.ron:2:14: "), "{e}");
        assert!(e.contains("`nmae`"), "{e}");
    }
}

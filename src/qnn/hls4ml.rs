//! Builds an integer network from an hls4ml project's `defines.h`, `parameters.h` and weight
//! text files (`wN.txt`, `bN.txt`: comma-separated decimals, index `[in][out]`).
//!
//! Layer types follow hls4ml's naming: the input is `input_t`; dense layer `N` (named `name`)
//! uses `name_weight_t`, `name_bias_t` and `name_accum_t` (as its `configN` says) and returns
//! `layerN_t`, else `name_result_t`, else (last layer) `result_t`; a ReLU layer `M` returns
//! `layerM_t` (or `result_t` when last). Decimal weights are parsed to the nearest `f64` and cast
//! exactly into their type, as the C++ compiler and ap_fixed's `double` constructor do.

use super::error::QnnError;
use super::fixed_dense::{int_format, FixedDense};
use super::net::{InputQuant, Layer, QNet};
use crate::num::fixed::FixedFormat;
use std::collections::HashMap;
use std::path::Path;

fn import_err(path: &Path, message: impl Into<String>) -> QnnError {
    QnnError::Import {
        path: path.display().to_string(),
        message: message.into(),
    }
}

fn read(path: &Path) -> Result<String, QnnError> {
    std::fs::read_to_string(path).map_err(|source| QnnError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// Every `typedef <type> <name>;` of a header whose type parses as a fixed-point format.
pub fn parse_typedefs(text: &str) -> HashMap<String, FixedFormat> {
    text.lines()
        .filter_map(|l| {
            let body = l
                .trim()
                .strip_prefix("typedef ")?
                .trim()
                .strip_suffix(';')?;
            let split = body.rfind(char::is_whitespace)?;
            let (ty, name) = (body[..split].trim(), body[split..].trim());
            Some((name.to_string(), ty.parse::<FixedFormat>().ok()?))
        })
        .collect()
}

#[derive(Debug)]
enum HlsLayer {
    Dense {
        name: String,
        index: usize,
        n_in: usize,
        n_out: usize,
        types: HashMap<String, String>,
    },
    Relu {
        index: usize,
    },
}

/// The layer list of `parameters.h`: each `// name` comment followed by a `struct configN` or
/// `struct relu_configN`.
fn parse_layers(text: &str, path: &Path) -> Result<Vec<HlsLayer>, QnnError> {
    let mut layers = Vec::new();
    let mut name = String::new();
    let mut current: Option<HlsLayer> = None;
    let number = |s: &str| -> Option<usize> {
        s.trim_start_matches(|c: char| !c.is_ascii_digit())
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    };
    for line in text.lines() {
        let t = line.trim();
        if let Some(c) = t.strip_prefix("// ") {
            if !c.contains(' ') {
                name = c.to_string();
            }
        } else if let Some(rest) = t.strip_prefix("struct ") {
            if let Some(l) = current.take() {
                layers.push(l);
            }
            let index =
                number(rest).ok_or_else(|| import_err(path, format!("no layer index in '{t}'")))?;
            if rest.contains("dense_config") {
                current = Some(HlsLayer::Dense {
                    name: name.clone(),
                    index,
                    n_in: 0,
                    n_out: 0,
                    types: HashMap::new(),
                });
            } else if rest.starts_with("relu_config") {
                current = Some(HlsLayer::Relu { index });
            } else if rest.contains("activ_config") {
                return Err(import_err(
                    path,
                    format!("unsupported activation '{name}' ({t})"),
                ));
            }
        } else if let Some(HlsLayer::Dense {
            n_in, n_out, types, ..
        }) = current.as_mut()
        {
            if let Some(v) = t.strip_prefix("static const unsigned n_in =") {
                *n_in = number(v).unwrap_or(0);
            } else if let Some(v) = t.strip_prefix("static const unsigned n_out =") {
                *n_out = number(v).unwrap_or(0);
            } else if let Some(body) = t.strip_prefix("typedef ").and_then(|b| b.strip_suffix(';'))
            {
                let mut it = body.split_whitespace();
                if let (Some(ty), Some(role)) = (it.next(), it.next()) {
                    types.insert(role.to_string(), ty.to_string());
                }
            }
        }
    }
    if let Some(l) = current.take() {
        layers.push(l);
    }
    Ok(layers)
}

fn decimals(path: &Path) -> Result<Vec<f64>, QnnError> {
    read(path)?
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<f64>()
                .map_err(|_| import_err(path, format!("'{s}' is not a decimal number")))
        })
        .collect()
}

fn cast_all(fmt: FixedFormat, v: &[f64], path: &Path) -> Result<Vec<i64>, QnnError> {
    v.iter()
        .map(|&x| {
            fmt.cast_f64_raw(x)
                .map(|r| r as i64)
                .map_err(|e| import_err(path, e.to_string()))
        })
        .collect()
}

/// The project folder a model argument `hls4ml:DIR` names, if it is one.
pub fn project_dir(model: &Path) -> Option<std::path::PathBuf> {
    model
        .to_str()
        .and_then(|s| s.strip_prefix("hls4ml:"))
        .map(std::path::PathBuf::from)
}

/// Builds the network of an hls4ml project folder (Dense and ReLU layers).
pub fn load_dir(dir: &Path) -> Result<QNet, QnnError> {
    let defines = dir.join("defines.h");
    let params = dir.join("parameters.h");
    let types = parse_typedefs(&read(&defines)?);
    let ty = |name: &str| -> Result<FixedFormat, QnnError> {
        types
            .get(name)
            .copied()
            .ok_or_else(|| import_err(&defines, format!("no fixed-point typedef '{name}'")))
    };
    let hls = parse_layers(&read(&params)?, &params)?;
    let input_t = ty("input_t")?;
    let mut prev = input_t;
    let mut out: Vec<FixedDense> = Vec::new();
    for (k, l) in hls.iter().enumerate() {
        let last = k + 1 == hls.len();
        match l {
            HlsLayer::Dense {
                name,
                index,
                n_in,
                n_out,
                types: roles,
            } => {
                let role = |r: &str| -> Result<FixedFormat, QnnError> {
                    let n = roles
                        .get(r)
                        .ok_or_else(|| import_err(&params, format!("config{index} has no {r}")))?;
                    ty(n)
                };
                let result = [format!("layer{index}_t"), format!("{name}_result_t")]
                    .iter()
                    .find_map(|n| types.get(n).copied())
                    .or(if last {
                        types.get("result_t").copied()
                    } else {
                        None
                    })
                    .ok_or_else(|| {
                        import_err(&defines, format!("no result type for layer {name}"))
                    })?;
                let (weight, bias_format, accum) =
                    (role("weight_t")?, role("bias_t")?, role("accum_t")?);
                let wpath = dir.join(format!("w{index}.txt"));
                let bpath = dir.join(format!("b{index}.txt"));
                let w = cast_all(weight, &decimals(&wpath)?, &wpath)?;
                let b = cast_all(bias_format, &decimals(&bpath)?, &bpath)?;
                if w.len() != n_in * n_out || b.len() != *n_out {
                    return Err(import_err(
                        dir,
                        format!(
                            "layer {name}: {} weights and {} biases, expected {} and {n_out}",
                            w.len(),
                            b.len(),
                            n_in * n_out
                        ),
                    ));
                }
                // the files are [in][out]; QNet layers are [out][in]
                let weights = (0..*n_out)
                    .flat_map(|j| (0..*n_in).map(move |i| (i, j)))
                    .map(|(i, j)| w[i * n_out + j])
                    .collect();
                let d = FixedDense {
                    in_features: *n_in,
                    out_features: *n_out,
                    input: prev,
                    weight,
                    bias_format,
                    accum,
                    result,
                    relu: None,
                    weights,
                    bias: b,
                };
                prev = result;
                out.push(d);
            }
            HlsLayer::Relu { index } => {
                let t = types
                    .get(&format!("layer{index}_t"))
                    .copied()
                    .or(if last {
                        types.get("result_t").copied()
                    } else {
                        None
                    })
                    .ok_or_else(|| {
                        import_err(&defines, format!("no type layer{index}_t for the relu"))
                    })?;
                let d = out
                    .last_mut()
                    .filter(|d| d.relu.is_none())
                    .ok_or_else(|| import_err(&params, "a relu must follow a dense layer"))?;
                d.relu = Some(t);
                prev = t;
            }
        }
    }
    let net = QNet {
        name: dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        input: InputQuant {
            format: int_format(input_t),
            scale: (-input_t.frac_bits() as f64).exp2(),
            rounding: input_t.rounding(),
            fixed: Some(input_t),
        },
        layers: out.into_iter().map(Layer::FixedDense).collect(),
    };
    net.validate().map_err(|e| import_err(dir, e.to_string()))?;
    Ok(net)
}

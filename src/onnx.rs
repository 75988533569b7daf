//! A reader for the parts of ONNX files (protobuf, `onnx.proto3`) that quantized networks use:
//! the graph's nodes (op type, domain, inputs, outputs, attributes), its initializers (dense
//! tensors of float, double or integer data, raw or typed) and the names of its inputs and
//! outputs.
//!
//! The protobuf wire format is decoded here, without generated code or a protobuf crate: a field
//! is a varint key (`number << 3 | wire type`) followed by a varint, a fixed 32- or 64-bit value,
//! or a length-delimited payload (strings, bytes, embedded messages, packed repeated scalars).
//! Unknown fields are skipped, as protobuf readers do. Every length is checked against the bytes
//! left, so a truncated or corrupt file is an error naming the byte offset, never a panic.
//!
//! ```
//! // A model whose graph has one node `Relu(x) -> y`.
//! let node = [&[0x0a, 1, b'x'][..], &[0x12, 1, b'y'], &[0x22, 4], b"Relu"].concat();
//! let graph = [&[0x0a, node.len() as u8][..], &node].concat();
//! let model = [&[0x3a, graph.len() as u8][..], &graph].concat();
//! let m = qforge::onnx::ModelProto::decode(&model).unwrap();
//! assert_eq!(m.graph.nodes[0].op_type, "Relu");
//! assert_eq!(m.graph.nodes[0].inputs, ["x"]);
//! ```

use std::collections::BTreeMap;

/// Why bytes are not an ONNX model. Shown on one line: control characters of names read from
/// the file are escaped.
#[derive(Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// Offset in the file where decoding failed.
    pub offset: usize,
    /// What was wrong.
    pub message: String,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "byte {}: ", self.offset)?;
        for c in self.message.chars() {
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for DecodeError {}

/// ONNX `TensorProto.DataType` values this reader takes.
const FLOAT: i32 = 1;
const UINT8: i32 = 2;
const INT8: i32 = 3;
const INT32: i32 = 6;
const INT64: i32 = 7;
const DOUBLE: i32 = 11;

/// A protobuf message's bytes with a cursor; `base` is the message's offset in the file.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    base: usize,
}

/// One field's value as the wire gives it.
enum Value<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    Bytes(&'a [u8], usize),
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8], base: usize) -> Self {
        Reader {
            bytes,
            pos: 0,
            base,
        }
    }

    fn error(&self, message: impl Into<String>) -> DecodeError {
        DecodeError {
            offset: self.base + self.pos,
            message: message.into(),
        }
    }

    fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let Some(&b) = self.bytes.get(self.pos) else {
                return Err(self.error("the file ends inside a number"));
            };
            self.pos += 1;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.error("a number longer than 10 bytes"))
    }

    fn take(&mut self, n: usize) -> Result<(&'a [u8], usize), DecodeError> {
        if n > self.bytes.len() - self.pos {
            return Err(self.error(format!(
                "a field of {n} bytes runs past the end ({} left)",
                self.bytes.len() - self.pos
            )));
        }
        let at = self.base + self.pos;
        let slice = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok((slice, at))
    }

    /// The next field: its number and value, or `None` at the end of the message.
    fn field(&mut self) -> Result<Option<(u64, Value<'a>)>, DecodeError> {
        if self.pos == self.bytes.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let number = key >> 3;
        let value = match key & 7 {
            0 => Value::Varint(self.varint()?),
            1 => {
                let (b, _) = self.take(8)?;
                Value::Fixed64(u64::from_le_bytes(b.try_into().unwrap_or_default()))
            }
            2 => {
                let len = usize::try_from(self.varint()?).unwrap_or(usize::MAX);
                let (b, at) = self.take(len)?;
                Value::Bytes(b, at)
            }
            5 => {
                let (b, _) = self.take(4)?;
                Value::Fixed32(u32::from_le_bytes(b.try_into().unwrap_or_default()))
            }
            w => return Err(self.error(format!("wire type {w} (field {number}) is not supported"))),
        };
        Ok(Some((number, value)))
    }
}

fn string(bytes: &[u8], at: usize) -> Result<String, DecodeError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError {
        offset: at,
        message: "a name that is not UTF-8".into(),
    })
}

/// Repeated scalars, packed (one length-delimited field) or not (one field each).
fn push_scalars<T>(
    value: Value<'_>,
    out: &mut Vec<T>,
    from_bits: impl Fn(u64) -> T,
    width: usize,
) -> Result<(), DecodeError> {
    match value {
        Value::Varint(v) if width == 0 => out.push(from_bits(v)),
        Value::Fixed32(v) if width == 4 => out.push(from_bits(u64::from(v))),
        Value::Fixed64(v) if width == 8 => out.push(from_bits(v)),
        Value::Bytes(b, at) => {
            let mut r = Reader::new(b, at);
            while r.pos < b.len() {
                let bits = match width {
                    0 => r.varint()?,
                    4 => u64::from(u32::from_le_bytes(
                        r.take(4)?.0.try_into().unwrap_or_default(),
                    )),
                    _ => u64::from_le_bytes(r.take(8)?.0.try_into().unwrap_or_default()),
                };
                out.push(from_bits(bits));
            }
        }
        _ => {
            return Err(DecodeError {
                offset: 0,
                message: "a repeated number of the wrong wire type".into(),
            })
        }
    }
    Ok(())
}

/// A dense tensor (`TensorProto`), its data as `f64` whatever the stored type.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TensorProto {
    /// The tensor's name.
    pub name: String,
    /// Its dimensions (empty for a scalar).
    pub dims: Vec<i64>,
    /// The ONNX data type number.
    pub data_type: i32,
    /// The values, row-major, converted exactly to `f64` (64-bit integers beyond 2^53 are
    /// refused).
    pub values: Vec<f64>,
}

impl TensorProto {
    fn decode(bytes: &[u8], base: usize) -> Result<Self, DecodeError> {
        let mut t = TensorProto::default();
        let mut raw: Option<(&[u8], usize)> = None;
        let mut floats: Vec<f32> = Vec::new();
        let mut doubles: Vec<f64> = Vec::new();
        let mut ints: Vec<i64> = Vec::new();
        let mut r = Reader::new(bytes, base);
        while let Some((number, value)) = r.field()? {
            match (number, value) {
                (1, v) => push_scalars(v, &mut t.dims, |b| b as i64, 0)?,
                (2, Value::Varint(v)) => t.data_type = v as i32,
                (4, v) => push_scalars(v, &mut floats, |b| f32::from_bits(b as u32), 4)?,
                // int32_data holds every narrower integer type too, each as a varint.
                (5, v) => push_scalars(v, &mut ints, |b| i64::from(b as i32), 0)?,
                (7, v) => push_scalars(v, &mut ints, |b| b as i64, 0)?,
                (8, Value::Bytes(b, at)) => t.name = string(b, at)?,
                (9, Value::Bytes(b, at)) => raw = Some((b, at)),
                (10, v) => push_scalars(v, &mut doubles, f64::from_bits, 8)?,
                (13, _) => {
                    return Err(r.error("tensor data stored outside the file is not supported"))
                }
                _ => {}
            }
        }
        let count = t
            .dims
            .iter()
            .try_fold(1i64, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| {
                r.error(format!(
                    "tensor `{}` has dimensions {:?}, too many values",
                    t.name, t.dims
                ))
            })?;
        if t.dims.iter().any(|&d| d < 0) {
            return Err(r.error(format!(
                "tensor `{}` has a negative dimension {:?}",
                t.name, t.dims
            )));
        }
        t.values = match (t.data_type, raw) {
            (FLOAT, Some((b, _))) => b
                .chunks_exact(4)
                .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                .collect(),
            (DOUBLE, Some((b, _))) => b
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().unwrap_or_default()))
                .collect(),
            (INT8, Some((b, _))) => b.iter().map(|&x| f64::from(x as i8)).collect(),
            (UINT8, Some((b, _))) => b.iter().map(|&x| f64::from(x)).collect(),
            (INT32, Some((b, _))) => b
                .chunks_exact(4)
                .map(|c| f64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                .collect(),
            (INT64, Some((b, _))) => exact_i64(
                b.chunks_exact(8)
                    .map(|c| i64::from_le_bytes(c.try_into().unwrap_or_default())),
                &t.name,
            )
            .map_err(|m| r.error(m))?,
            (FLOAT, None) => floats.into_iter().map(f64::from).collect(),
            (DOUBLE, None) => doubles,
            (INT8 | UINT8 | INT32 | INT64, None) => {
                exact_i64(ints.into_iter(), &t.name).map_err(|m| r.error(m))?
            }
            (other, _) => {
                return Err(r.error(format!(
                    "tensor `{}` has data type {other}; supported: float, double, int8, uint8, int32, int64",
                    t.name
                )))
            }
        };
        if t.values.len() as i64 != count {
            return Err(r.error(format!(
                "tensor `{}` holds {} values for dimensions {:?}",
                t.name,
                t.values.len(),
                t.dims
            )));
        }
        Ok(t)
    }
}

fn exact_i64(values: impl Iterator<Item = i64>, name: &str) -> Result<Vec<f64>, String> {
    values
        .map(|v| {
            if v.unsigned_abs() <= 1 << 53 {
                Ok(v as f64)
            } else {
                Err(format!("tensor `{name}` holds {v}, beyond 2^53"))
            }
        })
        .collect()
}

/// A node attribute's value.
#[derive(Clone, Debug, PartialEq)]
pub enum Attribute {
    /// `f`.
    Float(f32),
    /// `i`.
    Int(i64),
    /// `s` (as text).
    String(String),
    /// `t`.
    Tensor(TensorProto),
    /// `floats`.
    Floats(Vec<f32>),
    /// `ints`.
    Ints(Vec<i64>),
    /// A graph, sparse tensor or list of those: read past, refused where used.
    Other,
}

/// A graph node (`NodeProto`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeProto {
    /// Node name (may be empty).
    pub name: String,
    /// Operator type, e.g. `Gemm` or `Quant`.
    pub op_type: String,
    /// Operator domain: empty for standard ONNX, e.g. `qonnx.custom_op.general`.
    pub domain: String,
    /// Input tensor names, in order (an empty name is an omitted optional input).
    pub inputs: Vec<String>,
    /// Output tensor names.
    pub outputs: Vec<String>,
    /// Attributes by name.
    pub attributes: BTreeMap<String, Attribute>,
}

impl NodeProto {
    fn decode(bytes: &[u8], base: usize) -> Result<Self, DecodeError> {
        let mut n = NodeProto::default();
        let mut r = Reader::new(bytes, base);
        while let Some((number, value)) = r.field()? {
            match (number, value) {
                (1, Value::Bytes(b, at)) => n.inputs.push(string(b, at)?),
                (2, Value::Bytes(b, at)) => n.outputs.push(string(b, at)?),
                (3, Value::Bytes(b, at)) => n.name = string(b, at)?,
                (4, Value::Bytes(b, at)) => n.op_type = string(b, at)?,
                (7, Value::Bytes(b, at)) => n.domain = string(b, at)?,
                (5, Value::Bytes(b, at)) => {
                    let (name, a) = decode_attribute(b, at)?;
                    n.attributes.insert(name, a);
                }
                _ => {}
            }
        }
        Ok(n)
    }

    /// A display name: the node's name, else its first output.
    pub fn label(&self) -> &str {
        if self.name.is_empty() {
            self.outputs.first().map_or("", String::as_str)
        } else {
            &self.name
        }
    }
}

fn decode_attribute(bytes: &[u8], base: usize) -> Result<(String, Attribute), DecodeError> {
    let mut name = String::new();
    let (mut f, mut i, mut s, mut t) = (None, None, None, None);
    let (mut floats, mut ints) = (Vec::new(), Vec::new());
    let mut kind = 0u64;
    let mut r = Reader::new(bytes, base);
    while let Some((number, value)) = r.field()? {
        match (number, value) {
            (1, Value::Bytes(b, at)) => name = string(b, at)?,
            (2, Value::Fixed32(v)) => f = Some(f32::from_bits(v)),
            (3, Value::Varint(v)) => i = Some(v as i64),
            (4, Value::Bytes(b, at)) => s = Some(string(b, at)?),
            (5, Value::Bytes(b, at)) => t = Some(TensorProto::decode(b, at)?),
            (7, v) => push_scalars(v, &mut floats, |b| f32::from_bits(b as u32), 4)?,
            (8, v) => push_scalars(v, &mut ints, |b| b as i64, 0)?,
            (20, Value::Varint(v)) => kind = v,
            _ => {}
        }
    }
    // AttributeType: FLOAT 1, INT 2, STRING 3, TENSOR 4, FLOATS 6, INTS 7; files without the type
    // (older writers) are read by the field present.
    let value = match kind {
        1 => Attribute::Float(f.unwrap_or(0.0)),
        2 => Attribute::Int(i.unwrap_or(0)),
        3 => Attribute::String(s.unwrap_or_default()),
        4 => t.map_or(Attribute::Other, Attribute::Tensor),
        6 => Attribute::Floats(floats),
        7 => Attribute::Ints(ints),
        0 => match (f, i, s, t) {
            (Some(f), ..) => Attribute::Float(f),
            (_, Some(i), ..) => Attribute::Int(i),
            (_, _, Some(s), _) => Attribute::String(s),
            (_, _, _, Some(t)) => Attribute::Tensor(t),
            _ if !ints.is_empty() => Attribute::Ints(ints),
            _ if !floats.is_empty() => Attribute::Floats(floats),
            _ => Attribute::Other,
        },
        _ => Attribute::Other,
    };
    Ok((name, value))
}

/// A graph (`GraphProto`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GraphProto {
    /// Graph name.
    pub name: String,
    /// Nodes, in the file's order (ONNX requires a topological one).
    pub nodes: Vec<NodeProto>,
    /// Constant tensors, by name.
    pub initializers: BTreeMap<String, TensorProto>,
    /// Names of the graph inputs (initializers may be listed among them too).
    pub inputs: Vec<String>,
    /// The shapes of the graph inputs where given (`None` for a symbolic dimension).
    pub input_shapes: BTreeMap<String, Shape>,
    /// Names of the graph outputs.
    pub outputs: Vec<String>,
}

impl GraphProto {
    fn decode(bytes: &[u8], base: usize) -> Result<Self, DecodeError> {
        let mut g = GraphProto::default();
        let mut r = Reader::new(bytes, base);
        while let Some((number, value)) = r.field()? {
            match (number, value) {
                (1, Value::Bytes(b, at)) => g.nodes.push(NodeProto::decode(b, at)?),
                (2, Value::Bytes(b, at)) => g.name = string(b, at)?,
                (5, Value::Bytes(b, at)) => {
                    let t = TensorProto::decode(b, at)?;
                    g.initializers.insert(t.name.clone(), t);
                }
                (11, Value::Bytes(b, at)) => {
                    let (name, shape) = decode_value_info(b, at)?;
                    if let Some(shape) = shape {
                        g.input_shapes.insert(name.clone(), shape);
                    }
                    g.inputs.push(name);
                }
                (12, Value::Bytes(b, at)) => g.outputs.push(decode_value_info(b, at)?.0),
                _ => {}
            }
        }
        Ok(g)
    }
}

/// A tensor shape: each dimension's size, `None` where it is symbolic.
pub type Shape = Vec<Option<i64>>;

/// `ValueInfoProto`: the name and, for a tensor type with a shape, the dimensions.
fn decode_value_info(bytes: &[u8], base: usize) -> Result<(String, Option<Shape>), DecodeError> {
    let mut name = String::new();
    let mut shape = None;
    let mut r = Reader::new(bytes, base);
    while let Some((number, value)) = r.field()? {
        match (number, value) {
            (1, Value::Bytes(b, at)) => name = string(b, at)?,
            // type (TypeProto) → tensor_type (1) → shape (2) → dim (1) → dim_value (1).
            (2, Value::Bytes(b, at)) => {
                for (tensor, at) in sub_messages(b, at, 1)? {
                    for (shp, at) in sub_messages(tensor, at, 2)? {
                        let mut dims = Vec::new();
                        for (dim, at) in sub_messages(shp, at, 1)? {
                            let mut value = None;
                            let mut d = Reader::new(dim, at);
                            while let Some((n, v)) = d.field()? {
                                if let (1, Value::Varint(x)) = (n, v) {
                                    value = Some(x as i64);
                                }
                            }
                            dims.push(value);
                        }
                        shape = Some(dims);
                    }
                }
            }
            _ => {}
        }
    }
    Ok((name, shape))
}

/// The payloads of the length-delimited fields numbered `number` of a message.
fn sub_messages(
    bytes: &[u8],
    base: usize,
    number: u64,
) -> Result<Vec<(&[u8], usize)>, DecodeError> {
    let mut out = Vec::new();
    let mut r = Reader::new(bytes, base);
    while let Some((n, v)) = r.field()? {
        if let (true, Value::Bytes(b, at)) = (n == number, v) {
            out.push((b, at));
        }
    }
    Ok(out)
}

/// A model (`ModelProto`): its graph and the operator sets it imports.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelProto {
    /// The producer's name (e.g. `pytorch`, `brevitas`).
    pub producer_name: String,
    /// The graph.
    pub graph: GraphProto,
}

impl ModelProto {
    /// Decodes a whole `.onnx` file.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut m = ModelProto::default();
        let mut graph = None;
        let mut r = Reader::new(bytes, 0);
        while let Some((number, value)) = r.field()? {
            match (number, value) {
                (2, Value::Bytes(b, at)) => m.producer_name = string(b, at)?,
                (7, Value::Bytes(b, at)) => graph = Some(GraphProto::decode(b, at)?),
                _ => {}
            }
        }
        m.graph = graph.ok_or_else(|| DecodeError {
            offset: bytes.len(),
            message: "no graph: not an ONNX model".into(),
        })?;
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(number: u8, payload: &[u8]) -> Vec<u8> {
        [&[number << 3 | 2, payload.len() as u8][..], payload].concat()
    }

    #[test]
    fn tensors_read_raw_and_typed_data_alike() {
        // dims [2], FLOAT, raw little-endian 1.5 and -2.0
        let raw = [1.5f32.to_le_bytes(), (-2.0f32).to_le_bytes()].concat();
        let t = [&[0x08, 2, 0x10, 1][..], &field(8, b"w"), &field(9, &raw)].concat();
        let t = TensorProto::decode(&t, 0).unwrap();
        assert_eq!((t.name.as_str(), t.values.clone()), ("w", vec![1.5, -2.0]));
        // dims [3], INT64 in int64_data (packed varints, -1 as ten bytes)
        let mut packed = vec![5u8, 0x7f];
        packed.extend([0xff; 9]);
        packed.push(0x01);
        let t = [&[0x08, 3, 0x10, 7][..], &field(7, &packed)].concat();
        assert_eq!(
            TensorProto::decode(&t, 0).unwrap().values,
            [5.0, 127.0, -1.0]
        );
    }

    #[test]
    fn truncated_and_inconsistent_input_is_an_error_with_its_offset() {
        let err = ModelProto::decode(&[0x3a, 10, 1, 2]).unwrap_err();
        assert_eq!(err.offset, 2);
        assert!(err.message.contains("runs past the end"), "{err}");
        assert!(ModelProto::decode(&[])
            .unwrap_err()
            .message
            .contains("no graph"));
        // dims [3] but two floats
        let t = [&[0x08, 3, 0x10, 1][..], &field(9, &[0; 8])].concat();
        let err = TensorProto::decode(&t, 0).unwrap_err();
        assert!(err.message.contains("holds 2 values"), "{err}");
        // dimensions whose product overflows i64
        let dims: Vec<u8> = [
            &[0x08][..],
            &[0xff, 0xff, 0xff, 0xff, 0x0f],
            &[0x08],
            &[0xff, 0xff, 0xff, 0xff, 0x0f],
            &[0x08],
            &[0xff, 0xff, 0xff, 0xff, 0x0f],
        ]
        .concat();
        let t = [&dims[..], &[0x10, 1]].concat();
        let err = TensorProto::decode(&t, 0).unwrap_err();
        assert!(err.message.contains("too many values"), "{err}");
        // a group (wire type 3)
        assert!(ModelProto::decode(&[0x0b])
            .unwrap_err()
            .message
            .contains("wire type 3"));
    }
}

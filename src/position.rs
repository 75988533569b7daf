//! Positions of values in RON text, for `file:line:col` messages.
//!
//! Every RON file a user writes (float and integer models, quantization specs, architecture
//! files, area coefficients) is parsed by serde, which knows where a syntax error is but not
//! where a value that parses yet breaks a rule was written. A check names the value by its
//! [`ValuePath`] (`layers[1].pe`), and the caller holding the file's text turns the path into
//! the line and column of the value with [`locate`]. One walker serves every file kind.
//!
//! ```
//! use qforge::position::{locate, ValuePath};
//! let text = "ArchSpec(\n  folding: explicit,\n  layers: [(index: 0, pe: 4), (index: 1, pe: 3)],\n)";
//! let path = ValuePath::field("layers").index(1).then_field("pe");
//! assert_eq!(locate(text, &path), Some((3, 46)));
//! assert_eq!(path.to_string(), "layers[1].pe");
//! ```

use std::fmt;

/// The RON options files with optional values are read with: RON's implicit `Some`, so an
/// optional value is written as itself (`pe: 4`, `prune: (sparsity: 0.5)`) or as `Some(..)`.
pub fn ron_options() -> ron::Options {
    ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
}

/// One step into a RON value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// A named field of a struct (`name: value`), searched through newtype wrappers such as
    /// `uniform((bits: 8))`.
    Field(&'static str),
    /// An element of a list or tuple (0-based).
    Index(usize),
    /// The value of a map entry whose key is this string (`{"key": value}`).
    Key(String),
}

/// A path from a file's top-level value to one value inside it, e.g. `layers[1].pe`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ValuePath(Vec<Step>);

impl ValuePath {
    /// The file's top-level value.
    pub fn root() -> ValuePath {
        ValuePath(Vec::new())
    }

    /// The top-level field `name`.
    pub fn field(name: &'static str) -> ValuePath {
        ValuePath(vec![Step::Field(name)])
    }

    /// This path, then element `i`.
    pub fn index(mut self, i: usize) -> ValuePath {
        self.0.push(Step::Index(i));
        self
    }

    /// This path, then field `name`.
    pub fn then_field(mut self, name: &'static str) -> ValuePath {
        self.0.push(Step::Field(name));
        self
    }

    /// This path, then the map entry with key `key`.
    pub fn key(mut self, key: impl Into<String>) -> ValuePath {
        self.0.push(Step::Key(key.into()));
        self
    }

    /// This path, then the steps of `rest` (a path relative to the value this one names).
    pub fn join(mut self, rest: ValuePath) -> ValuePath {
        self.0.extend(rest.0);
        self
    }

    /// The steps.
    pub fn steps(&self) -> &[Step] {
        &self.0
    }
}

impl fmt::Display for ValuePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (k, step) in self.0.iter().enumerate() {
            match step {
                Step::Field(name) if k == 0 => write!(f, "{name}")?,
                Step::Field(name) => write!(f, ".{name}")?,
                Step::Index(i) => write!(f, "[{i}]")?,
                Step::Key(key) => write!(f, "[\"{key}\"]")?,
            }
        }
        Ok(())
    }
}

/// 1-based line and column (in characters) of byte offset `pos` in `text`.
pub fn line_col(text: &str, pos: usize) -> (usize, usize) {
    let pos = pos.min(text.len());
    let before = &text[..pos];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// The 1-based line and column of the first character of the value at `path` in RON `text`,
/// or `None` if the text has no such value (a field left out for its default, say).
pub fn locate(text: &str, path: &ValuePath) -> Option<(usize, usize)> {
    let doc = Doc::new(text);
    let (_, start) = doc.walk(path)?;
    Some(line_col(text, doc.code[start].0))
}

/// The 1-based line and column of the field name that the last step of `path` names (the
/// `input_shape` of `input_shape: [0]`), or of the value when the last step is no field.
pub fn locate_key(text: &str, path: &ValuePath) -> Option<(usize, usize)> {
    let doc = Doc::new(text);
    let (key, _) = doc.walk(path)?;
    Some(line_col(text, doc.code[key].0))
}

/// The position of the value at `path`, or of its nearest enclosing value the text holds (a
/// field left out for its default is reported where its struct starts); `(1, 1)` for a text
/// without code.
pub fn locate_nearest(text: &str, path: &ValuePath) -> (usize, usize) {
    let steps = path.steps();
    (0..=steps.len())
        .rev()
        .find_map(|n| locate(text, &ValuePath(steps[..n].to_vec())))
        .unwrap_or((1, 1))
}

/// A RON file's name and text, kept to report a value's `name:line:col` after the file is
/// parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// The file name as given.
    pub name: String,
    /// Its text.
    pub text: String,
}

impl Source {
    /// A text and the name it is reported under.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Source {
        Source {
            name: name.into(),
            text: text.into(),
        }
    }

    /// Reads a file.
    pub fn read(path: &std::path::Path) -> std::io::Result<Source> {
        Ok(Source::new(
            path.display().to_string(),
            std::fs::read_to_string(path)?,
        ))
    }

    /// `(line, col)` of the value at `path` (see [`locate_nearest`]).
    pub fn position(&self, path: &ValuePath) -> (usize, usize) {
        locate_nearest(&self.text, path)
    }
}

/// The RON code of a text: its characters outside comments, with string contents left out
/// (a string is its opening quote).
struct Doc<'t> {
    text: &'t str,
    code: Vec<(usize, char)>,
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

impl<'t> Doc<'t> {
    fn new(text: &'t str) -> Self {
        let mut code = Vec::new();
        let mut it = text.char_indices().peekable();
        while let Some((i, c)) = it.next() {
            match c {
                '/' if matches!(it.peek(), Some((_, '/'))) => {
                    for (_, c) in it.by_ref() {
                        if c == '\n' {
                            break;
                        }
                    }
                }
                '/' if matches!(it.peek(), Some((_, '*'))) => {
                    it.next();
                    let mut prev = ' ';
                    for (_, c) in it.by_ref() {
                        if prev == '*' && c == '/' {
                            break;
                        }
                        prev = c;
                    }
                }
                '"' => {
                    code.push((i, c));
                    let mut escaped = false;
                    for (_, c) in it.by_ref() {
                        if !escaped && c == '"' {
                            break;
                        }
                        escaped = !escaped && c == '\\';
                    }
                }
                _ => code.push((i, c)),
            }
        }
        Doc { text, code }
    }

    /// The code indices of the last step's field name (the value's own index when the step is
    /// no field) and of the value at `path`.
    fn walk(&self, path: &ValuePath) -> Option<(usize, usize)> {
        let mut start = self.first_from(0)?;
        let mut key = start;
        for step in path.steps() {
            let end = self.value_end(start);
            (key, start) = match step {
                Step::Field(name) => self.field(start, end, name)?,
                Step::Index(i) => {
                    let j = self.element(start, end, *i)?;
                    (j, j)
                }
                Step::Key(k) => {
                    let j = self.map_value(start, end, k)?;
                    (j, j)
                }
            };
        }
        Some((key, start))
    }

    /// The first non-blank code index at or after `k`.
    fn first_from(&self, k: usize) -> Option<usize> {
        (k..self.code.len()).find(|&j| !self.code[j].1.is_whitespace())
    }

    /// The end (exclusive) of the value starting at `start`: the `,` or closing bracket that
    /// ends it at its own depth.
    fn value_end(&self, start: usize) -> usize {
        let mut depth = 0usize;
        for j in start..self.code.len() {
            match self.code[j].1 {
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' if depth == 0 => return j,
                ')' | ']' | '}' => depth -= 1,
                ',' if depth == 0 => return j,
                _ => {}
            }
        }
        self.code.len()
    }

    /// Whether the identifier `word` starts at code index `j`.
    fn word_at(&self, j: usize, word: &str) -> bool {
        let rest = &self.text[self.code[j].0..];
        let before_ok = j == 0 || !is_ident(self.code[j - 1].1);
        before_ok
            && rest.starts_with(word)
            && rest[word.len()..]
                .chars()
                .next()
                .is_none_or(|c| !is_ident(c))
    }

    /// The code index just after `key` starting at `j` and the `:` that follows it, if one does.
    fn after_colon(&self, j: usize, key_len: usize) -> Option<usize> {
        let end = self.code[j].0 + key_len;
        let k = (j..self.code.len()).find(|&k| self.code[k].0 >= end)?;
        let colon = self.first_from(k)?;
        let is_path = self.code.get(colon + 1).is_some_and(|&(_, c)| c == ':');
        (self.code[colon].1 == ':' && !is_path).then(|| colon + 1)
    }

    /// The name and the value of field `name` inside `start..end`: the shallowest `name:`
    /// (newtype wrappers such as `uniform((bits: 8))` put fields one level deeper).
    fn field(&self, start: usize, end: usize, name: &str) -> Option<(usize, usize)> {
        let mut depth = 0usize;
        let mut best: Option<(usize, usize, usize)> = None;
        for j in start..end {
            match self.code[j].1 {
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => depth = depth.saturating_sub(1),
                _ if depth >= 1
                    && self.word_at(j, name)
                    && best.is_none_or(|(d, _, _)| depth < d) =>
                {
                    if let Some(after) = self.after_colon(j, name.len()) {
                        best = Some((depth, j, after));
                    }
                }
                _ => {}
            }
        }
        let (_, key, after) = best?;
        Some((key, self.first_from(after)?))
    }

    /// The start of element `index` of the first list or tuple in `start..end`.
    fn element(&self, start: usize, end: usize, index: usize) -> Option<usize> {
        let open = (start..end).find(|&j| matches!(self.code[j].1, '(' | '['))?;
        let mut j = self.first_from(open + 1)?;
        for _ in 0..index {
            let e = self.value_end(j);
            if e >= end || self.code[e].1 != ',' {
                return None;
            }
            j = self.first_from(e + 1)?;
        }
        (j < end && !matches!(self.code[j].1, ')' | ']')).then_some(j)
    }

    /// The value of the map entry keyed `key` (quoted or not) of the first map in `start..end`.
    fn map_value(&self, start: usize, end: usize, key: &str) -> Option<usize> {
        let open = (start..end).find(|&j| self.code[j].1 == '{')?;
        let quoted = format!("\"{key}\"");
        let mut j = self.first_from(open + 1)?;
        while j < end && self.code[j].1 != '}' {
            let (i, _) = self.code[j];
            let len = if self.text[i..].starts_with(&quoted) {
                Some(quoted.len())
            } else if self.word_at(j, key) {
                Some(key.len())
            } else {
                None
            };
            if let Some(after) = len.and_then(|n| self.after_colon(j, n)) {
                return self.first_from(after);
            }
            let e = self.value_end(j);
            if e >= end || self.code[e].1 != ',' {
                return None;
            }
            j = self.first_from(e + 1)?;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = "// a spec\nQuantSpec(\n    weights: (\n        scheme: uniform((bits: 8, signed: true)),\n        clipping: min_max,\n    ),\n    /* scale_bits: 1 */ rounding: half_even,\n    scale_bits: 40,\n    layers: [\n        (index: 0, activations: (bits: 4, clipping: mse)),\n        (index: 7),\n    ],\n)\n";

    #[test]
    fn fields_at_the_top_and_through_newtype_wrappers() {
        assert_eq!(
            locate(SPEC, &ValuePath::field("scale_bits")),
            Some((8, 17)),
            "the commented-out key is skipped"
        );
        let bits = ValuePath::field("weights")
            .then_field("scheme")
            .then_field("bits");
        assert_eq!(locate(SPEC, &bits), Some((4, 32)));
        assert_eq!(locate(SPEC, &ValuePath::field("weights")), Some((3, 14)));
    }

    #[test]
    fn keys_are_found_where_their_name_starts() {
        assert_eq!(
            locate_key(SPEC, &ValuePath::field("scale_bits")),
            Some((8, 5))
        );
        let second = ValuePath::field("layers").index(1);
        assert_eq!(locate_key(SPEC, &second), locate(SPEC, &second));
    }

    #[test]
    fn list_elements_and_their_fields() {
        let second = ValuePath::field("layers").index(1);
        assert_eq!(locate(SPEC, &second), Some((11, 9)));
        assert_eq!(locate(SPEC, &second.then_field("index")), Some((11, 17)));
        let act = ValuePath::field("layers")
            .index(0)
            .then_field("activations")
            .then_field("bits");
        assert_eq!(locate(SPEC, &act), Some((10, 40)));
        assert_eq!(locate(SPEC, &ValuePath::field("layers").index(2)), None);
    }

    #[test]
    fn absent_values_are_none_and_the_root_is_the_first_code() {
        assert_eq!(locate(SPEC, &ValuePath::field("accumulator")), None);
        assert_eq!(locate(SPEC, &ValuePath::root()), Some((2, 1)));
        assert_eq!(
            locate(
                SPEC,
                &ValuePath::field("layers").index(0).then_field("weights")
            ),
            None
        );
    }

    #[test]
    fn a_value_left_out_is_reported_at_its_struct() {
        let path = ValuePath::field("layers")
            .index(1)
            .then_field("activations");
        assert_eq!(locate_nearest(SPEC, &path), (11, 9));
        assert_eq!(locate_nearest("", &path), (1, 1));
    }

    #[test]
    fn map_entries_by_quoted_key() {
        let text = "(\n  version: 1,\n  kinds: {\n    \"pe_a\": (luts: [1.0]),\n    \"pe_b\": (luts: [2.0, 3.0]),\n  },\n)";
        let path = ValuePath::field("kinds").key("pe_b").then_field("luts");
        assert_eq!(locate(text, &path), Some((5, 20)));
        assert_eq!(path.to_string(), "kinds[\"pe_b\"].luts");
    }

    #[test]
    fn strings_holding_keys_do_not_match() {
        let text = "Model(name: \"input_shape: [1]\", input_shape: [64])";
        assert_eq!(
            locate(text, &ValuePath::field("input_shape")),
            Some((1, 46))
        );
    }
}

//! A typed Verilog IR: every expression knows its width and signedness, and the printer emits
//! plain, deterministic Verilog-2005.
//!
//! The IR exists so that generated Verilog is right by construction rather than by inspection:
//!
//! * every [`Expr`] carries a [`Ty`] (width ≥ 1 and signedness), checked when the expression is
//!   built: adding an 8-bit value to a 9-bit one, or a signed to an unsigned one, is an
//!   [`HdlError::Mismatch`] naming both operands, never an implicit Verilog extension;
//! * widening and narrowing are explicit ([`Expr::sext`], [`Expr::zext`], [`Expr::extend`],
//!   [`Expr::trunc`]), and so are reinterpretations ([`Expr::as_signed`], [`Expr::as_unsigned`]);
//! * a [`Module`] is built through a [`ModuleBuilder`] that checks names, drivers and instance
//!   connections, and [`print_module`] lowers what Verilog-2005 cannot write directly (slices of
//!   expressions, products whose width differs from their operands') into named wires.
//!
//! ```
//! use qforge::hdl::{print_module, Expr, ModuleBuilder, Ty};
//! let mut m = ModuleBuilder::new("qf_example_add", &["unit: example"]).unwrap();
//! let a = m.input("a", Ty::signed(8)).unwrap();
//! let b = m.input("b", Ty::signed(8)).unwrap();
//! // a + b at 9 bits: both operands are sign-extended explicitly.
//! let sum = a.sext(9).unwrap().add(&b.sext(9).unwrap()).unwrap();
//! m.output("y", sum).unwrap();
//! // a 9-bit value cannot be added to an 8-bit one:
//! assert!(a.sext(9).unwrap().add(&b).is_err());
//! let text = print_module(&m.finish().unwrap());
//! assert!(text.contains("module qf_example_add"));
//! ```

mod bits;
mod expr;
mod module;
mod print;
pub mod vectors;

pub use bits::Bits;
pub use expr::{BinOp, Expr, Node, UnOp};
pub use module::{Dir, Item, MemoryWrite, Module, ModuleBuilder, Port};
pub use print::{print_module, HEADER_PREFIX};

use std::fmt;

/// The type of a Verilog expression: its width in bits and whether it is signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ty {
    /// Width in bits, at least 1.
    pub width: u32,
    /// Whether the value is two's complement.
    pub signed: bool,
}

impl Ty {
    /// A signed type of `width` bits.
    pub fn signed(width: u32) -> Ty {
        Ty {
            width,
            signed: true,
        }
    }

    /// An unsigned type of `width` bits.
    pub fn unsigned(width: u32) -> Ty {
        Ty {
            width,
            signed: false,
        }
    }

    /// The one-bit unsigned type of conditions and flags.
    pub fn bit() -> Ty {
        Ty::unsigned(1)
    }

    /// The same signedness with the given width.
    pub fn with_width(self, width: u32) -> Ty {
        Ty { width, ..self }
    }

    /// The same width with the given signedness.
    pub fn with_signed(self, signed: bool) -> Ty {
        Ty { signed, ..self }
    }
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = if self.signed { "signed" } else { "unsigned" };
        write!(f, "{}-bit {s}", self.width)
    }
}

/// An expression or module that would not mean what it says in Verilog.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HdlError {
    /// Two operands of an operation have different types.
    #[error("{op}: operand types differ: left is {left}, right is {right}")]
    Mismatch {
        /// The operation.
        op: &'static str,
        /// The left operand's type.
        left: Ty,
        /// The right operand's type.
        right: Ty,
    },
    /// An operand has a type the operation does not accept.
    #[error("{op}: operand is {ty}, {rule}")]
    BadOperand {
        /// The operation.
        op: &'static str,
        /// The operand's type.
        ty: Ty,
        /// What the operation needs.
        rule: &'static str,
    },
    /// A width outside what the operation allows.
    #[error("{what}: width {width} {rule}")]
    BadWidth {
        /// What the width is for.
        what: &'static str,
        /// The width asked for.
        width: u64,
        /// The rule it breaks.
        rule: String,
    },
    /// A constant does not fit its type.
    #[error("constant {value} does not fit a {ty} value")]
    ConstantRange {
        /// The value.
        value: i128,
        /// The type it was meant to have.
        ty: Ty,
    },
    /// A slice outside its operand.
    #[error("slice [{hi}:{lo}] is outside a {ty} value")]
    BadSlice {
        /// Upper bit.
        hi: u32,
        /// Lower bit.
        lo: u32,
        /// The operand's type.
        ty: Ty,
    },
    /// A name that is not a plain Verilog identifier or is reserved.
    #[error("name `{0}` is not a plain identifier (letters, digits, `_`, not starting with a digit, not a keyword)")]
    BadName(String),
    /// A name declared twice in one module.
    #[error("name `{0}` is declared twice")]
    Duplicate(String),
    /// A signal driven twice, never driven, or unknown.
    #[error("{what} `{name}` {rule}")]
    Driver {
        /// Kind of signal.
        what: &'static str,
        /// Its name.
        name: String,
        /// What is wrong.
        rule: &'static str,
    },
    /// Hexadecimal text that is not a value of the width asked for.
    #[error("`{text}` {rule}")]
    Hex {
        /// The text.
        text: String,
        /// What is wrong.
        rule: String,
    },
    /// An instance connection that does not match the instantiated module's port.
    #[error("instance `{instance}` port `{port}`: {rule}")]
    Connection {
        /// The instance name.
        instance: String,
        /// The port.
        port: String,
        /// What is wrong.
        rule: String,
    },
}

/// Checks that `name` is a plain Verilog identifier and not a keyword.
pub fn check_name(name: &str) -> Result<(), HdlError> {
    const KEYWORDS: &[&str] = &[
        "always",
        "and",
        "assign",
        "begin",
        "buf",
        "case",
        "casex",
        "casez",
        "default",
        "else",
        "end",
        "endcase",
        "endfunction",
        "endgenerate",
        "endmodule",
        "for",
        "function",
        "generate",
        "genvar",
        "if",
        "initial",
        "inout",
        "input",
        "integer",
        "localparam",
        "module",
        "nand",
        "negedge",
        "nor",
        "not",
        "or",
        "output",
        "parameter",
        "posedge",
        "reg",
        "signed",
        "unsigned",
        "wire",
        "xnor",
        "xor",
        "logic",
        "bit",
        "byte",
        "int",
        "do",
        "final",
        "string",
        "type",
        "var",
        "void",
    ];
    let mut chars = name.chars();
    let ok = match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {
            chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        _ => false,
    };
    if !ok || KEYWORDS.contains(&name) {
        return Err(HdlError::BadName(name.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests;

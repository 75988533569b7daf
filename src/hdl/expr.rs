//! Typed expressions. Every constructor checks its operands and returns the result's type.

use super::{Bits, HdlError, Ty};

/// Unary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnOp {
    /// Bitwise complement `~x` (same type).
    Not,
    /// Two's complement negation `-x` (same type, wraps).
    Neg,
    /// AND reduction `&x` (1-bit unsigned).
    ReduceAnd,
    /// OR reduction `|x` (1-bit unsigned).
    ReduceOr,
    /// XOR reduction `^x` (1-bit unsigned).
    ReduceXor,
}

/// Binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    /// `a + b`, same types, wraps at the operands' width.
    Add,
    /// `a - b`, same types, wraps at the operands' width.
    Sub,
    /// `a * b`, same signedness, full product of width `a + b`.
    Mul,
    /// `a & b`.
    And,
    /// `a | b`.
    Or,
    /// `a ^ b`.
    Xor,
    /// `a ~^ b`.
    Xnor,
    /// `a == b` (1-bit unsigned).
    Eq,
    /// `a != b` (1-bit unsigned).
    Ne,
    /// `a < b`, signed if the operands are (1-bit unsigned).
    Lt,
    /// `a <= b`.
    Le,
    /// `a > b`.
    Gt,
    /// `a >= b`.
    Ge,
    /// `a << b`, `b` an unsigned amount; the type of `a`.
    Shl,
    /// `a >> b` for unsigned `a`, `a >>> b` for signed `a` (arithmetic); the type of `a`.
    Shr,
}

impl BinOp {
    /// The Verilog operator.
    pub fn symbol(self, signed_left: bool) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::And => "&",
            BinOp::Or => "|",
            BinOp::Xor => "^",
            BinOp::Xnor => "~^",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Shl => {
                if signed_left {
                    "<<<"
                } else {
                    "<<"
                }
            }
            BinOp::Shr => {
                if signed_left {
                    ">>>"
                } else {
                    ">>"
                }
            }
        }
    }

    fn name(self) -> &'static str {
        match self {
            BinOp::Add => "add",
            BinOp::Sub => "sub",
            BinOp::Mul => "mul",
            BinOp::And => "and",
            BinOp::Or => "or",
            BinOp::Xor => "xor",
            BinOp::Xnor => "xnor",
            BinOp::Eq => "eq",
            BinOp::Ne => "ne",
            BinOp::Lt => "lt",
            BinOp::Le => "le",
            BinOp::Gt => "gt",
            BinOp::Ge => "ge",
            BinOp::Shl => "shl",
            BinOp::Shr => "shr",
        }
    }
}

/// The shape of an expression.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Node {
    /// A named signal (port, wire or register) of the enclosing module.
    Signal(String),
    /// A constant.
    Const(Bits),
    /// A unary operation.
    Unary(UnOp, Box<Expr>),
    /// A binary operation.
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `cond ? then : else`.
    Mux(Box<Expr>, Box<Expr>, Box<Expr>),
    /// Concatenation, most significant part first (as written in Verilog).
    Concat(Vec<Expr>),
    /// `{n{x}}`.
    Repeat(u32, Box<Expr>),
    /// `x[hi:lo]`.
    Slice(Box<Expr>, u32, u32),
    /// `$signed(x)` / `$unsigned(x)`: the same bits read with another signedness.
    Cast(Box<Expr>),
    /// The operand widened to the node's width, keeping its signedness: with `true` by
    /// copies of its top bit (sign extension), with `false` by zeros. Held once, so a tree of
    /// extensions (an adder tree) stays as large as its operands; the printer writes it as
    /// `{{k{x[msb]}}, x}` or `{k'h0, x}`, the operand in a wire when it must be read twice.
    Extend(Box<Expr>, bool),
}

/// A typed expression. Build with the constructors and methods below; each checks its operands.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Expr {
    ty: Ty,
    node: Node,
}

fn same(op: &'static str, a: &Expr, b: &Expr) -> Result<(), HdlError> {
    if a.ty != b.ty {
        return Err(HdlError::Mismatch {
            op,
            left: a.ty,
            right: b.ty,
        });
    }
    Ok(())
}

fn check_width(what: &'static str, width: u64) -> Result<u32, HdlError> {
    if width == 0 || width > 65_536 {
        return Err(HdlError::BadWidth {
            what,
            width,
            rule: "must be between 1 and 65536".into(),
        });
    }
    Ok(width as u32)
}

impl Expr {
    /// The expression's type.
    pub fn ty(&self) -> Ty {
        self.ty
    }

    /// Its width in bits.
    pub fn width(&self) -> u32 {
        self.ty.width
    }

    /// Whether it is signed.
    pub fn is_signed(&self) -> bool {
        self.ty.signed
    }

    /// Its shape.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// Calls `f` with the name of every signal the expression reads.
    pub fn for_each_signal(&self, f: &mut dyn FnMut(&str)) {
        match &self.node {
            Node::Signal(n) => f(n),
            Node::Const(_) => {}
            Node::Unary(_, a)
            | Node::Repeat(_, a)
            | Node::Slice(a, _, _)
            | Node::Cast(a)
            | Node::Extend(a, _) => a.for_each_signal(f),
            Node::Binary(_, a, b) => {
                a.for_each_signal(f);
                b.for_each_signal(f);
            }
            Node::Mux(c, a, b) => {
                c.for_each_signal(f);
                a.for_each_signal(f);
                b.for_each_signal(f);
            }
            Node::Concat(parts) => parts.iter().for_each(|p| p.for_each_signal(f)),
        }
    }

    /// A reference to a signal of type `ty`. Modules hand these out for their ports, wires and
    /// registers; build signal references through them rather than here.
    pub(crate) fn signal(name: &str, ty: Ty) -> Expr {
        Expr {
            ty,
            node: Node::Signal(name.to_string()),
        }
    }

    /// Reassembles an expression from a type and a shape whose operands have the same types
    /// as before (the printer's lowering only swaps operands for signals of their type).
    pub(crate) fn rebuild(ty: Ty, node: Node) -> Expr {
        Expr { ty, node }
    }

    /// Its shape, by value.
    pub(crate) fn into_node(self) -> Node {
        self.node
    }

    /// A constant from its bits, signed or not.
    pub fn constant(bits: Bits, signed: bool) -> Expr {
        Expr {
            ty: Ty {
                width: bits.width(),
                signed,
            },
            node: Node::Const(bits),
        }
    }

    /// An integer constant of type `ty`; an error if it does not fit.
    pub fn int(ty: Ty, value: i128) -> Result<Expr, HdlError> {
        check_width("constant", u64::from(ty.width))?;
        let bits = if ty.signed {
            Bits::from_signed(ty.width, value)?
        } else {
            let v = u128::try_from(value).map_err(|_| HdlError::ConstantRange { value, ty })?;
            Bits::from_unsigned(ty.width, v)?
        };
        Ok(Expr::constant(bits, ty.signed))
    }

    /// A zero of type `ty`.
    pub fn zero(ty: Ty) -> Result<Expr, HdlError> {
        Expr::int(ty, 0)
    }

    fn unary(&self, op: UnOp) -> Expr {
        let ty = match op {
            UnOp::Not | UnOp::Neg => self.ty,
            _ => Ty::bit(),
        };
        Expr {
            ty,
            node: Node::Unary(op, Box::new(self.clone())),
        }
    }

    fn binary(&self, op: BinOp, rhs: &Expr) -> Result<Expr, HdlError> {
        let ty = match op {
            BinOp::Add | BinOp::Sub | BinOp::And | BinOp::Or | BinOp::Xor | BinOp::Xnor => {
                same(op.name(), self, rhs)?;
                self.ty
            }
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                same(op.name(), self, rhs)?;
                Ty::bit()
            }
            BinOp::Mul => {
                if self.ty.signed != rhs.ty.signed {
                    return Err(HdlError::Mismatch {
                        op: "mul",
                        left: self.ty,
                        right: rhs.ty,
                    });
                }
                Ty {
                    width: check_width(
                        "product",
                        u64::from(self.width()) + u64::from(rhs.width()),
                    )?,
                    signed: self.ty.signed,
                }
            }
            BinOp::Shl | BinOp::Shr => {
                if rhs.ty.signed {
                    return Err(HdlError::BadOperand {
                        op: op.name(),
                        ty: rhs.ty,
                        rule: "a shift amount must be unsigned",
                    });
                }
                self.ty
            }
        };
        Ok(Expr {
            ty,
            node: Node::Binary(op, Box::new(self.clone()), Box::new(rhs.clone())),
        })
    }

    /// `self + rhs` (same types; wraps at their width — extend first for a carry).
    pub fn add(&self, rhs: &Expr) -> Result<Expr, HdlError> {
        self.binary(BinOp::Add, rhs)
    }

    /// `self - rhs` (same types; wraps).
    pub fn sub(&self, rhs: &Expr) -> Result<Expr, HdlError> {
        self.binary(BinOp::Sub, rhs)
    }

    /// The full product, `self.width() + rhs.width()` bits wide (same signedness).
    pub fn mul(&self, rhs: &Expr) -> Result<Expr, HdlError> {
        self.binary(BinOp::Mul, rhs)
    }

    /// The product modulo `2^width`, for a `width` between the wider operand's width and the
    /// full product's: use it when the product is known to fit fewer bits than the full width,
    /// so no unused product bits are built.
    pub fn mul_wrapping(&self, rhs: &Expr, width: u32) -> Result<Expr, HdlError> {
        let full = self.mul(rhs)?;
        let lo = self.width().max(rhs.width());
        if width < lo || width > full.width() {
            return Err(HdlError::BadWidth {
                what: "product",
                width: u64::from(width),
                rule: format!("must be between {lo} and {}", full.width()),
            });
        }
        Ok(Expr {
            ty: full.ty.with_signed(self.ty.signed).with_width(width),
            node: full.node,
        })
    }

    /// Bitwise AND (same types).
    pub fn and(&self, rhs: &Expr) -> Result<Expr, HdlError> {
        self.binary(BinOp::And, rhs)
    }

    /// Bitwise OR (same types).
    pub fn or(&self, rhs: &Expr) -> Result<Expr, HdlError> {
        self.binary(BinOp::Or, rhs)
    }

    /// Bitwise XOR (same types).
    pub fn xor(&self, rhs: &Expr) -> Result<Expr, HdlError> {
        self.binary(BinOp::Xor, rhs)
    }

    /// Bitwise XNOR (same types).
    pub fn xnor(&self, rhs: &Expr) -> Result<Expr, HdlError> {
        self.binary(BinOp::Xnor, rhs)
    }

    /// `self == rhs` (same types).
    pub fn eq(&self, rhs: &Expr) -> Result<Expr, HdlError> {
        self.binary(BinOp::Eq, rhs)
    }

    /// `self != rhs` (same types).
    pub fn ne(&self, rhs: &Expr) -> Result<Expr, HdlError> {
        self.binary(BinOp::Ne, rhs)
    }

    /// `self < rhs` (same types; signed comparison if signed).
    pub fn lt(&self, rhs: &Expr) -> Result<Expr, HdlError> {
        self.binary(BinOp::Lt, rhs)
    }

    /// `self <= rhs`.
    pub fn le(&self, rhs: &Expr) -> Result<Expr, HdlError> {
        self.binary(BinOp::Le, rhs)
    }

    /// `self > rhs`.
    pub fn gt(&self, rhs: &Expr) -> Result<Expr, HdlError> {
        self.binary(BinOp::Gt, rhs)
    }

    /// `self >= rhs`.
    pub fn ge(&self, rhs: &Expr) -> Result<Expr, HdlError> {
        self.binary(BinOp::Ge, rhs)
    }

    /// Variable left shift by an unsigned amount, keeping the width (bits shifted out are lost).
    pub fn shl(&self, amount: &Expr) -> Result<Expr, HdlError> {
        self.binary(BinOp::Shl, amount)
    }

    /// Variable right shift by an unsigned amount: arithmetic if signed, logical if not.
    pub fn shr(&self, amount: &Expr) -> Result<Expr, HdlError> {
        self.binary(BinOp::Shr, amount)
    }

    /// Constant left shift that keeps every bit: the result is `width + k` bits wide, same
    /// signedness (a wired shift: `{x, k'b0}`).
    pub fn shl_const(&self, k: u32) -> Result<Expr, HdlError> {
        if k == 0 {
            return Ok(self.clone());
        }
        let zeros = Expr::zero(Ty::unsigned(k))?;
        let wide = Expr::concat(&[self.as_unsigned(), zeros])?;
        Ok(wide.with_signedness(self.ty.signed))
    }

    /// Bitwise complement.
    pub fn not(&self) -> Expr {
        self.unary(UnOp::Not)
    }

    /// Two's complement negation (wraps: extend first if the most negative value may occur).
    pub fn neg(&self) -> Expr {
        self.unary(UnOp::Neg)
    }

    /// AND of all bits.
    pub fn reduce_and(&self) -> Expr {
        self.unary(UnOp::ReduceAnd)
    }

    /// OR of all bits.
    pub fn reduce_or(&self) -> Expr {
        self.unary(UnOp::ReduceOr)
    }

    /// XOR of all bits.
    pub fn reduce_xor(&self) -> Expr {
        self.unary(UnOp::ReduceXor)
    }

    /// `cond ? then : otherwise`; `cond` is one unsigned bit, the branches have the same type.
    pub fn mux(cond: &Expr, then: &Expr, otherwise: &Expr) -> Result<Expr, HdlError> {
        if cond.ty != Ty::bit() {
            return Err(HdlError::BadOperand {
                op: "mux",
                ty: cond.ty,
                rule: "the condition must be 1-bit unsigned",
            });
        }
        same("mux", then, otherwise)?;
        Ok(Expr {
            ty: then.ty,
            node: Node::Mux(
                Box::new(cond.clone()),
                Box::new(then.clone()),
                Box::new(otherwise.clone()),
            ),
        })
    }

    /// Concatenation, most significant part first; the result is unsigned.
    pub fn concat(parts: &[Expr]) -> Result<Expr, HdlError> {
        let width: u64 = parts.iter().map(|p| u64::from(p.width())).sum();
        let width = check_width("concatenation", width)?;
        if parts.len() == 1 {
            return Ok(parts[0].as_unsigned());
        }
        Ok(Expr {
            ty: Ty::unsigned(width),
            node: Node::Concat(parts.to_vec()),
        })
    }

    /// `n` copies of `self` side by side; unsigned.
    pub fn repeat(&self, n: u32) -> Result<Expr, HdlError> {
        let width = check_width("replication", u64::from(n) * u64::from(self.width()))?;
        if n == 1 {
            return Ok(self.as_unsigned());
        }
        Ok(Expr {
            ty: Ty::unsigned(width),
            node: Node::Repeat(n, Box::new(self.clone())),
        })
    }

    /// Bits `hi` down to `lo`; unsigned.
    pub fn slice(&self, hi: u32, lo: u32) -> Result<Expr, HdlError> {
        if hi < lo || hi >= self.width() {
            return Err(HdlError::BadSlice {
                hi,
                lo,
                ty: self.ty,
            });
        }
        if lo == 0 && hi + 1 == self.width() {
            return Ok(self.as_unsigned());
        }
        Ok(Expr {
            ty: Ty::unsigned(hi - lo + 1),
            node: Node::Slice(Box::new(self.clone()), hi, lo),
        })
    }

    /// Bit `i`.
    pub fn bit(&self, i: u32) -> Result<Expr, HdlError> {
        self.slice(i, i)
    }

    /// The most significant bit.
    pub fn msb(&self) -> Expr {
        // hi = width - 1 is always in range
        Expr {
            ty: Ty::bit(),
            node: if self.width() == 1 && !self.ty.signed {
                return self.clone();
            } else if self.width() == 1 {
                Node::Cast(Box::new(self.clone()))
            } else {
                Node::Slice(Box::new(self.clone()), self.width() - 1, self.width() - 1)
            },
        }
    }

    fn with_signedness(&self, signed: bool) -> Expr {
        if self.ty.signed == signed {
            return self.clone();
        }
        if let Node::Cast(inner) = &self.node {
            if inner.ty.signed == signed {
                return (**inner).clone();
            }
        }
        Expr {
            ty: self.ty.with_signed(signed),
            node: Node::Cast(Box::new(self.clone())),
        }
    }

    /// The same bits read as two's complement (`$signed`).
    pub fn as_signed(&self) -> Expr {
        self.with_signedness(true)
    }

    /// The same bits read as unsigned (`$unsigned`).
    pub fn as_unsigned(&self) -> Expr {
        self.with_signedness(false)
    }

    /// Sign extension to `width` bits (≥ the current width), keeping the signedness.
    pub fn sext(&self, width: u32) -> Result<Expr, HdlError> {
        self.widen(width, true)
    }

    /// Zero extension to `width` bits (≥ the current width), keeping the signedness.
    pub fn zext(&self, width: u32) -> Result<Expr, HdlError> {
        self.widen(width, false)
    }

    /// Sign extension if signed, zero extension if not.
    pub fn extend(&self, width: u32) -> Result<Expr, HdlError> {
        self.widen(width, self.ty.signed)
    }

    fn widen(&self, width: u32, sign: bool) -> Result<Expr, HdlError> {
        check_width("extension", u64::from(width))?;
        if width < self.width() {
            return Err(HdlError::BadWidth {
                what: "extension",
                width: u64::from(width),
                rule: format!("is below the operand's {} bits", self.width()),
            });
        }
        if width == self.width() {
            return Ok(self.clone());
        }
        Ok(Expr {
            ty: self.ty.with_width(width),
            node: Node::Extend(Box::new(self.clone()), sign),
        })
    }

    /// The extension to `width` (above the current width) spelled with concatenation and
    /// replication, reading `self` twice for a sign extension: how the printer writes
    /// [`Node::Extend`].
    pub(crate) fn widen_spelled(&self, width: u32, sign: bool) -> Result<Expr, HdlError> {
        let k = width - self.width();
        let top = if sign {
            self.msb().repeat(k)?
        } else {
            Expr::zero(Ty::unsigned(k))?
        };
        let wide = Expr::concat(&[top, self.as_unsigned()])?;
        Ok(wide.with_signedness(self.ty.signed))
    }

    /// The low `width` bits (≤ the current width), keeping the signedness.
    pub fn trunc(&self, width: u32) -> Result<Expr, HdlError> {
        check_width("truncation", u64::from(width))?;
        if width > self.width() {
            return Err(HdlError::BadWidth {
                what: "truncation",
                width: u64::from(width),
                rule: format!("is above the operand's {} bits", self.width()),
            });
        }
        Ok(self.slice(width - 1, 0)?.with_signedness(self.ty.signed))
    }

    /// The number of set bits, as an unsigned value just wide enough for `width()`.
    pub fn popcount(&self) -> Result<Expr, HdlError> {
        let bits: Vec<Expr> = (0..self.width())
            .map(|i| self.bit(i))
            .collect::<Result<_, _>>()?;
        Expr::sum_tree(bits, false)
    }

    /// Sums values with a balanced tree of adders, each one bit wider than its operands, so
    /// no carry is lost; all terms must have the same signedness. Terms are extended as needed.
    pub fn sum_tree(terms: Vec<Expr>, signed: bool) -> Result<Expr, HdlError> {
        Expr::sum_tree_capped(terms, signed, u32::MAX)
    }

    /// As [`Expr::sum_tree`], but no adder is wider than `cap` bits: sums wrap modulo `2^cap`.
    /// Every term must be at most `cap` bits wide.
    pub fn sum_tree_capped(mut terms: Vec<Expr>, signed: bool, cap: u32) -> Result<Expr, HdlError> {
        if terms.is_empty() {
            return Err(HdlError::BadWidth {
                what: "sum of terms",
                width: 0,
                rule: "needs at least one term".into(),
            });
        }
        for t in &terms {
            if t.ty.signed != signed {
                return Err(HdlError::BadOperand {
                    op: "sum_tree",
                    ty: t.ty,
                    rule: "terms must all have the tree's signedness",
                });
            }
            if t.width() > cap {
                return Err(HdlError::BadOperand {
                    op: "sum_tree",
                    ty: t.ty,
                    rule: "terms must not be wider than the cap",
                });
            }
        }
        while terms.len() > 1 {
            let mut next = Vec::with_capacity(terms.len().div_ceil(2));
            let mut it = terms.into_iter();
            while let Some(a) = it.next() {
                match it.next() {
                    Some(b) => {
                        let w = (a.width().max(b.width()) + 1).min(cap);
                        next.push(a.extend(w)?.add(&b.extend(w)?)?);
                    }
                    None => next.push(a),
                }
            }
            terms = next;
        }
        Ok(terms.remove(0))
    }
}

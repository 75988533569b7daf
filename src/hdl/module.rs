//! Modules: ports, wires, registers, assignments and instances, assembled by a checking builder.

use super::{check_name, Bits, Expr, HdlError, Ty};
use std::collections::{BTreeMap, BTreeSet};

/// Port direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dir {
    /// An input port.
    Input,
    /// An output port (always a `wire` driven by one assignment).
    Output,
}

/// A module port.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Port {
    /// Port name.
    pub name: String,
    /// Direction.
    pub dir: Dir,
    /// Type.
    pub ty: Ty,
}

impl Port {
    /// An input port.
    pub fn input(name: &str, ty: Ty) -> Port {
        Port {
            name: name.to_string(),
            dir: Dir::Input,
            ty,
        }
    }

    /// An output port.
    pub fn output(name: &str, ty: Ty) -> Port {
        Port {
            name: name.to_string(),
            dir: Dir::Output,
            ty,
        }
    }
}

/// One item of a module body, in declaration order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Item {
    /// `wire name; assign name = expr;`
    Wire {
        /// Wire name.
        name: String,
        /// Its value.
        expr: Expr,
    },
    /// A register clocked by `clk`, reset synchronously to `reset` while `rst` is high, loading
    /// `next` on every edge where `enable` is high (or on every edge without an enable).
    Reg {
        /// Register name.
        name: String,
        /// Type.
        ty: Ty,
        /// Reset value.
        reset: Bits,
        /// Load enable (1-bit), if any.
        enable: Option<Expr>,
        /// Next value.
        next: Expr,
    },
    /// `assign port = expr;` for an output port.
    Output {
        /// Port name.
        name: String,
        /// Its value.
        expr: Expr,
    },
    /// A memory of `init.len()` words of `width` bits with initial contents, one synchronous
    /// read port and an optional write port, both clocked by `clk`: the word at `read_addr` is
    /// in the register `<name>_q` after the edge (no reset: a block RAM's output has none), and
    /// a write lands at the edge (a read of the word being written returns its old value).
    /// Printed in the form Yosys maps to block RAM on iCE40, Xilinx and ECP5.
    Memory {
        /// Memory (array) name; its read register is `<name>_q`.
        name: String,
        /// Word width.
        width: u32,
        /// Initial contents, one entry per word.
        init: Vec<Bits>,
        /// Read address (unsigned).
        read_addr: Expr,
        /// The write port, if any.
        write: Option<MemoryWrite>,
    },
    /// An instance of another module; output ports connect to wires `<instance>_<port>`.
    Instance {
        /// Instantiated module's name.
        module: String,
        /// Instance name.
        name: String,
        /// Input connections in the instantiated module's port order: port name, value.
        inputs: Vec<(String, Expr)>,
        /// Output connections in port order: port name, the wire receiving it (a signal).
        outputs: Vec<(String, Expr)>,
    },
}

/// The write port of an [`Item::Memory`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MemoryWrite {
    /// Write enable (1-bit).
    pub enable: Expr,
    /// Word address (unsigned).
    pub addr: Expr,
    /// The word written.
    pub data: Expr,
    /// The unit never reads the word it writes at the same edge: the memory is printed with
    /// Yosys's `no_rw_check`, so no bypass logic is built for that case (whose result is then
    /// undefined on iCE40 and ECP5 blocks; simulation still returns the old word).
    pub never_reads_written_word: bool,
}

/// A finished, checked module.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Module {
    /// Module name.
    pub name: String,
    /// Header comment lines (unit and parameters), printed after the generator line.
    pub header: Vec<String>,
    /// Ports in declaration order.
    pub ports: Vec<Port>,
    /// Body items in declaration order.
    pub items: Vec<Item>,
}

impl Module {
    /// The port called `name`.
    pub fn port(&self, name: &str) -> Option<&Port> {
        self.ports.iter().find(|p| p.name == name)
    }
}

/// Builds a [`Module`], checking names, drivers and connections as items are added.
#[derive(Debug)]
pub struct ModuleBuilder {
    module: Module,
    names: BTreeSet<String>,
    /// Registers declared but not yet given a next value.
    pending_regs: BTreeMap<String, (Ty, Bits)>,
    /// Outputs declared but not yet driven.
    pending_outputs: BTreeMap<String, Ty>,
    has_clock: bool,
}

impl ModuleBuilder {
    /// Starts a module called `name` with the given header lines (unit and parameters).
    pub fn new(name: &str, header: &[&str]) -> Result<ModuleBuilder, HdlError> {
        check_name(name)?;
        Ok(ModuleBuilder {
            module: Module {
                name: name.to_string(),
                header: header.iter().map(|s| s.to_string()).collect(),
                ports: Vec::new(),
                items: Vec::new(),
            },
            names: BTreeSet::new(),
            pending_regs: BTreeMap::new(),
            pending_outputs: BTreeMap::new(),
            has_clock: false,
        })
    }

    fn claim(&mut self, name: &str) -> Result<(), HdlError> {
        check_name(name)?;
        if !self.names.insert(name.to_string()) {
            return Err(HdlError::Duplicate(name.to_string()));
        }
        Ok(())
    }

    /// Adds the `clk` and `rst` (synchronous, active high) inputs every register uses; call it
    /// before any other port so they come first.
    pub fn clock_and_reset(&mut self) -> Result<(Expr, Expr), HdlError> {
        let clk = self.input("clk", Ty::bit())?;
        let rst = self.input("rst", Ty::bit())?;
        self.has_clock = true;
        Ok((clk, rst))
    }

    /// Adds an input port and returns a reference to it.
    pub fn input(&mut self, name: &str, ty: Ty) -> Result<Expr, HdlError> {
        self.claim(name)?;
        self.module.ports.push(Port::input(name, ty));
        Ok(Expr::signal(name, ty))
    }

    /// Adds an output port driven by `expr`.
    pub fn output(&mut self, name: &str, expr: Expr) -> Result<(), HdlError> {
        self.declare_output(name, expr.ty())?;
        self.drive_output(name, expr)
    }

    /// Declares an output port to be driven later with [`ModuleBuilder::drive_output`].
    pub fn declare_output(&mut self, name: &str, ty: Ty) -> Result<(), HdlError> {
        self.claim(name)?;
        self.module.ports.push(Port::output(name, ty));
        self.pending_outputs.insert(name.to_string(), ty);
        Ok(())
    }

    /// Drives a declared output port.
    pub fn drive_output(&mut self, name: &str, expr: Expr) -> Result<(), HdlError> {
        let ty = self.pending_outputs.remove(name).ok_or(HdlError::Driver {
            what: "output",
            name: name.to_string(),
            rule: "is not a declared, undriven output",
        })?;
        if ty != expr.ty() {
            return Err(HdlError::Mismatch {
                op: "output",
                left: ty,
                right: expr.ty(),
            });
        }
        self.module.items.push(Item::Output {
            name: name.to_string(),
            expr,
        });
        Ok(())
    }

    /// Adds a wire with the value `expr` and returns a reference to it.
    pub fn wire(&mut self, name: &str, expr: Expr) -> Result<Expr, HdlError> {
        self.claim(name)?;
        let ty = expr.ty();
        self.module.items.push(Item::Wire {
            name: name.to_string(),
            expr,
        });
        Ok(Expr::signal(name, ty))
    }

    /// Declares a register of type `ty` with reset value `reset` and returns a reference to
    /// it; give it its next value with [`ModuleBuilder::drive_reg`].
    pub fn reg(&mut self, name: &str, ty: Ty, reset: i128) -> Result<Expr, HdlError> {
        if !self.has_clock {
            return Err(HdlError::Driver {
                what: "register",
                name: name.to_string(),
                rule: "needs clk and rst: call clock_and_reset first",
            });
        }
        let reset = Expr::int(ty, reset)?;
        let bits = match reset.node() {
            super::Node::Const(b) => b.clone(),
            _ => Bits::zero(ty.width),
        };
        self.claim(name)?;
        self.pending_regs.insert(name.to_string(), (ty, bits));
        Ok(Expr::signal(name, ty))
    }

    /// Gives a declared register its next value, loaded when `enable` (1-bit) is high, or on
    /// every clock edge if `enable` is `None`.
    pub fn drive_reg(
        &mut self,
        name: &str,
        next: Expr,
        enable: Option<Expr>,
    ) -> Result<(), HdlError> {
        let (ty, reset) = self.pending_regs.remove(name).ok_or(HdlError::Driver {
            what: "register",
            name: name.to_string(),
            rule: "is not a declared, undriven register",
        })?;
        if ty != next.ty() {
            return Err(HdlError::Mismatch {
                op: "register next value",
                left: ty,
                right: next.ty(),
            });
        }
        if let Some(en) = &enable {
            if en.ty() != Ty::bit() {
                return Err(HdlError::BadOperand {
                    op: "register enable",
                    ty: en.ty(),
                    rule: "must be 1-bit unsigned",
                });
            }
        }
        self.module.items.push(Item::Reg {
            name: name.to_string(),
            ty,
            reset,
            enable,
            next,
        });
        Ok(())
    }

    /// A register loaded on every edge (where `enable` allows) with `next`, declared and driven
    /// at once; for registers whose next value does not depend on themselves.
    pub fn reg_next(
        &mut self,
        name: &str,
        next: Expr,
        reset: i128,
        enable: Option<Expr>,
    ) -> Result<Expr, HdlError> {
        let r = self.reg(name, next.ty(), reset)?;
        self.drive_reg(name, next, enable)?;
        Ok(r)
    }

    /// Adds a memory ([`Item::Memory`]) holding `init` (at least two words, all of one width)
    /// read at `read_addr` and, with `write`, written through its port; returns its read
    /// register `<name>_q`. Addresses are unsigned and wide enough for every word.
    pub fn memory(
        &mut self,
        name: &str,
        init: Vec<Bits>,
        read_addr: Expr,
        write: Option<MemoryWrite>,
    ) -> Result<Expr, HdlError> {
        let memory_err = |rule: &'static str| HdlError::Driver {
            what: "memory",
            name: name.to_string(),
            rule,
        };
        if !self.has_clock {
            return Err(memory_err("needs clk and rst: call clock_and_reset first"));
        }
        let width = init.first().map_or(0, Bits::width);
        if init.len() < 2 || init.iter().any(|w| w.width() != width) {
            return Err(memory_err("needs at least two words of one width"));
        }
        let need = u64::BITS - (init.len() as u64 - 1).leading_zeros();
        let mut addrs = vec![&read_addr];
        if let Some(w) = &write {
            if w.enable.ty() != Ty::bit() {
                return Err(HdlError::BadOperand {
                    op: "memory write enable",
                    ty: w.enable.ty(),
                    rule: "must be 1-bit unsigned",
                });
            }
            if w.data.ty() != Ty::unsigned(width) {
                return Err(HdlError::Mismatch {
                    op: "memory write data",
                    left: Ty::unsigned(width),
                    right: w.data.ty(),
                });
            }
            addrs.push(&w.addr);
        }
        for a in addrs {
            if a.is_signed() || a.width() < need {
                return Err(HdlError::BadOperand {
                    op: "memory address",
                    ty: a.ty(),
                    rule: "must be unsigned and wide enough for every word",
                });
            }
        }
        let q = format!("{name}_q");
        self.claim(name)?;
        self.claim(&q)?;
        self.module.items.push(Item::Memory {
            name: name.to_string(),
            width,
            init,
            read_addr,
            write,
        });
        Ok(Expr::signal(&q, Ty::unsigned(width)))
    }

    /// Instantiates `module` as `name`, connecting every input port from `inputs` (by port
    /// name, types must match exactly). Returns the output ports as wires `<name>_<port>`, in
    /// port order.
    pub fn instance(
        &mut self,
        module: &Module,
        name: &str,
        inputs: &[(&str, Expr)],
    ) -> Result<Vec<Expr>, HdlError> {
        self.instance_by_name(&module.name, &module.ports, name, inputs)
    }

    /// Instantiates a module this IR does not hold (hand-written, or read back from a netlist)
    /// by its name `module` and its `ports`, with the same checks as
    /// [`ModuleBuilder::instance`]: every input connected once with exactly its type, outputs
    /// returned as wires `<name>_<port>` in port order.
    pub fn instance_by_name(
        &mut self,
        module: &str,
        ports: &[Port],
        name: &str,
        inputs: &[(&str, Expr)],
    ) -> Result<Vec<Expr>, HdlError> {
        check_name(module)?;
        let mut seen = BTreeSet::new();
        for p in ports {
            check_name(&p.name)?;
            if !seen.insert(p.name.as_str()) {
                return Err(HdlError::Duplicate(p.name.clone()));
            }
        }
        self.claim(name)?;
        let conn_err = |port: &str, rule: String| HdlError::Connection {
            instance: name.to_string(),
            port: port.to_string(),
            rule,
        };
        for (port, _) in inputs {
            match ports.iter().find(|p| p.name == *port) {
                Some(p) if p.dir == Dir::Input => {}
                _ => return Err(conn_err(port, "is not an input of the module".into())),
            }
        }
        let mut connections = Vec::new();
        let mut out_conns = Vec::new();
        let mut outputs = Vec::new();
        for p in ports {
            match p.dir {
                Dir::Input => {
                    let found: Vec<&Expr> = inputs
                        .iter()
                        .filter(|(n, _)| *n == p.name)
                        .map(|(_, e)| e)
                        .collect();
                    let e = match found.as_slice() {
                        [e] => *e,
                        [] => return Err(conn_err(&p.name, "is not connected".into())),
                        _ => return Err(conn_err(&p.name, "is connected twice".into())),
                    };
                    if e.ty() != p.ty {
                        return Err(conn_err(
                            &p.name,
                            format!("port is {}, connection is {}", p.ty, e.ty()),
                        ));
                    }
                    connections.push((p.name.clone(), e.clone()));
                }
                Dir::Output => {
                    let wire = format!("{name}_{}", p.name);
                    self.claim(&wire)?;
                    let e = Expr::signal(&wire, p.ty);
                    out_conns.push((p.name.clone(), e.clone()));
                    outputs.push(e);
                }
            }
        }
        self.module.items.push(Item::Instance {
            module: module.to_string(),
            name: name.to_string(),
            inputs: connections,
            outputs: out_conns,
        });
        Ok(outputs)
    }

    /// Checks that every output and register is driven and that every signal read is
    /// declared in this module, and returns the module.
    pub fn finish(self) -> Result<Module, HdlError> {
        let mut unknown: Option<String> = None;
        let mut check = |n: &str| {
            if unknown.is_none() && !self.names.contains(n) {
                unknown = Some(n.to_string());
            }
        };
        for item in &self.module.items {
            match item {
                Item::Wire { expr, .. } | Item::Output { expr, .. } => {
                    expr.for_each_signal(&mut check)
                }
                Item::Reg { enable, next, .. } => {
                    next.for_each_signal(&mut check);
                    if let Some(en) = enable {
                        en.for_each_signal(&mut check);
                    }
                }
                Item::Instance { inputs, .. } => inputs
                    .iter()
                    .for_each(|(_, e)| e.for_each_signal(&mut check)),
                Item::Memory {
                    read_addr, write, ..
                } => {
                    read_addr.for_each_signal(&mut check);
                    if let Some(w) = write {
                        for e in [&w.enable, &w.addr, &w.data] {
                            e.for_each_signal(&mut check);
                        }
                    }
                }
            }
        }
        if let Some(name) = unknown {
            return Err(HdlError::Driver {
                what: "signal",
                name,
                rule: "is read but not declared in this module",
            });
        }
        if let Some(name) = self.pending_outputs.keys().next() {
            return Err(HdlError::Driver {
                what: "output",
                name: name.clone(),
                rule: "is never driven",
            });
        }
        if let Some(name) = self.pending_regs.keys().next() {
            return Err(HdlError::Driver {
                what: "register",
                name: name.clone(),
                rule: "is never given a next value",
            });
        }
        Ok(self.module)
    }
}

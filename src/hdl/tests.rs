//! Tests of the typed IR and its printer.

use super::*;

fn tiny() -> Module {
    let mut m =
        ModuleBuilder::new("qf_tiny_mac", &["unit: tiny test module", "a_bits: 4"]).unwrap();
    m.clock_and_reset().unwrap();
    let a = m.input("a", Ty::signed(4)).unwrap();
    let b = m.input("b", Ty::signed(4)).unwrap();
    let en = m.input("en", Ty::bit()).unwrap();
    let p = m.wire("p", a.mul(&b).unwrap()).unwrap();
    let acc = m.reg("acc", Ty::signed(10), 0).unwrap();
    let next = acc.add(&p.sext(10).unwrap()).unwrap();
    m.drive_reg("acc", next, Some(en)).unwrap();
    // a slice of an expression is lowered into a wire
    let sum = a.sext(5).unwrap().add(&b.sext(5).unwrap()).unwrap();
    let top = sum.slice(4, 3).unwrap();
    let lo = sum.slice(2, 0).unwrap();
    m.output("y", Expr::concat(&[top, lo]).unwrap().as_signed())
        .unwrap();
    m.output("acc_out", acc).unwrap();
    m.output("neg", Expr::int(Ty::signed(6), -3).unwrap())
        .unwrap();
    m.finish().unwrap()
}

#[test]
fn add_of_different_widths_names_both_operands() {
    let a = Expr::signal("a", Ty::signed(8));
    let b = Expr::signal("b", Ty::signed(9));
    let err = a.add(&b).unwrap_err();
    assert_eq!(
        err.to_string(),
        "add: operand types differ: left is 8-bit signed, right is 9-bit signed"
    );
    let u = Expr::signal("u", Ty::unsigned(8));
    assert!(matches!(
        a.xor(&u),
        Err(HdlError::Mismatch { op: "xor", .. })
    ));
    assert!(a.mul(&u).is_err());
    assert!(Expr::mux(&a, &a, &a).is_err());
}

#[test]
fn extensions_and_truncations_are_checked() {
    let a = Expr::signal("a", Ty::signed(8));
    assert_eq!(a.sext(12).unwrap().ty(), Ty::signed(12));
    assert_eq!(a.zext(12).unwrap().ty(), Ty::signed(12));
    assert!(a.sext(7).is_err());
    assert!(a.trunc(9).is_err());
    assert_eq!(a.trunc(3).unwrap().ty(), Ty::signed(3));
    assert!(a.slice(8, 0).is_err());
    assert!(a.slice(2, 3).is_err());
    assert_eq!(
        a.mul(&Expr::signal("b", Ty::signed(4))).unwrap().width(),
        12
    );
    assert_eq!(a.shl_const(3).unwrap().ty(), Ty::signed(11));
    assert!(a.shl(&Expr::signal("s", Ty::signed(3))).is_err());
}

#[test]
fn constants_must_fit() {
    assert!(Expr::int(Ty::signed(4), 7).is_ok());
    assert!(Expr::int(Ty::signed(4), 8).is_err());
    assert!(Expr::int(Ty::signed(4), -8).is_ok());
    assert!(Expr::int(Ty::signed(4), -9).is_err());
    assert!(Expr::int(Ty::unsigned(4), -1).is_err());
    assert!(Expr::int(Ty::unsigned(4), 15).is_ok());
    assert!(Expr::int(Ty::unsigned(0), 0).is_err());
    let wide = Bits::from_i128_wrapping(200, -1);
    assert_eq!(wide.to_hex().len(), 50);
    assert!(wide.to_hex().starts_with("ff"));
}

#[test]
fn builder_rejects_bad_modules() {
    assert!(ModuleBuilder::new("9lives", &[]).is_err());
    assert!(ModuleBuilder::new("module", &[]).is_err());
    let mut m = ModuleBuilder::new("qf_x", &[]).unwrap();
    let a = m.input("a", Ty::unsigned(3)).unwrap();
    assert_eq!(
        m.input("a", Ty::unsigned(3)),
        Err(HdlError::Duplicate("a".into()))
    );
    // registers need a clock
    assert!(m.reg("r", Ty::unsigned(3), 0).is_err());
    m.declare_output("y", Ty::unsigned(4)).unwrap();
    assert!(m.drive_output("y", a.clone()).is_err());
    let mut m2 = ModuleBuilder::new("qf_y", &[]).unwrap();
    m2.declare_output("y", Ty::unsigned(4)).unwrap();
    assert!(m2.finish().is_err());
    let mut m3 = ModuleBuilder::new("qf_z", &[]).unwrap();
    m3.output("y", Expr::signal("ghost", Ty::bit())).unwrap();
    assert!(m3.finish().unwrap_err().to_string().contains("ghost"));
}

#[test]
fn instance_connections_are_type_checked() {
    let inner = tiny();
    let mut m = ModuleBuilder::new("qf_outer", &[]).unwrap();
    let (clk, rst) = m.clock_and_reset().unwrap();
    let a = m.input("a", Ty::signed(4)).unwrap();
    let b5 = m.input("b", Ty::signed(5)).unwrap();
    let en = m.input("en", Ty::bit()).unwrap();
    let err = m
        .instance(
            &inner,
            "u0",
            &[
                ("clk", clk.clone()),
                ("rst", rst.clone()),
                ("a", a.clone()),
                ("b", b5),
                ("en", en.clone()),
            ],
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("port is 4-bit signed, connection is 5-bit signed"),
        "{err}"
    );
    let err = m
        .instance(&inner, "u1", &[("clk", clk), ("rst", rst), ("a", a)])
        .unwrap_err();
    assert!(err.to_string().contains("is not connected"), "{err}");
}

#[test]
fn printer_matches_snapshot() {
    let text = print_module(&tiny());
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/hdl/snapshots/qf_tiny_mac.v"
    );
    if std::env::var_os("QFORGE_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(path, &text).unwrap();
    }
    let expected = std::fs::read_to_string(path).unwrap_or_default();
    assert_eq!(
        text, expected,
        "printer output changed; rerun with QFORGE_UPDATE_SNAPSHOTS=1 if on purpose"
    );
}

#[test]
fn printing_is_deterministic() {
    assert_eq!(print_module(&tiny()), print_module(&tiny()));
}

#[test]
fn products_inside_expressions_get_their_own_wire() {
    // Verilog sizes a product by its context: inside a wider sum it would be computed at the
    // sum's width from re-extended operands. The printer gives it a wire of its own width.
    let mut m = ModuleBuilder::new("qf_mac_expr", &[]).unwrap();
    let a = m.input("a", Ty::signed(4)).unwrap();
    let b = m.input("b", Ty::signed(4)).unwrap();
    let c = m.input("c", Ty::signed(12)).unwrap();
    let y = c.add(&a.mul(&b).unwrap().sext(12).unwrap()).unwrap();
    m.output("y", y).unwrap();
    let text = print_module(&m.finish().unwrap());
    assert!(text.contains("wire signed [7:0] tmp0;"), "{text}");
    assert!(text.contains("assign tmp0 = (a * b);"), "{text}");
    assert!(
        text.contains("assign y = (c + $signed({{4{tmp0[7]}}, tmp0}));"),
        "{text}"
    );
}

#[test]
fn wrapping_products_are_bounded() {
    let a = Expr::signal("a", Ty::signed(8));
    let b = Expr::signal("b", Ty::signed(4));
    assert_eq!(a.mul_wrapping(&b, 10).unwrap().ty(), Ty::signed(10));
    assert!(a.mul_wrapping(&b, 7).is_err());
    assert!(a.mul_wrapping(&b, 13).is_err());
}

#[test]
fn external_module_is_instantiated_by_name_with_checked_widths() {
    let ports = [
        Port::input("clk", Ty::bit()),
        Port::input("x", Ty::signed(8)),
        Port::output("y", Ty::unsigned(3)),
    ];
    let build = |x: Expr| {
        let mut m = ModuleBuilder::new("qf_outer", &[]).unwrap();
        let (clk, _rst) = m.clock_and_reset().unwrap();
        let outs =
            m.instance_by_name("hand_written", &ports, "inner", &[("clk", clk), ("x", x)])?;
        m.output("y", outs[0].clone()).unwrap();
        Ok::<_, HdlError>(m.finish().unwrap())
    };
    let ok = build(
        Expr::signal("rst", Ty::bit())
            .repeat(8)
            .unwrap()
            .as_signed(),
    )
    .unwrap();
    let text = print_module(&ok);
    assert!(text.contains("hand_written inner ("), "{text}");
    assert!(text.contains(".y(inner_y)"), "{text}");
    assert!(text.contains("wire [2:0] inner_y;"), "{text}");
    // 7 bits into an 8-bit port, and unsigned into a signed one, are both refused.
    let narrow = build(
        Expr::signal("rst", Ty::bit())
            .repeat(7)
            .unwrap()
            .as_signed(),
    );
    assert!(
        matches!(&narrow, Err(HdlError::Connection { port, .. }) if port == "x"),
        "{narrow:?}"
    );
    assert!(build(Expr::signal("rst", Ty::bit()).repeat(8).unwrap()).is_err());
    // A module name or port name that Verilog cannot spell plainly is refused too.
    let mut m = ModuleBuilder::new("qf_outer", &[]).unwrap();
    assert!(matches!(
        m.instance_by_name("bad-name", &ports, "i", &[]),
        Err(HdlError::BadName(_))
    ));
}

/// Nodes of an expression tree, every shared operand counted where it appears.
fn tree_size(e: &Expr) -> usize {
    1 + match e.node() {
        Node::Signal(_) | Node::Const(_) => 0,
        Node::Unary(_, a)
        | Node::Repeat(_, a)
        | Node::Slice(a, _, _)
        | Node::Cast(a)
        | Node::Extend(a, _) => tree_size(a),
        Node::Binary(_, a, b) => tree_size(a) + tree_size(b),
        Node::Mux(c, a, b) => tree_size(c) + tree_size(a) + tree_size(b),
        Node::Concat(parts) => parts.iter().map(tree_size).sum(),
    }
}

/// A signed adder tree over `n` terms, as a module, and its printed text.
fn adder_tree(n: usize) -> (Expr, String) {
    let mut m = ModuleBuilder::new("qf_sum", &["unit: adder tree test"]).unwrap();
    let terms: Vec<Expr> = (0..n)
        .map(|i| m.input(&format!("x{i}"), Ty::signed(4)).unwrap())
        .collect();
    let sum = Expr::sum_tree(terms, true).unwrap();
    m.output("y", sum.clone()).unwrap();
    (sum, print_module(&m.finish().unwrap()))
}

/// Each level of a signed adder tree sign-extends its operands, which reads each twice; held
/// as one extension node, the tree and the printed Verilog grow in proportion to the terms
/// (a copy per read doubled the tree at every level: n² nodes for n terms).
#[test]
fn signed_adder_trees_grow_linearly_in_nodes_and_text() {
    let (small, small_text) = adder_tree(64);
    let (large, large_text) = adder_tree(1024);
    // 16 times the terms: linear growth is a factor of about 16, quadratic 256.
    let nodes = tree_size(&large) as f64 / tree_size(&small) as f64;
    assert!(nodes < 20.0, "nodes grew {nodes:.1}× for 16× the terms");
    let text = large_text.len() as f64 / small_text.len() as f64;
    assert!(text < 20.0, "text grew {text:.1}× for 16× the terms");
    // Every level's sum is read twice (its sign bit and itself) from one wire.
    assert!(small_text.contains("tmp0[4]"), "{small_text}");
}

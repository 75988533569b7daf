// qforge generic replay testbench (contract: sim/README.md).
//
// Replays one stimulus line per cycle into `qf_tb_dut` and compares `tb_out` with the expected line
// whose check bit (bit OUT_W) is set. Mealy timing: stim[t] is applied after rising edge t-1,
// tb_out is sampled just before rising edge t, then the edge happens.
//
// Plusargs: +stim=PATH +expect=PATH +cycles=N, +vcd=PATH (needs a build with --trace
// -DQF_TRACE).
// The vector files are read a line per cycle as the replay goes ($fscanf), not loaded whole
// ($readmemh): memory stays constant however long the replay, one simulator serves every cycle
// count, and a wide line is parsed in time linear in its width ($readmemh in Verilator 5.006
// shifts the whole value per digit, quadratic: 79% of a 6275-bit replay's time).
// Result lines: "QFORGE_TB PASS cycles=<N> checked=<K>" or, at the first mismatch,
// "QFORGE_TB FAIL cycle=<t> in=<hex> got=<hex> expected=<hex>"; setup problems print
// "QFORGE_TB ERROR <reason>".
//
// Many independent vectors per cycle: pack them side by side into a wide tb_in/tb_out (the
// wrapper instantiates one lane per slice); the comparison below is one wide equality per cycle,
// so its cost hardly grows with the number of lanes.
`timescale 1ns / 1ps
`default_nettype none

module qf_replay_tb #(
    parameter int IN_W = 1,
    parameter int OUT_W = 1
);
  logic clk = 1'b0;
  logic [IN_W-1:0] tb_in = '0;
  wire [OUT_W-1:0] tb_out;

  qf_tb_dut dut (
      .clk(clk),
      .tb_in(tb_in),
      .tb_out(tb_out)
  );

  // Initialised here, never assigned 0 inside the initial block: Verilator 5.006 propagates a
  // constant assigned before a loop that suspends (#delay) into statements after the loop, so
  // "checked = 0; for (...) begin #5; checked++; end $display(checked)" always printed 0.
  int checked = 0;

  initial begin
    string stim_path;
    string expect_path;
    string vcd_path;
    int cycles;
    int stim_fd;
    int expect_fd;
    // Read into a variable of its own, then assigned: $fscanf writing tb_in directly does not
    // wake the design's combinational logic in Verilator 5.006.
    logic [IN_W-1:0] in_line;
    logic [OUT_W:0] exp_line;
    if (!$value$plusargs("stim=%s", stim_path)) begin
      $display("QFORGE_TB ERROR missing +stim=PATH");
      $finish;
    end
    if (!$value$plusargs("expect=%s", expect_path)) begin
      $display("QFORGE_TB ERROR missing +expect=PATH");
      $finish;
    end
    if (!$value$plusargs("cycles=%d", cycles)) begin
      $display("QFORGE_TB ERROR missing +cycles=N");
      $finish;
    end
    if (cycles < 0) begin
      $display("QFORGE_TB ERROR cycles=%0d is negative", cycles);
      $finish;
    end
    stim_fd = $fopen(stim_path, "r");
    if (stim_fd == 0) begin
      $display("QFORGE_TB ERROR cannot open %0s", stim_path);
      $finish;
    end
    expect_fd = $fopen(expect_path, "r");
    if (expect_fd == 0) begin
      $display("QFORGE_TB ERROR cannot open %0s", expect_path);
      $finish;
    end
    if ($value$plusargs("vcd=%s", vcd_path)) begin
`ifdef QF_TRACE
      $dumpfile(vcd_path);
      $dumpvars(0, qf_replay_tb);
`else
      $display("QFORGE_TB ERROR +vcd=%0s needs a build with --trace -DQF_TRACE", vcd_path);
      $finish;
`endif
    end
    for (int t = 0; t < cycles; t++) begin
      if ($fscanf(stim_fd, "%h\n", in_line) != 1) begin
        $display("QFORGE_TB ERROR %0s ends before cycle %0d", stim_path, t);
        $finish;
      end
      if ($fscanf(expect_fd, "%h\n", exp_line) != 1) begin
        $display("QFORGE_TB ERROR %0s ends before cycle %0d", expect_path, t);
        $finish;
      end
      tb_in = in_line;
      #5;
      if (exp_line[OUT_W]) begin
        if (tb_out !== exp_line[OUT_W-1:0]) begin
          $display("QFORGE_TB FAIL cycle=%0d in=%h got=%h expected=%h", t, tb_in, tb_out,
                   exp_line[OUT_W-1:0]);
          $finish;
        end
        checked = checked + 1;
      end
      clk = 1'b1;
      #5;
      clk = 1'b0;
    end
    $display("QFORGE_TB PASS cycles=%0d checked=%0d", cycles, checked);
    $finish;
  end
endmodule

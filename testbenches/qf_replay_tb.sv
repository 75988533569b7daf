// qforge generic replay testbench (contract: sim/README.md).
//
// Replays one stimulus line per cycle into `qf_tb_dut` and compares `tb_out` with the expected line
// whose check bit (bit OUT_W) is set. Mealy timing: stim[t] is applied after rising edge t-1,
// tb_out is sampled just before rising edge t, then the edge happens.
//
// Plusargs: +stim=PATH +expect=PATH +cycles=N (N <= DEPTH), +vcd=PATH (needs a build with
// --trace -DQF_TRACE).
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
    parameter int OUT_W = 1,
    parameter int DEPTH = 1
);
  logic clk = 1'b0;
  logic [IN_W-1:0] tb_in = '0;
  wire [OUT_W-1:0] tb_out;

  logic [IN_W-1:0] stim[DEPTH];
  logic [OUT_W:0] expect_mem[DEPTH];

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
    if (cycles < 0 || cycles > DEPTH) begin
      $display("QFORGE_TB ERROR cycles=%0d exceeds DEPTH=%0d", cycles, DEPTH);
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
    if (cycles > 0) begin
      $readmemh(stim_path, stim, 0, cycles - 1);
      $readmemh(expect_path, expect_mem, 0, cycles - 1);
    end
    for (int t = 0; t < cycles; t++) begin
      tb_in = stim[t];
      #5;
      exp_line = expect_mem[t];
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

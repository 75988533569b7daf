// Replay wrapper for add8_comb. tb_in = {b[7:0], a[7:0]}, tb_out = s. clk is unused by the design.
`default_nettype none
module qf_tb_dut (
    input wire clk,
    input wire [15:0] tb_in,
    output wire [8:0] tb_out
);
  wire unused_clk = clk;
  add8_comb u_add (
      .a(tb_in[7:0]),
      .b(tb_in[15:8]),
      .s(tb_out)
  );
endmodule
`default_nettype wire

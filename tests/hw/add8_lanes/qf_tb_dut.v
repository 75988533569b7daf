// Replay wrapper checking LANES independent combinational adders per cycle: lane i takes
// a = tb_in[16i +: 8], b = tb_in[16i+8 +: 8] and drives tb_out[9i +: 9].
`default_nettype none
module qf_tb_dut #(
    parameter integer LANES = 64
) (
    input wire clk,
    input wire [16*LANES-1:0] tb_in,
    output wire [9*LANES-1:0] tb_out
);
  wire unused_clk = clk;
  genvar i;
  generate
    for (i = 0; i < LANES; i = i + 1) begin : g_lane
      add8_comb u_add (
          .a(tb_in[16*i+:8]),
          .b(tb_in[16*i+8+:8]),
          .s(tb_out[9*i+:9])
      );
    end
  endgenerate
endmodule
`default_nettype wire

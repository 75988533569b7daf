// Replay wrapper for add8_reg. tb_in = {rst, b[7:0], a[7:0]}, tb_out = s.
`default_nettype none
module qf_tb_dut (
    input wire clk,
    input wire [16:0] tb_in,
    output wire [8:0] tb_out
);
  add8_reg u_add (
      .clk(clk),
      .rst(tb_in[16]),
      .a(tb_in[7:0]),
      .b(tb_in[15:8]),
      .s(tb_out)
  );
endmodule
`default_nettype wire

// Registered 8x8 signed multiplier: one DSP48E1 on Xilinx unless DSPs are disabled.
`default_nettype none
module mul8 (
    input wire clk,
    input wire signed [7:0] a,
    input wire signed [7:0] b,
    output reg signed [15:0] p
);
  always @(posedge clk) p <= a * b;
endmodule
`default_nettype wire

// Registered 8-bit signed adder: s <= a + b (9 bits, no overflow), synchronous active-high reset.
`default_nettype none
module add8_reg (
    input wire clk,
    input wire rst,
    input wire signed [7:0] a,
    input wire signed [7:0] b,
    output reg signed [8:0] s
);
  always @(posedge clk) begin
    if (rst) s <= 9'sd0;
    else s <= a + b;
  end
endmodule
`default_nettype wire

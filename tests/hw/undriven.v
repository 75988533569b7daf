// Deliberately wrong: output z is never driven.
`default_nettype none
module undriven (
    input wire clk,
    input wire [3:0] d,
    output reg [3:0] q,
    output wire [3:0] z
);
  always @(posedge clk) q <= d;
endmodule
`default_nettype wire

// Combinational 8-bit signed adder: s = a + b (9 bits).
`default_nettype none
module add8_comb (
    input wire signed [7:0] a,
    input wire signed [7:0] b,
    output wire signed [8:0] s
);
  assign s = a + b;
endmodule
`default_nettype wire

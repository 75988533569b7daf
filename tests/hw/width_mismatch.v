// Deliberately wrong: a 9-bit sum assigned to an 8-bit output (Verilator WIDTH warning).
`default_nettype none
module width_mismatch (
    input wire [7:0] a,
    input wire [7:0] b,
    output wire [7:0] s
);
  wire [8:0] sum = a + b;
  assign s = sum;
endmodule
`default_nettype wire

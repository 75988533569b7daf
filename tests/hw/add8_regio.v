// 8-bit signed adder with registered inputs and output, so there is a register-to-register
// path for nextpnr to time (an adder with only an output register has none).
`default_nettype none
module add8_regio (
    input wire clk,
    input wire signed [7:0] a,
    input wire signed [7:0] b,
    output reg signed [8:0] s
);
  reg signed [7:0] a_q;
  reg signed [7:0] b_q;
  always @(posedge clk) begin
    a_q <= a;
    b_q <= b;
    s <= a_q + b_q;
  end
endmodule
`default_nettype wire

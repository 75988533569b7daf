// Deliberately wrong: an incomplete combinational always block infers a latch on q.
`default_nettype none
module latchy (
    input wire en,
    input wire [3:0] d,
    output reg [3:0] q
);
  always @* begin
    if (en) q = d;
  end
endmodule
`default_nettype wire

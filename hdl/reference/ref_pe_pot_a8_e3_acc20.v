// Hand-written reference PE (not generated): 8-bit activation x PoT weight (sign + 3 exponent
// bits, exponent field 0 = zero, field e = 2^(e-1)), one lane, registered inputs (en, clear, act,
// wgt), 20-bit wrapping accumulator with clear and enable, synchronous active-high reset. The
// negation is written acc + (x ^ {W{s}}) + s (DESIGN.md section 6). Same function as the
// generated qf_pe_pot_a8_e3_s1_acc20_wrap_ir; used to check that the generator is no larger.
`default_nettype none
module ref_pe_pot_a8_e3_acc20 (
  input wire clk,
  input wire rst,
  input wire en,
  input wire clear,
  input wire [7:0] act,
  input wire [3:0] wgt,
  output wire [19:0] acc
);
  reg en_r;
  reg clear_r;
  reg signed [7:0] a_r;
  reg [3:0] w_r;
  reg signed [19:0] acc_r;
  wire [2:0] e = w_r[2:0];
  wire s = w_r[3];
  wire signed [7:0] g = (e != 3'd0) ? a_r : 8'sd0;
  wire signed [14:0] m = {{7{g[7]}}, g} <<< (e - 3'd1);
  wire signed [14:0] x = m ^ {15{s}};
  always @(posedge clk) begin
    if (rst) begin
      en_r <= 1'b0;
      clear_r <= 1'b0;
      a_r <= 8'sd0;
      w_r <= 4'd0;
      acc_r <= 20'sd0;
    end else begin
      en_r <= en;
      clear_r <= clear;
      a_r <= act;
      w_r <= wgt;
      if (en_r) acc_r <= (clear_r ? 20'sd0 : acc_r) + {{5{x[14]}}, x} + {19'd0, s};
    end
  end
  assign acc = acc_r;
endmodule
`default_nettype wire

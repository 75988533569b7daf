// Hand-written reference PE (not generated): uniform 8-bit activation x 8-bit weight, one lane,
// registered inputs (en, clear, act, wgt), 24-bit wrapping accumulator with clear and enable,
// synchronous active-high reset. Same function as the generated
// qf_pe_uniform_a8_w8_s1_acc24_wrap_ir; used to check that the generator is no larger.
`default_nettype none
module ref_pe_uniform_a8_w8_acc24 (
  input wire clk,
  input wire rst,
  input wire en,
  input wire clear,
  input wire [7:0] act,
  input wire [7:0] wgt,
  output wire [23:0] acc
);
  reg en_r;
  reg clear_r;
  reg signed [7:0] a_r;
  reg signed [7:0] w_r;
  reg signed [23:0] acc_r;
  always @(posedge clk) begin
    if (rst) begin
      en_r <= 1'b0;
      clear_r <= 1'b0;
      a_r <= 8'sd0;
      w_r <= 8'sd0;
      acc_r <= 24'sd0;
    end else begin
      en_r <= en;
      clear_r <= clear;
      a_r <= act;
      w_r <= wgt;
      if (en_r) acc_r <= (clear_r ? 24'sd0 : acc_r) + a_r * w_r;
    end
  end
  assign acc = acc_r;
endmodule
`default_nettype wire

#!/usr/bin/env bash
# Area and speed of single-lane PEs (A = 8, ACC = A + W + 8, inputs registered, wrapping
# accumulator), generated and hand-written, as reported in BENCHMARKS.md:
#   LUT4 / FF / carry with Yosys synth_ice40; LUT / DSP with synth_xilinx -flatten (and -nodsp);
#   Fmax with nextpnr-ice40 on an HX8K (ct256), median of seeds 1, 2, 3.
# PoT E=4 uses ACC = 23: A+W+8 = 21 is narrower than its 23-bit product (8 bits x 2^14).
# Usage: hdl/reference/measure.sh [QFORGE_BINARY]   (run from the repository root)
set -euo pipefail
QF=${1:-target/release/qforge}
YOSYS=${QFORGE_YOSYS:-yosys}
NEXTPNR=${QFORGE_NEXTPNR:-nextpnr-ice40}
OUT=${OUT:-target/area}
mkdir -p "$OUT"

measure() { # name top files...
  local name=$1 top=$2; shift 2
  local reads=""
  for f in "$@"; do reads+="read_verilog $f; "; done
  "$YOSYS" -q -p "$reads synth_ice40 -top $top -json $OUT/$name.json; tee -o $OUT/$name.ice40.txt stat" >/dev/null
  "$YOSYS" -q -p "$reads synth_xilinx -flatten -top $top; tee -o $OUT/$name.xil.txt stat" >/dev/null
  "$YOSYS" -q -p "$reads synth_xilinx -flatten -nodsp -top $top; tee -o $OUT/$name.xilnodsp.txt stat" >/dev/null
  local lut ff carry xlut xdsp xnlut
  lut=$(awk '/SB_LUT4/ {s+=$2} END {print s+0}' "$OUT/$name.ice40.txt")
  ff=$(awk '/SB_DFF/ {s+=$2} END {print s+0}' "$OUT/$name.ice40.txt")
  carry=$(awk '/SB_CARRY/ {s+=$2} END {print s+0}' "$OUT/$name.ice40.txt")
  xlut=$(awk '/ LUT[1-6] / {s+=$2} END {print s+0}' "$OUT/$name.xil.txt")
  xdsp=$(awk '/DSP48E1/ {s+=$2} END {print s+0}' "$OUT/$name.xil.txt")
  xnlut=$(awk '/ LUT[1-6] / {s+=$2} END {print s+0}' "$OUT/$name.xilnodsp.txt")
  local f fmax=()
  for seed in 1 2 3; do
    f=$("$NEXTPNR" --hx8k --package ct256 --json "$OUT/$name.json" --seed $seed --freq 100 \
          --log "$OUT/$name.pnr$seed.log" -q 2>/dev/null || true
        grep -o "Max frequency for clock[^:]*: [0-9.]* MHz" "$OUT/$name.pnr$seed.log" | tail -1 | grep -o "[0-9.]* MHz" | cut -d' ' -f1)
    fmax+=("${f:-0}")
  done
  local med
  med=$(printf "%s\n" "${fmax[@]}" | sort -n | sed -n 2p)
  printf "| %-44s | %5s | %4s | %5s | %5s | %3s | %5s | %6s |\n" "$name" "$lut" "$ff" "$carry" "$xlut" "$xdsp" "$xnlut" "$med"
}

gen() { # dir args...
  local d=$1; shift
  "$QF" hdl pe "$@" --a-bits 8 --simd 1 --input-reg --overflow wrap --cycles 2 -o "$OUT/$d" >/dev/null
}

printf "| %-44s | %5s | %4s | %5s | %5s | %3s | %5s | %6s |\n" "design" "LUT4" "FF" "carry" "X LUT" "DSP" "X LUT nodsp" "MHz"
gen u8 --kind uniform --w-bits 8 --acc-bits 24
gen u4 --kind uniform --w-bits 4 --acc-bits 20
gen p3 --kind pot --exp-bits 3 --acc-bits 20
gen p4 --kind pot --exp-bits 4 --acc-bits 23  # A+W+8 = 21 is below the 23-bit product
gen ap --kind apot --terms 2 --term-bits 2 --acc-bits 21
"$QF" hdl pe --kind binary --simd 64 --input-reg --overflow wrap --acc-bits 16 --cycles 2 -o "$OUT/bin" >/dev/null
for d in u8 u4 p3 p4 ap bin; do
  top=$(sed -n 's/.*"top": "\(.*\)".*/\1/p' "$OUT/$d/qforge.json")
  measure "$top" "$top" "$OUT/$d/rtl/$top.v"
done
measure ref_pe_uniform_a8_w8_acc24 ref_pe_uniform_a8_w8_acc24 hdl/reference/ref_pe_uniform_a8_w8_acc24.v
measure ref_pe_pot_a8_e3_acc20 ref_pe_pot_a8_e3_acc20 hdl/reference/ref_pe_pot_a8_e3_acc20.v

#!/usr/bin/env bash
# Writes a fixed set of generated designs (Verilog, vectors, manifests) and a model-area sweep into
# OUT, so that two builds of qforge can be compared file for file:
#   scripts/same_outputs.sh BIN OUT   (BIN: a qforge binary)
#   diff -r OUT_BEFORE OUT_AFTER
# Measured figures (simulation speed, timing.json) are dropped; everything else must match.
set -euo pipefail
bin=$(realpath "$1")
out=$2
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
out=$(realpath "$out")
cd "$root"
log="$out/commands.log"
: >"$log"
run() { # name, args...: run a command, keep its stdout (minus timing lines) and exit code
  local name=$1; shift
  set +e
  "$bin" "$@" >"$out/$name.stdout" 2>"$out/$name.stderr"
  echo "$name: exit $?" >>"$log"
  set -e
  sed -i -e '/^timing /d' -e '/ cycles\/s/d' -e "s#$out#OUT#g" -e "/^wall time /d" -e "/^throughput /d" -e "s/\"seconds\":[^,]*,\"mac_per_s\":[^,]*,//" -e "s/ ([0-9.]* s)$//" "$out/$name.stdout" "$out/$name.stderr"
}
run train_cnn train --data digits --arch cnn --epochs 2 --seed 1 -o "$out/cnn.ron"
sed -i 1d "$out/cnn.ron" # its header names the output path
for q in models/quant_*.ron; do
  name=quantize_$(basename "$q" .ron)
  run "$name" quantize --model models/digits_mlp.ron --spec "$q" -o "$out/$name.ron" --certificates
  run "eval_$name" eval --model "$out/$name.ron" --data digits --json
done
run quantize_cnn quantize --model "$out/cnn.ron" --spec models/quant_uniform4.ron -o "$out/quantize_cnn.ron"
run eval_cnn eval --model "$out/cnn.ron" --quant models/quant_pot4_a4.ron --data digits --json
run net_default hdl net --model models/digits_mlp.ron -o "$out/net_default"
run net_bp hdl net --model models/digits_mlp.ron --backpressure 7 --images 40 -o "$out/net_bp"
for q in models/quant_*.ron; do
  for a in models/arch_*.ron; do
    name=net_$(basename "$q" .ron)_$(basename "$a" .ron)
    model=models/digits_mlp.ron
    [[ $a == *cnn* ]] && model="$out/cnn.ron"
    run "$name" hdl net --model "$model" --quant "$q" --arch "$a" --images 60 -o "$out/$name"
  done
done
for k in uniform pot apot binary ternary; do
  for pe in 1 3; do
    for ov in wrap sat; do
      name=pe_${k}_p${pe}_$ov
      # Binary PEs have 1-bit (±1) activations, and refuse any other --a-bits.
      a_bits=4
      [[ $k == binary ]] && a_bits=1
      run "$name" hdl pe --kind "$k" --a-bits "$a_bits" --w-bits 4 --simd 4 --pe "$pe" --acc-bits 12 \
        --overflow "$ov" --cycles 300 -o "$out/$name"
    done
  done
done
run pe_pot_regs hdl pe --kind pot --exp-bits 2 --w-unsigned --no-zero-code --a-unsigned --simd 3 \
  --acc-bits 14 --input-reg --output-reg --cycles 200 -o "$out/pe_pot_regs"
run pe_apot3 hdl pe --kind apot --terms 3 --term-bits 1 --simd 5 --acc-bits 16 --cycles 200 -o "$out/pe_apot3"
run sweep sweep models/sweep_default.ron -o "$out/sweep"
# Drop measured and machine-dependent figures.
find "$out" -name qforge.json -print0 | xargs -0 -r sed -i -E '/"model_cycles_per_second"/d'
sed -i -E "s/qforge ([0-9.]+) \([0-9a-f]{40}\)/qforge \1 (REV)/" "$out/sweep/index.html"
find "$out/sweep" -maxdepth 1 \( -name 'meta.json' -o -name '*.png' \) -delete
find "$out" -name timing.json -delete
# Output-folder markers are dropped so that builds from before and after them compare equal.
find "$out" -name .qforge-output -delete
echo "wrote $out"

#!/usr/bin/env bash
# Quantization-aware training against post-training quantization at the same bits: each line is
# `spec epochs ptq qat agreement`. Usage: scripts/qat_targets.sh BIN [digits|cnn|mnist DIR]
# (cnn: the small CNN on digits, trained in float first, 30 epochs, seed 1, then fine-tuned)
set -euo pipefail
bin=${1:?usage: scripts/qat_targets.sh BIN [digits|cnn|mnist DIR]}
what=${2:-digits}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
run() { # name epochs extra-args...
    local spec=$1 epochs=$2
    shift 2
    local log
    log=$("$bin" train --qat "models/$spec.ron" --epochs "$epochs" --seed 1 -o "$out/$spec.ron" "$@" 2>&1)
    local ptq qat agree
    ptq=$(grep -m1 '^epoch   0' <<<"$log" | sed -E 's/.*acc ([0-9.]+).*/\1/')
    qat=$(grep '^integer test acc' <<<"$log" | sed -E 's/^integer test acc ([0-9.]+).*/\1/')
    agree=$(grep '^integer test acc' <<<"$log" | sed -E 's/.*agrees on (.*)$/\1/')
    printf '%-18s %-28s %3s epochs  PTQ %s  QAT %s  %s\n' "$spec" "$*" "$epochs" "$ptq" "$qat" "$agree"
}
if [ "$what" = digits ]; then
    for spec in qat_uniform4_a4 quant_pot4_a4 qat_pot3_a3 qat_uniform2_a2 quant_ternary_a4 qat_binary_a4 quant_apot2_a4 qat_binary_a1; do
        run "$spec" 30 --init models/digits_mlp.ron
    done
    run qat_uniform2_a2 60 --init models/digits_mlp.ron
    run quant_ternary_a4 10 --init models/digits_mlp.ron
elif [ "$what" = cnn ]; then
    "$bin" train --arch cnn --epochs 30 --seed 1 -o "$out/cnn.ron" | grep '^epoch  30' >&2
    for spec in qat_uniform4_a4 quant_pot4_a4 qat_pot3_a3 qat_uniform2_a2 quant_ternary_a4 qat_binary_a4 quant_apot2_a4; do
        run "$spec" 10 --init "$out/cnn.ron"
    done
    run qat_uniform2_a2 30 --init "$out/cnn.ron"
else
    dir=${3:?mnist needs DIR}
    run qat_uniform4_a4 10 --data "mnist:$dir" --arch mlp:784-256-256-10 --batch-size 128
    run qat_uniform2_a2 10 --data "mnist:$dir" --arch mlp:784-256-256-10 --batch-size 128
    run qat_uniform2_a2 10 --data "mnist:$dir" --arch mlp:784-64-64-64-10 --batch-size 128
    run qat_binary_a1 10 --data "mnist:$dir" --arch mlp:784-64-64-64-10 --batch-size 128
fi

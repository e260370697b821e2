#!/usr/bin/env bash
# TIMIT phone recognition with a hybrid MLP-HMM on PASE/PASE+ (or MFCC/fbank) features.
#
#   ./run.sh --timit /data/TIMIT --pase_ckpt FE_e199.ckpt            # PASE+ features
#   ./run.sh --timit /data/TIMIT --feats mfcc                         # MFCC baseline
#   ./run.sh --timit /data/TIMIT --stage 4 --stop_stage 6             # retrain + decode
#
# Stages (Kaldi decoding through the k2-fsa wheels; no Kaldi binaries needed):
#   0  data prep: Kaldi data dirs train/dev/test (Kaldi's TIMIT splits), lang, phone bigram G
#   1  features: MFCC (for the HMM-GMM aligner) and the acoustic model's features
#   2  alignments: monophone HMM-GMM flat start (or .PHN boundaries, or a Kaldi ali dir)
#   3  graph: HCLG with the phone bigram
#   4  acoustic model: the original MLP (conf/MLP_PASE.cfg), best-dev checkpoint
#   5  decoding of dev and test, JOB=1:nj (lattices, LM-weight sweep)
#   6  scoring: 39-phone PER per LM weight; weight chosen on dev; RESULTS.md, results.json
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

timit=               # TIMIT root (holds TRAIN/ and TEST/)
feats=pase           # pase | mfcc | fbank: acoustic-model features
pase_cfg=PASE+       # encoder: PASE, PASE+ or a frontend .cfg
pase_ckpt=           # encoder weights (FE_e199.ckpt); empty = random weights (smoke tests)
mlp_cfg=conf/MLP_PASE.cfg
decoder_cfg=conf/decoder.cfg
mono_cfg=conf/mono.yaml
ali_source=gmm       # gmm | phn | kaldi
kaldi_ali_dir=       # with ali_source=kaldi: Kaldi alignments of train (final.mdl, ali.*.gz)
kaldi_dev_ali_dir=   # ... and of dev
use_kaldi=auto       # auto | always | never: Kaldi's latgen-faster-mapped when KALDI_ROOT has it
nj=4                 # parallel jobs (features, decoding)
ngpu=0               # GPUs for feature extraction and MLP training (0 = CPU)
train_args=          # extra pase-asr-train options, e.g. "--max-epochs 2"
data=data
dump=dump
exp=exp
stage=0
stop_stage=6

help_message="Usage: $0 --timit <TIMIT root> [options]   (see the header of $0)"
if [ ! -f path.sh ] || [ ! -f cmd.sh ] || [ ! -e utils/parse_options.sh ]; then
  echo "$0: run this script from its recipe folder (cd egs/timit/asr1)" >&2
  exit 1
fi
# shellcheck disable=SC1091
. ./path.sh
# shellcheck disable=SC1091
. ./cmd.sh
. utils/parse_options.sh

if [ $# -ne 0 ]; then
  echo "$help_message" >&2
  exit 1
fi
case $feats in pase|mfcc|fbank) ;; *) echo "$0: --feats must be pase, mfcc or fbank" >&2; exit 1 ;; esac
device=cpu
[ "$ngpu" -gt 0 ] && device=cuda

log() { echo "[$(date +%H:%M:%S)] $*"; }
sets="train dev test"
mdir=$exp/mlp_${feats}
case $feats in
  mfcc) norm=cmvn; deltas=2 ;;
  fbank) norm=cmvn; deltas=0 ;;
  pase) norm=avg_spk; deltas=0 ;;
esac
case $ali_source in
  gmm) ali=$exp/mono; dev_ali=$exp/mono/ali_dev ;;
  phn) ali=$exp/phn_ali; dev_ali=$exp/phn_ali/ali_dev ;;
  kaldi) ali=$exp/kaldi_ali; dev_ali=$exp/kaldi_ali/ali_dev ;;
  *) echo "$0: --ali_source must be gmm, phn or kaldi" >&2; exit 1 ;;
esac

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  [ -n "$timit" ] || { echo "$0: --timit <TIMIT root> is required for stage 0" >&2; exit 1; }
  log "stage 0: data preparation from $timit"
  pase-prepare-timit "$timit" "$data"
  pase-asr-lang --text "$data/train/text" "$data/lang"
fi

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
  log "stage 1: features (mfcc for the aligner${feats:+, $feats for the acoustic model})"
  if [ "$feats" = pase ] && [ -z "$pase_ckpt" ]; then
    # No weights given: one seeded random encoder, saved once, so that every dumping job (and
    # train, dev and test) sees the same network; otherwise each job would draw its own.
    pase_ckpt=$exp/pase_random/FE_random.ckpt
    log "WARNING: no --pase_ckpt: random encoder weights (seed 0) in $pase_ckpt"
    pase-save-random-encoder --fe-cfg "$pase_cfg" --seed 0 "$pase_ckpt"
  fi
  for type in mfcc $([ "$feats" != mfcc ] && echo "$feats"); do
    for x in $sets; do
      opts=(--feat-type "$type" --nj "$nj" --cmd "$feat_cmd")
      if [ "$type" = pase ]; then
        # frozen encoder on the peak-normalised waveform (the original); per-speaker mean
        # removal is applied when the features are read (avg_spk)
        opts+=(--fe-cfg "$pase_cfg" --peak-norm --device "$device" --cmvn none)
        [ -n "$pase_ckpt" ] && opts+=(--ckpt "$pase_ckpt")
      else
        opts+=(--cmvn speaker)  # Kaldi per-speaker stats (cmvn.scp), applied when read
      fi
      pase-dump-feats "${opts[@]}" "$data/$x" "$dump/$type/$x"
    done
  done
fi

if [ "$stage" -le 2 ] && [ "$stop_stage" -ge 2 ]; then
  log "stage 2: alignments ($ali_source)"
  case $ali_source in
    gmm)
      pase-asr-align --lang "$data/lang" --data-dir "$data/train" \
        --feats "$dump/mfcc/train/feats.scp" --config "$mono_cfg" "$ali"
      pase-asr-align --model "$ali" --data-dir "$data/dev" --config "$mono_cfg" \
        --feats "$dump/mfcc/dev/feats.scp" "$dev_ali"
      ;;
    phn)
      pase-asr-align --source phn --lang "$data/lang" --data-dir "$data/train" "$ali"
      pase-asr-align --source phn --lang "$data/lang" --data-dir "$data/dev" "$dev_ali"
      ;;
    kaldi)
      if [ -z "$kaldi_ali_dir" ] || [ -z "$kaldi_dev_ali_dir" ]; then
        echo "$0: --ali_source kaldi needs --kaldi_ali_dir and --kaldi_dev_ali_dir" >&2
        exit 1
      fi
      pase-asr-align --source kaldi --lang "$data/lang" --kaldi-ali-dir "$kaldi_ali_dir" "$ali"
      pase-asr-align --source kaldi --lang "$data/lang" --kaldi-ali-dir "$kaldi_dev_ali_dir" \
        "$dev_ali"
      ;;
  esac
fi

if [ "$stage" -le 3 ] && [ "$stop_stage" -ge 3 ]; then
  log "stage 3: decoding graph"
  pase-asr-mkgraph --lang "$data/lang" --model "$ali" "$ali/graph"
fi

if [ "$stage" -le 4 ] && [ "$stop_stage" -ge 4 ]; then
  log "stage 4: acoustic model ($mlp_cfg) on $feats features"
  # shellcheck disable=SC2086  # train_args holds several options
  $train_cmd --gpu "$ngpu" "$mdir/log/train.log" \
    pase-asr-train --config "$mlp_cfg" --norm "$norm" --deltas "$deltas" --device "$device" \
      --train-feats "$dump/$feats/train/feats.scp" --train-data-dir "$data/train" \
      --train-ali "$ali" \
      --dev-feats "$dump/$feats/dev/feats.scp" --dev-data-dir "$data/dev" --dev-ali "$dev_ali" \
      $train_args "$mdir"
  grep -h "final.pt" "$mdir/log/train.log" || true
fi

if [ "$stage" -le 5 ] && [ "$stop_stage" -ge 5 ]; then
  for x in dev test; do
    log "stage 5: decoding $x ($nj jobs)"
    rm -rf "$mdir/decode_$x/hyp" "$mdir/decode_$x"/stats.*.json
    $decode_cmd JOB=1:"$nj" "$mdir/decode_$x/log/decode.JOB.log" \
      pase-asr-decode --model "$mdir" --graph "$ali/graph" --config "$decoder_cfg" \
        --feats "$dump/$feats/$x/feats.scp" --data-dir "$data/$x" --kaldi "$use_kaldi" \
        --num-threads 1 --nj "$nj" --job JOB "$mdir/decode_$x"
  done
fi

if [ "$stage" -le 6 ] && [ "$stop_stage" -ge 6 ]; then
  log "stage 6: scoring"
  for x in dev test; do
    echo -n "$x: "
    pase-asr-score --data-dir "$data/$x" "$mdir/decode_$x"
  done
  pase-asr-results --dev "$mdir/decode_dev" --test "$mdir/decode_test" --feat-type "$feats" "$mdir"
  log "results: $mdir/RESULTS.md"
fi

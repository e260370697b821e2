#!/usr/bin/env bash
# TIMIT phone recognition with a hybrid MLP-HMM on PASE/PASE+ (or MFCC/fbank) features.
#
#   ./run.sh --timit /data/TIMIT --pase_ckpt FE_e199.ckpt            # PASE+ features
#   ./run.sh --timit /data/TIMIT --feats mfcc                         # MFCC baseline
#   ./run.sh --timit /data/TIMIT --stage 4 --stop_stage 6             # retrain + decode
#   ./run.sh --timit /data/TIMIT --test_condition "clean noise reverb noise+reverb" \
#       --noise_list noises.list --rir_list rirs.list                   # robustness
#
# Stages (Kaldi decoding through the k2-fsa wheels; no Kaldi binaries needed):
#   0  data prep: Kaldi data dirs train/dev/test (Kaldi's TIMIT splits), lang, phone bigram G
#   1  features: MFCC (for the HMM-GMM aligner) and the acoustic model's features
#   2  alignments: monophone HMM-GMM flat start (or .PHN boundaries, or a Kaldi ali dir)
#   3  graph: HCLG with the phone bigram
#   4  acoustic model: the original MLP (conf/MLP_PASE.cfg), best-dev checkpoint
#   5  decoding of dev and test, JOB=1:nj (lattices, LM-weight sweep)
#   6  scoring: 39-phone PER per LM weight; weight chosen on dev; RESULTS.md, results.json
#   7  test conditions: dev and test contaminated (noise, reverb, both), their features
#   8  decoding of each condition's dev and test with the clean-trained acoustic model
#   9  scoring of each condition; one PER row per condition in RESULTS.md / results.json
#  10  per-frame phone labels from the alignments (test aligned too) in every data/dump dir
#  11  frame phone-classification probes (pase-probe) per feature type and condition
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
test_condition=clean # test conditions, a list: clean noise reverb noise+reverb
noise_list=          # noises (a list of wav paths, one a line, or a folder); empty: simulated
rir_list=            # room impulse responses (list or folder); empty: simulated
snr="0 20"           # SNR range (dB) of the noise conditions, drawn per utterance
condition_seed=0     # seed of the per-utterance draws (noise file, offset, SNR, RIR)
kaldi_test_ali_dir=  # with ali_source=kaldi: Kaldi alignments of test (frame probe labels)
probe_phones=39      # 39 | 48: phone set of the frame probe labels
probe_args=          # extra pase-probe options, e.g. "--hidden 256 --epochs 10"
data=data
dump=dump
exp=exp
stage=0
stop_stage=11

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
# shellcheck source=../../../utils/test_conditions.sh
. utils/test_conditions.sh
# conds: the contaminated conditions (clean is the original dev/test sets)
parse_test_conditions "$test_condition" "$snr"
case $probe_phones in 39|48) ;; *) echo "$0: --probe_phones must be 39 or 48" >&2; exit 1 ;; esac

log() { echo "[$(date +%H:%M:%S)] $*"; }
sets="train dev test"
mdir=$exp/mlp_${feats}
case $feats in
  mfcc) norm=cmvn; deltas=2 ;;
  fbank) norm=cmvn; deltas=0 ;;
  pase) norm=avg_spk; deltas=0 ;;
esac
case $ali_source in
  gmm) ali=$exp/mono ;;
  phn) ali=$exp/phn_ali ;;
  kaldi) ali=$exp/kaldi_ali ;;
  *) echo "$0: --ali_source must be gmm, phn or kaldi" >&2; exit 1 ;;
esac
dev_ali=$ali/ali_dev
test_ali=$ali/ali_test
feat_types=mfcc  # the dumped feature types: the aligner's, and the acoustic model's
[ "$feats" = mfcc ] || feat_types+=" $feats"
labels=phones${probe_phones}.ali  # per-frame phone labels (stage 10) in each data / dump dir

# The random encoder used without --pase_ckpt: one seeded network, saved once, so that every
# dumping job (and train, dev, test and the test conditions) sees the same weights; otherwise
# each job would draw its own.
random_encoder() {
  if [ "$feats" = pase ] && [ -z "$pase_ckpt" ]; then
    pase_ckpt=$exp/pase_random/FE_random.ckpt
    log "WARNING: no --pase_ckpt: random encoder weights (seed 0) in $pase_ckpt"
    pase-save-random-encoder --fe-cfg "$pase_cfg" --seed 0 "$pase_ckpt"
  fi
}
# Features of type $1 of data dir $2 into dump dir $3.
dump_feats() {
  local opts=(--feat-type "$1" --nj "$nj" --cmd "$feat_cmd")
  if [ "$1" = pase ]; then
    # frozen encoder on the peak-normalised waveform (the original); per-speaker mean
    # removal is applied when the features are read (avg_spk)
    opts+=(--fe-cfg "$pase_cfg" --peak-norm --device "$device" --cmvn none)
    [ -n "$pase_ckpt" ] && opts+=(--ckpt "$pase_ckpt")
  else
    opts+=(--cmvn speaker)  # Kaldi per-speaker stats (cmvn.scp), applied when read
  fi
  pase-dump-feats "${opts[@]}" "$2" "$3"
}

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  [ -n "$timit" ] || { echo "$0: --timit <TIMIT root> is required for stage 0" >&2; exit 1; }
  log "stage 0: data preparation from $timit"
  pase-prepare-timit "$timit" "$data"
  pase-asr-lang --text "$data/train/text" "$data/lang"
fi

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
  log "stage 1: features (mfcc for the aligner${feats:+, $feats for the acoustic model})"
  random_encoder
  for type in $feat_types; do
    for x in $sets; do
      dump_feats "$type" "$data/$x" "$dump/$type/$x"
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

if [ "$stage" -le 7 ] && [ "$stop_stage" -ge 7 ] && [ ${#conds[@]} -gt 0 ]; then
  log "stage 7: test conditions ${conds[*]} of dev and test"
  need_noise=false; need_rir=false
  for c in "${conds[@]}"; do
    case $c in *noise*) need_noise=true ;; esac
    case $c in *reverb*) need_rir=true ;; esac
  done
  if { $need_noise && [ -z "$noise_list" ]; } || { $need_rir && [ -z "$rir_list" ]; }; then
    # no real noises / RIRs given: seeded simulated ones (named as such in the results)
    sim=$data/local/simulated_distortions
    log "WARNING: no --noise_list/--rir_list: simulated noises and RIRs in $sim"
    pase-synth-distortions --seed "$condition_seed" "$sim" > /dev/null
    [ -n "$noise_list" ] || noise_list=$sim/noise.list
    [ -n "$rir_list" ] || rir_list=$sim/rir.list
  fi
  for c in "${conds[@]}"; do
    copts=(--condition "$c" --seed "$condition_seed")
    case $c in *noise*) copts+=(--noise-list "$noise_list" --snr "$snr_low" "$snr_high") ;; esac
    case $c in *reverb*) copts+=(--rir-list "$rir_list") ;; esac
    for x in dev test; do
      pase-make-condition "${copts[@]}" "$data/$x" "$data/${x}_$c"
    done
  done
  random_encoder
  for c in "${conds[@]}"; do
    for type in $feat_types; do
      for x in dev test; do
        dump_feats "$type" "$data/${x}_$c" "$dump/$type/${x}_$c"
      done
    done
  done
fi

if [ "$stage" -le 8 ] && [ "$stop_stage" -ge 8 ] && [ ${#conds[@]} -gt 0 ]; then
  for c in "${conds[@]}"; do
    for x in dev test; do
      log "stage 8: decoding ${x}_$c ($nj jobs)"
      d=$mdir/decode_${x}_$c
      rm -rf "$d/hyp" "$d"/stats.*.json
      $decode_cmd JOB=1:"$nj" "$d/log/decode.JOB.log" \
        pase-asr-decode --model "$mdir" --graph "$ali/graph" --config "$decoder_cfg" \
          --feats "$dump/$feats/${x}_$c/feats.scp" --data-dir "$data/${x}_$c" \
          --kaldi "$use_kaldi" --num-threads 1 --nj "$nj" --job JOB "$d"
    done
  done
fi

if [ "$stage" -le 9 ] && [ "$stop_stage" -ge 9 ] && [ ${#conds[@]} -gt 0 ]; then
  log "stage 9: scoring the test conditions"
  rows=(clean="$mdir")
  for c in "${conds[@]}"; do
    for x in dev test; do
      echo -n "${x}_$c: "
      pase-asr-score --data-dir "$data/${x}_$c" "$mdir/decode_${x}_$c"
    done
    # LM weight chosen on the condition's own dev set
    pase-asr-results --dev "$mdir/decode_dev_$c" --test "$mdir/decode_test_$c" \
      --feat-type "$feats" "$mdir/conditions/$c" > /dev/null
    cp "$data/test_$c/condition.json" "$mdir/conditions/$c/condition.json"
    rows+=("$c=$mdir/conditions/$c")
  done
  pase-summarize-conditions "$mdir" "${rows[@]}"
  log "results: $mdir/RESULTS.md (section Test conditions)"
fi

if [ "$stage" -le 10 ] && [ "$stop_stage" -ge 10 ]; then
  log "stage 10: per-frame phone labels ($probe_phones phones) from the alignments"
  # test is force-aligned like dev (the transcripts are known); the frames are the aligner's
  case $ali_source in
    gmm)
      pase-asr-align --model "$ali" --data-dir "$data/test" --config "$mono_cfg" \
        --feats "$dump/mfcc/test/feats.scp" "$test_ali"
      ;;
    phn)
      pase-asr-align --source phn --lang "$data/lang" --data-dir "$data/test" "$test_ali"
      ;;
    kaldi)
      if [ -z "$kaldi_test_ali_dir" ]; then
        echo "$0: stage 10 with --ali_source kaldi needs --kaldi_test_ali_dir" >&2
        exit 1
      fi
      pase-asr-align --source kaldi --lang "$data/lang" --kaldi-ali-dir "$kaldi_test_ali_dir" \
        "$test_ali"
      ;;
  esac
  for x in train dev test; do
    case $x in train) a=$ali ;; dev) a=$dev_ali ;; test) a=$test_ali ;; esac
    pase-asr-ali-to-phones --phone-set "$probe_phones" "$a" "$data/$x/$labels"
    targets=("$x")
    [ "$x" = train ] || for c in "${conds[@]}"; do targets+=("${x}_$c"); done
    for t in "${targets[@]}"; do  # the same frames in every condition (same utterances)
      [ "$t" = "$x" ] || cp "$data/$x/$labels" "$data/$t/$labels"
      for type in $feat_types; do
        cp "$data/$x/$labels" "$dump/$type/$t/$labels"
      done
    done
  done
fi

if [ "$stage" -le 11 ] && [ "$stop_stage" -ge 11 ]; then
  log "stage 11: frame phone probes on ${feat_types// /, } (test: clean${conds[*]:+ ${conds[*]}})"
  pdir=$exp/probe_phone
  mkdir -p "$pdir"
  systems=()
  for type in $feat_types; do
    for c in clean "${conds[@]}"; do
      t="test"; [ "$c" = clean ] || t="test_$c"
      # trained on clean train, epoch chosen on clean dev: one probe, scored per condition
      # shellcheck disable=SC2086  # probe_args holds several options
      pase-probe --task frame --labels "$labels" --train "$dump/$type/train" \
        --dev "$dump/$type/dev" --test "$dump/$type/$t" --out-dir "$pdir/${type}_$c" \
        --seed 0 $probe_args 2> "$pdir/${type}_$c.log" \
        || { tail -n 5 "$pdir/${type}_$c.log" >&2; exit 1; }
      tail -n 1 "$pdir/${type}_$c.log"
      systems+=("$type, $c=$pdir/${type}_$c")
    done
  done
  {
    echo "# TIMIT frame phone classification ($probe_phones phones)"
    echo
    echo "Linear probe unless --probe_args says otherwise (pase-probe --task frame, labels"
    echo "$labels from the $ali_source alignments); trained on clean train, epoch chosen on clean"
    echo "dev, scored on each condition's test set. Features as dumped in $dump (no speaker"
    echo "normalisation, no deltas). Accuracy in % of frames, 95 % interval."
    echo
    pase-summarize-probes "${systems[@]}"
  } > "$pdir/RESULTS_probe.md.tmp"
  mv "$pdir/RESULTS_probe.md.tmp" "$pdir/RESULTS_probe.md"
  cat "$pdir/RESULTS_probe.md"
  log "results: $pdir/RESULTS_probe.md"
fi

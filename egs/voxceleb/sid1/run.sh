#!/usr/bin/env bash
# Speaker identification on VoxCeleb1 (identification split) with frozen features: MFCC,
# filterbanks, PASE+ (a given checkpoint) and a random-weight PASE+, each probed by a small
# classifier on pooled frames (pase-probe), accuracies side by side in RESULTS.md.
# Run from this folder:
#   ./run.sh --voxceleb /data/VoxCeleb1 --pase_ckpt FE_e199.ckpt    # real corpus
#   ./run.sh --pase_ckpt FE_e199.ckpt                                # synthetic stand-in
#
# Stages
#   0  corpus and data prep: without --voxceleb a synthetic VoxCeleb1-layout corpus is made in
#      $corpus (pase-synth-voxceleb); pase-prepare-voxceleb -> data/{train,dev,test}
#      (iden_split sets 1 / 2 / 3, utt2spk = the speaker label)
#   1  features of every set for every type of --feats (pase-dump-feats, no CMVN: per-speaker
#      normalisation would remove what is measured) -> $dumpdir/<feat>/<set>/feats.scp;
#      pase+ needs --pase_ckpt (skipped without it); pase+_random is saved by
#      pase-save-random-encoder (seed --random_seed)
#      with --test_condition noise|reverb|noise+reverb: test contaminated (pase-make-condition,
#      seeded per utterance; simulated noises / RIRs without --noise_list / --rir_list) into
#      data/test_<cond>, and its features -> $dumpdir/<feat>/test_<cond>
#   2  one probe per feature type (pase-probe: utterance task, labels utt2spk, --pooling mean
#      or stats, epoch chosen on dev, scored on test) -> $expdir/probe_<feat>/results.json;
#      the same probe (clean train and dev) scored on each test condition ->
#      $expdir/probe_<feat>_<cond>/results.json
#   3  $expdir/RESULTS.md (pase-summarize-probes), a row per feature type and condition
# Recipe defaults (feature and probe options) are in conf/run.conf, sourced before the
# command line.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

stage=0
stop_stage=3
voxceleb=             # VoxCeleb1 folder holding wav/ and iden_split.txt; "" = synthetic corpus
split_file=           # iden_split.txt when it is not in --voxceleb
corpus=corpus         # where stage 0 makes the synthetic corpus (without --voxceleb)
synth_args=           # extra pase-synth-voxceleb options (e.g. "--num-speakers 40 --seed 1")
prep_args=            # extra pase-prepare-voxceleb options (e.g. "--num-speakers 40")
feats="mfcc fbank pase+ pase+_random"   # feature types: mfcc fbank pase+ pase+_random
fe_cfg=PASE+          # encoder config of pase+ and pase+_random: PASE, PASE+ or a .cfg
pase_ckpt=            # encoder weights of pase+ (FE_e199.ckpt or a pase-train checkpoint)
random_seed=0         # seed of the random-weight encoder (pase+_random)
mfcc_args=            # extra pase-dump-feats options per kind (conf/run.conf)
fbank_args=
pase_args=
pooling=mean          # utterance pooling of the probe: mean | stats (mean and std)
probe_args=           # extra pase-probe options (conf/run.conf)
test_condition=clean  # test conditions, a list: clean noise reverb noise+reverb
noise_list=           # noises (a list of wav paths, one a line, or a folder); empty: simulated
rir_list=             # room impulse responses (list or folder); empty: simulated
snr="0 20"            # SNR range (dB) of the noise conditions, drawn per utterance
condition_seed=0      # seed of the per-utterance draws (noise file, offset, SNR, RIR)
nj=4                  # parallel jobs (audio checks, dumping)
ngpu=0                # > 0: PASE features on cuda
dumpdir=dump
expdir=exp

help_message="Usage: $0 [options]   (stages and options: the header of $0)
  e.g. $0 --voxceleb /data/VoxCeleb1 --pase_ckpt FE_e199.ckpt
       $0 --feats \"mfcc pase+_random\" --pooling stats      # synthetic corpus
Options (default):
  --stage ($stage) --stop_stage ($stop_stage)
  --voxceleb DIR         VoxCeleb1 folder holding wav/ and iden_split.txt ($voxceleb)
  --split_file FILE      iden_split.txt elsewhere ($split_file)
  --corpus DIR           synthetic corpus folder when no --voxceleb ($corpus)
  --synth_args \"...\"     pase-synth-voxceleb options ($synth_args)
  --prep_args \"...\"      pase-prepare-voxceleb options ($prep_args)
  --feats LIST           ($feats)
  --fe_cfg CFG ($fe_cfg)  --pase_ckpt FILE ($pase_ckpt)  --random_seed N ($random_seed)
  --mfcc_args / --fbank_args / --pase_args \"...\"   pase-dump-feats options per kind
  --pooling mean|stats   ($pooling)
  --probe_args \"...\"     pase-probe options ($probe_args)
  --test_condition LIST  test sets scored: clean noise reverb noise+reverb ($test_condition)
  --noise_list / --rir_list FILE|DIR   noises / RIRs of the conditions (empty: simulated)
  --snr \"LOW HIGH\"       noise SNR range, dB ($snr)  --condition_seed N ($condition_seed)
  --nj N ($nj)  --ngpu N ($ngpu)  --dumpdir DIR ($dumpdir)  --expdir DIR ($expdir)"

if [ ! -f path.sh ] || [ ! -f cmd.sh ] || [ ! -e utils/parse_options.sh ]; then
  echo "$0: run this script from its recipe folder (cd egs/voxceleb/sid1)" >&2
  exit 1
fi
# shellcheck disable=SC1091
[ -f conf/run.conf ] && . conf/run.conf
. utils/parse_options.sh
if [ $# -ne 0 ]; then
  echo "$0: unexpected arguments: $* (see --help)" >&2
  exit 1
fi
# shellcheck disable=SC1091
. ./path.sh
# shellcheck disable=SC1091
. ./cmd.sh
# shellcheck source=../../../utils/launcher_word.sh
. utils/launcher_word.sh

log() { echo "$(date '+%Y-%m-%d %H:%M:%S') [run.sh] $*"; }
sets="train dev test"
device=cpu
[ "$ngpu" -eq 0 ] || device=cuda
case $pooling in mean|stats) ;; *) echo "$0: --pooling must be mean or stats" >&2; exit 1 ;; esac
for f in $feats; do
  case $f in
    mfcc|fbank|pase+|pase+_random) ;;
    *) echo "$0: --feats: unknown feature type '$f' (mfcc fbank pase+ pase+_random)" >&2; exit 1 ;;
  esac
done
if [ -n "$pase_ckpt" ] && [ ! -f "$pase_ckpt" ]; then
  echo "$0: --pase_ckpt $pase_ckpt: no such file" >&2
  exit 1
fi
# pase+ needs weights: without --pase_ckpt it is left out (a random encoder is pase+_random)
run_feats=
for f in $feats; do
  if [ "$f" = pase+ ] && [ -z "$pase_ckpt" ]; then
    log "WARNING: no --pase_ckpt: pase+ left out (give FE_e199.ckpt or a pase-train checkpoint)"
    continue
  fi
  run_feats+="${run_feats:+ }$f"
done
[ -n "$run_feats" ] || { echo "$0: no feature type left to run (--feats '$feats')" >&2; exit 1; }
# shellcheck source=../../../utils/test_conditions.sh
. utils/test_conditions.sh
# conds: the contaminated test conditions (clean is data/test itself)
parse_test_conditions "$test_condition" "$snr"
need_noise=false; need_rir=false
for c in "${conds[@]}"; do
  case $c in *noise*) need_noise=true ;; esac
  case $c in *reverb*) need_rir=true ;; esac
done
# no real noises / RIRs given: seeded simulated ones (named as such in RESULTS.md)
sim=data/local/simulated_distortions
use_sim=false
if $need_noise && [ -z "$noise_list" ]; then noise_list=$sim/noise.list; use_sim=true; fi
if $need_rir && [ -z "$rir_list" ]; then rir_list=$sim/rir.list; use_sim=true; fi
# the test sets scored: clean (data/test) and each condition (data/test_<cond>)
tests=(clean "${conds[@]}")
test_set() { if [ "$1" = clean ]; then echo test; else echo "test_$1"; fi; }
probe_dir() { if [ "$2" = clean ]; then echo "$expdir/probe_$1"; else echo "$expdir/probe_$1_$2"; fi; }

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  src=$voxceleb
  if [ -z "$src" ]; then
    log "stage 0: synthetic VoxCeleb1-layout corpus in $corpus"
    # shellcheck disable=SC2086  # synth_args is a list of options
    pase-synth-voxceleb --nj "$nj" $synth_args "$corpus"
    src=$corpus
  elif [ ! -d "$src" ]; then
    echo "$0: --voxceleb $src: no such folder (the VoxCeleb1 folder holding wav/)" >&2
    exit 1
  fi
  log "stage 0: data prep from $src"
  opts=(--nj "$nj" --fe-cfg "$fe_cfg")
  [ -z "$split_file" ] || opts+=(--split-file "$split_file")
  # shellcheck disable=SC2086  # prep_args is a list of options
  pase-prepare-voxceleb "${opts[@]}" $prep_args "$src" data
  for s in $sets; do utils/validate_data_dir.sh --no-text "data/$s"; done
  log "stage 0: made $(for s in $sets; do printf 'data/%s (%s utts) ' "$s" "$(wc -l < "data/$s/utt2spk")"; done)"
fi

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ] && [ ${#conds[@]} -gt 0 ]; then
  log "stage 1: test conditions ${conds[*]}"
  if $use_sim; then
    log "WARNING: no --noise_list/--rir_list: simulated noises and RIRs in $sim"
    pase-synth-distortions --seed "$condition_seed" "$sim" > /dev/null
  fi
  for c in "${conds[@]}"; do
    copts=(--condition "$c" --seed "$condition_seed")
    case $c in *noise*) copts+=(--noise-list "$noise_list" --snr "$snr_low" "$snr_high") ;; esac
    case $c in *reverb*) copts+=(--rir-list "$rir_list") ;; esac
    pase-make-condition "${copts[@]}" data/test "data/test_$c"
  done
fi

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
  dump_sets="train dev"
  for c in "${tests[@]}"; do dump_sets+=" $(test_set "$c")"; done
  for f in $run_feats; do
    log "stage 1: $f features"
    case $f in
      mfcc) opts=(--feat-type mfcc) ; read -r -a extra <<< "$mfcc_args" ;;
      fbank) opts=(--feat-type fbank) ; read -r -a extra <<< "$fbank_args" ;;
      pase+|pase+_random)
        ckpt=$pase_ckpt
        if [ "$f" = pase+_random ]; then
          ckpt=$expdir/pase+_random/FE_random.ckpt
          pase-save-random-encoder --fe-cfg "$fe_cfg" --seed "$random_seed" "$ckpt"
        fi
        opts=(--feat-type pase --fe-cfg "$fe_cfg" --ckpt "$ckpt" --device "$device")
        read -r -a extra <<< "$pase_args" ;;
    esac
    for s in $dump_sets; do
      pase-dump-feats --cmd "$feat_cmd" --nj "$nj" --cmvn none "${opts[@]}" \
        ${extra[@]+"${extra[@]}"} "data/$s" "$dumpdir/$f/$s"
    done
  done
  log "stage 1: made $(for f in $run_feats; do printf '%s/%s/{%s} ' "$dumpdir" "$f" "${dump_sets// /,}"; done)"
fi

if [ "$stage" -le 2 ] && [ "$stop_stage" -ge 2 ]; then
  for f in $run_feats; do
    for c in "${tests[@]}"; do
      # trained on clean train, epoch chosen on clean dev (seeded: the same probe for every
      # condition), scored on the condition's test set
      out=$(probe_dir "$f" "$c")
      log "stage 2: $f probe ($pooling pooling, test $c) -> $out (log: $out/log/probe.log)"
      words=()
      for a in pase-probe --train "$dumpdir/$f/train" --dev "$dumpdir/$f/dev" \
        --test "$dumpdir/$f/$(test_set "$c")" --labels utt2spk --task utt \
        --pooling "$pooling" --out-dir "$out"; do
        words+=("$(launcher_word "$a")")
      done
      # shellcheck disable=SC2086  # probe_args is a list of options
      ${probe_cmd} "$out/log/probe.log" "${words[@]}" $probe_args
      grep -hs "test accuracy" "$out/log/probe.log" || true
    done
  done
fi

if [ "$stage" -le 3 ] && [ "$stop_stage" -ge 3 ]; then
  log "stage 3: $expdir/RESULTS.md"
  systems=()
  for f in $run_feats; do
    for c in "${tests[@]}"; do
      if [ "${#tests[@]}" -eq 1 ]; then systems+=("$f=$(probe_dir "$f" "$c")")
      else systems+=("$f, $c=$(probe_dir "$f" "$c")"); fi
    done
  done
  {
    echo "# Speaker identification (egs/voxceleb/sid1)"
    echo
    echo "- corpus: ${voxceleb:-synthetic ($corpus)}"
    for s in $sets; do
      echo "- $s: $(wc -l < "data/$s/utt2spk") utterances, $(wc -l < "data/$s/spk2utt") speakers"
    done
    echo "- probe: utterance task, labels utt2spk, $pooling pooling${probe_args:+, $probe_args}"
    echo "- pase+: ${pase_ckpt:-(not run)}; pase+_random: $fe_cfg, seed $random_seed"
    if [ ${#conds[@]} -gt 0 ]; then
      what=; $use_sim && what=" (simulated)"
      echo "- test conditions: ${conds[*]} (pase-make-condition, seed $condition_seed; noises" \
        "${noise_list:--}, RIRs ${rir_list:--}$what; SNR $snr_low-$snr_high dB); the probes" \
        "are trained on clean train and dev"
    fi
    echo
    pase-summarize-probes "${systems[@]}"
  } > "$expdir/RESULTS.md.tmp"
  mv "$expdir/RESULTS.md.tmp" "$expdir/RESULTS.md"
  cat "$expdir/RESULTS.md"
fi
log "done"

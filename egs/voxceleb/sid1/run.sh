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
#   2  one probe per feature type (pase-probe: utterance task, labels utt2spk, --pooling mean
#      or stats, epoch chosen on dev, scored on test) -> $expdir/probe_<feat>/results.json
#   3  $expdir/RESULTS.md (pase-summarize-probes)
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

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
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
    for s in $sets; do
      pase-dump-feats --cmd "$feat_cmd" --nj "$nj" --cmvn none "${opts[@]}" \
        ${extra[@]+"${extra[@]}"} "data/$s" "$dumpdir/$f/$s"
    done
  done
  log "stage 1: made $(for f in $run_feats; do printf '%s/%s/{train,dev,test} ' "$dumpdir" "$f"; done)"
fi

if [ "$stage" -le 2 ] && [ "$stop_stage" -ge 2 ]; then
  for f in $run_feats; do
    out=$expdir/probe_$f
    log "stage 2: $f probe ($pooling pooling) -> $out (log: $out/log/probe.log)"
    words=()
    for a in pase-probe --train "$dumpdir/$f/train" --dev "$dumpdir/$f/dev" \
      --test "$dumpdir/$f/test" --labels utt2spk --task utt --pooling "$pooling" \
      --out-dir "$out"; do
      words+=("$(launcher_word "$a")")
    done
    # shellcheck disable=SC2086  # probe_args is a list of options
    ${probe_cmd} "$out/log/probe.log" "${words[@]}" $probe_args
    grep -hs "test accuracy" "$out/log/probe.log" || true
  done
fi

if [ "$stage" -le 3 ] && [ "$stop_stage" -ge 3 ]; then
  log "stage 3: $expdir/RESULTS.md"
  systems=()
  for f in $run_feats; do systems+=("$f=$expdir/probe_$f"); done
  {
    echo "# Speaker identification (egs/voxceleb/sid1)"
    echo
    echo "- corpus: ${voxceleb:-synthetic ($corpus)}"
    for s in $sets; do
      echo "- $s: $(wc -l < "data/$s/utt2spk") utterances, $(wc -l < "data/$s/spk2utt") speakers"
    done
    echo "- probe: utterance task, labels utt2spk, $pooling pooling${probe_args:+, $probe_args}"
    echo "- pase+: ${pase_ckpt:-(not run)}; pase+_random: $fe_cfg, seed $random_seed"
    echo
    pase-summarize-probes "${systems[@]}"
  } > "$expdir/RESULTS.md.tmp"
  mv "$expdir/RESULTS.md.tmp" "$expdir/RESULTS.md"
  cat "$expdir/RESULTS.md"
fi
log "done"

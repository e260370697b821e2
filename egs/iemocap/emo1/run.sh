#!/usr/bin/env bash
# IEMOCAP 4-class emotion recognition (neutral, happy + excited, angry, sad) with probes on
# frozen features: MFCC, filterbanks, PASE+ (--pase_ckpt) and a random-init PASE+.
# Leave-one-session-out: fold k tests on Session k, picks the epoch on the next session
# (k mod 5 + 1) and trains on the other three; WA and UA pooled over the 5 folds.
#
#   ./run.sh --iemocap /data/IEMOCAP_full_release --pase_ckpt FE_e199.ckpt
#   ./run.sh                              # no corpus: a synthetic IEMOCAP tree (stage 0)
#   ./run.sh --stage 2 --feats "mfcc" --probe_args "--pooling mean --hidden 0"
#
# Stages
#   0  data: pase-prepare-iemocap -> data/Session1..5 (utt2emo); without --iemocap a synthetic
#      tree is made first (pase-synth-iemocap -> corpus/IEMOCAP_full_release)
#   1  features of every session: pase-dump-feats -> <dumpdir>/<feat>/Session<N>/feats.scp
#   2  probes: pase-make-folds -> <dumpdir>/<feat>/folds/fold<k>/{train,dev,test}, then
#      pase-probe per fold -> <expdir>/<feat>/fold<k>/results.json (JOB=1:<folds>)
#   3  summary: pase-summarize-probes -> <expdir>/RESULTS.md (one row per feature, folds pooled)
# Defaults of the probe and the features live in conf/run.conf.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

stage=0
stop_stage=3
iemocap=              # IEMOCAP release folder (holds Session1..5); "" = synthetic corpus
synth_dir=corpus      # where stage 0 makes the synthetic corpus
synth_args=           # pase-synth-iemocap options, e.g. "--utts-per-emotion 10 --seed 1"
prep_args=            # pase-prepare-iemocap options, e.g. "--skip-bad-audio"
sessions="1 2 3 4 5"
feats=                # default: mfcc fbank pase+_random, and pase+ when --pase_ckpt is given
fe_cfg=PASE+          # encoder of the pase+ and pase+_random features
pase_ckpt=            # encoder weights of the pase+ features (e.g. FE_e199.ckpt)
random_seed=0         # seed of the random-init encoder (pase-save-random-encoder)
spk_norm=true         # per-speaker mean and variance normalisation of the features
dev_offset=1          # fold k: dev = the session dev_offset after k (cyclically)
seed=0                # probe seed
nj=2                  # parallel jobs (audio checks, dumping jobs, probes)
ngpu=0                # > 0: PASE features on cuda
dumpdir=dump
expdir=exp
probe_args=           # conf/run.conf
mfcc_args=            # conf/run.conf
fbank_args=           # conf/run.conf
pase_args=            # conf/run.conf

if [ ! -f path.sh ] || [ ! -f cmd.sh ] || [ ! -e utils/parse_options.sh ]; then
  echo "$0: run this script from its recipe folder (cd egs/iemocap/emo1)" >&2
  exit 1
fi
# shellcheck disable=SC1091
[ -f conf/run.conf ] && . conf/run.conf
help_message="Usage: $0 [options]   (stages: see the header of $0)
  e.g. $0 --iemocap /data/IEMOCAP_full_release --pase_ckpt FE_e199.ckpt
Options (default):
  --stage ($stage) --stop_stage ($stop_stage)
  --iemocap DIR          IEMOCAP release folder holding Session1..5 (\"\": synthetic corpus)
  --synth_dir DIR ($synth_dir)  --synth_args \"...\" (pase-synth-iemocap options)
  --prep_args \"...\"      pase-prepare-iemocap options (e.g. --skip-bad-audio)
  --sessions LIST        ($sessions)
  --feats LIST           mfcc fbank pase+ pase+_random (default: all but pase+, which needs
                         --pase_ckpt and is added when it is given)
  --fe_cfg CFG ($fe_cfg)  --pase_ckpt FILE  --random_seed N ($random_seed)
  --spk_norm true|false  per-speaker mean/variance normalisation ($spk_norm)
  --dev_offset N ($dev_offset)  --seed N ($seed)  --nj N ($nj)  --ngpu N ($ngpu)
  --dumpdir DIR ($dumpdir)  --expdir DIR ($expdir)
  --probe_args \"...\"     pase-probe options ($probe_args)
  --mfcc_args \"...\" ($mfcc_args)  --fbank_args \"...\" ($fbank_args)
  --pase_args \"...\" ($pase_args)"
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

if [ -z "$feats" ]; then
  feats="mfcc fbank pase+_random"
  [ -z "$pase_ckpt" ] || feats="mfcc fbank pase+ pase+_random"
fi
read -r -a feat_list <<< "$feats"
for f in "${feat_list[@]}"; do
  case $f in
    mfcc|fbank|pase+_random) ;;
    pase+)
      if [ -z "$pase_ckpt" ]; then
        echo "$0: --feats pase+ needs --pase_ckpt (an encoder checkpoint, e.g. FE_e199.ckpt)" >&2
        exit 1
      fi ;;
    *) echo "$0: --feats: unknown feature $f (mfcc, fbank, pase+, pase+_random)" >&2; exit 1 ;;
  esac
done
if [ -n "$pase_ckpt" ] && [ ! -f "$pase_ckpt" ]; then
  echo "$0: --pase_ckpt $pase_ckpt: no such file" >&2
  exit 1
fi
groups=()
for s in $sessions; do groups+=("Session$s"); done
num_folds=${#groups[@]}
synthetic=false
if [ -z "$iemocap" ]; then
  synthetic=true
  iemocap=$synth_dir/IEMOCAP_full_release
fi
device=cpu
[ "$ngpu" -eq 0 ] || device=cuda

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  if [ "$synthetic" = true ]; then
    log "stage 0: no --iemocap: synthetic IEMOCAP corpus in $synth_dir"
    # shellcheck disable=SC2086  # synth_args is a list of options
    pase-synth-iemocap --nj "$nj" $synth_args "$synth_dir"
  elif [ ! -d "$iemocap" ]; then
    echo "$0: --iemocap $iemocap: no such folder (the IEMOCAP release folder holding" \
      "Session1..5, e.g. /data/IEMOCAP_full_release)" >&2
    exit 1
  fi
  log "stage 0: data prep from $iemocap"
  # shellcheck disable=SC2086  # prep_args is a list of options
  pase-prepare-iemocap --nj "$nj" --sessions "$sessions" $prep_args "$iemocap" data
  log "stage 0: made $(printf 'data/%s ' "${groups[@]}")(counts: data/emotion_counts.tsv)"
fi

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
  norm=(--cmvn none)
  [ "$spk_norm" = true ] && norm=(--cmvn speaker --apply-cmvn --norm-vars)
  for f in "${feat_list[@]}"; do
    log "stage 1: $f features of ${groups[*]}"
    case $f in
      mfcc) opts=(--feat-type mfcc); extra=$mfcc_args ;;
      fbank) opts=(--feat-type fbank); extra=$fbank_args ;;
      pase+) opts=(--feat-type pase --fe-cfg "$fe_cfg" --ckpt "$pase_ckpt"); extra=$pase_args ;;
      pase+_random)
        ckpt=$expdir/pase+_random/FE_random.ckpt
        pase-save-random-encoder --fe-cfg "$fe_cfg" --seed "$random_seed" "$ckpt"
        opts=(--feat-type pase --fe-cfg "$fe_cfg" --ckpt "$ckpt"); extra=$pase_args ;;
    esac
    for g in "${groups[@]}"; do
      # shellcheck disable=SC2086  # extra is a list of options
      pase-dump-feats --cmd "$feat_cmd" --nj "$nj" --device "$device" "${opts[@]}" "${norm[@]}" \
        $extra "data/$g" "$dumpdir/$f/$g"
    done
  done
fi

if [ "$stage" -le 2 ] && [ "$stop_stage" -ge 2 ]; then
  for f in "${feat_list[@]}"; do
    log "stage 2: $f: $num_folds leave-one-session-out folds, probes in $expdir/$f"
    pase-make-folds --feats-root "$dumpdir/$f" --labels-root data --labels utt2emo \
      --dev-offset "$dev_offset" --out-dir "$dumpdir/$f/folds" "${groups[@]}"
    folds=$dumpdir/$f/folds/foldJOB
    words=()
    for a in pase-probe --train "$folds/train" --dev "$folds/dev" --test "$folds/test" \
      --labels utt2emo --seed "$seed" --num-threads 1 --out-dir "$expdir/$f/foldJOB"; do
      words+=("$(launcher_word "$a")")
    done
    # shellcheck disable=SC2086  # probe_args is a list of options
    ${probe_cmd} --max-jobs-run "$nj" JOB=1:"$num_folds" "$expdir/$f/log/probe.JOB.log" \
      "${words[@]}" $probe_args
  done
fi

if [ "$stage" -le 3 ] && [ "$stop_stage" -ge 3 ]; then
  log "stage 3: summary of ${feat_list[*]}"
  pooled=()
  per_fold=()
  for f in "${feat_list[@]}"; do
    runs=()
    for k in $(seq "$num_folds"); do
      runs+=("$expdir/$f/fold$k")
      per_fold+=("$f/fold$k=$expdir/$f/fold$k")
    done
    pooled+=("$f=$(IFS=,; echo "${runs[*]}")")
  done
  pase-summarize-probes --out "$expdir/pooled.md" "${pooled[@]}"
  pase-summarize-probes --out "$expdir/per_fold.md" "${per_fold[@]}"
  {
    echo "# IEMOCAP 4-class emotion recognition (egs/iemocap/emo1)"
    echo
    echo "Corpus: $iemocap, sessions $sessions; classes neu, hap (hap + exc), ang, sad."
    echo "Leave-one-session-out: fold k tests on Session k, picks the epoch on the session"
    echo "$dev_offset after it (cyclically) and trains on the others."
    echo "Probe: pase-probe $probe_args."
    echo "Features: ${feat_list[*]}; per-speaker normalisation $spk_norm; encoder $fe_cfg"
    echo "(pase+: ${pase_ckpt:-not run}; pase+_random: random weights, seed $random_seed)."
    echo
    echo "## Folds pooled"
    echo
    echo "test acc = weighted accuracy (WA) of all test decisions of the folds, with its"
    echo "95 % interval; test UA = unweighted accuracy (mean per-class recall), averaged over"
    echo "the folds; dev acc pooled likewise; epoch and s/epoch averaged."
    echo
    cat "$expdir/pooled.md"
    echo
    echo "## Per fold"
    echo
    cat "$expdir/per_fold.md"
  } > "$expdir/RESULTS.md"
  cat "$expdir/pooled.md"
  log "stage 3: made $expdir/RESULTS.md"
fi
log "done"

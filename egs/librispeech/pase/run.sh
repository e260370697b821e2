#!/usr/bin/env bash
# PASE / PASE+ self-supervised training on LibriSpeech, then Kaldi feature dumping.
# Run from this folder:  ./run.sh --librispeech /data/LibriSpeech [--stage N --stop_stage M]
#
# Stages
#  -1  get the corpus (local/get_corpus.sh: download from openslr.org, needs the internet;
#      the bundled egs/mini_librispeech_synth recipe synthesises one instead)
#   0  data prep: LibriSpeech subsets -> Kaldi data dirs data/train (train_sets merged),
#      data/<valid_set>, data/<test_set> (dashes become underscores)
#   1  PASE data config data/pase_data.json (train / valid / test by speakers)
#      (a run that trains, stage 3, first gets its distortions config: see --distortions)
#   2  target statistics <expdir>/stats.json
#   3  self-supervised training -> <expdir>/FE_e<epoch>.ckpt (resumes; --ngpu N > 1: torchrun)
#   4  dump features of every set with the newest FE_e*.ckpt (or --pase_ckpt) ->
#      <dumpdir>/<set>/feats.scp (+ utt2num_frames, feat_dim, cmvn)
# Distortions (PASE+), made or checked after stage 0 by a run that trains (before stage 1):
#   --distortions simulated  local/prepare_distortions.sh -> <distortions_dir>/distortions.json:
#                            filters designed here, overlapping speech from data/train,
#                            simulated impulse responses and noises (no download)
#   --distortions openslr    the same with OpenSLR 28 RIRS_NOISES (+ MUSAN's noises with
#                            --musan true), downloaded into <download_dir> (resumable, checked)
#   --distortions config     --dtrans_cfg, or the train config's dtrans_cfg, as they are
#   --distortions auto       (default) config when --dtrans_cfg is given or the train config's
#                            can be used; else openslr when <download_dir>/RIRS_NOISES is
#                            already there; else simulated
# Recipe-specific defaults may live in conf/run.conf (sourced before the command line).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

stage=0
stop_stage=4
librispeech=            # folder holding the subset folders and SPEAKERS.TXT
download_dir=downloads  # stage -1 target (librispeech defaults to $download_dir/LibriSpeech)
train_sets="train-clean-100"
valid_set="dev-clean"   # "" = hold out valid_spk_ratio of the training speakers
test_sets="test-clean"
fe_cfg=PASE+            # frontend: PASE, PASE+ or a .cfg file
net_cfg=workers+        # workers: workers, workers+ or a .cfg file
dtrans_cfg=             # distortions cfg; "" = the train config's; "none" = no distortions
distortions=auto        # auto | simulated | openslr | config (see the header)
musan=false             # --distortions openslr: MUSAN's noises too (an 11 GB download)
distortions_dir=data/distortions  # what --distortions simulated|openslr makes
train_config=conf/train_pase+.yaml
train_args=             # extra pase-train options, appended last (e.g. "--max-steps 1000")
stats_args="--max-batches 20 --chunk-size 16000"
resume=true             # stage 3 continues from the last training state
nj=4                    # parallel jobs (data prep threads, dumping jobs)
ngpu=0                  # GPUs for training (0: CPU; > 1: torchrun) and dumping (> 0: cuda)
tag=                    # experiment name: exp/<tag> (default: the train config's name)
pase_ckpt=              # dump with this encoder checkpoint (e.g. FE_e199.ckpt), no training
dumpdir=dump
dump_sets=              # default: train, the valid set and the test sets
cmvn=speaker            # dump: Kaldi cmvn stats: speaker (cmvn.scp) | global | none
dump_args=              # extra pase-dump-feats options (e.g. "--apply-cmvn --norm-vars")
valid_spk_ratio=0.1
make_corpus=false       # stage 0 runs local/get_corpus.sh first when --librispeech is missing

help_message="Usage: $0 [options]
  e.g. $0 --librispeech /data/LibriSpeech --train_sets \"train-clean-100 train-clean-360\"
       $0 --stage 4 --stop_stage 4 --pase_ckpt FE_e199.ckpt   # dump with the published model
Options (default):
  --stage ($stage) --stop_stage ($stop_stage)
  --librispeech DIR      folder holding the subset folders ($librispeech)
  --download_dir DIR     stage -1 download folder ($download_dir)
  --train_sets LIST      merged into data/train ($train_sets)
  --valid_set NAME       ($valid_set; \"\" = held-out training speakers)
  --test_sets LIST       ($test_sets)
  --fe_cfg CFG           ($fe_cfg)    --net_cfg CFG ($net_cfg)
  --dtrans_cfg CFG       distortions (\"\" = train config's, none = off) ($dtrans_cfg)
  --distortions auto|simulated|openslr|config  where the distortions come from ($distortions)
  --musan true|false     openslr: MUSAN's noises too ($musan)
  --distortions_dir DIR  made by simulated|openslr ($distortions_dir)
  --train_config YAML    ($train_config)  --train_args \"...\" (extra pase-train options)
  --stats_args \"...\"     pase-make-stats options ($stats_args)
  --resume true|false    ($resume)  --tag NAME ($tag)
  --nj N ($nj)  --ngpu N ($ngpu)
  --pase_ckpt FILE       dump with this checkpoint instead of the trained one
  --dumpdir DIR ($dumpdir)  --dump_sets LIST  --cmvn speaker|global|none ($cmvn)
  --dump_args \"...\"      extra pase-dump-feats options
  --make_corpus true|false  stage 0 gets the corpus first if missing ($make_corpus)"

if [ ! -f path.sh ] || [ ! -f cmd.sh ] || [ ! -e utils/parse_options.sh ]; then
  echo "$0: run this script from its recipe folder (e.g. cd egs/librispeech/pase)" >&2
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
dirname_of() { echo "${1//-/_}"; }  # subset name -> data dir name

[ -n "$librispeech" ] || librispeech=$download_dir/LibriSpeech
[ -n "$tag" ] || tag=$(basename "${train_config%.*}")
expdir=exp/$tag
read -r -a train_list <<< "$train_sets"
read -r -a test_list <<< "$test_sets"
valid_dir=
[ -z "$valid_set" ] || valid_dir=data/$(dirname_of "$valid_set")
if [ -z "$dump_sets" ]; then
  dump_sets="train"
  [ -z "$valid_set" ] || dump_sets+=" $(dirname_of "$valid_set")"
  for s in "${test_list[@]}"; do dump_sets+=" $(dirname_of "$s")"; done
fi

if [ -n "$pase_ckpt" ] && [ ! -f "$pase_ckpt" ]; then
  echo "$0: --pase_ckpt $pase_ckpt: no such file" >&2
  exit 1
fi
if [ "$stage" -le -1 ] && [ "$stop_stage" -ge -1 ]; then
  log "stage -1: corpus -> $librispeech"
  local/get_corpus.sh "$download_dir" "${train_list[@]}" ${valid_set:+"$valid_set"} "${test_list[@]}"
fi

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  log "stage 0: data prep from $librispeech"
  if [ ! -d "$librispeech" ] && [ "$make_corpus" = true ]; then
    local/get_corpus.sh "$download_dir" "${train_list[@]}" ${valid_set:+"$valid_set"} "${test_list[@]}"
  fi
  if [ ! -d "$librispeech" ]; then
    echo "$0: --librispeech $librispeech: no such folder (the folder holding the subset" \
      "folders, e.g. /data/LibriSpeech; or run stage -1)" >&2
    exit 1
  fi
  pase-prepare-librispeech --nj "$nj" "$librispeech" data/train "${train_list[@]}"
  [ -z "$valid_set" ] || pase-prepare-librispeech --nj "$nj" "$librispeech" "$valid_dir" "$valid_set"
  for s in "${test_list[@]}"; do
    pase-prepare-librispeech --nj "$nj" "$librispeech" "data/$(dirname_of "$s")" "$s"
  done
  for d in data/train $valid_dir; do utils/validate_data_dir.sh "$d"; done
  log "stage 0: made data/train ${valid_dir} $(for s in "${test_list[@]}"; do printf 'data/%s ' "$(dirname_of "$s")"; done)"
fi

# Training needs its config and a usable distortions config: made or checked before stage 1.
# Every problem is one line naming what is missing and what makes it.
dist_advice="--distortions simulated (or openslr) makes usable ones, --dtrans_cfg none trains without"
check_distortions() {  # <pase-check-distortions args>: one line on failure
  local msg
  if ! msg=$(pase-check-distortions "$@" 2>&1); then
    echo "$0: ${msg#pase-check-distortions: error: }; $dist_advice" >&2
    return 1
  fi
}
case $distortions in
  auto | simulated | openslr | config) ;;
  *)
    echo "$0: --distortions $distortions: use auto, simulated, openslr or config" >&2
    exit 1
    ;;
esac
dist_cfg=$distortions_dir/distortions.json
if [ "$stage" -le 3 ] && [ "$stop_stage" -ge 3 ] && [ -z "$pase_ckpt" ]; then
  if [ ! -f "$train_config" ]; then
    echo "$0: --train_config $train_config: no such file" >&2
    exit 1
  fi
  if [ -n "$dtrans_cfg" ] && [ "$distortions" != auto ] && [ "$distortions" != config ]; then
    echo "$0: --dtrans_cfg $dtrans_cfg and --distortions $distortions: give one of them" >&2
    exit 1
  fi
  checked=false
  if [ "$distortions" = auto ]; then
    if [ -n "$dtrans_cfg" ]; then
      distortions=config
    elif why=$(pase-check-distortions --train-config "$train_config" 2>&1); then
      distortions=config
      checked=true
    else
      distortions=simulated
      [ ! -f "$download_dir/RIRS_NOISES/.complete" ] || distortions=openslr
      log "distortions: ${why#pase-check-distortions: error: }; using --distortions" \
        "$distortions ($dist_cfg; --distortions openslr downloads OpenSLR 28)"
    fi
  fi
  case $dtrans_cfg,$distortions in
    none,*) ;;                                              # no distortions: nothing to check
    ,config) $checked || check_distortions --train-config "$train_config" || exit 1 ;;
    *,config) check_distortions "$dtrans_cfg" || exit 1 ;;
    *)
      if [ ! -f data/train/wav.scp ]; then
        echo "$0: data/train/wav.scp: no such file (the overlapping speech of --distortions" \
          "$distortions: run stage 0 first), or --dtrans_cfg none trains without" >&2
        exit 1
      fi
      log "distortions ($distortions) -> $dist_cfg"
      local/prepare_distortions.sh --musan "$musan" "$distortions" "$download_dir" data/train \
        "$distortions_dir"
      check_distortions "$dist_cfg" || exit 1
      ;;
  esac
fi

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
  log "stage 1: PASE data config"
  args=(--train-dir data/train --cfg-file data/pase_data.json)
  if [ -n "$valid_dir" ]; then
    args+=(--valid-dir "$valid_dir")
  else
    args+=(--valid-spk-ratio "$valid_spk_ratio")
  fi
  [ ${#test_list[@]} -eq 0 ] || args+=(--test-dir "data/$(dirname_of "${test_list[0]}")")
  pase-make-data-cfg "${args[@]}"
  log "stage 1: made data/pase_data.json"
fi

if [ "$stage" -le 2 ] && [ "$stop_stage" -ge 2 ]; then
  log "stage 2: target statistics for $net_cfg"
  mkdir -p "$expdir"
  # shellcheck disable=SC2086  # stats_args is a list of options
  pase-make-stats --data-cfg data/pase_data.json --net-cfg "$net_cfg" \
    --out-file "$expdir/stats.json" $stats_args
  log "stage 2: made $expdir/stats.json"
fi

if [ "$stage" -le 3 ] && [ "$stop_stage" -ge 3 ] && [ -z "$pase_ckpt" ]; then
  log "stage 3: training $fe_cfg with $net_cfg in $expdir (full log: $expdir/train.log)"
  mkdir -p "$expdir/log"
  opts=(--config "$train_config" --data-cfg data/pase_data.json --stats "$expdir/stats.json"
    --net-cfg "$net_cfg" --fe-cfg "$fe_cfg" --save-path "$expdir")
  if [ "$dtrans_cfg" = none ]; then
    opts+=(--dtrans-cfg "")
  elif [ -n "$dtrans_cfg" ]; then
    opts+=(--dtrans-cfg "$dtrans_cfg")
  elif [ "$distortions" = simulated ] || [ "$distortions" = openslr ]; then
    opts+=(--dtrans-cfg "$dist_cfg")
  fi
  if [ "$ngpu" -eq 0 ]; then
    opts+=(--device cpu)
  else
    opts+=(--device cuda)
  fi
  [ "$resume" = true ] || opts+=(--no-continue true)
  # the full log goes to train.log; a progress line a log interval reaches the terminal
  if [ -t 2 ]; then opts+=(--progress-file /dev/tty); fi
  if [ "$ngpu" -gt 1 ]; then
    launcher=(torchrun --standalone --nproc_per_node "$ngpu" -m pase.bin.train)
  else
    launcher=(pase-train)
  fi
  # paths go through the launcher's shell: quote each (train_args are the user's own words)
  words=()
  for a in "${launcher[@]}" "${opts[@]}"; do words+=("$(launcher_word "$a")"); done
  # shellcheck disable=SC2086  # train_args is a list of options
  ${train_cmd} --gpu "$ngpu" "$expdir/log/train.log" "${words[@]}" $train_args
  log "stage 3: made $(cd "$expdir" && echo FE_e*.ckpt) in $expdir"
fi

if [ "$stage" -le 4 ] && [ "$stop_stage" -ge 4 ]; then
  ckpt=$pase_ckpt
  if [ -z "$ckpt" ] && ! ckpt=$(pase-find-checkpoint "$expdir"); then
    echo "$0: run stage 3 or give --pase_ckpt" >&2
    exit 1
  fi
  device=cpu
  [ "$ngpu" -eq 0 ] || device=cuda
  log "stage 4: dumping $fe_cfg features with $ckpt"
  for s in $dump_sets; do
    # shellcheck disable=SC2086  # dump_args is a list of options
    pase-dump-feats --cmd "$feat_cmd" --nj "$nj" --fe-cfg "$fe_cfg" --ckpt "$ckpt" \
      --device "$device" --cmvn "$cmvn" $dump_args "data/$s" "$dumpdir/$s"
  done
  log "stage 4: made $(for s in $dump_sets; do printf '%s/%s/feats.scp ' "$dumpdir" "$s"; done)"
fi
log "done"

#!/usr/bin/env bash
# Start a training stage on every node of a SLURM allocation: one `accelerate launch` per node, each
# with its node's rank, all meeting at the allocation's first node. DVC runs a stage's command once, on
# the node where `dvc repro` runs; this wrapper, named in launch.train, turns it into a multi-node run:
#   params.yaml:  launch: {train: configs/accelerate/srun-launch.sh configs/accelerate/zero3-multinode.yaml}
#   dvc runs:     configs/accelerate/srun-launch.sh configs/accelerate/zero3-multinode.yaml -m stages.sft
# Run `dvc repro` inside the allocation (sbatch/salloc, one task per node, GPUS_PER_NODE GPUs each,
# default 8), from a checkout (and .venv) on a file system every node sees. The node count comes from
# the allocation and overrides num_machines / num_processes of the accelerate config.
set -euo pipefail
config=$1
shift
accelerate=$(command -v accelerate)
mapfile -t hosts < <(scontrol show hostnames "$SLURM_JOB_NODELIST")  # (| head: SIGPIPE under pipefail)
head_node=${hosts[0]}
nodes=$SLURM_JOB_NUM_NODES
gpus=${GPUS_PER_NODE:-8}
port=${MAIN_PROCESS_PORT:-29500}
# SLURM_NODEID is read by each node's own shell (single quotes), not by this one
exec srun --nodes="$nodes" --ntasks-per-node=1 --kill-on-bad-exit=1 bash -c \
  'exec "$0" launch --config_file "$1" --num_machines "$2" --num_processes "$3" --machine_rank "$SLURM_NODEID" \
     --main_process_ip "$4" --main_process_port "$5" "${@:6}"' \
  "$accelerate" "$config" "$nodes" "$((nodes * gpus))" "$head_node" "$port" "$@"

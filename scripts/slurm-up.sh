#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, for trying (and testing) the cluster path:
#   sudo make slurm-up            # then: sinfo; python src/train.py -m hydra/launcher=slurm ...
# Installs Debian's slurm-wlm and munge if they are missing (apt-get, as root), writes a
# slurm.conf for this host (all its CPUs and most of its memory, no GPUs, no accounting) and
# starts munged, slurmctld and slurmd. Running it again restarts them with a fresh config.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
    echo "slurm-up: needs root (apt-get, and the daemons run as root): sudo make slurm-up" >&2
    exit 2
fi
if ! command -v slurmctld > /dev/null || ! command -v munged > /dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    if ! command -v apt-get > /dev/null; then
        echo "slurm-up: no apt-get here; install SLURM (slurmctld, slurmd) and munge yourself" >&2
        exit 2
    fi
    apt-get update -qq
    apt-get install -y -qq slurm-wlm munge > /dev/null
fi

host=$(hostname -s)
cpus=$(nproc)
memory_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 9 / 10 ))
conf_dir=/etc/slurm
mkdir -p "$conf_dir" /var/lib/slurm/slurmd /var/lib/slurm/slurmctld /var/log/slurm
cat > "$conf_dir/slurm.conf" <<CONF
# Written by lenetlab's scripts/slurm-up.sh: one node, this host.
ClusterName=lenetlab
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmdSpoolDir=/var/lib/slurm/slurmd
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
NodeName=$host CPUs=$cpus RealMemory=$memory_mb State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF

pkill -x slurmd || true
pkill -x slurmctld || true
if ! pgrep -x munged > /dev/null; then
    [ -f /etc/munge/munge.key ] || mungekey --create > /dev/null 2>&1 || /usr/sbin/create-munge-key
    mkdir -p /run/munge && chown munge:munge /run/munge
    runuser -u munge -- /usr/sbin/munged
fi
sleep 1
slurmctld -c  # -c: forget jobs of an earlier start
slurmd
for _ in $(seq 30); do
    if sinfo -h -o %T 2> /dev/null | grep -qE '^(idle|mixed|allocated)'; then
        echo "slurm-up: one-node cluster '$host' up ($cpus CPUs, $memory_mb MB): $(sinfo -h -o '%P %T')"
        exit 0
    fi
    sleep 1
done
echo "slurm-up: the node did not come up; see /var/log/slurm/slurmctld.log and slurmd.log" >&2
exit 1

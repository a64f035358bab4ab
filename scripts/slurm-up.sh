#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, for trying (and testing) the cluster path:
#   sudo make slurm-up            # then: sinfo; python src/train.py -m hydra/launcher=slurm ...
# Installs Debian's slurm-wlm, slurmdbd, munge and MariaDB if they are missing (apt-get, as
# root), writes a slurm.conf for this host (all its CPUs and most of its memory, no GPUs) and
# starts munged, MariaDB, slurmdbd, slurmctld and slurmd. Running it again restarts SLURM with a
# fresh config. Accounting (slurmdbd) is there because submitit asks `sacct` for a job's state:
# without it, a job killed outside Python (kill -9, out of memory) is never seen to end.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
    echo "slurm-up: needs root (apt-get, and the daemons run as root): sudo make slurm-up" >&2
    exit 2
fi
if ! command -v slurmctld > /dev/null || ! command -v munged > /dev/null \
    || ! command -v slurmdbd > /dev/null || ! command -v mariadbd > /dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    if ! command -v apt-get > /dev/null; then
        echo "slurm-up: no apt-get here; install SLURM (slurmctld, slurmd) and munge yourself" >&2
        exit 2
    fi
    apt-get update -qq
    apt-get install -y -qq slurm-wlm slurmdbd munge mariadb-server > /dev/null
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
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
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

cat > "$conf_dir/slurmdbd.conf" <<CONF
# Written by lenetlab's scripts/slurm-up.sh: job accounting in the local MariaDB.
AuthType=auth/munge
DbdHost=localhost
SlurmUser=root
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=slurm
StorageLoc=slurm_acct_db
PidFile=/run/slurmdbd.pid
LogFile=/var/log/slurm/slurmdbd.log
CONF
chmod 600 "$conf_dir/slurmdbd.conf"

wait_for() {  # wait_for <what> <command...>: up to 30 s
    local what=$1
    shift
    for _ in $(seq 60); do
        if "$@" > /dev/null 2>&1; then return 0; fi
        sleep 0.5
    done
    echo "slurm-up: $what did not come up" >&2
    exit 1
}

pkill -x slurmd || true
pkill -x slurmctld || true
pkill -x slurmdbd || true
if ! pgrep -x munged > /dev/null; then
    [ -f /etc/munge/munge.key ] || mungekey --create > /dev/null 2>&1 || /usr/sbin/create-munge-key
    mkdir -p /run/munge && chown munge:munge /run/munge
    runuser -u munge -- /usr/sbin/munged
fi
if ! pgrep -x mariadbd > /dev/null; then
    mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
    runuser -u mysql -- /usr/sbin/mariadbd > /var/log/slurm/mariadbd.log 2>&1 &
fi
wait_for "MariaDB (see /var/log/slurm/mariadbd.log)" mariadb -e "select 1"
mariadb -e "CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurm';
            GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';"
slurmdbd
wait_for "slurmdbd (see /var/log/slurm/slurmdbd.log)" sacctmgr -n list cluster
sacctmgr -n list cluster format=cluster | grep -qw lenetlab || sacctmgr -i add cluster lenetlab > /dev/null
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

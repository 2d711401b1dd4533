#!/usr/bin/env bash
# A one-node Slurm cluster on this machine for the Slurm executor's tests, from Debian's packages
# (slurm-wlm, munge): this host is the only node, no accounting database (the case the executor
# must handle without sacct), no cgroups (proctrack/linuxproc, task/none) so it runs in containers.
#
#   test/slurm/cluster.sh start    as root: write the config, start munged, slurmctld and slurmd,
#                                  wait until the node takes jobs (reuses a cluster it started before)
#   test/slurm/cluster.sh stop     stop the daemons this script started
#   test/slurm/cluster.sh status   exit 0 when the cluster takes jobs
#
# It writes /etc/slurm/slurm.conf only when there is none or when it wrote it itself, so it never
# replaces a real cluster's configuration. State, spool and logs live in $TOMOPRIOR_SLURM_STATE.
set -euo pipefail
STATE=${TOMOPRIOR_SLURM_STATE:-/var/tmp/tomoprior-slurm}
CONF=/etc/slurm/slurm.conf
MARKER="# written by tomoprior test/slurm/cluster.sh"
HOST=$(hostname -s)

say() { echo "slurm cluster: $*" >&2; }

ready() {
  # The node must be up and not drained; `sinfo -h -o %t` prints idle, mix, alloc… per state.
  local state
  state=$(sinfo -h -n "$HOST" -o %t 2>/dev/null | head -1) || return 1
  [[ "$state" =~ ^(idle|mix|alloc|comp)$ ]]
}

write_config() {
  if [ -e "$CONF" ] && ! grep -qF "$MARKER" "$CONF"; then
    say "$CONF exists and was not written by this script; not touching it (use that cluster, or move it away)"
    exit 3
  fi
  local cpus mem
  cpus=$(nproc)
  # Leave room for the other processes of the machine; slurmd drains a node declaring more than it has.
  mem=$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
  mem=$((mem * 9 / 10))
  mkdir -p /etc/slurm "$STATE/ctld" "$STATE/spool"
  cat >"$CONF" <<CONF
$MARKER
ClusterName=tomoprior-test
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
# Signals arrive fast in tests: SIGKILL 5 s after SIGTERM (default 30 s).
KillWait=5
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
NodeName=$HOST CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
}

start_munge() {
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then return; fi
  if [ ! -s /etc/munge/munge.key ]; then
    mungekey --create --keyfile=/etc/munge/munge.key
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
  fi
  mkdir -p /run/munge /var/lib/munge /var/log/munge
  chown munge:munge /run/munge /var/lib/munge /var/log/munge
  runuser -u munge -- /usr/sbin/munged
  echo munged >>"$STATE/started"
}

alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start() {
  if [ "$(id -u)" != 0 ]; then
    say "needs root (to write $CONF and start munged, slurmctld, slurmd)"
    exit 4
  fi
  if ready; then return 0; fi
  command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null || {
    say "slurm-wlm and munge are not installed (apt-get install slurm-wlm munge)"
    exit 5
  }
  write_config
  start_munge
  alive "$STATE/slurmctld.pid" || { slurmctld && echo slurmctld >>"$STATE/started"; }
  alive "$STATE/slurmd.pid" || { slurmd && echo slurmd >>"$STATE/started"; }
  for _ in $(seq 60); do
    if ready; then
      say "up: node $HOST ($(sinfo -h -n "$HOST" -o '%c CPUs, %m MB'))"
      return 0
    fi
    # A node left down or drained by an earlier unclean stop comes back on request.
    scontrol update nodename="$HOST" state=resume >/dev/null 2>&1 || true
    sleep 1
  done
  say "did not come up; logs: $STATE/slurmctld.log $STATE/slurmd.log"
  tail -n 20 "$STATE/slurmctld.log" "$STATE/slurmd.log" >&2 || true
  exit 1
}

stop() {
  [ -f "$STATE/started" ] || return 0
  for d in slurmd slurmctld; do
    if grep -qx "$d" "$STATE/started" && alive "$STATE/$d.pid"; then kill "$(cat "$STATE/$d.pid")"; fi
  done
  if grep -qx munged "$STATE/started"; then /usr/sbin/munged --stop >/dev/null 2>&1 || true; fi
  rm -f "$STATE/started"
  say "stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) ready ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac

"""Clusters beyond one embedded LocalCluster, as docs/distributed.md describes them:
a scheduler and workers started as separate `dask scheduler` / `dask worker`
processes (as on separate hosts), and a one-node SLURM that dask-jobqueue
submits the workers to. The scripts run are the documentation's own."""
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import zarr
from distributed import Client

from test_docs import ROOT, standalone

DISTRIBUTED_PAGE = ROOT / "docs" / "distributed.md"


def start(command, log, **kwargs):
    with open(log, "w") as output:
        return subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, **kwargs)


def stop(processes):
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} within {seconds} s")
        time.sleep(0.2)


def test_a_scheduler_and_workers_started_by_hand(tmp_path):
    scheduler_file = tmp_path / "scheduler.json"
    dask = [sys.executable, "-m", "dask"]
    scheduler = start([*dask, "scheduler", "--host", "127.0.0.1", "--port", "0",
                       "--dashboard-address", "127.0.0.1:0",
                       "--scheduler-file", str(scheduler_file)], tmp_path / "scheduler.log")
    processes = [scheduler]
    try:
        wait_for(scheduler_file.exists, 60, "dask scheduler wrote no scheduler file")
        address = json.loads(scheduler_file.read_text())["address"]
        # Two worker commands, as two hosts would run them
        processes += [start([*dask, "worker", address, "--nthreads", "1", "--host",
                             "127.0.0.1", "--name", f"host{i}"], tmp_path / f"worker{i}.log")
                      for i in range(2)]
        script = tmp_path / "on_a_cluster.py"
        script.write_text(standalone(DISTRIBUTED_PAGE, "on_a_cluster.py"))
        with Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
        done = subprocess.run([sys.executable, str(script), address, str(tmp_path)],
                              cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        assert 0.0 <= float(done.stdout.split()[-1]) <= 1.0
        assert "Dask dashboard: http://127.0.0.1:" in done.stderr
        store = zarr.open_group(tmp_path / "on_a_cluster.zarr", mode="r")
        assert store.attrs["snnflow"]["complete"]
    finally:
        stop(processes[::-1])


SLURM_CONF = """\
ClusterName=snnflow-test
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
AuthType=auth/none
CredType=cred/none
SlurmUser=root
SlurmdUser=root
StateSaveLocation={folder}/state
SlurmdSpoolDir={folder}/spool
SlurmctldPidFile={folder}/slurmctld.pid
SlurmdPidFile={folder}/slurmd.pid
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MpiDefault=none
SlurmctldLogFile={folder}/slurmctld.log
SlurmdLogFile={folder}/slurmd.log
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory} State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def slurm(tmp_path):
    """A one-node SLURM (Debian's slurm-wlm) on this machine: a slurmctld and a
    slurmd in the foreground, as root, with no authentication (nothing but this
    machine reaches them). Yields the environment its commands need."""
    if not (shutil.which("slurmctld") and shutil.which("slurmd") and shutil.which("sbatch")):
        pytest.skip("SLURM is not installed (Debian: apt-get install slurm-wlm)")
    if os.geteuid() != 0:
        pytest.skip("a test SLURM runs its daemons as root")
    folder = tmp_path / "slurm"
    for sub in ("state", "spool"):
        (folder / sub).mkdir(parents=True)
    memory_mib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    conf = folder / "slurm.conf"
    conf.write_text(SLURM_CONF.format(host=socket.gethostname().split(".")[0],
                                      ctld_port=free_port(), d_port=free_port(),
                                      folder=folder, cpus=os.cpu_count(),
                                      memory=memory_mib - 1024))
    environment = dict(os.environ, SLURM_CONF=str(conf))
    daemons = [start(["slurmctld", "-D", "-f", str(conf)], folder / "slurmctld.out",
                     env=environment)]
    try:
        wait_for(lambda: subprocess.run(["sinfo"], env=environment,
                                        capture_output=True).returncode == 0,
                 60, "slurmctld did not answer")
        daemons.append(start(["slurmd", "-D", "-f", str(conf)], folder / "slurmd.out",
                             env=environment))
        wait_for(lambda: "idle" in subprocess.run(
            ["sinfo", "-h", "-o", "%t"], env=environment, capture_output=True,
            text=True).stdout, 60, "the SLURM node did not come up")
        yield environment
    finally:
        subprocess.run(["scancel", "--user", "root"], env=environment, capture_output=True)
        stop(daemons[::-1])


@pytest.mark.timeout(900)
def test_a_sweep_on_slurm_through_dask_jobqueue(slurm, tmp_path):
    pytest.importorskip("dask_jobqueue")
    script = tmp_path / "slurm_sweep.py"
    script.write_text(standalone(DISTRIBUTED_PAGE, "slurm_sweep.py"))
    store = tmp_path / "sweep.zarr"
    done = subprocess.run([sys.executable, str(script), "--nodes", "1", "--no-gpu",
                           "--cpus", "1", "--interface", "lo", "--store", str(store)], cwd=tmp_path,
                          env=slurm, capture_output=True, text=True, timeout=600)
    jobs = "".join(path.read_text() for path in Path(tmp_path).glob("slurm-*.out"))
    assert done.returncode == 0, done.stderr[-3000:] + jobs[-2000:]
    assert "sparse_categorical_accuracy" in done.stdout
    # The worker really ran as a SLURM job
    assert "Start worker at" in jobs
    points = zarr.open_group(store / "points", mode="r")
    assert sorted(name for name, _ in points.groups()) == ["tau_mem=10.0", "tau_mem=20.0"]
    assert all(point.attrs["snnflow"]["complete"] for _, point in points.groups())

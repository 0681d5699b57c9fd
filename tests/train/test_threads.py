"""CPU threads and loader workers chosen from the free cores and the model's size (issue 15, part 2);
start-up imports only what a run uses. The choice is tested with fake core and load numbers: no timing."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from train_support import ROOT, env, write_spec

from netspec.api import analyze
from netspec.train import api, setup
from netspec.train import threads as T

SPECS = ROOT / "specs"
TINY_STEP = 15 * 16  # mlp_worked_example's forward multiply-adds for a batch of 16
LENET_STEP = 416_520 * 32  # LeNet-5 at batch 32
RESNET_STEP = 37e6 * 64  # ResNet-18 at 32×32


@pytest.mark.parametrize("cores, busy, free", [
    (2, None, 2), (2, 0.0, 2), (2, 0.3, 2), (2, 0.7, 1), (2, 1.0, 1), (2, 1.9, 1), (2, 5.0, 1),
    (8, 3.0, 5), (8, 2.7, 5), (16, 0.2, 16), (1, 0.0, 1),
])
def test_free_cores(cores, busy, free):
    assert T.free_cores(cores, busy) == free


def test_a_busy_machine_gets_one_thread_and_says_so():
    c = T.choose(2, 1.9, RESNET_STEP)
    assert (c.threads, c.workers) == (1, 0)
    assert str(c) == "threads: 1 (2 cores, 1.9 busy)"


def test_an_idle_machine_gives_a_big_model_every_core():
    assert T.choose(2, 0.05, RESNET_STEP).threads == 2
    assert T.choose(16, 0.0, RESNET_STEP).threads == 16
    assert T.choose(16, 6.2, RESNET_STEP).threads == 10
    assert T.choose(4, None, None).threads == 4  # nothing known: torch's default


def test_a_small_model_stays_on_one_thread():
    c = T.choose(16, 0.0, TINY_STEP)
    assert c.threads == 1
    assert str(c) == "threads: 1 (16 cores, 0.0 busy; a small model: 240 multiply-adds a batch)"
    assert T.choose(16, 0.0, 3 * T.MACS_PER_THREAD).threads == 3  # a medium one: as many as it keeps busy
    assert T.choose(2, 0.0, LENET_STEP).threads == 2  # LeNet-5 gains from 2 threads on an idle machine
    assert T.threads_for_size(0) == 1


def test_set_threads_and_omp_num_threads_win():
    assert str(T.choose(2, 1.9, RESNET_STEP, threads=2)) == "threads: 2 (train.threads)"
    assert str(T.choose(2, 1.9, RESNET_STEP, threads=2, threads_by="--threads")) == "threads: 2 (--threads)"
    assert T.choose(16, 0.0, RESNET_STEP, env_threads=1).threads == 1  # torchrun's OMP_NUM_THREADS=1
    assert T.choose(2, 0.0, TINY_STEP, threads=2, env_threads=1).threads == 2


def test_a_resumed_run_keeps_its_threads_while_the_cores_are_free():
    assert T.choose(4, 0.0, TINY_STEP, resumed=2).threads == 2
    assert "as the resumed run" in str(T.choose(4, 0.0, TINY_STEP, resumed=2))
    assert T.choose(4, 3.5, RESNET_STEP, resumed=4).threads == 1  # the machine got busy: not kept
    assert T.choose(4, 0.0, RESNET_STEP, resumed=4).threads == 4


def test_loader_workers_take_the_cores_left_for_lazy_data_only():
    assert T.choose(8, 0.0, TINY_STEP, lazy_data=True, batches=100).workers == 7
    assert T.choose(16, 0.0, TINY_STEP, lazy_data=True, batches=100).workers == T.MAX_WORKERS
    assert T.choose(8, 0.0, RESNET_STEP, lazy_data=True, batches=100).workers == 0  # every core computes
    assert T.choose(8, 7.9, TINY_STEP, lazy_data=True, batches=100).workers == 0  # a busy machine
    assert T.choose(8, 0.0, TINY_STEP, lazy_data=True, batches=3).workers == 0  # too few batches to pay off
    assert T.choose(8, 0.0, TINY_STEP, lazy_data=False, batches=100).workers == 0  # in memory: no loader
    assert T.choose(2, 1.9, TINY_STEP, workers=3, lazy_data=True, batches=3).workers == 3  # as set
    c = T.choose(8, 0.0, TINY_STEP, lazy_data=True, batches=100)
    assert str(c).endswith("; 7 loader workers)")


def test_off_the_cpu_one_thread_feeds_the_device():
    c = T.choose(16, 0.0, None, device="cuda", lazy_data=True, batches=100)
    assert (c.threads, c.workers) == (1, T.MAX_WORKERS)
    assert "the model runs on cuda" in str(c)


def test_while_training_threads_drop_at_once_and_come_back_after_two_looks():
    assert T.retune(2, 2, 1.9, RESNET_STEP, 0) == (1, 0)  # the machine got busy: one thread now
    assert T.retune(8, 8, 3.0, RESNET_STEP, 1) == (5, 0)
    assert T.retune(1, 2, 0.0, RESNET_STEP, 0) == (1, 1)  # free again: wait for a second look
    assert T.retune(1, 2, 0.0, RESNET_STEP, 1) == (2, 0)
    assert T.retune(1, 2, 0.9, RESNET_STEP, 1) == (1, 0)  # still taken: start counting again
    assert T.retune(1, 16, 0.0, TINY_STEP, 5) == (1, 0)  # a small model never gains threads
    assert T.retune(2, 2, None, RESNET_STEP, 0) == (2, 0)  # no reading: no change


def test_only_chosen_threads_are_watched():
    assert T.choose(2, 0.0, RESNET_STEP).auto and T.choose(2, 1.9, RESNET_STEP, resumed=1).auto
    assert not T.choose(2, 0.0, RESNET_STEP, threads=2).auto
    assert not T.choose(2, 0.0, RESNET_STEP, env_threads=2).auto
    assert not T.choose(2, 0.0, None, device="cuda").auto
    applied: list[int] = []
    watch = T.ThreadWatch(T.choose(2, 0.0, RESNET_STEP), applied.append)
    assert watch.poll() is None and applied == []  # a look only every WATCH_WINDOW_S seconds


def test_openmp_spinning_is_limited_only_before_torch_and_unless_chosen():
    environ: dict[str, str] = {}
    assert T.limit_openmp_spinning(environ, {}) and environ == {"GOMP_SPINCOUNT": T.OPENMP_SPINCOUNT}
    for chosen in ({"GOMP_SPINCOUNT": "5"}, {"OMP_WAIT_POLICY": "active"}):
        environ = dict(chosen)
        assert not T.limit_openmp_spinning(environ, {}) and environ == chosen
    environ = {}
    assert not T.limit_openmp_spinning(environ, {"torch": object()}) and environ == {}


def test_the_meter_reads_a_load():
    busy = T.CpuMeter().busy()
    assert busy is None or busy >= 0
    assert T.usable_cores() >= 1


def test_model_size_binds_symbolic_lengths_from_the_data():
    graph = analyze(SPECS / "pytorch_lstm.yaml")  # macs 70656*T
    assert setup.forward_macs(graph, [(20, 10), (20, 128)]) == 70656 * 20
    assert setup.forward_macs(graph, []) == 70656 * setup.UNBOUND_DIM
    assert setup.forward_macs(analyze(SPECS / "lenet5.yaml"), [(1, 32, 32), ()]) == 416_520


def test_the_trainer_applies_its_choice(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = torch.get_num_threads()
    try:
        trainer = api.prepare(SPECS / "mlp_worked_example.yaml", {"device": "cpu"}, write=False, quiet=True)
        assert trainer.threads.threads == torch.get_num_threads() == 1  # a tiny model, on any machine
        trainer = api.prepare(SPECS / "lenet5.yaml", {"subset": 64, "device": "cpu"}, write=False, quiet=True)
        assert 1 <= trainer.threads.threads == torch.get_num_threads() <= T.usable_cores()
        trainer = api.prepare(SPECS / "lenet5.yaml", {"subset": 64, "device": "cpu", "threads": 2}, write=False,
                              quiet=True)
        assert (trainer.threads.threads, torch.get_num_threads()) == (2, 2)
    finally:
        torch.set_num_threads(before)


def test_a_dry_run_imports_neither_dynamo_nor_sklearn_nor_matplotlib():
    code = ("import sys; from netspec.cli.main import main; rc = main(['build', sys.argv[1], '--dry-run']); "
            "heavy = [m for m in ('torch._dynamo', 'sklearn.datasets', 'matplotlib') if m in sys.modules]; "
            "assert not heavy, heavy; sys.exit(rc)")
    p = subprocess.run([sys.executable, "-c", code, str(SPECS / "lenet5.yaml")], capture_output=True, text=True,
                       env=env(), cwd=ROOT)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "dry run ok" in p.stdout


def test_digits_are_scikit_learns():
    from sklearn.datasets import load_digits

    from netspec.train.data import digits

    x, y, k = digits()
    d = load_digits()
    assert torch.equal(x, torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0)
    assert torch.equal(y, torch.tensor(d.target, dtype=torch.long)) and k == 10


def test_a_run_records_its_threads(tmp_path):
    import yaml

    from netspec.train.checkpoint import load_checkpoint

    spec = write_spec(tmp_path)  # threads: 1
    api.train(spec, flags={"epochs": 1, "subset": 64}, out=tmp_path / "run", quiet=True)
    assert load_checkpoint(tmp_path / "run" / "last.pt")["threads"] == 1
    assert yaml.safe_load((tmp_path / "run" / "config.yaml").read_text(encoding="utf-8"))["threads"] == 1

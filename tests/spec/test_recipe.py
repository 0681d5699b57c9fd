"""Options of the train: section that the chosen optimizer, schedule, task, loss or data set does not take
are located warnings (check, build, dry run), never dropped silently, and never a refusal that would
break `--optimizer sgd` over a spec written for Adam. The table of who takes what is checked against
torch's optimizer signatures and against the schedule's own arithmetic."""

from __future__ import annotations

import inspect
import json

import pytest
import torch

from netspec.cli.main import main
from netspec.spec.recipe import TAKEN_BY, ignored_options, written
from netspec.spec.train import OPTIMIZERS, SCHEDULES, TASKS, OptimizerConfig, ScheduleConfig, TrainConfig
from netspec.train.schedule import OPTIMIZER_TABLE, LRSchedule
from tests.train_support import write_spec

ADAM_SPEC = """name: tiny
input: [4]
layers:
  - dense: 1
train:
  data: {name: logic, samples: 64}
  optimizer: {name: adam, lr: 0.01, betas: [0.8, 0.9]}
  epochs: 1
  device: cpu
"""


def _where(text: str, word: str, path) -> str:
    """file:line:col of the first `word` in `text`, counted here from the text itself (1-based)."""
    for i, line in enumerate(text.splitlines(), 1):
        if word in line:
            return f"{path}:{i}:{line.index(word) + 1}"
    raise AssertionError(word)


def _cli(capsys, *args):
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


def test_check_warns_of_betas_under_sgd_at_its_line(tmp_path, capsys):
    text = ADAM_SPEC.replace("name: adam", "name: sgd")
    spec = write_spec(tmp_path, text, "s.yaml")
    rc, out, _ = _cli(capsys, "check", spec)
    assert rc == 0
    where = _where(text, "betas", spec)
    assert f"{where}: warning: train.optimizer.betas: ignored: optimizer 'sgd' does not take betas " \
           "(adam and adamw do)" in out, out
    assert "hint: remove it, or choose an optimizer that takes it" in out
    # --strict: warnings are errors, this one too, at the same place
    rc, _, err = _cli(capsys, "check", spec, "--strict")
    assert rc == 1 and f"{where}: train.optimizer.betas: ignored" in err, err
    # --json keeps stdout one JSON object, the warning in its "warnings" at its place (stderr: errors only)
    rc, out, err = _cli(capsys, "check", spec, "--json")
    warnings = json.loads(out)["warnings"]
    assert rc == 0 and err == "", err
    assert warnings == [f"{where}: train.optimizer.betas: ignored: optimizer 'sgd' does not take betas (adam and "
                        "adamw do); hint: remove it, or choose an optimizer that takes it"], warnings


def test_a_spec_whose_options_fit_its_choices_has_no_recipe_warning(tmp_path, capsys):
    spec = write_spec(tmp_path, ADAM_SPEC, "s.yaml")
    rc, out, _ = _cli(capsys, "check", spec)
    assert rc == 0 and "warning" not in out


def test_overriding_the_optimizer_warns_instead_of_refusing(tmp_path, capsys):
    spec = write_spec(tmp_path, ADAM_SPEC, "s.yaml")
    rc, out, err = _cli(capsys, "build", spec, "--dry-run", "--optimizer", "sgd")
    assert rc == 0, err
    assert f"{_where(ADAM_SPEC, 'betas', spec)}: warning: train.optimizer.betas: ignored: optimizer 'sgd' " \
           "(--optimizer sgd) does not take betas" in out, out
    assert "hint: --optimizer sgd replaced the spec's optimizer" in out
    # an option given on the command line is named by its flag
    rc, out, err = _cli(capsys, "build", spec, "--dry-run", "--set", "schedule.step_size=3")
    assert rc == 0, err
    assert "warning: --set schedule.step_size=3: ignored: schedule 'none' (the default) does not take step_size " \
           "(step does)" in out, out


def test_a_real_build_logs_the_warning_before_training(tmp_path, capsys):
    spec = write_spec(tmp_path, ADAM_SPEC, "s.yaml")
    rc, out, err = _cli(capsys, "build", spec, "--optimizer", "rmsprop", "--out", tmp_path / "run")
    assert rc == 0, err
    lines = out.splitlines()
    warned = next(i for i, line in enumerate(lines) if "train.optimizer.betas: ignored: optimizer 'rmsprop'" in line)
    assert warned < next(i for i, line in enumerate(lines) if line.startswith("epoch 1/1"))


def test_nesterov_under_another_optimizer_is_ignored_not_refused(tmp_path, capsys):
    text = ADAM_SPEC.replace("{name: adam, lr: 0.01, betas: [0.8, 0.9]}", "{name: sgd, lr: 0.01, momentum: 0.9, "
                                                                         "nesterov: true}")
    spec = write_spec(tmp_path, text, "s.yaml")
    rc, out, err = _cli(capsys, "build", spec, "--dry-run", "--optimizer", "adam")
    assert rc == 0, err
    assert "train.optimizer.nesterov: ignored: optimizer 'adam' (--optimizer adam) does not take nesterov " \
           "(sgd does)" in out
    assert "train.optimizer.momentum: ignored" in out
    # the option from a flag too: dropping that flag is the remedy, not dropping --optimizer
    rc, out, err = _cli(capsys, "build", spec, "--dry-run", "--optimizer", "adam", "--nesterov")
    assert rc == 0 and "warning: --nesterov: ignored" in out and "hint: drop --nesterov, or choose an optimizer " \
        "that takes it" in out and "the option applies again" not in out.split("--nesterov: ignored")[1], out
    # what torch refuses is still refused: Nesterov momentum without momentum
    with pytest.raises(ValueError):
        torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.0, nesterov=True)
    rc, _, err = _cli(capsys, "build", spec, "--dry-run", "--momentum", "0")
    assert rc == 2 and "nesterov needs optimizer 'sgd' with momentum > 0" in err


def test_an_auto_task_is_judged_once_inferred(tmp_path, capsys):
    """check cannot tell what `task: auto` stands for: it says nothing; build infers it and warns."""
    text = ADAM_SPEC.replace("  epochs: 1\n", "  epochs: 1\n  task: {kl_weight: 2}\n  loss: mse\n")
    spec = write_spec(tmp_path, text, "s.yaml")
    rc, out, _ = _cli(capsys, "check", spec)
    assert rc == 0 and "kl_weight" not in out
    rc, out, err = _cli(capsys, "build", spec, "--dry-run")
    assert rc == 0, err
    assert "train.task.kl_weight: ignored: task 'classification' (inferred from the networks) does not take " \
           "kl_weight (vae does)" in out, out
    assert "train.loss" not in out  # classification takes a loss


# --- the table against the implementations ----------------------------------------------------------------
OPTIMIZER_OPTIONS = [k for k in OptimizerConfig.model_fields if k not in ("name", "lr", "weight_decay", "group_lr")]


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_the_optimizer_options_are_torchs_keyword_arguments(name):
    """An option is taken by an optimizer exactly when torch's class has a keyword argument of that name."""
    cls = OPTIMIZER_TABLE[name][0]
    torch_args = set(inspect.signature(cls).parameters)
    for option in OPTIMIZER_OPTIONS:
        chooser, takers = TAKEN_BY[f"optimizer.{option}"]
        assert chooser == "optimizer.name"
        assert (name in takers) == (option in torch_args), (name, option)


def _rates(cfg: ScheduleConfig, epochs: int = 12, steps: int = 3) -> list[list[float]]:
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    s = LRSchedule(opt, cfg, epochs, steps)
    out = []
    for epoch in range(epochs):
        for step in range(steps):
            out.append(s.lr_at(epoch * steps + step, epoch))
        s.end_epoch(epoch, 1.0)  # a metric that never improves: plateau decays
    return out


CHANGED = {"step_size": 2, "gamma": 0.5, "milestones": [2, 5], "min_lr": 0.3, "patience": 0, "factor": 0.5}


@pytest.mark.parametrize("name", SCHEDULES)
def test_a_schedule_option_said_ignored_changes_no_learning_rate(name):
    """What the table calls ignored leaves every learning rate as it was; what it calls taken changes some."""
    given = {"milestones": [3]} if name == "multistep" else {}  # without milestones, gamma has nothing to do
    base = ScheduleConfig(name=name, **given)
    for option, value in CHANGED.items():
        _, takers = TAKEN_BY[f"schedule.{option}"]
        changed = _rates(ScheduleConfig(name=name, **{**given, option: value})) != _rates(base)
        assert changed == (name in takers), (name, option)


def test_the_table_names_real_options_and_real_choices():
    models = {"optimizer": OptimizerConfig, "schedule": ScheduleConfig}
    for key, (chooser, takers) in TAKEN_BY.items():
        section, _, field = key.rpartition(".")
        model = models.get(section) or TrainConfig.model_fields[section].annotation if section else TrainConfig
        assert field in model.model_fields, key
        choices = {"optimizer.name": OPTIMIZERS, "schedule.name": SCHEDULES, "task.name": TASKS}.get(chooser)
        if choices is None:
            from netspec.spec.train import DATASETS as choices
        assert takers and set(takers) <= set(choices), key


def test_written_keys_are_the_ones_given_not_the_defaults():
    cfg = TrainConfig.model_validate({"optimizer": {"name": "sgd", "betas": [0.9, 0.99]}, "epochs": 2})
    assert written(cfg) == {"optimizer", "optimizer.name", "optimizer.betas", "epochs"}
    found = ignored_options(cfg, written(cfg))
    assert [(i.key, i.chosen, i.chosen_by) for i in found] == [("optimizer.betas", "sgd", "")]
    assert ignored_options(TrainConfig(), set()) == []


def test_a_spec_from_standard_input_is_located_there(monkeypatch, capsys):
    import io
    import sys

    text = "name: t\ninput: [4]\nlayers: [dense: 2]\ntrain: {optimizer: sgd, schedule: {step_size: 4}}\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    monkeypatch.setattr("netspec.cli.args._STDIN", [])  # read once a process: a fresh one here
    rc, out, _ = _cli(capsys, "check", "-")
    where = _where(text, "step_size", "<stdin>")
    assert rc == 0 and f"{where}: warning: train.schedule.step_size: ignored: schedule 'none' (the default)" in out


def test_channels_last_on_a_model_without_convolutions_is_said_ignored(tmp_path, capsys):
    text = ADAM_SPEC.replace("  epochs: 1\n", "  epochs: 1\n  channels_last: true\n")
    spec = write_spec(tmp_path, text, "s.yaml")
    rc, out, err = _cli(capsys, "build", spec, "--dry-run")
    assert rc == 0, err
    assert f"{_where(text, 'channels_last', spec)}: warning: train.channels_last: ignored: the model has no " \
           "convolution" in out, out


def test_check_says_channels_last_without_convolutions_as_build_does(tmp_path, capsys):
    text = ADAM_SPEC.replace("  epochs: 1\n", "  epochs: 1\n  channels_last: true\n")
    spec = write_spec(tmp_path, text, "s.yaml")
    rc, out, _ = _cli(capsys, "check", spec)
    assert rc == 0 and f"{_where(text, 'channels_last', spec)}: warning: train.channels_last: ignored: the model " \
                       "has no convolution" in out, out
    rc, out, _ = _cli(capsys, "check", spec, "--json")
    assert any("train.channels_last: ignored" in w for w in json.loads(out)["warnings"])
    # a convolution, alone or inside a wrapper's layers (one torch Conv2d each: channels-last formats it)
    for shape, layers in (("[1, 2, 2]", "[conv2d: {filters: 2, kernel: 1}, flatten, dense: 1]"),
                          ("[3, 1, 2, 2]", "[time_distributed: {layers: [conv2d: {filters: 2, kernel: 1}, flatten]}, "
                                           "flatten, dense: 1]")):
        conv = text.replace("input: [4]", f"input: {shape}").replace("layers:\n  - dense: 1", f"layers: {layers}")
        spec = write_spec(tmp_path, conv, "c.yaml")
        rc, out, _ = _cli(capsys, "check", spec)
        assert rc == 0 and "channels_last" not in out, out
        import netspec

        assert any(isinstance(m, torch.nn.Conv2d) for m in netspec.compile(conv).modules())


def test_a_path_under_a_built_in_data_set_is_said_ignored(tmp_path, capsys):
    # digits is scikit-learn's, read from no file: the path was not read
    text = ADAM_SPEC.replace("data: {name: logic, samples: 64}", "data: {name: digits, path: missing.csv}")
    spec = write_spec(tmp_path, text, "s.yaml")
    rc, out, _ = _cli(capsys, "check", spec)
    assert rc == 0 and f"{_where(text, 'path', spec)}: warning: train.data.path: ignored: data 'digits' does not " \
                       "take path" in out, out


def test_a_data_option_under_the_tasks_default_data(tmp_path, capsys):
    """`data: {gates: [xor]}` without a name: regression of a feature vector picks its default data set
    (random features, netspec/train/tasks/regression.py), which computes no gates."""
    text = ADAM_SPEC.replace("data: {name: logic, samples: 64}", "data: {samples: 64, gates: [xor]}")
    spec = write_spec(tmp_path, text, "s.yaml")
    rc, out, err = _cli(capsys, "build", spec, "--dry-run", "--task", "regression")
    assert rc == 0, err
    assert "train.data.gates: ignored: data 'random' (the task's default) does not take gates (logic does)" in out, out


def test_recipe_warnings_are_in_file_order(tmp_path, capsys):
    """The table checks optimizer options before schedule options; written schedule first, said schedule first
    (and in --strict's errors and --json's warnings alike)."""
    text = ("input: [4]\nlayers: [dense: 2]\ntrain:\n  schedule: {name: cosine, step_size: 3}\n"
            "  optimizer: {name: adam, momentum: 0.9}\n")
    spec = write_spec(tmp_path, text, "s.yaml")
    first, second = _where(text, "step_size", spec), _where(text, "momentum", spec)
    rc, out, _ = _cli(capsys, "check", spec)
    said = [ln.partition(": warning:")[0] for ln in out.splitlines() if ": warning:" in ln]
    assert rc == 0 and said == [first, second], out
    rc, _, err = _cli(capsys, "check", spec, "--strict")
    assert rc == 1 and err.index(first) < err.index(second), err
    rc, out, _ = _cli(capsys, "check", spec, "--json")
    assert [w.partition(": train.")[0] for w in json.loads(out)["warnings"]] == [first, second]

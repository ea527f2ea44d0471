"""Typed config: flat kebab-case flags, YAML files, validation that names the field."""

from __future__ import annotations

import dataclasses

import pytest
import yaml
from core_toy_domain import ToyConfig

import core
from core.engine.config import RunConfig, config_from_dict, load_config, parse_config, save_config
from core.errors import ConfigError


def test_flat_kebab_case_flags():
    cfg = parse_config(
        ToyConfig,
        [
            "--batch-size",
            "7",
            "--max-minutes",
            "1.5",
            "--bidirectional",
            "--layer-norm",
            "--schedule",
            "onecycle",
            "--n-train",
            "10",
            "--no-progress",
            "--seed",
            "4",
        ],
    )
    assert (cfg.batch_size, cfg.max_minutes, cfg.bidirectional, cfg.layer_norm) == (7, 1.5, True, True)
    assert (cfg.schedule, cfg.n_train, cfg.progress, cfg.seed) == ("onecycle", 10, False, 4)
    assert parse_config(ToyConfig, ["--no-bidirectional"]).bidirectional is False


def test_yaml_round_trip_gives_an_equal_config(tmp_path):
    cfg = parse_config(
        ToyConfig, ["--hidden", "24", "--lr", "0.003", "--baseline", "centroid", "--dropout", "0.25"]
    )
    save_config(cfg, tmp_path / "config.yaml")
    assert load_config(tmp_path / "config.yaml", ToyConfig) == cfg
    again = parse_config(ToyConfig, ["--config", str(tmp_path / "config.yaml")])
    assert dataclasses.replace(again, config=None) == cfg and again.config == str(tmp_path / "config.yaml")


def test_flags_override_the_file_and_missing_keys_keep_defaults(tmp_path):
    (tmp_path / "c.yaml").write_text("hidden: 40\nepochs: 9\n")
    cfg = parse_config(ToyConfig, ["--config", str(tmp_path / "c.yaml"), "--epochs", "3"])
    assert (cfg.hidden, cfg.epochs, cfg.n_train) == (40, 3, ToyConfig().n_train)


def test_base_config_sits_under_file_and_flags(tmp_path):
    (tmp_path / "c.yaml").write_text("epochs: 9\n")
    base = dataclasses.asdict(ToyConfig(hidden=12, epochs=2, lr=0.5))
    cfg = parse_config(ToyConfig, ["--config", str(tmp_path / "c.yaml"), "--lr", "0.1"], base=base)
    assert (cfg.hidden, cfg.epochs, cfg.lr) == (12, 9, 0.1)


@pytest.mark.parametrize(
    "flags, field",
    [
        (["--hidden", "-4"], "--hidden"),
        (["--layers", "0"], "--layers"),
        (["--batch-size", "0"], "--batch-size"),
        (["--epochs", "-1"], "--epochs"),
        (["--lr", "0"], "--lr"),
        (["--dropout", "1.5"], "--dropout"),
        (["--max-minutes", "-2"], "--max-minutes"),
        (["--device", "gpu"], "--device"),
        (["--data", "./no/such/folder"], "--data"),
        (["--data", "missing_reviews.csv"], "--data"),
        (["--init-backbone", "missing.pt"], "--init-backbone"),
        (["--cell", "transformer"], "--cell"),
    ],
)
def test_bad_values_name_the_field(flags, field):
    with pytest.raises(ConfigError, match=field):
        parse_config(ToyConfig, flags)


def test_cell_is_checked_against_core_cells(monkeypatch):
    monkeypatch.setattr(core, "CELLS", ("lstm", "gru"), raising=False)
    with pytest.raises(ConfigError, match="unknown cell 'rnn'.*lstm, gru"):
        parse_config(RunConfig, ["--cell", "rnn"])
    assert parse_config(RunConfig, ["--cell", "gru"]).cell == "gru"


def test_dataset_names_are_not_checked_as_paths():
    assert parse_config(RunConfig, ["--data", "mnist"]).data == "mnist"


@pytest.mark.parametrize(
    "text, message",
    [
        ("hiden: 3\n", "unknown field 'hiden'"),
        ("hidden: big\n", "field 'hidden': expected an integer"),
        ("bidirectional: 1\n", "field 'bidirectional': expected true/false"),
        ("schedule: linear\n", "field 'schedule'"),
        ("hidden: [1, 2\n", "not valid YAML"),
        ("- 1\n- 2\n", "expected a mapping"),
    ],
)
def test_bad_yaml_files_name_the_file_and_field(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as err:
        parse_config(ToyConfig, ["--config", str(path)])
    assert "\n" not in str(err.value)


def test_missing_config_file():
    with pytest.raises(ConfigError, match="--config: cannot read"):
        parse_config(ToyConfig, ["--config", "nowhere.yaml"])


def test_types_are_coerced_only_where_safe():
    cfg = config_from_dict(RunConfig, {"lr": 1, "baseline": None, "init_backbone": None})
    assert isinstance(cfg.lr, float) and cfg.lr == 1.0
    assert yaml.safe_load(yaml.safe_dump(dataclasses.asdict(cfg)))["lr"] == 1.0


def test_flags_are_checked_against_the_dataclass_before_tyro_sees_them():
    from core.engine.flags import check_flags

    assert check_flags(RunConfig, ["--lr", "-1e-3", "--baseline", "None", "--seed=3"]) == [
        "--lr",
        "-1e-3",
        "--baseline",
        "None",
        "--seed=3",
    ]
    assert check_flags(RunConfig, ["--data", "--x y", "--config=--a b"]) == [
        "--data",
        "--x y",
        "--config=--a b",
    ]
    for argv, message in (
        (["--schedule", "linear"], "--schedule: 'linear' is not one of cosine, onecycle, constant"),
        (["--epochs", "1.5"], "--epochs: expected an integer, got '1.5'"),
        (["--resume", "yes"], "--resume takes no value (use --resume or --no-resume)"),
        (["stray"], "unexpected argument 'stray'"),
        (["--seed", "1", "2"], "--seed needs one value, got 2: 1 2"),
    ):
        with pytest.raises(ConfigError) as caught:
            check_flags(RunConfig, argv)
        assert str(caught.value).startswith(message), str(caught.value)


def test_a_repeated_list_flag_gathers_its_values():
    from core.engine.flags import check_flags

    argv = ["--cell-opt", "init=chrono", "--hidden", "8", "--cell-opt", "horizon=50"]
    assert check_flags(RunConfig, argv) == ["--cell-opt", "init=chrono", "horizon=50", "--hidden", "8"]
    cfg = parse_config(RunConfig, ["--cell", "gru", *argv])
    assert cfg.cell_opt == ["init=chrono", "horizon=50"] and cfg.cell_options == {
        "init": "chrono",
        "horizon": 50,
    }


def test_compare_rejects_flags_in_one_line(capsys):
    from core.tools.compare import main

    assert main(["--cels", "lstm"]) == 2
    assert capsys.readouterr().err.strip() == "error: unknown flag --cels (did you mean --cells?)"
    assert main(["--hidden", "big"]) == 2
    assert capsys.readouterr().err.strip() == "error: --hidden: expected an integer, got 'big'"

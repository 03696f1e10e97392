"""Settings: flags > ALTCRAFT_MOCK_* environment > TOML config file > defaults.

`load_settings(flags, environ)` is called with an explicit environment in
every test, so the runner's own variables never leak in.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from mockserver.config import (
    DEFAULT_STATUS_NAMES,
    MEMORY_DB,
    AccountMode,
    ConfigError,
    HttpStatusPolicy,
    ProgressionMode,
    Settings,
    add_arguments,
    load_settings,
    settings_for_tests,
)
from mockserver.ids import TaskIdFormat


def write_config(tmp_path: Path, text: str, name: str = "altcraft-mock.toml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


# -- defaults ------------------------------------------------------------------------


def test_defaults_with_nothing_given():
    settings = load_settings({}, {})

    assert settings == Settings()
    assert settings.host == "127.0.0.1"
    assert settings.port == 8080
    assert settings.progression is ProgressionMode.POLLS
    assert settings.steps == 2
    assert settings.rate == 5000.0
    assert settings.mode is AccountMode.STRICT
    assert settings.http_status is HttpStatusPolicy.ALWAYS_200
    assert settings.max_body_bytes == 10 * 1024 * 1024
    assert settings.max_items == 100_000
    assert settings.task_id_format is TaskIdFormat.UUID
    assert dict(settings.status_names) == dict(DEFAULT_STATUS_NAMES)
    assert settings.fixtures == ()
    assert settings.seed is None
    assert not settings.in_memory


def test_none_arguments_mean_nothing_given(monkeypatch):
    for key in list(os.environ):
        if key.startswith("ALTCRAFT_MOCK_"):
            monkeypatch.delenv(key)

    assert load_settings() == Settings()
    assert load_settings(None, None) == Settings()


def test_flags_left_as_none_are_not_given():
    flags = {"port": None, "progression": None, "config": None}

    assert load_settings(flags, {}) == Settings()


# -- each source ---------------------------------------------------------------------


def test_flags_are_read():
    settings = load_settings(
        {
            "host": "0.0.0.0",
            "port": "9001",
            "db": MEMORY_DB,
            "progression": "manual",
            "steps": "4",
            "rate": "12.5",
            "mode": "permissive",
            "http_status": "mirror",
            "max_body_bytes": "1024",
            "max_items": "50",
            "task_id_format": "task_prefixed",
            "seed": "7",
            "log_level": "debug",
        },
        {},
    )

    assert settings.host == "0.0.0.0"
    assert settings.port == 9001
    assert settings.in_memory
    assert settings.progression is ProgressionMode.MANUAL
    assert settings.steps == 4
    assert settings.rate == 12.5
    assert settings.mode is AccountMode.PERMISSIVE
    assert settings.http_status is HttpStatusPolicy.MIRROR
    assert settings.max_body_bytes == 1024
    assert settings.max_items == 50
    assert settings.task_id_format is TaskIdFormat.TASK_PREFIXED
    assert settings.seed == 7
    assert settings.log_level == "DEBUG"


def test_environment_is_read():
    settings = load_settings(
        {},
        {
            "ALTCRAFT_MOCK_PORT": "9002",
            "ALTCRAFT_MOCK_PROGRESSION": "rate",
            "ALTCRAFT_MOCK_RATE": "100",
            "ALTCRAFT_MOCK_STEPS": "3",
            "ALTCRAFT_MOCK_MAX_BODY_BYTES": "2048",
            "ALTCRAFT_MOCK_HTTP_STATUS": "mirror",
        },
    )

    assert settings.port == 9002
    assert settings.progression is ProgressionMode.RATE
    assert settings.rate == 100.0
    assert settings.steps == 3
    assert settings.max_body_bytes == 2048
    assert settings.http_status is HttpStatusPolicy.MIRROR


def test_unrelated_environment_is_ignored():
    settings = load_settings({}, {"PORT": "1", "MOCK_PORT": "2", "altcraft_mock_port": "3"})

    assert settings.port == 8080


def test_empty_environment_value_is_not_given():
    settings = load_settings({}, {"ALTCRAFT_MOCK_PORT": "", "ALTCRAFT_MOCK_STEPS": ""})

    assert settings.port == 8080
    assert settings.steps == 2


def test_config_file_is_read(tmp_path):
    config = write_config(
        tmp_path,
        """
host = "0.0.0.0"
port = 9003
progression = "instant"
steps = 5
rate = 250.5
mode = "permissive"
seed = 42
max_items = 100
task_id_format = "task_prefixed"
status_names = "completed=success"
fixtures = ["a.json", "b"]
""",
    )

    settings = load_settings({"config": config}, {})

    assert settings.host == "0.0.0.0"
    assert settings.port == 9003
    assert settings.progression is ProgressionMode.INSTANT
    assert settings.steps == 5
    assert settings.rate == 250.5
    assert settings.mode is AccountMode.PERMISSIVE
    assert settings.seed == 42
    assert settings.max_items == 100
    assert settings.task_id_format is TaskIdFormat.TASK_PREFIXED
    assert settings.status_names["completed"] == "success"
    assert settings.fixtures == ("a.json", "b")


def test_config_file_keys_may_use_dashes(tmp_path):
    config = write_config(tmp_path, 'max-body-bytes = 4096\nhttp-status = "mirror"\n')

    settings = load_settings({"config": config}, {})

    assert settings.max_body_bytes == 4096
    assert settings.http_status is HttpStatusPolicy.MIRROR


def test_config_file_from_the_environment(tmp_path):
    config = write_config(tmp_path, "port = 9004\n")

    settings = load_settings({}, {"ALTCRAFT_MOCK_CONFIG": config})

    assert settings.port == 9004


def test_config_flag_wins_over_config_environment(tmp_path):
    by_flag = write_config(tmp_path, "port = 9005\n", "flag.toml")
    by_env = write_config(tmp_path, "port = 9006\n", "env.toml")

    settings = load_settings({"config": by_flag}, {"ALTCRAFT_MOCK_CONFIG": by_env})

    assert settings.port == 9005


def test_fixture_paths_from_the_environment_split_on_the_path_separator():
    raw = os.pathsep.join(["one.json", "two", ""])

    settings = load_settings({}, {"ALTCRAFT_MOCK_FIXTURES": raw})

    assert settings.fixtures == ("one.json", "two")


# -- precedence ----------------------------------------------------------------------


def test_environment_wins_over_config_file(tmp_path):
    config = write_config(tmp_path, 'port = 9010\nprogression = "manual"\nsteps = 7\n')

    settings = load_settings(
        {"config": config}, {"ALTCRAFT_MOCK_PORT": "9011", "ALTCRAFT_MOCK_STEPS": "8"}
    )

    assert settings.port == 9011
    assert settings.steps == 8
    assert settings.progression is ProgressionMode.MANUAL  # only the file says


def test_flags_win_over_environment_and_config_file(tmp_path):
    config = write_config(tmp_path, 'port = 9020\nrate = 1.0\nprogression = "manual"\n')

    settings = load_settings(
        {"config": config, "port": "9022", "progression": "rate"},
        {"ALTCRAFT_MOCK_PORT": "9021", "ALTCRAFT_MOCK_RATE": "2.0"},
    )

    assert settings.port == 9022  # flag over env over file
    assert settings.progression is ProgressionMode.RATE  # flag over file
    assert settings.rate == 2.0  # env over file


def test_every_source_at_once_per_setting(tmp_path):
    config = write_config(tmp_path, 'host = "file-host"\nport = 1\nsteps = 1\n')

    settings = load_settings(
        {"config": config, "steps": "3"},
        {"ALTCRAFT_MOCK_PORT": "2", "ALTCRAFT_MOCK_STEPS": "2"},
    )

    assert settings.host == "file-host"  # file over default
    assert settings.port == 2  # env over file
    assert settings.steps == 3  # flag over env
    assert settings.rate == 5000.0  # default


def test_argparse_flags_feed_load_settings():
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    flags = vars(parser.parse_args(["--steps", "6", "--http-status", "mirror"]))

    settings = load_settings(flags, {"ALTCRAFT_MOCK_STEPS": "9", "ALTCRAFT_MOCK_PORT": "9030"})

    assert settings.steps == 6
    assert settings.http_status is HttpStatusPolicy.MIRROR
    assert settings.port == 9030  # an absent flag does not hide the environment


# -- bad values name their source ----------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "flag"),
    [
        ("port", "abc", "--port"),
        ("port", "70000", "--port"),
        ("steps", "0", "--steps"),
        ("steps", "two", "--steps"),
        ("rate", "0", "--rate"),
        ("rate", "-5", "--rate"),
        ("progression", "sometimes", "--progression"),
        ("mode", "lenient", "--mode"),
        ("http_status", "always", "--http-status"),
        ("max_body_bytes", "-1", "--max-body-bytes"),
        ("max_items", "0", "--max-items"),
        ("task_id_format", "ulid", "--task-id-format"),
        ("seed", "x", "--seed"),
        ("status_names", "done=ok", "--status-names"),
    ],
)
def test_bad_flag_names_the_flag(name, value, flag):
    with pytest.raises(ConfigError) as caught:
        load_settings({name: value}, {})

    message = str(caught.value)
    assert flag in message
    assert value in message


@pytest.mark.parametrize(
    ("env", "value"),
    [
        ("ALTCRAFT_MOCK_PORT", "eighty"),
        ("ALTCRAFT_MOCK_STEPS", "0"),
        ("ALTCRAFT_MOCK_RATE", "fast"),
        ("ALTCRAFT_MOCK_PROGRESSION", "later"),
        ("ALTCRAFT_MOCK_STATUS_NAMES", "completed"),
    ],
)
def test_bad_environment_value_names_the_variable(env, value):
    with pytest.raises(ConfigError) as caught:
        load_settings({}, {env: value})

    assert env in str(caught.value)
    assert value in str(caught.value)


def test_bad_enum_value_lists_the_choices():
    with pytest.raises(ConfigError) as caught:
        load_settings({"progression": "sometimes"}, {})

    message = str(caught.value)
    for mode in ("polls", "instant", "rate", "manual"):
        assert mode in message


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('port = "abc"\n', "port"),
        ("steps = 0\n", "steps"),
        ('progression = "sometimes"\n', "progression"),
        ("port = true\n", "port"),
    ],
)
def test_bad_config_file_value_names_the_file_and_key(tmp_path, text, key):
    config = write_config(tmp_path, text)

    with pytest.raises(ConfigError) as caught:
        load_settings({"config": config}, {})

    message = str(caught.value)
    assert config in message
    assert key in message


def test_unknown_config_file_key_names_the_file_and_key(tmp_path):
    config = write_config(tmp_path, "prot = 9000\n")

    with pytest.raises(ConfigError) as caught:
        load_settings({"config": config}, {})

    assert config in str(caught.value)
    assert "prot" in str(caught.value)


def test_invalid_toml_names_the_file(tmp_path):
    config = write_config(tmp_path, "port = = 1\n")

    with pytest.raises(ConfigError) as caught:
        load_settings({"config": config}, {})

    assert config in str(caught.value)


def test_missing_config_file_names_the_file(tmp_path):
    missing = str(tmp_path / "nowhere.toml")

    with pytest.raises(ConfigError) as caught:
        load_settings({"config": missing}, {})

    assert missing in str(caught.value)


def test_missing_config_file_from_environment_names_the_file(tmp_path):
    missing = str(tmp_path / "nowhere.toml")

    with pytest.raises(ConfigError) as caught:
        load_settings({}, {"ALTCRAFT_MOCK_CONFIG": missing})

    assert missing in str(caught.value)


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)


# -- status names --------------------------------------------------------------------


def test_status_names_rename_some_and_keep_the_rest():
    settings = load_settings({"status_names": "completed=success,failed=error"}, {})

    assert dict(settings.status_names) == {
        "queued": "queued",
        "processing": "processing",
        "completed": "success",
        "failed": "error",
    }
    assert settings.status_name("completed") == "success"
    assert settings.status_name("failed") == "error"
    assert settings.status_name("queued") == "queued"


def test_status_names_tolerate_spaces_and_empty_parts():
    settings = load_settings({}, {"ALTCRAFT_MOCK_STATUS_NAMES": " processing=running , ,"})

    assert settings.status_names["processing"] == "running"
    assert settings.status_names["completed"] == "completed"


def test_status_names_all_four():
    raw = "queued=new,processing=in_progress,completed=done,failed=error"

    settings = load_settings({"status_names": raw}, {})

    assert [settings.status_name(s) for s in DEFAULT_STATUS_NAMES] == [
        "new",
        "in_progress",
        "done",
        "error",
    ]


@pytest.mark.parametrize(
    "raw",
    [
        "done=success",  # not one of SPEC §4's names
        "completed",  # no alias
        "completed=",  # empty alias
        "=success",  # no name
        "Completed=success",  # names are exact
    ],
)
def test_bad_status_names_are_refused(raw):
    with pytest.raises(ConfigError) as caught:
        load_settings({"status_names": raw}, {})

    assert "--status-names" in str(caught.value)


def test_status_names_from_the_config_file(tmp_path):
    config = write_config(tmp_path, 'status_names = "completed=success"\n')

    settings = load_settings({"config": config}, {})

    assert settings.status_name("completed") == "success"


def test_default_status_names_are_not_shared_between_settings():
    first = Settings()
    second = Settings()

    assert first.status_names == second.status_names
    assert first.status_names is not second.status_names


# -- settings_for_tests ----------------------------------------------------------------


def test_settings_for_tests_keep_nothing_on_disk():
    settings = settings_for_tests(steps=3)

    assert settings.in_memory
    assert settings.steps == 3


def test_settings_for_tests_refuse_unknown_fields():
    with pytest.raises(TypeError):
        settings_for_tests(stepz=3)

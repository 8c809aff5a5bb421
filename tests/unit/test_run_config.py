"""How a server runs an app: one frozen configuration, its defaults in one place, read alike by
``app.run()`` and the command line, bad values refused by name."""

import dataclasses

import pytest

from htag_sse import ConfigError
from htag_sse.cli import RUN_OPTIONS, parser
from htag_sse.server import RunConfig


def test_the_defaults_serve_this_machine_only_on_port_8000():
    config = RunConfig()
    assert (config.host, config.port, config.workers, config.loop) == ("127.0.0.1", 8000, 1, "asyncio")
    assert config.access_log is False and config.log_level == "info" and not config.tls
    assert config.server == "hypercorn"


def test_the_command_line_takes_its_defaults_from_the_run_configuration():
    args = parser().parse_args([])
    config = RunConfig.from_environment({name: getattr(args, name) for name in RUN_OPTIONS}, environ={})
    assert config == RunConfig()


def test_every_run_option_of_the_command_line_is_a_field_of_the_run_configuration():
    assert set(RUN_OPTIONS) <= {f.name for f in dataclasses.fields(RunConfig)}


def test_the_address_comes_from_the_arguments_then_the_environment_then_the_defaults():
    environ = {"HTAG_SSE_HOST": "0.0.0.0", "PORT": "9000"}
    assert (RunConfig.from_environment({}, environ).host, RunConfig.from_environment({}, environ).port) == (
        "0.0.0.0", 9000,
    )  # fmt: skip
    given = RunConfig.from_environment({"host": "::1", "port": 0}, environ)
    assert (given.host, given.port) == ("::1", 0)
    assert RunConfig.from_environment({}, {"HTAG_SSE_PORT": "8123"}).port == 8123


@pytest.mark.parametrize(
    "options, named",
    [({"port": 70000}, "port"), ({"port": "80"}, "port"), ({"workers": 0}, "workers"), ({"loop": "trio"}, "loop"),
     ({"log_level": "loud"}, "log_level"), ({"access_log": "yes"}, "access_log"), ({"certfile": "c.pem"}, "keyfile"),
     ({"graceful_timeout_s": -1}, "graceful_timeout_s"), ({"read_timeout_s": float("inf")}, "read_timeout_s"),
     ({"colour": "blue"}, "colour"), ({"host": ""}, "host"), ({"server": "uvicorn"}, "server")],
)  # fmt: skip
def test_a_bad_run_option_is_refused_by_name_with_its_value(options, named):
    with pytest.raises(ConfigError) as e:
        RunConfig.from_mapping(options)
    assert named in str(e.value)


def test_a_port_in_the_environment_that_is_not_a_number_is_refused():
    with pytest.raises(ConfigError, match="PORT/HTAG_SSE_PORT"):
        RunConfig.from_environment({}, {"PORT": "eighty"})


def test_the_configuration_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        RunConfig().port = 1  # type: ignore[misc]


def test_granian_is_a_server_and_says_how_to_install_it_when_missing(monkeypatch):
    assert RunConfig(server="granian").server == "granian"
    monkeypatch.setitem(__import__("sys").modules, "granian", None)  # as if it were not installed
    with pytest.raises(ConfigError, match=r"pip install 'htag-sse\[granian\]'"):
        RunConfig(server="granian")


def test_a_port_in_use_is_refused_before_granian_starts():
    import socket

    from htag_sse.server.granian import reserved

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=f"port {port} is in use on 127.0.0.1"):
            reserved(RunConfig(port=port, server="granian"))
    assert reserved(RunConfig(port=0, server="granian")).port > 0


def test_run_with_granian_needs_an_app_its_workers_can_import():
    from htag_sse import HtagSSE, MemoryStore
    from htag_sse.server.granian import serve

    with pytest.raises(ConfigError, match=r"app.run\(server='granian'\) under"):
        serve(HtagSSE(session_store=MemoryStore()), RunConfig(server="granian"))

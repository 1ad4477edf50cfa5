"""A second checkout on one machine: when the embedded cluster's port is taken, `make migrate`
says by what (another crm-sla cluster: its folder; else the process) and how to pick another, in
one line, and makes no cluster on the taken port."""

from __future__ import annotations

import os
import socket
import uuid

import pytest

from harness import cluster
from harness.errors import HarnessError
from harness.paths import REPO_ROOT


@pytest.fixture
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def clusters():
    made: list[cluster.Cluster] = []

    def make(port: int, variable: str = "CRM_SLA_PORT_TEST_UNSET") -> cluster.Cluster:
        folder = REPO_ROOT / "test-artifacts" / f"pgdata-port-{uuid.uuid4().hex[:8]}"
        made.append(cluster.Cluster(str(folder), variable, port, bootstrap=False))
        return made[-1]

    yield make
    for c in made:
        c.destroy()


def test_a_port_taken_by_a_plain_program_is_named_with_its_pid(free_port, clusters):
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", free_port))
    squatter.listen()
    second = clusters(free_port)
    try:
        with pytest.raises(HarnessError) as err:
            second.start(quiet=True)
    finally:
        squatter.close()
    message = str(err.value)
    assert "\n" not in message
    assert f"port {free_port}" in message and "is taken by" in message
    assert f"process {os.getpid()}" in message  # this test's own process holds it
    assert "pick another: CRM_SLA_PORT_TEST_UNSET=" in message
    suggested = int(message.rsplit("=", 1)[1].split()[0])
    assert suggested != free_port and cluster.port_is_free(suggested)
    # Nothing was made on the taken port: the next try, on another port, starts afresh.
    assert not second.layout().data.exists()


def test_a_port_taken_by_another_crm_sla_cluster_names_its_folder(free_port, clusters):
    first = clusters(free_port)
    first.start(quiet=True)
    second = clusters(free_port)
    with pytest.raises(HarnessError) as err:
        second.start(quiet=True)
    message = str(err.value)
    assert "\n" not in message
    assert f"taken by another crm-sla embedded cluster, in {first.layout().base}" in message
    pid = int((first.layout().data / "postmaster.pid").read_text().split()[0])
    assert f"server pid {pid}" in message
    assert not second.layout().data.exists()
    # The first one is untouched and still answers.
    assert first.running()


def test_the_dev_cluster_hint_says_how_to_run_make_migrate(free_port, clusters, monkeypatch):
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", free_port))
    squatter.listen()
    monkeypatch.setenv("CRM_SLA_PGPORT", str(free_port))
    dev = clusters(54329, "CRM_SLA_PGPORT")
    try:
        with pytest.raises(HarnessError, match=r"pick another: CRM_SLA_PGPORT=\d+ make migrate"):
            dev.start(quiet=True)
    finally:
        squatter.close()

# Every target installs what it needs first, so each works on a fresh Debian machine.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
export PATH := $(BIN):$(PATH)
export ANSIBLE_ROLES_PATH := $(abspath roles)
RELEASES ?= trixie bookworm

.PHONY: test demo host-deps venv images lint unit molecule e2e fleet e2e-fleet bench clean containers molecule-default molecule-os_upgrade

## test: install everything, then lint, unit tests, Molecule (trixie + bookworm) and end-to-end
test: venv lint unit images containers

# The container suites use distinct names and ports (molecule 12/13/17xxx, rehearsal 16xxx,
# e2e sandbox 26xxx; never the demo's 14xxx, which may stay up) and mostly wait on apt and on
# services, so they run side by side: about 10 minutes less than one after another on 2 cores.
# e2e and fleet both run `mailprov rehearse` (its container names, network and 16xxx ports), so
# they share one slot, one after the other (fleet alone: 9-11 min on 2 cores with other work
# running; e2e about 16 min, molecule-default, the longest slot, about 28).
# Output is kept per suite.
containers: venv images
	$(MAKE) -j3 --output-sync=target molecule-default molecule-os_upgrade e2e-fleet

e2e-fleet: venv images
	$(MAKE) --no-print-directory e2e
	$(MAKE) --no-print-directory fleet

## demo: a mail server in a local container, deployed, checked, with the demo user's settings
# One line per step on screen; apt, pip and debootstrap output goes to .cache/demo.log.
demo:
	scripts/demo.sh

host-deps:
	scripts/install-host-deps.sh

venv: host-deps $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements-dev.txt constraints.txt
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -c constraints.txt -r requirements-dev.txt -e .
	touch $@

images: host-deps
	scripts/build-image.sh $(RELEASES)

lint: venv
	ruff check provisioner tests molecule bench roles
	mypy
	yamllint -s .
	ansible-lint --profile production roles playbooks

unit: venv
	pytest -q -m "not e2e and not fleet"

molecule: molecule-default molecule-os_upgrade

# Converges run with Mitogen, as mailprov's own runs do (scripts/molecule-test.sh).
molecule-default molecule-os_upgrade: molecule-%: venv images
	scripts/molecule-test.sh $*

e2e: venv images
	pytest -q -m e2e --durations=0

## fleet: a fleet (front, backup MX, two back ends) rehearsed in containers and proven (tests/fleet)
fleet: venv images
	pytest -q -m fleet --durations=0 -s tests/fleet

bench: venv images
	python bench/bench_edits.py
	python bench/bench_deploy.py
	python bench/bench_backup.py
	python bench/bench_message_path.py
	python bench/bench_fleet.py

clean:
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache

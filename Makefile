# One entry point for developers and operators. Run `make help` for targets.
# Everything it needs is installed by the targets themselves: apt packages
# (podman, runc, debootstrap) when missing, the virtualenv from pyproject.toml,
# the test-host image and the pull agent's wheelhouse.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
ROOT := $(abspath .)
VENV := $(ROOT)/.venv
CACHE := $(ROOT)/.cache
PY := $(VENV)/bin/python
APT_PACKAGES := podman runc debootstrap python3-venv git openssh-client prometheus openssl
ROLES := $(sort $(notdir $(patsubst %/molecule/default/,%,$(wildcard roles/*/molecule/default/))))

export ANSIBLE_CONFIG := $(ROOT)/ansible.cfg
export PATH := $(VENV)/bin:$(PATH)

.PHONY: help converge test lint sanity unit molecule e2e bench image wheelhouse deps venv clean

help:  ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

converge: venv image wheelhouse  ## Converge a local throwaway wizard host twice and show the result
	scripts/demo-converge

test: lint sanity unit molecule e2e  ## Everything: linters, ansible-test sanity, unit tests, every Molecule scenario, end-to-end tests

lint: venv  ## ruff, yamllint, ansible-lint (production profile), promtool on the alert rules
	ruff check .
	yamllint --strict .
	ansible-lint --profile production
	monitoring/check

sanity: venv  ## ansible-test sanity over a collection view of the modules and plugins
	tests/sanity/run

unit: venv  ## pytest unit and property tests
	pytest

molecule: venv image wheelhouse  ## Every role's scenario and the two-host site scenario (create, check, converge, idempotence, verify)
	tests/molecule-all site $(ROLES)

e2e: venv image wheelhouse  ## End-to-end: laptop check over SSH, pre-flight, pull on webhook, Prometheus alerts
	pytest tests/e2e

bench: venv image wheelhouse  ## Every bench, one after the other, then one table of targets
	$(PY) bench/run_all.py

image: deps  ## Build (or reuse) the local Debian test-host image
	tests/hosts/build-image

wheelhouse: $(CACHE)/wheelhouse/.stamp  ## Download the pull agent's wheels for offline hosts

$(CACHE)/wheelhouse/.stamp: roles/base/defaults/main.yml | venv
	mkdir -p $(CACHE)/wheelhouse
	$(PY) -m pip download --quiet --dest $(CACHE)/wheelhouse --only-binary :all: \
	  $$($(PY) -c 'import yaml; print(" ".join(yaml.safe_load(open("roles/base/defaults/main.yml"))["base_pull_agent_packages"]))')
	touch $@

deps:  ## Install the apt packages the tests need, when missing
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; \
	  $$( [ $$(id -u) -eq 0 ] || echo sudo ) apt-get update -qq; \
	  DEBIAN_FRONTEND=noninteractive $$( [ $$(id -u) -eq 0 ] || echo sudo ) apt-get install -y -qq $$missing >/dev/null; \
	fi

venv: deps $(VENV)/.stamp  ## Create the virtualenv from pyproject.toml

$(VENV)/.stamp: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $@

clean:  ## Remove test hosts, the virtualenv and caches (keeps the test-host image)
	-CONTAINERS_CONF=$$(tests/hosts/containers-conf) podman ps -a --format '{{.Names}}' | grep '^wizard-' | xargs -r podman rm -f
	rm -rf $(VENV) $(CACHE) .pytest_cache .ruff_cache .hypothesis
